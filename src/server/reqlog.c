/*
 * reqlog.c - the request log of offpayd serve, and the one place where a
 * finished request is observed: logged (one line) and counted (metrics.c).
 *
 * http.c calls obs_start when a request's head arrives, obs_note when its
 * handler is done (who asked, what a sync did), and obs_finish when
 * libmicrohttpd reports the request complete, with the status it sent: so
 * every request is seen once, also those refused from the head alone (404,
 * 413, 414, 431, ...).
 *
 * The line (docs/server.md, "Request log") is key=value pairs separated by
 * spaces, values without spaces:
 *   time=2025-01-31T12:00:00.123Z method=POST path=/v1/sync status=200 us=1834 wallet=1f2e3d4c records=3 settled=2 rejected=1
 * It never holds a secret: no header, no body, no query string; the
 * wallet is the first 8 hex digits of its id; the path is escaped and cut.
 * Each line is one write(2) on a file opened O_APPEND, so lines of
 * concurrent requests never interleave.  --log FILE writes there instead of
 * stderr; SIGHUP reopens FILE (log rotation): dup2 swaps the new file in
 * under the same descriptor, so a request writing meanwhile writes whole to
 * the old file or to the new one.
 */
#define _GNU_SOURCE 1 /* dup3 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static struct {
    int fd;           /* where lines go; -1: --quiet */
    const char *path; /* --log FILE, or NULL for stderr */
} lg = {2, NULL};

static uint64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int reqlog_open(const char *path, int quiet, char *err, size_t err_cap)
{
    lg.path = NULL;
    lg.fd = quiet ? -1 : 2;
    if (quiet || path == NULL)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, err_cap, "The log file %s cannot be opened: %s.", path, strerror(errno));
        return -1;
    }
    lg.fd = fd;
    lg.path = path;
    return 0;
}

void reqlog_reopen(void)
{
    if (lg.path == NULL)
        return;
    int fd = open(lg.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        fprintf(stderr, "offpayd: the log file %s cannot be reopened (%s); logging on to the old one.\n", lg.path,
                strerror(errno));
        return;
    }
    if (dup3(fd, lg.fd, O_CLOEXEC) < 0)
        fprintf(stderr, "offpayd: the log file %s cannot be reopened: %s.\n", lg.path, strerror(errno));
    close(fd);
}

void reqlog_close(void)
{
    if (lg.path != NULL && lg.fd >= 0)
        close(lg.fd);
    lg.fd = 2;
    lg.path = NULL;
}

/* The request path as a log value: unreserved characters and '/' as they
 * are, anything else %XX, at most OBS_PATH_SHOWN bytes of it. */
static void escape_path(char *out, size_t cap, const char *path)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; path[i] != '\0' && i < OBS_PATH_SHOWN; i++) {
        unsigned char ch = (unsigned char)path[i];
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '/' ||
                    ch == '-' || ch == '.' || ch == '_' || ch == '~';
        if (o + (plain ? 1 : 3) + 4 >= cap)
            break;
        if (plain) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hexd[ch >> 4];
            out[o++] = hexd[ch & 15];
        }
    }
    if (strlen(path) > OBS_PATH_SHOWN && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

void obs_start(struct request_obs *o, const char *method, const char *path, const char *endpoint)
{
    memset(o, 0, sizeof *o);
    o->t0_us = monotonic_us();
    o->endpoint = endpoint != NULL ? endpoint : "other";
    o->method = strcmp(method, "GET") == 0 ? "GET" : strcmp(method, "POST") == 0 ? "POST" : "other";
    escape_path(o->path, sizeof o->path, path);
}

void obs_note(struct request_obs *o, const struct request *rq)
{
    if (rq->authed) {
        o->authed = 1;
        offpay_hex(o->wallet, rq->wallet.id, OBS_WALLET_BYTES);
    }
    o->is_sync = rq->is_sync;
    o->records = rq->sync_records;
    o->settled = rq->sync_settled;
    o->rejected = rq->sync_rejected;
}

void obs_finish(const struct request_obs *o, int status)
{
    uint64_t us = monotonic_us() - o->t0_us;
    if (status > 0)
        metrics_request(o->endpoint, o->method, status, o->authed);
    if (lg.fd < 0)
        return;

    char line[512], when[32];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    int n = snprintf(line, sizeof line, "time=%s.%03ldZ method=%s path=%s status=%d us=%llu wallet=%s", when,
                     now.tv_nsec / 1000000L, o->method, o->path, status, (unsigned long long)us,
                     o->authed ? o->wallet : "-");
    if (n > 0 && (size_t)n < sizeof line && o->is_sync)
        n += snprintf(line + n, sizeof line - (size_t)n, " records=%u settled=%u rejected=%u", o->records, o->settled,
                      o->rejected);
    if (n <= 0 || (size_t)n >= sizeof line - 1)
        return;
    line[n++] = '\n';
    /* One write: a short write to a log file is a full disk; the line is lost, not the request. */
    if (write(lg.fd, line, (size_t)n) < 0) {
        /* nothing better to do */
    }
}

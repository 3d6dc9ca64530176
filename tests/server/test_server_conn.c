/*
 * test_server_conn.c - offpayd against clients that do not play by the
 * rules, over raw sockets on 127.0.0.x.
 *
 * Every error answer the server can shape is api.md's JSON: a request
 * target over its limit (414), header lines over theirs (431), a body
 * declared over 4 MiB (413, answered before the body is read).  Where
 * libmicrohttpd answers by itself (an HTTP version it does not speak, a
 * request line that is not HTTP) the test pins the documented behaviour: that
 * status at once and the connection closed.  And one client holding 1,000 idle
 * connections from 127.0.0.2 does not delay another client's request from
 * 127.0.0.1 by more than a second: it gets OFFPAYD_CONN_PER_CLIENT of them,
 * the rest are closed at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define IDLE_CONNS 1000

static unsigned server_port(void) { return (unsigned)atoi(strrchr(h_base_url(), ':') + 1); }

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A TCP connection from 127.0.0.<from> to the server; -1 on failure. */
static int dial(int from)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)from);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
        goto fail;
    a.sin_port = htons((uint16_t)server_port());
    a.sin_addr.s_addr = htonl(0x7f000001u);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

/* Send req (len bytes; a send the server cut short is fine) and read the
 * answer until the server closes or timeout_s passes.  Out: the answer in
 * buf (NUL-terminated), *closed 1 when the server closed.  Returns its HTTP
 * status, 0 if none. */
static int exchange(int from, const char *req, size_t len, char *buf, size_t cap, double timeout_s, int *closed)
{
    size_t n = 0;
    int fd = dial(from);
    CHECK(fd >= 0);
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    *closed = 0;
    double end = now_s() + timeout_s;
    while (n + 1 < cap && now_s() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0) {
            *closed = 1;
            break;
        }
        n += (size_t)r;
    }
    buf[n] = '\0';
    close(fd);
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    return status;
}

/* The answer is status with api.md's JSON error code, and the server closed. */
static void json_error(const char *what, const char *req, size_t len, int status, const char *code)
{
    char buf[8192];
    int closed;
    int got = exchange(1, req, len, buf, sizeof buf, 5, &closed);
    const char *body = strstr(buf, "\r\n\r\n");
    json_error_t e;
    json_t *j = body ? json_loads(body + 4, 0, &e) : NULL;
    if (got != status || j == NULL || strstr(buf, "application/json") == NULL ||
        strcmp(json_string_value(json_object_get(j, "error")) ? json_string_value(json_object_get(j, "error")) : "",
               code) != 0 ||
        !json_is_string(json_object_get(j, "message")))
        CHECK_FAIL("%s: want %d %s as JSON, got: %.300s", what, status, code, buf);
    CHECK(closed);
    json_decref(j);
    printf("ok %s: %d %s\n", what, status, code);
}

/* libmicrohttpd's own answer: this status at once, then closed. */
static void own_answer(const char *what, const char *req, size_t len, int status)
{
    char buf[8192];
    int closed;
    double t0 = now_s();
    int got = exchange(1, req, len, buf, sizeof buf, 5, &closed);
    if (got != status || !closed || now_s() - t0 > 2)
        CHECK_FAIL("%s: want %d and close at once, got %d closed=%d after %.1f s: %.200s", what,
                status, got, closed, now_s() - t0, buf);
    printf("ok %s: %d, closed (libmicrohttpd's answer)\n", what, status);
}

static void error_answers(void)
{
    static char req[64 * 1024];
    int n;

    memset(req, 0, sizeof req);
    n = snprintf(req, sizeof req, "GET /v1/limits?pad=%0*d HTTP/1.1\r\nHost: x\r\n\r\n", 5000, 0);
    json_error("target over 4096 bytes", req, (size_t)n, 414, "uri_too_long");

    n = snprintf(req, sizeof req, "GET /v1/limits HTTP/1.1\r\nHost: x\r\nX-Pad: %0*d\r\n\r\n", 40000, 0);
    json_error("header lines over 16 KiB", req, (size_t)n, 431, "headers_too_large");

    n = snprintf(req, sizeof req, "POST /v1/load HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n");
    json_error("body declared over 4 MiB, none sent", req, (size_t)n, 413, "too_large");
    n = snprintf(req, sizeof req, "POST /v1/load HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n%0*d", 30000, 0);
    json_error("body declared over 4 MiB, some sent", req, (size_t)n, 413, "too_large");

    n = snprintf(req, sizeof req, "GET /v1/limits HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    json_error("no auth headers (a plain error, for contrast)", req, (size_t)n, 401, "bad_auth");

    n = snprintf(req, sizeof req, "GET /v1/limits HTTP/2.0\r\nHost: x\r\n\r\n");
    own_answer("HTTP/2.0 request line", req, (size_t)n, 505);
    static const char tls_hello[] = "\x16\x03\x01\x00\xa5\x01\x00 not http at all\r\n\r\n";
    own_answer("bytes that are not HTTP, with a line end", tls_hello, sizeof tls_hello - 1, 400);
}

static void idle_hog(void)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur < IDLE_CONNS + 64) {
        rl.rlim_cur = rl.rlim_max < IDLE_CONNS + 64 ? rl.rlim_max : IDLE_CONNS + 64;
        CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    }
    if (rl.rlim_cur < IDLE_CONNS + 64)
        CHECK_FAIL("RLIMIT_NOFILE is %llu; this test needs %d", (unsigned long long)rl.rlim_cur,
                IDLE_CONNS + 64);

    static int fds[IDLE_CONNS];
    int opened = 0;
    for (int i = 0; i < IDLE_CONNS; i++)
        if ((fds[i] = dial(2)) >= 0)
            opened++;
    /* The server closes those over the per-client limit; let it get to them. */
    usleep(300000);

    char buf[8192];
    int closed;
    static const char req[] = "GET /v1/limits HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    double t0 = now_s();
    int got = exchange(1, req, sizeof req - 1, buf, sizeof buf, 5, &closed);
    double took = now_s() - t0;
    printf("1000 idle from 127.0.0.2 (%d connected): a request from 127.0.0.1 answered %d in %.3f s\n", opened,
           got, took);
    CHECK(got == 401); /* no auth headers: any answer at all is what counts */
    CHECK(took < 1.0);

    int still_open = 0;
    for (int i = 0; i < IDLE_CONNS; i++) {
        if (fds[i] < 0)
            continue;
        char c;
        ssize_t r = recv(fds[i], &c, 1, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            still_open++;
        close(fds[i]);
    }
    printf("the server kept %d of them open\n", still_open);
    CHECK(still_open <= 128);
}

int main(void)
{
    h_setup("conn");
    h_server_start(2);
    error_answers();
    idle_hog();
    h_server_stop();
    printf("ok\n");
    return 0;
}

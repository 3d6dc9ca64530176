/*
 * peer.c - offpay-test-peer: a test peer that speaks the frame protocol,
 * built on the transport library, for the end-to-end tests of
 * `offpay receive` / `offpay pay --to`.
 *
 *   offpay-test-peer relay LISTEN TARGET PLAN
 *       Sit between a payer (who connects to LISTEN) and a payee (listening
 *       at TARGET) and forward the three frames of the handshake (request,
 *       record, answer), except as PLAN says:
 *         pass       forward everything
 *         cut:N      forward N frames, take frame N+1 from its sender (so the
 *                    sender has committed to it), then close both sides
 *                    without forwarding it
 *         hold:N     as cut:N, but print "HELD" and wait for a line (or EOF)
 *                    on stdin before closing: the test kills a side meanwhile
 *         tamper:N   flip one bit in the middle of frame N's payload
 *   offpay-test-peer fake-payee LISTEN KIND [REQUEST_FILE]
 *       Accept a payer and misbehave: garbage, oversized, badversion,
 *       wrongtype (a record frame first), silent (say nothing; wait for the
 *       payer to give up), or send the request from REQUEST_FILE and then
 *       answer the record with: close, garbage (a confirmation frame of
 *       noise), abort.
 *   offpay-test-peer fake-payer TARGET KIND [RECORD_FILE]
 *       Connect to a payee, take its request, and answer with: close,
 *       garbage, oversized, wrongtype (the request sent back as a record),
 *       abort, or record (the record in RECORD_FILE).
 *
 * LISTEN is HOST:PORT or HOST:LOW-HIGH (a port range, tried from a pid-based
 * start, skipping ports in use).  Once listening the peer prints
 * "LISTENING PORT".  It reports what it saw on stdout, one line each:
 * "GOT request 253", "GOT abort insufficient_funds", "CLOSED peer_closed",
 * and exits 0 when it ran its plan (whatever the wallets did), 1 on its own
 * failure.  Every wait is bounded (--timeout, default 30 s).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "offpay/text.h"
#include "offpay/transport.h"

static int step_ms = 30000;

static const char *type_name(uint8_t t)
{
    switch (t) {
    case OFFPAY_FRAME_REQUEST: return "request";
    case OFFPAY_FRAME_RECORD: return "record";
    case OFFPAY_FRAME_CONFIRMATION: return "confirmation";
    case OFFPAY_FRAME_REFUSAL: return "refusal";
    case OFFPAY_FRAME_ABORT: return "abort";
    default: return "unknown";
    }
}

static void say(const char *fmt, const char *a, size_t n)
{
    printf(fmt, a, n);
    fflush(stdout);
}

/* Receive one frame and report it.  Returns OFFPAY_OK or why not. */
static enum offpay_status take(struct offpay_transport *t, uint8_t *type, uint8_t *buf, size_t cap, size_t *len)
{
    enum offpay_status s = offpay_transport_recv(t, type, buf, cap, len, step_ms);
    if (s != OFFPAY_OK) {
        printf("CLOSED %s\n", offpay_status_code(s));
        fflush(stdout);
        return s;
    }
    if (*type == OFFPAY_FRAME_ABORT) {
        printf("GOT abort %.*s\n", (int)*len, (const char *)buf);
        fflush(stdout);
    } else {
        say("GOT %s %zu\n", type_name(*type), *len);
    }
    return OFFPAY_OK;
}

static int listen_on(const char *spec)
{
    char host[OFFPAY_HOST_MAX + 1], hp[OFFPAY_HOST_MAX + 16];
    const char *colon = strrchr(spec, ':');
    const char *dash = colon ? strchr(colon, '-') : NULL;
    unsigned lo, hi;
    int fd;
    uint16_t port;
    if (colon == NULL || (size_t)(colon - spec) > OFFPAY_HOST_MAX)
        return -1;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    if (dash == NULL) {
        if (offpay_tcp_listen(&fd, &port, spec) != OFFPAY_OK)
            return -1;
    } else {
        if (sscanf(colon + 1, "%u-%u", &lo, &hi) != 2 || lo == 0 || hi < lo || hi > 65535)
            return -1;
        unsigned span = hi - lo + 1, start = ((unsigned)getpid() * 37u) % span;
        fd = -1;
        for (unsigned i = 0; i < span && i < 400 && fd < 0; i++) {
            snprintf(hp, sizeof hp, "%s:%u", host, lo + (start + i * 7u) % span);
            if (offpay_tcp_listen(&fd, &port, hp) != OFFPAY_OK) {
                fd = -1;
                if (errno != EADDRINUSE)
                    return -1;
            }
        }
        if (fd < 0)
            return -1;
    }
    printf("LISTENING %u\n", (unsigned)port);
    fflush(stdout);
    return fd;
}

/* Accept one peer on spec and wrap it in t.  Returns the socket's fd (still
 * owned by t, usable for raw writes until t is closed) or -1. */
static int accept_one(struct offpay_transport *t, const char *spec)
{
    int lfd = listen_on(spec);
    if (lfd < 0) {
        fprintf(stderr, "offpay-test-peer: cannot listen on %s\n", spec);
        return -1;
    }
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, step_ms)) < 0 && errno == EINTR) {
    }
    int fd = r > 0 ? accept(lfd, NULL, NULL) : -1;
    close(lfd);
    if (fd < 0 || offpay_transport_from_fd(t, fd) != OFFPAY_OK) {
        fprintf(stderr, "offpay-test-peer: no payer connected\n");
        return -1;
    }
    return fd;
}

/* Connect to an IPv4 HOST:PORT (blocking; the payee is already listening).
 * Returns the fd, owned by t as for accept_one, or -1. */
static int connect_one(struct offpay_transport *t, const char *target)
{
    char host[OFFPAY_HOST_MAX + 1];
    uint16_t port;
    struct sockaddr_in a = {.sin_family = AF_INET};
    if (offpay_hostport_parse(host, &port, target, 0) != OFFPAY_OK || inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return -1;
    a.sin_port = htons(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "offpay-test-peer: connect %s: %s\n", target, strerror(errno));
        close(fd);
        return -1;
    }
    if (offpay_transport_from_fd(t, fd) != OFFPAY_OK)
        return -1;
    return fd;
}

/* Read a message file in text form.  Returns 0 or -1. */
static int load_message(const char *path, uint8_t *bin, size_t cap, size_t *len)
{
    static char text[8192];
    int type;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return offpay_text_decode(bin, cap, len, &type, 0, text, n) == OFFPAY_OK ? 0 : -1;
}

static int relay(const char *listen_spec, const char *target, const char *plan)
{
    struct offpay_transport payer, payee;
    static uint8_t buf[OFFPAY_FRAME_PAYLOAD_MAX];
    int cut = -1, hold = 0, tamper = -1;
    if (strncmp(plan, "cut:", 4) == 0)
        cut = atoi(plan + 4);
    else if (strncmp(plan, "hold:", 5) == 0)
        cut = atoi(plan + 5), hold = 1;
    else if (strncmp(plan, "tamper:", 7) == 0)
        tamper = atoi(plan + 7);
    else if (strcmp(plan, "pass") != 0)
        return 2;
    if (accept_one(&payer, listen_spec) < 0)
        return 1;
    enum offpay_status s = offpay_tcp_connect(&payee, target, step_ms);
    if (s != OFFPAY_OK) {
        fprintf(stderr, "offpay-test-peer: connect %s: %s\n", target, offpay_status_str(s));
        offpay_transport_close(&payer);
        return 1;
    }
    /* Frames alternate: 1 request (payee->payer), 2 record, 3 answer. */
    for (int i = 1; i <= 3; i++) {
        struct offpay_transport *from = (i % 2) ? &payee : &payer, *to = (i % 2) ? &payer : &payee;
        uint8_t type;
        size_t len;
        if (take(from, &type, buf, sizeof buf, &len) != OFFPAY_OK)
            break;
        if (i == cut + 1) {
            if (hold) {
                char line[16];
                printf("HELD\n");
                fflush(stdout);
                if (fgets(line, sizeof line, stdin) == NULL) {
                    /* EOF: close now */
                }
            }
            printf("CUT after %d\n", cut);
            fflush(stdout);
            break;
        }
        if (i == tamper && len > 0)
            buf[len / 2] ^= 0x10;
        if (offpay_transport_send(to, type, buf, len, step_ms) != OFFPAY_OK) {
            printf("CLOSED sending %s\n", type_name(type));
            break;
        }
        if (type == OFFPAY_FRAME_ABORT)
            break;
    }
    offpay_transport_close(&payer);
    offpay_transport_close(&payee);
    return 0;
}

/* Drain what the other side still sends until it closes (bounded). */
static void drain(struct offpay_transport *t)
{
    static uint8_t buf[OFFPAY_FRAME_PAYLOAD_MAX];
    uint8_t type;
    size_t len;
    while (take(t, &type, buf, sizeof buf, &len) == OFFPAY_OK) {
    }
}

static int fake_payee(const char *listen_spec, const char *kind, const char *file)
{
    static uint8_t buf[OFFPAY_FRAME_PAYLOAD_MAX], msg[OFFPAY_FRAME_PAYLOAD_MAX];
    size_t msg_len = 0, len;
    uint8_t type;
    struct offpay_transport t;
    if (file != NULL && load_message(file, msg, sizeof msg, &msg_len) != 0) {
        fprintf(stderr, "offpay-test-peer: cannot read message %s\n", file);
        return 1;
    }
    int fd = accept_one(&t, listen_spec);
    if (fd < 0)
        return 1;
    if (strcmp(kind, "garbage") == 0 || strcmp(kind, "oversized") == 0 || strcmp(kind, "badversion") == 0) {
        /* Not frames: written on the socket itself, around the transport. */
        static const uint8_t garbage[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        static const uint8_t oversized[] = {1, OFFPAY_FRAME_REQUEST, 0xff, 0xff, 0xff, 0xff, 'x', 'x'};
        static const uint8_t badversion[] = {2, OFFPAY_FRAME_REQUEST, 0, 0, 0, 1, 'x'};
        const uint8_t *p = garbage;
        size_t n = sizeof garbage - 1;
        if (strcmp(kind, "oversized") == 0)
            p = oversized, n = sizeof oversized;
        else if (strcmp(kind, "badversion") == 0)
            p = badversion, n = sizeof badversion;
        if (send(fd, p, n, MSG_NOSIGNAL) != (ssize_t)n)
            return 1;
        drain(&t);
    } else if (strcmp(kind, "wrongtype") == 0) {
        if (offpay_transport_send(&t, OFFPAY_FRAME_RECORD, msg, msg_len, step_ms) != OFFPAY_OK)
            return 1;
        drain(&t);
    } else if (strcmp(kind, "silent") == 0) {
        drain(&t);
    } else {
        if (file == NULL)
            return 2;
        if (offpay_transport_send(&t, OFFPAY_FRAME_REQUEST, msg, msg_len, step_ms) != OFFPAY_OK)
            return 1;
        if (take(&t, &type, buf, sizeof buf, &len) != OFFPAY_OK)
            goto done;
        if (strcmp(kind, "close") == 0) {
            /* nothing: close with the record unanswered */
        } else if (strcmp(kind, "garbage-answer") == 0) {
            for (size_t i = 0; i < 200; i++)
                buf[i] = (uint8_t)(i * 37);
            if (offpay_transport_send(&t, OFFPAY_FRAME_CONFIRMATION, buf, 200, step_ms) == OFFPAY_OK)
                drain(&t);
        } else if (strcmp(kind, "abort") == 0) {
            if (offpay_transport_send_abort(&t, OFFPAY_ERR_WRONG_AMOUNT, step_ms) == OFFPAY_OK)
                drain(&t);
        } else {
            return 2;
        }
    }
done:
    offpay_transport_close(&t);
    return 0;
}

static int fake_payer(const char *target, const char *kind, const char *file)
{
    static uint8_t buf[OFFPAY_FRAME_PAYLOAD_MAX], msg[OFFPAY_FRAME_PAYLOAD_MAX];
    size_t msg_len = 0, len;
    uint8_t type;
    struct offpay_transport t;
    if (file != NULL && load_message(file, msg, sizeof msg, &msg_len) != 0) {
        fprintf(stderr, "offpay-test-peer: cannot read message %s\n", file);
        return 1;
    }
    int fd = connect_one(&t, target);
    if (fd < 0)
        return 1;
    if (take(&t, &type, buf, sizeof buf, &len) != OFFPAY_OK)
        goto done;
    if (strcmp(kind, "close") == 0) {
        goto done;
    } else if (strcmp(kind, "garbage") == 0 || strcmp(kind, "oversized") == 0) {
        static const uint8_t garbage[] = "\x00\x01garbage that is not a frame";
        static const uint8_t oversized[] = {1, OFFPAY_FRAME_RECORD, 0x7f, 0xff, 0xff, 0xff, 'x'};
        const uint8_t *p = strcmp(kind, "garbage") == 0 ? garbage : oversized;
        size_t n = strcmp(kind, "garbage") == 0 ? sizeof garbage - 1 : sizeof oversized;
        if (send(fd, p, n, MSG_NOSIGNAL) != (ssize_t)n)
            return 1;
    } else if (strcmp(kind, "wrongtype") == 0) {
        /* the payee's own request, sent back as if it were a record */
        if (offpay_transport_send(&t, OFFPAY_FRAME_RECORD, buf, len, step_ms) != OFFPAY_OK)
            goto done;
    } else if (strcmp(kind, "abort") == 0) {
        if (offpay_transport_send_abort(&t, OFFPAY_ERR_INSUFFICIENT_FUNDS, step_ms) != OFFPAY_OK)
            goto done;
    } else if (strcmp(kind, "record") == 0 && file != NULL) {
        if (offpay_transport_send(&t, OFFPAY_FRAME_RECORD, msg, msg_len, step_ms) != OFFPAY_OK)
            goto done;
    } else {
        offpay_transport_close(&t);
        return 2;
    }
    drain(&t);
done:
    offpay_transport_close(&t);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    const char *env = getenv("OFFPAY_TEST_PEER_TIMEOUT_MS");
    if (env != NULL && atoi(env) > 0)
        step_ms = atoi(env);
    if (argc >= 5 && strcmp(argv[1], "relay") == 0)
        return relay(argv[2], argv[3], argv[4]);
    if (argc >= 4 && strcmp(argv[1], "fake-payee") == 0)
        return fake_payee(argv[2], argv[3], argc >= 5 ? argv[4] : NULL);
    if (argc >= 4 && strcmp(argv[1], "fake-payer") == 0)
        return fake_payer(argv[2], argv[3], argc >= 5 ? argv[4] : NULL);
    fprintf(stderr, "usage: offpay-test-peer relay LISTEN TARGET PLAN | fake-payee LISTEN KIND [FILE] | "
                    "fake-payer TARGET KIND [FILE]\n");
    return 2;
}

/*
 * test_frame.c - frames over real TCP sockets on 127.0.0.1.
 *
 * One side is the library (offpay_tcp_* and the stream transport); where a
 * test needs a misbehaving peer, the other side is a raw socket that writes
 * exactly the bytes under test.  Covers: round trips of every frame type and
 * size, back-to-back frames, oversized lengths refused with the payload left
 * unread, bad versions and garbage, timeouts (silent peer, stalled header,
 * trickling peer, full send buffer), peers closing mid-frame, no SIGPIPE,
 * EINTR during a wait, connect/accept failures and HOST:PORT parsing.
 * Ports: 20000-20299 (part of the transport tests' range), chosen from the pid and
 * retried on EADDRINUSE.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "offpay/transport.h"

#define T_MS 3000 /* generous timeout for steps that should succeed */

static int64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Listen on 127.0.0.1 in 20000-20499; bounded retries on a taken port. */
static int listen_local(uint16_t *port)
{
    static unsigned salt;
    for (unsigned i = 0; i < 200; i++) {
        unsigned p = 20000 + ((unsigned)getpid() * 7u + salt++ * 31u + i * 13u) % 300u;
        char hp[32];
        int fd;
        snprintf(hp, sizeof hp, "127.0.0.1:%u", p);
        enum offpay_status s = offpay_tcp_listen(&fd, port, hp);
        if (s == OFFPAY_OK) {
            CHECK(*port == p);
            return fd;
        }
        CHECK(s == OFFPAY_ERR_PEER_UNREACHABLE && errno == EADDRINUSE);
    }
    CHECK(!"no free port in 20000-20299");
    return -1;
}

/* A raw client socket connected to 127.0.0.1:port (blocking). */
static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    return fd;
}

static void raw_write(int fd, const void *p, size_t n) { CHECK(send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n); }

/* A pair: the library's server side (accepted) and a raw client.  *server_fd
 * is the accepted socket's number, for peeking at what was left unread. */
static void pair_raw_client(struct offpay_transport *server, int *server_fd, int *client)
{
    uint16_t port;
    int lfd = listen_local(&port);
    *client = raw_connect(port);
    int fd = accept(lfd, NULL, NULL);
    CHECK(fd >= 0);
    close(lfd);
    *server_fd = fd;
    CHECK(offpay_transport_from_fd(server, fd) == OFFPAY_OK);
}

/* A pair made entirely by the library: connect and accept. */
static void pair_lib(struct offpay_transport *server, struct offpay_transport *client)
{
    uint16_t port;
    char hp[32];
    int lfd = listen_local(&port);
    snprintf(hp, sizeof hp, "127.0.0.1:%u", port);
    /* The kernel completes the handshake from the backlog, so connecting
     * first and accepting after works in one thread. */
    CHECK_STATUS(offpay_tcp_connect(client, hp, T_MS), OFFPAY_OK);
    CHECK_STATUS(offpay_tcp_accept(server, lfd, T_MS), OFFPAY_OK);
    close(lfd);
}

static void test_round_trip(void)
{
    struct offpay_transport a, b;
    pair_lib(&a, &b);
    static uint8_t out[OFFPAY_FRAME_PAYLOAD_MAX], in[OFFPAY_FRAME_PAYLOAD_MAX];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (uint8_t)(i * 131 + 7);
    const uint8_t types[] = {OFFPAY_FRAME_REQUEST, OFFPAY_FRAME_RECORD, OFFPAY_FRAME_CONFIRMATION,
                             OFFPAY_FRAME_REFUSAL, OFFPAY_FRAME_ABORT};
    const size_t sizes[] = {0, 1, 224, 421, OFFPAY_MESSAGE_BYTES_MAX, OFFPAY_FRAME_PAYLOAD_MAX};
    for (size_t t = 0; t < sizeof types; t++) {
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            /* both directions */
            struct offpay_transport *from = (k & 1) ? &a : &b, *to = (k & 1) ? &b : &a;
            uint8_t type = 0;
            size_t len = 99;
            CHECK_STATUS(offpay_transport_send(from, types[t], out, sizes[k], T_MS), OFFPAY_OK);
            CHECK_STATUS(offpay_transport_recv(to, &type, in, sizeof in, &len, T_MS), OFFPAY_OK);
            CHECK(type == types[t]);
            CHECK(len == sizes[k]);
            CHECK(memcmp(in, out, sizes[k]) == 0);
        }
    }
    /* Several frames in flight at once: each recv takes exactly one. */
    for (int i = 0; i < 5; i++)
        CHECK_STATUS(offpay_transport_send(&a, OFFPAY_FRAME_RECORD, out + i, 100 + (size_t)i, T_MS), OFFPAY_OK);
    for (int i = 0; i < 5; i++) {
        uint8_t type;
        size_t len;
        CHECK_STATUS(offpay_transport_recv(&b, &type, in, sizeof in, &len, T_MS), OFFPAY_OK);
        CHECK(type == OFFPAY_FRAME_RECORD && len == 100 + (size_t)i && memcmp(in, out + i, len) == 0);
    }
    /* An abort carries the stable status code. */
    CHECK_STATUS(offpay_transport_send_abort(&a, OFFPAY_ERR_INSUFFICIENT_FUNDS, T_MS), OFFPAY_OK);
    uint8_t type;
    size_t len;
    CHECK_STATUS(offpay_transport_recv(&b, &type, in, sizeof in, &len, T_MS), OFFPAY_OK);
    CHECK(type == OFFPAY_FRAME_ABORT && len == strlen("insufficient_funds") && memcmp(in, "insufficient_funds", len) == 0);
    /* The sender refuses what a receiver would refuse. */
    CHECK_STATUS(offpay_transport_send(&a, OFFPAY_FRAME_RECORD, out, OFFPAY_FRAME_PAYLOAD_MAX + 1, T_MS),
                 OFFPAY_ERR_FRAME_TOO_LARGE);
    CHECK_STATUS(offpay_transport_send(&a, 0x55, out, 1, T_MS), OFFPAY_ERR_USAGE);
    offpay_transport_close(&a);
    offpay_transport_close(&b);
    offpay_transport_close(&b); /* a second close does nothing */
    CHECK(a.ctx == NULL && a.send_frame == NULL);
}

/* Send hdr (+ tail) from a raw client; expect want from recv, and check the
 * tail bytes are still unread in the server socket afterwards. */
static void expect_refused(const uint8_t hdr[6], size_t cap, enum offpay_status want, int tail_stays_unread)
{
    struct offpay_transport s;
    int sfd, c;
    pair_raw_client(&s, &sfd, &c);
    const char tail[] = "PAYLOAD-NOT-TO-BE-READ";
    raw_write(c, hdr, 6);
    raw_write(c, tail, sizeof tail - 1);
    sleep_ms(20); /* let the tail arrive, so "unread" is meaningful */
    static uint8_t buf[OFFPAY_FRAME_PAYLOAD_MAX];
    uint8_t type = 9;
    size_t len = 9;
    CHECK_STATUS(offpay_transport_recv(&s, &type, buf, cap, &len, T_MS), want);
    CHECK(type == 0 && len == 0);
    if (tail_stays_unread) {
        char peek[64];
        ssize_t n = recv(sfd, peek, sizeof peek, MSG_PEEK | MSG_DONTWAIT);
        CHECK(n == (ssize_t)(sizeof tail - 1) && memcmp(peek, tail, sizeof tail - 1) == 0);
    }
    offpay_transport_close(&s);
    close(c);
}

static void test_refused_headers(void)
{
    const size_t cap = OFFPAY_FRAME_PAYLOAD_MAX;
    /* oversized: just over the cap, and the largest 32-bit length */
    expect_refused((const uint8_t[]){1, OFFPAY_FRAME_RECORD, 0, 0, 0x10, 0x01}, cap, OFFPAY_ERR_FRAME_TOO_LARGE, 1);
    expect_refused((const uint8_t[]){1, OFFPAY_FRAME_RECORD, 0xff, 0xff, 0xff, 0xff}, cap, OFFPAY_ERR_FRAME_TOO_LARGE, 1);
    /* within the protocol's cap but over this receiver's buffer */
    expect_refused((const uint8_t[]){1, OFFPAY_FRAME_REQUEST, 0, 0, 1, 0}, 255, OFFPAY_ERR_FRAME_TOO_LARGE, 1);
    /* bad version, unknown types */
    expect_refused((const uint8_t[]){2, OFFPAY_FRAME_RECORD, 0, 0, 0, 4}, cap, OFFPAY_ERR_BAD_VERSION, 1);
    expect_refused((const uint8_t[]){0, OFFPAY_FRAME_RECORD, 0, 0, 0, 4}, cap, OFFPAY_ERR_BAD_VERSION, 1);
    expect_refused((const uint8_t[]){1, 0, 0, 0, 0, 4}, cap, OFFPAY_ERR_MALFORMED, 1);
    expect_refused((const uint8_t[]){1, OFFPAY_MSG_CERT, 0, 0, 0, 4}, cap, OFFPAY_ERR_MALFORMED, 1);
    expect_refused((const uint8_t[]){1, 0xff, 0, 0, 0, 4}, cap, OFFPAY_ERR_MALFORMED, 1);
    /* garbage: someone talking HTTP at a payee */
    expect_refused((const uint8_t *)"GET / ", cap, OFFPAY_ERR_BAD_VERSION, 1);

    /* The pure header functions agree with what went over the wire. */
    uint8_t hdr[6], t;
    size_t n;
    CHECK_STATUS(offpay_frame_header_encode(hdr, OFFPAY_FRAME_CONFIRMATION, 232), OFFPAY_OK);
    CHECK(memcmp(hdr, (const uint8_t[]){1, 5, 0, 0, 0, 232}, 6) == 0);
    CHECK_STATUS(offpay_frame_header_decode(&t, &n, hdr, 232), OFFPAY_OK);
    CHECK(t == OFFPAY_FRAME_CONFIRMATION && n == 232);
    CHECK_STATUS(offpay_frame_header_decode(&t, &n, hdr, 231), OFFPAY_ERR_FRAME_TOO_LARGE);
    CHECK(t == 0 && n == 0);
    CHECK_STATUS(offpay_frame_header_encode(hdr, OFFPAY_FRAME_ABORT, OFFPAY_FRAME_PAYLOAD_MAX), OFFPAY_OK);
    CHECK_STATUS(offpay_frame_header_encode(hdr, OFFPAY_FRAME_ABORT, OFFPAY_FRAME_PAYLOAD_MAX + 1),
                 OFFPAY_ERR_FRAME_TOO_LARGE);
    CHECK_STATUS(offpay_frame_header_encode(hdr, OFFPAY_MSG_UTXO, 1), OFFPAY_ERR_USAGE);
}

struct trickle {
    int fd;
    int n;
    int every_ms;
};

/* Send a valid header announcing 100 bytes, then one payload byte at a time. */
static void *trickle_main(void *arg)
{
    struct trickle *tr = arg;
    const uint8_t hdr[6] = {1, OFFPAY_FRAME_RECORD, 0, 0, 0, 100};
    if (send(tr->fd, hdr, 6, MSG_NOSIGNAL) != 6)
        return NULL;
    for (int i = 0; i < tr->n; i++) {
        sleep_ms(tr->every_ms);
        if (send(tr->fd, "x", 1, MSG_NOSIGNAL) != 1)
            break;
    }
    return NULL;
}

static void test_timeouts(void)
{
    static uint8_t buf[OFFPAY_FRAME_PAYLOAD_MAX];
    uint8_t type;
    size_t len;
    int64_t t0, dt;

    /* A silent peer. */
    struct offpay_transport s;
    int sfd, c;
    pair_raw_client(&s, &sfd, &c);
    t0 = ms_now();
    CHECK_STATUS(offpay_transport_recv(&s, &type, buf, sizeof buf, &len, 200), OFFPAY_ERR_PEER_TIMEOUT);
    dt = ms_now() - t0;
    CHECK(dt >= 190 && dt < 5000); /* generous: a loaded machine oversleeps */
    offpay_transport_close(&s);
    close(c);

    /* Half a header, then nothing. */
    pair_raw_client(&s, &sfd, &c);
    raw_write(c, (const uint8_t[]){1, OFFPAY_FRAME_RECORD, 0}, 3);
    CHECK_STATUS(offpay_transport_recv(&s, &type, buf, sizeof buf, &len, 200), OFFPAY_ERR_PEER_TIMEOUT);
    offpay_transport_close(&s);
    close(c);

    /* A peer that keeps sending a byte every 20 ms never resets the clock:
     * the deadline is for the whole frame. */
    pair_raw_client(&s, &sfd, &c);
    struct trickle tr = {c, 100, 20};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, trickle_main, &tr) == 0);
    t0 = ms_now();
    CHECK_STATUS(offpay_transport_recv(&s, &type, buf, sizeof buf, &len, 300), OFFPAY_ERR_PEER_TIMEOUT);
    dt = ms_now() - t0;
    CHECK(dt >= 290 && dt < 5000);
    offpay_transport_close(&s); /* the trickler then fails its next send and stops */
    pthread_join(th, NULL);
    close(c);

    /* Sending to a peer that never reads: the socket buffers fill, then the
     * send times out instead of blocking. */
    struct offpay_transport a, b;
    pair_lib(&a, &b);
    enum offpay_status st = OFFPAY_OK;
    int frames = 0;
    while (st == OFFPAY_OK && frames < 5000) {
        st = offpay_transport_send(&a, OFFPAY_FRAME_RECORD, buf, sizeof buf, 100);
        frames++;
    }
    CHECK_STATUS(st, OFFPAY_ERR_PEER_TIMEOUT);
    CHECK(frames > 1 && frames < 5000);
    offpay_transport_close(&a);
    offpay_transport_close(&b);

    /* No peer ever connects. */
    uint16_t port;
    int lfd = listen_local(&port);
    t0 = ms_now();
    CHECK_STATUS(offpay_tcp_accept(&a, lfd, 150), OFFPAY_ERR_PEER_TIMEOUT);
    CHECK(ms_now() - t0 >= 140);
    CHECK(a.ctx == NULL);
    close(lfd);
}

static void test_peer_closes(void)
{
    static uint8_t buf[OFFPAY_FRAME_PAYLOAD_MAX];
    uint8_t type;
    size_t len;
    struct offpay_transport s;
    int sfd, c;

    /* before anything */
    pair_raw_client(&s, &sfd, &c);
    close(c);
    CHECK_STATUS(offpay_transport_recv(&s, &type, buf, sizeof buf, &len, T_MS), OFFPAY_ERR_PEER_CLOSED);
    offpay_transport_close(&s);

    /* in the header */
    pair_raw_client(&s, &sfd, &c);
    raw_write(c, (const uint8_t[]){1, OFFPAY_FRAME_RECORD, 0}, 3);
    close(c);
    CHECK_STATUS(offpay_transport_recv(&s, &type, buf, sizeof buf, &len, T_MS), OFFPAY_ERR_PEER_CLOSED);
    offpay_transport_close(&s);

    /* in the payload: 50 of 100 bytes */
    pair_raw_client(&s, &sfd, &c);
    raw_write(c, (const uint8_t[]){1, OFFPAY_FRAME_RECORD, 0, 0, 0, 100}, 6);
    raw_write(c, buf, 50);
    close(c);
    CHECK_STATUS(offpay_transport_recv(&s, &type, buf, sizeof buf, &len, T_MS), OFFPAY_ERR_PEER_CLOSED);
    CHECK(type == 0 && len == 0);
    offpay_transport_close(&s);

    /* after a whole frame: that frame arrives, the next read sees the close */
    pair_raw_client(&s, &sfd, &c);
    raw_write(c, (const uint8_t[]){1, OFFPAY_FRAME_REFUSAL, 0, 0, 0, 3, 'a', 'b', 'c'}, 9);
    close(c);
    CHECK_STATUS(offpay_transport_recv(&s, &type, buf, sizeof buf, &len, T_MS), OFFPAY_OK);
    CHECK(type == OFFPAY_FRAME_REFUSAL && len == 3 && memcmp(buf, "abc", 3) == 0);
    CHECK_STATUS(offpay_transport_recv(&s, &type, buf, sizeof buf, &len, T_MS), OFFPAY_ERR_PEER_CLOSED);
    offpay_transport_close(&s);

    /* Writing to a peer that has gone: an error, never SIGPIPE (which would
     * end this process: SIGPIPE keeps its default action here). */
    struct offpay_transport a, b;
    pair_lib(&a, &b);
    offpay_transport_close(&b);
    enum offpay_status st = OFFPAY_OK;
    for (int i = 0; i < 200 && st == OFFPAY_OK; i++) {
        st = offpay_transport_send(&a, OFFPAY_FRAME_RECORD, buf, 1000, T_MS);
        sleep_ms(5);
    }
    CHECK_STATUS(st, OFFPAY_ERR_PEER_CLOSED);
    offpay_transport_close(&a);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

struct late {
    struct offpay_transport *t;
    int after_ms;
};

static void *late_sender(void *arg)
{
    struct late *l = arg;
    sleep_ms(l->after_ms);
    static const uint8_t msg[] = "late but whole";
    if (offpay_transport_send(l->t, OFFPAY_FRAME_CONFIRMATION, msg, sizeof msg, T_MS) != OFFPAY_OK)
        fprintf(stderr, "late sender failed\n");
    return NULL;
}

/* Signals during a wait (poll returns EINTR) neither fail the read nor
 * stretch or shorten its deadline. */
static void test_eintr(void)
{
    struct offpay_transport a, b;
    pair_lib(&a, &b);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: interrupted calls fail with EINTR */
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    /* Block SIGALRM in the sender thread so the main thread takes them. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    struct late l = {&b, 250};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, late_sender, &l) == 0);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    struct itimerval it = {{0, 10000}, {0, 10000}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    uint8_t buf[64], type;
    size_t len;
    CHECK_STATUS(offpay_transport_recv(&a, &type, buf, sizeof buf, &len, T_MS), OFFPAY_OK);
    CHECK(type == OFFPAY_FRAME_CONFIRMATION && len == sizeof "late but whole" && memcmp(buf, "late but whole", len) == 0);
    /* And a timeout still fires on time while signals keep coming. */
    int64_t t0 = ms_now();
    CHECK_STATUS(offpay_transport_recv(&a, &type, buf, sizeof buf, &len, 200), OFFPAY_ERR_PEER_TIMEOUT);
    int64_t dt = ms_now() - t0;
    CHECK(dt >= 190 && dt < 5000);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    pthread_join(th, NULL);
    CHECK(alarms > 5);
    offpay_transport_close(&a);
    offpay_transport_close(&b);
}

static void test_connect_failures(void)
{
    struct offpay_transport t;
    /* Nobody listens: take a free port, then close it. */
    uint16_t port;
    int lfd = listen_local(&port);
    close(lfd);
    char hp[32];
    snprintf(hp, sizeof hp, "127.0.0.1:%u", port);
    CHECK_STATUS(offpay_tcp_connect(&t, hp, T_MS), OFFPAY_ERR_PEER_UNREACHABLE);
    CHECK(t.ctx == NULL);
    CHECK_STATUS(offpay_tcp_connect(&t, "127.0.0.1", T_MS), OFFPAY_ERR_USAGE);

    /* A port already taken cannot be listened on twice. */
    lfd = listen_local(&port);
    snprintf(hp, sizeof hp, "127.0.0.1:%u", port);
    int fd2;
    CHECK_STATUS(offpay_tcp_listen(&fd2, NULL, hp), OFFPAY_ERR_PEER_UNREACHABLE);
    CHECK(errno == EADDRINUSE);
    close(lfd);

    /* IPv6 loopback, where the machine has it. */
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    if (probe >= 0) {
        close(probe);
        uint16_t p6 = 0;
        int l6 = -1;
        for (unsigned i = 0; i < 50 && l6 < 0; i++) {
            snprintf(hp, sizeof hp, "[::1]:%u", 20000 + ((unsigned)getpid() * 11u + i * 17u) % 300u);
            if (offpay_tcp_listen(&l6, &p6, hp) != OFFPAY_OK && errno != EADDRINUSE)
                break; /* no IPv6 loopback here */
        }
        if (l6 >= 0) {
            struct offpay_transport a, b;
            CHECK_STATUS(offpay_tcp_connect(&b, hp, T_MS), OFFPAY_OK);
            CHECK_STATUS(offpay_tcp_accept(&a, l6, T_MS), OFFPAY_OK);
            uint8_t buf[8], type;
            size_t len;
            CHECK_STATUS(offpay_transport_send(&b, OFFPAY_FRAME_REQUEST, (const uint8_t *)"v6", 2, T_MS), OFFPAY_OK);
            CHECK_STATUS(offpay_transport_recv(&a, &type, buf, sizeof buf, &len, T_MS), OFFPAY_OK);
            CHECK(len == 2 && memcmp(buf, "v6", 2) == 0);
            offpay_transport_close(&a);
            offpay_transport_close(&b);
            close(l6);
        }
    }
}

static void test_hostport(void)
{
    static const struct {
        const char *in;
        int zero_ok;
        const char *host; /* NULL: must be refused */
        unsigned port;
    } cases[] = {
        {"127.0.0.1:7000", 0, "127.0.0.1", 7000},
        {"0.0.0.0:1", 0, "0.0.0.0", 1},
        {"192.168.43.1:65535", 0, "192.168.43.1", 65535},
        {"localhost:20001", 0, "localhost", 20001},
        {"phone-1.local:80", 0, "phone-1.local", 80},
        {"[::1]:7000", 0, "::1", 7000},
        {"[fe80::1:2]:9", 0, "fe80::1:2", 9},
        {"127.0.0.1:0", 1, "127.0.0.1", 0},
        {"127.0.0.1:0", 0, NULL, 0},
        {"127.0.0.1:65536", 0, NULL, 0},
        {"127.0.0.1:99999", 0, NULL, 0},
        {"127.0.0.1:070", 0, NULL, 0},
        {"127.0.0.1:+70", 0, NULL, 0},
        {"127.0.0.1:-1", 0, NULL, 0},
        {"127.0.0.1: 70", 0, NULL, 0},
        {"127.0.0.1:70 ", 0, NULL, 0},
        {"127.0.0.1:", 0, NULL, 0},
        {"127.0.0.1", 0, NULL, 0},
        {":7000", 0, NULL, 0},
        {"", 0, NULL, 0},
        {"1.2.3.999:7000", 0, NULL, 0},
        {"1.2.3:7000", 0, NULL, 0},
        {"::1:7000", 0, NULL, 0},
        {"[::1]7000", 0, NULL, 0},
        {"[::1:7000", 0, NULL, 0},
        {"[]:7000", 0, NULL, 0},
        {"[1.2.3.4]:7000", 0, NULL, 0},
        {"[zz::1]:7000", 0, NULL, 0},
        {"host..name:1", 0, NULL, 0},
        {".host:1", 0, NULL, 0},
        {"host.:1", 0, NULL, 0},
        {"-host:1", 0, NULL, 0},
        {"host-:1", 0, NULL, 0},
        {"ho st:1", 0, NULL, 0},
        {"host_name:1", 0, NULL, 0},
        {"http://host:1", 0, NULL, 0},
        {"host:1:2", 0, NULL, 0},
        {"h\xc3\xa9:1", 0, NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char host[OFFPAY_HOST_MAX + 1];
        uint16_t port = 1;
        enum offpay_status s = offpay_hostport_parse(host, &port, cases[i].in, cases[i].zero_ok);
        if (cases[i].host) {
            if (s != OFFPAY_OK || strcmp(host, cases[i].host) != 0 || port != cases[i].port)
                CHECK_FAIL("hostport: \"%s\" should parse as %s port %u", cases[i].in, cases[i].host,
                        cases[i].port);
        } else if (s != OFFPAY_ERR_USAGE || port != 0 || host[0] != '\0')
            CHECK_FAIL("hostport: \"%s\" should be refused", cases[i].in);
    }
    /* A label of 64 characters, and a name over 253. */
    char big[400];
    memset(big, 'a', 64);
    strcpy(big + 64, ":1");
    char host[OFFPAY_HOST_MAX + 1];
    uint16_t port;
    CHECK_STATUS(offpay_hostport_parse(host, &port, big, 0), OFFPAY_ERR_USAGE);
    memset(big, 'a', 63);
    strcpy(big + 63, ":1");
    CHECK_STATUS(offpay_hostport_parse(host, &port, big, 0), OFFPAY_OK);
    for (int i = 0; i < 5; i++) {
        memset(big + i * 64, 'a', 63);
        big[i * 64 + 63] = '.';
    }
    strcpy(big + 5 * 64 - 1, ":1");
    CHECK_STATUS(offpay_hostport_parse(host, &port, big, 0), OFFPAY_ERR_USAGE);
    CHECK_STATUS(offpay_hostport_parse(host, &port, NULL, 0), OFFPAY_ERR_USAGE);
}

int main(void)
{
    test_hostport();
    test_round_trip();
    test_refused_headers();
    test_timeouts();
    test_peer_closes();
    test_eintr();
    test_connect_failures();
    return 0;
}

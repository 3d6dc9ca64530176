/*
 * tcp.c - the TCP channel: strict HOST:PORT parsing, listening for exactly one
 * peer, connecting with a timeout.  Once connected, a TCP socket is a plain
 * stream and frame.c's stream transport carries the frames.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "offpay/transport.h"
#include "wait.h"

static int is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

/* A DNS name (or dotted IPv4): labels of 1..63 letters, digits and inner
 * hyphens, separated by single dots.  All-digit names must be a valid IPv4
 * address, so "1.2.3.999" or "010.0.0.1" are refused rather than resolved. */
static int host_name_valid(const char *h, size_t n)
{
    if (n == 0 || n > OFFPAY_HOST_MAX)
        return 0;
    size_t label = 0;
    int only_digits_dots = 1;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!is_alnum(c) && c != '-')
            return 0;
        if (c == '-' && label == 0)
            return 0;
        if (!(c >= '0' && c <= '9'))
            only_digits_dots = 0;
        if (++label > 63)
            return 0;
    }
    if (label == 0 || h[n - 1] == '-')
        return 0;
    if (only_digits_dots) {
        struct in_addr a;
        char tmp[OFFPAY_HOST_MAX + 1];
        memcpy(tmp, h, n);
        tmp[n] = '\0';
        return inet_pton(AF_INET, tmp, &a) == 1;
    }
    return 1;
}

static int port_parse(uint16_t *port, const char *p, int allow_zero)
{
    size_t n = strlen(p);
    if (n == 0 || n > 5 || (n > 1 && p[0] == '0'))
        return 0;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v > 65535 || (v == 0 && !allow_zero))
        return 0;
    *port = (uint16_t)v;
    return 1;
}

enum offpay_status offpay_hostport_parse(char host[OFFPAY_HOST_MAX + 1], uint16_t *port, const char *s,
                                         int allow_port_zero)
{
    host[0] = '\0';
    *port = 0;
    if (s == NULL)
        return OFFPAY_ERR_USAGE;
    size_t len = strnlen(s, OFFPAY_HOST_MAX + 16);
    if (len > OFFPAY_HOST_MAX + 8)
        return OFFPAY_ERR_USAGE;
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return OFFPAY_ERR_USAGE;
        size_t n = (size_t)(close - s - 1);
        char tmp[INET6_ADDRSTRLEN + 1];
        struct in6_addr a;
        if (n == 0 || n >= sizeof tmp)
            return OFFPAY_ERR_USAGE;
        memcpy(tmp, s + 1, n);
        tmp[n] = '\0';
        if (inet_pton(AF_INET6, tmp, &a) != 1)
            return OFFPAY_ERR_USAGE;
        colon = close + 1;
        if (!port_parse(port, colon + 1, allow_port_zero))
            return OFFPAY_ERR_USAGE;
        memcpy(host, tmp, n + 1);
        return OFFPAY_OK;
    }
    colon = strrchr(s, ':');
    if (colon == NULL || !host_name_valid(s, (size_t)(colon - s)))
        return OFFPAY_ERR_USAGE;
    if (!port_parse(port, colon + 1, allow_port_zero)) {
        *port = 0;
        return OFFPAY_ERR_USAGE;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    return OFFPAY_OK;
}

/* Resolve host:port for a stream socket.  Returns 0 or a getaddrinfo error. */
static int resolve(struct addrinfo **res, const char *hostport, int passive, int allow_zero,
                   enum offpay_status *why)
{
    char host[OFFPAY_HOST_MAX + 1];
    char port_s[8];
    uint16_t port;
    *res = NULL;
    if ((*why = offpay_hostport_parse(host, &port, hostport, allow_zero)) != OFFPAY_OK)
        return -1;
    snprintf(port_s, sizeof port_s, "%u", (unsigned)port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)};
    if (getaddrinfo(host, port_s, &hints, res) != 0) {
        *res = NULL;
        *why = OFFPAY_ERR_PEER_UNREACHABLE;
        errno = EHOSTUNREACH;
        return -1;
    }
    return 0;
}

enum offpay_status offpay_tcp_listen(int *listen_fd, uint16_t *bound_port, const char *hostport)
{
    struct addrinfo *res;
    enum offpay_status why;
    *listen_fd = -1;
    if (bound_port)
        *bound_port = 0;
    if (resolve(&res, hostport, 1, 1, &why) != 0)
        return why;
    int err = EADDRNOTAVAIL;
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        /* A payee restarted right after a payment must not wait out TIME_WAIT;
         * on Linux this never lets two listeners share a port. */
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        /* One payment at a time: a backlog of 1 is all a payee needs. */
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 1) != 0) {
            err = errno;
            close(fd);
            continue;
        }
        if (bound_port) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
                *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                             : ((struct sockaddr_in *)&ss)->sin_port);
        }
        freeaddrinfo(res);
        *listen_fd = fd;
        return OFFPAY_OK;
    }
    freeaddrinfo(res);
    errno = err;
    return OFFPAY_ERR_PEER_UNREACHABLE;
}

static void tune(int fd)
{
    /* Frames are small and each waits for an answer: send them at once. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

enum offpay_status offpay_tcp_accept(struct offpay_transport *t, int listen_fd, int timeout_ms)
{
    memset(t, 0, sizeof *t);
    int64_t deadline = offpay_wait_deadline(timeout_ms);
    int flags = fcntl(listen_fd, F_GETFL);
    if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return OFFPAY_ERR_PEER_UNREACHABLE;
    for (;;) {
        int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            tune(fd);
            return offpay_transport_from_fd(t, fd);
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return OFFPAY_ERR_PEER_UNREACHABLE;
        enum offpay_status s = offpay_wait_fd(listen_fd, POLLIN, deadline);
        if (s == OFFPAY_ERR_PEER_CLOSED)
            return OFFPAY_ERR_PEER_UNREACHABLE;
        if (s != OFFPAY_OK)
            return s;
    }
}

/* Connect fd to one address before the deadline.  Returns OFFPAY_OK,
 * OFFPAY_ERR_PEER_TIMEOUT or OFFPAY_ERR_PEER_UNREACHABLE (errno set). */
static enum offpay_status connect_one(int fd, const struct addrinfo *a, int64_t deadline)
{
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
        return OFFPAY_OK;
    if (errno != EINPROGRESS && errno != EINTR)
        return OFFPAY_ERR_PEER_UNREACHABLE;
    /* A non-blocking connect (also one interrupted by a signal) finishes in
     * the background; writability says it is done, SO_ERROR how it went. */
    enum offpay_status s = offpay_wait_fd(fd, POLLOUT, deadline);
    if (s == OFFPAY_ERR_PEER_TIMEOUT)
        return s;
    int err = 0;
    socklen_t el = sizeof err;
    if (s != OFFPAY_OK || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
        return OFFPAY_ERR_PEER_UNREACHABLE;
    if (err != 0) {
        errno = err;
        return OFFPAY_ERR_PEER_UNREACHABLE;
    }
    return OFFPAY_OK;
}

enum offpay_status offpay_tcp_connect(struct offpay_transport *t, const char *hostport, int timeout_ms)
{
    struct addrinfo *res;
    enum offpay_status why;
    memset(t, 0, sizeof *t);
    int64_t deadline = offpay_wait_deadline(timeout_ms);
    if (resolve(&res, hostport, 0, 0, &why) != 0)
        return why;
    enum offpay_status s = OFFPAY_ERR_PEER_UNREACHABLE;
    int err = EHOSTUNREACH;
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        s = connect_one(fd, a, deadline);
        if (s == OFFPAY_OK) {
            freeaddrinfo(res);
            tune(fd);
            return offpay_transport_from_fd(t, fd);
        }
        err = errno;
        close(fd);
        if (s == OFFPAY_ERR_PEER_TIMEOUT)
            break;
    }
    freeaddrinfo(res);
    errno = err;
    return s;
}

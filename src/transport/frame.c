/*
 * frame.c - length-prefixed frames, and the transport over a stream socket.
 *
 * The stream transport reads exactly the bytes of one frame (header, then
 * payload) and never more, so nothing of a following frame is consumed and an
 * oversized frame is refused with its payload left unread.  Every wait is a
 * poll() against one deadline for the whole frame; EINTR and short reads and
 * writes are retried until the deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "offpay/transport.h"
#include "wait.h"

_Static_assert(OFFPAY_FRAME_PAYLOAD_MAX >= OFFPAY_MESSAGE_BYTES_MAX, "a frame must hold any single message");
_Static_assert(OFFPAY_FRAME_PAYLOAD_MAX <= 0x7fffffff, "the length field is 32 bits");

int offpay_frame_type_valid(uint8_t type)
{
    switch (type) {
    case OFFPAY_FRAME_REQUEST:
    case OFFPAY_FRAME_RECORD:
    case OFFPAY_FRAME_CONFIRMATION:
    case OFFPAY_FRAME_REFUSAL:
    case OFFPAY_FRAME_ABORT:
        return 1;
    default:
        return 0;
    }
}

enum offpay_status offpay_frame_header_encode(uint8_t hdr[OFFPAY_FRAME_HEADER_BYTES], uint8_t type, size_t len)
{
    if (!offpay_frame_type_valid(type))
        return OFFPAY_ERR_USAGE;
    if (len > OFFPAY_FRAME_PAYLOAD_MAX)
        return OFFPAY_ERR_FRAME_TOO_LARGE;
    hdr[0] = OFFPAY_FRAME_VERSION;
    hdr[1] = type;
    hdr[2] = (uint8_t)(len >> 24);
    hdr[3] = (uint8_t)(len >> 16);
    hdr[4] = (uint8_t)(len >> 8);
    hdr[5] = (uint8_t)len;
    return OFFPAY_OK;
}

enum offpay_status offpay_frame_header_decode(uint8_t *type, size_t *len, const uint8_t hdr[OFFPAY_FRAME_HEADER_BYTES],
                                              size_t cap)
{
    *type = 0;
    *len = 0;
    if (hdr[0] != OFFPAY_FRAME_VERSION)
        return OFFPAY_ERR_BAD_VERSION;
    if (!offpay_frame_type_valid(hdr[1]))
        return OFFPAY_ERR_MALFORMED;
    uint32_t n = (uint32_t)hdr[2] << 24 | (uint32_t)hdr[3] << 16 | (uint32_t)hdr[4] << 8 | hdr[5];
    if (n > OFFPAY_FRAME_PAYLOAD_MAX || n > cap)
        return OFFPAY_ERR_FRAME_TOO_LARGE;
    *type = hdr[1];
    *len = n;
    return OFFPAY_OK;
}

enum offpay_status offpay_transport_send(struct offpay_transport *t, uint8_t type, const uint8_t *buf, size_t len,
                                         int timeout_ms)
{
    if (t == NULL || t->send_frame == NULL)
        return OFFPAY_ERR_USAGE;
    return t->send_frame(t->ctx, type, buf, len, timeout_ms);
}

enum offpay_status offpay_transport_recv(struct offpay_transport *t, uint8_t *type, uint8_t *buf, size_t cap,
                                         size_t *len, int timeout_ms)
{
    *type = 0;
    *len = 0;
    if (t == NULL || t->recv_frame == NULL)
        return OFFPAY_ERR_USAGE;
    return t->recv_frame(t->ctx, type, buf, cap, len, timeout_ms);
}

void offpay_transport_close(struct offpay_transport *t)
{
    if (t == NULL)
        return;
    if (t->close != NULL)
        t->close(t->ctx);
    memset(t, 0, sizeof *t);
}

enum offpay_status offpay_transport_send_abort(struct offpay_transport *t, enum offpay_status why, int timeout_ms)
{
    const char *code = offpay_status_code(why);
    size_t n = strlen(code);
    if (n == 0 || n > OFFPAY_FRAME_ABORT_MAX)
        return OFFPAY_ERR_INTERNAL;
    return offpay_transport_send(t, OFFPAY_FRAME_ABORT, (const uint8_t *)code, n, timeout_ms);
}

/* ---- stream socket ---- */

struct stream {
    int fd;
};

static enum offpay_status write_all(int fd, const uint8_t *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            enum offpay_status s = offpay_wait_fd(fd, POLLOUT, deadline);
            if (s != OFFPAY_OK)
                return s;
            continue;
        }
        return OFFPAY_ERR_PEER_CLOSED; /* EPIPE, ECONNRESET, ... */
    }
    return OFFPAY_OK;
}

static enum offpay_status read_all(int fd, uint8_t *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            continue;
        }
        if (r == 0)
            return OFFPAY_ERR_PEER_CLOSED;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            enum offpay_status s = offpay_wait_fd(fd, POLLIN, deadline);
            if (s != OFFPAY_OK)
                return s;
            continue;
        }
        return OFFPAY_ERR_PEER_CLOSED;
    }
    return OFFPAY_OK;
}

static enum offpay_status stream_send(void *ctx, uint8_t type, const uint8_t *buf, size_t len, int timeout_ms)
{
    struct stream *st = ctx;
    uint8_t hdr[OFFPAY_FRAME_HEADER_BYTES];
    enum offpay_status s = offpay_frame_header_encode(hdr, type, len);
    if (s != OFFPAY_OK)
        return s;
    int64_t deadline = offpay_wait_deadline(timeout_ms);
    if ((s = write_all(st->fd, hdr, sizeof hdr, deadline)) != OFFPAY_OK)
        return s;
    return write_all(st->fd, buf, len, deadline);
}

static enum offpay_status stream_recv(void *ctx, uint8_t *type, uint8_t *buf, size_t cap, size_t *len,
                                      int timeout_ms)
{
    struct stream *st = ctx;
    uint8_t hdr[OFFPAY_FRAME_HEADER_BYTES];
    uint8_t t;
    size_t n;
    *type = 0;
    *len = 0;
    int64_t deadline = offpay_wait_deadline(timeout_ms);
    enum offpay_status s = read_all(st->fd, hdr, sizeof hdr, deadline);
    if (s != OFFPAY_OK)
        return s;
    /* Refuse a bad header before reading any payload. */
    if ((s = offpay_frame_header_decode(&t, &n, hdr, cap)) != OFFPAY_OK)
        return s;
    if ((s = read_all(st->fd, buf, n, deadline)) != OFFPAY_OK)
        return s;
    *type = t;
    *len = n;
    return OFFPAY_OK;
}

static void stream_close(void *ctx)
{
    struct stream *st = ctx;
    if (st == NULL)
        return;
    if (st->fd >= 0)
        close(st->fd);
    free(st);
}

enum offpay_status offpay_transport_from_fd(struct offpay_transport *t, int fd)
{
    memset(t, 0, sizeof *t);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        close(fd);
        return OFFPAY_ERR_INTERNAL;
    }
    struct stream *st = malloc(sizeof *st);
    if (st == NULL) {
        close(fd);
        return OFFPAY_ERR_NOMEM;
    }
    st->fd = fd;
    t->ctx = st;
    t->send_frame = stream_send;
    t->recv_frame = stream_recv;
    t->close = stream_close;
    return OFFPAY_OK;
}

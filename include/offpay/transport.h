/*
 * transport.h - how two devices hand each other the messages of a payment.
 *
 * The handshake (request -> record -> confirmation or refusal) does not care
 * how its messages travel.  It talks to a struct offpay_transport: three
 * function pointers that send one frame, receive one frame and close the
 * channel.  TCP implements it today (offpay_tcp_*); a Bluetooth RFCOMM socket
 * is a byte stream too and can reuse offpay_transport_from_fd as it is; NFC or
 * any message-oriented link implements the three functions itself.  Nothing
 * above this header changes when a channel is added.  docs/transport.md has
 * the rules a new implementation must keep.
 *
 * A frame on a byte stream is
 *     version (1 byte, OFFPAY_FRAME_VERSION)
 *     type    (1 byte, enum offpay_frame_type)
 *     length  (4 bytes, big-endian, at most OFFPAY_FRAME_PAYLOAD_MAX)
 *     payload (length bytes: one binary message of messages.h, or an abort)
 * The header is checked before a single payload byte is read: a bad version,
 * an unknown type or an oversized length ends the exchange there.
 *
 * Every send and receive has a deadline (timeout_ms for the whole frame, not
 * per read, so a peer trickling one byte at a time cannot hold a device).
 */
#ifndef OFFPAY_TRANSPORT_H
#define OFFPAY_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "offpay/messages.h"
#include "offpay/status.h"

#define OFFPAY_FRAME_VERSION 1
#define OFFPAY_FRAME_HEADER_BYTES 6
/* The largest payload a receiver accepts: the largest single message with
 * headroom.  A frame announcing more is refused before its payload is read. */
#define OFFPAY_FRAME_PAYLOAD_MAX 4096
/* An abort carries a short stable reason code (offpay_status_code()). */
#define OFFPAY_FRAME_ABORT_MAX 64

/* Sensible defaults for a person holding two phones next to each other. */
#define OFFPAY_TRANSPORT_CONNECT_TIMEOUT_MS 10000
#define OFFPAY_TRANSPORT_FRAME_TIMEOUT_MS 30000

/* What a frame carries.  The message frames use the numbers of enum
 * offpay_msg_type, so a frame's type equals its payload's type byte. */
enum offpay_frame_type {
    OFFPAY_FRAME_REQUEST = OFFPAY_MSG_REQUEST,
    OFFPAY_FRAME_RECORD = OFFPAY_MSG_RECORD,
    OFFPAY_FRAME_CONFIRMATION = OFFPAY_MSG_CONFIRMATION,
    OFFPAY_FRAME_REFUSAL = OFFPAY_MSG_REFUSAL,
    /* "I stop here, and this is why": payload is a status code such as
     * "insufficient_funds" (1..OFFPAY_FRAME_ABORT_MAX bytes of [a-z0-9_]). */
    OFFPAY_FRAME_ABORT = 0x7f
};

/*
 * One channel to one peer.  Implementations fill in all four fields.
 *
 * send_frame: send one frame of type with payload buf[0..len) within
 *   timeout_ms.  Returns OFFPAY_OK once the whole frame is handed to the
 *   channel; OFFPAY_ERR_PEER_TIMEOUT, OFFPAY_ERR_PEER_CLOSED,
 *   OFFPAY_ERR_FRAME_TOO_LARGE (len > OFFPAY_FRAME_PAYLOAD_MAX) or
 *   OFFPAY_ERR_USAGE (unknown type).  After a failure the frame may have
 *   been partly sent: treat the channel as broken and close it.
 *
 * recv_frame: receive one frame within timeout_ms.  Out: *type, buf[0..*len).
 *   Returns OFFPAY_OK; OFFPAY_ERR_PEER_TIMEOUT; OFFPAY_ERR_PEER_CLOSED (also
 *   when the peer closed in the middle of a frame); OFFPAY_ERR_BAD_VERSION;
 *   OFFPAY_ERR_MALFORMED (unknown frame type); OFFPAY_ERR_FRAME_TOO_LARGE
 *   (length over OFFPAY_FRAME_PAYLOAD_MAX or over cap; the payload is not
 *   read).  On any failure *type and *len are 0 and the channel is broken.
 *
 * close: release the channel and ctx.  Safe to call once, after any failure.
 *
 * A timeout_ms below 0 means "wait for ever" (never used by offpay itself).
 */
struct offpay_transport {
    void *ctx;
    enum offpay_status (*send_frame)(void *ctx, uint8_t type, const uint8_t *buf, size_t len, int timeout_ms);
    enum offpay_status (*recv_frame)(void *ctx, uint8_t *type, uint8_t *buf, size_t cap, size_t *len,
                                     int timeout_ms);
    void (*close)(void *ctx);
};

/* ---- the frame header, for implementations of other channels ---- */

/* Returns: 1 if type is one of enum offpay_frame_type, else 0. */
int offpay_frame_type_valid(uint8_t type);

/* Out: hdr.  Returns: OFFPAY_OK, OFFPAY_ERR_USAGE (unknown type) or
 * OFFPAY_ERR_FRAME_TOO_LARGE. */
enum offpay_status offpay_frame_header_encode(uint8_t hdr[OFFPAY_FRAME_HEADER_BYTES], uint8_t type,
                                              size_t len) OFFPAY_WARN_UNUSED;

/* Check a received header.  Out: *type, *len (0 on failure).  In: hdr, cap
 * (the receiver's buffer).  Returns: OFFPAY_OK, OFFPAY_ERR_BAD_VERSION,
 * OFFPAY_ERR_MALFORMED or OFFPAY_ERR_FRAME_TOO_LARGE. */
enum offpay_status offpay_frame_header_decode(uint8_t *type, size_t *len, const uint8_t hdr[OFFPAY_FRAME_HEADER_BYTES],
                                              size_t cap) OFFPAY_WARN_UNUSED;

/* ---- convenience wrappers (they only call through the pointers) ---- */

enum offpay_status offpay_transport_send(struct offpay_transport *t, uint8_t type, const uint8_t *buf, size_t len,
                                         int timeout_ms) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_transport_recv(struct offpay_transport *t, uint8_t *type, uint8_t *buf, size_t cap,
                                         size_t *len, int timeout_ms) OFFPAY_WARN_UNUSED;
/* Close t (if open) and clear it, so a second call does nothing. */
void offpay_transport_close(struct offpay_transport *t);

/* Send an abort frame whose payload is offpay_status_code(why); best effort
 * (a peer that is gone cannot hear it).  Returns what send_frame returned. */
enum offpay_status offpay_transport_send_abort(struct offpay_transport *t, enum offpay_status why, int timeout_ms);

/* ---- a byte-stream socket (TCP today, Bluetooth RFCOMM tomorrow) ---- */

/*
 * Wrap a connected stream socket.  The fd is made non-blocking and belongs to
 * t from now on (t->close closes it, also when this fails).  Writes use
 * MSG_NOSIGNAL, so a vanished peer is an error, never a SIGPIPE.
 * Returns: OFFPAY_OK or OFFPAY_ERR_NOMEM / OFFPAY_ERR_INTERNAL.
 */
enum offpay_status offpay_transport_from_fd(struct offpay_transport *t, int fd) OFFPAY_WARN_UNUSED;

/* ---- TCP ---- */

#define OFFPAY_HOST_MAX 253

/*
 * Parse "HOST:PORT" strictly: HOST is a dotted IPv4 address, a bracketed IPv6
 * address ("[::1]:7000") or a DNS name (letters, digits, '-' and '.', at most
 * OFFPAY_HOST_MAX); PORT is decimal without sign or leading zeros, 1..65535,
 * or 0 when allow_port_zero (listen on any free port).  Nothing else, no
 * spaces.  Out: host (NUL-terminated, brackets removed), *port.
 * Returns: OFFPAY_OK or OFFPAY_ERR_USAGE.
 */
enum offpay_status offpay_hostport_parse(char host[OFFPAY_HOST_MAX + 1], uint16_t *port, const char *s,
                                         int allow_port_zero) OFFPAY_WARN_UNUSED;

/*
 * Listen on HOST:PORT (port 0: any free port), for one peer at a time.
 * Out: *listen_fd, *bound_port (may be NULL).  Returns: OFFPAY_OK,
 * OFFPAY_ERR_USAGE (bad HOST:PORT) or OFFPAY_ERR_PEER_UNREACHABLE (host not
 * found or cannot bind; errno tells why, EADDRINUSE when the port is taken).
 * The caller closes *listen_fd.
 */
enum offpay_status offpay_tcp_listen(int *listen_fd, uint16_t *bound_port, const char *hostport) OFFPAY_WARN_UNUSED;

/* Accept one peer on listen_fd within timeout_ms and wrap it in t.
 * Returns: OFFPAY_OK, OFFPAY_ERR_PEER_TIMEOUT or OFFPAY_ERR_PEER_UNREACHABLE. */
enum offpay_status offpay_tcp_accept(struct offpay_transport *t, int listen_fd, int timeout_ms) OFFPAY_WARN_UNUSED;

/* Connect to HOST:PORT within timeout_ms (all addresses of HOST, in order;
 * a DNS name is resolved by the system first, which the timeout does not
 * bound: use addresses on a network without a resolver).
 * Returns: OFFPAY_OK, OFFPAY_ERR_USAGE (bad HOST:PORT),
 * OFFPAY_ERR_PEER_TIMEOUT or OFFPAY_ERR_PEER_UNREACHABLE (unknown host,
 * refused, no route). */
enum offpay_status offpay_tcp_connect(struct offpay_transport *t, const char *hostport, int timeout_ms) OFFPAY_WARN_UNUSED;

#endif

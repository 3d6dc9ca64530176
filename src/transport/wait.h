/*
 * wait.h - private to src/transport: one deadline-driven poll() shared by the
 * frame reader/writer and the TCP connect/accept code.
 */
#ifndef OFFPAY_TRANSPORT_WAIT_H
#define OFFPAY_TRANSPORT_WAIT_H

#include <stdint.h>

#include "offpay/status.h"

/* Milliseconds on the monotonic clock. */
int64_t offpay_wait_now_ms(void);

/* A deadline timeout_ms from now; -1 (no deadline) when timeout_ms < 0. */
int64_t offpay_wait_deadline(int timeout_ms);

/* Wait until fd reports one of events (or an error/hang-up, which the next
 * read or write will surface) or the deadline passes.  Retries EINTR.
 * Returns: OFFPAY_OK, OFFPAY_ERR_PEER_TIMEOUT or OFFPAY_ERR_PEER_CLOSED. */
enum offpay_status offpay_wait_fd(int fd, short events, int64_t deadline);

#endif

/*
 * wait.c - the one poll() loop of the transports: every wait is measured
 * against a deadline on the monotonic clock, so EINTR and spurious wake-ups
 * never stretch a timeout.
 */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "wait.h"

int64_t offpay_wait_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t offpay_wait_deadline(int timeout_ms) { return timeout_ms < 0 ? -1 : offpay_wait_now_ms() + timeout_ms; }

enum offpay_status offpay_wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - offpay_wait_now_ms();
            if (left <= 0)
                return OFFPAY_ERR_PEER_TIMEOUT;
            wait = left > 60000 ? 60000 : (int)left;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, wait);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return OFFPAY_ERR_PEER_CLOSED;
        }
        if (r == 0)
            continue; /* re-check the deadline */
        if (p.revents & POLLNVAL)
            return OFFPAY_ERR_PEER_CLOSED;
        /* On POLLHUP/POLLERR the caller's read or write reports what happened
         * (a read still gets the bytes that arrived before the hang-up). */
        if (p.revents & (events | POLLHUP | POLLERR))
            return OFFPAY_OK;
    }
}

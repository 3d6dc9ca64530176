/*
 * check.h - the tiny assertion kit of the core tests.
 *
 * No framework: a failed check prints file:line and what failed, then exits
 * non-zero, which is all ctest needs.  Statuses are printed by their stable
 * code so a failure says which rule answered instead of the expected one.
 */
#ifndef OFFPAY_TESTS_CHECK_H
#define OFFPAY_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offpay/status.h"

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

#define CHECK_STATUS(expr, want)                                                       \
    do {                                                                               \
        enum offpay_status got_ = (expr), want_ = (want);                              \
        if (got_ != want_) {                                                           \
            fprintf(stderr, "%s:%d: %s: got %s, want %s\n", __FILE__, __LINE__, #expr, \
                    offpay_status_code(got_), offpay_status_code(want_));              \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

#define CHECK_U64(expr, want)                                                          \
    do {                                                                               \
        uint64_t got_ = (expr), want_ = (want);                                        \
        if (got_ != want_) {                                                           \
            fprintf(stderr, "%s:%d: %s: got %" PRIu64 ", want %" PRIu64 "\n", __FILE__, \
                    __LINE__, #expr, got_, want_);                                     \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

#endif

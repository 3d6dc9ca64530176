/*
 * check.h - the few assertion macros the transport tests share.  A failed
 * check prints where and what, and the test exits non-zero at the end.
 */
#ifndef OFFPAY_TESTS_TRANSPORT_CHECK_H
#define OFFPAY_TESTS_TRANSPORT_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "offpay/status.h"

static int check_failures;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                         \
        }                                                                             \
    } while (0)

/* Compare two statuses and name both on failure. */
#define CHECK_STATUS(got, want)                                                                         \
    do {                                                                                                \
        enum offpay_status got_ = (got), want_ = (want);                                                \
        if (got_ != want_) {                                                                            \
            fprintf(stderr, "%s:%d: %s gave %s, want %s\n", __FILE__, __LINE__, #got,                 \
                    offpay_status_code(got_), offpay_status_code(want_));                               \
            check_failures++;                                                                           \
        }                                                                                               \
    } while (0)

/* Stop at once: later checks would only repeat the failure. */
#define REQUIRE(cond)                                                                   \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

static inline int check_report(const char *name)
{
    if (check_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

#endif

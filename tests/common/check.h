/*
 * check.h - the one assertion kit of offpay's C tests, in the manner of
 * libsecp256k1's CHECK: a failed check prints file:line and what failed, runs
 * the clean-ups the test registered (a harness kills its servers), keeps the
 * test's temporary folder for a look, and exits 1.  A test stops at its first
 * failure, so what follows never runs on a broken state, and ctest needs
 * nothing more than the exit code.
 *
 * Statuses are printed by their stable code (offpay_status_code), so a
 * failure names the rule that answered instead of the one expected.  One copy
 * (the library offpay_test_check) serves a test and its harness alike.
 */
#ifndef OFFPAY_TESTS_CHECK_H
#define OFFPAY_TESTS_CHECK_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "offpay/status.h"

/* Stop the test: print "FILE:LINE: " and the sentence, run the clean-ups, exit 1. */
void check_fail(const char *file, int line, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
#define CHECK_FAIL(...) check_fail(__FILE__, __LINE__, __VA_ARGS__)

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            CHECK_FAIL("check failed: %s", #cond);                                                                     \
    } while (0)

/* expr and want are enum offpay_status. */
#define CHECK_STATUS(expr, want)                                                                                       \
    do {                                                                                                               \
        enum offpay_status got_ = (expr), want_ = (want);                                                              \
        if (got_ != want_)                                                                                             \
            CHECK_FAIL("%s: got %s, want %s", #expr, offpay_status_code(got_), offpay_status_code(want_));             \
    } while (0)

/* Any unsigned or non-negative integers, compared as uint64_t. */
#define CHECK_U64(expr, want)                                                                                          \
    do {                                                                                                               \
        uint64_t got_ = (uint64_t)(expr), want_ = (uint64_t)(want);                                                    \
        if (got_ != want_)                                                                                             \
            CHECK_FAIL("%s: got %" PRIu64 ", want %" PRIu64, #expr, got_, want_);                                      \
    } while (0)

/* Two strings, neither NULL, the same. */
#define CHECK_STR(expr, want)                                                                                          \
    do {                                                                                                               \
        const char *got_ = (expr), *want_ = (want);                                                                    \
        if (got_ == NULL || want_ == NULL || strcmp(got_, want_) != 0)                                                 \
            CHECK_FAIL("%s: got \"%s\", want \"%s\"", #expr, got_ ? got_ : "(null)", want_ ? want_ : "(null)");        \
    } while (0)

/* n bytes at a and b the same. */
#define CHECK_MEM(a, b, n)                                                                                             \
    do {                                                                                                               \
        if (memcmp((a), (b), (n)) != 0)                                                                                \
            CHECK_FAIL("%s and %s differ in their first %zu bytes", #a, #b, (size_t)(n));                              \
    } while (0)

/* Run fn when a check fails, before the exit: the last registered first.
 * At most CHECK_CLEANUPS_MAX; one more stops the test. */
#define CHECK_CLEANUPS_MAX 8
void check_on_failure(void (*fn)(void));

/*
 * A fresh folder for the test's files: $TMPDIR (else /tmp)/offpay-NAME-XXXXXX.
 * It is removed with everything in it when the program exits after no failed
 * check, and kept (its path printed) after one.  Clean-ups registered with
 * atexit after this call run before the removal.
 * Returns: its path, static; the test stops if it cannot be made.
 */
const char *check_temp_dir(const char *name);

#endif

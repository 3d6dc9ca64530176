/*
 * expect.h - the checks of the server's unit tests: EXPECT(cond) reports a
 * failed condition with its place and counts it; expect_done() removes the
 * test's temporary folder (if any), says how many failed, and gives main its
 * exit code.  Header-only: each test is one program.
 */
#ifndef OFFPAY_TEST_EXPECT_H
#define OFFPAY_TEST_EXPECT_H

#include <stdio.h>
#include <stdlib.h>

static int failures;

#define EXPECT(cond)                                                                                                   \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: FAIL %s\n", __FILE__, __LINE__, #cond);                                            \
            failures++;                                                                                                \
        }                                                                                                              \
    } while (0)

/* Returns: main's exit code. dir (NULL: none) is removed with everything in it. */
static inline int expect_done(const char *test, const char *dir)
{
    if (dir != NULL) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            failures++;
    }
    if (failures)
        fprintf(stderr, "%s: %d failure(s)\n", test, failures);
    return failures ? 1 : 0;
}

#endif

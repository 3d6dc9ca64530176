/*
 * check.c - the failure path of the test assertion kit (check.h): the
 * message, the test's clean-ups, its temporary folder kept or removed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static void (*cleanups[CHECK_CLEANUPS_MAX])(void);
static int n_cleanups, failed;
static char temp_dir[512];
static pid_t temp_dir_owner; /* a forked child that exits leaves the folder alone */

void check_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    /* A clean-up that fails a check itself must not run the list again. */
    if (failed++)
        exit(1);
    while (n_cleanups > 0)
        cleanups[--n_cleanups]();
    exit(1);
}

void check_on_failure(void (*fn)(void))
{
    if (n_cleanups == CHECK_CLEANUPS_MAX)
        CHECK_FAIL("more than %d clean-ups registered", CHECK_CLEANUPS_MAX);
    cleanups[n_cleanups++] = fn;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void temp_dir_at_exit(void)
{
    if (getpid() != temp_dir_owner)
        return;
    if (failed)
        fprintf(stderr, "(test files kept in %s)\n", temp_dir);
    else if (nftw(temp_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "could not remove %s\n", temp_dir);
}

const char *check_temp_dir(const char *name)
{
    const char *tmp = getenv("TMPDIR");
    if (temp_dir[0] != '\0')
        CHECK_FAIL("check_temp_dir called twice");
    snprintf(temp_dir, sizeof temp_dir, "%s/offpay-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (mkdtemp(temp_dir) == NULL)
        CHECK_FAIL("mkdtemp %s: %s", temp_dir, strerror(errno));
    temp_dir_owner = getpid();
    atexit(temp_dir_at_exit);
    return temp_dir;
}

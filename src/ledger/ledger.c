/*
 * ledger.c - open a ledger by URL and hand back the backend's connection.
 *
 * The only place that knows which backends exist: "sqlite:PATH" is the
 * embedded ledger; "postgresql://..." (or "postgres://...") is a libpq
 * connection URI of a database that several offpayd processes may share.
 */
#include <stdio.h>
#include <string.h>

#include "offpay/ledger.h"
#include "postgres/pg_ledger.h"
#include "sqlite/sqlite_ledger.h"

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

enum offpay_status offpay_ledger_open(struct offpay_ledger **out, const char *url, int create, char *err,
                                      size_t err_cap)
{
    *out = NULL;
    if (url == NULL || url[0] == '\0') {
        snprintf(err, err_cap, "No ledger URL given (use --ledger sqlite:PATH or postgresql://...).");
        return OFFPAY_ERR_USAGE;
    }
    if (has_prefix(url, "sqlite:")) {
        const char *path = url + strlen("sqlite:");
        if (path[0] == '\0') {
            snprintf(err, err_cap, "The ledger URL \"%s\" names no file (use sqlite:PATH).", url);
            return OFFPAY_ERR_USAGE;
        }
        return offpay_sqlite_ledger_open(out, path, create, err, err_cap);
    }
    if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://"))
        return offpay_pg_ledger_open(out, url, create, err, err_cap);
    /* Not echoed: a mistyped connection string may hold a password. */
    snprintf(err, err_cap, "Unknown kind of ledger URL (use sqlite:PATH or postgresql://...).");
    return OFFPAY_ERR_USAGE;
}

void offpay_ledger_close(struct offpay_ledger *l)
{
    if (l != NULL)
        l->ops->close(l);
}

int offpay_ledger_local_path(char *out, size_t cap, const char *url)
{
    if (url == NULL || !has_prefix(url, "sqlite:") || url[7] == '\0')
        return -1;
    int n = snprintf(out, cap, "%s", url + 7);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/*
 * ledger.c - open a ledger by URL and hand back the backend's connection.
 *
 * The only place that knows which backends exist: "sqlite:PATH" is the
 * embedded ledger; "postgresql://" is recognised so users get a clear answer,
 * but that backend is not built yet.
 */
#include <stdio.h>
#include <string.h>

#include "offpay/ledger.h"
#include "sqlite/sqlite_ledger.h"

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

enum offpay_status offpay_ledger_open(struct offpay_ledger **out, const char *url, int create, char *err,
                                      size_t err_cap)
{
    *out = NULL;
    if (url == NULL || url[0] == '\0') {
        snprintf(err, err_cap, "No ledger URL given (use --ledger sqlite:PATH).");
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
    if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://")) {
        snprintf(err, err_cap, "The PostgreSQL ledger backend is not built yet; use sqlite:PATH.");
        return OFFPAY_ERR_USAGE;
    }
    snprintf(err, err_cap, "Unknown ledger URL \"%s\" (use sqlite:PATH).", url);
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

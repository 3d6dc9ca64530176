/*
 * ledger.c - open a ledger by URL and hand back the backend's connection.
 *
 * The only place that knows which backends exist: "sqlite:PATH" is the
 * embedded ledger; "postgresql://..." (or "postgres://...") is a libpq
 * connection URI of a database that several offpayd processes may share.
 */
#include <stdio.h>
#include <stdlib.h>
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

uint64_t offpay_ledger_round_trips(void) { return offpay_pg_round_trips(); }

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

size_t offpay_ledger_key_size(enum offpay_ledger_key_kind kind)
{
    switch (kind) {
    case OFFPAY_LEDGER_KEY_RECORD:
        return OFFPAY_RECORD_ID_BYTES;
    case OFFPAY_LEDGER_KEY_WALLET:
        return OFFPAY_WALLET_ID_BYTES;
    case OFFPAY_LEDGER_KEY_WALLET_KEY:
        return OFFPAY_PUBLIC_KEY_BYTES;
    case OFFPAY_LEDGER_KEY_COIN:
        return OFFPAY_PUBLIC_KEY_BYTES + OFFPAY_UTXO_ID_BYTES;
    case OFFPAY_LEDGER_KEY_NONCE:
        return OFFPAY_WALLET_ID_BYTES + OFFPAY_HTTP_NONCE_BYTES;
    case OFFPAY_LEDGER_KEY_ACCOUNT:
        return 8;
    default:
        return 0;
    }
}

int offpay_ledger_keys_add(struct offpay_ledger_keys *k, enum offpay_ledger_key_kind kind, const uint8_t *a,
                           const uint8_t *b)
{
    size_t size = offpay_ledger_key_size(kind);
    size_t first = kind == OFFPAY_LEDGER_KEY_COIN    ? OFFPAY_PUBLIC_KEY_BYTES
                   : kind == OFFPAY_LEDGER_KEY_NONCE ? OFFPAY_WALLET_ID_BYTES
                                                     : size;
    if (size == 0 || (first < size && b == NULL))
        return -1;
    if (k->n[kind] == k->cap[kind]) {
        size_t cap = k->cap[kind] ? 2 * k->cap[kind] : 64;
        uint8_t *p = realloc(k->k[kind], cap * size);
        if (p == NULL)
            return -1;
        k->k[kind] = p;
        k->cap[kind] = cap;
    }
    uint8_t *d = k->k[kind] + k->n[kind] * size;
    memcpy(d, a, first);
    if (first < size)
        memcpy(d + first, b, size - first);
    k->n[kind]++;
    return 0;
}

void offpay_ledger_keys_free(struct offpay_ledger_keys *k)
{
    for (int i = 0; i < OFFPAY_LEDGER_KEY_KINDS; i++)
        free(k->k[i]);
    memset(k, 0, sizeof *k);
}

/*
 * cmd_audit.c - offpayd audit: does the ledger conserve value?
 *
 * Globally: sum(online balances) + sum(unspent coins) = sum(minted), and
 * what accounts received from each other equals what they sent.  Per
 * account: online + its unspent coins = minted + received - sent.  The
 * per-account books say where a difference is.  All of it is read in one
 * consistent snapshot, in 128-bit arithmetic so no sum can wrap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef __int128 wide;

struct audit {
    int json, bad;
    wide online, unspent, minted, received, sent;
    size_t accounts;
    json_t *rows;
};

static const char *wide_str(char *buf, size_t cap, wide v)
{
    char tmp[48];
    int neg = v < 0, n = 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u > 0 && n < (int)sizeof tmp);
    size_t o = 0;
    if (neg && o + 1 < cap)
        buf[o++] = '-';
    while (n > 0 && o + 1 < cap)
        buf[o++] = tmp[--n];
    buf[o] = '\0';
    return buf;
}

/* A JSON integer when it fits (it always does in an honest ledger), else its digits as a string. */
static json_t *wide_json(wide v)
{
    char b[48];
    if (v >= INT64_MIN && v <= INT64_MAX)
        return json_integer((json_int_t)v);
    return json_string(wide_str(b, sizeof b, v));
}

static int each_row(void *ctx, const struct offpay_ledger_audit_row *row)
{
    struct audit *a = ctx;
    const struct offpay_ledger_account *acc = &row->account;
    wide have = (wide)acc->online + (wide)row->unspent;
    wide should = (wide)acc->minted + (wide)acc->received - (wide)acc->sent;
    char b1[48], b2[48], b3[48];

    a->accounts++;
    a->online += acc->online;
    a->unspent += row->unspent;
    a->minted += acc->minted;
    a->received += acc->received;
    a->sent += acc->sent;
    int ok = have == should && !row->overflow;
    if (!ok) {
        a->bad = 1;
        if (!a->json)
            printf("account %s: online %llu + coins %llu = %s, but minted %llu + received %llu - sent %llu = %s "
                   "(difference %s)%s.\n",
                   acc->name, (unsigned long long)acc->online, (unsigned long long)row->unspent,
                   wide_str(b1, sizeof b1, have), (unsigned long long)acc->minted, (unsigned long long)acc->received,
                   (unsigned long long)acc->sent, wide_str(b2, sizeof b2, should),
                   wide_str(b3, sizeof b3, have - should), row->overflow ? "; some amount is out of range" : "");
    }
    if (a->json) {
        json_t *j = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:b}", "account", acc->name, "online",
                              (json_int_t)acc->online, "unspent", (json_int_t)row->unspent, "minted",
                              (json_int_t)acc->minted, "received", (json_int_t)acc->received, "sent",
                              (json_int_t)acc->sent, "difference", wide_str(b3, sizeof b3, have - should), "ok", ok);
        json_object_set_new(j, "difference", wide_json(have - should));
        json_array_append_new(a->rows, j);
    }
    return 0;
}

int cmd_audit(const struct cli_opts *opts)
{
    struct audit a;
    struct offpay_ledger *l;
    int code = OFFPAY_EXIT_INTERNAL;
    char b1[48], b2[48], b3[48];

    if (opts->n_pos != 0)
        return cli_fail(OFFPAY_ERR_USAGE, "audit takes no arguments (see offpayd audit --help).");
    if ((l = cli_ledger(opts, 0, &code)) == NULL)
        return code;
    memset(&a, 0, sizeof a);
    a.json = cli_opt(opts, "json") != NULL;
    a.rows = json_array();
    enum offpay_ledger_result r = l->ops->begin(l, 0);
    if (r == OFFPAY_LEDGER_OK) {
        r = l->ops->audit(l, each_row, &a);
        l->ops->rollback(l); /* a read: nothing to commit */
    }
    if (r != OFFPAY_LEDGER_OK) {
        code = cli_fail(OFFPAY_ERR_STORAGE, "The ledger could not be read: %s", l->ops->last_error(l));
        offpay_ledger_close(l);
        json_decref(a.rows);
        return code;
    }
    offpay_ledger_close(l);

    wide total = a.online + a.unspent;
    int global_ok = total == a.minted && a.received == a.sent;
    if (!global_ok)
        a.bad = 1;
    if (a.json) {
        json_t *j = json_pack("{s:b,s:o,s:o,s:o,s:o,s:o,s:o}", "ok", !a.bad, "minted", wide_json(a.minted), "online",
                              wide_json(a.online), "unspent", wide_json(a.unspent), "received", wide_json(a.received),
                              "sent", wide_json(a.sent), "accounts", a.rows);
        char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (t)
            printf("%s\n", t);
        free(t);
        json_decref(j);
    } else {
        json_decref(a.rows);
        if (total != a.minted)
            printf("ledger: online %s + coins %s = %s, but minted %s (difference %s).\n",
                   wide_str(b1, sizeof b1, a.online), wide_str(b2, sizeof b2, a.unspent),
                   wide_str(b3, sizeof b3, total), wide_str((char[48]){0}, 48, a.minted),
                   wide_str((char[48]){0}, 48, total - a.minted));
        if (a.received != a.sent)
            printf("ledger: accounts received %s in payments but sent %s.\n", wide_str(b1, sizeof b1, a.received),
                   wide_str(b2, sizeof b2, a.sent));
        if (!a.bad)
            printf("The ledger conserves value: minted %s = online %s + coins %s (%zu accounts).\n",
                   wide_str(b1, sizeof b1, a.minted), wide_str(b2, sizeof b2, a.online),
                   wide_str(b3, sizeof b3, a.unspent), a.accounts);
    }
    if (a.bad) {
        fprintf(stderr, "offpayd: The ledger does not conserve value; see the accounts named above.\n");
        return OFFPAY_EXIT_INTERNAL;
    }
    return OFFPAY_EXIT_OK;
}

/*
 * cmd_audit.c - offpayd audit: does the ledger conserve value?
 *
 * Globally: sum(online balances) + sum(unspent coins) = sum(minted), and
 * what accounts received from each other equals what they sent.  Per
 * account: online + its unspent coins = minted + received - sent.  The
 * per-account books say where a difference is.  All of it is read in one
 * consistent snapshot, in 128-bit arithmetic so no sum can wrap.
 *
 * A ledger of several shards is read one snapshot per shard.  Each shard's
 * in-flight account (shard.c, relay.c) holds, as coins, what was paid to
 * another shard and not yet taken off; its row's totals are not kept (so
 * that payments between shards do not all wait on that one row): a coin
 * not yet delivered counts as received (its payer's sent has it), and a
 * payment delivered but not yet taken off is there twice,
 * and is counted once (its output, or the mark of value delivered without
 * a coin, is looked up on the payee's shard).  The
 * snapshots are not one instant, so a delivery that lands between two of
 * them can show as a difference: under traffic a difference is read again,
 * and only one that stays is reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef __int128 wide;

#define AUDIT_PASSES 4 /* reads of a ledger of several shards before a difference is believed */

struct audit {
    int json, bad, quiet;
    unsigned shard, n_shards;
    size_t in_flight, delivered; /* payments between shards: not yet delivered; delivered, not yet taken off */
    wide in_flight_amount;
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
    /* A shard's in-flight account holds its coins and nothing else: its
     * row's totals are not kept (count_flight counts what it holds). */
    int transit = a->n_shards > 1 && strcmp(acc->name, TRANSIT_NAME) == 0;
    if (transit)
        should = have;

    a->accounts++;
    a->online += acc->online;
    a->unspent += row->unspent;
    a->minted += acc->minted;
    a->received += transit ? 0 : acc->received;
    a->sent += transit ? 0 : acc->sent;
    int ok = have == should && !row->overflow;
    if (!ok) {
        a->bad = 1;
        if (!a->json && !a->quiet && a->n_shards > 1)
            printf("shard %u: ", a->shard);
        if (!a->json && !a->quiet)
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
        if (a->n_shards > 1)
            json_object_set_new(j, "shard", json_integer(a->shard));
        json_array_append_new(a->rows, j);
    }
    return 0;
}

/* In-flight coins of one shard (a page of them). */
struct flight {
    struct offpay_ledger_utxo coins[64];
    size_t n;
};

static int collect_flight(void *ctx, const struct offpay_ledger_utxo *u)
{
    struct flight *f = ctx;
    if (f->n >= sizeof f->coins / sizeof f->coins[0])
        return 1;
    f->coins[f->n++] = *u;
    return 0;
}

/* Whether value keyed by id was delivered without a coin on ledger l
 * (relay.c).  Returns 1, 0, or -1 (a read failed). */
static int delivered_mark(struct offpay_ledger *l, const uint8_t *id)
{
    char key[SHARD_META_KEY_MAX];
    uint8_t v[8];
    size_t len;
    shard_meta_key(key, "delivered", id);
    enum offpay_ledger_result r = l->ops->meta_get(l, key, v, sizeof v, &len);
    return r == OFFPAY_LEDGER_OK ? 1 : r == OFFPAY_LEDGER_NOT_FOUND ? 0 : -1;
}

/* Whether in-flight coin c of shard k was delivered already: the payee's
 * output of the record behind it (a coin, or the waterfall's mark), or an
 * online payment (its mark on the payee account's shard).  Returns 1, 0, or
 * -1 (a read failed). */
static int delivered(struct cli_shards *cs, unsigned k, const struct offpay_ledger_utxo *c)
{
    struct offpay_ledger_record stored;
    struct offpay_record rec;
    struct offpay_utxo o;
    struct offpay_ledger_wallet w;
    struct offpay_ledger_utxo u;
    struct offpay_ledger *l = cs->l[k];
    enum offpay_ledger_result r = l->ops->record_get(l, c->id, &stored);
    if (r == OFFPAY_LEDGER_NOT_FOUND) {
        char key[SHARD_META_KEY_MAX], to[OFFPAY_ACCOUNT_MAX + 1];
        size_t len;
        shard_meta_key(key, "transfer", c->id);
        if (l->ops->meta_get(l, key, (uint8_t *)to, sizeof to - 1, &len) != OFFPAY_LEDGER_OK)
            return -1;
        to[len] = '\0';
        return delivered_mark(cli_shards_of_name(cs, to), c->id);
    }
    if (r != OFFPAY_LEDGER_OK || offpay_record_decode(&rec, stored.body, stored.body_len) != OFFPAY_OK ||
        offpay_record_output(&o, &rec, c->id, 0) != OFFPAY_OK)
        return -1;
    for (unsigned i = 0; i < cs->n; i++) {
        r = cs->l[i]->ops->wallet_get_by_key(cs->l[i], rec.payee_key, &w);
        if (r == OFFPAY_LEDGER_NOT_FOUND)
            continue;
        if (r != OFFPAY_LEDGER_OK)
            return -1;
        r = cs->l[i]->ops->utxo_get(cs->l[i], o.owner, o.id, &u);
        return r == OFFPAY_LEDGER_OK ? 1 : r == OFFPAY_LEDGER_NOT_FOUND ? delivered_mark(cs->l[i], c->id) : -1;
    }
    return 0;
}

/* What is in flight from shard k; a payment counted on both sides is taken
 * out of the sums once.  Returns 0 or -1. */
static int count_flight(struct cli_shards *cs, unsigned k, struct audit *a)
{
    struct flight f;
    uint8_t after[OFFPAY_UTXO_ID_BYTES];
    int more = 1, first = 1;
    while (more) {
        f.n = 0;
        struct offpay_ledger *l = cs->l[k];
        if (l->ops->utxo_unspent_of(l, shard_transit_key, first ? NULL : after, 64, collect_flight, &f) !=
            OFFPAY_LEDGER_OK)
            return -1;
        for (size_t i = 0; i < f.n; i++) {
            int d = delivered(cs, k, &f.coins[i]);
            if (d < 0)
                return -1;
            if (d) { /* the payee has it already: counted once */
                a->delivered++;
                a->unspent -= f.coins[i].amount;
            } else { /* sent by its payer, received by no account yet */
                a->in_flight++;
                a->in_flight_amount += f.coins[i].amount;
                a->received += f.coins[i].amount;
            }
        }
        more = f.n == 64;
        first = 0;
        if (f.n > 0)
            memcpy(after, f.coins[f.n - 1].id, sizeof after);
    }
    return 0;
}

/* One reading of every shard into a (reset first).  Returns 0, or -1 with
 * the failing shard in *failed. */
static int audit_pass(struct cli_shards *cs, struct audit *a, unsigned *failed)
{
    enum offpay_ledger_result r = OFFPAY_LEDGER_OK;
    unsigned k, begun = 0;
    json_decref(a->rows);
    int json = a->json, quiet = a->quiet;
    memset(a, 0, sizeof *a);
    a->json = json;
    a->quiet = quiet;
    a->n_shards = cs->n;
    a->rows = json_array();
    for (k = 0; k < cs->n && r == OFFPAY_LEDGER_OK; k++)
        if ((r = cs->l[k]->ops->begin(cs->l[k], 0)) == OFFPAY_LEDGER_OK)
            begun = k + 1;
    for (k = 0; k < cs->n && r == OFFPAY_LEDGER_OK; k++) {
        a->shard = k;
        r = cs->l[k]->ops->audit(cs->l[k], each_row, a);
    }
    for (k = 0; k < cs->n && r == OFFPAY_LEDGER_OK && cs->n > 1; k++)
        if (count_flight(cs, k, a) != 0)
            r = OFFPAY_LEDGER_ERROR;
    if (r != OFFPAY_LEDGER_OK)
        *failed = k > 0 ? k - 1 : 0;
    for (k = 0; k < begun; k++)
        cs->l[k]->ops->rollback(cs->l[k]); /* a read: nothing to commit */
    return r == OFFPAY_LEDGER_OK ? 0 : -1;
}

int cmd_audit(const struct cli_opts *opts)
{
    struct audit a;
    struct cli_shards cs;
    int code = OFFPAY_EXIT_INTERNAL;
    char b1[48], b2[48], b3[48];
    unsigned failed = 0;

    if (opts->n_pos != 0)
        return cli_fail(OFFPAY_ERR_USAGE, "audit takes no arguments (see offpayd audit --help).");
    if (cli_shards_open(opts, 0, &cs, &code) != 0)
        return code;
    memset(&a, 0, sizeof a);
    a.json = cli_opt(opts, "json") != NULL;
    int rc = 0;
    for (int pass = 1; rc == 0; pass++) {
        a.quiet = cs.n > 1 && pass < AUDIT_PASSES;
        rc = audit_pass(&cs, &a, &failed);
        wide total = a.online + a.unspent;
        if (rc != 0 || !a.quiet || (total == a.minted && a.received == a.sent && !a.bad))
            break;
    }
    if (rc != 0) {
        code = cli_fail(OFFPAY_ERR_STORAGE, "The ledger could not be read%s: %s", cs.n > 1 ? " (a shard)" : "",
                        cs.l[failed]->ops->last_error(cs.l[failed]));
        cli_shards_close(&cs);
        json_decref(a.rows);
        return code;
    }
    cli_shards_close(&cs);

    wide total = a.online + a.unspent;
    int global_ok = total == a.minted && a.received == a.sent;
    if (!global_ok)
        a.bad = 1;
    if (a.json) {
        json_t *j = json_pack("{s:b,s:o,s:o,s:o,s:o,s:o,s:o}", "ok", !a.bad, "minted", wide_json(a.minted), "online",
                              wide_json(a.online), "unspent", wide_json(a.unspent), "received", wide_json(a.received),
                              "sent", wide_json(a.sent), "accounts", a.rows);
        if (j != NULL && a.n_shards > 1)
            json_object_set_new(j, "in_flight", json_pack("{s:I,s:o,s:I}", "payments", (json_int_t)a.in_flight,
                                                          "amount", wide_json(a.in_flight_amount),
                                                          "delivered_not_taken_off", (json_int_t)a.delivered));
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
        if (a.n_shards > 1)
            printf("Across %u shards: %zu payment(s) of %s in flight between shards (counted in the coins), %zu "
                   "delivered but not yet taken off.\n",
                   a.n_shards, a.in_flight, wide_str(b1, sizeof b1, a.in_flight_amount), a.delivered);
    }
    if (a.bad) {
        fprintf(stderr, "offpayd: The ledger does not conserve value; see the accounts named above.\n");
        return OFFPAY_EXIT_INTERNAL;
    }
    return OFFPAY_EXIT_OK;
}

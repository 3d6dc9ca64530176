/*
 * cmd_wallet.c - offpayd wallet list [--account NAME] | show ID | revoke ID
 * [--reason lost|stolen]: the operator's view of wallets, and the
 * operator's way to revoke one (docs/server.md, "Wallets and accounts").
 *
 * A wallet shows its id, account, certificate validity, state (active,
 * revoked, lost, fraud), last sync and the offline coins the ledger still
 * counts for it (unspent coins of its key: some may have been spent in
 * records not synced yet).  ID is any unique beginning of at least 8 hex
 * digits of a wallet id; an ambiguous one is a usage error naming the
 * candidates.  The lookup (offpayd_wallets_by_prefix, a range of the ids'
 * index) is the one every command and POST /v1/wallets/lost use; the
 * commands ask every shard (cli_wallet_resolve).  revoke is a loss report
 * (loss.c), in one transaction on the wallet's shard.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "offpay/amount.h"

#define ID_HEX (2 * OFFPAY_WALLET_ID_BYTES)

/* ---- wallet ids by their beginning ---- */

int offpayd_id_prefix_parse(struct offpayd_id_matches *m, const char *text)
{
    size_t n = strlen(text);
    memset(m, 0, sizeof *m);
    if (n < OFFPAYD_ID_PREFIX_MIN || n > ID_HEX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -1;
        m->prefix[i] = c;
    }
    return 0;
}

static int keep_match(void *ctx, const struct offpay_ledger_wallet *w)
{
    struct offpayd_id_matches *m = ctx;
    if (m->account_id != 0 && w->account_id != m->account_id)
        return 0;
    if (m->n < OFFPAYD_ID_CANDIDATES_MAX)
        memcpy(m->ids[m->n], w->id, OFFPAY_WALLET_ID_BYTES);
    m->n++;
    return 0;
}

enum offpay_ledger_result offpayd_wallets_by_prefix(struct offpay_ledger *l, struct offpayd_id_matches *m)
{
    uint8_t lo[OFFPAY_WALLET_ID_BYTES], hi[OFFPAY_WALLET_ID_BYTES];
    /* The prefix's digits, then 0s (lo) or fs (hi): every id that begins with it lies between. */
    memset(lo, 0, sizeof lo);
    memset(hi, 0xff, sizeof hi);
    for (size_t i = 0; m->prefix[i] != '\0'; i++) {
        char c = m->prefix[i];
        uint8_t v = (uint8_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        if (i % 2 == 0) {
            lo[i / 2] = (uint8_t)(v << 4);
            hi[i / 2] = (uint8_t)(v << 4 | 0x0f);
        } else {
            lo[i / 2] |= v;
            hi[i / 2] = (uint8_t)((hi[i / 2] & 0xf0) | v);
        }
    }
    return l->ops->wallet_range(l, lo, hi, keep_match, m);
}

void offpayd_id_candidates(char *out, size_t cap, const struct offpayd_id_matches *m)
{
    size_t shown = m->n < OFFPAYD_ID_CANDIDATES_MAX ? m->n : OFFPAYD_ID_CANDIDATES_MAX, at = 0;
    char hex[ID_HEX + 1];
    if (cap == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < shown && at < cap; i++) {
        offpay_hex(hex, m->ids[i], OFFPAY_WALLET_ID_BYTES);
        at += (size_t)snprintf(out + at, cap - at, "%s%s", i ? ", " : "", hex);
    }
    if (shown < m->n && at < cap)
        snprintf(out + at, cap - at, ", ...");
}

int cli_wallet_resolve(const struct cli_shards *cs, const char *text, uint8_t id[OFFPAY_WALLET_ID_BYTES])
{
    struct offpayd_id_matches m;
    if (offpayd_id_prefix_parse(&m, text) != 0)
        return cli_fail(OFFPAY_ERR_USAGE, "A wallet id is %d to %d hex digits (any unique beginning of it).",
                        OFFPAYD_ID_PREFIX_MIN, ID_HEX);
    /* Every shard: an id names its bucket's shard, but a lookup that asks
     * them all finds the wallet wherever the map put it. */
    for (unsigned k = 0; k < cs->n; k++) {
        struct offpay_ledger *l = cs->l[k];
        enum offpay_ledger_result r = l->ops->begin(l, 0);
        if (r == OFFPAY_LEDGER_OK)
            r = offpayd_wallets_by_prefix(l, &m);
        l->ops->rollback(l);
        if (r != OFFPAY_LEDGER_OK)
            return cli_fail(OFFPAY_ERR_STORAGE, "The ledger could not be read: %s", l->ops->last_error(l));
    }
    if (m.n == 0)
        return cli_fail(OFFPAY_ERR_USAGE, "No wallet has an id beginning with %s.", m.prefix);
    if (m.n > 1) {
        char list[OFFPAYD_ID_CANDIDATES_MAX * (ID_HEX + 2) + 8];
        offpayd_id_candidates(list, sizeof list, &m);
        return cli_fail(OFFPAY_ERR_USAGE, "%s is the beginning of %zu wallet ids (%s): give more of its digits.",
                        m.prefix, m.n, list);
    }
    memcpy(id, m.ids[0], OFFPAY_WALLET_ID_BYTES);
    return 0;
}

/* ---- one wallet as JSON ---- */

json_t *offpayd_wallet_json(struct offpay_ledger *l, const struct offpay_ledger_wallet *w, uint64_t now,
                            enum offpay_ledger_result *r)
{
    char hex[ID_HEX + 1];
    struct offpay_ledger_account acc;
    struct offpay_cert cert;
    const uint8_t *enc;
    size_t enc_len;
    uint64_t held;
    int have_cert;

    if ((*r = l->ops->account_get_by_id(l, w->account_id, &acc)) != OFFPAY_LEDGER_OK ||
        (*r = offpayd_holding(l, w->public_key, &held)) != OFFPAY_LEDGER_OK ||
        (*r = l->ops->wallet_certificate(l, w->id, &enc, &enc_len)) != OFFPAY_LEDGER_OK)
        return NULL;
    have_cert = offpay_cert_decode(&cert, enc, enc_len) == OFFPAY_OK;
    offpay_hex(hex, w->id, OFFPAY_WALLET_ID_BYTES);
    json_t *j = json_pack("{s:s,s:s,s:s,s:s?,s:I,s:o,s:o,s:I}", "id", hex, "account", acc.name, "state",
                          offpayd_wallet_state(w), "reason", offpayd_loss_name(w->loss), "enrolled_at",
                          (json_int_t)w->created, "last_sync",
                          w->last_sync ? json_integer((json_int_t)w->last_sync) : json_null(), "certificate",
                          have_cert ? json_pack("{s:I,s:I,s:b}", "not_before", (json_int_t)cert.not_before,
                                                "not_after", (json_int_t)cert.not_after, "valid",
                                                now >= cert.not_before && now <= cert.not_after)
                                    : json_null(),
                          "outstanding", (json_int_t)(held > (uint64_t)INT64_MAX ? INT64_MAX : held));
    if (j == NULL) {
        *r = OFFPAY_LEDGER_ERROR;
        return NULL;
    }
    if (w->loss != OFFPAY_LEDGER_IN_USE) {
        json_object_set_new(j, "reported_at", json_integer((json_int_t)w->lost_at));
        json_object_set_new(j, "writeoff_at", json_integer((json_int_t)w->writeoff_at));
        json_object_set_new(j, "written_off_at",
                            w->written_off_at ? json_integer((json_int_t)w->written_off_at) : json_null());
        json_object_set_new(j, "written_off", json_integer((json_int_t)w->written_off));
    }
    return j;
}

void offpayd_wallet_print(const json_t *j, const char *indent, const struct offpay_money *m)
{
    char money[OFFPAY_MONEY_TEXT_MAX];
    const json_t *cert = json_object_get(j, "certificate");
    const char *state = json_string_value(json_object_get(j, "state"));
    const char *reason = json_string_value(json_object_get(j, "reason"));
    printf("%swallet %s (account %s): %s", indent, json_string_value(json_object_get(j, "id")),
           json_string_value(json_object_get(j, "account")), state);
    if (reason != NULL && strcmp(reason, state) != 0)
        printf(" (%s)", reason);
    printf(", %s in offline coins",
           offpay_amount_format(money, sizeof money, (uint64_t)json_integer_value(json_object_get(j, "outstanding")), m));
    if (json_is_integer(json_object_get(j, "last_sync")))
        printf(", last sync %lld", (long long)json_integer_value(json_object_get(j, "last_sync")));
    else
        printf(", never synced");
    if (json_is_object(cert))
        printf(", certificate %s until %lld", json_is_true(json_object_get(cert, "valid")) ? "valid" : "NOT valid",
               (long long)json_integer_value(json_object_get(cert, "not_after")));
    if (reason != NULL) {
        printf("; reported %lld", (long long)json_integer_value(json_object_get(j, "reported_at")));
        if (json_is_integer(json_object_get(j, "written_off_at")))
            printf(", %s returned to the account at %lld",
                   offpay_amount_format(money, sizeof money,
                                        (uint64_t)json_integer_value(json_object_get(j, "written_off")), m),
                   (long long)json_integer_value(json_object_get(j, "written_off_at")));
        else
            printf(", its coins return to the account at %lld",
                   (long long)json_integer_value(json_object_get(j, "writeoff_at")));
    }
    printf(".\n");
}

/* ---- reading ---- */

struct wallet_rows {
    struct offpay_ledger_wallet *w;
    size_t n, cap;
    int oom;
};

static int keep_row(void *ctx, const struct offpay_ledger_wallet *w)
{
    struct wallet_rows *rows = ctx;
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? 2 * rows->cap : 64;
        struct offpay_ledger_wallet *grown = realloc(rows->w, cap * sizeof *grown);
        if (grown == NULL) {
            rows->oom = 1;
            return 1;
        }
        rows->w = grown;
        rows->cap = cap;
    }
    rows->w[rows->n++] = *w;
    return 0;
}

enum offpay_ledger_result offpayd_read_wallets(struct offpay_ledger *l, int64_t account_id, uint64_t now, json_t *arr)
{
    struct wallet_rows rows = {NULL, 0, 0, 0};
    enum offpay_ledger_result r = l->ops->wallet_list(l, account_id, 0, keep_row, &rows);
    /* The rows are copied: the other reads may now use the connection. */
    for (size_t i = 0; r == OFFPAY_LEDGER_OK && !rows.oom && i < rows.n; i++) {
        json_t *j = offpayd_wallet_json(l, &rows.w[i], now, &r);
        if (j != NULL && json_array_append_new(arr, j) != 0)
            rows.oom = 1;
    }
    free(rows.w);
    if (rows.oom && r == OFFPAY_LEDGER_OK) {
        r = OFFPAY_LEDGER_ERROR; /* l's last error is not about this: the caller says out of memory */
        json_array_clear(arr);
    }
    return r;
}

/* offpayd_read_wallets in a read transaction of its own.  Returns 0, or -1
 * (printed; *code set). */
static int read_wallets(struct offpay_ledger *l, int64_t account_id, uint64_t now, json_t *arr, int *code)
{
    enum offpay_ledger_result r = l->ops->begin(l, 0);
    if (r == OFFPAY_LEDGER_OK)
        r = offpayd_read_wallets(l, account_id, now, arr);
    l->ops->rollback(l);
    if (r != OFFPAY_LEDGER_OK) {
        *code = cli_fail(OFFPAY_ERR_STORAGE, "The ledger could not be read: %s", l->ops->last_error(l));
        return -1;
    }
    return 0;
}

int offpayd_print_json(json_t *j)
{
    char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (t == NULL)
        return cli_fail(OFFPAY_ERR_NOMEM, "Out of memory.");
    printf("%s\n", t);
    free(t);
    return OFFPAY_EXIT_OK;
}

/* Wallet id's row as JSON (into *out), read on its shard.  Returns 0, or an exit code (printed). */
static int wallet_read(const struct cli_shards *cs, const uint8_t id[OFFPAY_WALLET_ID_BYTES], uint64_t now, json_t **out)
{
    struct offpay_ledger *l = cli_shards_of_wallet(cs, id);
    struct offpay_ledger_wallet w;
    enum offpay_ledger_result r = l->ops->begin(l, 0);
    *out = NULL;
    if (r == OFFPAY_LEDGER_OK && (r = l->ops->wallet_get(l, id, &w)) == OFFPAY_LEDGER_OK)
        *out = offpayd_wallet_json(l, &w, now, &r);
    l->ops->rollback(l);
    if (r == OFFPAY_LEDGER_NOT_FOUND)
        return cli_fail(OFFPAY_ERR_STORAGE, "The wallet's row is not on the shard its id names.");
    if (r != OFFPAY_LEDGER_OK)
        return cli_fail(OFFPAY_ERR_STORAGE, "The ledger could not be read: %s", l->ops->last_error(l));
    return 0;
}

/* The one wallet whose id begins with prefix, as JSON (into *out).
 * Returns 0, or an exit code (printed): no such wallet, ambiguous. */
static int find_wallet(const struct cli_shards *cs, const char *prefix, uint64_t now, json_t **out)
{
    uint8_t id[OFFPAY_WALLET_ID_BYTES];
    int code = cli_wallet_resolve(cs, prefix, id);
    *out = NULL;
    return code != 0 ? code : wallet_read(cs, id, now, out);
}

/* ---- the verbs ---- */

static int wallet_list_cmd(const struct cli_opts *opts, const struct cli_shards *cs, uint64_t now,
                           const struct offpay_money *money)
{
    const char *name = cli_opt(opts, "account");
    json_t *arr = json_array();
    int code = OFFPAY_EXIT_INTERNAL;
    size_t i;
    json_t *j;

    if (arr == NULL)
        return cli_fail(OFFPAY_ERR_NOMEM, "Out of memory.");
    if (name != NULL) {
        struct offpay_ledger *l = cli_shards_of_name(cs, name);
        struct offpay_ledger_account acc;
        enum offpay_ledger_result r = l->ops->begin(l, 0);
        if (r == OFFPAY_LEDGER_OK)
            r = l->ops->account_get(l, name, &acc);
        l->ops->rollback(l);
        if (r == OFFPAY_LEDGER_NOT_FOUND) {
            json_decref(arr);
            return cli_fail(OFFPAY_ERR_USAGE, "There is no account named \"%s\".", name);
        }
        if (r != OFFPAY_LEDGER_OK || read_wallets(l, acc.id, now, arr, &code) != 0) {
            if (r != OFFPAY_LEDGER_OK)
                code = cli_fail(OFFPAY_ERR_STORAGE, "The ledger could not be read: %s", l->ops->last_error(l));
            json_decref(arr);
            return code;
        }
    } else {
        /* Every shard, in turn: each lists its own wallets by id. */
        for (unsigned k = 0; k < cs->n; k++)
            if (read_wallets(cs->l[k], 0, now, arr, &code) != 0) {
                json_decref(arr);
                return code;
            }
    }
    if (cli_opt(opts, "json") != NULL)
        return offpayd_print_json(json_pack("{s:o}", "wallets", arr));
    if (json_array_size(arr) == 0)
        printf("No wallets%s%s.\n", name ? " in account " : "", name ? name : "");
    json_array_foreach(arr, i, j)
        offpayd_wallet_print(j, "", money);
    json_decref(arr);
    return OFFPAY_EXIT_OK;
}

struct revoke_ctx {
    uint8_t id[OFFPAY_WALLET_ID_BYTES];
    int loss;
    uint64_t now;
    struct offpay_ledger_wallet w;
    int fresh;
};

static enum tx_step revoke_tx(struct offpay_ledger *l, void *ctx)
{
    struct revoke_ctx *c = ctx;
    TRY(offpayd_report_lost(l, c->id, c->loss, c->now, &c->w, &c->fresh));
    return STEP_COMMIT;
}

static int wallet_revoke_cmd(const struct cli_opts *opts, const struct cli_shards *cs, const json_t *found,
                             uint64_t now, const struct offpay_money *money)
{
    const char *reason = cli_opt(opts, "reason");
    struct revoke_ctx c;
    int code = OFFPAY_EXIT_INTERNAL;
    memset(&c, 0, sizeof c);
    c.now = now;
    c.loss = reason == NULL ? OFFPAY_LEDGER_WITHDRAWN : offpayd_loss_parse(reason, 1);
    if (c.loss < 0)
        return cli_fail(OFFPAY_ERR_USAGE, "--reason must be lost or stolen.");
    if (offpayd_hex_exact(c.id, sizeof c.id, json_string_value(json_object_get(found, "id"))) != 0)
        return cli_fail(OFFPAY_ERR_INTERNAL, "The ledger holds a malformed wallet id.");
    struct offpay_ledger *l = cli_shards_of_wallet(cs, c.id);
    if (cli_tx(l, revoke_tx, &c) != 0)
        return OFFPAY_EXIT_INTERNAL;
    json_t *j;
    char hex[ID_HEX + 1];
    offpay_hex(hex, c.id, sizeof c.id);
    if ((code = wallet_read(cs, c.id, now, &j)) != 0)
        return code;
    json_object_set_new(j, "new", json_boolean(c.fresh));
    if (cli_opt(opts, "json") != NULL)
        return offpayd_print_json(j);
    if (!c.fresh)
        printf("Wallet %s was revoked before (%s); that report stands.\n", hex, offpayd_loss_name(c.w.loss));
    else
        printf("Wallet %s is revoked (%s): on the revocation list from now on; its records still settle until %llu, "
               "then its unspent coins go back to account %s.\n",
               hex, offpayd_loss_name(c.w.loss), (unsigned long long)c.w.writeoff_at,
               json_string_value(json_object_get(j, "account")));
    offpayd_wallet_print(j, "  ", money);
    json_decref(j);
    return OFFPAY_EXIT_OK;
}

int cmd_wallet(const struct cli_opts *opts)
{
    const char *verb = cli_pos(opts, 0);
    struct cli_shards cs;
    int code = OFFPAY_EXIT_INTERNAL;
    uint64_t now = offpayd_now();

    if (verb == NULL || (strcmp(verb, "list") != 0 && strcmp(verb, "show") != 0 && strcmp(verb, "revoke") != 0))
        return cli_fail(OFFPAY_ERR_USAGE, "wallet needs list, show ID or revoke ID (see offpayd wallet --help).");
    int list = strcmp(verb, "list") == 0, revoke = strcmp(verb, "revoke") == 0;
    if (opts->n_pos != (list ? 1u : 2u))
        return cli_fail(OFFPAY_ERR_USAGE, "usage: offpayd wallet --ledger URL %s.",
                        list ? "list [--account NAME]" : revoke ? "revoke ID [--reason lost|stolen]" : "show ID");
    if (cli_opt(opts, "account") != NULL && (!list || !offpay_account_name_valid(cli_opt(opts, "account"))))
        return cli_fail(OFFPAY_ERR_USAGE, !list ? "--account goes with wallet list." : "%s",
                        offpay_status_str(OFFPAY_ERR_BAD_ACCOUNT_NAME));
    if (cli_opt(opts, "reason") != NULL && !revoke)
        return cli_fail(OFFPAY_ERR_USAGE, "--reason goes with wallet revoke.");
    if (cli_shards_open(opts, 0, &cs, &code) != 0)
        return code;
    struct offpay_money money;
    cli_shards_money(&cs, &money);
    if (list) {
        code = wallet_list_cmd(opts, &cs, now, &money);
    } else {
        json_t *found = NULL;
        code = find_wallet(&cs, cli_pos(opts, 1), now, &found);
        if (code == 0 && revoke)
            code = wallet_revoke_cmd(opts, &cs, found, now, &money);
        else if (code == 0 && cli_opt(opts, "json") != NULL)
            code = offpayd_print_json(json_incref(found));
        else if (code == 0)
            offpayd_wallet_print(found, "", &money);
        json_decref(found);
    }
    cli_shards_close(&cs);
    return code;
}

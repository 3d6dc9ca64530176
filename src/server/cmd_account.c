/*
 * cmd_account.c - offpayd account open NAME | mint NAME AMOUNT | list |
 * show NAME.
 *
 * list and show are the operator's view (docs/server.md, "Wallets and
 * accounts"): each account's online balance, the offline coins the ledger
 * counts for it, what was minted into it, received and sent; show adds its
 * wallets (as offpayd wallet shows them), the double spends caught and its
 * state.  list gathers every shard and sorts by name.
 * open creates the account if it is new and prints a one-time enrolment
 * token; opening an existing account prints a token for one more wallet of
 * it.  Only the token's hash is stored.  mint adds to the online balance and
 * to the account's minted total (which audit checks against).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "offpay/amount.h"

#define TOKEN_BYTES 20

struct open_ctx {
    const char *name;
    uint8_t hash[OFFPAY_HASH_BYTES];
    int existed;
    uint64_t now;
};

static enum tx_step open_tx(struct offpay_ledger *l, void *ctx)
{
    struct open_ctx *o = ctx;
    struct offpay_ledger_account acc;
    int64_t id;
    enum offpay_ledger_result r = l->ops->account_get(l, o->name, &acc);
    o->existed = r == OFFPAY_LEDGER_OK;
    if (r == OFFPAY_LEDGER_NOT_FOUND)
        r = l->ops->account_create(l, o->name, o->now, &id);
    else
        id = acc.id;
    TRY(r);
    TRY(l->ops->token_insert(l, o->hash, id, o->now));
    return STEP_COMMIT;
}

struct mint_ctx {
    const char *name;
    uint64_t amount;
    struct offpay_ledger_account acc;
};

static enum tx_step mint_tx(struct offpay_ledger *l, void *ctx)
{
    struct mint_ctx *m = ctx;
    enum offpay_ledger_result r = l->ops->account_get(l, m->name, &m->acc);
    if (r == OFFPAY_LEDGER_NOT_FOUND) {
        cli_fail(OFFPAY_ERR_USAGE, "There is no account named \"%s\" (create it with offpayd account open).", m->name);
        return STEP_ABORT;
    }
    TRY(r);
    if (m->acc.online > (uint64_t)INT64_MAX - m->amount || m->acc.minted > (uint64_t)INT64_MAX - m->amount) {
        cli_fail(OFFPAY_ERR_USAGE, "Minting %llu would overflow the account's balance.", (unsigned long long)m->amount);
        return STEP_ABORT;
    }
    m->acc.online += m->amount;
    m->acc.minted += m->amount;
    TRY(l->ops->account_update(l, &m->acc));
    return STEP_COMMIT;
}

/* ---- list, show ---- */

struct account_rows {
    struct offpay_ledger_audit_row *row;
    size_t n, cap;
    int oom;
};

static int keep_account(void *ctx, const struct offpay_ledger_audit_row *row)
{
    struct account_rows *a = ctx;
    /* The in-flight accounts and coins without an account are audit's
     * business (cmd_audit.c), not accounts anyone holds. */
    if (row->account.id < 0 || strcmp(row->account.name, TRANSIT_NAME) == 0)
        return 0;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        struct offpay_ledger_audit_row *grown = realloc(a->row, cap * sizeof *grown);
        if (grown == NULL) {
            a->oom = 1;
            return 1;
        }
        a->row = grown;
        a->cap = cap;
    }
    a->row[a->n++] = *row;
    return 0;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(((const struct offpay_ledger_audit_row *)x)->account.name,
                  ((const struct offpay_ledger_audit_row *)y)->account.name);
}

static json_t *account_json(const struct offpay_ledger_account *acc, uint64_t offline)
{
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "name", acc->name, "online", (json_int_t)acc->online, "offline",
                     (json_int_t)(offline > (uint64_t)INT64_MAX ? INT64_MAX : offline), "minted",
                     (json_int_t)acc->minted, "received", (json_int_t)acc->received, "sent", (json_int_t)acc->sent);
}

static int account_list(const struct cli_opts *opts, const struct cli_shards *cs)
{
    struct account_rows a = {NULL, 0, 0, 0};
    json_t *arr = json_array();
    for (unsigned k = 0; k < cs->n && arr != NULL; k++) {
        struct offpay_ledger *l = cs->l[k];
        enum offpay_ledger_result r = l->ops->begin(l, 0);
        if (r == OFFPAY_LEDGER_OK)
            r = l->ops->audit(l, keep_account, &a);
        l->ops->rollback(l);
        if (r != OFFPAY_LEDGER_OK && !a.oom) {
            free(a.row);
            json_decref(arr);
            return cli_fail(OFFPAY_ERR_STORAGE, "The ledger could not be read: %s", l->ops->last_error(l));
        }
    }
    if (arr == NULL || a.oom) {
        free(a.row);
        json_decref(arr);
        return cli_fail(OFFPAY_ERR_NOMEM, "Out of memory.");
    }
    if (a.n > 1)
        qsort(a.row, a.n, sizeof *a.row, by_name);
    for (size_t i = 0; i < a.n; i++)
        json_array_append_new(arr, account_json(&a.row[i].account, a.row[i].unspent));
    if (cli_opt(opts, "json") == NULL) {
        struct offpay_money m;
        char v[5][OFFPAY_MONEY_TEXT_MAX];
        cli_shards_money(cs, &m);
        if (a.n == 0)
            printf("No accounts.\n");
        for (size_t i = 0; i < a.n; i++)
            printf("%-32s online %s, offline %s, received %s, sent %s, minted %s\n", a.row[i].account.name,
                   offpay_amount_format(v[0], sizeof v[0], a.row[i].account.online, &m),
                   offpay_amount_format(v[1], sizeof v[1], a.row[i].unspent, &m),
                   offpay_amount_format(v[2], sizeof v[2], a.row[i].account.received, &m),
                   offpay_amount_format(v[3], sizeof v[3], a.row[i].account.sent, &m),
                   offpay_amount_format(v[4], sizeof v[4], a.row[i].account.minted, &m));
        free(a.row);
        json_decref(arr);
        return OFFPAY_EXIT_OK;
    }
    free(a.row);
    return offpayd_print_json(json_pack("{s:o}", "accounts", arr));
}

struct fraud_count {
    int64_t account_id;
    size_t n;
};

static int count_fraud(void *ctx, const struct offpay_ledger_fraud *f)
{
    struct fraud_count *c = ctx;
    c->n += f->account_id == c->account_id;
    return 0;
}

/* Account name as JSON (*out), read in one transaction of l. */
static enum offpay_ledger_result account_read(struct offpay_ledger *l, const char *name, json_t **out)
{
    struct offpay_ledger_account acc;
    struct fraud_count fc = {0, 0};
    json_t *wallets = json_array(), *w;
    uint64_t offline = 0;
    const char *state = "active";
    size_t i;
    enum offpay_ledger_result r = wallets ? l->ops->account_get(l, name, &acc) : OFFPAY_LEDGER_ERROR;
    *out = NULL;
    if (r == OFFPAY_LEDGER_OK)
        r = offpayd_read_wallets(l, acc.id, offpayd_now(), wallets);
    fc.account_id = acc.id;
    if (r == OFFPAY_LEDGER_OK)
        r = l->ops->fraud_list(l, count_fraud, &fc);
    if (r != OFFPAY_LEDGER_OK) {
        json_decref(wallets);
        return r;
    }
    json_array_foreach(wallets, i, w) {
        offline += (uint64_t)json_integer_value(json_object_get(w, "outstanding"));
        if (strcmp(json_string_value(json_object_get(w, "state")), "fraud") == 0)
            state = "fraud";
    }
    *out = account_json(&acc, offline);
    if (*out == NULL) {
        json_decref(wallets);
        return OFFPAY_LEDGER_ERROR;
    }
    json_object_set_new(*out, "state", json_string(state));
    json_object_set_new(*out, "frauds", json_integer((json_int_t)fc.n));
    json_object_set_new(*out, "wallets", wallets);
    return OFFPAY_LEDGER_OK;
}

static int account_show(const struct cli_opts *opts, const struct cli_shards *cs, const char *name)
{
    struct offpay_ledger *l = cli_shards_of_name(cs, name);
    json_t *j = NULL, *w;
    size_t i;
    enum offpay_ledger_result r = l->ops->begin(l, 0);
    if (r == OFFPAY_LEDGER_OK)
        r = account_read(l, name, &j);
    l->ops->rollback(l);
    if (r == OFFPAY_LEDGER_NOT_FOUND)
        return cli_fail(OFFPAY_ERR_USAGE, "There is no account named \"%s\".", name);
    if (r != OFFPAY_LEDGER_OK)
        return cli_fail(OFFPAY_ERR_STORAGE, "The ledger could not be read: %s", l->ops->last_error(l));
    if (cli_opt(opts, "json") != NULL)
        return offpayd_print_json(j);
    struct offpay_money m;
    char v[5][OFFPAY_MONEY_TEXT_MAX];
    static const char *const keys[5] = {"online", "offline", "received", "sent", "minted"};
    cli_shards_money(cs, &m);
    for (int k = 0; k < 5; k++)
        offpay_amount_format(v[k], sizeof v[k], (uint64_t)json_integer_value(json_object_get(j, keys[k])), &m);
    printf("account %s: online %s, offline %s, received %s, sent %s, minted %s; %s, %lld double spend%s "
           "caught, %zu wallet%s.\n",
           name, v[0], v[1], v[2], v[3], v[4],
           json_string_value(json_object_get(j, "state")), (long long)json_integer_value(json_object_get(j, "frauds")),
           json_integer_value(json_object_get(j, "frauds")) == 1 ? "" : "s",
           json_array_size(json_object_get(j, "wallets")), json_array_size(json_object_get(j, "wallets")) == 1 ? "" : "s");
    json_array_foreach(json_object_get(j, "wallets"), i, w)
        offpayd_wallet_print(w, "  ", &m);
    json_decref(j);
    return OFFPAY_EXIT_OK;
}

int cmd_account(const struct cli_opts *opts)
{
    const char *verb = cli_pos(opts, 0), *name = cli_pos(opts, 1);
    struct cli_shards cs;
    int code = OFFPAY_EXIT_INTERNAL, json = cli_opt(opts, "json") != NULL;

    if (verb != NULL && (strcmp(verb, "list") == 0 || strcmp(verb, "show") == 0)) {
        int list = strcmp(verb, "list") == 0;
        if (opts->n_pos != (list ? 1u : 2u))
            return cli_fail(OFFPAY_ERR_USAGE, "usage: offpayd account --ledger URL %s [--json].",
                            list ? "list" : "show NAME");
        if (!list && !offpay_account_name_valid(name))
            return cli_fail(OFFPAY_ERR_USAGE, "%s", offpay_status_str(OFFPAY_ERR_BAD_ACCOUNT_NAME));
        if (cli_shards_open(opts, 0, &cs, &code) != 0)
            return code;
        code = list ? account_list(opts, &cs) : account_show(opts, &cs, name);
        cli_shards_close(&cs);
        return code;
    }
    if (verb == NULL || (strcmp(verb, "open") != 0 && strcmp(verb, "mint") != 0))
        return cli_fail(OFFPAY_ERR_USAGE,
                        "account needs open NAME, mint NAME AMOUNT, list or show NAME (see offpayd account --help).");
    int want = strcmp(verb, "open") == 0 ? 2 : 3;
    if (opts->n_pos != (size_t)want)
        return cli_fail(OFFPAY_ERR_USAGE, "usage: offpayd account --ledger URL %s.",
                        want == 2 ? "open NAME" : "mint NAME AMOUNT");
    if (!offpay_account_name_valid(name))
        return cli_fail(OFFPAY_ERR_USAGE, "%s", offpay_status_str(OFFPAY_ERR_BAD_ACCOUNT_NAME));
    if (offpay_crypto_init() != 0)
        return cli_fail(OFFPAY_ERR_CRYPTO_INIT, "The crypto library could not be initialised.");

    if (want == 2) {
        struct open_ctx o;
        uint8_t raw[TOKEN_BYTES];
        char token[2 * TOKEN_BYTES + 1];
        memset(&o, 0, sizeof o);
        o.name = name;
        o.now = (uint64_t)time(NULL);
        offpay_random(raw, sizeof raw);
        /* Its first two bytes name the account's bucket: enrolment finds the
         * account's shard by them (ep_enrol.c). */
        offpay_shards_id_set_bucket(raw, offpay_shards_bucket_of_name(name));
        offpay_hex(token, raw, sizeof raw);
        offpay_hash(o.hash, (const uint8_t *)token, strlen(token));
        if (cli_shards_open(opts, 0, &cs, &code) != 0)
            return code;
        int r = cli_tx(cli_shards_of_name(&cs, name), open_tx, &o);
        cli_shards_close(&cs);
        if (r != 0)
            return OFFPAY_EXIT_INTERNAL;
        if (o.existed)
            fprintf(stderr, "offpayd: account \"%s\" exists; this token enrols one more wallet of it.\n", name);
        if (json)
            printf("{\"account\":\"%s\",\"token\":\"%s\",\"new\":%s}\n", name, token, o.existed ? "false" : "true");
        else
            printf("%s\n", token);
        offpay_wipe(token, sizeof token);
        offpay_wipe(raw, sizeof raw);
        return OFFPAY_EXIT_OK;
    }

    struct mint_ctx m;
    memset(&m, 0, sizeof m);
    m.name = name;
    if (offpay_amount_parse(&m.amount, cli_pos(opts, 2)) != 0 || m.amount == 0)
        return cli_fail(OFFPAY_ERR_USAGE, "AMOUNT must be a whole number of minor units above zero and below 2^63.");
    if (cli_shards_open(opts, 0, &cs, &code) != 0)
        return code;
    int r = cli_tx(cli_shards_of_name(&cs, name), mint_tx, &m);
    struct offpay_money money;
    char err[256], amount[OFFPAY_MONEY_TEXT_MAX], online[OFFPAY_MONEY_TEXT_MAX];
    if (offpayd_money_read(cs.l[0], &money, err, sizeof err) != 0)
        offpay_money_default(&money); /* only what is printed: the mint is done */
    cli_shards_close(&cs);
    if (r == -1)
        return OFFPAY_EXIT_USAGE;
    if (r != 0)
        return OFFPAY_EXIT_INTERNAL;
    if (json)
        printf("{\"account\":\"%s\",\"minted\":%llu,\"online\":%llu}\n", name, (unsigned long long)m.amount,
               (unsigned long long)m.acc.online);
    else
        printf("Minted %s to %s; online balance %s.\n", offpay_amount_format(amount, sizeof amount, m.amount, &money),
               name, offpay_amount_format(online, sizeof online, m.acc.online, &money));
    return OFFPAY_EXIT_OK;
}

/*
 * cmd_account.c - offpayd account open NAME | mint NAME AMOUNT.
 *
 * open creates the account if it is new and prints a one-time enrolment
 * token; opening an existing account prints a token for one more wallet of
 * it.  Only the token's hash is stored.  mint adds to the online balance and
 * to the account's minted total (which audit checks against).
 */
#include <stdio.h>
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

int cmd_account(const struct cli_opts *opts)
{
    const char *verb = cli_pos(opts, 0), *name = cli_pos(opts, 1);
    struct cli_shards cs;
    int code = OFFPAY_EXIT_INTERNAL, json = cli_opt(opts, "json") != NULL;

    if (verb == NULL || (strcmp(verb, "open") != 0 && strcmp(verb, "mint") != 0))
        return cli_fail(OFFPAY_ERR_USAGE, "account needs open NAME or mint NAME AMOUNT (see offpayd account --help).");
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

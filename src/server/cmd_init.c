/*
 * cmd_init.c - offpayd init: a fresh ledger, its issuer key (in a new file,
 * or generated in a PKCS#11 token: issuer_p11.c), and the default limits.  If any step fails, what was created is removed again, so a
 * failed init leaves nothing behind (in PostgreSQL, tables already created
 * stay: the database belongs to its operator, and init refuses it from then on).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

struct init {
    uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES];
    struct offpay_money money;
    uint64_t now;
    int in_token; /* the key was generated in a PKCS#11 token */
};

static enum tx_step init_tx(struct offpay_ledger *l, void *ctx)
{
    static const uint8_t zero[OFFPAY_WALLET_ID_BYTES];
    struct init *in = ctx;
    struct offpay_limits lim;
    uint8_t created[8];
    for (int i = 0; i < 8; i++)
        created[i] = (uint8_t)(in->now >> (56 - 8 * i));
    TRY(l->ops->meta_set(l, META_ISSUER_PK, in->pk, sizeof in->pk));
    if (in->in_token)
        TRY(l->ops->meta_set(l, META_ISSUER_STORE, (const uint8_t *)META_ISSUER_STORE_PKCS11,
                             strlen(META_ISSUER_STORE_PKCS11)));
    TRY(l->ops->meta_set(l, "created", created, sizeof created));
    uint8_t money[OFFPAY_CURRENCY_CODE_BYTES + 1];
    memcpy(money, in->money.code, OFFPAY_CURRENCY_CODE_BYTES);
    money[OFFPAY_CURRENCY_CODE_BYTES] = in->money.exponent;
    TRY(l->ops->meta_set(l, META_MONEY, money, sizeof money));
    offpayd_limits_builtin(&lim);
    TRY(l->ops->limits_set(l, zero, &lim, in->now));
    return STEP_COMMIT;
}

static void remove_ledger(const char *path)
{
    char side[4200];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

/* The issuer key: generated in the token when in->in_token, else in a new
 * key file at keypath.  Out: in->pk.  Returns the exit code (printed). */
static int create_key(struct init *in, const struct issuer_token *tok, const char *keypath)
{
    char err[512];
    if (in->in_token) {
        enum offpay_status s = issuer_token_create(tok, in->pk, err, sizeof err);
        return s == OFFPAY_OK ? OFFPAY_EXIT_OK : cli_fail(s, "%s", err);
    }
    if (issuer_key_create(keypath, in->pk, err, sizeof err) != 0)
        return cli_fail(OFFPAY_ERR_INTERNAL, "%s", err);
    return OFFPAY_EXIT_OK;
}

int cmd_init(const struct cli_opts *opts)
{
    struct init in;
    struct issuer_token tok;
    struct cli_shards cs;
    char err[512], path[PATH_MAX], keypath[PATH_MAX], hex[2 * OFFPAY_PUBLIC_KEY_BYTES + 1];
    const char *url = cli_opt(opts, "ledger");
    int code = OFFPAY_EXIT_INTERNAL, local, in_token;

    if (opts->n_pos != 0)
        return cli_fail(OFFPAY_ERR_USAGE, "init takes no arguments (see offpayd init --help).");
    if (url == NULL)
        return cli_fail(OFFPAY_ERR_USAGE, "--ledger URL is required (e.g. --ledger sqlite:/var/lib/offpay/ledger.db).");
    struct offpay_money money;
    offpay_money_default(&money);
    const char *currency = cli_opt(opts, "currency"), *exponent = cli_opt(opts, "exponent");
    uint64_t e;
    if (currency != NULL && !offpay_currency_code_valid(currency))
        return cli_fail(OFFPAY_ERR_USAGE, "--currency takes a code of three capital letters (e.g. CNY, EUR), not \"%s\".",
                        currency);
    if (currency != NULL)
        memcpy(money.code, currency, OFFPAY_CURRENCY_CODE_BYTES);
    if (exponent != NULL && (offpay_amount_parse(&e, exponent) != 0 || e > OFFPAY_MONEY_EXPONENT_MAX))
        return cli_fail(OFFPAY_ERR_USAGE, "--exponent takes 0 to %d (the minor unit's digits: 2 for cents), not \"%s\".",
                        OFFPAY_MONEY_EXPONENT_MAX, exponent);
    if (exponent != NULL)
        money.exponent = (uint8_t)e;
    if ((in_token = issuer_token_options(opts, &tok, err, sizeof err)) < 0)
        return cli_fail(OFFPAY_ERR_USAGE, "%s", err);
    if (!in_token) {
        if (issuer_key_path(keypath, sizeof keypath, url, cli_opt(opts, "issuer-key"), err, sizeof err) != 0)
            return cli_fail(OFFPAY_ERR_USAGE, "%s", err);
        if (access(keypath, F_OK) == 0)
            return cli_fail(OFFPAY_ERR_USAGE, "An issuer key file already exists at %s; refusing to replace it.",
                            keypath);
    } else {
        snprintf(keypath, sizeof keypath, "the PKCS#11 token \"%s\"", tok.token);
    }
    local = offpay_ledger_local_path(path, sizeof path, url) == 0;
    if (cli_shards_open(opts, 1, &cs, &code) != 0)
        return code;
    memset(&in, 0, sizeof in);
    in.now = (uint64_t)time(NULL);
    in.in_token = in_token;
    in.money = money;
    if ((code = create_key(&in, &tok, keypath)) != OFFPAY_EXIT_OK) {
        cli_shards_close(&cs);
        if (local)
            remove_ledger(path);
        return code;
    }
    /* Every shard holds the issuer public key and the default limits; each
     * knows its place (shard.c).  A ledger of one database gets no mark. */
    for (unsigned i = 0; i < cs.n; i++) {
        if (cli_tx(cs.l[i], init_tx, &in) != 0 || (cs.n > 1 && shard_mark(cs.l[i], i, cs.n) != 0)) {
            cli_shards_close(&cs);
            if (local)
                remove_ledger(path);
            /* A key made in a token stays there, unused: no ledger names it. */
            if (!in_token)
                unlink(keypath);
            return OFFPAY_EXIT_INTERNAL;
        }
    }
    int shards = cs.n > 1;
    cli_shards_close(&cs);
    offpay_hex(hex, in.pk, sizeof in.pk);
    /* The issuer public key is what wallets pin (offpay init --issuer-key):
     * hand it to them by a channel an attacker cannot change. */
    if (cli_opt(opts, "json") != NULL) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i}", "ledger", local ? path : shards ? "shards" : "postgresql",
                              in_token ? "issuer_key_token" : "issuer_key_file", in_token ? tok.token : keypath,
                              "issuer_public_key", hex, "currency", money.code, "exponent", (int)money.exponent);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (text == NULL)
            return cli_fail(OFFPAY_ERR_NOMEM, "Out of memory.");
        printf("%s\n", text);
        free(text);
        return OFFPAY_EXIT_OK;
    }
    if (shards)
        printf("Created the ledger's shards; issuer key in %s (public key %s).\n", keypath, hex);
    else if (local)
        printf("Created ledger %s; issuer key in %s (public key %s).\n", path, keypath, hex);
    else
        printf("Created the PostgreSQL ledger; issuer key in %s (public key %s).\n", keypath, hex);
    char one[OFFPAY_MONEY_TEXT_MAX];
    printf("Amounts are counted in %s with %u decimal places (an amount of 1 is %s).\n", money.code,
           (unsigned)money.exponent, offpay_amount_format(one, sizeof one, 1, &money));
    printf("issuer_public_key=%s\n", hex);
    return OFFPAY_EXIT_OK;
}

/*
 * cmd_limits.c - offpayd limits: show or set the default offline limits, or
 * one wallet's: the patent's three (per payment, offline total, count per
 * period) and issue 13's two (holding, offline time; 0 is "no limit"),
 * and the grace period of wallets reported lost (--grace, server-wide:
 * the ledger's meta loss_grace on every shard, loss.c).
 * Fields not given keep their current value (for a wallet without limits of
 * its own: the default's).  Wallets receive the signed result at enrolment
 * and at every sync.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "offpay/amount.h"

#define N_FIELDS 6

static const char *const names[N_FIELDS] = {"per-payment", "offline-total", "count", "period", "holding", "offline-time"};

struct lim_ctx {
    uint8_t wallet[OFFPAY_WALLET_ID_BYTES];
    int per_wallet, set[N_FIELDS], any;
    uint64_t v[N_FIELDS];
    struct offpay_limits lim;
    int own; /* the wallet had limits of its own before */
    uint64_t now;
    int set_grace;  /* --grace: the grace period of lost wallets (server-wide) */
    uint64_t grace; /* in: --grace; out: the grace period now */
};

static void apply(struct offpay_limits *lim, const struct lim_ctx *c)
{
    if (c->set[0])
        lim->per_payment = c->v[0];
    if (c->set[1])
        lim->offline_total = c->v[1];
    if (c->set[2])
        lim->count = (uint32_t)c->v[2];
    if (c->set[3])
        lim->period = (uint32_t)c->v[3];
    if (c->set[4])
        lim->holding = c->v[4];
    if (c->set[5])
        lim->offline_time = (uint32_t)c->v[5];
}

static enum tx_step limits_tx(struct offpay_ledger *l, void *ctx)
{
    static const uint8_t zero[OFFPAY_WALLET_ID_BYTES];
    struct lim_ctx *c = ctx;
    struct offpay_ledger_wallet w;
    enum offpay_ledger_result r;

    if (c->per_wallet) {
        r = l->ops->wallet_get(l, c->wallet, &w);
        if (r == OFFPAY_LEDGER_NOT_FOUND) {
            cli_fail(OFFPAY_ERR_USAGE, "No wallet with that id is enrolled here.");
            return STEP_ABORT;
        }
        TRY(r);
    }
    TRY(offpayd_limits_of(l, c->per_wallet ? c->wallet : zero, &c->lim, NULL, &c->own));
    if (c->set_grace) {
        char text[24];
        snprintf(text, sizeof text, "%llu", (unsigned long long)c->grace);
        TRY(l->ops->meta_set(l, META_LOSS_GRACE, (const uint8_t *)text, strlen(text)));
    }
    TRY(offpayd_grace(l, &c->grace));
    if (!c->any)
        return STEP_COMMIT; /* nothing to change: just show them */
    apply(&c->lim, c);
    TRY(l->ops->limits_set(l, c->per_wallet ? c->wallet : zero, &c->lim, c->now));
    c->own = 1;
    return STEP_COMMIT;
}

static int parse_fields(const struct cli_opts *opts, struct lim_ctx *c)
{
    for (int i = 0; i < N_FIELDS; i++) {
        const char *s = cli_opt(opts, names[i]);
        if (s == NULL)
            continue;
        if (offpay_amount_parse(&c->v[i], s) != 0)
            return cli_fail(OFFPAY_ERR_USAGE, "--%s must be a whole number below 2^63.", names[i]);
        if ((i == 2 || i == 3 || i == 5) && c->v[i] > UINT32_MAX)
            return cli_fail(OFFPAY_ERR_USAGE, "--%s must be at most %u.", names[i], UINT32_MAX);
        if (i == 3 && c->v[i] == 0)
            return cli_fail(OFFPAY_ERR_USAGE, "--period must be at least 1 second.");
        c->set[i] = c->any = 1;
    }
    const char *g = cli_opt(opts, "grace");
    if (g != NULL) {
        if (c->per_wallet)
            return cli_fail(OFFPAY_ERR_USAGE, "--grace is the server's, for every wallet: give it without --wallet.");
        if (offpay_amount_parse(&c->grace, g) != 0 || c->grace == 0 || c->grace > OFFPAYD_GRACE_MAX)
            return cli_fail(OFFPAY_ERR_USAGE, "--grace must be a number of seconds from 1 to %u.", OFFPAYD_GRACE_MAX);
        c->set_grace = 1;
    }
    return 0;
}

static void print_limits(const struct cli_opts *opts, const struct lim_ctx *c, const char *wid,
                         const struct offpay_money *money)
{
    char per[OFFPAY_MONEY_TEXT_MAX], total[OFFPAY_MONEY_TEXT_MAX];
    const struct offpay_limits *m = &c->lim;
    const char *whose = c->per_wallet ? (c->own ? "wallet" : "default (the wallet has none of its own)") : "default";
    if (cli_opt(opts, "json") != NULL) {
        printf("{\"wallet\":%s%s%s,\"own\":%s,\"per_payment\":%llu,\"offline_total\":%llu,\"count\":%u,\"period\":%u,"
               "\"holding\":%llu,\"offline_time\":%u,\"grace\":%llu}\n",
               wid ? "\"" : "", wid ? wid : "null", wid ? "\"" : "", c->own ? "true" : "false",
               (unsigned long long)m->per_payment, (unsigned long long)m->offline_total, m->count, m->period,
               (unsigned long long)m->holding, m->offline_time, (unsigned long long)c->grace);
        return;
    }
    char holding[48], offline[48];
    if (m->holding)
        offpay_amount_format(holding, sizeof holding, m->holding, money);
    else
        snprintf(holding, sizeof holding, "none");
    if (m->offline_time)
        snprintf(offline, sizeof offline, "%u s", m->offline_time);
    else
        snprintf(offline, sizeof offline, "none");
    printf("%s limits%s%s: per-payment %s, offline-total %s, count %u per %u s, holding %s, offline time %s; "
           "grace period of lost wallets %llu s.\n",
           whose, wid ? " for " : "", wid ? wid : "", offpay_amount_format(per, sizeof per, m->per_payment, money),
           offpay_amount_format(total, sizeof total, m->offline_total, money), m->count, m->period, holding, offline,
           (unsigned long long)c->grace);
}

int cmd_limits(const struct cli_opts *opts)
{
    struct lim_ctx c;
    struct cli_shards cs;
    struct offpay_money money;
    const char *wopt = cli_opt(opts, "wallet");
    char wid[2 * OFFPAY_WALLET_ID_BYTES + 1];
    int code = OFFPAY_EXIT_INTERNAL;

    memset(&c, 0, sizeof c);
    if (opts->n_pos != 0)
        return cli_fail(OFFPAY_ERR_USAGE, "limits takes only options (see offpayd limits --help).");
    c.per_wallet = wopt != NULL;
    if ((code = parse_fields(opts, &c)) != 0)
        return code;
    c.now = (uint64_t)time(NULL);
    code = OFFPAY_EXIT_INTERNAL;
    if (cli_shards_open(opts, 0, &cs, &code) != 0)
        return code;
    /* --wallet ID: any unique beginning of at least 8 hex digits, on any shard. */
    if (c.per_wallet && (code = cli_wallet_resolve(&cs, wopt, c.wallet)) != 0) {
        cli_shards_close(&cs);
        return code;
    }
    offpay_hex(wid, c.wallet, sizeof c.wallet);
    cli_shards_money(&cs, &money);
    /* A wallet's limits live on its shard; the default on every shard (a
     * shard that fails leaves the others set: run the command again). */
    int r = 0;
    if (c.per_wallet)
        r = cli_tx(cli_shards_of_wallet(&cs, c.wallet), limits_tx, &c);
    for (unsigned i = 0; !c.per_wallet && i < cs.n && r == 0; i++)
        r = cli_tx(cs.l[i], limits_tx, &c);
    cli_shards_close(&cs);
    if (r == -1)
        return OFFPAY_EXIT_USAGE;
    if (r != 0)
        return OFFPAY_EXIT_INTERNAL;
    print_limits(opts, &c, c.per_wallet ? wid : NULL, &money);
    return OFFPAY_EXIT_OK;
}

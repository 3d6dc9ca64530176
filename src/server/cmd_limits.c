/*
 * cmd_limits.c - offpayd limits: show or set the default offline limits, or
 * one wallet's.  Fields not given keep their current value (for a wallet
 * without limits of its own: the default's).  Wallets receive the signed
 * result at enrolment and at every sync.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "offpay/amount.h"

struct lim_ctx {
    uint8_t wallet[OFFPAY_WALLET_ID_BYTES];
    int per_wallet, set[4];
    uint64_t v[4];
    struct offpay_limits lim;
    int own; /* the wallet had limits of its own before */
    uint64_t now;
};

static enum tx_step limits_tx(struct offpay_ledger *l, void *ctx)
{
    static const uint8_t zero[OFFPAY_WALLET_ID_BYTES];
    struct lim_ctx *c = ctx;
    struct offpay_ledger_wallet w;
    uint64_t issued;
    enum offpay_ledger_result r;
    int any = c->set[0] || c->set[1] || c->set[2] || c->set[3];

    if (c->per_wallet) {
        r = l->ops->wallet_get(l, c->wallet, &w);
        if (r == OFFPAY_LEDGER_NOT_FOUND) {
            cli_fail(OFFPAY_ERR_USAGE, "No wallet with that id is enrolled here.");
            return STEP_ABORT;
        }
        TRY(r);
    }
    r = l->ops->limits_get(l, c->per_wallet ? c->wallet : zero, &c->lim, &issued);
    c->own = r == OFFPAY_LEDGER_OK;
    if (r == OFFPAY_LEDGER_NOT_FOUND && c->per_wallet)
        r = l->ops->limits_get(l, zero, &c->lim, &issued);
    if (r == OFFPAY_LEDGER_NOT_FOUND) {
        c->lim = (struct offpay_limits){OFFPAYD_DEFAULT_PER_PAYMENT, OFFPAYD_DEFAULT_OFFLINE_TOTAL,
                                        OFFPAYD_DEFAULT_COUNT, OFFPAYD_DEFAULT_PERIOD};
        r = OFFPAY_LEDGER_OK;
    }
    TRY(r);
    if (!any)
        return STEP_COMMIT; /* nothing to change: just show them */
    if (c->set[0])
        c->lim.per_payment = c->v[0];
    if (c->set[1])
        c->lim.offline_total = c->v[1];
    if (c->set[2])
        c->lim.count = (uint32_t)c->v[2];
    if (c->set[3])
        c->lim.period = (uint32_t)c->v[3];
    TRY(l->ops->limits_set(l, c->per_wallet ? c->wallet : zero, &c->lim, c->now));
    c->own = 1;
    return STEP_COMMIT;
}

int cmd_limits(const struct cli_opts *opts)
{
    static const char *const names[4] = {"per-payment", "offline-total", "count", "period"};
    struct lim_ctx c;
    struct offpay_ledger *l;
    const char *wid = cli_opt(opts, "wallet");
    int code = OFFPAY_EXIT_INTERNAL;

    memset(&c, 0, sizeof c);
    if (opts->n_pos != 0)
        return cli_fail(OFFPAY_ERR_USAGE, "limits takes only options (see offpayd limits --help).");
    if (wid != NULL) {
        if (offpayd_hex_exact(c.wallet, sizeof c.wallet, wid) != 0)
            return cli_fail(OFFPAY_ERR_USAGE, "--wallet must be a wallet id of 32 lowercase hex digits.");
        c.per_wallet = 1;
    }
    for (int i = 0; i < 4; i++) {
        const char *s = cli_opt(opts, names[i]);
        if (s == NULL)
            continue;
        if (offpay_amount_parse(&c.v[i], s) != 0)
            return cli_fail(OFFPAY_ERR_USAGE, "--%s must be a whole number below 2^63.", names[i]);
        if (i >= 2 && c.v[i] > UINT32_MAX)
            return cli_fail(OFFPAY_ERR_USAGE, "--%s must be at most %u.", names[i], UINT32_MAX);
        if (i == 3 && c.v[i] == 0)
            return cli_fail(OFFPAY_ERR_USAGE, "--period must be at least 1 second.");
        c.set[i] = 1;
    }
    c.now = (uint64_t)time(NULL);
    if ((l = cli_ledger(opts, 0, &code)) == NULL)
        return code;
    int r = cli_tx(l, limits_tx, &c);
    offpay_ledger_close(l);
    if (r == -1)
        return OFFPAY_EXIT_USAGE;
    if (r != 0)
        return OFFPAY_EXIT_INTERNAL;
    const char *whose = c.per_wallet ? (c.own ? "wallet" : "default (the wallet has none of its own)") : "default";
    if (cli_opt(opts, "json") != NULL)
        printf("{\"wallet\":%s%s%s,\"own\":%s,\"per_payment\":%llu,\"offline_total\":%llu,\"count\":%u,\"period\":%u}\n",
               wid ? "\"" : "", wid ? wid : "null", wid ? "\"" : "", c.own ? "true" : "false",
               (unsigned long long)c.lim.per_payment, (unsigned long long)c.lim.offline_total, c.lim.count,
               c.lim.period);
    else
        printf("%s limits%s%s: per-payment %llu, offline-total %llu, count %u per %u s.\n", whose,
               wid ? " for " : "", wid ? wid : "", (unsigned long long)c.lim.per_payment,
               (unsigned long long)c.lim.offline_total, c.lim.count, c.lim.period);
    return OFFPAY_EXIT_OK;
}

/*
 * limits.c - the limits that apply to one wallet, and what it holds offline
 * as the ledger sees it.
 *
 * A wallet's limits are its own row if the operator set one, else the
 * default row (all-zero wallet id), else the built-in defaults of
 * internal.h.  The holding the server sees is the sum of the unspent coins
 * owned by the wallet's key: it counts coins the wallet may have spent
 * offline in records not yet synced, so it is never below what the wallet
 * really holds.  The holding limit is applied to it at load (a clone of the
 * wallet loads through the same server) and at settlement, where a payee's
 * incoming coin that would pass it goes to the account's online balance
 * instead (the "waterfall", docs/wallet.md).
 */
#include <string.h>

#include "internal.h"

void offpayd_limits_builtin(struct offpay_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    lim->per_payment = OFFPAYD_DEFAULT_PER_PAYMENT;
    lim->offline_total = OFFPAYD_DEFAULT_OFFLINE_TOTAL;
    lim->count = OFFPAYD_DEFAULT_COUNT;
    lim->period = OFFPAYD_DEFAULT_PERIOD;
    lim->holding = OFFPAYD_DEFAULT_HOLDING;
    lim->offline_time = OFFPAYD_DEFAULT_OFFLINE_TIME;
}

enum offpay_ledger_result offpayd_limits_of(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                            struct offpay_limits *lim, uint64_t *issued_at, int *own)
{
    static const uint8_t zero[OFFPAY_WALLET_ID_BYTES];
    uint64_t at = 0;
    enum offpay_ledger_result r = l->ops->limits_get(l, wallet, lim, &at);

    *own = r == OFFPAY_LEDGER_OK && memcmp(wallet, zero, sizeof zero) != 0;
    if (r == OFFPAY_LEDGER_NOT_FOUND && memcmp(wallet, zero, sizeof zero) != 0)
        r = l->ops->limits_get(l, zero, lim, &at);
    if (r == OFFPAY_LEDGER_NOT_FOUND) {
        /* A ledger without a default row still has the documented defaults. */
        offpayd_limits_builtin(lim);
        at = 0;
        r = OFFPAY_LEDGER_OK;
    }
    if (issued_at != NULL)
        *issued_at = at;
    return r;
}

struct holding_sum {
    uint64_t sum;
    uint8_t last[OFFPAY_UTXO_ID_BYTES];
    size_t seen;
    int overflow;
};

static int add_coin(void *ctx, const struct offpay_ledger_utxo *u)
{
    struct holding_sum *h = ctx;
    if (u->amount > UINT64_MAX - h->sum)
        h->overflow = 1;
    else
        h->sum += u->amount;
    memcpy(h->last, u->id, OFFPAY_UTXO_ID_BYTES);
    h->seen++;
    return h->overflow;
}

enum offpay_ledger_result offpayd_holding(struct offpay_ledger *l, const uint8_t key[OFFPAY_PUBLIC_KEY_BYTES],
                                          uint64_t *sum)
{
    struct holding_sum h;
    uint8_t after[OFFPAY_UTXO_ID_BYTES];
    enum offpay_ledger_result r;
    size_t before;

    if (l->ops->utxo_holding != NULL && (r = l->ops->utxo_holding(l, key, sum)) != OFFPAY_LEDGER_NOT_FOUND)
        return r;
    memset(&h, 0, sizeof h);
    /* Page through the coins by id, as GET /v1/utxos does. */
    do {
        before = h.seen;
        memcpy(after, h.last, sizeof after); /* the backend may read it while each() moves h.last on */
        r = l->ops->utxo_unspent_of(l, key, before ? after : NULL, OFFPAYD_UTXOS_MAX, add_coin, &h);
        if (r != OFFPAY_LEDGER_OK)
            return r;
    } while (!h.overflow && h.seen - before == OFFPAYD_UTXOS_MAX);
    *sum = h.overflow ? UINT64_MAX : h.sum;
    return OFFPAY_LEDGER_OK;
}

enum offpay_ledger_result offpayd_waterfall(struct offpay_ledger *l, const struct offpay_ledger_wallet *payee,
                                            uint64_t amount, int *yes)
{
    struct offpay_limits lim;
    uint64_t held;
    int own;
    *yes = 0;
    /* A payee reported lost is revoked: a coin made for its key could only
     * wait for the write-off, so its account gets the value now (loss.c). */
    if (payee->loss != OFFPAY_LEDGER_IN_USE) {
        *yes = 1;
        return OFFPAY_LEDGER_OK;
    }
    enum offpay_ledger_result r = offpayd_limits_of(l, payee->id, &lim, NULL, &own);
    if (r != OFFPAY_LEDGER_OK || lim.holding == 0)
        return r;
    if ((r = offpayd_holding(l, payee->public_key, &held)) != OFFPAY_LEDGER_OK)
        return r;
    *yes = offpay_limits_check_holding(&lim, held, amount) != OFFPAY_OK;
    return OFFPAY_LEDGER_OK;
}

/*
 * ep_unload.c - POST /v1/unload: spend some of the caller's unspent UTXOs
 * back into its account's online balance.
 */
#include <string.h>

#include "internal.h"

struct unload {
    uint8_t ids[OFFPAYD_COINS_MAX][OFFPAY_UTXO_ID_BYTES];
    size_t n;
};

static enum tx_step unload_tx(struct request *rq, void *ctx)
{
    struct unload *u = ctx;
    struct offpay_ledger *l = rq->l;
    struct offpay_ledger_account acc;
    struct offpay_ledger_utxo coin;
    char hex[2 * OFFPAY_UTXO_ID_BYTES + 1];
    uint64_t sum = 0;

    for (size_t i = 0; i < u->n; i++) {
        /* Coins are looked up under the caller's key: another wallet's coin
         * is not found, and the answer does not tell whether it exists. */
        enum offpay_ledger_result r = l->ops->utxo_get(l, rq->wallet.public_key, u->ids[i], &coin);
        offpay_hex(hex, u->ids[i], OFFPAY_UTXO_ID_BYTES);
        if (r == OFFPAY_LEDGER_NOT_FOUND) {
            reply_error(rq, 404, "not_found", "This wallet has no coin %s.", hex);
            return STEP_ABORT;
        }
        TRY(r);
        if (coin.spent != OFFPAY_LEDGER_UNSPENT) {
            reply_error(rq, 409, "not_unspent", "The coin %s is already spent.", hex);
            return STEP_ABORT;
        }
        if (coin.amount > (uint64_t)INT64_MAX - sum)
            return STEP_ERROR;
        sum += coin.amount;
        TRY(l->ops->utxo_spend(l, &coin, OFFPAY_LEDGER_SPENT_BY_UNLOAD, NULL, rq->now));
    }
    /* The coins' account is the wallet's: the owner key is the wallet's key. */
    TRY(l->ops->account_get_by_id(l, rq->wallet.account_id, &acc));
    if (acc.online > (uint64_t)INT64_MAX - sum)
        return STEP_ERROR;
    acc.online += sum;
    TRY(l->ops->account_update(l, &acc));
    /* The answer is made here: it is stored with the nonce (tx.c). */
    reply_json(rq, 200, json_pack("{s:I,s:I}", "online", (json_int_t)acc.online, "unloaded", (json_int_t)u->n));
    return rq->status == 200 ? STEP_COMMIT : STEP_ERROR;
}

void ep_unload(struct request *rq)
{
    struct unload u;
    json_t *arr = json_object_get(rq->json, "utxos"), *v;
    size_t i;

    memset(&u, 0, sizeof u);
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > OFFPAYD_COINS_MAX) {
        reply_error(rq, 400, "bad_field", "The field \"utxos\" must be an array of 1 to %d coin ids.",
                    OFFPAYD_COINS_MAX);
        return;
    }
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v) || offpayd_hex_exact(u.ids[i], OFFPAY_UTXO_ID_BYTES, json_string_value(v)) != 0) {
            reply_error(rq, 400, "bad_field", "utxos[%zu] must be a coin id of 64 lowercase hex digits.", i);
            return;
        }
        for (size_t k = 0; k < i; k++)
            if (memcmp(u.ids[k], u.ids[i], OFFPAY_UTXO_ID_BYTES) == 0) {
                reply_error(rq, 400, "bad_field", "utxos[%zu] repeats an earlier coin id.", i);
                return;
            }
    }
    u.n = json_array_size(arr);
    (void)request_tx(rq, unload_tx, &u); /* the reply is set either way */
}

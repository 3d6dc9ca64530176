/*
 * ep_load.c - POST /v1/load: move part of the online balance into new
 * attested UTXOs of the requested amounts, owned by the caller's key.
 *
 * The answer is stored with the request's nonce (tx.c), so it is made inside
 * the transaction.  The coins are drawn and attested before it: a random id
 * does not have to change when a lost race runs the transaction again, and
 * signing outside it keeps the writer free.  The holding limit is checked
 * against the coins the ledger holds for the caller's key (limits.c).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct load {
    uint64_t amounts[OFFPAYD_COINS_MAX];
    uint8_t ids[OFFPAYD_COINS_MAX][OFFPAY_UTXO_ID_BYTES];
    size_t n;
    uint64_t sum;
    json_t *utxos; /* the attested coins, in text form */
};

static enum tx_step load_tx(struct request *rq, void *ctx)
{
    struct load *ld = ctx;
    struct offpay_ledger *l = rq->l;
    struct offpay_ledger_account acc;
    struct offpay_ledger_utxo u;

    TRY(l->ops->account_get_by_id(l, rq->wallet.account_id, &acc));
    if (acc.online < ld->sum) {
        reply_error(rq, 409, "insufficient_balance", "The online balance (%llu) does not cover %llu.",
                    (unsigned long long)acc.online, (unsigned long long)ld->sum);
        return STEP_ABORT;
    }
    /* The holding limit, against every coin the ledger holds for this key
     * (so a copy of the wallet cannot load past it either). */
    struct offpay_limits lim;
    uint64_t held = 0;
    int own;
    TRY(offpayd_limits_of(l, rq->wallet.id, &lim, NULL, &own));
    /* Without a limit (0) the sum decides nothing, and costs a read of
     * every coin the key holds: a merchant's may be many. */
    if (lim.holding != 0)
        TRY(offpayd_holding(l, rq->wallet.public_key, &held));
    if (offpay_limits_check_holding(&lim, held, ld->sum) != OFFPAY_OK) {
        reply_error(rq, 409, "holding_limit",
                    "Loading %llu would make the wallet's offline coins %llu%s, above its holding limit of %llu.",
                    (unsigned long long)ld->sum, (unsigned long long)(held > UINT64_MAX - ld->sum ? UINT64_MAX : held + ld->sum),
                    held > UINT64_MAX - ld->sum ? " or more" : "", (unsigned long long)lim.holding);
        return STEP_ABORT;
    }
    acc.online -= ld->sum;
    TRY(l->ops->account_update(l, &acc));
    for (size_t i = 0; i < ld->n; i++) {
        memset(&u, 0, sizeof u);
        memcpy(u.id, ld->ids[i], OFFPAY_UTXO_ID_BYTES);
        memcpy(u.owner, rq->wallet.public_key, OFFPAY_PUBLIC_KEY_BYTES);
        u.amount = ld->amounts[i];
        u.account_id = rq->wallet.account_id;
        TRY(l->ops->utxo_insert(l, &u, rq->now));
    }
    reply_json(rq, 200, json_pack("{s:I,s:O}", "online", (json_int_t)acc.online, "utxos", ld->utxos));
    return rq->status == 200 ? STEP_COMMIT : STEP_ERROR;
}

/* Draw the coin ids and attest the coins.  Returns 0, or -1 (out of memory). */
static int mint_coins(struct request *rq, struct load *ld)
{
    if ((ld->utxos = json_array()) == NULL)
        return -1;
    for (size_t i = 0; i < ld->n; i++) {
        offpay_random(ld->ids[i], OFFPAY_UTXO_ID_BYTES);
        char *t = offpayd_utxo_text(rq->srv, ld->ids[i], rq->wallet.public_key, ld->amounts[i]);
        int bad = t == NULL || json_array_append_new(ld->utxos, json_string(t)) != 0;
        free(t);
        if (bad)
            return -1;
    }
    return 0;
}

void ep_load(struct request *rq)
{
    struct load ld;
    json_t *arr = json_object_get(rq->json, "amounts"), *v;
    size_t i;

    memset(&ld, 0, sizeof ld);
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > OFFPAYD_COINS_MAX) {
        reply_error(rq, 400, "bad_field", "The field \"amounts\" must be an array of 1 to %d amounts.",
                    OFFPAYD_COINS_MAX);
        return;
    }
    json_array_foreach(arr, i, v) {
        if (offpayd_json_amount(v, 1, &ld.amounts[i]) != 0) {
            reply_error(rq, 400, "bad_field", "amounts[%zu] must be an integer amount above zero.", i);
            return;
        }
        if (ld.amounts[i] > (uint64_t)INT64_MAX - ld.sum) {
            reply_error(rq, 400, "bad_field", "The field \"amounts\" adds up to more than can be represented.");
            return;
        }
        ld.sum += ld.amounts[i];
    }
    ld.n = json_array_size(arr);
    if (mint_coins(rq, &ld) != 0)
        reply_error(rq, 500, "internal", "The coins could not be encoded; nothing was changed.");
    else
        (void)request_tx(rq, load_tx, &ld); /* the reply is set either way */
    json_decref(ld.utxos);
}

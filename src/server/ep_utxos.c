/*
 * ep_utxos.c - GET /v1/utxos: every unspent coin the ledger holds for the
 * caller's wallet key, attested afresh.  It lets a wallet learn of coins it
 * never received: a load whose answer was lost, or a payment whose record was
 * settled by its payer before its file reached the payee (SPEC rule 8).
 * The list comes in pages of OFFPAYD_UTXOS_MAX by id (fewer if
 * $OFFPAYD_UTXOS_PAGE says so when serve starts): "?after=ID" (64 lowercase
 * hex digits) continues after the last id of the page before.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct coin {
    uint8_t id[OFFPAY_UTXO_ID_BYTES];
    uint64_t amount;
};

struct listing {
    struct coin *coins; /* page + 1 slots: one more tells there are more */
    size_t n;
    const uint8_t *after; /* NULL: from the first */
};

static int add_coin(void *ctx, const struct offpay_ledger_utxo *u)
{
    struct listing *ls = ctx;
    memcpy(ls->coins[ls->n].id, u->id, OFFPAY_UTXO_ID_BYTES);
    ls->coins[ls->n].amount = u->amount;
    ls->n++;
    return 0;
}

static enum tx_step utxos_tx(struct request *rq, void *ctx)
{
    struct listing *ls = ctx;
    ls->n = 0; /* a retried transaction starts over */
    TRY(rq->l->ops->utxo_unspent_of(rq->l, rq->wallet.public_key, ls->after, rq->srv->utxos_page + 1, add_coin, ls));
    return STEP_COMMIT;
}

void ep_utxos(struct request *rq)
{
    struct listing ls = {NULL, 0, NULL};
    uint8_t after[OFFPAY_UTXO_ID_BYTES];
    const char *q = request_query(rq, "after");
    json_t *arr;
    int more;

    if (q != NULL) {
        if (offpayd_hex_exact(after, sizeof after, q) != 0) {
            reply_error(rq, 400, "bad_field", "The query argument \"after\" must be a coin id (64 lowercase hex digits).");
            return;
        }
        ls.after = after;
    }
    size_t page = rq->srv->utxos_page;
    if ((ls.coins = malloc((page + 1) * sizeof *ls.coins)) == NULL) {
        reply_error(rq, 500, "internal", "Out of memory.");
        return;
    }
    if (request_tx(rq, utxos_tx, &ls) != 0) {
        free(ls.coins);
        return;
    }
    more = ls.n > page;
    if (more)
        ls.n = page;
    arr = json_array();
    for (size_t i = 0; arr != NULL && i < ls.n; i++) {
        char *t = offpayd_utxo_text(rq->srv, ls.coins[i].id, rq->wallet.public_key, ls.coins[i].amount);
        if (t == NULL || json_array_append_new(arr, json_string(t)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
        free(t);
    }
    free(ls.coins);
    if (arr == NULL) {
        reply_error(rq, 500, "internal", "The coins could not be encoded.");
        return;
    }
    reply_json(rq, 200, json_pack("{s:o,s:b}", "utxos", arr, "more", more));
}

/*
 * ep_balance.c - GET /v1/balance: the caller's account and online balance.
 */
#include "internal.h"

static enum tx_step balance_tx(struct request *rq, void *ctx)
{
    struct offpay_ledger_account *acc = ctx;
    TRY(rq->l->ops->account_get_by_id(rq->l, rq->wallet.account_id, acc));
    return STEP_COMMIT;
}

void ep_balance(struct request *rq)
{
    struct offpay_ledger_account acc;
    if (request_tx(rq, balance_tx, &acc) != 0)
        return;
    reply_json(rq, 200, json_pack("{s:s,s:I}", "account", acc.name, "online", (json_int_t)acc.online));
}

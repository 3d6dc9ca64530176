/*
 * ep_pay_online.c - POST /v1/pay-online: account to account on the online
 * balances, in one transaction.
 */
#include <string.h>

#include "internal.h"

struct pay {
    const char *to;
    uint64_t amount;
};

static enum tx_step pay_tx(struct request *rq, void *ctx)
{
    struct pay *p = ctx;
    struct offpay_ledger *l = rq->l;
    struct offpay_ledger_account from, to;
    enum offpay_ledger_result r;

    r = l->ops->account_get(l, p->to, &to);
    if (r == OFFPAY_LEDGER_NOT_FOUND) {
        reply_error(rq, 404, "not_found", "There is no account named \"%s\".", p->to);
        return STEP_ABORT;
    }
    TRY(r);
    TRY(l->ops->account_get_by_id(l, rq->wallet.account_id, &from));
    if (from.id == to.id) {
        reply_error(rq, 400, "bad_field", "The field \"to\" names the payer's own account.");
        return STEP_ABORT;
    }
    if (from.online < p->amount) {
        reply_error(rq, 409, "insufficient_balance", "The online balance (%llu) does not cover %llu.",
                    (unsigned long long)from.online, (unsigned long long)p->amount);
        return STEP_ABORT;
    }
    if (to.online > (uint64_t)INT64_MAX - p->amount || to.received > (uint64_t)INT64_MAX - p->amount ||
        from.sent > (uint64_t)INT64_MAX - p->amount)
        return STEP_ERROR;
    from.online -= p->amount;
    from.sent += p->amount;
    to.online += p->amount;
    to.received += p->amount;
    TRY(l->ops->account_update(l, &from));
    TRY(l->ops->account_update(l, &to));
    /* The answer is made here: it is stored with the nonce (tx.c). */
    reply_json(rq, 200, json_pack("{s:I}", "online", (json_int_t)from.online));
    return rq->status == 200 ? STEP_COMMIT : STEP_ERROR;
}

void ep_pay_online(struct request *rq)
{
    struct pay p;
    memset(&p, 0, sizeof p);
    if (offpayd_field_string(rq, rq->json, "to", &p.to) != 0 || offpayd_field_amount(rq, rq->json, "amount", 1, &p.amount) != 0)
        return;
    if (!offpay_account_name_valid(p.to)) {
        reply_error(rq, 400, "bad_field", "The field \"to\" is not a valid account name.");
        return;
    }
    /* Not yet across shards: it needs the in-flight account for online
     * value, as settlement has for coins (docs/scale.md, "Not yet"). */
    if (rq->srv->n_shards > 1 && shard_of_name(rq->srv, p.to) != rq->shard) {
        struct shard *sh = shard_of_name(rq->srv, p.to);
        struct offpay_ledger *l = pool_take(sh);
        struct offpay_ledger_account to;
        enum offpay_ledger_result r = l != NULL ? l->ops->account_get(l, p.to, &to) : OFFPAY_LEDGER_UNAVAILABLE;
        pool_give(sh, l);
        if (r == OFFPAY_LEDGER_NOT_FOUND) {
            reply_error(rq, 404, "not_found", "There is no account named \"%s\".", p.to);
            return;
        }
        reply_error(rq, 501, "other_shard", "Paying online an account on another shard of the ledger is not "
                    "supported yet; nothing was changed.");
        return;
    }
    (void)request_tx(rq, pay_tx, &p); /* the reply is set either way */
}

/*
 * ep_pay_online.c - POST /v1/pay-online: account to account on the online
 * balances, in one transaction.
 *
 * With several shards, a payee account on another shard is paid as a
 * record's payee is (relay.c): the transaction on the payer's shard takes
 * the amount off the payer's online balance and gives it to the shard's
 * in-flight account (its row untouched), as a coin whose id is a fresh transfer id, with a
 * meta row "transfer:ID" naming the payee account (the outbox); delivery,
 * right after the commit and again by the relay, adds it to the payee's
 * online balance once.
 */
#include <string.h>

#include "internal.h"

struct pay {
    const char *to;
    uint64_t amount;
    int away; /* the payee account is on another shard */
    uint8_t transfer[OFFPAY_UTXO_ID_BYTES];
};

/* The payer's side of a payment to an account on another shard: into the
 * in-flight account, with the transfer row that says where it goes. */
static enum tx_step send_away(struct request *rq, struct pay *p, struct offpay_ledger_account *from)
{
    struct offpay_ledger *l = rq->l;
    struct offpay_ledger_utxo coin;
    char key[SHARD_META_KEY_MAX];
    TRY(l->ops->account_update(l, from));
    memset(&coin, 0, sizeof coin);
    memcpy(coin.id, p->transfer, sizeof coin.id);
    memcpy(coin.owner, shard_transit_key, sizeof coin.owner);
    coin.amount = p->amount;
    coin.account_id = rq->shard->transit;
    TRY(l->ops->utxo_insert(l, &coin, rq->now));
    shard_meta_key(key, "transfer", p->transfer);
    TRY(l->ops->meta_set(l, key, (const uint8_t *)p->to, strlen(p->to)));
    reply_json(rq, 200, json_pack("{s:I}", "online", (json_int_t)from->online));
    return rq->status == 200 ? STEP_COMMIT : STEP_ERROR;
}

static enum tx_step pay_tx(struct request *rq, void *ctx)
{
    struct pay *p = ctx;
    struct offpay_ledger *l = rq->l;
    struct offpay_ledger_account from, to;
    enum offpay_ledger_result r;

    if (p->away) /* checked on its shard before */
        memset(&to, 0, sizeof to);
    r = p->away ? OFFPAY_LEDGER_OK : l->ops->account_get(l, p->to, &to);
    if (r == OFFPAY_LEDGER_NOT_FOUND) {
        reply_error(rq, 404, "not_found", "There is no account named \"%s\".", p->to);
        return STEP_ABORT;
    }
    TRY(r);
    TRY(l->ops->account_get_by_id(l, rq->wallet.account_id, &from));
    if (!p->away && from.id == to.id) {
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
    if (p->away)
        return send_away(rq, p, &from);
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
    /* A payee account on another shard: it must exist there (read first;
     * accounts are never removed), and its shard must answer. */
    struct shard *sh = shard_of_name(rq->srv, p.to);
    if (rq->srv->n_shards > 1 && sh != rq->shard) {
        struct offpay_ledger *l = pool_take(sh);
        struct offpay_ledger_account to;
        enum offpay_ledger_result r = l != NULL ? l->ops->account_get(l, p.to, &to) : OFFPAY_LEDGER_UNAVAILABLE;
        pool_give(sh, l);
        if (r == OFFPAY_LEDGER_NOT_FOUND) {
            reply_error(rq, 404, "not_found", "There is no account named \"%s\".", p.to);
            return;
        }
        if (r != OFFPAY_LEDGER_OK) {
            reply_error(rq, 503, "shard_unavailable", "The shard of the ledger that holds account \"%s\" does not "
                        "answer; nothing was changed: try again later.", p.to);
            return;
        }
        p.away = 1;
        offpay_random(p.transfer, sizeof p.transfer);
    }
    if (request_tx(rq, pay_tx, &p) == 0 && p.away && rq->srv->deliver_now)
        (void)deliver_transfer(rq->srv, rq->shard, p.transfer, p.to, p.amount); /* else the relay does */
}

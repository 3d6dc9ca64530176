/*
 * ep_wallets_lost.c - POST /v1/wallets/lost: the account's holder, from
 * one enrolled wallet, reports another wallet of the same account lost or
 * stolen (docs/api.md; the rule in loss.c and docs/wallet.md).
 *
 * The wallet is named by any unique beginning of its id of at least 8 hex
 * digits, looked for among the caller's account's wallets only: a caller
 * learns nothing about other accounts, and cannot revoke their wallets.  A
 * report of a wallet reported before answers what the first report did
 * ("new": false); the answer is stored with the nonce like every call that
 * changes the ledger, so a repeat gets the same bytes.
 */
#include <string.h>

#include "internal.h"

struct lost {
    struct offpayd_id_matches m; /* the prefix and its matches among the account's wallets */
    int loss;
};

static void reply_ambiguous(struct request *rq, const struct lost *q)
{
    char hex[2 * OFFPAY_WALLET_ID_BYTES + 1], ids[OFFPAYD_ID_CANDIDATES_MAX * (sizeof hex + 2) + 8], msg[768];
    json_t *list = json_array();
    size_t shown = q->m.n < OFFPAYD_ID_CANDIDATES_MAX ? q->m.n : OFFPAYD_ID_CANDIDATES_MAX;
    for (size_t i = 0; i < shown; i++) {
        offpay_hex(hex, q->m.ids[i], OFFPAY_WALLET_ID_BYTES);
        json_array_append_new(list, json_string(hex));
    }
    offpayd_id_candidates(ids, sizeof ids, &q->m);
    snprintf(msg, sizeof msg, "%s is the beginning of %zu wallets of your account (%s): give more of its digits.",
             q->m.prefix, q->m.n, ids);
    reply_json(rq, 409, json_pack("{s:s,s:s,s:o}", "error", "ambiguous", "message", msg, "candidates", list));
}

static enum tx_step lost_tx(struct request *rq, void *ctx)
{
    struct lost *q = ctx;
    struct offpay_ledger *l = rq->l;
    struct offpay_ledger_wallet w;
    char hex[2 * OFFPAY_WALLET_ID_BYTES + 1];
    int fresh;

    q->m.n = 0; /* a retried transaction looks again */
    q->m.account_id = rq->wallet.account_id;
    TRY(offpayd_wallets_by_prefix(l, &q->m));
    if (q->m.n == 0) {
        reply_error(rq, 404, "not_found", "No wallet of your account has an id beginning with %s.", q->m.prefix);
        return STEP_ABORT;
    }
    if (q->m.n > 1) {
        reply_ambiguous(rq, q);
        return STEP_ABORT;
    }
    if (memcmp(q->m.ids[0], rq->wallet.id, OFFPAY_WALLET_ID_BYTES) == 0) {
        reply_error(rq, 409, "self_report", "A wallet cannot report itself lost: report it from another wallet of "
                    "the account, or ask the operator (offpayd wallet revoke).");
        return STEP_ABORT;
    }
    TRY(offpayd_report_lost(l, q->m.ids[0], q->loss, rq->now, &w, &fresh));
    offpay_hex(hex, w.id, OFFPAY_WALLET_ID_BYTES);
    /* The answer is made here: it is stored with the nonce (tx.c). */
    reply_json(rq, 200, json_pack("{s:s,s:s,s:s?,s:I,s:I,s:b}", "wallet", hex, "state", offpayd_wallet_state(&w),
                                  "reason", offpayd_loss_name(w.loss), "reported_at", (json_int_t)w.lost_at,
                                  "writeoff_at", (json_int_t)w.writeoff_at, "new", fresh));
    return rq->status == 200 ? STEP_COMMIT : STEP_ERROR;
}

void ep_wallets_lost(struct request *rq)
{
    struct lost q;
    const char *prefix, *reason;
    memset(&q, 0, sizeof q);
    if (offpayd_field_string(rq, rq->json, "wallet", &prefix) != 0)
        return;
    /* Ids travel in lower case (docs/api.md); the commands also take capitals. */
    if (strspn(prefix, "0123456789abcdef") != strlen(prefix) || offpayd_id_prefix_parse(&q.m, prefix) != 0) {
        reply_error(rq, 400, "bad_field", "The field \"wallet\" must be %d to %d lowercase hex digits of a wallet id.",
                    OFFPAYD_ID_PREFIX_MIN, 2 * OFFPAY_WALLET_ID_BYTES);
        return;
    }
    json_t *r = json_object_get(rq->json, "reason");
    reason = r == NULL ? "lost" : json_string_value(r);
    if (reason == NULL || (q.loss = offpayd_loss_parse(reason, 0)) < 0) {
        reply_error(rq, 400, "bad_field", "The field \"reason\" must be \"lost\" or \"stolen\".");
        return;
    }
    (void)request_tx(rq, lost_tx, &q); /* the reply is set either way */
}

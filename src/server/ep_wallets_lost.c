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

#define PREFIX_MIN 8
#define CANDIDATES_MAX 8 /* ids named in an ambiguous answer */

struct lost {
    char prefix[2 * OFFPAY_WALLET_ID_BYTES + 1];
    int loss;
    /* the matches of the prefix */
    uint8_t ids[CANDIDATES_MAX][OFFPAY_WALLET_ID_BYTES];
    size_t n;
};

static int match(void *ctx, const struct offpay_ledger_wallet *w)
{
    struct lost *q = ctx;
    char hex[2 * OFFPAY_WALLET_ID_BYTES + 1];
    offpay_hex(hex, w->id, OFFPAY_WALLET_ID_BYTES);
    if (strncmp(hex, q->prefix, strlen(q->prefix)) != 0)
        return 0;
    if (q->n < CANDIDATES_MAX)
        memcpy(q->ids[q->n], w->id, OFFPAY_WALLET_ID_BYTES);
    q->n++;
    return 0;
}

static void reply_ambiguous(struct request *rq, const struct lost *q)
{
    char hex[2 * OFFPAY_WALLET_ID_BYTES + 1], msg[512];
    json_t *list = json_array();
    size_t shown = q->n < CANDIDATES_MAX ? q->n : CANDIDATES_MAX;
    int at = snprintf(msg, sizeof msg, "%s is the beginning of %zu wallets of your account (", q->prefix, q->n);
    for (size_t i = 0; i < shown; i++) {
        offpay_hex(hex, q->ids[i], OFFPAY_WALLET_ID_BYTES);
        json_array_append_new(list, json_string(hex));
        if (at > 0 && (size_t)at < sizeof msg)
            at += snprintf(msg + at, sizeof msg - (size_t)at, "%s%s", i ? ", " : "", hex);
    }
    if (at > 0 && (size_t)at < sizeof msg)
        snprintf(msg + at, sizeof msg - (size_t)at, "%s): give more of its digits.", shown < q->n ? ", ..." : "");
    reply_json(rq, 409, json_pack("{s:s,s:s,s:o}", "error", "ambiguous", "message", msg, "candidates", list));
}

static enum tx_step lost_tx(struct request *rq, void *ctx)
{
    struct lost *q = ctx;
    struct offpay_ledger *l = rq->l;
    struct offpay_ledger_wallet w;
    char hex[2 * OFFPAY_WALLET_ID_BYTES + 1];
    int fresh;

    q->n = 0;
    TRY(l->ops->wallet_list(l, rq->wallet.account_id, 0, match, q));
    if (q->n == 0) {
        reply_error(rq, 404, "not_found", "No wallet of your account has an id beginning with %s.", q->prefix);
        return STEP_ABORT;
    }
    if (q->n > 1) {
        reply_ambiguous(rq, q);
        return STEP_ABORT;
    }
    if (memcmp(q->ids[0], rq->wallet.id, OFFPAY_WALLET_ID_BYTES) == 0) {
        reply_error(rq, 409, "self_report", "A wallet cannot report itself lost: report it from another wallet of "
                    "the account, or ask the operator (offpayd wallet revoke).");
        return STEP_ABORT;
    }
    TRY(offpayd_report_lost(l, q->ids[0], q->loss, rq->now, &w, &fresh));
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
    size_t n = strlen(prefix);
    int hex = n >= PREFIX_MIN && n <= 2 * OFFPAY_WALLET_ID_BYTES;
    for (size_t i = 0; hex && i < n; i++)
        hex = (prefix[i] >= '0' && prefix[i] <= '9') || (prefix[i] >= 'a' && prefix[i] <= 'f');
    if (!hex) {
        reply_error(rq, 400, "bad_field", "The field \"wallet\" must be %d to %d lowercase hex digits of a wallet id.",
                    PREFIX_MIN, 2 * OFFPAY_WALLET_ID_BYTES);
        return;
    }
    memcpy(q.prefix, prefix, n + 1);
    json_t *r = json_object_get(rq->json, "reason");
    reason = r == NULL ? "lost" : json_string_value(r);
    if (reason == NULL || (q.loss = offpayd_loss_parse(reason, 0)) < 0) {
        reply_error(rq, 400, "bad_field", "The field \"reason\" must be \"lost\" or \"stolen\".");
        return;
    }
    (void)request_tx(rq, lost_tx, &q); /* the reply is set either way */
}

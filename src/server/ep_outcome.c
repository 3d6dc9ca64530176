/*
 * ep_outcome.c - POST /v1/outcome: what became of one of the caller's
 * requests, named by its nonce and timestamp.  A wallet asks when an answer
 * was lost (docs/api.md, "Lost answers"):
 *   - "done": the nonce was used by a request that committed; the stored
 *     answer comes with it (null for sync and the reads, which keep none);
 *   - "cancelled": it was not used, and in the same transaction it is burnt
 *     (kept with a cancelled mark), so the request, should it still be
 *     travelling, is refused 409 cancelled when it arrives;
 *   - "unknown": no row, and the timestamp is older than such a row is kept
 *     (OFFPAYD_NONCE_KEEP; OFFPAYD_ANSWER_KEEP when the wallet names a
 *     request "path" whose route keeps its answer), so it may have been used
 *     and pruned.
 *     Such a request can no longer take effect: its timestamp is far outside
 *     the OFFPAY_HTTP_MAX_SKEW window.
 * Idempotent: asking again answers the same (a burnt nonce stays
 * "cancelled").
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum verdict { DONE, CANCELLED, UNKNOWN };

struct outcome {
    uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES];
    uint64_t ts;
    uint64_t keep; /* how long a used nonce of that request is kept */
    enum verdict verdict;
    json_t *answer; /* DONE: the stored answer, or NULL when none was kept */
};

static enum tx_step outcome_tx(struct request *rq, void *ctx)
{
    struct outcome *o = ctx;
    struct offpay_ledger *l = rq->l;
    struct offpay_ledger_nonce seen;
    enum offpay_ledger_result r;

    json_decref(o->answer); /* a retried transaction starts over */
    o->answer = NULL;
    r = l->ops->nonce_get(l, rq->wallet.id, o->nonce, &seen);
    if (r == OFFPAY_LEDGER_NOT_FOUND) {
        /* A row lives o->keep from its timestamp: past that, no row proves
         * nothing. */
        if (o->ts + o->keep < rq->now) {
            o->verdict = UNKNOWN;
            return STEP_COMMIT;
        }
        TRY(l->ops->nonce_keep(l, rq->wallet.id, o->nonce, o->ts, OFFPAY_LEDGER_NONCE_CANCELLED, NULL, 0));
        o->verdict = CANCELLED;
        return STEP_COMMIT;
    }
    TRY(r);
    if (seen.kind == OFFPAY_LEDGER_NONCE_CANCELLED) {
        o->verdict = CANCELLED;
        return STEP_COMMIT;
    }
    o->verdict = DONE;
    if (seen.kind == OFFPAY_LEDGER_NONCE_ANSWERED) {
        json_error_t err;
        o->answer = json_loadb((const char *)seen.answer, seen.answer_len, 0, &err);
        if (!json_is_object(o->answer))
            return STEP_ERROR; /* we stored it: it was a JSON object */
    }
    return STEP_COMMIT;
}

/* The body's fields; on failure a 400 bad_field is set and -1 returned. */
static int parse(struct request *rq, struct outcome *o)
{
    const char *nonce;
    json_t *ts = json_object_get(rq->json, "timestamp");
    if (offpayd_field_string(rq, rq->json, "nonce", &nonce) != 0)
        return -1;
    if (offpayd_hex_exact(o->nonce, sizeof o->nonce, nonce) != 0) {
        reply_error(rq, 400, "bad_field", "The field \"nonce\" must be %d lowercase hex digits.",
                    2 * OFFPAY_HTTP_NONCE_BYTES);
        return -1;
    }
    if (!json_is_integer(ts) || json_integer_value(ts) < 0) {
        reply_error(rq, 400, "bad_field", "The field \"timestamp\" must be the request's Unix time (an integer).");
        return -1;
    }
    o->ts = (uint64_t)json_integer_value(ts);
    /* Optional: the path the request went to.  A load, unload or
     * pay-online keeps its row (with the answer) OFFPAYD_ANSWER_KEEP, so no
     * row within that time proves it never took effect. */
    const char *path = NULL;
    if (offpayd_field_string_or_null(rq, rq->json, "path", &path) != 0)
        return -1;
    o->keep = path != NULL && route_keeps_answer("POST", path) ? OFFPAYD_ANSWER_KEEP : OFFPAYD_NONCE_KEEP;
    return 0;
}

void ep_outcome(struct request *rq)
{
    static const char *const names[] = {[DONE] = "done", [CANCELLED] = "cancelled", [UNKNOWN] = "unknown"};
    struct outcome o;

    memset(&o, 0, sizeof o);
    if (parse(rq, &o) != 0 || request_tx(rq, outcome_tx, &o) != 0) {
        json_decref(o.answer);
        return;
    }
    if (o.verdict == DONE)
        reply_json(rq, 200, json_pack("{s:s,s:o}", "outcome", names[DONE], "answer", o.answer ? o.answer : json_null()));
    else
        reply_json(rq, 200, json_pack("{s:s}", "outcome", names[o.verdict]));
}

/*
 * ep_sync.c - POST /v1/sync: a batch of payment records (each with the
 * payee's confirmation or refusal when the submitter has one) in; per record
 * settled / voided / rejected out, with the caller's own attested outputs,
 * its limits and the revocation list.
 *
 * The body is decoded strictly first (any bad item refuses the whole request
 * and changes nothing), then every signature is verified outside any
 * transaction, then settle_apply runs the one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int decode_item(struct request *rq, size_t i, json_t *obj, struct sync_item *it)
{
    const char *rec, *conf, *ref;
    enum offpay_status s;

    /* Items are reused between requests: reset what decoding does not always write. */
    it->rec_len = it->conf_len = it->ref_len = 0;
    it->caller_is_payer = it->caller_is_payee = 0;
    it->outcome = SYNC_PENDING;
    it->reason = NULL;
    if (!json_is_object(obj)) {
        reply_error(rq, 400, "bad_field", "records[%zu] must be an object.", i);
        return -1;
    }
    if (!json_is_string(json_object_get(obj, "record"))) {
        reply_error(rq, 400, "bad_field", "records[%zu].record must be a string.", i);
        return -1;
    }
    rec = json_string_value(json_object_get(obj, "record"));
    json_t *c = json_object_get(obj, "confirmation"), *f = json_object_get(obj, "refusal");
    if ((c != NULL && !json_is_null(c) && !json_is_string(c)) || (f != NULL && !json_is_null(f) && !json_is_string(f))) {
        reply_error(rq, 400, "bad_field", "records[%zu].confirmation and .refusal must be strings or null.", i);
        return -1;
    }
    conf = json_string_value(c);
    ref = json_string_value(f);
    if (text_message(it->rec_bin, sizeof it->rec_bin, &it->rec_len, OFFPAY_MSG_RECORD, rec) != 0 ||
        (s = offpay_record_decode(&it->rec, it->rec_bin, it->rec_len)) != OFFPAY_OK) {
        reply_error(rq, 400, "bad_field", "records[%zu].record is not a well-formed OP1REC payment record.", i);
        return -1;
    }
    if (conf != NULL &&
        (text_message(it->conf_bin, sizeof it->conf_bin, &it->conf_len, OFFPAY_MSG_CONFIRMATION, conf) != 0 ||
         offpay_confirmation_decode(&it->conf, it->conf_bin, it->conf_len) != OFFPAY_OK)) {
        reply_error(rq, 400, "bad_field", "records[%zu].confirmation is not a well-formed OP1CNF confirmation.", i);
        return -1;
    }
    if (ref != NULL && (text_message(it->ref_bin, sizeof it->ref_bin, &it->ref_len, OFFPAY_MSG_REFUSAL, ref) != 0 ||
                        offpay_refusal_decode(&it->ref, it->ref_bin, it->ref_len) != OFFPAY_OK)) {
        reply_error(rq, 400, "bad_field", "records[%zu].refusal is not a well-formed OP1REF refusal.", i);
        return -1;
    }
    if (conf != NULL && ref != NULL) {
        reply_error(rq, 400, "bad_field", "records[%zu] has both a confirmation and a refusal.", i);
        return -1;
    }
    offpay_record_id(it->id, &it->rec);
    return 0;
}

static const char *outcome_name(int o)
{
    return o == SYNC_SETTLED ? "settled" : o == SYNC_VOIDED ? "voided" : "rejected";
}

/* Append the caller's attested output of a settled record. */
static int add_output(struct request *rq, json_t *utxos, const struct sync_item *it)
{
    struct offpay_utxo o;
    unsigned idx = it->caller_is_payee ? 0 : 1;
    if (idx == 1 && it->rec.change_amount == 0)
        return 0;
    if (offpay_record_output(&o, &it->rec, it->id, idx) != OFFPAY_OK)
        return -1;
    char *t = utxo_text(rq->srv, o.id, o.owner, o.amount);
    int rc = t != NULL && json_array_append_new(utxos, json_string(t)) == 0 ? 0 : -1;
    free(t);
    return rc;
}

/* The items of a batch (a few kilobytes each) are kept per worker thread
 * and reused, so a big batch does not map and fault in fresh pages each time. */
static pthread_key_t items_key;
static pthread_once_t items_once = PTHREAD_ONCE_INIT;

struct items_buf {
    struct sync_item *items;
    size_t cap;
};

static void items_free(void *p)
{
    struct items_buf *b = p;
    if (b != NULL) {
        free(b->items);
        free(b);
    }
}

static void items_key_make(void) { (void)pthread_key_create(&items_key, items_free); }

static struct sync_item *items_get(size_t n)
{
    struct items_buf *b;
    pthread_once(&items_once, items_key_make);
    if ((b = pthread_getspecific(items_key)) == NULL) {
        if ((b = calloc(1, sizeof *b)) == NULL)
            return NULL;
        if (pthread_setspecific(items_key, b) != 0) {
            free(b);
            return NULL;
        }
    }
    if (b->cap < n) {
        free(b->items);
        b->cap = 0;
        if ((b->items = malloc(n * sizeof *b->items)) == NULL)
            return NULL;
        b->cap = n;
    }
    return b->items;
}

void ep_sync(struct request *rq)
{
    json_t *arr = json_object_get(rq->json, "records"), *v;
    struct sync_item *items = NULL;
    char *limits = NULL, *revocation = NULL;
    size_t i, n;

    if (!json_is_array(arr) || json_array_size(arr) > OFFPAYD_SYNC_MAX) {
        reply_error(rq, 400, "bad_field", "The field \"records\" must be an array of 0 to %d items.", OFFPAYD_SYNC_MAX);
        return;
    }
    n = json_array_size(arr);
    if (n > 0 && (items = items_get(n)) == NULL) {
        reply_error(rq, 500, "internal", "Out of memory.");
        return;
    }
    json_array_foreach(arr, i, v) {
        if (decode_item(rq, i, v, &items[i]) != 0)
            goto out;
    }
    /* The same record twice in one batch is answered twice, settled once:
     * apply sees it settled the second time. */
    for (i = 0; i < n; i++)
        settle_verify(rq->srv, rq->wallet.public_key, rq->now, &items[i]);
    if (settle_apply(rq, items, n) != 0)
        goto out;

    json_t *results = json_array(), *utxos = json_array();
    int ok = results != NULL && utxos != NULL;
    char hex[2 * OFFPAY_RECORD_ID_BYTES + 1];
    for (i = 0; ok && i < n; i++) {
        const struct sync_item *it = &items[i];
        offpay_hex(hex, it->id, sizeof it->id);
        json_t *r = json_pack("{s:s,s:s}", "record", hex, "status", outcome_name(it->outcome));
        if (r != NULL && it->outcome == SYNC_REJECTED)
            json_object_set_new(r, "reason", json_string(it->reason ? it->reason : "invalid"));
        ok = r != NULL && json_array_append_new(results, r) == 0;
        if (ok && it->outcome == SYNC_SETTLED)
            ok = add_output(rq, utxos, it) == 0;
    }
    limits = limits_text(rq->srv, rq->l, rq->wallet.id);
    revocation = revocation_text(rq->srv, rq->l);
    if (!ok || limits == NULL || revocation == NULL) {
        json_decref(results);
        json_decref(utxos);
        fprintf(stderr, "offpayd: sync settled but its answer could not be built\n");
        reply_error(rq, 500, "internal", "The records were processed but the answer could not be built; sync again.");
        goto out;
    }
    reply_json(rq, 200,
               json_pack("{s:o,s:o,s:s,s:s}", "results", results, "utxos", utxos, "limits", limits, "revocation",
                         revocation));
out:
    free(limits);
    free(revocation);
}

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
#include "sync_body.h"

/* Decode one text-form message of type want from a string of the body. */
static int text_field(uint8_t *bin, size_t cap, size_t *len, int want, const struct sync_body_str *f)
{
    int type;
    if (f->escaped) /* text form is plain ASCII: an escaped one is not canonical */
        return -1;
    return offpay_text_decode(bin, cap, len, &type, want, f->p, f->len) == OFFPAY_OK ? 0 : -1;
}

static int decode_item(struct request *rq, size_t i, const struct sync_body_item *in, struct sync_item *it)
{
    /* Items are reused between requests: reset what decoding does not always write. */
    it->rec_len = it->conf_len = it->ref_len = 0;
    it->caller_is_payer = it->caller_is_payee = it->known = 0;
    it->outcome = SYNC_PENDING;
    it->reason = NULL;
    if (text_field(it->rec_bin, sizeof it->rec_bin, &it->rec_len, OFFPAY_MSG_RECORD, &in->record) != 0 ||
        offpay_record_decode(&it->rec, it->rec_bin, it->rec_len) != OFFPAY_OK) {
        reply_error(rq, 400, "bad_field", "records[%zu].record is not a well-formed OP1REC payment record.", i);
        return -1;
    }
    if (in->confirmation.p != NULL &&
        (text_field(it->conf_bin, sizeof it->conf_bin, &it->conf_len, OFFPAY_MSG_CONFIRMATION, &in->confirmation) !=
             0 ||
         offpay_confirmation_decode(&it->conf, it->conf_bin, it->conf_len) != OFFPAY_OK)) {
        reply_error(rq, 400, "bad_field", "records[%zu].confirmation is not a well-formed OP1CNF confirmation.", i);
        return -1;
    }
    if (in->refusal.p != NULL &&
        (text_field(it->ref_bin, sizeof it->ref_bin, &it->ref_len, OFFPAY_MSG_REFUSAL, &in->refusal) != 0 ||
         offpay_refusal_decode(&it->ref, it->ref_bin, it->ref_len) != OFFPAY_OK)) {
        reply_error(rq, 400, "bad_field", "records[%zu].refusal is not a well-formed OP1REF refusal.", i);
        return -1;
    }
    if (in->confirmation.p != NULL && in->refusal.p != NULL) {
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

/* ---- the answer, written as JSON text directly ---- */

/* A growing text buffer; oom sticks once an allocation failed. */
struct out {
    char *p;
    size_t len, cap;
    int oom;
};

static char *out_room(struct out *o, size_t n)
{
    if (o->oom)
        return NULL;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (p == NULL) {
            o->oom = 1;
            return NULL;
        }
        o->p = p;
        o->cap = cap;
    }
    return o->p + o->len;
}

/* Append s; every string written is our own ASCII (hex, base32 text,
 * fixed codes), which JSON needs no escape for. */
static void out_str(struct out *o, const char *s)
{
    size_t n = strlen(s);
    char *d = out_room(o, n);
    if (d != NULL) {
        memcpy(d, s, n + 1);
        o->len += n;
    }
}

/* For a settled record the caller is the payee of: did its output go to the
 * online balance (settle.c's waterfall)?  Settled by this sync, the item
 * says; settled before, the ledger does: a settled record's payee output
 * is in the ledger (spent or not) exactly when it did not.  Sets
 * it->waterfall; returns -1 when the ledger cannot tell. */
static int waterfall_known(struct request *rq, struct sync_item *it)
{
    struct offpay_utxo u;
    struct offpay_ledger_utxo coin;
    /* Between shards, delivery on the payee's shard decided it (relay.c), even for a fresh one. */
    int crossed = it->payer_shard != NULL && it->payee_shard != it->payer_shard;
    if (it->outcome != SYNC_SETTLED || !it->caller_is_payee || (it->fresh && !crossed) || rq->l == NULL)
        return 0;
    if (offpay_record_output(&u, &it->rec, it->id, 0) != OFFPAY_OK)
        return -1;
    enum offpay_ledger_result r = rq->l->ops->utxo_get(rq->l, u.owner, u.id, &coin);
    if (r != OFFPAY_LEDGER_OK && r != OFFPAY_LEDGER_NOT_FOUND)
        return -1;
    it->waterfall = r == OFFPAY_LEDGER_NOT_FOUND;
    return 0;
}

/* Append the caller's attested output of a settled record as a JSON string. */
static void out_output(struct out *o, struct request *rq, const struct sync_item *it, int *first)
{
    struct offpay_utxo u;
    uint8_t bin[OFFPAY_UTXO_BYTES];
    unsigned idx = it->caller_is_payee ? 0 : 1;
    if (idx == 1 && it->rec.change_amount == 0)
        return;
    if (idx == 0 && it->waterfall)
        return; /* no coin: it went to the online balance */
    if (offpay_record_output(&u, &it->rec, it->id, idx) != OFFPAY_OK ||
        offpay_utxo_attest_with(&u, &rq->srv->issuer) != OFFPAY_OK) {
        o->oom = 1;
        return;
    }
    size_t n = offpay_utxo_encode(bin, sizeof bin, &u), tl = offpay_text_len(n);
    out_str(o, *first ? "\"" : ",\"");
    char *d = out_room(o, tl + 2);
    if (d == NULL || n == 0 || offpay_text_encode(d, tl + 1, bin, n) != OFFPAY_OK) {
        o->oom = 1;
        return;
    }
    o->len += tl;
    out_str(o, "\"");
    *first = 0;
}

/* The scratch memory of one sync: its items (almost 6 KiB each, so 6 MiB
 * for a full batch) and where their strings lie in the body.  A few are
 * kept for the whole process and reused, so a big batch does not map and
 * fault in fresh pages each time; they are not kept per thread, because a
 * kept-alive connection keeps its thread, and 256 such threads would keep
 * a gigabyte and a half. */
#define SCRATCH_KEEP 8

struct scratch {
    struct scratch *next;
    struct sync_item *items;
    size_t cap;
    struct sync_body_item parsed[OFFPAYD_SYNC_MAX];
};

static pthread_mutex_t scratch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct scratch *scratch_pool;
static size_t scratch_pooled;

static struct scratch *scratch_take(void)
{
    pthread_mutex_lock(&scratch_lock);
    struct scratch *sc = scratch_pool;
    if (sc != NULL) {
        scratch_pool = sc->next;
        scratch_pooled--;
    }
    pthread_mutex_unlock(&scratch_lock);
    return sc != NULL ? sc : calloc(1, sizeof *sc);
}

static void scratch_give(struct scratch *sc)
{
    if (sc == NULL)
        return;
    pthread_mutex_lock(&scratch_lock);
    if (scratch_pooled < SCRATCH_KEEP) {
        sc->next = scratch_pool;
        scratch_pool = sc;
        scratch_pooled++;
        sc = NULL;
    }
    pthread_mutex_unlock(&scratch_lock);
    if (sc != NULL) {
        free(sc->items);
        free(sc);
    }
}

/* Room for n items in sc; NULL when out of memory. */
static struct sync_item *scratch_items(struct scratch *sc, size_t n)
{
    if (sc->cap < n) {
        free(sc->items);
        sc->cap = 0;
        if ((sc->items = malloc(n * sizeof *sc->items)) == NULL)
            return NULL;
        sc->cap = n;
    }
    return sc->items;
}

static void sync_with(struct request *rq, struct scratch *sc);

/* ---- ledgers of several shards ---- */

/* Where each pending item settles (its payer's shard) and where its payee
 * lives: the caller's own shard when the caller is the payee, the shard
 * the confirmation's certificate names, else wherever the key is enrolled.
 * Returns 0, or -1 with a 503 reply (a shard that might hold the payee did
 * not answer). */
static int route(struct request *rq, struct sync_item *items, size_t n)
{
    struct offpayd *srv = rq->srv;
    for (size_t i = 0; i < n; i++) {
        struct sync_item *it = &items[i];
        struct offpay_ledger_wallet w;
        it->payer_shard = shard_of_wallet(srv, it->rec.payer.wallet_id);
        if (it->caller_is_payee)
            it->payee_shard = rq->shard;
        else if (it->conf_len > 0 && it->outcome == SYNC_PENDING) /* verified: the payee's own certificate */
            it->payee_shard = shard_of_wallet(srv, it->conf.payee.wallet_id);
        else if (it->outcome != SYNC_PENDING)
            it->payee_shard = it->payer_shard; /* rejected already: settles nowhere */
        else {
            int r = shard_find_key(srv, it->rec.payee_key, &it->payee_shard, &w);
            if (r < 0) {
                reply_error(rq, 503, "shard_unavailable", "A shard of the ledger that may hold a record's payee does "
                            "not answer; nothing was changed: sync again later.");
                return -1;
            }
            if (r > 0)
                it->payee_shard = it->payer_shard; /* enrolled nowhere: rejected unknown_payee there */
        }
    }
    return 0;
}

/* Settle each item on its payer's shard: the caller's own shard first, in
 * the transaction that also stores the request's nonce, then each other
 * shard that has items, in a transaction of its own.  Then deliver what a
 * settlement sent to another shard; a payee is handed its coin only once
 * it is on its own shard.  Returns 0, or -1 with the reply set. */
static int settle_sharded(struct request *rq, struct sync_item *items, size_t n)
{
    struct offpayd *srv = rq->srv;
    struct shard *home = rq->shard;
    if (route(rq, items, n) != 0 || settle_apply(rq, items, n) != 0)
        return -1;
    for (unsigned s = 0; s < srv->n_shards; s++) {
        struct shard *sh = &srv->shard[s];
        size_t k = 0;
        while (k < n && items[k].payer_shard != sh)
            k++;
        if (sh == home || k == n)
            continue;
        rq->no_nonce = 1;
        int rc = request_use_shard(rq, sh) == 0 ? settle_apply(rq, items, n) : (reply_storage_failed(rq, 0), -1);
        rq->no_nonce = 0;
        if (rc != 0) {
            (void)request_use_shard(rq, home);
            if (rq->status == 503) /* what the other shards settled stays settled */
                reply_error(rq, 503, "shard_unavailable", "The shard of the ledger that holds some of these records' "
                            "payers does not answer; the other records may have settled: sync again later.");
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct sync_item *it = &items[i];
        if (it->outcome != SYNC_SETTLED || it->payee_shard == it->payer_shard)
            continue;
        if (!it->caller_is_payee && !srv->deliver_now)
            continue; /* tests: the relay delivers it */
        if (deliver_record(srv, it->payer_shard, it->id, &it->rec) != 0 && it->caller_is_payee) {
            (void)request_use_shard(rq, home);
            reply_error(rq, 503, "shard_unavailable", "A record is settled, but the shard holding your account does "
                        "not answer, so its coin cannot be handed out yet: sync again later.");
            return -1;
        }
    }
    if (request_use_shard(rq, home) != 0) {
        reply_storage_failed(rq, 0);
        return -1;
    }
    return 0;
}

void ep_sync(struct request *rq)
{
    struct scratch *sc = scratch_take();
    if (sc == NULL) {
        reply_error(rq, 500, "internal", "Out of memory.");
        return;
    }
    sync_with(rq, sc);
    scratch_give(sc);
}

/* Mark the items that shard sh holds already (a record lives on its payer's
 * shard).  A failed read leaves them unmarked: verified, which is always right. */
static void look_up_known(struct request *rq, struct shard *sh, struct sync_item *items, size_t n)
{
    struct offpayd *srv = rq->srv;
    struct offpay_ledger_record known;
    size_t i = 0;
    if (srv->n_shards > 1)
        while (i < n && shard_of_wallet(srv, items[i].rec.payer.wallet_id) != sh)
            i++;
    if (i == n)
        return;
    struct offpay_ledger *l = sh == rq->shard ? rq->l : pool_take(sh);
    int ready = 0;
    if (l != NULL && l->ops->prefetch != NULL) {
        /* One statement for the whole batch where the backend can, outside
         * any transaction (one statement reads one snapshot): one round
         * trip, no BEGIN and ROLLBACK. */
        struct offpay_ledger_keys k;
        memset(&k, 0, sizeof k);
        for (size_t j = i; j < n; j++)
            if (srv->n_shards == 1 || shard_of_wallet(srv, items[j].rec.payer.wallet_id) == sh)
                (void)offpay_ledger_keys_add(&k, OFFPAY_LEDGER_KEY_RECORD, items[j].id, NULL);
        ready = l->ops->prefetch(l, &k) == OFFPAY_LEDGER_OK; /* else: all verified */
        offpay_ledger_keys_free(&k);
    } else if (l != NULL) {
        ready = l->ops->begin(l, 0) == OFFPAY_LEDGER_OK;
    }
    if (ready) {
        for (; i < n; i++)
            if (srv->n_shards == 1 || shard_of_wallet(srv, items[i].rec.payer.wallet_id) == sh)
                items[i].known = l->ops->record_get(l, items[i].id, &known) == OFFPAY_LEDGER_OK;
        l->ops->rollback(l);
    }
    if (l != rq->l)
        pool_give(sh, l);
}

static void sync_with(struct request *rq, struct scratch *sc)
{
    struct sync_body_item *parsed = sc->parsed;
    struct sync_item *items = NULL;
    char *limits = NULL, *revocation = NULL, *stamp = NULL, *cert = NULL, msg[160];
    size_t i, n;
    struct out o = {NULL, 0, 0, 0};

    switch (sync_body_parse((const char *)rq->body, rq->body_len, parsed, OFFPAYD_SYNC_MAX, &n, msg, sizeof msg)) {
    case SYNC_BODY_OK:
        break;
    case SYNC_BODY_BAD_FIELD:
        reply_error(rq, 400, "bad_field", "%s", msg);
        return;
    default:
        reply_error(rq, 400, "malformed_json", "The request body is not a JSON object.");
        return;
    }
    if (n > 0 && (items = scratch_items(sc, n)) == NULL) {
        reply_error(rq, 500, "internal", "Out of memory.");
        return;
    }
    for (i = 0; i < n; i++)
        if (decode_item(rq, i, &parsed[i], &items[i]) != 0)
            return;
    /* Records the ledger holds already (the other side brought them first, or
     * this is a re-sync) need no verification: one read transaction looks
     * them up.  If it fails, everything is verified, which is always right. */
    for (unsigned k = 0; k < rq->srv->n_shards && n > 0; k++)
        look_up_known(rq, &rq->srv->shard[k], items, n);
    /* The same record twice in one batch is answered twice, settled once:
     * apply sees it settled the second time. */
    for (i = 0; i < n; i++)
        settle_verify(rq->srv, rq->wallet.public_key, rq->now, &items[i]);
    for (i = 0; i < n; i++)
        items[i].payer_shard = items[i].payee_shard = NULL;
    if ((rq->srv->n_shards == 1 ? settle_apply(rq, items, n) : settle_sharded(rq, items, n)) != 0)
        return;
    metrics_sync(items, n);
    rq->is_sync = 1;
    rq->sync_records = (unsigned)n;
    for (i = 0; i < n; i++) {
        rq->sync_settled += items[i].outcome == SYNC_SETTLED;
        rq->sync_rejected += items[i].outcome == SYNC_REJECTED;
    }

    /* {"results":[{"record":hex,"status":s[,"reason":r][,"waterfall":n]},...],"utxos":[...],"limits":t,"revocation":t,"stamp":t} */
    char hex[2 * OFFPAY_RECORD_ID_BYTES + 1], num[24];
    int first = 1;
    for (i = 0; i < n; i++)
        if (waterfall_known(rq, &items[i]) != 0)
            o.oom = 1; /* answered as a failure below: sync again */
    out_str(&o, "{\"results\":[");
    for (i = 0; i < n; i++) {
        const struct sync_item *it = &items[i];
        offpay_hex(hex, it->id, sizeof it->id);
        out_str(&o, i ? ",{\"record\":\"" : "{\"record\":\"");
        out_str(&o, hex);
        out_str(&o, "\",\"status\":\"");
        out_str(&o, outcome_name(it->outcome));
        if (it->outcome == SYNC_REJECTED) {
            out_str(&o, "\",\"reason\":\"");
            out_str(&o, it->reason ? it->reason : "invalid");
        }
        out_str(&o, "\"");
        if (it->outcome == SYNC_SETTLED && it->caller_is_payee && it->waterfall) {
            snprintf(num, sizeof num, "%llu", (unsigned long long)it->rec.payee_amount);
            out_str(&o, ",\"waterfall\":");
            out_str(&o, num);
        }
        out_str(&o, "}");
    }
    out_str(&o, "],\"utxos\":[");
    for (i = 0; i < n; i++)
        if (items[i].outcome == SYNC_SETTLED)
            out_output(&o, rq, &items[i], &first);
    /* As the sync's transaction read them (settle.c), else read now. */
    if (rq->view.have_limits)
        limits = offpayd_limits_text_of(rq->srv, rq->wallet.id, &rq->view.limits, rq->view.limits_at, rq->view.own);
    else if (rq->l != NULL) /* NULL: the ledger could not be opened again after the commit */
        limits = offpayd_limits_text(rq->srv, rq->l, rq->wallet.id);
    if (rq->l != NULL)
        revocation = rq->view.have_rvl ? offpayd_revocation_text_at(rq->srv, rq->l, rq->view.rvl_serial,
                                                                    rq->view.rvl_at, rq->view.rvl_count)
                                       : offpayd_revocation_text(rq->srv, rq->l);
    /* The wallet synced now: its proof for payees offline (issue 13). */
    stamp = offpayd_stamp_text(rq->srv, rq->wallet.id, rq->now);
    /* The certificate the ledger holds, renewed or not (renew.c). */
    if (rq->cert_len > 0 && (cert = offpayd_message_text(rq->cert_bin, rq->cert_len)) == NULL)
        o.oom = 1;
    if (limits != NULL && revocation != NULL && stamp != NULL) {
        out_str(&o, "],\"limits\":\"");
        out_str(&o, limits);
        out_str(&o, "\",\"revocation\":\"");
        out_str(&o, revocation);
        out_str(&o, "\",\"stamp\":\"");
        out_str(&o, stamp);
        if (cert != NULL) {
            out_str(&o, "\",\"certificate\":\"");
            out_str(&o, cert);
            out_str(&o, rq->cert_renewed ? "\",\"certificate_renewed\":true}" : "\",\"certificate_renewed\":false}");
        } else {
            out_str(&o, "\"}");
        }
    }
    if (o.oom || limits == NULL || revocation == NULL || stamp == NULL) {
        free(o.p);
        fprintf(stderr, "offpayd: sync settled but its answer could not be built\n");
        reply_error(rq, 500, "internal", "The records were processed but the answer could not be built; sync again.");
    } else {
        reply_text(rq, 200, o.p, o.len);
    }
    free(limits);
    free(revocation);
    free(stamp);
    free(cert);
}

/*
 * sync.c - offpay sync (docs/wallet.md "Sync"): settle the calls in doubt,
 * submit every unsynced record, verify the server's whole answer, apply it
 * in one transaction per batch, then recover coins the wallet never saw.
 *
 * Batches stay within what the server takes (include/offpay/api.h): at most
 * OFFPAY_API_SYNC_MAX records and a body of at most OFFPAY_API_BODY_MAX
 * bytes.  A batch is cut where the next record would cross the byte bound,
 * so records of the largest size (16 inputs) go in smaller batches instead
 * of making a body the server refuses at every sync.  Each batch that is
 * applied moves its records out of the unsynced set, so the next one reads
 * the records that follow.
 *
 * A repeated sync is harmless: the server settles once and hands the same
 * attested outputs out again, and the store skips what it holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "offpay/text.h"

#define SYNC_RECORDS_MAX OFFPAY_API_SYNC_MAX
#define SYNC_BODY_MAX OFFPAY_API_BODY_MAX
#define SYNC_BODY_OPEN "{\"records\":["
#define SYNC_BODY_CLOSE "]}"

void offpay_sync_report_free(struct offpay_sync_report *report)
{
    free(report->items);
    free(report->new_utxos);
    free(report->recovered);
    free(report->calls);
    memset(report, 0, sizeof *report);
}

/* An unsynced record, decoded, with the output that becomes ours if it settles. */
struct pending {
    struct wallet_store_pending row;
    struct offpay_record rec;
    struct offpay_utxo expect;
    int has_expect;
};

struct pending_list {
    struct pending *p;
    size_t n;
    int damaged;
};

static int pending_add(void *ctx, const struct wallet_store_pending *row)
{
    struct pending_list *l = ctx;
    struct pending *p = &l->p[l->n];
    p->row = *row;
    if (offpay_record_decode(&p->rec, row->record, row->record_len) != OFFPAY_OK)
        return l->damaged = 1;
    /* The payer's change is output 1, the payee's coin output 0. */
    if (!row->outgoing || p->rec.change_amount > 0)
        p->has_expect = offpay_record_output(&p->expect, &p->rec, row->id, row->outgoing ? 1 : 0) == OFFPAY_OK;
    l->n++;
    return 0;
}

/* The oldest unsynced records, at most one batch of them.  Out: l (p malloc'd). */
static enum offpay_status pending_read(struct offpay_wallet *w, struct pending_list *l)
{
    memset(l, 0, sizeof *l);
    if ((l->p = calloc(SYNC_RECORDS_MAX, sizeof *l->p)) == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading the pending store.");
    enum offpay_status s = wallet_store_pending_each(w->store, SYNC_RECORDS_MAX, pending_add, l);
    if (s == OFFPAY_OK && l->damaged)
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "A stored payment record is damaged.");
    if (s != OFFPAY_OK) {
        free(l->p);
        memset(l, 0, sizeof *l);
    }
    return s;
}

/* A message in its text form, as a JSON string; NULL when it will not encode. */
static json_t *text_json(const uint8_t *bin, size_t len)
{
    size_t cap = offpay_text_len(len) + 1;
    char *text = malloc(cap);
    json_t *j = text != NULL && offpay_text_encode(text, cap, bin, len) == OFFPAY_OK ? json_string(text) : NULL;
    free(text);
    return j;
}

/* One item of the request: the record with the answer the wallet holds. */
static json_t *sync_item(const struct pending *p)
{
    const struct wallet_store_pending *r = &p->row;
    json_t *rec = text_json(r->record, r->record_len);
    json_t *ans = r->answer == WALLET_ANSWER_NONE ? json_null() : text_json(r->answer_msg, r->answer_len);
    if (rec == NULL || ans == NULL) {
        json_decref(rec);
        json_decref(ans);
        return NULL;
    }
    return json_pack("{s:o, s:o, s:o}", "record", rec, "confirmation",
                     r->answer == WALLET_ANSWER_CONFIRMED ? ans : json_null(), "refusal",
                     r->answer == WALLET_ANSWER_REFUSED ? ans : json_null());
}

/*
 * The request body: the first records of l, as many as fit in
 * SYNC_BODY_MAX bytes when sent compactly (as the client sends it).
 * Out: *body, *taken (>= 1).
 */
static enum offpay_status sync_body(struct offpay_wallet *w, const struct pending_list *l, json_t **body, size_t *taken)
{
    size_t size = strlen(SYNC_BODY_OPEN) + strlen(SYNC_BODY_CLOSE);
    json_t *arr = json_array();
    *body = NULL;
    *taken = 0;
    for (size_t i = 0; arr != NULL && i < l->n; i++) {
        json_t *item = sync_item(&l->p[i]);
        size_t item_size = item ? json_dumpb(item, NULL, 0, JSON_COMPACT) + (i > 0) : 0;
        if (item == NULL || item_size == 0) {
            json_decref(item);
            json_decref(arr);
            return wallet_fail(w, OFFPAY_ERR_STORAGE, "A stored payment record cannot be submitted.");
        }
        if (item_size > SYNC_BODY_MAX - size) {
            json_decref(item);
            break; /* the rest goes in the next batch */
        }
        size += item_size;
        json_array_append_new(arr, item);
        (*taken)++;
    }
    if (arr == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory building the sync.");
    if (*taken == 0 && l->n > 0) {
        json_decref(arr);
        return wallet_fail(w, OFFPAY_ERR_INTERNAL, "A pending record is too large for one sync request.");
    }
    if ((*body = json_pack("{s:o}", "records", arr)) == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory building the sync.");
    return OFFPAY_OK;
}

static int reason_ok(const char *r)
{
    size_t n = r ? strlen(r) : 0;
    if (n == 0 || n >= sizeof ((struct offpay_sync_item *)0)->reason)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || r[i] == '_'))
            return 0;
    return 1;
}

/* One result per submitted record, in order, with the same ids, and a status the wallet knows. */
static enum offpay_status check_results(struct offpay_wallet *w, const json_t *results, const struct pending *p,
                                        size_t n)
{
    if (!json_is_array(results) || json_array_size(results) != n)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's sync answer is malformed; nothing changed.");
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(results, i);
        const char *rid = json_string_value(json_object_get(r, "record"));
        const char *st = json_string_value(json_object_get(r, "status"));
        uint8_t id[OFFPAY_RECORD_ID_BYTES];
        if (rid == NULL || offpay_unhex(id, sizeof id, rid) != 0 || memcmp(id, p[i].row.id, sizeof id) != 0 ||
            st == NULL ||
            (strcmp(st, "settled") != 0 && strcmp(st, "voided") != 0 &&
             (strcmp(st, "rejected") != 0 || !reason_ok(json_string_value(json_object_get(r, "reason"))))))
            return wallet_fail(w, OFFPAY_ERR_REJECTED,
                               "The server's sync answer does not match what was sent; nothing changed.");
        /* A waterfall: only for a payment to us that settled, of its whole amount. */
        json_t *wf = json_object_get(r, "waterfall");
        if (wf != NULL && (!json_is_integer(wf) || p[i].row.outgoing || strcmp(st, "settled") != 0 ||
                           json_integer_value(wf) < 0 || (uint64_t)json_integer_value(wf) != p[i].rec.payee_amount))
            return wallet_fail(w, OFFPAY_ERR_REJECTED,
                               "The server's sync answer has a bad waterfall; nothing changed.");
    }
    return OFFPAY_OK;
}

/* The coins handed out: each well-formed, signed by the issuer, ours, and
 * exactly the output of a submitted record that settled.  Out: got[0..*n_got). */
static enum offpay_status check_coins(struct offpay_wallet *w, const json_t *utxos, const json_t *results,
                                      const struct pending *p, size_t n, struct offpay_utxo **got, size_t *n_got)
{
    enum offpay_status s;
    *n_got = 0;
    if (!json_is_array(utxos))
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's sync answer is malformed; nothing changed.");
    if ((*got = calloc(json_array_size(utxos) + 1, sizeof **got)) == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading the sync answer.");
    for (size_t i = 0; i < json_array_size(utxos); i++) {
        struct offpay_utxo u;
        if (wallet_coin_decode(json_array_get(utxos, i), &u) != 0)
            return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server handed out a malformed coin; nothing changed.");
        if ((s = wallet_utxo_check(w, &u)) != OFFPAY_OK)
            return s;
        /* Anything else is not ours to take, and is left out. */
        for (size_t k = 0; k < n; k++) {
            const char *st = json_string_value(json_object_get(json_array_get(results, k), "status"));
            if (p[k].has_expect && strcmp(st, "settled") == 0 &&
                memcmp(p[k].expect.id, u.id, OFFPAY_UTXO_ID_BYTES) == 0 && p[k].expect.amount == u.amount) {
                (*got)[(*n_got)++] = u;
                break;
            }
        }
    }
    return OFFPAY_OK;
}

/* Apply one result to its record (inside the batch's transaction). */
static enum offpay_status apply_result(struct offpay_wallet *w, const struct pending *p, struct offpay_sync_item *it)
{
    const uint8_t *id = p->row.id;
    int out = p->row.outgoing;
    enum offpay_status s = OFFPAY_OK;
    char detail[128];

    if (strcmp(it->status, "settled") == 0) {
        it->was_unconfirmed = out && p->row.answer != WALLET_ANSWER_CONFIRMED;
        /* The inputs are spent for good; the change arrives attested. */
        if (out)
            s = wallet_store_record_coins(w->store, id, WALLET_COINS_DROP_IN_DOUBT, NULL);
        snprintf(detail, sizeof detail, "%s",
                 it->waterfall       ? "settled at sync; over the holding limit, so it went to the online balance"
                 : !out              ? "settled at sync; the coin is spendable"
                 : it->was_unconfirmed ? "settled at sync; the payee's confirmation never arrived, the payment completed anyway"
                                       : "settled at sync");
    } else if (strcmp(it->status, "voided") == 0) {
        /* The payee's refusal voided it at the server: the inputs are ours again. */
        if (out)
            s = wallet_store_record_coins(w->store, id, WALLET_COINS_FREE, NULL);
        snprintf(detail, sizeof detail, "%s", out ? "voided at sync; the coins are spendable again" : "voided by the payer");
    } else {
        const char *r = it->reason;
        /* A rejected record never creates its change.  Its inputs: spendable
         * again when voided; gone when spent elsewhere or never ours to spend;
         * otherwise in doubt still, since the payee might yet settle it. */
        if (out)
            s = wallet_store_record_coins(w->store, id, WALLET_COINS_DROP_LOCKED, NULL);
        if (s == OFFPAY_OK && out && strcmp(r, "voided") == 0)
            s = wallet_store_record_coins(w->store, id, WALLET_COINS_FREE, NULL);
        else if (s == OFFPAY_OK && out &&
                 (strcmp(r, "double_spend") == 0 || strcmp(r, "unknown_input") == 0 || strcmp(r, "revoked") == 0))
            s = wallet_store_record_coins(w->store, id, WALLET_COINS_DROP_IN_DOUBT, NULL);
        snprintf(detail, sizeof detail, "rejected by the server: %s", r);
    }
    if (s == OFFPAY_OK)
        s = wallet_store_record_synced(w->store, id, it->status, it->reason[0] ? it->reason : NULL, wallet_now());
    return s == OFFPAY_OK ? wallet_history_add(w, it->status, p->rec.payee_amount, it->counterparty, id, detail) : s;
}

/* The report's line for result i, before it is applied. */
static void sync_item_fill(struct offpay_sync_item *it, const struct pending *p, const json_t *result)
{
    const char *status = json_string_value(json_object_get(result, "status"));
    memset(it, 0, sizeof *it);
    memcpy(it->record_id, p->row.id, OFFPAY_RECORD_ID_BYTES);
    it->outgoing = p->row.outgoing;
    it->amount = p->rec.payee_amount;
    snprintf(it->status, sizeof it->status, "%s", status);
    if (strcmp(status, "rejected") == 0)
        snprintf(it->reason, sizeof it->reason, "%s", json_string_value(json_object_get(result, "reason")));
    if (json_object_get(result, "waterfall") != NULL) /* checked: the record's whole amount */
        it->waterfall = p->rec.payee_amount;
    /* The payee's account is in the stored row; the payer's is in the record. */
    snprintf(it->counterparty, sizeof it->counterparty, "%s",
             p->row.outgoing ? p->row.counterparty : p->rec.payer.account);
}

/* The verified answer, in one transaction: every result, the coins, the
 * limits and the revocation list.  Out: items[0..n). */
struct sync_docs {
    struct offpay_limits_policy policy;
    uint8_t *rev;
    size_t rev_len;
    uint8_t stamp[OFFPAY_STAMP_BYTES];
    size_t stamp_len;
    struct offpay_cert cert; /* a renewed certificate, when cert_len > 0 */
    uint8_t cert_bin[OFFPAY_CERT_BYTES_MAX];
    size_t cert_len;
};

/* A renewed certificate replaces ours, with a history line. */
static enum offpay_status renewal_store(struct offpay_wallet *w, const struct sync_docs *d)
{
    char detail[96];
    time_t t = (time_t)d->cert.not_after;
    struct tm tm;
    enum offpay_status s;
    if (d->cert_len == 0)
        return OFFPAY_OK;
    if ((s = wallet_store_cert_set(w->store, d->cert_bin, d->cert_len)) != OFFPAY_OK)
        return s;
    snprintf(detail, sizeof detail, "certificate renewed by the server");
    if (gmtime_r(&t, &tm) != NULL)
        strftime(detail, sizeof detail, "certificate renewed by the server, valid until %Y-%m-%d %H:%M:%S UTC", &tm);
    return wallet_history_add(w, "renew", 0, NULL, NULL, detail);
}

static enum offpay_status sync_apply(struct offpay_wallet *w, const struct pending *p, size_t n, const json_t *results,
                                     const struct offpay_utxo *got, size_t n_got, const struct sync_docs *d,
                                     struct offpay_sync_item *items)
{
    const struct offpay_limits_policy *policy = &d->policy;
    enum offpay_status s = wallet_store_begin(w->store);
    if (s != OFFPAY_OK)
        return s;
    for (size_t i = 0; i < n && s == OFFPAY_OK; i++) {
        sync_item_fill(&items[i], &p[i], json_array_get(results, i));
        s = apply_result(w, &p[i], &items[i]);
    }
    /* The offline time limit counts from here: the server has seen every
     * record of this batch and handed out its limits and revocation list. */
    if (s == OFFPAY_OK && (s = wallet_utxos_insert(w, got, n_got, NULL)) == OFFPAY_OK &&
        (s = wallet_limits_store(w, policy)) == OFFPAY_OK &&
        (s = wallet_revocation_store(w, d->rev, d->rev_len)) == OFFPAY_OK &&
        (s = wallet_stamp_store(w, d->stamp, d->stamp_len)) == OFFPAY_OK && (s = renewal_store(w, d)) == OFFPAY_OK &&
        (s = wallet_store_synced_set(w->store, wallet_now())) == OFFPAY_OK &&
        (s = wallet_store_commit(w->store)) == OFFPAY_OK) {
        if (d->cert_len > 0)
            w->cert = d->cert; /* stored: the wallet goes on with its new certificate */
        return OFFPAY_OK;
    }
    wallet_store_rollback(w->store);
    return s;
}

/* The certificate the server holds for us (issue 13), when it is a renewal:
 * the issuer's, for this very wallet (id, key, account), ending later than
 * ours.  Out: bin[0..*len) and *c when it is; *len = 0 when the answer has
 * none or the same one. */
static enum offpay_status check_certificate(struct offpay_wallet *w, const json_t *resp, struct offpay_cert *c,
                                            uint8_t bin[OFFPAY_CERT_BYTES_MAX], size_t *len)
{
    enum offpay_status s;
    *len = 0;
    if (json_object_get(resp, "certificate") == NULL)
        return OFFPAY_OK; /* a server from before renewals */
    if ((s = wallet_field_text(w, resp, "certificate", OFFPAY_MSG_CERT, bin, OFFPAY_CERT_BYTES_MAX, len)) != OFFPAY_OK)
        return s;
    if (offpay_cert_decode(c, bin, *len) != OFFPAY_OK ||
        offpay_cert_verify(c, w->issuer_pk, NULL, c->not_before) != OFFPAY_OK ||
        memcmp(c->wallet_id, w->cert.wallet_id, OFFPAY_WALLET_ID_BYTES) != 0 ||
        memcmp(c->public_key, w->cert.public_key, OFFPAY_PUBLIC_KEY_BYTES) != 0 ||
        strcmp(c->account, w->cert.account) != 0) {
        *len = 0;
        return wallet_fail(w, OFFPAY_ERR_REJECTED,
                           "The server's certificate is not the issuer's or not this wallet's; nothing changed.");
    }
    if (c->not_after <= w->cert.not_after)
        *len = 0; /* ours, or an older one: nothing to renew */
    return OFFPAY_OK;
}

/* Room in the report for n more items and n_got more coins. */
static enum offpay_status report_grow(struct offpay_wallet *w, struct offpay_sync_report *rep, size_t n, size_t n_got)
{
    struct offpay_sync_item *items = realloc(rep->items, (rep->submitted + n + 1) * sizeof *items);
    if (items)
        rep->items = items;
    struct offpay_wallet_utxo *nu = realloc(rep->new_utxos, (rep->n_new_utxos + n_got + 1) * sizeof *nu);
    if (nu)
        rep->new_utxos = nu;
    return items && nu ? OFFPAY_OK : wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the sync report.");
}

/* Count what a batch that was applied did. */
static void report_batch(struct offpay_sync_report *rep, size_t n, const struct offpay_utxo *got, size_t n_got,
                         const uint8_t *rev, size_t rev_len)
{
    struct offpay_revocation rl;
    for (size_t i = 0; i < n; i++) {
        const char *status = rep->items[rep->submitted + i].status;
        rep->settled += strcmp(status, "settled") == 0;
        rep->voided += strcmp(status, "voided") == 0;
        rep->rejected += strcmp(status, "rejected") == 0;
    }
    for (size_t i = 0; i < n_got; i++) {
        struct offpay_wallet_utxo *o = &rep->new_utxos[rep->n_new_utxos++];
        memcpy(o->id, got[i].id, OFFPAY_UTXO_ID_BYTES);
        o->amount = got[i].amount;
        o->state = OFFPAY_UTXO_SPENDABLE;
    }
    rep->submitted += n;
    rep->limits_updated = 1;
    if (offpay_revocation_decode(&rl, rev, rev_len) == OFFPAY_OK)
        rep->revoked_count = rl.count;
}

/* Verify the whole answer to a batch of n records, then apply it. */
static enum offpay_status sync_answer(struct offpay_wallet *w, struct offpay_sync_report *rep, const json_t *resp,
                                      const struct pending *p, size_t n)
{
    json_t *results = json_object_get(resp, "results");
    struct offpay_utxo *got = NULL;
    struct sync_docs *d = calloc(1, sizeof *d);
    size_t n_got = 0;
    enum offpay_status s = d ? check_results(w, results, p, n) : wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory.");
    if (s == OFFPAY_OK)
        s = check_coins(w, json_object_get(resp, "utxos"), results, p, n, &got, &n_got);
    if (s == OFFPAY_OK)
        s = wallet_field_policy(w, resp, &d->policy, &d->rev, &d->rev_len);
    if (s == OFFPAY_OK)
        s = wallet_field_stamp(w, resp, d->stamp, &d->stamp_len);
    if (s == OFFPAY_OK)
        s = check_certificate(w, resp, &d->cert, d->cert_bin, &d->cert_len);
    if (s == OFFPAY_OK)
        s = report_grow(w, rep, n, n_got);
    if (s == OFFPAY_OK)
        s = sync_apply(w, p, n, results, got, n_got, d, rep->items + rep->submitted);
    if (s == OFFPAY_OK) {
        report_batch(rep, n, got, n_got, d->rev, d->rev_len);
        if (d->cert_len > 0)
            rep->certificate_renewed_until = d->cert.not_after;
    }
    free(got);
    if (d)
        free(d->rev);
    free(d);
    return s;
}

/* One batch: the oldest unsynced records that fit in one request, submitted
 * and applied.  Out: *more, when unsynced records may be left. */
static enum offpay_status sync_batch(struct offpay_wallet *w, struct offpay_sync_report *rep, int *more)
{
    struct pending_list l;
    json_t *body = NULL, *resp = NULL;
    size_t taken = 0;
    enum offpay_status s;

    *more = 0;
    if ((s = pending_read(w, &l)) != OFFPAY_OK)
        return s;
    if ((s = sync_body(w, &l, &body, &taken)) == OFFPAY_OK &&
        (s = wallet_call_simple(w, "POST", "/v1/sync", body, &resp)) == OFFPAY_OK &&
        (s = sync_answer(w, rep, resp, l.p, taken)) == OFFPAY_OK)
        *more = taken < l.n || l.n == SYNC_RECORDS_MAX;
    free(l.p);
    json_decref(body);
    json_decref(resp);
    return s;
}

enum offpay_status offpay_wallet_sync(struct offpay_wallet *w, struct offpay_sync_report *report)
{
    uint64_t out = 0, in = 0, in_sum = 0;
    enum offpay_status s;
    int more = 1;
    memset(report, 0, sizeof *report);
    w->err[0] = '\0';
    /* Calls whose answer was lost first, under the call lock: the server
     * says what became of each (and cancels what never arrived). */
    int fd = wallet_call_lock(w);
    if (fd < 0)
        return OFFPAY_ERR_STORAGE;
    s = wallet_calls_settle(w, report);
    close(fd);
    if (s != OFFPAY_OK || (s = wallet_store_pending_totals(w->store, &out, &in, &in_sum)) != OFFPAY_OK)
        return s;
    /* Each batch is one transaction and takes at least one record out of
     * the unsynced set, so there are no more batches than records (and one
     * batch, with none, refreshes limits and revocation list). */
    for (uint64_t round = 0; more && round <= out + in; round++)
        if ((s = sync_batch(w, report, &more)) != OFFPAY_OK)
            return s;
    /* The sync is done; a failed recovery only warns (the next sync retries). */
    if (wallet_recover(w, report) != OFFPAY_OK) {
        snprintf(report->recovery_warning, sizeof report->recovery_warning, "%s",
                 w->err[0] ? w->err : "The server's list of our coins could not be read.");
        w->err[0] = '\0';
    }
    return OFFPAY_OK;
}

/*
 * handshake.c - the offline payment between two wallets (claims 1, 2, 4, 5).
 *
 * Each step is a function from one encoded message to the next, so files,
 * QR codes and direct connections share it.  A step checks everything it can
 * before it opens its transaction, then re-checks what another process could
 * have changed inside the transaction, and writes all its changes at once.
 * The secret key is loaded only around the signature and wiped on every path.
 * Every function here ends through one cleanup path or returns early, never
 * both: a transaction that was begun is rolled back unless it committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static void hex_short(char out[17], const uint8_t *id)
{
    offpay_hex(out, id, 8);
}

/* This wallet's own certificate must be valid to pay or be paid: a payee
 * (or a payer) refuses it otherwise.  An ended one says what to do. */
static enum offpay_status own_cert_check(struct offpay_wallet *w, uint64_t now)
{
    char when[64] = "?";
    time_t t = (time_t)w->cert.not_after;
    struct tm tm;
    if (now <= w->cert.not_after)
        return OFFPAY_OK;
    if (gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return wallet_fail(w, OFFPAY_ERR_CERT_EXPIRED,
                       "This wallet's certificate ended at %s, so other wallets refuse it; run `offpay sync` to renew "
                       "it (if the server refuses, the wallet was revoked: enrol a new device with `offpay init`); "
                       "nothing changed.", when);
}

/* ---- payee: request ---- */

enum offpay_status offpay_wallet_request_create(struct offpay_wallet *w, uint8_t *out, size_t out_cap, size_t *out_len,
                                                uint64_t amount)
{
    struct offpay_request req;
    uint8_t nonce[OFFPAY_NONCE_BYTES];
    const struct offpay_signer *key;
    enum offpay_status s;

    *out_len = 0;
    w->err[0] = '\0';
    if (amount == 0)
        return wallet_fail(w, OFFPAY_ERR_ZERO_AMOUNT, "The amount must be a positive whole number.");
    if (amount > WALLET_AMOUNT_MAX)
        return wallet_fail(w, OFFPAY_ERR_AMOUNT_OVERFLOW, "The amount is too large.");
    if (out_cap < OFFPAY_REQUEST_BYTES_MAX)
        return wallet_fail(w, OFFPAY_ERR_BUFFER_TOO_SMALL, "The output buffer is too small for a request.");
    if ((s = own_cert_check(w, wallet_now())) != OFFPAY_OK)
        return s;
    offpay_random(nonce, sizeof nonce);
    if ((s = wallet_signer(w, &key)) != OFFPAY_OK)
        return s;
    s = offpay_request_build_with(&req, &w->cert, key, amount, nonce);
    if (s == OFFPAY_ERR_KEY_UNAVAILABLE)
        return wallet_signed(w, s, "the request");
    if (s != OFFPAY_OK)
        return wallet_fail(w, s, "The request cannot be built: %s", offpay_status_str(s));
    size_t n = offpay_request_encode(out, out_cap, &req);
    if (n == 0)
        return wallet_fail(w, OFFPAY_ERR_INTERNAL, "The request cannot be encoded.");
    if ((s = wallet_store_begin(w->store)) != OFFPAY_OK)
        return s;
    if ((s = wallet_store_request_insert(w->store, nonce, amount, out, n, wallet_now())) != OFFPAY_OK ||
        (s = wallet_history_add(w, "request", amount, NULL, NULL, "payment request created")) != OFFPAY_OK ||
        (s = wallet_store_commit(w->store)) != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        memset(out, 0, n);
        return s;
    }
    *out_len = n;
    return OFFPAY_OK;
}

/* ---- payer: pay ---- */

/* The coins of the wallet, as the selection rule sees them. */
struct coin_list {
    size_t n, cap;
    struct offpay_coin *coins;
    uint8_t (*ids)[OFFPAY_UTXO_ID_BYTES];
    int nomem;
};

static void coin_list_free(struct coin_list *c)
{
    free(c->coins);
    free(c->ids);
    memset(c, 0, sizeof *c);
}

static int coin_list_add(void *ctx, const struct offpay_wallet_utxo *u)
{
    struct coin_list *c = ctx;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 32;
        struct offpay_coin *nc = realloc(c->coins, ncap * sizeof *nc);
        if (nc)
            c->coins = nc;
        uint8_t(*ni)[OFFPAY_UTXO_ID_BYTES] = nc ? realloc(c->ids, ncap * sizeof *ni) : NULL;
        if (ni)
            c->ids = ni;
        if (nc == NULL || ni == NULL)
            return c->nomem = 1;
        c->cap = ncap;
    }
    c->coins[c->n].amount = u->amount;
    c->coins[c->n].state = u->state == OFFPAY_UTXO_SPENDABLE ? OFFPAY_COIN_SPENDABLE
                           : u->state == OFFPAY_UTXO_LOCKED  ? OFFPAY_COIN_LOCKED
                                                             : OFFPAY_COIN_IN_DOUBT;
    memcpy(c->ids[c->n], u->id, OFFPAY_UTXO_ID_BYTES);
    c->n++;
    return 0;
}

static enum offpay_status coins_read(struct offpay_wallet *w, struct coin_list *c)
{
    memset(c, 0, sizeof *c);
    enum offpay_status s = wallet_store_coins_each(w->store, coin_list_add, c);
    if (s == OFFPAY_OK && c->nomem)
        s = wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading coins.");
    if (s != OFFPAY_OK)
        coin_list_free(c);
    return s;
}

static enum offpay_status limit_refusal(struct offpay_wallet *w, enum offpay_status s, const struct offpay_wallet_limits *l,
                                        uint64_t amount)
{
    const struct offpay_limits *e = &l->effective;
    switch (s) {
    case OFFPAY_ERR_LIMIT_PER_PAYMENT:
        return wallet_fail(w, s, "Refused: %llu is not below the per-payment offline limit of %llu.",
                           (unsigned long long)amount, (unsigned long long)e->per_payment);
    case OFFPAY_ERR_LIMIT_OFFLINE_TOTAL:
        return wallet_fail(w, s, "Refused: %llu already unsynced plus %llu would reach the offline-total limit of %llu; sync first.",
                           (unsigned long long)l->unsynced_total, (unsigned long long)amount,
                           (unsigned long long)e->offline_total);
    case OFFPAY_ERR_LIMIT_COUNT:
        return wallet_fail(w, s, "Refused: the count limit of %u offline payments per %u seconds has been reached.",
                           e->count, e->period);
    default:
        return wallet_fail(w, s, "%s", offpay_status_str(s));
    }
}

static enum offpay_status funds_refusal(struct offpay_wallet *w, enum offpay_status s, const struct coin_list *c,
                                        uint64_t amount)
{
    uint64_t spendable = 0, locked = 0, doubt = 0;
    for (size_t i = 0; i < c->n; i++) {
        uint64_t *t = c->coins[i].state == OFFPAY_COIN_SPENDABLE ? &spendable
                      : c->coins[i].state == OFFPAY_COIN_LOCKED  ? &locked
                                                                 : &doubt;
        *t = c->coins[i].amount > UINT64_MAX - *t ? UINT64_MAX : *t + c->coins[i].amount;
    }
    if (s == OFFPAY_ERR_FUNDS_LOCKED)
        return wallet_fail(w, s, "Not enough spendable offline funds for %llu: %llu is spendable, %llu is change locked until its payment is synced and %llu is in doubt; sync first.",
                           (unsigned long long)amount, (unsigned long long)spendable, (unsigned long long)locked,
                           (unsigned long long)doubt);
    if (s == OFFPAY_ERR_INSUFFICIENT_FUNDS)
        return wallet_fail(w, s, "Not enough spendable offline funds for %llu: only %llu is spendable; load more.",
                           (unsigned long long)amount, (unsigned long long)spendable);
    return wallet_fail(w, s, "%s", offpay_status_str(s));
}

/* The request to pay, checked before any transaction: it decodes, the
 * payee's certificate is good and not revoked ([0073]), it is signed, and it
 * is not this wallet's own. */
static enum offpay_status pay_request_check(struct offpay_wallet *w, struct offpay_request *req, const uint8_t *request,
                                            size_t request_len, uint64_t now)
{
    struct offpay_revocation rev;
    uint8_t *rev_blob = NULL;
    enum offpay_status s;
    if ((s = offpay_request_decode(req, request, request_len)) != OFFPAY_OK)
        return wallet_fail(w, s, "The payment request is malformed: %s", offpay_status_str(s));
    if (req->amount > WALLET_AMOUNT_MAX)
        return wallet_fail(w, OFFPAY_ERR_AMOUNT_OVERFLOW, "The requested amount is too large.");
    if ((s = wallet_revocation_load(w, &rev, &rev_blob)) != OFFPAY_OK)
        return s;
    s = offpay_request_verify(req, w->issuer_pk, &rev, now);
    free(rev_blob);
    if (s != OFFPAY_OK)
        return wallet_fail(w, s, "The payment request does not verify: %s", offpay_status_str(s));
    if (memcmp(req->payee.public_key, w->cert.public_key, OFFPAY_PUBLIC_KEY_BYTES) == 0 ||
        memcmp(req->payee.wallet_id, w->cert.wallet_id, OFFPAY_WALLET_ID_BYTES) == 0)
        return wallet_fail(w, OFFPAY_ERR_SELF_PAYMENT, "This request comes from this wallet; a wallet cannot pay itself.");
    return OFFPAY_OK;
}

/* The offline time limit (issue 13): since when, and what to do. */
static enum offpay_status offline_time_refusal(struct offpay_wallet *w, const struct offpay_wallet_limits *l)
{
    char when[64] = "never";
    time_t t = (time_t)l->synced_at;
    struct tm tm;
    if (l->synced_at != 0 && gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return wallet_fail(w, OFFPAY_ERR_LIMIT_OFFLINE_TIME,
                       "Refused: this wallet last synced %s%s, longer ago than its offline time limit of %u seconds "
                       "(%.1f days); go online and run `offpay sync`, then pay.",
                       l->synced_at ? "at " : "", when, l->effective.offline_time, l->effective.offline_time / 86400.0);
}

/* Inside the payment's transaction: not paid before, within the limits
 * (claim 4), and the coins to spend (claims 1-2: spendable ones only).
 * Out: inputs[0..*n). */
static enum offpay_status pay_choose(struct offpay_wallet *w, const struct offpay_request *req,
                                     struct offpay_utxo inputs[OFFPAY_RECORD_INPUTS_MAX], size_t *n)
{
    struct offpay_wallet_limits lim;
    struct coin_list coins;
    size_t chosen[OFFPAY_RECORD_INPUTS_MAX];
    int paid = 0;
    enum offpay_status s = wallet_store_record_paid(w->store, req->payee.public_key, req->nonce, &paid);
    if (s != OFFPAY_OK)
        return s;
    /* One record per request: paying the same request twice would pay twice. */
    if (paid)
        return wallet_fail(w, OFFPAY_ERR_WRONG_NONCE, "This payment request was already paid; nothing changed.");
    if ((s = wallet_limits_read(w, &lim)) != OFFPAY_OK)
        return s;
    struct offpay_limits_usage used = {lim.unsynced_total, lim.count_in_period};
    if ((s = offpay_limits_check(&lim.effective, &used, req->amount)) != OFFPAY_OK)
        return limit_refusal(w, s, &lim, req->amount);
    if ((s = offpay_limits_check_offline_time(&lim.effective, lim.synced_at, wallet_now())) != OFFPAY_OK)
        return offline_time_refusal(w, &lim);
    if ((s = coins_read(w, &coins)) != OFFPAY_OK)
        return s;
    if ((s = offpay_coins_select(chosen, n, coins.coins, coins.n, req->amount)) != OFFPAY_OK)
        funds_refusal(w, s, &coins, req->amount);
    for (size_t i = 0; s == OFFPAY_OK && i < *n; i++)
        s = wallet_store_coin_attestation(w->store, coins.ids[chosen[i]], &inputs[i]);
    coin_list_free(&coins);
    return s;
}

/* Build and sign the record with the next sequence number.  Out: *rec, id, out[0..*len). */
static enum offpay_status pay_sign(struct offpay_wallet *w, const struct offpay_request *req,
                                   const struct offpay_utxo *inputs, size_t n, uint64_t now, struct offpay_record *rec,
                                   uint8_t id[OFFPAY_RECORD_ID_BYTES], uint8_t *out, size_t out_cap, size_t *len)
{
    uint64_t seq;
    const struct offpay_signer *key;
    struct offpay_stamp stamp;
    int stamped = 0;
    /* The record carries the latest sync stamp: the payee's proof that this
     * wallet synced lately (issue 13).  Without one it is a type-4 record. */
    enum offpay_status s = wallet_store_seq_get(w->store, &seq);
    if (s != OFFPAY_OK || (s = wallet_stamp_load(w, &stamp, &stamped)) != OFFPAY_OK ||
        (s = wallet_signer(w, &key)) != OFFPAY_OK)
        return s;
    s = offpay_record_build_stamped_with(rec, &w->cert, key, stamped ? &stamp : NULL, req, inputs, n, now, seq);
    if (s == OFFPAY_ERR_KEY_UNAVAILABLE)
        return wallet_signed(w, s, "the payment record");
    if (s != OFFPAY_OK)
        return wallet_fail(w, s, "The payment record cannot be built: %s", offpay_status_str(s));
    offpay_record_id(id, rec);
    if ((*len = offpay_record_encode(out, out_cap, rec)) == 0)
        return wallet_fail(w, OFFPAY_ERR_INTERNAL, "The payment record cannot be encoded.");
    return OFFPAY_OK;
}

/* Store the record as pending outgoing, put its inputs in doubt and move the
 * sequence on: the record leaves the wallet only after this commits, so no
 * later payment can spend its inputs again. */
static enum offpay_status pay_store(struct offpay_wallet *w, const struct offpay_request *req,
                                    const struct offpay_record *rec, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                                    const uint8_t *enc, size_t len, uint64_t now)
{
    struct wallet_store_record r = {.outgoing = 1, .record = enc, .record_len = len, .amount = req->amount,
                                    .counterparty = req->payee.account, .nonce = req->nonce,
                                    .payee_key = req->payee.public_key, .created = now};
    char detail[96];
    memcpy(r.id, id, OFFPAY_RECORD_ID_BYTES);
    enum offpay_status s = wallet_store_record_insert(w->store, &r);
    for (unsigned i = 0; s == OFFPAY_OK && i < rec->n_inputs; i++) {
        int changed = 0;
        s = wallet_store_coin_doubt_record(w->store, rec->inputs[i].id, id, &changed);
        if (s == OFFPAY_OK && !changed)
            s = wallet_fail(w, OFFPAY_ERR_INTERNAL, "A chosen coin changed under the payment.");
        if (s == OFFPAY_OK)
            s = wallet_store_record_input_add(w->store, id, rec->inputs[i].id);
    }
    if (s == OFFPAY_OK)
        s = wallet_store_seq_bump(w->store);
    snprintf(detail, sizeof detail, "offline payment sent; change %llu", (unsigned long long)rec->change_amount);
    return s == OFFPAY_OK ? wallet_history_add(w, "pay", req->amount, req->payee.account, id, detail) : s;
}

static void payment_info(struct offpay_wallet_payment *info, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                         const struct offpay_record *rec, const char *counterparty)
{
    if (info == NULL)
        return;
    memcpy(info->record_id, id, OFFPAY_RECORD_ID_BYTES);
    info->amount = rec->payee_amount;
    info->change = rec->change_amount;
    info->inputs_total = rec->payee_amount + rec->change_amount;
    info->n_inputs = rec->n_inputs;
    snprintf(info->counterparty, sizeof info->counterparty, "%s", counterparty);
}

enum offpay_status offpay_wallet_pay(struct offpay_wallet *w, uint8_t *out, size_t out_cap, size_t *out_len,
                                     struct offpay_wallet_payment *info, const uint8_t *request, size_t request_len)
{
    struct offpay_request req;
    struct offpay_utxo inputs[OFFPAY_RECORD_INPUTS_MAX];
    struct offpay_record rec;
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    uint64_t now = wallet_now();
    size_t n = 0, n_inputs = 0;
    enum offpay_status s;

    *out_len = 0;
    w->err[0] = '\0';
    if (info)
        memset(info, 0, sizeof *info);
    if (out_cap < OFFPAY_RECORD_BYTES_MAX)
        return wallet_fail(w, OFFPAY_ERR_BUFFER_TOO_SMALL, "The output buffer is too small for a record.");
    if ((s = own_cert_check(w, now)) != OFFPAY_OK)
        return s;
    if ((s = pay_request_check(w, &req, request, request_len, now)) != OFFPAY_OK)
        return s;
    if ((s = wallet_store_begin(w->store)) != OFFPAY_OK)
        return s;
    if ((s = pay_choose(w, &req, inputs, &n_inputs)) != OFFPAY_OK ||
        (s = pay_sign(w, &req, inputs, n_inputs, now, &rec, id, out, out_cap, &n)) != OFFPAY_OK ||
        (s = pay_store(w, &req, &rec, id, out, n, now)) != OFFPAY_OK ||
        (s = wallet_store_commit(w->store)) != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        if (n > 0)
            memset(out, 0, n);
        return s;
    }
    *out_len = n;
    payment_info(info, id, &rec, req.payee.account);
    return OFFPAY_OK;
}

/* ---- payee: accept or refuse ---- */

/* The request a record answers, if it is ours and unanswered.  Inside a transaction. */
static enum offpay_status request_for(struct offpay_wallet *w, struct offpay_request *req, const struct offpay_record *rec,
                                      const uint8_t id[OFFPAY_RECORD_ID_BYTES])
{
    uint8_t msg[OFFPAY_REQUEST_BYTES_MAX], by[OFFPAY_RECORD_ID_BYTES];
    size_t len = 0;
    int found = 0, answered = 0;
    enum offpay_status s = wallet_store_request_get(w->store, rec->nonce, msg, sizeof msg, &len, &answered, by, &found);
    if (s != OFFPAY_OK)
        return s;
    if (!found)
        return wallet_fail(w, OFFPAY_ERR_WRONG_NONCE, "This payment answers no payment request of this wallet; nothing changed.");
    if (answered && memcmp(by, id, OFFPAY_RECORD_ID_BYTES) == 0)
        return wallet_fail(w, OFFPAY_ERR_WRONG_NONCE, "This payment was already answered (a replay); nothing changed.");
    if (answered)
        return wallet_fail(w, OFFPAY_ERR_WRONG_NONCE, "Another payment was already answered for this request; this one is refused and nothing changed.");
    if (offpay_request_decode(req, msg, len) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "A stored request is damaged.");
    return OFFPAY_OK;
}

static enum offpay_status request_mark_answered(struct offpay_wallet *w, const uint8_t nonce[OFFPAY_NONCE_BYTES],
                                                const uint8_t id[OFFPAY_RECORD_ID_BYTES])
{
    int changed = 0;
    enum offpay_status s = wallet_store_request_answer(w->store, nonce, id, &changed);
    if (s == OFFPAY_OK && !changed)
        s = wallet_fail(w, OFFPAY_ERR_INTERNAL, "The request changed under the payment.");
    return s;
}

/* Form checks shared by accept and refuse: decodes, and the record is for us. */
static enum offpay_status incoming_decode(struct offpay_wallet *w, struct offpay_record *rec, uint8_t id[OFFPAY_RECORD_ID_BYTES],
                                          const uint8_t *record, size_t record_len)
{
    enum offpay_status s = offpay_record_decode(rec, record, record_len);
    if (s != OFFPAY_OK)
        return wallet_fail(w, s, "The payment record is malformed: %s", offpay_status_str(s));
    if (memcmp(rec->payee_key, w->cert.public_key, OFFPAY_PUBLIC_KEY_BYTES) != 0)
        return wallet_fail(w, OFFPAY_ERR_WRONG_PAYEE, "This payment is for another wallet; nothing changed.");
    if (rec->payee_amount > WALLET_AMOUNT_MAX)
        return wallet_fail(w, OFFPAY_ERR_AMOUNT_OVERFLOW, "The payment's amount is too large.");
    offpay_record_id(id, rec);
    return OFFPAY_OK;
}

/* The payer's sync stamp against this wallet's own offline time limit
 * (issue 13): a payer that cannot show it synced within it may be a clone
 * or a stolen wallet running out the clock, so it is refused. */
static enum offpay_status accept_fresh(struct offpay_wallet *w, const struct offpay_record *rec, uint64_t now)
{
    struct offpay_wallet_limits lim;
    char when[64] = "?";
    enum offpay_status s = wallet_limits_read(w, &lim);
    if (s != OFFPAY_OK)
        return s;
    uint32_t t = lim.effective.offline_time;
    s = offpay_record_check_fresh(rec, w->issuer_pk, t, now);
    if (s == OFFPAY_ERR_STAMP_INVALID)
        return wallet_fail(w, s, "Refused: the payer's sync stamp is not the issuer's or is another wallet's (a "
                                 "tampered record); nothing changed.");
    if (s == OFFPAY_OK || !rec->has_stamp)
        return s == OFFPAY_OK ? s
                              : wallet_fail(w, s, "Refused: the payer's record carries no sync stamp (an older "
                                                  "offpay), so it cannot show it synced within this wallet's offline "
                                                  "time limit of %u seconds; the payer must update and sync; nothing "
                                                  "changed.", t);
    time_t at = (time_t)rec->stamp.synced_at;
    struct tm tm;
    if (gmtime_r(&at, &tm) != NULL)
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return wallet_fail(w, s, "Refused: the payer %s last synced at %s (its sync stamp), longer ago than this wallet's "
                             "offline time limit of %u seconds (%.1f days); it must go online and sync before it "
                             "pays offline; nothing changed.", rec->payer.account, when, t, t / 86400.0);
}

/* Claim 5, inside the transaction: it answers an open request of ours; payer
 * certificate (issuer, validity, revocation list), payer signature, attested
 * inputs owned by the payer, balance, and that it pays the request exactly;
 * and no input was spent to us in another record (a double spend). */
static enum offpay_status accept_check(struct offpay_wallet *w, const struct offpay_record *rec,
                                       const uint8_t id[OFFPAY_RECORD_ID_BYTES], uint64_t now)
{
    struct offpay_request req;
    struct offpay_revocation rev;
    uint8_t *rev_blob = NULL;
    enum offpay_status s;
    if ((s = request_for(w, &req, rec, id)) != OFFPAY_OK || (s = wallet_revocation_load(w, &rev, &rev_blob)) != OFFPAY_OK)
        return s;
    s = offpay_record_verify_for_request(rec, &req, w->issuer_pk, &rev, now);
    free(rev_blob);
    if (s == OFFPAY_ERR_REVOKED)
        return wallet_fail(w, s, "Refused: the payer %s has been revoked for fraud; nothing changed.", rec->payer.account);
    if (s != OFFPAY_OK)
        return wallet_fail(w, s, "The payment does not verify: %s Nothing changed.", offpay_status_str(s));
    if ((s = accept_fresh(w, rec, now)) != OFFPAY_OK)
        return s;
    for (unsigned i = 0; i < rec->n_inputs; i++) {
        int seen = 0;
        if ((s = wallet_store_input_seen(w->store, rec->inputs[i].id, &seen)) != OFFPAY_OK)
            return s;
        if (seen)
            return wallet_fail(w, OFFPAY_ERR_DUPLICATE_INPUT, "Refused: a coin in this payment was already spent to you in another payment; the payer is double spending.");
    }
    return OFFPAY_OK;
}

/* Sign the confirmation and store the record as pending incoming with it. */
static enum offpay_status accept_store(struct offpay_wallet *w, const struct offpay_record *rec,
                                       const uint8_t id[OFFPAY_RECORD_ID_BYTES], const uint8_t *record,
                                       size_t record_len, uint8_t *out, size_t out_cap, size_t *n, uint64_t now)
{
    struct offpay_confirmation conf;
    const struct offpay_signer *key;
    enum offpay_status s = wallet_signer(w, &key);
    if (s != OFFPAY_OK)
        return s;
    s = offpay_confirmation_build_with(&conf, id, &w->cert, key);
    if (s == OFFPAY_ERR_KEY_UNAVAILABLE)
        return wallet_signed(w, s, "the confirmation");
    if (s != OFFPAY_OK || (*n = offpay_confirmation_encode(out, out_cap, &conf)) == 0)
        return wallet_fail(w, OFFPAY_ERR_INTERNAL, "The confirmation cannot be built.");
    struct wallet_store_record r = {.outgoing = 0, .record = record, .record_len = record_len,
                                    .amount = rec->payee_amount, .counterparty = rec->payer.account,
                                    .nonce = rec->nonce, .payee_key = rec->payee_key,
                                    .answer = WALLET_ANSWER_CONFIRMED, .answer_msg = out, .answer_len = *n,
                                    .created = now};
    memcpy(r.id, id, OFFPAY_RECORD_ID_BYTES);
    s = wallet_store_record_insert(w->store, &r);
    for (unsigned i = 0; s == OFFPAY_OK && i < rec->n_inputs; i++)
        s = wallet_store_record_input_add(w->store, id, rec->inputs[i].id);
    if (s == OFFPAY_OK)
        s = request_mark_answered(w, rec->nonce, id);
    return s == OFFPAY_OK ? wallet_history_add(w, "accept", rec->payee_amount, rec->payer.account, id,
                                               "offline payment accepted; spendable after sync")
                          : s;
}

enum offpay_status offpay_wallet_accept(struct offpay_wallet *w, uint8_t *out, size_t out_cap, size_t *out_len,
                                        struct offpay_wallet_payment *info, const uint8_t *record, size_t record_len)
{
    struct offpay_record rec;
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    uint64_t now = wallet_now();
    size_t n = 0;
    enum offpay_status s;

    *out_len = 0;
    w->err[0] = '\0';
    if (info)
        memset(info, 0, sizeof *info);
    if (out_cap < OFFPAY_CONFIRMATION_BYTES_MAX)
        return wallet_fail(w, OFFPAY_ERR_BUFFER_TOO_SMALL, "The output buffer is too small for a confirmation.");
    if ((s = incoming_decode(w, &rec, id, record, record_len)) != OFFPAY_OK)
        return s;
    if ((s = wallet_store_begin(w->store)) != OFFPAY_OK)
        return s;
    if ((s = accept_check(w, &rec, id, now)) != OFFPAY_OK ||
        (s = accept_store(w, &rec, id, record, record_len, out, out_cap, &n, now)) != OFFPAY_OK ||
        (s = wallet_store_commit(w->store)) != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        if (n > 0)
            memset(out, 0, n);
        return s;
    }
    *out_len = n;
    payment_info(info, id, &rec, rec.payer.account);
    return OFFPAY_OK;
}

/* Sign a refusal and use the request up: a refused record must never be accepted later. */
static enum offpay_status refuse_store(struct offpay_wallet *w, const struct offpay_record *rec,
                                       const uint8_t id[OFFPAY_RECORD_ID_BYTES], uint8_t reason, uint8_t *out,
                                       size_t out_cap, size_t *n)
{
    struct offpay_request req;
    struct offpay_refusal ref;
    const struct offpay_signer *key;
    enum offpay_status s;
    if ((s = request_for(w, &req, rec, id)) != OFFPAY_OK || (s = wallet_signer(w, &key)) != OFFPAY_OK)
        return s;
    s = offpay_refusal_build_with(&ref, id, reason, key);
    if (s == OFFPAY_ERR_KEY_UNAVAILABLE)
        return wallet_signed(w, s, "the refusal");
    if (s != OFFPAY_OK || (*n = offpay_refusal_encode(out, out_cap, &ref)) == 0)
        return wallet_fail(w, OFFPAY_ERR_INTERNAL, "The refusal cannot be built.");
    if ((s = request_mark_answered(w, rec->nonce, id)) != OFFPAY_OK)
        return s;
    return wallet_history_add(w, "refuse", rec->payee_amount, rec->payer.account, id, "offline payment refused");
}

enum offpay_status offpay_wallet_refuse(struct offpay_wallet *w, uint8_t *out, size_t out_cap, size_t *out_len,
                                        struct offpay_wallet_payment *info, const uint8_t *record, size_t record_len,
                                        uint8_t reason)
{
    struct offpay_record rec;
    uint8_t id[OFFPAY_RECORD_ID_BYTES], body[OFFPAY_RECORD_BYTES_MAX];
    size_t n = 0;
    enum offpay_status s;

    *out_len = 0;
    w->err[0] = '\0';
    if (info)
        memset(info, 0, sizeof *info);
    if (reason == 0 || reason > OFFPAY_REFUSE_REASON_MAX_)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "Unknown refusal reason.");
    if (out_cap < OFFPAY_REFUSAL_BYTES)
        return wallet_fail(w, OFFPAY_ERR_BUFFER_TOO_SMALL, "The output buffer is too small for a refusal.");
    if ((s = incoming_decode(w, &rec, id, record, record_len)) != OFFPAY_OK)
        return s;
    /* Only the payer can use a refusal, and only with a record it signed. */
    size_t bl = offpay_record_encode(body, sizeof body, &rec);
    if (bl == 0 || offpay_verify(rec.sig, rec.payer.public_key, OFFPAY_TAG_RECORD, body, bl - OFFPAY_SIGNATURE_BYTES) != 0)
        return wallet_fail(w, OFFPAY_ERR_BAD_SIGNATURE, "The payment record's signature does not verify; nothing to refuse.");
    if ((s = wallet_store_begin(w->store)) != OFFPAY_OK)
        return s;
    if ((s = refuse_store(w, &rec, id, reason, out, out_cap, &n)) != OFFPAY_OK ||
        (s = wallet_store_commit(w->store)) != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        if (n > 0)
            memset(out, 0, n);
        return s;
    }
    *out_len = n;
    if (info) {
        memcpy(info->record_id, id, sizeof id);
        info->amount = rec.payee_amount;
        info->refused = 1;
        info->refusal_reason = reason;
        snprintf(info->counterparty, sizeof info->counterparty, "%s", rec.payer.account);
    }
    return OFFPAY_OK;
}

/* ---- payer: confirm ---- */

/* An answer: a confirmation or a refusal, decoded.  Out: *type, and the record id it answers. */
static enum offpay_status answer_decode(struct offpay_wallet *w, const uint8_t *answer, size_t answer_len, int *type,
                                        struct offpay_confirmation *conf, struct offpay_refusal *ref,
                                        const uint8_t **record_id)
{
    enum offpay_status s;
    *type = offpay_message_type(answer, answer_len);
    if (*type == OFFPAY_MSG_CONFIRMATION) {
        if ((s = offpay_confirmation_decode(conf, answer, answer_len)) != OFFPAY_OK)
            return wallet_fail(w, s, "The confirmation is malformed: %s", offpay_status_str(s));
        *record_id = conf->record_id;
        return OFFPAY_OK;
    }
    if (*type == OFFPAY_MSG_REFUSAL) {
        if ((s = offpay_refusal_decode(ref, answer, answer_len)) != OFFPAY_OK)
            return wallet_fail(w, s, "The refusal is malformed: %s", offpay_status_str(s));
        *record_id = ref->record_id;
        return OFFPAY_OK;
    }
    return wallet_fail(w, answer_len == 0 ? OFFPAY_ERR_TRUNCATED : OFFPAY_ERR_WRONG_TYPE,
                       "This is not a confirmation or a refusal.");
}

/* Inside the transaction: the record answered is one of our pending,
 * unanswered outgoing records.  Out: *rec. */
static enum offpay_status confirm_record(struct offpay_wallet *w, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                         struct offpay_record *rec)
{
    static const char *const answered[] = {"none", "confirmed", "refused"};
    struct wallet_store_outgoing *o = malloc(sizeof *o);
    char idhex[17];
    int found = 0;
    enum offpay_status s = o ? wallet_store_outgoing_get(w->store, record_id, o, &found)
                             : wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading a payment.");
    hex_short(idhex, record_id);
    if (s == OFFPAY_OK && !found)
        s = wallet_fail(w, OFFPAY_ERR_WRONG_RECORD, "This answers no payment made by this wallet; nothing changed.");
    else if (s == OFFPAY_OK && o->answer != WALLET_ANSWER_NONE)
        s = wallet_fail(w, OFFPAY_ERR_WRONG_RECORD, "Payment %s was already %s (a replay); nothing changed.", idhex,
                        answered[o->answer]);
    else if (s == OFFPAY_OK && strcmp(o->status, "unsynced") != 0)
        s = wallet_fail(w, OFFPAY_ERR_WRONG_RECORD, "Payment %s was already %s at sync; nothing changed.", idhex,
                        o->status);
    else if (s == OFFPAY_OK && offpay_record_decode(rec, o->record, o->record_len) != OFFPAY_OK)
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "A stored payment record is damaged.");
    free(o);
    return s;
}

/* A refusal: stored; the inputs stay in doubt, since only the server, given
 * this refusal at the next sync, can void the record for good. */
static enum offpay_status confirm_refused(struct offpay_wallet *w, const struct offpay_refusal *ref,
                                          const struct offpay_record *rec, const uint8_t *answer, size_t answer_len)
{
    enum offpay_status s = offpay_refusal_verify(ref, rec);
    if (s != OFFPAY_OK)
        return wallet_fail(w, s, "The refusal does not verify: %s Nothing changed.", offpay_status_str(s));
    if ((s = wallet_store_record_answer(w->store, ref->record_id, WALLET_ANSWER_REFUSED, answer, answer_len)) != OFFPAY_OK)
        return s;
    return wallet_history_add(w, "refused", rec->payee_amount, NULL, ref->record_id,
                              "the payee refused; coins stay in doubt until sync voids the payment");
}

/* A confirmation: claim 1, the inputs are replaced by the change, atomically;
 * claim 2, the change is locked until the record is synced. */
static enum offpay_status confirm_confirmed(struct offpay_wallet *w, const struct offpay_confirmation *conf,
                                            const struct offpay_record *rec, const uint8_t *answer, size_t answer_len)
{
    const uint8_t *id = conf->record_id;
    struct offpay_revocation rev;
    struct offpay_utxo change;
    uint8_t *rev_blob = NULL;
    size_t gone = 0;
    char detail[96];
    enum offpay_status s = wallet_revocation_load(w, &rev, &rev_blob);
    if (s != OFFPAY_OK)
        return s;
    s = offpay_confirmation_verify(conf, rec, w->issuer_pk, &rev, wallet_now());
    free(rev_blob);
    if (s != OFFPAY_OK)
        return wallet_fail(w, s, "The confirmation does not verify: %s Nothing changed.", offpay_status_str(s));
    if ((s = wallet_store_record_coins(w->store, id, WALLET_COINS_DROP_IN_DOUBT, &gone)) != OFFPAY_OK)
        return s;
    if (gone != rec->n_inputs)
        return wallet_fail(w, OFFPAY_ERR_INTERNAL, "The payment's coins are not all in doubt as they should be.");
    if (rec->change_amount > 0 &&
        ((s = offpay_record_output(&change, rec, id, 1)) != OFFPAY_OK ||
         (s = wallet_store_coin_add_locked(w->store, change.id, change.amount, id, wallet_now())) != OFFPAY_OK))
        return s;
    if ((s = wallet_store_record_answer(w->store, id, WALLET_ANSWER_CONFIRMED, answer, answer_len)) != OFFPAY_OK)
        return s;
    snprintf(detail, sizeof detail, "confirmed by the payee; change %llu locked until sync", (unsigned long long)rec->change_amount);
    return wallet_history_add(w, "confirm", rec->payee_amount, conf->payee.account, id, detail);
}

enum offpay_status offpay_wallet_confirm(struct offpay_wallet *w, struct offpay_wallet_payment *info,
                                         const uint8_t *answer, size_t answer_len)
{
    struct offpay_confirmation conf;
    struct offpay_refusal ref;
    struct offpay_record rec;
    const uint8_t *record_id = NULL;
    int type = 0;
    enum offpay_status s;

    w->err[0] = '\0';
    if (info)
        memset(info, 0, sizeof *info);
    if ((s = answer_decode(w, answer, answer_len, &type, &conf, &ref, &record_id)) != OFFPAY_OK)
        return s;
    if ((s = wallet_store_begin(w->store)) != OFFPAY_OK)
        return s;
    if ((s = confirm_record(w, record_id, &rec)) == OFFPAY_OK)
        payment_info(info, record_id, &rec, type == OFFPAY_MSG_CONFIRMATION ? conf.payee.account : "");
    if (s == OFFPAY_OK)
        s = type == OFFPAY_MSG_REFUSAL ? confirm_refused(w, &ref, &rec, answer, answer_len)
                                       : confirm_confirmed(w, &conf, &rec, answer, answer_len);
    if (s == OFFPAY_OK)
        s = wallet_store_commit(w->store);
    else
        wallet_store_rollback(w->store);
    if (s == OFFPAY_OK && info && type == OFFPAY_MSG_REFUSAL) {
        info->refused = 1;
        info->refusal_reason = ref.reason;
    }
    return s;
}

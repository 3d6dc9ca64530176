/*
 * handshake.c - the offline payment between two wallets (claims 1, 2, 4, 5).
 *
 * Each step is a function from one encoded message to the next, so files,
 * QR codes and direct connections share it.  A step checks everything it can
 * before it opens its transaction, then re-checks what another process could
 * have changed inside the transaction, and writes all its changes at once.
 * The secret key is loaded only around the signature and wiped on every path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void hex_short(char out[17], const uint8_t *id)
{
    offpay_hex(out, id, 8);
}

/* ---- payee: request ---- */

enum offpay_status offpay_wallet_request_create(struct offpay_wallet *w, uint8_t *out, size_t out_cap, size_t *out_len,
                                                uint64_t amount)
{
    struct offpay_request req;
    uint8_t nonce[OFFPAY_NONCE_BYTES];
    uint8_t *sk = NULL;
    enum offpay_status s;

    *out_len = 0;
    w->err[0] = '\0';
    if (amount == 0)
        return wallet_fail(w, OFFPAY_ERR_ZERO_AMOUNT, "The amount must be a positive whole number.");
    if (amount > WALLET_AMOUNT_MAX)
        return wallet_fail(w, OFFPAY_ERR_AMOUNT_OVERFLOW, "The amount is too large.");
    if (out_cap < OFFPAY_REQUEST_BYTES_MAX)
        return wallet_fail(w, OFFPAY_ERR_BUFFER_TOO_SMALL, "The output buffer is too small for a request.");
    offpay_random(nonce, sizeof nonce);
    if ((s = wallet_key_load(w, &sk)) != OFFPAY_OK)
        return s;
    s = offpay_request_build(&req, &w->cert, sk, amount, nonce);
    wallet_key_free(sk);
    if (s != OFFPAY_OK)
        return wallet_fail(w, s, "The request cannot be built: %s", offpay_status_str(s));
    size_t n = offpay_request_encode(out, out_cap, &req);
    if (n == 0)
        return wallet_fail(w, OFFPAY_ERR_INTERNAL, "The request cannot be encoded.");

    if ((s = wallet_begin(w)) != OFFPAY_OK)
        return s;
    sqlite3_stmt *st = wallet_prepare(w, "INSERT INTO requests (nonce, amount, message, created) VALUES (?, ?, ?, ?)");
    if (st == NULL) {
        s = OFFPAY_ERR_STORAGE;
        goto fail;
    }
    sqlite3_bind_blob(st, 1, nonce, sizeof nonce, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)amount);
    sqlite3_bind_blob(st, 3, out, (int)n, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)wallet_now());
    if ((s = wallet_step_done(w, st)) != OFFPAY_OK ||
        (s = wallet_history_add(w, "request", amount, NULL, NULL, "payment request created")) != OFFPAY_OK ||
        (s = wallet_commit(w)) != OFFPAY_OK)
        goto fail;
    *out_len = n;
    return OFFPAY_OK;
fail:
    wallet_rollback(w);
    memset(out, 0, n);
    return s;
}

/* ---- payer: pay ---- */

/* The coins of the wallet, as the selection rule sees them. */
struct coin_list {
    size_t n;
    struct offpay_coin *coins;
    uint8_t (*ids)[OFFPAY_UTXO_ID_BYTES];
};

static void coin_list_free(struct coin_list *c)
{
    free(c->coins);
    free(c->ids);
    memset(c, 0, sizeof *c);
}

static enum offpay_status coins_read(struct offpay_wallet *w, struct coin_list *c)
{
    size_t cap = 0;
    int rc;
    memset(c, 0, sizeof *c);
    /* Ordered so that ties in the selection rule break the same way every time. */
    sqlite3_stmt *st = wallet_prepare(w, "SELECT id, amount, state FROM utxos ORDER BY amount, id");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (c->n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            struct offpay_coin *nc = realloc(c->coins, ncap * sizeof *nc);
            if (nc)
                c->coins = nc;
            uint8_t(*ni)[OFFPAY_UTXO_ID_BYTES] = realloc(c->ids, ncap * sizeof *ni);
            if (ni)
                c->ids = ni;
            if (nc == NULL || ni == NULL) {
                sqlite3_finalize(st);
                coin_list_free(c);
                return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading coins.");
            }
            cap = ncap;
        }
        const char *state = (const char *)sqlite3_column_text(st, 2);
        c->coins[c->n].amount = (uint64_t)sqlite3_column_int64(st, 1);
        c->coins[c->n].state = strcmp(state, "spendable") == 0 ? OFFPAY_COIN_SPENDABLE
                               : strcmp(state, "locked") == 0  ? OFFPAY_COIN_LOCKED
                                                               : OFFPAY_COIN_IN_DOUBT;
        if (sqlite3_column_bytes(st, 0) != OFFPAY_UTXO_ID_BYTES) {
            sqlite3_finalize(st);
            coin_list_free(c);
            return wallet_fail(w, OFFPAY_ERR_STORAGE, "A stored coin is damaged.");
        }
        memcpy(c->ids[c->n], sqlite3_column_blob(st, 0), OFFPAY_UTXO_ID_BYTES);
        c->n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        coin_list_free(c);
        return wallet_db_fail(w, "be read");
    }
    return OFFPAY_OK;
}

static enum offpay_status utxo_attestation(struct offpay_wallet *w, struct offpay_utxo *u, const uint8_t id[OFFPAY_UTXO_ID_BYTES])
{
    enum offpay_status s = OFFPAY_OK;
    sqlite3_stmt *st = wallet_prepare(w, "SELECT attestation FROM utxos WHERE id = ? AND state = 'spendable'");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    sqlite3_bind_blob(st, 1, id, OFFPAY_UTXO_ID_BYTES, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) != SQLITE_BLOB ||
        offpay_utxo_decode(u, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)) != OFFPAY_OK)
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "A stored coin is damaged.");
    sqlite3_finalize(st);
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

enum offpay_status offpay_wallet_pay(struct offpay_wallet *w, uint8_t *out, size_t out_cap, size_t *out_len,
                                     struct offpay_wallet_payment *info, const uint8_t *request, size_t request_len)
{
    struct offpay_request req;
    struct offpay_revocation rev;
    struct offpay_wallet_limits lim;
    struct coin_list coins = {0};
    struct offpay_utxo inputs[OFFPAY_RECORD_INPUTS_MAX];
    struct offpay_record rec;
    size_t chosen[OFFPAY_RECORD_INPUTS_MAX], n_chosen = 0;
    uint8_t *rev_blob = NULL, *sk = NULL;
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    uint64_t seq = 0, now = wallet_now();
    size_t n = 0;
    int in_tx = 0;
    enum offpay_status s;
    sqlite3_stmt *st;

    *out_len = 0;
    w->err[0] = '\0';
    if (info)
        memset(info, 0, sizeof *info);
    if (out_cap < OFFPAY_RECORD_BYTES_MAX)
        return wallet_fail(w, OFFPAY_ERR_BUFFER_TOO_SMALL, "The output buffer is too small for a record.");
    if ((s = offpay_request_decode(&req, request, request_len)) != OFFPAY_OK)
        return wallet_fail(w, s, "The payment request is malformed: %s", offpay_status_str(s));
    if (req.amount > WALLET_AMOUNT_MAX)
        return wallet_fail(w, OFFPAY_ERR_AMOUNT_OVERFLOW, "The requested amount is too large.");
    /* [0073]: the payee's certificate first, against the issuer and the revocation list. */
    if ((s = wallet_revocation_load(w, &rev, &rev_blob)) != OFFPAY_OK)
        return s;
    s = offpay_request_verify(&req, w->issuer_pk, &rev, now);
    free(rev_blob);
    if (s != OFFPAY_OK)
        return wallet_fail(w, s, "The payment request does not verify: %s", offpay_status_str(s));
    if (memcmp(req.payee.public_key, w->cert.public_key, OFFPAY_PUBLIC_KEY_BYTES) == 0 ||
        memcmp(req.payee.wallet_id, w->cert.wallet_id, OFFPAY_WALLET_ID_BYTES) == 0)
        return wallet_fail(w, OFFPAY_ERR_SELF_PAYMENT, "This request comes from this wallet; a wallet cannot pay itself.");

    if ((s = wallet_begin(w)) != OFFPAY_OK)
        return s;
    in_tx = 1;
    /* One record per request: paying the same request twice would pay twice. */
    st = wallet_prepare(w, "SELECT 1 FROM records WHERE direction = 'outgoing' AND payee_key = ? AND nonce = ?");
    if (st == NULL) {
        s = OFFPAY_ERR_STORAGE;
        goto cleanup;
    }
    sqlite3_bind_blob(st, 1, req.payee.public_key, OFFPAY_PUBLIC_KEY_BYTES, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, req.nonce, OFFPAY_NONCE_BYTES, SQLITE_TRANSIENT);
    int paid = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (paid) {
        s = wallet_fail(w, OFFPAY_ERR_WRONG_NONCE, "This payment request was already paid; nothing changed.");
        goto cleanup;
    }
    /* Claim 4: limits before the record is built. */
    if ((s = wallet_limits_read(w, &lim)) != OFFPAY_OK)
        goto cleanup;
    struct offpay_limits_usage used = {lim.unsynced_total, lim.count_in_period};
    if ((s = offpay_limits_check(&lim.effective, &used, req.amount)) != OFFPAY_OK) {
        limit_refusal(w, s, &lim, req.amount);
        goto cleanup;
    }
    /* Claims 1-2: select among spendable coins only. */
    if ((s = coins_read(w, &coins)) != OFFPAY_OK)
        goto cleanup;
    if ((s = offpay_coins_select(chosen, &n_chosen, coins.coins, coins.n, req.amount)) != OFFPAY_OK) {
        funds_refusal(w, s, &coins, req.amount);
        goto cleanup;
    }
    for (size_t i = 0; i < n_chosen; i++)
        if ((s = utxo_attestation(w, &inputs[i], coins.ids[chosen[i]])) != OFFPAY_OK)
            goto cleanup;
    st = wallet_prepare(w, "SELECT next_seq FROM identity WHERE one = 1");
    if (st == NULL) {
        s = OFFPAY_ERR_STORAGE;
        goto cleanup;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        seq = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (seq == 0) {
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet's record sequence is damaged.");
        goto cleanup;
    }
    if ((s = wallet_key_load(w, &sk)) != OFFPAY_OK)
        goto cleanup;
    s = offpay_record_build(&rec, &w->cert, sk, &req, inputs, n_chosen, now, seq);
    wallet_key_free(sk);
    sk = NULL;
    if (s != OFFPAY_OK) {
        wallet_fail(w, s, "The payment record cannot be built: %s", offpay_status_str(s));
        goto cleanup;
    }
    offpay_record_id(id, &rec);
    n = offpay_record_encode(out, out_cap, &rec);
    if (n == 0) {
        s = wallet_fail(w, OFFPAY_ERR_INTERNAL, "The payment record cannot be encoded.");
        goto cleanup;
    }

    /* The record leaves the wallet only after this commit: its inputs are in
     * doubt from now on, so no later payment can spend them again. */
    st = wallet_prepare(w, "INSERT INTO records (id, direction, record, amount, counterparty, nonce, payee_key, created)"
                           " VALUES (?, 'outgoing', ?, ?, ?, ?, ?, ?)");
    if (st == NULL) {
        s = OFFPAY_ERR_STORAGE;
        goto cleanup;
    }
    sqlite3_bind_blob(st, 1, id, sizeof id, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, out, (int)n, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)req.amount);
    sqlite3_bind_text(st, 4, req.payee.account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 5, req.nonce, OFFPAY_NONCE_BYTES, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 6, req.payee.public_key, OFFPAY_PUBLIC_KEY_BYTES, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)now);
    if ((s = wallet_step_done(w, st)) != OFFPAY_OK)
        goto cleanup;
    for (size_t i = 0; i < n_chosen; i++) {
        st = wallet_prepare(w, "UPDATE utxos SET state = 'in_doubt', record_id = ? WHERE id = ? AND state = 'spendable'");
        if (st == NULL) {
            s = OFFPAY_ERR_STORAGE;
            goto cleanup;
        }
        sqlite3_bind_blob(st, 1, id, sizeof id, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 2, inputs[i].id, OFFPAY_UTXO_ID_BYTES, SQLITE_TRANSIENT);
        if ((s = wallet_step_done(w, st)) != OFFPAY_OK)
            goto cleanup;
        if (sqlite3_changes(w->db) != 1) {
            s = wallet_fail(w, OFFPAY_ERR_INTERNAL, "A chosen coin changed under the payment.");
            goto cleanup;
        }
        st = wallet_prepare(w, "INSERT INTO record_inputs (record_id, utxo_id) VALUES (?, ?)");
        if (st == NULL) {
            s = OFFPAY_ERR_STORAGE;
            goto cleanup;
        }
        sqlite3_bind_blob(st, 1, id, sizeof id, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 2, inputs[i].id, OFFPAY_UTXO_ID_BYTES, SQLITE_TRANSIENT);
        if ((s = wallet_step_done(w, st)) != OFFPAY_OK)
            goto cleanup;
    }
    st = wallet_prepare(w, "UPDATE identity SET next_seq = next_seq + 1 WHERE one = 1");
    if (st == NULL) {
        s = OFFPAY_ERR_STORAGE;
        goto cleanup;
    }
    char detail[96];
    snprintf(detail, sizeof detail, "offline payment sent; change %llu", (unsigned long long)rec.change_amount);
    if ((s = wallet_step_done(w, st)) != OFFPAY_OK ||
        (s = wallet_history_add(w, "pay", req.amount, req.payee.account, id, detail)) != OFFPAY_OK)
        goto cleanup;
    s = wallet_commit(w);
    in_tx = 0;
    if (s != OFFPAY_OK)
        goto cleanup;
    *out_len = n;
    if (info) {
        memcpy(info->record_id, id, sizeof id);
        info->amount = rec.payee_amount;
        info->change = rec.change_amount;
        info->inputs_total = rec.payee_amount + rec.change_amount;
        info->n_inputs = rec.n_inputs;
        snprintf(info->counterparty, sizeof info->counterparty, "%s", req.payee.account);
    }
cleanup:
    if (in_tx)
        wallet_rollback(w);
    if (s != OFFPAY_OK && n > 0)
        memset(out, 0, n);
    coin_list_free(&coins);
    return s;
}

/* ---- payee: accept or refuse ---- */

/* The request a record answers, if it is ours and unanswered.  Inside a transaction. */
static enum offpay_status request_for(struct offpay_wallet *w, struct offpay_request *req, const struct offpay_record *rec,
                                      const uint8_t id[OFFPAY_RECORD_ID_BYTES])
{
    enum offpay_status s = OFFPAY_OK;
    sqlite3_stmt *st = wallet_prepare(w, "SELECT message, record_id FROM requests WHERE nonce = ?");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    sqlite3_bind_blob(st, 1, rec->nonce, OFFPAY_NONCE_BYTES, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW) {
        s = wallet_fail(w, OFFPAY_ERR_WRONG_NONCE, "This payment answers no payment request of this wallet; nothing changed.");
    } else if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
        if (sqlite3_column_bytes(st, 1) == OFFPAY_RECORD_ID_BYTES &&
            memcmp(sqlite3_column_blob(st, 1), id, OFFPAY_RECORD_ID_BYTES) == 0)
            s = wallet_fail(w, OFFPAY_ERR_WRONG_NONCE, "This payment was already answered (a replay); nothing changed.");
        else
            s = wallet_fail(w, OFFPAY_ERR_WRONG_NONCE, "Another payment was already answered for this request; this one is refused and nothing changed.");
    } else if (offpay_request_decode(req, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)) != OFFPAY_OK) {
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "A stored request is damaged.");
    }
    sqlite3_finalize(st);
    return s;
}

static enum offpay_status request_mark_answered(struct offpay_wallet *w, const uint8_t nonce[OFFPAY_NONCE_BYTES],
                                                const uint8_t id[OFFPAY_RECORD_ID_BYTES])
{
    sqlite3_stmt *st = wallet_prepare(w, "UPDATE requests SET record_id = ? WHERE nonce = ? AND record_id IS NULL");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    sqlite3_bind_blob(st, 1, id, OFFPAY_RECORD_ID_BYTES, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, nonce, OFFPAY_NONCE_BYTES, SQLITE_TRANSIENT);
    enum offpay_status s = wallet_step_done(w, st);
    if (s == OFFPAY_OK && sqlite3_changes(w->db) != 1)
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

enum offpay_status offpay_wallet_accept(struct offpay_wallet *w, uint8_t *out, size_t out_cap, size_t *out_len,
                                        struct offpay_wallet_payment *info, const uint8_t *record, size_t record_len)
{
    struct offpay_record rec;
    struct offpay_request req;
    struct offpay_revocation rev;
    struct offpay_confirmation conf;
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    uint8_t *rev_blob = NULL, *sk = NULL;
    uint64_t now = wallet_now();
    size_t n = 0;
    enum offpay_status s;
    sqlite3_stmt *st;

    *out_len = 0;
    w->err[0] = '\0';
    if (info)
        memset(info, 0, sizeof *info);
    if (out_cap < OFFPAY_CONFIRMATION_BYTES_MAX)
        return wallet_fail(w, OFFPAY_ERR_BUFFER_TOO_SMALL, "The output buffer is too small for a confirmation.");
    if ((s = incoming_decode(w, &rec, id, record, record_len)) != OFFPAY_OK)
        return s;
    if ((s = wallet_begin(w)) != OFFPAY_OK)
        return s;
    if ((s = request_for(w, &req, &rec, id)) != OFFPAY_OK)
        goto cleanup;
    /* Claim 5: payer certificate (issuer, validity, revocation list), payer
     * signature, attested inputs owned by the payer, balance, and that it pays
     * this request exactly. */
    if ((s = wallet_revocation_load(w, &rev, &rev_blob)) != OFFPAY_OK)
        goto cleanup;
    s = offpay_record_verify_for_request(&rec, &req, w->issuer_pk, &rev, now);
    if (s == OFFPAY_ERR_REVOKED) {
        wallet_fail(w, s, "Refused: the payer %s has been revoked for fraud; nothing changed.", rec.payer.account);
        goto cleanup;
    }
    if (s != OFFPAY_OK) {
        wallet_fail(w, s, "The payment does not verify: %s Nothing changed.", offpay_status_str(s));
        goto cleanup;
    }
    /* A coin already spent to us in another record: the payer is double spending. */
    for (unsigned i = 0; i < rec.n_inputs; i++) {
        st = wallet_prepare(w, "SELECT 1 FROM record_inputs ri JOIN records r ON r.id = ri.record_id"
                               " WHERE ri.utxo_id = ? AND r.direction = 'incoming' AND r.status <> 'voided'");
        if (st == NULL) {
            s = OFFPAY_ERR_STORAGE;
            goto cleanup;
        }
        sqlite3_bind_blob(st, 1, rec.inputs[i].id, OFFPAY_UTXO_ID_BYTES, SQLITE_TRANSIENT);
        int seen = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        if (seen) {
            s = wallet_fail(w, OFFPAY_ERR_DUPLICATE_INPUT, "Refused: a coin in this payment was already spent to you in another payment; the payer is double spending.");
            goto cleanup;
        }
    }
    if ((s = wallet_key_load(w, &sk)) != OFFPAY_OK)
        goto cleanup;
    s = offpay_confirmation_build(&conf, id, &w->cert, sk);
    wallet_key_free(sk);
    sk = NULL;
    if (s != OFFPAY_OK || (n = offpay_confirmation_encode(out, out_cap, &conf)) == 0) {
        s = wallet_fail(w, OFFPAY_ERR_INTERNAL, "The confirmation cannot be built.");
        goto cleanup;
    }
    st = wallet_prepare(w, "INSERT INTO records (id, direction, record, amount, counterparty, nonce, payee_key, answer,"
                           " answer_msg, created) VALUES (?, 'incoming', ?, ?, ?, ?, ?, 'confirmed', ?, ?)");
    if (st == NULL) {
        s = OFFPAY_ERR_STORAGE;
        goto cleanup;
    }
    sqlite3_bind_blob(st, 1, id, sizeof id, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, record, (int)record_len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)rec.payee_amount);
    sqlite3_bind_text(st, 4, rec.payer.account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 5, rec.nonce, OFFPAY_NONCE_BYTES, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 6, rec.payee_key, OFFPAY_PUBLIC_KEY_BYTES, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 7, out, (int)n, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)now);
    if ((s = wallet_step_done(w, st)) != OFFPAY_OK)
        goto cleanup;
    for (unsigned i = 0; i < rec.n_inputs; i++) {
        st = wallet_prepare(w, "INSERT INTO record_inputs (record_id, utxo_id) VALUES (?, ?)");
        if (st == NULL) {
            s = OFFPAY_ERR_STORAGE;
            goto cleanup;
        }
        sqlite3_bind_blob(st, 1, id, sizeof id, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 2, rec.inputs[i].id, OFFPAY_UTXO_ID_BYTES, SQLITE_TRANSIENT);
        if ((s = wallet_step_done(w, st)) != OFFPAY_OK)
            goto cleanup;
    }
    if ((s = request_mark_answered(w, rec.nonce, id)) != OFFPAY_OK ||
        (s = wallet_history_add(w, "accept", rec.payee_amount, rec.payer.account, id,
                                "offline payment accepted; spendable after sync")) != OFFPAY_OK)
        goto cleanup;
    s = wallet_commit(w);
    if (s == OFFPAY_OK) {
        *out_len = n;
        if (info) {
            memcpy(info->record_id, id, sizeof id);
            info->amount = rec.payee_amount;
            info->change = rec.change_amount;
            info->n_inputs = rec.n_inputs;
            info->inputs_total = rec.payee_amount + rec.change_amount;
            snprintf(info->counterparty, sizeof info->counterparty, "%s", rec.payer.account);
        }
    }
cleanup:
    wallet_rollback(w);
    free(rev_blob);
    if (s != OFFPAY_OK && n > 0)
        memset(out, 0, n);
    return s;
}

enum offpay_status offpay_wallet_refuse(struct offpay_wallet *w, uint8_t *out, size_t out_cap, size_t *out_len,
                                        struct offpay_wallet_payment *info, const uint8_t *record, size_t record_len,
                                        uint8_t reason)
{
    struct offpay_record rec;
    struct offpay_request req;
    struct offpay_refusal ref;
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    uint8_t *sk = NULL;
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
    {
        uint8_t body[OFFPAY_RECORD_BYTES_MAX];
        size_t bl = offpay_record_encode(body, sizeof body, &rec);
        if (bl == 0 || offpay_verify(rec.sig, rec.payer.public_key, OFFPAY_TAG_RECORD, body, bl - OFFPAY_SIGNATURE_BYTES) != 0)
            return wallet_fail(w, OFFPAY_ERR_BAD_SIGNATURE, "The payment record's signature does not verify; nothing to refuse.");
    }
    if ((s = wallet_begin(w)) != OFFPAY_OK)
        return s;
    if ((s = request_for(w, &req, &rec, id)) != OFFPAY_OK)
        goto cleanup;
    if ((s = wallet_key_load(w, &sk)) != OFFPAY_OK)
        goto cleanup;
    s = offpay_refusal_build(&ref, id, reason, sk);
    wallet_key_free(sk);
    if (s != OFFPAY_OK || (n = offpay_refusal_encode(out, out_cap, &ref)) == 0) {
        s = wallet_fail(w, OFFPAY_ERR_INTERNAL, "The refusal cannot be built.");
        goto cleanup;
    }
    /* The request is used up: a refused record must never be accepted later. */
    if ((s = request_mark_answered(w, rec.nonce, id)) != OFFPAY_OK ||
        (s = wallet_history_add(w, "refuse", rec.payee_amount, rec.payer.account, id, "offline payment refused")) != OFFPAY_OK)
        goto cleanup;
    s = wallet_commit(w);
    if (s == OFFPAY_OK) {
        *out_len = n;
        if (info) {
            memcpy(info->record_id, id, sizeof id);
            info->amount = rec.payee_amount;
            info->refused = 1;
            info->refusal_reason = reason;
            snprintf(info->counterparty, sizeof info->counterparty, "%s", rec.payer.account);
        }
    }
cleanup:
    wallet_rollback(w);
    if (s != OFFPAY_OK && n > 0)
        memset(out, 0, n);
    return s;
}

/* ---- payer: confirm ---- */

enum offpay_status offpay_wallet_confirm(struct offpay_wallet *w, struct offpay_wallet_payment *info,
                                         const uint8_t *answer, size_t answer_len)
{
    struct offpay_confirmation conf;
    struct offpay_refusal ref;
    struct offpay_record rec;
    struct offpay_revocation rev;
    uint8_t *rev_blob = NULL;
    const uint8_t *record_id;
    char idhex[17];
    enum offpay_status s;
    sqlite3_stmt *st = NULL;

    w->err[0] = '\0';
    if (info)
        memset(info, 0, sizeof *info);
    int type = offpay_message_type(answer, answer_len);
    if (type == OFFPAY_MSG_CONFIRMATION) {
        if ((s = offpay_confirmation_decode(&conf, answer, answer_len)) != OFFPAY_OK)
            return wallet_fail(w, s, "The confirmation is malformed: %s", offpay_status_str(s));
        record_id = conf.record_id;
    } else if (type == OFFPAY_MSG_REFUSAL) {
        if ((s = offpay_refusal_decode(&ref, answer, answer_len)) != OFFPAY_OK)
            return wallet_fail(w, s, "The refusal is malformed: %s", offpay_status_str(s));
        record_id = ref.record_id;
    } else {
        return wallet_fail(w, answer_len == 0 ? OFFPAY_ERR_TRUNCATED : OFFPAY_ERR_WRONG_TYPE,
                           "This is not a confirmation or a refusal.");
    }
    hex_short(idhex, record_id);

    if ((s = wallet_begin(w)) != OFFPAY_OK)
        return s;
    st = wallet_prepare(w, "SELECT record, answer, status FROM records WHERE id = ? AND direction = 'outgoing'");
    if (st == NULL) {
        s = OFFPAY_ERR_STORAGE;
        goto cleanup;
    }
    sqlite3_bind_blob(st, 1, record_id, OFFPAY_RECORD_ID_BYTES, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_ROW) {
        s = wallet_fail(w, OFFPAY_ERR_WRONG_RECORD, "This answers no payment made by this wallet; nothing changed.");
        goto cleanup;
    }
    const char *prev = (const char *)sqlite3_column_text(st, 1);
    const char *status = (const char *)sqlite3_column_text(st, 2);
    if (strcmp(prev, "none") != 0) {
        s = wallet_fail(w, OFFPAY_ERR_WRONG_RECORD, "Payment %s was already %s (a replay); nothing changed.", idhex, prev);
        goto cleanup;
    }
    if (strcmp(status, "unsynced") != 0) {
        s = wallet_fail(w, OFFPAY_ERR_WRONG_RECORD, "Payment %s was already %s at sync; nothing changed.", idhex, status);
        goto cleanup;
    }
    if (offpay_record_decode(&rec, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)) != OFFPAY_OK) {
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "A stored payment record is damaged.");
        goto cleanup;
    }
    sqlite3_finalize(st);
    st = NULL;

    if (info) {
        memcpy(info->record_id, record_id, OFFPAY_RECORD_ID_BYTES);
        info->amount = rec.payee_amount;
        info->change = rec.change_amount;
        info->n_inputs = rec.n_inputs;
        info->inputs_total = rec.payee_amount + rec.change_amount;
        snprintf(info->counterparty, sizeof info->counterparty, "%s", type == OFFPAY_MSG_CONFIRMATION ? conf.payee.account : "");
    }
    if (type == OFFPAY_MSG_REFUSAL) {
        if ((s = offpay_refusal_verify(&ref, &rec)) != OFFPAY_OK) {
            wallet_fail(w, s, "The refusal does not verify: %s Nothing changed.", offpay_status_str(s));
            goto cleanup;
        }
        /* The inputs stay in doubt: only the server, given this refusal at
         * the next sync, can void the record for good. */
        st = wallet_prepare(w, "UPDATE records SET answer = 'refused', answer_msg = ? WHERE id = ?");
        if (st == NULL) {
            s = OFFPAY_ERR_STORAGE;
            goto cleanup;
        }
        sqlite3_bind_blob(st, 1, answer, (int)answer_len, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 2, record_id, OFFPAY_RECORD_ID_BYTES, SQLITE_TRANSIENT);
        s = wallet_step_done(w, st);
        st = NULL;
        if (s != OFFPAY_OK ||
            (s = wallet_history_add(w, "refused", rec.payee_amount, NULL, record_id,
                                    "the payee refused; coins stay in doubt until sync voids the payment")) != OFFPAY_OK)
            goto cleanup;
        if ((s = wallet_commit(w)) == OFFPAY_OK && info) {
            info->refused = 1;
            info->refusal_reason = ref.reason;
        }
        goto cleanup;
    }

    if ((s = wallet_revocation_load(w, &rev, &rev_blob)) != OFFPAY_OK)
        goto cleanup;
    if ((s = offpay_confirmation_verify(&conf, &rec, w->issuer_pk, &rev, wallet_now())) != OFFPAY_OK) {
        wallet_fail(w, s, "The confirmation does not verify: %s Nothing changed.", offpay_status_str(s));
        goto cleanup;
    }
    /* Claim 1: the inputs are replaced by the change, atomically; claim 2:
     * the change is locked until the record is synced. */
    st = wallet_prepare(w, "DELETE FROM utxos WHERE record_id = ? AND state = 'in_doubt'");
    if (st == NULL) {
        s = OFFPAY_ERR_STORAGE;
        goto cleanup;
    }
    sqlite3_bind_blob(st, 1, record_id, OFFPAY_RECORD_ID_BYTES, SQLITE_TRANSIENT);
    s = wallet_step_done(w, st);
    st = NULL;
    if (s != OFFPAY_OK)
        goto cleanup;
    if (sqlite3_changes(w->db) != rec.n_inputs) {
        s = wallet_fail(w, OFFPAY_ERR_INTERNAL, "The payment's coins are not all in doubt as they should be.");
        goto cleanup;
    }
    if (rec.change_amount > 0) {
        struct offpay_utxo change;
        if ((s = offpay_record_output(&change, &rec, record_id, 1)) != OFFPAY_OK)
            goto cleanup;
        st = wallet_prepare(w, "INSERT INTO utxos (id, amount, state, attestation, record_id, added)"
                               " VALUES (?, ?, 'locked', NULL, ?, ?)");
        if (st == NULL) {
            s = OFFPAY_ERR_STORAGE;
            goto cleanup;
        }
        sqlite3_bind_blob(st, 1, change.id, OFFPAY_UTXO_ID_BYTES, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)change.amount);
        sqlite3_bind_blob(st, 3, record_id, OFFPAY_RECORD_ID_BYTES, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)wallet_now());
        s = wallet_step_done(w, st);
        st = NULL;
        if (s != OFFPAY_OK)
            goto cleanup;
    }
    st = wallet_prepare(w, "UPDATE records SET answer = 'confirmed', answer_msg = ? WHERE id = ?");
    if (st == NULL) {
        s = OFFPAY_ERR_STORAGE;
        goto cleanup;
    }
    sqlite3_bind_blob(st, 1, answer, (int)answer_len, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, record_id, OFFPAY_RECORD_ID_BYTES, SQLITE_TRANSIENT);
    s = wallet_step_done(w, st);
    st = NULL;
    char detail[96];
    snprintf(detail, sizeof detail, "confirmed by the payee; change %llu locked until sync", (unsigned long long)rec.change_amount);
    if (s != OFFPAY_OK || (s = wallet_history_add(w, "confirm", rec.payee_amount, conf.payee.account, record_id, detail)) != OFFPAY_OK)
        goto cleanup;
    s = wallet_commit(w);
cleanup:
    if (st)
        sqlite3_finalize(st);
    wallet_rollback(w);
    free(rev_blob);
    return s;
}

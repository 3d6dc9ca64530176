/*
 * protocol.c - the rules of the offline payment, as pure functions.
 *
 * Signing and verifying always go through the canonical encoding: a message
 * is encoded into a stack buffer and its body (all but the trailing
 * signature) is what the domain-tagged signature covers.  So the bytes that
 * are signed are exactly the bytes that travel.  Every builder signs through
 * a struct offpay_signer; the functions taking a secret key wrap it in the
 * in-memory signer, so a message is the same bytes whichever signer made it.
 */
#include <string.h>

#include "offpay/protocol.h"

/* Signatures are the last field of every signed message. */
#define BODY_LEN(n) ((n) - OFFPAY_SIGNATURE_BYTES)

/* The status of a signing: a signer that could not sign (a token gone, a
 * session lost) leaves an all-zero signature and says the key is unavailable. */
static enum offpay_status signed_or_wiped(int rc, uint8_t sig[OFFPAY_SIGNATURE_BYTES])
{
    if (rc == 0)
        return OFFPAY_OK;
    memset(sig, 0, OFFPAY_SIGNATURE_BYTES);
    return OFFPAY_ERR_KEY_UNAVAILABLE;
}

/* ---- issuer side ---- */

/* Why a certificate cannot be encoded: its name, else its validity window. */
static enum offpay_status cert_unencodable(const struct offpay_cert *c)
{
    return offpay_account_name_valid(c->account) ? OFFPAY_ERR_MALFORMED : OFFPAY_ERR_BAD_ACCOUNT_NAME;
}

enum offpay_status offpay_cert_issue_with(struct offpay_cert *c, const struct offpay_signer *issuer)
{
    uint8_t buf[OFFPAY_CERT_BYTES_MAX];
    size_t n = offpay_cert_encode(buf, sizeof buf, c);
    if (n == 0)
        return cert_unencodable(c);
    return signed_or_wiped(offpay_sign_with(c->issuer_sig, issuer, OFFPAY_TAG_CERT, buf, BODY_LEN(n)), c->issuer_sig);
}

enum offpay_status offpay_utxo_attest_with(struct offpay_utxo *u, const struct offpay_signer *issuer)
{
    uint8_t buf[OFFPAY_UTXO_BYTES];
    size_t n = offpay_utxo_encode(buf, sizeof buf, u);
    if (n == 0)
        return OFFPAY_ERR_ZERO_AMOUNT;
    return signed_or_wiped(offpay_sign_with(u->issuer_sig, issuer, OFFPAY_TAG_UTXO, buf, BODY_LEN(n)), u->issuer_sig);
}

/* A revocation list's body is a 22-byte head followed by its ids; it is
 * signed in two parts so a long list is never copied. */
#define REVOCATION_HEAD_BYTES 22

static int revocation_head(uint8_t head[REVOCATION_HEAD_BYTES], const struct offpay_revocation *v)
{
    struct offpay_revocation empty = *v;
    uint8_t buf[OFFPAY_REVOCATION_BYTES(0)];
    /* Encode the list without ids to reuse the canonical head, then patch the count. */
    empty.count = 0;
    if (offpay_revocation_encode(buf, sizeof buf, &empty) == 0)
        return -1;
    memcpy(head, buf, REVOCATION_HEAD_BYTES);
    for (int i = 0; i < 4; i++)
        head[18 + i] = (uint8_t)(v->count >> (24 - 8 * i));
    return 0;
}

static int revocation_ids_ok(const struct offpay_revocation *v)
{
    if (v->count > OFFPAY_REVOCATION_MAX || (v->count > 0 && v->ids == NULL))
        return 0;
    for (uint32_t i = 1; i < v->count; i++)
        if (memcmp(v->ids + (size_t)(i - 1) * OFFPAY_WALLET_ID_BYTES, v->ids + (size_t)i * OFFPAY_WALLET_ID_BYTES,
                   OFFPAY_WALLET_ID_BYTES) >= 0)
            return 0;
    return 1;
}

enum offpay_status offpay_revocation_sign_with(struct offpay_revocation *v, const struct offpay_signer *issuer)
{
    uint8_t head[REVOCATION_HEAD_BYTES];
    if (!revocation_ids_ok(v) || revocation_head(head, v) != 0)
        return OFFPAY_ERR_NOT_CANONICAL;
    return signed_or_wiped(offpay_sign2_with(v->sig, issuer, OFFPAY_TAG_REVOCATION, head, sizeof head, v->ids,
                                             (size_t)v->count * OFFPAY_WALLET_ID_BYTES),
                           v->sig);
}

enum offpay_status offpay_revocation_verify(const struct offpay_revocation *v, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES])
{
    uint8_t head[REVOCATION_HEAD_BYTES];
    if (!revocation_ids_ok(v) || revocation_head(head, v) != 0)
        return OFFPAY_ERR_NOT_CANONICAL;
    if (offpay_verify2(v->sig, issuer_pk, OFFPAY_TAG_REVOCATION, head, sizeof head, v->ids,
                       (size_t)v->count * OFFPAY_WALLET_ID_BYTES) != 0)
        return OFFPAY_ERR_BAD_SIGNATURE;
    return OFFPAY_OK;
}

enum offpay_status offpay_limits_policy_sign_with(struct offpay_limits_policy *p, const struct offpay_signer *issuer)
{
    uint8_t buf[OFFPAY_LIMITS_BYTES];
    size_t n = offpay_limits_policy_encode(buf, sizeof buf, p);
    if (n == 0)
        return OFFPAY_ERR_MALFORMED;
    return signed_or_wiped(offpay_sign_with(p->sig, issuer, OFFPAY_TAG_LIMITS, buf, BODY_LEN(n)), p->sig);
}

enum offpay_status offpay_limits_policy_verify(const struct offpay_limits_policy *p, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES])
{
    uint8_t buf[OFFPAY_LIMITS_BYTES];
    size_t n = offpay_limits_policy_encode(buf, sizeof buf, p);
    if (n == 0)
        return OFFPAY_ERR_MALFORMED;
    if (offpay_verify(p->sig, issuer_pk, OFFPAY_TAG_LIMITS, buf, BODY_LEN(n)) != 0)
        return OFFPAY_ERR_BAD_SIGNATURE;
    return OFFPAY_OK;
}

enum offpay_status offpay_stamp_sign_with(struct offpay_stamp *st, const struct offpay_signer *issuer)
{
    uint8_t buf[OFFPAY_STAMP_BYTES];
    size_t n = offpay_stamp_encode(buf, sizeof buf, st);
    if (n == 0)
        return OFFPAY_ERR_MALFORMED;
    return signed_or_wiped(offpay_sign_with(st->issuer_sig, issuer, OFFPAY_TAG_STAMP, buf, BODY_LEN(n)), st->issuer_sig);
}

enum offpay_status offpay_stamp_verify(const struct offpay_stamp *st, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES])
{
    uint8_t buf[OFFPAY_STAMP_BYTES];
    size_t n = offpay_stamp_encode(buf, sizeof buf, st);
    if (n == 0 || offpay_verify(st->issuer_sig, issuer_pk, OFFPAY_TAG_STAMP, buf, BODY_LEN(n)) != 0)
        return OFFPAY_ERR_STAMP_INVALID;
    return OFFPAY_OK;
}

/* ---- checks anyone can make ---- */

enum offpay_status offpay_cert_verify(const struct offpay_cert *c, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                      const struct offpay_revocation *revoked, uint64_t now)
{
    uint8_t buf[OFFPAY_CERT_BYTES_MAX];
    size_t n = offpay_cert_encode(buf, sizeof buf, c);
    if (n == 0)
        return cert_unencodable(c);
    if (offpay_verify(c->issuer_sig, issuer_pk, OFFPAY_TAG_CERT, buf, BODY_LEN(n)) != 0)
        return OFFPAY_ERR_CERT_NOT_ISSUED;
    if (now < c->not_before)
        return OFFPAY_ERR_CERT_NOT_YET_VALID;
    if (now > c->not_after)
        return OFFPAY_ERR_CERT_EXPIRED;
    if (offpay_revocation_contains(revoked, c->wallet_id))
        return OFFPAY_ERR_REVOKED;
    return OFFPAY_OK;
}

enum offpay_status offpay_utxo_verify(const struct offpay_utxo *u, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES])
{
    uint8_t buf[OFFPAY_UTXO_BYTES];
    size_t n = offpay_utxo_encode(buf, sizeof buf, u);
    if (n == 0 || offpay_verify(u->issuer_sig, issuer_pk, OFFPAY_TAG_UTXO, buf, BODY_LEN(n)) != 0)
        return OFFPAY_ERR_INPUT_NOT_ATTESTED;
    return OFFPAY_OK;
}

/* ---- request ---- */

static enum offpay_status request_build(struct offpay_request *r, const struct offpay_cert *payee,
                                        const struct offpay_signer *payee_key, uint64_t amount,
                                        const uint8_t nonce[OFFPAY_NONCE_BYTES])
{
    uint8_t buf[OFFPAY_REQUEST_BYTES_MAX];
    memset(r, 0, sizeof *r);
    if (amount == 0)
        return OFFPAY_ERR_ZERO_AMOUNT;
    r->payee = *payee;
    r->amount = amount;
    memcpy(r->nonce, nonce, OFFPAY_NONCE_BYTES);
    size_t n = offpay_request_encode(buf, sizeof buf, r);
    if (n == 0) {
        memset(r, 0, sizeof *r);
        return cert_unencodable(payee);
    }
    return signed_or_wiped(offpay_sign_with(r->sig, payee_key, OFFPAY_TAG_REQUEST, buf, BODY_LEN(n)), r->sig);
}

enum offpay_status offpay_request_verify(const struct offpay_request *r, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                         const struct offpay_revocation *revoked, uint64_t now)
{
    uint8_t buf[OFFPAY_REQUEST_BYTES_MAX];
    enum offpay_status s = offpay_cert_verify(&r->payee, issuer_pk, revoked, now);
    if (s != OFFPAY_OK)
        return s;
    size_t n = offpay_request_encode(buf, sizeof buf, r);
    if (n == 0)
        return OFFPAY_ERR_MALFORMED;
    if (offpay_verify(r->sig, r->payee.public_key, OFFPAY_TAG_REQUEST, buf, BODY_LEN(n)) != 0)
        return OFFPAY_ERR_BAD_SIGNATURE;
    return OFFPAY_OK;
}

/* ---- limits ---- */

static uint64_t stricter_u64(uint64_t server, uint64_t owner)
{
    return (owner != 0 && owner < server) ? owner : server;
}

/* For a limit whose 0 means "none": the smaller of the values that are set. */
static uint64_t stricter_or_set(uint64_t server, uint64_t owner)
{
    if (server == 0)
        return owner;
    return stricter_u64(server, owner);
}

void offpay_limits_effective(struct offpay_limits *eff, const struct offpay_limits *server,
                             const struct offpay_limits *owner)
{
    *eff = *server;
    if (owner == NULL)
        return;
    eff->per_payment = stricter_u64(server->per_payment, owner->per_payment);
    eff->offline_total = stricter_u64(server->offline_total, owner->offline_total);
    eff->count = (uint32_t)stricter_u64(server->count, owner->count);
    /* A longer period is the stricter one: the same count spread over more time. */
    if (owner->period > server->period)
        eff->period = owner->period;
    /* The server's 0 is "no limit", so any owner value is stricter. */
    eff->holding = stricter_or_set(server->holding, owner->holding);
    eff->offline_time = (uint32_t)stricter_or_set(server->offline_time, owner->offline_time);
}

uint64_t offpay_limits_period_start(uint64_t now, uint32_t period)
{
    if (period == 0)
        return 0;
    return now - now % period;
}

enum offpay_status offpay_limits_check(const struct offpay_limits *l, const struct offpay_limits_usage *u,
                                       uint64_t amount)
{
    if (amount >= l->per_payment)
        return OFFPAY_ERR_LIMIT_PER_PAYMENT;
    if (u->unsynced_total >= l->offline_total || amount >= l->offline_total - u->unsynced_total)
        return OFFPAY_ERR_LIMIT_OFFLINE_TOTAL;
    if (u->count_in_period >= l->count)
        return OFFPAY_ERR_LIMIT_COUNT;
    return OFFPAY_OK;
}

enum offpay_status offpay_limits_check_holding(const struct offpay_limits *l, uint64_t held, uint64_t adding)
{
    if (l->holding == 0)
        return OFFPAY_OK;
    if (held > l->holding || adding > l->holding - held)
        return OFFPAY_ERR_LIMIT_HOLDING;
    return OFFPAY_OK;
}

enum offpay_status offpay_limits_check_offline_time(const struct offpay_limits *l, uint64_t synced_at, uint64_t now)
{
    if (l->offline_time == 0)
        return OFFPAY_OK;
    if (synced_at == 0)
        return OFFPAY_ERR_LIMIT_OFFLINE_TIME;
    /* A stamp from a clock ahead of ours is fresh; one more than T ago is not. */
    if (now > synced_at && now - synced_at > l->offline_time)
        return OFFPAY_ERR_LIMIT_OFFLINE_TIME;
    return OFFPAY_OK;
}

/* ---- coin selection ---- */

enum offpay_status offpay_coins_select(size_t chosen[OFFPAY_RECORD_INPUTS_MAX], size_t *n_chosen,
                                       const struct offpay_coin *coins, size_t n_coins, uint64_t amount)
{
    *n_chosen = 0;
    if (amount == 0)
        return OFFPAY_ERR_ZERO_AMOUNT;

    /* Totals, saturating: only whether they reach amount matters. */
    uint64_t spendable = 0, all = 0;
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < n_coins; i++) {
        uint64_t a = coins[i].amount;
        all = a > UINT64_MAX - all ? UINT64_MAX : all + a;
        if (coins[i].state != OFFPAY_COIN_SPENDABLE || a == 0)
            continue;
        spendable = a > UINT64_MAX - spendable ? UINT64_MAX : spendable + a;
        if (a >= amount && (best == SIZE_MAX || a < coins[best].amount))
            best = i;
    }
    if (spendable < amount)
        return all >= amount ? OFFPAY_ERR_FUNDS_LOCKED : OFFPAY_ERR_INSUFFICIENT_FUNDS;
    if (best != SIZE_MAX) {
        chosen[0] = best;
        *n_chosen = 1;
        return OFFPAY_OK;
    }

    /* No single coin covers it: take the largest coins first, which needs the
     * fewest.  Selection by repeated maximum keeps this allocation-free. */
    uint64_t got = 0;
    while (got < amount) {
        if (*n_chosen == OFFPAY_RECORD_INPUTS_MAX) {
            *n_chosen = 0;
            return OFFPAY_ERR_TOO_MANY_INPUTS;
        }
        size_t pick = SIZE_MAX;
        for (size_t i = 0; i < n_coins; i++) {
            if (coins[i].state != OFFPAY_COIN_SPENDABLE || coins[i].amount == 0)
                continue;
            int taken = 0;
            for (size_t k = 0; k < *n_chosen; k++)
                taken |= chosen[k] == i;
            if (!taken && (pick == SIZE_MAX || coins[i].amount > coins[pick].amount))
                pick = i;
        }
        if (pick == SIZE_MAX) { /* cannot happen: spendable >= amount */
            *n_chosen = 0;
            return OFFPAY_ERR_INTERNAL;
        }
        chosen[(*n_chosen)++] = pick;
        /* Saturating: got + a coin can pass UINT64_MAX (and would wrap below
         * amount, then run out of coins) when amount is close to it. */
        got = coins[pick].amount > UINT64_MAX - got ? UINT64_MAX : got + coins[pick].amount;
    }
    return OFFPAY_OK;
}

/* ---- record ---- */

static enum offpay_status record_body(uint8_t *buf, size_t cap, size_t *body_len, const struct offpay_record *r)
{
    size_t n = offpay_record_encode(buf, cap, r);
    if (n == 0)
        return OFFPAY_ERR_MALFORMED;
    *body_len = BODY_LEN(n);
    return OFFPAY_OK;
}

/* Structural rules shared by build and verify. */
static enum offpay_status record_check_inputs(const struct offpay_record *r)
{
    uint64_t in_sum = 0;
    if (r->n_inputs == 0 || r->n_inputs > OFFPAY_RECORD_INPUTS_MAX)
        return OFFPAY_ERR_TOO_MANY_INPUTS;
    if (memcmp(r->payer.public_key, r->payee_key, OFFPAY_PUBLIC_KEY_BYTES) == 0)
        return OFFPAY_ERR_SELF_PAYMENT;
    for (unsigned i = 0; i < r->n_inputs; i++) {
        const struct offpay_utxo *u = &r->inputs[i];
        if (u->amount == 0)
            return OFFPAY_ERR_ZERO_AMOUNT;
        if (memcmp(u->owner, r->payer.public_key, OFFPAY_PUBLIC_KEY_BYTES) != 0)
            return OFFPAY_ERR_INPUT_NOT_OWNED;
        for (unsigned k = 0; k < i; k++)
            if (memcmp(r->inputs[k].id, u->id, OFFPAY_UTXO_ID_BYTES) == 0)
                return OFFPAY_ERR_DUPLICATE_INPUT;
        if (u->amount > UINT64_MAX - in_sum)
            return OFFPAY_ERR_AMOUNT_OVERFLOW;
        in_sum += u->amount;
    }
    if (r->payee_amount == 0)
        return OFFPAY_ERR_ZERO_AMOUNT;
    if (r->payee_amount > UINT64_MAX - r->change_amount)
        return OFFPAY_ERR_AMOUNT_OVERFLOW;
    if (in_sum != r->payee_amount + r->change_amount)
        return OFFPAY_ERR_UNBALANCED;
    return OFFPAY_OK;
}

static enum offpay_status record_build(struct offpay_record *r, const struct offpay_cert *payer,
                                       const struct offpay_signer *payer_key, const struct offpay_stamp *stamp,
                                       const struct offpay_request *request, const struct offpay_utxo *inputs,
                                       size_t n_inputs, uint64_t created, uint64_t seq)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    size_t body_len;
    uint64_t in_sum = 0;
    enum offpay_status s;

    memset(r, 0, sizeof *r);
    if (n_inputs == 0 || n_inputs > OFFPAY_RECORD_INPUTS_MAX)
        return n_inputs == 0 ? OFFPAY_ERR_INSUFFICIENT_FUNDS : OFFPAY_ERR_TOO_MANY_INPUTS;
    if (seq == 0)
        return OFFPAY_ERR_USAGE;
    for (size_t i = 0; i < n_inputs; i++) {
        if (inputs[i].amount > UINT64_MAX - in_sum)
            return OFFPAY_ERR_AMOUNT_OVERFLOW;
        in_sum += inputs[i].amount;
    }
    if (in_sum < request->amount)
        return OFFPAY_ERR_INSUFFICIENT_FUNDS;

    r->payer = *payer;
    if (stamp != NULL) {
        r->has_stamp = 1;
        r->stamp = *stamp;
    }
    memcpy(r->payee_key, request->payee.public_key, OFFPAY_PUBLIC_KEY_BYTES);
    memcpy(r->nonce, request->nonce, OFFPAY_NONCE_BYTES);
    r->created = created;
    r->seq = seq;
    r->payee_amount = request->amount;
    r->change_amount = in_sum - request->amount;
    r->n_inputs = (uint8_t)n_inputs;
    memcpy(r->inputs, inputs, n_inputs * sizeof inputs[0]);

    s = record_check_inputs(r);
    if (s == OFFPAY_OK)
        s = record_body(buf, sizeof buf, &body_len, r);
    if (s != OFFPAY_OK) {
        memset(r, 0, sizeof *r);
        return s;
    }
    return signed_or_wiped(offpay_sign_with(r->sig, payer_key, OFFPAY_TAG_RECORD, buf, body_len), r->sig);
}

/* The id of an encodable record; an unencodable one has none (the all-zero
 * id offpay_record_id gives it must never match a confirmation or refusal
 * that names the all-zero id). */
static enum offpay_status record_id_checked(uint8_t id[OFFPAY_RECORD_ID_BYTES], const struct offpay_record *r)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    size_t body_len;
    enum offpay_status s = record_body(buf, sizeof buf, &body_len, r);
    if (s == OFFPAY_OK)
        offpay_hash(id, buf, body_len);
    return s;
}

void offpay_record_id(uint8_t id[OFFPAY_RECORD_ID_BYTES], const struct offpay_record *r)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    size_t body_len;
    if (record_body(buf, sizeof buf, &body_len, r) != OFFPAY_OK) {
        /* An unencodable record has no id; all-zero never matches a real one. */
        memset(id, 0, OFFPAY_RECORD_ID_BYTES);
        return;
    }
    offpay_hash(id, buf, body_len);
}

enum offpay_status offpay_record_verify(const struct offpay_record *r, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                        const struct offpay_revocation *revoked, uint64_t now, unsigned flags)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    size_t body_len;
    enum offpay_status s;

    if (flags & OFFPAY_VERIFY_SKIP_PAYER_CERT) {
        if (offpay_revocation_contains(revoked, r->payer.wallet_id))
            return OFFPAY_ERR_REVOKED;
    } else if ((s = offpay_cert_verify(&r->payer, issuer_pk, revoked, now)) != OFFPAY_OK) {
        return s;
    }
    if ((s = record_body(buf, sizeof buf, &body_len, r)) != OFFPAY_OK)
        return s;
    if (offpay_verify(r->sig, r->payer.public_key, OFFPAY_TAG_RECORD, buf, body_len) != 0)
        return OFFPAY_ERR_BAD_SIGNATURE;
    if ((s = record_check_inputs(r)) != OFFPAY_OK)
        return s;
    if (!(flags & OFFPAY_VERIFY_SKIP_INPUT_ATTESTATIONS))
        for (unsigned i = 0; i < r->n_inputs; i++)
            if ((s = offpay_utxo_verify(&r->inputs[i], issuer_pk)) != OFFPAY_OK)
                return s;
    return OFFPAY_OK;
}

enum offpay_status offpay_record_verify_for_request(const struct offpay_record *r, const struct offpay_request *request,
                                                    const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                                    const struct offpay_revocation *revoked, uint64_t now)
{
    enum offpay_status s = offpay_record_verify(r, issuer_pk, revoked, now, 0);
    if (s != OFFPAY_OK)
        return s;
    if (memcmp(r->payee_key, request->payee.public_key, OFFPAY_PUBLIC_KEY_BYTES) != 0)
        return OFFPAY_ERR_WRONG_PAYEE;
    if (memcmp(r->nonce, request->nonce, OFFPAY_NONCE_BYTES) != 0)
        return OFFPAY_ERR_WRONG_NONCE;
    if (r->payee_amount != request->amount)
        return OFFPAY_ERR_WRONG_AMOUNT;
    return OFFPAY_OK;
}

enum offpay_status offpay_record_check_fresh(const struct offpay_record *r, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                             uint32_t offline_time, uint64_t now)
{
    struct offpay_limits l;
    if (r->has_stamp) {
        /* A stamp is the issuer's and the payer's, or the record is forged. */
        if (memcmp(r->stamp.wallet_id, r->payer.wallet_id, OFFPAY_WALLET_ID_BYTES) != 0 ||
            offpay_stamp_verify(&r->stamp, issuer_pk) != OFFPAY_OK)
            return OFFPAY_ERR_STAMP_INVALID;
    }
    if (offline_time == 0)
        return OFFPAY_OK;
    memset(&l, 0, sizeof l);
    l.offline_time = offline_time;
    if (!r->has_stamp || offpay_limits_check_offline_time(&l, r->stamp.synced_at, now) != OFFPAY_OK)
        return OFFPAY_ERR_PAYER_NOT_FRESH;
    return OFFPAY_OK;
}

enum offpay_status offpay_record_output(struct offpay_utxo *u, const struct offpay_record *r,
                                        const uint8_t record_id[OFFPAY_RECORD_ID_BYTES], unsigned index)
{
    static const char tag[] = "offpay/v1/output";
    uint8_t pre[sizeof tag - 1 + OFFPAY_RECORD_ID_BYTES + 1];

    memset(u, 0, sizeof *u);
    if (index > 1 || (index == 1 && r->change_amount == 0))
        return OFFPAY_ERR_USAGE;
    memcpy(pre, tag, sizeof tag - 1);
    memcpy(pre + sizeof tag - 1, record_id, OFFPAY_RECORD_ID_BYTES);
    pre[sizeof pre - 1] = (uint8_t)index;
    offpay_hash(u->id, pre, sizeof pre);
    memcpy(u->owner, index == 0 ? r->payee_key : r->payer.public_key, OFFPAY_PUBLIC_KEY_BYTES);
    u->amount = index == 0 ? r->payee_amount : r->change_amount;
    return OFFPAY_OK;
}

/* ---- confirmation and refusal ---- */

static enum offpay_status confirmation_build(struct offpay_confirmation *c, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                             const struct offpay_cert *payee, const struct offpay_signer *payee_key)
{
    uint8_t buf[OFFPAY_CONFIRMATION_BYTES_MAX];
    memset(c, 0, sizeof *c);
    memcpy(c->record_id, record_id, OFFPAY_RECORD_ID_BYTES);
    c->payee = *payee;
    size_t n = offpay_confirmation_encode(buf, sizeof buf, c);
    if (n == 0) {
        memset(c, 0, sizeof *c);
        return cert_unencodable(payee);
    }
    return signed_or_wiped(offpay_sign_with(c->sig, payee_key, OFFPAY_TAG_CONFIRMATION, buf, BODY_LEN(n)), c->sig);
}

enum offpay_status offpay_confirmation_verify(const struct offpay_confirmation *c, const struct offpay_record *r,
                                              const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                              const struct offpay_revocation *revoked, uint64_t now)
{
    uint8_t buf[OFFPAY_CONFIRMATION_BYTES_MAX];
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    enum offpay_status s;

    if (record_id_checked(id, r) != OFFPAY_OK || memcmp(id, c->record_id, sizeof id) != 0)
        return OFFPAY_ERR_WRONG_RECORD;
    if (memcmp(c->payee.public_key, r->payee_key, OFFPAY_PUBLIC_KEY_BYTES) != 0)
        return OFFPAY_ERR_WRONG_PAYEE;
    if ((s = offpay_cert_verify(&c->payee, issuer_pk, revoked, now)) != OFFPAY_OK)
        return s;
    size_t n = offpay_confirmation_encode(buf, sizeof buf, c);
    if (n == 0)
        return OFFPAY_ERR_MALFORMED;
    if (offpay_verify(c->sig, c->payee.public_key, OFFPAY_TAG_CONFIRMATION, buf, BODY_LEN(n)) != 0)
        return OFFPAY_ERR_BAD_SIGNATURE;
    return OFFPAY_OK;
}

static enum offpay_status refusal_build(struct offpay_refusal *f, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                        uint8_t reason, const struct offpay_signer *payee_key)
{
    uint8_t buf[OFFPAY_REFUSAL_BYTES];
    memset(f, 0, sizeof *f);
    memcpy(f->record_id, record_id, OFFPAY_RECORD_ID_BYTES);
    f->reason = reason;
    size_t n = offpay_refusal_encode(buf, sizeof buf, f);
    if (n == 0) {
        memset(f, 0, sizeof *f);
        return OFFPAY_ERR_MALFORMED;
    }
    return signed_or_wiped(offpay_sign_with(f->sig, payee_key, OFFPAY_TAG_REFUSAL, buf, BODY_LEN(n)), f->sig);
}

enum offpay_status offpay_refusal_verify(const struct offpay_refusal *f, const struct offpay_record *r)
{
    uint8_t buf[OFFPAY_REFUSAL_BYTES];
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    if (record_id_checked(id, r) != OFFPAY_OK || memcmp(id, f->record_id, sizeof id) != 0)
        return OFFPAY_ERR_WRONG_RECORD;
    size_t n = offpay_refusal_encode(buf, sizeof buf, f);
    if (n == 0)
        return OFFPAY_ERR_MALFORMED;
    if (offpay_verify(f->sig, r->payee_key, OFFPAY_TAG_REFUSAL, buf, BODY_LEN(n)) != 0)
        return OFFPAY_ERR_BAD_SIGNATURE;
    return OFFPAY_OK;
}

/* ---- builders, safe when an input points into the output ----
 * Each builder writes a local message and copies it out at the end, so a
 * caller may rebuild a message from its own fields (say, a record from
 * rec.inputs, or a confirmation naming c.record_id) without the output's
 * early zeroing destroying the input. */

enum offpay_status offpay_request_build_with(struct offpay_request *r, const struct offpay_cert *payee,
                                             const struct offpay_signer *payee_key, uint64_t amount,
                                             const uint8_t nonce[OFFPAY_NONCE_BYTES])
{
    struct offpay_request tmp;
    enum offpay_status s = request_build(&tmp, payee, payee_key, amount, nonce);
    *r = tmp;
    return s;
}

enum offpay_status offpay_record_build_with(struct offpay_record *r, const struct offpay_cert *payer,
                                            const struct offpay_signer *payer_key, const struct offpay_request *request,
                                            const struct offpay_utxo *inputs, size_t n_inputs, uint64_t created,
                                            uint64_t seq)
{
    struct offpay_record tmp;
    enum offpay_status s = record_build(&tmp, payer, payer_key, NULL, request, inputs, n_inputs, created, seq);
    *r = tmp;
    return s;
}

enum offpay_status offpay_record_build_stamped_with(struct offpay_record *r, const struct offpay_cert *payer,
                                                    const struct offpay_signer *payer_key,
                                                    const struct offpay_stamp *stamp,
                                                    const struct offpay_request *request,
                                                    const struct offpay_utxo *inputs, size_t n_inputs,
                                                    uint64_t created, uint64_t seq)
{
    struct offpay_record tmp;
    enum offpay_status s = record_build(&tmp, payer, payer_key, stamp, request, inputs, n_inputs, created, seq);
    *r = tmp;
    return s;
}

enum offpay_status offpay_confirmation_build_with(struct offpay_confirmation *c,
                                                  const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                                  const struct offpay_cert *payee, const struct offpay_signer *payee_key)
{
    struct offpay_confirmation tmp;
    enum offpay_status s = confirmation_build(&tmp, record_id, payee, payee_key);
    *c = tmp;
    return s;
}

enum offpay_status offpay_refusal_build_with(struct offpay_refusal *f, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                             uint8_t reason, const struct offpay_signer *payee_key)
{
    struct offpay_refusal tmp;
    enum offpay_status s = refusal_build(&tmp, record_id, reason, payee_key);
    *f = tmp;
    return s;
}

/* ---- the same with a secret key in memory ----
 * Each wraps the key in a signer that points to it (nothing is copied). */

enum offpay_status offpay_cert_issue(struct offpay_cert *c, const uint8_t issuer_sk[OFFPAY_SECRET_KEY_BYTES])
{
    struct offpay_signer k;
    offpay_signer_from_key(&k, issuer_sk);
    return offpay_cert_issue_with(c, &k);
}

enum offpay_status offpay_utxo_attest(struct offpay_utxo *u, const uint8_t issuer_sk[OFFPAY_SECRET_KEY_BYTES])
{
    struct offpay_signer k;
    offpay_signer_from_key(&k, issuer_sk);
    return offpay_utxo_attest_with(u, &k);
}

enum offpay_status offpay_revocation_sign(struct offpay_revocation *v, const uint8_t issuer_sk[OFFPAY_SECRET_KEY_BYTES])
{
    struct offpay_signer k;
    offpay_signer_from_key(&k, issuer_sk);
    return offpay_revocation_sign_with(v, &k);
}

enum offpay_status offpay_limits_policy_sign(struct offpay_limits_policy *p, const uint8_t issuer_sk[OFFPAY_SECRET_KEY_BYTES])
{
    struct offpay_signer k;
    offpay_signer_from_key(&k, issuer_sk);
    return offpay_limits_policy_sign_with(p, &k);
}

enum offpay_status offpay_stamp_sign(struct offpay_stamp *st, const uint8_t issuer_sk[OFFPAY_SECRET_KEY_BYTES])
{
    struct offpay_signer k;
    offpay_signer_from_key(&k, issuer_sk);
    return offpay_stamp_sign_with(st, &k);
}

enum offpay_status offpay_request_build(struct offpay_request *r, const struct offpay_cert *payee,
                                        const uint8_t payee_sk[OFFPAY_SECRET_KEY_BYTES], uint64_t amount,
                                        const uint8_t nonce[OFFPAY_NONCE_BYTES])
{
    struct offpay_signer k;
    offpay_signer_from_key(&k, payee_sk);
    return offpay_request_build_with(r, payee, &k, amount, nonce);
}

enum offpay_status offpay_record_build(struct offpay_record *r, const struct offpay_cert *payer,
                                       const uint8_t payer_sk[OFFPAY_SECRET_KEY_BYTES],
                                       const struct offpay_request *request, const struct offpay_utxo *inputs,
                                       size_t n_inputs, uint64_t created, uint64_t seq)
{
    struct offpay_signer k;
    offpay_signer_from_key(&k, payer_sk);
    return offpay_record_build_with(r, payer, &k, request, inputs, n_inputs, created, seq);
}

enum offpay_status offpay_confirmation_build(struct offpay_confirmation *c, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                             const struct offpay_cert *payee,
                                             const uint8_t payee_sk[OFFPAY_SECRET_KEY_BYTES])
{
    struct offpay_signer k;
    offpay_signer_from_key(&k, payee_sk);
    return offpay_confirmation_build_with(c, record_id, payee, &k);
}

enum offpay_status offpay_refusal_build(struct offpay_refusal *f, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                        uint8_t reason, const uint8_t payee_sk[OFFPAY_SECRET_KEY_BYTES])
{
    struct offpay_signer k;
    offpay_signer_from_key(&k, payee_sk);
    return offpay_refusal_build_with(f, record_id, reason, &k);
}

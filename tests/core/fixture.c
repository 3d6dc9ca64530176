/*
 * fixture.c - builds the fixed world of fixture.h.  Changing any constant
 * here changes the known-answer vectors (test_vectors.c, docs/wire-format.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static void must(enum offpay_status s, const char *what)
{
    if (s != OFFPAY_OK) {
        fprintf(stderr, "fixture: %s: %s\n", what, offpay_status_str(s));
        exit(1);
    }
}

void fx_seed(uint8_t seed[OFFPAY_SEED_BYTES], uint8_t label)
{
    for (int i = 0; i < OFFPAY_SEED_BYTES; i++)
        seed[i] = (uint8_t)(label + i);
}

static void keys(uint8_t *pk, uint8_t *sk, uint8_t label)
{
    uint8_t seed[OFFPAY_SEED_BYTES];
    fx_seed(seed, label);
    offpay_keypair_from_seed(pk, sk, seed);
}

static void cert(struct offpay_cert *c, const struct fx *f, uint8_t id_byte, const uint8_t *pk, const char *account)
{
    memset(c, 0, sizeof *c);
    memset(c->wallet_id, id_byte, sizeof c->wallet_id);
    memcpy(c->public_key, pk, OFFPAY_PUBLIC_KEY_BYTES);
    c->not_before = FX_NOW - FX_DAY;
    c->not_after = FX_NOW + 365 * FX_DAY;
    snprintf(c->account, sizeof c->account, "%s", account);
    must(offpay_cert_issue(c, f->issuer_sk), "issue certificate");
}

void fx_init(struct fx *f, const char *payer_account)
{
    uint8_t nonce[OFFPAY_NONCE_BYTES];

    if (offpay_crypto_init() != 0)
        must(OFFPAY_ERR_CRYPTO_INIT, "init");
    memset(f, 0, sizeof *f);
    keys(f->issuer_pk, f->issuer_sk, 0x00);
    keys(f->payer_pk, f->payer_sk, 0x40);
    keys(f->payee_pk, f->payee_sk, 0x80);
    keys(f->other_pk, f->other_sk, 0xc0);
    cert(&f->payer, f, 0x11, f->payer_pk, payer_account ? payer_account : "alice");
    cert(&f->payee, f, 0x22, f->payee_pk, "bob");
    cert(&f->other, f, 0x33, f->other_pk, "carol");

    for (int i = 0; i < 4; i++) {
        struct offpay_utxo *u = &f->coins[i];
        memset(u->id, 0xa0 + i, sizeof u->id);
        memcpy(u->owner, f->payer_pk, OFFPAY_PUBLIC_KEY_BYTES);
        u->amount = 1000u * (unsigned)(i + 1);
        must(offpay_utxo_attest(u, f->issuer_sk), "attest coin");
    }

    memset(nonce, 0x5a, sizeof nonce);
    must(offpay_request_build(&f->req, &f->payee, f->payee_sk, 3500, nonce), "request");
    must(offpay_record_build(&f->rec, &f->payer, f->payer_sk, &f->req, &f->coins[3], 1, FX_NOW, 1), "record");
    offpay_record_id(f->rec_id, &f->rec);
    must(offpay_confirmation_build(&f->conf, f->rec_id, &f->payee, f->payee_sk), "confirmation");
    must(offpay_refusal_build(&f->refusal, f->rec_id, OFFPAY_REFUSE_DECLINED, f->payee_sk), "refusal");

    /* Three revoked ids, ascending, none of them a fixture wallet. */
    memset(f->revoked_ids, 0x05, OFFPAY_WALLET_ID_BYTES);
    memset(f->revoked_ids + OFFPAY_WALLET_ID_BYTES, 0x2a, OFFPAY_WALLET_ID_BYTES);
    memset(f->revoked_ids + 2 * OFFPAY_WALLET_ID_BYTES, 0xf0, OFFPAY_WALLET_ID_BYTES);
    f->revocation.serial = 7;
    f->revocation.issued_at = FX_NOW;
    f->revocation.count = FX_N_REVOKED;
    f->revocation.ids = f->revoked_ids;
    must(offpay_revocation_sign(&f->revocation, f->issuer_sk), "revocation");

    memcpy(f->policy.wallet_id, f->payer.wallet_id, OFFPAY_WALLET_ID_BYTES);
    f->policy.limits = (struct offpay_limits){.per_payment = 10000, .offline_total = 50000, .count = 10, .period = 86400};
    f->policy.issued_at = FX_NOW;
    must(offpay_limits_policy_sign(&f->policy, f->issuer_sk), "limits policy");

    memcpy(f->stamp.wallet_id, f->payer.wallet_id, OFFPAY_WALLET_ID_BYTES);
    f->stamp.synced_at = FX_NOW - FX_DAY;
    must(offpay_stamp_sign(&f->stamp, f->issuer_sk), "sync stamp");
    struct offpay_signer k;
    offpay_signer_from_key(&k, f->payer_sk);
    must(offpay_record_build_stamped_with(&f->rec_stamped, &f->payer, &k, &f->stamp, &f->req, &f->coins[3], 1, FX_NOW, 1),
         "stamped record");
}

const char *fx_hex(const uint8_t *b, size_t n)
{
    static char out[2 * OFFPAY_RECORD_BYTES_MAX + 1];
    if (n > OFFPAY_RECORD_BYTES_MAX)
        n = OFFPAY_RECORD_BYTES_MAX;
    offpay_hex(out, b, n);
    return out;
}

/* ---- codecs: decode, then encode what was decoded ---- */

#define ROUNDTRIP(name, type_, decode, encode)                                                          \
    static enum offpay_status rt_##name(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, \
                                        size_t *out_len)                                                \
    {                                                                                                   \
        type_ m;                                                                                        \
        enum offpay_status s = decode(&m, in, in_len);                                                  \
        *out_len = 0;                                                                                   \
        if (s == OFFPAY_OK)                                                                             \
            *out_len = encode(out, out_cap, &m);                                                        \
        return s;                                                                                       \
    }

ROUNDTRIP(cert, struct offpay_cert, offpay_cert_decode, offpay_cert_encode)
ROUNDTRIP(utxo, struct offpay_utxo, offpay_utxo_decode, offpay_utxo_encode)
ROUNDTRIP(request, struct offpay_request, offpay_request_decode, offpay_request_encode)
ROUNDTRIP(record, struct offpay_record, offpay_record_decode, offpay_record_encode)
ROUNDTRIP(confirmation, struct offpay_confirmation, offpay_confirmation_decode, offpay_confirmation_encode)
ROUNDTRIP(refusal, struct offpay_refusal, offpay_refusal_decode, offpay_refusal_encode)
ROUNDTRIP(revocation, struct offpay_revocation, offpay_revocation_decode, offpay_revocation_encode)
ROUNDTRIP(limits, struct offpay_limits_policy, offpay_limits_policy_decode, offpay_limits_policy_encode)
ROUNDTRIP(stamp, struct offpay_stamp, offpay_stamp_decode, offpay_stamp_encode)

const struct fx_codec fx_codecs[FX_N_CODECS] = {
    {"cert", OFFPAY_MSG_CERT, rt_cert},
    {"utxo", OFFPAY_MSG_UTXO, rt_utxo},
    {"request", OFFPAY_MSG_REQUEST, rt_request},
    {"record", OFFPAY_MSG_RECORD, rt_record},
    {"confirmation", OFFPAY_MSG_CONFIRMATION, rt_confirmation},
    {"refusal", OFFPAY_MSG_REFUSAL, rt_refusal},
    {"revocation", OFFPAY_MSG_REVOCATION, rt_revocation},
    {"limits", OFFPAY_MSG_LIMITS, rt_limits},
    {"stamp", OFFPAY_MSG_STAMP, rt_stamp},
};

size_t fx_encode(const struct fx *f, int type, uint8_t *out, size_t out_cap)
{
    switch (type) {
    case OFFPAY_MSG_CERT: return offpay_cert_encode(out, out_cap, &f->payer);
    case OFFPAY_MSG_UTXO: return offpay_utxo_encode(out, out_cap, &f->coins[3]);
    case OFFPAY_MSG_REQUEST: return offpay_request_encode(out, out_cap, &f->req);
    case OFFPAY_MSG_RECORD: return offpay_record_encode(out, out_cap, &f->rec);
    case OFFPAY_MSG_CONFIRMATION: return offpay_confirmation_encode(out, out_cap, &f->conf);
    case OFFPAY_MSG_REFUSAL: return offpay_refusal_encode(out, out_cap, &f->refusal);
    case OFFPAY_MSG_REVOCATION: return offpay_revocation_encode(out, out_cap, &f->revocation);
    case OFFPAY_MSG_LIMITS: return offpay_limits_policy_encode(out, out_cap, &f->policy);
    case OFFPAY_MSG_STAMP: return offpay_stamp_encode(out, out_cap, &f->stamp);
    case OFFPAY_MSG_RECORD_STAMPED: return offpay_record_encode(out, out_cap, &f->rec_stamped);
    default: return 0;
    }
}

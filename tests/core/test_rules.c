/*
 * test_rules.c - every rule of the handshake, each proven to reject.
 *
 * Starting from the fixture's valid handshake (payee asks 3500, payer spends
 * its 4000 coin, change 500, payee confirms), each test breaks exactly one
 * thing and checks the specific status the rule answers with.
 */
#include "check.h"
#include "fixture.h"

static struct fx F;

#define NOW FX_NOW

static void sign_record(struct offpay_record *r, const uint8_t *sk)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    size_t n = offpay_record_encode(buf, sizeof buf, r);
    CHECK(n > OFFPAY_SIGNATURE_BYTES);
    offpay_sign(r->sig, sk, OFFPAY_TAG_RECORD, buf, n - OFFPAY_SIGNATURE_BYTES);
}

static enum offpay_status verify(const struct offpay_record *r)
{
    return offpay_record_verify_for_request(r, &F.req, F.issuer_pk, NULL, NOW);
}

static void test_happy_path(void)
{
    CHECK_STATUS(offpay_request_verify(&F.req, F.issuer_pk, NULL, NOW), OFFPAY_OK);
    CHECK_STATUS(offpay_request_verify(&F.req, F.issuer_pk, &F.revocation, NOW), OFFPAY_OK);
    CHECK_STATUS(offpay_record_verify(&F.rec, F.issuer_pk, &F.revocation, NOW, 0), OFFPAY_OK);
    CHECK_STATUS(offpay_record_verify_for_request(&F.rec, &F.req, F.issuer_pk, &F.revocation, NOW), OFFPAY_OK);
    CHECK_STATUS(offpay_confirmation_verify(&F.conf, &F.rec, F.issuer_pk, &F.revocation, NOW), OFFPAY_OK);
    CHECK_STATUS(offpay_refusal_verify(&F.refusal, &F.rec), OFFPAY_OK);
    CHECK_STATUS(offpay_revocation_verify(&F.revocation, F.issuer_pk), OFFPAY_OK);
    CHECK_STATUS(offpay_limits_policy_verify(&F.policy, F.issuer_pk), OFFPAY_OK);
    for (int i = 0; i < 4; i++)
        CHECK_STATUS(offpay_utxo_verify(&F.coins[i], F.issuer_pk), OFFPAY_OK);
    CHECK_U64(F.rec.payee_amount, 3500);
    CHECK_U64(F.rec.change_amount, 500);
    CHECK_U64(F.rec.n_inputs, 1);
    CHECK_U64(F.rec.inputs[0].amount, 4000);
}

/* Change one byte, anywhere, in any way: the result never passes.  Either it
 * no longer decodes, or a verification refuses it. */
static void test_tamper_every_byte(void)
{
    static const uint8_t flips[] = {0x01, 0x80, 0xff};
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];

    size_t n = offpay_record_encode(buf, sizeof buf, &F.rec);
    for (size_t pos = 0; pos < n; pos++) {
        for (size_t k = 0; k < sizeof flips; k++) {
            struct offpay_record r;
            buf[pos] ^= flips[k];
            if (offpay_record_decode(&r, buf, n) == OFFPAY_OK) {
                if (verify(&r) == OFFPAY_OK ||
                    offpay_record_verify(&r, F.issuer_pk, NULL, NOW, OFFPAY_VERIFY_SKIP_INPUT_ATTESTATIONS |
                                                                         OFFPAY_VERIFY_SKIP_PAYER_CERT) == OFFPAY_OK)
                    CHECK_FAIL("record byte %zu ^ %02x accepted", pos, flips[k]);
            }
            buf[pos] ^= flips[k];
        }
    }

    n = offpay_request_encode(buf, sizeof buf, &F.req);
    for (size_t pos = 0; pos < n; pos++) {
        for (size_t k = 0; k < sizeof flips; k++) {
            struct offpay_request q;
            buf[pos] ^= flips[k];
            if (offpay_request_decode(&q, buf, n) == OFFPAY_OK &&
                offpay_request_verify(&q, F.issuer_pk, NULL, NOW) == OFFPAY_OK)
                CHECK_FAIL("request byte %zu ^ %02x accepted", pos, flips[k]);
            buf[pos] ^= flips[k];
        }
    }

    n = offpay_confirmation_encode(buf, sizeof buf, &F.conf);
    for (size_t pos = 0; pos < n; pos++) {
        for (size_t k = 0; k < sizeof flips; k++) {
            struct offpay_confirmation c;
            buf[pos] ^= flips[k];
            if (offpay_confirmation_decode(&c, buf, n) == OFFPAY_OK &&
                offpay_confirmation_verify(&c, &F.rec, F.issuer_pk, NULL, NOW) == OFFPAY_OK)
                CHECK_FAIL("confirmation byte %zu ^ %02x accepted", pos, flips[k]);
            buf[pos] ^= flips[k];
        }
    }

    n = offpay_refusal_encode(buf, sizeof buf, &F.refusal);
    for (size_t pos = 0; pos < n; pos++) {
        for (size_t k = 0; k < sizeof flips; k++) {
            struct offpay_refusal f;
            buf[pos] ^= flips[k];
            if (offpay_refusal_decode(&f, buf, n) == OFFPAY_OK && offpay_refusal_verify(&f, &F.rec) == OFFPAY_OK)
                CHECK_FAIL("refusal byte %zu ^ %02x accepted", pos, flips[k]);
            buf[pos] ^= flips[k];
        }
    }
}

/* The record answers one request: its payee, its amount, its nonce. */
static void test_wrong_request(void)
{
    struct offpay_request q;
    /* Same amount and nonce, asked by another payee. */
    CHECK_STATUS(offpay_request_build(&q, &F.other, F.other_sk, 3500, F.req.nonce), OFFPAY_OK);
    CHECK_STATUS(offpay_record_verify_for_request(&F.rec, &q, F.issuer_pk, NULL, NOW), OFFPAY_ERR_WRONG_PAYEE);
    /* Same payee and nonce, another amount (one more, one less). */
    CHECK_STATUS(offpay_request_build(&q, &F.payee, F.payee_sk, 3501, F.req.nonce), OFFPAY_OK);
    CHECK_STATUS(offpay_record_verify_for_request(&F.rec, &q, F.issuer_pk, NULL, NOW), OFFPAY_ERR_WRONG_AMOUNT);
    CHECK_STATUS(offpay_request_build(&q, &F.payee, F.payee_sk, 3499, F.req.nonce), OFFPAY_OK);
    CHECK_STATUS(offpay_record_verify_for_request(&F.rec, &q, F.issuer_pk, NULL, NOW), OFFPAY_ERR_WRONG_AMOUNT);
    /* Same payee and amount, another nonce (a replay of an old record). */
    uint8_t nonce[OFFPAY_NONCE_BYTES];
    memcpy(nonce, F.req.nonce, sizeof nonce);
    nonce[15] ^= 1;
    CHECK_STATUS(offpay_request_build(&q, &F.payee, F.payee_sk, 3500, nonce), OFFPAY_OK);
    CHECK_STATUS(offpay_record_verify_for_request(&F.rec, &q, F.issuer_pk, NULL, NOW), OFFPAY_ERR_WRONG_NONCE);

    /* A payer that signs a record for the wrong payee key is caught even if
     * it re-signs properly. */
    struct offpay_record r = F.rec;
    memcpy(r.payee_key, F.other_pk, 32);
    sign_record(&r, F.payer_sk);
    CHECK_STATUS(offpay_record_verify(&r, F.issuer_pk, NULL, NOW, 0), OFFPAY_OK);
    CHECK_STATUS(verify(&r), OFFPAY_ERR_WRONG_PAYEE);
    r = F.rec;
    r.payee_amount = 3000;
    r.change_amount = 1000;
    sign_record(&r, F.payer_sk);
    CHECK_STATUS(verify(&r), OFFPAY_ERR_WRONG_AMOUNT);
}

/* Certificates and coins that the issuer did not sign. */
static void test_forged_issuer(void)
{
    struct offpay_cert forged = F.payee;
    CHECK_STATUS(offpay_cert_issue(&forged, F.other_sk), OFFPAY_OK); /* another key plays issuer */
    CHECK_STATUS(offpay_cert_verify(&forged, F.issuer_pk, NULL, NOW), OFFPAY_ERR_CERT_NOT_ISSUED);
    CHECK_STATUS(offpay_cert_verify(&forged, F.other_pk, NULL, NOW), OFFPAY_OK);
    struct offpay_request q;
    CHECK_STATUS(offpay_request_build(&q, &forged, F.payee_sk, 3500, F.req.nonce), OFFPAY_OK);
    CHECK_STATUS(offpay_request_verify(&q, F.issuer_pk, NULL, NOW), OFFPAY_ERR_CERT_NOT_ISSUED);

    /* A payer with a self-made certificate. */
    struct offpay_cert fake_payer = F.payer;
    CHECK_STATUS(offpay_cert_issue(&fake_payer, F.payer_sk), OFFPAY_OK);
    struct offpay_record r;
    CHECK_STATUS(offpay_record_build(&r, &fake_payer, F.payer_sk, &F.req, &F.coins[3], 1, NOW, 1), OFFPAY_OK);
    CHECK_STATUS(verify(&r), OFFPAY_ERR_CERT_NOT_ISSUED);

    /* A coin the payer attested to itself. */
    struct offpay_utxo coin = F.coins[3];
    CHECK_STATUS(offpay_utxo_attest(&coin, F.payer_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_utxo_verify(&coin, F.issuer_pk), OFFPAY_ERR_INPUT_NOT_ATTESTED);
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &F.req, &coin, 1, NOW, 1), OFFPAY_OK);
    CHECK_STATUS(verify(&r), OFFPAY_ERR_INPUT_NOT_ATTESTED);
    /* A server checking inputs against its own ledger may skip attestations. */
    CHECK_STATUS(offpay_record_verify(&r, F.issuer_pk, NULL, NOW, OFFPAY_VERIFY_SKIP_INPUT_ATTESTATIONS), OFFPAY_OK);
    /* The issuer refuses to attest a zero amount (nothing to sign). */
    struct offpay_utxo zero_coin = F.coins[0];
    zero_coin.amount = 0;
    CHECK_STATUS(offpay_utxo_attest(&zero_coin, F.issuer_sk), OFFPAY_ERR_ZERO_AMOUNT);
    CHECK_STATUS(offpay_utxo_verify(&zero_coin, F.issuer_pk), OFFPAY_ERR_INPUT_NOT_ATTESTED);
    /* A coin whose amount was raised after attestation. */
    coin = F.coins[2];
    coin.amount = 4000;
    CHECK_STATUS(offpay_utxo_verify(&coin, F.issuer_pk), OFFPAY_ERR_INPUT_NOT_ATTESTED);
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &F.req, &coin, 1, NOW, 1), OFFPAY_OK);
    CHECK_STATUS(verify(&r), OFFPAY_ERR_INPUT_NOT_ATTESTED);
    /* Only the second of two inputs is bad. */
    struct offpay_utxo two[2] = {F.coins[0], coin};
    two[1].amount = 3000;
    two[1].issuer_sig[0] ^= 1;
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &F.req, two, 2, NOW, 1), OFFPAY_OK);
    CHECK_STATUS(verify(&r), OFFPAY_ERR_INPUT_NOT_ATTESTED);
}

/* Validity windows are inclusive at both ends; revocation wins over validity. */
static void test_cert_validity(void)
{
    const struct offpay_cert *c = &F.payer;
    CHECK_STATUS(offpay_cert_verify(c, F.issuer_pk, NULL, c->not_before), OFFPAY_OK);
    CHECK_STATUS(offpay_cert_verify(c, F.issuer_pk, NULL, c->not_after), OFFPAY_OK);
    CHECK_STATUS(offpay_cert_verify(c, F.issuer_pk, NULL, c->not_before - 1), OFFPAY_ERR_CERT_NOT_YET_VALID);
    CHECK_STATUS(offpay_cert_verify(c, F.issuer_pk, NULL, c->not_after + 1), OFFPAY_ERR_CERT_EXPIRED);
    CHECK_STATUS(offpay_cert_verify(c, F.issuer_pk, NULL, 0), OFFPAY_ERR_CERT_NOT_YET_VALID);
    CHECK_STATUS(offpay_cert_verify(c, F.issuer_pk, NULL, UINT64_MAX), OFFPAY_ERR_CERT_EXPIRED);

    /* The payer's check of the payee, the payee's check of the payer and the
     * payer's check of the confirmation all apply the window. */
    uint64_t late = F.payee.not_after + 1, early = F.payee.not_before - 1;
    CHECK_STATUS(offpay_request_verify(&F.req, F.issuer_pk, NULL, late), OFFPAY_ERR_CERT_EXPIRED);
    CHECK_STATUS(offpay_request_verify(&F.req, F.issuer_pk, NULL, early), OFFPAY_ERR_CERT_NOT_YET_VALID);
    CHECK_STATUS(offpay_record_verify_for_request(&F.rec, &F.req, F.issuer_pk, NULL, late), OFFPAY_ERR_CERT_EXPIRED);
    CHECK_STATUS(offpay_record_verify_for_request(&F.rec, &F.req, F.issuer_pk, NULL, early), OFFPAY_ERR_CERT_NOT_YET_VALID);
    CHECK_STATUS(offpay_confirmation_verify(&F.conf, &F.rec, F.issuer_pk, NULL, late), OFFPAY_ERR_CERT_EXPIRED);
    CHECK_STATUS(offpay_confirmation_verify(&F.conf, &F.rec, F.issuer_pk, NULL, early), OFFPAY_ERR_CERT_NOT_YET_VALID);

    /* An issuer cannot issue an inverted window. */
    struct offpay_cert bad = F.payer;
    bad.not_after = bad.not_before - 1;
    CHECK_STATUS(offpay_cert_issue(&bad, F.issuer_sk), OFFPAY_ERR_MALFORMED);
    bad = F.payer;
    strcpy(bad.account, "Alice");
    CHECK_STATUS(offpay_cert_issue(&bad, F.issuer_sk), OFFPAY_ERR_BAD_ACCOUNT_NAME);
}

static void test_revoked(void)
{
    uint8_t ids[3 * OFFPAY_WALLET_ID_BYTES];
    /* Ascending: 0x05.., payer 0x11.., payee 0x22.. */
    memset(ids, 0x05, 16);
    memcpy(ids + 16, F.payer.wallet_id, 16);
    memcpy(ids + 32, F.payee.wallet_id, 16);
    struct offpay_revocation v = {.serial = 8, .issued_at = NOW, .count = 3, .ids = ids};
    CHECK_STATUS(offpay_revocation_sign(&v, F.issuer_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_revocation_verify(&v, F.issuer_pk), OFFPAY_OK);

    CHECK_STATUS(offpay_cert_verify(&F.payer, F.issuer_pk, &v, NOW), OFFPAY_ERR_REVOKED);
    CHECK_STATUS(offpay_cert_verify(&F.other, F.issuer_pk, &v, NOW), OFFPAY_OK);
    CHECK_STATUS(offpay_request_verify(&F.req, F.issuer_pk, &v, NOW), OFFPAY_ERR_REVOKED);
    CHECK_STATUS(offpay_record_verify_for_request(&F.rec, &F.req, F.issuer_pk, &v, NOW), OFFPAY_ERR_REVOKED);
    CHECK_STATUS(offpay_record_verify(&F.rec, F.issuer_pk, &v, NOW, OFFPAY_VERIFY_SKIP_PAYER_CERT), OFFPAY_ERR_REVOKED);
    CHECK_STATUS(offpay_confirmation_verify(&F.conf, &F.rec, F.issuer_pk, &v, NOW), OFFPAY_ERR_REVOKED);

    /* Only the payer revoked: the payee's request is still good. */
    v.count = 2;
    CHECK_STATUS(offpay_revocation_sign(&v, F.issuer_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_request_verify(&F.req, F.issuer_pk, &v, NOW), OFFPAY_OK);
    CHECK_STATUS(offpay_record_verify(&F.rec, F.issuer_pk, &v, NOW, 0), OFFPAY_ERR_REVOKED);

    /* Revocation lists: tampered, signed by another key, unsorted. */
    v.serial = 9;
    CHECK_STATUS(offpay_revocation_verify(&v, F.issuer_pk), OFFPAY_ERR_BAD_SIGNATURE);
    CHECK_STATUS(offpay_revocation_sign(&v, F.other_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_revocation_verify(&v, F.issuer_pk), OFFPAY_ERR_BAD_SIGNATURE);
    CHECK_STATUS(offpay_revocation_sign(&v, F.issuer_sk), OFFPAY_OK);
    v.count = 1; /* dropping an id breaks the signature */
    CHECK_STATUS(offpay_revocation_verify(&v, F.issuer_pk), OFFPAY_ERR_BAD_SIGNATURE);
    memcpy(ids, F.payee.wallet_id, 16);
    v.count = 3;
    CHECK_STATUS(offpay_revocation_sign(&v, F.issuer_sk), OFFPAY_ERR_NOT_CANONICAL);
    CHECK_STATUS(offpay_revocation_verify(&v, F.issuer_pk), OFFPAY_ERR_NOT_CANONICAL);
    /* A count without ids, or over the maximum, is never signed or accepted. */
    v.ids = NULL;
    CHECK_STATUS(offpay_revocation_sign(&v, F.issuer_sk), OFFPAY_ERR_NOT_CANONICAL);
    CHECK_STATUS(offpay_revocation_verify(&v, F.issuer_pk), OFFPAY_ERR_NOT_CANONICAL);
    v.count = OFFPAY_REVOCATION_MAX + 1;
    v.ids = F.revoked_ids; /* (never read: the count is refused first) */
    CHECK_STATUS(offpay_revocation_sign(&v, F.issuer_sk), OFFPAY_ERR_NOT_CANONICAL);
    CHECK_STATUS(offpay_revocation_verify(&v, F.issuer_pk), OFFPAY_ERR_NOT_CANONICAL);
    /* The empty list signs and verifies. */
    struct offpay_revocation empty = {.serial = 1, .issued_at = NOW, .count = 0, .ids = NULL};
    CHECK_STATUS(offpay_revocation_sign(&empty, F.issuer_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_revocation_verify(&empty, F.issuer_pk), OFFPAY_OK);
    CHECK_STATUS(offpay_cert_verify(&F.payer, F.issuer_pk, &empty, NOW), OFFPAY_OK);
}

/* Outputs must add up to inputs exactly, in either direction. */
static void test_unbalanced(void)
{
    struct offpay_record r = F.rec;
    r.change_amount = 501; /* mints one unit */
    sign_record(&r, F.payer_sk);
    CHECK_STATUS(offpay_record_verify(&r, F.issuer_pk, NULL, NOW, 0), OFFPAY_ERR_UNBALANCED);
    CHECK_STATUS(verify(&r), OFFPAY_ERR_UNBALANCED);
    r.change_amount = 499; /* burns one unit */
    sign_record(&r, F.payer_sk);
    CHECK_STATUS(verify(&r), OFFPAY_ERR_UNBALANCED);
    r.change_amount = 0;
    sign_record(&r, F.payer_sk);
    CHECK_STATUS(verify(&r), OFFPAY_ERR_UNBALANCED);
    /* Outputs that overflow together. */
    r.payee_amount = UINT64_MAX;
    r.change_amount = 1;
    CHECK_STATUS(offpay_record_verify(&r, F.issuer_pk, NULL, NOW, 0), OFFPAY_ERR_MALFORMED); /* cannot encode */
}

static void test_duplicate_input(void)
{
    struct offpay_utxo two[2] = {F.coins[1], F.coins[1]};
    struct offpay_record r;
    struct offpay_request q;
    CHECK_STATUS(offpay_request_build(&q, &F.payee, F.payee_sk, 3500, F.req.nonce), OFFPAY_OK);
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &q, two, 2, NOW, 1), OFFPAY_ERR_DUPLICATE_INPUT);
    /* Same id, different amount, both "attested": still one coin. */
    two[1].amount = 1500;
    CHECK_STATUS(offpay_utxo_attest(&two[1], F.issuer_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &q, two, 2, NOW, 1), OFFPAY_ERR_DUPLICATE_INPUT);
    /* A hand-made record with the duplicate, properly signed by the payer. */
    r = F.rec;
    r.n_inputs = 2;
    r.inputs[0] = two[0];
    r.inputs[1] = two[1];
    r.change_amount = 0;
    r.payee_amount = 3500;
    sign_record(&r, F.payer_sk);
    CHECK_STATUS(verify(&r), OFFPAY_ERR_DUPLICATE_INPUT);
    /* The third input duplicates the first. */
    r.n_inputs = 3;
    r.inputs[1] = F.coins[0];
    r.inputs[2] = F.coins[1];
    r.payee_amount = 3500;
    r.change_amount = 1000;
    sign_record(&r, F.payer_sk);
    CHECK_STATUS(verify(&r), OFFPAY_ERR_DUPLICATE_INPUT);
}

static void test_input_not_owned(void)
{
    struct offpay_utxo coin = F.coins[3];
    memcpy(coin.owner, F.other_pk, 32);
    CHECK_STATUS(offpay_utxo_attest(&coin, F.issuer_sk), OFFPAY_OK);
    struct offpay_record r;
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &F.req, &coin, 1, NOW, 1), OFFPAY_ERR_INPUT_NOT_OWNED);
    r = F.rec;
    r.inputs[0] = coin;
    sign_record(&r, F.payer_sk);
    CHECK_STATUS(verify(&r), OFFPAY_ERR_INPUT_NOT_OWNED);
    CHECK_STATUS(offpay_record_verify(&r, F.issuer_pk, NULL, NOW, OFFPAY_VERIFY_SKIP_INPUT_ATTESTATIONS),
                 OFFPAY_ERR_INPUT_NOT_OWNED);
}

static void test_record_signature(void)
{
    /* Signed by someone other than the certificate's key. */
    struct offpay_record r = F.rec;
    sign_record(&r, F.other_sk);
    CHECK_STATUS(verify(&r), OFFPAY_ERR_BAD_SIGNATURE);
    CHECK_STATUS(offpay_record_verify(&r, F.issuer_pk, NULL, NOW, OFFPAY_VERIFY_SKIP_PAYER_CERT), OFFPAY_ERR_BAD_SIGNATURE);
    /* A valid record whose certificate is swapped for another wallet's. */
    r = F.rec;
    r.payer = F.other;
    CHECK_STATUS(verify(&r), OFFPAY_ERR_BAD_SIGNATURE);
    /* Any single field changed after signing. */
    r = F.rec;
    r.seq = 2;
    CHECK_STATUS(verify(&r), OFFPAY_ERR_BAD_SIGNATURE);
    r = F.rec;
    r.created++;
    CHECK_STATUS(verify(&r), OFFPAY_ERR_BAD_SIGNATURE);
}

static void test_record_build(void)
{
    struct offpay_record r;
    struct offpay_utxo many[OFFPAY_RECORD_INPUTS_MAX + 1];
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &F.req, F.coins, 0, NOW, 1), OFFPAY_ERR_INSUFFICIENT_FUNDS);
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &F.req, F.coins, 1, NOW, 1), OFFPAY_ERR_INSUFFICIENT_FUNDS);
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &F.req, &F.coins[3], 1, NOW, 0), OFFPAY_ERR_USAGE);
    for (int i = 0; i <= OFFPAY_RECORD_INPUTS_MAX; i++) {
        many[i] = F.coins[0];
        many[i].id[0] = (uint8_t)i;
    }
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &F.req, many, OFFPAY_RECORD_INPUTS_MAX + 1, NOW, 1),
                 OFFPAY_ERR_TOO_MANY_INPUTS);
    /* 16 inputs of 1000 pay 3500 with 12500 change. */
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &F.req, many, OFFPAY_RECORD_INPUTS_MAX, NOW, 1), OFFPAY_OK);
    CHECK_U64(r.change_amount, 12500);
    CHECK_STATUS(offpay_record_verify(&r, F.issuer_pk, NULL, NOW, OFFPAY_VERIFY_SKIP_INPUT_ATTESTATIONS), OFFPAY_OK);
    many[0].amount = UINT64_MAX;
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &F.req, many, 2, NOW, 1), OFFPAY_ERR_AMOUNT_OVERFLOW);
    /* A zero-amount input, or a request for nothing, builds no record. */
    many[0].amount = 0;
    many[1].amount = 4000;
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &F.req, many, 2, NOW, 1), OFFPAY_ERR_ZERO_AMOUNT);
    struct offpay_request nothing = F.req;
    nothing.amount = 0;
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &nothing, &F.coins[0], 1, NOW, 1), OFFPAY_ERR_ZERO_AMOUNT);
    /* Exact amount: no change output. */
    struct offpay_request q;
    CHECK_STATUS(offpay_request_build(&q, &F.payee, F.payee_sk, 4000, F.req.nonce), OFFPAY_OK);
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &q, &F.coins[3], 1, NOW, 7), OFFPAY_OK);
    CHECK_U64(r.change_amount, 0);
    CHECK_STATUS(offpay_record_verify_for_request(&r, &q, F.issuer_pk, NULL, NOW), OFFPAY_OK);
    /* Paying oneself. */
    struct offpay_cert me = F.payer;
    CHECK_STATUS(offpay_request_build(&q, &me, F.payer_sk, 3500, F.req.nonce), OFFPAY_OK);
    CHECK_STATUS(offpay_record_build(&r, &F.payer, F.payer_sk, &q, &F.coins[3], 1, NOW, 1), OFFPAY_ERR_SELF_PAYMENT);
    r = F.rec;
    memcpy(r.payee_key, F.payer_pk, 32);
    sign_record(&r, F.payer_sk);
    CHECK_STATUS(offpay_record_verify(&r, F.issuer_pk, NULL, NOW, 0), OFFPAY_ERR_SELF_PAYMENT);
    /* Requests: zero amount, signed by the wrong key. */
    CHECK_STATUS(offpay_request_build(&q, &F.payee, F.payee_sk, 0, F.req.nonce), OFFPAY_ERR_ZERO_AMOUNT);
    CHECK_STATUS(offpay_request_build(&q, &F.payee, F.other_sk, 3500, F.req.nonce), OFFPAY_OK);
    CHECK_STATUS(offpay_request_verify(&q, F.issuer_pk, NULL, NOW), OFFPAY_ERR_BAD_SIGNATURE);
    q = F.req;
    q.amount = 350;
    CHECK_STATUS(offpay_request_verify(&q, F.issuer_pk, NULL, NOW), OFFPAY_ERR_BAD_SIGNATURE);
    q.amount = 0; /* a struct no decoder would produce: refused, not signed over garbage */
    CHECK_STATUS(offpay_request_verify(&q, F.issuer_pk, NULL, NOW), OFFPAY_ERR_MALFORMED);
}

static void test_record_id_and_outputs(void)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX], id[32], want[32];
    size_t n = offpay_record_encode(buf, sizeof buf, &F.rec);
    /* The id is the unkeyed hash of the body: the signature is not part of it. */
    offpay_hash(want, buf, n - OFFPAY_SIGNATURE_BYTES);
    offpay_record_id(id, &F.rec);
    CHECK_MEM(id, want, 32);
    struct offpay_record r = F.rec;
    r.sig[0] ^= 1;
    offpay_record_id(id, &r);
    CHECK_MEM(id, want, 32);
    r.seq = 2;
    offpay_record_id(id, &r);
    CHECK(memcmp(id, want, 32) != 0);
    r.n_inputs = 0; /* unencodable: all zero */
    offpay_record_id(id, &r);
    static const uint8_t zero[32];
    CHECK_MEM(id, zero, 32);

    struct offpay_utxo out0, out1, out;
    uint8_t pre[16 + 32 + 1];
    CHECK_STATUS(offpay_record_output(&out0, &F.rec, F.rec_id, 0), OFFPAY_OK);
    CHECK_STATUS(offpay_record_output(&out1, &F.rec, F.rec_id, 1), OFFPAY_OK);
    CHECK_STATUS(offpay_record_output(&out, &F.rec, F.rec_id, 2), OFFPAY_ERR_USAGE);
    CHECK_MEM(out0.owner, F.payee_pk, 32);
    CHECK_U64(out0.amount, 3500);
    CHECK_MEM(out1.owner, F.payer_pk, 32);
    CHECK_U64(out1.amount, 500);
    memcpy(pre, "offpay/v1/output", 16);
    memcpy(pre + 16, F.rec_id, 32);
    pre[48] = 0;
    offpay_hash(want, pre, sizeof pre);
    CHECK_MEM(out0.id, want, 32);
    pre[48] = 1;
    offpay_hash(want, pre, sizeof pre);
    CHECK_MEM(out1.id, want, 32);
    CHECK(memcmp(out0.id, out1.id, 32) != 0);
    CHECK_MEM(out0.issuer_sig, zero, 32);
    r = F.rec;
    r.change_amount = 0;
    CHECK_STATUS(offpay_record_output(&out, &r, F.rec_id, 1), OFFPAY_ERR_USAGE);
}

static void test_confirmation(void)
{
    struct offpay_confirmation c;
    uint8_t other_id[32];
    memcpy(other_id, F.rec_id, 32);
    other_id[0] ^= 1;
    /* For another record. */
    CHECK_STATUS(offpay_confirmation_build(&c, other_id, &F.payee, F.payee_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_confirmation_verify(&c, &F.rec, F.issuer_pk, NULL, NOW), OFFPAY_ERR_WRONG_RECORD);
    /* From another (properly certified) payee. */
    CHECK_STATUS(offpay_confirmation_build(&c, F.rec_id, &F.other, F.other_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_confirmation_verify(&c, &F.rec, F.issuer_pk, NULL, NOW), OFFPAY_ERR_WRONG_PAYEE);
    /* The payee's certificate, someone else's signature. */
    CHECK_STATUS(offpay_confirmation_build(&c, F.rec_id, &F.payee, F.other_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_confirmation_verify(&c, &F.rec, F.issuer_pk, NULL, NOW), OFFPAY_ERR_BAD_SIGNATURE);
    c = F.conf;
    c.sig[63] ^= 0x40;
    CHECK_STATUS(offpay_confirmation_verify(&c, &F.rec, F.issuer_pk, NULL, NOW), OFFPAY_ERR_BAD_SIGNATURE);
    /* The payee's key with a certificate the issuer never made. */
    struct offpay_cert self_made = F.payee;
    CHECK_STATUS(offpay_cert_issue(&self_made, F.payee_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_confirmation_build(&c, F.rec_id, &self_made, F.payee_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_confirmation_verify(&c, &F.rec, F.issuer_pk, NULL, NOW), OFFPAY_ERR_CERT_NOT_ISSUED);
    /* A confirmation of the record is not one for a changed record. */
    struct offpay_record r = F.rec;
    r.seq = 2;
    sign_record(&r, F.payer_sk);
    CHECK_STATUS(offpay_confirmation_verify(&F.conf, &r, F.issuer_pk, NULL, NOW), OFFPAY_ERR_WRONG_RECORD);
}

static void test_refusal(void)
{
    struct offpay_refusal f;
    uint8_t other_id[32];
    memcpy(other_id, F.rec_id, 32);
    other_id[31] ^= 1;
    CHECK_STATUS(offpay_refusal_build(&f, other_id, OFFPAY_REFUSE_INVALID, F.payee_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_refusal_verify(&f, &F.rec), OFFPAY_ERR_WRONG_RECORD);
    /* Only the record's payee may refuse it (the payer could otherwise void
     * a paid record with a refusal of its own). */
    CHECK_STATUS(offpay_refusal_build(&f, F.rec_id, OFFPAY_REFUSE_INVALID, F.payer_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_refusal_verify(&f, &F.rec), OFFPAY_ERR_BAD_SIGNATURE);
    f = F.refusal;
    f.reason = OFFPAY_REFUSE_INVALID;
    CHECK_STATUS(offpay_refusal_verify(&f, &F.rec), OFFPAY_ERR_BAD_SIGNATURE);
    f.reason = 0;
    CHECK_STATUS(offpay_refusal_verify(&f, &F.rec), OFFPAY_ERR_MALFORMED);
    CHECK_STATUS(offpay_refusal_build(&f, F.rec_id, 0, F.payee_sk), OFFPAY_ERR_MALFORMED);
    CHECK_STATUS(offpay_refusal_build(&f, F.rec_id, OFFPAY_REFUSE_REASON_MAX_ + 1, F.payee_sk), OFFPAY_ERR_MALFORMED);
    for (uint8_t reason = 1; reason <= OFFPAY_REFUSE_REASON_MAX_; reason++) {
        CHECK_STATUS(offpay_refusal_build(&f, F.rec_id, reason, F.payee_sk), OFFPAY_OK);
        CHECK_STATUS(offpay_refusal_verify(&f, &F.rec), OFFPAY_OK);
    }
}

static void test_limits_policy(void)
{
    struct offpay_limits_policy p = F.policy;
    p.limits.per_payment++;
    CHECK_STATUS(offpay_limits_policy_verify(&p, F.issuer_pk), OFFPAY_ERR_BAD_SIGNATURE);
    p = F.policy;
    CHECK_STATUS(offpay_limits_policy_sign(&p, F.other_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_limits_policy_verify(&p, F.issuer_pk), OFFPAY_ERR_BAD_SIGNATURE);
    p.limits.period = 0;
    CHECK_STATUS(offpay_limits_policy_sign(&p, F.issuer_sk), OFFPAY_ERR_MALFORMED);
    CHECK_STATUS(offpay_limits_policy_verify(&p, F.issuer_pk), OFFPAY_ERR_MALFORMED);
}

/* Domain separation: each signed message's signature verifies under its own
 * tag and under no other, so none can be replayed as another kind. */
static void test_domain_separation(void)
{
    static const char *const tags[8] = {OFFPAY_TAG_CERT, OFFPAY_TAG_UTXO, OFFPAY_TAG_REQUEST,
                                        OFFPAY_TAG_RECORD, OFFPAY_TAG_CONFIRMATION, OFFPAY_TAG_REFUSAL,
                                        OFFPAY_TAG_REVOCATION, OFFPAY_TAG_LIMITS};
    const uint8_t *signer[8] = {F.issuer_pk, F.issuer_pk, F.payee_pk, F.payer_pk,
                                F.payee_pk,  F.payee_pk,  F.issuer_pk, F.issuer_pk};
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    for (int t = 0; t < 8; t++) {
        size_t n = fx_encode(&F, t + 1, buf, sizeof buf);
        const uint8_t *sig = buf + n - OFFPAY_SIGNATURE_BYTES;
        size_t body = n - OFFPAY_SIGNATURE_BYTES;
        for (int k = 0; k < 8; k++) {
            int ok = offpay_verify(sig, signer[t], tags[k], buf, body) == 0;
            if (ok != (k == t))
                CHECK_FAIL("signature of %s %s under %s", tags[t], ok ? "verifies" : "fails", tags[k]);
        }
        /* Nor is it a signature of the bare body or of its plain hash. */
        uint8_t h[32];
        offpay_hash(h, buf, body);
        CHECK(offpay_verify2(sig, signer[t], "", buf, body, NULL, 0) != 0);
        CHECK(offpay_verify(sig, signer[t], tags[t], h, sizeof h) != 0);
        /* offpay_verify2 over the body split anywhere is offpay_verify. */
        CHECK(offpay_verify2(sig, signer[t], tags[t], buf, 10, buf + 10, body - 10) == 0);
    }
    /* The record's signature under the confirmation tag, concretely. */
    uint8_t rb[OFFPAY_RECORD_BYTES_MAX];
    size_t n = offpay_record_encode(rb, sizeof rb, &F.rec);
    CHECK(offpay_verify(F.rec.sig, F.payer_pk, OFFPAY_TAG_RECORD, rb, n - 64) == 0);
    CHECK(offpay_verify(F.rec.sig, F.payer_pk, OFFPAY_TAG_CONFIRMATION, rb, n - 64) != 0);
}

/* Builders may take inputs that point into their own output. */
static void test_build_aliasing(void)
{
    struct offpay_record r = F.rec;
    CHECK_STATUS(offpay_record_build(&r, &r.payer, F.payer_sk, &F.req, r.inputs, r.n_inputs, r.created, r.seq), OFFPAY_OK);
    CHECK_MEM(&r, &F.rec, sizeof r);
    struct offpay_confirmation c = F.conf;
    CHECK_STATUS(offpay_confirmation_build(&c, c.record_id, &c.payee, F.payee_sk), OFFPAY_OK);
    CHECK_MEM(&c, &F.conf, sizeof c);
    struct offpay_request q = F.req;
    CHECK_STATUS(offpay_request_build(&q, &q.payee, F.payee_sk, q.amount, q.nonce), OFFPAY_OK);
    CHECK_MEM(&q, &F.req, sizeof q);
    struct offpay_refusal f = F.refusal;
    CHECK_STATUS(offpay_refusal_build(&f, f.record_id, f.reason, F.payee_sk), OFFPAY_OK);
    CHECK_MEM(&f, &F.refusal, sizeof f);
    /* A failed build still leaves its output all zero. */
    static const struct offpay_record zero;
    CHECK_STATUS(offpay_record_build(&r, &r.payer, F.payer_sk, &F.req, r.inputs, r.n_inputs, r.created, 0), OFFPAY_ERR_USAGE);
    CHECK_MEM(&r, &zero, sizeof r);
}

/* An unencodable record has no id: a confirmation or refusal naming the
 * all-zero id (what offpay_record_id gives it) does not match it. */
static void test_record_without_id(void)
{
    static const uint8_t zero_id[OFFPAY_RECORD_ID_BYTES];
    struct offpay_record r = F.rec;
    r.n_inputs = 0;
    struct offpay_confirmation c;
    struct offpay_refusal f;
    CHECK_STATUS(offpay_confirmation_build(&c, zero_id, &F.payee, F.payee_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_confirmation_verify(&c, &r, F.issuer_pk, NULL, NOW), OFFPAY_ERR_WRONG_RECORD);
    CHECK_STATUS(offpay_refusal_build(&f, zero_id, OFFPAY_REFUSE_INVALID, F.payee_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_refusal_verify(&f, &r), OFFPAY_ERR_WRONG_RECORD);
}

/* The payee's offline time check (issue 13): the stamp the record carries,
 * against the payee's limit T and clock.  A forged stamp or another
 * wallet's fails whatever T is; no stamp or an old one fails only under a T. */
static void test_fresh(void)
{
    const uint32_t week = 7 * 86400;
    struct offpay_record r = F.rec_stamped;
    struct offpay_signer k;
    CHECK_STATUS(offpay_record_check_fresh(&F.rec, F.issuer_pk, 0, FX_NOW), OFFPAY_OK);
    CHECK_STATUS(offpay_record_check_fresh(&F.rec, F.issuer_pk, week, FX_NOW), OFFPAY_ERR_PAYER_NOT_FRESH);
    /* The stamp is a day old: fresh under a week and under exactly a day. */
    CHECK_STATUS(offpay_record_check_fresh(&r, F.issuer_pk, week, FX_NOW), OFFPAY_OK);
    CHECK_STATUS(offpay_record_check_fresh(&r, F.issuer_pk, (uint32_t)FX_DAY, FX_NOW), OFFPAY_OK);
    CHECK_STATUS(offpay_record_check_fresh(&r, F.issuer_pk, (uint32_t)FX_DAY - 1, FX_NOW), OFFPAY_ERR_PAYER_NOT_FRESH);
    CHECK_STATUS(offpay_record_check_fresh(&r, F.issuer_pk, week, FX_NOW + 6 * FX_DAY), OFFPAY_OK);
    CHECK_STATUS(offpay_record_check_fresh(&r, F.issuer_pk, week, FX_NOW + 6 * FX_DAY + 1), OFFPAY_ERR_PAYER_NOT_FRESH);
    /* A payee whose clock is behind the server's: the stamp counts as fresh. */
    CHECK_STATUS(offpay_record_check_fresh(&r, F.issuer_pk, week, F.stamp.synced_at - 3600), OFFPAY_OK);
    /* Signed by another key (the payer's own): forged, even with no limit. */
    CHECK_STATUS(offpay_stamp_sign(&r.stamp, F.payer_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_stamp_verify(&r.stamp, F.issuer_pk), OFFPAY_ERR_STAMP_INVALID);
    CHECK_STATUS(offpay_record_check_fresh(&r, F.issuer_pk, 0, FX_NOW), OFFPAY_ERR_STAMP_INVALID);
    CHECK_STATUS(offpay_record_check_fresh(&r, F.issuer_pk, week, FX_NOW), OFFPAY_ERR_STAMP_INVALID);
    /* The issuer's stamp of another wallet (the payee's), fresh: not the payer's. */
    r = F.rec_stamped;
    memcpy(r.stamp.wallet_id, F.payee.wallet_id, OFFPAY_WALLET_ID_BYTES);
    CHECK_STATUS(offpay_stamp_sign(&r.stamp, F.issuer_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_record_check_fresh(&r, F.issuer_pk, week, FX_NOW), OFFPAY_ERR_STAMP_INVALID);
    /* A changed time breaks the issuer's signature. */
    r = F.rec_stamped;
    r.stamp.synced_at = FX_NOW;
    CHECK_STATUS(offpay_record_check_fresh(&r, F.issuer_pk, week, FX_NOW), OFFPAY_ERR_STAMP_INVALID);
    /* And the payer's signature covers the stamp: a swapped stamp breaks the record. */
    r = F.rec_stamped;
    r.stamp = F.stamp;
    r.stamp.synced_at = FX_NOW;
    CHECK_STATUS(offpay_stamp_sign(&r.stamp, F.issuer_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_record_verify(&r, F.issuer_pk, NULL, FX_NOW, 0), OFFPAY_ERR_BAD_SIGNATURE);
    /* The stamped builder through a signer is the stamped record of the fixture. */
    offpay_signer_from_key(&k, F.payer_sk);
    CHECK_STATUS(offpay_record_build_stamped_with(&r, &F.payer, &k, &F.stamp, &F.req, &F.coins[3], 1, FX_NOW, 1), OFFPAY_OK);
    CHECK_MEM(&r, &F.rec_stamped, sizeof r);
    CHECK_STATUS(offpay_record_build_stamped_with(&r, &F.payer, &k, NULL, &F.req, &F.coins[3], 1, FX_NOW, 1), OFFPAY_OK);
    CHECK_MEM(&r, &F.rec, sizeof r);
}

int main(void)
{
    fx_init(&F, NULL);
    test_fresh();
    test_happy_path();
    test_tamper_every_byte();
    test_wrong_request();
    test_forged_issuer();
    test_cert_validity();
    test_revoked();
    test_unbalanced();
    test_duplicate_input();
    test_input_not_owned();
    test_record_signature();
    test_record_build();
    test_record_id_and_outputs();
    test_confirmation();
    test_refusal();
    test_limits_policy();
    test_domain_separation();
    test_build_aliasing();
    test_record_without_id();
    return 0;
}

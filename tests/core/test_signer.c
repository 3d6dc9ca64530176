/*
 * test_signer.c - the signer seam: every signed message is the same bytes
 * whether the key is in memory or behind a callback, and a signer that cannot
 * sign gives OFFPAY_ERR_KEY_UNAVAILABLE with an all-zero signature, never a
 * half-signed message.
 *
 * The callback signer here keeps its own copy of the key (as a token would)
 * and counts the digests it is asked to sign, so the tests also prove that a
 * signer is asked once per message and only ever for 32 bytes.
 */
#include <sodium.h>

#include "check.h"
#include "fixture.h"
#include "offpay/http_auth.h"

static struct fx F;

/* A signer that is not the in-memory one: its own key copy, a call count,
 * and a switch that makes it fail as a removed token would. */
struct remote {
    uint8_t sk[OFFPAY_SECRET_KEY_BYTES];
    int calls;
    int broken;
};

static int remote_sign(void *ctx, uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t digest[OFFPAY_HASH_BYTES])
{
    struct remote *r = ctx;
    r->calls++;
    if (r->broken) {
        memset(sig, 0xAA, OFFPAY_SIGNATURE_BYTES); /* garbage the seam must wipe */
        return -1;
    }
    return crypto_sign_ed25519_detached(sig, NULL, digest, OFFPAY_HASH_BYTES, r->sk);
}

static void remote_init(struct offpay_signer *s, struct remote *r, const uint8_t sk[OFFPAY_SECRET_KEY_BYTES])
{
    memset(r, 0, sizeof *r);
    memcpy(r->sk, sk, sizeof r->sk);
    s->sign_digest = remote_sign;
    s->ctx = r;
    memcpy(s->public_key, sk + OFFPAY_SEED_BYTES, OFFPAY_PUBLIC_KEY_BYTES);
}

static int all_zero(const uint8_t *b, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

static void test_key_signer(void)
{
    struct offpay_signer k;
    uint8_t a[OFFPAY_SIGNATURE_BYTES], b[OFFPAY_SIGNATURE_BYTES];
    static const uint8_t body[] = "body";

    offpay_signer_from_key(&k, F.payer_sk);
    CHECK(memcmp(k.public_key, F.payer_pk, OFFPAY_PUBLIC_KEY_BYTES) == 0);
    offpay_sign(a, F.payer_sk, "t", body, sizeof body);
    CHECK(offpay_sign_with(b, &k, "t", body, sizeof body) == 0);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(offpay_verify(b, F.payer_pk, "t", body, sizeof body) == 0);
    /* Two parts sign as their concatenation. */
    CHECK(offpay_sign2_with(b, &k, "t", body, 2, body + 2, sizeof body - 2) == 0);
    CHECK(memcmp(a, b, sizeof a) == 0);
    /* No signer, or a signer without a function, signs nothing. */
    memset(b, 1, sizeof b);
    CHECK(offpay_sign_with(b, NULL, "t", body, sizeof body) == -1);
    CHECK(all_zero(b, sizeof b));
    k.sign_digest = NULL;
    memset(b, 1, sizeof b);
    CHECK(offpay_sign_with(b, &k, "t", body, sizeof body) == -1);
    CHECK(all_zero(b, sizeof b));
}

/* The issuer's four documents: the same bytes from the callback. */
static void test_issuer_documents_same_bytes(void)
{
    struct offpay_signer s;
    struct remote r;
    struct offpay_cert c1 = F.payer, c2 = F.payer;
    struct offpay_utxo u1 = F.coins[0], u2 = F.coins[0];
    struct offpay_revocation v1 = F.revocation, v2 = F.revocation;
    struct offpay_limits_policy p1 = F.policy, p2 = F.policy;

    remote_init(&s, &r, F.issuer_sk);
    CHECK_STATUS(offpay_cert_issue(&c1, F.issuer_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_cert_issue_with(&c2, &s), OFFPAY_OK);
    CHECK(memcmp(&c1, &c2, sizeof c1) == 0);
    CHECK(memcmp(c2.issuer_sig, F.payer.issuer_sig, OFFPAY_SIGNATURE_BYTES) == 0);
    CHECK_STATUS(offpay_utxo_attest(&u1, F.issuer_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_utxo_attest_with(&u2, &s), OFFPAY_OK);
    CHECK(memcmp(&u1, &u2, sizeof u1) == 0);
    CHECK_STATUS(offpay_revocation_sign(&v1, F.issuer_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_revocation_sign_with(&v2, &s), OFFPAY_OK);
    CHECK(memcmp(v1.sig, v2.sig, OFFPAY_SIGNATURE_BYTES) == 0);
    CHECK_STATUS(offpay_revocation_verify(&v2, F.issuer_pk), OFFPAY_OK);
    CHECK_STATUS(offpay_limits_policy_sign(&p1, F.issuer_sk), OFFPAY_OK);
    CHECK_STATUS(offpay_limits_policy_sign_with(&p2, &s), OFFPAY_OK);
    CHECK(memcmp(&p1, &p2, sizeof p1) == 0);
    CHECK(r.calls == 4);
}

/* The wallet's four messages: the fixture's handshake, byte for byte. */
static void test_wallet_messages_same_bytes(void)
{
    struct offpay_signer payer, payee;
    struct remote rp, re;
    struct offpay_request req;
    struct offpay_record rec;
    struct offpay_confirmation conf;
    struct offpay_refusal ref;

    remote_init(&payer, &rp, F.payer_sk);
    remote_init(&payee, &re, F.payee_sk);
    CHECK_STATUS(offpay_request_build_with(&req, &F.payee, &payee, F.req.amount, F.req.nonce), OFFPAY_OK);
    CHECK(memcmp(&req, &F.req, sizeof req) == 0);
    CHECK_STATUS(offpay_record_build_with(&rec, &F.payer, &payer, &F.req, &F.coins[3], 1, F.rec.created, F.rec.seq),
                 OFFPAY_OK);
    CHECK(memcmp(&rec, &F.rec, sizeof rec) == 0);
    CHECK_STATUS(offpay_confirmation_build_with(&conf, F.rec_id, &F.payee, &payee), OFFPAY_OK);
    CHECK(memcmp(&conf, &F.conf, sizeof conf) == 0);
    CHECK_STATUS(offpay_refusal_build_with(&ref, F.rec_id, F.refusal.reason, &payee), OFFPAY_OK);
    CHECK(memcmp(&ref, &F.refusal, sizeof ref) == 0);
    CHECK(rp.calls == 1 && re.calls == 3);
}

/* A signer that fails: key unavailable, a zero signature, whatever it wrote. */
static void test_broken_signer(void)
{
    struct offpay_signer s;
    struct remote r;
    struct offpay_cert c = F.payer;
    struct offpay_utxo u = F.coins[0];
    struct offpay_record rec;
    struct offpay_confirmation conf;
    uint8_t sig[OFFPAY_SIGNATURE_BYTES];

    remote_init(&s, &r, F.issuer_sk);
    r.broken = 1;
    CHECK_STATUS(offpay_cert_issue_with(&c, &s), OFFPAY_ERR_KEY_UNAVAILABLE);
    CHECK(all_zero(c.issuer_sig, OFFPAY_SIGNATURE_BYTES));
    CHECK_STATUS(offpay_utxo_attest_with(&u, &s), OFFPAY_ERR_KEY_UNAVAILABLE);
    CHECK(all_zero(u.issuer_sig, OFFPAY_SIGNATURE_BYTES));
    remote_init(&s, &r, F.payer_sk);
    r.broken = 1;
    CHECK_STATUS(offpay_record_build_with(&rec, &F.payer, &s, &F.req, &F.coins[3], 1, F.rec.created, F.rec.seq),
                 OFFPAY_ERR_KEY_UNAVAILABLE);
    CHECK(all_zero(rec.sig, OFFPAY_SIGNATURE_BYTES));
    CHECK_STATUS(offpay_record_verify(&rec, F.issuer_pk, NULL, FX_NOW, 0), OFFPAY_ERR_BAD_SIGNATURE);
    CHECK_STATUS(offpay_confirmation_build_with(&conf, F.rec_id, &F.payer, &s), OFFPAY_ERR_KEY_UNAVAILABLE);
    CHECK(all_zero(conf.sig, OFFPAY_SIGNATURE_BYTES));
    /* A rule that refuses first never asks the signer. */
    r.calls = 0;
    CHECK_STATUS(offpay_record_build_with(&rec, &F.payer, &s, &F.req, &F.coins[0], 1, F.rec.created, F.rec.seq),
                 OFFPAY_ERR_INSUFFICIENT_FUNDS);
    CHECK(r.calls == 0);
    CHECK(offpay_http_auth_sign_with(sig, &s, "GET", "/v1/balance", NULL, 0, "1", "00") == -1);
    CHECK(all_zero(sig, sizeof sig));
}

static void test_http_auth_same_bytes(void)
{
    struct offpay_signer s;
    struct remote r;
    uint8_t a[OFFPAY_SIGNATURE_BYTES], b[OFFPAY_SIGNATURE_BYTES];
    static const char nonce[] = "000102030405060708090a0b0c0d0e0f";

    remote_init(&s, &r, F.payer_sk);
    offpay_http_auth_sign(a, F.payer_sk, "POST", "/v1/sync", (const uint8_t *)"{}", 2, "1767225600", nonce);
    CHECK(offpay_http_auth_sign_with(b, &s, "POST", "/v1/sync", (const uint8_t *)"{}", 2, "1767225600", nonce) == 0);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(offpay_http_auth_verify(b, F.payer_pk, "POST", "/v1/sync", (const uint8_t *)"{}", 2, "1767225600", nonce) == 0);
}

int main(void)
{
    CHECK(offpay_crypto_init() == 0);
    fx_init(&F, NULL);
    test_key_signer();
    test_issuer_documents_same_bytes();
    test_wallet_messages_same_bytes();
    test_broken_signer();
    test_http_auth_same_bytes();
    printf("test_signer: ok\n");
    return 0;
}

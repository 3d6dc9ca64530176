/*
 * test_encoding.c - the canonical binary encoding and its strict decoders.
 *
 * Every message type round-trips; every decoder refuses a truncation at every
 * length, a trailing byte, another version, another type, and the specific
 * malformations of its fields (zero and overflowing amounts, bad counts, bad
 * account names, unsorted revocation ids).  And canonicality: no byte string
 * that decodes re-encodes to different bytes, so one struct has one encoding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"

static struct fx F;

/* Byte offsets in the fixture's encodings (docs/wire-format.md). */
#define CERT_ACCOUNT_LEN 66 /* in a certificate */
#define CERT_ACCOUNT 67
#define CERT_NOT_BEFORE 50
#define CERT_NOT_AFTER 58
#define ALICE_CERT_BYTES 136 /* a certificate with a 5-byte account */
#define REC_PAYEE_AMOUNT (2 + ALICE_CERT_BYTES + 32 + 16 + 8 + 8)
#define REC_SEQ (REC_PAYEE_AMOUNT - 8)
#define REC_CHANGE (REC_PAYEE_AMOUNT + 8)
#define REC_N_INPUTS (REC_CHANGE + 8)
#define REC_INPUT0 (REC_N_INPUTS + 1)
#define UTXO_AMOUNT 66

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static enum offpay_status decode_as(int type, const uint8_t *in, size_t n)
{
    static uint8_t out[OFFPAY_RECORD_BYTES_MAX + 64];
    size_t out_len;
    return fx_codecs[type - 1].roundtrip(in, n, out, sizeof out, &out_len);
}

/* Every type: round trip, sizes, and the checks every decoder shares. */
static void test_common(void)
{
    static const size_t sizes[FX_N_CODECS] = {136, 138, 224, 421, 232, 99, OFFPAY_REVOCATION_BYTES(3), 114, 90};
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX + 1], again[OFFPAY_RECORD_BYTES_MAX + 1];

    for (int t = 0; t < FX_N_CODECS; t++) {
        const struct fx_codec *c = &fx_codecs[t];
        size_t n = fx_encode(&F, c->type, buf, sizeof buf), m;
        CHECK(c->type == t + 1);
        CHECK_U64(n, sizes[t]);
        CHECK(offpay_message_type(buf, n) == c->type);

        /* Round trip: decoding and encoding again gives the same bytes. */
        CHECK_STATUS(c->roundtrip(buf, n, again, sizeof again, &m), OFFPAY_OK);
        CHECK_U64(m, n);
        CHECK_MEM(again, buf, n);

        /* An encoder never writes past out_cap and says 0 when it does not fit. */
        for (size_t cap = 0; cap < n; cap++)
            CHECK_U64(fx_encode(&F, c->type, again, cap), 0);

        /* Truncation at every length. */
        for (size_t k = 0; k < n; k++)
            CHECK_STATUS(decode_as(c->type, buf, k), OFFPAY_ERR_TRUNCATED);

        /* One trailing byte, of any value. */
        buf[n] = 0;
        CHECK_STATUS(decode_as(c->type, buf, n + 1), OFFPAY_ERR_TRAILING_BYTES);
        buf[n] = 0xff;
        CHECK_STATUS(decode_as(c->type, buf, n + 1), OFFPAY_ERR_TRAILING_BYTES);

        /* Any other version. */
        for (int v = 0; v < 256; v++) {
            if (v == OFFPAY_WIRE_VERSION)
                continue;
            buf[0] = (uint8_t)v;
            CHECK_STATUS(decode_as(c->type, buf, n), OFFPAY_ERR_BAD_VERSION);
            CHECK(offpay_message_type(buf, n) == 0);
        }
        buf[0] = OFFPAY_WIRE_VERSION;

        /* Any other type, and every other decoder refuses this message. */
        for (int v = 0; v < 256; v++) {
            /* A record's other form is type 10: test_stamped_record. */
            if (v == c->type || (c->type == OFFPAY_MSG_RECORD && v == OFFPAY_MSG_RECORD_STAMPED))
                continue;
            buf[1] = (uint8_t)v;
            CHECK_STATUS(decode_as(c->type, buf, n), OFFPAY_ERR_WRONG_TYPE);
        }
        buf[1] = (uint8_t)c->type;
        for (int o = 1; o <= FX_N_CODECS; o++)
            if (o != c->type)
                CHECK_STATUS(decode_as(o, buf, n), OFFPAY_ERR_WRONG_TYPE);
        CHECK(offpay_message_type(buf, 1) == 0);
        CHECK(offpay_message_type(NULL, 0) == 0);
    }
}

/* A decoder that fails leaves its struct all zero (no half-filled output). */
static void test_zeroed_on_failure(void)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    struct offpay_record r;
    static const struct offpay_record zero;
    size_t n = offpay_record_encode(buf, sizeof buf, &F.rec);
    CHECK_STATUS(offpay_record_decode(&r, buf, n - 1), OFFPAY_ERR_TRUNCATED);
    CHECK_MEM(&r, &zero, sizeof r);
    struct offpay_cert c;
    static const struct offpay_cert zc;
    n = offpay_cert_encode(buf, sizeof buf, &F.payer);
    buf[CERT_ACCOUNT] = 'A';
    CHECK_STATUS(offpay_cert_decode(&c, buf, n), OFFPAY_ERR_BAD_ACCOUNT_NAME);
    CHECK_MEM(&c, &zc, sizeof c);
}

/* Decoded structs equal the structs that were encoded, field by field. */
static void test_fields(void)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    struct offpay_record r;
    size_t n = offpay_record_encode(buf, sizeof buf, &F.rec);
    CHECK_STATUS(offpay_record_decode(&r, buf, n), OFFPAY_OK);
    CHECK(strcmp(r.payer.account, "alice") == 0);
    CHECK_MEM(r.payer.public_key, F.payer_pk, 32);
    CHECK_MEM(r.payer.issuer_sig, F.payer.issuer_sig, 64);
    CHECK_U64(r.payer.not_before, FX_NOW - FX_DAY);
    CHECK_U64(r.payer.not_after, FX_NOW + 365 * FX_DAY);
    CHECK_MEM(r.payee_key, F.payee_pk, 32);
    CHECK_MEM(r.nonce, F.req.nonce, 16);
    CHECK_U64(r.created, FX_NOW);
    CHECK_U64(r.seq, 1);
    CHECK_U64(r.payee_amount, 3500);
    CHECK_U64(r.change_amount, 500);
    CHECK_U64(r.n_inputs, 1);
    CHECK_MEM(&r.inputs[0], &F.coins[3], sizeof r.inputs[0]);
    CHECK_MEM(r.sig, F.rec.sig, 64);

    struct offpay_request q;
    n = offpay_request_encode(buf, sizeof buf, &F.req);
    CHECK_STATUS(offpay_request_decode(&q, buf, n), OFFPAY_OK);
    CHECK_U64(q.amount, 3500);
    CHECK(strcmp(q.payee.account, "bob") == 0);
    CHECK_MEM(q.sig, F.req.sig, 64);

    struct offpay_confirmation c;
    n = offpay_confirmation_encode(buf, sizeof buf, &F.conf);
    CHECK_STATUS(offpay_confirmation_decode(&c, buf, n), OFFPAY_OK);
    CHECK_MEM(c.record_id, F.rec_id, 32);
    CHECK_MEM(&c.payee, &F.payee, sizeof c.payee);

    struct offpay_refusal f;
    n = offpay_refusal_encode(buf, sizeof buf, &F.refusal);
    CHECK_STATUS(offpay_refusal_decode(&f, buf, n), OFFPAY_OK);
    CHECK_U64(f.reason, OFFPAY_REFUSE_DECLINED);

    struct offpay_revocation v;
    n = offpay_revocation_encode(buf, sizeof buf, &F.revocation);
    CHECK_STATUS(offpay_revocation_decode(&v, buf, n), OFFPAY_OK);
    CHECK_U64(v.serial, 7);
    CHECK_U64(v.issued_at, FX_NOW);
    CHECK_U64(v.count, 3);
    CHECK(v.ids == buf + 22); /* points into the input, never copied */
    CHECK_MEM(v.ids, F.revoked_ids, sizeof F.revoked_ids);

    struct offpay_limits_policy p;
    n = offpay_limits_policy_encode(buf, sizeof buf, &F.policy);
    CHECK_STATUS(offpay_limits_policy_decode(&p, buf, n), OFFPAY_OK);
    CHECK_U64(p.limits.per_payment, 10000);
    CHECK_U64(p.limits.offline_total, 50000);
    CHECK_U64(p.limits.count, 10);
    CHECK_U64(p.limits.period, 86400);
    CHECK_U64(p.issued_at, FX_NOW);
}

static void test_zero_amounts(void)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    size_t n = offpay_utxo_encode(buf, sizeof buf, &F.coins[0]);
    put_u64(buf + UTXO_AMOUNT, 0);
    CHECK_STATUS(decode_as(OFFPAY_MSG_UTXO, buf, n), OFFPAY_ERR_ZERO_AMOUNT);

    n = offpay_request_encode(buf, sizeof buf, &F.req);
    put_u64(buf + n - 64 - 16 - 8, 0);
    CHECK_STATUS(decode_as(OFFPAY_MSG_REQUEST, buf, n), OFFPAY_ERR_ZERO_AMOUNT);

    n = offpay_record_encode(buf, sizeof buf, &F.rec);
    put_u64(buf + REC_PAYEE_AMOUNT, 0);
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n), OFFPAY_ERR_ZERO_AMOUNT);
    n = offpay_record_encode(buf, sizeof buf, &F.rec);
    put_u64(buf + REC_INPUT0 + UTXO_AMOUNT, 0);
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n), OFFPAY_ERR_ZERO_AMOUNT);
    /* A zero change is "no change output": well formed. */
    n = offpay_record_encode(buf, sizeof buf, &F.rec);
    put_u64(buf + REC_CHANGE, 0);
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n), OFFPAY_OK);

    /* Encoders refuse what decoders refuse. */
    struct offpay_utxo u = F.coins[0];
    u.amount = 0;
    CHECK_U64(offpay_utxo_encode(buf, sizeof buf, &u), 0);
    struct offpay_request q = F.req;
    q.amount = 0;
    CHECK_U64(offpay_request_encode(buf, sizeof buf, &q), 0);
    struct offpay_record r = F.rec;
    r.payee_amount = 0;
    CHECK_U64(offpay_record_encode(buf, sizeof buf, &r), 0);
    r = F.rec;
    r.inputs[0].amount = 0;
    CHECK_U64(offpay_record_encode(buf, sizeof buf, &r), 0);
}

static void test_overflowing_amounts(void)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    size_t n = offpay_record_encode(buf, sizeof buf, &F.rec);
    put_u64(buf + REC_PAYEE_AMOUNT, UINT64_MAX);
    put_u64(buf + REC_CHANGE, 1);
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n), OFFPAY_ERR_AMOUNT_OVERFLOW);
    put_u64(buf + REC_CHANGE, 0); /* UINT64_MAX alone is representable */
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n), OFFPAY_OK);

    /* Two inputs whose sum wraps. */
    struct offpay_record r = F.rec;
    r.n_inputs = 2;
    r.inputs[0].amount = UINT64_C(1) << 63;
    r.inputs[1] = F.coins[2];
    r.inputs[1].amount = (UINT64_C(1) << 63) - 1; /* sums to UINT64_MAX: fine */
    n = offpay_record_encode(buf, sizeof buf, &r);
    CHECK(n > 0);
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n), OFFPAY_OK);
    put_u64(buf + REC_INPUT0 + OFFPAY_UTXO_BYTES + UTXO_AMOUNT, UINT64_C(1) << 63); /* one more: wraps */
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n), OFFPAY_ERR_AMOUNT_OVERFLOW);

    /* The encoder refuses both overflows too. */
    r.inputs[1].amount = UINT64_C(1) << 63;
    CHECK_U64(offpay_record_encode(buf, sizeof buf, &r), 0);
    r = F.rec;
    r.payee_amount = UINT64_MAX;
    r.change_amount = 1;
    CHECK_U64(offpay_record_encode(buf, sizeof buf, &r), 0);
}

static void test_input_counts(void)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX + OFFPAY_UTXO_BYTES];
    struct offpay_record r = F.rec, d;
    r.n_inputs = OFFPAY_RECORD_INPUTS_MAX;
    for (int i = 0; i < OFFPAY_RECORD_INPUTS_MAX; i++) {
        r.inputs[i] = F.coins[0];
        r.inputs[i].id[0] = (uint8_t)i;
    }
    size_t n = offpay_record_encode(buf, sizeof buf, &r);
    CHECK(n > 0);
    CHECK(n <= OFFPAY_RECORD_BYTES_MAX);
    CHECK_STATUS(offpay_record_decode(&d, buf, n), OFFPAY_OK);
    CHECK_U64(d.n_inputs, OFFPAY_RECORD_INPUTS_MAX);

    /* 17 inputs: the count byte is refused before any input is read. */
    memmove(buf + REC_INPUT0 + OFFPAY_UTXO_BYTES, buf + REC_INPUT0, n - REC_INPUT0);
    buf[REC_N_INPUTS] = OFFPAY_RECORD_INPUTS_MAX + 1;
    CHECK_STATUS(offpay_record_decode(&d, buf, n + OFFPAY_UTXO_BYTES), OFFPAY_ERR_TOO_MANY_ITEMS);
    buf[REC_N_INPUTS] = 255;
    CHECK_STATUS(offpay_record_decode(&d, buf, n + OFFPAY_UTXO_BYTES), OFFPAY_ERR_TOO_MANY_ITEMS);

    /* No inputs at all. */
    n = offpay_record_encode(buf, sizeof buf, &F.rec);
    buf[REC_N_INPUTS] = 0;
    memmove(buf + REC_INPUT0, buf + REC_INPUT0 + OFFPAY_UTXO_BYTES, 64);
    CHECK_STATUS(offpay_record_decode(&d, buf, n - OFFPAY_UTXO_BYTES), OFFPAY_ERR_MALFORMED);

    /* The encoder refuses the same. */
    r.n_inputs = OFFPAY_RECORD_INPUTS_MAX + 1;
    CHECK_U64(offpay_record_encode(buf, sizeof buf, &r), 0);
    r.n_inputs = 0;
    CHECK_U64(offpay_record_encode(buf, sizeof buf, &r), 0);
}

static void test_account_names(void)
{
    CHECK(offpay_account_name_valid("a"));
    CHECK(offpay_account_name_valid("alice.smith_2-b"));
    CHECK(offpay_account_name_valid("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
    CHECK(!offpay_account_name_valid("abcdefghijklmnopqrstuvwxyz0123456")); /* 33 */
    CHECK(!offpay_account_name_valid(""));
    CHECK(!offpay_account_name_valid(NULL));
    CHECK(!offpay_account_name_valid("Alice"));
    CHECK(!offpay_account_name_valid("al ice"));
    CHECK(!offpay_account_name_valid("al/ice"));
    CHECK(!offpay_account_name_valid("\xc3\xa9"));

    uint8_t buf[OFFPAY_CERT_BYTES_MAX + 8];
    struct offpay_cert c = F.payer;
    size_t n = offpay_cert_encode(buf, sizeof buf, &c);
    static const char bad[] = {'A', ' ', '/', ':', '@', '\x7f', '\x80', '\xff', '\0'};
    for (size_t i = 0; i < sizeof bad; i++) {
        for (int pos = 0; pos < 5; pos++) {
            uint8_t save = buf[CERT_ACCOUNT + pos];
            buf[CERT_ACCOUNT + pos] = (uint8_t)bad[i];
            /* A NUL inside the name must be refused too: otherwise "al\0ce"
             * would decode to "al", and two encodings would share one struct. */
            CHECK_STATUS(decode_as(OFFPAY_MSG_CERT, buf, n), OFFPAY_ERR_BAD_ACCOUNT_NAME);
            buf[CERT_ACCOUNT + pos] = save;
        }
    }
    /* Length byte 0 and 33. */
    buf[CERT_ACCOUNT_LEN] = 0;
    CHECK_STATUS(decode_as(OFFPAY_MSG_CERT, buf, n), OFFPAY_ERR_BAD_ACCOUNT_NAME);
    buf[CERT_ACCOUNT_LEN] = OFFPAY_ACCOUNT_MAX + 1;
    CHECK_STATUS(decode_as(OFFPAY_MSG_CERT, buf, n), OFFPAY_ERR_BAD_ACCOUNT_NAME);
    buf[CERT_ACCOUNT_LEN] = 255;
    CHECK_STATUS(decode_as(OFFPAY_MSG_CERT, buf, n), OFFPAY_ERR_BAD_ACCOUNT_NAME);

    /* 32 bytes is the most; the encoder refuses bad names. */
    snprintf(c.account, sizeof c.account, "%s", "abcdefghijklmnopqrstuvwxyz012345");
    n = offpay_cert_encode(buf, sizeof buf, &c);
    CHECK_U64(n, OFFPAY_CERT_BYTES_MAX);
    CHECK_STATUS(decode_as(OFFPAY_MSG_CERT, buf, n), OFFPAY_OK);
    memset(c.account, 'a', sizeof c.account); /* not even NUL-terminated */
    CHECK_U64(offpay_cert_encode(buf, sizeof buf, &c), 0);
    snprintf(c.account, sizeof c.account, "%s", "Bob");
    CHECK_U64(offpay_cert_encode(buf, sizeof buf, &c), 0);
    c.account[0] = '\0';
    CHECK_U64(offpay_cert_encode(buf, sizeof buf, &c), 0);
}

static void test_cert_window(void)
{
    uint8_t buf[OFFPAY_CERT_BYTES_MAX];
    size_t n = offpay_cert_encode(buf, sizeof buf, &F.payer);
    /* not_after before not_before is malformed; equal is a one-second window. */
    put_u64(buf + CERT_NOT_BEFORE, 100);
    put_u64(buf + CERT_NOT_AFTER, 99);
    CHECK_STATUS(decode_as(OFFPAY_MSG_CERT, buf, n), OFFPAY_ERR_MALFORMED);
    put_u64(buf + CERT_NOT_AFTER, 100);
    CHECK_STATUS(decode_as(OFFPAY_MSG_CERT, buf, n), OFFPAY_OK);
    /* The encoder refuses a window the decoder would refuse. */
    struct offpay_cert c = F.payer;
    c.not_after = c.not_before - 1;
    CHECK_U64(offpay_cert_encode(buf, sizeof buf, &c), 0);
}

static void test_record_seq(void)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    size_t n = offpay_record_encode(buf, sizeof buf, &F.rec);
    put_u64(buf + REC_SEQ, 0);
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n), OFFPAY_ERR_MALFORMED);
    put_u64(buf + REC_SEQ, UINT64_MAX);
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n), OFFPAY_OK);
    struct offpay_record r = F.rec;
    r.seq = 0;
    CHECK_U64(offpay_record_encode(buf, sizeof buf, &r), 0);
}

static void test_refusal_reason(void)
{
    uint8_t buf[OFFPAY_REFUSAL_BYTES];
    size_t n = offpay_refusal_encode(buf, sizeof buf, &F.refusal);
    for (int v = 0; v < 256; v++) {
        buf[34] = (uint8_t)v;
        CHECK_STATUS(decode_as(OFFPAY_MSG_REFUSAL, buf, n),
                     v >= 1 && v <= OFFPAY_REFUSE_REASON_MAX_ ? OFFPAY_OK : OFFPAY_ERR_MALFORMED);
    }
    struct offpay_refusal f = F.refusal;
    f.reason = 0;
    CHECK_U64(offpay_refusal_encode(buf, sizeof buf, &f), 0);
    f.reason = OFFPAY_REFUSE_REASON_MAX_ + 1;
    CHECK_U64(offpay_refusal_encode(buf, sizeof buf, &f), 0);
}

static void test_limits_policy(void)
{
    uint8_t buf[OFFPAY_LIMITS_BYTES];
    size_t n = offpay_limits_policy_encode(buf, sizeof buf, &F.policy);
    memset(buf + 2 + 16 + 8 + 8 + 4, 0, 4); /* period */
    CHECK_STATUS(decode_as(OFFPAY_MSG_LIMITS, buf, n), OFFPAY_ERR_MALFORMED);
    struct offpay_limits_policy p = F.policy;
    p.limits.period = 0;
    CHECK_U64(offpay_limits_policy_encode(buf, sizeof buf, &p), 0);

    /* The fixture's policy sets neither holding nor offline time: the short
     * form, as every policy before them, which still decodes and verifies. */
    CHECK_U64(offpay_limits_policy_encode(buf, sizeof buf, &F.policy), OFFPAY_LIMITS_BYTES_SHORT);
    CHECK_STATUS(offpay_limits_policy_decode(&p, buf, OFFPAY_LIMITS_BYTES_SHORT), OFFPAY_OK);
    CHECK_U64(p.limits.holding, 0);
    CHECK_U64(p.limits.offline_time, 0);
    CHECK_STATUS(offpay_limits_policy_verify(&p, F.issuer_pk), OFFPAY_OK);

    /* Either one set: the long form, 12 bytes more before the signature. */
    struct offpay_limits_policy q = F.policy, d;
    q.limits.holding = 6000;
    q.limits.offline_time = 604800;
    CHECK_STATUS(offpay_limits_policy_sign(&q, F.issuer_sk), OFFPAY_OK);
    n = offpay_limits_policy_encode(buf, sizeof buf, &q);
    CHECK_U64(n, OFFPAY_LIMITS_BYTES_LONG);
    CHECK_STATUS(offpay_limits_policy_decode(&d, buf, n), OFFPAY_OK);
    CHECK_U64(d.limits.holding, 6000);
    CHECK_U64(d.limits.offline_time, 604800);
    CHECK_STATUS(offpay_limits_policy_verify(&d, F.issuer_pk), OFFPAY_OK);
    /* The signature covers the new fields. */
    d.limits.holding = 6001;
    CHECK_STATUS(offpay_limits_policy_verify(&d, F.issuer_pk), OFFPAY_ERR_BAD_SIGNATURE);
    /* Only offline time set is the long form too. */
    q.limits.holding = 0;
    CHECK_U64(offpay_limits_policy_encode(buf, sizeof buf, &q), OFFPAY_LIMITS_BYTES_LONG);
    /* The long form saying both are 0 is not canonical (the short form says that). */
    q.limits.holding = 1;
    n = offpay_limits_policy_encode(buf, sizeof buf, &q);
    memset(buf + OFFPAY_LIMITS_BYTES_SHORT - 64, 0, 12);
    CHECK_STATUS(decode_as(OFFPAY_MSG_LIMITS, buf, n), OFFPAY_ERR_NOT_CANONICAL);
    /* Every length between the two forms is refused (read as the short form:
     * trailing bytes); one byte more than the long form is trailing too. */
    q.limits.holding = 6000;
    n = offpay_limits_policy_encode(buf, sizeof buf, &q);
    for (size_t len = OFFPAY_LIMITS_BYTES_SHORT + 1; len < OFFPAY_LIMITS_BYTES_LONG; len++)
        CHECK(offpay_limits_policy_decode(&d, buf, len) != OFFPAY_OK);
    uint8_t more[OFFPAY_LIMITS_BYTES + 1];
    memcpy(more, buf, n);
    more[n] = 0;
    CHECK_STATUS(offpay_limits_policy_decode(&d, more, n + 1), OFFPAY_ERR_TRAILING_BYTES);
    CHECK_U64(d.money.code[0], 0); /* the older forms: the default money */

    /* Issue 16's money form: a currency and exponent other than CNY/2, 4
     * bytes more; the default money resolves to CNY/2 from any form. */
    struct offpay_money m;
    offpay_limits_policy_money(&F.policy, &m);
    CHECK(strcmp(m.code, "CNY") == 0 && m.exponent == 2);
    struct offpay_money eur = {"EUR", 2}, jpy = {"JPY", 0}, cny2 = {"CNY", 2}, bad = {"Eur", 2}, big = {"KWD", 5};
    q = F.policy;
    CHECK(offpay_limits_policy_money_set(&q, &eur) == 0);
    CHECK_STATUS(offpay_limits_policy_sign(&q, F.issuer_sk), OFFPAY_OK);
    n = offpay_limits_policy_encode(buf, sizeof buf, &q);
    CHECK_U64(n, OFFPAY_LIMITS_BYTES_MONEY);
    CHECK(memcmp(buf + OFFPAY_LIMITS_BYTES_LONG - 64, "EUR\x02", 4) == 0);
    CHECK_STATUS(offpay_limits_policy_decode(&d, buf, n), OFFPAY_OK);
    CHECK_STATUS(offpay_limits_policy_verify(&d, F.issuer_pk), OFFPAY_OK);
    offpay_limits_policy_money(&d, &m);
    CHECK(strcmp(m.code, "EUR") == 0 && m.exponent == 2);
    CHECK_U64(d.limits.holding, 0); /* the money form carries the limits, set or not */
    /* The signature covers the money. */
    d.money.exponent = 3;
    CHECK_STATUS(offpay_limits_policy_verify(&d, F.issuer_pk), OFFPAY_ERR_BAD_SIGNATURE);
    /* Strict: a code that is not three capitals, an exponent over 4, CNY/2 said in the money form. */
    memcpy(more, buf, n);
    more[OFFPAY_LIMITS_BYTES_LONG - 64 + 1] = 'u';
    CHECK_STATUS(decode_as(OFFPAY_MSG_LIMITS, more, n), OFFPAY_ERR_MALFORMED);
    memcpy(more, buf, n);
    more[OFFPAY_LIMITS_BYTES_LONG - 64 + 3] = 5;
    CHECK_STATUS(decode_as(OFFPAY_MSG_LIMITS, more, n), OFFPAY_ERR_MALFORMED);
    memcpy(more, buf, n);
    memcpy(more + OFFPAY_LIMITS_BYTES_LONG - 64, "CNY\x02", 4);
    CHECK_STATUS(decode_as(OFFPAY_MSG_LIMITS, more, n), OFFPAY_ERR_NOT_CANONICAL);
    /* Between the long and the money form: read as the long form, refused
     * (here at its holding and offline time, both 0: not canonical). */
    for (size_t len = OFFPAY_LIMITS_BYTES_LONG + 1; len < OFFPAY_LIMITS_BYTES_MONEY; len++)
        CHECK_STATUS(offpay_limits_policy_decode(&d, buf, len), OFFPAY_ERR_NOT_CANONICAL);
    memcpy(more, buf, n);
    more[n] = 0;
    CHECK_STATUS(offpay_limits_policy_decode(&d, more, n + 1), OFFPAY_ERR_TRAILING_BYTES);
    /* Exponent 0 is money too; CNY/2 given explicitly is stored as the default. */
    CHECK(offpay_limits_policy_money_set(&q, &jpy) == 0);
    CHECK_U64(offpay_limits_policy_encode(buf, sizeof buf, &q), OFFPAY_LIMITS_BYTES_MONEY);
    CHECK(offpay_limits_policy_money_set(&q, &cny2) == 0);
    CHECK_U64(q.money.code[0], 0);
    CHECK_U64(offpay_limits_policy_encode(buf, sizeof buf, &q), OFFPAY_LIMITS_BYTES_SHORT);
    CHECK(offpay_limits_policy_money_set(&q, &bad) == -1);
    CHECK(offpay_limits_policy_money_set(&q, &big) == -1);
    /* The encoder refuses what the decoder refuses: explicit CNY/2, bad money. */
    q.money = cny2;
    CHECK_U64(offpay_limits_policy_encode(buf, sizeof buf, &q), 0);
    q.money = bad;
    CHECK_U64(offpay_limits_policy_encode(buf, sizeof buf, &q), 0);
    q.money = big;
    CHECK_U64(offpay_limits_policy_encode(buf, sizeof buf, &q), 0);
    memset(&q.money, 0, sizeof q.money);
    q.money.exponent = 2; /* no code but an exponent */
    CHECK_U64(offpay_limits_policy_encode(buf, sizeof buf, &q), 0);
}

static void test_revocation(void)
{
    static uint8_t buf[OFFPAY_REVOCATION_BYTES(4)];
    struct offpay_revocation v;
    size_t n = offpay_revocation_encode(buf, sizeof buf, &F.revocation);

    CHECK(offpay_revocation_contains(&F.revocation, F.revoked_ids));
    CHECK(offpay_revocation_contains(&F.revocation, F.revoked_ids + 16));
    CHECK(offpay_revocation_contains(&F.revocation, F.revoked_ids + 32));
    CHECK(!offpay_revocation_contains(&F.revocation, F.payer.wallet_id));
    CHECK(!offpay_revocation_contains(NULL, F.payer.wallet_id));

    /* Unsorted and duplicated ids are not canonical. */
    memcpy(buf + 22, F.revoked_ids + 16, 16);
    memcpy(buf + 22 + 16, F.revoked_ids, 16);
    CHECK_STATUS(offpay_revocation_decode(&v, buf, n), OFFPAY_ERR_NOT_CANONICAL);
    memcpy(buf + 22, F.revoked_ids + 16, 16);
    CHECK_STATUS(offpay_revocation_decode(&v, buf, n), OFFPAY_ERR_NOT_CANONICAL);

    /* Counts: over the maximum, or more ids than bytes. */
    n = offpay_revocation_encode(buf, sizeof buf, &F.revocation);
    buf[18] = 0, buf[19] = 0x01, buf[20] = 0x86, buf[21] = 0xa1; /* 100001 */
    CHECK_STATUS(offpay_revocation_decode(&v, buf, n), OFFPAY_ERR_TOO_MANY_ITEMS);
    buf[18] = 0xff;
    CHECK_STATUS(offpay_revocation_decode(&v, buf, n), OFFPAY_ERR_TOO_MANY_ITEMS);
    buf[18] = 0, buf[19] = 0, buf[20] = 0, buf[21] = 10; /* 160 bytes of ids: more than there are */
    CHECK_STATUS(offpay_revocation_decode(&v, buf, n), OFFPAY_ERR_TRUNCATED);
    buf[21] = 2; /* fewer ids than bytes: the rest is trailing */
    CHECK_STATUS(offpay_revocation_decode(&v, buf, n), OFFPAY_ERR_TRAILING_BYTES);

    /* The empty list is fine and contains nothing. */
    struct offpay_revocation empty = {.serial = 1, .issued_at = FX_NOW, .count = 0, .ids = NULL};
    n = offpay_revocation_encode(buf, sizeof buf, &empty);
    CHECK_U64(n, OFFPAY_REVOCATION_BYTES(0));
    CHECK_STATUS(offpay_revocation_decode(&v, buf, n), OFFPAY_OK);
    CHECK_U64(v.count, 0);
    CHECK(!offpay_revocation_contains(&v, F.payer.wallet_id));

    /* The encoder refuses unsorted ids. */
    uint8_t ids[32];
    memcpy(ids, F.revoked_ids + 16, 16);
    memcpy(ids + 16, F.revoked_ids, 16);
    struct offpay_revocation bad = {.serial = 1, .count = 2, .ids = ids};
    CHECK_U64(offpay_revocation_encode(buf, sizeof buf, &bad), 0);
    bad.ids = NULL;
    CHECK_U64(offpay_revocation_encode(buf, sizeof buf, &bad), 0);
    bad.count = OFFPAY_REVOCATION_MAX + 1;
    CHECK_U64(offpay_revocation_encode(buf, sizeof buf, &bad), 0);
}

/* The nested certificate carries its own version and type bytes. */
static void test_nested_headers(void)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    size_t n = offpay_record_encode(buf, sizeof buf, &F.rec);
    buf[2] = 2;
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n), OFFPAY_ERR_BAD_VERSION);
    buf[2] = 1, buf[3] = OFFPAY_MSG_UTXO;
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n), OFFPAY_ERR_WRONG_TYPE);
    buf[3] = OFFPAY_MSG_CERT;
    buf[REC_INPUT0 + 1] = OFFPAY_MSG_CERT;
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n), OFFPAY_ERR_WRONG_TYPE);
}

/* Canonicality: change any byte of any message to any value; whenever the
 * result still decodes, it must encode back to exactly those bytes. */
static void test_canonical(void)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX], again[OFFPAY_RECORD_BYTES_MAX];
    for (int t = 0; t < FX_N_CODECS; t++) {
        const struct fx_codec *c = &fx_codecs[t];
        size_t n = fx_encode(&F, c->type, buf, sizeof buf), m;
        for (size_t pos = 0; pos < n; pos++) {
            uint8_t save = buf[pos];
            for (int x = 1; x < 256; x++) {
                buf[pos] = (uint8_t)(save ^ x);
                if (c->roundtrip(buf, n, again, sizeof again, &m) == OFFPAY_OK) {
                    if (m != n || memcmp(again, buf, n) != 0)
                        CHECK_FAIL("%s: byte %zu ^ %02x decodes but is not canonical", c->name, pos, x);
                }
            }
            buf[pos] = save;
        }
    }
}

/* Size budget of the issue: a 1-input record with change is at most 512 bytes. */
/* The record with a sync stamp (type 10): 90 bytes more than its type-4
 * form, read by the same decoder; each form is refused as the other; the
 * embedded stamp's header is checked; every byte flip stays canonical. */
static void test_stamped_record(void)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX + 1], again[OFFPAY_RECORD_BYTES_MAX];
    struct offpay_record r;
    size_t n = fx_encode(&F, OFFPAY_MSG_RECORD_STAMPED, buf, sizeof buf), m;
    CHECK_U64(n, 421 + OFFPAY_STAMP_BYTES);
    CHECK(buf[1] == OFFPAY_MSG_RECORD_STAMPED && offpay_message_type(buf, n) == OFFPAY_MSG_RECORD);
    CHECK_STATUS(offpay_record_decode(&r, buf, n), OFFPAY_OK);
    CHECK(r.has_stamp == 1 && r.stamp.synced_at == F.stamp.synced_at);
    CHECK_MEM(&r, &F.rec_stamped, sizeof r);
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n), OFFPAY_OK);
    for (size_t k = 0; k < n; k++)
        CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, k), OFFPAY_ERR_TRUNCATED);
    buf[n] = 0;
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n + 1), OFFPAY_ERR_TRAILING_BYTES);
    /* Read as the other form: the stamp's header is where the payee key is. */
    buf[1] = OFFPAY_MSG_RECORD;
    CHECK(decode_as(OFFPAY_MSG_RECORD, buf, n) != OFFPAY_OK);
    buf[1] = OFFPAY_MSG_RECORD_STAMPED;
    buf[2 + ALICE_CERT_BYTES + 1] = OFFPAY_MSG_CERT;
    CHECK_STATUS(decode_as(OFFPAY_MSG_RECORD, buf, n), OFFPAY_ERR_WRONG_TYPE);
    buf[2 + ALICE_CERT_BYTES + 1] = OFFPAY_MSG_STAMP;
    n = offpay_record_encode(buf, sizeof buf, &F.rec);
    buf[1] = OFFPAY_MSG_RECORD_STAMPED;
    CHECK(decode_as(OFFPAY_MSG_RECORD, buf, n) != OFFPAY_OK);
    /* has_stamp is 0 or 1: anything else has no encoding. */
    r = F.rec_stamped;
    r.has_stamp = 2;
    CHECK_U64(offpay_record_encode(buf, sizeof buf, &r), 0);

    n = fx_encode(&F, OFFPAY_MSG_RECORD_STAMPED, buf, sizeof buf);
    for (size_t pos = 0; pos < n; pos++) {
        uint8_t save = buf[pos];
        for (int x = 1; x < 256; x++) {
            buf[pos] = (uint8_t)(save ^ x);
            if (decode_as(OFFPAY_MSG_RECORD, buf, n) == OFFPAY_OK) {
                CHECK_STATUS(offpay_record_decode(&r, buf, n), OFFPAY_OK);
                m = offpay_record_encode(again, sizeof again, &r);
                if (m != n || memcmp(again, buf, n) != 0)
                    CHECK_FAIL("stamped record: byte %zu ^ %02x decodes but is not canonical", pos, x);
            }
        }
        buf[pos] = save;
    }
}

static void test_record_budget(void)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    CHECK(F.rec.change_amount > 0);
    CHECK_U64(offpay_record_encode(buf, sizeof buf, &F.rec), 421);

    struct fx *g = malloc(sizeof *g);
    CHECK(g != NULL);
    fx_init(g, "abcdefghijklmnopqrstuvwxyz012345");
    size_t n = offpay_record_encode(buf, sizeof buf, &g->rec);
    CHECK_U64(n, 448);
    CHECK(n <= 512);
    CHECK_U64(OFFPAY_RECORD_FIXED_BYTES + OFFPAY_CERT_BYTES_MAX + OFFPAY_UTXO_BYTES, 448);
    /* With the payer's sync stamp (issue 13): 511, still within the budget. */
    CHECK_U64(offpay_record_encode(buf, sizeof buf, &F.rec_stamped), 511);
    CHECK_U64(offpay_record_encode(buf, sizeof buf, &g->rec_stamped), 538);
    free(g);
}

int main(void)
{
    fx_init(&F, NULL);
    test_common();
    test_zeroed_on_failure();
    test_fields();
    test_zero_amounts();
    test_overflowing_amounts();
    test_input_counts();
    test_account_names();
    test_cert_window();
    test_record_seq();
    test_refusal_reason();
    test_limits_policy();
    test_revocation();
    test_nested_headers();
    test_canonical();
    test_stamped_record();
    test_record_budget();
    return 0;
}

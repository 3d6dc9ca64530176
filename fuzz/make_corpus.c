/*
 * make_corpus.c - writes the seed corpus of every fuzz harness from the test
 * fixture: each valid message, a few variants that are valid too (longest
 * account, several inputs, no change, empty list) and a few near misses
 * (truncated, a trailing byte, a wrong type, a bad field).  Run once; the
 * files are committed under fuzz/corpus/<harness>/ and replayed by ctest.
 *
 * Usage: offpay-fuzz-make-corpus DIR   (DIR/<harness>/ must exist)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static const char *dir;

static void put(const char *harness, const char *name, const void *data, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", dir, harness, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* The message, and its three generic near misses. */
static void put_with_misses(const char *harness, const char *name, const uint8_t *m, size_t n)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX + 1];
    char nm[256];
    put(harness, name, m, n);
    snprintf(nm, sizeof nm, "%s-truncated", name);
    put(harness, nm, m, n - 1);
    memcpy(buf, m, n);
    buf[n] = 0;
    snprintf(nm, sizeof nm, "%s-trailing", name);
    put(harness, nm, buf, n + 1);
    buf[1] ^= 0x0f;
    snprintf(nm, sizeof nm, "%s-wrongtype", name);
    put(harness, nm, buf, n);
}

static void put_text(const char *name, const uint8_t *m, size_t n, const char *tail)
{
    char text[8192];
    if (offpay_text_encode(text, sizeof text - 4, m, n) != OFFPAY_OK)
        exit(1);
    strcat(text, tail);
    put("text", name, text, strlen(text));
}

static void patch_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

int main(int argc, char **argv)
{
    static struct fx F, G;
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    size_t n;
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    fx_init(&F, NULL);
    fx_init(&G, "abcdefghijklmnopqrstuvwxyz012345");

    for (int t = 0; t < FX_N_CODECS; t++) {
        n = fx_encode(&F, fx_codecs[t].type, buf, sizeof buf);
        put_with_misses(fx_codecs[t].name, "valid", buf, n);
        put_text(fx_codecs[t].name, buf, n, "");
    }

    /* A record carrying its payer's sync stamp (type 10), as text too. */
    n = fx_encode(&F, OFFPAY_MSG_RECORD_STAMPED, buf, sizeof buf);
    put_with_misses("record", "stamped", buf, n);
    put_text("record-stamped", buf, n, "");

    /* Certificates: the longest account; a NUL in the name; inverted window. */
    n = offpay_cert_encode(buf, sizeof buf, &G.payer);
    put("cert", "account32", buf, n);
    n = offpay_cert_encode(buf, sizeof buf, &F.payer);
    buf[69] = 0;
    put("cert", "account-nul", buf, n);
    n = offpay_cert_encode(buf, sizeof buf, &F.payer);
    patch_u64(buf + 58, 0);
    put("cert", "window-inverted", buf, n);

    n = offpay_utxo_encode(buf, sizeof buf, &F.coins[0]);
    patch_u64(buf + 66, 0);
    put("utxo", "zero-amount", buf, n);
    patch_u64(buf + 66, UINT64_MAX);
    put("utxo", "max-amount", buf, n);

    n = offpay_request_encode(buf, sizeof buf, &G.req);
    put("request", "account32", buf, n);
    patch_u64(buf + n - 64 - 16 - 8, 0);
    put("request", "zero-amount", buf, n);

    /* Records: two inputs, no change, the longest account, bad counts. */
    struct offpay_request q;
    struct offpay_record r;
    if (offpay_request_build(&q, &F.payee, F.payee_sk, 2500, F.req.nonce) != OFFPAY_OK ||
        offpay_record_build(&r, &F.payer, F.payer_sk, &q, F.coins, 2, FX_NOW, 2) != OFFPAY_OK)
        return 1;
    n = offpay_record_encode(buf, sizeof buf, &r);
    put("record", "two-inputs", buf, n);
    put_text("record-two-inputs", buf, n, "\r\n");
    if (offpay_request_build(&q, &F.payee, F.payee_sk, 4000, F.req.nonce) != OFFPAY_OK ||
        offpay_record_build(&r, &F.payer, F.payer_sk, &q, &F.coins[3], 1, FX_NOW, 3) != OFFPAY_OK)
        return 1;
    n = offpay_record_encode(buf, sizeof buf, &r);
    put("record", "no-change", buf, n);
    n = offpay_record_encode(buf, sizeof buf, &G.rec);
    put("record", "account32", buf, n);
    n = offpay_record_encode(buf, sizeof buf, &F.rec);
    buf[218] = 17;
    put("record", "inputs17", buf, n);
    buf[218] = 0;
    put("record", "inputs0", buf, n);
    n = offpay_record_encode(buf, sizeof buf, &F.rec);
    patch_u64(buf + 202, UINT64_MAX);
    put("record", "outputs-overflow", buf, n);

    n = offpay_confirmation_encode(buf, sizeof buf, &G.conf);
    put("confirmation", "payer32", buf, n);

    for (uint8_t reason = 0; reason <= OFFPAY_REFUSE_REASON_MAX_ + 1; reason++) {
        char nm[32];
        n = offpay_refusal_encode(buf, sizeof buf, &F.refusal);
        buf[34] = reason;
        snprintf(nm, sizeof nm, "reason%u", reason);
        put("refusal", nm, buf, n);
    }

    struct offpay_revocation empty = {.serial = 1, .issued_at = FX_NOW};
    n = offpay_revocation_encode(buf, sizeof buf, &empty);
    put("revocation", "empty", buf, n);
    n = offpay_revocation_encode(buf, sizeof buf, &F.revocation);
    memcpy(buf + 22, F.revoked_ids + 16, 16);
    memcpy(buf + 38, F.revoked_ids, 16);
    put("revocation", "unsorted", buf, n);

    n = offpay_limits_policy_encode(buf, sizeof buf, &F.policy);
    memset(buf + 38, 0, 4);
    put("limits", "period0", buf, n);
    {
        /* Issue 16's money form, and its near misses: CNY/2 said in it, a lower-case code. */
        struct offpay_limits_policy lp = F.policy;
        struct offpay_money eur = {"EUR", 2};
        if (offpay_limits_policy_money_set(&lp, &eur) != 0 || offpay_limits_policy_sign(&lp, F.issuer_sk) != OFFPAY_OK)
            exit(1);
        n = offpay_limits_policy_encode(buf, sizeof buf, &lp);
        put_with_misses("limits", "money", buf, n);
        memcpy(buf + OFFPAY_LIMITS_BYTES_LONG - OFFPAY_SIGNATURE_BYTES, "CNY", 3);
        put("limits", "money-cny2", buf, n);
        buf[OFFPAY_LIMITS_BYTES_LONG - OFFPAY_SIGNATURE_BYTES] = 'c';
        put("limits", "money-lowercase", buf, n);
    }

    /* Text near misses. */
    n = offpay_refusal_encode(buf, sizeof buf, &F.refusal);
    put_text("refusal-lf", buf, n, "\n");
    put_text("refusal-cr", buf, n, "\r");
    put_text("refusal-padding", buf, n, "=");
    put("text", "lowercase", "op1ref:aeda", 11);
    put("text", "unknown-prefix", "OP1XYZ:AEDA", 11);
    put("text", "bad-length", "OP1REF:AEDAB", 12);
    put("text", "stray-bits", "OP1REF:AEDB", 11);
    return 0;
}

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
#include "offpay/key_token.h"
#include "offpay/sealed.h"

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

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* key.sealed sealed by offpay_sealed_key_seal (a fresh salt and nonce: these
 * files differ each run), its near misses, and costs at and past their bounds. */
static void put_key_sealed(void)
{
    static const struct {
        const char *name;
        uint32_t ops;
        uint64_t mem;
        uint8_t version;
    } costs[] = {
        {"cheapest", 1, 8192, 1},              /* opened by the harness: the tag fails */
        {"cheap", 2, 64 << 10, 1},             /* the harness's bound: opened */
        {"mem-max", 8, 1ull << 30, 1},         /* accepted, too dear to open */
        {"ops0", 0, 8192, 1},                  /* the rest refused */
        {"ops9", 9, 8192, 1},
        {"mem-below", 1, 7168, 1},
        {"mem-over", 1, (1ull << 30) + 1024, 1},
        {"mem-not-kib", 1, 8192 + 1, 1},
        {"version2", 1, 8192, 2},
    };
    uint8_t seed[OFFPAY_SEED_BYTES], k[OFFPAY_SEALED_KEY_BYTES];
    size_t magic = sizeof OFFPAY_SEALED_KEY_MAGIC - 1;
    fx_seed(seed, 7);
    if (offpay_sealed_key_seal(k, seed, "fuzz passphrase") != OFFPAY_OK)
        exit(1);
    put_with_misses("key_sealed", "valid", k, sizeof k);
    for (size_t i = 0; i < sizeof costs / sizeof costs[0]; i++) {
        k[magic] = costs[i].version;
        put_be32(k + magic + 1, costs[i].ops);
        patch_u64(k + magic + 5, costs[i].mem);
        put("key_sealed", costs[i].name, k, sizeof k);
    }
}

/* A key.token written field by field, well formed or not. */
static void put_key_token_raw(const char *name, const char *magic, const char *module, const char *label,
                              const char *id, const char *tail)
{
    char t[OFFPAY_KEY_TOKEN_BYTES_MAX + 64];
    int n = snprintf(t, sizeof t, "%s\nmodule %s\ntoken %s\nid %s\n%s", magic, module, label, id, tail);
    if (n <= 0 || (size_t)n >= sizeof t)
        exit(1);
    put("key_token", name, t, (size_t)n);
}

/* key.token as offpay_key_token_encode writes it, at its bounds, and near misses. */
static void put_key_token(const struct fx *f)
{
    static const char mod[] = "/usr/lib/softhsm/libsofthsm2.so", lab32[] = "abcdefghijklmnopqrstuvwxyz012345";
    static char mod_max[OFFPAY_KEY_TOKEN_MODULE_MAX + 2];
    char id[2 * OFFPAY_PUBLIC_KEY_BYTES + 1], upper[sizeof id];
    uint8_t t[OFFPAY_KEY_TOKEN_BYTES_MAX];
    size_t n;

    offpay_hex(id, f->payer_pk, OFFPAY_PUBLIC_KEY_BYTES);
    for (size_t i = 0; i < sizeof id; i++)
        upper[i] = id[i] >= 'a' && id[i] <= 'f' ? (char)(id[i] - 'a' + 'A') : id[i];
    memset(mod_max, 'm', OFFPAY_KEY_TOKEN_MODULE_MAX);
    if (offpay_key_token_encode(t, sizeof t, &n, mod, "wallet", f->payer_pk) != 0)
        exit(1);
    put("key_token", "valid", t, n);
    put("key_token", "valid-truncated", t, n - 1);
    put("key_token", "valid-nul", t, n + 1); /* the encoder's NUL, kept */
    if (offpay_key_token_encode(t, sizeof t, &n, mod_max, lab32, f->payer_pk) != 0)
        exit(1);
    put("key_token", "longest", t, n);
    put_key_token_raw("extra-line", OFFPAY_KEY_TOKEN_MAGIC, mod, "wallet", id, "x\n");
    put_key_token_raw("trailing-lf", OFFPAY_KEY_TOKEN_MAGIC, mod, "wallet", id, "\n");
    put_key_token_raw("version2", "offpay-pkcs11-key 2", mod, "wallet", id, "");
    put_key_token_raw("id-upper", OFFPAY_KEY_TOKEN_MAGIC, mod, "wallet", upper, "");
    put_key_token_raw("id-short", OFFPAY_KEY_TOKEN_MAGIC, mod, "wallet", id + 1, "");
    put_key_token_raw("label-blank-end", OFFPAY_KEY_TOKEN_MAGIC, mod, "wallet ", id, "");
    put_key_token_raw("label-empty", OFFPAY_KEY_TOKEN_MAGIC, mod, "", id, "");
    put_key_token_raw("label33", OFFPAY_KEY_TOKEN_MAGIC, mod, "abcdefghijklmnopqrstuvwxyz0123456", id, "");
    put_key_token_raw("label-tab", OFFPAY_KEY_TOKEN_MAGIC, mod, "wal\tlet", id, "");
    put_key_token_raw("module-cr", OFFPAY_KEY_TOKEN_MAGIC, "/usr/lib/p11.so\r", "wallet", id, "");
    mod_max[OFFPAY_KEY_TOKEN_MODULE_MAX] = 'm';
    put_key_token_raw("module1025", OFFPAY_KEY_TOKEN_MAGIC, mod_max, "wallet", id, "");
    put_key_token_raw("lines-swapped", OFFPAY_KEY_TOKEN_MAGIC "\ntoken wallet", "x", "wallet", id, "");
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

    put_key_sealed();
    put_key_token(&F);
    return 0;
}

/*
 * doc_vectors.c - the vectors the documents print, made from the code, and
 * the check that the documents still print them.
 *
 * docs/wire-format.md (section "wire") and docs/api.md (section "http") each
 * hold a part between the lines
 *     <!-- BEGIN GENERATED: SECTION (tests/core/doc_vectors.c) -->
 *     <!-- END GENERATED: SECTION -->
 * that this program writes with `--print SECTION` and compares with
 * `--check FILE SECTION` (a ctest entry per document): a vector changed by
 * one byte in a document, or a decoder that starts answering another error,
 * fails the suite.  The values come from the fixture (tests/core/fixture.c):
 * fixed seeds and deterministic Ed25519, so every byte is fixed.
 *
 * The "wire" section: every fixture value in hex (what test_vectors.c pins
 * in its own table), then one input per error a decoder can return, each
 * made by changing a fixture message as its sentence says, with the status
 * the decoder answers; the precedence rules of docs/wire-format.md are
 * among them.  The "http" section: one signed request, every intermediate
 * value of docs/api.md's "Authentication" spelled out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "fixture.h"
#include "offpay/http_auth.h"

static struct fx F;

/* ---- output helpers ---- */

static void hex_block(FILE *f, const char *name, const uint8_t *b, size_t n)
{
    char *hex = malloc(2 * n + 1);
    CHECK(hex != NULL);
    offpay_hex(hex, b, n);
    fprintf(f, "%s (%zu bytes):\n\n```\n", name, n);
    for (size_t k = 0; k < 2 * n; k += 64)
        fprintf(f, "%.*s\n", (int)(2 * n - k < 64 ? 2 * n - k : 64), hex + k);
    fprintf(f, "```\n\n");
    free(hex);
}

static void text_block(FILE *f, const char *name, const char *text)
{
    size_t n = strlen(text);
    fprintf(f, "%s (%zu characters):\n\n```\n", name, n);
    for (size_t k = 0; k < n; k += 64)
        fprintf(f, "%.*s\n", (int)(n - k < 64 ? n - k : 64), text + k);
    fprintf(f, "```\n\n");
}

/* ---- the "wire" section ---- */

static size_t msg(int type, uint8_t *out, size_t cap)
{
    size_t n = fx_encode(&F, type, out, cap);
    CHECK(n > 0);
    return n;
}

/* One decoder error: a fixture message changed as `how` says. */
struct error_case {
    const char *how;
    int decoder;                /* enum offpay_msg_type; 0: the text form */
    enum offpay_status want;
    uint8_t in[OFFPAY_RECORD_BYTES_MAX + 8];
    size_t len;
    char text[2 * OFFPAY_RECORD_BYTES_MAX];
};

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Offsets in the fixture messages (docs/wire-format.md): the payer's
 * certificate is 136 bytes (account "alice"), the record's fields follow it. */
#define CERT_LEN_AT 66
#define UTXO_AMOUNT_AT 74 - 8
#define REC_C 136
#define REC_PAYEE_AMOUNT_AT (66 + REC_C)
#define REC_CHANGE_AT (74 + REC_C)
#define REC_N_AT (82 + REC_C)
#define REFUSAL_REASON_AT 34
#define REVOCATION_IDS_AT 22

static size_t error_cases(struct error_case *c)
{
    size_t k = 0;
    struct error_case *e;

    e = &c[k++];
    e->how = "the refusal vector without its last byte";
    e->decoder = OFFPAY_MSG_REFUSAL, e->want = OFFPAY_ERR_TRUNCATED;
    e->len = msg(OFFPAY_MSG_REFUSAL, e->in, sizeof e->in) - 1;

    e = &c[k++];
    e->how = "the refusal vector and one more byte 00";
    e->decoder = OFFPAY_MSG_REFUSAL, e->want = OFFPAY_ERR_TRAILING_BYTES;
    e->len = msg(OFFPAY_MSG_REFUSAL, e->in, sizeof e->in) + 1;
    e->in[e->len - 1] = 0;

    e = &c[k++];
    e->how = "the refusal vector with version 02";
    e->decoder = OFFPAY_MSG_REFUSAL, e->want = OFFPAY_ERR_BAD_VERSION;
    e->len = msg(OFFPAY_MSG_REFUSAL, e->in, sizeof e->in);
    e->in[0] = 2;

    e = &c[k++];
    e->how = "the refusal vector given to the confirmation decoder";
    e->decoder = OFFPAY_MSG_CONFIRMATION, e->want = OFFPAY_ERR_WRONG_TYPE;
    e->len = msg(OFFPAY_MSG_REFUSAL, e->in, sizeof e->in);

    e = &c[k++];
    e->how = "the refusal vector with version 02 and type 05, to the refusal decoder: version is checked first";
    e->decoder = OFFPAY_MSG_REFUSAL, e->want = OFFPAY_ERR_BAD_VERSION;
    e->len = msg(OFFPAY_MSG_REFUSAL, e->in, sizeof e->in);
    e->in[0] = 2, e->in[1] = 5;

    e = &c[k++];
    e->how = "the refusal vector with reason 00";
    e->decoder = OFFPAY_MSG_REFUSAL, e->want = OFFPAY_ERR_MALFORMED;
    e->len = msg(OFFPAY_MSG_REFUSAL, e->in, sizeof e->in);
    e->in[REFUSAL_REASON_AT] = 0;

    e = &c[k++];
    e->how = "the UTXO vector with amount 0";
    e->decoder = OFFPAY_MSG_UTXO, e->want = OFFPAY_ERR_ZERO_AMOUNT;
    e->len = msg(OFFPAY_MSG_UTXO, e->in, sizeof e->in);
    put_u64(e->in + UTXO_AMOUNT_AT, 0);

    e = &c[k++];
    e->how = "the record vector with payee amount 2^64-1 (change 500): the outputs overflow";
    e->decoder = OFFPAY_MSG_RECORD, e->want = OFFPAY_ERR_AMOUNT_OVERFLOW;
    e->len = msg(OFFPAY_MSG_RECORD, e->in, sizeof e->in);
    put_u64(e->in + REC_PAYEE_AMOUNT_AT, UINT64_MAX);

    e = &c[k++];
    e->how = "the record vector with 17 inputs announced (one follows): the count is checked before the inputs";
    e->decoder = OFFPAY_MSG_RECORD, e->want = OFFPAY_ERR_TOO_MANY_ITEMS;
    e->len = msg(OFFPAY_MSG_RECORD, e->in, sizeof e->in);
    e->in[REC_N_AT] = 17;

    e = &c[k++];
    e->how = "the certificate vector with account length 33 and nothing after it: the length is checked before "
             "the bytes it announces";
    e->decoder = OFFPAY_MSG_CERT, e->want = OFFPAY_ERR_BAD_ACCOUNT_NAME;
    msg(OFFPAY_MSG_CERT, e->in, sizeof e->in);
    e->in[CERT_LEN_AT] = 33;
    e->len = CERT_LEN_AT + 1;

    e = &c[k++];
    e->how = "the certificate vector with account \"Alice\" (upper case)";
    e->decoder = OFFPAY_MSG_CERT, e->want = OFFPAY_ERR_BAD_ACCOUNT_NAME;
    e->len = msg(OFFPAY_MSG_CERT, e->in, sizeof e->in);
    e->in[CERT_LEN_AT + 1] = 'A';

    e = &c[k++];
    e->how = "the revocation vector with its first two ids swapped";
    e->decoder = OFFPAY_MSG_REVOCATION, e->want = OFFPAY_ERR_NOT_CANONICAL;
    e->len = msg(OFFPAY_MSG_REVOCATION, e->in, sizeof e->in);
    {
        uint8_t t[OFFPAY_WALLET_ID_BYTES];
        memcpy(t, e->in + REVOCATION_IDS_AT, sizeof t);
        memcpy(e->in + REVOCATION_IDS_AT, e->in + REVOCATION_IDS_AT + sizeof t, sizeof t);
        memcpy(e->in + REVOCATION_IDS_AT + sizeof t, t, sizeof t);
    }

    e = &c[k++];
    e->how = "the limits vector in the long form with holding and offline time both 0 (the short form says that)";
    e->decoder = OFFPAY_MSG_LIMITS, e->want = OFFPAY_ERR_NOT_CANONICAL;
    {
        struct offpay_limits_policy lp = F.policy;
        lp.limits.holding = 1;
        e->len = offpay_limits_policy_encode(e->in, sizeof e->in, &lp);
        memset(e->in + OFFPAY_LIMITS_BYTES_SHORT - OFFPAY_SIGNATURE_BYTES, 0, 8 + 4);
    }

    /* Issue 16's money form: three capital letters, and not CNY/2 (the older forms say that). */
    e = &c[k++];
    e->how = "the limits vector in the money form (EUR, exponent 2) with the currency \"EuR\"";
    e->decoder = OFFPAY_MSG_LIMITS, e->want = OFFPAY_ERR_MALFORMED;
    {
        struct offpay_limits_policy lp = F.policy;
        struct offpay_money eur = {"EUR", 2};
        CHECK(offpay_limits_policy_money_set(&lp, &eur) == 0);
        e->len = offpay_limits_policy_encode(e->in, sizeof e->in, &lp);
        e->in[OFFPAY_LIMITS_BYTES_LONG - OFFPAY_SIGNATURE_BYTES + 1] = 'u';
    }
    e = &c[k++];
    e->how = "the limits vector in the money form saying CNY with exponent 2 (the short form says that)";
    e->decoder = OFFPAY_MSG_LIMITS, e->want = OFFPAY_ERR_NOT_CANONICAL;
    {
        struct offpay_limits_policy lp = F.policy;
        struct offpay_money eur = {"EUR", 2};
        CHECK(offpay_limits_policy_money_set(&lp, &eur) == 0);
        e->len = offpay_limits_policy_encode(e->in, sizeof e->in, &lp);
        memcpy(e->in + OFFPAY_LIMITS_BYTES_LONG - OFFPAY_SIGNATURE_BYTES, "CNY", 3);
    }

    /* The text form: the prefix must name the type byte it carries. */
    e = &c[k++];
    e->how = "the refusal's text form with the prefix OP1REC: (a record's), read as any type";
    e->decoder = 0, e->want = OFFPAY_ERR_WRONG_TYPE;
    {
        uint8_t bin[OFFPAY_REFUSAL_BYTES];
        size_t n = msg(OFFPAY_MSG_REFUSAL, bin, sizeof bin);
        CHECK(offpay_text_encode(e->text, sizeof e->text, bin, n) == OFFPAY_OK);
        memcpy(e->text, "OP1REC:", 7);
    }

    e = &c[k++];
    e->how = "the refusal's text form in lower case";
    e->decoder = 0, e->want = OFFPAY_ERR_BAD_TEXT;
    {
        uint8_t bin[OFFPAY_REFUSAL_BYTES];
        size_t n = msg(OFFPAY_MSG_REFUSAL, bin, sizeof bin);
        CHECK(offpay_text_encode(e->text, sizeof e->text, bin, n) == OFFPAY_OK);
        for (char *p = e->text + 7; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    }
    return k;
}

static enum offpay_status decode_case(const struct error_case *e)
{
    if (e->decoder == 0) {
        uint8_t bin[OFFPAY_RECORD_BYTES_MAX];
        size_t n;
        int type;
        return offpay_text_decode(bin, sizeof bin, &n, &type, 0, e->text, strlen(e->text));
    }
    uint8_t out[OFFPAY_RECORD_BYTES_MAX + 8];
    size_t n;
    return fx_codecs[e->decoder - 1].roundtrip(e->in, e->len, out, sizeof out, &n);
}

static void wire_section(FILE *f)
{
    static const char *const names[FX_N_CODECS] = {"cert (the payer alice's certificate)", "utxo (the payer's 4000 coin)",
                                                   "request (bob asks 3500)", "record (alice pays bob 3500)",
                                                   "confirmation (bob's)", "refusal (bob's, declined)",
                                                   "revocation (serial 7, three ids)", "limits (alice's policy)",
                                                   "stamp (alice synced a day before now)"};
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    struct offpay_utxo o;
    char text[2 * OFFPAY_RECORD_BYTES_MAX];

    hex_block(f, "issuer_pk", F.issuer_pk, sizeof F.issuer_pk);
    hex_block(f, "payer_pk (alice's key)", F.payer_pk, sizeof F.payer_pk);
    hex_block(f, "payee_pk (bob's key)", F.payee_pk, sizeof F.payee_pk);
    for (int t = 1; t <= FX_N_CODECS; t++) {
        hex_block(f, names[t - 1], buf, msg(t, buf, sizeof buf));
        if (t == OFFPAY_MSG_RECORD) {
            hex_block(f, "record_id", F.rec_id, sizeof F.rec_id);
            for (int i = 0; i < 2; i++) {
                CHECK(offpay_record_output(&o, &F.rec, F.rec_id, i) == OFFPAY_OK);
                hex_block(f, i == 0 ? "output0_id (bob's 3500)" : "output1_id (alice's change 500)", o.id, sizeof o.id);
            }
        }
        if (t == OFFPAY_MSG_REFUSAL) {
            CHECK(offpay_text_encode(text, sizeof text, buf, msg(t, buf, sizeof buf)) == OFFPAY_OK);
            text_block(f, "refusal_text (its text form; a file holds it and one \\n)", text);
        }
    }

    /* Issue 13's limits: the same policy with a holding limit and an
     * offline time limit is the long form. */
    struct offpay_limits_policy lp = F.policy;
    lp.limits.holding = 6000;
    lp.limits.offline_time = 604800;
    CHECK(offpay_limits_policy_sign(&lp, F.issuer_sk) == OFFPAY_OK);
    hex_block(f, "limits, long form (alice's policy with holding 6000 and offline time 604800)", buf,
              offpay_limits_policy_encode(buf, sizeof buf, &lp));
    /* Issue 16's money: the same in euros (exponent 2) is the money form;
     * so is the short form's policy in yen (exponent 0, limits not set). */
    struct offpay_money eur = {"EUR", 2}, jpy = {"JPY", 0};
    CHECK(offpay_limits_policy_money_set(&lp, &eur) == 0);
    CHECK(offpay_limits_policy_sign(&lp, F.issuer_sk) == OFFPAY_OK);
    hex_block(f, "limits, money form (the long form's policy in EUR, exponent 2)", buf,
              offpay_limits_policy_encode(buf, sizeof buf, &lp));
    lp = F.policy;
    CHECK(offpay_limits_policy_money_set(&lp, &jpy) == 0);
    CHECK(offpay_limits_policy_sign(&lp, F.issuer_sk) == OFFPAY_OK);
    hex_block(f, "limits, money form (alice's policy in JPY, exponent 0; holding and offline time not set)", buf,
              offpay_limits_policy_encode(buf, sizeof buf, &lp));

    /* Issue 13's proof: the record above carrying alice's sync stamp. */
    hex_block(f, "record with a sync stamp (type 10: the record above carrying alice's stamp)", buf,
              msg(OFFPAY_MSG_RECORD_STAMPED, buf, sizeof buf));

    struct error_case *c = calloc(32, sizeof *c);
    CHECK(c != NULL);
    size_t n = error_cases(c);
    fprintf(f, "### Decoder errors, one vector each\n\n");
    for (size_t i = 0; i < n; i++) {
        /* The decoder must answer what the document says. */
        CHECK_STATUS(decode_case(&c[i]), c[i].want);
        char title[300];
        snprintf(title, sizeof title, "`%s`: %s", offpay_status_code(c[i].want), c[i].how);
        if (c[i].decoder == 0)
            text_block(f, title, c[i].text);
        else
            hex_block(f, title, c[i].in, c[i].len);
    }
    free(c);
}

/* ---- the "http" section ---- */

static void http_section(FILE *f)
{
    const char *method = "POST", *path = "/v1/sync", *body = "{\"records\":[]}", *ts = "1767225600";
    const char *nonce = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
    uint8_t h[OFFPAY_HASH_BYTES], digest[OFFPAY_HASH_BYTES], sig[OFFPAY_SIGNATURE_BYTES];
    char hx[2 * OFFPAY_HASH_BYTES + 1], signed_str[512];
    char wid[2 * OFFPAY_WALLET_ID_BYTES + 1];

    offpay_hash(h, (const uint8_t *)body, strlen(body));
    offpay_hex(hx, h, sizeof h);
    int n = snprintf(signed_str, sizeof signed_str, "%s\n%s\n%s\n%s\n%s", method, path, hx, ts, nonce);
    CHECK(n > 0 && (size_t)n < sizeof signed_str);
    /* Spelled out with libsodium, not through offpay_sign: what an
     * implementer in another language computes. */
    crypto_generichash(digest, sizeof digest, (const unsigned char *)signed_str, (size_t)n,
                       (const unsigned char *)OFFPAY_HTTP_AUTH_TAG, strlen(OFFPAY_HTTP_AUTH_TAG));
    offpay_http_auth_sign(sig, F.payer_sk, method, path, (const uint8_t *)body, strlen(body), ts, nonce);
    /* The worked example is what the server checks. */
    CHECK(offpay_http_auth_verify(sig, F.payer_pk, method, path, (const uint8_t *)body, strlen(body), ts, nonce) == 0);
    CHECK(offpay_verify(sig, F.payer_pk, OFFPAY_HTTP_AUTH_TAG, (const uint8_t *)signed_str, (size_t)n) == 0);
    offpay_hex(wid, F.payer.wallet_id, sizeof F.payer.wallet_id);

    fprintf(f, "The payer of docs/wire-format.md's vectors (alice, secret key from the seed `40 41 … 5f`, wallet id "
               "`%s`) signs `%s %s` with the HTTP body `%s` (%zu bytes), timestamp %s and nonce `%s`.\n\n",
            wid, method, path, body, strlen(body), ts, nonce);
    hex_block(f, "BLAKE2b-256 of the HTTP body (unkeyed); its lowercase hex is line 3", h, sizeof h);
    fprintf(f, "The signed string, %d bytes of ASCII: five lines joined by `\\n` (0x0a), no `\\n` at the end:\n\n```\n%s\n```\n\n",
            n, signed_str);
    hex_block(f, "the same bytes in hex", (const uint8_t *)signed_str, (size_t)n);
    hex_block(f, "digest = BLAKE2b-256(key = \"offpay/v1/http\", message = the signed string)", digest, sizeof digest);
    hex_block(f, "X-Offpay-Signature = Ed25519 signature of the digest, in lowercase hex", sig, sizeof sig);
    fprintf(f, "The request then carries:\n\n```\nX-Offpay-Wallet: %s\nX-Offpay-Timestamp: %s\nX-Offpay-Nonce: %s\n"
               "X-Offpay-Signature: ",
            wid, ts, nonce);
    for (size_t i = 0; i < sizeof sig; i++)
        fprintf(f, "%02x", sig[i]);
    fprintf(f, "\n```\n\n");
}

/* ---- main ---- */

static char *section(const char *name, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    CHECK(f != NULL);
    if (strcmp(name, "wire") == 0)
        wire_section(f);
    else if (strcmp(name, "http") == 0)
        http_section(f);
    else {
        fprintf(stderr, "unknown section %s (wire, http)\n", name);
        exit(2);
    }
    CHECK(fclose(f) == 0);
    return buf;
}

/* Returns: the generated part of the document (malloc'd), or NULL. */
static char *doc_part(const char *path, const char *name)
{
    char begin[128], end[128], *doc = NULL;
    size_t cap = 0, len = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    for (size_t got; doc == NULL || !feof(f);) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 65536;
            char *p = realloc(doc, cap);
            CHECK(p != NULL);
            doc = p;
        }
        got = fread(doc + len, 1, 4096, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    doc[len] = '\0';
    snprintf(begin, sizeof begin, "<!-- BEGIN GENERATED: %s (tests/core/doc_vectors.c) -->\n", name);
    snprintf(end, sizeof end, "<!-- END GENERATED: %s -->", name);
    char *b = strstr(doc, begin), *e = b ? strstr(b, end) : NULL;
    if (b == NULL || e == NULL) {
        free(doc);
        return NULL;
    }
    b += strlen(begin);
    /* One blank line after the marker, as --print's output starts. */
    if (*b == '\n')
        b++;
    memmove(doc, b, (size_t)(e - b));
    doc[e - b] = '\0';
    return doc;
}

int main(int argc, char **argv)
{
    fx_init(&F, NULL);
    size_t len;
    if (argc == 3 && strcmp(argv[1], "--print") == 0) {
        char *s = section(argv[2], &len);
        fwrite(s, 1, len, stdout);
        free(s);
        return 0;
    }
    if (argc != 4 || strcmp(argv[1], "--check") != 0) {
        fprintf(stderr, "usage: doc_vectors --print wire|http | --check FILE wire|http\n");
        return 2;
    }
    char *want = section(argv[3], &len), *got = doc_part(argv[2], argv[3]);
    if (got == NULL) {
        fprintf(stderr, "%s: no generated section \"%s\" (or the file cannot be read)\n", argv[2], argv[3]);
        return 1;
    }
    if (strcmp(want, got) != 0) {
        size_t i = 0, line = 1;
        while (want[i] && want[i] == got[i])
            line += want[i++] == '\n';
        fprintf(stderr, "%s: the generated section \"%s\" differs from the code at its line %zu:\n"
                        "  document: %.80s\n  code:     %.80s\n(regenerate with: doc_vectors --print %s)\n",
                argv[2], argv[3], line, got + i - (i > 0 && got[i - 1] != '\n' ? 0 : 0), want + i, argv[3]);
        free(want);
        free(got);
        return 1;
    }
    printf("%s: section \"%s\" matches the code\n", argv[2], argv[3]);
    free(want);
    free(got);
    return 0;
}

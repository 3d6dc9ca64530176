/*
 * bench_handshake.c - what one offline payment costs, against its crypto.
 *
 * The handshake, as the wallets run it (all in memory, no I/O): the payee
 * builds and encodes a request; the payer decodes and verifies it, checks its
 * limits, selects coins, builds and encodes the record; the payee decodes and
 * verifies the record for its request and builds and encodes a confirmation;
 * the payer decodes and verifies it.  That needs 3 Ed25519 signatures and 7
 * verifications (payee certificate and request; payer certificate, record and
 * its one input's attestation; payee certificate and confirmation).
 *
 * The baseline runs exactly those 3 signs and 7 verifies with libsodium
 * directly, over byte strings of the same sizes as the signed bodies, in the
 * same run.  Times are the thread's CPU time; short rounds alternate between
 * the two and the fastest round of each counts, so a noisy neighbour (cache,
 * frequency) tilts the ratio as little as possible.
 *
 * It also prints each message's size, its text length and the QR version
 * (ECC level M) that carries the text.  The last line is machine-readable:
 *   record_bytes=N handshake_us=X crypto_us=Y ratio=X/Y
 */
#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"

#define ROUNDS 21

static struct fx F;

static double now_us(void)
{
    struct timespec ts;
    /* The thread's CPU time: pure computation, so time spent descheduled on
     * a busy machine (CI runs the suite twice, in parallel) does not count. */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *what, enum offpay_status s)
{
    fprintf(stderr, "offpay-bench-handshake: %s: %s\n", what, offpay_status_str(s));
    exit(1);
}

/* One complete handshake; returns the record's encoded size. */
static size_t handshake(void)
{
    static uint8_t req_bin[OFFPAY_REQUEST_BYTES_MAX], rec_bin[OFFPAY_RECORD_BYTES_MAX],
        conf_bin[OFFPAY_CONFIRMATION_BYTES_MAX];
    static struct offpay_request req, req_got;
    static struct offpay_record rec, rec_got;
    static struct offpay_confirmation conf, conf_got;
    static const struct offpay_limits lim = {.per_payment = 10000, .offline_total = 50000, .count = 10, .period = 86400};
    static const struct offpay_limits_usage used = {0, 0};
    uint8_t nonce[OFFPAY_NONCE_BYTES], id[OFFPAY_RECORD_ID_BYTES];
    struct offpay_coin view[4];
    struct offpay_utxo inputs[OFFPAY_RECORD_INPUTS_MAX];
    size_t chosen[OFFPAY_RECORD_INPUTS_MAX], n_chosen, n_req, n_rec, n_conf;
    enum offpay_status s;

    /* payee: request */
    memset(nonce, 0x5a, sizeof nonce);
    if ((s = offpay_request_build(&req, &F.payee, F.payee_sk, 3500, nonce)) != OFFPAY_OK)
        die("request", s);
    n_req = offpay_request_encode(req_bin, sizeof req_bin, &req);

    /* payer: verify the payee first ([0073]), limits, coins, record */
    if ((s = offpay_request_decode(&req_got, req_bin, n_req)) != OFFPAY_OK ||
        (s = offpay_request_verify(&req_got, F.issuer_pk, &F.revocation, FX_NOW)) != OFFPAY_OK)
        die("verify request", s);
    if ((s = offpay_limits_check(&lim, &used, req_got.amount)) != OFFPAY_OK)
        die("limits", s);
    for (int i = 0; i < 4; i++)
        view[i] = (struct offpay_coin){F.coins[i].amount, OFFPAY_COIN_SPENDABLE};
    if ((s = offpay_coins_select(chosen, &n_chosen, view, 4, req_got.amount)) != OFFPAY_OK)
        die("select", s);
    for (size_t i = 0; i < n_chosen; i++)
        inputs[i] = F.coins[chosen[i]];
    if ((s = offpay_record_build(&rec, &F.payer, F.payer_sk, &req_got, inputs, n_chosen, FX_NOW, 1)) != OFFPAY_OK)
        die("record", s);
    n_rec = offpay_record_encode(rec_bin, sizeof rec_bin, &rec);

    /* payee: verify the record for its request, confirm */
    if ((s = offpay_record_decode(&rec_got, rec_bin, n_rec)) != OFFPAY_OK ||
        (s = offpay_record_verify_for_request(&rec_got, &req, F.issuer_pk, &F.revocation, FX_NOW)) != OFFPAY_OK)
        die("verify record", s);
    offpay_record_id(id, &rec_got);
    if ((s = offpay_confirmation_build(&conf, id, &F.payee, F.payee_sk)) != OFFPAY_OK)
        die("confirmation", s);
    n_conf = offpay_confirmation_encode(conf_bin, sizeof conf_bin, &conf);

    /* payer: verify the confirmation */
    if ((s = offpay_confirmation_decode(&conf_got, conf_bin, n_conf)) != OFFPAY_OK ||
        (s = offpay_confirmation_verify(&conf_got, &rec, F.issuer_pk, &F.revocation, FX_NOW)) != OFFPAY_OK)
        die("verify confirmation", s);
    return n_rec;
}

/* The bare crypto of one handshake: 3 signs, 7 verifies, same sizes. */
struct bare {
    size_t len;
    const uint8_t *pk, *sk; /* sk NULL: verify */
    uint8_t msg[OFFPAY_RECORD_BYTES_MAX];
    uint8_t sig[64];
};
static struct bare bare[10];

static void bare_setup(void)
{
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    size_t cert_payee = offpay_cert_encode(buf, sizeof buf, &F.payee) - 64;
    size_t cert_payer = offpay_cert_encode(buf, sizeof buf, &F.payer) - 64;
    size_t req = offpay_request_encode(buf, sizeof buf, &F.req) - 64;
    size_t rec = offpay_record_encode(buf, sizeof buf, &F.rec) - 64;
    size_t utxo = offpay_utxo_encode(buf, sizeof buf, &F.coins[3]) - 64;
    size_t conf = offpay_confirmation_encode(buf, sizeof buf, &F.conf) - 64;
    const struct {
        size_t len;
        const uint8_t *pk, *sk;
        int sign;
    } plan[10] = {
        {req, F.payee_pk, F.payee_sk, 1},        /* payee signs the request */
        {cert_payee, F.issuer_pk, F.issuer_sk, 0}, /* payer verifies the payee certificate */
        {req, F.payee_pk, F.payee_sk, 0},        /* ... and the request */
        {rec, F.payer_pk, F.payer_sk, 1},        /* payer signs the record */
        {cert_payer, F.issuer_pk, F.issuer_sk, 0}, /* payee verifies the payer certificate */
        {rec, F.payer_pk, F.payer_sk, 0},        /* ... the record */
        {utxo, F.issuer_pk, F.issuer_sk, 0},     /* ... its input's attestation */
        {conf, F.payee_pk, F.payee_sk, 1},       /* payee signs the confirmation */
        {cert_payee, F.issuer_pk, F.issuer_sk, 0}, /* payer verifies the payee certificate */
        {conf, F.payee_pk, F.payee_sk, 0},       /* ... and the confirmation */
    };
    for (int i = 0; i < 10; i++) {
        bare[i].len = plan[i].len;
        bare[i].pk = plan[i].pk;
        bare[i].sk = plan[i].sign ? plan[i].sk : NULL;
        for (size_t k = 0; k < bare[i].len; k++)
            bare[i].msg[k] = (uint8_t)(k * 7 + i);
        crypto_sign_ed25519_detached(bare[i].sig, NULL, bare[i].msg, bare[i].len, plan[i].sk);
    }
}

static void bare_crypto(void)
{
    for (int i = 0; i < 10; i++) {
        if (bare[i].sk != NULL)
            crypto_sign_ed25519_detached(bare[i].sig, NULL, bare[i].msg, bare[i].len, bare[i].sk);
        else if (crypto_sign_ed25519_verify_detached(bare[i].sig, bare[i].msg, bare[i].len, bare[i].pk) != 0)
            die("bare verify", OFFPAY_ERR_BAD_SIGNATURE);
    }
}

static void show_size(const char *what, const uint8_t *bin, size_t n)
{
    static char text[8192];
    if (offpay_text_encode(text, sizeof text, bin, n) != OFFPAY_OK)
        die(what, OFFPAY_ERR_BUFFER_TOO_SMALL);
    /* casesensitive=1, hint 8-bit: libqrencode picks the modes itself, and
     * our text is all alphanumeric, so it is carried 5.5 bits a character. */
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    QRcode *qr8 = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    printf("%-22s %5zu bytes %5zu text chars  QR version %2d (M)  [byte mode: %2d]\n", what, n, strlen(text),
           qr ? qr->version : -1, qr8 ? qr8->version : -1);
    QRcode_free(qr);
    QRcode_free(qr8);
}

static void sizes(void)
{
    static struct fx G;
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    fx_init(&G, "abcdefghijklmnopqrstuvwxyz012345");
    printf("message sizes (binary, text form, QR version at ECC level M):\n");
    for (int t = 0; t < FX_N_CODECS; t++) {
        char what[64];
        snprintf(what, sizeof what, "%s%s", fx_codecs[t].name, t + 1 == OFFPAY_MSG_REVOCATION ? " (3 ids)" : "");
        show_size(what, buf, fx_encode(&F, fx_codecs[t].type, buf, sizeof buf));
    }
    show_size("record (32-char acct)", buf, offpay_record_encode(buf, sizeof buf, &G.rec));
    show_size("record with stamp", buf, offpay_record_encode(buf, sizeof buf, &F.rec_stamped));
    show_size("stamped (32-char acct)", buf, offpay_record_encode(buf, sizeof buf, &G.rec_stamped));
}

int main(int argc, char **argv)
{
    long iterations = 2000;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--iterations") == 0 || strcmp(argv[i], "-n") == 0) && i + 1 < argc) {
            iterations = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: offpay-bench-handshake [--iterations N]   (default 2000 handshakes)\n");
            return 0;
        } else {
            fprintf(stderr, "usage: offpay-bench-handshake [--iterations N]\n");
            return 2;
        }
    }
    if (iterations < 1)
        iterations = 1;
    fx_init(&F, NULL);
    bare_setup();
    sizes();

    /* Warm up both, then alternate rounds; keep each side's fastest round. */
    size_t record_bytes = handshake();
    bare_crypto();
    long per_round = iterations / ROUNDS > 0 ? iterations / ROUNDS : 1;
    double best_hs = 1e300, best_cr = 1e300;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = now_us();
        for (long i = 0; i < per_round; i++)
            handshake();
        double t1 = now_us();
        for (long i = 0; i < per_round; i++)
            bare_crypto();
        double t2 = now_us();
        if ((t1 - t0) / per_round < best_hs)
            best_hs = (t1 - t0) / per_round;
        if ((t2 - t1) / per_round < best_cr)
            best_cr = (t2 - t1) / per_round;
    }
    printf("\n%ld handshakes in %d rounds; fastest round per handshake (thread CPU time):\n", per_round * ROUNDS, ROUNDS);
    printf("  protocol (3 signs + 7 verifies + encoding, hashing, rules): %.1f us\n", best_hs);
    printf("  bare Ed25519 (3 signs + 7 verifies, same sizes):            %.1f us\n", best_cr);
    printf("record_bytes=%zu handshake_us=%.1f crypto_us=%.1f ratio=%.2f\n", record_bytes, best_hs, best_cr,
           best_hs / best_cr);
    return 0;
}

/*
 * test_qr.c - every offpay message through a QR code and back.
 *
 * Real messages are built and signed with the protocol core; each one's text
 * form is drawn as a QR code, written as a PNG, read back with zbar (our
 * scanner) and with the zbarimg program (an ordinary scanner), and the text
 * must come back identical and decode and verify as the original message.
 * The terminal drawing is parsed back into modules and scanned as well.
 * Hostile pictures (not a PNG, truncated, huge, blank, a foreign code, a code
 * holding a malformed message) are refused with the documented status.
 * Prints the QR version and level each message needs (docs/transport.md).
 */
#include <errno.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "offpay/protocol.h"
#include "offpay/qr.h"
#include "offpay/text.h"

static char dir[64];
static uint8_t issuer_pk[32], issuer_sk[64], payer_pk[32], payer_sk[64], payee_pk[32], payee_sk[64];
static struct offpay_cert payer, payee;
static uint64_t now;

static void path_in_dir(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", dir, name); }

static void make_cert(struct offpay_cert *c, const uint8_t pk[32], const char *account)
{
    memset(c, 0, sizeof *c);
    offpay_random(c->wallet_id, sizeof c->wallet_id);
    memcpy(c->public_key, pk, 32);
    c->not_before = now - 60;
    c->not_after = now + 365 * 86400;
    snprintf(c->account, sizeof c->account, "%s", account);
    CHECK(offpay_cert_issue(c, issuer_sk) == OFFPAY_OK);
}

static void make_coin(struct offpay_utxo *u, uint64_t amount)
{
    memset(u, 0, sizeof *u);
    offpay_random(u->id, sizeof u->id);
    memcpy(u->owner, payer_pk, 32);
    u->amount = amount;
    CHECK(offpay_utxo_attest(u, issuer_sk) == OFFPAY_OK);
}

/* A record spending n coins for a request of the sum minus 1 (so there is
 * change), carrying the payer's sync stamp as a wallet's records do. */
static void make_record(struct offpay_record *r, struct offpay_request *req, unsigned n)
{
    struct offpay_utxo in[OFFPAY_RECORD_INPUTS_MAX];
    struct offpay_stamp st;
    struct offpay_signer k;
    uint64_t sum = 0;
    for (unsigned i = 0; i < n; i++) {
        make_coin(&in[i], 1000000000000ull + i); /* large amounts: no shortcut in the encoding */
        sum += in[i].amount;
    }
    uint8_t nonce[OFFPAY_NONCE_BYTES];
    offpay_random(nonce, sizeof nonce);
    CHECK(offpay_request_build(req, &payee, payee_sk, sum - 1, nonce) == OFFPAY_OK);
    memcpy(st.wallet_id, payer.wallet_id, sizeof st.wallet_id);
    st.synced_at = now;
    CHECK(offpay_stamp_sign(&st, issuer_sk) == OFFPAY_OK);
    offpay_signer_from_key(&k, payer_sk);
    CHECK(offpay_record_build_stamped_with(r, &payer, &k, &st, req, in, n, now, 123456789) == OFFPAY_OK);
}

/* Run the zbarimg program on path; returns its first output line (static). */
static const char *zbarimg(const char *path)
{
    static char out[OFFPAY_QR_TEXT_MAX + 64];
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' --quiet --raw -Sdisable -Sqrcode.enable '%s' 2>/dev/null", ZBARIMG_PATH, path);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    size_t n = fread(out, 1, sizeof out - 1, p);
    pclose(p);
    out[n] = '\0';
    char *nl = strchr(out, '\n');
    if (nl)
        *nl = '\0';
    return out;
}

/* Decode text as the given binary again and check it verifies. */
static void check_decodes(const char *text, const uint8_t *bin, size_t bin_len)
{
    static uint8_t back[OFFPAY_QR_TEXT_MAX];
    size_t n;
    int type;
    CHECK_STATUS(offpay_text_decode(back, sizeof back, &n, &type, 0, text, strlen(text)), OFFPAY_OK);
    CHECK(n == bin_len && memcmp(back, bin, n) == 0);
    enum offpay_status s = OFFPAY_ERR_INTERNAL;
    switch (type) {
    case OFFPAY_MSG_CERT: {
        struct offpay_cert c;
        if ((s = offpay_cert_decode(&c, back, n)) == OFFPAY_OK)
            s = offpay_cert_verify(&c, issuer_pk, NULL, now);
        break;
    }
    case OFFPAY_MSG_UTXO: {
        struct offpay_utxo u;
        if ((s = offpay_utxo_decode(&u, back, n)) == OFFPAY_OK)
            s = offpay_utxo_verify(&u, issuer_pk);
        break;
    }
    case OFFPAY_MSG_REQUEST: {
        struct offpay_request q;
        if ((s = offpay_request_decode(&q, back, n)) == OFFPAY_OK)
            s = offpay_request_verify(&q, issuer_pk, NULL, now);
        break;
    }
    case OFFPAY_MSG_RECORD: {
        static struct offpay_record r;
        if ((s = offpay_record_decode(&r, back, n)) == OFFPAY_OK)
            s = offpay_record_verify(&r, issuer_pk, NULL, now, 0);
        break;
    }
    case OFFPAY_MSG_CONFIRMATION: {
        struct offpay_confirmation c;
        s = offpay_confirmation_decode(&c, back, n); /* verified against its record by the caller */
        break;
    }
    case OFFPAY_MSG_REFUSAL: {
        struct offpay_refusal f;
        s = offpay_refusal_decode(&f, back, n);
        break;
    }
    case OFFPAY_MSG_REVOCATION: {
        struct offpay_revocation v;
        if ((s = offpay_revocation_decode(&v, back, n)) == OFFPAY_OK)
            s = offpay_revocation_verify(&v, issuer_pk);
        break;
    }
    case OFFPAY_MSG_LIMITS: {
        struct offpay_limits_policy l;
        if ((s = offpay_limits_policy_decode(&l, back, n)) == OFFPAY_OK)
            s = offpay_limits_policy_verify(&l, issuer_pk);
        break;
    }
    case OFFPAY_MSG_STAMP: {
        struct offpay_stamp st;
        if ((s = offpay_stamp_decode(&st, back, n)) == OFFPAY_OK)
            s = offpay_stamp_verify(&st, issuer_pk);
        break;
    }
    }
    CHECK_STATUS(s, OFFPAY_OK);
}

/* The whole path for one message: text -> QR -> PNG -> zbar and zbarimg. */
static void through_png(const char *what, const uint8_t *bin, size_t bin_len, unsigned scale, char want_level)
{
    static char text[OFFPAY_QR_TEXT_MAX + 1], got[OFFPAY_QR_TEXT_MAX + 1];
    char png[128];
    CHECK(bin_len > 0);
    CHECK_STATUS(offpay_text_encode(text, sizeof text, bin, bin_len), OFFPAY_OK);
    struct offpay_qr q;
    CHECK_STATUS(offpay_qr_encode(&q, text), OFFPAY_OK);
    CHECK(q.level == want_level);
    CHECK(q.width == 17 + 4 * q.version);
    printf("  %-34s %5zu bytes %5zu chars  version %2d level %c  %3dx%-3d modules\n", what, bin_len, strlen(text),
           q.version, q.level, q.width, q.width);
    path_in_dir(png, sizeof png, "code.png");
    CHECK_STATUS(offpay_qr_write_png(png, &q, scale), OFFPAY_OK);
    offpay_qr_free(&q);

    /* A picture for people: its mode is what the umask gives any new file
     * (not the 0600 of a temporary file), and no temporary file is left. */
    struct stat st;
    CHECK(stat(png, &st) == 0 && st.st_size > 0);
    CHECK((st.st_mode & 0777) == (0666 & ~(mode_t)022));

    size_t n = 0;
    CHECK_STATUS(offpay_qr_png_scan(got, sizeof got, &n, png), OFFPAY_OK);
    CHECK(n == strlen(text) && strcmp(got, text) == 0);
    check_decodes(got, bin, bin_len);
    const char *z = zbarimg(png);
    if (strcmp(z, text) != 0)
        CHECK_FAIL("zbarimg read \"%.40s...\" from the %s code", z, what);
    /* Too small a buffer is refused, not truncated. */
    CHECK_STATUS(offpay_qr_png_scan(got, strlen(text), &n, png), OFFPAY_ERR_BUFFER_TOO_SMALL);
    unlink(png);
}

static void test_every_message(void)
{
    static uint8_t bin[OFFPAY_REVOCATION_BYTES(200)];
    size_t n;
    printf("QR code per message (ECC level M unless it does not fit; scale %d px):\n", OFFPAY_QR_PNG_SCALE);

    n = offpay_cert_encode(bin, sizeof bin, &payee);
    through_png("certificate (32-char account)", bin, n, 0, 'M');

    struct offpay_utxo u;
    make_coin(&u, 4000);
    n = offpay_utxo_encode(bin, sizeof bin, &u);
    through_png("utxo", bin, n, 0, 'M');

    static struct offpay_record r;
    struct offpay_request req;
    make_record(&r, &req, 1);
    n = offpay_request_encode(bin, sizeof bin, &req);
    through_png("request (32-char account)", bin, n, 0, 'M');
    CHECK(n == OFFPAY_REQUEST_BYTES_MAX);

    static const struct {
        unsigned inputs;
        char level;
    } recs[] = {{1, 'M'}, {2, 'M'}, {4, 'M'}, {8, 'M'}, {12, 'M'}, {13, 'L'}, {16, 'L'}};
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
        char what[64];
        make_record(&r, &req, recs[i].inputs);
        n = offpay_record_encode(bin, sizeof bin, &r);
        snprintf(what, sizeof what, "record, %u input%s", recs[i].inputs, recs[i].inputs == 1 ? "" : "s");
        through_png(what, bin, n, 0, recs[i].level);
        if (recs[i].inputs == OFFPAY_RECORD_INPUTS_MAX)
            CHECK(n == OFFPAY_RECORD_BYTES_MAX);
    }
    /* The largest record at the smallest scale a printer or screen might use. */
    through_png("record, 16 inputs, 4 px/module", bin, n, 4, 'L');

    make_record(&r, &req, 1);
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    offpay_record_id(id, &r);
    struct offpay_confirmation c;
    CHECK(offpay_confirmation_build(&c, id, &payee, payee_sk) == OFFPAY_OK);
    n = offpay_confirmation_encode(bin, sizeof bin, &c);
    through_png("confirmation (32-char account)", bin, n, 0, 'M');
    CHECK(n == OFFPAY_CONFIRMATION_BYTES_MAX);
    /* and the scanned confirmation confirms this record */
    {
        static char text[OFFPAY_QR_TEXT_MAX + 1], got[OFFPAY_QR_TEXT_MAX + 1];
        char png[128];
        size_t gl, bl;
        int type;
        uint8_t back[OFFPAY_CONFIRMATION_BYTES_MAX];
        struct offpay_confirmation c2;
        path_in_dir(png, sizeof png, "conf.png");
        CHECK(offpay_text_encode(text, sizeof text, bin, n) == OFFPAY_OK);
        CHECK_STATUS(offpay_qr_text_to_png(png, text, 0), OFFPAY_OK);
        CHECK_STATUS(offpay_qr_png_scan(got, sizeof got, &gl, png), OFFPAY_OK);
        CHECK_STATUS(offpay_text_decode(back, sizeof back, &bl, &type, OFFPAY_MSG_CONFIRMATION, got, gl), OFFPAY_OK);
        CHECK_STATUS(offpay_confirmation_decode(&c2, back, bl), OFFPAY_OK);
        CHECK_STATUS(offpay_confirmation_verify(&c2, &r, issuer_pk, NULL, now), OFFPAY_OK);
        unlink(png);
    }

    struct offpay_refusal f;
    CHECK(offpay_refusal_build(&f, id, OFFPAY_REFUSE_WRONG_AMOUNT, payee_sk) == OFFPAY_OK);
    n = offpay_refusal_encode(bin, sizeof bin, &f);
    through_png("refusal", bin, n, 0, 'M');
    CHECK(n == OFFPAY_REFUSAL_BYTES);

    struct offpay_limits_policy lp = {.limits = {.per_payment = 10000, .offline_total = 50000, .count = 10, .period = 86400},
                                      .issued_at = now};
    memcpy(lp.wallet_id, payer.wallet_id, sizeof lp.wallet_id);
    CHECK(offpay_limits_policy_sign(&lp, issuer_sk) == OFFPAY_OK);
    n = offpay_limits_policy_encode(bin, sizeof bin, &lp);
    through_png("limits", bin, n, 0, 'M');

    struct offpay_stamp stp = {.synced_at = now};
    memcpy(stp.wallet_id, payer.wallet_id, sizeof stp.wallet_id);
    CHECK(offpay_stamp_sign(&stp, issuer_sk) == OFFPAY_OK);
    n = offpay_stamp_encode(bin, sizeof bin, &stp);
    CHECK(n == OFFPAY_STAMP_BYTES);
    through_png("sync stamp", bin, n, 0, 'M');

    /* Revocation lists travel over HTTP, not by QR; a short one still fits. */
    static uint8_t ids[150 * OFFPAY_WALLET_ID_BYTES];
    for (unsigned i = 0; i < 150; i++) {
        memset(ids + i * OFFPAY_WALLET_ID_BYTES, 0, OFFPAY_WALLET_ID_BYTES);
        ids[i * OFFPAY_WALLET_ID_BYTES] = (uint8_t)(i + 1); /* strictly ascending */
    }
    static const unsigned counts[] = {0, 100, 150};
    for (size_t k = 0; k < 3; k++) {
        unsigned count = counts[k];
        struct offpay_revocation v = {.serial = 7, .issued_at = now, .count = count, .ids = ids};
        CHECK(offpay_revocation_sign(&v, issuer_sk) == OFFPAY_OK);
        n = offpay_revocation_encode(bin, sizeof bin, &v);
        char what[64];
        snprintf(what, sizeof what, "revocation list, %u ids", count);
        through_png(what, bin, n, 0, count > 126 ? 'L' : 'M');
    }
}

/* Parse the terminal drawing back into modules (with quiet zone). */
static int parse_terminal(uint8_t *m, int side, const char *s, int ansi, int invert)
{
    int y = 0;
    while (*s) {
        if (y >= side)
            return -1;
        if (ansi) {
            if (strncmp(s, "\x1b[30;107m", 9) != 0)
                return -1;
            s += 9;
        }
        for (int x = 0; x < side; x++) {
            int top, bottom;
            if (*s == ' ') {
                top = bottom = 0;
                s++;
            } else if (strncmp(s, "\xe2\x96\x80", 3) == 0) {
                top = 1, bottom = 0;
                s += 3;
            } else if (strncmp(s, "\xe2\x96\x84", 3) == 0) {
                top = 0, bottom = 1;
                s += 3;
            } else if (strncmp(s, "\xe2\x96\x88", 3) == 0) {
                top = bottom = 1;
                s += 3;
            } else {
                return -1;
            }
            m[y * side + x] = (uint8_t)(top ^ invert);
            if (y + 1 < side)
                m[(y + 1) * side + x] = (uint8_t)(bottom ^ invert);
            else if ((bottom ^ invert) != 0)
                return -1; /* the half row below the code must be light */
        }
        if (ansi) {
            if (strncmp(s, "\x1b[0m", 4) != 0)
                return -1;
            s += 4;
        }
        if (*s++ != '\n')
            return -1;
        y += 2;
    }
    return y >= side ? 0 : -1;
}

static void test_terminal(void)
{
    static uint8_t bin[OFFPAY_RECORD_BYTES_MAX];
    static char text[OFFPAY_QR_TEXT_MAX + 1];
    static struct offpay_record r;
    struct offpay_request req;
    make_record(&r, &req, 1);
    size_t n = offpay_record_encode(bin, sizeof bin, &r);
    CHECK(offpay_text_encode(text, sizeof text, bin, n) == OFFPAY_OK);
    struct offpay_qr q;
    CHECK(offpay_qr_encode(&q, text) == OFFPAY_OK);
    int side = q.width + 2 * OFFPAY_QR_QUIET_ZONE;
    const unsigned flag_sets[] = {0, OFFPAY_QR_ANSI, OFFPAY_QR_INVERT};
    for (size_t k = 0; k < 3; k++) {
        char *out = NULL;
        size_t out_len = 0;
        FILE *f = open_memstream(&out, &out_len);
        CHECK(f != NULL);
        CHECK_STATUS(offpay_qr_print(f, &q, flag_sets[k]), OFFPAY_OK);
        fclose(f);
        uint8_t *m = calloc((size_t)side * side, 1);
        CHECK(m != NULL);
        int ansi = (flag_sets[k] & OFFPAY_QR_ANSI) != 0, invert = (flag_sets[k] & OFFPAY_QR_INVERT) != 0;
        CHECK(parse_terminal(m, side, out, ansi, invert) == 0);
        /* quiet zone light, code identical */
        int same = 1;
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                int qx = x - OFFPAY_QR_QUIET_ZONE, qy = y - OFFPAY_QR_QUIET_ZONE;
                int want = (qx >= 0 && qy >= 0 && qx < q.width && qy < q.width) ? q.modules[qy * q.width + qx] : 0;
                if (m[y * side + x] != want)
                    same = 0;
            }
        CHECK(same);
        /* What the terminal shows scans: draw it back as a picture. */
        struct offpay_qr back = {.version = q.version, .level = q.level, .width = q.width, .modules = malloc((size_t)q.width * q.width)};
        CHECK(back.modules != NULL);
        for (int y = 0; y < q.width; y++)
            for (int x = 0; x < q.width; x++)
                back.modules[y * q.width + x] = m[(y + OFFPAY_QR_QUIET_ZONE) * side + x + OFFPAY_QR_QUIET_ZONE];
        char png[128];
        static char got[OFFPAY_QR_TEXT_MAX + 1];
        size_t gl;
        path_in_dir(png, sizeof png, "terminal.png");
        CHECK_STATUS(offpay_qr_write_png(png, &back, 0), OFFPAY_OK);
        CHECK_STATUS(offpay_qr_png_scan(got, sizeof got, &gl, png), OFFPAY_OK);
        CHECK(strcmp(got, text) == 0);
        unlink(png);
        offpay_qr_free(&back);
        free(m);
        free(out);
    }
    /* a stream that cannot be written */
    FILE *ro = fopen("/dev/null", "r");
    CHECK(ro != NULL);
    CHECK_STATUS(offpay_qr_print(ro, &q, 0), OFFPAY_ERR_STORAGE);
    fclose(ro);
    offpay_qr_free(&q);
    /* one-step helper */
    FILE *devnull = fopen("/dev/null", "w");
    CHECK(devnull != NULL);
    CHECK_STATUS(offpay_qr_text_print(devnull, text, OFFPAY_QR_ANSI), OFFPAY_OK);
    fclose(devnull);
}

/* Write a w x h picture with libpng's simple API (format PNG_FORMAT_*). */
static void write_raw_png(const char *path, unsigned w, unsigned h, uint32_t format, const uint8_t *pix)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = w;
    img.height = h;
    img.format = format;
    CHECK(png_image_write_to_file(&img, path, 0, pix, 0, NULL));
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    static uint8_t buf[1 << 20];
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL && fwrite(p, 1, n, f) == n);
    fclose(f);
}

static void test_hostile_pictures(void)
{
    static char got[OFFPAY_QR_TEXT_MAX + 1];
    static uint8_t bin[OFFPAY_RECORD_BYTES_MAX];
    static char text[OFFPAY_QR_TEXT_MAX + 1];
    char png[128], other[128];
    size_t gl = 99;
    path_in_dir(png, sizeof png, "hostile.png");
    path_in_dir(other, sizeof other, "other.png");

    CHECK_STATUS(offpay_qr_png_scan(got, sizeof got, &gl, "/nonexistent/x.png"), OFFPAY_ERR_STORAGE);
    CHECK(gl == 0 && got[0] == '\0');
    write_file(png, (const uint8_t *)"OP1REC:AAAA\n", 12);
    CHECK_STATUS(offpay_qr_png_scan(got, sizeof got, &gl, png), OFFPAY_ERR_MALFORMED);
    write_file(png, (const uint8_t *)"", 0);
    CHECK_STATUS(offpay_qr_png_scan(got, sizeof got, &gl, png), OFFPAY_ERR_MALFORMED);

    /* a good code, then its file cut in half */
    static struct offpay_record r;
    struct offpay_request req;
    make_record(&r, &req, 2);
    size_t n = offpay_record_encode(bin, sizeof bin, &r);
    CHECK(offpay_text_encode(text, sizeof text, bin, n) == OFFPAY_OK);
    CHECK_STATUS(offpay_qr_text_to_png(other, text, 0), OFFPAY_OK);
    size_t fl;
    uint8_t *file = read_file(other, &fl);
    CHECK(fl > 100);
    write_file(png, file, fl / 2);
    CHECK_STATUS(offpay_qr_png_scan(got, sizeof got, &gl, png), OFFPAY_ERR_MALFORMED);

    /* a header claiming 100000 x 100000 pixels (CRC fixed, so only our bound stops it) */
    static uint8_t patched[1 << 20];
    memcpy(patched, file, fl);
    CHECK(memcmp(patched + 12, "IHDR", 4) == 0);
    const uint8_t big[8] = {0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0};
    memcpy(patched + 16, big, 8);
    uLong crc = crc32(0L, patched + 12, 17);
    patched[29] = (uint8_t)(crc >> 24);
    patched[30] = (uint8_t)(crc >> 16);
    patched[31] = (uint8_t)(crc >> 8);
    patched[32] = (uint8_t)crc;
    write_file(png, patched, fl);
    CHECK_STATUS(offpay_qr_png_scan(got, sizeof got, &gl, png), OFFPAY_ERR_MALFORMED);

    /* a valid picture just over the side bound */
    static uint8_t row[OFFPAY_QR_IMAGE_SIDE_MAX + 1];
    memset(row, 255, sizeof row);
    write_raw_png(png, OFFPAY_QR_IMAGE_SIDE_MAX + 1, 1, PNG_FORMAT_GRAY, row);
    CHECK_STATUS(offpay_qr_png_scan(got, sizeof got, &gl, png), OFFPAY_ERR_MALFORMED);

    /* blank */
    static uint8_t white[200 * 200];
    memset(white, 255, sizeof white);
    write_raw_png(png, 200, 200, PNG_FORMAT_GRAY, white);
    CHECK_STATUS(offpay_qr_png_scan(got, sizeof got, &gl, png), OFFPAY_ERR_NO_CODE);

    /* codes that are not offpay messages: foreign text, a bad prefix, a
     * well-formed prefix over garbage, a message cut short by one byte */
    static char cut[OFFPAY_QR_TEXT_MAX + 1];
    CHECK(offpay_text_encode(cut, sizeof cut, bin, n - 1) == OFFPAY_OK);
    const char *foreign[] = {"HELLO WORLD", "https://example.org/pay?x=1", "OP1XYZ:AEBA", "OP1REC:AAAA", cut};
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        CHECK_STATUS(offpay_qr_text_to_png(png, foreign[i], 0), OFFPAY_OK);
        CHECK(strcmp(zbarimg(png), foreign[i]) == 0); /* the code itself is fine */
        CHECK_STATUS(offpay_qr_png_scan(got, sizeof got, &gl, png), OFFPAY_ERR_NO_CODE);
        CHECK(gl == 0);
    }

    /* a foreign code next to an offpay code: the offpay one is found */
    struct offpay_qr a, b;
    CHECK(offpay_qr_encode(&a, "HELLO WORLD") == OFFPAY_OK);
    CHECK(offpay_qr_encode(&b, text) == OFFPAY_OK);
    const unsigned s = 4, qz = OFFPAY_QR_QUIET_ZONE;
    unsigned wa = (unsigned)a.width + 2 * qz, wb = (unsigned)b.width + 2 * qz;
    unsigned w = (wa + wb) * s, h = (wa > wb ? wa : wb) * s;
    uint8_t *pix = malloc((size_t)w * h);
    CHECK(pix != NULL);
    memset(pix, 255, (size_t)w * h);
    for (unsigned y = 0; y < h; y++)
        for (unsigned x = 0; x < w; x++) {
            unsigned mx = x / s, my = y / s;
            const struct offpay_qr *q = mx < wa ? &a : &b;
            int cx = (int)(mx < wa ? mx : mx - wa) - (int)qz, cy = (int)my - (int)qz;
            if (cx >= 0 && cy >= 0 && cx < q->width && cy < q->width && q->modules[cy * q->width + cx])
                pix[(size_t)y * w + x] = 0;
        }
    write_raw_png(png, w, h, PNG_FORMAT_GRAY, pix);
    CHECK_STATUS(offpay_qr_png_scan(got, sizeof got, &gl, png), OFFPAY_OK);
    CHECK(strcmp(got, text) == 0);
    free(pix);

    /* black modules on a transparent background (RGBA): read as if on white */
    unsigned side = wb * s;
    pix = malloc((size_t)side * side * 4);
    CHECK(pix != NULL);
    for (unsigned y = 0; y < side; y++)
        for (unsigned x = 0; x < side; x++) {
            int cx = (int)(x / s) - (int)qz, cy = (int)(y / s) - (int)qz;
            int d = cx >= 0 && cy >= 0 && cx < b.width && cy < b.width && b.modules[cy * b.width + cx];
            uint8_t *p = pix + ((size_t)y * side + x) * 4;
            p[0] = p[1] = p[2] = 0;
            p[3] = d ? 255 : 0;
        }
    write_raw_png(png, side, side, PNG_FORMAT_RGBA, pix);
    CHECK_STATUS(offpay_qr_png_scan(got, sizeof got, &gl, png), OFFPAY_OK);
    CHECK(strcmp(got, text) == 0);
    free(pix);
    offpay_qr_free(&a);
    offpay_qr_free(&b);

    /* encoding limits and bad arguments */
    struct offpay_qr q;
    CHECK_STATUS(offpay_qr_encode(&q, ""), OFFPAY_ERR_USAGE);
    static char huge[OFFPAY_QR_TEXT_MAX + 2];
    memset(huge, 'A', OFFPAY_QR_TEXT_MAX + 1);
    CHECK_STATUS(offpay_qr_encode(&q, huge), OFFPAY_ERR_TOO_MANY_ITEMS);
    huge[OFFPAY_QR_TEXT_MAX] = '\0';
    CHECK_STATUS(offpay_qr_encode(&q, huge), OFFPAY_OK); /* exactly the most one code holds */
    CHECK(q.version == 40 && q.level == 'L');
    offpay_qr_free(&q);
    memset(huge, 'a', OFFPAY_QR_TEXT_MAX); /* lower case is byte mode: too long */
    CHECK_STATUS(offpay_qr_encode(&q, huge), OFFPAY_ERR_TOO_MANY_ITEMS);
    CHECK(offpay_qr_encode(&q, text) == OFFPAY_OK);
    CHECK_STATUS(offpay_qr_write_png(png, &q, OFFPAY_QR_PNG_SCALE_MAX + 1), OFFPAY_ERR_USAGE);
    CHECK_STATUS(offpay_qr_write_png("/nonexistent/dir/x.png", &q, 0), OFFPAY_ERR_STORAGE);
    offpay_qr_free(&q);
    offpay_qr_free(&q); /* twice is harmless */
    unlink(png);
    unlink(other);
}

int main(void)
{
    CHECK(offpay_crypto_init() == 0);
    umask(022);
    snprintf(dir, sizeof dir, "/tmp/offpay-qr-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    now = (uint64_t)time(NULL);
    offpay_keypair(issuer_pk, issuer_sk);
    offpay_keypair(payer_pk, payer_sk);
    offpay_keypair(payee_pk, payee_sk);
    /* The longest account names make the largest messages. */
    make_cert(&payer, payer_pk, "payer.with-a-long-name_012345678");
    make_cert(&payee, payee_pk, "payee.with-a-long-name_012345678");
    CHECK(strlen(payer.account) == OFFPAY_ACCOUNT_MAX);

    test_every_message();
    test_terminal();
    test_hostile_pictures();

    offpay_wipe(issuer_sk, sizeof issuer_sk);
    offpay_wipe(payer_sk, sizeof payer_sk);
    offpay_wipe(payee_sk, sizeof payee_sk);
    CHECK(rmdir(dir) == 0); /* empty: no temporary picture left behind */
    return 0;
}

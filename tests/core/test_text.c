/*
 * test_text.c - the single-line text form "OP1xxx:" + unpadded upper-case
 * base32.  Every message type round-trips; the decoder is canonical (one
 * binary, one text: no lower case, no padding, no stray bits, no impossible
 * lengths) and refuses a wrong or unknown prefix.
 */
#include <stdio.h>

#include "check.h"
#include "fixture.h"

static struct fx F;

static const char *const want_prefix[FX_N_CODECS] = {"OP1CRT:", "OP1UTX:", "OP1REQ:", "OP1REC:",
                                                     "OP1CNF:", "OP1REF:", "OP1RVL:", "OP1LIM:",
                                                     "OP1STP:"};

static enum offpay_status dec(const char *text, int want_type, uint8_t *bin, size_t cap, size_t *len)
{
    int type;
    return offpay_text_decode(bin, cap, len, &type, want_type, text, strlen(text));
}

static void test_roundtrip_every_type(void)
{
    uint8_t bin[OFFPAY_RECORD_BYTES_MAX], back[OFFPAY_RECORD_BYTES_MAX];
    char text[1024];
    for (int t = 0; t < FX_N_CODECS; t++) {
        int type = fx_codecs[t].type, got_type = -1;
        size_t n = fx_encode(&F, type, bin, sizeof bin), m = 99;
        CHECK(strcmp(offpay_text_prefix(type), want_prefix[t]) == 0);
        CHECK_STATUS(offpay_text_encode(text, sizeof text, bin, n), OFFPAY_OK);
        CHECK_U64(strlen(text), offpay_text_len(n));
        CHECK(strncmp(text, want_prefix[t], OFFPAY_TEXT_PREFIX_BYTES) == 0);
        /* Every character is in the QR alphanumeric set. */
        for (const char *p = text; *p; p++)
            CHECK(strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", *p) != NULL);

        CHECK_STATUS(offpay_text_decode(back, sizeof back, &m, &got_type, 0, text, strlen(text)), OFFPAY_OK);
        CHECK_U64(m, n);
        CHECK(got_type == type);
        CHECK_MEM(back, bin, n);
        CHECK_STATUS(dec(text, type, back, sizeof back, &m), OFFPAY_OK);
        CHECK_STATUS(dec(text, type == 1 ? 2 : 1, back, sizeof back, &m), OFFPAY_ERR_WRONG_TYPE);
        CHECK_U64(m, 0);

        /* Exactly enough room, and one byte less. */
        CHECK_STATUS(offpay_text_encode(text, strlen(text) + 1, bin, n), OFFPAY_OK);
        CHECK_STATUS(offpay_text_encode(text, strlen(text), bin, n), OFFPAY_ERR_BUFFER_TOO_SMALL);
        CHECK_STATUS(offpay_text_encode(text, sizeof text, bin, n), OFFPAY_OK);
        CHECK_STATUS(dec(text, 0, back, n, &m), OFFPAY_OK);
        CHECK_STATUS(dec(text, 0, back, n - 1, &m), OFFPAY_ERR_BUFFER_TOO_SMALL);
    }
    /* A record with a sync stamp (type 10) is written and read as a record. */
    {
        uint8_t bin[OFFPAY_RECORD_BYTES_MAX], back[OFFPAY_RECORD_BYTES_MAX];
        char text[OFFPAY_TEXT_MAX + 1];
        size_t n = fx_encode(&F, OFFPAY_MSG_RECORD_STAMPED, bin, sizeof bin), m;
        CHECK_STATUS(offpay_text_encode(text, sizeof text, bin, n), OFFPAY_OK);
        CHECK(strncmp(text, "OP1REC:", OFFPAY_TEXT_PREFIX_BYTES) == 0);
        CHECK_STATUS(dec(text, OFFPAY_MSG_RECORD, back, sizeof back, &m), OFFPAY_OK);
        CHECK_U64(m, n);
        CHECK_MEM(back, bin, n);
        CHECK_STATUS(dec(text, OFFPAY_MSG_STAMP, back, sizeof back, &m), OFFPAY_ERR_WRONG_TYPE);
    }
    CHECK(offpay_text_prefix(0) == NULL);
    CHECK(offpay_text_prefix(OFFPAY_MSG_RECORD_STAMPED) == NULL); /* a record: OP1REC: */
    CHECK(offpay_text_prefix(11) == NULL);
    CHECK(offpay_text_prefix(-1) == NULL);
}

/* Base32 of every length and bit pattern: pseudo-random bytes (a fixed LCG)
 * behind a record header, lengths 2..300, so every tail length is covered. */
static void test_roundtrip_lengths(void)
{
    uint8_t bin[300], back[300];
    char text[600];
    uint32_t x = 12345;
    for (size_t n = 2; n <= sizeof bin; n++) {
        bin[0] = OFFPAY_WIRE_VERSION;
        bin[1] = OFFPAY_MSG_RECORD;
        for (size_t i = 2; i < n; i++) {
            x = x * 1103515245u + 12345u;
            bin[i] = (uint8_t)(x >> 16);
        }
        size_t m;
        CHECK_STATUS(offpay_text_encode(text, sizeof text, bin, n), OFFPAY_OK);
        CHECK_U64(strlen(text), offpay_text_len(n));
        CHECK_STATUS(dec(text, OFFPAY_MSG_RECORD, back, sizeof back, &m), OFFPAY_OK);
        CHECK_U64(m, n);
        CHECK_MEM(back, bin, n);
    }
    /* All ones and all zeros. */
    memset(bin + 2, 0xff, sizeof bin - 2);
    size_t m;
    CHECK_STATUS(offpay_text_encode(text, sizeof text, bin, sizeof bin), OFFPAY_OK);
    CHECK_STATUS(dec(text, 0, back, sizeof back, &m), OFFPAY_OK);
    CHECK_MEM(back, bin, sizeof bin);
}

/* RFC 4648 base32 of "", "f", ... "foobar", each behind a record header (01 04),
 * as Python's base64.b32encode gives them, padding removed. */
static void test_known_base32(void)
{
    static const struct {
        const char *bytes, *b32;
    } v[] = {{"", "AECA"},         {"f", "AECGM"},         {"fo", "AECGM3Y"},         {"foo", "AECGM33P"},
             {"foob", "AECGM33PMI"}, {"fooba", "AECGM33PMJQQ"}, {"foobar", "AECGM33PMJQXE"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t bin[16] = {1, 4};
        char text[64], want[64];
        size_t n = 2 + strlen(v[i].bytes);
        memcpy(bin + 2, v[i].bytes, n - 2);
        snprintf(want, sizeof want, "OP1REC:%s", v[i].b32);
        CHECK_STATUS(offpay_text_encode(text, sizeof text, bin, n), OFFPAY_OK);
        if (strcmp(text, want) != 0)
            CHECK_FAIL("base32 of %s: got %s, want %s", v[i].bytes, text, want);
    }
}

static void test_strict(void)
{
    uint8_t bin[OFFPAY_RECORD_BYTES_MAX], back[OFFPAY_RECORD_BYTES_MAX];
    char text[1024], bad[1100];
    size_t n = fx_encode(&F, OFFPAY_MSG_RECORD, bin, sizeof bin), m, len;
    CHECK_STATUS(offpay_text_encode(text, sizeof text, bin, n), OFFPAY_OK);
    len = strlen(text);

    /* One trailing newline, LF or CRLF, is what files hold. */
    snprintf(bad, sizeof bad, "%s\n", text);
    CHECK_STATUS(dec(bad, 0, back, sizeof back, &m), OFFPAY_OK);
    CHECK_MEM(back, bin, n);
    snprintf(bad, sizeof bad, "%s\r\n", text);
    CHECK_STATUS(dec(bad, 0, back, sizeof back, &m), OFFPAY_OK);
    /* Nothing else trails: a lone CR, two newlines, spaces, padding. */
    static const char *const tails[] = {"\r", "\n\n", "\r\n\n", " ", "\t", "=", "==", "\n ", "A"};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        snprintf(bad, sizeof bad, "%s%s", text, tails[i]);
        enum offpay_status s = dec(bad, 0, back, sizeof back, &m);
        if (s == OFFPAY_OK)
            CHECK_FAIL("text with tail %zu accepted", i);
    }
    /* A leading space or BOM. */
    snprintf(bad, sizeof bad, " %s", text);
    CHECK_STATUS(dec(bad, 0, back, sizeof back, &m), OFFPAY_ERR_BAD_TEXT);

    /* Lower case, and every character outside the alphabet, anywhere. */
    for (size_t pos = OFFPAY_TEXT_PREFIX_BYTES; pos < len; pos += 37) {
        for (int ch = 0; ch < 256; ch++) {
            if ((ch >= 'A' && ch <= 'Z') || (ch >= '2' && ch <= '7'))
                continue;
            memcpy(bad, text, len + 1);
            bad[pos] = (char)ch;
            CHECK(offpay_text_decode(back, sizeof back, &m, &(int){0}, 0, bad, len) != OFFPAY_OK);
        }
    }
    for (size_t i = 0; i <= len; i++)
        bad[i] = (char)(i >= OFFPAY_TEXT_PREFIX_BYTES && text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 : text[i]);
    CHECK_STATUS(dec(bad, 0, back, sizeof back, &m), OFFPAY_ERR_BAD_TEXT);

    /* Non-canonical last character: stray low bits set.  421 bytes = 3368
     * bits = 673 characters + 3 bits, so the last character has 2 unused bits. */
    CHECK_U64(len - OFFPAY_TEXT_PREFIX_BYTES, 674);
    memcpy(bad, text, len + 1);
    static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    int last = (int)(strchr(b32, text[len - 1]) - b32);
    CHECK((last & 3) == 0); /* three data bits, then two zero bits */
    for (int low = 1; low < 4; low++) {
        bad[len - 1] = b32[last | low];
        CHECK_STATUS(dec(bad, 0, back, sizeof back, &m), OFFPAY_ERR_BAD_TEXT);
    }

    /* Impossible lengths: a tail of 1, 3 or 6 characters cannot come from
     * whole bytes.  Cut the text down to lengths with each remainder. */
    for (size_t cut = 1; cut <= 8; cut++) {
        memcpy(bad, text, len + 1);
        bad[len - cut] = '\0';
        size_t rem = (len - cut - OFFPAY_TEXT_PREFIX_BYTES) % 8;
        enum offpay_status s = dec(bad, 0, back, sizeof back, &m);
        if (rem == 1 || rem == 3 || rem == 6)
            CHECK_STATUS(s, OFFPAY_ERR_BAD_TEXT);
        else
            CHECK(s == OFFPAY_OK || s == OFFPAY_ERR_BAD_TEXT); /* stray bits may remain */
    }

    /* Prefixes: wrong version, unknown tag, lower case, missing colon, too short. */
    static const char *const prefixes[] = {"OP2REC:", "OP1XYZ:", "op1rec:", "OP1REC;", "OP1REC", "OP0REC:", "XP1REC:"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        snprintf(bad, sizeof bad, "%s%s", prefixes[i], text + OFFPAY_TEXT_PREFIX_BYTES);
        CHECK_STATUS(dec(bad, 0, back, sizeof back, &m), OFFPAY_ERR_BAD_TEXT);
    }
    CHECK_STATUS(dec("", 0, back, sizeof back, &m), OFFPAY_ERR_BAD_TEXT);
    CHECK_STATUS(dec("OP1REC", 0, back, sizeof back, &m), OFFPAY_ERR_BAD_TEXT);
    CHECK_STATUS(dec("\n", 0, back, sizeof back, &m), OFFPAY_ERR_BAD_TEXT);
    /* The length given is what counts, not where a NUL happens to be: six
     * characters of "OP1REC:" are too short, whatever follows them. */
    int ty;
    CHECK_STATUS(offpay_text_decode(back, sizeof back, &m, &ty, 0, "OP1REC:AECA", 6), OFFPAY_ERR_BAD_TEXT);
    CHECK_STATUS(offpay_text_decode(back, sizeof back, &m, &ty, 0, "OP1REC:AECA", 11), OFFPAY_OK); /* 01 04: text only */
    CHECK_U64(m, 2);

    /* The prefix must match the binary's type: a certificate labelled a record. */
    n = fx_encode(&F, OFFPAY_MSG_CERT, bin, sizeof bin);
    CHECK_STATUS(offpay_text_encode(text, sizeof text, bin, n), OFFPAY_OK);
    memcpy(text, "OP1REC:", OFFPAY_TEXT_PREFIX_BYTES);
    CHECK_STATUS(dec(text, 0, back, sizeof back, &m), OFFPAY_ERR_WRONG_TYPE);
    CHECK_U64(m, 0);
    /* An empty payload has no type at all. */
    CHECK_STATUS(dec("OP1REC:", 0, back, sizeof back, &m), OFFPAY_ERR_WRONG_TYPE);
    /* A binary of another version. */
    bin[0] = 2;
    CHECK_STATUS(offpay_text_encode(text, sizeof text, bin, n), OFFPAY_ERR_WRONG_TYPE);
    bin[0] = 1;
    bin[1] = 11;
    CHECK_STATUS(offpay_text_encode(text, sizeof text, bin, n), OFFPAY_ERR_WRONG_TYPE);
    bin[1] = 0;
    CHECK_STATUS(offpay_text_encode(text, sizeof text, bin, n), OFFPAY_ERR_WRONG_TYPE);
    CHECK_STATUS(offpay_text_encode(text, sizeof text, bin, 1), OFFPAY_ERR_WRONG_TYPE);
}

int main(void)
{
    fx_init(&F, NULL);
    test_roundtrip_every_type();
    test_roundtrip_lengths();
    test_known_base32();
    test_strict();
    return 0;
}

/*
 * text.c - single-line text form: "OP1" + type tag + ":" + base32 (RFC 4648,
 * upper case, unpadded).  Decoding is canonical: the unused low bits of the
 * last character must be zero, so one binary has exactly one text form.
 */
#include <string.h>

#include "offpay/text.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static const char *const prefixes[] = {
    [OFFPAY_MSG_CERT] = "OP1CRT:",         [OFFPAY_MSG_UTXO] = "OP1UTX:",
    [OFFPAY_MSG_REQUEST] = "OP1REQ:",      [OFFPAY_MSG_RECORD] = "OP1REC:",
    [OFFPAY_MSG_CONFIRMATION] = "OP1CNF:", [OFFPAY_MSG_REFUSAL] = "OP1REF:",
    [OFFPAY_MSG_REVOCATION] = "OP1RVL:",   [OFFPAY_MSG_LIMITS] = "OP1LIM:",
    [OFFPAY_MSG_STAMP] = "OP1STP:",
    /* A record with a stamp (type 10) is a record: offpay_message_type
     * calls it OFFPAY_MSG_RECORD, so it is written and read as OP1REC:. */
};

const char *offpay_text_prefix(int type)
{
    if (type <= 0 || (size_t)type >= sizeof prefixes / sizeof prefixes[0])
        return NULL;
    return prefixes[type];
}

size_t offpay_text_len(size_t bin_len) { return OFFPAY_TEXT_LEN(bin_len); }

enum offpay_status offpay_text_encode(char *out, size_t out_cap, const uint8_t *bin, size_t bin_len)
{
    const char *prefix = offpay_text_prefix(offpay_message_type(bin, bin_len));
    if (prefix == NULL)
        return OFFPAY_ERR_WRONG_TYPE;
    if (bin_len > (SIZE_MAX - 5) / 8 || offpay_text_len(bin_len) + 1 > out_cap)
        return OFFPAY_ERR_BUFFER_TOO_SMALL;
    memcpy(out, prefix, OFFPAY_TEXT_PREFIX_BYTES);
    size_t o = OFFPAY_TEXT_PREFIX_BYTES;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < bin_len; i++) {
        acc = (acc << 8 | bin[i]) & 0xfff;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return OFFPAY_OK;
}

static int b32val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

enum offpay_status offpay_text_decode(uint8_t *bin, size_t bin_cap, size_t *bin_len, int *type, int want_type,
                                      const char *text, size_t text_len)
{
    *bin_len = 0;
    *type = 0;
    /* One trailing newline (LF or CRLF) is what files and `scan` produce. */
    if (text_len > 0 && text[text_len - 1] == '\n') {
        text_len--;
        /* A CR only as part of CRLF: a lone trailing CR is not a line end. */
        if (text_len > 0 && text[text_len - 1] == '\r')
            text_len--;
    }
    if (text_len < OFFPAY_TEXT_PREFIX_BYTES)
        return OFFPAY_ERR_BAD_TEXT;
    int found = 0;
    for (int t = 1; t < (int)(sizeof prefixes / sizeof prefixes[0]); t++)
        if (prefixes[t] && memcmp(text, prefixes[t], OFFPAY_TEXT_PREFIX_BYTES) == 0)
            found = t;
    if (found == 0)
        return OFFPAY_ERR_BAD_TEXT;
    if (want_type != 0 && found != want_type)
        return OFFPAY_ERR_WRONG_TYPE;
    const char *p = text + OFFPAY_TEXT_PREFIX_BYTES;
    size_t n = text_len - OFFPAY_TEXT_PREFIX_BYTES;
    /* Unpadded base32 never ends with 1, 3 or 6 leftover characters. */
    size_t rem = n % 8;
    if (rem == 1 || rem == 3 || rem == 6)
        return OFFPAY_ERR_BAD_TEXT;
    size_t out_len = n * 5 / 8;
    if (out_len > bin_cap)
        return OFFPAY_ERR_BUFFER_TOO_SMALL;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b32val(p[i]);
        if (v < 0)
            return OFFPAY_ERR_BAD_TEXT;
        acc = (acc << 5 | (uint32_t)v) & 0xfff; /* up to 7 pending bits + 5 new */
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            bin[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return OFFPAY_ERR_BAD_TEXT;
    if (offpay_message_type(bin, o) != found)
        return OFFPAY_ERR_WRONG_TYPE;
    *bin_len = o;
    *type = found;
    return OFFPAY_OK;
}

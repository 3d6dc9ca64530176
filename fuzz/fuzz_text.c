/*
 * fuzz_text.c - libFuzzer harness for offpay_text_decode.  Accepted text must
 * be canonical: encoding the decoded bytes gives back the input (less the one
 * line end the decoder tolerates).  The bytes then go to the decoder of their
 * type, which must accept them canonically or refuse them.
 */
#include "harness.h"

static size_t roundtrip(int type, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    union {
        struct offpay_cert c;
        struct offpay_utxo u;
        struct offpay_request q;
        struct offpay_record r;
        struct offpay_confirmation f;
        struct offpay_refusal x;
        struct offpay_revocation v;
        struct offpay_limits_policy p;
        struct offpay_stamp s;
    } m;
    switch (type) {
    case OFFPAY_MSG_CERT: return offpay_cert_decode(&m.c, in, n) ? SIZE_MAX : offpay_cert_encode(out, cap, &m.c);
    case OFFPAY_MSG_UTXO: return offpay_utxo_decode(&m.u, in, n) ? SIZE_MAX : offpay_utxo_encode(out, cap, &m.u);
    case OFFPAY_MSG_REQUEST: return offpay_request_decode(&m.q, in, n) ? SIZE_MAX : offpay_request_encode(out, cap, &m.q);
    case OFFPAY_MSG_RECORD: return offpay_record_decode(&m.r, in, n) ? SIZE_MAX : offpay_record_encode(out, cap, &m.r);
    case OFFPAY_MSG_CONFIRMATION:
        return offpay_confirmation_decode(&m.f, in, n) ? SIZE_MAX : offpay_confirmation_encode(out, cap, &m.f);
    case OFFPAY_MSG_REFUSAL: return offpay_refusal_decode(&m.x, in, n) ? SIZE_MAX : offpay_refusal_encode(out, cap, &m.x);
    case OFFPAY_MSG_REVOCATION:
        return offpay_revocation_decode(&m.v, in, n) ? SIZE_MAX : offpay_revocation_encode(out, cap, &m.v);
    case OFFPAY_MSG_LIMITS:
        return offpay_limits_policy_decode(&m.p, in, n) ? SIZE_MAX : offpay_limits_policy_encode(out, cap, &m.p);
    case OFFPAY_MSG_STAMP: return offpay_stamp_decode(&m.s, in, n) ? SIZE_MAX : offpay_stamp_encode(out, cap, &m.s);
    default: abort(); /* the text decoder only returns known types */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t bin_len, cap = size; /* base32 never decodes to more bytes than characters */
    int type;
    uint8_t *bin = malloc(cap + 1), *again = malloc(cap + 1);
    char *back = malloc(2 * size + 16);
    if (bin == NULL || again == NULL || back == NULL)
        abort();
    if (offpay_text_decode(bin, cap, &bin_len, &type, 0, text, size) == OFFPAY_OK) {
        size_t body = size;
        if (body > 0 && text[body - 1] == '\n') {
            body--;
            if (body > 0 && text[body - 1] == '\r')
                body--;
        }
        if (offpay_text_encode(back, 2 * size + 16, bin, bin_len) != OFFPAY_OK)
            abort();
        fuzz_same("text", data, body, (const uint8_t *)back, strlen(back));
        /* want_type: the same type is accepted, any other refused. */
        size_t n2;
        int t2;
        if (offpay_text_decode(again, cap, &n2, &t2, type, text, size) != OFFPAY_OK)
            abort();
        if (offpay_text_decode(again, cap, &n2, &t2, type % 8 + 1, text, size) != OFFPAY_ERR_WRONG_TYPE)
            abort();
        size_t m = roundtrip(type, bin, bin_len, again, cap + 1);
        if (m != SIZE_MAX)
            fuzz_same("text message", bin, bin_len, again, m);
    }
    free(bin);
    free(again);
    free(back);
    return 0;
}

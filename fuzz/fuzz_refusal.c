/*
 * fuzz_refusal.c - libFuzzer harness for offpay_refusal_decode: accepted input must
 * re-encode to itself; the rules that take a decoded refusal must not crash on it.
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct offpay_refusal m;
    static uint8_t out[OFFPAY_MESSAGE_BYTES_MAX];
    if (offpay_crypto_init() != 0)
        abort();
    if (offpay_refusal_decode(&m, data, size) != OFFPAY_OK)
        return 0;
    fuzz_same("refusal", data, size, out, offpay_refusal_encode(out, sizeof out, &m));
    struct offpay_record r;
    memset(&r, 0, sizeof r);
    if (offpay_refusal_verify(&m, &r) == OFFPAY_OK)
        abort();
    return 0;
}

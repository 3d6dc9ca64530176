/*
 * fuzz_confirmation.c - libFuzzer harness for offpay_confirmation_decode: accepted input must
 * re-encode to itself; the rules that take a decoded confirmation must not crash on it.
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct offpay_confirmation m;
    static uint8_t out[OFFPAY_MESSAGE_BYTES_MAX];
    if (offpay_crypto_init() != 0)
        abort();
    if (offpay_confirmation_decode(&m, data, size) != OFFPAY_OK)
        return 0;
    fuzz_same("confirmation", data, size, out, offpay_confirmation_encode(out, sizeof out, &m));
    struct offpay_record r;
    memset(&r, 0, sizeof r); /* unencodable: its id is all zero */
    if (offpay_confirmation_verify(&m, &r, fuzz_key, NULL, 0) == OFFPAY_OK)
        abort();
    return 0;
}

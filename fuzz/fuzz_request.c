/*
 * fuzz_request.c - libFuzzer harness for offpay_request_decode: accepted input must
 * re-encode to itself; the rules that take a decoded request must not crash on it.
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct offpay_request m;
    static uint8_t out[OFFPAY_MESSAGE_BYTES_MAX];
    if (offpay_crypto_init() != 0)
        abort();
    if (offpay_request_decode(&m, data, size) != OFFPAY_OK)
        return 0;
    fuzz_same("request", data, size, out, offpay_request_encode(out, sizeof out, &m));
    if (offpay_request_verify(&m, fuzz_key, NULL, 0) == OFFPAY_OK)
        abort();
    return 0;
}

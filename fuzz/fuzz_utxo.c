/*
 * fuzz_utxo.c - libFuzzer harness for offpay_utxo_decode: accepted input must
 * re-encode to itself; the rules that take a decoded utxo must not crash on it.
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct offpay_utxo m;
    static uint8_t out[OFFPAY_MESSAGE_BYTES_MAX];
    if (offpay_crypto_init() != 0)
        abort();
    if (offpay_utxo_decode(&m, data, size) != OFFPAY_OK)
        return 0;
    fuzz_same("utxo", data, size, out, offpay_utxo_encode(out, sizeof out, &m));
    if (offpay_utxo_verify(&m, fuzz_key) == OFFPAY_OK)
        abort();
    return 0;
}

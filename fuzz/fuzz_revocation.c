/*
 * fuzz_revocation.c - libFuzzer harness for offpay_revocation_decode: accepted
 * input must re-encode to itself, and every id on it must be found by
 * offpay_revocation_contains (the binary search relies on the order the
 * decoder enforces).
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct offpay_revocation m;
    if (offpay_crypto_init() != 0)
        abort();
    if (offpay_revocation_decode(&m, data, size) != OFFPAY_OK)
        return 0;
    uint8_t *out = malloc(size + 1);
    if (out == NULL)
        abort();
    fuzz_same("revocation", data, size, out, offpay_revocation_encode(out, size + 1, &m));
    free(out);
    for (uint32_t i = 0; i < m.count; i++)
        if (!offpay_revocation_contains(&m, m.ids + (size_t)i * OFFPAY_WALLET_ID_BYTES))
            abort();
    if (offpay_revocation_verify(&m, fuzz_key) == OFFPAY_OK)
        abort();
    return 0;
}

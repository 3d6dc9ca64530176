/*
 * fuzz_key_token.c - libFuzzer harness for the key.token decoder
 * (offpay_key_token_decode, src/keys/key_token.c): accepted input must
 * encode back to itself from what was decoded (module, label, public key).
 */
#include "harness.h"
#include "offpay/key_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char module[OFFPAY_KEY_TOKEN_MODULE_MAX + 1], label[OFFPAY_KEY_TOKEN_LABEL_MAX + 1];
    uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES];
    static uint8_t out[OFFPAY_KEY_TOKEN_BYTES_MAX];
    size_t n = 0;
    if (offpay_key_token_decode(module, label, pk, data, size) != 0)
        return 0;
    if (offpay_key_token_encode(out, sizeof out, &n, module, label, pk) != 0) {
        fprintf(stderr, "key.token: accepted %zu bytes that do not encode again\n", size);
        abort();
    }
    fuzz_same("key.token", data, size, out, n);
    return 0;
}

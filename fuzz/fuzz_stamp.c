/*
 * fuzz_stamp.c - libFuzzer harness for offpay_stamp_decode: accepted input must
 * re-encode to itself; the payee's check of a record carrying it must not
 * crash on it, and never passes a stamp the issuer did not sign.
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct offpay_stamp m;
    struct offpay_record r;
    static uint8_t out[OFFPAY_MESSAGE_BYTES_MAX];
    if (offpay_crypto_init() != 0)
        abort();
    if (offpay_stamp_decode(&m, data, size) != OFFPAY_OK)
        return 0;
    fuzz_same("stamp", data, size, out, offpay_stamp_encode(out, sizeof out, &m));
    if (offpay_stamp_verify(&m, fuzz_key) == OFFPAY_OK)
        abort();
    memset(&r, 0, sizeof r);
    memcpy(r.payer.wallet_id, m.wallet_id, sizeof m.wallet_id);
    r.has_stamp = 1;
    r.stamp = m;
    if (offpay_record_check_fresh(&r, fuzz_key, 0, m.synced_at) != OFFPAY_ERR_STAMP_INVALID)
        abort();
    return 0;
}

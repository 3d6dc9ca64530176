/*
 * fuzz_record.c - libFuzzer harness for offpay_record_decode: accepted input must
 * re-encode to itself; the rules that take a decoded record must not crash on it.
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct offpay_record m;
    static uint8_t out[OFFPAY_MESSAGE_BYTES_MAX];
    if (offpay_crypto_init() != 0)
        abort();
    if (offpay_record_decode(&m, data, size) != OFFPAY_OK)
        return 0;
    fuzz_same("record", data, size, out, offpay_record_encode(out, sizeof out, &m));
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    struct offpay_utxo o;
    offpay_record_id(id, &m);
    if (offpay_record_output(&o, &m, id, 0) != OFFPAY_OK || o.amount != m.payee_amount)
        abort();
    if ((offpay_record_output(&o, &m, id, 1) == OFFPAY_OK) != (m.change_amount > 0))
        abort();
    if (offpay_record_verify(&m, fuzz_key, NULL, 0, 0) == OFFPAY_OK)
        abort();
    /* Skipping the certificate and attestations leaves the payer signature,
     * which a genuine record passes: only exercised, not judged. */
    volatile enum offpay_status s =
        offpay_record_verify(&m, fuzz_key, NULL, 0, OFFPAY_VERIFY_SKIP_PAYER_CERT | OFFPAY_VERIFY_SKIP_INPUT_ATTESTATIONS);
    (void)s;
    /* No stamp of fuzz_key's issuer passes; no stamp at all is not fresh. */
    if (offpay_record_check_fresh(&m, fuzz_key, 1, m.created) == OFFPAY_OK)
        abort();
    return 0;
}

/*
 * fuzz_limits.c - libFuzzer harness for offpay_limits_policy_decode: accepted input must
 * re-encode to itself; the rules that take a decoded limits must not crash on it.
 */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct offpay_limits_policy m;
    static uint8_t out[OFFPAY_MESSAGE_BYTES_MAX];
    if (offpay_crypto_init() != 0)
        abort();
    if (offpay_limits_policy_decode(&m, data, size) != OFFPAY_OK)
        return 0;
    fuzz_same("limits", data, size, out, offpay_limits_policy_encode(out, sizeof out, &m));
    struct offpay_limits eff;
    struct offpay_limits_usage u = {m.limits.offline_total / 2, m.limits.count / 2};
    offpay_limits_effective(&eff, &m.limits, &m.limits);
    /* Owner limits equal to the server's change nothing; an amount equal to
     * the per-payment limit is always refused by that limit first. */
    if (memcmp(&eff, &m.limits, sizeof eff) != 0)
        abort();
    if (offpay_limits_check(&eff, &u, m.limits.per_payment) != OFFPAY_ERR_LIMIT_PER_PAYMENT)
        abort();
    uint64_t start = offpay_limits_period_start(m.issued_at, m.limits.period);
    if (start > m.issued_at || m.issued_at - start >= m.limits.period)
        abort();
    if (offpay_limits_policy_verify(&m, fuzz_key) == OFFPAY_OK)
        abort();
    return 0;
}

/*
 * test_limits.c - the offline limits of claim 4, at their boundaries.
 *
 * A payment is refused when its amount is not below the per-payment limit,
 * when the unsynced total would reach the cumulative limit, or when the count
 * of payments in the period has reached the count limit.  The effective limits
 * are the stricter of the server's and the owner's, field by field.
 */
#include "check.h"
#include "fixture.h"

static const struct offpay_limits L = {.per_payment = 10000, .offline_total = 50000, .count = 10, .period = 86400};

static enum offpay_status check(uint64_t unsynced, uint32_t count, uint64_t amount)
{
    struct offpay_limits_usage u = {.unsynced_total = unsynced, .count_in_period = count};
    return offpay_limits_check(&L, &u, amount);
}

static void test_per_payment(void)
{
    CHECK_STATUS(check(0, 0, 9999), OFFPAY_OK);
    CHECK_STATUS(check(0, 0, 10000), OFFPAY_ERR_LIMIT_PER_PAYMENT);
    CHECK_STATUS(check(0, 0, 10001), OFFPAY_ERR_LIMIT_PER_PAYMENT);
    CHECK_STATUS(check(0, 0, UINT64_MAX), OFFPAY_ERR_LIMIT_PER_PAYMENT);
    CHECK_STATUS(check(0, 0, 1), OFFPAY_OK);
    /* Checked first: an amount over every limit names the per-payment one. */
    CHECK_STATUS(check(50000, 10, 10000), OFFPAY_ERR_LIMIT_PER_PAYMENT);
}

static void test_offline_total(void)
{
    CHECK_STATUS(check(40000, 0, 9999), OFFPAY_OK);    /* reaches 49999 */
    CHECK_STATUS(check(40001, 0, 9999), OFFPAY_ERR_LIMIT_OFFLINE_TOTAL); /* would reach 50000 */
    CHECK_STATUS(check(49998, 0, 1), OFFPAY_OK);
    CHECK_STATUS(check(49999, 0, 1), OFFPAY_ERR_LIMIT_OFFLINE_TOTAL);
    CHECK_STATUS(check(50000, 0, 1), OFFPAY_ERR_LIMIT_OFFLINE_TOTAL);
    /* Usage above the limit (the limit was lowered) must not wrap around. */
    CHECK_STATUS(check(60000, 0, 1), OFFPAY_ERR_LIMIT_OFFLINE_TOTAL);
    CHECK_STATUS(check(UINT64_MAX, 0, 1), OFFPAY_ERR_LIMIT_OFFLINE_TOTAL);
    /* Checked before the count. */
    CHECK_STATUS(check(49999, 10, 1), OFFPAY_ERR_LIMIT_OFFLINE_TOTAL);
}

static void test_count(void)
{
    CHECK_STATUS(check(0, 9, 100), OFFPAY_OK);
    CHECK_STATUS(check(0, 10, 100), OFFPAY_ERR_LIMIT_COUNT);
    CHECK_STATUS(check(0, 11, 100), OFFPAY_ERR_LIMIT_COUNT);
    CHECK_STATUS(check(0, UINT32_MAX, 100), OFFPAY_ERR_LIMIT_COUNT);
    /* Limits of zero refuse everything. */
    struct offpay_limits z = {.per_payment = 0, .offline_total = 0, .count = 0, .period = 1};
    struct offpay_limits_usage u = {0, 0};
    CHECK_STATUS(offpay_limits_check(&z, &u, 1), OFFPAY_ERR_LIMIT_PER_PAYMENT);
    z.per_payment = 10;
    CHECK_STATUS(offpay_limits_check(&z, &u, 1), OFFPAY_ERR_LIMIT_OFFLINE_TOTAL);
    z.offline_total = 10;
    CHECK_STATUS(offpay_limits_check(&z, &u, 1), OFFPAY_ERR_LIMIT_COUNT);
    z.count = 1;
    CHECK_STATUS(offpay_limits_check(&z, &u, 1), OFFPAY_OK);
    /* Unbounded limits accept the largest payment short of them. */
    struct offpay_limits big = {UINT64_MAX, UINT64_MAX, UINT32_MAX, 1};
    CHECK_STATUS(offpay_limits_check(&big, &u, UINT64_MAX - 1), OFFPAY_OK);
}

static void test_effective(void)
{
    struct offpay_limits eff, owner;
    /* No owner policy, or an all-zero one: the server's. */
    offpay_limits_effective(&eff, &L, NULL);
    CHECK_MEM(&eff, &L, sizeof eff);
    owner = (struct offpay_limits){0, 0, 0, 0};
    offpay_limits_effective(&eff, &L, &owner);
    CHECK_MEM(&eff, &L, sizeof eff);
    /* Stricter owner values win, field by field. */
    owner = (struct offpay_limits){.per_payment = 500, .offline_total = 0, .count = 3, .period = 0};
    offpay_limits_effective(&eff, &L, &owner);
    CHECK_U64(eff.per_payment, 500);
    CHECK_U64(eff.offline_total, 50000);
    CHECK_U64(eff.count, 3);
    CHECK_U64(eff.period, 86400);
    /* Looser owner values never loosen. */
    owner = (struct offpay_limits){.per_payment = 20000, .offline_total = 60000, .count = 11, .period = 3600};
    offpay_limits_effective(&eff, &L, &owner);
    CHECK_MEM(&eff, &L, sizeof eff);
    /* A longer period is stricter (the same count over more time). */
    owner = (struct offpay_limits){.per_payment = 0, .offline_total = 40000, .count = 0, .period = 7 * 86400};
    offpay_limits_effective(&eff, &L, &owner);
    CHECK_U64(eff.offline_total, 40000);
    CHECK_U64(eff.period, 7 * 86400);
    /* Boundary: owner equal to server. */
    offpay_limits_effective(&eff, &L, &L);
    CHECK_MEM(&eff, &L, sizeof eff);
    /* The effective limits are what is checked. */
    owner = (struct offpay_limits){.per_payment = 100};
    offpay_limits_effective(&eff, &L, &owner);
    struct offpay_limits_usage u = {0, 0};
    CHECK_STATUS(offpay_limits_check(&eff, &u, 99), OFFPAY_OK);
    CHECK_STATUS(offpay_limits_check(&eff, &u, 100), OFFPAY_ERR_LIMIT_PER_PAYMENT);
}

static void test_period_start(void)
{
    CHECK_U64(offpay_limits_period_start(FX_NOW, 86400), FX_NOW); /* midnight */
    CHECK_U64(offpay_limits_period_start(FX_NOW + 86399, 86400), FX_NOW);
    CHECK_U64(offpay_limits_period_start(FX_NOW + 86400, 86400), FX_NOW + 86400);
    CHECK_U64(offpay_limits_period_start(FX_NOW - 1, 86400), FX_NOW - 86400);
    CHECK_U64(offpay_limits_period_start(7, 3), 6);
    CHECK_U64(offpay_limits_period_start(0, 3600), 0);
    CHECK_U64(offpay_limits_period_start(UINT64_MAX, 1), UINT64_MAX);
    CHECK_U64(offpay_limits_period_start(12345, 0), 0); /* no period: no rounding to divide by */
}

int main(void)
{
    test_per_payment();
    test_offline_total();
    test_count();
    test_effective();
    test_period_start();
    return 0;
}

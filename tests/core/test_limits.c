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
    struct offpay_limits big = {UINT64_MAX, UINT64_MAX, UINT32_MAX, 1, 0, 0};
    CHECK_STATUS(offpay_limits_check(&big, &u, UINT64_MAX - 1), OFFPAY_OK);
}

static void test_effective(void)
{
    struct offpay_limits eff, owner;
    /* No owner policy, or an all-zero one: the server's. */
    offpay_limits_effective(&eff, &L, NULL);
    CHECK_MEM(&eff, &L, sizeof eff);
    owner = (struct offpay_limits){0, 0, 0, 0, 0, 0};
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

/* Issue 13: the holding limit is "at most", the offline time limit "within
 * T of the last sync"; 0 is no limit; an owner value tightens. */
static void test_holding_and_time(void)
{
    struct offpay_limits l = {.per_payment = 10, .offline_total = 10, .count = 1, .period = 1, .holding = 6000,
                              .offline_time = 604800};
    CHECK_STATUS(offpay_limits_check_holding(&l, 5000, 1000), OFFPAY_OK);
    CHECK_STATUS(offpay_limits_check_holding(&l, 5000, 1001), OFFPAY_ERR_LIMIT_HOLDING);
    CHECK_STATUS(offpay_limits_check_holding(&l, 7000, 0), OFFPAY_ERR_LIMIT_HOLDING);
    CHECK_STATUS(offpay_limits_check_holding(&l, 0, UINT64_MAX), OFFPAY_ERR_LIMIT_HOLDING);
    CHECK_STATUS(offpay_limits_check_offline_time(&l, FX_NOW, FX_NOW + 604800), OFFPAY_OK);
    CHECK_STATUS(offpay_limits_check_offline_time(&l, FX_NOW, FX_NOW + 604801), OFFPAY_ERR_LIMIT_OFFLINE_TIME);
    CHECK_STATUS(offpay_limits_check_offline_time(&l, FX_NOW + 60, FX_NOW), OFFPAY_OK); /* a clock behind the server's */
    CHECK_STATUS(offpay_limits_check_offline_time(&l, 0, FX_NOW), OFFPAY_ERR_LIMIT_OFFLINE_TIME); /* never synced */
    CHECK_STATUS(offpay_limits_check_offline_time(&l, UINT64_MAX, 0), OFFPAY_OK);
    struct offpay_limits none = l, eff;
    none.holding = 0;
    none.offline_time = 0;
    CHECK_STATUS(offpay_limits_check_holding(&none, UINT64_MAX, UINT64_MAX), OFFPAY_OK);
    CHECK_STATUS(offpay_limits_check_offline_time(&none, 0, UINT64_MAX), OFFPAY_OK);
    /* The owner's values tighten, also where the server sets no limit. */
    struct offpay_limits owner = {.holding = 5000, .offline_time = 86400};
    offpay_limits_effective(&eff, &l, &owner);
    CHECK_U64(eff.holding, 5000);
    CHECK_U64(eff.offline_time, 86400);
    offpay_limits_effective(&eff, &none, &owner);
    CHECK_U64(eff.holding, 5000);
    CHECK_U64(eff.offline_time, 86400);
    owner = (struct offpay_limits){.holding = 7000, .offline_time = 700000};
    offpay_limits_effective(&eff, &l, &owner);
    CHECK_U64(eff.holding, 6000);
    CHECK_U64(eff.offline_time, 604800);
}

int main(void)
{
    test_holding_and_time();
    test_per_payment();
    test_offline_total();
    test_count();
    test_effective();
    test_period_start();
    return 0;
}

/*
 * test_coins.c - coin selection: the smallest single spendable coin that
 * covers the amount, else the fewest spendable coins; locked change and
 * in-doubt coins are never chosen (claims 1 and 2, [0072], [0080]).
 */
#include <stdlib.h>

#include "check.h"
#include "fixture.h"

#define S OFFPAY_COIN_SPENDABLE
#define LK OFFPAY_COIN_LOCKED
#define ID OFFPAY_COIN_IN_DOUBT

static size_t chosen[OFFPAY_RECORD_INPUTS_MAX], n_chosen;

static enum offpay_status sel(const struct offpay_coin *c, size_t n, uint64_t amount)
{
    return offpay_coins_select(chosen, &n_chosen, c, n, amount);
}

static void want(size_t n, const size_t *idx)
{
    CHECK_U64(n_chosen, n);
    for (size_t i = 0; i < n; i++)
        CHECK_U64(chosen[i], idx[i]);
}

/* [0072]: 1000/2000/3000/4000, pay 3500: spend the 4000, change 500, and the
 * list becomes 1000/2000/3000/500. */
static void test_patent_example(void)
{
    struct fx *f = malloc(sizeof *f);
    CHECK(f != NULL);
    fx_init(f, NULL);
    struct offpay_coin c[4];
    for (int i = 0; i < 4; i++)
        c[i] = (struct offpay_coin){f->coins[i].amount, S};
    CHECK_STATUS(sel(c, 4, 3500), OFFPAY_OK);
    want(1, (size_t[]){3});
    struct offpay_record r;
    CHECK_STATUS(offpay_record_build(&r, &f->payer, f->payer_sk, &f->req, &f->coins[chosen[0]], 1, FX_NOW, 1), OFFPAY_OK);
    CHECK_U64(r.change_amount, 500);
    struct offpay_utxo change;
    uint8_t id[32];
    offpay_record_id(id, &r);
    CHECK_STATUS(offpay_record_output(&change, &r, id, 1), OFFPAY_OK);
    CHECK_U64(change.amount, 500);
    CHECK_MEM(change.owner, f->payer_pk, 32);
    free(f);
}

static void test_smallest_single(void)
{
    const struct offpay_coin c[] = {{1000, S}, {2000, S}, {3000, S}, {4000, S}};
    CHECK_STATUS(sel(c, 4, 2500), OFFPAY_OK);
    want(1, (size_t[]){2});
    CHECK_STATUS(sel(c, 4, 1000), OFFPAY_OK); /* exact */
    want(1, (size_t[]){0});
    CHECK_STATUS(sel(c, 4, 1), OFFPAY_OK);
    want(1, (size_t[]){0});
    CHECK_STATUS(sel(c, 4, 4000), OFFPAY_OK);
    want(1, (size_t[]){3});
    /* Order of the list does not matter. */
    const struct offpay_coin d[] = {{4000, S}, {3000, S}, {1000, S}, {2000, S}};
    CHECK_STATUS(sel(d, 4, 3500), OFFPAY_OK);
    want(1, (size_t[]){0});
    CHECK_STATUS(sel(d, 4, 1500), OFFPAY_OK);
    want(1, (size_t[]){3});
    /* A single covering coin beats two smaller coins that also cover. */
    const struct offpay_coin e[] = {{600, S}, {600, S}, {5000, S}};
    CHECK_STATUS(sel(e, 3, 1000), OFFPAY_OK);
    want(1, (size_t[]){2});
}

static void test_fewest(void)
{
    const struct offpay_coin c[] = {{1000, S}, {2000, S}, {3000, S}, {4000, S}};
    CHECK_STATUS(sel(c, 4, 4500), OFFPAY_OK);
    want(2, (size_t[]){3, 2});
    CHECK_STATUS(sel(c, 4, 7001), OFFPAY_OK);
    want(3, (size_t[]){3, 2, 1});
    CHECK_STATUS(sel(c, 4, 10000), OFFPAY_OK);
    want(4, (size_t[]){3, 2, 1, 0});
    CHECK_STATUS(sel(c, 4, 10001), OFFPAY_ERR_INSUFFICIENT_FUNDS);
    CHECK_U64(n_chosen, 0);

    /* Against brute force: for pseudo-random wallets of up to 8 coins, the
     * count is the minimum any subset needs, the sum covers, no coin twice,
     * and only spendable coins. */
    uint32_t x = 99;
    for (int round = 0; round < 3000; round++) {
        struct offpay_coin w[8];
        size_t n = 1 + round % 8;
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            w[i].amount = 1 + (x >> 16) % 50;
            w[i].state = (x >> 8) % 4 == 0 ? ((x >> 4) % 2 ? LK : ID) : S;
            if (w[i].state == S)
                total += w[i].amount;
        }
        x = x * 1103515245u + 12345u;
        uint64_t amount = 1 + (x >> 16) % 200;
        size_t best = SIZE_MAX;
        for (unsigned mask = 1; mask < (1u << n); mask++) {
            uint64_t sum = 0;
            size_t k = 0, ok = 1;
            for (size_t i = 0; i < n; i++)
                if (mask >> i & 1) {
                    ok &= w[i].state == S;
                    sum += w[i].amount;
                    k++;
                }
            if (ok && sum >= amount && k < best)
                best = k;
        }
        enum offpay_status s = sel(w, n, amount);
        if (best == SIZE_MAX) {
            CHECK(s == OFFPAY_ERR_INSUFFICIENT_FUNDS || s == OFFPAY_ERR_FUNDS_LOCKED);
            CHECK(total < amount);
            continue;
        }
        CHECK_STATUS(s, OFFPAY_OK);
        CHECK_U64(n_chosen, best);
        uint64_t sum = 0;
        for (size_t i = 0; i < n_chosen; i++) {
            CHECK(chosen[i] < n);
            CHECK(w[chosen[i]].state == S);
            for (size_t k = 0; k < i; k++)
                CHECK(chosen[k] != chosen[i]);
            sum += w[chosen[i]].amount;
        }
        CHECK(sum >= amount);
        if (best == 1) /* the smallest single covering coin */
            for (size_t i = 0; i < n; i++)
                CHECK(w[i].state != S || w[i].amount < amount || w[i].amount >= w[chosen[0]].amount);
    }
}

/* Locked change (claim 2) and in-doubt inputs are never spent. */
static void test_locked_and_in_doubt(void)
{
    const struct offpay_coin c[] = {{1000, S}, {2000, S}, {3000, S}, {4000, LK}};
    CHECK_STATUS(sel(c, 4, 3500), OFFPAY_OK); /* not the locked 4000: 3000 + 2000 */
    want(2, (size_t[]){2, 1});
    CHECK_STATUS(sel(c, 4, 6000), OFFPAY_OK);
    want(3, (size_t[]){2, 1, 0});
    CHECK_STATUS(sel(c, 4, 6001), OFFPAY_ERR_FUNDS_LOCKED);
    CHECK_U64(n_chosen, 0);
    CHECK_STATUS(sel(c, 4, 10000), OFFPAY_ERR_FUNDS_LOCKED);
    CHECK_STATUS(sel(c, 4, 10001), OFFPAY_ERR_INSUFFICIENT_FUNDS);

    const struct offpay_coin d[] = {{500, LK}, {4000, ID}, {100, S}};
    CHECK_STATUS(sel(d, 3, 100), OFFPAY_OK);
    want(1, (size_t[]){2});
    CHECK_STATUS(sel(d, 3, 101), OFFPAY_ERR_FUNDS_LOCKED);
    CHECK_STATUS(sel(d, 3, 4600), OFFPAY_ERR_FUNDS_LOCKED);
    CHECK_STATUS(sel(d, 3, 4601), OFFPAY_ERR_INSUFFICIENT_FUNDS);
    const struct offpay_coin only_locked[] = {{500, LK}, {4000, ID}};
    CHECK_STATUS(sel(only_locked, 2, 1), OFFPAY_ERR_FUNDS_LOCKED);
    CHECK_STATUS(sel(NULL, 0, 1), OFFPAY_ERR_INSUFFICIENT_FUNDS);
    CHECK_STATUS(sel(c, 4, 0), OFFPAY_ERR_ZERO_AMOUNT);
    /* Zero coins (which cannot exist, but a store could hold one) are skipped. */
    const struct offpay_coin z[] = {{0, S}, {5, S}};
    CHECK_STATUS(sel(z, 2, 5), OFFPAY_OK);
    want(1, (size_t[]){1});
}

static void test_too_many_inputs(void)
{
    struct offpay_coin c[OFFPAY_RECORD_INPUTS_MAX + 1];
    for (size_t i = 0; i < OFFPAY_RECORD_INPUTS_MAX + 1; i++)
        c[i] = (struct offpay_coin){1, S};
    CHECK_STATUS(sel(c, OFFPAY_RECORD_INPUTS_MAX + 1, OFFPAY_RECORD_INPUTS_MAX), OFFPAY_OK);
    CHECK_U64(n_chosen, OFFPAY_RECORD_INPUTS_MAX);
    CHECK_STATUS(sel(c, OFFPAY_RECORD_INPUTS_MAX + 1, OFFPAY_RECORD_INPUTS_MAX + 1), OFFPAY_ERR_TOO_MANY_INPUTS);
    CHECK_U64(n_chosen, 0);
    /* One bigger coin brings it back under the maximum. */
    c[0].amount = 2;
    CHECK_STATUS(sel(c, OFFPAY_RECORD_INPUTS_MAX + 1, OFFPAY_RECORD_INPUTS_MAX + 1), OFFPAY_OK);
    CHECK_U64(n_chosen, OFFPAY_RECORD_INPUTS_MAX);
}

/* Huge coins: the running sum must not wrap. */
static void test_huge(void)
{
    const struct offpay_coin c[] = {{UINT64_MAX - 1, S}, {5, S}};
    CHECK_STATUS(sel(c, 2, UINT64_MAX), OFFPAY_OK);
    want(2, (size_t[]){0, 1});
    const struct offpay_coin d[] = {{UINT64_MAX, S}, {UINT64_MAX, LK}};
    CHECK_STATUS(sel(d, 2, UINT64_MAX), OFFPAY_OK);
    want(1, (size_t[]){0});
}

int main(void)
{
    test_patent_example();
    test_smallest_single();
    test_fewest();
    test_locked_and_in_doubt();
    test_too_many_inputs();
    test_huge();
    return 0;
}

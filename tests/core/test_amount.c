/*
 * test_amount.c - the one parser of decimal amounts (amount.h) takes every
 * canonical amount up to OFFPAY_AMOUNT_MAX and refuses every other spelling.
 */
#include <inttypes.h>

#include "check.h"
#include "offpay/amount.h"

static const struct {
    const char *text;
    uint64_t value;
} good[] = {
    {"0", 0},
    {"1", 1},
    {"3500", 3500},
    {"9223372036854775807", OFFPAY_AMOUNT_MAX},
};

static const char *const bad[] = {
    "",                     /* empty */
    "007",                  /* leading zero */
    "00",                   /* leading zero */
    "+7",                   /* sign */
    "-7",                   /* sign */
    " 7",                   /* space */
    "7 ",                   /* space */
    "7a",                   /* not a digit */
    "1e3",                  /* not a digit */
    "9223372036854775808",  /* OFFPAY_AMOUNT_MAX + 1 */
    "18446744073709551615", /* more digits than OFFPAY_AMOUNT_DIGITS_MAX */
    "99999999999999999999", /* would overflow 64 bits */
};

int main(void)
{
    uint64_t v;

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        v = 42;
        CHECK(offpay_amount_parse(&v, good[i].text) == 0);
        CHECK_U64(v, good[i].value);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 42;
        CHECK(offpay_amount_parse(&v, bad[i]) == -1);
        CHECK_U64(v, 42); /* untouched on failure */
    }
    CHECK(offpay_amount_parse(&v, NULL) == -1);
    return 0;
}

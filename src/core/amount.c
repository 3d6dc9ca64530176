/*
 * amount.c - the decimal text form of an amount (amount.h).
 *
 * Strict and canonical, like every decoder of the core: "007" and "+7" are
 * refused rather than read as 7, so one amount has one spelling.
 */
#include <string.h>

#include "offpay/amount.h"

int offpay_amount_parse(uint64_t *out, const char *s)
{
    uint64_t v = 0;
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > OFFPAY_AMOUNT_DIGITS_MAX || (n > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0'); /* 19 digits stay below 2^64 */
    }
    if (v > OFFPAY_AMOUNT_MAX)
        return -1;
    *out = v;
    return 0;
}

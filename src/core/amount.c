/*
 * amount.c - the decimal text form of an amount (amount.h).
 *
 * Strict and canonical, like every decoder of the core: "007" and "+7" are
 * refused rather than read as 7, so one amount has one spelling.
 */
#include <stdio.h>
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

/* ---- money ---- */

int offpay_currency_code_valid(const char *code)
{
    if (code == NULL)
        return 0;
    for (int i = 0; i < OFFPAY_CURRENCY_CODE_BYTES; i++)
        if (code[i] < 'A' || code[i] > 'Z')
            return 0;
    return code[OFFPAY_CURRENCY_CODE_BYTES] == '\0';
}

void offpay_money_default(struct offpay_money *m)
{
    memset(m, 0, sizeof *m);
    memcpy(m->code, OFFPAY_MONEY_DEFAULT_CODE, OFFPAY_CURRENCY_CODE_BYTES);
    m->exponent = OFFPAY_MONEY_DEFAULT_EXPONENT;
}

static const uint64_t pow10[OFFPAY_MONEY_EXPONENT_MAX + 1] = {1, 10, 100, 1000, 10000};

int offpay_amount_parse_money(uint64_t *out, const char *s, unsigned exponent)
{
    uint64_t major, frac = 0;
    char whole[OFFPAY_AMOUNT_DIGITS_MAX + 1];

    if (s == NULL || exponent > OFFPAY_MONEY_EXPONENT_MAX)
        return -1;
    const char *point = strchr(s, '.');
    if (point == NULL)
        return offpay_amount_parse(out, s);
    size_t n_whole = (size_t)(point - s), n_frac = strlen(point + 1);
    /* The integer part is a canonical amount of its own ("0" or no leading zero). */
    if (n_whole == 0 || n_whole > OFFPAY_AMOUNT_DIGITS_MAX || n_frac == 0 || n_frac > exponent)
        return -1;
    memcpy(whole, s, n_whole);
    whole[n_whole] = '\0';
    if (offpay_amount_parse(&major, whole) != 0)
        return -1;
    for (size_t i = 0; i < n_frac; i++) {
        char ch = point[1 + i];
        if (ch < '0' || ch > '9')
            return -1; /* also a second point, a sign or a space */
        frac = frac * 10 + (uint64_t)(ch - '0');
    }
    frac *= pow10[exponent - n_frac]; /* "35.5" with exponent 2: 50 */
    if (major > (OFFPAY_AMOUNT_MAX - frac) / pow10[exponent])
        return -1;
    *out = major * pow10[exponent] + frac;
    return 0;
}

const char *offpay_amount_format(char *out, size_t cap, uint64_t amount, const struct offpay_money *m)
{
    struct offpay_money def;
    int n;

    if (m == NULL) {
        offpay_money_default(&def);
        m = &def;
    }
    if (cap == 0)
        return out;
    out[0] = '\0';
    if (!offpay_currency_code_valid(m->code) || m->exponent > OFFPAY_MONEY_EXPONENT_MAX)
        return out;
    uint64_t unit = pow10[m->exponent];
    if (m->exponent == 0)
        n = snprintf(out, cap, "%llu %s", (unsigned long long)amount, m->code);
    else
        n = snprintf(out, cap, "%llu.%0*llu %s", (unsigned long long)(amount / unit), (int)m->exponent,
                     (unsigned long long)(amount % unit), m->code);
    if (n < 0 || (size_t)n >= cap)
        out[0] = '\0';
    return out;
}

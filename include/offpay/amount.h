/*
 * amount.h - an amount written as text, as both programs take it on their
 * command lines (SPEC.md: non-negative integers in the currency's smallest
 * unit), and as money: a currency code and how many minor units make one
 * major unit (the exponent: 2 for 100 fen to the yuan).
 *
 * The one parser of decimal amounts, so that offpay and offpayd accept the
 * same strings, and the one formatter of money, so that they print it alike.
 * Amounts are kept as signed 64-bit integers by the stores (SQLite,
 * PostgreSQL), so the largest is INT64_MAX.
 */
#ifndef OFFPAY_AMOUNT_H
#define OFFPAY_AMOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "offpay/crypto.h"

#define OFFPAY_AMOUNT_MAX ((uint64_t)INT64_MAX) /* the largest amount a store can hold */
#define OFFPAY_AMOUNT_DIGITS_MAX 19             /* decimal digits of OFFPAY_AMOUNT_MAX */

/*
 * Parse a canonical decimal amount: 1 to OFFPAY_AMOUNT_DIGITS_MAX digits,
 * no sign, no space, no leading zero (except "0" itself), at most
 * OFFPAY_AMOUNT_MAX.  Zero is accepted; a caller that needs a positive
 * amount checks for it.
 * Returns: 0, or -1 when s is NULL or not such a string.
 * Out: *out, written only on success.
 * In: s, NUL-terminated.
 */
int offpay_amount_parse(uint64_t *out, const char *s) OFFPAY_WARN_UNUSED;

/* ---- money ---- */

#define OFFPAY_CURRENCY_CODE_BYTES 3   /* ISO 4217 style: three capital letters */
#define OFFPAY_MONEY_EXPONENT_MAX 4    /* minor units per major unit: 10^0 .. 10^4 */
#define OFFPAY_MONEY_DEFAULT_CODE "CNY"
#define OFFPAY_MONEY_DEFAULT_EXPONENT 2
/* Longest text offpay_amount_format writes, with its NUL: 19 digits, a
 * point, a leading "0" when the exponent is the digits' count, a space, the code. */
#define OFFPAY_MONEY_TEXT_MAX (OFFPAY_AMOUNT_DIGITS_MAX + 1 + 1 + 1 + OFFPAY_CURRENCY_CODE_BYTES + 1)

/* What the amounts of a ledger are counted in. */
struct offpay_money {
    char code[OFFPAY_CURRENCY_CODE_BYTES + 1]; /* NUL-terminated, "A".."Z" x 3 */
    uint8_t exponent;                          /* 0..OFFPAY_MONEY_EXPONENT_MAX */
};

/* Returns: 1 when code is exactly three letters A-Z, else 0 (NULL too). */
int offpay_currency_code_valid(const char *code);

/* Out: *m, the default money (CNY, exponent 2). */
void offpay_money_default(struct offpay_money *m);

/*
 * Parse an amount as the commands take it, in minor units (the rule of
 * docs/wallet.md, "Money"): a plain integer is minor units, exactly as
 * offpay_amount_parse reads it ("3500" is 3500); a number with a decimal
 * point is in major units, with 1 to exponent digits after the point and a
 * canonical integer part before it ("35.00", "35.5" and "0.05" are 3500,
 * 3550 and 5 when exponent is 2).  Refused: no digit before or after the
 * point ("35.", ".5"), more fraction digits than exponent ("35.123"; any
 * point when exponent is 0), a sign, a space, a second point, a leading
 * zero ("035.00"), a result over OFFPAY_AMOUNT_MAX.
 * Returns: 0, or -1 (exponent over OFFPAY_MONEY_EXPONENT_MAX too).
 * Out: *out, written only on success.
 */
int offpay_amount_parse_money(uint64_t *out, const char *s, unsigned exponent) OFFPAY_WARN_UNUSED;

/*
 * Write amount (minor units) in major units with m's code: "35.00 CNY" (3500,
 * exponent 2), "7 JPY" (exponent 0), "0.05 CNY" (5).  NULL m: the default.
 * Out: out (NUL-terminated; cap >= OFFPAY_MONEY_TEXT_MAX always suffices).
 * Returns: out ("" when cap is too small or m is not valid money).
 */
const char *offpay_amount_format(char *out, size_t cap, uint64_t amount, const struct offpay_money *m);

#endif

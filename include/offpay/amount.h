/*
 * amount.h - an amount written as text, as both programs take it on their
 * command lines (SPEC.md: non-negative integers in the currency's smallest
 * unit).
 *
 * The one parser of decimal amounts, so that offpay and offpayd accept the
 * same strings.  Amounts are kept as signed 64-bit integers by the stores
 * (SQLite, PostgreSQL), so the largest is INT64_MAX.
 */
#ifndef OFFPAY_AMOUNT_H
#define OFFPAY_AMOUNT_H

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

#endif

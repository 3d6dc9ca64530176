/*
 * test_amount.c - the one parser of decimal amounts (amount.h) takes every
 * canonical amount up to OFFPAY_AMOUNT_MAX and refuses every other spelling.
 */
#include <inttypes.h>
#include <string.h>

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

/* Issue 16: "35.00" as well as 3500 (docs/wallet.md "Money"). */
static const struct {
    const char *text;
    unsigned exponent;
    uint64_t value;
} money_good[] = {
    {"3500", 2, 3500},   /* a plain integer stays minor units */
    {"35.00", 2, 3500},  {"35.5", 2, 3550},  {"35.05", 2, 3505}, {"0.05", 2, 5},  {"0.5", 2, 50},
    {"0.00", 2, 0},      {"7.1234", 4, 71234}, {"7.1", 4, 71000}, {"7", 0, 7},      {"1.5", 1, 15},
    {"92233720368547758.07", 2, OFFPAY_AMOUNT_MAX},
    {"922337203685477.5807", 4, OFFPAY_AMOUNT_MAX},
};

static const struct {
    const char *text;
    unsigned exponent;
} money_bad[] = {
    {"35.123", 2}, /* more digits than the exponent */
    {"35.", 2},    /* empty fraction */
    {".5", 2},     /* no integer part */
    {".", 2},      {"", 2},     {"35.0.0", 2}, {"035.00", 2}, {"00.50", 2}, {"+35.00", 2}, {"-35.00", 2},
    {"35.-5", 2},  {"35.+5", 2}, {" 35.00", 2}, {"35.00 ", 2}, {"35 .00", 2}, {"35. 00", 2}, {"35,00", 2},
    {"35.0a", 2},  {"1e3", 2},
    {"35.0", 0},   /* no point at all when the exponent is 0 */
    {"35.00", 5},  /* no such exponent */
    {"92233720368547758.08", 2}, /* OFFPAY_AMOUNT_MAX + 1 */
    {"184467440737095516.16", 2}, /* 2^64 in minor units: wraps if unchecked */
    {"9999999999999999999.99", 2},
    {"99999999999999999999.9", 2}, /* too many integer digits */
    {"007", 2},    /* the integer rule holds as before */
};

static void test_money_parse(void)
{
    uint64_t v;
    for (size_t i = 0; i < sizeof money_good / sizeof money_good[0]; i++) {
        v = 42;
        CHECK(offpay_amount_parse_money(&v, money_good[i].text, money_good[i].exponent) == 0);
        CHECK_U64(v, money_good[i].value);
    }
    for (size_t i = 0; i < sizeof money_bad / sizeof money_bad[0]; i++) {
        v = 42;
        CHECK(offpay_amount_parse_money(&v, money_bad[i].text, money_bad[i].exponent) == -1);
        CHECK_U64(v, 42);
    }
    CHECK(offpay_amount_parse_money(&v, NULL, 2) == -1);
}

static void test_money_format(void)
{
    char out[OFFPAY_MONEY_TEXT_MAX];
    struct offpay_money jpy = {"JPY", 0}, kwd = {"KWD", 3}, bad = {"cny", 2}, e4 = {"XAU", 4};
    CHECK(strcmp(offpay_amount_format(out, sizeof out, 3500, NULL), "35.00 CNY") == 0);
    CHECK(strcmp(offpay_amount_format(out, sizeof out, 5, NULL), "0.05 CNY") == 0);
    CHECK(strcmp(offpay_amount_format(out, sizeof out, 0, NULL), "0.00 CNY") == 0);
    CHECK(strcmp(offpay_amount_format(out, sizeof out, 7, &jpy), "7 JPY") == 0);
    CHECK(strcmp(offpay_amount_format(out, sizeof out, 1234567, &kwd), "1234.567 KWD") == 0);
    CHECK(strcmp(offpay_amount_format(out, sizeof out, OFFPAY_AMOUNT_MAX, &e4), "922337203685477.5807 XAU") == 0);
    CHECK(strcmp(offpay_amount_format(out, sizeof out, OFFPAY_AMOUNT_MAX, &jpy), "9223372036854775807 JPY") == 0);
    CHECK(strcmp(offpay_amount_format(out, sizeof out, 5, &bad), "") == 0);
    CHECK(strcmp(offpay_amount_format(out, 9, 3500, NULL), "") == 0); /* "35.00 CNY" needs 10 */
    CHECK(strcmp(offpay_amount_format(out, 10, 3500, NULL), "35.00 CNY") == 0);
    /* What is printed parses back to the same amount. */
    uint64_t v;
    offpay_amount_format(out, sizeof out, 123456, &kwd);
    *strchr(out, ' ') = '\0';
    CHECK(offpay_amount_parse_money(&v, out, kwd.exponent) == 0);
    CHECK_U64(v, 123456);
}

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
    test_money_parse();
    test_money_format();
    return 0;
}

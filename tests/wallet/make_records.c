/*
 * make_records.c - a helper of test_sync_bounded.sh: fill two enrolled
 * wallets with COUNT confirmed offline payments of the largest size
 * (OFFPAY_RECORD_INPUTS_MAX inputs each), quickly, through the wallet
 * library rather than four offpay processes per payment.
 *
 * The payer loads COUNT * OFFPAY_RECORD_INPUTS_MAX coins of 1 from the
 * server (one load per OFFPAY_API_COINS_MAX coins); then each payment of
 * OFFPAY_RECORD_INPUTS_MAX spends that many coins of 1 (coin selection
 * takes the fewest coins, and no single coin covers it), and goes request
 * (payee) -> pay -> accept -> confirm.  Both wallets end with COUNT unsynced
 * records carrying their confirmations.
 *
 * Prints "body_max=N pending_bytes=M": the server's request body limit and
 * the bytes the payer's pending records and confirmations take in text
 * form, so the test can show they do not fit in one request.
 *
 * Usage: make_records PAYER_DIR PAYEE_DIR COUNT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offpay/api.h"
#include "offpay/text.h"
#include "offpay/wallet.h"

static int die(const char *what, const struct offpay_wallet *w, enum offpay_status s)
{
    fprintf(stderr, "make_records: %s: %s (%s)\n", what, offpay_wallet_error(w), offpay_status_code(s));
    return 1;
}

static int load_ones(struct offpay_wallet *payer, size_t n)
{
    uint64_t ones[OFFPAY_API_COINS_MAX], online;
    for (size_t i = 0; i < OFFPAY_API_COINS_MAX; i++)
        ones[i] = 1;
    for (size_t done = 0; done < n;) {
        size_t k = n - done < OFFPAY_API_COINS_MAX ? n - done : OFFPAY_API_COINS_MAX;
        enum offpay_status s = offpay_wallet_load(payer, &online, ones, k);
        if (s != OFFPAY_OK)
            return die("load", payer, s);
        done += k;
    }
    return 0;
}

/* One payment of the largest size.  Out: *bytes += its record and confirmation in text form. */
static int pay_once(struct offpay_wallet *payer, struct offpay_wallet *payee, size_t *bytes)
{
    static uint8_t req[OFFPAY_REQUEST_BYTES_MAX], rec[OFFPAY_RECORD_BYTES_MAX], conf[OFFPAY_CONFIRMATION_BYTES_MAX];
    size_t req_len, rec_len, conf_len;
    struct offpay_wallet_payment info;
    enum offpay_status s;
    if ((s = offpay_wallet_request_create(payee, req, sizeof req, &req_len, OFFPAY_RECORD_INPUTS_MAX)) != OFFPAY_OK)
        return die("request", payee, s);
    if ((s = offpay_wallet_pay(payer, rec, sizeof rec, &rec_len, &info, req, req_len)) != OFFPAY_OK)
        return die("pay", payer, s);
    if (info.n_inputs != OFFPAY_RECORD_INPUTS_MAX) {
        fprintf(stderr, "make_records: a payment spent %u inputs, not %d\n", info.n_inputs, OFFPAY_RECORD_INPUTS_MAX);
        return 1;
    }
    if ((s = offpay_wallet_accept(payee, conf, sizeof conf, &conf_len, NULL, rec, rec_len)) != OFFPAY_OK)
        return die("accept", payee, s);
    if ((s = offpay_wallet_confirm(payer, NULL, conf, conf_len)) != OFFPAY_OK)
        return die("confirm", payer, s);
    *bytes += offpay_text_len(rec_len) + offpay_text_len(conf_len);
    return 0;
}

int main(int argc, char **argv)
{
    struct offpay_wallet *payer = NULL, *payee = NULL;
    char err[OFFPAY_WALLET_ERROR_MAX];
    size_t bytes = 0;
    int rc = 1;
    if (argc != 4) {
        fprintf(stderr, "usage: make_records PAYER_DIR PAYEE_DIR COUNT\n");
        return 2;
    }
    size_t count = strtoul(argv[3], NULL, 10);
    if (offpay_wallet_open(&payer, err, argv[1]) != OFFPAY_OK || offpay_wallet_open(&payee, err, argv[2]) != OFFPAY_OK) {
        fprintf(stderr, "make_records: %s\n", err);
        goto done;
    }
    if (load_ones(payer, count * OFFPAY_RECORD_INPUTS_MAX) != 0)
        goto done;
    for (size_t i = 0; i < count; i++)
        if (pay_once(payer, payee, &bytes) != 0)
            goto done;
    printf("body_max=%u pending_bytes=%zu\n", (unsigned)OFFPAY_API_BODY_MAX, bytes);
    rc = 0;
done:
    offpay_wallet_close(payer);
    offpay_wallet_close(payee);
    return rc;
}

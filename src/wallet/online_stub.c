/*
 * online_stub.c - stands in for online.c in a build without the server's
 * client library (src/client): every online operation answers that the
 * server cannot be reached, so the offline wallet still builds and works.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char no_client[] = "This build of offpay has no server client; the server cannot be reached.";

enum offpay_status offpay_wallet_init(struct offpay_wallet **w, char *err, const char *dir, const char *server_url,
                                      const char *account, const char *token)
{
    (void)dir, (void)server_url, (void)account, (void)token;
    *w = NULL;
    if (err)
        snprintf(err, OFFPAY_WALLET_ERROR_MAX, "%s", no_client);
    return OFFPAY_ERR_UNREACHABLE;
}

enum offpay_status offpay_wallet_online_balance(struct offpay_wallet *w, uint64_t *online)
{
    *online = 0;
    return wallet_fail(w, OFFPAY_ERR_UNREACHABLE, "%s", no_client);
}

enum offpay_status offpay_wallet_load(struct offpay_wallet *w, uint64_t *online, const uint64_t *amounts, size_t n)
{
    (void)amounts, (void)n;
    *online = 0;
    return wallet_fail(w, OFFPAY_ERR_UNREACHABLE, "%s", no_client);
}

enum offpay_status offpay_wallet_unload(struct offpay_wallet *w, uint64_t *online, uint64_t *unloaded, const uint8_t *id)
{
    (void)id;
    *online = *unloaded = 0;
    return wallet_fail(w, OFFPAY_ERR_UNREACHABLE, "%s", no_client);
}

enum offpay_status offpay_wallet_sync(struct offpay_wallet *w, struct offpay_sync_report *report)
{
    memset(report, 0, sizeof *report);
    return wallet_fail(w, OFFPAY_ERR_UNREACHABLE, "%s", no_client);
}

void offpay_sync_report_free(struct offpay_sync_report *report)
{
    free(report->items);
    free(report->new_utxos);
    memset(report, 0, sizeof *report);
}

enum offpay_status offpay_wallet_pay_online(struct offpay_wallet *w, struct offpay_sync_report *report, uint64_t *online,
                                            const char *account, uint64_t amount)
{
    (void)account, (void)amount;
    *online = 0;
    return offpay_wallet_sync(w, report);
}

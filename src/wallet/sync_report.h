/*
 * sync_report.h - how sync and pay-online show a sync report.
 */
#ifndef OFFPAY_CLI_SYNC_REPORT_H
#define OFFPAY_CLI_SYNC_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include "offpay/wallet.h"

/* The JSON shape of `offpay sync --json` (SPEC.md, plus details). */
json_t *cli_sync_json(const struct offpay_sync_report *r);
/* The human lines of a sync. */
void cli_sync_print(FILE *f, const struct offpay_sync_report *r);
/* On stderr: the warning of a sync whose coin recovery failed (if any). */
void cli_sync_warn(const struct offpay_sync_report *r);

#endif

/*
 * pg_ledger.h - the PostgreSQL backend of the ledger interface (libpq).
 */
#ifndef OFFPAY_PG_LEDGER_H
#define OFFPAY_PG_LEDGER_H

#include "offpay/ledger.h"

/* See offpay_ledger_open; url is a libpq connection URI (postgresql://...). */
enum offpay_status offpay_pg_ledger_open(struct offpay_ledger **out, const char *url, int create, char *err,
                                         size_t err_cap);

/* Round trips (statements, each waited for) to PostgreSQL so far in this process. */
uint64_t offpay_pg_round_trips(void);

#endif

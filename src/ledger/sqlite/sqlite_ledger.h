/*
 * sqlite_ledger.h - the embedded SQLite backend of the ledger interface.
 */
#ifndef OFFPAY_SQLITE_LEDGER_H
#define OFFPAY_SQLITE_LEDGER_H

#include "offpay/ledger.h"

/* See offpay_ledger_open; path is the database file. */
enum offpay_status offpay_sqlite_ledger_open(struct offpay_ledger **out, const char *path, int create, char *err,
                                             size_t err_cap);

#endif

/*
 * migrations.h - the SQLite schema as numbered migrations, embedded at build
 * time from migrations/NNN_*.sql (see cmake/embed_migrations.cmake).  A ledger's
 * PRAGMA user_version is the number of the last migration applied.
 */
#ifndef OFFPAY_SQLITE_MIGRATIONS_H
#define OFFPAY_SQLITE_MIGRATIONS_H

#include "offpay/migration.h"

extern const struct offpay_migration offpay_sqlite_migrations[];
extern const int offpay_sqlite_migrations_count;

#endif

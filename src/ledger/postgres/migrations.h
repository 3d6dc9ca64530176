/*
 * migrations.h - the PostgreSQL schema as numbered migrations, embedded at
 * build time from migrations/NNN_*.sql (see cmake/embed_migrations.cmake).  The
 * table offpay_schema holds the number of the last migration applied.
 */
#ifndef OFFPAY_POSTGRES_MIGRATIONS_H
#define OFFPAY_POSTGRES_MIGRATIONS_H

#include "offpay/migration.h"

extern const struct offpay_migration offpay_postgres_migrations[];
extern const int offpay_postgres_migrations_count;

#endif

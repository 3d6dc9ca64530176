/*
 * migrations.h - the wallet schema as numbered migrations.
 *
 * migrations/NNN_what.sql are compiled in (see cmake/embed_migrations.cmake)
 * in order; the database's user_version counts how many have been applied.
 */
#ifndef OFFPAY_WALLET_MIGRATIONS_H
#define OFFPAY_WALLET_MIGRATIONS_H

#include "offpay/migration.h"

extern const struct offpay_migration offpay_wallet_migrations[];
extern const int offpay_wallet_migrations_count;

#endif

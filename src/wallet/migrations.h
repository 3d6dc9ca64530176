/*
 * migrations.h - the wallet schema as numbered migrations.
 *
 * migrations/NNNN_name.sql are compiled in (see CMakeLists.txt) in file-name
 * order; the database's user_version counts how many have been applied.
 */
#ifndef OFFPAY_WALLET_MIGRATIONS_H
#define OFFPAY_WALLET_MIGRATIONS_H

struct wallet_migration {
    const char *name;
    const char *sql;
};

extern const struct wallet_migration wallet_migrations[];
extern const int wallet_migrations_count;

#endif

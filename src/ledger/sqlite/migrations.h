/*
 * migrations.h - the SQLite schema as numbered migrations, embedded at build
 * time from migrations/NNN_*.sql (see ../embed_migrations.cmake).  A ledger's
 * PRAGMA user_version is the number of the last migration applied.
 */
#ifndef OFFPAY_SQLITE_MIGRATIONS_H
#define OFFPAY_SQLITE_MIGRATIONS_H

struct offpay_sqlite_migration {
    int number;
    const char *sql;
};

extern const struct offpay_sqlite_migration offpay_sqlite_migrations[];
extern const int offpay_sqlite_migrations_count;

#endif

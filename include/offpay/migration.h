/*
 * migration.h - a schema as a list of numbered migrations, compiled in.
 *
 * The wallet's store and each ledger backend keep their schema as files
 * migrations/NNN_what.sql, which cmake/embed_migrations.cmake turns into an
 * array offpay_NAME_migrations[] of this struct, in order.  Numbers run 1, 2,
 * 3 ... (the build refuses a gap), so a database's schema version is both the
 * number of the last migration applied to it and how many were applied.
 */
#ifndef OFFPAY_MIGRATION_H
#define OFFPAY_MIGRATION_H

struct offpay_migration {
    int number;       /* 1, 2, 3 ... */
    const char *name; /* the file's name, for messages: "002_utxo_owner.sql" */
    const char *sql;  /* its statements, NUL-terminated */
};

#endif

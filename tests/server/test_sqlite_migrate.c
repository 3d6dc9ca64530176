/*
 * test_sqlite_migrate.c - an SQLite ledger made by an older offpayd is
 * upgraded in place and keeps every coin: a ledger at schema 2 (one utxos
 * table with a spent flag) with an unspent, a record-spent and an unloaded
 * coin is opened, migration 003 splits the coin set into unspent and spent,
 * and each coin answers through the ledger interface as before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "offpay/ledger.h"
#include "sqlite/migrations.h"
#include "check.h"


static int sum_rows(void *ctx, const struct offpay_ledger_audit_row *row)
{
    *(uint64_t *)ctx += row->unspent;
    return 0;
}

int main(void)
{
    const char *dir = check_temp_dir("test-migrate");
    char path[600], url[700], err[512];
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", path);

    /* An old ledger: migrations 1 and 2 only, with three coins. */
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    for (int i = 0; i < offpay_sqlite_migrations_count && offpay_sqlite_migrations[i].number <= 2; i++)
        CHECK(sqlite3_exec(db, offpay_sqlite_migrations[i].sql, NULL, NULL, NULL) == SQLITE_OK);
    /* Ids: 31 zero bytes then 01, 02, 03; owner aa then 31 zero bytes; spender 77 then zeros. */
    char sql[2048], zeros[63];
    memset(zeros, '0', 62);
    zeros[62] = '\0';
    snprintf(sql, sizeof sql,
             "PRAGMA user_version = 2;"
             "INSERT INTO accounts (id, name, created) VALUES (1, 'alice', 0);"
             "INSERT INTO utxos (id, owner, account_id, amount, created) VALUES "
             "  (x'%s01', x'aa%s', 1, 100, 5), (x'%s02', x'aa%s', 1, 200, 5), (x'%s03', x'aa%s', 1, 300, 5);"
             "UPDATE utxos SET spent = 1, spent_by = x'77%s', spent_at = 9 WHERE amount = 200;"
             "UPDATE utxos SET spent = 2, spent_at = 9 WHERE amount = 300;",
             zeros, zeros, zeros, zeros, zeros, zeros, zeros);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);

    struct offpay_ledger *l = NULL;
    CHECK(offpay_ledger_open(&l, url, 0, err, sizeof err) == OFFPAY_OK);
    if (l != NULL) {
        const struct offpay_ledger_ops *op = l->ops;
        uint8_t owner[32] = {0xaa}, id[32] = {0};
        struct offpay_ledger_utxo u;
        id[31] = 1;
        CHECK(op->utxo_get(l, owner, id, &u) == OFFPAY_LEDGER_OK && u.amount == 100 &&
               u.spent == OFFPAY_LEDGER_UNSPENT && u.account_id == 1);
        id[31] = 2;
        CHECK(op->utxo_get(l, owner, id, &u) == OFFPAY_LEDGER_OK && u.amount == 200 &&
               u.spent == OFFPAY_LEDGER_SPENT_BY_RECORD && u.spent_by[0] == 0x77);
        id[31] = 3;
        CHECK(op->utxo_get(l, owner, id, &u) == OFFPAY_LEDGER_OK && u.amount == 300 &&
               u.spent == OFFPAY_LEDGER_SPENT_BY_UNLOAD);
        /* spent coins stay spent: not insertable again, not spendable */
        u.spent = 0;
        /* a coin's insert is a look-up and an insert, atomic only in a write transaction */
        CHECK(op->utxo_insert(l, &u, 10) == OFFPAY_LEDGER_ERROR);
        CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
        CHECK(op->utxo_insert(l, &u, 10) == OFFPAY_LEDGER_DUPLICATE);
        CHECK(op->utxo_spend(l, &u, OFFPAY_LEDGER_SPENT_BY_UNLOAD, NULL, 10) == OFFPAY_LEDGER_NOT_FOUND);
        op->rollback(l);
        uint64_t unspent = 0;
        CHECK(op->audit(l, sum_rows, &unspent) == OFFPAY_LEDGER_OK && unspent == 100);
        offpay_ledger_close(l);
    }
    /* the old table is gone; the view shows all three in the old shape */
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*), sum(spent) FROM utxos", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 3 && sqlite3_column_int(st, 1) == 3);
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == offpay_sqlite_migrations_count);
    sqlite3_finalize(st);
    sqlite3_close(db);

    return 0;
}

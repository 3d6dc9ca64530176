/*
 * test_coalesce_vfs.c - the write-coalescing VFS under the SQLite ledger
 * keeps databases byte-for-byte what SQLite's own VFS would: a database is
 * written through it (rows of every size, from a few bytes to several
 * pieces of the largest write, in many WAL transactions, with checkpoints,
 * reads of just-written rows inside a transaction, a rollback and a
 * truncating checkpoint), then reopened with SQLite's default VFS, which must
 * find it intact and holding exactly the expected rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sqlite/coalesce_vfs.h"
#include "check.h"


#define ROWS 3000

/* Row i's size and bytes: deterministic, so both readers can check them. */
static int row_len(int i) { return i % 97 == 0 ? 200000 + i : i % 7 == 0 ? 5000 + i : 10 + i % 300; }
static void row_fill(unsigned char *p, int i, int n)
{
    for (int k = 0; k < n; k++)
        p[k] = (unsigned char)(i * 31 + k * 7);
}

static int exec(sqlite3 *db, const char *sql) { return sqlite3_exec(db, sql, NULL, NULL, NULL); }

/* Every row present with exactly its bytes; rows >= ROWS (rolled back) absent. */
static void check_rows(sqlite3 *db)
{
    sqlite3_stmt *st;
    static unsigned char want[300000];
    int seen = 0;
    CHECK(sqlite3_prepare_v2(db, "SELECT k, v FROM t ORDER BY k", -1, &st, NULL) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int k = sqlite3_column_int(st, 0), n = sqlite3_column_bytes(st, 1);
        CHECK(k == seen);
        CHECK(n == row_len(k));
        row_fill(want, k, row_len(k));
        CHECK(n == row_len(k) && memcmp(sqlite3_column_blob(st, 1), want, (size_t)n) == 0);
        seen++;
    }
    sqlite3_finalize(st);
    CHECK(seen == ROWS);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0);
    sqlite3_finalize(st);
}

int main(void)
{
    const char *dir = check_temp_dir("test-vfs");
    char path[600];
    static unsigned char buf[300000];
    sqlite3 *db;
    sqlite3_stmt *ins, *get;

    snprintf(path, sizeof path, "%s/t.db", dir);
    CHECK(offpay_coalesce_vfs_register() == 0);
    CHECK(offpay_coalesce_vfs_register() == 0); /* idempotent */
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, OFFPAY_COALESCE_VFS) == SQLITE_OK);
    CHECK(exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 50;"
                    "PRAGMA cache_size = 20; CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)") == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO t (k, v) VALUES (?1, ?2)", -1, &ins, NULL) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT length(v) FROM t WHERE k = ?1", -1, &get, NULL) == SQLITE_OK);
    for (int i = 0; i < ROWS; i++) {
        if (i % 100 == 0)
            CHECK(exec(db, "BEGIN IMMEDIATE") == SQLITE_OK);
        row_fill(buf, i, row_len(i));
        sqlite3_bind_int(ins, 1, i);
        sqlite3_bind_blob(ins, 2, buf, row_len(i), SQLITE_STATIC);
        CHECK(sqlite3_step(ins) == SQLITE_DONE);
        sqlite3_reset(ins);
        /* read back, inside the transaction, a row written a moment ago (the
         * small page cache spills pages to the WAL, so some reads hit bytes
         * the shim still holds) */
        sqlite3_bind_int(get, 1, i / 2);
        CHECK(sqlite3_step(get) == SQLITE_ROW && sqlite3_column_int(get, 0) == row_len(i / 2));
        sqlite3_reset(get);
        if (i % 100 == 99)
            CHECK(exec(db, "COMMIT") == SQLITE_OK);
    }
    /* a rolled-back transaction leaves nothing */
    CHECK(exec(db, "BEGIN IMMEDIATE") == SQLITE_OK);
    row_fill(buf, 1, 250000);
    sqlite3_bind_int(ins, 1, ROWS);
    sqlite3_bind_blob(ins, 2, buf, 250000, SQLITE_STATIC);
    CHECK(sqlite3_step(ins) == SQLITE_DONE);
    sqlite3_reset(ins);
    CHECK(exec(db, "ROLLBACK") == SQLITE_OK);
    sqlite3_finalize(ins);
    sqlite3_finalize(get);
    check_rows(db);

    /* A second connection through SQLite's own VFS sees every commit. */
    sqlite3 *other;
    CHECK(sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
    check_rows(other);
    sqlite3_close(other);

    CHECK(exec(db, "PRAGMA wal_checkpoint(TRUNCATE)") == SQLITE_OK);
    CHECK(sqlite3_close(db) == SQLITE_OK);

    /* Reopened with SQLite's own VFS only. */
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
    check_rows(db);
    sqlite3_close(db);

    return 0;
}

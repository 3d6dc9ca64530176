/*
 * sqlite_ledger.c - the ledger interface on an embedded SQLite database.
 *
 * Durability: WAL journal with synchronous=FULL, so a commit that returned is
 * on disk.  Concurrency: writers take the database write lock at begin
 * (BEGIN IMMEDIATE) so a transaction never fails half-way on a lock; threads
 * of one process queue on a mutex first, so they do not spin in SQLite's busy
 * handler against each other, and other processes (an offpayd command run
 * while the server serves) wait up to the busy timeout, after which the
 * caller is told to retry.  Every statement is prepared once per connection.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sqlite/coalesce_vfs.h"
#include "sqlite/fault_vfs.h"
#include "sqlite/migrations.h"
#include "sqlite/sqlite_ledger.h"

#define BUSY_TIMEOUT_MS 5000

/* One writer per process at a time (see the top of the file). */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

enum stmt {
    S_META_GET,
    S_META_SET,
    S_ACC_CREATE,
    S_ACC_GET,
    S_ACC_GET_ID,
    S_ACC_UPDATE,
    S_TOKEN_INSERT,
    S_TOKEN_TAKE,
    S_TOKEN_SET_WALLET,
    S_TOKEN_GET_WALLET,
    S_WALLET_CERT,
    S_WALLET_CERT_SET,
    S_WALLET_INSERT,
    S_WALLET_GET,
    S_WALLET_GET_KEY,
    S_WALLET_FRAUD,
    S_WALLET_LOST,
    S_WALLET_WRITE_OFF,
    S_WALLET_SYNCED,
    S_WALLET_LIST,
    S_WALLET_LIST_ALL,
    S_WALLET_RANGE,
    S_WALLET_DUE,
    S_REVOKED_INSERT,
    S_REVOCATION_BUMP,
    S_REVOCATION_GET,
    S_REVOKED_COUNT,
    S_REVOKED_IDS,
    S_NONCE_INSERT,
    S_NONCE_KEEP,
    S_NONCE_GET,
    S_NONCE_PRUNE,
    S_LIMITS_GET,
    S_LIMITS_SET,
    S_UTXO_INSERT,
    S_SPENT_HAS,
    S_UTXO_GET,
    S_UTXO_GET_SPENT,
    S_UTXO_TAKE,
    S_UTXO_SPENT_INSERT,
    S_UTXO_UNSPENT_OF,
    S_RECORD_INSERT,
    S_RECORD_GET,
    S_FRAUD_INSERT,
    S_FRAUD_GET,
    S_FRAUD_LIST,
    S_AUDIT,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_BEGIN,
    S_BEGIN_IMMEDIATE,
    S_COMMIT,
    S_ROLLBACK,
    S_COUNT
};

/* What a wallet row shows (wallet_row reads them in this order). */
#define WALLET_COLS                                                                                                    \
    "id, account_id, public_key, fraudulent, created, loss, lost_at, writeoff_at, written_off_at, written_off, "       \
    "last_sync"

static const char *const sql_text[S_COUNT] = {
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [S_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
    [S_ACC_CREATE] = "INSERT INTO accounts (name, created) VALUES (?1, ?2)",
    [S_ACC_GET] = "SELECT id, name, online, minted, received, sent FROM accounts WHERE name = ?1",
    [S_ACC_GET_ID] = "SELECT id, name, online, minted, received, sent FROM accounts WHERE id = ?1",
    [S_ACC_UPDATE] = "UPDATE accounts SET online = ?2, minted = ?3, received = ?4, sent = ?5 WHERE id = ?1",
    [S_TOKEN_INSERT] = "INSERT INTO tokens (hash, account_id, created) VALUES (?1, ?2, ?3)",
    [S_TOKEN_TAKE] = "UPDATE tokens SET used = ?2 WHERE hash = ?1 AND used IS NULL RETURNING account_id",
    [S_TOKEN_SET_WALLET] = "UPDATE tokens SET wallet_id = ?2 WHERE hash = ?1 AND used IS NOT NULL",
    [S_TOKEN_GET_WALLET] = "SELECT wallet_id FROM tokens WHERE hash = ?1 AND used IS NOT NULL AND wallet_id IS NOT NULL",
    [S_WALLET_CERT] = "SELECT certificate FROM wallets WHERE id = ?1",
    [S_WALLET_CERT_SET] = "UPDATE wallets SET certificate = ?2 WHERE id = ?1",
    [S_WALLET_INSERT] = "INSERT INTO wallets (id, account_id, public_key, certificate, created) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_WALLET_GET] = "SELECT " WALLET_COLS " FROM wallets WHERE id = ?1",
    [S_WALLET_GET_KEY] = "SELECT " WALLET_COLS " FROM wallets WHERE public_key = ?1",
    [S_WALLET_FRAUD] = "UPDATE wallets SET fraudulent = 1, revoked_at = ?2 WHERE id = ?1 AND fraudulent = 0",
    [S_WALLET_LOST] = "UPDATE wallets SET loss = ?2, lost_at = ?3, writeoff_at = ?4 WHERE id = ?1 AND loss = 0",
    [S_WALLET_WRITE_OFF] = "UPDATE wallets SET written_off_at = ?2, written_off = ?3 "
                           "WHERE id = ?1 AND loss <> 0 AND written_off_at = 0",
    [S_WALLET_SYNCED] = "UPDATE wallets SET last_sync = ?2 WHERE id = ?1",
    [S_WALLET_LIST] = "SELECT " WALLET_COLS " FROM wallets WHERE account_id = ?1 ORDER BY id",
    [S_WALLET_LIST_ALL] = "SELECT " WALLET_COLS " FROM wallets ORDER BY id",
    [S_WALLET_RANGE] = "SELECT " WALLET_COLS " FROM wallets WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
    [S_WALLET_DUE] = "SELECT " WALLET_COLS " FROM wallets WHERE loss <> 0 AND written_off_at = 0 AND writeoff_at <= ?1 "
                     "ORDER BY writeoff_at, id",
    [S_REVOKED_INSERT] = "INSERT OR IGNORE INTO revoked (wallet_id, at) VALUES (?1, ?2)",
    [S_REVOCATION_BUMP] = "UPDATE revocation SET serial = serial + 1, issued_at = ?1 WHERE id = 1",
    [S_REVOCATION_GET] = "SELECT serial, issued_at FROM revocation WHERE id = 1",
    [S_REVOKED_COUNT] = "SELECT count(*) FROM revoked",
    [S_REVOKED_IDS] = "SELECT wallet_id FROM revoked ORDER BY wallet_id",
    [S_NONCE_INSERT] = "INSERT INTO nonces (wallet_id, nonce, ts) VALUES (?1, ?2, ?3)",
    [S_NONCE_KEEP] = "INSERT INTO nonces (wallet_id, nonce, ts, kind, answer) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_NONCE_GET] = "SELECT ts, kind, answer FROM nonces WHERE wallet_id = ?1 AND nonce = ?2",
    [S_NONCE_PRUNE] = "DELETE FROM nonces WHERE ts < ?2 OR (ts < ?1 AND kind = 0)",
    [S_LIMITS_GET] = "SELECT per_payment, offline_total, count, period, issued_at, holding, offline_time"
                     " FROM limits WHERE wallet_id = ?1",
    [S_LIMITS_SET] = "INSERT INTO limits (wallet_id, per_payment, offline_total, count, period, issued_at, holding, "
                     "offline_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (wallet_id) DO UPDATE SET "
                     "per_payment = ?2, offline_total = ?3, count = ?4, period = ?5, issued_at = ?6, holding = ?7, "
                     "offline_time = ?8",
    /* A spent id never comes back (see migration 003): S_SPENT_HAS first,
     * in the same write transaction (sl_utxo_insert). */
    [S_UTXO_INSERT] = "INSERT INTO unspent (owner, id, account_id, amount, created) VALUES (?2, ?1, ?3, ?4, ?5)",
    [S_SPENT_HAS] = "SELECT 1 FROM spent WHERE id = ?1",
    [S_UTXO_GET] = "SELECT account_id, amount, created FROM unspent WHERE owner = ?1 AND id = ?2",
    [S_UTXO_GET_SPENT] = "SELECT account_id, amount, created, how, spent_by FROM spent WHERE id = ?2 AND owner = ?1",
    [S_UTXO_TAKE] = "DELETE FROM unspent WHERE owner = ?1 AND id = ?2",
    [S_UTXO_SPENT_INSERT] = "INSERT INTO spent (id, owner, account_id, amount, created, how, spent_by, spent_at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    /* x'' sorts before every id: "after nothing" lists from the first. */
    [S_UTXO_UNSPENT_OF] = "SELECT id, amount FROM unspent WHERE owner = ?1 AND id > ?3 ORDER BY id LIMIT ?2",
    [S_RECORD_INSERT] = "INSERT INTO records (id, state, payer_wallet, payee_key, body, confirmation, refusal, at) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_RECORD_GET] = "SELECT state, payer_wallet, payee_key, body, confirmation, refusal, at FROM records WHERE id = ?1",
    [S_FRAUD_INSERT] = "INSERT INTO frauds (record_id, payer_wallet, account_id, input, record, first_record, at) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_FRAUD_GET] = "SELECT record_id, payer_wallet, account_id, input, record, first_record, at FROM frauds "
                    "WHERE record_id = ?1",
    [S_FRAUD_LIST] = "SELECT record_id, payer_wallet, account_id, input, record, first_record, at FROM frauds "
                     "ORDER BY at, record_id",
    [S_AUDIT] = "SELECT a.id, a.name, a.online, a.minted, a.received, a.sent, coalesce(u.total, 0), "
                "coalesce(u.bad, 0) FROM accounts a LEFT JOIN (SELECT account_id, sum(amount) AS total, "
                "max(amount < 0) AS bad FROM unspent GROUP BY account_id) u ON u.account_id = a.id "
                /* coins whose account is gone can only come from tampering; show them as one more row */
                "UNION ALL SELECT -1, '(no account)', 0, 0, 0, 0, sum(amount), max(amount < 0) FROM unspent "
                "WHERE account_id NOT IN (SELECT id FROM accounts) HAVING count(*) > 0 "
                "ORDER BY 2",
    [S_SAVEPOINT] = "SAVEPOINT offpay_member",
    [S_RELEASE] = "RELEASE offpay_member",
    [S_ROLLBACK_TO] = "ROLLBACK TO offpay_member",
    /* Prepared once, as the others: sqlite3_exec would parse them again for
     * every transaction (every request reads in one). */
    [S_BEGIN] = "BEGIN",
    [S_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
};

/* Growable buffers for the blobs a get hands out (valid until the next call). */
struct blob {
    uint8_t *p;
    size_t cap;
};

struct sqlite_ledger {
    struct offpay_ledger base;
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
    int in_tx, tx_write;
    int marked; /* the open transaction has a savepoint */
    char err[256];
    struct blob b[3];
};

#define SL(l) ((struct sqlite_ledger *)(l))

static enum offpay_ledger_result fail(struct sqlite_ledger *s, int rc)
{
    snprintf(s->err, sizeof s->err, "%s", sqlite3_errmsg(s->db));
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return OFFPAY_LEDGER_RETRY;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
            return OFFPAY_LEDGER_DUPLICATE;
        return OFFPAY_LEDGER_ERROR;
    case SQLITE_FULL:  /* the disk is full */
    case SQLITE_IOERR: /* the disk failed a read, write, sync, ... */
    case SQLITE_CANTOPEN:
        return OFFPAY_LEDGER_UNAVAILABLE;
    default:
        return OFFPAY_LEDGER_ERROR;
    }
}

/* The prepared statement, reset and unbound, or NULL (s->err says why). */
static sqlite3_stmt *stmt(struct sqlite_ledger *s, enum stmt i)
{
    if (s->st[i] == NULL) {
        if (sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
            snprintf(s->err, sizeof s->err, "%s", sqlite3_errmsg(s->db));
            s->st[i] = NULL;
            return NULL;
        }
    } else {
        sqlite3_reset(s->st[i]);
        sqlite3_clear_bindings(s->st[i]);
    }
    return s->st[i];
}

/* Run a statement that returns no rows. */
static enum offpay_ledger_result exec_done(struct sqlite_ledger *s, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    enum offpay_ledger_result r = rc == SQLITE_DONE ? OFFPAY_LEDGER_OK : fail(s, sqlite3_extended_errcode(s->db));
    sqlite3_reset(st);
    return r;
}

/* Run one of the statements that begin or end a transaction. */
static enum offpay_ledger_result tx_stmt(struct sqlite_ledger *s, enum stmt i)
{
    sqlite3_stmt *st = stmt(s, i);
    return st != NULL ? exec_done(s, st) : fail(s, sqlite3_extended_errcode(s->db));
}

/* Step to the first row: OK (row ready), NOT_FOUND, or an error (reset). */
static enum offpay_ledger_result step_row(struct sqlite_ledger *s, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return OFFPAY_LEDGER_OK;
    enum offpay_ledger_result r = rc == SQLITE_DONE ? OFFPAY_LEDGER_NOT_FOUND : fail(s, sqlite3_extended_errcode(s->db));
    sqlite3_reset(st);
    return r;
}

static int bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    if (p == NULL)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_blob(st, i, p, (int)n, SQLITE_STATIC);
}

/* Copy a blob column of exactly n bytes; -1 if it is not that. */
static int col_fixed(sqlite3_stmt *st, int col, uint8_t *out, size_t n)
{
    const void *p = sqlite3_column_blob(st, col);
    if ((size_t)sqlite3_column_bytes(st, col) != n || p == NULL)
        return -1;
    memcpy(out, p, n);
    return 0;
}

/* Copy a blob column into buffer b; *out NULL for a NULL column. */
static int col_blob(struct blob *b, sqlite3_stmt *st, int col, const uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return 0;
    const void *p = sqlite3_column_blob(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (n + 1 > b->cap) {
        uint8_t *q = realloc(b->p, n + 1);
        if (q == NULL)
            return -1;
        b->p = q;
        b->cap = n + 1;
    }
    if (n > 0)
        memcpy(b->p, p, n);
    *out = b->p;
    *len = n;
    return 0;
}

static uint64_t col_u64(sqlite3_stmt *st, int col)
{
    sqlite3_int64 v = sqlite3_column_int64(st, col);
    return v < 0 ? UINT64_MAX : (uint64_t)v; /* a negative amount is corruption; make it loud */
}

static enum offpay_ledger_result corrupt(struct sqlite_ledger *s, sqlite3_stmt *st, const char *what)
{
    snprintf(s->err, sizeof s->err, "The ledger holds a malformed %s.", what);
    sqlite3_reset(st);
    return OFFPAY_LEDGER_ERROR;
}

/* ---- connection ---- */

static void sl_close(struct offpay_ledger *l)
{
    struct sqlite_ledger *s = SL(l);
    if (s->in_tx)
        l->ops->rollback(l);
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    for (int i = 0; i < 3; i++)
        free(s->b[i].p);
    free(s);
}

static const char *sl_last_error(struct offpay_ledger *l) { return SL(l)->err; }

static enum offpay_ledger_result exec_sql(struct sqlite_ledger *s, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return OFFPAY_LEDGER_OK;
    enum offpay_ledger_result r = fail(s, sqlite3_extended_errcode(s->db));
    if (msg != NULL)
        snprintf(s->err, sizeof s->err, "%s", msg);
    sqlite3_free(msg);
    return r;
}

static int user_version(struct sqlite_ledger *s)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static enum offpay_ledger_result sl_migrate(struct offpay_ledger *l)
{
    struct sqlite_ledger *s = SL(l);
    enum offpay_ledger_result r;
    char pragma[64];

    /* An up-to-date ledger (every open but the first) takes no write lock:
     * a connection may then be opened while this thread holds the lock in
     * a transaction on another database (the shards of one ledger). */
    if (offpay_sqlite_migrations_count > 0 &&
        user_version(s) >= offpay_sqlite_migrations[offpay_sqlite_migrations_count - 1].number)
        return OFFPAY_LEDGER_OK;
    pthread_mutex_lock(&write_lock);
    for (int i = 0; i < offpay_sqlite_migrations_count; i++) {
        const struct offpay_migration *m = &offpay_sqlite_migrations[i];
        if ((r = exec_sql(s, "BEGIN IMMEDIATE")) != OFFPAY_LEDGER_OK)
            goto out;
        int v = user_version(s);
        if (v < 0) {
            snprintf(s->err, sizeof s->err, "Cannot read the ledger's schema version.");
            r = OFFPAY_LEDGER_ERROR;
        } else if (v >= m->number) {
            r = exec_sql(s, "COMMIT");
            if (r != OFFPAY_LEDGER_OK)
                goto out;
            continue;
        } else {
            snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->number);
            if ((r = exec_sql(s, m->sql)) == OFFPAY_LEDGER_OK && (r = exec_sql(s, pragma)) == OFFPAY_LEDGER_OK)
                r = exec_sql(s, "COMMIT");
        }
        if (r != OFFPAY_LEDGER_OK) {
            char keep[sizeof s->err];
            memcpy(keep, s->err, sizeof keep);
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            memcpy(s->err, keep, sizeof keep);
            goto out;
        }
    }
    r = OFFPAY_LEDGER_OK;
out:
    pthread_mutex_unlock(&write_lock);
    return r;
}

static enum offpay_ledger_result sl_begin(struct offpay_ledger *l, int write)
{
    struct sqlite_ledger *s = SL(l);
    enum offpay_ledger_result r;
    if (s->in_tx) {
        snprintf(s->err, sizeof s->err, "A transaction is already open on this connection.");
        return OFFPAY_LEDGER_ERROR;
    }
    if (write)
        pthread_mutex_lock(&write_lock);
    r = tx_stmt(s, write ? S_BEGIN_IMMEDIATE : S_BEGIN);
    if (r != OFFPAY_LEDGER_OK) {
        if (write)
            pthread_mutex_unlock(&write_lock);
        return r;
    }
    s->in_tx = 1;
    s->tx_write = write;
    return OFFPAY_LEDGER_OK;
}

static void end_tx(struct sqlite_ledger *s)
{
    if (s->tx_write)
        pthread_mutex_unlock(&write_lock);
    s->in_tx = 0;
    s->tx_write = 0;
    s->marked = 0;
}

static void sl_rollback(struct offpay_ledger *l)
{
    struct sqlite_ledger *s = SL(l);
    if (!s->in_tx)
        return;
    for (int i = 0; i < S_COUNT; i++)
        if (s->st[i] != NULL)
            sqlite3_reset(s->st[i]);
    if (!sqlite3_get_autocommit(s->db)) {
        /* Best effort, and what went wrong before stays in s->err. */
        char keep[sizeof s->err];
        memcpy(keep, s->err, sizeof keep);
        (void)tx_stmt(s, S_ROLLBACK);
        memcpy(s->err, keep, sizeof keep);
    }
    end_tx(s);
}

static enum offpay_ledger_result sl_commit(struct offpay_ledger *l)
{
    struct sqlite_ledger *s = SL(l);
    if (!s->in_tx) {
        snprintf(s->err, sizeof s->err, "No transaction is open.");
        return OFFPAY_LEDGER_ERROR;
    }
    for (int i = 0; i < S_COUNT; i++)
        if (s->st[i] != NULL)
            sqlite3_reset(s->st[i]); /* a pending read would keep the transaction open */
    enum offpay_ledger_result r = tx_stmt(s, S_COMMIT);
    if (r != OFFPAY_LEDGER_OK) {
        /* In WAL mode a commit appends the transaction's frames to the log,
         * its commit frame last, then syncs the log.  A write that failed
         * (disk full, EIO) stopped it before the commit frame was written:
         * nothing was committed.  A sync that failed leaves a commit frame
         * in the log that may or may not be on the disk, and would be found
         * by recovery after a crash: the outcome is unknown. */
        int code = sqlite3_extended_errcode(s->db);
        if (r == OFFPAY_LEDGER_UNAVAILABLE && code != SQLITE_FULL && code != SQLITE_IOERR_WRITE) {
            snprintf(s->err, sizeof s->err, "The storage failed while committing (%s); the outcome is unknown.",
                     sqlite3_errstr(code));
            r = OFFPAY_LEDGER_UNKNOWN;
        }
        sl_rollback(l);
        return r;
    }
    end_tx(s);
    return OFFPAY_LEDGER_OK;
}

/* ---- savepoints (group commit) ---- */

/* Run one of the savepoint statements, inside a write transaction. */
static enum offpay_ledger_result mark_stmt(struct sqlite_ledger *s, enum stmt i)
{
    if (!s->in_tx || !s->tx_write) {
        snprintf(s->err, sizeof s->err, "A savepoint needs an open write transaction.");
        return OFFPAY_LEDGER_ERROR;
    }
    sqlite3_stmt *st = stmt(s, i);
    return st != NULL ? exec_done(s, st) : OFFPAY_LEDGER_ERROR;
}

static enum offpay_ledger_result sl_savepoint(struct offpay_ledger *l)
{
    struct sqlite_ledger *s = SL(l);
    enum offpay_ledger_result r;
    /* Released first, so savepoints do not pile up: RELEASE keeps its changes
     * in the transaction. */
    if (s->marked && (r = mark_stmt(s, S_RELEASE)) != OFFPAY_LEDGER_OK)
        return r;
    s->marked = 0;
    if ((r = mark_stmt(s, S_SAVEPOINT)) == OFFPAY_LEDGER_OK)
        s->marked = 1;
    return r;
}

static enum offpay_ledger_result sl_rollback_savepoint(struct offpay_ledger *l)
{
    struct sqlite_ledger *s = SL(l);
    if (!s->marked) {
        snprintf(s->err, sizeof s->err, "There is no savepoint to go back to.");
        return OFFPAY_LEDGER_ERROR;
    }
    /* A statement left half-stepped would keep its read open across the undo. */
    for (int i = 0; i < S_COUNT; i++)
        if (s->st[i] != NULL)
            sqlite3_reset(s->st[i]);
    return mark_stmt(s, S_ROLLBACK_TO);
}

/* ---- meta ---- */

static enum offpay_ledger_result sl_meta_get(struct offpay_ledger *l, const char *key, uint8_t *value, size_t cap,
                                             size_t *len)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_META_GET);
    enum offpay_ledger_result r;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if ((r = step_row(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    if (n > cap)
        return corrupt(s, st, "meta value");
    if (n > 0)
        memcpy(value, sqlite3_column_blob(st, 0), n);
    *len = n;
    sqlite3_reset(st);
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result sl_meta_set(struct offpay_ledger *l, const char *key, const uint8_t *value,
                                             size_t len)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_META_SET);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, len ? (const void *)value : (const void *)"", (int)len, SQLITE_STATIC);
    return exec_done(s, st);
}

/* ---- accounts ---- */

static enum offpay_ledger_result sl_account_create(struct offpay_ledger *l, const char *name, uint64_t now,
                                                   int64_t *id)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_ACC_CREATE);
    enum offpay_ledger_result r;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
    if ((r = exec_done(s, st)) == OFFPAY_LEDGER_OK)
        *id = sqlite3_last_insert_rowid(s->db);
    return r;
}

static enum offpay_ledger_result account_row(struct sqlite_ledger *s, sqlite3_stmt *st,
                                             struct offpay_ledger_account *a)
{
    enum offpay_ledger_result r;
    memset(a, 0, sizeof *a);
    if ((r = step_row(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    const unsigned char *name = sqlite3_column_text(st, 1);
    if (name == NULL || strlen((const char *)name) > OFFPAY_ACCOUNT_MAX)
        return corrupt(s, st, "account name");
    a->id = sqlite3_column_int64(st, 0);
    memcpy(a->name, name, strlen((const char *)name) + 1);
    a->online = col_u64(st, 2);
    a->minted = col_u64(st, 3);
    a->received = col_u64(st, 4);
    a->sent = col_u64(st, 5);
    sqlite3_reset(st);
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result sl_account_get(struct offpay_ledger *l, const char *name,
                                                struct offpay_ledger_account *a)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_ACC_GET);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    return account_row(s, st, a);
}

static enum offpay_ledger_result sl_account_get_by_id(struct offpay_ledger *l, int64_t id,
                                                      struct offpay_ledger_account *a)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_ACC_GET_ID);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    sqlite3_bind_int64(st, 1, id);
    return account_row(s, st, a);
}

static int fits_i64(uint64_t v) { return v <= (uint64_t)INT64_MAX; }

static enum offpay_ledger_result sl_account_update(struct offpay_ledger *l, const struct offpay_ledger_account *a)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st;
    if (!fits_i64(a->online) || !fits_i64(a->minted) || !fits_i64(a->received) || !fits_i64(a->sent)) {
        snprintf(s->err, sizeof s->err, "An account total would exceed the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    if ((st = stmt(s, S_ACC_UPDATE)) == NULL)
        return OFFPAY_LEDGER_ERROR;
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)a->online);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)a->minted);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)a->received);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)a->sent);
    enum offpay_ledger_result r = exec_done(s, st);
    if (r == OFFPAY_LEDGER_OK && sqlite3_changes(s->db) != 1)
        return OFFPAY_LEDGER_NOT_FOUND;
    return r;
}

/* ---- tokens ---- */

static enum offpay_ledger_result sl_token_insert(struct offpay_ledger *l, const uint8_t hash[OFFPAY_HASH_BYTES],
                                                 int64_t account_id, uint64_t now)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_TOKEN_INSERT);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, hash, OFFPAY_HASH_BYTES);
    sqlite3_bind_int64(st, 2, account_id);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
    return exec_done(s, st);
}

static enum offpay_ledger_result sl_token_take(struct offpay_ledger *l, const uint8_t hash[OFFPAY_HASH_BYTES],
                                               uint64_t now, int64_t *account_id)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_TOKEN_TAKE);
    enum offpay_ledger_result r;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, hash, OFFPAY_HASH_BYTES);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
    if ((r = step_row(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    *account_id = sqlite3_column_int64(st, 0);
    /* RETURNING: the update is complete only once the statement has run to the end. */
    return exec_done(s, st);
}

static enum offpay_ledger_result sl_token_set_wallet(struct offpay_ledger *l, const uint8_t hash[OFFPAY_HASH_BYTES],
                                                     const uint8_t wallet[OFFPAY_WALLET_ID_BYTES])
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_TOKEN_SET_WALLET);
    enum offpay_ledger_result r;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, hash, OFFPAY_HASH_BYTES);
    bind_blob(st, 2, wallet, OFFPAY_WALLET_ID_BYTES);
    if ((r = exec_done(s, st)) == OFFPAY_LEDGER_OK && sqlite3_changes(s->db) != 1)
        return OFFPAY_LEDGER_NOT_FOUND;
    return r;
}

static enum offpay_ledger_result sl_token_get_wallet(struct offpay_ledger *l, const uint8_t hash[OFFPAY_HASH_BYTES],
                                                     uint8_t wallet[OFFPAY_WALLET_ID_BYTES])
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_TOKEN_GET_WALLET);
    enum offpay_ledger_result r;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, hash, OFFPAY_HASH_BYTES);
    if ((r = step_row(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    if (col_fixed(st, 0, wallet, OFFPAY_WALLET_ID_BYTES) != 0)
        return corrupt(s, st, "token");
    sqlite3_reset(st);
    return OFFPAY_LEDGER_OK;
}

/* ---- wallets ---- */

static enum offpay_ledger_result sl_wallet_certificate(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                                       const uint8_t **cert, size_t *cert_len)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_WALLET_CERT);
    enum offpay_ledger_result r;
    *cert = NULL;
    *cert_len = 0;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, id, OFFPAY_WALLET_ID_BYTES);
    if ((r = step_row(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    if (col_blob(&s->b[0], st, 0, cert, cert_len) != 0 || *cert == NULL)
        return corrupt(s, st, "wallet certificate");
    sqlite3_reset(st);
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result sl_wallet_certificate_set(struct offpay_ledger *l,
                                                           const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                                           const uint8_t *cert, size_t cert_len)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_WALLET_CERT_SET);
    enum offpay_ledger_result r;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, id, OFFPAY_WALLET_ID_BYTES);
    bind_blob(st, 2, cert, cert_len);
    if ((r = exec_done(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    return sqlite3_changes(s->db) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_NOT_FOUND;
}

static enum offpay_ledger_result sl_wallet_insert(struct offpay_ledger *l, const struct offpay_ledger_wallet *w,
                                                  const uint8_t *cert, size_t cert_len, uint64_t now)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_WALLET_INSERT);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, w->id, OFFPAY_WALLET_ID_BYTES);
    sqlite3_bind_int64(st, 2, w->account_id);
    bind_blob(st, 3, w->public_key, OFFPAY_PUBLIC_KEY_BYTES);
    bind_blob(st, 4, cert, cert_len);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)now);
    return exec_done(s, st);
}

/* Read the WALLET_COLS of the row st is on.  Returns 0 or -1 (malformed). */
static int wallet_cols(sqlite3_stmt *st, struct offpay_ledger_wallet *w)
{
    memset(w, 0, sizeof *w);
    if (col_fixed(st, 0, w->id, OFFPAY_WALLET_ID_BYTES) != 0 ||
        col_fixed(st, 2, w->public_key, OFFPAY_PUBLIC_KEY_BYTES) != 0)
        return -1;
    w->account_id = sqlite3_column_int64(st, 1);
    w->fraudulent = sqlite3_column_int(st, 3) != 0;
    w->created = col_u64(st, 4);
    w->loss = sqlite3_column_int(st, 5);
    w->lost_at = col_u64(st, 6);
    w->writeoff_at = col_u64(st, 7);
    w->written_off_at = col_u64(st, 8);
    w->written_off = col_u64(st, 9);
    w->last_sync = col_u64(st, 10);
    for (int c = 4; c <= 10; c++)
        if (sqlite3_column_int64(st, c) < 0)
            return -1;
    return w->loss >= OFFPAY_LEDGER_IN_USE && w->loss <= OFFPAY_LEDGER_WITHDRAWN ? 0 : -1;
}

static enum offpay_ledger_result wallet_row(struct sqlite_ledger *s, sqlite3_stmt *st, struct offpay_ledger_wallet *w)
{
    enum offpay_ledger_result r;
    memset(w, 0, sizeof *w);
    if ((r = step_row(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    if (wallet_cols(st, w) != 0)
        return corrupt(s, st, "wallet");
    sqlite3_reset(st);
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result sl_wallet_get(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                               struct offpay_ledger_wallet *w)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_WALLET_GET);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, id, OFFPAY_WALLET_ID_BYTES);
    return wallet_row(s, st, w);
}

static enum offpay_ledger_result sl_wallet_get_by_key(struct offpay_ledger *l,
                                                      const uint8_t key[OFFPAY_PUBLIC_KEY_BYTES],
                                                      struct offpay_ledger_wallet *w)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_WALLET_GET_KEY);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, key, OFFPAY_PUBLIC_KEY_BYTES);
    return wallet_row(s, st, w);
}

/* Runs statement i with the wallet id as ?1 and now as ?2.  Out: *changed,
 * whether it changed a row (0 when it fails). */
static enum offpay_ledger_result exec_wallet_at(struct sqlite_ledger *s, enum stmt i,
                                                const uint8_t id[OFFPAY_WALLET_ID_BYTES], uint64_t now, int *changed)
{
    sqlite3_stmt *st = stmt(s, i);
    enum offpay_ledger_result r;
    *changed = 0;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, id, OFFPAY_WALLET_ID_BYTES);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
    if ((r = exec_done(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    *changed = sqlite3_changes(s->db) != 0;
    return OFFPAY_LEDGER_OK;
}

/* Put id on the revocation list, bumping its serial, unless it is there. */
static enum offpay_ledger_result list_revoked(struct sqlite_ledger *s, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                              uint64_t now)
{
    sqlite3_stmt *st;
    enum offpay_ledger_result r;
    int changed;
    if ((r = exec_wallet_at(s, S_REVOKED_INSERT, id, now, &changed)) != OFFPAY_LEDGER_OK || !changed)
        return r;
    if ((st = stmt(s, S_REVOCATION_BUMP)) == NULL)
        return OFFPAY_LEDGER_ERROR;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
    return exec_done(s, st);
}

static enum offpay_ledger_result sl_wallet_revoke(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                                  uint64_t now)
{
    struct sqlite_ledger *s = SL(l);
    enum offpay_ledger_result r;
    int changed;
    if ((r = exec_wallet_at(s, S_WALLET_FRAUD, id, now, &changed)) != OFFPAY_LEDGER_OK)
        return r;
    if (!changed)
        return OFFPAY_LEDGER_OK; /* already revoked, or unknown: the list stays as it is */
    return list_revoked(s, id, now); /* a wallet reported lost is on it already */
}

static enum offpay_ledger_result sl_wallet_report_lost(struct offpay_ledger *l,
                                                       const uint8_t id[OFFPAY_WALLET_ID_BYTES], int loss,
                                                       uint64_t now, uint64_t writeoff_at)
{
    struct sqlite_ledger *s = SL(l);
    struct offpay_ledger_wallet w;
    enum offpay_ledger_result r;
    sqlite3_stmt *st;
    if (loss <= OFFPAY_LEDGER_IN_USE || loss > OFFPAY_LEDGER_WITHDRAWN || !fits_i64(now) || !fits_i64(writeoff_at)) {
        snprintf(s->err, sizeof s->err, "A loss report is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    if ((r = sl_wallet_get(l, id, &w)) != OFFPAY_LEDGER_OK)
        return r;
    if (w.loss != OFFPAY_LEDGER_IN_USE)
        return OFFPAY_LEDGER_OK; /* reported already: the first report stands */
    if ((st = stmt(s, S_WALLET_LOST)) == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, id, OFFPAY_WALLET_ID_BYTES);
    sqlite3_bind_int(st, 2, loss);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)writeoff_at);
    if ((r = exec_done(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    return list_revoked(s, id, now);
}

static enum offpay_ledger_result sl_wallet_write_off(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                                     uint64_t now, uint64_t amount)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_WALLET_WRITE_OFF);
    enum offpay_ledger_result r;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    if (now == 0 || !fits_i64(now) || !fits_i64(amount)) {
        snprintf(s->err, sizeof s->err, "A write-off is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    bind_blob(st, 1, id, OFFPAY_WALLET_ID_BYTES);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)amount);
    if ((r = exec_done(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    return sqlite3_changes(s->db) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_NOT_FOUND;
}

static enum offpay_ledger_result sl_wallet_synced(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                                  uint64_t now)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_WALLET_SYNCED);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, id, OFFPAY_WALLET_ID_BYTES);
    sqlite3_bind_int64(st, 2, fits_i64(now) ? (sqlite3_int64)now : 0);
    return exec_done(s, st);
}

static enum offpay_ledger_result sl_wallet_list(struct offpay_ledger *l, int64_t account_id, uint64_t due,
                                                int (*each)(void *ctx, const struct offpay_ledger_wallet *w),
                                                void *ctx)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, due != 0 ? S_WALLET_DUE : account_id != 0 ? S_WALLET_LIST : S_WALLET_LIST_ALL);
    struct offpay_ledger_wallet w;
    enum offpay_ledger_result r;
    int rc;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    if (due != 0)
        sqlite3_bind_int64(st, 1, fits_i64(due) ? (sqlite3_int64)due : INT64_MAX);
    else if (account_id != 0)
        sqlite3_bind_int64(st, 1, account_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (wallet_cols(st, &w) != 0)
            return corrupt(s, st, "wallet");
        if (due != 0 && account_id != 0 && w.account_id != account_id)
            continue;
        if (each(ctx, &w) != 0)
            break;
    }
    r = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? OFFPAY_LEDGER_OK : fail(s, sqlite3_extended_errcode(s->db));
    sqlite3_reset(st);
    return r;
}

static enum offpay_ledger_result sl_wallet_range(struct offpay_ledger *l, const uint8_t lo[OFFPAY_WALLET_ID_BYTES],
                                                 const uint8_t hi[OFFPAY_WALLET_ID_BYTES],
                                                 int (*each)(void *ctx, const struct offpay_ledger_wallet *w),
                                                 void *ctx)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_WALLET_RANGE);
    struct offpay_ledger_wallet w;
    enum offpay_ledger_result r;
    int rc;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, lo, OFFPAY_WALLET_ID_BYTES);
    bind_blob(st, 2, hi, OFFPAY_WALLET_ID_BYTES);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (wallet_cols(st, &w) != 0)
            return corrupt(s, st, "wallet");
        if (each(ctx, &w) != 0)
            break;
    }
    r = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? OFFPAY_LEDGER_OK : fail(s, sqlite3_extended_errcode(s->db));
    sqlite3_reset(st);
    return r;
}

/* ---- nonces ---- */

static enum offpay_ledger_result sl_nonce_insert(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                                 const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES], uint64_t ts)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_NONCE_INSERT);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, wallet, OFFPAY_WALLET_ID_BYTES);
    bind_blob(st, 2, nonce, OFFPAY_HTTP_NONCE_BYTES);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)ts);
    return exec_done(s, st);
}

static enum offpay_ledger_result sl_nonce_keep(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                               const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES], uint64_t ts, int kind,
                                               const uint8_t *answer, size_t answer_len)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_NONCE_KEEP);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    if ((kind != OFFPAY_LEDGER_NONCE_ANSWERED && kind != OFFPAY_LEDGER_NONCE_CANCELLED) ||
        (kind == OFFPAY_LEDGER_NONCE_ANSWERED) != (answer != NULL) || answer_len > (size_t)INT32_MAX) {
        snprintf(s->err, sizeof s->err, "A kept nonce needs an answer exactly when it was answered.");
        return OFFPAY_LEDGER_ERROR;
    }
    bind_blob(st, 1, wallet, OFFPAY_WALLET_ID_BYTES);
    bind_blob(st, 2, nonce, OFFPAY_HTTP_NONCE_BYTES);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)ts);
    sqlite3_bind_int(st, 4, kind);
    bind_blob(st, 5, answer, answer_len);
    return exec_done(s, st);
}

static enum offpay_ledger_result sl_nonce_get(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                              const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES],
                                              struct offpay_ledger_nonce *n)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_NONCE_GET);
    enum offpay_ledger_result r;
    memset(n, 0, sizeof *n);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, wallet, OFFPAY_WALLET_ID_BYTES);
    bind_blob(st, 2, nonce, OFFPAY_HTTP_NONCE_BYTES);
    if ((r = step_row(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    n->ts = col_u64(st, 0);
    n->kind = sqlite3_column_int(st, 1);
    if (n->kind < OFFPAY_LEDGER_NONCE_USED || n->kind > OFFPAY_LEDGER_NONCE_CANCELLED ||
        col_blob(&s->b[0], st, 2, &n->answer, &n->answer_len) != 0 || (n->kind == OFFPAY_LEDGER_NONCE_ANSWERED) != (n->answer != NULL)) {
        memset(n, 0, sizeof *n);
        return corrupt(s, st, "nonce");
    }
    sqlite3_reset(st);
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result sl_nonce_prune(struct offpay_ledger *l, uint64_t used_older_than,
                                                uint64_t kept_older_than)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_NONCE_PRUNE);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)used_older_than);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)kept_older_than);
    return exec_done(s, st);
}

/* ---- limits ---- */

static enum offpay_ledger_result sl_limits_get(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                               struct offpay_limits *lim, uint64_t *issued_at)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_LIMITS_GET);
    enum offpay_ledger_result r;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, wallet, OFFPAY_WALLET_ID_BYTES);
    if ((r = step_row(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    lim->per_payment = col_u64(st, 0);
    lim->offline_total = col_u64(st, 1);
    uint64_t count = col_u64(st, 2), period = col_u64(st, 3), offline_time = col_u64(st, 6);
    if (count > UINT32_MAX || period > UINT32_MAX || period == 0 || offline_time > UINT32_MAX)
        return corrupt(s, st, "limits row");
    lim->count = (uint32_t)count;
    lim->period = (uint32_t)period;
    *issued_at = col_u64(st, 4);
    lim->holding = col_u64(st, 5);
    lim->offline_time = (uint32_t)offline_time;
    sqlite3_reset(st);
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result sl_limits_set(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                               const struct offpay_limits *lim, uint64_t issued_at)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st;
    if (!fits_i64(lim->per_payment) || !fits_i64(lim->offline_total) || !fits_i64(lim->holding)) {
        snprintf(s->err, sizeof s->err, "A limit exceeds the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    if ((st = stmt(s, S_LIMITS_SET)) == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, wallet, OFFPAY_WALLET_ID_BYTES);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)lim->per_payment);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)lim->offline_total);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)lim->count);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)lim->period);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)issued_at);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)lim->holding);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)lim->offline_time);
    return exec_done(s, st);
}

/* ---- revocation ---- */

static enum offpay_ledger_result sl_revocation_get(struct offpay_ledger *l, uint64_t *serial, uint64_t *issued_at,
                                                   uint32_t *count)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_REVOCATION_GET);
    enum offpay_ledger_result r;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    if ((r = step_row(s, st)) != OFFPAY_LEDGER_OK)
        return r == OFFPAY_LEDGER_NOT_FOUND ? corrupt(s, st, "revocation list") : r;
    *serial = col_u64(st, 0);
    *issued_at = col_u64(st, 1);
    sqlite3_reset(st);
    if ((st = stmt(s, S_REVOKED_COUNT)) == NULL)
        return OFFPAY_LEDGER_ERROR;
    if ((r = step_row(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    uint64_t n = col_u64(st, 0);
    if (n > OFFPAY_REVOCATION_MAX)
        return corrupt(s, st, "revocation list (too long)");
    *count = (uint32_t)n;
    sqlite3_reset(st);
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result sl_revocation_ids(struct offpay_ledger *l,
                                                   int (*each)(void *ctx, const uint8_t id[OFFPAY_WALLET_ID_BYTES]),
                                                   void *ctx)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_REVOKED_IDS);
    uint8_t id[OFFPAY_WALLET_ID_BYTES];
    int rc;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (col_fixed(st, 0, id, sizeof id) != 0)
            return corrupt(s, st, "revoked wallet id");
        if (each(ctx, id) != 0)
            break;
    }
    enum offpay_ledger_result r =
        (rc == SQLITE_ROW || rc == SQLITE_DONE) ? OFFPAY_LEDGER_OK : fail(s, sqlite3_extended_errcode(s->db));
    sqlite3_reset(st);
    return r;
}

/* ---- UTXOs ---- */

static enum offpay_ledger_result sl_utxo_insert(struct offpay_ledger *l, const struct offpay_ledger_utxo *u,
                                                uint64_t now)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st;
    enum offpay_ledger_result r;
    if (u->amount == 0 || !fits_i64(u->amount)) {
        snprintf(s->err, sizeof s->err, "A coin amount is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    /* Two statements, not one INSERT ... SELECT ... WHERE NOT EXISTS: a
     * statement that may write several rows runs in a statement journal of
     * its own, and inside a group member's savepoint (tx.c) SQLite's
     * in-memory sub-journal (temp_store, sl_defer_upkeep) is cut back at
     * the end of each such statement by walking its chunks from the start:
     * a quarter of serve's CPU at 500,000 records (bench/README.md).  The
     * check and the insert are atomic only inside one write transaction. */
    if (!s->in_tx || !s->tx_write) {
        snprintf(s->err, sizeof s->err, "A coin is inserted only in a write transaction.");
        return OFFPAY_LEDGER_ERROR;
    }
    if ((st = stmt(s, S_SPENT_HAS)) == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, u->id, OFFPAY_UTXO_ID_BYTES);
    r = step_row(s, st);
    sqlite3_reset(st);
    if (r == OFFPAY_LEDGER_OK)
        return OFFPAY_LEDGER_DUPLICATE; /* the id was spent */
    if (r != OFFPAY_LEDGER_NOT_FOUND)
        return r;
    if ((st = stmt(s, S_UTXO_INSERT)) == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, u->id, OFFPAY_UTXO_ID_BYTES);
    bind_blob(st, 2, u->owner, OFFPAY_PUBLIC_KEY_BYTES);
    sqlite3_bind_int64(st, 3, u->account_id);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)u->amount);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)now);
    return exec_done(s, st); /* DUPLICATE: the coin is unspent already */
}

/* An unspent coin is in unspent; else it may be in spent (two lookups: the
 * usual case, a coin being spent, needs only the first). */
static enum offpay_ledger_result sl_utxo_get(struct offpay_ledger *l, const uint8_t owner[OFFPAY_PUBLIC_KEY_BYTES],
                                             const uint8_t id[OFFPAY_UTXO_ID_BYTES], struct offpay_ledger_utxo *u)
{
    struct sqlite_ledger *s = SL(l);
    enum offpay_ledger_result r;
    memset(u, 0, sizeof *u);
    sqlite3_stmt *st = stmt(s, S_UTXO_GET);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, owner, OFFPAY_PUBLIC_KEY_BYTES);
    bind_blob(st, 2, id, OFFPAY_UTXO_ID_BYTES);
    r = step_row(s, st);
    if (r == OFFPAY_LEDGER_NOT_FOUND) {
        if ((st = stmt(s, S_UTXO_GET_SPENT)) == NULL)
            return OFFPAY_LEDGER_ERROR;
        bind_blob(st, 1, owner, OFFPAY_PUBLIC_KEY_BYTES);
        bind_blob(st, 2, id, OFFPAY_UTXO_ID_BYTES);
        r = step_row(s, st);
    }
    if (r != OFFPAY_LEDGER_OK)
        return r;
    memcpy(u->id, id, OFFPAY_UTXO_ID_BYTES);
    memcpy(u->owner, owner, OFFPAY_PUBLIC_KEY_BYTES);
    u->account_id = sqlite3_column_int64(st, 0);
    u->amount = col_u64(st, 1);
    u->created = col_u64(st, 2);
    if (u->amount == 0 || sqlite3_column_int64(st, 1) <= 0)
        return corrupt(s, st, "coin amount");
    if (sqlite3_column_count(st) > 3) {
        u->spent = sqlite3_column_int(st, 3);
        if (u->spent != OFFPAY_LEDGER_SPENT_BY_RECORD && u->spent != OFFPAY_LEDGER_SPENT_BY_UNLOAD)
            return corrupt(s, st, "coin state");
        if (u->spent == OFFPAY_LEDGER_SPENT_BY_RECORD && col_fixed(st, 4, u->spent_by, OFFPAY_RECORD_ID_BYTES) != 0)
            return corrupt(s, st, "coin spender");
    }
    sqlite3_reset(st);
    return OFFPAY_LEDGER_OK;
}

/* Move the coin from unspent to spent: two statements in the caller's transaction. */
static enum offpay_ledger_result sl_utxo_spend(struct offpay_ledger *l, const struct offpay_ledger_utxo *coin, int how,
                                               const uint8_t by_record[OFFPAY_RECORD_ID_BYTES], uint64_t now)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_UTXO_TAKE);
    enum offpay_ledger_result r;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    if (coin->amount == 0 || !fits_i64(coin->amount) || !fits_i64(coin->created)) {
        snprintf(s->err, sizeof s->err, "A coin amount is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    bind_blob(st, 1, coin->owner, OFFPAY_PUBLIC_KEY_BYTES);
    bind_blob(st, 2, coin->id, OFFPAY_UTXO_ID_BYTES);
    if ((r = exec_done(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    if (sqlite3_changes(s->db) != 1)
        return OFFPAY_LEDGER_NOT_FOUND; /* not an unspent coin of this owner */
    if ((st = stmt(s, S_UTXO_SPENT_INSERT)) == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, coin->id, OFFPAY_UTXO_ID_BYTES);
    bind_blob(st, 2, coin->owner, OFFPAY_PUBLIC_KEY_BYTES);
    sqlite3_bind_int64(st, 3, coin->account_id);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)coin->amount);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)coin->created);
    sqlite3_bind_int(st, 6, how);
    bind_blob(st, 7, how == OFFPAY_LEDGER_SPENT_BY_RECORD ? by_record : NULL, OFFPAY_RECORD_ID_BYTES);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)now);
    return exec_done(s, st);
}

static enum offpay_ledger_result sl_utxo_unspent_of(struct offpay_ledger *l,
                                                    const uint8_t owner[OFFPAY_PUBLIC_KEY_BYTES], const uint8_t *after,
                                                    size_t max,
                                                    int (*each)(void *ctx, const struct offpay_ledger_utxo *u),
                                                    void *ctx)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_UTXO_UNSPENT_OF);
    struct offpay_ledger_utxo u;
    enum offpay_ledger_result r;
    int rc;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, owner, OFFPAY_PUBLIC_KEY_BYTES);
    sqlite3_bind_int64(st, 2, max > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)max);
    if (after != NULL)
        bind_blob(st, 3, after, OFFPAY_UTXO_ID_BYTES);
    else
        sqlite3_bind_zeroblob(st, 3, 0);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&u, 0, sizeof u);
        if (col_fixed(st, 0, u.id, OFFPAY_UTXO_ID_BYTES) != 0)
            return corrupt(s, st, "coin id");
        memcpy(u.owner, owner, OFFPAY_PUBLIC_KEY_BYTES);
        u.amount = col_u64(st, 1);
        if (u.amount == 0 || sqlite3_column_int64(st, 1) <= 0)
            return corrupt(s, st, "coin amount");
        if (each(ctx, &u) != 0)
            break;
    }
    r = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? OFFPAY_LEDGER_OK : fail(s, sqlite3_extended_errcode(s->db));
    sqlite3_reset(st);
    return r;
}

/* ---- records ---- */

static enum offpay_ledger_result sl_record_insert(struct offpay_ledger *l, const struct offpay_ledger_record *r)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_RECORD_INSERT);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, r->id, OFFPAY_RECORD_ID_BYTES);
    sqlite3_bind_int(st, 2, r->state);
    bind_blob(st, 3, r->payer_wallet, OFFPAY_WALLET_ID_BYTES);
    bind_blob(st, 4, r->payee_key, OFFPAY_PUBLIC_KEY_BYTES);
    bind_blob(st, 5, r->body, r->body_len);
    bind_blob(st, 6, r->confirmation, r->confirmation_len);
    bind_blob(st, 7, r->refusal, r->refusal_len);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)r->at);
    return exec_done(s, st);
}

static enum offpay_ledger_result sl_record_get(struct offpay_ledger *l, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                                               struct offpay_ledger_record *r)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_RECORD_GET);
    enum offpay_ledger_result res;
    memset(r, 0, sizeof *r);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, id, OFFPAY_RECORD_ID_BYTES);
    if ((res = step_row(s, st)) != OFFPAY_LEDGER_OK)
        return res;
    memcpy(r->id, id, OFFPAY_RECORD_ID_BYTES);
    r->state = sqlite3_column_int(st, 0);
    if (col_fixed(st, 1, r->payer_wallet, OFFPAY_WALLET_ID_BYTES) != 0 ||
        col_fixed(st, 2, r->payee_key, OFFPAY_PUBLIC_KEY_BYTES) != 0 ||
        col_blob(&s->b[0], st, 3, &r->body, &r->body_len) != 0 ||
        col_blob(&s->b[1], st, 4, &r->confirmation, &r->confirmation_len) != 0 ||
        col_blob(&s->b[2], st, 5, &r->refusal, &r->refusal_len) != 0)
        return corrupt(s, st, "record");
    r->at = col_u64(st, 6);
    sqlite3_reset(st);
    return OFFPAY_LEDGER_OK;
}

/* ---- frauds ---- */

static enum offpay_ledger_result sl_fraud_insert(struct offpay_ledger *l, const struct offpay_ledger_fraud *f)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_FRAUD_INSERT);
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, f->record_id, OFFPAY_RECORD_ID_BYTES);
    bind_blob(st, 2, f->payer_wallet, OFFPAY_WALLET_ID_BYTES);
    sqlite3_bind_int64(st, 3, f->account_id);
    bind_blob(st, 4, f->input, OFFPAY_UTXO_ID_BYTES);
    bind_blob(st, 5, f->record, f->record_len);
    bind_blob(st, 6, f->first_record_len ? f->first_record : NULL, f->first_record_len);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)f->at);
    return exec_done(s, st);
}

static enum offpay_ledger_result fraud_row(struct sqlite_ledger *s, sqlite3_stmt *st, struct offpay_ledger_fraud *f)
{
    memset(f, 0, sizeof *f);
    if (col_fixed(st, 0, f->record_id, OFFPAY_RECORD_ID_BYTES) != 0 ||
        col_fixed(st, 1, f->payer_wallet, OFFPAY_WALLET_ID_BYTES) != 0 ||
        col_fixed(st, 3, f->input, OFFPAY_UTXO_ID_BYTES) != 0 ||
        col_blob(&s->b[0], st, 4, &f->record, &f->record_len) != 0 ||
        col_blob(&s->b[1], st, 5, &f->first_record, &f->first_record_len) != 0)
        return corrupt(s, st, "fraud evidence");
    f->account_id = sqlite3_column_int64(st, 2);
    f->at = col_u64(st, 6);
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result sl_fraud_get(struct offpay_ledger *l, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                              struct offpay_ledger_fraud *f)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_FRAUD_GET);
    enum offpay_ledger_result r;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    bind_blob(st, 1, record_id, OFFPAY_RECORD_ID_BYTES);
    if ((r = step_row(s, st)) != OFFPAY_LEDGER_OK)
        return r;
    if ((r = fraud_row(s, st, f)) != OFFPAY_LEDGER_OK)
        return r;
    sqlite3_reset(st);
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result sl_fraud_list(struct offpay_ledger *l,
                                               int (*each)(void *ctx, const struct offpay_ledger_fraud *f), void *ctx)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_FRAUD_LIST);
    struct offpay_ledger_fraud f;
    enum offpay_ledger_result r;
    int rc;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((r = fraud_row(s, st, &f)) != OFFPAY_LEDGER_OK)
            return r;
        if (each(ctx, &f) != 0)
            break;
    }
    r = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? OFFPAY_LEDGER_OK : fail(s, sqlite3_extended_errcode(s->db));
    sqlite3_reset(st);
    return r;
}

/* ---- audit ---- */

static enum offpay_ledger_result sl_audit(struct offpay_ledger *l,
                                          int (*each)(void *ctx, const struct offpay_ledger_audit_row *row),
                                          void *ctx)
{
    struct sqlite_ledger *s = SL(l);
    sqlite3_stmt *st = stmt(s, S_AUDIT);
    struct offpay_ledger_audit_row row;
    enum offpay_ledger_result r;
    int rc;
    if (st == NULL)
        return OFFPAY_LEDGER_ERROR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&row, 0, sizeof row);
        const unsigned char *name = sqlite3_column_text(st, 1);
        if (name == NULL || strlen((const char *)name) > OFFPAY_ACCOUNT_MAX)
            return corrupt(s, st, "account name");
        row.account.id = sqlite3_column_int64(st, 0);
        memcpy(row.account.name, name, strlen((const char *)name) + 1);
        row.account.online = col_u64(st, 2);
        row.account.minted = col_u64(st, 3);
        row.account.received = col_u64(st, 4);
        row.account.sent = col_u64(st, 5);
        row.unspent = col_u64(st, 6);
        row.overflow = sqlite3_column_int(st, 7) != 0;
        for (int c = 2; c <= 6; c++)
            if (sqlite3_column_int64(st, c) < 0)
                row.overflow = 1;
        if (each(ctx, &row) != 0)
            break;
    }
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        r = OFFPAY_LEDGER_OK;
    } else if ((sqlite3_extended_errcode(s->db) & 0xff) == SQLITE_ERROR) {
        /* sum() raises "integer overflow": the coins of some account add up to
         * more than 2^63, which no honest ledger can hold. */
        snprintf(s->err, sizeof s->err, "The unspent coins of an account add up beyond the ledger's range (%s).",
                 sqlite3_errmsg(s->db));
        r = OFFPAY_LEDGER_ERROR;
    } else {
        r = fail(s, sqlite3_extended_errcode(s->db));
    }
    sqlite3_reset(st);
    return r;
}

/* ---- upkeep: checkpoints beside the writer ---- */

/* Frames (pages) of WAL past which upkeep makes the log start over: 64 MiB. */
#define WAL_RESTART_FRAMES 16384

static void sl_defer_upkeep(struct offpay_ledger *l)
{
    /* The writer checkpoints only if the WAL reaches 400 MiB: the upkeep
     * thread has fallen far behind (or is gone), and the log must not grow
     * without bound. */
    (void)exec_sql(SL(l), "PRAGMA wal_autocheckpoint = 100000");
    /* This is serve's writer: every settlement's pages go through its cache.
     * Once the ledger's hashed B-trees (record ids, spent and unspent coins)
     * outgrow 64 MiB, each row written misses it and is read again from
     * the OS (a system call and a copy per page: a tenth of the server's
     * CPU at 10^6 records).  Up to 1 GiB here, allocated only as pages are
     * used, holds those trees to about 2.5 million records; the readers
     * keep 64 MiB. */
    (void)exec_sql(SL(l), "PRAGMA cache_size = -1048576");
    /* A request of a group runs after a savepoint (tx.c), and SQLite keeps
     * the pages it changes, as they were, in a sub-journal until the
     * savepoint is released: tens of megabytes for a batch of 1000, which
     * past 64 KiB went to a temporary file (4 KB of writes a settled record
     * at 300,000 records, bench/README.md).  The sub-journal serves only
     * ROLLBACK TO within the open transaction, never recovery after a crash
     * (that is the WAL's), so it is kept in memory: as much as the pages one
     * request changes. */
    (void)exec_sql(SL(l), "PRAGMA temp_store = MEMORY");
}

static enum offpay_ledger_result sl_upkeep(struct offpay_ledger *l)
{
    struct sqlite_ledger *s = SL(l);
    int log = 0, done = 0;
    /* PASSIVE: copies what it can without waiting for, or blocking, the
     * writer and readers; whatever it could not copy waits for the next call. */
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    /* The WAL starts over from its first frame only when a write begins
     * while every frame has been copied, and under steady writes that never
     * happens: by the time a passive checkpoint has copied what it saw,
     * the writer has added more.  The log then grows to the writer's
     * backstop (400 MiB, defer_upkeep), and every page read that misses a
     * connection's cache searches a wal-index of a hundred hash tables:
     * the ledger got slower as it grew (bench/README.md, the long run).
     * So once the log passes WAL_RESTART_FRAMES, a RESTART checkpoint
     * copies the few frames the passive one left, holding the writer back
     * for that moment (it waits at BEGIN IMMEDIATE within its busy
     * timeout), and waits for the readers; the next write starts the log
     * over.  Busy: the next call tries again. */
    if (rc == SQLITE_OK && log >= WAL_RESTART_FRAMES)
        rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
    if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return OFFPAY_LEDGER_OK;
    return fail(s, sqlite3_extended_errcode(s->db));
}

static const struct offpay_ledger_ops sqlite_ops = {
    .name = "sqlite",
    .close = sl_close,
    .last_error = sl_last_error,
    .migrate = sl_migrate,
    .begin = sl_begin,
    .commit = sl_commit,
    .rollback = sl_rollback,
    .savepoint = sl_savepoint,
    .rollback_savepoint = sl_rollback_savepoint,
    .meta_get = sl_meta_get,
    .meta_set = sl_meta_set,
    .account_create = sl_account_create,
    .account_get = sl_account_get,
    .account_get_by_id = sl_account_get_by_id,
    .account_update = sl_account_update,
    .token_insert = sl_token_insert,
    .token_take = sl_token_take,
    .token_set_wallet = sl_token_set_wallet,
    .token_get_wallet = sl_token_get_wallet,
    .wallet_certificate = sl_wallet_certificate,
    .wallet_certificate_set = sl_wallet_certificate_set,
    .wallet_insert = sl_wallet_insert,
    .wallet_get = sl_wallet_get,
    .wallet_get_by_key = sl_wallet_get_by_key,
    .wallet_revoke = sl_wallet_revoke,
    .wallet_report_lost = sl_wallet_report_lost,
    .wallet_write_off = sl_wallet_write_off,
    .wallet_synced = sl_wallet_synced,
    .wallet_list = sl_wallet_list,
    .wallet_range = sl_wallet_range,
    .nonce_insert = sl_nonce_insert,
    .nonce_keep = sl_nonce_keep,
    .nonce_get = sl_nonce_get,
    .nonce_prune = sl_nonce_prune,
    .limits_get = sl_limits_get,
    .limits_set = sl_limits_set,
    .revocation_get = sl_revocation_get,
    .revocation_ids = sl_revocation_ids,
    .utxo_insert = sl_utxo_insert,
    .utxo_get = sl_utxo_get,
    .utxo_spend = sl_utxo_spend,
    .utxo_unspent_of = sl_utxo_unspent_of,
    .record_insert = sl_record_insert,
    .record_get = sl_record_get,
    .fraud_insert = sl_fraud_insert,
    .fraud_get = sl_fraud_get,
    .fraud_list = sl_fraud_list,
    .audit = sl_audit,
    .defer_upkeep = sl_defer_upkeep,
    .upkeep = sl_upkeep,
};

enum offpay_status offpay_sqlite_ledger_open(struct offpay_ledger **out, const char *path, int create, char *err,
                                             size_t err_cap)
{
    struct sqlite_ledger *s;
    int exists = access(path, F_OK) == 0;

    *out = NULL;
    if (create && exists) {
        snprintf(err, err_cap, "A ledger already exists at %s.", path);
        return OFFPAY_ERR_USAGE;
    }
    if (!create && !exists) {
        snprintf(err, err_cap, "There is no ledger at %s (create one with offpayd init).", path);
        return OFFPAY_ERR_USAGE;
    }
    if ((s = calloc(1, sizeof *s)) == NULL) {
        snprintf(err, err_cap, "Out of memory.");
        return OFFPAY_ERR_NOMEM;
    }
    s->base.ops = &sqlite_ops;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    /* Page writes go out in large pieces (coalesce_vfs.c); if that VFS cannot
     * be set up, SQLite's own is just as correct, only slower. */
    /* Tests only: storage faults on demand (fault_vfs.c), under the coalescing VFS. */
    const char *faults = getenv(OFFPAY_FAULT_ENV);
    if (faults != NULL && *faults != '\0' && offpay_fault_vfs_register(faults) != 0) {
        snprintf(err, err_cap, "Cannot set up the storage fault shim of $%s.", OFFPAY_FAULT_ENV);
        free(s);
        return OFFPAY_ERR_STORAGE;
    }
    const char *vfs = offpay_coalesce_vfs_register() == 0 ? OFFPAY_COALESCE_VFS : NULL;
    if (sqlite3_open_v2(path, &s->db, flags, vfs) != SQLITE_OK) {
        snprintf(err, err_cap, "Cannot open the ledger %s: %s.", path, s->db ? sqlite3_errmsg(s->db) : "no memory");
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    if (exec_sql(s, "PRAGMA journal_mode = WAL") != OFFPAY_LEDGER_OK ||
        exec_sql(s, "PRAGMA synchronous = FULL") != OFFPAY_LEDGER_OK ||
        exec_sql(s, "PRAGMA foreign_keys = ON") != OFFPAY_LEDGER_OK ||
        /* A larger page cache: a sync batch touches thousands of rows. */
        exec_sql(s, "PRAGMA cache_size = -65536") != OFFPAY_LEDGER_OK ||
        /* No memory-mapped reads: every checkpoint that grows the file makes
         * each connection unmap and map it again, and on our virtual
         * machines the TLB shootdowns of that cost more than the reads save
         * (batch-1 sync: 578 -> 794 records/s without). */
        exec_sql(s, "PRAGMA mmap_size = 0") != OFFPAY_LEDGER_OK ||
        /* Checkpoint every 10000 pages (40 MiB of WAL) instead of 1000: a
         * page that several sync batches change is copied into the database
         * once per checkpoint, so fewer checkpoints copy far fewer pages. */
        exec_sql(s, "PRAGMA wal_autocheckpoint = 10000") != OFFPAY_LEDGER_OK) {
        snprintf(err, err_cap, "Cannot set up the ledger %s: %s.", path, s->err);
        goto fail;
    }
    int v = user_version(s);
    if (v < 0) {
        snprintf(err, err_cap, "%s is not a readable SQLite ledger.", path);
        goto fail;
    }
    if (!create && v == 0) {
        snprintf(err, err_cap, "%s is not an offpay ledger.", path);
        goto fail;
    }
    if (sl_migrate(&s->base) != OFFPAY_LEDGER_OK) {
        snprintf(err, err_cap, "Cannot create the ledger schema in %s: %s.", path, s->err);
        goto fail;
    }
    *out = &s->base;
    return OFFPAY_OK;
fail:
    sqlite3_close(s->db);
    free(s);
    return OFFPAY_ERR_STORAGE;
}

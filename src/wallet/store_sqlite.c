/*
 * store_sqlite.c - the wallet store (store.h) on an embedded SQLite database.
 *
 * The only file of the wallet that speaks SQL.  Durability: WAL with
 * synchronous=FULL, so a committed command survives a crash or a power loss.
 * Atomicity: the wallet runs each command as one BEGIN IMMEDIATE .. COMMIT,
 * and any failure rolls the whole command back.  Every statement is
 * prepared once per store, on first use, and reset after each use.  The
 * schema is the numbered migrations of migrations/, applied at open.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "migrations.h"
#include "store.h"

#define BUSY_TIMEOUT_MS 10000

enum stmt {
    S_IDENTITY_INSERT,
    S_IDENTITY_GET,
    S_CERT_SET,
    S_SERVER_URL_SET,
    S_SEQ_GET,
    S_SEQ_BUMP,
    S_POLICY_SET,
    S_LIMITS_GET,
    S_OWNER_SET,
    S_OWNER_UNSET,
    S_STAMP_SET,
    S_STAMP_GET,
    S_SYNCED_SET,
    S_SYNCED_GET,
    S_USAGE,
    S_REVOCATION_SET,
    S_REVOCATION_GET,
    S_HISTORY_ADD,
    S_HISTORY_ALL,
    S_COINS_ALL,
    S_COIN_GET,
    S_COINS_PREFIX,
    S_COIN_ATTESTATION,
    S_COIN_ADD_OR_ATTEST,
    S_COIN_ADD_NEW,
    S_COIN_ADD_LOCKED,
    S_COIN_DOUBT_RECORD,
    S_COIN_DOUBT_CALL,
    S_COIN_KNOWN,
    S_RECORD_DROP_IN_DOUBT,
    S_RECORD_DROP_LOCKED,
    S_RECORD_FREE,
    S_CALL_DROP,
    S_CALL_FREE,
    S_CALL_RELEASE,
    S_ORPHAN_DROP,
    S_ORPHAN_FREE,
    S_ORPHANS,
    S_RECORD_INSERT,
    S_RECORD_INPUT_ADD,
    S_RECORD_PAID,
    S_INPUT_SEEN,
    S_OUTGOING_GET,
    S_RECORD_ANSWER,
    S_RECORD_SYNCED,
    S_PENDING,
    S_PENDING_TOTALS,
    S_REQUEST_INSERT,
    S_REQUEST_GET,
    S_REQUEST_ANSWER,
    S_CALL_INSERT,
    S_CALL_DELETE,
    S_CALLS_GET,
    S_COUNT
};

/* A coin this wallet spent in one of its outgoing records is never added again. */
#define NOT_SPENT_BY_US \
    " WHERE NOT EXISTS (SELECT 1 FROM record_inputs ri JOIN records r ON r.id = ri.record_id" \
    "                   WHERE ri.utxo_id = ?1 AND r.direction = 'outgoing')"
#define ORPHAN "state = 'in_doubt' AND record_id IS NULL AND call_nonce IS NULL"

static const char *const sql_text[S_COUNT] = {
    [S_IDENTITY_INSERT] = "INSERT INTO identity (one, wallet_id, public_key, certificate, issuer_public_key,"
                          " server_url, account, created) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_IDENTITY_GET] = "SELECT certificate, issuer_public_key, server_url FROM identity WHERE one = 1",
    [S_SERVER_URL_SET] = "UPDATE identity SET server_url = ?1 WHERE one = 1",
    [S_CERT_SET] = "UPDATE identity SET certificate = ?1 WHERE one = 1",
    [S_SEQ_GET] = "SELECT next_seq FROM identity WHERE one = 1",
    [S_SEQ_BUMP] = "UPDATE identity SET next_seq = next_seq + 1 WHERE one = 1",
    [S_POLICY_SET] = "INSERT INTO limits (one, server_policy) VALUES (1, ?1)"
                     " ON CONFLICT (one) DO UPDATE SET server_policy = excluded.server_policy",
    [S_LIMITS_GET] = "SELECT server_policy, owner_per_payment, owner_offline_total, owner_count, owner_period,"
                     " owner_holding, owner_offline_time FROM limits WHERE one = 1",
    [S_OWNER_SET] = "UPDATE limits SET"
                    " owner_per_payment = CASE WHEN ?1 > 0 THEN ?1 ELSE owner_per_payment END,"
                    " owner_offline_total = CASE WHEN ?2 > 0 THEN ?2 ELSE owner_offline_total END,"
                    " owner_count = CASE WHEN ?3 > 0 THEN ?3 ELSE owner_count END,"
                    " owner_period = CASE WHEN ?4 > 0 THEN ?4 ELSE owner_period END,"
                    " owner_holding = CASE WHEN ?5 > 0 THEN ?5 ELSE owner_holding END,"
                    " owner_offline_time = CASE WHEN ?6 > 0 THEN ?6 ELSE owner_offline_time END WHERE one = 1",
    [S_OWNER_UNSET] = "UPDATE limits SET"
                      " owner_per_payment = CASE WHEN ?1 > 0 THEN 0 ELSE owner_per_payment END,"
                      " owner_offline_total = CASE WHEN ?2 > 0 THEN 0 ELSE owner_offline_total END,"
                      " owner_count = CASE WHEN ?3 > 0 THEN 0 ELSE owner_count END,"
                      " owner_period = CASE WHEN ?4 > 0 THEN 0 ELSE owner_period END,"
                      " owner_holding = CASE WHEN ?5 > 0 THEN 0 ELSE owner_holding END,"
                      " owner_offline_time = CASE WHEN ?6 > 0 THEN 0 ELSE owner_offline_time END WHERE one = 1",
    [S_STAMP_SET] = "UPDATE limits SET sync_stamp = ?1 WHERE one = 1",
    [S_STAMP_GET] = "SELECT sync_stamp FROM limits WHERE one = 1",
    [S_SYNCED_SET] = "UPDATE limits SET last_sync = ?1 WHERE one = 1",
    [S_SYNCED_GET] = "SELECT last_sync FROM limits WHERE one = 1",
    [S_USAGE] = "SELECT (SELECT coalesce(sum(amount), 0) FROM records WHERE direction = 'outgoing'"
                "         AND status = 'unsynced'),"
                "       (SELECT count(*) FROM records WHERE direction = 'outgoing' AND created >= ?1)",
    [S_REVOCATION_SET] = "INSERT INTO revocation (one, serial, message) VALUES (1, ?1, ?2)"
                         " ON CONFLICT (one) DO UPDATE SET serial = excluded.serial,"
                         " message = excluded.message WHERE excluded.serial >= revocation.serial",
    [S_REVOCATION_GET] = "SELECT message FROM revocation WHERE one = 1",
    [S_HISTORY_ADD] = "INSERT INTO history (time, kind, amount, counterparty, record_id, detail)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_HISTORY_ALL] = "SELECT time, kind, amount, counterparty, record_id, detail FROM history ORDER BY seq",
    [S_COINS_ALL] = "SELECT id, amount, state FROM utxos ORDER BY amount, id",
    [S_COIN_GET] = "SELECT id, amount, state FROM utxos WHERE id = ?1",
    /* Blobs compare as memcmp: the ids with a prefix lie between it padded with 0s and with 1s. */
    [S_COINS_PREFIX] = "SELECT id, amount, state FROM utxos WHERE id >= ?1 AND id <= ?2 ORDER BY id",
    [S_COIN_ATTESTATION] = "SELECT attestation FROM utxos WHERE id = ?1 AND state = 'spendable'",
    [S_COIN_ADD_OR_ATTEST] = "INSERT INTO utxos (id, amount, state, attestation, record_id, added)"
                             " SELECT ?1, ?2, 'spendable', ?3, NULL, ?4" NOT_SPENT_BY_US
                             " ON CONFLICT (id) DO UPDATE SET state = 'spendable', attestation = excluded.attestation,"
                             " record_id = NULL WHERE utxos.state = 'locked' AND utxos.amount = excluded.amount",
    [S_COIN_ADD_NEW] = "INSERT INTO utxos (id, amount, state, attestation, record_id, added)"
                       " SELECT ?1, ?2, 'spendable', ?3, NULL, ?4" NOT_SPENT_BY_US " ON CONFLICT (id) DO NOTHING",
    [S_COIN_ADD_LOCKED] = "INSERT INTO utxos (id, amount, state, attestation, record_id, added)"
                          " VALUES (?1, ?2, 'locked', NULL, ?3, ?4)",
    [S_COIN_DOUBT_RECORD] = "UPDATE utxos SET state = 'in_doubt', record_id = ?2 WHERE id = ?1 AND state = 'spendable'",
    [S_COIN_DOUBT_CALL] = "UPDATE utxos SET state = 'in_doubt', call_nonce = ?2"
                          " WHERE id = ?1 AND state = 'spendable' AND record_id IS NULL",
    [S_COIN_KNOWN] = "SELECT 1 FROM utxos WHERE id = ?1",
    [S_RECORD_DROP_IN_DOUBT] = "DELETE FROM utxos WHERE record_id = ?1 AND state = 'in_doubt'",
    [S_RECORD_DROP_LOCKED] = "DELETE FROM utxos WHERE record_id = ?1 AND state = 'locked'",
    [S_RECORD_FREE] = "UPDATE utxos SET state = 'spendable', record_id = NULL WHERE record_id = ?1 AND state = 'in_doubt'",
    [S_CALL_DROP] = "DELETE FROM utxos WHERE call_nonce = ?1 AND state = 'in_doubt'",
    [S_CALL_FREE] = "UPDATE utxos SET state = 'spendable', call_nonce = NULL WHERE call_nonce = ?1 AND state = 'in_doubt'",
    [S_CALL_RELEASE] = "UPDATE utxos SET call_nonce = NULL WHERE call_nonce = ?1",
    [S_ORPHAN_DROP] = "DELETE FROM utxos WHERE id = ?1 AND " ORPHAN,
    [S_ORPHAN_FREE] = "UPDATE utxos SET state = 'spendable' WHERE id = ?1 AND " ORPHAN,
    [S_ORPHANS] = "SELECT id, amount, state FROM utxos WHERE " ORPHAN " ORDER BY id",
    [S_RECORD_INSERT] = "INSERT INTO records (id, direction, record, amount, counterparty, nonce, payee_key, answer,"
                        " answer_msg, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [S_RECORD_INPUT_ADD] = "INSERT INTO record_inputs (record_id, utxo_id) VALUES (?1, ?2)",
    [S_RECORD_PAID] = "SELECT 1 FROM records WHERE direction = 'outgoing' AND payee_key = ?1 AND nonce = ?2",
    [S_INPUT_SEEN] = "SELECT 1 FROM record_inputs ri JOIN records r ON r.id = ri.record_id"
                     " WHERE ri.utxo_id = ?1 AND r.direction = 'incoming' AND r.status <> 'voided'",
    [S_OUTGOING_GET] = "SELECT record, answer, status FROM records WHERE id = ?1 AND direction = 'outgoing'",
    [S_RECORD_ANSWER] = "UPDATE records SET answer = ?2, answer_msg = ?3 WHERE id = ?1",
    [S_RECORD_SYNCED] = "UPDATE records SET status = ?2, reason = ?3, synced = ?4 WHERE id = ?1",
    [S_PENDING] = "SELECT id, direction, record, counterparty, answer, answer_msg FROM records"
                  " WHERE status = 'unsynced' ORDER BY created, id LIMIT ?1",
    [S_PENDING_TOTALS] = "SELECT direction, count(*), coalesce(sum(amount), 0) FROM records"
                         " WHERE status = 'unsynced' GROUP BY direction",
    [S_REQUEST_INSERT] = "INSERT INTO requests (nonce, amount, message, created) VALUES (?1, ?2, ?3, ?4)",
    [S_REQUEST_GET] = "SELECT message, record_id FROM requests WHERE nonce = ?1",
    [S_REQUEST_ANSWER] = "UPDATE requests SET record_id = ?2 WHERE nonce = ?1 AND record_id IS NULL",
    [S_CALL_INSERT] = "INSERT INTO calls (nonce, timestamp, kind, amount, counterparty, created)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_CALL_DELETE] = "DELETE FROM calls WHERE nonce = ?1",
    [S_CALLS_GET] = "SELECT nonce, timestamp, kind, amount, counterparty FROM calls ORDER BY created, nonce LIMIT ?1",
};

struct wallet_store {
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
    char *err;
    size_t err_cap;
};

/* ---- helpers ---- */

static enum offpay_status failf(struct wallet_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static enum offpay_status failf(struct wallet_store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, s->err_cap, fmt, ap);
    va_end(ap);
    return OFFPAY_ERR_STORAGE;
}

/* The engine's own failure, as one sentence. */
static enum offpay_status db_fail(struct wallet_store *s, const char *what)
{
    return failf(s, "The wallet store could not %s: %s.", what, s->db ? sqlite3_errmsg(s->db) : "no database");
}

static enum offpay_status damaged(struct wallet_store *s, sqlite3_stmt *st, const char *what)
{
    sqlite3_reset(st);
    return failf(s, "The wallet holds %s that is damaged.", what);
}

/* The prepared statement, reset and unbound; NULL (and the sentence) on failure. */
static sqlite3_stmt *stmt(struct wallet_store *s, enum stmt i)
{
    if (s->st[i] == NULL) {
        if (sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
            db_fail(s, "prepare a query");
            s->st[i] = NULL;
            return NULL;
        }
    } else {
        sqlite3_reset(s->st[i]);
        sqlite3_clear_bindings(s->st[i]);
    }
    return s->st[i];
}

/* Run a statement that returns no rows.  Out: *changes (may be NULL). */
static enum offpay_status exec_done(struct wallet_store *s, sqlite3_stmt *st, size_t *changes)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(s, "be written");
    if (changes)
        *changes = (size_t)sqlite3_changes(s->db);
    return OFFPAY_OK;
}

/* Step to the first row.  Out: *found.  The statement stays on its row. */
static enum offpay_status step_first(struct wallet_store *s, sqlite3_stmt *st, int *found)
{
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return OFFPAY_OK;
    sqlite3_reset(st);
    return db_fail(s, "be read");
}

/* A query that answers whether a row exists. */
static enum offpay_status exists(struct wallet_store *s, sqlite3_stmt *st, int *found)
{
    enum offpay_status r = step_first(s, st, found);
    sqlite3_reset(st);
    return r;
}

/* Static bindings: the caller's buffers outlive the step (reset before return). */
static void bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    if (p == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_blob(st, i, p, (int)n, SQLITE_STATIC);
}

static void bind_text(sqlite3_stmt *st, int i, const char *t)
{
    sqlite3_bind_text(st, i, t ? t : "", -1, SQLITE_STATIC);
}

static void bind_u64(sqlite3_stmt *st, int i, uint64_t v) { sqlite3_bind_int64(st, i, (sqlite3_int64)v); }

/* Copy a blob column of exactly n bytes; -1 if it is not that. */
static int col_fixed(sqlite3_stmt *st, int col, uint8_t *out, size_t n)
{
    const void *p = sqlite3_column_blob(st, col);
    if ((size_t)sqlite3_column_bytes(st, col) != n || p == NULL)
        return -1;
    memcpy(out, p, n);
    return 0;
}

/* Copy a blob column of at most cap bytes (NULL column: 0 bytes); -1 if larger. */
static int col_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    const void *p = sqlite3_column_blob(st, col);
    if (n > cap)
        return -1;
    if (n > 0)
        memcpy(out, p, n);
    *len = n;
    return 0;
}

/* Copy a text column into out (cap bytes with the NUL); -1 if NULL or too long. */
static int col_text(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    if (t == NULL || strlen(t) >= cap)
        return -1;
    strcpy(out, t);
    return 0;
}

/* Amounts and counters are never negative; a negative one is corruption. */
static int col_u64(sqlite3_stmt *st, int col, uint64_t *v)
{
    sqlite3_int64 x = sqlite3_column_int64(st, col);
    *v = (uint64_t)x;
    return x < 0 ? -1 : 0;
}

static const char *answer_name(enum wallet_answer a)
{
    return a == WALLET_ANSWER_CONFIRMED ? "confirmed" : a == WALLET_ANSWER_REFUSED ? "refused" : "none";
}

static int answer_parse(const char *t, enum wallet_answer *a)
{
    if (t == NULL)
        return -1;
    *a = strcmp(t, "confirmed") == 0 ? WALLET_ANSWER_CONFIRMED
         : strcmp(t, "refused") == 0 ? WALLET_ANSWER_REFUSED
                                     : WALLET_ANSWER_NONE;
    return *a == WALLET_ANSWER_NONE && strcmp(t, "none") != 0 ? -1 : 0;
}

static int state_parse(const char *t, enum offpay_utxo_state *state)
{
    if (t == NULL)
        return -1;
    if (strcmp(t, "spendable") == 0)
        *state = OFFPAY_UTXO_SPENDABLE;
    else if (strcmp(t, "locked") == 0)
        *state = OFFPAY_UTXO_LOCKED;
    else if (strcmp(t, "in_doubt") == 0)
        *state = OFFPAY_UTXO_IN_DOUBT;
    else
        return -1;
    return 0;
}

/* A coin row (id, amount, state) into c; -1 if damaged. */
static int coin_row(sqlite3_stmt *st, struct offpay_wallet_utxo *c)
{
    return col_fixed(st, 0, c->id, OFFPAY_UTXO_ID_BYTES) != 0 || col_u64(st, 1, &c->amount) != 0 ||
                   state_parse((const char *)sqlite3_column_text(st, 2), &c->state) != 0
               ? -1
               : 0;
}

/* Run a query of coin rows, handing each to each(). */
static enum offpay_status coins_run(struct wallet_store *s, sqlite3_stmt *st,
                                    int (*each)(void *ctx, const struct offpay_wallet_utxo *c), void *ctx)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct offpay_wallet_utxo c;
        if (coin_row(st, &c) != 0)
            return damaged(s, st, "a coin");
        if (each(ctx, &c) != 0) {
            sqlite3_reset(st);
            return OFFPAY_OK;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? OFFPAY_OK : db_fail(s, "be read");
}

/* Run a write statement bound with one fixed-size key. */
static enum offpay_status exec_key(struct wallet_store *s, enum stmt i, const void *key, size_t key_len, size_t *n)
{
    sqlite3_stmt *st = stmt(s, i);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, key, key_len);
    return exec_done(s, st, n);
}

/* ---- opening and transactions ---- */

static enum offpay_status exec_sql(struct wallet_store *s, const char *sql, const char *what)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? OFFPAY_OK : db_fail(s, what);
}

static enum offpay_status migrate(struct wallet_store *s)
{
    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 0)
        return db_fail(s, "be read");
    if (version > offpay_wallet_migrations_count)
        return failf(s, "The wallet was written by a newer offpay (schema %d).", version);
    for (int i = version; i < offpay_wallet_migrations_count; i++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", i + 1);
        enum offpay_status r = wallet_store_begin(s);
        if (r != OFFPAY_OK)
            return r;
        if (sqlite3_exec(s->db, offpay_wallet_migrations[i].sql, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(s->db, bump, NULL, NULL, NULL) != SQLITE_OK) {
            r = failf(s, "Migration %s failed: %s.", offpay_wallet_migrations[i].name, sqlite3_errmsg(s->db));
            wallet_store_rollback(s);
            return r;
        }
        if ((r = wallet_store_commit(s)) != OFFPAY_OK)
            return r;
    }
    return OFFPAY_OK;
}

enum offpay_status wallet_store_open(struct wallet_store **out, const char *path, int create, char *err,
                                     size_t err_cap)
{
    *out = NULL;
    struct wallet_store *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, err_cap, "Out of memory opening the wallet store.");
        return OFFPAY_ERR_NOMEM;
    }
    s->err = err;
    s->err_cap = err_cap;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    enum offpay_status r = OFFPAY_OK;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK)
        r = db_fail(s, "be opened");
    if (r == OFFPAY_OK) {
        sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
        r = exec_sql(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
                     "be configured");
    }
    if (r == OFFPAY_OK)
        r = migrate(s);
    if (r != OFFPAY_OK) {
        wallet_store_close(s);
        return r;
    }
    *out = s;
    return OFFPAY_OK;
}

void wallet_store_close(struct wallet_store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    if (s->db) {
        wallet_store_rollback(s);
        sqlite3_close(s->db);
    }
    free(s);
}

enum offpay_status wallet_store_begin(struct wallet_store *s)
{
    return exec_sql(s, "BEGIN IMMEDIATE", "start a transaction");
}

enum offpay_status wallet_store_commit(struct wallet_store *s)
{
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return OFFPAY_OK;
    enum offpay_status r = db_fail(s, "commit");
    wallet_store_rollback(s);
    return r;
}

void wallet_store_rollback(struct wallet_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

enum offpay_status wallet_store_begin_read(struct wallet_store *s) { return exec_sql(s, "BEGIN", "be read"); }

void wallet_store_end_read(struct wallet_store *s) { wallet_store_rollback(s); }

/* ---- identity ---- */

enum offpay_status wallet_store_identity_insert(struct wallet_store *s, const struct wallet_store_identity *id)
{
    sqlite3_stmt *st = stmt(s, S_IDENTITY_INSERT);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, id->wallet_id, OFFPAY_WALLET_ID_BYTES);
    bind_blob(st, 2, id->public_key, OFFPAY_PUBLIC_KEY_BYTES);
    bind_blob(st, 3, id->cert, id->cert_len);
    bind_blob(st, 4, id->issuer_pk, OFFPAY_PUBLIC_KEY_BYTES);
    bind_text(st, 5, id->server_url);
    bind_text(st, 6, id->account);
    bind_u64(st, 7, id->created);
    return exec_done(s, st, NULL);
}

enum offpay_status wallet_store_identity_get(struct wallet_store *s, struct wallet_store_identity *id, int *found)
{
    sqlite3_stmt *st = stmt(s, S_IDENTITY_GET);
    enum offpay_status r = st ? step_first(s, st, found) : OFFPAY_ERR_STORAGE;
    if (r != OFFPAY_OK || !*found)
        return r;
    if (col_blob(st, 0, id->cert, sizeof id->cert, &id->cert_len) != 0 ||
        col_fixed(st, 1, id->issuer_pk, OFFPAY_PUBLIC_KEY_BYTES) != 0 ||
        col_text(st, 2, id->server_url, sizeof id->server_url) != 0)
        return damaged(s, st, "an identity");
    sqlite3_reset(st);
    return OFFPAY_OK;
}

enum offpay_status wallet_store_cert_set(struct wallet_store *s, const uint8_t *cert, size_t len)
{
    sqlite3_stmt *st = stmt(s, S_CERT_SET);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, cert, len);
    return exec_done(s, st, NULL);
}

enum offpay_status wallet_store_server_url_set(struct wallet_store *s, const char *url)
{
    sqlite3_stmt *st = stmt(s, S_SERVER_URL_SET);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_text(st, 1, url);
    return exec_done(s, st, NULL);
}

enum offpay_status wallet_store_seq_get(struct wallet_store *s, uint64_t *seq)
{
    int found;
    sqlite3_stmt *st = stmt(s, S_SEQ_GET);
    enum offpay_status r = st ? step_first(s, st, &found) : OFFPAY_ERR_STORAGE;
    if (r != OFFPAY_OK)
        return r;
    if (!found || col_u64(st, 0, seq) != 0 || *seq == 0)
        return damaged(s, st, "a record sequence");
    sqlite3_reset(st);
    return OFFPAY_OK;
}

enum offpay_status wallet_store_seq_bump(struct wallet_store *s)
{
    sqlite3_stmt *st = stmt(s, S_SEQ_BUMP);
    return st ? exec_done(s, st, NULL) : OFFPAY_ERR_STORAGE;
}

/* ---- limits and revocation ---- */

enum offpay_status wallet_store_policy_set(struct wallet_store *s, const uint8_t *policy, size_t len)
{
    return exec_key(s, S_POLICY_SET, policy, len, NULL);
}

enum offpay_status wallet_store_limits_get(struct wallet_store *s, uint8_t *policy, size_t cap, size_t *len,
                                           struct offpay_limits *owner)
{
    int found;
    uint64_t v[6];
    sqlite3_stmt *st = stmt(s, S_LIMITS_GET);
    enum offpay_status r = st ? step_first(s, st, &found) : OFFPAY_ERR_STORAGE;
    if (r != OFFPAY_OK)
        return r;
    if (!found || col_blob(st, 0, policy, cap, len) != 0)
        return damaged(s, st, "limits");
    for (int i = 0; i < 6; i++)
        if (col_u64(st, 1 + i, &v[i]) != 0 || ((i == 2 || i == 3 || i == 5) && v[i] > UINT32_MAX))
            return damaged(s, st, "limits");
    owner->per_payment = v[0];
    owner->offline_total = v[1];
    owner->count = (uint32_t)v[2];
    owner->period = (uint32_t)v[3];
    owner->holding = v[4];
    owner->offline_time = (uint32_t)v[5];
    sqlite3_reset(st);
    return OFFPAY_OK;
}

static enum offpay_status owner_limits_write(struct wallet_store *s, int which, const struct offpay_limits *owner)
{
    sqlite3_stmt *st = stmt(s, which);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_u64(st, 1, owner->per_payment);
    bind_u64(st, 2, owner->offline_total);
    bind_u64(st, 3, owner->count);
    bind_u64(st, 4, owner->period);
    bind_u64(st, 5, owner->holding);
    bind_u64(st, 6, owner->offline_time);
    return exec_done(s, st, NULL);
}

enum offpay_status wallet_store_owner_limits_set(struct wallet_store *s, const struct offpay_limits *owner)
{
    return owner_limits_write(s, S_OWNER_SET, owner);
}

enum offpay_status wallet_store_owner_limits_unset(struct wallet_store *s, const struct offpay_limits *which)
{
    return owner_limits_write(s, S_OWNER_UNSET, which);
}

enum offpay_status wallet_store_stamp_set(struct wallet_store *s, const uint8_t *stamp, size_t len)
{
    return exec_key(s, S_STAMP_SET, stamp, len, NULL);
}

enum offpay_status wallet_store_synced_set(struct wallet_store *s, uint64_t at)
{
    sqlite3_stmt *st = stmt(s, S_SYNCED_SET);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_u64(st, 1, at);
    return exec_done(s, st, NULL);
}

enum offpay_status wallet_store_synced_get(struct wallet_store *s, uint64_t *at)
{
    int found;
    sqlite3_stmt *st = stmt(s, S_SYNCED_GET);
    enum offpay_status r = st ? step_first(s, st, &found) : OFFPAY_ERR_STORAGE;
    if (r != OFFPAY_OK)
        return r;
    if (!found || col_u64(st, 0, at) != 0)
        return damaged(s, st, "limits");
    sqlite3_reset(st);
    return OFFPAY_OK;
}

enum offpay_status wallet_store_stamp_get(struct wallet_store *s, uint8_t *stamp, size_t cap, size_t *len)
{
    int found;
    sqlite3_stmt *st = stmt(s, S_STAMP_GET);
    enum offpay_status r = st ? step_first(s, st, &found) : OFFPAY_ERR_STORAGE;
    if (r != OFFPAY_OK)
        return r;
    if (!found || col_blob(st, 0, stamp, cap, len) != 0)
        return damaged(s, st, "limits");
    sqlite3_reset(st);
    return OFFPAY_OK;
}

enum offpay_status wallet_store_limits_usage(struct wallet_store *s, uint64_t period_start, uint64_t *unsynced_total,
                                             uint32_t *count)
{
    int found;
    uint64_t n;
    sqlite3_stmt *st = stmt(s, S_USAGE);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_u64(st, 1, period_start);
    enum offpay_status r = step_first(s, st, &found);
    if (r != OFFPAY_OK)
        return r;
    if (!found || col_u64(st, 0, unsynced_total) != 0 || col_u64(st, 1, &n) != 0 || n > UINT32_MAX)
        return damaged(s, st, "a pending store");
    *count = (uint32_t)n;
    sqlite3_reset(st);
    return OFFPAY_OK;
}

enum offpay_status wallet_store_revocation_set(struct wallet_store *s, uint64_t serial, const uint8_t *msg,
                                               size_t len)
{
    if (serial > (uint64_t)INT64_MAX || len > (size_t)INT32_MAX)
        return failf(s, "The revocation list is too large for the wallet store.");
    sqlite3_stmt *st = stmt(s, S_REVOCATION_SET);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_u64(st, 1, serial);
    bind_blob(st, 2, msg, len);
    return exec_done(s, st, NULL);
}

enum offpay_status wallet_store_revocation_get(struct wallet_store *s, uint8_t **msg, size_t *len)
{
    int found;
    *msg = NULL;
    *len = 0;
    sqlite3_stmt *st = stmt(s, S_REVOCATION_GET);
    enum offpay_status r = st ? step_first(s, st, &found) : OFFPAY_ERR_STORAGE;
    if (r != OFFPAY_OK || !found)
        return r;
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    if ((*msg = malloc(n ? n : 1)) == NULL) {
        sqlite3_reset(st);
        snprintf(s->err, s->err_cap, "Out of memory for the revocation list.");
        return OFFPAY_ERR_NOMEM;
    }
    if (n > 0)
        memcpy(*msg, sqlite3_column_blob(st, 0), n);
    *len = n;
    sqlite3_reset(st);
    return OFFPAY_OK;
}

/* ---- history ---- */

enum offpay_status wallet_store_history_add(struct wallet_store *s, uint64_t time, const char *kind, uint64_t amount,
                                            const char *counterparty, const uint8_t *record_id, const char *detail)
{
    sqlite3_stmt *st = stmt(s, S_HISTORY_ADD);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_u64(st, 1, time);
    bind_text(st, 2, kind);
    bind_u64(st, 3, amount);
    bind_text(st, 4, counterparty);
    bind_blob(st, 5, record_id, OFFPAY_RECORD_ID_BYTES);
    bind_text(st, 6, detail);
    return exec_done(s, st, NULL);
}

enum offpay_status wallet_store_history_each(struct wallet_store *s,
                                             int (*each)(void *ctx, const struct offpay_wallet_event *e), void *ctx)
{
    int rc;
    sqlite3_stmt *st = stmt(s, S_HISTORY_ALL);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct offpay_wallet_event e;
        memset(&e, 0, sizeof e);
        if (col_u64(st, 0, &e.time) != 0 || col_u64(st, 2, &e.amount) != 0)
            return damaged(s, st, "a history line");
        /* Longer texts than the event holds are cut, as they always were. */
        snprintf(e.kind, sizeof e.kind, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(e.counterparty, sizeof e.counterparty, "%s", (const char *)sqlite3_column_text(st, 3));
        e.has_record = col_fixed(st, 4, e.record_id, OFFPAY_RECORD_ID_BYTES) == 0;
        snprintf(e.detail, sizeof e.detail, "%s", (const char *)sqlite3_column_text(st, 5));
        if (each(ctx, &e) != 0)
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? OFFPAY_OK : db_fail(s, "be read");
}

/* ---- coins ---- */

enum offpay_status wallet_store_coins_each(struct wallet_store *s,
                                           int (*each)(void *ctx, const struct offpay_wallet_utxo *c), void *ctx)
{
    sqlite3_stmt *st = stmt(s, S_COINS_ALL);
    return st ? coins_run(s, st, each, ctx) : OFFPAY_ERR_STORAGE;
}

enum offpay_status wallet_store_coins_with_prefix(struct wallet_store *s, const uint8_t *prefix, size_t nibbles,
                                                  int (*each)(void *ctx, const struct offpay_wallet_utxo *c),
                                                  void *ctx)
{
    uint8_t lo[OFFPAY_UTXO_ID_BYTES], hi[OFFPAY_UTXO_ID_BYTES];
    if (nibbles == 0 || nibbles > 2 * OFFPAY_UTXO_ID_BYTES)
        return OFFPAY_ERR_USAGE;
    memset(lo, 0x00, sizeof lo);
    memset(hi, 0xff, sizeof hi);
    memcpy(lo, prefix, nibbles / 2);
    memcpy(hi, prefix, nibbles / 2);
    if (nibbles % 2) {
        lo[nibbles / 2] = prefix[nibbles / 2] & 0xf0;
        hi[nibbles / 2] = (uint8_t)(prefix[nibbles / 2] | 0x0f);
    }
    sqlite3_stmt *st = stmt(s, S_COINS_PREFIX);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    sqlite3_bind_blob(st, 1, lo, sizeof lo, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, hi, sizeof hi, SQLITE_TRANSIENT);
    return coins_run(s, st, each, ctx);
}

enum offpay_status wallet_store_coin_get(struct wallet_store *s, const uint8_t id[OFFPAY_UTXO_ID_BYTES],
                                         struct offpay_wallet_utxo *c, int *found)
{
    sqlite3_stmt *st = stmt(s, S_COIN_GET);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, id, OFFPAY_UTXO_ID_BYTES);
    enum offpay_status r = step_first(s, st, found);
    if (r != OFFPAY_OK || !*found)
        return r;
    if (coin_row(st, c) != 0)
        return damaged(s, st, "a coin");
    sqlite3_reset(st);
    return OFFPAY_OK;
}

enum offpay_status wallet_store_coin_attestation(struct wallet_store *s, const uint8_t id[OFFPAY_UTXO_ID_BYTES],
                                                 struct offpay_utxo *u)
{
    int found;
    sqlite3_stmt *st = stmt(s, S_COIN_ATTESTATION);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, id, OFFPAY_UTXO_ID_BYTES);
    enum offpay_status r = step_first(s, st, &found);
    if (r != OFFPAY_OK)
        return r;
    if (!found || sqlite3_column_type(st, 0) != SQLITE_BLOB ||
        offpay_utxo_decode(u, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)) != OFFPAY_OK)
        return damaged(s, st, "a coin");
    sqlite3_reset(st);
    return OFFPAY_OK;
}

enum offpay_status wallet_store_coin_add(struct wallet_store *s, const struct offpay_utxo *u, enum wallet_coin_add how,
                                         uint64_t now, int *added)
{
    uint8_t buf[OFFPAY_UTXO_BYTES];
    size_t len = offpay_utxo_encode(buf, sizeof buf, u), n = 0;
    *added = 0;
    if (len == 0 || u->amount > (uint64_t)INT64_MAX)
        return failf(s, "A coin cannot be stored: it does not encode.");
    sqlite3_stmt *st = stmt(s, how == WALLET_COIN_ADD_NEW_ONLY ? S_COIN_ADD_NEW : S_COIN_ADD_OR_ATTEST);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, u->id, OFFPAY_UTXO_ID_BYTES);
    bind_u64(st, 2, u->amount);
    bind_blob(st, 3, buf, len);
    bind_u64(st, 4, now);
    enum offpay_status r = exec_done(s, st, &n);
    *added = n > 0;
    return r;
}

enum offpay_status wallet_store_coin_add_locked(struct wallet_store *s, const uint8_t id[OFFPAY_UTXO_ID_BYTES],
                                                uint64_t amount, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                                uint64_t now)
{
    sqlite3_stmt *st = stmt(s, S_COIN_ADD_LOCKED);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, id, OFFPAY_UTXO_ID_BYTES);
    bind_u64(st, 2, amount);
    bind_blob(st, 3, record_id, OFFPAY_RECORD_ID_BYTES);
    bind_u64(st, 4, now);
    return exec_done(s, st, NULL);
}

static enum offpay_status coin_doubt(struct wallet_store *s, enum stmt i, const uint8_t id[OFFPAY_UTXO_ID_BYTES],
                                     const void *by, size_t by_len, int *changed)
{
    size_t n = 0;
    sqlite3_stmt *st = stmt(s, i);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, id, OFFPAY_UTXO_ID_BYTES);
    bind_blob(st, 2, by, by_len);
    enum offpay_status r = exec_done(s, st, &n);
    *changed = n == 1;
    return r;
}

enum offpay_status wallet_store_coin_doubt_record(struct wallet_store *s, const uint8_t id[OFFPAY_UTXO_ID_BYTES],
                                                  const uint8_t record_id[OFFPAY_RECORD_ID_BYTES], int *changed)
{
    return coin_doubt(s, S_COIN_DOUBT_RECORD, id, record_id, OFFPAY_RECORD_ID_BYTES, changed);
}

enum offpay_status wallet_store_coin_doubt_call(struct wallet_store *s, const uint8_t id[OFFPAY_UTXO_ID_BYTES],
                                                const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES], int *changed)
{
    return coin_doubt(s, S_COIN_DOUBT_CALL, id, nonce, OFFPAY_HTTP_NONCE_BYTES, changed);
}

static enum offpay_status fate_unknown(struct wallet_store *s)
{
    return failf(s, "The wallet store was asked for a change of coins it does not make.");
}

enum offpay_status wallet_store_record_coins(struct wallet_store *s, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                             enum wallet_coins_fate fate, size_t *n)
{
    enum stmt i = fate == WALLET_COINS_DROP_IN_DOUBT ? S_RECORD_DROP_IN_DOUBT
                  : fate == WALLET_COINS_DROP_LOCKED ? S_RECORD_DROP_LOCKED
                  : fate == WALLET_COINS_FREE        ? S_RECORD_FREE
                                                     : S_COUNT;
    return i == S_COUNT ? fate_unknown(s) : exec_key(s, i, record_id, OFFPAY_RECORD_ID_BYTES, n);
}

enum offpay_status wallet_store_call_coins(struct wallet_store *s, const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES],
                                           enum wallet_coins_fate fate, size_t *n)
{
    enum stmt i = fate == WALLET_COINS_DROP_IN_DOUBT ? S_CALL_DROP
                  : fate == WALLET_COINS_FREE        ? S_CALL_FREE
                  : fate == WALLET_COINS_RELEASE     ? S_CALL_RELEASE
                                                     : S_COUNT;
    return i == S_COUNT ? fate_unknown(s) : exec_key(s, i, nonce, OFFPAY_HTTP_NONCE_BYTES, n);
}

enum offpay_status wallet_store_orphan_coin(struct wallet_store *s, const uint8_t id[OFFPAY_UTXO_ID_BYTES],
                                            enum wallet_coins_fate fate, size_t *n)
{
    enum stmt i = fate == WALLET_COINS_DROP_IN_DOUBT ? S_ORPHAN_DROP : fate == WALLET_COINS_FREE ? S_ORPHAN_FREE : S_COUNT;
    return i == S_COUNT ? fate_unknown(s) : exec_key(s, i, id, OFFPAY_UTXO_ID_BYTES, n);
}

enum offpay_status wallet_store_orphan_coins_each(struct wallet_store *s,
                                                  int (*each)(void *ctx, const struct offpay_wallet_utxo *c),
                                                  void *ctx)
{
    sqlite3_stmt *st = stmt(s, S_ORPHANS);
    return st ? coins_run(s, st, each, ctx) : OFFPAY_ERR_STORAGE;
}

enum offpay_status wallet_store_coin_known(struct wallet_store *s, const uint8_t id[OFFPAY_UTXO_ID_BYTES], int *known)
{
    sqlite3_stmt *st = stmt(s, S_COIN_KNOWN);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, id, OFFPAY_UTXO_ID_BYTES);
    return exists(s, st, known);
}

/* ---- records ---- */

enum offpay_status wallet_store_record_insert(struct wallet_store *s, const struct wallet_store_record *r)
{
    if (r->amount > (uint64_t)INT64_MAX)
        return failf(s, "A payment's amount is too large for the wallet store.");
    sqlite3_stmt *st = stmt(s, S_RECORD_INSERT);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, r->id, OFFPAY_RECORD_ID_BYTES);
    bind_text(st, 2, r->outgoing ? "outgoing" : "incoming");
    bind_blob(st, 3, r->record, r->record_len);
    bind_u64(st, 4, r->amount);
    bind_text(st, 5, r->counterparty);
    bind_blob(st, 6, r->nonce, OFFPAY_NONCE_BYTES);
    bind_blob(st, 7, r->payee_key, OFFPAY_PUBLIC_KEY_BYTES);
    bind_text(st, 8, answer_name(r->answer));
    bind_blob(st, 9, r->answer == WALLET_ANSWER_NONE ? NULL : r->answer_msg, r->answer_len);
    bind_u64(st, 10, r->created);
    return exec_done(s, st, NULL);
}

enum offpay_status wallet_store_record_input_add(struct wallet_store *s, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                                 const uint8_t utxo_id[OFFPAY_UTXO_ID_BYTES])
{
    sqlite3_stmt *st = stmt(s, S_RECORD_INPUT_ADD);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, record_id, OFFPAY_RECORD_ID_BYTES);
    bind_blob(st, 2, utxo_id, OFFPAY_UTXO_ID_BYTES);
    return exec_done(s, st, NULL);
}

enum offpay_status wallet_store_record_paid(struct wallet_store *s, const uint8_t payee_key[OFFPAY_PUBLIC_KEY_BYTES],
                                            const uint8_t nonce[OFFPAY_NONCE_BYTES], int *found)
{
    sqlite3_stmt *st = stmt(s, S_RECORD_PAID);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, payee_key, OFFPAY_PUBLIC_KEY_BYTES);
    bind_blob(st, 2, nonce, OFFPAY_NONCE_BYTES);
    return exists(s, st, found);
}

enum offpay_status wallet_store_input_seen(struct wallet_store *s, const uint8_t utxo_id[OFFPAY_UTXO_ID_BYTES],
                                           int *seen)
{
    sqlite3_stmt *st = stmt(s, S_INPUT_SEEN);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, utxo_id, OFFPAY_UTXO_ID_BYTES);
    return exists(s, st, seen);
}

enum offpay_status wallet_store_outgoing_get(struct wallet_store *s, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                                             struct wallet_store_outgoing *r, int *found)
{
    sqlite3_stmt *st = stmt(s, S_OUTGOING_GET);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, id, OFFPAY_RECORD_ID_BYTES);
    enum offpay_status res = step_first(s, st, found);
    if (res != OFFPAY_OK || !*found)
        return res;
    if (col_blob(st, 0, r->record, sizeof r->record, &r->record_len) != 0 ||
        answer_parse((const char *)sqlite3_column_text(st, 1), &r->answer) != 0 ||
        col_text(st, 2, r->status, sizeof r->status) != 0)
        return damaged(s, st, "a payment record");
    sqlite3_reset(st);
    return OFFPAY_OK;
}

enum offpay_status wallet_store_record_answer(struct wallet_store *s, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                                              enum wallet_answer answer, const uint8_t *msg, size_t len)
{
    sqlite3_stmt *st = stmt(s, S_RECORD_ANSWER);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, id, OFFPAY_RECORD_ID_BYTES);
    bind_text(st, 2, answer_name(answer));
    bind_blob(st, 3, msg, len);
    return exec_done(s, st, NULL);
}

enum offpay_status wallet_store_record_synced(struct wallet_store *s, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                                              const char *status, const char *reason, uint64_t now)
{
    sqlite3_stmt *st = stmt(s, S_RECORD_SYNCED);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, id, OFFPAY_RECORD_ID_BYTES);
    bind_text(st, 2, status);
    if (reason)
        bind_text(st, 3, reason);
    else
        sqlite3_bind_null(st, 3);
    bind_u64(st, 4, now);
    return exec_done(s, st, NULL);
}

static int pending_row(sqlite3_stmt *st, struct wallet_store_pending *p)
{
    const char *dir = (const char *)sqlite3_column_text(st, 1);
    if (col_fixed(st, 0, p->id, OFFPAY_RECORD_ID_BYTES) != 0 || dir == NULL ||
        col_blob(st, 2, p->record, sizeof p->record, &p->record_len) != 0 ||
        col_text(st, 3, p->counterparty, sizeof p->counterparty) != 0 ||
        answer_parse((const char *)sqlite3_column_text(st, 4), &p->answer) != 0 ||
        col_blob(st, 5, p->answer_msg, sizeof p->answer_msg, &p->answer_len) != 0)
        return -1;
    p->outgoing = strcmp(dir, "outgoing") == 0;
    return 0;
}

enum offpay_status wallet_store_pending_each(struct wallet_store *s, size_t max,
                                             int (*each)(void *ctx, const struct wallet_store_pending *p), void *ctx)
{
    int rc;
    sqlite3_stmt *st = stmt(s, S_PENDING);
    struct wallet_store_pending *p = malloc(sizeof *p); /* records are kilobytes: not on the stack */
    if (st == NULL || p == NULL) {
        free(p);
        return st == NULL ? OFFPAY_ERR_STORAGE : failf(s, "Out of memory reading the pending store.");
    }
    bind_u64(st, 1, max);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (pending_row(st, p) != 0) {
            free(p);
            return damaged(s, st, "a payment record");
        }
        if (each(ctx, p) != 0)
            break;
    }
    sqlite3_reset(st);
    free(p);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? OFFPAY_OK : db_fail(s, "be read");
}

enum offpay_status wallet_store_pending_totals(struct wallet_store *s, uint64_t *outgoing, uint64_t *incoming,
                                               uint64_t *incoming_sum)
{
    int rc;
    *outgoing = *incoming = *incoming_sum = 0;
    sqlite3_stmt *st = stmt(s, S_PENDING_TOTALS);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *dir = (const char *)sqlite3_column_text(st, 0);
        uint64_t count, sum;
        if (dir == NULL || col_u64(st, 1, &count) != 0 || col_u64(st, 2, &sum) != 0)
            return damaged(s, st, "a pending store");
        if (strcmp(dir, "incoming") == 0) {
            *incoming = count;
            *incoming_sum = sum;
        } else {
            *outgoing = count;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? OFFPAY_OK : db_fail(s, "be read");
}

/* ---- requests ---- */

enum offpay_status wallet_store_request_insert(struct wallet_store *s, const uint8_t nonce[OFFPAY_NONCE_BYTES],
                                               uint64_t amount, const uint8_t *msg, size_t len, uint64_t now)
{
    sqlite3_stmt *st = stmt(s, S_REQUEST_INSERT);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, nonce, OFFPAY_NONCE_BYTES);
    bind_u64(st, 2, amount);
    bind_blob(st, 3, msg, len);
    bind_u64(st, 4, now);
    return exec_done(s, st, NULL);
}

enum offpay_status wallet_store_request_get(struct wallet_store *s, const uint8_t nonce[OFFPAY_NONCE_BYTES],
                                            uint8_t *msg, size_t cap, size_t *len, int *answered,
                                            uint8_t answered_by[OFFPAY_RECORD_ID_BYTES], int *found)
{
    sqlite3_stmt *st = stmt(s, S_REQUEST_GET);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, nonce, OFFPAY_NONCE_BYTES);
    enum offpay_status r = step_first(s, st, found);
    if (r != OFFPAY_OK || !*found)
        return r;
    *answered = sqlite3_column_type(st, 1) != SQLITE_NULL;
    memset(answered_by, 0, OFFPAY_RECORD_ID_BYTES);
    if (col_blob(st, 0, msg, cap, len) != 0)
        return damaged(s, st, "a request");
    if (*answered && col_fixed(st, 1, answered_by, OFFPAY_RECORD_ID_BYTES) != 0)
        memset(answered_by, 0, OFFPAY_RECORD_ID_BYTES); /* answered by something that is no record id of ours */
    sqlite3_reset(st);
    return OFFPAY_OK;
}

enum offpay_status wallet_store_request_answer(struct wallet_store *s, const uint8_t nonce[OFFPAY_NONCE_BYTES],
                                               const uint8_t record_id[OFFPAY_RECORD_ID_BYTES], int *changed)
{
    size_t n = 0;
    sqlite3_stmt *st = stmt(s, S_REQUEST_ANSWER);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, nonce, OFFPAY_NONCE_BYTES);
    bind_blob(st, 2, record_id, OFFPAY_RECORD_ID_BYTES);
    enum offpay_status r = exec_done(s, st, &n);
    *changed = n == 1;
    return r;
}

/* ---- calls in doubt ---- */

enum offpay_status wallet_store_call_insert(struct wallet_store *s, const struct wallet_store_call *c, uint64_t now)
{
    sqlite3_stmt *st = stmt(s, S_CALL_INSERT);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_blob(st, 1, c->nonce, OFFPAY_HTTP_NONCE_BYTES);
    bind_u64(st, 2, c->ts);
    bind_text(st, 3, c->kind);
    bind_u64(st, 4, c->amount);
    bind_text(st, 5, c->counterparty);
    bind_u64(st, 6, now);
    return exec_done(s, st, NULL);
}

enum offpay_status wallet_store_call_delete(struct wallet_store *s, const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES])
{
    return exec_key(s, S_CALL_DELETE, nonce, OFFPAY_HTTP_NONCE_BYTES, NULL);
}

enum offpay_status wallet_store_calls_get(struct wallet_store *s, struct wallet_store_call *out, size_t cap, size_t *n)
{
    int rc;
    *n = 0;
    sqlite3_stmt *st = stmt(s, S_CALLS_GET);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    bind_u64(st, 1, cap);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < cap) {
        struct wallet_store_call *c = &out[*n];
        if (col_fixed(st, 0, c->nonce, OFFPAY_HTTP_NONCE_BYTES) != 0 || col_u64(st, 1, &c->ts) != 0 ||
            col_text(st, 2, c->kind, sizeof c->kind) != 0 || col_u64(st, 3, &c->amount) != 0 ||
            (c->amount == 0 && strcmp(c->kind, "lost") != 0) ||
            col_text(st, 4, c->counterparty, sizeof c->counterparty) != 0)
            return damaged(s, st, "a call in doubt");
        (*n)++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? OFFPAY_OK : db_fail(s, "be read");
}

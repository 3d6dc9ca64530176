/*
 * pg_ledger.c - the ledger interface on a PostgreSQL database (libpq).
 *
 * Several offpayd processes may serve one PostgreSQL ledger at once, so the
 * database, not a process-local lock, must keep settlement exactly-once, and
 * there is no lock between their writers: write transactions of all
 * processes run in parallel at REPEATABLE READ isolation.  Correctness rests
 * on first-updater-wins: every decision a transaction takes from what it
 * read is followed by a write to the row it read -- a coin is marked spent
 * (an UPDATE of that coin's row), a record is inserted under its unique id,
 * a nonce under its unique key, an account's totals by an UPDATE of its row
 * -- and when two transactions write the same row, PostgreSQL makes the
 * second wait for the first and then aborts it with SQLSTATE 40001 if the
 * first committed (an INSERT ... ON CONFLICT DO NOTHING that meets a row its
 * snapshot cannot see does the same).  We answer OFFPAY_LEDGER_RETRY, and the
 * caller runs the whole transaction again on a fresh snapshot, which sees
 * the winner's result (settled already, or a double spend).  Deadlocks
 * (40P01) and lock waits over lock_timeout (55P03) are retried the same way.
 * Any operation may therefore answer RETRY.  Reads (begin(l, 0)) are
 * REPEATABLE READ READ ONLY: one consistent snapshot, never aborted.
 *
 * An error inside a PostgreSQL transaction aborts all of it, but the
 * interface lets a caller go on after DUPLICATE; so inserts use ON CONFLICT
 * DO NOTHING and report DUPLICATE when no row was written, never an error.
 *
 * Parameters and results travel in binary form, and every value read is
 * checked (type, NULL, exact length, range) before use: the database is
 * outside our process and its rows are treated as hostile input.  Blobs
 * handed out point into the last result, kept until the next operation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "postgres/migrations.h"
#include "postgres/pg_ledger.h"

/* Type OIDs of the columns we read and the parameters we send (pg_type.h;
 * fixed since PostgreSQL 7). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25

/* Serializes concurrent migrations of one database (any 64-bit constant). */
#define MIGRATION_LOCK_KEY "7206312350915634001"

#define MAX_PARAMS 8

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
    S_WALLET_INSERT,
    S_WALLET_GET,
    S_WALLET_GET_KEY,
    S_WALLET_REVOKE,
    S_WALLET_LOST,
    S_WALLET_WRITE_OFF,
    S_WALLET_SYNCED,
    S_WALLET_LIST,
    S_WALLET_LIST_ALL,
    S_WALLET_DUE,
    S_REVOCATION_GET,
    S_REVOKED_IDS,
    S_NONCE_INSERT,
    S_NONCE_KEEP,
    S_NONCE_GET,
    S_NONCE_PRUNE,
    S_LIMITS_GET,
    S_LIMITS_SET,
    S_UTXO_INSERT,
    S_UTXO_GET,
    S_UTXO_SPEND,
    S_UTXO_UNSPENT_OF,
    S_RECORD_INSERT,
    S_RECORD_GET,
    S_FRAUD_INSERT,
    S_FRAUD_GET,
    S_FRAUD_LIST,
    S_AUDIT,
    S_COUNT
};

/* What a wallet row shows (wallet_row reads them in this order). */
#define WALLET_COLS                                                                                                    \
    "id, account_id, public_key, fraudulent, created, loss, lost_at, writeoff_at, written_off_at, written_off, "       \
    "last_sync"
#define WALLET_TYPES "bibiiiiiiii"

/* Each statement with the types of its parameters: b bytea, i int8, t text. */
static const struct {
    const char *types;
    const char *sql;
} stmts[S_COUNT] = {
    [S_META_GET] = {"t", "SELECT value FROM meta WHERE key = $1"},
    [S_META_SET] = {"tb", "INSERT INTO meta (key, value) VALUES ($1, $2) "
                          "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"},
    [S_ACC_CREATE] = {"ti", "INSERT INTO accounts (name, created) VALUES ($1, $2) "
                            "ON CONFLICT DO NOTHING RETURNING id"},
    [S_ACC_GET] = {"t", "SELECT id, name, online, minted, received, sent FROM accounts WHERE name = $1"},
    [S_ACC_GET_ID] = {"i", "SELECT id, name, online, minted, received, sent FROM accounts WHERE id = $1"},
    [S_ACC_UPDATE] = {"iiiii", "UPDATE accounts SET online = $2, minted = $3, received = $4, sent = $5 WHERE id = $1"},
    [S_TOKEN_INSERT] = {"bii", "INSERT INTO tokens (hash, account_id, created) VALUES ($1, $2, $3) "
                               "ON CONFLICT DO NOTHING"},
    [S_TOKEN_TAKE] = {"bi", "UPDATE tokens SET used = $2 WHERE hash = $1 AND used IS NULL RETURNING account_id"},
    [S_TOKEN_SET_WALLET] = {"bb", "UPDATE tokens SET wallet_id = $2 WHERE hash = $1 AND used IS NOT NULL"},
    [S_TOKEN_GET_WALLET] = {"b", "SELECT wallet_id FROM tokens WHERE hash = $1 AND used IS NOT NULL "
                                 "AND wallet_id IS NOT NULL"},
    [S_WALLET_CERT] = {"b", "SELECT certificate FROM wallets WHERE id = $1"},
    [S_WALLET_INSERT] = {"bibbi", "INSERT INTO wallets (id, account_id, public_key, certificate, created) "
                                  "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"},
    [S_WALLET_GET] = {"b", "SELECT " WALLET_COLS " FROM wallets WHERE id = $1"},
    [S_WALLET_GET_KEY] = {"b", "SELECT " WALLET_COLS " FROM wallets WHERE public_key = $1"},
    /* One round trip: mark the wallet, and only if that changed it, list it
     * and bump the list's serial. */
    [S_WALLET_REVOKE] = {"bi", "WITH w AS (UPDATE wallets SET fraudulent = 1, revoked_at = $2 "
                               "WHERE id = $1 AND fraudulent = 0 RETURNING id), "
                               "r AS (INSERT INTO revoked (wallet_id, at) SELECT id, $2 FROM w "
                               "ON CONFLICT DO NOTHING RETURNING wallet_id) "
                               "UPDATE revocation SET serial = serial + 1, issued_at = $2 "
                               "WHERE id = 1 AND EXISTS (SELECT 1 FROM r)"},
    /* The same for a loss: the wallet is listed (unless listed already for
     * fraud), not marked fraudulent; a wallet reported already stays so. */
    [S_WALLET_LOST] = {"biii", "WITH w AS (UPDATE wallets SET loss = $2, lost_at = $3, writeoff_at = $4 "
                               "WHERE id = $1 AND loss = 0 RETURNING id), "
                               "r AS (INSERT INTO revoked (wallet_id, at) SELECT id, $3 FROM w "
                               "ON CONFLICT DO NOTHING RETURNING wallet_id) "
                               "UPDATE revocation SET serial = serial + 1, issued_at = $3 "
                               "WHERE id = 1 AND EXISTS (SELECT 1 FROM r)"},
    [S_WALLET_WRITE_OFF] = {"bii", "UPDATE wallets SET written_off_at = $2, written_off = $3 "
                                   "WHERE id = $1 AND loss <> 0 AND written_off_at = 0"},
    [S_WALLET_SYNCED] = {"bi", "UPDATE wallets SET last_sync = $2 WHERE id = $1"},
    [S_WALLET_LIST] = {"i", "SELECT " WALLET_COLS " FROM wallets WHERE account_id = $1 ORDER BY id"},
    [S_WALLET_LIST_ALL] = {"", "SELECT " WALLET_COLS " FROM wallets ORDER BY id"},
    [S_WALLET_DUE] = {"i", "SELECT " WALLET_COLS " FROM wallets WHERE loss <> 0 AND written_off_at = 0 "
                           "AND writeoff_at <= $1 ORDER BY writeoff_at, id"},
    [S_REVOCATION_GET] = {"", "SELECT serial, issued_at, (SELECT count(*) FROM revoked) FROM revocation WHERE id = 1"},
    [S_REVOKED_IDS] = {"", "SELECT wallet_id FROM revoked ORDER BY wallet_id"},
    [S_NONCE_INSERT] = {"bbi", "INSERT INTO nonces (wallet_id, nonce, ts) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"},
    [S_NONCE_KEEP] = {"bbiib", "INSERT INTO nonces (wallet_id, nonce, ts, kind, answer) VALUES ($1, $2, $3, $4, $5) "
                               "ON CONFLICT DO NOTHING"},
    [S_NONCE_GET] = {"bb", "SELECT ts, kind, answer FROM nonces WHERE wallet_id = $1 AND nonce = $2"},
    [S_NONCE_PRUNE] = {"ii", "DELETE FROM nonces WHERE ts < $2 OR (ts < $1 AND kind = 0)"},
    [S_LIMITS_GET] = {"b", "SELECT per_payment, offline_total, count, period, issued_at, holding, offline_time "
                           "FROM limits WHERE wallet_id = $1"},
    [S_LIMITS_SET] = {"biiiiiii", "INSERT INTO limits (wallet_id, per_payment, offline_total, count, period, issued_at, "
                                  "holding, offline_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                                  "ON CONFLICT (wallet_id) DO UPDATE SET "
                                  "per_payment = EXCLUDED.per_payment, offline_total = EXCLUDED.offline_total, "
                                  "count = EXCLUDED.count, period = EXCLUDED.period, issued_at = EXCLUDED.issued_at, "
                                  "holding = EXCLUDED.holding, offline_time = EXCLUDED.offline_time"},
    [S_UTXO_INSERT] = {"bbiii", "INSERT INTO utxos (id, owner, account_id, amount, created) "
                                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"},
    /* A coin is found under its owner's key only (ledger.h). */
    [S_UTXO_GET] = {"bb", "SELECT owner, account_id, amount, spent, spent_by, created FROM utxos "
                          "WHERE id = $2 AND owner = $1"},
    [S_UTXO_SPEND] = {"bbibi", "UPDATE utxos SET spent = $3, spent_by = $4, spent_at = $5 "
                               "WHERE id = $2 AND owner = $1 AND spent = 0"},
    /* '' sorts before every id: "after nothing" lists from the first. */
    [S_UTXO_UNSPENT_OF] = {"bib", "SELECT id, amount FROM utxos WHERE owner = $1 AND spent = 0 AND id > $3 "
                                 "ORDER BY id LIMIT $2"},
    [S_RECORD_INSERT] = {"bibbbbbi", "INSERT INTO records (id, state, payer_wallet, payee_key, body, confirmation, "
                                     "refusal, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"},
    [S_RECORD_GET] = {"b", "SELECT state, payer_wallet, payee_key, body, confirmation, refusal, at FROM records "
                           "WHERE id = $1"},
    [S_FRAUD_INSERT] = {"bbibbbi", "INSERT INTO frauds (record_id, payer_wallet, account_id, input, record, "
                                   "first_record, at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"},
    [S_FRAUD_GET] = {"b", "SELECT record_id, payer_wallet, account_id, input, record, first_record, at FROM frauds "
                          "WHERE record_id = $1"},
    [S_FRAUD_LIST] = {"", "SELECT record_id, payer_wallet, account_id, input, record, first_record, at FROM frauds "
                          "ORDER BY at, record_id"},
    /* Sums are numeric in PostgreSQL: clamp them into int8 and flag what did
     * not fit (or a coin that is not positive) as overflow. */
    [S_AUDIT] = {"", "SELECT * FROM ("
                     "SELECT a.id, a.name, a.online, a.minted, a.received, a.sent, "
                     "least(coalesce(u.total, 0), 9223372036854775807)::int8 AS unspent, "
                     "(coalesce(u.total, 0) > 9223372036854775807 OR coalesce(u.bad, false)) AS overflow "
                     "FROM accounts a LEFT JOIN (SELECT account_id, sum(amount) AS total, bool_or(amount <= 0) AS bad "
                     "FROM utxos WHERE spent = 0 GROUP BY account_id) u ON u.account_id = a.id "
                     /* coins whose account is gone can only come from tampering; show them as one more row */
                     "UNION ALL SELECT -1, '(no account)', 0, 0, 0, 0, "
                     "least(sum(amount), 9223372036854775807)::int8, "
                     "(sum(amount) > 9223372036854775807 OR bool_or(amount <= 0)) FROM utxos "
                     "WHERE spent = 0 AND account_id NOT IN (SELECT id FROM accounts) HAVING count(*) > 0"
                     ") t ORDER BY name COLLATE \"C\""},
};

struct pg_ledger {
    struct offpay_ledger base;
    PGconn *conn;
    unsigned char prepared[S_COUNT]; /* on this session: 0 not yet, 1 prepared, 2 stale */
    int in_tx;
    int marked; /* the open transaction has a savepoint */
    PGresult *keep; /* the last result: blobs handed out point into it */
    char err[256];
};

#define PL(l) ((struct pg_ledger *)(l))

/* Parameters of one statement, in binary form. */
struct params {
    const char *v[MAX_PARAMS];
    int len[MAX_PARAMS], fmt[MAX_PARAMS];
    unsigned char ints[MAX_PARAMS][8];
    int n;
};

static void p_blob(struct params *p, const void *b, size_t n)
{
    p->v[p->n] = b;
    p->len[p->n] = (int)n;
    p->fmt[p->n] = 1;
    if (b == NULL) /* SQL NULL */
        p->len[p->n] = 0;
    else if (n == 0)
        p->v[p->n] = ""; /* an empty value, not NULL */
    p->n++;
}

static void p_text(struct params *p, const char *s) { p_blob(p, s, strlen(s)); }

static void p_i64(struct params *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        p->ints[p->n][i] = (unsigned char)(u >> (56 - 8 * i));
    p_blob(p, p->ints[p->n], 8);
}

static int fits_i64(uint64_t v) { return v <= (uint64_t)INT64_MAX; }

/* ---- errors ---- */

static void set_err(struct pg_ledger *s, const char *msg)
{
    snprintf(s->err, sizeof s->err, "%s", msg && *msg ? msg : "PostgreSQL failed without a message.");
    size_t n = strlen(s->err);
    while (n > 0 && (s->err[n - 1] == '\n' || s->err[n - 1] == ' '))
        s->err[--n] = '\0';
}

/* The result of a failed statement: which SQLSTATEs are races to retry. */
static enum offpay_ledger_result fail_res(struct pg_ledger *s, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    set_err(s, res ? PQresultErrorMessage(res) : PQerrorMessage(s->conn));
    /* A lost connection (server restarted, backend killed) inside a
     * transaction lost that transaction: nothing of it was committed (a lost
     * COMMIT is pg_commit's business), so the caller may run it again; the
     * next begin reconnects. */
    if (PQstatus(s->conn) != CONNECTION_OK)
        return s->in_tx ? OFFPAY_LEDGER_RETRY : OFFPAY_LEDGER_UNAVAILABLE;
    if (res == NULL || state == NULL)
        return OFFPAY_LEDGER_ERROR;
    /* The server cannot do it now, whatever the statement: connection
     * trouble (08), out of disk or memory (53), shutting down or starting
     * (57P01-57P03), an I/O error (58). */
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 || strncmp(state, "58", 2) == 0 ||
        strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
        return OFFPAY_LEDGER_UNAVAILABLE;
    if (strcmp(state, "40001") == 0 || /* serialization_failure */
        strcmp(state, "40P01") == 0 || /* deadlock_detected */
        strcmp(state, "55P03") == 0)   /* lock_not_available (lock_timeout) */
        return OFFPAY_LEDGER_RETRY;
    if (strcmp(state, "23505") == 0) /* unique_violation (not expected: inserts use ON CONFLICT) */
        return OFFPAY_LEDGER_DUPLICATE;
    return OFFPAY_LEDGER_ERROR;
}

static enum offpay_ledger_result corrupt(struct pg_ledger *s, const char *what)
{
    snprintf(s->err, sizeof s->err, "The ledger holds a malformed %s.", what);
    return OFFPAY_LEDGER_ERROR;
}

/* ---- running statements ---- */

/* Drop the result kept from the previous operation. */
static void release(struct pg_ledger *s)
{
    PQclear(s->keep);
    s->keep = NULL;
}

/* Outside a transaction a broken connection is reopened (the server may
 * have restarted); inside one the transaction is lost and the caller hears
 * of it from the failing statement.  Returns 1 if it reconnected. */
static int reconnect_if_broken(struct pg_ledger *s)
{
    if (s->in_tx || PQstatus(s->conn) == CONNECTION_OK)
        return 0;
    PQreset(s->conn);
    memset(s->prepared, 0, sizeof s->prepared); /* prepared statements die with the session */
    return PQstatus(s->conn) == CONNECTION_OK;
}

static Oid type_oid(char c) { return c == 'b' ? OID_BYTEA : c == 'i' ? OID_INT8 : OID_TEXT; }

/* Run statement i; on success the result (tuples or command) is in s->keep. */
static enum offpay_ledger_result run(struct pg_ledger *s, enum stmt i, const struct params *p)
{
    char name[16], sql[40];
    PGresult *res;

    release(s);
    reconnect_if_broken(s);
    if (p->n != (int)strlen(stmts[i].types)) {
        snprintf(s->err, sizeof s->err, "Statement %d got %d parameters.", (int)i, p->n);
        return OFFPAY_LEDGER_ERROR;
    }
    snprintf(name, sizeof name, "offpay_%d", (int)i);
    for (int attempt = 0;; attempt++) {
        if (s->prepared[i] == 2) { /* stale: the schema changed under it */
            snprintf(sql, sizeof sql, "DEALLOCATE %s", name);
            PQclear(PQexec(s->conn, sql));
            s->prepared[i] = 0;
        }
        if (s->prepared[i] == 0) {
            Oid types[MAX_PARAMS];
            for (int k = 0; k < p->n; k++)
                types[k] = type_oid(stmts[i].types[k]);
            res = PQprepare(s->conn, name, stmts[i].sql, p->n, types);
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                enum offpay_ledger_result r = fail_res(s, res);
                PQclear(res);
                if (attempt == 0 && reconnect_if_broken(s))
                    continue;
                return r;
            }
            PQclear(res);
            s->prepared[i] = 1;
        }
        res = PQexecPrepared(s->conn, name, p->n, p->v, p->len, p->fmt, 1);
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            s->keep = res;
            return OFFPAY_LEDGER_OK;
        }
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        int stale = state != NULL && strcmp(state, "0A000") == 0;
        enum offpay_ledger_result r = fail_res(s, res);
        PQclear(res);
        /* "cached plan must not change result type": a column changed type
         * since we prepared.  Prepare again (the new shape is then checked
         * like any row); inside a transaction, which the error aborted, the
         * caller's rerun does that. */
        if (!stale) {
            if (attempt == 0 && reconnect_if_broken(s))
                continue; /* the connection had broken since the last operation */
            return r;
        }
        s->prepared[i] = 2;
        if (s->in_tx)
            return OFFPAY_LEDGER_RETRY;
        if (attempt > 0)
            return r;
    }
}

/* Rows a statement changed (or returned, with RETURNING). */
static long affected(struct pg_ledger *s)
{
    const char *t = PQcmdTuples(s->keep);
    return t && *t ? strtol(t, NULL, 10) : 0;
}

/* Check the shape of a result: ncols columns of these types (b bytea, i int8,
 * t text, ? bool), binary.  Returns 0 or -1. */
static int shape(struct pg_ledger *s, const char *types)
{
    int n = (int)strlen(types);
    if (PQnfields(s->keep) != n)
        return -1;
    for (int c = 0; c < n; c++) {
        Oid want = types[c] == 'b' ? OID_BYTEA : types[c] == 'i' ? OID_INT8 : types[c] == 't' ? OID_TEXT : OID_BOOL;
        if (PQftype(s->keep, c) != want || PQfformat(s->keep, c) != 1)
            return -1;
    }
    return 0;
}

/* A non-NULL int8; -1 if it is not one. */
static int get_i64(struct pg_ledger *s, int row, int col, int64_t *out)
{
    if (PQgetisnull(s->keep, row, col) || PQgetlength(s->keep, row, col) != 8)
        return -1;
    const unsigned char *p = (const unsigned char *)PQgetvalue(s->keep, row, col);
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | p[i];
    *out = (int64_t)u;
    return 0;
}

/* A non-NULL, non-negative int8. */
static int get_u64(struct pg_ledger *s, int row, int col, uint64_t *out)
{
    int64_t v;
    if (get_i64(s, row, col, &v) != 0 || v < 0)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int get_bool(struct pg_ledger *s, int row, int col, int *out)
{
    if (PQgetisnull(s->keep, row, col) || PQgetlength(s->keep, row, col) != 1)
        return -1;
    unsigned char b = (unsigned char)PQgetvalue(s->keep, row, col)[0];
    if (b > 1)
        return -1;
    *out = b;
    return 0;
}

/* A non-NULL bytea of exactly n bytes. */
static int get_fixed(struct pg_ledger *s, int row, int col, uint8_t *out, size_t n)
{
    if (PQgetisnull(s->keep, row, col) || (size_t)PQgetlength(s->keep, row, col) != n)
        return -1;
    memcpy(out, PQgetvalue(s->keep, row, col), n);
    return 0;
}

/* A bytea (NULL allowed when nullable: *out NULL); points into the result. */
static int get_blob(struct pg_ledger *s, int row, int col, int nullable, const uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (PQgetisnull(s->keep, row, col))
        return nullable ? 0 : -1;
    int n = PQgetlength(s->keep, row, col);
    if (n < 0)
        return -1;
    *out = (const uint8_t *)PQgetvalue(s->keep, row, col);
    *len = (size_t)n;
    return 0;
}

/* A non-NULL text of at most cap - 1 bytes without NUL, copied and terminated. */
static int get_text(struct pg_ledger *s, int row, int col, char *out, size_t cap)
{
    if (PQgetisnull(s->keep, row, col))
        return -1;
    int n = PQgetlength(s->keep, row, col);
    const char *p = PQgetvalue(s->keep, row, col);
    if (n < 0 || (size_t)n >= cap || memchr(p, '\0', (size_t)n) != NULL)
        return -1;
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    return 0;
}

/* At most one row is possible for a lookup by key; NOT_FOUND for none. */
static enum offpay_ledger_result one_row(struct pg_ledger *s, const char *types, const char *what)
{
    if (shape(s, types) != 0 || PQntuples(s->keep) > 1)
        return corrupt(s, what);
    return PQntuples(s->keep) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_NOT_FOUND;
}

/* A plain command outside the prepared set (BEGIN, COMMIT, ...). */
static enum offpay_ledger_result exec_cmd(struct pg_ledger *s, const char *sql)
{
    release(s);
    PGresult *res = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    enum offpay_ledger_result r =
        (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? OFFPAY_LEDGER_OK : fail_res(s, res);
    PQclear(res);
    return r;
}

/* ---- connection, transactions ---- */

static void pg_close(struct offpay_ledger *l)
{
    struct pg_ledger *s = PL(l);
    release(s);
    PQfinish(s->conn); /* an open transaction is rolled back by the server */
    free(s);
}

static const char *pg_last_error(struct offpay_ledger *l) { return PL(l)->err; }

static enum offpay_ledger_result start_tx(struct pg_ledger *s, int write)
{
    s->marked = 0;
    return exec_cmd(s, write ? "BEGIN ISOLATION LEVEL REPEATABLE READ" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

static enum offpay_ledger_result pg_begin(struct offpay_ledger *l, int write)
{
    struct pg_ledger *s = PL(l);
    enum offpay_ledger_result r;
    if (s->in_tx) {
        snprintf(s->err, sizeof s->err, "A transaction is already open on this connection.");
        return OFFPAY_LEDGER_ERROR;
    }
    reconnect_if_broken(s);
    r = start_tx(s, write);
    if (r != OFFPAY_LEDGER_OK && reconnect_if_broken(s))
        r = start_tx(s, write); /* the connection had broken since the last operation */
    if (r == OFFPAY_LEDGER_OK)
        s->in_tx = 1;
    return r;
}

static void pg_rollback(struct offpay_ledger *l)
{
    struct pg_ledger *s = PL(l);
    if (!s->in_tx)
        return;
    char keep[sizeof s->err];
    memcpy(keep, s->err, sizeof keep); /* the caller may still want to report why */
    (void)exec_cmd(s, "ROLLBACK");
    memcpy(s->err, keep, sizeof keep);
    s->in_tx = 0;
}

static enum offpay_ledger_result pg_commit(struct offpay_ledger *l)
{
    struct pg_ledger *s = PL(l);
    if (!s->in_tx) {
        snprintf(s->err, sizeof s->err, "No transaction is open.");
        return OFFPAY_LEDGER_ERROR;
    }
    release(s);
    PGresult *res = PQexec(s->conn, "COMMIT");
    enum offpay_ledger_result r = OFFPAY_LEDGER_OK;
    if (PQstatus(s->conn) != CONNECTION_OK) {
        /* it may or may not have committed; a rerun would not know which */
        snprintf(s->err, sizeof s->err, "The connection to PostgreSQL broke during COMMIT; the outcome is unknown.");
        r = OFFPAY_LEDGER_UNKNOWN;
    } else if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        r = fail_res(s, res);
    } else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        /* COMMIT of a transaction that had failed answers ROLLBACK */
        snprintf(s->err, sizeof s->err, "The transaction had failed and was rolled back.");
        r = OFFPAY_LEDGER_ERROR;
    }
    PQclear(res);
    if (r != OFFPAY_LEDGER_OK && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        PGresult *rb = PQexec(s->conn, "ROLLBACK");
        PQclear(rb);
    }
    s->in_tx = 0;
    return r;
}

/* Savepoints (group commit).  Each is a subtransaction; releasing the
 * previous one in the same round trip keeps them from nesting. */
static enum offpay_ledger_result pg_savepoint(struct offpay_ledger *l)
{
    struct pg_ledger *s = PL(l);
    if (!s->in_tx) {
        snprintf(s->err, sizeof s->err, "A savepoint needs an open transaction.");
        return OFFPAY_LEDGER_ERROR;
    }
    enum offpay_ledger_result r =
        exec_cmd(s, s->marked ? "RELEASE SAVEPOINT offpay_member; SAVEPOINT offpay_member" : "SAVEPOINT offpay_member");
    s->marked = r == OFFPAY_LEDGER_OK;
    return r;
}

static enum offpay_ledger_result pg_rollback_savepoint(struct offpay_ledger *l)
{
    struct pg_ledger *s = PL(l);
    if (!s->in_tx || !s->marked) {
        snprintf(s->err, sizeof s->err, "There is no savepoint to go back to.");
        return OFFPAY_LEDGER_ERROR;
    }
    return exec_cmd(s, "ROLLBACK TO SAVEPOINT offpay_member");
}

/* One small integer from a query (text result); -1 on failure. */
static long query_long(struct pg_ledger *s, const char *sql)
{
    PGresult *res = PQexec(s->conn, sql);
    long v = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) == 1) {
        const char *t = PQgetisnull(res, 0, 0) ? "0" : PQgetvalue(res, 0, 0);
        char *end;
        long n = strtol(t, &end, 10);
        if (*t != '\0' && *end == '\0' && n >= 0 && n < 1000000)
            v = n;
        else
            snprintf(s->err, sizeof s->err, "The ledger's schema version is malformed.");
    } else {
        set_err(s, PQresultErrorMessage(res));
    }
    PQclear(res);
    return v;
}

/* The schema version, 0 when there is no offpay_schema table (a fresh
 * database); -1 on failure.  Runs inside the caller's transaction. */
static int schema_version(struct pg_ledger *s)
{
    long exists = query_long(s, "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                                "ON n.oid = c.relnamespace WHERE c.relname = 'offpay_schema' "
                                "AND n.nspname = current_schema()");
    if (exists <= 0)
        return (int)exists;
    return (int)query_long(s, "SELECT max(version) FROM offpay_schema");
}

/* Apply the migrations this database lacks, in one transaction that holds an
 * advisory lock, so processes starting together do not race.  create = 1:
 * the database must not hold a ledger yet (*exists_problem = 1 if it does);
 * create = 0: it must; create = -1: either. */
static enum offpay_ledger_result migrate(struct pg_ledger *s, int create, int *exists_problem)
{
    enum offpay_ledger_result r;
    char sql[128];
    *exists_problem = 0;
    release(s);
    if ((r = exec_cmd(s, "BEGIN")) != OFFPAY_LEDGER_OK)
        return r;
    /* READ COMMITTED: every statement after the lock sees what the previous
     * holder committed. */
    if ((r = exec_cmd(s, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK_KEY ")")) != OFFPAY_LEDGER_OK)
        goto fail;
    int v = schema_version(s);
    if (v < 0) {
        r = OFFPAY_LEDGER_ERROR;
        goto fail;
    }
    if ((create == 1 && v > 0) || (create == 0 && v == 0)) {
        *exists_problem = 1;
        r = OFFPAY_LEDGER_ERROR;
        goto fail;
    }
    if (v == 0 &&
        (r = exec_cmd(s, "CREATE TABLE IF NOT EXISTS offpay_schema (version BIGINT NOT NULL)")) != OFFPAY_LEDGER_OK)
        goto fail;
    for (int i = 0; i < offpay_postgres_migrations_count; i++) {
        const struct offpay_migration *m = &offpay_postgres_migrations[i];
        if (m->number <= v)
            continue;
        if ((r = exec_cmd(s, m->sql)) != OFFPAY_LEDGER_OK)
            goto fail;
        snprintf(sql, sizeof sql, "DELETE FROM offpay_schema; INSERT INTO offpay_schema (version) VALUES (%d)",
                 m->number);
        if ((r = exec_cmd(s, sql)) != OFFPAY_LEDGER_OK)
            goto fail;
    }
    return exec_cmd(s, "COMMIT");
fail:;
    char keep[sizeof s->err];
    memcpy(keep, s->err, sizeof keep);
    (void)exec_cmd(s, "ROLLBACK");
    memcpy(s->err, keep, sizeof keep);
    return r;
}

static enum offpay_ledger_result pg_migrate(struct offpay_ledger *l)
{
    int problem;
    struct pg_ledger *s = PL(l);
    if (s->in_tx) {
        snprintf(s->err, sizeof s->err, "A transaction is open on this connection.");
        return OFFPAY_LEDGER_ERROR;
    }
    return migrate(s, -1, &problem);
}

/* ---- meta ---- */

static enum offpay_ledger_result pg_meta_get(struct offpay_ledger *l, const char *key, uint8_t *value, size_t cap,
                                             size_t *len)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    const uint8_t *b;
    size_t n;
    p_text(&p, key);
    if ((r = run(s, S_META_GET, &p)) != OFFPAY_LEDGER_OK || (r = one_row(s, "b", "meta value")) != OFFPAY_LEDGER_OK)
        return r;
    if (get_blob(s, 0, 0, 0, &b, &n) != 0 || n > cap)
        return corrupt(s, "meta value");
    if (n > 0)
        memcpy(value, b, n);
    *len = n;
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result pg_meta_set(struct offpay_ledger *l, const char *key, const uint8_t *value,
                                             size_t len)
{
    struct params p = {0};
    p_text(&p, key);
    p_blob(&p, len ? (const void *)value : (const void *)"", len);
    return run(PL(l), S_META_SET, &p);
}

/* ---- accounts ---- */

static enum offpay_ledger_result pg_account_create(struct offpay_ledger *l, const char *name, uint64_t now,
                                                   int64_t *id)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    if (!fits_i64(now)) {
        snprintf(s->err, sizeof s->err, "A time is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_text(&p, name);
    p_i64(&p, (int64_t)now);
    if ((r = run(s, S_ACC_CREATE, &p)) != OFFPAY_LEDGER_OK)
        return r;
    if ((r = one_row(s, "i", "account id")) != OFFPAY_LEDGER_OK)
        return r == OFFPAY_LEDGER_NOT_FOUND ? OFFPAY_LEDGER_DUPLICATE : r;
    if (get_i64(s, 0, 0, id) != 0)
        return corrupt(s, "account id");
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result account_row(struct pg_ledger *s, struct offpay_ledger_account *a)
{
    enum offpay_ledger_result r;
    memset(a, 0, sizeof a[0]);
    if ((r = one_row(s, "itiiii", "account")) != OFFPAY_LEDGER_OK)
        return r;
    if (get_i64(s, 0, 0, &a->id) != 0 || get_text(s, 0, 1, a->name, sizeof a->name) != 0 ||
        get_u64(s, 0, 2, &a->online) != 0 || get_u64(s, 0, 3, &a->minted) != 0 ||
        get_u64(s, 0, 4, &a->received) != 0 || get_u64(s, 0, 5, &a->sent) != 0) {
        memset(a, 0, sizeof a[0]);
        return corrupt(s, "account");
    }
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result pg_account_get(struct offpay_ledger *l, const char *name,
                                                struct offpay_ledger_account *a)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    p_text(&p, name);
    if ((r = run(s, S_ACC_GET, &p)) != OFFPAY_LEDGER_OK) {
        memset(a, 0, sizeof a[0]);
        return r;
    }
    return account_row(s, a);
}

static enum offpay_ledger_result pg_account_get_by_id(struct offpay_ledger *l, int64_t id,
                                                      struct offpay_ledger_account *a)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    p_i64(&p, id);
    if ((r = run(s, S_ACC_GET_ID, &p)) != OFFPAY_LEDGER_OK) {
        memset(a, 0, sizeof a[0]);
        return r;
    }
    return account_row(s, a);
}

static enum offpay_ledger_result pg_account_update(struct offpay_ledger *l, const struct offpay_ledger_account *a)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    if (!fits_i64(a->online) || !fits_i64(a->minted) || !fits_i64(a->received) || !fits_i64(a->sent)) {
        snprintf(s->err, sizeof s->err, "An account total would exceed the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_i64(&p, a->id);
    p_i64(&p, (int64_t)a->online);
    p_i64(&p, (int64_t)a->minted);
    p_i64(&p, (int64_t)a->received);
    p_i64(&p, (int64_t)a->sent);
    if ((r = run(s, S_ACC_UPDATE, &p)) != OFFPAY_LEDGER_OK)
        return r;
    return affected(s) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_NOT_FOUND;
}

/* ---- tokens ---- */

static enum offpay_ledger_result pg_token_insert(struct offpay_ledger *l, const uint8_t hash[OFFPAY_HASH_BYTES],
                                                 int64_t account_id, uint64_t now)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    if (!fits_i64(now)) {
        snprintf(s->err, sizeof s->err, "A time is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_blob(&p, hash, OFFPAY_HASH_BYTES);
    p_i64(&p, account_id);
    p_i64(&p, (int64_t)now);
    if ((r = run(s, S_TOKEN_INSERT, &p)) != OFFPAY_LEDGER_OK)
        return r;
    return affected(s) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_DUPLICATE;
}

static enum offpay_ledger_result pg_token_take(struct offpay_ledger *l, const uint8_t hash[OFFPAY_HASH_BYTES],
                                               uint64_t now, int64_t *account_id)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    if (!fits_i64(now)) {
        snprintf(s->err, sizeof s->err, "A time is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_blob(&p, hash, OFFPAY_HASH_BYTES);
    p_i64(&p, (int64_t)now);
    if ((r = run(s, S_TOKEN_TAKE, &p)) != OFFPAY_LEDGER_OK || (r = one_row(s, "i", "token")) != OFFPAY_LEDGER_OK)
        return r;
    if (get_i64(s, 0, 0, account_id) != 0)
        return corrupt(s, "token");
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result pg_token_set_wallet(struct offpay_ledger *l, const uint8_t hash[OFFPAY_HASH_BYTES],
                                                     const uint8_t wallet[OFFPAY_WALLET_ID_BYTES])
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    p_blob(&p, hash, OFFPAY_HASH_BYTES);
    p_blob(&p, wallet, OFFPAY_WALLET_ID_BYTES);
    if ((r = run(s, S_TOKEN_SET_WALLET, &p)) != OFFPAY_LEDGER_OK)
        return r;
    return affected(s) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_NOT_FOUND;
}

static enum offpay_ledger_result pg_token_get_wallet(struct offpay_ledger *l, const uint8_t hash[OFFPAY_HASH_BYTES],
                                                     uint8_t wallet[OFFPAY_WALLET_ID_BYTES])
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    p_blob(&p, hash, OFFPAY_HASH_BYTES);
    if ((r = run(s, S_TOKEN_GET_WALLET, &p)) != OFFPAY_LEDGER_OK || (r = one_row(s, "b", "token")) != OFFPAY_LEDGER_OK)
        return r;
    if (get_fixed(s, 0, 0, wallet, OFFPAY_WALLET_ID_BYTES) != 0)
        return corrupt(s, "token");
    return OFFPAY_LEDGER_OK;
}

/* ---- wallets ---- */

static enum offpay_ledger_result pg_wallet_certificate(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                                       const uint8_t **cert, size_t *cert_len)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    *cert = NULL;
    *cert_len = 0;
    p_blob(&p, id, OFFPAY_WALLET_ID_BYTES);
    if ((r = run(s, S_WALLET_CERT, &p)) != OFFPAY_LEDGER_OK || (r = one_row(s, "b", "wallet")) != OFFPAY_LEDGER_OK)
        return r;
    if (get_blob(s, 0, 0, 0, cert, cert_len) != 0)
        return corrupt(s, "wallet certificate");
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result pg_wallet_insert(struct offpay_ledger *l, const struct offpay_ledger_wallet *w,
                                                  const uint8_t *cert, size_t cert_len, uint64_t now)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    if (!fits_i64(now) || cert == NULL || cert_len > (size_t)INT32_MAX) {
        snprintf(s->err, sizeof s->err, "A wallet row is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_blob(&p, w->id, OFFPAY_WALLET_ID_BYTES);
    p_i64(&p, w->account_id);
    p_blob(&p, w->public_key, OFFPAY_PUBLIC_KEY_BYTES);
    p_blob(&p, cert, cert_len);
    p_i64(&p, (int64_t)now);
    if ((r = run(s, S_WALLET_INSERT, &p)) != OFFPAY_LEDGER_OK)
        return r;
    return affected(s) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_DUPLICATE;
}

/* Read row i of a result of WALLET_COLS.  Returns 0 or -1 (malformed). */
static int wallet_cols(struct pg_ledger *s, int i, struct offpay_ledger_wallet *w)
{
    int64_t fraud;
    uint64_t loss;
    memset(w, 0, sizeof w[0]);
    if (get_fixed(s, i, 0, w->id, OFFPAY_WALLET_ID_BYTES) != 0 || get_i64(s, i, 1, &w->account_id) != 0 ||
        get_fixed(s, i, 2, w->public_key, OFFPAY_PUBLIC_KEY_BYTES) != 0 || get_i64(s, i, 3, &fraud) != 0 ||
        (fraud != 0 && fraud != 1) || get_u64(s, i, 4, &w->created) != 0 || get_u64(s, i, 5, &loss) != 0 ||
        loss > OFFPAY_LEDGER_WITHDRAWN || get_u64(s, i, 6, &w->lost_at) != 0 ||
        get_u64(s, i, 7, &w->writeoff_at) != 0 || get_u64(s, i, 8, &w->written_off_at) != 0 ||
        get_u64(s, i, 9, &w->written_off) != 0 || get_u64(s, i, 10, &w->last_sync) != 0) {
        memset(w, 0, sizeof w[0]);
        return -1;
    }
    w->fraudulent = (int)fraud;
    w->loss = (int)loss;
    return 0;
}

static enum offpay_ledger_result wallet_row(struct pg_ledger *s, struct offpay_ledger_wallet *w)
{
    enum offpay_ledger_result r;
    memset(w, 0, sizeof w[0]);
    if ((r = one_row(s, WALLET_TYPES, "wallet")) != OFFPAY_LEDGER_OK)
        return r;
    return wallet_cols(s, 0, w) == 0 ? OFFPAY_LEDGER_OK : corrupt(s, "wallet");
}

static enum offpay_ledger_result pg_wallet_get(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                               struct offpay_ledger_wallet *w)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    p_blob(&p, id, OFFPAY_WALLET_ID_BYTES);
    if ((r = run(s, S_WALLET_GET, &p)) != OFFPAY_LEDGER_OK) {
        memset(w, 0, sizeof w[0]);
        return r;
    }
    return wallet_row(s, w);
}

static enum offpay_ledger_result pg_wallet_get_by_key(struct offpay_ledger *l,
                                                      const uint8_t key[OFFPAY_PUBLIC_KEY_BYTES],
                                                      struct offpay_ledger_wallet *w)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    p_blob(&p, key, OFFPAY_PUBLIC_KEY_BYTES);
    if ((r = run(s, S_WALLET_GET_KEY, &p)) != OFFPAY_LEDGER_OK) {
        memset(w, 0, sizeof w[0]);
        return r;
    }
    return wallet_row(s, w);
}

static enum offpay_ledger_result pg_wallet_revoke(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                                  uint64_t now)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    if (!fits_i64(now)) {
        snprintf(s->err, sizeof s->err, "A time is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_blob(&p, id, OFFPAY_WALLET_ID_BYTES);
    p_i64(&p, (int64_t)now);
    return run(s, S_WALLET_REVOKE, &p); /* already revoked, or unknown: nothing changes */
}

static enum offpay_ledger_result pg_wallet_report_lost(struct offpay_ledger *l,
                                                       const uint8_t id[OFFPAY_WALLET_ID_BYTES], int loss,
                                                       uint64_t now, uint64_t writeoff_at)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    struct offpay_ledger_wallet w;
    enum offpay_ledger_result r;
    if (loss <= OFFPAY_LEDGER_IN_USE || loss > OFFPAY_LEDGER_WITHDRAWN || !fits_i64(now) || !fits_i64(writeoff_at)) {
        snprintf(s->err, sizeof s->err, "A loss report is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    if ((r = pg_wallet_get(l, id, &w)) != OFFPAY_LEDGER_OK)
        return r;
    p_blob(&p, id, OFFPAY_WALLET_ID_BYTES);
    p_i64(&p, loss);
    p_i64(&p, (int64_t)now);
    p_i64(&p, (int64_t)writeoff_at);
    return run(s, S_WALLET_LOST, &p); /* reported already: nothing changes */
}

static enum offpay_ledger_result pg_wallet_write_off(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                                     uint64_t now, uint64_t amount)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    if (now == 0 || !fits_i64(now) || !fits_i64(amount)) {
        snprintf(s->err, sizeof s->err, "A write-off is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_blob(&p, id, OFFPAY_WALLET_ID_BYTES);
    p_i64(&p, (int64_t)now);
    p_i64(&p, (int64_t)amount);
    if ((r = run(s, S_WALLET_WRITE_OFF, &p)) != OFFPAY_LEDGER_OK)
        return r;
    return affected(s) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_NOT_FOUND;
}

static enum offpay_ledger_result pg_wallet_synced(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                                  uint64_t now)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    p_blob(&p, id, OFFPAY_WALLET_ID_BYTES);
    p_i64(&p, fits_i64(now) ? (int64_t)now : 0);
    return run(s, S_WALLET_SYNCED, &p);
}

static enum offpay_ledger_result pg_wallet_list(struct offpay_ledger *l, int64_t account_id, uint64_t due,
                                                int (*each)(void *ctx, const struct offpay_ledger_wallet *w),
                                                void *ctx)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    struct offpay_ledger_wallet w;
    enum offpay_ledger_result r;
    enum stmt i = due != 0 ? S_WALLET_DUE : account_id != 0 ? S_WALLET_LIST : S_WALLET_LIST_ALL;
    if (due != 0)
        p_i64(&p, fits_i64(due) ? (int64_t)due : INT64_MAX);
    else if (account_id != 0)
        p_i64(&p, account_id);
    if ((r = run(s, i, &p)) != OFFPAY_LEDGER_OK)
        return r;
    if (shape(s, WALLET_TYPES) != 0)
        return corrupt(s, "wallet");
    for (int k = 0, n = PQntuples(s->keep); k < n; k++) {
        if (wallet_cols(s, k, &w) != 0)
            return corrupt(s, "wallet");
        if (due != 0 && account_id != 0 && w.account_id != account_id)
            continue;
        if (each(ctx, &w) != 0)
            break;
    }
    return OFFPAY_LEDGER_OK;
}

/* ---- nonces ---- */

static enum offpay_ledger_result pg_nonce_insert(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                                 const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES], uint64_t ts)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    if (!fits_i64(ts)) {
        snprintf(s->err, sizeof s->err, "A time is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_blob(&p, wallet, OFFPAY_WALLET_ID_BYTES);
    p_blob(&p, nonce, OFFPAY_HTTP_NONCE_BYTES);
    p_i64(&p, (int64_t)ts);
    if ((r = run(s, S_NONCE_INSERT, &p)) != OFFPAY_LEDGER_OK)
        return r;
    return affected(s) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_DUPLICATE;
}

static enum offpay_ledger_result pg_nonce_keep(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                               const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES], uint64_t ts, int kind,
                                               const uint8_t *answer, size_t answer_len)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    if (!fits_i64(ts) || (kind != OFFPAY_LEDGER_NONCE_ANSWERED && kind != OFFPAY_LEDGER_NONCE_CANCELLED) ||
        (kind == OFFPAY_LEDGER_NONCE_ANSWERED) != (answer != NULL) || answer_len > (size_t)INT32_MAX) {
        snprintf(s->err, sizeof s->err, "A kept nonce row is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_blob(&p, wallet, OFFPAY_WALLET_ID_BYTES);
    p_blob(&p, nonce, OFFPAY_HTTP_NONCE_BYTES);
    p_i64(&p, (int64_t)ts);
    p_i64(&p, kind);
    p_blob(&p, answer, answer_len);
    if ((r = run(s, S_NONCE_KEEP, &p)) != OFFPAY_LEDGER_OK)
        return r;
    return affected(s) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_DUPLICATE;
}

static enum offpay_ledger_result pg_nonce_get(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                              const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES],
                                              struct offpay_ledger_nonce *n)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    int64_t kind;
    memset(n, 0, sizeof *n);
    p_blob(&p, wallet, OFFPAY_WALLET_ID_BYTES);
    p_blob(&p, nonce, OFFPAY_HTTP_NONCE_BYTES);
    if ((r = run(s, S_NONCE_GET, &p)) != OFFPAY_LEDGER_OK || (r = one_row(s, "iib", "nonce")) != OFFPAY_LEDGER_OK)
        return r;
    if (get_u64(s, 0, 0, &n->ts) != 0 || get_i64(s, 0, 1, &kind) != 0 || kind < OFFPAY_LEDGER_NONCE_USED ||
        kind > OFFPAY_LEDGER_NONCE_CANCELLED || get_blob(s, 0, 2, 1, &n->answer, &n->answer_len) != 0 ||
        (kind == OFFPAY_LEDGER_NONCE_ANSWERED) != (n->answer != NULL)) {
        memset(n, 0, sizeof *n);
        return corrupt(s, "nonce");
    }
    n->kind = (int)kind;
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result pg_nonce_prune(struct offpay_ledger *l, uint64_t used_older_than,
                                                uint64_t kept_older_than)
{
    struct params p = {0};
    p_i64(&p, fits_i64(used_older_than) ? (int64_t)used_older_than : INT64_MAX);
    p_i64(&p, fits_i64(kept_older_than) ? (int64_t)kept_older_than : INT64_MAX);
    return run(PL(l), S_NONCE_PRUNE, &p);
}

/* ---- limits ---- */

static enum offpay_ledger_result pg_limits_get(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                               struct offpay_limits *lim, uint64_t *issued_at)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    uint64_t count, period, offline_time;
    p_blob(&p, wallet, OFFPAY_WALLET_ID_BYTES);
    if ((r = run(s, S_LIMITS_GET, &p)) != OFFPAY_LEDGER_OK || (r = one_row(s, "iiiiiii", "limits row")) != OFFPAY_LEDGER_OK)
        return r;
    if (get_u64(s, 0, 0, &lim->per_payment) != 0 || get_u64(s, 0, 1, &lim->offline_total) != 0 ||
        get_u64(s, 0, 2, &count) != 0 || get_u64(s, 0, 3, &period) != 0 || get_u64(s, 0, 4, issued_at) != 0 ||
        get_u64(s, 0, 5, &lim->holding) != 0 || get_u64(s, 0, 6, &offline_time) != 0 ||
        count > UINT32_MAX || period > UINT32_MAX || period == 0 || offline_time > UINT32_MAX)
        return corrupt(s, "limits row");
    lim->count = (uint32_t)count;
    lim->period = (uint32_t)period;
    lim->offline_time = (uint32_t)offline_time;
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result pg_limits_set(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                               const struct offpay_limits *lim, uint64_t issued_at)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    if (!fits_i64(lim->per_payment) || !fits_i64(lim->offline_total) || !fits_i64(issued_at) ||
        !fits_i64(lim->holding)) {
        snprintf(s->err, sizeof s->err, "A limit exceeds the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_blob(&p, wallet, OFFPAY_WALLET_ID_BYTES);
    p_i64(&p, (int64_t)lim->per_payment);
    p_i64(&p, (int64_t)lim->offline_total);
    p_i64(&p, (int64_t)lim->count);
    p_i64(&p, (int64_t)lim->period);
    p_i64(&p, (int64_t)issued_at);
    p_i64(&p, (int64_t)lim->holding);
    p_i64(&p, (int64_t)lim->offline_time);
    return run(s, S_LIMITS_SET, &p);
}

/* ---- revocation ---- */

static enum offpay_ledger_result pg_revocation_get(struct offpay_ledger *l, uint64_t *serial, uint64_t *issued_at,
                                                   uint32_t *count)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    uint64_t n;
    if ((r = run(s, S_REVOCATION_GET, &p)) != OFFPAY_LEDGER_OK)
        return r;
    if ((r = one_row(s, "iii", "revocation list")) != OFFPAY_LEDGER_OK)
        return r == OFFPAY_LEDGER_NOT_FOUND ? corrupt(s, "revocation list") : r;
    if (get_u64(s, 0, 0, serial) != 0 || get_u64(s, 0, 1, issued_at) != 0 || get_u64(s, 0, 2, &n) != 0)
        return corrupt(s, "revocation list");
    if (n > OFFPAY_REVOCATION_MAX)
        return corrupt(s, "revocation list (too long)");
    *count = (uint32_t)n;
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result pg_revocation_ids(struct offpay_ledger *l,
                                                   int (*each)(void *ctx, const uint8_t id[OFFPAY_WALLET_ID_BYTES]),
                                                   void *ctx)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    uint8_t id[OFFPAY_WALLET_ID_BYTES];
    if ((r = run(s, S_REVOKED_IDS, &p)) != OFFPAY_LEDGER_OK)
        return r;
    if (shape(s, "b") != 0)
        return corrupt(s, "revoked wallet id");
    for (int i = 0, n = PQntuples(s->keep); i < n; i++) {
        if (get_fixed(s, i, 0, id, sizeof id) != 0)
            return corrupt(s, "revoked wallet id");
        if (each(ctx, id) != 0)
            break;
    }
    return OFFPAY_LEDGER_OK;
}

/* ---- UTXOs ---- */

static enum offpay_ledger_result pg_utxo_insert(struct offpay_ledger *l, const struct offpay_ledger_utxo *u,
                                                uint64_t now)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    if (u->amount == 0 || !fits_i64(u->amount) || !fits_i64(now)) {
        snprintf(s->err, sizeof s->err, "A coin amount is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_blob(&p, u->id, OFFPAY_UTXO_ID_BYTES);
    p_blob(&p, u->owner, OFFPAY_PUBLIC_KEY_BYTES);
    p_i64(&p, u->account_id);
    p_i64(&p, (int64_t)u->amount);
    p_i64(&p, (int64_t)now);
    if ((r = run(s, S_UTXO_INSERT, &p)) != OFFPAY_LEDGER_OK)
        return r;
    return affected(s) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_DUPLICATE;
}

static enum offpay_ledger_result pg_utxo_get(struct offpay_ledger *l, const uint8_t owner[OFFPAY_PUBLIC_KEY_BYTES],
                                             const uint8_t id[OFFPAY_UTXO_ID_BYTES], struct offpay_ledger_utxo *u)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    int64_t spent;
    memset(u, 0, sizeof u[0]);
    p_blob(&p, owner, OFFPAY_PUBLIC_KEY_BYTES);
    p_blob(&p, id, OFFPAY_UTXO_ID_BYTES);
    if ((r = run(s, S_UTXO_GET, &p)) != OFFPAY_LEDGER_OK || (r = one_row(s, "biiibi", "coin")) != OFFPAY_LEDGER_OK)
        return r;
    memcpy(u->id, id, OFFPAY_UTXO_ID_BYTES);
    if (get_fixed(s, 0, 0, u->owner, OFFPAY_PUBLIC_KEY_BYTES) != 0 ||
        memcmp(u->owner, owner, OFFPAY_PUBLIC_KEY_BYTES) != 0 || get_i64(s, 0, 1, &u->account_id) != 0 ||
        get_u64(s, 0, 2, &u->amount) != 0 || u->amount == 0 || get_i64(s, 0, 3, &spent) != 0 ||
        spent < OFFPAY_LEDGER_UNSPENT || spent > OFFPAY_LEDGER_SPENT_BY_UNLOAD ||
        (spent == OFFPAY_LEDGER_SPENT_BY_RECORD && get_fixed(s, 0, 4, u->spent_by, OFFPAY_RECORD_ID_BYTES) != 0) ||
        get_u64(s, 0, 5, &u->created) != 0) {
        memset(u, 0, sizeof u[0]);
        return corrupt(s, "coin");
    }
    u->spent = (int)spent;
    return OFFPAY_LEDGER_OK;
}

/* Only owner and id of coin matter here: the row is updated in place, and
 * "spent = 0" in the statement keeps a coin from being spent twice. */
static enum offpay_ledger_result pg_utxo_spend(struct offpay_ledger *l, const struct offpay_ledger_utxo *coin, int how,
                                               const uint8_t by_record[OFFPAY_RECORD_ID_BYTES], uint64_t now)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    if (!fits_i64(now) || (how != OFFPAY_LEDGER_SPENT_BY_RECORD && how != OFFPAY_LEDGER_SPENT_BY_UNLOAD)) {
        snprintf(s->err, sizeof s->err, "A coin cannot be spent that way.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_blob(&p, coin->owner, OFFPAY_PUBLIC_KEY_BYTES);
    p_blob(&p, coin->id, OFFPAY_UTXO_ID_BYTES);
    p_i64(&p, how);
    p_blob(&p, by_record, OFFPAY_RECORD_ID_BYTES); /* NULL stays NULL */
    p_i64(&p, (int64_t)now);
    if ((r = run(s, S_UTXO_SPEND, &p)) != OFFPAY_LEDGER_OK)
        return r;
    return affected(s) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_NOT_FOUND;
}

static enum offpay_ledger_result pg_utxo_unspent_of(struct offpay_ledger *l,
                                                    const uint8_t owner[OFFPAY_PUBLIC_KEY_BYTES], const uint8_t *after,
                                                    size_t max,
                                                    int (*each)(void *ctx, const struct offpay_ledger_utxo *u),
                                                    void *ctx)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    struct offpay_ledger_utxo u;
    enum offpay_ledger_result r;
    static const uint8_t nothing[1];
    p_blob(&p, owner, OFFPAY_PUBLIC_KEY_BYTES);
    p_i64(&p, max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max);
    p_blob(&p, after != NULL ? after : nothing, after != NULL ? OFFPAY_UTXO_ID_BYTES : 0);
    if ((r = run(s, S_UTXO_UNSPENT_OF, &p)) != OFFPAY_LEDGER_OK)
        return r;
    if (shape(s, "bi") != 0 || (size_t)PQntuples(s->keep) > max)
        return corrupt(s, "coin list");
    for (int i = 0, n = PQntuples(s->keep); i < n; i++) {
        memset(&u, 0, sizeof u);
        if (get_fixed(s, i, 0, u.id, OFFPAY_UTXO_ID_BYTES) != 0 || get_u64(s, i, 1, &u.amount) != 0 || u.amount == 0)
            return corrupt(s, "coin");
        memcpy(u.owner, owner, OFFPAY_PUBLIC_KEY_BYTES);
        if (each(ctx, &u) != 0)
            break;
    }
    return OFFPAY_LEDGER_OK;
}

/* ---- records ---- */

static enum offpay_ledger_result pg_record_insert(struct offpay_ledger *l, const struct offpay_ledger_record *r)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result res;
    if (!fits_i64(r->at) || r->body == NULL || r->body_len > (size_t)INT32_MAX ||
        r->confirmation_len > (size_t)INT32_MAX || r->refusal_len > (size_t)INT32_MAX) {
        snprintf(s->err, sizeof s->err, "A record is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_blob(&p, r->id, OFFPAY_RECORD_ID_BYTES);
    p_i64(&p, r->state);
    p_blob(&p, r->payer_wallet, OFFPAY_WALLET_ID_BYTES);
    p_blob(&p, r->payee_key, OFFPAY_PUBLIC_KEY_BYTES);
    p_blob(&p, r->body, r->body_len);
    p_blob(&p, r->confirmation, r->confirmation_len);
    p_blob(&p, r->refusal, r->refusal_len);
    p_i64(&p, (int64_t)r->at);
    if ((res = run(s, S_RECORD_INSERT, &p)) != OFFPAY_LEDGER_OK)
        return res;
    return affected(s) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_DUPLICATE;
}

static enum offpay_ledger_result pg_record_get(struct offpay_ledger *l, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                                               struct offpay_ledger_record *r)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result res;
    int64_t state;
    memset(r, 0, sizeof r[0]);
    p_blob(&p, id, OFFPAY_RECORD_ID_BYTES);
    if ((res = run(s, S_RECORD_GET, &p)) != OFFPAY_LEDGER_OK ||
        (res = one_row(s, "ibbbbbi", "record")) != OFFPAY_LEDGER_OK)
        return res;
    memcpy(r->id, id, OFFPAY_RECORD_ID_BYTES);
    if (get_i64(s, 0, 0, &state) != 0 ||
        (state != OFFPAY_LEDGER_RECORD_SETTLED && state != OFFPAY_LEDGER_RECORD_VOIDED) ||
        get_fixed(s, 0, 1, r->payer_wallet, OFFPAY_WALLET_ID_BYTES) != 0 ||
        get_fixed(s, 0, 2, r->payee_key, OFFPAY_PUBLIC_KEY_BYTES) != 0 ||
        get_blob(s, 0, 3, 0, &r->body, &r->body_len) != 0 ||
        get_blob(s, 0, 4, 1, &r->confirmation, &r->confirmation_len) != 0 ||
        get_blob(s, 0, 5, 1, &r->refusal, &r->refusal_len) != 0 || get_u64(s, 0, 6, &r->at) != 0) {
        memset(r, 0, sizeof r[0]);
        return corrupt(s, "record");
    }
    r->state = (int)state;
    return OFFPAY_LEDGER_OK;
}

/* ---- frauds ---- */

static enum offpay_ledger_result pg_fraud_insert(struct offpay_ledger *l, const struct offpay_ledger_fraud *f)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    if (!fits_i64(f->at) || f->record == NULL || f->record_len > (size_t)INT32_MAX ||
        f->first_record_len > (size_t)INT32_MAX) {
        snprintf(s->err, sizeof s->err, "Fraud evidence is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_blob(&p, f->record_id, OFFPAY_RECORD_ID_BYTES);
    p_blob(&p, f->payer_wallet, OFFPAY_WALLET_ID_BYTES);
    p_i64(&p, f->account_id);
    p_blob(&p, f->input, OFFPAY_UTXO_ID_BYTES);
    p_blob(&p, f->record, f->record_len);
    p_blob(&p, f->first_record_len ? f->first_record : NULL, f->first_record_len);
    p_i64(&p, (int64_t)f->at);
    if ((r = run(s, S_FRAUD_INSERT, &p)) != OFFPAY_LEDGER_OK)
        return r;
    return affected(s) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_DUPLICATE;
}

static int fraud_row(struct pg_ledger *s, int row, struct offpay_ledger_fraud *f)
{
    memset(f, 0, sizeof f[0]);
    if (get_fixed(s, row, 0, f->record_id, OFFPAY_RECORD_ID_BYTES) != 0 ||
        get_fixed(s, row, 1, f->payer_wallet, OFFPAY_WALLET_ID_BYTES) != 0 || get_i64(s, row, 2, &f->account_id) != 0 ||
        get_fixed(s, row, 3, f->input, OFFPAY_UTXO_ID_BYTES) != 0 ||
        get_blob(s, row, 4, 0, &f->record, &f->record_len) != 0 ||
        get_blob(s, row, 5, 1, &f->first_record, &f->first_record_len) != 0 || get_u64(s, row, 6, &f->at) != 0) {
        memset(f, 0, sizeof f[0]);
        return -1;
    }
    return 0;
}

static enum offpay_ledger_result pg_fraud_get(struct offpay_ledger *l, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                              struct offpay_ledger_fraud *f)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    memset(f, 0, sizeof f[0]);
    p_blob(&p, record_id, OFFPAY_RECORD_ID_BYTES);
    if ((r = run(s, S_FRAUD_GET, &p)) != OFFPAY_LEDGER_OK ||
        (r = one_row(s, "bbibbbi", "fraud evidence")) != OFFPAY_LEDGER_OK)
        return r;
    return fraud_row(s, 0, f) == 0 ? OFFPAY_LEDGER_OK : corrupt(s, "fraud evidence");
}

static enum offpay_ledger_result pg_fraud_list(struct offpay_ledger *l,
                                               int (*each)(void *ctx, const struct offpay_ledger_fraud *f), void *ctx)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    struct offpay_ledger_fraud f;
    enum offpay_ledger_result r;
    if ((r = run(s, S_FRAUD_LIST, &p)) != OFFPAY_LEDGER_OK)
        return r;
    if (shape(s, "bbibbbi") != 0)
        return corrupt(s, "fraud evidence");
    for (int i = 0, n = PQntuples(s->keep); i < n; i++) {
        if (fraud_row(s, i, &f) != 0)
            return corrupt(s, "fraud evidence");
        if (each(ctx, &f) != 0)
            break;
    }
    return OFFPAY_LEDGER_OK;
}

/* ---- audit ---- */

static enum offpay_ledger_result pg_audit(struct offpay_ledger *l,
                                          int (*each)(void *ctx, const struct offpay_ledger_audit_row *row),
                                          void *ctx)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    struct offpay_ledger_audit_row row;
    enum offpay_ledger_result r;
    if ((r = run(s, S_AUDIT, &p)) != OFFPAY_LEDGER_OK)
        return r;
    if (shape(s, "itiiiii?") != 0)
        return corrupt(s, "audit row");
    for (int i = 0, n = PQntuples(s->keep); i < n; i++) {
        int64_t v[5];
        memset(&row, 0, sizeof row);
        if (get_i64(s, i, 0, &row.account.id) != 0 || get_text(s, i, 1, row.account.name, sizeof row.account.name) != 0 ||
            get_bool(s, i, 7, &row.overflow) != 0)
            return corrupt(s, "account");
        for (int c = 0; c < 5; c++) {
            if (get_i64(s, i, 2 + c, &v[c]) != 0)
                return corrupt(s, "account");
            if (v[c] < 0) /* only tampering makes a total negative: show it, do not hide it */
                row.overflow = 1;
        }
        row.account.online = v[0] < 0 ? UINT64_MAX : (uint64_t)v[0];
        row.account.minted = v[1] < 0 ? UINT64_MAX : (uint64_t)v[1];
        row.account.received = v[2] < 0 ? UINT64_MAX : (uint64_t)v[2];
        row.account.sent = v[3] < 0 ? UINT64_MAX : (uint64_t)v[3];
        row.unspent = v[4] < 0 ? UINT64_MAX : (uint64_t)v[4];
        if (each(ctx, &row) != 0)
            break;
    }
    return OFFPAY_LEDGER_OK;
}

static const struct offpay_ledger_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .last_error = pg_last_error,
    .migrate = pg_migrate,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .savepoint = pg_savepoint,
    .rollback_savepoint = pg_rollback_savepoint,
    .meta_get = pg_meta_get,
    .meta_set = pg_meta_set,
    .account_create = pg_account_create,
    .account_get = pg_account_get,
    .account_get_by_id = pg_account_get_by_id,
    .account_update = pg_account_update,
    .token_insert = pg_token_insert,
    .token_take = pg_token_take,
    .token_set_wallet = pg_token_set_wallet,
    .token_get_wallet = pg_token_get_wallet,
    .wallet_certificate = pg_wallet_certificate,
    .wallet_insert = pg_wallet_insert,
    .wallet_get = pg_wallet_get,
    .wallet_get_by_key = pg_wallet_get_by_key,
    .wallet_revoke = pg_wallet_revoke,
    .wallet_report_lost = pg_wallet_report_lost,
    .wallet_write_off = pg_wallet_write_off,
    .wallet_synced = pg_wallet_synced,
    .wallet_list = pg_wallet_list,
    .nonce_insert = pg_nonce_insert,
    .nonce_keep = pg_nonce_keep,
    .nonce_get = pg_nonce_get,
    .nonce_prune = pg_nonce_prune,
    .limits_get = pg_limits_get,
    .limits_set = pg_limits_set,
    .revocation_get = pg_revocation_get,
    .revocation_ids = pg_revocation_ids,
    .utxo_insert = pg_utxo_insert,
    .utxo_get = pg_utxo_get,
    .utxo_spend = pg_utxo_spend,
    .utxo_unspent_of = pg_utxo_unspent_of,
    .record_insert = pg_record_insert,
    .record_get = pg_record_get,
    .fraud_insert = pg_fraud_insert,
    .fraud_get = pg_fraud_get,
    .fraud_list = pg_fraud_list,
    .audit = pg_audit,
};

/* libpq prints notices ("table exists, skipping") on stderr by default. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

enum offpay_status offpay_pg_ledger_open(struct offpay_ledger **out, const char *url, int create, char *err,
                                         size_t err_cap)
{
    struct pg_ledger *s;
    int problem = 0;

    *out = NULL;
    if ((s = calloc(1, sizeof *s)) == NULL) {
        snprintf(err, err_cap, "Out of memory.");
        return OFFPAY_ERR_NOMEM;
    }
    s->base.ops = &pg_ops;
    /* The URL may carry a password: messages name the database, never the URL. */
    {
        /* Defaults the URL may override (it is expanded in place of dbname,
         * after them): no connect, or reconnect after a restart, blocks for
         * minutes on a host that does not answer. */
        const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
        const char *const vals[] = {"10", "offpayd", url, NULL};
        s->conn = PQconnectdbParams(keys, vals, 1);
    }
    if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK) {
        set_err(s, s->conn ? PQerrorMessage(s->conn) : "out of memory");
        snprintf(err, err_cap, "Cannot connect to the PostgreSQL ledger: %s.", s->err);
        goto fail;
    }
    PQsetNoticeProcessor(s->conn, quiet, NULL);
    /* No lock wait hangs a request: it ends in RETRY after 5 s. */
    if (exec_cmd(s, "SET lock_timeout = '5s'") != OFFPAY_LEDGER_OK ||
        exec_cmd(s, "SET client_min_messages = warning") != OFFPAY_LEDGER_OK) {
        snprintf(err, err_cap, "Cannot set up the PostgreSQL ledger session: %s.", s->err);
        goto fail;
    }
    if (migrate(s, create, &problem) != OFFPAY_LEDGER_OK) {
        if (problem) {
            snprintf(err, err_cap,
                     create ? "A ledger already exists in PostgreSQL database \"%s\"."
                            : "There is no ledger in PostgreSQL database \"%s\" (create one with offpayd init).",
                     PQdb(s->conn));
            PQfinish(s->conn);
            free(s);
            return OFFPAY_ERR_USAGE;
        }
        snprintf(err, err_cap, "Cannot create the ledger schema in PostgreSQL database \"%s\": %s.", PQdb(s->conn),
                 s->err);
        goto fail;
    }
    *out = &s->base;
    return OFFPAY_OK;
fail:
    release(s);
    PQfinish(s->conn);
    free(s);
    return OFFPAY_ERR_STORAGE;
}

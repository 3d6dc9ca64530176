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
#define OID_BYTEA_ARRAY 1001
#define OID_INT8_ARRAY 1016

/* Serializes concurrent migrations of one database (any 64-bit constant). */
#define MIGRATION_LOCK_KEY "7206312350915634001"

#define MAX_PARAMS 9

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
    S_WALLET_REVOKE,
    S_WALLET_LOST,
    S_WALLET_WRITE_OFF,
    S_WALLET_SYNCED,
    S_WALLET_LIST,
    S_WALLET_LIST_ALL,
    S_WALLET_RANGE,
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
    /* set-based settlement (prefetch): the reads ahead, then the deferred writes */
    S_B_RECORDS,
    S_B_WALLETS,
    S_B_ACCOUNTS,
    S_B_COINS,
    S_B_NONCES,
    S_B_LIMITS,
    S_B_HOLDINGS,
    S_B_HOLDINGS_DUE,
    S_F_COINS_INSERT,
    S_F_COINS_SPEND,
    S_F_RECORDS,
    S_F_NONCES,
    S_F_ACCOUNTS,
    S_F_SYNCED,
    S_COUNT
};

/* What a wallet row shows (wallet_row reads them in this order). */
#define WALLET_COLS                                                                                                    \
    "id, account_id, public_key, fraudulent, created, loss, lost_at, writeoff_at, written_off_at, written_off, "       \
    "last_sync"
#define WALLET_TYPES "bibiiiiiiii"

/* Each statement with the types of its parameters: b bytea, i int8, t text,
 * B bytea[], I int8[]. */
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
    [S_WALLET_CERT_SET] = {"bb", "UPDATE wallets SET certificate = $2 WHERE id = $1 RETURNING id"},
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
    [S_WALLET_RANGE] = {"bb", "SELECT " WALLET_COLS " FROM wallets WHERE id BETWEEN $1 AND $2 ORDER BY id"},
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
    /* A coin's account must exist (a division by zero otherwise): the
     * schema's foreign key did this until 005_coins.sql, one trigger query
     * per coin. */
    [S_UTXO_INSERT] = {"bbiii", "INSERT INTO utxos (id, owner, account_id, amount, created) "
                                "VALUES ($1, $2, $3 * (SELECT 1 / count(*) FROM accounts WHERE id = $3), $4, $5) "
                                "ON CONFLICT DO NOTHING"},
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
    /* Set-based settlement: each statement reads (or writes) one kind of
     * row for a whole group of requests, keys and values as arrays.  Each
     * must cost in proportion to its keys, not to the table: a join with
     * unnest(keys) runs as a nested loop of index lookups (the group's
     * transaction asks for such plans, B_PLAN), and a key set
     * read from another table is an array (= ANY(ARRAY(...)), an index
     * scan) rather than a subquery PostgreSQL may run as a filter on every
     * row. */
    [S_B_RECORDS] = {"B", "SELECT id, state, payer_wallet, payee_key, body, confirmation, refusal, at FROM records "
                          "WHERE id = ANY($1)"},
    [S_B_WALLETS] = {"BB", "SELECT " WALLET_COLS ", certificate FROM wallets WHERE id = ANY($1) OR public_key = ANY($2)"},
    [S_B_ACCOUNTS] = {"IBB", "SELECT id, name, online, minted, received, sent FROM accounts WHERE id = ANY($1) "
                             "OR id = ANY(ARRAY(SELECT account_id FROM wallets WHERE id = ANY($2) OR public_key = ANY($3)))"},
    [S_B_COINS] = {"BB", "SELECT u.owner, u.account_id, u.amount, u.spent, u.spent_by, u.created, u.id FROM utxos u "
                         "JOIN unnest($1::bytea[], $2::bytea[]) AS k(owner, id) ON u.id = k.id AND u.owner = k.owner"},
    [S_B_NONCES] = {"BB", "SELECT n.wallet_id, n.nonce, n.ts, n.kind, n.answer FROM nonces n "
                          "JOIN unnest($1::bytea[], $2::bytea[]) AS k(w, n) ON n.wallet_id = k.w AND n.nonce = k.n"},
    [S_B_LIMITS] = {"BB", "SELECT wallet_id, per_payment, offline_total, count, period, issued_at, holding, "
                          "offline_time FROM limits WHERE wallet_id = ANY($1) "
                          "OR wallet_id = ANY(ARRAY(SELECT id FROM wallets WHERE public_key = ANY($2)))"},
    /* as utxo_unspent_of would add them up: flag what does not fit, or a coin that is not positive */
    [S_B_HOLDINGS] = {"B", "SELECT owner, least(sum(amount), 9223372036854775807)::int8, "
                           "(sum(amount) > 9223372036854775807 OR bool_or(amount <= 0)) "
                           "FROM utxos WHERE owner = ANY($1) AND spent = 0 GROUP BY owner"},
    /* The read-ahead's holdings: only of the keys whose wallet has a
     * holding limit, its own or the default (all zero; either one not
     * 0: a superset of those that have one), each with its sum (0 without
     * coins).  Without a limit the sum decides nothing (limits.c asks for
     * it only under a limit), and it costs a read of every coin the key
     * holds: a busy payee's are many, and each single-record sync paying
     * it read them all again.  A key left out is not known to the batch,
     * so asking for it runs the plain statement. */
    [S_B_HOLDINGS_DUE] = {"B", "SELECT k.owner, least(coalesce(c.total, 0), 9223372036854775807)::int8, "
                                "coalesce(c.total > 9223372036854775807 OR c.bad, false) "
                                "FROM (SELECT w.public_key AS owner FROM wallets w WHERE w.public_key = ANY($1) AND EXISTS "
                                "(SELECT 1 FROM limits l WHERE l.wallet_id = ANY(ARRAY[w.id, "
                                "'\\x00000000000000000000000000000000'::bytea]) AND l.holding <> 0)) k "
                                "LEFT JOIN LATERAL (SELECT sum(amount) AS total, bool_or(amount <= 0) AS bad "
                                "FROM utxos WHERE owner = k.owner AND spent = 0) c ON true"},
    /* The writes check that they changed the rows predicted (the last
     * parameter): if not, a division by zero aborts the transaction before
     * its COMMIT, which follows in the same round trip, and the group runs
     * again statement by statement.  The inserts are plain: every row was
     * read absent, so a conflict is a wrong prediction too (23505, the
     * same rerun), and ON CONFLICT's check of each unique index before
     * each row would only cost.  The new coins' accounts must all exist
     * (one check for the statement, where the foreign key dropped by
     * 005_coins.sql ran one query per coin). */
    [S_F_COINS_INSERT] = {"BBIIIi", "WITH w AS (INSERT INTO utxos (id, owner, account_id, amount, created) "
                                    "SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::int8[], $4::int8[], $5::int8[]) "
                                    "RETURNING 1) "
                                    "SELECT 1 / (CASE WHEN count(*) = $6 AND (SELECT count(*) FROM accounts WHERE id = ANY($3)) "
                                    "= (SELECT count(DISTINCT a) FROM unnest($3::int8[]) a) "
                                    "THEN 1 ELSE 0 END) FROM w"},
    [S_F_COINS_SPEND] = {"BBIBIi", "WITH w AS (UPDATE utxos u SET spent = k.how, spent_by = k.by, spent_at = k.at "
                                   "FROM unnest($1::bytea[], $2::bytea[], $3::int8[], $4::bytea[], $5::int8[]) "
                                   "AS k(owner, id, how, by, at) "
                                   "WHERE u.id = k.id AND u.owner = k.owner AND u.spent = 0 RETURNING 1) "
                                   "SELECT 1 / (CASE WHEN count(*) = $6 THEN 1 ELSE 0 END) FROM w"},
    [S_F_RECORDS] = {"BIBBBBBIi", "WITH w AS (INSERT INTO records (id, state, payer_wallet, payee_key, body, "
                                  "confirmation, refusal, at) SELECT * FROM unnest($1::bytea[], $2::int8[], "
                                  "$3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[], $7::bytea[], $8::int8[]) "
                                  "RETURNING 1) "
                                  "SELECT 1 / (CASE WHEN count(*) = $9 THEN 1 ELSE 0 END) FROM w"},
    [S_F_NONCES] = {"BBIi", "WITH w AS (INSERT INTO nonces (wallet_id, nonce, ts) "
                            "SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::int8[]) "
                            "RETURNING 1) SELECT 1 / (CASE WHEN count(*) = $4 THEN 1 ELSE 0 END) FROM w"},
    [S_F_ACCOUNTS] = {"IIIIIi", "WITH w AS (UPDATE accounts a SET online = k.online, minted = k.minted, "
                                "received = k.received, sent = k.sent "
                                "FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[]) "
                                "AS k(id, online, minted, received, sent) WHERE a.id = k.id RETURNING 1) "
                                "SELECT 1 / (CASE WHEN count(*) = $6 THEN 1 ELSE 0 END) FROM w"},
    [S_F_SYNCED] = {"BIi", "WITH w AS (UPDATE wallets x SET last_sync = k.t FROM unnest($1::bytea[], $2::int8[]) "
                           "AS k(id, t) WHERE x.id = k.id RETURNING 1) "
                           "SELECT 1 / (CASE WHEN count(*) = $3 THEN 1 ELSE 0 END) FROM w"},
};

struct pg_ledger {
    struct offpay_ledger base;
    PGconn *conn;
    unsigned char prepared[S_COUNT]; /* on this session: 0 not yet, 1 prepared, 2 stale */
    int in_tx;
    int begin_pending; /* a write transaction whose BEGIN goes with its first statement */
    int set_up; /* session_setup ran on this session (else the next operation runs it) */
    int marked; /* the open transaction has a savepoint */
    PGresult *keep; /* the last result: blobs handed out point into it */
    struct batch *b; /* set-based settlement in this transaction (prefetch), or NULL */
    int plain;       /* $OFFPAYD_PG_SET_BASED=0: never (to measure against) */
    char err[512]; /* libpq names each host of a multi-host URL */
};

#define PL(l) ((struct pg_ledger *)(l))

/* Round trips to PostgreSQL by this process (offpay_ledger_round_trips). */
static uint64_t round_trips;

uint64_t offpay_pg_round_trips(void) { return __atomic_load_n(&round_trips, __ATOMIC_RELAXED); }

static void count_trip(void) { __atomic_add_fetch(&round_trips, 1, __ATOMIC_RELAXED); }

/* Set-based settlement (the end of this file): after prefetch the
 * operations below answer from what was read ahead and defer their
 * writes.  Each b_ function returns 1 when it answered (*r), 0 when the
 * plain statement must run. */
struct batch;
static void b_free(struct pg_ledger *s);
static enum offpay_ledger_result b_before_statement(struct pg_ledger *s, int stmt);
static enum offpay_ledger_result b_commit(struct pg_ledger *s);
static enum offpay_ledger_result b_savepoint(struct pg_ledger *s);
static enum offpay_ledger_result b_rollback_savepoint(struct pg_ledger *s);
static int b_record_get(struct pg_ledger *s, const uint8_t *id, struct offpay_ledger_record *rec,
                        enum offpay_ledger_result *r);
static int b_wallet_get(struct pg_ledger *s, int by_key, const uint8_t *k, struct offpay_ledger_wallet *w,
                        enum offpay_ledger_result *r);
static int b_account_get(struct pg_ledger *s, int64_t id, struct offpay_ledger_account *a, enum offpay_ledger_result *r);
static int b_utxo_get(struct pg_ledger *s, const uint8_t *owner, const uint8_t *id, struct offpay_ledger_utxo *u,
                      enum offpay_ledger_result *r);
static int b_nonce_get(struct pg_ledger *s, const uint8_t *wallet, const uint8_t *nonce, struct offpay_ledger_nonce *n,
                       enum offpay_ledger_result *r);
static int b_limits_get(struct pg_ledger *s, const uint8_t *wallet, struct offpay_limits *lim, uint64_t *issued_at,
                        enum offpay_ledger_result *r);
static int b_account_update(struct pg_ledger *s, const struct offpay_ledger_account *a, enum offpay_ledger_result *r);
static int b_nonce_insert(struct pg_ledger *s, const uint8_t *wallet, const uint8_t *nonce, uint64_t ts,
                          enum offpay_ledger_result *r);
static int b_utxo_insert(struct pg_ledger *s, const struct offpay_ledger_utxo *u, uint64_t now,
                         enum offpay_ledger_result *r);
static int b_utxo_spend(struct pg_ledger *s, const struct offpay_ledger_utxo *coin, int how, const uint8_t *by,
                        uint64_t now, enum offpay_ledger_result *r);
static int b_record_insert(struct pg_ledger *s, const struct offpay_ledger_record *rec, enum offpay_ledger_result *r);
static int b_wallet_synced(struct pg_ledger *s, const uint8_t *id, uint64_t now, enum offpay_ledger_result *r);
static int b_certificate(struct pg_ledger *s, const uint8_t *id, const uint8_t **cert, size_t *len);
static int b_revocation(struct pg_ledger *s, uint64_t *serial, uint64_t *issued_at, uint32_t *count);
static enum offpay_ledger_result send_begin(struct pg_ledger *s);

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
    /* one line (libpq's messages for several hosts take several) */
    size_t w = 0;
    for (size_t r = 0; s->err[r] != '\0'; r++) {
        char c = s->err[r] == '\n' || s->err[r] == '\t' ? ' ' : s->err[r];
        if (c != ' ' || (w > 0 && s->err[w - 1] != ' '))
            s->err[w++] = c;
    }
    s->err[w] = '\0';
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
    if (strcmp(state, "23505") == 0) /* unique_violation (a set-based insert's wrong prediction) */
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

static enum offpay_ledger_result exec_cmd(struct pg_ledger *s, const char *sql);

/* What every session of ours runs first: no lock wait hangs a request (it
 * ends in RETRY after 5 s), and no notice reaches stderr. */
static enum offpay_ledger_result session_setup(struct pg_ledger *s)
{
    enum offpay_ledger_result r = exec_cmd(s, "SET lock_timeout = '5s'");
    return r == OFFPAY_LEDGER_OK ? exec_cmd(s, "SET client_min_messages = warning") : r;
}

/* Outside a transaction a broken connection is reopened: the server may
 * have restarted, or (failover) another host of a multi-host URL may be the
 * writable one now (libpq tries them in order, keeping the one that
 * target_session_attrs accepts).  The new session is set up as at open:
 * prepared statements and settings die with the old one.  Inside a
 * transaction the transaction is lost and the caller hears of it from the
 * failing statement.  Returns 1 if it reconnected, 0 if there was nothing
 * to do, -1 if no server could be reached or set up (s->err says why; the
 * next operation tries again). */
static int reconnect_if_broken(struct pg_ledger *s)
{
    if (s->in_tx || (PQstatus(s->conn) == CONNECTION_OK && s->set_up))
        return 0;
    if (PQstatus(s->conn) != CONNECTION_OK) {
        PQreset(s->conn);
        memset(s->prepared, 0, sizeof s->prepared);
    }
    s->set_up = PQstatus(s->conn) == CONNECTION_OK && session_setup(s) == OFFPAY_LEDGER_OK;
    if (s->set_up)
        return 1;
    char why[sizeof s->err];
    snprintf(why, sizeof why, "Cannot reconnect to PostgreSQL: %.450s",
             PQstatus(s->conn) == CONNECTION_OK ? s->err : PQerrorMessage(s->conn));
    set_err(s, why);
    return -1;
}

static Oid type_oid(char c)
{
    return c == 'b' ? OID_BYTEA : c == 'i' ? OID_INT8 : c == 'B' ? OID_BYTEA_ARRAY : c == 'I' ? OID_INT8_ARRAY : OID_TEXT;
}

/* Prepare statement i on this session (named offpay_I) unless it is. */
static enum offpay_ledger_result prepare(struct pg_ledger *s, enum stmt i)
{
    char name[16], sql[40];
    snprintf(name, sizeof name, "offpay_%d", (int)i);
    if (s->prepared[i] == 2) { /* stale: the schema changed under it */
        snprintf(sql, sizeof sql, "DEALLOCATE %s", name);
        count_trip();
        PQclear(PQexec(s->conn, sql));
        s->prepared[i] = 0;
    }
    if (s->prepared[i] == 0) {
        Oid types[MAX_PARAMS];
        int n = (int)strlen(stmts[i].types);
        for (int k = 0; k < n; k++)
            types[k] = type_oid(stmts[i].types[k]);
        count_trip();
        PGresult *res = PQprepare(s->conn, name, stmts[i].sql, n, types);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            enum offpay_ledger_result r = fail_res(s, res);
            PQclear(res);
            return r;
        }
        PQclear(res);
        s->prepared[i] = 1;
    }
    return OFFPAY_LEDGER_OK;
}

/* Run statement i; on success the result (tuples or command) is in s->keep. */
static enum offpay_ledger_result run(struct pg_ledger *s, enum stmt i, const struct params *p)
{
    char name[16];
    PGresult *res;

    release(s);
    if (s->b != NULL) {
        /* deferred writes go first, and what the statement may change is no
         * longer answered from the read-ahead */
        enum offpay_ledger_result r = b_before_statement(s, (int)i);
        if (r != OFFPAY_LEDGER_OK)
            return r;
    }
    if (s->begin_pending) {
        enum offpay_ledger_result br = send_begin(s);
        if (br != OFFPAY_LEDGER_OK)
            return br;
    }
    if (reconnect_if_broken(s) < 0)
        return OFFPAY_LEDGER_UNAVAILABLE;
    if (p->n != (int)strlen(stmts[i].types)) {
        snprintf(s->err, sizeof s->err, "Statement %d got %d parameters.", (int)i, p->n);
        return OFFPAY_LEDGER_ERROR;
    }
    snprintf(name, sizeof name, "offpay_%d", (int)i);
    for (int attempt = 0;; attempt++) {
        enum offpay_ledger_result pr = prepare(s, i);
        if (pr != OFFPAY_LEDGER_OK) {
            if (attempt == 0 && reconnect_if_broken(s) > 0)
                continue;
            return pr;
        }
        count_trip();
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
            if (attempt == 0 && reconnect_if_broken(s) > 0)
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

#define BEGIN_WRITE "BEGIN ISOLATION LEVEL REPEATABLE READ"
/* The plans of a set-based group (sent after its BEGIN, for that
 * transaction only): generic plans, without hash and merge joins.  Left to
 * itself, PostgreSQL plans each statement for the arrays it is given, and
 * joins 1000 keys with a table of some ten thousand rows by hashing the
 * table, all of it, on every group (a young table's statistics make that
 * look cheap): a cost that grows with the ledger, where 1000 index lookups
 * cost some 3 ms.  A generic plan is made once (no planning of 1000-element
 * arrays on every group) for keys it does not know, and without hash and
 * merge joins a join with unnest(keys) is a nested loop of index lookups
 * whatever the statistics say. */
#define B_PLAN                                                                                                         \
    "SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_hashjoin', 'off', true), "  \
    "set_config('enable_mergejoin', 'off', true)"

/* The BEGIN of a write transaction goes with its first statement (in the
 * read-ahead's pipeline when there is one): sent here, alone, before any
 * other statement when there is none.  A connection that breaks after
 * pg_begin fails it like any statement of the transaction (RETRY). */
static enum offpay_ledger_result send_begin(struct pg_ledger *s)
{
    if (!s->begin_pending)
        return OFFPAY_LEDGER_OK;
    s->begin_pending = 0;
    count_trip();
    PGresult *res = PQexec(s->conn, BEGIN_WRITE);
    enum offpay_ledger_result r = PQresultStatus(res) == PGRES_COMMAND_OK ? OFFPAY_LEDGER_OK : fail_res(s, res);
    PQclear(res);
    return r;
}

/* A plain command outside the prepared set (BEGIN, COMMIT, ...). */
static enum offpay_ledger_result exec_cmd(struct pg_ledger *s, const char *sql)
{
    release(s);
    enum offpay_ledger_result br = send_begin(s);
    if (br != OFFPAY_LEDGER_OK)
        return br;
    count_trip();
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
    b_free(s);
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
    if (reconnect_if_broken(s) < 0)
        return OFFPAY_LEDGER_UNAVAILABLE;
    if (write == OFFPAY_LEDGER_BEGIN_DEFERRED) {
        /* Nothing to wait for yet: BEGIN goes with the first statement (the
         * read-ahead's pipeline), which saves the group (tx.c) a round
         * trip.  What the server sent since the last operation (a session
         * ended by a restart: a message, then the end of the stream) is
         * read first without waiting, so that a connection already broken
         * is reopened here; one that breaks later fails the first
         * statement (RETRY), and the caller runs the transaction again. */
        for (int i = 0; i < 2 && PQstatus(s->conn) == CONNECTION_OK; i++)
            (void)PQconsumeInput(s->conn);
        if (reconnect_if_broken(s) < 0)
            return OFFPAY_LEDGER_UNAVAILABLE;
        if (PQstatus(s->conn) != CONNECTION_OK) {
            set_err(s, PQerrorMessage(s->conn)); /* the server is gone: as BEGIN would find */
            return OFFPAY_LEDGER_UNAVAILABLE;
        }
        s->marked = 0;
        s->begin_pending = 1;
        s->in_tx = 1;
        return OFFPAY_LEDGER_OK;
    }
    r = start_tx(s, write);
    if (r != OFFPAY_LEDGER_OK && reconnect_if_broken(s) > 0)
        r = start_tx(s, write); /* the connection had broken since the last operation */
    if (r == OFFPAY_LEDGER_OK)
        s->in_tx = 1;
    return r;
}

static void pg_rollback(struct offpay_ledger *l)
{
    struct pg_ledger *s = PL(l);
    b_free(s);
    if (!s->in_tx)
        return;
    if (s->begin_pending) { /* nothing was sent */
        s->begin_pending = 0;
        s->in_tx = 0;
        return;
    }
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
    if (s->b != NULL) {
        /* the deferred writes and COMMIT, in one round trip */
        enum offpay_ledger_result r = b_commit(s);
        if (r != OFFPAY_LEDGER_OK && PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
            count_trip();
            PQclear(PQexec(s->conn, "ROLLBACK"));
        }
        s->in_tx = 0;
        return r;
    }
    release(s);
    if (s->begin_pending) { /* nothing was sent: nothing to commit */
        s->begin_pending = 0;
        s->in_tx = 0;
        return OFFPAY_LEDGER_OK;
    }
    count_trip();
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
        count_trip();
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
    if (s->b != NULL)
        return b_savepoint(s);
    enum offpay_ledger_result r =
        exec_cmd(s, s->marked ? "RELEASE SAVEPOINT offpay_member; SAVEPOINT offpay_member" : "SAVEPOINT offpay_member");
    s->marked = r == OFFPAY_LEDGER_OK;
    return r;
}

static enum offpay_ledger_result pg_rollback_savepoint(struct offpay_ledger *l)
{
    struct pg_ledger *s = PL(l);
    if (s->b != NULL && s->in_tx)
        return b_rollback_savepoint(s);
    if (!s->in_tx || !s->marked) {
        snprintf(s->err, sizeof s->err, "There is no savepoint to go back to.");
        return OFFPAY_LEDGER_ERROR;
    }
    return exec_cmd(s, "ROLLBACK TO SAVEPOINT offpay_member");
}

/* One small integer from a query (text result); -1 on failure. */
static long query_long(struct pg_ledger *s, const char *sql)
{
    count_trip();
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

/* Row row of an account result ("itiiii"); 0 or -1. */
static int parse_account(struct pg_ledger *s, int row, struct offpay_ledger_account *a)
{
    memset(a, 0, sizeof a[0]);
    if (get_i64(s, row, 0, &a->id) != 0 || get_text(s, row, 1, a->name, sizeof a->name) != 0 ||
        get_u64(s, row, 2, &a->online) != 0 || get_u64(s, row, 3, &a->minted) != 0 ||
        get_u64(s, row, 4, &a->received) != 0 || get_u64(s, row, 5, &a->sent) != 0) {
        memset(a, 0, sizeof a[0]);
        return -1;
    }
    return 0;
}

static enum offpay_ledger_result account_row(struct pg_ledger *s, struct offpay_ledger_account *a)
{
    enum offpay_ledger_result r;
    memset(a, 0, sizeof a[0]);
    if ((r = one_row(s, "itiiii", "account")) != OFFPAY_LEDGER_OK)
        return r;
    return parse_account(s, 0, a) == 0 ? OFFPAY_LEDGER_OK : corrupt(s, "account");
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
    if (s->b != NULL && b_account_get(s, id, a, &r))
        return r;
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
    if (s->b != NULL && b_account_update(s, a, &r))
        return r;
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
    if (s->b != NULL && b_certificate(s, id, cert, cert_len))
        return OFFPAY_LEDGER_OK;
    p_blob(&p, id, OFFPAY_WALLET_ID_BYTES);
    if ((r = run(s, S_WALLET_CERT, &p)) != OFFPAY_LEDGER_OK || (r = one_row(s, "b", "wallet")) != OFFPAY_LEDGER_OK)
        return r;
    if (get_blob(s, 0, 0, 0, cert, cert_len) != 0)
        return corrupt(s, "wallet certificate");
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result pg_wallet_certificate_set(struct offpay_ledger *l,
                                                           const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                                           const uint8_t *cert, size_t cert_len)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    if (cert == NULL || cert_len > (size_t)INT32_MAX) {
        snprintf(s->err, sizeof s->err, "A wallet row is out of the ledger's range.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_blob(&p, id, OFFPAY_WALLET_ID_BYTES);
    p_blob(&p, cert, cert_len);
    if ((r = run(s, S_WALLET_CERT_SET, &p)) != OFFPAY_LEDGER_OK)
        return r;
    return one_row(s, "b", "wallet");
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
    if (s->b != NULL && b_wallet_get(s, 0, id, w, &r))
        return r;
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
    if (s->b != NULL && b_wallet_get(s, 1, key, w, &r))
        return r;
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
    enum offpay_ledger_result r;
    if (s->b != NULL && b_wallet_synced(s, id, now, &r))
        return r;
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

static enum offpay_ledger_result pg_wallet_range(struct offpay_ledger *l, const uint8_t lo[OFFPAY_WALLET_ID_BYTES],
                                                 const uint8_t hi[OFFPAY_WALLET_ID_BYTES],
                                                 int (*each)(void *ctx, const struct offpay_ledger_wallet *w),
                                                 void *ctx)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    struct offpay_ledger_wallet w;
    enum offpay_ledger_result r;
    p_blob(&p, lo, OFFPAY_WALLET_ID_BYTES);
    p_blob(&p, hi, OFFPAY_WALLET_ID_BYTES);
    if ((r = run(s, S_WALLET_RANGE, &p)) != OFFPAY_LEDGER_OK)
        return r;
    if (shape(s, WALLET_TYPES) != 0)
        return corrupt(s, "wallet");
    for (int k = 0, n = PQntuples(s->keep); k < n; k++) {
        if (wallet_cols(s, k, &w) != 0)
            return corrupt(s, "wallet");
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
    if (s->b != NULL && b_nonce_insert(s, wallet, nonce, ts, &r))
        return r;
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

/* Columns col.. of row row: ts, kind, answer ("iib"); 0 or -1. */
static int parse_nonce(struct pg_ledger *s, int row, int col, struct offpay_ledger_nonce *n)
{
    int64_t kind;
    memset(n, 0, sizeof *n);
    if (get_u64(s, row, col, &n->ts) != 0 || get_i64(s, row, col + 1, &kind) != 0 || kind < OFFPAY_LEDGER_NONCE_USED ||
        kind > OFFPAY_LEDGER_NONCE_CANCELLED || get_blob(s, row, col + 2, 1, &n->answer, &n->answer_len) != 0 ||
        (kind == OFFPAY_LEDGER_NONCE_ANSWERED) != (n->answer != NULL)) {
        memset(n, 0, sizeof *n);
        return -1;
    }
    n->kind = (int)kind;
    return 0;
}

static enum offpay_ledger_result pg_nonce_get(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                              const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES],
                                              struct offpay_ledger_nonce *n)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    memset(n, 0, sizeof *n);
    if (s->b != NULL && b_nonce_get(s, wallet, nonce, n, &r))
        return r;
    p_blob(&p, wallet, OFFPAY_WALLET_ID_BYTES);
    p_blob(&p, nonce, OFFPAY_HTTP_NONCE_BYTES);
    if ((r = run(s, S_NONCE_GET, &p)) != OFFPAY_LEDGER_OK || (r = one_row(s, "iib", "nonce")) != OFFPAY_LEDGER_OK)
        return r;
    return parse_nonce(s, 0, 0, n) == 0 ? OFFPAY_LEDGER_OK : corrupt(s, "nonce");
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

/* Columns col.. of row row ("iiiiiii"); 0 or -1. */
static int parse_limits(struct pg_ledger *s, int row, int col, struct offpay_limits *lim, uint64_t *issued_at)
{
    uint64_t count, period, offline_time;
    if (get_u64(s, row, col, &lim->per_payment) != 0 || get_u64(s, row, col + 1, &lim->offline_total) != 0 ||
        get_u64(s, row, col + 2, &count) != 0 || get_u64(s, row, col + 3, &period) != 0 ||
        get_u64(s, row, col + 4, issued_at) != 0 || get_u64(s, row, col + 5, &lim->holding) != 0 ||
        get_u64(s, row, col + 6, &offline_time) != 0 || count > UINT32_MAX || period > UINT32_MAX || period == 0 ||
        offline_time > UINT32_MAX)
        return -1;
    lim->count = (uint32_t)count;
    lim->period = (uint32_t)period;
    lim->offline_time = (uint32_t)offline_time;
    return 0;
}

static enum offpay_ledger_result pg_limits_get(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                               struct offpay_limits *lim, uint64_t *issued_at)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    if (s->b != NULL && b_limits_get(s, wallet, lim, issued_at, &r))
        return r;
    p_blob(&p, wallet, OFFPAY_WALLET_ID_BYTES);
    if ((r = run(s, S_LIMITS_GET, &p)) != OFFPAY_LEDGER_OK || (r = one_row(s, "iiiiiii", "limits row")) != OFFPAY_LEDGER_OK)
        return r;
    return parse_limits(s, 0, 0, lim, issued_at) == 0 ? OFFPAY_LEDGER_OK : corrupt(s, "limits row");
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
    if (s->b != NULL && b_revocation(s, serial, issued_at, count))
        return OFFPAY_LEDGER_OK;
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
    if (s->b != NULL && b_utxo_insert(s, u, now, &r))
        return r;
    p_blob(&p, u->id, OFFPAY_UTXO_ID_BYTES);
    p_blob(&p, u->owner, OFFPAY_PUBLIC_KEY_BYTES);
    p_i64(&p, u->account_id);
    p_i64(&p, (int64_t)u->amount);
    p_i64(&p, (int64_t)now);
    if ((r = run(s, S_UTXO_INSERT, &p)) != OFFPAY_LEDGER_OK)
        return r;
    return affected(s) == 1 ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_DUPLICATE;
}

/* Row row of a coin result ("biiibi": owner, account_id, amount, spent,
 * spent_by, created) of the coin id that owner must own; 0 or -1. */
static int parse_coin(struct pg_ledger *s, int row, const uint8_t owner[OFFPAY_PUBLIC_KEY_BYTES],
                      const uint8_t id[OFFPAY_UTXO_ID_BYTES], struct offpay_ledger_utxo *u)
{
    int64_t spent;
    memset(u, 0, sizeof u[0]);
    memcpy(u->id, id, OFFPAY_UTXO_ID_BYTES);
    if (get_fixed(s, row, 0, u->owner, OFFPAY_PUBLIC_KEY_BYTES) != 0 ||
        memcmp(u->owner, owner, OFFPAY_PUBLIC_KEY_BYTES) != 0 || get_i64(s, row, 1, &u->account_id) != 0 ||
        get_u64(s, row, 2, &u->amount) != 0 || u->amount == 0 || get_i64(s, row, 3, &spent) != 0 ||
        spent < OFFPAY_LEDGER_UNSPENT || spent > OFFPAY_LEDGER_SPENT_BY_UNLOAD ||
        (spent == OFFPAY_LEDGER_SPENT_BY_RECORD && get_fixed(s, row, 4, u->spent_by, OFFPAY_RECORD_ID_BYTES) != 0) ||
        get_u64(s, row, 5, &u->created) != 0) {
        memset(u, 0, sizeof u[0]);
        return -1;
    }
    u->spent = (int)spent;
    return 0;
}

static enum offpay_ledger_result pg_utxo_get(struct offpay_ledger *l, const uint8_t owner[OFFPAY_PUBLIC_KEY_BYTES],
                                             const uint8_t id[OFFPAY_UTXO_ID_BYTES], struct offpay_ledger_utxo *u)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result r;
    memset(u, 0, sizeof u[0]);
    if (s->b != NULL && b_utxo_get(s, owner, id, u, &r))
        return r;
    p_blob(&p, owner, OFFPAY_PUBLIC_KEY_BYTES);
    p_blob(&p, id, OFFPAY_UTXO_ID_BYTES);
    if ((r = run(s, S_UTXO_GET, &p)) != OFFPAY_LEDGER_OK || (r = one_row(s, "biiibi", "coin")) != OFFPAY_LEDGER_OK)
        return r;
    return parse_coin(s, 0, owner, id, u) == 0 ? OFFPAY_LEDGER_OK : corrupt(s, "coin");
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
    if (s->b != NULL && b_utxo_spend(s, coin, how, by_record, now, &r))
        return r;
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
    if (s->b != NULL && b_record_insert(s, r, &res))
        return res;
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

/* Columns col.. of row row ("ibbbbbi": state, payer_wallet, payee_key,
 * body, confirmation, refusal, at) of record id; 0 or -1. */
static int parse_record(struct pg_ledger *s, int row, int col, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                        struct offpay_ledger_record *r)
{
    int64_t state;
    memset(r, 0, sizeof r[0]);
    memcpy(r->id, id, OFFPAY_RECORD_ID_BYTES);
    if (get_i64(s, row, col, &state) != 0 ||
        (state != OFFPAY_LEDGER_RECORD_SETTLED && state != OFFPAY_LEDGER_RECORD_VOIDED) ||
        get_fixed(s, row, col + 1, r->payer_wallet, OFFPAY_WALLET_ID_BYTES) != 0 ||
        get_fixed(s, row, col + 2, r->payee_key, OFFPAY_PUBLIC_KEY_BYTES) != 0 ||
        get_blob(s, row, col + 3, 0, &r->body, &r->body_len) != 0 ||
        get_blob(s, row, col + 4, 1, &r->confirmation, &r->confirmation_len) != 0 ||
        get_blob(s, row, col + 5, 1, &r->refusal, &r->refusal_len) != 0 || get_u64(s, row, col + 6, &r->at) != 0) {
        memset(r, 0, sizeof r[0]);
        return -1;
    }
    r->state = (int)state;
    return 0;
}

static enum offpay_ledger_result pg_record_get(struct offpay_ledger *l, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                                               struct offpay_ledger_record *r)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    enum offpay_ledger_result res;
    memset(r, 0, sizeof r[0]);
    if (s->b != NULL && b_record_get(s, id, r, &res))
        return res;
    p_blob(&p, id, OFFPAY_RECORD_ID_BYTES);
    if ((res = run(s, S_RECORD_GET, &p)) != OFFPAY_LEDGER_OK ||
        (res = one_row(s, "ibbbbbi", "record")) != OFFPAY_LEDGER_OK)
        return res;
    return parse_record(s, 0, 0, id, r) == 0 ? OFFPAY_LEDGER_OK : corrupt(s, "record");
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

/* ---- set-based settlement ----
 *
 * A group of requests settled statement by statement costs about fifteen
 * round trips a request.  prefetch reads, right after BEGIN, every row the
 * group's steps are about to read, one statement per kind of row with the
 * keys as arrays; the operations then answer from those rows and defer their
 * writes, which go to the database as one statement per kind of row
 * (INSERT ... SELECT FROM unnest(...), UPDATE ... FROM unnest(...)) before
 * COMMIT, or before any statement that must still go to the database.
 * Every answer is the one the plain statement would give in this
 * transaction (its snapshot, and its own writes), so the server's logic
 * and its outcomes do not change:
 *
 *  - an entry is what the transaction would read: ABSENT (asked for, no
 *    row), PRESENT (the row, with this transaction's writes applied), or
 *    MISS (not known: the plain statement runs);
 *  - a deferred write is predicted from the entry (a coin read unspent is
 *    spent, a row read absent is inserted).  At REPEATABLE READ a
 *    concurrent writer cannot make a prediction wrong silently: the write
 *    then fails with 40001, as the plain statement would.  If a bulk
 *    statement changes another number of rows than predicted (say, an
 *    inserted coin id that exists under another owner), the prediction was
 *    wrong, and that operation or commit answers RETRY: the server runs the
 *    group again statement by statement, which gives the plain outcome;
 *  - savepoints cost nothing while every write is deferred: the writes of
 *    one request are a stretch of the write log, undone by truncating it
 *    (and restoring the entries it changed).  When a statement must go to
 *    the database inside a request (a double spend's evidence, say), the
 *    writes before the request's mark are sent, then SAVEPOINT, then its
 *    own, so ROLLBACK TO SAVEPOINT still undoes that request alone;
 *  - a statement that may change rows the entries hold makes those entries
 *    MISS (a revocation, a kept nonce...).
 */

enum { C_RECORD, C_WALLET, C_WALLET_KEY, C_COIN, C_NONCE, C_ACCOUNT, C_LIMITS, C_HOLDING, C_CERT, C_RVL };
enum { C_MISS = 0, C_ABSENT, C_PRESENT };
enum { W_NONE, W_COIN_INSERT, W_COIN_SPEND, W_RECORD, W_NONCE, W_ACCOUNT, W_SYNCED };

/* Past these the read-ahead and its arrays would cost more memory than the
 * round trips they save; the group then runs statement by statement. */
#define BATCH_KEYS_MAX 50000

union b_value {
    struct offpay_ledger_record rec;
    struct offpay_ledger_wallet w;
    struct offpay_ledger_utxo coin;
    struct offpay_ledger_account acc;
    struct offpay_ledger_nonce nonce;
    struct {
        struct offpay_limits lim;
        uint64_t issued_at;
    } lim;
    uint64_t holding;
    struct {
        const uint8_t *p;
        size_t len;
    } cert; /* a wallet's certificate */
    struct {
        uint64_t serial, issued_at;
        uint32_t count;
    } rvl; /* the revocation list's head */
};

struct b_entry {
    uint8_t kind, state, klen;
    uint8_t key[OFFPAY_PUBLIC_KEY_BYTES + OFFPAY_UTXO_ID_BYTES];
    unsigned stamp; /* flush: the last stretch that wrote this account */
    union b_value v;
};

/* One write (or a holding adjusted with it): the entry as it was before, to
 * undo it, and what a spend or an account update wrote. */
struct b_write {
    uint32_t entry;
    uint8_t kind, old_state;
    union b_value old;
    union {
        struct {
            int64_t how;
            int by_null;
            uint8_t by[OFFPAY_RECORD_ID_BYTES];
            uint64_t at;
        } spend;
        struct offpay_ledger_account acc;
    } nw;
};

struct b_chunk {
    struct b_chunk *next;
    size_t used, cap;
    unsigned char data[];
};

struct batch {
    struct b_entry *e;
    size_t ne, cape;
    uint32_t *slot; /* open addressing: entry index + 1, 0 empty */
    size_t nslot;
    struct b_write *log;
    size_t nlog, caplog;
    size_t sent;     /* log[0..sent) is in the database */
    size_t mark;     /* the latest savepoint, as a log position */
    int marked;      /* a savepoint was asked for in this transaction */
    int server_mark; /* the database holds a SAVEPOINT at mark */
    int internal;    /* running the batch's own statements */
    unsigned stamp;
    struct b_chunk *arena; /* blobs of the entries */
};

static void b_free(struct pg_ledger *s)
{
    struct batch *b = s->b;
    if (b == NULL)
        return;
    while (b->arena != NULL) {
        struct b_chunk *c = b->arena;
        b->arena = c->next;
        free(c);
    }
    free(b->e);
    free(b->slot);
    free(b->log);
    free(b);
    s->b = NULL;
}

/* A copy of n bytes that lives as long as the batch; NULL stays NULL. */
static const uint8_t *b_copy(struct batch *b, const uint8_t *p, size_t n)
{
    if (p == NULL)
        return NULL;
    if (b->arena == NULL || b->arena->cap - b->arena->used < n + 1) {
        size_t cap = n + 1 > 65536 ? n + 1 : 65536;
        struct b_chunk *c = malloc(sizeof *c + cap);
        if (c == NULL)
            return NULL;
        c->next = b->arena;
        c->used = 0;
        c->cap = cap;
        b->arena = c;
    }
    uint8_t *d = b->arena->data + b->arena->used;
    if (n > 0)
        memcpy(d, p, n);
    b->arena->used += n + 1;
    return d;
}

static uint64_t b_hash(int kind, const uint8_t *key, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)kind;
    for (size_t i = 0; i < n; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return h;
}

/* The entry of key, or -1. */
static long b_find(const struct batch *b, int kind, const uint8_t *key, size_t n)
{
    if (b->nslot == 0)
        return -1;
    for (size_t i = b_hash(kind, key, n) & (b->nslot - 1);; i = (i + 1) & (b->nslot - 1)) {
        uint32_t x = b->slot[i];
        if (x == 0)
            return -1;
        const struct b_entry *e = &b->e[x - 1];
        if (e->kind == kind && e->klen == n && memcmp(e->key, key, n) == 0)
            return (long)(x - 1);
    }
}

/* The entry of key, added (MISS) if new; -1 when out of memory. */
static long b_entry_of(struct batch *b, int kind, const uint8_t *key, size_t n)
{
    long f = b_find(b, kind, key, n);
    if (f >= 0)
        return f;
    if (b->ne == b->cape) {
        size_t cap = b->cape ? 2 * b->cape : 256;
        struct b_entry *e = realloc(b->e, cap * sizeof *e);
        if (e == NULL)
            return -1;
        b->e = e;
        b->cape = cap;
    }
    if (2 * (b->ne + 1) > b->nslot) {
        size_t ns = b->nslot ? 2 * b->nslot : 1024;
        uint32_t *slot = calloc(ns, sizeof *slot);
        if (slot == NULL)
            return -1;
        for (size_t k = 0; k < b->ne; k++) {
            size_t i = b_hash(b->e[k].kind, b->e[k].key, b->e[k].klen) & (ns - 1);
            while (slot[i] != 0)
                i = (i + 1) & (ns - 1);
            slot[i] = (uint32_t)(k + 1);
        }
        free(b->slot);
        b->slot = slot;
        b->nslot = ns;
    }
    struct b_entry *e = &b->e[b->ne];
    memset(e, 0, sizeof *e);
    e->kind = (uint8_t)kind;
    e->klen = (uint8_t)n;
    memcpy(e->key, key, n);
    size_t i = b_hash(kind, key, n) & (b->nslot - 1);
    while (b->slot[i] != 0)
        i = (i + 1) & (b->nslot - 1);
    b->slot[i] = (uint32_t)(b->ne + 1);
    return (long)b->ne++;
}

static struct b_entry *b_get(struct batch *b, int kind, const uint8_t *a, size_t na, const uint8_t *c, size_t nc)
{
    uint8_t key[sizeof ((struct b_entry *)0)->key];
    memcpy(key, a, na);
    if (nc > 0)
        memcpy(key + na, c, nc);
    long f = b_find(b, kind, key, na + nc);
    return f < 0 ? NULL : &b->e[f];
}

static void be64(uint8_t out[8], int64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
}

/* Log a write to entry e (its state before); NULL when out of memory. */
static struct b_write *b_log(struct batch *b, const struct b_entry *e, int kind)
{
    if (b->nlog == b->caplog) {
        size_t cap = b->caplog ? 2 * b->caplog : 256;
        struct b_write *w = realloc(b->log, cap * sizeof *w);
        if (w == NULL)
            return NULL;
        b->log = w;
        b->caplog = cap;
    }
    struct b_write *w = &b->log[b->nlog++];
    memset(w, 0, sizeof *w);
    w->entry = (uint32_t)(e - b->e);
    w->kind = (uint8_t)kind;
    w->old_state = e->state;
    w->old = e->v;
    return w;
}

/* Undo the writes log[to..]. */
static void b_undo(struct batch *b, size_t to)
{
    while (b->nlog > to) {
        struct b_write *w = &b->log[--b->nlog];
        b->e[w->entry].state = w->old_state;
        b->e[w->entry].v = w->old;
    }
}

/* The holding of owner moves by +add or -sub with a coin written. */
static int b_holding_moves(struct batch *b, const uint8_t *owner, uint64_t add, uint64_t sub)
{
    struct b_entry *h = b_get(b, C_HOLDING, owner, OFFPAY_PUBLIC_KEY_BYTES, NULL, 0);
    if (h == NULL || h->state != C_PRESENT)
        return 0;
    if (b_log(b, h, W_NONE) == NULL)
        return -1;
    if (h->v.holding > UINT64_MAX - add || h->v.holding + add < sub)
        h->state = C_MISS; /* not what a sum gives: ask the database */
    else
        h->v.holding = h->v.holding + add - sub;
    return 0;
}

/* ---- the arrays of the bulk statements (PostgreSQL's binary array form) ---- */

struct b_array {
    unsigned char *p;
    size_t len, cap;
    uint32_t n;
    int nulls, oom;
};

static void arr_put(struct b_array *a, const void *d, size_t n)
{
    if (a->oom)
        return;
    if (a->len + n > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < a->len + n)
            cap *= 2;
        unsigned char *p = realloc(a->p, cap);
        if (p == NULL) {
            a->oom = 1;
            return;
        }
        a->p = p;
        a->cap = cap;
    }
    memcpy(a->p + a->len, d, n);
    a->len += n;
}

static void arr_u32(struct b_array *a, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    arr_put(a, b, 4);
}

static void arr_start(struct b_array *a)
{
    memset(a, 0, sizeof *a);
    unsigned char head[20] = {0};
    arr_put(a, head, sizeof head); /* ndim, flags, element type, size, lower bound: arr_end */
}

/* Elements: a value of n bytes, or NULL (p NULL). */
static void arr_add(struct b_array *a, const void *p, size_t n)
{
    if (p == NULL) {
        arr_u32(a, 0xffffffffu);
        a->nulls = 1;
    } else {
        arr_u32(a, (uint32_t)n);
        arr_put(a, p, n);
    }
    a->n++;
}

static void arr_i64(struct b_array *a, int64_t v)
{
    uint8_t b[8];
    be64(b, v);
    arr_add(a, b, 8);
}

/* Fill in the head; the array is then p[0..len). */
static void arr_end(struct b_array *a, Oid elem)
{
    if (a->oom || a->len > (size_t)INT32_MAX) {
        a->oom = 1;
        return;
    }
    uint32_t head[5] = {1, (uint32_t)a->nulls, elem, a->n, 1};
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 4; k++)
            a->p[4 * i + k] = (unsigned char)(head[i] >> (24 - 8 * k));
}

/* One bulk statement: its arrays (na of them, then the expected row count
 * for a write, which the statement itself checks). */
struct b_query {
    int stmt, na;
    struct b_array a[8];
    long want;
};

static void query_free(struct b_query *q)
{
    for (int k = 0; k < q->na; k++)
        free(q->a[k].p);
    q->na = 0;
}

static struct b_query *query_start(struct b_query *q, int stmt)
{
    memset(q, 0, sizeof *q);
    q->stmt = stmt;
    q->want = -1;
    q->na = 0;
    for (const char *t = stmts[stmt].types; *t == 'B' || *t == 'I'; t++)
        arr_start(&q->a[q->na++]);
    return q;
}

/* The parameters of q (arrays finished); -1 when out of memory. */
/* Whether q has rows to send: kept (1), or freed (0). */
static int query_kept(struct b_query *q)
{
    if (q->a[0].n > 0)
        return 1;
    query_free(q);
    return 0;
}

static int query_params(struct b_query *q, struct params *p)
{
    memset(p, 0, sizeof *p);
    for (int k = 0; k < q->na; k++) {
        arr_end(&q->a[k], stmts[q->stmt].types[k] == 'B' ? OID_BYTEA : OID_INT8);
        if (q->a[k].oom)
            return -1;
        p_blob(p, q->a[k].p, q->a[k].len);
    }
    if (q->want >= 0)
        p_i64(p, q->want);
    return 0;
}

/* A set-based write that failed other than by a race: its prediction was
 * wrong (the statement checks its row count), or something else is; the
 * plain statements, run again, say what really happens. */
static enum offpay_ledger_result b_retry_of(struct pg_ledger *s, enum offpay_ledger_result r)
{
    if (r != OFFPAY_LEDGER_ERROR && r != OFFPAY_LEDGER_DUPLICATE)
        return r;
    char was[128];
    size_t len = strlen(s->err);
    len = len < sizeof was ? len : sizeof was - 1;
    memcpy(was, s->err, len);
    was[len] = '\0';
    snprintf(s->err, sizeof s->err, "A set-based write did not do what was predicted (%s); running it again.", was);
    return OFFPAY_LEDGER_RETRY;
}

/* The writes log[from..to) as bulk statements, one per kind of row (new
 * coins first: a coin may be made and spent in one stretch).  Returns how
 * many (at most 6) are in q. */
static int b_build(struct batch *b, size_t from, size_t to, struct b_query *q)
{
    int nq = 0;
    struct b_query *c = query_start(&q[nq], S_F_COINS_INSERT);
    for (size_t i = from; i < to; i++) {
        if (b->log[i].kind != W_COIN_INSERT)
            continue;
        const struct offpay_ledger_utxo *u = &b->e[b->log[i].entry].v.coin;
        arr_add(&c->a[0], u->id, OFFPAY_UTXO_ID_BYTES);
        arr_add(&c->a[1], u->owner, OFFPAY_PUBLIC_KEY_BYTES);
        arr_i64(&c->a[2], u->account_id);
        arr_i64(&c->a[3], (int64_t)u->amount);
        arr_i64(&c->a[4], (int64_t)u->created);
    }
    nq += query_kept(c);

    c = query_start(&q[nq], S_F_COINS_SPEND);
    for (size_t i = from; i < to; i++) {
        const struct b_write *w = &b->log[i];
        if (w->kind != W_COIN_SPEND)
            continue;
        const struct b_entry *e = &b->e[w->entry];
        arr_add(&c->a[0], e->key, OFFPAY_PUBLIC_KEY_BYTES);
        arr_add(&c->a[1], e->key + OFFPAY_PUBLIC_KEY_BYTES, OFFPAY_UTXO_ID_BYTES);
        arr_i64(&c->a[2], w->nw.spend.how);
        arr_add(&c->a[3], w->nw.spend.by_null ? NULL : w->nw.spend.by, OFFPAY_RECORD_ID_BYTES);
        arr_i64(&c->a[4], (int64_t)w->nw.spend.at);
    }
    nq += query_kept(c);

    c = query_start(&q[nq], S_F_RECORDS);
    for (size_t i = from; i < to; i++) {
        if (b->log[i].kind != W_RECORD)
            continue;
        const struct offpay_ledger_record *rec = &b->e[b->log[i].entry].v.rec;
        arr_add(&c->a[0], rec->id, OFFPAY_RECORD_ID_BYTES);
        arr_i64(&c->a[1], rec->state);
        arr_add(&c->a[2], rec->payer_wallet, OFFPAY_WALLET_ID_BYTES);
        arr_add(&c->a[3], rec->payee_key, OFFPAY_PUBLIC_KEY_BYTES);
        arr_add(&c->a[4], rec->body, rec->body_len);
        arr_add(&c->a[5], rec->confirmation, rec->confirmation_len);
        arr_add(&c->a[6], rec->refusal, rec->refusal_len);
        arr_i64(&c->a[7], (int64_t)rec->at);
    }
    nq += query_kept(c);

    c = query_start(&q[nq], S_F_NONCES);
    for (size_t i = from; i < to; i++) {
        if (b->log[i].kind != W_NONCE)
            continue;
        const struct b_entry *e = &b->e[b->log[i].entry];
        arr_add(&c->a[0], e->key, OFFPAY_WALLET_ID_BYTES);
        arr_add(&c->a[1], e->key + OFFPAY_WALLET_ID_BYTES, OFFPAY_HTTP_NONCE_BYTES);
        arr_i64(&c->a[2], (int64_t)e->v.nonce.ts);
    }
    nq += query_kept(c);

    /* an account once, with the last values of the stretch: many records
     * paying one payee make one row update, not one each */
    b->stamp++;
    c = query_start(&q[nq], S_F_ACCOUNTS);
    for (size_t i = to; i-- > from;) {
        const struct b_write *w = &b->log[i];
        if (w->kind != W_ACCOUNT || b->e[w->entry].stamp == b->stamp)
            continue;
        b->e[w->entry].stamp = b->stamp;
        arr_i64(&c->a[0], w->nw.acc.id);
        arr_i64(&c->a[1], (int64_t)w->nw.acc.online);
        arr_i64(&c->a[2], (int64_t)w->nw.acc.minted);
        arr_i64(&c->a[3], (int64_t)w->nw.acc.received);
        arr_i64(&c->a[4], (int64_t)w->nw.acc.sent);
    }
    nq += query_kept(c);

    /* a wallet's last sync once, the latest */
    b->stamp++;
    c = query_start(&q[nq], S_F_SYNCED);
    for (size_t i = to; i-- > from;) {
        const struct b_write *w = &b->log[i];
        if (w->kind != W_SYNCED || b->e[w->entry].stamp == b->stamp)
            continue;
        b->e[w->entry].stamp = b->stamp;
        arr_add(&c->a[0], b->e[w->entry].key, OFFPAY_WALLET_ID_BYTES);
        arr_i64(&c->a[1], (int64_t)b->e[w->entry].v.w.last_sync);
    }
    nq += query_kept(c);
    for (int i = 0; i < nq; i++)
        q[i].want = q[i].a[0].n;
    return nq;
}

/* What to do with the result of one query of a pipeline (s->keep): OK, or
 * a failure that ends the batch. */
static enum offpay_ledger_result b_take(struct pg_ledger *s, const struct b_query *q, int *bad);

/*
 * Send q[0..nq) (and COMMIT, when commit) in one round trip: libpq's
 * pipeline mode.  Each result goes to b_take in order.  The first failure
 * aborts the rest (PostgreSQL skips a pipeline's statements after an
 * error), and is returned; with commit, OK means committed, and a broken
 * connection during it UNKNOWN, as pg_commit says.
 */
static enum offpay_ledger_result b_pipeline(struct pg_ledger *s, struct b_query *q, int nq, int commit, int *bad)
{
    struct params p[8];
    if (nq > 8) {
        snprintf(s->err, sizeof s->err, "Too many statements for one pipeline.");
        return OFFPAY_LEDGER_ERROR;
    }
    char name[16];
    enum offpay_ledger_result r = OFFPAY_LEDGER_OK;
    int sent = 0;

    release(s);
    for (int i = 0; i < nq; i++) {
        if (query_params(&q[i], &p[i]) != 0) {
            snprintf(s->err, sizeof s->err, "Out of memory.");
            return OFFPAY_LEDGER_ERROR;
        }
        if ((r = prepare(s, (enum stmt)q[i].stmt)) != OFFPAY_LEDGER_OK)
            return r;
    }
    if (PQenterPipelineMode(s->conn) != 1) {
        set_err(s, PQerrorMessage(s->conn));
        return OFFPAY_LEDGER_ERROR;
    }
    count_trip();
    /* the transaction's BEGIN goes first, with its plan settings */
    int pre = s->begin_pending ? 2 : 0;
    s->begin_pending = 0;
    if (pre) {
        sent += PQsendQueryParams(s->conn, BEGIN_WRITE, 0, NULL, NULL, NULL, NULL, 1) == 1;
        sent += PQsendQueryParams(s->conn, B_PLAN, 0, NULL, NULL, NULL, NULL, 1) == 1;
    }
    for (int i = 0; i < nq; i++) {
        snprintf(name, sizeof name, "offpay_%d", q[i].stmt);
        sent += PQsendQueryPrepared(s->conn, name, p[i].n, p[i].v, p[i].len, p[i].fmt, 1) == 1;
    }
    if (commit)
        sent += PQsendQueryParams(s->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 1) == 1;
    sent += PQpipelineSync(s->conn) == 1;
    if (sent != pre + nq + commit + 1 || PQflush(s->conn) != 0)
        r = OFFPAY_LEDGER_ERROR; /* the results below say why, or the connection does */
    /* the results, in order: each query's, then NULL; the sync's last */
    int at = -pre, seen = 0, synced = 0;
    while (!synced) {
        PGresult *res = PQgetResult(s->conn);
        if (res == NULL) {
            if (PQstatus(s->conn) != CONNECTION_OK)
                break;
            if (seen)
                at++;
            seen = 0;
            continue;
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            synced = 1;
        } else if (at < 0) {
            seen = 1; /* BEGIN, B_PLAN */
            if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && r == OFFPAY_LEDGER_OK)
                r = fail_res(s, res);
        } else if (at < nq) {
            seen = 1;
            if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
                if (r == OFFPAY_LEDGER_OK) {
                    s->keep = res;
                    r = b_take(s, &q[at], bad);
                    s->keep = NULL;
                }
            } else if (r == OFFPAY_LEDGER_OK) {
                const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
                if (state != NULL && strcmp(state, "0A000") == 0)
                    s->prepared[q[at].stmt] = 2; /* prepared again by the rerun */
                r = fail_res(s, res);
                if (q[at].want >= 0)
                    r = b_retry_of(s, r);
            }
        } else {
            seen = 1; /* COMMIT */
            if (r == OFFPAY_LEDGER_OK) {
                if (st != PGRES_COMMAND_OK)
                    r = fail_res(s, res);
                else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
                    snprintf(s->err, sizeof s->err, "The transaction had failed and was rolled back.");
                    r = OFFPAY_LEDGER_ERROR;
                } else {
                    commit = 2; /* committed */
                }
            }
        }
        PQclear(res);
    }
    if (!synced || PQstatus(s->conn) != CONNECTION_OK) {
        (void)PQexitPipelineMode(s->conn);

        if (commit == 2)
            return r; /* COMMIT answered COMMIT: committed, whatever broke after it */
        if (commit == 1 && r == OFFPAY_LEDGER_OK) {
            snprintf(s->err, sizeof s->err,
                     "The connection to PostgreSQL broke during COMMIT; the outcome is unknown.");
            return OFFPAY_LEDGER_UNKNOWN;
        }
        if (r == OFFPAY_LEDGER_OK)
            set_err(s, PQerrorMessage(s->conn));
        return s->in_tx ? OFFPAY_LEDGER_RETRY : OFFPAY_LEDGER_UNAVAILABLE;
    }
    (void)PQexitPipelineMode(s->conn);
    return r;
}

static enum offpay_ledger_result b_take(struct pg_ledger *s, const struct b_query *q, int *bad);

/* Send the writes log[from..to) now, one round trip. */
static enum offpay_ledger_result b_send(struct pg_ledger *s, size_t from, size_t to)
{
    struct b_query q[6];
    int bad = 0;
    int nq = b_build(s->b, from, to, q);
    if (nq == 0)
        return OFFPAY_LEDGER_OK;
    s->b->internal = 1;
    enum offpay_ledger_result r = b_pipeline(s, q, nq, 0, &bad);
    s->b->internal = 0;
    for (int i = 0; i < nq; i++)
        query_free(&q[i]);
    return r;
}

/* Everything deferred goes to the database, with the SAVEPOINT of the
 * request that is running where it belongs. */
static enum offpay_ledger_result b_flush(struct pg_ledger *s)
{
    struct batch *b = s->b;
    enum offpay_ledger_result r;
    if (b->marked && !b->server_mark) {
        if ((r = b_send(s, b->sent, b->mark)) != OFFPAY_LEDGER_OK)
            return r;
        b->sent = b->mark;
        b->internal = 1;
        r = exec_cmd(s, s->marked ? "RELEASE SAVEPOINT offpay_member; SAVEPOINT offpay_member"
                                  : "SAVEPOINT offpay_member");
        b->internal = 0;
        if (r != OFFPAY_LEDGER_OK)
            return r;
        s->marked = 1;
        b->server_mark = 1;
    }
    if (b->sent < b->nlog) {
        if ((r = b_send(s, b->sent, b->nlog)) != OFFPAY_LEDGER_OK)
            return r;
        b->sent = b->nlog;
    }
    return OFFPAY_LEDGER_OK;
}

static void b_forget(struct batch *b, int kind)
{
    for (size_t i = 0; i < b->ne; i++)
        if (b->e[i].kind == kind)
            b->e[i].state = C_MISS;
}

static enum offpay_ledger_result b_before_statement(struct pg_ledger *s, int stmt)
{
    struct batch *b = s->b;
    if (b->internal)
        return OFFPAY_LEDGER_OK;
    enum offpay_ledger_result r = b_flush(s);
    if (r != OFFPAY_LEDGER_OK)
        return r == OFFPAY_LEDGER_ERROR || r == OFFPAY_LEDGER_DUPLICATE ? OFFPAY_LEDGER_RETRY : r;
    switch (stmt) {
    case S_WALLET_REVOKE:
    case S_WALLET_LOST:
        b_forget(b, C_RVL);
        /* fall through */
    case S_WALLET_INSERT:
    case S_WALLET_WRITE_OFF:
    case S_WALLET_SYNCED:
        b_forget(b, C_WALLET);
        b_forget(b, C_WALLET_KEY);
        b_forget(b, C_CERT);
        break;
    case S_WALLET_CERT_SET:
        b_forget(b, C_CERT);
        break;
    case S_NONCE_INSERT:
    case S_NONCE_KEEP:
    case S_NONCE_PRUNE:
        b_forget(b, C_NONCE);
        break;
    case S_LIMITS_SET:
        b_forget(b, C_LIMITS);
        break;
    case S_ACC_CREATE:
    case S_ACC_UPDATE:
        b_forget(b, C_ACCOUNT);
        break;
    case S_UTXO_INSERT:
    case S_UTXO_SPEND:
        b_forget(b, C_COIN);
        b_forget(b, C_HOLDING);
        break;
    case S_RECORD_INSERT:
        b_forget(b, C_RECORD);
        break;
    default:
        break;
    }
    return OFFPAY_LEDGER_OK;
}

/* The deferred writes and COMMIT, in one round trip.  OK: committed (the
 * transaction is over); else the caller rolls back (UNKNOWN: it may have
 * committed). */
static enum offpay_ledger_result b_commit(struct pg_ledger *s)
{
    struct batch *b = s->b;
    struct b_query q[6];
    int bad = 0;
    int nq = b_build(b, b->sent, b->nlog, q);
    b->internal = 1;
    enum offpay_ledger_result r = b_pipeline(s, q, nq, 1, &bad);
    for (int i = 0; i < nq; i++)
        query_free(&q[i]);
    b_free(s);
    return r;
}

static enum offpay_ledger_result b_savepoint(struct pg_ledger *s)
{
    struct batch *b = s->b;
    b->mark = b->nlog;
    b->marked = 1;
    b->server_mark = 0;
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result b_rollback_savepoint(struct pg_ledger *s)
{
    struct batch *b = s->b;
    if (!b->marked) {
        snprintf(s->err, sizeof s->err, "There is no savepoint to go back to.");
        return OFFPAY_LEDGER_ERROR;
    }
    if (b->server_mark) {
        b->internal = 1;
        enum offpay_ledger_result r = exec_cmd(s, "ROLLBACK TO SAVEPOINT offpay_member");
        b->internal = 0;
        if (r != OFFPAY_LEDGER_OK)
            return r;
    }
    b_undo(b, b->mark);
    if (b->sent > b->mark)
        b->sent = b->mark;
    return OFFPAY_LEDGER_OK;
}

/* ---- the operations, answered from the entries ---- */

static int b_answer(const struct b_entry *e, enum offpay_ledger_result *r)
{
    if (e == NULL || e->state == C_MISS)
        return 0;
    *r = e->state == C_PRESENT ? OFFPAY_LEDGER_OK : OFFPAY_LEDGER_NOT_FOUND;
    return 1;
}

static int b_record_get(struct pg_ledger *s, const uint8_t *id, struct offpay_ledger_record *rec,
                        enum offpay_ledger_result *r)
{
    const struct b_entry *e = b_get(s->b, C_RECORD, id, OFFPAY_RECORD_ID_BYTES, NULL, 0);
    if (!b_answer(e, r))
        return 0;
    if (*r == OFFPAY_LEDGER_OK)
        *rec = e->v.rec;
    return 1;
}

static int b_wallet_get(struct pg_ledger *s, int by_key, const uint8_t *k, struct offpay_ledger_wallet *w,
                        enum offpay_ledger_result *r)
{
    const struct b_entry *e = by_key ? b_get(s->b, C_WALLET_KEY, k, OFFPAY_PUBLIC_KEY_BYTES, NULL, 0)
                                     : b_get(s->b, C_WALLET, k, OFFPAY_WALLET_ID_BYTES, NULL, 0);
    if (!b_answer(e, r))
        return 0;
    memset(w, 0, sizeof *w);
    if (*r == OFFPAY_LEDGER_OK)
        *w = e->v.w;
    return 1;
}

static int b_account_get(struct pg_ledger *s, int64_t id, struct offpay_ledger_account *a, enum offpay_ledger_result *r)
{
    uint8_t key[8];
    be64(key, id);
    const struct b_entry *e = b_get(s->b, C_ACCOUNT, key, 8, NULL, 0);
    if (!b_answer(e, r))
        return 0;
    memset(a, 0, sizeof *a);
    if (*r == OFFPAY_LEDGER_OK)
        *a = e->v.acc;
    return 1;
}

static int b_utxo_get(struct pg_ledger *s, const uint8_t *owner, const uint8_t *id, struct offpay_ledger_utxo *u,
                      enum offpay_ledger_result *r)
{
    const struct b_entry *e = b_get(s->b, C_COIN, owner, OFFPAY_PUBLIC_KEY_BYTES, id, OFFPAY_UTXO_ID_BYTES);
    if (!b_answer(e, r))
        return 0;
    if (*r == OFFPAY_LEDGER_OK)
        *u = e->v.coin;
    return 1;
}

static int b_nonce_get(struct pg_ledger *s, const uint8_t *wallet, const uint8_t *nonce, struct offpay_ledger_nonce *n,
                       enum offpay_ledger_result *r)
{
    const struct b_entry *e =
        b_get(s->b, C_NONCE, wallet, OFFPAY_WALLET_ID_BYTES, nonce, OFFPAY_HTTP_NONCE_BYTES);
    if (!b_answer(e, r))
        return 0;
    if (*r == OFFPAY_LEDGER_OK)
        *n = e->v.nonce;
    return 1;
}

static int b_limits_get(struct pg_ledger *s, const uint8_t *wallet, struct offpay_limits *lim, uint64_t *issued_at,
                        enum offpay_ledger_result *r)
{
    const struct b_entry *e = b_get(s->b, C_LIMITS, wallet, OFFPAY_WALLET_ID_BYTES, NULL, 0);
    if (!b_answer(e, r))
        return 0;
    if (*r == OFFPAY_LEDGER_OK) {
        *lim = e->v.lim.lim;
        *issued_at = e->v.lim.issued_at;
    }
    return 1;
}

/* A wallet's certificate, or the revocation list's head, as read ahead
 * (only a row read is answered: the plain statement says what else). */
static int b_certificate(struct pg_ledger *s, const uint8_t *id, const uint8_t **cert, size_t *len)
{
    const struct b_entry *e = b_get(s->b, C_CERT, id, OFFPAY_WALLET_ID_BYTES, NULL, 0);
    if (e == NULL || e->state != C_PRESENT)
        return 0;
    *cert = e->v.cert.p;
    *len = e->v.cert.len;
    return 1;
}

static int b_revocation(struct pg_ledger *s, uint64_t *serial, uint64_t *issued_at, uint32_t *count)
{
    const struct b_entry *e = b_get(s->b, C_RVL, (const uint8_t *)"r", 1, NULL, 0);
    if (e == NULL || e->state != C_PRESENT)
        return 0;
    *serial = e->v.rvl.serial;
    *issued_at = e->v.rvl.issued_at;
    *count = e->v.rvl.count;
    return 1;
}

/* Out of memory while deferring: the transaction cannot go on this way. */
static int b_oom(struct pg_ledger *s, enum offpay_ledger_result *r)
{
    snprintf(s->err, sizeof s->err, "Out of memory.");
    *r = OFFPAY_LEDGER_ERROR;
    return 1;
}

static int b_account_update(struct pg_ledger *s, const struct offpay_ledger_account *a, enum offpay_ledger_result *r)
{
    uint8_t key[8];
    be64(key, a->id);
    struct b_entry *e = b_get(s->b, C_ACCOUNT, key, 8, NULL, 0);
    if (!b_answer(e, r))
        return 0;
    if (*r != OFFPAY_LEDGER_OK)
        return 1;
    struct b_write *w = b_log(s->b, e, W_ACCOUNT);
    if (w == NULL)
        return b_oom(s, r);
    e->v.acc.online = a->online;
    e->v.acc.minted = a->minted;
    e->v.acc.received = a->received;
    e->v.acc.sent = a->sent;
    w->nw.acc = e->v.acc;
    return 1;
}

static int b_nonce_insert(struct pg_ledger *s, const uint8_t *wallet, const uint8_t *nonce, uint64_t ts,
                          enum offpay_ledger_result *r)
{
    uint8_t key[OFFPAY_WALLET_ID_BYTES + OFFPAY_HTTP_NONCE_BYTES];
    memcpy(key, wallet, OFFPAY_WALLET_ID_BYTES);
    memcpy(key + OFFPAY_WALLET_ID_BYTES, nonce, OFFPAY_HTTP_NONCE_BYTES);
    long i = b_entry_of(s->b, C_NONCE, key, sizeof key);
    if (i < 0)
        return b_oom(s, r);
    struct b_entry *e = &s->b->e[i];
    if (e->state == C_PRESENT) {
        *r = OFFPAY_LEDGER_DUPLICATE;
        return 1;
    }
    if (b_log(s->b, e, W_NONCE) == NULL)
        return b_oom(s, r);
    e->state = C_PRESENT;
    memset(&e->v.nonce, 0, sizeof e->v.nonce);
    e->v.nonce.ts = ts;
    e->v.nonce.kind = OFFPAY_LEDGER_NONCE_USED;
    *r = OFFPAY_LEDGER_OK;
    return 1;
}

static int b_utxo_insert(struct pg_ledger *s, const struct offpay_ledger_utxo *u, uint64_t now,
                         enum offpay_ledger_result *r)
{
    uint8_t key[OFFPAY_PUBLIC_KEY_BYTES + OFFPAY_UTXO_ID_BYTES];
    memcpy(key, u->owner, OFFPAY_PUBLIC_KEY_BYTES);
    memcpy(key + OFFPAY_PUBLIC_KEY_BYTES, u->id, OFFPAY_UTXO_ID_BYTES);
    long i = b_entry_of(s->b, C_COIN, key, sizeof key);
    if (i < 0)
        return b_oom(s, r);
    struct b_entry *e = &s->b->e[i];
    if (e->state == C_PRESENT) {
        *r = OFFPAY_LEDGER_DUPLICATE;
        return 1;
    }
    if (b_log(s->b, e, W_COIN_INSERT) == NULL)
        return b_oom(s, r);
    e->state = C_PRESENT;
    memset(&e->v.coin, 0, sizeof e->v.coin);
    memcpy(e->v.coin.id, u->id, OFFPAY_UTXO_ID_BYTES);
    memcpy(e->v.coin.owner, u->owner, OFFPAY_PUBLIC_KEY_BYTES);
    e->v.coin.amount = u->amount;
    e->v.coin.account_id = u->account_id;
    e->v.coin.created = now;
    e->v.coin.spent = OFFPAY_LEDGER_UNSPENT;
    if (b_holding_moves(s->b, u->owner, u->amount, 0) != 0)
        return b_oom(s, r);
    *r = OFFPAY_LEDGER_OK;
    return 1;
}

static int b_utxo_spend(struct pg_ledger *s, const struct offpay_ledger_utxo *coin, int how, const uint8_t *by,
                        uint64_t now, enum offpay_ledger_result *r)
{
    struct b_entry *e = b_get(s->b, C_COIN, coin->owner, OFFPAY_PUBLIC_KEY_BYTES, coin->id, OFFPAY_UTXO_ID_BYTES);
    if (!b_answer(e, r))
        return 0;
    if (*r != OFFPAY_LEDGER_OK || e->v.coin.spent != OFFPAY_LEDGER_UNSPENT) {
        *r = OFFPAY_LEDGER_NOT_FOUND;
        return 1;
    }
    struct b_write *w = b_log(s->b, e, W_COIN_SPEND);
    if (w == NULL)
        return b_oom(s, r);
    w->nw.spend.how = how;
    w->nw.spend.by_null = by == NULL;
    if (by != NULL)
        memcpy(w->nw.spend.by, by, OFFPAY_RECORD_ID_BYTES);
    w->nw.spend.at = now;
    e->v.coin.spent = how;
    memset(e->v.coin.spent_by, 0, OFFPAY_RECORD_ID_BYTES);
    if (how == OFFPAY_LEDGER_SPENT_BY_RECORD && by != NULL)
        memcpy(e->v.coin.spent_by, by, OFFPAY_RECORD_ID_BYTES);
    if (b_holding_moves(s->b, coin->owner, 0, e->v.coin.amount) != 0)
        return b_oom(s, r);
    *r = OFFPAY_LEDGER_OK;
    return 1;
}

/* The wallet's entry by id is the one written; its entry by key, if any,
 * follows (both are undone together). */
static int b_wallet_synced(struct pg_ledger *s, const uint8_t *id, uint64_t now, enum offpay_ledger_result *r)
{
    struct b_entry *e = b_get(s->b, C_WALLET, id, OFFPAY_WALLET_ID_BYTES, NULL, 0);
    if (e == NULL || e->state != C_PRESENT || !fits_i64(now))
        return 0;
    struct b_entry *k = b_get(s->b, C_WALLET_KEY, e->v.w.public_key, OFFPAY_PUBLIC_KEY_BYTES, NULL, 0);
    if (k != NULL && k->state == C_PRESENT) {
        if (b_log(s->b, k, W_NONE) == NULL)
            return b_oom(s, r);
        k->v.w.last_sync = now;
    }
    if (b_log(s->b, e, W_SYNCED) == NULL)
        return b_oom(s, r);
    e->v.w.last_sync = now;
    *r = OFFPAY_LEDGER_OK;
    return 1;
}

static int b_record_insert(struct pg_ledger *s, const struct offpay_ledger_record *rec, enum offpay_ledger_result *r)
{
    struct batch *b = s->b;
    long i = b_entry_of(b, C_RECORD, rec->id, OFFPAY_RECORD_ID_BYTES);
    if (i < 0)
        return b_oom(s, r);
    struct b_entry *e = &b->e[i];
    if (e->state == C_PRESENT) {
        *r = OFFPAY_LEDGER_DUPLICATE;
        return 1;
    }
    struct offpay_ledger_record v = *rec;
    v.body = b_copy(b, rec->body, rec->body_len);
    v.confirmation = b_copy(b, rec->confirmation, rec->confirmation_len);
    v.refusal = b_copy(b, rec->refusal, rec->refusal_len);
    if ((rec->body != NULL && v.body == NULL) || (rec->confirmation != NULL && v.confirmation == NULL) ||
        (rec->refusal != NULL && v.refusal == NULL) || b_log(b, e, W_RECORD) == NULL)
        return b_oom(s, r);
    e->state = C_PRESENT;
    e->v.rec = v;
    *r = OFFPAY_LEDGER_OK;
    return 1;
}

/* ---- reading ahead ---- */

/* Mark every key of kind asked for ABSENT (rows found then make it PRESENT). */
static int b_ask(struct batch *b, int kind, const uint8_t *keys, size_t n, size_t size)
{
    for (size_t i = 0; i < n; i++) {
        long e = b_entry_of(b, kind, keys + i * size, size);
        if (e < 0)
            return -1;
        b->e[e].state = C_ABSENT;
    }
    return 0;
}

/* The keys of kind's entries, each once (a group's records may all pay one
 * payee: its key is asked for a thousand times).  A key sent twice costs
 * PostgreSQL its lookup twice, and in a scan's filter (x = ANY($1) with the
 * array a parameter) every row is compared with every element. */
static void arr_entries(struct b_array *a, const struct batch *b, int kind, size_t off, size_t len)
{
    for (size_t i = 0; i < b->ne; i++)
        if (b->e[i].kind == kind)
            arr_add(a, b->e[i].key + off, len);
}

/* The rows of one read-ahead statement: ERROR (out of memory), or OK with
 * *bad set when a row is malformed (the group then runs plainly, and the
 * plain statement reports it). */
static enum offpay_ledger_result b_rows(struct pg_ledger *s, int stmt, int *bad)
{
    struct batch *b = s->b;
    int n = PQntuples(s->keep);
    for (int row = 0; row < n && !*bad; row++) {
        uint8_t key[OFFPAY_PUBLIC_KEY_BYTES + OFFPAY_UTXO_ID_BYTES];
        long e, e2;
        switch (stmt) {
        case S_B_RECORDS: {
            struct offpay_ledger_record rec;
            const uint8_t *id;
            size_t idn;
            if (get_blob(s, row, 0, 0, &id, &idn) != 0 || idn != OFFPAY_RECORD_ID_BYTES ||
                parse_record(s, row, 1, id, &rec) != 0) {
                *bad = 1;
                break;
            }
            rec.body = b_copy(b, rec.body, rec.body_len);
            rec.confirmation = b_copy(b, rec.confirmation, rec.confirmation_len);
            rec.refusal = b_copy(b, rec.refusal, rec.refusal_len);
            if (rec.body == NULL || (e = b_entry_of(b, C_RECORD, id, idn)) < 0)
                return OFFPAY_LEDGER_ERROR;
            b->e[e].state = C_PRESENT;
            b->e[e].v.rec = rec;
            break;
        }
        case S_B_WALLETS: {
            struct offpay_ledger_wallet w;
            if (wallet_cols(s, row, &w) != 0) {
                *bad = 1;
                break;
            }
            if ((e = b_entry_of(b, C_WALLET, w.id, OFFPAY_WALLET_ID_BYTES)) < 0 ||
                (e2 = b_entry_of(b, C_WALLET_KEY, w.public_key, OFFPAY_PUBLIC_KEY_BYTES)) < 0)
                return OFFPAY_LEDGER_ERROR;
            b->e[e].state = b->e[e2].state = C_PRESENT;
            b->e[e].v.w = b->e[e2].v.w = w;
            /* and its certificate (renew.c reads it at every sync) */
            const uint8_t *cert;
            size_t cn;
            if (get_blob(s, row, 11, 0, &cert, &cn) != 0) {
                *bad = 1;
                break;
            }
            if ((cert = b_copy(b, cert, cn)) == NULL || (e = b_entry_of(b, C_CERT, w.id, OFFPAY_WALLET_ID_BYTES)) < 0)
                return OFFPAY_LEDGER_ERROR;
            b->e[e].state = C_PRESENT;
            b->e[e].v.cert.p = cert;
            b->e[e].v.cert.len = cn;
            /* its limits row is read too: absent unless found */
            if ((e = b_entry_of(b, C_LIMITS, w.id, OFFPAY_WALLET_ID_BYTES)) < 0)
                return OFFPAY_LEDGER_ERROR;
            if (b->e[e].state == C_MISS)
                b->e[e].state = C_ABSENT;
            break;
        }
        case S_B_ACCOUNTS: {
            struct offpay_ledger_account a;
            if (parse_account(s, row, &a) != 0) {
                *bad = 1;
                break;
            }
            be64(key, a.id);
            if ((e = b_entry_of(b, C_ACCOUNT, key, 8)) < 0)
                return OFFPAY_LEDGER_ERROR;
            b->e[e].state = C_PRESENT;
            b->e[e].v.acc = a;
            break;
        }
        case S_B_COINS: {
            struct offpay_ledger_utxo u;
            const uint8_t *id;
            size_t idn;
            if (get_blob(s, row, 6, 0, &id, &idn) != 0 || idn != OFFPAY_UTXO_ID_BYTES ||
                PQgetisnull(s->keep, row, 0) || PQgetlength(s->keep, row, 0) != OFFPAY_PUBLIC_KEY_BYTES) {
                *bad = 1;
                break;
            }
            memcpy(key, PQgetvalue(s->keep, row, 0), OFFPAY_PUBLIC_KEY_BYTES);
            if (parse_coin(s, row, key, id, &u) != 0) {
                *bad = 1;
                break;
            }
            memcpy(key + OFFPAY_PUBLIC_KEY_BYTES, id, OFFPAY_UTXO_ID_BYTES);
            if ((e = b_entry_of(b, C_COIN, key, sizeof key)) < 0)
                return OFFPAY_LEDGER_ERROR;
            b->e[e].state = C_PRESENT;
            b->e[e].v.coin = u;
            break;
        }
        case S_B_NONCES: {
            struct offpay_ledger_nonce n;
            if (get_fixed(s, row, 0, key, OFFPAY_WALLET_ID_BYTES) != 0 ||
                get_fixed(s, row, 1, key + OFFPAY_WALLET_ID_BYTES, OFFPAY_HTTP_NONCE_BYTES) != 0 ||
                parse_nonce(s, row, 2, &n) != 0) {
                *bad = 1;
                break;
            }
            n.answer = b_copy(b, n.answer, n.answer_len);
            if ((n.kind == OFFPAY_LEDGER_NONCE_ANSWERED && n.answer == NULL) ||
                (e = b_entry_of(b, C_NONCE, key, OFFPAY_WALLET_ID_BYTES + OFFPAY_HTTP_NONCE_BYTES)) < 0)
                return OFFPAY_LEDGER_ERROR;
            b->e[e].state = C_PRESENT;
            b->e[e].v.nonce = n;
            break;
        }
        case S_B_LIMITS: {
            struct offpay_limits lim;
            uint64_t at;
            memset(&lim, 0, sizeof lim);
            if (get_fixed(s, row, 0, key, OFFPAY_WALLET_ID_BYTES) != 0 || parse_limits(s, row, 1, &lim, &at) != 0) {
                *bad = 1;
                break;
            }
            if ((e = b_entry_of(b, C_LIMITS, key, OFFPAY_WALLET_ID_BYTES)) < 0)
                return OFFPAY_LEDGER_ERROR;
            b->e[e].state = C_PRESENT;
            b->e[e].v.lim.lim = lim;
            b->e[e].v.lim.issued_at = at;
            break;
        }
        case S_B_HOLDINGS:
        case S_B_HOLDINGS_DUE: {
            uint64_t sum;
            int over;
            if (get_fixed(s, row, 0, key, OFFPAY_PUBLIC_KEY_BYTES) != 0 || get_u64(s, row, 1, &sum) != 0 ||
                get_bool(s, row, 2, &over) != 0) {
                *bad = 1;
                break;
            }
            if ((e = b_entry_of(b, C_HOLDING, key, OFFPAY_PUBLIC_KEY_BYTES)) < 0)
                return OFFPAY_LEDGER_ERROR;
            /* overflow or a coin that is not positive: the plain pages say what */
            b->e[e].state = over ? C_MISS : C_PRESENT;
            b->e[e].v.holding = sum;
            break;
        }
        case S_REVOCATION_GET: {
            uint64_t serial, at, count;
            if (n != 1 || get_u64(s, row, 0, &serial) != 0 || get_u64(s, row, 1, &at) != 0 ||
                get_u64(s, row, 2, &count) != 0 || count > OFFPAY_REVOCATION_MAX) {
                *bad = 1;
                break;
            }
            if ((e = b_entry_of(b, C_RVL, (const uint8_t *)"r", 1)) < 0)
                return OFFPAY_LEDGER_ERROR;
            b->e[e].state = C_PRESENT;
            b->e[e].v.rvl.serial = serial;
            b->e[e].v.rvl.issued_at = at;
            b->e[e].v.rvl.count = (uint32_t)count;
            break;
        }
        default:
            *bad = 1;
        }
    }
    return OFFPAY_LEDGER_OK;
}

static const char *const b_shapes[S_COUNT] = {
    [S_B_RECORDS] = "bibbbbbi", [S_B_WALLETS] = WALLET_TYPES "b", [S_B_ACCOUNTS] = "itiiii", [S_B_COINS] = "biiibib",
    [S_B_NONCES] = "bbiib",     [S_B_LIMITS] = "biiiiiii",        [S_B_HOLDINGS] = "bi?", [S_B_HOLDINGS_DUE] = "bi?",
    [S_REVOCATION_GET] = "iii",
};

static enum offpay_ledger_result b_take(struct pg_ledger *s, const struct b_query *q, int *bad)
{
    if (q->want >= 0)
        return OFFPAY_LEDGER_OK; /* a write: the statement checked its own row count */
    if (*bad)
        return OFFPAY_LEDGER_OK;
    if (shape(s, b_shapes[q->stmt]) != 0) {
        *bad = 1;
        return OFFPAY_LEDGER_OK;
    }
    return b_rows(s, q->stmt, bad);
}

static enum offpay_ledger_result pg_prefetch(struct offpay_ledger *l, const struct offpay_ledger_keys *k)
{
    struct pg_ledger *s = PL(l);
    static const uint8_t zero[OFFPAY_WALLET_ID_BYTES];
    const size_t *n = k->n;
    struct b_query q[8], *c;
    enum offpay_ledger_result r = OFFPAY_LEDGER_OK;
    int bad = 0, nq = 0;
    size_t total = 0;

    int outside = !s->in_tx;
    for (int i = OFFPAY_LEDGER_KEY_RECORD + 1; i < OFFPAY_LEDGER_KEY_KINDS && outside; i++)
        if (n[i] > 0) {
            snprintf(s->err, sizeof s->err, "Prefetch outside a transaction reads records only.");
            return OFFPAY_LEDGER_ERROR;
        }
    if (s->b != NULL) {
        snprintf(s->err, sizeof s->err, "Prefetch needs a fresh transaction.");
        return OFFPAY_LEDGER_ERROR;
    }
    if (outside && reconnect_if_broken(s) < 0)
        return OFFPAY_LEDGER_UNAVAILABLE;
    if (s->plain)
        return OFFPAY_LEDGER_OK;
    for (int i = 0; i < OFFPAY_LEDGER_KEY_KINDS; i++)
        total += n[i];
    if (total == 0 || total > BATCH_KEYS_MAX)
        return OFFPAY_LEDGER_OK; /* nothing to gain, or too much to hold: plain statements */
    if ((s->b = calloc(1, sizeof *s->b)) == NULL)
        return OFFPAY_LEDGER_OK;
    struct batch *b = s->b;
    const uint8_t *const *key = (const uint8_t *const *)k->k;
    size_t coin = OFFPAY_PUBLIC_KEY_BYTES + OFFPAY_UTXO_ID_BYTES, nonce = OFFPAY_WALLET_ID_BYTES + OFFPAY_HTTP_NONCE_BYTES;
    size_t wallets = n[OFFPAY_LEDGER_KEY_WALLET] + n[OFFPAY_LEDGER_KEY_WALLET_KEY];
    if (b_ask(b, C_RECORD, key[OFFPAY_LEDGER_KEY_RECORD], n[OFFPAY_LEDGER_KEY_RECORD], OFFPAY_RECORD_ID_BYTES) != 0 ||
        b_ask(b, C_WALLET, key[OFFPAY_LEDGER_KEY_WALLET], n[OFFPAY_LEDGER_KEY_WALLET], OFFPAY_WALLET_ID_BYTES) != 0 ||
        b_ask(b, C_WALLET_KEY, key[OFFPAY_LEDGER_KEY_WALLET_KEY], n[OFFPAY_LEDGER_KEY_WALLET_KEY],
              OFFPAY_PUBLIC_KEY_BYTES) != 0 ||
        b_ask(b, C_COIN, key[OFFPAY_LEDGER_KEY_COIN], n[OFFPAY_LEDGER_KEY_COIN], coin) != 0 ||
        b_ask(b, C_NONCE, key[OFFPAY_LEDGER_KEY_NONCE], n[OFFPAY_LEDGER_KEY_NONCE], nonce) != 0 ||
        (wallets > 0 && b_ask(b, C_ACCOUNT, key[OFFPAY_LEDGER_KEY_ACCOUNT], n[OFFPAY_LEDGER_KEY_ACCOUNT], 8) != 0))
        goto plain;
    /* the limits of the wallets asked for, and the default, are read with them */
    if (wallets > 0 &&
        (b_ask(b, C_LIMITS, key[OFFPAY_LEDGER_KEY_WALLET], n[OFFPAY_LEDGER_KEY_WALLET], OFFPAY_WALLET_ID_BYTES) != 0 ||
         b_ask(b, C_LIMITS, zero, 1, OFFPAY_WALLET_ID_BYTES) != 0))
        goto plain;
    /* a holding is known only if its row comes (S_B_HOLDINGS_DUE) */
    for (size_t i = 0; i < n[OFFPAY_LEDGER_KEY_WALLET_KEY]; i++)
        if (b_entry_of(b, C_HOLDING, key[OFFPAY_LEDGER_KEY_WALLET_KEY] + i * OFFPAY_PUBLIC_KEY_BYTES,
                       OFFPAY_PUBLIC_KEY_BYTES) < 0)
            goto plain;

    /* One statement per kind of row, all in one round trip.  The wallets
     * come before their accounts and limits (b_rows marks the limits of
     * each wallet found absent until a row says otherwise). */
    if (n[OFFPAY_LEDGER_KEY_RECORD] > 0) {
        c = query_start(&q[nq++], S_B_RECORDS);
        arr_entries(&c->a[0], b, C_RECORD, 0, OFFPAY_RECORD_ID_BYTES);
    }
    for (int round = 0; round < 3 && wallets > 0; round++) {
        int stmt = round == 0 ? S_B_WALLETS : round == 1 ? S_B_ACCOUNTS : S_B_LIMITS, i = 0;
        c = query_start(&q[nq++], stmt);
        if (stmt == S_B_ACCOUNTS) {
            for (size_t j = 0; j < b->ne; j++) {
                if (b->e[j].kind != C_ACCOUNT)
                    continue;
                uint64_t id = 0;
                for (size_t x = 0; x < 8; x++)
                    id = (id << 8) | b->e[j].key[x];
                arr_i64(&c->a[0], (int64_t)id);
            }
            i = 1;
        }
        /* the limits' entries are the wallets' ids and the default's */
        arr_entries(&c->a[i], b, stmt == S_B_LIMITS ? C_LIMITS : C_WALLET, 0, OFFPAY_WALLET_ID_BYTES);
        arr_entries(&c->a[i + 1], b, C_WALLET_KEY, 0, OFFPAY_PUBLIC_KEY_BYTES);
    }
    if (n[OFFPAY_LEDGER_KEY_COIN] > 0) {
        c = query_start(&q[nq++], S_B_COINS);
        arr_entries(&c->a[0], b, C_COIN, 0, OFFPAY_PUBLIC_KEY_BYTES);
        arr_entries(&c->a[1], b, C_COIN, OFFPAY_PUBLIC_KEY_BYTES, OFFPAY_UTXO_ID_BYTES);
    }
    if (n[OFFPAY_LEDGER_KEY_NONCE] > 0) {
        c = query_start(&q[nq++], S_B_NONCES);
        arr_entries(&c->a[0], b, C_NONCE, 0, OFFPAY_WALLET_ID_BYTES);
        arr_entries(&c->a[1], b, C_NONCE, OFFPAY_WALLET_ID_BYTES, OFFPAY_HTTP_NONCE_BYTES);
    }
    if (wallets > 0) /* the revocation list's head, for the answers (ep_sync.c) */
        (void)query_start(&q[nq++], S_REVOCATION_GET);
    if (n[OFFPAY_LEDGER_KEY_WALLET_KEY] > 0) {
        c = query_start(&q[nq++], S_B_HOLDINGS_DUE);
        arr_entries(&c->a[0], b, C_HOLDING, 0, OFFPAY_PUBLIC_KEY_BYTES);
    }
    b->internal = 1;
    r = b_pipeline(s, q, nq, 0, &bad);
    b->internal = 0;
    for (int i = 0; i < nq; i++)
        query_free(&q[i]);
    release(s);
    if (r == OFFPAY_LEDGER_OK && !bad)
        return OFFPAY_LEDGER_OK;
plain:
    b_free(s);
    /* A read that failed aborted the transaction: the server runs the group
     * again, statement by statement. */
    return r == OFFPAY_LEDGER_ERROR || r == OFFPAY_LEDGER_DUPLICATE ? OFFPAY_LEDGER_RETRY : r;
}

/* The sum of owner's unspent coins in one statement (the read-ahead's own). */
static enum offpay_ledger_result pg_utxo_holding(struct offpay_ledger *l, const uint8_t owner[OFFPAY_PUBLIC_KEY_BYTES],
                                                 uint64_t *sum)
{
    struct pg_ledger *s = PL(l);
    struct params p = {0};
    struct b_array a;
    enum offpay_ledger_result r;
    int over;
    if (s->b != NULL) {
        const struct b_entry *e = b_get(s->b, C_HOLDING, owner, OFFPAY_PUBLIC_KEY_BYTES, NULL, 0);
        if (e != NULL && e->state == C_PRESENT) {
            *sum = e->v.holding;
            return OFFPAY_LEDGER_OK;
        }
    }
    arr_start(&a);
    arr_add(&a, owner, OFFPAY_PUBLIC_KEY_BYTES);
    arr_end(&a, OID_BYTEA);
    if (a.oom) {
        free(a.p);
        snprintf(s->err, sizeof s->err, "Out of memory.");
        return OFFPAY_LEDGER_ERROR;
    }
    p_blob(&p, a.p, a.len);
    r = run(s, S_B_HOLDINGS, &p);
    free(a.p);
    if (r != OFFPAY_LEDGER_OK)
        return r;
    if (shape(s, "bi?") != 0 || PQntuples(s->keep) > 1)
        return corrupt(s, "coin");
    *sum = 0;
    if (PQntuples(s->keep) == 0)
        return OFFPAY_LEDGER_OK;
    if (get_u64(s, 0, 1, sum) != 0 || get_bool(s, 0, 2, &over) != 0)
        return corrupt(s, "coin");
    if (over) {
        /* a sum past 2^63, or a coin that is not positive: page through, as
         * utxo_unspent_of would, to tell which */
        *sum = 0;
        return OFFPAY_LEDGER_NOT_FOUND;
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
    .wallet_certificate_set = pg_wallet_certificate_set,
    .wallet_insert = pg_wallet_insert,
    .wallet_get = pg_wallet_get,
    .wallet_get_by_key = pg_wallet_get_by_key,
    .wallet_revoke = pg_wallet_revoke,
    .wallet_report_lost = pg_wallet_report_lost,
    .wallet_write_off = pg_wallet_write_off,
    .wallet_synced = pg_wallet_synced,
    .wallet_list = pg_wallet_list,
    .wallet_range = pg_wallet_range,
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
    .utxo_holding = pg_utxo_holding,
    .prefetch = pg_prefetch,
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
    {
        const char *set_based = getenv("OFFPAYD_PG_SET_BASED");
        s->plain = set_based != NULL && strcmp(set_based, "0") == 0;
    }
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
    s->set_up = session_setup(s) == OFFPAY_LEDGER_OK;
    if (!s->set_up) {
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

/*
 * test_pg_hostile.c - the PostgreSQL backend treats the rows it reads as
 * hostile input.  Run under pg_run with the ledger URL as argv[1].
 *
 * With the schema's own checks dropped (as anyone with write access to the
 * database could), rows are corrupted one way at a time behind the
 * backend's back: wrong lengths, out-of-range numbers, NULLs, unknown
 * states, changed column types.  Every read must answer ERROR with "malformed"
 * in its message (never OK with garbage, never a crash), and after each case
 * is repaired the same read answers OK again, so the test cannot pass by
 * failing everything.
 *
 * A writer outside offpayd (an operator's SQL) that changes a coin under a
 * transaction is caught by first-updater-wins at REPEATABLE READ (RETRY).  Then the backend's session is killed (as a PostgreSQL restart would):
 * outside a transaction the next operation reconnects by itself; inside one
 * the operation answers RETRY and the rerun works; a COMMIT whose connection
 * broke answers ERROR (its outcome is unknown).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "check.h"
#include "offpay/ledger.h"

static PGconn *db;
static struct offpay_ledger *l;

static void sql(const char *q);

/* End every session but ours, and wait (bounded) until they are gone. */
static void kill_sessions(void)
{
    sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
        "AND backend_type = 'client backend'");
    for (int i = 0; i < 500; i++) {
        PGresult *r = PQexec(db, "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                                 "AND backend_type = 'client backend'");
        int left = PQresultStatus(r) == PGRES_TUPLES_OK ? atoi(PQgetvalue(r, 0, 0)) : -1;
        PQclear(r);
        if (left == 0)
            return;
        usleep(10000);
    }
    CHECK_FAIL("sessions did not end");
}

static void sql(const char *q)
{
    PGresult *r = PQexec(db, q);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        CHECK_FAIL("sql %s: %s", q, PQresultErrorMessage(r));
    PQclear(r);
}

/* The last read failed as it must: ERROR, saying the ledger is malformed. */
static int malformed(enum offpay_ledger_result r)
{
    if (r != OFFPAY_LEDGER_ERROR) {
        fprintf(stderr, "  got result %d, want ERROR\n", (int)r);
        return 0;
    }
    if (strstr(l->ops->last_error(l), "malformed") == NULL) {
        fprintf(stderr, "  message: %s\n", l->ops->last_error(l));
        return 0;
    }
    return 1;
}

static int each_id(void *ctx, const uint8_t id[OFFPAY_WALLET_ID_BYTES])
{
    (void)id;
    (*(int *)ctx)++;
    return 0;
}

static int each_coin(void *ctx, const struct offpay_ledger_utxo *u)
{
    (void)u;
    (*(int *)ctx)++;
    return 0;
}

static int each_fraud(void *ctx, const struct offpay_ledger_fraud *f)
{
    (void)f;
    (*(int *)ctx)++;
    return 0;
}

static int each_row(void *ctx, const struct offpay_ledger_audit_row *row)
{
    if (row->overflow)
        (*(int *)ctx)++;
    return 0;
}

int main(int argc, char **argv)
{
    char err[512];
    if (argc < 2) {
        fprintf(stderr, "usage: test_pg_hostile postgresql://...\n");
        return 2;
    }
    if (offpay_ledger_open(&l, argv[1], 1, err, sizeof err) != OFFPAY_OK)
        CHECK_FAIL("open: %s", err);
    db = PQconnectdb(argv[1]);
    if (PQstatus(db) != CONNECTION_OK)
        CHECK_FAIL("connect: %s", PQerrorMessage(db));
    const struct offpay_ledger_ops *op = l->ops;

    /* Good rows of every kind. */
    int64_t acc;
    struct offpay_ledger_account a;
    struct offpay_ledger_wallet w = {.id = {1}, .public_key = {1}}, wg;
    struct offpay_ledger_utxo u = {{7}, {1}, 300, 0, 0, 0, {0}}, ug;
    struct offpay_ledger_record r, rg;
    struct offpay_ledger_fraud f;
    struct offpay_limits lim = {10, 20, 3, 60, 0, 0};
    static const uint8_t zero[16];
    uint8_t rid[32] = {8}, meta[8];
    uint64_t issued, serial;
    uint32_t count;
    size_t n;
    int k;
    memset(&r, 0, sizeof r);
    memcpy(r.id, rid, 32);
    r.state = OFFPAY_LEDGER_RECORD_SETTLED;
    r.body = (const uint8_t *)"body";
    r.body_len = 4;
    memset(&f, 0, sizeof f);
    memcpy(f.record_id, rid, 32);
    f.record = (const uint8_t *)"rec";
    f.record_len = 3;
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->account_create(l, "alice", 1, &acc) == OFFPAY_LEDGER_OK);
    w.account_id = u.account_id = acc;
    CHECK(op->meta_set(l, "k", (const uint8_t *)"abc", 3) == OFFPAY_LEDGER_OK);
    CHECK(op->wallet_insert(l, &w, (const uint8_t *)"c", 1, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->wallet_revoke(l, w.id, 5) == OFFPAY_LEDGER_OK);
    CHECK(op->utxo_insert(l, &u, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->record_insert(l, &r) == OFFPAY_LEDGER_OK);
    CHECK(op->fraud_insert(l, &f) == OFFPAY_LEDGER_OK);
    CHECK(op->limits_set(l, zero, &lim, 9) == OFFPAY_LEDGER_OK);
    CHECK(op->commit(l) == OFFPAY_LEDGER_OK);

    /* What a hostile writer does first: drop every check and NOT NULL. */
    sql("DO $$ DECLARE c record; BEGIN "
        "FOR c IN SELECT conrelid::regclass AS t, conname FROM pg_constraint "
        "WHERE contype = 'c' AND connamespace = 'public'::regnamespace LOOP "
        "EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.t, c.conname); END LOOP; "
        "FOR c IN SELECT table_name AS t, column_name AS col FROM information_schema.columns i "
        "WHERE table_schema = 'public' AND is_nullable = 'NO' AND NOT EXISTS (SELECT 1 FROM "
        "information_schema.key_column_usage k WHERE k.table_name = i.table_name AND k.column_name = i.column_name) LOOP "
        "EXECUTE format('ALTER TABLE %I ALTER COLUMN %I DROP NOT NULL', c.t, c.col); END LOOP; END $$");

#define CASE(break_sql, call, fix_sql)                                                                                 \
    do {                                                                                                               \
        sql(break_sql);                                                                                                \
        CHECK(malformed(call));                                                                                       \
        sql(fix_sql);                                                                                                  \
        CHECK((call) == OFFPAY_LEDGER_OK);                                                                            \
    } while (0)

    /* meta: longer than the caller's buffer */
    CASE("UPDATE meta SET value = '\\x00112233445566778899' WHERE key = 'k'",
         op->meta_get(l, "k", meta, sizeof meta, &n), "UPDATE meta SET value = 'abc' WHERE key = 'k'");
    /* accounts: a negative balance, a name too long, a NULL total, a changed column type */
    CASE("UPDATE accounts SET online = -5", op->account_get(l, "alice", &a), "UPDATE accounts SET online = 0");
    CASE("UPDATE accounts SET received = NULL", op->account_get_by_id(l, acc, &a), "UPDATE accounts SET received = 0");
    CASE("ALTER TABLE accounts ALTER COLUMN sent TYPE numeric", op->account_get(l, "alice", &a),
         "ALTER TABLE accounts ALTER COLUMN sent TYPE bigint");
    CASE("UPDATE accounts SET name = repeat('a', 40)", op->account_get_by_id(l, acc, &a),
         "UPDATE accounts SET name = 'alice'");
    /* wallets: a flag out of range, a short key */
    CASE("UPDATE wallets SET fraudulent = 5", op->wallet_get(l, w.id, &wg), "UPDATE wallets SET fraudulent = 1");
    CASE("UPDATE wallets SET public_key = '\\x0102'", op->wallet_get(l, w.id, &wg),
         "UPDATE wallets SET public_key = '\\x01' || decode(repeat('00', 31), 'hex')");
    CHECK(op->wallet_get(l, w.id, &wg) == OFFPAY_LEDGER_OK && wg.public_key[0] == 1 && wg.fraudulent == 1);
    /* revocation: the list row gone, an id of the wrong length */
    CASE("DELETE FROM revocation", op->revocation_get(l, &serial, &issued, &count),
         "INSERT INTO revocation (id, serial, issued_at) VALUES (1, 2, 5)");
    k = 0;
    CASE("UPDATE revoked SET wallet_id = '\\x01'", op->revocation_ids(l, each_id, &k),
         "UPDATE revoked SET wallet_id = '\\x01' || decode(repeat('00', 15), 'hex')");
    /* limits: period 0, a count over 32 bits */
    CASE("UPDATE limits SET period = 0", op->limits_get(l, zero, &lim, &issued), "UPDATE limits SET period = 60");
    CASE("UPDATE limits SET count = 4294967296", op->limits_get(l, zero, &lim, &issued), "UPDATE limits SET count = 3");
    /* coins: amount 0, negative created, spent by a record that is not named, unknown spent state */
    CASE("UPDATE utxos SET amount = 0", op->utxo_get(l, u.owner, u.id, &ug), "UPDATE utxos SET amount = 300");
    CASE("UPDATE utxos SET created = -1", op->utxo_get(l, u.owner, u.id, &ug), "UPDATE utxos SET created = 1");
    CASE("UPDATE utxos SET spent = 1", op->utxo_get(l, u.owner, u.id, &ug), "UPDATE utxos SET spent = 0");
    CASE("UPDATE utxos SET spent = 9", op->utxo_get(l, u.owner, u.id, &ug), "UPDATE utxos SET spent = 0");
    k = 0;
    CASE("UPDATE utxos SET amount = -300", op->utxo_unspent_of(l, u.owner, NULL, 10, each_coin, &k),
         "UPDATE utxos SET amount = 300");
    /* records: unknown state, NULL body, short payee key */
    CASE("UPDATE records SET state = 3", op->record_get(l, rid, &rg), "UPDATE records SET state = 1");
    CASE("UPDATE records SET body = NULL", op->record_get(l, rid, &rg), "UPDATE records SET body = 'body'");
    CASE("UPDATE records SET payee_key = '\\x00'", op->record_get(l, rid, &rg),
         "UPDATE records SET payee_key = decode(repeat('00', 32), 'hex')");
    CHECK(op->record_get(l, rid, &rg) == OFFPAY_LEDGER_OK && rg.body_len == 4 && memcmp(rg.body, "body", 4) == 0);
    /* evidence: a short input id, a NULL record */
    k = 0;
    CASE("UPDATE frauds SET input = '\\x0000'", op->fraud_list(l, each_fraud, &k),
         "UPDATE frauds SET input = decode(repeat('00', 32), 'hex')");
    CASE("UPDATE frauds SET record = NULL", op->fraud_get(l, rid, &f), "UPDATE frauds SET record = 'rec'");
    /* the audit shows a negative total as an overflow, and refuses a changed type */
    k = 0;
    sql("UPDATE accounts SET minted = -1");
    CHECK(op->audit(l, each_row, &k) == OFFPAY_LEDGER_OK && k == 1);
    sql("UPDATE accounts SET minted = 0");
    k = 0;
    CHECK(op->audit(l, each_row, &k) == OFFPAY_LEDGER_OK && k == 0);
    CASE("ALTER TABLE accounts ALTER COLUMN online TYPE integer", op->audit(l, each_row, &k),
         "ALTER TABLE accounts ALTER COLUMN online TYPE bigint");

    /* inside a write transaction a malformed row fails the operation; nothing changes */
    sql("UPDATE accounts SET online = -5");
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    CHECK(malformed(op->account_get(l, "alice", &a)));
    op->rollback(l);
    sql("UPDATE accounts SET online = 0");
    CHECK(op->account_get(l, "alice", &a) == OFFPAY_LEDGER_OK && a.online == 0 && a.id == acc);

    /* a writer outside offpayd (an operator's SQL) is caught: the coin
     * changed after the transaction's snapshot, so spending it is a
     * serialization failure (first-updater-wins), RETRY, and the rerun sees
     * it spent */
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->utxo_get(l, u.owner, u.id, &ug) == OFFPAY_LEDGER_OK && ug.spent == OFFPAY_LEDGER_UNSPENT);
    sql("UPDATE utxos SET spent = 2, spent_at = 1");
    CHECK(op->utxo_spend(l, &ug, OFFPAY_LEDGER_SPENT_BY_UNLOAD, NULL, 3) == OFFPAY_LEDGER_RETRY);
    op->rollback(l);
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->utxo_get(l, u.owner, u.id, &ug) == OFFPAY_LEDGER_OK && ug.spent == OFFPAY_LEDGER_SPENT_BY_UNLOAD);
    CHECK(op->utxo_spend(l, &ug, OFFPAY_LEDGER_SPENT_BY_UNLOAD, NULL, 3) == OFFPAY_LEDGER_NOT_FOUND);
    op->rollback(l);
    sql("UPDATE utxos SET spent = 0, spent_at = NULL");

    /* a lost session: reconnected outside a transaction, RETRY inside one */
    kill_sessions();
    CHECK(op->account_get(l, "alice", &a) == OFFPAY_LEDGER_OK && a.id == acc);
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    kill_sessions();
    CHECK(op->account_get(l, "alice", &a) == OFFPAY_LEDGER_RETRY);
    op->rollback(l);
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->account_get(l, "alice", &a) == OFFPAY_LEDGER_OK);
    a.online = 7;
    CHECK(op->account_update(l, &a) == OFFPAY_LEDGER_OK);
    CHECK(op->commit(l) == OFFPAY_LEDGER_OK);
    kill_sessions();
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK); /* begin reconnects too */
    a.online = 8;
    CHECK(op->account_update(l, &a) == OFFPAY_LEDGER_OK);
    kill_sessions();
    CHECK(op->commit(l) == OFFPAY_LEDGER_UNKNOWN && strstr(op->last_error(l), "unknown") != NULL);
    CHECK(op->account_get(l, "alice", &a) == OFFPAY_LEDGER_OK && a.online == 7);

    offpay_ledger_close(l);
    PQfinish(db);
    printf("ok\n");
    return 0;
}

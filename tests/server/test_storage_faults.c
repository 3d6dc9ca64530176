/*
 * test_storage_faults.c - offpayd when its ledger's storage fails.
 *
 * SQLite: the server runs with $OFFPAYD_TEST_STORAGE_FAULTS naming a control
 * file (src/ledger/sqlite/fault_vfs.c), and the test writes "full", "eio" or
 * "fsync" into it while the server runs.  With the disk full or failing
 * writes, every write request (load, unload, pay-online, sync) answers 503
 * storage_failed with api.md's JSON and changes nothing; with fsync failing,
 * a commit's outcome is unknown and the answer is 503 outcome_unknown, never
 * "nothing changed".  When the fault goes the same requests succeed, every
 * record settled before is still there (also after a restart), and audit
 * passes.
 *
 * PostgreSQL (under pg_run): the database goes away (every offpayd session
 * killed, new connections refused), also in the middle of a transaction
 * (the server's transaction waits on a lock the test holds when its session
 * is killed): 503 storage_failed, then recovery once connections are allowed
 * again, and audit passes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "harness.h"

static struct h_wallet alice, bob;
static char control[700];
static uint64_t minted;

/* A signed request with a fresh nonce; returns the status, *code the error code (or ""). */
static long call(const struct h_wallet *w, const char *path, json_t *body, char *code, size_t cap)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_t *resp = NULL;
    CHECK(text != NULL);
    long st = h_raw(w, "POST", path, text, strlen(text), (long long)time(NULL), NULL, NULL, 0, 0, &resp);
    snprintf(code, cap, "%s", json_string_value(json_object_get(resp, "error")) ?: "");
    if (st >= 400)
        CHECK(json_is_string(json_object_get(resp, "message")));
    free(text);
    json_decref(resp);
    json_decref(body);
    return st;
}

static void fault(const char *word)
{
    FILE *f = fopen(control, "w");
    CHECK(f != NULL);
    fputs(word, f);
    CHECK(fclose(f) == 0);
}

/* A fresh record alice -> bob of 1 from one of alice's coins, as a sync body for alice. */
static json_t *sync_body(void)
{
    static const uint64_t one[] = {5};
    struct offpay_utxo u;
    struct offpay_record r;
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    char rec[8192], conf[4096];
    h_load(&alice, one, 1, &u);
    h_record(&r, rec, sizeof rec, id, &alice, &bob, 1, &u, 1);
    h_confirmation(conf, sizeof conf, &bob, id);
    return json_pack("{s:[{s:s,s:s}]}", "records", "record", rec, "confirmation", conf);
}

struct write_case {
    const char *path;
    json_t *(*body)(void);
};

static json_t *load_body(void) { return json_pack("{s:[I]}", "amounts", (json_int_t)50); }
static json_t *pay_body(void) { return json_pack("{s:s,s:I}", "to", "bob", "amount", (json_int_t)3); }
static json_t *unload_body(void)
{
    static const uint64_t one[] = {7};
    struct offpay_utxo u;
    char hex[2 * OFFPAY_UTXO_ID_BYTES + 1];
    h_load(&alice, one, 1, &u);
    offpay_hex(hex, u.id, OFFPAY_UTXO_ID_BYTES);
    return json_pack("{s:[s]}", "utxos", hex);
}

static const struct write_case cases[] = {
    {"/v1/load", load_body}, {"/v1/pay-online", pay_body}, {"/v1/unload", unload_body}, {"/v1/sync", sync_body}};

static long long ledger_rows(void)
{
    return h_sql_int("SELECT (SELECT count(*) FROM records) * 1000000 + (SELECT count(*) FROM utxos)");
}

static void sqlite_faults(void)
{
    char code[64];
    snprintf(control, sizeof control, "%s/faults", h_dir());
    fault("");
    setenv("OFFPAYD_TEST_STORAGE_FAULTS", control, 1);
    h_server_start(2);
    unsetenv("OFFPAYD_TEST_STORAGE_FAULTS");

    /* Records settled before any fault. */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(call(&alice, cases[i].path, cases[i].body(), code, sizeof code) == 200);
    long long settled = h_sql_int("SELECT count(*) FROM records");
    CHECK(settled == 1);

    static const char *const hard[] = {"full", "eio"};
    for (size_t f = 0; f < 2; f++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            json_t *body = cases[i].body(); /* its coin is loaded before the fault */
            long long before = ledger_rows();
            fault(hard[f]);
            long st = call(&alice, cases[i].path, body, code, sizeof code);
            fault("");
            if (st != 503 || strcmp(code, "storage_failed") != 0)
                CHECK_FAIL("%s with %s: %ld %s, want 503 storage_failed", cases[i].path, hard[f],
                        st, code);
            CHECK(ledger_rows() == before); /* nothing half-written */
            h_audit_ok();
            /* The fault is gone: the same request (a new nonce) goes through. */
            CHECK(call(&alice, cases[i].path, cases[i].body(), code, sizeof code) == 200);
            printf("ok %s with %s: 503 storage_failed, nothing changed; then 200\n", cases[i].path, hard[f]);
        }
    }

    /* fsync fails at COMMIT: the outcome is unknown, and said so. */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *body = cases[i].body();
        fault("fsync");
        long st = call(&alice, cases[i].path, body, code, sizeof code);
        fault("");
        if (st != 503 || strcmp(code, "outcome_unknown") != 0)
            CHECK_FAIL("%s with fsync: %ld %s, want 503 outcome_unknown", cases[i].path, st, code);
        h_audit_ok();
        CHECK(call(&alice, cases[i].path, cases[i].body(), code, sizeof code) == 200);
        printf("ok %s with fsync: 503 outcome_unknown; then 200\n", cases[i].path);
    }
    CHECK(h_sql_int("SELECT count(*) FROM records") >= settled + 2 + 1); /* after full, eio and fsync */
    h_audit_ok();

    /* A restart (WAL recovery) keeps every record and the books balanced. */
    long long records = h_sql_int("SELECT count(*) FROM records");
    h_server_stop();
    h_server_start(2);
    CHECK(h_sql_int("SELECT count(*) FROM records") >= records);
    CHECK(call(&alice, "/v1/load", load_body(), code, sizeof code) == 200);
    h_audit_ok();
    h_server_stop();
}

/* ---- PostgreSQL ---- */

static PGconn *admin; /* to template1: a database cannot refuse connections to itself from itself */
static char ledger_db[128];

static void pg_exec(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        CHECK_FAIL("%s: %s", sql, PQerrorMessage(admin));
    PQclear(r);
}

/* Refuse (0) or allow (1) new connections to the ledger's database; refusing also kills offpayd's sessions. */
static void pg_allow(int allow)
{
    char sql[300];
    char *name = PQescapeIdentifier(admin, ledger_db, strlen(ledger_db));
    CHECK(name != NULL);
    snprintf(sql, sizeof sql, "ALTER DATABASE %s ALLOW_CONNECTIONS %s", name, allow ? "true" : "false");
    PQfreemem(name);
    pg_exec(sql);
    if (!allow)
        pg_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'offpayd'");
}

struct async_call {
    pthread_t t;
    json_t *body;
    long status;
    char code[64];
};

static void *async_run(void *arg)
{
    struct async_call *a = arg;
    a->status = call(&alice, "/v1/load", a->body, a->code, sizeof a->code);
    return NULL;
}

static void pg_faults(void)
{
    char code[64];
    PGconn *ledger = PQconnectdb(h_ledger_url());
    CHECK(PQstatus(ledger) == CONNECTION_OK);
    snprintf(ledger_db, sizeof ledger_db, "%s", PQdb(ledger));
    PQfinish(ledger);
    const char *keys[] = {"dbname", "dbname", NULL}, *values[] = {h_ledger_url(), "template1", NULL};
    admin = PQconnectdbParams(keys, values, 1);
    CHECK(PQstatus(admin) == CONNECTION_OK);
    h_server_start(2);
    CHECK(call(&alice, "/v1/load", load_body(), code, sizeof code) == 200);

    /* Gone between requests. */
    pg_allow(0);
    long st = call(&alice, "/v1/load", load_body(), code, sizeof code);
    if (st != 503 || strcmp(code, "storage_failed") != 0)
        CHECK_FAIL("load with the database gone: %ld %s, want 503 storage_failed", st, code);
    /* The operator's view meanwhile: health says 503 with its reason, and
     * the metrics, which need no ledger, still answer. */
    json_t *hresp = NULL;
    st = h_raw(NULL, "GET", "/v1/health", NULL, 0, 0, NULL, NULL, 0, 0, &hresp);
    if (st != 503 || strcmp(json_string_value(json_object_get(hresp, "error")) ? json_string_value(json_object_get(hresp, "error")) : "", "ledger_unavailable") != 0)
        CHECK_FAIL("health with the database gone: %ld, want 503 ledger_unavailable", st);
    json_decref(hresp);
    hresp = NULL;
    st = h_raw(NULL, "GET", "/metrics", NULL, 0, 0, NULL, NULL, 0, 0, &hresp);
    if (st != 200)
        CHECK_FAIL("metrics with the database gone: %ld, want 200", st);
    json_decref(hresp);
    pg_allow(1);
    hresp = NULL;
    st = h_raw(NULL, "GET", "/v1/health", NULL, 0, 0, NULL, NULL, 0, 0, &hresp);
    if (st != 200)
        CHECK_FAIL("health with the database back: %ld, want 200", st);
    json_decref(hresp);
    CHECK(call(&alice, "/v1/load", load_body(), code, sizeof code) == 200);
    h_audit_ok();
    printf("ok PostgreSQL gone between requests: 503 storage_failed; then 200\n");

    /* Gone in the middle of the server's transaction. */
    PGconn *locker = PQconnectdb(h_ledger_url());
    CHECK(PQstatus(locker) == CONNECTION_OK);
    PQclear(PQexec(locker, "BEGIN"));
    PQclear(PQexec(locker, "LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE"));
    struct async_call a = {.body = load_body()};
    CHECK(pthread_create(&a.t, NULL, async_run, &a) == 0);
    int waiting = 0;
    for (int i = 0; i < 100 && !waiting; i++) {
        usleep(50000);
        waiting = h_sql_int("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'offpayd' "
                            "AND wait_event_type = 'Lock'") > 0;
    }
    CHECK(waiting);
    pg_allow(0);
    PQclear(PQexec(locker, "ROLLBACK"));
    PQfinish(locker);
    pthread_join(a.t, NULL);
    if (a.status != 503 || strcmp(a.code, "storage_failed") != 0)
        CHECK_FAIL("load when the database went away mid-transaction: %ld %s", a.status, a.code);
    pg_allow(1);
    CHECK(call(&alice, "/v1/load", load_body(), code, sizeof code) == 200);
    h_audit_ok();
    printf("ok PostgreSQL gone mid-transaction: 503 storage_failed; then 200\n");
    h_server_stop();
    PQfinish(admin);
}

int main(void)
{
    int pg = getenv("OFFPAY_TEST_LEDGER_URL") != NULL && *getenv("OFFPAY_TEST_LEDGER_URL") != '\0';
    h_setup("faults");
    if (pg)
        h_server_start(2); /* enrolment goes over HTTP */
    else {
        snprintf(control, sizeof control, "%s/faults", h_dir());
        h_server_start(2);
    }
    h_wallet_enrol(&alice, "alice");
    h_wallet_enrol(&bob, "bob");
    minted = 1000000;
    h_mint("alice", minted);
    h_server_stop();
    if (pg)
        pg_faults();
    else
        sqlite_faults();
    printf("ok\n");
    return 0;
}

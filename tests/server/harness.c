/*
 * harness.c - see harness.h.  Children are run with fork/exec; every wait is
 * bounded; the server children are killed by the clean-up a failed check
 * runs (check.h) and at exit, so a failing test never leaves a server behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "harness.h"
#include "offpay/api.h"

#ifndef OFFPAYD_PATH
#error "OFFPAYD_PATH must name the offpayd binary"
#endif

static char dir[512], ledger_url[700], ledger_path[600], test_name[64];
/* The databases SQL runs on: the ledger's one, or each shard's (SQLite
 * files in dir with OFFPAY_TEST_SHARDS, or those a shards file names). */
static char shard_url[H_SHARDS_MAX][700];
static int n_shard_urls;

/* The offpayd serve processes of this test, all on its one ledger.  Server 0
 * is the one h_call and h_raw talk to. */
static struct {
    pid_t pid;
    char url[96]; /* "http://127.0.0.1:PORT" once started */
} servers[H_SERVERS_MAX] = {[0 ... H_SERVERS_MAX - 1] = {-1, ""}};

static void kill_one(int i, int sig)
{
    pid_t pid = servers[i].pid;
    if (pid > 0) {
        kill(pid, sig);
        for (int k = 0; k < 200; k++) {
            if (waitpid(pid, NULL, WNOHANG) == pid)
                break;
            usleep(10000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, WNOHANG);
        servers[i].pid = -1;
    }
}

static void kill_server(int sig)
{
    for (int i = 0; i < H_SERVERS_MAX; i++)
        kill_one(i, sig);
}

/* The log file of server i: server.log, server2.log, ... */
static void log_path(char *out, size_t cap, int i)
{
    if (i == 0)
        snprintf(out, cap, "%s/server.log", dir);
    else
        snprintf(out, cap, "%s/server%d.log", dir, i + 1);
}

static void kill_all(void) { kill_server(SIGKILL); }

/* A check failed (check.h): show what the servers logged, then stop them;
 * the kit keeps the test's folder. */
static void on_failure(void)
{
    fprintf(stderr, "(in test %s)\n", test_name);
    for (int i = 0; dir[0] != '\0' && i < H_SERVERS_MAX; i++) {
        char log[600], buf[4096];
        log_path(log, sizeof log, i);
        FILE *f = fopen(log, "r");
        if (f != NULL) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            buf[n] = '\0';
            fprintf(stderr, "--- %s ---\n%s\n", strrchr(log, '/') + 1, buf);
            fclose(f);
        }
    }
    kill_all();
}

const char *h_dir(void) { return dir; }
const char *h_ledger_url(void) { return ledger_url; }
const char *h_ledger_path(void) { return ledger_path; }
const char *h_base_url(void) { return servers[0].url; }
const char *h_server_url(int i) { return servers[i].url; }

/* ---- running offpayd ---- */

static char out_buf[1 << 20], err_buf[1 << 16];

static int run_argv(char *const argv[], const char **out, const char **err)
{
    int po[2], pe[2], status = 0;
    size_t on = 0, en = 0;
    if (pipe(po) != 0 || pipe(pe) != 0)
        CHECK_FAIL("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        CHECK_FAIL("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
        execv(OFFPAYD_PATH, argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    int open_fds = 2;
    time_t deadline = time(NULL) + 60;
    while (open_fds > 0) {
        if (time(NULL) > deadline) {
            kill(pid, SIGKILL);
            CHECK_FAIL("offpayd %s did not finish within 60 s", argv[1]);
        }
        if (poll(fds, 2, 1000) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char *b = i == 0 ? out_buf : err_buf;
            size_t cap = i == 0 ? sizeof out_buf : sizeof err_buf, *n = i == 0 ? &on : &en;
            ssize_t r = read(fds[i].fd, b + *n, cap - 1 - *n);
            if (r <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else {
                *n += (size_t)r;
            }
        }
    }
    out_buf[on] = '\0';
    err_buf[en] = '\0';
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (out)
        *out = out_buf;
    if (err)
        *err = err_buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int h_offpayd(const char **out, const char **err, ...)
{
    char *argv[32];
    int n = 0;
    va_list ap;
    argv[n++] = (char *)"offpayd";
    va_start(ap, err);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 31)
        argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    return run_argv(argv, out, err);
}

void h_setup(const char *name)
{
    snprintf(test_name, sizeof test_name, "%s", name);
    snprintf(dir, sizeof dir, "%s", check_temp_dir(name));
    /* After check_temp_dir: the servers are killed before their folder goes. */
    atexit(kill_all);
    check_on_failure(on_failure);
    signal(SIGPIPE, SIG_IGN);
    if (offpay_crypto_init() != 0)
        CHECK_FAIL("crypto init");
    snprintf(ledger_path, sizeof ledger_path, "%s/ledger.db", dir);
    snprintf(ledger_url, sizeof ledger_url, "sqlite:%s", ledger_path);
    /* Under tests/server/pg_run the ledger is its private PostgreSQL
     * database (or a shards file naming one on each of its clusters), and
     * the issuer key file is named by the environment. */
    const char *pg = getenv("OFFPAY_TEST_LEDGER_URL");
    if (pg != NULL && *pg != '\0') {
        char key[600];
        snprintf(ledger_url, sizeof ledger_url, "%s", pg);
        snprintf(key, sizeof key, "%s/issuer.key", dir);
        setenv("OFFPAYD_ISSUER_KEY", key, 1);
    }
    /* OFFPAY_TEST_SHARDS=N: a ledger of N SQLite shards (docs/scale.md),
     * so that the same tests run on the sharded code paths cheaply. */
    const char *shards = getenv("OFFPAY_TEST_SHARDS");
    if ((pg == NULL || *pg == '\0') && shards != NULL && atoi(shards) > 1) {
        char file[600], key[600];
        snprintf(file, sizeof file, "%s/shards", dir);
        FILE *f = fopen(file, "w");
        if (f == NULL)
            CHECK_FAIL("cannot write %s", file);
        for (int i = 0; i < atoi(shards); i++)
            fprintf(f, "shard %d sqlite:%s/shard-%d.db\n", i, dir, i);
        fclose(f);
        snprintf(ledger_url, sizeof ledger_url, "shards:%s", file);
        snprintf(key, sizeof key, "%s/issuer.key", dir);
        setenv("OFFPAYD_ISSUER_KEY", key, 1);
    }
    if (strncmp(ledger_url, "shards:", 7) == 0) {
        char line[900], url[700];
        int i;
        FILE *f = fopen(ledger_url + 7, "r");
        if (f == NULL)
            CHECK_FAIL("cannot read %s", ledger_url + 7);
        while (fgets(line, sizeof line, f) != NULL)
            if (sscanf(line, "shard %d %699s", &i, url) == 2 && i == n_shard_urls && i < H_SHARDS_MAX)
                snprintf(shard_url[n_shard_urls++], sizeof shard_url[0], "%s", url);
        fclose(f);
        if (n_shard_urls == 0)
            CHECK_FAIL("%s names no shard", ledger_url + 7);
    } else {
        snprintf(shard_url[0], sizeof shard_url[0], "%s", ledger_url);
        n_shard_urls = 1;
    }
    const char *out, *err;
    /* In euros (issue 16): every server test then reads limits documents in
     * the money form, from SQLite, PostgreSQL and shards alike; the
     * wallet's tests keep the default CNY/2. */
    int rc = h_offpayd(&out, &err, "init", "--ledger", ledger_url, "--currency", "EUR", "--exponent", "2", NULL);
    if (rc != 0)
        CHECK_FAIL("offpayd init exited %d: %s", rc, err);
}

/* ---- the server ---- */

static unsigned name_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

void h_server_start(int threads) { h_server_start_n(0, threads); }
void h_server_stop(void) { h_server_stop_n(0); }

void h_server_start_n(int i, int threads)
{
    char listen_at[64], th[16], log[600];
    unsigned first = name_hash(test_name) + (unsigned)getpid() * 7u + (unsigned)i * 500u;
    if (i < 0 || i >= H_SERVERS_MAX || servers[i].pid > 0)
        CHECK_FAIL("server %d cannot be started (0..%d, not running)", i, H_SERVERS_MAX - 1);
    snprintf(th, sizeof th, "%d", threads);
    log_path(log, sizeof log, i);
    for (unsigned attempt = 0; attempt < 40; attempt++) {
        unsigned port = 18000 + (first + attempt * 37u) % 1000;
        int po[2];
        snprintf(listen_at, sizeof listen_at, "127.0.0.1:%u", port);
        if (pipe(po) != 0)
            CHECK_FAIL("pipe");
        pid_t pid = fork();
        if (pid < 0)
            CHECK_FAIL("fork: %s", strerror(errno));
        if (pid == 0) {
            int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(po[1], 1);
            if (fd >= 0)
                dup2(fd, 2);
            close(po[0]);
            close(po[1]);
            execl(OFFPAYD_PATH, "offpayd", "serve", "--ledger", ledger_url, "--listen", listen_at, "--threads", th,
                  (char *)NULL);
            _exit(127);
        }
        close(po[1]);
        servers[i].pid = pid;
        char line[256];
        size_t n = 0;
        int ready = 0;
        time_t deadline = time(NULL) + 20;
        while (time(NULL) <= deadline && n < sizeof line - 1) {
            struct pollfd p = {po[0], POLLIN, 0};
            if (poll(&p, 1, 200) > 0) {
                ssize_t r = read(po[0], line + n, sizeof line - 1 - n);
                if (r <= 0)
                    break;
                n += (size_t)r;
                line[n] = '\0';
                if (strchr(line, '\n') != NULL) {
                    ready = strncmp(line, "listening on ", 13) == 0;
                    break;
                }
            }
        }
        close(po[0]);
        if (ready) {
            snprintf(servers[i].url, sizeof servers[i].url, "http://%s", listen_at);
            return;
        }
        kill_one(i, SIGKILL);
        FILE *f = fopen(log, "r");
        char buf[1024] = "";
        if (f != NULL) {
            size_t k = fread(buf, 1, sizeof buf - 1, f);
            buf[k] = '\0';
            fclose(f);
        }
        if (strstr(buf, "in use") == NULL)
            CHECK_FAIL("offpayd serve (server %d) did not start: %s", i, buf);
    }
    CHECK_FAIL("no free port found in 18000-18999 for server %d", i);
}

void h_server_stop_n(int i)
{
    int status = 0;
    pid_t pid = i >= 0 && i < H_SERVERS_MAX ? servers[i].pid : -1;
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int k = 0; k < 1000; k++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            servers[i].pid = -1;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                CHECK_FAIL("offpayd serve (server %d) ended badly (status %d)", i, status);
            return;
        }
        usleep(10000);
    }
    CHECK_FAIL("offpayd serve (server %d) did not stop within 10 s of SIGTERM", i);
}

/* ---- wallets and calls ---- */

long h_call(const struct h_wallet *w, const char *method, const char *path, json_t *body, json_t **resp)
{
    long status = 0;
    json_t *r = NULL;
    enum offpay_status s = offpay_client_call(servers[0].url, method, path, body, w ? &w->auth : NULL, &status, &r);
    json_decref(body);
    if (s != OFFPAY_OK)
        CHECK_FAIL("%s %s: %s", method, path, offpay_status_str(s));
    if (resp)
        *resp = r;
    else
        json_decref(r);
    return status;
}

static void decode_text(void *msg, int type, const char *text)
{
    uint8_t bin[OFFPAY_MESSAGE_BYTES_MAX];
    size_t n;
    int t;
    if (text == NULL || offpay_text_decode(bin, sizeof bin, &n, &t, type, text, strlen(text)) != OFFPAY_OK)
        CHECK_FAIL("not a text message of type %d: %s", type, text ? text : "(null)");
    enum offpay_status s = type == OFFPAY_MSG_CERT ? offpay_cert_decode(msg, bin, n) : offpay_utxo_decode(msg, bin, n);
    if (s != OFFPAY_OK)
        CHECK_FAIL("undecodable message: %s", offpay_status_str(s));
}

void h_utxo_decode(struct offpay_utxo *u, const char *text) { decode_text(u, OFFPAY_MSG_UTXO, text); }

void h_wallet_enrol(struct h_wallet *w, const char *account)
{
    const char *out, *err;
    char token[128], pkhex[65];
    json_t *resp;
    memset(w, 0, sizeof *w);
    snprintf(w->account, sizeof w->account, "%s", account);
    int rc = h_offpayd(&out, &err, "account", "--ledger", ledger_url, "open", account, NULL);
    if (rc != 0)
        CHECK_FAIL("account open %s: %s", account, err);
    snprintf(token, sizeof token, "%s", out);
    token[strcspn(token, "\n")] = '\0';
    offpay_keypair(w->pk, w->sk);
    offpay_hex(pkhex, w->pk, sizeof w->pk);
    long st = h_call(NULL, "POST", "/v1/enrol", json_pack("{s:s,s:s}", "token", token, "public_key", pkhex), &resp);
    if (st != 200)
        CHECK_FAIL("enrol answered %ld", st);
    decode_text(&w->cert, OFFPAY_MSG_CERT, json_string_value(json_object_get(resp, "certificate")));
    CHECK(offpay_unhex(w->issuer_pk, sizeof w->issuer_pk, json_string_value(json_object_get(resp, "issuer_public_key"))) == 0);
    CHECK(offpay_cert_verify(&w->cert, w->issuer_pk, NULL, (uint64_t)time(NULL)) == OFFPAY_OK);
    CHECK(memcmp(w->cert.public_key, w->pk, sizeof w->pk) == 0);
    CHECK_STR(json_string_value(json_object_get(resp, "account")), account);
    memcpy(w->auth.wallet_id, w->cert.wallet_id, sizeof w->auth.wallet_id);
    w->auth.secret_key = w->sk;
    json_decref(resp);
}

void h_mint(const char *account, uint64_t amount)
{
    char a[32];
    const char *out, *err;
    snprintf(a, sizeof a, "%llu", (unsigned long long)amount);
    int rc = h_offpayd(&out, &err, "account", "--ledger", ledger_url, "mint", account, a, NULL);
    if (rc != 0)
        CHECK_FAIL("mint: %s", err);
}

uint64_t h_online(const struct h_wallet *w)
{
    json_t *resp;
    long st = h_call(w, "GET", "/v1/balance", NULL, &resp);
    if (st != 200)
        CHECK_FAIL("balance answered %ld", st);
    json_t *v = json_object_get(resp, "online");
    CHECK(json_is_integer(v));
    uint64_t n = (uint64_t)json_integer_value(v);
    json_decref(resp);
    return n;
}

void h_load(const struct h_wallet *w, const uint64_t *amounts, size_t n, struct offpay_utxo *out)
{
    json_t *arr = json_array(), *resp;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_integer((json_int_t)amounts[i]));
    long st = h_call(w, "POST", "/v1/load", json_pack("{s:o}", "amounts", arr), &resp);
    if (st != 200)
        CHECK_FAIL("load answered %ld", st);
    json_t *u = json_object_get(resp, "utxos");
    CHECK(json_array_size(u) == n);
    for (size_t i = 0; i < n; i++) {
        h_utxo_decode(&out[i], json_string_value(json_array_get(u, i)));
        CHECK(offpay_utxo_verify(&out[i], w->issuer_pk) == OFFPAY_OK);
        CHECK(memcmp(out[i].owner, w->pk, sizeof w->pk) == 0);
        CHECK_U64(out[i].amount, amounts[i]);
    }
    json_decref(resp);
}

void h_record(struct offpay_record *r, char *text, size_t text_cap, uint8_t id[OFFPAY_RECORD_ID_BYTES],
              const struct h_wallet *payer, const struct h_wallet *payee, uint64_t amount,
              const struct offpay_utxo *inputs, size_t n_inputs)
{
    static uint64_t seq;
    struct offpay_request req;
    uint8_t nonce[OFFPAY_NONCE_BYTES], bin[OFFPAY_RECORD_BYTES_MAX];
    offpay_random(nonce, sizeof nonce);
    CHECK(offpay_request_build(&req, &payee->cert, payee->sk, amount, nonce) == OFFPAY_OK);
    CHECK(offpay_record_build(r, &payer->cert, payer->sk, &req, inputs, n_inputs, (uint64_t)time(NULL), ++seq) ==
          OFFPAY_OK);
    offpay_record_id(id, r);
    size_t n = offpay_record_encode(bin, sizeof bin, r);
    CHECK(n > 0);
    CHECK(offpay_text_encode(text, text_cap, bin, n) == OFFPAY_OK);
}

void h_confirmation(char *text, size_t cap, const struct h_wallet *payee, const uint8_t id[OFFPAY_RECORD_ID_BYTES])
{
    struct offpay_confirmation c;
    uint8_t bin[OFFPAY_CONFIRMATION_BYTES_MAX];
    CHECK(offpay_confirmation_build(&c, id, &payee->cert, payee->sk) == OFFPAY_OK);
    size_t n = offpay_confirmation_encode(bin, sizeof bin, &c);
    CHECK(n > 0);
    CHECK(offpay_text_encode(text, cap, bin, n) == OFFPAY_OK);
}

/* ---- SQL ---- */

int h_shards(void) { return n_shard_urls; }

static int is_pg(int shard) { return strncmp(shard_url[shard], "postgresql:", 11) == 0; }

static sqlite3 *sql_open_at(int shard)
{
    sqlite3 *db;
    const char *path = shard_url[shard] + 7; /* "sqlite:" */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        CHECK_FAIL("cannot open %s", path);
    sqlite3_busy_timeout(db, 10000);
    return db;
}

/* Run sql on the PostgreSQL database of shard; returns the result (caller clears). */
static PGresult *pg_sql(int shard, const char *sql, ExecStatusType want)
{
    PGconn *c = PQconnectdb(shard_url[shard]);
    if (PQstatus(c) != CONNECTION_OK)
        CHECK_FAIL("cannot connect to the ledger: %s", PQerrorMessage(c));
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != want)
        CHECK_FAIL("sql %s: %s", sql, PQresultErrorMessage(res));
    PQfinish(c);
    return res;
}

/* The one value sql answers on shard, added to *v; returns the rows (0 or 1). */
static int sql_int_at(int shard, const char *sql, long long *v)
{
    if (is_pg(shard)) {
        PGresult *res = pg_sql(shard, sql, PGRES_TUPLES_OK);
        char *end;
        int rows = PQntuples(res);
        if (rows > 1 || PQnfields(res) != 1)
            CHECK_FAIL("sql %s: not one value", sql);
        if (rows == 1 && !PQgetisnull(res, 0, 0)) { /* NULL (a sum of nothing): 0, as SQLite reads it */
            *v += strtoll(PQgetvalue(res, 0, 0), &end, 10);
            if (*end != '\0')
                CHECK_FAIL("sql %s: not an integer: %s", sql, PQgetvalue(res, 0, 0));
        }
        PQclear(res);
        return rows;
    }
    sqlite3 *db = sql_open_at(shard);
    sqlite3_stmt *st;
    int rows = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        CHECK_FAIL("sql %s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW) {
        *v += sqlite3_column_int64(st, 0);
        rows++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rows;
}

void h_sql_bytes(char *out, size_t cap, const uint8_t *b, size_t n)
{
    char hex[2 * 64 + 1];
    CHECK(n <= 64);
    offpay_hex(hex, b, n);
    snprintf(out, cap, is_pg(0) ? "'\\x%s'::bytea" : "x'%s'", hex);
}

long long h_sql_int(const char *sql)
{
    long long v = 0;
    int rows = 0;
    for (int k = 0; k < n_shard_urls; k++)
        rows += sql_int_at(k, sql, &v);
    if (rows == 0)
        CHECK_FAIL("sql %s: no row", sql);
    return v;
}

long long h_sql_int_at(int shard, const char *sql)
{
    long long v = 0;
    CHECK(shard >= 0 && shard < n_shard_urls);
    if (sql_int_at(shard, sql, &v) == 0)
        CHECK_FAIL("sql %s on shard %d: no row", sql, shard);
    return v;
}

void h_sql_exec(const char *sql)
{
    for (int k = 0; k < n_shard_urls; k++) {
        if (is_pg(k)) {
            PQclear(pg_sql(k, sql, PGRES_COMMAND_OK));
            continue;
        }
        sqlite3 *db = sql_open_at(k);
        char *msg = NULL;
        if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
            CHECK_FAIL("sql %s: %s", sql, msg ? msg : "?");
        sqlite3_close(db);
    }
}

int h_shard_of(const char *account)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM accounts WHERE name = '%s'", account);
    for (int k = 0; k < n_shard_urls; k++)
        if (h_sql_int_at(k, sql) > 0)
            return k;
    CHECK_FAIL("account %s is on no shard", account);
}

/* pg_run's control channel (tests/server/pg_run.c). */
static void pg_control(const char *verb, int shard)
{
    int w, r;
    char line[32], ans[16] = "";
    const char *fds = getenv("OFFPAY_TEST_PG_CONTROL");
    if (fds == NULL || sscanf(fds, "%d,%d", &w, &r) != 2)
        CHECK_FAIL("not run under pg_run: cannot %s a cluster", verb);
    int n = snprintf(line, sizeof line, "%s %d\n", verb, shard);
    if (write(w, line, (size_t)n) != n)
        CHECK_FAIL("pg_run control: %s", strerror(errno));
    struct pollfd p = {r, POLLIN, 0};
    if (poll(&p, 1, 90000) <= 0 || read(r, ans, sizeof ans - 1) <= 0 || strcmp(ans, "ok\n") != 0)
        CHECK_FAIL("pg_run could not %s cluster %d", verb, shard);
}

void h_shard_stop(int shard) { pg_control("stop", shard); }
void h_shard_start(int shard) { pg_control("start", shard); }

void h_audit_ok(void)
{
    const char *out, *err;
    int rc = h_offpayd(&out, &err, "audit", "--ledger", ledger_url, NULL);
    if (rc != 0)
        CHECK_FAIL("audit exited %d: %s%s", rc, out, err);
}

/* ---- raw requests ---- */

#include <curl/curl.h>

struct sink {
    char *p;
    size_t n;
};

static size_t sink_write(char *d, size_t s, size_t m, void *u)
{
    struct sink *k = u;
    size_t add = s * m;
    char *q = realloc(k->p, k->n + add + 1);
    if (q == NULL)
        return 0;
    memcpy(q + k->n, d, add);
    k->p = q;
    k->n += add;
    k->p[k->n] = '\0';
    return add;
}

struct source {
    const char *p;
    size_t n, off;
};

static size_t source_read(char *d, size_t s, size_t m, void *u)
{
    struct source *src = u;
    size_t want = s * m, left = src->n - src->off;
    if (want > left)
        want = left;
    memcpy(d, src->p + src->off, want);
    src->off += want;
    return want;
}

long h_raw(const struct h_wallet *w, const char *method, const char *path, const char *body, size_t body_len,
           long long ts, const char *nonce_hex, char *nonce_out, int flip_sig, int chunked, json_t **resp)
{
    char url[256], line[300], tsbuf[32], nonce[33], wid[33], sighex[129];
    struct curl_slist *h = NULL;
    struct sink k = {NULL, 0};
    struct source src = {body, body_len, 0};
    long status = 0;
    CURL *c = curl_easy_init();
    CHECK(c != NULL);
    snprintf(url, sizeof url, "%s%s", servers[0].url, path);
    h = curl_slist_append(h, "Content-Type: application/json");
    /* A body over the server's limit goes with "Expect: 100-continue", as
     * careful clients send large bodies: the server's early 413 then comes
     * before any of the body.  Sent blind, the body races the 413 and the
     * connection's close, and the client may see a reset instead (status 0). */
    if (body_len <= OFFPAY_API_BODY_MAX)
        h = curl_slist_append(h, "Expect:");
    if (chunked)
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
    if (w != NULL) {
        uint8_t n[16], sig[64];
        if (nonce_hex != NULL) {
            snprintf(nonce, sizeof nonce, "%s", nonce_hex);
        } else {
            offpay_random(n, sizeof n);
            offpay_hex(nonce, n, sizeof n);
        }
        if (nonce_out)
            memcpy(nonce_out, nonce, 33);
        snprintf(tsbuf, sizeof tsbuf, "%lld", ts);
        offpay_http_auth_sign(sig, w->sk, method, path, (const uint8_t *)body, body_len, tsbuf, nonce);
        if (flip_sig)
            sig[5] ^= 1;
        offpay_hex(sighex, sig, sizeof sig);
        offpay_hex(wid, w->auth.wallet_id, 16);
        snprintf(line, sizeof line, "X-Offpay-Wallet: %s", wid);
        h = curl_slist_append(h, line);
        snprintf(line, sizeof line, "X-Offpay-Timestamp: %s", tsbuf);
        h = curl_slist_append(h, line);
        snprintf(line, sizeof line, "X-Offpay-Nonce: %s", nonce);
        h = curl_slist_append(h, line);
        snprintf(line, sizeof line, "X-Offpay-Signature: %s", sighex);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
    if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (chunked) {
            curl_easy_setopt(c, CURLOPT_READFUNCTION, source_read);
            curl_easy_setopt(c, CURLOPT_READDATA, &src);
        } else {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        }
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK || k.n > 0)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (resp) {
        json_error_t e;
        *resp = k.p ? json_loads(k.p, 0, &e) : NULL;
    }
    free(k.p);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

void h_server_kill(void) { kill_server(SIGKILL); }

struct race_arm {
    void (*fn)(void *);
    void *arg;
    pthread_barrier_t *go;
};

static void *race_arm_run(void *p)
{
    struct race_arm *r = p;
    pthread_barrier_wait(r->go);
    r->fn(r->arg);
    return NULL;
}

void h_race_two(void (*fn)(void *), void *a, void *b)
{
    pthread_barrier_t go;
    pthread_t t1, t2;
    struct race_arm arm_a = {fn, a, &go}, arm_b = {fn, b, &go};
    CHECK(pthread_barrier_init(&go, NULL, 2) == 0);
    CHECK(pthread_create(&t1, NULL, race_arm_run, &arm_a) == 0);
    CHECK(pthread_create(&t2, NULL, race_arm_run, &arm_b) == 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_barrier_destroy(&go);
}

/*
 * bench_sync.c - offpay-bench-sync: how many payment records per second
 * offpayd settles over real HTTP into its SQLite ledger (or the empty ledger
 * named by --ledger-url, e.g. a PostgreSQL database), next to how many
 * Ed25519 signatures this machine verifies per second on both cores.
 *
 * Each record carries two signatures (the payer's on the record, the
 * payee's on the confirmation; certificates are verified once and cached),
 * and the bound stays what it was when the server verified both:
 * verifications/s on 2 cores / 2.  The server now verifies the record's
 * only (docs/server.md, "Where the confirmation is checked"), so a ratio
 * above 1 is possible.
 * Configurations: batches of 1 and 1000 records, servers with 1 and 2 worker
 * threads, with one client connection more than server threads (so that a
 * batch is waiting to be verified while another one's commit goes to disk,
 * as on a server many wallets sync with); and "many wallets": 64 clients
 * (--many), each its own payer wallet syncing one record per request, as
 * phones do, which offpayd's group commit settles in shared commits.
 * Records are
 * built and serialised before the clock starts; the clock covers the HTTP
 * requests, the server's work (decode, verify, one transaction per batch,
 * attest the payer's change) and reading the answers.  Every answer is
 * checked: all records settled.  The last line is
 *   records_per_second=N bound=M ratio=N/M
 * for the best configuration, after one line
 *   name=many_wallets clients=N server_threads=2 records_per_second=N
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "offpay/client.h"
#include "offpay/protocol.h"
#include "offpay/text.h"

#define MAX_CLIENTS 3
#define MANY_MAX 256 /* clients of the "many wallets" configuration */
#define COIN 100
#define PAY 60

static char dir[512], ledger[700], base[300];
/* --issuer-pkcs11 MODULE TOKEN PIN_FILE: the issuer key in a token, given
 * to offpayd init and serve (NULL-ended; empty: a key file). */
static char *issuer_args[7];
static pid_t server = -1;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* CPU seconds (user + system) the last server used, from wait4. */
static double server_cpu;

static void stop_server(void)
{
    struct rusage ru;
    server_cpu = 0;
    if (server > 0) {
        kill(server, SIGTERM);
        int done = 0;
        for (int i = 0; i < 1000 && !done; i++) {
            memset(&ru, 0, sizeof ru);
            done = wait4(server, NULL, WNOHANG, &ru) == server;
            if (!done)
                usleep(10000);
        }
        if (done)
            server_cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                         (double)ru.ru_stime.tv_usec / 1e6;
        kill(server, SIGKILL);
        waitpid(server, NULL, WNOHANG);
        server = -1;
    }
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void cleanup(void)
{
    stop_server();
    if (dir[0])
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *fmt, ...)
{
    va_list ap;
    fputs("offpay-bench-sync: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run offpayd with args; stdout into out (cap bytes).  Exit code returned. */
static int offpayd(char *out, size_t cap, char *const args[])
{
    int p[2], status;
    size_t n = 0;
    if (pipe(p) != 0)
        die("pipe failed");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(OFFPAYD_PATH, args);
        _exit(127);
    }
    close(p[1]);
    for (;;) {
        ssize_t r = read(p[0], out + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    out[n] = '\0';
    close(p[0]);
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Start offpayd serve on url with threads workers; out: its pid and base URL. */
static pid_t start_server_on(const char *url, int threads, char *base_out, size_t base_cap)
{
    char th[8];
    int p[2];
    snprintf(th, sizeof th, "%d", threads);
    if (pipe(p) != 0)
        die("pipe failed");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        char *args[16] = {"offpayd", "serve", "--ledger", (char *)url, "--listen", "127.0.0.1:0", "--threads", th};
        for (int i = 0; issuer_args[i] != NULL; i++)
            args[8 + i] = issuer_args[i];
        execv(OFFPAYD_PATH, args);
        _exit(127);
    }
    close(p[1]);
    char line[256];
    size_t n = 0;
    double deadline = now_s() + 20;
    while (now_s() < deadline && n < sizeof line - 1) {
        struct pollfd pf = {p[0], POLLIN, 0};
        if (poll(&pf, 1, 200) <= 0)
            continue;
        ssize_t r = read(p[0], line + n, sizeof line - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        line[n] = '\0';
        if (strchr(line, '\n'))
            break;
    }
    close(p[0]);
    line[n] = '\0';
    if (strncmp(line, "listening on ", 13) != 0)
        die("offpayd serve did not start");
    line[strcspn(line, "\n")] = '\0';
    snprintf(base_out, base_cap, "http://%s", line + 13);
    return pid;
}

static void start_server(int threads) { server = start_server_on(ledger, threads, base, sizeof base); }

/* ---- wallets ---- */

struct wallet {
    uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], sk[OFFPAY_SECRET_KEY_BYTES];
    struct offpay_cert cert;
    struct offpay_client_auth auth;
};

static void enrol(struct wallet *w, const char *account)
{
    char tok[256], pkhex[65];
    char *open_args[] = {"offpayd", "account", "--ledger", ledger, "open", (char *)account, NULL};
    if (offpayd(tok, sizeof tok, open_args) != 0)
        die("account open failed");
    tok[strcspn(tok, "\n")] = '\0';
    memset(w, 0, sizeof *w);
    offpay_keypair(w->pk, w->sk);
    offpay_hex(pkhex, w->pk, sizeof w->pk);
    json_t *body = json_pack("{s:s,s:s}", "token", tok, "public_key", pkhex), *resp = NULL;
    long st;
    if (offpay_client_call(base, "POST", "/v1/enrol", body, NULL, &st, &resp) != OFFPAY_OK || st != 200)
        die("enrol failed");
    json_decref(body);
    const char *ct = json_string_value(json_object_get(resp, "certificate"));
    uint8_t bin[OFFPAY_CERT_BYTES_MAX];
    size_t n;
    int t;
    if (ct == NULL || offpay_text_decode(bin, sizeof bin, &n, &t, OFFPAY_MSG_CERT, ct, strlen(ct)) != OFFPAY_OK ||
        offpay_cert_decode(&w->cert, bin, n) != OFFPAY_OK)
        die("bad certificate");
    json_decref(resp);
    memcpy(w->auth.wallet_id, w->cert.wallet_id, sizeof w->auth.wallet_id);
    w->auth.secret_key = w->sk;
}

static void mint(const char *account, uint64_t amount)
{
    char out[256], a[32];
    snprintf(a, sizeof a, "%llu", (unsigned long long)amount);
    char *args[] = {"offpayd", "account", "--ledger", ledger, "mint", (char *)account, a, NULL};
    if (offpayd(out, sizeof out, args) != 0)
        die("mint failed");
}

/* Load n coins of COIN each into w. */
static struct offpay_utxo *load(const struct wallet *w, size_t n)
{
    struct offpay_utxo *coins = calloc(n, sizeof *coins);
    size_t got = 0;
    if (coins == NULL)
        die("out of memory");
    while (got < n) {
        size_t k = n - got > 64 ? 64 : n - got;
        json_t *arr = json_array(), *resp = NULL;
        for (size_t i = 0; i < k; i++)
            json_array_append_new(arr, json_integer(COIN));
        json_t *body = json_pack("{s:o}", "amounts", arr);
        long st;
        if (offpay_client_call(base, "POST", "/v1/load", body, &w->auth, &st, &resp) != OFFPAY_OK || st != 200)
            die("load failed (%ld)", st);
        json_decref(body);
        json_t *u = json_object_get(resp, "utxos");
        for (size_t i = 0; i < k; i++) {
            const char *t = json_string_value(json_array_get(u, i));
            uint8_t bin[OFFPAY_UTXO_BYTES];
            size_t bn;
            int ty;
            if (t == NULL || offpay_text_decode(bin, sizeof bin, &bn, &ty, OFFPAY_MSG_UTXO, t, strlen(t)) != OFFPAY_OK ||
                offpay_utxo_decode(&coins[got + i], bin, bn) != OFFPAY_OK)
                die("bad coin");
        }
        json_decref(resp);
        got += k;
    }
    return coins;
}

/* ---- the timed part ---- */

struct client {
    const char *base; /* the server it talks to */
    const struct wallet *payer;
    char **bodies; /* one per batch */
    size_t n_bodies, per_batch, records;
    size_t settled; /* records settled by the timed calls */
    size_t warm;    /* the first warm bodies go before the start, untimed */
    int failed;
    pthread_barrier_t *start;
};

static void *client_run(void *arg)
{
    struct client *c = arg;
    size_t b;
    for (b = 0; b < c->n_bodies; b++) {
        long st = 0;
        char *text = NULL;
        size_t len = 0;
        if (b == c->warm)
            pthread_barrier_wait(c->start);
        enum offpay_status s = offpay_client_call_text(c->base, "POST", "/v1/sync", c->bodies[b], strlen(c->bodies[b]),
                                                       &c->payer->auth, 300, &st, &text, &len);
        if (s != OFFPAY_OK || st != 200) {
            free(text);
            break;
        }
        /* The answer is checked by counting, not parsed (a tree of a megabyte
         * answer would cost the clients, which share the cores with the
         * server, more than the scan): one "status" per record, each
         * "settled", and as many change coins. */
        size_t statuses = 0, settled = 0, coins = 0;
        for (const char *p = text; (p = strstr(p, "\"status\":\"")) != NULL; p += 10) {
            statuses++;
            settled += strncmp(p + 10, "settled\"", 8) == 0;
        }
        const char *u = strstr(text, "\"utxos\":[");
        for (const char *p = u; p != NULL && (p = strstr(p, "\"OP1UTX:")) != NULL; p += 8)
            coins++;
        size_t want = c->records - b * c->per_batch < c->per_batch ? c->records - b * c->per_batch : c->per_batch;
        int head = strncmp(text, "{\"results\":[", 12) == 0;
        free(text);
        if (!head || statuses != want || settled != want || coins != want)
            break;
        if (b >= c->warm)
            c->settled += settled;
    }
    c->failed = b < c->n_bodies;
    if (b < c->warm || c->warm >= c->n_bodies)
        pthread_barrier_wait(c->start); /* the start was not reached: the others still wait for it */
    return NULL;
}

/* Build the batches of one client: n records from payer to payee, each
 * spending one coin (change COIN - PAY), with the payee's confirmation. */
static char **build(const struct wallet *payer, const struct wallet *payee, const struct offpay_utxo *coins, size_t n,
                    size_t per_batch, size_t *n_bodies)
{
    size_t nb = (n + per_batch - 1) / per_batch;
    char **bodies = calloc(nb, sizeof *bodies);
    static uint64_t seq;
    if (bodies == NULL)
        die("out of memory");
    for (size_t b = 0; b < nb; b++) {
        size_t k = n - b * per_batch < per_batch ? n - b * per_batch : per_batch;
        size_t cap = 64 + k * 2200, len = 0;
        char *s = malloc(cap);
        if (s == NULL)
            die("out of memory");
        len += (size_t)snprintf(s + len, cap - len, "{\"records\":[");
        for (size_t i = 0; i < k; i++) {
            struct offpay_request req;
            struct offpay_record rec;
            struct offpay_confirmation conf;
            uint8_t nonce[OFFPAY_NONCE_BYTES], id[OFFPAY_RECORD_ID_BYTES], bin[OFFPAY_RECORD_BYTES_MAX];
            char rt[1500], ct[800];
            offpay_random(nonce, sizeof nonce);
            if (offpay_request_build(&req, &payee->cert, payee->sk, PAY, nonce) != OFFPAY_OK ||
                offpay_record_build(&rec, &payer->cert, payer->sk, &req, &coins[b * per_batch + i], 1,
                                    (uint64_t)time(NULL), ++seq) != OFFPAY_OK)
                die("record build failed");
            offpay_record_id(id, &rec);
            if (offpay_confirmation_build(&conf, id, &payee->cert, payee->sk) != OFFPAY_OK)
                die("confirmation build failed");
            size_t rn = offpay_record_encode(bin, sizeof bin, &rec);
            if (offpay_text_encode(rt, sizeof rt, bin, rn) != OFFPAY_OK)
                die("encode failed");
            size_t cn = offpay_confirmation_encode(bin, sizeof bin, &conf);
            if (offpay_text_encode(ct, sizeof ct, bin, cn) != OFFPAY_OK)
                die("encode failed");
            len += (size_t)snprintf(s + len, cap - len, "%s{\"record\":\"%s\",\"confirmation\":\"%s\"}", i ? "," : "",
                                    rt, ct);
        }
        snprintf(s + len, cap - len, "]}");
        bodies[b] = s;
    }
    *n_bodies = nb;
    return bodies;
}

/* CPU seconds (user + system) this process has used so far: the clients. */
static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

struct result {
    size_t batch;
    int threads;
    size_t records;
    double seconds, rps, cpu_us, client_us; /* CPU per record: the server's, the clients' */
};

static struct result run_config(struct wallet *payers, struct wallet *payees, int threads, int nclients,
                                size_t per_batch, size_t total)
{
    static struct client cl[MANY_MAX];
    static pthread_t tid[MANY_MAX];
    size_t records_per_client = total / (size_t)nclients;
    pthread_barrier_t bar;
    struct result r = {per_batch, threads, 0, 0, 0, 0, 0};

    /* Coins are loaded through a server of their own, so the timed server's
     * CPU time (from wait4) is the sync work alone. */
    start_server(threads);
    static struct offpay_utxo *coins[MANY_MAX];
    for (int k = 0; k < nclients; k++)
        coins[k] = load(&payers[k], records_per_client);
    stop_server();
    for (int k = 0; k < nclients; k++) {
        memset(&cl[k], 0, sizeof cl[k]);
        cl[k].base = base;
        cl[k].payer = &payers[k];
        cl[k].per_batch = per_batch;
        cl[k].records = records_per_client;
        cl[k].bodies = build(&payers[k], &payees[k], coins[k], records_per_client, per_batch, &cl[k].n_bodies);
        free(coins[k]);
    }
    start_server(threads);
    pthread_barrier_init(&bar, NULL, (unsigned)nclients + 1);
    for (int k = 0; k < nclients; k++) {
        cl[k].start = &bar;
        if (pthread_create(&tid[k], NULL, client_run, &cl[k]) != 0)
            die("pthread_create failed");
    }
    pthread_barrier_wait(&bar);
    double t0 = now_s(), c0 = self_cpu();
    for (int k = 0; k < nclients; k++)
        pthread_join(tid[k], NULL);
    r.seconds = now_s() - t0;
    double client_cpu = self_cpu() - c0;
    pthread_barrier_destroy(&bar);
    stop_server();
    for (int k = 0; k < nclients; k++) {
        if (cl[k].failed || cl[k].settled != records_per_client)
            die("batch=%zu threads=%d: only %zu of %zu records settled", per_batch, threads, cl[k].settled,
                records_per_client);
        r.records += cl[k].settled;
        for (size_t b = 0; b < cl[k].n_bodies; b++)
            free(cl[k].bodies[b]);
        free(cl[k].bodies);
    }
    r.rps = (double)r.records / r.seconds;
    r.cpu_us = server_cpu * 1e6 / (double)r.records;
    r.client_us = client_cpu * 1e6 / (double)r.records;
    printf("batch=%zu server_threads=%d clients=%d records=%zu seconds=%.3f records_per_second=%.0f "
           "server_cpu_us_per_record=%.1f client_cpu_us_per_record=%.1f\n",
           per_batch, threads, nclients, r.records, r.seconds, r.rps, server_cpu * 1e6 / (double)r.records,
           client_cpu * 1e6 / (double)r.records);
    fflush(stdout);
    return r;
}

/* ---- the long run: one ledger up to N settled records ---- */

/* Bytes of the ledger's files (the database and its WAL), 0 when the
 * ledger is not a sqlite: file of this run. */
static unsigned long long ledger_bytes(void)
{
    char path[760];
    unsigned long long total = 0;
    struct stat st;
    if (strncmp(ledger, "sqlite:", 7) != 0)
        return 0;
    snprintf(path, sizeof path, "%s", ledger + 7);
    if (stat(path, &st) == 0)
        total += (unsigned long long)st.st_size;
    snprintf(path, sizeof path, "%s-wal", ledger + 7);
    if (stat(path, &st) == 0)
        total += (unsigned long long)st.st_size;
    return total;
}

/* The running server's CPU seconds (user + system, from /proc/PID/stat)
 * and the bytes it has caused to be written to storage (/proc/PID/io
 * write_bytes: the WAL, the checkpoints); 0 when they cannot be read. */
static void server_usage(double *cpu, unsigned long long *written)
{
    char path[64], buf[1024];
    *cpu = 0;
    *written = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)server);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
        const char *p = strrchr(buf, ')'); /* the fields after the command's name */
        unsigned long ut = 0, st = 0;
        if (p != NULL && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            *cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    snprintf(path, sizeof path, "/proc/%d/io", (int)server);
    if ((f = fopen(path, "r")) != NULL) {
        while (fgets(buf, sizeof buf, f) != NULL)
            if (sscanf(buf, "write_bytes: %llu", written) == 1)
                break;
        fclose(f);
    }
}

/* Settle n records into one ledger through one server (2 workers, 3
 * clients, batches of 1000, as the best batch configuration), in chunks:
 * before each chunk its coins are loaded and its records built (not
 * timed), then the chunk is synced (timed).  Prints each chunk's rate and
 * the ledger's size, and at 10^4, 10^5, 10^6 ... records a name= line with
 * the rate of the chunks that ended in the second half of the way there
 * (one chunk's rate is noisy: a WAL checkpoint, the other jobs on the
 * machine).  Returns the rate at the last mark (or of the last chunks);
 * *first: the rate at the first mark. */
static double run_long(struct wallet *payers, struct wallet *payees, size_t n, size_t chunk, double *first)
{
    enum { CLIENTS = 3, THREADS = 2, BATCH = 1000 };
    static struct client cl[CLIENTS];
    pthread_t tid[CLIENTS];
    pthread_barrier_t bar;
    size_t done = 0, mark = 10000, win_records = 0, since_records = 0;
    double last = 0, t_all = 0, win_secs = 0, since_secs = 0;

    *first = 0;
    start_server(THREADS);
    while (done < n) {
        size_t this = n - done < chunk ? n - done : chunk;
        if (this > mark - done)
            this = mark - done; /* end a chunk on each mark */
        for (int k = 0; k < CLIENTS; k++) {
            size_t per = this / CLIENTS + ((size_t)k < this % CLIENTS);
            memset(&cl[k], 0, sizeof cl[k]);
            cl[k].base = base;
            cl[k].payer = &payers[k];
            cl[k].per_batch = BATCH;
            cl[k].records = per;
            if (per == 0)
                continue;
            struct offpay_utxo *coins = load(&payers[k], per);
            cl[k].bodies = build(&payers[k], &payees[k], coins, per, BATCH, &cl[k].n_bodies);
            free(coins);
        }
        pthread_barrier_init(&bar, NULL, CLIENTS + 1);
        for (int k = 0; k < CLIENTS; k++) {
            cl[k].start = &bar;
            if (pthread_create(&tid[k], NULL, client_run, &cl[k]) != 0)
                die("pthread_create failed");
        }
        double cpu0, cpu1;
        unsigned long long w0, w1;
        server_usage(&cpu0, &w0);
        pthread_barrier_wait(&bar);
        double t0 = now_s();
        for (int k = 0; k < CLIENTS; k++)
            pthread_join(tid[k], NULL);
        double secs = now_s() - t0;
        server_usage(&cpu1, &w1);
        pthread_barrier_destroy(&bar);
        size_t got = 0;
        for (int k = 0; k < CLIENTS; k++) {
            if (cl[k].failed || cl[k].settled != cl[k].records)
                die("long run: only %zu of %zu records settled after %zu", cl[k].settled, cl[k].records, done);
            got += cl[k].settled;
            for (size_t b = 0; b < cl[k].n_bodies; b++)
                free(cl[k].bodies[b]);
            free(cl[k].bodies);
        }
        done += got;
        t_all += secs;
        if (done > mark / 2) {
            win_records += got;
            win_secs += secs;
        }
        since_records += got;
        since_secs += secs;
        unsigned long long bytes = ledger_bytes();
        /* the server's CPU and writes per record of this chunk (its loads excluded) */
        printf("long records=%zu chunk_records_per_second=%.0f ledger_bytes=%llu bytes_per_record=%.0f "
               "server_cpu_us_per_record=%.0f server_written_bytes_per_record=%.0f\n",
               done, (double)got / secs, bytes, (double)bytes / (double)done, (cpu1 - cpu0) * 1e6 / (double)got,
               (double)(w1 - w0) / (double)got);
        fflush(stdout);
        if (done == mark || done == n) {
            /* n between marks: the chunks since the last one */
            last = done == mark ? (double)win_records / win_secs : (double)since_records / since_secs;
            if (*first == 0)
                *first = last;
            printf("name=long_%zu records=%zu records_per_second=%.0f\n", done, done, last);
            fflush(stdout);
            mark *= 10;
            win_records = since_records = 0;
            win_secs = since_secs = 0;
        }
    }
    stop_server();
    printf("long: %zu records in %.1f s of syncing\n", done, t_all);
    return last;
}

/* ---- the scaling run: offpayd processes on PostgreSQL behind a delay ---- */

/* A TCP proxy in front of PostgreSQL's unix socket that holds every chunk
 * for delay_us in each direction, so that a round trip to the database
 * costs what it costs over a network (libpq waits for each answer, so the
 * delay adds up per statement as it would). */
static long proxy_delay_us;
static int scaling_threads = 2; /* --threads: workers of each offpayd in the scaling runs */

/* One proxy: the PostgreSQL socket it forwards to (one per shard). */
struct proxy {
    char socket[600];
    int lfd;
};

struct pump {
    int from, to;
};

static void *pump_run(void *arg)
{
    struct pump *p = arg;
    char buf[65536];
    for (;;) {
        ssize_t n = read(p->from, buf, sizeof buf);
        if (n <= 0)
            break;
        struct timespec d = {proxy_delay_us / 1000000, (proxy_delay_us % 1000000) * 1000};
        nanosleep(&d, NULL);
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(p->to, buf + off, (size_t)(n - off));
            if (w <= 0)
                goto out;
            off += w;
        }
    }
out:
    shutdown(p->to, SHUT_WR);
    shutdown(p->from, SHUT_RD);
    free(p);
    return NULL;
}

static void pump_start(int from, int to)
{
    struct pump *p = malloc(sizeof *p);
    pthread_t t;
    if (p == NULL)
        die("out of memory");
    p->from = from;
    p->to = to;
    if (pthread_create(&t, NULL, pump_run, p) != 0)
        die("pthread_create failed");
    pthread_detach(t);
}

static void *proxy_accept(void *arg)
{
    struct proxy *px = arg;
    int lfd = px->lfd;
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int u = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        memcpy(sa.sun_path, px->socket, sizeof sa.sun_path - 1); /* proxy_start checked the length */
        if (u < 0 || connect(u, (struct sockaddr *)&sa, sizeof sa) != 0) {
            close(c);
            if (u >= 0)
                close(u);
            continue;
        }
        pump_start(c, u);
        pump_start(u, c);
    }
    return NULL;
}

/* Percent-decode s in place. */
static void url_decode(char *s)
{
    char *d = s;
    for (; *s; s++) {
        if (s[0] == '%' && s[1] && s[2]) {
            char h[3] = {s[1], s[2], 0};
            *d++ = (char)strtol(h, NULL, 16);
            s += 2;
        } else {
            *d++ = *s;
        }
    }
    *d = '\0';
}

/* Start the proxy for the PostgreSQL URL url (a unix socket: ?host=DIR&port=N,
 * as pg_run gives); out: the same database's URL through the proxy. */
static void proxy_start(const char *url, char *out, size_t cap)
{
    char host[512] = "", port[16] = "5432", user[64] = "", db[128] = "";
    const char *q = strchr(url, '?'), *at = strchr(url, '@'), *slash;
    const char *h = q ? strstr(q, "host=") : NULL, *pt = q ? strstr(q, "port=") : NULL;
    if (h == NULL || at == NULL)
        die("--scaling needs a unix-socket PostgreSQL URL with ?host=DIR (as pg_run gives)");
    snprintf(host, sizeof host, "%.*s", (int)strcspn(h + 5, "&"), h + 5);
    url_decode(host);
    if (pt != NULL)
        snprintf(port, sizeof port, "%.*s", (int)strcspn(pt + 5, "&"), pt + 5);
    const char *u0 = strstr(url, "://");
    snprintf(user, sizeof user, "%.*s", (int)(at - (u0 + 3)), u0 + 3);
    slash = strchr(at, '/');
    if (slash != NULL)
        snprintf(db, sizeof db, "%.*s", (int)strcspn(slash + 1, "?"), slash + 1);
    struct proxy *px = calloc(1, sizeof *px); /* lives as long as the process */
    if (px == NULL)
        die("out of memory");
    snprintf(px->socket, sizeof px->socket, "%s/.s.PGSQL.%s", host, port);
    if (strlen(px->socket) >= sizeof((struct sockaddr_un *)0)->sun_path)
        die("PostgreSQL's socket path is too long: %s", px->socket);

    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 128) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
        die("the proxy cannot listen");
    pthread_t t;
    px->lfd = lfd;
    if (pthread_create(&t, NULL, proxy_accept, px) != 0)
        die("pthread_create failed");
    pthread_detach(t);
    snprintf(out, cap, "postgresql://%s@127.0.0.1:%u/%s", user, (unsigned)ntohs(sa.sin_port), db);
}

/* The machine's CPU time so far, from /proc/stat, in clock ticks: all of
 * it, and the idle (with I/O wait) and stolen parts. */
struct machine_cpu {
    unsigned long long total, idle, steal;
};

static struct machine_cpu machine_cpu(void)
{
    struct machine_cpu m = {0, 0, 0};
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return m;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
               &v[7]) == 8) {
        for (int i = 0; i < 8; i++)
            m.total += v[i];
        m.idle = v[3] + v[4];
        m.steal = v[7];
    }
    fclose(f);
    return m;
}

/* records/s of procs offpayd processes (threads workers each) on the
 * ledger at url, clients many-wallet clients spread over them, each syncing
 * per_client records one per request. */
static double run_scaling(struct wallet *payers, struct wallet *payees, const char *url, int procs, int clients,
                          size_t per_client, int shards)
{
    static struct client cl[MANY_MAX];
    static pthread_t tid[MANY_MAX];
    static struct offpay_utxo *coins[MANY_MAX];
    pid_t pids[16];
    static char bases[16][300];
    pthread_barrier_t bar;

    start_server(2); /* coins loaded straight into the ledger, not through the delay */
    for (int k = 0; k < clients; k++)
        coins[k] = load(&payers[k], per_client);
    stop_server();
    for (int i = 0; i < procs; i++)
        pids[i] = start_server_on(url, scaling_threads, bases[i], sizeof bases[i]);
    for (int k = 0; k < clients; k++) {
        memset(&cl[k], 0, sizeof cl[k]);
        cl[k].base = bases[k % procs];
        cl[k].payer = &payers[k];
        cl[k].per_batch = 1;
        cl[k].records = per_client;
        /* Each client's first sync warms its offpayd (connections opened
         * through the delay, PostgreSQL's caches), untimed: the run measures
         * servers that have been up, not their start. */
        cl[k].warm = 1;
        cl[k].bodies = build(&payers[k], &payees[k], coins[k], per_client, 1, &cl[k].n_bodies);
        free(coins[k]);
    }
    pthread_barrier_init(&bar, NULL, (unsigned)clients + 1);
    for (int k = 0; k < clients; k++) {
        cl[k].start = &bar;
        if (pthread_create(&tid[k], NULL, client_run, &cl[k]) != 0)
            die("pthread_create failed");
    }
    pthread_barrier_wait(&bar);
    double t0 = now_s();
    struct machine_cpu m0 = machine_cpu();
    for (int k = 0; k < clients; k++)
        pthread_join(tid[k], NULL);
    double seconds = now_s() - t0;
    struct machine_cpu m1 = machine_cpu();
    pthread_barrier_destroy(&bar);
    double ticks = m1.total > m0.total ? (double)(m1.total - m0.total) : 1;
    double busy = 1 - (double)(m1.idle - m0.idle) / ticks, stolen = (double)(m1.steal - m0.steal) / ticks;
    double cpu = 0;
    for (int i = 0; i < procs; i++) {
        struct rusage ru;
        memset(&ru, 0, sizeof ru);
        kill(pids[i], SIGTERM);
        wait4(pids[i], NULL, 0, &ru);
        cpu += (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
               (double)ru.ru_stime.tv_usec / 1e6;
    }
    size_t settled = 0;
    for (int k = 0; k < clients; k++) {
        if (cl[k].failed || cl[k].settled != per_client - cl[k].warm)
            die("scaling, %d processes: only %zu of %zu timed records settled", procs, cl[k].settled,
                per_client - cl[k].warm);
        settled += cl[k].settled;
        for (size_t b = 0; b < cl[k].n_bodies; b++)
            free(cl[k].bodies[b]);
        free(cl[k].bodies);
    }
    double rps = (double)settled / seconds;
    printf("name=pg_scaling shards=%d processes=%d threads=%d delay_us=%ld clients=%d records=%zu seconds=%.3f "
           "records_per_second=%.0f offpayd_cpu_us_per_record=%.0f machine_busy=%.2f stolen=%.2f\n",
           shards, procs, scaling_threads, proxy_delay_us, clients, settled, seconds, rps, cpu * 1e6 / (double)settled,
           busy, stolen);
    fflush(stdout);
    return rps;
}

/* ---- the verification rate ---- */

struct verifier {
    double seconds;
    unsigned long count;
};

static uint8_t vpk[OFFPAY_PUBLIC_KEY_BYTES], vsig[OFFPAY_SIGNATURE_BYTES], vbody[420];

static void *verify_run(void *arg)
{
    struct verifier *v = arg;
    double end = now_s() + v->seconds;
    while (now_s() < end) {
        for (int i = 0; i < 64; i++)
            if (offpay_verify(vsig, vpk, OFFPAY_TAG_RECORD, vbody, sizeof vbody) != 0)
                die("verification failed");
        v->count += 64;
    }
    return NULL;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Microseconds of CPU one verification takes (load-independent). */
static double verify_cpu_us(void)
{
    double c0 = cpu_now();
    for (int i = 0; i < 2000; i++)
        if (offpay_verify(vsig, vpk, OFFPAY_TAG_RECORD, vbody, sizeof vbody) != 0)
            die("verification failed");
    return (cpu_now() - c0) * 1e6 / 2000;
}

/* CPU time of one Ed25519 signature, in microseconds. */
static double sign_cpu_us(void)
{
    uint8_t sk[OFFPAY_SECRET_KEY_BYTES], pk[OFFPAY_PUBLIC_KEY_BYTES], sig[OFFPAY_SIGNATURE_BYTES];
    offpay_keypair(pk, sk);
    double c0 = cpu_now();
    for (int i = 0; i < 2000; i++)
        offpay_sign(sig, sk, OFFPAY_TAG_RECORD, vbody, sizeof vbody);
    double us = (cpu_now() - c0) * 1e6 / 2000;
    offpay_wipe(sk, sizeof sk);
    return us;
}

static double verify_rate(int cores, double seconds)
{
    pthread_t t[8];
    struct verifier v[8];
    uint8_t sk[OFFPAY_SECRET_KEY_BYTES];
    offpay_keypair(vpk, sk);
    offpay_random(vbody, sizeof vbody);
    offpay_sign(vsig, sk, OFFPAY_TAG_RECORD, vbody, sizeof vbody);
    offpay_wipe(sk, sizeof sk);
    double t0 = now_s();
    for (int i = 0; i < cores; i++) {
        v[i].seconds = seconds;
        v[i].count = 0;
        pthread_create(&t[i], NULL, verify_run, &v[i]);
    }
    unsigned long total = 0;
    for (int i = 0; i < cores; i++) {
        pthread_join(t[i], NULL);
        total += v[i].count;
    }
    return (double)total / (now_s() - t0);
}

/* ---- ledgers of several shards ---- */

/* Make the ledger the first k shards of the shards file file: dir/shards
 * (straight to each database) and *via (each through a delaying proxy of
 * its own). */
static void shards_setup(const char *file, int k, char *via, size_t cap)
{
    char line[1000], url[900], proxied[900], direct_path[600];
    int i, n = 0;
    FILE *in = fopen(file, "r");
    snprintf(direct_path, sizeof direct_path, "%s/shards", dir);
    snprintf(via, cap, "%s/shards-via", dir);
    FILE *d = fopen(direct_path, "w"), *v = fopen(via, "w");
    if (in == NULL || d == NULL || v == NULL)
        die("cannot read %s or write the shards files", file);
    while (n < k && fgets(line, sizeof line, in) != NULL) {
        if (sscanf(line, "shard %d %899s", &i, url) != 2 || i != n)
            continue;
        proxy_start(url, proxied, sizeof proxied);
        fprintf(d, "shard %d %s\n", n, url);
        fprintf(v, "shard %d %s\n", n, proxied);
        n++;
    }
    fclose(in);
    if (fclose(d) != 0 || fclose(v) != 0 || n < k)
        die("%s names fewer than %d shards", file, k);
    snprintf(ledger, sizeof ledger, "shards:%s", direct_path);
}

/* The share of the clients whose payer and payee accounts are on different
 * shards (from offpayd audit --json, which names each account's shard). */
static double cross_share(struct wallet *payers, struct wallet *payees, int clients)
{
    static char out[1 << 20];
    char *args[] = {"offpayd", "audit", "--ledger", ledger, "--json", NULL};
    json_error_t e;
    (void)payers, (void)payees;
    if (offpayd(out, sizeof out, args) != 0)
        die("audit failed: %s", out);
    json_t *j = json_loads(out, 0, &e), *rows = json_object_get(j, "accounts");
    int cross = 0;
    for (int k = 0; k < clients; k++) {
        char a[32], b[32];
        json_int_t sa = -1, sb = -1;
        snprintf(a, sizeof a, "payer%d", k);
        snprintf(b, sizeof b, "payee%d", k);
        for (size_t i = 0; i < json_array_size(rows); i++) {
            json_t *r = json_array_get(rows, i);
            const char *name = json_string_value(json_object_get(r, "account"));
            json_t *sh = json_object_get(r, "shard");
            if (name != NULL && strcmp(name, a) == 0)
                sa = sh ? json_integer_value(sh) : 0;
            if (name != NULL && strcmp(name, b) == 0)
                sb = sh ? json_integer_value(sh) : 0;
        }
        cross += sa != sb;
    }
    json_decref(j);
    return (double)cross / clients;
}

int main(int argc, char **argv)
{
    int smoke = 0, only_batch = 0, only_threads = 0;
    const char *ledger_url = NULL;
    int many = 64, only_many = 0, scaling = 0, shards = 0, processes = 2;
    size_t scaling_records = 21, long_n = 0, long_chunk = 10000;
    size_t small = 3000, big = 20000, big_batch = 1000, many_records = 12800;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) {
            smoke = 1;
            small = 20, big = 40, big_batch = 20, many = 8, many_records = 32;
        } else if (strcmp(argv[i], "--records") == 0 && i + 1 < argc) {
            big = small = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--ledger-url") == 0 && i + 1 < argc) {
            ledger_url = argv[++i];
        } else if (strcmp(argv[i], "--many") == 0 && i + 1 < argc) {
            many = atoi(argv[++i]);
            if (many < 1 || many > MANY_MAX)
                die("--many takes 1..%d clients", MANY_MAX);
        } else if (strcmp(argv[i], "--many-records") == 0 && i + 1 < argc) {
            many_records = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--only-many") == 0) {
            only_many = 1;
        } else if (strcmp(argv[i], "--scaling") == 0 && i + 1 < argc) {
            scaling = 1;
            proxy_delay_us = strtol(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--shards") == 0 && i + 1 < argc) {
            shards = atoi(argv[++i]);
            if (shards < 1 || shards > 16)
                die("--shards takes 1..16");
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            scaling_threads = atoi(argv[++i]);
            if (scaling_threads < 1 || scaling_threads > 64)
                die("--threads takes 1..64");
        } else if (strcmp(argv[i], "--processes") == 0 && i + 1 < argc) {
            processes = atoi(argv[++i]);
            if (processes < 1 || processes > 16)
                die("--processes takes 1..16");
        } else if (strcmp(argv[i], "--long") == 0 && i + 1 < argc) {
            long_n = (size_t)strtoul(argv[++i], NULL, 10);
            if (long_n < 3)
                die("--long takes at least 3 records");
        } else if (strcmp(argv[i], "--long-chunk") == 0 && i + 1 < argc) {
            long_chunk = (size_t)strtoul(argv[++i], NULL, 10);
            if (long_chunk < 3)
                die("--long-chunk takes at least 3 records");
        } else if (strcmp(argv[i], "--scaling-records") == 0 && i + 1 < argc) {
            scaling_records = (size_t)strtoul(argv[++i], NULL, 10);
            if (scaling_records < 2)
                die("--scaling-records takes at least 2 (the first of each client is untimed)");
        } else if (strcmp(argv[i], "--issuer-pkcs11") == 0 && i + 3 < argc) {
            char *o[] = {"--issuer-pkcs11", argv[i + 1], "--token", argv[i + 2], "--pin-file", argv[i + 3]};
            memcpy(issuer_args, o, sizeof o);
            i += 3;
        } else if (strcmp(argv[i], "--only") == 0 && i + 2 < argc) {
            only_batch = atoi(argv[++i]);
            only_threads = atoi(argv[++i]);
        } else {
            printf("usage: offpay-bench-sync [--smoke] [--records N] [--only BATCH THREADS] [--ledger-url URL]\n"
                   "       [--many CLIENTS] [--many-records N] [--only-many]\n"
                   "--many: the \"many wallets\" configuration's clients (default 64), each syncing one record\n"
                   "per request, N records in all (default 12800); --only-many runs only that one.\n"
                   "--scaling DELAY_US: only the scaling run (a PostgreSQL URL of pg_run's kind): 1, 2, 4 and 8\n"
                   "offpayd processes, the database behind a proxy that delays each way by DELAY_US, the\n"
                   "many-wallet clients spread over them, each syncing --scaling-records N (default 21; each client's first untimed).\n"
                   "--shards K (with --scaling and --ledger-url shards:FILE of PostgreSQL URLs, as pg_run\n"
                   "--clusters gives): a ledger of the first K shards of FILE, each behind its own delaying\n"
                   "proxy, served by --processes P offpayd processes (default 2), one run.  --threads T:\n"
                   "each offpayd's workers in the scaling runs (default 2).\n"
                   "--long N: only the long run: N records into one ledger in chunks of --long-chunk C\n"
                   "(default 10000) records, batches of 1000 from 3 clients to 2 server threads, each chunk's\n"
                   "coins loaded before it; prints each chunk's rate and the ledger's bytes per record.\n"
                   "       [--issuer-pkcs11 MODULE TOKEN PIN_FILE]\n"
                   "--issuer-pkcs11: the issuer key generated in, and signing from, that PKCS#11 token.\n"
                   "--ledger-url: settle into this (empty) ledger instead of a fresh sqlite: file, e.g. an\n"
                   "empty PostgreSQL database (its issuer key goes to a temp file unless OFFPAYD_ISSUER_KEY is set).\n"
                   "Runs batches of 1 and 1000 records against 1 and 2 server threads (or only one\n"
                   "configuration) and prints records/s against the Ed25519 verification bound.\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (offpay_crypto_init() != 0)
        die("crypto init failed");
    signal(SIGPIPE, SIG_IGN);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/offpay-bench-sync-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp: %s", strerror(errno));
    atexit(cleanup);
    snprintf(ledger, sizeof ledger, "sqlite:%s/ledger.db", dir);
    if (ledger_url != NULL) {
        char key[600];
        snprintf(ledger, sizeof ledger, "%s", ledger_url);
        snprintf(key, sizeof key, "%s/issuer.key", dir);
        setenv("OFFPAYD_ISSUER_KEY", key, 0); /* a PostgreSQL ledger has no place of its own for it */
    }
    char via_file[600] = "";
    if (shards > 0) {
        if (!scaling || strncmp(ledger, "shards:", 7) != 0)
            die("--shards needs --scaling and --ledger-url shards:FILE");
        shards_setup(ledger + 7, shards, via_file, sizeof via_file);
    }
    char out[4096];
    char *init_args[16] = {"offpayd", "init", "--ledger", ledger};
    for (int i = 0; issuer_args[i] != NULL; i++)
        init_args[4 + i] = issuer_args[i];
    if (offpayd(out, sizeof out, init_args) != 0)
        die("offpayd init failed");
    /* The bench loads as many coins as it needs and settles them all, with
     * no holding limit (and no waterfall) in the way. */
    char *limits_args[] = {"offpayd", "limits", "--ledger", ledger, "--holding", "0", NULL};
    if (offpayd(out, sizeof out, limits_args) != 0)
        die("offpayd limits failed");

    double v1 = verify_rate(1, smoke ? 0.2 : 1.5);
    double v2 = verify_rate(2, smoke ? 0.2 : 1.5);
    double vus = verify_cpu_us();
    printf("ed25519_verifications_per_second 1_core=%.0f 2_cores=%.0f (cpu per verification %.1f us)\n", v1, v2,
           vus);
    fflush(stdout);

    /* Wallets: one payer per client connection, each paying its own payee
     * (each in an account of its own, so no two clients' records touch the
     * same account row). */
    int nwallets = only_batch > 0 ? MAX_CLIENTS : many > MAX_CLIENTS ? many : MAX_CLIENTS;
    if (only_many || scaling)
        nwallets = many;
    if (long_n > 0)
        nwallets = MAX_CLIENTS;
    if (scaling)
        many_records = (size_t)many * scaling_records * 4; /* four runs */
    static struct wallet payers[MANY_MAX], payees[MANY_MAX];
    start_server(2);
    for (int k = 0; k < nwallets; k++) {
        char name[32];
        snprintf(name, sizeof name, "payer%d", k);
        enrol(&payers[k], name);
        /* (a chunk's odd records go to the first clients: a little more) */
        mint(name, long_n > 0 ? (uint64_t)COIN * (long_n / MAX_CLIENTS + long_n / 100 + 10) + 1000
                   : k < MAX_CLIENTS ? (uint64_t)COIN * (2 * small + 2 * big + many_records) + 1000
                                   : (uint64_t)COIN * many_records + 1000);
        snprintf(name, sizeof name, "payee%d", k);
        enrol(&payees[k], name);
    }
    stop_server();

    if (scaling && shards > 0) {
        char via[700];
        snprintf(via, sizeof via, "shards:%s", via_file);
        printf("shards=%d cross_shard_share=%.2f (payer and payee on different shards)\n", shards,
               cross_share(payers, payees, many));
        double rps = run_scaling(payers, payees, via, processes, many, scaling_records, shards);
        printf("name=pg_shards shards=%d processes=%d records_per_second=%.0f\n", shards, processes, rps);
        return 0;
    }
    if (scaling) {
        char via[700];
        double first = 0, last = 0;
        proxy_start(ledger, via, sizeof via);
        for (int procs = 1; procs <= 8; procs *= 2) {
            last = run_scaling(payers, payees, via, procs, many, scaling_records, 1);
            if (procs == 1)
                first = last;
        }
        printf("name=pg_scaling_8_over_1 ratio=%.2f\n", last / first);
        return 0;
    }

    if (long_n > 0) {
        double first, last = run_long(payers, payees, long_n, long_chunk, &first);
        char *audit_long[] = {"offpayd", "audit", "--ledger", ledger, NULL};
        if (offpayd(out, sizeof out, audit_long) != 0)
            die("audit failed after the long run: %s", out);
        printf("name=long_last_over_first ratio=%.3f\n", last / first);
        printf("records_per_second=%.0f bound=%.0f ratio=%.3f\n", last, v2 / 2, last / (v2 / 2));
        return 0;
    }
    struct result best = {0, 0, 0, 0, 0, 0, 0}, r;
    int configs[4][2] = {{1, 1}, {1, 2}, {0, 1}, {0, 2}}; /* {small?, threads} */
    for (int i = 0; i < 4 && !only_many; i++) {
        size_t batch = configs[i][0] ? 1 : (only_batch > 1 ? (size_t)only_batch : big_batch), total = configs[i][0] ? small : big;
        int threads = configs[i][1];
        if (only_batch > 0 && (batch != (size_t)only_batch || threads != only_threads))
            continue;
        /* One client more than server threads: while one batch waits for its
         * commit to reach the disk, the server threads have the next batches
         * to verify, as a server with many wallets syncing would. */
        r = run_config(payers, payees, threads, threads + 1, batch, total);
        if (r.rps > best.rps)
            best = r;
    }
    /* Many wallets: as phones sync, each client one record per request. */
    struct result mw = {0, 0, 0, 0, 0, 0, 0};
    if (only_batch == 0) {
        mw = run_config(payers, payees, 2, many, 1, many_records);
        if (best.rps == 0)
            best = mw;
    }
    char *audit_args[] = {"offpayd", "audit", "--ledger", ledger, NULL};
    if (offpayd(out, sizeof out, audit_args) != 0)
        die("audit failed after the benchmark: %s", out);
    double bound = v2 / 2;
    printf("best: batch=%zu server_threads=%d (server cpu per record = %.2f verifications)\n", best.batch,
           best.threads, best.cpu_us / vus);
    if (mw.records > 0) {
        printf("name=many_wallets clients=%d server_threads=2 records_per_second=%.0f\n", many, mw.rps);
        /* The most many wallets can reach against the best batch, from
         * signatures alone: a record of a batch costs (server and clients,
         * which share these cores) what the batch run measured, and one
         * synced alone costs at least that plus one verification (the
         * request's) and two signatures (the client's on its request, the
         * server's sync stamp), all else free.  SQLite only: on PostgreSQL
         * the database's CPU is not in the server's figure. */
        double sus = sign_cpu_us(), b = best.cpu_us + best.client_us;
        if (strncmp(ledger, "sqlite:", 7) == 0 && best.batch > 1)
            printf("name=many_wallets_signature_ceiling verify_us=%.1f sign_us=%.1f batch_cpu_us=%.1f "
                   "ceiling_over_best_batch=%.2f many_over_best_batch=%.2f\n",
                   vus, sus, b, b / (b + vus + 2 * sus), mw.rps / best.rps);
    }
    printf("records_per_second=%.0f bound=%.0f ratio=%.3f\n", best.rps, bound, best.rps / bound);
    return 0;
}

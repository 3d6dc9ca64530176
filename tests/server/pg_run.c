/*
 * pg_run.c - run tests against private, throw-away PostgreSQL servers.
 *
 *     pg_run [--clusters N] NAME COMMAND [ARG...] [--then COMMAND [ARG...]]...
 *
 * creates a fresh cluster with initdb in a new temp dir, starts postgres on
 * a unix socket in that dir only (no TCP port, so parallel tests cannot
 * clash), runs COMMAND with every argument "@PGURL@" replaced by the ledger
 * URL and OFFPAY_TEST_LEDGER_URL set to it, then stops the server and
 * removes the dir, whatever happened.  The exit code is COMMAND's.  Every
 * wait is bounded; the server is tied to this process (parent-death signal),
 * so it goes away even if ctest kills us.
 *
 * --clusters N starts N clusters (dir/c0 ...), and the ledger is a shards
 * file naming one database on each ("shards:FILE", docs/scale.md).
 * Commands after --then run one after the other on the same clusters, each
 * on fresh databases (t1, t2, ...): one start for several tests.  The exit
 * code is the first failing command's.  A command may stop and start a
 * cluster: OFFPAY_TEST_PG_CONTROL holds two file descriptors "W,R"; it
 * writes "stop I\n" or "start I\n" to W and reads "ok\n" (done) or
 * "fail\n" from R.  A cluster left stopped is started for the next command.
 *
 * PostgreSQL refuses to run as root: as root, initdb and postgres run as the
 * user "postgres" (created by Debian's postgresql package).  The binaries are
 * found in $OFFPAY_PG_BINDIR, the bindir pg_config named at configure time,
 * /usr/lib/postgresql/N/bin (highest N), then $PATH.  If they are missing the
 * test fails: CI installs them with scripts/install-deps.sh.
 *
 * Tests get a fast cluster (no fsync).  For measurements, OFFPAY_PG_DURABLE=1
 * keeps PostgreSQL's durable defaults and starts with WAL segment files to
 * reuse, as a server in service has (warm_wal), and OFFPAY_PG_RUN_SECONDS raises the
 * time each COMMAND may take (default 280 s).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#ifndef PG_BINDIR
#define PG_BINDIR ""
#endif

#define INITDB_SECONDS 120
#define START_SECONDS 60
#define STOP_SECONDS 30
#define TEST_SECONDS 280

#define CLUSTERS_MAX 8
#define COMMANDS_MAX 16

/* One private cluster: its folder (data and socket), its port (only the
 * socket file's name), its postmaster. */
struct cluster {
    char dir[560], data[600], port[16];
    pid_t pid;
};

static char dir[512], bindir[512], logpath[600];
static struct cluster clusters[CLUSTERS_MAX];
static int n_clusters = 1, fast = 1;
static uid_t run_uid;
static gid_t run_gid;
static int as_root;

static int is_exe(const char *d, const char *name)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s", d, name);
    return access(p, X_OK) == 0;
}

static int good_bindir(const char *d) { return d && *d && is_exe(d, "initdb") && is_exe(d, "postgres"); }

static int find_bindir(void)
{
    const char *env = getenv("OFFPAY_PG_BINDIR");
    if (good_bindir(env)) {
        snprintf(bindir, sizeof bindir, "%s", env);
        return 0;
    }
    if (good_bindir(PG_BINDIR)) {
        snprintf(bindir, sizeof bindir, "%s", PG_BINDIR);
        return 0;
    }
    DIR *d = opendir("/usr/lib/postgresql");
    long best = -1;
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char *end, cand[sizeof bindir];
            long v = strtol(e->d_name, &end, 10);
            if (strlen(e->d_name) > 32)
                continue;
            snprintf(cand, sizeof cand, "/usr/lib/postgresql/%s/bin", e->d_name);
            if (*end == '\0' && v > best && good_bindir(cand)) {
                best = v;
                snprintf(bindir, sizeof bindir, "%s", cand);
            }
        }
        closedir(d);
        if (best >= 0)
            return 0;
    }
    const char *path = getenv("PATH");
    if (path != NULL) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", path);
        for (char *save = NULL, *p = strtok_r(buf, ":", &save); p; p = strtok_r(NULL, ":", &save))
            if (good_bindir(p)) {
                snprintf(bindir, sizeof bindir, "%s", p);
                return 0;
            }
    }
    return -1;
}

/* In a child: become the user that runs PostgreSQL, log to logpath. */
static void child_setup(int die_with_parent)
{
    int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    if (as_root && (setgroups(0, NULL) != 0 || setgid(run_gid) != 0 || setuid(run_uid) != 0)) {
        perror("pg_run: dropping root");
        _exit(126);
    }
    if (chdir(dir) != 0) /* the caller's cwd may be closed to that user */
        _exit(126);
    /* after the uid change, which would clear it */
    if (die_with_parent)
        prctl(PR_SET_PDEATHSIG, SIGQUIT);
}

static void show_log(void)
{
    char buf[8192];
    FILE *f = fopen(logpath, "r");
    if (f == NULL)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0, SEEK_SET);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    fprintf(stderr, "--- postgres log ---\n%s\n", buf);
}

/* Wait for pid at most seconds; returns its status, or -1 on timeout. */
static int wait_for(pid_t pid, int seconds)
{
    int status;
    for (int i = 0; i < seconds * 100; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        usleep(10000);
    }
    return -1;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void stop_cluster(struct cluster *c)
{
    if (c->pid > 0) {
        kill(c->pid, SIGINT); /* fast shutdown: ends sessions, no checkpoint wait for clients */
        if (wait_for(c->pid, STOP_SECONDS) < 0) {
            kill(c->pid, SIGKILL);
            wait_for(c->pid, 5);
        }
        c->pid = -1;
    }
}

static void cleanup(void)
{
    for (int i = 0; i < n_clusters; i++)
        stop_cluster(&clusters[i]);
    if (dir[0] != '\0')
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_signal(int sig)
{
    (void)sig;
    cleanup();
    _exit(1);
}

static int fail(const char *what)
{
    fprintf(stderr, "pg_run: %s\n", what);
    show_log();
    cleanup();
    return 1;
}

static void conninfo_of(char *out, size_t cap, const struct cluster *c, const char *db)
{
    snprintf(out, cap, "host=%.560s port=%.15s user=offpay dbname=%.63s connect_timeout=5", c->dir, c->port, db);
}

/* Start cluster c's postmaster and wait until it accepts connections.
 * Returns 0, or -1 (said why on stderr). */
static int start_cluster(struct cluster *c)
{
    char exe[700], sock_opt[700], conninfo[900];
    int st;
    snprintf(sock_opt, sizeof sock_opt, "unix_socket_directories=%s", c->dir);
    c->pid = fork();
    if (c->pid == 0) {
        child_setup(1);
        snprintf(exe, sizeof exe, "%s/postgres", bindir);
        /* Several clusters at once (shards): each smaller. */
        const char *buffers = !fast ? "shared_buffers=128MB" : n_clusters > 1 ? "shared_buffers=16MB"
                                                                               : "shared_buffers=32MB";
        execl(exe, "postgres", "-D", c->data, "-p", c->port, "-c", "listen_addresses=", "-c", sock_opt, "-c",
              fast ? "fsync=off" : "fsync=on", "-c", fast ? "synchronous_commit=off" : "synchronous_commit=on", "-c",
              fast ? "full_page_writes=off" : "full_page_writes=on", "-c", "max_connections=60", "-c", buffers,
              "-c", "dynamic_shared_memory_type=mmap", "-c", "max_wal_size=1GB", "-c", "log_lock_waits=on",
              (char *)NULL);
        _exit(127);
    }
    if (c->pid < 0) {
        fprintf(stderr, "pg_run: cannot fork\n");
        return -1;
    }
    conninfo_of(conninfo, sizeof conninfo, c, "postgres");
    for (int i = 0; i < START_SECONDS * 10; i++) {
        if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
            c->pid = -1;
            fprintf(stderr, "pg_run: postgres exited at start\n");
            return -1;
        }
        if (PQping(conninfo) == PQPING_OK)
            return 0;
        usleep(100000);
    }
    fprintf(stderr, "pg_run: postgres did not accept connections in time\n");
    return -1;
}

/* The URL form offpayd takes of database db on cluster c; the socket dir
 * goes percent-encoded. */
static void url_of(char *out, size_t cap, const struct cluster *c, const char *db)
{
    char host_enc[700];
    size_t k = 0;
    for (const char *s = c->dir; *s && k + 4 < sizeof host_enc; s++) {
        if (*s == '/' || *s == '%' || *s == '&' || *s == '=' || *s == '?' || *s == '#' || *s == ' ')
            k += (size_t)snprintf(host_enc + k, sizeof host_enc - k, "%%%02X", (unsigned char)*s);
        else
            host_enc[k++] = *s;
    }
    host_enc[k] = '\0';
    snprintf(out, cap, "postgresql://offpay@/%s?host=%s&port=%s", db, host_enc, c->port);
}

/* A fresh database db on every cluster (each command after the first gets
 * its own).  Returns 0 or -1. */
static int create_databases(const char *db)
{
    char conninfo[900], sql[128];
    for (int i = 0; i < n_clusters; i++) {
        conninfo_of(conninfo, sizeof conninfo, &clusters[i], "postgres");
        PGconn *c = PQconnectdb(conninfo);
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
        PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
        int ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "pg_run: %s: %s\n", sql, PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        if (!ok)
            return -1;
    }
    return 0;
}

/* A durable cluster for measurements is made to look like one that has
 * been running: about 128 MB of WAL written and a checkpoint, after which
 * PostgreSQL keeps the old WAL segment files to reuse.  A fresh cluster
 * has none, and the commit that fills a segment first creates the next
 * one (16 MB of zeros written and synced) while its clients wait: a cost
 * that a server in service does not pay.  Returns 0 or -1. */
static int warm_wal(void)
{
    char conninfo[900];
    for (int i = 0; i < n_clusters; i++) {
        conninfo_of(conninfo, sizeof conninfo, &clusters[i], "postgres");
        PGconn *c = PQconnectdb(conninfo);
        PGresult *r = PQstatus(c) == CONNECTION_OK
                          ? PQexec(c, "CREATE TABLE pg_run_warm AS SELECT g, repeat('x', 300) AS pad "
                                      "FROM generate_series(1, 350000) g; DROP TABLE pg_run_warm; CHECKPOINT")
                          : NULL;
        int ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "pg_run: warming the WAL: %s\n", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        if (!ok)
            return -1;
    }
    return 0;
}

/* The test's requests to stop or start a cluster (OFFPAY_TEST_PG_CONTROL):
 * lines "stop I" or "start I" on req, each answered "ok\n" or "fail\n" on
 * ans once done. */
static void control(int req, int ans)
{
    char line[64];
    ssize_t n = read(req, line, sizeof line - 1);
    if (n <= 0)
        return;
    line[n] = '\0';
    int i = -1, ok = 0;
    char verb[16];
    if (sscanf(line, "%15s %d", verb, &i) == 2 && i >= 0 && i < n_clusters) {
        if (strcmp(verb, "stop") == 0) {
            stop_cluster(&clusters[i]);
            ok = 1;
        } else if (strcmp(verb, "start") == 0 && clusters[i].pid <= 0) {
            ok = start_cluster(&clusters[i]) == 0;
        }
    }
    if (write(ans, ok ? "ok\n" : "fail\n", ok ? 3 : 5) < 0)
        perror("pg_run: control");
}

/* Run one command (args, NULL-terminated) within limit seconds, serving
 * its control requests.  Returns its exit code. */
static int run_command(char **args, int limit)
{
    int req[2], ans[2], st = -1;
    char fds[32];
    if (pipe(req) != 0 || pipe(ans) != 0) {
        perror("pg_run: pipe");
        return 1;
    }
    snprintf(fds, sizeof fds, "%d,%d", req[1], ans[0]);
    setenv("OFFPAY_TEST_PG_CONTROL", fds, 1);
    pid_t test = fork();
    if (test == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(req[0]);
        close(ans[1]);
        execv(args[0], args);
        fprintf(stderr, "pg_run: cannot run %s: %s\n", args[0], strerror(errno));
        _exit(127);
    }
    close(req[1]);
    close(ans[0]);
    if (test < 0) {
        close(req[0]);
        close(ans[1]);
        perror("pg_run: cannot fork the test");
        return 1;
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t r = waitpid(test, &st, WNOHANG);
        if (r == test)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((r < 0 && errno != EINTR) || now.tv_sec - t0.tv_sec > limit) {
            kill(test, SIGKILL);
            wait_for(test, 5);
            close(req[0]);
            close(ans[1]);
            fprintf(stderr, "pg_run: %s did not finish in time\n", args[0]);
            return 1;
        }
        struct pollfd p = {req[0], POLLIN, 0};
        if (poll(&p, 1, 10) > 0)
            control(req[0], ans[1]);
    }
    close(req[0]);
    close(ans[1]);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    char url[900], ledger[1100], exe[700];
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--clusters") == 0) {
        n_clusters = atoi(argv[2]);
        first = 3;
        if (n_clusters < 1 || n_clusters > CLUSTERS_MAX) {
            fprintf(stderr, "pg_run: --clusters takes 1 to %d\n", CLUSTERS_MAX);
            return 2;
        }
    }
    if (argc < first + 2) {
        fprintf(stderr, "usage: pg_run [--clusters N] NAME COMMAND [ARG...] [--then COMMAND [ARG...]]...\n");
        return 2;
    }
    const char *name = argv[first];
    if (find_bindir() != 0) {
        fprintf(stderr, "pg_run: PostgreSQL server binaries (initdb, postgres) not found; install them with "
                        "scripts/install-deps.sh (Debian: postgresql) or set OFFPAY_PG_BINDIR.\n");
        return 1;
    }
    as_root = geteuid() == 0;
    const char *tmp = getenv("TMPDIR");
    if (as_root) {
        struct passwd *pw = getpwnam("postgres");
        if (pw == NULL) {
            fprintf(stderr, "pg_run: running as root, but there is no user \"postgres\" to run PostgreSQL as.\n");
            return 1;
        }
        run_uid = pw->pw_uid;
        run_gid = pw->pw_gid;
        tmp = "/tmp"; /* a root-only TMPDIR would be closed to that user */
    }
    snprintf(dir, sizeof dir, "%s/offpay-pg-%.20s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    if (mkdtemp(dir) == NULL) {
        dir[0] = '\0';
        return fail("cannot create a temp dir");
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGPIPE, SIG_IGN);
    if (as_root && chown(dir, run_uid, run_gid) != 0)
        return fail("cannot hand the temp dir to user postgres");
    snprintf(logpath, sizeof logpath, "%s/postgres.log", dir);
    if (strlen(dir) + 24 > 100)
        return fail("the temp dir path is too long for a unix socket; set a shorter TMPDIR");
    const char *durable = getenv("OFFPAY_PG_DURABLE");
    fast = durable == NULL || strcmp(durable, "1") != 0;

    unsigned h = 2166136261u;
    for (const char *s = name; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    /* One cluster: its data and socket in dir itself (as always); several:
     * dir/cI each.  Every initdb runs at once. */
    pid_t initdb[CLUSTERS_MAX];
    for (int i = 0; i < n_clusters; i++) {
        struct cluster *c = &clusters[i];
        c->pid = -1;
        if (n_clusters == 1)
            snprintf(c->dir, sizeof c->dir, "%s", dir);
        else
            snprintf(c->dir, sizeof c->dir, "%s/c%d", dir, i);
        snprintf(c->data, sizeof c->data, "%.560s/data", c->dir);
        /* Only a socket file name: no TCP listener, so the number cannot clash. */
        snprintf(c->port, sizeof c->port, "%u", 18500u + (h + (unsigned)getpid()) % 500u + (unsigned)i);
        if (n_clusters > 1 && (mkdir(c->dir, 0700) != 0 || (as_root && chown(c->dir, run_uid, run_gid) != 0)))
            return fail("cannot make a cluster's folder");
        /* A cluster that trusts local connections, no fsync: it lives for one test. */
        initdb[i] = fork();
        if (initdb[i] == 0) {
            child_setup(1);
            snprintf(exe, sizeof exe, "%s/initdb", bindir);
            execl(exe, "initdb", "-D", c->data, "-U", "offpay", "-A", "trust", "-E", "UTF8", "--locale=C",
                  "--no-sync", (char *)NULL);
            _exit(127);
        }
    }
    int bad = 0;
    for (int i = 0; i < n_clusters; i++) {
        int st = initdb[i] > 0 ? wait_for(initdb[i], INITDB_SECONDS) : -1;
        if (st < 0 && initdb[i] > 0) {
            kill(initdb[i], SIGKILL);
            wait_for(initdb[i], 5);
        }
        bad |= st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    }
    if (bad)
        return fail("initdb failed");
    for (int i = 0; i < n_clusters; i++)
        if (start_cluster(&clusters[i]) != 0)
            return fail("a cluster did not start");
    if (!fast && warm_wal() != 0)
        return fail("the WAL could not be warmed");

    const char *secs = getenv("OFFPAY_PG_RUN_SECONDS");
    int limit = secs != NULL && atoi(secs) > 0 ? atoi(secs) : TEST_SECONDS;
    char **args = calloc((size_t)argc, sizeof *args);
    if (args == NULL)
        return fail("out of memory");
    /* The commands, one after the other, each on fresh databases: the
     * first on "postgres", command K on "tK".  Several clusters make one
     * ledger of as many shards (a shards file). */
    int code = 0, k = 0;
    for (int a = first + 1; a < argc; k++) {
        char db[16];
        int n = 0;
        for (; a < argc && strcmp(argv[a], "--then") != 0; a++)
            args[n++] = argv[a];
        args[n] = NULL;
        a++;
        if (n == 0 || k >= COMMANDS_MAX) {
            free(args);
            return fail("an empty command, or too many");
        }
        snprintf(db, sizeof db, k == 0 ? "postgres" : "t%d", k);
        if (k > 0 && create_databases(db) != 0) {
            free(args);
            return fail("cannot create a fresh database");
        }
        if (n_clusters == 1) {
            url_of(ledger, sizeof ledger, &clusters[0], db);
        } else {
            char file[600];
            snprintf(file, sizeof file, "%s/shards-%d", dir, k);
            FILE *f = fopen(file, "w");
            for (int i = 0; f != NULL && i < n_clusters; i++) {
                url_of(url, sizeof url, &clusters[i], db);
                fprintf(f, "shard %d %s\n", i, url);
            }
            if (f == NULL || fclose(f) != 0) {
                free(args);
                return fail("cannot write the shards file");
            }
            snprintf(ledger, sizeof ledger, "shards:%s", file);
        }
        setenv("OFFPAY_TEST_LEDGER_URL", ledger, 1);
        for (int i = 0; i < n; i++)
            if (strcmp(args[i], "@PGURL@") == 0)
                args[i] = ledger;
        int c = run_command(args, limit);
        if (c != 0) {
            fprintf(stderr, "pg_run: %s exited %d\n", args[0], c);
            if (code == 0)
                code = c;
        }
        /* a cluster the command stopped and did not start again */
        for (int i = 0; i < n_clusters; i++)
            if (clusters[i].pid <= 0 && start_cluster(&clusters[i]) != 0) {
                free(args);
                return fail("a cluster did not start again");
            }
    }
    free(args);
    if (code != 0)
        show_log();
    cleanup();
    return code;
}

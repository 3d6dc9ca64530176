/*
 * pg_run.c - run one test against a private, throw-away PostgreSQL server.
 *
 *     pg_run NAME COMMAND [ARG...]
 *
 * creates a fresh cluster with initdb in a new temp dir, starts postgres on
 * a unix socket in that dir only (no TCP port, so parallel tests cannot
 * clash), runs COMMAND with every argument "@PGURL@" replaced by the ledger
 * URL and OFFPAY_TEST_LEDGER_URL set to it, then stops the server and
 * removes the dir, whatever happened.  The exit code is COMMAND's.  Every
 * wait is bounded; the server is tied to this process (parent-death signal),
 * so it goes away even if ctest kills us.
 *
 * PostgreSQL refuses to run as root: as root, initdb and postgres run as the
 * user "postgres" (created by Debian's postgresql package).  The binaries are
 * found in $OFFPAY_PG_BINDIR, the bindir pg_config named at configure time,
 * /usr/lib/postgresql/N/bin (highest N), then $PATH.  If they are missing the
 * test fails: CI installs them with scripts/install-deps.sh.
 *
 * Tests get a fast cluster (no fsync).  For measurements, OFFPAY_PG_DURABLE=1
 * keeps PostgreSQL's durable defaults, and OFFPAY_PG_RUN_SECONDS raises the
 * time COMMAND may take (default 280 s).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

static char dir[512], bindir[512], logpath[600];
static pid_t pg_pid = -1;
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

static void stop_server(void)
{
    if (pg_pid > 0) {
        kill(pg_pid, SIGINT); /* fast shutdown: ends sessions, no checkpoint wait for clients */
        if (wait_for(pg_pid, STOP_SECONDS) < 0) {
            kill(pg_pid, SIGKILL);
            wait_for(pg_pid, 5);
        }
        pg_pid = -1;
    }
}

static void cleanup(void)
{
    stop_server();
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

int main(int argc, char **argv)
{
    char data[600], url[900], conninfo[900], port[16], exe[700], sock_opt[700];
    if (argc < 3) {
        fprintf(stderr, "usage: pg_run NAME COMMAND [ARG...]\n");
        return 2;
    }
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
    snprintf(dir, sizeof dir, "%s/offpay-pg-%.20s-XXXXXX", tmp && *tmp ? tmp : "/tmp", argv[1]);
    if (mkdtemp(dir) == NULL) {
        dir[0] = '\0';
        return fail("cannot create a temp dir");
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGHUP, on_signal);
    if (as_root && chown(dir, run_uid, run_gid) != 0)
        return fail("cannot hand the temp dir to user postgres");
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(logpath, sizeof logpath, "%s/postgres.log", dir);
    if (strlen(dir) + 20 > 100)
        return fail("the temp dir path is too long for a unix socket; set a shorter TMPDIR");

    /* A cluster that trusts local connections, no fsync: it lives for one test. */
    pid_t pid = fork();
    if (pid == 0) {
        child_setup(1);
        snprintf(exe, sizeof exe, "%s/initdb", bindir);
        execl(exe, "initdb", "-D", data, "-U", "offpay", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync",
              (char *)NULL);
        _exit(127);
    }
    int st = pid > 0 ? wait_for(pid, INITDB_SECONDS) : -1;
    if (st < 0 && pid > 0) {
        kill(pid, SIGKILL);
        wait_for(pid, 5);
    }
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return fail("initdb failed");

    unsigned h = 2166136261u;
    for (const char *s = argv[1]; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    /* Only a socket file name: no TCP listener, so the number cannot clash. */
    snprintf(port, sizeof port, "%u", 18500u + (h + (unsigned)getpid()) % 500u);
    snprintf(sock_opt, sizeof sock_opt, "unix_socket_directories=%s", dir);
    const char *durable = getenv("OFFPAY_PG_DURABLE");
    int fast = durable == NULL || strcmp(durable, "1") != 0;
    pg_pid = fork();
    if (pg_pid == 0) {
        child_setup(1);
        snprintf(exe, sizeof exe, "%s/postgres", bindir);
        execl(exe, "postgres", "-D", data, "-p", port, "-c", "listen_addresses=", "-c", sock_opt, "-c",
              fast ? "fsync=off" : "fsync=on", "-c", fast ? "synchronous_commit=off" : "synchronous_commit=on", "-c",
              fast ? "full_page_writes=off" : "full_page_writes=on", "-c", "max_connections=60", "-c",
              fast ? "shared_buffers=32MB" : "shared_buffers=128MB", "-c", "dynamic_shared_memory_type=mmap", "-c",
              "max_wal_size=1GB", "-c", "log_lock_waits=on", (char *)NULL);
        _exit(127);
    }
    if (pg_pid < 0)
        return fail("cannot fork");
    snprintf(conninfo, sizeof conninfo, "host=%s port=%s user=offpay dbname=postgres connect_timeout=5", dir, port);
    int ready = 0;
    for (int i = 0; i < START_SECONDS * 10 && !ready; i++) {
        if (waitpid(pg_pid, &st, WNOHANG) == pg_pid) {
            pg_pid = -1;
            return fail("postgres exited at start");
        }
        ready = PQping(conninfo) == PQPING_OK;
        if (!ready)
            usleep(100000);
    }
    if (!ready)
        return fail("postgres did not accept connections in time");

    /* The URL form offpayd takes; the socket dir goes percent-encoded. */
    char host_enc[700];
    size_t k = 0;
    for (const char *s = dir; *s && k + 4 < sizeof host_enc; s++) {
        if (*s == '/' || *s == '%' || *s == '&' || *s == '=' || *s == '?' || *s == '#' || *s == ' ')
            k += (size_t)snprintf(host_enc + k, sizeof host_enc - k, "%%%02X", (unsigned char)*s);
        else
            host_enc[k++] = *s;
    }
    host_enc[k] = '\0';
    snprintf(url, sizeof url, "postgresql://offpay@/postgres?host=%s&port=%s", host_enc, port);
    setenv("OFFPAY_TEST_LEDGER_URL", url, 1);

    char **args = calloc((size_t)argc, sizeof *args);
    if (args == NULL)
        return fail("out of memory");
    for (int i = 2; i < argc; i++)
        args[i - 2] = strcmp(argv[i], "@PGURL@") == 0 ? url : argv[i];
    pid_t test = fork();
    if (test == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(args[0], args);
        fprintf(stderr, "pg_run: cannot run %s: %s\n", args[0], strerror(errno));
        _exit(127);
    }
    free(args);
    if (test < 0)
        return fail("cannot fork the test");
    const char *secs = getenv("OFFPAY_PG_RUN_SECONDS");
    int limit = secs != NULL && atoi(secs) > 0 ? atoi(secs) : TEST_SECONDS;
    st = wait_for(test, limit);
    if (st < 0) {
        kill(test, SIGKILL);
        wait_for(test, 5);
        return fail("the test did not finish in time");
    }
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (code != 0)
        show_log();
    cleanup();
    return code;
}

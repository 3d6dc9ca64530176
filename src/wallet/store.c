/*
 * store.c - the wallet's SQLite store: opening, migrations, transactions,
 * the key file, and the shared lists (limits, revocation, history, coins).
 *
 * Durability: WAL with synchronous=FULL, so a committed command survives a
 * crash or power loss.  Atomicity: each command is one BEGIN IMMEDIATE ..
 * COMMIT; any failure rolls the whole command back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"
#include "migrations.h"

enum offpay_status wallet_fail(struct offpay_wallet *w, enum offpay_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
    return s;
}

enum offpay_status wallet_db_fail(struct offpay_wallet *w, const char *what)
{
    return wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet store could not %s: %s.", what,
                       w->db ? sqlite3_errmsg(w->db) : "no database");
}

enum offpay_status wallet_begin(struct offpay_wallet *w)
{
    if (sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return wallet_db_fail(w, "start a transaction");
    return OFFPAY_OK;
}

enum offpay_status wallet_commit(struct offpay_wallet *w)
{
    if (sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        enum offpay_status s = wallet_db_fail(w, "commit");
        wallet_rollback(w);
        return s;
    }
    return OFFPAY_OK;
}

void wallet_rollback(struct offpay_wallet *w)
{
    if (!sqlite3_get_autocommit(w->db))
        sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
}

sqlite3_stmt *wallet_prepare(struct offpay_wallet *w, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w->db, sql, -1, &st, NULL) != SQLITE_OK) {
        wallet_db_fail(w, "prepare a query");
        return NULL;
    }
    return st;
}

enum offpay_status wallet_step_done(struct offpay_wallet *w, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    enum offpay_status s = OFFPAY_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        s = wallet_db_fail(w, "be written");
    sqlite3_finalize(st);
    return s;
}

uint64_t wallet_now(void)
{
    const char *fake = getenv("OFFPAY_NOW");
    if (fake && *fake) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(fake, &end, 10);
        if (errno == 0 && *end == '\0')
            return v;
    }
    return (uint64_t)time(NULL);
}

/* ---- the key file ---- */

static int path_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

enum offpay_status wallet_folder_check(struct offpay_wallet *w)
{
    struct stat st;
    if (stat(w->dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return wallet_fail(w, OFFPAY_ERR_KEY_UNAVAILABLE,
                           "The wallet folder %s is writable by others (mode %04o), who could swap its key; "
                           "run \"chmod go-w %s\" and try again.",
                           w->dir, (unsigned)(st.st_mode & 07777), w->dir);
    return OFFPAY_OK;
}

enum offpay_status wallet_key_mode_check(struct offpay_wallet *w, const char *path, const struct stat *st)
{
    if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0)
        return wallet_fail(w, OFFPAY_ERR_KEY_UNAVAILABLE,
                           "The wallet's key file %s is open to others (mode %04o), so it is not used; "
                           "run \"chmod 600 %s\" and try again.",
                           path, (unsigned)(st->st_mode & 07777), path);
    return OFFPAY_OK;
}

static enum offpay_status wallet_modes_check(struct offpay_wallet *w)
{
    char path[PATH_MAX + 8];
    struct stat st;
    enum offpay_status s = wallet_folder_check(w);
    if (s != OFFPAY_OK)
        return s;
    if (path_join(path, sizeof path, w->dir, OFFPAY_WALLET_KEY_FILE) == 0 && stat(path, &st) == 0)
        return wallet_key_mode_check(w, path, &st);
    return OFFPAY_OK;
}

enum offpay_status wallet_key_load(struct offpay_wallet *w, uint8_t **sk_out)
{
    char path[PATH_MAX + 8];
    enum offpay_status s = OFFPAY_OK;
    uint8_t *sk = NULL;
    int fd = -1;
    struct stat stbuf;

    *sk_out = NULL;
    if (path_join(path, sizeof path, w->dir, OFFPAY_WALLET_KEY_FILE) != 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet folder name is too long.");
    sk = sodium_malloc(OFFPAY_SECRET_KEY_BYTES);
    if (sk == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the secret key.");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet's key file %s cannot be read: %s.", path, strerror(errno));
        goto cleanup;
    }
    /* Checked again on the file that is read: its mode may have changed since the wallet was opened. */
    if (fstat(fd, &stbuf) == 0 && (s = wallet_key_mode_check(w, path, &stbuf)) != OFFPAY_OK)
        goto cleanup;
    if (fstat(fd, &stbuf) != 0 || stbuf.st_size != OFFPAY_SECRET_KEY_BYTES ||
        read(fd, sk, OFFPAY_SECRET_KEY_BYTES) != OFFPAY_SECRET_KEY_BYTES) {
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet's key file %s is damaged.", path);
        goto cleanup;
    }
    /* libsodium's secret key ends with its public key: it must be the certificate's. */
    if (sodium_memcmp(sk + OFFPAY_SEED_BYTES, w->cert.public_key, OFFPAY_PUBLIC_KEY_BYTES) != 0) {
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet's key file does not match its certificate.");
        goto cleanup;
    }
    *sk_out = sk;
    sk = NULL;
cleanup:
    if (fd >= 0)
        close(fd);
    if (sk)
        sodium_free(sk); /* wipes */
    return s;
}

void wallet_key_free(uint8_t *sk)
{
    if (sk)
        sodium_free(sk); /* sodium_free zeroes the memory before releasing it */
}

static enum offpay_status key_write(struct offpay_wallet *w, const uint8_t sk[OFFPAY_SECRET_KEY_BYTES])
{
    char path[PATH_MAX + 8];
    if (path_join(path, sizeof path, w->dir, OFFPAY_WALLET_KEY_FILE) != 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet folder name is too long.");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s cannot be created: %s.", path, strerror(errno));
    int ok = write(fd, sk, OFFPAY_SECRET_KEY_BYTES) == OFFPAY_SECRET_KEY_BYTES && fsync(fd) == 0;
    ok = (close(fd) == 0) && ok;
    if (!ok) {
        unlink(path);
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s cannot be written.", path);
    }
    return OFFPAY_OK;
}

/* ---- opening and migrations ---- */

static enum offpay_status migrate(struct offpay_wallet *w)
{
    sqlite3_stmt *st = wallet_prepare(w, "PRAGMA user_version");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version < 0)
        return wallet_db_fail(w, "be read");
    if (version > offpay_wallet_migrations_count)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet was written by a newer offpay (schema %d).", version);
    for (int i = version; i < offpay_wallet_migrations_count; i++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", i + 1);
        enum offpay_status s = wallet_begin(w);
        if (s != OFFPAY_OK)
            return s;
        if (sqlite3_exec(w->db, offpay_wallet_migrations[i].sql, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(w->db, bump, NULL, NULL, NULL) != SQLITE_OK) {
            s = wallet_fail(w, OFFPAY_ERR_STORAGE, "Migration %s failed: %s.", offpay_wallet_migrations[i].name,
                            sqlite3_errmsg(w->db));
            wallet_rollback(w);
            return s;
        }
        if ((s = wallet_commit(w)) != OFFPAY_OK)
            return s;
    }
    return OFFPAY_OK;
}

static enum offpay_status load_identity(struct offpay_wallet *w)
{
    enum offpay_status s = OFFPAY_OK;
    sqlite3_stmt *st = wallet_prepare(w, "SELECT certificate, issuer_public_key, server_url FROM identity WHERE one = 1");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    if (sqlite3_step(st) != SQLITE_ROW) {
        s = wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet in %s was never initialised; run offpay init.", w->dir);
        goto done;
    }
    const void *cert = sqlite3_column_blob(st, 0);
    int cert_len = sqlite3_column_bytes(st, 0);
    const void *ipk = sqlite3_column_blob(st, 1);
    const unsigned char *url = sqlite3_column_text(st, 2);
    if (cert == NULL || offpay_cert_decode(&w->cert, cert, (size_t)cert_len) != OFFPAY_OK ||
        ipk == NULL || sqlite3_column_bytes(st, 1) != OFFPAY_PUBLIC_KEY_BYTES || url == NULL ||
        strlen((const char *)url) >= sizeof w->server_url) {
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet's identity is damaged.");
        goto done;
    }
    memcpy(w->issuer_pk, ipk, OFFPAY_PUBLIC_KEY_BYTES);
    strcpy(w->server_url, (const char *)url);
done:
    sqlite3_finalize(st);
    return s;
}

enum offpay_status wallet_store_open(struct offpay_wallet *w, int create)
{
    char path[PATH_MAX + 16];
    if (path_join(path, sizeof path, w->dir, OFFPAY_WALLET_DB_FILE) != 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet folder name is too long.");
    if (!create && access(path, F_OK) != 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "There is no wallet in %s; run offpay init first.", w->dir);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &w->db, flags, NULL) != SQLITE_OK)
        return wallet_db_fail(w, "be opened");
    sqlite3_busy_timeout(w->db, 10000);
    if (sqlite3_exec(w->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
                     NULL, NULL, NULL) != SQLITE_OK)
        return wallet_db_fail(w, "be configured");
    return migrate(w);
}

enum offpay_status offpay_wallet_dir(char *out, size_t out_cap, const char *dir_opt)
{
    const char *env = getenv("OFFPAY_WALLET");
    const char *home = getenv("HOME");
    int n;
    if (dir_opt && *dir_opt)
        n = snprintf(out, out_cap, "%s", dir_opt);
    else if (env && *env)
        n = snprintf(out, out_cap, "%s", env);
    else if (home && *home)
        n = snprintf(out, out_cap, "%s/.offpay", home);
    else
        return OFFPAY_ERR_USAGE;
    if (n <= 0 || (size_t)n >= out_cap)
        return OFFPAY_ERR_USAGE;
    return OFFPAY_OK;
}

static struct offpay_wallet *wallet_new(const char *dir)
{
    if (strlen(dir) >= PATH_MAX)
        return NULL;
    struct offpay_wallet *w = calloc(1, sizeof *w);
    if (w)
        strcpy(w->dir, dir);
    return w;
}

/* Hand the failure sentence of a wallet that is about to be closed to the caller. */
static void pass_error(char *err, const struct offpay_wallet *w, enum offpay_status s)
{
    if (err)
        snprintf(err, OFFPAY_WALLET_ERROR_MAX, "%s", w->err[0] ? w->err : offpay_status_str(s));
}

enum offpay_status offpay_wallet_open(struct offpay_wallet **out, char *err, const char *dir)
{
    *out = NULL;
    if (err)
        err[0] = '\0';
    if (offpay_crypto_init() != 0)
        return OFFPAY_ERR_CRYPTO_INIT;
    struct offpay_wallet *w = wallet_new(dir);
    if (w == NULL)
        return OFFPAY_ERR_NOMEM;
    /* Before the store is opened: a refused wallet is left exactly as it was. */
    enum offpay_status s = wallet_modes_check(w);
    if (s == OFFPAY_OK)
        s = wallet_store_open(w, 0);
    if (s == OFFPAY_OK)
        s = load_identity(w);
    if (s != OFFPAY_OK) {
        pass_error(err, w, s);
        offpay_wallet_close(w);
        return s;
    }
    *out = w;
    return OFFPAY_OK;
}

void offpay_wallet_close(struct offpay_wallet *w)
{
    if (w == NULL)
        return;
    if (w->db)
        sqlite3_close(w->db);
    free(w);
}

const char *offpay_wallet_error(const struct offpay_wallet *w) { return w ? w->err : ""; }
const struct offpay_cert *offpay_wallet_cert(const struct offpay_wallet *w) { return &w->cert; }
const uint8_t *offpay_wallet_issuer_key(const struct offpay_wallet *w) { return w->issuer_pk; }
const char *offpay_wallet_server_url(const struct offpay_wallet *w) { return w->server_url; }

/* ---- creating ---- */

static void remove_created(struct offpay_wallet *w, int key_written, int dir_created)
{
    static const char *const files[] = {OFFPAY_WALLET_DB_FILE, OFFPAY_WALLET_DB_FILE "-wal",
                                        OFFPAY_WALLET_DB_FILE "-shm", OFFPAY_WALLET_DB_FILE "-journal"};
    char path[PATH_MAX + 16];
    if (w->db) {
        sqlite3_close(w->db);
        w->db = NULL;
    }
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (path_join(path, sizeof path, w->dir, files[i]) == 0)
            unlink(path);
    if (key_written && path_join(path, sizeof path, w->dir, OFFPAY_WALLET_KEY_FILE) == 0)
        unlink(path);
    if (dir_created)
        rmdir(w->dir); /* only empty, and only the folder we made */
}

enum offpay_status offpay_wallet_create(struct offpay_wallet **out, char *err, const char *dir, const char *server_url,
                                        const struct offpay_cert *cert, const uint8_t sk[OFFPAY_SECRET_KEY_BYTES],
                                        const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                        const struct offpay_limits_policy *limits, const uint8_t *revocation,
                                        size_t revocation_len)
{
    char path[PATH_MAX + 16];
    uint8_t cert_buf[OFFPAY_CERT_BYTES_MAX];
    enum offpay_status s;
    int key_written = 0, dir_created = 0;
    struct offpay_revocation rev;

    *out = NULL;
    if (err)
        err[0] = '\0';
    if (offpay_crypto_init() != 0)
        return OFFPAY_ERR_CRYPTO_INIT;
    struct offpay_wallet *w = wallet_new(dir);
    if (w == NULL)
        return OFFPAY_ERR_NOMEM;
    w->cert = *cert;
    memcpy(w->issuer_pk, issuer_pk, OFFPAY_PUBLIC_KEY_BYTES);
    if (strlen(server_url) >= sizeof w->server_url) {
        s = wallet_fail(w, OFFPAY_ERR_USAGE, "The server URL is too long.");
        goto fail;
    }
    strcpy(w->server_url, server_url);

    /* Everything must check out before anything is written. */
    if (sodium_memcmp(sk + OFFPAY_SEED_BYTES, cert->public_key, OFFPAY_PUBLIC_KEY_BYTES) != 0) {
        s = wallet_fail(w, OFFPAY_ERR_WRONG_PAYEE, "The certificate is not for this wallet's key.");
        goto fail;
    }
    if ((s = offpay_cert_verify(cert, issuer_pk, NULL, wallet_now())) != OFFPAY_OK ||
        (s = offpay_limits_policy_verify(limits, issuer_pk)) != OFFPAY_OK ||
        (s = offpay_revocation_decode(&rev, revocation, revocation_len)) != OFFPAY_OK ||
        (s = offpay_revocation_verify(&rev, issuer_pk)) != OFFPAY_OK) {
        wallet_fail(w, s, "What the server handed out does not verify: %s", offpay_status_str(s));
        goto fail;
    }
    size_t cert_len = offpay_cert_encode(cert_buf, sizeof cert_buf, cert);
    if (cert_len == 0) {
        s = wallet_fail(w, OFFPAY_ERR_BAD_ACCOUNT_NAME, "The certificate cannot be encoded.");
        goto fail;
    }

    if (mkdir(dir, 0700) == 0) {
        dir_created = 1;
    } else if (errno != EEXIST) {
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet folder %s cannot be created: %s.", dir, strerror(errno));
        goto fail;
    } else if ((s = wallet_folder_check(w)) != OFFPAY_OK) {
        goto fail; /* a key is not written where others could take or swap it */
    }
    if ((path_join(path, sizeof path, dir, OFFPAY_WALLET_DB_FILE) == 0 && access(path, F_OK) == 0) ||
        (path_join(path, sizeof path, dir, OFFPAY_WALLET_KEY_FILE) == 0 && access(path, F_OK) == 0)) {
        s = wallet_fail(w, OFFPAY_ERR_USAGE, "%s already holds a wallet; it was left untouched.", dir);
        goto fail; /* the folder existed: nothing of ours to remove */
    }
    if ((s = key_write(w, sk)) != OFFPAY_OK)
        goto fail_files;
    key_written = 1;
    if ((s = wallet_store_open(w, 1)) != OFFPAY_OK || (s = wallet_begin(w)) != OFFPAY_OK)
        goto fail_files;
    /* The store names who paid whom: only the owner reads it. */
    if (path_join(path, sizeof path, dir, OFFPAY_WALLET_DB_FILE) == 0)
        chmod(path, 0600);

    sqlite3_stmt *st = wallet_prepare(
        w, "INSERT INTO identity (one, wallet_id, public_key, certificate, issuer_public_key, server_url, account, created)"
           " VALUES (1, ?, ?, ?, ?, ?, ?, ?)");
    if (st == NULL) {
        s = OFFPAY_ERR_STORAGE;
        goto fail_tx;
    }
    sqlite3_bind_blob(st, 1, cert->wallet_id, OFFPAY_WALLET_ID_BYTES, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, cert->public_key, OFFPAY_PUBLIC_KEY_BYTES, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, cert_buf, (int)cert_len, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 4, issuer_pk, OFFPAY_PUBLIC_KEY_BYTES, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, server_url, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, cert->account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)wallet_now());
    if ((s = wallet_step_done(w, st)) != OFFPAY_OK || (s = wallet_limits_store(w, limits)) != OFFPAY_OK ||
        (s = wallet_revocation_store(w, revocation, revocation_len)) != OFFPAY_OK ||
        (s = wallet_history_add(w, "init", 0, cert->account, NULL, "wallet enrolled")) != OFFPAY_OK)
        goto fail_tx;
    if ((s = wallet_commit(w)) != OFFPAY_OK)
        goto fail_files;
    *out = w;
    return OFFPAY_OK;

fail_tx:
    wallet_rollback(w);
fail_files:
    remove_created(w, key_written, dir_created);
fail:
    pass_error(err, w, s);
    offpay_wallet_close(w);
    return s;
}

/* ---- limits and revocation ---- */

enum offpay_status wallet_limits_store(struct offpay_wallet *w, const struct offpay_limits_policy *p)
{
    static const uint8_t zero[OFFPAY_WALLET_ID_BYTES];
    uint8_t buf[OFFPAY_LIMITS_BYTES];
    enum offpay_status s = offpay_limits_policy_verify(p, w->issuer_pk);
    if (s != OFFPAY_OK)
        return wallet_fail(w, s, "The server's limits are not signed by its issuer key.");
    if (memcmp(p->wallet_id, w->cert.wallet_id, OFFPAY_WALLET_ID_BYTES) != 0 &&
        memcmp(p->wallet_id, zero, OFFPAY_WALLET_ID_BYTES) != 0)
        return wallet_fail(w, OFFPAY_ERR_WRONG_PAYEE, "The server's limits are for another wallet.");
    if (p->limits.period == 0)
        return wallet_fail(w, OFFPAY_ERR_MALFORMED, "The server's limits have a period of zero.");
    size_t n = offpay_limits_policy_encode(buf, sizeof buf, p);
    if (n == 0)
        return wallet_fail(w, OFFPAY_ERR_MALFORMED, "The server's limits cannot be encoded.");
    sqlite3_stmt *st = wallet_prepare(w, "INSERT INTO limits (one, server_policy) VALUES (1, ?)"
                                         " ON CONFLICT (one) DO UPDATE SET server_policy = excluded.server_policy");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    sqlite3_bind_blob(st, 1, buf, (int)n, SQLITE_TRANSIENT);
    return wallet_step_done(w, st);
}

enum offpay_status wallet_revocation_store(struct offpay_wallet *w, const uint8_t *msg, size_t len)
{
    struct offpay_revocation r;
    enum offpay_status s;
    if ((s = offpay_revocation_decode(&r, msg, len)) != OFFPAY_OK)
        return wallet_fail(w, s, "The server's revocation list is malformed.");
    if ((s = offpay_revocation_verify(&r, w->issuer_pk)) != OFFPAY_OK)
        return wallet_fail(w, s, "The server's revocation list is not signed by its issuer key.");
    if (r.serial > (uint64_t)INT64_MAX || len > (size_t)INT32_MAX)
        return wallet_fail(w, OFFPAY_ERR_MALFORMED, "The server's revocation list is out of range.");
    /* Never go back to an older list: a revoked wallet stays revoked. */
    sqlite3_stmt *st = wallet_prepare(w, "INSERT INTO revocation (one, serial, message) VALUES (1, ?, ?)"
                                         " ON CONFLICT (one) DO UPDATE SET serial = excluded.serial,"
                                         " message = excluded.message WHERE excluded.serial >= revocation.serial");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)r.serial);
    sqlite3_bind_blob(st, 2, msg, (int)len, SQLITE_TRANSIENT);
    return wallet_step_done(w, st);
}

enum offpay_status wallet_revocation_load(struct offpay_wallet *w, struct offpay_revocation *r, uint8_t **blob)
{
    enum offpay_status s = OFFPAY_OK;
    *blob = NULL;
    memset(r, 0, sizeof *r);
    sqlite3_stmt *st = wallet_prepare(w, "SELECT message FROM revocation WHERE one = 1");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        *blob = malloc(n ? n : 1);
        if (*blob == NULL) {
            s = wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the revocation list.");
        } else {
            memcpy(*blob, sqlite3_column_blob(st, 0), n);
            if (offpay_revocation_decode(r, *blob, n) != OFFPAY_OK)
                s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The stored revocation list is damaged.");
        }
    } else if (rc != SQLITE_DONE) {
        s = wallet_db_fail(w, "be read");
    }
    sqlite3_finalize(st);
    if (s != OFFPAY_OK) {
        free(*blob);
        *blob = NULL;
        memset(r, 0, sizeof *r);
    }
    return s;
}

/* ---- history ---- */

enum offpay_status wallet_history_add(struct offpay_wallet *w, const char *kind, uint64_t amount,
                                      const char *counterparty, const uint8_t *record_id, const char *detail)
{
    sqlite3_stmt *st = wallet_prepare(
        w, "INSERT INTO history (time, kind, amount, counterparty, record_id, detail) VALUES (?, ?, ?, ?, ?, ?)");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)wallet_now());
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)amount);
    sqlite3_bind_text(st, 4, counterparty ? counterparty : "", -1, SQLITE_TRANSIENT);
    if (record_id)
        sqlite3_bind_blob(st, 5, record_id, OFFPAY_RECORD_ID_BYTES, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 5);
    sqlite3_bind_text(st, 6, detail ? detail : "", -1, SQLITE_TRANSIENT);
    return wallet_step_done(w, st);
}

/* ---- coins ---- */

enum offpay_status wallet_utxo_check(struct offpay_wallet *w, const struct offpay_utxo *u)
{
    if (offpay_utxo_verify(u, w->issuer_pk) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_INPUT_NOT_ATTESTED, "A coin from the server is not signed by its issuer key.");
    if (memcmp(u->owner, w->cert.public_key, OFFPAY_PUBLIC_KEY_BYTES) != 0)
        return wallet_fail(w, OFFPAY_ERR_INPUT_NOT_OWNED, "A coin from the server belongs to another wallet.");
    if (u->amount > WALLET_AMOUNT_MAX)
        return wallet_fail(w, OFFPAY_ERR_AMOUNT_OVERFLOW, "A coin from the server is too large.");
    return OFFPAY_OK;
}

enum offpay_status wallet_utxos_insert(struct offpay_wallet *w, const struct offpay_utxo *u, size_t n, uint64_t *added_sum)
{
    uint8_t buf[OFFPAY_UTXO_BYTES];
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        enum offpay_status s = wallet_utxo_check(w, &u[i]);
        if (s != OFFPAY_OK)
            return s;
        size_t len = offpay_utxo_encode(buf, sizeof buf, &u[i]);
        if (len == 0)
            return wallet_fail(w, OFFPAY_ERR_MALFORMED, "A coin cannot be encoded.");
        /* A coin we spent in one of our records never comes back to life,
         * even if a server hands it out again; a locked change coin is
         * replaced by its attested form. */
        sqlite3_stmt *st = wallet_prepare(
            w, "INSERT INTO utxos (id, amount, state, attestation, record_id, added)"
               " SELECT ?1, ?2, 'spendable', ?3, NULL, ?4"
               " WHERE NOT EXISTS (SELECT 1 FROM record_inputs ri JOIN records r ON r.id = ri.record_id"
               "                   WHERE ri.utxo_id = ?1 AND r.direction = 'outgoing')"
               " ON CONFLICT (id) DO UPDATE SET state = 'spendable', attestation = excluded.attestation,"
               " record_id = NULL WHERE utxos.state = 'locked' AND utxos.amount = excluded.amount");
        if (st == NULL)
            return OFFPAY_ERR_STORAGE;
        sqlite3_bind_blob(st, 1, u[i].id, OFFPAY_UTXO_ID_BYTES, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)u[i].amount);
        sqlite3_bind_blob(st, 3, buf, (int)len, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)wallet_now());
        if ((s = wallet_step_done(w, st)) != OFFPAY_OK)
            return s;
        if (sqlite3_changes(w->db) > 0) {
            if (u[i].amount > UINT64_MAX - sum)
                return wallet_fail(w, OFFPAY_ERR_AMOUNT_OVERFLOW, "The coins add up to too much.");
            sum += u[i].amount;
        }
    }
    if (added_sum)
        *added_sum = sum;
    return OFFPAY_OK;
}

enum offpay_status offpay_wallet_add_utxos(struct offpay_wallet *w, const struct offpay_utxo *utxos, size_t n)
{
    uint64_t sum = 0;
    enum offpay_status s = wallet_begin(w);
    if (s != OFFPAY_OK)
        return s;
    if ((s = wallet_utxos_insert(w, utxos, n, &sum)) != OFFPAY_OK ||
        (s = wallet_history_add(w, "load", sum, NULL, NULL, "coins added")) != OFFPAY_OK) {
        wallet_rollback(w);
        return s;
    }
    return wallet_commit(w);
}

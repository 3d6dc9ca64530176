/*
 * open.c - a wallet's lifetime: finding its folder, opening it, creating a
 * new one from what enrolment handed out, and closing it.
 *
 * A wallet is refused before its store is touched when its folder or key is
 * open to others (keys.c).  Creating writes the key and the store only after
 * everything the server handed out has verified, and removes again whatever
 * it created when a later step fails, so a failed init leaves nothing.
 *
 * A crash is a failure that removes nothing, so every file is made whole
 * before it takes its name: the key file, then the store, built with all its
 * first rows as wallet.db.new and renamed wallet.db last.  A folder holds a
 * wallet exactly when it holds wallet.db; before that, what an interrupted
 * init left (enrol.key, the key file) is taken up by the same init run again
 * (docs/wallet.md "A half-finished init").
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"

enum offpay_status wallet_fail(struct offpay_wallet *w, enum offpay_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
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

void wallet_test_die(const char *step)
{
    const char *at = getenv("OFFPAY_TEST_INIT_DIE");
    if (at != NULL && strcmp(at, step) == 0)
        raise(SIGKILL);
}

int wallet_dir_sync(const struct offpay_wallet *w)
{
    int fd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int ok = fsync(fd) == 0;
    close(fd);
    return ok ? 0 : -1;
}

int wallet_file_publish(struct offpay_wallet *w, const char *tmp_name, const char *name)
{
    char tmp[PATH_MAX + 32], path[PATH_MAX + 16];
    if (wallet_path(tmp, sizeof tmp, w->dir, tmp_name) != 0 || wallet_path(path, sizeof path, w->dir, name) != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    /* link, unlike rename, never takes the place of a file that is there. */
    if (link(tmp, path) != 0)
        return -1;
    unlink(tmp);
    return wallet_dir_sync(w);
}

/* What an interrupted init leaves before wallet.db: enrol.key or a key file. */
static int init_unfinished(const char *dir)
{
    static const char *const names[] = {OFFPAY_WALLET_ENROL_KEY_FILE, OFFPAY_WALLET_KEY_FILE,
                                        OFFPAY_WALLET_SEALED_KEY_FILE, OFFPAY_WALLET_TOKEN_KEY_FILE};
    char path[PATH_MAX + 16];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (wallet_path(path, sizeof path, dir, names[i]) == 0 && access(path, F_OK) == 0)
            return 1;
    return 0;
}

static enum offpay_status fail_unfinished(struct offpay_wallet *w)
{
    return wallet_fail(w, OFFPAY_ERR_USAGE,
                       "offpay init did not finish in %s; run the same offpay init again to finish it.", w->dir);
}

enum offpay_status wallet_open_store(struct offpay_wallet *w, int create)
{
    char path[PATH_MAX + 16];
    if (wallet_path(path, sizeof path, w->dir, OFFPAY_WALLET_DB_FILE) != 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet folder name is too long.");
    if (!create && access(path, F_OK) != 0)
        return init_unfinished(w->dir) ? fail_unfinished(w)
                                       : wallet_fail(w, OFFPAY_ERR_USAGE, "There is no wallet in %s; run offpay init first.", w->dir);
    return wallet_store_open(&w->store, path, create, w->err, sizeof w->err);
}

static enum offpay_status load_identity(struct offpay_wallet *w)
{
    struct wallet_store_identity id;
    int found;
    enum offpay_status s = wallet_store_identity_get(w->store, &id, &found);
    if (s != OFFPAY_OK)
        return s;
    if (!found) /* a store an init before atomic creation left half made */
        return fail_unfinished(w);
    if (offpay_cert_decode(&w->cert, id.cert, id.cert_len) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet's identity is damaged.");
    memcpy(w->issuer_pk, id.issuer_pk, OFFPAY_PUBLIC_KEY_BYTES);
    memcpy(w->server_url, id.server_url, sizeof w->server_url);
    return OFFPAY_OK;
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
        s = wallet_open_store(w, 0);
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
    wallet_store_close(w->store);
    wallet_key_close(w->key);
    free(w);
}

const char *offpay_wallet_error(const struct offpay_wallet *w) { return w ? w->err : ""; }
const struct offpay_cert *offpay_wallet_cert(const struct offpay_wallet *w) { return &w->cert; }

void offpay_wallet_cert_info(const struct offpay_wallet *w, struct offpay_wallet_cert_info *info)
{
    uint64_t now = wallet_now(), end = w->cert.not_after;
    info->not_after = end;
    info->expired = now > end;
    info->renew_due = end <= OFFPAY_WALLET_CERT_RENEW_BEFORE || now >= end - OFFPAY_WALLET_CERT_RENEW_BEFORE;
}
const uint8_t *offpay_wallet_issuer_key(const struct offpay_wallet *w) { return w->issuer_pk; }
const char *offpay_wallet_server_url(const struct offpay_wallet *w) { return w->server_url; }

/* ---- creating ---- */

/* The store while it is being built; it takes the name wallet.db only whole. */
#define DB_NEW_FILE OFFPAY_WALLET_DB_FILE ".new"

void wallet_db_files_remove(const struct offpay_wallet *w, const char *name)
{
    /* The store's own file last: a crash in between never leaves a store
     * name beside another store's WAL, which SQLite would replay into it. */
    static const char *const ends[] = {"-wal", "-shm", "-journal", ""};
    char file[64], path[PATH_MAX + 16];
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
        if (snprintf(file, sizeof file, "%s%s", name, ends[i]) < (int)sizeof file &&
            wallet_path(path, sizeof path, w->dir, file) == 0)
            unlink(path);
}

static void remove_created(struct offpay_wallet *w, const char *key_file, int key_written, int db_published,
                           int dir_created)
{
    char path[PATH_MAX + 16];
    wallet_store_close(w->store);
    w->store = NULL;
    wallet_db_files_remove(w, DB_NEW_FILE);
    if (db_published)
        wallet_db_files_remove(w, OFFPAY_WALLET_DB_FILE);
    if (key_written && wallet_path(path, sizeof path, w->dir, key_file) == 0)
        unlink(path);
    if (dir_created)
        rmdir(w->dir); /* only empty, and only the folder we made */
}

/* What the server handed out must check out before anything is written. */
static enum offpay_status create_check(struct offpay_wallet *w, const uint8_t *pk,
                                       const struct offpay_limits_policy *limits, const uint8_t *revocation,
                                       size_t revocation_len)
{
    struct offpay_revocation rev;
    enum offpay_status s;
    if (sodium_memcmp(pk, w->cert.public_key, OFFPAY_PUBLIC_KEY_BYTES) != 0)
        return wallet_fail(w, OFFPAY_ERR_WRONG_PAYEE, "The certificate is not for this wallet's key.");
    if ((s = offpay_cert_verify(&w->cert, w->issuer_pk, NULL, wallet_now())) != OFFPAY_OK ||
        (s = offpay_limits_policy_verify(limits, w->issuer_pk)) != OFFPAY_OK ||
        (s = offpay_revocation_decode(&rev, revocation, revocation_len)) != OFFPAY_OK ||
        (s = offpay_revocation_verify(&rev, w->issuer_pk)) != OFFPAY_OK)
        return wallet_fail(w, s, "What the server handed out does not verify: %s", offpay_status_str(s));
    return OFFPAY_OK;
}

/* The wallet's folder: made (0700), or an existing one that holds no wallet
 * and that others cannot write to.  key_file, the key's own file, may be
 * there (an interrupted init wrote it: create_files checks it holds this
 * key).  Out: *created. */
static enum offpay_status create_folder(struct offpay_wallet *w, const char *key_file, int *created)
{
    char path[PATH_MAX + 16];
    enum offpay_status s;
    *created = 0;
    if (mkdir(w->dir, 0700) == 0) {
        *created = 1;
        return OFFPAY_OK;
    }
    if (errno != EEXIST)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet folder %s cannot be created: %s.", w->dir,
                           strerror(errno));
    if ((s = wallet_folder_check(w)) != OFFPAY_OK)
        return s; /* a key is not written where others could take or swap it */
    static const char *const taken[] = {OFFPAY_WALLET_DB_FILE, OFFPAY_WALLET_KEY_FILE, OFFPAY_WALLET_SEALED_KEY_FILE,
                                        OFFPAY_WALLET_TOKEN_KEY_FILE};
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
        if (strcmp(taken[i], key_file) != 0 && wallet_path(path, sizeof path, w->dir, taken[i]) == 0 &&
            access(path, F_OK) == 0)
            return wallet_fail(w, OFFPAY_ERR_USAGE, "%s already holds a wallet; it was left untouched.", w->dir);
    return OFFPAY_OK;
}

/* The first transaction of a new store: identity, limits, revocation list, history. */
static enum offpay_status create_rows(struct offpay_wallet *w, const struct offpay_limits_policy *limits,
                                      const uint8_t *revocation, size_t revocation_len, const uint8_t *stamp,
                                      size_t stamp_len)
{
    struct wallet_store_identity id;
    enum offpay_status s;
    memset(&id, 0, sizeof id);
    memcpy(id.wallet_id, w->cert.wallet_id, OFFPAY_WALLET_ID_BYTES);
    memcpy(id.public_key, w->cert.public_key, OFFPAY_PUBLIC_KEY_BYTES);
    memcpy(id.issuer_pk, w->issuer_pk, OFFPAY_PUBLIC_KEY_BYTES);
    memcpy(id.server_url, w->server_url, sizeof id.server_url);
    snprintf(id.account, sizeof id.account, "%s", w->cert.account);
    id.created = wallet_now();
    if ((id.cert_len = offpay_cert_encode(id.cert, sizeof id.cert, &w->cert)) == 0)
        return wallet_fail(w, OFFPAY_ERR_BAD_ACCOUNT_NAME, "The certificate cannot be encoded.");
    if ((s = wallet_store_begin(w->store)) != OFFPAY_OK)
        return s;
    if ((s = wallet_store_identity_insert(w->store, &id)) != OFFPAY_OK ||
        (s = wallet_limits_store(w, limits)) != OFFPAY_OK ||
        (s = wallet_revocation_store(w, revocation, revocation_len)) != OFFPAY_OK ||
        (s = wallet_stamp_store(w, stamp, stamp_len)) != OFFPAY_OK ||
        (s = wallet_store_synced_set(w->store, id.created)) != OFFPAY_OK ||
        (s = wallet_history_add(w, "init", 0, w->cert.account, NULL, "wallet enrolled")) != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        return s;
    }
    return wallet_store_commit(w->store);
}

/* The store with its first rows, built as wallet.db.new, closed (which folds
 * its WAL into the file), synced, and only then named wallet.db; opened
 * again under that name.  Out: *published once wallet.db is there. */
static enum offpay_status create_store(struct offpay_wallet *w, const struct offpay_limits_policy *limits,
                                       const uint8_t *revocation, size_t revocation_len, const uint8_t *stamp,
                                       size_t stamp_len, int *published)
{
    char tmp[PATH_MAX + 16], wal[PATH_MAX + 16];
    enum offpay_status s;
    if (wallet_path(tmp, sizeof tmp, w->dir, DB_NEW_FILE) != 0 ||
        wallet_path(wal, sizeof wal, w->dir, DB_NEW_FILE "-wal") != 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet folder name is too long.");
    wallet_db_files_remove(w, DB_NEW_FILE); /* what an interrupted init left: it holds nothing that counts */
    if ((s = wallet_store_open(&w->store, tmp, 1, w->err, sizeof w->err)) != OFFPAY_OK)
        return s;
    chmod(tmp, 0600); /* the store names who paid whom: only the owner reads it */
    wallet_test_die(DB_NEW_FILE);
    if ((s = create_rows(w, limits, revocation, revocation_len, stamp, stamp_len)) != OFFPAY_OK)
        return s;
    wallet_test_die(DB_NEW_FILE ".rows");
    wallet_store_close(w->store);
    w->store = NULL;
    int fd = open(tmp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int ok = access(wal, F_OK) != 0 && fd >= 0 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The new wallet store %s cannot be finished.", tmp);
    if (wallet_file_publish(w, DB_NEW_FILE, OFFPAY_WALLET_DB_FILE) != 0)
        return errno == EEXIST
                   ? wallet_fail(w, OFFPAY_ERR_USAGE, "%s already holds a wallet; it was left untouched.", w->dir)
                   : wallet_fail(w, OFFPAY_ERR_STORAGE, "The new wallet store cannot be named %s/%s: %s.", w->dir,
                                 OFFPAY_WALLET_DB_FILE, strerror(errno));
    *published = 1;
    wallet_db_files_remove(w, DB_NEW_FILE); /* its -shm, if the close left one */
    wallet_test_die(OFFPAY_WALLET_DB_FILE);
    return wallet_open_store(w, 0);
}

/* Create the wallet w describes in w->dir: key file (unless an interrupted
 * init already wrote this very key there), then the store.  Out: what was
 * made, for the caller to remove on failure. */
static enum offpay_status create_files(struct offpay_wallet *w, const struct wallet_key *k,
                                       const struct offpay_limits_policy *limits, const uint8_t *revocation,
                                       size_t revocation_len, const uint8_t *stamp, size_t stamp_len,
                                       int *key_written, int *db_published)
{
    const char *key_file = wallet_key_file_name(wallet_key_kind_of(k));
    int same, missing;
    enum offpay_status s = wallet_key_file_same(w, key_file, k, &same, &missing);
    if (s != OFFPAY_OK)
        return s;
    if (!missing && !same)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "%s already holds a wallet; it was left untouched.", w->dir);
    if (missing) {
        if ((s = wallet_key_file_write(w, key_file, k)) != OFFPAY_OK)
            return s;
        *key_written = 1;
    }
    return create_store(w, limits, revocation, revocation_len, stamp, stamp_len, db_published);
}

enum offpay_status wallet_create_keyed(struct offpay_wallet **out, char *err, const char *dir, const char *server_url,
                                       const struct offpay_cert *cert, const struct wallet_key *k,
                                       const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                       const struct offpay_limits_policy *limits, const uint8_t *revocation,
                                       size_t revocation_len)
{
    return wallet_create_stamped(out, err, dir, server_url, cert, k, issuer_pk, limits, revocation, revocation_len,
                                 NULL, 0);
}

enum offpay_status wallet_create_stamped(struct offpay_wallet **out, char *err, const char *dir, const char *server_url,
                                         const struct offpay_cert *cert, const struct wallet_key *k,
                                         const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                         const struct offpay_limits_policy *limits, const uint8_t *revocation,
                                         size_t revocation_len, const uint8_t *stamp, size_t stamp_len)
{
    enum offpay_status s = OFFPAY_OK;
    int key_written = 0, db_published = 0, dir_created = 0;
    const char *key_file = wallet_key_file_name(wallet_key_kind_of(k));

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
    if (strlen(server_url) >= sizeof w->server_url)
        s = wallet_fail(w, OFFPAY_ERR_USAGE, "The server URL is too long.");
    else
        strcpy(w->server_url, server_url);
    /* Nothing is written before all checks out; an existing wallet is left untouched. */
    if (s == OFFPAY_OK && (s = create_check(w, wallet_key_public(k), limits, revocation, revocation_len)) == OFFPAY_OK &&
        (s = create_folder(w, key_file, &dir_created)) == OFFPAY_OK &&
        (s = create_files(w, k, limits, revocation, revocation_len, stamp, stamp_len, &key_written, &db_published)) !=
            OFFPAY_OK)
        remove_created(w, key_file, key_written, db_published, dir_created);
    if (s != OFFPAY_OK) {
        pass_error(err, w, s);
        offpay_wallet_close(w);
        return s;
    }
    *out = w;
    return OFFPAY_OK;
}

enum offpay_status offpay_wallet_create(struct offpay_wallet **out, char *err, const char *dir, const char *server_url,
                                        const struct offpay_cert *cert, const uint8_t sk[OFFPAY_SECRET_KEY_BYTES],
                                        const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                        const struct offpay_limits_policy *limits, const uint8_t *revocation,
                                        size_t revocation_len)
{
    struct offpay_wallet scratch;
    struct wallet_key *k = NULL;
    enum offpay_status s;

    *out = NULL;
    memset(&scratch, 0, sizeof scratch);
    if ((s = wallet_key_plain(&scratch, sk, &k)) != OFFPAY_OK) {
        if (err)
            snprintf(err, OFFPAY_WALLET_ERROR_MAX, "%s", scratch.err);
        return s;
    }
    s = wallet_create_keyed(out, err, dir, server_url, cert, k, issuer_pk, limits, revocation, revocation_len);
    wallet_key_close(k);
    return s;
}

/*
 * keystore.c - the wallet's key wherever it lives (include/offpay/wallet_key.h):
 * a plain key file, a key sealed under a passphrase, or a key in a PKCS#11
 * token; and the one signer every wallet signature goes through.
 *
 * Unlocking happens once per open wallet, at the first signature or at
 * offpay_wallet_unlock, and always before the wallet changes: a wrong
 * passphrase, a wrong PIN or a missing token is refused with exit 9 and
 * leaves everything as it was.  The files that say where the key is are
 * outside input like any other (a copied or tampered folder): they are read
 * with the same mode checks as the key file and decoded strictly (key.sealed:
 * include/offpay/sealed.h; key.token: include/offpay/key_token.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"
#include "offpay/key_token.h"
#include "offpay/p11.h"
#include "offpay/sealed.h"
#include "offpay/secret.h"

struct wallet_key {
    enum offpay_wallet_key_kind kind;
    uint8_t *sk;                 /* PLAIN, PASSPHRASE: seed || public key, sodium_malloc'd */
    struct offpay_p11 *token;    /* TOKEN: logged in */
    struct offpay_signer signer; /* signs with sk or in the token */
    uint8_t file[OFFPAY_KEY_TOKEN_BYTES_MAX]; /* PASSPHRASE, TOKEN: the key file's bytes */
    size_t file_len;
};
_Static_assert(OFFPAY_KEY_TOKEN_BYTES_MAX >= OFFPAY_SEALED_KEY_BYTES, "a key file's room holds key.sealed too");

static const char *const key_files[] = {
    [OFFPAY_WALLET_KEY_PLAIN] = OFFPAY_WALLET_KEY_FILE,
    [OFFPAY_WALLET_KEY_PASSPHRASE] = OFFPAY_WALLET_SEALED_KEY_FILE,
    [OFFPAY_WALLET_KEY_TOKEN] = OFFPAY_WALLET_TOKEN_KEY_FILE,
};

const char *wallet_key_file_name(enum offpay_wallet_key_kind kind) { return key_files[kind]; }

const uint8_t *wallet_key_public(const struct wallet_key *k) { return k->signer.public_key; }

enum offpay_wallet_key_kind wallet_key_kind_of(const struct wallet_key *k) { return k->kind; }

void wallet_key_close(struct wallet_key *k)
{
    if (k == NULL)
        return;
    if (k->sk != NULL)
        sodium_free(k->sk); /* wipes */
    offpay_p11_close(k->token);
    free(k);
}

void wallet_key_discard(struct wallet_key *k)
{
    if (k != NULL && k->token != NULL)
        (void)offpay_p11_destroy(k->token, k->signer.public_key);
}

static struct wallet_key *key_new(struct offpay_wallet *w, enum offpay_wallet_key_kind kind)
{
    struct wallet_key *k = calloc(1, sizeof *k);
    if (k == NULL) {
        wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the key.");
        return NULL;
    }
    k->kind = kind;
    if (kind != OFFPAY_WALLET_KEY_TOKEN && (k->sk = sodium_malloc(OFFPAY_SECRET_KEY_BYTES)) == NULL) {
        free(k);
        wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the secret key.");
        return NULL;
    }
    return k;
}

/* ---- key.token ---- */

/* Out: k->file[0..k->file_len).  Returns 0, or -1 when a field is not well formed. */
static int token_encode(struct wallet_key *k, const char *module, const char *label,
                        const uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES])
{
    return offpay_key_token_encode(k->file, sizeof k->file, &k->file_len, module, label, pk);
}

/* ---- key files ---- */

/* Read a key file (mode checked as the key file's).  Out: b[0..*n);
 * *missing when there is no such file.  Returns OK, or a failure with w's sentence. */
static enum offpay_status key_file_read(struct offpay_wallet *w, const char *name, uint8_t *b, size_t cap, size_t *n,
                                        int *missing)
{
    char path[PATH_MAX + 16];
    struct stat st;
    enum offpay_status s = OFFPAY_OK;
    ssize_t r = 0;

    *n = 0;
    *missing = 0;
    if (wallet_path(path, sizeof path, w->dir, name) != 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet folder name is too long.");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        *missing = errno == ENOENT;
        return *missing ? OFFPAY_OK
                        : wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s cannot be read: %s.", path, strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s is not a regular file.", path);
    else if ((s = wallet_key_mode_check(w, path, &st)) == OFFPAY_OK &&
             ((size_t)st.st_size > cap || (r = read(fd, b, cap)) != st.st_size))
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s is damaged.", path);
    close(fd);
    if (s == OFFPAY_OK)
        *n = (size_t)r;
    return s;
}

/* The bytes k's key file holds. */
static void key_file_bytes(const struct wallet_key *k, const uint8_t **b, size_t *n)
{
    *b = k->kind == OFFPAY_WALLET_KEY_PLAIN ? k->sk : k->file;
    *n = k->kind == OFFPAY_WALLET_KEY_PLAIN ? OFFPAY_SECRET_KEY_BYTES : k->file_len;
}

enum offpay_status wallet_key_file_write(struct offpay_wallet *w, const char *name, const struct wallet_key *k)
{
    char path[PATH_MAX + 16], tmp[PATH_MAX + 32], tmp_name[64];
    const uint8_t *b;
    size_t n;
    key_file_bytes(k, &b, &n);
    if (wallet_path(path, sizeof path, w->dir, name) != 0 ||
        snprintf(tmp_name, sizeof tmp_name, "%s.new", name) >= (int)sizeof tmp_name ||
        wallet_path(tmp, sizeof tmp, w->dir, tmp_name) != 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet folder name is too long.");
    unlink(tmp); /* half of one, left by an attempt that died while writing it */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s cannot be created: %s.", path, strerror(errno));
    int ok = write(fd, b, n) == (ssize_t)n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    wallet_test_die(tmp_name);
    if (!ok) {
        unlink(tmp);
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s cannot be written.", path);
    }
    if (wallet_file_publish(w, tmp_name, name) != 0) {
        int e = errno;
        unlink(tmp);
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s cannot be created: %s.", path, strerror(e));
    }
    wallet_test_die(name);
    return OFFPAY_OK;
}

enum offpay_status wallet_key_file_same(struct offpay_wallet *w, const char *name, const struct wallet_key *k,
                                        int *same, int *missing)
{
    uint8_t have[OFFPAY_KEY_TOKEN_BYTES_MAX + 1];
    const uint8_t *b;
    size_t n, have_len;
    key_file_bytes(k, &b, &n);
    *same = 0;
    enum offpay_status s = key_file_read(w, name, have, sizeof have, &have_len, missing);
    if (s == OFFPAY_OK && !*missing)
        *same = have_len == n && sodium_memcmp(have, b, n) == 0;
    sodium_memzero(have, sizeof have);
    return s;
}

enum offpay_status wallet_key_files_same(struct offpay_wallet *w, const char *a, const char *b, int *same)
{
    uint8_t x[OFFPAY_KEY_TOKEN_BYTES_MAX + 1], y[OFFPAY_KEY_TOKEN_BYTES_MAX + 1];
    size_t nx = 0, ny = 0;
    int mx = 1, my = 1;
    *same = 0;
    enum offpay_status s = key_file_read(w, a, x, sizeof x, &nx, &mx);
    if (s == OFFPAY_OK)
        s = key_file_read(w, b, y, sizeof y, &ny, &my);
    if (s == OFFPAY_OK && !mx && !my)
        *same = nx == ny && sodium_memcmp(x, y, nx) == 0;
    sodium_memzero(x, sizeof x);
    sodium_memzero(y, sizeof y);
    return s;
}

enum offpay_status offpay_wallet_key_kind(struct offpay_wallet *w, enum offpay_wallet_key_kind *kind)
{
    char path[PATH_MAX + 16];
    int found = 0;
    for (int i = OFFPAY_WALLET_KEY_PLAIN; i <= OFFPAY_WALLET_KEY_TOKEN; i++) {
        if (wallet_path(path, sizeof path, w->dir, key_files[i]) == 0 && access(path, F_OK) == 0) {
            *kind = (enum offpay_wallet_key_kind)i;
            found++;
        }
    }
    if (found == 1)
        return OFFPAY_OK;
    *kind = OFFPAY_WALLET_KEY_PLAIN;
    if (found == 0)
        return wallet_fail(w, OFFPAY_ERR_KEY_UNAVAILABLE,
                           "The wallet in %s has no key file (%s, %s or %s); it cannot sign.", w->dir,
                           OFFPAY_WALLET_KEY_FILE, OFFPAY_WALLET_SEALED_KEY_FILE, OFFPAY_WALLET_TOKEN_KEY_FILE);
    return wallet_fail(w, OFFPAY_ERR_KEY_UNAVAILABLE,
                       "The wallet in %s holds more than one key file (%s, %s, %s); it uses none of them.", w->dir,
                       OFFPAY_WALLET_KEY_FILE, OFFPAY_WALLET_SEALED_KEY_FILE, OFFPAY_WALLET_TOKEN_KEY_FILE);
}

/* ---- secrets ---- */

static enum offpay_status ask(struct offpay_wallet *w, enum offpay_wallet_secret what, const char *label, char **out)
{
    *out = NULL;
    if (w->secret_fn == NULL)
        return wallet_fail(w, OFFPAY_ERR_KEY_UNAVAILABLE, "The wallet's key is locked (%s) and nothing was given to unlock it.",
                           what == OFFPAY_WALLET_SECRET_PIN ? "in a token" : "sealed with a passphrase");
    w->err[0] = '\0';
    enum offpay_status s = w->secret_fn(w->secret_ctx, what, label, out, w->err, sizeof w->err);
    if (s != OFFPAY_OK && w->err[0] == '\0')
        wallet_fail(w, s, "%s", offpay_status_str(s));
    return s;
}

void offpay_wallet_set_secret_source(struct offpay_wallet *w, offpay_wallet_secret_fn fn, void *ctx)
{
    w->secret_fn = fn;
    w->secret_ctx = ctx;
}

/* ---- unlocking ---- */

/* sk = the key of seed; it must be the certificate's. */
static enum offpay_status key_from_seed(struct offpay_wallet *w, struct wallet_key *k, const uint8_t *seed,
                                        const uint8_t *want_pk)
{
    uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES];
    offpay_keypair_from_seed(pk, k->sk, seed);
    if (want_pk != NULL && sodium_memcmp(pk, want_pk, sizeof pk) != 0)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet's key does not match its certificate.");
    offpay_signer_from_key(&k->signer, k->sk);
    return OFFPAY_OK;
}

static enum offpay_status unseal(struct offpay_wallet *w, struct wallet_key *k, const char *path, const char *passphrase,
                                 const uint8_t *want_pk)
{
    uint8_t *seed = sodium_malloc(OFFPAY_SEED_BYTES);
    enum offpay_status s;
    if (seed == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the secret key.");
    s = offpay_sealed_key_open(seed, k->file, k->file_len, passphrase);
    if (s == OFFPAY_ERR_KEY_UNAVAILABLE)
        wallet_fail(w, s, "The passphrase is wrong (or %s was altered); nothing changed.", path);
    else if (s == OFFPAY_ERR_NOMEM)
        wallet_fail(w, s, "Out of memory to derive the key from the passphrase.");
    else if (s != OFFPAY_OK)
        wallet_fail(w, OFFPAY_ERR_STORAGE, "The sealed key file %s is damaged: %s", path, offpay_status_str(s));
    else
        s = key_from_seed(w, k, seed, want_pk);
    sodium_free(seed);
    return s == OFFPAY_OK || s == OFFPAY_ERR_KEY_UNAVAILABLE || s == OFFPAY_ERR_NOMEM ? s : OFFPAY_ERR_STORAGE;
}

/* Log in to the token k->file names and find the key there; it must be pk. */
static enum offpay_status token_open(struct offpay_wallet *w, struct wallet_key *k, const char *path, const char *module,
                                     const char *label, const char *pin, const uint8_t *pk)
{
    enum offpay_status s = offpay_p11_open(&k->token, w->err, sizeof w->err, module, label, pin);
    if (s == OFFPAY_OK)
        s = offpay_p11_signer(k->token, w->err, sizeof w->err, &k->signer, pk);
    if (s != OFFPAY_OK && s != OFFPAY_ERR_NOMEM) {
        /* The token's sentence, with what the wallet expected to find there. */
        size_t n = strlen(w->err);
        if (n > 0 && w->err[n - 1] == '.')
            w->err[n - 1] = '\0';
        char why[OFFPAY_WALLET_ERROR_MAX];
        snprintf(why, sizeof why, "%s", w->err);
        wallet_fail(w, s, "The wallet's key is in the PKCS#11 token \"%s\" (%s names it), and it cannot be used: %s.",
                    label, path, why);
    }
    return s;
}

static enum offpay_status unlock_sealed(struct offpay_wallet *w, struct wallet_key *k, const char *path)
{
    char *pass = NULL;
    enum offpay_status s = offpay_sealed_key_check(k->file, k->file_len);
    if (s != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The sealed key file %s is damaged: %s", path, offpay_status_str(s));
    if ((s = ask(w, OFFPAY_WALLET_SECRET_PASSPHRASE, NULL, &pass)) != OFFPAY_OK)
        return s;
    s = unseal(w, k, path, pass, w->cert.public_key);
    offpay_secret_free(pass);
    return s;
}

static enum offpay_status unlock_token(struct offpay_wallet *w, struct wallet_key *k, const char *path)
{
    char module[OFFPAY_KEY_TOKEN_MODULE_MAX + 1], label[OFFPAY_KEY_TOKEN_LABEL_MAX + 1], *pin = NULL;
    uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES];
    enum offpay_status s;
    if (offpay_key_token_decode(module, label, pk, k->file, k->file_len) != 0)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s is damaged: it does not name a token's key.", path);
    if (sodium_memcmp(pk, w->cert.public_key, sizeof pk) != 0)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s names a key other than the wallet's certificate's.",
                           path);
    if ((s = ask(w, OFFPAY_WALLET_SECRET_PIN, label, &pin)) != OFFPAY_OK)
        return s;
    s = token_open(w, k, path, module, label, pin, pk);
    offpay_secret_free(pin);
    return s;
}

enum offpay_status offpay_wallet_unlock(struct offpay_wallet *w)
{
    char path[PATH_MAX + 16];
    enum offpay_wallet_key_kind kind;
    struct wallet_key *k;
    int missing;
    enum offpay_status s;

    if (w->key != NULL)
        return OFFPAY_OK;
    if ((s = offpay_wallet_key_kind(w, &kind)) != OFFPAY_OK)
        return s;
    if (kind == OFFPAY_WALLET_KEY_PLAIN)
        return OFFPAY_OK; /* read at the first signature, as it always was */
    if ((k = key_new(w, kind)) == NULL)
        return OFFPAY_ERR_NOMEM;
    s = key_file_read(w, key_files[kind], k->file, sizeof k->file, &k->file_len, &missing);
    if (s == OFFPAY_OK && missing)
        s = wallet_fail(w, OFFPAY_ERR_KEY_UNAVAILABLE, "The wallet's key file %s is gone.", key_files[kind]);
    if (s == OFFPAY_OK && wallet_path(path, sizeof path, w->dir, key_files[kind]) != 0)
        s = wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet folder name is too long.");
    if (s == OFFPAY_OK)
        s = kind == OFFPAY_WALLET_KEY_PASSPHRASE ? unlock_sealed(w, k, path) : unlock_token(w, k, path);
    if (s != OFFPAY_OK) {
        wallet_key_close(k);
        return s;
    }
    w->key = k;
    return OFFPAY_OK;
}

enum offpay_status wallet_signer(struct offpay_wallet *w, const struct offpay_signer **signer)
{
    enum offpay_status s;
    *signer = NULL;
    if (w->key == NULL && (s = offpay_wallet_unlock(w)) != OFFPAY_OK)
        return s;
    if (w->key == NULL) { /* a plain key file */
        struct wallet_key *k = calloc(1, sizeof *k);
        if (k == NULL)
            return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the key.");
        k->kind = OFFPAY_WALLET_KEY_PLAIN;
        if ((s = wallet_key_load(w, &k->sk)) != OFFPAY_OK) {
            free(k);
            return s;
        }
        offpay_signer_from_key(&k->signer, k->sk);
        w->key = k;
    }
    *signer = &w->key->signer;
    return OFFPAY_OK;
}

enum offpay_status wallet_signed(struct offpay_wallet *w, enum offpay_status s, const char *what)
{
    if (s == OFFPAY_ERR_KEY_UNAVAILABLE)
        return wallet_fail(w, s, "The wallet's key could not sign %s (was the token removed?); nothing changed.", what);
    return s;
}

/* ---- a new key (init) ---- */

enum offpay_status wallet_key_plain(struct offpay_wallet *w, const uint8_t sk[OFFPAY_SECRET_KEY_BYTES],
                                    struct wallet_key **out)
{
    struct wallet_key *k = key_new(w, OFFPAY_WALLET_KEY_PLAIN);
    *out = NULL;
    if (k == NULL)
        return OFFPAY_ERR_NOMEM;
    memcpy(k->sk, sk, OFFPAY_SECRET_KEY_BYTES);
    offpay_signer_from_key(&k->signer, k->sk);
    *out = k;
    return OFFPAY_OK;
}

static enum offpay_status spec_check(struct offpay_wallet *w, const struct offpay_wallet_key_spec *spec)
{
    if (spec->kind == OFFPAY_WALLET_KEY_PASSPHRASE && (spec->passphrase == NULL || spec->passphrase[0] == '\0'))
        return wallet_fail(w, OFFPAY_ERR_USAGE, "A passphrase may not be empty.");
    if (spec->kind == OFFPAY_WALLET_KEY_TOKEN &&
        (spec->module == NULL || !offpay_key_token_module_ok(spec->module, strlen(spec->module)) ||
         spec->token_label == NULL || !offpay_key_token_label_ok(spec->token_label, strlen(spec->token_label)) ||
         spec->pin == NULL))
        return wallet_fail(w, OFFPAY_ERR_USAGE,
                           "A key in a token needs a module, a token label of 1 to %d printable characters and a PIN.",
                           OFFPAY_KEY_TOKEN_LABEL_MAX);
    if (spec->kind > OFFPAY_WALLET_KEY_TOKEN)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "Unknown kind of key store.");
    return OFFPAY_OK;
}

enum offpay_status wallet_key_generate(struct offpay_wallet *w, const struct offpay_wallet_key_spec *spec,
                                       const char *key_label, struct wallet_key **out)
{
    uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES];
    enum offpay_status s;
    struct wallet_key *k;

    *out = NULL;
    if ((s = spec_check(w, spec)) != OFFPAY_OK)
        return s;
    if ((k = key_new(w, spec->kind)) == NULL)
        return OFFPAY_ERR_NOMEM;
    if (spec->kind == OFFPAY_WALLET_KEY_TOKEN) {
        s = offpay_p11_open(&k->token, w->err, sizeof w->err, spec->module, spec->token_label, spec->pin);
        if (s == OFFPAY_OK && (s = offpay_p11_generate(k->token, w->err, sizeof w->err, pk, key_label)) == OFFPAY_OK &&
            (s = offpay_p11_signer(k->token, w->err, sizeof w->err, &k->signer, pk)) != OFFPAY_OK)
            (void)offpay_p11_destroy(k->token, pk);
        if (s == OFFPAY_OK && token_encode(k, spec->module, spec->token_label, pk) != 0)
            s = wallet_fail(w, OFFPAY_ERR_USAGE, "The module or token label cannot be written down.");
    } else {
        offpay_keypair(pk, k->sk);
        offpay_signer_from_key(&k->signer, k->sk);
        if (spec->kind == OFFPAY_WALLET_KEY_PASSPHRASE) {
            if ((s = offpay_sealed_key_seal(k->file, k->sk, spec->passphrase)) != OFFPAY_OK)
                wallet_fail(w, s, "The key could not be sealed: %s", offpay_status_str(s));
            k->file_len = OFFPAY_SEALED_KEY_BYTES;
        }
    }
    if (s != OFFPAY_OK) {
        wallet_key_close(k);
        return s;
    }
    *out = k;
    return OFFPAY_OK;
}

/* What kind of key the bytes of a key file are (enrol.key): -1 when none. */
static int bytes_kind(const uint8_t *b, size_t n)
{
    if (n >= 8 && memcmp(b, OFFPAY_SEALED_KEY_MAGIC, 8) == 0)
        return OFFPAY_WALLET_KEY_PASSPHRASE;
    if (n >= sizeof OFFPAY_KEY_TOKEN_MAGIC - 1 &&
        memcmp(b, OFFPAY_KEY_TOKEN_MAGIC, sizeof OFFPAY_KEY_TOKEN_MAGIC - 1) == 0)
        return OFFPAY_WALLET_KEY_TOKEN;
    return n == OFFPAY_SECRET_KEY_BYTES ? OFFPAY_WALLET_KEY_PLAIN : -1;
}

static const char *kind_words(int kind)
{
    return kind == OFFPAY_WALLET_KEY_PASSPHRASE ? "a key sealed with a passphrase (--passphrase)"
           : kind == OFFPAY_WALLET_KEY_TOKEN    ? "a key in a PKCS#11 token (--pkcs11)"
                                                : "a plain key";
}

enum offpay_status wallet_key_reuse(struct offpay_wallet *w, const struct offpay_wallet_key_spec *spec,
                                    const char *name, struct wallet_key **out)
{
    char path[PATH_MAX + 16], module[OFFPAY_KEY_TOKEN_MODULE_MAX + 1], label[OFFPAY_KEY_TOKEN_LABEL_MAX + 1];
    uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], again[OFFPAY_SECRET_KEY_BYTES];
    struct wallet_key *k;
    enum offpay_status s;
    int missing;

    *out = NULL;
    if ((s = spec_check(w, spec)) != OFFPAY_OK)
        return s;
    if (wallet_path(path, sizeof path, w->dir, name) != 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet folder name is too long.");
    if ((k = key_new(w, spec->kind)) == NULL)
        return OFFPAY_ERR_NOMEM;
    s = key_file_read(w, name, k->file, sizeof k->file, &k->file_len, &missing);
    int kind = s == OFFPAY_OK ? bytes_kind(k->file, k->file_len) : -1;
    if (s == OFFPAY_OK && missing)
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s is gone.", path);
    else if (s == OFFPAY_OK && kind < 0)
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s is damaged.", path);
    else if (s == OFFPAY_OK && kind != (int)spec->kind)
        s = wallet_fail(w, OFFPAY_ERR_USAGE,
                        "An earlier init left %s in %s, and this one asks for %s; run init again as before.",
                        kind_words(kind), path, kind_words(spec->kind));
    else if (s == OFFPAY_OK && kind == OFFPAY_WALLET_KEY_PLAIN) {
        /* libsodium's secret key is seed || public key: the two must agree. */
        memcpy(k->sk, k->file, OFFPAY_SECRET_KEY_BYTES);
        sodium_memzero(k->file, sizeof k->file);
        offpay_keypair_from_seed(pk, again, k->sk);
        if (sodium_memcmp(again, k->sk, sizeof again) != 0)
            s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s is damaged.", path);
        sodium_memzero(again, sizeof again);
        offpay_signer_from_key(&k->signer, k->sk);
    } else if (s == OFFPAY_OK && kind == OFFPAY_WALLET_KEY_PASSPHRASE) {
        s = offpay_sealed_key_check(k->file, k->file_len) != OFFPAY_OK
                ? wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s is damaged.", path)
                : unseal(w, k, path, spec->passphrase, NULL);
    } else if (s == OFFPAY_OK) {
        /* The token and module given now, the key the earlier attempt made. */
        if (offpay_key_token_decode(module, label, pk, k->file, k->file_len) != 0)
            s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s is damaged.", path);
        else if ((s = token_open(w, k, path, spec->module, spec->token_label, spec->pin, pk)) == OFFPAY_OK &&
                 token_encode(k, spec->module, spec->token_label, pk) != 0)
            s = wallet_fail(w, OFFPAY_ERR_USAGE, "The module or token label cannot be written down.");
    }
    if (s != OFFPAY_OK) {
        wallet_key_close(k);
        return s;
    }
    *out = k;
    return OFFPAY_OK;
}

/* ---- passphrase change ---- */

/* Replace name in w's folder by b[0..n) at once: a temporary file written
 * and synced, renamed over it, the folder synced. */
static enum offpay_status replace_file(struct offpay_wallet *w, const char *name, const uint8_t *b, size_t n)
{
    char path[PATH_MAX + 16], tmp[PATH_MAX + 32];
    if (wallet_path(path, sizeof path, w->dir, name) != 0 ||
        snprintf(tmp, sizeof tmp, "%s.new", path) >= (int)sizeof tmp)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet folder name is too long.");
    unlink(tmp); /* one a crash left: the old file is still whole */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "%s cannot be created: %s; nothing changed.", tmp, strerror(errno));
    int ok = write(fd, b, n) == (ssize_t)n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "%s cannot be written; nothing changed.", tmp);
    }
    int dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ok = dfd >= 0 && fsync(dfd) == 0;
    if (dfd >= 0)
        close(dfd);
    if (!ok)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet folder %s could not be synced after %s was replaced.",
                           w->dir, name);
    return OFFPAY_OK;
}

enum offpay_status offpay_wallet_passphrase_change(struct offpay_wallet *w, const char *old_passphrase,
                                                   const char *new_passphrase)
{
    char path[PATH_MAX + 16];
    uint8_t cur[OFFPAY_SEALED_KEY_BYTES + 1], next[OFFPAY_SEALED_KEY_BYTES];
    enum offpay_wallet_key_kind kind;
    size_t n;
    int missing;
    enum offpay_status s;

    w->err[0] = '\0';
    if ((s = offpay_wallet_key_kind(w, &kind)) != OFFPAY_OK)
        return s;
    if (kind != OFFPAY_WALLET_KEY_PASSPHRASE)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet in %s keeps its key %s, not sealed with a passphrase.",
                           w->dir, kind == OFFPAY_WALLET_KEY_TOKEN ? "in a PKCS#11 token" : "in a plain file");
    if (new_passphrase == NULL || new_passphrase[0] == '\0')
        return wallet_fail(w, OFFPAY_ERR_USAGE, "A passphrase may not be empty.");
    if (wallet_path(path, sizeof path, w->dir, OFFPAY_WALLET_SEALED_KEY_FILE) != 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet folder name is too long.");
    /* The store's write lock serialises two changes; the history line goes with it. */
    if ((s = wallet_store_begin(w->store)) != OFFPAY_OK)
        return s;
    s = key_file_read(w, OFFPAY_WALLET_SEALED_KEY_FILE, cur, sizeof cur, &n, &missing);
    if (s == OFFPAY_OK && missing)
        s = wallet_fail(w, OFFPAY_ERR_KEY_UNAVAILABLE, "The wallet's key file %s is gone.", path);
    if (s == OFFPAY_OK) {
        s = offpay_sealed_key_reseal(next, cur, n, old_passphrase, new_passphrase);
        if (s == OFFPAY_ERR_KEY_UNAVAILABLE)
            wallet_fail(w, s, "The passphrase is wrong (or %s was altered); nothing changed.", path);
        else if (s != OFFPAY_OK)
            s = wallet_fail(w, s == OFFPAY_ERR_NOMEM ? s : OFFPAY_ERR_STORAGE,
                            "The sealed key file %s could not be opened or sealed again: %s; nothing changed.", path,
                            offpay_status_str(s));
    }
    if (s == OFFPAY_OK)
        s = wallet_history_add(w, "passphrase", 0, NULL, NULL, "the key's passphrase changed");
    if (s == OFFPAY_OK)
        s = replace_file(w, OFFPAY_WALLET_SEALED_KEY_FILE, next, sizeof next);
    if (s != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        return s;
    }
    /* The new file is in place: a failed commit loses only the history line. */
    (void)wallet_store_commit(w->store);
    return OFFPAY_OK;
}

/*
 * issuer.c - the issuer key and the documents it signs.
 *
 * The issuer key signs certificates, UTXO attestations, limits and the
 * revocation list.  It lives in a file (mode 0600, hex of the 32-byte seed),
 * never in the ledger and never printed: the file named by --issuer-key or
 * $OFFPAYD_ISSUER_KEY, else PATH.issuer-key next to an sqlite:PATH ledger.
 * A PostgreSQL ledger has no such place, so it needs one named: the
 * database may be shared and backed up by people who must not sign.  While serving it
 * is held in sodium_malloc memory (guarded, locked, read-only); every other
 * copy is wiped.  The ledger keeps the public key, so a key file that does
 * not belong to the ledger is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"


int issuer_key_path(char *out, size_t cap, const char *url, const char *option, char *err, size_t err_cap)
{
    char path[PATH_MAX];
    const char *env = getenv("OFFPAYD_ISSUER_KEY");
    int n;
    if (option == NULL && env != NULL && env[0] != '\0')
        option = env;
    if (option != NULL) {
        if (option[0] == '\0') {
            snprintf(err, err_cap, "--issuer-key needs a file name.");
            return -1;
        }
        n = snprintf(out, cap, "%s", option);
    } else if (url != NULL && offpay_ledger_local_path(path, sizeof path, url) == 0) {
        n = snprintf(out, cap, "%s.issuer-key", path);
    } else {
        snprintf(err, err_cap, "This ledger has no place for the issuer key: name its file with --issuer-key FILE "
                               "(or OFFPAYD_ISSUER_KEY=FILE).");
        return -1;
    }
    if (n < 0 || (size_t)n >= cap) {
        snprintf(err, err_cap, "The issuer key file name is too long.");
        return -1;
    }
    return 0;
}

int issuer_key_create(const char *path, uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], char *err, size_t err_cap)
{
    char hex[2 * OFFPAY_SEED_BYTES + 2];
    uint8_t seed[OFFPAY_SEED_BYTES], sk[OFFPAY_SECRET_KEY_BYTES];
    int fd = -1, rc = -1;

    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        snprintf(err, err_cap, "Cannot create the issuer key file %s: %s.", path, strerror(errno));
        return -1;
    }
    offpay_random(seed, sizeof seed);
    offpay_keypair_from_seed(pk, sk, seed);
    offpay_hex(hex, seed, sizeof seed);
    hex[2 * OFFPAY_SEED_BYTES] = '\n';
    if (write(fd, hex, 2 * OFFPAY_SEED_BYTES + 1) != 2 * OFFPAY_SEED_BYTES + 1 || fsync(fd) != 0) {
        snprintf(err, err_cap, "Cannot write the issuer key file %s: %s.", path, strerror(errno));
        unlink(path);
        goto cleanup;
    }
    rc = 0;
cleanup:
    close(fd);
    offpay_wipe(seed, sizeof seed);
    offpay_wipe(sk, sizeof sk);
    offpay_wipe(hex, sizeof hex);
    return rc;
}

void issuer_key_free(uint8_t *sk)
{
    if (sk != NULL)
        sodium_free(sk); /* wipes before it frees */
}

int issuer_key_load(const char *path, struct offpay_ledger *l, uint8_t **sk_out, uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES],
                    char *err, size_t err_cap)
{
    char hex[2 * OFFPAY_SEED_BYTES + 3];
    uint8_t seed[OFFPAY_SEED_BYTES], want[OFFPAY_PUBLIC_KEY_BYTES];
    uint8_t *sk = NULL;
    size_t want_len = 0;
    struct stat st;
    int fd = -1, rc = -1;
    ssize_t n;

    *sk_out = NULL;
    memset(hex, 0, sizeof hex);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(err, err_cap, "Cannot open the issuer key file %s: %s.", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
        snprintf(err, err_cap, "The issuer key file %s must be readable by its owner only (chmod 600).", path);
        goto cleanup;
    }
    n = read(fd, hex, sizeof hex - 1);
    if (n == 2 * OFFPAY_SEED_BYTES + 1 && hex[2 * OFFPAY_SEED_BYTES] == '\n')
        hex[2 * OFFPAY_SEED_BYTES] = '\0';
    if (offpayd_hex_exact(seed, sizeof seed, hex) != 0) {
        snprintf(err, err_cap, "The issuer key file %s is malformed.", path);
        goto cleanup;
    }
    if ((sk = sodium_malloc(OFFPAY_SECRET_KEY_BYTES)) == NULL) {
        snprintf(err, err_cap, "Cannot allocate protected memory for the issuer key.");
        goto cleanup;
    }
    offpay_keypair_from_seed(pk, sk, seed);
    if (l->ops->meta_get(l, META_ISSUER_PK, want, sizeof want, &want_len) != OFFPAY_LEDGER_OK ||
        want_len != sizeof want || sodium_memcmp(want, pk, sizeof want) != 0) {
        snprintf(err, err_cap, "The issuer key file %s does not belong to this ledger.", path);
        goto cleanup;
    }
    sodium_mprotect_readonly(sk);
    *sk_out = sk;
    sk = NULL;
    rc = 0;
cleanup:
    if (sk != NULL)
        sodium_free(sk);
    close(fd);
    offpay_wipe(seed, sizeof seed);
    offpay_wipe(hex, sizeof hex);
    return rc;
}

/* ---- signed documents ---- */

char *offpayd_message_text(const uint8_t *bin, size_t len)
{
    size_t cap = offpay_text_len(len) + 1;
    char *t = malloc(cap);
    if (t != NULL && offpay_text_encode(t, cap, bin, len) != OFFPAY_OK) {
        free(t);
        t = NULL;
    }
    return t;
}

/* Signed limits, cached: every wallet without limits of its own gets the
 * same document (the default's, whose wallet id is all zero), and a sync
 * answer carries it, so without the cache each single-record sync would cost
 * an Ed25519 signature for nothing (Ed25519 is deterministic: the same
 * document always gets the same signature).  Keyed by the issuer key and
 * the whole unsigned document, so a changed limit or issue time misses. */
#define LIMITS_SLOTS 64u

struct limits_slot {
    uint8_t key[OFFPAY_PUBLIC_KEY_BYTES + OFFPAY_LIMITS_BYTES];
    size_t key_len;
    char *text;
};

static pthread_mutex_t limits_lock = PTHREAD_MUTEX_INITIALIZER;
static struct limits_slot limits_cache[LIMITS_SLOTS];

static char *limits_signed_text(struct offpayd *srv, struct offpay_limits_policy *p)
{
    uint8_t buf[OFFPAY_LIMITS_BYTES];
    struct limits_slot key;
    char *text = NULL;

    memset(p->sig, 0, sizeof p->sig);
    size_t n = offpay_limits_policy_encode(buf, sizeof buf, p);
    if (n == 0)
        return NULL;
    memcpy(key.key, srv->issuer_pk, OFFPAY_PUBLIC_KEY_BYTES);
    memcpy(key.key + OFFPAY_PUBLIC_KEY_BYTES, buf, n);
    key.key_len = OFFPAY_PUBLIC_KEY_BYTES + n;
    uint32_t h = 2166136261u; /* FNV-1a: spreads wallets over the slots, nothing more */
    for (size_t i = OFFPAY_PUBLIC_KEY_BYTES; i < key.key_len; i++)
        h = (h ^ key.key[i]) * 16777619u;
    struct limits_slot *slot = &limits_cache[h % LIMITS_SLOTS];

    pthread_mutex_lock(&limits_lock);
    if (slot->text != NULL && slot->key_len == key.key_len && memcmp(slot->key, key.key, key.key_len) == 0)
        text = strdup(slot->text);
    pthread_mutex_unlock(&limits_lock);
    if (text != NULL)
        return text;
    if (offpay_limits_policy_sign_with(p, &srv->issuer) != OFFPAY_OK ||
        (n = offpay_limits_policy_encode(buf, sizeof buf, p)) == 0 || (text = offpayd_message_text(buf, n)) == NULL)
        return NULL;
    char *copy = strdup(text);
    if (copy != NULL) {
        pthread_mutex_lock(&limits_lock);
        free(slot->text);
        memcpy(slot->key, key.key, key.key_len);
        slot->key_len = key.key_len;
        slot->text = copy;
        pthread_mutex_unlock(&limits_lock);
    }
    return text;
}

int offpayd_money_read(struct offpay_ledger *l, struct offpay_money *m, char *err, size_t err_cap)
{
    uint8_t v[OFFPAY_CURRENCY_CODE_BYTES + 1];
    size_t len = 0;
    enum offpay_ledger_result r = l->ops->meta_get(l, META_MONEY, v, sizeof v, &len);
    offpay_money_default(m);
    if (r == OFFPAY_LEDGER_NOT_FOUND)
        return 0;
    if (r == OFFPAY_LEDGER_OK && len == sizeof v) {
        memcpy(m->code, v, OFFPAY_CURRENCY_CODE_BYTES);
        m->exponent = v[OFFPAY_CURRENCY_CODE_BYTES];
        if (offpay_currency_code_valid(m->code) && m->exponent <= OFFPAY_MONEY_EXPONENT_MAX)
            return 0;
    }
    offpay_money_default(m);
    snprintf(err, err_cap, "The ledger's currency (meta row \"%s\") cannot be read or is damaged.", META_MONEY);
    return -1;
}

char *offpayd_limits_text(struct offpayd *srv, struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES])
{
    struct offpay_limits_policy p;
    int own;

    memset(&p, 0, sizeof p);
    if (offpayd_limits_of(l, wallet, &p.limits, &p.issued_at, &own) != OFFPAY_LEDGER_OK)
        return NULL;
    return offpayd_limits_text_of(srv, wallet, &p.limits, p.issued_at, own);
}

char *offpayd_limits_text_of(struct offpayd *srv, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                             const struct offpay_limits *lim, uint64_t issued_at, int own)
{
    struct offpay_limits_policy p;

    memset(&p, 0, sizeof p);
    p.limits = *lim;
    p.issued_at = issued_at;
    if (offpay_limits_policy_money_set(&p, &srv->money) != 0)
        return NULL;
    if (own)
        memcpy(p.wallet_id, wallet, OFFPAY_WALLET_ID_BYTES);
    return limits_signed_text(srv, &p);
}

char *offpayd_stamp_text(struct offpayd *srv, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES], uint64_t at)
{
    struct offpay_stamp st;
    uint8_t buf[OFFPAY_STAMP_BYTES];
    memset(&st, 0, sizeof st);
    memcpy(st.wallet_id, wallet, OFFPAY_WALLET_ID_BYTES);
    st.synced_at = at;
    if (offpay_stamp_sign_with(&st, &srv->issuer) != OFFPAY_OK)
        return NULL;
    size_t n = offpay_stamp_encode(buf, sizeof buf, &st);
    return n == 0 ? NULL : offpayd_message_text(buf, n);
}

struct id_list {
    uint8_t *ids;
    uint32_t n, cap;
};

static int collect_id(void *ctx, const uint8_t id[OFFPAY_WALLET_ID_BYTES])
{
    struct id_list *L = ctx;
    if (L->n >= L->cap)
        return 1;
    memcpy(L->ids + (size_t)L->n * OFFPAY_WALLET_ID_BYTES, id, OFFPAY_WALLET_ID_BYTES);
    L->n++;
    return 0;
}

static int id_cmp(const void *a, const void *b) { return memcmp(a, b, OFFPAY_WALLET_ID_BYTES); }

/* The connection to read shard i with: l for a ledger of one database,
 * else one of the shard's pool. */
static struct offpay_ledger *rvl_conn(struct offpayd *srv, struct offpay_ledger *l, unsigned i)
{
    return srv->n_shards == 1 ? l : pool_take(&srv->shard[i]);
}

static void rvl_done(struct offpayd *srv, struct offpay_ledger *l, unsigned i, struct offpay_ledger *c)
{
    if (c != l)
        pool_give(&srv->shard[i], c);
}

/* The list's serial, issue time and length: with several shards, the sum
 * of their serials less n - 1 (each only grows, so the sum does, and it
 * starts at 1 as one shard's does), the latest issue
 * time and all their ids (a wallet is revoked on its own shard only).
 * Returns 0 or -1. */
static int rvl_head(struct offpayd *srv, struct offpay_ledger *l, uint64_t *serial, uint64_t *issued_at,
                    uint32_t *count)
{
    *serial = *issued_at = 0;
    *count = 0;
    for (unsigned i = 0; i < srv->n_shards; i++) {
        struct offpay_ledger *c = rvl_conn(srv, l, i);
        uint64_t s, at;
        uint32_t n;
        enum offpay_ledger_result r =
            c != NULL ? c->ops->revocation_get(c, &s, &at, &n) : OFFPAY_LEDGER_UNAVAILABLE;
        rvl_done(srv, l, i, c);
        if (r != OFFPAY_LEDGER_OK || *count > UINT32_MAX - n)
            return -1;
        *serial += i == 0 ? s : s - 1; /* each shard's starts at 1, as the list's does */
        *issued_at = at > *issued_at ? at : *issued_at;
        *count += n;
    }
    return 0;
}

static int rvl_ids(struct offpayd *srv, struct offpay_ledger *l, struct id_list *L)
{
    for (unsigned i = 0; i < srv->n_shards; i++) {
        struct offpay_ledger *c = rvl_conn(srv, l, i);
        enum offpay_ledger_result r = c != NULL ? c->ops->revocation_ids(c, collect_id, L) : OFFPAY_LEDGER_UNAVAILABLE;
        rvl_done(srv, l, i, c);
        if (r != OFFPAY_LEDGER_OK)
            return -1;
    }
    if (srv->n_shards > 1)
        qsort(L->ids, L->n, OFFPAY_WALLET_ID_BYTES, id_cmp);
    return 0;
}

/* The list of this head, from the cache or signed from the ids l reads;
 * NULL when they are not that head's (*moved: the list changed since it
 * was read) or on failure. */
static char *rvl_text_of(struct offpayd *srv, struct offpay_ledger *l, uint64_t serial, uint64_t issued_at,
                         uint32_t count, int *moved);

char *offpayd_revocation_text(struct offpayd *srv, struct offpay_ledger *l)
{
    uint64_t serial, issued_at;
    uint32_t count;
    char *text = NULL;
    int moved;

    if (rvl_head(srv, l, &serial, &issued_at, &count) != 0) {
        /* A shard does not answer: the last list signed is the newest this
         * process can vouch for (NULL when there is none). */
        pthread_mutex_lock(&srv->rvl_lock);
        text = srv->n_shards > 1 && srv->rvl_text != NULL ? strdup(srv->rvl_text) : NULL;
        pthread_mutex_unlock(&srv->rvl_lock);
        return text;
    }
    text = rvl_text_of(srv, l, serial, issued_at, count, &moved);
    for (int again = 0; text == NULL && moved && again < 3; again++)
        if (rvl_head(srv, l, &serial, &issued_at, &count) == 0)
            text = rvl_text_of(srv, l, serial, issued_at, count, &moved);
    return text;
}

char *offpayd_revocation_text_at(struct offpayd *srv, struct offpay_ledger *l, uint64_t serial, uint64_t issued_at,
                                 uint32_t count)
{
    int moved = 0;
    char *text = srv->n_shards == 1 ? rvl_text_of(srv, l, serial, issued_at, count, &moved) : NULL;
    return text != NULL || !(moved || srv->n_shards > 1) ? text : offpayd_revocation_text(srv, l);
}

static char *rvl_text_of(struct offpayd *srv, struct offpay_ledger *l, uint64_t serial, uint64_t issued_at,
                         uint32_t count, int *moved)
{
    char *text = NULL;

    *moved = 0;
    pthread_mutex_lock(&srv->rvl_lock);
    if (srv->rvl_text != NULL && srv->rvl_serial == serial)
        text = strdup(srv->rvl_text);
    pthread_mutex_unlock(&srv->rvl_lock);
    if (text != NULL)
        return text;

    /* room for one more than the head says, to see a list that grew since */
    struct id_list L = {malloc(((size_t)count + 1) * OFFPAY_WALLET_ID_BYTES), 0, count + 1};
    struct offpay_revocation v;
    uint8_t *buf = NULL;
    if (L.ids == NULL || rvl_ids(srv, l, &L) != 0)
        goto out;
    if (L.n != count) {
        *moved = 1; /* ids are only ever added: the list changed since its head was read */
        goto out;
    }
    memset(&v, 0, sizeof v);
    v.serial = serial;
    v.issued_at = issued_at;
    v.count = count;
    v.ids = L.ids;
    if (offpay_revocation_sign_with(&v, &srv->issuer) != OFFPAY_OK)
        goto out;
    size_t cap = OFFPAY_REVOCATION_BYTES(count);
    if ((buf = malloc(cap)) == NULL)
        goto out;
    size_t n = offpay_revocation_encode(buf, cap, &v);
    if (n == 0 || (text = offpayd_message_text(buf, n)) == NULL)
        goto out;
    pthread_mutex_lock(&srv->rvl_lock);
    if (serial >= srv->rvl_serial || srv->rvl_text == NULL) {
        char *copy = strdup(text);
        if (copy != NULL) {
            free(srv->rvl_text);
            srv->rvl_text = copy;
            srv->rvl_serial = serial;
        }
    }
    pthread_mutex_unlock(&srv->rvl_lock);
out:
    free(L.ids);
    free(buf);
    return text;
}

char *offpayd_utxo_text(struct offpayd *srv, const uint8_t id[OFFPAY_UTXO_ID_BYTES], const uint8_t owner[OFFPAY_PUBLIC_KEY_BYTES],
                uint64_t amount)
{
    struct offpay_utxo u;
    uint8_t buf[OFFPAY_UTXO_BYTES];
    memset(&u, 0, sizeof u);
    memcpy(u.id, id, OFFPAY_UTXO_ID_BYTES);
    memcpy(u.owner, owner, OFFPAY_PUBLIC_KEY_BYTES);
    u.amount = amount;
    if (offpay_utxo_attest_with(&u, &srv->issuer) != OFFPAY_OK)
        return NULL;
    size_t n = offpay_utxo_encode(buf, sizeof buf, &u);
    return n ? offpayd_message_text(buf, n) : NULL;
}

/*
 * p11.c - Ed25519 keys in a PKCS#11 token, reached through a module loaded
 * with dlopen (see include/offpay/p11.h for what it promises).
 *
 * Why it is safe to put the key there without changing a byte on the wire:
 * offpay signs only a 32-byte BLAKE2b digest (crypto.c), and CKM_EDDSA with
 * no parameters is plain Ed25519 over the data it is given, so the token's
 * signature over the digest is the one libsodium would make.  offpay_p11_signer
 * checks exactly that once (a signature made in the token must verify under
 * the public key the caller expects) before it hands the signer out.
 *
 * Sessions: a Cryptoki session runs one operation at a time, so each
 * signature takes a session from a pool (opening one when the pool is
 * empty) and puts it back; login is per token and application, so every
 * session of the pool is logged in.  The first session, opened to log in,
 * stays open until close so the login lasts.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cryptoki.h"
#include "offpay/p11.h"

#define POOL_MAX 16 /* idle sessions kept for signing */
#define SLOTS_MAX 64
#define FIND_MAX 4

/* Every entry of the v2.x table, so a module's table is read at the right offsets. */
_Static_assert(sizeof(CK_FUNCTION_LIST) == offsetof(CK_FUNCTION_LIST, C_Initialize) + 68 * sizeof(CK_UNUSED_FN),
               "CK_FUNCTION_LIST must have the 68 functions of the specification");

struct offpay_p11 {
    void *module;
    CK_FUNCTION_LIST *f;
    int finalize; /* we initialised the module, so we finalise it */
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE login; /* held open so the login lasts */
    CK_OBJECT_HANDLE key;    /* the private key of the signer, once found */
    pthread_mutex_t lock;    /* guards idle[] and n_idle */
    CK_SESSION_HANDLE idle[POOL_MAX];
    size_t n_idle;
};

/* The DER forms of Ed25519's CKA_EC_PARAMS: the OID 1.3.101.112 (RFC 8410),
 * and the PrintableString "edwards25519" that older tokens expect. */
static const CK_BYTE ed25519_oid[] = {0x06, 0x03, 0x2B, 0x65, 0x70};
static const CK_BYTE ed25519_name[] = {0x13, 0x0C, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5', '1', '9'};

/* A fixed digest the token signs once to prove the key is the one expected. */
static const uint8_t probe[OFFPAY_HASH_BYTES] = "offpay/v1/p11 key check........";

static enum offpay_status fail(char *err, size_t cap, enum offpay_status s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum offpay_status fail(char *err, size_t cap, enum offpay_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return s;
}

/* A token label is 32 bytes padded with blanks. */
static int label_is(const CK_BYTE label[32], const char *want)
{
    size_t n = strlen(want);
    if (n > 32 || memcmp(label, want, n) != 0)
        return 0;
    for (size_t i = n; i < 32; i++)
        if (label[i] != ' ')
            return 0;
    return 1;
}

static enum offpay_status load(struct offpay_p11 *t, char *err, size_t cap, const char *module)
{
    CK_C_GetFunctionList get;
    CK_C_INITIALIZE_ARGS args;
    CK_RV rv;

    /* RTLD_NODELETE: the module stays mapped after offpay_p11_close, as
     * modules may keep state (their crypto library's) that outlives
     * C_Finalize; unloading it would leave that state unreachable. */
    if ((t->module = dlopen(module, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) == NULL) {
        snprintf(err, cap, "The PKCS#11 module %s cannot be loaded: %s.", module, dlerror());
        return OFFPAY_ERR_KEY_UNAVAILABLE;
    }
    *(void **)&get = dlsym(t->module, "C_GetFunctionList");
    if (get == NULL || get(&t->f) != CKR_OK || t->f == NULL) {
        snprintf(err, cap, "%s is not a PKCS#11 module.", module);
        return OFFPAY_ERR_KEY_UNAVAILABLE;
    }
    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK; /* we sign from several threads */
    rv = t->f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        return fail(err, cap, OFFPAY_ERR_KEY_UNAVAILABLE, "The PKCS#11 module could not be initialised (CKR 0x%lx).", rv);
    t->finalize = rv == CKR_OK;
    return OFFPAY_OK;
}

static enum offpay_status find_token(struct offpay_p11 *t, char *err, size_t cap, const char *label)
{
    CK_SLOT_ID slots[SLOTS_MAX];
    CK_ULONG n = SLOTS_MAX;
    CK_TOKEN_INFO info;

    if (t->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        n = 0;
    for (CK_ULONG i = 0; i < n; i++) {
        if (t->f->C_GetTokenInfo(slots[i], &info) == CKR_OK && label_is(info.label, label) &&
            (info.flags & CKF_TOKEN_INITIALIZED)) {
            t->slot = slots[i];
            return OFFPAY_OK;
        }
    }
    snprintf(err, cap, "No PKCS#11 token labelled \"%s\" is present.", label);
    return OFFPAY_ERR_KEY_UNAVAILABLE;
}

static enum offpay_status login(struct offpay_p11 *t, char *err, size_t cap, const char *pin)
{
    CK_RV rv = t->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &t->login);
    if (rv != CKR_OK) {
        t->login = CK_INVALID_HANDLE;
        return fail(err, cap, OFFPAY_ERR_KEY_UNAVAILABLE, "A session with the token could not be opened (CKR 0x%lx).", rv);
    }
    rv = t->f->C_Login(t->login, CKU_USER, (CK_BYTE *)pin, (CK_ULONG)strlen(pin));
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
        return OFFPAY_OK;
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE)
        return fail(err, cap, OFFPAY_ERR_KEY_UNAVAILABLE, "The token's PIN is wrong (CKR 0x%lx).", rv);
    if (rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED)
        return fail(err, cap, OFFPAY_ERR_KEY_UNAVAILABLE, "The token's PIN is locked or expired (CKR 0x%lx).", rv);
    return fail(err, cap, OFFPAY_ERR_KEY_UNAVAILABLE, "Logging in to the token failed (CKR 0x%lx).", rv);
}

enum offpay_status offpay_p11_open(struct offpay_p11 **out, char *err, size_t err_cap, const char *module,
                                   const char *token_label, const char *pin)
{
    struct offpay_p11 *t;
    enum offpay_status s;

    *out = NULL;
    if (sodium_init() < 0 || (t = calloc(1, sizeof *t)) == NULL)
        return fail(err, err_cap, OFFPAY_ERR_NOMEM, "Out of memory.");
    pthread_mutex_init(&t->lock, NULL);
    t->login = CK_INVALID_HANDLE;
    if ((s = load(t, err, err_cap, module)) == OFFPAY_OK && (s = find_token(t, err, err_cap, token_label)) == OFFPAY_OK)
        s = login(t, err, err_cap, pin);
    if (s != OFFPAY_OK) {
        offpay_p11_close(t);
        return s;
    }
    *out = t;
    return OFFPAY_OK;
}

void offpay_p11_close(struct offpay_p11 *t)
{
    if (t == NULL)
        return;
    if (t->f != NULL) {
        for (size_t i = 0; i < t->n_idle; i++)
            t->f->C_CloseSession(t->idle[i]);
        if (t->login != CK_INVALID_HANDLE) {
            t->f->C_Logout(t->login);
            t->f->C_CloseSession(t->login);
        }
        if (t->finalize)
            t->f->C_Finalize(NULL);
    }
    if (t->module != NULL)
        dlclose(t->module);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* ---- keys ---- */

/* The 32-byte public key out of a CKA_EC_POINT: a DER OCTET STRING (what
 * PKCS#11 3.0 says) or the bare 32 bytes (what some tokens give). */
static int ec_point_key(uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], const CK_BYTE *v, CK_ULONG n)
{
    if (n == OFFPAY_PUBLIC_KEY_BYTES + 2 && v[0] == 0x04 && v[1] == OFFPAY_PUBLIC_KEY_BYTES) {
        memcpy(pk, v + 2, OFFPAY_PUBLIC_KEY_BYTES);
        return 0;
    }
    if (n == OFFPAY_PUBLIC_KEY_BYTES) {
        memcpy(pk, v, OFFPAY_PUBLIC_KEY_BYTES);
        return 0;
    }
    return -1;
}

static CK_RV keypair(struct offpay_p11 *t, const CK_BYTE *params, CK_ULONG params_len, const char *label,
                     CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    CK_MECHANISM mech = {CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0};
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG ll = (CK_ULONG)strlen(label);
    CK_ATTRIBUTE pub_t[] = {
        {CKA_TOKEN, &yes, 1}, {CKA_PRIVATE, &no, 1}, {CKA_VERIFY, &yes, 1},
        {CKA_EC_PARAMS, (void *)params, params_len}, {CKA_LABEL, (void *)label, ll},
    };
    CK_ATTRIBUTE priv_t[] = {
        {CKA_TOKEN, &yes, 1}, {CKA_PRIVATE, &yes, 1}, {CKA_SIGN, &yes, 1},
        {CKA_SENSITIVE, &yes, 1}, {CKA_EXTRACTABLE, &no, 1}, {CKA_LABEL, (void *)label, ll},
    };
    return t->f->C_GenerateKeyPair(t->login, &mech, pub_t, sizeof pub_t / sizeof pub_t[0], priv_t,
                                   sizeof priv_t / sizeof priv_t[0], pub, priv);
}

enum offpay_status offpay_p11_generate(struct offpay_p11 *t, char *err, size_t err_cap,
                                       uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], const char *label)
{
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
    CK_BYTE point[80];
    CK_ATTRIBUTE get = {CKA_EC_POINT, point, sizeof point};
    CK_RV rv = keypair(t, ed25519_oid, sizeof ed25519_oid, label, &pub, &priv);

    if (rv != CKR_OK)
        rv = keypair(t, ed25519_name, sizeof ed25519_name, label, &pub, &priv);
    if (rv != CKR_OK)
        return fail(err, err_cap, OFFPAY_ERR_KEY_UNAVAILABLE,
                    "The token could not generate an Ed25519 key pair (CKR 0x%lx).", rv);
    rv = t->f->C_GetAttributeValue(t->login, pub, &get, 1);
    if (rv == CKR_OK && ec_point_key(pk, point, get.ulValueLen) == 0) {
        /* The public key is the key's id: how offpay_p11_signer finds it. */
        CK_ATTRIBUTE id = {CKA_ID, pk, OFFPAY_PUBLIC_KEY_BYTES};
        if ((rv = t->f->C_SetAttributeValue(t->login, priv, &id, 1)) == CKR_OK &&
            (rv = t->f->C_SetAttributeValue(t->login, pub, &id, 1)) == CKR_OK)
            return OFFPAY_OK;
    } else if (rv == CKR_OK) {
        rv = ~0UL; /* an EC_POINT we cannot read */
    }
    t->f->C_DestroyObject(t->login, priv);
    t->f->C_DestroyObject(t->login, pub);
    memset(pk, 0, OFFPAY_PUBLIC_KEY_BYTES);
    return fail(err, err_cap, OFFPAY_ERR_KEY_UNAVAILABLE, "The token's new key could not be named (CKR 0x%lx).", rv);
}

int offpay_p11_destroy(struct offpay_p11 *t, const uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES])
{
    CK_ATTRIBUTE want = {CKA_ID, (void *)pk, OFFPAY_PUBLIC_KEY_BYTES};
    CK_OBJECT_HANDLE found[FIND_MAX];
    CK_ULONG n = 0;
    int rc = 0;

    if (t->f->C_FindObjectsInit(t->login, &want, 1) != CKR_OK)
        return -1;
    if (t->f->C_FindObjects(t->login, found, FIND_MAX, &n) != CKR_OK)
        rc = -1;
    t->f->C_FindObjectsFinal(t->login);
    for (CK_ULONG i = 0; rc == 0 && i < n; i++)
        if (t->f->C_DestroyObject(t->login, found[i]) != CKR_OK)
            rc = -1;
    return rc;
}

/* ---- signing ---- */

static int session_take(struct offpay_p11 *t, CK_SESSION_HANDLE *s)
{
    pthread_mutex_lock(&t->lock);
    int have = t->n_idle > 0;
    if (have)
        *s = t->idle[--t->n_idle];
    pthread_mutex_unlock(&t->lock);
    if (have)
        return 0;
    return t->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL, s) == CKR_OK ? 0 : -1;
}

static void session_give(struct offpay_p11 *t, CK_SESSION_HANDLE s, int healthy)
{
    pthread_mutex_lock(&t->lock);
    if (healthy && t->n_idle < POOL_MAX) {
        t->idle[t->n_idle++] = s;
        s = CK_INVALID_HANDLE;
    }
    pthread_mutex_unlock(&t->lock);
    if (s != CK_INVALID_HANDLE)
        t->f->C_CloseSession(s);
}

static int p11_sign_digest(void *ctx, uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t digest[OFFPAY_HASH_BYTES])
{
    struct offpay_p11 *t = ctx;
    CK_MECHANISM mech = {CKM_EDDSA, NULL, 0};
    CK_SESSION_HANDLE s;
    CK_ULONG len = OFFPAY_SIGNATURE_BYTES;
    CK_RV rv;

    if (session_take(t, &s) != 0)
        return -1;
    rv = t->f->C_SignInit(s, &mech, t->key);
    if (rv == CKR_OK)
        rv = t->f->C_Sign(s, (CK_BYTE *)digest, OFFPAY_HASH_BYTES, sig, &len);
    /* A failed C_Sign ends the operation; C_SignInit's failure leaves none. */
    session_give(t, s, rv == CKR_OK);
    return rv == CKR_OK && len == OFFPAY_SIGNATURE_BYTES ? 0 : -1;
}

static enum offpay_status find_key(struct offpay_p11 *t, char *err, size_t cap, const uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES])
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = CKK_EC_EDWARDS;
    CK_ATTRIBUTE want[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt},
                           {CKA_ID, (void *)pk, OFFPAY_PUBLIC_KEY_BYTES}};
    CK_OBJECT_HANDLE found[FIND_MAX];
    CK_ULONG n = 0;
    CK_BBOOL extractable = CK_TRUE, sensitive = CK_FALSE;
    CK_ATTRIBUTE flags[] = {{CKA_EXTRACTABLE, &extractable, 1}, {CKA_SENSITIVE, &sensitive, 1}};
    CK_RV rv = t->f->C_FindObjectsInit(t->login, want, sizeof want / sizeof want[0]);

    if (rv == CKR_OK) {
        rv = t->f->C_FindObjects(t->login, found, FIND_MAX, &n);
        t->f->C_FindObjectsFinal(t->login);
    }
    if (rv != CKR_OK)
        return fail(err, cap, OFFPAY_ERR_KEY_UNAVAILABLE, "The token could not be searched (CKR 0x%lx).", rv);
    if (n != 1)
        return fail(err, cap, OFFPAY_ERR_KEY_UNAVAILABLE,
                    "The token holds %s private key for this public key.", n == 0 ? "no" : "more than one");
    if (t->f->C_GetAttributeValue(t->login, found[0], flags, 2) != CKR_OK || extractable != CK_FALSE ||
        sensitive != CK_TRUE)
        return fail(err, cap, OFFPAY_ERR_KEY_UNAVAILABLE,
                    "The token's key can be exported (extractable or not sensitive); offpay uses only keys "
                    "that cannot leave the token.");
    t->key = found[0];
    return OFFPAY_OK;
}

enum offpay_status offpay_p11_signer(struct offpay_p11 *t, char *err, size_t err_cap, struct offpay_signer *s,
                                     const uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES])
{
    uint8_t sig[OFFPAY_SIGNATURE_BYTES];
    enum offpay_status st;

    memset(s, 0, sizeof *s);
    if ((st = find_key(t, err, err_cap, pk)) != OFFPAY_OK)
        return st;
    if (p11_sign_digest(t, sig, probe) != 0 ||
        crypto_sign_ed25519_verify_detached(sig, probe, sizeof probe, pk) != 0)
        return fail(err, err_cap, OFFPAY_ERR_KEY_UNAVAILABLE,
                    "The token's key does not make Ed25519 signatures under the expected public key.");
    s->sign_digest = p11_sign_digest;
    s->ctx = t;
    memcpy(s->public_key, pk, OFFPAY_PUBLIC_KEY_BYTES);
    return OFFPAY_OK;
}

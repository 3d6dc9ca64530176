/*
 * sealed.c - a key seed sealed under a passphrase (see include/offpay/sealed.h
 * for the format and what it promises).
 *
 * The key derived from the passphrase and the opened seed live only in
 * sodium_malloc memory (locked, guarded, wiped on free); the caller's seed
 * buffer gets the seed only when the tag verified.
 */
#include <string.h>

#include <sodium.h>

#include "offpay/sealed.h"

#define MAGIC_BYTES 8
#define OFF_VERSION MAGIC_BYTES
#define OFF_OPS (OFF_VERSION + 1)
#define OFF_MEM (OFF_OPS + 4)
#define OFF_SALT (OFF_MEM + 8)
#define OFF_NONCE (OFF_SALT + OFFPAY_SEALED_KEY_SALT_BYTES)

_Static_assert(OFF_NONCE + OFFPAY_SEALED_KEY_NONCE_BYTES == OFFPAY_SEALED_KEY_HEADER_BYTES, "header layout");
_Static_assert(OFFPAY_SEALED_KEY_SALT_BYTES == crypto_pwhash_argon2id_SALTBYTES, "Argon2id salt");
_Static_assert(OFFPAY_SEALED_KEY_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "XChaCha20 nonce");
_Static_assert(OFFPAY_SEALED_KEY_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "Poly1305 tag");
_Static_assert(sizeof OFFPAY_SEALED_KEY_MAGIC == MAGIC_BYTES + 1, "magic");

static uint64_t get_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void put_be(uint8_t *p, size_t n, uint64_t v)
{
    for (size_t i = n; i-- > 0; v >>= 8)
        p[i] = (uint8_t)v;
}

enum offpay_status offpay_sealed_key_check(const uint8_t *in, size_t len)
{
    if (len < OFFPAY_SEALED_KEY_BYTES)
        return OFFPAY_ERR_TRUNCATED;
    if (len > OFFPAY_SEALED_KEY_BYTES)
        return OFFPAY_ERR_TRAILING_BYTES;
    if (memcmp(in, OFFPAY_SEALED_KEY_MAGIC, MAGIC_BYTES) != 0)
        return OFFPAY_ERR_MALFORMED;
    if (in[OFF_VERSION] != OFFPAY_SEALED_KEY_VERSION)
        return OFFPAY_ERR_BAD_VERSION;
    uint64_t ops = get_be(in + OFF_OPS, 4), mem = get_be(in + OFF_MEM, 8);
    if (ops < crypto_pwhash_argon2id_OPSLIMIT_MIN || ops > OFFPAY_SEALED_KEY_OPSLIMIT_MAX ||
        mem < crypto_pwhash_argon2id_MEMLIMIT_MIN || mem > OFFPAY_SEALED_KEY_MEMLIMIT_MAX || mem % 1024 != 0)
        return OFFPAY_ERR_MALFORMED;
    return OFFPAY_OK;
}

/* The AEAD key from the passphrase and the header's costs and salt.
 * Returns 0, or -1 when Argon2id could not get its memory. */
static int derive(uint8_t *key, const uint8_t *header, const char *passphrase)
{
    return crypto_pwhash_argon2id(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, passphrase, strlen(passphrase),
                                  header + OFF_SALT, get_be(header + OFF_OPS, 4), (size_t)get_be(header + OFF_MEM, 8),
                                  crypto_pwhash_argon2id_ALG_ARGON2ID13);
}

enum offpay_status offpay_sealed_key_seal(uint8_t out[OFFPAY_SEALED_KEY_BYTES], const uint8_t seed[OFFPAY_SEED_BYTES],
                                          const char *passphrase)
{
    uint8_t *key;
    enum offpay_status s = OFFPAY_OK;

    memset(out, 0, OFFPAY_SEALED_KEY_BYTES);
    if (sodium_init() < 0)
        return OFFPAY_ERR_CRYPTO_INIT;
    if ((key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)) == NULL)
        return OFFPAY_ERR_NOMEM;
    memcpy(out, OFFPAY_SEALED_KEY_MAGIC, MAGIC_BYTES);
    out[OFF_VERSION] = OFFPAY_SEALED_KEY_VERSION;
    put_be(out + OFF_OPS, 4, OFFPAY_SEALED_KEY_OPSLIMIT);
    put_be(out + OFF_MEM, 8, OFFPAY_SEALED_KEY_MEMLIMIT);
    randombytes_buf(out + OFF_SALT, OFFPAY_SEALED_KEY_SALT_BYTES);
    randombytes_buf(out + OFF_NONCE, OFFPAY_SEALED_KEY_NONCE_BYTES);
    if (derive(key, out, passphrase) != 0) {
        s = OFFPAY_ERR_NOMEM;
        memset(out, 0, OFFPAY_SEALED_KEY_BYTES);
    } else {
        crypto_aead_xchacha20poly1305_ietf_encrypt(out + OFFPAY_SEALED_KEY_HEADER_BYTES, NULL, seed, OFFPAY_SEED_BYTES,
                                                   out, OFFPAY_SEALED_KEY_HEADER_BYTES, NULL, out + OFF_NONCE, key);
    }
    sodium_free(key); /* wipes */
    return s;
}

/* Open into guarded memory.  Out: *seed_out (sodium_malloc'd, freed by the caller). */
static enum offpay_status open_guarded(uint8_t **seed_out, const uint8_t *in, size_t len, const char *passphrase)
{
    uint8_t *key = NULL, *seed = NULL;
    enum offpay_status s;

    *seed_out = NULL;
    if ((s = offpay_sealed_key_check(in, len)) != OFFPAY_OK)
        return s;
    if (sodium_init() < 0)
        return OFFPAY_ERR_CRYPTO_INIT;
    key = sodium_malloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
    seed = sodium_malloc(OFFPAY_SEED_BYTES);
    if (key == NULL || seed == NULL)
        s = OFFPAY_ERR_NOMEM;
    else if (derive(key, in, passphrase) != 0)
        s = OFFPAY_ERR_NOMEM;
    else if (crypto_aead_xchacha20poly1305_ietf_decrypt(seed, NULL, NULL, in + OFFPAY_SEALED_KEY_HEADER_BYTES,
                                                        OFFPAY_SEED_BYTES + OFFPAY_SEALED_KEY_TAG_BYTES, in,
                                                        OFFPAY_SEALED_KEY_HEADER_BYTES, in + OFF_NONCE, key) != 0)
        s = OFFPAY_ERR_KEY_UNAVAILABLE;
    if (key != NULL)
        sodium_free(key);
    if (s != OFFPAY_OK) {
        if (seed != NULL)
            sodium_free(seed);
        return s;
    }
    *seed_out = seed;
    return OFFPAY_OK;
}

enum offpay_status offpay_sealed_key_open(uint8_t seed[OFFPAY_SEED_BYTES], const uint8_t *in, size_t len,
                                          const char *passphrase)
{
    uint8_t *g;
    enum offpay_status s = open_guarded(&g, in, len, passphrase);

    memset(seed, 0, OFFPAY_SEED_BYTES);
    if (s == OFFPAY_OK) {
        memcpy(seed, g, OFFPAY_SEED_BYTES);
        sodium_free(g);
    }
    return s;
}

enum offpay_status offpay_sealed_key_reseal(uint8_t out[OFFPAY_SEALED_KEY_BYTES], const uint8_t *in, size_t len,
                                            const char *old_passphrase, const char *new_passphrase)
{
    uint8_t *g;
    enum offpay_status s = open_guarded(&g, in, len, old_passphrase);

    memset(out, 0, OFFPAY_SEALED_KEY_BYTES);
    if (s != OFFPAY_OK)
        return s;
    s = offpay_sealed_key_seal(out, g, new_passphrase);
    sodium_free(g);
    return s;
}

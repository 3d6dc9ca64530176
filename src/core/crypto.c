/*
 * crypto.c - offpay's primitives on libsodium: Ed25519, BLAKE2b-256, random,
 * wiping.  Domain separation lives here: offpay_sign() signs
 * BLAKE2b-256(key = tag, message = body), never the body itself.  Because
 * only that digest is ever signed, a signer (struct offpay_signer) needs to
 * do nothing but sign 32 bytes: the in-memory key below, or a key in a token.
 */
#include <sodium.h>
#include <string.h>

#include "offpay/crypto.h"

int offpay_crypto_init(void) { return sodium_init() < 0 ? -1 : 0; }

void offpay_keypair(uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], uint8_t sk[OFFPAY_SECRET_KEY_BYTES])
{
    crypto_sign_ed25519_keypair(pk, sk);
}

void offpay_keypair_from_seed(uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], uint8_t sk[OFFPAY_SECRET_KEY_BYTES],
                              const uint8_t seed[OFFPAY_SEED_BYTES])
{
    crypto_sign_ed25519_seed_keypair(pk, sk, seed);
}

void offpay_random(void *buf, size_t len) { randombytes_buf(buf, len); }

void offpay_hash(uint8_t out[OFFPAY_HASH_BYTES], const uint8_t *in, size_t in_len)
{
    crypto_generichash(out, OFFPAY_HASH_BYTES, in, in_len, NULL, 0);
}

static void tagged_digest2(uint8_t out[OFFPAY_HASH_BYTES], const char *tag, const uint8_t *a, size_t a_len,
                           const uint8_t *b, size_t b_len)
{
    crypto_generichash_state st;
    size_t tag_len = strlen(tag);
    /* BLAKE2b keys are at most 64 bytes; our tags are far shorter. */
    if (tag_len > crypto_generichash_KEYBYTES_MAX)
        tag_len = crypto_generichash_KEYBYTES_MAX;
    crypto_generichash_init(&st, (const unsigned char *)tag, tag_len, OFFPAY_HASH_BYTES);
    if (a_len > 0)
        crypto_generichash_update(&st, a, a_len);
    if (b_len > 0)
        crypto_generichash_update(&st, b, b_len);
    crypto_generichash_final(&st, out, OFFPAY_HASH_BYTES);
}

static void tagged_digest(uint8_t out[OFFPAY_HASH_BYTES], const char *tag, const uint8_t *body, size_t body_len)
{
    tagged_digest2(out, tag, body, body_len, NULL, 0);
}

/* The in-memory signer: ctx is the 64-byte libsodium secret key. */
static int key_sign_digest(void *ctx, uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t digest[OFFPAY_HASH_BYTES])
{
    return crypto_sign_ed25519_detached(sig, NULL, digest, OFFPAY_HASH_BYTES, ctx) == 0 ? 0 : -1;
}

void offpay_signer_from_key(struct offpay_signer *s, const uint8_t sk[OFFPAY_SECRET_KEY_BYTES])
{
    s->sign_digest = key_sign_digest;
    s->ctx = (void *)sk; /* only ever read */
    memcpy(s->public_key, sk + OFFPAY_SEED_BYTES, OFFPAY_PUBLIC_KEY_BYTES);
}

int offpay_sign2_with(uint8_t sig[OFFPAY_SIGNATURE_BYTES], const struct offpay_signer *s, const char *tag,
                      const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    uint8_t digest[OFFPAY_HASH_BYTES];
    tagged_digest2(digest, tag, a, a_len, b, b_len);
    if (s == NULL || s->sign_digest == NULL || s->sign_digest(s->ctx, sig, digest) != 0) {
        memset(sig, 0, OFFPAY_SIGNATURE_BYTES);
        return -1;
    }
    return 0;
}

int offpay_sign_with(uint8_t sig[OFFPAY_SIGNATURE_BYTES], const struct offpay_signer *s, const char *tag,
                     const uint8_t *body, size_t body_len)
{
    return offpay_sign2_with(sig, s, tag, body, body_len, NULL, 0);
}

void offpay_sign2(uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t sk[OFFPAY_SECRET_KEY_BYTES], const char *tag,
                  const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    struct offpay_signer s;
    offpay_signer_from_key(&s, sk);
    /* The in-memory signer cannot fail. */
    (void)!offpay_sign2_with(sig, &s, tag, a, a_len, b, b_len);
}

int offpay_verify2(const uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], const char *tag,
                   const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    uint8_t digest[OFFPAY_HASH_BYTES];
    tagged_digest2(digest, tag, a, a_len, b, b_len);
    return crypto_sign_ed25519_verify_detached(sig, digest, sizeof digest, pk) == 0 ? 0 : -1;
}

void offpay_sign(uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t sk[OFFPAY_SECRET_KEY_BYTES], const char *tag,
                 const uint8_t *body, size_t body_len)
{
    offpay_sign2(sig, sk, tag, body, body_len, NULL, 0);
}

int offpay_verify(const uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], const char *tag,
                  const uint8_t *body, size_t body_len)
{
    uint8_t digest[OFFPAY_HASH_BYTES];
    tagged_digest(digest, tag, body, body_len);
    return crypto_sign_ed25519_verify_detached(sig, digest, sizeof digest, pk) == 0 ? 0 : -1;
}

void offpay_wipe(void *p, size_t len) { sodium_memzero(p, len); }

void offpay_hex(char *out, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int offpay_unhex(uint8_t *out, size_t out_len, const char *hex)
{
    if (hex == NULL || strlen(hex) != 2 * out_len)
        return -1;
    for (size_t i = 0; i < out_len; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            memset(out, 0, out_len);
            return -1;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

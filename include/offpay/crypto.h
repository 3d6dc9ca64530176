/*
 * crypto.h - the few primitives offpay uses, all through libsodium.
 *
 * Ed25519 for every signature, BLAKE2b-256 for every hash, the operating
 * system's generator for every random byte.  Signatures are domain-separated:
 * what is signed is BLAKE2b-256 keyed with a per-message-type tag over the
 * message body, so a signature made for one kind of message never verifies
 * as another kind.
 */
#ifndef OFFPAY_CRYPTO_H
#define OFFPAY_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define OFFPAY_PUBLIC_KEY_BYTES 32
#define OFFPAY_SECRET_KEY_BYTES 64 /* libsodium's seed || public key form */
#define OFFPAY_SEED_BYTES 32
#define OFFPAY_SIGNATURE_BYTES 64
#define OFFPAY_HASH_BYTES 32

#ifndef OFFPAY_WARN_UNUSED /* also in status.h, which an app includes without this header */
#if defined(__GNUC__)
#define OFFPAY_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define OFFPAY_WARN_UNUSED
#endif
#endif

/* Returns: 0 once libsodium is ready, -1 if it cannot be initialised.
 * Safe to call any number of times, from any thread. */
int offpay_crypto_init(void) OFFPAY_WARN_UNUSED;

/* Out: pk, sk (a fresh key pair).  The caller must wipe sk when done. */
void offpay_keypair(uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], uint8_t sk[OFFPAY_SECRET_KEY_BYTES]);

/* Out: pk, sk derived from seed (deterministic; for test vectors). */
void offpay_keypair_from_seed(uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES],
                              uint8_t sk[OFFPAY_SECRET_KEY_BYTES],
                              const uint8_t seed[OFFPAY_SEED_BYTES]);

/* Out: buf filled with len bytes from the secure generator. */
void offpay_random(void *buf, size_t len);

/* Out: out = BLAKE2b-256(in). */
void offpay_hash(uint8_t out[OFFPAY_HASH_BYTES], const uint8_t *in, size_t in_len);

/* Sign body under the domain tag (a NUL-terminated string of at most 64 bytes).
 * Out: sig.  In: sk, tag, body. */
void offpay_sign(uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t sk[OFFPAY_SECRET_KEY_BYTES],
                 const char *tag, const uint8_t *body, size_t body_len);

/* Returns: 0 if sig is pk's signature of body under tag, -1 otherwise. */
int offpay_verify(const uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES],
                  const char *tag, const uint8_t *body, size_t body_len) OFFPAY_WARN_UNUSED;

/* The same, over a body given in two parts (body = a || b), so a large
 * message need not be copied to be signed.  offpay_sign2(.., a, al, b, bl)
 * makes exactly the signature offpay_sign makes over the concatenation. */
void offpay_sign2(uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t sk[OFFPAY_SECRET_KEY_BYTES], const char *tag,
                  const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);
int offpay_verify2(const uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], const char *tag,
                   const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) OFFPAY_WARN_UNUSED;

/*
 * A signer: whatever holds a private key and makes Ed25519 signatures with it.
 *
 * Every offpay signature is Ed25519 over a 32-byte digest (BLAKE2b-256 keyed
 * with the domain tag over the body), so a signer only ever signs a digest.
 * That is what lets the key live elsewhere (a PKCS#11 token signs with
 * CKM_EDDSA over the same 32 bytes): the message and its signature are the
 * same bytes whichever signer made them.
 *
 * sign_digest: Out: sig, the Ed25519 signature of the 32 bytes of digest.
 *   Returns 0, or -1 when the key cannot be used (token gone, session lost,
 *   not logged in); it may leave sig undefined on -1.
 * ctx: passed to sign_digest as is; owned by whoever set the signer up.
 * public_key: the key the signatures verify under.
 */
struct offpay_signer {
    int (*sign_digest)(void *ctx, uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t digest[OFFPAY_HASH_BYTES]);
    void *ctx;
    uint8_t public_key[OFFPAY_PUBLIC_KEY_BYTES];
};

/* A signer over a key in memory.  Out: s.  In: sk, which s points to (not
 * copied): it must outlive s, and the caller still owns and wipes it. */
void offpay_signer_from_key(struct offpay_signer *s, const uint8_t sk[OFFPAY_SECRET_KEY_BYTES]);

/* offpay_sign and offpay_sign2 through a signer.  Out: sig, all zero on failure.
 * Returns: 0, or -1 when the signer could not sign. */
int offpay_sign_with(uint8_t sig[OFFPAY_SIGNATURE_BYTES], const struct offpay_signer *s, const char *tag,
                     const uint8_t *body, size_t body_len) OFFPAY_WARN_UNUSED;
int offpay_sign2_with(uint8_t sig[OFFPAY_SIGNATURE_BYTES], const struct offpay_signer *s, const char *tag,
                      const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) OFFPAY_WARN_UNUSED;

/* Wipe len bytes at p so the compiler cannot skip it. */
void offpay_wipe(void *p, size_t len);

/* Hex helpers.  offpay_hex writes 2*len+1 bytes (NUL-terminated).
 * offpay_unhex returns 0 only if hex is exactly 2*out_len lowercase/uppercase hex digits. */
void offpay_hex(char *out, const uint8_t *in, size_t len);
int offpay_unhex(uint8_t *out, size_t out_len, const char *hex) OFFPAY_WARN_UNUSED;

#endif

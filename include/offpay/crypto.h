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

#if defined(__GNUC__)
#define OFFPAY_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define OFFPAY_WARN_UNUSED
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

/* Wipe len bytes at p so the compiler cannot skip it. */
void offpay_wipe(void *p, size_t len);

/* Hex helpers.  offpay_hex writes 2*len+1 bytes (NUL-terminated).
 * offpay_unhex returns 0 only if hex is exactly 2*out_len lowercase/uppercase hex digits. */
void offpay_hex(char *out, const uint8_t *in, size_t len);
int offpay_unhex(uint8_t *out, size_t out_len, const char *hex) OFFPAY_WARN_UNUSED;

#endif

/*
 * sealed.h - a wallet's secret key sealed under a passphrase, as it rests on
 * disk (DIR/key.sealed, docs/wallet.md "Where the key lives").
 *
 * Sealing derives a 32-byte key from the passphrase with Argon2id (libsodium
 * crypto_pwhash, a fresh random salt) and encrypts the key's 32-byte seed
 * with XChaCha20-Poly1305 under it; the header (format version, Argon2id's
 * costs, salt, nonce) is the AEAD's associated data, so none of it can be
 * changed without the opening failing.  The format, version 1, big-endian,
 * OFFPAY_SEALED_KEY_BYTES in all:
 *
 *   magic "offpaysk" (8) | version 1 (1) | opslimit (4) | memlimit (8)
 *   | salt (16) | nonce (24) | ciphertext of the seed with its tag (48)
 *
 * The decoder is strict: exact length, magic and version, costs within the
 * bounds below (a file cannot make the wallet spend more than a gigabyte), the
 * memory cost a whole number of KiB.  A wrong passphrase and a file altered
 * after sealing look the same: the tag does not verify.
 */
#ifndef OFFPAY_SEALED_H
#define OFFPAY_SEALED_H

#include <stddef.h>
#include <stdint.h>

#include "offpay/crypto.h"
#include "offpay/status.h"

#define OFFPAY_SEALED_KEY_MAGIC "offpaysk"
#define OFFPAY_SEALED_KEY_VERSION 1
#define OFFPAY_SEALED_KEY_SALT_BYTES 16
#define OFFPAY_SEALED_KEY_NONCE_BYTES 24
#define OFFPAY_SEALED_KEY_TAG_BYTES 16
#define OFFPAY_SEALED_KEY_HEADER_BYTES (8 + 1 + 4 + 8 + OFFPAY_SEALED_KEY_SALT_BYTES + OFFPAY_SEALED_KEY_NONCE_BYTES)
#define OFFPAY_SEALED_KEY_BYTES (OFFPAY_SEALED_KEY_HEADER_BYTES + OFFPAY_SEED_BYTES + OFFPAY_SEALED_KEY_TAG_BYTES)

/* The costs a sealed key may carry: from libsodium's minimum up to twice
 * the passes and the memory (1 GiB) of its "sensitive" level. */
#define OFFPAY_SEALED_KEY_OPSLIMIT_MAX 8u
#define OFFPAY_SEALED_KEY_MEMLIMIT_MAX (1ull << 30)

/* The costs offpay seals with (libsodium's "interactive": 2 passes, 64 MiB,
 * about a tenth of a second; each unlock pays it once). */
#define OFFPAY_SEALED_KEY_OPSLIMIT 2u
#define OFFPAY_SEALED_KEY_MEMLIMIT (64ull << 20)

/* Seal seed under passphrase (NUL-ended) with the costs above.
 * Out: out (OFFPAY_SEALED_KEY_BYTES).  Returns: OFFPAY_OK, OFFPAY_ERR_NOMEM
 * (Argon2id could not get its memory), OFFPAY_ERR_CRYPTO_INIT. */
enum offpay_status offpay_sealed_key_seal(uint8_t out[OFFPAY_SEALED_KEY_BYTES], const uint8_t seed[OFFPAY_SEED_BYTES],
                                          const char *passphrase) OFFPAY_WARN_UNUSED;

/* Check that in[0..len) is a well-formed sealed key (everything the opening
 * checks but the tag).  Returns: OFFPAY_OK, OFFPAY_ERR_TRUNCATED,
 * OFFPAY_ERR_TRAILING_BYTES, OFFPAY_ERR_MALFORMED (magic, costs),
 * OFFPAY_ERR_BAD_VERSION. */
enum offpay_status offpay_sealed_key_check(const uint8_t *in, size_t len) OFFPAY_WARN_UNUSED;

/* Open in[0..len) with passphrase.  Out: seed, all zero on failure.
 * Returns: OFFPAY_OK, a decoding failure as offpay_sealed_key_check,
 * OFFPAY_ERR_KEY_UNAVAILABLE (wrong passphrase, or the file was altered),
 * OFFPAY_ERR_NOMEM. */
enum offpay_status offpay_sealed_key_open(uint8_t seed[OFFPAY_SEED_BYTES], const uint8_t *in, size_t len,
                                          const char *passphrase) OFFPAY_WARN_UNUSED;

/* Seal again under a new passphrase with fresh salt and nonce (the costs of
 * offpay_sealed_key_seal), after opening with the old one.  Out: out; seed is
 * never outside guarded memory.  Returns: as offpay_sealed_key_open, then as
 * offpay_sealed_key_seal. */
enum offpay_status offpay_sealed_key_reseal(uint8_t out[OFFPAY_SEALED_KEY_BYTES], const uint8_t *in, size_t len,
                                            const char *old_passphrase, const char *new_passphrase) OFFPAY_WARN_UNUSED;

#endif

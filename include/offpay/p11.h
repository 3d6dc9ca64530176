/*
 * p11.h - Ed25519 keys inside a PKCS#11 token (smart card, secure element,
 * HSM; SoftHSM2 in the tests), for the wallet key and the issuer key.
 *
 * The key pair is generated in the token, its private half sensitive and not
 * extractable, so it never exists outside the token; every signature is made
 * there with CKM_EDDSA over the 32-byte digest offpay signs (crypto.h), which
 * is byte for byte the Ed25519 signature libsodium would make with the same
 * key.  A key is found again by its public key (stored as its CKA_ID).
 *
 * The token's module is loaded at run time (dlopen), so programs built with
 * this work where no token library is installed until one is asked for.
 * One struct offpay_p11 is one module, one token, logged in as its user; it
 * may sign from several threads at once (each signature takes a session of
 * its own from a small pool).  Every failure to reach or use the key (module
 * missing, token missing, wrong or locked PIN, no such key) is
 * OFFPAY_ERR_KEY_UNAVAILABLE with a sentence in err.
 */
#ifndef OFFPAY_P11_H
#define OFFPAY_P11_H

#include <stddef.h>
#include <stdint.h>

#include "offpay/crypto.h"
#include "offpay/status.h"

struct offpay_p11;

/* Load module (a file name for dlopen), find the token whose label is
 * token_label, open a session and log in as the user with pin (a NUL-ended
 * string, not kept).  Out: *t (close with offpay_p11_close); err (err_cap
 * bytes) says why on failure.  Returns: OFFPAY_OK, OFFPAY_ERR_KEY_UNAVAILABLE,
 * OFFPAY_ERR_NOMEM. */
enum offpay_status offpay_p11_open(struct offpay_p11 **t, char *err, size_t err_cap, const char *module,
                                   const char *token_label, const char *pin) OFFPAY_WARN_UNUSED;

/* Generate an Ed25519 key pair in t's token (private half sensitive, not
 * extractable, sign only), labelled label, its CKA_ID the public key.
 * Out: pk.  Returns: OFFPAY_OK, or OFFPAY_ERR_KEY_UNAVAILABLE when the token
 * cannot (no EdDSA, full, read only); nothing is left in the token then. */
enum offpay_status offpay_p11_generate(struct offpay_p11 *t, char *err, size_t err_cap,
                                       uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], const char *label) OFFPAY_WARN_UNUSED;

/* Find the private key whose public key is pk, check that it is not
 * extractable and that a signature it makes verifies under pk.  Out: s, a
 * signer that signs in the token, valid until offpay_p11_close(t).
 * Returns: OFFPAY_OK or OFFPAY_ERR_KEY_UNAVAILABLE. */
enum offpay_status offpay_p11_signer(struct offpay_p11 *t, char *err, size_t err_cap, struct offpay_signer *s,
                                     const uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES]) OFFPAY_WARN_UNUSED;

/* Destroy the key pair whose public key (CKA_ID) is pk, both halves, in t's
 * token: an enrolment that was refused leaves no key behind.  Returns 0, or
 * -1 when a half could not be destroyed (one never made is no failure). */
int offpay_p11_destroy(struct offpay_p11 *t, const uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES]);

/* Log out, close every session, unload the module.  t may be NULL. */
void offpay_p11_close(struct offpay_p11 *t);

#endif

/*
 * http_auth.h - the signature that authenticates a wallet's HTTP request.
 *
 * docs/api.md: the wallet signs, with offpay_sign under OFFPAY_HTTP_AUTH_TAG,
 * the bytes METHOD "\n" PATH "\n" hex(BLAKE2b-256(body)) "\n" TIMESTAMP "\n" NONCE
 * and sends wallet id, timestamp, nonce and signature as X-Offpay-* headers.
 * Part of the core (src/core/http_auth.c): shared by the client (which signs)
 * and the server (which verifies), so both build the signed bytes with the
 * same code.  The nonce's size, OFFPAY_HTTP_NONCE_BYTES, is in messages.h
 * with the other sizes, since the ledger stores used nonces.
 */
#ifndef OFFPAY_HTTP_AUTH_H
#define OFFPAY_HTTP_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "offpay/crypto.h"
#include "offpay/messages.h"

#define OFFPAY_HTTP_AUTH_TAG "offpay/v1/http"
#define OFFPAY_HTTP_MAX_SKEW 300 /* seconds a timestamp may be away from the server's clock */

#define OFFPAY_HTTP_HEADER_WALLET "X-Offpay-Wallet"
#define OFFPAY_HTTP_HEADER_TIMESTAMP "X-Offpay-Timestamp"
#define OFFPAY_HTTP_HEADER_NONCE "X-Offpay-Nonce"
#define OFFPAY_HTTP_HEADER_SIGNATURE "X-Offpay-Signature"

/*
 * Out: sig.  In: sk, method, path (no query string), body (body_len bytes,
 * may be NULL when 0), timestamp (decimal string), nonce_hex (32 hex).
 */
void offpay_http_auth_sign(uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t sk[OFFPAY_SECRET_KEY_BYTES],
                           const char *method, const char *path, const uint8_t *body, size_t body_len,
                           const char *timestamp, const char *nonce_hex);

/* The same through a signer (crypto.h).  Returns: 0, or -1 when the message
 * is too long or the signer could not sign (sig is then all zero). */
int offpay_http_auth_sign_with(uint8_t sig[OFFPAY_SIGNATURE_BYTES], const struct offpay_signer *key, const char *method,
                               const char *path, const uint8_t *body, size_t body_len, const char *timestamp,
                               const char *nonce_hex) OFFPAY_WARN_UNUSED;

/* Returns: 0 if sig is pk's authentication signature over these parts, else -1. */
int offpay_http_auth_verify(const uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES],
                            const char *method, const char *path, const uint8_t *body, size_t body_len,
                            const char *timestamp, const char *nonce_hex) OFFPAY_WARN_UNUSED;

#endif

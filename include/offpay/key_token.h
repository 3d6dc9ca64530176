/*
 * key_token.h - key.token, the file that names a wallet's key in a PKCS#11
 * token (docs/wallet.md "Where the key lives").  It is text, four lines, each
 * ending in "\n", nothing else:
 *
 *   offpay-pkcs11-key 1
 *   module MODULE          the module's file name as given at init
 *   token LABEL            1..32 bytes, printable ASCII, no blank at the end
 *   id HEX                 64 lowercase hex digits: the public key, CKA_ID
 *
 * It holds nothing secret: without the token and its PIN it is of no use.
 * The decoder is strict: what it accepts encodes back to the same bytes.
 */
#ifndef OFFPAY_KEY_TOKEN_H
#define OFFPAY_KEY_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "offpay/crypto.h"
#include "offpay/status.h"

#define OFFPAY_KEY_TOKEN_MAGIC "offpay-pkcs11-key 1"
#define OFFPAY_KEY_TOKEN_LABEL_MAX 32 /* a PKCS#11 token label */
#define OFFPAY_KEY_TOKEN_MODULE_MAX 1024
/* Room for any key.token (and a little more). */
#define OFFPAY_KEY_TOKEN_BYTES_MAX                                                                                     \
    (sizeof OFFPAY_KEY_TOKEN_MAGIC + OFFPAY_KEY_TOKEN_MODULE_MAX + OFFPAY_KEY_TOKEN_LABEL_MAX +                        \
     2 * OFFPAY_PUBLIC_KEY_BYTES + 32)

/* Returns: 1 when s[0..n) may be a token label (1..32 printable ASCII bytes,
 * not ending in a blank), else 0. */
int offpay_key_token_label_ok(const char *s, size_t n);

/* Returns: 1 when s[0..n) may be a module's file name (1..1024 bytes, no
 * control character), else 0. */
int offpay_key_token_module_ok(const char *s, size_t n);

/* Write the key.token naming public key pk in the token labelled label
 * (NUL-ended) of module (NUL-ended).  Out: out[0..*len), NUL-ended when it
 * fits in cap.  Returns: 0, or -1 when module or label is not well formed or
 * the file does not fit in cap. */
int offpay_key_token_encode(uint8_t *out, size_t cap, size_t *len, const char *module, const char *label,
                            const uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES]) OFFPAY_WARN_UNUSED;

/* Decode key.token in[0..len) strictly.  Out: module, label (NUL-ended) and
 * pk; undefined on failure.  Returns: 0, or -1 when in is not a key.token. */
int offpay_key_token_decode(char module[OFFPAY_KEY_TOKEN_MODULE_MAX + 1], char label[OFFPAY_KEY_TOKEN_LABEL_MAX + 1],
                            uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], const uint8_t *in, size_t len) OFFPAY_WARN_UNUSED;

#endif

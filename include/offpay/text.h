/*
 * text.h - the single-line text form of a message, for files and QR codes.
 *
 * Form: "OP1" + a three-letter type tag + ":" + the binary encoding in
 * RFC 4648 base32 (upper case, no padding).  Every character is in the QR
 * alphanumeric set, so a code carries 5.5 bits per character, which beats
 * base64 in byte mode (8 bits per 6).  Example: "OP1REC:AEC...".
 */
#ifndef OFFPAY_TEXT_H
#define OFFPAY_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "offpay/messages.h"

#define OFFPAY_TEXT_PREFIX_BYTES 7 /* "OP1REC:" */

/* The number of characters (without NUL) of the text form of bin_len bytes,
 * as a constant expression; offpay_text_len is the same as a function. */
#define OFFPAY_TEXT_LEN(bin_len) (OFFPAY_TEXT_PREFIX_BYTES + ((size_t)(bin_len) * 8 + 4) / 5)
/* The longest text form of any message (without NUL). */
#define OFFPAY_TEXT_MAX OFFPAY_TEXT_LEN(OFFPAY_MESSAGE_BYTES_MAX)

/* Returns: the number of characters (without NUL) of the text form of len bytes. */
size_t offpay_text_len(size_t bin_len);

/* Returns: the prefix ("OP1REC:") for a message type, or NULL for an unknown type. */
const char *offpay_text_prefix(int type);

/*
 * Encode one binary message (its type is read from its second byte).
 * Out: out, NUL-terminated.  Returns: OFFPAY_OK, OFFPAY_ERR_BUFFER_TOO_SMALL,
 * or OFFPAY_ERR_WRONG_TYPE when bin is not a known message.
 */
enum offpay_status offpay_text_encode(char *out, size_t out_cap, const uint8_t *bin, size_t bin_len) OFFPAY_WARN_UNUSED;

/*
 * Decode text (trailing "\r\n" or "\n" is allowed, nothing else) into bin.
 * If want_type is nonzero the prefix and the binary's type byte must both be
 * of that type.  Out: bin, *bin_len, *type.  Returns: OFFPAY_OK,
 * OFFPAY_ERR_BAD_TEXT (bad prefix or characters, non-canonical base32),
 * OFFPAY_ERR_WRONG_TYPE, or OFFPAY_ERR_BUFFER_TOO_SMALL.
 * The binary is not decoded as a message here: call its decoder next.
 */
enum offpay_status offpay_text_decode(uint8_t *bin, size_t bin_cap, size_t *bin_len, int *type,
                                      int want_type, const char *text, size_t text_len) OFFPAY_WARN_UNUSED;

#endif

/*
 * secret.h - a PIN or a passphrase, read from a file or asked on the
 * terminal, and kept in guarded memory (sodium_malloc) until it is freed.
 *
 * Both programs read secrets this way: offpayd's token PIN (--pin-file),
 * the wallet's token PIN and its passphrase.  A file holds the secret on its
 * first line; like a key file, a regular file others may read is refused,
 * since a PIN anyone can read protects nothing.
 */
#ifndef OFFPAY_SECRET_H
#define OFFPAY_SECRET_H

#include <stddef.h>

#include "offpay/crypto.h"
#include "offpay/status.h"

#define OFFPAY_SECRET_MAX 1024 /* bytes of a PIN or passphrase */

/* Read the first line of path (its line end dropped).  Out: *out, a
 * NUL-ended string in sodium_malloc memory (free with offpay_secret_free);
 * err says why on failure.  Returns: OFFPAY_OK, OFFPAY_ERR_KEY_UNAVAILABLE
 * (cannot be read, or others may read it), OFFPAY_ERR_USAGE (empty or longer
 * than OFFPAY_SECRET_MAX), OFFPAY_ERR_NOMEM. */
enum offpay_status offpay_secret_from_file(char **out, char *err, size_t err_cap, const char *path) OFFPAY_WARN_UNUSED;

/* Ask on the terminal (/dev/tty, echo off) with prompt; when confirm is set,
 * ask again and require the same answer.  Out, returns: as above, with
 * OFFPAY_ERR_KEY_UNAVAILABLE when there is no terminal to ask on and
 * OFFPAY_ERR_USAGE when the two answers differ. */
enum offpay_status offpay_secret_from_tty(char **out, char *err, size_t err_cap, const char *prompt,
                                          int confirm) OFFPAY_WARN_UNUSED;

/* Wipe and free a secret from the functions above; s may be NULL. */
void offpay_secret_free(char *s);

#endif

/*
 * wallet_key.h - where a wallet's secret key lives, and how a program hands
 * the wallet the passphrase or PIN that unlocks it (docs/wallet.md "Where
 * the key lives").
 *
 * A wallet folder holds exactly one of three key files:
 *
 *   key         the 64-byte Ed25519 secret key, mode 0600 (as before);
 *   key.sealed  its seed sealed under a passphrase (sealed.h: Argon2id and
 *               XChaCha20-Poly1305);
 *   key.token   where the key is: a PKCS#11 module, a token label and the
 *               key's id (its public key, CKA_ID).  The key itself was
 *               generated inside the token, not extractable, and never
 *               leaves it: every signature is made there.
 *
 * Whichever it is, the wallet signs through one signer (crypto.h), so every
 * message and signature is byte for byte the same and the server and other
 * wallets see no difference.
 *
 * The key is unlocked when the wallet first signs (or on
 * offpay_wallet_unlock) and stays so until offpay_wallet_close: the seed in
 * sodium_malloc memory (locked, wiped on close), or a logged-in session with
 * the token.  A wallet that only reads (balance, history) never unlocks.
 * Every failure to unlock - wrong passphrase or PIN, token or module
 * missing, no terminal to ask on - is OFFPAY_ERR_KEY_UNAVAILABLE (exit 9)
 * with a sentence, and happens before anything changes.
 */
#ifndef OFFPAY_WALLET_KEY_H
#define OFFPAY_WALLET_KEY_H

#include <stddef.h>

#include "offpay/status.h"
#include "offpay/wallet.h"

#define OFFPAY_WALLET_SEALED_KEY_FILE "key.sealed"
#define OFFPAY_WALLET_TOKEN_KEY_FILE "key.token"

enum offpay_wallet_key_kind {
    OFFPAY_WALLET_KEY_PLAIN = 0,      /* DIR/key */
    OFFPAY_WALLET_KEY_PASSPHRASE = 1, /* DIR/key.sealed */
    OFFPAY_WALLET_KEY_TOKEN = 2       /* DIR/key.token */
};

/* How offpay_wallet_init_keyed keeps the new key.  The strings are read
 * during the call only (the caller wipes its secrets). */
struct offpay_wallet_key_spec {
    enum offpay_wallet_key_kind kind;
    const char *passphrase;  /* PASSPHRASE: NUL-ended, not empty */
    const char *module;      /* TOKEN: the PKCS#11 module, a file name for dlopen */
    const char *token_label; /* TOKEN: the token's label (at most 32 bytes) */
    const char *pin;         /* TOKEN: the token user's PIN */
};

enum offpay_wallet_secret {
    OFFPAY_WALLET_SECRET_PASSPHRASE, /* unlocks key.sealed */
    OFFPAY_WALLET_SECRET_PIN         /* logs in to the token of key.token */
};

/*
 * Where the wallet gets a passphrase or PIN when it must unlock its key.
 * In: ctx as given to offpay_wallet_set_secret_source; what; token_label
 * (PIN: the token's label, else NULL).  Out: *secret, a NUL-ended string
 * from secret.h (offpay_secret_from_file / _from_tty: the wallet frees it
 * with offpay_secret_free right after use); on failure err (err_cap bytes)
 * says why in one sentence.  Returns: OFFPAY_OK, or the failure (say
 * OFFPAY_ERR_KEY_UNAVAILABLE when there is no one to ask).
 */
typedef enum offpay_status (*offpay_wallet_secret_fn)(void *ctx, enum offpay_wallet_secret what,
                                                      const char *token_label, char **secret, char *err,
                                                      size_t err_cap);

/* Set w's source of passphrases and PINs (NULL: none; a sealed or token key
 * then cannot be unlocked).  ctx must outlive w. */
void offpay_wallet_set_secret_source(struct offpay_wallet *w, offpay_wallet_secret_fn fn, void *ctx);

/* Which key file w's folder holds.  Out: *kind.  Returns: OFFPAY_OK, or
 * OFFPAY_ERR_KEY_UNAVAILABLE (none of them, or more than one) with w's
 * sentence. */
enum offpay_status offpay_wallet_key_kind(struct offpay_wallet *w, enum offpay_wallet_key_kind *kind) OFFPAY_WARN_UNUSED;

/* Unlock w's key now (a no-op once unlocked, and for a plain key file, which
 * is read when the wallet first signs), so a command asks for its passphrase
 * or PIN before it changes anything or talks to anyone.  Returns: OFFPAY_OK,
 * OFFPAY_ERR_KEY_UNAVAILABLE, OFFPAY_ERR_STORAGE (a damaged key file),
 * OFFPAY_ERR_NOMEM; w's sentence says which. */
enum offpay_status offpay_wallet_unlock(struct offpay_wallet *w) OFFPAY_WARN_UNUSED;

/* offpay_wallet_init (wallet.h) with the new key kept as key says (NULL:
 * a plain key file).  A token key is generated in the token; enrol.key, the
 * key of an enrolment in doubt, is kept in the same form (sealed, or naming
 * the token's key), and a second init must give the same kind of key.
 * Returns: as offpay_wallet_init, and OFFPAY_ERR_KEY_UNAVAILABLE when the
 * token cannot be reached or cannot generate the key, or an earlier
 * attempt's sealed key does not open with this passphrase. */
enum offpay_status offpay_wallet_init_keyed(struct offpay_wallet **w, char *err, const char *dir,
                                            const char *server_url, const char *account, const char *token,
                                            const uint8_t issuer_pin[OFFPAY_PUBLIC_KEY_BYTES], const char *ca_file,
                                            const struct offpay_wallet_contact *contact,
                                            const struct offpay_wallet_key_spec *key) OFFPAY_WARN_UNUSED;

/* Seal w's key under new_passphrase instead of old_passphrase: key.sealed is
 * replaced at once (a new file written and synced, renamed over it, the
 * folder synced), so a crash leaves the old or the new one, never neither.
 * Returns: OFFPAY_OK; OFFPAY_ERR_USAGE when w's key is not sealed with a
 * passphrase or new_passphrase is empty; OFFPAY_ERR_KEY_UNAVAILABLE when
 * old_passphrase is wrong (nothing changed); OFFPAY_ERR_STORAGE. */
enum offpay_status offpay_wallet_passphrase_change(struct offpay_wallet *w, const char *old_passphrase,
                                                   const char *new_passphrase) OFFPAY_WARN_UNUSED;

#endif

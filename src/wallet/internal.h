/*
 * internal.h - what the wallet's source files share and nobody else sees:
 * the wallet struct, the secret-key handling, the steps several commands
 * share (storing what the server signed, adding coins, history), one call
 * to the server, and the calls in doubt.  Storage is store.h.
 */
#ifndef OFFPAY_WALLET_INTERNAL_H
#define OFFPAY_WALLET_INTERNAL_H

#include <limits.h>
#include <stdint.h>

#include <jansson.h>

#include "offpay/amount.h"
#include "offpay/api.h"
#include "offpay/http_auth.h"
#include "offpay/protocol.h"
#include "offpay/wallet.h"
#include "offpay/wallet_key.h"
#include "store.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* The store's integers are signed 64-bit: larger amounts never reach it. */
#define WALLET_AMOUNT_MAX OFFPAY_AMOUNT_MAX
/* Amounts in one load, coins in one unload: what the server takes. */
#define WALLET_COINS_MAX OFFPAY_API_COINS_MAX

struct offpay_wallet {
    struct wallet_store *store;
    char dir[PATH_MAX];
    char err[OFFPAY_WALLET_ERROR_MAX];
    struct offpay_cert cert;
    uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES];
    char server_url[OFFPAY_WALLET_URL_MAX];
    struct offpay_wallet_contact contact; /* the caller's choices (config.c) */
    struct wallet_key *key;          /* unlocked: NULL until the first signature (keystore.c) */
    offpay_wallet_secret_fn secret_fn; /* asked for a passphrase or PIN; NULL: no one to ask */
    void *secret_ctx;
};

/* Record a failure sentence on w and return s (printf-style). */
enum offpay_status wallet_fail(struct offpay_wallet *w, enum offpay_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* out = dir "/" name.  Returns 0, or -1 when it does not fit in cap. */
int wallet_path(char *out, size_t cap, const char *dir, const char *name);

/* As ssh does with its keys: a wallet folder others may write to (they could
 * swap the key or the store; mode & 022) or a key file others may read or
 * write (st: its stat; mode & 077) is not used.  Returns: OFFPAY_OK, or
 * OFFPAY_ERR_KEY_UNAVAILABLE with w's sentence naming the file and the chmod
 * that fixes it.  They only read. */
enum offpay_status wallet_folder_check(struct offpay_wallet *w);
struct stat;
enum offpay_status wallet_key_mode_check(struct offpay_wallet *w, const char *path, const struct stat *st);
/* Both checks on w->dir and its key file (before the store is opened). */
enum offpay_status wallet_modes_check(struct offpay_wallet *w);

/* The seconds a call may take, by the precedence of docs/wallet.md
 * "Settings" (config.c).  Out: *seconds, *from ("option", ...).  Returns:
 * OFFPAY_OK, OFFPAY_ERR_USAGE (a config file that does not parse). */
enum offpay_status wallet_timeout(struct offpay_wallet *w, unsigned *seconds, const char **from);

/* Replace the folder's file name by data[0..len) (mode 0600): written whole
 * to NAME.new, synced, then renamed over name, so a crash leaves the old file
 * or the new one (config.c).  Returns 0, or -1 with errno set. */
int wallet_file_replace(struct offpay_wallet *w, const char *name, const void *data, size_t len);

/* Give the folder's finished file tmp_name (written and synced) the name
 * name, which must not exist yet (never replaced), and sync the folder, so
 * that after a crash name is either absent or whole (open.c).  Returns 0, or
 * -1 with errno set (EEXIST: name is taken; tmp_name is left then). */
int wallet_file_publish(struct offpay_wallet *w, const char *tmp_name, const char *name);

/* Remove the store file name of w's folder and its -wal, -shm, -journal
 * (those first), as far as they are there (open.c). */
void wallet_db_files_remove(const struct offpay_wallet *w, const char *name);

/* Sync w's folder (after a file in it was made, renamed or removed).  Returns 0, or -1. */
int wallet_dir_sync(const struct offpay_wallet *w);

/* Tests only (docs/wallet.md "A half-finished init"): with
 * OFFPAY_TEST_INIT_DIE=step in the environment, the process kills itself
 * (SIGKILL) when init reaches that step, as a power cut would. */
void wallet_test_die(const char *step);

/* The certificate authorities for an https:// server (ca.c).
 * wallet_ca_path: the wallet's kept CA file in buf, or NULL when it keeps
 * none (the system's authorities are used).  wallet_ca_keep: copy the PEM
 * file src into the folder as its CA file (replacing one); OFFPAY_ERR_USAGE
 * when src cannot be read or holds no certificate.  wallet_ca_drop: remove
 * the kept file. */
const char *wallet_ca_path(const struct offpay_wallet *w, char *buf, size_t cap);
enum offpay_status wallet_ca_keep(struct offpay_wallet *w, const char *src);
void wallet_ca_drop(struct offpay_wallet *w);

/* The wallet's clock, seconds since the Unix epoch.  $OFFPAY_NOW overrides
 * it (tests of periods and certificate validity). */
uint64_t wallet_now(void);

/* Read the plain key file into sodium_malloc'd memory and check it belongs
 * to the certificate.  Out: *sk.  Free with wallet_key_free (which wipes). */
enum offpay_status wallet_key_load(struct offpay_wallet *w, uint8_t **sk);
void wallet_key_free(uint8_t *sk);

/*
 * The wallet's key wherever it lives (keystore.c, wallet_key.h).
 *
 * wallet_signer: the signer every wallet signature goes through, unlocking
 * the key first if it is not yet (asking for a passphrase or PIN).  Out:
 * *signer, valid until the wallet is closed.  Returns OK or a key failure
 * with w's sentence.  wallet_signed: after a builder through that signer
 * failed with s, w's sentence for a key that stopped working (a token pulled
 * out); returns s.
 */
struct wallet_key;
enum offpay_status wallet_signer(struct offpay_wallet *w, const struct offpay_signer **signer);
enum offpay_status wallet_signed(struct offpay_wallet *w, enum offpay_status s, const char *what);
/* Wipe and free k (a token's session closed); NULL is fine. */
void wallet_key_close(struct wallet_key *k);
/* Remove k from its token for good (an enrolment that was refused); nothing
 * for other kinds. */
void wallet_key_discard(struct wallet_key *k);
const uint8_t *wallet_key_public(const struct wallet_key *k);
enum offpay_wallet_key_kind wallet_key_kind_of(const struct wallet_key *k);
/* The file name a key of that kind is kept under in the wallet folder. */
const char *wallet_key_file_name(enum offpay_wallet_key_kind kind);
/* For init: a new key as spec says (a token's labelled key_label), a plain
 * one from sk, or the one an earlier init left in w's file name (of the
 * kind spec says, unlocked with spec's secret).  Out: *k. */
enum offpay_status wallet_key_generate(struct offpay_wallet *w, const struct offpay_wallet_key_spec *spec,
                                       const char *key_label, struct wallet_key **k);
enum offpay_status wallet_key_plain(struct offpay_wallet *w, const uint8_t sk[OFFPAY_SECRET_KEY_BYTES],
                                    struct wallet_key **k);
enum offpay_status wallet_key_reuse(struct offpay_wallet *w, const struct offpay_wallet_key_spec *spec,
                                    const char *name, struct wallet_key **k);
/* Write k's key file as name in w's folder (never over an existing one,
 * 0600): written whole to NAME.new and synced, then published, so a crash
 * leaves no name or the whole file; nothing is left on failure. */
enum offpay_status wallet_key_file_write(struct offpay_wallet *w, const char *name, const struct wallet_key *k);
/* Whether the key file name holds exactly the bytes k's key file would
 * (the key an earlier, interrupted init wrote).  Out: *same, *missing. */
enum offpay_status wallet_key_file_same(struct offpay_wallet *w, const char *name, const struct wallet_key *k,
                                        int *same, int *missing);
/* Whether the key files a and b of w's folder hold the same bytes. */
enum offpay_status wallet_key_files_same(struct offpay_wallet *w, const char *a, const char *b, int *same);

/* offpay_wallet_create with the key behind k (which the caller keeps). */
enum offpay_status wallet_create_keyed(struct offpay_wallet **out, char *err, const char *dir, const char *server_url,
                                       const struct offpay_cert *cert, const struct wallet_key *k,
                                       const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                       const struct offpay_limits_policy *limits, const uint8_t *revocation,
                                       size_t revocation_len);

/* The current revocation list.  Out: *r (ids point into *blob, which the
 * caller frees).  An empty list when none is stored. */
enum offpay_status wallet_revocation_load(struct offpay_wallet *w, struct offpay_revocation *r, uint8_t **blob);

/* Verify and store a new revocation list (older serials are ignored) and a
 * new limits policy (it must be for this wallet or the default).  Call inside
 * a transaction. */
enum offpay_status wallet_revocation_store(struct offpay_wallet *w, const uint8_t *msg, size_t len);
enum offpay_status wallet_limits_store(struct offpay_wallet *w, const struct offpay_limits_policy *p);
/* The server's sync stamp (issue 13, steps.c).  store: check it (the
 * issuer's, for this wallet) and keep it unless the stored one is newer;
 * len 0 (a server from before stamps) keeps what is stored; inside the
 * caller's transaction.  load: the stored one; *has = 0 when none. */
enum offpay_status wallet_stamp_store(struct offpay_wallet *w, const uint8_t *stamp, size_t len);
enum offpay_status wallet_stamp_load(struct offpay_wallet *w, struct offpay_stamp *st, int *has);
/* wallet_create_keyed, keeping the enrolment's sync stamp (stamp_len 0: none). */
enum offpay_status wallet_create_stamped(struct offpay_wallet **out, char *err, const char *dir, const char *server_url,
                                         const struct offpay_cert *cert, const struct wallet_key *k,
                                         const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                         const struct offpay_limits_policy *limits, const uint8_t *revocation,
                                         size_t revocation_len, const uint8_t *stamp, size_t stamp_len);
/* The "stamp" field of a server's answer, as bytes; *len = 0 when there is
 * none.  REJECTED when it is there but not a stamp's text form. */
enum offpay_status wallet_field_stamp(struct offpay_wallet *w, const json_t *obj, uint8_t bin[OFFPAY_STAMP_BYTES],
                                      size_t *len);

/* Append a history event (inside a transaction). */
enum offpay_status wallet_history_add(struct offpay_wallet *w, const char *kind, uint64_t amount,
                                      const char *counterparty, const uint8_t *record_id, const char *detail);

/* Store verified, owned UTXOs as spendable inside a transaction; skips ones
 * already held and ones this wallet has spent. Out: *added (may be NULL). */
enum offpay_status wallet_utxos_insert(struct offpay_wallet *w, const struct offpay_utxo *u, size_t n, uint64_t *added_sum);

/* Verify an attested UTXO for this wallet: issuer signature and our key. */
enum offpay_status wallet_utxo_check(struct offpay_wallet *w, const struct offpay_utxo *u);

/* Server and owner limits and their use now (inside a transaction for a consistent view). */
enum offpay_status wallet_limits_read(struct offpay_wallet *w, struct offpay_wallet_limits *l);

/*
 * One call to the server (docs/api.md), signed with the wallet key when
 * with_key; nonce/ts fix the request's nonce and timestamp (NULL/0: fresh).
 * Out: *resp (a JSON object, caller decrefs) only on a 2xx answer.
 * Returns: OFFPAY_OK; OFFPAY_ERR_UNREACHABLE when the request certainly never
 * left; OFFPAY_ERR_REJECTED for a refusal (4xx: nothing changed);
 * OFFPAY_ERR_OUTCOME_UNKNOWN when it may have taken effect (answer lost,
 * 5xx, not JSON); a key error.  w->err says which, in one sentence.
 */
enum offpay_status wallet_call(struct offpay_wallet *w, const char *method, const char *path, const json_t *body,
                               int with_key, const uint8_t *nonce, uint64_t ts, json_t **resp);

/* A call with a fresh nonce, for reads and idempotent calls (sync, outcome). */
enum offpay_status wallet_call_simple(struct offpay_wallet *w, const char *method, const char *path, const json_t *body,
                                      json_t **resp);

/* Fields of a server's answer (call.c).  The answer came from the server, so
 * a bad field is the server's fault: OFFPAY_ERR_REJECTED with a sentence.
 * text: a message in text form of type, decoded into bin[0..*len). */
enum offpay_status wallet_field_text(struct offpay_wallet *w, const json_t *obj, const char *key, int type,
                                     uint8_t *bin, size_t cap, size_t *len);
enum offpay_status wallet_field_u64(struct offpay_wallet *w, const json_t *obj, const char *key, uint64_t *v);
/* The limits and revocation list of an answer (enrol, sync), decoded but not
 * yet verified.  Out: *p, *rev_bin (malloc'd, caller frees) / *rev_len. */
enum offpay_status wallet_field_policy(struct offpay_wallet *w, const json_t *obj, struct offpay_limits_policy *p,
                                       uint8_t **rev_bin, size_t *rev_len);
/* A coin in text form (an element of a "utxos" list), decoded; not verified.
 * Returns 0, or -1 when it is not a well-formed coin. */
int wallet_coin_decode(const json_t *text, struct offpay_utxo *u);

/*
 * Calls in doubt (calls.c, docs/wallet.md): a load, unload or pay-online is
 * written down with its nonce and timestamp before its request leaves, so
 * that an answer lost on the way is settled with the server later instead
 * of being guessed.
 */
struct wallet_tracked_call {
    uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES];
    uint64_t ts;              /* the request's timestamp (real time, not $OFFPAY_NOW) */
    const char *kind;         /* "load", "unload", "pay_online" */
    uint64_t amount;
    const char *counterparty; /* pay_online: the payee account; else NULL */
};
/* Pick c's nonce and timestamp and write c down (inside a transaction). */
enum offpay_status wallet_call_track(struct offpay_wallet *w, struct wallet_tracked_call *c);
/* Forget a settled call (inside a transaction). */
enum offpay_status wallet_call_untrack(struct offpay_wallet *w, const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES]);
/* Write c down in a transaction of its own (load, pay-online: nothing else
 * changes before the call). */
enum offpay_status wallet_call_track_alone(struct offpay_wallet *w, struct wallet_tracked_call *c);
/* After a tracked call that the server refused or that never left: forget
 * it.  Returns call_status, w->err kept (or the store's failure). */
enum offpay_status wallet_call_untrack_refused(struct offpay_wallet *w, const struct wallet_tracked_call *c,
                                               enum offpay_status call_status);
/* The wallet's call lock (an exclusive flock on DIR/unload.lock): held by a
 * tracked call from writing it down until it is settled, and by sync while
 * it settles calls and coins in doubt.  Returns the descriptor (close()
 * releases it), or -1 with w->err set. */
int wallet_call_lock(struct offpay_wallet *w);
/* Settle every call in doubt with the server (sync, under the call lock). */
enum offpay_status wallet_calls_settle(struct offpay_wallet *w, struct offpay_sync_report *rep);

/* Recovery, the last step of sync (recovery.c): take the coins the server
 * holds for our key that the wallet never saw, and settle the coins an
 * interrupted unload left in doubt.  Takes the call lock. */
enum offpay_status wallet_recover(struct offpay_wallet *w, struct offpay_sync_report *rep);

/* Open the store of w->dir (create = 1: a new one) into w->store. */
enum offpay_status wallet_open_store(struct offpay_wallet *w, int create);

#endif

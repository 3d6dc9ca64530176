/*
 * internal.h - what the wallet's source files share and nobody else sees:
 * the wallet struct, the transaction helpers and the secret-key handling.
 */
#ifndef OFFPAY_WALLET_INTERNAL_H
#define OFFPAY_WALLET_INTERNAL_H

#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>

#include <jansson.h>

#include "offpay/amount.h"
#include "offpay/http_auth.h"
#include "offpay/protocol.h"
#include "offpay/wallet.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* SQLite integers are signed 64-bit: larger amounts never reach the store. */
#define WALLET_AMOUNT_MAX OFFPAY_AMOUNT_MAX

struct offpay_wallet {
    sqlite3 *db;
    char dir[PATH_MAX];
    char err[OFFPAY_WALLET_ERROR_MAX];
    struct offpay_cert cert;
    uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES];
    char server_url[OFFPAY_WALLET_URL_MAX];
};

/* Record a failure sentence on w and return s (printf-style). */
enum offpay_status wallet_fail(struct offpay_wallet *w, enum offpay_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As ssh does with its keys: a wallet folder others may write to (they could
 * swap the key or the store; mode & 022) or a key file others may read or
 * write (st: its stat; mode & 077) is not used.  Returns: OFFPAY_OK, or
 * OFFPAY_ERR_KEY_UNAVAILABLE with w's sentence naming the file and the chmod
 * that fixes it.  They only read. */
enum offpay_status wallet_folder_check(struct offpay_wallet *w);
struct stat;
enum offpay_status wallet_key_mode_check(struct offpay_wallet *w, const char *path, const struct stat *st);

/* Record the storage error of w's database and return OFFPAY_ERR_STORAGE. */
enum offpay_status wallet_db_fail(struct offpay_wallet *w, const char *what);

/* Transactions: begin takes the write lock up front (BEGIN IMMEDIATE). */
enum offpay_status wallet_begin(struct offpay_wallet *w);
enum offpay_status wallet_commit(struct offpay_wallet *w);
void wallet_rollback(struct offpay_wallet *w);

/* Prepare sql on w's database; NULL (and w->err set) on failure. */
sqlite3_stmt *wallet_prepare(struct offpay_wallet *w, const char *sql);
/* Run a statement with no result rows; finalizes it.  Returns OK or STORAGE. */
enum offpay_status wallet_step_done(struct offpay_wallet *w, sqlite3_stmt *st);

/* The wallet's clock, seconds since the Unix epoch.  $OFFPAY_NOW overrides
 * it (tests of periods and certificate validity). */
uint64_t wallet_now(void);

/* Read the secret key into sodium_malloc'd memory and check it belongs to
 * the certificate.  Out: *sk.  Free with wallet_key_free (which wipes). */
enum offpay_status wallet_key_load(struct offpay_wallet *w, uint8_t **sk);
void wallet_key_free(uint8_t *sk);

/* The current revocation list.  Out: *r (ids point into *blob, which the
 * caller frees).  An empty list when none is stored. */
enum offpay_status wallet_revocation_load(struct offpay_wallet *w, struct offpay_revocation *r, uint8_t **blob);

/* Verify and store a new revocation list (older serials are ignored) and a
 * new limits policy (it must be for this wallet or the default).  Call inside
 * a transaction. */
enum offpay_status wallet_revocation_store(struct offpay_wallet *w, const uint8_t *msg, size_t len);
enum offpay_status wallet_limits_store(struct offpay_wallet *w, const struct offpay_limits_policy *p);

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
/* The wallet's call lock (an exclusive flock on DIR/unload.lock): held by a
 * tracked call from writing it down until it is settled, and by sync while
 * it settles calls and coins in doubt.  Returns the descriptor (close()
 * releases it), or -1 with w->err set. */
int wallet_call_lock(struct offpay_wallet *w);
/* Settle every call in doubt with the server (sync, under the call lock). */
enum offpay_status wallet_calls_settle(struct offpay_wallet *w, struct offpay_sync_report *rep);

/* Open the database of w->dir and apply pending migrations. */
enum offpay_status wallet_store_open(struct offpay_wallet *w, int create);

#endif

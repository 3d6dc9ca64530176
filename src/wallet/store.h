/*
 * store.h - the wallet's storage, as an interface.
 *
 * The wallet store (DIR/wallet.db, docs/wallet.md "The wallet folder") holds
 * the wallet's identity, its limits and revocation list, its coins, the
 * pending store of records with their inputs, the payee's requests, the
 * calls in doubt and the history.  The wallet's logic sees only these
 * wallet_store_* operations over an opaque struct wallet_store; store_sqlite.c
 * is their one backend and the only code of the wallet that speaks SQL.
 * Statements are prepared once per store and reused.
 *
 * Transactions are explicit: every change happens between
 * wallet_store_begin (which takes the write lock at once, so two processes
 * on one wallet are serialised and a transaction never fails half-way on a
 * lock) and wallet_store_commit; a consistent read between
 * wallet_store_begin_read and wallet_store_end_read.  Operations never
 * commit on their own.
 *
 * Errors: every operation returns OFFPAY_OK or OFFPAY_ERR_STORAGE (an I/O
 * error, or a row that is damaged), OFFPAY_ERR_NOMEM where it allocates; on
 * failure it writes one sentence into the err buffer given at open.  Absent
 * rows are not errors: an out flag (*found, *changed) says so.  Callbacks
 * return 0 to go on, nonzero to stop (the operation then returns OFFPAY_OK).
 */
#ifndef OFFPAY_WALLET_STORE_H
#define OFFPAY_WALLET_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "offpay/http_auth.h"
#include "offpay/messages.h"
#include "offpay/status.h"
#include "offpay/wallet.h"

struct wallet_store;

/* ---- opening and transactions ---- */

/*
 * Open (create = 1: create) the store at path, configure it for durability
 * (WAL, synchronous=FULL) and apply pending migrations.  err/err_cap: where
 * this and every later operation writes its failure sentence (it must
 * outlive the store).  Out: *out (close with wallet_store_close).
 * Returns: OK, STORAGE (also for a store written by a newer offpay), NOMEM.
 */
enum offpay_status wallet_store_open(struct wallet_store **out, const char *path, int create, char *err,
                                     size_t err_cap);
/* Close the store (NULL is fine); an open transaction is rolled back. */
void wallet_store_close(struct wallet_store *s);

enum offpay_status wallet_store_begin(struct wallet_store *s);
/* On failure the transaction is rolled back. */
enum offpay_status wallet_store_commit(struct wallet_store *s);
/* Roll back the open transaction, if any (safe to call when none is open). */
void wallet_store_rollback(struct wallet_store *s);
enum offpay_status wallet_store_begin_read(struct wallet_store *s);
void wallet_store_end_read(struct wallet_store *s);

/* ---- identity (one row) ---- */

struct wallet_store_identity {
    uint8_t wallet_id[OFFPAY_WALLET_ID_BYTES];
    uint8_t public_key[OFFPAY_PUBLIC_KEY_BYTES];
    uint8_t cert[OFFPAY_CERT_BYTES_MAX]; /* encoded certificate */
    size_t cert_len;
    uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES];
    char server_url[OFFPAY_WALLET_URL_MAX];
    char account[OFFPAY_ACCOUNT_MAX + 1];
    uint64_t created;
};
enum offpay_status wallet_store_identity_insert(struct wallet_store *s, const struct wallet_store_identity *id);
/* Out: cert, cert_len, issuer_pk and server_url of *id; *found. */
enum offpay_status wallet_store_identity_get(struct wallet_store *s, struct wallet_store_identity *id, int *found);
/* Replace the wallet's certificate by its renewal (issue 13: same key). */
enum offpay_status wallet_store_cert_set(struct wallet_store *s, const uint8_t *cert, size_t len);
/* Move the wallet to another server URL (docs/wallet.md "Settings"). */
enum offpay_status wallet_store_server_url_set(struct wallet_store *s, const char *url);
/* The next record sequence number (>= 1), and moving it on by one. */
enum offpay_status wallet_store_seq_get(struct wallet_store *s, uint64_t *seq);
enum offpay_status wallet_store_seq_bump(struct wallet_store *s);

/* ---- limits and revocation (one row each) ---- */

/* Store the server's encoded limits policy (kept: the owner's values). */
enum offpay_status wallet_store_policy_set(struct wallet_store *s, const uint8_t *policy, size_t len);
/* Out: policy[0..*len) (cap >= OFFPAY_LIMITS_BYTES) and the owner's values
 * (0 = not set).  A missing row is STORAGE. */
enum offpay_status wallet_store_limits_get(struct wallet_store *s, uint8_t *policy, size_t cap, size_t *len,
                                           struct offpay_limits *owner);
/* Set the owner's values that are nonzero in owner; the others stay. */
enum offpay_status wallet_store_owner_limits_set(struct wallet_store *s, const struct offpay_limits *owner);
/* Clear (back to "not set") the owner's values that are nonzero in which. */
enum offpay_status wallet_store_owner_limits_unset(struct wallet_store *s, const struct offpay_limits *which);
/* The server's latest encoded sync stamp (docs/wire-format.md, type 9).
 * get: stamp[0..*len), *len = 0 when none is stored. */
enum offpay_status wallet_store_stamp_set(struct wallet_store *s, const uint8_t *stamp, size_t len);
enum offpay_status wallet_store_stamp_get(struct wallet_store *s, uint8_t *stamp, size_t cap, size_t *len);
/* When the wallet last completed a sync or enrolled (its clock; 0: not since
 * this was kept): the offline time limit counts from it. */
enum offpay_status wallet_store_synced_set(struct wallet_store *s, uint64_t at);
enum offpay_status wallet_store_synced_get(struct wallet_store *s, uint64_t *at);
/* What the limits count: the sum of unsynced outgoing records, and the
 * number of outgoing records created at or after period_start. */
enum offpay_status wallet_store_limits_usage(struct wallet_store *s, uint64_t period_start, uint64_t *unsynced_total,
                                             uint32_t *count);

/* Store the encoded revocation list of that serial, unless the stored one
 * has a higher serial (a revoked wallet stays revoked). */
enum offpay_status wallet_store_revocation_set(struct wallet_store *s, uint64_t serial, const uint8_t *msg,
                                               size_t len);
/* Out: *msg (malloc'd, caller frees; NULL when none is stored) / *len. */
enum offpay_status wallet_store_revocation_get(struct wallet_store *s, uint8_t **msg, size_t *len);

/* ---- history ---- */

enum offpay_status wallet_store_history_add(struct wallet_store *s, uint64_t time, const char *kind, uint64_t amount,
                                            const char *counterparty, const uint8_t *record_id, const char *detail);
/* Every event, oldest first. */
enum offpay_status wallet_store_history_each(struct wallet_store *s,
                                             int (*each)(void *ctx, const struct offpay_wallet_event *e), void *ctx);

/* ---- coins ---- */

/* Every coin, by amount then id (ties in coin selection break the same way). */
enum offpay_status wallet_store_coins_each(struct wallet_store *s,
                                           int (*each)(void *ctx, const struct offpay_wallet_utxo *c), void *ctx);
/* One coin by id.  Out: *c, *found. */
enum offpay_status wallet_store_coin_get(struct wallet_store *s, const uint8_t id[OFFPAY_UTXO_ID_BYTES],
                                         struct offpay_wallet_utxo *c, int *found);
/* The coins whose id begins with the first nibbles hex digits of prefix
 * (prefix holds (nibbles + 1) / 2 bytes; an odd last digit is the high half
 * of its byte; 1 <= nibbles <= 64), by id. */
enum offpay_status wallet_store_coins_with_prefix(struct wallet_store *s, const uint8_t *prefix, size_t nibbles,
                                                  int (*each)(void *ctx, const struct offpay_wallet_utxo *c),
                                                  void *ctx);
/* The attestation of a spendable coin; STORAGE when it is not one. */
enum offpay_status wallet_store_coin_attestation(struct wallet_store *s, const uint8_t id[OFFPAY_UTXO_ID_BYTES],
                                                 struct offpay_utxo *u);

enum wallet_coin_add {
    /* From the server's answer to a load or a sync: a locked change coin of
     * the same amount is replaced by its attested form. */
    WALLET_COIN_ADD_OR_ATTEST,
    /* Recovery: a known id is left exactly as it is. */
    WALLET_COIN_ADD_NEW_ONLY
};
/* Add an attested coin as spendable, unless this wallet ever spent it in
 * one of its outgoing records (a spent coin never comes back to life).
 * Out: *added (1 when a row was written). */
enum offpay_status wallet_store_coin_add(struct wallet_store *s, const struct offpay_utxo *u, enum wallet_coin_add how,
                                         uint64_t now, int *added);
/* Add the change of a confirmed record as locked (no attestation yet). */
enum offpay_status wallet_store_coin_add_locked(struct wallet_store *s, const uint8_t id[OFFPAY_UTXO_ID_BYTES],
                                                uint64_t amount, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                                uint64_t now);
/* A spendable coin becomes in doubt, spent by the record, or taken by the
 * call (an unload).  Out: *changed (0 when the coin was not spendable). */
enum offpay_status wallet_store_coin_doubt_record(struct wallet_store *s, const uint8_t id[OFFPAY_UTXO_ID_BYTES],
                                                  const uint8_t record_id[OFFPAY_RECORD_ID_BYTES], int *changed);
enum offpay_status wallet_store_coin_doubt_call(struct wallet_store *s, const uint8_t id[OFFPAY_UTXO_ID_BYTES],
                                                const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES], int *changed);

/* Where a group of coins goes when what held them is settled. */
enum wallet_coins_fate {
    WALLET_COINS_DROP_IN_DOUBT, /* in-doubt coins leave the wallet (spent) */
    WALLET_COINS_DROP_LOCKED,   /* locked change leaves the wallet (its record was rejected) */
    WALLET_COINS_FREE,          /* in-doubt coins are spendable again */
    WALLET_COINS_RELEASE        /* only the tie to a call goes (its outcome is unknown) */
};
/* Apply fate to the coins of record_id (DROP_*, FREE) or of the call with
 * nonce (DROP_IN_DOUBT, FREE, RELEASE), or to the one in-doubt coin id that
 * neither holds (DROP_IN_DOUBT, FREE).  Out: *n coins changed (may be NULL). */
enum offpay_status wallet_store_record_coins(struct wallet_store *s, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                             enum wallet_coins_fate fate, size_t *n);
enum offpay_status wallet_store_call_coins(struct wallet_store *s, const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES],
                                           enum wallet_coins_fate fate, size_t *n);
enum offpay_status wallet_store_orphan_coin(struct wallet_store *s, const uint8_t id[OFFPAY_UTXO_ID_BYTES],
                                            enum wallet_coins_fate fate, size_t *n);
/* Coins in doubt that no record spends and no call holds: left by an unload
 * cut off before it could write its call down (docs/wallet.md "Sync" 4). */
enum offpay_status wallet_store_orphan_coins_each(struct wallet_store *s,
                                                  int (*each)(void *ctx, const struct offpay_wallet_utxo *c),
                                                  void *ctx);
/* Out: *known = 1 when the wallet holds a coin with this id. */
enum offpay_status wallet_store_coin_known(struct wallet_store *s, const uint8_t id[OFFPAY_UTXO_ID_BYTES], int *known);

/* ---- records (the pending store) ---- */

enum wallet_answer { WALLET_ANSWER_NONE = 0, WALLET_ANSWER_CONFIRMED, WALLET_ANSWER_REFUSED };

struct wallet_store_record {
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    int outgoing; /* 1: we paid; 0: we were paid */
    const uint8_t *record;
    size_t record_len; /* encoded record */
    uint64_t amount;
    const char *counterparty;
    const uint8_t *nonce; /* the request's, OFFPAY_NONCE_BYTES */
    const uint8_t *payee_key;
    enum wallet_answer answer;
    const uint8_t *answer_msg;
    size_t answer_len; /* encoded confirmation or refusal, when answered */
    uint64_t created;
};
enum offpay_status wallet_store_record_insert(struct wallet_store *s, const struct wallet_store_record *r);
/* The coins a record spends. */
enum offpay_status wallet_store_record_input_add(struct wallet_store *s, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                                 const uint8_t utxo_id[OFFPAY_UTXO_ID_BYTES]);
/* Out: *found = 1 when an outgoing record answers the request (payee_key, nonce). */
enum offpay_status wallet_store_record_paid(struct wallet_store *s, const uint8_t payee_key[OFFPAY_PUBLIC_KEY_BYTES],
                                            const uint8_t nonce[OFFPAY_NONCE_BYTES], int *found);
/* Out: *seen = 1 when an incoming record not voided spends the coin. */
enum offpay_status wallet_store_input_seen(struct wallet_store *s, const uint8_t utxo_id[OFFPAY_UTXO_ID_BYTES],
                                           int *seen);

/* An outgoing record as the payer's confirm step reads it. */
struct wallet_store_outgoing {
    uint8_t record[OFFPAY_RECORD_BYTES_MAX];
    size_t record_len;
    enum wallet_answer answer;
    char status[12]; /* unsynced, settled, voided, rejected */
};
enum offpay_status wallet_store_outgoing_get(struct wallet_store *s, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                                             struct wallet_store_outgoing *r, int *found);
/* Store the payee's answer to an outgoing record. */
enum offpay_status wallet_store_record_answer(struct wallet_store *s, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                                              enum wallet_answer answer, const uint8_t *msg, size_t len);
/* Record the server's verdict (status "settled", "voided" or "rejected" with reason). */
enum offpay_status wallet_store_record_synced(struct wallet_store *s, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                                              const char *status, const char *reason, uint64_t now);

/* An unsynced record as sync submits it. */
struct wallet_store_pending {
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    int outgoing;
    uint8_t record[OFFPAY_RECORD_BYTES_MAX];
    size_t record_len;
    char counterparty[OFFPAY_ACCOUNT_MAX + 1];
    enum wallet_answer answer;
    uint8_t answer_msg[OFFPAY_CONFIRMATION_BYTES_MAX];
    size_t answer_len;
};
/* The unsynced records, oldest first, at most max of them. */
enum offpay_status wallet_store_pending_each(struct wallet_store *s, size_t max,
                                             int (*each)(void *ctx, const struct wallet_store_pending *p), void *ctx);
/* Counts and the incoming sum of the unsynced records. */
enum offpay_status wallet_store_pending_totals(struct wallet_store *s, uint64_t *outgoing, uint64_t *incoming,
                                               uint64_t *incoming_sum);

/* ---- the payee's requests ---- */

enum offpay_status wallet_store_request_insert(struct wallet_store *s, const uint8_t nonce[OFFPAY_NONCE_BYTES],
                                               uint64_t amount, const uint8_t *msg, size_t len, uint64_t now);
/* Out: msg[0..*len) (cap >= OFFPAY_REQUEST_BYTES_MAX), *answered (1 when a
 * record answered it already; its id in answered_by), *found. */
enum offpay_status wallet_store_request_get(struct wallet_store *s, const uint8_t nonce[OFFPAY_NONCE_BYTES],
                                            uint8_t *msg, size_t cap, size_t *len, int *answered,
                                            uint8_t answered_by[OFFPAY_RECORD_ID_BYTES], int *found);
/* Mark an unanswered request answered by record_id.  Out: *changed. */
enum offpay_status wallet_store_request_answer(struct wallet_store *s, const uint8_t nonce[OFFPAY_NONCE_BYTES],
                                               const uint8_t record_id[OFFPAY_RECORD_ID_BYTES], int *changed);

/* ---- calls in doubt ---- */

struct wallet_store_call {
    uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES];
    uint64_t ts; /* the request's timestamp */
    char kind[16]; /* "load", "unload", "pay_online", "lost" */
    uint64_t amount;
    char counterparty[OFFPAY_ACCOUNT_MAX + 1]; /* pay_online: the payee account; else "" */
};
enum offpay_status wallet_store_call_insert(struct wallet_store *s, const struct wallet_store_call *c, uint64_t now);
enum offpay_status wallet_store_call_delete(struct wallet_store *s, const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES]);
/* The oldest calls in doubt, at most cap.  Out: out[0..*n). */
enum offpay_status wallet_store_calls_get(struct wallet_store *s, struct wallet_store_call *out, size_t cap,
                                          size_t *n);

#endif

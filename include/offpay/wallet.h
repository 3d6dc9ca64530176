/*
 * wallet.h - the wallet: one device, one identity, its coins and its pending store.
 *
 * A wallet lives in a folder: wallet.db (SQLite, WAL, synchronous=FULL) and
 * key (the Ed25519 secret key, mode 0600).  The secret key is read from its
 * file only for the moment a signature is made and wiped right after.
 *
 * The offline handshake is four functions over encoded (binary) messages, so
 * every transport - files, QR codes, a direct TCP connection - drives the same
 * logic:
 *
 *   payee  offpay_wallet_request_create  amount        -> request
 *   payer  offpay_wallet_pay             request       -> record
 *   payee  offpay_wallet_accept          record        -> confirmation
 *          (or offpay_wallet_refuse      record        -> refusal)
 *   payer  offpay_wallet_confirm         confirmation or refusal
 *
 * The online operations (enrol, load, unload, sync, pay-online, the online
 * balance) talk to the server through offpay_client_call (client.h).
 *
 * Every function that changes the wallet does so in exactly one SQLite
 * transaction; when it returns anything but OFFPAY_OK, the wallet is as it
 * was.  After a failure offpay_wallet_error() gives a sentence more precise
 * than offpay_status_str() (for example which limit was reached); the
 * status alone decides the exit code.
 *
 * A struct offpay_wallet is not thread-safe; open one per thread.  Several
 * processes may use one wallet folder: writers take the database lock up
 * front (BEGIN IMMEDIATE), so their transactions are serialised.
 */
#ifndef OFFPAY_WALLET_H
#define OFFPAY_WALLET_H

#include <stddef.h>
#include <stdint.h>

#include "offpay/messages.h"
#include "offpay/status.h"

struct offpay_wallet;

#define OFFPAY_WALLET_DB_FILE "wallet.db"
#define OFFPAY_WALLET_KEY_FILE "key"
#define OFFPAY_WALLET_ENROL_KEY_FILE "enrol.key" /* the key of an init that has not finished */
#define OFFPAY_WALLET_CA_FILE "ca.pem" /* the authorities given at init --ca-file */
/* Longest message error sentence offpay_wallet_error() returns (with NUL). */
#define OFFPAY_WALLET_ERROR_MAX 512 /* a sentence: it may hold a URL, a path and a TLS library's reason */
/* Longest server URL a wallet stores. */
#define OFFPAY_WALLET_URL_MAX 512

/* ---- folder and lifetime ---- */

/*
 * Resolve the wallet folder: dir_opt if not NULL, else $OFFPAY_WALLET, else
 * $HOME/.offpay.  Out: out (NUL-terminated).  Returns: OFFPAY_OK, or
 * OFFPAY_ERR_USAGE when no folder can be named or it does not fit.
 */
enum offpay_status offpay_wallet_dir(char *out, size_t out_cap, const char *dir_opt) OFFPAY_WARN_UNUSED;

/*
 * Open the initialised wallet in dir.  Out: *w (NULL on failure; close with
 * offpay_wallet_close), err (if not NULL, OFFPAY_WALLET_ERROR_MAX bytes: the
 * failure sentence).  Returns: OFFPAY_OK, OFFPAY_ERR_USAGE when dir holds
 * no wallet (run init), OFFPAY_ERR_STORAGE when it cannot be read.
 */
enum offpay_status offpay_wallet_open(struct offpay_wallet **w, char *err, const char *dir) OFFPAY_WARN_UNUSED;

/* Close w (NULL is fine).  Frees everything offpay_wallet_open allocated. */
void offpay_wallet_close(struct offpay_wallet *w);

/* Returns: the sentence describing the last failure on w (never NULL; empty
 * before any failure).  Valid until the next call on w. */
const char *offpay_wallet_error(const struct offpay_wallet *w);

/* ---- contacting the server (docs/wallet.md "Settings") ---- */

#define OFFPAY_WALLET_CONFIG_FILE "config" /* the folder's settings file: timeout */
#define OFFPAY_WALLET_TIMEOUT_MAX 3600     /* seconds */

/* How a handle contacts the server: its caller's choices, above the folder's. */
struct offpay_wallet_contact {
    /* Seconds a call may take in all (1..OFFPAY_WALLET_TIMEOUT_MAX); 0: the
     * first of $OFFPAY_TIMEOUT, the config file's timeout, 10. */
    unsigned timeout;
    /* When not NULL: called once per call that has taken over a second and
     * is still waiting, on the calling thread, with the server's URL (e.g. to
     * tell a person the program is not stuck). */
    void (*on_slow)(void *ctx, const char *server_url);
    void *ctx;
};

/* Set how w contacts the server from now on (a copy of *c is kept). */
void offpay_wallet_contact_set(struct offpay_wallet *w, const struct offpay_wallet_contact *c);

/* The settings as they apply now, and where each comes from. */
struct offpay_wallet_config {
    char server_url[OFFPAY_WALLET_URL_MAX]; /* kept in the store */
    unsigned timeout;                       /* the seconds a call may take, in force */
    const char *timeout_from;               /* "option", "environment", "config" or "default" */
    unsigned timeout_config;                /* the config file's value; 0: not set there */
};

/* Out: *c.  Returns: OFFPAY_OK, or OFFPAY_ERR_USAGE when the config file does
 * not parse (the sentence names its line). */
enum offpay_status offpay_wallet_config_get(struct offpay_wallet *w, struct offpay_wallet_config *c) OFFPAY_WARN_UNUSED;

/*
 * Move the wallet to the server at url (the same ledger at a new address):
 * from now on every call goes there.  One transaction, with a history line;
 * the issuer key stays pinned, so a server of another ledger fails every
 * answer's verification.  Returns: OFFPAY_OK, OFFPAY_ERR_USAGE (not an
 * http:// or https:// URL of the form offpay_wallet_url_check takes),
 * OFFPAY_ERR_STORAGE.
 */
enum offpay_status offpay_wallet_server_set(struct offpay_wallet *w, const char *url) OFFPAY_WARN_UNUSED;

/* Write the config file's timeout (1..OFFPAY_WALLET_TIMEOUT_MAX; 0: remove
 * it), replacing the file at once (a whole new file, renamed over the old).
 * Returns: OFFPAY_OK, OFFPAY_ERR_USAGE (out of range, or a config file that
 * does not parse), OFFPAY_ERR_STORAGE (cannot write it). */
enum offpay_status offpay_wallet_config_timeout_set(struct offpay_wallet *w, unsigned seconds) OFFPAY_WARN_UNUSED;

/*
 * Check a server URL: http:// or https://, a host name (letters, digits,
 * '.', '-') or an IPv6 address in brackets, an optional :PORT (1..65535),
 * an optional path of letters, digits and "-._~/"; no user, query or
 * fragment; shorter than OFFPAY_WALLET_URL_MAX.  Out: why (a sentence, when
 * it is refused).  Returns: 1 when it is such a URL, else 0.
 */
int offpay_wallet_url_check(const char *url, char *why, size_t why_cap);

/*
 * Create a wallet in dir from what enrolment handed out: the server URL, the
 * certificate (its public key must be sk's), the issuer public key, the
 * server's signed limits and revocation list (both verified against
 * issuer_pk).  Writes dir/key (0600, never overwritten) and dir/wallet.db.
 * In: sk (not kept; the caller wipes it).  Out: *w, the open wallet; err as
 * for offpay_wallet_open.
 * Returns: OFFPAY_OK, OFFPAY_ERR_USAGE (dir already holds a wallet),
 * a verification failure, or OFFPAY_ERR_STORAGE.  On failure nothing is left
 * in dir.
 */
enum offpay_status offpay_wallet_create(struct offpay_wallet **w, char *err, const char *dir, const char *server_url,
                                        const struct offpay_cert *cert,
                                        const uint8_t sk[OFFPAY_SECRET_KEY_BYTES],
                                        const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                        const struct offpay_limits_policy *limits,
                                        const uint8_t *revocation, size_t revocation_len) OFFPAY_WARN_UNUSED;

/* ---- what the wallet knows ---- */

/* Out: the wallet's certificate, issuer key and server URL (read-only views). */
const struct offpay_cert *offpay_wallet_cert(const struct offpay_wallet *w);

/* The wallet's certificate against its clock (issue 13): when it ends
 * (not_after, Unix seconds), whether that is within
 * OFFPAY_WALLET_CERT_RENEW_BEFORE (a sync then renews it), and whether it
 * has ended (payees refuse the wallet until a sync renews it). */
#define OFFPAY_WALLET_CERT_RENEW_BEFORE (30u * 86400u)
struct offpay_wallet_cert_info {
    uint64_t not_after;
    int renew_due;
    int expired;
};
void offpay_wallet_cert_info(const struct offpay_wallet *w, struct offpay_wallet_cert_info *info);
const uint8_t *offpay_wallet_issuer_key(const struct offpay_wallet *w);
const char *offpay_wallet_server_url(const struct offpay_wallet *w);

enum offpay_utxo_state {
    OFFPAY_UTXO_SPENDABLE = 0, /* attested, free to spend offline */
    OFFPAY_UTXO_LOCKED = 1,    /* change of a confirmed, unsynced payment (claim 2) */
    OFFPAY_UTXO_IN_DOUBT = 2   /* input of a payment that left the wallet unconfirmed */
};

/* Returns: "spendable", "locked" or "in_doubt". */
const char *offpay_utxo_state_name(enum offpay_utxo_state s);

struct offpay_wallet_utxo {
    uint8_t id[OFFPAY_UTXO_ID_BYTES];
    uint64_t amount;
    enum offpay_utxo_state state;
};

/* Offline totals (the online balance needs the server: offpay_wallet_online_balance). */
struct offpay_wallet_balance {
    uint64_t spendable, locked, in_doubt; /* sums of UTXO amounts by state */
    uint64_t incoming_unsynced;           /* accepted offline payments not yet synced */
    uint64_t pending_outgoing;            /* count of unsynced outgoing records */
    uint64_t pending_incoming;            /* count of unsynced incoming records */
};

/*
 * Out: *b, and *utxos (malloc'd array of *n_utxos entries sorted by amount
 * then id; the caller frees it) unless utxos is NULL.
 * Returns: OFFPAY_OK, OFFPAY_ERR_STORAGE, OFFPAY_ERR_NOMEM.
 */
enum offpay_status offpay_wallet_balance(struct offpay_wallet *w, struct offpay_wallet_balance *b,
                                         struct offpay_wallet_utxo **utxos, size_t *n_utxos) OFFPAY_WARN_UNUSED;

/*
 * The coins whose id begins with prefix: at least OFFPAY_WALLET_ID_PREFIX_MIN
 * hex digits (either case) of an id, at most a whole one (a whole id matches
 * at most its own coin).  Out: out[0..min(*n, max)) by id, *n the number of
 * coins that match (more than max when the list is cut short; 1 = unique).
 * OFFPAY_ERR_MALFORMED when prefix is too short, too long or not hex.
 */
#define OFFPAY_WALLET_ID_PREFIX_MIN 8
enum offpay_status offpay_wallet_find_coins(struct offpay_wallet *w, const char *prefix, struct offpay_wallet_utxo *out,
                                            size_t max, size_t *n) OFFPAY_WARN_UNUSED;

/* The one coin whose id begins with prefix (offpay_wallet_find_coins's
 * rule).  Out: id.  Returns: OFFPAY_OK, OFFPAY_ERR_MALFORMED (not 8 to 64
 * hex digits), OFFPAY_ERR_USAGE (no such coin, or several: the wallet's
 * error names up to 5), OFFPAY_ERR_STORAGE. */
enum offpay_status offpay_wallet_coin_resolve(struct offpay_wallet *w, const char *prefix,
                                              uint8_t id[OFFPAY_UTXO_ID_BYTES]) OFFPAY_WARN_UNUSED;

/*
 * Verify an encoded message of any type offline with what the wallet knows,
 * changing nothing (offpay show): a certificate, request or record against
 * the issuer key, the revocation list and the time now (a record also its
 * coins' attestations, that it balances and the sync stamp it carries); a
 * coin, revocation list, limits policy or sync stamp against the issuer key;
 * a confirmation or refusal against
 * the payment it answers when this wallet made it, else a confirmation's
 * certificate only and a refusal not at all.
 * Out: *checked (0 when nothing could be checked), what[0..what_cap) a
 * phrase naming what was checked.  Returns: OFFPAY_OK, the first failure
 * (offpay_wallet_error says it; a malformation for a message that does not
 * decode), OFFPAY_ERR_STORAGE or OFFPAY_ERR_NOMEM.
 */
enum offpay_status offpay_wallet_check_message(struct offpay_wallet *w, const uint8_t *msg, size_t len, int *checked,
                                               char *what, size_t what_cap) OFFPAY_WARN_UNUSED;

/* Limits: what the server set, what the owner set (0 = not set), the
 * stricter of both, and what is used of them now. */
struct offpay_wallet_limits {
    struct offpay_limits server, owner, effective;
    uint64_t unsynced_total;   /* offline payments not yet synced */
    uint32_t count_in_period;  /* offline payments made in the current period */
    uint64_t period_start;     /* start of the current period, Unix seconds */
    uint64_t held;             /* offline coins held: spendable + locked + in doubt (the holding limit's use) */
    uint64_t synced_at;        /* the server's time of the last sync it stamped (0: none yet) */
};

enum offpay_status offpay_wallet_limits(struct offpay_wallet *w, struct offpay_wallet_limits *l) OFFPAY_WARN_UNUSED;

/* Out: *m, what the wallet's amounts are counted in: the currency and
 * exponent of the server's signed limits policy it keeps (CNY, 2 for a
 * policy in an older form).  Returns: OFFPAY_OK, OFFPAY_ERR_STORAGE. */
enum offpay_status offpay_wallet_money(struct offpay_wallet *w, struct offpay_money *m) OFFPAY_WARN_UNUSED;

/*
 * Set owner limits (claim 4): each field of owner that is nonzero replaces
 * the owner's value; a field may only make the limit stricter than the
 * server's (smaller amounts and count, longer period).
 * Returns: OFFPAY_OK, OFFPAY_ERR_USAGE (a value looser than the server's;
 * offpay_wallet_error names it), OFFPAY_ERR_STORAGE.
 */
enum offpay_status offpay_wallet_limits_set(struct offpay_wallet *w, const struct offpay_limits *owner) OFFPAY_WARN_UNUSED;

/*
 * Lift owner limits: each field of which that is nonzero goes back to "not
 * set", so the server's value of that limit applies again; the others stay.
 * Returns: OFFPAY_OK, OFFPAY_ERR_STORAGE.
 */
enum offpay_status offpay_wallet_limits_unset(struct offpay_wallet *w, const struct offpay_limits *which) OFFPAY_WARN_UNUSED;

/* One line of history, newest last. */
struct offpay_wallet_event {
    uint64_t time;
    char kind[24];     /* load, unload, request, pay, accept, confirm, refused, ... */
    uint64_t amount;
    char counterparty[OFFPAY_ACCOUNT_MAX + 1]; /* "" when none */
    uint8_t record_id[OFFPAY_RECORD_ID_BYTES]; /* all zero when none */
    int has_record;
    char detail[160];
};

/* Out: *events (malloc'd, oldest first; caller frees), *n.
 * Returns: OFFPAY_OK, OFFPAY_ERR_STORAGE, OFFPAY_ERR_NOMEM. */
enum offpay_status offpay_wallet_history(struct offpay_wallet *w, struct offpay_wallet_event **events,
                                         size_t *n) OFFPAY_WARN_UNUSED;

/* ---- the offline handshake ---- */

/* What one step of the handshake did, for the user. */
struct offpay_wallet_payment {
    uint8_t record_id[OFFPAY_RECORD_ID_BYTES];
    uint64_t amount;                           /* paid to the payee */
    uint64_t change;                           /* back to the payer (0: none) */
    uint64_t inputs_total;                     /* sum of the inputs spent */
    unsigned n_inputs;
    char counterparty[OFFPAY_ACCOUNT_MAX + 1]; /* the other side's account */
    int refused;                               /* confirm: the answer was a refusal */
    uint8_t refusal_reason;                    /* enum offpay_refusal_reason when refused */
};

/*
 * Payee: create a payment request for amount (> 0) under a fresh nonce and
 * remember the nonce, so exactly one record can be accepted for it.
 * Out: out[0..*out_len) the encoded request (out_cap >= OFFPAY_REQUEST_BYTES_MAX).
 * Returns: OFFPAY_OK, OFFPAY_ERR_ZERO_AMOUNT, OFFPAY_ERR_BUFFER_TOO_SMALL,
 * OFFPAY_ERR_STORAGE.
 */
enum offpay_status offpay_wallet_request_create(struct offpay_wallet *w, uint8_t *out, size_t out_cap,
                                                size_t *out_len, uint64_t amount) OFFPAY_WARN_UNUSED;

/*
 * Payer (claim 1): decode and verify the request (payee certificate, issuer,
 * validity, revocation list, signature; not our own; not paid before), check
 * the offline limits (claim 4), select coins (never locked or in-doubt ones,
 * claim 2), build and sign the record, and - in one transaction, before the
 * record is returned - mark the inputs in_doubt, store the record as pending
 * outgoing and bump the record sequence number.
 * In: request[0..request_len).  Out: out[0..*out_len) the encoded record
 * (out_cap >= OFFPAY_RECORD_BYTES_MAX), *info (may be NULL).
 * Returns: OFFPAY_OK, a malformation (exit 3), a verification failure (4),
 * OFFPAY_ERR_INSUFFICIENT_FUNDS / FUNDS_LOCKED / TOO_MANY_INPUTS (5),
 * OFFPAY_ERR_LIMIT_* (6), OFFPAY_ERR_STORAGE.
 */
enum offpay_status offpay_wallet_pay(struct offpay_wallet *w, uint8_t *out, size_t out_cap, size_t *out_len,
                                     struct offpay_wallet_payment *info, const uint8_t *request,
                                     size_t request_len) OFFPAY_WARN_UNUSED;

/*
 * Payee (claims 5-6): decode the record, check it answers one of our
 * unanswered requests, verify it (payer certificate and signature, revocation
 * list, input attestations, balance, amount, nonce), refuse an input already
 * spent to us in another record, then in one transaction store it as pending
 * incoming and mark the request answered.  The value becomes a spendable UTXO
 * only at sync.  Out: out[0..*out_len) the encoded confirmation
 * (out_cap >= OFFPAY_CONFIRMATION_BYTES_MAX), *info (may be NULL).
 * Returns: OFFPAY_OK, a malformation (3), a verification failure (4) -
 * including OFFPAY_ERR_WRONG_NONCE for a record already accepted (a replay)
 * or answering no request of ours - or OFFPAY_ERR_STORAGE.
 */
enum offpay_status offpay_wallet_accept(struct offpay_wallet *w, uint8_t *out, size_t out_cap, size_t *out_len,
                                        struct offpay_wallet_payment *info, const uint8_t *record,
                                        size_t record_len) OFFPAY_WARN_UNUSED;

/*
 * Payee: decline a record addressed to us that we have not accepted, with a
 * signed refusal (reason: enum offpay_refusal_reason), which lets the payer
 * void it at the server.  The request stays answered (no record is accepted
 * for it afterwards).  Out: out[0..*out_len) the encoded refusal, *info.
 * Returns: OFFPAY_OK, a malformation (3), OFFPAY_ERR_WRONG_PAYEE,
 * OFFPAY_ERR_BAD_SIGNATURE, OFFPAY_ERR_WRONG_NONCE (already answered), or
 * OFFPAY_ERR_STORAGE.
 */
enum offpay_status offpay_wallet_refuse(struct offpay_wallet *w, uint8_t *out, size_t out_cap, size_t *out_len,
                                        struct offpay_wallet_payment *info, const uint8_t *record, size_t record_len,
                                        uint8_t reason) OFFPAY_WARN_UNUSED;

/*
 * Payer: apply the payee's answer to one of our pending outgoing records.
 * A confirmation (verified: right record, the record's payee, certificate good
 * and not revoked, signature) replaces the in-doubt inputs by the change,
 * which stays locked until the record is synced (claims 1-2).  A refusal
 * (verified against the record's payee key) is stored and keeps the inputs in
 * doubt until sync voids the record.  One transaction either way.
 * In: answer[0..answer_len), an encoded confirmation or refusal.
 * Out: *info (may be NULL; info->refused tells which).
 * Returns: OFFPAY_OK, a malformation (3), a verification failure (4) -
 * including OFFPAY_ERR_WRONG_RECORD for an answer to no pending record of
 * ours or one already answered (a replay) - or OFFPAY_ERR_STORAGE.
 */
enum offpay_status offpay_wallet_confirm(struct offpay_wallet *w, struct offpay_wallet_payment *info,
                                         const uint8_t *answer, size_t answer_len) OFFPAY_WARN_UNUSED;

/* ---- coins from the server ---- */

/*
 * Store attested UTXOs as spendable: each must verify against the issuer key
 * and be owned by this wallet's key; ones already held are skipped.  One
 * transaction; history gets one "load" event of their sum.  Used by load and
 * by tests that attest coins themselves.
 * Returns: OFFPAY_OK, OFFPAY_ERR_INPUT_NOT_ATTESTED, OFFPAY_ERR_INPUT_NOT_OWNED,
 * OFFPAY_ERR_STORAGE.
 */
enum offpay_status offpay_wallet_add_utxos(struct offpay_wallet *w, const struct offpay_utxo *utxos,
                                           size_t n) OFFPAY_WARN_UNUSED;

/* ---- online (through the server) ---- */

/*
 * Enrol: make a key pair, POST /v1/enrol with the one-time token, verify what
 * comes back (certificate for our key and this account, issuer signatures on
 * certificate, limits and revocation list) and create the wallet in dir.
 * In: issuer_pin, the issuer public key the operator published (offpayd
 * init prints it); a server presenting another key is refused.  NULL: the
 * key in the answer is trusted on first use.  ca_file: for an https://
 * server_url, a PEM file of the certificate authorities to check the server
 * against, from now on (a copy is kept in dir as OFFPAY_WALLET_CA_FILE);
 * NULL: the system's authorities.  contact: how to reach the server (NULL:
 * the defaults; the new handle keeps it).
 * Out: *w, err as for offpay_wallet_open.  Returns: OFFPAY_OK, OFFPAY_ERR_USAGE (dir already holds a
 * wallet, bad account name), OFFPAY_ERR_UNREACHABLE, OFFPAY_ERR_OUTCOME_UNKNOWN
 * (the answer was lost: run it again with the same token), OFFPAY_ERR_REJECTED
 * (e.g. a used token), a verification failure (OFFPAY_ERR_CERT_NOT_ISSUED for
 * an issuer key that is not the pinned one), OFFPAY_ERR_SERVER_UNTRUSTED
 * (an https server whose certificate does not verify), OFFPAY_ERR_STORAGE.
 */
enum offpay_status offpay_wallet_init(struct offpay_wallet **w, char *err, const char *dir, const char *server_url,
                                      const char *account, const char *token,
                                      const uint8_t issuer_pin[OFFPAY_PUBLIC_KEY_BYTES], const char *ca_file,
                                      const struct offpay_wallet_contact *contact) OFFPAY_WARN_UNUSED;

/* Out: *online, the account's online balance.  Changes nothing.
 * Returns: OFFPAY_OK, OFFPAY_ERR_UNREACHABLE, OFFPAY_ERR_REJECTED. */
enum offpay_status offpay_wallet_online_balance(struct offpay_wallet *w, uint64_t *online) OFFPAY_WARN_UNUSED;

/*
 * Load: move amounts[0..n) (each > 0, n <= 64) from the online balance into
 * new offline UTXOs.  Out: *online (the online balance after).
 * Returns: OFFPAY_OK, OFFPAY_ERR_UNREACHABLE, OFFPAY_ERR_REJECTED, a
 * verification failure of what came back, OFFPAY_ERR_STORAGE.
 */
enum offpay_status offpay_wallet_load(struct offpay_wallet *w, uint64_t *online, const uint64_t *amounts,
                                      size_t n) OFFPAY_WARN_UNUSED;

/*
 * Unload: give spendable UTXOs back to the online balance: the one named by
 * id, or all spendable ones when id is NULL.  The coins are marked in_doubt
 * before the server is asked (so they can never be spent twice) and removed
 * once it answers; when it cannot be reached they are spendable again.
 * Out: *online, *unloaded (the amount moved).
 * Returns: OFFPAY_OK, OFFPAY_ERR_USAGE (no such coin), OFFPAY_ERR_FUNDS_LOCKED
 * (the coin is locked or in doubt), OFFPAY_ERR_INSUFFICIENT_FUNDS (nothing to
 * unload), OFFPAY_ERR_UNREACHABLE, OFFPAY_ERR_REJECTED, OFFPAY_ERR_STORAGE.
 */
enum offpay_status offpay_wallet_unload(struct offpay_wallet *w, uint64_t *online, uint64_t *unloaded,
                                        const uint8_t *id) OFFPAY_WARN_UNUSED;

/* Unload every spendable coin: offpay_wallet_unload(NULL) until none is
 * left (a call takes at most 64).  Out: *online (the balance the last call
 * that moved coins reported), *unloaded (the sum moved, also on failure).
 * Returns: as offpay_wallet_unload (a later call's failure after earlier
 * ones moved coins too); OFFPAY_ERR_INSUFFICIENT_FUNDS only when there was
 * no spendable coin at all. */
enum offpay_status offpay_wallet_unload_all(struct offpay_wallet *w, uint64_t *online,
                                            uint64_t *unloaded) OFFPAY_WARN_UNUSED;

/* One record's fate at sync. */
struct offpay_sync_item {
    uint8_t record_id[OFFPAY_RECORD_ID_BYTES];
    int outgoing;                              /* 1: we paid; 0: we were paid */
    uint64_t amount;
    char counterparty[OFFPAY_ACCOUNT_MAX + 1];
    char status[16];                           /* settled, voided, rejected */
    char reason[32];                           /* when rejected */
    int was_unconfirmed;                       /* outgoing, settled without a confirmation (SPEC rule 8) */
    uint64_t waterfall;                        /* incoming, settled: the amount that went to the account's
                                                * online balance instead of a coin (holding limit), else 0 */
};

/* A call whose answer was lost (load, unload, pay-online), settled by a sync. */
struct offpay_call_outcome {
    char kind[16];     /* "load", "unload", "pay_online", "lost" */
    char outcome[16];  /* "done": the server did it; "cancelled": it never did and
                        * now never will; "unknown": too old for the server to tell
                        * (an unload's coins are then settled by the coin list,
                        * a load's by recovery) */
    uint64_t amount;
    char counterparty[OFFPAY_ACCOUNT_MAX + 1];
};

struct offpay_sync_report {
    /* Calls in doubt settled before the records (malloc'd). */
    struct offpay_call_outcome *calls;
    size_t n_calls;
    size_t submitted, settled, voided, rejected;
    struct offpay_sync_item *items; /* malloc'd, submitted entries */
    struct offpay_wallet_utxo *new_utxos; /* malloc'd */
    size_t n_new_utxos;
    int limits_updated;
    uint32_t revoked_count;         /* size of the revocation list now held */
    /* Coins the server holds for us that the wallet had never seen (GET
     * /v1/utxos after the sync): a load whose answer was lost, a payment
     * settled by its payer before its record reached us.  Now spendable. */
    struct offpay_wallet_utxo *recovered; /* malloc'd */
    size_t n_recovered;
    uint64_t recovered_sum;
    /* Coins an unload left in doubt when it was cut off, settled by the same
     * listing: the amount made spendable again (the server never took it) and
     * the amount that left the wallet (the server had taken it online). */
    uint64_t unload_undone, unload_completed;
    /* Set when that listing failed or was refused: the sync itself counts as
     * done; this says why nothing was recovered. */
    char recovery_warning[OFFPAY_WALLET_ERROR_MAX];
    /* The server renewed the wallet's certificate (issue 13): its new end,
     * Unix seconds; 0 when it did not. */
    uint64_t certificate_renewed_until;
};

/*
 * Sync (claims 3, 6): submit every unsynced record, outgoing and incoming,
 * with the confirmation or refusal we hold, in batches of at most 1000; apply
 * the answers in one transaction per batch: settled outgoing records drop
 * their spent inputs and their locked change is replaced by the attested one;
 * settled incoming records give their attested UTXO; voided records free
 * their inputs; rejected ones are reported with the server's reason.  Takes
 * the new limits and revocation list (verified).  Every UTXO handed back is
 * verified and must be an output of a settled record that is ours.
 * Then it asks for every unspent coin the server holds for our key and adds,
 * in one transaction, each one (verified) whose id the wallet has never seen
 * as spendable (report->recovered); a coin the wallet knows keeps its state.
 * If that listing fails the sync still succeeds (report->recovery_warning).
 * Out: *report (free with offpay_sync_report_free, also on failure).
 * Returns: OFFPAY_OK, OFFPAY_ERR_UNREACHABLE (nothing changed),
 * OFFPAY_ERR_REJECTED, a verification failure, OFFPAY_ERR_STORAGE.
 */
enum offpay_status offpay_wallet_sync(struct offpay_wallet *w, struct offpay_sync_report *report) OFFPAY_WARN_UNUSED;
void offpay_sync_report_free(struct offpay_sync_report *report);

/*
 * Pay online (claim 3): sync first; only when that sync completed, pay
 * amount from the online balance to account.  If the sync fails nothing is
 * paid.  A retry is safe: when that sync learns that a payment to the same
 * account of the same amount, whose answer was lost, was made, it is not
 * made again (*already_paid = 1, OFFPAY_OK; *online is then 0: unknown).
 * Out: *report (the sync's, free it), *online (balance after), *already_paid.
 * Returns: as offpay_wallet_sync, then OFFPAY_ERR_REJECTED (unknown account,
 * balance too small) or OFFPAY_ERR_UNREACHABLE.
 */
enum offpay_status offpay_wallet_pay_online(struct offpay_wallet *w, struct offpay_sync_report *report,
                                            uint64_t *online, int *already_paid, const char *account,
                                            uint64_t amount) OFFPAY_WARN_UNUSED;

/* What the server said of a loss report. */
struct offpay_lost_report {
    char wallet[2 * OFFPAY_WALLET_ID_BYTES + 1]; /* the whole id of the wallet reported */
    char reason[8];                              /* "lost" or "stolen" (the first report's) */
    uint64_t reported_at;                        /* when it was revoked */
    uint64_t writeoff_at;                        /* the end of its grace period */
    int fresh;                                   /* 0: it had been reported before */
};

/*
 * Report another wallet of this wallet's account lost or stolen (docs/wallet.md,
 * "Lost device"): POST /v1/wallets/lost, signed by this wallet.  wallet: any
 * unique beginning of at least 8 hex digits of its id; reason: "lost" or
 * "stolen".  The call is written down before it leaves (a call in doubt,
 * settled by the next sync if its answer is lost; sending it again is safe).
 * Out: *out.  Returns: OFFPAY_OK; OFFPAY_ERR_USAGE (a bad id or reason, or
 * one that begins several of the account's wallet ids); OFFPAY_ERR_REJECTED
 * (no such wallet in the account, this wallet itself, or this wallet is
 * revoked); OFFPAY_ERR_UNREACHABLE; OFFPAY_ERR_OUTCOME_UNKNOWN.
 */
enum offpay_status offpay_wallet_report_lost(struct offpay_wallet *w, struct offpay_lost_report *out,
                                             const char *wallet, const char *reason) OFFPAY_WARN_UNUSED;

#endif

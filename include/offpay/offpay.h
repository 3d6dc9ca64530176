/*
 * offpay.h - liboffpay: the offpay wallet inside an app (a phone, a
 * point-of-sale terminal).
 *
 * This header, status.h and version.h are what `cmake --install` installs;
 * link with `pkg-config --cflags --libs offpay` (liboffpay.so, or liboffpay.a
 * with `--static`).  docs/wallet.md, "Library", says more; examples/pos.c
 * is a whole point-of-sale terminal in this API.
 *
 * A wallet is a folder (made by `offpay init`, which enrols it with a
 * server).  offpay_open gives a handle on it; every other function takes
 * the handle first, then its outputs, then its inputs.  The offline
 * payment is four steps over messages, either as bytes or as their one-line
 * text form ("OP1REQ:...", for files and QR codes):
 *
 *   payee  offpay_request  amount        -> request
 *   payer  offpay_pay      request       -> record
 *   payee  offpay_accept   record        -> confirmation
 *   payer  offpay_confirm  confirmation
 *
 * or, over a direct TCP connection, offpay_receive (payee: listens, and runs
 * the first and third step) against offpay_pay_to or `offpay pay --to`
 * (payer).  Money moves for good at offpay_sync, when either side is online.
 *
 * Errors: every function that can fail returns an enum offpay_status
 * (status.h: OFFPAY_OK, or why; offpay_status_exit_code groups them as the
 * offpay command's exit codes do).  offpay_errmsg(h) then holds one sentence
 * for a person.  A function that fails changes nothing in the wallet -
 * except that a payment whose record may have left the device stays in
 * doubt until sync settles it (it is never undone on a guess).
 *
 * Memory: strings a function hands back through a char ** are malloc'd and
 * belong to the caller, who frees them with offpay_free (NULL is fine).
 * Strings returned as const char * belong to the library (see each one).
 * Structs of this header begin with their size: set it to sizeof the struct
 * before the call ({.size = sizeof b}); fields are only ever added at the end, so an
 * app built against this header keeps working with a later library.
 *
 * Threads: a handle is used by one thread at a time (the library takes no
 * lock on it); distinct handles may be used from different threads at once,
 * also on the same wallet folder (the wallet's database serialises writers).
 * The library has no global state for the app to set up or tear down:
 * libsodium and libcurl are initialised once, on first use, under a
 * thread-safe once (curl_global_init is thread-safe from libcurl 7.84 on).
 * A thread that talked to the server keeps one HTTP connection open until
 * it exits.  No function raises a signal (SIGPIPE included) or touches the
 * process's signal handlers, locale or working directory.
 */
#ifndef OFFPAY_H
#define OFFPAY_H

#include <stddef.h>
#include <stdint.h>

#include "offpay/status.h"
#include "offpay/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The interface's version: liboffpay.so.OFFPAY_LIB_ABI.  It changes only
 * when an app built against an older header could break. */
#define OFFPAY_LIB_ABI 1

/* Bytes of an account name with its NUL, and of a record id in hex with its NUL. */
#define OFFPAY_NAME_BYTES 33
#define OFFPAY_ID_HEX_BYTES 65

/* One open wallet.  Opaque. */
struct offpay;
/* A TCP port payers connect to (offpay_listen).  Opaque. */
struct offpay_listener;

/* How a wallet is opened.  NULL means all defaults. */
struct offpay_options {
    size_t size;         /* sizeof(struct offpay_options) */
    int peer_timeout_ms; /* each step of a direct-connection exchange; 0: 30000 */
    /* Later fields (a key passphrase, a key token) are added here. */
};

/*
 * Open the wallet in the folder dir (NULL: $OFFPAY_WALLET, else ~/.offpay).
 * Out: *h (close it with offpay_close; NULL on failure), *errmsg if errmsg
 * is not NULL (on failure a sentence saying why, which the caller frees with
 * offpay_free; NULL on success).
 * Returns: OFFPAY_OK; OFFPAY_ERR_USAGE (no wallet in dir: run `offpay
 * init`; bad options); OFFPAY_ERR_KEY_UNAVAILABLE (a key file or folder
 * others may read or write); OFFPAY_ERR_STORAGE; OFFPAY_ERR_NOMEM.
 */
OFFPAY_API enum offpay_status offpay_open(struct offpay **h, char **errmsg, const char *dir,
                                          const struct offpay_options *opts) OFFPAY_WARN_UNUSED;

/* Close h (NULL is fine); frees everything it holds. */
OFFPAY_API void offpay_close(struct offpay *h);

/* Returns: the sentence for h's last failure ("" after a success; never
 * NULL).  It belongs to h and is valid until h's next call. */
OFFPAY_API const char *offpay_errmsg(const struct offpay *h);

/* Free a string the library handed out (NULL is fine). */
OFFPAY_API void offpay_free(void *p);

/* Returns: the wallet's account name (belongs to h, valid until offpay_close). */
OFFPAY_API const char *offpay_account(const struct offpay *h);

/* Returns: the library's version, e.g. "0.2.0" (static). */
OFFPAY_API const char *offpay_version(void);

/* ---- balances ---- */

struct offpay_balance {
    size_t size;           /* sizeof(struct offpay_balance) */
    uint64_t spendable;    /* offline coins free to spend */
    uint64_t locked;       /* change of confirmed payments, spendable after sync */
    uint64_t in_doubt;     /* coins of payments not confirmed yet, settled at sync */
    uint64_t incoming;     /* payments accepted offline, spendable after sync */
    uint64_t unsynced;     /* payment records (made or taken) not synced yet */
};

/* Out: *b.  Offline: reads only the wallet.
 * Returns: OFFPAY_OK, OFFPAY_ERR_USAGE (bad size), OFFPAY_ERR_STORAGE. */
OFFPAY_API enum offpay_status offpay_balance(struct offpay *h, struct offpay_balance *b) OFFPAY_WARN_UNUSED;

/* Out: *online, the account's balance at the server.  Changes nothing.
 * Returns: OFFPAY_OK, OFFPAY_ERR_UNREACHABLE, OFFPAY_ERR_REJECTED. */
OFFPAY_API enum offpay_status offpay_online_balance(struct offpay *h, uint64_t *online) OFFPAY_WARN_UNUSED;

/* One offline coin (offpay_coins). */
struct offpay_coin_info {
    size_t size;                    /* sizeof(struct offpay_coin_info) of the library that made it */
    char id[OFFPAY_ID_HEX_BYTES];   /* 64 hex digits; any unique beginning of 8 or more names it */
    uint64_t amount;
    char state[12];                 /* "spendable", "locked" (change, until sync), "in_doubt" */
};

/*
 * Call each(ctx, c) for every offline coin, smallest first.  c belongs to
 * the library and is valid during the call only; read c->size before a
 * field this header added later.  each returns 0 to go on, anything else
 * to stop.  Offline: reads only the wallet.
 * Returns: OFFPAY_OK, OFFPAY_ERR_USAGE (each is NULL), OFFPAY_ERR_STORAGE,
 * OFFPAY_ERR_NOMEM.
 */
OFFPAY_API enum offpay_status offpay_coins(struct offpay *h, int (*each)(void *ctx, const struct offpay_coin_info *c),
                                           void *ctx) OFFPAY_WARN_UNUSED;

/* One line of the wallet's history (offpay_history; `offpay history`). */
struct offpay_event {
    size_t size;                          /* sizeof(struct offpay_event) of the library that made it */
    uint64_t time;                        /* Unix seconds */
    char kind[24];                        /* "load", "unload", "request", "pay", "accept", "confirm",
                                           * "refused", "sync", ... as `offpay history` names them */
    uint64_t amount;                      /* minor units; 0 when the event has none */
    char counterparty[OFFPAY_NAME_BYTES]; /* the other side's account, "" when none */
    char record_id[OFFPAY_ID_HEX_BYTES];  /* the payment record's id, "" when none */
    char detail[160];                     /* a sentence for a person */
};

/*
 * Call each(ctx, e) for every event of the wallet's history, oldest first,
 * with the rules of offpay_coins.  Offline.
 * Returns: OFFPAY_OK, OFFPAY_ERR_USAGE, OFFPAY_ERR_STORAGE, OFFPAY_ERR_NOMEM.
 */
OFFPAY_API enum offpay_status offpay_history(struct offpay *h, int (*each)(void *ctx, const struct offpay_event *e),
                                             void *ctx) OFFPAY_WARN_UNUSED;

/* ---- between the online balance and offline coins (online) ---- */

/* What a load or unload moved. */
struct offpay_transfer {
    size_t size;     /* sizeof(struct offpay_transfer) */
    uint64_t moved;  /* the amount that became offline coins (load) or went back online (unload) */
    uint64_t online; /* the account's online balance after it */
};

/*
 * Load: move amounts[0..n) (each > 0, 1 <= n <= 64) from the account's
 * online balance into that many new offline coins, attested by the server.
 * Out: *t (may be NULL).  A call whose answer was lost is not undone: the
 * next offpay_sync settles it.
 * Returns: OFFPAY_OK; OFFPAY_ERR_USAGE (no amounts, more than 64, bad
 * size); OFFPAY_ERR_ZERO_AMOUNT; OFFPAY_ERR_UNREACHABLE (nothing moved);
 * OFFPAY_ERR_OUTCOME_UNKNOWN; OFFPAY_ERR_REJECTED (e.g. the online balance
 * does not cover it, a holding limit); a verification failure of the coins;
 * OFFPAY_ERR_STORAGE.
 */
OFFPAY_API enum offpay_status offpay_load(struct offpay *h, struct offpay_transfer *t, const uint64_t *amounts,
                                          size_t n) OFFPAY_WARN_UNUSED;

/*
 * Unload: give offline coins back to the online balance: the spendable coin
 * coin names (its id, or any unique beginning of at least 8 hex digits),
 * or, coin NULL, every spendable coin.  The coins are held in doubt while
 * the server is asked, so they can never be spent twice.  Out: *t (may be
 * NULL; after a failure of unloading all, what earlier calls moved).
 * Returns: OFFPAY_OK; OFFPAY_ERR_MALFORMED (coin is not 8 to 64 hex
 * digits); OFFPAY_ERR_USAGE (no such coin, or several: offpay_errmsg names
 * them); OFFPAY_ERR_FUNDS_LOCKED (the coin is locked or in doubt: sync
 * first); OFFPAY_ERR_INSUFFICIENT_FUNDS (no spendable coin);
 * OFFPAY_ERR_UNREACHABLE; OFFPAY_ERR_OUTCOME_UNKNOWN; OFFPAY_ERR_REJECTED;
 * OFFPAY_ERR_STORAGE.
 */
OFFPAY_API enum offpay_status offpay_unload(struct offpay *h, struct offpay_transfer *t,
                                            const char *coin) OFFPAY_WARN_UNUSED;

/* ---- one offline payment ---- */

/* What a step of a payment did.  All fields are 0 / "" until it did it. */
struct offpay_payment {
    size_t size;                             /* sizeof(struct offpay_payment) */
    uint64_t amount;                         /* paid */
    uint64_t change;                         /* payer: change back, locked until sync */
    char counterparty[OFFPAY_NAME_BYTES];    /* the other side's account */
    char record_id[OFFPAY_ID_HEX_BYTES];     /* the payment record's id, 64 hex digits */
    int refused;                             /* the payee refused (the payer's coins free up at sync) */
    int sent;                                /* offpay_receive: the answer went back to the payer;
                                              * offpay_pay_to: the record left (settled at sync
                                              * if no answer came) */
};

/*
 * Payee: a payment request for amount (minor units, > 0).  Exactly one
 * record will be accepted for it.  Out: *request (text form, NUL-terminated;
 * offpay_free it).
 * Returns: OFFPAY_OK, OFFPAY_ERR_ZERO_AMOUNT, OFFPAY_ERR_STORAGE.
 */
OFFPAY_API enum offpay_status offpay_request(struct offpay *h, char **request, uint64_t amount) OFFPAY_WARN_UNUSED;

/*
 * Payer: verify a request (request[0..len): its bytes or its text form) and
 * pay it from the offline coins.  Before it returns, the coins spent are in
 * doubt and the record is kept, so a lost record settles at sync.
 * Out: *record (text form; offpay_free it), *p (may be NULL).
 * Returns: OFFPAY_OK; malformed input (exit code 3 in status.h's grouping:
 * OFFPAY_ERR_BAD_TEXT, OFFPAY_ERR_WRONG_TYPE, OFFPAY_ERR_TRUNCATED, ...); a
 * verification failure (4); not enough offline funds (5); a limit (6);
 * OFFPAY_ERR_STORAGE.
 */
OFFPAY_API enum offpay_status offpay_pay(struct offpay *h, char **record, struct offpay_payment *p,
                                         const void *request, size_t len) OFFPAY_WARN_UNUSED;

/*
 * Payee: verify a payment record (bytes or text) answering one of our
 * requests and keep it; the money becomes spendable at sync.
 * Out: *confirmation (text form, to give back to the payer; offpay_free
 * it), *p (may be NULL).
 * Returns: OFFPAY_OK; malformed input (3); a verification failure (4),
 * including OFFPAY_ERR_WRONG_NONCE for a record already accepted or for no
 * request of ours; OFFPAY_ERR_STORAGE.
 */
OFFPAY_API enum offpay_status offpay_accept(struct offpay *h, char **confirmation, struct offpay_payment *p,
                                            const void *record, size_t len) OFFPAY_WARN_UNUSED;

/*
 * Payer: apply the payee's answer (bytes or text) to our record: a
 * confirmation locks the change until sync; a refusal (p->refused) keeps the
 * coins in doubt until sync voids the record.  Out: *p (may be NULL).
 * Returns: OFFPAY_OK; malformed input (3); a verification failure (4),
 * including OFFPAY_ERR_WRONG_RECORD for an answer to no record of ours;
 * OFFPAY_ERR_STORAGE.
 */
OFFPAY_API enum offpay_status offpay_confirm(struct offpay *h, struct offpay_payment *p, const void *answer,
                                             size_t len) OFFPAY_WARN_UNUSED;

/* ---- online ---- */

struct offpay_sync_result {
    size_t size;         /* sizeof(struct offpay_sync_result) */
    uint64_t submitted;  /* payment records sent to the server */
    uint64_t settled;    /* ... of which it settled */
    uint64_t voided;     /* ... voided (refused, or their coins were spent first) */
    uint64_t rejected;   /* ... rejected (offpay_errmsg does not say which: see `offpay history`) */
    uint64_t recovered;  /* amount of coins the server held for us that the wallet had not seen */
};

/*
 * Settle every payment made or taken offline with the server, take the
 * coins that come back and the server's new limits.
 * Out: *r (may be NULL).  Returns: OFFPAY_OK; OFFPAY_ERR_UNREACHABLE
 * (nothing changed); OFFPAY_ERR_OUTCOME_UNKNOWN (run it again);
 * OFFPAY_ERR_REJECTED; a verification failure; OFFPAY_ERR_STORAGE.
 */
OFFPAY_API enum offpay_status offpay_sync(struct offpay *h, struct offpay_sync_result *r) OFFPAY_WARN_UNUSED;

/* ---- over a direct connection (the protocol of `offpay receive`) ---- */

/*
 * Listen on hostport ("HOST:PORT"; port 0: any free one) for payers.
 * Out: *l (close it with offpay_listener_close; NULL on failure).
 * Returns: OFFPAY_OK, OFFPAY_ERR_USAGE (not HOST:PORT),
 * OFFPAY_ERR_PEER_UNREACHABLE (cannot bind; offpay_errmsg(h) says why).
 */
OFFPAY_API enum offpay_status offpay_listen(struct offpay *h, struct offpay_listener **l,
                                            const char *hostport) OFFPAY_WARN_UNUSED;

/* Returns: the port l listens on. */
OFFPAY_API uint16_t offpay_listener_port(const struct offpay_listener *l);

/* Stop listening (NULL is fine). */
OFFPAY_API void offpay_listener_close(struct offpay_listener *l);

/*
 * Payee: wait up to wait_ms (< 0: for ever) for one payer on l, send it a
 * request for amount, verify its record as offpay_accept does and answer
 * with a confirmation (or a signed refusal).  Out: *p (may be NULL).
 * Returns: OFFPAY_OK once the record is kept (even when the confirmation
 * did not reach the payer: p->sent; the payment still settles at
 * sync); OFFPAY_ERR_PEER_TIMEOUT (nobody came); OFFPAY_ERR_PEER_REFUSED
 * (the payer stopped); the verification failure that made us refuse; a
 * malformed frame; another transport failure.  Nothing is kept on failure.
 */
OFFPAY_API enum offpay_status offpay_receive(struct offpay *h, struct offpay_payment *p, struct offpay_listener *l,
                                             uint64_t amount, int wait_ms) OFFPAY_WARN_UNUSED;

/*
 * Payer: connect to a payee at hostport, check its request asks for amount
 * (and comes from the account payee, unless payee is NULL), pay it and
 * apply the answer.  Out: *p (may be NULL).
 * Returns: OFFPAY_OK (confirmed); OFFPAY_ERR_PEER_UNREACHABLE /
 * OFFPAY_ERR_PEER_TIMEOUT (nothing paid, unless offpay_errmsg says the
 * record left: then it settles at sync); OFFPAY_ERR_WRONG_AMOUNT /
 * OFFPAY_ERR_WRONG_PAYEE (nothing paid); OFFPAY_ERR_PEER_REFUSED; any
 * failure of offpay_pay.
 */
OFFPAY_API enum offpay_status offpay_pay_to(struct offpay *h, struct offpay_payment *p, const char *hostport,
                                            uint64_t amount, const char *payee) OFFPAY_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif

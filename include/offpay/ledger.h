/*
 * ledger.h - the server's storage, as an interface.
 *
 * The ledger holds accounts, enrolment tokens, wallets, used request nonces,
 * limits, the revocation list, the UTXO set, settled and voided records and
 * the evidence of double spends.  The server logic sees only this table of
 * operations; each backend (src/ledger/sqlite/, src/ledger/postgres/) fills it in.  A
 * struct offpay_ledger is one connection: use it from one thread at a time
 * and open one per worker thread.
 *
 * Transactions: every state change happens between begin(l, 1) and commit(l).
 * Any operation may answer OFFPAY_LEDGER_RETRY (the backend lost a race with
 * another writer: busy database, serialization failure); the caller then
 * rolls back and runs the whole transaction again.  Operations never commit
 * on their own.
 */
#ifndef OFFPAY_LEDGER_H
#define OFFPAY_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "offpay/messages.h"
#include "offpay/status.h"

enum offpay_ledger_result {
    OFFPAY_LEDGER_OK = 0,
    OFFPAY_LEDGER_NOT_FOUND, /* no such row */
    OFFPAY_LEDGER_DUPLICATE, /* a unique key already exists */
    OFFPAY_LEDGER_RETRY,     /* transient conflict: roll back and run the transaction again */
    OFFPAY_LEDGER_ERROR,     /* anything else; the backend's message is in last_error */
    /* The storage failed: disk full, an I/O error, the database server gone.
     * The transaction is lost (roll back): nothing of it was committed, and
     * a later one may succeed once the fault is gone. */
    OFFPAY_LEDGER_UNAVAILABLE,
    /* commit only: the storage failed while committing (an fsync failed, the
     * connection broke after COMMIT was sent), so the transaction may or may
     * not have been committed.  Running it again would not know which. */
    OFFPAY_LEDGER_UNKNOWN
};

struct offpay_ledger_account {
    int64_t id;
    char name[OFFPAY_ACCOUNT_MAX + 1];
    uint64_t online;   /* online balance */
    uint64_t minted;   /* all value minted into it */
    uint64_t received; /* all value received from other accounts (offline and online) */
    uint64_t sent;     /* all value sent to other accounts */
};

/* Why a wallet was revoked other than for fraud (docs/wallet.md, "Lost device"). */
enum offpay_ledger_loss {
    OFFPAY_LEDGER_IN_USE = 0,
    OFFPAY_LEDGER_LOST = 1,    /* reported lost (by the operator or its account's holder) */
    OFFPAY_LEDGER_STOLEN = 2,  /* reported stolen */
    OFFPAY_LEDGER_WITHDRAWN = 3 /* revoked by the operator with no reason given */
};

struct offpay_ledger_wallet {
    uint8_t id[OFFPAY_WALLET_ID_BYTES];
    int64_t account_id;
    uint8_t public_key[OFFPAY_PUBLIC_KEY_BYTES];
    int fraudulent; /* 1 once caught double spending (its certificate is then revoked) */
    /* Filled by wallet_get, wallet_get_by_key and wallet_list; insert ignores them. */
    uint64_t created;        /* when it enrolled */
    uint64_t last_sync;      /* its last sync request, 0: none */
    int loss;                /* enum offpay_ledger_loss: not IN_USE = revoked without fraud */
    uint64_t lost_at;        /* when it was revoked so (0 when IN_USE) */
    uint64_t writeoff_at;    /* the end of its grace period: its coins go back then */
    uint64_t written_off_at; /* when its unspent coins went back to the online balance; 0: not yet */
    uint64_t written_off;    /* what went back */
};

enum offpay_ledger_spent {
    OFFPAY_LEDGER_UNSPENT = 0,
    OFFPAY_LEDGER_SPENT_BY_RECORD = 1, /* spent_by holds the record id */
    OFFPAY_LEDGER_SPENT_BY_UNLOAD = 2  /* returned to the online balance */
};

struct offpay_ledger_utxo {
    uint8_t id[OFFPAY_UTXO_ID_BYTES];
    uint8_t owner[OFFPAY_PUBLIC_KEY_BYTES];
    uint64_t amount;
    int64_t account_id; /* the account of the owner's wallet */
    uint64_t created;   /* when it was created (filled by utxo_get) */
    int spent;          /* enum offpay_ledger_spent */
    uint8_t spent_by[OFFPAY_RECORD_ID_BYTES];
};

enum offpay_ledger_record_state {
    OFFPAY_LEDGER_RECORD_SETTLED = 1,
    OFFPAY_LEDGER_RECORD_VOIDED = 2
};

struct offpay_ledger_record {
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    int state; /* enum offpay_ledger_record_state */
    uint8_t payer_wallet[OFFPAY_WALLET_ID_BYTES];
    uint8_t payee_key[OFFPAY_PUBLIC_KEY_BYTES];
    uint64_t at;
    const uint8_t *body; /* the encoded record */
    size_t body_len;
    const uint8_t *confirmation; /* encoded confirmation or NULL */
    size_t confirmation_len;
    const uint8_t *refusal; /* encoded refusal or NULL */
    size_t refusal_len;
};

/* Evidence of one double spend: record spent input, which first_record (or an
 * unload, when first_record_len is 0) had spent already. */
struct offpay_ledger_fraud {
    uint8_t record_id[OFFPAY_RECORD_ID_BYTES];
    uint8_t payer_wallet[OFFPAY_WALLET_ID_BYTES];
    int64_t account_id;
    uint8_t input[OFFPAY_UTXO_ID_BYTES];
    uint64_t at;
    const uint8_t *record; /* encoded rejected record */
    size_t record_len;
    const uint8_t *first_record; /* encoded record that spent input first; NULL if unloaded */
    size_t first_record_len;
};

/* One row of the audit: an account's figures and the sum of its unspent UTXOs. */
struct offpay_ledger_audit_row {
    struct offpay_ledger_account account;
    uint64_t unspent; /* sum of unspent UTXOs whose account is this one */
    int overflow;     /* 1 if a sum did not fit in 64 bits */
};

/* What became of a request nonce (one row per wallet and nonce). */
enum offpay_ledger_nonce_kind {
    OFFPAY_LEDGER_NONCE_USED = 0,      /* used by a request whose answer is not kept */
    OFFPAY_LEDGER_NONCE_ANSWERED = 1,  /* used; answer holds the exact 2xx body sent */
    OFFPAY_LEDGER_NONCE_CANCELLED = 2  /* never used, and burnt: it can never be used */
};

struct offpay_ledger_nonce {
    uint64_t ts; /* the request's timestamp (what retention counts from) */
    int kind;    /* enum offpay_ledger_nonce_kind */
    const uint8_t *answer; /* ANSWERED: the body, answer_len bytes; else NULL */
    size_t answer_len;
};

/*
 * What the steps of a write transaction are about to read, for backends that
 * read it in bulk (prefetch below).  Flat arrays of fixed-size keys, grown by
 * offpay_ledger_keys_add; free with offpay_ledger_keys_free.  A key missing
 * here only costs that step a statement of its own.
 */
enum offpay_ledger_key_kind {
    OFFPAY_LEDGER_KEY_RECORD = 0, /* a: record id */
    OFFPAY_LEDGER_KEY_WALLET,     /* a: wallet id (the wallet, its account, its limits) */
    OFFPAY_LEDGER_KEY_WALLET_KEY, /* a: public key (the wallet, its account, its limits, its holding) */
    OFFPAY_LEDGER_KEY_COIN,       /* a: owner key, b: coin id */
    OFFPAY_LEDGER_KEY_NONCE,      /* a: wallet id, b: request nonce */
    OFFPAY_LEDGER_KEY_ACCOUNT,    /* a: account id, 8 bytes big-endian */
    OFFPAY_LEDGER_KEY_KINDS
};

struct offpay_ledger_keys {
    uint8_t *k[OFFPAY_LEDGER_KEY_KINDS]; /* n[kind] keys of offpay_ledger_key_size(kind) bytes each */
    size_t n[OFFPAY_LEDGER_KEY_KINDS], cap[OFFPAY_LEDGER_KEY_KINDS];
};

size_t offpay_ledger_key_size(enum offpay_ledger_key_kind kind);
/* Append one key (b: NULL for the kinds of one part).  Returns 0, or -1 when out of memory. */
int offpay_ledger_keys_add(struct offpay_ledger_keys *k, enum offpay_ledger_key_kind kind, const uint8_t *a,
                           const uint8_t *b);
void offpay_ledger_keys_free(struct offpay_ledger_keys *k);

struct offpay_ledger;

/*
 * The operations of a backend.  Unless said otherwise each returns
 * OFFPAY_LEDGER_OK, OFFPAY_LEDGER_RETRY or OFFPAY_LEDGER_ERROR.  Pointers in
 * structs they fill (record bodies, ...) stay valid until the next operation
 * on the same connection.  Callbacks return 0 to go on, nonzero to stop.
 */
struct offpay_ledger_ops {
    const char *name; /* "sqlite", "postgresql" */
    void (*close)(struct offpay_ledger *l);
    /* The backend's last error message (static or owned by l). */
    const char *(*last_error)(struct offpay_ledger *l);

    /* Create the schema (numbered migrations) in a fresh or older ledger. */
    enum offpay_ledger_result (*migrate)(struct offpay_ledger *l);

    /* write = 1: a transaction that will change state (takes the write lock
     * now, so it cannot fail half-way on a lock); write = 0: a consistent read;
     * write = OFFPAY_LEDGER_BEGIN_DEFERRED: as 1, for a caller that runs the
     * transaction again on RETRY: a backend with a server may send BEGIN
     * with the first statement (prefetch's round trip), so a connection
     * that broke meanwhile shows as RETRY there instead of here. */
    enum offpay_ledger_result (*begin)(struct offpay_ledger *l, int write);
    enum offpay_ledger_result (*commit)(struct offpay_ledger *l);
    void (*rollback)(struct offpay_ledger *l);

    /* Savepoints inside a write transaction, for group commit: several
     * requests share one transaction and one durable commit, each after a
     * savepoint of its own, so that one request's failure is undone alone.
     * savepoint: marks the present state (and forgets the previous mark of
     * this transaction, whose changes stay); rollback_savepoint: undoes
     * everything done since the latest mark, which stays.  Either may answer
     * RETRY, UNAVAILABLE or ERROR; the transaction must then be rolled back. */
    enum offpay_ledger_result (*savepoint)(struct offpay_ledger *l);
    enum offpay_ledger_result (*rollback_savepoint)(struct offpay_ledger *l);

    /* Small named values (issuer public key, creation time).  get: NOT_FOUND. */
    enum offpay_ledger_result (*meta_get)(struct offpay_ledger *l, const char *key, uint8_t *value, size_t cap,
                                          size_t *len);
    enum offpay_ledger_result (*meta_set)(struct offpay_ledger *l, const char *key, const uint8_t *value, size_t len);

    /* Accounts.  create: DUPLICATE when the name exists; get: NOT_FOUND. */
    enum offpay_ledger_result (*account_create)(struct offpay_ledger *l, const char *name, uint64_t now, int64_t *id);
    enum offpay_ledger_result (*account_get)(struct offpay_ledger *l, const char *name,
                                             struct offpay_ledger_account *a);
    enum offpay_ledger_result (*account_get_by_id)(struct offpay_ledger *l, int64_t id,
                                                   struct offpay_ledger_account *a);
    /* Write online, minted, received and sent of account a->id. */
    enum offpay_ledger_result (*account_update)(struct offpay_ledger *l, const struct offpay_ledger_account *a);

    /* Enrolment tokens, stored by hash.  take: marks it used; NOT_FOUND when
     * unknown or already used. */
    enum offpay_ledger_result (*token_insert)(struct offpay_ledger *l, const uint8_t hash[OFFPAY_HASH_BYTES],
                                              int64_t account_id, uint64_t now);
    enum offpay_ledger_result (*token_take)(struct offpay_ledger *l, const uint8_t hash[OFFPAY_HASH_BYTES],
                                            uint64_t now, int64_t *account_id);

    /* The wallet a used token enrolled.  set: records it (the token was taken
     * in this transaction); get: NOT_FOUND when the token is unknown, unused,
     * or was used before the ledger kept this. */
    enum offpay_ledger_result (*token_set_wallet)(struct offpay_ledger *l, const uint8_t hash[OFFPAY_HASH_BYTES],
                                                  const uint8_t wallet[OFFPAY_WALLET_ID_BYTES]);
    enum offpay_ledger_result (*token_get_wallet)(struct offpay_ledger *l, const uint8_t hash[OFFPAY_HASH_BYTES],
                                                  uint8_t wallet[OFFPAY_WALLET_ID_BYTES]);

    /* Wallets.  insert: DUPLICATE when the id or the key is taken; get: NOT_FOUND. */
    enum offpay_ledger_result (*wallet_insert)(struct offpay_ledger *l, const struct offpay_ledger_wallet *w,
                                               const uint8_t *cert, size_t cert_len, uint64_t now);
    enum offpay_ledger_result (*wallet_get)(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                            struct offpay_ledger_wallet *w);
    enum offpay_ledger_result (*wallet_get_by_key)(struct offpay_ledger *l,
                                                   const uint8_t key[OFFPAY_PUBLIC_KEY_BYTES],
                                                   struct offpay_ledger_wallet *w);
    /* The encoded certificate stored with the wallet (*cert valid until the
     * next operation).  NOT_FOUND when there is no such wallet. */
    enum offpay_ledger_result (*wallet_certificate)(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                                    const uint8_t **cert, size_t *cert_len);
    /* Replace the wallet's certificate (a renewal, issue 13: same key, a
     * later end).  NOT_FOUND when there is no such wallet. */
    enum offpay_ledger_result (*wallet_certificate_set)(struct offpay_ledger *l,
                                                        const uint8_t id[OFFPAY_WALLET_ID_BYTES], const uint8_t *cert,
                                                        size_t cert_len);
    /* Mark the wallet fraudulent and put it on the revocation list (serial + 1,
     * issued_at = now).  A wallet already revoked is left as it is. */
    enum offpay_ledger_result (*wallet_revoke)(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                               uint64_t now);

    /* Revoke wallet id for loss (enum offpay_ledger_loss, not IN_USE): put it
     * on the revocation list (serial + 1, issued_at = now, unless it is there
     * already for fraud) without marking it fraudulent, and keep lost_at = now
     * and writeoff_at.  A wallet already reported is left as it is.
     * NOT_FOUND: no such wallet. */
    enum offpay_ledger_result (*wallet_report_lost)(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                                    int loss, uint64_t now, uint64_t writeoff_at);
    /* Keep that wallet id's coins, amount in all, went back to the online
     * balance at now.  NOT_FOUND: no such reported wallet, or done already. */
    enum offpay_ledger_result (*wallet_write_off)(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                                  uint64_t now, uint64_t amount);
    /* Keep now as wallet id's last sync (no such wallet: OK, nothing). */
    enum offpay_ledger_result (*wallet_synced)(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                               uint64_t now);
    /* The wallets of account_id (0: of every account), by id; due non-zero:
     * only those reported lost whose grace period ended at or before due
     * and whose coins have not gone back yet.  each() gets one wallet. */
    enum offpay_ledger_result (*wallet_list)(struct offpay_ledger *l, int64_t account_id, uint64_t due,
                                             int (*each)(void *ctx, const struct offpay_ledger_wallet *w), void *ctx);
    /* The wallets whose id lies between lo and hi (inclusive, compared byte
     * by byte), by id: the lookup of an id by its beginning (lo: it padded
     * with zero bits, hi: with one bits), through the ids' index.  each()
     * as wallet_list. */
    enum offpay_ledger_result (*wallet_range)(struct offpay_ledger *l, const uint8_t lo[OFFPAY_WALLET_ID_BYTES],
                                              const uint8_t hi[OFFPAY_WALLET_ID_BYTES],
                                              int (*each)(void *ctx, const struct offpay_ledger_wallet *w), void *ctx);

    /* Request nonces.  insert: a row of kind OFFPAY_LEDGER_NONCE_USED;
     * DUPLICATE when this wallet has a row for it already.  keep: the same
     * with kind ANSWERED (answer, answer_len: the body) or CANCELLED (answer
     * NULL).  get: the row (n->answer valid until the next operation),
     * NOT_FOUND when there is none.  prune: deletes the rows of kind USED
     * whose ts is below used_older_than and every row whose ts is below
     * kept_older_than. */
    enum offpay_ledger_result (*nonce_insert)(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                              const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES], uint64_t ts);
    enum offpay_ledger_result (*nonce_keep)(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                            const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES], uint64_t ts, int kind,
                                            const uint8_t *answer, size_t answer_len);
    enum offpay_ledger_result (*nonce_get)(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                           const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES], struct offpay_ledger_nonce *n);
    enum offpay_ledger_result (*nonce_prune)(struct offpay_ledger *l, uint64_t used_older_than,
                                             uint64_t kept_older_than);

    /* Limits; the all-zero wallet id holds the default.  get: NOT_FOUND. */
    enum offpay_ledger_result (*limits_get)(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                            struct offpay_limits *lim, uint64_t *issued_at);
    enum offpay_ledger_result (*limits_set)(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                            const struct offpay_limits *lim, uint64_t issued_at);

    /* Revocation list: serial and issue time, then the ids in ascending order
     * (each call to each() gets one id). */
    enum offpay_ledger_result (*revocation_get)(struct offpay_ledger *l, uint64_t *serial, uint64_t *issued_at,
                                                uint32_t *count);
    enum offpay_ledger_result (*revocation_ids)(struct offpay_ledger *l,
                                                int (*each)(void *ctx, const uint8_t id[OFFPAY_WALLET_ID_BYTES]),
                                                void *ctx);

    /* UTXOs.  A coin id determines its owner (an output id hashes the record
     * id, which commits to payer and payee; a loaded coin's id is random), so
     * coins are found by owner and id together.
     * insert: DUPLICATE when the coin exists, unspent or spent (a spent id
     * never comes back); get: the coin, spent or not, NOT_FOUND when the
     * ledger holds no coin id for owner; spend: marks spent the unspent coin
     * that utxo_get returned as coin in this transaction (NOT_FOUND if owner
     * has no such unspent coin). */
    enum offpay_ledger_result (*utxo_insert)(struct offpay_ledger *l, const struct offpay_ledger_utxo *u,
                                             uint64_t now);
    enum offpay_ledger_result (*utxo_get)(struct offpay_ledger *l, const uint8_t owner[OFFPAY_PUBLIC_KEY_BYTES],
                                          const uint8_t id[OFFPAY_UTXO_ID_BYTES], struct offpay_ledger_utxo *u);
    enum offpay_ledger_result (*utxo_spend)(struct offpay_ledger *l, const struct offpay_ledger_utxo *coin, int how,
                                            const uint8_t by_record[OFFPAY_RECORD_ID_BYTES], uint64_t now);
    /* The unspent UTXOs owned by key owner whose id is above after (NULL:
     * from the first), at most max of them, by id (each() gets id, owner and
     * amount). */
    enum offpay_ledger_result (*utxo_unspent_of)(struct offpay_ledger *l, const uint8_t owner[OFFPAY_PUBLIC_KEY_BYTES],
                                                 const uint8_t *after, size_t max,
                                                 int (*each)(void *ctx, const struct offpay_ledger_utxo *u),
                                                 void *ctx);

    /* Records.  insert: DUPLICATE when the id exists; get: NOT_FOUND. */
    enum offpay_ledger_result (*record_insert)(struct offpay_ledger *l, const struct offpay_ledger_record *r);
    enum offpay_ledger_result (*record_get)(struct offpay_ledger *l, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                                            struct offpay_ledger_record *r);

    /* Double-spend evidence.  insert: DUPLICATE when that record is already
     * evidence; get: NOT_FOUND. */
    enum offpay_ledger_result (*fraud_insert)(struct offpay_ledger *l, const struct offpay_ledger_fraud *f);
    enum offpay_ledger_result (*fraud_get)(struct offpay_ledger *l, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                           struct offpay_ledger_fraud *f);
    enum offpay_ledger_result (*fraud_list)(struct offpay_ledger *l,
                                            int (*each)(void *ctx, const struct offpay_ledger_fraud *f), void *ctx);

    /* Every account with the sum of its unspent UTXOs, in name order. */
    enum offpay_ledger_result (*audit)(struct offpay_ledger *l,
                                       int (*each)(void *ctx, const struct offpay_ledger_audit_row *row), void *ctx);

    /* Optional (NULL: the backend needs no such thing).  Storage upkeep that
     * must not stall writers - SQLite copies its write-ahead log into the
     * database (a passive checkpoint, which runs beside the writer).  A
     * server calls defer_upkeep on its writer connection, so that commits no
     * longer do the upkeep themselves (except as a bound), and then upkeep
     * every few hundred milliseconds from a thread and connection of its own.
     * upkeep: OK also when another connection held it up (it is retried). */
    void (*defer_upkeep)(struct offpay_ledger *l);
    enum offpay_ledger_result (*upkeep)(struct offpay_ledger *l);

    /* Optional (NULL: none).  The sum of the unspent coins of owner, as
     * paging through utxo_unspent_of and adding would give; NOT_FOUND when
     * one sum cannot say (it does not fit, or a coin is malformed): page
     * through then. */
    enum offpay_ledger_result (*utxo_holding)(struct offpay_ledger *l, const uint8_t owner[OFFPAY_PUBLIC_KEY_BYTES],
                                              uint64_t *sum);

    /* Optional (NULL: none).  Right after begin(l, 1): the rows behind keys
     * are read in a few statements, and until commit or rollback the
     * operations answer from them and defer their writes, which go to the
     * database in one statement per kind of row, before any statement that
     * needs the database and at commit; every answer is the one the plain
     * operations would give.  A deferred write that then does not do what
     * was predicted makes that later operation (or commit) answer RETRY;
     * the caller should run the transaction again without prefetch.
     * Outside a transaction, with record keys only: the records are read in
     * one statement (one snapshot), and record_get answers from them until
     * rollback (which then only drops them).
     * Returns OK (also when the backend chose not to, e.g. too many keys),
     * RETRY, UNAVAILABLE or ERROR (roll back). */
    enum offpay_ledger_result (*prefetch)(struct offpay_ledger *l, const struct offpay_ledger_keys *keys);
};

#define OFFPAY_LEDGER_BEGIN_DEFERRED 2 /* begin's write: see there */

/* Every backend's connection starts with this. */
struct offpay_ledger {
    const struct offpay_ledger_ops *ops;
};

/*
 * Open a connection to the ledger at url ("sqlite:PATH", or a libpq URI
 * "postgresql://..." / "postgres://...").  create = 1 creates a fresh ledger (and
 * fails if one exists); create = 0 opens an existing one (and fails if there
 * is none).  Out: *out (close with offpay_ledger_close), err (one sentence on
 * failure).  Returns: OFFPAY_OK, OFFPAY_ERR_USAGE (bad or unsupported url,
 * ledger exists / missing), OFFPAY_ERR_STORAGE, OFFPAY_ERR_NOMEM.
 */
enum offpay_status offpay_ledger_open(struct offpay_ledger **out, const char *url, int create, char *err,
                                      size_t err_cap) OFFPAY_WARN_UNUSED;

/* Round trips to a database server (statements sent and waited for) by
 * every connection of this process so far; 0 for SQLite. */
uint64_t offpay_ledger_round_trips(void);

/* Close a connection (NULL is fine). */
void offpay_ledger_close(struct offpay_ledger *l);

/* Returns: the filesystem path that goes with url for side files (the issuer
 * key lives at PATH.issuer-key), written to out; -1 if url has none or it does
 * not fit. */
int offpay_ledger_local_path(char *out, size_t cap, const char *url);

#endif

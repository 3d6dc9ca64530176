/*
 * internal.h - what the parts of offpayd share: the serving process, one
 * request being handled, the transaction helper, JSON field helpers, the
 * issuer key and the signed documents (limits, revocation list), and the
 * commands of the offpayd program.
 */
#ifndef OFFPAYD_INTERNAL_H
#define OFFPAYD_INTERNAL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli_kit.h"
#include "offpay/api.h"
#include "offpay/http_auth.h"
#include "offpay/ledger.h"
#include "offpay/messages.h"
#include "offpay/p11.h"
#include "offpay/protocol.h"
#include "offpay/server.h"
#include "offpay/shards.h"
#include "offpay/status.h"
#include "offpay/text.h"

#define META_ISSUER_PK "issuer_public_key"   /* the ledger's meta key of the issuer public key */
#define OFFPAYD_BODY_MAX OFFPAY_API_BODY_MAX   /* bytes of a request body */
#define OFFPAYD_SYNC_MAX OFFPAY_API_SYNC_MAX   /* records in one sync */
#define OFFPAYD_COINS_MAX OFFPAY_API_COINS_MAX /* amounts in a load, ids in an unload */
#define OFFPAYD_UTXOS_MAX OFFPAY_API_UTXOS_MAX /* coins in one GET /v1/utxos answer */
#define OFFPAYD_CERT_LIFETIME (365u * 86400u)  /* seconds a certificate is valid */
#define OFFPAYD_CERT_RENEW_BEFORE (30u * 86400u) /* a sync this close to a certificate's end renews it */
#define OFFPAYD_CERT_SKEW 300u                 /* not_before lies this far back, for wallets whose clock is behind */
#define OFFPAYD_TX_ATTEMPTS 20                 /* tries of a transaction that keeps conflicting */
/* Requests in one group transaction (tx.c).  Each runs in a savepoint,
 * which PostgreSQL makes a subtransaction; a backend caches 64 of them
 * (PGPROC_MAX_CACHED_SUBXIDS), beyond which every snapshot of every other
 * session gets slower. */
#define OFFPAYD_GROUP_MAX 64
#define OFFPAYD_WRITERS_MAX 16 /* writer connections of one process ($OFFPAYD_WRITERS) */
/* Connections (docs/server.md "Connections"): one client (one IP address)
 * may hold at most OFFPAYD_CONN_PER_CLIENT at once, so it cannot take all
 * OFFPAYD_CONN_MAX from the others; a connection idle for
 * OFFPAYD_IDLE_SECONDS is closed. */
#define OFFPAYD_CONN_MAX 1024u
#define OFFPAYD_CONN_PER_CLIENT 128u
#define OFFPAYD_IDLE_SECONDS 30u
/* A request's head: its target (path and query) and its header lines are
 * refused with api.md's JSON error beyond these.  libmicrohttpd keeps the
 * head in a per-connection pool of OFFPAYD_CONN_POOL bytes; a head too big
 * for the pool is refused by libmicrohttpd itself (see docs/api.md). */
#define OFFPAYD_TARGET_MAX 4096u
#define OFFPAYD_HEADERS_MAX (16u * 1024u)
#define OFFPAYD_CONN_POOL (128u * 1024u)
#define OFFPAYD_NONCE_KEEP (2u * OFFPAY_HTTP_MAX_SKEW + 60u) /* seconds a used nonce is kept */
/* Seconds a nonce holding a stored answer or a cancelled mark is kept after
 * its timestamp.  POST /v1/outcome answers "unknown" for a nonce it has no
 * row for whose timestamp is over OFFPAYD_NONCE_KEEP old (a plain row may
 * have been pruned): such a request can no longer take effect anyway. */
#define OFFPAYD_ANSWER_KEEP (30u * 86400u)

/* Defaults when no limits were set (docs/api.md). */
#define OFFPAYD_DEFAULT_PER_PAYMENT 50000u
#define OFFPAYD_DEFAULT_OFFLINE_TOTAL 200000u
#define OFFPAYD_DEFAULT_COUNT 50u
#define OFFPAYD_DEFAULT_PERIOD 86400u
#define OFFPAYD_DEFAULT_HOLDING 2000000u           /* ten times the offline total */
#define OFFPAYD_DEFAULT_OFFLINE_TIME (7u * 86400u) /* a week */

/* Lost devices (loss.c, docs/wallet.md "Lost device"): the grace period
 * after a report during which the wallet's records still settle, before its
 * unspent coins go back to its account.  At least the offline time limit
 * (a week) plus a week for its payees to sync. */
#define OFFPAYD_DEFAULT_GRACE (14u * 86400u)
#define OFFPAYD_GRACE_MAX (3650u * 86400u)
#define META_LOSS_GRACE "loss_grace" /* meta: the grace period in seconds, decimal */

struct cert_cache;
struct tx_waiter;

/* One database of the ledger, as a serving process uses it (shard.c). */
struct shard {
    unsigned index;
    char url[OFFPAY_SHARD_URL_MAX];
    int64_t transit; /* the id of its in-flight account (ledgers of several shards) */

    pthread_mutex_t pool_lock; /* its connections not in use */
    struct offpay_ledger **pool;
    size_t pool_n, pool_cap;

    /* Every write transaction of requests on this shard runs on this one
     * connection, one at a time.  SQLite serializes writers anyway, and a
     * connection keeps its page cache only while no other connection
     * writes: with one writer, the pages a sync touches stay cached from
     * one batch to the next. */
    pthread_mutex_t writer_lock;
    struct offpay_ledger *writer;
    /* PostgreSQL shards may have more writer connections, so that one
     * process runs several groups at once ($OFFPAYD_WRITERS, 1 ..
     * OFFPAYD_WRITERS_MAX, default 1; SQLite, one writer at a time anyway,
     * always 1).  writers[0] is writer, the one writer_lock guards (the
     * nonce pruning shares it); writer i > 0 belongs to the group whose
     * bit i of writers_busy is set (under group_lock). */
    struct offpay_ledger *writers[OFFPAYD_WRITERS_MAX];
    unsigned writers_n, writers_busy;

    /* Group commit (tx.c): requests waiting for the writer queue here; one
     * of them leads, running up to OFFPAYD_GROUP_MAX of them in one
     * transaction, and wakes them once it is durably committed. */
    pthread_mutex_t group_lock;
    struct tx_waiter *group_head, **group_tail;
    unsigned group_leading; /* groups running (at most writers_n) */
};

/* The serving process: shared by all worker threads. */
struct offpayd {
    char ledger_url[4096];
    /* The issuer key signs through issuer: the key of a file, held in
     * issuer_sk (sodium_malloc'd, read-only while serving), or a key in
     * the PKCS#11 token issuer_token (issuer_p11.c), never in memory here. */
    uint8_t *issuer_sk;
    struct offpay_p11 *issuer_token;
    struct offpay_signer issuer;
    uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES];
    struct offpay_money money; /* what the ledger counts in (META_MONEY), in every limits document */

    /* The ledger's databases: one, or several shards (shard.c). */
    struct offpay_shards map;
    struct shard *shard;
    unsigned n_shards;
    unsigned long groups, grouped; /* commits run, requests they held (stats, atomic) */

    /* The relay (relay.c): delivers what settlement left in flight between
     * shards; only with several shards. */
    pthread_t relay_thread;
    pthread_mutex_t relay_lock;
    pthread_cond_t relay_wake;
    int relay_stop, relay_running;
    unsigned relay_ms;
    int deliver_now; /* 0 only in tests: leave deliveries to the relay */

    /* The ledger's upkeep beside the writer (upkeep.c). */
    struct offpay_ledger *upkeeper;
    pthread_t upkeep_thread;
    pthread_mutex_t upkeep_lock;
    pthread_cond_t upkeep_wake;
    int upkeep_stop, upkeep_running;

    struct cert_cache *certs;
    unsigned long payment_sigs; /* signatures of records, confirmations, refusals verified (atomic) */

    size_t utxos_page; /* coins per GET /v1/utxos answer: OFFPAYD_UTXOS_MAX, or $OFFPAYD_UTXOS_PAGE */

    pthread_mutex_t rvl_lock; /* the signed revocation list, by serial */
    uint64_t rvl_serial;
    char *rvl_text;

    pthread_mutex_t prune_lock;
    uint64_t last_prune;

    /* --tls-cert/--tls-key (tls.c): the PEM texts, or NULL for plain HTTP;
     * the key is in sodium_malloc'd memory.  tls_not_after: the leaf
     * certificate's expiry, Unix seconds. */
    char *tls_cert, *tls_key;
    int64_t tls_not_after;

    /* --threads N: at most N requests are handled at once.  Each connection
     * has its own thread for its I/O; handling (verification, the ledger)
     * takes one of these N permits, so N busy workers always run in parallel
     * whichever connections they came on. */
    sem_t workers;
};

/* One request being handled. */
struct request {
    struct offpayd *srv;
    struct shard *shard;   /* where rq->l and the caller's rows are (its home shard) */
    int no_nonce;          /* request_tx: a transaction on another shard than home: no nonce */
    struct offpay_ledger *l;
    const char *method, *path;
    void *conn; /* the libmicrohttpd connection (request_query) */
    const uint8_t *body;
    size_t body_len;
    json_t *json; /* the body as a JSON object, or NULL when there is none */
    uint64_t now;
    /* A sync's answer: the caller's certificate as the ledger holds it,
     * and whether this sync renewed it (renew.c). */
    uint8_t cert_bin[OFFPAY_CERT_BYTES_MAX];
    size_t cert_len;
    int cert_renewed;
    /* And what its transaction read for the answer (settle.c): the
     * caller's limits and the revocation list's head; each flag 0 when it
     * was not read there (the answer then reads it after the commit). */
    struct sync_view {
        int have_limits, have_rvl, own;
        struct offpay_limits limits;
        uint64_t limits_at, rvl_serial, rvl_at;
        uint32_t rvl_count;
    } view;

    int keep_answer; /* the route stores its 2xx answer with the nonce (tx.c) */
    int authed;      /* the caller: set for every endpoint but enrol */
    struct offpay_ledger_wallet wallet;
    uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES];
    uint64_t ts;

    /* What the request log and the metrics learn from the handler (reqlog.c):
     * a sync's records in, settled and rejected. */
    int is_sync;
    unsigned sync_records, sync_settled, sync_rejected;
    const char *content_type; /* of the reply; NULL: application/json */

    int status; /* the reply: reply_text when set (a handler that writes its
                 * own JSON), else reply */
    json_t *reply;
    char *reply_text; /* malloc'd, reply_len bytes */
    size_t reply_len;
};

/* ---- ledger connections (http.c) ---- */

/* A reader connection of shard sh from its pool (or a new one); NULL when
 * it cannot be opened (the message is on stderr). */
struct offpay_ledger *pool_take(struct shard *sh);
/* Give l (NULL is fine) back to sh's pool, or close it when the pool is full. */
void pool_give(struct shard *sh, struct offpay_ledger *l);

/* ---- shards (shard.c) ---- */

#define META_SHARD "shard"          /* meta key: "I/N", this database's place in the ledger */
#define TRANSIT_NAME "~in-flight"   /* each shard's account of value on its way to another shard */
/* The owner key of in-flight coins (all zero: no wallet may enrol it). */
extern const uint8_t shard_transit_key[OFFPAY_PUBLIC_KEY_BYTES];
/* Meta rows of value between shards that is not a record's coin (relay.c):
 * "transfer:HEX" on the payer's shard, an online payment in flight (HEX its
 * in-flight coin's id), whose value is the payee account's name; and
 * "delivered:HEX" on the payee's shard, value delivered without a coin (an
 * online payment, or a record's output that went to the online balance),
 * which makes its delivery happen once. */
#define SHARD_META_KEY_MAX 80
void shard_meta_key(char out[SHARD_META_KEY_MAX], const char *kind, const uint8_t id[OFFPAY_UTXO_ID_BYTES]);

/* Every shard of --ledger, open (the commands). */
struct cli_shards {
    struct offpay_shards *map;
    struct offpay_ledger *l[OFFPAY_SHARDS_MAX];
    unsigned n;
};
/* Open every shard of --ledger (create: see offpay_ledger_open; else each
 * shard's mark is checked).  Returns 0, or -1 after printing why, with
 * *exit_code set.  Close: cli_shards_close (also after a failure). */
int cli_shards_open(const struct cli_opts *o, int create, struct cli_shards *cs, int *exit_code);
void cli_shards_close(struct cli_shards *cs);
/* The shard of an account name, of a wallet id. */
struct offpay_ledger *cli_shards_of_name(const struct cli_shards *cs, const char *name);
struct offpay_ledger *cli_shards_of_wallet(const struct cli_shards *cs, const uint8_t id[OFFPAY_WALLET_ID_BYTES]);
/* Out: *m, the ledger's money (offpayd_money_read of the first shard; the
 * default, with a note on stderr, when its row is damaged): what the
 * commands' human output shows amounts in. */
void cli_shards_money(const struct cli_shards *cs, struct offpay_money *m);
/* Write a fresh shard's mark ("index/n") and create its in-flight account.
 * Returns 0, or -1 (printed). */
int shard_mark(struct offpay_ledger *l, unsigned index, unsigned n);
/* Check that l is shard index of n (a one-database ledger made before
 * shards may have no mark).  Out: *transit, the in-flight account's id (0
 * when there is none), when transit is not NULL.  Returns 0 or -1 (err set). */
int shard_check(struct offpay_ledger *l, unsigned index, unsigned n, int64_t *transit, char *err, size_t err_cap);

/* Open every shard of srv->ledger_url for serving (its writer, an empty
 * pool of pool_cap, writers writer connections on PostgreSQL, else one).
 * Returns 0, or -1 (err set); stop: shards_stop, also
 * after a failure. */
int shards_start(struct offpayd *srv, size_t pool_cap, unsigned writers, char *err, size_t err_cap);
void shards_stop(struct offpayd *srv);
struct shard *shard_of_wallet(struct offpayd *srv, const uint8_t id[OFFPAY_WALLET_ID_BYTES]);
struct shard *shard_of_name(struct offpayd *srv, const char *name);
/* Make rq work on shard sh: rq->l becomes one of sh's connections.
 * Returns 0, or -1 when none could be opened (rq->l is NULL then). */
int request_use_shard(struct request *rq, struct shard *sh);
/* Find the wallet enrolled with key on any shard (reads outside any
 * transaction).  Out: *out, *w.  Returns 0 found, 1 on no shard, -1 when
 * it is on none of the shards that answered and some did not. */
int shard_find_key(struct offpayd *srv, const uint8_t key[OFFPAY_PUBLIC_KEY_BYTES], struct shard **out,
                   struct offpay_ledger_wallet *w);

/* ---- replies (http.c) ---- */

/* Set the reply to {"error": code, "message": printf(fmt, ...)}. */
void reply_error(struct request *rq, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Set the reply to body (stolen; NULL = out of memory -> 500). */
void reply_json(struct request *rq, int status, json_t *body);
/* The value of query argument name ("?name=value"; not signed), or NULL. */
const char *request_query(struct request *rq, const char *name);
/* Set the reply to text, JSON the handler wrote itself (stolen, malloc'd). */
void reply_text(struct request *rq, int status, char *text, size_t len);
/* 500 internal, with the ledger's message logged on stderr. */
void reply_ledger_error(struct request *rq, const char *what);
/* 503 storage_failed (outcome_unknown 0: nothing was changed) or 503
 * outcome_unknown (1: a commit failed, it may have taken effect), with the
 * ledger's message logged on stderr (docs/api.md, "Storage faults"). */
void reply_storage_failed(struct request *rq, int outcome_unknown);

/* ---- transactions (tx.c) ---- */

/* What a transaction's step says: commit; abort (it set the reply or said
 * why); retry (a race was lost); error (the ledger failed); unavailable
 * (the ledger's storage failed: nothing committed); unknown (the storage
 * failed while committing: it may have committed). */
enum tx_step { STEP_COMMIT, STEP_ABORT, STEP_RETRY, STEP_ERROR, STEP_UNAVAILABLE, STEP_UNKNOWN };
enum tx_result { TX_COMMITTED, TX_ABORTED, TX_FAILED, TX_BUSY, TX_UNAVAILABLE, TX_UNKNOWN };

/* Map a ledger result that is not OK to STEP_RETRY, STEP_UNAVAILABLE,
 * STEP_UNKNOWN or STEP_ERROR. */
enum tx_step tx_step_of(enum offpay_ledger_result r);

#define TRY(call)                                                                                                      \
    do {                                                                                                               \
        enum offpay_ledger_result try_r_ = (call);                                                                     \
        if (try_r_ != OFFPAY_LEDGER_OK)                                                                                \
            return tx_step_of(try_r_);                                                                                    \
    } while (0)

/*
 * The one transaction runner: run fn in one write transaction on l and
 * commit when it returns STEP_COMMIT; STEP_ABORT and STEP_ERROR roll back;
 * STEP_RETRY (or a begin or commit that lost a race) rolls back and runs fn
 * again, at most OFFPAYD_TX_ATTEMPTS times.
 * Returns: TX_COMMITTED, TX_ABORTED (fn said why), TX_FAILED (the ledger
 * failed: l's last_error says how), TX_BUSY (every attempt lost a race),
 * TX_UNAVAILABLE (its storage failed; nothing was committed), TX_UNKNOWN
 * (its storage failed during the commit, which may have taken effect).
 */
enum tx_result tx_run(struct offpay_ledger *l, enum tx_step (*fn)(struct offpay_ledger *l, void *ctx), void *ctx);

/* One step of a group transaction: what it runs, and what became of it. */
struct tx_member {
    enum tx_step (*fn)(struct offpay_ledger *l, void *ctx);
    void *ctx;
    enum tx_step step;     /* internal: what fn said in the current attempt */
    int done;              /* internal: result is final */
    int set_aside;         /* internal: lost a race; runs alone after the others */
    int retries;           /* internal: times it ran again (for the metrics) */
    enum tx_result result; /* out */
    /* Optional: add the keys fn is about to read (a backend with prefetch
     * then reads them for the whole group at once). */
    void (*keys)(void *ctx, struct offpay_ledger_keys *k);
};

/*
 * tx_run for n steps at once: one write transaction and one commit for all
 * of them, each step after a savepoint of its own (when n > 1), so that a
 * step that aborts or fails is undone alone and the others still commit.
 * A race lost (RETRY) by one step reruns the others without it, and then it
 * alone, so a step that keeps conflicting does not fail its neighbours; a
 * race lost at begin or commit reruns every step not yet decided; a storage
 * failure or an unknown commit is every undecided step's result.  Each m[i].result is
 * what tx_run would have returned for that step alone.
 */
void tx_run_group(struct offpay_ledger *l, struct tx_member *m, size_t n);

/*
 * tx_run for a request, on the server's writer connection (rq->l while fn
 * runs; while it waits for its group, the request's reader connection goes
 * back to the pool, and afterwards rq->l is one from the pool again, or NULL
 * when none could be opened), with the request nonce handled in the same
 * transaction (tx.c): a
 * cancelled nonce answers 409 cancelled; on a route with keep_answer, fn
 * must leave its 2xx reply in rq before STEP_COMMIT, and those exact bytes
 * are sent and stored, so that a repeat gets them again (and fn does not
 * run); on other routes a repeat runs fn again.
 * Returns: 0 when committed (the reply is fn's), -1 otherwise (the reply is
 * set: fn's refusal, 500, 503, or the stored answer of a repeat).
 */
int request_tx(struct request *rq, enum tx_step (*fn)(struct request *rq, void *ctx), void *ctx);
/* request_tx, with keys(rq, ctx, k) adding the keys fn is about to read
 * (struct tx_member's keys). */
int request_tx_keys(struct request *rq, enum tx_step (*fn)(struct request *rq, void *ctx),
                    void (*keys)(struct request *rq, void *ctx, struct offpay_ledger_keys *k), void *ctx);

/* ---- JSON fields (http.c): on failure they set a 400 bad_field reply and return -1 ---- */

int offpayd_field_string(struct request *rq, json_t *obj, const char *name, const char **out);
/* A string or null/absent (*out = NULL). */
int offpayd_field_string_or_null(struct request *rq, json_t *obj, const char *name, const char **out);
/* An amount: a JSON integer 0 <= n < 2^63; positive = 1 requires n > 0. */
int offpayd_field_amount(struct request *rq, json_t *obj, const char *name, int positive, uint64_t *out);
int offpayd_json_amount(json_t *v, int positive, uint64_t *out);
/* A lowercase hex string of exactly n bytes. */
int offpayd_hex_exact(uint8_t *out, size_t n, const char *hex);

/* ---- issuer key and signed documents (issuer.c, issuer_p11.c) ---- */

/* The ledger's meta rows about its issuer key: the public key, and where
 * the private key is when it is not in a file (absent: in a file). */
#define META_ISSUER_PK "issuer_public_key"
#define META_ISSUER_STORE "issuer_key_store"
#define META_ISSUER_STORE_PKCS11 "pkcs11"
/* The ledger's money (issue 16): the currency code's 3 letters, then the
 * exponent byte, written by init on every shard; a ledger without it (made
 * before) counts in the default, CNY with exponent 2. */
#define META_MONEY "money"

/* Read l's money.  Out: *m.  Returns 0, or -1 (err set) when the row cannot
 * be read or is damaged. */
int offpayd_money_read(struct offpay_ledger *l, struct offpay_money *m, char *err, size_t err_cap);

/* The issuer key file of a ledger: option (--issuer-key FILE) if not NULL,
 * else $OFFPAYD_ISSUER_KEY if set, else PATH.issuer-key next to an
 * sqlite:PATH ledger.  Returns 0, or -1 (err set) when there is none (a
 * PostgreSQL ledger needs one of the first two) or the path does not fit. */
int issuer_key_path(char *out, size_t cap, const char *url, const char *option, char *err, size_t err_cap);
/* Create the key file path (0600, must not exist).  Out: pk.  Returns 0 or -1 (err set). */
int issuer_key_create(const char *path, uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], char *err, size_t err_cap);
/* Load the key file path into sodium_malloc memory (*sk; free with
 * issuer_key_free) and check it belongs to the ledger l.  Returns 0 or -1 (err set). */
int issuer_key_load(const char *path, struct offpay_ledger *l, uint8_t **sk, uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES],
                    char *err, size_t err_cap);
void issuer_key_free(uint8_t *sk);

/* The issuer key in a PKCS#11 token (issuer_p11.c): the three options
 * --issuer-pkcs11 MODULE, --token LABEL, --pin-file FILE. */
struct issuer_token {
    const char *module, *token, *pin_file;
};
/* Out: o from c.  Returns 1 when the key is in a token, 0 when none of the
 * three options is given, -1 (err set) when some are missing or
 * --issuer-key is given too. */
int issuer_token_options(const struct cli_opts *c, struct issuer_token *o, char *err, size_t err_cap);
/* Generate the issuer key pair in o's token.  Out: pk.  Returns OFFPAY_OK,
 * or OFFPAY_ERR_KEY_UNAVAILABLE / OFFPAY_ERR_USAGE (PIN file) with err set. */
enum offpay_status issuer_token_create(const struct issuer_token *o, uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], char *err,
                                       size_t err_cap);
/* Returns: 1 if the ledger l says its issuer key is in a token, else 0. */
int issuer_key_in_token(struct offpay_ledger *l);
/* Log in to o's token and find the ledger's issuer key there.  Out:
 * srv->issuer_pk, srv->issuer_token (closed with offpay_p11_close even on
 * failure), srv->issuer.  Returns OFFPAY_OK or the reason (err set). */
enum offpay_status issuer_token_load(struct offpayd *srv, const struct issuer_token *o, struct offpay_ledger *l,
                                     char *err, size_t err_cap);

/* Text of a signed message (malloc'd); NULL on failure. */
char *offpayd_message_text(const uint8_t *bin, size_t len);
/* The signed limits for wallet (its own if set, else the default policy).
 * Returns: malloc'd text, or NULL (ledger error). */
char *offpayd_limits_text(struct offpayd *srv, struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES]);
/* The same from limits read already (offpayd_limits_of's out values). */
char *offpayd_limits_text_of(struct offpayd *srv, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                             const struct offpay_limits *lim, uint64_t issued_at, int own);

/* limits.c.  offpayd_limits_builtin: the defaults a ledger without a default
 * row has.  offpayd_limits_of: the limits that apply to wallet (its own row,
 * else the default row, else the built-in ones); Out: *lim, *issued_at (may
 * be NULL), *own = 1 when the wallet has a row of its own.  offpayd_holding:
 * the sum of the unspent coins key owns (UINT64_MAX if it does not fit). */
void offpayd_limits_builtin(struct offpay_limits *lim);
enum offpay_ledger_result offpayd_limits_of(struct offpay_ledger *l, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES],
                                            struct offpay_limits *lim, uint64_t *issued_at, int *own);
enum offpay_ledger_result offpayd_holding(struct offpay_ledger *l, const uint8_t key[OFFPAY_PUBLIC_KEY_BYTES],
                                          uint64_t *sum);
/* The waterfall (docs/wallet.md): whether a coin of amount for payee would
 * take its holding, as the ledger l sees it, past its holding limit, so
 * that the value goes to its account's online balance instead.  Out: *yes. */
enum offpay_ledger_result offpayd_waterfall(struct offpay_ledger *l, const struct offpay_ledger_wallet *payee,
                                            uint64_t amount, int *yes);
/* renew.c.  offpayd_cert_renew_due: 1 when a sync at now renews c.
 * renew_certificate: inside the caller's sync transaction, read the
 * caller's certificate into rq->cert_bin and renew it when due. */
int offpayd_cert_renew_due(const struct offpay_cert *c, uint64_t now);
enum tx_step renew_certificate(struct request *rq);
/* A sync stamp for wallet at time at (issue 13), signed.  Returns: malloc'd text or NULL. */
char *offpayd_stamp_text(struct offpayd *srv, const uint8_t wallet[OFFPAY_WALLET_ID_BYTES], uint64_t at);
/* The signed revocation list, cached by serial.  Returns: malloc'd text or NULL. */
char *offpayd_revocation_text(struct offpayd *srv, struct offpay_ledger *l);
/* The same for the head (serial, issue time, length) read already, in a
 * ledger of one database: the cached text when its serial is that one,
 * else signed from the ids l reads now (or, when the list has moved on
 * meanwhile, the newest list, as offpayd_revocation_text). */
char *offpayd_revocation_text_at(struct offpayd *srv, struct offpay_ledger *l, uint64_t serial, uint64_t issued_at,
                                 uint32_t count);
/* An attested UTXO in text form (malloc'd) or NULL. */
char *offpayd_utxo_text(struct offpayd *srv, const uint8_t id[OFFPAY_UTXO_ID_BYTES], const uint8_t owner[OFFPAY_PUBLIC_KEY_BYTES],
                uint64_t amount);

/* ---- settlement (settle.c) ---- */

struct cert_cache *cert_cache_new(void);
void cert_cache_free(struct cert_cache *c);

enum sync_outcome { SYNC_PENDING = 0, SYNC_SETTLED, SYNC_VOIDED, SYNC_REJECTED };

/* One record of a sync batch: what came in, and what became of it. */
struct sync_item {
    uint8_t rec_bin[OFFPAY_RECORD_BYTES_MAX];
    size_t rec_len;
    struct offpay_record rec;
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    uint8_t conf_bin[OFFPAY_CONFIRMATION_BYTES_MAX];
    size_t conf_len; /* 0: no confirmation */
    struct offpay_confirmation conf;
    uint8_t ref_bin[OFFPAY_REFUSAL_BYTES];
    size_t ref_len; /* 0: no refusal */
    struct offpay_refusal ref;

    int caller_is_payer, caller_is_payee;
    int known;          /* 1: the ledger holds it already (settled or voided), so it was verified then */
    int outcome;        /* enum sync_outcome */
    int fresh;          /* settled by this sync (not before): counted once in the metrics */
    int caught;         /* its double spend was caught by this sync */
    int waterfall;      /* settled: the payee's output went to its account's online balance (holding limit) */
    /* Ledgers of several shards (ep_sync.c; NULL with one): where the
     * record settles (its payer's shard) and where its payee lives. */
    struct shard *payer_shard, *payee_shard;
    const char *reason; /* when rejected: a stable code of docs/api.md */
};

/* Check one decoded item without touching the ledger: the caller is a party,
 * the payer certificate (verified once per process, then cached) and record
 * signature, the confirmation and refusal when given.  Sets outcome to
 * SYNC_REJECTED with a reason, or leaves it SYNC_PENDING. */
void settle_verify(struct offpayd *srv, const uint8_t caller_pk[OFFPAY_PUBLIC_KEY_BYTES], uint64_t now,
                   struct sync_item *it);

/* Settle, void or reject every pending item in one transaction of rq (which
 * also stores rq's nonce unless rq->no_nonce) on rq's shard; with several
 * shards, only the items whose payer_shard is rq->shard (the others are
 * left as they are).  A record whose payee lives on another shard credits
 * its payee's output to the shard's in-flight account, for delivery
 * (relay.c).  Returns 0, or -1 with the reply set. */
int settle_apply(struct request *rq, struct sync_item *items, size_t n);

/* ---- between shards (relay.c) ---- */

/* Deliver the payee's output of record rec (id), settled on shard from, to
 * the payee's shard, and then take it off from's in-flight account; each
 * step is its own transaction and idempotent (keyed by the output id and
 * the in-flight coin), so running it again, from any process, is safe.
 * Returns 0 when delivered (now or before), -1 when a shard did not answer
 * (the relay tries again). */
int deliver_record(struct offpayd *srv, struct shard *from, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                   const struct offpay_record *rec);
/* The same for an online payment (pay-online) of amount to account to,
 * settled on shard from as in-flight coin id: the payee account's online
 * balance and received total grow, once. */
int deliver_transfer(struct offpayd *srv, struct shard *from, const uint8_t id[OFFPAY_UTXO_ID_BYTES], const char *to,
                     uint64_t amount);
/* The relay thread (only with several shards; $OFFPAYD_RELAY_MS, default
 * 1000, 0 = none): every so often, deliver whatever is in flight on every
 * shard.  start: 0 or -1; stop joins it. */
int relay_start(struct offpayd *srv);
void relay_stop(struct offpayd *srv);

/* ---- endpoints (ep_*.c) ---- */

void ep_enrol(struct request *rq);
void ep_balance(struct request *rq);
void ep_utxos(struct request *rq);
void ep_limits(struct request *rq);
void ep_load(struct request *rq);
void ep_unload(struct request *rq);
void ep_sync(struct request *rq);
void ep_pay_online(struct request *rq);
void ep_wallets_lost(struct request *rq);
/* Returns: 1 when the route METHOD PATH stores its answer with the nonce
 * (so its nonce row is kept OFFPAYD_ANSWER_KEEP), else 0. */
int route_keeps_answer(const char *method, const char *path);
void ep_outcome(struct request *rq);
void ep_health(struct request *rq);
void ep_metrics(struct request *rq);

/* ---- request log and metrics (reqlog.c, metrics.c) ---- */

#define OBS_WALLET_BYTES 4   /* of a wallet id in the log: 8 hex digits */
#define OBS_PATH_SHOWN 96    /* bytes of a request path the log shows */

/* One request as the log and the metrics see it. */
struct request_obs {
    uint64_t t0_us;                 /* monotonic clock when its head arrived */
    const char *endpoint;           /* a route's path (static), or "other" */
    const char *method;             /* "GET", "POST" or "other" */
    char path[3 * OBS_PATH_SHOWN + 4]; /* the path as sent, escaped and cut */
    int authed;                     /* a wallet signed it */
    char wallet[2 * OBS_WALLET_BYTES + 1];
    int is_sync;
    unsigned records, settled, rejected;
};

/* The head arrived (endpoint: the route's path, or NULL when none matches). */
void obs_start(struct request_obs *o, const char *method, const char *path, const char *endpoint);
/* The handler is done: who asked, what a sync did. */
void obs_note(struct request_obs *o, const struct request *rq);
/* The request is complete with status (0: no answer was sent): log and count it. */
void obs_finish(const struct request_obs *o, int status);

/* The log goes to path (NULL: stderr), or nowhere when quiet.  Returns 0 or
 * -1 (err set).  reopen: SIGHUP's, for log rotation.  close: at exit. */
int reqlog_open(const char *path, int quiet, char *err, size_t err_cap);
void reqlog_reopen(void);
void reqlog_close(void);

void metrics_start(void);
void metrics_request(const char *endpoint, const char *method, int status, int authed);
/* After a sync committed: its fresh settlements, caught double spends and rejections. */
void metrics_sync(const struct sync_item *items, size_t n);
/* A commit that took us and carried group transactions (group commit, tx.c). */
void metrics_commit(uint64_t us, size_t group);
/* A transaction ended as r after retries reruns. */
void metrics_tx_end(int retries, enum tx_result r);
/* The exposition (malloc'd, *len bytes), or NULL when out of memory. */
char *metrics_text(struct offpayd *srv, size_t *len);

/* ---- the clock (loss.c) ---- */

/* Returns: the server's time, Unix seconds: time(NULL), or $OFFPAYD_NOW
 * when set (tests only: it moves the ledger's clock - reports, grace
 * periods, certificates, limits - but not the check of request timestamps,
 * which wallets make with the real time). */
uint64_t offpayd_now(void);

/* ---- lost devices (loss.c) ---- */

/* The grace period of l (meta loss_grace, else OFFPAYD_DEFAULT_GRACE). */
enum offpay_ledger_result offpayd_grace(struct offpay_ledger *l, uint64_t *grace);
/* "lost", "stolen", "revoked" for a loss; NULL for IN_USE. */
const char *offpayd_loss_name(int loss);
/* A loss by its name ("lost", "stolen"; "revoked" too when operator); -1 if none. */
int offpayd_loss_parse(const char *name, int operator);
/* The state a wallet shows: "fraud", "lost" (lost or stolen), "revoked", "active". */
const char *offpayd_wallet_state(const struct offpay_ledger_wallet *w);
/* Report wallet id lost, inside a write transaction: revoke it with the
 * grace period of l from now.  Out: *w, the wallet afterwards; *fresh, 1
 * when this report revoked it (0: reported before, which stands).
 * Returns: what the ledger said (NOT_FOUND: no such wallet). */
enum offpay_ledger_result offpayd_report_lost(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                              int loss, uint64_t now, struct offpay_ledger_wallet *w, int *fresh);
/* The write-off job on l: every wallet whose grace period ended by now and
 * whose coins have not gone back gets them back, one transaction each (a
 * second run finds nothing to do).  Out: *wallets, *amount (what went back
 * in this run).  Returns 0, or -1 when a transaction failed (l's last error
 * says why; the next run tries again). */
int offpayd_write_off_due(struct offpay_ledger *l, uint64_t now, size_t *wallets, uint64_t *amount);
/* The write-off job on every shard of srv, on each shard's writer (serve:
 * at start and once a minute).  Best effort: failures are logged. */
void offpayd_write_off_all(struct offpayd *srv, uint64_t now);

/* ---- the offpayd commands (cmd_*.c); each returns the exit code ---- */

/* Options and failures: the command-line kit both programs share
 * (src/cli/cli_kit.h); a command gets its parsed command line. */
/* Open the ledger of --ledger (create: see offpay_ledger_open); NULL after
 * printing why, with *exit_code set. */
struct offpay_ledger *cli_ledger(const struct cli_opts *o, int create, int *exit_code);

/* Start the ledger's upkeep thread when the backend has upkeep (upkeep.c);
 * returns 0 (also when there is none) or -1 (printed).  Stop: joins it. */
int upkeep_start(struct offpayd *srv);
void upkeep_stop(struct offpayd *srv);

/* ---- TLS (tls.c) ---- */

/* Read and check the certificate chain and key files (PEM) into srv.
 * Returns 0, or -1 with err set (srv holds nothing then). */
int tls_load(struct offpayd *srv, const char *cert_path, const char *key_path, char *err, size_t err_cap);
/* Free (and wipe) what tls_load read. */
void tls_free(struct offpayd *srv);
/* libmicrohttpd's options for srv's TLS (none for plain HTTP), ending in
 * MHD_OPTION_END, in opts (TLS_MHD_OPTIONS items); returns the daemon flags to add (MHD_USE_TLS or 0).
 * opts points into srv, which must outlive the daemon. */
struct MHD_OptionItem; /* microhttpd.h */
#define TLS_MHD_OPTIONS 4
unsigned tls_mhd_options(const struct offpayd *srv, struct MHD_OptionItem *opts);

/* Serve HTTP on listen_at with threads workers until SIGINT/SIGTERM (http.c). */
int offpayd_serve(struct offpayd *srv, const char *listen_at, unsigned threads);

/* Run fn in one write transaction (retrying conflicts).  Returns 0 committed,
 * -1 fn aborted (it said why), -2 ledger failure (printed). */
int cli_tx(struct offpay_ledger *l, enum tx_step (*fn)(struct offpay_ledger *l, void *ctx), void *ctx);

int cmd_init(const struct cli_opts *o);
int cmd_serve(const struct cli_opts *o);
int cmd_account(const struct cli_opts *o);
int cmd_limits(const struct cli_opts *o);
int cmd_frauds(const struct cli_opts *o);
int cmd_audit(const struct cli_opts *o);
int cmd_wallet(const struct cli_opts *o);
/* A wallet as offpayd wallet and account show it (docs/server.md), read in
 * the open transaction of l at time now; NULL with *r set on failure. */
json_t *offpayd_wallet_json(struct offpay_ledger *l, const struct offpay_ledger_wallet *w, uint64_t now,
                            enum offpay_ledger_result *r);
/* Append to arr (offpayd_wallet_json) the wallets of account_id (0: all) on
 * l, in l's open transaction. */
enum offpay_ledger_result offpayd_read_wallets(struct offpay_ledger *l, int64_t account_id, uint64_t now, json_t *arr);

/* Short wallet ids (issue 16): any unique beginning of at least 8 hex
 * digits names a wallet, in the commands and in POST /v1/wallets/lost. */
#define OFFPAYD_ID_PREFIX_MIN 8
#define OFFPAYD_ID_CANDIDATES_MAX 8 /* ids named when a beginning is ambiguous */
struct offpayd_id_matches {
    char prefix[2 * OFFPAY_WALLET_ID_BYTES + 1]; /* lower case */
    int64_t account_id;                          /* 0: any account's wallets; else only this one's */
    uint8_t ids[OFFPAYD_ID_CANDIDATES_MAX][OFFPAY_WALLET_ID_BYTES]; /* the first matches, by id */
    size_t n;                                    /* every match (summed over the shards asked) */
};
/* Zero m and take text (8 to 32 hex digits, either case) as its prefix.  Returns 0, or -1 when it is not one. */
int offpayd_id_prefix_parse(struct offpayd_id_matches *m, const char *text);
/* Add l's wallets whose id begins with m->prefix (of m->account_id when
 * not 0) to m, in l's open transaction: a range of the ids' index. */
enum offpay_ledger_result offpayd_wallets_by_prefix(struct offpay_ledger *l, struct offpayd_id_matches *m);
/* "ID, ID, ..." of m's candidates (", ..." when there are more), into out. */
void offpayd_id_candidates(char *out, size_t cap, const struct offpayd_id_matches *m);
/* The one wallet whose id begins with text, on any shard of cs.  Out: id.
 * Returns 0, or an exit code (said): not 8 to 32 hex digits, no such
 * wallet, or ambiguous (a usage error naming the candidates). */
int cli_wallet_resolve(const struct cli_shards *cs, const char *text, uint8_t id[OFFPAY_WALLET_ID_BYTES]);
/* Print j (taken) as one JSON line.  Returns the exit code. */
int offpayd_print_json(json_t *j);
/* Print a wallet of offpayd_wallet_json on one line after indent, its amounts in money m. */
void offpayd_wallet_print(const json_t *j, const char *indent, const struct offpay_money *m);

#endif

/*
 * harness.h - what the server tests share: a fresh temp dir per test, the
 * real offpayd program run as a child (commands and a server on 127.0.0.1),
 * enrolled test wallets with real keys.  Its tests check with the kit of
 * tests/common/check.h; the servers are always stopped, also when a check
 * fails, and the logs of the servers shown.
 */
#ifndef OFFPAY_TEST_HARNESS_H
#define OFFPAY_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "check.h"
#include "offpay/client.h"
#include "offpay/messages.h"
#include "offpay/protocol.h"
#include "offpay/text.h"

/* Set up: temp dir (check_temp_dir: kept when a check fails), ledger
 * sqlite:DIR/ledger.db created with offpayd init. */
void h_setup(const char *test_name);
const char *h_dir(void);
const char *h_ledger_url(void);
const char *h_ledger_path(void);
const char *h_base_url(void); /* "http://127.0.0.1:PORT" of server 0 once started */

/* Run offpayd with args (NULL-terminated).  Out: stdout and stderr text
 * (static buffers, valid until the next call).  Returns: exit code. */
int h_offpayd(const char **out, const char **err, ...) __attribute__((sentinel));

/* Start / stop offpayd serve (threads workers): server 0, the one h_call,
 * h_raw and h_base_url name. */
void h_server_start(int threads);
void h_server_stop(void);

/* More offpayd serve processes on the same ledger (tests of several servers,
 * e.g. on one PostgreSQL ledger): server i (0 .. H_SERVERS_MAX-1) logs to
 * server.log, server2.log, ...; all are killed when a check fails and at
 * exit.  h_server_stop_n fails the test unless server i exits 0 on SIGTERM. */
#define H_SERVERS_MAX 2
void h_server_start_n(int i, int threads);
void h_server_stop_n(int i);
const char *h_server_url(int i); /* "http://127.0.0.1:PORT" once started */

/* An enrolled wallet. */
struct h_wallet {
    char account[OFFPAY_ACCOUNT_MAX + 1];
    uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES];
    uint8_t sk[OFFPAY_SECRET_KEY_BYTES];
    struct offpay_cert cert;
    struct offpay_client_auth auth;
    uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES];
};

/* Open account (if needed) with offpayd, enrol a fresh key over HTTP. */
void h_wallet_enrol(struct h_wallet *w, const char *account);
/* Mint with offpayd account mint. */
void h_mint(const char *account, uint64_t amount);

/* Authenticated (w) or not (w NULL) JSON call; body is stolen (decref'd); returns the HTTP status and
 * stores the answer in *resp (caller decrefs; may be NULL). */
long h_call(const struct h_wallet *w, const char *method, const char *path, json_t *body, json_t **resp);
/* The online balance of w's account via GET /v1/balance. */
uint64_t h_online(const struct h_wallet *w);
/* Load amounts (n of them) into UTXOs; out: the decoded coins. */
void h_load(const struct h_wallet *w, const uint64_t *amounts, size_t n, struct offpay_utxo *out);

/* Build a record from payer paying payee amount from inputs; out: record, text, id. */
void h_record(struct offpay_record *r, char *text, size_t text_cap, uint8_t id[OFFPAY_RECORD_ID_BYTES],
              const struct h_wallet *payer, const struct h_wallet *payee, uint64_t amount,
              const struct offpay_utxo *inputs, size_t n_inputs);
/* The payee's confirmation for a record, as text. */
void h_confirmation(char *text, size_t cap, const struct h_wallet *payee, const uint8_t id[OFFPAY_RECORD_ID_BYTES]);

/* The ledger's databases: 1, or its shards (OFFPAY_TEST_SHARDS with
 * SQLite; a shards file of PostgreSQL databases under pg_run --clusters). */
#define H_SHARDS_MAX 8
int h_shards(void);
/* One integer from the ledger by SQL (sql returns one row, one column, on
 * at least one database; over shards, the sum of what each answers: a
 * count, or the one row one shard has). */
long long h_sql_int(const char *sql);
/* The same on shard i alone (0 .. h_shards()-1). */
long long h_sql_int_at(int shard, const char *sql);
/* Into out: bytes b[0..n) (n <= 64) as an SQL literal of the ledger's database ("x'..'", "'\\x..'::bytea"). */
void h_sql_bytes(char *out, size_t cap, const uint8_t *b, size_t n);
/* Run SQL on the ledger (to corrupt it on purpose), on each shard. */
void h_sql_exec(const char *sql);
/* The shard that holds account name. */
int h_shard_of(const char *account);
/* Under pg_run --clusters: stop (fast shutdown) or start again the cluster
 * of shard i, through pg_run's control channel; returns once done. */
void h_shard_stop(int shard);
void h_shard_start(int shard);
/* offpayd audit exits 0. */
void h_audit_ok(void);

/* Decode a text-form UTXO. */
void h_utxo_decode(struct offpay_utxo *u, const char *text);

#endif

/* A request with hand-made auth headers, to test the server's checks.
 * w NULL: no auth headers.  ts: the timestamp to sign and send.  nonce_hex:
 * NULL for a fresh one (the one used is copied to nonce_out when not NULL).
 * flip_sig: corrupt the signature.  chunked: send without Content-Length.
 * Returns the HTTP status (0 if none); *resp the JSON answer or NULL. */
long h_raw(const struct h_wallet *w, const char *method, const char *path, const char *body, size_t body_len,
           long long ts, const char *nonce_hex, char *nonce_out, int flip_sig, int chunked, json_t **resp);

/* Kill the server with SIGKILL (a crash), wait for it. */
void h_server_kill(void);

/* Runs fn(a) and fn(b), each in a thread of its own, released at the same
 * moment (e.g. one call to each of two servers); returns once both have. */
void h_race_two(void (*fn)(void *), void *a, void *b);

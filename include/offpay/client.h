/*
 * client.h - the wallet's HTTP client for the offpayd API (docs/api.md).
 *
 * One call = one HTTP request with a JSON body and a JSON answer.  When a
 * wallet key is given the request carries the X-Offpay-* authentication
 * headers of http_auth.h.
 * The functions are safe to call from several threads at once.
 */
#ifndef OFFPAY_CLIENT_H
#define OFFPAY_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "offpay/crypto.h"
#include "offpay/http_auth.h"
#include "offpay/messages.h"
#include "offpay/status.h"

#define OFFPAY_CLIENT_RESPONSE_MAX (8u * 1024u * 1024u) /* bytes of an answer we accept */

struct offpay_client_auth {
    uint8_t wallet_id[OFFPAY_WALLET_ID_BYTES];
    const uint8_t *secret_key; /* 64-byte Ed25519 sk (seed || public key), or NULL with signer */
    const struct offpay_signer *signer; /* when not NULL, signs instead of secret_key (a key in a token) */
    /* Optional: the request's nonce (OFFPAY_HTTP_NONCE_BYTES) and timestamp
     * (Unix seconds), for a caller that must remember them before the call
     * to ask the server later what became of it.  NULL / 0: a fresh random
     * nonce and the current time. */
    const uint8_t *nonce;
    uint64_t timestamp;
};

/* Seconds a call may take in all, unless $OFFPAY_TIMEOUT (1..3600) says otherwise. */
#define OFFPAY_CLIENT_TIMEOUT_S 10L
#define OFFPAY_CLIENT_TIMEOUT_MAX_S 3600L
/* A call slower than this is reported once to the caller's on_slow. */
#define OFFPAY_CLIENT_SLOW_MS 1000L

/* Returns: the seconds $OFFPAY_TIMEOUT gives (1..3600), or 0 when it is not
 * set or not such a number (then it is ignored). */
long offpay_client_timeout_env(void);

/* How one call is made (offpay_client_call_opts). */
struct offpay_client_opts {
    const char *ca_file; /* PEM authorities an https:// server is checked against; NULL: the system's */
    long timeout_s;      /* > 0: seconds the call may take in all; 0: $OFFPAY_TIMEOUT, else 10 */
    /* When not NULL: called once, on the calling thread, when the call has
     * taken more than OFFPAY_CLIENT_SLOW_MS and is still going. */
    void (*on_slow)(void *ctx);
    void *slow_ctx;
};

/*
 * One HTTP request to base_url (e.g. "http://127.0.0.1:18080") + path.
 * In: method ("GET", "POST"), path (starts with '/'; a query string is not
 * signed), body (sent compactly as JSON; NULL = no body), auth (NULL =
 * unauthenticated: enrol only; otherwise the X-Offpay-* headers are added with
 * a fresh random nonce and the current time).
 * Out: *http_status (the HTTP status, 0 if none was received), *response (the
 * parsed JSON object, owned by the caller who json_decref()s it; NULL when
 * the answer was not a JSON object).
 * Returns: OFFPAY_OK when an HTTP answer carrying a JSON object was received
 * (any status); OFFPAY_ERR_UNREACHABLE when the request certainly never left
 * (no connection: refused, unresolvable, 3 s connect timeout, TLS handshake
 * failed); OFFPAY_ERR_OUTCOME_UNKNOWN when it may have reached the server
 * but no complete answer came back (reset, total timeout, closed
 * connection), so the server may have acted on it; OFFPAY_ERR_MALFORMED when the answer is not a JSON object or is
 * over OFFPAY_CLIENT_RESPONSE_MAX bytes (*http_status is still set);
 * OFFPAY_ERR_SERVER_UNTRUSTED when an https:// server's certificate does not
 * verify against the system's certificate authorities (or the CA file cannot
 * be read): nothing was sent; OFFPAY_ERR_KEY_UNAVAILABLE when auth's signer
 * could not sign: nothing was sent; OFFPAY_ERR_USAGE for bad arguments;
 * OFFPAY_ERR_NOMEM; OFFPAY_ERR_INTERNAL.  offpay_client_last_error() says
 * more about a failure.
 */
enum offpay_status offpay_client_call(const char *base_url, const char *method, const char *path, const json_t *body,
                                      const struct offpay_client_auth *auth, long *http_status,
                                      json_t **response) OFFPAY_WARN_UNUSED;

/*
 * The same, with an https:// server checked against the certificate
 * authorities in ca_file (PEM; NULL: the system's) instead.
 */
enum offpay_status offpay_client_call_tls(const char *base_url, const char *ca_file, const char *method,
                                          const char *path, const json_t *body, const struct offpay_client_auth *auth,
                                          long *http_status, json_t **response) OFFPAY_WARN_UNUSED;

/* The same, made as opts says (NULL: as offpay_client_call). */
enum offpay_status offpay_client_call_opts(const char *base_url, const struct offpay_client_opts *opts,
                                           const char *method, const char *path, const json_t *body,
                                           const struct offpay_client_auth *auth, long *http_status,
                                           json_t **response) OFFPAY_WARN_UNUSED;

/*
 * Why this thread's last call failed, in libcurl's words (e.g. "SSL
 * certificate problem: unable to get local issuer certificate"), or "" when
 * it did not fail.  The text belongs to the thread and changes at its next call.
 */
const char *offpay_client_last_error(void);

/*
 * The same with a raw body of body_len bytes (may be NULL/0) sent as is, for
 * callers that already hold the serialised JSON (and for tests that send
 * malformed bodies).  timeout_s overrides the 10 s total timeout when > 0.
 */
enum offpay_status offpay_client_call_raw(const char *base_url, const char *method, const char *path,
                                          const char *body, size_t body_len, const struct offpay_client_auth *auth,
                                          long timeout_s, long *http_status, json_t **response) OFFPAY_WARN_UNUSED;

/*
 * The same, with the answer left as text: *text (malloc'd, NUL-terminated,
 * *text_len bytes before the NUL; the caller frees it) is whatever the server
 * sent, not checked to be JSON.  For a benchmark that looks at a megabyte
 * answer without building a tree of it.
 */
enum offpay_status offpay_client_call_text(const char *base_url, const char *method, const char *path,
                                           const char *body, size_t body_len, const struct offpay_client_auth *auth,
                                           long timeout_s, long *http_status, char **text,
                                           size_t *text_len) OFFPAY_WARN_UNUSED;

#endif

/*
 * client.c - one HTTP request to offpayd with libcurl (include/offpay/client.h).
 *
 * Each call uses its own easy handle, so calls from several threads never
 * share state; curl's global setup runs once.  The answer is collected up to
 * OFFPAY_CLIENT_RESPONSE_MAX bytes (a larger one is a hostile or broken
 * server) and must be one JSON object.
 *
 * An https:// server is verified as a browser would (its certificate chain
 * up to a trusted authority, and its name), against the system's
 * certificate authorities or the caller's CA file, with TLS 1.2 at least; one
 * that does not verify is never sent the request.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "offpay/client.h"

#define CONNECT_TIMEOUT_S 3L

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ready;

/* One curl handle per thread, kept between calls: it keeps its connection
 * to the server open, so a caller making many calls (a sync of many
 * batches, a benchmark) does not connect, and make the server start a
 * connection thread, once per call. */
static pthread_key_t handle_key;

/* Why this thread's last call failed, in curl's words (offpay_client_last_error). */
static __thread char last_error[CURL_ERROR_SIZE];

const char *offpay_client_last_error(void) { return last_error; }

static void handle_free(void *h) { curl_easy_cleanup(h); }

static void curl_setup(void)
{
    curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK && pthread_key_create(&handle_key, handle_free) == 0;
}

/* This thread's handle, with every option back at its default. */
static CURL *thread_handle(void)
{
    CURL *c = pthread_getspecific(handle_key);
    if (c != NULL) {
        curl_easy_reset(c);
        return c;
    }
    if ((c = curl_easy_init()) != NULL && pthread_setspecific(handle_key, c) != 0) {
        curl_easy_cleanup(c);
        c = NULL;
    }
    return c;
}

struct answer {
    char *buf;
    size_t len, cap;
    int too_large;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *user)
{
    struct answer *a = user;
    size_t n = size * nmemb;
    if (n > OFFPAY_CLIENT_RESPONSE_MAX - a->len) {
        a->too_large = 1;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < a->len + n + 1)
            cap *= 2;
        char *p = realloc(a->buf, cap);
        if (p == NULL)
            return 0;
        a->buf = p;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, data, n);
    a->len += n;
    a->buf[a->len] = '\0';
    return n;
}

/* The signed path is the request path without its query string. */
static int signed_path(char *out, size_t cap, const char *path)
{
    size_t n = strcspn(path, "?");
    if (n + 1 > cap)
        return -1;
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

static struct curl_slist *auth_headers(struct curl_slist *h, const struct offpay_client_auth *auth, const char *method,
                                       const char *path, const char *body, size_t body_len, int *ok)
{
    char line[256], ts[32], nonce_hex[2 * OFFPAY_HTTP_NONCE_BYTES + 1], wid[2 * OFFPAY_WALLET_ID_BYTES + 1];
    char sig_hex[2 * OFFPAY_SIGNATURE_BYTES + 1], spath[1024];
    uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES], sig[OFFPAY_SIGNATURE_BYTES];
    struct curl_slist *t;

    *ok = 0;
    if (signed_path(spath, sizeof spath, path) != 0)
        return h;
    if (auth->nonce != NULL)
        memcpy(nonce, auth->nonce, sizeof nonce);
    else
        offpay_random(nonce, sizeof nonce);
    offpay_hex(nonce_hex, nonce, sizeof nonce);
    offpay_hex(wid, auth->wallet_id, OFFPAY_WALLET_ID_BYTES);
    snprintf(ts, sizeof ts, "%llu", auth->timestamp != 0 ? (unsigned long long)auth->timestamp
                                                         : (unsigned long long)time(NULL));
    if (auth->signer != NULL) {
        if (offpay_http_auth_sign_with(sig, auth->signer, method, spath, (const uint8_t *)body, body_len, ts,
                                       nonce_hex) != 0) {
            *ok = -1; /* the key could not sign: nothing is sent */
            return h;
        }
    } else {
        offpay_http_auth_sign(sig, auth->secret_key, method, spath, (const uint8_t *)body, body_len, ts, nonce_hex);
    }
    offpay_hex(sig_hex, sig, sizeof sig);

    const char *names[4] = {OFFPAY_HTTP_HEADER_WALLET, OFFPAY_HTTP_HEADER_TIMESTAMP, OFFPAY_HTTP_HEADER_NONCE,
                            OFFPAY_HTTP_HEADER_SIGNATURE};
    const char *values[4] = {wid, ts, nonce_hex, sig_hex};
    for (int i = 0; i < 4; i++) {
        snprintf(line, sizeof line, "%s: %s", names[i], values[i]);
        if ((t = curl_slist_append(h, line)) == NULL)
            return h;
        h = t;
    }
    *ok = 1;
    return h;
}

long offpay_client_timeout_env(void)
{
    const char *e = getenv("OFFPAY_TIMEOUT");
    char *end;
    long v;
    if (e == NULL || *e < '0' || *e > '9')
        return 0;
    v = strtol(e, &end, 10);
    return *end == '\0' && v >= 1 && v <= OFFPAY_CLIENT_TIMEOUT_MAX_S ? v : 0;
}

/* $OFFPAY_TIMEOUT, else the default. */
static long total_timeout(void)
{
    long v = offpay_client_timeout_env();
    return v > 0 ? v : OFFPAY_CLIENT_TIMEOUT_S;
}

/* The caller's "this is slow" hook, called once past OFFPAY_CLIENT_SLOW_MS
 * (libcurl calls us about once a second while it waits, and at each chunk). */
struct slow_watch {
    const struct offpay_client_opts *opts;
    struct timespec start;
    int told;
};

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    struct slow_watch *sw = user;
    struct timespec now;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (sw->told || clock_gettime(CLOCK_MONOTONIC, &now) != 0)
        return 0;
    long ms = (long)(now.tv_sec - sw->start.tv_sec) * 1000L + (now.tv_nsec - sw->start.tv_nsec) / 1000000L;
    if (ms > OFFPAY_CLIENT_SLOW_MS) {
        sw->told = 1;
        sw->opts->on_slow(sw->opts->slow_ctx);
    }
    return 0; /* never abort the transfer from here */
}

/* A failed transfer: did the request certainly never leave?  Only when no
 * connection was made or no byte of the request was written; anything later
 * (a reset, a timeout while waiting, a closed connection, even a retry curl
 * made on its own) may have reached the server. */
static int never_sent(CURL *c, CURLcode rc)
{
    curl_off_t sent = 0;
    long req_size = 0;
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
        return 1;
    default:
        break;
    }
    if (curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &req_size) != CURLE_OK ||
        curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &sent) != CURLE_OK)
        return 0;
    return req_size == 0 && sent == 0;
}

/* A failure of the server's certificate, or of the CA file to check it with. */
static int untrusted(CURLcode rc)
{
    return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_ISSUER_ERROR;
}

/* The request; the answer as a JSON object (response) or as text (text).
 * ca_file: the authorities an https server is checked against (NULL: the system's). */
static enum offpay_status perform(const char *base_url, const struct offpay_client_opts *opts, const char *method,
                                  const char *path, const char *body, size_t body_len,
                                  const struct offpay_client_auth *auth, long *http_status, json_t **response,
                                  char **text, size_t *text_len)
{
    const char *ca_file = opts->ca_file;
    long timeout_s = opts->timeout_s;
    struct slow_watch sw = {opts, {0, 0}, 0};
    enum offpay_status st = OFFPAY_ERR_INTERNAL;
    struct answer ans = {0};
    struct curl_slist *headers = NULL, *t;
    CURL *c = NULL;
    char *url = NULL;
    int ok;

    last_error[0] = '\0';
    if (http_status)
        *http_status = 0;
    if (response)
        *response = NULL;
    if (text)
        *text = NULL;
    if (base_url == NULL || method == NULL || path == NULL || path[0] != '/' || http_status == NULL ||
        (response == NULL) == (text == NULL) || (text != NULL && text_len == NULL) || (body == NULL && body_len > 0) ||
        (auth != NULL && auth->secret_key == NULL && auth->signer == NULL))
        return OFFPAY_ERR_USAGE;
    if (offpay_crypto_init() != 0)
        return OFFPAY_ERR_CRYPTO_INIT;
    pthread_once(&curl_once, curl_setup);
    if (!curl_ready)
        return OFFPAY_ERR_INTERNAL;

    size_t ul = strlen(base_url), pl = strlen(path);
    while (ul > 0 && base_url[ul - 1] == '/')
        ul--; /* "http://h:p/" + "/v1/x" must not become "//v1/x" */
    if ((url = malloc(ul + pl + 1)) == NULL)
        return OFFPAY_ERR_NOMEM;
    memcpy(url, base_url, ul);
    memcpy(url + ul, path, pl + 1);

    if ((c = thread_handle()) == NULL)
        goto cleanup;
    if ((t = curl_slist_append(headers, "Accept: application/json")) == NULL)
        goto cleanup;
    headers = t;
    if (body != NULL) {
        if ((t = curl_slist_append(headers, "Content-Type: application/json")) == NULL)
            goto cleanup;
        headers = t;
    }
    /* No "100-continue" round trip: our bodies are small and the server answers anyway. */
    if ((t = curl_slist_append(headers, "Expect:")) == NULL)
        goto cleanup;
    headers = t;
    if (auth != NULL) {
        headers = auth_headers(headers, auth, method, path, body, body_len, &ok);
        if (ok < 0)
            st = OFFPAY_ERR_KEY_UNAVAILABLE;
        if (ok != 1)
            goto cleanup;
    }

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : total_timeout());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ans);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, last_error);
    /* Verification is curl's default; say so, so that no later change loses it. */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    if (opts->on_slow != NULL && clock_gettime(CLOCK_MONOTONIC, &sw.start) == 0) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &sw);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body != NULL ? body_len : 0));
    }

    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        if (last_error[0] == '\0')
            snprintf(last_error, sizeof last_error, "%s", curl_easy_strerror(rc));
        if (ans.too_large) {
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http_status);
            st = OFFPAY_ERR_MALFORMED;
        } else {
            st = rc == CURLE_OUT_OF_MEMORY ? OFFPAY_ERR_NOMEM
                 : untrusted(rc)           ? OFFPAY_ERR_SERVER_UNTRUSTED
                 : never_sent(c, rc)       ? OFFPAY_ERR_UNREACHABLE
                                           : OFFPAY_ERR_OUTCOME_UNKNOWN;
        }
        goto cleanup;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http_status);

    if (text != NULL) {
        if (ans.buf == NULL && (ans.buf = calloc(1, 1)) == NULL) {
            st = OFFPAY_ERR_NOMEM;
            goto cleanup;
        }
        *text = ans.buf;
        *text_len = ans.len;
        ans.buf = NULL;
        st = OFFPAY_OK;
        goto cleanup;
    }

    json_error_t err;
    json_t *j = ans.len > 0 ? json_loadb(ans.buf, ans.len, JSON_REJECT_DUPLICATES, &err) : NULL;
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        st = OFFPAY_ERR_MALFORMED;
        goto cleanup;
    }
    *response = j;
    st = OFFPAY_OK;

cleanup:
    curl_slist_free_all(headers); /* the handle stays with the thread */
    free(ans.buf);
    free(url);
    return st;
}

enum offpay_status offpay_client_call_raw(const char *base_url, const char *method, const char *path,
                                          const char *body, size_t body_len, const struct offpay_client_auth *auth,
                                          long timeout_s, long *http_status, json_t **response)
{
    struct offpay_client_opts o = {NULL, timeout_s, NULL, NULL};
    return perform(base_url, &o, method, path, body, body_len, auth, http_status, response, NULL, NULL);
}

enum offpay_status offpay_client_call_text(const char *base_url, const char *method, const char *path,
                                           const char *body, size_t body_len, const struct offpay_client_auth *auth,
                                           long timeout_s, long *http_status, char **text, size_t *text_len)
{
    struct offpay_client_opts o = {NULL, timeout_s, NULL, NULL};
    return perform(base_url, &o, method, path, body, body_len, auth, http_status, NULL, text, text_len);
}

enum offpay_status offpay_client_call(const char *base_url, const char *method, const char *path, const json_t *body,
                                      const struct offpay_client_auth *auth, long *http_status, json_t **response)
{
    return offpay_client_call_tls(base_url, NULL, method, path, body, auth, http_status, response);
}

enum offpay_status offpay_client_call_tls(const char *base_url, const char *ca_file, const char *method,
                                          const char *path, const json_t *body, const struct offpay_client_auth *auth,
                                          long *http_status, json_t **response)
{
    struct offpay_client_opts o = {ca_file, 0, NULL, NULL};
    return offpay_client_call_opts(base_url, &o, method, path, body, auth, http_status, response);
}

enum offpay_status offpay_client_call_opts(const char *base_url, const struct offpay_client_opts *opts,
                                           const char *method, const char *path, const json_t *body,
                                           const struct offpay_client_auth *auth, long *http_status,
                                           json_t **response)
{
    static const struct offpay_client_opts plain = {NULL, 0, NULL, NULL};
    char *text = NULL;
    enum offpay_status st;

    if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
        if (http_status)
            *http_status = 0;
        if (response)
            *response = NULL;
        return OFFPAY_ERR_NOMEM;
    }
    st = perform(base_url, opts != NULL ? opts : &plain, method, path, text, text ? strlen(text) : 0, auth,
                 http_status, response, NULL, NULL);
    free(text);
    return st;
}

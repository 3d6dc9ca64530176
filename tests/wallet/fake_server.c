/*
 * fake_server.c - a hostile offpayd for the wallet's tests (test_hostile.sh).
 *
 * It stands between offpay and a real offpayd: every request is passed on
 * unchanged (the real server authenticates and acts on it), and the answer
 * comes back bent the way the file MODE_FILE says at that moment - a result
 * list too short or out of order, a coin not signed by the issuer or made
 * out to another key, limits for another wallet, a revocation list not
 * signed, a body over the client's limit, a truncated body, a 500, ...  So
 * the test drives the real offpay against answers a broken or lying server
 * could give, while the ledger behind stays the truth the next honest sync
 * settles against.  What the lies need signing (a coin for another key,
 * limits for another wallet) is signed with the ledger's issuer key, so the
 * wallet must find the lie itself, not a bad signature.
 *
 * A mode names the path it bends ("sync_short" bends POST /v1/sync); other
 * paths pass through.  "pass" bends nothing.
 *
 * Usage: fake_server PORT UPSTREAM_URL MODE_FILE ISSUER_KEY_FILE
 * Prints "listening on 127.0.0.1:PORT" once it serves.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>

#include "offpay/client.h"
#include "offpay/crypto.h"
#include "offpay/http_auth.h"
#include "offpay/protocol.h"
#include "offpay/text.h"

static const char *upstream, *mode_file;
static uint8_t issuer_sk[OFFPAY_SECRET_KEY_BYTES];

/* ---- the answer from the real server ---- */

struct buf {
    char *p;
    size_t len;
};

static size_t buf_add(char *data, size_t size, size_t n, void *user)
{
    struct buf *b = user;
    char *p = realloc(b->p, b->len + size * n + 1);
    if (p == NULL)
        return 0;
    memcpy(p + b->len, data, size * n);
    b->len += size * n;
    p[b->len] = '\0';
    b->p = p;
    return size * n;
}

struct request {
    struct buf body;
};

static const char *const passed_headers[] = {OFFPAY_HTTP_HEADER_WALLET, OFFPAY_HTTP_HEADER_TIMESTAMP,
                                             OFFPAY_HTTP_HEADER_NONCE, OFFPAY_HTTP_HEADER_SIGNATURE, "Content-Type"};

/* Pass the request on.  Out: *status, answer (body). */
static int forward(struct MHD_Connection *c, const char *method, const char *url, const struct buf *body, long *status,
                   struct buf *answer)
{
    char full[8192], line[512];
    const char *after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
    struct curl_slist *h = NULL;
    snprintf(full, sizeof full, "%s%s%s%s", upstream, url, after ? "?after=" : "", after ? after : "");
    for (size_t i = 0; i < sizeof passed_headers / sizeof passed_headers[0]; i++) {
        const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, passed_headers[i]);
        if (v != NULL) {
            snprintf(line, sizeof line, "%s: %s", passed_headers[i], v);
            h = curl_slist_append(h, line);
        }
    }
    h = curl_slist_append(h, "Expect:");
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, full);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->p ? body->p : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body->len);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, buf_add);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(h);
    return rc == CURLE_OK ? 0 : -1;
}

/* ---- lies ---- */

static void read_mode(char *mode, size_t cap)
{
    FILE *f = fopen(mode_file, "r");
    snprintf(mode, cap, "pass");
    if (f != NULL) {
        if (fgets(mode, (int)cap, f) == NULL)
            snprintf(mode, cap, "pass");
        mode[strcspn(mode, "\r\n")] = '\0';
        fclose(f);
    }
}

/* The path a mode bends: its prefix names it. */
static int mode_bends(const char *mode, const char *url)
{
    static const struct {
        const char *prefix, *path;
    } map[] = {{"sync_", "/v1/sync"},       {"utxos_", "/v1/utxos"},     {"load_", "/v1/load"},
               {"unload_", "/v1/unload"},   {"pay_", "/v1/pay-online"},  {"balance_", "/v1/balance"},
               {"outcome_", "/v1/outcome"}, {"enrol_", "/v1/enrol"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(mode, map[i].prefix, strlen(map[i].prefix)) == 0)
            return strcmp(url, map[i].path) == 0;
    return 0;
}

static json_t *text_of(const uint8_t *bin, size_t len)
{
    char text[OFFPAY_TEXT_MAX + 1];
    return offpay_text_encode(text, sizeof text, bin, len) == OFFPAY_OK ? json_string(text) : json_null();
}

/* A coin of the answer's list, re-made: sig_bad spoils the issuer's
 * signature; other_key makes it out to another key, and more adds one to
 * its amount (both signed properly); fresh gives it a new id (so the wallet
 * has never seen it). */
static json_t *coin_bent(const json_t *text, int sig_bad, int other_key, int fresh, int more)
{
    uint8_t bin[OFFPAY_UTXO_BYTES], pk[OFFPAY_PUBLIC_KEY_BYTES], sk[OFFPAY_SECRET_KEY_BYTES];
    size_t len;
    int type;
    struct offpay_utxo u;
    const char *t = json_string_value(text);
    if (t == NULL || offpay_text_decode(bin, sizeof bin, &len, &type, OFFPAY_MSG_UTXO, t, strlen(t)) != OFFPAY_OK ||
        offpay_utxo_decode(&u, bin, len) != OFFPAY_OK)
        return json_string("OP1UTX:AAAA");
    if (fresh)
        memset(u.id, 0xff, sizeof u.id); /* above every id listed: the list stays in order */
    if (other_key) {
        offpay_keypair(pk, sk);
        memcpy(u.owner, pk, sizeof pk);
    }
    u.amount += (uint64_t)more;
    if (offpay_utxo_attest(&u, issuer_sk) != OFFPAY_OK)
        return json_null();
    if (sig_bad)
        u.issuer_sig[0] ^= 1;
    len = offpay_utxo_encode(bin, sizeof bin, &u);
    return text_of(bin, len);
}

/* The "limits" field re-made: for another wallet (signed), or with a spoilt signature. */
static void limits_bent(json_t *a, int other_wallet)
{
    uint8_t bin[OFFPAY_LIMITS_BYTES];
    size_t len;
    int type;
    struct offpay_limits_policy p;
    const char *t = json_string_value(json_object_get(a, "limits"));
    if (t == NULL || offpay_text_decode(bin, sizeof bin, &len, &type, OFFPAY_MSG_LIMITS, t, strlen(t)) != OFFPAY_OK ||
        offpay_limits_policy_decode(&p, bin, len) != OFFPAY_OK)
        return;
    if (other_wallet) {
        offpay_random(p.wallet_id, sizeof p.wallet_id);
        if (offpay_limits_policy_sign(&p, issuer_sk) != OFFPAY_OK)
            return;
    } else {
        p.sig[0] ^= 1;
    }
    len = offpay_limits_policy_encode(bin, sizeof bin, &p);
    json_object_set_new(a, "limits", text_of(bin, len));
}

/* The "revocation" field with a spoilt signature (the last byte is the signature's). */
static void revocation_unsigned(json_t *a)
{
    const char *t = json_string_value(json_object_get(a, "revocation"));
    size_t cap = t ? strlen(t) : 0, len;
    int type;
    uint8_t *bin = cap ? malloc(cap) : NULL;
    if (bin != NULL && offpay_text_decode(bin, cap, &len, &type, OFFPAY_MSG_REVOCATION, t, strlen(t)) == OFFPAY_OK) {
        bin[len - 1] ^= 1;
        char *text = malloc(offpay_text_len(len) + 1);
        if (text != NULL && offpay_text_encode(text, offpay_text_len(len) + 1, bin, len) == OFFPAY_OK)
            json_object_set_new(a, "revocation", json_string(text));
        free(text);
    }
    free(bin);
}

/* A message field one byte short: still text of its type, but it does not decode. */
static void field_short(json_t *a, const char *key, int want)
{
    const char *t = json_string_value(json_object_get(a, key));
    size_t cap = t ? strlen(t) : 0, len;
    int type;
    uint8_t *bin = cap ? malloc(cap) : NULL;
    char *text = bin ? malloc(cap + 1) : NULL;
    if (text != NULL && offpay_text_decode(bin, cap, &len, &type, want, t, strlen(t)) == OFFPAY_OK &&
        offpay_text_encode(text, cap + 1, bin, len - 1) == OFFPAY_OK)
        json_object_set_new(a, key, json_string(text));
    free(bin);
    free(text);
}

/* The enrolment's certificate, issued (properly) for another key. */
static void cert_other(json_t *a)
{
    uint8_t bin[OFFPAY_CERT_BYTES_MAX], sk[OFFPAY_SECRET_KEY_BYTES];
    size_t len;
    int type;
    struct offpay_cert c;
    const char *t = json_string_value(json_object_get(a, "certificate"));
    if (t == NULL || offpay_text_decode(bin, sizeof bin, &len, &type, OFFPAY_MSG_CERT, t, strlen(t)) != OFFPAY_OK ||
        offpay_cert_decode(&c, bin, len) != OFFPAY_OK)
        return;
    offpay_keypair(c.public_key, sk);
    if (offpay_cert_issue(&c, issuer_sk) != OFFPAY_OK || (len = offpay_cert_encode(bin, sizeof bin, &c)) == 0)
        return;
    json_object_set_new(a, "certificate", text_of(bin, len));
}

/* Apply a lie that keeps the answer JSON; mode names it. */
static void bend_json(json_t *a, const char *mode)
{
    json_t *results = json_object_get(a, "results"), *coins = json_object_get(a, "utxos");
    if (strcmp(mode, "sync_short") == 0)
        json_array_remove(results, json_array_size(results) - 1);
    else if (strcmp(mode, "sync_long") == 0)
        json_array_append(results, json_array_get(results, 0));
    else if (strcmp(mode, "sync_order") == 0 && json_array_size(results) >= 2) {
        json_array_append(results, json_array_get(results, 0)); /* the first goes last */
        json_array_remove(results, 0);
    }
    else if (strcmp(mode, "sync_status") == 0)
        json_object_set_new(json_array_get(results, 0), "status", json_string("accepted"));
    else if (strcmp(mode, "sync_no_coins") == 0)
        json_object_del(a, "utxos");
    else if (strcmp(mode, "sync_coin_garbage") == 0 || strcmp(mode, "utxos_coin_garbage") == 0)
        json_array_append_new(coins, json_string("OP1UTX:AAAA"));
    else if (strcmp(mode, "sync_coin_unsigned") == 0 || strcmp(mode, "load_coin_unsigned") == 0)
        json_array_set_new(coins, 0, coin_bent(json_array_get(coins, 0), 1, 0, 0, 0));
    else if (strcmp(mode, "sync_coin_other_key") == 0 || strcmp(mode, "load_coin_other_key") == 0)
        json_array_set_new(coins, 0, coin_bent(json_array_get(coins, 0), 0, 1, 0, 0));
    else if (strcmp(mode, "utxos_coin_unsigned") == 0)
        json_array_append_new(coins, coin_bent(json_array_get(coins, 0), 1, 0, 1, 0));
    else if (strcmp(mode, "utxos_coin_other_key") == 0)
        json_array_append_new(coins, coin_bent(json_array_get(coins, 0), 0, 1, 1, 0));
    else if (strcmp(mode, "utxos_order") == 0 && json_array_size(coins) >= 2) {
        json_array_append(coins, json_array_get(coins, 0)); /* the first goes last */
        json_array_remove(coins, 0);
    } else if (strcmp(mode, "utxos_more_empty") == 0) {
        json_array_clear(coins);
        json_object_set_new(a, "more", json_true());
    }
    else if (strcmp(mode, "sync_limits_other") == 0 || strcmp(mode, "enrol_limits_other") == 0)
        limits_bent(a, 1);
    else if (strcmp(mode, "sync_limits_unsigned") == 0)
        limits_bent(a, 0);
    else if (strcmp(mode, "sync_limits_garbage") == 0)
        json_object_set_new(a, "limits", json_string("OP1LIM:AAAA"));
    else if (strcmp(mode, "sync_revocation_unsigned") == 0 || strcmp(mode, "enrol_revocation_unsigned") == 0)
        revocation_unsigned(a);
    else if (strcmp(mode, "load_count") == 0)
        json_array_remove(coins, 0);
    else if (strcmp(mode, "balance_negative") == 0 || strcmp(mode, "unload_online") == 0)
        json_object_set_new(a, "online", json_integer(-1));
    else if (strcmp(mode, "outcome_garbage") == 0)
        json_object_set_new(a, "outcome", json_string("maybe"));
    else if (strcmp(mode, "enrol_cert_garbage") == 0)
        json_object_set_new(a, "certificate", json_string("OP1CRT:AAAA"));
    else if (strcmp(mode, "enrol_cert_short") == 0)
        field_short(a, "certificate", OFFPAY_MSG_CERT);
    else if (strcmp(mode, "enrol_cert_other") == 0)
        cert_other(a);
    else if (strcmp(mode, "enrol_no_issuer") == 0)
        json_object_del(a, "issuer_public_key");
    else if (strcmp(mode, "sync_limits_short") == 0)
        field_short(a, "limits", OFFPAY_MSG_LIMITS);
    else if (strcmp(mode, "sync_revocation_short") == 0)
        field_short(a, "revocation", OFFPAY_MSG_REVOCATION);
    else if (strcmp(mode, "load_coin_garbage") == 0)
        json_array_set_new(coins, 0, json_string("OP1UTX:AAAA"));
    else if (strcmp(mode, "load_coin_amount") == 0)
        json_array_set_new(coins, 0, coin_bent(json_array_get(coins, 0), 0, 0, 0, 1));
}

/* ---- serving ---- */

/* A body that stops half-way: the connection is closed with bytes missing. */
static ssize_t half_body(void *cls, uint64_t pos, char *out, size_t max)
{
    const struct buf *b = cls;
    size_t half = b->len / 2;
    if (pos >= half)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = half - pos < max ? half - pos : max;
    memcpy(out, b->p + pos, n);
    return (ssize_t)n;
}

static void buf_free(void *cls)
{
    struct buf *b = cls;
    free(b->p);
    free(b);
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, char *text, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Lies that break the answer itself rather than its content. */
static enum MHD_Result send_broken(struct MHD_Connection *c, const char *mode, struct buf *answer)
{
    const char *kind = strchr(mode, '_') + 1;
    if (strcmp(kind, "500") == 0)
        return send_text(c, 500, strdup("{\"error\":\"internal\",\"message\":\"The fake failed.\"}"), 49);
    if (strcmp(kind, "not_json") == 0)
        return send_text(c, 200, strdup("this is not JSON"), 16);
    if (strcmp(kind, "oversized") == 0) {
        /* One byte over what the client takes: a JSON object padded with spaces. */
        size_t n = OFFPAY_CLIENT_RESPONSE_MAX + 1;
        char *p = malloc(n);
        memset(p, ' ', n);
        p[0] = '{';
        p[n - 1] = '}';
        return send_text(c, 200, p, n);
    }
    /* truncated */
    struct buf *b = malloc(sizeof *b);
    *b = *answer;
    answer->p = NULL;
    struct MHD_Response *r = MHD_create_response_from_callback(b->len, 4096, half_body, b, buf_free);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static int is_broken_mode(const char *mode)
{
    const char *u = strchr(mode, '_');
    return u != NULL && (strcmp(u, "_500") == 0 || strcmp(u, "_not_json") == 0 || strcmp(u, "_oversized") == 0 ||
                         strcmp(u, "_truncated") == 0);
}

static enum MHD_Result answer(struct MHD_Connection *c, const char *method, const char *url, struct request *rq)
{
    char mode[64];
    long status = 0;
    struct buf got = {0};
    read_mode(mode, sizeof mode);
    if (forward(c, method, url, &rq->body, &status, &got) != 0) {
        free(got.p);
        return MHD_NO; /* the real server did not answer: drop the connection */
    }
    int bend = mode_bends(mode, url);
    if (bend && is_broken_mode(mode)) {
        enum MHD_Result r = send_broken(c, mode, &got);
        free(got.p);
        return r;
    }
    json_t *a = bend && status / 100 == 2 ? json_loadb(got.p, got.len, 0, NULL) : NULL;
    if (a != NULL) {
        bend_json(a, mode);
        free(got.p);
        got.p = json_dumps(a, JSON_COMPACT);
        got.len = got.p ? strlen(got.p) : 0;
        json_decref(a);
    }
    return send_text(c, (unsigned)status, got.p ? got.p : strdup(""), got.len);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)cls;
    (void)version;
    struct request *rq = *state;
    if (rq == NULL) {
        *state = calloc(1, sizeof *rq);
        return *state ? MHD_YES : MHD_NO;
    }
    if (*upload_size > 0) {
        buf_add((char *)upload, 1, *upload_size, &rq->body);
        *upload_size = 0;
        return MHD_YES;
    }
    return answer(c, method, url, rq);
}

static void done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)c;
    (void)why;
    struct request *rq = *state;
    if (rq != NULL) {
        free(rq->body.p);
        free(rq);
    }
    *state = NULL;
}

static int issuer_load(const char *path)
{
    char hex[2 * OFFPAY_SEED_BYTES + 2] = {0};
    uint8_t seed[OFFPAY_SEED_BYTES], pk[OFFPAY_PUBLIC_KEY_BYTES];
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(hex, sizeof hex, f) == NULL) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    hex[strcspn(hex, "\n")] = '\0';
    if (offpay_unhex(seed, sizeof seed, hex) != 0)
        return -1;
    offpay_keypair_from_seed(pk, issuer_sk, seed);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: fake_server PORT UPSTREAM_URL MODE_FILE ISSUER_KEY_FILE\n");
        return 2;
    }
    upstream = argv[2];
    mode_file = argv[3];
    if (offpay_crypto_init() != 0 || issuer_load(argv[4]) != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fprintf(stderr, "fake_server: cannot read the issuer key %s\n", argv[4]);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                                            (uint16_t)atoi(argv[1]), NULL, NULL, handle, NULL,
                                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                            MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "fake_server: cannot listen on port %s\n", argv[1]);
        return 1;
    }
    printf("listening on 127.0.0.1:%s\n", argv[1]);
    fflush(stdout);
    for (;;)
        pause();
}

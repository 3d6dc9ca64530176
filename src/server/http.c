/*
 * http.c - offpayd's HTTP front: libmicrohttpd glue, the route table,
 * request authentication, the transaction helper and JSON field helpers.
 *
 * A request goes: route (404/405) -> body collected up to OFFPAYD_BODY_MAX
 * (413) -> authentication headers, clock and signature (401/403) -> body
 * parsed as one JSON object (400) -> the endpoint's handler, which verifies
 * what it can before it opens its one transaction (request_tx, tx.c).  The
 * request nonce is handled in that same transaction: a repeat of a request
 * that took effect gets its first answer or runs again, never a second
 * effect (the route's keep_answer says which).
 *
 * Every request, answered by a handler or refused from its head, is logged
 * and counted once, through reqlog.c's obs_* calls: obs_start with the
 * head, obs_note after the handler, obs_finish when libmicrohttpd says the
 * request is complete (with the status it sent).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "internal.h"

/* ---- the route table ---- */

struct route {
    const char *method;
    const char *path;
    int auth; /* 1: the X-Offpay-* headers are required */
    int raw;  /* 1: the handler reads the body itself (rq->json stays NULL) */
    /* 1: the 2xx answer is stored with the nonce and answers a repeat (tx.c);
     * 0: the endpoint is idempotent and a repeat runs again. */
    int keep_answer;
    void (*handler)(struct request *rq);
    int no_ledger; /* 1: the handler needs no ledger connection nor a worker permit */
};

static const struct route routes[] = {
    {"POST", "/v1/enrol", 0, 0, 0, ep_enrol, 0},
    {"GET", "/v1/limits", 1, 0, 0, ep_limits, 0},
    {"GET", "/v1/balance", 1, 0, 0, ep_balance, 0},
    {"GET", "/v1/utxos", 1, 0, 0, ep_utxos, 0},
    {"POST", "/v1/load", 1, 0, 1, ep_load, 0},
    {"POST", "/v1/unload", 1, 0, 1, ep_unload, 0},
    /* A sync body can be megabytes: ep_sync reads it in one pass (sync_body.c). */
    {"POST", "/v1/sync", 1, 1, 0, ep_sync, 0},
    {"POST", "/v1/pay-online", 1, 0, 1, ep_pay_online, 0},
    {"POST", "/v1/outcome", 1, 0, 0, ep_outcome, 0},
    {"POST", "/v1/wallets/lost", 1, 0, 1, ep_wallets_lost, 0},
    /* For operators (docs/server.md, "Operating offpayd"). */
    {"GET", "/v1/health", 0, 0, 0, ep_health, 0},
    {"GET", "/metrics", 0, 0, 0, ep_metrics, 1},
};

/* The path of the route at url (static, for the metrics' labels), or NULL. */
static const char *route_path(const char *url)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(routes[i].path, url) == 0)
            return routes[i].path;
    return NULL;
}

int route_keeps_answer(const char *method, const char *path)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(routes[i].method, method) == 0 && strcmp(routes[i].path, path) == 0)
            return routes[i].keep_answer;
    return 0;
}

/* ---- replies ---- */

void reply_json(struct request *rq, int status, json_t *body)
{
    free(rq->reply_text);
    rq->reply_text = NULL;
    json_decref(rq->reply);
    if (body == NULL) {
        rq->status = 500;
        rq->reply = json_pack("{s:s,s:s}", "error", "internal", "message", "Out of memory.");
        return;
    }
    rq->status = status;
    rq->reply = body;
}

const char *request_query(struct request *rq, const char *name)
{
    return rq->conn != NULL ? MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name) : NULL;
}

void reply_text(struct request *rq, int status, char *text, size_t len)
{
    json_decref(rq->reply);
    rq->reply = NULL;
    free(rq->reply_text);
    rq->status = status;
    rq->reply_text = text;
    rq->reply_len = len;
}

void reply_error(struct request *rq, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reply_json(rq, status, json_pack("{s:s,s:s}", "error", code, "message", msg));
}

void reply_ledger_error(struct request *rq, const char *what)
{
    fprintf(stderr, "offpayd: ledger error during %s: %s\n", what, rq->l ? rq->l->ops->last_error(rq->l) : "?");
    reply_error(rq, 500, "internal", "The ledger failed; nothing was changed.");
}

void reply_storage_failed(struct request *rq, int outcome_unknown)
{
    fprintf(stderr, "offpayd: storage failure during %s: %s\n", rq->path, rq->l ? rq->l->ops->last_error(rq->l) : "?");
    if (outcome_unknown)
        reply_error(rq, 503, "outcome_unknown",
                    "The ledger's storage failed while committing this request, so it may or may not have taken "
                    "effect; repeat it with the same nonce, or ask POST /v1/outcome, once the ledger is back.");
    else
        reply_error(rq, 503, "storage_failed",
                    "The ledger's storage failed (disk full, I/O error or database unreachable); nothing was "
                    "changed: try again later.");
}

/* ---- JSON fields ---- */

int offpayd_json_amount(json_t *v, int positive, uint64_t *out)
{
    if (!json_is_integer(v))
        return -1;
    json_int_t n = json_integer_value(v);
    if (n < 0 || (positive && n == 0))
        return -1;
    *out = (uint64_t)n;
    return 0;
}

int offpayd_field_string(struct request *rq, json_t *obj, const char *name, const char **out)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_string(v)) {
        reply_error(rq, 400, "bad_field", "The field \"%s\" must be a string.", name);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int offpayd_field_string_or_null(struct request *rq, json_t *obj, const char *name, const char **out)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    return offpayd_field_string(rq, obj, name, out);
}

int offpayd_field_amount(struct request *rq, json_t *obj, const char *name, int positive, uint64_t *out)
{
    if (offpayd_json_amount(json_object_get(obj, name), positive, out) != 0) {
        reply_error(rq, 400, "bad_field", "The field \"%s\" must be an integer amount%s.", name,
                    positive ? " above zero" : "");
        return -1;
    }
    return 0;
}

int offpayd_hex_exact(uint8_t *out, size_t n, const char *hex)
{
    if (hex == NULL || strlen(hex) != 2 * n)
        return -1;
    for (size_t i = 0; i < 2 * n; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return -1;
    return offpay_unhex(out, n, hex);
}

/* ---- authentication ---- */

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Returns 0 when the caller is a known wallet that signed this request. */
static int authenticate(struct request *rq, struct MHD_Connection *c)
{
    const char *wid = header(c, OFFPAY_HTTP_HEADER_WALLET), *ts = header(c, OFFPAY_HTTP_HEADER_TIMESTAMP);
    const char *nonce = header(c, OFFPAY_HTTP_HEADER_NONCE), *sig_hex = header(c, OFFPAY_HTTP_HEADER_SIGNATURE);
    uint8_t id[OFFPAY_WALLET_ID_BYTES], sig[OFFPAY_SIGNATURE_BYTES];
    uint64_t t = 0;

    if (wid == NULL || ts == NULL || nonce == NULL || sig_hex == NULL) {
        reply_error(rq, 401, "bad_auth", "The request lacks the X-Offpay-* authentication headers.");
        return -1;
    }
    if (offpayd_hex_exact(id, sizeof id, wid) != 0 || offpayd_hex_exact(rq->nonce, sizeof rq->nonce, nonce) != 0 ||
        offpayd_hex_exact(sig, sizeof sig, sig_hex) != 0) {
        reply_error(rq, 401, "bad_auth", "An X-Offpay-* header is not lowercase hex of the right length.");
        return -1;
    }
    size_t tl = strlen(ts);
    if (tl == 0 || tl > 18 || (tl > 1 && ts[0] == '0')) {
        reply_error(rq, 401, "bad_auth", "The X-Offpay-Timestamp header is not a decimal Unix time.");
        return -1;
    }
    for (size_t i = 0; i < tl; i++) {
        if (ts[i] < '0' || ts[i] > '9') {
            reply_error(rq, 401, "bad_auth", "The X-Offpay-Timestamp header is not a decimal Unix time.");
            return -1;
        }
        t = t * 10 + (uint64_t)(ts[i] - '0');
    }
    /* Against the real time, which wallets sign with, even under $OFFPAYD_NOW. */
    uint64_t real = (uint64_t)time(NULL);
    if (t + OFFPAY_HTTP_MAX_SKEW < real || t > real + OFFPAY_HTTP_MAX_SKEW) {
        reply_error(rq, 401, "stale_timestamp", "The request's timestamp is more than %d seconds from the server's clock.",
                    OFFPAY_HTTP_MAX_SKEW);
        return -1;
    }
    enum offpay_ledger_result r = rq->l->ops->wallet_get(rq->l, id, &rq->wallet);
    if (r == OFFPAY_LEDGER_NOT_FOUND) {
        reply_error(rq, 401, "bad_auth", "The wallet is not enrolled here.");
        return -1;
    }
    if (r == OFFPAY_LEDGER_UNAVAILABLE) {
        reply_storage_failed(rq, 0);
        return -1;
    }
    if (r != OFFPAY_LEDGER_OK) {
        reply_ledger_error(rq, "authentication");
        return -1;
    }
    if (offpay_http_auth_verify(sig, rq->wallet.public_key, rq->method, rq->path, rq->body, rq->body_len, ts,
                                nonce) != 0) {
        reply_error(rq, 401, "bad_auth", "The request's signature does not verify.");
        return -1;
    }
    if (rq->wallet.fraudulent) {
        reply_error(rq, 403, "revoked", "This wallet's certificate is revoked (double spending).");
        return -1;
    }
    if (rq->wallet.loss != OFFPAY_LEDGER_IN_USE) {
        reply_error(rq, 403, "revoked", "This wallet was reported %s and its certificate is revoked: enrol a new "
                    "wallet (its coins go back to the account after the grace period).",
                    offpayd_loss_name(rq->wallet.loss));
        return -1;
    }
    rq->ts = t;
    rq->authed = 1;
    return 0;
}

/* ---- ledger connections ---- */

struct offpay_ledger *pool_take(struct shard *sh)
{
    struct offpay_ledger *l = NULL;
    char err[512];
    pthread_mutex_lock(&sh->pool_lock);
    if (sh->pool_n > 0)
        l = sh->pool[--sh->pool_n];
    pthread_mutex_unlock(&sh->pool_lock);
    if (l == NULL && offpay_ledger_open(&l, sh->url, 0, err, sizeof err) != OFFPAY_OK) {
        fprintf(stderr, "offpayd: %s\n", err);
        return NULL;
    }
    return l;
}

void pool_give(struct shard *sh, struct offpay_ledger *l)
{
    if (l == NULL)
        return;
    pthread_mutex_lock(&sh->pool_lock);
    if (sh->pool_n < sh->pool_cap) {
        sh->pool[sh->pool_n++] = l;
        l = NULL;
    }
    pthread_mutex_unlock(&sh->pool_lock);
    offpay_ledger_close(l);
}

struct prune {
    uint64_t used_before, kept_before;
};

static enum tx_step prune_tx(struct offpay_ledger *l, void *ctx)
{
    struct prune *p = ctx;
    TRY(l->ops->nonce_prune(l, p->used_before, p->kept_before));
    return STEP_COMMIT;
}

/* Once a minute per process: the write-off of lost wallets past their
 * grace period, and stale nonces dropped: plain ones
 * after OFFPAYD_NONCE_KEEP, those holding an answer or a cancelled mark
 * after OFFPAYD_ANSWER_KEEP. */
static void maybe_prune(struct request *rq)
{
    struct offpayd *srv = rq->srv;
    int due;
    pthread_mutex_lock(&srv->prune_lock);
    due = rq->now >= srv->last_prune + 60;
    if (due)
        srv->last_prune = rq->now;
    pthread_mutex_unlock(&srv->prune_lock);
    if (!due)
        return;
    /* Lost wallets whose grace period is over get their coins back (loss.c). */
    offpayd_write_off_all(srv, rq->now);
    /* Nonces carry the wallets' real time, whatever $OFFPAYD_NOW says. */
    uint64_t real = (uint64_t)time(NULL);
    if (real < OFFPAYD_NONCE_KEEP)
        return;
    struct prune p = {real - OFFPAYD_NONCE_KEEP, real > OFFPAYD_ANSWER_KEEP ? real - OFFPAYD_ANSWER_KEEP : 0};
    for (unsigned i = 0; i < srv->n_shards; i++) {
        struct shard *sh = &srv->shard[i];
        pthread_mutex_lock(&sh->writer_lock);
        (void)tx_run(sh->writer, prune_tx, &p); /* best effort: the next minute tries again */
        pthread_mutex_unlock(&sh->writer_lock);
    }
}

/* ---- libmicrohttpd ---- */

struct upload {
    char *buf;
    size_t len, cap;
    int too_large;
    int answered; /* an error was queued from the head alone; the rest is dropped */
    struct request_obs obs; /* for the request log and the metrics */
};

/* Send text (malloc'd, len bytes; taken; of content type type, NULL: JSON) or else body as JSON. */
static enum MHD_Result send_reply(struct MHD_Connection *c, int status, json_t *body, char *text, size_t len,
                                  const char *type)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    if (text == NULL && body != NULL && (text = json_dumps(body, JSON_COMPACT)) != NULL)
        len = strlen(text);
    if (text == NULL) {
        static const char oom[] = "{\"error\":\"internal\",\"message\":\"Out of memory.\"}";
        status = 500;
        resp = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    }
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type != NULL ? type : "application/json");
    ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *code, const char *msg)
{
    json_t *j = json_pack("{s:s,s:s}", "error", code, "message", msg);
    enum MHD_Result r = send_reply(c, status, j, NULL, 0, NULL);
    json_decref(j);
    return r;
}

/* The shard of the wallet the request names (shard 0 when it names none:
 * enrolment moves to its token's shard itself). */
static struct shard *home_shard(struct offpayd *srv, struct MHD_Connection *c)
{
    const char *wid = header(c, OFFPAY_HTTP_HEADER_WALLET);
    uint8_t id[OFFPAY_WALLET_ID_BYTES];
    if (srv->n_shards == 1 || wid == NULL || offpayd_hex_exact(id, sizeof id, wid) != 0)
        return &srv->shard[0];
    return shard_of_wallet(srv, id);
}

static enum MHD_Result dispatch(struct offpayd *srv, struct MHD_Connection *c, const struct route *rt,
                                const char *url, struct upload *up)
{
    struct request rq;
    enum MHD_Result ret;

    memset(&rq, 0, sizeof rq);
    rq.srv = srv;
    rq.method = rt->method;
    rq.path = url;
    rq.conn = c;
    rq.body = (const uint8_t *)up->buf;
    rq.body_len = up->len;
    rq.keep_answer = rt->keep_answer;
    rq.now = offpayd_now();
    if (rt->no_ledger) {
        rt->handler(&rq);
        ret = send_reply(c, rq.status, rq.reply, rq.reply_text, rq.reply_len, rq.content_type);
        json_decref(rq.reply);
        return ret;
    }
    while (sem_wait(&srv->workers) != 0)
        ; /* EINTR: signals are blocked in these threads, but be safe */
    rq.shard = home_shard(srv, c);
    if ((rq.l = pool_take(rq.shard)) == NULL) {
        sem_post(&srv->workers);
        return send_error(c, 503, "storage_failed",
                          "The ledger cannot be opened (its storage failed or its database is unreachable); nothing "
                          "was changed: try again later.");
    }

    if (rt->auth == 0 || authenticate(&rq, c) == 0) {
        if (strcmp(rt->method, "POST") == 0 && !rt->raw) {
            json_error_t err;
            rq.json = json_loadb(up->len ? up->buf : "", up->len, JSON_REJECT_DUPLICATES, &err);
            if (rq.json == NULL || !json_is_object(rq.json))
                reply_error(&rq, 400, "malformed_json", "The request body is not a JSON object.");
        }
        if (rq.reply == NULL)
            rt->handler(&rq);
        if (rq.reply == NULL && rq.reply_text == NULL)
            reply_error(&rq, 500, "internal", "The server produced no answer.");
    }
    obs_note(&up->obs, &rq);
    maybe_prune(&rq);
    pool_give(rq.shard, rq.l);
    sem_post(&srv->workers);
    ret = send_reply(c, rq.status, rq.reply, rq.reply_text, rq.reply_len, rq.content_type);
    json_decref(rq.reply);
    json_decref(rq.json);
    return ret;
}

/* Adds the length of one header line or query argument to *cls (a size_t). */
static enum MHD_Result count_bytes(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    size_t *n = cls;
    (void)kind;
    *n += strlen(key) + (value != NULL ? strlen(value) : 0) + 4; /* ": " and CRLF, or "=" and "&" */
    return MHD_YES;
}

/* The head's limits (internal.h), checked before anything else so that a
 * head too large is refused with api.md's JSON, not libmicrohttpd's HTML.
 * Returns: 0, or the status of the error already queued (or -1 when it
 * could not be). */
static int head_refused(struct MHD_Connection *c, const char *url)
{
    size_t target = strlen(url), headers = 0;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, count_bytes, &target);
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_bytes, &headers);
    if (target > OFFPAYD_TARGET_MAX)
        return send_error(c, 414, "uri_too_long", "The request's path and query are over 4096 bytes.") == MHD_YES
                   ? 414 : -1;
    if (headers > OFFPAYD_HEADERS_MAX)
        return send_error(c, 431, "headers_too_large", "The request's header lines are over 16 KiB.") == MHD_YES
                   ? 431 : -1;
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct offpayd *srv = cls;
    struct upload *up = *con_cls;
    (void)version;

    if (up == NULL) {
        /* First call: headers only.  Refuse a declared oversize body before reading it. */
        if ((up = calloc(1, sizeof *up)) == NULL)
            return MHD_NO;
        *con_cls = up;
        obs_start(&up->obs, method, url, route_path(url));
        int refused = head_refused(c, url);
        if (refused != 0) {
            up->answered = 1;
            return refused > 0 ? MHD_YES : MHD_NO;
        }
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long declared = cl != NULL ? strtoull(cl, NULL, 10) : 0;
        if (declared > OFFPAYD_BODY_MAX) {
            /* Answered now, before the body is read (the connection then closes). */
            up->too_large = up->answered = 1;
            return send_error(c, 413, "too_large", "The request body is over 4 MiB.");
        } else if (declared > 0) {
            /* One allocation of the declared size instead of growing and copying
             * (a sync of 1000 records is over a megabyte). */
            if ((up->buf = malloc((size_t)declared + 1)) != NULL)
                up->cap = (size_t)declared + 1;
        }
        return MHD_YES;
    }
    if (up->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (up->too_large || n > OFFPAYD_BODY_MAX - up->len) {
            up->too_large = 1; /* keep reading and dropping, then answer 413 */
            return MHD_YES;
        }
        if (up->len + n + 1 > up->cap) {
            size_t cap = up->cap ? up->cap : 8192;
            while (cap < up->len + n + 1)
                cap *= 2;
            char *p = realloc(up->buf, cap);
            if (p == NULL)
                return MHD_NO;
            up->buf = p;
            up->cap = cap;
        }
        memcpy(up->buf + up->len, upload_data, n);
        up->len += n;
        up->buf[up->len] = '\0';
        return MHD_YES;
    }

    /* The whole request is in. */
    const struct route *rt = NULL;
    int path_known = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(routes[i].path, url) != 0)
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, method) == 0)
            rt = &routes[i];
    }
    if (!path_known)
        return send_error(c, 404, "not_found", "There is no such endpoint.");
    if (rt == NULL)
        return send_error(c, 405, "method_not_allowed", "This endpoint does not take that method.");
    if (up->too_large)
        return send_error(c, 413, "too_large", "The request body is over 4 MiB.");
    return dispatch(srv, c, rt, url, up);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct upload *up = *con_cls;
    (void)cls, (void)toe;
    if (up != NULL) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
        obs_finish(&up->obs, info != NULL ? (int)info->http_status : 0);
        free(up->buf);
        free(up);
        *con_cls = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    fputs("offpayd: ", stderr);
    vfprintf(stderr, fmt, ap);
}

/* Split "HOST:PORT" or "[V6]:PORT". */
static int split_listen(const char *s, char *host, size_t host_cap, char *port, size_t port_cap)
{
    const char *colon;
    size_t hl;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':')
            return -1;
        hl = (size_t)(end - s - 1);
        s++;
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return -1;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= host_cap || strlen(colon + 1) == 0 || strlen(colon + 1) >= port_cap)
        return -1;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    if (strtoul(colon + 1, NULL, 10) > 65535)
        return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

int offpayd_serve(struct offpayd *srv, const char *listen_at, unsigned threads)
{
    char host[256], port[16], shown[300];
    struct addrinfo hints, *ai = NULL;
    struct MHD_Daemon *d = NULL;
    int fd = -1, one = 1, rc = OFFPAY_EXIT_INTERNAL;
    sigset_t sigs;

    if (split_listen(listen_at, host, sizeof host, port, sizeof port) != 0)
        return cli_fail(OFFPAY_ERR_USAGE, "--listen must be HOST:PORT, e.g. 127.0.0.1:8080.");
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0)
        return cli_fail(OFFPAY_ERR_USAGE, "Cannot resolve the listen address %s: %s.", host, gai_strerror(gai));
    if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        rc = cli_fail(OFFPAY_ERR_INTERNAL, "Cannot listen on %s: %s.", listen_at, strerror(e));
        goto out;
    }
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    char addr[INET6_ADDRSTRLEN] = "?";
    unsigned bound_port = 0;
    if (getsockname(fd, (struct sockaddr *)&sa, &sl) == 0) {
        if (sa.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
            inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof addr);
            bound_port = ntohs(s6->sin6_port);
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
            inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof addr);
            bound_port = ntohs(s4->sin_port);
        }
    }
    snprintf(shown, sizeof shown, sa.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, bound_port);

    /* Worker threads inherit this mask: only the main thread takes the signals. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* A thread per connection for I/O; the handling itself is limited to
     * `threads` at once by srv->workers (see internal.h), so that work is
     * never queued behind a busy worker that happened to accept it while
     * another worker idles. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    struct MHD_OptionItem tls[TLS_MHD_OPTIONS];
    flags |= tls_mhd_options(srv, tls);
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (sem_init(&srv->workers, 0, threads) != 0) {
        rc = cli_fail(OFFPAY_ERR_INTERNAL, "Cannot set up the worker limit.");
        goto out;
    }
    d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
                         MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                         MHD_OPTION_CONNECTION_TIMEOUT, OFFPAYD_IDLE_SECONDS, MHD_OPTION_CONNECTION_LIMIT,
                         OFFPAYD_CONN_MAX, MHD_OPTION_PER_IP_CONNECTION_LIMIT, OFFPAYD_CONN_PER_CLIENT,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)OFFPAYD_CONN_POOL, MHD_OPTION_ARRAY, tls,
                         MHD_OPTION_END);
    if (d == NULL) {
        sem_destroy(&srv->workers);
        rc = cli_fail(OFFPAY_ERR_INTERNAL, "The HTTP server could not be started on %s.", listen_at);
        goto out;
    }
    fd = -1; /* the daemon owns it now */
    printf("listening on %s\n", shown);
    fflush(stdout);

    /* SIGHUP reopens the log file (rotation); SIGINT and SIGTERM stop. */
    int sig = 0;
    while (sigwait(&sigs, &sig) != 0 || sig == SIGHUP)
        if (sig == SIGHUP) {
            reqlog_reopen();
            sig = 0;
        }
    MHD_stop_daemon(d);
    sem_destroy(&srv->workers);
    fprintf(stderr, "offpayd: stopped (signal %d); %lu payment signatures verified.\n", sig,
            __atomic_load_n(&srv->payment_sigs, __ATOMIC_RELAXED));
    fprintf(stderr, "offpayd: %lu write transactions committed or rolled back %lu requests (group commit).\n",
            srv->groups, srv->grouped);
    if (offpay_ledger_round_trips() > 0)
        fprintf(stderr, "offpayd: %llu round trips to PostgreSQL.\n",
                (unsigned long long)offpay_ledger_round_trips());
    rc = OFFPAY_EXIT_OK;
out:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc;
}

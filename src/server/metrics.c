/*
 * metrics.c - what offpayd counts, and GET /metrics, which shows it in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * The counts are of this process since it started (each offpayd serving a
 * shared PostgreSQL ledger has its own; Prometheus adds them up).  They are
 * process-wide, not per server object, because the one transaction runner
 * (tx.c) that times commits and counts retries serves commands too and knows
 * no server; every count is an atomic add or a short critical section, so
 * counting never holds up a request.
 *
 * Labels come only from fixed sets the code owns (a route's path, a
 * method, a status code, a rejection reason of docs/api.md): nothing a
 * client sends becomes a label, so a client cannot make the exposition grow.
 * docs/server.md ("Operating offpayd") lists every metric.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "offpay/version.h"

#define REQUEST_SERIES_MAX 256 /* (endpoint, method, status) triples */
#define REASONS_MAX 32         /* rejection reasons */

/* Upper bounds of the commit latency buckets, in microseconds. */
static const uint64_t commit_bounds_us[] = {250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};
#define COMMIT_BUCKETS (sizeof commit_bounds_us / sizeof commit_bounds_us[0])
/* Transactions (requests) one group commit carried: 1 .. OFFPAYD_GROUP_MAX. */
static const uint64_t group_bounds[] = {1, 2, 4, 8, 16, 32, 64};
#define GROUP_BUCKETS (sizeof group_bounds / sizeof group_bounds[0])

struct request_series {
    const char *endpoint, *method; /* static strings */
    int status;
    uint64_t count;
};

struct reason_count {
    const char *reason; /* static string */
    uint64_t count;
};

static struct {
    pthread_mutex_t lock; /* requests[] and reasons[] */
    struct request_series requests[REQUEST_SERIES_MAX];
    size_t n_requests;
    uint64_t requests_dropped; /* beyond REQUEST_SERIES_MAX: counted, not labelled */
    struct reason_count reasons[REASONS_MAX];
    size_t n_reasons;

    /* atomics */
    uint64_t settled, double_spends, request_sigs;
    uint64_t commit_buckets[COMMIT_BUCKETS], commit_count, commit_sum_us;
    uint64_t group_buckets[GROUP_BUCKETS], group_sum;
    uint64_t retries, errors_failed, errors_unavailable, errors_unknown, errors_busy;
    int64_t start_time;
} m = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void add(uint64_t *counter, uint64_t n) { __atomic_add_fetch(counter, n, __ATOMIC_RELAXED); }
static uint64_t get(const uint64_t *counter) { return __atomic_load_n(counter, __ATOMIC_RELAXED); }

void metrics_start(void) { m.start_time = (int64_t)time(NULL); }

void metrics_request(const char *endpoint, const char *method, int status, int authed)
{
    size_t i;
    if (authed)
        add(&m.request_sigs, 1);
    pthread_mutex_lock(&m.lock);
    for (i = 0; i < m.n_requests; i++)
        if (m.requests[i].status == status && m.requests[i].endpoint == endpoint && m.requests[i].method == method)
            break;
    if (i == m.n_requests && i < REQUEST_SERIES_MAX)
        m.requests[m.n_requests++] = (struct request_series){endpoint, method, status, 0};
    if (i < REQUEST_SERIES_MAX)
        m.requests[i].count++;
    else
        m.requests_dropped++;
    pthread_mutex_unlock(&m.lock);
}

void metrics_sync(const struct sync_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct sync_item *it = &items[i];
        if (it->fresh)
            add(&m.settled, 1);
        if (it->caught)
            add(&m.double_spends, 1);
        if (it->outcome != SYNC_REJECTED)
            continue;
        const char *reason = it->reason ? it->reason : "invalid";
        size_t k;
        pthread_mutex_lock(&m.lock);
        for (k = 0; k < m.n_reasons; k++)
            if (strcmp(m.reasons[k].reason, reason) == 0)
                break;
        if (k == m.n_reasons && k < REASONS_MAX)
            m.reasons[m.n_reasons++] = (struct reason_count){reason, 0};
        if (k < REASONS_MAX)
            m.reasons[k].count++;
        pthread_mutex_unlock(&m.lock);
    }
}

void metrics_commit(uint64_t us, size_t group)
{
    for (size_t b = 0; b < COMMIT_BUCKETS; b++)
        if (us <= commit_bounds_us[b])
            add(&m.commit_buckets[b], 1); /* cumulative, as the format wants */
    for (size_t b = 0; b < GROUP_BUCKETS; b++)
        if (group <= group_bounds[b])
            add(&m.group_buckets[b], 1);
    add(&m.commit_sum_us, us);
    add(&m.group_sum, group);
    add(&m.commit_count, 1);
}

void metrics_tx_end(int retries, enum tx_result r)
{
    add(&m.retries, (uint64_t)retries);
    switch (r) {
    case TX_FAILED:
        add(&m.errors_failed, 1);
        break;
    case TX_UNAVAILABLE:
        add(&m.errors_unavailable, 1);
        break;
    case TX_UNKNOWN:
        add(&m.errors_unknown, 1);
        break;
    case TX_BUSY:
        add(&m.errors_busy, 1);
        break;
    default:
        break;
    }
}

/* ---- the exposition ---- */

struct text {
    char *p;
    size_t len, cap;
    int oom;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    for (int pass = 0; pass < 2 && !t->oom; pass++) {
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n;
        char *q = realloc(t->p, cap);
        if (q == NULL) {
            t->oom = 1;
            return;
        }
        t->p = q;
        t->cap = cap;
    }
}

static void family(struct text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void requests_text(struct text *t)
{
    family(t, "offpayd_http_requests_total", "counter",
           "HTTP requests answered, by endpoint (the route, or other), method and status.");
    pthread_mutex_lock(&m.lock);
    for (size_t i = 0; i < m.n_requests; i++)
        put(t, "offpayd_http_requests_total{endpoint=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
            m.requests[i].endpoint, m.requests[i].method, m.requests[i].status,
            (unsigned long long)m.requests[i].count);
    if (m.requests_dropped > 0)
        put(t, "offpayd_http_requests_total{endpoint=\"overflow\",method=\"other\",status=\"0\"} %llu\n",
            (unsigned long long)m.requests_dropped);
    pthread_mutex_unlock(&m.lock);
}

static void records_text(struct text *t)
{
    family(t, "offpayd_records_settled_total", "counter", "Payment records settled (each once, when it settled).");
    put(t, "offpayd_records_settled_total %llu\n", (unsigned long long)get(&m.settled));
    family(t, "offpayd_records_rejected_total", "counter",
           "Payment records a sync answered rejected, by reason (docs/api.md).");
    pthread_mutex_lock(&m.lock);
    for (size_t i = 0; i < m.n_reasons; i++)
        put(t, "offpayd_records_rejected_total{reason=\"%s\"} %llu\n", m.reasons[i].reason,
            (unsigned long long)m.reasons[i].count);
    pthread_mutex_unlock(&m.lock);
    family(t, "offpayd_double_spends_caught_total", "counter",
           "Double spends caught: evidence stored and the payer revoked.");
    put(t, "offpayd_double_spends_caught_total %llu\n", (unsigned long long)get(&m.double_spends));
}

static void ledger_text(struct text *t)
{
    uint64_t count = get(&m.commit_count);
    family(t, "offpayd_commit_seconds", "histogram", "Time a ledger commit took.");
    for (size_t b = 0; b < COMMIT_BUCKETS; b++)
        put(t, "offpayd_commit_seconds_bucket{le=\"%g\"} %llu\n", (double)commit_bounds_us[b] / 1e6,
            (unsigned long long)get(&m.commit_buckets[b]));
    put(t, "offpayd_commit_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)count);
    put(t, "offpayd_commit_seconds_sum %.6f\n", (double)get(&m.commit_sum_us) / 1e6);
    put(t, "offpayd_commit_seconds_count %llu\n", (unsigned long long)count);
    /* Group commit (tx.c): the requests one commit carried. */
    family(t, "offpayd_commit_group_size", "histogram", "Transactions carried by one ledger commit.");
    for (size_t b = 0; b < GROUP_BUCKETS; b++)
        put(t, "offpayd_commit_group_size_bucket{le=\"%llu\"} %llu\n", (unsigned long long)group_bounds[b],
            (unsigned long long)get(&m.group_buckets[b]));
    put(t, "offpayd_commit_group_size_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)count);
    put(t, "offpayd_commit_group_size_sum %llu\n", (unsigned long long)get(&m.group_sum));
    put(t, "offpayd_commit_group_size_count %llu\n", (unsigned long long)count);
    family(t, "offpayd_ledger_retries_total", "counter", "Transactions run again after losing a race.");
    put(t, "offpayd_ledger_retries_total %llu\n", (unsigned long long)get(&m.retries));
    family(t, "offpayd_ledger_errors_total", "counter",
           "Transactions that failed, by kind: failed (an error), unavailable (storage failed, nothing committed), "
           "unknown (the commit's outcome is unknown), busy (every attempt lost a race).");
    put(t, "offpayd_ledger_errors_total{kind=\"failed\"} %llu\n", (unsigned long long)get(&m.errors_failed));
    put(t, "offpayd_ledger_errors_total{kind=\"unavailable\"} %llu\n", (unsigned long long)get(&m.errors_unavailable));
    put(t, "offpayd_ledger_errors_total{kind=\"unknown\"} %llu\n", (unsigned long long)get(&m.errors_unknown));
    put(t, "offpayd_ledger_errors_total{kind=\"busy\"} %llu\n", (unsigned long long)get(&m.errors_busy));
}

char *metrics_text(struct offpayd *srv, size_t *len)
{
    struct text t = {NULL, 0, 0, 0};
    if ((t.p = malloc(t.cap = 8192)) == NULL)
        return NULL;
    requests_text(&t);
    records_text(&t);
    family(&t, "offpayd_signatures_verified_total", "counter",
           "Signatures verified: payment (records, confirmations, refusals) and request (the X-Offpay-* headers).");
    put(&t, "offpayd_signatures_verified_total{kind=\"payment\"} %lu\n",
        __atomic_load_n(&srv->payment_sigs, __ATOMIC_RELAXED));
    put(&t, "offpayd_signatures_verified_total{kind=\"request\"} %llu\n", (unsigned long long)get(&m.request_sigs));
    ledger_text(&t);
    family(&t, "process_start_time_seconds", "gauge", "When this offpayd started, in Unix seconds.");
    put(&t, "process_start_time_seconds %lld\n", (long long)m.start_time);
    family(&t, "offpayd_build_info", "gauge", "The version of this offpayd and of the wire format it speaks.");
    put(&t, "offpayd_build_info{version=\"%s\",wire_format=\"%d\"} 1\n", OFFPAY_VERSION, OFFPAY_WIRE_VERSION);
    if (srv->tls_cert != NULL) {
        family(&t, "offpayd_tls_certificate_expiry_seconds", "gauge",
               "When the served TLS certificate expires, in Unix seconds.");
        put(&t, "offpayd_tls_certificate_expiry_seconds %lld\n", (long long)srv->tls_not_after);
    }
    if (t.oom) {
        free(t.p);
        return NULL;
    }
    *len = t.len;
    return t.p;
}

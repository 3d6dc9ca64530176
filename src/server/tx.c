/*
 * tx.c - offpayd's one transaction runner, and its use by HTTP requests.
 *
 * Every state change of offpayd runs through tx_run, whether it comes from
 * an HTTP request or from a command such as `offpayd account mint`: begin a
 * write transaction, run the caller's step, commit.  When the backend says
 * it lost a race (OFFPAY_LEDGER_RETRY: SQLite busy, a PostgreSQL
 * serialization failure) the whole step runs again, a bounded number of
 * times.  As with GNU Taler's TEH_DB_run_transaction, a caller writes only
 * its step and says what each way of failing means to its own user.
 *
 * request_tx is the HTTP use.  In the same transaction as the step it
 * handles the request's nonce, because a lost answer must never cost an
 * honest user (docs/api.md, "Lost answers"):
 *   - a nonce with a cancelled mark (POST /v1/outcome burnt it) refuses the
 *     request, 409 cancelled: it must never take effect;
 *   - an endpoint that keeps its answer (load, unload, pay-online) stores
 *     its 2xx body with the nonce, and a repeat of the request (same wallet,
 *     same nonce, signature verified) gets exactly those bytes again and
 *     changes nothing: libcurl resends a request whose connection died;
 *   - every other endpoint (sync, the reads, outcome) is idempotent: its
 *     nonce is stored, and a repeat simply runs again.
 * A step that refuses the request (STEP_ABORT) is rolled back with its
 * nonce, so a refused request did not use its nonce.
 *
 * Requests share commits (group commit, request_tx): concurrent requests
 * run as one group in one write transaction, each after a savepoint of its
 * own that also holds its nonce and stored answer, so a request that is
 * refused or fails is undone alone (tx_run_group), and each is answered
 * only once the group's commit is durable.  tx_run is a group of one.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

enum tx_step tx_step_of(enum offpay_ledger_result r)
{
    switch (r) {
    case OFFPAY_LEDGER_RETRY:
        return STEP_RETRY;
    case OFFPAY_LEDGER_UNAVAILABLE:
        return STEP_UNAVAILABLE;
    case OFFPAY_LEDGER_UNKNOWN:
        return STEP_UNKNOWN;
    default:
        return STEP_ERROR;
    }
}

static uint64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A member's final result from what its step said in a committed (or, for
 * a lone member, rolled back) transaction. */
static void decide(struct tx_member *m, enum tx_result r)
{
    m->result = r;
    m->done = 1;
}

static enum tx_result result_of(enum tx_step s)
{
    switch (s) {
    case STEP_COMMIT:
        return TX_COMMITTED;
    case STEP_ABORT:
        return TX_ABORTED;
    case STEP_UNAVAILABLE:
        return TX_UNAVAILABLE;
    case STEP_UNKNOWN:
        return TX_UNKNOWN;
    default:
        return TX_FAILED;
    }
}

/*
 * One attempt at the members not yet decided (and not set aside).  Returns
 * STEP_COMMIT when every one of them is decided now; otherwise the
 * transaction was rolled back and the return says why (RETRY: run again;
 * UNAVAILABLE, UNKNOWN, ERROR: the result of every member still undecided).
 * *culprit: the member whose step lost a race, or n.
 */
/* Hand the backend what the live members are about to read, when it can
 * read ahead (ledger.h, prefetch).  Out of memory: no prefetch, which is
 * always right. */
static enum offpay_ledger_result group_prefetch(struct offpay_ledger *l, struct tx_member *m, size_t n)
{
    struct offpay_ledger_keys k;
    memset(&k, 0, sizeof k);
    for (size_t i = 0; i < n; i++)
        if (!m[i].done && !m[i].set_aside && m[i].keys != NULL)
            m[i].keys(m[i].ctx, &k);
    enum offpay_ledger_result r = l->ops->prefetch(l, &k);
    offpay_ledger_keys_free(&k);
    return r;
}

static enum tx_step group_attempt(struct offpay_ledger *l, struct tx_member *m, size_t n, size_t *culprit,
                                  int prefetch)
{
    size_t live = 0;
    enum offpay_ledger_result r;
    *culprit = n;
    for (size_t i = 0; i < n; i++)
        live += !m[i].done && !m[i].set_aside;
    if (live == 0)
        return STEP_COMMIT;
    /* A lone step needs no savepoint: the transaction is its own. */
    int marks = live > 1;
    /* With a read-ahead the backend may send BEGIN with it (one round trip
     * less); a connection broken meanwhile is then a RETRY, which reruns. */
    prefetch = prefetch && l->ops->prefetch != NULL;
    if ((r = l->ops->begin(l, prefetch ? OFFPAY_LEDGER_BEGIN_DEFERRED : 1)) != OFFPAY_LEDGER_OK)
        return tx_step_of(r);
    if (prefetch && (r = group_prefetch(l, m, n)) != OFFPAY_LEDGER_OK) {
        l->ops->rollback(l);
        return tx_step_of(r);
    }
    for (size_t i = 0; i < n; i++) {
        if (m[i].done || m[i].set_aside)
            continue;
        if (marks && (r = l->ops->savepoint(l)) != OFFPAY_LEDGER_OK) {
            l->ops->rollback(l);
            return tx_step_of(r);
        }
        enum tx_step s = m[i].step = m[i].fn(l, m[i].ctx);
        if (s == STEP_COMMIT)
            continue;
        if (s == STEP_ABORT || s == STEP_ERROR) {
            if (!marks) {
                l->ops->rollback(l);
                decide(&m[i], result_of(s));
                return STEP_COMMIT;
            }
            if ((r = l->ops->rollback_savepoint(l)) != OFFPAY_LEDGER_OK) {
                /* This step is decided; the others lost their transaction
                 * with the failed undo and run again. */
                l->ops->rollback(l);
                decide(&m[i], result_of(s));
                return tx_step_of(r) == STEP_ERROR ? STEP_RETRY : tx_step_of(r);
            }
            continue;
        }
        /* A race lost, or the storage failed: the whole transaction is gone. */
        l->ops->rollback(l);
        if (s == STEP_RETRY)
            *culprit = i;
        return s;
    }
    uint64_t t0 = monotonic_us();
    r = l->ops->commit(l);
    metrics_commit(monotonic_us() - t0, live);
    if (r != OFFPAY_LEDGER_OK)
        return tx_step_of(r); /* the backend rolled back */
    for (size_t i = 0; i < n; i++)
        if (!m[i].done && !m[i].set_aside)
            decide(&m[i], result_of(m[i].step));
    return STEP_COMMIT;
}

/* Attempts until the members not set aside are decided. */
static void group_run(struct offpay_ledger *l, struct tx_member *m, size_t n)
{
    int tries = 0;
    for (int attempt = 0; attempt < OFFPAYD_TX_ATTEMPTS; attempt++) {
        size_t culprit, live = 0;
        for (size_t i = 0; i < n; i++)
            live += !m[i].done && !m[i].set_aside;
        /* Read ahead on the first try only: a rerun (a race lost, or a
         * deferred write that did not do what was predicted) goes statement
         * by statement, which names the member that lost. */
        enum tx_step s = group_attempt(l, m, n, &culprit, tries++ == 0);
        if (s == STEP_COMMIT)
            return;
        if (s != STEP_RETRY) {
            /* A failed disk or a database that is gone is not a race: running
             * again now would fail again, and after an unknown commit it must
             * not run again at all (the caller says the outcome is unknown). */
            for (size_t i = 0; i < n; i++)
                if (!m[i].done && !m[i].set_aside)
                    decide(&m[i], result_of(s));
            return;
        }
        /* The step that lost a race (on a hot row, say) must not keep its
         * neighbours losing with it: it is set aside, and runs on its own
         * once they are decided. */
        int aside = culprit < n && live > 1;
        for (size_t i = 0; i < n; i++)
            m[i].retries += !m[i].done && !m[i].set_aside && !(aside && i == culprit); /* they run again */
        if (aside) {
            m[culprit].set_aside = 1;
            attempt--; /* not an attempt lost: at most n of these */
            continue;
        }
        /* Another writer won; back off a little and run it again. */
        struct timespec pause = {0, (long)(1000000L * (1 + attempt))};
        nanosleep(&pause, NULL);
    }
    /* every attempt lost a race: the undecided keep TX_BUSY */
}

void tx_run_group(struct offpay_ledger *l, struct tx_member *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        m[i].done = m[i].set_aside = m[i].retries = 0;
        m[i].result = TX_BUSY;
    }
    group_run(l, m, n);
    for (size_t i = 0; i < n; i++) {
        if (m[i].set_aside) {
            m[i].set_aside = 0;
            m[i].retries++; /* it lost its race in the group */
            group_run(l, &m[i], 1);
        }
        metrics_tx_end(m[i].retries, m[i].result);
    }
}

enum tx_result tx_run(struct offpay_ledger *l, enum tx_step (*fn)(struct offpay_ledger *l, void *ctx), void *ctx)
{
    struct tx_member m = {fn, ctx, STEP_ERROR, 0, 0, 0, TX_BUSY, NULL};
    tx_run_group(l, &m, 1);
    return m.result;
}

/* ---- the HTTP use ---- */

struct http_tx {
    struct request *rq;
    enum tx_step (*fn)(struct request *rq, void *ctx);
    void (*keys)(struct request *rq, void *ctx, struct offpay_ledger_keys *k);
    void *ctx;
};

/* The keys http_step reads: the nonce, then the endpoint's. */
static void http_keys(void *arg, struct offpay_ledger_keys *k)
{
    struct http_tx *t = arg;
    struct request *rq = t->rq;
    if (rq->authed && !rq->no_nonce)
        (void)offpay_ledger_keys_add(k, OFFPAY_LEDGER_KEY_NONCE, rq->wallet.id, rq->nonce);
    if (t->keys != NULL)
        t->keys(rq, t->ctx, k);
}

/* The request's nonce has a row already: this is a repeat (or, for a
 * cancelled mark, a request that was given up). */
static enum tx_step repeated(struct http_tx *t, const struct offpay_ledger_nonce *seen)
{
    struct request *rq = t->rq;
    if (seen->kind == OFFPAY_LEDGER_NONCE_CANCELLED) {
        reply_error(rq, 409, "cancelled", "This request's nonce was cancelled (POST /v1/outcome); it never takes effect.");
        return STEP_ABORT;
    }
    if (!rq->keep_answer)
        return t->fn(rq, t->ctx); /* idempotent: the nonce row is there already */
    if (seen->kind != OFFPAY_LEDGER_NONCE_ANSWERED) {
        reply_error(rq, 409, "replayed", "This nonce was used by another request.");
        return STEP_ABORT;
    }
    char *text = malloc(seen->answer_len + 1);
    if (text == NULL) {
        reply_error(rq, 500, "internal", "Out of memory.");
        return STEP_ABORT;
    }
    memcpy(text, seen->answer, seen->answer_len);
    text[seen->answer_len] = '\0';
    reply_text(rq, 200, text, seen->answer_len);
    return STEP_ABORT; /* the first answer, and nothing new to commit */
}

/* The step committed its effect and left its 2xx answer in rq: fix the
 * answer's bytes (what is sent now is what a repeat will get) and store
 * them with the nonce. */
static enum tx_step keep_answer(struct request *rq)
{
    if (rq->status < 200 || rq->status > 299)
        return STEP_ERROR;
    if (rq->reply_text == NULL) {
        char *text = rq->reply != NULL ? json_dumps(rq->reply, JSON_COMPACT) : NULL;
        if (text == NULL)
            return STEP_ERROR;
        reply_text(rq, rq->status, text, strlen(text));
    }
    enum offpay_ledger_result r = rq->l->ops->nonce_keep(rq->l, rq->wallet.id, rq->nonce, rq->ts,
                                                         OFFPAY_LEDGER_NONCE_ANSWERED,
                                                         (const uint8_t *)rq->reply_text, rq->reply_len);
    /* DUPLICATE: another offpayd committed this same request meanwhile; the
     * rerun finds its answer. */
    if (r == OFFPAY_LEDGER_DUPLICATE)
        return STEP_RETRY;
    return r == OFFPAY_LEDGER_OK ? STEP_COMMIT : tx_step_of(r);
}

static enum tx_step http_step(struct offpay_ledger *l, void *arg)
{
    struct http_tx *t = arg;
    struct request *rq = t->rq;
    struct offpay_ledger_nonce seen;
    enum offpay_ledger_result r;

    if (!rq->authed || rq->no_nonce)
        return t->fn(rq, t->ctx);
    r = l->ops->nonce_get(l, rq->wallet.id, rq->nonce, &seen);
    if (r == OFFPAY_LEDGER_OK)
        return repeated(t, &seen);
    if (r != OFFPAY_LEDGER_NOT_FOUND)
        return tx_step_of(r);
    if (!rq->keep_answer) {
        r = l->ops->nonce_insert(l, rq->wallet.id, rq->nonce, rq->ts);
        if (r == OFFPAY_LEDGER_DUPLICATE)
            return STEP_RETRY; /* another offpayd stored it meanwhile */
        if (r != OFFPAY_LEDGER_OK)
            return tx_step_of(r);
        return t->fn(rq, t->ctx);
    }
    enum tx_step s = t->fn(rq, t->ctx);
    return s == STEP_COMMIT ? keep_answer(rq) : s;
}

/* A request waiting for its group (request_tx). */
struct tx_waiter {
    struct http_tx t;
    struct tx_member m;
    int done;
    pthread_cond_t wake; /* signalled when done, or when it is to lead */
    struct tx_waiter *next;
};

/* Run a group of waiting requests on the writer connection, and set the
 * reply of each one that did not commit. */
static void lead(struct shard *sh, struct tx_waiter **g, size_t n, unsigned writer)
{
    struct tx_member m[OFFPAYD_GROUP_MAX];
    struct offpay_ledger *l = sh->writers[writer];

    if (writer == 0)
        pthread_mutex_lock(&sh->writer_lock);
    for (size_t i = 0; i < n; i++) {
        g[i]->t.rq->l = l;
        m[i].fn = http_step;
        m[i].keys = http_keys;
        m[i].ctx = &g[i]->t;
    }
    tx_run_group(l, m, n);
    for (size_t i = 0; i < n; i++) {
        struct request *rq = g[i]->t.rq;
        enum tx_result res = m[i].result;
        g[i]->m = m[i];
        if (res == TX_FAILED)
            reply_ledger_error(rq, rq->path);
        else if (res == TX_BUSY)
            reply_error(rq, 503, "busy", "The ledger is busy; try again.");
        else if (res == TX_UNAVAILABLE || res == TX_UNKNOWN)
            reply_storage_failed(rq, res == TX_UNKNOWN);
        rq->l = NULL; /* request_tx takes a reader again */
    }
    if (writer == 0)
        pthread_mutex_unlock(&sh->writer_lock);
}

/*
 * Group commit.  A request queues, and waits until it is done.  While no
 * group is running, the first waiter to notice leads: it takes the queue (up
 * to OFFPAYD_GROUP_MAX), runs it as one transaction, and once the commit has
 * returned -- durable: SQLite synchronous=FULL, PostgreSQL
 * synchronous_commit=on -- marks its group done, wakes its members and the first
 * waiter still queued, which then leads the next group.  So while one group's commit goes
 * to the disk the next group gathers, and under load every commit carries
 * the requests that arrived during the previous one, with no timer: alone,
 * a request commits at once.  A PostgreSQL ledger may give a process
 * several writer connections ($OFFPAYD_WRITERS): then as many groups run
 * at once, each on its own connection, as they would in as many processes.
 */
int request_tx(struct request *rq, enum tx_step (*fn)(struct request *rq, void *ctx), void *ctx)
{
    return request_tx_keys(rq, fn, NULL, ctx);
}

int request_tx_keys(struct request *rq, enum tx_step (*fn)(struct request *rq, void *ctx),
                    void (*keys)(struct request *rq, void *ctx, struct offpay_ledger_keys *k), void *ctx)
{
    struct offpayd *srv = rq->srv;
    struct shard *sh = rq->shard;
    struct tx_waiter w;

    memset(&w, 0, sizeof w);
    w.t.rq = rq;
    w.t.fn = fn;
    w.t.keys = keys;
    w.t.ctx = ctx;
    w.m.result = TX_BUSY;
    pthread_cond_init(&w.wake, NULL);
    /* While this request waits for its group and for the commit to reach
     * the disk it holds no reader connection (there are as many waiting
     * requests as clients, and a connection each would mean a database
     * session each) ... */
    pool_give(sh, rq->l);
    rq->l = NULL;
    /* ... nor its worker permit: storage must not stall crypto, the permit
     * goes to a request that has signatures to verify.  In this order: the
     * thread the post wakes may run at once and take a reader, and readers
     * in use must stay within the pool (threads + 1), or each such take
     * opens a connection and each give closes one. */
    sem_post(&srv->workers);
    pthread_mutex_lock(&sh->group_lock);
    *sh->group_tail = &w;
    sh->group_tail = &w.next;
    while (!w.done) {
        /* Lead when requests are queued and a writer is free; else wait
         * (this request is queued, or in a group that runs). */
        if (sh->group_head == NULL || sh->group_leading >= sh->writers_n) {
            pthread_cond_wait(&w.wake, &sh->group_lock);
            continue;
        }
        struct tx_waiter *g[OFFPAYD_GROUP_MAX];
        size_t n = 0;
        unsigned writer = 0;
        while (n < OFFPAYD_GROUP_MAX && sh->group_head != NULL) {
            g[n++] = sh->group_head;
            sh->group_head = sh->group_head->next;
        }
        if (sh->group_head == NULL)
            sh->group_tail = &sh->group_head;
        while (sh->writers_busy & (1u << writer))
            writer++;
        sh->writers_busy |= 1u << writer;
        sh->group_leading++;
        if (sh->group_head != NULL && sh->group_leading < sh->writers_n)
            pthread_cond_signal(&sh->group_head->wake); /* more than a group waits, and a writer is free */
        pthread_mutex_unlock(&sh->group_lock);
        lead(sh, g, n, writer);
        pthread_mutex_lock(&sh->group_lock);
        /* Wake only those it concerns: the members (each its own
         * condition, so that 64 waiting clients are not all woken by every
         * commit) and the first one queued, which leads the next group. */
        for (size_t i = 0; i < n; i++) {
            g[i]->done = 1;
            if (g[i] != &w)
                pthread_cond_signal(&g[i]->wake);
        }
        sh->writers_busy &= ~(1u << writer);
        sh->group_leading--;
        __atomic_add_fetch(&srv->groups, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&srv->grouped, n, __ATOMIC_RELAXED);
        if (sh->group_head != NULL)
            pthread_cond_signal(&sh->group_head->wake);
    }
    pthread_mutex_unlock(&sh->group_lock);
    pthread_cond_destroy(&w.wake);
    while (sem_wait(&srv->workers) != 0)
        ; /* EINTR */
    rq->l = pool_take(sh);
    return w.m.result == TX_COMMITTED ? 0 : -1;
}

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

/* One attempt's end, as the runner's result; TX_BUSY: run it again. */
static enum tx_result attempt_result(enum tx_step s)
{
    switch (s) {
    case STEP_ABORT:
        return TX_ABORTED;
    case STEP_ERROR:
        return TX_FAILED;
    /* A failed disk or a database that is gone is not a race: running
     * again now would fail again, and after an unknown commit it must
     * not run again at all (the caller says the outcome is unknown). */
    case STEP_UNAVAILABLE:
        return TX_UNAVAILABLE;
    case STEP_UNKNOWN:
        return TX_UNKNOWN;
    default:
        return TX_BUSY; /* STEP_RETRY: another writer won */
    }
}

enum tx_result tx_run(struct offpay_ledger *l, enum tx_step (*fn)(struct offpay_ledger *l, void *ctx), void *ctx)
{
    enum tx_result result = TX_BUSY;
    int attempt;
    for (attempt = 0; attempt < OFFPAYD_TX_ATTEMPTS; attempt++) {
        enum offpay_ledger_result r = l->ops->begin(l, 1);
        enum tx_step s = r == OFFPAY_LEDGER_OK ? fn(l, ctx) : tx_step_of(r);
        if (r == OFFPAY_LEDGER_OK) {
            if (s == STEP_COMMIT) {
                uint64_t t0 = monotonic_us();
                r = l->ops->commit(l);
                metrics_commit(monotonic_us() - t0);
                s = r == OFFPAY_LEDGER_OK ? STEP_COMMIT : tx_step_of(r);
            } else {
                l->ops->rollback(l);
            }
        }
        if (s == STEP_COMMIT) {
            result = TX_COMMITTED;
            break;
        }
        if ((result = attempt_result(s)) != TX_BUSY)
            break;
        /* Back off a little and run it again. */
        struct timespec pause = {0, (long)(1000000L * (1 + attempt))};
        nanosleep(&pause, NULL);
    }
    metrics_tx_end(attempt < OFFPAYD_TX_ATTEMPTS ? attempt : attempt - 1, result);
    return result;
}

/* ---- the HTTP use ---- */

struct http_tx {
    struct request *rq;
    enum tx_step (*fn)(struct request *rq, void *ctx);
    void *ctx;
};

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

    if (!rq->authed)
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

int request_tx(struct request *rq, enum tx_step (*fn)(struct request *rq, void *ctx), void *ctx)
{
    struct offpay_ledger *reader = rq->l;
    struct http_tx t = {rq, fn, ctx};

    /* Storage must not stall crypto: while this request waits for the one
     * writer and for its commit to reach the disk, its worker permit goes to
     * a request that has signatures to verify.  The write transactions are
     * one at a time anyway (writer_lock). */
    sem_post(&rq->srv->workers);
    pthread_mutex_lock(&rq->srv->writer_lock);
    rq->l = rq->srv->writer;
    enum tx_result res = tx_run(rq->l, http_step, &t);
    if (res == TX_FAILED)
        reply_ledger_error(rq, rq->path);
    else if (res == TX_BUSY)
        reply_error(rq, 503, "busy", "The ledger is busy; try again.");
    else if (res == TX_UNAVAILABLE || res == TX_UNKNOWN)
        reply_storage_failed(rq, res == TX_UNKNOWN);
    rq->l = reader;
    pthread_mutex_unlock(&rq->srv->writer_lock);
    while (sem_wait(&rq->srv->workers) != 0)
        ; /* EINTR */
    return res == TX_COMMITTED ? 0 : -1;
}

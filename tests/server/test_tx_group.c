/*
 * test_tx_group.c - the group transaction runner (tx_run_group, src/server/
 * tx.c) on its own, against any backend: argv[1] is a ledger URL (default: a
 * fresh SQLite ledger in a temp folder; under pg_run, a PostgreSQL one).
 *
 * Group commit must keep each request's effects apart: in one group, a step
 * that commits keeps its writes, one that aborts or fails loses only its own
 * (its savepoint is rolled back), and their results are what tx_run would
 * have said for each alone.  A race lost by one step reruns every undecided
 * step, whose writes then exist once.  A lone step runs without savepoints
 * and is rolled back whole.  Each step writes one meta row, so what the
 * ledger holds afterwards says exactly which effects survived.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "check.h"

/* A step: write meta key = value, then say what it was told to. */
struct step {
    const char *key;
    enum tx_step say;   /* what to answer */
    int retry_first;    /* answer STEP_RETRY on the first run (a lost race) */
    int runs;
};

static enum tx_step run_step(struct offpay_ledger *l, void *ctx)
{
    struct step *s = ctx;
    s->runs++;
    if (l->ops->meta_set(l, s->key, (const uint8_t *)"v", 1) != OFFPAY_LEDGER_OK)
        return STEP_ERROR;
    if (s->retry_first && s->runs == 1)
        return STEP_RETRY;
    return s->say;
}

/* 1 when meta key is in the ledger, 0 when not, -1 on a ledger error. */
static int has(struct offpay_ledger *l, const char *key)
{
    uint8_t v[8];
    size_t n;
    if (l->ops->begin(l, 0) != OFFPAY_LEDGER_OK)
        return -1;
    enum offpay_ledger_result r = l->ops->meta_get(l, key, v, sizeof v, &n);
    l->ops->rollback(l);
    return r == OFFPAY_LEDGER_OK ? 1 : r == OFFPAY_LEDGER_NOT_FOUND ? 0 : -1;
}

static void members(struct tx_member *m, struct step *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&m[i], 0, sizeof m[i]);
        m[i].fn = run_step;
        m[i].ctx = &s[i];
    }
}

int main(int argc, char **argv)
{
    char url[700], err[512];
    struct offpay_ledger *l = NULL;
    struct tx_member m[5];

    if (argc > 1)
        snprintf(url, sizeof url, "%s", argv[1]);
    else
        snprintf(url, sizeof url, "sqlite:%s/l.db", check_temp_dir("txgroup"));
    if (offpay_ledger_open(&l, url, 1, err, sizeof err) != OFFPAY_OK)
        CHECK_FAIL("%s", err);

    /* One group: commit, abort, commit, error, commit. */
    struct step g1[5] = {{"g1.a", STEP_COMMIT, 0, 0},
                         {"g1.b", STEP_ABORT, 0, 0},
                         {"g1.c", STEP_COMMIT, 0, 0},
                         {"g1.d", STEP_ERROR, 0, 0},
                         {"g1.e", STEP_COMMIT, 0, 0}};
    members(m, g1, 5);
    tx_run_group(l, m, 5);
    CHECK(m[0].result == TX_COMMITTED && m[2].result == TX_COMMITTED && m[4].result == TX_COMMITTED);
    CHECK(m[1].result == TX_ABORTED);
    CHECK(m[3].result == TX_FAILED);
    CHECK(has(l, "g1.a") == 1 && has(l, "g1.c") == 1 && has(l, "g1.e") == 1);
    CHECK(has(l, "g1.b") == 0);
    CHECK(has(l, "g1.d") == 0);
    for (int i = 0; i < 5; i++)
        CHECK(g1[i].runs == 1);

    /* A lost race in the middle reruns the group; every effect exists once,
     * the aborted one still not at all. */
    struct step g2[3] = {{"g2.a", STEP_COMMIT, 0, 0}, {"g2.b", STEP_COMMIT, 1, 0}, {"g2.c", STEP_ABORT, 0, 0}};
    members(m, g2, 3);
    tx_run_group(l, m, 3);
    CHECK(m[0].result == TX_COMMITTED && m[1].result == TX_COMMITTED && m[2].result == TX_ABORTED);
    CHECK(g2[0].runs == 2 && g2[1].runs == 2 && g2[2].runs == 1);
    CHECK(has(l, "g2.a") == 1 && has(l, "g2.b") == 1 && has(l, "g2.c") == 0);

    /* Every step aborts: nothing is written. */
    struct step g3[2] = {{"g3.a", STEP_ABORT, 0, 0}, {"g3.b", STEP_ERROR, 0, 0}};
    members(m, g3, 2);
    tx_run_group(l, m, 2);
    CHECK(m[0].result == TX_ABORTED && m[1].result == TX_FAILED);
    CHECK(has(l, "g3.a") == 0 && has(l, "g3.b") == 0);

    /* tx_run: a group of one, rolled back whole on abort. */
    struct step one = {"one.a", STEP_ABORT, 0, 0};
    CHECK(tx_run(l, run_step, &one) == TX_ABORTED);
    CHECK(has(l, "one.a") == 0);
    struct step two = {"one.b", STEP_COMMIT, 1, 0};
    CHECK(tx_run(l, run_step, &two) == TX_COMMITTED);
    CHECK(two.runs == 2 && has(l, "one.b") == 1);

    /* A step that keeps losing its race is set aside and tries alone, every
     * attempt, then TX_BUSY with nothing written; its neighbours commit. */
    struct step g4[3] = {{"g4.a", STEP_COMMIT, 0, 0}, {"g4.b", STEP_RETRY, 0, 0}, {"g4.c", STEP_COMMIT, 0, 0}};
    members(m, g4, 3);
    tx_run_group(l, m, 3);
    CHECK(m[0].result == TX_COMMITTED && m[1].result == TX_BUSY && m[2].result == TX_COMMITTED);
    CHECK(g4[1].runs == 1 + OFFPAYD_TX_ATTEMPTS);
    CHECK(has(l, "g4.a") == 1 && has(l, "g4.b") == 0 && has(l, "g4.c") == 1);

    offpay_ledger_close(l);
    return 0;
}

/*
 * calls.c - server calls whose outcome is in doubt.
 *
 * A call whose answer did not come back may have happened: the server may
 * have taken the coins of an unload online, moved value into the coins of a
 * load, or paid an account.  Undoing it locally on a guess loses value or,
 * worse, makes coins spendable that the server has taken (the next offline
 * payment with them is settled as a double spend and the honest wallet is
 * revoked).  So every call that changes the ledger (a load, an unload, a
 * payment online, a loss report) is written down (table
 * `calls`) with the nonce and timestamp its request carries, in the same
 * transaction that puts its coins in doubt and before the request leaves.
 * The row stays until the outcome is known: from the answer itself, or at
 * the next sync from the server (POST /v1/outcome, docs/api.md), which also
 * burns the nonce of a request that never arrived, so that a request still
 * travelling in the network can never land after the wallet settled it.
 *
 * The call lock (flock on DIR/unload.lock) is held from writing a call down
 * to settling it, and by sync while it asks about calls in doubt, so a sync
 * never cancels a call that another process is still waiting on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/file.h>
#include <unistd.h>

#include "internal.h"
#include "offpay/text.h"

#define CALLS_MAX 64 /* calls in doubt settled by one sync (at most one per command) */
#define CALLS_ROUNDS_MAX 1000 /* reads of up to CALLS_MAX of them in one sync */

int wallet_call_lock(struct offpay_wallet *w)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/unload.lock", w->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        wallet_fail(w, OFFPAY_ERR_STORAGE, "Cannot open the wallet's call lock %s.", path);
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(fd);
            wallet_fail(w, OFFPAY_ERR_STORAGE, "Cannot take the wallet's call lock %s.", path);
            return -1;
        }
    }
    return fd;
}

enum offpay_status wallet_call_track(struct offpay_wallet *w, struct wallet_tracked_call *c)
{
    struct wallet_store_call row;
    memset(&row, 0, sizeof row);
    offpay_random(c->nonce, sizeof c->nonce);
    /* The server checks the timestamp against its own clock: real time. */
    c->ts = (uint64_t)time(NULL);
    memcpy(row.nonce, c->nonce, sizeof row.nonce);
    row.ts = c->ts;
    snprintf(row.kind, sizeof row.kind, "%s", c->kind);
    row.amount = c->amount;
    snprintf(row.counterparty, sizeof row.counterparty, "%s", c->counterparty ? c->counterparty : "");
    return wallet_store_call_insert(w->store, &row, wallet_now());
}

enum offpay_status wallet_call_untrack(struct offpay_wallet *w, const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES])
{
    return wallet_store_call_delete(w->store, nonce);
}

enum offpay_status wallet_call_track_alone(struct offpay_wallet *w, struct wallet_tracked_call *c)
{
    enum offpay_status s = wallet_store_begin(w->store);
    if (s != OFFPAY_OK)
        return s;
    if ((s = wallet_call_track(w, c)) != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        return s;
    }
    return wallet_store_commit(w->store);
}

enum offpay_status wallet_call_untrack_refused(struct offpay_wallet *w, const struct wallet_tracked_call *c,
                                               enum offpay_status call_status)
{
    char keep[OFFPAY_WALLET_ERROR_MAX];
    memcpy(keep, w->err, sizeof keep);
    enum offpay_status s = wallet_store_begin(w->store);
    if (s != OFFPAY_OK)
        return s;
    if ((s = wallet_call_untrack(w, c->nonce)) != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        return s;
    }
    if ((s = wallet_store_commit(w->store)) != OFFPAY_OK)
        return s;
    memcpy(w->err, keep, sizeof keep);
    return call_status;
}

/* ---- settling at sync ---- */

/* Ask the server what became of d.  Out: outcome ("done", "cancelled",
 * "unknown"), *answer (the stored answer of a done call, or NULL; decref). */
static enum offpay_status outcome_ask(struct offpay_wallet *w, const struct wallet_store_call *d, char outcome[16], json_t **answer)
{
    char hex[2 * OFFPAY_HTTP_NONCE_BYTES + 1];
    json_t *resp = NULL;
    enum offpay_status s;

    *answer = NULL;
    offpay_hex(hex, d->nonce, sizeof d->nonce);
    /* The path tells the server that this request kept its answer, so no
     * trace of it within that time means it never took effect. */
    const char *path = strcmp(d->kind, "load") == 0     ? "/v1/load"
                       : strcmp(d->kind, "unload") == 0 ? "/v1/unload"
                       : strcmp(d->kind, "lost") == 0   ? "/v1/wallets/lost"
                                                        : "/v1/pay-online";
    json_t *body = json_pack("{s:s, s:I, s:s}", "nonce", hex, "timestamp", (json_int_t)d->ts, "path", path);
    if (body == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory asking about a call in doubt.");
    s = wallet_call_simple(w, "POST", "/v1/outcome", body, &resp);
    json_decref(body);
    if (s != OFFPAY_OK)
        return s;
    const char *o = json_string_value(json_object_get(resp, "outcome"));
    if (o == NULL || (strcmp(o, "done") != 0 && strcmp(o, "cancelled") != 0 && strcmp(o, "unknown") != 0)) {
        json_decref(resp);
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's answer about a call in doubt is malformed.");
    }
    snprintf(outcome, 16, "%s", o);
    json_t *a = json_object_get(resp, "answer");
    if (json_is_object(a))
        *answer = json_incref(a);
    json_decref(resp);
    return OFFPAY_OK;
}

/* The coins of a done load, from its stored answer: verified, ours, and
 * adding up to what was asked.  Returns 0 and *n on success; -1 when the
 * answer does not hold them (the recovery step of this sync finds them). */
static int load_coins(struct offpay_wallet *w, const json_t *answer, uint64_t want, struct offpay_utxo *got, size_t cap,
                      size_t *n)
{
    json_t *list = json_object_get(answer, "utxos");
    uint64_t sum = 0;
    *n = 0;
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > cap)
        return -1;
    for (size_t i = 0; i < json_array_size(list); i++) {
        if (wallet_coin_decode(json_array_get(list, i), &got[i]) != 0 || wallet_utxo_check(w, &got[i]) != OFFPAY_OK ||
            got[i].amount > UINT64_MAX - sum)
            return -1;
        sum += got[i].amount;
    }
    *n = json_array_size(list);
    w->err[0] = '\0';
    return sum == want ? 0 : -1;
}

/* An unload's coins: done -> they leave the wallet; cancelled -> spendable
 * again; unknown -> no longer tied to the call, so the coin list settles
 * them (the request can no longer land: its timestamp is long past). */
static enum offpay_status settle_unload(struct offpay_wallet *w, const struct wallet_store_call *d, const char *outcome)
{
    int done = strcmp(outcome, "done") == 0, cancelled = strcmp(outcome, "cancelled") == 0;
    enum wallet_coins_fate fate = done ? WALLET_COINS_DROP_IN_DOUBT : cancelled ? WALLET_COINS_FREE : WALLET_COINS_RELEASE;
    enum offpay_status s = wallet_store_call_coins(w->store, d->nonce, fate, NULL);
    if (s != OFFPAY_OK || !(done || cancelled))
        return s;
    return done ? wallet_history_add(w, "unload", d->amount, NULL, NULL, "an unload whose answer was lost: the server did it")
                : wallet_history_add(w, "unload_undone", d->amount, NULL, NULL,
                                     "an unload whose answer was lost: the server never did it; the coins are spendable again");
}

/* A load's coins, when its stored answer holds them (coins_ok: verified). */
static enum offpay_status settle_load(struct offpay_wallet *w, const struct wallet_store_call *d, const char *outcome,
                                      const struct offpay_utxo *got, size_t n)
{
    int done = strcmp(outcome, "done") == 0, cancelled = strcmp(outcome, "cancelled") == 0;
    enum offpay_status s = n > 0 ? wallet_utxos_insert(w, got, n, NULL) : OFFPAY_OK;
    if (s != OFFPAY_OK || !(done || cancelled))
        return s;
    return wallet_history_add(w, done ? "load" : "load_cancelled", d->amount, NULL, NULL,
                              done ? "a load whose answer was lost: the server did it"
                                   : "a load whose answer was lost: the server never did it");
}

static enum offpay_status settle_pay_online(struct offpay_wallet *w, const struct wallet_store_call *d,
                                            const char *outcome)
{
    int done = strcmp(outcome, "done") == 0, cancelled = strcmp(outcome, "cancelled") == 0;
    return wallet_history_add(w, done ? "pay_online" : cancelled ? "pay_online_cancelled" : "pay_online_unknown",
                              d->amount, d->counterparty, NULL,
                              done        ? "a payment whose answer was lost: the server made it"
                              : cancelled ? "a payment whose answer was lost: the server never made it"
                                          : "a payment whose answer was lost long ago: see the online balance");
}

/* A loss report (lost.c): only history to write; the server did or did not revoke. */
static enum offpay_status settle_lost(struct offpay_wallet *w, const struct wallet_store_call *d, const char *outcome)
{
    char detail[160];
    int done = strcmp(outcome, "done") == 0, cancelled = strcmp(outcome, "cancelled") == 0;
    snprintf(detail, sizeof detail, "a report of wallet %s whose answer was lost: %s", d->counterparty,
             done ? "the server made it" : cancelled ? "the server never got it; report again" : "too old to tell");
    return wallet_history_add(w, done ? "lost_report" : cancelled ? "lost_report_cancelled" : "lost_report_unknown", 0,
                              NULL, NULL, detail);
}

/* Settle d as the server says, in one transaction that also forgets it. */
static enum offpay_status settle_one(struct offpay_wallet *w, const struct wallet_store_call *d, const char *outcome,
                                     const json_t *answer)
{
    struct offpay_utxo got[WALLET_COINS_MAX];
    size_t n = 0;
    enum offpay_status s;

    /* Verify before the transaction: signatures are no business of the lock.
     * A done load whose answer does not hold its coins gets them by recovery. */
    if (strcmp(d->kind, "load") == 0 && strcmp(outcome, "done") == 0 &&
        load_coins(w, answer, d->amount, got, sizeof got / sizeof got[0], &n) != 0) {
        n = 0;
        w->err[0] = '\0';
    }
    if ((s = wallet_store_begin(w->store)) != OFFPAY_OK)
        return s;
    if (strcmp(d->kind, "unload") == 0)
        s = settle_unload(w, d, outcome);
    else if (strcmp(d->kind, "load") == 0)
        s = settle_load(w, d, outcome, got, n);
    else if (strcmp(d->kind, "lost") == 0)
        s = settle_lost(w, d, outcome);
    else
        s = settle_pay_online(w, d, outcome);
    if (s == OFFPAY_OK)
        s = wallet_call_untrack(w, d->nonce);
    if (s != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        return s;
    }
    return wallet_store_commit(w->store);
}

enum offpay_status wallet_calls_settle(struct offpay_wallet *w, struct offpay_sync_report *rep)
{
    struct wallet_store_call *d = calloc(CALLS_MAX, sizeof *d);
    size_t n = 0;
    enum offpay_status s;

    if (d == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading the calls in doubt.");
    /* A call settled leaves the table, so each round reads new ones; the
     * rounds are bounded by the table, which only commands fill. */
    for (int round = 0; round < CALLS_ROUNDS_MAX; round++) {
        if ((s = wallet_store_calls_get(w->store, d, CALLS_MAX, &n)) != OFFPAY_OK || n == 0)
            break;
        struct offpay_call_outcome *grown = realloc(rep->calls, (rep->n_calls + n) * sizeof *rep->calls);
        if (grown == NULL) {
            s = wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading the calls in doubt.");
            break;
        }
        rep->calls = grown;
        for (size_t i = 0; i < n && s == OFFPAY_OK; i++) {
            char outcome[16];
            json_t *answer = NULL;
            if ((s = outcome_ask(w, &d[i], outcome, &answer)) != OFFPAY_OK)
                break;
            s = settle_one(w, &d[i], outcome, answer);
            json_decref(answer);
            if (s != OFFPAY_OK)
                break;
            struct offpay_call_outcome *o = &rep->calls[rep->n_calls++];
            memset(o, 0, sizeof *o);
            snprintf(o->kind, sizeof o->kind, "%s", d[i].kind);
            snprintf(o->outcome, sizeof o->outcome, "%s", outcome);
            snprintf(o->counterparty, sizeof o->counterparty, "%s", d[i].counterparty);
            o->amount = d[i].amount;
        }
        if (s != OFFPAY_OK || n < CALLS_MAX)
            break;
    }
    free(d);
    return s;
}

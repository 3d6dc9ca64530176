/*
 * unload.c - offpay unload: offline coins -> the online balance.
 *
 * The coins are picked and put in doubt under the call, and the call is
 * written down, in one transaction before the request leaves, so no payment
 * can take one between the pick and the mark and a crash leaves them in
 * doubt, never spendable.  The answer settles them: a 2xx means the server
 * took them (whatever else it says), a refusal or a request that never left
 * makes them spendable again, and a lost answer leaves them in doubt for the
 * next sync (docs/wallet.md "Calls in doubt").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct unload_pick {
    uint8_t ids[WALLET_COINS_MAX][OFFPAY_UTXO_ID_BYTES];
    size_t n;
    uint64_t sum;
    const char *not_spendable; /* set when a coin asked for by id is not spendable */
    int overflow;
};

static int pick_coin(void *ctx, const struct offpay_wallet_utxo *c)
{
    struct unload_pick *p = ctx;
    if (c->state != OFFPAY_UTXO_SPENDABLE)
        return 0;
    if (c->amount > UINT64_MAX - p->sum)
        return p->overflow = 1;
    memcpy(p->ids[p->n++], c->id, OFFPAY_UTXO_ID_BYTES);
    p->sum += c->amount;
    return p->n == WALLET_COINS_MAX; /* the smallest ones, as many as one call takes */
}

/* The coins to unload: the one with that id, or (id NULL) up to
 * WALLET_COINS_MAX spendable ones.  Inside the transaction that marks them. */
static enum offpay_status unload_pick(struct offpay_wallet *w, const uint8_t *id, struct unload_pick *p)
{
    struct offpay_wallet_utxo c;
    int found = 0;
    enum offpay_status s;
    if (id == NULL) {
        if ((s = wallet_store_coins_each(w->store, pick_coin, p)) != OFFPAY_OK)
            return s;
        if (p->overflow)
            return wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet holds a damaged coin.");
        if (p->n == 0)
            return wallet_fail(w, OFFPAY_ERR_INSUFFICIENT_FUNDS, "There are no spendable offline coins to unload.");
        return OFFPAY_OK;
    }
    if ((s = wallet_store_coin_get(w->store, id, &c, &found)) != OFFPAY_OK)
        return s;
    if (!found)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "This wallet holds no coin with that id.");
    if (c.state != OFFPAY_UTXO_SPENDABLE)
        return wallet_fail(w, OFFPAY_ERR_FUNDS_LOCKED,
                           "That coin is %s and cannot be unloaded until its payment or call is synced.",
                           c.state == OFFPAY_UTXO_LOCKED ? "locked change" : "in doubt");
    memcpy(p->ids[0], c.id, OFFPAY_UTXO_ID_BYTES);
    p->n = 1;
    p->sum = c.amount;
    return OFFPAY_OK;
}

/* One transaction: pick the coins, put them in doubt under the call c, and write c down. */
static enum offpay_status unload_begin(struct offpay_wallet *w, const uint8_t *id, struct unload_pick *p,
                                       struct wallet_tracked_call *c)
{
    enum offpay_status s = wallet_store_begin(w->store);
    if (s != OFFPAY_OK)
        return s;
    if ((s = unload_pick(w, id, p)) == OFFPAY_OK) {
        c->amount = p->sum;
        s = wallet_call_track(w, c);
    }
    for (size_t i = 0; i < p->n && s == OFFPAY_OK; i++) {
        int changed = 0;
        s = wallet_store_coin_doubt_call(w->store, p->ids[i], c->nonce, &changed);
        if (s == OFFPAY_OK && !changed)
            s = wallet_fail(w, OFFPAY_ERR_STORAGE, "A coin to unload is not spendable after all.");
    }
    if (s != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        return s;
    }
    return wallet_store_commit(w->store);
}

/* The unload's answer arrived: settle its coins as the server did. */
static enum offpay_status unload_end(struct offpay_wallet *w, const struct wallet_tracked_call *c, int done)
{
    enum offpay_status s = wallet_store_begin(w->store);
    if (s != OFFPAY_OK)
        return s;
    s = wallet_store_call_coins(w->store, c->nonce, done ? WALLET_COINS_DROP_IN_DOUBT : WALLET_COINS_FREE, NULL);
    if (s == OFFPAY_OK && done)
        s = wallet_history_add(w, "unload", c->amount, NULL, NULL, "coins back to the online balance");
    if (s == OFFPAY_OK)
        s = wallet_call_untrack(w, c->nonce);
    if (s != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        return s;
    }
    return wallet_store_commit(w->store);
}

static json_t *unload_body(const struct unload_pick *p)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < p->n; i++) {
        char hex[2 * OFFPAY_UTXO_ID_BYTES + 1];
        offpay_hex(hex, p->ids[i], OFFPAY_UTXO_ID_BYTES);
        json_array_append_new(arr, json_string(hex));
    }
    return arr ? json_pack("{s:o}", "utxos", arr) : NULL;
}

static enum offpay_status unload_locked(struct offpay_wallet *w, uint64_t *online, uint64_t *unloaded,
                                        const uint8_t *id)
{
    struct unload_pick *p = calloc(1, sizeof *p);
    struct wallet_tracked_call c = {.kind = "unload"};
    json_t *body = NULL, *resp = NULL;
    enum offpay_status s;

    if (p == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the unload.");
    if ((s = unload_begin(w, id, p, &c)) != OFFPAY_OK) {
        free(p);
        return s;
    }
    /* Out of memory before the call: it never left. */
    s = (body = unload_body(p)) != NULL ? wallet_call(w, "POST", "/v1/unload", body, 1, c.nonce, c.ts, &resp)
                                        : wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the unload.");
    if (s != OFFPAY_OK && s != OFFPAY_ERR_OUTCOME_UNKNOWN) {
        /* A refusal, or a request that never left: the server did nothing. */
        char keep[OFFPAY_WALLET_ERROR_MAX];
        memcpy(keep, w->err, sizeof keep);
        if (unload_end(w, &c, 0) == OFFPAY_OK)
            memcpy(w->err, keep, sizeof keep);
    } else if (s == OFFPAY_OK) {
        /* A 2xx: the server took the coins, whatever else its answer says. */
        if (wallet_field_u64(w, resp, "online", online) != OFFPAY_OK)
            *online = 0;
        if ((s = unload_end(w, &c, 1)) == OFFPAY_OK)
            *unloaded = p->sum;
    } /* else the answer was lost: the coins stay in doubt; sync settles them */
    free(p);
    json_decref(body);
    json_decref(resp);
    return s;
}

enum offpay_status offpay_wallet_unload(struct offpay_wallet *w, uint64_t *online, uint64_t *unloaded, const uint8_t *id)
{
    w->err[0] = '\0';
    *online = *unloaded = 0;
    int fd = wallet_call_lock(w);
    if (fd < 0)
        return OFFPAY_ERR_STORAGE;
    enum offpay_status s = unload_locked(w, online, unloaded, id);
    close(fd);
    return s;
}

enum offpay_status offpay_wallet_unload_all(struct offpay_wallet *w, uint64_t *online, uint64_t *unloaded)
{
    enum offpay_status s;
    uint64_t now_online = 0, moved = 0;
    int rounds = 0;
    *online = 0;
    *unloaded = 0;
    do {
        /* The round that finds nothing left says nothing of the balance. */
        s = offpay_wallet_unload(w, &now_online, &moved, NULL);
        if (s == OFFPAY_OK) {
            *online = now_online;
            *unloaded = moved > UINT64_MAX - *unloaded ? UINT64_MAX : *unloaded + moved;
        }
    } while (s == OFFPAY_OK && ++rounds < 100000);
    return s == OFFPAY_ERR_INSUFFICIENT_FUNDS && rounds > 0 ? OFFPAY_OK : s;
}

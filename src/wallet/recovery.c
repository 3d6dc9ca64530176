/*
 * recovery.c - the last step of sync (docs/wallet.md "Sync" 4): take every
 * coin the server holds for our key that this wallet has never seen, and
 * settle the coins an interrupted unload left in doubt.
 *
 * Such a coin exists when a load's answer was lost (the wallet crashed
 * before storing it) or when a payment to us was settled by its payer while
 * its record never reached us (SPEC rule 8).  A coin id the wallet knows
 * keeps its state whatever the server says - above all an in_doubt input,
 * which an honest wallet must never spend twice - and so does one we spent
 * in an outgoing record.  The whole list is verified first; the coins are
 * added in one transaction.
 *
 * The whole recovery holds the call lock, from fetching the server's list
 * to the last write.  A list fetched before an unload of another process
 * reached the server still shows that unload's coin as unspent; acting on
 * it after that unload was cut off (coin in doubt) or finished (coin gone)
 * would make the coin spendable again while the server has taken it online,
 * and the wallet's next offline payment with it would be a double spend.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define RECOVER_PAGE_MAX OFFPAY_API_UTXOS_MAX /* coins in one /v1/utxos answer */
#define RECOVER_PAGES 1000                    /* pages read in one sync (ten million coins) */

/* The server's list of our coins, as far as it was read. */
struct coin_pages {
    uint8_t (*listed)[OFFPAY_UTXO_ID_BYTES]; /* every id listed, ascending */
    size_t n_listed;
    struct offpay_utxo *got; /* listed, unknown to the wallet, verified */
    size_t n_got;
    int complete; /* the server said there is no more */
};

/* The order of coin ids (bsearch). */
static int cmp_id(const void *a, const void *b) { return memcmp(a, b, OFFPAY_UTXO_ID_BYTES); }

static enum offpay_status malformed(struct offpay_wallet *w, const char *what)
{
    return wallet_fail(w, OFFPAY_ERR_REJECTED, "%s; nothing was recovered.", what);
}

/* One coin of a page: ascending after the last one listed (a server that
 * repeats itself cannot keep us paging), and verified unless we know it. */
static enum offpay_status page_coin(struct offpay_wallet *w, struct coin_pages *c, const json_t *text)
{
    struct offpay_utxo *u = &c->got[c->n_got];
    int known = 0;
    enum offpay_status s;
    if (wallet_coin_decode(text, u) != 0)
        return malformed(w, "The server listed a malformed coin");
    if (c->n_listed > 0 && memcmp(u->id, c->listed[c->n_listed - 1], OFFPAY_UTXO_ID_BYTES) <= 0)
        return malformed(w, "The server listed our coins out of order");
    memcpy(c->listed[c->n_listed++], u->id, OFFPAY_UTXO_ID_BYTES);
    /* Most listed coins are ones we hold: skip them before the costly
     * signature check (the insert skips them again, in its transaction). */
    if ((s = wallet_store_coin_known(w->store, u->id, &known)) != OFFPAY_OK || known)
        return s;
    if ((s = wallet_utxo_check(w, u)) != OFFPAY_OK)
        return s;
    c->n_got++;
    return OFFPAY_OK;
}

/* Read the next page: GET /v1/utxos, after the last id listed. */
static enum offpay_status page_read(struct offpay_wallet *w, struct coin_pages *c)
{
    char path[32 + 2 * OFFPAY_UTXO_ID_BYTES], hex[2 * OFFPAY_UTXO_ID_BYTES + 1];
    json_t *resp = NULL;
    hex[0] = '\0';
    if (c->n_listed > 0)
        offpay_hex(hex, c->listed[c->n_listed - 1], OFFPAY_UTXO_ID_BYTES);
    snprintf(path, sizeof path, "/v1/utxos%s%s", hex[0] ? "?after=" : "", hex);
    enum offpay_status s = wallet_call_simple(w, "GET", path, NULL, &resp);
    if (s != OFFPAY_OK)
        return s;
    json_t *list = json_object_get(resp, "utxos"), *more = json_object_get(resp, "more");
    size_t k = json_array_size(list);
    if (!json_is_array(list) || k > RECOVER_PAGE_MAX || !json_is_boolean(more) || (json_is_true(more) && k == 0)) {
        json_decref(resp);
        return malformed(w, "The server's list of our coins is malformed");
    }
    c->complete = !json_is_true(more);
    struct offpay_utxo *g = realloc(c->got, (c->n_got + k + 1) * sizeof *g);
    if (g != NULL)
        c->got = g;
    uint8_t(*ls)[OFFPAY_UTXO_ID_BYTES] = g ? realloc(c->listed, (c->n_listed + k + 1) * sizeof *ls) : NULL;
    if (ls != NULL)
        c->listed = ls;
    s = g && ls ? OFFPAY_OK : wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading the server's list of our coins.");
    for (size_t i = 0; i < k && s == OFFPAY_OK; i++)
        s = page_coin(w, c, json_array_get(list, i));
    json_decref(resp);
    return s;
}

/* The coins an unload cut off left in doubt (no record spends them, no call holds them). */
struct orphans {
    uint8_t (*ids)[OFFPAY_UTXO_ID_BYTES];
    uint64_t *amounts;
    size_t n, cap;
    int nomem;
};

static int orphan_add(void *ctx, const struct offpay_wallet_utxo *c)
{
    struct orphans *o = ctx;
    if (o->n == o->cap) {
        size_t ncap = o->cap ? 2 * o->cap : 16;
        uint8_t(*ni)[OFFPAY_UTXO_ID_BYTES] = realloc(o->ids, ncap * sizeof *ni);
        if (ni)
            o->ids = ni;
        uint64_t *na = ni ? realloc(o->amounts, ncap * sizeof *na) : NULL;
        if (na)
            o->amounts = na;
        if (ni == NULL || na == NULL)
            return o->nomem = 1;
        o->cap = ncap;
    }
    memcpy(o->ids[o->n], c->id, OFFPAY_UTXO_ID_BYTES);
    o->amounts[o->n++] = c->amount;
    return 0;
}

/* A history line for n coins of amount an interrupted unload left. */
static enum offpay_status orphans_history(struct offpay_wallet *w, const char *kind, size_t n, uint64_t amount)
{
    char detail[160];
    if (n == 0)
        return OFFPAY_OK;
    if (strcmp(kind, "unload_undone") == 0)
        snprintf(detail, sizeof detail, "%zu coin%s of an interrupted unload spendable again (the server never took %s)",
                 n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
    else
        snprintf(detail, sizeof detail, "%zu coin%s of an interrupted unload: the server had taken %s back online", n,
                 n == 1 ? "" : "s", n == 1 ? "it" : "them");
    return wallet_history_add(w, kind, amount, NULL, NULL, detail);
}

/*
 * The server's complete list (listed, sorted) settles each coin an unload
 * left in doubt: still unspent there -> the unload never happened, the coin
 * is spendable again; gone -> the server took it into the online balance,
 * the coin leaves the wallet.  In one transaction.
 */
static enum offpay_status settle_cut_unloads(struct offpay_wallet *w, const struct coin_pages *c,
                                             struct offpay_sync_report *rep)
{
    struct orphans o = {0};
    uint64_t back = 0, gone = 0;
    size_t n_back = 0, n_gone = 0;
    enum offpay_status s = wallet_store_begin(w->store);
    if (s != OFFPAY_OK)
        return s;
    s = wallet_store_orphan_coins_each(w->store, orphan_add, &o);
    if (s == OFFPAY_OK && o.nomem)
        s = wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading the coins in doubt.");
    for (size_t i = 0; i < o.n && s == OFFPAY_OK; i++) {
        int still = c->n_listed > 0 && bsearch(o.ids[i], c->listed, c->n_listed, OFFPAY_UTXO_ID_BYTES, cmp_id) != NULL;
        s = wallet_store_orphan_coin(w->store, o.ids[i], still ? WALLET_COINS_FREE : WALLET_COINS_DROP_IN_DOUBT, NULL);
        *(still ? &back : &gone) += o.amounts[i];
        *(still ? &n_back : &n_gone) += 1;
    }
    if (s == OFFPAY_OK && (s = orphans_history(w, "unload_undone", n_back, back)) == OFFPAY_OK &&
        (s = orphans_history(w, "unload", n_gone, gone)) == OFFPAY_OK)
        s = wallet_store_commit(w->store);
    else
        wallet_store_rollback(w->store);
    free(o.ids);
    free(o.amounts);
    if (s == OFFPAY_OK) {
        rep->unload_undone = back;
        rep->unload_completed = gone;
    }
    return s;
}

/* Add the coins the wallet never saw, in one transaction, with one history line. */
static enum offpay_status recover_insert(struct offpay_wallet *w, const struct coin_pages *c,
                                         struct offpay_sync_report *rep)
{
    uint64_t sum = 0, now = wallet_now();
    char detail[160];
    if ((rep->recovered = calloc(c->n_got, sizeof *rep->recovered)) == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading the server's list of our coins.");
    enum offpay_status s = wallet_store_begin(w->store);
    for (size_t i = 0; i < c->n_got && s == OFFPAY_OK; i++) {
        int added = 0;
        /* A known id is left as it is: never a state change for a coin we hold. */
        if ((s = wallet_store_coin_add(w->store, &c->got[i], WALLET_COIN_ADD_NEW_ONLY, now, &added)) != OFFPAY_OK ||
            !added)
            continue;
        if (c->got[i].amount > UINT64_MAX - sum) {
            s = wallet_fail(w, OFFPAY_ERR_AMOUNT_OVERFLOW, "The recovered coins add up to too much.");
            break;
        }
        sum += c->got[i].amount;
        struct offpay_wallet_utxo *o = &rep->recovered[rep->n_recovered++];
        memcpy(o->id, c->got[i].id, OFFPAY_UTXO_ID_BYTES);
        o->amount = c->got[i].amount;
        o->state = OFFPAY_UTXO_SPENDABLE;
    }
    snprintf(detail, sizeof detail,
             "%zu coin%s the server held for this wallet (a payment settled by its payer, or an interrupted load)",
             rep->n_recovered, rep->n_recovered == 1 ? "" : "s");
    if (s == OFFPAY_OK && rep->n_recovered > 0)
        s = wallet_history_add(w, "recovered", sum, NULL, NULL, detail);
    if (s == OFFPAY_OK && (s = wallet_store_commit(w->store)) == OFFPAY_OK)
        rep->recovered_sum = sum;
    else
        wallet_store_rollback(w->store);
    return s;
}

static enum offpay_status recover_locked(struct offpay_wallet *w, struct offpay_sync_report *rep)
{
    struct coin_pages c = {0};
    enum offpay_status s = OFFPAY_OK;
    /* Pages of at most RECOVER_PAGE_MAX coins by ascending id; each page after
     * the first continues after the last id seen. */
    for (int page = 0; page < RECOVER_PAGES && !c.complete && s == OFFPAY_OK; page++)
        s = page_read(w, &c);
    /* Only a complete list tells which coins the server no longer holds. */
    if (s == OFFPAY_OK && c.complete)
        s = settle_cut_unloads(w, &c, rep);
    if (s == OFFPAY_OK && c.n_got > 0)
        s = recover_insert(w, &c, rep);
    if (s != OFFPAY_OK)
        rep->n_recovered = 0;
    free(c.got);
    free(c.listed);
    return s;
}

enum offpay_status wallet_recover(struct offpay_wallet *w, struct offpay_sync_report *rep)
{
    int fd = wallet_call_lock(w);
    if (fd < 0)
        return OFFPAY_ERR_STORAGE;
    enum offpay_status s = recover_locked(w, rep);
    close(fd);
    return s;
}

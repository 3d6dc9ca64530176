/*
 * wallet.c - what the wallet knows and shows: balances, coins, limits and
 * their use, the owner's limits, and history.  Read-only except limits_set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *offpay_utxo_state_name(enum offpay_utxo_state s)
{
    switch (s) {
    case OFFPAY_UTXO_SPENDABLE: return "spendable";
    case OFFPAY_UTXO_LOCKED: return "locked";
    case OFFPAY_UTXO_IN_DOUBT: return "in_doubt";
    }
    return "unknown";
}

/* A growing array of elements of size elem holding n: list itself when
 * there is room for one more, else the grown list (*cap updated), NULL when
 * out of memory (list is then still valid). */
static void *grow(void *list, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return list;
    size_t ncap = *cap ? *cap * 2 : first;
    void *nl = realloc(list, ncap * elem);
    if (nl != NULL)
        *cap = ncap;
    return nl;
}

/* ---- balance ---- */

/* The coins as balance sees them: totals by state, and the list if wanted. */
struct coin_tally {
    struct offpay_wallet_balance *b;
    struct offpay_wallet_utxo *list;
    size_t n, cap;
    int want_list, overflow, nomem;
};

static int tally_coin(void *ctx, const struct offpay_wallet_utxo *c)
{
    struct coin_tally *t = ctx;
    uint64_t *sum = c->state == OFFPAY_UTXO_LOCKED     ? &t->b->locked
                    : c->state == OFFPAY_UTXO_IN_DOUBT ? &t->b->in_doubt
                                                       : &t->b->spendable;
    if (c->amount > UINT64_MAX - *sum)
        return t->overflow = 1;
    *sum += c->amount;
    if (!t->want_list)
        return 0;
    struct offpay_wallet_utxo *nl = grow(t->list, &t->cap, t->n, sizeof *t->list, 16);
    if (nl == NULL)
        return t->nomem = 1;
    t->list = nl;
    t->list[t->n++] = *c;
    return 0;
}

struct coin_match {
    struct offpay_wallet_utxo *out;
    size_t max, n;
};

static int match_coin(void *ctx, const struct offpay_wallet_utxo *c)
{
    struct coin_match *m = ctx;
    if (m->n < m->max)
        m->out[m->n] = *c;
    m->n++;
    return 0;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

enum offpay_status offpay_wallet_find_coins(struct offpay_wallet *w, const char *prefix, struct offpay_wallet_utxo *out,
                                            size_t max, size_t *n)
{
    uint8_t bytes[OFFPAY_UTXO_ID_BYTES] = {0};
    size_t len = prefix ? strlen(prefix) : 0;
    struct coin_match m = {out, max, 0};

    *n = 0;
    if (len < OFFPAY_WALLET_ID_PREFIX_MIN || len > 2 * OFFPAY_UTXO_ID_BYTES)
        return wallet_fail(w, OFFPAY_ERR_MALFORMED, "A coin id is %d to %d hex digits of it.",
                           OFFPAY_WALLET_ID_PREFIX_MIN, 2 * OFFPAY_UTXO_ID_BYTES);
    for (size_t i = 0; i < len; i++) {
        int d = hex_digit(prefix[i]);
        if (d < 0)
            return wallet_fail(w, OFFPAY_ERR_MALFORMED, "A coin id is hex digits only.");
        bytes[i / 2] |= (uint8_t)(i % 2 ? d : d << 4);
    }
    enum offpay_status s = wallet_store_begin_read(w->store);
    if (s != OFFPAY_OK)
        return s;
    s = wallet_store_coins_with_prefix(w->store, bytes, len, match_coin, &m);
    wallet_store_end_read(w->store);
    if (s == OFFPAY_OK)
        *n = m.n;
    return s;
}

enum offpay_status offpay_wallet_coin_resolve(struct offpay_wallet *w, const char *prefix,
                                              uint8_t id[OFFPAY_UTXO_ID_BYTES])
{
    struct offpay_wallet_utxo m[5];
    size_t n = 0;
    enum offpay_status s = offpay_wallet_find_coins(w, prefix, m, sizeof m / sizeof m[0], &n);
    if (s != OFFPAY_OK)
        return s;
    if (n == 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "This wallet holds no coin whose id begins with %s.", prefix);
    if (n == 1) {
        memcpy(id, m[0].id, OFFPAY_UTXO_ID_BYTES);
        return OFFPAY_OK;
    }
    char list[5 * (2 * OFFPAY_UTXO_ID_BYTES + 2) + 16] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && i < sizeof m / sizeof m[0] && used < sizeof list; i++) {
        char hex[2 * OFFPAY_UTXO_ID_BYTES + 1];
        offpay_hex(hex, m[i].id, OFFPAY_UTXO_ID_BYTES);
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", hex);
    }
    if (n > sizeof m / sizeof m[0] && used < sizeof list)
        snprintf(list + used, sizeof list - used, ", ...");
    return wallet_fail(w, OFFPAY_ERR_USAGE, "%s begins %zu coin ids: %s; give more digits.", prefix, n, list);
}

enum offpay_status offpay_wallet_balance(struct offpay_wallet *w, struct offpay_wallet_balance *b,
                                         struct offpay_wallet_utxo **utxos, size_t *n_utxos)
{
    struct coin_tally t = {.b = b, .want_list = utxos != NULL};
    memset(b, 0, sizeof *b);
    if (utxos) {
        *utxos = NULL;
        *n_utxos = 0;
    }
    /* One read transaction, so the totals and the list agree. */
    enum offpay_status s = wallet_store_begin_read(w->store);
    if (s != OFFPAY_OK)
        return s;
    s = wallet_store_coins_each(w->store, tally_coin, &t);
    if (s == OFFPAY_OK && t.overflow)
        s = wallet_fail(w, OFFPAY_ERR_AMOUNT_OVERFLOW, "The wallet's coins add up to more than can be represented.");
    if (s == OFFPAY_OK && t.nomem)
        s = wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory listing coins.");
    if (s == OFFPAY_OK)
        s = wallet_store_pending_totals(w->store, &b->pending_outgoing, &b->pending_incoming, &b->incoming_unsynced);
    wallet_store_end_read(w->store);
    if (s != OFFPAY_OK) {
        free(t.list);
        memset(b, 0, sizeof *b);
        return s;
    }
    if (utxos) {
        *utxos = t.list;
        *n_utxos = t.n;
    }
    return OFFPAY_OK;
}

/* ---- limits ---- */

/* Sum the coins the wallet holds, in any state (amounts fit: the store's
 * integers are below 2^63 each and a wallet holds few). */
static int add_held(void *ctx, const struct offpay_wallet_utxo *c)
{
    uint64_t *sum = ctx;
    *sum = c->amount > UINT64_MAX - *sum ? UINT64_MAX : *sum + c->amount;
    return 0;
}

enum offpay_status wallet_limits_read(struct offpay_wallet *w, struct offpay_wallet_limits *l)
{
    struct offpay_limits_policy p;
    uint8_t buf[OFFPAY_LIMITS_BYTES];
    size_t len = 0;
    memset(l, 0, sizeof *l);
    enum offpay_status s = wallet_store_limits_get(w->store, buf, sizeof buf, &len, &l->owner);
    if (s != OFFPAY_OK)
        return s;
    if (offpay_limits_policy_decode(&p, buf, len) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet's limits are missing or damaged.");
    l->server = p.limits;
    offpay_limits_effective(&l->effective, &l->server, &l->owner);
    l->period_start = offpay_limits_period_start(wallet_now(), l->effective.period);
    if ((s = wallet_store_limits_usage(w->store, l->period_start, &l->unsynced_total, &l->count_in_period)) != OFFPAY_OK ||
        (s = wallet_store_synced_get(w->store, &l->synced_at)) != OFFPAY_OK)
        return s;
    return wallet_store_coins_each(w->store, add_held, &l->held);
}

enum offpay_status offpay_wallet_limits(struct offpay_wallet *w, struct offpay_wallet_limits *l)
{
    enum offpay_status s = wallet_store_begin_read(w->store);
    if (s != OFFPAY_OK)
        return s;
    s = wallet_limits_read(w, l);
    wallet_store_end_read(w->store);
    return s;
}

enum offpay_status offpay_wallet_money(struct offpay_wallet *w, struct offpay_money *m)
{
    struct offpay_limits_policy p;
    struct offpay_limits owner;
    uint8_t buf[OFFPAY_LIMITS_BYTES];
    size_t len = 0;
    offpay_money_default(m);
    enum offpay_status s = wallet_store_begin_read(w->store);
    if (s != OFFPAY_OK)
        return s;
    s = wallet_store_limits_get(w->store, buf, sizeof buf, &len, &owner);
    wallet_store_end_read(w->store);
    if (s != OFFPAY_OK)
        return s;
    if (offpay_limits_policy_decode(&p, buf, len) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet's limits are missing or damaged.");
    offpay_limits_policy_money(&p, m);
    return OFFPAY_OK;
}

/* Owners may only tighten what the server allows (claim 4). */
static enum offpay_status owner_limits_check(struct offpay_wallet *w, const struct offpay_limits *owner,
                                             const struct offpay_limits *server)
{
    if (owner->per_payment > server->per_payment)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "A per-payment limit of %llu would be looser than the server's %llu; owner limits can only be stricter.",
                           (unsigned long long)owner->per_payment, (unsigned long long)server->per_payment);
    if (owner->offline_total > server->offline_total)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "An offline-total limit of %llu would be looser than the server's %llu; owner limits can only be stricter.",
                           (unsigned long long)owner->offline_total, (unsigned long long)server->offline_total);
    if (owner->count > server->count)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "A count limit of %u would be looser than the server's %u; owner limits can only be stricter.",
                           owner->count, server->count);
    if (owner->period != 0 && owner->period < server->period)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "A period of %u seconds would be looser than the server's %u; owner limits can only be stricter.",
                           owner->period, server->period);
    if (owner->holding != 0 && server->holding != 0 && owner->holding > server->holding)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "A holding limit of %llu would be looser than the server's %llu; owner limits can only be stricter.",
                           (unsigned long long)owner->holding, (unsigned long long)server->holding);
    if (owner->offline_time != 0 && server->offline_time != 0 && owner->offline_time > server->offline_time)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "An offline time limit of %u seconds would be looser than the server's %u; owner limits can only be stricter.",
                           owner->offline_time, server->offline_time);
    if (owner->per_payment > WALLET_AMOUNT_MAX || owner->offline_total > WALLET_AMOUNT_MAX || owner->holding > WALLET_AMOUNT_MAX)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "That limit is too large.");
    return OFFPAY_OK;
}

enum offpay_status offpay_wallet_limits_set(struct offpay_wallet *w, const struct offpay_limits *owner)
{
    struct offpay_wallet_limits cur;
    enum offpay_status s = wallet_store_begin(w->store);
    if (s != OFFPAY_OK)
        return s;
    if ((s = wallet_limits_read(w, &cur)) != OFFPAY_OK || (s = owner_limits_check(w, owner, &cur.server)) != OFFPAY_OK ||
        (s = wallet_store_owner_limits_set(w->store, owner)) != OFFPAY_OK ||
        (s = wallet_history_add(w, "limits", 0, NULL, NULL, "owner limits set")) != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        return s;
    }
    return wallet_store_commit(w->store);
}

enum offpay_status offpay_wallet_limits_unset(struct offpay_wallet *w, const struct offpay_limits *which)
{
    enum offpay_status s = wallet_store_begin(w->store);
    if (s != OFFPAY_OK)
        return s;
    if ((s = wallet_store_owner_limits_unset(w->store, which)) != OFFPAY_OK ||
        (s = wallet_history_add(w, "limits", 0, NULL, NULL, "owner limits lifted")) != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        return s;
    }
    return wallet_store_commit(w->store);
}

/* ---- history ---- */

struct event_list {
    struct offpay_wallet_event *list;
    size_t n, cap;
    int nomem;
};

static int add_event(void *ctx, const struct offpay_wallet_event *e)
{
    struct event_list *l = ctx;
    struct offpay_wallet_event *nl = grow(l->list, &l->cap, l->n, sizeof *l->list, 32);
    if (nl == NULL)
        return l->nomem = 1;
    l->list = nl;
    l->list[l->n++] = *e;
    return 0;
}

enum offpay_status offpay_wallet_history(struct offpay_wallet *w, struct offpay_wallet_event **events, size_t *n_out)
{
    struct event_list l = {0};
    *events = NULL;
    *n_out = 0;
    enum offpay_status s = wallet_store_history_each(w->store, add_event, &l);
    if (s == OFFPAY_OK && l.nomem)
        s = wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading history.");
    if (s != OFFPAY_OK) {
        free(l.list);
        return s;
    }
    *events = l.list;
    *n_out = l.n;
    return OFFPAY_OK;
}

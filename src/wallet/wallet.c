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

static enum offpay_utxo_state state_parse(const unsigned char *s)
{
    if (s && strcmp((const char *)s, "locked") == 0)
        return OFFPAY_UTXO_LOCKED;
    if (s && strcmp((const char *)s, "in_doubt") == 0)
        return OFFPAY_UTXO_IN_DOUBT;
    return OFFPAY_UTXO_SPENDABLE;
}

static int add_checked(uint64_t *sum, uint64_t v)
{
    if (v > UINT64_MAX - *sum)
        return -1;
    *sum += v;
    return 0;
}

enum offpay_status offpay_wallet_balance(struct offpay_wallet *w, struct offpay_wallet_balance *b,
                                         struct offpay_wallet_utxo **utxos, size_t *n_utxos)
{
    enum offpay_status s = OFFPAY_OK;
    struct offpay_wallet_utxo *list = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = NULL;

    memset(b, 0, sizeof *b);
    if (utxos) {
        *utxos = NULL;
        *n_utxos = 0;
    }
    /* One read transaction, so the totals and the list agree. */
    if (sqlite3_exec(w->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return wallet_db_fail(w, "be read");
    st = wallet_prepare(w, "SELECT id, amount, state FROM utxos ORDER BY amount, id");
    if (st == NULL) {
        s = OFFPAY_ERR_STORAGE;
        goto done;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t amount = (uint64_t)sqlite3_column_int64(st, 1);
        enum offpay_utxo_state state = state_parse(sqlite3_column_text(st, 2));
        uint64_t *sum = state == OFFPAY_UTXO_LOCKED ? &b->locked : state == OFFPAY_UTXO_IN_DOUBT ? &b->in_doubt : &b->spendable;
        if (add_checked(sum, amount) != 0) {
            s = wallet_fail(w, OFFPAY_ERR_AMOUNT_OVERFLOW, "The wallet's coins add up to more than can be represented.");
            goto done;
        }
        if (utxos == NULL)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct offpay_wallet_utxo *nl = realloc(list, ncap * sizeof *nl);
            if (nl == NULL) {
                s = wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory listing coins.");
                goto done;
            }
            list = nl;
            cap = ncap;
        }
        if (sqlite3_column_bytes(st, 0) != OFFPAY_UTXO_ID_BYTES) {
            s = wallet_fail(w, OFFPAY_ERR_STORAGE, "A stored coin is damaged.");
            goto done;
        }
        memcpy(list[n].id, sqlite3_column_blob(st, 0), OFFPAY_UTXO_ID_BYTES);
        list[n].amount = amount;
        list[n].state = state;
        n++;
    }
    if (rc != SQLITE_DONE) {
        s = wallet_db_fail(w, "be read");
        goto done;
    }
    sqlite3_finalize(st);
    st = wallet_prepare(w, "SELECT direction, count(*), coalesce(sum(amount), 0) FROM records"
                           " WHERE status = 'unsynced' GROUP BY direction");
    if (st == NULL) {
        s = OFFPAY_ERR_STORAGE;
        goto done;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *dir = (const char *)sqlite3_column_text(st, 0);
        uint64_t count = (uint64_t)sqlite3_column_int64(st, 1);
        if (dir && strcmp(dir, "incoming") == 0) {
            b->pending_incoming = count;
            b->incoming_unsynced = (uint64_t)sqlite3_column_int64(st, 2);
        } else {
            b->pending_outgoing = count;
        }
    }
    if (rc != SQLITE_DONE)
        s = wallet_db_fail(w, "be read");
done:
    sqlite3_finalize(st);
    sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL);
    if (s != OFFPAY_OK) {
        free(list);
        memset(b, 0, sizeof *b);
        return s;
    }
    if (utxos) {
        *utxos = list;
        *n_utxos = n;
    } else {
        free(list);
    }
    return OFFPAY_OK;
}

/* ---- limits ---- */

/* Read server and owner limits and their use; call inside a transaction or not. */
static enum offpay_status limits_read(struct offpay_wallet *w, struct offpay_wallet_limits *l)
{
    struct offpay_limits_policy p;
    enum offpay_status s = OFFPAY_OK;
    memset(l, 0, sizeof *l);
    sqlite3_stmt *st = wallet_prepare(w, "SELECT server_policy, owner_per_payment, owner_offline_total, owner_count,"
                                         " owner_period FROM limits WHERE one = 1");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    if (sqlite3_step(st) != SQLITE_ROW ||
        offpay_limits_policy_decode(&p, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0)) != OFFPAY_OK) {
        sqlite3_finalize(st);
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet's limits are missing or damaged.");
    }
    l->server = p.limits;
    l->owner.per_payment = (uint64_t)sqlite3_column_int64(st, 1);
    l->owner.offline_total = (uint64_t)sqlite3_column_int64(st, 2);
    l->owner.count = (uint32_t)sqlite3_column_int64(st, 3);
    l->owner.period = (uint32_t)sqlite3_column_int64(st, 4);
    sqlite3_finalize(st);
    offpay_limits_effective(&l->effective, &l->server, &l->owner);

    uint64_t now = wallet_now();
    l->period_start = offpay_limits_period_start(now, l->effective.period);
    st = wallet_prepare(w, "SELECT (SELECT coalesce(sum(amount), 0) FROM records WHERE direction = 'outgoing'"
                           "         AND status = 'unsynced'),"
                           "       (SELECT count(*) FROM records WHERE direction = 'outgoing' AND created >= ?)");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)l->period_start);
    if (sqlite3_step(st) == SQLITE_ROW) {
        l->unsynced_total = (uint64_t)sqlite3_column_int64(st, 0);
        l->count_in_period = (uint32_t)sqlite3_column_int64(st, 1);
    } else {
        s = wallet_db_fail(w, "be read");
    }
    sqlite3_finalize(st);
    return s;
}

enum offpay_status wallet_limits_read(struct offpay_wallet *w, struct offpay_wallet_limits *l)
{
    return limits_read(w, l);
}

enum offpay_status offpay_wallet_limits(struct offpay_wallet *w, struct offpay_wallet_limits *l)
{
    if (sqlite3_exec(w->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return wallet_db_fail(w, "be read");
    enum offpay_status s = limits_read(w, l);
    sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL);
    return s;
}

enum offpay_status offpay_wallet_limits_set(struct offpay_wallet *w, const struct offpay_limits *owner)
{
    struct offpay_wallet_limits cur;
    enum offpay_status s = wallet_begin(w);
    if (s != OFFPAY_OK)
        return s;
    if ((s = limits_read(w, &cur)) != OFFPAY_OK)
        goto fail;
    /* Owners may only tighten what the server allows (claim 4). */
    if (owner->per_payment > cur.server.per_payment) {
        s = wallet_fail(w, OFFPAY_ERR_USAGE, "A per-payment limit of %llu would be looser than the server's %llu; owner limits can only be stricter.",
                        (unsigned long long)owner->per_payment, (unsigned long long)cur.server.per_payment);
        goto fail;
    }
    if (owner->offline_total > cur.server.offline_total) {
        s = wallet_fail(w, OFFPAY_ERR_USAGE, "An offline-total limit of %llu would be looser than the server's %llu; owner limits can only be stricter.",
                        (unsigned long long)owner->offline_total, (unsigned long long)cur.server.offline_total);
        goto fail;
    }
    if (owner->count > cur.server.count) {
        s = wallet_fail(w, OFFPAY_ERR_USAGE, "A count limit of %u would be looser than the server's %u; owner limits can only be stricter.",
                        owner->count, cur.server.count);
        goto fail;
    }
    if (owner->period != 0 && owner->period < cur.server.period) {
        s = wallet_fail(w, OFFPAY_ERR_USAGE, "A period of %u seconds would be looser than the server's %u; owner limits can only be stricter.",
                        owner->period, cur.server.period);
        goto fail;
    }
    if (owner->per_payment > WALLET_AMOUNT_MAX || owner->offline_total > WALLET_AMOUNT_MAX) {
        s = wallet_fail(w, OFFPAY_ERR_USAGE, "That limit is too large.");
        goto fail;
    }
    sqlite3_stmt *st = wallet_prepare(w, "UPDATE limits SET"
                                         " owner_per_payment = CASE WHEN ?1 > 0 THEN ?1 ELSE owner_per_payment END,"
                                         " owner_offline_total = CASE WHEN ?2 > 0 THEN ?2 ELSE owner_offline_total END,"
                                         " owner_count = CASE WHEN ?3 > 0 THEN ?3 ELSE owner_count END,"
                                         " owner_period = CASE WHEN ?4 > 0 THEN ?4 ELSE owner_period END WHERE one = 1");
    if (st == NULL) {
        s = OFFPAY_ERR_STORAGE;
        goto fail;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)owner->per_payment);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)owner->offline_total);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)owner->count);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)owner->period);
    if ((s = wallet_step_done(w, st)) != OFFPAY_OK ||
        (s = wallet_history_add(w, "limits", 0, NULL, NULL, "owner limits set")) != OFFPAY_OK)
        goto fail;
    return wallet_commit(w);
fail:
    wallet_rollback(w);
    return s;
}

/* ---- history ---- */

enum offpay_status offpay_wallet_history(struct offpay_wallet *w, struct offpay_wallet_event **events, size_t *n_out)
{
    struct offpay_wallet_event *list = NULL;
    size_t n = 0, cap = 0;
    int rc;
    *events = NULL;
    *n_out = 0;
    sqlite3_stmt *st = wallet_prepare(w, "SELECT time, kind, amount, counterparty, record_id, detail FROM history ORDER BY seq");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            struct offpay_wallet_event *nl = realloc(list, ncap * sizeof *nl);
            if (nl == NULL) {
                free(list);
                sqlite3_finalize(st);
                return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading history.");
            }
            list = nl;
            cap = ncap;
        }
        struct offpay_wallet_event *e = &list[n++];
        memset(e, 0, sizeof *e);
        e->time = (uint64_t)sqlite3_column_int64(st, 0);
        snprintf(e->kind, sizeof e->kind, "%s", (const char *)sqlite3_column_text(st, 1));
        e->amount = (uint64_t)sqlite3_column_int64(st, 2);
        snprintf(e->counterparty, sizeof e->counterparty, "%s", (const char *)sqlite3_column_text(st, 3));
        if (sqlite3_column_bytes(st, 4) == OFFPAY_RECORD_ID_BYTES) {
            memcpy(e->record_id, sqlite3_column_blob(st, 4), OFFPAY_RECORD_ID_BYTES);
            e->has_record = 1;
        }
        snprintf(e->detail, sizeof e->detail, "%s", (const char *)sqlite3_column_text(st, 5));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(list);
        return wallet_db_fail(w, "be read");
    }
    *events = list;
    *n_out = n;
    return OFFPAY_OK;
}

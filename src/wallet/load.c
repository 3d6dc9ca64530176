/*
 * load.c - offpay load: online balance -> offline coins of the amounts asked.
 *
 * The call is written down before it leaves (calls.c), under the call lock.
 * The holding limit is checked before the call.  Every coin handed back is verified (issuer signature, our key, the sum)
 * before it is stored.  A 2xx means the server moved the value, so an
 * answer whose coins cannot be read leaves the call in doubt for the next
 * sync instead of being taken for a refusal.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* The coins a load answer hands back: n of them, each verified and ours,
 * adding up to want_sum.  Out: got[0..n). */
static enum offpay_status load_answer(struct offpay_wallet *w, const json_t *resp, size_t n, uint64_t want_sum,
                                      struct offpay_utxo *got)
{
    uint64_t got_sum = 0;
    enum offpay_status s;
    json_t *list = json_object_get(resp, "utxos");

    if (!json_is_array(list) || json_array_size(list) != n)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server answered the load with the wrong number of coins.");
    for (size_t i = 0; i < n; i++) {
        if (wallet_coin_decode(json_array_get(list, i), &got[i]) != 0)
            return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server answered the load with a malformed coin.");
        if ((s = wallet_utxo_check(w, &got[i])) != OFFPAY_OK)
            return s;
        if (got[i].amount > UINT64_MAX - got_sum)
            return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's coins add up to too much.");
        got_sum += got[i].amount;
    }
    if (got_sum != want_sum)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's coins do not add up to the amounts asked for.");
    return OFFPAY_OK;
}

/* The request body.  Out: *body (caller decrefs), *sum of the amounts. */
static enum offpay_status load_body(struct offpay_wallet *w, const uint64_t *amounts, size_t n, uint64_t *sum,
                                    json_t **body)
{
    json_t *arr = json_array();
    *sum = 0;
    *body = NULL;
    for (size_t i = 0; arr != NULL && i < n; i++) {
        if (amounts[i] == 0 || amounts[i] > WALLET_AMOUNT_MAX || amounts[i] > WALLET_AMOUNT_MAX - *sum) {
            json_decref(arr);
            return wallet_fail(w, OFFPAY_ERR_USAGE, "Each amount must be a positive whole number and their sum must fit.");
        }
        *sum += amounts[i];
        json_array_append_new(arr, json_integer((json_int_t)amounts[i]));
    }
    if (arr == NULL || (*body = json_pack("{s:o}", "amounts", arr)) == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the load.");
    return OFFPAY_OK;
}

/* The load's coins arrived whole: store them and settle the call, at once. */
static enum offpay_status load_apply(struct offpay_wallet *w, const struct wallet_tracked_call *c,
                                     const struct offpay_utxo *got, size_t n)
{
    char detail[64];
    uint64_t added = 0;
    enum offpay_status s = wallet_store_begin(w->store);
    if (s != OFFPAY_OK)
        return s;
    snprintf(detail, sizeof detail, "%zu coin%s loaded from the online balance", n, n == 1 ? "" : "s");
    if ((s = wallet_utxos_insert(w, got, n, &added)) != OFFPAY_OK ||
        (s = wallet_history_add(w, "load", added, NULL, NULL, detail)) != OFFPAY_OK ||
        (s = wallet_call_untrack(w, c->nonce)) != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        return s;
    }
    return wallet_store_commit(w->store);
}

/* The holding limit (issue 13), checked here with the figures before
 * anything leaves; the server checks it again against the coins it holds
 * for our key (a copy of this wallet loads through it too). */
static enum offpay_status holding_check(struct offpay_wallet *w, uint64_t adding)
{
    struct offpay_wallet_limits l;
    enum offpay_status s = offpay_wallet_limits(w, &l);
    if (s != OFFPAY_OK)
        return s;
    if (offpay_limits_check_holding(&l.effective, l.held, adding) == OFFPAY_OK)
        return OFFPAY_OK;
    return wallet_fail(w, OFFPAY_ERR_LIMIT_HOLDING,
                       "Loading %llu would make the offline coins %llu, above the holding limit of %llu (held now: "
                       "%llu); load at most %llu, or pay or unload first.",
                       (unsigned long long)adding,
                       (unsigned long long)(adding > UINT64_MAX - l.held ? UINT64_MAX : l.held + adding),
                       (unsigned long long)l.effective.holding, (unsigned long long)l.held,
                       (unsigned long long)(l.held < l.effective.holding ? l.effective.holding - l.held : 0));
}

static enum offpay_status load_locked(struct offpay_wallet *w, uint64_t *online, const uint64_t *amounts, size_t n)
{
    struct offpay_utxo got[WALLET_COINS_MAX];
    struct wallet_tracked_call c = {.kind = "load"};
    json_t *body = NULL, *resp = NULL;
    enum offpay_status s;

    if (n == 0 || n > WALLET_COINS_MAX)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "Load between 1 and %d amounts at a time.", WALLET_COINS_MAX);
    if ((s = load_body(w, amounts, n, &c.amount, &body)) != OFFPAY_OK)
        return s;
    if ((s = holding_check(w, c.amount)) != OFFPAY_OK) {
        json_decref(body);
        return s;
    }
    if ((s = wallet_call_track_alone(w, &c)) != OFFPAY_OK) {
        json_decref(body);
        return s;
    }
    s = wallet_call(w, "POST", "/v1/load", body, 1, c.nonce, c.ts, &resp);
    json_decref(body);
    if (s != OFFPAY_OK && s != OFFPAY_ERR_OUTCOME_UNKNOWN)
        return wallet_call_untrack_refused(w, &c, s);
    /* The server did it (or may have).  An answer that does not hold the
     * coins leaves the call in doubt: the next sync gets them from the server. */
    if (s == OFFPAY_OK &&
        ((s = wallet_field_u64(w, resp, "online", online)) != OFFPAY_OK || (s = load_answer(w, resp, n, c.amount, got)) != OFFPAY_OK)) {
        char why[OFFPAY_WALLET_ERROR_MAX];
        snprintf(why, sizeof why, "%s", w->err);
        s = wallet_fail(w, OFFPAY_ERR_OUTCOME_UNKNOWN,
                        "The server did the load but its answer is malformed (%s); `offpay sync` will settle it.", why);
    }
    if (s == OFFPAY_OK)
        s = load_apply(w, &c, got, n);
    json_decref(resp);
    return s;
}

enum offpay_status offpay_wallet_load(struct offpay_wallet *w, uint64_t *online, const uint64_t *amounts, size_t n)
{
    w->err[0] = '\0';
    *online = 0;
    int fd = wallet_call_lock(w);
    if (fd < 0)
        return OFFPAY_ERR_STORAGE;
    enum offpay_status s = load_locked(w, online, amounts, n);
    close(fd);
    return s;
}

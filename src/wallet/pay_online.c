/*
 * pay_online.c - offpay pay-online: pay another account from the online
 * balance, after a full sync (claim 3: every unsynced record first, and pay
 * only when that sync completed).
 *
 * The payment is written down before it leaves (calls.c).  A payment whose
 * answer was lost stays in doubt until a sync asks the server; so a retry
 * is safe: when the sync that comes first finds the lost payment to the
 * same account of the same amount made, it is not made again.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* The payment made: history, and the call settled, at once. */
static enum offpay_status paid(struct offpay_wallet *w, const struct wallet_tracked_call *c)
{
    enum offpay_status s = wallet_store_begin(w->store);
    if (s != OFFPAY_OK)
        return s;
    if ((s = wallet_history_add(w, "pay_online", c->amount, c->counterparty, NULL, "paid from the online balance")) !=
            OFFPAY_OK ||
        (s = wallet_call_untrack(w, c->nonce)) != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        return s;
    }
    return wallet_store_commit(w->store);
}

/* Under the call lock: write the payment down, send it, settle it by its answer. */
static enum offpay_status pay_locked(struct offpay_wallet *w, uint64_t *online, const char *account, uint64_t amount)
{
    struct wallet_tracked_call c = {.kind = "pay_online", .amount = amount, .counterparty = account};
    json_t *resp = NULL;
    json_t *body = json_pack("{s:s, s:I}", "to", account, "amount", (json_int_t)amount);
    if (body == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the payment.");
    enum offpay_status s = wallet_call_track_alone(w, &c);
    if (s == OFFPAY_OK)
        s = wallet_call(w, "POST", "/v1/pay-online", body, 1, c.nonce, c.ts, &resp);
    else
        c.kind = NULL; /* never written down: nothing to settle */
    json_decref(body);
    if (s == OFFPAY_OK) {
        /* A 2xx: the payment is made, whatever else the answer says. */
        if (wallet_field_u64(w, resp, "online", online) != OFFPAY_OK)
            *online = 0;
        s = paid(w, &c);
    } else if (s != OFFPAY_ERR_OUTCOME_UNKNOWN && c.kind != NULL) {
        s = wallet_call_untrack_refused(w, &c, s); /* refused, or it never left */
    } /* else lost on the way: in doubt until the next sync */
    json_decref(resp);
    return s;
}

enum offpay_status offpay_wallet_pay_online(struct offpay_wallet *w, struct offpay_sync_report *report, uint64_t *online,
                                            int *already_paid, const char *account, uint64_t amount)
{
    enum offpay_status s;

    *online = 0;
    *already_paid = 0;
    memset(report, 0, sizeof *report);
    if (!offpay_account_name_valid(account))
        return wallet_fail(w, OFFPAY_ERR_USAGE, "%s", offpay_status_str(OFFPAY_ERR_BAD_ACCOUNT_NAME));
    if (amount == 0 || amount > WALLET_AMOUNT_MAX)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The amount must be a positive whole number.");
    /* Claim 3: every unsynced record first; pay only once that sync completed. */
    if ((s = offpay_wallet_sync(w, report)) != OFFPAY_OK) {
        char keep[OFFPAY_WALLET_ERROR_MAX];
        snprintf(keep, sizeof keep, "%s", w->err);
        return wallet_fail(w, s, "The sync before paying online failed, so nothing was paid: %s", keep);
    }
    /* The same payment, lost on its way back and found made: a retry. */
    for (size_t i = 0; i < report->n_calls; i++) {
        const struct offpay_call_outcome *o = &report->calls[i];
        if (strcmp(o->kind, "pay_online") == 0 && strcmp(o->outcome, "done") == 0 && o->amount == amount &&
            strcmp(o->counterparty, account) == 0) {
            *already_paid = 1;
            return OFFPAY_OK;
        }
    }
    int fd = wallet_call_lock(w);
    if (fd < 0)
        return OFFPAY_ERR_STORAGE;
    s = pay_locked(w, online, account, amount);
    close(fd);
    return s;
}

/*
 * lost.c - offpay lost: report another wallet of the same account lost or
 * stolen (docs/wallet.md, "Lost device"; POST /v1/wallets/lost).
 *
 * The report revokes that wallet at the server.  It moves no value now, but
 * it changes the ledger, so it is written down before it leaves, like every
 * such call (calls.c): an answer lost on the way leaves it in doubt until
 * the next sync asks the server what became of it.  Sending it again is
 * safe: a wallet reported before stays as the first report left it.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define PREFIX_MIN 8

/* The report made: history and the call settled, at once. */
static enum offpay_status reported(struct offpay_wallet *w, const struct wallet_tracked_call *c,
                                   const struct offpay_lost_report *out)
{
    char detail[160];
    snprintf(detail, sizeof detail, "wallet %s reported %s%s; its coins go back to the account at %llu", out->wallet,
             out->reason, out->fresh ? "" : " (it had been already)", (unsigned long long)out->writeoff_at);
    enum offpay_status s = wallet_store_begin(w->store);
    if (s != OFFPAY_OK)
        return s;
    if ((s = wallet_history_add(w, "lost_report", 0, NULL, NULL, detail)) != OFFPAY_OK ||
        (s = wallet_call_untrack(w, c->nonce)) != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        return s;
    }
    return wallet_store_commit(w->store);
}

/* The fields of the server's answer. */
static enum offpay_status read_answer(struct offpay_wallet *w, const json_t *resp, struct offpay_lost_report *out)
{
    const char *id = json_string_value(json_object_get(resp, "wallet"));
    const char *reason = json_string_value(json_object_get(resp, "reason"));
    json_t *fresh = json_object_get(resp, "new");
    if (id == NULL || strlen(id) != 2 * OFFPAY_WALLET_ID_BYTES || reason == NULL || strlen(reason) >= sizeof out->reason ||
        !json_is_boolean(fresh) || wallet_field_u64(w, resp, "reported_at", &out->reported_at) != OFFPAY_OK ||
        wallet_field_u64(w, resp, "writeoff_at", &out->writeoff_at) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's answer to the report is malformed; sync to learn "
                           "what became of it.");
    memcpy(out->wallet, id, sizeof out->wallet);
    memcpy(out->reason, reason, strlen(reason) + 1);
    out->fresh = json_is_true(fresh);
    return OFFPAY_OK;
}

enum offpay_status offpay_wallet_report_lost(struct offpay_wallet *w, struct offpay_lost_report *out,
                                             const char *wallet, const char *reason)
{
    char prefix[2 * OFFPAY_WALLET_ID_BYTES + 1];
    size_t n = strlen(wallet);
    json_t *resp = NULL;

    memset(out, 0, sizeof *out);
    if (n < PREFIX_MIN || n > 2 * OFFPAY_WALLET_ID_BYTES)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "A wallet id is %d to %d hex digits (any unique beginning of it).",
                           PREFIX_MIN, 2 * OFFPAY_WALLET_ID_BYTES);
    for (size_t i = 0; i <= n; i++) {
        prefix[i] = (char)tolower((unsigned char)wallet[i]);
        if (i < n && !isxdigit((unsigned char)wallet[i]))
            return wallet_fail(w, OFFPAY_ERR_USAGE, "A wallet id is hex digits; \"%s\" is not.", wallet);
    }
    if (strcmp(reason, "lost") != 0 && strcmp(reason, "stolen") != 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The reason is lost or stolen.");
    json_t *body = json_pack("{s:s, s:s}", "wallet", prefix, "reason", reason);
    if (body == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the report.");
    int fd = wallet_call_lock(w);
    if (fd < 0) {
        json_decref(body);
        return OFFPAY_ERR_STORAGE;
    }
    struct wallet_tracked_call c = {.kind = "lost", .amount = 0, .counterparty = prefix};
    enum offpay_status s = wallet_call_track_alone(w, &c);
    if (s == OFFPAY_OK)
        s = wallet_call(w, "POST", "/v1/wallets/lost", body, 1, c.nonce, c.ts, &resp);
    else
        c.kind = NULL; /* never written down: nothing to settle */
    json_decref(body);
    if (s == OFFPAY_OK) {
        /* A 2xx: the wallet is revoked, whatever else the answer says. */
        if (read_answer(w, resp, out) != OFFPAY_OK) {
            snprintf(out->wallet, sizeof out->wallet, "%s", prefix);
            snprintf(out->reason, sizeof out->reason, "%s", reason);
            w->err[0] = '\0';
        }
        s = reported(w, &c, out);
    } else if (s != OFFPAY_ERR_OUTCOME_UNKNOWN && c.kind != NULL) {
        s = wallet_call_untrack_refused(w, &c, s); /* refused, or it never left */
    } /* else lost on the way: in doubt until the next sync */
    json_decref(resp);
    close(fd);
    return s;
}

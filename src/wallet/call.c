/*
 * call.c - one call to offpayd (docs/api.md) and the fields of its answer.
 *
 * What an answer means for the wallet's state (docs/wallet.md "Online
 * commands"): a request that certainly never left changed nothing
 * (UNREACHABLE); a 4xx is a refusal that changed nothing (REJECTED); an
 * answer lost on the way back, a 5xx, or one that is not JSON may hide a
 * call that happened (OUTCOME_UNKNOWN), and the caller keeps in doubt what
 * the call touched.  Everything an answer carries is the server's word: the
 * field readers here refuse a field that is missing or does not decode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "offpay/client.h"
#include "offpay/text.h"

/* The answer did not come back whole: the server may have acted (a read
 * changes nothing, so for a GET it is only a server that did not answer). */
static enum offpay_status lost(struct offpay_wallet *w, const char *method, const char *why)
{
    if (strcmp(method, "GET") == 0)
        return wallet_fail(w, OFFPAY_ERR_UNREACHABLE, "The server at %s did not answer in full: %s; nothing changed.",
                           w->server_url, why);
    return wallet_fail(w, OFFPAY_ERR_OUTCOME_UNKNOWN,
                       "The server at %s may have acted on the request, but %s; the outcome is not known yet: "
                       "`offpay sync` will settle it.",
                       w->server_url, why);
}

/* The client's "slow" hook, in the wallet caller's terms. */
static void on_slow(void *ctx)
{
    const struct offpay_wallet *w = ctx;
    w->contact.on_slow(w->contact.ctx, w->server_url);
}

enum offpay_status wallet_call(struct offpay_wallet *w, const char *method, const char *path, const json_t *body,
                               int with_key, const uint8_t *nonce, uint64_t ts, json_t **resp)
{
    struct offpay_client_auth auth = {0};
    const struct offpay_signer *key;
    long http = 0;
    enum offpay_status s;
    char why[96], ca_buf[PATH_MAX + 16];
    const char *ca = wallet_ca_path(w, ca_buf, sizeof ca_buf);

    *resp = NULL;
    struct offpay_client_opts opts = {ca, 0, w->contact.on_slow != NULL ? on_slow : NULL, w};
    unsigned timeout;
    const char *from;
    if ((s = wallet_timeout(w, &timeout, &from)) != OFFPAY_OK)
        return s;
    opts.timeout_s = (long)timeout;
    if (with_key) {
        if ((s = wallet_signer(w, &key)) != OFFPAY_OK)
            return s;
        memcpy(auth.wallet_id, w->cert.wallet_id, OFFPAY_WALLET_ID_BYTES);
        auth.signer = key;
        auth.nonce = nonce;
        auth.timestamp = ts;
    }
    json_t *answer = NULL;
    s = offpay_client_call_opts(w->server_url, &opts, method, path, body, with_key ? &auth : NULL, &http, &answer);
    if (s == OFFPAY_ERR_KEY_UNAVAILABLE)
        return wallet_signed(w, s, "the request to the server (nothing was sent)");
    if (s == OFFPAY_ERR_SERVER_UNTRUSTED)
        return wallet_fail(w, s,
                           "The server at %s is not trusted: its TLS certificate does not verify against %s%s (%s); "
                           "nothing was sent and nothing changed.",
                           w->server_url, ca ? "the certificate authorities in " : "the system's certificate authorities",
                           ca ? ca : "", offpay_client_last_error());
    if (s == OFFPAY_ERR_UNREACHABLE || s == OFFPAY_ERR_USAGE) {
        json_decref(answer);
        return wallet_fail(w, OFFPAY_ERR_UNREACHABLE, "The server at %s cannot be reached; nothing changed.",
                           w->server_url);
    }
    if (s == OFFPAY_ERR_MALFORMED && http >= 400 && http <= 499) {
        json_decref(answer);
        return wallet_fail(w, OFFPAY_ERR_REJECTED,
                           "The server at %s refused with an answer that is not valid JSON (HTTP %ld); nothing changed.",
                           w->server_url, http);
    }
    if (s != OFFPAY_OK) {
        json_decref(answer);
        if (s == OFFPAY_ERR_MALFORMED)
            snprintf(why, sizeof why, "its answer (HTTP %ld) is not valid JSON", http);
        else
            snprintf(why, sizeof why, "its answer was lost");
        return lost(w, method, why);
    }
    if (http < 200 || http > 499) {
        json_decref(answer);
        snprintf(why, sizeof why, "it answered HTTP %ld", http);
        return lost(w, method, why);
    }
    if (http > 299) {
        const char *code = json_string_value(json_object_get(answer, "error"));
        const char *msg = json_string_value(json_object_get(answer, "message"));
        /* "replayed": a request with this nonce took effect, and this is not its answer. */
        if (code != NULL && strcmp(code, "replayed") == 0) {
            json_decref(answer);
            return lost(w, method, "it says the request was made already");
        }
        /* The holding limit is an offline limit (exit 6), whoever applies it. */
        enum offpay_status st = code != NULL && strcmp(code, "holding_limit") == 0 ? OFFPAY_ERR_LIMIT_HOLDING
                                                                                   : OFFPAY_ERR_REJECTED;
        /* A short id that begins several wallet ids: the user must say more. */
        if (code != NULL && strcmp(code, "ambiguous") == 0)
            st = OFFPAY_ERR_USAGE;
        wallet_fail(w, st, "The server refused (%s): %s", code ? code : "error", msg ? msg : "no reason given.");
        json_decref(answer);
        return st;
    }
    *resp = answer;
    return OFFPAY_OK;
}

enum offpay_status wallet_call_simple(struct offpay_wallet *w, const char *method, const char *path, const json_t *body,
                                      json_t **resp)
{
    return wallet_call(w, method, path, body, 1, NULL, 0, resp);
}

enum offpay_status wallet_field_text(struct offpay_wallet *w, const json_t *obj, const char *key, int type,
                                     uint8_t *bin, size_t cap, size_t *len)
{
    int got_type;
    const char *text = json_string_value(json_object_get(obj, key));
    if (text == NULL || offpay_text_decode(bin, cap, len, &got_type, type, text, strlen(text)) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's answer has a bad \"%s\" field; nothing changed.", key);
    return OFFPAY_OK;
}

enum offpay_status wallet_field_u64(struct offpay_wallet *w, const json_t *obj, const char *key, uint64_t *v)
{
    json_t *j = json_object_get(obj, key);
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's answer has a bad \"%s\" field.", key);
    *v = (uint64_t)json_integer_value(j);
    return OFFPAY_OK;
}

enum offpay_status wallet_field_policy(struct offpay_wallet *w, const json_t *obj, struct offpay_limits_policy *p,
                                       uint8_t **rev_bin, size_t *rev_len)
{
    uint8_t lim[OFFPAY_LIMITS_BYTES];
    size_t lim_len = 0;
    enum offpay_status s;
    size_t cap = OFFPAY_REVOCATION_BYTES(OFFPAY_REVOCATION_MAX);

    *rev_bin = NULL;
    if ((s = wallet_field_text(w, obj, "limits", OFFPAY_MSG_LIMITS, lim, sizeof lim, &lim_len)) != OFFPAY_OK)
        return s;
    if (offpay_limits_policy_decode(p, lim, lim_len) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's limits are malformed; nothing changed.");
    if ((*rev_bin = malloc(cap)) == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the revocation list.");
    if ((s = wallet_field_text(w, obj, "revocation", OFFPAY_MSG_REVOCATION, *rev_bin, cap, rev_len)) != OFFPAY_OK) {
        free(*rev_bin);
        *rev_bin = NULL;
    }
    return s;
}

enum offpay_status wallet_field_stamp(struct offpay_wallet *w, const json_t *obj, uint8_t bin[OFFPAY_STAMP_BYTES],
                                      size_t *len)
{
    *len = 0;
    if (json_object_get(obj, "stamp") == NULL)
        return OFFPAY_OK;
    return wallet_field_text(w, obj, "stamp", OFFPAY_MSG_STAMP, bin, OFFPAY_STAMP_BYTES, len);
}

int wallet_coin_decode(const json_t *text, struct offpay_utxo *u)
{
    uint8_t bin[OFFPAY_UTXO_BYTES];
    size_t len;
    int type;
    const char *t = json_string_value(text);
    if (t == NULL || offpay_text_decode(bin, sizeof bin, &len, &type, OFFPAY_MSG_UTXO, t, strlen(t)) != OFFPAY_OK ||
        offpay_utxo_decode(u, bin, len) != OFFPAY_OK)
        return -1;
    return 0;
}

enum offpay_status offpay_wallet_online_balance(struct offpay_wallet *w, uint64_t *online)
{
    json_t *resp = NULL;
    w->err[0] = '\0';
    *online = 0;
    enum offpay_status s = wallet_call_simple(w, "GET", "/v1/balance", NULL, &resp);
    if (s == OFFPAY_OK)
        s = wallet_field_u64(w, resp, "online", online);
    json_decref(resp);
    return s;
}

/*
 * ep_enrol.c - POST /v1/enrol: a one-time token and a wallet public key in,
 * a certificate (and the issuer key, limits and revocation list) out.
 *
 * The token is consumed in the same transaction that stores the wallet, so a
 * token enrols exactly one wallet even when two requests race.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TOKEN_MAX 128
#define CERT_SKEW 300 /* not_before lies this far back, for wallets whose clock is a little behind */

struct enrol {
    uint8_t token_hash[OFFPAY_HASH_BYTES];
    uint8_t public_key[OFFPAY_PUBLIC_KEY_BYTES];
    struct offpay_cert cert;
    char *limits, *revocation;
};

static enum tx_step enrol_tx(struct request *rq, void *ctx)
{
    struct enrol *e = ctx;
    struct offpay_ledger *l = rq->l;
    struct offpay_ledger_account acc;
    struct offpay_ledger_wallet w;
    uint8_t cert_bin[OFFPAY_CERT_BYTES_MAX];
    int64_t account_id;
    enum offpay_ledger_result r;

    r = l->ops->token_take(l, e->token_hash, rq->now, &account_id);
    if (r == OFFPAY_LEDGER_NOT_FOUND) {
        reply_error(rq, 403, "bad_token", "The enrolment token is unknown or was already used.");
        return STEP_ABORT;
    }
    TRY(r);
    TRY(l->ops->account_get_by_id(l, account_id, &acc));

    memset(&w, 0, sizeof w);
    offpay_random(w.id, sizeof w.id);
    w.account_id = account_id;
    memcpy(w.public_key, e->public_key, sizeof w.public_key);

    memset(&e->cert, 0, sizeof e->cert);
    memcpy(e->cert.wallet_id, w.id, sizeof w.id);
    memcpy(e->cert.public_key, w.public_key, sizeof w.public_key);
    e->cert.not_before = rq->now > CERT_SKEW ? rq->now - CERT_SKEW : 0;
    e->cert.not_after = rq->now + OFFPAYD_CERT_LIFETIME;
    memcpy(e->cert.account, acc.name, sizeof e->cert.account);
    if (offpay_cert_issue(&e->cert, rq->srv->issuer_sk) != OFFPAY_OK)
        return STEP_ERROR;
    size_t n = offpay_cert_encode(cert_bin, sizeof cert_bin, &e->cert);
    if (n == 0)
        return STEP_ERROR;
    r = l->ops->wallet_insert(l, &w, cert_bin, n, rq->now);
    if (r == OFFPAY_LEDGER_DUPLICATE) {
        reply_error(rq, 409, "key_in_use", "This public key is already enrolled.");
        return STEP_ABORT;
    }
    TRY(r);

    free(e->limits);
    free(e->revocation);
    e->limits = limits_text(rq->srv, l, w.id);
    e->revocation = revocation_text(rq->srv, l);
    if (e->limits == NULL || e->revocation == NULL)
        return STEP_ERROR;
    return STEP_COMMIT;
}

void ep_enrol(struct request *rq)
{
    struct enrol e;
    const char *token, *pk;
    uint8_t cert_bin[OFFPAY_CERT_BYTES_MAX];
    char wid[2 * OFFPAY_WALLET_ID_BYTES + 1], ipk[2 * OFFPAY_PUBLIC_KEY_BYTES + 1];
    char *cert_text = NULL;

    memset(&e, 0, sizeof e);
    if (field_string(rq, rq->json, "token", &token) != 0 || field_string(rq, rq->json, "public_key", &pk) != 0)
        return;
    if (strlen(token) == 0 || strlen(token) > TOKEN_MAX) {
        reply_error(rq, 400, "bad_field", "The field \"token\" must be 1 to %d characters.", TOKEN_MAX);
        return;
    }
    if (hex_exact(e.public_key, sizeof e.public_key, pk) != 0) {
        reply_error(rq, 400, "bad_field", "The field \"public_key\" must be 64 lowercase hex digits.");
        return;
    }
    offpay_hash(e.token_hash, (const uint8_t *)token, strlen(token));
    if (request_tx(rq, enrol_tx, &e) != 0)
        goto out;

    size_t n = offpay_cert_encode(cert_bin, sizeof cert_bin, &e.cert);
    if (n == 0 || (cert_text = message_text(cert_bin, n)) == NULL) {
        reply_error(rq, 500, "internal", "The certificate could not be encoded.");
        goto out;
    }
    offpay_hex(wid, e.cert.wallet_id, sizeof e.cert.wallet_id);
    offpay_hex(ipk, rq->srv->issuer_pk, sizeof rq->srv->issuer_pk);
    reply_json(rq, 200,
               json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "certificate", cert_text, "wallet_id", wid, "account",
                         e.cert.account, "issuer_public_key", ipk, "limits", e.limits, "revocation", e.revocation));
out:
    free(cert_text);
    free(e.limits);
    free(e.revocation);
}

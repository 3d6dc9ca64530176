/*
 * ep_enrol.c - POST /v1/enrol: a one-time token and a wallet public key in,
 * a certificate (and the issuer key, limits and revocation list) out.
 *
 * The token is consumed in the same transaction that stores the wallet, so a
 * token enrols exactly one wallet even when two requests race.  The token
 * remembers that wallet: enrolling again with the same token and the same
 * key answers the same certificate (the stored bytes), so a wallet whose
 * answer was lost can simply ask again.  Another key gets 403 bad_token.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TOKEN_MAX 128

struct enrol {
    uint8_t token_hash[OFFPAY_HASH_BYTES];
    uint8_t public_key[OFFPAY_PUBLIC_KEY_BYTES];
    uint8_t cert_bin[OFFPAY_CERT_BYTES_MAX]; /* the certificate as stored */
    size_t cert_len;
    uint8_t wallet_id[OFFPAY_WALLET_ID_BYTES];
    char account[OFFPAY_ACCOUNT_MAX + 1];
    char *limits, *revocation, *stamp;
};

/* The wallet's current limits and the revocation list, for the answer. */
static enum tx_step fetch_documents(struct request *rq, struct enrol *e)
{
    free(e->limits);
    free(e->revocation);
    free(e->stamp);
    e->limits = offpayd_limits_text(rq->srv, rq->l, e->wallet_id);
    e->revocation = offpayd_revocation_text(rq->srv, rq->l);
    /* Enrolling is the wallet's first sync: it may pay offline from here. */
    e->stamp = offpayd_stamp_text(rq->srv, e->wallet_id, rq->now);
    return e->limits != NULL && e->revocation != NULL && e->stamp != NULL ? STEP_COMMIT : STEP_ERROR;
}

/* The token was used already: answer again if it enrolled this very key. */
static enum tx_step enrol_again(struct request *rq, struct enrol *e)
{
    struct offpay_ledger *l = rq->l;
    struct offpay_ledger_wallet w;
    struct offpay_ledger_account acc;
    const uint8_t *cert;
    enum offpay_ledger_result r;

    r = l->ops->token_get_wallet(l, e->token_hash, e->wallet_id);
    if (r == OFFPAY_LEDGER_OK)
        r = l->ops->wallet_get(l, e->wallet_id, &w);
    if (r == OFFPAY_LEDGER_NOT_FOUND || (r == OFFPAY_LEDGER_OK && memcmp(w.public_key, e->public_key,
                                                                         sizeof w.public_key) != 0)) {
        reply_error(rq, 403, "bad_token", "The enrolment token is unknown or was already used.");
        return STEP_ABORT;
    }
    TRY(r);
    TRY(l->ops->account_get_by_id(l, w.account_id, &acc));
    memcpy(e->account, acc.name, sizeof e->account);
    TRY(l->ops->wallet_certificate(l, e->wallet_id, &cert, &e->cert_len));
    if (e->cert_len > sizeof e->cert_bin)
        return STEP_ERROR;
    memcpy(e->cert_bin, cert, e->cert_len);
    return fetch_documents(rq, e);
}

static enum tx_step enrol_tx(struct request *rq, void *ctx)
{
    struct enrol *e = ctx;
    struct offpay_ledger *l = rq->l;
    struct offpay_ledger_account acc;
    struct offpay_ledger_wallet w;
    struct offpay_cert cert;
    int64_t account_id;
    enum offpay_ledger_result r;

    r = l->ops->token_take(l, e->token_hash, rq->now, &account_id);
    if (r == OFFPAY_LEDGER_NOT_FOUND)
        return enrol_again(rq, e);
    TRY(r);
    TRY(l->ops->account_get_by_id(l, account_id, &acc));

    memset(&w, 0, sizeof w);
    offpay_random(w.id, sizeof w.id);
    /* The wallet id carries its account's bucket: requests find its shard by it. */
    offpay_shards_id_set_bucket(w.id, offpay_shards_bucket_of_name(acc.name));
    w.account_id = account_id;
    memcpy(w.public_key, e->public_key, sizeof w.public_key);

    memset(&cert, 0, sizeof cert);
    memcpy(cert.wallet_id, w.id, sizeof w.id);
    memcpy(cert.public_key, w.public_key, sizeof w.public_key);
    cert.not_before = rq->now > OFFPAYD_CERT_SKEW ? rq->now - OFFPAYD_CERT_SKEW : 0;
    cert.not_after = rq->now + OFFPAYD_CERT_LIFETIME;
    memcpy(cert.account, acc.name, sizeof cert.account);
    if (offpay_cert_issue_with(&cert, &rq->srv->issuer) != OFFPAY_OK)
        return STEP_ERROR;
    e->cert_len = offpay_cert_encode(e->cert_bin, sizeof e->cert_bin, &cert);
    if (e->cert_len == 0)
        return STEP_ERROR;
    r = l->ops->wallet_insert(l, &w, e->cert_bin, e->cert_len, rq->now);
    if (r == OFFPAY_LEDGER_DUPLICATE) {
        reply_error(rq, 409, "key_in_use", "This public key is already enrolled.");
        return STEP_ABORT;
    }
    TRY(r);
    TRY(l->ops->token_set_wallet(l, e->token_hash, w.id));
    memcpy(e->wallet_id, w.id, sizeof w.id);
    memcpy(e->account, acc.name, sizeof e->account);
    return fetch_documents(rq, e);
}

/* The in-flight coins' owner (shard.c) is all zero; it is no key anyone holds. */
static int is_transit_key(const uint8_t k[OFFPAY_PUBLIC_KEY_BYTES])
{
    return memcmp(k, shard_transit_key, OFFPAY_PUBLIC_KEY_BYTES) == 0;
}

/* The shard of a token's account: its first two bytes name the account's
 * bucket (cmd_account.c).  A token of another form is looked for on shard 0. */
static struct shard *token_shard(struct offpayd *srv, const char *token)
{
    char head[5];
    uint8_t lead[2];
    if (srv->n_shards == 1 || strlen(token) < 4)
        return &srv->shard[0];
    memcpy(head, token, 4);
    head[4] = '\0';
    if (offpayd_hex_exact(lead, sizeof lead, head) != 0)
        return &srv->shard[0];
    return &srv->shard[offpay_shards_of_bucket(&srv->map, offpay_shards_bucket_of_id(lead))];
}

void ep_enrol(struct request *rq)
{
    struct enrol e;
    const char *token, *pk;
    char wid[2 * OFFPAY_WALLET_ID_BYTES + 1], ipk[2 * OFFPAY_PUBLIC_KEY_BYTES + 1];
    char *cert_text = NULL;

    memset(&e, 0, sizeof e);
    if (offpayd_field_string(rq, rq->json, "token", &token) != 0 || offpayd_field_string(rq, rq->json, "public_key", &pk) != 0)
        return;
    if (strlen(token) == 0 || strlen(token) > TOKEN_MAX) {
        reply_error(rq, 400, "bad_field", "The field \"token\" must be 1 to %d characters.", TOKEN_MAX);
        return;
    }
    if (offpayd_hex_exact(e.public_key, sizeof e.public_key, pk) != 0) {
        reply_error(rq, 400, "bad_field", "The field \"public_key\" must be 64 lowercase hex digits.");
        return;
    }
    if (is_transit_key(e.public_key)) {
        reply_error(rq, 400, "bad_field", "The field \"public_key\" is not a usable key.");
        return;
    }
    offpay_hash(e.token_hash, (const uint8_t *)token, strlen(token));
    if (request_use_shard(rq, token_shard(rq->srv, token)) != 0) {
        reply_storage_failed(rq, 0);
        return;
    }
    if (request_tx(rq, enrol_tx, &e) != 0)
        goto out;

    if ((cert_text = offpayd_message_text(e.cert_bin, e.cert_len)) == NULL) {
        reply_error(rq, 500, "internal", "The certificate could not be encoded.");
        goto out;
    }
    offpay_hex(wid, e.wallet_id, sizeof e.wallet_id);
    offpay_hex(ipk, rq->srv->issuer_pk, sizeof rq->srv->issuer_pk);
    reply_json(rq, 200,
               json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "certificate", cert_text, "wallet_id", wid, "account",
                         e.account, "issuer_public_key", ipk, "limits", e.limits, "revocation", e.revocation, "stamp",
                         e.stamp));
out:
    free(cert_text);
    free(e.limits);
    free(e.revocation);
    free(e.stamp);
}

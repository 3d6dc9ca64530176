/*
 * steps.c - the steps several of the wallet's commands share: keeping what
 * the server signed (limits, revocation list) after checking it against the
 * issuer key, taking the server's coins after checking they are ours, and
 * writing history.  Each runs inside the caller's transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- limits and revocation ---- */

enum offpay_status wallet_limits_store(struct offpay_wallet *w, const struct offpay_limits_policy *p)
{
    static const uint8_t zero[OFFPAY_WALLET_ID_BYTES];
    uint8_t buf[OFFPAY_LIMITS_BYTES];
    enum offpay_status s = offpay_limits_policy_verify(p, w->issuer_pk);
    if (s != OFFPAY_OK)
        return wallet_fail(w, s, "The server's limits are not signed by its issuer key.");
    if (memcmp(p->wallet_id, w->cert.wallet_id, OFFPAY_WALLET_ID_BYTES) != 0 &&
        memcmp(p->wallet_id, zero, OFFPAY_WALLET_ID_BYTES) != 0)
        return wallet_fail(w, OFFPAY_ERR_WRONG_PAYEE, "The server's limits are for another wallet.");
    if (p->limits.period == 0)
        return wallet_fail(w, OFFPAY_ERR_MALFORMED, "The server's limits have a period of zero.");
    size_t n = offpay_limits_policy_encode(buf, sizeof buf, p);
    if (n == 0)
        return wallet_fail(w, OFFPAY_ERR_MALFORMED, "The server's limits cannot be encoded.");
    return wallet_store_policy_set(w->store, buf, n);
}

enum offpay_status wallet_revocation_store(struct offpay_wallet *w, const uint8_t *msg, size_t len)
{
    struct offpay_revocation r;
    enum offpay_status s;
    if ((s = offpay_revocation_decode(&r, msg, len)) != OFFPAY_OK)
        return wallet_fail(w, s, "The server's revocation list is malformed.");
    if ((s = offpay_revocation_verify(&r, w->issuer_pk)) != OFFPAY_OK)
        return wallet_fail(w, s, "The server's revocation list is not signed by its issuer key.");
    if (r.serial > (uint64_t)INT64_MAX || len > (size_t)INT32_MAX)
        return wallet_fail(w, OFFPAY_ERR_MALFORMED, "The server's revocation list is out of range.");
    /* The store never goes back to an older list: a revoked wallet stays revoked. */
    return wallet_store_revocation_set(w->store, r.serial, msg, len);
}

enum offpay_status wallet_revocation_load(struct offpay_wallet *w, struct offpay_revocation *r, uint8_t **blob)
{
    size_t n = 0;
    memset(r, 0, sizeof *r);
    enum offpay_status s = wallet_store_revocation_get(w->store, blob, &n);
    if (s != OFFPAY_OK || *blob == NULL)
        return s;
    if (offpay_revocation_decode(r, *blob, n) != OFFPAY_OK) {
        free(*blob);
        *blob = NULL;
        memset(r, 0, sizeof *r);
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The stored revocation list is damaged.");
    }
    return OFFPAY_OK;
}

/* ---- sync stamps (issue 13) ---- */

enum offpay_status wallet_stamp_load(struct offpay_wallet *w, struct offpay_stamp *st, int *has)
{
    uint8_t buf[OFFPAY_STAMP_BYTES];
    size_t n = 0;
    memset(st, 0, sizeof *st);
    *has = 0;
    enum offpay_status s = wallet_store_stamp_get(w->store, buf, sizeof buf, &n);
    if (s != OFFPAY_OK || n == 0)
        return s;
    if (offpay_stamp_decode(st, buf, n) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The stored sync stamp is damaged.");
    *has = 1;
    return OFFPAY_OK;
}

enum offpay_status wallet_stamp_store(struct offpay_wallet *w, const uint8_t *stamp, size_t len)
{
    struct offpay_stamp st, old;
    int has_old;
    enum offpay_status s;
    if (len == 0)
        return OFFPAY_OK; /* a server from before stamps: the wallet keeps what it has */
    if (offpay_stamp_decode(&st, stamp, len) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's sync stamp is malformed; nothing changed.");
    if (offpay_stamp_verify(&st, w->issuer_pk) != OFFPAY_OK ||
        memcmp(st.wallet_id, w->cert.wallet_id, OFFPAY_WALLET_ID_BYTES) != 0)
        return wallet_fail(w, OFFPAY_ERR_STAMP_INVALID,
                           "The server's sync stamp is not signed by its issuer key or is for another wallet; nothing changed.");
    /* The newest stamp is kept: a server whose clock went back does not age it. */
    if ((s = wallet_stamp_load(w, &old, &has_old)) != OFFPAY_OK)
        return s;
    if (has_old && old.synced_at > st.synced_at)
        return OFFPAY_OK;
    return wallet_store_stamp_set(w->store, stamp, len);
}

/* ---- history ---- */

enum offpay_status wallet_history_add(struct offpay_wallet *w, const char *kind, uint64_t amount,
                                      const char *counterparty, const uint8_t *record_id, const char *detail)
{
    return wallet_store_history_add(w->store, wallet_now(), kind, amount, counterparty, record_id, detail);
}

/* ---- coins ---- */

enum offpay_status wallet_utxo_check(struct offpay_wallet *w, const struct offpay_utxo *u)
{
    if (offpay_utxo_verify(u, w->issuer_pk) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_INPUT_NOT_ATTESTED, "A coin from the server is not signed by its issuer key.");
    if (memcmp(u->owner, w->cert.public_key, OFFPAY_PUBLIC_KEY_BYTES) != 0)
        return wallet_fail(w, OFFPAY_ERR_INPUT_NOT_OWNED, "A coin from the server belongs to another wallet.");
    if (u->amount > WALLET_AMOUNT_MAX)
        return wallet_fail(w, OFFPAY_ERR_AMOUNT_OVERFLOW, "A coin from the server is too large.");
    return OFFPAY_OK;
}

enum offpay_status wallet_utxos_insert(struct offpay_wallet *w, const struct offpay_utxo *u, size_t n,
                                       uint64_t *added_sum)
{
    uint64_t sum = 0, now = wallet_now();
    for (size_t i = 0; i < n; i++) {
        int added = 0;
        enum offpay_status s = wallet_utxo_check(w, &u[i]);
        /* A coin we spent in one of our records never comes back to life,
         * even if a server hands it out again; a locked change coin is
         * replaced by its attested form. */
        if (s == OFFPAY_OK)
            s = wallet_store_coin_add(w->store, &u[i], WALLET_COIN_ADD_OR_ATTEST, now, &added);
        if (s != OFFPAY_OK)
            return s;
        if (added && u[i].amount > UINT64_MAX - sum)
            return wallet_fail(w, OFFPAY_ERR_AMOUNT_OVERFLOW, "The coins add up to too much.");
        sum += added ? u[i].amount : 0;
    }
    if (added_sum)
        *added_sum = sum;
    return OFFPAY_OK;
}

enum offpay_status offpay_wallet_add_utxos(struct offpay_wallet *w, const struct offpay_utxo *utxos, size_t n)
{
    uint64_t sum = 0;
    enum offpay_status s = wallet_store_begin(w->store);
    if (s != OFFPAY_OK)
        return s;
    if ((s = wallet_utxos_insert(w, utxos, n, &sum)) != OFFPAY_OK ||
        (s = wallet_history_add(w, "load", sum, NULL, NULL, "coins added")) != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        return s;
    }
    return wallet_store_commit(w->store);
}

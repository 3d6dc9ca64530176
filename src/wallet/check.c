/*
 * check.c - offpay_wallet_check_message: verify any offpay message with what
 * the wallet knows (its issuer key, revocation list and its own payments),
 * offline and without changing anything, for `offpay show`.
 *
 * It checks exactly what the step that takes the message would check before
 * any state: a request as `pay` does, a record as `accept` does apart from the
 * request it answers, an answer as `confirm` does when this wallet made the
 * payment.  What cannot be checked from the message alone (a refusal's
 * signature without its record) is said, not guessed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "offpay/protocol.h"

/* The outgoing payment record id names, decoded into rec.  Out: *found. */
static enum offpay_status own_record(struct offpay_wallet *w, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                                     struct offpay_record *rec, int *found)
{
    struct wallet_store_outgoing *o = malloc(sizeof *o);
    *found = 0;
    if (o == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading a payment.");
    enum offpay_status s = wallet_store_outgoing_get(w->store, id, o, found);
    if (s == OFFPAY_OK && *found && offpay_record_decode(rec, o->record, o->record_len) != OFFPAY_OK)
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "A stored payment record is damaged.");
    free(o);
    return s;
}

/* The checks of one decoded message; what names them.  Returns the first failure (not yet said). */
static enum offpay_status check(struct offpay_wallet *w, const uint8_t *msg, size_t len, const struct offpay_revocation *rev,
                                uint64_t now, int *checked, char *what, size_t what_cap)
{
    const uint8_t *ipk = w->issuer_pk;
    enum offpay_status s;
    int found = 0;
    *checked = 1;
    switch (offpay_message_type(msg, len)) {
    case OFFPAY_MSG_CERT: {
        struct offpay_cert c;
        snprintf(what, what_cap, "issued by the issuer this wallet knows, valid now, not revoked");
        return (s = offpay_cert_decode(&c, msg, len)) != OFFPAY_OK ? s : offpay_cert_verify(&c, ipk, rev, now);
    }
    case OFFPAY_MSG_UTXO: {
        struct offpay_utxo u;
        snprintf(what, what_cap, "attested by the issuer this wallet knows");
        return (s = offpay_utxo_decode(&u, msg, len)) != OFFPAY_OK ? s : offpay_utxo_verify(&u, ipk);
    }
    case OFFPAY_MSG_REQUEST: {
        struct offpay_request r;
        snprintf(what, what_cap, "the payee's certificate (issuer, validity, revocation list) and signature");
        return (s = offpay_request_decode(&r, msg, len)) != OFFPAY_OK ? s : offpay_request_verify(&r, ipk, rev, now);
    }
    case OFFPAY_MSG_RECORD: {
        struct offpay_record r;
        snprintf(what, what_cap,
                 "the payer's certificate (issuer, validity, revocation list) and signature, every coin's "
                 "attestation and owner, and that the amounts balance");
        return (s = offpay_record_decode(&r, msg, len)) != OFFPAY_OK ? s : offpay_record_verify(&r, ipk, rev, now, 0);
    }
    case OFFPAY_MSG_CONFIRMATION: {
        struct offpay_confirmation c;
        struct offpay_record r;
        if ((s = offpay_confirmation_decode(&c, msg, len)) != OFFPAY_OK)
            return s;
        if ((s = own_record(w, c.record_id, &r, &found)) != OFFPAY_OK)
            return s;
        if (found) {
            snprintf(what, what_cap, "the payee's certificate and signature, for a payment this wallet made");
            return offpay_confirmation_verify(&c, &r, ipk, rev, now);
        }
        snprintf(what, what_cap,
                 "the payee's certificate only (this wallet did not make the payment, so the signature is not "
                 "checked)");
        return offpay_cert_verify(&c.payee, ipk, rev, now);
    }
    case OFFPAY_MSG_REFUSAL: {
        struct offpay_refusal f;
        struct offpay_record r;
        if ((s = offpay_refusal_decode(&f, msg, len)) != OFFPAY_OK)
            return s;
        if ((s = own_record(w, f.record_id, &r, &found)) != OFFPAY_OK)
            return s;
        if (found) {
            snprintf(what, what_cap, "the payee's signature, for a payment this wallet made");
            return offpay_refusal_verify(&f, &r);
        }
        *checked = 0;
        snprintf(what, what_cap,
                 "nothing (a refusal is signed by the payee of the payment it refuses, which this wallet did not make)");
        return OFFPAY_OK;
    }
    case OFFPAY_MSG_REVOCATION: {
        struct offpay_revocation r;
        snprintf(what, what_cap, "signed by the issuer this wallet knows");
        return (s = offpay_revocation_decode(&r, msg, len)) != OFFPAY_OK ? s : offpay_revocation_verify(&r, ipk);
    }
    case OFFPAY_MSG_LIMITS: {
        struct offpay_limits_policy p;
        snprintf(what, what_cap, "signed by the issuer this wallet knows");
        return (s = offpay_limits_policy_decode(&p, msg, len)) != OFFPAY_OK ? s : offpay_limits_policy_verify(&p, ipk);
    }
    default:
        return OFFPAY_ERR_MALFORMED;
    }
}

enum offpay_status offpay_wallet_check_message(struct offpay_wallet *w, const uint8_t *msg, size_t len, int *checked,
                                               char *what, size_t what_cap)
{
    struct offpay_revocation rev;
    uint8_t *rev_blob = NULL;
    enum offpay_status s = wallet_revocation_load(w, &rev, &rev_blob);
    *checked = 0;
    if (what_cap > 0)
        what[0] = '\0';
    if (s != OFFPAY_OK)
        return s;
    s = check(w, msg, len, &rev, wallet_now(), checked, what, what_cap);
    free(rev_blob);
    if (s == OFFPAY_ERR_STORAGE || s == OFFPAY_ERR_NOMEM)
        return s; /* already said */
    if (s != OFFPAY_OK) {
        *checked = 1;
        return wallet_fail(w, s, "It does not verify: %s", offpay_status_str(s));
    }
    return OFFPAY_OK;
}

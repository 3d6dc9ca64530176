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

/* The checks of one message; what names them.  Returns the first failure (not yet said). */
static enum offpay_status check(struct offpay_wallet *w, const uint8_t *msg, size_t len, const struct offpay_revocation *rev,
                                uint64_t now, int *checked, char *what, size_t what_cap)
{
    const uint8_t *ipk = w->issuer_pk;
    struct offpay_message *m = malloc(sizeof *m);
    struct offpay_record r;
    enum offpay_status s;
    int found = 0;
    *checked = 1;
    if (m == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading a message.");
    if ((s = offpay_message_decode(m, msg, len)) != OFFPAY_OK)
        goto done;
    switch (m->type) {
    case OFFPAY_MSG_CERT:
        snprintf(what, what_cap, "issued by the issuer this wallet knows, valid now, not revoked");
        s = offpay_cert_verify(&m->m.cert, ipk, rev, now);
        break;
    case OFFPAY_MSG_UTXO:
        snprintf(what, what_cap, "attested by the issuer this wallet knows");
        s = offpay_utxo_verify(&m->m.utxo, ipk);
        break;
    case OFFPAY_MSG_REQUEST:
        snprintf(what, what_cap, "the payee's certificate (issuer, validity, revocation list) and signature");
        s = offpay_request_verify(&m->m.request, ipk, rev, now);
        break;
    case OFFPAY_MSG_RECORD:
        snprintf(what, what_cap,
                 "the payer's certificate (issuer, validity, revocation list) and signature, %severy coin's "
                 "attestation and owner, and that the amounts balance",
                 m->m.record.has_stamp ? "its sync stamp (the issuer's, for the payer's wallet), " : "");
        if ((s = offpay_record_verify(&m->m.record, ipk, rev, now, 0)) == OFFPAY_OK && m->m.record.has_stamp)
            s = offpay_record_check_fresh(&m->m.record, ipk, 0, now);
        break;
    case OFFPAY_MSG_CONFIRMATION:
        if ((s = own_record(w, m->m.confirmation.record_id, &r, &found)) != OFFPAY_OK)
            break;
        if (found) {
            snprintf(what, what_cap, "the payee's certificate and signature, for a payment this wallet made");
            s = offpay_confirmation_verify(&m->m.confirmation, &r, ipk, rev, now);
            break;
        }
        snprintf(what, what_cap,
                 "the payee's certificate only (this wallet did not make the payment, so the signature is not "
                 "checked)");
        s = offpay_cert_verify(&m->m.confirmation.payee, ipk, rev, now);
        break;
    case OFFPAY_MSG_REFUSAL:
        if ((s = own_record(w, m->m.refusal.record_id, &r, &found)) != OFFPAY_OK)
            break;
        if (found) {
            snprintf(what, what_cap, "the payee's signature, for a payment this wallet made");
            s = offpay_refusal_verify(&m->m.refusal, &r);
            break;
        }
        *checked = 0;
        snprintf(what, what_cap,
                 "nothing (a refusal is signed by the payee of the payment it refuses, which this wallet did not make)");
        break;
    case OFFPAY_MSG_REVOCATION:
        snprintf(what, what_cap, "signed by the issuer this wallet knows");
        s = offpay_revocation_verify(&m->m.revocation, ipk);
        break;
    case OFFPAY_MSG_LIMITS:
        snprintf(what, what_cap, "signed by the issuer this wallet knows");
        s = offpay_limits_policy_verify(&m->m.limits, ipk);
        break;
    case OFFPAY_MSG_STAMP:
        snprintf(what, what_cap, "signed by the issuer this wallet knows");
        s = offpay_stamp_verify(&m->m.stamp, ipk);
        break;
    default:
        s = OFFPAY_ERR_MALFORMED;
        break;
    }
done:
    free(m);
    return s;
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

/*
 * renew.c - certificate renewal at sync (issue 13, docs/server.md).
 *
 * A wallet's certificate is valid for OFFPAYD_CERT_LIFETIME.  When a wallet
 * syncs within OFFPAYD_CERT_RENEW_BEFORE of its certificate's end, or after
 * it, the server issues it a new certificate for the same wallet id, key and
 * account, valid from now (less OFFPAYD_CERT_SKEW) for another lifetime,
 * and keeps it in the ledger in the sync's own transaction.  A wallet that
 * is revoked never gets here (authentication refuses it first).  Every sync
 * answer carries the certificate the ledger holds, so a wallet whose
 * renewing answer was lost gets its new certificate at the next sync.  The
 * old certificate stays valid until its own end: payees accept either.
 */
#include <string.h>

#include "internal.h"

int offpayd_cert_renew_due(const struct offpay_cert *c, uint64_t now)
{
    return c->not_after <= OFFPAYD_CERT_RENEW_BEFORE || now >= c->not_after - OFFPAYD_CERT_RENEW_BEFORE;
}

enum tx_step renew_certificate(struct request *rq)
{
    struct offpay_ledger *l = rq->l;
    struct offpay_cert c;
    const uint8_t *stored;
    size_t len;

    rq->cert_len = 0;
    rq->cert_renewed = 0;
    TRY(l->ops->wallet_certificate(l, rq->wallet.id, &stored, &len));
    if (len > sizeof rq->cert_bin || offpay_cert_decode(&c, stored, len) != OFFPAY_OK)
        return STEP_ERROR;
    memcpy(rq->cert_bin, stored, len);
    rq->cert_len = len;
    if (rq->wallet.fraudulent || !offpayd_cert_renew_due(&c, rq->now))
        return STEP_COMMIT;
    c.not_before = rq->now > OFFPAYD_CERT_SKEW ? rq->now - OFFPAYD_CERT_SKEW : 0;
    c.not_after = rq->now + OFFPAYD_CERT_LIFETIME;
    if (offpay_cert_issue_with(&c, &rq->srv->issuer) != OFFPAY_OK)
        return STEP_ERROR;
    if ((len = offpay_cert_encode(rq->cert_bin, sizeof rq->cert_bin, &c)) == 0)
        return STEP_ERROR;
    TRY(l->ops->wallet_certificate_set(l, rq->wallet.id, rq->cert_bin, len));
    rq->cert_len = len;
    rq->cert_renewed = 1;
    return STEP_COMMIT;
}

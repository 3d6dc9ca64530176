/*
 * ep_health.c - GET /v1/health: does this offpayd's ledger answer?
 *
 * For load balancers and service monitors: 200 {"status":"ok"} when a read
 * of the ledger succeeds and finds this server's issuer key (so it is the
 * ledger this process was started on), else 503 with api.md's error object.
 * The backend's own message goes to the server's stderr only: it may name
 * hosts, users or paths that are nobody else's business.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "offpay/version.h"

void ep_health(struct request *rq)
{
    struct offpay_ledger *l = rq->l;
    uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES];
    size_t len = 0;
    enum offpay_ledger_result r = l->ops->begin(l, 0);
    if (r == OFFPAY_LEDGER_OK) {
        r = l->ops->meta_get(l, META_ISSUER_PK, pk, sizeof pk, &len);
        l->ops->rollback(l);
    }
    if (r != OFFPAY_LEDGER_OK) {
        fprintf(stderr, "offpayd: health: the ledger does not answer: %s\n", l->ops->last_error(l));
        reply_error(rq, 503, "ledger_unavailable",
                    "The ledger does not answer (its storage failed or its database is unreachable).");
        return;
    }
    if (len != sizeof pk || memcmp(pk, rq->srv->issuer_pk, sizeof pk) != 0) {
        reply_error(rq, 503, "ledger_mismatch", "The ledger holds another issuer key than this server's.");
        return;
    }
    reply_json(rq, 200, json_pack("{s:s,s:s}", "status", "ok", "version", OFFPAY_VERSION));
}

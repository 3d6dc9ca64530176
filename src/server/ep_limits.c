/*
 * ep_limits.c - GET /v1/limits: the caller's signed limits and the current
 * signed revocation list.
 */
#include <stdlib.h>

#include "internal.h"

struct docs {
    char *limits, *revocation;
};

static enum tx_step limits_tx(struct request *rq, void *ctx)
{
    struct docs *d = ctx;
    free(d->limits);
    free(d->revocation);
    d->limits = offpayd_limits_text(rq->srv, rq->l, rq->wallet.id);
    d->revocation = offpayd_revocation_text(rq->srv, rq->l);
    return d->limits && d->revocation ? STEP_COMMIT : STEP_ERROR;
}

void ep_limits(struct request *rq)
{
    struct docs d = {NULL, NULL};
    if (request_tx(rq, limits_tx, &d) == 0)
        reply_json(rq, 200, json_pack("{s:s,s:s}", "limits", d.limits, "revocation", d.revocation));
    free(d.limits);
    free(d.revocation);
}

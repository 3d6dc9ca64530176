/*
 * ep_metrics.c - GET /metrics: metrics.c's counts in the Prometheus text
 * format.  It needs no ledger, so it answers while the ledger is down,
 * which is when an operator most wants to see the counts.
 */
#include "internal.h"

void ep_metrics(struct request *rq)
{
    size_t len = 0;
    char *text = metrics_text(rq->srv, &len);
    if (text == NULL) {
        reply_error(rq, 500, "internal", "Out of memory.");
        return;
    }
    reply_text(rq, 200, text, len);
    rq->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

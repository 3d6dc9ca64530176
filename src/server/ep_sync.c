/*
 * ep_sync.c - POST /v1/sync (settlement lives in settle.c).
 */
#include "internal.h"

void ep_sync(struct request *rq) { reply_error(rq, 501, "not_implemented", "Sync is not built yet."); }

/*
 * api.h - the bounds of the offpayd HTTP API (docs/api.md) that the server
 * enforces and the wallet must stay within.  Both sides take them from here,
 * so a wallet never builds a request the server is bound to refuse.
 */
#ifndef OFFPAY_API_H
#define OFFPAY_API_H

#define OFFPAY_API_BODY_MAX (4u * 1024u * 1024u) /* bytes of a request body (larger: 413 too_large) */
#define OFFPAY_API_SYNC_MAX 1000                  /* records in one POST /v1/sync */
#define OFFPAY_API_COINS_MAX 64                   /* amounts in one load, ids in one unload */
#define OFFPAY_API_UTXOS_MAX 10000                /* coins in one GET /v1/utxos answer */

#endif

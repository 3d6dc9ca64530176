/*
 * shards.h - where an account's rows live when the ledger spans several
 * databases.
 *
 * A ledger is one database ("sqlite:PATH", "postgresql://...") or several
 * ("shards:FILE", a file naming one database per line, docs/scale.md).
 * Every account, with its wallets, tokens, coins and balance, lives on one
 * shard, chosen through a fixed number of logical buckets: the account's
 * name hashes to a bucket, and the map says which shard holds each bucket.
 * Servers are added by moving buckets, never by hashing again.  Wallet ids
 * and enrolment tokens are chosen by the server, so they carry their
 * account's bucket in their first two bytes: any request finds its shard
 * from the id it names, without asking a directory.  A single database is
 * the one-shard case: every bucket maps to shard 0.
 */
#ifndef OFFPAY_SHARDS_H
#define OFFPAY_SHARDS_H

#include <stddef.h>
#include <stdint.h>

#include "offpay/crypto.h"
#include "offpay/status.h"

#define OFFPAY_SHARD_BUCKETS 4096u /* logical buckets; a power of two below 2^16 */
#define OFFPAY_SHARDS_MAX 64u      /* databases in one ledger */
#define OFFPAY_SHARD_URL_MAX 1024u /* bytes of one shard's URL */
#define OFFPAY_SHARDS_PREFIX "shards:"

struct offpay_shards {
    unsigned n;                                   /* shards, 1..OFFPAY_SHARDS_MAX */
    char url[OFFPAY_SHARDS_MAX][OFFPAY_SHARD_URL_MAX]; /* each shard's ledger URL */
    uint8_t shard_of[OFFPAY_SHARD_BUCKETS];       /* bucket -> shard index */
};

/*
 * Read a ledger configuration.  ledger: "shards:FILE", or any other ledger
 * URL (then one shard, that URL).  FILE: one line per shard, in order,
 * "shard I URL" (I = 0, 1, ...); optionally "bucket B I" lines that put
 * bucket B on shard I (a moved bucket); '#' starts a comment.  Unmoved
 * buckets go to shard B mod n.
 * Out: s (all of it), err (one sentence; never the URLs, which may hold
 * passwords).  Returns: OFFPAY_OK or OFFPAY_ERR_USAGE.
 */
enum offpay_status offpay_shards_load(struct offpay_shards *s, const char *ledger, char *err,
                                      size_t err_cap) OFFPAY_WARN_UNUSED;

/* Returns: the bucket of an account name (BLAKE2b of the name). */
unsigned offpay_shards_bucket_of_name(const char *name);
/* Returns: the bucket carried by the first two bytes of a server-chosen id
 * (a wallet id, an enrolment token's bytes). */
unsigned offpay_shards_bucket_of_id(const uint8_t id[2]);
/* Write bucket into the first two bytes of a fresh id (the rest stays random). */
void offpay_shards_id_set_bucket(uint8_t id[2], unsigned bucket);
/* Returns: the shard holding bucket. */
unsigned offpay_shards_of_bucket(const struct offpay_shards *s, unsigned bucket);

#endif

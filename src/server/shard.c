/*
 * shard.c - the ledger's databases as offpayd uses them: one, or several
 * shards by account (include/offpay/shards.h, docs/scale.md).
 *
 * Each shard is a whole ledger of its own (the same schema), holding the
 * accounts of its buckets with their wallets, tokens, coins and records.
 * What must be the same everywhere -- the issuer public key, the default
 * limits -- is written to every shard; what is the union of all -- the
 * revocation list -- is read from every shard.  Each shard knows its place
 * (meta "shard" = "I/N", written by init), so a configuration file whose
 * lines were reordered or that names the wrong databases is refused before
 * it could put a row where no one will look for it.
 *
 * Value on its way between shards is held by an in-flight account of each
 * shard (TRANSIT_NAME, a name no command accepts): settlement on the
 * payer's shard credits it a coin owned by TRANSIT_KEY whose id is the
 * record id, and delivery (relay.c) moves that value to the payee's shard.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const uint8_t shard_transit_key[OFFPAY_PUBLIC_KEY_BYTES]; /* all zero: no wallet can hold it */

void shard_meta_key(char out[SHARD_META_KEY_MAX], const char *kind, const uint8_t id[OFFPAY_UTXO_ID_BYTES])
{
    char hex[2 * OFFPAY_UTXO_ID_BYTES + 1];
    offpay_hex(hex, id, OFFPAY_UTXO_ID_BYTES);
    snprintf(out, SHARD_META_KEY_MAX, "%.12s:%s", kind, hex);
}

static enum tx_step place_tx(struct offpay_ledger *l, void *ctx)
{
    const char *place = ctx;
    struct offpay_ledger_account acc;
    int64_t id;
    TRY(l->ops->meta_set(l, META_SHARD, (const uint8_t *)place, strlen(place)));
    enum offpay_ledger_result r = l->ops->account_get(l, TRANSIT_NAME, &acc);
    if (r == OFFPAY_LEDGER_NOT_FOUND)
        r = l->ops->account_create(l, TRANSIT_NAME, 0, &id);
    TRY(r);
    return STEP_COMMIT;
}

int shard_mark(struct offpay_ledger *l, unsigned index, unsigned n)
{
    char place[32];
    snprintf(place, sizeof place, "%u/%u", index, n);
    return cli_tx(l, place_tx, place) == 0 ? 0 : -1;
}

int shard_check(struct offpay_ledger *l, unsigned index, unsigned n, int64_t *transit, char *err, size_t err_cap)
{
    char want[32];
    uint8_t got[32];
    size_t len = 0;
    struct offpay_ledger_account acc;
    enum offpay_ledger_result r = l->ops->begin(l, 0);
    if (r == OFFPAY_LEDGER_OK) {
        r = l->ops->meta_get(l, META_SHARD, got, sizeof got - 1, &len);
        if (r == OFFPAY_LEDGER_OK && transit != NULL)
            r = l->ops->account_get(l, TRANSIT_NAME, &acc);
        l->ops->rollback(l);
    }
    snprintf(want, sizeof want, "%u/%u", index, n);
    if (r == OFFPAY_LEDGER_NOT_FOUND && n == 1) {
        if (transit != NULL)
            *transit = 0;
        return 0; /* a ledger of one database made before shards existed */
    }
    if (r != OFFPAY_LEDGER_OK) {
        snprintf(err, err_cap, "Shard %u of the ledger cannot be read or was not made by offpayd init: %s", index,
                 r == OFFPAY_LEDGER_NOT_FOUND ? "it holds no shard mark" : l->ops->last_error(l));
        return -1;
    }
    got[len] = '\0';
    if (strcmp((const char *)got, want) != 0) {
        snprintf(err, err_cap, "The database named as shard %s of the ledger is shard %s; the shards file does not "
                 "match the ledger.", want, (const char *)got);
        return -1;
    }
    if (transit != NULL)
        *transit = acc.id;
    return 0;
}

/* ---- the commands ---- */

int cli_shards_open(const struct cli_opts *o, int create, struct cli_shards *cs, int *exit_code)
{
    char err[512];
    const char *url = cli_opt(o, "ledger");
    memset(cs, 0, sizeof *cs);
    if (url == NULL) {
        *exit_code = cli_fail(OFFPAY_ERR_USAGE, "--ledger URL is required (e.g. --ledger sqlite:/var/lib/offpay/ledger.db).");
        return -1;
    }
    if ((cs->map = malloc(sizeof *cs->map)) == NULL) {
        *exit_code = cli_fail(OFFPAY_ERR_NOMEM, "Out of memory.");
        return -1;
    }
    enum offpay_status s = offpay_shards_load(cs->map, url, err, sizeof err);
    if (s != OFFPAY_OK) {
        *exit_code = cli_fail(s, "%s", err);
        cli_shards_close(cs);
        return -1;
    }
    for (unsigned i = 0; i < cs->map->n; i++) {
        s = offpay_ledger_open(&cs->l[i], cs->map->url[i], create, err, sizeof err);
        if (s == OFFPAY_OK && !create && shard_check(cs->l[i], i, cs->map->n, NULL, err, sizeof err) != 0)
            s = OFFPAY_ERR_USAGE;
        if (s != OFFPAY_OK) {
            if (cs->map->n > 1)
                *exit_code = cli_fail(s, "Shard %u: %s", i, err);
            else
                *exit_code = cli_fail(s, "%s", err);
            cli_shards_close(cs);
            return -1;
        }
        cs->n = i + 1;
    }
    return 0;
}

void cli_shards_close(struct cli_shards *cs)
{
    for (unsigned i = 0; i < cs->n; i++)
        offpay_ledger_close(cs->l[i]);
    free(cs->map);
    memset(cs, 0, sizeof *cs);
}

struct offpay_ledger *cli_shards_of_name(const struct cli_shards *cs, const char *name)
{
    return cs->l[offpay_shards_of_bucket(cs->map, offpay_shards_bucket_of_name(name))];
}

struct offpay_ledger *cli_shards_of_wallet(const struct cli_shards *cs, const uint8_t id[OFFPAY_WALLET_ID_BYTES])
{
    return cs->l[offpay_shards_of_bucket(cs->map, offpay_shards_bucket_of_id(id))];
}

void cli_shards_money(const struct cli_shards *cs, struct offpay_money *m)
{
    char err[256];
    /* Every shard has the row (init writes it on each); a damaged one only
     * changes how amounts are printed, so it is said and the default used. */
    if (offpayd_money_read(cs->l[0], m, err, sizeof err) != 0)
        fprintf(stderr, "offpayd: note: %s Amounts are shown in %s.\n", err, m->code);
}

/* ---- serving ---- */

static void shard_init(struct shard *sh, unsigned index, const char *url, size_t pool_cap)
{
    memset(sh, 0, sizeof *sh);
    sh->index = index;
    snprintf(sh->url, sizeof sh->url, "%s", url);
    pthread_mutex_init(&sh->pool_lock, NULL);
    pthread_mutex_init(&sh->writer_lock, NULL);
    pthread_mutex_init(&sh->group_lock, NULL);
    sh->group_tail = &sh->group_head;
    sh->pool_cap = pool_cap;
}

int shards_start(struct offpayd *srv, size_t pool_cap, unsigned writers, char *err, size_t err_cap)
{
    char why[512];
    if (offpay_shards_load(&srv->map, srv->ledger_url, err, err_cap) != OFFPAY_OK)
        return -1;
    if ((srv->shard = calloc(srv->map.n, sizeof *srv->shard)) == NULL) {
        snprintf(err, err_cap, "Out of memory.");
        return -1;
    }
    for (unsigned i = 0; i < srv->map.n; i++) {
        struct shard *sh = &srv->shard[i];
        shard_init(sh, i, srv->map.url[i], pool_cap);
        srv->n_shards = i + 1;
        if ((sh->pool = calloc(pool_cap, sizeof *sh->pool)) == NULL) {
            snprintf(err, err_cap, "Out of memory.");
            return -1;
        }
        if (offpay_ledger_open(&sh->writer, sh->url, 0, why, sizeof why) != OFFPAY_OK ||
            shard_check(sh->writer, i, srv->map.n, &sh->transit, why, sizeof why) != 0) {
            snprintf(err, err_cap, "%s%s", srv->map.n > 1 ? "A shard of the ledger: " : "", why);
            return -1;
        }
        sh->writers[0] = sh->writer;
        sh->writers_n = 1;
        /* SQLite has one writer at a time: more connections would only queue. */
        unsigned n = strcmp(sh->writer->ops->name, "postgresql") == 0 ? writers : 1;
        for (; sh->writers_n < n; sh->writers_n++) {
            if (offpay_ledger_open(&sh->writers[sh->writers_n], sh->url, 0, why, sizeof why) != OFFPAY_OK) {
                snprintf(err, err_cap, "%s%s", srv->map.n > 1 ? "A shard of the ledger: " : "", why);
                return -1;
            }
        }
    }
    return 0;
}

void shards_stop(struct offpayd *srv)
{
    for (unsigned i = 0; i < srv->n_shards; i++) {
        struct shard *sh = &srv->shard[i];
        for (size_t k = 0; k < sh->pool_n; k++)
            offpay_ledger_close(sh->pool[k]);
        free(sh->pool);
        for (unsigned k = 1; k < sh->writers_n; k++)
            offpay_ledger_close(sh->writers[k]);
        offpay_ledger_close(sh->writer);
        pthread_mutex_destroy(&sh->pool_lock);
        pthread_mutex_destroy(&sh->writer_lock);
        pthread_mutex_destroy(&sh->group_lock);
    }
    free(srv->shard);
    srv->shard = NULL;
    srv->n_shards = 0;
}

struct shard *shard_of_wallet(struct offpayd *srv, const uint8_t id[OFFPAY_WALLET_ID_BYTES])
{
    return &srv->shard[offpay_shards_of_bucket(&srv->map, offpay_shards_bucket_of_id(id))];
}

struct shard *shard_of_name(struct offpayd *srv, const char *name)
{
    return &srv->shard[offpay_shards_of_bucket(&srv->map, offpay_shards_bucket_of_name(name))];
}

int request_use_shard(struct request *rq, struct shard *sh)
{
    if (rq->shard == sh && rq->l != NULL)
        return 0;
    pool_give(rq->shard, rq->l);
    rq->shard = sh;
    rq->l = pool_take(sh);
    return rq->l != NULL ? 0 : -1;
}

int shard_find_key(struct offpayd *srv, const uint8_t key[OFFPAY_PUBLIC_KEY_BYTES], struct shard **out,
                   struct offpay_ledger_wallet *w)
{
    int down = 0;
    for (unsigned i = 0; i < srv->n_shards; i++) {
        struct shard *sh = &srv->shard[i];
        struct offpay_ledger *l = pool_take(sh);
        enum offpay_ledger_result r = l != NULL ? l->ops->wallet_get_by_key(l, key, w) : OFFPAY_LEDGER_UNAVAILABLE;
        pool_give(sh, l);
        if (r == OFFPAY_LEDGER_OK) {
            *out = sh;
            return 0;
        }
        down |= r != OFFPAY_LEDGER_NOT_FOUND;
    }
    return down ? -1 : 1;
}

/*
 * relay.c - value on its way between shards: delivery and the relay.
 *
 * A record settles on its payer's shard in one local transaction, so that
 * double spending is decided there alone.  When its payee lives on another
 * shard, that transaction cannot create the payee's coin; it credits the
 * shard's in-flight account instead, with a coin owned by the in-flight key
 * whose id is the record id (the transactional outbox, shard.c).  Delivery
 * then moves the value, in two transactions, each idempotent:
 *
 *   1. on the payee's shard: create the payee's output (its id is the one
 *      offpay_record_output gives, so a second delivery finds it and does
 *      nothing) and add the amount to the payee account's received total;
 *      or, when that coin would pass the payee's holding limit (the
 *      waterfall, decided here where its coins and limits are), add the
 *      amount to its online balance and write the "delivered" mark that a
 *      second delivery finds;
 *   2. on the payer's shard: spend the in-flight coin (a coin already
 *      spent: nothing).
 *
 * An online payment to an account on another shard (ep_pay_online.c) is
 * in flight the same way, as a coin keyed by its transfer id with a
 * "transfer" meta row naming the payee account; its step 1 adds the amount
 * to that account's online balance with the "delivered" mark.
 *
 * A crash between the settlement and step 1 leaves the coin in flight: the
 * relay finds it and delivers.  A crash between 1 and 2 leaves the value
 * both delivered and in flight: the next delivery finds the output there,
 * skips step 1 and does step 2.  No lock spans two shards and no
 * transaction waits for another shard; `audit` counts what is in flight and
 * what was delivered but not yet taken off (cmd_audit.c).
 *
 * Every offpayd process delivers its own settlements right after the
 * commit, and runs a relay thread that looks for anything in flight on any
 * shard every $OFFPAYD_RELAY_MS (default 1000), so that a process killed
 * after a commit is finished for by any other, or by itself on restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "offpay/amount.h"

#define RELAY_BATCH 64 /* in-flight coins read per shard and round */

struct delivery {
    const uint8_t *id;               /* the in-flight coin's: the record's, or the online payment's */
    const struct offpay_record *rec; /* a record's output, or NULL: */
    const char *to;                  /* an online payment to this account, of */
    uint64_t amount;
};

/* Whether value keyed by id was delivered without a coin (meta
 * "delivered:HEX").  Returns OK (yes), NOT_FOUND (no) or the failure. */
static enum offpay_ledger_result delivered_mark(struct offpay_ledger *l, const uint8_t *id)
{
    char key[SHARD_META_KEY_MAX];
    uint8_t v[8];
    size_t len;
    shard_meta_key(key, "delivered", id);
    return l->ops->meta_get(l, key, v, sizeof v, &len);
}

static enum offpay_ledger_result delivered_set(struct offpay_ledger *l, const uint8_t *id)
{
    char key[SHARD_META_KEY_MAX];
    shard_meta_key(key, "delivered", id);
    return l->ops->meta_set(l, key, (const uint8_t *)"1", 1);
}

/* Add amount to account acc's received total, and to its online balance when online. */
static enum tx_step credit(struct offpay_ledger *l, struct offpay_ledger_account *acc, uint64_t amount, int online)
{
    if (acc->received > (uint64_t)INT64_MAX - amount || (online && acc->online > (uint64_t)INT64_MAX - amount))
        return STEP_ERROR;
    acc->received += amount;
    if (online)
        acc->online += amount;
    TRY(l->ops->account_update(l, acc));
    return STEP_COMMIT;
}

/* Step 1, on the payee's shard: a record's output.  Its coin, or (the
 * holding limit's waterfall, decided here where the payee's coins and
 * limits are) its account's online balance with a delivered mark. */
static enum tx_step deliver_tx(struct offpay_ledger *l, void *ctx)
{
    struct delivery *d = ctx;
    struct offpay_ledger_wallet payee;
    struct offpay_ledger_account acc;
    struct offpay_ledger_utxo out, had;
    struct offpay_utxo o;
    int waterfall;

    TRY(l->ops->wallet_get_by_key(l, d->rec->payee_key, &payee));
    if (offpay_record_output(&o, d->rec, d->id, 0) != OFFPAY_OK)
        return STEP_ERROR;
    enum offpay_ledger_result r = l->ops->utxo_get(l, o.owner, o.id, &had);
    if (r == OFFPAY_LEDGER_NOT_FOUND)
        r = delivered_mark(l, d->id);
    if (r == OFFPAY_LEDGER_OK)
        return STEP_COMMIT; /* delivered before */
    if (r != OFFPAY_LEDGER_NOT_FOUND)
        return tx_step_of(r);
    TRY(offpayd_waterfall(l, &payee, o.amount, &waterfall));
    if (waterfall) {
        TRY(delivered_set(l, d->id));
    } else {
        memset(&out, 0, sizeof out);
        memcpy(out.id, o.id, OFFPAY_UTXO_ID_BYTES);
        memcpy(out.owner, o.owner, OFFPAY_PUBLIC_KEY_BYTES);
        out.amount = o.amount;
        out.account_id = payee.account_id;
        r = l->ops->utxo_insert(l, &out, (uint64_t)time(NULL));
        if (r == OFFPAY_LEDGER_DUPLICATE)
            return STEP_COMMIT; /* delivered at the same moment by another */
        TRY(r);
    }
    TRY(l->ops->account_get_by_id(l, payee.account_id, &acc));
    return credit(l, &acc, o.amount, waterfall);
}

/* Step 1, on the payee's shard: an online payment, to the account's online
 * balance, once (the delivered mark). */
static enum tx_step credit_tx(struct offpay_ledger *l, void *ctx)
{
    struct delivery *d = ctx;
    struct offpay_ledger_account acc;
    enum offpay_ledger_result r = delivered_mark(l, d->id);
    if (r == OFFPAY_LEDGER_OK)
        return STEP_COMMIT; /* delivered before */
    if (r != OFFPAY_LEDGER_NOT_FOUND)
        return tx_step_of(r);
    TRY(l->ops->account_get(l, d->to, &acc));
    TRY(delivered_set(l, d->id));
    return credit(l, &acc, d->amount, 1);
}

/* Step 2, on the payer's shard. */
static enum tx_step unload_transit_tx(struct offpay_ledger *l, void *ctx)
{
    struct delivery *d = ctx;
    struct offpay_ledger_utxo coin;
    enum offpay_ledger_result r = l->ops->utxo_get(l, shard_transit_key, d->id, &coin);
    if (r == OFFPAY_LEDGER_NOT_FOUND)
        return STEP_COMMIT;
    TRY(r);
    if (coin.spent != OFFPAY_LEDGER_UNSPENT)
        return STEP_COMMIT; /* taken off before */
    /* Only the coin: the in-flight account's row stays as it is (shard.c). */
    TRY(l->ops->utxo_spend(l, &coin, OFFPAY_LEDGER_SPENT_BY_RECORD, d->id, (uint64_t)time(NULL)));
    return STEP_COMMIT;
}

/* Run fn in a transaction of its own on a connection of sh.  Returns 0 or -1. */
static int on_shard(struct shard *sh, enum tx_step (*fn)(struct offpay_ledger *l, void *ctx), struct delivery *d)
{
    struct offpay_ledger *l = pool_take(sh);
    if (l == NULL)
        return -1;
    enum tx_result r = tx_run(l, fn, d);
    if (r != TX_COMMITTED)
        fprintf(stderr, "offpayd: delivery on shard %u did not commit: %s\n", sh->index, l->ops->last_error(l));
    pool_give(sh, l);
    return r == TX_COMMITTED ? 0 : -1;
}

int deliver_record(struct offpayd *srv, struct shard *from, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                   const struct offpay_record *rec)
{
    struct delivery d = {id, rec, NULL, 0};
    struct shard *to;
    struct offpay_ledger_wallet w;
    if (shard_find_key(srv, rec->payee_key, &to, &w) != 0)
        return -1; /* not found, or a shard did not answer: the relay tries again */
    if (to == from)
        return 0; /* cannot be: the record settled without going in flight */
    if (on_shard(to, deliver_tx, &d) != 0 || on_shard(from, unload_transit_tx, &d) != 0)
        return -1;
    return 0;
}

int deliver_transfer(struct offpayd *srv, struct shard *from, const uint8_t id[OFFPAY_UTXO_ID_BYTES], const char *to,
                     uint64_t amount)
{
    struct delivery d = {id, NULL, to, amount};
    struct shard *sh = shard_of_name(srv, to);
    if (sh == from)
        return 0; /* cannot be: paid without going in flight */
    if (on_shard(sh, credit_tx, &d) != 0 || on_shard(from, unload_transit_tx, &d) != 0)
        return -1;
    return 0;
}

/* ---- the relay ---- */

struct in_flight {
    uint8_t ids[RELAY_BATCH][OFFPAY_UTXO_ID_BYTES];
    uint64_t amounts[RELAY_BATCH];
    size_t n;
};

static int collect(void *ctx, const struct offpay_ledger_utxo *u)
{
    struct in_flight *f = ctx;
    if (f->n >= RELAY_BATCH)
        return 1;
    f->amounts[f->n] = u->amount;
    memcpy(f->ids[f->n++], u->id, OFFPAY_UTXO_ID_BYTES);
    return 0;
}

/* One round on shard sh: deliver what is in flight there.  Returns how many
 * were delivered. */
static size_t relay_shard(struct offpayd *srv, struct shard *sh)
{
    struct in_flight f;
    struct offpay_record rec;
    struct offpay_ledger_record stored;
    size_t done = 0;
    f.n = 0;
    struct offpay_ledger *l = pool_take(sh);
    if (l == NULL)
        return 0;
    if (l->ops->utxo_unspent_of(l, shard_transit_key, NULL, RELAY_BATCH, collect, &f) != OFFPAY_LEDGER_OK)
        f.n = 0;
    for (size_t i = 0; i < f.n; i++) {
        /* The in-flight coin's id is its record's, whose payee key says
         * where it goes; or an online payment's, whose transfer row names
         * the payee account. */
        char key[SHARD_META_KEY_MAX], to[OFFPAY_ACCOUNT_MAX + 1];
        size_t len = 0;
        enum offpay_ledger_result r = l->ops->record_get(l, f.ids[i], &stored);
        int is_record = r == OFFPAY_LEDGER_OK;
        if (is_record && offpay_record_decode(&rec, stored.body, stored.body_len) != OFFPAY_OK)
            continue;
        if (r == OFFPAY_LEDGER_NOT_FOUND) {
            shard_meta_key(key, "transfer", f.ids[i]);
            r = l->ops->meta_get(l, key, (uint8_t *)to, sizeof to - 1, &len);
            to[r == OFFPAY_LEDGER_OK ? len : 0] = '\0';
            if (r != OFFPAY_LEDGER_OK || !offpay_account_name_valid(to))
                continue;
        } else if (r != OFFPAY_LEDGER_OK) {
            continue;
        }
        pool_give(sh, l);
        l = NULL;
        if (is_record)
            done += deliver_record(srv, sh, f.ids[i], &rec) == 0;
        else
            done += deliver_transfer(srv, sh, f.ids[i], to, f.amounts[i]) == 0;
        if ((l = pool_take(sh)) == NULL)
            break;
    }
    pool_give(sh, l);
    return done;
}

static void *relay_run(void *arg)
{
    struct offpayd *srv = arg;
    pthread_mutex_lock(&srv->relay_lock);
    while (!srv->relay_stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += srv->relay_ms / 1000;
        until.tv_nsec += (long)(srv->relay_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&srv->relay_wake, &srv->relay_lock, &until);
        if (srv->relay_stop)
            break;
        pthread_mutex_unlock(&srv->relay_lock);
        size_t done = 0;
        for (unsigned i = 0; i < srv->n_shards; i++)
            done += relay_shard(srv, &srv->shard[i]);
        if (done > 0)
            fprintf(stderr, "offpayd: relay delivered %zu payment(s) between shards\n", done);
        pthread_mutex_lock(&srv->relay_lock);
    }
    pthread_mutex_unlock(&srv->relay_lock);
    return NULL;
}

int relay_start(struct offpayd *srv)
{
    const char *ms = getenv("OFFPAYD_RELAY_MS"), *mode = getenv("OFFPAYD_TEST_DELIVER");
    srv->relay_running = 0;
    srv->relay_ms = 1000;
    srv->deliver_now = mode == NULL || strcmp(mode, "relay") != 0;
    if (ms != NULL) {
        uint64_t v;
        if (offpay_amount_parse(&v, ms) != 0 || v > 3600000u) {
            fprintf(stderr, "offpayd: OFFPAYD_RELAY_MS must be a number of milliseconds (0 = no relay).\n");
            return -1;
        }
        srv->relay_ms = (unsigned)v;
    }
    if (srv->n_shards < 2 || srv->relay_ms == 0)
        return 0;
    pthread_mutex_init(&srv->relay_lock, NULL);
    pthread_cond_init(&srv->relay_wake, NULL);
    srv->relay_stop = 0;
    if (pthread_create(&srv->relay_thread, NULL, relay_run, srv) != 0) {
        pthread_cond_destroy(&srv->relay_wake);
        pthread_mutex_destroy(&srv->relay_lock);
        return -1;
    }
    srv->relay_running = 1;
    return 0;
}

void relay_stop(struct offpayd *srv)
{
    if (!srv->relay_running)
        return;
    pthread_mutex_lock(&srv->relay_lock);
    srv->relay_stop = 1;
    pthread_cond_signal(&srv->relay_wake);
    pthread_mutex_unlock(&srv->relay_lock);
    pthread_join(srv->relay_thread, NULL);
    pthread_cond_destroy(&srv->relay_wake);
    pthread_mutex_destroy(&srv->relay_lock);
    srv->relay_running = 0;
}

/*
 * loss.c - wallets reported lost or stolen (docs/wallet.md, "Lost device"),
 * and the server's clock.
 *
 * A report (offpayd wallet revoke, or POST /v1/wallets/lost from another
 * wallet of the same account) revokes the wallet at once: it joins the
 * revocation list, so payees refuse it offline as soon as they sync, and
 * the server refuses its requests.  It is not a fraud: the records it
 * signed still settle when their payees bring them, until the end of its
 * grace period G (meta loss_grace, default OFFPAYD_DEFAULT_GRACE), fixed
 * at the report: writeoff_at = report + G.  From writeoff_at on, every
 * record it signed that the ledger has not settled is rejected
 * ("written_off", settle.c), and the write-off returns its unspent coins to
 * its account's online balance: one transaction per wallet spends them (as
 * an unload does) and marks the wallet written off, so a second run, or a
 * second process, finds nothing to do.  Value moves only between the
 * account's coins and its online balance, so audit's sums hold throughout.
 * A payment to a reported wallet goes to its account's online balance
 * (settle.c, relay.c): no coin is made for a revoked key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "offpay/amount.h"

#define WRITEOFF_PAGE 256 /* coins spent per read, wallets per list */

uint64_t offpayd_now(void)
{
    const char *fake = getenv("OFFPAYD_NOW");
    uint64_t t;
    if (fake != NULL && offpay_amount_parse(&t, fake) == 0 && t > 0)
        return t;
    return (uint64_t)time(NULL);
}

const char *offpayd_loss_name(int loss)
{
    switch (loss) {
    case OFFPAY_LEDGER_LOST:
        return "lost";
    case OFFPAY_LEDGER_STOLEN:
        return "stolen";
    case OFFPAY_LEDGER_WITHDRAWN:
        return "revoked";
    default:
        return NULL;
    }
}

int offpayd_loss_parse(const char *name, int operator)
{
    if (strcmp(name, "lost") == 0)
        return OFFPAY_LEDGER_LOST;
    if (strcmp(name, "stolen") == 0)
        return OFFPAY_LEDGER_STOLEN;
    if (operator && strcmp(name, "revoked") == 0)
        return OFFPAY_LEDGER_WITHDRAWN;
    return -1;
}

const char *offpayd_wallet_state(const struct offpay_ledger_wallet *w)
{
    if (w->fraudulent)
        return "fraud";
    if (w->loss == OFFPAY_LEDGER_LOST || w->loss == OFFPAY_LEDGER_STOLEN)
        return "lost";
    if (w->loss == OFFPAY_LEDGER_WITHDRAWN)
        return "revoked";
    return "active";
}

enum offpay_ledger_result offpayd_grace(struct offpay_ledger *l, uint64_t *grace)
{
    uint8_t v[24];
    size_t len = 0;
    char text[24];
    enum offpay_ledger_result r = l->ops->meta_get(l, META_LOSS_GRACE, v, sizeof v - 1, &len);
    *grace = OFFPAYD_DEFAULT_GRACE;
    if (r == OFFPAY_LEDGER_NOT_FOUND)
        return OFFPAY_LEDGER_OK;
    if (r != OFFPAY_LEDGER_OK)
        return r;
    memcpy(text, v, len);
    text[len] = '\0';
    if (offpay_amount_parse(grace, text) != 0 || *grace == 0 || *grace > OFFPAYD_GRACE_MAX)
        *grace = OFFPAYD_DEFAULT_GRACE; /* only offpayd limits writes it, checked */
    return OFFPAY_LEDGER_OK;
}

enum offpay_ledger_result offpayd_report_lost(struct offpay_ledger *l, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                              int loss, uint64_t now, struct offpay_ledger_wallet *w, int *fresh)
{
    uint64_t grace;
    enum offpay_ledger_result r = l->ops->wallet_get(l, id, w);
    *fresh = 0;
    if (r != OFFPAY_LEDGER_OK)
        return r;
    if (w->loss != OFFPAY_LEDGER_IN_USE)
        return OFFPAY_LEDGER_OK; /* the first report stands, with its grace period */
    if ((r = offpayd_grace(l, &grace)) != OFFPAY_LEDGER_OK ||
        (r = l->ops->wallet_report_lost(l, id, loss, now, now + grace)) != OFFPAY_LEDGER_OK ||
        (r = l->ops->wallet_get(l, id, w)) != OFFPAY_LEDGER_OK)
        return r;
    *fresh = 1;
    return OFFPAY_LEDGER_OK;
}

/* ---- the write-off ---- */

struct id_page {
    uint8_t (*ids)[OFFPAY_UTXO_ID_BYTES]; /* WRITEOFF_PAGE of them */
    size_t n, size;
};

static int page_coin(void *ctx, const struct offpay_ledger_utxo *u)
{
    struct id_page *p = ctx;
    memcpy(p->ids[p->n++], u->id, OFFPAY_UTXO_ID_BYTES);
    return p->n == WRITEOFF_PAGE;
}

static int page_wallet(void *ctx, const struct offpay_ledger_wallet *w)
{
    struct id_page *p = ctx;
    memcpy(p->ids[p->n++], w->id, OFFPAY_WALLET_ID_BYTES);
    return p->n == WRITEOFF_PAGE;
}

struct writeoff {
    const uint8_t *id;
    uint64_t now;
    struct id_page coins;
    uint64_t amount; /* out: what went back */
    int done;        /* out: this run wrote it off */
};

/* One wallet's write-off, in one transaction: every unspent coin of its key
 * spent as unloaded, their sum added to the online balance, the wallet
 * marked.  A wallet not due, or written off already, is left alone. */
static enum tx_step writeoff_tx(struct offpay_ledger *l, void *ctx)
{
    struct writeoff *wo = ctx;
    struct offpay_ledger_wallet w;
    struct offpay_ledger_account acc;
    struct offpay_ledger_utxo coin;
    enum offpay_ledger_result r = l->ops->wallet_get(l, wo->id, &w);

    wo->amount = 0;
    wo->done = 0;
    if (r == OFFPAY_LEDGER_NOT_FOUND)
        return STEP_COMMIT;
    TRY(r);
    if (w.loss == OFFPAY_LEDGER_IN_USE || w.written_off_at != 0 || w.writeoff_at > wo->now)
        return STEP_COMMIT;
    /* Spent coins leave the unspent set, so each page reads from the start. */
    do {
        wo->coins.n = 0;
        TRY(l->ops->utxo_unspent_of(l, w.public_key, NULL, WRITEOFF_PAGE, page_coin, &wo->coins));
        for (size_t i = 0; i < wo->coins.n; i++) {
            TRY(l->ops->utxo_get(l, w.public_key, wo->coins.ids[i], &coin));
            if (coin.spent != OFFPAY_LEDGER_UNSPENT || coin.account_id != w.account_id ||
                coin.amount > (uint64_t)INT64_MAX - wo->amount)
                return STEP_ERROR; /* the ledger contradicts itself: leave it as it is */
            TRY(l->ops->utxo_spend(l, &coin, OFFPAY_LEDGER_SPENT_BY_UNLOAD, NULL, wo->now));
            wo->amount += coin.amount;
        }
    } while (wo->coins.n == WRITEOFF_PAGE);
    TRY(l->ops->account_get_by_id(l, w.account_id, &acc));
    if (acc.online > (uint64_t)INT64_MAX - wo->amount)
        return STEP_ERROR;
    acc.online += wo->amount;
    TRY(l->ops->account_update(l, &acc));
    TRY(l->ops->wallet_write_off(l, wo->id, wo->now, wo->amount));
    wo->done = 1;
    return STEP_COMMIT;
}

int offpayd_write_off_due(struct offpay_ledger *l, uint64_t now, size_t *wallets, uint64_t *amount)
{
    struct id_page due = {NULL, 0, WRITEOFF_PAGE};
    struct writeoff wo;
    int rc = 0;

    *wallets = 0;
    *amount = 0;
    memset(&wo, 0, sizeof wo);
    due.ids = calloc(WRITEOFF_PAGE, sizeof *due.ids);
    wo.coins.ids = calloc(WRITEOFF_PAGE, sizeof *wo.coins.ids);
    if (due.ids == NULL || wo.coins.ids == NULL || now == 0)
        rc = -1;
    /* Each round lists up to a page of due wallets; a wallet written off
     * leaves the list, so the rounds end (a failure stops them). */
    while (rc == 0) {
        due.n = 0;
        enum offpay_ledger_result r = l->ops->begin(l, 0);
        if (r == OFFPAY_LEDGER_OK)
            r = l->ops->wallet_list(l, 0, now, page_wallet, &due);
        l->ops->rollback(l);
        if (r != OFFPAY_LEDGER_OK) {
            rc = -1;
            break;
        }
        size_t before = *wallets;
        for (size_t i = 0; i < due.n && rc == 0; i++) {
            wo.id = due.ids[i];
            wo.now = now;
            if (tx_run(l, writeoff_tx, &wo) != TX_COMMITTED) {
                rc = -1;
                break;
            }
            if (wo.done) {
                (*wallets)++;
                *amount += wo.amount;
            }
        }
        if (due.n < WRITEOFF_PAGE || *wallets == before)
            break;
    }
    free(due.ids);
    free(wo.coins.ids);
    return rc;
}

void offpayd_write_off_all(struct offpayd *srv, uint64_t now)
{
    for (unsigned i = 0; i < srv->n_shards; i++) {
        struct shard *sh = &srv->shard[i];
        size_t n;
        uint64_t amount;
        pthread_mutex_lock(&sh->writer_lock);
        int rc = offpayd_write_off_due(sh->writer, now, &n, &amount);
        if (rc != 0)
            fprintf(stderr, "offpayd: the write-off of lost wallets failed (tried again in a minute): %s\n",
                    sh->writer->ops->last_error(sh->writer));
        pthread_mutex_unlock(&sh->writer_lock);
        if (n > 0)
            fprintf(stderr, "offpayd: %zu lost wallet%s past the grace period: %llu back to the online balance\n", n,
                    n == 1 ? "" : "s", (unsigned long long)amount);
    }
}

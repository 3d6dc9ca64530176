/*
 * settle.c - settlement of payment records (SPEC rules 6-8).
 *
 * Two phases, so storage never stalls crypto and crypto never holds the
 * write lock.  settle_verify runs in the request's worker thread with no
 * transaction open: it checks every signature once (a certificate is
 * verified once per process and then found in the cache).  settle_apply then
 * runs one write transaction for the whole batch: it looks every input up in
 * the ledger -- the authority on coins, which is why input attestations are
 * not re-verified -- and spends them, creates the payee and change outputs,
 * stores the record, or records a double spend as evidence and revokes the
 * payer; a payee output that would pass the payee's holding limit goes to
 * its account's online balance instead (the waterfall), as does a payee's
 * output to a wallet reported lost; a record of a wallet reported lost
 * settles only until the end of its grace period (loss.c).  A record is keyed by its id, so the same record brought by payer
 * and payee, in any order or at once, settles once: the second finds it
 * settled.  Records of one batch may depend on each other (one spends an
 * output another creates); the batch is applied in passes until no record
 * makes progress.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the certificate cache ---- */

#define CERT_SLOTS 4096u

struct cert_slot {
    size_t len;
    uint8_t bytes[OFFPAY_CERT_BYTES_MAX];
};

struct cert_cache {
    pthread_mutex_t lock;
    struct cert_slot slots[CERT_SLOTS];
};

struct cert_cache *cert_cache_new(void)
{
    struct cert_cache *c = calloc(1, sizeof *c);
    if (c != NULL)
        pthread_mutex_init(&c->lock, NULL);
    return c;
}

void cert_cache_free(struct cert_cache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* A certificate is good now if it is inside its validity window and the
 * issuer signed it; the signature is checked once per distinct certificate
 * (the cache compares whole encodings, so a forged body never hits). */
static enum offpay_status cert_good(struct offpayd *srv, const struct offpay_cert *cert, uint64_t now)
{
    uint8_t enc[OFFPAY_CERT_BYTES_MAX];
    size_t n = offpay_cert_encode(enc, sizeof enc, cert);
    if (n == 0)
        return OFFPAY_ERR_BAD_ACCOUNT_NAME;
    if (now < cert->not_before)
        return OFFPAY_ERR_CERT_NOT_YET_VALID;
    if (now > cert->not_after)
        return OFFPAY_ERR_CERT_EXPIRED;
    struct cert_cache *cc = srv->certs;
    unsigned slot = ((unsigned)cert->issuer_sig[0] << 8 | cert->issuer_sig[1]) % CERT_SLOTS;
    int hit;
    pthread_mutex_lock(&cc->lock);
    hit = cc->slots[slot].len == n && memcmp(cc->slots[slot].bytes, enc, n) == 0;
    pthread_mutex_unlock(&cc->lock);
    if (hit)
        return OFFPAY_OK;
    enum offpay_status s = offpay_cert_verify(cert, srv->issuer_pk, NULL, now);
    if (s != OFFPAY_OK)
        return s;
    pthread_mutex_lock(&cc->lock);
    cc->slots[slot].len = n;
    memcpy(cc->slots[slot].bytes, enc, n);
    pthread_mutex_unlock(&cc->lock);
    return OFFPAY_OK;
}

static void reject(struct sync_item *it, const char *reason)
{
    it->outcome = SYNC_REJECTED;
    it->reason = reason;
}

/* The payee's confirmation: names this record and comes from its payee
 * under a good certificate.  Its signature is not checked here: a
 * confirmation changes no settlement outcome (SPEC rule 8 settles an
 * unconfirmed record at its payer's sync, and only a refusal voids), so an
 * Ed25519 verification per record would buy nothing.  The ledger keeps it
 * as it came, and whatever shows it as proof of the payee's acceptance must
 * verify it first (docs/server.md, "Where the confirmation is checked"). */
static enum offpay_status confirmation_good(struct offpayd *srv, const struct sync_item *it, uint64_t now)
{
    const struct offpay_confirmation *c = &it->conf;
    if (memcmp(c->record_id, it->id, OFFPAY_RECORD_ID_BYTES) != 0)
        return OFFPAY_ERR_WRONG_RECORD;
    if (memcmp(c->payee.public_key, it->rec.payee_key, OFFPAY_PUBLIC_KEY_BYTES) != 0)
        return OFFPAY_ERR_WRONG_PAYEE;
    return cert_good(srv, &c->payee, now);
}

void settle_verify(struct offpayd *srv, const uint8_t caller_pk[OFFPAY_PUBLIC_KEY_BYTES], uint64_t now,
                   struct sync_item *it)
{
    it->outcome = SYNC_PENDING;
    it->caller_is_payer = memcmp(caller_pk, it->rec.payer.public_key, OFFPAY_PUBLIC_KEY_BYTES) == 0;
    it->caller_is_payee = memcmp(caller_pk, it->rec.payee_key, OFFPAY_PUBLIC_KEY_BYTES) == 0;
    if (!it->caller_is_payer && !it->caller_is_payee) {
        reject(it, "not_party");
        return;
    }
    /* Verified when it got into the ledger; its id commits to its body, and
     * the transaction answers it from the ledger.  So a record both sides
     * bring is verified once. */
    if (it->known)
        return;
    if (cert_good(srv, &it->rec.payer, now) != OFFPAY_OK) {
        reject(it, "invalid");
        return;
    }
    /* The certificate was checked just above; the ledger is the authority on inputs. */
    __atomic_add_fetch(&srv->payment_sigs, 1, __ATOMIC_RELAXED);
    if (offpay_record_verify(&it->rec, srv->issuer_pk, NULL, now,
                             OFFPAY_VERIFY_SKIP_PAYER_CERT | OFFPAY_VERIFY_SKIP_INPUT_ATTESTATIONS) != OFFPAY_OK) {
        reject(it, "invalid");
        return;
    }
    if (it->conf_len > 0 && confirmation_good(srv, it, now) != OFFPAY_OK) {
        reject(it, "bad_confirmation");
        return;
    }
    /* Only the payer voids (SPEC rule 8): it is the payer's inputs the
     * refusal frees, and a payee holding both its confirmation and its
     * refusal must not be able to undo a payment the payer completed. */
    if (it->ref_len > 0 && it->caller_is_payer)
        __atomic_add_fetch(&srv->payment_sigs, 1, __ATOMIC_RELAXED);
    if (it->ref_len > 0 && (!it->caller_is_payer || offpay_refusal_verify(&it->ref, &it->rec) != OFFPAY_OK)) {
        reject(it, "bad_refusal");
        return;
    }
}

/* ---- the transaction ---- */

/* Value moved between accounts by this batch, applied once at the end;
 * online: payee outputs that went to the online balance (the waterfall). */
struct delta {
    int64_t account_id;
    uint64_t received, sent, online;
};

struct apply {
    struct sync_item *items;
    size_t n;
    struct delta *deltas;
    size_t n_deltas;
    unsigned char *verdict; /* outcome and reason after verification, per item */
    const char **reasons;
    /* The last payer and payee looked up: a batch usually comes from one
     * wallet and pays few others, so most lookups hit these. */
    struct offpay_ledger_wallet payer, payee;
    int have_payer, have_payee;
};

static enum offpay_ledger_result payer_of(struct request *rq, struct apply *a, const uint8_t id[OFFPAY_WALLET_ID_BYTES],
                                          struct offpay_ledger_wallet *w)
{
    if (!a->have_payer || memcmp(a->payer.id, id, OFFPAY_WALLET_ID_BYTES) != 0) {
        enum offpay_ledger_result r = rq->l->ops->wallet_get(rq->l, id, &a->payer);
        a->have_payer = r == OFFPAY_LEDGER_OK;
        if (r != OFFPAY_LEDGER_OK)
            return r;
    }
    *w = a->payer;
    return OFFPAY_LEDGER_OK;
}

static enum offpay_ledger_result payee_of(struct request *rq, struct apply *a,
                                          const uint8_t key[OFFPAY_PUBLIC_KEY_BYTES], struct offpay_ledger_wallet *w)
{
    if (!a->have_payee || memcmp(a->payee.public_key, key, OFFPAY_PUBLIC_KEY_BYTES) != 0) {
        enum offpay_ledger_result r = rq->l->ops->wallet_get_by_key(rq->l, key, &a->payee);
        a->have_payee = r == OFFPAY_LEDGER_OK;
        if (r != OFFPAY_LEDGER_OK)
            return r;
    }
    *w = a->payee;
    return OFFPAY_LEDGER_OK;
}

static int add_delta(struct apply *a, int64_t account_id, uint64_t received, uint64_t sent, uint64_t online)
{
    size_t i;
    for (i = 0; i < a->n_deltas; i++)
        if (a->deltas[i].account_id == account_id)
            break;
    if (i == a->n_deltas) {
        a->deltas[i].account_id = account_id;
        a->deltas[i].received = a->deltas[i].sent = a->deltas[i].online = 0;
        a->n_deltas++;
    }
    if (a->deltas[i].received > (uint64_t)INT64_MAX - received || a->deltas[i].sent > (uint64_t)INT64_MAX - sent ||
        a->deltas[i].online > (uint64_t)INT64_MAX - online)
        return -1;
    a->deltas[i].received += received;
    a->deltas[i].sent += sent;
    a->deltas[i].online += online;
    return 0;
}

/* Store the evidence of a double spend and revoke the payer. */
static enum tx_step double_spend(struct request *rq, struct sync_item *it, const struct offpay_ledger_wallet *payer,
                                 const struct offpay_ledger_utxo *coin)
{
    struct offpay_ledger *l = rq->l;
    struct offpay_ledger_fraud f;
    struct offpay_ledger_record first;
    uint8_t *first_copy = NULL;
    enum offpay_ledger_result r;

    memset(&f, 0, sizeof f);
    memcpy(f.record_id, it->id, OFFPAY_RECORD_ID_BYTES);
    memcpy(f.payer_wallet, payer->id, OFFPAY_WALLET_ID_BYTES);
    f.account_id = payer->account_id;
    memcpy(f.input, coin->id, OFFPAY_UTXO_ID_BYTES);
    f.at = rq->now;
    f.record = it->rec_bin;
    f.record_len = it->rec_len;
    if (coin->spent == OFFPAY_LEDGER_SPENT_BY_RECORD) {
        r = l->ops->record_get(l, coin->spent_by, &first);
        if (r != OFFPAY_LEDGER_OK)
            return tx_step_of(r == OFFPAY_LEDGER_NOT_FOUND ? OFFPAY_LEDGER_ERROR : r);
        /* The record's body lives in the connection's buffer until the next call: copy it. */
        if ((first_copy = malloc(first.body_len)) == NULL)
            return STEP_ERROR;
        memcpy(first_copy, first.body, first.body_len);
        f.first_record = first_copy;
        f.first_record_len = first.body_len;
    }
    r = l->ops->fraud_insert(l, &f);
    free(first_copy);
    if (r != OFFPAY_LEDGER_OK && r != OFFPAY_LEDGER_DUPLICATE)
        return tx_step_of(r);
    TRY(l->ops->wallet_revoke(l, payer->id, rq->now));
    reject(it, "double_spend");
    it->caught = 1;
    return STEP_COMMIT;
}

/* The waterfall (docs/wallet.md): the payee's output goes to its account's
 * online balance instead of becoming a coin when the coin would take the
 * payee's holding, as the ledger sees it, past its holding limit.  The
 * output is never created, so it cannot be spent or unloaded, and the record
 * settles once, so the online balance gets it once.  Out: *yes. */
static enum tx_step waterfall_decide(struct request *rq, const struct offpay_ledger_wallet *payee,
                                     const struct offpay_record *rec, int *yes)
{
    TRY(offpayd_waterfall(rq->l, payee, rec->payee_amount, yes));
    return STEP_COMMIT;
}

/* Try to settle one item.  Leaves it SYNC_PENDING when an input is not in the
 * ledger (yet): a record of the same batch may create it. */
static enum tx_step apply_one(struct request *rq, struct apply *a, struct sync_item *it)
{
    struct offpay_ledger *l = rq->l;
    struct offpay_ledger_record known;
    struct offpay_ledger_fraud fraud;
    struct offpay_ledger_wallet payer, payee;
    struct offpay_ledger_utxo coins[OFFPAY_RECORD_INPUTS_MAX], out;
    struct offpay_utxo o;
    enum offpay_ledger_result r;
    const struct offpay_record *rec = &it->rec;

    /* Already settled or voided: the same answer again. */
    r = l->ops->record_get(l, it->id, &known);
    if (r == OFFPAY_LEDGER_OK) {
        if (known.state == OFFPAY_LEDGER_RECORD_SETTLED)
            it->outcome = SYNC_SETTLED;
        else if (it->ref_len > 0)
            it->outcome = SYNC_VOIDED; /* the payer voiding it again */
        else
            reject(it, "voided");
        return STEP_COMMIT;
    }
    if (r != OFFPAY_LEDGER_NOT_FOUND)
        return tx_step_of(r);
    /* The payer must be the wallet its certificate names. */
    r = payer_of(rq, a, rec->payer.wallet_id, &payer);
    if (r == OFFPAY_LEDGER_NOT_FOUND ||
        (r == OFFPAY_LEDGER_OK && memcmp(payer.public_key, rec->payer.public_key, OFFPAY_PUBLIC_KEY_BYTES) != 0)) {
        reject(it, "invalid");
        return STEP_COMMIT;
    }
    if (r != OFFPAY_LEDGER_OK)
        return tx_step_of(r);

    /* A refusal signed by the payee voids the record for good. */
    if (it->ref_len > 0) {
        struct offpay_ledger_record v;
        memset(&v, 0, sizeof v);
        memcpy(v.id, it->id, OFFPAY_RECORD_ID_BYTES);
        v.state = OFFPAY_LEDGER_RECORD_VOIDED;
        memcpy(v.payer_wallet, payer.id, OFFPAY_WALLET_ID_BYTES);
        memcpy(v.payee_key, rec->payee_key, OFFPAY_PUBLIC_KEY_BYTES);
        v.at = rq->now;
        v.body = it->rec_bin;
        v.body_len = it->rec_len;
        v.refusal = it->ref_bin;
        v.refusal_len = it->ref_len;
        TRY(l->ops->record_insert(l, &v));
        it->outcome = SYNC_VOIDED;
        return STEP_COMMIT;
    }

    if (payer.fraudulent) {
        /* Evidence already held answers as it did the first time; any other
         * record of a revoked payer is refused. */
        r = l->ops->fraud_get(l, it->id, &fraud);
        if (r != OFFPAY_LEDGER_OK && r != OFFPAY_LEDGER_NOT_FOUND)
            return tx_step_of(r);
        reject(it, r == OFFPAY_LEDGER_OK ? "double_spend" : "revoked");
        return STEP_COMMIT;
    }
    /* A wallet reported lost: what it signed settles until the end of its
     * grace period, and never after (its coins go back to its account then,
     * loss.c), whether or not the write-off has run yet (nor, if a clock
     * behind saw it run, as a double spend of the coins it took). */
    if (payer.loss != OFFPAY_LEDGER_IN_USE && (rq->now >= payer.writeoff_at || payer.written_off_at != 0)) {
        reject(it, "written_off");
        return STEP_COMMIT;
    }
    /* A payee on another shard: its output goes in flight (below). */
    int away = it->payee_shard != NULL && it->payee_shard != rq->shard;
    if (away)
        memset(&payee, 0, sizeof payee);
    r = away ? OFFPAY_LEDGER_OK : payee_of(rq, a, rec->payee_key, &payee);
    if (r == OFFPAY_LEDGER_NOT_FOUND) {
        reject(it, "unknown_payee");
        return STEP_COMMIT;
    }
    if (r != OFFPAY_LEDGER_OK)
        return tx_step_of(r);

    /* Every input: in the ledger under the payer's key (a coin the ledger
     * holds for another key is not found), of this amount, unspent. */
    for (unsigned i = 0; i < rec->n_inputs; i++) {
        r = l->ops->utxo_get(l, rec->payer.public_key, rec->inputs[i].id, &coins[i]);
        if (r == OFFPAY_LEDGER_NOT_FOUND)
            return STEP_COMMIT; /* pending: maybe a later record of the batch creates it */
        if (r != OFFPAY_LEDGER_OK)
            return tx_step_of(r);
    }
    for (unsigned i = 0; i < rec->n_inputs; i++) {
        if (coins[i].amount != rec->inputs[i].amount) {
            reject(it, "invalid");
            return STEP_COMMIT;
        }
    }
    for (unsigned i = 0; i < rec->n_inputs; i++)
        if (coins[i].spent != OFFPAY_LEDGER_UNSPENT) {
            a->have_payer = a->have_payee = 0; /* the payer is revoked now: look wallets up afresh */
            return double_spend(rq, it, &payer, &coins[i]);
        }

    for (unsigned i = 0; i < rec->n_inputs; i++)
        TRY(l->ops->utxo_spend(l, &coins[i], OFFPAY_LEDGER_SPENT_BY_RECORD, it->id, rq->now));
    /* A payee on another shard: its limits and coins are there, so delivery decides its waterfall (relay.c). */
    enum tx_step ws = away ? STEP_COMMIT : waterfall_decide(rq, &payee, rec, &it->waterfall);
    if (ws != STEP_COMMIT)
        return ws;
    for (unsigned idx = it->waterfall ? 1 : 0; idx < 2; idx++) {
        if (idx == 1 && rec->change_amount == 0)
            break;
        if (offpay_record_output(&o, rec, it->id, idx) != OFFPAY_OK)
            return STEP_ERROR;
        memset(&out, 0, sizeof out);
        memcpy(out.id, o.id, OFFPAY_UTXO_ID_BYTES);
        memcpy(out.owner, o.owner, OFFPAY_PUBLIC_KEY_BYTES);
        out.amount = o.amount;
        out.account_id = idx == 0 ? payee.account_id : payer.account_id;
        if (idx == 0 && away) {
            /* The transactional outbox: the in-flight account holds the
             * value, as a coin keyed by the record id, until delivery. */
            memcpy(out.id, it->id, OFFPAY_UTXO_ID_BYTES);
            memcpy(out.owner, shard_transit_key, OFFPAY_PUBLIC_KEY_BYTES);
            out.account_id = rq->shard->transit;
        }
        TRY(l->ops->utxo_insert(l, &out, rq->now));
    }
    struct offpay_ledger_record s;
    memset(&s, 0, sizeof s);
    memcpy(s.id, it->id, OFFPAY_RECORD_ID_BYTES);
    s.state = OFFPAY_LEDGER_RECORD_SETTLED;
    memcpy(s.payer_wallet, payer.id, OFFPAY_WALLET_ID_BYTES);
    memcpy(s.payee_key, rec->payee_key, OFFPAY_PUBLIC_KEY_BYTES);
    s.at = rq->now;
    s.body = it->rec_bin;
    s.body_len = it->rec_len;
    s.confirmation = it->conf_len ? it->conf_bin : NULL;
    s.confirmation_len = it->conf_len;
    TRY(l->ops->record_insert(l, &s));
    /* The in-flight account's row is not touched: every settlement between
     * shards would wait for every other on it (audit counts its coins). */
    if (add_delta(a, payer.account_id, 0, rec->payee_amount, 0) != 0 ||
        (!away && add_delta(a, payee.account_id, rec->payee_amount, 0, it->waterfall ? rec->payee_amount : 0) != 0))
        return STEP_ERROR;
    it->outcome = SYNC_SETTLED;
    it->fresh = 1;
    return STEP_COMMIT;
}

/* Whether item it settles in this transaction: with several shards, only
 * the records whose payer lives on the transaction's shard. */
static int here(const struct request *rq, const struct sync_item *it)
{
    return it->payer_shard == NULL || it->payer_shard == rq->shard;
}

/* What the answer shows besides the records (ep_sync.c), read in the
 * sync's own transaction: the caller's limits and the revocation list's
 * head, as of this transaction with its own writes (a payer it revoked is
 * on the list).  A backend that read ahead answers them from that read
 * (the caller's wallet, its limits and the list's head are read with the
 * group's rows), so the answer costs no statement after the commit. */
static enum tx_step read_view(struct request *rq)
{
    struct offpay_ledger *l = rq->l;
    struct sync_view *v = &rq->view;
    v->have_limits = v->have_rvl = 0;
    TRY(offpayd_limits_of(l, rq->wallet.id, &v->limits, &v->limits_at, &v->own));
    v->have_limits = 1;
    if (rq->srv->n_shards > 1)
        return STEP_COMMIT; /* the list is every shard's: read after the commit */
    TRY(l->ops->revocation_get(l, &v->rvl_serial, &v->rvl_at, &v->rvl_count));
    v->have_rvl = 1;
    return STEP_COMMIT;
}

static enum tx_step apply_tx(struct request *rq, void *ctx)
{
    struct apply *a = ctx;
    struct offpay_ledger *l = rq->l;
    enum tx_step s;
    size_t pending = 0;

    /* A retried transaction starts over from what verification decided. */
    a->n_deltas = 0;
    a->have_payer = a->have_payee = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (!here(rq, &a->items[i]))
            continue;
        a->items[i].outcome = a->verdict[i];
        a->items[i].reason = a->reasons[i];
        a->items[i].fresh = a->items[i].caught = a->items[i].waterfall = 0;
        if (a->items[i].outcome == SYNC_PENDING)
            pending++;
    }
    /* A record that failed verification now (say its certificate expired
     * since) but is settled in the ledger was verified when it settled: its
     * id commits to every byte, so it is answered settled like any re-sync. */
    for (size_t i = 0; i < a->n; i++) {
        struct sync_item *it = &a->items[i];
        struct offpay_ledger_record known;
        if (!here(rq, it) || it->outcome != SYNC_REJECTED || strcmp(it->reason, "not_party") == 0)
            continue;
        enum offpay_ledger_result r = l->ops->record_get(l, it->id, &known);
        if (r == OFFPAY_LEDGER_OK && known.state == OFFPAY_LEDGER_RECORD_SETTLED)
            it->outcome = SYNC_SETTLED;
        else if (r != OFFPAY_LEDGER_OK && r != OFFPAY_LEDGER_NOT_FOUND)
            return tx_step_of(r);
    }
    int progress = 1;
    while (pending > 0 && progress) {
        progress = 0;
        for (size_t i = 0; i < a->n; i++) {
            struct sync_item *it = &a->items[i];
            if (!here(rq, it) || it->outcome != SYNC_PENDING)
                continue;
            if ((s = apply_one(rq, a, it)) != STEP_COMMIT)
                return s;
            if (it->outcome != SYNC_PENDING) {
                pending--;
                progress = 1;
            }
        }
    }
    for (size_t i = 0; i < a->n; i++)
        if (here(rq, &a->items[i]) && a->items[i].outcome == SYNC_PENDING)
            reject(&a->items[i], "unknown_input");

    for (size_t i = 0; i < a->n_deltas; i++) {
        struct offpay_ledger_account acc;
        TRY(l->ops->account_get_by_id(l, a->deltas[i].account_id, &acc));
        if (acc.received > (uint64_t)INT64_MAX - a->deltas[i].received ||
            acc.sent > (uint64_t)INT64_MAX - a->deltas[i].sent || acc.online > (uint64_t)INT64_MAX - a->deltas[i].online)
            return STEP_ERROR;
        acc.received += a->deltas[i].received;
        acc.sent += a->deltas[i].sent;
        acc.online += a->deltas[i].online;
        TRY(l->ops->account_update(l, &acc));
    }
    /* On the caller's own shard: its last sync (offpayd wallet show), and
     * its certificate, renewed when due. */
    if (rq->no_nonce)
        return STEP_COMMIT;
    TRY(l->ops->wallet_synced(l, rq->wallet.id, rq->now));
    if ((s = renew_certificate(rq)) != STEP_COMMIT)
        return s;
    return read_view(rq);
}

/* What apply_tx reads, for a backend that reads it ahead in bulk: each
 * record here, and for each still to settle its payer, its payee (with the
 * payee's limits and holding) and its inputs. */
static void apply_keys(struct request *rq, void *ctx, struct offpay_ledger_keys *k)
{
    struct apply *a = ctx;
    uint8_t transit[8];
    int away_any = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct sync_item *it = &a->items[i];
        if (!here(rq, it))
            continue;
        (void)offpay_ledger_keys_add(k, OFFPAY_LEDGER_KEY_RECORD, it->id, NULL);
        if (a->verdict[i] != SYNC_PENDING)
            continue;
        (void)offpay_ledger_keys_add(k, OFFPAY_LEDGER_KEY_WALLET, it->rec.payer.wallet_id, NULL);
        if (it->payee_shard != NULL && it->payee_shard != rq->shard)
            away_any = 1;
        else
            (void)offpay_ledger_keys_add(k, OFFPAY_LEDGER_KEY_WALLET_KEY, it->rec.payee_key, NULL);
        for (unsigned j = 0; j < it->rec.n_inputs; j++)
            (void)offpay_ledger_keys_add(k, OFFPAY_LEDGER_KEY_COIN, it->rec.payer.public_key, it->rec.inputs[j].id);
    }
    if (!rq->no_nonce) /* the caller's last sync (apply_tx) */
        (void)offpay_ledger_keys_add(k, OFFPAY_LEDGER_KEY_WALLET, rq->wallet.id, NULL);
    if (away_any) {
        uint64_t id = (uint64_t)rq->shard->transit;
        for (int b = 0; b < 8; b++)
            transit[b] = (uint8_t)(id >> (56 - 8 * b));
        (void)offpay_ledger_keys_add(k, OFFPAY_LEDGER_KEY_ACCOUNT, transit, NULL);
    }
}

int settle_apply(struct request *rq, struct sync_item *items, size_t n)
{
    struct apply a;
    int rc = -1;

    memset(&a, 0, sizeof a);
    a.items = items;
    a.n = n;
    /* Each settled record touches at most two accounts. */
    if ((a.deltas = calloc(2 * n + 1, sizeof *a.deltas)) == NULL || (a.verdict = malloc(n + 1)) == NULL ||
        (a.reasons = calloc(n + 1, sizeof *a.reasons)) == NULL) {
        reply_error(rq, 500, "internal", "Out of memory.");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        a.verdict[i] = (unsigned char)items[i].outcome;
        a.reasons[i] = items[i].reason;
    }
    rc = request_tx_keys(rq, apply_tx, apply_keys, &a);
out:
    free(a.deltas);
    free(a.verdict);
    free(a.reasons);
    return rc;
}

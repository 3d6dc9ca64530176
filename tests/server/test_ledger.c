/*
 * test_ledger.c - the ledger interface, operation by operation, on a real
 * backend.  Written against include/offpay/ledger.h only, so the same source
 * runs against every backend: argv[1] is a ledger URL (default: a fresh
 * sqlite: file in a temp dir).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offpay/ledger.h"
#include "check.h"


struct wallets_seen {
    size_t n;
    uint8_t first[OFFPAY_WALLET_ID_BYTES];
};

static int count_wallets(void *ctx, const struct offpay_ledger_wallet *w)
{
    struct wallets_seen *seen = ctx;
    if (seen->n++ == 0)
        memcpy(seen->first, w->id, sizeof seen->first);
    return 0;
}

static int collect(void *ctx, const uint8_t id[OFFPAY_WALLET_ID_BYTES])
{
    uint8_t *out = ctx;
    memcpy(out + 16 * out[255], id, 16);
    out[255]++;
    return 0;
}

static int count_coins(void *ctx, const struct offpay_ledger_utxo *u)
{
    (void)u;
    (*(int *)ctx)++;
    return 0;
}

static int count_rows(void *ctx, const struct offpay_ledger_audit_row *row)
{
    (void)row;
    (*(int *)ctx)++;
    return 0;
}

int main(int argc, char **argv)
{
    char url[700], err[512];
    struct offpay_ledger *l = NULL, *l2 = NULL;

    if (argc > 1)
        snprintf(url, sizeof url, "%s", argv[1]);
    else
        snprintf(url, sizeof url, "sqlite:%s/l.db", check_temp_dir("ledger"));
    CHECK(offpay_ledger_open(&l, url, 0, err, sizeof err) == OFFPAY_ERR_USAGE); /* not there yet */
    CHECK(offpay_ledger_open(&l, url, 1, err, sizeof err) == OFFPAY_OK);
    CHECK(offpay_ledger_open(&l2, url, 1, err, sizeof err) == OFFPAY_ERR_USAGE); /* already there */
    CHECK(offpay_ledger_open(&l2, "mysql://x/y", 0, err, sizeof err) == OFFPAY_ERR_USAGE);
    CHECK(strstr(err, "Unknown kind of ledger URL") != NULL);
    CHECK(offpay_ledger_open(&l2, "sqlite:", 0, err, sizeof err) == OFFPAY_ERR_USAGE);
    const struct offpay_ledger_ops *op = l->ops;

    /* meta, accounts */
    uint8_t v[8] = {1, 2, 3}, got[8];
    size_t n;
    int64_t a1, a2, acc_id;
    struct offpay_ledger_account acc;
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_ERROR); /* no nesting */
    CHECK(op->meta_get(l, "k", got, sizeof got, &n) == OFFPAY_LEDGER_NOT_FOUND);
    CHECK(op->meta_set(l, "k", v, 3) == OFFPAY_LEDGER_OK);
    CHECK(op->meta_get(l, "k", got, sizeof got, &n) == OFFPAY_LEDGER_OK && n == 3 && got[2] == 3);
    CHECK(op->account_create(l, "alice", 1, &a1) == OFFPAY_LEDGER_OK);
    CHECK(op->account_create(l, "alice", 1, &a2) == OFFPAY_LEDGER_DUPLICATE);
    CHECK(op->account_create(l, "bob", 1, &a2) == OFFPAY_LEDGER_OK && a2 != a1);
    CHECK(op->account_get(l, "carol", &acc) == OFFPAY_LEDGER_NOT_FOUND);
    CHECK(op->account_get(l, "alice", &acc) == OFFPAY_LEDGER_OK && acc.id == a1 && acc.online == 0);
    acc.online = 500;
    acc.minted = 500;
    CHECK(op->account_update(l, &acc) == OFFPAY_LEDGER_OK);
    CHECK(op->commit(l) == OFFPAY_LEDGER_OK);

    /* a rolled-back transaction leaves nothing */
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->account_create(l, "ghost", 1, &acc_id) == OFFPAY_LEDGER_OK);
    acc.online = 1;
    CHECK(op->account_update(l, &acc) == OFFPAY_LEDGER_OK);
    op->rollback(l);
    CHECK(op->account_get(l, "ghost", &acc) == OFFPAY_LEDGER_NOT_FOUND);
    CHECK(op->account_get(l, "alice", &acc) == OFFPAY_LEDGER_OK && acc.online == 500);
    CHECK(op->account_get_by_id(l, a2, &acc) == OFFPAY_LEDGER_OK && strcmp(acc.name, "bob") == 0);

    /* tokens are taken once */
    uint8_t h[OFFPAY_HASH_BYTES] = {9};
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->token_insert(l, h, a1, 5) == OFFPAY_LEDGER_OK);
    CHECK(op->token_insert(l, h, a1, 5) == OFFPAY_LEDGER_DUPLICATE);
    CHECK(op->token_take(l, h, 6, &acc_id) == OFFPAY_LEDGER_OK && acc_id == a1);
    CHECK(op->token_take(l, h, 7, &acc_id) == OFFPAY_LEDGER_NOT_FOUND);
    CHECK(op->commit(l) == OFFPAY_LEDGER_OK);
    /* ... and remember the wallet they enrolled (only once used) */
    {
        uint8_t h2[OFFPAY_HASH_BYTES] = {10}, wid[OFFPAY_WALLET_ID_BYTES] = {4}, got[OFFPAY_WALLET_ID_BYTES];
        CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
        CHECK(op->token_insert(l, h2, a1, 5) == OFFPAY_LEDGER_OK);
        CHECK(op->token_get_wallet(l, h, got) == OFFPAY_LEDGER_NOT_FOUND); /* used, but no wallet recorded */
        CHECK(op->token_set_wallet(l, h2, wid) == OFFPAY_LEDGER_NOT_FOUND); /* not used yet */
        CHECK(op->token_get_wallet(l, h2, got) == OFFPAY_LEDGER_NOT_FOUND);
        CHECK(op->token_take(l, h2, 6, &acc_id) == OFFPAY_LEDGER_OK);
        CHECK(op->token_set_wallet(l, h2, wid) == OFFPAY_LEDGER_OK);
        CHECK(op->token_get_wallet(l, h2, got) == OFFPAY_LEDGER_OK && memcmp(got, wid, sizeof wid) == 0);
        CHECK(op->commit(l) == OFFPAY_LEDGER_OK);
    }

    /* wallets, revocation */
    struct offpay_ledger_wallet w1, w2, w3, w;
    memset(&w1, 0, sizeof w1);
    memset(&w2, 0, sizeof w2);
    memset(&w3, 0, sizeof w3);
    w1.id[0] = w1.public_key[0] = 1;
    w2.id[0] = w2.public_key[0] = 2;
    w3.id[0] = 3;
    w3.public_key[0] = 1;
    w1.account_id = a1;
    w2.account_id = a2;
    w3.account_id = a2;
    uint64_t serial, issued;
    uint32_t count;
    uint8_t ids[256];
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->wallet_insert(l, &w1, (const uint8_t *)"c", 1, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->wallet_insert(l, &w2, (const uint8_t *)"c", 1, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->wallet_insert(l, &w3, (const uint8_t *)"c", 1, 1) == OFFPAY_LEDGER_DUPLICATE); /* key taken */
    CHECK(op->wallet_get_by_key(l, w2.public_key, &w) == OFFPAY_LEDGER_OK && w.account_id == a2 && !w.fraudulent);
    {
        const uint8_t *cert;
        size_t cert_len;
        CHECK(op->wallet_certificate(l, w2.id, &cert, &cert_len) == OFFPAY_LEDGER_OK && cert_len == 1 &&
               cert[0] == 'c');
        CHECK(op->wallet_certificate(l, w3.id, &cert, &cert_len) == OFFPAY_LEDGER_NOT_FOUND);
        /* A renewal replaces it (issue 13); an unknown wallet has none to replace. */
        CHECK(op->wallet_certificate_set(l, w2.id, (const uint8_t *)"renewed", 7) == OFFPAY_LEDGER_OK);
        CHECK(op->wallet_certificate(l, w2.id, &cert, &cert_len) == OFFPAY_LEDGER_OK && cert_len == 7 &&
              memcmp(cert, "renewed", 7) == 0);
        CHECK(op->wallet_certificate(l, w1.id, &cert, &cert_len) == OFFPAY_LEDGER_OK && cert_len == 1);
        CHECK(op->wallet_certificate_set(l, w3.id, (const uint8_t *)"x", 1) == OFFPAY_LEDGER_NOT_FOUND);
    }
    CHECK(op->revocation_get(l, &serial, &issued, &count) == OFFPAY_LEDGER_OK && count == 0);
    uint64_t s0 = serial;
    CHECK(op->wallet_revoke(l, w2.id, 77) == OFFPAY_LEDGER_OK);
    CHECK(op->wallet_revoke(l, w2.id, 78) == OFFPAY_LEDGER_OK); /* once is enough */
    CHECK(op->wallet_revoke(l, w1.id, 79) == OFFPAY_LEDGER_OK);
    CHECK(op->revocation_get(l, &serial, &issued, &count) == OFFPAY_LEDGER_OK);
    CHECK(serial == s0 + 2 && issued == 79 && count == 2);
    memset(ids, 0, sizeof ids);
    CHECK(op->revocation_ids(l, collect, ids) == OFFPAY_LEDGER_OK && ids[255] == 2);
    CHECK(ids[0] == 1 && ids[16] == 2); /* ascending */
    CHECK(op->wallet_get(l, w2.id, &w) == OFFPAY_LEDGER_OK && w.fraudulent);
    CHECK(op->commit(l) == OFFPAY_LEDGER_OK);

    /* lost wallets: revoked without fraud, written off once */
    {
        struct offpay_ledger_wallet w4 = w1;
        struct wallets_seen seen;
        w4.id[0] = 4;
        w4.public_key[0] = 4;
        CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
        CHECK(op->wallet_insert(l, &w4, (const uint8_t *)"c", 1, 80) == OFFPAY_LEDGER_OK);
        CHECK(op->wallet_get(l, w4.id, &w) == OFFPAY_LEDGER_OK && w.loss == OFFPAY_LEDGER_IN_USE && w.created == 80);
        CHECK(op->wallet_synced(l, w4.id, 81) == OFFPAY_LEDGER_OK);
        CHECK(op->wallet_report_lost(l, w3.id, OFFPAY_LEDGER_LOST, 82, 90) == OFFPAY_LEDGER_NOT_FOUND);
        CHECK(op->wallet_report_lost(l, w4.id, OFFPAY_LEDGER_STOLEN, 82, 90) == OFFPAY_LEDGER_OK);
        CHECK(op->wallet_report_lost(l, w4.id, OFFPAY_LEDGER_LOST, 83, 95) == OFFPAY_LEDGER_OK); /* first stands */
        CHECK(op->wallet_report_lost(l, w2.id, OFFPAY_LEDGER_LOST, 84, 95) == OFFPAY_LEDGER_OK);  /* listed already */
        CHECK(op->revocation_get(l, &serial, &issued, &count) == OFFPAY_LEDGER_OK);
        CHECK(serial == s0 + 3 && issued == 82 && count == 3);
        CHECK(op->wallet_get_by_key(l, w4.public_key, &w) == OFFPAY_LEDGER_OK && !w.fraudulent);
        CHECK(w.loss == OFFPAY_LEDGER_STOLEN && w.lost_at == 82 && w.writeoff_at == 90 && w.last_sync == 81);
        memset(&seen, 0, sizeof seen);
        CHECK(op->wallet_list(l, a1, 0, count_wallets, &seen) == OFFPAY_LEDGER_OK && seen.n == 2);
        CHECK(seen.first[0] == 1); /* by id */
        memset(&seen, 0, sizeof seen);
        CHECK(op->wallet_list(l, 0, 0, count_wallets, &seen) == OFFPAY_LEDGER_OK && seen.n == 3);
        memset(&seen, 0, sizeof seen);
        CHECK(op->wallet_list(l, 0, 89, count_wallets, &seen) == OFFPAY_LEDGER_OK && seen.n == 0);
        CHECK(op->wallet_list(l, 0, 90, count_wallets, &seen) == OFFPAY_LEDGER_OK && seen.n == 1);
        CHECK(seen.first[0] == 4);
        CHECK(op->wallet_write_off(l, w1.id, 91, 5) == OFFPAY_LEDGER_NOT_FOUND); /* not reported */
        CHECK(op->wallet_write_off(l, w4.id, 91, 5) == OFFPAY_LEDGER_OK);
        CHECK(op->wallet_write_off(l, w4.id, 92, 5) == OFFPAY_LEDGER_NOT_FOUND); /* once */
        memset(&seen, 0, sizeof seen);
        CHECK(op->wallet_list(l, 0, 100, count_wallets, &seen) == OFFPAY_LEDGER_OK && seen.n == 1); /* w2 */
        CHECK(op->wallet_get(l, w4.id, &w) == OFFPAY_LEDGER_OK && w.written_off_at == 91 && w.written_off == 5);
        CHECK(op->commit(l) == OFFPAY_LEDGER_OK);
    }

    /* nonces */
    uint8_t nonce[16] = {5};
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->nonce_insert(l, w1.id, nonce, 100) == OFFPAY_LEDGER_OK);
    CHECK(op->nonce_insert(l, w1.id, nonce, 100) == OFFPAY_LEDGER_DUPLICATE);
    CHECK(op->nonce_insert(l, w2.id, nonce, 100) == OFFPAY_LEDGER_OK); /* per wallet */
    CHECK(op->nonce_prune(l, 101, 50) == OFFPAY_LEDGER_OK);
    CHECK(op->nonce_insert(l, w1.id, nonce, 100) == OFFPAY_LEDGER_OK);
    CHECK(op->commit(l) == OFFPAY_LEDGER_OK);

    /* nonces that keep an answer or a cancelled mark, and outlive plain ones */
    {
        uint8_t n_ans[16] = {6}, n_can[16] = {7}, n_none[16] = {8};
        static const char body[] = "{\"online\":5}";
        struct offpay_ledger_nonce got;
        CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
        CHECK(op->nonce_keep(l, w1.id, n_ans, 200, OFFPAY_LEDGER_NONCE_ANSWERED, (const uint8_t *)body,
                              sizeof body - 1) == OFFPAY_LEDGER_OK);
        CHECK(op->nonce_keep(l, w1.id, n_can, 200, OFFPAY_LEDGER_NONCE_CANCELLED, NULL, 0) == OFFPAY_LEDGER_OK);
        CHECK(op->nonce_keep(l, w1.id, n_can, 200, OFFPAY_LEDGER_NONCE_CANCELLED, NULL, 0) == OFFPAY_LEDGER_DUPLICATE);
        CHECK(op->nonce_insert(l, w1.id, n_ans, 200) == OFFPAY_LEDGER_DUPLICATE);
        CHECK(op->nonce_get(l, w1.id, n_ans, &got) == OFFPAY_LEDGER_OK && got.kind == OFFPAY_LEDGER_NONCE_ANSWERED &&
               got.ts == 200 && got.answer_len == sizeof body - 1 && memcmp(got.answer, body, got.answer_len) == 0);
        CHECK(op->nonce_get(l, w1.id, n_can, &got) == OFFPAY_LEDGER_OK &&
               got.kind == OFFPAY_LEDGER_NONCE_CANCELLED && got.answer == NULL);
        CHECK(op->nonce_get(l, w1.id, nonce, &got) == OFFPAY_LEDGER_OK && got.kind == OFFPAY_LEDGER_NONCE_USED &&
               got.ts == 100 && got.answer == NULL);
        CHECK(op->nonce_get(l, w2.id, n_ans, &got) == OFFPAY_LEDGER_NOT_FOUND); /* per wallet */
        CHECK(op->nonce_get(l, w1.id, n_none, &got) == OFFPAY_LEDGER_NOT_FOUND);
        /* plain rows below 300 go; kept rows stay until their own cutoff */
        CHECK(op->nonce_prune(l, 300, 150) == OFFPAY_LEDGER_OK);
        CHECK(op->nonce_get(l, w1.id, nonce, &got) == OFFPAY_LEDGER_NOT_FOUND);
        CHECK(op->nonce_get(l, w1.id, n_ans, &got) == OFFPAY_LEDGER_OK);
        CHECK(op->nonce_get(l, w1.id, n_can, &got) == OFFPAY_LEDGER_OK);
        CHECK(op->nonce_prune(l, 300, 201) == OFFPAY_LEDGER_OK);
        CHECK(op->nonce_get(l, w1.id, n_ans, &got) == OFFPAY_LEDGER_NOT_FOUND);
        CHECK(op->nonce_get(l, w1.id, n_can, &got) == OFFPAY_LEDGER_NOT_FOUND);
        CHECK(op->commit(l) == OFFPAY_LEDGER_OK);
    }

    /* limits */
    static const uint8_t zero[16];
    struct offpay_limits lim = {10, 20, 3, 60, 70, 80}, lg;
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->limits_get(l, zero, &lg, &issued) == OFFPAY_LEDGER_NOT_FOUND);
    CHECK(op->limits_set(l, zero, &lim, 9) == OFFPAY_LEDGER_OK);
    lim.count = 4;
    CHECK(op->limits_set(l, zero, &lim, 10) == OFFPAY_LEDGER_OK);
    CHECK(op->limits_get(l, zero, &lg, &issued) == OFFPAY_LEDGER_OK && lg.count == 4 && lg.period == 60 && issued == 10 &&
           lg.holding == 70 && lg.offline_time == 80);
    CHECK(op->commit(l) == OFFPAY_LEDGER_OK);

    /* coins, records, evidence */
    struct offpay_ledger_utxo u = {{7}, {1}, 300, 0, 0, 0, {0}}, ug;
    u.account_id = a1;
    uint8_t rid[32] = {8}, rid2[32] = {9};
    struct offpay_ledger_record r, rg;
    memset(&r, 0, sizeof r);
    memcpy(r.id, rid, 32);
    r.state = OFFPAY_LEDGER_RECORD_SETTLED;
    r.body = (const uint8_t *)"body";
    r.body_len = 4;
    r.at = 3;
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->utxo_insert(l, &u, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->utxo_insert(l, &u, 1) == OFFPAY_LEDGER_DUPLICATE);
    CHECK(op->utxo_get(l, u.owner, u.id, &ug) == OFFPAY_LEDGER_OK && ug.amount == 300 && ug.spent == OFFPAY_LEDGER_UNSPENT &&
           ug.created == 1 && ug.account_id == a1);
    CHECK(op->utxo_spend(l, &ug, OFFPAY_LEDGER_SPENT_BY_RECORD, rid, 2) == OFFPAY_LEDGER_OK);
    CHECK(op->utxo_spend(l, &ug, OFFPAY_LEDGER_SPENT_BY_RECORD, rid2, 2) == OFFPAY_LEDGER_NOT_FOUND);
    /* a spent id never comes back; another key does not see the coin */
    CHECK(op->utxo_insert(l, &u, 1) == OFFPAY_LEDGER_DUPLICATE);
    uint8_t other[32] = {2};
    struct offpay_ledger_utxo theirs = ug;
    CHECK(op->utxo_get(l, other, u.id, &theirs) == OFFPAY_LEDGER_NOT_FOUND);
    theirs = ug;
    memcpy(theirs.owner, other, 32);
    CHECK(op->utxo_spend(l, &theirs, OFFPAY_LEDGER_SPENT_BY_UNLOAD, NULL, 2) == OFFPAY_LEDGER_NOT_FOUND);
    CHECK(op->utxo_get(l, u.owner, u.id, &ug) == OFFPAY_LEDGER_OK && ug.spent == OFFPAY_LEDGER_SPENT_BY_RECORD &&
           memcmp(ug.spent_by, rid, 32) == 0);
    CHECK(op->record_insert(l, &r) == OFFPAY_LEDGER_OK);
    CHECK(op->record_insert(l, &r) == OFFPAY_LEDGER_DUPLICATE);
    CHECK(op->record_get(l, rid2, &rg) == OFFPAY_LEDGER_NOT_FOUND);
    CHECK(op->record_get(l, rid, &rg) == OFFPAY_LEDGER_OK && rg.body_len == 4 && memcmp(rg.body, "body", 4) == 0 &&
           rg.confirmation == NULL && rg.state == OFFPAY_LEDGER_RECORD_SETTLED);
    struct offpay_ledger_fraud f, fg;
    memset(&f, 0, sizeof f);
    memcpy(f.record_id, rid2, 32);
    f.account_id = a1;
    f.record = (const uint8_t *)"second";
    f.record_len = 6;
    f.first_record = (const uint8_t *)"body";
    f.first_record_len = 4;
    CHECK(op->fraud_insert(l, &f) == OFFPAY_LEDGER_OK);
    CHECK(op->fraud_insert(l, &f) == OFFPAY_LEDGER_DUPLICATE);
    CHECK(op->fraud_get(l, rid2, &fg) == OFFPAY_LEDGER_OK && fg.record_len == 6 && fg.first_record_len == 4);
    CHECK(op->commit(l) == OFFPAY_LEDGER_OK);

    /* a coin's account must exist, statement by statement and (PostgreSQL)
     * in a set-based write: the commit fails and stores nothing */
    struct offpay_ledger_utxo stray = u;
    stray.id[0] = 5;
    stray.account_id = a1 + 1000;
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->utxo_insert(l, &stray, 1) == OFFPAY_LEDGER_ERROR);
    op->rollback(l);
    if (op->prefetch != NULL) {
        struct offpay_ledger_keys k;
        memset(&k, 0, sizeof k);
        CHECK(offpay_ledger_keys_add(&k, OFFPAY_LEDGER_KEY_COIN, stray.owner, stray.id) == 0);
        CHECK(op->begin(l, OFFPAY_LEDGER_BEGIN_DEFERRED) == OFFPAY_LEDGER_OK);
        CHECK(op->prefetch(l, &k) == OFFPAY_LEDGER_OK);
        CHECK(op->utxo_insert(l, &stray, 1) == OFFPAY_LEDGER_OK); /* deferred */
        CHECK(op->commit(l) == OFFPAY_LEDGER_RETRY);
        offpay_ledger_keys_free(&k);
    }
    CHECK(op->begin(l, 0) == OFFPAY_LEDGER_OK);
    CHECK(op->utxo_get(l, stray.owner, stray.id, &ug) == OFFPAY_LEDGER_NOT_FOUND);
    op->rollback(l);

    /* a key's unspent coins: the spent one is not listed, max is respected */
    struct offpay_ledger_utxo u2 = u, u3 = u;
    u2.id[0] = 3;
    u3.id[0] = 4;
    int listed = 0;
    CHECK(op->begin(l, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->utxo_insert(l, &u2, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->utxo_insert(l, &u3, 1) == OFFPAY_LEDGER_OK);
    CHECK(op->utxo_unspent_of(l, u.owner, NULL, 10, count_coins, &listed) == OFFPAY_LEDGER_OK && listed == 2);
    listed = 0;
    CHECK(op->utxo_unspent_of(l, u.owner, NULL, 1, count_coins, &listed) == OFFPAY_LEDGER_OK && listed == 1);
    /* paging: after the first id (u2 = 03...) only u3 (04...); after the last, nothing */
    listed = 0;
    CHECK(op->utxo_unspent_of(l, u.owner, u2.id, 10, count_coins, &listed) == OFFPAY_LEDGER_OK && listed == 1);
    listed = 0;
    CHECK(op->utxo_unspent_of(l, u.owner, u3.id, 10, count_coins, &listed) == OFFPAY_LEDGER_OK && listed == 0);
    CHECK(op->commit(l) == OFFPAY_LEDGER_OK);

    int rows = 0;
    CHECK(op->audit(l, count_rows, &rows) == OFFPAY_LEDGER_OK && rows == 2);
    offpay_ledger_close(l);

    /* reopening applies no migration twice and keeps everything */
    CHECK(offpay_ledger_open(&l, url, 0, err, sizeof err) == OFFPAY_OK);
    if (l != NULL) {
        CHECK(l->ops->account_get(l, "alice", &acc) == OFFPAY_LEDGER_OK && acc.online == 500);
        offpay_ledger_close(l);
    }
    printf("ok\n");
    return 0;
}

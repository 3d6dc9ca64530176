/*
 * test_wallet_handshake.c - the wallet library's offline handshake, with an
 * issuer made up in the test (no server): the [0072] example, locked change,
 * limits, replays, refusals, and that failures change nothing (revocation
 * needs the server: see the shell tests).
 *
 * Usage: test_wallet_handshake TMPDIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "offpay/protocol.h"
#include "offpay/wallet.h"

static uint8_t issuer_pk[32], issuer_sk[64];
static void revocation_make(uint8_t *buf, size_t cap, size_t *len, uint64_t serial)
{
    struct offpay_revocation r = {.serial = serial, .issued_at = (uint64_t)time(NULL), .count = 0, .ids = NULL};
    if (offpay_revocation_sign(&r, issuer_sk) != OFFPAY_OK)
        abort();
    *len = offpay_revocation_encode(buf, cap, &r);
}

static struct offpay_wallet *make_wallet(const char *base, const char *name, struct offpay_limits lim)
{
    char dir[512], err[OFFPAY_WALLET_ERROR_MAX];
    uint8_t pk[32], sk[64], rev[256];
    size_t rev_len;
    uint64_t now = (uint64_t)time(NULL);
    struct offpay_cert cert = {.not_before = now - 60, .not_after = now + 86400};
    struct offpay_limits_policy pol = {.limits = lim, .issued_at = now};
    struct offpay_wallet *w = NULL;

    snprintf(dir, sizeof dir, "%s/%s", base, name);
    offpay_keypair(pk, sk);
    offpay_random(cert.wallet_id, sizeof cert.wallet_id);
    memcpy(cert.public_key, pk, 32);
    snprintf(cert.account, sizeof cert.account, "%s", name);
    if (offpay_cert_issue(&cert, issuer_sk) != OFFPAY_OK || offpay_limits_policy_sign(&pol, issuer_sk) != OFFPAY_OK)
        abort();
    revocation_make(rev, sizeof rev, &rev_len, 1);
    enum offpay_status s = offpay_wallet_create(&w, err, dir, "http://127.0.0.1:1", &cert, sk, issuer_pk, &pol, rev, rev_len);
    offpay_wipe(sk, sizeof sk);
    if (s != OFFPAY_OK) {
        fprintf(stderr, "create %s: %s\n", name, err);
        abort();
    }
    return w;
}

static void give(struct offpay_wallet *w, const uint64_t *amounts, size_t n)
{
    struct offpay_utxo u[8];
    for (size_t i = 0; i < n; i++) {
        memset(&u[i], 0, sizeof u[i]);
        offpay_random(u[i].id, sizeof u[i].id);
        memcpy(u[i].owner, offpay_wallet_cert(w)->public_key, 32);
        u[i].amount = amounts[i];
        if (offpay_utxo_attest(&u[i], issuer_sk) != OFFPAY_OK)
            abort();
    }
    CHECK_STATUS(offpay_wallet_add_utxos(w, u, n), OFFPAY_OK);
}

/* A fingerprint of the whole store: every row of every table. */
static void dump(const char *base, const char *name, char *out, size_t cap)
{
    char path[600];
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t len = 0;
    static const char *const tables[] = {"identity", "limits", "revocation", "utxos", "records",
                                         "record_inputs", "requests", "history"};
    snprintf(path, sizeof path, "%s/%s/wallet.db", base, name);
    out[0] = '\0';
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        abort();
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY 1", tables[t]);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            abort();
        while (sqlite3_step(st) == SQLITE_ROW)
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const unsigned char *b = sqlite3_column_blob(st, c);
                int n = sqlite3_column_bytes(st, c);
                for (int i = 0; i < n && len + 3 < cap; i++)
                    len += (size_t)snprintf(out + len, cap - len, "%02x", b[i]);
                if (len + 2 < cap)
                    out[len++] = '|', out[len] = '\0';
            }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

static void balance(struct offpay_wallet *w, struct offpay_wallet_balance *b)
{
    CHECK_STATUS(offpay_wallet_balance(w, b, NULL, NULL), OFFPAY_OK);
}

int main(int argc, char **argv)
{
    static char before[1 << 20], after[1 << 20];
    uint8_t req[OFFPAY_REQUEST_BYTES_MAX], rec[OFFPAY_RECORD_BYTES_MAX], conf[OFFPAY_CONFIRMATION_BYTES_MAX];
    uint8_t rec2[OFFPAY_RECORD_BYTES_MAX], req2[OFFPAY_REQUEST_BYTES_MAX], ref[OFFPAY_REFUSAL_BYTES + 8];
    size_t req_len, rec_len, conf_len, rec2_len, req2_len, ref_len;
    struct offpay_wallet_payment info;
    struct offpay_wallet_balance b;
    struct offpay_wallet_utxo *u;
    size_t n;

    if (argc != 2 || offpay_crypto_init() != 0)
        return 2;
    const char *base = argv[1];
    offpay_keypair(issuer_pk, issuer_sk);
    struct offpay_limits lim = {.per_payment = 10000, .offline_total = 20000, .count = 5, .period = 86400};
    struct offpay_wallet *alice = make_wallet(base, "alice", lim), *bob = make_wallet(base, "bob", lim);
    struct offpay_wallet *carol = make_wallet(base, "carol", lim);
    const uint64_t coins[] = {1000, 2000, 3000, 4000};
    give(alice, coins, 4);

    /* Claim 1, [0072]: pay 3500 from 1000/2000/3000/4000 spends the 4000. */
    CHECK_STATUS(offpay_wallet_request_create(bob, req, sizeof req, &req_len, 3500), OFFPAY_OK);
    CHECK_STATUS(offpay_wallet_pay(alice, rec, sizeof rec, &rec_len, &info, req, req_len), OFFPAY_OK);
    CHECK(info.amount == 3500 && info.change == 500 && info.n_inputs == 1 && info.inputs_total == 4000);
    CHECK(strcmp(info.counterparty, "bob") == 0);
    balance(alice, &b);
    CHECK(b.spendable == 6000 && b.in_doubt == 4000 && b.locked == 0 && b.pending_outgoing == 1);
    /* The same request cannot be paid twice. */
    CHECK_STATUS(offpay_wallet_pay(alice, rec2, sizeof rec2, &rec2_len, NULL, req, req_len), OFFPAY_ERR_WRONG_NONCE);

    /* Claims 5-6: bob verifies and confirms; pending, incoming_unsynced. */
    CHECK_STATUS(offpay_wallet_accept(bob, conf, sizeof conf, &conf_len, &info, rec, rec_len), OFFPAY_OK);
    uint8_t conf_ok[OFFPAY_CONFIRMATION_BYTES_MAX];
    size_t conf_ok_len = conf_len;
    memcpy(conf_ok, conf, conf_len);
    CHECK(info.amount == 3500 && strcmp(info.counterparty, "alice") == 0);
    balance(bob, &b);
    CHECK(b.incoming_unsynced == 3500 && b.pending_incoming == 1 && b.spendable == 0);
    /* A replayed record changes nothing. */
    dump(base, "bob", before, sizeof before);
    CHECK_STATUS(offpay_wallet_accept(bob, conf, sizeof conf, &conf_len, NULL, rec, rec_len), OFFPAY_ERR_WRONG_NONCE);
    dump(base, "bob", after, sizeof after);
    CHECK(strcmp(before, after) == 0);
    /* A record for another payee: carol refuses it and is unchanged. */
    dump(base, "carol", before, sizeof before);
    CHECK_STATUS(offpay_wallet_accept(carol, conf, sizeof conf, &conf_len, NULL, rec, rec_len), OFFPAY_ERR_WRONG_PAYEE);
    dump(base, "carol", after, sizeof after);
    CHECK(strcmp(before, after) == 0);
    /* A tampered byte anywhere: refused, unchanged. */
    dump(base, "bob", before, sizeof before);
    for (size_t i = 0; i < rec_len; i += 7) {
        uint8_t bad[OFFPAY_RECORD_BYTES_MAX];
        memcpy(bad, rec, rec_len);
        bad[i] ^= 0x01;
        CHECK(offpay_wallet_accept(bob, conf, sizeof conf, &conf_len, NULL, bad, rec_len) != OFFPAY_OK);
        CHECK(offpay_wallet_accept(bob, conf, sizeof conf, &conf_len, NULL, bad, i) != OFFPAY_OK);
    }
    dump(base, "bob", after, sizeof after);
    CHECK(strcmp(before, after) == 0);

    CHECK_STATUS(offpay_wallet_confirm(alice, &info, conf_ok, conf_ok_len), OFFPAY_OK);
    CHECK(!info.refused && info.change == 500);
    CHECK_STATUS(offpay_wallet_balance(alice, &b, &u, &n), OFFPAY_OK);
    CHECK(n == 4 && u[0].amount == 500 && u[0].state == OFFPAY_UTXO_LOCKED && u[1].amount == 1000 &&
          u[2].amount == 2000 && u[3].amount == 3000);
    CHECK(b.spendable == 6000 && b.locked == 500 && b.in_doubt == 0);
    free(u);
    /* A replayed confirmation changes nothing. */
    dump(base, "alice", before, sizeof before);
    CHECK_STATUS(offpay_wallet_confirm(alice, &info, conf_ok, conf_ok_len), OFFPAY_ERR_WRONG_RECORD);
    dump(base, "alice", after, sizeof after);
    CHECK(strcmp(before, after) == 0);

    /* Claim 2: only the locked 500 could cover 6500: exit-5 status, and nothing changes. */
    CHECK_STATUS(offpay_wallet_request_create(bob, req2, sizeof req2, &req2_len, 6500), OFFPAY_OK);
    dump(base, "alice", before, sizeof before);
    CHECK_STATUS(offpay_wallet_pay(alice, rec2, sizeof rec2, &rec2_len, NULL, req2, req2_len), OFFPAY_ERR_FUNDS_LOCKED);
    CHECK(strstr(offpay_wallet_error(alice), "locked") != NULL);
    dump(base, "alice", after, sizeof after);
    CHECK(strcmp(before, after) == 0);
    CHECK_STATUS(offpay_wallet_request_create(bob, req2, sizeof req2, &req2_len, 9000), OFFPAY_OK);
    CHECK_STATUS(offpay_wallet_pay(alice, rec2, sizeof rec2, &rec2_len, NULL, req2, req2_len), OFFPAY_ERR_INSUFFICIENT_FUNDS);

    /* Claim 4: per-payment (not below 10000), offline total, owner limits stricter only. */
    give(alice, (const uint64_t[]){50000, 50000}, 2);
    CHECK_STATUS(offpay_wallet_request_create(bob, req2, sizeof req2, &req2_len, 10000), OFFPAY_OK);
    CHECK_STATUS(offpay_wallet_pay(alice, rec2, sizeof rec2, &rec2_len, NULL, req2, req2_len), OFFPAY_ERR_LIMIT_PER_PAYMENT);
    CHECK_STATUS(offpay_wallet_limits_set(alice, &(struct offpay_limits){.per_payment = 20000}), OFFPAY_ERR_USAGE);
    CHECK_STATUS(offpay_wallet_limits_set(alice, &(struct offpay_limits){.per_payment = 3000}), OFFPAY_OK);
    CHECK_STATUS(offpay_wallet_request_create(bob, req2, sizeof req2, &req2_len, 3000), OFFPAY_OK);
    CHECK_STATUS(offpay_wallet_pay(alice, rec2, sizeof rec2, &rec2_len, NULL, req2, req2_len), OFFPAY_ERR_LIMIT_PER_PAYMENT);
    CHECK(strstr(offpay_wallet_error(alice), "per-payment") != NULL);
    /* 3500 unsynced + 9999 < 20000 is fine with the server per-payment, 3500+9999+9999 is not. */
    CHECK_STATUS(offpay_wallet_limits_set(alice, &(struct offpay_limits){.per_payment = 10000}), OFFPAY_OK);
    CHECK_STATUS(offpay_wallet_request_create(bob, req2, sizeof req2, &req2_len, 9999), OFFPAY_OK);
    CHECK_STATUS(offpay_wallet_pay(alice, rec2, sizeof rec2, &rec2_len, NULL, req2, req2_len), OFFPAY_OK);
    CHECK_STATUS(offpay_wallet_request_create(bob, req2, sizeof req2, &req2_len, 9999), OFFPAY_OK);
    CHECK_STATUS(offpay_wallet_pay(alice, rec2, sizeof rec2, &rec2_len, NULL, req2, req2_len), OFFPAY_ERR_LIMIT_OFFLINE_TOTAL);
    struct offpay_wallet_limits wl;
    CHECK_STATUS(offpay_wallet_limits(alice, &wl), OFFPAY_OK);
    CHECK(wl.unsynced_total == 3500 + 9999 && wl.count_in_period == 2);

    /* Count limit: 2 used, owner sets 2 -> refused. */
    CHECK_STATUS(offpay_wallet_limits_set(alice, &(struct offpay_limits){.count = 2}), OFFPAY_OK);
    CHECK_STATUS(offpay_wallet_request_create(bob, req2, sizeof req2, &req2_len, 10), OFFPAY_OK);
    CHECK_STATUS(offpay_wallet_pay(alice, rec2, sizeof rec2, &rec2_len, NULL, req2, req2_len), OFFPAY_ERR_LIMIT_COUNT);

    /* [0100]: bob pays alice too (bob has coins), and alice refuses it: bob's coin stays in doubt. */
    give(bob, (const uint64_t[]){700}, 1);
    CHECK_STATUS(offpay_wallet_request_create(alice, req2, sizeof req2, &req2_len, 300), OFFPAY_OK);
    CHECK_STATUS(offpay_wallet_pay(bob, rec2, sizeof rec2, &rec2_len, &info, req2, req2_len), OFFPAY_OK);
    CHECK_STATUS(offpay_wallet_refuse(alice, ref, sizeof ref, &ref_len, &info, rec2, rec2_len, OFFPAY_REFUSE_DECLINED), OFFPAY_OK);
    /* After refusing, the same record cannot be accepted. */
    CHECK_STATUS(offpay_wallet_accept(alice, conf, sizeof conf, &conf_len, NULL, rec2, rec2_len), OFFPAY_ERR_WRONG_NONCE);
    CHECK_STATUS(offpay_wallet_confirm(bob, &info, ref, ref_len), OFFPAY_OK);
    CHECK(info.refused == 1 && info.refusal_reason == OFFPAY_REFUSE_DECLINED);
    balance(bob, &b);
    CHECK(b.in_doubt == 700 && b.spendable == 0 && b.locked == 0);
    /* A confirmation after a refusal is a replay of an answered record. */
    CHECK_STATUS(offpay_wallet_confirm(bob, &info, ref, ref_len), OFFPAY_ERR_WRONG_RECORD);

    /* Garbage and empty input are malformed, never a crash. */
    CHECK(offpay_status_exit_code(offpay_wallet_accept(bob, conf, sizeof conf, &conf_len, NULL, (const uint8_t *)"", 0)) == 3);
    CHECK(offpay_status_exit_code(offpay_wallet_pay(alice, rec2, sizeof rec2, &rec2_len, NULL, (const uint8_t *)"xyz", 3)) == 3);
    CHECK(offpay_status_exit_code(offpay_wallet_confirm(alice, NULL, (const uint8_t *)"\x01\x05", 2)) == 3);

    offpay_wallet_close(alice);
    offpay_wallet_close(bob);
    offpay_wallet_close(carol);
    printf("wallet handshake: all checks passed\n");
    return 0;
}

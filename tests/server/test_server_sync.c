/*
 * test_server_sync.c - settlement over real HTTP (SPEC rules 6-8): a record
 * synced by its payer, by its payee, by both (one after the other and at the
 * same moment) settles once; re-syncs answer the same; an unconfirmed record
 * from its payer settles; a refused one is voided for good; tampered,
 * foreign and unknown-input records are rejected; records of one batch may
 * depend on each other; a double spend is rejected, kept as evidence, and
 * revokes the payer, whose later requests and records are refused.  After
 * each step the ledger is checked (coins, balances) and audit must pass.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define TEXT_MAX (OFFPAY_TEXT_MAX + 1)

struct rec {
    struct offpay_record r;
    char text[TEXT_MAX];
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    char idhex[65];
};

static void make(struct rec *x, const struct h_wallet *payer, const struct h_wallet *payee, uint64_t amount,
                 const struct offpay_utxo *inputs, size_t n)
{
    h_record(&x->r, x->text, sizeof x->text, x->id, payer, payee, amount, inputs, n);
    offpay_hex(x->idhex, x->id, sizeof x->id);
}

/* One sync of n records (conf/ref texts may be NULL).  Returns the answer. */
static json_t *sync_n(const struct h_wallet *w, struct rec **recs, const char **confs, const char **refs, size_t n)
{
    json_t *arr = json_array(), *resp;
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:s?,s:s?}", "record", recs[i]->text, "confirmation",
                                             confs ? confs[i] : NULL, "refusal", refs ? refs[i] : NULL));
    long st = h_call(w, "POST", "/v1/sync", json_pack("{s:o}", "records", arr), &resp);
    if (st != 200)
        CHECK_FAIL("sync answered %ld", st);
    CHECK(json_array_size(json_object_get(resp, "results")) == n);
    CHECK(json_is_string(json_object_get(resp, "limits")));
    CHECK(json_is_string(json_object_get(resp, "revocation")));
    return resp;
}

static json_t *sync1(const struct h_wallet *w, struct rec *x, const char *conf, const char *ref)
{
    return sync_n(w, &x, &conf, &ref, 1);
}

static const char *status_of(json_t *resp, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(resp, "results"), i), "status"));
}

static const char *reason_of(json_t *resp, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(resp, "results"), i), "reason"));
}

/* The answer holds exactly the expected output of record x (index idx) for w, attested. */
static void expect_output(json_t *resp, const struct h_wallet *w, const struct rec *x, unsigned idx)
{
    struct offpay_utxo want, got;
    json_t *u = json_object_get(resp, "utxos");
    CHECK(offpay_record_output(&want, &x->r, x->id, idx) == OFFPAY_OK);
    int found = 0;
    for (size_t i = 0; i < json_array_size(u); i++) {
        h_utxo_decode(&got, json_string_value(json_array_get(u, i)));
        if (memcmp(got.id, want.id, sizeof want.id) == 0) {
            found++;
            CHECK_U64(got.amount, want.amount);
            CHECK(memcmp(got.owner, w->pk, sizeof w->pk) == 0);
            CHECK(offpay_utxo_verify(&got, w->issuer_pk) == OFFPAY_OK);
        }
    }
    CHECK(found == 1);
}

static long long unspent_of(const char *account)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(u.amount), 0) FROM utxos u JOIN accounts a ON a.id = u.account_id "
             "WHERE u.spent = 0 AND a.name = '%s'",
             account);
    return h_sql_int(sql);
}

static long long count_of(const char *sql) { return h_sql_int(sql); }

struct racer {
    const struct h_wallet *w;
    struct rec *x;
    const char *conf;
    json_t *resp;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    r->resp = sync1(r->w, r->x, r->conf, NULL);
    return NULL;
}

int main(void)
{
    struct h_wallet alice, bob, carol, dave;
    struct offpay_utxo c[5];
    struct rec r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11;
    char conf[TEXT_MAX], conf2[TEXT_MAX];
    json_t *a, *b;

    h_setup("sync");
    h_server_start(2);
    h_wallet_enrol(&alice, "alice");
    h_wallet_enrol(&bob, "bob");
    h_wallet_enrol(&carol, "carol");
    h_wallet_enrol(&dave, "dave");
    h_mint("alice", 100000);
    uint64_t amounts[5] = {1000, 2000, 3000, 4000, 5000};
    h_load(&alice, amounts, 5, c);
    CHECK_U64(h_online(&alice), 85000);

    /* 1. Payer first, with the confirmation ([0072]: pay 3500 from the 4000, change 500). */
    make(&r1, &alice, &bob, 3500, &c[3], 1);
    h_confirmation(conf, sizeof conf, &bob, r1.id);
    a = sync1(&alice, &r1, conf, NULL);
    CHECK_STR(status_of(a, 0), "settled");
    expect_output(a, &alice, &r1, 1);
    CHECK(json_array_size(json_object_get(a, "utxos")) == 1);
    json_decref(a);
    CHECK_U64(unspent_of("alice"), 1000 + 2000 + 3000 + 5000 + 500);
    CHECK_U64(unspent_of("bob"), 3500);
    /* then the payee: settled again, and it gets its incoming coin */
    b = sync1(&bob, &r1, conf, NULL);
    CHECK_STR(status_of(b, 0), "settled");
    expect_output(b, &bob, &r1, 0);
    json_decref(b);
    /* with a confirmation by someone else: it is settled, that is the answer */
    h_confirmation(conf2, sizeof conf2, &carol, r1.id);
    b = sync1(&bob, &r1, conf2, NULL);
    CHECK_STR(status_of(b, 0), "settled");
    expect_output(b, &bob, &r1, 0);
    json_decref(b);
    /* and the payer again, without the confirmation: the same answer */
    a = sync1(&alice, &r1, NULL, NULL);
    CHECK_STR(status_of(a, 0), "settled");
    expect_output(a, &alice, &r1, 1);
    json_decref(a);
    CHECK_U64(count_of("SELECT count(*) FROM records"), 1);
    CHECK_U64(count_of("SELECT count(*) FROM utxos"), 7);
    CHECK_U64(count_of("SELECT received FROM accounts WHERE name = 'bob'"), 3500);
    CHECK_U64(count_of("SELECT sent FROM accounts WHERE name = 'alice'"), 3500);
    h_audit_ok();

    /* 2. Payee first. */
    make(&r2, &alice, &bob, 700, &c[0], 1);
    h_confirmation(conf, sizeof conf, &bob, r2.id);
    b = sync1(&bob, &r2, conf, NULL);
    CHECK_STR(status_of(b, 0), "settled");
    expect_output(b, &bob, &r2, 0);
    json_decref(b);
    a = sync1(&alice, &r2, conf, NULL);
    CHECK_STR(status_of(a, 0), "settled");
    expect_output(a, &alice, &r2, 1);
    json_decref(a);
    CHECK_U64(unspent_of("alice"), 2000 + 3000 + 5000 + 500 + 300);
    CHECK_U64(unspent_of("bob"), 3500 + 700);
    h_audit_ok();

    /* 3. Both at the same moment, a few times over: settled once each. */
    struct offpay_utxo small[6];
    uint64_t smalls[6] = {100, 100, 100, 100, 100, 100};
    h_load(&alice, smalls, 6, small);
    for (int k = 0; k < 6; k++) {
        struct rec x;
        struct racer p = {&alice, &x, conf2, NULL}, q = {&bob, &x, conf2, NULL};
        pthread_t t1, t2;
        make(&x, &alice, &bob, 60, &small[k], 1);
        h_confirmation(conf2, sizeof conf2, &bob, x.id);
        CHECK(pthread_create(&t1, NULL, race, &p) == 0);
        CHECK(pthread_create(&t2, NULL, race, &q) == 0);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        CHECK_STR(status_of(p.resp, 0), "settled");
        CHECK_STR(status_of(q.resp, 0), "settled");
        expect_output(p.resp, &alice, &x, 1);
        expect_output(q.resp, &bob, &x, 0);
        json_decref(p.resp);
        json_decref(q.resp);
    }
    CHECK_U64(count_of("SELECT count(*) FROM records"), 2 + 6);
    CHECK_U64(unspent_of("alice"), 2000 + 3000 + 5000 + 500 + 300 + 6 * 40);
    CHECK_U64(unspent_of("bob"), 3500 + 700 + 6 * 60);
    h_audit_ok();

    /* 4. Unconfirmed, from its payer (rule 8): it settles. */
    make(&r3, &alice, &carol, 100, &c[2], 1);
    a = sync1(&alice, &r3, NULL, NULL);
    CHECK_STR(status_of(a, 0), "settled");
    expect_output(a, &alice, &r3, 1);
    json_decref(a);
    CHECK_U64(unspent_of("carol"), 100);

    /* 5. Refused by the payee: the payer voids it; it never settles afterwards. */
    struct offpay_utxo change1;
    CHECK(offpay_record_output(&change1, &r1.r, r1.id, 1) == OFFPAY_OK);
    make(&r4, &alice, &carol, 200, &change1, 1);
    {
        struct offpay_refusal f;
        uint8_t bin[OFFPAY_REFUSAL_BYTES];
        char ref[512];
        CHECK(offpay_refusal_build(&f, r4.id, OFFPAY_REFUSE_DECLINED, carol.sk) == OFFPAY_OK);
        size_t n = offpay_refusal_encode(bin, sizeof bin, &f);
        CHECK(offpay_text_encode(ref, sizeof ref, bin, n) == OFFPAY_OK);
        /* a refusal signed by someone else is not a refusal */
        struct offpay_refusal g;
        char bad[512];
        CHECK(offpay_refusal_build(&g, r4.id, OFFPAY_REFUSE_DECLINED, dave.sk) == OFFPAY_OK);
        n = offpay_refusal_encode(bin, sizeof bin, &g);
        CHECK(offpay_text_encode(bad, sizeof bad, bin, n) == OFFPAY_OK);
        /* the payee cannot void it with its own refusal */
        b = sync1(&carol, &r4, NULL, ref);
        CHECK_STR(status_of(b, 0), "rejected");
        CHECK_STR(reason_of(b, 0), "bad_refusal");
        json_decref(b);
        a = sync1(&alice, &r4, NULL, bad);
        CHECK_STR(status_of(a, 0), "rejected");
        CHECK_STR(reason_of(a, 0), "bad_refusal");
        json_decref(a);
        CHECK_U64(count_of("SELECT count(*) FROM records WHERE state = 2"), 0);

        a = sync1(&alice, &r4, NULL, ref);
        CHECK_STR(status_of(a, 0), "voided");
        CHECK(json_array_size(json_object_get(a, "utxos")) == 0);
        json_decref(a);
        a = sync1(&alice, &r4, NULL, ref);
        CHECK_STR(status_of(a, 0), "voided");
        json_decref(a);
    }
    h_confirmation(conf, sizeof conf, &carol, r4.id);
    b = sync1(&carol, &r4, conf, NULL);
    CHECK_STR(status_of(b, 0), "rejected");
    CHECK_STR(reason_of(b, 0), "voided");
    json_decref(b);
    a = sync1(&alice, &r4, NULL, NULL);
    CHECK_STR(status_of(a, 0), "rejected");
    CHECK_STR(reason_of(a, 0), "voided");
    json_decref(a);
    CHECK_U64(unspent_of("carol"), 100);
    CHECK_U64(count_of("SELECT spent FROM utxos WHERE id = (SELECT id FROM utxos WHERE amount = 500)"), 0);
    h_audit_ok();

    /* 6. Tampered: the amount raised after signing. */
    make(&r5, &alice, &bob, 1000, &c[1], 1);
    {
        struct offpay_record t = r5.r;
        uint8_t bin[OFFPAY_RECORD_BYTES_MAX];
        t.payee_amount = 1500;
        t.change_amount = 500;
        size_t n = offpay_record_encode(bin, sizeof bin, &t);
        CHECK(offpay_text_encode(r5.text, sizeof r5.text, bin, n) == OFFPAY_OK);
    }
    b = sync1(&bob, &r5, NULL, NULL);
    CHECK_STR(status_of(b, 0), "rejected");
    CHECK_STR(reason_of(b, 0), "invalid");
    json_decref(b);
    CHECK_U64(count_of("SELECT count(*) FROM utxos WHERE amount = 2000 AND spent = 0"), 1);

    /* 7. Not a party; an input the ledger never issued; a confirmation by someone else. */
    a = sync1(&dave, &r1, NULL, NULL);
    CHECK_STR(status_of(a, 0), "rejected");
    CHECK_STR(reason_of(a, 0), "not_party");
    json_decref(a);
    {
        struct offpay_utxo fake = c[1];
        offpay_random(fake.id, sizeof fake.id);
        make(&r6, &alice, &bob, 10, &fake, 1);
        a = sync1(&alice, &r6, NULL, NULL);
        CHECK_STR(status_of(a, 0), "rejected");
        CHECK_STR(reason_of(a, 0), "unknown_input");
        json_decref(a);
        make(&r6, &alice, &bob, 10, &c[1], 1);
        h_confirmation(conf, sizeof conf, &carol, r6.id);
        a = sync1(&alice, &r6, conf, NULL);
        CHECK_STR(status_of(a, 0), "rejected");
        CHECK_STR(reason_of(a, 0), "bad_confirmation");
        json_decref(a);
    }
    CHECK_U64(count_of("SELECT count(*) FROM utxos WHERE amount = 2000 AND spent = 0"), 1);
    h_audit_ok();

    /* 8. One batch, in an order where the second record creates the first one's input. */
    make(&r7, &alice, &bob, 1500, &c[1], 1); /* bob gets 1500 */
    struct offpay_utxo incoming;
    CHECK(offpay_record_output(&incoming, &r7.r, r7.id, 0) == OFFPAY_OK);
    make(&r8, &bob, &carol, 1200, &incoming, 1); /* and pays carol from it */
    {
        struct rec *batch[2] = {&r8, &r7};
        b = sync_n(&bob, batch, NULL, NULL, 2);
        CHECK_STR(status_of(b, 0), "settled");
        CHECK_STR(status_of(b, 1), "settled");
        expect_output(b, &bob, &r8, 1); /* change 300 */
        expect_output(b, &bob, &r7, 0); /* incoming 1500 (spent since, handed out anyway) */
        json_decref(b);
    }
    CHECK_U64(unspent_of("carol"), 100 + 1200);
    h_audit_ok();

    /* 9. Double spend: the 5000 coin paid to bob, then to carol. */
    make(&r9, &alice, &bob, 400, &c[4], 1);
    make(&r10, &alice, &carol, 600, &c[4], 1);
    b = sync1(&bob, &r9, NULL, NULL);
    CHECK_STR(status_of(b, 0), "settled");
    json_decref(b);
    long long bob_before = unspent_of("bob");
    b = sync1(&carol, &r10, NULL, NULL);
    CHECK_STR(status_of(b, 0), "rejected");
    CHECK_STR(reason_of(b, 0), "double_spend");
    {
        /* the revocation list carol got names alice, serial moved on */
        uint8_t bin[1024];
        size_t n;
        int t;
        struct offpay_revocation v;
        const char *txt = json_string_value(json_object_get(b, "revocation"));
        CHECK(offpay_text_decode(bin, sizeof bin, &n, &t, OFFPAY_MSG_REVOCATION, txt, strlen(txt)) == OFFPAY_OK);
        CHECK(offpay_revocation_decode(&v, bin, n) == OFFPAY_OK);
        CHECK(offpay_revocation_verify(&v, alice.issuer_pk) == OFFPAY_OK);
        CHECK_U64(v.count, 1);
        CHECK_U64(v.serial, 2);
        CHECK(offpay_revocation_contains(&v, alice.cert.wallet_id));
    }
    json_decref(b);
    CHECK_U64(unspent_of("bob"), bob_before); /* the honest first payee keeps its value */
    CHECK_U64(count_of("SELECT fraudulent FROM wallets WHERE account_id = (SELECT id FROM accounts WHERE name = 'alice')"), 1);
    CHECK_U64(count_of("SELECT count(*) FROM frauds"), 1);
    {
        const char *out, *err;
        CHECK(h_offpayd(&out, &err, "frauds", "--ledger", h_ledger_url(), "--json", NULL) == 0);
        json_error_t je;
        json_t *j = json_loads(out, 0, &je);
        CHECK(j != NULL);
        json_t *f = json_array_get(json_object_get(j, "frauds"), 0);
        CHECK(json_array_size(json_object_get(j, "frauds")) == 1);
        CHECK_STR(json_string_value(json_object_get(f, "record")), r10.idhex);
        CHECK_STR(json_string_value(json_object_get(f, "first_record")), r9.idhex);
        CHECK_STR(json_string_value(json_object_get(f, "account")), "alice");
        char wid[33], input[65];
        offpay_hex(wid, alice.cert.wallet_id, 16);
        offpay_hex(input, c[4].id, 32);
        CHECK_STR(json_string_value(json_object_get(f, "payer_wallet")), wid);
        CHECK_STR(json_string_value(json_object_get(f, "input")), input);
        CHECK_STR(json_string_value(json_object_get(f, "record_text")), r10.text);
        CHECK_STR(json_string_value(json_object_get(f, "first_record_text")), r9.text);
        json_decref(j);
    }
    /* the same evidence again: still double_spend, still one row */
    b = sync1(&carol, &r10, NULL, NULL);
    CHECK_STR(reason_of(b, 0), "double_spend");
    json_decref(b);
    CHECK_U64(count_of("SELECT count(*) FROM frauds"), 1);
    h_audit_ok();

    /* 10. The revoked payer: its requests are refused, its other records too. */
    a = NULL;
    CHECK_U64(h_call(&alice, "GET", "/v1/balance", NULL, &a), 403);
    CHECK_STR(json_string_value(json_object_get(a, "error")), "revoked");
    json_decref(a);
    make(&r11, &alice, &carol, 50, &c[2], 1); /* c[2] (3000) was spent by r3: use its change */
    {
        struct offpay_utxo ch3;
        CHECK(offpay_record_output(&ch3, &r3.r, r3.id, 1) == OFFPAY_OK);
        make(&r11, &alice, &carol, 50, &ch3, 1);
    }
    b = sync1(&carol, &r11, NULL, NULL);
    CHECK_STR(status_of(b, 0), "rejected");
    CHECK_STR(reason_of(b, 0), "revoked");
    json_decref(b);
    /* bob's settled record stays settled */
    b = sync1(&bob, &r9, NULL, NULL);
    CHECK_STR(status_of(b, 0), "settled");
    json_decref(b);
    h_audit_ok();

    h_server_stop();
    h_audit_ok();

    /* 12. A record both sides bring is verified once: a fresh server settles
     * dave's payment to bob from the payer (the record's signature; the
     * confirmation's is not checked, it changes no outcome), then bob and
     * dave bring it again (nothing more to verify).  And a confirmation
     * whose signature is broken settles its record as none would: one more
     * signature verified, the record's, so two in all. */
    h_server_start(2);
    {
        struct rec r12;
        struct offpay_utxo dc;
        uint64_t one[1] = {900};
        h_mint("dave", 900);
        h_load(&dave, one, 1, &dc);
        make(&r12, &dave, &bob, 600, &dc, 1);
        h_confirmation(conf, sizeof conf, &bob, r12.id);
        a = sync1(&dave, &r12, conf, NULL);
        CHECK_STR(status_of(a, 0), "settled");
        json_decref(a);
        b = sync1(&bob, &r12, conf, NULL);
        CHECK_STR(status_of(b, 0), "settled");
        expect_output(b, &bob, &r12, 0);
        json_decref(b);
        a = sync1(&dave, &r12, NULL, NULL);
        CHECK_STR(status_of(a, 0), "settled");
        expect_output(a, &dave, &r12, 1);
        json_decref(a);

        struct rec r13;
        struct offpay_confirmation c13;
        uint8_t bin[OFFPAY_CONFIRMATION_BYTES_MAX];
        size_t n;
        int type;
        h_mint("dave", 900);
        h_load(&dave, one, 1, &dc);
        make(&r13, &dave, &bob, 100, &dc, 1);
        h_confirmation(conf, sizeof conf, &bob, r13.id);
        CHECK(offpay_text_decode(bin, sizeof bin, &n, &type, OFFPAY_MSG_CONFIRMATION, conf, strlen(conf)) == OFFPAY_OK);
        CHECK(offpay_confirmation_decode(&c13, bin, n) == OFFPAY_OK);
        c13.sig[0] ^= 1;
        n = offpay_confirmation_encode(bin, sizeof bin, &c13);
        CHECK(n > 0 && offpay_text_encode(conf, sizeof conf, bin, n) == OFFPAY_OK);
        a = sync1(&dave, &r13, conf, NULL);
        CHECK_STR(status_of(a, 0), "settled");
        expect_output(a, &dave, &r13, 1);
        json_decref(a);
    }
    h_server_stop();
    {
        char path[600], log[4096] = "";
        snprintf(path, sizeof path, "%s/server.log", h_dir());
        FILE *f = fopen(path, "r");
        if (f != NULL) {
            log[fread(log, 1, sizeof log - 1, f)] = '\0';
            fclose(f);
        }
        CHECK(strstr(log, "; 2 payment signatures verified.") != NULL);
    }
    h_audit_ok();
    printf("ok\n");
    return 0;
}

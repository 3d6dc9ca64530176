/*
 * test_server_crash.c - the ledger survives a crash of offpayd at any moment.
 *
 * Two clients hammer the server (loads, unloads, online payments, syncs of
 * fresh records) while it is killed with SIGKILL, three times over.  After
 * each crash the SQLite file passes its integrity check, audit passes (value
 * is conserved: every transaction happened wholly or not at all), every
 * settled record's inputs are spent and its outputs exist, and a restarted
 * server carries on.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct h_wallet alice, bob;
static volatile int stop;

/* A call that may fail (the server dies under it). */
static long try_call(const struct h_wallet *w, const char *method, const char *path, json_t *body, json_t **resp)
{
    long st = 0;
    *resp = NULL;
    enum offpay_status s = offpay_client_call(h_base_url(), method, path, body, &w->auth, &st, resp);
    json_decref(body);
    return s == OFFPAY_OK ? st : -1;
}

static void *loader(void *arg)
{
    (void)arg;
    while (!stop) {
        json_t *resp;
        long st = try_call(&alice, "POST", "/v1/load", json_pack("{s:[I,I,I]}", "amounts", (json_int_t)7,
                                                                   (json_int_t)11, (json_int_t)13), &resp);
        if (st == 200) {
            /* give one of them back */
            struct offpay_utxo u;
            h_utxo_decode(&u, json_string_value(json_array_get(json_object_get(resp, "utxos"), 1)));
            char id[65];
            offpay_hex(id, u.id, 32);
            json_decref(resp);
            try_call(&alice, "POST", "/v1/unload", json_pack("{s:[s]}", "utxos", id), &resp);
        }
        json_decref(resp);
        try_call(&bob, "POST", "/v1/pay-online", json_pack("{s:s,s:I}", "to", "alice", "amount", (json_int_t)1), &resp);
        json_decref(resp);
        if (st < 0)
            usleep(20000);
    }
    return NULL;
}

static void *syncer(void *arg)
{
    (void)arg;
    while (!stop) {
        json_t *resp;
        long st = try_call(&alice, "POST", "/v1/load", json_pack("{s:[I,I,I,I]}", "amounts", (json_int_t)100,
                                                                   (json_int_t)100, (json_int_t)100, (json_int_t)100),
                           &resp);
        if (st != 200) {
            json_decref(resp);
            usleep(20000);
            continue;
        }
        json_t *batch = json_array();
        for (int i = 0; i < 4; i++) {
            struct offpay_utxo u;
            struct offpay_record r;
            char text[OFFPAY_TEXT_MAX + 1];
            uint8_t id[32];
            h_utxo_decode(&u, json_string_value(json_array_get(json_object_get(resp, "utxos"), (size_t)i)));
            h_record(&r, text, sizeof text, id, &alice, &bob, 30 + (uint64_t)i, &u, 1);
            json_array_append_new(batch, json_pack("{s:s}", "record", text));
        }
        json_decref(resp);
        try_call(&alice, "POST", "/v1/sync", json_pack("{s:o}", "records", batch), &resp);
        json_decref(resp);
    }
    return NULL;
}

static void check_ledger(void)
{
    CHECK_U64(h_sql_int("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"), 0);
    h_audit_ok();
    /* every settled record spent exactly its inputs: a coin spent by a record names a settled record */
    CHECK_U64(h_sql_int("SELECT count(*) FROM utxos u WHERE u.spent = 1 AND NOT EXISTS "
                           "(SELECT 1 FROM records r WHERE r.id = u.spent_by AND r.state = 1)"),
                 0);
    /* and created its outputs: bob's incoming coins match his settled records one to one */
    CHECK_U64(h_sql_int("SELECT count(*) FROM records WHERE state = 1"),
                 h_sql_int("SELECT count(*) FROM utxos WHERE owner = (SELECT public_key FROM wallets WHERE account_id = "
                           "(SELECT id FROM accounts WHERE name = 'bob'))"));
}

int main(void)
{
    h_setup("crash");
    h_server_start(2);
    h_wallet_enrol(&alice, "alice");
    h_wallet_enrol(&bob, "bob");
    h_mint("alice", 10000000);
    h_mint("bob", 1000);

    for (int round = 0; round < 3; round++) {
        pthread_t t1, t2;
        stop = 0;
        CHECK(pthread_create(&t1, NULL, loader, NULL) == 0);
        CHECK(pthread_create(&t2, NULL, syncer, NULL) == 0);
        usleep(300000 + 150000 * (useconds_t)round);
        h_server_kill();
        stop = 1;
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        check_ledger();
        h_server_start(2);
        /* the server carries on where it stopped */
        uint64_t before = h_online(&alice);
        uint64_t amounts[1] = {5};
        struct offpay_utxo u;
        h_load(&alice, amounts, 1, &u);
        CHECK_U64(h_online(&alice), before - 5);
    }
    CHECK(h_sql_int("SELECT count(*) FROM records WHERE state = 1") > 0);
    h_server_stop();
    check_ledger();
    printf("ok\n");
    return 0;
}

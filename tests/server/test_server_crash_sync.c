/*
 * test_server_crash_sync.c - a crash of offpayd under many concurrent
 * single-record syncs loses no answered record and settles none twice
 * (SPEC rules 6 and 8; docs/server.md "Group commit").
 *
 * Many payer wallets each sync their records one per request at the same
 * time, as phones do, so offpayd settles them in shared group commits.  When
 * about a third of the records have been answered, offpayd is killed with
 * SIGKILL.  Every record answered "settled" before the kill must be in the
 * ledger (an answer is sent only once its commit is durable).  Then offpayd
 * is restarted and every wallet syncs all its records again: each one
 * settles (none rejected, none a double spend), the ledger holds each once,
 * the payee was credited once per record, and audit passes.  Run as is
 * (SQLite) and under pg_run (PostgreSQL).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define PAYERS 16
#define PER_PAYER 8
#define PAY 70
#define TEXT_MAX 8192

struct payer {
    struct h_wallet w;
    struct offpay_utxo coins[PER_PAYER];
    char rec[PER_PAYER][TEXT_MAX], conf[PER_PAYER][TEXT_MAX];
    uint8_t id[PER_PAYER][OFFPAY_RECORD_ID_BYTES];
    int answered[PER_PAYER]; /* 1: answered settled before the crash */
};

static struct payer payers[PAYERS];
static struct h_wallet shop;
static int answered_total; /* atomic */

/* Sync one record (with its confirmation) of p; returns 1 when answered settled. */
static int sync_one(struct payer *p, int i, long *status)
{
    json_t *resp = NULL;
    json_t *body = json_pack("{s:[{s:s,s:s}]}", "records", "record", p->rec[i], "confirmation", p->conf[i]);
    *status = 0;
    /* not h_call: a call the crash breaks is expected here */
    if (offpay_client_call(h_base_url(), "POST", "/v1/sync", body, &p->w.auth, status, &resp) != OFFPAY_OK)
        *status = 0;
    json_decref(body);
    json_t *res = json_array_get(json_object_get(resp, "results"), 0);
    const char *st = json_string_value(json_object_get(res, "status"));
    int ok = *status == 200 && st != NULL && strcmp(st, "settled") == 0;
    json_decref(resp);
    return ok;
}

/* One phone: its records one per request, until the server is gone. */
static void *phone(void *arg)
{
    struct payer *p = arg;
    for (int i = 0; i < PER_PAYER; i++) {
        long status;
        if (!sync_one(p, i, &status)) {
            if (status == 200) /* the server answered, and not settled: a real failure */
                CHECK_FAIL("a record was answered but not settled before the crash");
            return NULL; /* the server died under the request */
        }
        p->answered[i] = 1;
        __atomic_add_fetch(&answered_total, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

/* Whether the ledger holds record id (either backend's SQL). */
static int in_ledger(const uint8_t id[OFFPAY_RECORD_ID_BYTES])
{
    char hex[2 * OFFPAY_RECORD_ID_BYTES + 1], sql[256];
    offpay_hex(hex, id, OFFPAY_RECORD_ID_BYTES);
    if (strncmp(h_ledger_url(), "sqlite:", 7) == 0)
        snprintf(sql, sizeof sql, "SELECT count(*) FROM records WHERE state = 1 AND id = x'%s'", hex);
    else
        snprintf(sql, sizeof sql, "SELECT count(*) FROM records WHERE state = 1 AND id = '\\x%s'::bytea", hex);
    return (int)h_sql_int(sql);
}

int main(void)
{
    pthread_t t[PAYERS];
    uint64_t amounts[PER_PAYER];
    struct offpay_record r;

    h_setup("crashsync");
    h_server_start(2);
    h_wallet_enrol(&shop, "shop");
    for (int i = 0; i < PER_PAYER; i++)
        amounts[i] = 100;
    for (int k = 0; k < PAYERS; k++) {
        struct payer *p = &payers[k];
        char name[32];
        snprintf(name, sizeof name, "phone%d", k);
        h_wallet_enrol(&p->w, name);
        h_mint(name, 100 * PER_PAYER);
        h_load(&p->w, amounts, PER_PAYER, p->coins);
        for (int i = 0; i < PER_PAYER; i++) {
            h_record(&r, p->rec[i], TEXT_MAX, p->id[i], &p->w, &shop, PAY, &p->coins[i], 1);
            h_confirmation(p->conf[i], TEXT_MAX, &shop, p->id[i]);
        }
    }

    /* All phones at once; the crash comes when about a third is answered. */
    for (int k = 0; k < PAYERS; k++)
        CHECK(pthread_create(&t[k], NULL, phone, &payers[k]) == 0);
    for (int waited = 0; __atomic_load_n(&answered_total, __ATOMIC_SEQ_CST) < PAYERS * PER_PAYER / 3; waited++) {
        if (waited > 60000)
            CHECK_FAIL("the syncs did not get going within a minute");
        usleep(1000);
    }
    h_server_kill();
    for (int k = 0; k < PAYERS; k++)
        pthread_join(t[k], NULL);
    int answered = __atomic_load_n(&answered_total, __ATOMIC_SEQ_CST);
    printf("answered before the crash: %d of %d\n", answered, PAYERS * PER_PAYER);

    /* Every answer given was durable. */
    for (int k = 0; k < PAYERS; k++)
        for (int i = 0; i < PER_PAYER; i++)
            if (payers[k].answered[i] && in_ledger(payers[k].id[i]) != 1)
                CHECK_FAIL("record %d of phone %d was answered settled but is not in the ledger", i,
                        k);
    if (strncmp(h_ledger_url(), "sqlite:", 7) == 0)
        CHECK_U64(h_sql_int("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"), 0);
    h_audit_ok();

    /* Every wallet syncs everything again: all settled, each once. */
    h_server_start(2);
    for (int k = 0; k < PAYERS; k++) {
        struct payer *p = &payers[k];
        json_t *batch = json_array(), *resp = NULL;
        for (int i = 0; i < PER_PAYER; i++)
            json_array_append_new(batch, json_pack("{s:s,s:s}", "record", p->rec[i], "confirmation", p->conf[i]));
        CHECK_U64(h_call(&p->w, "POST", "/v1/sync", json_pack("{s:o}", "records", batch), &resp), 200);
        json_t *results = json_object_get(resp, "results");
        CHECK_U64(json_array_size(results), PER_PAYER);
        for (int i = 0; i < PER_PAYER; i++)
            CHECK_STR(json_string_value(json_object_get(json_array_get(results, (size_t)i), "status")), "settled");
        /* the payer's change coins, one per record */
        CHECK_U64(json_array_size(json_object_get(resp, "utxos")), PER_PAYER);
        json_decref(resp);
    }
    CHECK_U64(h_sql_int("SELECT count(*) FROM records"), PAYERS * PER_PAYER);
    CHECK_U64(h_sql_int("SELECT count(*) FROM frauds"), 0);
    CHECK_U64(h_sql_int("SELECT received FROM accounts WHERE name = 'shop'"), PAYERS * PER_PAYER * PAY);
    CHECK_U64(h_sql_int("SELECT count(*) FROM utxos WHERE spent = 0 AND owner = (SELECT public_key FROM wallets "
                           "WHERE account_id = (SELECT id FROM accounts WHERE name = 'shop'))"),
                 PAYERS * PER_PAYER);
    h_audit_ok();
    h_server_stop();
    printf("ok\n");
    return 0;
}

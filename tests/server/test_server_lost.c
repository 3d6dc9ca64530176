/*
 * test_server_lost.c - a wallet reported lost, over real HTTP on every
 * backend (SQLite, PostgreSQL under pg_run, shards with OFFPAY_TEST_SHARDS):
 * the report from another wallet of the account revokes it at once (its
 * requests refused, the list's serial grown); a record it signed settles
 * within the grace period and is rejected (written_off) after it; at the
 * end of the grace period its unspent coins go back to the account's
 * online balance once, across restarts of the server (the job runs at
 * start); audit after each step.  The server's clock is moved with
 * $OFFPAYD_NOW (tests only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define TEXT_MAX (OFFPAY_TEXT_MAX + 1)
#define GRACE (14u * 86400u)

struct rec {
    struct offpay_record r;
    char text[TEXT_MAX];
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
};

/* Sync record x as w.  Returns the record's status; *reason its reason (or NULL). */
static const char *sync1(const struct h_wallet *w, struct rec *x, char reason[32])
{
    static char status[32];
    json_t *resp = NULL;
    json_t *arr = json_pack("[{s:s}]", "record", x->text);
    CHECK_U64(h_call(w, "POST", "/v1/sync", json_pack("{s:o}", "records", arr), &resp), 200);
    json_t *r0 = json_array_get(json_object_get(resp, "results"), 0);
    snprintf(status, sizeof status, "%s", json_string_value(json_object_get(r0, "status")));
    const char *why = json_string_value(json_object_get(r0, "reason"));
    snprintf(reason, 32, "%s", why ? why : "");
    json_decref(resp);
    return status;
}

/* offpayd wallet show ID --json: field name of the wallet, as an integer (-1: null). */
static long long wallet_field(const char *id, const char *name)
{
    const char *out, *err;
    CHECK_U64(h_offpayd(&out, &err, "wallet", "--ledger", h_ledger_url(), "show", id, "--json", NULL), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    CHECK(j != NULL);
    json_t *v = json_object_get(j, name);
    long long n = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
    json_decref(j);
    return n;
}

static void restart_at(uint64_t now)
{
    char t[24];
    h_server_stop();
    snprintf(t, sizeof t, "%llu", (unsigned long long)now);
    setenv("OFFPAYD_NOW", t, 1);
    h_server_start(2);
}

int main(void)
{
    struct h_wallet phone, other, bob;
    struct offpay_utxo coins[2];
    struct rec before, late;
    char phone_id[2 * OFFPAY_WALLET_ID_BYTES + 1], prefix[9], reason[32];
    static const uint64_t amounts[2] = {1000, 4000};
    json_t *resp = NULL;

    unsetenv("OFFPAYD_NOW");
    h_setup("lost");
    h_server_start(2);
    h_wallet_enrol(&phone, "alice");
    h_wallet_enrol(&other, "alice");
    h_wallet_enrol(&bob, "bob");
    h_mint("alice", 10000);
    h_load(&phone, amounts, 2, coins);
    /* Both signed offline before the report. */
    h_record(&before.r, before.text, sizeof before.text, before.id, &phone, &bob, 600, &coins[0], 1);
    h_record(&late.r, late.text, sizeof late.text, late.id, &phone, &bob, 3000, &coins[1], 1);
    offpay_hex(phone_id, phone.cert.wallet_id, OFFPAY_WALLET_ID_BYTES);
    memcpy(prefix, phone_id, 8);
    prefix[8] = '\0';
    int shard = h_shard_of("alice");
    long long serial = h_sql_int_at(shard, "SELECT serial FROM revocation");

    /* The report: by the other wallet of alice, not by bob (another account), not by itself. */
    CHECK_U64(h_call(&bob, "POST", "/v1/wallets/lost", json_pack("{s:s}", "wallet", prefix), NULL), 404);
    CHECK_U64(h_call(&phone, "POST", "/v1/wallets/lost", json_pack("{s:s}", "wallet", prefix), NULL), 409);
    CHECK_U64(h_call(&other, "POST", "/v1/wallets/lost", json_pack("{s:s,s:s}", "wallet", prefix, "reason", "mislaid"),
                     NULL), 400);
    CHECK_U64(h_call(&other, "POST", "/v1/wallets/lost", json_pack("{s:s}", "wallet", "abc"), NULL), 400);
    CHECK_U64(h_call(&other, "POST", "/v1/wallets/lost", json_pack("{s:s,s:s}", "wallet", prefix, "reason", "stolen"),
                     &resp), 200);
    CHECK_STR(json_string_value(json_object_get(resp, "wallet")), phone_id);
    CHECK(json_is_true(json_object_get(resp, "new")));
    uint64_t reported = (uint64_t)json_integer_value(json_object_get(resp, "reported_at"));
    CHECK_U64((uint64_t)json_integer_value(json_object_get(resp, "writeoff_at")), reported + GRACE);
    json_decref(resp);
    CHECK_U64((uint64_t)h_sql_int_at(shard, "SELECT serial FROM revocation"), (uint64_t)serial + 1);
    CHECK_U64(h_call(&phone, "GET", "/v1/balance", NULL, NULL), 403);
    h_audit_ok();

    /* Within the grace period, its record settles. */
    CHECK_STR(sync1(&bob, &before, reason), "settled");
    CHECK_U64(h_online(&other), 5000);
    CHECK_U64((uint64_t)wallet_field(prefix, "outstanding"), 400 + 4000);
    h_audit_ok();

    /* After it: the coins go back at the server's start, once. */
    uint64_t later = reported + GRACE + 60;
    restart_at(later);
    CHECK_U64(h_online(&other), 5000 + 4400);
    CHECK_U64((uint64_t)wallet_field(prefix, "written_off"), 4400);
    long long at = wallet_field(prefix, "written_off_at");
    CHECK_U64((uint64_t)at, later);
    h_audit_ok();
    CHECK_STR(sync1(&bob, &late, reason), "rejected");
    CHECK_STR(reason, "written_off");
    CHECK_U64(h_online(&other), 9400);
    restart_at(later + 3600);
    CHECK_U64(h_online(&other), 9400);
    CHECK_U64((uint64_t)wallet_field(prefix, "written_off_at"), (uint64_t)at);
    CHECK_STR(sync1(&bob, &late, reason), "rejected");
    h_audit_ok();
    h_server_stop();
    unsetenv("OFFPAYD_NOW");
    printf("test_server_lost: ok\n");
    return 0;
}

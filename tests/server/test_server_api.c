/*
 * test_server_api.c - offpayd's HTTP API over real HTTP on 127.0.0.1:
 * enrol (one-time token), balance, limits, load, unload, pay-online, and
 * every way a request is refused (bad auth, stale timestamp, revoked
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
    CHECK_U64(st, 200);
    CHECK(json_is_string(json_object_get(resp, "limits")));
    CHECK(json_is_string(json_object_get(resp, "revocation")));
    json_decref(resp);
    offpay_keypair(pk, sk);
    offpay_hex(pkhex, pk, sizeof pk);
    st = h_call(NULL, "POST", "/v1/enrol", json_pack("{s:s,s:s}", "token", token, "public_key", pkhex), &resp);
    CHECK_U64(st, 403);
    CHECK_STR(err_code(resp), "bad_token");
    json_decref(resp);
    CHECK_U64(h_sql_int("SELECT count(*) FROM wallets"), 1);

    struct h_wallet alice, bob;
    h_wallet_enrol(&alice, "alice");
    h_wallet_enrol(&bob, "bob");
    CHECK_U64(h_sql_int("SELECT count(*) FROM wallets"), 3);
    CHECK_U64(h_online(&alice), 0);
    h_mint("alice", 100000);
    CHECK_U64(h_online(&alice), 100000);

    /* Limits: the documented defaults, signed by the issuer. */
    st = h_call(&alice, "GET", "/v1/limits", NULL, &resp);
    CHECK_U64(st, 200);
    {
        uint8_t bin[256];
        size_t n;
        int t;
        struct offpay_limits_policy p;
        const char *txt = json_string_value(json_object_get(resp, "limits"));
        CHECK(txt && offpay_text_decode(bin, sizeof bin, &n, &t, OFFPAY_MSG_LIMITS, txt, strlen(txt)) == OFFPAY_OK);
        CHECK(offpay_limits_policy_decode(&p, bin, n) == OFFPAY_OK);
        CHECK(offpay_limits_policy_verify(&p, alice.issuer_pk) == OFFPAY_OK);
        CHECK_U64(p.limits.per_payment, 50000);
        CHECK_U64(p.limits.offline_total, 200000);
        CHECK_U64(p.limits.count, 50);
        CHECK_U64(p.limits.period, 86400);
        /* The ledger's money (the harness inits it in EUR), read from shard 0. */
        struct offpay_money m;
        offpay_limits_policy_money(&p, &m);
        CHECK(strcmp(m.code, "EUR") == 0 && m.exponent == 2);
        CHECK_U64(n, OFFPAY_LIMITS_BYTES_MONEY);
    }
    json_decref(resp);

    /* Load: online balance -> attested coins of exactly these amounts. */
    uint64_t amounts[3] = {1000, 2000, 3000};
    struct offpay_utxo coins[3];
    h_load(&alice, amounts, 3, coins);
    CHECK_U64(h_online(&alice), 94000);

    /* GET /v1/utxos: exactly the caller's unspent coins, attested, ours only. */
    st = h_call(&alice, "GET", "/v1/utxos", NULL, &resp);
    CHECK_U64(st, 200);
    CHECK(json_is_false(json_object_get(resp, "more")));
    CHECK_U64(json_array_size(json_object_get(resp, "utxos")), 3);
    {
        int seen[3] = {0, 0, 0};
        for (size_t i = 0; i < 3; i++) {
            struct offpay_utxo u;
            h_utxo_decode(&u, json_string_value(json_array_get(json_object_get(resp, "utxos"), i)));
            CHECK(offpay_utxo_verify(&u, alice.issuer_pk) == OFFPAY_OK);
            CHECK(memcmp(u.owner, alice.pk, sizeof u.owner) == 0);
            for (int k = 0; k < 3; k++)
                if (memcmp(u.id, coins[k].id, sizeof u.id) == 0 && u.amount == coins[k].amount)
                    seen[k]++;
        }
        CHECK(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    }
    json_decref(resp);
    {
        /* paging by id: after the smallest id the other two, after the
         * largest none; a malformed "after" is refused */
        int lo = 0, hi = 0;
        char path[128], hex[65];
        for (int k = 1; k < 3; k++) {
            if (memcmp(coins[k].id, coins[lo].id, 32) < 0)
                lo = k;
            if (memcmp(coins[k].id, coins[hi].id, 32) > 0)
                hi = k;
        }
        offpay_hex(hex, coins[lo].id, 32);
        snprintf(path, sizeof path, "/v1/utxos?after=%s", hex);
        st = h_call(&alice, "GET", path, NULL, &resp);
        CHECK_U64(st, 200);
        CHECK_U64(json_array_size(json_object_get(resp, "utxos")), 2);
        CHECK(json_is_false(json_object_get(resp, "more")));
        json_decref(resp);
        offpay_hex(hex, coins[hi].id, 32);
        snprintf(path, sizeof path, "/v1/utxos?after=%s", hex);
        st = h_call(&alice, "GET", path, NULL, &resp);
        CHECK_U64(st, 200);
        CHECK_U64(json_array_size(json_object_get(resp, "utxos")), 0);
        json_decref(resp);
        st = h_call(&alice, "GET", "/v1/utxos?after=XYZ", NULL, &resp);
        CHECK_U64(st, 400);
        CHECK_STR(err_code(resp), "bad_field");
        json_decref(resp);
    }
    st = h_call(&bob, "GET", "/v1/utxos", NULL, &resp);
    CHECK_U64(st, 200);
    CHECK_U64(json_array_size(json_object_get(resp, "utxos")), 0);
    json_decref(resp);
    st = h_call(NULL, "GET", "/v1/utxos", NULL, &resp);
    CHECK_U64(st, 401);
    json_decref(resp);
    CHECK_U64(h_sql_int("SELECT sum(amount) FROM utxos WHERE spent = 0"), 6000);

    /* Load more than the balance: 409, nothing changes. */
    st = h_call(&alice, "POST", "/v1/load", json_pack("{s:[I]}", "amounts", (json_int_t)94001), &resp);
    CHECK_U64(st, 409);
    CHECK_STR(err_code(resp), "insufficient_balance");
    json_decref(resp);
    CHECK_U64(h_online(&alice), 94000);

    /* ---- authentication: every refusal changes nothing ---- */
    long long now = (long long)time(NULL);
    char nonce[33];
    const char *lb = "{\"amounts\":[10]}";
    size_t lbn = strlen(lb);
    long long coins_before = h_sql_int("SELECT count(*) FROM utxos");
    /* a good raw request works ... */
    json_t *first;
    CHECK_U64(h_raw(&alice, "POST", "/v1/load", lb, lbn, now, NULL, nonce, 0, 0, &first), 200);
    CHECK_U64(h_online(&alice), 93990);
    /* ... once: the same nonce again gets the first answer and changes nothing
     * (test_server_answers checks every such call byte for byte) */
    CHECK_U64(h_raw(&alice, "POST", "/v1/load", lb, lbn, now, nonce, NULL, 0, 0, &resp), 200);
    CHECK(json_equal(resp, first));
    json_decref(resp);
    json_decref(first);
    CHECK_U64(h_online(&alice), 93990);
    /* stale and future timestamps */
    CHECK_U64(h_raw(&alice, "POST", "/v1/load", lb, lbn, now - 301, NULL, NULL, 0, 0, &resp), 401);
    CHECK_STR(err_code(resp), "stale_timestamp");
    json_decref(resp);
    CHECK_U64(h_raw(&alice, "POST", "/v1/load", lb, lbn, now + 400, NULL, NULL, 0, 0, &resp), 401);
    CHECK_STR(err_code(resp), "stale_timestamp");
    json_decref(resp);
    /* a broken signature, no headers, a body changed after signing */
    CHECK_U64(h_raw(&alice, "POST", "/v1/load", lb, lbn, now, NULL, NULL, 1, 0, &resp), 401);
    CHECK_STR(err_code(resp), "bad_auth");
    json_decref(resp);
    CHECK_U64(h_raw(NULL, "POST", "/v1/load", lb, lbn, now, NULL, NULL, 0, 0, &resp), 401);
    CHECK_STR(err_code(resp), "bad_auth");
    json_decref(resp);
    {
        /* bob's headers on alice's wallet id: the signature does not verify */
        struct h_wallet mallory = bob;
        memcpy(mallory.auth.wallet_id, alice.auth.wallet_id, 16);
        CHECK_U64(h_raw(&mallory, "POST", "/v1/load", lb, lbn, now, NULL, NULL, 0, 0, &resp), 401);
        CHECK_STR(err_code(resp), "bad_auth");
        json_decref(resp);
        /* an unknown wallet */
        offpay_random(mallory.auth.wallet_id, 16);
        CHECK_U64(h_raw(&mallory, "POST", "/v1/load", lb, lbn, now, NULL, NULL, 0, 0, &resp), 401);
        CHECK_STR(err_code(resp), "bad_auth");
        json_decref(resp);
    }
    CHECK_U64(h_online(&alice), 93990);
    CHECK_U64(h_sql_int("SELECT count(*) FROM utxos"), coins_before + 1);

    /* ---- bodies: size, JSON, fields ---- */
    {
        size_t big = 4u * 1024u * 1024u + 1;
        char *huge = malloc(big + 1);
        CHECK(huge != NULL);
        memset(huge, ' ', big);
        huge[0] = '{';
        huge[big - 1] = '}';
        huge[big] = '\0';
        CHECK_U64(h_raw(&alice, "POST", "/v1/load", huge, big, now, NULL, NULL, 0, 0, &resp), 413);
        CHECK_STR(err_code(resp), "too_large");
        json_decref(resp);
        CHECK_U64(h_raw(&alice, "POST", "/v1/load", huge, big, now, NULL, NULL, 0, 1, &resp), 413);
        CHECK_STR(err_code(resp), "too_large");
        json_decref(resp);
        free(huge);
    }
    static const struct {
        const char *path, *body, *code;
    } bad[] = {
        {"/v1/load", "{\"amounts\":[10]", "malformed_json"},
        {"/v1/load", "[10]", "malformed_json"},
        {"/v1/load", "", "malformed_json"},
        {"/v1/load", "{\"amounts\":[10],\"amounts\":[20]}", "malformed_json"},
        {"/v1/load", "{\"amounts\":\"10\"}", "bad_field"},
        {"/v1/load", "{\"amounts\":[\"10\"]}", "bad_field"},
        {"/v1/load", "{\"amounts\":[0]}", "bad_field"},
        {"/v1/load", "{\"amounts\":[-5]}", "bad_field"},
        {"/v1/load", "{\"amounts\":[1.5]}", "bad_field"},
        {"/v1/load", "{\"amounts\":[]}", "bad_field"},
        {"/v1/load", "{}", "bad_field"},
        {"/v1/load", "{\"amounts\":[9223372036854775807,1]}", "bad_field"},
        {"/v1/unload", "{\"utxos\":[\"zz\"]}", "bad_field"},
        {"/v1/unload", "{\"utxos\":[\"ABCDEF0000000000000000000000000000000000000000000000000000000000\"]}", "bad_field"},
        {"/v1/pay-online", "{\"to\":\"bob\",\"amount\":\"5\"}", "bad_field"},
        {"/v1/pay-online", "{\"to\":5,\"amount\":5}", "bad_field"},
        {"/v1/pay-online", "{\"to\":\"Bob!\",\"amount\":5}", "bad_field"},
        {"/v1/pay-online", "{\"to\":\"alice\",\"amount\":5}", "bad_field"},
        {"/v1/sync", "{\"records\":{}}", "bad_field"},
        {"/v1/sync", "{\"records\":[{\"record\":\"OP1REC:AAAA\"}]}", "bad_field"},
        {"/v1/sync", "{\"records\":[{\"record\":5}]}", "bad_field"},
        {"/v1/sync", "{\"records\":[17]}", "bad_field"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        st = h_raw(&alice, "POST", bad[i].path, bad[i].body, strlen(bad[i].body), now, NULL, NULL, 0, 0, &resp);
        if (st != 400 || resp == NULL || strcmp(err_code(resp), bad[i].code) != 0)
            CHECK_FAIL("%s %s: %ld %s", bad[i].path, bad[i].body, st, resp ? err_code(resp) : "-");
        CHECK(json_is_string(json_object_get(resp, "message")));
        json_decref(resp);
    }
    st = h_call(NULL, "POST", "/v1/enrol", json_pack("{s:s,s:s}", "token", "x", "public_key", "12"), &resp);
    CHECK_U64(st, 400);
    CHECK_STR(err_code(resp), "bad_field");
    json_decref(resp);
    CHECK_U64(h_call(&alice, "GET", "/v1/nothing", NULL, &resp), 404);
    CHECK_STR(err_code(resp), "not_found");
    json_decref(resp);
    CHECK_U64(h_call(&alice, "POST", "/v1/balance", json_object(), &resp), 405);
    CHECK_STR(err_code(resp), "method_not_allowed");
    json_decref(resp);
    CHECK_U64(h_online(&alice), 93990);
    CHECK_U64(h_sql_int("SELECT count(*) FROM utxos"), coins_before + 1);
    CHECK_U64(h_sql_int("SELECT count(*) FROM utxos WHERE spent = 0"), coins_before + 1);
    h_audit_ok();

    /* ---- unload ---- */
    {
        char id0[65], id1[65];
        offpay_hex(id0, coins[0].id, 32);
        offpay_hex(id1, coins[1].id, 32);
        /* not bob's: to bob it does not exist */
        st = h_call(&bob, "POST", "/v1/unload", json_pack("{s:[s]}", "utxos", id0), &resp);
        CHECK_U64(st, 404);
        CHECK_STR(err_code(resp), "not_found");
        json_decref(resp);
        /* one good and one unknown: nothing happens */
        char unknown[65];
        uint8_t r[32];
        offpay_random(r, sizeof r);
        offpay_hex(unknown, r, 32);
        st = h_call(&alice, "POST", "/v1/unload", json_pack("{s:[s,s]}", "utxos", id0, unknown), &resp);
        CHECK_U64(st, 404);
        json_decref(resp);
        CHECK_U64(h_online(&alice), 93990);
        st = h_call(&alice, "POST", "/v1/unload", json_pack("{s:[s,s]}", "utxos", id0, id1), &resp);
        CHECK_U64(st, 200);
        CHECK_U64(json_integer_value(json_object_get(resp, "online")), 96990);
        CHECK_U64(json_integer_value(json_object_get(resp, "unloaded")), 2);
        json_decref(resp);
        st = h_call(&alice, "POST", "/v1/unload", json_pack("{s:[s]}", "utxos", id0), &resp);
        CHECK_U64(st, 409);
        CHECK_STR(err_code(resp), "not_unspent");
        json_decref(resp);
        CHECK_U64(h_online(&alice), 96990);
    }
    h_audit_ok();

    /* ---- pay-online ---- */
    st = h_call(&alice, "POST", "/v1/pay-online", json_pack("{s:s,s:I}", "to", "nobody", "amount", (json_int_t)5), &resp);
    CHECK_U64(st, 404);
    json_decref(resp);
    st = h_call(&alice, "POST", "/v1/pay-online", json_pack("{s:s,s:I}", "to", "bob", "amount", (json_int_t)96991), &resp);
    CHECK_U64(st, 409);
    CHECK_STR(err_code(resp), "insufficient_balance");
    json_decref(resp);
    st = h_call(&alice, "POST", "/v1/pay-online", json_pack("{s:s,s:I}", "to", "bob", "amount", (json_int_t)990), &resp);
    CHECK_U64(st, 200);
    CHECK_U64(json_integer_value(json_object_get(resp, "online")), 96000);
    json_decref(resp);
    CHECK_U64(h_online(&alice), 96000);
    CHECK_U64(h_online(&bob), 990);
    h_audit_ok();

    /* ---- per-wallet limits reach the wallet ---- */
    {
        char wid[33];
        offpay_hex(wid, bob.cert.wallet_id, 16);
        CHECK(h_offpayd(&out, &err, "limits", "--ledger", h_ledger_url(), "--wallet", wid, "--per-payment", "700",
                        NULL) == 0);
        CHECK(h_offpayd(&out, &err, "limits", "--ledger", h_ledger_url(), "--count", "7", NULL) == 0);
        st = h_call(&bob, "GET", "/v1/limits", NULL, &resp);
        CHECK_U64(st, 200);
        uint8_t bin[256];
        size_t n;
        int t;
        struct offpay_limits_policy p;
        const char *txt = json_string_value(json_object_get(resp, "limits"));
        CHECK(offpay_text_decode(bin, sizeof bin, &n, &t, OFFPAY_MSG_LIMITS, txt, strlen(txt)) == OFFPAY_OK);
        CHECK(offpay_limits_policy_decode(&p, bin, n) == OFFPAY_OK);
        CHECK(offpay_limits_policy_verify(&p, bob.issuer_pk) == OFFPAY_OK);
        CHECK(memcmp(p.wallet_id, bob.cert.wallet_id, 16) == 0);
        CHECK_U64(p.limits.per_payment, 700);
        CHECK_U64(p.limits.offline_total, 200000);
        CHECK_U64(p.limits.count, 50); /* its own policy was made from the default before --count 7 */
        json_decref(resp);
        st = h_call(&alice, "GET", "/v1/limits", NULL, &resp);
        txt = json_string_value(json_object_get(resp, "limits"));
        CHECK(offpay_text_decode(bin, sizeof bin, &n, &t, OFFPAY_MSG_LIMITS, txt, strlen(txt)) == OFFPAY_OK);
        CHECK(offpay_limits_policy_decode(&p, bin, n) == OFFPAY_OK);
        CHECK_U64(p.limits.count, 7);
        CHECK_U64(p.limits.per_payment, 50000);
        json_decref(resp);
    }

    /* ---- short wallet ids in the commands (issue 16): one lookup, every shard ---- */
    {
        char wid[33], w8[9], w9[10], want[512], fake_lit[80], real_lit[80], sql[1024];
        uint8_t fake[16], fake_key[32];
        const char *L = h_ledger_url();
        offpay_hex(wid, bob.cert.wallet_id, 16);
        snprintf(w8, sizeof w8, "%.8s", wid);
        snprintf(w9, sizeof w9, "%.9s", wid);
        CHECK(h_offpayd(&out, &err, "limits", "--ledger", L, "--wallet", w8, "--json", NULL) == 0);
        snprintf(want, sizeof want, "{\"wallet\":\"%s\",\"own\":true,\"per_payment\":700,", wid);
        CHECK(strncmp(out, want, strlen(want)) == 0);
        /* the human form says the whole id, and money */
        for (char *c = w8; *c; c++)
            *c = (char)(*c >= 'a' ? *c - 'a' + 'A' : *c); /* capitals too */
        CHECK(h_offpayd(&out, &err, "limits", "--ledger", L, "--wallet", w8, NULL) == 0);
        snprintf(want, sizeof want,
                 "wallet limits for %s: per-payment 7.00 EUR, offline-total 2000.00 EUR, count 50 per 86400 s, "
                 "holding 20000.00 EUR, offline time 604800 s; grace period of lost wallets 1209600 s.\n", wid);
        CHECK_STR(out, want);
        CHECK(h_offpayd(&out, &err, "limits", "--ledger", L, "--wallet", w9, "--per-payment", "650", NULL) == 0);
        CHECK(h_offpayd(&out, &err, "limits", "--ledger", L, "--wallet", wid, "--json", NULL) == 0);
        CHECK(strstr(out, "\"per_payment\":650,") != NULL);
        snprintf(w8, sizeof w8, "%.8s", wid);
        /* too short, not hex, nobody's: usage errors, nothing set */
        char w7[8];
        snprintf(w7, sizeof w7, "%.7s", wid);
        CHECK(h_offpayd(&out, &err, "limits", "--ledger", L, "--wallet", w7, "--per-payment", "1", NULL) == 2);
        CHECK_STR(err, "offpayd: A wallet id is 8 to 32 hex digits (any unique beginning of it).\n");
        CHECK(h_offpayd(&out, &err, "limits", "--ledger", L, "--wallet", "0123456g", "--per-payment", "1", NULL) == 2);
        CHECK(h_offpayd(&out, &err, "limits", "--ledger", L, "--wallet", "ffffffff", "--per-payment", "1", NULL) == 2);
        CHECK_STR(err, "offpayd: No wallet has an id beginning with ffffffff.\n");
        /* a second wallet whose id begins with the same 8 digits: ambiguous, both named */
        memcpy(fake, bob.cert.wallet_id, 4);
        memset(fake + 4, wid[8] == '0' ? 0x11 : 0x00, 12);
        memset(fake_key, 0xee, sizeof fake_key);
        h_sql_bytes(fake_lit, sizeof fake_lit, fake, 16);
        h_sql_bytes(real_lit, sizeof real_lit, bob.cert.wallet_id, 16);
        char key_lit[160];
        h_sql_bytes(key_lit, sizeof key_lit, fake_key, 32);
        snprintf(sql, sizeof sql,
                 "INSERT INTO wallets (id, account_id, public_key, certificate, created) "
                 "SELECT %s, account_id, %s, certificate, 1 FROM wallets WHERE id = %s",
                 fake_lit, key_lit, real_lit);
        h_sql_exec(sql); /* only the shard that holds bob's wallet has the row to copy */
        char fake_hex[33];
        offpay_hex(fake_hex, fake, 16);
        CHECK(h_offpayd(&out, &err, "limits", "--ledger", L, "--wallet", w8, "--per-payment", "1", NULL) == 2);
        snprintf(want, sizeof want, "offpayd: %s is the beginning of 2 wallet ids (%s, %s): give more of its digits.\n",
                 w8, strcmp(wid, fake_hex) < 0 ? wid : fake_hex, strcmp(wid, fake_hex) < 0 ? fake_hex : wid);
        CHECK_STR(err, want);
        CHECK(h_offpayd(&out, &err, "wallet", "--ledger", L, "show", w8, NULL) == 2);
        CHECK_STR(err, want);
        CHECK(h_offpayd(&out, &err, "limits", "--ledger", L, "--wallet", w9, "--json", NULL) == 0);
        CHECK(strstr(out, "\"per_payment\":650,") != NULL); /* the ambiguous one set nothing */
        CHECK(h_offpayd(&out, &err, "wallet", "--ledger", L, "show", w9, NULL) == 0);
        snprintf(want, sizeof want, "wallet %s (account bob): active, 0.00 EUR in offline coins", wid);
        CHECK(strncmp(out, want, strlen(want)) == 0);
        snprintf(sql, sizeof sql, "DELETE FROM wallets WHERE id = %s", fake_lit);
        h_sql_exec(sql);
        CHECK(h_offpayd(&out, &err, "limits", "--ledger", L, "--wallet", wid, "--per-payment", "700", NULL) == 0);
    }

    h_audit_ok();
    h_server_stop();
    h_audit_ok();
    printf("ok\n");
    return 0;
}

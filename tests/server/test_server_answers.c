/*
 * test_server_answers.c - a lost answer never costs an honest user
 * (docs/api.md, "Lost answers"), over real HTTP against the real offpayd:
 *   - a repeated load, unload or pay-online (same wallet, nonce and
 *     timestamp: what libcurl resends when a connection dies) gets the
 *     byte-identical first answer and has one effect;
 *   - a repeated sync and a repeated GET run again;
 *   - POST /v1/outcome says done (with the stored answer), cancelled (and
 *     burns the nonce, so the request is refused when it arrives) or unknown;
 *   - a refused request does not use its nonce;
 *   - enrolling again with the same token and key answers the same
 *     certificate; another key is refused.
 * Run against SQLite, and against PostgreSQL through pg_run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

/* One call with the nonce and timestamp the caller chose (w NULL: no auth).
 * Out: *text, the answer's exact bytes (malloc'd; NULL to drop them).
 * Returns: the HTTP status. */
static long call_as(const struct h_wallet *w, const char *method, const char *path, const char *body,
                    const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES], uint64_t ts, char **text)
{
    struct offpay_client_auth a;
    long status = 0;
    char *t = NULL;
    size_t n = 0;
    if (w != NULL) {
        a = w->auth;
        a.nonce = nonce;
        a.timestamp = ts;
    }
    enum offpay_status s = offpay_client_call_text(h_base_url(), method, path, body, body ? strlen(body) : 0,
                                                   w ? &a : NULL, 0, &status, &t, &n);
    if (s != OFFPAY_OK)
        CHECK_FAIL("%s %s: %s", method, path, offpay_status_str(s));
    CHECK(t != NULL && strlen(t) == n);
    if (text != NULL)
        *text = t;
    else
        free(t);
    return status;
}

/* The same, with the answer parsed (caller decrefs). */
static long call_json(const struct h_wallet *w, const char *method, const char *path, const char *body,
                      const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES], uint64_t ts, json_t **resp)
{
    char *text;
    json_error_t e;
    long st = call_as(w, method, path, body, nonce, ts, &text);
    *resp = json_loads(text, 0, &e);
    CHECK(*resp != NULL);
    free(text);
    return st;
}

static const char *str_of(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* The sync stamp of an answer, decoded; 0 or -1. */
static int stamp_of(json_t *o, struct offpay_stamp *st)
{
    uint8_t bin[256];
    size_t len;
    int type;
    const char *text = str_of(o, "stamp");
    if (text == NULL ||
        offpay_text_decode(bin, sizeof bin, &len, &type, OFFPAY_MSG_STAMP, text, strlen(text)) != OFFPAY_OK)
        return -1;
    return offpay_stamp_decode(st, bin, len) == OFFPAY_OK ? 0 : -1;
}

/* Ask the server what became of (nonce, ts); returns "done", "cancelled"
 * or "unknown", with the stored answer in *answer when asked for. */
static const char *outcome_at(const struct h_wallet *w, const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES], uint64_t ts,
                              const char *path, json_t **answer)
{
    static char verdict[16];
    char body[192], hex[2 * OFFPAY_HTTP_NONCE_BYTES + 1];
    uint8_t own[OFFPAY_HTTP_NONCE_BYTES];
    json_t *resp;
    offpay_hex(hex, nonce, OFFPAY_HTTP_NONCE_BYTES);
    if (path != NULL)
        snprintf(body, sizeof body, "{\"nonce\":\"%s\",\"timestamp\":%llu,\"path\":\"%s\"}", hex,
                 (unsigned long long)ts, path);
    else
        snprintf(body, sizeof body, "{\"nonce\":\"%s\",\"timestamp\":%llu}", hex, (unsigned long long)ts);
    offpay_random(own, sizeof own);
    CHECK_U64(call_json(w, "POST", "/v1/outcome", body, own, (uint64_t)time(NULL), &resp), 200);
    snprintf(verdict, sizeof verdict, "%s", str_of(resp, "outcome") ? str_of(resp, "outcome") : "(none)");
    if (answer != NULL) {
        *answer = json_object_get(resp, "answer");
        CHECK(*answer != NULL); /* present, null or an object */
        json_incref(*answer);
    }
    json_decref(resp);
    return verdict;
}

static const char *outcome(const struct h_wallet *w, const uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES], uint64_t ts,
                           json_t **answer)
{
    return outcome_at(w, nonce, ts, NULL, answer);
}

static long long unspent_coins(void) { return h_sql_int("SELECT count(*) FROM utxos WHERE spent = 0"); }

static void fresh(uint8_t nonce[OFFPAY_HTTP_NONCE_BYTES]) { offpay_random(nonce, OFFPAY_HTTP_NONCE_BYTES); }

/* Load, unload and pay-online, each sent twice as the same request. */
static void repeats_answer_the_same(struct h_wallet *alice, struct h_wallet *bob, uint64_t now, uint8_t n_load[16],
                                    char **load_answer)
{
    uint8_t n[16];
    char *first, *again, body[256];
    long long coins = unspent_coins();

    fresh(n_load);
    CHECK_U64(call_as(alice, "POST", "/v1/load", "{\"amounts\":[700,300]}", n_load, now, &first), 200);
    CHECK_U64(call_as(alice, "POST", "/v1/load", "{\"amounts\":[700,300]}", n_load, now, &again), 200);
    CHECK_STR(first, again);
    CHECK_U64(h_online(alice), 99000);
    CHECK_U64(unspent_coins(), coins + 2);
    free(again);
    *load_answer = first;

    /* unload the 700 coin, twice */
    json_error_t e;
    json_t *loaded = json_loads(first, 0, &e);
    struct offpay_utxo coin;
    char id[2 * OFFPAY_UTXO_ID_BYTES + 1];
    CHECK(loaded != NULL);
    h_utxo_decode(&coin, json_string_value(json_array_get(json_object_get(loaded, "utxos"), 0)));
    json_decref(loaded);
    CHECK_U64(coin.amount, 700);
    offpay_hex(id, coin.id, sizeof coin.id);
    snprintf(body, sizeof body, "{\"utxos\":[\"%s\"]}", id);
    fresh(n);
    CHECK_U64(call_as(alice, "POST", "/v1/unload", body, n, now, &first), 200);
    CHECK_U64(call_as(alice, "POST", "/v1/unload", body, n, now, &again), 200);
    CHECK_STR(first, again);
    CHECK_STR(first, "{\"online\":99700,\"unloaded\":1}");
    CHECK_U64(h_online(alice), 99700);
    CHECK_U64(unspent_coins(), coins + 1);
    free(first);
    free(again);

    /* pay-online, twice */
    fresh(n);
    CHECK_U64(call_as(alice, "POST", "/v1/pay-online", "{\"to\":\"bob\",\"amount\":250}", n, now, &first), 200);
    CHECK_U64(call_as(alice, "POST", "/v1/pay-online", "{\"to\":\"bob\",\"amount\":250}", n, now, &again), 200);
    CHECK_STR(first, again);
    CHECK_U64(h_online(alice), 99450);
    CHECK_U64(h_online(bob), 250);
    free(first);
    free(again);
}

/* Sync and the reads keep no answer: a repeat runs again. */
static void idempotent_run_again(struct h_wallet *alice, uint64_t now, uint8_t n_sync[16])
{
    uint8_t n[16];
    json_t *resp;

    fresh(n_sync);
    CHECK_U64(call_json(alice, "POST", "/v1/sync", "{\"records\":[]}", n_sync, now, &resp), 200);
    CHECK(json_is_string(json_object_get(resp, "limits")));
    json_decref(resp);
    CHECK_U64(call_json(alice, "POST", "/v1/sync", "{\"records\":[]}", n_sync, now, &resp), 200);
    CHECK(json_is_string(json_object_get(resp, "limits")));
    json_decref(resp);

    /* the same GET again sees what changed in between: it ran again */
    fresh(n);
    CHECK_U64(call_json(alice, "GET", "/v1/balance", NULL, n, now, &resp), 200);
    CHECK_U64(json_integer_value(json_object_get(resp, "online")), 99450);
    json_decref(resp);
    h_mint("alice", 5);
    CHECK_U64(call_json(alice, "GET", "/v1/balance", NULL, n, now, &resp), 200);
    CHECK_U64(json_integer_value(json_object_get(resp, "online")), 99455);
    json_decref(resp);
    CHECK_U64(call_json(alice, "GET", "/v1/utxos", NULL, n, now, &resp), 200);
    json_decref(resp);
    CHECK_U64(call_json(alice, "GET", "/v1/limits", NULL, n, now, &resp), 200);
    json_decref(resp);
}

/* Outcome: done, cancelled (then refused), unknown, malformed. */
static void outcomes(struct h_wallet *alice, struct h_wallet *bob, uint64_t now, const uint8_t n_load[16],
                     const char *load_answer, const uint8_t n_sync[16])
{
    uint8_t n[16];
    json_t *answer, *want, *resp;
    json_error_t e;
    long long coins = unspent_coins();

    CHECK_STR(outcome(alice, n_load, now, &answer), "done");
    want = json_loads(load_answer, 0, &e);
    CHECK(json_is_object(answer) && json_equal(answer, want));
    json_decref(want);
    json_decref(answer);
    /* a row found answers whatever timestamp is given */
    CHECK_STR(outcome(alice, n_load, now - 100000, NULL), "done");
    CHECK_STR(outcome(alice, n_sync, now, &answer), "done");
    CHECK(json_is_null(answer));
    json_decref(answer);

    /* nonces are per wallet: bob never used alice's, and now cannot */
    CHECK_STR(outcome(bob, n_load, now, NULL), "cancelled");

    /* cancelled: asked again, the same; the request, arriving late, is refused */
    fresh(n);
    CHECK_STR(outcome(alice, n, now, NULL), "cancelled");
    CHECK_STR(outcome(alice, n, now, NULL), "cancelled");
    CHECK_U64(call_json(alice, "POST", "/v1/load", "{\"amounts\":[5]}", n, now, &resp), 409);
    CHECK_STR(str_of(resp, "error"), "cancelled");
    json_decref(resp);
    CHECK_U64(call_json(alice, "GET", "/v1/balance", NULL, n, now, &resp), 409);
    CHECK_STR(str_of(resp, "error"), "cancelled");
    json_decref(resp);
    CHECK_U64(call_json(alice, "POST", "/v1/sync", "{\"records\":[]}", n, now, &resp), 409);
    json_decref(resp);
    CHECK_U64(h_online(alice), 99455);
    CHECK_U64(unspent_coins(), coins);

    /* a refused request did not use its nonce: outcome cancels it */
    fresh(n);
    CHECK_U64(call_json(alice, "POST", "/v1/load", "{\"amounts\":[99456]}", n, now, &resp), 409);
    CHECK_STR(str_of(resp, "error"), "insufficient_balance");
    json_decref(resp);
    CHECK_STR(outcome(alice, n, now, NULL), "cancelled");
    CHECK_U64(call_json(alice, "POST", "/v1/load", "{\"amounts\":[1]}", n, now, &resp), 409);
    CHECK_STR(str_of(resp, "error"), "cancelled");
    json_decref(resp);
    CHECK_U64(h_online(alice), 99455);

    /* unknown: no row, and a plain row (kept OFFPAYD_NONCE_KEEP = 2 * 300 + 60
     * s) could have been pruned; within that it is cancelled */
    fresh(n);
    CHECK_STR(outcome(alice, n, now - 700, NULL), "unknown");
    CHECK_STR(outcome(alice, n, now - 100000, NULL), "unknown");
    fresh(n);
    CHECK_STR(outcome(alice, n, now - 600, NULL), "cancelled");
    /* Naming a path whose route keeps its answer (kept 30 days): no row
     * within that proves it never took effect; past it, unknown again.  A
     * path that keeps no answer, or no route at all, counts as none. */
    fresh(n);
    CHECK_STR(outcome_at(alice, n, now - 100000, "/v1/unload", NULL), "cancelled");
    fresh(n);
    CHECK_STR(outcome_at(alice, n, now - 31u * 86400u, "/v1/pay-online", NULL), "unknown");
    fresh(n);
    CHECK_STR(outcome_at(alice, n, now - 100000, "/v1/sync", NULL), "unknown");
    fresh(n);
    CHECK_STR(outcome_at(alice, n, now - 100000, "/v1/nowhere", NULL), "unknown");

    /* malformed questions */
    static const char *const bad[] = {
        "{\"nonce\":\"00112233445566778899aabbccddeeff00\",\"timestamp\":1}", /* too long */
        "{\"nonce\":\"00112233445566778899AABBCCDDEEFF\",\"timestamp\":1}",   /* uppercase */
        "{\"nonce\":\"00112233445566778899aabbccddeeff\",\"timestamp\":-1}",
        "{\"nonce\":\"00112233445566778899aabbccddeeff\",\"timestamp\":\"1\"}",
        "{\"nonce\":\"00112233445566778899aabbccddeeff\"}",
        "{\"timestamp\":1}",
        "{\"nonce\":\"00112233445566778899aabbccddeeff\",\"timestamp\":1,\"path\":7}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fresh(n);
        CHECK_U64(call_json(alice, "POST", "/v1/outcome", bad[i], n, now, &resp), 400);
        CHECK_STR(str_of(resp, "error"), "bad_field");
        json_decref(resp);
    }
}

/* Enrolling again with the same token and key answers the same. */
static void enrol_again(void)
{
    const char *out, *err;
    char token[128], pkhex[65], body[300], *first, *again;
    uint8_t pk[32], sk[64];
    json_t *a, *b;
    json_error_t e;
    struct offpay_stamp sa, sb;
    long long wallets = h_sql_int("SELECT count(*) FROM wallets");

    CHECK(h_offpayd(&out, &err, "account", "--ledger", h_ledger_url(), "open", "carol", NULL) == 0);
    snprintf(token, sizeof token, "%s", out);
    token[strcspn(token, "\n")] = '\0';
    offpay_keypair(pk, sk);
    offpay_hex(pkhex, pk, sizeof pk);
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"public_key\":\"%s\"}", token, pkhex);
    CHECK_U64(call_as(NULL, "POST", "/v1/enrol", body, NULL, 0, &first), 200);
    CHECK_U64(call_as(NULL, "POST", "/v1/enrol", body, NULL, 0, &again), 200);
    a = json_loads(first, 0, &e);
    b = json_loads(again, 0, &e);
    CHECK(a != NULL && b != NULL);
    CHECK(str_of(a, "certificate") != NULL);
    CHECK_STR(str_of(a, "certificate"), str_of(b, "certificate"));
    CHECK_STR(str_of(a, "wallet_id"), str_of(b, "wallet_id"));
    CHECK_STR(str_of(b, "account"), "carol");
    CHECK_STR(str_of(a, "issuer_public_key"), str_of(b, "issuer_public_key"));
    CHECK(json_is_string(json_object_get(b, "limits")) && json_is_string(json_object_get(b, "revocation")));
    /* nothing changed in between, so not even the documents; only the sync
     * stamp says when this answer was made (a later one, same wallet) */
    CHECK_STR(str_of(a, "limits"), str_of(b, "limits"));
    CHECK_STR(str_of(a, "revocation"), str_of(b, "revocation"));
    CHECK(stamp_of(a, &sa) == 0 && stamp_of(b, &sb) == 0);
    CHECK(memcmp(sa.wallet_id, sb.wallet_id, sizeof sa.wallet_id) == 0);
    CHECK(sb.synced_at >= sa.synced_at && sb.synced_at - sa.synced_at <= 60);
    CHECK_U64(json_object_size(a), json_object_size(b));
    CHECK_U64(h_sql_int("SELECT count(*) FROM wallets"), wallets + 1);
    json_decref(a);
    json_decref(b);
    free(first);
    free(again);

    /* the same token with another key: refused, nothing enrolled */
    offpay_keypair(pk, sk);
    offpay_hex(pkhex, pk, sizeof pk);
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"public_key\":\"%s\"}", token, pkhex);
    CHECK_U64(call_json(NULL, "POST", "/v1/enrol", body, NULL, 0, &a), 403);
    CHECK_STR(str_of(a, "error"), "bad_token");
    json_decref(a);
    CHECK_U64(h_sql_int("SELECT count(*) FROM wallets"), wallets + 1);
}

int main(void)
{
    struct h_wallet alice, bob;
    uint8_t n_load[16], n_sync[16];
    char *load_answer;

    h_setup("answers");
    h_server_start(2);
    h_wallet_enrol(&alice, "alice");
    h_wallet_enrol(&bob, "bob");
    h_mint("alice", 100000);
    uint64_t now = (uint64_t)time(NULL);

    repeats_answer_the_same(&alice, &bob, now, n_load, &load_answer);
    idempotent_run_again(&alice, now, n_sync);
    outcomes(&alice, &bob, now, n_load, load_answer, n_sync);
    free(load_answer);
    enrol_again();

    h_audit_ok();
    h_server_stop();
    h_audit_ok();
    printf("ok\n");
    return 0;
}

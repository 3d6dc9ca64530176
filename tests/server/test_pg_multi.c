/*
 * test_pg_multi.c - two offpayd processes serving one PostgreSQL ledger
 * (SPEC: "several offpayd processes may serve one PostgreSQL ledger at
 * once").  Run under pg_run, which provides the database.
 *
 * Each record is synced through both servers at the same moment (payer on
 * one, payee on the other, or the payer on both): both answer settled, and
 * the ledger holds it once: one record row, the payee credited once, no
 * fraud flagged.  Two records spending one coin, sent to the two servers at
 * once: exactly one settles, the other is caught as a double spend.  Audit
 * passes at the end, and both servers stop cleanly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define TEXT_MAX (OFFPAY_TEXT_MAX + 1)
#define ROUNDS 12

/* One sync of one record, by w, at base (server 1 or 2), from a thread of h_race_two. */
struct racer {
    const char *base;
    const struct h_wallet *w;
    const char *record, *conf;
    long status;
    char result[32], reason[32];
};

static void race(void *arg)
{
    struct racer *r = arg;
    json_t *resp = NULL;
    json_t *body = json_pack("{s:[{s:s,s:s?}]}", "records", "record", r->record, "confirmation", r->conf);
    char *text = json_dumps(body, JSON_COMPACT);
    r->status = 0;
    /* a generous timeout: a loaded machine running the sanitizer build is slow, and
     * the server bounds its own retries */
    if (text != NULL && offpay_client_call_raw(r->base, "POST", "/v1/sync", text, strlen(text), &r->w->auth, 120,
                                               &r->status, &resp) == OFFPAY_OK) {
        json_t *res = json_array_get(json_object_get(resp, "results"), 0);
        const char *st = json_string_value(json_object_get(res, "status"));
        const char *why = json_string_value(json_object_get(res, "reason"));
        snprintf(r->result, sizeof r->result, "%s", st ? st : "");
        snprintf(r->reason, sizeof r->reason, "%s", why ? why : "");
    }
    free(text);
    json_decref(body);
    json_decref(resp);
}

int main(void)
{
    struct h_wallet alice, bob, carol;
    static struct offpay_utxo coins[ROUNDS + 1];
    static char rec[ROUNDS][TEXT_MAX], conf[ROUNDS][TEXT_MAX];
    struct offpay_record r;
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    uint64_t amounts[ROUNDS + 1];

    h_setup("pgmulti");
    /* run under pg_run: one database, or a shards file of several */
    CHECK(strncmp(h_ledger_url(), "postgresql://", 13) == 0 || strncmp(h_ledger_url(), "shards:", 7) == 0);
    {
        /* the database holds a ledger now: a second init is refused and leaves no key file */
        const char *out, *err;
        char other[600];
        snprintf(other, sizeof other, "%s/other.key", h_dir());
        CHECK(h_offpayd(&out, &err, "init", "--ledger", h_ledger_url(), "--issuer-key", other, NULL) == 2);
        CHECK(strstr(err, "already exists") != NULL);
        CHECK(access(other, F_OK) != 0);
        /* serve refuses a missing key file, and one that is not this ledger's */
        CHECK(h_offpayd(&out, &err, "serve", "--ledger", h_ledger_url(), "--listen", "127.0.0.1:0", "--issuer-key",
                        "/nonexistent/offpay.key", NULL) == 1);
        CHECK(strstr(err, "/nonexistent/offpay.key") != NULL);
        char lite[600];
        snprintf(lite, sizeof lite, "sqlite:%s/other.db", h_dir());
        CHECK(h_offpayd(&out, &err, "init", "--ledger", lite, "--issuer-key", other, NULL) == 0);
        CHECK(access(other, F_OK) == 0);
        CHECK(h_offpayd(&out, &err, "serve", "--ledger", h_ledger_url(), "--listen", "127.0.0.1:0", "--issuer-key",
                        other, NULL) == 1);
        CHECK(strstr(err, "does not belong to this ledger") != NULL);
    }
    h_server_start(2);
    h_server_start_n(1, 2);
    CHECK(strcmp(h_server_url(1), h_base_url()) != 0);

    h_wallet_enrol(&alice, "alice");
    h_wallet_enrol(&bob, "bob");
    h_wallet_enrol(&carol, "carol");
    h_mint("alice", 100000);
    for (int i = 0; i <= ROUNDS; i++)
        amounts[i] = 1000;
    h_load(&alice, amounts, ROUNDS + 1, coins);

    /* Each record through both servers at once: settled by both answers, once in the ledger. */
    for (int i = 0; i < ROUNDS; i++) {
        h_record(&r, rec[i], sizeof rec[i], id, &alice, &bob, 300, &coins[i], 1);
        h_confirmation(conf[i], sizeof conf[i], &bob, id);
        /* even rounds: payer on one server, payee on the other; odd: the payer on both */
        struct racer a = {h_base_url(), &alice, rec[i], conf[i], 0, "", ""};
        struct racer b = {h_server_url(1), i % 2 ? &alice : &bob, rec[i], conf[i], 0, "", ""};
        h_race_two(race, &a, &b);
        if (a.status != 200 || b.status != 200 || strcmp(a.result, "settled") != 0 || strcmp(b.result, "settled") != 0)
            CHECK_FAIL("round %d: server 1 answered %ld %s %s, server 2 %ld %s %s", i, a.status,
                    a.result, a.reason, b.status, b.result, b.reason);
    }
    CHECK_U64(h_sql_int("SELECT count(*) FROM records"), ROUNDS);
    CHECK_U64(h_sql_int("SELECT received FROM accounts WHERE name = 'bob'"), ROUNDS * 300);
    CHECK_U64(h_sql_int("SELECT sent FROM accounts WHERE name = 'alice'"), ROUNDS * 300);
    CHECK_U64(h_sql_int("SELECT coalesce(sum(amount), 0) FROM utxos u JOIN wallets w ON w.public_key = u.owner "
                           "JOIN accounts a ON a.id = w.account_id WHERE u.spent = 0 AND a.name = 'bob'"),
                 ROUNDS * 300);
    CHECK_U64(h_sql_int("SELECT count(*) FROM frauds"), 0);
    CHECK_U64(h_sql_int("SELECT count(*) FROM wallets WHERE fraudulent <> 0"), 0);
    h_audit_ok();

    /* One coin, two records, one per server at once: exactly one settles. */
    char x[TEXT_MAX], y[TEXT_MAX];
    h_record(&r, x, sizeof x, id, &alice, &bob, 400, &coins[ROUNDS], 1);
    h_record(&r, y, sizeof y, id, &alice, &carol, 500, &coins[ROUNDS], 1);
    struct racer a = {h_base_url(), &alice, x, NULL, 0, "", ""};
    struct racer b = {h_server_url(1), &alice, y, NULL, 0, "", ""};
    h_race_two(race, &a, &b);
    CHECK_U64(a.status, 200);
    CHECK_U64(b.status, 200);
    int settled = (strcmp(a.result, "settled") == 0) + (strcmp(b.result, "settled") == 0);
    CHECK_U64(settled, 1);
    CHECK(strcmp(a.reason, "double_spend") == 0 || strcmp(b.reason, "double_spend") == 0);
    CHECK_U64(h_sql_int("SELECT count(*) FROM records"), ROUNDS + 1);
    CHECK_U64(h_sql_int("SELECT count(*) FROM frauds"), 1);
    CHECK_U64(h_sql_int("SELECT fraudulent FROM wallets WHERE public_key IN "
                           "(SELECT owner FROM utxos WHERE amount = 1000 LIMIT 1)"),
                 1);
    CHECK_U64(h_sql_int("SELECT received FROM accounts WHERE name = 'bob'") +
                     h_sql_int("SELECT received FROM accounts WHERE name = 'carol'"),
                 ROUNDS * 300 + (strcmp(a.result, "settled") == 0 ? 400 : 500));
    h_audit_ok();

    h_server_stop_n(1);
    h_server_stop();
    printf("ok\n");
    return 0;
}

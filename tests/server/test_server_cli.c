/*
 * test_server_cli.c - the offpayd commands of SPEC.md: --help on each, exit
 * codes for misuse (2), the issuer key file (0600, never printed), ledger
 * URLs, limits, and audit: it passes on an honest ledger and, after the
 * ledger is corrupted with SQL, exits non-zero and names the account.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

#define RUN(code, ...)                                                                                                 \
    do {                                                                                                               \
        int rc_ = h_offpayd(&out, &err, __VA_ARGS__, NULL);                                                            \
        if (rc_ != (code))                                                                                             \
            CHECK_FAIL("exit %d, wanted %d; stdout: %s stderr: %s", rc_, code, out, err);             \
    } while (0)

static int one_line(const char *s) { return s[0] != '\0' && strchr(s, '\n') == s + strlen(s) - 1; }

int main(void)
{
    const char *out, *err;
    char keypath[1024], keyhex[128], url2[1024];

    h_setup("cli");
    const char *L = h_ledger_url();

    /* --help everywhere, exit 0, on stdout. */
    const char *cmds[] = {"init", "serve", "account", "limits", "frauds", "audit"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        RUN(0, cmds[i], "--help");
        CHECK(strstr(out, "usage: offpayd") != NULL);
    }
    RUN(0, "--help");
    RUN(2, "frobnicate");
    CHECK(strstr(err, "Unknown command") != NULL);
    RUN(2, "audit", "--ledger", L, "--bogus");
    CHECK(one_line(err));
    RUN(2, "audit");
    CHECK(strstr(err, "--ledger") != NULL);

    /* The issuer key: next to the ledger, 0600, never printed. */
    snprintf(keypath, sizeof keypath, "%s.issuer-key", h_ledger_path());
    struct stat st;
    CHECK(stat(keypath, &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    FILE *f = fopen(keypath, "r");
    CHECK(f != NULL && fgets(keyhex, sizeof keyhex, f) != NULL);
    fclose(f);
    keyhex[strcspn(keyhex, "\n")] = '\0';
    CHECK(strlen(keyhex) == 64);

    /* init refuses to overwrite; URLs it does not know, or not yet. */
    RUN(2, "init", "--ledger", L);
    CHECK(one_line(err));
    RUN(2, "init", "--ledger", "postgresql://localhost/offpay"); /* no place for its issuer key */
    CHECK(strstr(err, "--issuer-key") != NULL);
    RUN(2, "audit", "--ledger", "mysql://x");
    snprintf(url2, sizeof url2, "sqlite:%s/none.db", h_dir());
    RUN(2, "audit", "--ledger", url2);
    RUN(2, "init", "--ledger", "sqlite:");

    /* Accounts. */
    RUN(0, "account", "--ledger", L, "open", "alice");
    CHECK(strlen(out) == 41 && one_line(out));
    CHECK(strstr(out, keyhex) == NULL);
    RUN(0, "account", "open", "bob", "--ledger", L);
    RUN(2, "account", "--ledger", L, "open", "Not A Name");
    RUN(2, "account", "--ledger", L, "open");
    RUN(2, "account", "--ledger", L, "close", "alice");
    RUN(2, "account", "--ledger", L, "mint", "nobody", "5");
    RUN(2, "account", "--ledger", L, "mint", "alice", "0");
    RUN(2, "account", "--ledger", L, "mint", "alice", "12abc");
    RUN(2, "account", "--ledger", L, "mint", "alice", "-3");
    RUN(2, "account", "--ledger", L, "mint", "alice", "9223372036854775808");
    RUN(0, "account", "--ledger", L, "mint", "alice", "10000");
    RUN(0, "account", "--ledger", L, "mint", "bob", "500");
    CHECK_U64(h_sql_int("SELECT online FROM accounts WHERE name = 'alice'"), 10000);

    /* Limits. */
    RUN(0, "limits", "--ledger", L, "--json");
    CHECK(strstr(out, "\"per_payment\":50000") != NULL);
    RUN(0, "limits", "--ledger", L, "--per-payment", "1000", "--offline-total", "5000", "--count", "3", "--period",
        "3600");
    RUN(0, "limits", "--ledger", L, "--json");
    CHECK(strstr(out, "\"per_payment\":1000,\"offline_total\":5000,\"count\":3,\"period\":3600") != NULL);
    RUN(2, "limits", "--ledger", L, "--period", "0");
    RUN(2, "limits", "--ledger", L, "--count", "99999999999");
    /* The human form shows money in the ledger's currency (issue 16); --json keeps minor units. */
    RUN(0, "limits", "--ledger", L);
    CHECK_STR(out, "default limits: per-payment 10.00 EUR, offline-total 50.00 EUR, count 3 per 3600 s, holding "
                   "20000.00 EUR, offline time 604800 s; grace period of lost wallets 1209600 s.\n");
    RUN(2, "limits", "--ledger", L, "--wallet", "xyz", "--count", "3");
    RUN(2, "limits", "--ledger", L, "--wallet", "00112233445566778899aabbccddeeff", "--count", "3");

    /* Serve: misuse. */
    RUN(2, "serve", "--ledger", L);
    RUN(2, "serve", "--ledger", L, "--listen", "nowhere");
    RUN(2, "serve", "--ledger", L, "--listen", "127.0.0.1:80", "--threads", "0");

    /* A little real traffic, then audit. */
    h_server_start(1);
    struct h_wallet alice, bob;
    h_wallet_enrol(&alice, "alice");
    h_wallet_enrol(&bob, "bob");
    uint64_t amounts[2] = {300, 700};
    struct offpay_utxo coins[2];
    h_load(&alice, amounts, 2, coins);
    json_t *resp;
    CHECK_U64(h_call(&alice, "POST", "/v1/pay-online", json_pack("{s:s,s:I}", "to", "bob", "amount", (json_int_t)1000),
                        &resp),
                 200);
    json_decref(resp);
    h_server_stop();
    RUN(0, "frauds", "--ledger", L);
    RUN(0, "frauds", "--ledger", L, "--json");
    CHECK(strcmp(out, "{\"frauds\":[]}\n") == 0);
    RUN(0, "audit", "--ledger", L);
    RUN(0, "audit", "--ledger", L, "--json");
    CHECK(strstr(out, "\"ok\":true") != NULL);
    /* Accounts as money in the human form, minor units in --json (issue 16). */
    RUN(0, "account", "--ledger", L, "list");
    CHECK_STR(out, "alice                            online 80.00 EUR, offline 10.00 EUR, received 0.00 EUR, sent "
                   "10.00 EUR, minted 100.00 EUR\n"
                   "bob                              online 15.00 EUR, offline 0.00 EUR, received 10.00 EUR, sent "
                   "0.00 EUR, minted 5.00 EUR\n");
    RUN(0, "account", "--ledger", L, "show", "alice");
    char want[512], awid[33];
    offpay_hex(awid, alice.cert.wallet_id, 16);
    snprintf(want, sizeof want,
             "account alice: online 80.00 EUR, offline 10.00 EUR, received 0.00 EUR, sent 10.00 EUR, minted 100.00 "
             "EUR; active, 0 double spends caught, 1 wallet.\n"
             "  wallet %s (account alice): active, 10.00 EUR in offline coins, never synced, certificate valid until ",
             awid);
    CHECK(strncmp(out, want, strlen(want)) == 0);
    RUN(0, "account", "--ledger", L, "show", "alice", "--json");
    static const char want_j[] = "{\"name\":\"alice\",\"online\":8000,\"offline\":1000,\"minted\":10000,\"received\":0,"
                                 "\"sent\":1000,";
    CHECK(strncmp(out, want_j, sizeof want_j - 1) == 0);
    CHECK(strstr(out, "\"outstanding\":1000}") != NULL);
    /* A ledger in another money: its currency and exponent. */
    char url3[1024];
    snprintf(url3, sizeof url3, "sqlite:%s/jpy.db", h_dir());
    RUN(0, "init", "--ledger", url3, "--currency", "JPY", "--exponent", "0");
    RUN(0, "account", "--ledger", url3, "open", "zed");
    RUN(0, "account", "--ledger", url3, "mint", "zed", "1234");
    RUN(0, "account", "--ledger", url3, "show", "zed");
    CHECK_STR(out, "account zed: online 1234 JPY, offline 0 JPY, received 0 JPY, sent 0 JPY, minted 1234 JPY; active, 0 "
                   "double spends caught, 0 wallets.\n");
    RUN(0, "limits", "--ledger", url3, "--holding", "0");
    CHECK_STR(out, "default limits: per-payment 50000 JPY, offline-total 200000 JPY, count 50 per 86400 s, holding "
                   "none, offline time 604800 s; grace period of lost wallets 1209600 s.\n");
    RUN(0, "limits", "--ledger", url3, "--json");
    CHECK(strstr(out, "\"per_payment\":50000,\"offline_total\":200000,") != NULL);

    /* Corruption 1: value appears in bob's online balance. */
    h_sql_exec("UPDATE accounts SET online = online + 7 WHERE name = 'bob'");
    RUN(1, "audit", "--ledger", L);
    CHECK(strstr(out, "account bob") != NULL);
    CHECK(strstr(out, "account alice") == NULL);
    CHECK(strstr(out, "difference 7") != NULL);
    h_sql_exec("UPDATE accounts SET online = online - 7 WHERE name = 'bob'");
    RUN(0, "audit", "--ledger", L);

    /* Corruption 2: one of alice's coins loses value. */
    h_sql_exec("UPDATE unspent SET amount = amount - 50 WHERE amount = 700");
    RUN(1, "audit", "--ledger", L);
    CHECK(strstr(out, "account alice") != NULL);
    CHECK(strstr(out, "difference -50") != NULL);
    RUN(1, "audit", "--ledger", L, "--json");
    CHECK(strstr(out, "\"ok\":false") != NULL);
    h_sql_exec("UPDATE unspent SET amount = amount + 50 WHERE amount = 650");

    /* Corruption 3: a coin marked spent with nothing in return. */
    h_sql_exec("INSERT INTO spent (id, owner, account_id, amount, created, how, spent_at) "
               "SELECT id, owner, account_id, amount, created, 2, 0 FROM unspent WHERE amount = 300");
    h_sql_exec("DELETE FROM unspent WHERE amount = 300");
    RUN(1, "audit", "--ledger", L);
    CHECK(strstr(out, "account alice") != NULL);
    h_sql_exec("INSERT INTO unspent (owner, id, account_id, amount, created) "
               "SELECT owner, id, account_id, amount, created FROM spent WHERE amount = 300");
    h_sql_exec("DELETE FROM spent WHERE amount = 300");
    RUN(0, "audit", "--ledger", L);

    /* A key file others can read is refused. */
    CHECK(chmod(keypath, 0644) == 0);
    RUN(1, "serve", "--ledger", L, "--listen", "127.0.0.1:0");
    CHECK(strstr(err, "chmod 600") != NULL);
    CHECK(strstr(err, keyhex) == NULL);
    CHECK(chmod(keypath, 0600) == 0);

    printf("ok\n");
    return 0;
}

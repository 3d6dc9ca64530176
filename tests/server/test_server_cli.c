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

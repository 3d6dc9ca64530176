/*
 * test_server_shards.c - a ledger of three shards (docs/scale.md): on three
 * SQLite shards (OFFPAY_TEST_SHARDS=3), and on three private PostgreSQL
 * clusters under `pg_run --clusters 3`, where a shard also goes down.
 *
 * Payments within a shard and across shards (records and pay-online); the
 * holding limit's waterfall for a payee on another shard; kill -9 of
 * offpayd between a commit and its delivery, which the relay of the
 * restarted process and of a second one finish exactly once; a shard down
 * (PostgreSQL: its cluster stopped): what needs it gets 503
 * shard_unavailable and changes nothing or stays in flight, the others
 * settle, and once it is back everything settles; both sides of records
 * between shards syncing at once through two offpayd processes; a payer
 * and payee on different shards double spending through them at once.
 * After each step the books are checked and `offpayd audit` must pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define TEXT_MAX (OFFPAY_TEXT_MAX + 1)

struct rec {
    struct offpay_record r;
    char text[TEXT_MAX], conf[TEXT_MAX];
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
};

static void make(struct rec *x, const struct h_wallet *payer, const struct h_wallet *payee, uint64_t amount,
                 const struct offpay_utxo *input)
{
    h_record(&x->r, x->text, sizeof x->text, x->id, payer, payee, amount, input, 1);
    h_confirmation(x->conf, sizeof x->conf, payee, x->id);
}

/* One sync of record x by w through server base, with its confirmation or
 * not.  Out: the answer's status and code, the record's status and reason,
 * and the waterfall it reports (0 if none), the coins it hands out. */
struct synced {
    long status;
    char error[40], result[16], reason[32];
    long long waterfall;
    size_t coins;
};

static void sync_at(struct synced *s, const char *base, const struct h_wallet *w, const struct rec *x, int with_conf)
{
    json_t *resp = NULL;
    json_t *body = json_pack("{s:[{s:s,s:s?}]}", "records", "record", x->text, "confirmation",
                             with_conf ? x->conf : NULL);
    char *text = json_dumps(body, JSON_COMPACT);
    memset(s, 0, sizeof *s);
    CHECK(text != NULL);
    CHECK(offpay_client_call_raw(base, "POST", "/v1/sync", text, strlen(text), &w->auth, 120, &s->status, &resp) ==
          OFFPAY_OK);
    json_t *res = json_array_get(json_object_get(resp, "results"), 0);
    const char *e = json_string_value(json_object_get(resp, "error"));
    const char *st = json_string_value(json_object_get(res, "status"));
    const char *why = json_string_value(json_object_get(res, "reason"));
    snprintf(s->error, sizeof s->error, "%s", e ? e : "");
    snprintf(s->result, sizeof s->result, "%s", st ? st : "");
    snprintf(s->reason, sizeof s->reason, "%s", why ? why : "");
    s->waterfall = json_integer_value(json_object_get(res, "waterfall"));
    s->coins = json_array_size(json_object_get(resp, "utxos"));
    free(text);
    json_decref(body);
    json_decref(resp);
}

static void sync_settled(const struct h_wallet *w, const struct rec *x, int with_conf)
{
    struct synced s;
    sync_at(&s, h_base_url(), w, x, with_conf);
    if (s.status != 200 || strcmp(s.result, "settled") != 0)
        CHECK_FAIL("sync by %s answered %ld %s %s %s", w->account, s.status, s.error, s.result, s.reason);
}

static long pay_online(const struct h_wallet *w, const char *to, uint64_t amount, char *code, size_t cap)
{
    json_t *resp = NULL;
    long st = h_call(w, "POST", "/v1/pay-online", json_pack("{s:s,s:I}", "to", to, "amount", (json_int_t)amount),
                     &resp);
    const char *e = json_string_value(json_object_get(resp, "error"));
    snprintf(code, cap, "%s", e ? e : "");
    json_decref(resp);
    return st;
}

static long long in_flight(void)
{
    return h_sql_int("SELECT count(*) FROM utxos u JOIN accounts a ON a.id = u.account_id "
                     "WHERE a.name = '~in-flight' AND u.spent = 0");
}

static long long of_account(const char *column, const char *name)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT %s FROM accounts WHERE name = '%s'", column, name);
    return h_sql_int(sql);
}

/* The unspent coins of account name, on the shard that holds it. */
static long long coins_of(const char *name)
{
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT coalesce(sum(u.amount), 0) FROM utxos u JOIN accounts a ON a.id = u.account_id "
             "WHERE a.name = '%s' AND u.spent = 0", name);
    return h_sql_int_at(h_shard_of(name), sql);
}

/* Wait (at most 20 s) until nothing is in flight between shards. */
static void wait_delivered(void)
{
    for (int i = 0; i < 200 && in_flight() > 0; i++)
        usleep(100000);
    CHECK_U64(in_flight(), 0);
}

/* Two syncs at the same moment, each through its own offpayd. */
struct racer {
    const char *base;
    const struct h_wallet *w;
    const struct rec *x;
    struct synced out;
};

static void race(void *arg)
{
    struct racer *r = arg;
    sync_at(&r->out, r->base, r->w, r->x, 1);
}

int main(void)
{
    static const char *names[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
                                  "ivan", "judy", "ken", "lena", "mallory", "nina", "oscar", "peggy"};
    static struct h_wallet ws[16];
    struct h_wallet *p = NULL, *q = NULL, *r = NULL, *s = NULL; /* payer; payees on shards b, a (its own), c */
    struct offpay_utxo c[8];
    struct rec x1, x2, x3, x4, x5, x6, x7, x8;
    char code[40];
    const char *out, *err;

    h_setup("shards");
    CHECK_U64(h_shards(), 3);
    int on_pg = getenv("OFFPAY_TEST_PG_CONTROL") != NULL;
    setenv("OFFPAYD_RELAY_MS", "100", 1);
    h_server_start(2);
    /* Enrol until there is a payer on shard a, payees on b and c, and one more on a. */
    int sa = -1, sb = -1;
    for (int i = 0; i < 16 && (q == NULL || r == NULL || s == NULL); i++) {
        h_wallet_enrol(&ws[i], names[i]);
        int k = h_shard_of(names[i]);
        if (p == NULL) {
            p = &ws[i];
            sa = k;
        } else if (k == sa && r == NULL) {
            r = &ws[i];
        } else if (k != sa && q == NULL) {
            q = &ws[i];
            sb = k;
        } else if (k != sa && k != sb && s == NULL) {
            s = &ws[i];
        }
    }
    CHECK(q != NULL && r != NULL && s != NULL);
    printf("payer %s on shard %d; payees %s (shard %d), %s (shard %d, the payer's), %s (shard %d)\n", p->account, sa,
           q->account, sb, r->account, h_shard_of(r->account), s->account, h_shard_of(s->account));
    h_mint(p->account, 100000);
    uint64_t amounts[8] = {1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000};
    h_load(p, amounts, 8, c);

    /* 1. Within the payer's shard: no value in flight. */
    make(&x1, p, r, 600, &c[0]);
    sync_settled(p, &x1, 1);
    CHECK_U64(in_flight(), 0);
    CHECK_U64(coins_of(r->account), 600);
    CHECK_U64(of_account("received", r->account), 600);
    h_audit_ok();

    /* 2. Across shards: delivered right after the commit; the payee gets its coin once. */
    make(&x2, p, q, 1500, &c[1]);
    sync_settled(p, &x2, 1);
    CHECK_U64(in_flight(), 0);
    CHECK_U64(coins_of(q->account), 1500);
    CHECK_U64(of_account("received", q->account), 1500);
    CHECK_U64(of_account("sent", p->account), 600 + 1500);
    struct synced y;
    sync_at(&y, h_base_url(), q, &x2, 1);
    CHECK_STR(y.result, "settled");
    CHECK_U64(y.coins, 1);
    h_audit_ok();

    /* 3. Pay-online across shards: off the payer's balance, onto the payee's, once. */
    uint64_t p_online = h_online(p), q_online = h_online(q);
    CHECK_U64(pay_online(p, q->account, 2500, code, sizeof code), 200);
    CHECK_U64(h_online(p), p_online - 2500);
    CHECK_U64(h_online(q), q_online + 2500);
    CHECK_U64(in_flight(), 0);
    CHECK_U64(of_account("received", q->account), 1500 + 2500);
    /* within a shard as before; an account no shard holds: 404, nothing changed */
    CHECK_U64(pay_online(p, r->account, 100, code, sizeof code), 200);
    CHECK_U64(pay_online(p, "nobody-here", 100, code, sizeof code), 404);
    CHECK_STR(code, "not_found");
    CHECK_U64(h_online(p), p_online - 2600);
    h_audit_ok();

    /* 4. The waterfall for a payee on another shard: over its holding limit,
     * the output goes to its online balance, on its own shard, once. */
    char wid[33];
    offpay_hex(wid, q->cert.wallet_id, sizeof q->cert.wallet_id);
    CHECK(h_offpayd(&out, &err, "limits", "--ledger", h_ledger_url(), "--wallet", wid, "--holding", "2000", NULL) == 0);
    q_online = h_online(q);
    make(&x3, p, q, 1800, &c[2]); /* 1500 held + 1800 > 2000 */
    sync_settled(p, &x3, 1);
    CHECK_U64(in_flight(), 0);
    CHECK_U64(coins_of(q->account), 1500);
    CHECK_U64(h_online(q), q_online + 1800);
    h_audit_ok();
    sync_at(&y, h_base_url(), q, &x3, 1);
    CHECK_STR(y.result, "settled");
    CHECK_U64(y.waterfall, 1800);
    CHECK_U64(y.coins, 0);
    CHECK_U64(h_online(q), q_online + 1800);
    CHECK_U64(of_account("received", q->account), 1500 + 2500 + 1800);
    /* under the limit, a coin as usual (and the payee syncing first) */
    make(&x4, p, q, 400, &c[3]);
    sync_at(&y, h_base_url(), q, &x4, 1);
    CHECK_STR(y.result, "settled");
    CHECK_U64(y.waterfall, 0);
    CHECK_U64(y.coins, 1);
    CHECK_U64(coins_of(q->account), 1900);
    h_audit_ok();

    CHECK(h_offpayd(&out, &err, "limits", "--ledger", h_ledger_url(), "--wallet", wid, "--holding", "0", NULL) == 0);

    /* 5. kill -9 between the commit and its delivery: the relay of the
     * restarted process, and of a second one at once, finish it exactly once. */
    h_server_stop();
    setenv("OFFPAYD_TEST_DELIVER", "relay", 1);
    setenv("OFFPAYD_RELAY_MS", "0", 1); /* no relay: it stays in flight */
    h_server_start(2);
    q_online = h_online(q);
    make(&x5, p, q, 300, &c[4]);
    sync_settled(p, &x5, 1);
    CHECK_U64(pay_online(p, q->account, 700, code, sizeof code), 200);
    CHECK_U64(in_flight(), 2);
    CHECK_U64(coins_of(q->account), 1900);
    CHECK_U64(h_online(q), q_online);
    h_audit_ok(); /* in flight is counted */
    h_server_kill();
    unsetenv("OFFPAYD_TEST_DELIVER");
    setenv("OFFPAYD_RELAY_MS", "50", 1);
    h_server_start(2);
    h_server_start_n(1, 2);
    wait_delivered();
    CHECK_U64(coins_of(q->account), 1900 + 300);
    CHECK_U64(h_online(q), q_online + 700);
    CHECK_U64(of_account("received", q->account), 1500 + 2500 + 1800 + 400 + 300 + 700);
    sync_at(&y, h_base_url(), q, &x5, 1);
    CHECK_STR(y.result, "settled");
    CHECK_U64(y.coins, 1);
    h_audit_ok();

    /* 6. A shard down (PostgreSQL: its cluster stopped). */
    if (on_pg) {
        p_online = h_online(p);
        q_online = h_online(q);
        long long q_received = of_account("received", q->account);
        h_shard_stop(sb);
        /* a record to a payee the down shard holds: with its confirmation it
         * settles on the payer's shard and waits in flight; without, its
         * payee cannot be found: 503, nothing changed */
        make(&x6, p, q, 900, &c[5]);
        sync_at(&y, h_base_url(), p, &x6, 0);
        CHECK_U64(y.status, 503);
        CHECK_STR(y.error, "shard_unavailable");
        make(&x7, p, q, 1100, &c[6]);
        sync_settled(p, &x7, 1);
        /* pay-online to it: 503, nothing changed */
        CHECK_U64(pay_online(p, q->account, 100, code, sizeof code), 503);
        CHECK_STR(code, "shard_unavailable");
        CHECK_U64(h_online(p), p_online);
        /* the payee itself: its own shard does not answer */
        sync_at(&y, h_base_url(), q, &x7, 1);
        CHECK_U64(y.status, 503);
        /* the others settle: the payer's own shard, and the third one */
        make(&x8, p, s, 200, &c[7]);
        sync_settled(p, &x8, 1);
        CHECK_U64(pay_online(p, s->account, 50, code, sizeof code), 200);
        CHECK_U64(h_online(p), p_online - 50);
        CHECK_U64(h_sql_int_at(sa, "SELECT count(*) FROM utxos u JOIN accounts a ON a.id = u.account_id "
                                   "WHERE a.name = '~in-flight' AND u.spent = 0"),
                  1); /* x7 */
        CHECK(h_offpayd(&out, &err, "audit", "--ledger", h_ledger_url(), NULL) != 0); /* cannot read it all */
        h_shard_start(sb);
        wait_delivered();
        sync_settled(p, &x6, 0);
        sync_at(&y, h_base_url(), q, &x7, 1);
        CHECK_STR(y.result, "settled");
        CHECK_U64(y.coins, 1);
        sync_at(&y, h_base_url(), q, &x6, 1);
        CHECK_STR(y.result, "settled");
        CHECK_U64(of_account("received", q->account), q_received + 900 + 1100);
        CHECK_U64(coins_of(s->account), 200);
        h_audit_ok();
        printf("ok a shard down: 503 shard_unavailable for what needs it, the others settle, then all settle\n");
    }

    /* 7. Both sides of records between shards syncing at the same moment,
     * through two offpayd processes: settled once each, the payee's coin
     * handed out once. */
    struct offpay_utxo e[3];
    uint64_t three[3] = {100, 100, 100};
    h_load(p, three, 3, e);
    long long q_received = of_account("received", q->account), q_coins = coins_of(q->account);
    for (int k = 0; k < 3; k++) {
        struct rec z;
        make(&z, p, q, 70, &e[k]);
        struct racer ra = {h_base_url(), p, &z, {0}};
        struct racer rb = {h_server_url(1), q, &z, {0}};
        h_race_two(race, &ra, &rb);
        if (ra.out.status != 200 || rb.out.status != 200 || strcmp(ra.out.result, "settled") != 0 ||
            strcmp(rb.out.result, "settled") != 0)
            CHECK_FAIL("round %d: payer %ld %s %s %s, payee %ld %s %s %s", k, ra.out.status, ra.out.error,
                       ra.out.result, ra.out.reason, rb.out.status, rb.out.error, rb.out.result, rb.out.reason);
        CHECK_U64(rb.out.coins, 1);
        CHECK_U64(ra.out.coins, 1); /* the payer's change */
    }
    wait_delivered();
    CHECK_U64(of_account("received", q->account), q_received + 3 * 70);
    CHECK_U64(coins_of(q->account), q_coins + 3 * 70);
    h_audit_ok();

    /* 8. A payer and payees on other shards double spending through two
     * offpayd processes at once: one settles, one is caught, the payer revoked. */
    struct offpay_utxo d[1];
    uint64_t one[1] = {1000};
    h_load(p, one, 1, d);
    make(&x6, p, q, 400, &d[0]);
    make(&x7, p, s, 500, &d[0]);
    long long frauds = h_sql_int("SELECT count(*) FROM frauds");
    struct racer ra = {h_base_url(), q, &x6, {0}};
    struct racer rb = {h_server_url(1), s, &x7, {0}};
    h_race_two(race, &ra, &rb);
    CHECK_U64(ra.out.status, 200);
    CHECK_U64(rb.out.status, 200);
    int won_a = strcmp(ra.out.result, "settled") == 0, won_b = strcmp(rb.out.result, "settled") == 0;
    if (won_a + won_b != 1)
        CHECK_FAIL("double spend: %s %s / %s %s", ra.out.result, ra.out.reason, rb.out.result, rb.out.reason);
    CHECK_STR(won_a ? rb.out.reason : ra.out.reason, "double_spend");
    CHECK_U64((won_a ? ra.out.coins : rb.out.coins), 1);
    CHECK_U64(h_sql_int("SELECT count(*) FROM frauds"), frauds + 1);
    CHECK_U64(h_sql_int_at(sa, "SELECT count(*) FROM wallets WHERE fraudulent <> 0"), 1);
    h_audit_ok();

    h_server_stop_n(1);
    h_server_stop();
    printf("ok\n");
    return 0;
}

/*
 * test_api.c - liboffpay's API as an app sees it: built by test_lib.sh
 * against the installed library with pkg-config (only <offpay/offpay.h>),
 * run on wallets the script enrolled with the offpay command.
 *
 * Usage: test_api NO_WALLET_DIR SHOP_DIR BOB_DIR
 * (bob holds offline coins, among them none of 700 or more that is locked).
 *
 * Each failure path answers with its status and a sentence, and leaves the
 * wallet as it was; then one payment of 700, bob to the shop, runs through
 * the four steps with text messages, between two handles open at once, and
 * one of 300 over TCP, the shop receiving in one thread while bob pays from
 * another (distinct handles in distinct threads, as offpay.h allows); then
 * bob loads, lists his coins and history, unloads one coin by a short id
 * and all of them, and loads back what he held before the load (his
 * spendable total is what it was, for test_lib.sh's sums).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <offpay/offpay.h>

#include "check.h"

/* A status of the group that is exit code `code` in SPEC.md, with a sentence. */
static void check_fails(struct offpay *h, enum offpay_status s, int code)
{
    if (offpay_status_exit_code(s) != code)
        CHECK_FAIL("got %s (exit %d), want a status of exit %d", offpay_status_code(s), offpay_status_exit_code(s),
                   code);
    CHECK(offpay_errmsg(h)[0] != '\0');
}

static void balance(struct offpay *h, struct offpay_balance *b)
{
    memset(b, 0, sizeof *b);
    b->size = sizeof *b;
    CHECK_STATUS(offpay_balance(h, b), OFFPAY_OK);
    CHECK_STR(offpay_errmsg(h), "");
}

static void same_balance(const struct offpay_balance *a, const struct offpay_balance *b)
{
    CHECK_MEM(a, b, sizeof *a);
}

static void open_errors(const char *nowhere, const char *shop_dir)
{
    struct offpay *h = (struct offpay *)1;
    char *why = NULL;

    /* A folder with no wallet: usage (run offpay init), a sentence, no handle. */
    CHECK_STATUS(offpay_open(&h, &why, nowhere, NULL), OFFPAY_ERR_USAGE);
    CHECK(h == NULL);
    CHECK(why != NULL && why[0] != '\0');
    offpay_free(why);
    /* Options whose size is not set. */
    struct offpay_options bad = {0};
    CHECK_STATUS(offpay_open(&h, &why, shop_dir, &bad), OFFPAY_ERR_USAGE);
    CHECK(h == NULL && why != NULL);
    offpay_free(why);
    /* errmsg may be NULL; options may be given. */
    struct offpay_options o = {sizeof o, 5000};
    CHECK_STATUS(offpay_open(&h, NULL, shop_dir, &o), OFFPAY_OK);
    CHECK_STR(offpay_account(h), "shop");
    offpay_close(h);
    offpay_close(NULL);
    /* No handle at all. */
    struct offpay_balance b = {.size = sizeof b};
    CHECK_STATUS(offpay_balance(NULL, &b), OFFPAY_ERR_USAGE);
    CHECK(offpay_errmsg(NULL)[0] != '\0');
}

static void message_errors(struct offpay *shop, struct offpay *bob)
{
    struct offpay_balance before_shop, before_bob, after;
    struct offpay_payment p = {.size = sizeof p};
    char *out = (char *)1, *req = NULL;
    static const unsigned char junk[] = {1, 4, 0xde, 0xad, 0xbe, 0xef};

    balance(shop, &before_shop);
    balance(bob, &before_bob);
    check_fails(shop, offpay_accept(shop, &out, &p, "OP1REC:not base32!", 18), 3);
    CHECK(out == NULL);
    check_fails(shop, offpay_accept(shop, &out, &p, junk, sizeof junk), 3);
    CHECK_STATUS(offpay_accept(shop, &out, &p, "", 0), OFFPAY_ERR_TRUNCATED);
    check_fails(bob, offpay_confirm(bob, &p, "OP1CNFAAAA", 10), 3);
    check_fails(bob, offpay_pay(bob, &out, &p, junk, sizeof junk), 3);
    CHECK_STATUS(offpay_request(shop, &req, 0), OFFPAY_ERR_ZERO_AMOUNT);
    CHECK(req == NULL);
    /* A request where a record belongs: its kind is named. */
    CHECK_STATUS(offpay_request(shop, &req, 500), OFFPAY_OK);
    CHECK(strncmp(req, "OP1REQ:", 7) == 0);
    CHECK_STATUS(offpay_accept(shop, &out, &p, req, strlen(req)), OFFPAY_ERR_WRONG_TYPE);
    CHECK(strstr(offpay_errmsg(shop), "OP1REC") != NULL);
    /* Paying one's own request is refused (verification, exit 4). */
    check_fails(shop, offpay_pay(shop, &out, &p, req, strlen(req)), 4);
    /* Structs whose size was not set. */
    struct offpay_payment unset = {0};
    CHECK_STATUS(offpay_pay(bob, &out, &unset, req, strlen(req)), OFFPAY_ERR_USAGE);
    struct offpay_balance b0 = {0};
    CHECK_STATUS(offpay_balance(bob, &b0), OFFPAY_ERR_USAGE);
    offpay_free(req);
    /* None of it changed a thing. */
    balance(bob, &after);
    same_balance(&after, &before_bob);
    balance(shop, &after);
    same_balance(&after, &before_shop);
}

static void connection_errors(struct offpay *shop, struct offpay *bob)
{
    struct offpay_listener *l = NULL;
    struct offpay_payment p = {.size = sizeof p};

    CHECK_STATUS(offpay_listen(shop, &l, "127.0.0.1"), OFFPAY_ERR_USAGE);
    CHECK(l == NULL && strstr(offpay_errmsg(shop), "HOST:PORT") != NULL);
    CHECK_STATUS(offpay_listen(shop, &l, "127.0.0.1:0"), OFFPAY_OK);
    CHECK(offpay_listener_port(l) != 0);
    /* Nobody comes within 100 ms. */
    CHECK_STATUS(offpay_receive(shop, &p, l, 700, 100), OFFPAY_ERR_PEER_TIMEOUT);
    CHECK(offpay_errmsg(shop)[0] != '\0');
    char to[32];
    snprintf(to, sizeof to, "127.0.0.1:%u", (unsigned)offpay_listener_port(l));
    offpay_listener_close(l);
    /* The port is closed now: nothing to pay. */
    CHECK_STATUS(offpay_pay_to(bob, &p, to, 700, "shop"), OFFPAY_ERR_PEER_UNREACHABLE);
    CHECK(strstr(offpay_errmsg(bob), "Nothing was paid") != NULL);
}

struct receiver {
    struct offpay *shop;
    struct offpay_listener *l;
    struct offpay_payment p;
    enum offpay_status s;
};

static void *receive_one(void *arg)
{
    struct receiver *r = arg;
    r->s = offpay_receive(r->shop, &r->p, r->l, 300, 10000);
    return NULL;
}

/* offpay_receive against offpay_pay_to, each in its own thread. */
static void direct_payment(struct offpay *shop, struct offpay *bob)
{
    struct receiver r = {.shop = shop, .p = {.size = sizeof r.p}};
    struct offpay_payment p = {.size = sizeof p};
    struct offpay_balance shop0, bob0, b;
    pthread_t t;
    char to[32];

    balance(shop, &shop0);
    balance(bob, &bob0);
    CHECK_STATUS(offpay_listen(shop, &r.l, "127.0.0.1:0"), OFFPAY_OK);
    snprintf(to, sizeof to, "127.0.0.1:%u", (unsigned)offpay_listener_port(r.l));
    CHECK(pthread_create(&t, NULL, receive_one, &r) == 0);
    /* A payee that is not the one at the port: nothing is paid, and the
     * shop's request stays unanswered (the shop then waits for the next). */
    enum offpay_status s = offpay_pay_to(bob, &p, to, 300, "somebody-else");
    if (s == OFFPAY_OK || offpay_status_exit_code(s) != 4)
        CHECK_FAIL("pay_to the wrong payee: %s", offpay_status_code(s));
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(r.s != OFFPAY_OK);
    balance(bob, &b);
    same_balance(&b, &bob0);
    /* Now the right one. */
    CHECK(pthread_create(&t, NULL, receive_one, &r) == 0);
    s = offpay_pay_to(bob, &p, to, 300, "shop");
    CHECK(pthread_join(t, NULL) == 0);
    offpay_listener_close(r.l);
    CHECK_STATUS(s, OFFPAY_OK);
    CHECK_STATUS(r.s, OFFPAY_OK);
    CHECK_U64(p.amount, 300);
    CHECK(p.sent && !p.refused);
    CHECK_STR(p.counterparty, "shop");
    CHECK_U64(r.p.amount, 300);
    CHECK_STR(r.p.counterparty, "bob");
    CHECK_STR(r.p.record_id, p.record_id);
    CHECK(r.p.sent);
    balance(bob, &b);
    CHECK_U64(b.locked, bob0.locked + p.change);
    CHECK_U64(b.spendable, bob0.spendable - p.amount - p.change);
    balance(shop, &b);
    CHECK_U64(b.incoming, shop0.incoming + 300);
}

/* The four steps with text messages, then the replays refused. */
static void payment(struct offpay *shop, struct offpay *bob)
{
    struct offpay_balance shop0, bob0, b;
    struct offpay_payment paid = {.size = sizeof paid}, took = {.size = sizeof took}, done = {.size = sizeof done};
    char *req = NULL, *rec = NULL, *cnf = NULL, *again = NULL;

    balance(shop, &shop0);
    balance(bob, &bob0);
    CHECK_STATUS(offpay_request(shop, &req, 700), OFFPAY_OK);
    CHECK_STATUS(offpay_pay(bob, &rec, &paid, req, strlen(req)), OFFPAY_OK);
    CHECK(strncmp(rec, "OP1REC:", 7) == 0);
    CHECK_U64(paid.amount, 700);
    CHECK_STR(paid.counterparty, "shop");
    CHECK(strlen(paid.record_id) == 64);
    /* Paid, unconfirmed: bob's coins are in doubt. */
    balance(bob, &b);
    CHECK_U64(b.in_doubt, paid.amount + paid.change);
    CHECK_U64(b.spendable, bob0.spendable - b.in_doubt);
    CHECK_STATUS(offpay_accept(shop, &cnf, &took, rec, strlen(rec)), OFFPAY_OK);
    CHECK_U64(took.amount, 700);
    CHECK_STR(took.counterparty, "bob");
    CHECK_STR(took.record_id, paid.record_id);
    CHECK_STATUS(offpay_confirm(bob, &done, cnf, strlen(cnf)), OFFPAY_OK);
    CHECK(!done.refused);
    CHECK_STR(done.record_id, paid.record_id);
    /* The change is locked until sync; the shop waits for sync. */
    balance(bob, &b);
    CHECK_U64(b.in_doubt, 0);
    CHECK_U64(b.locked, bob0.locked + paid.change);
    CHECK_U64(b.unsynced, bob0.unsynced + 1);
    balance(shop, &b);
    CHECK_U64(b.incoming, shop0.incoming + 700);
    CHECK_U64(b.spendable, shop0.spendable);
    /* Replays: the same record again, the same confirmation again (exit 4). */
    CHECK_STATUS(offpay_accept(shop, &again, &took, rec, strlen(rec)), OFFPAY_ERR_WRONG_NONCE);
    CHECK(again == NULL);
    CHECK_STATUS(offpay_confirm(bob, &done, cnf, strlen(cnf)), OFFPAY_ERR_WRONG_RECORD);
    /* A line end after the text form is fine; the request was answered. */
    size_t n = strlen(req);
    char line[1024];
    CHECK(n + 2 < sizeof line);
    snprintf(line, sizeof line, "%s\n", req);
    check_fails(bob, offpay_pay(bob, &again, &paid, line, n + 1), 4);
    offpay_free(req);
    offpay_free(rec);
    offpay_free(cnf);
}

/* What offpay_coins and offpay_history showed. */
struct seen {
    char id500[OFFPAY_ID_HEX_BYTES], id250[OFFPAY_ID_HEX_BYTES]; /* spendable coins of these amounts */
    uint64_t spendable, n;
    struct offpay_event last, before_last;
};

static int see_coin(void *ctx, const struct offpay_coin_info *c)
{
    struct seen *v = ctx;
    CHECK(c->size == sizeof *c && strlen(c->id) == 64);
    v->n++;
    if (strcmp(c->state, "spendable") != 0)
        return 0;
    v->spendable += c->amount;
    if (c->amount == 500)
        snprintf(v->id500, sizeof v->id500, "%s", c->id);
    if (c->amount == 250)
        snprintf(v->id250, sizeof v->id250, "%s", c->id);
    return 0;
}

static int see_event(void *ctx, const struct offpay_event *e)
{
    struct seen *v = ctx;
    CHECK(e->size == sizeof *e);
    v->n++;
    v->before_last = v->last;
    v->last = *e;
    return 0;
}

static int stop_at_first(void *ctx, const struct offpay_coin_info *c)
{
    (void)c;
    ++*(int *)ctx;
    return 1;
}

/* Load, the coins and history reads, unload by a short id and all, through the library alone (issue 16). */
static void load_unload(struct offpay *shop, struct offpay *bob)
{
    struct offpay_transfer t = {.size = sizeof t}, unset = {0};
    struct offpay_balance b0, b;
    struct seen v;
    uint64_t online0 = 0, online = 0, amounts[2] = {500, 250}, many[65];

    balance(bob, &b0);
    CHECK_STATUS(offpay_online_balance(bob, &online0), OFFPAY_OK);
    /* misuse: nothing asked of the server, nothing changed */
    CHECK_STATUS(offpay_load(bob, &t, amounts, 0), OFFPAY_ERR_USAGE);
    for (size_t i = 0; i < 65; i++)
        many[i] = 1;
    CHECK_STATUS(offpay_load(bob, &t, many, 65), OFFPAY_ERR_USAGE);
    many[1] = 0;
    CHECK_STATUS(offpay_load(bob, &t, many, 2), OFFPAY_ERR_ZERO_AMOUNT);
    CHECK_STATUS(offpay_load(bob, &unset, amounts, 2), OFFPAY_ERR_USAGE);
    CHECK_STATUS(offpay_coins(bob, NULL, NULL), OFFPAY_ERR_USAGE);
    /* the shop has no online money: the server refuses (exit 8), nothing changed */
    struct offpay_balance s0, s1;
    balance(shop, &s0);
    check_fails(shop, offpay_load(shop, &t, amounts, 1), 8);
    balance(shop, &s1);
    same_balance(&s0, &s1);
    /* 500 + 250 from bob's online balance */
    CHECK_STATUS(offpay_load(bob, &t, amounts, 2), OFFPAY_OK);
    CHECK_U64(t.moved, 750);
    CHECK_U64(t.online, online0 - 750);
    CHECK_STATUS(offpay_online_balance(bob, &online), OFFPAY_OK);
    CHECK_U64(online, online0 - 750);
    balance(bob, &b);
    CHECK_U64(b.spendable, b0.spendable + 750);
    memset(&v, 0, sizeof v);
    CHECK_STATUS(offpay_coins(bob, see_coin, &v), OFFPAY_OK);
    CHECK_U64(v.spendable, b.spendable);
    CHECK(v.id500[0] != '\0' && v.id250[0] != '\0');
    int calls = 0;
    CHECK_STATUS(offpay_coins(bob, stop_at_first, &calls), OFFPAY_OK);
    CHECK(calls == 1);
    memset(&v.last, 0, sizeof v.last);
    v.n = 0;
    CHECK_STATUS(offpay_history(bob, see_event, &v), OFFPAY_OK);
    CHECK_STR(v.last.kind, "load");
    CHECK_U64(v.last.amount, 750);
    CHECK(v.last.time > 0 && v.last.record_id[0] == '\0');
    /* unload the 250 by the first 8 digits of its id */
    char short_id[9];
    snprintf(short_id, sizeof short_id, "%.8s", v.id250);
    CHECK_STATUS(offpay_unload(bob, &t, short_id), OFFPAY_OK);
    CHECK_U64(t.moved, 250);
    CHECK_U64(t.online, online0 - 500);
    /* it is gone: the same id again, a malformed one, nothing changed */
    balance(bob, &b0);
    check_fails(bob, offpay_unload(bob, &t, short_id), 2);
    CHECK(strstr(offpay_errmsg(bob), short_id) != NULL);
    check_fails(bob, offpay_unload(bob, &t, "12345"), 3);
    check_fails(bob, offpay_unload(bob, &t, "zzzzzzzz"), 3);
    balance(bob, &b);
    same_balance(&b0, &b);
    memset(&v.last, 0, sizeof v.last);
    CHECK_STATUS(offpay_history(bob, see_event, &v), OFFPAY_OK);
    CHECK_STR(v.last.kind, "unload");
    CHECK_U64(v.last.amount, 250);
    /* every spendable coin back online, then loaded again as one coin */
    uint64_t all = b.spendable;
    CHECK_STATUS(offpay_unload(bob, &t, NULL), OFFPAY_OK);
    CHECK_U64(t.moved, all);
    CHECK_U64(t.online, online0 - 500 + all);
    balance(bob, &b);
    CHECK_U64(b.spendable, 0);
    CHECK_U64(b.locked, b0.locked);
    check_fails(bob, offpay_unload(bob, &t, NULL), 5); /* none left */
    uint64_t back = all - 500; /* what bob held before the load */
    if (back > 0)
        CHECK_STATUS(offpay_load(bob, &t, &back, 1), OFFPAY_OK);
    CHECK_STATUS(offpay_online_balance(bob, &online), OFFPAY_OK);
    CHECK_U64(online, online0);
    balance(bob, &b);
    CHECK_U64(b.spendable, back);
}

int main(int argc, char **argv)
{
    struct offpay *shop = NULL, *bob = NULL;

    if (argc != 4) {
        fprintf(stderr, "usage: test_api NO_WALLET_DIR SHOP_DIR BOB_DIR\n");
        return 2;
    }
    CHECK(strcmp(offpay_version(), OFFPAY_VERSION) == 0);
    open_errors(argv[1], argv[2]);
    CHECK_STATUS(offpay_open(&shop, NULL, argv[2], NULL), OFFPAY_OK);
    CHECK_STATUS(offpay_open(&bob, NULL, argv[3], NULL), OFFPAY_OK);
    message_errors(shop, bob);
    connection_errors(shop, bob);
    payment(shop, bob);
    direct_payment(shop, bob);
    load_unload(shop, bob);
    offpay_close(bob);
    offpay_close(shop);
    printf("test_api: all checks passed\n");
    return 0;
}

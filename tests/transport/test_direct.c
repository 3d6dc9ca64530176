/*
 * test_direct.c - two real wallets pay over a direct connection and through
 * QR pictures, driving the real offpay program; the connection is cut after
 * each frame in each direction, a side is killed mid-handshake, frames are
 * tampered with, and fake peers send garbage.  After each run both wallets'
 * states are read back with `offpay balance --json` and must be exactly what
 * SPEC.md rule 8 allows: the payer untouched, or its inputs in doubt once the
 * record may have left; the payee untouched unless it confirmed.
 *
 * The wallets are made by the wallet library with an issuer made up here (no
 * server is needed for an offline payment); test_direct_server covers
 * enrolment and settlement with a real offpayd.
 * Ports: payees 20500-20749, test peers 20750-20999 (retried when taken).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "offpay/protocol.h"
#include "offpay/wallet.h"
#include "proc.h"

static const char *base; /* the test's folder (check_temp_dir) */
static uint8_t issuer_pk[32], issuer_sk[64];
static int step; /* a fresh folder per scenario */
static char scen[400];

#define ALICE_START 10000u /* 1000 + 2000 + 3000 + 4000 */

/* Copy src into dst (cap bytes), cut if it must be. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* A wallet made by the library: certificate from our issuer, generous limits. */
static void make_wallet(char *dir, size_t cap, const char *name, const uint64_t *coins, size_t n)
{
    char err[OFFPAY_WALLET_ERROR_MAX];
    uint8_t pk[32], sk[64], rev[256];
    uint64_t now = (uint64_t)time(NULL);
    struct offpay_cert cert = {.not_before = now - 60, .not_after = now + 86400};
    struct offpay_limits_policy pol = {
        .limits = {.per_payment = 1000000, .offline_total = 10000000, .count = 1000, .period = 86400}, .issued_at = now};
    struct offpay_revocation r = {.serial = 1, .issued_at = now};
    struct offpay_wallet *w;
    snprintf(dir, cap, "%s/%s", scen, name);
    offpay_keypair(pk, sk);
    offpay_random(cert.wallet_id, sizeof cert.wallet_id);
    memcpy(cert.public_key, pk, 32);
    snprintf(cert.account, sizeof cert.account, "%s", name);
    CHECK(offpay_cert_issue(&cert, issuer_sk) == OFFPAY_OK);
    CHECK(offpay_limits_policy_sign(&pol, issuer_sk) == OFFPAY_OK);
    CHECK(offpay_revocation_sign(&r, issuer_sk) == OFFPAY_OK);
    size_t rev_len = offpay_revocation_encode(rev, sizeof rev, &r);
    if (offpay_wallet_create(&w, err, dir, "http://127.0.0.1:1", &cert, sk, issuer_pk, &pol, rev, rev_len) != OFFPAY_OK)
        CHECK_FAIL("create wallet %s: %s", name, err);
    offpay_wipe(sk, sizeof sk);
    struct offpay_utxo u[8];
    for (size_t i = 0; i < n; i++) {
        memset(&u[i], 0, sizeof u[i]);
        offpay_random(u[i].id, sizeof u[i].id);
        memcpy(u[i].owner, pk, 32);
        u[i].amount = coins[i];
        CHECK(offpay_utxo_attest(&u[i], issuer_sk) == OFFPAY_OK);
    }
    if (n > 0)
        CHECK(offpay_wallet_add_utxos(w, u, n) == OFFPAY_OK);
    offpay_wallet_close(w);
}

/* A new scenario: its own folder, alice with the [0072] coins, bob empty. */
static void scenario(const char *name, char *alice, char *bob)
{
    static const uint64_t coins[] = {1000, 2000, 3000, 4000};
    snprintf(scen, sizeof scen, "%s/%02d-%s", base, ++step, name);
    CHECK(mkdir(scen, 0700) == 0);
    make_wallet(alice, 512, "alice", coins, 4);
    make_wallet(bob, 512, "bob", NULL, 0);
    printf("-- %s\n", name);
    fflush(stdout);
}

struct bal {
    long long spendable, locked, in_doubt, incoming, out, in;
};

static struct bal balance(const char *wallet)
{
    struct proc *p;
    struct bal b = {-1, -1, -1, -1, -1, -1};
    int rc = proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", (char *)wallet, "balance", "--offline", "--json", NULL});
    if (rc != 0)
        CHECK_FAIL("offpay balance --json in %s exited %d: %s", wallet, rc, p->err);
    json_error_t e;
    json_t *j = json_loads(p->out, 0, &e);
    if (j == NULL || json_unpack(j, "{s:{s:I, s:I, s:I}, s:I, s:{s:I, s:I}}", "offline", "spendable", &b.spendable,
                                 "locked", &b.locked, "in_doubt", &b.in_doubt, "incoming_unsynced", &b.incoming,
                                 "pending", "outgoing", &b.out, "incoming", &b.in) != 0)
        CHECK_FAIL("balance --json of %s is not as SPEC.md says: %s", wallet, p->out);
    json_decref(j);
    return b;
}

#define CHECK_BAL(wallet, sp, lo, dbt, inc, o, i)                                                                 \
    do {                                                                                                          \
        struct bal b_ = balance(wallet);                                                                          \
        if (b_.spendable != (sp) || b_.locked != (lo) || b_.in_doubt != (dbt) || b_.incoming != (inc) ||           \
            b_.out != (o) || b_.in != (i))                                                                        \
            CHECK_FAIL("%s: spendable %lld locked %lld in_doubt %lld incoming %lld pending %lld/%lld, "           \
                       "want %lld %lld %lld %lld %lld/%lld",                                                      \
                       wallet, b_.spendable, b_.locked, b_.in_doubt, b_.incoming, b_.out, b_.in, (long long)(sp), \
                       (long long)(lo), (long long)(dbt), (long long)(inc), (long long)(o), (long long)(i));      \
    } while (0)

/* The states a payment can leave behind (alice pays bob 3500 from [0072]'s coins). */
#define ALICE_UNTOUCHED(a) CHECK_BAL(a, ALICE_START, 0, 0, 0, 0, 0)
#define ALICE_IN_DOUBT(a) CHECK_BAL(a, 6000, 0, 4000, 0, 1, 0)
#define ALICE_PAID(a) CHECK_BAL(a, 6000, 500, 0, 0, 1, 0)
#define BOB_UNTOUCHED(b) CHECK_BAL(b, 0, 0, 0, 0, 0, 0)
#define BOB_PAID(b) CHECK_BAL(b, 0, 0, 0, 3500, 0, 1)

#define CHECK_RC(got, want, p)                                                                                    \
    do {                                                                                                          \
        int g_ = (got);                                                                                           \
        if (g_ != (want))                                                                                         \
            CHECK_FAIL("%s exited %d, want %d\n  stdout: %s\n  stderr: %s", #p, g_, (want), (p)->out, (p)->err);   \
    } while (0)

/* Start `offpay receive` for bob on a free port of 20500-20749; returns it. */
static unsigned start_receive(struct proc *p, const char *bob, const char *amount, const char *timeout)
{
    static unsigned next;
    if (next == 0)
        next = ((unsigned)getpid() * 13u) % 250u;
    for (int tries = 0; tries < 50; tries++) {
        char hp[32];
        unsigned port = 20500 + (next++ * 7u) % 250u;
        snprintf(hp, sizeof hp, "127.0.0.1:%u", port);
        proc_start(p, (char *const[]){OFFPAY_BIN, "--wallet", (char *)bob, "receive", "--listen", hp, (char *)amount,
                                      "--timeout", (char *)timeout, NULL});
        if (proc_wait_line(p, "Waiting for a payer on", 20000) != NULL)
            return port;
        int rc = proc_wait(p, 20000);
        if (rc == 7 && strstr(p->err, "in use") != NULL)
            continue;
        CHECK_FAIL("offpay receive did not start (exit %d): %s", rc, p->err);
    }
    CHECK_FAIL("no free port for offpay receive");
    return 0;
}

/* Start a test peer whose first argument after the mode is a listen range;
 * returns the port it listens on. */
static unsigned start_peer(struct proc *p, char *const argv[])
{
    proc_start(p, argv);
    const char *line = proc_wait_line(p, "LISTENING ", 20000);
    if (line == NULL)
        CHECK_FAIL("offpay-test-peer did not listen: %s", p->err);
    return (unsigned)atoi(line + strlen("LISTENING "));
}

/* alice pays --to 127.0.0.1:port; with --payee ACCOUNT when payee is not NULL. */
static int pay_to_payee(struct proc *p, const char *alice, unsigned port, const char *amount, const char *timeout,
                        const char *payee)
{
    char hp[32];
    snprintf(hp, sizeof hp, "127.0.0.1:%u", port);
    proc_start(p, (char *const[]){OFFPAY_BIN, "--wallet", (char *)alice, "pay", "--to", hp, (char *)amount,
                                  "--timeout", (char *)timeout, payee ? "--payee" : NULL, (char *)payee, NULL});
    proc_close_stdin(p);
    return proc_wait(p, 60000);
}

static int pay_to(struct proc *p, const char *alice, unsigned port, const char *amount, const char *timeout)
{
    return pay_to_payee(p, alice, port, amount, timeout, NULL);
}

static const char *const PEER_RANGE = "127.0.0.1:20750-20999";

/* ---- scenarios ---- */

static void test_pay_over_tcp(void)
{
    char a[512], b[512];
    struct proc r, pay;
    scenario("pay-over-tcp", a, b);
    unsigned port = start_receive(&r, b, "3500", "20");
    CHECK_RC(pay_to_payee(&pay, a, port, "3500", "20", "bob"), 0, &pay);
    CHECK_RC(proc_wait(&r, 30000), 0, &r);
    CHECK(strstr(pay.out, "Paid 35.00 CNY to bob") != NULL);
    CHECK(strstr(pay.out, "change of 5.00 CNY is locked") != NULL);
    CHECK(strstr(r.out, "Accepted 35.00 CNY from alice") != NULL);
    ALICE_PAID(a);
    BOB_PAID(b);

    /* A second payment on the same wallets: the locked change is not used. */
    port = start_receive(&r, b, "2500", "20");
    CHECK_RC(pay_to(&pay, a, port, "2500", "20"), 0, &pay);
    CHECK_RC(proc_wait(&r, 30000), 0, &r);
    CHECK_BAL(a, 3000, 500 + 500, 0, 0, 2, 0); /* spent the 3000, change 500; 1000 + 2000 left */
    CHECK_BAL(b, 0, 0, 0, 6000, 0, 2);

    /* Nobody listens: nothing changes. */
    CHECK_RC(pay_to(&pay, a, port, "100", "5"), 7, &pay);
    CHECK_BAL(a, 3000, 1000, 0, 0, 2, 0);
}

static void test_refusals(void)
{
    char a[512], b[512];
    struct proc r, pay;

    /* The payer agreed to another amount than the payee asks. */
    scenario("wrong-amount", a, b);
    unsigned port = start_receive(&r, b, "3500", "20");
    CHECK_RC(pay_to(&pay, a, port, "3000", "20"), 4, &pay);
    CHECK(strstr(pay.err, "asks for 35.00 CNY, not 30.00 CNY") != NULL);
    CHECK_RC(proc_wait(&r, 30000), 4, &r);
    ALICE_UNTOUCHED(a);
    BOB_UNTOUCHED(b);

    /* The payer meant to pay mallory; whoever answers the connection is bob. */
    port = start_receive(&r, b, "3500", "20");
    CHECK_RC(pay_to_payee(&pay, a, port, "3500", "20", "mallory"), 4, &pay);
    CHECK(strstr(pay.err, "comes from bob, not mallory") != NULL);
    CHECK_RC(proc_wait(&r, 30000), 4, &r);
    ALICE_UNTOUCHED(a);
    BOB_UNTOUCHED(b);

    /* Not enough offline funds: the payer says so and stops. */
    port = start_receive(&r, b, "20000", "20");
    CHECK_RC(pay_to(&pay, a, port, "20000", "20"), 5, &pay);
    CHECK_RC(proc_wait(&r, 30000), 4, &r);
    CHECK(strstr(r.err, "Not enough spendable offline funds") != NULL);
    ALICE_UNTOUCHED(a);
    BOB_UNTOUCHED(b);

    /* A payee that is also the payer (same wallet): refused before paying. */
    port = start_receive(&r, a, "100", "20");
    CHECK_RC(pay_to(&pay, a, port, "100", "20"), 4, &pay);
    proc_wait(&r, 30000);
    ALICE_UNTOUCHED(a);
}

/* The relay forwards N frames, takes frame N+1 and drops both connections. */
static void test_cuts(void)
{
    static const char *const plans[] = {"cut:0", "cut:1", "cut:2", "pass"};
    for (int k = 0; k < 4; k++) {
        char a[512], b[512], name[32];
        struct proc r, relay, pay;
        snprintf(name, sizeof name, "relay-%s", plans[k]);
        if (strchr(name, ':') != NULL)
            *strchr(name, ':') = '-';
        scenario(name, a, b);
        unsigned port = start_receive(&r, b, "3500", "20");
        char target[32];
        snprintf(target, sizeof target, "127.0.0.1:%u", port);
        unsigned rport =
            start_peer(&relay, (char *const[]){PEER_BIN, "relay", (char *)PEER_RANGE, target, (char *)plans[k], NULL});
        int prc = pay_to(&pay, a, rport, "3500", "20");
        int rrc = proc_wait(&r, 30000);
        CHECK_RC(proc_wait(&relay, 30000), 0, &relay);
        switch (k) {
        case 0: /* the request never reached the payer */
            CHECK_RC(prc, 7, &pay);
            CHECK_RC(rrc, 7, &r);
            ALICE_UNTOUCHED(a);
            BOB_UNTOUCHED(b);
            break;
        case 1: /* the record left the payer, never reached the payee */
            CHECK_RC(prc, 7, &pay);
            CHECK(strstr(pay.err, "stay in doubt") != NULL);
            CHECK_RC(rrc, 7, &r);
            ALICE_IN_DOUBT(a);
            BOB_UNTOUCHED(b);
            break;
        case 2: /* the payee confirmed; the confirmation never reached the payer */
            CHECK_RC(prc, 7, &pay);
            CHECK_RC(rrc, 0, &r); /* its confirmation left; TCP cannot tell it was lost */
            ALICE_IN_DOUBT(a);
            BOB_PAID(b);
            break;
        default: /* through the relay untouched */
            CHECK_RC(prc, 0, &pay);
            CHECK_RC(rrc, 0, &r);
            ALICE_PAID(a);
            BOB_PAID(b);
        }
    }
}

/* A side is killed (SIGKILL) while it waits for the other's next frame. */
static void test_crashes(void)
{
    for (int k = 0; k < 2; k++) {
        char a[512], b[512], target[32];
        struct proc r, relay, pay;
        scenario(k == 0 ? "payee-killed-after-request" : "payer-killed-after-record", a, b);
        unsigned port = start_receive(&r, b, "3500", "20");
        snprintf(target, sizeof target, "127.0.0.1:%u", port);
        unsigned rport = start_peer(
            &relay, (char *const[]){PEER_BIN, "relay", (char *)PEER_RANGE, target, k == 0 ? "hold:0" : "hold:1", NULL});
        char hp[32];
        snprintf(hp, sizeof hp, "127.0.0.1:%u", rport);
        proc_start(&pay, (char *const[]){OFFPAY_BIN, "--wallet", a, "pay", "--to", hp, "3500", "--timeout", "20", NULL});
        if (proc_wait_line(&relay, "HELD", 30000) == NULL)
            CHECK_FAIL("the relay did not hold: %s", relay.out);
        if (k == 0) {
            proc_kill(&r, SIGKILL); /* payee dies waiting for the record */
            CHECK_RC(proc_wait(&r, 10000), 128 + SIGKILL, &r);
        } else {
            proc_kill(&pay, SIGKILL); /* payer dies waiting for the answer */
            CHECK_RC(proc_wait(&pay, 10000), 128 + SIGKILL, &pay);
        }
        proc_close_stdin(&relay);
        CHECK_RC(proc_wait(&relay, 30000), 0, &relay);
        if (k == 0) {
            CHECK_RC(proc_wait(&pay, 30000), 7, &pay);
            ALICE_UNTOUCHED(a);
            BOB_UNTOUCHED(b);
        } else {
            CHECK_RC(proc_wait(&r, 30000), 7, &r);
            ALICE_IN_DOUBT(a);
            BOB_UNTOUCHED(b);
        }
    }
}

/* One bit flipped in frame N: the signature check of the receiver catches it. */
static void test_tampering(void)
{
    for (int k = 1; k <= 3; k++) {
        char a[512], b[512], target[32], plan[16], name[32];
        struct proc r, relay, pay;
        snprintf(name, sizeof name, "tamper-frame-%d", k);
        snprintf(plan, sizeof plan, "tamper:%d", k);
        scenario(name, a, b);
        unsigned port = start_receive(&r, b, "3500", "20");
        snprintf(target, sizeof target, "127.0.0.1:%u", port);
        unsigned rport = start_peer(&relay, (char *const[]){PEER_BIN, "relay", (char *)PEER_RANGE, target, plan, NULL});
        int prc = pay_to(&pay, a, rport, "3500", "20");
        int rrc = proc_wait(&r, 30000);
        proc_wait(&relay, 30000);
        if (k == 1) { /* request: the payer's check of the payee fails; nobody changes */
            CHECK_RC(prc, 4, &pay);
            CHECK_RC(rrc, 4, &r);
            ALICE_UNTOUCHED(a);
            BOB_UNTOUCHED(b);
        } else if (k == 2) { /* record: the payee refuses it; the payer's record already left */
            CHECK_RC(prc, 4, &pay);
            CHECK_RC(rrc, 4, &r);
            ALICE_IN_DOUBT(a);
            BOB_UNTOUCHED(b);
        } else { /* confirmation: the payer cannot apply it; the payee has accepted */
            CHECK_RC(prc, 4, &pay);
            CHECK_RC(rrc, 0, &r);
            ALICE_IN_DOUBT(a);
            BOB_PAID(b);
        }
    }
}

static void request_file(const char *bob, const char *path, const char *amount)
{
    struct proc *p;
    int rc = proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", (char *)bob, "request", (char *)amount, "--out",
                                          (char *)path, NULL});
    if (rc != 0)
        CHECK_FAIL("offpay request: %s", p->err);
}

/* A fake payee misbehaves; the real payer must refuse cleanly.  The kinds
 * that must leave the payer untouched share one pair of wallets (each run
 * checks it is still untouched); the others get fresh ones. */
static void test_fake_payees(void)
{
    static const struct {
        const char *kind;
        int rc;
        int in_doubt;
    } cases[] = {
        {"garbage", 3, 0},    {"oversized", 3, 0},     {"badversion", 3, 0}, {"wrongtype", 3, 0},
        {"silent", 7, 0},     {"close", 7, 1},         {"garbage-answer", 3, 1}, {"abort", 4, 1},
    };
    char a[512], b[512], req[600];
    int fresh = 1;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char name[48];
        struct proc peer, pay;
        if (fresh) {
            snprintf(name, sizeof name, "fake-payee-%s", cases[k].kind);
            scenario(name, a, b);
            snprintf(req, sizeof req, "%s/request.txt", scen);
            request_file(b, req, "3500");
        } else {
            printf("-- fake-payee-%s\n", cases[k].kind);
        }
        fresh = cases[k].in_doubt || (k + 1 < sizeof cases / sizeof cases[0] && cases[k + 1].in_doubt);
        unsigned port =
            start_peer(&peer, (char *const[]){PEER_BIN, "fake-payee", (char *)PEER_RANGE, (char *)cases[k].kind, req, NULL});
        /* a short step timeout so the silent payee costs one second (only
         * there: elsewhere a slow machine must not turn an answer into a timeout) */
        const char *timeout = strcmp(cases[k].kind, "silent") == 0 ? "1" : "20";
        CHECK_RC(pay_to(&pay, a, port, "3500", timeout), cases[k].rc, &pay);
        CHECK_RC(proc_wait(&peer, 30000), 0, &peer);
        if (cases[k].in_doubt)
            ALICE_IN_DOUBT(a);
        else
            ALICE_UNTOUCHED(a);
    }
}

/* A fake payer misbehaves; the real payee must store nothing (one pair of
 * wallets: every run checks the payee is still untouched). */
static void test_fake_payers(void)
{
    static const struct {
        const char *kind;
        int rc;
    } cases[] = {{"garbage", 3}, {"oversized", 3}, {"wrongtype", 3}, {"abort", 4}, {"close", 7}, {"record", 4}};
    char a[512], b[512], req[600], rec[600];
    struct proc *p;
    scenario("fake-payers", a, b);
    /* A genuine record from alice, but for another of bob's requests. */
    snprintf(req, sizeof req, "%s/request.txt", scen);
    snprintf(rec, sizeof rec, "%s/record.txt", scen);
    request_file(b, req, "3500");
    if (proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", a, "pay", req, "--out", rec, NULL}) != 0)
        CHECK_FAIL("offpay pay: %s", p->err);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char target[32];
        struct proc r, peer;
        printf("-- fake-payer-%s\n", cases[k].kind);
        unsigned port = start_receive(&r, b, "3500", "20");
        snprintf(target, sizeof target, "127.0.0.1:%u", port);
        proc_start(&peer, (char *const[]){PEER_BIN, "fake-payer", target, (char *)cases[k].kind, rec, NULL});
        proc_close_stdin(&peer);
        CHECK_RC(proc_wait(&r, 30000), cases[k].rc, &r);
        CHECK_RC(proc_wait(&peer, 30000), 0, &peer);
        BOB_UNTOUCHED(b);
    }
}

static void test_usage(void)
{
    char a[512], b[512];
    struct proc *p, r;
    scenario("usage", a, b);
    /* (HOST:PORT parsing is tested in full by test_frame; these show the CLI uses it.) */
    static const char *const bad_listen[] = {"127.0.0.1", "127.0.0.1:99999", "host name:7"};
    for (size_t i = 0; i < sizeof bad_listen / sizeof bad_listen[0]; i++) {
        CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", b, "receive", "--listen", (char *)bad_listen[i],
                                              "10", NULL}),
                 2, p);
        CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", a, "pay", "--to", (char *)bad_listen[i], "10", NULL}),
                 2, p);
    }
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", b, "receive", "10", NULL}), 2, p);
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", b, "receive", "--listen", "127.0.0.1:20500", "0", NULL}), 2, p);
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", a, "pay", "--to", "127.0.0.1:20500", NULL}), 2, p);
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", a, "pay", "--to", "127.0.0.1:20500", "5", "--payee",
                                          "Not An Account", NULL}),
             2, p);
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", a, "pay", "--to", "127.0.0.1:20500", "5", "--timeout",
                                          "0", NULL}),
             2, p);
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "receive", "--help", NULL}), 0, p);
    CHECK(strstr(p->out, "receive --listen HOST:PORT AMOUNT") != NULL);
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "pay", "--help", NULL}), 0, p);
    CHECK(strstr(p->out, "--to HOST:PORT AMOUNT") != NULL);
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "scan", "--help", NULL}), 0, p);

    /* The port is taken: exit 7, and nothing changes. */
    unsigned port = start_receive(&r, b, "10", "20");
    char hp[32];
    snprintf(hp, sizeof hp, "127.0.0.1:%u", port);
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", b, "receive", "--listen", hp, "10", "--timeout", "1",
                                          NULL}),
             7, p);
    CHECK(strstr(p->err, "in use") != NULL);
    /* A payer that connects and hangs up at once: exit 7. */
    struct proc peer;
    proc_start(&peer, (char *const[]){PEER_BIN, "fake-payer", hp, "close", NULL});
    proc_close_stdin(&peer);
    CHECK_RC(proc_wait(&r, 30000), 7, &r);
    proc_wait(&peer, 30000);
    BOB_UNTOUCHED(b);
    /* Port 0: any free port, and the line says which; nobody comes within
     * --timeout: exit 7. */
    proc_start(&r, (char *const[]){OFFPAY_BIN, "--wallet", b, "receive", "--listen", "127.0.0.1:0", "10", "--timeout",
                                   "1", NULL});
    const char *line = proc_wait_line(&r, "Waiting for a payer on 127.0.0.1:", 20000);
    CHECK(line != NULL && atoi(line + strlen("Waiting for a payer on 127.0.0.1:")) > 0);
    CHECK_RC(proc_wait(&r, 30000), 7, &r);
}

/* ---- QR codes ---- */

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && st.st_size > 0;
}

static char *scan(const char *png, char *out, size_t cap)
{
    struct proc *p;
    int rc = proc_run(&p, (char *const[]){OFFPAY_BIN, "scan", (char *)png, NULL});
    if (rc != 0)
        CHECK_FAIL("offpay scan %s exited %d: %s", png, rc, p->err);
    copy_text(out, cap, p->out);
    return out;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL && fputs(text, f) >= 0);
    fclose(f);
}

/* The zbarimg program (an ordinary scanner) reads the same text. */
static void check_zbarimg(const char *png, const char *text)
{
    struct proc *p;
    proc_run(&p, (char *const[]){ZBARIMG_PATH, "--quiet", "--raw", (char *)png, NULL});
    if (strcmp(p->out, text) != 0)
        CHECK_FAIL("zbarimg read %s as \"%.60s\", want \"%.60s\"", png, p->out, text);
}

static void test_qr_handshake(void)
{
    char a[512], b[512], f[8][600];
    static char text[8192], file_text[8192];
    struct proc *p;
    scenario("qr-handshake", a, b);
    const char *names[] = {"req.txt", "req.png", "req-scanned.txt", "rec.png", "rec-scanned.txt", "cnf.png",
                           "cnf-scanned.txt", "rec.txt"};
    for (int i = 0; i < 8; i++)
        snprintf(f[i], sizeof f[i], "%s/%s", scen, names[i]);

    /* payee: request as text file and picture */
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", b, "request", "3500", "--out", f[0], "--qr-png", f[1],
                                          NULL}),
             0, p);
    CHECK(file_exists(f[1]));
    scan(f[1], text, sizeof text);
    FILE *fp = fopen(f[0], "r");
    CHECK(fp != NULL && fgets(file_text, sizeof file_text, fp) != NULL);
    fclose(fp);
    CHECK(strcmp(text, file_text) == 0);
    check_zbarimg(f[1], text);
    write_text(f[2], text);

    /* payer: pays what it scanned; the record only as a picture (stdout kept) */
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", a, "pay", f[2], "--qr-png", f[3], NULL}), 0, p);
    CHECK(strncmp(p->out, "OP1REC:", 7) == 0 && strchr(p->out, '\n') == p->out + strlen(p->out) - 1);
    copy_text(file_text, sizeof file_text, p->out);
    scan(f[3], text, sizeof text);
    CHECK(strcmp(text, file_text) == 0);
    check_zbarimg(f[3], text);
    write_text(f[4], text);
    ALICE_IN_DOUBT(a);

    /* payee: accepts what it scanned, answers with a picture */
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", b, "accept", f[4], "--qr-png", f[5], "--out", f[7],
                                          NULL}),
             0, p);
    BOB_PAID(b);
    scan(f[5], text, sizeof text);
    CHECK(strncmp(text, "OP1CNF:", 7) == 0);
    check_zbarimg(f[5], text);
    write_text(f[6], text);

    /* payer: confirms from the scanned confirmation */
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", a, "confirm", f[6], NULL}), 0, p);
    ALICE_PAID(a);

    /* scanning something else */
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "scan", "/nonexistent.png", NULL}), 2, p);
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "scan", f[0], NULL}), 3, p); /* a text file */
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "scan", NULL}), 2, p);

    /* --qr draws on the terminal: stderr when stdout carries the message */
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", b, "request", "10", "--qr", NULL}), 0, p);
    CHECK(strncmp(p->out, "OP1REQ:", 7) == 0 && strchr(p->out, '\n') == p->out + strlen(p->out) - 1);
    CHECK(strstr(p->err, "\xe2\x96\x88") != NULL && strstr(p->err, "\xe2\x96\x80") != NULL);
    /* ... and stdout when the message goes to a file */
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", b, "request", "10", "--qr", "--out", f[0], NULL}), 0, p);
    CHECK(strstr(p->out, "\xe2\x96\x88") != NULL);
    /* An unwritable picture path fails before anything changes. */
    CHECK_RC(proc_run(&p, (char *const[]){OFFPAY_BIN, "--wallet", a, "pay", f[2], "--qr-png", "/nonexistent/x.png", NULL}),
             2, p);
    ALICE_PAID(a);
}

/* The scenarios in groups, one ctest entry each, so they can run side by side. */
static const struct {
    const char *name;
    void (*run[4])(void);
} groups[] = {
    {"pay", {test_pay_over_tcp, test_refusals, test_usage}},
    {"cuts", {test_cuts, test_crashes, test_tampering}},
    {"fakes", {test_fake_payees, test_fake_payers}},
    {"qr", {test_qr_handshake}},
};

int main(int argc, char **argv)
{
    int found = argc < 2;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        found |= argc > 1 && strcmp(argv[1], groups[g].name) == 0;
    if (!found) {
        fprintf(stderr, "test_direct: unknown group %s\n", argv[1]);
        return 2;
    }
    CHECK(offpay_crypto_init() == 0);
    base = check_temp_dir("direct");
    offpay_keypair(issuer_pk, issuer_sk);

    /* No argument: every group. */
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        if (argc > 1 && strcmp(argv[1], groups[g].name) != 0)
            continue;
        for (size_t i = 0; i < 4 && groups[g].run[i] != NULL; i++)
            groups[g].run[i]();
    }
    offpay_wipe(issuer_sk, sizeof issuer_sk);
    return 0;
}

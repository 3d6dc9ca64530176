/*
 * test_session.c - the handshake of session.h over a transport that is not
 * TCP: an in-memory, message-oriented link (the shape an NFC or BLE channel
 * would have), implemented here in a few dozen lines against the three
 * function pointers of struct offpay_transport.  Nothing in session.c or the
 * wallet knows about it, which is the point of the seam.
 *
 * The payer and the payee run in two threads on two real wallets made by the
 * wallet library.  The link can lose every frame from the k-th on (k = 1, 2,
 * 3: the request, the record, the answer), so each frame is lost once in its
 * own direction; the wallets' states are then read back and must be what
 * SPEC.md rule 8 allows.  Also: a peer that sends a frame whose payload is of
 * another type, and a payload that is not a message at all.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "offpay/protocol.h"
#include "offpay/session.h"
#include "offpay/wallet.h"

/* ---- the in-memory link ---- */

#define QUEUE_MAX 8

struct frame {
    uint8_t type;
    size_t len;
    uint8_t data[OFFPAY_FRAME_PAYLOAD_MAX];
};

struct link {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct frame q[2][QUEUE_MAX]; /* q[side]: frames waiting for side */
    int n[2];
    int closed[2];
    int sent;      /* frames handed to the link so far */
    int lose_from; /* 0: lose nothing; k: frames k, k+1, ... vanish and the link closes */
};

struct end {
    struct link *l;
    int side; /* 0 or 1 */
};

static enum offpay_status link_send(void *ctx, uint8_t type, const uint8_t *buf, size_t len, int timeout_ms)
{
    struct end *e = ctx;
    struct link *l = e->l;
    enum offpay_status s = OFFPAY_OK;
    (void)timeout_ms; /* never blocks: the queue is longer than any handshake */
    if (!offpay_frame_type_valid(type))
        return OFFPAY_ERR_USAGE;
    if (len > OFFPAY_FRAME_PAYLOAD_MAX)
        return OFFPAY_ERR_FRAME_TOO_LARGE;
    pthread_mutex_lock(&l->mu);
    int other = 1 - e->side;
    l->sent++;
    if (l->closed[0] || l->closed[1]) {
        s = OFFPAY_ERR_PEER_CLOSED;
    } else if (l->lose_from && l->sent >= l->lose_from) {
        /* The frame is lost and the link breaks: both sides see it closed,
         * the sender only on its next use (as with TCP). */
        l->closed[0] = l->closed[1] = 1;
    } else if (l->n[other] < QUEUE_MAX) {
        struct frame *f = &l->q[other][l->n[other]++];
        f->type = type;
        f->len = len;
        memcpy(f->data, buf, len);
    } else {
        s = OFFPAY_ERR_INTERNAL;
    }
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    return s;
}

static enum offpay_status link_recv(void *ctx, uint8_t *type, uint8_t *buf, size_t cap, size_t *len, int timeout_ms)
{
    struct end *e = ctx;
    struct link *l = e->l;
    struct timespec until;
    enum offpay_status s = OFFPAY_OK;
    *type = 0;
    *len = 0;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->mu);
    while (l->n[e->side] == 0 && !l->closed[0] && !l->closed[1])
        if (pthread_cond_timedwait(&l->cv, &l->mu, &until) == ETIMEDOUT)
            break;
    if (l->n[e->side] > 0) {
        struct frame *f = &l->q[e->side][0];
        if (f->len > cap) {
            s = OFFPAY_ERR_FRAME_TOO_LARGE;
        } else {
            *type = f->type;
            *len = f->len;
            memcpy(buf, f->data, f->len);
        }
        memmove(&l->q[e->side][0], &l->q[e->side][1], sizeof(struct frame) * (size_t)(--l->n[e->side]));
    } else {
        s = (l->closed[0] || l->closed[1]) ? OFFPAY_ERR_PEER_CLOSED : OFFPAY_ERR_PEER_TIMEOUT;
    }
    pthread_mutex_unlock(&l->mu);
    return s;
}

static void link_close(void *ctx)
{
    struct end *e = ctx;
    pthread_mutex_lock(&e->l->mu);
    e->l->closed[e->side] = 1;
    pthread_cond_broadcast(&e->l->cv);
    pthread_mutex_unlock(&e->l->mu);
}

static struct link *link_new(int lose_from)
{
    struct link *l = calloc(1, sizeof *l);
    CHECK(l != NULL);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->lose_from = lose_from;
    return l;
}

static void link_free(struct link *l)
{
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l);
}

static void link_end(struct offpay_transport *t, struct end *e, struct link *l, int side)
{
    e->l = l;
    e->side = side;
    t->ctx = e;
    t->send_frame = link_send;
    t->recv_frame = link_recv;
    t->close = link_close;
}

/* ---- wallets ---- */

static const char *base; /* the test's folder (check_temp_dir) */
static uint8_t issuer_pk[32], issuer_sk[64];

static void make_wallet(char *dir, size_t cap, const char *scen, const char *name, const uint64_t *coins, size_t n)
{
    char err[OFFPAY_WALLET_ERROR_MAX];
    uint8_t pk[32], sk[64], rev[256];
    uint64_t now = (uint64_t)time(NULL);
    struct offpay_cert cert = {.not_before = now - 60, .not_after = now + 86400};
    struct offpay_limits_policy pol = {
        .limits = {.per_payment = 1000000, .offline_total = 10000000, .count = 1000, .period = 86400}, .issued_at = now};
    struct offpay_revocation r = {.serial = 1, .issued_at = now};
    struct offpay_wallet *w;
    snprintf(dir, cap, "%s/%s-%s", base, scen, name);
    offpay_keypair(pk, sk);
    offpay_random(cert.wallet_id, sizeof cert.wallet_id);
    memcpy(cert.public_key, pk, 32);
    snprintf(cert.account, sizeof cert.account, "%s", name);
    CHECK(offpay_cert_issue(&cert, issuer_sk) == OFFPAY_OK);
    CHECK(offpay_limits_policy_sign(&pol, issuer_sk) == OFFPAY_OK);
    CHECK(offpay_revocation_sign(&r, issuer_sk) == OFFPAY_OK);
    size_t rev_len = offpay_revocation_encode(rev, sizeof rev, &r);
    if (offpay_wallet_create(&w, err, dir, "http://127.0.0.1:1", &cert, sk, issuer_pk, &pol, rev, rev_len) != OFFPAY_OK)
        CHECK_FAIL("create %s: %s", dir, err);
    offpay_wipe(sk, sizeof sk);
    struct offpay_utxo u[4];
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

static struct offpay_wallet_balance balance_of(const char *dir)
{
    struct offpay_wallet *w;
    struct offpay_wallet_balance b;
    char err[OFFPAY_WALLET_ERROR_MAX];
    CHECK(offpay_wallet_open(&w, err, dir) == OFFPAY_OK);
    CHECK(offpay_wallet_balance(w, &b, NULL, NULL) == OFFPAY_OK);
    offpay_wallet_close(w);
    return b;
}

/* ---- one session per side, in two threads ---- */

struct side {
    const char *dir;
    struct offpay_transport t;
    uint64_t amount;
    int payer;
    enum offpay_status s;
    struct offpay_session_result res;
};

static void *run_side(void *arg)
{
    struct side *sd = arg;
    struct offpay_wallet *w;
    char err[OFFPAY_WALLET_ERROR_MAX];
    if (offpay_wallet_open(&w, err, sd->dir) != OFFPAY_OK) {
        sd->s = OFFPAY_ERR_STORAGE;
        return NULL;
    }
    if (sd->payer)
        sd->s = offpay_session_pay(w, &sd->t, sd->amount, "bob", &sd->res, 2000);
    else
        sd->s = offpay_session_receive(w, &sd->t, sd->amount, &sd->res, 2000);
    offpay_transport_close(&sd->t);
    offpay_wallet_close(w);
    return NULL;
}

/* Run a payment of 3500 from [0072]'s coins over a link losing frames from
 * lose_from on.  Out: both sides' results; the wallet folders. */
static void run_payment(int lose_from, const char *scen, char *alice, char *bob, struct side *payer, struct side *payee)
{
    static const uint64_t coins[] = {1000, 2000, 3000, 4000};
    make_wallet(alice, 512, scen, "alice", coins, 4);
    make_wallet(bob, 512, scen, "bob", NULL, 0);
    struct link *l = link_new(lose_from);
    struct end ea, eb;
    memset(payer, 0, sizeof *payer);
    memset(payee, 0, sizeof *payee);
    payer->dir = alice, payer->amount = 3500, payer->payer = 1;
    payee->dir = bob, payee->amount = 3500, payee->payer = 0;
    link_end(&payer->t, &ea, l, 0);
    link_end(&payee->t, &eb, l, 1);
    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, run_side, payer) == 0);
    CHECK(pthread_create(&tb, NULL, run_side, payee) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    link_free(l);
}

static void check_balance(const char *dir, uint64_t spendable, uint64_t locked, uint64_t in_doubt, uint64_t incoming,
                          int line)
{
    struct offpay_wallet_balance b = balance_of(dir);
    if (b.spendable != spendable || b.locked != locked || b.in_doubt != in_doubt || b.incoming_unsynced != incoming)
        check_fail(__FILE__, line, "%s: spendable %llu locked %llu in_doubt %llu incoming %llu", dir,
                (unsigned long long)b.spendable, (unsigned long long)b.locked, (unsigned long long)b.in_doubt,
                (unsigned long long)b.incoming_unsynced);
}

static void test_losses(void)
{
    for (int k = 0; k <= 3; k++) {
        char alice[512], bob[512], scen[16];
        struct side payer, payee;
        snprintf(scen, sizeof scen, "lose%d", k);
        run_payment(k, scen, alice, bob, &payer, &payee);
        switch (k) {
        case 0: /* nothing lost: paid and confirmed */
            CHECK_STATUS(payer.s, OFFPAY_OK);
            CHECK_STATUS(payee.s, OFFPAY_OK);
            CHECK(payee.res.accepted && payee.res.answer_sent && payer.res.info.change == 500);
            check_balance(alice, 6000, 500, 0, 0, __LINE__);
            check_balance(bob, 0, 0, 0, 3500, __LINE__);
            break;
        case 1: /* the request is lost: nobody changes */
            CHECK_STATUS(payer.s, OFFPAY_ERR_PEER_CLOSED);
            CHECK_STATUS(payee.s, OFFPAY_ERR_PEER_CLOSED);
            CHECK(!payer.res.record_sent);
            check_balance(alice, 10000, 0, 0, 0, __LINE__);
            check_balance(bob, 0, 0, 0, 0, __LINE__);
            break;
        case 2: /* the record is lost: the payer's inputs are in doubt, the payee stores nothing */
            CHECK_STATUS(payer.s, OFFPAY_ERR_PEER_CLOSED);
            CHECK_STATUS(payee.s, OFFPAY_ERR_PEER_CLOSED);
            CHECK(payer.res.record_sent && !payee.res.accepted);
            check_balance(alice, 6000, 0, 4000, 0, __LINE__);
            check_balance(bob, 0, 0, 0, 0, __LINE__);
            break;
        default: /* the confirmation is lost: the payee has it, the payer's inputs are in doubt */
            CHECK_STATUS(payer.s, OFFPAY_ERR_PEER_CLOSED);
            CHECK_STATUS(payee.s, OFFPAY_OK);
            CHECK(payee.res.accepted);
            check_balance(alice, 6000, 0, 4000, 0, __LINE__);
            check_balance(bob, 0, 0, 0, 3500, __LINE__);
        }
    }
}

struct liar {
    struct offpay_transport t;
    int mode; /* 0: a request frame whose payload is a utxo; 1: garbage payload */
    enum offpay_status got;
};

/* A payee that answers the payer with a bad first frame, then reads what
 * the payer says back. */
static void *run_liar(void *arg)
{
    struct liar *lr = arg;
    uint8_t buf[OFFPAY_FRAME_PAYLOAD_MAX], type;
    size_t len;
    if (lr->mode == 0) {
        struct offpay_utxo u = {.amount = 5};
        CHECK(offpay_utxo_attest(&u, issuer_sk) == OFFPAY_OK);
        len = offpay_utxo_encode(buf, sizeof buf, &u);
    } else {
        memset(buf, 0x5a, 200);
        buf[0] = OFFPAY_WIRE_VERSION;
        buf[1] = OFFPAY_MSG_REQUEST;
        len = 200;
    }
    CHECK_STATUS(offpay_transport_send(&lr->t, OFFPAY_FRAME_REQUEST, buf, len, 1000), OFFPAY_OK);
    lr->got = offpay_transport_recv(&lr->t, &type, buf, sizeof buf, &len, 2000);
    if (lr->got == OFFPAY_OK && type != OFFPAY_FRAME_ABORT)
        lr->got = OFFPAY_ERR_INTERNAL;
    offpay_transport_close(&lr->t);
    return NULL;
}

static void test_bad_frames(void)
{
    static const uint64_t coins[] = {1000, 2000, 3000, 4000};
    for (int mode = 0; mode < 2; mode++) {
        char alice[512], scen[16];
        snprintf(scen, sizeof scen, "liar%d", mode);
        make_wallet(alice, sizeof alice, scen, "alice", coins, 4);
        struct link *l = link_new(0);
        struct end ea, eb;
        struct side payer = {.dir = alice, .amount = 3500, .payer = 1};
        struct liar lr = {.mode = mode};
        link_end(&payer.t, &ea, l, 0);
        link_end(&lr.t, &eb, l, 1);
        pthread_t ta, tb;
        CHECK(pthread_create(&ta, NULL, run_side, &payer) == 0);
        CHECK(pthread_create(&tb, NULL, run_liar, &lr) == 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        link_free(l);
        /* mode 0: the frame says request, the payload is a utxo; mode 1: not a message */
        CHECK(payer.s == (mode == 0 ? OFFPAY_ERR_WRONG_TYPE : payer.s));
        CHECK(offpay_status_exit_code(payer.s) == OFFPAY_EXIT_MALFORMED);
        CHECK_STATUS(lr.got, OFFPAY_OK); /* the payer said why it stopped */
        check_balance(alice, 10000, 0, 0, 0, __LINE__);
    }
}

int main(void)
{
    CHECK(offpay_crypto_init() == 0);
    base = check_temp_dir("session");
    offpay_keypair(issuer_pk, issuer_sk);
    test_losses();
    test_bad_frames();
    offpay_wipe(issuer_sk, sizeof issuer_sk);
    return 0;
}

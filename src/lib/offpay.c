/*
 * offpay.c - liboffpay's public API (include/offpay/offpay.h) over the wallet
 * (wallet.h), the handshake over a transport (session.h) and TCP
 * (transport.h).
 *
 * It is a thin layer on purpose: every check and every change of a wallet
 * is the wallet library's, exactly as the offpay command makes it.  What
 * this file adds is what an app needs and the inner headers do not promise:
 * messages in and out as bytes or text, results in structs that only grow
 * (each begins with its size), strings the caller frees, and one failure
 * sentence per handle.  The inner headers change as the wallet grows; this
 * one keeps its ABI (liboffpay.so.OFFPAY_LIB_ABI).
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offpay/crypto.h"
#include "offpay/messages.h"
#include "offpay/offpay.h"
#include "offpay/session.h"
#include "offpay/text.h"
#include "offpay/transport.h"
#include "offpay/version.h"
#include "offpay/wallet.h"

static_assert(OFFPAY_NAME_BYTES == OFFPAY_ACCOUNT_MAX + 1, "offpay.h's account name size is messages.h's");
static_assert(OFFPAY_ID_HEX_BYTES == 2 * OFFPAY_RECORD_ID_BYTES + 1, "offpay.h's record id size is messages.h's");

struct offpay {
    struct offpay_wallet *w;
    int peer_timeout_ms;
    char err[OFFPAY_WALLET_ERROR_MAX];
};

struct offpay_listener {
    int fd;
    uint16_t port;
};

/* Record why a call failed on h and return s. */
__attribute__((format(printf, 3, 4))) static enum offpay_status fail(struct offpay *h, enum offpay_status s,
                                                                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->err, sizeof h->err, fmt, ap);
    va_end(ap);
    return s;
}

/* After a wallet call: its own sentence when it gave one, else the status's. */
static enum offpay_status wallet_result(struct offpay *h, enum offpay_status s)
{
    if (s != OFFPAY_OK) {
        const char *why = offpay_wallet_error(h->w);
        return fail(h, s, "%s", why[0] ? why : offpay_status_str(s));
    }
    return OFFPAY_OK;
}

/* Every entry point starts here: a handle, and no sentence left from before. */
static int usable(struct offpay *h)
{
    if (h == NULL || h->w == NULL)
        return 0;
    h->err[0] = '\0';
    return 1;
}

/* An out struct of this header: NULL, or one whose size is at least the
 * first version's (every one so far is its first version). */
static int size_ok(const void *out, size_t first)
{
    return out == NULL || *(const size_t *)out >= first;
}

/* Copy what this library knows of an out struct (ours, n bytes) into out,
 * whose caller may know more or fewer fields: it keeps its size; fields
 * this library does not know are zero. */
static void copy_out(void *out, const void *ours, size_t n)
{
    if (out == NULL)
        return;
    size_t size = *(const size_t *)out, k = size < n ? size : n;
    memcpy((char *)out + sizeof size, (const char *)ours + sizeof size, k - sizeof size);
    if (size > n)
        memset((char *)out + n, 0, size - n);
}

static void payment_out(struct offpay_payment *p, const struct offpay_wallet_payment *info, int sent)
{
    struct offpay_payment o = {.size = sizeof o};
    if (p == NULL)
        return;
    o.amount = info->amount;
    o.change = info->change;
    snprintf(o.counterparty, sizeof o.counterparty, "%s", info->counterparty);
    static const uint8_t none[OFFPAY_RECORD_ID_BYTES];
    if (memcmp(info->record_id, none, sizeof none) != 0)
        offpay_hex(o.record_id, info->record_id, sizeof info->record_id);
    o.refused = info->refused;
    o.sent = sent;
    copy_out(p, &o, sizeof o);
}

/* A message handed in: its text form when it starts as one ("OP1"), else
 * its bytes.  want: its type (0: any).  Out: bin[0..*len). */
static enum offpay_status message_in(struct offpay *h, uint8_t *bin, size_t cap, size_t *len, int want,
                                     const void *in, size_t in_len)
{
    *len = 0;
    if (in == NULL || in_len == 0)
        return fail(h, OFFPAY_ERR_TRUNCATED, "The message is empty.");
    if (in_len >= 3 && memcmp(in, "OP1", 3) == 0) {
        int type;
        if (in_len > OFFPAY_TEXT_MAX + 2) /* a line end may follow */
            return fail(h, OFFPAY_ERR_MALFORMED, "The message is too long to be an offpay message.");
        enum offpay_status s = offpay_text_decode(bin, cap, len, &type, want, in, in_len);
        if (s == OFFPAY_ERR_WRONG_TYPE && want)
            return fail(h, s, "This is not a %.6s message.", offpay_text_prefix(want));
        if (s == OFFPAY_ERR_BUFFER_TOO_SMALL)
            s = OFFPAY_ERR_MALFORMED;
        return s == OFFPAY_OK ? s : fail(h, s, "%s", offpay_status_str(s));
    }
    if (in_len > cap)
        return fail(h, OFFPAY_ERR_MALFORMED, "The message is too long to be an offpay message.");
    memcpy(bin, in, in_len);
    *len = in_len;
    return OFFPAY_OK;
}

/* A message handed out: *out, its text form, malloc'd. */
static enum offpay_status message_out(struct offpay *h, char **out, const uint8_t *bin, size_t len)
{
    size_t n = offpay_text_len(len) + 1;
    char *t = malloc(n);
    if (t == NULL)
        return fail(h, OFFPAY_ERR_NOMEM, "%s", offpay_status_str(OFFPAY_ERR_NOMEM));
    enum offpay_status s = offpay_text_encode(t, n, bin, len);
    if (s != OFFPAY_OK) {
        free(t);
        return fail(h, s, "%s", offpay_status_str(s));
    }
    *out = t;
    return OFFPAY_OK;
}

/* ---- lifetime ---- */

/* *errmsg = a malloc'd copy of why (best effort: NULL when out of memory). */
static void errmsg_out(char **errmsg, const char *why)
{
    if (errmsg != NULL)
        *errmsg = strdup(why);
}

enum offpay_status offpay_open(struct offpay **h, char **errmsg, const char *dir, const struct offpay_options *opts)
{
    char path[PATH_MAX], err[OFFPAY_WALLET_ERROR_MAX] = "";
    struct offpay *o;

    if (errmsg != NULL)
        *errmsg = NULL;
    if (h == NULL)
        return OFFPAY_ERR_USAGE;
    *h = NULL;
    if (opts != NULL && (opts->size < sizeof *opts || opts->peer_timeout_ms < 0)) {
        errmsg_out(errmsg, "The options are not valid (set size to sizeof(struct offpay_options)).");
        return OFFPAY_ERR_USAGE;
    }
    if (offpay_wallet_dir(path, sizeof path, dir) != OFFPAY_OK) {
        errmsg_out(errmsg, "No wallet folder: give one, or set OFFPAY_WALLET or HOME.");
        return OFFPAY_ERR_USAGE;
    }
    if ((o = calloc(1, sizeof *o)) == NULL) {
        errmsg_out(errmsg, offpay_status_str(OFFPAY_ERR_NOMEM));
        return OFFPAY_ERR_NOMEM;
    }
    enum offpay_status s = offpay_wallet_open(&o->w, err, path);
    if (s != OFFPAY_OK) {
        errmsg_out(errmsg, err[0] ? err : offpay_status_str(s));
        free(o);
        return s;
    }
    o->peer_timeout_ms = opts && opts->peer_timeout_ms ? opts->peer_timeout_ms : OFFPAY_TRANSPORT_FRAME_TIMEOUT_MS;
    *h = o;
    return OFFPAY_OK;
}

void offpay_close(struct offpay *h)
{
    if (h == NULL)
        return;
    offpay_wallet_close(h->w);
    free(h);
}

const char *offpay_errmsg(const struct offpay *h)
{
    return h == NULL ? "No wallet handle (NULL)." : h->err;
}

void offpay_free(void *p) { free(p); }

const char *offpay_account(const struct offpay *h)
{
    return h == NULL || h->w == NULL ? "" : offpay_wallet_cert(h->w)->account;
}

const char *offpay_version(void) { return OFFPAY_VERSION; }

/* ---- balances ---- */

enum offpay_status offpay_balance(struct offpay *h, struct offpay_balance *b)
{
    struct offpay_wallet_balance wb;
    struct offpay_balance o = {.size = sizeof o};

    if (!usable(h))
        return OFFPAY_ERR_USAGE;
    if (b == NULL || !size_ok(b, sizeof o))
        return fail(h, OFFPAY_ERR_USAGE, "Give a struct offpay_balance whose size is set.");
    enum offpay_status s = offpay_wallet_balance(h->w, &wb, NULL, NULL);
    if (s != OFFPAY_OK)
        return fail(h, s, "%s", offpay_status_str(s));
    o.spendable = wb.spendable;
    o.locked = wb.locked;
    o.in_doubt = wb.in_doubt;
    o.incoming = wb.incoming_unsynced;
    o.unsynced = wb.pending_outgoing + wb.pending_incoming;
    copy_out(b, &o, sizeof o);
    return OFFPAY_OK;
}

enum offpay_status offpay_online_balance(struct offpay *h, uint64_t *online)
{
    if (!usable(h))
        return OFFPAY_ERR_USAGE;
    if (online == NULL)
        return fail(h, OFFPAY_ERR_USAGE, "Give somewhere to put the online balance.");
    *online = 0;
    return wallet_result(h, offpay_wallet_online_balance(h->w, online));
}

enum offpay_status offpay_coins(struct offpay *h, int (*each)(void *ctx, const struct offpay_coin_info *c), void *ctx)
{
    struct offpay_wallet_balance wb;
    struct offpay_wallet_utxo *u = NULL;
    size_t n = 0;

    if (!usable(h))
        return OFFPAY_ERR_USAGE;
    if (each == NULL)
        return fail(h, OFFPAY_ERR_USAGE, "Give a function to call for each coin.");
    enum offpay_status s = wallet_result(h, offpay_wallet_balance(h->w, &wb, &u, &n));
    for (size_t i = 0; s == OFFPAY_OK && i < n; i++) {
        struct offpay_coin_info c = {.size = sizeof c, .amount = u[i].amount};
        offpay_hex(c.id, u[i].id, OFFPAY_UTXO_ID_BYTES);
        snprintf(c.state, sizeof c.state, "%s",
                 u[i].state == OFFPAY_UTXO_SPENDABLE ? "spendable" : u[i].state == OFFPAY_UTXO_LOCKED ? "locked"
                                                                                                      : "in_doubt");
        if (each(ctx, &c) != 0)
            break;
    }
    free(u);
    return s;
}

enum offpay_status offpay_history(struct offpay *h, int (*each)(void *ctx, const struct offpay_event *e), void *ctx)
{
    struct offpay_wallet_event *ev = NULL;
    size_t n = 0;

    if (!usable(h))
        return OFFPAY_ERR_USAGE;
    if (each == NULL)
        return fail(h, OFFPAY_ERR_USAGE, "Give a function to call for each event.");
    enum offpay_status s = wallet_result(h, offpay_wallet_history(h->w, &ev, &n));
    for (size_t i = 0; s == OFFPAY_OK && i < n; i++) {
        struct offpay_event e = {.size = sizeof e, .time = ev[i].time, .amount = ev[i].amount};
        snprintf(e.kind, sizeof e.kind, "%s", ev[i].kind);
        snprintf(e.counterparty, sizeof e.counterparty, "%s", ev[i].counterparty);
        if (ev[i].has_record)
            offpay_hex(e.record_id, ev[i].record_id, OFFPAY_RECORD_ID_BYTES);
        snprintf(e.detail, sizeof e.detail, "%s", ev[i].detail);
        if (each(ctx, &e) != 0)
            break;
    }
    free(ev);
    return s;
}

/* ---- between the online balance and offline coins ---- */

static void transfer_out(struct offpay_transfer *t, uint64_t moved, uint64_t online)
{
    struct offpay_transfer o = {.size = sizeof o, .moved = moved, .online = online};
    copy_out(t, &o, sizeof o);
}

enum offpay_status offpay_load(struct offpay *h, struct offpay_transfer *t, const uint64_t *amounts, size_t n)
{
    uint64_t online = 0, sum = 0;

    if (!usable(h))
        return OFFPAY_ERR_USAGE;
    if (!size_ok(t, sizeof *t))
        return fail(h, OFFPAY_ERR_USAGE, "Give a struct offpay_transfer whose size is set.");
    if (amounts == NULL || n == 0 || n > 64)
        return fail(h, OFFPAY_ERR_USAGE, "Give 1 to 64 amounts to load.");
    for (size_t i = 0; i < n; i++) {
        if (amounts[i] == 0)
            return fail(h, OFFPAY_ERR_ZERO_AMOUNT, "%s", offpay_status_str(OFFPAY_ERR_ZERO_AMOUNT));
        if (amounts[i] > UINT64_MAX - sum)
            return fail(h, OFFPAY_ERR_AMOUNT_OVERFLOW, "%s", offpay_status_str(OFFPAY_ERR_AMOUNT_OVERFLOW));
        sum += amounts[i];
    }
    enum offpay_status s = wallet_result(h, offpay_wallet_load(h->w, &online, amounts, n));
    if (s == OFFPAY_OK)
        transfer_out(t, sum, online);
    return s;
}

enum offpay_status offpay_unload(struct offpay *h, struct offpay_transfer *t, const char *coin)
{
    uint8_t id[OFFPAY_UTXO_ID_BYTES];
    uint64_t online = 0, moved = 0;
    enum offpay_status s;

    if (!usable(h))
        return OFFPAY_ERR_USAGE;
    if (!size_ok(t, sizeof *t))
        return fail(h, OFFPAY_ERR_USAGE, "Give a struct offpay_transfer whose size is set.");
    if (coin == NULL) {
        s = wallet_result(h, offpay_wallet_unload_all(h->w, &online, &moved));
    } else if ((s = wallet_result(h, offpay_wallet_coin_resolve(h->w, coin, id))) == OFFPAY_OK) {
        s = wallet_result(h, offpay_wallet_unload(h->w, &online, &moved, id));
    }
    if (s == OFFPAY_OK || moved > 0)
        transfer_out(t, moved, online);
    return s;
}

/* ---- one offline payment ---- */

enum offpay_status offpay_request(struct offpay *h, char **request, uint64_t amount)
{
    uint8_t req[OFFPAY_REQUEST_BYTES_MAX];
    size_t len = 0;

    if (!usable(h))
        return OFFPAY_ERR_USAGE;
    if (request == NULL)
        return fail(h, OFFPAY_ERR_USAGE, "Give somewhere to put the request.");
    *request = NULL;
    enum offpay_status s = wallet_result(h, offpay_wallet_request_create(h->w, req, sizeof req, &len, amount));
    return s == OFFPAY_OK ? message_out(h, request, req, len) : s;
}

enum offpay_status offpay_pay(struct offpay *h, char **record, struct offpay_payment *p, const void *request,
                              size_t len)
{
    uint8_t req[OFFPAY_REQUEST_BYTES_MAX], rec[OFFPAY_RECORD_BYTES_MAX];
    size_t req_len, rec_len = 0;
    struct offpay_wallet_payment info;

    if (!usable(h))
        return OFFPAY_ERR_USAGE;
    if (record == NULL || !size_ok(p, sizeof *p))
        return fail(h, OFFPAY_ERR_USAGE, "Give somewhere to put the record (and a struct offpay_payment whose size is set).");
    *record = NULL;
    enum offpay_status s = message_in(h, req, sizeof req, &req_len, OFFPAY_MSG_REQUEST, request, len);
    if (s != OFFPAY_OK)
        return s;
    s = wallet_result(h, offpay_wallet_pay(h->w, rec, sizeof rec, &rec_len, &info, req, req_len));
    if (s != OFFPAY_OK)
        return s;
    /* The record is kept and its coins are in doubt: whatever happens to
     * the text now, the payment settles at sync. */
    payment_out(p, &info, 0);
    return message_out(h, record, rec, rec_len);
}

enum offpay_status offpay_accept(struct offpay *h, char **confirmation, struct offpay_payment *p, const void *record,
                                 size_t len)
{
    uint8_t rec[OFFPAY_RECORD_BYTES_MAX], cnf[OFFPAY_CONFIRMATION_BYTES_MAX];
    size_t rec_len, cnf_len = 0;
    struct offpay_wallet_payment info;

    if (!usable(h))
        return OFFPAY_ERR_USAGE;
    if (confirmation == NULL || !size_ok(p, sizeof *p))
        return fail(h, OFFPAY_ERR_USAGE,
                    "Give somewhere to put the confirmation (and a struct offpay_payment whose size is set).");
    *confirmation = NULL;
    enum offpay_status s = message_in(h, rec, sizeof rec, &rec_len, OFFPAY_MSG_RECORD, record, len);
    if (s != OFFPAY_OK)
        return s;
    s = wallet_result(h, offpay_wallet_accept(h->w, cnf, sizeof cnf, &cnf_len, &info, rec, rec_len));
    if (s != OFFPAY_OK)
        return s;
    payment_out(p, &info, 0);
    return message_out(h, confirmation, cnf, cnf_len);
}

enum offpay_status offpay_confirm(struct offpay *h, struct offpay_payment *p, const void *answer, size_t len)
{
    uint8_t ans[OFFPAY_CONFIRMATION_BYTES_MAX > OFFPAY_REFUSAL_BYTES ? OFFPAY_CONFIRMATION_BYTES_MAX
                                                                       : OFFPAY_REFUSAL_BYTES];
    size_t ans_len;
    struct offpay_wallet_payment info;

    if (!usable(h))
        return OFFPAY_ERR_USAGE;
    if (!size_ok(p, sizeof *p))
        return fail(h, OFFPAY_ERR_USAGE, "Give a struct offpay_payment whose size is set.");
    enum offpay_status s = message_in(h, ans, sizeof ans, &ans_len, 0, answer, len);
    if (s != OFFPAY_OK)
        return s;
    s = wallet_result(h, offpay_wallet_confirm(h->w, &info, ans, ans_len));
    if (s == OFFPAY_OK)
        payment_out(p, &info, 0);
    return s;
}

/* ---- online ---- */

enum offpay_status offpay_sync(struct offpay *h, struct offpay_sync_result *r)
{
    struct offpay_sync_report rep;
    struct offpay_sync_result o = {.size = sizeof o};

    if (!usable(h))
        return OFFPAY_ERR_USAGE;
    if (!size_ok(r, sizeof o))
        return fail(h, OFFPAY_ERR_USAGE, "Give a struct offpay_sync_result whose size is set.");
    memset(&rep, 0, sizeof rep);
    enum offpay_status s = wallet_result(h, offpay_wallet_sync(h->w, &rep));
    if (s == OFFPAY_OK) {
        o.submitted = rep.submitted;
        o.settled = rep.settled;
        o.voided = rep.voided;
        o.rejected = rep.rejected;
        o.recovered = rep.recovered_sum;
        copy_out(r, &o, sizeof o);
    }
    offpay_sync_report_free(&rep);
    return s;
}

/* ---- over a direct connection ---- */

enum offpay_status offpay_listen(struct offpay *h, struct offpay_listener **l, const char *hostport)
{
    struct offpay_listener *o;

    if (!usable(h))
        return OFFPAY_ERR_USAGE;
    if (l == NULL || hostport == NULL)
        return fail(h, OFFPAY_ERR_USAGE, "Give somewhere to put the listener, and HOST:PORT.");
    *l = NULL;
    if ((o = calloc(1, sizeof *o)) == NULL)
        return fail(h, OFFPAY_ERR_NOMEM, "%s", offpay_status_str(OFFPAY_ERR_NOMEM));
    enum offpay_status s = offpay_tcp_listen(&o->fd, &o->port, hostport);
    if (s != OFFPAY_OK) {
        int e = errno;
        free(o);
        if (s == OFFPAY_ERR_USAGE)
            return fail(h, s, "\"%s\" is not HOST:PORT.", hostport);
        return fail(h, s, "Cannot listen on %s: %s.", hostport, strerror(e));
    }
    *l = o;
    return OFFPAY_OK;
}

uint16_t offpay_listener_port(const struct offpay_listener *l) { return l == NULL ? 0 : l->port; }

void offpay_listener_close(struct offpay_listener *l)
{
    if (l == NULL)
        return;
    close(l->fd);
    free(l);
}

/* Why a session stopped, in one sentence, as `offpay receive` (payee) and
 * `offpay pay --to` (payer) say it. */
static enum offpay_status session_failed(struct offpay *h, enum offpay_status s, const struct offpay_session_result *res,
                                         int payer)
{
    const char *why = offpay_wallet_error(h->w)[0] ? offpay_wallet_error(h->w) : offpay_status_str(s);
    const char *peer_why = res->peer_status != OFFPAY_OK ? offpay_status_str(res->peer_status) : res->peer_reason;
    unsigned long long amount = res->info.amount;

    if (!payer && res->refused)
        return fail(h, s, "Refused the payment from %s: %s", res->info.counterparty, why);
    if (!payer && s == OFFPAY_ERR_PEER_REFUSED)
        return fail(h, s, "The payer stopped: %s Nothing was received.", peer_why);
    if (!payer)
        return fail(h, s, "%s Nothing was received.", why);
    if (res->refused)
        return fail(h, s, "%s refused the payment of %llu; its coins stay in doubt until the next sync voids it.",
                    res->info.counterparty, amount);
    if (res->record_sent) /* SPEC rule 8: it may have arrived; sync settles it */
        return fail(h, s, "The payment of %llu to %s was sent but not confirmed (%s); its coins stay in doubt and "
                          "the next sync settles it.", amount, res->info.counterparty,
                    s == OFFPAY_ERR_PEER_REFUSED ? peer_why : why);
    if (s == OFFPAY_ERR_WRONG_AMOUNT)
        return fail(h, s, "The payee asks for %llu; nothing was paid.", (unsigned long long)res->requested);
    if (s == OFFPAY_ERR_WRONG_PAYEE)
        return fail(h, s, "The request comes from %s; nothing was paid.", res->requester);
    if (s == OFFPAY_ERR_PEER_REFUSED)
        return fail(h, s, "The payee stopped: %s Nothing was paid.", peer_why);
    return fail(h, s, "%s Nothing was paid.", why);
}

enum offpay_status offpay_receive(struct offpay *h, struct offpay_payment *p, struct offpay_listener *l,
                                  uint64_t amount, int wait_ms)
{
    struct offpay_transport t;
    struct offpay_session_result res;

    if (!usable(h))
        return OFFPAY_ERR_USAGE;
    if (l == NULL || !size_ok(p, sizeof *p))
        return fail(h, OFFPAY_ERR_USAGE, "Give a listener (and a struct offpay_payment whose size is set).");
    if (amount == 0)
        return fail(h, OFFPAY_ERR_ZERO_AMOUNT, "%s", offpay_status_str(OFFPAY_ERR_ZERO_AMOUNT));
    enum offpay_status s = offpay_tcp_accept(&t, l->fd, wait_ms);
    if (s != OFFPAY_OK)
        return fail(h, s, "No payer connected: %s", offpay_status_str(s));
    s = offpay_session_receive(h->w, &t, amount, &res, h->peer_timeout_ms);
    offpay_transport_close(&t);
    payment_out(p, &res.info, res.answer_sent);
    return s == OFFPAY_OK ? s : session_failed(h, s, &res, 0);
}

enum offpay_status offpay_pay_to(struct offpay *h, struct offpay_payment *p, const char *hostport, uint64_t amount,
                                 const char *payee)
{
    struct offpay_transport t;
    struct offpay_session_result res;

    if (!usable(h))
        return OFFPAY_ERR_USAGE;
    if (hostport == NULL || !size_ok(p, sizeof *p))
        return fail(h, OFFPAY_ERR_USAGE, "Give HOST:PORT (and a struct offpay_payment whose size is set).");
    if (amount == 0)
        return fail(h, OFFPAY_ERR_ZERO_AMOUNT, "%s", offpay_status_str(OFFPAY_ERR_ZERO_AMOUNT));
    if (payee != NULL && !offpay_account_name_valid(payee))
        return fail(h, OFFPAY_ERR_BAD_ACCOUNT_NAME, "\"%s\" is not an account name.", payee);
    int connect_ms = h->peer_timeout_ms < OFFPAY_TRANSPORT_CONNECT_TIMEOUT_MS ? h->peer_timeout_ms
                                                                              : OFFPAY_TRANSPORT_CONNECT_TIMEOUT_MS;
    enum offpay_status s = offpay_tcp_connect(&t, hostport, connect_ms);
    if (s != OFFPAY_OK)
        return fail(h, s, "Cannot reach the payee at %s: %s Nothing was paid.", hostport, offpay_status_str(s));
    s = offpay_session_pay(h->w, &t, amount, payee, &res, h->peer_timeout_ms);
    offpay_transport_close(&t);
    payment_out(p, &res.info, res.record_sent);
    if (p != NULL)
        p->refused = res.refused;
    return s == OFFPAY_OK ? s : session_failed(h, s, &res, 1);
}

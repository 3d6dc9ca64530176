/*
 * cmd_receive.c - offpay receive: the payee takes one payment over a direct
 * connection.  It listens on HOST:PORT, and when a payer connects runs the
 * handshake of session.h (request -> record -> confirmation) over TCP, with
 * exactly the checks of `offpay request` and `offpay accept`, then exits.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "offpay/amount.h"
#include "offpay/session.h"
#include "offpay/transport.h"

#define RECEIVE_WAIT_MS 300000 /* how long receive waits for a payer by default */
#define RECEIVE_SLICE_MS 200   /* with --count / --keep, how soon a signal ends the wait */
#define RECEIVE_COUNT_MAX 100000

/* --timeout SECONDS: 1..3600, strict decimal.  Returns 0 or -1. */
int cli_timeout_ms(const char *s, int *ms)
{
    uint64_t v;
    if (s == NULL)
        return 0;
    if (offpay_amount_parse(&v, s) != 0 || v == 0 || v > 3600)
        return -1;
    *ms = (int)v * 1000;
    return 0;
}

/* --count / --keep: SIGINT or SIGTERM ends the wait for the next payer (the
 * payer being served, if any, is served to the end first). */
static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Wait up to wait_ms (forever when < 0) for a payer, in slices, so that a
 * signal ends the wait within one.  Returns: as offpay_tcp_accept;
 * OFFPAY_ERR_PEER_TIMEOUT also when a signal came. */
static enum offpay_status wait_payer(struct offpay_transport *t, int lfd, int wait_ms)
{
    enum offpay_status s = OFFPAY_ERR_PEER_TIMEOUT;
    for (int waited = 0; !stop_signal && (wait_ms < 0 || waited < wait_ms);) {
        int slice = wait_ms >= 0 && wait_ms - waited < RECEIVE_SLICE_MS ? wait_ms - waited : RECEIVE_SLICE_MS;
        if ((s = offpay_tcp_accept(t, lfd, slice)) != OFFPAY_ERR_PEER_TIMEOUT)
            return s;
        waited += slice;
    }
    return OFFPAY_ERR_PEER_TIMEOUT;
}

/* Why one payer's payment did not happen, as one sentence. */
static void failure(struct offpay_wallet *w, enum offpay_status s, const struct offpay_session_result *res,
                                  char *why, size_t cap)
{
    if (res->refused)
        snprintf(why, cap, "Refused the payment from %s: %s", res->info.counterparty,
                 offpay_wallet_error(w)[0] ? offpay_wallet_error(w) : offpay_status_str(s));
    else if (s == OFFPAY_ERR_PEER_REFUSED)
        snprintf(why, cap, "The payer stopped: %s",
                 res->peer_status != OFFPAY_OK ? offpay_status_str(res->peer_status) : res->peer_reason);
    else if (offpay_status_exit_code(s) == OFFPAY_EXIT_UNREACHABLE)
        snprintf(why, cap, "%s Nothing was received; nothing changed.", offpay_status_str(s));
    else
        snprintf(why, cap, "%s", offpay_wallet_error(w)[0] ? offpay_wallet_error(w) : offpay_status_str(s));
}

/* One payment received: say so (a line of JSON, or a sentence). */
static void said_received(const struct offpay_session_result *res, int json, size_t nth, size_t of, int many)
{
    if (json) {
        char hex[2 * OFFPAY_RECORD_ID_BYTES + 1];
        cli_hex(hex, res->info.record_id, OFFPAY_RECORD_ID_BYTES);
        cli_json_print(cli_json_money(json_pack("{s:s, s:s, s:I, s:s, s:b}", "event", "received", "record", hex,
                                                "amount", (json_int_t)res->info.amount, "payer",
                                                res->info.counterparty, "confirmation_sent", res->answer_sent)));
    } else {
        printf("Accepted %s from %s offline; it becomes spendable when you sync.", cli_money(res->info.amount),
               res->info.counterparty);
        if (many && of)
            printf(" (%zu of %zu)", nth, of);
        else if (many)
            printf(" (%zu so far)", nth);
        printf("\n");
        if (!res->answer_sent)
            printf("The confirmation did not reach the payer; the payment still settles when either of you syncs.\n");
    }
    fflush(stdout);
}

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"listen", 1, NULL}, {"timeout", 1, NULL}, {"count", 1, NULL}, {"keep", 0, NULL},
                            {"json", 0, NULL}};
    struct cli_opts o = {opt, 5, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    struct offpay_transport t;
    struct offpay_session_result res;
    char host[OFFPAY_HOST_MAX + 1], why[OFFPAY_WALLET_ERROR_MAX + 128];
    uint16_t port;
    uint64_t amount, count = 1, v;
    int timeout_ms = OFFPAY_TRANSPORT_FRAME_TIMEOUT_MS, rc, lfd;

    if (cli_opts_parse(&cli_cmd_receive, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_receive);
    const char *listen_at = cli_opt(&o, "listen");
    int json = cli_opt(&o, "json") != NULL, keep = cli_opt(&o, "keep") != NULL;
    if (listen_at == NULL || o.n_pos != 1)
        return cli_usage(&cli_cmd_receive, "Give --listen HOST:PORT and one amount.");
    if (offpay_hostport_parse(host, &port, listen_at, 1) != OFFPAY_OK)
        return cli_usage(&cli_cmd_receive, "\"%s\" is not HOST:PORT.", listen_at);
    if (cli_amount_arg(c, o.pos[0], &amount) != 0)
        return cli_amount_usage(&cli_cmd_receive, o.pos[0]);
    if (cli_timeout_ms(cli_opt(&o, "timeout"), &timeout_ms) != 0)
        return cli_usage(&cli_cmd_receive, "--timeout takes 1 to 3600 seconds.");
    if (keep && cli_opt(&o, "count"))
        return cli_usage(&cli_cmd_receive, "Give --count N or --keep, not both.");
    if (cli_opt(&o, "count") &&
        (offpay_amount_parse(&v, cli_opt(&o, "count")) != 0 || v == 0 || v > RECEIVE_COUNT_MAX))
        return cli_usage(&cli_cmd_receive, "--count takes 1 to %d payments.", RECEIVE_COUNT_MAX);
    if (cli_opt(&o, "count"))
        count = v;
    /* --count or --keep: several payers in a row; one who fails does not end it. */
    int many = keep || cli_opt(&o, "count") != NULL;
    /* A person has to walk over and type the payer's command: give them
     * longer than one network step, unless told otherwise.  --keep waits
     * for each next payer until a signal. */
    int wait_ms = cli_opt(&o, "timeout") ? timeout_ms : RECEIVE_WAIT_MS;
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    enum offpay_status s = offpay_tcp_listen(&lfd, &port, listen_at);
    if (s != OFFPAY_OK) {
        rc = cli_fail(s, "Cannot listen on %s: %s.", listen_at, strerror(errno));
        offpay_wallet_close(w);
        return rc;
    }
    if (many)
        catch_signals();
    /* This line tells the user (and scripts) where to point the payer. */
    const char *lb = strchr(host, ':') ? "[" : "", *rb = strchr(host, ':') ? "]" : "";
    if (json) {
        char addr[OFFPAY_HOST_MAX + 16];
        snprintf(addr, sizeof addr, "%s%s%s:%u", lb, host, rb, (unsigned)port);
        cli_json_print(json_pack("{s:s, s:s, s:i, s:I, s:o}", "event", "listening", "address", addr, "port", (int)port,
                                 "amount", (json_int_t)amount, "wait", keep ? json_null() : json_integer(wait_ms / 1000)));
    } else if (keep) {
        printf("Waiting for payers on %s%s%s:%u to pay %s each, until interrupted...\n", lb, host, rb, (unsigned)port,
               cli_money(amount));
    } else {
        printf("Waiting for a payer on %s%s%s:%u to pay %s (for %d s)...\n", lb, host, rb, (unsigned)port,
               cli_money(amount), wait_ms / 1000);
    }
    fflush(stdout);

    size_t received = 0, failed = 0;
    uint64_t total = 0;
    rc = 0;
    while (keep || received < count) {
        s = wait_payer(&t, lfd, keep ? -1 : wait_ms);
        if (s != OFFPAY_OK)
            break; /* no payer in time, or a signal: said below */
        if (!many) {
            close(lfd); /* one payment: nobody else gets in */
            lfd = -1;
        }
        s = offpay_session_receive(w, &t, amount, &res, timeout_ms);
        offpay_transport_close(&t);
        if (s == OFFPAY_OK) {
            received++;
            total += res.info.amount; /* each below 2^63, at most RECEIVE_COUNT_MAX of them (or keep: shown only) */
            said_received(&res, json, received, keep ? 0 : (size_t)count, many);
            continue;
        }
        failure(w, s, &res, why, sizeof why);
        if (!many) {
            rc = cli_fail(s, "%s", why);
            break;
        }
        /* One payer's failure is logged, and the next payer is waited for. */
        failed++;
        fprintf(stderr, "%s: payer %zu: %s\n", cli_program(), received + failed, why);
        if (json)
            cli_json_print(json_pack("{s:s, s:s, s:s, s:i}", "event", "failed", "code", offpay_status_code(s),
                                     "message", why, "exit", offpay_status_exit_code(s)));
        s = OFFPAY_OK;
    }
    if (lfd >= 0)
        close(lfd);
    if (many) {
        if (json)
            cli_json_print(json_pack("{s:s, s:I, s:I, s:I, s:s*}", "event", "done", "received", (json_int_t)received,
                                     "failed", (json_int_t)failed, "total", (json_int_t)total, "signal",
                                     stop_signal == SIGINT ? "SIGINT" : stop_signal == SIGTERM ? "SIGTERM" : NULL));
        else
            printf("Received %zu payment%s, %s in all; %zu payer%s failed.\n", received, received == 1 ? "" : "s",
                   cli_money(total), failed, failed == 1 ? "" : "s");
        fflush(stdout);
        if (!keep && received < count && !stop_signal)
            rc = cli_fail(s, "Received %zu of %llu payments: no payer came within %d s.", received,
                          (unsigned long long)count, wait_ms / 1000);
    } else if (s != OFFPAY_OK && rc == 0) {
        rc = cli_fail(s, "No payer connected: %s", offpay_status_str(s));
    }
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_receive = {
    "receive", "receive --listen HOST:PORT AMOUNT [--timeout SECONDS] [--count N | --keep] [--json]",
    "Payee: take payments of AMOUNT over a direct connection (one, N, or until stopped).",
    "Listens on HOST:PORT (port 0: any free port) and prints where, waits for one\n"
    "payer (offpay pay --to HOST:PORT AMOUNT), sends it a payment request, and\n"
    "verifies its payment record exactly as offpay accept does: when it is good the\n"
    "record is stored as pending incoming and a signed confirmation goes back;\n"
    "otherwise a signed refusal (exit 4).  Then it exits.  The money becomes a\n"
    "spendable coin after sync.  It waits for the payer for 300 seconds and for\n"
    "each step of the exchange for 30, or both for --timeout SECONDS.  If the\n"
    "connection breaks before the record is verified, nothing is stored (exit 7).\n"
    "--count N serves payers one after another until N payments were received;\n"
    "--keep serves them until SIGINT or SIGTERM.  Then, a payer who fails (breaks\n"
    "off, is refused) is logged on stderr and the next one is waited for; each\n"
    "wait is --timeout (or 300 s) with --count, unbounded with --keep.  A signal\n"
    "lets the payer being served finish, then ends with exit 0; --count exits 7\n"
    "when no payer came in time before the Nth payment.\n"
    "--json prints one JSON object per line: {\"event\":\"listening\",...}, then one\n"
    "\"received\" (or, with --count/--keep, \"failed\") per payer, and with --count\n"
    "or --keep a last \"done\" with the counts.\n",
    run,
};

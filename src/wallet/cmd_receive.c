/*
 * cmd_receive.c - offpay receive: the payee takes one payment over a direct
 * connection.  It listens on HOST:PORT, and when a payer connects runs the
 * handshake of session.h (request -> record -> confirmation) over TCP, with
 * exactly the checks of `offpay request` and `offpay accept`, then exits.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "offpay/amount.h"
#include "offpay/session.h"
#include "offpay/transport.h"

#define RECEIVE_WAIT_MS 300000 /* how long receive waits for a payer by default */

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

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"listen", 1, NULL}, {"timeout", 1, NULL}};
    struct cli_opts o = {opt, 2, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    struct offpay_transport t;
    struct offpay_session_result res;
    char host[OFFPAY_HOST_MAX + 1];
    uint16_t port;
    uint64_t amount;
    int timeout_ms = OFFPAY_TRANSPORT_FRAME_TIMEOUT_MS, rc, lfd;

    if (cli_opts_parse(&cli_cmd_receive, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_receive);
    const char *listen_at = cli_opt(&o, "listen");
    if (listen_at == NULL || o.n_pos != 1)
        return cli_usage(&cli_cmd_receive, "Give --listen HOST:PORT and one amount.");
    if (offpay_hostport_parse(host, &port, listen_at, 1) != OFFPAY_OK)
        return cli_usage(&cli_cmd_receive, "\"%s\" is not HOST:PORT.", listen_at);
    if (cli_amount_arg(c, o.pos[0], &amount) != 0)
        return cli_amount_usage(&cli_cmd_receive, o.pos[0]);
    if (cli_timeout_ms(cli_opt(&o, "timeout"), &timeout_ms) != 0)
        return cli_usage(&cli_cmd_receive, "--timeout takes 1 to 3600 seconds.");
    /* A person has to walk over and type the payer's command: give them
     * longer than one network step, unless told otherwise. */
    int wait_ms = cli_opt(&o, "timeout") ? timeout_ms : RECEIVE_WAIT_MS;
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    enum offpay_status s = offpay_tcp_listen(&lfd, &port, listen_at);
    if (s != OFFPAY_OK) {
        rc = cli_fail(s, "Cannot listen on %s: %s.", listen_at, strerror(errno));
        offpay_wallet_close(w);
        return rc;
    }
    /* This line tells the user (and scripts) where to point the payer. */
    printf("Waiting for a payer on %s%s%s:%u to pay %s (for %d s)...\n", strchr(host, ':') ? "[" : "", host,
           strchr(host, ':') ? "]" : "", (unsigned)port, cli_money(amount), wait_ms / 1000);
    fflush(stdout);
    s = offpay_tcp_accept(&t, lfd, wait_ms);
    close(lfd); /* one payment: nobody else gets in */
    if (s != OFFPAY_OK) {
        rc = cli_fail(s, "No payer connected: %s", offpay_status_str(s));
        offpay_wallet_close(w);
        return rc;
    }
    s = offpay_session_receive(w, &t, amount, &res, timeout_ms);
    offpay_transport_close(&t);
    if (s == OFFPAY_OK) {
        printf("Accepted %s from %s offline; it becomes spendable when you sync.\n",
               cli_money(res.info.amount), res.info.counterparty);
        if (!res.answer_sent)
            printf("The confirmation did not reach the payer; the payment still settles when either of you syncs.\n");
        rc = 0;
    } else if (res.refused) {
        rc = cli_fail(s, "Refused the payment from %s: %s", res.info.counterparty,
                      offpay_wallet_error(w)[0] ? offpay_wallet_error(w) : offpay_status_str(s));
    } else if (s == OFFPAY_ERR_PEER_REFUSED) {
        rc = cli_fail(s, "The payer stopped: %s",
                      res.peer_status != OFFPAY_OK ? offpay_status_str(res.peer_status) : res.peer_reason);
    } else if (offpay_status_exit_code(s) == OFFPAY_EXIT_UNREACHABLE) {
        rc = cli_fail(s, "%s Nothing was received; nothing changed.", offpay_status_str(s));
    } else {
        rc = cli_wallet_fail(w, s);
    }
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_receive = {
    "receive", "receive --listen HOST:PORT AMOUNT [--timeout SECONDS]",
    "Payee: take one payment of AMOUNT over a direct connection.",
    "Listens on HOST:PORT (port 0: any free port) and prints where, waits for one\n"
    "payer (offpay pay --to HOST:PORT AMOUNT), sends it a payment request, and\n"
    "verifies its payment record exactly as offpay accept does: when it is good the\n"
    "record is stored as pending incoming and a signed confirmation goes back;\n"
    "otherwise a signed refusal (exit 4).  Then it exits.  The money becomes a\n"
    "spendable coin after sync.  It waits for the payer for 300 seconds and for\n"
    "each step of the exchange for 30, or both for --timeout SECONDS.  If the\n"
    "connection breaks before the record is verified, nothing is stored (exit 7).\n",
    run,
};

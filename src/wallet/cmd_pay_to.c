/*
 * cmd_pay_to.c - offpay pay --to HOST:PORT AMOUNT: the payer side of a direct
 * connection.  `offpay pay` hands over to cli_pay_to when --to is given; the
 * handshake is session.h's, so the checks are those of `offpay pay` and
 * `offpay confirm`.
 */
#include <string.h>

#include "cli.h"
#include "offpay/amount.h"
#include "offpay/session.h"
#include "offpay/transport.h"

/* The session's question before it pays: cli_pay_ask's answer. */
struct asking {
    struct offpay_wallet *w;
    int rc; /* cli_pay_ask's exit code (said), 0 while it said yes */
};

static enum offpay_status ask(void *arg, const uint8_t *req, size_t len)
{
    struct asking *a = arg;
    a->rc = cli_pay_ask(a->w, req, len);
    return a->rc == 0 ? OFFPAY_OK : OFFPAY_ERR_DECLINED;
}

int cli_pay_to(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"to", 1, NULL}, {"timeout", 1, NULL}, {"payee", 1, NULL}, {"json", 0, NULL}, {"yes", 0, NULL}};
    struct cli_opts o = {opt, 5, {0}, 0, 0};
    struct asking asking = {NULL, 0};
    struct offpay_wallet *w = NULL;
    struct offpay_transport t;
    struct offpay_session_result res;
    char host[OFFPAY_HOST_MAX + 1];
    uint16_t port;
    uint64_t amount;
    int timeout_ms = OFFPAY_TRANSPORT_FRAME_TIMEOUT_MS, rc;

    if (cli_opts_parse(&cli_cmd_pay, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_pay);
    const char *to = cli_opt(&o, "to");
    if (to == NULL || o.n_pos != 1)
        return cli_usage(&cli_cmd_pay, "Give --to HOST:PORT and one amount.");
    if (offpay_hostport_parse(host, &port, to, 0) != OFFPAY_OK)
        return cli_usage(&cli_cmd_pay, "\"%s\" is not HOST:PORT.", to);
    if (cli_amount_arg(c, o.pos[0], &amount) != 0)
        return cli_amount_usage(&cli_cmd_pay, o.pos[0]);
    if (cli_timeout_ms(cli_opt(&o, "timeout"), &timeout_ms) != 0)
        return cli_usage(&cli_cmd_pay, "--timeout takes 1 to 3600 seconds.");
    const char *payee = cli_opt(&o, "payee");
    if (payee != NULL && !offpay_account_name_valid(payee))
        return cli_usage(&cli_cmd_pay, "\"%s\" is not an account name.", payee);
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    int connect_ms = timeout_ms < OFFPAY_TRANSPORT_CONNECT_TIMEOUT_MS ? timeout_ms : OFFPAY_TRANSPORT_CONNECT_TIMEOUT_MS;
    enum offpay_status s = offpay_tcp_connect(&t, to, connect_ms);
    if (s != OFFPAY_OK) {
        rc = cli_fail(s, "Cannot reach the payee at %s: %s Nothing changed.", to, offpay_status_str(s));
        offpay_wallet_close(w);
        return rc;
    }
    asking.w = w;
    s = offpay_session_pay_asking(w, &t, amount, payee, cli_pay_asks(cli_opt(&o, "yes") != NULL) ? ask : NULL, &asking,
                                  &res, timeout_ms);
    offpay_transport_close(&t);
    if (asking.rc != 0) {
        rc = asking.rc; /* declined: said, and the payee told */
    } else if (s == OFFPAY_OK && cli_opt(&o, "json")) {
        rc = cli_json_print(cli_payment_json(&res.info));
    } else if (s == OFFPAY_OK) {
        printf("Paid %s to %s offline; it settles when either of you syncs.\n", cli_money(res.info.amount),
               res.info.counterparty);
        if (res.info.change)
            printf("Spent %s in %u coin%s; the change of %s is locked until you sync.\n",
                   cli_money(res.info.inputs_total), res.info.n_inputs, res.info.n_inputs == 1 ? "" : "s",
                   cli_money(res.info.change));
        else
            printf("Spent %s in %u coin%s; there is no change.\n", cli_money(res.info.inputs_total),
                   res.info.n_inputs, res.info.n_inputs == 1 ? "" : "s");
    } else if (res.refused) {
        rc = cli_fail(s, "%s refused the payment of %s; its coins stay in doubt until your next sync voids it.",
                      res.info.counterparty, cli_money(res.info.amount));
    } else if (s == OFFPAY_ERR_WRONG_PAYEE && !res.record_sent) {
        rc = cli_fail(s, "The request at %s comes from %s, not %s; nothing was paid.", to, res.requester, payee);
    } else if (s == OFFPAY_ERR_WRONG_AMOUNT) {
        rc = cli_fail(s, "The payee asks for %s, not %s; nothing was paid.", cli_money(res.requested),
                      cli_money(amount));
    } else if (res.record_sent) {
        /* SPEC rule 8: the record may have arrived; its coins stay in doubt and
         * the next sync settles it, so the payment completes either way. */
        const char *why = s == OFFPAY_ERR_PEER_REFUSED
                              ? (res.peer_status != OFFPAY_OK ? offpay_status_str(res.peer_status) : res.peer_reason)
                              : (offpay_wallet_error(w)[0] ? offpay_wallet_error(w) : offpay_status_str(s));
        rc = cli_fail(s, "The payment of %s to %s was sent but not confirmed (%s); its coins stay in doubt "
                         "and your next sync settles it.", cli_money(res.info.amount), res.info.counterparty,
                      why);
    } else if (s == OFFPAY_ERR_PEER_REFUSED) {
        rc = cli_fail(s, "The payee stopped: %s Nothing was paid.",
                      res.peer_status != OFFPAY_OK ? offpay_status_str(res.peer_status) : res.peer_reason);
    } else if (offpay_status_exit_code(s) == OFFPAY_EXIT_UNREACHABLE) {
        rc = cli_fail(s, "%s Nothing was paid.", offpay_status_str(s));
    } else {
        rc = cli_wallet_fail(w, s);
    }
    offpay_wallet_close(w);
    return rc;
}

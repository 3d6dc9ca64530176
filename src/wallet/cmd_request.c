/*
 * cmd_request.c - offpay request: the payee asks for an amount (a signed payment request).
 */
#include "cli.h"
#include "offpay/amount.h"
#include "offpay/messages.h"

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {CLI_OUTPUT_OPTS};
    struct cli_opts o = {opt, CLI_OUTPUT_N, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    struct cli_output out;
    uint8_t msg[OFFPAY_REQUEST_BYTES_MAX];
    size_t len = 0;
    uint64_t amount;
    int rc;

    if (cli_opts_parse(&cli_cmd_request, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_request);
    if (o.n_pos != 1)
        return cli_usage(&cli_cmd_request, "Give one amount.");
    if (cli_amount_arg(c, o.pos[0], &amount) != 0)
        return cli_amount_usage(&cli_cmd_request, o.pos[0]);
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    if ((rc = cli_output_open_opts(&out, &o)) != 0) {
        offpay_wallet_close(w);
        return rc;
    }
    enum offpay_status s = offpay_wallet_request_create(w, msg, sizeof msg, &len, amount);
    if (s != OFFPAY_OK) {
        cli_output_abort(&out);
        rc = cli_wallet_fail(w, s);
    } else if ((rc = cli_output_write(&out, msg, len)) == 0 && out.json) {
        char wid[2 * OFFPAY_WALLET_ID_BYTES + 1];
        cli_hex(wid, offpay_wallet_cert(w)->wallet_id, OFFPAY_WALLET_ID_BYTES);
        rc = cli_output_json_print(&out, cli_json_money(json_pack("{s:s, s:I, s:s, s:s}", "kind", "request", "amount",
                                                                  (json_int_t)amount, "payee",
                                                                  offpay_wallet_cert(w)->account, "payee_wallet", wid)));
    } else if (rc == 0) {
        fprintf(cli_notes(&out), "Payment request for %s from %s%s%s; give it to the payer.\n",
                cli_money(amount), offpay_wallet_cert(w)->account, out.path ? " written to " : "",
                out.path ? out.path : "");
    }
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_request = {
    "request", "request AMOUNT [--out FILE] [--qr] [--qr-png FILE] [--json]",
    "Payee: ask for AMOUNT with a signed payment request.",
    "The request carries this wallet's certificate and a fresh nonce; the wallet\n"
    "remembers the nonce so that exactly one payment can be accepted for it.\n"
    "The request is one line of text (OP1REQ:...), written to FILE or stdout.\n"
    "--qr draws its QR code on the terminal; --qr-png FILE writes it as a picture.\n"
    "--json prints one JSON object that carries the request's text as \"message\"\n"
    "(also written to FILE with --out).\n",
    run,
};

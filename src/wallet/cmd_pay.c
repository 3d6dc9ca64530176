/*
 * cmd_pay.c - offpay pay: the payer answers a payment request with a signed
 * payment record, offline (claim 1).
 */
#include <string.h>

#include "cli.h"
#include "offpay/messages.h"

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {CLI_OUTPUT_OPTS};
    struct cli_opts o = {opt, CLI_OUTPUT_N, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    struct offpay_wallet_payment info;
    struct cli_output out;
    uint8_t req[OFFPAY_REQUEST_BYTES_MAX], rec[OFFPAY_RECORD_BYTES_MAX];
    size_t req_len = 0, rec_len = 0;
    char why[512];
    int type, rc;

    /* pay --to HOST:PORT AMOUNT: over a direct connection (cmd_pay_to.c). */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--to") == 0 || strncmp(argv[i], "--to=", 5) == 0)
            return cli_pay_to(c, argc, argv);
    if (cli_opts_parse(&cli_cmd_pay, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_pay);
    if (o.n_pos != 1)
        return cli_usage(&cli_cmd_pay, "Give one payment request file.");
    enum offpay_status s = cli_read_message(o.pos[0], OFFPAY_MSG_REQUEST, req, sizeof req, &req_len, &type, why, sizeof why);
    if (s != OFFPAY_OK)
        return cli_fail(s, "%s", why);
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    if ((rc = cli_output_open_opts(&out, &o)) != 0) {
        offpay_wallet_close(w);
        return rc;
    }
    s = offpay_wallet_pay(w, rec, sizeof rec, &rec_len, &info, req, req_len);
    if (s != OFFPAY_OK) {
        cli_output_abort(&out);
        rc = cli_wallet_fail(w, s);
    } else if ((rc = cli_output_write(&out, rec, rec_len)) == 0 && out.json) {
        rc = cli_output_json_print(&out, cli_payment_json(&info));
    } else if (rc == 0) {
        FILE *f = cli_notes(&out);
        fprintf(f, "Paid %s to %s offline; it settles when either of you syncs.\n", cli_money(info.amount),
                info.counterparty);
        fprintf(f, "Spent %s in %u coin%s, now in doubt until %s confirms; ", cli_money(info.inputs_total),
                info.n_inputs, info.n_inputs == 1 ? "" : "s", info.counterparty);
        if (info.change)
            fprintf(f, "the change of %s stays locked until synced.\n", cli_money(info.change));
        else
            fprintf(f, "there is no change.\n");
        fprintf(f, "Give the payment record%s%s to %s, then run: offpay confirm ANSWER_FILE\n", out.path ? " " : "",
                out.path ? out.path : "", info.counterparty);
    }
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_pay = {
    "pay", "pay (REQUEST_FILE [--yes] [--out FILE] [--qr] [--qr-png FILE] | --to HOST:PORT AMOUNT [--payee ACCOUNT] [--timeout SECONDS]) [--json]",
    "Payer: pay a payment request offline (a file, or --to a payee over a direct connection).",
    "Verifies the payee's certificate (issuer, validity, revocation list) and\n"
    "signature, checks the offline limits (exit 6), then picks coins: the smallest\n"
    "single spendable coin that covers the amount, else the fewest.  Locked change\n"
    "and coins in doubt are never used (exit 5 says when only they would cover it).\n"
    "The chosen coins are marked in doubt and the record is stored as pending before\n"
    "it is written (one transaction).  The record (OP1REC:...) goes to FILE or stdout.\n"
    "If the payee's confirmation never comes back, the next sync settles the\n"
    "payment anyway.\n"
    "--qr draws the record's QR code on the terminal; --qr-png FILE writes it as a\n"
    "picture (offpay scan reads it back).\n"
    "--to HOST:PORT AMOUNT pays a payee waiting with offpay receive over a direct\n"
    "connection: takes its request, refuses one for another amount or, with\n"
    "--payee ACCOUNT, from another account than ACCOUNT (exit 4; nothing changes),\n"
    "pays it with the same checks, sends the record and applies the payee's answer,\n"
    "each step waiting at most --timeout seconds (default 30).  If the connection\n"
    "breaks after the record left, its coins stay in doubt and the next sync\n"
    "settles the payment (exit 7).\n",
    run,
};

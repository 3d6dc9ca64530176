/*
 * cmd_accept.c - offpay accept: the payee verifies a payment record and
 * answers with a signed confirmation (claims 5-6), or refuses it.
 */
#include <string.h>

#include "cli.h"
#include "offpay/messages.h"

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {CLI_OUTPUT_OPTS, {"refuse", 0, NULL}};
    struct cli_opts o = {opt, CLI_OUTPUT_N + 1, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    struct offpay_wallet_payment info;
    struct cli_output out;
    uint8_t rec[OFFPAY_RECORD_BYTES_MAX], ans[OFFPAY_CONFIRMATION_BYTES_MAX];
    size_t rec_len = 0, ans_len = 0;
    char why[512];
    int type, rc, refuse;

    if (cli_opts_parse(&cli_cmd_accept, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_accept);
    if (o.n_pos != 1)
        return cli_usage(&cli_cmd_accept, "Give one payment record file.");
    refuse = cli_opt(&o, "refuse") != NULL;
    enum offpay_status s = cli_read_message(o.pos[0], OFFPAY_MSG_RECORD, rec, sizeof rec, &rec_len, &type, why, sizeof why);
    if (s != OFFPAY_OK)
        return cli_fail(s, "%s", why);
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    if ((rc = cli_output_open_opts(&out, &o)) != 0) {
        offpay_wallet_close(w);
        return rc;
    }
    if (refuse)
        s = offpay_wallet_refuse(w, ans, sizeof ans, &ans_len, &info, rec, rec_len, OFFPAY_REFUSE_DECLINED);
    else
        s = offpay_wallet_accept(w, ans, sizeof ans, &ans_len, &info, rec, rec_len);
    if (s != OFFPAY_OK) {
        cli_output_abort(&out);
        rc = cli_wallet_fail(w, s);
    } else if ((rc = cli_output_write(&out, ans, ans_len)) == 0 && out.json) {
        char hex[2 * OFFPAY_RECORD_ID_BYTES + 1];
        cli_hex(hex, info.record_id, OFFPAY_RECORD_ID_BYTES);
        rc = cli_output_json_print(&out, json_pack("{s:s, s:s, s:s, s:I, s:s}", "kind",
                                                   refuse ? "refusal" : "confirmation", "record", hex, "answer",
                                                   refuse ? "refused" : "confirmed", "amount", (json_int_t)info.amount,
                                                   "payer", info.counterparty));
    } else if (rc == 0) {
        FILE *f = cli_notes(&out);
        if (refuse)
            fprintf(f, "Refused the payment of %s from %s; give the refusal%s%s back so its coins can be freed at sync.\n",
                    cli_money(info.amount), info.counterparty, out.path ? " " : "", out.path ? out.path : "");
        else
            fprintf(f, "Accepted %s from %s offline; it becomes spendable when you sync. "
                       "Give the confirmation%s%s back to %s.\n",
                    cli_money(info.amount), info.counterparty, out.path ? " " : "", out.path ? out.path : "",
                    info.counterparty);
    }
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_accept = {
    "accept", "accept RECORD_FILE [--out FILE] [--refuse] [--qr] [--qr-png FILE] [--json]",
    "Payee: verify a payment record and answer with a signed confirmation.",
    "Checks that the record answers one of this wallet's own unanswered requests,\n"
    "the payer's certificate (issuer, validity, revocation list) and signature, that\n"
    "every coin is attested and the payer's, that the amounts balance and that it\n"
    "pays exactly the requested amount; then stores it as pending incoming and\n"
    "writes the confirmation (OP1CNF:...).  The money becomes a spendable coin only\n"
    "after sync.  A record for another wallet, a replayed record or one from a\n"
    "revoked payer is refused (exit 4) and nothing changes.\n"
    "--refuse declines the record instead and writes a signed refusal (OP1REF:...),\n"
    "which lets the payer void it at the server.\n"
    "--qr draws the answer's QR code on the terminal; --qr-png FILE writes it as a\n"
    "picture.  --json prints one JSON object that carries the answer's text as\n"
    "\"message\".\n",
    run,
};

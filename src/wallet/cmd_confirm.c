/*
 * cmd_confirm.c - offpay confirm: the payer applies the payee's answer
 * (confirmation or refusal) to its pending payment.
 */
#include "cli.h"
#include "offpay/messages.h"

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"json", 0, NULL}};
    struct cli_opts o = {opt, 1, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    struct offpay_wallet_payment info;
    /* Large enough for any message, so one that is not an answer is named, not "too large". */
    uint8_t ans[OFFPAY_MESSAGE_BYTES_MAX];
    size_t len = 0;
    char why[512];
    int type, rc;

    if (cli_opts_parse(&cli_cmd_confirm, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_confirm);
    if (o.n_pos != 1)
        return cli_usage(&cli_cmd_confirm, "Give one confirmation file.");
    enum offpay_status s = cli_read_message(o.pos[0], 0, ans, sizeof ans, &len, &type, why, sizeof why);
    if (s == OFFPAY_OK && type != OFFPAY_MSG_CONFIRMATION && type != OFFPAY_MSG_REFUSAL)
        return cli_fail(OFFPAY_ERR_WRONG_TYPE, "%s is %s, not a confirmation or refusal.", o.pos[0],
                        cli_message_kind(type));
    if (s != OFFPAY_OK)
        return cli_fail(s, "%s", why);
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    s = offpay_wallet_confirm(w, &info, ans, len);
    if (s != OFFPAY_OK) {
        rc = cli_wallet_fail(w, s);
    } else if (cli_opt(&o, "json")) {
        char hex[2 * OFFPAY_RECORD_ID_BYTES + 1];
        cli_hex(hex, info.record_id, OFFPAY_RECORD_ID_BYTES);
        rc = cli_json_print(json_pack("{s:s, s:s, s:I, s:I}", "record", hex, "answer",
                                      info.refused ? "refused" : "confirmed", "amount", (json_int_t)info.amount,
                                      "change", (json_int_t)(info.refused ? 0 : info.change)));
    } else if (info.refused) {
        printf("The payee refused the payment of %s; its coins stay in doubt until your next sync voids it.\n",
               cli_money(info.amount));
    } else if (info.change) {
        printf("%s confirmed the payment of %s; your change of %s is locked until you sync.\n", info.counterparty,
               cli_money(info.amount), cli_money(info.change));
    } else {
        printf("%s confirmed the payment of %s.\n", info.counterparty, cli_money(info.amount));
    }
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_confirm = {
    "confirm", "confirm CONFIRMATION_FILE [--json]",
    "Payer: apply the payee's confirmation (or refusal) to the pending payment.",
    "A confirmation is verified (right payment, the payee's certificate and\n"
    "signature) and replaces the spent coins by the change, which stays locked\n"
    "until the payment is synced.  A refusal keeps the coins in doubt until the\n"
    "next sync voids the payment at the server.  A replayed or foreign answer is\n"
    "refused (exit 4) and nothing changes.\n",
    run,
};

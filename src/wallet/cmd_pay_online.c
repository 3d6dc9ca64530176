/*
 * cmd_pay_online.c - offpay pay-online: pay from the online balance, after
 * syncing every pending offline payment first (claim 3).
 */
#include "cli.h"
#include "sync_report.h"
#include "offpay/amount.h"

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"json", 0, NULL}};
    struct cli_opts o = {opt, 1, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    struct offpay_sync_report rep;
    uint64_t amount, online = 0;
    int rc, already = 0;

    if (cli_opts_parse(&cli_cmd_pay_online, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_pay_online);
    if (o.n_pos != 2)
        return cli_usage(&cli_cmd_pay_online, "Give an account and an amount.");
    if (cli_amount_arg(c, o.pos[1], &amount) != 0)
        return cli_amount_usage(&cli_cmd_pay_online, o.pos[1]);
    if (!offpay_account_name_valid(o.pos[0]))
        return cli_usage(&cli_cmd_pay_online, "%s", offpay_status_str(OFFPAY_ERR_BAD_ACCOUNT_NAME));
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    enum offpay_status s = offpay_wallet_pay_online(w, &rep, &online, &already, o.pos[0], amount);
    if (s != OFFPAY_OK) {
        if ((rep.submitted > 0 || rep.n_recovered > 0) && !cli_opt(&o, "json"))
            cli_sync_print(stderr, &rep);
        rc = cli_wallet_fail(w, s);
    } else if (cli_opt(&o, "json")) {
        rc = cli_json_print(json_pack("{s:s, s:I, s:o, s:b, s:o}", "to", o.pos[0], "amount", (json_int_t)amount,
                                      "online", already ? json_null() : json_integer((json_int_t)online),
                                      "already_paid", already, "sync", cli_sync_json(&rep)));
        cli_sync_warn(&rep);
    } else if (already) {
        cli_sync_print(stdout, &rep);
        printf("That payment of %s to %s was already made (its answer had been lost); it was not made again.\n",
               cli_money(amount), o.pos[0]);
    } else {
        cli_sync_print(stdout, &rep);
        printf("Paid %s to %s online; your online balance is now %s.\n", cli_money(amount), o.pos[0],
               cli_money(online));
    }
    offpay_sync_report_free(&rep);
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_pay_online = {
    "pay-online", "pay-online ACCOUNT AMOUNT [--json]",
    "Pay an account from the online balance, after syncing first.",
    "Syncs every pending offline payment first and pays only when that sync\n"
    "completed; if it fails (exit 7 or 8) nothing is paid.  Exit 8 when the\n"
    "account is unknown or the online balance does not cover the amount.  If the\n"
    "answer is lost (exit 7) the payment is in doubt; running the same command\n"
    "again is safe: its sync learns whether the payment was made and, if it was,\n"
    "it is not made again.\n",
    run,
};

/*
 * cmd_lost.c - offpay lost WALLET_ID: report another wallet of this
 * wallet's account lost or stolen (docs/wallet.md, "Lost device").
 */
#include <string.h>

#include "cli.h"

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"reason", 1, NULL}, {"json", 0, NULL}};
    struct cli_opts o = {opt, 2, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    struct offpay_lost_report rep;
    int rc;

    if (cli_opts_parse(&cli_cmd_lost, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_lost);
    if (o.n_pos != 1)
        return cli_usage(&cli_cmd_lost, "Give the id of the wallet that is lost (at least its first 8 hex digits).");
    const char *reason = cli_opt(&o, "reason") ? cli_opt(&o, "reason") : "lost";
    if (strcmp(reason, "lost") != 0 && strcmp(reason, "stolen") != 0)
        return cli_usage(&cli_cmd_lost, "--reason is lost or stolen.");
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    enum offpay_status s = offpay_wallet_report_lost(w, &rep, o.pos[0], reason);
    if (s != OFFPAY_OK) {
        rc = cli_wallet_fail(w, s);
    } else if (cli_opt(&o, "json")) {
        rc = cli_json_print(json_pack("{s:s, s:s, s:I, s:I, s:b}", "wallet", rep.wallet, "reason", rep.reason,
                                      "reported_at", (json_int_t)rep.reported_at, "writeoff_at",
                                      (json_int_t)rep.writeoff_at, "new", rep.fresh));
    } else {
        printf("Wallet %s is reported %s%s and revoked: payees refuse it once they sync.  What it paid before "
               "settles until %llu; then its unspent coins go back to the account's online balance.\n",
               rep.wallet, rep.reason, rep.fresh ? "" : " (it had been already; that report stands)",
               (unsigned long long)rep.writeoff_at);
        rc = 0;
    }
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_lost = {
    "lost", "lost WALLET_ID [--reason lost|stolen] [--json]",
    "Report another wallet of this account lost or stolen: it is revoked at once.",
    "WALLET_ID is any unique beginning (at least 8 hex digits) of the id of a wallet\n"
    "of the same account (offpay init printed each wallet's id; the operator's offpayd\n"
    "wallet list shows them all).  The server revokes it: payees refuse it offline\n"
    "once they sync.  Payments it made still settle when their payees bring them within\n"
    "the server's grace period (14 days by default); after that its unspent coins go back\n"
    "to the account's online balance, once.  A wallet found again stays revoked: enrol it\n"
    "anew.  Exit 2 when the id begins several of the account's wallets (they are named),\n"
    "8 when the server refuses (no such wallet in the account, this wallet itself), 7 when\n"
    "unreachable; if the answer is lost the report is in doubt until the next sync, and\n"
    "running the command again is safe.\n",
    run,
};

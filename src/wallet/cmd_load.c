/*
 * cmd_load.c - offpay load: move money from the online balance into offline coins.
 */
#include "cli.h"
#include "offpay/amount.h"

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"json", 0, NULL}};
    struct cli_opts o = {opt, 1, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    uint64_t amounts[64], online = 0, sum = 0;
    int rc;

    if (cli_opts_parse(&cli_cmd_load, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_load);
    if (o.n_pos == 0 || o.n_pos > 64)
        return cli_usage(&cli_cmd_load, "Give 1 to 64 amounts.");
    for (size_t i = 0; i < o.n_pos; i++) {
        if (cli_amount_arg(c, o.pos[i], &amounts[i]) != 0)
            return cli_amount_usage(&cli_cmd_load, o.pos[i]);
        if (amounts[i] > (uint64_t)INT64_MAX - sum)
            return cli_usage(&cli_cmd_load, "The amounts add up to too much.");
        sum += amounts[i];
    }
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    enum offpay_status s = offpay_wallet_load(w, &online, amounts, o.n_pos);
    if (s != OFFPAY_OK) {
        rc = cli_wallet_fail(w, s);
    } else if (cli_opt(&o, "json")) {
        rc = cli_json_print(json_pack("{s:I, s:I, s:I}", "loaded", (json_int_t)sum, "coins", (json_int_t)o.n_pos,
                                      "online", (json_int_t)online));
    } else {
        printf("Loaded %s offline as %zu coin%s; the online balance is now %s.\n", cli_money(sum), o.n_pos,
               o.n_pos == 1 ? "" : "s", cli_money(online));
    }
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_load = {
    "load", "load AMOUNT... [--json]",
    "Move money from the online balance into offline coins of these amounts.",
    "Each AMOUNT becomes one coin (UTXO) attested by the server and owned by this\n"
    "wallet's key.  Choose a mix of sizes: an offline payment spends whole coins and\n"
    "gets change back.  Exit 8 when the online balance does not cover the sum.\n",
    run,
};

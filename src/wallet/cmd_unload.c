/*
 * cmd_unload.c - offpay unload: give offline coins back to the online balance.
 */
#include <string.h>

#include "cli.h"

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"all", 0, NULL}, {"json", 0, NULL}};
    struct cli_opts o = {opt, 2, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    uint8_t id[OFFPAY_UTXO_ID_BYTES];
    uint64_t online = 0, moved = 0, total = 0;
    int rc, all;

    if (cli_opts_parse(&cli_cmd_unload, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_unload);
    all = cli_opt(&o, "all") != NULL;
    if ((all && o.n_pos != 0) || (!all && o.n_pos != 1))
        return cli_usage(&cli_cmd_unload, "Give one coin id or --all.");
    if (!all && offpay_unhex(id, sizeof id, o.pos[0]) != 0)
        return cli_fail(OFFPAY_ERR_MALFORMED, "\"%s\" is not a coin id (64 hex digits).", o.pos[0]);
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    enum offpay_status s;
    if (all) {
        /* The server takes at most 64 coins a call: repeat until none is left. */
        int rounds = 0;
        uint64_t now_online = 0;
        do {
            /* The round that finds nothing left says nothing of the balance. */
            s = offpay_wallet_unload(w, &now_online, &moved, NULL);
            if (s == OFFPAY_OK) {
                online = now_online;
                total = moved > UINT64_MAX - total ? UINT64_MAX : total + moved; /* shown only; the store holds < 2^63 each */
            }
        } while (s == OFFPAY_OK && ++rounds < 100000);
        if (s == OFFPAY_ERR_INSUFFICIENT_FUNDS && rounds > 0)
            s = OFFPAY_OK;
    } else {
        s = offpay_wallet_unload(w, &online, &total, id);
    }
    if (s != OFFPAY_OK)
        rc = cli_wallet_fail(w, s);
    else if (cli_opt(&o, "json"))
        rc = cli_json_print(json_pack("{s:I, s:I}", "unloaded", (json_int_t)total, "online", (json_int_t)online));
    else
        printf("Unloaded %llu to the online balance; it is now %llu.\n", (unsigned long long)total,
               (unsigned long long)online);
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_unload = {
    "unload", "unload (UTXO_ID | --all) [--json]",
    "Give spendable offline coins back to the online balance.",
    "Only spendable coins can be unloaded: locked change and coins in doubt must be\n"
    "synced first (exit 5).  The coins are held back (in doubt) while the server is\n"
    "asked, so they can never be spent twice.  If the server cannot be reached or\n"
    "refuses, they are spendable again; if its answer is lost (exit 7), they stay\n"
    "in doubt until `offpay sync` learns from the server whether it took them.\n",
    run,
};

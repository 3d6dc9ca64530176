/*
 * cmd_unload.c - offpay unload: give offline coins back to the online balance.
 */
#include <string.h>

#include "cli.h"

/* 8 to 64 hex digits: a whole coin id or the beginning of one. */
static int is_id_prefix(const char *p)
{
    size_t n = strlen(p);
    return n >= OFFPAY_WALLET_ID_PREFIX_MIN && n <= 2 * OFFPAY_UTXO_ID_BYTES && strspn(p, "0123456789abcdefABCDEF") == n;
}

/* The one coin whose id begins with p: 0, or the exit code (none, or several: a usage error naming them). */
static int resolve_id(struct offpay_wallet *w, const char *p, uint8_t id[OFFPAY_UTXO_ID_BYTES])
{
    enum offpay_status s = offpay_wallet_coin_resolve(w, p, id);
    if (s == OFFPAY_ERR_USAGE)
        return cli_usage(&cli_cmd_unload, "%s", offpay_wallet_error(w));
    return s == OFFPAY_OK ? 0 : cli_wallet_fail(w, s);
}

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"all", 0, NULL}, {"json", 0, NULL}};
    struct cli_opts o = {opt, 2, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    uint8_t id[OFFPAY_UTXO_ID_BYTES];
    uint64_t online = 0, total = 0;
    int rc, all;

    if (cli_opts_parse(&cli_cmd_unload, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_unload);
    all = cli_opt(&o, "all") != NULL;
    if ((all && o.n_pos != 0) || (!all && o.n_pos != 1))
        return cli_usage(&cli_cmd_unload, "Give one coin id or --all.");
    if (!all && !is_id_prefix(o.pos[0]))
        return cli_fail(OFFPAY_ERR_MALFORMED, "\"%s\" is not a coin id (%d to 64 hex digits of one).", o.pos[0],
                        OFFPAY_WALLET_ID_PREFIX_MIN);
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    if (!all && (rc = resolve_id(w, o.pos[0], id)) != 0) {
        offpay_wallet_close(w);
        return rc;
    }
    enum offpay_status s;
    if (all)
        s = offpay_wallet_unload_all(w, &online, &total); /* as many calls of 64 coins as it takes */
    else
        s = offpay_wallet_unload(w, &online, &total, id);
    if (s != OFFPAY_OK)
        rc = cli_wallet_fail(w, s);
    else if (cli_opt(&o, "json"))
        rc = cli_json_print(json_pack("{s:I, s:I}", "unloaded", (json_int_t)total, "online", (json_int_t)online));
    else
        printf("Unloaded %s to the online balance; it is now %s.\n", cli_money(total),
               cli_money(online));
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
    "in doubt until `offpay sync` learns from the server whether it took them.\n"
    "UTXO_ID may be any unique beginning of a coin id of at least 8 hex digits;\n"
    "one that begins several ids is a usage error (exit 2) naming them.\n",
    run,
};

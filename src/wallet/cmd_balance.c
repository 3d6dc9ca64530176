/*
 * cmd_balance.c - offpay balance: what the wallet holds, online and offline.
 * Works offline: the online balance is then unknown (null in JSON).
 */
#include <stdlib.h>

#include "cli.h"

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"json", 0, NULL}, {"offline", 0, NULL}};
    struct cli_opts o = {opt, 2, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    struct offpay_wallet_balance b;
    struct offpay_wallet_utxo *u = NULL;
    size_t n = 0;
    uint64_t online = 0;
    int rc;

    if (cli_opts_parse(&cli_cmd_balance, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_balance);
    if (o.n_pos != 0)
        return cli_usage(&cli_cmd_balance, "balance takes no arguments.");
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    enum offpay_status s = offpay_wallet_balance(w, &b, &u, &n);
    if (s != OFFPAY_OK) {
        rc = cli_wallet_fail(w, s);
        offpay_wallet_close(w);
        return rc;
    }
    enum offpay_status os = cli_opt(&o, "offline") ? OFFPAY_ERR_UNREACHABLE : offpay_wallet_online_balance(w, &online);
    int have_online = os == OFFPAY_OK;

    if (cli_opt(&o, "json")) {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++) {
            char hex[2 * OFFPAY_UTXO_ID_BYTES + 1];
            cli_hex(hex, u[i].id, OFFPAY_UTXO_ID_BYTES);
            json_array_append_new(list, json_pack("{s:s, s:I, s:s}", "id", hex, "amount", (json_int_t)u[i].amount,
                                                  "state", offpay_utxo_state_name(u[i].state)));
        }
        struct offpay_wallet_cert_info ci;
        offpay_wallet_cert_info(w, &ci);
        json_t *obj = json_pack("{s:o, s:{s:I, s:I, s:I}, s:I, s:{s:I, s:I}, s:o, s:I, s:b, s:b}", "online",
                                have_online ? json_integer((json_int_t)online) : json_null(), "offline", "spendable",
                                (json_int_t)b.spendable, "locked", (json_int_t)b.locked, "in_doubt",
                                (json_int_t)b.in_doubt, "incoming_unsynced", (json_int_t)b.incoming_unsynced, "pending",
                                "outgoing", (json_int_t)b.pending_outgoing, "incoming", (json_int_t)b.pending_incoming,
                                "utxos", list, "certificate_expires", (json_int_t)ci.not_after,
                                "certificate_renew_due", ci.renew_due, "certificate_expired", ci.expired);
        cli_json_money(obj);
        rc = cli_json_print(obj);
    } else {
        printf("wallet of %s\n", offpay_wallet_cert(w)->account);
        if (have_online)
            printf("online:         %s\n", cli_money(online));
        else if (cli_opt(&o, "offline"))
            printf("online:         not asked (--offline)\n");
        else if (os == OFFPAY_ERR_UNREACHABLE)
            printf("online:         unknown (the server cannot be reached)\n");
        else
            printf("online:         unknown (%s)\n", offpay_wallet_error(w));
        printf("offline:        %s spendable, %s locked change, %s in doubt\n", cli_money(b.spendable),
               cli_money(b.locked), cli_money(b.in_doubt));
        printf("incoming:       %s accepted offline, spendable after sync\n", cli_money(b.incoming_unsynced));
        printf("pending:        %llu outgoing, %llu incoming payment%s not yet synced\n",
               (unsigned long long)b.pending_outgoing, (unsigned long long)b.pending_incoming,
               b.pending_outgoing + b.pending_incoming == 1 ? "" : "s");
        cli_cert_print(stdout, w);
        printf("coins:          %zu\n", n);
        for (size_t i = 0; i < n; i++) {
            char hex[2 * OFFPAY_UTXO_ID_BYTES + 1];
            cli_hex(hex, u[i].id, OFFPAY_UTXO_ID_BYTES);
            printf("  %16s  %-9s  %s\n", cli_money(u[i].amount), offpay_utxo_state_name(u[i].state), hex);
        }
        rc = 0;
    }
    free(u);
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_balance = {
    "balance", "balance [--json] [--offline]",
    "Show the online balance and the offline coins by state.",
    "Offline coins are spendable, locked (change of a payment not yet synced: never\n"
    "spent offline until synced) or in doubt (spent in a payment whose confirmation\n"
    "has not come back).  Incoming payments accepted offline become coins at sync.\n"
    "Works with no network: the online balance is then shown as unknown (JSON null).\n"
    "--offline skips asking the server.\n",
    run,
};

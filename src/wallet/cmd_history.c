/*
 * cmd_history.c - offpay history: what happened in this wallet, oldest first.
 */
#include <stdlib.h>
#include <time.h>

#include "cli.h"

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"json", 0, NULL}};
    struct cli_opts o = {opt, 1, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    struct offpay_wallet_event *ev = NULL;
    size_t n = 0;
    int rc;

    if (cli_opts_parse(&cli_cmd_history, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_history);
    if (o.n_pos != 0)
        return cli_usage(&cli_cmd_history, "history takes no arguments.");
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    enum offpay_status s = offpay_wallet_history(w, &ev, &n);
    if (s != OFFPAY_OK) {
        rc = cli_wallet_fail(w, s);
    } else if (cli_opt(&o, "json")) {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++) {
            char hex[2 * OFFPAY_RECORD_ID_BYTES + 1];
            cli_hex(hex, ev[i].record_id, OFFPAY_RECORD_ID_BYTES);
            json_array_append_new(list, json_pack("{s:I, s:s, s:I, s:s, s:o, s:s}", "time", (json_int_t)ev[i].time,
                                                  "kind", ev[i].kind, "amount", (json_int_t)ev[i].amount,
                                                  "counterparty", ev[i].counterparty, "record",
                                                  ev[i].has_record ? json_string(hex) : json_null(), "detail",
                                                  ev[i].detail));
        }
        rc = cli_json_print(json_pack("{s:o}", "events", list));
    } else {
        for (size_t i = 0; i < n; i++) {
            char when[32], hex[17] = "";
            time_t t = (time_t)ev[i].time;
            struct tm tm;
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
            if (ev[i].has_record)
                cli_hex(hex, ev[i].record_id, 8);
            printf("%s  %-10s %14s  %-12s %-16s %s\n", when, ev[i].kind, ev[i].amount ? cli_money(ev[i].amount) : "",
                   ev[i].counterparty, hex, ev[i].detail);
        }
    }
    free(ev);
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_history = {
    "history", "history [--json]",
    "List what happened in this wallet, oldest first.",
    "Loads, unloads, requests, payments made and accepted, confirmations,\n"
    "refusals and each payment's fate at sync (times in UTC).\n",
    run,
};

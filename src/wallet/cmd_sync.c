/*
 * cmd_sync.c - offpay sync: settle every pending payment with the server and
 * take the new limits and revocation list.  Also used by pay-online.
 */
#include <string.h>

#include "cli.h"
#include "sync_report.h"

json_t *cli_sync_json(const struct offpay_sync_report *r)
{
    json_t *rejected = json_array(), *fresh = json_array(), *completed = json_array(), *voided = json_array();
    json_t *waterfall = json_array();
    uint64_t waterfall_total = 0;
    for (size_t i = 0; i < r->submitted; i++) {
        const struct offpay_sync_item *it = &r->items[i];
        char hex[2 * OFFPAY_RECORD_ID_BYTES + 1];
        cli_hex(hex, it->record_id, OFFPAY_RECORD_ID_BYTES);
        if (strcmp(it->status, "rejected") == 0)
            json_array_append_new(rejected, json_pack("{s:s, s:s, s:s, s:I, s:s}", "record", hex, "reason", it->reason,
                                                      "direction", it->outgoing ? "outgoing" : "incoming", "amount",
                                                      (json_int_t)it->amount, "counterparty", it->counterparty));
        if (strcmp(it->status, "voided") == 0)
            json_array_append_new(voided, json_string(hex));
        if (it->was_unconfirmed)
            json_array_append_new(completed, json_string(hex));
        if (it->waterfall > 0) {
            json_array_append_new(waterfall, json_pack("{s:s, s:I, s:s}", "record", hex, "amount",
                                                       (json_int_t)it->waterfall, "counterparty", it->counterparty));
            waterfall_total += it->waterfall; /* each below 2^63, and their sum is in one online balance */
        }
    }
    for (size_t i = 0; i < r->n_new_utxos; i++) {
        char hex[2 * OFFPAY_UTXO_ID_BYTES + 1];
        cli_hex(hex, r->new_utxos[i].id, OFFPAY_UTXO_ID_BYTES);
        json_array_append_new(fresh, json_pack("{s:s, s:I}", "id", hex, "amount", (json_int_t)r->new_utxos[i].amount));
    }
    /* Recovered coins (GET /v1/utxos) have their own key: they are not
     * outputs of records this sync submitted. */
    json_t *recovered = json_array();
    for (size_t i = 0; i < r->n_recovered; i++) {
        char hex[2 * OFFPAY_UTXO_ID_BYTES + 1];
        cli_hex(hex, r->recovered[i].id, OFFPAY_UTXO_ID_BYTES);
        json_array_append_new(recovered,
                              json_pack("{s:s, s:I}", "id", hex, "amount", (json_int_t)r->recovered[i].amount));
    }
    /* Calls whose answer was lost, settled first. */
    json_t *calls = json_array();
    for (size_t i = 0; i < r->n_calls; i++) {
        const struct offpay_call_outcome *o = &r->calls[i];
        json_array_append_new(calls, json_pack("{s:s, s:s, s:I, s:s*}", "kind", o->kind, "outcome", o->outcome, "amount",
                                               (json_int_t)o->amount, "counterparty",
                                               o->counterparty[0] ? o->counterparty : NULL));
    }
    return json_pack("{s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:o, s:{s:I, s:I}, s:o}", "calls", calls,
                     "submitted", (json_int_t)r->submitted, "settled", (json_int_t)r->settled, "rejected", rejected,
                     "new_utxos", fresh, "voided", voided, "completed_unconfirmed", completed, "waterfall", waterfall,
                     "waterfall_total", (json_int_t)waterfall_total, "revoked_wallets",
                     (json_int_t)r->revoked_count, "recovered", recovered, "recovery_warning",
                     r->recovery_warning[0] ? json_string(r->recovery_warning) : json_null(), "interrupted_unload",
                     "spendable_again", (json_int_t)r->unload_undone, "taken_online", (json_int_t)r->unload_completed,
                     "certificate_renewed_until",
                     r->certificate_renewed_until ? json_integer((json_int_t)r->certificate_renewed_until) : json_null());
}

/* One sentence per call whose answer was lost. */
static void print_call(FILE *f, const struct offpay_call_outcome *o)
{
    const char *a = cli_money(o->amount);
    int done = strcmp(o->outcome, "done") == 0, cancelled = strcmp(o->outcome, "cancelled") == 0;
    if (strcmp(o->kind, "unload") == 0)
        fprintf(f, done        ? "An unload of %s whose answer was lost did happen: it is in your online balance.\n"
                   : cancelled ? "An unload of %s whose answer was lost never happened: its coins are spendable again.\n"
                               : "An unload of %s whose answer was lost is too old for the server to tell; its coins "
                                 "are settled by the server's list of your coins.\n",
                a);
    else if (strcmp(o->kind, "load") == 0)
        fprintf(f, done        ? "A load of %s whose answer was lost did happen: its coins are in the wallet.\n"
                   : cancelled ? "A load of %s whose answer was lost never happened; nothing left the online balance.\n"
                               : "A load of %s whose answer was lost is too old for the server to tell; any coins it "
                                 "made are recovered below.\n",
                a);
    else if (strcmp(o->kind, "lost") == 0)
        fprintf(f, done        ? "The report of wallet %s as lost, whose answer was lost, was made: it is revoked.\n"
                   : cancelled ? "The report of wallet %s as lost, whose answer was lost, never arrived: run "
                                 "offpay lost again.\n"
                               : "The report of wallet %s as lost, whose answer was lost, is too old for the server to "
                                 "tell: run offpay lost again (it is safe).\n",
                o->counterparty);
    else
        fprintf(f, done        ? "An online payment of %s to %s whose answer was lost was made.\n"
                   : cancelled ? "An online payment of %s to %s whose answer was lost was never made.\n"
                               : "An online payment of %s to %s whose answer was lost is too old for the server to "
                                 "tell: check the online balance.\n",
                a, o->counterparty);
}

void cli_sync_print(FILE *f, const struct offpay_sync_report *r)
{
    for (size_t i = 0; i < r->n_calls; i++)
        print_call(f, &r->calls[i]);
    fprintf(f, "Synced: %zu payment%s submitted, %zu settled, %zu voided, %zu rejected.\n", r->submitted,
            r->submitted == 1 ? "" : "s", r->settled, r->voided, r->rejected);
    for (size_t i = 0; i < r->submitted; i++) {
        const struct offpay_sync_item *it = &r->items[i];
        char hex[17];
        cli_hex(hex, it->record_id, 8);
        const char *what = it->outgoing ? "paid" : "received";
        const char *dir = it->outgoing ? "to" : "from";
        if (strcmp(it->status, "settled") == 0 && it->waterfall > 0)
            fprintf(f, "  %s %s %s %s (%s): settled; it would have taken your offline coins over the holding "
                       "limit, so it went to your online balance.\n",
                    what, cli_money(it->amount), dir, it->counterparty, hex);
        else if (strcmp(it->status, "settled") == 0 && it->was_unconfirmed)
            fprintf(f, "  %s %s %s %s (%s): settled; the confirmation never came back, but the payment completed.\n",
                    what, cli_money(it->amount), dir, it->counterparty, hex);
        else if (strcmp(it->status, "settled") == 0)
            fprintf(f, "  %s %s %s %s (%s): settled.\n", what, cli_money(it->amount), dir, it->counterparty, hex);
        else if (strcmp(it->status, "voided") == 0)
            fprintf(f, "  %s %s %s %s (%s): voided; %s\n", what, cli_money(it->amount), dir,
                    it->counterparty, hex, it->outgoing ? "its coins are spendable again." : "it will never settle.");
        else
            fprintf(f, "  %s %s %s %s (%s): REJECTED by the server: %s.\n", what, cli_money(it->amount), dir,
                    it->counterparty, hex, it->reason);
    }
    for (size_t i = 0; i < r->n_new_utxos; i++) {
        char hex[17];
        cli_hex(hex, r->new_utxos[i].id, 8);
        fprintf(f, "  new spendable coin: %s (%s)\n", cli_money(r->new_utxos[i].amount), hex);
    }
    if (r->n_recovered == 1)
        fprintf(f, "Recovered 1 coin of %s the server holds for you (a payment settled by its payer, or an "
                   "interrupted load).\n", cli_money(r->recovered_sum));
    else if (r->n_recovered > 1)
        fprintf(f, "Recovered %zu coins (%s in all) the server holds for you (payments settled by their payers, or "
                   "an interrupted load).\n", r->n_recovered, cli_money(r->recovered_sum));
    if (r->unload_undone > 0)
        fprintf(f, "An interrupted unload never reached the server: %s is spendable offline again.\n",
                cli_money(r->unload_undone));
    if (r->unload_completed > 0)
        fprintf(f, "An interrupted unload did reach the server: %s is in your online balance.\n",
                cli_money(r->unload_completed));
    fprintf(f, "Limits and revocation list updated (%u revoked wallet%s).\n", r->revoked_count,
            r->revoked_count == 1 ? "" : "s");
    if (r->certificate_renewed_until) {
        char when[32];
        cli_utc(when, r->certificate_renewed_until);
        fprintf(f, "The server renewed this wallet's certificate: valid until %s.\n", when);
    }
    cli_sync_warn(r);
}

void cli_sync_warn(const struct offpay_sync_report *r)
{
    if (r->recovery_warning[0])
        fprintf(stderr, "offpay: warning: the sync is done, but the coins the server holds for this wallet could not "
                        "be checked (the next sync tries again): %s\n", r->recovery_warning);
}

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"json", 0, NULL}};
    struct cli_opts o = {opt, 1, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    struct offpay_sync_report rep;
    int rc;

    if (cli_opts_parse(&cli_cmd_sync, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_sync);
    if (o.n_pos != 0)
        return cli_usage(&cli_cmd_sync, "sync takes no arguments.");
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    enum offpay_status s = offpay_wallet_sync(w, &rep);
    if (s != OFFPAY_OK)
        rc = cli_wallet_fail(w, s);
    else if (cli_opt(&o, "json")) {
        rc = cli_json_print(cli_sync_json(&rep));
        cli_sync_warn(&rep);
    }
    else
        cli_sync_print(stdout, &rep);
    offpay_sync_report_free(&rep);
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_sync = {
    "sync", "sync [--json]",
    "Settle every pending payment with the server; take new limits and revocations.",
    "Submits every unsynced payment record, outgoing and incoming, with the\n"
    "confirmation or refusal the wallet holds - also payments whose confirmation\n"
    "never came back: they settle like any other, and sync says so.  Settled\n"
    "payments turn locked change and incoming payments into spendable coins\n"
    "(each verified); payments refused by their payee are voided and free their\n"
    "coins; rejected ones are listed with the server's reason.  Then it takes\n"
    "every coin the server holds for this wallet that the wallet never saw (a\n"
    "payment settled by its payer before its record reached you, a load whose\n"
    "answer was lost); coins the wallet knows keep their state.  Exit 7 when the\n"
    "server cannot be reached: nothing changes.\n",
    run,
};

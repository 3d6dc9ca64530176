/*
 * cmd_pay.c - offpay pay: the payer answers a payment request with a signed
 * payment record, offline (claim 1).
 */
#include <ctype.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "offpay/messages.h"
#include "offpay/protocol.h"

/* The coins a payment of amount would spend, as the wallet picks them
 * (offpay_coins_select over its coins).  Out: *spent, *n.  Returns 0, or -1
 * when they do not cover it (paying says why). */
static int coins_for(const struct offpay_wallet_utxo *u, size_t n_u, uint64_t amount, uint64_t *spent, size_t *n)
{
    size_t chosen[OFFPAY_RECORD_INPUTS_MAX];
    struct offpay_coin *coins = calloc(n_u ? n_u : 1, sizeof *coins);
    int rc = -1;
    *spent = 0;
    *n = 0;
    if (coins == NULL)
        return -1;
    for (size_t i = 0; i < n_u; i++) {
        coins[i].amount = u[i].amount;
        coins[i].state = u[i].state == OFFPAY_UTXO_SPENDABLE ? OFFPAY_COIN_SPENDABLE
                         : u[i].state == OFFPAY_UTXO_LOCKED  ? OFFPAY_COIN_LOCKED
                                                              : OFFPAY_COIN_IN_DOUBT;
    }
    if (offpay_coins_select(chosen, n, coins, n_u, amount) == OFFPAY_OK) {
        for (size_t i = 0; i < *n; i++)
            *spent += coins[chosen[i]].amount; /* at most 16 coins of a wallet whose total fits */
        rc = 0;
    }
    free(coins);
    return rc;
}

/* 1 when the offline limits allow a payment of amount now (the checks the payment makes first). */
static int within_limits(struct offpay_wallet *w, uint64_t amount)
{
    struct offpay_wallet_limits l;
    if (offpay_wallet_limits(w, &l) != OFFPAY_OK)
        return 0;
    struct offpay_limits_usage used = {l.unsynced_total, l.count_in_period};
    return offpay_limits_check(&l.effective, &used, amount) == OFFPAY_OK &&
           offpay_limits_check_offline_time(&l.effective, l.synced_at, (uint64_t)time(NULL)) == OFFPAY_OK;
}

/*
 * On a terminal, before paying: show the request as `offpay show` does and
 * what paying it leaves, and ask.  Returns 0 to pay, or the exit code (said)
 * when the answer is not yes.  A request that does not verify, is this
 * wallet's own, is over a limit or that the spendable coins do not cover is
 * not asked about: paying it fails with its own exit code, as it does
 * without a terminal.  `pay REQUEST` and `pay --to` both ask here.
 */
int cli_pay_ask(struct offpay_wallet *w, const uint8_t *req, size_t len)
{
    struct offpay_wallet_balance b;
    struct offpay_wallet_utxo *u = NULL;
    struct offpay_request r;
    enum offpay_status s;
    uint64_t spent = 0;
    size_t n_u = 0, n_in = 0;
    char line[64];

    json_t *d = cli_message_describe(w, req, len, OFFPAY_MSG_REQUEST, &s);
    int go_on = d != NULL && offpay_request_decode(&r, req, len) == OFFPAY_OK &&
                json_is_true(json_object_get(json_object_get(d, "verified"), "ok")) &&
                memcmp(r.payee.wallet_id, offpay_wallet_cert(w)->wallet_id, OFFPAY_WALLET_ID_BYTES) != 0 &&
                within_limits(w, r.amount) && offpay_wallet_balance(w, &b, &u, &n_u) == OFFPAY_OK &&
                coins_for(u, n_u, r.amount, &spent, &n_in) == 0;
    free(u);
    if (!go_on) {
        json_decref(d);
        return 0;
    }
    cli_message_print(stderr, d, OFFPAY_MSG_REQUEST);
    json_decref(d);
    fprintf(stderr, "Paying %s to %s spends %s in %zu coin%s", cli_money(r.amount), r.payee.account, cli_money(spent),
            n_in, n_in == 1 ? "" : "s");
    if (spent > r.amount)
        fprintf(stderr, " (%s comes back as change, locked until you sync)", cli_money(spent - r.amount));
    fprintf(stderr, "; %s stays spendable offline.\nPay? [y/N] ", cli_money(b.spendable - spent));
    fflush(stderr);
    clearerr(stdin); /* the request itself may have come from this terminal (-) */
    if (fgets(line, sizeof line, stdin) != NULL) {
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        size_t n = strcspn(p, " \t\r\n");
        if ((n == 1 && tolower((unsigned char)p[0]) == 'y') || (n == 3 && strncasecmp(p, "yes", 3) == 0))
            return 0;
    } else {
        fputc('\n', stderr);
    }
    return cli_fail(OFFPAY_ERR_DECLINED, "Not paid: the answer was not yes; nothing changed.");
}

int cli_pay_asks(int yes)
{
    return !yes && isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
}

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {CLI_OUTPUT_OPTS, {"yes", 0, NULL}};
    struct cli_opts o = {opt, CLI_OUTPUT_N + 1, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    struct offpay_wallet_payment info;
    struct cli_output out;
    uint8_t req[OFFPAY_REQUEST_BYTES_MAX], rec[OFFPAY_RECORD_BYTES_MAX];
    size_t req_len = 0, rec_len = 0;
    char why[512];
    int type, rc;

    /* pay --to HOST:PORT AMOUNT: over a direct connection (cmd_pay_to.c). */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--to") == 0 || strncmp(argv[i], "--to=", 5) == 0)
            return cli_pay_to(c, argc, argv);
    if (cli_opts_parse(&cli_cmd_pay, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_pay);
    if (o.n_pos != 1)
        return cli_usage(&cli_cmd_pay, "Give one payment request file.");
    enum offpay_status s = cli_read_message(o.pos[0], OFFPAY_MSG_REQUEST, req, sizeof req, &req_len, &type, why, sizeof why);
    if (s != OFFPAY_OK)
        return cli_fail(s, "%s", why);
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    /* A person at a terminal sees what they pay before they pay it; scripts are not asked. */
    if (cli_pay_asks(cli_opt(&o, "yes") != NULL) && (rc = cli_pay_ask(w, req, req_len)) != 0) {
        offpay_wallet_close(w);
        return rc;
    }
    if ((rc = cli_output_open_opts(&out, &o)) != 0) {
        offpay_wallet_close(w);
        return rc;
    }
    s = offpay_wallet_pay(w, rec, sizeof rec, &rec_len, &info, req, req_len);
    if (s != OFFPAY_OK) {
        cli_output_abort(&out);
        rc = cli_wallet_fail(w, s);
    } else if ((rc = cli_output_write(&out, rec, rec_len)) == 0 && out.json) {
        rc = cli_output_json_print(&out, cli_payment_json(&info));
    } else if (rc == 0) {
        FILE *f = cli_notes(&out);
        fprintf(f, "Paid %s to %s offline; it settles when either of you syncs.\n", cli_money(info.amount),
                info.counterparty);
        fprintf(f, "Spent %s in %u coin%s, now in doubt until %s confirms; ", cli_money(info.inputs_total),
                info.n_inputs, info.n_inputs == 1 ? "" : "s", info.counterparty);
        if (info.change)
            fprintf(f, "the change of %s stays locked until synced.\n", cli_money(info.change));
        else
            fprintf(f, "there is no change.\n");
        fprintf(f, "Give the payment record%s%s to %s, then run: offpay confirm ANSWER_FILE\n", out.path ? " " : "",
                out.path ? out.path : "", info.counterparty);
    }
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_pay = {
    "pay", "pay (REQUEST_FILE [--yes] [--out FILE] [--qr] [--qr-png FILE] | --to HOST:PORT AMOUNT [--payee ACCOUNT] [--timeout SECONDS] [--yes]) [--json]",
    "Payer: pay a payment request offline (a file, or --to a payee over a direct connection).",
    "Verifies the payee's certificate (issuer, validity, revocation list) and\n"
    "signature, checks the offline limits (exit 6), then picks coins: the smallest\n"
    "single spendable coin that covers the amount, else the fewest.  Locked change\n"
    "and coins in doubt are never used (exit 5 says when only they would cover it).\n"
    "The chosen coins are marked in doubt and the record is stored as pending before\n"
    "it is written (one transaction).  The record (OP1REC:...) goes to FILE or stdout.\n"
    "If the payee's confirmation never comes back, the next sync settles the\n"
    "payment anyway.\n"
    "On a terminal (stdin and stderr both one) it first shows the request as\n"
    "offpay show does and what paying it leaves, and asks \"Pay? [y/N]\": any\n"
    "answer but y or yes pays nothing and exits 2 (JSON code \"declined\").  --yes\n"
    "pays without asking; with no terminal (scripts) it never asks.  pay --to asks\n"
    "the same way once the payee's request has come (the payee's wait bounds the\n"
    "time to answer) and a no stops the payee with the code \"declined\".\n"
    "--json prints one JSON object that carries the record's text as \"message\".\n"
    "--qr draws the record's QR code on the terminal; --qr-png FILE writes it as a\n"
    "picture (offpay scan reads it back).\n"
    "--to HOST:PORT AMOUNT pays a payee waiting with offpay receive over a direct\n"
    "connection: takes its request, refuses one for another amount or, with\n"
    "--payee ACCOUNT, from another account than ACCOUNT (exit 4; nothing changes),\n"
    "pays it with the same checks, sends the record and applies the payee's answer,\n"
    "each step waiting at most --timeout seconds (default 30).  If the connection\n"
    "breaks after the record left, its coins stay in doubt and the next sync\n"
    "settles the payment (exit 7).\n",
    run,
};

/*
 * main.c - the offpayd command line: the command table, parsing (with the
 * option parser of src/cli/cli_kit.h, which the wallet's program shares),
 * dispatch, and the ledger and transaction helpers of the commands.  A
 * failure is said as a status; cli_fail turns it into the exit code of
 * SPEC.md (0 ok, 1 internal, 2 usage, 3 malformed input).
 *
 * Options may come before or after the subcommand's words (SPEC.md writes
 * "offpayd account --ledger URL open NAME").  Every command has --help.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "offpay/version.h"

#define MAX_OPTS 12 /* options of one command */

struct command {
    const char *name;
    int (*run)(const struct cli_opts *o);
    const struct cli_opt opts[MAX_OPTS]; /* values NULL; ends at the first without a name */
    const char *help;
};

#define OPT_LEDGER {"ledger", 1, NULL}
#define OPT_JSON {"json", 0, NULL}
/* The issuer key in a PKCS#11 token (issuer_p11.c): three options. */
#define OPT_TOKEN {"issuer-pkcs11", 1, NULL}, {"token", 1, NULL}, {"pin-file", 1, NULL}

static const struct command commands[] = {
    {"init", cmd_init, {OPT_LEDGER, {"issuer-key", 1, NULL}, OPT_TOKEN, OPT_JSON, {"currency", 1, NULL},
                        {"exponent", 1, NULL}},
     "usage: offpayd init --ledger URL [--issuer-key FILE] [--currency CODE] [--exponent N] [--json]\n"
     "       offpayd init --ledger URL --issuer-pkcs11 MODULE --token LABEL --pin-file FILE [--json]\n"
     "--currency CODE (three capital letters, default CNY) and --exponent N (0..4, the\n"
     "digits of the minor unit, default 2) say what amounts are counted in; every\n"
     "limits document carries them, and wallets show amounts as money (35.00 CNY).\n"
     "Create a new ledger and its issuer key file (mode 0600, never printed).\n"
     "URL is sqlite:PATH or a PostgreSQL URI postgresql://[USER@]HOST[:PORT]/DB.\n"
     "The key file is FILE, else $OFFPAYD_ISSUER_KEY, else PATH.issuer-key (sqlite only).\n"
     "With --issuer-pkcs11 the key pair is generated instead in the PKCS#11 token LABEL\n"
     "of the module MODULE (a .so file), logged in with the PIN on FILE's first line;\n"
     "it cannot leave the token, and every issuer signature is made there.\n"},
    {"serve", cmd_serve,
     {OPT_LEDGER, {"listen", 1, NULL}, {"threads", 1, NULL}, {"issuer-key", 1, NULL}, {"tls-cert", 1, NULL},
      {"tls-key", 1, NULL}, {"log", 1, NULL}, {"quiet", 0, NULL}, OPT_TOKEN},
     "usage: offpayd serve --ledger URL --listen HOST:PORT [--threads N]\n"
     "                     [--issuer-key FILE | --issuer-pkcs11 MODULE --token LABEL --pin-file FILE]\n"
     "                     [--tls-cert FILE --tls-key FILE] [--log FILE | --quiet]\n"
     "Serve the HTTP API of docs/api.md until SIGINT or SIGTERM.  Prints\n"
     "\"listening on HOST:PORT\" once ready.  N requests are handled at once (default 2, 1..64).\n"
     "With --tls-cert and --tls-key (PEM: the certificate chain, the private key) it\n"
     "serves HTTPS, TLS 1.2 and 1.3 only; without them plain HTTP, fit only for a\n"
     "loopback address or behind a TLS proxy.\n"
     "Each request is logged as one key=value line (docs/server.md) on stderr, or\n"
     "appended to --log FILE (SIGHUP reopens it), or not at all with --quiet.\n"
     "GET /v1/health and GET /metrics (Prometheus text format) are for operators.\n"
     "The issuer key is found as for init (a token: exit 9 when it is missing or\n"
     "the PIN is wrong).  Several processes may serve one\n"
     "PostgreSQL ledger.\n"},
    {"account", cmd_account, {OPT_LEDGER, OPT_JSON},
     "usage: offpayd account --ledger URL open NAME\n"
     "       offpayd account --ledger URL mint NAME AMOUNT\n"
     "       offpayd account --ledger URL list|show NAME [--json]\n"
     "open: create account NAME (1-32 of a-z 0-9 . _ -) if new, and print a one-time\n"
     "enrolment token for one wallet of it.  mint: add AMOUNT to its online balance.\n"
     "list: every account with its online balance, offline coins, received, sent and minted.\n"
     "show: one account, with its wallets, the double spends caught and its state.\n"},
    {"wallet", cmd_wallet, {OPT_LEDGER, {"account", 1, NULL}, {"reason", 1, NULL}, OPT_JSON},
     "usage: offpayd wallet --ledger URL list [--account NAME] [--json]\n"
     "       offpayd wallet --ledger URL show ID [--json]\n"
     "       offpayd wallet --ledger URL revoke ID [--reason lost|stolen] [--json]\n"
     "list: every wallet (of one account): id, account, state (active, revoked, lost,\n"
     "fraud), certificate validity, last sync, offline coins the ledger still counts.\n"
     "show: one wallet.  ID is any unique beginning of at least 8 hex digits of its id.\n"
     "revoke: put the wallet on the revocation list now (a lost or stolen device); what\n"
     "it paid still settles during the grace period (offpayd limits --grace, default 14\n"
     "days), then its unspent coins go back to its account's online balance.\n"},
    {"limits", cmd_limits,
     {OPT_LEDGER, {"wallet", 1, NULL}, {"per-payment", 1, NULL}, {"offline-total", 1, NULL}, {"count", 1, NULL},
      {"period", 1, NULL}, {"holding", 1, NULL}, {"offline-time", 1, NULL}, {"grace", 1, NULL}, OPT_JSON},
     "usage: offpayd limits --ledger URL [--wallet ID] [--per-payment A] [--offline-total A]\n"
     "                      [--count N] [--period SECONDS] [--holding A] [--offline-time SECONDS]\n"
     "                      [--grace SECONDS] [--json]\n"
     "Set the default offline limits, or those of one wallet (ID: any unique beginning\n"
     "of at least 8 hex digits of its id).  Amounts print as money (35.00 CNY).  Fields not\n"
     "given keep their current value; with none given, print the current limits.\n"
     "--holding: the most a wallet may hold in offline coins (load beyond it is refused;\n"
     "an incoming payment that would pass it goes to the account's online balance).\n"
     "--offline-time: how long after its last sync a wallet may still pay offline.\n"
     "0 for either is \"no limit\".  Wallets learn the limits at enrolment and every sync.\n"
     "--grace (server-wide, not with --wallet): how long after a wallet is reported lost its\n"
     "payments still settle before its coins go back to its account (default 1209600, 14 days).\n"},
    {"frauds", cmd_frauds, {OPT_LEDGER, OPT_JSON},
     "usage: offpayd frauds --ledger URL [--json]\n"
     "List the evidence of every double spend caught: both signed records.\n"},
    {"audit", cmd_audit, {OPT_LEDGER, OPT_JSON},
     "usage: offpayd audit --ledger URL [--json]\n"
     "Check that sum(online balances) + sum(unspent coins) = sum(minted), and every\n"
     "account's own books.  Exit 0 only if the ledger conserves value.\n"},
};

static const char usage_all[] =
    "usage: offpayd COMMAND [OPTIONS]\n"
    "  init    --ledger URL [--issuer-key FILE] [--json]  create ledger + issuer key\n"
    "  serve   --ledger URL --listen HOST:PORT [--threads N] [--issuer-key FILE] [--tls-cert F --tls-key F]\n"
    "          (init and serve: --issuer-pkcs11 MODULE --token LABEL --pin-file FILE for a token)\n"
    "  account --ledger URL open NAME          print a one-time enrolment token\n"
    "  account --ledger URL mint NAME AMOUNT\n"
    "  account --ledger URL list|show NAME [--json]\n"
    "  wallet  --ledger URL list [--account NAME]|show ID|revoke ID [--reason lost|stolen] [--json]\n"
    "  limits  --ledger URL [--wallet ID] --per-payment A --offline-total A --count N --period SECONDS\n"
    "          [--holding A] [--offline-time SECONDS] [--grace SECONDS]\n"
    "  frauds  --ledger URL [--json]\n"
    "  audit   --ledger URL                    exit 0 only if the ledger conserves value\n"
    "Each command takes --help; offpayd --version prints the version.\n";

struct offpay_ledger *cli_ledger(const struct cli_opts *o, int create, int *exit_code)
{
    struct offpay_ledger *l = NULL;
    char err[512];
    const char *url = cli_opt(o, "ledger");
    if (url == NULL) {
        *exit_code = cli_fail(OFFPAY_ERR_USAGE, "--ledger URL is required (e.g. --ledger sqlite:/var/lib/offpay/ledger.db).");
        return NULL;
    }
    enum offpay_status s = offpay_ledger_open(&l, url, create, err, sizeof err);
    if (s != OFFPAY_OK) {
        *exit_code = cli_fail(s, "%s", err);
        return NULL;
    }
    return l;
}

/* Parse cmd's options and arguments (argv[0] is its name) and run it. */
static int run_command(const struct command *cmd, int argc, char **argv)
{
    struct cli_opt opt[MAX_OPTS];
    struct cli_opts o = {opt, 0, {0}, 0, 0};

    while (o.n_opt < MAX_OPTS && cmd->opts[o.n_opt].name != NULL) {
        opt[o.n_opt] = cmd->opts[o.n_opt];
        o.n_opt++;
    }
    if (cli_opts_parse_as(cmd->name, NULL, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help) {
        fputs(cmd->help, stdout);
        return OFFPAY_EXIT_OK;
    }
    return cmd->run(&o);
}

int offpayd_main(int argc, char **argv)
{
    cli_program_set("offpayd");
    /* A command given --json says its failures in JSON on stdout too (SPEC.md "Additions"). */
    cli_json_errors_set(0);
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            cli_json_errors_set(1);
    if (argc < 2) {
        fputs(usage_all, stderr);
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage_all, stdout);
        return OFFPAY_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("offpayd %s (wire format %d, HTTP API v1)\n", OFFPAY_VERSION, OFFPAY_WIRE_VERSION);
        return OFFPAY_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, argv[1]) == 0)
            return run_command(&commands[i], argc - 1, argv + 1);
    fputs(usage_all, stderr);
    return cli_fail(OFFPAY_ERR_USAGE, "Unknown command \"%s\".", argv[1]);
}

int cli_tx(struct offpay_ledger *l, enum tx_step (*fn)(struct offpay_ledger *l, void *ctx), void *ctx)
{
    switch (tx_run(l, fn, ctx)) {
    case TX_COMMITTED:
        return 0;
    case TX_ABORTED:
        return -1;
    case TX_FAILED:
        cli_fail(OFFPAY_ERR_STORAGE, "The ledger failed, nothing was changed: %s", l->ops->last_error(l));
        return -2;
    case TX_BUSY:
        break;
    case TX_UNAVAILABLE:
        cli_fail(OFFPAY_ERR_STORAGE, "The ledger's storage failed, nothing was changed: %s", l->ops->last_error(l));
        return -2;
    case TX_UNKNOWN:
        cli_fail(OFFPAY_ERR_STORAGE, "The ledger's storage failed while committing; the change may or may not "
                 "have been made (look before trying again): %s", l->ops->last_error(l));
        return -2;
    }
    cli_fail(OFFPAY_ERR_STORAGE, "The ledger stayed busy; nothing was changed.");
    return -2;
}

/*
 * offpay.c - the wallet program: global options and the command table.
 *
 * Every command lives in its own cmd_NAME.c and is listed here once; the
 * transport layer adds its commands (receive, scan) the same way.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "offpay/crypto.h"
#include "offpay/messages.h"
#include "offpay/version.h"

static const struct cli_command *const commands[] = {
    &cli_cmd_init,    &cli_cmd_balance, &cli_cmd_load,       &cli_cmd_unload,  &cli_cmd_request, &cli_cmd_pay,
    &cli_cmd_accept,  &cli_cmd_confirm, &cli_cmd_sync,       &cli_cmd_pay_online, &cli_cmd_history, &cli_cmd_limits,
    &cli_cmd_receive, &cli_cmd_scan,    &cli_cmd_config,     &cli_cmd_show,    &cli_cmd_lost,
    &cli_cmd_passphrase,
};

/* The commands that sign: they unlock the key (asking for a passphrase or
 * PIN on the terminal if need be) before anything else.  The others never
 * ask; they use the key only if a file gives its secret (balance's online
 * part). */
static const char *const signing[] = {"load", "unload",  "sync",    "pay-online", "pay",
                                      "accept", "request", "receive", "lost"};

/* Options every command takes, anywhere before "--" (taken out so that
 * commands see only their own): NAME VALUE or NAME=VALUE.  Returns 1 when
 * argv[*i] was one (*i moved past its value), 0 when not, -1 on a usage error. */
static int global_option(struct cli *c, int argc, char **argv, int *i)
{
    struct {
        const char *name, *what;
        const char **dst;
    } g[] = {{"--wallet", "a folder", &c->wallet_opt},
             {"--passphrase-file", "a file", &c->passphrase_file},
             {"--pin-file", "a file", &c->pin_file}};
    for (size_t k = 0; k < sizeof g / sizeof g[0]; k++) {
        size_t n = strlen(g[k].name);
        if (strcmp(argv[*i], g[k].name) == 0) {
            if (*i + 1 >= argc) {
                cli_fail(OFFPAY_ERR_USAGE, "Option %s needs %s.", g[k].name, g[k].what);
                return -1;
            }
            *g[k].dst = argv[++*i];
            return 1;
        }
        if (strncmp(argv[*i], g[k].name, n) == 0 && argv[*i][n] == '=') {
            *g[k].dst = argv[*i] + n + 1;
            return 1;
        }
    }
    return 0;
}

static void list_commands(FILE *f)
{
    fprintf(f, "Usage: offpay [--wallet DIR] [--timeout SECONDS] [--passphrase-file FILE] [--pin-file FILE]\n"
               "              COMMAND [ARGS]\n\n"
               "Pay and get paid with no network; settle with the server when online.\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %s\n      %s\n", commands[i]->usage, commands[i]->summary);
    fprintf(f, "\nThe wallet folder is --wallet DIR, else $OFFPAY_WALLET, else ~/.offpay.\n"
               "A call to the server may take --timeout SECONDS (before the command), else\n"
               "$OFFPAY_TIMEOUT, else the wallet's config file (offpay config), else 10.\n"
               "Run offpay COMMAND --help for details; offpay --version prints the version.\n");
}

int main(int argc, char **argv)
{
    struct cli c = {0};
    char *args[256];
    int n = 0;

    cli_program_set("offpay");
    /* --json anywhere before "--" makes every failure a JSON object on stdout as well (SPEC.md "Additions"),
     * from the first one on: a usage error of the command line too. */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            cli_json_errors_set(1);
    if (offpay_crypto_init() != 0)
        return cli_fail(OFFPAY_ERR_CRYPTO_INIT, "%s", offpay_status_str(OFFPAY_ERR_CRYPTO_INIT));
    /* --timeout SECONDS stands before the command (pay --to and receive have
     * a --timeout of their own, for the other device). */
    int first = 1;
    while (first < argc && strncmp(argv[first], "--", 2) == 0) {
        const char *v = NULL;
        int ms = 0;
        if (strcmp(argv[first], "--timeout") == 0) {
            if (first + 1 >= argc)
                return cli_fail(OFFPAY_ERR_USAGE, "Option --timeout needs a number of seconds.");
            v = argv[++first];
        } else if (strncmp(argv[first], "--timeout=", 10) == 0) {
            v = argv[first] + 10;
        } else if (strcmp(argv[first], "--wallet") == 0 && first + 1 < argc) {
            c.wallet_opt = argv[++first];
        } else if (strncmp(argv[first], "--wallet=", 9) == 0) {
            c.wallet_opt = argv[first] + 9;
        } else {
            break;
        }
        if (v != NULL) {
            if (cli_timeout_ms(v, &ms) != 0 || ms <= 0)
                return cli_fail(OFFPAY_ERR_USAGE, "Option --timeout takes 1 to 3600 seconds, not \"%s\".", v);
            c.timeout = (unsigned)(ms / 1000);
        }
        first++;
    }
    args[n++] = argv[0];
    /* --wallet, --passphrase-file and --pin-file may stand anywhere before "--". */
    for (int i = first; i < argc; i++) {
        int g = global_option(&c, argc, argv, &i);
        if (g < 0)
            return offpay_status_exit_code(OFFPAY_ERR_USAGE);
        if (g > 0)
            continue;
        if (n == (int)(sizeof args / sizeof args[0]) - 1)
            return cli_fail(OFFPAY_ERR_USAGE, "Too many arguments.");
        args[n++] = argv[i];
        if (strcmp(argv[i], "--") == 0) {
            while (++i < argc && n < (int)(sizeof args / sizeof args[0]) - 1)
                args[n++] = argv[i];
            if (i < argc)
                return cli_fail(OFFPAY_ERR_USAGE, "Too many arguments.");
            break;
        }
    }
    args[n] = NULL;
    if (n < 2)
        return cli_fail(OFFPAY_ERR_USAGE, "No command given; run offpay --help for the list.");
    if (strcmp(args[1], "--help") == 0 || strcmp(args[1], "-h") == 0 || strcmp(args[1], "help") == 0) {
        if (n >= 3)
            for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                if (strcmp(commands[i]->name, args[2]) == 0)
                    return cli_help(commands[i]);
        list_commands(stdout);
        return 0;
    }
    if (strcmp(args[1], "--version") == 0) {
        if (cli_json_errors()) /* --version --json */
            return cli_json_print(json_pack("{s:s, s:i}", "version", OFFPAY_VERSION, "wire_format", OFFPAY_WIRE_VERSION));
        printf("offpay %s (wire format %d)\n", OFFPAY_VERSION, OFFPAY_WIRE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof signing / sizeof signing[0]; i++)
        c.signs |= strcmp(signing[i], args[1]) == 0;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i]->name, args[1]) == 0)
            return commands[i]->run(&c, n - 1, args + 1);
    return cli_fail(OFFPAY_ERR_USAGE, "Unknown command \"%s\"; run offpay --help for the list.", args[1]);
}

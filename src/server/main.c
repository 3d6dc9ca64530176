/*
 * main.c - the offpayd command line: parse, dispatch, map failures to the
 * exit codes of SPEC.md (0 ok, 1 internal, 2 usage, 3 malformed input).
 *
 * Options may come before or after the subcommand's words (SPEC.md writes
 * "offpayd account --ledger URL open NAME").  Every command has --help.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "offpay/version.h"

#define MAX_OPTS 16
#define MAX_POS 8

struct cli {
    const char *cmd;
    const char *names[MAX_OPTS], *values[MAX_OPTS];
    int nopt;
    const char *pos[MAX_POS];
    int npos;
};

struct command {
    const char *name;
    int (*run)(const struct cli *c);
    const char *const *value_opts; /* options that take a value */
    const char *const *flag_opts;  /* options that do not */
    const char *help;
};

static const char *const opts_ledger[] = {"ledger", NULL};
static const char *const opts_init[] = {"ledger", "issuer-key", NULL};
static const char *const opts_serve[] = {"ledger",   "listen",  "threads", "issuer-key",
                                         "tls-cert", "tls-key", "log",     NULL};
static const char *const flags_serve[] = {"quiet", NULL};
static const char *const opts_limits[] = {"ledger", "wallet", "per-payment", "offline-total", "count", "period", NULL};
static const char *const flags_json[] = {"json", NULL};

static const struct command commands[] = {
    {"init", cmd_init, opts_init, flags_json,
     "usage: offpayd init --ledger URL [--issuer-key FILE] [--json]\n"
     "Create a new ledger and its issuer key file (mode 0600, never printed).\n"
     "URL is sqlite:PATH or a PostgreSQL URI postgresql://[USER@]HOST[:PORT]/DB.\n"
     "The key file is FILE, else $OFFPAYD_ISSUER_KEY, else PATH.issuer-key (sqlite only).\n"},
    {"serve", cmd_serve, opts_serve, flags_serve,
     "usage: offpayd serve --ledger URL --listen HOST:PORT [--threads N] [--issuer-key FILE]\n"
     "                     [--tls-cert FILE --tls-key FILE] [--log FILE | --quiet]\n"
     "Serve the HTTP API of docs/api.md until SIGINT or SIGTERM.  Prints\n"
     "\"listening on HOST:PORT\" once ready.  N requests are handled at once (default 2, 1..64).\n"
     "With --tls-cert and --tls-key (PEM: the certificate chain, the private key) it\n"
     "serves HTTPS, TLS 1.2 and 1.3 only; without them plain HTTP, fit only for a\n"
     "loopback address or behind a TLS proxy.\n"
     "Each request is logged as one key=value line (docs/server.md) on stderr, or\n"
     "appended to --log FILE (SIGHUP reopens it), or not at all with --quiet.\n"
     "GET /v1/health and GET /metrics (Prometheus text format) are for operators.\n"
     "The issuer key file is found as for init.  Several processes may serve one\n"
     "PostgreSQL ledger.\n"},
    {"account", cmd_account, opts_ledger, flags_json,
     "usage: offpayd account --ledger URL open NAME\n"
     "       offpayd account --ledger URL mint NAME AMOUNT\n"
     "open: create account NAME (1-32 of a-z 0-9 . _ -) if new, and print a one-time\n"
     "enrolment token for one wallet of it.  mint: add AMOUNT to its online balance.\n"},
    {"limits", cmd_limits, opts_limits, flags_json,
     "usage: offpayd limits --ledger URL [--wallet ID] [--per-payment A] [--offline-total A]\n"
     "                      [--count N] [--period SECONDS] [--json]\n"
     "Set the default offline limits, or those of one wallet (ID: 32 hex).  Fields not\n"
     "given keep their current value; with none given, print the current limits.\n"
     "Wallets learn them at enrolment and at every sync.\n"},
    {"frauds", cmd_frauds, opts_ledger, flags_json,
     "usage: offpayd frauds --ledger URL [--json]\n"
     "List the evidence of every double spend caught: both signed records.\n"},
    {"audit", cmd_audit, opts_ledger, flags_json,
     "usage: offpayd audit --ledger URL [--json]\n"
     "Check that sum(online balances) + sum(unspent coins) = sum(minted), and every\n"
     "account's own books.  Exit 0 only if the ledger conserves value.\n"},
};

static const char usage_all[] =
    "usage: offpayd COMMAND [OPTIONS]\n"
    "  init    --ledger URL [--issuer-key FILE] [--json]  create ledger + issuer key\n"
    "  serve   --ledger URL --listen HOST:PORT [--threads N] [--issuer-key FILE] [--tls-cert F --tls-key F]\n"
    "  account --ledger URL open NAME          print a one-time enrolment token\n"
    "  account --ledger URL mint NAME AMOUNT\n"
    "  limits  --ledger URL [--wallet ID] --per-payment A --offline-total A --count N --period SECONDS\n"
    "  frauds  --ledger URL [--json]\n"
    "  audit   --ledger URL                    exit 0 only if the ledger conserves value\n"
    "Each command takes --help; offpayd --version prints the version.\n";

const char *cli_opt(const struct cli *c, const char *name)
{
    for (int i = 0; i < c->nopt; i++)
        if (strcmp(c->names[i], name) == 0)
            return c->values[i] ? c->values[i] : "";
    return NULL;
}

int cli_flag(const struct cli *c, const char *name) { return cli_opt(c, name) != NULL; }
int cli_npos(const struct cli *c) { return c->npos; }
const char *cli_pos(const struct cli *c, int i) { return i < c->npos ? c->pos[i] : NULL; }

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("offpayd: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

struct offpay_ledger *cli_ledger(const struct cli *c, int create, int *exit_code)
{
    struct offpay_ledger *l = NULL;
    char err[512];
    const char *url = cli_opt(c, "ledger");
    if (url == NULL) {
        *exit_code = cli_fail(OFFPAY_EXIT_USAGE, "--ledger URL is required (e.g. --ledger sqlite:/var/lib/offpay/ledger.db).");
        return NULL;
    }
    enum offpay_status s = offpay_ledger_open(&l, url, create, err, sizeof err);
    if (s != OFFPAY_OK) {
        *exit_code = cli_fail(offpay_status_exit_code(s), "%s", err);
        return NULL;
    }
    return l;
}

static int in_list(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

int offpayd_main(int argc, char **argv)
{
    struct cli c;
    const struct command *cmd = NULL;

    memset(&c, 0, sizeof c);
    if (argc < 2) {
        fputs(usage_all, stderr);
        return OFFPAY_EXIT_USAGE;
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
            cmd = &commands[i];
    if (cmd == NULL) {
        fputs(usage_all, stderr);
        return cli_fail(OFFPAY_EXIT_USAGE, "Unknown command \"%s\".", argv[1]);
    }
    c.cmd = cmd->name;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(cmd->help, stdout);
            return OFFPAY_EXIT_OK;
        }
        if (strncmp(a, "--", 2) == 0 && a[2] != '\0') {
            const char *name = a + 2, *eq = strchr(name, '=');
            char buf[64];
            const char *value = NULL;
            if (eq != NULL) {
                size_t n = (size_t)(eq - name);
                if (n >= sizeof buf)
                    return cli_fail(OFFPAY_EXIT_USAGE, "Unknown option %s (see offpayd %s --help).", a, cmd->name);
                memcpy(buf, name, n);
                buf[n] = '\0';
                name = buf;
                value = eq + 1;
            }
            int takes_value = in_list(cmd->value_opts, name);
            if (!takes_value && !in_list(cmd->flag_opts, name))
                return cli_fail(OFFPAY_EXIT_USAGE, "Unknown option --%s (see offpayd %s --help).", name, cmd->name);
            if (takes_value && value == NULL) {
                if (i + 1 >= argc)
                    return cli_fail(OFFPAY_EXIT_USAGE, "The option --%s needs a value.", name);
                value = argv[++i];
            }
            if (!takes_value && value != NULL)
                return cli_fail(OFFPAY_EXIT_USAGE, "The option --%s takes no value.", name);
            if (cli_opt(&c, name) != NULL)
                return cli_fail(OFFPAY_EXIT_USAGE, "The option --%s is given twice.", name);
            if (c.nopt >= MAX_OPTS)
                return cli_fail(OFFPAY_EXIT_USAGE, "Too many options.");
            /* Option names live in the command's static table, never in buf. */
            for (const char *const *l = takes_value ? cmd->value_opts : cmd->flag_opts; *l; l++)
                if (strcmp(*l, name) == 0)
                    c.names[c.nopt] = *l;
            c.values[c.nopt++] = value;
        } else {
            if (c.npos >= MAX_POS)
                return cli_fail(OFFPAY_EXIT_USAGE, "Too many arguments (see offpayd %s --help).", cmd->name);
            c.pos[c.npos++] = a;
        }
    }
    return cmd->run(&c);
}

int cli_tx(struct offpay_ledger *l, enum tx_step (*fn)(struct offpay_ledger *l, void *ctx), void *ctx)
{
    switch (tx_run(l, fn, ctx)) {
    case TX_COMMITTED:
        return 0;
    case TX_ABORTED:
        return -1;
    case TX_FAILED:
        cli_fail(OFFPAY_EXIT_INTERNAL, "The ledger failed, nothing was changed: %s", l->ops->last_error(l));
        return -2;
    case TX_BUSY:
        break;
    case TX_UNAVAILABLE:
        cli_fail(OFFPAY_EXIT_INTERNAL, "The ledger's storage failed, nothing was changed: %s", l->ops->last_error(l));
        return -2;
    case TX_UNKNOWN:
        cli_fail(OFFPAY_EXIT_INTERNAL, "The ledger's storage failed while committing; the change may or may not "
                 "have been made (look before trying again): %s", l->ops->last_error(l));
        return -2;
    }
    cli_fail(OFFPAY_EXIT_INTERNAL, "The ledger stayed busy; nothing was changed.");
    return -2;
}

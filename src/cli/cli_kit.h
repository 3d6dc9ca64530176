/*
 * cli_kit.h - what the command lines of offpay and offpayd share: the
 * program's name in front of every message, a failure said as a status (its
 * exit code comes only from offpay_status_exit_code, the one place SPEC.md's
 * codes are mapped), a usage error, and one option parser.
 *
 * Each program's main sets its name with cli_program_set before anything can
 * fail; the rest of a program's command line (its command table, its help)
 * stays with the program: src/wallet/cli.h, src/server/main.c.
 */
#ifndef OFFPAY_CLI_KIT_H
#define OFFPAY_CLI_KIT_H

#include <stdarg.h>
#include <stddef.h>

#include "offpay/status.h"

/* ---- the program and its failures ---- */

/* In: name, a static string ("offpay"), printed before every message. */
void cli_program_set(const char *name);
/* Returns: the name given to cli_program_set (never NULL: "offpay" until set). */
const char *cli_program(void);

/*
 * Failures in JSON too: once on, every failure (cli_fail, a usage error) is
 * also printed on stdout as one line {"error": {"code": offpay_status_code(s),
 * "message": SENTENCE, "exit": EXIT_CODE}} (SPEC.md "Additions"; the codes
 * are listed in docs/wallet.md).  Each program turns it on when its command
 * line holds --json, before anything can fail.
 */
void cli_json_errors_set(int on);
/* Returns: 1 when failures are said in JSON too, else 0. */
int cli_json_errors(void);

/* Print "PROGRAM: SENTENCE" on stderr (and the JSON error on stdout, see
 * cli_json_errors_set).  Returns: offpay_status_exit_code(s). */
int cli_fail(enum offpay_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A usage error of command: "PROGRAM: SENTENCE", then, when usage (the
 * command's one-line usage) is not NULL, " Usage: PROGRAM USAGE (see PROGRAM
 * COMMAND --help).", else " See PROGRAM COMMAND --help.", on one line of
 * stderr.  Returns: the exit code of OFFPAY_ERR_USAGE.
 */
int cli_usage_fail(const char *command, const char *usage, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int cli_usage_failv(const char *command, const char *usage, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* ---- options ---- */

/*
 * The option parser: flags (--json), options with a value (--out FILE or
 * --out=FILE) and positional arguments in any order; "--" ends the options;
 * "-" alone is positional; --help and -h set help.  An unknown option, a
 * flag given a value, an option missing its value, an option given twice or
 * more than CLI_MAX_POS arguments is a usage error.
 */
#define CLI_MAX_POS 80
struct cli_opt {
    const char *name;  /* "out" for --out */
    int takes_value;
    const char *value; /* set when seen (flags: "1"); NULL before */
};
struct cli_opts {
    struct cli_opt *opt; /* the command's options, values NULL */
    size_t n_opt;
    const char *pos[CLI_MAX_POS];
    size_t n_pos;
    int help;
};

/*
 * Parse argv[1..argc) (argv[0] is the command) into o, whose opt[] the
 * caller filled.  command and usage name it in a usage error (see
 * cli_usage_fail).  Returns: 0, or -1 after printing the usage error.
 */
int cli_opts_parse_as(const char *command, const char *usage, struct cli_opts *o, int argc, char **argv);

/* Returns: the value of --name ("1" for a flag), or NULL when not given. */
const char *cli_opt(const struct cli_opts *o, const char *name);
/* Returns: positional argument i, or NULL past the last. */
const char *cli_pos(const struct cli_opts *o, size_t i);

#endif

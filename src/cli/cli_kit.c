/*
 * cli_kit.c - the command-line kit of offpay and offpayd (see cli_kit.h):
 * messages with the program's name, and the option parser.
 */
#include <stdio.h>
#include <string.h>

#include "cli_kit.h"

static const char *program = "offpay";

void cli_program_set(const char *name) { program = name; }

const char *cli_program(void) { return program; }

int cli_fail(enum offpay_status s, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return offpay_status_exit_code(s);
}

int cli_usage_failv(const char *command, const char *usage, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", program);
    vfprintf(stderr, fmt, ap);
    if (usage != NULL)
        fprintf(stderr, " Usage: %s %s (see %s %s --help).\n", program, usage, program, command);
    else
        fprintf(stderr, " See %s %s --help.\n", program, command);
    return offpay_status_exit_code(OFFPAY_ERR_USAGE);
}

int cli_usage_fail(const char *command, const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cli_usage_failv(command, usage, fmt, ap);
    va_end(ap);
    return rc;
}

/* The option --NAME (len bytes of name) among o's, or NULL. */
static struct cli_opt *opt_find(struct cli_opts *o, const char *name, size_t len)
{
    for (size_t k = 0; k < o->n_opt; k++)
        if (strlen(o->opt[k].name) == len && strncmp(o->opt[k].name, name, len) == 0)
            return &o->opt[k];
    return NULL;
}

/* Take the option argv[*i] (it starts with "--"), and its value from
 * argv[*i + 1] when it needs one.  Returns: 0, or -1 after a usage error. */
static int take_option(const char *command, const char *usage, struct cli_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *name = a + 2, *eq = strchr(name, '=');
    struct cli_opt *hit = opt_find(o, name, eq ? (size_t)(eq - name) : strlen(name));

    if (hit == NULL) {
        cli_usage_fail(command, usage, "Unknown option %s.", a);
        return -1;
    }
    if (hit->value != NULL) {
        cli_usage_fail(command, usage, "Option --%s is given twice.", hit->name);
        return -1;
    }
    if (!hit->takes_value) {
        if (eq) {
            cli_usage_fail(command, usage, "Option --%s takes no value.", hit->name);
            return -1;
        }
        hit->value = "1";
    } else if (eq) {
        hit->value = eq + 1;
    } else if (*i + 1 < argc) {
        hit->value = argv[++*i];
    } else {
        cli_usage_fail(command, usage, "Option --%s needs a value.", hit->name);
        return -1;
    }
    return 0;
}

int cli_opts_parse_as(const char *command, const char *usage, struct cli_opts *o, int argc, char **argv)
{
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = 1;
        } else if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (o->n_pos == CLI_MAX_POS) {
                cli_usage_fail(command, usage, "Too many arguments.");
                return -1;
            }
            o->pos[o->n_pos++] = a;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = 1;
        } else if (a[1] != '-') {
            cli_usage_fail(command, usage, "Unknown option %s.", a);
            return -1;
        } else if (take_option(command, usage, o, argc, argv, &i) != 0) {
            return -1;
        }
    }
    return 0;
}

const char *cli_opt(const struct cli_opts *o, const char *name)
{
    for (size_t k = 0; k < o->n_opt; k++)
        if (strcmp(o->opt[k].name, name) == 0)
            return o->opt[k].value;
    return NULL;
}

const char *cli_pos(const struct cli_opts *o, size_t i) { return i < o->n_pos ? o->pos[i] : NULL; }

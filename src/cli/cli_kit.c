/*
 * cli_kit.c - the command-line kit of offpay and offpayd (see cli_kit.h):
 * messages with the program's name, and the option parser.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli_kit.h"

/* Longest failure sentence (a longer one is cut, never overrun). */
#define SENTENCE_MAX 2048

static const char *program = "offpay";
static int json_errors; /* --json was given: failures are also said on stdout */

void cli_program_set(const char *name) { program = name; }

const char *cli_program(void) { return program; }

void cli_json_errors_set(int on) { json_errors = on; }

int cli_json_errors(void) { return json_errors; }

/* Put {"error": {"code", "message", "exit"}} on one line of stdout. */
static void json_error(enum offpay_status s, char *sentence)
{
    json_t *msg = json_string(sentence);
    if (msg == NULL) {
        /* Not UTF-8 (a file name, say): the JSON says it with '?' for each odd byte. */
        for (char *p = sentence; *p; p++)
            if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
                *p = '?';
        msg = json_string(sentence);
    }
    json_t *obj = json_pack("{s:{s:s, s:o, s:i}}", "error", "code", offpay_status_code(s), "message",
                            msg ? msg : json_string("?"), "exit", offpay_status_exit_code(s));
    if (obj != NULL && json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0)
        fputc('\n', stdout);
    fflush(stdout);
    json_decref(obj);
}

/* Say sentence (and tail, on stderr only) as the failure s.  Returns: its exit code. */
static int say_failure(enum offpay_status s, char *sentence, const char *tail)
{
    fprintf(stderr, "%s: %s%s\n", program, sentence, tail ? tail : "");
    if (json_errors)
        json_error(s, sentence);
    return offpay_status_exit_code(s);
}

int cli_fail(enum offpay_status s, const char *fmt, ...)
{
    char sentence[SENTENCE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sentence, sizeof sentence, fmt, ap);
    va_end(ap);
    return say_failure(s, sentence, NULL);
}

int cli_usage_failv(const char *command, const char *usage, const char *fmt, va_list ap)
{
    char sentence[SENTENCE_MAX], tail[SENTENCE_MAX];
    vsnprintf(sentence, sizeof sentence, fmt, ap);
    if (usage != NULL)
        snprintf(tail, sizeof tail, " Usage: %s %s (see %s %s --help).", program, usage, program, command);
    else
        snprintf(tail, sizeof tail, " See %s %s --help.", program, command);
    return say_failure(OFFPAY_ERR_USAGE, sentence, tail);
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

/*
 * cli.h - what the commands of the offpay program share: the command table
 * entry, options and usage errors in a command's terms, reading and writing
 * message files.  Failures, the option parser and the program's name come
 * from the kit offpayd shares (src/cli/cli_kit.h): a failure is a status,
 * turned into the SPEC.md exit code only by offpay_status_exit_code.
 *
 * To add a command: write cmd_NAME.c with one `const struct cli_command
 * cli_cmd_NAME`, declare it below and list it in offpay.c's table.
 */
#ifndef OFFPAY_CLI_H
#define OFFPAY_CLI_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cli_kit.h"
#include "offpay/status.h"
#include "offpay/wallet.h"
#include "offpay/wallet_key.h"

/* What main hands every command. */
struct cli {
    const char *wallet_opt; /* --wallet DIR, or NULL */
    char wallet_dir[PATH_MAX]; /* resolved by cli_open_wallet */
    unsigned timeout;          /* offpay --timeout SECONDS before the command; 0: not given */
    const char *passphrase_file; /* --passphrase-file FILE, or NULL ($OFFPAY_PASSPHRASE_FILE) */
    const char *pin_file;        /* --pin-file FILE, or NULL ($OFFPAY_PIN_FILE) */
    int signs;                   /* the command signs: cli_open_wallet unlocks the key, asking if need be */
};

struct cli_command {
    const char *name;
    const char *usage;   /* one line: "pay REQUEST_FILE [--out FILE]" */
    const char *summary; /* one sentence for the command list */
    const char *help;    /* the rest of --help: what it does, options, exit codes */
    /* argv[0] is the command name; returns the exit code. */
    int (*run)(struct cli *c, int argc, char **argv);
};

extern const struct cli_command cli_cmd_init, cli_cmd_balance, cli_cmd_load, cli_cmd_unload, cli_cmd_request,
    cli_cmd_pay, cli_cmd_accept, cli_cmd_confirm, cli_cmd_sync, cli_cmd_pay_online, cli_cmd_history, cli_cmd_limits,
    cli_cmd_config, cli_cmd_lost;

/* The device-to-device commands (docs/transport.md): receive and scan, and
 * pay --to, which cmd_pay.c hands to cli_pay_to (cmd_pay_to.c). */
extern const struct cli_command cli_cmd_receive, cli_cmd_scan, cli_cmd_show;
/* The wallet's key (keys.c in the library; cmd_passphrase.c). */
extern const struct cli_command cli_cmd_passphrase;
int cli_pay_to(struct cli *c, int argc, char **argv);
/* On a terminal, before paying the request req[0..len): show it as `offpay
 * show` does and what paying it leaves, and ask.  Returns 0 to pay, or the
 * exit code (said: declined, exit 2) when the answer is not yes.  A payment
 * that cannot be made is not asked about (0: paying it fails as it would). */
int cli_pay_ask(struct offpay_wallet *w, const uint8_t *req, size_t len);
/* 1 when pay should ask: no --yes, and stdin and stderr are a terminal. */
int cli_pay_asks(int yes);
/* --timeout SECONDS (1..3600) into *ms; NULL leaves *ms.  Returns 0 or -1. */
int cli_timeout_ms(const char *s, int *ms);

/* ---- errors and exit codes ---- */

/* cli_fail (cli_kit.h) with the wallet's own sentence for s (offpay_wallet_error). */
int cli_wallet_fail(const struct offpay_wallet *w, enum offpay_status s);
/* A usage error for cmd: its sentence, then the usage line; exit 2. */
int cli_usage(const struct cli_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- options ---- */

/* cli_opts_parse_as (cli_kit.h) with cmd's name and usage line. */
int cli_opts_parse(const struct cli_command *cmd, struct cli_opts *o, int argc, char **argv);

/* Print cmd's --help on stdout; returns 0. */
int cli_help(const struct cli_command *cmd);

/* Open the wallet named by --wallet / $OFFPAY_WALLET / ~/.offpay, contacting
 * its server as cli_contact says, with cli_secret as its source of
 * passphrases and PINs and, for a command that signs, its key unlocked.  On
 * failure prints why and returns the exit code; *w is NULL. */
int cli_open_wallet(struct cli *c, struct offpay_wallet **w);
/* How the program contacts the server: --timeout, and on a terminal (stderr
 * is one) a one-line "contacting SERVER..." note once a call takes over a
 * second (docs/wallet.md "Settings"). */
struct offpay_wallet_contact cli_contact(const struct cli *c);

/* ---- money (docs/wallet.md "Money") ---- */

/* Count this run's amounts in w's money (cli_open_wallet does it). */
void cli_money_use(struct offpay_wallet *w);
/* The money in use: w's once a wallet was opened, else the default. */
const struct offpay_money *cli_money_of(void);
/* amount as money, "35.00 CNY": one of 8 static buffers, so up to 8 may
 * stand in one printf. */
const char *cli_money(uint64_t amount);
/* A positive amount argument: a plain integer is minor units, a number with
 * a point major units (offpay_amount_parse_money, with the wallet's
 * exponent).  Returns 0, or -1 (then report it with cli_amount_usage). */
int cli_amount_arg(struct cli *c, const char *s, uint64_t *out);
/* Add "currency" and "exponent" (cli_money_of) to obj, a JSON object or
 * NULL.  Returns: obj. */
json_t *cli_json_money(json_t *obj);
/* The usage error of an amount argument s that is refused; exit 2. */
int cli_amount_usage(const struct cli_command *cmd, const char *s);

/* The passphrase or PIN: from the file --passphrase-file / --pin-file names,
 * else $OFFPAY_PASSPHRASE_FILE / $OFFPAY_PIN_FILE, else - for a command that
 * signs (c->signs) - asked on the terminal.  An offpay_wallet_secret_fn
 * (wallet_key.h) with ctx a struct cli. */
enum offpay_status cli_secret(void *ctx, enum offpay_wallet_secret what, const char *token_label, char **secret,
                              char *err, size_t err_cap);

/* ---- messages as single-line text ---- */

/*
 * Read one message in text form from path ("-" = stdin).  want_type 0
 * accepts any known type.  Out: bin[0..*len), *type.  Returns OFFPAY_OK,
 * OFFPAY_ERR_USAGE (cannot read the file), or a malformation (exit 3); on
 * failure *why is a sentence.
 */
enum offpay_status cli_read_message(const char *path, int want_type, uint8_t *bin, size_t cap, size_t *len, int *type,
                                    char *why, size_t why_cap);
/* What a message of that type is, for a sentence: "a payment record". */
const char *cli_message_kind(int type);
/* The same as one word for JSON: "request", "record", "confirmation", ... */
const char *cli_message_kind_code(int type);

/*
 * Where a command's message goes: --out FILE, else stdout; and, with --qr,
 * its QR code drawn on the terminal (stdout when the message goes to a file,
 * else stderr, so stdout stays one line), with --qr-png FILE as a picture.
 * Opened before the wallet changes (so an unwritable path fails first),
 * written after.
 */
struct cli_output {
    const char *path; /* NULL: stdout */
    FILE *f;          /* NULL with --json and no --out: the message is in the JSON only */
    int created;      /* we created path: remove it if the command fails */
    int qr;           /* --qr */
    const char *qr_png; /* --qr-png FILE, or NULL */
    int qr_png_created;
    int json;         /* --json: stdout is one JSON object, which carries the message's text */
    char *text;       /* with --json, the text written, for cli_output_json_print */
};
/* The options every message-writing command takes (CLI_OUTPUT_N entries). */
#define CLI_OUTPUT_OPTS {"out", 1, NULL}, {"qr", 0, NULL}, {"qr-png", 1, NULL}, {"json", 0, NULL}
#define CLI_OUTPUT_N 4
int cli_output_open(struct cli_output *o, const char *path);           /* 0 or exit code */
/* cli_output_open with --out, --qr and --qr-png taken from parsed options. */
int cli_output_open_opts(struct cli_output *o, const struct cli_opts *opts);
int cli_output_write(struct cli_output *o, const uint8_t *bin, size_t len); /* 0 or exit code; closes */
void cli_output_abort(struct cli_output *o);
/* Where human notes go: stdout, unless the message itself or JSON goes there. */
FILE *cli_notes(const struct cli_output *o);
/* With --json, after cli_output_write: add "message" (the text) and "file"
 * (--out FILE or null) to obj, print it (cli_json_print) and free the text.
 * Returns 0 or the exit code. */
int cli_output_json_print(struct cli_output *o, json_t *obj);

/* ---- describing a message (cmd_show.c) ---- */

/*
 * What the encoded message bin (of type, as its text form said) is, as the
 * JSON object `offpay show --json` prints; with a wallet w (may be NULL) it
 * also says what was verified.  Returns: a new object, or NULL with *s the
 * malformation (exit 3), OFFPAY_ERR_STORAGE (offpay_wallet_error says it) or
 * OFFPAY_ERR_NOMEM.
 */
json_t *cli_message_describe(struct offpay_wallet *w, const uint8_t *bin, size_t len, int type, enum offpay_status *s);
/* The human form of a description of a message of type, on f. */
void cli_message_print(FILE *f, json_t *description, int type);

/* ---- printing ---- */

/* Print obj on stdout as one line of JSON and release it.  Returns 0 or 1. */
int cli_json_print(json_t *obj);
/* Lowercase hex of an id into a static-size buffer the caller provides. */
void cli_hex(char *out, const uint8_t *id, size_t len);
/* A payment the payer made (pay, pay --to) as JSON: kind "record", record id,
 * amount, payee, inputs, inputs_total, change.  NULL when out of memory. */
json_t *cli_payment_json(const struct offpay_wallet_payment *p);
/* out = the Unix time t as "YYYY-MM-DD HH:MM:SS UTC". */
void cli_utc(char out[32], uint64_t t);
/* The certificate lines of balance and sync (issue 13): nothing while the
 * certificate is far from its end; when it ends within 30 days or has
 * ended, one line saying when and what to do. */
void cli_cert_print(FILE *f, const struct offpay_wallet *w);

#endif

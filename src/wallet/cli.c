/*
 * cli.c - helpers shared by the commands of offpay (see cli.h); what offpayd
 * shares with them is in src/cli/cli_kit.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "offpay/crypto.h"
#include "offpay/messages.h"
#include "offpay/qr.h"
#include "offpay/secret.h"
#include "offpay/text.h"

int cli_wallet_fail(const struct offpay_wallet *w, enum offpay_status s)
{
    const char *why = offpay_wallet_error(w);
    return cli_fail(s, "%s", why && *why ? why : offpay_status_str(s));
}

int cli_usage(const struct cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cli_usage_failv(cmd->name, cmd->usage, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_help(const struct cli_command *cmd)
{
    printf("Usage: offpay [--wallet DIR] %s\n\n%s\n", cmd->usage, cmd->summary);
    if (cmd->help && *cmd->help)
        printf("\n%s", cmd->help);
    printf("\nThe wallet folder is --wallet DIR, else $OFFPAY_WALLET, else ~/.offpay.\n"
           "Exit codes: 0 ok, 1 internal error, 2 usage, 3 malformed input, 4 verification failed,\n"
           "5 not enough spendable offline funds, 6 offline limit reached, 7 server unreachable,\n"
           "8 rejected by the server, 9 the key is unavailable (e.g. a key file others may read).\n");
    return 0;
}

int cli_opts_parse(const struct cli_command *cmd, struct cli_opts *o, int argc, char **argv)
{
    return cli_opts_parse_as(cmd->name, cmd->usage, o, argc, argv);
}

/* Said once per run, however many calls are slow: the person needs to know
 * the program waits on the network, not a line per call. */
static void note_slow(void *ctx, const char *server_url)
{
    static int told;
    (void)ctx;
    if (!told) {
        told = 1;
        fprintf(stderr, "%s: contacting %s...\n", cli_program(), server_url);
    }
}

struct offpay_wallet_contact cli_contact(const struct cli *c)
{
    struct offpay_wallet_contact k = {c->timeout, isatty(STDERR_FILENO) ? note_slow : NULL, NULL};
    return k;
}

int cli_open_wallet(struct cli *c, struct offpay_wallet **w)
{
    char err[OFFPAY_WALLET_ERROR_MAX];
    *w = NULL;
    if (offpay_wallet_dir(c->wallet_dir, sizeof c->wallet_dir, c->wallet_opt) != OFFPAY_OK)
        return cli_fail(OFFPAY_ERR_USAGE, "No wallet folder: give --wallet DIR or set OFFPAY_WALLET or HOME.");
    enum offpay_status s = offpay_wallet_open(w, err, c->wallet_dir);
    if (s != OFFPAY_OK)
        return cli_fail(s, "%s", err[0] ? err : offpay_status_str(s));
    struct offpay_wallet_contact k = cli_contact(c);
    offpay_wallet_contact_set(*w, &k);
    cli_money_use(*w);
    offpay_wallet_set_secret_source(*w, cli_secret, c);
    if (c->signs && (s = offpay_wallet_unlock(*w)) != OFFPAY_OK) {
        int rc = cli_wallet_fail(*w, s);
        offpay_wallet_close(*w);
        *w = NULL;
        return rc;
    }
    return 0;
}

enum offpay_status cli_secret(void *ctx, enum offpay_wallet_secret what, const char *token_label, char **secret,
                              char *err, size_t err_cap)
{
    struct cli *c = ctx;
    int pin = what == OFFPAY_WALLET_SECRET_PIN;
    const char *file = pin ? c->pin_file : c->passphrase_file;
    char prompt[128];

    if (file == NULL || *file == '\0')
        file = getenv(pin ? "OFFPAY_PIN_FILE" : "OFFPAY_PASSPHRASE_FILE");
    if (file != NULL && *file != '\0')
        return offpay_secret_from_file(secret, err, err_cap, file);
    if (!c->signs) {
        *secret = NULL;
        snprintf(err, err_cap, "the wallet's key is %s and this command does not ask for its %s (give %s FILE or $%s)",
                 pin ? "in a token" : "sealed with a passphrase", pin ? "PIN" : "passphrase",
                 pin ? "--pin-file" : "--passphrase-file", pin ? "OFFPAY_PIN_FILE" : "OFFPAY_PASSPHRASE_FILE");
        return OFFPAY_ERR_KEY_UNAVAILABLE;
    }
    if (pin)
        snprintf(prompt, sizeof prompt, "PIN of the token \"%s\": ", token_label ? token_label : "");
    else
        snprintf(prompt, sizeof prompt, "Passphrase of the wallet: ");
    return offpay_secret_from_tty(secret, err, err_cap, prompt, 0);
}

/* ---- money ---- */

/* What this run's amounts are counted in: the default until a wallet is opened. */
static struct offpay_money money;
static int money_known;

void cli_money_use(struct offpay_wallet *w)
{
    if (offpay_wallet_money(w, &money) == OFFPAY_OK)
        money_known = 1;
    else
        offpay_money_default(&money);
}

const struct offpay_money *cli_money_of(void)
{
    if (!money_known && money.code[0] == '\0')
        offpay_money_default(&money);
    return &money;
}

const char *cli_money(uint64_t amount)
{
    static char ring[8][OFFPAY_MONEY_TEXT_MAX];
    static unsigned next;
    char *out = ring[next++ % 8];
    return offpay_amount_format(out, OFFPAY_MONEY_TEXT_MAX, amount, cli_money_of());
}

int cli_amount_arg(struct cli *c, const char *s, uint64_t *out)
{
    if (s == NULL)
        return -1;
    if (strchr(s, '.') != NULL && !money_known) {
        /* Major units need the exponent, which the wallet's policy holds;
         * a wallet that cannot be opened is reported by the command itself. */
        struct offpay_wallet *w = NULL;
        char err[OFFPAY_WALLET_ERROR_MAX];
        if (offpay_wallet_dir(c->wallet_dir, sizeof c->wallet_dir, c->wallet_opt) == OFFPAY_OK &&
            offpay_wallet_open(&w, err, c->wallet_dir) == OFFPAY_OK) {
            cli_money_use(w);
            offpay_wallet_close(w);
        }
    }
    return offpay_amount_parse_money(out, s, cli_money_of()->exponent) == 0 && *out > 0 ? 0 : -1;
}

json_t *cli_json_money(json_t *obj)
{
    if (obj != NULL) {
        json_object_set_new(obj, "currency", json_string(cli_money_of()->code));
        json_object_set_new(obj, "exponent", json_integer(cli_money_of()->exponent));
    }
    return obj;
}

int cli_amount_usage(const struct cli_command *cmd, const char *s)
{
    const struct offpay_money *m = cli_money_of();
    if (m->exponent == 0)
        return cli_usage(cmd, "\"%s\" is not an amount: give a positive whole number (%s has no minor unit).", s,
                         m->code);
    return cli_usage(cmd,
                     "\"%s\" is not an amount: give a positive whole number of minor units (3500), or %s with a "
                     "point and at most %u decimals (35.00).",
                     s, m->code, (unsigned)m->exponent);
}

/* ---- message files ---- */

enum offpay_status cli_read_message(const char *path, int want_type, uint8_t *bin, size_t cap, size_t *len, int *type,
                                    char *why, size_t why_cap)
{
    /* The longest text form any message the commands read can take, with a line end. */
    size_t max = offpay_text_len(OFFPAY_MESSAGE_BYTES_MAX) + 2;
    char *text = malloc(max + 1);
    size_t n = 0;
    enum offpay_status s;
    FILE *f;

    *len = 0;
    *type = 0;
    if (text == NULL) {
        snprintf(why, why_cap, "Out of memory.");
        return OFFPAY_ERR_NOMEM;
    }
    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, why_cap, "Cannot read %s: %s.", path, strerror(errno));
        free(text);
        return OFFPAY_ERR_USAGE;
    }
    n = fread(text, 1, max + 1, f);
    int bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad) {
        snprintf(why, why_cap, "Cannot read %s.", path);
        s = OFFPAY_ERR_USAGE;
    } else if (n == 0) {
        snprintf(why, why_cap, "%s is empty; it holds no offpay message.", path);
        s = OFFPAY_ERR_TRUNCATED;
    } else if (n > max) {
        snprintf(why, why_cap, "%s is too large to be an offpay message.", path);
        s = OFFPAY_ERR_MALFORMED;
    } else if (memchr(text, '\0', n) != NULL) {
        snprintf(why, why_cap, "%s is not an offpay message (it holds binary data).", path);
        s = OFFPAY_ERR_BAD_TEXT;
    } else if ((s = offpay_text_decode(bin, cap, len, type, want_type, text, n)) != OFFPAY_OK) {
        if (s == OFFPAY_ERR_WRONG_TYPE && want_type)
            snprintf(why, why_cap, "%s is not a %s message.", path, offpay_text_prefix(want_type));
        else
            snprintf(why, why_cap, "%s: %s", path, offpay_status_str(s));
        if (s == OFFPAY_ERR_BUFFER_TOO_SMALL)
            s = OFFPAY_ERR_MALFORMED;
    }
    free(text);
    return s;
}

const char *cli_message_kind(int type)
{
    switch (type) {
    case OFFPAY_MSG_CERT: return "a wallet certificate";
    case OFFPAY_MSG_UTXO: return "a coin";
    case OFFPAY_MSG_REQUEST: return "a payment request";
    case OFFPAY_MSG_RECORD: return "a payment record";
    case OFFPAY_MSG_CONFIRMATION: return "a confirmation";
    case OFFPAY_MSG_REFUSAL: return "a refusal";
    case OFFPAY_MSG_REVOCATION: return "a revocation list";
    case OFFPAY_MSG_LIMITS: return "a limits document";
    case OFFPAY_MSG_STAMP: return "a sync stamp";
    default: return "an unknown kind of message";
    }
}

const char *cli_message_kind_code(int type)
{
    switch (type) {
    case OFFPAY_MSG_CERT: return "certificate";
    case OFFPAY_MSG_UTXO: return "coin";
    case OFFPAY_MSG_REQUEST: return "request";
    case OFFPAY_MSG_RECORD: return "record";
    case OFFPAY_MSG_CONFIRMATION: return "confirmation";
    case OFFPAY_MSG_REFUSAL: return "refusal";
    case OFFPAY_MSG_REVOCATION: return "revocation_list";
    case OFFPAY_MSG_LIMITS: return "limits";
    case OFFPAY_MSG_STAMP: return "stamp";
    default: return "unknown";
    }
}

int cli_output_open(struct cli_output *o, const char *path)
{
    memset(o, 0, sizeof *o);
    if (path == NULL || strcmp(path, "-") == 0) {
        o->f = stdout;
        return 0;
    }
    o->path = path;
    int existed = access(path, F_OK) == 0;
    o->f = fopen(path, "w");
    if (o->f == NULL)
        return cli_fail(OFFPAY_ERR_USAGE, "Cannot write %s: %s; nothing changed.", path, strerror(errno));
    o->created = !existed;
    return 0;
}

int cli_output_open_opts(struct cli_output *o, const struct cli_opts *opts)
{
    int rc = cli_output_open(o, cli_opt(opts, "out"));
    if (rc != 0)
        return rc;
    o->json = cli_opt(opts, "json") != NULL;
    if (o->json && o->path == NULL)
        o->f = NULL; /* stdout holds the JSON, which carries the message */
    o->qr = cli_opt(opts, "qr") != NULL;
    o->qr_png = cli_opt(opts, "qr-png");
    if (o->qr_png != NULL) {
        /* Fail before the wallet changes if the picture cannot be written. */
        int existed = access(o->qr_png, F_OK) == 0;
        FILE *f = fopen(o->qr_png, "a");
        if (f == NULL) {
            cli_output_abort(o);
            return cli_fail(OFFPAY_ERR_USAGE, "Cannot write %s: %s; nothing changed.", o->qr_png, strerror(errno));
        }
        fclose(f);
        o->qr_png_created = !existed;
    }
    return 0;
}

/* Draw and/or write the QR code of text.  Returns 0 or an exit code. */
static int output_qr(struct cli_output *o, const char *text)
{
    enum offpay_status s;
    if (o->qr_png != NULL && (s = offpay_qr_text_to_png(o->qr_png, text, 0)) != OFFPAY_OK)
        return cli_fail(s, "Writing the QR picture %s failed: %s", o->qr_png, offpay_status_str(s));
    if (o->qr) {
        FILE *f = cli_notes(o);
        /* Black on white whatever the terminal's colours, when it is one. */
        unsigned flags = isatty(fileno(f)) ? OFFPAY_QR_ANSI : 0;
        if ((s = offpay_qr_text_print(f, text, flags)) != OFFPAY_OK)
            return cli_fail(s, "Drawing the QR code failed: %s", offpay_status_str(s));
    }
    return 0;
}

int cli_output_write(struct cli_output *o, const uint8_t *bin, size_t len)
{
    size_t cap = offpay_text_len(len) + 1;
    char *text = malloc(cap);
    int rc = 0;
    if (text == NULL || offpay_text_encode(text, cap, bin, len) != OFFPAY_OK) {
        rc = cli_fail(OFFPAY_ERR_INTERNAL, "The message cannot be written as text.");
    } else if (o->f != NULL && (fprintf(o->f, "%s\n", text) < 0 || fflush(o->f) != 0 ||
                                (o->f != stdout && fsync(fileno(o->f)) != 0 && errno != EINVAL))) {
        rc = cli_fail(OFFPAY_ERR_INTERNAL, "Writing %s failed.", o->path ? o->path : "the message");
    } else {
        rc = output_qr(o, text);
    }
    if (rc == 0 && o->json) {
        o->text = text;
        text = NULL;
    }
    free(text);
    if (o->f != NULL && o->f != stdout)
        fclose(o->f);
    o->f = NULL;
    return rc;
}

int cli_output_json_print(struct cli_output *o, json_t *obj)
{
    json_t *msg = o->text ? json_string(o->text) : NULL;
    free(o->text);
    o->text = NULL;
    if (obj == NULL || msg == NULL) {
        json_decref(obj);
        json_decref(msg);
        return cli_fail(OFFPAY_ERR_NOMEM, "Out of memory.");
    }
    json_object_set_new(obj, "message", msg);
    json_object_set_new(obj, "file", o->path ? json_string(o->path) : json_null());
    return cli_json_print(obj);
}

void cli_output_abort(struct cli_output *o)
{
    if (o->f && o->f != stdout) {
        fclose(o->f);
        if (o->created)
            unlink(o->path);
    }
    if (o->qr_png != NULL && o->qr_png_created)
        unlink(o->qr_png);
    o->qr_png = NULL;
    o->f = NULL;
    free(o->text);
    o->text = NULL;
}

FILE *cli_notes(const struct cli_output *o) { return o->path == NULL || o->json ? stderr : stdout; }

int cli_json_print(json_t *obj)
{
    if (obj == NULL)
        return cli_fail(OFFPAY_ERR_NOMEM, "Out of memory.");
    int rc = json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0 ? 0 : 1;
    fputc('\n', stdout);
    json_decref(obj);
    return rc;
}

void cli_hex(char *out, const uint8_t *id, size_t len) { offpay_hex(out, id, len); }

json_t *cli_payment_json(const struct offpay_wallet_payment *p)
{
    char hex[2 * OFFPAY_RECORD_ID_BYTES + 1];
    cli_hex(hex, p->record_id, OFFPAY_RECORD_ID_BYTES);
    return cli_json_money(json_pack("{s:s, s:s, s:I, s:s, s:I, s:I, s:I}", "kind", "record", "record", hex, "amount",
                                    (json_int_t)p->amount, "payee", p->counterparty, "inputs", (json_int_t)p->n_inputs,
                                    "inputs_total", (json_int_t)p->inputs_total, "change", (json_int_t)p->change));
}

void cli_utc(char out[32], uint64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, 32, "%llu", (unsigned long long)t);
}

void cli_cert_print(FILE *f, const struct offpay_wallet *w)
{
    struct offpay_wallet_cert_info ci;
    char when[32];
    offpay_wallet_cert_info(w, &ci);
    cli_utc(when, ci.not_after);
    if (ci.expired)
        fprintf(f, "certificate:    ENDED at %s: payees refuse this wallet. Run `offpay sync` to renew it; if the "
                   "server refuses (a revoked wallet), enrol a new device with `offpay init`.\n", when);
    else if (ci.renew_due)
        fprintf(f, "certificate:    ends at %s; run `offpay sync` to renew it.\n", when);
}

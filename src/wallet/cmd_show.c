/*
 * cmd_show.c - offpay show FILE|-: say what an offpay message is (kind,
 * parties, amount, coins, validity, signatures), from its text form or a QR
 * picture, and verify what the wallet can verify offline.  Needs no wallet:
 * without one it decodes and says that nothing was verified.
 *
 * The description is built once as JSON (cli_message_describe); --json
 * prints it and the human form walks the same object, so the two never
 * disagree.  `offpay pay` on a terminal shows a request the same way before
 * it asks.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "offpay/crypto.h"
#include "offpay/messages.h"
#include "offpay/protocol.h"
#include "offpay/qr.h"
#include "offpay/text.h"

static json_t *hex_json(const uint8_t *b, size_t n)
{
    char hex[2 * 64 + 1];
    if (n > 64)
        return json_null();
    offpay_hex(hex, b, n);
    return json_string(hex);
}

/* A certificate's holder: account, wallet id, key, validity. */
static json_t *cert_json(const struct offpay_cert *c)
{
    return json_pack("{s:s, s:o, s:o, s:I, s:I}", "account", c->account, "wallet_id",
                     hex_json(c->wallet_id, OFFPAY_WALLET_ID_BYTES), "public_key",
                     hex_json(c->public_key, OFFPAY_PUBLIC_KEY_BYTES), "valid_from", (json_int_t)c->not_before,
                     "valid_until", (json_int_t)c->not_after);
}

static json_t *limits_json(const struct offpay_limits *l)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "per_payment", (json_int_t)l->per_payment, "offline_total",
                     (json_int_t)l->offline_total, "count", (json_int_t)l->count, "period", (json_int_t)l->period,
                     "holding", (json_int_t)l->holding, "offline_time", (json_int_t)l->offline_time);
}

static const char *refusal_reason(uint8_t r)
{
    switch (r) {
    case OFFPAY_REFUSE_INVALID: return "invalid";
    case OFFPAY_REFUSE_WRONG_AMOUNT: return "wrong_amount";
    case OFFPAY_REFUSE_DECLINED: return "declined";
    case OFFPAY_REFUSE_REVOKED: return "revoked";
    default: return "unknown";
    }
}

/* A sync stamp: whose, when the issuer says it synced, and until when a
 * payee whose offline time limit is offline_time takes it (null: no limit
 * known, offline_time 0). */
static json_t *stamp_json(const struct offpay_stamp *st, uint32_t offline_time)
{
    return json_pack("{s:o, s:I, s:o}", "wallet_id", hex_json(st->wallet_id, OFFPAY_WALLET_ID_BYTES), "synced_at",
                     (json_int_t)st->synced_at, "valid_until",
                     offline_time && st->synced_at <= (uint64_t)INT64_MAX - offline_time
                         ? json_integer((json_int_t)(st->synced_at + offline_time))
                         : json_null());
}

/* The fields of a record: parties, amounts, coins in and out, the payer's stamp. */
static json_t *record_json(const struct offpay_record *r, const uint8_t *own_key, uint32_t offline_time)
{
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    json_t *in = json_array(), *out = json_array(), *stamp = json_null();
    offpay_record_id(id, r);
    for (unsigned i = 0; i < r->n_inputs; i++)
        json_array_append_new(in, json_pack("{s:o, s:I}", "id", hex_json(r->inputs[i].id, OFFPAY_UTXO_ID_BYTES),
                                            "amount", (json_int_t)r->inputs[i].amount));
    for (unsigned k = 0; k < (r->change_amount ? 2u : 1u); k++) {
        struct offpay_utxo u;
        if (offpay_record_output(&u, r, id, k) == OFFPAY_OK)
            json_array_append_new(out, json_pack("{s:o, s:I, s:s}", "id", hex_json(u.id, OFFPAY_UTXO_ID_BYTES),
                                                 "amount", (json_int_t)u.amount, "to", k ? "payer" : "payee"));
    }
    if (r->has_stamp && (stamp = stamp_json(&r->stamp, offline_time)) != NULL)
        json_object_set_new(stamp, "names_payer",
                            json_boolean(memcmp(r->stamp.wallet_id, r->payer.wallet_id, OFFPAY_WALLET_ID_BYTES) == 0));
    json_t *payee = json_pack("{s:o}", "public_key", hex_json(r->payee_key, OFFPAY_PUBLIC_KEY_BYTES));
    if (own_key != NULL)
        json_object_set_new(payee, "this_wallet",
                            json_boolean(memcmp(own_key, r->payee_key, OFFPAY_PUBLIC_KEY_BYTES) == 0));
    return json_pack("{s:o, s:o, s:o?, s:o, s:I, s:I, s:o, s:I, s:I, s:o, s:o}", "record", hex_json(id, sizeof id),
                     "payer", cert_json(&r->payer), "stamp", stamp, "payee", payee, "amount",
                     (json_int_t)r->payee_amount, "change", (json_int_t)r->change_amount, "request_nonce",
                     hex_json(r->nonce, OFFPAY_NONCE_BYTES), "created", (json_int_t)r->created, "sequence",
                     (json_int_t)r->seq, "inputs", in, "outputs", out);
}

/* The fields of a decoded message and its signatures; NULL when out of memory. */
static json_t *fields_json(const struct offpay_message *msg, const uint8_t *own_key, uint32_t offline_time)
{
    static const uint8_t zero_id[OFFPAY_WALLET_ID_BYTES];
    const struct offpay_limits_policy *l = &msg->m.limits;
    json_t *o = NULL;

    switch (msg->type) {
    case OFFPAY_MSG_CERT:
        return json_pack("{s:o, s:[s]}", "holder", cert_json(&msg->m.cert), "signatures", "issuer");
    case OFFPAY_MSG_UTXO:
        o = json_pack("{s:o, s:I, s:o, s:[s]}", "id", hex_json(msg->m.utxo.id, OFFPAY_UTXO_ID_BYTES), "amount",
                      (json_int_t)msg->m.utxo.amount, "owner_key", hex_json(msg->m.utxo.owner, OFFPAY_PUBLIC_KEY_BYTES),
                      "signatures", "issuer");
        if (o && own_key)
            json_object_set_new(o, "owner_is_this_wallet",
                                json_boolean(memcmp(own_key, msg->m.utxo.owner, OFFPAY_PUBLIC_KEY_BYTES) == 0));
        return o;
    case OFFPAY_MSG_REQUEST:
        return json_pack("{s:o, s:I, s:o, s:[s, s]}", "payee", cert_json(&msg->m.request.payee), "amount",
                         (json_int_t)msg->m.request.amount, "nonce", hex_json(msg->m.request.nonce, OFFPAY_NONCE_BYTES),
                         "signatures", "payee", "issuer (payee's certificate)");
    case OFFPAY_MSG_RECORD:
        if ((o = record_json(&msg->m.record, own_key, offline_time)) != NULL)
            json_object_set_new(o, "signatures",
                                msg->m.record.has_stamp
                                    ? json_pack("[s, s, s, s]", "payer", "issuer (payer's certificate)",
                                                "issuer (payer's sync stamp)", "issuer (each input coin)")
                                    : json_pack("[s, s, s]", "payer", "issuer (payer's certificate)",
                                                "issuer (each input coin)"));
        return o;
    case OFFPAY_MSG_CONFIRMATION:
        return json_pack("{s:o, s:s, s:o, s:[s, s]}", "record",
                         hex_json(msg->m.confirmation.record_id, OFFPAY_RECORD_ID_BYTES), "answer", "confirmed", "payee",
                         cert_json(&msg->m.confirmation.payee), "signatures", "payee", "issuer (payee's certificate)");
    case OFFPAY_MSG_REFUSAL:
        return json_pack("{s:o, s:s, s:s, s:[s]}", "record", hex_json(msg->m.refusal.record_id, OFFPAY_RECORD_ID_BYTES),
                         "answer", "refused", "reason", refusal_reason(msg->m.refusal.reason), "signatures", "payee");
    case OFFPAY_MSG_REVOCATION: {
        json_t *ids = json_array();
        for (uint32_t i = 0; ids && i < msg->m.revocation.count; i++)
            json_array_append_new(ids, hex_json(msg->m.revocation.ids + (size_t)i * OFFPAY_WALLET_ID_BYTES,
                                                OFFPAY_WALLET_ID_BYTES));
        return json_pack("{s:I, s:I, s:I, s:o, s:[s]}", "serial", (json_int_t)msg->m.revocation.serial, "issued_at",
                         (json_int_t)msg->m.revocation.issued_at, "count", (json_int_t)msg->m.revocation.count,
                         "wallet_ids", ids, "signatures", "issuer");
    }
    case OFFPAY_MSG_LIMITS:
        return json_pack("{s:o, s:o, s:I, s:[s]}", "wallet_id",
                         memcmp(l->wallet_id, zero_id, sizeof zero_id) == 0 ? json_null()
                                                                            : hex_json(l->wallet_id, OFFPAY_WALLET_ID_BYTES),
                         "limits", limits_json(&l->limits), "issued_at", (json_int_t)l->issued_at, "signatures",
                         "issuer");
    case OFFPAY_MSG_STAMP:
        if ((o = stamp_json(&msg->m.stamp, offline_time)) != NULL)
            json_object_set_new(o, "signatures", json_pack("[s]", "issuer"));
        return o;
    default:
        return NULL;
    }
}

json_t *cli_message_describe(struct offpay_wallet *w, const uint8_t *bin, size_t len, int type, enum offpay_status *s)
{
    struct offpay_message *msg = malloc(sizeof *msg);
    struct offpay_wallet_limits lim;
    uint32_t offline_time = 0;
    json_t *fields = NULL;
    if (msg == NULL) {
        *s = OFFPAY_ERR_NOMEM;
        return NULL;
    }
    if (w != NULL && (*s = offpay_wallet_limits(w, &lim)) != OFFPAY_OK) {
        free(msg);
        return NULL;
    }
    if (w != NULL)
        offline_time = lim.effective.offline_time;
    /* A type the text form names and the binary's type byte disagree on cannot happen (text_decode checks). */
    if ((*s = offpay_message_decode(msg, bin, len)) == OFFPAY_OK &&
        (msg->type != type || (fields = fields_json(msg, w ? offpay_wallet_cert(w)->public_key : NULL, offline_time)) == NULL))
        *s = msg->type != type ? OFFPAY_ERR_WRONG_TYPE : OFFPAY_ERR_NOMEM;
    free(msg);
    if (fields == NULL)
        return NULL;
    const char *prefix = offpay_text_prefix(type);
    json_t *o = json_pack("{s:s, s:s#, s:I}", "kind", cli_message_kind_code(type), "prefix", prefix,
                          (int)strlen(prefix) - 1, "bytes", (json_int_t)len);
    if (o == NULL || json_object_update(o, fields) != 0) {
        json_decref(o);
        json_decref(fields);
        *s = OFFPAY_ERR_NOMEM;
        return NULL;
    }
    json_decref(fields);
    json_t *v;
    if (w == NULL) {
        v = json_null();
    } else {
        char what[256];
        int checked = 0;
        enum offpay_status vs = offpay_wallet_check_message(w, bin, len, &checked, what, sizeof what);
        if (vs == OFFPAY_ERR_STORAGE || vs == OFFPAY_ERR_NOMEM) {
            json_decref(o);
            *s = vs;
            return NULL;
        }
        v = json_pack("{s:b, s:b, s:s, s:s*, s:s*}", "checked", checked, "ok", vs == OFFPAY_OK, "what", what, "code",
                      vs == OFFPAY_OK ? NULL : offpay_status_code(vs), "error",
                      vs == OFFPAY_OK ? NULL : offpay_wallet_error(w));
    }
    json_object_set_new(o, "verified", v ? v : json_null());
    *s = OFFPAY_OK;
    return o;
}

/* ---- the human form ---- */

static int is_time_key(const char *k)
{
    return strcmp(k, "valid_from") == 0 || strcmp(k, "valid_until") == 0 || strcmp(k, "created") == 0 ||
           strcmp(k, "issued_at") == 0 || strcmp(k, "synced_at") == 0;
}

static int is_money_key(const char *k)
{
    return strcmp(k, "amount") == 0 || strcmp(k, "change") == 0 || strcmp(k, "per_payment") == 0 ||
           strcmp(k, "offline_total") == 0 || strcmp(k, "holding") == 0;
}

static void print_scalar(FILE *f, const char *key, json_t *v)
{
    if (json_is_integer(v) && is_money_key(key) && json_integer_value(v) >= 0) {
        fprintf(f, "%s", cli_money((uint64_t)json_integer_value(v)));
    } else if (json_is_string(v)) {
        fprintf(f, "%s", json_string_value(v));
    } else if (json_is_integer(v) && is_time_key(key)) {
        char when[40] = "?";
        time_t t = (time_t)json_integer_value(v);
        struct tm tm;
        if (gmtime_r(&t, &tm) != NULL)
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
        fprintf(f, "%s (%lld)", when, (long long)json_integer_value(v));
    } else if (json_is_integer(v)) {
        fprintf(f, "%lld", (long long)json_integer_value(v));
    } else if (json_is_boolean(v)) {
        fprintf(f, "%s", json_is_true(v) ? "yes" : "no");
    } else if (json_is_null(v) && strcmp(key, "valid_until") == 0) {
        fprintf(f, "no limit known here (the payee's offline time limit decides)");
    } else {
        fprintf(f, "none");
    }
}

/* Print obj's members as "key: value" lines at indent; nested objects and
 * arrays one level deeper, an array of objects one line per element. */
static void print_object(FILE *f, json_t *obj, int indent)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        char label[40];
        snprintf(label, sizeof label, "%s:", key);
        for (char *p = label; *p; p++)
            if (*p == '_')
                *p = ' ';
        if (json_is_object(v)) {
            fprintf(f, "%*s%s\n", indent, "", label);
            print_object(f, v, indent + 2);
        } else if (json_is_array(v)) {
            size_t i;
            json_t *e;
            if (json_array_size(v))
                fprintf(f, "%*s%s\n", indent, "", label);
            else
                fprintf(f, "%*s%-*s none\n", indent, "", 18 - indent, label);
            json_array_foreach(v, i, e) {
                if (json_is_object(e)) {
                    const char *k2;
                    json_t *v2;
                    int first = 1;
                    fprintf(f, "%*s- ", indent + 2, "");
                    json_object_foreach(e, k2, v2) {
                        fprintf(f, "%s%s ", first ? "" : ", ", k2);
                        print_scalar(f, k2, v2);
                        first = 0;
                    }
                    fputc('\n', f);
                } else {
                    fprintf(f, "%*s- ", indent + 2, "");
                    print_scalar(f, key, e);
                    fputc('\n', f);
                }
            }
        } else {
            fprintf(f, "%*s%-*s ", indent, "", 18 - indent, label);
            print_scalar(f, key, v);
            fputc('\n', f);
        }
    }
}

void cli_message_print(FILE *f, json_t *d, int type)
{
    const char *kind = cli_message_kind(type); /* "a payment record" */
    json_t *copy = json_copy(d);
    if (copy == NULL)
        return;
    json_t *v = json_incref(json_object_get(copy, "verified"));
    fprintf(f, "%c%s (%s, %lld bytes)\n", 'A' - 'a' + kind[0], kind + 1,
            json_string_value(json_object_get(copy, "prefix")), (long long)json_integer_value(json_object_get(copy, "bytes")));
    json_object_del(copy, "kind");
    json_object_del(copy, "prefix");
    json_object_del(copy, "bytes");
    json_object_del(copy, "verified");
    print_object(f, copy, 2);
    if (v == NULL || json_is_null(v))
        fprintf(f, "  verified:        nothing (no wallet here to check it against)\n");
    else if (!json_is_true(json_object_get(v, "checked")))
        fprintf(f, "  verified:        %s\n", json_string_value(json_object_get(v, "what")));
    else if (json_is_true(json_object_get(v, "ok")))
        fprintf(f, "  verified:        yes: %s\n", json_string_value(json_object_get(v, "what")));
    else
        fprintf(f, "  verified:        NO: %s\n", json_string_value(json_object_get(v, "error")));
    json_decref(v);
    json_decref(copy);
}

/* ---- reading ---- */

/* 1 when path is a file that begins like a PNG picture. */
static int is_png(const char *path)
{
    static const uint8_t magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t head[8];
    if (strcmp(path, "-") == 0)
        return 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return n == sizeof head && memcmp(head, magic, sizeof magic) == 0;
}

/* Read the message at path (text, or a QR picture).  Returns 0 or the exit code (said). */
static int read_any(const char *path, uint8_t *bin, size_t cap, size_t *len, int *type)
{
    char why[512];
    enum offpay_status s;
    if (is_png(path)) {
        static char text[OFFPAY_QR_TEXT_MAX + 1];
        size_t n = 0;
        s = offpay_qr_png_scan(text, sizeof text, &n, path);
        if (s == OFFPAY_ERR_STORAGE)
            return cli_fail(OFFPAY_ERR_USAGE, "Cannot read %s.", path);
        if (s == OFFPAY_ERR_NO_CODE)
            return cli_fail(s, "%s holds no QR code with an offpay message.", path);
        if (s != OFFPAY_OK)
            return cli_fail(s, "%s is not a PNG picture offpay can read.", path);
        s = offpay_text_decode(bin, cap, len, type, 0, text, n);
        if (s != OFFPAY_OK)
            return cli_fail(s == OFFPAY_ERR_BUFFER_TOO_SMALL ? OFFPAY_ERR_MALFORMED : s, "%s: %s", path,
                            offpay_status_str(s));
        return 0;
    }
    s = cli_read_message(path, 0, bin, cap, len, type, why, sizeof why);
    return s == OFFPAY_OK ? 0 : cli_fail(s, "%s", why);
}

/* The wallet, when there is one; show works without. */
static struct offpay_wallet *maybe_wallet(struct cli *c)
{
    char db[PATH_MAX + 16], err[OFFPAY_WALLET_ERROR_MAX];
    struct offpay_wallet *w = NULL;
    if (offpay_wallet_dir(c->wallet_dir, sizeof c->wallet_dir, c->wallet_opt) != OFFPAY_OK)
        return NULL;
    snprintf(db, sizeof db, "%s/%s", c->wallet_dir, OFFPAY_WALLET_DB_FILE);
    if (access(db, F_OK) != 0)
        return NULL;
    if (offpay_wallet_open(&w, err, c->wallet_dir) != OFFPAY_OK) {
        /* A wallet is there but cannot be used: say so, rather than let "nothing verified" look like no wallet. */
        fprintf(stderr, "%s: note: the wallet in %s cannot be opened (%s); nothing is verified.\n", cli_program(),
                c->wallet_dir, err);
        return NULL;
    }
    cli_money_use(w);
    return w;
}

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"json", 0, NULL}};
    struct cli_opts o = {opt, 1, {0}, 0, 0};
    static uint8_t bin[OFFPAY_MESSAGE_BYTES_MAX];
    size_t len = 0;
    int type = 0, rc;

    if (cli_opts_parse(&cli_cmd_show, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_show);
    if (o.n_pos != 1)
        return cli_usage(&cli_cmd_show, "Give one message file, a QR picture, or - for stdin.");
    if ((rc = read_any(o.pos[0], bin, sizeof bin, &len, &type)) != 0)
        return rc;
    struct offpay_wallet *w = maybe_wallet(c);
    enum offpay_status s;
    json_t *d = cli_message_describe(w, bin, len, type, &s);
    if (d == NULL) {
        rc = s == OFFPAY_ERR_STORAGE ? cli_wallet_fail(w, s)
             : offpay_status_exit_code(s) == OFFPAY_EXIT_MALFORMED
                 ? cli_fail(s, "%s holds %s that is malformed: %s", o.pos[0], cli_message_kind(type), offpay_status_str(s))
                 : cli_fail(s, "%s", offpay_status_str(s));
    } else if (cli_opt(&o, "json")) {
        rc = cli_json_print(cli_json_money(d));
    } else {
        cli_message_print(stdout, d, type);
        json_decref(d);
        rc = fflush(stdout) == 0 ? 0 : cli_fail(OFFPAY_ERR_INTERNAL, "Writing the description failed.");
    }
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_show = {
    "show", "show FILE|- [--json]",
    "Say what an offpay message is: kind, parties, amount, coins, validity.",
    "Reads one message in its text form (OP1REQ:..., OP1REC:..., ...) from FILE or\n"
    "stdin (-), or the QR code in a PNG picture FILE, and prints its kind, who it\n"
    "names (accounts, wallet ids, keys), the amount, the coins it spends and makes,\n"
    "its times (certificate validity, when a record was made) and the signatures\n"
    "it carries.  When there is a wallet it also verifies what can be verified\n"
    "offline (certificates against the issuer key the wallet knows and its\n"
    "revocation list, signatures, coins' attestations) and says what it checked\n"
    "and whether it held; without one it says nothing was verified.  It changes\n"
    "nothing.  Exit 0 whenever the message decodes (verification is reported, not\n"
    "an exit code); 3 when it is not a well-formed offpay message.\n",
    run,
};

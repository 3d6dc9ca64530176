/*
 * sync_body.c - the strict one-pass reader of a POST /v1/sync body (see
 * sync_body.h).  It follows the JSON grammar of RFC 8259 exactly (strings
 * must be valid UTF-8 without raw control characters, numbers in JSON's own
 * form, nesting at most DEPTH_MAX deep), skips what it does not need, and
 * remembers only where the strings it needs lie.
 */
#include <stdio.h>
#include <string.h>

#include "sync_body.h"

#define DEPTH_MAX 32

struct reader {
    const unsigned char *p, *end;
    struct sync_body_item *items;
    size_t cap, n;
    int bad;  /* a field had the wrong type: msg holds the first such */
    char *msg;
    size_t msg_cap;
};

static void bad_field(struct reader *r, const char *fmt, size_t i)
{
    if (r->bad)
        return;
    r->bad = 1;
    if (r->msg_cap > 0)
        snprintf(r->msg, r->msg_cap, fmt, i);
}

static void ws(struct reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

/* Consume c (after whitespace); 0 if it was there. */
static int eat(struct reader *r, unsigned char c)
{
    ws(r);
    if (r->p < r->end && *r->p == c) {
        r->p++;
        return 0;
    }
    return -1;
}

static int is_hex(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int is_cont(unsigned char c) { return (c & 0xc0) == 0x80; }

/* The value of "\uXXXX" at p, or -1. */
static long hex4(const unsigned char *p, const unsigned char *end)
{
    long v = 0;
    if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
        return -1;
    for (int i = 2; i < 6; i++) {
        if (!is_hex(p[i]))
            return -1;
        v = v * 16 + (p[i] <= '9' ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10);
    }
    return v;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c == 0xe0)
            lo = 0xa0; /* no overlong forms */
        if (c == 0xed)
            hi = 0x9f; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f; /* nothing above U+10FFFF */
    } else
        return 0;
    if ((size_t)(end - p) <= need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i <= need; i++)
        if (!is_cont(p[i]))
            return 0;
    return need + 1;
}

/* A string at r->p (after whitespace); out gets where its content lies. */
static int string(struct reader *r, struct sync_body_str *out)
{
    if (eat(r, '"') != 0)
        return -1;
    const unsigned char *start = r->p;
    int escaped = 0;
    while (r->p < r->end) {
        unsigned char c = *r->p;
        if (c == '"') {
            if (out != NULL) {
                out->p = (const char *)start;
                out->len = (size_t)(r->p - start);
                out->escaped = escaped;
            }
            r->p++;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            escaped = 1;
            if (r->end - r->p < 2)
                return -1;
            c = r->p[1];
            if (c == 'u') {
                long v = hex4(r->p, r->end);
                if (v < 0 || (v >= 0xdc00 && v <= 0xdfff))
                    return -1; /* a low surrogate must follow a high one */
                r->p += 6;
                if (v >= 0xd800 && v <= 0xdbff) {
                    long lo = hex4(r->p, r->end);
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return -1;
                    r->p += 6;
                }
            } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
                r->p += 2;
            } else {
                return -1;
            }
            continue;
        }
        if (c >= 0x80) {
            size_t k = utf8_seq(r->p, r->end);
            if (k == 0)
                return -1;
            r->p += k;
            continue;
        }
        r->p++;
    }
    return -1;
}

static int digits(struct reader *r)
{
    const unsigned char *s = r->p;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
        r->p++;
    return r->p > s ? 0 : -1;
}

static int number(struct reader *r)
{
    if (r->p < r->end && *r->p == '-')
        r->p++;
    if (r->p < r->end && *r->p == '0')
        r->p++;
    else if (digits(r) != 0)
        return -1;
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        if (digits(r) != 0)
            return -1;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (digits(r) != 0)
            return -1;
    }
    return 0;
}

static int literal(struct reader *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return -1;
    r->p += n;
    return 0;
}

static int value(struct reader *r, int depth);

/* An object or array whose members are skipped. */
static int skip_container(struct reader *r, int depth, unsigned char close)
{
    if (depth >= DEPTH_MAX)
        return -1;
    r->p++; /* the opening bracket */
    if (eat(r, close) == 0)
        return 0;
    for (;;) {
        if (close == '}' && (string(r, NULL) != 0 || eat(r, ':') != 0))
            return -1;
        if (value(r, depth + 1) != 0)
            return -1;
        if (eat(r, ',') == 0)
            continue;
        return eat(r, close);
    }
}

/* Any JSON value, skipped. */
static int value(struct reader *r, int depth)
{
    ws(r);
    if (r->p >= r->end)
        return -1;
    switch (*r->p) {
    case '{':
        return skip_container(r, depth, '}');
    case '[':
        return skip_container(r, depth, ']');
    case '"':
        return string(r, NULL);
    case 't':
        return literal(r, "true");
    case 'f':
        return literal(r, "false");
    case 'n':
        return literal(r, "null");
    default:
        return number(r);
    }
}

static int key_is(const struct sync_body_str *k, const char *name)
{
    return !k->escaped && k->len == strlen(name) && memcmp(k->p, name, k->len) == 0;
}

/* The next value: a string into out, null (out stays absent), or else -- if
 * null_ok allows it -- a wrong type, which is skipped and returns 1. */
static int string_or_null(struct reader *r, int depth, struct sync_body_str *out, int null_ok)
{
    ws(r);
    if (r->p < r->end && *r->p == '"')
        return string(r, out);
    if (null_ok && r->p < r->end && *r->p == 'n')
        return literal(r, "null");
    return value(r, depth) != 0 ? -1 : 1;
}

/* One item of "records"; i is its index. */
static int item(struct reader *r, int depth, size_t i)
{
    struct sync_body_item it;
    int seen_rec = 0, seen_conf = 0, seen_ref = 0, wrong_rec = 0, wrong_opt = 0;
    memset(&it, 0, sizeof it);
    ws(r);
    if (r->p >= r->end || *r->p != '{') {
        if (value(r, depth) != 0)
            return -1;
        bad_field(r, "records[%zu] must be an object.", i);
        return 0;
    }
    r->p++;
    if (eat(r, '}') != 0) {
        for (;;) {
            struct sync_body_str k;
            int rc;
            if (string(r, &k) != 0 || eat(r, ':') != 0)
                return -1;
            if (key_is(&k, "record")) {
                if (seen_rec++)
                    return -1;
                if ((rc = string_or_null(r, depth + 1, &it.record, 0)) < 0)
                    return -1;
                wrong_rec |= rc;
            } else if (key_is(&k, "confirmation")) {
                if (seen_conf++)
                    return -1;
                if ((rc = string_or_null(r, depth + 1, &it.confirmation, 1)) < 0)
                    return -1;
                wrong_opt |= rc;
            } else if (key_is(&k, "refusal")) {
                if (seen_ref++)
                    return -1;
                if ((rc = string_or_null(r, depth + 1, &it.refusal, 1)) < 0)
                    return -1;
                wrong_opt |= rc;
            } else if (value(r, depth + 1) != 0) {
                return -1;
            }
            if (eat(r, ',') == 0)
                continue;
            if (eat(r, '}') != 0)
                return -1;
            break;
        }
    }
    if (wrong_rec || it.record.p == NULL)
        bad_field(r, "records[%zu].record must be a string.", i);
    else if (wrong_opt)
        bad_field(r, "records[%zu].confirmation and .refusal must be strings or null.", i);
    if (r->n < r->cap)
        r->items[r->n] = it;
    r->n++;
    return 0;
}

static int records(struct reader *r, int depth)
{
    ws(r);
    if (r->p >= r->end || *r->p != '[') {
        if (value(r, depth) != 0)
            return -1;
        bad_field(r, "The field \"records\" must be an array of 0 to %zu items.", r->cap);
        return 0;
    }
    r->p++;
    if (eat(r, ']') == 0)
        return 0;
    for (size_t i = 0;; i++) {
        if (item(r, depth + 1, i) != 0)
            return -1;
        if (eat(r, ',') == 0)
            continue;
        return eat(r, ']');
    }
}

int sync_body_parse(const char *body, size_t len, struct sync_body_item *items, size_t cap, size_t *n, char *msg,
                    size_t msg_cap)
{
    struct reader r;
    int seen = 0;
    memset(&r, 0, sizeof r);
    r.p = (const unsigned char *)body;
    r.end = r.p + len;
    r.items = items;
    r.cap = cap;
    r.msg = msg;
    r.msg_cap = msg_cap;
    *n = 0;
    if (msg_cap > 0)
        msg[0] = '\0';

    if (eat(&r, '{') != 0)
        return SYNC_BODY_MALFORMED;
    if (eat(&r, '}') != 0) {
        for (;;) {
            struct sync_body_str k;
            if (string(&r, &k) != 0 || eat(&r, ':') != 0)
                return SYNC_BODY_MALFORMED;
            if (key_is(&k, "records")) {
                if (seen++ || records(&r, 1) != 0)
                    return SYNC_BODY_MALFORMED;
            } else if (value(&r, 1) != 0) {
                return SYNC_BODY_MALFORMED;
            }
            if (eat(&r, ',') == 0)
                continue;
            if (eat(&r, '}') != 0)
                return SYNC_BODY_MALFORMED;
            break;
        }
    }
    ws(&r);
    if (r.p != r.end)
        return SYNC_BODY_MALFORMED;
    if (!seen)
        bad_field(&r, "The field \"records\" must be an array of 0 to %zu items.", cap);
    if (r.n > cap)
        bad_field(&r, "The field \"records\" must be an array of 0 to %zu items.", cap);
    if (r.bad)
        return SYNC_BODY_BAD_FIELD;
    *n = r.n;
    return SYNC_BODY_OK;
}

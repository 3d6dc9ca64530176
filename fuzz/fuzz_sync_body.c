/*
 * fuzz_sync_body.c - libFuzzer harness for the sync-body reader of offpayd
 * (src/server/sync_body.c), checked against jansson as a second opinion:
 *   - what the reader does not call malformed, jansson parses as an object,
 *     and every string the reader hands back is the one jansson sees;
 *   - what jansson parses as an object without duplicate keys and not deeper
 *     than the reader goes, the reader does not call malformed.
 * Two known differences are not compared: numbers too large for jansson
 * (JSON sets no limit), and NUL bytes, which jansson (with JSON_ALLOW_NUL)
 * lets pass between tokens where JSON allows only whitespace.
 */
#include <jansson.h>

#include "harness.h"
#include "sync_body.h"

#define ITEMS 8

static size_t depth(json_t *j)
{
    size_t d = 0, k;
    const char *key;
    json_t *v;
    if (json_is_object(j)) {
        json_object_foreach(j, key, v) {
            size_t c = depth(v);
            d = c > d ? c : d;
        }
        return d + 1;
    }
    if (json_is_array(j)) {
        json_array_foreach(j, k, v) {
            size_t c = depth(v);
            d = c > d ? c : d;
        }
        return d + 1;
    }
    return 0;
}

/* The reader's string s is jansson's value v (absent/null alike). */
static void same_string(const struct sync_body_str *s, json_t *v, int null_ok)
{
    if (s->p == NULL) {
        if (!(v == NULL || (null_ok && json_is_null(v))))
            abort();
        return;
    }
    if (!json_is_string(v))
        abort();
    if (!s->escaped && (json_string_length(v) != s->len || memcmp(json_string_value(v), s->p, s->len) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sync_body_item items[ITEMS];
    char msg[160];
    size_t n;
    json_error_t e;
    int r = sync_body_parse((const char *)data, size, items, ITEMS, &n, msg, sizeof msg);
    json_t *loose = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &e);
    if (loose == NULL && json_error_code(&e) == json_error_numeric_overflow)
        return 0;
    if (r != SYNC_BODY_MALFORMED) {
        if (!json_is_object(loose))
            abort();
        if (r == SYNC_BODY_OK) {
            json_t *recs = json_object_get(loose, "records");
            if (!json_is_array(recs) || json_array_size(recs) != n)
                abort();
            for (size_t i = 0; i < n; i++) {
                json_t *it = json_array_get(recs, i);
                same_string(&items[i].record, json_object_get(it, "record"), 0);
                same_string(&items[i].confirmation, json_object_get(it, "confirmation"), 1);
                same_string(&items[i].refusal, json_object_get(it, "refusal"), 1);
            }
        }
    }
    json_decref(loose);
    json_t *strict = json_loadb((const char *)data, size, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &e);
    if (json_is_object(strict) && depth(strict) <= 30 && r == SYNC_BODY_MALFORMED && memchr(data, 0, size) == NULL)
        abort();
    json_decref(strict);
    return 0;
}

/*
 * sync_body.h - the strict reader of a POST /v1/sync body.
 *
 * A sync of a thousand records is over a megabyte of JSON whose strings are
 * text-form messages; a general JSON library builds a tree and copies every
 * string, which cost more per record than settling it.  This reader checks
 * the whole body against the JSON grammar in one pass and hands back, per
 * item, where its record, confirmation and refusal strings lie in the body,
 * without copying.  It depends on nothing but libc, so it is fuzzed on its
 * own (fuzz/fuzz_sync_body.c).
 *
 * The shape: {"records": [{"record": S, "confirmation": S|null,
 * "refusal": S|null}, ...], ...} where S is a JSON string without escapes
 * (text-form messages are plain ASCII; an escaped one is refused as not
 * well-formed).  Other keys, at the top and in items, are skipped; a known
 * key given twice makes the body malformed.
 */
#ifndef OFFPAYD_SYNC_BODY_H
#define OFFPAYD_SYNC_BODY_H

#include <stddef.h>

/* One string of an item: where it lies in the body, or absent/null (p NULL). */
struct sync_body_str {
    const char *p;
    size_t len;
    int escaped; /* 1: the JSON string held escapes (p/len cover the raw text) */
};

struct sync_body_item {
    struct sync_body_str record, confirmation, refusal;
};

enum sync_body_error {
    SYNC_BODY_OK = 0,
    SYNC_BODY_MALFORMED, /* not JSON, not an object, nested too deep, a known key twice */
    SYNC_BODY_BAD_FIELD  /* JSON, but a field has the wrong type or there are too many items */
};

/*
 * Read body (len bytes, need not be NUL-terminated).
 * Out: items[0..*n) (at most cap; more is SYNC_BODY_BAD_FIELD); on
 * SYNC_BODY_BAD_FIELD, msg (msg_cap bytes) says which field, as one sentence.
 * A body that is not JSON is SYNC_BODY_MALFORMED even when a field before the
 * syntax error had the wrong type.  Returns: enum sync_body_error.
 */
int sync_body_parse(const char *body, size_t len, struct sync_body_item *items, size_t cap, size_t *n, char *msg,
                    size_t msg_cap);

#endif

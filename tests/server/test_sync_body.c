/*
 * test_sync_body.c - the one-pass reader of POST /v1/sync bodies: what it
 * accepts (with the exact strings it hands back), what is malformed JSON, and
 * what is JSON with a field of the wrong type, one case per rule.
 */
#include <stdio.h>
#include <string.h>

#include "sync_body.h"
#include "check.h"


static int str_is(const struct sync_body_str *s, const char *want)
{
    if (want == NULL)
        return s->p == NULL;
    return s->p != NULL && s->len == strlen(want) && memcmp(s->p, want, s->len) == 0;
}

struct bad_case {
    const char *body;
    int want; /* enum sync_body_error */
    const char *msg; /* for BAD_FIELD: the start of the sentence */
};

static const struct bad_case bad[] = {
    /* not JSON, or not an object */
    {"", SYNC_BODY_MALFORMED, NULL},
    {"   ", SYNC_BODY_MALFORMED, NULL},
    {"[]", SYNC_BODY_MALFORMED, NULL},
    {"\"records\"", SYNC_BODY_MALFORMED, NULL},
    {"{\"records\":[]", SYNC_BODY_MALFORMED, NULL},
    {"{\"records\":[]}x", SYNC_BODY_MALFORMED, NULL},
    {"{\"records\":[]}{}", SYNC_BODY_MALFORMED, NULL},
    {"{\"records\":[],}", SYNC_BODY_MALFORMED, NULL},
    {"{\"records\":[{\"record\":\"A\"},]}", SYNC_BODY_MALFORMED, NULL},
    {"{records:[]}", SYNC_BODY_MALFORMED, NULL},
    {"{'records':[]}", SYNC_BODY_MALFORMED, NULL},
    {"{\"records\" []}", SYNC_BODY_MALFORMED, NULL},
    {"{\"a\":01}", SYNC_BODY_MALFORMED, NULL},
    {"{\"a\":1.}", SYNC_BODY_MALFORMED, NULL},
    {"{\"a\":-}", SYNC_BODY_MALFORMED, NULL},
    {"{\"a\":1e}", SYNC_BODY_MALFORMED, NULL},
    {"{\"a\":+1}", SYNC_BODY_MALFORMED, NULL},
    {"{\"a\":.5}", SYNC_BODY_MALFORMED, NULL},
    {"{\"a\":tru}", SYNC_BODY_MALFORMED, NULL},
    {"{\"a\":nul}", SYNC_BODY_MALFORMED, NULL},
    {"{\"a\":\"\\x\"}", SYNC_BODY_MALFORMED, NULL},      /* unknown escape */
    {"{\"a\":\"\\u12G4\"}", SYNC_BODY_MALFORMED, NULL},  /* bad hex */
    {"{\"a\":\"\\ud800\"}", SYNC_BODY_MALFORMED, NULL},  /* lone high surrogate */
    {"{\"a\":\"\\udc00\"}", SYNC_BODY_MALFORMED, NULL},  /* lone low surrogate */
    {"{\"a\":\"tab\there\"}", SYNC_BODY_MALFORMED, NULL}, /* raw control character */
    {"{\"a\":\"\xc3\"}", SYNC_BODY_MALFORMED, NULL},     /* cut UTF-8 */
    {"{\"a\":\"\xc0\xaf\"}", SYNC_BODY_MALFORMED, NULL}, /* overlong */
    {"{\"a\":\"\xed\xa0\x80\"}", SYNC_BODY_MALFORMED, NULL}, /* encoded surrogate */
    {"{\"a\":\"\xf4\x90\x80\x80\"}", SYNC_BODY_MALFORMED, NULL}, /* above U+10FFFF */
    {"{\"a\":\"\xff\"}", SYNC_BODY_MALFORMED, NULL},
    {"{\"a\":\"open", SYNC_BODY_MALFORMED, NULL},
    {"{\"records\":[],\"records\":[]}", SYNC_BODY_MALFORMED, NULL}, /* a known key twice */
    {"{\"records\":[{\"record\":\"A\",\"record\":\"B\"}]}", SYNC_BODY_MALFORMED, NULL},
    {"{\"records\":[{\"record\":\"A\",\"refusal\":null,\"refusal\":null}]}", SYNC_BODY_MALFORMED, NULL},
    {"{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", SYNC_BODY_MALFORMED,
     NULL}, /* deeper than the reader goes */
    /* a field of the wrong type wins only if the rest is JSON */
    {"{\"records\":5,", SYNC_BODY_MALFORMED, NULL},
    /* JSON, wrong fields */
    {"{}", SYNC_BODY_BAD_FIELD, "The field \"records\" must be an array"},
    {"{\"records\":{}}", SYNC_BODY_BAD_FIELD, "The field \"records\" must be an array"},
    {"{\"records\":null}", SYNC_BODY_BAD_FIELD, "The field \"records\" must be an array"},
    {"{\"records\":[17]}", SYNC_BODY_BAD_FIELD, "records[0] must be an object."},
    {"{\"records\":[{\"record\":\"A\"},\"x\"]}", SYNC_BODY_BAD_FIELD, "records[1] must be an object."},
    {"{\"records\":[{}]}", SYNC_BODY_BAD_FIELD, "records[0].record must be a string."},
    {"{\"records\":[{\"record\":5}]}", SYNC_BODY_BAD_FIELD, "records[0].record must be a string."},
    {"{\"records\":[{\"record\":null}]}", SYNC_BODY_BAD_FIELD, "records[0].record must be a string."},
    {"{\"records\":[{\"record\":\"A\",\"confirmation\":5}]}", SYNC_BODY_BAD_FIELD,
     "records[0].confirmation and .refusal"},
    {"{\"records\":[{\"record\":\"A\",\"refusal\":[\"x\"]}]}", SYNC_BODY_BAD_FIELD,
     "records[0].confirmation and .refusal"},
    {"{\"records\":[{\"record\":\"A\"},{\"record\":\"B\"},{\"record\":\"C\"},{\"record\":\"D\"}]}",
     SYNC_BODY_BAD_FIELD, "The field \"records\" must be an array of 0 to 3 items."},
};

int main(void)
{
    struct sync_body_item it[3];
    char msg[160];
    size_t n;

    /* The usual body, and the same with whitespace, other keys and nulls. */
    const char *ok = "{\"records\":[{\"record\":\"OP1REC:AB\",\"confirmation\":\"OP1CNF:CD\"},"
                     "{\"record\":\"OP1REC:EF\",\"refusal\":\"OP1REF:GH\"}]}";
    CHECK(sync_body_parse(ok, strlen(ok), it, 3, &n, msg, sizeof msg) == SYNC_BODY_OK && n == 2);
    CHECK(str_is(&it[0].record, "OP1REC:AB") && str_is(&it[0].confirmation, "OP1CNF:CD") &&
           str_is(&it[0].refusal, NULL));
    CHECK(str_is(&it[1].record, "OP1REC:EF") && str_is(&it[1].confirmation, NULL) &&
           str_is(&it[1].refusal, "OP1REF:GH"));
    const char *spaced = " \r\n\t{ \"v\" : [1, -2.5e+3, 0, true, false, null, {\"k\": \"\\u00e9\\ud83d\\ude00\\n\"}],"
                         " \"records\" : [ { \"x\": {\"record\": 1}, \"record\" : \"R1\" , \"confirmation\" : null ,"
                         " \"refusal\" : null } ] , \"w\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\" } \n";
    CHECK(sync_body_parse(spaced, strlen(spaced), it, 3, &n, msg, sizeof msg) == SYNC_BODY_OK && n == 1);
    CHECK(str_is(&it[0].record, "R1") && it[0].record.escaped == 0 && str_is(&it[0].confirmation, NULL) &&
           str_is(&it[0].refusal, NULL));
    const char *empty = "{\"records\":[]}";
    CHECK(sync_body_parse(empty, strlen(empty), it, 3, &n, msg, sizeof msg) == SYNC_BODY_OK && n == 0);
    /* escapes are JSON, but flagged: a text-form field must not have them */
    const char *esc = "{\"records\":[{\"record\":\"OP1REC\\u003aAB\"}]}";
    CHECK(sync_body_parse(esc, strlen(esc), it, 3, &n, msg, sizeof msg) == SYNC_BODY_OK && n == 1);
    CHECK(it[0].record.escaped == 1);
    /* the length given is the end, NUL or not */
    CHECK(sync_body_parse(ok, strlen(ok) - 1, it, 3, &n, msg, sizeof msg) == SYNC_BODY_MALFORMED);
    const char nul[] = "{\"records\":[]}\0";
    CHECK(sync_body_parse(nul, sizeof nul - 1, it, 3, &n, msg, sizeof msg) == SYNC_BODY_MALFORMED);

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int got = sync_body_parse(bad[i].body, strlen(bad[i].body), it, 3, &n, msg, sizeof msg);
        if (got != bad[i].want || (bad[i].msg != NULL && strncmp(msg, bad[i].msg, strlen(bad[i].msg)) != 0))
            CHECK_FAIL("case %zu (%s): got %d \"%s\"", i, bad[i].body, got, msg);
    }
    return 0;
}

/*
 * test_status.c - every status has its own sentence and stable code, and maps
 * to the exit code SPEC.md gives its class (0 ok, 1 internal, 2 usage,
 * 3 malformed, 4 verification, 5 funds, 6 limit, 7 unreachable, 8 rejected,
 * 9 key unavailable).
 */
#include "check.h"

static int spec_exit(enum offpay_status s)
{
    switch (s) {
    case OFFPAY_OK:
        return 0;
    case OFFPAY_ERR_INTERNAL: case OFFPAY_ERR_NOMEM: case OFFPAY_ERR_CRYPTO_INIT:
    case OFFPAY_ERR_BUFFER_TOO_SMALL: case OFFPAY_ERR_STORAGE:
        return 1;
    case OFFPAY_ERR_USAGE: case OFFPAY_ERR_DECLINED:
        return 2;
    case OFFPAY_ERR_MALFORMED: case OFFPAY_ERR_TRUNCATED: case OFFPAY_ERR_TRAILING_BYTES:
    case OFFPAY_ERR_BAD_VERSION: case OFFPAY_ERR_WRONG_TYPE: case OFFPAY_ERR_ZERO_AMOUNT:
    case OFFPAY_ERR_AMOUNT_OVERFLOW: case OFFPAY_ERR_TOO_MANY_ITEMS: case OFFPAY_ERR_BAD_ACCOUNT_NAME:
    case OFFPAY_ERR_NOT_CANONICAL: case OFFPAY_ERR_BAD_TEXT:
    case OFFPAY_ERR_FRAME_TOO_LARGE: case OFFPAY_ERR_NO_CODE:
        return 3;
    case OFFPAY_ERR_BAD_SIGNATURE: case OFFPAY_ERR_CERT_NOT_ISSUED: case OFFPAY_ERR_CERT_EXPIRED:
    case OFFPAY_ERR_CERT_NOT_YET_VALID: case OFFPAY_ERR_REVOKED: case OFFPAY_ERR_INPUT_NOT_ATTESTED:
    case OFFPAY_ERR_INPUT_NOT_OWNED: case OFFPAY_ERR_DUPLICATE_INPUT: case OFFPAY_ERR_UNBALANCED:
    case OFFPAY_ERR_WRONG_PAYEE: case OFFPAY_ERR_WRONG_AMOUNT: case OFFPAY_ERR_WRONG_NONCE:
    case OFFPAY_ERR_WRONG_RECORD: case OFFPAY_ERR_SELF_PAYMENT:
    case OFFPAY_ERR_PEER_REFUSED: case OFFPAY_ERR_STAMP_INVALID:
        return 4;
    case OFFPAY_ERR_INSUFFICIENT_FUNDS: case OFFPAY_ERR_FUNDS_LOCKED: case OFFPAY_ERR_TOO_MANY_INPUTS:
        return 5;
    case OFFPAY_ERR_LIMIT_PER_PAYMENT: case OFFPAY_ERR_LIMIT_OFFLINE_TOTAL: case OFFPAY_ERR_LIMIT_COUNT:
    case OFFPAY_ERR_LIMIT_HOLDING: case OFFPAY_ERR_LIMIT_OFFLINE_TIME: case OFFPAY_ERR_PAYER_NOT_FRESH:
        return 6;
    case OFFPAY_ERR_UNREACHABLE:
    case OFFPAY_ERR_PEER_UNREACHABLE: case OFFPAY_ERR_PEER_TIMEOUT: case OFFPAY_ERR_PEER_CLOSED:
    case OFFPAY_ERR_OUTCOME_UNKNOWN: case OFFPAY_ERR_SERVER_UNTRUSTED:
        return 7;
    case OFFPAY_ERR_REJECTED:
        return 8;
    case OFFPAY_ERR_KEY_UNAVAILABLE:
        return 9;
    case OFFPAY_STATUS_COUNT_:
        break;
    }
    return -1; /* a status this test does not know: add it above */
}

int main(void)
{
    for (int i = 0; i < OFFPAY_STATUS_COUNT_; i++) {
        enum offpay_status s = (enum offpay_status)i;
        const char *str = offpay_status_str(s), *code = offpay_status_code(s);
        CHECK(str != NULL && code != NULL);
        /* A sentence: capital first, full stop last. */
        CHECK(strlen(str) > 4 && str[0] >= 'A' && str[0] <= 'Z' && str[strlen(str) - 1] == '.');
        /* Its own: no two statuses share a sentence or a code.  (A status
         * missing from the table would fall back to "internal" and collide.) */
        for (int k = 0; k < i; k++) {
            CHECK(strcmp(str, offpay_status_str((enum offpay_status)k)) != 0);
            CHECK(strcmp(code, offpay_status_code((enum offpay_status)k)) != 0);
        }
        for (const char *p = code; *p; p++)
            CHECK((*p >= 'a' && *p <= 'z') || *p == '_');
        if (offpay_status_exit_code(s) != spec_exit(s))
            CHECK_FAIL("status %s exits %d, SPEC.md says %d", code, offpay_status_exit_code(s), spec_exit(s));
    }
    CHECK(strcmp(offpay_status_code(OFFPAY_ERR_BAD_SIGNATURE), "bad_signature") == 0);
    /* Out-of-range values still get a sentence, never NULL. */
    CHECK(offpay_status_str(OFFPAY_STATUS_COUNT_) != NULL);
    CHECK(offpay_status_str((enum offpay_status)-1) != NULL);
    CHECK(offpay_status_exit_code((enum offpay_status)1000) == 1);
    return 0;
}

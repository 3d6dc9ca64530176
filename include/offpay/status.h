/*
 * status.h - the one error type of offpay.
 *
 * Every function that can fail for a reason a user should hear about returns an
 * enum offpay_status.  offpay_status_str() turns it into one clear sentence and
 * offpay_status_exit_code() maps it to the exit codes of SPEC.md, so that the
 * programs translate statuses in exactly one place.
 */
#ifndef OFFPAY_STATUS_H
#define OFFPAY_STATUS_H

/* What liboffpay exports (offpay.h and the three functions below): the
 * library is built with hidden visibility, so everything else stays inside. */
#ifndef OFFPAY_API
#if defined(__GNUC__)
#define OFFPAY_API __attribute__((visibility("default")))
#else
#define OFFPAY_API
#endif
#endif

#ifndef OFFPAY_WARN_UNUSED
#if defined(__GNUC__)
#define OFFPAY_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define OFFPAY_WARN_UNUSED
#endif
#endif

/* The numbers are part of liboffpay's interface: a value is never
 * renumbered or reused; new ones go just before OFFPAY_STATUS_COUNT_. */
enum offpay_status {
    OFFPAY_OK = 0,

    /* exit 1: internal */
    OFFPAY_ERR_INTERNAL,
    OFFPAY_ERR_NOMEM,
    OFFPAY_ERR_CRYPTO_INIT,
    OFFPAY_ERR_BUFFER_TOO_SMALL,
    OFFPAY_ERR_STORAGE,

    /* exit 2: usage */
    OFFPAY_ERR_USAGE,

    /* exit 3: malformed input */
    OFFPAY_ERR_MALFORMED,
    OFFPAY_ERR_TRUNCATED,
    OFFPAY_ERR_TRAILING_BYTES,
    OFFPAY_ERR_BAD_VERSION,
    OFFPAY_ERR_WRONG_TYPE,
    OFFPAY_ERR_ZERO_AMOUNT,
    OFFPAY_ERR_AMOUNT_OVERFLOW,
    OFFPAY_ERR_TOO_MANY_ITEMS,
    OFFPAY_ERR_BAD_ACCOUNT_NAME,
    OFFPAY_ERR_NOT_CANONICAL,
    OFFPAY_ERR_BAD_TEXT,

    /* exit 4: verification failed */
    OFFPAY_ERR_BAD_SIGNATURE,
    OFFPAY_ERR_CERT_NOT_ISSUED,
    OFFPAY_ERR_CERT_EXPIRED,
    OFFPAY_ERR_CERT_NOT_YET_VALID,
    OFFPAY_ERR_REVOKED,
    OFFPAY_ERR_INPUT_NOT_ATTESTED,
    OFFPAY_ERR_INPUT_NOT_OWNED,
    OFFPAY_ERR_DUPLICATE_INPUT,
    OFFPAY_ERR_UNBALANCED,
    OFFPAY_ERR_WRONG_PAYEE,
    OFFPAY_ERR_WRONG_AMOUNT,
    OFFPAY_ERR_WRONG_NONCE,
    OFFPAY_ERR_WRONG_RECORD,
    OFFPAY_ERR_SELF_PAYMENT,

    /* exit 5: not enough spendable offline funds */
    OFFPAY_ERR_INSUFFICIENT_FUNDS,
    OFFPAY_ERR_FUNDS_LOCKED,
    OFFPAY_ERR_TOO_MANY_INPUTS,

    /* exit 6: offline limit reached */
    OFFPAY_ERR_LIMIT_PER_PAYMENT,
    OFFPAY_ERR_LIMIT_OFFLINE_TOTAL,
    OFFPAY_ERR_LIMIT_COUNT,

    /* exit 7: server unreachable */
    OFFPAY_ERR_UNREACHABLE,

    /* exit 8: rejected by the server */
    OFFPAY_ERR_REJECTED,

    /* device to device (transport, QR codes) */
    OFFPAY_ERR_PEER_UNREACHABLE, /* exit 7 */
    OFFPAY_ERR_PEER_TIMEOUT,     /* exit 7 */
    OFFPAY_ERR_PEER_CLOSED,      /* exit 7 */
    OFFPAY_ERR_FRAME_TOO_LARGE,  /* exit 3 */
    OFFPAY_ERR_NO_CODE,          /* exit 3 */
    OFFPAY_ERR_PEER_REFUSED,     /* exit 4 */

    /* exit 7: the request may have reached the server, but its answer did not
     * come back (reset, timeout after sending, 5xx, a broken 2xx): the outcome
     * is not known until the server is asked again. */
    OFFPAY_ERR_OUTCOME_UNKNOWN,

    /* exit 9: the key is unavailable (SPEC.md "Additions"): it cannot be
     * used, or not safely (a key file or wallet folder others may read or
     * replace, as ssh refuses one). */
    OFFPAY_ERR_KEY_UNAVAILABLE,

    /* exit 7: an https:// server whose certificate does not verify against
     * the certificate authorities the wallet trusts: it is not talked to,
     * so nothing was sent and nothing changed. */
    OFFPAY_ERR_SERVER_UNTRUSTED,

    /* exit 6: issue 13's controls, for this wallet: offline coins would pass
     * the holding limit; the last sync is longer ago than the offline time limit. */
    OFFPAY_ERR_LIMIT_HOLDING,
    OFFPAY_ERR_LIMIT_OFFLINE_TIME,
    /* exit 6: the payer cannot prove it synced within the payee's offline
     * time limit (its record carries no sync stamp, or too old a one). */
    OFFPAY_ERR_PAYER_NOT_FRESH,
    /* exit 4: a sync stamp not signed by the issuer, or naming another wallet. */
    OFFPAY_ERR_STAMP_INVALID,

    /* exit 2: the user answered no when asked (offpay pay on a terminal);
     * nothing changed. */
    OFFPAY_ERR_DECLINED,

    OFFPAY_STATUS_COUNT_ /* not a status; keep last */
};

/* Exit codes of SPEC.md. */
enum offpay_exit {
    OFFPAY_EXIT_OK = 0,
    OFFPAY_EXIT_INTERNAL = 1,
    OFFPAY_EXIT_USAGE = 2,
    OFFPAY_EXIT_MALFORMED = 3,
    OFFPAY_EXIT_VERIFICATION = 4,
    OFFPAY_EXIT_FUNDS = 5,
    OFFPAY_EXIT_LIMIT = 6,
    OFFPAY_EXIT_UNREACHABLE = 7,
    OFFPAY_EXIT_REJECTED = 8,
    OFFPAY_EXIT_KEY_UNAVAILABLE = 9
};

#ifdef __cplusplus
extern "C" {
#endif

/* Returns: a static, never-NULL sentence describing s (unknown values included). */
OFFPAY_API const char *offpay_status_str(enum offpay_status s);

/* Returns: a short stable identifier for s, e.g. "bad_signature" (for JSON). */
OFFPAY_API const char *offpay_status_code(enum offpay_status s);

/* Returns: the SPEC.md exit code for s. */
OFFPAY_API int offpay_status_exit_code(enum offpay_status s);

#ifdef __cplusplus
}
#endif

#endif

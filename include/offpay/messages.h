/*
 * messages.h - the data model of offpay and its canonical binary encoding.
 *
 * Every message is encoded as: version byte (OFFPAY_WIRE_VERSION), type byte
 * (enum offpay_msg_type), then its fields in a fixed order, integers big-endian.
 * docs/wire-format.md gives every byte.  Decoders are strict and total: exact
 * lengths, no trailing bytes, bounded counts, no zero or overflowing amounts,
 * canonical forms only.  A decoder never allocates; variable parts are copied
 * into fixed arrays bounded by the OFFPAY_*_MAX macros, except the revocation
 * list, whose ids are left pointing into the caller's buffer.
 *
 * The "body" of a signed message is its encoding without the trailing
 * signature; offpay_*_body_len() says how long it is.
 */
#ifndef OFFPAY_MESSAGES_H
#define OFFPAY_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#include "offpay/amount.h"
#include "offpay/crypto.h"
#include "offpay/status.h"

#define OFFPAY_WIRE_VERSION 1

#define OFFPAY_WALLET_ID_BYTES 16
#define OFFPAY_UTXO_ID_BYTES 32
#define OFFPAY_RECORD_ID_BYTES 32
#define OFFPAY_NONCE_BYTES 16
#define OFFPAY_HTTP_NONCE_BYTES 16     /* bytes of an authenticated request's nonce (http_auth.h) */
#define OFFPAY_ACCOUNT_MAX 32          /* bytes of an account name */
#define OFFPAY_RECORD_INPUTS_MAX 16    /* inputs one record may spend */
#define OFFPAY_REVOCATION_MAX 100000   /* wallet ids one revocation list may hold */

/* Encoded sizes. */
#define OFFPAY_CERT_BYTES_MIN (2 + OFFPAY_WALLET_ID_BYTES + OFFPAY_PUBLIC_KEY_BYTES + 8 + 8 + 1 + 1 + OFFPAY_SIGNATURE_BYTES)
#define OFFPAY_CERT_BYTES_MAX (OFFPAY_CERT_BYTES_MIN - 1 + OFFPAY_ACCOUNT_MAX)
#define OFFPAY_UTXO_BYTES (2 + OFFPAY_UTXO_ID_BYTES + OFFPAY_PUBLIC_KEY_BYTES + 8 + OFFPAY_SIGNATURE_BYTES)
#define OFFPAY_REQUEST_BYTES_MAX (2 + OFFPAY_CERT_BYTES_MAX + 8 + OFFPAY_NONCE_BYTES + OFFPAY_SIGNATURE_BYTES)
#define OFFPAY_RECORD_FIXED_BYTES (2 + OFFPAY_PUBLIC_KEY_BYTES + OFFPAY_NONCE_BYTES + 8 + 8 + 8 + 8 + 1 + OFFPAY_SIGNATURE_BYTES)
/* The largest record carries a sync stamp (type 10). */
#define OFFPAY_RECORD_BYTES_MAX                                                                                      \
    (OFFPAY_RECORD_FIXED_BYTES + OFFPAY_CERT_BYTES_MAX + OFFPAY_STAMP_BYTES + OFFPAY_RECORD_INPUTS_MAX * OFFPAY_UTXO_BYTES)
#define OFFPAY_CONFIRMATION_BYTES_MAX (2 + OFFPAY_RECORD_ID_BYTES + OFFPAY_CERT_BYTES_MAX + OFFPAY_SIGNATURE_BYTES)
#define OFFPAY_REFUSAL_BYTES (2 + OFFPAY_RECORD_ID_BYTES + 1 + OFFPAY_SIGNATURE_BYTES)
/* A limits policy has three forms: the first one (without holding and
 * offline time limits), the long one that carries them, and the money form
 * that adds the currency and its exponent.  The short form is the canonical
 * one exactly when both limits are 0 (not set) and the money is the default
 * (CNY, 2); the long one when one of the limits is set and the money is the
 * default; the money form when the money is not the default.
 * OFFPAY_LIMITS_BYTES is the longest (a buffer for any form). */
#define OFFPAY_LIMITS_BYTES_SHORT (2 + OFFPAY_WALLET_ID_BYTES + 8 + 8 + 4 + 4 + 8 + OFFPAY_SIGNATURE_BYTES)
#define OFFPAY_LIMITS_BYTES_LONG (OFFPAY_LIMITS_BYTES_SHORT + 8 + 4)
#define OFFPAY_LIMITS_BYTES_MONEY (OFFPAY_LIMITS_BYTES_LONG + OFFPAY_CURRENCY_CODE_BYTES + 1)
#define OFFPAY_LIMITS_BYTES OFFPAY_LIMITS_BYTES_MONEY
/* A sync stamp (issue 13): the issuer's word that a wallet synced at a time. */
#define OFFPAY_STAMP_BYTES (2 + OFFPAY_WALLET_ID_BYTES + 8 + OFFPAY_SIGNATURE_BYTES)
#define OFFPAY_REVOCATION_BYTES(n) (2 + 8 + 8 + 4 + (size_t)(n) * OFFPAY_WALLET_ID_BYTES + OFFPAY_SIGNATURE_BYTES)
/* The largest message any single-message decoder accepts (a revocation list
 * may be larger: use OFFPAY_REVOCATION_BYTES). */
#define OFFPAY_MESSAGE_BYTES_MAX OFFPAY_RECORD_BYTES_MAX

enum offpay_msg_type {
    OFFPAY_MSG_CERT = 1,
    OFFPAY_MSG_UTXO = 2,
    OFFPAY_MSG_REQUEST = 3,
    OFFPAY_MSG_RECORD = 4,
    OFFPAY_MSG_CONFIRMATION = 5,
    OFFPAY_MSG_REFUSAL = 6,
    OFFPAY_MSG_REVOCATION = 7,
    OFFPAY_MSG_LIMITS = 8,
    OFFPAY_MSG_STAMP = 9,
    /* A payment record that carries its payer's sync stamp: the same message
     * as type 4 with the stamp after the certificate.  offpay_message_type
     * and the text form call both OFFPAY_MSG_RECORD; the record decoder
     * takes either and says which in has_stamp. */
    OFFPAY_MSG_RECORD_STAMPED = 10
};

/* Wallet certificate: issued and signed by the server's issuer key. */
struct offpay_cert {
    uint8_t wallet_id[OFFPAY_WALLET_ID_BYTES];
    uint8_t public_key[OFFPAY_PUBLIC_KEY_BYTES];
    uint64_t not_before; /* seconds since the Unix epoch, inclusive */
    uint64_t not_after;  /* inclusive */
    char account[OFFPAY_ACCOUNT_MAX + 1]; /* NUL-terminated, 1..32 of [a-z0-9._-] */
    uint8_t issuer_sig[OFFPAY_SIGNATURE_BYTES];
};

/* Attested UTXO: an amount owned by one wallet key, signed by the issuer. */
struct offpay_utxo {
    uint8_t id[OFFPAY_UTXO_ID_BYTES];
    uint8_t owner[OFFPAY_PUBLIC_KEY_BYTES];
    uint64_t amount; /* > 0 */
    uint8_t issuer_sig[OFFPAY_SIGNATURE_BYTES];
};

/* Sync stamp (issue 13): the issuer's signed word that wallet_id synced
 * with it at synced_at (the server's clock).  The payer carries its latest
 * one in every record, and the payee checks it against its offline time
 * limit. */
struct offpay_stamp {
    uint8_t wallet_id[OFFPAY_WALLET_ID_BYTES];
    uint64_t synced_at;
    uint8_t issuer_sig[OFFPAY_SIGNATURE_BYTES];
};

/* Payment request: the payee asks for amount, bound to a fresh nonce. */
struct offpay_request {
    struct offpay_cert payee;
    uint64_t amount; /* > 0 */
    uint8_t nonce[OFFPAY_NONCE_BYTES];
    uint8_t sig[OFFPAY_SIGNATURE_BYTES]; /* by payee.public_key */
};

/* Payment record (the patent's UTXO consumption record). */
struct offpay_record {
    struct offpay_cert payer;
    uint8_t has_stamp;                 /* 1: a type-10 record, carrying stamp; 0: type 4 */
    struct offpay_stamp stamp;         /* the payer's latest sync stamp (when has_stamp) */
    uint8_t payee_key[OFFPAY_PUBLIC_KEY_BYTES];
    uint8_t nonce[OFFPAY_NONCE_BYTES]; /* the request's nonce */
    uint64_t created;                  /* payer's clock, seconds */
    uint64_t seq;                      /* payer's monotonic sequence number, >= 1 */
    uint64_t payee_amount;             /* > 0 */
    uint64_t change_amount;            /* 0 means no change output */
    uint8_t n_inputs;                  /* 1..OFFPAY_RECORD_INPUTS_MAX */
    struct offpay_utxo inputs[OFFPAY_RECORD_INPUTS_MAX];
    uint8_t sig[OFFPAY_SIGNATURE_BYTES]; /* by payer.public_key */
};

/* Confirmation: the payee's signed acceptance of one record. */
struct offpay_confirmation {
    uint8_t record_id[OFFPAY_RECORD_ID_BYTES];
    struct offpay_cert payee;
    uint8_t sig[OFFPAY_SIGNATURE_BYTES];
};

enum offpay_refusal_reason {
    OFFPAY_REFUSE_INVALID = 1,       /* the record failed verification */
    OFFPAY_REFUSE_WRONG_AMOUNT = 2,  /* it pays a different amount */
    OFFPAY_REFUSE_DECLINED = 3,      /* the payee's user declined */
    OFFPAY_REFUSE_REVOKED = 4,       /* the payer is on the revocation list */
    OFFPAY_REFUSE_REASON_MAX_ = 4
};

/* Refusal: the payee's signed "no" to one record.  Verified against the
 * record's payee_key, so it carries no certificate. */
struct offpay_refusal {
    uint8_t record_id[OFFPAY_RECORD_ID_BYTES];
    uint8_t reason; /* enum offpay_refusal_reason */
    uint8_t sig[OFFPAY_SIGNATURE_BYTES];
};

/* Revocation list: issuer-signed, ids strictly ascending (so canonical and
 * searchable).  ids points into the buffer it was decoded from, or into the
 * caller's array when encoding; it is never owned by the struct. */
struct offpay_revocation {
    uint64_t serial;
    uint64_t issued_at;
    uint32_t count;
    const uint8_t *ids; /* count * OFFPAY_WALLET_ID_BYTES bytes */
    uint8_t sig[OFFPAY_SIGNATURE_BYTES];
};

/* Offline limits.  A zero field in an owner policy means "not set". */
struct offpay_limits {
    uint64_t per_payment;   /* a payment must be strictly below this */
    uint64_t offline_total; /* unsynced offline spending must stay strictly below this */
    uint32_t count;         /* offline payments per period must stay below this */
    uint32_t period;        /* seconds, > 0 */
    /* Issue 13's controls; 0 is "no such limit" (a server's policy) or "not
     * set" (an owner's). */
    uint64_t holding;       /* offline coins held (spendable + locked + in doubt) stay at or below this */
    uint32_t offline_time;  /* seconds after the last sync during which the wallet may pay offline */
};

/* The server's signed limits for one wallet (or the default: all-zero id). */
struct offpay_limits_policy {
    uint8_t wallet_id[OFFPAY_WALLET_ID_BYTES];
    struct offpay_limits limits;
    uint64_t issued_at;
    /* What its amounts are counted in.  All zero (code "") means the default,
     * CNY with exponent 2, which the short and long forms say; anything else
     * is written in the money form.  Set it with offpay_limits_policy_money_set
     * and read it with offpay_limits_policy_money, which resolve the default;
     * an explicit CNY/2 here is not canonical and does not encode. */
    struct offpay_money money;
    uint8_t sig[OFFPAY_SIGNATURE_BYTES];
};

/*
 * Encoders.  Out: out (exactly the returned number of bytes).  In: the struct.
 * Returns: bytes written, or 0 if out_cap is too small or the struct cannot
 * be encoded canonically (zero amount, bad account name, too many inputs).
 * An encoder refuses exactly what the matching decoder refuses (also a
 * certificate whose not_after < not_before, a record whose seq is 0), so
 * whatever encodes also decodes, to the same struct.
 */
size_t offpay_cert_encode(uint8_t *out, size_t out_cap, const struct offpay_cert *c);
size_t offpay_utxo_encode(uint8_t *out, size_t out_cap, const struct offpay_utxo *u);
size_t offpay_request_encode(uint8_t *out, size_t out_cap, const struct offpay_request *r);
size_t offpay_record_encode(uint8_t *out, size_t out_cap, const struct offpay_record *r);
size_t offpay_confirmation_encode(uint8_t *out, size_t out_cap, const struct offpay_confirmation *c);
size_t offpay_refusal_encode(uint8_t *out, size_t out_cap, const struct offpay_refusal *r);
size_t offpay_revocation_encode(uint8_t *out, size_t out_cap, const struct offpay_revocation *r);
size_t offpay_limits_policy_encode(uint8_t *out, size_t out_cap, const struct offpay_limits_policy *p);
size_t offpay_stamp_encode(uint8_t *out, size_t out_cap, const struct offpay_stamp *st);

/*
 * Decoders.  Out: the struct (zeroed on failure).  In: exactly one encoded
 * message of in_len bytes.  Returns: OFFPAY_OK or the first malformation found.
 * Decoders check form only; signatures are checked by the rules in protocol.h.
 */
enum offpay_status offpay_cert_decode(struct offpay_cert *c, const uint8_t *in, size_t in_len) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_utxo_decode(struct offpay_utxo *u, const uint8_t *in, size_t in_len) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_request_decode(struct offpay_request *r, const uint8_t *in, size_t in_len) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_record_decode(struct offpay_record *r, const uint8_t *in, size_t in_len) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_confirmation_decode(struct offpay_confirmation *c, const uint8_t *in, size_t in_len) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_refusal_decode(struct offpay_refusal *r, const uint8_t *in, size_t in_len) OFFPAY_WARN_UNUSED;
/* The decoded list's ids point into in, which must outlive it. */
enum offpay_status offpay_revocation_decode(struct offpay_revocation *r, const uint8_t *in, size_t in_len) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_limits_policy_decode(struct offpay_limits_policy *p, const uint8_t *in, size_t in_len) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_stamp_decode(struct offpay_stamp *st, const uint8_t *in, size_t in_len) OFFPAY_WARN_UNUSED;

/* Any offpay message, decoded (offpay_message_decode): type says which
 * member of m holds it.  Both forms of a record (types 4 and 10) are
 * OFFPAY_MSG_RECORD; m.record.has_stamp says which. */
struct offpay_message {
    int type; /* enum offpay_msg_type; 0 when the type is not known */
    union {
        struct offpay_cert cert;
        struct offpay_utxo utxo;
        struct offpay_request request;
        struct offpay_record record;
        struct offpay_confirmation confirmation;
        struct offpay_refusal refusal;
        struct offpay_revocation revocation; /* its ids point into the decoded buffer */
        struct offpay_limits_policy limits;
        struct offpay_stamp stamp;
    } m;
};

/*
 * Decode one encoded message of any type with the decoder of its type.
 * Out: *msg (type set whenever the type is known, even when its decoder
 * fails; the member zeroed on failure).  A revocation list's ids point into
 * in, which must outlive msg.  Returns: OFFPAY_OK, OFFPAY_ERR_TRUNCATED
 * (fewer than 2 bytes), OFFPAY_ERR_BAD_VERSION, OFFPAY_ERR_WRONG_TYPE (no
 * such message type), or the decoder's first malformation.
 */
enum offpay_status offpay_message_decode(struct offpay_message *msg, const uint8_t *in, size_t in_len) OFFPAY_WARN_UNUSED;

/* Set p's money to m (NULL: the default), in its canonical form (the default
 * as all zero).  Returns: 0, or -1 when m is not valid money (code of three
 * capital letters, exponent 0..OFFPAY_MONEY_EXPONENT_MAX); p is then unchanged. */
int offpay_limits_policy_money_set(struct offpay_limits_policy *p, const struct offpay_money *m) OFFPAY_WARN_UNUSED;
/* Out: *m, the money p's amounts are counted in (the default resolved). */
void offpay_limits_policy_money(const struct offpay_limits_policy *p, struct offpay_money *m);

/* Returns: 1 if name is a valid account name (1..32 bytes of [a-z0-9._-]), else 0. */
int offpay_account_name_valid(const char *name);

/* Returns: the message type of an encoded message (its second byte) after
 * checking the version byte, or 0 if in is too short or of another version.
 * Both forms of a record (types 4 and 10) are OFFPAY_MSG_RECORD: they are
 * one kind of message, with one text prefix and one decoder. */
int offpay_message_type(const uint8_t *in, size_t in_len);

/* Returns: 1 if id is on the list (binary search), else 0. */
int offpay_revocation_contains(const struct offpay_revocation *r, const uint8_t id[OFFPAY_WALLET_ID_BYTES]);

#endif

/*
 * protocol.h - the rules of the offline payment (CN108921542A, claims 1, 4, 5).
 *
 * Pure functions over the structs of messages.h: no I/O, no clock (callers
 * pass "now" in seconds), no allocation.  Each rule returns OFFPAY_OK or the
 * specific reason it refuses.
 *
 * The handshake:
 *   payee: offpay_request_build                          -> request
 *   payer: offpay_request_verify, offpay_limits_check,
 *          offpay_coins_select, offpay_record_build      -> record
 *   payee: offpay_record_verify_for_request,
 *          offpay_confirmation_build                     -> confirmation
 *          (or offpay_refusal_build                      -> refusal)
 *   payer: offpay_confirmation_verify                    -> swap inputs for change
 */
#ifndef OFFPAY_PROTOCOL_H
#define OFFPAY_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "offpay/messages.h"

/* Domain tags: every signature is made over BLAKE2b-256 keyed with one of these. */
#define OFFPAY_TAG_CERT "offpay/v1/cert"
#define OFFPAY_TAG_UTXO "offpay/v1/utxo"
#define OFFPAY_TAG_REQUEST "offpay/v1/request"
#define OFFPAY_TAG_RECORD "offpay/v1/record"
#define OFFPAY_TAG_CONFIRMATION "offpay/v1/confirmation"
#define OFFPAY_TAG_REFUSAL "offpay/v1/refusal"
#define OFFPAY_TAG_REVOCATION "offpay/v1/revocation"
#define OFFPAY_TAG_LIMITS "offpay/v1/limits"
#define OFFPAY_TAG_STAMP "offpay/v1/stamp"

/* ---- issuer side (the server) ---- */

/* Sign a certificate in place.  In: c (all fields but issuer_sig), issuer_sk.
 * Returns: OFFPAY_OK, OFFPAY_ERR_BAD_ACCOUNT_NAME, or OFFPAY_ERR_MALFORMED
 * when not_after < not_before. */
enum offpay_status offpay_cert_issue(struct offpay_cert *c, const uint8_t issuer_sk[OFFPAY_SECRET_KEY_BYTES]) OFFPAY_WARN_UNUSED;

/* Sign a UTXO attestation in place.  Returns: OFFPAY_OK or OFFPAY_ERR_ZERO_AMOUNT. */
enum offpay_status offpay_utxo_attest(struct offpay_utxo *u, const uint8_t issuer_sk[OFFPAY_SECRET_KEY_BYTES]) OFFPAY_WARN_UNUSED;

/* Sign a revocation list in place (ids must be strictly ascending). */
enum offpay_status offpay_revocation_sign(struct offpay_revocation *r, const uint8_t issuer_sk[OFFPAY_SECRET_KEY_BYTES]) OFFPAY_WARN_UNUSED;

/* Sign a limits policy in place. */
enum offpay_status offpay_limits_policy_sign(struct offpay_limits_policy *p, const uint8_t issuer_sk[OFFPAY_SECRET_KEY_BYTES]) OFFPAY_WARN_UNUSED;

/* Sign a sync stamp in place. */
enum offpay_status offpay_stamp_sign(struct offpay_stamp *st, const uint8_t issuer_sk[OFFPAY_SECRET_KEY_BYTES]) OFFPAY_WARN_UNUSED;

/* The same five through a signer (crypto.h), for an issuer key that is not
 * in memory.  The documents are byte for byte what the functions above make
 * with the same key.  Returns: as above, or OFFPAY_ERR_KEY_UNAVAILABLE when
 * the signer could not sign (the signature is then all zero). */
enum offpay_status offpay_cert_issue_with(struct offpay_cert *c, const struct offpay_signer *issuer) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_utxo_attest_with(struct offpay_utxo *u, const struct offpay_signer *issuer) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_revocation_sign_with(struct offpay_revocation *r, const struct offpay_signer *issuer) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_limits_policy_sign_with(struct offpay_limits_policy *p, const struct offpay_signer *issuer) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_stamp_sign_with(struct offpay_stamp *st, const struct offpay_signer *issuer) OFFPAY_WARN_UNUSED;

/* ---- checks anyone can make ---- */

/* A certificate is good at now if the issuer signed it, now is inside its
 * validity window, and its wallet id is not on revoked (which may be NULL).
 * Returns: OFFPAY_OK, OFFPAY_ERR_CERT_NOT_ISSUED, OFFPAY_ERR_CERT_NOT_YET_VALID,
 * OFFPAY_ERR_CERT_EXPIRED or OFFPAY_ERR_REVOKED. */
enum offpay_status offpay_cert_verify(const struct offpay_cert *c, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                      const struct offpay_revocation *revoked, uint64_t now) OFFPAY_WARN_UNUSED;

/* Returns: OFFPAY_OK or OFFPAY_ERR_INPUT_NOT_ATTESTED. */
enum offpay_status offpay_utxo_verify(const struct offpay_utxo *u, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES]) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_revocation_verify(const struct offpay_revocation *r, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES]) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_limits_policy_verify(const struct offpay_limits_policy *p, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES]) OFFPAY_WARN_UNUSED;
/* Returns: OFFPAY_OK or OFFPAY_ERR_STAMP_INVALID (not signed by the issuer). */
enum offpay_status offpay_stamp_verify(const struct offpay_stamp *st, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES]) OFFPAY_WARN_UNUSED;

/* ---- payee: request ---- */

/* Every *_build function below writes its output only at the end, so its
 * inputs may point into its output (rebuild a record from rec.inputs). */

/* Build and sign a request.  In: payee certificate and secret key, amount (> 0),
 * nonce (fresh: use offpay_random).  Out: r. */
enum offpay_status offpay_request_build(struct offpay_request *r, const struct offpay_cert *payee,
                                        const uint8_t payee_sk[OFFPAY_SECRET_KEY_BYTES], uint64_t amount,
                                        const uint8_t nonce[OFFPAY_NONCE_BYTES]) OFFPAY_WARN_UNUSED;

/* Payer's first step ([0073]): the payee certificate chains to the issuer, is
 * valid at now and not revoked, and the payee signed the request. */
enum offpay_status offpay_request_verify(const struct offpay_request *r, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                         const struct offpay_revocation *revoked, uint64_t now) OFFPAY_WARN_UNUSED;

/* ---- payer: limits (claim 4) ---- */

/* What the payer has used of its limits. */
struct offpay_limits_usage {
    uint64_t unsynced_total; /* sum of offline payments not yet synced */
    uint32_t count_in_period; /* offline payment instructions in the current period */
};

/* Out: eff = the stricter of server and owner, field by field; an owner
 * field of 0 is "not set" and leaves the server's value.  For holding and
 * offline_time a server's 0 is "no limit": the owner's value, if set, wins. */
void offpay_limits_effective(struct offpay_limits *eff, const struct offpay_limits *server,
                             const struct offpay_limits *owner);

/* Returns: the start of the period containing now (now rounded down to a multiple of period). */
uint64_t offpay_limits_period_start(uint64_t now, uint32_t period);

/* Refuse when amount is not below per_payment, when unsynced_total + amount
 * would reach offline_total, or when count_in_period has reached count.
 * Returns: OFFPAY_OK, OFFPAY_ERR_LIMIT_PER_PAYMENT, OFFPAY_ERR_LIMIT_OFFLINE_TOTAL
 * or OFFPAY_ERR_LIMIT_COUNT. */
enum offpay_status offpay_limits_check(const struct offpay_limits *l, const struct offpay_limits_usage *u,
                                       uint64_t amount) OFFPAY_WARN_UNUSED;

/* The holding limit (issue 13): held (offline coins now, spendable + locked
 * + in doubt) plus adding must stay at or below l->holding (0: no limit).
 * Returns: OFFPAY_OK or OFFPAY_ERR_LIMIT_HOLDING. */
enum offpay_status offpay_limits_check_holding(const struct offpay_limits *l, uint64_t held,
                                               uint64_t adding) OFFPAY_WARN_UNUSED;

/* The offline time limit (issue 13): a wallet may pay offline only while now
 * is at most l->offline_time seconds after synced_at, the server's time of its
 * last sync (0: never; l->offline_time 0: no limit).  Returns: OFFPAY_OK or
 * OFFPAY_ERR_LIMIT_OFFLINE_TIME. */
enum offpay_status offpay_limits_check_offline_time(const struct offpay_limits *l, uint64_t synced_at,
                                                    uint64_t now) OFFPAY_WARN_UNUSED;

/* ---- payer: coin selection ---- */

enum offpay_coin_state {
    OFFPAY_COIN_SPENDABLE = 0,
    OFFPAY_COIN_LOCKED = 1,   /* change of an unsynced record (claim 2) */
    OFFPAY_COIN_IN_DOUBT = 2  /* input of a record that may have left the wallet */
};

struct offpay_coin {
    uint64_t amount;
    enum offpay_coin_state state;
};

/*
 * Choose coins for amount: the smallest single spendable coin that covers it,
 * else the fewest spendable coins (largest first).  Locked and in-doubt coins
 * are never chosen.  Out: chosen[0..*n_chosen) = indexes into coins, at most
 * OFFPAY_RECORD_INPUTS_MAX.  Returns: OFFPAY_OK, OFFPAY_ERR_FUNDS_LOCKED (only
 * counting locked/in-doubt coins would cover it), OFFPAY_ERR_TOO_MANY_INPUTS,
 * OFFPAY_ERR_INSUFFICIENT_FUNDS or OFFPAY_ERR_ZERO_AMOUNT.
 */
enum offpay_status offpay_coins_select(size_t chosen[OFFPAY_RECORD_INPUTS_MAX], size_t *n_chosen,
                                       const struct offpay_coin *coins, size_t n_coins, uint64_t amount) OFFPAY_WARN_UNUSED;

/* ---- payer: record ---- */

/*
 * Build and sign the record paying request from inputs (all owned by payer).
 * change = sum(inputs) - request amount.  In: payer certificate and secret key,
 * the verified request, inputs[0..n_inputs), created (payer's clock), seq.
 * Out: r.  Returns: OFFPAY_OK, OFFPAY_ERR_INSUFFICIENT_FUNDS (inputs do not
 * cover it), OFFPAY_ERR_AMOUNT_OVERFLOW, OFFPAY_ERR_DUPLICATE_INPUT,
 * OFFPAY_ERR_INPUT_NOT_OWNED, OFFPAY_ERR_TOO_MANY_INPUTS, OFFPAY_ERR_SELF_PAYMENT.
 */
enum offpay_status offpay_record_build(struct offpay_record *r, const struct offpay_cert *payer,
                                       const uint8_t payer_sk[OFFPAY_SECRET_KEY_BYTES],
                                       const struct offpay_request *request, const struct offpay_utxo *inputs,
                                       size_t n_inputs, uint64_t created, uint64_t seq) OFFPAY_WARN_UNUSED;

/* offpay_record_build_with, carrying the payer's sync stamp (a type-10
 * record) when stamp is not NULL; the stamp is carried as it is (the payee
 * checks it: offpay_record_check_fresh). */
enum offpay_status offpay_record_build_stamped_with(struct offpay_record *r, const struct offpay_cert *payer,
                                                    const struct offpay_signer *payer_key,
                                                    const struct offpay_stamp *stamp,
                                                    const struct offpay_request *request,
                                                    const struct offpay_utxo *inputs, size_t n_inputs,
                                                    uint64_t created, uint64_t seq) OFFPAY_WARN_UNUSED;

/*
 * The payee's offline time check (issue 13): the payer proves it synced
 * within offline_time seconds of now (the payee's clock) with the sync stamp
 * its record carries.  A stamp the record carries must be the issuer's and
 * name the payer certificate's wallet, whatever offline_time is; with
 * offline_time 0 (no limit) a record without a stamp is fine.  A stamp from
 * a clock ahead of now counts as fresh.
 * Returns: OFFPAY_OK, OFFPAY_ERR_STAMP_INVALID (a forged stamp or another
 * wallet's: exit 4), or OFFPAY_ERR_PAYER_NOT_FRESH (no stamp, or one more
 * than offline_time old: exit 6).
 */
enum offpay_status offpay_record_check_fresh(const struct offpay_record *r, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                             uint32_t offline_time, uint64_t now) OFFPAY_WARN_UNUSED;

/* Out: id = BLAKE2b-256 of the record's signed body. */
void offpay_record_id(uint8_t id[OFFPAY_RECORD_ID_BYTES], const struct offpay_record *r);

/* ---- the wallet's builders through a signer ----
 * offpay_request_build, offpay_record_build, offpay_confirmation_build and
 * offpay_refusal_build with the wallet key behind a signer (crypto.h): same
 * contracts, same bytes, and OFFPAY_ERR_KEY_UNAVAILABLE when the signer
 * could not sign. */
enum offpay_status offpay_request_build_with(struct offpay_request *r, const struct offpay_cert *payee,
                                             const struct offpay_signer *payee_key, uint64_t amount,
                                             const uint8_t nonce[OFFPAY_NONCE_BYTES]) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_record_build_with(struct offpay_record *r, const struct offpay_cert *payer,
                                            const struct offpay_signer *payer_key, const struct offpay_request *request,
                                            const struct offpay_utxo *inputs, size_t n_inputs, uint64_t created,
                                            uint64_t seq) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_confirmation_build_with(struct offpay_confirmation *c,
                                                  const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                                  const struct offpay_cert *payee,
                                                  const struct offpay_signer *payee_key) OFFPAY_WARN_UNUSED;
enum offpay_status offpay_refusal_build_with(struct offpay_refusal *f, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                             uint8_t reason, const struct offpay_signer *payee_key) OFFPAY_WARN_UNUSED;

/* Flags for offpay_record_verify: a server that checks inputs against its own
 * ledger may skip their attestations; one that has verified the payer
 * certificate before may skip it (never skip either on a wallet). */
#define OFFPAY_VERIFY_SKIP_INPUT_ATTESTATIONS 0x1u
#define OFFPAY_VERIFY_SKIP_PAYER_CERT 0x2u

/*
 * Verify a record on its own: payer certificate (issued, valid at now, not
 * revoked), payer signature, every input attested by the issuer and owned by
 * the payer's key, no duplicate inputs, amounts balance exactly, payer is not
 * the payee.  Returns: OFFPAY_OK or the first failure.
 */
enum offpay_status offpay_record_verify(const struct offpay_record *r, const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                        const struct offpay_revocation *revoked, uint64_t now,
                                        unsigned flags) OFFPAY_WARN_UNUSED;

/* The payee's check (claim 5): offpay_record_verify, and the record pays this
 * request's payee exactly the requested amount for this request's nonce.
 * Returns: OFFPAY_OK, any offpay_record_verify failure, OFFPAY_ERR_WRONG_PAYEE,
 * OFFPAY_ERR_WRONG_AMOUNT or OFFPAY_ERR_WRONG_NONCE. */
enum offpay_status offpay_record_verify_for_request(const struct offpay_record *r, const struct offpay_request *request,
                                                    const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                                    const struct offpay_revocation *revoked,
                                                    uint64_t now) OFFPAY_WARN_UNUSED;

/* The outputs a record creates, not yet attested: index 0 is the payee's
 * output, index 1 the payer's change (only when change_amount > 0).
 * id = BLAKE2b-256("offpay/v1/output" || record id || index).
 * Out: u (issuer_sig zeroed).  Returns: OFFPAY_OK or OFFPAY_ERR_USAGE for a bad index. */
enum offpay_status offpay_record_output(struct offpay_utxo *u, const struct offpay_record *r,
                                        const uint8_t record_id[OFFPAY_RECORD_ID_BYTES], unsigned index) OFFPAY_WARN_UNUSED;

/* ---- payee: confirmation or refusal ---- */

enum offpay_status offpay_confirmation_build(struct offpay_confirmation *c, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                             const struct offpay_cert *payee,
                                             const uint8_t payee_sk[OFFPAY_SECRET_KEY_BYTES]) OFFPAY_WARN_UNUSED;

/* Payer's check of a confirmation for record r: right record id, signed by the
 * record's payee under a certificate that is good at now.  Returns: OFFPAY_OK,
 * OFFPAY_ERR_WRONG_RECORD, OFFPAY_ERR_WRONG_PAYEE, a certificate failure or
 * OFFPAY_ERR_BAD_SIGNATURE. */
enum offpay_status offpay_confirmation_verify(const struct offpay_confirmation *c, const struct offpay_record *r,
                                              const uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES],
                                              const struct offpay_revocation *revoked, uint64_t now) OFFPAY_WARN_UNUSED;

enum offpay_status offpay_refusal_build(struct offpay_refusal *f, const uint8_t record_id[OFFPAY_RECORD_ID_BYTES],
                                        uint8_t reason, const uint8_t payee_sk[OFFPAY_SECRET_KEY_BYTES]) OFFPAY_WARN_UNUSED;

/* A refusal is good for r when it names r and r's payee key signed it.
 * Returns: OFFPAY_OK, OFFPAY_ERR_WRONG_RECORD (also when r cannot be encoded,
 * so has no id), OFFPAY_ERR_MALFORMED or OFFPAY_ERR_BAD_SIGNATURE. */
enum offpay_status offpay_refusal_verify(const struct offpay_refusal *f, const struct offpay_record *r) OFFPAY_WARN_UNUSED;

#endif

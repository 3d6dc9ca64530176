/*
 * status.c - sentences, stable codes and exit codes for enum offpay_status.
 * The one place where a status becomes words or an exit code.
 */
#include "offpay/status.h"

struct status_info {
    const char *code;
    const char *sentence;
    int exit_code;
};

static const struct status_info table[OFFPAY_STATUS_COUNT_] = {
    [OFFPAY_OK] = {"ok", "Done.", OFFPAY_EXIT_OK},
    [OFFPAY_ERR_INTERNAL] = {"internal", "An internal error occurred.", OFFPAY_EXIT_INTERNAL},
    [OFFPAY_ERR_NOMEM] = {"no_memory", "Out of memory.", OFFPAY_EXIT_INTERNAL},
    [OFFPAY_ERR_CRYPTO_INIT] = {"crypto_init", "The crypto library could not be initialised.", OFFPAY_EXIT_INTERNAL},
    [OFFPAY_ERR_BUFFER_TOO_SMALL] = {"buffer_too_small", "An output buffer was too small.", OFFPAY_EXIT_INTERNAL},
    [OFFPAY_ERR_STORAGE] = {"storage", "The store could not be read or written.", OFFPAY_EXIT_INTERNAL},
    [OFFPAY_ERR_USAGE] = {"usage", "The command was used incorrectly.", OFFPAY_EXIT_USAGE},
    [OFFPAY_ERR_MALFORMED] = {"malformed", "The message is malformed.", OFFPAY_EXIT_MALFORMED},
    [OFFPAY_ERR_TRUNCATED] = {"truncated", "The message is truncated.", OFFPAY_EXIT_MALFORMED},
    [OFFPAY_ERR_TRAILING_BYTES] = {"trailing_bytes", "The message has bytes after its end.", OFFPAY_EXIT_MALFORMED},
    [OFFPAY_ERR_BAD_VERSION] = {"bad_version", "The message is of an unsupported version.", OFFPAY_EXIT_MALFORMED},
    [OFFPAY_ERR_WRONG_TYPE] = {"wrong_type", "The message is not of the expected type.", OFFPAY_EXIT_MALFORMED},
    [OFFPAY_ERR_ZERO_AMOUNT] = {"zero_amount", "An amount is zero where it must be positive.", OFFPAY_EXIT_MALFORMED},
    [OFFPAY_ERR_AMOUNT_OVERFLOW] = {"amount_overflow", "The amounts add up to more than can be represented.", OFFPAY_EXIT_MALFORMED},
    [OFFPAY_ERR_TOO_MANY_ITEMS] = {"too_many_items", "The message holds more items than allowed.", OFFPAY_EXIT_MALFORMED},
    [OFFPAY_ERR_BAD_ACCOUNT_NAME] = {"bad_account_name", "The account name must be 1 to 32 characters of a-z, 0-9, '.', '_' or '-'.", OFFPAY_EXIT_MALFORMED},
    [OFFPAY_ERR_NOT_CANONICAL] = {"not_canonical", "The message is not in canonical form.", OFFPAY_EXIT_MALFORMED},
    [OFFPAY_ERR_BAD_TEXT] = {"bad_text", "The text is not an offpay message.", OFFPAY_EXIT_MALFORMED},
    [OFFPAY_ERR_BAD_SIGNATURE] = {"bad_signature", "A signature does not verify: the message was tampered with or signed by someone else.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_CERT_NOT_ISSUED] = {"cert_not_issued", "The certificate was not issued by this server's issuer key.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_CERT_EXPIRED] = {"cert_expired", "The certificate has expired.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_CERT_NOT_YET_VALID] = {"cert_not_yet_valid", "The certificate is not valid yet.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_REVOKED] = {"revoked", "The wallet's certificate has been revoked.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_INPUT_NOT_ATTESTED] = {"input_not_attested", "A spent coin is not attested by the issuer.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_INPUT_NOT_OWNED] = {"input_not_owned", "A spent coin does not belong to the payer.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_DUPLICATE_INPUT] = {"duplicate_input", "The same coin is spent twice in one payment.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_UNBALANCED] = {"unbalanced", "The outputs do not add up to the inputs.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_WRONG_PAYEE] = {"wrong_payee", "The payment is for another payee.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_WRONG_AMOUNT] = {"wrong_amount", "The payment is not for the requested amount.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_WRONG_NONCE] = {"wrong_nonce", "The payment answers another payment request.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_WRONG_RECORD] = {"wrong_record", "The answer is for another payment.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_SELF_PAYMENT] = {"self_payment", "A wallet cannot pay itself.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_INSUFFICIENT_FUNDS] = {"insufficient_funds", "Not enough spendable offline funds.", OFFPAY_EXIT_FUNDS},
    [OFFPAY_ERR_FUNDS_LOCKED] = {"funds_locked", "Not enough spendable offline funds: the rest is change locked until its payment is synced, or in doubt.", OFFPAY_EXIT_FUNDS},
    [OFFPAY_ERR_TOO_MANY_INPUTS] = {"too_many_inputs", "The payment would need more than 16 coins; load larger coins.", OFFPAY_EXIT_FUNDS},
    [OFFPAY_ERR_LIMIT_PER_PAYMENT] = {"limit_per_payment", "The amount is not below the per-payment offline limit.", OFFPAY_EXIT_LIMIT},
    [OFFPAY_ERR_LIMIT_OFFLINE_TOTAL] = {"limit_offline_total", "This payment would reach the limit on unsynced offline spending; sync first.", OFFPAY_EXIT_LIMIT},
    [OFFPAY_ERR_LIMIT_COUNT] = {"limit_count", "The number of offline payments allowed in this period has been reached.", OFFPAY_EXIT_LIMIT},
    [OFFPAY_ERR_UNREACHABLE] = {"unreachable", "The server cannot be reached.", OFFPAY_EXIT_UNREACHABLE},
    [OFFPAY_ERR_REJECTED] = {"rejected", "The server rejected the request.", OFFPAY_EXIT_REJECTED},
    [OFFPAY_ERR_PEER_UNREACHABLE] = {"peer_unreachable", "The other device cannot be reached.", OFFPAY_EXIT_UNREACHABLE},
    [OFFPAY_ERR_PEER_TIMEOUT] = {"peer_timeout", "The other device did not answer in time.", OFFPAY_EXIT_UNREACHABLE},
    [OFFPAY_ERR_PEER_CLOSED] = {"peer_closed", "The other device closed the connection.", OFFPAY_EXIT_UNREACHABLE},
    [OFFPAY_ERR_FRAME_TOO_LARGE] = {"frame_too_large", "The other device sent a frame larger than any message.", OFFPAY_EXIT_MALFORMED},
    [OFFPAY_ERR_NO_CODE] = {"no_code", "The picture holds no offpay QR code.", OFFPAY_EXIT_MALFORMED},
    [OFFPAY_ERR_OUTCOME_UNKNOWN] = {"outcome_unknown", "The server's answer was lost; the outcome is not known yet.", OFFPAY_EXIT_UNREACHABLE},
    [OFFPAY_ERR_KEY_UNAVAILABLE] = {"key_unavailable", "The wallet's key is unavailable.", OFFPAY_EXIT_KEY_UNAVAILABLE},
    [OFFPAY_ERR_SERVER_UNTRUSTED] = {"server_untrusted", "The server's TLS certificate does not verify.", OFFPAY_EXIT_UNREACHABLE},
    [OFFPAY_ERR_PEER_REFUSED] = {"peer_refused", "The other device refused the payment.", OFFPAY_EXIT_VERIFICATION},
    [OFFPAY_ERR_LIMIT_HOLDING] = {"limit_holding", "The offline coins would pass the holding limit.", OFFPAY_EXIT_LIMIT},
    [OFFPAY_ERR_LIMIT_OFFLINE_TIME] = {"limit_offline_time", "The last sync is longer ago than the offline time limit; sync first.", OFFPAY_EXIT_LIMIT},
    [OFFPAY_ERR_PAYER_NOT_FRESH] = {"payer_not_fresh", "The payer has not shown that it synced within the offline time limit; it must sync first.", OFFPAY_EXIT_LIMIT},
    [OFFPAY_ERR_DECLINED] = {"declined", "Not done: the answer was no; nothing changed.", OFFPAY_EXIT_USAGE},
    [OFFPAY_ERR_STAMP_INVALID] = {"stamp_invalid", "The sync stamp is not the issuer's, or is another wallet's.", OFFPAY_EXIT_VERIFICATION},
};

static const struct status_info *info(enum offpay_status s)
{
    if ((unsigned)s >= OFFPAY_STATUS_COUNT_ || table[s].code == 0)
        return &table[OFFPAY_ERR_INTERNAL];
    return &table[s];
}

const char *offpay_status_str(enum offpay_status s) { return info(s)->sentence; }
const char *offpay_status_code(enum offpay_status s) { return info(s)->code; }
int offpay_status_exit_code(enum offpay_status s) { return info(s)->exit_code; }

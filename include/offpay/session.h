/*
 * session.h - one offline payment between two wallets over any transport.
 *
 * The two sides of the handshake, driven over a struct offpay_transport
 * (transport.h), with every check done by the wallet library (wallet.h):
 *
 *   payee                                   payer
 *   offpay_wallet_request_create  --request-->
 *                                           offpay_wallet_pay (verify, limits,
 *                                           coins; inputs in doubt, record
 *                                           stored)
 *                                 <--record--
 *   offpay_wallet_accept (verify,
 *   store pending) or _refuse
 *                                 --confirmation or refusal-->
 *                                           offpay_wallet_confirm
 *
 * Either side may send an abort frame instead of its next message, carrying
 * the status code of why it stops.  A frame's type must match its payload's
 * message type.  Whatever breaks, the wallets stay consistent because every
 * wallet step is one transaction taken before the frame that reports it
 * leaves: once the payer's record may have left, its inputs are in doubt
 * (and the next sync settles the record); the payee stores nothing until it
 * has verified the record and made its confirmation.
 *
 * A new channel (NFC, Bluetooth) only needs a struct offpay_transport;
 * these functions do not change.
 */
#ifndef OFFPAY_SESSION_H
#define OFFPAY_SESSION_H

#include <stdint.h>

#include "offpay/status.h"
#include "offpay/transport.h"
#include "offpay/wallet.h"

/* How far a session got, and what the other side said. */
struct offpay_session_result {
    struct offpay_wallet_payment info; /* filled once the wallet step succeeded */
    uint64_t requested;                /* the amount the request asked for (0 before one arrived) */
    char requester[OFFPAY_ACCOUNT_MAX + 1]; /* the account the request came from ("" before one arrived) */
    int record_sent;                   /* payer: the record may have left (inputs in doubt) */
    int accepted;                      /* payee: the record is stored and a confirmation made */
    int refused;                       /* payee: we refused; payer: the payee refused */
    int answer_sent;                   /* payee: the confirmation or refusal was handed to the channel */
    /* The other side's abort reason code ("" when it sent none) and its status
     * when the code is one of ours (OFFPAY_OK otherwise). */
    char peer_reason[OFFPAY_FRAME_ABORT_MAX + 1];
    enum offpay_status peer_status;
};

/*
 * Payer: take the payee's request from t, check that it asks for exactly
 * amount and, when payee_account is not NULL, that it comes from that
 * account (the payee of the user's payment instruction, claim 1: on a shared
 * network anyone could answer the connection); pay it with
 * offpay_wallet_pay, send the record and apply the answer with
 * offpay_wallet_confirm.  Every receive waits at most timeout_ms.
 * Out: *res.  Returns: OFFPAY_OK (confirmed: the change is locked until
 * sync), OFFPAY_ERR_PEER_REFUSED (the payee refused or aborted; res says
 * why; after the record left, its inputs stay in doubt until sync),
 * OFFPAY_ERR_WRONG_AMOUNT / OFFPAY_ERR_WRONG_PAYEE (the request asks for
 * another amount / comes from another account; nothing changed), any
 * failure of offpay_wallet_pay / offpay_wallet_confirm, a malformed frame
 * (exit 3), or a transport failure (exit 7).  Does not close t.
 */
enum offpay_status offpay_session_pay(struct offpay_wallet *w, struct offpay_transport *t, uint64_t amount,
                                      const char *payee_account, struct offpay_session_result *res,
                                      int timeout_ms) OFFPAY_WARN_UNUSED;

/*
 * What offpay_session_pay_asking calls once the payee's request is in and
 * asks for the agreed amount from the agreed payee, before the wallet pays
 * it: request[0..len) is the request's binary.  Returns: OFFPAY_OK to pay,
 * or the status to stop with (e.g. OFFPAY_ERR_DECLINED: the payee gets an
 * abort with its code, and nothing changed).
 */
typedef enum offpay_status (*offpay_session_ask_fn)(void *arg, const uint8_t *request, size_t len);

/* offpay_session_pay, calling ask(ask_arg, ...) (when not NULL) before
 * paying; a status ask returns other than OFFPAY_OK is returned as it is. */
enum offpay_status offpay_session_pay_asking(struct offpay_wallet *w, struct offpay_transport *t, uint64_t amount,
                                             const char *payee_account, offpay_session_ask_fn ask, void *ask_arg,
                                             struct offpay_session_result *res, int timeout_ms) OFFPAY_WARN_UNUSED;

/*
 * Payee: create a request for amount, send it, take the payer's record and
 * answer: a confirmation (offpay_wallet_accept), or, when the record fails
 * verification, a signed refusal (offpay_wallet_refuse) where one can be
 * made, else an abort.  Out: *res.  Returns: OFFPAY_OK once the record is
 * accepted (even if the confirmation could not be delivered: the record is
 * stored and settles at either side's sync; res->answer_sent says),
 * OFFPAY_ERR_PEER_REFUSED (the payer aborted), the verification failure that
 * made us refuse, a malformed frame, or a transport failure.  Does not close t.
 */
enum offpay_status offpay_session_receive(struct offpay_wallet *w, struct offpay_transport *t, uint64_t amount,
                                          struct offpay_session_result *res, int timeout_ms) OFFPAY_WARN_UNUSED;

#endif

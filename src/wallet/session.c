/*
 * session.c - the handshake of one offline payment over a transport (see
 * session.h).  This file only moves messages and decides what to send next;
 * every check and every change of a wallet is a call into wallet.h, the same
 * calls the file-based commands make.
 *
 * Crash and disconnect safety comes from ordering: a wallet step commits
 * before the frame that carries its result is sent, and a side that has
 * committed never undoes it because the channel broke.  So a cut anywhere
 * leaves the payer either untouched (its record never made) or with the
 * inputs in doubt (the record made, maybe delivered), and the payee either
 * untouched or with the record stored and confirmed.
 */
#include <string.h>

#include "offpay/messages.h"
#include "offpay/session.h"

/* The status whose stable code is code, or OFFPAY_OK if there is none. */
static enum offpay_status status_of_code(const char *code)
{
    for (int i = 1; i < OFFPAY_STATUS_COUNT_; i++)
        if (strcmp(offpay_status_code((enum offpay_status)i), code) == 0)
            return (enum offpay_status)i;
    return OFFPAY_OK;
}

/* Remember the peer's abort reason; a reason that is not a short code of
 * [a-z0-9_] is kept as "invalid" rather than echoed. */
static void note_abort(struct offpay_session_result *res, const uint8_t *p, size_t n)
{
    int ok = n > 0 && n <= OFFPAY_FRAME_ABORT_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_';
    if (ok) {
        memcpy(res->peer_reason, p, n);
        res->peer_reason[n] = '\0';
    } else {
        strcpy(res->peer_reason, "invalid");
    }
    res->peer_status = status_of_code(res->peer_reason);
}

/*
 * Receive the next frame, which must be one of want_a / want_b (0: none) or
 * an abort.  A message frame's type must equal its payload's own type byte.
 * Returns: OFFPAY_OK, OFFPAY_ERR_PEER_REFUSED (an abort, noted in res),
 * OFFPAY_ERR_WRONG_TYPE (another frame), or the transport's failure.
 */
static enum offpay_status expect(struct offpay_transport *t, uint8_t *type, uint8_t *buf, size_t cap, size_t *len,
                                 uint8_t want_a, uint8_t want_b, struct offpay_session_result *res, int timeout_ms)
{
    enum offpay_status s = offpay_transport_recv(t, type, buf, cap, len, timeout_ms);
    if (s != OFFPAY_OK)
        return s;
    if (*type == OFFPAY_FRAME_ABORT) {
        note_abort(res, buf, *len);
        return OFFPAY_ERR_PEER_REFUSED;
    }
    if ((*type != want_a && *type != want_b) || offpay_message_type(buf, *len) != *type)
        return OFFPAY_ERR_WRONG_TYPE;
    return OFFPAY_OK;
}

/* A frame we refuse (rather than a channel that failed): worth telling the
 * peer why before hanging up. */
static int refusable_frame_error(enum offpay_status s)
{
    return s == OFFPAY_ERR_WRONG_TYPE || s == OFFPAY_ERR_BAD_VERSION || s == OFFPAY_ERR_MALFORMED ||
           s == OFFPAY_ERR_FRAME_TOO_LARGE;
}

/* Tell the peer why we stop (best effort: it may be gone already). */
static void abort_with(struct offpay_transport *t, enum offpay_status why, int timeout_ms)
{
    (void)offpay_transport_send_abort(t, why, timeout_ms);
}

enum offpay_status offpay_session_pay(struct offpay_wallet *w, struct offpay_transport *t, uint64_t amount,
                                      const char *payee_account, struct offpay_session_result *res, int timeout_ms)
{
    return offpay_session_pay_asking(w, t, amount, payee_account, NULL, NULL, res, timeout_ms);
}

enum offpay_status offpay_session_pay_asking(struct offpay_wallet *w, struct offpay_transport *t, uint64_t amount,
                                             const char *payee_account, offpay_session_ask_fn ask, void *ask_arg,
                                             struct offpay_session_result *res, int timeout_ms)
{
    static const size_t cap = OFFPAY_FRAME_PAYLOAD_MAX;
    uint8_t buf[OFFPAY_FRAME_PAYLOAD_MAX], rec[OFFPAY_RECORD_BYTES_MAX], type;
    size_t len, rec_len;
    struct offpay_request req;
    enum offpay_status s;

    memset(res, 0, sizeof *res);
    s = expect(t, &type, buf, cap, &len, OFFPAY_FRAME_REQUEST, 0, res, timeout_ms);
    if (s != OFFPAY_OK) {
        if (refusable_frame_error(s))
            abort_with(t, s, timeout_ms);
        return s;
    }
    /* The payer agreed to pay `amount` (to `payee_account`); a request for
     * anything else is refused here, before the wallet commits to anything. */
    if ((s = offpay_request_decode(&req, buf, len)) != OFFPAY_OK) {
        abort_with(t, s, timeout_ms);
        return s;
    }
    res->requested = req.amount;
    memcpy(res->requester, req.payee.account, sizeof res->requester);
    if (req.amount != amount) {
        abort_with(t, OFFPAY_ERR_WRONG_AMOUNT, timeout_ms);
        return OFFPAY_ERR_WRONG_AMOUNT;
    }
    /* The name is only as good as the certificate behind it, which
     * offpay_wallet_pay verifies next (issuer, validity, revocation). */
    if (payee_account != NULL && strcmp(req.payee.account, payee_account) != 0) {
        abort_with(t, OFFPAY_ERR_WRONG_PAYEE, timeout_ms);
        return OFFPAY_ERR_WRONG_PAYEE;
    }
    /* The person paying says yes or no before the wallet commits to anything. */
    if (ask != NULL && (s = ask(ask_arg, buf, len)) != OFFPAY_OK) {
        abort_with(t, s, timeout_ms);
        return s;
    }
    s = offpay_wallet_pay(w, rec, sizeof rec, &rec_len, &res->info, buf, len);
    if (s != OFFPAY_OK) {
        abort_with(t, s, timeout_ms);
        return s;
    }
    /* Committed: the inputs are in doubt and the record is pending.  From
     * here on the record may reach the payee, whatever happens next. */
    res->record_sent = 1;
    if ((s = offpay_transport_send(t, OFFPAY_FRAME_RECORD, rec, rec_len, timeout_ms)) != OFFPAY_OK)
        return s;
    s = expect(t, &type, buf, cap, &len, OFFPAY_FRAME_CONFIRMATION, OFFPAY_FRAME_REFUSAL, res, timeout_ms);
    if (s != OFFPAY_OK) {
        if (refusable_frame_error(s))
            abort_with(t, s, timeout_ms);
        return s;
    }
    /* The payment's own details (amount, change, payee) stay as the pay step
     * reported them; confirm says only whether it was a refusal. */
    struct offpay_wallet_payment answer;
    if ((s = offpay_wallet_confirm(w, &answer, buf, len)) != OFFPAY_OK)
        return s;
    if (answer.refused) {
        res->refused = 1;
        res->info.refused = 1;
        res->info.refusal_reason = answer.refusal_reason;
        return OFFPAY_ERR_PEER_REFUSED;
    }
    return OFFPAY_OK;
}

/* Returns: OFFPAY_OK if the record (already known to carry the record type)
 * names the nonce of our request, a malformation, or OFFPAY_ERR_WRONG_NONCE. */
static enum offpay_status answers_request(const uint8_t *rec, size_t rec_len, const uint8_t *req, size_t req_len)
{
    struct offpay_record r;
    struct offpay_request q;
    enum offpay_status s;
    if ((s = offpay_request_decode(&q, req, req_len)) != OFFPAY_OK)
        return OFFPAY_ERR_INTERNAL;
    if ((s = offpay_record_decode(&r, rec, rec_len)) != OFFPAY_OK)
        return s;
    return memcmp(r.nonce, q.nonce, OFFPAY_NONCE_BYTES) == 0 ? OFFPAY_OK : OFFPAY_ERR_WRONG_NONCE;
}

/* The refusal reason for a record that failed the payee's checks. */
static uint8_t refusal_reason(enum offpay_status s)
{
    switch (s) {
    case OFFPAY_ERR_WRONG_AMOUNT: return OFFPAY_REFUSE_WRONG_AMOUNT;
    case OFFPAY_ERR_REVOKED: return OFFPAY_REFUSE_REVOKED;
    default: return OFFPAY_REFUSE_INVALID;
    }
}

enum offpay_status offpay_session_receive(struct offpay_wallet *w, struct offpay_transport *t, uint64_t amount,
                                          struct offpay_session_result *res, int timeout_ms)
{
    static const size_t cap = OFFPAY_FRAME_PAYLOAD_MAX;
    uint8_t req[OFFPAY_REQUEST_BYTES_MAX], buf[OFFPAY_FRAME_PAYLOAD_MAX], ans[OFFPAY_CONFIRMATION_BYTES_MAX], type;
    size_t req_len, len, ans_len;
    enum offpay_status s;

    memset(res, 0, sizeof *res);
    res->requested = amount;
    if ((s = offpay_wallet_request_create(w, req, sizeof req, &req_len, amount)) != OFFPAY_OK) {
        abort_with(t, s, timeout_ms);
        return s;
    }
    if ((s = offpay_transport_send(t, OFFPAY_FRAME_REQUEST, req, req_len, timeout_ms)) != OFFPAY_OK)
        return s;
    s = expect(t, &type, buf, cap, &len, OFFPAY_FRAME_RECORD, 0, res, timeout_ms);
    if (s != OFFPAY_OK) {
        if (refusable_frame_error(s))
            abort_with(t, s, timeout_ms);
        return s;
    }
    /* The record must answer the request of this session, not another
     * unanswered one of ours: the payee's user agreed to this amount now. */
    if ((s = answers_request(buf, len, req, req_len)) != OFFPAY_OK) {
        abort_with(t, s, timeout_ms);
        return s;
    }
    s = offpay_wallet_accept(w, ans, sizeof ans, &ans_len, &res->info, buf, len);
    if (s == OFFPAY_OK) {
        /* Stored and confirmed: from here the payment stands, delivered or not. */
        res->accepted = 1;
        res->answer_sent = offpay_transport_send(t, OFFPAY_FRAME_CONFIRMATION, ans, ans_len, timeout_ms) == OFFPAY_OK;
        return OFFPAY_OK;
    }
    /* A record that fails verification gets a signed refusal when it is
     * addressed to us and signed (so the payer can void it at the server);
     * anything else - malformed, a storage failure - only an abort. */
    if (offpay_status_exit_code(s) == OFFPAY_EXIT_VERIFICATION) {
        struct offpay_wallet_payment refused;
        if (offpay_wallet_refuse(w, ans, sizeof ans, &ans_len, &refused, buf, len, refusal_reason(s)) == OFFPAY_OK) {
            res->refused = 1;
            res->info = refused;
            res->answer_sent = offpay_transport_send(t, OFFPAY_FRAME_REFUSAL, ans, ans_len, timeout_ms) == OFFPAY_OK;
            return s;
        }
    }
    abort_with(t, s, timeout_ms);
    return s;
}

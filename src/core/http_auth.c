/*
 * http_auth.c - the signed bytes of an authenticated request (docs/api.md).
 *
 * What is signed is METHOD "\n" PATH "\n" hex(BLAKE2b-256(body)) "\n"
 * TIMESTAMP "\n" NONCE.  The body enters only through its hash, so a large
 * body is hashed once and never copied.
 */
#include <string.h>

#include "offpay/http_auth.h"

/* Method and path are short; anything longer is refused by the server
 * before it gets here, and the client never sends it. */
#define AUTH_MSG_MAX 2048

static size_t auth_message(char *out, size_t cap, const char *method, const char *path, const uint8_t *body,
                           size_t body_len, const char *timestamp, const char *nonce_hex)
{
    uint8_t h[OFFPAY_HASH_BYTES];
    char hx[2 * OFFPAY_HASH_BYTES + 1];
    size_t lm = strlen(method), lp = strlen(path), lt = strlen(timestamp), ln = strlen(nonce_hex);
    size_t need = lm + 1 + lp + 1 + sizeof hx - 1 + 1 + lt + 1 + ln;

    if (need > cap)
        return 0;
    offpay_hash(h, body_len > 0 ? body : (const uint8_t *)"", body_len);
    offpay_hex(hx, h, sizeof h);
    size_t o = 0;
    memcpy(out + o, method, lm), o += lm, out[o++] = '\n';
    memcpy(out + o, path, lp), o += lp, out[o++] = '\n';
    memcpy(out + o, hx, sizeof hx - 1), o += sizeof hx - 1, out[o++] = '\n';
    memcpy(out + o, timestamp, lt), o += lt, out[o++] = '\n';
    memcpy(out + o, nonce_hex, ln), o += ln;
    return o;
}

int offpay_http_auth_sign_with(uint8_t sig[OFFPAY_SIGNATURE_BYTES], const struct offpay_signer *key, const char *method,
                               const char *path, const uint8_t *body, size_t body_len, const char *timestamp,
                               const char *nonce_hex)
{
    char msg[AUTH_MSG_MAX];
    size_t n = auth_message(msg, sizeof msg, method, path, body, body_len, timestamp, nonce_hex);
    /* An over-long message gets no signature: an all-zero one, which the
     * server refuses, so it is obviously not a real one. */
    if (n == 0) {
        memset(sig, 0, OFFPAY_SIGNATURE_BYTES);
        return -1;
    }
    return offpay_sign_with(sig, key, OFFPAY_HTTP_AUTH_TAG, (const uint8_t *)msg, n);
}

void offpay_http_auth_sign(uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t sk[OFFPAY_SECRET_KEY_BYTES],
                           const char *method, const char *path, const uint8_t *body, size_t body_len,
                           const char *timestamp, const char *nonce_hex)
{
    struct offpay_signer k;
    offpay_signer_from_key(&k, sk);
    (void)!offpay_http_auth_sign_with(sig, &k, method, path, body, body_len, timestamp, nonce_hex);
}

int offpay_http_auth_verify(const uint8_t sig[OFFPAY_SIGNATURE_BYTES], const uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES],
                            const char *method, const char *path, const uint8_t *body, size_t body_len,
                            const char *timestamp, const char *nonce_hex)
{
    char msg[AUTH_MSG_MAX];
    size_t n = auth_message(msg, sizeof msg, method, path, body, body_len, timestamp, nonce_hex);
    if (n == 0)
        return -1;
    return offpay_verify(sig, pk, OFFPAY_HTTP_AUTH_TAG, (const uint8_t *)msg, n);
}

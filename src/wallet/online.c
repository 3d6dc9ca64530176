/*
 * online.c - what the wallet does with the server (docs/api.md): enrol,
 * online balance, load, unload, sync and pay-online.
 *
 * The pattern everywhere: ask the server first, verify everything it hands
 * back (issuer signatures, our key, the outputs we expect), then apply it in
 * one transaction.  An unreachable server or a refused request changes
 * nothing.  A repeated sync is harmless: the server settles once and hands
 * the same attested outputs out again, and the store skips what it holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"
#include "offpay/client.h"
#include "offpay/text.h"

#define SYNC_BATCH_MAX 1000 /* records per /v1/sync call (docs/api.md) */
#define LOAD_MAX 64         /* amounts per /v1/load, ids per /v1/unload */
#define RECOVER_MAX 10000   /* coins in one /v1/utxos answer (docs/api.md) */
#define RECOVER_PAGES 1000  /* pages of them read in one sync (ten million coins) */
#define SYNC_BATCHES_MAX 1000 /* batches in one sync (a million records) */

/* ---- one call ---- */

/* The answer did not come back whole: the server may have acted (a read
 * changes nothing, so for a GET it is only a server that did not answer). */
static enum offpay_status lost(struct offpay_wallet *w, const char *method, const char *why)
{
    if (strcmp(method, "GET") == 0)
        return wallet_fail(w, OFFPAY_ERR_UNREACHABLE, "The server at %s did not answer in full: %s; nothing changed.",
                           w->server_url, why);
    return wallet_fail(w, OFFPAY_ERR_OUTCOME_UNKNOWN,
                       "The server at %s may have acted on the request, but %s; the outcome is not known yet: "
                       "`offpay sync` will settle it.",
                       w->server_url, why);
}

enum offpay_status wallet_call(struct offpay_wallet *w, const char *method, const char *path, const json_t *body,
                               int with_key, const uint8_t *nonce, uint64_t ts, json_t **resp)
{
    struct offpay_client_auth auth = {0};
    uint8_t *sk = NULL;
    long http = 0;
    enum offpay_status s;
    char why[96];

    *resp = NULL;
    if (with_key) {
        if ((s = wallet_key_load(w, &sk)) != OFFPAY_OK)
            return s;
        memcpy(auth.wallet_id, w->cert.wallet_id, OFFPAY_WALLET_ID_BYTES);
        auth.secret_key = sk;
        auth.nonce = nonce;
        auth.timestamp = ts;
    }
    json_t *answer = NULL;
    s = offpay_client_call(w->server_url, method, path, body, with_key ? &auth : NULL, &http, &answer);
    wallet_key_free(sk);
    if (s == OFFPAY_ERR_UNREACHABLE || s == OFFPAY_ERR_USAGE) {
        json_decref(answer);
        return wallet_fail(w, OFFPAY_ERR_UNREACHABLE, "The server at %s cannot be reached; nothing changed.",
                           w->server_url);
    }
    if (s == OFFPAY_ERR_MALFORMED && http >= 400 && http <= 499) {
        json_decref(answer);
        return wallet_fail(w, OFFPAY_ERR_REJECTED,
                           "The server at %s refused with an answer that is not valid JSON (HTTP %ld); nothing changed.",
                           w->server_url, http);
    }
    if (s != OFFPAY_OK) {
        json_decref(answer);
        if (s == OFFPAY_ERR_MALFORMED)
            snprintf(why, sizeof why, "its answer (HTTP %ld) is not valid JSON", http);
        else
            snprintf(why, sizeof why, "its answer was lost");
        return lost(w, method, why);
    }
    if (http < 200 || http > 499) {
        json_decref(answer);
        snprintf(why, sizeof why, "it answered HTTP %ld", http);
        return lost(w, method, why);
    }
    if (http > 299) {
        const char *code = json_string_value(json_object_get(answer, "error"));
        const char *msg = json_string_value(json_object_get(answer, "message"));
        /* "replayed": a request with this nonce took effect, and this is not its answer. */
        if (code != NULL && strcmp(code, "replayed") == 0) {
            json_decref(answer);
            return lost(w, method, "it says the request was made already");
        }
        wallet_fail(w, OFFPAY_ERR_REJECTED, "The server refused (%s): %s", code ? code : "error",
                    msg ? msg : "no reason given.");
        json_decref(answer);
        return OFFPAY_ERR_REJECTED;
    }
    *resp = answer;
    return OFFPAY_OK;
}

/* A call with a fresh nonce, for reads and idempotent calls. */
static enum offpay_status call(struct offpay_wallet *w, const char *method, const char *path, const json_t *body,
                               int with_key, json_t **resp)
{
    return wallet_call(w, method, path, body, with_key, NULL, 0, resp);
}

/* A field holding a message in text form.  Out: bin[0..*len).  The answer
 * came from the server, so a bad field is the server's fault: REJECTED. */
static enum offpay_status text_field(struct offpay_wallet *w, const json_t *obj, const char *key, int type, uint8_t *bin,
                                     size_t cap, size_t *len)
{
    int got_type;
    const char *text = json_string_value(json_object_get(obj, key));
    if (text == NULL || offpay_text_decode(bin, cap, len, &got_type, type, text, strlen(text)) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's answer has a bad \"%s\" field; nothing changed.", key);
    return OFFPAY_OK;
}

static enum offpay_status u64_field(struct offpay_wallet *w, const json_t *obj, const char *key, uint64_t *v)
{
    json_t *j = json_object_get(obj, key);
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's answer has a bad \"%s\" field.", key);
    *v = (uint64_t)json_integer_value(j);
    return OFFPAY_OK;
}

/* Limits and revocation list of an answer (enrol, limits, sync), decoded.
 * Out: *p, *rev_bin (malloc'd) / *rev_len. */
static enum offpay_status policy_fields(struct offpay_wallet *w, const json_t *obj, struct offpay_limits_policy *p,
                                        uint8_t **rev_bin, size_t *rev_len)
{
    uint8_t lim[OFFPAY_LIMITS_BYTES];
    size_t lim_len = 0;
    enum offpay_status s;
    size_t cap = OFFPAY_REVOCATION_BYTES(OFFPAY_REVOCATION_MAX);

    *rev_bin = NULL;
    if ((s = text_field(w, obj, "limits", OFFPAY_MSG_LIMITS, lim, sizeof lim, &lim_len)) != OFFPAY_OK)
        return s;
    if (offpay_limits_policy_decode(p, lim, lim_len) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's limits are malformed; nothing changed.");
    if ((*rev_bin = malloc(cap)) == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the revocation list.");
    if ((s = text_field(w, obj, "revocation", OFFPAY_MSG_REVOCATION, *rev_bin, cap, rev_len)) != OFFPAY_OK) {
        free(*rev_bin);
        *rev_bin = NULL;
    }
    return s;
}

/* ---- enrol ---- */

#define ENROL_KEY_FILE "enrol.key" /* the key of an enrolment whose answer was lost */

/* The key to enrol: the one an earlier attempt left (its answer was lost,
 * so the server may hold it with the token already), else a new one written
 * down before the token can be spent.  Out: sk (sodium_malloc'd), *reused. */
static enum offpay_status enrol_key(struct offpay_wallet *w, uint8_t *sk, int *reused)
{
    char path[PATH_MAX + 16];
    struct stat stbuf;
    snprintf(path, sizeof path, "%s/%s", w->dir, ENROL_KEY_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *reused = fd >= 0;
    if (fd >= 0) {
        uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], again[OFFPAY_SECRET_KEY_BYTES];
        if (fstat(fd, &stbuf) == 0 && wallet_key_mode_check(w, path, &stbuf) != OFFPAY_OK) {
            close(fd);
            return OFFPAY_ERR_KEY_UNAVAILABLE;
        }
        int ok = fstat(fd, &stbuf) == 0 && stbuf.st_size == OFFPAY_SECRET_KEY_BYTES &&
                 read(fd, sk, OFFPAY_SECRET_KEY_BYTES) == OFFPAY_SECRET_KEY_BYTES;
        close(fd);
        /* libsodium's secret key is seed || public key: the two must agree. */
        if (ok) {
            offpay_keypair_from_seed(pk, again, sk);
            ok = sodium_memcmp(again, sk, sizeof again) == 0;
            sodium_memzero(again, sizeof again);
        }
        return ok ? OFFPAY_OK : wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s is damaged.", path);
    }
    if (errno != ENOENT)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s cannot be read: %s.", path, strerror(errno));
    uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES];
    offpay_keypair(pk, sk);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s cannot be created: %s.", path, strerror(errno));
    int ok = write(fd, sk, OFFPAY_SECRET_KEY_BYTES) == OFFPAY_SECRET_KEY_BYTES && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(path);
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s cannot be written.", path);
    }
    return OFFPAY_OK;
}

/* The enrolment answer, checked: a certificate for exactly our key, account
 * and wallet id (the issuer key is trusted on first use), limits and
 * revocation list.  Out: cert, issuer_pk, policy, *rev / *rev_len. */
static enum offpay_status enrol_answer(struct offpay_wallet *w, const json_t *resp, const uint8_t *sk,
                                       const char *account, struct offpay_cert *cert, uint8_t *issuer_pk,
                                       struct offpay_limits_policy *policy, uint8_t **rev, size_t *rev_len)
{
    uint8_t wid[OFFPAY_WALLET_ID_BYTES], cert_bin[OFFPAY_CERT_BYTES_MAX];
    size_t cert_len;
    enum offpay_status s;
    const char *ipk_hex = json_string_value(json_object_get(resp, "issuer_public_key"));
    const char *wid_hex = json_string_value(json_object_get(resp, "wallet_id"));

    if (ipk_hex == NULL || offpay_unhex(issuer_pk, OFFPAY_PUBLIC_KEY_BYTES, ipk_hex) != 0 || wid_hex == NULL ||
        offpay_unhex(wid, sizeof wid, wid_hex) != 0)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's enrolment answer is malformed.");
    if ((s = text_field(w, resp, "certificate", OFFPAY_MSG_CERT, cert_bin, sizeof cert_bin, &cert_len)) != OFFPAY_OK)
        return s;
    if (offpay_cert_decode(cert, cert_bin, cert_len) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's certificate is malformed.");
    if (memcmp(cert->public_key, sk + OFFPAY_SEED_BYTES, OFFPAY_PUBLIC_KEY_BYTES) != 0 ||
        strcmp(cert->account, account) != 0 || memcmp(cert->wallet_id, wid, sizeof wid) != 0)
        return wallet_fail(w, OFFPAY_ERR_WRONG_PAYEE, "The server issued a certificate for another key, account or wallet.");
    return policy_fields(w, resp, policy, rev, rev_len);
}

enum offpay_status offpay_wallet_init(struct offpay_wallet **out, char *err, const char *dir, const char *server_url,
                                      const char *account, const char *token,
                                      const uint8_t issuer_pin[OFFPAY_PUBLIC_KEY_BYTES])
{
    struct offpay_wallet *scratch = NULL;
    uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES];
    uint8_t *sk = NULL, *rev = NULL;
    size_t rev_len = 0;
    char pk_hex[2 * OFFPAY_PUBLIC_KEY_BYTES + 1], path[PATH_MAX + 16];
    struct offpay_cert cert;
    struct offpay_limits_policy policy;
    json_t *body = NULL, *resp = NULL;
    enum offpay_status s;
    int dir_created = 0, reused = 0, keep_key = 1;

    *out = NULL;
    if (err)
        err[0] = '\0';
    if (offpay_crypto_init() != 0)
        return OFFPAY_ERR_CRYPTO_INIT;
    if ((scratch = calloc(1, sizeof *scratch)) == NULL)
        return OFFPAY_ERR_NOMEM;
    if (!offpay_account_name_valid(account)) {
        s = wallet_fail(scratch, OFFPAY_ERR_USAGE, "%s", offpay_status_str(OFFPAY_ERR_BAD_ACCOUNT_NAME));
        goto cleanup;
    }
    if (strlen(server_url) >= sizeof scratch->server_url || strlen(dir) >= sizeof scratch->dir) {
        s = wallet_fail(scratch, OFFPAY_ERR_USAGE, "The server URL or wallet folder name is too long.");
        goto cleanup;
    }
    strcpy(scratch->server_url, server_url);
    strcpy(scratch->dir, dir);
    /* Check before the one-time token is spent. */
    snprintf(path, sizeof path, "%s/%s", dir, OFFPAY_WALLET_DB_FILE);
    if (access(path, F_OK) == 0) {
        s = wallet_fail(scratch, OFFPAY_ERR_USAGE, "%s already holds a wallet; it was left untouched.", dir);
        goto cleanup;
    }
    if (mkdir(dir, 0700) == 0) {
        dir_created = 1;
    } else if (errno != EEXIST) {
        s = wallet_fail(scratch, OFFPAY_ERR_STORAGE, "The wallet folder %s cannot be created: %s.", dir, strerror(errno));
        goto cleanup;
    } else if ((s = wallet_folder_check(scratch)) != OFFPAY_OK) {
        goto cleanup; /* no key is made where others could take or swap it */
    }
    if ((sk = sodium_malloc(OFFPAY_SECRET_KEY_BYTES)) == NULL) {
        s = wallet_fail(scratch, OFFPAY_ERR_NOMEM, "Out of memory for the secret key.");
        goto cleanup;
    }
    if ((s = enrol_key(scratch, sk, &reused)) != OFFPAY_OK) {
        keep_key = reused;
        goto cleanup;
    }
    offpay_hex(pk_hex, sk + OFFPAY_SEED_BYTES, OFFPAY_PUBLIC_KEY_BYTES);
    body = json_pack("{s:s, s:s}", "token", token, "public_key", pk_hex);
    if (body == NULL) {
        s = wallet_fail(scratch, OFFPAY_ERR_USAGE, "The token is not valid text.");
        keep_key = reused;
        goto cleanup;
    }
    s = wallet_call(scratch, "POST", "/v1/enrol", body, 0, NULL, 0, &resp);
    if (s == OFFPAY_ERR_OUTCOME_UNKNOWN) {
        wallet_fail(scratch, s,
                    "The server at %s may have enrolled this wallet, but its answer was lost; the outcome is not known "
                    "yet: run the same `offpay init` again to finish (the new key waits in %s/%s).",
                    server_url, dir, ENROL_KEY_FILE);
        goto cleanup;
    }
    if (s != OFFPAY_OK) {
        /* Refused, or never sent: a key this attempt made is of no use.  One
         * an earlier attempt left stays: that attempt may have enrolled it. */
        keep_key = reused;
        goto cleanup;
    }
    if ((s = enrol_answer(scratch, resp, sk, account, &cert, issuer_pk, &policy, &rev, &rev_len)) != OFFPAY_OK)
        goto cleanup;
    if (issuer_pin != NULL && sodium_memcmp(issuer_pin, issuer_pk, OFFPAY_PUBLIC_KEY_BYTES) != 0) {
        char got[2 * OFFPAY_PUBLIC_KEY_BYTES + 1];
        offpay_hex(got, issuer_pk, OFFPAY_PUBLIC_KEY_BYTES);
        /* The key stays in enrol.key: if the operator's pin was wrong, the
         * same init with the right one finishes this enrolment. */
        s = wallet_fail(scratch, OFFPAY_ERR_CERT_NOT_ISSUED,
                        "The server at %s presented issuer key %s, not the one given with --issuer-key; nothing was "
                        "stored (the token may be spent: ask the operator for the right key or a new token).",
                        server_url, got);
        goto cleanup;
    }
    s = offpay_wallet_create(out, err, dir, server_url, &cert, sk, issuer_pk, &policy, rev, rev_len);
    if (s == OFFPAY_OK) {
        snprintf(path, sizeof path, "%s/%s", dir, ENROL_KEY_FILE);
        unlink(path); /* the wallet's own key file holds it now */
    }
    free(scratch);
    scratch = NULL;
cleanup:
    if (scratch && err)
        snprintf(err, OFFPAY_WALLET_ERROR_MAX, "%s", scratch->err[0] ? scratch->err : offpay_status_str(s));
    if (scratch && !keep_key) {
        snprintf(path, sizeof path, "%s/%s", dir, ENROL_KEY_FILE);
        unlink(path);
        if (dir_created)
            rmdir(dir);
    }
    free(scratch);
    if (sk)
        sodium_free(sk);
    free(rev);
    json_decref(body);
    json_decref(resp);
    return s;
}

/* ---- balance, load, unload ---- */

enum offpay_status offpay_wallet_online_balance(struct offpay_wallet *w, uint64_t *online)
{
    json_t *resp = NULL;
    w->err[0] = '\0';
    *online = 0;
    enum offpay_status s = call(w, "GET", "/v1/balance", NULL, 1, &resp);
    if (s == OFFPAY_OK)
        s = u64_field(w, resp, "online", online);
    json_decref(resp);
    return s;
}

/* Write c down in a transaction of its own (load, pay-online: nothing else
 * changes before the call). */
static enum offpay_status track_alone(struct offpay_wallet *w, struct wallet_tracked_call *c)
{
    enum offpay_status s = wallet_begin(w);
    if (s != OFFPAY_OK)
        return s;
    if ((s = wallet_call_track(w, c)) != OFFPAY_OK) {
        wallet_rollback(w);
        return s;
    }
    return wallet_commit(w);
}

/* After a tracked call: a definite answer settles it (the caller's apply
 * step for a success; here, for a refusal or a request that never left,
 * forget it); an unknown outcome leaves it for sync. */
static enum offpay_status untrack_refused(struct offpay_wallet *w, const struct wallet_tracked_call *c,
                                          enum offpay_status call_status)
{
    char keep[OFFPAY_WALLET_ERROR_MAX];
    memcpy(keep, w->err, sizeof keep);
    enum offpay_status s = wallet_begin(w);
    if (s != OFFPAY_OK)
        return s;
    if ((s = wallet_call_untrack(w, c->nonce)) != OFFPAY_OK) {
        wallet_rollback(w);
        return s;
    }
    if ((s = wallet_commit(w)) != OFFPAY_OK)
        return s;
    memcpy(w->err, keep, sizeof keep);
    return call_status;
}

/* The coins a load answer hands back: n of them, each verified and ours,
 * adding up to want_sum.  Out: got[0..n). */
static enum offpay_status load_answer(struct offpay_wallet *w, const json_t *resp, size_t n, uint64_t want_sum,
                                      struct offpay_utxo *got)
{
    uint8_t bin[OFFPAY_UTXO_BYTES];
    uint64_t got_sum = 0;
    enum offpay_status s;
    json_t *list = json_object_get(resp, "utxos");

    if (!json_is_array(list) || json_array_size(list) != n)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server answered the load with the wrong number of coins.");
    for (size_t i = 0; i < n; i++) {
        size_t len;
        int type;
        const char *text = json_string_value(json_array_get(list, i));
        if (text == NULL || offpay_text_decode(bin, sizeof bin, &len, &type, OFFPAY_MSG_UTXO, text, strlen(text)) != OFFPAY_OK ||
            offpay_utxo_decode(&got[i], bin, len) != OFFPAY_OK)
            return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server answered the load with a malformed coin.");
        if ((s = wallet_utxo_check(w, &got[i])) != OFFPAY_OK)
            return s;
        /* Checked: a sum that wraps ends below the amount just added. */
        got_sum += got[i].amount;
        if (got_sum < got[i].amount)
            return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's coins add up to too much.");
    }
    if (got_sum != want_sum)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's coins do not add up to the amounts asked for.");
    return OFFPAY_OK;
}

static enum offpay_status load_locked(struct offpay_wallet *w, uint64_t *online, const uint64_t *amounts, size_t n);

enum offpay_status offpay_wallet_load(struct offpay_wallet *w, uint64_t *online, const uint64_t *amounts, size_t n)
{
    w->err[0] = '\0';
    *online = 0;
    int fd = wallet_call_lock(w);
    if (fd < 0)
        return OFFPAY_ERR_STORAGE;
    enum offpay_status s = load_locked(w, online, amounts, n);
    close(fd);
    return s;
}

static enum offpay_status load_locked(struct offpay_wallet *w, uint64_t *online, const uint64_t *amounts, size_t n)
{
    struct offpay_utxo got[LOAD_MAX];
    struct wallet_tracked_call c = {.kind = "load"};
    uint64_t want_sum = 0, added = 0;
    json_t *body = NULL, *arr = NULL, *resp = NULL;
    enum offpay_status s;

    if (n == 0 || n > LOAD_MAX)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "Load between 1 and %d amounts at a time.", LOAD_MAX);
    if ((arr = json_array()) == NULL)
        return OFFPAY_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (amounts[i] == 0 || amounts[i] > WALLET_AMOUNT_MAX || amounts[i] > WALLET_AMOUNT_MAX - want_sum) {
            json_decref(arr);
            return wallet_fail(w, OFFPAY_ERR_USAGE, "Each amount must be a positive whole number and their sum must fit.");
        }
        want_sum += amounts[i];
        json_array_append_new(arr, json_integer((json_int_t)amounts[i]));
    }
    body = json_pack("{s:o}", "amounts", arr);
    c.amount = want_sum;
    if (body == NULL || (s = track_alone(w, &c)) != OFFPAY_OK) {
        json_decref(body);
        return body == NULL ? OFFPAY_ERR_NOMEM : s;
    }
    s = wallet_call(w, "POST", "/v1/load", body, 1, c.nonce, c.ts, &resp);
    if (s == OFFPAY_ERR_OUTCOME_UNKNOWN)
        goto cleanup;
    if (s != OFFPAY_OK) {
        s = untrack_refused(w, &c, s);
        goto cleanup;
    }
    /* The server did it.  An answer that does not hold the coins leaves the
     * call in doubt: the next sync gets the coins from the server. */
    if ((s = u64_field(w, resp, "online", online)) != OFFPAY_OK || (s = load_answer(w, resp, n, want_sum, got)) != OFFPAY_OK) {
        wallet_fail(w, OFFPAY_ERR_OUTCOME_UNKNOWN,
                    "The server did the load but its answer is malformed (%s); `offpay sync` will settle it.", w->err);
        s = OFFPAY_ERR_OUTCOME_UNKNOWN;
        goto cleanup;
    }
    if ((s = wallet_begin(w)) != OFFPAY_OK)
        goto cleanup;
    char detail[64];
    snprintf(detail, sizeof detail, "%zu coin%s loaded from the online balance", n, n == 1 ? "" : "s");
    if ((s = wallet_utxos_insert(w, got, n, &added)) != OFFPAY_OK ||
        (s = wallet_history_add(w, "load", added, NULL, NULL, detail)) != OFFPAY_OK ||
        (s = wallet_call_untrack(w, c.nonce)) != OFFPAY_OK) {
        wallet_rollback(w);
        goto cleanup;
    }
    s = wallet_commit(w);
cleanup:
    json_decref(body);
    json_decref(resp);
    return s;
}

/* ---- unload ---- */

struct unload_pick {
    uint8_t ids[LOAD_MAX][OFFPAY_UTXO_ID_BYTES];
    size_t n;
    uint64_t sum;
};

/* Read the coins to unload (one id, or up to LOAD_MAX spendable ones).
 * Call inside the transaction that marks them. */
static enum offpay_status unload_pick(struct offpay_wallet *w, const uint8_t *id, struct unload_pick *p)
{
    int rc;
    sqlite3_stmt *st = wallet_prepare(w, id ? "SELECT id, amount, state FROM utxos WHERE id = ?"
                                            : "SELECT id, amount, state FROM utxos WHERE state = 'spendable'"
                                              " ORDER BY amount, id LIMIT ?");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    if (id)
        sqlite3_bind_blob(st, 1, id, OFFPAY_UTXO_ID_BYTES, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int(st, 1, LOAD_MAX);
    p->n = 0;
    p->sum = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && p->n < LOAD_MAX) {
        const char *state = (const char *)sqlite3_column_text(st, 2);
        uint64_t amount = (uint64_t)sqlite3_column_int64(st, 1);
        if (state == NULL || strcmp(state, "spendable") != 0) {
            sqlite3_finalize(st);
            return wallet_fail(w, OFFPAY_ERR_FUNDS_LOCKED,
                               "That coin is %s and cannot be unloaded until its payment or call is synced.",
                               state && strcmp(state, "locked") == 0 ? "locked change" : "in doubt");
        }
        if (sqlite3_column_bytes(st, 0) != OFFPAY_UTXO_ID_BYTES || amount > UINT64_MAX - p->sum) {
            sqlite3_finalize(st);
            return wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet holds a damaged coin.");
        }
        memcpy(p->ids[p->n++], sqlite3_column_blob(st, 0), OFFPAY_UTXO_ID_BYTES);
        p->sum += amount;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return wallet_db_fail(w, "be read");
    if (p->n == 0)
        return id ? wallet_fail(w, OFFPAY_ERR_USAGE, "This wallet holds no coin with that id.")
                  : wallet_fail(w, OFFPAY_ERR_INSUFFICIENT_FUNDS, "There are no spendable offline coins to unload.");
    return OFFPAY_OK;
}

/* One transaction: pick the coins, put them in doubt under the call c, and
 * write c down.  So no payment can take a coin between the pick and the
 * mark, and a crash after this leaves the coins in doubt, never spendable. */
static enum offpay_status unload_begin(struct offpay_wallet *w, const uint8_t *id, struct unload_pick *p,
                                       struct wallet_tracked_call *c)
{
    enum offpay_status s = wallet_begin(w);
    if (s != OFFPAY_OK)
        return s;
    if ((s = unload_pick(w, id, p)) == OFFPAY_OK) {
        c->amount = p->sum;
        s = wallet_call_track(w, c);
    }
    for (size_t i = 0; i < p->n && s == OFFPAY_OK; i++) {
        sqlite3_stmt *st = wallet_prepare(w, "UPDATE utxos SET state = 'in_doubt', call_nonce = ?"
                                             " WHERE id = ? AND state = 'spendable' AND record_id IS NULL");
        if (st == NULL) {
            s = OFFPAY_ERR_STORAGE;
            break;
        }
        sqlite3_bind_blob(st, 1, c->nonce, sizeof c->nonce, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 2, p->ids[i], OFFPAY_UTXO_ID_BYTES, SQLITE_TRANSIENT);
        s = wallet_step_done(w, st);
        if (s == OFFPAY_OK && sqlite3_changes(w->db) != 1)
            s = wallet_fail(w, OFFPAY_ERR_STORAGE, "A coin to unload is not spendable after all.");
    }
    if (s != OFFPAY_OK) {
        wallet_rollback(w);
        return s;
    }
    return wallet_commit(w);
}

/* The unload's answer arrived: settle its coins as the server did. */
static enum offpay_status unload_end(struct offpay_wallet *w, const struct wallet_tracked_call *c, int done)
{
    char detail[64];
    enum offpay_status s = wallet_begin(w);
    if (s != OFFPAY_OK)
        return s;
    sqlite3_stmt *st = wallet_prepare(w, done ? "DELETE FROM utxos WHERE call_nonce = ? AND state = 'in_doubt'"
                                              : "UPDATE utxos SET state = 'spendable', call_nonce = NULL"
                                                " WHERE call_nonce = ? AND state = 'in_doubt'");
    if (st == NULL)
        s = OFFPAY_ERR_STORAGE;
    else {
        sqlite3_bind_blob(st, 1, c->nonce, sizeof c->nonce, SQLITE_TRANSIENT);
        s = wallet_step_done(w, st);
    }
    snprintf(detail, sizeof detail, "coins back to the online balance");
    if (s == OFFPAY_OK && done)
        s = wallet_history_add(w, "unload", c->amount, NULL, NULL, detail);
    if (s == OFFPAY_OK)
        s = wallet_call_untrack(w, c->nonce);
    if (s != OFFPAY_OK) {
        wallet_rollback(w);
        return s;
    }
    return wallet_commit(w);
}

static enum offpay_status unload_locked(struct offpay_wallet *w, uint64_t *online, uint64_t *unloaded,
                                        const uint8_t *id);

enum offpay_status offpay_wallet_unload(struct offpay_wallet *w, uint64_t *online, uint64_t *unloaded, const uint8_t *id)
{
    w->err[0] = '\0';
    *online = *unloaded = 0;
    int fd = wallet_call_lock(w);
    if (fd < 0)
        return OFFPAY_ERR_STORAGE;
    enum offpay_status s = unload_locked(w, online, unloaded, id);
    close(fd);
    return s;
}

static enum offpay_status unload_locked(struct offpay_wallet *w, uint64_t *online, uint64_t *unloaded,
                                        const uint8_t *id)
{
    struct unload_pick *p = calloc(1, sizeof *p);
    struct wallet_tracked_call c = {.kind = "unload"};
    json_t *arr = NULL, *body = NULL, *resp = NULL;
    enum offpay_status s;

    if (p == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the unload.");
    if ((s = unload_begin(w, id, p, &c)) != OFFPAY_OK)
        goto cleanup;
    arr = json_array();
    for (size_t i = 0; arr != NULL && i < p->n; i++) {
        char hex[2 * OFFPAY_UTXO_ID_BYTES + 1];
        offpay_hex(hex, p->ids[i], OFFPAY_UTXO_ID_BYTES);
        json_array_append_new(arr, json_string(hex));
    }
    body = arr ? json_pack("{s:o}", "utxos", arr) : NULL;
    /* Out of memory before the call: it never left. */
    s = body ? wallet_call(w, "POST", "/v1/unload", body, 1, c.nonce, c.ts, &resp)
             : wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the unload.");
    if (s == OFFPAY_ERR_OUTCOME_UNKNOWN)
        goto cleanup; /* the coins stay in doubt; sync settles them */
    if (s != OFFPAY_OK) {
        /* A refusal, or a request that never left: the server did nothing. */
        char keep[OFFPAY_WALLET_ERROR_MAX];
        memcpy(keep, w->err, sizeof keep);
        if (unload_end(w, &c, 0) == OFFPAY_OK)
            memcpy(w->err, keep, sizeof keep);
        goto cleanup;
    }
    /* A 2xx: the server took the coins, whatever else its answer says. */
    if (u64_field(w, resp, "online", online) != OFFPAY_OK)
        *online = 0;
    if ((s = unload_end(w, &c, 1)) == OFFPAY_OK)
        *unloaded = p->sum;
cleanup:
    free(p);
    json_decref(body);
    json_decref(resp);
    return s;
}

/* ---- sync ---- */

void offpay_sync_report_free(struct offpay_sync_report *report)
{
    free(report->items);
    free(report->new_utxos);
    free(report->recovered);
    free(report->calls);
    memset(report, 0, sizeof *report);
}

struct pending {
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    int outgoing;
    struct offpay_record rec;
    char answer[12];
    uint8_t answer_msg[OFFPAY_CONFIRMATION_BYTES_MAX];
    size_t answer_len;
    struct offpay_utxo expect; /* the output that will be ours if it settles */
    int has_expect;
};

static enum offpay_status pending_read(struct offpay_wallet *w, struct pending **out, size_t *n_out)
{
    struct pending *list = NULL;
    size_t n = 0;
    int rc;
    *out = NULL;
    *n_out = 0;
    sqlite3_stmt *st = wallet_prepare(w, "SELECT id, direction, record, answer, answer_msg FROM records"
                                         " WHERE status = 'unsynced' ORDER BY created, id LIMIT ?");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    sqlite3_bind_int(st, 1, SYNC_BATCH_MAX);
    if ((list = calloc(SYNC_BATCH_MAX, sizeof *list)) == NULL) {
        sqlite3_finalize(st);
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading the pending store.");
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < SYNC_BATCH_MAX) {
        struct pending *p = &list[n];
        int ans_len = sqlite3_column_bytes(st, 4);
        if (sqlite3_column_bytes(st, 0) != OFFPAY_RECORD_ID_BYTES ||
            offpay_record_decode(&p->rec, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2)) != OFFPAY_OK ||
            ans_len < 0 || (size_t)ans_len > sizeof p->answer_msg) {
            sqlite3_finalize(st);
            free(list);
            return wallet_fail(w, OFFPAY_ERR_STORAGE, "A stored payment record is damaged.");
        }
        memcpy(p->id, sqlite3_column_blob(st, 0), OFFPAY_RECORD_ID_BYTES);
        p->outgoing = strcmp((const char *)sqlite3_column_text(st, 1), "outgoing") == 0;
        snprintf(p->answer, sizeof p->answer, "%s", (const char *)sqlite3_column_text(st, 3));
        p->answer_len = (size_t)ans_len;
        if (ans_len > 0)
            memcpy(p->answer_msg, sqlite3_column_blob(st, 4), (size_t)ans_len);
        unsigned index = p->outgoing ? 1 : 0;
        if (!p->outgoing || p->rec.change_amount > 0)
            p->has_expect = offpay_record_output(&p->expect, &p->rec, p->id, index) == OFFPAY_OK;
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        free(list);
        return wallet_db_fail(w, "be read");
    }
    *out = list;
    *n_out = n;
    return OFFPAY_OK;
}

static json_t *text_json(const uint8_t *bin, size_t len)
{
    char text[OFFPAY_TEXT_MAX + 1];
    if (offpay_text_encode(text, sizeof text, bin, len) != OFFPAY_OK)
        return NULL;
    return json_string(text);
}

static enum offpay_status exec_id(struct offpay_wallet *w, const char *sql, const uint8_t id[OFFPAY_RECORD_ID_BYTES])
{
    sqlite3_stmt *st = wallet_prepare(w, sql);
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    sqlite3_bind_blob(st, 1, id, OFFPAY_RECORD_ID_BYTES, SQLITE_TRANSIENT);
    return wallet_step_done(w, st);
}

static enum offpay_status record_status(struct offpay_wallet *w, const uint8_t id[OFFPAY_RECORD_ID_BYTES],
                                        const char *status, const char *reason)
{
    sqlite3_stmt *st = wallet_prepare(w, "UPDATE records SET status = ?, reason = ?, synced = ? WHERE id = ?");
    if (st == NULL)
        return OFFPAY_ERR_STORAGE;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_TRANSIENT);
    if (reason)
        sqlite3_bind_text(st, 2, reason, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)wallet_now());
    sqlite3_bind_blob(st, 4, id, OFFPAY_RECORD_ID_BYTES, SQLITE_TRANSIENT);
    return wallet_step_done(w, st);
}

/* Apply one result of /v1/sync to its record (inside the sync transaction). */
static enum offpay_status apply_result(struct offpay_wallet *w, const struct pending *p, const char *status,
                                       const char *reason, struct offpay_sync_item *item)
{
    enum offpay_status s;
    char detail[128];
    const char *who = p->outgoing ? item->counterparty : p->rec.payer.account;

    if (strcmp(status, "settled") == 0) {
        item->was_unconfirmed = p->outgoing && strcmp(p->answer, "confirmed") != 0;
        /* The inputs are spent for good; the change arrives attested below. */
        if (p->outgoing && (s = exec_id(w, "DELETE FROM utxos WHERE record_id = ? AND state = 'in_doubt'", p->id)) != OFFPAY_OK)
            return s;
        if ((s = record_status(w, p->id, "settled", NULL)) != OFFPAY_OK)
            return s;
        if (p->outgoing)
            snprintf(detail, sizeof detail, "%s", item->was_unconfirmed
                     ? "settled at sync; the payee's confirmation never arrived, the payment completed anyway"
                     : "settled at sync");
        else
            snprintf(detail, sizeof detail, "settled at sync; the coin is spendable");
        return wallet_history_add(w, "settled", p->rec.payee_amount, who, p->id, detail);
    }
    if (strcmp(status, "voided") == 0) {
        /* The payee's refusal voided it at the server: the inputs are ours again. */
        if (p->outgoing && (s = exec_id(w, "UPDATE utxos SET state = 'spendable', record_id = NULL"
                                           " WHERE record_id = ? AND state = 'in_doubt'", p->id)) != OFFPAY_OK)
            return s;
        if ((s = record_status(w, p->id, "voided", NULL)) != OFFPAY_OK)
            return s;
        return wallet_history_add(w, "voided", p->rec.payee_amount, who, p->id,
                                  p->outgoing ? "voided at sync; the coins are spendable again" : "voided by the payer");
    }
    if (p->outgoing) {
        /* A rejected record never creates its change. */
        if ((s = exec_id(w, "DELETE FROM utxos WHERE record_id = ? AND state = 'locked'", p->id)) != OFFPAY_OK)
            return s;
        if (strcmp(reason, "voided") == 0) {
            s = exec_id(w, "UPDATE utxos SET state = 'spendable', record_id = NULL WHERE record_id = ? AND state = 'in_doubt'", p->id);
        } else if (strcmp(reason, "double_spend") == 0 || strcmp(reason, "unknown_input") == 0 ||
                   strcmp(reason, "revoked") == 0) {
            /* The inputs are spent elsewhere or were never ours to spend. */
            s = exec_id(w, "DELETE FROM utxos WHERE record_id = ? AND state = 'in_doubt'", p->id);
        } else {
            /* Otherwise they stay in doubt: the payee might still settle it. */
            s = OFFPAY_OK;
        }
        if (s != OFFPAY_OK)
            return s;
    }
    if ((s = record_status(w, p->id, "rejected", reason)) != OFFPAY_OK)
        return s;
    snprintf(detail, sizeof detail, "rejected by the server: %s", reason);
    return wallet_history_add(w, "rejected", p->rec.payee_amount, who, p->id, detail);
}

static int reason_ok(const char *r)
{
    size_t n = r ? strlen(r) : 0;
    if (n == 0 || n >= sizeof ((struct offpay_sync_item *)0)->reason)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || r[i] == '_'))
            return 0;
    return 1;
}

/* One batch: submit, verify the answer, apply it in one transaction. */
static enum offpay_status sync_batch(struct offpay_wallet *w, struct offpay_sync_report *rep, int *more)
{
    struct pending *pend = NULL;
    size_t n = 0, n_got = 0;
    struct offpay_utxo *got = NULL;
    struct offpay_limits_policy policy;
    uint8_t *rev = NULL;
    size_t rev_len = 0;
    json_t *arr = NULL, *body = NULL, *resp = NULL;
    enum offpay_status s;
    int in_tx = 0;

    *more = 0;
    if ((s = pending_read(w, &pend, &n)) != OFFPAY_OK)
        return s;
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        uint8_t bin[OFFPAY_RECORD_BYTES_MAX];
        size_t len = offpay_record_encode(bin, sizeof bin, &pend[i].rec);
        json_t *item = json_object();
        json_object_set_new(item, "record", text_json(bin, len));
        int conf = strcmp(pend[i].answer, "confirmed") == 0, refused = strcmp(pend[i].answer, "refused") == 0;
        json_object_set_new(item, "confirmation", conf ? text_json(pend[i].answer_msg, pend[i].answer_len) : json_null());
        json_object_set_new(item, "refusal", refused ? text_json(pend[i].answer_msg, pend[i].answer_len) : json_null());
        json_array_append_new(arr, item);
    }
    body = json_pack("{s:o}", "records", arr);
    if (body == NULL) {
        s = wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory building the sync.");
        goto cleanup;
    }
    if ((s = call(w, "POST", "/v1/sync", body, 1, &resp)) != OFFPAY_OK)
        goto cleanup;

    /* Verify the whole answer before touching the store. */
    json_t *results = json_object_get(resp, "results"), *utxos = json_object_get(resp, "utxos");
    if (!json_is_array(results) || json_array_size(results) != n || !json_is_array(utxos)) {
        s = wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's sync answer is malformed; nothing changed.");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(results, i);
        const char *rid = json_string_value(json_object_get(r, "record"));
        const char *st = json_string_value(json_object_get(r, "status"));
        uint8_t id[OFFPAY_RECORD_ID_BYTES];
        if (rid == NULL || offpay_unhex(id, sizeof id, rid) != 0 || memcmp(id, pend[i].id, sizeof id) != 0 || st == NULL ||
            (strcmp(st, "settled") != 0 && strcmp(st, "voided") != 0 &&
             (strcmp(st, "rejected") != 0 || !reason_ok(json_string_value(json_object_get(r, "reason")))))) {
            s = wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's sync answer does not match what was sent; nothing changed.");
            goto cleanup;
        }
    }
    if ((got = calloc(json_array_size(utxos) + 1, sizeof *got)) == NULL) {
        s = wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading the sync answer.");
        goto cleanup;
    }
    for (size_t i = 0; i < json_array_size(utxos); i++) {
        uint8_t bin[OFFPAY_UTXO_BYTES];
        size_t len;
        int type;
        struct offpay_utxo u;
        const char *text = json_string_value(json_array_get(utxos, i));
        if (text == NULL || offpay_text_decode(bin, sizeof bin, &len, &type, OFFPAY_MSG_UTXO, text, strlen(text)) != OFFPAY_OK ||
            offpay_utxo_decode(&u, bin, len) != OFFPAY_OK) {
            s = wallet_fail(w, OFFPAY_ERR_REJECTED, "The server handed out a malformed coin; nothing changed.");
            goto cleanup;
        }
        if ((s = wallet_utxo_check(w, &u)) != OFFPAY_OK)
            goto cleanup;
        /* Only an output of a record we submitted and that settled is ours to take. */
        for (size_t k = 0; k < n; k++) {
            const char *st = json_string_value(json_object_get(json_array_get(results, k), "status"));
            if (pend[k].has_expect && strcmp(st, "settled") == 0 &&
                memcmp(pend[k].expect.id, u.id, OFFPAY_UTXO_ID_BYTES) == 0 && pend[k].expect.amount == u.amount) {
                got[n_got++] = u;
                break;
            }
        }
    }
    if ((s = policy_fields(w, resp, &policy, &rev, &rev_len)) != OFFPAY_OK)
        goto cleanup;

    size_t base = rep->submitted;
    struct offpay_sync_item *items = realloc(rep->items, (base + n + 1) * sizeof *items);
    struct offpay_wallet_utxo *nu = realloc(rep->new_utxos, (rep->n_new_utxos + n_got + 1) * sizeof *nu);
    if (items)
        rep->items = items;
    if (nu)
        rep->new_utxos = nu;
    if (items == NULL || nu == NULL) {
        s = wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the sync report.");
        goto cleanup;
    }

    if ((s = wallet_begin(w)) != OFFPAY_OK)
        goto cleanup;
    in_tx = 1;
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(results, i);
        const char *status = json_string_value(json_object_get(r, "status"));
        const char *reason = json_string_value(json_object_get(r, "reason"));
        struct offpay_sync_item *it = &rep->items[base + i];
        memset(it, 0, sizeof *it);
        memcpy(it->record_id, pend[i].id, OFFPAY_RECORD_ID_BYTES);
        it->outgoing = pend[i].outgoing;
        it->amount = pend[i].rec.payee_amount;
        snprintf(it->status, sizeof it->status, "%s", status);
        if (strcmp(status, "rejected") == 0)
            snprintf(it->reason, sizeof it->reason, "%s", reason);
        /* The payee's account is in the stored row; the payer's is in the record. */
        if (pend[i].outgoing) {
            sqlite3_stmt *q = wallet_prepare(w, "SELECT counterparty FROM records WHERE id = ?");
            if (q) {
                sqlite3_bind_blob(q, 1, pend[i].id, OFFPAY_RECORD_ID_BYTES, SQLITE_TRANSIENT);
                if (sqlite3_step(q) == SQLITE_ROW)
                    snprintf(it->counterparty, sizeof it->counterparty, "%s", (const char *)sqlite3_column_text(q, 0));
                sqlite3_finalize(q);
            }
        } else {
            snprintf(it->counterparty, sizeof it->counterparty, "%s", pend[i].rec.payer.account);
        }
        if ((s = apply_result(w, &pend[i], status, it->reason, it)) != OFFPAY_OK)
            goto cleanup;
    }
    uint64_t added = 0;
    if ((s = wallet_utxos_insert(w, got, n_got, &added)) != OFFPAY_OK ||
        (s = wallet_limits_store(w, &policy)) != OFFPAY_OK ||
        (s = wallet_revocation_store(w, rev, rev_len)) != OFFPAY_OK)
        goto cleanup;
    if ((s = wallet_commit(w)) != OFFPAY_OK) {
        in_tx = 0;
        goto cleanup;
    }
    in_tx = 0;
    for (size_t i = 0; i < n; i++) {
        const char *status = rep->items[base + i].status;
        rep->settled += strcmp(status, "settled") == 0;
        rep->voided += strcmp(status, "voided") == 0;
        rep->rejected += strcmp(status, "rejected") == 0;
    }
    for (size_t i = 0; i < n_got; i++) {
        struct offpay_wallet_utxo *o = &rep->new_utxos[rep->n_new_utxos++];
        memcpy(o->id, got[i].id, OFFPAY_UTXO_ID_BYTES);
        o->amount = got[i].amount;
        o->state = OFFPAY_UTXO_SPENDABLE;
    }
    rep->submitted += n;
    rep->limits_updated = 1;
    struct offpay_revocation rl;
    if (offpay_revocation_decode(&rl, rev, rev_len) == OFFPAY_OK)
        rep->revoked_count = rl.count;
    *more = n == SYNC_BATCH_MAX;
cleanup:
    if (in_tx)
        wallet_rollback(w);
    free(pend);
    free(got);
    free(rev);
    json_decref(body);
    json_decref(resp);
    return s;
}

/*
 * Recovery: take every coin the server holds for our key that this wallet has
 * never seen.  Such a coin exists when a load's answer was lost (the wallet
 * crashed before storing it) or when a payment to us was settled by its payer
 * while its record never reached us (SPEC rule 8).  A coin id the wallet
 * knows keeps its state whatever the server says - above all an in_doubt
 * input, which an honest wallet must never spend twice - and so does one we
 * spent in an outgoing record.  The whole answer is verified first; the coins
 * are added in one transaction.
 */
/* The order of coin ids (bsearch). */
static int cmp_id(const void *a, const void *b) { return memcmp(a, b, OFFPAY_UTXO_ID_BYTES); }

/*
 * Coins an unload left in doubt (in doubt, and no record spends them): the
 * unload was cut off before it could learn the server's answer.  The server's
 * complete list of our unspent coins (listed, sorted) settles each: still
 * unspent there -> the unload never happened, the coin is spendable again;
 * gone -> the server took it back into the online balance, the coin leaves
 * the wallet.  In one transaction; the caller holds the unload lock, and
 * held it already while it fetched the list (see recover_coins).
 */
static enum offpay_status settle_cut_unloads(struct offpay_wallet *w, const uint8_t (*listed)[OFFPAY_UTXO_ID_BYTES],
                                             size_t n_listed, struct offpay_sync_report *rep)
{
    uint64_t back = 0, gone = 0;
    size_t n_back = 0, n_gone = 0;
    enum offpay_status s = wallet_begin(w);
    sqlite3_stmt *st = s == OFFPAY_OK ? wallet_prepare(w, "SELECT id, amount FROM utxos WHERE state = 'in_doubt' AND record_id IS NULL AND call_nonce IS NULL") : NULL;
    if (s == OFFPAY_OK && st == NULL)
        s = OFFPAY_ERR_STORAGE;
    int rc;
    while (s == OFFPAY_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t id[OFFPAY_UTXO_ID_BYTES];
        if (sqlite3_column_bytes(st, 0) != OFFPAY_UTXO_ID_BYTES) {
            s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet holds a coin with a malformed id.");
            break;
        }
        memcpy(id, sqlite3_column_blob(st, 0), OFFPAY_UTXO_ID_BYTES);
        uint64_t amount = (uint64_t)sqlite3_column_int64(st, 1);
        int still = n_listed > 0 && bsearch(id, listed, n_listed, OFFPAY_UTXO_ID_BYTES, cmp_id) != NULL;
        sqlite3_stmt *u = wallet_prepare(w, still ? "UPDATE utxos SET state = 'spendable' WHERE id = ? AND state = 'in_doubt'"
                                                  : "DELETE FROM utxos WHERE id = ? AND state = 'in_doubt'");
        if (u == NULL) {
            s = OFFPAY_ERR_STORAGE;
            break;
        }
        sqlite3_bind_blob(u, 1, id, OFFPAY_UTXO_ID_BYTES, SQLITE_TRANSIENT);
        if ((s = wallet_step_done(w, u)) != OFFPAY_OK)
            break;
        if (still) {
            back += amount;
            n_back++;
        } else {
            gone += amount;
            n_gone++;
        }
    }
    if (s == OFFPAY_OK && rc != SQLITE_DONE)
        s = wallet_db_fail(w, "be read");
    sqlite3_finalize(st);
    char detail[160];
    if (s == OFFPAY_OK && n_back > 0) {
        snprintf(detail, sizeof detail, "%zu coin%s of an interrupted unload spendable again (the server never took %s)",
                 n_back, n_back == 1 ? "" : "s", n_back == 1 ? "it" : "them");
        s = wallet_history_add(w, "unload_undone", back, NULL, NULL, detail);
    }
    if (s == OFFPAY_OK && n_gone > 0) {
        snprintf(detail, sizeof detail, "%zu coin%s of an interrupted unload: the server had taken %s back online",
                 n_gone, n_gone == 1 ? "" : "s", n_gone == 1 ? "it" : "them");
        s = wallet_history_add(w, "unload", gone, NULL, NULL, detail);
    }
    if (s == OFFPAY_OK)
        s = wallet_commit(w);
    else
        wallet_rollback(w);
    if (s == OFFPAY_OK) {
        rep->unload_undone = back;
        rep->unload_completed = gone;
    }
    return s;
}

static enum offpay_status recover_coins_locked(struct offpay_wallet *w, struct offpay_sync_report *rep);

/*
 * The whole recovery holds the unload lock, from fetching the server's list
 * to the last write.  A list fetched before an unload of another process
 * reached the server still shows that unload's coin as unspent; acting on
 * it after that unload was cut off (coin in doubt) or finished (coin gone)
 * would make the coin spendable again while the server has taken it online,
 * and the wallet's next offline payment with it would be a double spend.
 */
static enum offpay_status recover_coins(struct offpay_wallet *w, struct offpay_sync_report *rep)
{
    int fd = wallet_call_lock(w);
    if (fd < 0)
        return OFFPAY_ERR_STORAGE;
    enum offpay_status s = recover_coins_locked(w, rep);
    close(fd);
    return s;
}

static enum offpay_status recover_coins_locked(struct offpay_wallet *w, struct offpay_sync_report *rep)
{
    json_t *resp = NULL;
    struct offpay_utxo *got = NULL;
    uint8_t (*listed)[OFFPAY_UTXO_ID_BYTES] = NULL;
    size_t n = 0, n_listed = 0;
    uint64_t sum = 0;
    enum offpay_status s;

    /* The list comes in pages of at most RECOVER_MAX coins by ascending id;
     * each page after the first continues after the last id seen. */
    int complete = 0;
    for (int page = 0; page < RECOVER_PAGES && !complete; page++) {
        char path[32 + 2 * OFFPAY_UTXO_ID_BYTES];
        if (n_listed == 0) {
            snprintf(path, sizeof path, "/v1/utxos");
        } else {
            char hex[2 * OFFPAY_UTXO_ID_BYTES + 1];
            offpay_hex(hex, listed[n_listed - 1], OFFPAY_UTXO_ID_BYTES);
            snprintf(path, sizeof path, "/v1/utxos?after=%s", hex);
        }
        if ((s = call(w, "GET", path, NULL, 1, &resp)) != OFFPAY_OK)
            goto cleanup;
        json_t *list = json_object_get(resp, "utxos");
        size_t k = json_array_size(list);
        json_t *more = json_object_get(resp, "more");
        if (!json_is_array(list) || k > RECOVER_MAX || !json_is_boolean(more) || (json_is_true(more) && k == 0)) {
            s = wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's list of our coins is malformed; nothing was recovered.");
            goto cleanup;
        }
        complete = !json_is_true(more);
        struct offpay_utxo *g = realloc(got, (n + k + 1) * sizeof *got);
        if (g != NULL)
            got = g;
        uint8_t(*ls)[OFFPAY_UTXO_ID_BYTES] = g != NULL ? realloc(listed, (n_listed + k + 1) * sizeof *listed) : NULL;
        if (ls != NULL)
            listed = ls;
        if (g == NULL || ls == NULL) {
            s = wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading the server's list of our coins.");
            goto cleanup;
        }
        for (size_t i = 0; i < k; i++) {
            uint8_t bin[OFFPAY_UTXO_BYTES];
            size_t len;
            int type, known;
            const char *text = json_string_value(json_array_get(list, i));
            if (text == NULL ||
                offpay_text_decode(bin, sizeof bin, &len, &type, OFFPAY_MSG_UTXO, text, strlen(text)) != OFFPAY_OK ||
                offpay_utxo_decode(&got[n], bin, len) != OFFPAY_OK) {
                s = wallet_fail(w, OFFPAY_ERR_REJECTED, "The server listed a malformed coin; nothing was recovered.");
                goto cleanup;
            }
            /* Ascending ids, each above the page before: a server that
             * repeats itself cannot keep us paging. */
            if (n_listed > 0 && memcmp(got[n].id, listed[n_listed - 1], OFFPAY_UTXO_ID_BYTES) <= 0) {
                s = wallet_fail(w, OFFPAY_ERR_REJECTED, "The server listed our coins out of order; nothing was recovered.");
                goto cleanup;
            }
            memcpy(listed[n_listed++], got[n].id, OFFPAY_UTXO_ID_BYTES);
            /* Most listed coins are ones we hold: skip them before the costly
             * signature check (the insert below skips them again, in its
             * transaction).  Every other coin is verified strictly. */
            sqlite3_stmt *q = wallet_prepare(w, "SELECT 1 FROM utxos WHERE id = ?");
            if (q == NULL) {
                s = OFFPAY_ERR_STORAGE;
                goto cleanup;
            }
            sqlite3_bind_blob(q, 1, got[n].id, OFFPAY_UTXO_ID_BYTES, SQLITE_TRANSIENT);
            int rc = sqlite3_step(q);
            known = rc == SQLITE_ROW;
            sqlite3_finalize(q);
            if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                s = wallet_db_fail(w, "be read");
                goto cleanup;
            }
            if (known)
                continue;
            if ((s = wallet_utxo_check(w, &got[n])) != OFFPAY_OK)
                goto cleanup;
            n++;
        }
        json_decref(resp);
        resp = NULL;
    }
    /* Only a complete list tells which coins the server no longer holds
     * (ascending already, as the server listed them). */
    if (complete &&
        (s = settle_cut_unloads(w, (const uint8_t(*)[OFFPAY_UTXO_ID_BYTES])listed, n_listed, rep)) != OFFPAY_OK)
        goto cleanup;
    if (n > 0 && (rep->recovered = calloc(n, sizeof *rep->recovered)) == NULL) {
        s = wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory reading the server's list of our coins.");
        goto cleanup;
    }
    if (n == 0)
        goto cleanup;
    if ((s = wallet_begin(w)) != OFFPAY_OK)
        goto cleanup;
    for (size_t i = 0; i < n && s == OFFPAY_OK; i++) {
        uint8_t buf[OFFPAY_UTXO_BYTES];
        size_t len = offpay_utxo_encode(buf, sizeof buf, &got[i]);
        if (len == 0) {
            s = wallet_fail(w, OFFPAY_ERR_MALFORMED, "A coin cannot be encoded.");
            break;
        }
        /* DO NOTHING on a known id: never a state change for a coin we hold. */
        sqlite3_stmt *st = wallet_prepare(
            w, "INSERT INTO utxos (id, amount, state, attestation, record_id, added)"
               " SELECT ?1, ?2, 'spendable', ?3, NULL, ?4"
               " WHERE NOT EXISTS (SELECT 1 FROM record_inputs ri JOIN records r ON r.id = ri.record_id"
               "                   WHERE ri.utxo_id = ?1 AND r.direction = 'outgoing')"
               " ON CONFLICT (id) DO NOTHING");
        if (st == NULL) {
            s = OFFPAY_ERR_STORAGE;
            break;
        }
        sqlite3_bind_blob(st, 1, got[i].id, OFFPAY_UTXO_ID_BYTES, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)got[i].amount);
        sqlite3_bind_blob(st, 3, buf, (int)len, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)wallet_now());
        if ((s = wallet_step_done(w, st)) != OFFPAY_OK)
            break;
        if (sqlite3_changes(w->db) == 0)
            continue;
        if (got[i].amount > UINT64_MAX - sum) {
            s = wallet_fail(w, OFFPAY_ERR_AMOUNT_OVERFLOW, "The recovered coins add up to too much.");
            break;
        }
        sum += got[i].amount;
        struct offpay_wallet_utxo *o = &rep->recovered[rep->n_recovered++];
        memcpy(o->id, got[i].id, OFFPAY_UTXO_ID_BYTES);
        o->amount = got[i].amount;
        o->state = OFFPAY_UTXO_SPENDABLE;
    }
    if (s == OFFPAY_OK && rep->n_recovered > 0) {
        char detail[160];
        snprintf(detail, sizeof detail,
                 "%zu coin%s the server held for this wallet (a payment settled by its payer, or an interrupted load)",
                 rep->n_recovered, rep->n_recovered == 1 ? "" : "s");
        s = wallet_history_add(w, "recovered", sum, NULL, NULL, detail);
    }
    if (s == OFFPAY_OK)
        s = wallet_commit(w);
    else
        wallet_rollback(w);
    if (s == OFFPAY_OK)
        rep->recovered_sum = sum;
cleanup:
    if (s != OFFPAY_OK)
        rep->n_recovered = 0;
    free(got);
    free(listed);
    json_decref(resp);
    return s;
}

enum offpay_status offpay_wallet_sync(struct offpay_wallet *w, struct offpay_sync_report *report)
{
    enum offpay_status s;
    int more = 1;
    memset(report, 0, sizeof *report);
    w->err[0] = '\0';
    /* Calls whose answer was lost first, under the call lock: the server
     * says what became of each (and cancels what never arrived). */
    int fd = wallet_call_lock(w);
    if (fd < 0)
        return OFFPAY_ERR_STORAGE;
    s = wallet_calls_settle(w, report);
    close(fd);
    if (s != OFFPAY_OK)
        return s;
    /* Each batch is one transaction; the loop is bounded by the pending store,
     * which every successful batch shrinks. */
    for (int round = 0; more && round < SYNC_BATCHES_MAX; round++)
        if ((s = sync_batch(w, report, &more)) != OFFPAY_OK)
            return s;
    /* The sync is done; a failed recovery only warns (the next sync retries). */
    if (recover_coins(w, report) != OFFPAY_OK) {
        snprintf(report->recovery_warning, sizeof report->recovery_warning, "%s",
                 w->err[0] ? w->err : "The server's list of our coins could not be read.");
        w->err[0] = '\0';
    }
    return OFFPAY_OK;
}

/* ---- pay online ---- */

enum offpay_status offpay_wallet_pay_online(struct offpay_wallet *w, struct offpay_sync_report *report, uint64_t *online,
                                            int *already_paid, const char *account, uint64_t amount)
{
    json_t *body = NULL, *resp = NULL;
    enum offpay_status s;

    *online = 0;
    *already_paid = 0;
    memset(report, 0, sizeof *report);
    if (!offpay_account_name_valid(account))
        return wallet_fail(w, OFFPAY_ERR_USAGE, "%s", offpay_status_str(OFFPAY_ERR_BAD_ACCOUNT_NAME));
    if (amount == 0 || amount > WALLET_AMOUNT_MAX)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The amount must be a positive whole number.");
    /* Claim 3: every unsynced record first; pay only once that sync completed. */
    if ((s = offpay_wallet_sync(w, report)) != OFFPAY_OK) {
        char keep[OFFPAY_WALLET_ERROR_MAX];
        snprintf(keep, sizeof keep, "%s", w->err);
        wallet_fail(w, s, "The sync before paying online failed, so nothing was paid: %s", keep);
        return s;
    }
    /* The same payment, lost on its way back and found made: a retry. */
    for (size_t i = 0; i < report->n_calls; i++) {
        const struct offpay_call_outcome *o = &report->calls[i];
        if (strcmp(o->kind, "pay_online") == 0 && strcmp(o->outcome, "done") == 0 && o->amount == amount &&
            strcmp(o->counterparty, account) == 0) {
            *already_paid = 1;
            return OFFPAY_OK;
        }
    }
    body = json_pack("{s:s, s:I}", "to", account, "amount", (json_int_t)amount);
    if (body == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the payment.");
    int fd = wallet_call_lock(w);
    if (fd < 0) {
        json_decref(body);
        return OFFPAY_ERR_STORAGE;
    }
    struct wallet_tracked_call c = {.kind = "pay_online", .amount = amount, .counterparty = account};
    if ((s = track_alone(w, &c)) != OFFPAY_OK)
        goto cleanup;
    s = wallet_call(w, "POST", "/v1/pay-online", body, 1, c.nonce, c.ts, &resp);
    if (s == OFFPAY_ERR_OUTCOME_UNKNOWN)
        goto cleanup;
    if (s != OFFPAY_OK) {
        s = untrack_refused(w, &c, s);
        goto cleanup;
    }
    /* A 2xx: the payment is made, whatever else the answer says. */
    if (u64_field(w, resp, "online", online) != OFFPAY_OK)
        *online = 0;
    if ((s = wallet_begin(w)) != OFFPAY_OK)
        goto cleanup;
    if ((s = wallet_history_add(w, "pay_online", amount, account, NULL, "paid from the online balance")) != OFFPAY_OK ||
        (s = wallet_call_untrack(w, c.nonce)) != OFFPAY_OK) {
        wallet_rollback(w);
        goto cleanup;
    }
    s = wallet_commit(w);
cleanup:
    close(fd);
    json_decref(body);
    json_decref(resp);
    return s;
}

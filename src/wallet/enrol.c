/*
 * enrol.c - offpay init: make a key pair, enrol it with the server's
 * one-time token, check what the server hands back, and create the wallet.
 *
 * The new key is written to DIR/enrol.key before the token leaves, so that
 * an enrolment whose answer was lost can be finished by running the same
 * init again: the server answers the same token and key with the same
 * certificate.  A refused init, or one that never reached the server,
 * removes the key again and leaves nothing behind (docs/wallet.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"

#define ENROL_KEY_FILE OFFPAY_WALLET_ENROL_KEY_FILE /* the key of an enrolment whose answer was lost */

/* The key to enrol: the one an earlier attempt left (its answer was lost,
 * so the server may hold it with the token already), else a new one written
 * down before the token can be spent, in the form the wallet will keep it
 * (sealed, or naming the token's key).  Out: *k, *reused. */
static enum offpay_status enrol_key(struct offpay_wallet *w, const struct offpay_wallet_key_spec *spec,
                                    struct wallet_key **k, int *reused)
{
    char path[PATH_MAX + 16], label[64];
    enum offpay_status s;
    *k = NULL;
    snprintf(path, sizeof path, "%s/%s", w->dir, ENROL_KEY_FILE);
    *reused = access(path, F_OK) == 0;
    if (*reused)
        return wallet_key_reuse(w, spec, ENROL_KEY_FILE, k);
    if (errno != ENOENT)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The key file %s cannot be read: %s.", path, strerror(errno));
    snprintf(label, sizeof label, "offpay wallet");
    if ((s = wallet_key_generate(w, spec, label, k)) != OFFPAY_OK)
        return s;
    if ((s = wallet_key_file_write(w, ENROL_KEY_FILE, *k)) != OFFPAY_OK) {
        wallet_key_discard(*k);
        wallet_key_close(*k);
        *k = NULL;
    }
    return s;
}

/* The enrolment answer, checked: a certificate for exactly our key, account
 * and wallet id (the issuer key is trusted on first use), limits and
 * revocation list.  Out: cert, issuer_pk, policy, *rev / *rev_len. */
static enum offpay_status enrol_answer(struct offpay_wallet *w, const json_t *resp, const uint8_t *pk,
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
    if ((s = wallet_field_text(w, resp, "certificate", OFFPAY_MSG_CERT, cert_bin, sizeof cert_bin, &cert_len)) != OFFPAY_OK)
        return s;
    if (offpay_cert_decode(cert, cert_bin, cert_len) != OFFPAY_OK)
        return wallet_fail(w, OFFPAY_ERR_REJECTED, "The server's certificate is malformed.");
    if (memcmp(cert->public_key, pk, OFFPAY_PUBLIC_KEY_BYTES) != 0 ||
        strcmp(cert->account, account) != 0 || memcmp(cert->wallet_id, wid, sizeof wid) != 0)
        return wallet_fail(w, OFFPAY_ERR_WRONG_PAYEE, "The server issued a certificate for another key, account or wallet.");
    return wallet_field_policy(w, resp, policy, rev, rev_len);
}

/* A finished init's last step: enrol.key goes, and with it the second names
 * a crash between a link and its unlink can leave (wallet_file_publish). */
static void enrol_tidy(struct offpay_wallet *scratch, enum offpay_wallet_key_kind kind)
{
    char path[PATH_MAX + 16], name[64];
    const char *const news[] = {ENROL_KEY_FILE, wallet_key_file_name(kind)};
    for (size_t i = 0; i < sizeof news / sizeof news[0]; i++)
        if (snprintf(name, sizeof name, "%s.new", news[i]) < (int)sizeof name &&
            wallet_path(path, sizeof path, scratch->dir, name) == 0)
            unlink(path);
    wallet_db_files_remove(scratch, OFFPAY_WALLET_DB_FILE ".new");
    if (wallet_path(path, sizeof path, scratch->dir, ENROL_KEY_FILE) == 0)
        unlink(path);
    (void)wallet_dir_sync(scratch);
}

static enum offpay_status already_holds(struct offpay_wallet *scratch)
{
    return wallet_fail(scratch, OFFPAY_ERR_USAGE, "%s already holds a wallet; it was left untouched.", scratch->dir);
}

/* wallet.db is in the folder.  With enrol.key beside it, an init built the
 * whole wallet but died before removing enrol.key: the same init (same key,
 * account and server) finishes by removing it and answers with the wallet
 * (*out).  A store without an identity was left half made by an init from
 * before stores were built whole (it holds nothing: the identity and every
 * first row are one transaction); with enrol.key beside it, it is removed and
 * the init goes on (*out stays NULL).  Anything else is a wallet, and init
 * leaves it untouched. */
static enum offpay_status enrol_leftover(struct offpay_wallet **out, struct offpay_wallet *scratch, const char *account,
                                     const struct offpay_wallet_key_spec *spec)
{
    char enrol_path[PATH_MAX + 16], db[PATH_MAX + 16], err[OFFPAY_WALLET_ERROR_MAX];
    struct wallet_store *st = NULL;
    struct wallet_store_identity id;
    struct offpay_cert cert;
    int found = 0, same = 0;
    enum offpay_status s;

    if (wallet_path(enrol_path, sizeof enrol_path, scratch->dir, ENROL_KEY_FILE) != 0 ||
        wallet_path(db, sizeof db, scratch->dir, OFFPAY_WALLET_DB_FILE) != 0 || access(enrol_path, F_OK) != 0)
        return already_holds(scratch);
    if ((s = wallet_folder_check(scratch)) != OFFPAY_OK ||
        (s = wallet_store_open(&st, db, 0, scratch->err, sizeof scratch->err)) != OFFPAY_OK)
        return s;
    s = wallet_store_identity_get(st, &id, &found);
    wallet_store_close(st);
    if (s != OFFPAY_OK)
        return s;
    if (!found) {
        wallet_db_files_remove(scratch, OFFPAY_WALLET_DB_FILE);
        (void)wallet_dir_sync(scratch);
        return OFFPAY_OK;
    }
    if (offpay_cert_decode(&cert, id.cert, id.cert_len) != OFFPAY_OK || strcmp(cert.account, account) != 0 ||
        strcmp(id.server_url, scratch->server_url) != 0)
        return already_holds(scratch);
    if ((s = wallet_key_files_same(scratch, ENROL_KEY_FILE, wallet_key_file_name(spec->kind), &same)) != OFFPAY_OK)
        return s;
    if (!same)
        return already_holds(scratch);
    if ((s = offpay_wallet_open(out, err, scratch->dir)) != OFFPAY_OK)
        return wallet_fail(scratch, s, "%s", err);
    enrol_tidy(scratch, spec->kind);
    return OFFPAY_OK;
}

/* The arguments, no wallet in dir yet (or the wallet of an init that died
 * just before its end, finished now: *out), the folder (made here:
 * *dir_created) not open to others. */
static enum offpay_status enrol_folder(struct offpay_wallet **out, struct offpay_wallet *scratch, const char *dir,
                                       const char *server_url, const char *account, const char *ca_file,
                                       const struct offpay_wallet_key_spec *spec, int *dir_created)
{
    enum offpay_status s;
    char path[PATH_MAX + 16], why[256];
    if (!offpay_account_name_valid(account))
        return wallet_fail(scratch, OFFPAY_ERR_USAGE, "%s", offpay_status_str(OFFPAY_ERR_BAD_ACCOUNT_NAME));
    if (!offpay_wallet_url_check(server_url, why, sizeof why))
        return wallet_fail(scratch, OFFPAY_ERR_USAGE, "%s", why);
    if (ca_file != NULL && strncmp(server_url, "https://", 8) != 0)
        return wallet_fail(scratch, OFFPAY_ERR_USAGE, "--ca-file is for an https:// server; %s is not one.", server_url);
    if (strlen(server_url) >= sizeof scratch->server_url || strlen(dir) >= sizeof scratch->dir)
        return wallet_fail(scratch, OFFPAY_ERR_USAGE, "The server URL or wallet folder name is too long.");
    strcpy(scratch->server_url, server_url);
    strcpy(scratch->dir, dir);
    if (wallet_path(path, sizeof path, dir, OFFPAY_WALLET_DB_FILE) == 0 && access(path, F_OK) == 0 &&
        ((s = enrol_leftover(out, scratch, account, spec)) != OFFPAY_OK || *out != NULL))
        return s;
    if (mkdir(dir, 0700) == 0) {
        *dir_created = 1;
        return OFFPAY_OK;
    }
    if (errno != EEXIST)
        return wallet_fail(scratch, OFFPAY_ERR_STORAGE, "The wallet folder %s cannot be created: %s.", dir,
                           strerror(errno));
    return wallet_folder_check(scratch); /* no key is made where others could take or swap it */
}

/* Before the one-time token is spent: the arguments, no wallet in dir yet,
 * the folder (made here: *dir_created) not open to others, and the CA file
 * kept in it (ca.c), so that the enrolment itself checks the server. */
static enum offpay_status enrol_prepare(struct offpay_wallet **out, struct offpay_wallet *scratch, const char *dir,
                                        const char *server_url, const char *account, const char *ca_file,
                                        const struct offpay_wallet_key_spec *spec, int *dir_created)
{
    enum offpay_status s;
    if ((s = enrol_folder(out, scratch, dir, server_url, account, ca_file, spec, dir_created)) != OFFPAY_OK ||
        *out != NULL)
        return s;
    if (ca_file == NULL) {
        wallet_ca_drop(scratch); /* one an earlier attempt kept */
        return OFFPAY_OK;
    }
    if ((s = wallet_ca_keep(scratch, ca_file)) != OFFPAY_OK && *dir_created) {
        rmdir(dir); /* nothing else was made in it */
        *dir_created = 0;
    }
    return s;
}

/* Send the enrolment.  Out: *resp.  *keep_key stays 1 only when the key may
 * be enrolled at the server: its answer was lost, or an earlier attempt left
 * it (that attempt may have enrolled it). */
static enum offpay_status enrol_send(struct offpay_wallet *scratch, const uint8_t *pk, const char *token, int reused,
                                     int *keep_key, json_t **resp)
{
    char pk_hex[2 * OFFPAY_PUBLIC_KEY_BYTES + 1];
    offpay_hex(pk_hex, pk, OFFPAY_PUBLIC_KEY_BYTES);
    json_t *body = json_pack("{s:s, s:s}", "token", token, "public_key", pk_hex);
    if (body == NULL) {
        *keep_key = reused;
        return wallet_fail(scratch, OFFPAY_ERR_USAGE, "The token is not valid text.");
    }
    enum offpay_status s = wallet_call(scratch, "POST", "/v1/enrol", body, 0, NULL, 0, resp);
    json_decref(body);
    if (s == OFFPAY_ERR_OUTCOME_UNKNOWN)
        return wallet_fail(scratch, s,
                           "The server at %s may have enrolled this wallet, but its answer was lost; the outcome is not "
                           "known yet: run the same `offpay init` again to finish (the new key waits in %s/%s).",
                           scratch->server_url, scratch->dir, ENROL_KEY_FILE);
    if (s != OFFPAY_OK)
        *keep_key = reused; /* refused, or never sent: a key this attempt made is of no use */
    return s;
}

/* Check the answer and create the wallet from it; the enrolment key file
 * goes once the wallet's own key file holds the key. */
static enum offpay_status enrol_finish(struct offpay_wallet **out, char *err, struct offpay_wallet *scratch,
                                       const json_t *resp, const struct wallet_key *k, const char *account,
                                       const uint8_t *issuer_pin)
{
    uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES], *rev = NULL, stamp[OFFPAY_STAMP_BYTES];
    size_t rev_len = 0, stamp_len = 0;
    struct offpay_cert cert;
    struct offpay_limits_policy policy;
    enum offpay_status s = enrol_answer(scratch, resp, wallet_key_public(k), account, &cert, issuer_pk, &policy, &rev, &rev_len);
    if (s == OFFPAY_OK && issuer_pin != NULL && sodium_memcmp(issuer_pin, issuer_pk, OFFPAY_PUBLIC_KEY_BYTES) != 0) {
        char got[2 * OFFPAY_PUBLIC_KEY_BYTES + 1];
        offpay_hex(got, issuer_pk, OFFPAY_PUBLIC_KEY_BYTES);
        /* The key stays in enrol.key: if the operator's pin was wrong, the
         * same init with the right one finishes this enrolment. */
        s = wallet_fail(scratch, OFFPAY_ERR_CERT_NOT_ISSUED,
                        "The server at %s presented issuer key %s, not the one given with --issuer-key; nothing was "
                        "stored (the token may be spent: ask the operator for the right key or a new token).",
                        scratch->server_url, got);
    }
    if (s == OFFPAY_OK)
        s = wallet_field_stamp(scratch, resp, stamp, &stamp_len);
    if (s == OFFPAY_OK)
        s = wallet_create_stamped(out, err, scratch->dir, scratch->server_url, &cert, k, issuer_pk, &policy, rev,
                                  rev_len, stamp, stamp_len);
    free(rev);
    if (s == OFFPAY_OK) {
        offpay_wallet_contact_set(*out, &scratch->contact);
        scratch->err[0] = '\0';
        enrol_tidy(scratch, wallet_key_kind_of(k));
        wallet_test_die(ENROL_KEY_FILE ".removed");
    } else if (err != NULL && err[0] != '\0') {
        snprintf(scratch->err, sizeof scratch->err, "%s", err); /* create's sentence */
    }
    return s;
}

enum offpay_status offpay_wallet_init(struct offpay_wallet **out, char *err, const char *dir, const char *server_url,
                                      const char *account, const char *token,
                                      const uint8_t issuer_pin[OFFPAY_PUBLIC_KEY_BYTES], const char *ca_file,
                                      const struct offpay_wallet_contact *contact)
{
    return offpay_wallet_init_keyed(out, err, dir, server_url, account, token, issuer_pin, ca_file, contact, NULL);
}

enum offpay_status offpay_wallet_init_keyed(struct offpay_wallet **out, char *err, const char *dir,
                                            const char *server_url, const char *account, const char *token,
                                            const uint8_t issuer_pin[OFFPAY_PUBLIC_KEY_BYTES], const char *ca_file,
                                            const struct offpay_wallet_contact *contact,
                                            const struct offpay_wallet_key_spec *key)
{
    static const struct offpay_wallet_key_spec plain = {.kind = OFFPAY_WALLET_KEY_PLAIN};
    struct offpay_wallet *scratch = NULL;
    struct wallet_key *k = NULL;
    char path[PATH_MAX + 16];
    json_t *resp = NULL;
    enum offpay_status s;
    int dir_created = 0, reused = 0, keep_key = 1; /* until we know the key is of no use */

    *out = NULL;
    if (err)
        err[0] = '\0';
    if (offpay_crypto_init() != 0)
        return OFFPAY_ERR_CRYPTO_INIT;
    if ((scratch = calloc(1, sizeof *scratch)) == NULL)
        return OFFPAY_ERR_NOMEM;
    if (contact != NULL)
        offpay_wallet_contact_set(scratch, contact);
    s = enrol_prepare(out, scratch, dir, server_url, account, ca_file, key != NULL ? key : &plain, &dir_created);
    if (s == OFFPAY_OK && *out != NULL) { /* an init that died at its very end, finished now */
        offpay_wallet_contact_set(*out, &scratch->contact);
        free(scratch);
        return OFFPAY_OK;
    }
    if (s == OFFPAY_OK) {
        s = enrol_key(scratch, key != NULL ? key : &plain, &k, &reused);
        keep_key = s == OFFPAY_OK || reused;
    }
    if (s == OFFPAY_OK &&
        (s = enrol_send(scratch, wallet_key_public(k), token, reused, &keep_key, &resp)) == OFFPAY_OK) {
        wallet_test_die("answered");
        s = enrol_finish(out, err, scratch, resp, k, account, issuer_pin);
    }
    /* On failure: the sentence, and a key of no use is removed (with the folder made for it). */
    if (s != OFFPAY_OK && err)
        snprintf(err, OFFPAY_WALLET_ERROR_MAX, "%s", scratch->err[0] ? scratch->err : offpay_status_str(s));
    if (s != OFFPAY_OK && !keep_key) {
        wallet_key_discard(k); /* a token's key of no use leaves the token too */
        if (wallet_path(path, sizeof path, dir, ENROL_KEY_FILE) == 0)
            unlink(path);
        wallet_ca_drop(scratch);
        if (dir_created)
            rmdir(dir);
    }
    wallet_key_close(k);
    free(scratch);
    json_decref(resp);
    return s;
}

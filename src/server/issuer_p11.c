/*
 * issuer_p11.c - the issuer key in a PKCS#11 token: offpayd init|serve
 * --issuer-pkcs11 MODULE --token LABEL --pin-file FILE.
 *
 * init generates the Ed25519 key pair inside the token (not extractable)
 * and records in the ledger, beside the issuer public key, that the key is
 * in a token; serve logs in to the token and finds the key by that public
 * key.  Certificates, attestations, limits and revocation lists are then
 * signed in the token: the private key never exists in offpayd's memory,
 * and a copy of the server's disk cannot mint.  The PIN is read from a file
 * only (offpayd is a service: there is no terminal to ask on) and wiped
 * once the token has it.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "offpay/secret.h"

#define KEY_LABEL "offpay issuer"

int issuer_token_options(const struct cli_opts *c, struct issuer_token *o, char *err, size_t err_cap)
{
    o->module = cli_opt(c, "issuer-pkcs11");
    o->token = cli_opt(c, "token");
    o->pin_file = cli_opt(c, "pin-file");
    if (o->module == NULL && o->token == NULL && o->pin_file == NULL)
        return 0;
    if (o->module == NULL || o->token == NULL || o->pin_file == NULL) {
        snprintf(err, err_cap, "A token needs all three of --issuer-pkcs11 MODULE, --token LABEL and --pin-file FILE.");
        return -1;
    }
    if (cli_opt(c, "issuer-key") != NULL) {
        snprintf(err, err_cap, "--issuer-key and --issuer-pkcs11 name two places for one key; give one.");
        return -1;
    }
    return 1;
}

/* Open the token of o, logged in with the PIN of its file. */
static enum offpay_status token_open(struct offpay_p11 **t, const struct issuer_token *o, char *err, size_t err_cap)
{
    char *pin = NULL;
    enum offpay_status s = offpay_secret_from_file(&pin, err, err_cap, o->pin_file);
    if (s == OFFPAY_OK)
        s = offpay_p11_open(t, err, err_cap, o->module, o->token, pin);
    offpay_secret_free(pin);
    return s;
}

enum offpay_status issuer_token_create(const struct issuer_token *o, uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], char *err,
                                       size_t err_cap)
{
    struct offpay_p11 *t = NULL;
    enum offpay_status s = token_open(&t, o, err, err_cap);
    if (s == OFFPAY_OK)
        s = offpay_p11_generate(t, err, err_cap, pk, KEY_LABEL);
    offpay_p11_close(t);
    return s;
}

int issuer_key_in_token(struct offpay_ledger *l)
{
    uint8_t v[16];
    size_t n = 0;
    return l->ops->meta_get(l, META_ISSUER_STORE, v, sizeof v, &n) == OFFPAY_LEDGER_OK && n == strlen(META_ISSUER_STORE_PKCS11) &&
           memcmp(v, META_ISSUER_STORE_PKCS11, n) == 0;
}

enum offpay_status issuer_token_load(struct offpayd *srv, const struct issuer_token *o, struct offpay_ledger *l,
                                     char *err, size_t err_cap)
{
    size_t n = 0;
    enum offpay_status s;

    if (l->ops->meta_get(l, META_ISSUER_PK, srv->issuer_pk, sizeof srv->issuer_pk, &n) != OFFPAY_LEDGER_OK ||
        n != sizeof srv->issuer_pk) {
        snprintf(err, err_cap, "The ledger holds no issuer public key.");
        return OFFPAY_ERR_STORAGE;
    }
    if ((s = token_open(&srv->issuer_token, o, err, err_cap)) != OFFPAY_OK)
        return s;
    return offpay_p11_signer(srv->issuer_token, err, err_cap, &srv->issuer, srv->issuer_pk);
}

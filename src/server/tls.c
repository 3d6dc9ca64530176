/*
 * tls.c - offpayd serve --tls-cert FILE --tls-key FILE: HTTPS through
 * libmicrohttpd, which speaks TLS with GnuTLS.
 *
 * The certificate chain and the key are read once at start into memory
 * (the key into sodium_malloc'd memory, wiped when the server stops) and
 * checked here with GnuTLS before the server starts, so that an operator
 * hears "the key does not belong to the certificate" or "the certificate
 * has expired" in one sentence instead of a failed handshake later.  Only
 * TLS 1.2 and 1.3 are offered (OFFPAYD_TLS_PRIORITIES): wallets carry
 * enrolment tokens and signed payment records, and older versions have known
 * breaks.  A new certificate takes a restart (docs/server.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <sodium.h>

#include "internal.h"

/* GnuTLS priorities: its defaults, less every version below TLS 1.2. */
#define OFFPAYD_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define PEM_BYTES_MAX (1024u * 1024u)

/* Read path whole into *out (NUL-terminated; sodium_malloc'd when secret). */
static int read_pem(const char *path, int secret, char **out, size_t *len, char *err, size_t err_cap)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    *out = NULL;
    if (f == NULL) {
        snprintf(err, err_cap, "The TLS file %s cannot be read: %s.", path, strerror(errno));
        return -1;
    }
    buf = secret ? sodium_malloc(PEM_BYTES_MAX + 1) : malloc(PEM_BYTES_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        snprintf(err, err_cap, "Out of memory for the TLS file %s.", path);
        return -1;
    }
    n = fread(buf, 1, PEM_BYTES_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n == 0 || n > PEM_BYTES_MAX) {
        snprintf(err, err_cap, "The TLS file %s cannot be read, is empty or is over 1 MiB.", path);
        if (secret)
            sodium_free(buf);
        else
            free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* The pair as GnuTLS and so libmicrohttpd will take it, and the leaf's expiry. */
static int check_pair(struct offpayd *srv, const char *cert_path, const char *key_path, size_t cert_len, size_t key_len,
                      char *err, size_t err_cap)
{
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_priority_t prio = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t c = {(unsigned char *)srv->tls_cert, (unsigned)cert_len};
    gnutls_datum_t k = {(unsigned char *)srv->tls_key, (unsigned)key_len};
    int rc = -1, r;

    if (gnutls_certificate_allocate_credentials(&cred) != GNUTLS_E_SUCCESS) {
        snprintf(err, err_cap, "GnuTLS cannot be set up.");
        goto out;
    }
    if ((r = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        snprintf(err, err_cap, "The TLS certificate %s and key %s cannot be used together: %s.", cert_path, key_path,
                 gnutls_strerror(r));
        goto out;
    }
    if (gnutls_x509_crt_init(&crt) != GNUTLS_E_SUCCESS ||
        (r = gnutls_x509_crt_import(crt, &c, GNUTLS_X509_FMT_PEM)) < 0) {
        snprintf(err, err_cap, "The TLS certificate %s cannot be read as PEM.", cert_path);
        goto out;
    }
    srv->tls_not_after = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
    if (srv->tls_not_after <= (int64_t)time(NULL)) {
        snprintf(err, err_cap, "The TLS certificate %s has expired.", cert_path);
        goto out;
    }
    if (gnutls_priority_init(&prio, OFFPAYD_TLS_PRIORITIES, NULL) != GNUTLS_E_SUCCESS) {
        snprintf(err, err_cap, "This GnuTLS does not offer TLS 1.2 and 1.3.");
        goto out;
    }
    rc = 0;
out:
    if (prio != NULL)
        gnutls_priority_deinit(prio);
    if (crt != NULL)
        gnutls_x509_crt_deinit(crt);
    if (cred != NULL)
        gnutls_certificate_free_credentials(cred);
    return rc;
}

int tls_load(struct offpayd *srv, const char *cert_path, const char *key_path, char *err, size_t err_cap)
{
    size_t cert_len = 0, key_len = 0;

    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, err_cap, "This libmicrohttpd was built without TLS.");
        return -1;
    }
    if (read_pem(cert_path, 0, &srv->tls_cert, &cert_len, err, err_cap) != 0 ||
        read_pem(key_path, 1, &srv->tls_key, &key_len, err, err_cap) != 0 ||
        check_pair(srv, cert_path, key_path, cert_len, key_len, err, err_cap) != 0) {
        tls_free(srv);
        return -1;
    }
    return 0;
}

void tls_free(struct offpayd *srv)
{
    free(srv->tls_cert);
    if (srv->tls_key != NULL)
        sodium_free(srv->tls_key); /* wipes it */
    srv->tls_cert = srv->tls_key = NULL;
}

unsigned tls_mhd_options(const struct offpayd *srv, struct MHD_OptionItem *opts)
{
    size_t i = 0;
    if (srv->tls_cert != NULL) {
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->tls_cert};
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->tls_key};
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)OFFPAYD_TLS_PRIORITIES};
    }
    opts[i] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return srv->tls_cert != NULL ? MHD_USE_TLS : 0;
}

/*
 * ca.c - the certificate authorities a wallet trusts for its https:// server.
 *
 * By default the wallet checks the server's certificate against the
 * system's certificate authorities.  A server behind its own (say, the
 * operator's private) authority is trusted through `offpay init --ca-file
 * FILE`: the wallet keeps a copy of FILE in its folder as ca.pem, so that it
 * does not depend on FILE staying where it was, and every later call checks
 * the server against that copy alone.  The folder is the wallet's own
 * (wallet_folder_check: nobody else may write to it), so nobody else can
 * swap the authorities either.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define CA_BYTES_MAX (1024u * 1024u) /* a CA file beyond this is not one */

const char *wallet_ca_path(const struct offpay_wallet *w, char *buf, size_t cap)
{
    if (wallet_path(buf, cap, w->dir, OFFPAY_WALLET_CA_FILE) != 0 || access(buf, F_OK) != 0)
        return NULL;
    return buf;
}

/* Read all of path (at most CA_BYTES_MAX bytes).  Out: *data (malloc'd, NUL-terminated), *len. */
static enum offpay_status read_ca(struct offpay_wallet *w, const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n;

    *data = NULL;
    if (f == NULL)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The CA file %s cannot be read: %s.", path, strerror(errno));
    if ((buf = malloc(CA_BYTES_MAX + 1)) == NULL) {
        fclose(f);
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the CA file.");
    }
    n = fread(buf, 1, CA_BYTES_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > CA_BYTES_MAX) {
        free(buf);
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The CA file %s cannot be read or is over 1 MiB.", path);
    }
    buf[n] = '\0';
    if (strstr(buf, "-----BEGIN CERTIFICATE-----") == NULL) {
        free(buf);
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The CA file %s holds no PEM certificate (-----BEGIN CERTIFICATE-----).",
                           path);
    }
    *data = buf;
    *len = n;
    return OFFPAY_OK;
}

enum offpay_status wallet_ca_keep(struct offpay_wallet *w, const char *src)
{
    char *data = NULL;
    size_t len = 0;
    enum offpay_status s;

    if ((s = read_ca(w, src, &data, &len)) != OFFPAY_OK)
        return s;
    if (wallet_file_replace(w, OFFPAY_WALLET_CA_FILE, data, len) != 0)
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The CA file cannot be kept in %s: %s.", w->dir, strerror(errno));
    free(data);
    return s;
}

void wallet_ca_drop(struct offpay_wallet *w)
{
    char path[PATH_MAX + 16];
    if (wallet_path(path, sizeof path, w->dir, OFFPAY_WALLET_CA_FILE) == 0)
        unlink(path);
}

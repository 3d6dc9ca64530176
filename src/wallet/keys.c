/*
 * keys.c - the wallet's secret key file and the folder that holds it.
 *
 * The plain key (DIR/key, 64 bytes, mode 0600, never overwritten) is read
 * into sodium_malloc memory when the wallet first signs and wiped when it is
 * closed (keystore.c holds it, and the other places a key may live).  As ssh
 * does, a folder others may write to or a key file others may reach is
 * refused (docs/wallet.md "The wallet folder").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"

int wallet_path(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

enum offpay_status wallet_folder_check(struct offpay_wallet *w)
{
    struct stat st;
    if (stat(w->dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return wallet_fail(w, OFFPAY_ERR_KEY_UNAVAILABLE,
                           "The wallet folder %s is writable by others (mode %04o), who could swap its key; "
                           "run \"chmod go-w %s\" and try again.",
                           w->dir, (unsigned)(st.st_mode & 07777), w->dir);
    return OFFPAY_OK;
}

enum offpay_status wallet_key_mode_check(struct offpay_wallet *w, const char *path, const struct stat *st)
{
    if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0)
        return wallet_fail(w, OFFPAY_ERR_KEY_UNAVAILABLE,
                           "The wallet's key file %s is open to others (mode %04o), so it is not used; "
                           "run \"chmod 600 %s\" and try again.",
                           path, (unsigned)(st->st_mode & 07777), path);
    return OFFPAY_OK;
}

enum offpay_status wallet_modes_check(struct offpay_wallet *w)
{
    static const char *const names[] = {OFFPAY_WALLET_KEY_FILE, OFFPAY_WALLET_SEALED_KEY_FILE,
                                        OFFPAY_WALLET_TOKEN_KEY_FILE};
    char path[PATH_MAX + 16];
    struct stat st;
    enum offpay_status s = wallet_folder_check(w);
    for (size_t i = 0; s == OFFPAY_OK && i < sizeof names / sizeof names[0]; i++)
        if (wallet_path(path, sizeof path, w->dir, names[i]) == 0 && stat(path, &st) == 0)
            s = wallet_key_mode_check(w, path, &st);
    return s;
}

enum offpay_status wallet_key_load(struct offpay_wallet *w, uint8_t **sk_out)
{
    char path[PATH_MAX + 8];
    enum offpay_status s = OFFPAY_OK;
    uint8_t *sk = NULL;
    int fd = -1;
    struct stat stbuf;

    *sk_out = NULL;
    if (wallet_path(path, sizeof path, w->dir, OFFPAY_WALLET_KEY_FILE) != 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet folder name is too long.");
    sk = sodium_malloc(OFFPAY_SECRET_KEY_BYTES);
    if (sk == NULL)
        return wallet_fail(w, OFFPAY_ERR_NOMEM, "Out of memory for the secret key.");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet's key file %s cannot be read: %s.", path, strerror(errno));
        goto cleanup;
    }
    /* Checked again on the file that is read: its mode may have changed since the wallet was opened. */
    if (fstat(fd, &stbuf) == 0 && (s = wallet_key_mode_check(w, path, &stbuf)) != OFFPAY_OK)
        goto cleanup;
    if (fstat(fd, &stbuf) != 0 || stbuf.st_size != OFFPAY_SECRET_KEY_BYTES ||
        read(fd, sk, OFFPAY_SECRET_KEY_BYTES) != OFFPAY_SECRET_KEY_BYTES) {
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet's key file %s is damaged.", path);
        goto cleanup;
    }
    /* libsodium's secret key ends with its public key: it must be the certificate's. */
    if (sodium_memcmp(sk + OFFPAY_SEED_BYTES, w->cert.public_key, OFFPAY_PUBLIC_KEY_BYTES) != 0) {
        s = wallet_fail(w, OFFPAY_ERR_STORAGE, "The wallet's key file does not match its certificate.");
        goto cleanup;
    }
    *sk_out = sk;
    sk = NULL;
cleanup:
    if (fd >= 0)
        close(fd);
    if (sk)
        sodium_free(sk); /* wipes */
    return s;
}

void wallet_key_free(uint8_t *sk)
{
    if (sk)
        sodium_free(sk); /* sodium_free zeroes the memory before releasing it */
}

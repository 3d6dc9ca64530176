/*
 * secret.c - PINs and passphrases from a file or the terminal, held only in
 * sodium_malloc memory (guarded pages, locked, wiped on free).  Every read
 * goes straight into that memory: no stdio buffer keeps a copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "offpay/secret.h"

void offpay_secret_free(char *s)
{
    if (s != NULL)
        sodium_free(s); /* wipes before it frees */
}

/* Read one line from fd into a fresh secret.  Returns as offpay_secret_from_file. */
static enum offpay_status read_line(char **out, char *err, size_t cap, int fd, const char *what)
{
    char *s = sodium_init() < 0 ? NULL : sodium_malloc(OFFPAY_SECRET_MAX + 1);
    size_t n = 0;
    ssize_t r;
    char c;

    if (s == NULL) {
        snprintf(err, cap, "Out of memory.");
        return OFFPAY_ERR_NOMEM;
    }
    while ((r = read(fd, &c, 1)) == 1 && c != '\n') {
        if (n == OFFPAY_SECRET_MAX) {
            sodium_free(s);
            snprintf(err, cap, "The %s is longer than %d bytes.", what, OFFPAY_SECRET_MAX);
            return OFFPAY_ERR_USAGE;
        }
        s[n++] = c;
    }
    c = 0;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    s[n] = '\0';
    if (r < 0 || n == 0) {
        sodium_free(s);
        snprintf(err, cap, r < 0 ? "The %s could not be read." : "The %s is empty.", what);
        return r < 0 ? OFFPAY_ERR_KEY_UNAVAILABLE : OFFPAY_ERR_USAGE;
    }
    *out = s;
    return OFFPAY_OK;
}

enum offpay_status offpay_secret_from_file(char **out, char *err, size_t err_cap, const char *path)
{
    struct stat st;
    enum offpay_status s;
    int fd;

    *out = NULL;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(err, err_cap, "Cannot open %s: %s.", path, strerror(errno));
        return OFFPAY_ERR_KEY_UNAVAILABLE;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
        close(fd);
        snprintf(err, err_cap, "%s holds a secret but others may read it: chmod 600 %s.", path, path);
        return OFFPAY_ERR_KEY_UNAVAILABLE;
    }
    s = read_line(out, err, err_cap, fd, "secret in the file");
    close(fd);
    return s;
}

/* Ask once on tty with echo off. */
static enum offpay_status ask(char **out, char *err, size_t cap, int tty, const char *prompt)
{
    struct termios old, quiet;
    enum offpay_status s;
    int echo_off = tcgetattr(tty, &old) == 0;

    if (write(tty, prompt, strlen(prompt)) < 0) {
        snprintf(err, cap, "The terminal cannot be written to.");
        return OFFPAY_ERR_KEY_UNAVAILABLE;
    }
    if (echo_off) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        echo_off = tcsetattr(tty, TCSAFLUSH, &quiet) == 0;
    }
    s = read_line(out, err, cap, tty, "answer");
    if (echo_off)
        tcsetattr(tty, TCSAFLUSH, &old);
    return s;
}

enum offpay_status offpay_secret_from_tty(char **out, char *err, size_t err_cap, const char *prompt, int confirm)
{
    char *again = NULL;
    enum offpay_status s;
    int tty;

    *out = NULL;
    if ((tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
        snprintf(err, err_cap, "There is no terminal to ask for the secret on; give it in a file instead.");
        return OFFPAY_ERR_KEY_UNAVAILABLE;
    }
    s = ask(out, err, err_cap, tty, prompt);
    if (s == OFFPAY_OK && confirm && (s = ask(&again, err, err_cap, tty, "Again: ")) == OFFPAY_OK &&
        (strlen(again) != strlen(*out) || sodium_memcmp(again, *out, strlen(again)) != 0)) {
        snprintf(err, err_cap, "The two answers differ; nothing was changed.");
        s = OFFPAY_ERR_USAGE;
    }
    offpay_secret_free(again);
    if (s != OFFPAY_OK) {
        offpay_secret_free(*out);
        *out = NULL;
    }
    close(tty);
    return s;
}

/*
 * config.c - how the wallet contacts its server (docs/wallet.md "Settings").
 *
 * Two settings, each kept in one place only.  The server URL lives in the
 * store, beside the identity it was enrolled with, so that moving to a new
 * address is one transaction with a history line.  The timeout of a call
 * lives in the folder's config file (DIR/config), which its owner may also
 * edit by hand; a call's timeout is the first of: the caller's option
 * (offpay --timeout), $OFFPAY_TIMEOUT, the config file, 10 s.
 *
 * The config file is read as strictly as any input: lines "KEY = VALUE",
 * blank lines and lines starting with '#'; an unknown key, a key given twice,
 * a bad value or a file over CONFIG_BYTES_MAX is refused, naming the file and
 * the line, before anything is sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "offpay/client.h"

#define CONFIG_BYTES_MAX 4096
#define CONFIG_HEADER "# offpay wallet settings: offpay config set|unset KEY VALUE (docs/wallet.md, \"Settings\")\n"

int wallet_file_replace(struct offpay_wallet *w, const char *name, const void *data, size_t len)
{
    char dest[PATH_MAX + 16], tmp[PATH_MAX + 32], tmp_name[64];
    if (snprintf(tmp_name, sizeof tmp_name, "%s.new", name) >= (int)sizeof tmp_name ||
        wallet_path(dest, sizeof dest, w->dir, name) != 0 || wallet_path(tmp, sizeof tmp, w->dir, tmp_name) != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    unlink(tmp); /* left by an attempt that crashed */
    /* Written whole and synced before it takes the name: a crash leaves the
     * old file or the new one, never half of one. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (ok && rename(tmp, dest) != 0) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

/* Seconds as the config file and --timeout take them: 1..3600, digits only,
 * no leading zero.  Returns 0 or -1. */
static int parse_seconds(const char *s, unsigned *out)
{
    unsigned v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 4 || s[0] == '0')
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > OFFPAY_WALLET_TIMEOUT_MAX)
        return -1;
    *out = v;
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Read the config file.  Out: *timeout (0: not set; also when there is no
 * file).  Returns: OFFPAY_OK, OFFPAY_ERR_USAGE naming the file and line. */
static enum offpay_status config_read(struct offpay_wallet *w, unsigned *timeout)
{
    char path[PATH_MAX + 16], buf[CONFIG_BYTES_MAX + 2];
    *timeout = 0;
    if (wallet_path(path, sizeof path, w->dir, OFFPAY_WALLET_CONFIG_FILE) != 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet folder's name is too long.");
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT)
            return OFFPAY_OK;
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The config file %s cannot be read: %s.", path, strerror(errno));
    }
    size_t n = fread(buf, 1, CONFIG_BYTES_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The config file %s cannot be read.", path);
    if (n > CONFIG_BYTES_MAX)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The config file %s is over %d bytes.", path, CONFIG_BYTES_MAX);
    if (memchr(buf, '\0', n) != NULL)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The config file %s holds a NUL byte.", path);
    buf[n] = '\0';

    int line_no = 0, seen = 0;
    for (char *line = buf, *next; line != NULL && *line != '\0'; line = next) {
        line_no++;
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        char *t = trim(line);
        if (*t == '\0' || *t == '#')
            continue;
        char *eq = strchr(t, '=');
        if (eq == NULL)
            return wallet_fail(w, OFFPAY_ERR_USAGE, "%s, line %d: not of the form KEY = VALUE.", path, line_no);
        *eq = '\0';
        char *key = trim(t), *val = trim(eq + 1);
        if (strcmp(key, "timeout") != 0)
            return wallet_fail(w, OFFPAY_ERR_USAGE,
                               "%s, line %d: unknown setting \"%.32s\" (the file holds only timeout; the server URL "
                               "is set with offpay config set server URL).",
                               path, line_no, key);
        if (seen)
            return wallet_fail(w, OFFPAY_ERR_USAGE, "%s, line %d: timeout is given twice.", path, line_no);
        seen = 1;
        if (parse_seconds(val, timeout) != 0)
            return wallet_fail(w, OFFPAY_ERR_USAGE, "%s, line %d: timeout takes 1 to %d seconds, not \"%.32s\".", path,
                               line_no, OFFPAY_WALLET_TIMEOUT_MAX, val);
    }
    return OFFPAY_OK;
}

enum offpay_status wallet_timeout(struct offpay_wallet *w, unsigned *seconds, const char **from)
{
    unsigned conf = 0;
    long env = offpay_client_timeout_env();
    /* The file is read even when an option or $OFFPAY_TIMEOUT wins: a
     * broken file is reported at once, not on the day it starts to count. */
    enum offpay_status s = config_read(w, &conf);
    if (s != OFFPAY_OK)
        return s;
    if (w->contact.timeout > 0) {
        *seconds = w->contact.timeout;
        *from = "option";
    } else if (env > 0) {
        *seconds = (unsigned)env;
        *from = "environment";
    } else if (conf > 0) {
        *seconds = conf;
        *from = "config";
    } else {
        *seconds = (unsigned)OFFPAY_CLIENT_TIMEOUT_S;
        *from = "default";
    }
    return OFFPAY_OK;
}

void offpay_wallet_contact_set(struct offpay_wallet *w, const struct offpay_wallet_contact *c)
{
    w->contact = *c;
    if (w->contact.timeout > OFFPAY_WALLET_TIMEOUT_MAX)
        w->contact.timeout = OFFPAY_WALLET_TIMEOUT_MAX;
}

enum offpay_status offpay_wallet_config_get(struct offpay_wallet *w, struct offpay_wallet_config *c)
{
    memset(c, 0, sizeof *c);
    memcpy(c->server_url, w->server_url, sizeof c->server_url);
    enum offpay_status s = wallet_timeout(w, &c->timeout, &c->timeout_from);
    if (s == OFFPAY_OK)
        s = config_read(w, &c->timeout_config);
    return s;
}

enum offpay_status offpay_wallet_config_timeout_set(struct offpay_wallet *w, unsigned seconds)
{
    char path[PATH_MAX + 16], text[sizeof CONFIG_HEADER + 32];
    unsigned old;
    if (seconds > OFFPAY_WALLET_TIMEOUT_MAX)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "A timeout takes 1 to %d seconds.", OFFPAY_WALLET_TIMEOUT_MAX);
    /* A file its owner broke by hand is not overwritten on a guess. */
    enum offpay_status s = config_read(w, &old);
    if (s != OFFPAY_OK)
        return s;
    if (wallet_path(path, sizeof path, w->dir, OFFPAY_WALLET_CONFIG_FILE) != 0)
        return wallet_fail(w, OFFPAY_ERR_USAGE, "The wallet folder's name is too long.");
    if (seconds == 0) {
        if (unlink(path) != 0 && errno != ENOENT)
            return wallet_fail(w, OFFPAY_ERR_STORAGE, "The config file %s cannot be removed: %s.", path,
                               strerror(errno));
        return OFFPAY_OK;
    }
    int n = snprintf(text, sizeof text, "%stimeout = %u\n", CONFIG_HEADER, seconds);
    if (wallet_file_replace(w, OFFPAY_WALLET_CONFIG_FILE, text, (size_t)n) != 0)
        return wallet_fail(w, OFFPAY_ERR_STORAGE, "The config file %s cannot be written: %s.", path, strerror(errno));
    return OFFPAY_OK;
}

static int host_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
}

int offpay_wallet_url_check(const char *url, char *why, size_t why_cap)
{
    const char *p;
#define REFUSE(...)                                                                                                    \
    do {                                                                                                               \
        if (why != NULL && why_cap > 0)                                                                                \
            snprintf(why, why_cap, __VA_ARGS__);                                                                       \
        return 0;                                                                                                      \
    } while (0)
    if (url == NULL || *url == '\0')
        REFUSE("The server URL is empty.");
    if (strlen(url) >= OFFPAY_WALLET_URL_MAX)
        REFUSE("The server URL is longer than %d characters.", OFFPAY_WALLET_URL_MAX - 1);
    if (strncmp(url, "http://", 7) == 0)
        p = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        p = url + 8;
    else
        REFUSE("\"%.80s\" is not a server URL: it must start with http:// or https://.", url);
    if (*p == '[') { /* an IPv6 address */
        const char *q = ++p;
        while ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F') || *q == ':' ||
               *q == '.')
            q++;
        if (q == p || *q != ']')
            REFUSE("\"%.80s\" is not a server URL: its IPv6 address in brackets is not one.", url);
        p = q + 1;
    } else {
        const char *q = p;
        while (host_char(*q))
            q++;
        if (q == p || *p == '.' || *p == '-' || q[-1] == '-')
            REFUSE("\"%.80s\" is not a server URL: it names no host (letters, digits, '.' and '-').", url);
        p = q;
    }
    if (*p == ':') {
        unsigned long port = 0;
        const char *q = ++p;
        while (*q >= '0' && *q <= '9' && q - p < 6)
            port = port * 10 + (unsigned long)(*q++ - '0');
        if (q == p || *p == '0' || port > 65535 || (*q >= '0' && *q <= '9'))
            REFUSE("\"%.80s\" is not a server URL: its port must be 1 to 65535.", url);
        p = q;
    }
    if (*p == '/') {
        for (; *p != '\0'; p++)
            if (!host_char(*p) && *p != '_' && *p != '~' && *p != '/')
                break;
    }
    if (*p != '\0')
        REFUSE("\"%.80s\" is not a server URL: '%c' cannot stand there (no user, query or fragment; a path of letters, "
               "digits and -._~/ only).",
               url, *p >= 0x21 && *p < 0x7f ? *p : '?');
    return 1;
#undef REFUSE
}

enum offpay_status offpay_wallet_server_set(struct offpay_wallet *w, const char *url)
{
    char why[256], detail[OFFPAY_WALLET_URL_MAX + 16];
    if (!offpay_wallet_url_check(url, why, sizeof why))
        return wallet_fail(w, OFFPAY_ERR_USAGE, "%s", why);
    snprintf(detail, sizeof detail, "server %s", url);
    enum offpay_status s = wallet_store_begin(w->store);
    if (s != OFFPAY_OK)
        return s;
    if ((s = wallet_store_server_url_set(w->store, url)) != OFFPAY_OK ||
        (s = wallet_history_add(w, "server", 0, NULL, NULL, detail)) != OFFPAY_OK) {
        wallet_store_rollback(w->store);
        return s;
    }
    if ((s = wallet_store_commit(w->store)) != OFFPAY_OK)
        return s;
    snprintf(w->server_url, sizeof w->server_url, "%s", url);
    return OFFPAY_OK;
}

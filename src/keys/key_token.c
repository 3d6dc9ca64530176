/*
 * key_token.c - key.token, the file that names a wallet's key in a PKCS#11
 * token (see include/offpay/key_token.h for the format).  It is read from
 * the wallet folder, which may have been copied or tampered with: outside
 * input, decoded strictly (fuzz/fuzz_key_token.c).
 */
#include <stdio.h>
#include <string.h>

#include "offpay/key_token.h"

int offpay_key_token_label_ok(const char *s, size_t n)
{
    if (n == 0 || n > OFFPAY_KEY_TOKEN_LABEL_MAX || s[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

int offpay_key_token_module_ok(const char *s, size_t n)
{
    if (n == 0 || n > OFFPAY_KEY_TOKEN_MODULE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

int offpay_key_token_encode(uint8_t *out, size_t cap, size_t *len, const char *module, const char *label,
                            const uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES])
{
    char hex[2 * OFFPAY_PUBLIC_KEY_BYTES + 1];
    if (!offpay_key_token_module_ok(module, strlen(module)) || !offpay_key_token_label_ok(label, strlen(label)))
        return -1;
    offpay_hex(hex, pk, OFFPAY_PUBLIC_KEY_BYTES);
    int n = snprintf((char *)out, cap, OFFPAY_KEY_TOKEN_MAGIC "\nmodule %s\ntoken %s\nid %s\n", module, label, hex);
    if (n <= 0 || (size_t)n >= cap)
        return -1;
    *len = (size_t)n;
    return 0;
}

/* The value of the line "name VALUE\n" at *p (advanced past it), NUL-ended in
 * out.  Returns its length, or -1 when the line is not that. */
static long line(const char **p, const char *end, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *nlpos;
    if ((size_t)(end - *p) < nl + 1 || memcmp(*p, name, nl) != 0 || (*p)[nl] != ' ')
        return -1;
    *p += nl + 1;
    if ((nlpos = memchr(*p, '\n', (size_t)(end - *p))) == NULL || (size_t)(nlpos - *p) >= cap)
        return -1;
    size_t n = (size_t)(nlpos - *p);
    memcpy(out, *p, n);
    out[n] = '\0';
    *p = nlpos + 1;
    return (long)n;
}

int offpay_key_token_decode(char module[OFFPAY_KEY_TOKEN_MODULE_MAX + 1], char label[OFFPAY_KEY_TOKEN_LABEL_MAX + 1],
                            uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES], const uint8_t *in, size_t len)
{
    const char *p = (const char *)in, *end = p + len;
    char hex[2 * OFFPAY_PUBLIC_KEY_BYTES + 2];
    long ml, ll;
    if (memchr(in, '\0', len) != NULL || len < sizeof OFFPAY_KEY_TOKEN_MAGIC ||
        memcmp(p, OFFPAY_KEY_TOKEN_MAGIC "\n", sizeof OFFPAY_KEY_TOKEN_MAGIC) != 0)
        return -1;
    p += sizeof OFFPAY_KEY_TOKEN_MAGIC;
    if ((ml = line(&p, end, "module", module, OFFPAY_KEY_TOKEN_MODULE_MAX + 1)) < 0 ||
        !offpay_key_token_module_ok(module, (size_t)ml) ||
        (ll = line(&p, end, "token", label, OFFPAY_KEY_TOKEN_LABEL_MAX + 1)) < 0 ||
        !offpay_key_token_label_ok(label, (size_t)ll) ||
        line(&p, end, "id", hex, sizeof hex) != 2 * OFFPAY_PUBLIC_KEY_BYTES || p != end ||
        strspn(hex, "0123456789abcdef") != 2 * OFFPAY_PUBLIC_KEY_BYTES ||
        offpay_unhex(pk, OFFPAY_PUBLIC_KEY_BYTES, hex) != 0)
        return -1;
    return 0;
}

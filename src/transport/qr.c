/*
 * qr.c - QR codes for offpay messages: libqrencode makes the matrix, this file
 * draws it in a terminal or writes it as a PNG (libpng), and zbar reads a
 * picture back.  A picture is hostile input: its size is bounded before any
 * pixel buffer is allocated, and what zbar finds counts only if it decodes as
 * a well-formed offpay message.
 */
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zbar.h>

#include "offpay/protocol.h"
#include "offpay/qr.h"
#include "offpay/text.h"

static const char level_names[] = {[QR_ECLEVEL_L] = 'L', [QR_ECLEVEL_M] = 'M', [QR_ECLEVEL_Q] = 'Q', [QR_ECLEVEL_H] = 'H'};

enum offpay_status offpay_qr_encode(struct offpay_qr *q, const char *text)
{
    static const QRecLevel levels[] = {QR_ECLEVEL_M, QR_ECLEVEL_L};
    memset(q, 0, sizeof *q);
    if (text == NULL || text[0] == '\0')
        return OFFPAY_ERR_USAGE;
    if (strlen(text) > OFFPAY_QR_TEXT_MAX)
        return OFFPAY_ERR_TOO_MANY_ITEMS;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        /* version 0: the smallest that holds the text; QR_MODE_8 with case
         * sensitivity lets libqrencode pick alphanumeric (and numeric) segments
         * for offpay's base32 text, 5.5 bits a character. */
        QRcode *c = QRcode_encodeString(text, 0, levels[i], QR_MODE_8, 1);
        if (c == NULL) {
            if (errno == ERANGE)
                continue;
            return errno == ENOMEM ? OFFPAY_ERR_NOMEM : OFFPAY_ERR_INTERNAL;
        }
        size_t n = (size_t)c->width * (size_t)c->width;
        q->modules = malloc(n);
        if (q->modules == NULL) {
            QRcode_free(c);
            return OFFPAY_ERR_NOMEM;
        }
        for (size_t k = 0; k < n; k++)
            q->modules[k] = c->data[k] & 1; /* bit 0 is "dark"; the rest is libqrencode's bookkeeping */
        q->version = c->version;
        q->width = c->width;
        q->level = level_names[levels[i]];
        QRcode_free(c);
        return OFFPAY_OK;
    }
    return OFFPAY_ERR_TOO_MANY_ITEMS;
}

void offpay_qr_free(struct offpay_qr *q)
{
    if (q == NULL)
        return;
    free(q->modules);
    memset(q, 0, sizeof *q);
}

/* The module at (x, y) of the code with its quiet zone; outside is light. */
static int dark(const struct offpay_qr *q, int x, int y)
{
    x -= OFFPAY_QR_QUIET_ZONE;
    y -= OFFPAY_QR_QUIET_ZONE;
    if (x < 0 || y < 0 || x >= q->width || y >= q->width)
        return 0;
    return q->modules[(size_t)y * (size_t)q->width + (size_t)x];
}

enum offpay_status offpay_qr_print(FILE *out, const struct offpay_qr *q, unsigned flags)
{
    /* index: top drawn << 1 | bottom drawn */
    static const char *const cell[4] = {" ", "\xe2\x96\x84", "\xe2\x96\x80", "\xe2\x96\x88"};
    if (q == NULL || q->modules == NULL)
        return OFFPAY_ERR_USAGE;
    int side = q->width + 2 * OFFPAY_QR_QUIET_ZONE;
    int invert = (flags & OFFPAY_QR_INVERT) && !(flags & OFFPAY_QR_ANSI);
    for (int y = 0; y < side; y += 2) {
        /* Black glyphs on a bright white cell, whatever the terminal's theme. */
        if ((flags & OFFPAY_QR_ANSI) && fputs("\x1b[30;107m", out) == EOF)
            return OFFPAY_ERR_STORAGE;
        for (int x = 0; x < side; x++) {
            int top = dark(q, x, y) ^ invert;
            /* An odd last row has nothing below it: the quiet zone continues. */
            int bottom = (y + 1 < side ? dark(q, x, y + 1) : 0) ^ invert;
            if (fputs(cell[top << 1 | bottom], out) == EOF)
                return OFFPAY_ERR_STORAGE;
        }
        if ((flags & OFFPAY_QR_ANSI) && fputs("\x1b[0m", out) == EOF)
            return OFFPAY_ERR_STORAGE;
        if (fputc('\n', out) == EOF)
            return OFFPAY_ERR_STORAGE;
    }
    return fflush(out) == 0 ? OFFPAY_OK : OFFPAY_ERR_STORAGE;
}

enum offpay_status offpay_qr_write_png(const char *path, const struct offpay_qr *q, unsigned scale)
{
    if (scale == 0)
        scale = OFFPAY_QR_PNG_SCALE;
    if (q == NULL || q->modules == NULL || scale > OFFPAY_QR_PNG_SCALE_MAX || path == NULL)
        return OFFPAY_ERR_USAGE;
    size_t side_modules = (size_t)q->width + 2 * OFFPAY_QR_QUIET_ZONE;
    size_t side = side_modules * scale;
    uint8_t *pix = malloc(side * side);
    if (pix == NULL)
        return OFFPAY_ERR_NOMEM;
    for (size_t y = 0; y < side; y++)
        for (size_t x = 0; x < side; x++)
            pix[y * side + x] = dark(q, (int)(x / scale), (int)(y / scale)) ? 0 : 255;

    enum offpay_status s = OFFPAY_ERR_STORAGE;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (tmp == NULL) {
        free(pix);
        return OFFPAY_ERR_NOMEM;
    }
    /* A fresh temporary name beside path, created with the mode the user's
     * umask gives any new file (mkstemp would force 0600 on the picture). */
    int fd = -1;
    for (unsigned i = 0; i < 100 && fd < 0; i++) {
        uint32_t r;
        offpay_random(&r, sizeof r);
        snprintf(tmp, plen + 32, "%s.tmp-%08x", path, (unsigned)r);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (f == NULL) {
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        goto cleanup;
    }
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)side;
    img.height = (png_uint_32)side;
    img.format = PNG_FORMAT_GRAY;
    int ok = png_image_write_to_stdio(&img, f, 0, pix, 0, NULL);
    png_image_free(&img);
    /* Durable before it is visible under its name. */
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        ok = 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        goto cleanup;
    }
    s = OFFPAY_OK;
cleanup:
    free(tmp);
    free(pix);
    return s;
}

enum offpay_status offpay_qr_text_to_png(const char *path, const char *text, unsigned scale)
{
    struct offpay_qr q;
    enum offpay_status s = offpay_qr_encode(&q, text);
    if (s == OFFPAY_OK)
        s = offpay_qr_write_png(path, &q, scale);
    offpay_qr_free(&q);
    return s;
}

enum offpay_status offpay_qr_text_print(FILE *out, const char *text, unsigned flags)
{
    struct offpay_qr q;
    enum offpay_status s = offpay_qr_encode(&q, text);
    if (s == OFFPAY_OK)
        s = offpay_qr_print(out, &q, flags);
    offpay_qr_free(&q);
    return s;
}

/* 1 if text is the text form of a well-formed offpay message: the right
 * prefix, canonical base32, and a binary its type's strict decoder accepts. */
static int is_offpay_message(const char *text, size_t len)
{
    uint8_t bin[OFFPAY_QR_TEXT_MAX];
    struct offpay_message m;
    size_t n;
    int type;
    if (offpay_text_decode(bin, sizeof bin, &n, &type, 0, text, len) != OFFPAY_OK)
        return 0;
    return offpay_message_decode(&m, bin, n) == OFFPAY_OK;
}

/* Load a PNG as 8-bit grey.  Out: *pix (caller frees), *w, *h. */
static enum offpay_status load_png(uint8_t **pix, unsigned *w, unsigned *h, const char *path)
{
    *pix = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return OFFPAY_ERR_STORAGE;
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    enum offpay_status s = OFFPAY_ERR_MALFORMED;
    if (!png_image_begin_read_from_stdio(&img, f))
        goto done;
    /* Bound the allocation by what the header claims, before reading pixels. */
    if (img.width == 0 || img.height == 0 || img.width > OFFPAY_QR_IMAGE_SIDE_MAX ||
        img.height > OFFPAY_QR_IMAGE_SIDE_MAX)
        goto done;
    img.format = PNG_FORMAT_GRAY;
    *pix = malloc(PNG_IMAGE_SIZE(img));
    if (*pix == NULL) {
        s = OFFPAY_ERR_NOMEM;
        goto done;
    }
    /* A code drawn on a transparent background is read as if on paper. */
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(&img, &white, *pix, 0, NULL)) {
        free(*pix);
        *pix = NULL;
        goto done;
    }
    *w = img.width;
    *h = img.height;
    s = OFFPAY_OK;
done:
    png_image_free(&img);
    fclose(f);
    return s;
}

enum offpay_status offpay_qr_png_scan(char *text, size_t cap, size_t *text_len, const char *path)
{
    uint8_t *pix;
    unsigned w, h;
    if (cap > 0)
        text[0] = '\0';
    *text_len = 0;
    enum offpay_status s = load_png(&pix, &w, &h, path);
    if (s != OFFPAY_OK)
        return s;
    zbar_image_scanner_t *sc = zbar_image_scanner_create();
    zbar_image_t *img = zbar_image_create();
    if (sc == NULL || img == NULL) {
        s = OFFPAY_ERR_NOMEM;
        goto done;
    }
    /* Only QR codes: other symbologies are never offpay messages. */
    zbar_image_scanner_set_config(sc, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
    zbar_image_scanner_set_config(sc, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
    zbar_image_set_format(img, zbar_fourcc('Y', '8', '0', '0'));
    zbar_image_set_size(img, w, h);
    zbar_image_set_data(img, pix, (unsigned long)w * h, NULL);
    s = OFFPAY_ERR_NO_CODE;
    if (zbar_scan_image(sc, img) <= 0)
        goto done;
    for (const zbar_symbol_t *sym = zbar_image_first_symbol(img); sym != NULL; sym = zbar_symbol_next(sym)) {
        if (zbar_symbol_get_type(sym) != ZBAR_QRCODE)
            continue;
        const char *data = zbar_symbol_get_data(sym);
        size_t n = zbar_symbol_get_data_length(sym);
        if (data == NULL || n == 0 || n > OFFPAY_QR_TEXT_MAX || memchr(data, '\0', n) != NULL)
            continue;
        if (!is_offpay_message(data, n))
            continue;
        /* The text form allows a final line break; what we hand on has none. */
        if (n > 0 && data[n - 1] == '\n')
            n--;
        if (n > 0 && data[n - 1] == '\r')
            n--;
        if (n + 1 > cap) {
            s = OFFPAY_ERR_BUFFER_TOO_SMALL;
            goto done;
        }
        memcpy(text, data, n);
        text[n] = '\0';
        *text_len = n;
        s = OFFPAY_OK;
        goto done;
    }
done:
    if (img != NULL)
        zbar_image_destroy(img);
    if (sc != NULL)
        zbar_image_scanner_destroy(sc);
    free(pix);
    return s;
}

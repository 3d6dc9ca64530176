/*
 * qr.h - a message's text form as a QR code: drawn in a terminal, written as
 * a PNG picture, and read back from a picture.
 *
 * Codes are made with libqrencode at error correction level M (15% of the
 * code may be damaged), falling back to L only for the few messages too
 * large for M (a record spending 14 or more coins); docs/transport.md lists
 * the QR version each message needs.  Pictures are written with libpng:
 * black modules on white, OFFPAY_QR_QUIET_ZONE modules of white border, each
 * module a square of scale pixels, which any ordinary scanner reads.  Reading
 * uses zbar on the picture's grey levels.
 */
#ifndef OFFPAY_QR_H
#define OFFPAY_QR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "offpay/crypto.h"
#include "offpay/status.h"

#define OFFPAY_QR_QUIET_ZONE 4       /* modules of white border on every side */
#define OFFPAY_QR_PNG_SCALE 6        /* pixels per module in a written PNG */
#define OFFPAY_QR_PNG_SCALE_MAX 32
/* The most text one QR code holds (version 40, level L, alphanumeric). */
#define OFFPAY_QR_TEXT_MAX 4296
/* The largest picture offpay_qr_png_scan reads (pixels on a side). */
#define OFFPAY_QR_IMAGE_SIDE_MAX 8192

/* A QR code as a square of modules, 1 = dark.  modules[y * width + x]. */
struct offpay_qr {
    int version; /* 1..40 */
    char level;  /* 'L', 'M', 'Q' or 'H' */
    int width;   /* modules on a side, without quiet zone: 17 + 4 * version */
    uint8_t *modules;
};

/*
 * Encode text (NUL-terminated; offpay's text forms use only the QR
 * alphanumeric set, anything else is encoded too) as the smallest QR code at
 * level M, or at L if no level-M code holds it.  Out: q; release with
 * offpay_qr_free.  Returns: OFFPAY_OK, OFFPAY_ERR_TOO_MANY_ITEMS (too long
 * for any QR code), OFFPAY_ERR_USAGE (empty text) or OFFPAY_ERR_NOMEM.
 */
enum offpay_status offpay_qr_encode(struct offpay_qr *q, const char *text) OFFPAY_WARN_UNUSED;

/* Release q's modules and clear q (safe on a cleared or failed q). */
void offpay_qr_free(struct offpay_qr *q);

/* Flags for offpay_qr_print. */
#define OFFPAY_QR_ANSI 0x1u   /* force black on white with ANSI colours (any terminal theme) */
#define OFFPAY_QR_INVERT 0x2u /* without ANSI: draw light modules as blocks (light-on-dark terminals) */

/*
 * Draw q with UTF-8 half blocks (two module rows per text line, the quiet
 * zone included), each line ending in "\n".  Without OFFPAY_QR_ANSI the
 * blocks are the dark modules, as on paper.  Returns: OFFPAY_OK or
 * OFFPAY_ERR_STORAGE when out cannot be written.
 */
enum offpay_status offpay_qr_print(FILE *out, const struct offpay_qr *q, unsigned flags) OFFPAY_WARN_UNUSED;

/*
 * Write q as an 8-bit greyscale PNG to path, atomically (a temporary file
 * renamed into place, so a reader never sees half a picture).  scale: pixels
 * per module, 1..OFFPAY_QR_PNG_SCALE_MAX (0 means OFFPAY_QR_PNG_SCALE).
 * Returns: OFFPAY_OK, OFFPAY_ERR_USAGE (bad scale) or OFFPAY_ERR_STORAGE.
 */
enum offpay_status offpay_qr_write_png(const char *path, const struct offpay_qr *q, unsigned scale) OFFPAY_WARN_UNUSED;

/* Encode text and write it as a PNG in one step (see above). */
enum offpay_status offpay_qr_text_to_png(const char *path, const char *text, unsigned scale) OFFPAY_WARN_UNUSED;

/* Encode text and draw it on out in one step (see above). */
enum offpay_status offpay_qr_text_print(FILE *out, const char *text, unsigned flags) OFFPAY_WARN_UNUSED;

/*
 * Read the PNG at path (any colour type; transparency is laid on white) and
 * find the first QR code in it whose content is an offpay message in text
 * form (offpay_text_decode accepts it).  Out: text (NUL-terminated, at most
 * cap - 1 characters), *text_len.  Returns: OFFPAY_OK; OFFPAY_ERR_STORAGE
 * (cannot open path); OFFPAY_ERR_MALFORMED (not a readable PNG, or larger
 * than OFFPAY_QR_IMAGE_SIDE_MAX); OFFPAY_ERR_NO_CODE (no QR code holds an
 * offpay message); OFFPAY_ERR_BUFFER_TOO_SMALL.
 */
enum offpay_status offpay_qr_png_scan(char *text, size_t cap, size_t *text_len, const char *path) OFFPAY_WARN_UNUSED;

#endif

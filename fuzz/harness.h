/*
 * harness.h - what every fuzz harness checks: a decoder either refuses its
 * input or accepts it canonically, i.e. encoding what it decoded gives back
 * exactly the input.  Anything else (a crash, a sanitizer report, a
 * non-canonical acceptance) aborts, which libFuzzer and the replay test both
 * report as a failure.
 */
#ifndef OFFPAY_FUZZ_HARNESS_H
#define OFFPAY_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offpay/protocol.h"
#include "offpay/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort unless out[0..out_len) == in[0..in_len). */
static inline void fuzz_same(const char *what, const uint8_t *in, size_t in_len, const uint8_t *out, size_t out_len)
{
    if (out_len != in_len || (in_len > 0 && memcmp(in, out, in_len) != 0)) {
        fprintf(stderr, "%s: accepted %zu bytes but re-encodes to %zu different bytes\n", what, in_len, out_len);
        abort();
    }
}

/* A key no message is signed with: verification must run and fail cleanly. */
static const uint8_t fuzz_key[OFFPAY_PUBLIC_KEY_BYTES] = {1};

#endif

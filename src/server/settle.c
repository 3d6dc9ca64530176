/*
 * settle.c - settlement of payment records (SPEC rules 6-8).
 */
#include <stdlib.h>

#include "internal.h"

struct cert_cache {
    int unused;
};

struct cert_cache *cert_cache_new(void) { return calloc(1, sizeof(struct cert_cache)); }
void cert_cache_free(struct cert_cache *c) { free(c); }

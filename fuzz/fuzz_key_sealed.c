/*
 * fuzz_key_sealed.c - libFuzzer harness for the key.sealed decoder
 * (offpay_sealed_key_check, src/keys/sealed.c): it refuses its input, or
 * accepts exactly a sealed key's size with the magic, version 1 and costs
 * within bounds.  Opening refuses what the check refuses, with the same
 * status and before any Argon2id work; an accepted file with the cheapest
 * costs is opened too (the fuzzer stays fast): a tag that does not verify is
 * "key unavailable", and the seed stays all zero whenever opening fails.
 */
#include <sodium.h>

#include "harness.h"
#include "offpay/sealed.h"

#define PASSPHRASE "fuzz passphrase"
/* Opening runs Argon2id at the file's costs: only these cheap ones here. */
#define CHEAP_OPS 2u
#define CHEAP_MEM (64u << 10)

static uint64_t get_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void opened(enum offpay_status want, const uint8_t *data, size_t size)
{
    uint8_t seed[OFFPAY_SEED_BYTES], zero[OFFPAY_SEED_BYTES] = {0};
    enum offpay_status s = offpay_sealed_key_open(seed, data, size, PASSPHRASE);
    if (s == OFFPAY_OK && want == OFFPAY_ERR_KEY_UNAVAILABLE)
        return; /* sealed under this passphrase: a seed it may be */
    if (s != want || memcmp(seed, zero, sizeof seed) != 0) {
        fprintf(stderr, "key.sealed: opening answered %d (want %d)\n", (int)s, (int)want);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum offpay_status s;
    if (offpay_crypto_init() != 0)
        abort();
    if ((s = offpay_sealed_key_check(data, size)) != OFFPAY_OK) {
        opened(s, data, size);
        return 0;
    }
    size_t magic = sizeof OFFPAY_SEALED_KEY_MAGIC - 1;
    if (size != OFFPAY_SEALED_KEY_BYTES || memcmp(data, OFFPAY_SEALED_KEY_MAGIC, magic) != 0 ||
        data[magic] != OFFPAY_SEALED_KEY_VERSION)
        abort();
    uint64_t ops = get_be(data + magic + 1, 4), mem = get_be(data + magic + 5, 8);
    if (ops < crypto_pwhash_argon2id_OPSLIMIT_MIN || ops > OFFPAY_SEALED_KEY_OPSLIMIT_MAX ||
        mem < crypto_pwhash_argon2id_MEMLIMIT_MIN || mem > OFFPAY_SEALED_KEY_MEMLIMIT_MAX || mem % 1024 != 0)
        abort();
    if (ops <= CHEAP_OPS && mem <= CHEAP_MEM)
        opened(OFFPAY_ERR_KEY_UNAVAILABLE, data, size);
    return 0;
}

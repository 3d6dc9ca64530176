/*
 * test_sealed.c - the sealed key format (include/offpay/sealed.h,
 * docs/wallet.md "A passphrase"): a file built here byte by byte from the
 * documented layout opens; every rule of the decoder rejects what it
 * should; any byte changed, or a wrong passphrase, does not open; sealing
 * writes the documented header, and resealing moves the seed to the new
 * passphrase.  Files built here use Argon2id's lowest costs so that the
 * byte-by-byte checks stay fast; the format carries its costs.
 */
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "offpay/sealed.h"

#define N OFFPAY_SEALED_KEY_BYTES

static const uint8_t seed[OFFPAY_SEED_BYTES] = "a seed of exactly thirty-two b.";

static void put_be(uint8_t *p, size_t n, uint64_t v)
{
    for (size_t i = n; i-- > 0; v >>= 8)
        p[i] = (uint8_t)v;
}

/* A sealed key as docs/wallet.md lays it out, with the given costs. */
static void build(uint8_t out[N], const char *pass, uint32_t ops, uint64_t mem)
{
    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    memcpy(out, "offpaysk", 8);
    out[8] = 1;
    put_be(out + 9, 4, ops);
    put_be(out + 13, 8, mem);
    memset(out + 21, 0x5a, 16); /* salt */
    memset(out + 37, 0xa5, 24); /* nonce */
    CHECK(crypto_pwhash_argon2id(key, sizeof key, pass, strlen(pass), out + 21, ops, (size_t)mem,
                                 crypto_pwhash_argon2id_ALG_ARGON2ID13) == 0);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + 61, NULL, seed, sizeof seed, out, 61, NULL, out + 37, key);
}

static void opens(const uint8_t *f, size_t n, const char *pass, enum offpay_status want)
{
    uint8_t got[OFFPAY_SEED_BYTES];
    memset(got, 0xff, sizeof got);
    CHECK_STATUS(offpay_sealed_key_open(got, f, n, pass), want);
    if (want == OFFPAY_OK) {
        CHECK_MEM(got, seed, sizeof seed);
    } else {
        static const uint8_t zero[OFFPAY_SEED_BYTES];
        CHECK_MEM(got, zero, sizeof zero); /* nothing of a seed on failure */
    }
}

int main(void)
{
    uint8_t f[N + 1], g[N], h[N];
    const uint64_t mem_min = crypto_pwhash_argon2id_MEMLIMIT_MIN;

    CHECK(sodium_init() >= 0);
    CHECK_U64(N, 109);

    /* The documented layout opens, with the right passphrase only. */
    build(f, "right", 1, mem_min);
    opens(f, N, "right", OFFPAY_OK);
    opens(f, N, "wrong", OFFPAY_ERR_KEY_UNAVAILABLE);
    opens(f, N, "righ", OFFPAY_ERR_KEY_UNAVAILABLE);

    /* Any byte changed: a decoding failure or a tag that fails, never the seed. */
    for (size_t i = 0; i < N; i++) {
        memcpy(g, f, N);
        g[i] ^= 0x01;
        uint8_t got[OFFPAY_SEED_BYTES];
        CHECK(offpay_sealed_key_open(got, g, N, "right") != OFFPAY_OK);
    }

    /* The decoder's rules. */
    CHECK_STATUS(offpay_sealed_key_check(f, N), OFFPAY_OK);
    CHECK_STATUS(offpay_sealed_key_check(f, N - 1), OFFPAY_ERR_TRUNCATED);
    CHECK_STATUS(offpay_sealed_key_check(f, 0), OFFPAY_ERR_TRUNCATED);
    f[N] = 0;
    CHECK_STATUS(offpay_sealed_key_check(f, N + 1), OFFPAY_ERR_TRAILING_BYTES);
    opens(f, N + 1, "right", OFFPAY_ERR_TRAILING_BYTES);
    memcpy(g, f, N);
    g[0] = 'O';
    CHECK_STATUS(offpay_sealed_key_check(g, N), OFFPAY_ERR_MALFORMED);
    memcpy(g, f, N);
    g[8] = 2;
    CHECK_STATUS(offpay_sealed_key_check(g, N), OFFPAY_ERR_BAD_VERSION);
    static const struct {
        uint32_t ops;
        uint64_t mem;
        enum offpay_status want;
    } costs[] = {
        {0, 1u << 20, OFFPAY_ERR_MALFORMED},
        {OFFPAY_SEALED_KEY_OPSLIMIT_MAX, 1u << 20, OFFPAY_OK},
        {OFFPAY_SEALED_KEY_OPSLIMIT_MAX + 1, 1u << 20, OFFPAY_ERR_MALFORMED},
        {0xffffffffu, 1u << 20, OFFPAY_ERR_MALFORMED},
        {1, crypto_pwhash_argon2id_MEMLIMIT_MIN - 1024, OFFPAY_ERR_MALFORMED},
        {1, crypto_pwhash_argon2id_MEMLIMIT_MIN + 1, OFFPAY_ERR_MALFORMED}, /* not whole KiB */
        {1, OFFPAY_SEALED_KEY_MEMLIMIT_MAX, OFFPAY_OK},
        {1, OFFPAY_SEALED_KEY_MEMLIMIT_MAX + 1024, OFFPAY_ERR_MALFORMED},
        {1, UINT64_MAX, OFFPAY_ERR_MALFORMED},
    };
    for (size_t i = 0; i < sizeof costs / sizeof costs[0]; i++) {
        memcpy(g, f, N);
        put_be(g + 9, 4, costs[i].ops);
        put_be(g + 13, 8, costs[i].mem);
        CHECK_STATUS(offpay_sealed_key_check(g, N), costs[i].want);
    }

    /* Sealing writes the documented header with offpay's costs, and opens. */
    CHECK_STATUS(offpay_sealed_key_seal(g, seed, "correct horse"), OFFPAY_OK);
    CHECK_MEM(g, "offpaysk\x01", 9);
    CHECK_MEM(g + 9, "\x00\x00\x00\x02", 4);
    CHECK_MEM(g + 13, "\x00\x00\x00\x00\x04\x00\x00\x00", 8); /* 64 MiB */
    opens(g, N, "correct horse", OFFPAY_OK);
    opens(g, N, "correct horsf", OFFPAY_ERR_KEY_UNAVAILABLE);
    CHECK_STATUS(offpay_sealed_key_seal(h, seed, "correct horse"), OFFPAY_OK);
    CHECK(memcmp(g + 21, h + 21, N - 21) != 0); /* a fresh salt and nonce each time */

    /* Resealing: the wrong old passphrase changes nothing; the right one moves the seed. */
    CHECK_STATUS(offpay_sealed_key_reseal(h, f, N, "wrong", "new"), OFFPAY_ERR_KEY_UNAVAILABLE);
    static const uint8_t zero[N];
    CHECK_MEM(h, zero, N);
    CHECK_STATUS(offpay_sealed_key_reseal(h, f, N, "right", "new"), OFFPAY_OK);
    opens(h, N, "new", OFFPAY_OK);
    opens(h, N, "right", OFFPAY_ERR_KEY_UNAVAILABLE);
    return 0;
}

/*
 * fixture.h - one fixed world for the core tests, the fuzz corpus generator
 * and the benchmark: an issuer, a payer, a payee and a stranger with keys
 * from fixed seeds, the [0072] coins (1000/2000/3000/4000) owned by the
 * payer, and one complete handshake paying 3500.  Everything is derived
 * deterministically (Ed25519 signatures are deterministic), so the encodings
 * are fixed bytes that tests/core/test_vectors.c and docs/wire-format.md pin.
 */
#ifndef OFFPAY_TESTS_FIXTURE_H
#define OFFPAY_TESTS_FIXTURE_H

#include "offpay/protocol.h"
#include "offpay/text.h"

/* 2026-01-01T00:00:00Z: "now" for every check in the fixture. */
#define FX_NOW UINT64_C(1767225600)
#define FX_DAY UINT64_C(86400)
#define FX_N_REVOKED 3

struct fx {
    uint8_t issuer_pk[OFFPAY_PUBLIC_KEY_BYTES], issuer_sk[OFFPAY_SECRET_KEY_BYTES];
    uint8_t payer_pk[OFFPAY_PUBLIC_KEY_BYTES], payer_sk[OFFPAY_SECRET_KEY_BYTES];
    uint8_t payee_pk[OFFPAY_PUBLIC_KEY_BYTES], payee_sk[OFFPAY_SECRET_KEY_BYTES];
    uint8_t other_pk[OFFPAY_PUBLIC_KEY_BYTES], other_sk[OFFPAY_SECRET_KEY_BYTES];
    struct offpay_cert payer, payee, other;
    struct offpay_utxo coins[4];          /* 1000, 2000, 3000, 4000, owned by payer */
    struct offpay_request req;            /* payee asks 3500 */
    struct offpay_record rec;             /* payer spends coins[3]: 3500 + change 500 */
    uint8_t rec_id[OFFPAY_RECORD_ID_BYTES];
    struct offpay_confirmation conf;      /* payee confirms rec */
    struct offpay_refusal refusal;        /* payee refuses rec (declined) */
    uint8_t revoked_ids[FX_N_REVOKED * OFFPAY_WALLET_ID_BYTES];
    struct offpay_revocation revocation;  /* names none of payer, payee, other */
    struct offpay_limits_policy policy;   /* for the payer */
    struct offpay_stamp stamp;            /* the payer synced a day before FX_NOW */
    struct offpay_record rec_stamped;     /* rec, carrying stamp (a type-10 record) */
};

/* Fill the fixture; payer_account names the payer's account ("alice" if NULL).
 * Exits with a message if any step fails (the fixture is never half-built). */
void fx_init(struct fx *f, const char *payer_account);

/* Out: seed = the fixed seed with this label (bytes label, label+1, ...). */
void fx_seed(uint8_t seed[OFFPAY_SEED_BYTES], uint8_t label);

/* One entry per message type: decode in and, when that succeeds, encode the
 * decoded struct again into out (the canonical round trip every decoder must
 * pass).  Returns: the decoder's status; *out_len is 0 unless OFFPAY_OK. */
struct fx_codec {
    const char *name; /* "cert", "utxo", ...: also the fuzz corpus folder */
    int type;         /* enum offpay_msg_type */
    enum offpay_status (*roundtrip)(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len);
};
#define FX_N_CODECS 9
extern const struct fx_codec fx_codecs[FX_N_CODECS];

/* Out: out = the fixture's message of this type, encoded (a record: the
 * type-4 one; OFFPAY_MSG_RECORD_STAMPED: the type-10 one).  Returns: its length. */
size_t fx_encode(const struct fx *f, int type, uint8_t *out, size_t out_cap);

/* Returns: a static buffer with the hex of n bytes (for messages on failure). */
const char *fx_hex(const uint8_t *b, size_t n);

#endif

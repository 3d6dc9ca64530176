/*
 * messages.c - canonical binary encoding of every offpay message.
 *
 * Writers append to a bounded buffer and remember overflow; readers consume a
 * bounded buffer and remember the first error.  Both are checked once at the
 * end, which keeps each message's code a flat list of its fields in wire
 * order: the same order docs/wire-format.md documents.
 */
#include <string.h>

#include "offpay/messages.h"

struct writer {
    uint8_t *p;
    size_t cap, len;
    int bad;
};

static void w_bytes(struct writer *w, const void *b, size_t n)
{
    if (w->bad || n > w->cap - w->len) {
        w->bad = 1;
        return;
    }
    memcpy(w->p + w->len, b, n);
    w->len += n;
}

static void w_u8(struct writer *w, uint8_t v) { w_bytes(w, &v, 1); }

static void w_u32(struct writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    w_bytes(w, b, 4);
}

static void w_u64(struct writer *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    w_bytes(w, b, 8);
}

static void w_header(struct writer *w, uint8_t type)
{
    w_u8(w, OFFPAY_WIRE_VERSION);
    w_u8(w, type);
}

struct reader {
    const uint8_t *p;
    size_t len, pos;
    enum offpay_status err;
};

static void r_fail(struct reader *r, enum offpay_status s)
{
    if (r->err == OFFPAY_OK)
        r->err = s;
}

static const uint8_t *r_take(struct reader *r, size_t n)
{
    if (r->err != OFFPAY_OK)
        return NULL;
    if (n > r->len - r->pos) {
        r_fail(r, OFFPAY_ERR_TRUNCATED);
        return NULL;
    }
    const uint8_t *at = r->p + r->pos;
    r->pos += n;
    return at;
}

static void r_bytes(struct reader *r, void *out, size_t n)
{
    const uint8_t *at = r_take(r, n);
    if (at)
        memcpy(out, at, n);
}

static uint8_t r_u8(struct reader *r)
{
    const uint8_t *at = r_take(r, 1);
    return at ? at[0] : 0;
}

static uint32_t r_u32(struct reader *r)
{
    const uint8_t *at = r_take(r, 4);
    if (!at)
        return 0;
    return (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 | (uint32_t)at[2] << 8 | at[3];
}

static uint64_t r_u64(struct reader *r)
{
    const uint8_t *at = r_take(r, 8);
    uint64_t v = 0;
    if (!at)
        return 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | at[i];
    return v;
}

/* A positive amount. */
static uint64_t r_amount(struct reader *r)
{
    uint64_t v = r_u64(r);
    if (r->err == OFFPAY_OK && v == 0)
        r_fail(r, OFFPAY_ERR_ZERO_AMOUNT);
    return v;
}

static void r_header(struct reader *r, uint8_t type)
{
    if (r->len < 2) {
        r_fail(r, OFFPAY_ERR_TRUNCATED);
        return;
    }
    if (r_u8(r) != OFFPAY_WIRE_VERSION) {
        r_fail(r, OFFPAY_ERR_BAD_VERSION);
        return;
    }
    if (r_u8(r) != type)
        r_fail(r, OFFPAY_ERR_WRONG_TYPE);
}

static enum offpay_status r_finish(struct reader *r)
{
    if (r->err == OFFPAY_OK && r->pos != r->len)
        r_fail(r, OFFPAY_ERR_TRAILING_BYTES);
    return r->err;
}

static size_t w_finish(const struct writer *w) { return w->bad ? 0 : w->len; }

int offpay_account_name_valid(const char *name)
{
    size_t n = 0;
    if (name == NULL)
        return 0;
    for (; name[n] != '\0'; n++) {
        char c = name[n];
        if (n >= OFFPAY_ACCOUNT_MAX)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return n >= 1;
}

int offpay_message_type(const uint8_t *in, size_t in_len)
{
    if (in == NULL || in_len < 2 || in[0] != OFFPAY_WIRE_VERSION)
        return 0;
    return in[1] == OFFPAY_MSG_RECORD_STAMPED ? OFFPAY_MSG_RECORD : in[1];
}

/* ---- certificate ---- */

static void put_cert(struct writer *w, const struct offpay_cert *c)
{
    size_t n = strnlen(c->account, sizeof c->account);
    /* Encode only what the decoder accepts, so encode then decode is lossless. */
    if (!offpay_account_name_valid(c->account) || c->not_after < c->not_before) {
        w->bad = 1;
        return;
    }
    w_header(w, OFFPAY_MSG_CERT);
    w_bytes(w, c->wallet_id, sizeof c->wallet_id);
    w_bytes(w, c->public_key, sizeof c->public_key);
    w_u64(w, c->not_before);
    w_u64(w, c->not_after);
    w_u8(w, (uint8_t)n);
    w_bytes(w, c->account, n);
    w_bytes(w, c->issuer_sig, sizeof c->issuer_sig);
}

static void get_cert(struct reader *r, struct offpay_cert *c)
{
    r_header(r, OFFPAY_MSG_CERT);
    r_bytes(r, c->wallet_id, sizeof c->wallet_id);
    r_bytes(r, c->public_key, sizeof c->public_key);
    c->not_before = r_u64(r);
    c->not_after = r_u64(r);
    uint8_t n = r_u8(r);
    if (r->err == OFFPAY_OK && (n == 0 || n > OFFPAY_ACCOUNT_MAX)) {
        r_fail(r, OFFPAY_ERR_BAD_ACCOUNT_NAME);
        return;
    }
    r_bytes(r, c->account, n);
    c->account[r->err == OFFPAY_OK ? n : 0] = '\0';
    /* strlen catches a NUL inside the name: "al\0ce" must not decode to "al",
     * or two encodings would share one struct. */
    if (r->err == OFFPAY_OK && (strlen(c->account) != n || !offpay_account_name_valid(c->account)))
        r_fail(r, OFFPAY_ERR_BAD_ACCOUNT_NAME);
    if (r->err == OFFPAY_OK && c->not_after < c->not_before)
        r_fail(r, OFFPAY_ERR_MALFORMED);
    r_bytes(r, c->issuer_sig, sizeof c->issuer_sig);
}

size_t offpay_cert_encode(uint8_t *out, size_t out_cap, const struct offpay_cert *c)
{
    struct writer w = {out, out_cap, 0, 0};
    put_cert(&w, c);
    return w_finish(&w);
}

enum offpay_status offpay_cert_decode(struct offpay_cert *c, const uint8_t *in, size_t in_len)
{
    struct reader r = {in, in_len, 0, OFFPAY_OK};
    memset(c, 0, sizeof *c);
    get_cert(&r, c);
    enum offpay_status s = r_finish(&r);
    if (s != OFFPAY_OK)
        memset(c, 0, sizeof *c);
    return s;
}

/* ---- attested UTXO ---- */

static void put_utxo(struct writer *w, const struct offpay_utxo *u)
{
    if (u->amount == 0) {
        w->bad = 1;
        return;
    }
    w_header(w, OFFPAY_MSG_UTXO);
    w_bytes(w, u->id, sizeof u->id);
    w_bytes(w, u->owner, sizeof u->owner);
    w_u64(w, u->amount);
    w_bytes(w, u->issuer_sig, sizeof u->issuer_sig);
}

static void get_utxo(struct reader *r, struct offpay_utxo *u)
{
    r_header(r, OFFPAY_MSG_UTXO);
    r_bytes(r, u->id, sizeof u->id);
    r_bytes(r, u->owner, sizeof u->owner);
    u->amount = r_amount(r);
    r_bytes(r, u->issuer_sig, sizeof u->issuer_sig);
}

size_t offpay_utxo_encode(uint8_t *out, size_t out_cap, const struct offpay_utxo *u)
{
    struct writer w = {out, out_cap, 0, 0};
    put_utxo(&w, u);
    return w_finish(&w);
}

enum offpay_status offpay_utxo_decode(struct offpay_utxo *u, const uint8_t *in, size_t in_len)
{
    struct reader r = {in, in_len, 0, OFFPAY_OK};
    memset(u, 0, sizeof *u);
    get_utxo(&r, u);
    enum offpay_status s = r_finish(&r);
    if (s != OFFPAY_OK)
        memset(u, 0, sizeof *u);
    return s;
}

/* ---- sync stamp ---- */

static void put_stamp(struct writer *w, const struct offpay_stamp *st)
{
    w_header(w, OFFPAY_MSG_STAMP);
    w_bytes(w, st->wallet_id, sizeof st->wallet_id);
    w_u64(w, st->synced_at);
    w_bytes(w, st->issuer_sig, sizeof st->issuer_sig);
}

static void get_stamp(struct reader *r, struct offpay_stamp *st)
{
    r_header(r, OFFPAY_MSG_STAMP);
    r_bytes(r, st->wallet_id, sizeof st->wallet_id);
    st->synced_at = r_u64(r);
    r_bytes(r, st->issuer_sig, sizeof st->issuer_sig);
}

size_t offpay_stamp_encode(uint8_t *out, size_t out_cap, const struct offpay_stamp *st)
{
    struct writer w = {out, out_cap, 0, 0};
    put_stamp(&w, st);
    return w_finish(&w);
}

enum offpay_status offpay_stamp_decode(struct offpay_stamp *st, const uint8_t *in, size_t in_len)
{
    struct reader r = {in, in_len, 0, OFFPAY_OK};
    memset(st, 0, sizeof *st);
    get_stamp(&r, st);
    enum offpay_status s = r_finish(&r);
    if (s != OFFPAY_OK)
        memset(st, 0, sizeof *st);
    return s;
}

/* ---- payment request ---- */

size_t offpay_request_encode(uint8_t *out, size_t out_cap, const struct offpay_request *q)
{
    struct writer w = {out, out_cap, 0, 0};
    if (q->amount == 0)
        return 0;
    w_header(&w, OFFPAY_MSG_REQUEST);
    put_cert(&w, &q->payee);
    w_u64(&w, q->amount);
    w_bytes(&w, q->nonce, sizeof q->nonce);
    w_bytes(&w, q->sig, sizeof q->sig);
    return w_finish(&w);
}

enum offpay_status offpay_request_decode(struct offpay_request *q, const uint8_t *in, size_t in_len)
{
    struct reader r = {in, in_len, 0, OFFPAY_OK};
    memset(q, 0, sizeof *q);
    r_header(&r, OFFPAY_MSG_REQUEST);
    get_cert(&r, &q->payee);
    q->amount = r_amount(&r);
    r_bytes(&r, q->nonce, sizeof q->nonce);
    r_bytes(&r, q->sig, sizeof q->sig);
    enum offpay_status s = r_finish(&r);
    if (s != OFFPAY_OK)
        memset(q, 0, sizeof *q);
    return s;
}

/* ---- payment record ---- */

size_t offpay_record_encode(uint8_t *out, size_t out_cap, const struct offpay_record *rec)
{
    struct writer w = {out, out_cap, 0, 0};
    if (rec->payee_amount == 0 || rec->seq == 0 || rec->n_inputs == 0 || rec->n_inputs > OFFPAY_RECORD_INPUTS_MAX ||
        rec->has_stamp > 1)
        return 0;
    /* Sums the decoder refuses as overflowing are not encoded either. */
    if (rec->payee_amount > UINT64_MAX - rec->change_amount)
        return 0;
    uint64_t in_sum = 0;
    for (unsigned i = 0; i < rec->n_inputs; i++) {
        if (rec->inputs[i].amount > UINT64_MAX - in_sum)
            return 0;
        in_sum += rec->inputs[i].amount;
    }
    w_header(&w, rec->has_stamp ? OFFPAY_MSG_RECORD_STAMPED : OFFPAY_MSG_RECORD);
    put_cert(&w, &rec->payer);
    if (rec->has_stamp)
        put_stamp(&w, &rec->stamp);
    w_bytes(&w, rec->payee_key, sizeof rec->payee_key);
    w_bytes(&w, rec->nonce, sizeof rec->nonce);
    w_u64(&w, rec->created);
    w_u64(&w, rec->seq);
    w_u64(&w, rec->payee_amount);
    w_u64(&w, rec->change_amount);
    w_u8(&w, rec->n_inputs);
    for (unsigned i = 0; i < rec->n_inputs; i++)
        put_utxo(&w, &rec->inputs[i]);
    w_bytes(&w, rec->sig, sizeof rec->sig);
    return w_finish(&w);
}

enum offpay_status offpay_record_decode(struct offpay_record *rec, const uint8_t *in, size_t in_len)
{
    struct reader r = {in, in_len, 0, OFFPAY_OK};
    memset(rec, 0, sizeof *rec);
    /* Two forms, told by the type byte: 10 carries the payer's sync stamp. */
    rec->has_stamp = in_len >= 2 && in[1] == OFFPAY_MSG_RECORD_STAMPED;
    r_header(&r, rec->has_stamp ? OFFPAY_MSG_RECORD_STAMPED : OFFPAY_MSG_RECORD);
    get_cert(&r, &rec->payer);
    if (rec->has_stamp)
        get_stamp(&r, &rec->stamp);
    r_bytes(&r, rec->payee_key, sizeof rec->payee_key);
    r_bytes(&r, rec->nonce, sizeof rec->nonce);
    rec->created = r_u64(&r);
    rec->seq = r_u64(&r);
    if (r.err == OFFPAY_OK && rec->seq == 0)
        r_fail(&r, OFFPAY_ERR_MALFORMED);
    rec->payee_amount = r_amount(&r);
    rec->change_amount = r_u64(&r);
    rec->n_inputs = r_u8(&r);
    if (r.err == OFFPAY_OK && rec->n_inputs == 0)
        r_fail(&r, OFFPAY_ERR_MALFORMED);
    if (r.err == OFFPAY_OK && rec->n_inputs > OFFPAY_RECORD_INPUTS_MAX)
        r_fail(&r, OFFPAY_ERR_TOO_MANY_ITEMS);
    for (unsigned i = 0; r.err == OFFPAY_OK && i < rec->n_inputs; i++)
        get_utxo(&r, &rec->inputs[i]);
    /* The outputs must not overflow: checked here so no later sum can wrap. */
    if (r.err == OFFPAY_OK && rec->payee_amount > UINT64_MAX - rec->change_amount)
        r_fail(&r, OFFPAY_ERR_AMOUNT_OVERFLOW);
    uint64_t in_sum = 0;
    for (unsigned i = 0; r.err == OFFPAY_OK && i < rec->n_inputs; i++) {
        if (rec->inputs[i].amount > UINT64_MAX - in_sum)
            r_fail(&r, OFFPAY_ERR_AMOUNT_OVERFLOW);
        in_sum += rec->inputs[i].amount;
    }
    r_bytes(&r, rec->sig, sizeof rec->sig);
    enum offpay_status s = r_finish(&r);
    if (s != OFFPAY_OK)
        memset(rec, 0, sizeof *rec);
    return s;
}

/* ---- confirmation ---- */

size_t offpay_confirmation_encode(uint8_t *out, size_t out_cap, const struct offpay_confirmation *c)
{
    struct writer w = {out, out_cap, 0, 0};
    w_header(&w, OFFPAY_MSG_CONFIRMATION);
    w_bytes(&w, c->record_id, sizeof c->record_id);
    put_cert(&w, &c->payee);
    w_bytes(&w, c->sig, sizeof c->sig);
    return w_finish(&w);
}

enum offpay_status offpay_confirmation_decode(struct offpay_confirmation *c, const uint8_t *in, size_t in_len)
{
    struct reader r = {in, in_len, 0, OFFPAY_OK};
    memset(c, 0, sizeof *c);
    r_header(&r, OFFPAY_MSG_CONFIRMATION);
    r_bytes(&r, c->record_id, sizeof c->record_id);
    get_cert(&r, &c->payee);
    r_bytes(&r, c->sig, sizeof c->sig);
    enum offpay_status s = r_finish(&r);
    if (s != OFFPAY_OK)
        memset(c, 0, sizeof *c);
    return s;
}

/* ---- refusal ---- */

size_t offpay_refusal_encode(uint8_t *out, size_t out_cap, const struct offpay_refusal *f)
{
    struct writer w = {out, out_cap, 0, 0};
    if (f->reason == 0 || f->reason > OFFPAY_REFUSE_REASON_MAX_)
        return 0;
    w_header(&w, OFFPAY_MSG_REFUSAL);
    w_bytes(&w, f->record_id, sizeof f->record_id);
    w_u8(&w, f->reason);
    w_bytes(&w, f->sig, sizeof f->sig);
    return w_finish(&w);
}

enum offpay_status offpay_refusal_decode(struct offpay_refusal *f, const uint8_t *in, size_t in_len)
{
    struct reader r = {in, in_len, 0, OFFPAY_OK};
    memset(f, 0, sizeof *f);
    r_header(&r, OFFPAY_MSG_REFUSAL);
    r_bytes(&r, f->record_id, sizeof f->record_id);
    f->reason = r_u8(&r);
    if (r.err == OFFPAY_OK && (f->reason == 0 || f->reason > OFFPAY_REFUSE_REASON_MAX_))
        r_fail(&r, OFFPAY_ERR_MALFORMED);
    r_bytes(&r, f->sig, sizeof f->sig);
    enum offpay_status s = r_finish(&r);
    if (s != OFFPAY_OK)
        memset(f, 0, sizeof *f);
    return s;
}

/* ---- revocation list ---- */

static int ids_ascending(const uint8_t *ids, uint32_t count)
{
    for (uint32_t i = 1; i < count; i++)
        if (memcmp(ids + (size_t)(i - 1) * OFFPAY_WALLET_ID_BYTES, ids + (size_t)i * OFFPAY_WALLET_ID_BYTES,
                   OFFPAY_WALLET_ID_BYTES) >= 0)
            return 0;
    return 1;
}

size_t offpay_revocation_encode(uint8_t *out, size_t out_cap, const struct offpay_revocation *v)
{
    struct writer w = {out, out_cap, 0, 0};
    if (v->count > OFFPAY_REVOCATION_MAX || (v->count > 0 && v->ids == NULL) || !ids_ascending(v->ids, v->count))
        return 0;
    w_header(&w, OFFPAY_MSG_REVOCATION);
    w_u64(&w, v->serial);
    w_u64(&w, v->issued_at);
    w_u32(&w, v->count);
    if (v->count > 0)
        w_bytes(&w, v->ids, (size_t)v->count * OFFPAY_WALLET_ID_BYTES);
    w_bytes(&w, v->sig, sizeof v->sig);
    return w_finish(&w);
}

enum offpay_status offpay_revocation_decode(struct offpay_revocation *v, const uint8_t *in, size_t in_len)
{
    struct reader r = {in, in_len, 0, OFFPAY_OK};
    memset(v, 0, sizeof *v);
    r_header(&r, OFFPAY_MSG_REVOCATION);
    v->serial = r_u64(&r);
    v->issued_at = r_u64(&r);
    v->count = r_u32(&r);
    if (r.err == OFFPAY_OK && v->count > OFFPAY_REVOCATION_MAX)
        r_fail(&r, OFFPAY_ERR_TOO_MANY_ITEMS);
    /* The count is bounded before it is multiplied; r_take bounds it by the input. */
    v->ids = r.err == OFFPAY_OK ? r_take(&r, (size_t)v->count * OFFPAY_WALLET_ID_BYTES) : NULL;
    if (r.err == OFFPAY_OK && !ids_ascending(v->ids, v->count))
        r_fail(&r, OFFPAY_ERR_NOT_CANONICAL);
    r_bytes(&r, v->sig, sizeof v->sig);
    enum offpay_status s = r_finish(&r);
    if (s != OFFPAY_OK)
        memset(v, 0, sizeof *v);
    return s;
}

int offpay_revocation_contains(const struct offpay_revocation *v, const uint8_t id[OFFPAY_WALLET_ID_BYTES])
{
    if (v == NULL || v->ids == NULL)
        return 0;
    size_t lo = 0, hi = v->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(v->ids + mid * OFFPAY_WALLET_ID_BYTES, id, OFFPAY_WALLET_ID_BYTES);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* ---- limits policy ---- */

static int money_is_default(const struct offpay_money *m)
{
    return m->code[0] == '\0' && m->exponent == 0;
}

/* Valid money that is not the default: the money form's. */
static int money_is_explicit(const struct offpay_money *m)
{
    return offpay_currency_code_valid(m->code) && m->exponent <= OFFPAY_MONEY_EXPONENT_MAX &&
           !(strcmp(m->code, OFFPAY_MONEY_DEFAULT_CODE) == 0 && m->exponent == OFFPAY_MONEY_DEFAULT_EXPONENT);
}

int offpay_limits_policy_money_set(struct offpay_limits_policy *p, const struct offpay_money *m)
{
    struct offpay_money c;
    memset(&c, 0, sizeof c);
    if (m != NULL) {
        if (!offpay_currency_code_valid(m->code) || m->exponent > OFFPAY_MONEY_EXPONENT_MAX)
            return -1;
        memcpy(c.code, m->code, sizeof c.code);
        c.exponent = m->exponent;
        if (!money_is_explicit(&c))
            memset(&c, 0, sizeof c); /* CNY/2: the default, said by the older forms */
    }
    p->money = c;
    return 0;
}

void offpay_limits_policy_money(const struct offpay_limits_policy *p, struct offpay_money *m)
{
    if (money_is_explicit(&p->money))
        *m = p->money;
    else
        offpay_money_default(m);
}

size_t offpay_limits_policy_encode(uint8_t *out, size_t out_cap, const struct offpay_limits_policy *p)
{
    struct writer w = {out, out_cap, 0, 0};
    int money = !money_is_default(&p->money);
    if (p->limits.period == 0 || (money && !money_is_explicit(&p->money)))
        return 0;
    w_header(&w, OFFPAY_MSG_LIMITS);
    w_bytes(&w, p->wallet_id, sizeof p->wallet_id);
    w_u64(&w, p->limits.per_payment);
    w_u64(&w, p->limits.offline_total);
    w_u32(&w, p->limits.count);
    w_u32(&w, p->limits.period);
    w_u64(&w, p->issued_at);
    /* The long form exactly when it says more than the short one, the money
     * form exactly when the money is not the default. */
    if (money || p->limits.holding != 0 || p->limits.offline_time != 0) {
        w_u64(&w, p->limits.holding);
        w_u32(&w, p->limits.offline_time);
    }
    if (money) {
        w_bytes(&w, (const uint8_t *)p->money.code, OFFPAY_CURRENCY_CODE_BYTES);
        w_u8(&w, p->money.exponent);
    }
    w_bytes(&w, p->sig, sizeof p->sig);
    return w_finish(&w);
}

enum offpay_status offpay_limits_policy_decode(struct offpay_limits_policy *p, const uint8_t *in, size_t in_len)
{
    struct reader r = {in, in_len, 0, OFFPAY_OK};
    memset(p, 0, sizeof *p);
    r_header(&r, OFFPAY_MSG_LIMITS);
    r_bytes(&r, p->wallet_id, sizeof p->wallet_id);
    p->limits.per_payment = r_u64(&r);
    p->limits.offline_total = r_u64(&r);
    p->limits.count = r_u32(&r);
    p->limits.period = r_u32(&r);
    if (r.err == OFFPAY_OK && p->limits.period == 0)
        r_fail(&r, OFFPAY_ERR_MALFORMED);
    p->issued_at = r_u64(&r);
    /* The form is told by the length: anything of the money form's length or
     * more is read as the money form, anything of the long form's length or
     * more as the long form (and then any extra byte is trailing). */
    if (in_len >= OFFPAY_LIMITS_BYTES_LONG) {
        p->limits.holding = r_u64(&r);
        p->limits.offline_time = r_u32(&r);
        if (r.err == OFFPAY_OK && in_len < OFFPAY_LIMITS_BYTES_MONEY && p->limits.holding == 0 &&
            p->limits.offline_time == 0)
            r_fail(&r, OFFPAY_ERR_NOT_CANONICAL); /* the short form says this */
    }
    if (in_len >= OFFPAY_LIMITS_BYTES_MONEY) {
        r_bytes(&r, (uint8_t *)p->money.code, OFFPAY_CURRENCY_CODE_BYTES);
        if (r.err == OFFPAY_OK && !offpay_currency_code_valid(p->money.code))
            r_fail(&r, OFFPAY_ERR_MALFORMED);
        p->money.exponent = r_u8(&r);
        if (r.err == OFFPAY_OK && p->money.exponent > OFFPAY_MONEY_EXPONENT_MAX)
            r_fail(&r, OFFPAY_ERR_MALFORMED);
        if (r.err == OFFPAY_OK && !money_is_explicit(&p->money))
            r_fail(&r, OFFPAY_ERR_NOT_CANONICAL); /* CNY/2: the older forms say this */
    }
    r_bytes(&r, p->sig, sizeof p->sig);
    enum offpay_status s = r_finish(&r);
    if (s != OFFPAY_OK)
        memset(p, 0, sizeof *p);
    return s;
}

/* ---- any message ---- */

enum offpay_status offpay_message_decode(struct offpay_message *msg, const uint8_t *in, size_t in_len)
{
    enum offpay_status s;
    memset(msg, 0, sizeof *msg);
    if (in == NULL || in_len < 2)
        return OFFPAY_ERR_TRUNCATED;
    if (in[0] != OFFPAY_WIRE_VERSION)
        return OFFPAY_ERR_BAD_VERSION;
    msg->type = offpay_message_type(in, in_len);
    switch (msg->type) {
    case OFFPAY_MSG_CERT: s = offpay_cert_decode(&msg->m.cert, in, in_len); break;
    case OFFPAY_MSG_UTXO: s = offpay_utxo_decode(&msg->m.utxo, in, in_len); break;
    case OFFPAY_MSG_REQUEST: s = offpay_request_decode(&msg->m.request, in, in_len); break;
    case OFFPAY_MSG_RECORD: s = offpay_record_decode(&msg->m.record, in, in_len); break;
    case OFFPAY_MSG_CONFIRMATION: s = offpay_confirmation_decode(&msg->m.confirmation, in, in_len); break;
    case OFFPAY_MSG_REFUSAL: s = offpay_refusal_decode(&msg->m.refusal, in, in_len); break;
    case OFFPAY_MSG_REVOCATION: s = offpay_revocation_decode(&msg->m.revocation, in, in_len); break;
    case OFFPAY_MSG_LIMITS: s = offpay_limits_policy_decode(&msg->m.limits, in, in_len); break;
    case OFFPAY_MSG_STAMP: s = offpay_stamp_decode(&msg->m.stamp, in, in_len); break;
    default:
        msg->type = 0;
        return OFFPAY_ERR_WRONG_TYPE;
    }
    return s;
}

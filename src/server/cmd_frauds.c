/*
 * cmd_frauds.c - offpayd frauds: the evidence of every double spend caught.
 *
 * For each: the rejected record and the record that had spent the same input
 * first (or "unloaded" when the payer had returned that coin online), both in
 * their signed text form so anyone can verify them, the payer wallet and its
 * account, the input, and when it was caught.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct list {
    struct offpay_ledger *l;
    json_t *arr;
    int failed;
};

/* Id (hex) of an encoded record; "" when it does not decode. */
static void record_id_hex(char out[2 * OFFPAY_RECORD_ID_BYTES + 1], const uint8_t *bin, size_t len)
{
    struct offpay_record r;
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    out[0] = '\0';
    if (offpay_record_decode(&r, bin, len) != OFFPAY_OK)
        return;
    offpay_record_id(id, &r);
    offpay_hex(out, id, sizeof id);
}

static int each_fraud(void *ctx, const struct offpay_ledger_fraud *f)
{
    struct list *L = ctx;
    char rid[65], fid[65], wid[33], input[65];
    char *rtext = offpayd_message_text(f->record, f->record_len);
    char *ftext = f->first_record ? offpayd_message_text(f->first_record, f->first_record_len) : NULL;

    offpay_hex(rid, f->record_id, sizeof f->record_id);
    offpay_hex(wid, f->payer_wallet, sizeof f->payer_wallet);
    offpay_hex(input, f->input, sizeof f->input);
    if (f->first_record)
        record_id_hex(fid, f->first_record, f->first_record_len);
    json_t *j = json_pack("{s:s,s:s?,s:s,s:s,s:s?,s:s?,s:I}", "record", rid, "first_record",
                          f->first_record ? fid : NULL, "payer_wallet", wid, "input", input, "record_text", rtext,
                          "first_record_text", ftext, "time", (json_int_t)f->at);
    int64_t account_id = f->account_id; /* f's buffers are the ledger's until the next call: done with them */
    free(rtext);
    free(ftext);
    if (j == NULL) {
        L->failed = 1;
        return 1;
    }
    if (f->first_record == NULL)
        json_object_set_new(j, "first_spent_by", json_string("unload"));
    else
        json_object_set_new(j, "first_spent_by", json_string("record"));
    json_object_set_new(j, "account_id", json_integer(account_id));
    json_array_append_new(L->arr, j);
    return 0;
}

/* Append shard l's evidence to L, with the names of the accounts.  Returns 0 or -1. */
static int read_shard(struct list *L, struct offpay_ledger *l)
{
    size_t i, from = json_array_size(L->arr);
    json_t *f;
    L->l = l;
    enum offpay_ledger_result r = l->ops->begin(l, 0);
    if (r == OFFPAY_LEDGER_OK)
        r = l->ops->fraud_list(l, each_fraud, L);
    /* Names of the accounts, now that the list is read. */
    json_array_foreach(L->arr, i, f) {
        struct offpay_ledger_account acc;
        if (r != OFFPAY_LEDGER_OK)
            break;
        if (i < from)
            continue;
        json_int_t id = json_integer_value(json_object_get(f, "account_id"));
        r = l->ops->account_get_by_id(l, (int64_t)id, &acc);
        if (r == OFFPAY_LEDGER_OK)
            json_object_set_new(f, "account", json_string(acc.name));
        json_object_del(f, "account_id");
    }
    l->ops->rollback(l);
    return r == OFFPAY_LEDGER_OK && !L->failed ? 0 : -1;
}

int cmd_frauds(const struct cli_opts *opts)
{
    struct list L;
    struct cli_shards cs;
    int code = OFFPAY_EXIT_INTERNAL;
    size_t i;
    json_t *f;

    if (opts->n_pos != 0)
        return cli_fail(OFFPAY_ERR_USAGE, "frauds takes no arguments (see offpayd frauds --help).");
    if (cli_shards_open(opts, 0, &cs, &code) != 0)
        return code;
    memset(&L, 0, sizeof L);
    L.arr = json_array();
    /* Evidence lives on the payer's shard: read every shard in turn. */
    for (unsigned k = 0; k < cs.n; k++) {
        if (read_shard(&L, cs.l[k]) != 0) {
            code = cli_fail(OFFPAY_ERR_STORAGE, "The ledger could not be read%s: %s", cs.n > 1 ? " (a shard)" : "",
                            cs.l[k]->ops->last_error(cs.l[k]));
            cli_shards_close(&cs);
            json_decref(L.arr);
            return code;
        }
    }
    cli_shards_close(&cs);

    if (cli_opt(opts, "json") != NULL) {
        json_t *j = json_pack("{s:o}", "frauds", L.arr);
        char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (t == NULL) {
            json_decref(j);
            return cli_fail(OFFPAY_ERR_NOMEM, "Out of memory.");
        }
        printf("%s\n", t);
        free(t);
        json_decref(j);
        return OFFPAY_EXIT_OK;
    }
    if (json_array_size(L.arr) == 0)
        printf("No double spends recorded.\n");
    json_array_foreach(L.arr, i, f) {
        const char *first = json_string_value(json_object_get(f, "first_record"));
        printf("Double spend by wallet %s (account %s), caught at %lld:\n  input %s was first %s%s,\n"
               "  then spent again by record %s.\n  first:  %s\n  second: %s\n",
               json_string_value(json_object_get(f, "payer_wallet")),
               json_string_value(json_object_get(f, "account")),
               (long long)json_integer_value(json_object_get(f, "time")),
               json_string_value(json_object_get(f, "input")), first ? "spent by record " : "unloaded online",
               first ? first : "", json_string_value(json_object_get(f, "record")),
               first ? json_string_value(json_object_get(f, "first_record_text")) : "(unload)",
               json_string_value(json_object_get(f, "record_text")));
    }
    json_decref(L.arr);
    return OFFPAY_EXIT_OK;
}

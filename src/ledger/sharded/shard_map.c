/*
 * shard_map.c - read a ledger configuration and place accounts on shards
 * (include/offpay/shards.h).
 *
 * Only placement lives here: which database holds a bucket.  The server
 * opens each shard's database through offpay_ledger_open like any ledger,
 * and decides what runs where (src/server/shard.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offpay/crypto.h"
#include "offpay/shards.h"

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* A decimal number below limit, the whole of word.  Returns 0 or -1. */
static int parse_index(const char *word, unsigned limit, unsigned *out)
{
    char *end;
    if (word == NULL || word[0] < '0' || word[0] > '9')
        return -1;
    unsigned long v = strtoul(word, &end, 10);
    if (*end != '\0' || v >= limit)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* One line of the file (comments gone, not empty).  moved[b] = 1 once a
 * bucket line placed b.  Returns 0 or -1 (err set). */
static int parse_line(struct offpay_shards *s, char *line, unsigned lineno, unsigned char *moved, char *err,
                      size_t err_cap)
{
    char *save = NULL, *kind = strtok_r(line, " \t", &save), *a = strtok_r(NULL, " \t", &save);
    char *b = strtok_r(NULL, " \t", &save), *extra = strtok_r(NULL, " \t", &save);
    unsigned i, bucket;
    if (kind != NULL && strcmp(kind, "shard") == 0 && b != NULL && extra == NULL) {
        if (parse_index(a, OFFPAY_SHARDS_MAX, &i) != 0 || i != s->n) {
            snprintf(err, err_cap, "Line %u of the shards file: shards must be numbered 0, 1, ... in order (at most %u).",
                     lineno, OFFPAY_SHARDS_MAX);
            return -1;
        }
        if (strlen(b) >= OFFPAY_SHARD_URL_MAX || has_prefix(b, OFFPAY_SHARDS_PREFIX)) {
            snprintf(err, err_cap, "Line %u of the shards file: the URL of shard %u is too long or not a database.",
                     lineno, i);
            return -1;
        }
        memcpy(s->url[s->n++], b, strlen(b) + 1);
        return 0;
    }
    if (kind != NULL && strcmp(kind, "bucket") == 0 && b != NULL && extra == NULL &&
        parse_index(a, OFFPAY_SHARD_BUCKETS, &bucket) == 0 && parse_index(b, OFFPAY_SHARDS_MAX, &i) == 0) {
        s->shard_of[bucket] = (uint8_t)i;
        moved[bucket] = 1;
        return 0;
    }
    snprintf(err, err_cap, "Line %u of the shards file is neither \"shard I URL\" nor \"bucket B I\".", lineno);
    return -1;
}

static int parse_file(struct offpay_shards *s, FILE *f, char *err, size_t err_cap)
{
    static unsigned char moved[OFFPAY_SHARD_BUCKETS];
    char line[OFFPAY_SHARD_URL_MAX + 64];
    unsigned lineno = 0;
    memset(moved, 0, sizeof moved);
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            snprintf(err, err_cap, "Line %u of the shards file is too long.", lineno);
            return -1;
        }
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        line[strcspn(line, "\r\n")] = '\0';
        if (strspn(line, " \t") == strlen(line))
            continue;
        if (parse_line(s, line, lineno, moved, err, err_cap) != 0)
            return -1;
    }
    if (s->n == 0) {
        snprintf(err, err_cap, "The shards file names no shard (a line \"shard 0 URL\" is needed).");
        return -1;
    }
    for (unsigned b = 0; b < OFFPAY_SHARD_BUCKETS; b++) {
        if (!moved[b])
            s->shard_of[b] = (uint8_t)(b % s->n);
        else if (s->shard_of[b] >= s->n) {
            snprintf(err, err_cap, "The shards file puts bucket %u on shard %u, which it does not name.", b,
                     s->shard_of[b]);
            return -1;
        }
    }
    return 0;
}

enum offpay_status offpay_shards_load(struct offpay_shards *s, const char *ledger, char *err, size_t err_cap)
{
    memset(s, 0, sizeof *s);
    if (ledger == NULL || ledger[0] == '\0') {
        snprintf(err, err_cap, "No ledger URL given.");
        return OFFPAY_ERR_USAGE;
    }
    if (!has_prefix(ledger, OFFPAY_SHARDS_PREFIX)) {
        if (strlen(ledger) >= OFFPAY_SHARD_URL_MAX) {
            snprintf(err, err_cap, "The ledger URL is too long.");
            return OFFPAY_ERR_USAGE;
        }
        s->n = 1;
        memcpy(s->url[0], ledger, strlen(ledger) + 1);
        return OFFPAY_OK;
    }
    const char *path = ledger + strlen(OFFPAY_SHARDS_PREFIX);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_cap, "The shards file %s cannot be read.", path);
        return OFFPAY_ERR_USAGE;
    }
    int rc = parse_file(s, f, err, err_cap);
    fclose(f);
    if (rc != 0) {
        memset(s, 0, sizeof *s);
        return OFFPAY_ERR_USAGE;
    }
    return OFFPAY_OK;
}

unsigned offpay_shards_bucket_of_name(const char *name)
{
    uint8_t h[OFFPAY_HASH_BYTES];
    offpay_hash(h, (const uint8_t *)name, strlen(name));
    return offpay_shards_bucket_of_id(h);
}

unsigned offpay_shards_bucket_of_id(const uint8_t id[2])
{
    return ((unsigned)id[0] << 8 | id[1]) % OFFPAY_SHARD_BUCKETS;
}

void offpay_shards_id_set_bucket(uint8_t id[2], unsigned bucket)
{
    id[0] = (uint8_t)(bucket >> 8);
    id[1] = (uint8_t)bucket;
}

unsigned offpay_shards_of_bucket(const struct offpay_shards *s, unsigned bucket)
{
    return s->shard_of[bucket % OFFPAY_SHARD_BUCKETS];
}

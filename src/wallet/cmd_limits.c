/*
 * cmd_limits.c - offpay limits: the offline limits (claim 4), what is used of
 * them, and `limits set` for the owner's stricter values.
 */
#include <stddef.h>
#include <string.h>

#include "cli.h"
#include "offpay/amount.h"

static json_t *limits_json(const struct offpay_limits *l)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "per_payment", (json_int_t)l->per_payment, "offline_total",
                     (json_int_t)l->offline_total, "count", (json_int_t)l->count, "period", (json_int_t)l->period,
                     "holding", (json_int_t)l->holding, "offline_time", (json_int_t)l->offline_time);
}

/* What `limits --json` prints (and `limits set|unset --json` once changed). */
static json_t *wallet_limits_json(const struct offpay_wallet_limits *l)
{
    return cli_json_money(json_pack("{s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:o}}", "effective",
                                    limits_json(&l->effective), "server", limits_json(&l->server), "owner",
                                    limits_json(&l->owner), "used", "offline_total", (json_int_t)l->unsynced_total,
                                    "count", (json_int_t)l->count_in_period, "period_start",
                                    (json_int_t)l->period_start, "holding", (json_int_t)l->held, "synced_at",
                                    l->synced_at ? json_integer((json_int_t)l->synced_at) : json_null()));
}

static void print_offline_time(const struct offpay_wallet_limits *l)
{
    uint32_t t = l->effective.offline_time;
    if (t == 0) {
        printf("  offline time:    no limit\n");
        return;
    }
    printf("  offline time:    may pay offline for %u seconds (%.1f days) after a sync; ", t, t / 86400.0);
    if (l->synced_at == 0) {
        printf("no sync stamp yet: sync first\n");
        return;
    }
    uint64_t until = l->synced_at + t; /* t < 2^32, synced_at is a time */
    printf("last sync %llu, offline payments until %llu\n", (unsigned long long)l->synced_at,
           (unsigned long long)until);
}

/* The owner's limits as `limits set` and `limits unset` name them, in the
 * order their options are listed and checked. */
static const struct limit_field {
    const char *name; /* the option, without "--" */
    int is_amount;    /* money (35.00 too); the others count or are seconds */
    size_t offset;    /* in struct offpay_limits */
    size_t size;      /* 8: uint64_t, 4: uint32_t */
} fields[] = {
#define FIELD(name, member, is_amount)                                                                                 \
    {name, is_amount, offsetof(struct offpay_limits, member), sizeof(((struct offpay_limits *)0)->member)}
    FIELD("per-payment", per_payment, 1), FIELD("offline-total", offline_total, 1), FIELD("count", count, 0),
    FIELD("period", period, 0),           FIELD("holding", holding, 1),             FIELD("offline-time", offline_time, 0),
#undef FIELD
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

/* Writes v (at most UINT32_MAX for a 4-byte field: the caller checked) into l's field f. */
static void field_store(struct offpay_limits *l, const struct limit_field *f, uint64_t v)
{
    uint32_t v32 = (uint32_t)v;
    memcpy((char *)l + f->offset, f->size == sizeof v ? (const void *)&v : (const void *)&v32, f->size);
}

/* limits set: the owner's named values, each no looser than the server's.
 * limits unset: the owner's named values go back to "not set", so the
 * server's apply again.  Flags only: a value would read as a new limit. */
static int change(struct cli *c, int argc, char **argv, int is_set)
{
    struct cli_opt opt[N_FIELDS + 2];
    struct cli_opts o = {opt, 0, {0}, 0, 0};
    struct offpay_wallet_limits l;
    struct offpay_limits named = {0}; /* set: the values; unset: 1 for each to lift */
    struct offpay_wallet *w = NULL;
    uint64_t v;
    int rc, any = 0;

    for (size_t i = 0; i < N_FIELDS; i++)
        opt[o.n_opt++] = (struct cli_opt){fields[i].name, is_set, NULL};
    if (!is_set)
        opt[o.n_opt++] = (struct cli_opt){"all", 0, NULL};
    opt[o.n_opt++] = (struct cli_opt){"json", 0, NULL};
    if (cli_opts_parse(&cli_cmd_limits, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_limits);
    if (o.n_pos != 0)
        return cli_usage(&cli_cmd_limits, is_set ? "limits set takes only options."
                                                 : "limits unset takes only flags (--per-payment, ..., or --all), "
                                                   "no values.");
    int all = !is_set && cli_opt(&o, "all") != NULL;
    for (size_t i = 0; i < N_FIELDS; i++) {
        const struct limit_field *f = &fields[i];
        const char *val = cli_opt(&o, f->name);
        if (val == NULL && !all)
            continue;
        any = 1;
        if (!is_set)
            v = 1;
        else if (f->is_amount && cli_amount_arg(c, val, &v) != 0)
            return cli_amount_usage(&cli_cmd_limits, val);
        else if (!f->is_amount && (offpay_amount_parse(&v, val) != 0 || v == 0 || v > UINT32_MAX))
            return cli_usage(&cli_cmd_limits, "--%s needs a positive whole number.", f->name);
        field_store(&named, f, v);
    }
    if (!any)
        return cli_usage(&cli_cmd_limits,
                         is_set ? "limits set needs at least one of --per-payment, --offline-total, --count, "
                                  "--period, --holding, --offline-time."
                                : "limits unset needs at least one of --per-payment, --offline-total, --count, "
                                  "--period, --holding, --offline-time, or --all.");
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    enum offpay_status s = is_set ? offpay_wallet_limits_set(w, &named) : offpay_wallet_limits_unset(w, &named);
    if (s != OFFPAY_OK)
        rc = cli_wallet_fail(w, s);
    else if (!cli_opt(&o, "json"))
        printf(is_set ? "Owner limits set; they apply together with the server's, the stricter of each winning.\n"
                      : "Owner limits lifted; the server's values apply to them again.\n");
    else if ((s = offpay_wallet_limits(w, &l)) != OFFPAY_OK)
        rc = cli_wallet_fail(w, s);
    else
        rc = cli_json_print(wallet_limits_json(&l));
    offpay_wallet_close(w);
    return rc;
}

static int run(struct cli *c, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "set") == 0)
        return change(c, argc - 1, argv + 1, 1);
    if (argc >= 2 && strcmp(argv[1], "unset") == 0)
        return change(c, argc - 1, argv + 1, 0);
    struct cli_opt opt[] = {{"json", 0, NULL}};
    struct cli_opts o = {opt, 1, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    struct offpay_wallet_limits l;
    int rc;

    if (cli_opts_parse(&cli_cmd_limits, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_limits);
    if (o.n_pos != 0)
        return cli_usage(&cli_cmd_limits, "Unknown argument \"%s\".", o.pos[0]);
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    enum offpay_status s = offpay_wallet_limits(w, &l);
    if (s != OFFPAY_OK) {
        rc = cli_wallet_fail(w, s);
    } else if (cli_opt(&o, "json")) {
        rc = cli_json_print(wallet_limits_json(&l));
    } else {
        const struct offpay_limits *e = &l.effective;
        printf("Offline limits (the stricter of the server's and the owner's):\n");
        printf("  per payment:     below %s (server %s, owner %s)\n", cli_money(e->per_payment),
               cli_money(l.server.per_payment), l.owner.per_payment ? "set" : "not set");
        printf("  unsynced total:  below %s; used %s\n", cli_money(e->offline_total),
               cli_money(l.unsynced_total));
        printf("  count:           fewer than %u payments per %u seconds; used %u this period\n", e->count, e->period,
               l.count_in_period);
        if (e->holding)
            printf("  holding:         at most %s in offline coins; held %s\n", cli_money(e->holding),
                   cli_money(l.held));
        else
            printf("  holding:         no limit; held %s\n", cli_money(l.held));
        print_offline_time(&l);
    }
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_limits = {
    "limits",
    "limits [--json] | limits set [--per-payment A] [--offline-total A] [--count N] [--period S] [--holding A] "
    "[--offline-time S] [--json] | limits unset [--per-payment] [--offline-total] [--count] [--period] [--holding] "
    "[--offline-time] [--json] | limits unset --all [--json]",
    "Show the offline limits and their use, set stricter owner limits, or lift them.",
    "The server sets the limits at init and every sync: a payment must be below\n"
    "the per-payment limit, the unsynced offline total must stay below the\n"
    "offline-total limit, and fewer than count payments may be made per period.\n"
    "The wallet may hold at most the holding limit in offline coins (load beyond\n"
    "it exits 6; a payment to it that would pass it goes to the online balance at\n"
    "sync), and may pay offline only within the offline time after its last sync.\n"
    "`limits set` adds the owner's own values; they may only be stricter than the\n"
    "server's (a looser one is refused, exit 2).  `limits unset` lifts the named\n"
    "owner values (flags, no values; --all: every one), so the server's apply\n"
    "again.  A payment over a limit exits 6.\n"
    "`limits set --json` and `limits unset --json` print the limits as\n"
    "`limits --json` does, once changed.\n",
    run,
};

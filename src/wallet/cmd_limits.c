/*
 * cmd_limits.c - offpay limits: the offline limits (claim 4), what is used of
 * them, and `limits set` for the owner's stricter values.
 */
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

static int set(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"per-payment", 1, NULL}, {"offline-total", 1, NULL}, {"count", 1, NULL},
                            {"period", 1, NULL},      {"holding", 1, NULL},       {"offline-time", 1, NULL},
                            {"json", 0, NULL}};
    struct cli_opts o = {opt, 7, {0}, 0, 0};
    struct offpay_wallet_limits l;
    struct offpay_limits owner = {0};
    struct offpay_wallet *w = NULL;
    uint64_t v;
    int rc;

    if (cli_opts_parse(&cli_cmd_limits, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_limits);
    if (o.n_pos != 0)
        return cli_usage(&cli_cmd_limits, "limits set takes only options.");
    const char *names[6] = {"per-payment", "offline-total", "count", "period", "holding", "offline-time"};
    int any = 0;
    for (int i = 0; i < 6; i++) {
        const char *val = cli_opt(&o, names[i]);
        if (val == NULL)
            continue;
        any = 1;
        int is_amount = i == 0 || i == 1 || i == 4; /* money: 35.00 too; the others count or are seconds */
        if (is_amount && cli_amount_arg(c, val, &v) != 0)
            return cli_amount_usage(&cli_cmd_limits, val);
        if (!is_amount && (offpay_amount_parse(&v, val) != 0 || v == 0 || v > UINT32_MAX))
            return cli_usage(&cli_cmd_limits, "--%s needs a positive whole number.", names[i]);
        if (i == 0)
            owner.per_payment = v;
        else if (i == 1)
            owner.offline_total = v;
        else if (i == 2)
            owner.count = (uint32_t)v;
        else if (i == 3)
            owner.period = (uint32_t)v;
        else if (i == 4)
            owner.holding = v;
        else
            owner.offline_time = (uint32_t)v;
    }
    if (!any)
        return cli_usage(&cli_cmd_limits, "limits set needs at least one of --per-payment, --offline-total, --count, "
                                          "--period, --holding, --offline-time.");
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    enum offpay_status s = offpay_wallet_limits_set(w, &owner);
    if (s != OFFPAY_OK)
        rc = cli_wallet_fail(w, s);
    else if (!cli_opt(&o, "json"))
        printf("Owner limits set; they apply together with the server's, the stricter of each winning.\n");
    else if ((s = offpay_wallet_limits(w, &l)) != OFFPAY_OK)
        rc = cli_wallet_fail(w, s);
    else
        rc = cli_json_print(wallet_limits_json(&l));
    offpay_wallet_close(w);
    return rc;
}

/* limits unset: the owner's named values go back to "not set", so the
 * server's apply again.  Flags only: a value would read as a new limit. */
static int unset(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"per-payment", 0, NULL}, {"offline-total", 0, NULL}, {"count", 0, NULL},
                            {"period", 0, NULL},      {"holding", 0, NULL},       {"offline-time", 0, NULL},
                            {"all", 0, NULL},         {"json", 0, NULL}};
    struct cli_opts o = {opt, 8, {0}, 0, 0};
    struct offpay_wallet_limits l;
    struct offpay_limits which = {0};
    struct offpay_wallet *w = NULL;
    int rc;

    if (cli_opts_parse(&cli_cmd_limits, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_limits);
    if (o.n_pos != 0)
        return cli_usage(&cli_cmd_limits, "limits unset takes only flags (--per-payment, ..., or --all), no values.");
    int all = cli_opt(&o, "all") != NULL;
    which.per_payment = all || cli_opt(&o, "per-payment");
    which.offline_total = all || cli_opt(&o, "offline-total");
    which.count = all || cli_opt(&o, "count");
    which.period = all || cli_opt(&o, "period");
    which.holding = all || cli_opt(&o, "holding");
    which.offline_time = all || cli_opt(&o, "offline-time");
    if (!(which.per_payment || which.offline_total || which.count || which.period || which.holding ||
          which.offline_time))
        return cli_usage(&cli_cmd_limits, "limits unset needs at least one of --per-payment, --offline-total, --count, "
                                          "--period, --holding, --offline-time, or --all.");
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    enum offpay_status s = offpay_wallet_limits_unset(w, &which);
    if (s != OFFPAY_OK)
        rc = cli_wallet_fail(w, s);
    else if (!cli_opt(&o, "json"))
        printf("Owner limits lifted; the server's values apply to them again.\n");
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
        return set(c, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "unset") == 0)
        return unset(c, argc - 1, argv + 1);
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

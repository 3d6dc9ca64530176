/*
 * cmd_config.c - offpay config: the wallet's settings for contacting its
 * server (docs/wallet.md "Settings"): the server URL (kept in the store) and
 * the timeout of a call (kept in the folder's config file).
 */
#include <string.h>

#include "cli.h"

static json_t *settings_json(const struct offpay_wallet_config *k, const char *key)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    if (key == NULL || strcmp(key, "server") == 0)
        json_object_set_new(o, "server", json_string(k->server_url));
    if (key == NULL || strcmp(key, "timeout") == 0) {
        json_object_set_new(o, "timeout", json_integer(k->timeout));
        json_object_set_new(o, "timeout_from", json_string(k->timeout_from));
        json_object_set_new(o, "timeout_config", k->timeout_config ? json_integer(k->timeout_config) : json_null());
    }
    return o;
}

static int known_key(const char *key) { return strcmp(key, "server") == 0 || strcmp(key, "timeout") == 0; }

/* Show the settings (key NULL: all) as they apply now. */
static int show(struct offpay_wallet *w, const char *key, int json)
{
    struct offpay_wallet_config k;
    enum offpay_status s = offpay_wallet_config_get(w, &k);
    if (s != OFFPAY_OK)
        return cli_wallet_fail(w, s);
    if (json)
        return cli_json_print(settings_json(&k, key));
    if (key != NULL && strcmp(key, "server") == 0) {
        printf("%s\n", k.server_url);
    } else if (key != NULL) {
        printf("%u\n", k.timeout);
    } else {
        printf("server = %s\n", k.server_url);
        printf("timeout = %u (from %s)\n", k.timeout,
               strcmp(k.timeout_from, "option") == 0        ? "--timeout"
               : strcmp(k.timeout_from, "environment") == 0 ? "$OFFPAY_TIMEOUT"
               : strcmp(k.timeout_from, "config") == 0      ? "the config file"
                                                            : "the default");
    }
    return 0;
}

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"json", 0, NULL}};
    struct cli_opts o = {opt, 1, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    int rc;

    if (cli_opts_parse(&cli_cmd_config, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_config);
    const char *verb = o.n_pos > 0 ? cli_pos(&o, 0) : "get", *key = cli_pos(&o, 1), *value = cli_pos(&o, 2);
    int json = cli_opt(&o, "json") != NULL;
    unsigned seconds = 0;
    int ms = 0;

    /* Every argument is checked before the wallet is opened. */
    if (strcmp(verb, "get") == 0) {
        if (o.n_pos > 2 || (key != NULL && !known_key(key)))
            return cli_usage(&cli_cmd_config, "config get takes server, timeout or nothing (all).");
    } else if (strcmp(verb, "set") == 0) {
        if (o.n_pos != 3 || !known_key(key))
            return cli_usage(&cli_cmd_config, "config set takes server URL or timeout SECONDS.");
        if (strcmp(key, "timeout") == 0) {
            if (cli_timeout_ms(value, &ms) != 0 || ms <= 0)
                return cli_usage(&cli_cmd_config, "A timeout takes 1 to %d seconds, not \"%s\".",
                                 OFFPAY_WALLET_TIMEOUT_MAX, value);
            seconds = (unsigned)(ms / 1000);
        } else {
            char why[256];
            if (!offpay_wallet_url_check(value, why, sizeof why))
                return cli_usage(&cli_cmd_config, "%s", why);
        }
    } else if (strcmp(verb, "unset") == 0) {
        if (o.n_pos != 2 || strcmp(key, "timeout") != 0)
            return cli_usage(&cli_cmd_config, "config unset takes timeout (a wallet always has a server).");
    } else {
        return cli_usage(&cli_cmd_config, "Unknown config command \"%s\": get, set or unset.", verb);
    }
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    enum offpay_status s = OFFPAY_OK;
    if (strcmp(verb, "set") == 0 && strcmp(key, "server") == 0)
        s = offpay_wallet_server_set(w, value);
    else if (strcmp(verb, "set") == 0)
        s = offpay_wallet_config_timeout_set(w, seconds);
    else if (strcmp(verb, "unset") == 0)
        s = offpay_wallet_config_timeout_set(w, 0);
    if (s != OFFPAY_OK)
        rc = cli_wallet_fail(w, s);
    else if (strcmp(verb, "get") == 0 || json)
        rc = show(w, key, json);
    else if (strcmp(key, "server") == 0)
        printf("The wallet now contacts its server at %s.\n", value);
    else if (strcmp(verb, "set") == 0)
        printf("Calls to the server may now take %u seconds (unless --timeout or $OFFPAY_TIMEOUT says otherwise).\n",
               seconds);
    else
        printf("The config file's timeout is removed.\n");
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_config = {
    "config",
    "config [get [server|timeout]] [--json] | config set server URL | config set timeout SECONDS | "
    "config unset timeout",
    "Show or change how the wallet contacts its server: its URL and the timeout of a call.",
    "config get (or config alone) lists the settings as they apply now; config get\n"
    "KEY prints one value alone.  config set server URL moves the wallet to its\n"
    "server's new address (http:// or https://, host, optional :PORT and path;\n"
    "the issuer key stays pinned, so another ledger's server is refused at the\n"
    "first call).  config set timeout SECONDS (1..3600) writes the folder's config\n"
    "file; a call may take offpay --timeout SECONDS, else $OFFPAY_TIMEOUT, else\n"
    "this, else 10 seconds.  config unset timeout removes it again.  --json prints\n"
    "{\"server\", \"timeout\", \"timeout_from\": option|environment|config|default,\n"
    "\"timeout_config\": N or null}.  A bad URL or number exits 2.\n",
    run,
};

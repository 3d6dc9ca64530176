/*
 * cmd_init.c - offpay init: enrol this device with the server and create the wallet.
 */
#include <string.h>

#include "cli.h"

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"server", 1, NULL}, {"account", 1, NULL}, {"token", 1, NULL}, {"json", 0, NULL},
                            {"issuer-key", 1, NULL}, {"ca-file", 1, NULL}};
    struct cli_opts o = {opt, 6, {0}, 0, 0};
    uint8_t pin[OFFPAY_PUBLIC_KEY_BYTES];
    char ikey[2 * OFFPAY_PUBLIC_KEY_BYTES + 1];
    struct offpay_wallet *w = NULL;
    struct offpay_wallet_limits l;
    char err[OFFPAY_WALLET_ERROR_MAX], wid[2 * OFFPAY_WALLET_ID_BYTES + 1];

    if (cli_opts_parse(&cli_cmd_init, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_init);
    const char *server = cli_opt(&o, "server"), *account = cli_opt(&o, "account"), *token = cli_opt(&o, "token");
    if (server == NULL || account == NULL || token == NULL || o.n_pos != 0)
        return cli_usage(&cli_cmd_init, "init needs --server, --account and --token.");
    const char *pin_hex = cli_opt(&o, "issuer-key");
    if (pin_hex != NULL && (strlen(pin_hex) != 2 * OFFPAY_PUBLIC_KEY_BYTES || offpay_unhex(pin, sizeof pin, pin_hex) != 0))
        return cli_usage(&cli_cmd_init, "--issuer-key takes the 64 hex digits `offpayd init` printed.");
    if (offpay_wallet_dir(c->wallet_dir, sizeof c->wallet_dir, c->wallet_opt) != OFFPAY_OK)
        return cli_fail(OFFPAY_ERR_USAGE, "No wallet folder: give --wallet DIR or set OFFPAY_WALLET or HOME.");
    struct offpay_wallet_contact k = cli_contact(c);
    enum offpay_status s = offpay_wallet_init(&w, err, c->wallet_dir, server, account, token, pin_hex ? pin : NULL,
                                              cli_opt(&o, "ca-file"), &k);
    if (s != OFFPAY_OK)
        return cli_fail(s, "%s", err[0] ? err : offpay_status_str(s));
    cli_money_use(w);
    cli_hex(wid, offpay_wallet_cert(w)->wallet_id, OFFPAY_WALLET_ID_BYTES);
    cli_hex(ikey, offpay_wallet_issuer_key(w), OFFPAY_PUBLIC_KEY_BYTES);
    /* Trust on first use is a choice the user should see being made. */
    if (pin_hex == NULL)
        fprintf(stderr,
                "offpay: note: no --issuer-key given, so the server's issuer key is trusted on first use: %s. "
                "Compare it with the one your operator published.\n",
                ikey);
    if (offpay_wallet_limits(w, &l) != OFFPAY_OK)
        memset(&l, 0, sizeof l);
    int rc = 0;
    if (cli_opt(&o, "json")) {
        rc = cli_json_print(json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "account", account, "wallet_id", wid, "wallet",
                                      c->wallet_dir, "server", server, "issuer_public_key", ikey, "issuer_key_pinned",
                                      pin_hex != NULL));
    } else {
        printf("Wallet for %s created in %s (wallet id %s), enrolled at %s.\n", account, c->wallet_dir, wid, server);
        printf("Offline limits from the server: each payment below %s, unsynced total below %s, "
               "fewer than %u payments per %u seconds.\n",
               cli_money(l.server.per_payment), cli_money(l.server.offline_total), l.server.count,
               l.server.period);
    }
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_init = {
    "init", "init --server URL --account NAME --token TOKEN [--issuer-key HEX] [--ca-file FILE] [--json]",
    "Enrol this device with the server and create its wallet.",
    "Makes a new key pair, sends its public key with the one-time enrolment token\n"
    "(from `offpayd account open NAME`) and stores the certificate, the issuer key,\n"
    "the server's offline limits and its revocation list.  The secret key is kept in\n"
    "the wallet folder's file `key` (mode 0600).  An existing wallet is never\n"
    "overwritten (exit 2).  Exit 7 when the server cannot be reached, 8 when it\n"
    "refuses the token.  --issuer-key HEX pins the issuer public key the operator\n"
    "published (`offpayd init` prints it as issuer_public_key=HEX): a server that\n"
    "presents another is refused (exit 4).  Without it the key is trusted on first\n"
    "use, and init shows it on stderr to compare.  If the answer is lost (exit 7),\n"
    "run the same init again: the key waits in the folder's enrol.key.\n"
    "An https:// server must present a certificate that verifies against the\n"
    "system's certificate authorities or, with --ca-file FILE (PEM), against the\n"
    "authorities in FILE; the wallet keeps a copy of FILE as ca.pem in its folder\n"
    "and checks the server against it at every call.  A server whose certificate\n"
    "does not verify is sent nothing (exit 7, nothing changed).\n",
    run,
};

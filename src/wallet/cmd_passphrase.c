/*
 * cmd_passphrase.c - offpay passphrase change: seal the wallet's key under a
 * new passphrase (wallet_key.h, offpay_wallet_passphrase_change).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "offpay/secret.h"

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"new-passphrase-file", 1, NULL}};
    struct cli_opts o = {opt, 1, {0}, 0, 0};
    struct offpay_wallet *w = NULL;
    char err[OFFPAY_WALLET_ERROR_MAX], *old = NULL, *new = NULL;
    enum offpay_wallet_key_kind kind;
    enum offpay_status s;
    int rc;

    if (cli_opts_parse(&cli_cmd_passphrase, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_passphrase);
    if (o.n_pos != 1 || strcmp(o.pos[0], "change") != 0)
        return cli_usage(&cli_cmd_passphrase, "The one passphrase command is \"passphrase change\".");
    if ((rc = cli_open_wallet(c, &w)) != 0)
        return rc;
    /* A wallet whose key is not sealed is told so before anything is asked. */
    if ((s = offpay_wallet_key_kind(w, &kind)) == OFFPAY_OK && kind != OFFPAY_WALLET_KEY_PASSPHRASE)
        s = offpay_wallet_passphrase_change(w, "", "");
    if (s != OFFPAY_OK) {
        rc = cli_wallet_fail(w, s);
        offpay_wallet_close(w);
        return rc;
    }
    const char *new_file = cli_opt(&o, "new-passphrase-file");
    if (new_file == NULL)
        new_file = getenv("OFFPAY_NEW_PASSPHRASE_FILE");
    c->signs = 1; /* both may be asked on the terminal */
    s = cli_secret(c, OFFPAY_WALLET_SECRET_PASSPHRASE, NULL, &old, err, sizeof err);
    if (s == OFFPAY_OK)
        s = new_file != NULL && *new_file != '\0'
                ? offpay_secret_from_file(&new, err, sizeof err, new_file)
                : offpay_secret_from_tty(&new, err, sizeof err, "New passphrase: ", 1);
    if (s != OFFPAY_OK) {
        rc = cli_fail(s, "%s", err);
    } else if ((s = offpay_wallet_passphrase_change(w, old, new)) != OFFPAY_OK) {
        rc = cli_wallet_fail(w, s);
    } else {
        printf("The wallet's key in %s is now sealed with the new passphrase; the old one no longer opens it.\n",
               c->wallet_dir);
        rc = 0;
    }
    offpay_secret_free(old);
    offpay_secret_free(new);
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_passphrase = {
    "passphrase", "passphrase change [--new-passphrase-file FILE]",
    "Seal the wallet's key under a new passphrase.",
    "For a wallet made with `offpay init --passphrase`.  The current passphrase\n"
    "comes as for every command (--passphrase-file FILE, $OFFPAY_PASSPHRASE_FILE,\n"
    "else asked on the terminal); the new one from --new-passphrase-file FILE or\n"
    "$OFFPAY_NEW_PASSPHRASE_FILE, else asked twice on the terminal.  key.sealed is\n"
    "replaced at once (written to a new file, synced, renamed over the old one),\n"
    "so a crash leaves the old or the new passphrase working, never neither.\n"
    "Exit 9 when the current passphrase is wrong (nothing changed), 2 when the\n"
    "wallet's key is not sealed with a passphrase.\n",
    run,
};

/*
 * cmd_init.c - offpay init: enrol this device with the server and create the wallet.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "offpay/secret.h"

/* Where the new key goes, from --passphrase / --passphrase-file and --pkcs11
 * MODULE --pkcs11-token LABEL; the passphrase (asked twice on a terminal) or
 * the PIN is read into *secret (the caller frees it).  Returns 0 or the exit code. */
static int key_spec(struct cli *c, const struct cli_opts *o, struct offpay_wallet_key_spec *spec, char **secret)
{
    const char *module = cli_opt(o, "pkcs11"), *label = cli_opt(o, "pkcs11-token");
    int sealed = cli_opt(o, "passphrase") != NULL || c->passphrase_file != NULL;
    char err[OFFPAY_WALLET_ERROR_MAX];
    enum offpay_status s = OFFPAY_OK;

    memset(spec, 0, sizeof *spec);
    *secret = NULL;
    if (module != NULL && sealed)
        return cli_usage(&cli_cmd_init, "The key goes either into a token (--pkcs11) or under a passphrase, not both.");
    if ((module == NULL) != (label == NULL))
        return cli_usage(&cli_cmd_init, "A key in a token needs both --pkcs11 MODULE and --pkcs11-token LABEL.");
    if (module != NULL) {
        spec->kind = OFFPAY_WALLET_KEY_TOKEN;
        spec->module = module;
        spec->token_label = label;
        c->signs = 1; /* the PIN may be asked on the terminal */
        s = cli_secret(c, OFFPAY_WALLET_SECRET_PIN, label, secret, err, sizeof err);
        spec->pin = *secret;
    } else if (sealed) {
        const char *file = c->passphrase_file ? c->passphrase_file : getenv("OFFPAY_PASSPHRASE_FILE");
        spec->kind = OFFPAY_WALLET_KEY_PASSPHRASE;
        s = file != NULL && *file != '\0'
                ? offpay_secret_from_file(secret, err, sizeof err, file)
                : offpay_secret_from_tty(secret, err, sizeof err, "Passphrase for the new wallet's key: ", 1);
        spec->passphrase = *secret;
    }
    return s == OFFPAY_OK ? 0 : cli_fail(s, "%s", err);
}

/* --json's "key": where the key lives. */
static const char *const key_names[] = {"file", "passphrase", "token"};

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"server", 1, NULL},     {"account", 1, NULL}, {"token", 1, NULL},
                            {"json", 0, NULL},       {"issuer-key", 1, NULL}, {"ca-file", 1, NULL},
                            {"passphrase", 0, NULL}, {"pkcs11", 1, NULL},  {"pkcs11-token", 1, NULL}};
    struct cli_opts o = {opt, 9, {0}, 0, 0};
    struct offpay_wallet_key_spec spec;
    char *secret = NULL;
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
    int rc = key_spec(c, &o, &spec, &secret);
    if (rc != 0)
        return rc;
    enum offpay_status s = offpay_wallet_init_keyed(&w, err, c->wallet_dir, server, account, token,
                                                    pin_hex ? pin : NULL, cli_opt(&o, "ca-file"), &k, &spec);
    offpay_secret_free(secret);
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
    if (cli_opt(&o, "json")) {
        rc = cli_json_print(json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "account", account, "wallet_id", wid,
                                      "wallet", c->wallet_dir, "server", server, "issuer_public_key", ikey,
                                      "issuer_key_pinned", pin_hex != NULL, "key", key_names[spec.kind]));
    } else {
        printf("Wallet for %s created in %s (wallet id %s), enrolled at %s.\n", account, c->wallet_dir, wid, server);
        if (spec.kind == OFFPAY_WALLET_KEY_PASSPHRASE)
            printf("Its key is sealed with your passphrase; commands that sign ask for it.\n");
        else if (spec.kind == OFFPAY_WALLET_KEY_TOKEN)
            printf("Its key was made inside the token \"%s\" and cannot leave it; commands that sign need the token "
                   "and its PIN.\n", spec.token_label);
        printf("Offline limits from the server: each payment below %s, unsynced total below %s, "
               "fewer than %u payments per %u seconds.\n",
               cli_money(l.server.per_payment), cli_money(l.server.offline_total), l.server.count,
               l.server.period);
    }
    offpay_wallet_close(w);
    return rc;
}

const struct cli_command cli_cmd_init = {
    "init",
    "init --server URL --account NAME --token TOKEN [--issuer-key HEX] [--ca-file FILE]\n"
    "            [--passphrase | --pkcs11 MODULE --pkcs11-token LABEL] [--json]",
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
    "does not verify is sent nothing (exit 7, nothing changed).\n"
    "Where the key lives (docs/wallet.md): by default the file `key`.  With\n"
    "--passphrase it is sealed under a passphrase (Argon2id, XChaCha20-Poly1305) in\n"
    "`key.sealed`; the passphrase is asked twice on the terminal, or read from the\n"
    "file --passphrase-file FILE or $OFFPAY_PASSPHRASE_FILE names (its first line;\n"
    "--passphrase-file alone implies --passphrase).  With --pkcs11 MODULE\n"
    "--pkcs11-token LABEL the key pair is generated inside the PKCS#11 token (not\n"
    "extractable) and `key.token` records only the module, the token label and the\n"
    "key's id; the token's PIN is asked on the terminal, or read from --pin-file\n"
    "FILE or $OFFPAY_PIN_FILE.  Every command that signs then needs the passphrase\n"
    "or the token and its PIN (the same options); exit 9 when it cannot have them.\n",
    run,
};

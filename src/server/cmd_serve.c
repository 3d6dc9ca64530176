/*
 * cmd_serve.c - offpayd serve: load the issuer key into protected memory
 * (or log in to the token that holds it: issuer_p11.c), keep one ledger
 * connection per worker thread, serve (HTTPS with
 * --tls-cert/--tls-key, tls.c) until a signal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "internal.h"
#include "offpay/amount.h"

#define THREADS_DEFAULT 2u
#define THREADS_MAX 64u

/* The issuer signer of srv: the ledger's key in the token of tok (in_token),
 * else the key file keypath.  Returns the exit code (printed). */
static int issuer_open(struct offpayd *srv, struct offpay_ledger *l, int in_token, const struct issuer_token *tok,
                       const char *keypath)
{
    char err[512];
    if (in_token) {
        enum offpay_status s = issuer_token_load(srv, tok, l, err, sizeof err);
        return s == OFFPAY_OK ? OFFPAY_EXIT_OK : cli_fail(s, "%s", err);
    }
    if (issuer_key_in_token(l))
        return cli_fail(OFFPAY_ERR_KEY_UNAVAILABLE, "This ledger's issuer key is in a PKCS#11 token: give "
                                                    "--issuer-pkcs11 MODULE --token LABEL --pin-file FILE.");
    if (issuer_key_load(keypath, l, &srv->issuer_sk, srv->issuer_pk, err, sizeof err) != 0)
        return cli_fail(OFFPAY_ERR_INTERNAL, "%s", err);
    offpay_signer_from_key(&srv->issuer, srv->issuer_sk);
    return OFFPAY_EXIT_OK;
}

int cmd_serve(const struct cli_opts *opts)
{
    struct issuer_token tok;
    struct offpayd srv;
    struct cli_shards cs;
    const char *listen_at = cli_opt(opts, "listen"), *th = cli_opt(opts, "threads");
    char err[512], keypath[4200];
    unsigned threads = THREADS_DEFAULT;
    int code = OFFPAY_EXIT_INTERNAL, in_token;

    if (opts->n_pos != 0)
        return cli_fail(OFFPAY_ERR_USAGE, "serve takes no arguments (see offpayd serve --help).");
    if (listen_at == NULL)
        return cli_fail(OFFPAY_ERR_USAGE, "--listen HOST:PORT is required.");
    if (th != NULL) {
        uint64_t n;
        if (offpay_amount_parse(&n, th) != 0 || n < 1 || n > THREADS_MAX)
            return cli_fail(OFFPAY_ERR_USAGE, "--threads must be a number from 1 to %u.", THREADS_MAX);
        threads = (unsigned)n;
    }
    if ((in_token = issuer_token_options(opts, &tok, err, sizeof err)) < 0)
        return cli_fail(OFFPAY_ERR_USAGE, "%s", err);
    if (cli_opt(opts, "ledger") != NULL && !in_token &&
        issuer_key_path(keypath, sizeof keypath, cli_opt(opts, "ledger"), cli_opt(opts, "issuer-key"), err, sizeof err) != 0)
        return cli_fail(OFFPAY_ERR_USAGE, "%s", err);
    if ((cli_opt(opts, "tls-cert") == NULL) != (cli_opt(opts, "tls-key") == NULL))
        return cli_fail(OFFPAY_ERR_USAGE, "--tls-cert FILE and --tls-key FILE go together.");
    if (cli_opt(opts, "quiet") != NULL && cli_opt(opts, "log") != NULL)
        return cli_fail(OFFPAY_ERR_USAGE, "--log FILE and --quiet do not go together.");
    if (reqlog_open(cli_opt(opts, "log"), cli_opt(opts, "quiet") != NULL, err, sizeof err) != 0)
        return cli_fail(OFFPAY_ERR_USAGE, "%s", err);
    metrics_start();
    if (offpay_crypto_init() != 0)
        return cli_fail(OFFPAY_ERR_CRYPTO_INIT, "The crypto library could not be initialised.");
    if (cli_shards_open(opts, 0, &cs, &code) != 0)
        return code;

    memset(&srv, 0, sizeof srv);
    snprintf(srv.ledger_url, sizeof srv.ledger_url, "%s", cli_opt(opts, "ledger"));
    if ((code = issuer_open(&srv, cs.l[0], in_token, &tok, keypath)) != OFFPAY_EXIT_OK) {
        cli_shards_close(&cs);
        offpay_p11_close(srv.issuer_token);
        return code;
    }
    /* What the ledger counts in; shard 0 speaks for all (init writes every shard alike). */
    if (offpayd_money_read(cs.l[0], &srv.money, err, sizeof err) != 0) {
        cli_shards_close(&cs);
        issuer_key_free(srv.issuer_sk);
        offpay_p11_close(srv.issuer_token);
        return cli_fail(OFFPAY_ERR_STORAGE, "%s", err);
    }
    /* Every other shard must hold the same issuer public key. */
    for (unsigned i = 1; i < cs.n; i++) {
        uint8_t pk[OFFPAY_PUBLIC_KEY_BYTES];
        size_t len = 0;
        if (cs.l[i]->ops->meta_get(cs.l[i], META_ISSUER_PK, pk, sizeof pk, &len) != OFFPAY_LEDGER_OK ||
            len != sizeof pk || memcmp(pk, srv.issuer_pk, sizeof pk) != 0) {
            cli_shards_close(&cs);
            issuer_key_free(srv.issuer_sk);
            offpay_p11_close(srv.issuer_token);
            return cli_fail(OFFPAY_ERR_USAGE, "Shard %u of the ledger holds another issuer key than shard 0.", i);
        }
    }
    cli_shards_close(&cs);
    pthread_mutex_init(&srv.rvl_lock, NULL);
    pthread_mutex_init(&srv.prune_lock, NULL);
    srv.certs = cert_cache_new();
    if (srv.certs == NULL) {
        code = cli_fail(OFFPAY_ERR_NOMEM, "Out of memory.");
        goto out;
    }
    /* Each shard: its writers ($OFFPAYD_WRITERS, PostgreSQL only), and a
     * pool of up to threads + 1 readers. */
    unsigned n_writers = 1;
    const char *writers = getenv("OFFPAYD_WRITERS");
    if (writers != NULL) {
        uint64_t n;
        if (offpay_amount_parse(&n, writers) != 0 || n < 1 || n > OFFPAYD_WRITERS_MAX) {
            code = cli_fail(OFFPAY_ERR_USAGE, "OFFPAYD_WRITERS must be a number from 1 to %d.", OFFPAYD_WRITERS_MAX);
            goto out;
        }
        n_writers = (unsigned)n;
    }
    if (shards_start(&srv, threads + 1, n_writers, err, sizeof err) != 0) {
        code = cli_fail(OFFPAY_ERR_INTERNAL, "%s", err);
        goto out;
    }
    srv.utxos_page = OFFPAYD_UTXOS_MAX;
    const char *page = getenv("OFFPAYD_UTXOS_PAGE");
    if (page != NULL) {
        uint64_t n;
        if (offpay_amount_parse(&n, page) != 0 || n < 1 || n > OFFPAYD_UTXOS_MAX) {
            code = cli_fail(OFFPAY_ERR_USAGE, "OFFPAYD_UTXOS_PAGE must be a number from 1 to %d.", OFFPAYD_UTXOS_MAX);
            goto out;
        }
        srv.utxos_page = (size_t)n;
    }
    if (cli_opt(opts, "tls-cert") != NULL) {
        if (tls_load(&srv, cli_opt(opts, "tls-cert"), cli_opt(opts, "tls-key"), err, sizeof err) != 0) {
            code = cli_fail(OFFPAY_ERR_USAGE, "%s", err);
            goto out;
        }
        char until[32];
        time_t t = (time_t)srv.tls_not_after;
        struct tm tm;
        strftime(until, sizeof until, "%Y-%m-%d", gmtime_r(&t, &tm));
        fprintf(stderr, "offpayd: serving HTTPS (TLS 1.2 and 1.3) with %s, valid until %s.\n", cli_opt(opts, "tls-cert"),
                until);
    }
    if (getenv("OFFPAYD_NOW") != NULL)
        fprintf(stderr, "offpayd: $OFFPAYD_NOW is set: the ledger's clock reads %llu (for tests only).\n",
                (unsigned long long)offpayd_now());
    /* Lost wallets whose grace period ended while no server ran (loss.c). */
    offpayd_write_off_all(&srv, offpayd_now());
    if (upkeep_start(&srv) != 0) {
        code = cli_fail(OFFPAY_ERR_INTERNAL, "The ledger's upkeep thread could not be started.");
        goto out;
    }
    if (relay_start(&srv) != 0) {
        upkeep_stop(&srv);
        code = cli_fail(OFFPAY_ERR_INTERNAL, "The relay thread could not be started.");
        goto out;
    }
    code = offpayd_serve(&srv, listen_at, threads);
    relay_stop(&srv);
    upkeep_stop(&srv);
out:
    shards_stop(&srv);
    cert_cache_free(srv.certs);
    tls_free(&srv);
    reqlog_close();
    free(srv.rvl_text);
    issuer_key_free(srv.issuer_sk);
    offpay_p11_close(srv.issuer_token);
    pthread_mutex_destroy(&srv.rvl_lock);
    pthread_mutex_destroy(&srv.prune_lock);
    return code;
}

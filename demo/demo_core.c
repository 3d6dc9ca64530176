/*
 * demo_core.c - one offline payment between two in-memory wallets and an
 * in-memory issuer, printing each message, its size and its text form.
 * It exercises the protocol core alone: no server, no storage, no network.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "offpay/protocol.h"
#include "offpay/text.h"

static void show(const char *what, const uint8_t *bin, size_t n)
{
    static char text[4096];
    if (offpay_text_encode(text, sizeof text, bin, n) != OFFPAY_OK)
        snprintf(text, sizeof text, "(cannot encode)");
    printf("%-13s %4zu bytes binary, %4zu chars text\n  %s\n", what, n, strlen(text), text);
}

static int fail(const char *step, enum offpay_status s)
{
    fprintf(stderr, "demo: %s: %s\n", step, offpay_status_str(s));
    return 1;
}

int main(void)
{
    uint8_t issuer_pk[32], issuer_sk[64], alice_pk[32], alice_sk[64], bob_pk[32], bob_sk[64];
    uint8_t buf[OFFPAY_RECORD_BYTES_MAX];
    uint64_t now = (uint64_t)time(NULL);
    enum offpay_status s;
    size_t n;

    if (offpay_crypto_init() != 0)
        return fail("init", OFFPAY_ERR_CRYPTO_INIT);
    offpay_keypair(issuer_pk, issuer_sk);
    offpay_keypair(alice_pk, alice_sk);
    offpay_keypair(bob_pk, bob_sk);

    /* The issuer enrols both wallets and attests alice's four coins of [0072]. */
    struct offpay_cert alice = {.not_before = now - 60, .not_after = now + 86400 * 365};
    struct offpay_cert bob = alice;
    offpay_random(alice.wallet_id, sizeof alice.wallet_id);
    offpay_random(bob.wallet_id, sizeof bob.wallet_id);
    memcpy(alice.public_key, alice_pk, 32);
    memcpy(bob.public_key, bob_pk, 32);
    strcpy(alice.account, "alice");
    strcpy(bob.account, "bob");
    if ((s = offpay_cert_issue(&alice, issuer_sk)) || (s = offpay_cert_issue(&bob, issuer_sk)))
        return fail("issue certificates", s);

    struct offpay_utxo coins[4];
    struct offpay_coin view[4];
    for (int i = 0; i < 4; i++) {
        memset(&coins[i], 0, sizeof coins[i]);
        offpay_random(coins[i].id, sizeof coins[i].id);
        memcpy(coins[i].owner, alice_pk, 32);
        coins[i].amount = 1000u * (unsigned)(i + 1);
        if ((s = offpay_utxo_attest(&coins[i], issuer_sk)))
            return fail("attest", s);
        view[i] = (struct offpay_coin){coins[i].amount, OFFPAY_COIN_SPENDABLE};
    }
    printf("alice holds 1000, 2000, 3000, 4000 offline; bob asks for 3500\n\n");
    show("certificate", buf, offpay_cert_encode(buf, sizeof buf, &alice));
    show("utxo", buf, offpay_utxo_encode(buf, sizeof buf, &coins[3]));

    /* bob: request */
    struct offpay_request req;
    uint8_t nonce[OFFPAY_NONCE_BYTES];
    offpay_random(nonce, sizeof nonce);
    if ((s = offpay_request_build(&req, &bob, bob_sk, 3500, nonce)))
        return fail("request", s);
    show("request", buf, offpay_request_encode(buf, sizeof buf, &req));

    /* alice: verify payee, check limits, select, build record */
    if ((s = offpay_request_verify(&req, issuer_pk, NULL, now)))
        return fail("verify request", s);
    struct offpay_limits lim = {.per_payment = 10000, .offline_total = 50000, .count = 10, .period = 86400};
    struct offpay_limits_usage used = {0, 0};
    if ((s = offpay_limits_check(&lim, &used, req.amount)))
        return fail("limits", s);
    size_t chosen[OFFPAY_RECORD_INPUTS_MAX], n_chosen;
    if ((s = offpay_coins_select(chosen, &n_chosen, view, 4, req.amount)))
        return fail("select", s);
    struct offpay_utxo inputs[OFFPAY_RECORD_INPUTS_MAX];
    for (size_t i = 0; i < n_chosen; i++)
        inputs[i] = coins[chosen[i]];
    struct offpay_record rec;
    if ((s = offpay_record_build(&rec, &alice, alice_sk, &req, inputs, n_chosen, now, 1)))
        return fail("record", s);
    n = offpay_record_encode(buf, sizeof buf, &rec);
    show("record", buf, n);

    /* bob: verify and confirm */
    struct offpay_record got;
    if ((s = offpay_record_decode(&got, buf, n)) || (s = offpay_record_verify_for_request(&got, &req, issuer_pk, NULL, now)))
        return fail("verify record", s);
    uint8_t id[OFFPAY_RECORD_ID_BYTES];
    offpay_record_id(id, &got);
    struct offpay_confirmation conf;
    if ((s = offpay_confirmation_build(&conf, id, &bob, bob_sk)))
        return fail("confirm", s);
    show("confirmation", buf, offpay_confirmation_encode(buf, sizeof buf, &conf));

    /* alice: verify the confirmation, swap the spent coin for the change */
    if ((s = offpay_confirmation_verify(&conf, &rec, issuer_pk, NULL, now)))
        return fail("verify confirmation", s);
    printf("\nalice spent %llu, change %llu (locked until synced); list is now:",
           (unsigned long long)rec.inputs[0].amount, (unsigned long long)rec.change_amount);
    for (int i = 0; i < 4; i++)
        if ((size_t)i != chosen[0] || n_chosen != 1)
            printf(" %llu", (unsigned long long)coins[i].amount);
    printf(" %llu(locked)\n", (unsigned long long)rec.change_amount);
    offpay_wipe(issuer_sk, sizeof issuer_sk);
    offpay_wipe(alice_sk, sizeof alice_sk);
    offpay_wipe(bob_sk, sizeof bob_sk);
    return 0;
}

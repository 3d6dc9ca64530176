/*
 * pos.c - a point-of-sale terminal on liboffpay: the shop's wallet takes
 * payments from customers' phones over a direct connection, offline, and
 * settles them with the server whenever it can.
 *
 *   cc -o pos pos.c $(pkg-config --cflags --libs offpay)
 *   pos WALLET_DIR HOST:PORT          (port 0: any free one)
 *
 * The cashier types one amount per line (minor units).  For each, the
 * terminal waits for a customer, who pays with
 *
 *   offpay pay --to HOST:PORT AMOUNT --payee SHOP
 *
 * (the terminal sends a payment request, verifies the customer's record and
 * confirms it), then it syncs and shows the balance.  When the server is out
 * of reach the sale still stands: it settles at a later sync.  At the end of
 * input it exits 0 if every sale was paid, else 1.
 *
 * Only <offpay/offpay.h> is used; error messages come from offpay_errmsg.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <offpay/offpay.h>

#define WAIT_FOR_CUSTOMER_MS 120000

/* Settle what the terminal took, and show where the shop stands. */
static void settle(struct offpay *shop)
{
    struct offpay_sync_result sync = {.size = sizeof sync};
    struct offpay_balance b = {.size = sizeof b};

    if (offpay_sync(shop, &sync) == OFFPAY_OK)
        printf("synced: %" PRIu64 " payment(s) settled\n", sync.settled);
    else
        printf("not synced (%s); the payments settle at a later sync\n", offpay_errmsg(shop));
    if (offpay_balance(shop, &b) == OFFPAY_OK)
        printf("balance: spendable %" PRIu64 ", waiting for sync %" PRIu64 "\n", b.spendable, b.incoming);
    fflush(stdout);
}

/* One amount per line: digits only, more than 0. */
static int parse_amount(const char *line, uint64_t *amount)
{
    char *end;
    if (line[0] < '0' || line[0] > '9')
        return -1;
    unsigned long long v = strtoull(line, &end, 10);
    if (v == 0 || (*end != '\n' && *end != '\0'))
        return -1;
    *amount = v;
    return 0;
}

/* Take one payment of amount.  Returns 0 when it was paid. */
static int sale(struct offpay *shop, struct offpay_listener *l, uint64_t amount, unsigned n)
{
    struct offpay_payment p = {.size = sizeof p};

    printf("sale %u: waiting for a customer to pay %" PRIu64 "\n", n, amount);
    fflush(stdout);
    enum offpay_status s = offpay_receive(shop, &p, l, amount, WAIT_FOR_CUSTOMER_MS);
    if (s != OFFPAY_OK) {
        printf("sale %u: not paid: %s (%s)\n", n, offpay_errmsg(shop), offpay_status_code(s));
        return -1;
    }
    printf("sale %u: paid %" PRIu64 " by %s (record %.16s)\n", n, p.amount, p.counterparty, p.record_id);
    if (!p.sent)
        printf("sale %u: the customer did not get the confirmation; it settles at sync all the same\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    struct offpay *shop = NULL;
    struct offpay_listener *l = NULL;
    char *why = NULL, line[64];
    unsigned sales = 0, unpaid = 0;

    if (argc != 3) {
        fprintf(stderr, "usage: pos WALLET_DIR HOST:PORT  (amounts on standard input, one per line)\n");
        return 2;
    }
    enum offpay_status s = offpay_open(&shop, &why, argv[1], NULL);
    if (s != OFFPAY_OK) {
        fprintf(stderr, "pos: %s\n", why ? why : offpay_status_str(s));
        offpay_free(why);
        return offpay_status_exit_code(s);
    }
    if ((s = offpay_listen(shop, &l, argv[2])) != OFFPAY_OK) {
        fprintf(stderr, "pos: %s\n", offpay_errmsg(shop));
        offpay_close(shop);
        return offpay_status_exit_code(s);
    }
    printf("pos: %s takes payments on port %u (liboffpay %s)\n", offpay_account(shop),
           (unsigned)offpay_listener_port(l), offpay_version());
    fflush(stdout);

    while (fgets(line, sizeof line, stdin) != NULL) {
        uint64_t amount;
        if (line[0] == '\n')
            continue;
        if (parse_amount(line, &amount) != 0) {
            printf("pos: \"%.*s\" is not an amount\n", (int)strcspn(line, "\n"), line);
            continue;
        }
        sales++;
        if (sale(shop, l, amount, sales) != 0)
            unpaid++;
        settle(shop);
    }
    printf("pos: %u sale(s), %u unpaid\n", sales, unpaid);
    offpay_listener_close(l);
    offpay_close(shop);
    return unpaid == 0 ? 0 : 1;
}

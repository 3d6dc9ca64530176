/* cmd_frauds.c - offpayd frauds (being built). */
#include "internal.h"

int cmd_frauds(const struct cli *c)
{
    (void)c;
    return cli_fail(OFFPAY_EXIT_INTERNAL, "Not built yet.");
}

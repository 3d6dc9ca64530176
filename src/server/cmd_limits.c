/* cmd_limits.c - offpayd limits (being built). */
#include "internal.h"

int cmd_limits(const struct cli *c)
{
    (void)c;
    return cli_fail(OFFPAY_EXIT_INTERNAL, "Not built yet.");
}

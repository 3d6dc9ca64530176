/*
 * offpayd.c - the offpayd program: everything is in offpayd_main().
 */
#include "offpay/server.h"

int main(int argc, char **argv) { return offpayd_main(argc, argv); }

/*
 * server.h - the transaction server offpayd, as a library entry point.
 *
 * The offpayd program is a thin main() over offpayd_main(), so tests and
 * tools can run its commands in-process.  The HTTP API it serves is
 * docs/api.md; the commands are SPEC.md's.
 */
#ifndef OFFPAY_SERVER_H
#define OFFPAY_SERVER_H

/* Run one offpayd command line (argv[0] is the program name).
 * Returns: the exit code of SPEC.md (0 ok, 1 internal, 2 usage, ...). */
int offpayd_main(int argc, char **argv);

#endif

/*
 * fault_vfs.h - a SQLite VFS for tests that makes the ledger's storage fail
 * on demand (see fault_vfs.c).
 */
#ifndef OFFPAY_SQLITE_FAULT_VFS_H
#define OFFPAY_SQLITE_FAULT_VFS_H

#define OFFPAY_FAULT_VFS "offpay-fault"
/* The environment variable that turns the shim on; only tests set it. */
#define OFFPAY_FAULT_ENV "OFFPAYD_TEST_STORAGE_FAULTS"

/* Register the VFS as SQLite's default, on top of the default before it,
 * reading its faults from the file named by control (copied).  Call before
 * any other VFS that wraps the default is registered.  Idempotent (the
 * first control file stays).  Returns: 0, or -1. */
int offpay_fault_vfs_register(const char *control);

#endif

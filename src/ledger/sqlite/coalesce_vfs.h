/*
 * coalesce_vfs.h - a SQLite VFS that writes a file's contiguous small writes
 * as one (see coalesce_vfs.c for why and why it is safe).
 */
#ifndef OFFPAY_SQLITE_COALESCE_VFS_H
#define OFFPAY_SQLITE_COALESCE_VFS_H

#define OFFPAY_COALESCE_VFS "offpay-coalesce"

/* Register the VFS under OFFPAY_COALESCE_VFS (not as the default), on top of
 * SQLite's default VFS.  Idempotent and thread-safe.  Returns: 0, or -1 when the default VFS is too old. */
int offpay_coalesce_vfs_register(void);

#endif

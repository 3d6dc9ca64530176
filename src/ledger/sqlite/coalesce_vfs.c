/*
 * coalesce_vfs.c - a SQLite VFS shim that gathers a file's small writes into
 * one large write.
 *
 * SQLite writes a WAL frame as two write() calls (a 24-byte header, then the
 * page) and a checkpoint copies pages into the database one write() each.  A
 * sync batch of a thousand records dirties thousands of pages, and on a
 * virtual machine every system call costs about a microsecond: measured here,
 * a 4 KiB frame written that way costs 4.6 us, the same bytes written in one
 * large write 0.5 us.  This shim keeps, per main-database and WAL file, one
 * pending extent of contiguous bytes in memory and hands it to the real file
 * in one write.
 *
 * Durability is unchanged: SQLite treats no write as durable before it calls
 * xSync, and the extent is written out before every xSync, so a commit that
 * returned is on disk exactly as without the shim.  Visibility to other
 * connections is unchanged too, because the extent is written out before
 * anything could read those bytes from the file: before this handle reads,
 * measures, truncates, syncs, unlocks or closes the file.  The ledger runs
 * WAL with synchronous=FULL, where a commit syncs the WAL before it publishes
 * the new frames in the wal-index, and a checkpoint syncs the database before
 * it records how far it got; other connections only look for bytes those two
 * steps published.  A crash with bytes still pending loses only writes that
 * belonged to a transaction that had not returned yet, which SQLite already
 * recovers from.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sqlite/coalesce_vfs.h"

/* Largest extent kept in memory per file; a larger write goes straight through. */
#define EXTENT_CAP (1u << 20)
/* The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the
 * length with 0x1ffff), so the extent goes out in pieces of this size. */
#define WRITE_CHUNK (1 << 16)

struct cfile {
    sqlite3_file base; /* pMethods = &cfile_methods */
    sqlite3_file *real;
    int coalesce; /* 1 for main databases and WALs */
    unsigned char *buf;
    size_t len;          /* bytes pending */
    sqlite3_int64 off;   /* file offset of buf[0] */
    /* the real file's struct follows */
};

static sqlite3_vfs coalesce_vfs;

static sqlite3_vfs *real_vfs(void) { return (sqlite3_vfs *)coalesce_vfs.pAppData; }

/* Write the pending extent to the real file. */
static int flush(struct cfile *f)
{
    int rc = SQLITE_OK;
    for (size_t done = 0; done < f->len && rc == SQLITE_OK; done += WRITE_CHUNK) {
        size_t n = f->len - done < WRITE_CHUNK ? f->len - done : WRITE_CHUNK;
        rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n, f->off + (sqlite3_int64)done);
    }
    f->len = 0;
    return rc;
}

static int x_close(sqlite3_file *pf)
{
    struct cfile *f = (struct cfile *)pf;
    int rc = flush(f);
    int rc2 = f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int x_read(sqlite3_file *pf, void *p, int n, sqlite3_int64 off)
{
    struct cfile *f = (struct cfile *)pf;
    /* Bytes still pending in the range would read stale, and a range past
     * the extent's start may lie in a hole the extent makes (or past the
     * end of the file it grows): write them first. */
    if (f->len > 0 && off + n > f->off) {
        int rc = flush(f);
        if (rc != SQLITE_OK)
            return rc;
    }
    return f->real->pMethods->xRead(f->real, p, n, off);
}

static int x_write(sqlite3_file *pf, const void *p, int n, sqlite3_int64 off)
{
    struct cfile *f = (struct cfile *)pf;
    if (!f->coalesce || n <= 0)
        return f->real->pMethods->xWrite(f->real, p, n, off);
    /* Contiguous with the extent and it fits: append. */
    if (f->len > 0 && off == f->off + (sqlite3_int64)f->len && f->len + (size_t)n <= EXTENT_CAP) {
        memcpy(f->buf + f->len, p, (size_t)n);
        f->len += (size_t)n;
        return SQLITE_OK;
    }
    /* Inside the extent (SQLite rewrites a frame header or a page): patch it. */
    if (f->len > 0 && off >= f->off && off + n <= f->off + (sqlite3_int64)f->len) {
        memcpy(f->buf + (off - f->off), p, (size_t)n);
        return SQLITE_OK;
    }
    int rc = flush(f);
    if (rc != SQLITE_OK)
        return rc;
    if (n > WRITE_CHUNK)
        return f->real->pMethods->xWrite(f->real, p, n, off);
    if (f->buf == NULL && (f->buf = malloc(EXTENT_CAP)) == NULL)
        return f->real->pMethods->xWrite(f->real, p, n, off); /* no memory: just write */
    memcpy(f->buf, p, (size_t)n);
    f->off = off;
    f->len = (size_t)n;
    return SQLITE_OK;
}

static int x_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
    struct cfile *f = (struct cfile *)pf;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int x_sync(sqlite3_file *pf, int flags)
{
    struct cfile *f = (struct cfile *)pf;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int x_file_size(sqlite3_file *pf, sqlite3_int64 *size)
{
    struct cfile *f = (struct cfile *)pf;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int x_lock(sqlite3_file *pf, int level)
{
    struct cfile *f = (struct cfile *)pf;
    return f->real->pMethods->xLock(f->real, level);
}

static int x_unlock(sqlite3_file *pf, int level)
{
    struct cfile *f = (struct cfile *)pf;
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xUnlock(f->real, level);
}

static int x_check_reserved(sqlite3_file *pf, int *out)
{
    struct cfile *f = (struct cfile *)pf;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int x_file_control(sqlite3_file *pf, int op, void *arg)
{
    struct cfile *f = (struct cfile *)pf;
    /* Anything that may look at or replace the file sees it complete. */
    int rc = flush(f);
    return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int x_sector_size(sqlite3_file *pf)
{
    struct cfile *f = (struct cfile *)pf;
    return f->real->pMethods->xSectorSize(f->real);
}

static int x_device_chars(sqlite3_file *pf)
{
    struct cfile *f = (struct cfile *)pf;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int x_shm_map(sqlite3_file *pf, int page, int size, int extend, void volatile **pp)
{
    struct cfile *f = (struct cfile *)pf;
    return f->real->pMethods->xShmMap(f->real, page, size, extend, pp);
}

static int x_shm_lock(sqlite3_file *pf, int offset, int n, int flags)
{
    struct cfile *f = (struct cfile *)pf;
    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void x_shm_barrier(sqlite3_file *pf)
{
    struct cfile *f = (struct cfile *)pf;
    f->real->pMethods->xShmBarrier(f->real);
}

static int x_shm_unmap(sqlite3_file *pf, int del)
{
    struct cfile *f = (struct cfile *)pf;
    return f->real->pMethods->xShmUnmap(f->real, del);
}

static int x_fetch(sqlite3_file *pf, sqlite3_int64 off, int n, void **pp)
{
    struct cfile *f = (struct cfile *)pf;
    /* A memory-mapped read must not miss pending bytes either. */
    if (f->len > 0 && off + n > f->off) {
        int rc = flush(f);
        if (rc != SQLITE_OK)
            return rc;
    }
    return f->real->pMethods->xFetch(f->real, off, n, pp);
}

static int x_unfetch(sqlite3_file *pf, sqlite3_int64 off, void *p)
{
    struct cfile *f = (struct cfile *)pf;
    return f->real->pMethods->xUnfetch(f->real, off, p);
}

static const sqlite3_io_methods cfile_methods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved,
    x_file_control,
    x_sector_size,
    x_device_chars,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

static int x_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *out_flags)
{
    struct cfile *f = (struct cfile *)pf;
    sqlite3_vfs *rv = real_vfs();
    (void)vfs;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)(f + 1);
    int rc = rv->xOpen(rv, name, f->real, flags, out_flags);
    if (f->real->pMethods == NULL)
        return rc; /* nothing opened: SQLite will not call xClose */
    if (f->real->pMethods->iVersion < 3) {
        /* Not a file this shim can stand in for (no shared memory or mmap). */
        f->real->pMethods->xClose(f->real);
        return SQLITE_CANTOPEN;
    }
    f->coalesce = (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) != 0;
    f->base.pMethods = &cfile_methods;
    return rc;
}

/* The rest is the real VFS's. */
static int x_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
    (void)v;
    return real_vfs()->xDelete(real_vfs(), name, sync_dir);
}
static int x_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return real_vfs()->xAccess(real_vfs(), name, flags, out);
}
static int x_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return real_vfs()->xFullPathname(real_vfs(), name, n, out);
}
static void *x_dl_open(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return real_vfs()->xDlOpen(real_vfs(), name);
}
static void x_dl_error(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    real_vfs()->xDlError(real_vfs(), n, msg);
}
static void (*x_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return real_vfs()->xDlSym(real_vfs(), h, sym);
}
static void x_dl_close(sqlite3_vfs *v, void *h)
{
    (void)v;
    real_vfs()->xDlClose(real_vfs(), h);
}
static int x_randomness(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs()->xRandomness(real_vfs(), n, out);
}
static int x_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return real_vfs()->xSleep(real_vfs(), us);
}
static int x_current_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return real_vfs()->xCurrentTime(real_vfs(), out);
}
static int x_get_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return real_vfs()->xGetLastError ? real_vfs()->xGetLastError(real_vfs(), n, out) : 0;
}
static int x_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return real_vfs()->xCurrentTimeInt64(real_vfs(), out);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int registered;

static void register_once(void)
{
    /* No memory statistics: they take a global mutex on every allocation.
     * This only works before SQLite initialises, i.e. when the ledger is the
     * first user of SQLite in the process; otherwise it changes nothing. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_vfs *rv = sqlite3_vfs_find(NULL);
    if (rv == NULL || rv->iVersion < 2 || rv->xCurrentTimeInt64 == NULL)
        return;
    coalesce_vfs.iVersion = 2;
    coalesce_vfs.szOsFile = (int)sizeof(struct cfile) + rv->szOsFile;
    coalesce_vfs.mxPathname = rv->mxPathname;
    coalesce_vfs.zName = OFFPAY_COALESCE_VFS;
    coalesce_vfs.pAppData = rv;
    coalesce_vfs.xOpen = x_open;
    coalesce_vfs.xDelete = x_delete;
    coalesce_vfs.xAccess = x_access;
    coalesce_vfs.xFullPathname = x_full_pathname;
    coalesce_vfs.xDlOpen = x_dl_open;
    coalesce_vfs.xDlError = x_dl_error;
    coalesce_vfs.xDlSym = x_dl_sym;
    coalesce_vfs.xDlClose = x_dl_close;
    coalesce_vfs.xRandomness = x_randomness;
    coalesce_vfs.xSleep = x_sleep;
    coalesce_vfs.xCurrentTime = x_current_time;
    coalesce_vfs.xGetLastError = x_get_last_error;
    coalesce_vfs.xCurrentTimeInt64 = x_current_time_int64;
    registered = sqlite3_vfs_register(&coalesce_vfs, 0) == SQLITE_OK;
}

int offpay_coalesce_vfs_register(void)
{
    pthread_once(&once, register_once);
    return registered ? 0 : -1;
}

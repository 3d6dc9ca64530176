/*
 * fault_vfs.c - a SQLite VFS shim that fails the ledger's writes or syncs on
 * demand, so that tests can show what offpayd does when its disk fills up or
 * fails (docs/server.md, "Storage faults"), in the manner of SQLite's own
 * test VFS.
 *
 * It is in the program but off: only when the environment variable
 * OFFPAYD_TEST_STORAGE_FAULTS names a control file (tests set it) does the
 * ledger register it, as the default VFS under the coalescing one, so a
 * production ledger never goes through it and pays nothing for it.  Before
 * each write, truncate and sync it reads the control file, whose first word
 * says what fails, so a test switches faults on and off while the server
 * runs:
 *     full   every write and truncate fails with SQLITE_FULL (ENOSPC)
 *     eio    every write and truncate fails with SQLITE_IOERR_WRITE (EIO)
 *     fsync  every sync fails with SQLITE_IOERR_FSYNC; writes go through
 * Anything else, an empty file or none: no fault.  A failed call does
 * nothing to the file, as a disk that refused it would.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sqlite/fault_vfs.h"

enum fault { FAULT_NONE, FAULT_FULL, FAULT_EIO, FAULT_FSYNC };

struct ffile {
    sqlite3_file base; /* pMethods = &ffile_methods */
    sqlite3_file *real;
    /* the real file's struct follows */
};

static sqlite3_vfs fault_vfs;
static char *control_path;

static sqlite3_vfs *below(void) { return (sqlite3_vfs *)fault_vfs.pAppData; }
static sqlite3_file *real_of(sqlite3_file *pf) { return ((struct ffile *)pf)->real; }

static enum fault fault_now(void)
{
    char word[16] = "";
    int fd = open(control_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return FAULT_NONE;
    ssize_t n = read(fd, word, sizeof word - 1);
    close(fd);
    if (n <= 0)
        return FAULT_NONE;
    word[n] = '\0';
    if (strncmp(word, "full", 4) == 0)
        return FAULT_FULL;
    if (strncmp(word, "eio", 3) == 0)
        return FAULT_EIO;
    if (strncmp(word, "fsync", 5) == 0)
        return FAULT_FSYNC;
    return FAULT_NONE;
}

static int x_close(sqlite3_file *pf) { return real_of(pf)->pMethods->xClose(real_of(pf)); }
static int x_read(sqlite3_file *pf, void *p, int n, sqlite3_int64 off)
{
    return real_of(pf)->pMethods->xRead(real_of(pf), p, n, off);
}
static int x_write(sqlite3_file *pf, const void *p, int n, sqlite3_int64 off)
{
    switch (fault_now()) {
    case FAULT_FULL:
        return SQLITE_FULL;
    case FAULT_EIO:
        return SQLITE_IOERR_WRITE;
    default:
        return real_of(pf)->pMethods->xWrite(real_of(pf), p, n, off);
    }
}
static int x_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
    enum fault f = fault_now();
    if (f == FAULT_FULL || f == FAULT_EIO)
        return SQLITE_IOERR_TRUNCATE;
    return real_of(pf)->pMethods->xTruncate(real_of(pf), size);
}
static int x_sync(sqlite3_file *pf, int flags)
{
    if (fault_now() == FAULT_FSYNC)
        return SQLITE_IOERR_FSYNC;
    return real_of(pf)->pMethods->xSync(real_of(pf), flags);
}
static int x_file_size(sqlite3_file *pf, sqlite3_int64 *size)
{
    return real_of(pf)->pMethods->xFileSize(real_of(pf), size);
}
static int x_lock(sqlite3_file *pf, int level) { return real_of(pf)->pMethods->xLock(real_of(pf), level); }
static int x_unlock(sqlite3_file *pf, int level) { return real_of(pf)->pMethods->xUnlock(real_of(pf), level); }
static int x_check_reserved(sqlite3_file *pf, int *out)
{
    return real_of(pf)->pMethods->xCheckReservedLock(real_of(pf), out);
}
static int x_file_control(sqlite3_file *pf, int op, void *arg)
{
    return real_of(pf)->pMethods->xFileControl(real_of(pf), op, arg);
}
static int x_sector_size(sqlite3_file *pf) { return real_of(pf)->pMethods->xSectorSize(real_of(pf)); }
static int x_device_chars(sqlite3_file *pf) { return real_of(pf)->pMethods->xDeviceCharacteristics(real_of(pf)); }
static int x_shm_map(sqlite3_file *pf, int page, int size, int extend, void volatile **pp)
{
    return real_of(pf)->pMethods->xShmMap(real_of(pf), page, size, extend, pp);
}
static int x_shm_lock(sqlite3_file *pf, int offset, int n, int flags)
{
    return real_of(pf)->pMethods->xShmLock(real_of(pf), offset, n, flags);
}
static void x_shm_barrier(sqlite3_file *pf) { real_of(pf)->pMethods->xShmBarrier(real_of(pf)); }
static int x_shm_unmap(sqlite3_file *pf, int del) { return real_of(pf)->pMethods->xShmUnmap(real_of(pf), del); }
static int x_fetch(sqlite3_file *pf, sqlite3_int64 off, int n, void **pp)
{
    return real_of(pf)->pMethods->xFetch(real_of(pf), off, n, pp);
}
static int x_unfetch(sqlite3_file *pf, sqlite3_int64 off, void *p)
{
    return real_of(pf)->pMethods->xUnfetch(real_of(pf), off, p);
}

static const sqlite3_io_methods ffile_methods = {
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
    struct ffile *f = (struct ffile *)pf;
    (void)vfs;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)(f + 1);
    int rc = below()->xOpen(below(), name, f->real, flags, out_flags);
    if (f->real->pMethods == NULL)
        return rc; /* nothing opened: SQLite will not call xClose */
    if (f->real->pMethods->iVersion < 3) {
        f->real->pMethods->xClose(f->real);
        return SQLITE_CANTOPEN;
    }
    f->base.pMethods = &ffile_methods;
    return rc;
}

/* The rest is the VFS's below. */
static int x_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
    (void)v;
    return below()->xDelete(below(), name, sync_dir);
}
static int x_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return below()->xAccess(below(), name, flags, out);
}
static int x_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return below()->xFullPathname(below(), name, n, out);
}
static void *x_dl_open(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return below()->xDlOpen(below(), name);
}
static void x_dl_error(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    below()->xDlError(below(), n, msg);
}
static void (*x_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v;
    return below()->xDlSym(below(), h, sym);
}
static void x_dl_close(sqlite3_vfs *v, void *h)
{
    (void)v;
    below()->xDlClose(below(), h);
}
static int x_randomness(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return below()->xRandomness(below(), n, out);
}
static int x_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return below()->xSleep(below(), us);
}
static int x_current_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return below()->xCurrentTime(below(), out);
}
static int x_get_last_error(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return below()->xGetLastError ? below()->xGetLastError(below(), n, out) : 0;
}
static int x_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return below()->xCurrentTimeInt64(below(), out);
}

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static int registered;

int offpay_fault_vfs_register(const char *control)
{
    int rc = 0;
    pthread_mutex_lock(&reg_lock);
    if (!registered) {
        sqlite3_vfs *dflt = sqlite3_vfs_find(NULL);
        if (dflt == NULL || dflt->iVersion < 2 || dflt->xCurrentTimeInt64 == NULL ||
            (control_path = strdup(control)) == NULL) {
            rc = -1;
        } else {
            fault_vfs.iVersion = 2;
            fault_vfs.szOsFile = (int)sizeof(struct ffile) + dflt->szOsFile;
            fault_vfs.mxPathname = dflt->mxPathname;
            fault_vfs.zName = OFFPAY_FAULT_VFS;
            fault_vfs.pAppData = dflt;
            fault_vfs.xOpen = x_open;
            fault_vfs.xDelete = x_delete;
            fault_vfs.xAccess = x_access;
            fault_vfs.xFullPathname = x_full_pathname;
            fault_vfs.xDlOpen = x_dl_open;
            fault_vfs.xDlError = x_dl_error;
            fault_vfs.xDlSym = x_dl_sym;
            fault_vfs.xDlClose = x_dl_close;
            fault_vfs.xRandomness = x_randomness;
            fault_vfs.xSleep = x_sleep;
            fault_vfs.xCurrentTime = x_current_time;
            fault_vfs.xGetLastError = x_get_last_error;
            fault_vfs.xCurrentTimeInt64 = x_current_time_int64;
            registered = sqlite3_vfs_register(&fault_vfs, 1) == SQLITE_OK;
            rc = registered ? 0 : -1;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return rc;
}

/*
 * upkeep.c - the ledger's upkeep thread of offpayd serve.
 *
 * Storage must not stall settlement.  With SQLite, a commit that finds the
 * write-ahead log long copies it into the database there and then - tens of
 * megabytes and an fsync, while holding the write lock, so every worker that
 * finished verifying its batch waits for it.  serve therefore tells its
 * writer connection to leave that to this thread (defer_upkeep), which runs
 * the backend's upkeep on a connection of its own every UPKEEP_MS beside the
 * writer.  Backends without upkeep (PostgreSQL) start no thread.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "internal.h"

/* Every 2 s: a checkpoint copies each page once however many commits
 * changed it since the last one, so the longer the interval the fewer
 * copies (at 160,000-300,000 records 2 s wrote 32 KB a settled record
 * against 53 KB at 250 ms, bench/README.md); the WAL it leaves to the
 * next checkpoint grows with it (a few hundred MiB under full load). */
#define UPKEEP_MS 2000

static void *upkeep_run(void *arg)
{
    struct offpayd *srv = arg;
    pthread_mutex_lock(&srv->upkeep_lock);
    while (!srv->upkeep_stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += UPKEEP_MS / 1000;
        until.tv_nsec += (long)(UPKEEP_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&srv->upkeep_wake, &srv->upkeep_lock, &until);
        if (srv->upkeep_stop)
            break;
        if (rc != ETIMEDOUT && rc != 0)
            continue;
        pthread_mutex_unlock(&srv->upkeep_lock);
        if (srv->upkeeper->ops->upkeep(srv->upkeeper) != OFFPAY_LEDGER_OK)
            fprintf(stderr, "offpayd: ledger upkeep failed (retried): %s\n",
                    srv->upkeeper->ops->last_error(srv->upkeeper));
        pthread_mutex_lock(&srv->upkeep_lock);
    }
    pthread_mutex_unlock(&srv->upkeep_lock);
    return NULL;
}

int upkeep_start(struct offpayd *srv)
{
    char err[512];
    srv->upkeep_running = 0;
    struct offpay_ledger *writer = srv->shard[0].writer;
    /* Only a ledger of one database has upkeep (SQLite's checkpoints); the
     * shards of a ledger of several are PostgreSQL's, which needs none. */
    if (srv->n_shards != 1 || writer->ops->upkeep == NULL || writer->ops->defer_upkeep == NULL)
        return 0;
    if (offpay_ledger_open(&srv->upkeeper, srv->shard[0].url, 0, err, sizeof err) != OFFPAY_OK) {
        fprintf(stderr, "offpayd: %s\n", err);
        return -1;
    }
    pthread_mutex_init(&srv->upkeep_lock, NULL);
    pthread_cond_init(&srv->upkeep_wake, NULL);
    srv->upkeep_stop = 0;
    if (pthread_create(&srv->upkeep_thread, NULL, upkeep_run, srv) != 0) {
        offpay_ledger_close(srv->upkeeper);
        srv->upkeeper = NULL;
        pthread_cond_destroy(&srv->upkeep_wake);
        pthread_mutex_destroy(&srv->upkeep_lock);
        return -1;
    }
    srv->upkeep_running = 1;
    /* Only now that the thread runs may the writer stop checkpointing. */
    writer->ops->defer_upkeep(writer);
    return 0;
}

void upkeep_stop(struct offpayd *srv)
{
    if (!srv->upkeep_running)
        return;
    pthread_mutex_lock(&srv->upkeep_lock);
    srv->upkeep_stop = 1;
    pthread_cond_signal(&srv->upkeep_wake);
    pthread_mutex_unlock(&srv->upkeep_lock);
    pthread_join(srv->upkeep_thread, NULL);
    offpay_ledger_close(srv->upkeeper);
    srv->upkeeper = NULL;
    pthread_cond_destroy(&srv->upkeep_wake);
    pthread_mutex_destroy(&srv->upkeep_lock);
    srv->upkeep_running = 0;
}

/*
 * proc.h - running the real programs (offpay, offpay-test-peer, offpayd) as
 * children from a test: pipes for their output, bounded waits, and every
 * child killed when the test ends, also when it fails.
 */
#ifndef OFFPAY_TESTS_TRANSPORT_PROC_H
#define OFFPAY_TESTS_TRANSPORT_PROC_H

#include <stddef.h>
#include <sys/types.h>

#define PROC_OUT_MAX (1 << 16)

struct proc {
    pid_t pid;
    int out_fd, err_fd, in_fd; /* -1 once closed */
    char out[PROC_OUT_MAX], err[PROC_OUT_MAX];
    size_t out_n, err_n;
    int exited, code; /* code: exit status, or 128 + signal */
};

/* Start argv (argv[0] a path) with stdout/stderr piped and stdin a pipe
 * (proc_close_stdin gives it EOF).  Fails the test if it cannot. */
void proc_start(struct proc *p, char *const argv[]);

/* Read stdout until a line containing needle arrives (returns a pointer to
 * that line inside p->out), the child closes stdout, or timeout_ms passes
 * (both: NULL). */
const char *proc_wait_line(struct proc *p, const char *needle, int timeout_ms);

/* Read everything until the child exits (at most timeout_ms, then SIGKILL and
 * code 137).  Returns the exit code. */
int proc_wait(struct proc *p, int timeout_ms);

void proc_close_stdin(struct proc *p);
void proc_kill(struct proc *p, int sig);

/* Kill every child still running (registered with atexit by proc_start). */
void proc_kill_all(void);

/* Run argv to completion (60 s at most).  Out: the finished proc (static,
 * valid until the next proc_run).  Returns its exit code. */
int proc_run(struct proc **out, char *const argv[]);

#endif

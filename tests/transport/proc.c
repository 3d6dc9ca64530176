/*
 * proc.c - see proc.h.  One poll loop reads both pipes so a chatty child can
 * never block on a full pipe while we wait for it.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

#define MAX_CHILDREN 64
static pid_t children[MAX_CHILDREN];
static int n_children;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void proc_kill_all(void)
{
    for (int i = 0; i < n_children; i++)
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
}

static void forget(pid_t pid)
{
    for (int i = 0; i < n_children; i++)
        if (children[i] == pid)
            children[i] = 0;
}

void proc_start(struct proc *p, char *const argv[])
{
    static int registered;
    int po[2], pe[2], pi[2];
    if (!registered) {
        atexit(proc_kill_all);
        signal(SIGPIPE, SIG_IGN);
        registered = 1;
    }
    memset(p, 0, sizeof *p);
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0 || pipe2(pi, O_CLOEXEC) != 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        dup2(pi[0], 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    close(pi[0]);
    p->pid = pid;
    p->out_fd = po[0];
    p->err_fd = pe[0];
    p->in_fd = pi[1];
    if (n_children < MAX_CHILDREN)
        children[n_children++] = pid;
}

/* Read what is there (waiting at most wait_ms).  Returns 0 while a pipe is open. */
static int pump(struct proc *p, int wait_ms)
{
    struct pollfd f[2] = {{p->out_fd, POLLIN, 0}, {p->err_fd, POLLIN, 0}};
    if (p->out_fd < 0 && p->err_fd < 0)
        return -1;
    int r = poll(f, 2, wait_ms);
    if (r < 0 && errno != EINTR)
        return -1;
    for (int i = 0; i < 2 && r > 0; i++) {
        if (f[i].fd < 0 || !(f[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        char *buf = i == 0 ? p->out : p->err;
        size_t *n = i == 0 ? &p->out_n : &p->err_n;
        char tmp[4096];
        ssize_t k = read(f[i].fd, tmp, sizeof tmp);
        if (k <= 0) {
            close(f[i].fd);
            if (i == 0)
                p->out_fd = -1;
            else
                p->err_fd = -1;
            continue;
        }
        size_t room = PROC_OUT_MAX - 1 - *n;
        size_t take = (size_t)k < room ? (size_t)k : room;
        memcpy(buf + *n, tmp, take);
        *n += take;
        buf[*n] = '\0';
    }
    return 0;
}

const char *proc_wait_line(struct proc *p, const char *needle, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    for (;;) {
        /* a whole line holding needle */
        const char *hit = strstr(p->out, needle);
        if (hit != NULL && strchr(hit, '\n') != NULL) {
            while (hit > p->out && hit[-1] != '\n')
                hit--;
            return hit;
        }
        long long left = deadline - now_ms();
        if (left <= 0 || p->out_fd < 0)
            return NULL;
        if (pump(p, (int)(left < 200 ? left : 200)) != 0)
            return NULL;
    }
}

int proc_wait(struct proc *p, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    int status;
    if (p->exited)
        return p->code;
    while (p->out_fd >= 0 || p->err_fd >= 0) {
        long long left = deadline - now_ms();
        if (left <= 0)
            break;
        if (pump(p, (int)(left < 200 ? left : 200)) != 0)
            break;
    }
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid)
            break;
        if (r < 0 && errno != EINTR) {
            status = 0;
            break;
        }
        if (now_ms() > deadline) {
            fprintf(stderr, "proc: pid %d did not finish in time; killed\n", (int)p->pid);
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            break;
        }
        usleep(5000);
    }
    forget(p->pid);
    if (p->out_fd >= 0)
        close(p->out_fd);
    if (p->err_fd >= 0)
        close(p->err_fd);
    if (p->in_fd >= 0)
        close(p->in_fd);
    p->out_fd = p->err_fd = p->in_fd = -1;
    p->exited = 1;
    p->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return p->code;
}

void proc_close_stdin(struct proc *p)
{
    if (p->in_fd >= 0) {
        close(p->in_fd);
        p->in_fd = -1;
    }
}

void proc_kill(struct proc *p, int sig)
{
    if (!p->exited)
        kill(p->pid, sig);
}

int proc_run(struct proc **out, char *const argv[])
{
    static struct proc p;
    proc_start(&p, argv);
    proc_close_stdin(&p);
    int rc = proc_wait(&p, 60000);
    if (out)
        *out = &p;
    return rc;
}

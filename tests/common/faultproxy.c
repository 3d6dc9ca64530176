/*
 * faultproxy.c - offpay-faultproxy, an HTTP/1.1 man in the middle that loses
 * answers on purpose (tests only).
 *
 * The wallet's contract for a call whose answer is lost (docs/wallet.md,
 * "Calls in doubt") can only be tested by a network that loses answers at
 * chosen moments: after the server committed, half-way through the answer,
 * past the client's timeout.  This program sits between `offpay` and
 * `offpayd` on 127.0.0.1 and does exactly that, request by request, as a
 * rules file says:
 *
 *     METHOD PATH FAULT [COUNT]        (METHOD or PATH may be *)
 *
 * applies FAULT to the next COUNT (default 1) requests that match; the first
 * matching rule with a count left wins.  The file is read again whenever its
 * content or its stat (inode, size, mtime) changes, which re-arms every count,
 * so a test arms a fault by writing the file and disarms it by emptying it.
 * FAULT is one of
 *
 *   drop_request   read the whole request, never forward it, close;
 *   drop_answer    forward it, read the server's whole answer (so the server
 *                  committed), close without sending the client a byte;
 *   reset_answer   forward it, send the client part of the answer, then reset
 *                  the connection (SO_LINGER 0);
 *   delay:MS       forward it, hold the answer MS milliseconds, then send it;
 *   duplicate      send the request to the server twice, on two connections
 *                  one after the other, and give the client the second answer;
 *   delay_request:MS  hold the request MS milliseconds, then forward it and
 *                  send the answer (a request still travelling after the
 *                  client gave up on it, and maybe after it asked about it).
 *
 * The client side keeps connections alive as the client asks (libcurl reuses
 * them); each request goes to the server on a connection of its own, so the
 * proxy itself never resends anything.  Requests carry a Content-Length body
 * (or none); answers are framed by Content-Length, chunked encoding, or the
 * end of the connection.  `--log FILE` gets one line per request:
 *
 *     METHOD PATH FAULT STATUS c=CONNECTION
 *
 * (FAULT "none" when none applied; STATUS "-" when the server was not asked,
 * "FIRST,SECOND" for a duplicate).  Each client connection has a thread; the
 * process runs until SIGTERM or SIGINT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define HEAD_MAX (64 * 1024)             /* request or answer head */
#define BODY_MAX ((size_t)64 << 20)      /* request or answer body */
#define RULES_MAX 64
#define RULES_FILE_MAX 16384
#define FIELD_MAX 256                    /* method, path in a rule */
#define IO_TIMEOUT_MS 30000              /* a peer silent this long is gone */

enum fault { F_NONE, F_DROP_REQUEST, F_DROP_ANSWER, F_RESET_ANSWER, F_DELAY, F_DUPLICATE, F_DELAY_REQUEST };

static const char *const fault_names[] = {"none",      "drop_request", "drop_answer",  "reset_answer",
                                          "delay",     "duplicate",    "delay_request"};

struct rule {
    char method[FIELD_MAX], path[FIELD_MAX];
    enum fault fault;
    unsigned delay_ms;
    unsigned long left;
};

/* ---- options and shared state ---- */

static struct sockaddr_in upstream;
static const char *rules_path, *log_path;
static int log_fd = -1;
static volatile sig_atomic_t stopping;

static pthread_mutex_t rules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rule rules[RULES_MAX];
static size_t n_rules;
static char rules_text[RULES_FILE_MAX + 1];
static struct stat rules_stat;
static int rules_seen; /* rules_text and rules_stat describe the file as last read */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("offpay-faultproxy: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* ---- growable buffers ---- */

/* A message buffer is kept NUL-terminated after its len bytes, so its head
 * can be parsed as a string. */
struct buf {
    char *p;
    size_t len, cap;
};

/* Room for more bytes and a NUL after them. */
static int buf_reserve(struct buf *b, size_t more)
{
    if (more > BODY_MAX + HEAD_MAX - b->len)
        return -1;
    more++;
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_add(struct buf *b, const char *data, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return -1;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

/* Removes the first n bytes. */
static void buf_eat(struct buf *b, size_t n)
{
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

/* ---- a connection with the bytes read ahead ---- */

struct peer {
    int fd;
    struct buf in; /* read, not yet consumed */
};

/* Reads more bytes into p->in: 1 read, 0 end of stream, -1 error or timeout. */
static int peer_fill(struct peer *p)
{
    struct pollfd pf = {.fd = p->fd, .events = POLLIN};
    int r;
    while ((r = poll(&pf, 1, IO_TIMEOUT_MS)) < 0 && errno == EINTR)
        ;
    if (r <= 0 || buf_reserve(&p->in, 16384) != 0)
        return -1;
    ssize_t n;
    while ((n = read(p->fd, p->in.p + p->in.len, 16384)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return -1;
    p->in.len += (size_t)n;
    return n > 0;
}

static int send_all(int fd, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Moves the head (through the blank line) from p->in to out.  1 done,
 * 0 the stream ended before any byte of it, -1 error. */
static int read_head(struct peer *p, struct buf *out)
{
    char *end;
    while ((end = p->in.len ? memmem(p->in.p, p->in.len, "\r\n\r\n", 4) : NULL) == NULL) {
        if (p->in.len > HEAD_MAX)
            return -1;
        int r = peer_fill(p);
        if (r <= 0)
            return r == 0 && p->in.len == 0 ? 0 : -1;
    }
    size_t n = (size_t)(end - p->in.p) + 4;
    if (buf_add(out, p->in.p, n) != 0)
        return -1;
    buf_eat(&p->in, n);
    return 1;
}

/* Moves exactly n bytes from p to out. */
static int read_exact(struct peer *p, struct buf *out, size_t n)
{
    if (n > BODY_MAX)
        return -1;
    while (p->in.len < n)
        if (peer_fill(p) <= 0)
            return -1;
    if (buf_add(out, p->in.p, n) != 0)
        return -1;
    buf_eat(&p->in, n);
    return 0;
}

/* Moves one CRLF-terminated line from p to out; its length (with CRLF) in *len. */
static int read_line(struct peer *p, struct buf *out, size_t *len)
{
    char *end;
    while ((end = p->in.len ? memmem(p->in.p, p->in.len, "\r\n", 2) : NULL) == NULL) {
        if (p->in.len > HEAD_MAX || peer_fill(p) <= 0)
            return -1;
    }
    *len = (size_t)(end - p->in.p) + 2;
    return read_exact(p, out, *len);
}

/* ---- heads ---- */

/* The value of header NAME in the head at h (length n), copied to v; 1 found. */
static int header(const char *h, size_t n, const char *name, char *v, size_t vcap)
{
    size_t nl = strlen(name);
    const char *line = memchr(h, '\n', n); /* skip the start line */
    while (line != NULL && (size_t)(line + 1 - h) < n) {
        line++;
        const char *eol = memchr(line, '\n', n - (size_t)(line - h));
        if (eol == NULL)
            break;
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *s = line + nl + 1, *e = eol;
            while (s < e && (*s == ' ' || *s == '\t'))
                s++;
            while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                e--;
            size_t l = (size_t)(e - s) < vcap - 1 ? (size_t)(e - s) : vcap - 1;
            memcpy(v, s, l);
            v[l] = '\0';
            return 1;
        }
        line = eol;
    }
    return 0;
}

/* Content-Length of a head: 0 none, 1 found (in *cl), -1 malformed. */
static int content_length(const char *h, size_t n, size_t *cl)
{
    char v[64], *end;
    if (!header(h, n, "Content-Length", v, sizeof v))
        return 0;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || x > BODY_MAX)
        return -1;
    *cl = (size_t)x;
    return 1;
}

static int wants_close(const char *h, size_t n)
{
    char v[128];
    return header(h, n, "Connection", v, sizeof v) && strcasestr(v, "close") != NULL;
}

/* ---- messages ---- */

struct request {
    struct buf raw; /* head and body, as the client sent them */
    char method[FIELD_MAX], path[FIELD_MAX];
    int close;
};

/* One request from the client: 1 read, 0 the client closed between requests, -1 error. */
static int request_read(struct peer *c, struct request *rq)
{
    int r = read_head(c, &rq->raw);
    if (r <= 0)
        return r;
    char target[FIELD_MAX], version[16];
    if (sscanf(rq->raw.p, "%255s %255s %15s", rq->method, target, version) != 3)
        return -1;
    size_t q = strcspn(target, "?");
    memcpy(rq->path, target, q);
    rq->path[q] = '\0';
    char te[64];
    if (header(rq->raw.p, rq->raw.len, "Transfer-Encoding", te, sizeof te))
        return -1; /* the wallet never sends a chunked request */
    size_t cl = 0;
    if (content_length(rq->raw.p, rq->raw.len, &cl) < 0)
        return -1;
    rq->close = wants_close(rq->raw.p, rq->raw.len) || strcmp(version, "HTTP/1.0") == 0;
    return read_exact(c, &rq->raw, cl) == 0 ? 1 : -1;
}

/* A chunked body, moved whole (chunks, last chunk, trailers) from s to out. */
static int chunked_read(struct peer *s, struct buf *out)
{
    for (;;) {
        size_t at = out->len, len;
        if (read_line(s, out, &len) != 0)
            return -1;
        char *end;
        errno = 0;
        unsigned long long size = strtoull(out->p + at, &end, 16);
        if (end == out->p + at || errno != 0 || size > BODY_MAX)
            return -1;
        if (size == 0)
            break;
        if (read_exact(s, out, (size_t)size + 2) != 0)
            return -1;
    }
    for (;;) { /* trailers up to the empty line */
        size_t len;
        if (read_line(s, out, &len) != 0)
            return -1;
        if (len == 2)
            return 0;
    }
}

/* The server's whole answer to rq (1xx heads included) into out; status in
 * *status; *close when the connection ends with it. */
static int answer_read(struct peer *s, const struct request *rq, struct buf *out, int *status, int *conn_close)
{
    for (;;) {
        size_t at = out->len;
        if (read_head(s, out) != 1)
            return -1;
        const char *h = out->p + at;
        size_t hn = out->len - at;
        if (sscanf(h, "HTTP/%*d.%*d %d", status) != 1)
            return -1;
        if (*status >= 100 && *status < 200)
            continue;
        *conn_close = wants_close(h, hn);
        char te[64];
        size_t cl;
        int has_cl = content_length(h, hn, &cl);
        if (strcmp(rq->method, "HEAD") == 0 || *status == 204 || *status == 304)
            return 0;
        if (header(h, hn, "Transfer-Encoding", te, sizeof te) && strcasestr(te, "chunked") != NULL)
            return chunked_read(s, out);
        if (has_cl < 0)
            return -1;
        if (has_cl)
            return read_exact(s, out, cl);
        *conn_close = 1; /* the body runs to the end of the connection */
        int r;
        while ((r = peer_fill(s)) > 0)
            ;
        if (r < 0 || buf_add(out, s->in.p, s->in.len) != 0)
            return -1;
        s->in.len = 0;
        return 0;
    }
}

/* Sends rq to the server on a connection of its own and reads the answer. */
static int forward(const struct request *rq, struct buf *ans, int *status, int *conn_close)
{
    struct peer s = {.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    int rc = -1;
    ans->len = 0;
    if (s.fd < 0)
        return -1;
    if (connect(s.fd, (const struct sockaddr *)&upstream, sizeof upstream) == 0 &&
        send_all(s.fd, rq->raw.p, rq->raw.len) == 0 && answer_read(&s, rq, ans, status, conn_close) == 0)
        rc = 0;
    close(s.fd);
    free(s.in.p);
    return rc;
}

/* ---- rules ---- */

static int parse_fault(const char *word, struct rule *r)
{
    for (int f = F_DROP_REQUEST; f <= F_DELAY_REQUEST; f++) {
        size_t n = strlen(fault_names[f]);
        if (f != F_DELAY && f != F_DELAY_REQUEST && strcmp(word, fault_names[f]) == 0) {
            r->fault = (enum fault)f;
            return 0;
        }
        if ((f == F_DELAY || f == F_DELAY_REQUEST) && strncmp(word, fault_names[f], n) == 0 && word[n] == ':' &&
            word[n + 1] >= '0' && word[n + 1] <= '9') {
            char *end;
            unsigned long ms = strtoul(word + n + 1, &end, 10);
            if (*end != '\0' || ms > 600000)
                return -1;
            r->fault = (enum fault)f;
            r->delay_ms = (unsigned)ms;
            return 0;
        }
    }
    return -1;
}

/* Parses text (tokenised in place) into rules, every count re-armed; a bad
 * line is skipped with a word on stderr. */
static void rules_parse(char *text)
{
    n_rules = 0;
    char *save = NULL;
    int lineno = 0;
    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char m[FIELD_MAX], p[FIELD_MAX], f[FIELD_MAX], extra[8];
        unsigned long count = 1;
        lineno++;
        int n = sscanf(line, "%255s %255s %255s %lu %7s", m, p, f, &count, extra);
        if (n <= 0 || m[0] == '#')
            continue;
        struct rule r = {.left = count};
        if (n < 3 || n > 4 || count == 0 || parse_fault(f, &r) != 0 || n_rules == RULES_MAX) {
            fprintf(stderr, "offpay-faultproxy: %s:%d: ignored: %s\n", rules_path, lineno, line);
            continue;
        }
        snprintf(r.method, sizeof r.method, "%s", m);
        snprintf(r.path, sizeof r.path, "%s", p);
        rules[n_rules++] = r;
    }
}

/* Reads the rules file again if it changed (called with rules_lock held). */
static void rules_refresh(void)
{
    char text[RULES_FILE_MAX + 1];
    struct stat st = {0};
    size_t n = 0;
    int fd = rules_path ? open(rules_path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        ssize_t r;
        if (fstat(fd, &st) != 0)
            memset(&st, 0, sizeof st);
        while (n < RULES_FILE_MAX && ((r = read(fd, text + n, RULES_FILE_MAX - n)) > 0 || (r < 0 && errno == EINTR)))
            n += r > 0 ? (size_t)r : 0;
        close(fd);
    }
    text[n] = '\0';
    int same_stat = st.st_ino == rules_stat.st_ino && st.st_size == rules_stat.st_size &&
                    st.st_mtim.tv_sec == rules_stat.st_mtim.tv_sec &&
                    st.st_mtim.tv_nsec == rules_stat.st_mtim.tv_nsec;
    if (rules_seen && same_stat && strcmp(text, rules_text) == 0)
        return;
    memcpy(rules_text, text, n + 1);
    rules_stat = st;
    rules_seen = 1;
    rules_parse(text);
}

static int field_matches(const char *pattern, const char *s) { return strcmp(pattern, "*") == 0 || strcmp(pattern, s) == 0; }

/* The fault for this request (its count used up by one). */
static enum fault fault_for(const struct request *rq, unsigned *delay_ms)
{
    enum fault f = F_NONE;
    pthread_mutex_lock(&rules_lock);
    rules_refresh();
    for (size_t i = 0; i < n_rules; i++) {
        struct rule *r = &rules[i];
        if (r->left > 0 && field_matches(r->method, rq->method) && field_matches(r->path, rq->path)) {
            r->left--;
            f = r->fault;
            *delay_ms = r->delay_ms;
            break;
        }
    }
    pthread_mutex_unlock(&rules_lock);
    return f;
}

/* ---- the log ---- */

static void log_request(const struct request *rq, enum fault f, unsigned delay_ms, const char *status,
                        unsigned long conn)
{
    if (log_fd < 0)
        return;
    char line[2 * FIELD_MAX + 128], fname[32];
    if (f == F_DELAY || f == F_DELAY_REQUEST)
        snprintf(fname, sizeof fname, "%s:%u", fault_names[f], delay_ms);
    else
        snprintf(fname, sizeof fname, "%s", fault_names[f]);
    int n = snprintf(line, sizeof line, "%s %s %s %s c=%lu\n", rq->method, rq->path, fname, status, conn);
    if (n > 0 && (size_t)n < sizeof line && write(log_fd, line, (size_t)n) != n)
        fprintf(stderr, "offpay-faultproxy: cannot write the log\n");
}

/* ---- one client connection ---- */

static void sleep_ms(unsigned ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

static void reset_close(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

struct client {
    int fd;
    unsigned long id;
};

/* Serves requests on one client connection until it ends; 0 when the fault
 * closed it (fd already closed), 1 to go on, -1 to close it. */
static int serve_one(struct peer *c, struct request *rq, unsigned long id)
{
    struct buf ans = {0};
    int status = 0, status1 = 0, close_after = 0, rc = -1;
    unsigned delay_ms = 0;
    char st[32] = "-";

    int r = request_read(c, rq);
    if (r <= 0)
        return -1;
    enum fault f = fault_for(rq, &delay_ms);
    if (f == F_DROP_REQUEST) {
        log_request(rq, f, delay_ms, st, id);
        close(c->fd);
        return 0;
    }
    if (f == F_DELAY_REQUEST)
        sleep_ms(delay_ms);
    if (f == F_DUPLICATE) {
        if (forward(rq, &ans, &status1, &close_after) != 0)
            status1 = 0;
        close_after = 0;
    }
    if (forward(rq, &ans, &status, &close_after) != 0) {
        snprintf(st, sizeof st, "error");
        log_request(rq, f, delay_ms, st, id);
        goto done; /* the client sees its connection close */
    }
    if (f == F_DUPLICATE)
        snprintf(st, sizeof st, "%d,%d", status1, status);
    else
        snprintf(st, sizeof st, "%d", status);
    log_request(rq, f, delay_ms, st, id);
    switch (f) {
    case F_DROP_ANSWER:
        close(c->fd);
        rc = 0;
        goto done;
    case F_RESET_ANSWER:
        /* Part of the answer, time for it to arrive, then a reset. */
        send_all(c->fd, ans.p, ans.len > 1 ? ans.len / 2 : ans.len);
        sleep_ms(100);
        reset_close(c->fd);
        rc = 0;
        goto done;
    case F_DELAY:
        sleep_ms(delay_ms);
        break;
    default:
        break;
    }
    if (send_all(c->fd, ans.p, ans.len) != 0)
        goto done;
    rc = close_after || rq->close ? -1 : 1;
done:
    free(ans.p);
    return rc;
}

static void *client_main(void *arg)
{
    struct client *cl = arg;
    struct peer c = {.fd = cl->fd};
    struct request rq = {0};
    int r;
    do {
        rq.raw.len = 0;
        r = serve_one(&c, &rq, cl->id);
    } while (r == 1 && !stopping);
    if (r != 0)
        close(c.fd);
    free(rq.raw.p);
    free(c.in.p);
    free(cl);
    return NULL;
}

/* ---- the program ---- */

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static int parse_addr(const char *s, struct sockaddr_in *a)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    char *end;
    if (colon == NULL || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || port > 65535 || inet_pton(AF_INET, host, &a->sin_addr) != 1)
        return -1;
    return 0;
}

static void write_port_file(const char *path, unsigned port)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        die("port file name too long");
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
        die("cannot write the port file %s", path);
}

static void usage(void)
{
    fputs("usage: offpay-faultproxy --listen 127.0.0.1:PORT --to 127.0.0.1:PORT [--port-file FILE]\n"
          "                         [--rules FILE] [--log FILE]\n"
          "Forwards HTTP/1.1 between a client and a server, breaking the requests the rules file names\n"
          "(lines: METHOD PATH FAULT [COUNT], FAULT one of drop_request drop_answer reset_answer\n"
          "delay:MS duplicate delay_request:MS).\n",
          stdout);
}

int main(int argc, char **argv)
{
    const char *listen_at = NULL, *to = NULL, *port_file = NULL;
    struct sockaddr_in la;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0) {
            usage();
            return 0;
        }
        if (i + 1 >= argc)
            die("%s needs a value (see --help)", a);
        if (strcmp(a, "--listen") == 0)
            listen_at = argv[++i];
        else if (strcmp(a, "--to") == 0)
            to = argv[++i];
        else if (strcmp(a, "--port-file") == 0)
            port_file = argv[++i];
        else if (strcmp(a, "--rules") == 0)
            rules_path = argv[++i];
        else if (strcmp(a, "--log") == 0)
            log_path = argv[++i];
        else
            die("unknown option %s (see --help)", a);
    }
    if (listen_at == NULL || to == NULL)
        die("--listen and --to are required (see --help)");
    if (parse_addr(listen_at, &la) != 0 || parse_addr(to, &upstream) != 0)
        die("addresses are IPv4 HOST:PORT");
    if (log_path != NULL && (log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
        die("cannot open the log %s", log_path);

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    socklen_t alen = sizeof la;
    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(ls, (struct sockaddr *)&la, sizeof la) != 0 || listen(ls, 128) != 0 ||
        getsockname(ls, (struct sockaddr *)&la, &alen) != 0)
        die("cannot listen on %s: %s", listen_at, strerror(errno));
    if (port_file != NULL)
        write_port_file(port_file, ntohs(la.sin_port));

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    unsigned long next_id = 0;
    while (!stopping) {
        struct pollfd pf = {.fd = ls, .events = POLLIN};
        if (poll(&pf, 1, 200) <= 0)
            continue;
        int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct client *cl = malloc(sizeof *cl);
        pthread_t t;
        if (cl == NULL) {
            close(fd);
            continue;
        }
        cl->fd = fd;
        cl->id = ++next_id;
        if (pthread_create(&t, &attr, client_main, cl) != 0) {
            close(fd);
            free(cl);
        }
    }
    close(ls);
    return 0;
}

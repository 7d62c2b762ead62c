/* main.c: hostile's loop (see hostile.h for the whole and behave.c for the
 * misbehaviours): options, the listener, one poll() over the listener, the
 * signalfd and every live connection, and each connection's slot from accept
 * to close. Timers need no structure of their own: every slot has at most one
 * due time (act_at, else its lifetime), and the poll timeout is the nearest. */
#include "hostile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t hostile_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void hostile_log(const struct hostile_server *s, const struct hostile_conn *c, const char *what)
{
    if (s->verbose)
        fprintf(stderr, "hostile: conn %u %s: %s\n", c->serial, hostile_kind_path(c->kind), what);
}

static void hostile_conn_close(struct hostile_server *s, uint32_t slot, const char *why)
{
    struct hostile_conn *c = s->conns[slot];
    if (c->rst) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    hostile_log(s, c, why);
    close(c->fd);
    free(c);
    s->conns[slot] = NULL;
    s->n_conns--;
}


static void hostile_accept(struct hostile_server *s, int64_t now)
{
    while (s->n_conns < s->max_conns) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                fprintf(stderr, "hostile: accept: %s\n", strerror(errno));
            return;
        }
        struct hostile_conn *c = calloc(1, sizeof *c);
        if (!c) {
            fprintf(stderr, "hostile: out of memory; dropping a connection\n");
            close(fd);
            return;
        }
        /* Small frames must leave at once, not wait behind Nagle for the 101's ACK. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->serial = ++s->next_serial;
        c->kind = HOSTILE_UNKNOWN;
        c->state = HOSTILE_ST_REQUEST;
        c->accepted_at = now;
        uint32_t slot = 0;
        while (s->conns[slot])
            slot++;
        s->conns[slot] = c;
        s->n_conns++;
    }
}

static int hostile_listen(struct hostile_server *s, const char *bind_ip, int port, int *bound)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, bind_ip, &sa.sin_addr) != 1) {
        fprintf(stderr, "hostile: --bind: \"%s\" is not an IPv4 address\n", bind_ip);
        return -1;
    }
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0) {
        fprintf(stderr, "hostile: socket: %s\n", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(s->listen_fd, 4096) != 0) {
        fprintf(stderr, "hostile: cannot listen on %s:%d: %s\n", bind_ip, port, strerror(errno));
        return -1;
    }
    socklen_t sl = sizeof sa;
    getsockname(s->listen_fd, (struct sockaddr *)&sa, &sl);
    *bound = ntohs(sa.sin_port);
    return 0;
}

/* One pass of the loop: poll, then serve every ready connection and due timer.
 * Returns 1 when a stop signal arrived. */
static int hostile_step(struct hostile_server *s)
{
    int64_t now = hostile_now_us();
    int64_t next = now + 1000000;
    nfds_t n = 2;
    s->pfds[0] = (struct pollfd){.fd = s->listen_fd,
                                 .events = s->n_conns < s->max_conns ? POLLIN : 0};
    s->pfds[1] = (struct pollfd){.fd = s->signal_fd, .events = POLLIN};
    for (uint32_t i = 0; i < s->max_conns; i++) {
        struct hostile_conn *c = s->conns[i];
        if (!c)
            continue;
        short ev = POLLIN;
        if (c->out_len > c->out_off || c->fill)
            ev |= POLLOUT;
        s->pfd_slot[n - 2] = i;
        s->pfds[n++] = (struct pollfd){.fd = c->fd, .events = ev};
        int64_t due = c->accepted_at + HOSTILE_LIFETIME_US;
        if (c->act_at && c->act_at < due)
            due = c->act_at;
        if (due < next)
            next = due;
    }
    int timeout = next > now ? (int)((next - now + 999) / 1000) : 0;
    if (poll(s->pfds, n, timeout) < 0) {
        if (errno == EINTR)
            return 0;
        fprintf(stderr, "hostile: poll: %s\n", strerror(errno));
        return 1;
    }
    if (s->pfds[1].revents)
        return 1;
    now = hostile_now_us();
    for (nfds_t i = 2; i < n; i++) {
        uint32_t slot = s->pfd_slot[i - 2];
        struct hostile_conn *c = s->conns[slot];
        short re = s->pfds[i].revents;
        int dead = 0;
        if (re & (POLLIN | POLLHUP | POLLERR))
            dead = hostile_read(s, c, now) != 0;
        if (!dead && c->act_at && now >= c->act_at)
            dead = hostile_act(s, c, now) != 0;
        if (!dead && (c->out_len > c->out_off || c->fill))
            dead = hostile_flush(c) != 0;
        if (dead) {
            hostile_conn_close(s, slot, c->rst ? "reset by us" : "closed");
        } else if (now - c->accepted_at >= HOSTILE_LIFETIME_US) {
            hostile_conn_close(s, slot, "lifetime over: closed by us");
        }
    }
    if (s->pfds[0].revents & POLLIN)
        hostile_accept(s, now);
    return 0;
}

static void hostile_usage(FILE *f)
{
    fprintf(f, "usage: hostile --port P [--bind 127.0.0.1] [--max-conns N] [--verbose]\n"
               "A deliberately misbehaving WebSocket server for tests; the upgrade path\n"
               "chooses the misbehaviour: /ok /reject401 /reject503 /badaccept /oversize\n"
               "/badutf8 /masked /rstmidframe /nohandshake /closenostatus /close1011 /badopcode\n"
               "/garbage /close1005 /close999 /welcome, and for session scripts /silent /junk\n"
               "/huge /deepjson /welcomeclose\n");
}

static int hostile_parse_uint(const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || end == v || x < lo || x > hi) {
        fprintf(stderr, "hostile: %s: expected a number from %ld to %ld, got \"%s\"\n", opt, lo,
                hi, v ? v : "(nothing)");
        return -1;
    }
    *out = x;
    return 0;
}

int main(int argc, char **argv)
{
    struct hostile_server s = {.listen_fd = -1, .signal_fd = -1,
                               .max_conns = HOSTILE_DEFAULT_CONNS};
    const char *bind_ip = "127.0.0.1";
    long port = -1, max_conns = HOSTILE_DEFAULT_CONNS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--port") == 0) {
            if (hostile_parse_uint(a, v, 0, 65535, &port) != 0)
                return 2;
            i++;
        } else if (strcmp(a, "--bind") == 0) {
            if (!v) {
                fprintf(stderr, "hostile: --bind: missing address\n");
                return 2;
            }
            bind_ip = v;
            i++;
        } else if (strcmp(a, "--max-conns") == 0) {
            if (hostile_parse_uint(a, v, 1, 100000, &max_conns) != 0)
                return 2;
            i++;
        } else if (strcmp(a, "--verbose") == 0) {
            s.verbose = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            hostile_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "hostile: unknown argument \"%s\"\n", a);
            hostile_usage(stderr);
            return 2;
        }
    }
    if (port < 0) {
        fprintf(stderr, "hostile: --port is required\n");
        hostile_usage(stderr);
        return 2;
    }
    s.max_conns = (uint32_t)max_conns;

    /* A few thousand sockets need more than the usual soft limit of 1024. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    s.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    s.conns = calloc(s.max_conns, sizeof *s.conns);
    s.pfds = calloc(s.max_conns + 2, sizeof *s.pfds);
    s.pfd_slot = calloc(s.max_conns, sizeof *s.pfd_slot);
    int bound = 0, rc = 1;
    if (s.signal_fd < 0 || !s.conns || !s.pfds || !s.pfd_slot) {
        fprintf(stderr, "hostile: cannot set up: %s\n", strerror(errno));
        goto out;
    }
    if (hostile_listen(&s, bind_ip, (int)port, &bound) != 0)
        goto out;
    printf("hostile listening on %d\n", bound);
    fflush(stdout);
    while (!hostile_step(&s))
        ;
    rc = 0;
out:
    for (uint32_t i = 0; s.conns && i < s.max_conns; i++)
        if (s.conns[i])
            hostile_conn_close(&s, i, "server stopping");
    if (s.listen_fd >= 0)
        close(s.listen_fd);
    if (s.signal_fd >= 0)
        close(s.signal_fd);
    free(s.conns);
    free(s.pfds);
    free(s.pfd_slot);
    return rc;
}

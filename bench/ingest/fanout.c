/* fanout: the push API of the fake fleet, the least a server can be.
 *
 * HTTP/1.1 on 127.0.0.1, keep-alive, one thread around one poll. A request
 * whose body carries a push token (~ps.RUN.MSG.T~) is a delivery: to
 * /broadcast it goes to every connection up, otherwise to the connection in
 * its ?uid=N. The answer is 200 as soon as the deliveries are handed to the
 * agents (a server that queues its fanout and answers), 400 for a request
 * without a token or recipient. How long the agents then take to send every
 * receipt is the server's write time, which bench/ingest.sh reports apart. */
#include "fakefleet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ps_time.h"

#define FANOUT_CLIENTS 256
#define FANOUT_BUF     16384

struct fanout_client {
    int fd;
    size_t len;
    char buf[FANOUT_BUF];
};

struct fanout {
    struct ff_fleet *fleet;
    int lfd;
    struct fanout_client *c;      /* FANOUT_CLIENTS */
};

static void fanout_token(void *ctx, const struct ps_token *tok)
{
    *(struct ps_token *)ctx = *tok;
}

/* One whole request at the start of buf: its length, 0 if more is to come. */
static size_t fanout_request(struct fanout *fo, struct fanout_client *c)
{
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - c->buf) + 4, body = 0;
    for (char *p = c->buf; p < end; p++)
        if ((p == c->buf || p[-1] == '\n') && !strncasecmp(p, "content-length:", 15))
            body = strtoul(p + 15, NULL, 10);
    if (head + body > c->len)
        return 0;
    struct ps_token_state st;
    struct ps_token tok = {0};
    ps_token_reset(&st);
    int found = ps_token_scan(&st, c->buf + head, body, fanout_token, &tok);
    char *uid = memmem(c->buf, head, "uid=", 4);
    int bcast = !strncmp(c->buf, "POST /broadcast", 15) || !strncmp(c->buf, "PUT /broadcast", 14);
    int ok = 0;
    if (found && bcast) {
        ff_deliver_broadcast(fo->fleet, tok.msg, ps_time_mono_us());
        ok = 1;
    } else if (found && uid) {
        ok = ff_deliver_unicast(fo->fleet, (uint32_t)strtoul(uid + 4, NULL, 10), tok.msg) == 0;
    }
    fo->fleet->calls++;
    fo->fleet->bad_calls += !ok;
    const char *ans = ok ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                         : "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    if (write(c->fd, ans, strlen(ans)) < 0)
        return head + body;   /* the caller sees the close */
    return head + body;
}

static void fanout_read(struct fanout *fo, struct fanout_client *c)
{
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
    if (n <= 0 || (c->len += (size_t)n) == sizeof c->buf) {
        close(c->fd);
        c->fd = -1;
        c->len = 0;
        return;
    }
    size_t used;
    while (c->len && (used = fanout_request(fo, c)) > 0) {
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
    }
}

static void *fanout_main(void *arg)
{
    struct fanout *fo = arg;
    struct pollfd pfd[FANOUT_CLIENTS + 1];
    while (!atomic_load(&fo->fleet->quit)) {
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){.fd = fo->lfd, .events = POLLIN};
        for (int i = 0; i < FANOUT_CLIENTS; i++)
            if (fo->c[i].fd >= 0)
                pfd[n++] = (struct pollfd){.fd = fo->c[i].fd, .events = POLLIN};
        if (poll(pfd, n, 100) <= 0)
            continue;
        if (pfd[0].revents & POLLIN) {
            int fd = accept(fo->lfd, NULL, NULL);
            int i = 0;
            while (fd >= 0 && i < FANOUT_CLIENTS && fo->c[i].fd >= 0)
                i++;
            if (fd >= 0 && i == FANOUT_CLIENTS)
                close(fd);
            else if (fd >= 0)
                fo->c[i].fd = fd;
        }
        for (nfds_t k = 1; k < n; k++)
            if (pfd[k].revents)
                for (int i = 0; i < FANOUT_CLIENTS; i++)
                    if (fo->c[i].fd == pfd[k].fd) {
                        fanout_read(fo, &fo->c[i]);
                        break;
                    }
    }
    for (int i = 0; i < FANOUT_CLIENTS; i++)
        if (fo->c[i].fd >= 0)
            close(fo->c[i].fd);
    close(fo->lfd);
    free(fo->c);
    free(fo);
    return NULL;
}

int ff_fanout_start(struct ff_fleet *f, int port, pthread_t *th)
{
    struct fanout *fo = calloc(1, sizeof *fo);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    if (!fo || !(fo->c = calloc(FANOUT_CLIENTS, sizeof *fo->c)))
        return -1;
    fo->fleet = f;
    for (int i = 0; i < FANOUT_CLIENTS; i++)
        fo->c[i].fd = -1;
    fo->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (fo->lfd < 0 || setsockopt(fo->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(fo->lfd, (struct sockaddr *)&sa, sizeof sa) || listen(fo->lfd, 128) ||
        pthread_create(th, NULL, fanout_main, fo)) {
        fprintf(stderr, "fakefleet: the fanout on 127.0.0.1:%d: %s\n", port, strerror(errno));
        return -1;
    }
    return 0;
}

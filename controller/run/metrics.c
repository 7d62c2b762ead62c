/* metrics.c: the smallest HTTP server that Prometheus can scrape.
 *
 * Only GET is answered (with the text format 0.0.4); anything else gets 405.
 * The request is read with a short poll so that a client that connects and
 * says nothing cannot stall the run loop for more than 100 ms; responses are
 * a few KB and written with a blocking send on a socket whose send buffer
 * holds them. */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int metrics_listen(struct metrics *m, const char *addr, char *err, size_t errlen)
{
    m->fd = -1;
    char host[64] = "0.0.0.0";
    const char *colon = strrchr(addr, ':');
    const char *port_s = colon ? colon + 1 : addr;
    if (colon && colon != addr) {
        size_t n = (size_t)(colon - addr);
        if (n >= sizeof host) {
            snprintf(err, errlen, "--metrics %s: host too long", addr);
            return -1;
        }
        memcpy(host, addr, n);
        host[n] = 0;
    }
    char *end;
    long port = strtol(port_s, &end, 10);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (*end || port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "--metrics %s: want PORT or IPV4:PORT", addr);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 16)) {
        snprintf(err, errlen, "--metrics %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    m->fd = fd;
    return 0;
}

int metrics_accept(struct metrics *m)
{
    if (m->fd < 0)
        return -1;
    for (;;) {
        int c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            return -1;
        struct pollfd p = {.fd = c, .events = POLLIN};
        char req[2048];
        ssize_t n = 0;
        if (poll(&p, 1, 100) == 1)
            n = recv(c, req, sizeof req - 1, MSG_DONTWAIT);
        if (n <= 0) {
            close(c);
            continue;
        }
        req[n] = 0;
        if (strncmp(req, "GET ", 4)) {
            static const char no[] = "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n"
                                     "Connection: close\r\n\r\n";
            if (send(c, no, sizeof no - 1, MSG_NOSIGNAL) < 0) { /* client gone: nothing to do */ }
            close(c);
            continue;
        }
        return c;
    }
}

void metrics_respond(int client, const char *body, size_t len)
{
    char head[160];
    int h = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n", len);
    struct timeval tv = {.tv_sec = 1};
    setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (send(client, head, (size_t)h, MSG_NOSIGNAL) == h)
        for (size_t off = 0; off < len;) {
            ssize_t k = send(client, body + off, len - off, MSG_NOSIGNAL);
            if (k <= 0)
                break;
            off += (size_t)k;
        }
    close(client);
}

void metrics_close(struct metrics *m)
{
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
}

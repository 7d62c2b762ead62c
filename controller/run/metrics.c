/* metrics.c: the smallest HTTP server that Prometheus can scrape, and the text
 * it serves.
 *
 * Only GET is answered (with the text format 0.0.4); anything else gets 405.
 * The request is read with a short poll so that a client that connects and
 * says nothing cannot stall the run loop for more than 100 ms; responses are
 * a few KB and written with a blocking send on a socket whose send buffer
 * holds them. */
#include "metrics.h"

#include "ps_proto.h"

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

void metrics_init(struct metrics *m)
{
    m->fd = -1;
}

int metrics_fd(const struct metrics *m)
{
    return m->fd;
}

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

static void metrics_respond(int client, const char *body, size_t len)
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

void metrics_text(FILE *f, const struct metrics_view *v)
{
    fprintf(f, "# HELP pushstorm_connections Connections up now (controller's ledger).\n"
               "# TYPE pushstorm_connections gauge\n"
               "pushstorm_connections{run=\"%u\",plan=\"%s\"} %u\n", v->run_id, v->plan,
            v->connected);
    fprintf(f, "# TYPE pushstorm_connections_target gauge\npushstorm_connections_target{run=\"%u\"} %llu\n",
            v->run_id, (unsigned long long)v->target);
    fprintf(f, "# TYPE pushstorm_phase gauge\npushstorm_phase{run=\"%u\",kind=\"%s\"} %u\n", v->run_id,
            v->phase, v->phase_idx);
    static const char *const counters[][2] = {
        {"connects", "Handshakes completed."}, {"connect_failures", "Connection attempts that failed."},
        {"closes", "Established connections closed."}, {"pushes", "Push API calls made."},
        {"push_errors", "Push API calls that failed."}, {"deliveries", "Messages received by the right connection."},
        {"duplicates", "Messages received more than once."}, {"lost", "Messages lost (recipient stayed connected)."},
        {"missed_offline", "Messages missed while the recipient was disconnected."},
        {"agent_lost", "Messages of connections whose agent was lost."},
    };
    uint64_t n[] = {v->connects, v->connect_failures, v->closes, v->pushes, v->push_errors,
                    v->deliveries, v->duplicates, v->lost, v->missed_offline, v->agent_lost};
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
        fprintf(f, "# HELP pushstorm_%s_total %s\n# TYPE pushstorm_%s_total counter\n"
                   "pushstorm_%s_total{run=\"%u\"} %llu\n", counters[i][0], counters[i][1],
                counters[i][0], counters[i][0], v->run_id, (unsigned long long)n[i]);
    fprintf(f, "# HELP pushstorm_ends_total Failures and closes by reason.\n"
               "# TYPE pushstorm_ends_total counter\n");
    for (uint32_t i = 1; i < PS_REASON_COUNT; i++)
        fprintf(f, "pushstorm_ends_total{run=\"%u\",reason=\"%s\"} %llu\n", v->run_id,
                ps_reason_name(i), (unsigned long long)v->reasons[i]);
    fprintf(f, "# HELP pushstorm_push_latency_seconds Delivery latency over the run so far.\n"
               "# TYPE pushstorm_push_latency_seconds gauge\n");
    static const double qs[] = {0.5, 0.9, 0.99, 1.0};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        fprintf(f, "pushstorm_push_latency_seconds{run=\"%u\",quantile=\"%g\"} %.6f\n", v->run_id,
                qs[i], ps_hist_quantile(v->latency, qs[i]) / 1e6);
    fprintf(f, "# TYPE pushstorm_agents gauge\npushstorm_agents{run=\"%u\",state=\"live\"} %u\n"
               "pushstorm_agents{run=\"%u\",state=\"joined\"} %u\n",
            v->run_id, v->agents_live, v->run_id, v->agents_joined);
    fprintf(f, "# HELP pushstorm_agent_loop_lag_seconds Worst event-loop lag of the last second.\n"
               "# TYPE pushstorm_agent_loop_lag_seconds gauge\n");
    for (uint32_t i = 0; i < v->n_agents; i++)
        fprintf(f, "pushstorm_agent_loop_lag_seconds{run=\"%u\",agent=\"%s\"} %.6f\n", v->run_id,
                v->agents[i].name, v->agents[i].lag_max_us / 1e6);
    if (v->n_servers)
        fprintf(f, "# HELP pushstorm_server_cpu_ratio Server host CPU busy (monitor agents), 0-1.\n"
                   "# TYPE pushstorm_server_cpu_ratio gauge\n"
                   "# TYPE pushstorm_server_process_rss_bytes gauge\n"
                   "# TYPE pushstorm_server_tcp_inuse gauge\n");
    for (uint32_t i = 0; i < v->n_servers; i++) {
        const struct metrics_server *m = &v->servers[i];
        fprintf(f, "pushstorm_server_cpu_ratio{run=\"%u\",server=\"%s\"} %.4f\n", v->run_id, m->name,
                m->cpu_pct_x100 / 10000.0);
        fprintf(f, "pushstorm_server_process_rss_bytes{run=\"%u\",server=\"%s\"} %llu\n", v->run_id,
                m->name, (unsigned long long)m->proc_rss);
        fprintf(f, "pushstorm_server_tcp_inuse{run=\"%u\",server=\"%s\"} %u\n", v->run_id, m->name,
                m->tcp_inuse);
    }
}

void metrics_answer(int client, const struct metrics_view *v)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        metrics_respond(client, "", 0);
        return;
    }
    metrics_text(f, v);
    fclose(f);
    metrics_respond(client, buf, len);
    free(buf);
}

void metrics_close(struct metrics *m)
{
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
}

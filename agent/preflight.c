/* preflight.c: what this machine can hold, told before any connection is made.
 *
 * The hello carries the facts a controller needs to split a campaign (cores,
 * fd limits, memory, ephemeral ports, addresses); an assignment is checked
 * against the same facts and refused with the reason up front ("needs 50,256
 * fds, hard limit 20,000") instead of failing half way through a ramp.
 *
 * Ports: without --source-ips the kernel picks the source address and port at
 * connect(), and a port may be reused towards different destinations, so the
 * limit is the ephemeral range per destination. With --source-ips lws binds
 * each socket to its source IP before connect(), which takes a port per source
 * IP whatever the destination, so the limit is the range per source IP. Either
 * way TIME_WAIT sockets left by earlier closes hold ports too, hence the
 * margin. Without source IPs only about half the range is usable per
 * destination (Linux gives connect() one parity of the range first). */
#include "agent.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void port_range(uint32_t *lo, uint32_t *hi)
{
    *lo = 32768;
    *hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (!f)
        return;
    unsigned a, b;
    if (fscanf(f, "%u %u", &a, &b) == 2 && a <= b) {
        *lo = a;
        *hi = b;
    }
    fclose(f);
}

/* The machine's IPv4 addresses into ips[]; with `usable` only those of
 * interfaces that are up and not loopback (the ones a connection can leave by).
 * Returns -1 if the interfaces cannot be listed. */
static int list_ips(char ips[][PS_IP_MAX], uint32_t max, uint32_t *n, int usable)
{
    struct ifaddrs *ifs, *i;
    *n = 0;
    if (getifaddrs(&ifs))
        return -1;
    for (i = ifs; i && *n < max; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        if (usable && (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)))
            continue;
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ips[*n], PS_IP_MAX);
        (*n)++;
    }
    freeifaddrs(ifs);
    return 0;
}

int agent_preflight_hello(struct agent *ag, char *err, size_t errlen)
{
    struct ps_hello *h = &ag->hello;
    memset(h, 0, sizeof *h);
    snprintf(h->name, sizeof h->name, "%s", ag->opts.name);
    if (gethostname(h->host, sizeof h->host))
        snprintf(h->host, sizeof h->host, "unknown");
    h->host[sizeof h->host - 1] = 0;
    snprintf(h->version, sizeof h->version, "%s", PS_VERSION_STRING);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    h->cores = cores > 0 ? (uint32_t)cores : 1;
    h->threads = ag->opts.threads;

    /* The hard limit is the real one; a process is free to raise its soft limit to it. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl)) {
        snprintf(err, errlen, "cannot read the open-file limit");
        return -1;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit up = {rl.rlim_max, rl.rlim_max};
        if (!setrlimit(RLIMIT_NOFILE, &up))
            rl = up;
    }
    h->fd_soft = rl.rlim_cur == RLIM_INFINITY ? UINT32_MAX : rl.rlim_cur;
    h->fd_hard = rl.rlim_max == RLIM_INFINITY ? UINT32_MAX : rl.rlim_max;
    agent_meminfo(&h->mem_total, &h->mem_available);
    port_range(&h->port_lo, &h->port_hi);
    if (ag->opts.n_src) {
        h->n_ips = ag->opts.n_src;
        memcpy(h->ips, ag->opts.src_ips, sizeof h->ips[0] * ag->opts.n_src);
    } else {
        list_ips(h->ips, PS_MAX_IPS, &h->n_ips, 0);   /* informative: none is not an error */
    }
    return 0;
}

static int fmt_num(char *buf, size_t len, uint64_t v)
{
    /* 50256 -> "50,256": refusals are read by people */
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v), o = 0;
    for (int i = 0; i < n && (size_t)o + 2 < len; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return o;
}

int agent_preflight_assign(const struct agent *ag, const struct ps_assign *a, char *err,
                           size_t errlen)
{
    const struct ps_hello *h = &ag->hello;
    char x[32], y[32];
    uint64_t fds = (uint64_t)a->conn_count + AGENT_FD_MARGIN;
    if (fds > h->fd_soft) {
        fmt_num(x, sizeof x, fds);
        fmt_num(y, sizeof y, h->fd_hard);
        snprintf(err, errlen, "needs %s fds, hard limit %s (raise LimitNOFILE / nofile, see deploy/)",
                 x, y);
        return -1;
    }
    uint64_t ports = (uint64_t)h->port_hi - h->port_lo + 1;
    uint64_t usable = ports > 1024 ? ports - 1024 : ports / 2;   /* TIME_WAIT and others */
    uint64_t per, spread;
    if (!ag->opts.n_src) {
        /* connect() without bind() searches one parity of the range first and
         * the other only when that is full, slowly and with failures (seen
         * here: 14,799 of 15,000 to one destination); plan for half */
        usable = ports / 2 > 512 ? ports / 2 - 512 : ports / 4;
    }
    if (ag->opts.n_src) {
        spread = ag->opts.n_src;
        per = (a->conn_count + spread - 1) / spread;
        if (per > usable) {
            fmt_num(x, sizeof x, per);
            fmt_num(y, sizeof y, usable);
            snprintf(err, errlen, "needs %s source ports per source IP (%u IPs), only %s usable "
                     "in ip_local_port_range %u-%u: add source IPs", x, ag->opts.n_src, y,
                     h->port_lo, h->port_hi);
            return -1;
        }
    } else {
        spread = a->n_targets ? a->n_targets : 1;
        per = (a->conn_count + spread - 1) / spread;
        if (per > usable) {
            fmt_num(x, sizeof x, per);
            fmt_num(y, sizeof y, usable);
            snprintf(err, errlen, "needs %s source ports per target, only %s usable in "
                     "ip_local_port_range %u-%u: use --source-ips or more targets", x, y,
                     h->port_lo, h->port_hi);
            return -1;
        }
    }
    uint64_t need = (uint64_t)a->conn_count * 6 * 1024;   /* ours + lws + kernel, generous */
    if (h->mem_available && need > h->mem_available) {
        fmt_num(x, sizeof x, need >> 20);
        fmt_num(y, sizeof y, h->mem_available >> 20);
        snprintf(err, errlen, "needs about %s MiB of memory, %s MiB available", x, y);
        return -1;
    }
    return 0;
}

/* --source-ips auto: the machine's own non-loopback IPv4 addresses of interfaces
 * that are up (a load VM with address aliases spreads over all of them). */
int agent_auto_ips(char ips[][PS_IP_MAX], uint32_t max, uint32_t *n, char *err, size_t errlen)
{
    if (list_ips(ips, max, n, 1)) {
        snprintf(err, errlen, "cannot list the interfaces");
        return -1;
    }
    if (!*n) {
        snprintf(err, errlen, "no non-loopback IPv4 address is up on this machine");
        return -1;
    }
    return 0;
}

/* "10.0.0.10-10.0.0.40,10.0.1.5": IPv4 ranges and single addresses (v4 or v6). */
int agent_parse_ips(const char *spec, char ips[][PS_IP_MAX], uint32_t max, uint32_t *n,
                    char *err, size_t errlen)
{
    *n = 0;
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", spec) >= (int)sizeof buf) {
        snprintf(err, errlen, "--source-ips: list too long");
        return -1;
    }
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        char *dash = strchr(tok, '-');
        struct in_addr a, b;
        struct in6_addr a6;
        if (dash) {
            *dash = 0;
            if (inet_pton(AF_INET, tok, &a) != 1 || inet_pton(AF_INET, dash + 1, &b) != 1 ||
                ntohl(a.s_addr) > ntohl(b.s_addr)) {
                snprintf(err, errlen, "--source-ips: bad range %s-%s (want A.B.C.D-A.B.C.E)", tok,
                         dash + 1);
                return -1;
            }
            for (uint32_t v = ntohl(a.s_addr); v <= ntohl(b.s_addr); v++) {
                if (*n >= max) {
                    snprintf(err, errlen, "--source-ips: more than %u addresses", max);
                    return -1;
                }
                struct in_addr x = {htonl(v)};
                inet_ntop(AF_INET, &x, ips[(*n)++], PS_IP_MAX);
                if (v == UINT32_MAX)
                    break;
            }
        } else if (inet_pton(AF_INET, tok, &a) == 1 || inet_pton(AF_INET6, tok, &a6) == 1) {
            if (*n >= max) {
                snprintf(err, errlen, "--source-ips: more than %u addresses", max);
                return -1;
            }
            snprintf(ips[(*n)++], PS_IP_MAX, "%s", tok);
        } else {
            snprintf(err, errlen, "--source-ips: %s is not an IP address", tok);
            return -1;
        }
    }
    if (!*n) {
        snprintf(err, errlen, "--source-ips: no address given");
        return -1;
    }
    return 0;
}

/* local_plan: what agents started on this machine take from the plan.
 *
 *  - How many are expected. `run --local-agents N` with a plan that does not
 *    say agents.expect waits for those N (the plan's default of 1 would give
 *    the first one everything, past its fd limit). A plan that says
 *    agents.expect wins: it may expect more (agents from elsewhere join too),
 *    and when it expects fewer only that many start, rather than agents the
 *    run would refuse.
 *  - Their source addresses. Agents on one machine that connect to one
 *    loopback server without binding all come from 127.0.0.1, where connect()
 *    finds about half the ephemeral range per destination (the agent's
 *    preflight refuses 15,000 to one target), shared by every agent. Loopback
 *    answers on all of 127/8, so when every target is an IPv4 loopback
 *    address each agent gets its own: agent I 127.101.I.1 to 127.101.I.K,
 *    with K such that no address carries more than half its usable ports
 *    (the range less 1,024, as the agent's preflight counts them; the other
 *    half is left to TIME_WAIT of earlier closes and to reconnects), at least
 *    2. The share is the agent's even split of the connections, or all of
 *    them with split: capacity (one agent may be given that much). */
#include "local.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ps_proto.h"

#define LOCAL_SRC_OCTET 101      /* 127.101.I.x: agent I's addresses */
#define LOCAL_SRC_MIN   2

uint32_t local_plan_expect(struct plan *p, uint32_t n)
{
    if (!p->end.expect_line) {
        p->agents.expect = n;
        return n;
    }
    if (p->agents.expect < n) {
        fprintf(stderr, "pushstorm: the plan expects %u agent(s) (agents.expect, %s line %d), "
                "which wins over --local-agents %u: starting %u\n", p->agents.expect,
                p->path, p->end.expect_line, n, p->agents.expect);
        return p->agents.expect;
    }
    return n;
}

/* Is the host of the ws URL an IPv4 loopback address? */
static int local_target_loopback(const char *url)
{
    const char *h = strstr(url, "://");
    if (!h)
        return 0;
    h += 3;
    size_t len = strcspn(h, ":/?#");
    char host[PS_IP_MAX];
    struct in_addr a;
    if (len == 0 || len >= sizeof host)
        return 0;
    memcpy(host, h, len);
    host[len] = 0;
    return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* This machine's ephemeral range: the local agents' is the same. */
static uint64_t local_usable_ports(void)
{
    unsigned lo = 32768, hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%u %u", &lo, &hi) != 2 || hi < lo)
            lo = 32768, hi = 60999;
        fclose(f);
    }
    uint64_t ports = (uint64_t)hi - lo + 1;
    return ports > 1024 ? ports - 1024 : ports / 2;
}

int local_plan_sources(const struct plan *p, uint32_t n, char src[][LOCAL_SRC_MAX])
{
    for (uint32_t k = 0; k < p->n_targets; k++)
        if (!local_target_loopback(p->targets[k].ws))
            return 0;
    uint64_t per_addr = local_usable_ports() / 2, total = plan_max_connections(p);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t first, share = total;
        if (!p->agents.by_capacity)
            plan_agent_range(total, p->agents.expect > n ? p->agents.expect : n, i, &first, &share);
        uint64_t k = per_addr ? (share + per_addr - 1) / per_addr : LOCAL_SRC_MIN;
        k = k < LOCAL_SRC_MIN ? LOCAL_SRC_MIN : k > PS_MAX_IPS ? PS_MAX_IPS : k;
        snprintf(src[i], LOCAL_SRC_MAX, "127.%d.%u.1-127.%d.%u.%u", LOCAL_SRC_OCTET, i + 1,
                 LOCAL_SRC_OCTET, i + 1, (unsigned)k);
    }
    return 1;
}

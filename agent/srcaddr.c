/* srcaddr.c: binding a connection to a source address without an interface walk.
 *
 * lws 4.1.6 binds a client socket to ci.iface in lws_socket_bind(), which first
 * calls getifaddrs() - a netlink dump of every link and address, ~30 us of CPU
 * here, a third of a whole connect - looking for an interface of that name,
 * and only then takes the string as an IP literal (inet_pton). The agent's
 * source addresses are always IP literals (agent_parse_ips), so that walk can
 * never match. lws 4.1.6 offers no way around it: no callback between its
 * socket() and connect(), no client-side adopt of a socket we would bind
 * ourselves, no vhost or connect_info field for a client's source address.
 *
 * So the agent defines getifaddrs() itself (an executable's definitions come
 * before libc's for the libraries it loads): while the calling thread is
 * inside agent_srcaddr_connect() it answers an empty list, and lws goes straight
 * to inet_pton() and bind(), exactly as it would have after the walk; every
 * other call (the preflight, --source-ips auto, other threads) gets libc's.
 * The only state is the calling thread's own flag, set and cleared around the
 * one lws call. A link-local IPv6 source (fe80::/10) is left to the walk: lws
 * finds its interface's scope id in the same list, and bind() needs it.
 *
 * The native engine (wsc.c) binds its sockets itself; for a link-local source
 * it takes the scope id that agent_srcaddr_scopes() found at start-up, in one
 * walk for all the addresses, never one per connection. */
#include "agent.h"

#include <dlfcn.h>
#include <errno.h>
#include <ifaddrs.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <string.h>

static _Thread_local int agent_srcaddr_dialing;

/* Is ip a link-local IPv6 address (fe80::/10)? Its bytes into a6 if so. */
static int agent_srcaddr_linklocal(const char *ip, struct in6_addr *a6)
{
    return inet_pton(AF_INET6, ip, a6) == 1 && IN6_IS_ADDR_LINKLOCAL(a6);
}

struct lws *agent_srcaddr_connect(const struct lws_client_connect_info *ci)
{
    struct in6_addr a6;
    agent_srcaddr_dialing = ci->iface && !agent_srcaddr_linklocal(ci->iface, &a6);
    struct lws *wsi = lws_client_connect_via_info(ci);
    agent_srcaddr_dialing = 0;
    return wsi;
}

int getifaddrs(struct ifaddrs **ifap)
{
    if (agent_srcaddr_dialing) {
        *ifap = NULL;   /* freeifaddrs(NULL) is free(NULL) */
        return 0;
    }
    int (*libc_getifaddrs)(struct ifaddrs **);
    *(void **)&libc_getifaddrs = dlsym(RTLD_NEXT, "getifaddrs");
    if (!libc_getifaddrs) {
        errno = ENOSYS;
        return -1;
    }
    return libc_getifaddrs(ifap);
}

/* One walk of the interfaces at start-up: each link-local IPv6 source gets
 * the index of the interface that holds it. An address on no interface keeps
 * 0, and its connections fail at bind() with EINVAL, as lws's would. */
void agent_srcaddr_scopes(struct agent_opts *o)
{
    struct in6_addr a6[PS_MAX_IPS];
    int any = 0;
    for (uint32_t i = 0; i < o->n_src; i++) {
        o->src_scope[i] = 0;
        int ll = agent_srcaddr_linklocal(o->src_ips[i], &a6[i]);
        if (!ll)
            memset(&a6[i], 0, sizeof a6[i]);
        any |= ll;
    }
    struct ifaddrs *ifs;
    if (!any || getifaddrs(&ifs))
        return;
    for (struct ifaddrs *f = ifs; f; f = f->ifa_next) {
        if (!f->ifa_addr || f->ifa_addr->sa_family != AF_INET6)
            continue;
        const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)f->ifa_addr;
        for (uint32_t i = 0; i < o->n_src; i++)
            if (!o->src_scope[i] && IN6_IS_ADDR_LINKLOCAL(&a6[i]) &&
                !memcmp(&sa->sin6_addr, &a6[i], sizeof a6[i]))
                o->src_scope[i] = sa->sin6_scope_id ? sa->sin6_scope_id : if_nametoindex(f->ifa_name);
    }
    freeifaddrs(ifs);
}

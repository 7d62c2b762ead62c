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
 * finds its interface's scope id in the same list, and bind() needs it. */
#include "agent.h"

#include <dlfcn.h>
#include <errno.h>
#include <ifaddrs.h>
#include <arpa/inet.h>

static _Thread_local int agent_srcaddr_dialing;

struct lws *agent_srcaddr_connect(const struct lws_client_connect_info *ci)
{
    struct in6_addr a6;
    agent_srcaddr_dialing = ci->iface && !(inet_pton(AF_INET6, ci->iface, &a6) == 1 &&
                                           IN6_IS_ADDR_LINKLOCAL(&a6));
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

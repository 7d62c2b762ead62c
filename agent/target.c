/* target.c: turning a ws:// URL template into something lws can dial.
 *
 * lws 4.1.6 resolves names with a blocking getaddrinfo on the loop thread, so
 * each target's host is resolved once, at assignment, and connections are given
 * the numeric address (with the name kept for the Host header and TLS). The
 * host part of a target may therefore not contain per-connection template
 * variables; the path and query may (they are expanded at connect time).
 *
 * An IPv6 literal keeps its brackets in t->host, because that is what Host: and
 * Origin: must carry (RFC 3986 3.2.2: "[::1]"; without them a server reads the
 * last group as a port and answers 400); only the lookup sees the bare address. */
#include "agent.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int agent_target_resolve(struct agent_target *t, const char *url, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    const char *p;
    if (!strncmp(url, "ws://", 5)) {
        p = url + 5;
    } else if (!strncmp(url, "wss://", 6)) {
        p = url + 6;
        t->scheme_tls = 1;
    } else {
        snprintf(err, errlen, "target %.200s: not a ws:// or wss:// URL", url);
        return -1;
    }
    size_t hostlen = strcspn(p, "/?");
    const char *hend = p + hostlen;
    const char *colon = NULL;
    char bare[sizeof t->host];
    if (*p == '[') {                       /* [v6]:port */
        const char *rb = memchr(p, ']', hostlen);
        if (!rb) {
            snprintf(err, errlen, "target %.200s: unterminated [address]", url);
            return -1;
        }
        if (rb + 1 < hend && rb[1] != ':') {
            snprintf(err, errlen, "target %.200s: junk after [address]", url);
            return -1;
        }
        if (rb + 1 < hend)
            colon = rb + 1;
        struct in6_addr a6;
        snprintf(bare, sizeof bare, "%.*s", (int)(rb - p - 1), p + 1);
        if (inet_pton(AF_INET6, bare, &a6) != 1) {
            snprintf(err, errlen, "target %.200s: [%s] is not an IPv6 address", url, bare);
            return -1;
        }
        snprintf(t->host, sizeof t->host, "%.*s", (int)(rb + 1 - p), p);
    } else {
        colon = memchr(p, ':', hostlen);
        size_t n = colon ? (size_t)(colon - p) : hostlen;
        if (n == 0 || n >= sizeof t->host) {
            snprintf(err, errlen, "target %.200s: bad host", url);
            return -1;
        }
        snprintf(t->host, sizeof t->host, "%.*s", (int)n, p);
        snprintf(bare, sizeof bare, "%s", t->host);
    }
    if (strchr(t->host, '{')) {
        snprintf(err, errlen, "target %.200s: templates are allowed in the path, not the host", url);
        return -1;
    }
    t->port = t->scheme_tls ? 443 : 80;
    if (colon) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (end != hend || port <= 0 || port > 65535) {
            snprintf(err, errlen, "target %.200s: bad port", url);
            return -1;
        }
        t->port = (int)port;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(bare, NULL, &hints, &res);
    if (rc || !res) {
        snprintf(err, errlen, "target %.200s: cannot resolve %s: %s", url, t->host,
                 gai_strerror(rc));
        return -1;
    }
    const void *a = res->ai_family == AF_INET6
                        ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
                        : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
    inet_ntop(res->ai_family, a, t->addr, sizeof t->addr);
    freeaddrinfo(res);
    return 0;
}

/* The path and query of an (expanded) URL; "/" when it has none. */
int agent_target_path(const char *url, char *path, size_t len)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    p += strcspn(p, "/?");
    int n = snprintf(path, len, "%s%s", *p == '/' ? "" : "/", p);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* allow.c: --allow-targets, the hosts this agent agrees to load.
 *
 * A fleet that holds a million connections is a weapon in the hands of
 * whoever controls the controller; the operator of each agent host says here
 * where its load may go, and an assignment with any target outside the list
 * is refused as a whole (the controller's run fails with the reason). Entries,
 * comma-separated:
 *   10.0.0.0/8  192.0.2.7  [2001:db8::]/32  ::1   any port of those addresses
 *   10.0.0.5:8080  [::1]:443  10.1.0.0/16:443      one port only
 *   push.example.com:443  push.example.com        a name as the target URL writes it
 * Addresses match the target's resolved address (what the agent dials), so a
 * name that resolves inside an allowed network is allowed too. */
#include "agent.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int allow_port(const char *s, int *port)
{
    char *end;
    long p = strtol(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || p <= 0 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

/* One entry into r; its text is e (NUL-terminated, modified). */
static int allow_entry(struct agent_allow_rule *r, char *e, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    char orig[300];
    snprintf(orig, sizeof orig, "%s", e);   /* e is cut up below */
    char *port = NULL, *addr = e;
    if (*e == '[') {                                  /* [v6](/bits)(:port) */
        char *rb = strchr(e, ']');
        if (!rb)
            goto bad;
        *rb = 0;
        addr = e + 1;
        char *rest = rb + 1;
        if (*rest == '/') {
            char *colon = strchr(rest, ':');
            if (colon) {
                *colon = 0;
                port = colon + 1;
            }
            r->bits = atoi(rest + 1);
            r->has_bits = 1;
        } else if (*rest == ':') {
            port = rest + 1;
        } else if (*rest) {
            goto bad;
        }
        r->family = AF_INET6;
    } else if (strchr(e, ':') != strrchr(e, ':')) {   /* bare v6, no port */
        r->family = AF_INET6;
    } else {
        char *colon = strchr(e, ':');
        if (colon) {
            *colon = 0;
            port = colon + 1;
        }
    }
    char *slash = r->family == AF_INET6 && r->has_bits ? NULL : strchr(addr, '/');
    if (slash) {
        *slash = 0;
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (slash[1] < '0' || slash[1] > '9' || *end)
            goto bad;
        r->bits = (int)b;
        r->has_bits = 1;
    }
    if (port && allow_port(port, &r->port))
        goto bad;
    if (inet_pton(AF_INET6, addr, r->addr) == 1) {
        r->family = AF_INET6;
    } else if (r->family != AF_INET6 && inet_pton(AF_INET, addr, r->addr) == 1) {
        r->family = AF_INET;
    } else if (r->family == AF_INET6 || r->has_bits || !*addr ||
               strlen(addr) >= sizeof r->host || strspn(addr, "0123456789.") == strlen(addr)) {
        goto bad;
    } else {
        r->family = 0;                                /* a host name */
        snprintf(r->host, sizeof r->host, "%s", addr);
        return 0;
    }
    int max = r->family == AF_INET ? 32 : 128;
    if (!r->has_bits)
        r->bits = max;
    if (r->bits < 0 || r->bits > max)
        goto bad;
    return 0;
bad:
    snprintf(err, errlen, "--allow-targets: \"%s\" is not ADDR[/BITS][:PORT], [V6][/BITS][:PORT] "
                          "or HOST[:PORT]", orig);
    return -1;
}

int agent_allow_parse(struct agent_allow *al, const char *list, char *err, size_t errlen)
{
    memset(al, 0, sizeof *al);
    snprintf(al->text, sizeof al->text, "%s", list);
    if (strlen(list) >= sizeof al->text) {
        snprintf(err, errlen, "--allow-targets: longer than %zu bytes", sizeof al->text - 1);
        return -1;
    }
    char buf[sizeof al->text];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *e = strtok_r(buf, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
        while (*e == ' ')
            e++;
        if (!*e)
            continue;
        if (al->n == AGENT_ALLOW_MAX) {
            snprintf(err, errlen, "--allow-targets: more than %d entries", AGENT_ALLOW_MAX);
            return -1;
        }
        if (allow_entry(&al->rules[al->n], e, err, errlen))
            return -1;
        al->n++;
    }
    if (!al->n) {
        snprintf(err, errlen, "--allow-targets: empty list");
        return -1;
    }
    al->set = 1;
    return 0;
}

static int allow_in_net(const struct agent_allow_rule *r, const unsigned char *a)
{
    int full = r->bits / 8, rest = r->bits % 8;
    if (memcmp(r->addr, a, (size_t)full))
        return 0;
    if (!rest)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (r->addr[full] & mask) == (a[full] & mask);
}

static int allow_match(const struct agent_allow_rule *r, const struct agent_target *t)
{
    if (r->port && r->port != t->port)
        return 0;
    if (!r->family) {
        /* t->host keeps an IPv6 literal's brackets; names compare without case */
        return !strcasecmp(r->host, t->host);
    }
    unsigned char a[16];
    int fam = strchr(t->addr, ':') ? AF_INET6 : AF_INET;
    return fam == r->family && inet_pton(fam, t->addr, a) == 1 && allow_in_net(r, a);
}

int agent_allow_check(const struct agent_allow *al, const struct agent_target *t, const char *url,
                      char *err, size_t errlen)
{
    if (!al->set)
        return 0;
    for (uint32_t i = 0; i < al->n; i++)
        if (allow_match(&al->rules[i], t))
            return 0;
    snprintf(err, errlen, "target %.60s (%.46s port %d) is outside --allow-targets %.40s", url,
             t->addr, t->port, al->text);
    return -1;
}

/* conn_reason.c: why a connection attempt failed, and which Close codes a
 * server may send.
 *
 * lws 4.1.6 reports a failure before the upgrade as a line of text meant for
 * people, and the same line covers different causes: a refused port, a host
 * that cannot be reached and its own connect timeout all end as "closed
 * before established" (or "Unable to connect"), which made every refusal of a
 * restarting server read as `other`. The socket knows better, so conn.c
 * collects what it says (SO_ERROR while lws still holds the socket, else the
 * errno lws left behind, and whether the TCP handshake was still under way)
 * and the reason is decided here, in this order: the socket's connect error,
 * an unanswered SYN, lws's text for what happens above TCP (HTTP status,
 * Accept hash, a reply that is not HTTP, TLS), then a reset.
 *
 * A server's Close carries a code; one that no endpoint may send is the server
 * breaking the protocol, not a reason it gave. lws 4.1.6 rewrites such codes
 * (below 1000, 1004-1006, 1012-1015, 1016-2999) to 1002 before the callback
 * sees them, so the original is lost and a received 1002 is taken as
 * `protocol` too (it says a side broke the protocol either way); codes lws
 * passes on that are still invalid (5000 and up) keep their value in aux, and
 * the native engine (wsc_io.c) passes every code on as the server sent it.
 * No lws here: the rules are unit-tested on their own
 * (tests/unit/agent/test_conn_reason.c). */
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Errors only a connect() gets, by errno; 0 = not one of them. A reset can
 * also follow a TLS alert or a rejected upgrade, so it decides last. */
static uint8_t agent_conn_errno_reason(int e)
{
    static const struct { int err; uint8_t reason; } table[] = {
        {ECONNREFUSED, PS_REASON_REFUSED},
        {ETIMEDOUT, PS_REASON_TIMEOUT},
        {EHOSTUNREACH, PS_REASON_UNREACHABLE},
        {ENETUNREACH, PS_REASON_UNREACHABLE},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].err == e)
            return table[i].reason;
    return 0;
}

/* lws's texts for failures above TCP, first match wins. */
static const struct { const char *text; uint8_t reason; } agent_conn_texts[] = {
    {"unauthorized", PS_REASON_HTTP_STATUS},
    {"not 101", PS_REASON_HTTP_STATUS},
    {"Accept hash", PS_REASON_BAD_ACCEPT},
    {"timeout", PS_REASON_TIMEOUT},
    {"timed out", PS_REASON_TIMEOUT},
    {"Timed out", PS_REASON_TIMEOUT},
    /* the answer to the upgrade was not HTTP, or the server hung up on it */
    {"problems parsing header", PS_REASON_HANDSHAKE},
    {"read failed", PS_REASON_HANDSHAKE},
    {"Peer hung up", PS_REASON_HANDSHAKE},
    {"HS:", PS_REASON_HANDSHAKE},
    /* certificate rejections and the server's alerts were caught in their own
     * callbacks (lws 4.1.6 passes on no OpenSSL detail: "connect SSL err 1:
     * error:00000001:lib(0)::reason(1)"): what is left is the handshake */
    {"SSL", PS_REASON_TLS_HANDSHAKE},
    {"ssl", PS_REASON_TLS_HANDSHAKE},
    {"tls", PS_REASON_TLS_HANDSHAKE},
};

uint8_t agent_conn_classify(const struct agent_conn_why *why, uint32_t *aux)
{
    *aux = 0;
    uint8_t r = agent_conn_errno_reason(why->sock_err);
    if (r) {
        *aux = (uint32_t)why->sock_err;
        return r;
    }
    if (why->syn_sent)   /* lws gave up before the server answered the SYN */
        return PS_REASON_TIMEOUT;
    for (size_t i = 0; why->msg && i < sizeof agent_conn_texts / sizeof agent_conn_texts[0]; i++)
        if (strstr(why->msg, agent_conn_texts[i].text))
            return agent_conn_texts[i].reason;
    if (why->sock_err == ECONNRESET || why->sock_err == EPIPE) {
        *aux = (uint32_t)why->sock_err;
        return PS_REASON_RESET;
    }
    return PS_REASON_OTHER;
}

int agent_conn_route_errno(const char *addr, int port)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        len = sizeof *v6;
    } else {
        return 0;
    }
    /* a UDP connect() only looks the route up: nothing is sent */
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int e = connect(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno;
    close(fd);
    return e;
}

/* RFC 6455 7.4: 1004-1006 and 1015 are reserved and never sent, 1016-2999
 * belong to future versions of the protocol, and nothing below 1000 or from
 * 5000 up is defined; 1012-1014 are registered with IANA. */
int agent_close_code_valid(uint32_t code)
{
    if (code >= 3000 && code <= 4999)
        return 1;
    return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

uint8_t agent_close_reason(uint32_t code)
{
    return agent_close_code_valid(code) && code != 1002 ? PS_REASON_SERVER_CLOSE
                                                        : PS_REASON_PROTOCOL;
}

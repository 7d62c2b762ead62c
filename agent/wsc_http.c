/* wsc_http.c: the opening handshake of RFC 6455 section 4, as bytes.
 *
 * The client's half is one request written into the caller's buffer (the
 * engine sends it with one write) and a random key, base64 of 16 bytes. The
 * server's half is checked once, whole: the engine gathers the response head
 * until agent_wsc_http_head_end finds its blank line (bounded by
 * AGENT_WSC_HEAD_LIMIT), and agent_wsc_http_check then reads the status line
 * and every header line, so each way a server can refuse or misbehave has its
 * own result (enum agent_wsc_hs) for the connection's failure reason.
 *
 * The head is read strictly as HTTP/1.1 says (RFC 9112): "HTTP/1.x", a
 * three-digit status from 100 to 599, header names of token characters
 * followed at once by a colon, lines ending in CRLF, no control characters
 * in values, no obsolete line folding, and the blank line ending the head
 * exactly at its end. A status other than 101 is reported as such before the headers are
 * read: a 401 or 503 is what the run wants to count, whatever its headers.
 * Of a 101's headers only the five of the handshake matter: Upgrade and
 * Connection as case-insensitive token lists (they may appear more than
 * once), exactly one Sec-WebSocket-Accept equal to base64(SHA-1(key + GUID)),
 * at most one Sec-WebSocket-Protocol naming one of the offered protocols
 * (compared exactly, as the RFC's tokens are), and no
 * Sec-WebSocket-Extensions at all, since we offer none. */
#include "wsc_http.h"

#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define WSC_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static const char *const wsc_hs_names[] = {
    [AGENT_WSC_HS_OK] = "ok",
    [AGENT_WSC_HS_STATUS] = "status is not 101",
    [AGENT_WSC_HS_NOT_HTTP] = "response is not HTTP/1.x or its head does not parse",
    [AGENT_WSC_HS_UPGRADE] = "101 without Upgrade: websocket and Connection: upgrade",
    [AGENT_WSC_HS_ACCEPT] = "Sec-WebSocket-Accept missing or wrong",
    [AGENT_WSC_HS_PROTOCOL] = "Sec-WebSocket-Protocol not one offered",
    [AGENT_WSC_HS_EXTENSION] = "Sec-WebSocket-Extensions answered (none offered)",
};

const char *agent_wsc_hs_name(int hs)
{
    if (hs >= 0 && hs < (int)(sizeof wsc_hs_names / sizeof wsc_hs_names[0]))
        return wsc_hs_names[hs];
    return "unknown";
}

/* Appends the NULL-terminated strings; *n past cap means it did not fit. */
static void wsc_put(char *out, size_t cap, size_t *n, ...)
{
    va_list ap;
    va_start(ap, n);
    for (const char *s; (s = va_arg(ap, const char *));) {
        size_t l = strlen(s);
        if (*n <= cap && l <= cap - *n)
            memcpy(out + *n, s, l);
        *n += l;
    }
    va_end(ap);
}

/* A value that would end its line (or, in the request target, its field) early: a template
 * expanded from CSV data may hold anything, and a request that says something else than meant
 * must not leave. */
static int wsc_field_bad(const char *s, int space_ends)
{
    for (; s && *s; s++)
        if (((unsigned char)*s < 32 && (*s != '\t' || space_ends)) || *s == 127 ||
            (space_ends && *s == ' '))
            return 1;
    return 0;
}

int agent_wsc_http_request(char *out, size_t cap, const struct agent_wsc_req *r)
{
    if (!r->path || !r->host || !r->key || wsc_field_bad(r->path, 1) || wsc_field_bad(r->host, 0) ||
        wsc_field_bad(r->key, 0) || wsc_field_bad(r->origin, 0) || wsc_field_bad(r->protocol, 0))
        return -1;
    size_t n = 0;
    wsc_put(out, cap, &n, "GET ", r->path, " HTTP/1.1\r\nHost: ", r->host,
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ", r->key,
            "\r\nSec-WebSocket-Version: 13\r\n", (char *)NULL);
    if (r->origin)
        wsc_put(out, cap, &n, "Origin: http://", r->origin, "\r\n", (char *)NULL);
    if (r->protocol)
        wsc_put(out, cap, &n, "Sec-WebSocket-Protocol: ", r->protocol, "\r\n", (char *)NULL);
    if (r->extra)
        wsc_put(out, cap, &n, r->extra, (char *)NULL);
    wsc_put(out, cap, &n, "\r\n", (char *)NULL);
    return n <= cap && n <= INT_MAX ? (int)n : -1;
}

void agent_wsc_http_key(const uint8_t raw[16], char out[AGENT_WSC_KEY_LEN + 1])
{
    EVP_EncodeBlock((unsigned char *)out, raw, 16);
}

void agent_wsc_http_accept(const char *key, char out[AGENT_WSC_ACCEPT_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    out[0] = 0;                                   /* a failure matches no answer */
    if (c && EVP_DigestInit_ex(c, EVP_sha1(), NULL) && EVP_DigestUpdate(c, key, strlen(key)) &&
        EVP_DigestUpdate(c, WSC_GUID, sizeof WSC_GUID - 1) && EVP_DigestFinal_ex(c, md, &mdlen) &&
        mdlen == 20)
        EVP_EncodeBlock((unsigned char *)out, md, 20);
    EVP_MD_CTX_free(c);
}

size_t agent_wsc_http_head_end(const char *buf, size_t len)
{
    const char *e = memmem(buf, len, "\r\n\r\n", 4);
    return e ? (size_t)(e - buf) + 4 : 0;
}

/* ---- reading the response */

static int wsc_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 9110 tchar */
static int wsc_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int wsc_ctl(unsigned char c)
{
    return (c < 32 && c != '\t') || c == 127;
}

static int wsc_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Whether the comma list s[0..n) has the element t[0..tn) (optional whitespace around
 * elements ignored). */
static int wsc_list_has(const char *s, size_t n, const char *t, size_t tn, int nocase)
{
    const char *end = s + n;
    while (s < end) {
        const char *e = memchr(s, ',', (size_t)(end - s));
        if (!e)
            e = end;
        const char *a = s, *b = e;
        while (a < b && wsc_ows(*a))
            a++;
        while (b > a && wsc_ows(b[-1]))
            b--;
        if ((size_t)(b - a) == tn && (nocase ? !strncasecmp(a, t, tn) : !memcmp(a, t, tn)))
            return 1;
        s = e + 1;
    }
    return 0;
}

enum { WSC_H_UPGRADE, WSC_H_CONNECTION, WSC_H_ACCEPT, WSC_H_PROTOCOL, WSC_H_EXTENSIONS, WSC_H_N };

static const char *const wsc_h_names[WSC_H_N] = {
    [WSC_H_UPGRADE] = "Upgrade",
    [WSC_H_CONNECTION] = "Connection",
    [WSC_H_ACCEPT] = "Sec-WebSocket-Accept",
    [WSC_H_PROTOCOL] = "Sec-WebSocket-Protocol",
    [WSC_H_EXTENSIONS] = "Sec-WebSocket-Extensions",
};

/* What the head's lines said about the handshake. */
struct wsc_seen {
    unsigned count[WSC_H_N];
    int websocket, upgrade;                      /* the tokens of Upgrade / Connection */
    const char *accept, *protocol;               /* the last value of each */
    size_t accept_len, protocol_len;
};

static void wsc_header(struct wsc_seen *s, const char *name, size_t nlen, const char *v,
                       size_t vlen)
{
    int h = 0;
    while (h < WSC_H_N &&
           !(strlen(wsc_h_names[h]) == nlen && !strncasecmp(wsc_h_names[h], name, nlen)))
        h++;
    if (h == WSC_H_N)
        return;
    s->count[h]++;
    if (h == WSC_H_UPGRADE)
        s->websocket |= wsc_list_has(v, vlen, "websocket", 9, 1);
    else if (h == WSC_H_CONNECTION)
        s->upgrade |= wsc_list_has(v, vlen, "upgrade", 7, 1);
    else if (h == WSC_H_ACCEPT)
        s->accept = v, s->accept_len = vlen;
    else if (h == WSC_H_PROTOCOL)
        s->protocol = v, s->protocol_len = vlen;
}

/* The header lines from p to the blank line, which must end the head. */
static int wsc_headers(const char *p, const char *end, struct wsc_seen *s)
{
    for (;;) {
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
            return p + 2 == end;
        const char *name = p;
        while (p < end && wsc_tchar((unsigned char)*p))
            p++;
        if (p == name || p == end || *p != ':')
            return 0;
        size_t nlen = (size_t)(p - name);
        const char *v = ++p;
        while (p < end && *p != '\r') {
            if (wsc_ctl((unsigned char)*p))
                return 0;
            p++;
        }
        if (end - p < 2 || p[1] != '\n')
            return 0;
        const char *ve = p;
        p += 2;
        while (v < ve && wsc_ows(*v))
            v++;
        while (ve > v && wsc_ows(ve[-1]))
            ve--;
        wsc_header(s, name, nlen, v, (size_t)(ve - v));
    }
}

/* "HTTP/1.x DDD[ reason]\r\n" with DDD in 100..599 (RFC 9110 15): the code, or -1; *next = the
 * first header line. With only the line's first 12 bytes right, the code is still given (and
 * *next left NULL). */
static int wsc_status_line(const char *p, const char *end, const char **next)
{
    *next = NULL;
    if (end - p < 12 || memcmp(p, "HTTP/1.", 7) || !wsc_digit(p[7]) || p[8] != ' ' ||
        p[9] < '1' || p[9] > '5' || !wsc_digit(p[10]) || !wsc_digit(p[11]))
        return -1;
    int code = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    p += 12;
    if (p < end && *p == ' ')
        while (p < end && *p != '\r' && !wsc_ctl((unsigned char)*p))
            p++;
    if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
        *next = p + 2;
    return code;
}

enum agent_wsc_hs agent_wsc_http_check(const char *head, size_t len, const char *key,
                                       const char *offered, int *status)
{
    const char *end = head + len, *p;
    int code = wsc_status_line(head, end, &p);
    *status = code < 0 ? 0 : code;
    if (!p || len > AGENT_WSC_HEAD_LIMIT)
        return AGENT_WSC_HS_NOT_HTTP;
    if (code != 101)
        return AGENT_WSC_HS_STATUS;
    struct wsc_seen s = { 0 };
    if (!wsc_headers(p, end, &s))
        return AGENT_WSC_HS_NOT_HTTP;
    if (!s.websocket || !s.upgrade)
        return AGENT_WSC_HS_UPGRADE;
    char want[AGENT_WSC_ACCEPT_LEN + 1];
    agent_wsc_http_accept(key, want);
    if (s.count[WSC_H_ACCEPT] != 1 || s.accept_len != AGENT_WSC_ACCEPT_LEN ||
        memcmp(s.accept, want, AGENT_WSC_ACCEPT_LEN))
        return AGENT_WSC_HS_ACCEPT;
    if (s.count[WSC_H_PROTOCOL] &&
        (s.count[WSC_H_PROTOCOL] > 1 || !offered || !s.protocol_len ||
         !wsc_list_has(offered, strlen(offered), s.protocol, s.protocol_len, 0)))
        return AGENT_WSC_HS_PROTOCOL;
    if (s.count[WSC_H_EXTENSIONS])
        return AGENT_WSC_HS_EXTENSION;
    return AGENT_WSC_HS_OK;
}

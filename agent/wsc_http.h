/* wsc_http.h: the opening handshake of RFC 6455 section 4, as bytes, for the
 * agent's native WebSocket client engine (agent/wsc.c): the upgrade request,
 * the key, where the response head ends and whether it accepts us. A pure
 * codec (no lws, no libuv; SHA-1 and base64 from libcrypto); agent/wsc_http.c
 * says what it accepts. */
#ifndef PS_WSC_HTTP_H
#define PS_WSC_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_WSC_KEY_LEN 24     /* base64 of 16 random bytes */
#define AGENT_WSC_ACCEPT_LEN 28  /* base64 of a SHA-1 */
#define AGENT_WSC_HEAD_LIMIT 8192 /* a response head longer than this is refused (NOT_HTTP) */

struct agent_wsc_req {
    const char *host;            /* the Host: value, already with ":port" when it is not 80 */
    const char *path;            /* the request target, starting with '/' */
    const char *origin;          /* NULL = no Origin header; else sent as "Origin: http://<origin>" */
    const char *protocol;        /* Sec-WebSocket-Protocol value (may be a comma list), NULL = none */
    const char *key;             /* AGENT_WSC_KEY_LEN characters */
    const char *extra;           /* more header lines, each "Name: value\r\n", or NULL */
};
/* "GET <path> HTTP/1.1", Host, Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Key,
 * Sec-WebSocket-Version: 13, then Origin / Sec-WebSocket-Protocol / extra when given, then the
 * blank line. Returns the length written (no NUL needed) or -1 if it does not fit in cap, or if
 * host, path or key is NULL, or a field holds a control character (path: or a space) that would
 * end its line early. */
int  agent_wsc_http_request(char *out, size_t cap, const struct agent_wsc_req *r);
void agent_wsc_http_key(const uint8_t raw[16], char out[AGENT_WSC_KEY_LEN + 1]);   /* base64 + NUL */
/* The Sec-WebSocket-Accept a server must answer key with: base64(SHA-1(key + the RFC's GUID)),
 * NUL-terminated. */
void agent_wsc_http_accept(const char *key, char out[AGENT_WSC_ACCEPT_LEN + 1]);
/* The end of the response head in buf[0..len): the length including its "\r\n\r\n", 0 = not yet
 * complete. (The lead's engine gathers bytes until this is nonzero or AGENT_WSC_HEAD_LIMIT is hit;
 * bytes after the head are the first frames.) */
size_t agent_wsc_http_head_end(const char *buf, size_t len);

enum agent_wsc_hs {
    AGENT_WSC_HS_OK = 0,
    AGENT_WSC_HS_STATUS,         /* HTTP, but the status is not 101 (*status says which) */
    AGENT_WSC_HS_NOT_HTTP,       /* not an HTTP/1.x status line, or headers that do not parse */
    AGENT_WSC_HS_UPGRADE,        /* 101 without "Upgrade: websocket" or "Connection: upgrade" */
    AGENT_WSC_HS_ACCEPT,         /* Sec-WebSocket-Accept missing or not SHA-1(key + GUID) */
    AGENT_WSC_HS_PROTOCOL,       /* a Sec-WebSocket-Protocol that was not offered (none offered,
                                    or not one of the offered comma list); none answered is OK */
    AGENT_WSC_HS_EXTENSION,      /* any Sec-WebSocket-Extensions (we offer none) */
};
/* Checks one whole response head (as found by agent_wsc_http_head_end). Header names are
 * case-insensitive, values of Upgrade/Connection are case-insensitive token lists ("keep-alive,
 * Upgrade" is fine), optional whitespace around values is ignored. *status = the status code when
 * the status line is HTTP/1.x (for every outcome), else 0. */
enum agent_wsc_hs agent_wsc_http_check(const char *head, size_t len, const char *key,
                                       const char *offered, int *status);
/* An agent_wsc_http_check result in words, for the log ("unknown" for anything else). */
const char *agent_wsc_hs_name(int hs);

#endif

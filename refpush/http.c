/* refpush http: the HTTP side of lws - routing, request bodies, responses.
 *
 * This is protocols[0] of both vhosts, so lws hands it every plain HTTP
 * request, and the WebSocket upgrade decision (LWS_CALLBACK_HTTP_CONFIRM_UPGRADE).
 * What each endpoint does is in api.c; this file only gets requests to it and
 * answers back.
 *
 * A request is decided as far as possible from its headers, in
 * LWS_CALLBACK_HTTP: the route, the method check, the query arguments. Requests
 * without a body are answered there and then. A POST is never answered before
 * its body has been read to the end, even when the answer is an error known
 * from the headers: answering early and reading on would make the rest of the
 * body look like the next request on a keep-alive connection. Bodies arrive in
 * LWS_CALLBACK_HTTP_BODY chunks into a 64 KiB buffer from the server's pool (so
 * a steady push load allocates no buffers); a body over the limit is read and
 * discarded, then answered 413. The action runs on
 * LWS_CALLBACK_HTTP_BODY_COMPLETION.
 *
 * A client that sent "Expect: 100-continue" is told to go on right away: lws
 * 4.1 does not answer that header, and curl would wait a second for it.
 *
 * lws 4.1 waits for a body on any POST, and without a Content-Length it waits
 * for 100 MB; such a POST (curl -X POST without -d) is therefore taken as
 * having an empty body, answered at once with "connection: close", and the
 * connection closed.
 *
 * The per-request state is lws's per-session memory for this protocol; lws
 * frees and zeroes it between requests (it re-binds the protocol on each), and
 * the pooled body buffer goes back to the pool on completion, on
 * LWS_CALLBACK_HTTP_DROP_PROTOCOL and on LWS_CALLBACK_CLOSED_HTTP, whichever
 * comes first.
 *
 * Responses are built in the server's reused buffer (s->out) with room in front
 * for the headers, which are then copied before the body so the whole answer
 * goes out in one write. lws copies whatever the socket does not take at once,
 * so s->out is free again as soon as the write returns. */
#include "server.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "query.h"

/* Free body buffers kept for reuse; more than this are freed. */
#define REFPUSH_BODY_POOL_KEEP 128

enum refpush_route {
    REFPUSH_ROUTE_NONE = 0,
    REFPUSH_ROUTE_WS,
    REFPUSH_ROUTE_PUSH,
    REFPUSH_ROUTE_BROADCAST,
    REFPUSH_ROUTE_STATS,
    REFPUSH_ROUTE_KICK,
    REFPUSH_ROUTE_DROP,
};

static const struct refpush_route_def {
    const char *path;
    enum refpush_route route;
    int post;              /* 1: POST, 0: GET */
} refpush_routes[] = {
    { "/ws",          REFPUSH_ROUTE_WS,        0 },
    { "/push",        REFPUSH_ROUTE_PUSH,      1 },
    { "/broadcast",   REFPUSH_ROUTE_BROADCAST, 1 },
    { "/stats",       REFPUSH_ROUTE_STATS,     0 },
    { "/admin/kick",  REFPUSH_ROUTE_KICK,      1 },
    { "/admin/drop",  REFPUSH_ROUTE_DROP,      1 },
};

/* lws's per-session memory for the HTTP protocol: one request. */
struct refpush_req {
    uint8_t  route;            /* enum refpush_route */
    uint8_t  has_body;         /* POST/PUT/PATCH: answer after the body */
    uint8_t  too_big;          /* body over REFPUSH_BODY_MAX: read, discarded, 413 */
    uint16_t status;           /* error decided from the headers, or 0 */
    const char *allow;         /* Allow header for a 405 */
    uint64_t uids[REFPUSH_PUSH_UIDS_MAX]; /* /push?uid=N or uid=N,M,... (multicast) */
    uint32_t n_uids;
    double   fraction;
    uint64_t *nth;             /* /admin/drop ordinals, owned until handed over */
    size_t   n_nth;
    struct refpush_body *body; /* from the server's pool */
    size_t   body_len;
    char     error[200];       /* message for status */
};

static const struct refpush_route_def *refpush_route_find(const char *path, size_t len)
{
    for (size_t i = 0; i < sizeof refpush_routes / sizeof refpush_routes[0]; i++)
        if (strlen(refpush_routes[i].path) == len && memcmp(refpush_routes[i].path, path, len) == 0)
            return &refpush_routes[i];
    return NULL;
}

/* ---- body buffers ---- */

static struct refpush_body *refpush_body_get(struct refpush_server *s)
{
    struct refpush_body *b = s->body_free;
    if (b) {
        s->body_free = b->next_free;
        s->body_free_n--;
        return b;
    }
    return malloc(sizeof *b);
}

static void refpush_body_put(struct refpush_server *s, struct refpush_body *b)
{
    if (s->body_free_n >= REFPUSH_BODY_POOL_KEEP) {
        free(b);
        return;
    }
    b->next_free = s->body_free;
    s->body_free = b;
    s->body_free_n++;
}

void refpush_http_pool_free(struct refpush_server *s)
{
    while (s->body_free) {
        struct refpush_body *b = s->body_free;
        s->body_free = b->next_free;
        free(b);
    }
    s->body_free_n = 0;
}

size_t refpush_http_session_size(void)
{
    return sizeof(struct refpush_req);
}

/* Gives back everything a request holds; safe to call more than once. */
static void refpush_req_release(struct refpush_server *s, struct refpush_req *r)
{
    if (!r)
        return;
    if (r->body) {
        refpush_body_put(s, r->body);
        r->body = NULL;
    }
    free(r->nth);
    r->nth = NULL;
    r->n_nth = 0;
}

static void refpush_req_fail(struct refpush_req *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void refpush_req_fail(struct refpush_req *r, unsigned status, const char *fmt, ...)
{
    if (r->status)
        return;   /* the first problem found is the one reported */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    r->status = (uint16_t)status;
}

/* ---- responses ---- */

/* Sends s->out as the response. Returns what the callback should return: 0 to
 * keep the connection for the next request, -1 to close it. */
static int refpush_http_send(struct refpush_server *s, struct lws *wsi, unsigned status,
                             const char *allow, int close_after)
{
    unsigned char hdr[REFPUSH_HTTP_HDR_MAX];
    unsigned char *p = hdr, *end = hdr + sizeof hdr;
    char *body = refpush_jbuf_data(&s->out);
    if (!body || s->out.failed) {
        lwsl_err("refpush: out of memory building a %u response\n", status);
        return -1;
    }
    size_t body_len = s->out.len;

    if (lws_add_http_common_headers(wsi, status, "application/json", body_len, &p, end))
        return -1;
    if (allow && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ALLOW,
                                              (const unsigned char *)allow,
                                              (int)strlen(allow), &p, end))
        return -1;
    if (close_after && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                                    (const unsigned char *)"close", 5, &p, end))
        return -1;
    if (lws_finalize_http_header(wsi, &p, end))
        return -1;

    size_t hlen = (size_t)(p - hdr);
    unsigned char *start = (unsigned char *)body - hlen;   /* inside s->out's headroom */
    memcpy(start, hdr, hlen);
    size_t total = hlen + body_len;
    if (lws_write(wsi, start, total, LWS_WRITE_HTTP) != (int)total)
        return -1;
    if (close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Runs the request's action (its body, if any, complete) and answers. */
static int refpush_http_finish(struct refpush_server *s, struct lws *wsi, struct refpush_req *r,
                               int close_after)
{
    if (!r->status && r->too_big)
        refpush_req_fail(r, 413, "body too large: the limit is %d bytes", REFPUSH_BODY_MAX);
    if (r->status) {
        /* r is released before the answer goes out: lws_http_transaction_completed()
         * in refpush_http_send may free it (a DELETE to an unknown path on the API
         * port was a use-after-free here; tests/fuzz/corpus/refpush_http/crash-2a1e...) */
        unsigned status = r->status;
        const char *allow = status == 405 ? r->allow : NULL;
        refpush_api_error(s, status, "%s", r->error);
        refpush_req_release(s, r);
        return refpush_http_send(s, wsi, status, allow, close_after);
    }

    const char *body = r->body ? r->body->data : "";
    unsigned status;
    switch (r->route) {
    case REFPUSH_ROUTE_PUSH:
        status = refpush_api_push(s, r->uids, r->n_uids, body, r->body_len);
        break;
    case REFPUSH_ROUTE_BROADCAST:
        status = refpush_api_broadcast(s, body, r->body_len);
        break;
    case REFPUSH_ROUTE_STATS:
        status = refpush_api_stats(s);
        break;
    case REFPUSH_ROUTE_KICK:
        status = refpush_api_kick(s, r->fraction);
        break;
    case REFPUSH_ROUTE_DROP:
        status = refpush_api_drop(s, r->nth, r->n_nth);   /* takes the list */
        r->nth = NULL;
        r->n_nth = 0;
        break;
    default:
        status = refpush_api_error(s, 500, "internal error: no action for route %d", r->route);
        break;
    }
    refpush_req_release(s, r);
    return refpush_http_send(s, wsi, status, NULL, close_after);
}

/* ---- request parsing ---- */

static int refpush_http_method_has_body(struct lws *wsi)
{
    return lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 ||
           lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) > 0 ||
           lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI) > 0;
}

/* "7" or "7,19,23": one push call to several users is a multicast. */
static void refpush_http_parse_uids(struct refpush_req *r, char *v)
{
    char err[160], *save = NULL;
    r->n_uids = 0;
    for (char *tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (r->n_uids == REFPUSH_PUSH_UIDS_MAX) {
            refpush_req_fail(r, 400, "uid: at most %d users per push", REFPUSH_PUSH_UIDS_MAX);
            return;
        }
        if (refpush_parse_uid(tok, &r->uids[r->n_uids], err, sizeof err)) {
            refpush_req_fail(r, 400, "%s", err);
            return;
        }
        r->n_uids++;
    }
    if (!r->n_uids)
        refpush_req_fail(r, 400, "uid: empty; push with POST /push?uid=N or uid=N,M,...");
}

static void refpush_http_read_args(struct lws *wsi, struct refpush_req *r)
{
    char v[REFPUSH_QUERY_MAX + 1], err[160];
    enum refpush_query_rc q;
    switch (r->route) {
    case REFPUSH_ROUTE_PUSH:
        q = refpush_query_get(wsi, "uid", v, sizeof v);
        if (q == REFPUSH_QUERY_ABSENT)
            refpush_req_fail(r, 400, "uid: missing; push to one user with POST /push?uid=N");
        else if (q == REFPUSH_QUERY_TOO_LONG)
            refpush_req_fail(r, 400, "query string too long (limit %d bytes)", REFPUSH_QUERY_MAX);
        else
            refpush_http_parse_uids(r, v);
        break;
    case REFPUSH_ROUTE_KICK:
        q = refpush_query_get(wsi, "fraction", v, sizeof v);
        if (q == REFPUSH_QUERY_ABSENT)
            refpush_req_fail(r, 400, "fraction: missing; use POST /admin/kick?fraction=0.1");
        else if (q == REFPUSH_QUERY_TOO_LONG)
            refpush_req_fail(r, 400, "query string too long (limit %d bytes)", REFPUSH_QUERY_MAX);
        else if (refpush_parse_fraction(v, &r->fraction, err, sizeof err))
            refpush_req_fail(r, 400, "%s", err);
        break;
    case REFPUSH_ROUTE_DROP:
        q = refpush_query_get(wsi, "nth", v, sizeof v);
        if (q == REFPUSH_QUERY_ABSENT)
            refpush_req_fail(r, 400, "nth: missing; use POST /admin/drop?nth=3,17,40 "
                                     "(nth= with no value disarms)");
        else if (q == REFPUSH_QUERY_TOO_LONG)
            refpush_req_fail(r, 400, "query string too long (limit %d bytes)", REFPUSH_QUERY_MAX);
        else if (refpush_parse_nth_list(v, &r->nth, &r->n_nth, err, sizeof err))
            refpush_req_fail(r, 400, "%s", err);
        break;
    default:
        break;
    }
}

/* Content-Length as sent, -1 when absent or unreadable. */
static long long refpush_http_content_length(struct lws *wsi)
{
    char v[32];
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 ||
        lws_hdr_copy(wsi, v, sizeof v, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return -1;
    char *e;
    long long n = strtoll(v, &e, 10);
    return *e == '\0' && n >= 0 ? n : -1;
}

/* A client that sent "Expect: 100-continue" holds its body back until told to
 * go on (curl waits a whole second otherwise); lws 4.1 does not answer it. */
static int refpush_http_send_continue(struct lws *wsi)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    char v[32];
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_EXPECT) <= 0 ||
        lws_hdr_copy(wsi, v, sizeof v, WSI_TOKEN_HTTP_EXPECT) <= 0 ||
        strcasecmp(v, "100-continue") != 0)
        return 0;
    unsigned char buf[LWS_PRE + sizeof cont];
    memcpy(buf + LWS_PRE, cont, sizeof cont - 1);
    int n = (int)sizeof cont - 1;
    return lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP_HEADERS) == n ? 0 : -1;
}

static int refpush_http_request(struct refpush_server *s, struct lws *wsi, struct refpush_req *r,
                                const char *path, size_t path_len)
{
    const struct refpush_route_def *def = refpush_route_find(path, path_len);
    int is_api_vhost = lws_get_vhost(wsi) == s->api_vhost;
    int has_body = refpush_http_method_has_body(wsi);
    int is_get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;

    memset(r, 0, sizeof *r);
    r->has_body = (uint8_t)has_body;
    if (!def || (def->route == REFPUSH_ROUTE_WS && is_api_vhost)) {
        refpush_req_fail(r, 404, "no such endpoint: %.*s (there are %s/push, /broadcast, "
                         "/stats, /admin/kick, /admin/drop)", (int)(path_len > 100 ? 100 : path_len),
                         path, is_api_vhost ? "" : "/ws, ");
    } else {
        r->route = (uint8_t)def->route;
        if (def->route == REFPUSH_ROUTE_WS) {
            refpush_req_fail(r, 400, "/ws is the WebSocket endpoint: it takes a GET with "
                                     "Upgrade: websocket");
        } else if (def->post ? lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0 : !is_get) {
            r->allow = def->post ? "POST" : "GET";
            refpush_req_fail(r, 405, "method not allowed: %s takes %s", def->path, r->allow);
        }
        refpush_http_read_args(wsi, r);
        if (def->route == REFPUSH_ROUTE_PUSH || def->route == REFPUSH_ROUTE_BROADCAST) {
            long long cl = refpush_http_content_length(wsi);
            if (cl > REFPUSH_BODY_MAX)
                r->too_big = 1;
        }
    }

    if (!has_body)
        return refpush_http_finish(s, wsi, r, 0);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 &&
        lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) <= 0)
        return refpush_http_finish(s, wsi, r, 1);   /* see the top of the file */
    if (refpush_http_send_continue(wsi))
        return -1;
    return 0;   /* wait for LWS_CALLBACK_HTTP_BODY_COMPLETION */
}

static int refpush_http_body(struct refpush_server *s, struct refpush_req *r,
                             const void *in, size_t len)
{
    if (r->too_big || r->status || !len)
        return 0;    /* read and dropped: the answer is already decided */
    if (r->body_len + len > REFPUSH_BODY_MAX) {
        r->too_big = 1;
        return 0;
    }
    if (!r->body) {
        r->body = refpush_body_get(s);
        if (!r->body) {
            refpush_req_fail(r, 503, "out of memory for the request body");
            return 0;
        }
    }
    memcpy(r->body->data + r->body_len, in, len);
    r->body_len += len;
    return 0;
}

/* Refuses a WebSocket upgrade with a JSON error; the connection is closed after
 * (returning <0 from CONFIRM_UPGRADE makes lws hang up once the answer is out). */
static int refpush_http_refuse_upgrade(struct refpush_server *s, struct lws *wsi, unsigned status,
                                       const char *msg)
{
    refpush_api_error(s, status, "%s", msg);
    refpush_http_send(s, wsi, status, NULL, 1);
    return -1;
}

static int refpush_http_confirm_upgrade(struct refpush_server *s, struct lws *wsi, const char *up)
{
    char path[128], v[REFPUSH_QUERY_MAX + 1], err[200];
    uint64_t uid;

    if (lws_get_vhost(wsi) == s->api_vhost)
        return refpush_http_refuse_upgrade(s, wsi, 404, "this port serves the push API only; "
                                           "the WebSocket endpoint is /ws on --port");
    if (!up || strcasecmp(up, "websocket") != 0) {
        snprintf(err, sizeof err, "unsupported upgrade \"%.40s\"", up ? up : "");
        return refpush_http_refuse_upgrade(s, wsi, 400, err);
    }
    int n = lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI);
    if (n <= 0 || strcmp(path, "/ws") != 0) {
        snprintf(err, sizeof err, "no WebSocket endpoint at %.100s (use /ws?uid=N)",
                 n > 0 ? path : "this path");
        return refpush_http_refuse_upgrade(s, wsi, 404, err);
    }
    switch (refpush_query_get(wsi, "uid", v, sizeof v)) {
    case REFPUSH_QUERY_ABSENT:
        return refpush_http_refuse_upgrade(s, wsi, 400, "uid: missing; connect to /ws?uid=N");
    case REFPUSH_QUERY_TOO_LONG:
        return refpush_http_refuse_upgrade(s, wsi, 400, "query string too long");
    case REFPUSH_QUERY_FOUND:
        break;
    }
    if (refpush_parse_uid(v, &uid, err, sizeof err))
        return refpush_http_refuse_upgrade(s, wsi, 400, err);
    if (s->stopping)
        return refpush_http_refuse_upgrade(s, wsi, 503, "shutting down");
    return 0;
}

int refpush_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len)
{
    struct refpush_server *s = refpush_server_of(wsi);
    struct refpush_req *r = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return refpush_http_confirm_upgrade(s, wsi, in);
    case LWS_CALLBACK_HTTP:
        if (!r)
            return -1;
        return refpush_http_request(s, wsi, r, in, len);
    case LWS_CALLBACK_HTTP_BODY:
        return r ? refpush_http_body(s, r, in, len) : -1;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return r ? refpush_http_finish(s, wsi, r, 0) : -1;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        refpush_req_release(s, r);
        return 0;
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        return refpush_server_tls_ctx(s, user);
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

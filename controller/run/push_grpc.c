/* push_grpc: the grpc adapter, a unary gRPC call per push over HTTP/2.
 *
 * grpc://host:port/package.Service/Method speaks h2c with prior knowledge,
 * grpcs:// TLS with ALPN h2 (the plan's tls block); both through libcurl
 * (nghttp2) on the core's multi handle, streams multiplexed on warm
 * connections (PIPEWAIT). The request is one length-prefixed message (the
 * 5-byte gRPC prefix: uncompressed, big-endian length) built from the phase's
 * `message:` field template as protobuf: strings length-delimited, integers
 * varints; without one it is {1: connection id, 2: the body}. The metadata
 * templates become headers next to content-type application/grpc and
 * te: trailers.
 *
 * The call's status is grpc-status, read by the header callback from the
 * trailers or, for the Trailers-Only form (an error without a message), from
 * the response headers; grpc-message, percent-decoded, is its error text. A
 * response without grpc-status is mapped from its HTTP status as the gRPC
 * spec says (404 -> UNIMPLEMENTED, 503 -> UNAVAILABLE, ...). */
#include "pusher.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PUSH_GRPC_MSG_MAX (5 + PUSHER_BODY_MAX + PLAN_GRPC_FIELDS_MAX * (PS_HDR_MAX + 16))
#define PUSH_GRPC_TEXT_MAX 256

struct push_grpc_call {
    struct pusher_curl curl;
    int      grpc_status;        /* -1 until a grpc-status header or trailer */
    size_t   len;
    char     grpc_message[PUSH_GRPC_TEXT_MAX];
    unsigned char msg[PUSH_GRPC_MSG_MAX];
};

struct push_grpc {
    struct pusher *p;
    int      h2c_no_reuse;       /* this libcurl cannot reuse a prior-knowledge connection */
    struct push_grpc_call calls[PUSHER_MAX_CONCURRENCY];
};

static size_t push_grpc_varint(unsigned char *out, uint64_t v)
{
    size_t n = 0;
    do {
        out[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            out[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

/* One field appended at msg + *len; -1 with err when it does not fit or an
 * integer field's text is not an integer. */
static int push_grpc_field(struct push_grpc_call *c, uint32_t number, int varint, const char *val,
                           size_t vlen, char *err, size_t errlen)
{
    unsigned char *o = c->msg + c->len;
    size_t room = sizeof c->msg - c->len;
    if (room < 20 + vlen) {
        snprintf(err, errlen, "grpc message too long");
        return -1;
    }
    size_t n = push_grpc_varint(o, (uint64_t)number << 3 | (varint ? 0 : 2));
    if (varint) {
        char *end;
        errno = 0;
        long long x = strtoll(val, &end, 10);
        if (!vlen || *end || errno) {
            snprintf(err, errlen, "grpc message field %u: \"%.64s\" is not an integer", number, val);
            return -1;
        }
        n += push_grpc_varint(o + n, (uint64_t)x);   /* int64: negatives take 10 bytes */
    } else {
        n += push_grpc_varint(o + n, vlen);
        memcpy(o + n, val, vlen);
        n += vlen;
    }
    c->len += n;
    return 0;
}

static int push_grpc_message(struct push_grpc_call *c, const struct pusher_req *rq, char *err,
                             size_t errlen)
{
    const struct plan_push_call *pc = rq->call;
    c->len = 5;
    if (!pc->n_fields) {
        const char *conn = "";
        for (unsigned i = 0; i < rq->n_vars; i++)
            if (!strcmp(rq->vars[i].name, "conn"))
                conn = rq->vars[i].value;
        return push_grpc_field(c, 1, 0, conn, strlen(conn), err, errlen) ||
                       push_grpc_field(c, 2, 0, rq->body, rq->body_len, err, errlen)
                   ? -1 : 0;
    }
    char val[PUSHER_BODY_MAX];
    for (uint32_t i = 0; i < pc->n_fields; i++) {
        int n = ps_tpl_expand_src(val, sizeof val, pc->fields[i].tpl, rq->vars, rq->n_vars, rq->src);
        if (n < 0) {
            snprintf(err, errlen, "grpc message field %u: template too long or without a value",
                     pc->fields[i].number);
            return -1;
        }
        if (push_grpc_field(c, pc->fields[i].number, pc->fields[i].varint, val, (size_t)n, err,
                            errlen))
            return -1;
    }
    return 0;
}

/* %XX escapes of grpc-message decoded, in place. */
static void push_grpc_unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (s[0] == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
            char hex[3] = {s[1], s[2], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
}

/* Headers and trailers alike: libcurl hands both to this callback. */
static size_t push_grpc_header(char *line, size_t size, size_t n, void *ud)
{
    struct push_grpc_call *c = ud;
    size_t len = size * n;
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len > 12 && !strncasecmp(line, "grpc-status:", 12)) {
        c->grpc_status = atoi(line + 12);
    } else if (len > 13 && !strncasecmp(line, "grpc-message:", 13)) {
        const char *v = line + 13;
        while (v < line + len && *v == ' ')
            v++;
        snprintf(c->grpc_message, sizeof c->grpc_message, "%.*s", (int)(line + len - v), v);
        push_grpc_unescape(c->grpc_message);
    }
    return size * n;
}

static size_t push_grpc_discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

static void *push_grpc_init(struct pusher *p)
{
    struct push_grpc *g = calloc(1, sizeof *g);
    if (g) {
        g->p = p;
        g->h2c_no_reuse = curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
    }
    return g;
}

static void push_grpc_close(void *st)
{
    struct push_grpc *g = st;
    for (uint32_t i = 0; i < PUSHER_MAX_CONCURRENCY; i++)
        pusher_curl_free(g->p, &g->calls[i].curl);
    free(g);
}

static int push_grpc_start(void *st, uint32_t slot, const struct pusher_req *rq, char *err,
                           size_t errlen)
{
    struct push_grpc *g = st;
    struct push_grpc_call *c = &g->calls[slot];
    int tls = 0;
    pusher_kind_of(rq->url, &tls);
    char url[PS_URL_MAX + 8];
    snprintf(url, sizeof url, "%s://%s", tls ? "https" : "http", strstr(rq->url, "://") + 3);
    if (push_grpc_message(c, rq, err, errlen) != 0)
        return -1;
    uint32_t body = (uint32_t)(c->len - 5);
    c->msg[0] = 0;   /* not compressed */
    c->msg[1] = (unsigned char)(body >> 24);
    c->msg[2] = (unsigned char)(body >> 16);
    c->msg[3] = (unsigned char)(body >> 8);
    c->msg[4] = (unsigned char)body;
    if (pusher_curl_prepare(&c->curl, err, errlen) != 0)
        return -1;
    char line[2 * PS_HDR_MAX + 4], val[PS_HDR_MAX];
    struct curl_slist **hl = &c->curl.headers;
    *hl = curl_slist_append(NULL, "Content-Type: application/grpc");
    *hl = curl_slist_append(*hl, "TE: trailers");
    *hl = curl_slist_append(*hl, "Expect:");
    snprintf(line, sizeof line, "grpc-timeout: %ldm", g->p->timeout_ms);
    *hl = curl_slist_append(*hl, line);
    for (uint32_t i = 0; i < rq->call->n_metadata; i++) {
        if (ps_tpl_expand_src(val, sizeof val, rq->call->metadata[i].value, rq->vars, rq->n_vars,
                              rq->src) < 0) {
            snprintf(err, errlen, "grpc metadata %s: template too long or without a value",
                     rq->call->metadata[i].name);
            return -1;
        }
        snprintf(line, sizeof line, "%s: %s", rq->call->metadata[i].name, val);
        *hl = curl_slist_append(*hl, line);
    }
    c->grpc_status = -1;
    c->grpc_message[0] = 0;
    CURL *e = c->curl.easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     tls ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    /* libcurl before 8.0 fails a prior-knowledge connection's second request
     * ("Error in the HTTP2 framing layer", curl#10634): h2c calls there take a
     * connection each; grpcs:// (ALPN) reuses and multiplexes as it should */
    if (!tls && g->h2c_no_reuse) {
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    }
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->msg);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)c->len);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, push_grpc_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, push_grpc_discard);
    return pusher_curl_add(g->p, &c->curl, slot, rq->tls, err, errlen);
}

/* The gRPC spec's mapping of an HTTP status without grpc-status. */
static int push_grpc_from_http(long status)
{
    switch (status) {
    case 400: return 13;   /* INTERNAL */
    case 401: return 16;   /* UNAUTHENTICATED */
    case 403: return 7;    /* PERMISSION_DENIED */
    case 404: return 12;   /* UNIMPLEMENTED */
    case 429: case 502: case 503: case 504: return 14;   /* UNAVAILABLE */
    default: return 2;     /* UNKNOWN */
    }
}

static void push_grpc_done(void *st, uint32_t slot, CURLcode rc)
{
    struct push_grpc *g = st;
    struct push_grpc_call *c = &g->calls[slot];
    long status = 0, version = 0;
    curl_easy_getinfo(c->curl.easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c->curl.easy, CURLINFO_HTTP_VERSION, &version);
    char why[PUSHER_ERR_MAX];
    if (rc != CURLE_OK) {
        pusher_finish(g->p, slot, 0, c->grpc_status, (int)status, pusher_curl_error(&c->curl, rc));
    } else if (version != CURL_HTTP_VERSION_2_0) {
        pusher_finish(g->p, slot, 0, -1, (int)status, "the server did not answer in HTTP/2");
    } else if (c->grpc_status >= 0) {
        snprintf(why, sizeof why, "grpc-status %d: %s", c->grpc_status,
                 c->grpc_message[0] ? c->grpc_message : "(no grpc-message)");
        pusher_finish(g->p, slot, c->grpc_status == 0, c->grpc_status, (int)status, why);
    } else {
        snprintf(why, sizeof why, "no grpc-status in the response (HTTP status %ld)", status);
        pusher_finish(g->p, slot, 0, status == 200 ? 2 : push_grpc_from_http(status), (int)status,
                      why);
    }
}

const struct pusher_ops push_grpc_ops = {
    .name = "grpc",
    .schemes = {"grpc", "grpcs"},
    .init = push_grpc_init,
    .close = push_grpc_close,
    .start = push_grpc_start,
    .curl_done = push_grpc_done,
};

/* push_http: the http adapter, one HTTP request per call through libcurl.
 *
 * Each slot owns one easy handle for the life of the pusher: libcurl keeps the
 * connection cache in the core's multi handle, so reused slots reuse warm
 * keep-alive connections. The response body is discarded (counted only); the
 * status comes from curl_easy_getinfo, success is a 2xx. */
#include "pusher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct push_http_call {
    struct pusher_curl curl;
    size_t   body_len;
    char     body[PUSHER_BODY_MAX];
};

struct push_http {
    struct pusher *p;
    struct push_http_call calls[PUSHER_MAX_CONCURRENCY];
};

static size_t push_http_discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

static void *push_http_init(struct pusher *p)
{
    struct push_http *h = calloc(1, sizeof *h);
    if (h)
        h->p = p;
    return h;
}

static void push_http_close(void *st)
{
    struct push_http *h = st;
    for (uint32_t i = 0; i < PUSHER_MAX_CONCURRENCY; i++)
        pusher_curl_free(h->p, &h->calls[i].curl);
    free(h);
}

static int push_http_start(void *st, uint32_t slot, const struct pusher_req *rq, char *err,
                           size_t errlen)
{
    struct push_http *h = st;
    struct push_http_call *c = &h->calls[slot];
    if (rq->body_len > PUSHER_BODY_MAX) {
        snprintf(err, errlen, "body too long");
        return -1;
    }
    if (pusher_curl_prepare(&c->curl, err, errlen) != 0)
        return -1;
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    /* Without this libcurl waits up to a second for "100 Continue" on larger bodies. */
    hl = curl_slist_append(hl, "Expect:");
    char line[2 * PS_HDR_MAX + 4];
    for (uint32_t i = 0; i < rq->call->n_headers; i++) {
        snprintf(line, sizeof line, "%s: %s", rq->call->headers[i].name,
                 rq->call->headers[i].value);
        hl = curl_slist_append(hl, line);
    }
    c->curl.headers = hl;
    memcpy(c->body, rq->body, rq->body_len);
    c->body_len = rq->body_len;
    CURL *e = c->curl.easy;
    curl_easy_setopt(e, CURLOPT_URL, rq->url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->call->method[0] ? rq->call->method : "POST");
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)c->body_len);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, push_http_discard);
    return pusher_curl_add(h->p, &c->curl, slot, rq->tls, err, errlen);
}

static void push_http_done(void *st, uint32_t slot, CURLcode rc)
{
    struct push_http *h = st;
    struct push_http_call *c = &h->calls[slot];
    long status = 0;
    curl_easy_getinfo(c->curl.easy, CURLINFO_RESPONSE_CODE, &status);
    int ok = rc == CURLE_OK && status >= 200 && status < 300;
    const char *why = pusher_curl_error(&c->curl, rc);
    char line[64];
    if (!why && !ok) {
        snprintf(line, sizeof line, "HTTP status %ld", status);
        why = line;
    }
    pusher_finish(h->p, slot, ok, status ? (int)status : -1, (int)status, why);
}

const struct pusher_ops push_http_ops = {
    .name = "http",
    .schemes = {"http", "https"},
    .init = push_http_init,
    .close = push_http_close,
    .start = push_http_start,
    .curl_done = push_http_done,
};

/* pusher: libcurl multi client for the push API (see pusher.h).
 *
 * Each slot owns one easy handle for the life of the pusher: libcurl keeps the
 * connection cache in the multi handle, so reused slots reuse warm keep-alive
 * connections. The response body is discarded (counted only); the status and
 * the total time come from curl_easy_getinfo. */
#include "pusher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_time.h"

struct pusher_call {
    CURL    *easy;
    struct curl_slist *headers;
    uint32_t msg_id;
    uint32_t slot;
    int64_t  started_us;
    size_t   body_len;
    char     body[PUSHER_BODY_MAX];
    char     error[CURL_ERROR_SIZE];
};

static size_t pusher_discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

int pusher_init(struct pusher *p, uint32_t concurrency, long timeout_ms, pusher_done_fn done,
                void *ctx)
{
    memset(p, 0, sizeof *p);
    p->concurrency = concurrency ? concurrency : 1;
    if (p->concurrency > PUSHER_MAX_CONCURRENCY)
        p->concurrency = PUSHER_MAX_CONCURRENCY;
    p->done = done;
    p->ctx = ctx;
    p->timeout_ms = timeout_ms;
    p->multi = curl_multi_init();
    p->calls = calloc(PUSHER_MAX_CONCURRENCY, sizeof *p->calls);
    p->free_slots = calloc(PUSHER_MAX_CONCURRENCY, sizeof *p->free_slots);
    if (!p->multi || !p->calls || !p->free_slots) {
        pusher_close(p);
        return -1;
    }
    curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)PUSHER_MAX_CONCURRENCY);
    for (uint32_t i = 0; i < PUSHER_MAX_CONCURRENCY; i++) {
        p->calls[i].slot = i;
        p->free_slots[p->n_free++] = PUSHER_MAX_CONCURRENCY - 1 - i;
    }
    return 0;
}

void pusher_close(struct pusher *p)
{
    if (p->calls) {
        for (uint32_t i = 0; i < PUSHER_MAX_CONCURRENCY; i++) {
            struct pusher_call *c = &p->calls[i];
            if (c->easy) {
                if (p->multi)
                    curl_multi_remove_handle(p->multi, c->easy);
                curl_easy_cleanup(c->easy);
            }
            curl_slist_free_all(c->headers);
        }
    }
    if (p->multi)
        curl_multi_cleanup(p->multi);
    free(p->calls);
    free(p->free_slots);
    memset(p, 0, sizeof *p);
}

void pusher_set_concurrency(struct pusher *p, uint32_t concurrency)
{
    if (concurrency == 0)
        concurrency = 1;
    p->concurrency = concurrency > PUSHER_MAX_CONCURRENCY ? PUSHER_MAX_CONCURRENCY : concurrency;
}

uint32_t pusher_inflight(const struct pusher *p)
{
    return p->inflight;
}

void pusher_poll(struct pusher *p, const int *read_fds, unsigned n_fds, int timeout_ms)
{
    struct curl_waitfd fds[PUSHER_POLL_FDS];
    if (n_fds > PUSHER_POLL_FDS)
        n_fds = PUSHER_POLL_FDS;
    for (unsigned i = 0; i < n_fds; i++)
        fds[i] = (struct curl_waitfd){read_fds[i], CURL_WAIT_POLLIN, 0};
    curl_multi_poll(p->multi, fds, n_fds, timeout_ms, NULL);
}

int pusher_can_send(const struct pusher *p)
{
    return p->inflight < p->concurrency && p->n_free > 0;
}

/* The plan's tls block in libcurl's terms (the same block as the target's wss). */
static void pusher_tls(CURL *e, const struct ps_tls *t)
{
    if (!t)
        return;
    if (t->ca_file[0])
        curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file);
    if (t->ca_dir[0])
        curl_easy_setopt(e, CURLOPT_CAPATH, t->ca_dir);
    if (t->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (t->cert[0]) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, t->cert);
        curl_easy_setopt(e, CURLOPT_SSLKEY, t->key);
    }
    if (t->min_version)
        curl_easy_setopt(e, CURLOPT_SSLVERSION,
                         t->min_version >= 13 ? CURL_SSLVERSION_TLSv1_3 : CURL_SSLVERSION_TLSv1_2);
}

int pusher_send(struct pusher *p, uint32_t msg_id, const char *method, const char *url,
                const char *body, size_t body_len, const struct ps_header_tpl *headers,
                uint32_t n_headers, const struct ps_tls *tls)
{
    if (!pusher_can_send(p) || body_len > PUSHER_BODY_MAX)
        return -1;
    struct pusher_call *c = &p->calls[p->free_slots[--p->n_free]];
    if (!c->easy) {
        c->easy = curl_easy_init();
        if (!c->easy) {
            p->free_slots[p->n_free++] = c->slot;
            return -1;
        }
    } else {
        curl_easy_reset(c->easy);
    }
    curl_slist_free_all(c->headers);
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    /* Without this libcurl waits up to a second for "100 Continue" on larger bodies. */
    c->headers = curl_slist_append(c->headers, "Expect:");
    char line[2 * PS_HDR_MAX + 4];
    for (uint32_t i = 0; i < n_headers; i++) {
        snprintf(line, sizeof line, "%s: %s", headers[i].name, headers[i].value);
        c->headers = curl_slist_append(c->headers, line);
    }
    memcpy(c->body, body, body_len);
    c->body_len = body_len;
    c->msg_id = msg_id;
    c->error[0] = 0;
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)c->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, pusher_discard);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, p->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    pusher_tls(e, tls);
    c->started_us = ps_time_mono_us();
    if (curl_multi_add_handle(p->multi, e) != CURLM_OK) {
        p->free_slots[p->n_free++] = c->slot;
        return -1;
    }
    p->inflight++;
    return 0;
}

void pusher_perform(struct pusher *p)
{
    int running, left;
    curl_multi_perform(p->multi, &running);
    CURLMsg *m;
    while ((m = curl_multi_info_read(p->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct pusher_call *c = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        long status = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        struct pusher_result r = {
            .msg_id = c->msg_id,
            .http_status = (int)status,
            .ok = m->data.result == CURLE_OK && status >= 200 && status < 300,
            .duration_us = ps_time_mono_us() - c->started_us,
            .error = m->data.result != CURLE_OK
                         ? (c->error[0] ? c->error : curl_easy_strerror(m->data.result))
                         : NULL,
        };
        curl_multi_remove_handle(p->multi, m->easy_handle);
        p->inflight--;
        p->free_slots[p->n_free++] = c->slot;
        p->done(p->ctx, &r);
    }
}

/* pusher: the adapter table and what every push call shares (see pusher.h).
 *
 * A slot is a call in flight: the core keeps its adapter, message id and start
 * time; the adapter keeps its own state for the same slot index. Slots are a
 * free list sized for the largest concurrency, so a reused slot reuses the
 * adapter's warm handle (and libcurl, its keep-alive connection). Adapters are
 * set up on their first call: a campaign pushing only over HTTP never opens
 * libmosquitto. */
#include "pusher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ps_time.h"

/* The one table of adapters, in enum pusher_kind order: a new adapter is its
 * file and a line here. */
static const struct pusher_ops *const pusher_table[PUSHER_N_KINDS] = {
    [PUSHER_HTTP] = &push_http_ops,
    [PUSHER_MQTT] = &push_mqtt_ops,
    [PUSHER_GRPC] = &push_grpc_ops,
};

int pusher_kind_of(const char *url, int *tls)
{
    for (int k = 0; k < PUSHER_N_KINDS; k++)
        for (int s = 0; s < 2 && pusher_table[k] && pusher_table[k]->schemes[s]; s++) {
            size_t n = strlen(pusher_table[k]->schemes[s]);
            if (!strncasecmp(url, pusher_table[k]->schemes[s], n) && !strncmp(url + n, "://", 3)) {
                if (tls)
                    *tls = s;
                return k;
            }
        }
    return -1;
}

const char *pusher_kind_name(int kind)
{
    return kind >= 0 && kind < PUSHER_N_KINDS && pusher_table[kind] ? pusher_table[kind]->name : "?";
}

const char *pusher_schemes_list(void)
{
    return "http://, https://, mqtt://, mqtts://, grpc:// or grpcs://";
}

int pusher_init(struct pusher *p, uint32_t concurrency, long timeout_ms, pusher_done_fn done,
                void *ctx)
{
    memset(p, 0, sizeof *p);
    pusher_set_concurrency(p, concurrency);
    p->done = done;
    p->ctx = ctx;
    p->timeout_ms = timeout_ms;
    p->multi = curl_multi_init();
    p->free_slots = calloc(PUSHER_MAX_CONCURRENCY, sizeof *p->free_slots);
    p->slot_kind = calloc(PUSHER_MAX_CONCURRENCY, sizeof *p->slot_kind);
    p->slot_started = calloc(PUSHER_MAX_CONCURRENCY, sizeof *p->slot_started);
    p->slot_msg = calloc(PUSHER_MAX_CONCURRENCY, sizeof *p->slot_msg);
    if (!p->multi || !p->free_slots || !p->slot_kind || !p->slot_started || !p->slot_msg) {
        pusher_close(p);
        return -1;
    }
    curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)PUSHER_MAX_CONCURRENCY);
    for (uint32_t i = 0; i < PUSHER_MAX_CONCURRENCY; i++)
        p->free_slots[p->n_free++] = PUSHER_MAX_CONCURRENCY - 1 - i;
    return 0;
}

void pusher_close(struct pusher *p)
{
    /* adapters first: the libcurl ones remove their handles from the multi */
    for (int k = 0; k < PUSHER_N_KINDS; k++)
        if (p->adapter[k])
            pusher_table[k]->close(p->adapter[k]);
    if (p->multi)
        curl_multi_cleanup(p->multi);
    free(p->free_slots);
    free(p->slot_kind);
    free(p->slot_started);
    free(p->slot_msg);
    memset(p, 0, sizeof *p);
}

void pusher_set_timeout(struct pusher *p, long timeout_ms)
{
    p->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
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

int pusher_can_send(const struct pusher *p)
{
    return p->inflight < p->concurrency && p->n_free > 0;
}

int64_t pusher_started_us(const struct pusher *p, uint32_t slot)
{
    return p->slot_started[slot];
}

uint32_t pusher_msg_id(const struct pusher *p, uint32_t slot)
{
    return p->slot_msg[slot];
}

void pusher_poll(struct pusher *p, const int *read_fds, unsigned n_fds, int timeout_ms)
{
    struct curl_waitfd fds[PUSHER_POLL_FDS + 2 * PS_MAX_TARGETS];
    if (n_fds > PUSHER_POLL_FDS)
        n_fds = PUSHER_POLL_FDS;
    for (unsigned i = 0; i < n_fds; i++)
        fds[i] = (struct curl_waitfd){read_fds[i], CURL_WAIT_POLLIN, 0};
    for (int k = 0; k < PUSHER_N_KINDS; k++)
        if (p->adapter[k] && pusher_table[k]->fds)
            n_fds += pusher_table[k]->fds(p->adapter[k], fds + n_fds,
                                          (unsigned)(sizeof fds / sizeof fds[0]) - n_fds);
    curl_multi_poll(p->multi, fds, n_fds, timeout_ms, NULL);
}

void pusher_finish(struct pusher *p, uint32_t slot, int ok, int status, int http_status,
                   const char *error)
{
    struct pusher_result r = {
        .msg_id = p->slot_msg[slot],
        .kind = p->slot_kind[slot],
        .status = status,
        .http_status = http_status,
        .ok = ok,
        .duration_us = ps_time_mono_us() - p->slot_started[slot],
        .error = ok ? NULL : (error && *error ? error : "failed"),
    };
    p->inflight--;
    p->free_slots[p->n_free++] = slot;
    p->done(p->ctx, &r);
}

int pusher_send(struct pusher *p, const struct pusher_req *rq)
{
    if (!pusher_can_send(p))
        return -1;
    uint32_t slot = p->free_slots[--p->n_free];
    int tls = 0, kind = pusher_kind_of(rq->url, &tls);
    char err[PUSHER_ERR_MAX] = "";
    p->slot_msg[slot] = rq->msg_id;
    p->slot_kind[slot] = (uint8_t)(kind < 0 ? PUSHER_HTTP : kind);
    p->slot_started[slot] = ps_time_mono_us();
    p->inflight++;
    if (kind < 0) {
        snprintf(err, sizeof err, "no push adapter for this URL (expected %s)",
                 pusher_schemes_list());
    } else if (!p->adapter[kind] && !(p->adapter[kind] = pusher_table[kind]->init(p))) {
        snprintf(err, sizeof err, "%s adapter: out of memory", pusher_table[kind]->name);
    } else if (pusher_table[kind]->start(p->adapter[kind], slot, rq, err, sizeof err) == 0) {
        return 0;
    }
    pusher_finish(p, slot, 0, -1, 0, err);
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
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        uint32_t slot = (uint32_t)(uintptr_t)priv;
        CURLcode rc = m->data.result;
        curl_multi_remove_handle(p->multi, m->easy_handle);
        int k = p->slot_kind[slot];
        pusher_table[k]->curl_done(p->adapter[k], slot, rc);
    }
    int64_t now = ps_time_mono_us();
    for (int k = 0; k < PUSHER_N_KINDS; k++)
        if (p->adapter[k] && pusher_table[k]->drive)
            pusher_table[k]->drive(p->adapter[k], now);
}

/* The plan's tls block in libcurl's terms (the same block as the target's wss). */
static void pusher_curl_tls(CURL *e, const struct ps_tls *t)
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

int pusher_curl_prepare(struct pusher_curl *c, char *err, size_t errlen)
{
    if (!c->easy && !(c->easy = curl_easy_init())) {
        snprintf(err, errlen, "out of memory for a libcurl handle");
        return -1;
    }
    curl_easy_reset(c->easy);
    curl_slist_free_all(c->headers);
    c->headers = NULL;
    c->error[0] = 0;
    return 0;
}

int pusher_curl_add(struct pusher *p, struct pusher_curl *c, uint32_t slot,
                    const struct ps_tls *tls, char *err, size_t errlen)
{
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, p->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)(uintptr_t)slot);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    pusher_curl_tls(e, tls);
    if (curl_multi_add_handle(p->multi, e) != CURLM_OK) {
        snprintf(err, errlen, "libcurl refused the transfer");
        return -1;
    }
    return 0;
}

void pusher_curl_free(struct pusher *p, struct pusher_curl *c)
{
    if (c->easy) {
        curl_multi_remove_handle(p->multi, c->easy);
        curl_easy_cleanup(c->easy);
    }
    curl_slist_free_all(c->headers);
}

const char *pusher_curl_error(const struct pusher_curl *c, CURLcode rc)
{
    return rc == CURLE_OK ? NULL : c->error[0] ? c->error : curl_easy_strerror(rc);
}

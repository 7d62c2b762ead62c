/* pusher: calls the push API of the service under test.
 *
 * The one interface behind which push transports live (HTTP through libcurl
 * today; an RPC transport would implement the same three calls). Requests go
 * through one libcurl multi handle with keep-alive connections and at most
 * `concurrency` calls in flight; the caller paces them (rate) and learns each
 * call's status and duration through the completion callback. Easy handles are
 * pooled and reused so connections stay warm and nothing is allocated per call
 * beyond libcurl's own header list. */
#ifndef PS_PUSHER_H
#define PS_PUSHER_H

#include <stdint.h>
#include <curl/curl.h>
#include "ps_proto.h"

#define PUSHER_MAX_CONCURRENCY 1024
#define PUSHER_BODY_MAX        4096

struct pusher_result {
    uint32_t msg_id;
    int      http_status;        /* 0 when the call failed before a response */
    int      ok;                 /* 2xx */
    int64_t  duration_us;
    const char *error;           /* curl's message when http_status is 0, else NULL */
};

typedef void (*pusher_done_fn)(void *ctx, const struct pusher_result *r);

struct pusher_call;

struct pusher {
    CURLM   *multi;
    uint32_t concurrency;
    uint32_t inflight;
    struct pusher_call *calls;   /* pool of `concurrency` slots */
    uint32_t *free_slots;
    uint32_t n_free;
    pusher_done_fn done;
    void    *ctx;
    long     timeout_ms;
};

int  pusher_init(struct pusher *p, uint32_t concurrency, long timeout_ms, pusher_done_fn done,
                 void *ctx);
void pusher_close(struct pusher *p);
/* Changes the in-flight limit (takes effect as calls finish). */
void pusher_set_concurrency(struct pusher *p, uint32_t concurrency);
int  pusher_can_send(const struct pusher *p);
/* Starts one call; url/body are copied. tls (NULL = libcurl's defaults) applies
 * to https:// URLs and must stay valid until the call completes (the plan's).
 * Returns 0, or -1 when no slot is free. */
int  pusher_send(struct pusher *p, uint32_t msg_id, const char *method, const char *url,
                 const char *body, size_t body_len, const struct ps_header_tpl *headers,
                 uint32_t n_headers, const struct ps_tls *tls);
/* Drives transfers and reports completions; never blocks. */
void pusher_perform(struct pusher *p);
/* Calls sent and not yet answered. */
uint32_t pusher_inflight(const struct pusher *p);
/* Waits up to timeout_ms for the push transfers or for one of read_fds (at
 * most PUSHER_POLL_FDS) to be readable: the caller's whole event loop is this
 * one wait, so transfers move on while it waits for anything else. */
#define PUSHER_POLL_FDS 8
void pusher_poll(struct pusher *p, const int *read_fds, unsigned n_fds, int timeout_ms);

#endif

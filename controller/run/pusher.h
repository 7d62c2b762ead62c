/* pusher: calls the push API of the service under test, through adapters.
 *
 * The core (pusher.c) owns what every kind of push shares: the pool of call
 * slots and the in-flight limit (`concurrency`), the start time and duration
 * of each call, the one wait of the controller's loop, and the completion
 * callback with a status its adapter gives meaning to. An adapter (one file,
 * push_*.c, one line in pusher.c's table) turns a call into its transport: an
 * HTTP request (push_http.c), a unary gRPC call (push_grpc.c) or an MQTT
 * PUBLISH on a broker connection the controller keeps (push_mqtt.c). The
 * URL's scheme picks the adapter. The libcurl multi handle is the core's too,
 * so the HTTP and gRPC adapters share one poll and one connection cache; an
 * adapter with sockets of its own adds them to the wait through fds().
 *
 * The caller paces calls (rate) and learns each one's result through the
 * callback; the adapters keep per-slot state allocated once, on first use, so
 * nothing is allocated per call beyond libcurl's header list and
 * libmosquitto's packet. docs/protocols.md says what each adapter sends,
 * expects and stores; a fourth adapter is one file and a line in pusher.c. */
#ifndef PS_PUSHER_H
#define PS_PUSHER_H

#include <stdint.h>
#include <curl/curl.h>
#include "plan.h"
#include "ps_proto.h"
#include "ps_tpl.h"

#define PUSHER_MAX_CONCURRENCY 1024
#define PUSHER_BODY_MAX        4096
#define PUSHER_ERR_MAX         640

/* Adapters in table order; the name of each is the `status_kind` of its calls. */
enum pusher_kind { PUSHER_HTTP, PUSHER_MQTT, PUSHER_GRPC, PUSHER_N_KINDS };

struct pusher_result {
    uint32_t msg_id;
    int      kind;               /* enum pusher_kind: what `status` means */
    int      status;             /* HTTP status, MQTT reason code, gRPC status; -1 = no answer */
    int      http_status;        /* the HTTP response's (http and grpc calls); 0 = none */
    int      ok;
    int64_t  duration_us;
    const char *error;           /* NULL on success, else why (grpc: its grpc-message) */
};

typedef void (*pusher_done_fn)(void *ctx, const struct pusher_result *r);

/* One call as the push phase built it; everything is read during start() only
 * (adapters copy what they keep), except tls, which stays valid (the plan's). */
struct pusher_req {
    uint32_t msg_id;
    const char *url;             /* expanded; its scheme picked the adapter */
    const char *body;            /* the expanded body template */
    size_t   body_len;
    const struct plan_push_call *call;   /* per-adapter keys of the phase */
    const struct ps_tls *tls;    /* https, mqtts, grpcs; NULL = the library's defaults */
    /* for the adapter's own templates (grpc metadata and message fields) */
    const struct ps_tpl_var *vars;
    unsigned n_vars;
    const struct ps_tpl_source *src;
};

struct pusher;

/* An adapter. slot is the core's (0..PUSHER_MAX_CONCURRENCY), held from a
 * successful start() until the adapter calls pusher_finish() for it. */
struct pusher_ops {
    const char *name;            /* status kind: "http" */
    const char *schemes[3];      /* URL schemes it takes, plain then TLS */
    void *(*init)(struct pusher *p);                 /* NULL: out of memory */
    void (*close)(void *st);
    /* Starts a call; 0 (under way, or already reported through pusher_finish),
     * or -1 with err (the core then fails the call with it, status -1). */
    int  (*start)(void *st, uint32_t slot, const struct pusher_req *rq, char *err, size_t errlen);
    /* libcurl adapters: one of their transfers ended (NULL for others). */
    void (*curl_done)(void *st, uint32_t slot, CURLcode rc);
    /* Sockets of its own to wait on (NULL: none); returns how many it wrote. */
    unsigned (*fds)(void *st, struct curl_waitfd *fds, unsigned cap);
    /* After each wait: move calls on, time out the overdue (NULL: nothing to do). */
    void (*drive)(void *st, int64_t now_us);
};

struct pusher {
    CURLM   *multi;
    uint32_t concurrency;
    uint32_t inflight;
    uint32_t *free_slots;
    uint32_t n_free;
    uint8_t  *slot_kind;         /* per slot: the adapter holding it */
    int64_t  *slot_started;      /* per slot: mono us at start */
    uint32_t *slot_msg;
    void    *adapter[PUSHER_N_KINDS];   /* state, once a call of that kind started */
    pusher_done_fn done;
    void    *ctx;
    long     timeout_ms;         /* per call, every adapter */
};

/* The next calls' own timeout (a push phase's `timeout`): http and grpc calls
 * in flight keep theirs; mqtt's PUBACK waits are measured against the new one. */
void pusher_set_timeout(struct pusher *p, long timeout_ms);
int  pusher_init(struct pusher *p, uint32_t concurrency, long timeout_ms, pusher_done_fn done,
                 void *ctx);
void pusher_close(struct pusher *p);
/* Changes the in-flight limit (takes effect as calls finish). */
void pusher_set_concurrency(struct pusher *p, uint32_t concurrency);
int  pusher_can_send(const struct pusher *p);
/* Starts one call through the adapter its URL names. A call that cannot start
 * (no such scheme, adapter refused it) completes at once, failed, through the
 * callback. Returns 0, or -1 when no slot is free (nothing reported). */
int  pusher_send(struct pusher *p, const struct pusher_req *rq);
/* Drives transfers and reports completions; never blocks. */
void pusher_perform(struct pusher *p);
/* Calls sent and not yet answered. */
uint32_t pusher_inflight(const struct pusher *p);
/* Waits up to timeout_ms for the push transfers or for one of read_fds (at
 * most PUSHER_POLL_FDS) to be readable: the caller's whole event loop is this
 * one wait, so transfers move on while it waits for anything else. */
#define PUSHER_POLL_FDS 8
void pusher_poll(struct pusher *p, const int *read_fds, unsigned n_fds, int timeout_ms);

/* The adapter a URL's scheme names (*tls = 1 for its TLS scheme), or -1. */
int  pusher_kind_of(const char *url, int *tls);
const char *pusher_kind_name(int kind);
/* "http://, https://, mqtt://, ..." for messages. */
const char *pusher_schemes_list(void);

/* ---- for adapters ---- */
/* The call in slot is over: reports it and frees the slot. status -1 = none. */
void pusher_finish(struct pusher *p, uint32_t slot, int ok, int status, int http_status,
                   const char *error);
int64_t pusher_started_us(const struct pusher *p, uint32_t slot);
uint32_t pusher_msg_id(const struct pusher *p, uint32_t slot);
/* What a libcurl adapter keeps per slot: one easy handle for the pusher's
 * life (reused: warm connections), its header list and error text. */
struct pusher_curl {
    CURL    *easy;
    struct curl_slist *headers;
    char     error[CURL_ERROR_SIZE];
};
/* Before a call: the handle made or reset, the header list emptied; -1 with err. */
int  pusher_curl_prepare(struct pusher_curl *c, char *err, size_t errlen);
/* After the adapter's own options: the shared ones (timeout, error buffer,
 * the slot, the plan's tls block), then onto the core's multi; -1 with err. */
int  pusher_curl_add(struct pusher *p, struct pusher_curl *c, uint32_t slot,
                     const struct ps_tls *tls, char *err, size_t errlen);
void pusher_curl_free(struct pusher *p, struct pusher_curl *c);
/* The transfer's error text (NULL when rc is CURLE_OK). */
const char *pusher_curl_error(const struct pusher_curl *c, CURLcode rc);

extern const struct pusher_ops push_http_ops, push_mqtt_ops, push_grpc_ops;

#endif

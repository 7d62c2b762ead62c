/* wsc.h: the agent's own WebSocket client, the native engine under ws://
 * connections (wsc.c; its codec is wsc_frame.c and wsc_http.c).
 *
 * lws stays under wss:// (TLS, resumption, certificate checks: tls.c) and
 * under everything when the agent runs with --engine lws. Why a second
 * engine: at scale an lws connection costs about 1,550 B of lws's own state
 * and each answered server ping 7 syscalls (docs/performance.md); this one
 * keeps a connection in one struct of 240 B beside its 64 B slot,
 * answers a ping with one write from the read callback, and draws masking
 * keys from a per-worker pool. */
#ifndef AGENT_WSC_H
#define AGENT_WSC_H

#include <stdint.h>
#include <uv.h>

#include "wsc_frame.h"
#include "wsc_http.h"

#define AGENT_WSC_CONNECT_S 20          /* TCP connect + upgrade answer: lws's default timeout_secs */
#define AGENT_WSC_CLOSE_S   5           /* our Close waits this long for the server's */
#define AGENT_WSC_READ      (64 * 1024) /* one read, per worker */
#define AGENT_WSC_TAIL_MAX  (4u << 20)  /* unsent bytes a connection may hold before it is dropped */

enum agent_wsc_phase {
    AGENT_WSC_FREE = 0,   /* no socket */
    AGENT_WSC_TCP,        /* connect() under way, then the request going out */
    AGENT_WSC_UPGRADE,    /* the response head being gathered */
    AGENT_WSC_OPEN,
    AGENT_WSC_CLOSING,    /* our Close went, waiting for the server's; or our answer to its
                             Close waits behind a tail (WSC_F_DRAIN) */
};

/* One connection of the engine: a per-slot array owned by the worker. */
struct agent_wsc {
    uv_poll_t poll;               /* on the socket while phase != FREE */
    struct agent_wsc_rx rx;       /* OPEN, CLOSING: the frame decoder */
    unsigned char *buf;           /* TCP/UPGRADE: request, then response head; OPEN: unsent tail */
    int64_t  due_us;              /* mono: its deadline (connecting, closing) */
    uint32_t buf_len, buf_off;    /* bytes in buf; bytes of them already sent */
    uint32_t prev, next;          /* its deadline list, UINT32_MAX = none */
    uint32_t pend;                /* next on the pending list */
    int      fd;
    uint8_t  phase;               /* enum agent_wsc_phase */
    uint8_t  flags;               /* enum agent_wsc_flag (wsc.c) */
    uint8_t  events;              /* what the poll watches */
    uint8_t  kill_reason;         /* PENDING_KILL: the fallback reason */
};

/* The engine's budget per connection beside the 64 B slot (lws: ~1,550 B). */
_Static_assert(sizeof(struct agent_wsc) <= 240, "struct agent_wsc grew past 240 bytes");

struct agent_wsc_list { uint32_t head, tail; };

/* A worker's engine: the connections, one read buffer, the key pool, the
 * slots waiting for a writeable callback and the two deadline lists (each in
 * deadline order, because every entry of a list has the same timeout). */
struct agent_wsc_set {
    struct agent_wsc *conns;      /* n_conns, or NULL: no target of the assignment is native */
    struct agent_wsc *old;        /* a previous assignment's, freed when its last handle closed */
    uint32_t n_closing;           /* handles waiting for their close callback */
    unsigned char *rxbuf;         /* AGENT_WSC_READ */
    struct agent_wsc_keys *keys;
    struct agent_wsc_list pending, connecting, closing;
    uv_prepare_t prepare;         /* writes the pending slots before the loop sleeps */
    uv_timer_t timer;             /* the earliest deadline */
    int64_t timer_due_us;
    int handles;                  /* prepare and timer exist (unit tests: only with a loop) */
};

struct agent_worker;
struct agent_wsc_req;

/* Worker life: handles on the loop at start, the array at ASSIGN, all closed at QUIT. */
void agent_wsc_start(struct agent_worker *w);
int  agent_wsc_assign(struct agent_worker *w);        /* -1: out of memory */
void agent_wsc_quit(struct agent_worker *w);
void agent_wsc_close(struct agent_worker *w);         /* frees what assign allocated */

/* Does the engine carry this slot's connections (a ws:// target, native engine)? */
int  agent_wsc_native(const struct agent_worker *w, uint32_t slot);
int  agent_wsc_holds(const struct agent_worker *w, uint32_t slot);   /* a socket now */
int  agent_wsc_busy(const struct agent_worker *w, uint32_t slot);    /* last handle still closing */
/* Starts an attempt from src_ip (NULL: the kernel's choice; src_scope: a
 * link-local one's interface): 0, or the errno of a socket that failed at once. */
int  agent_wsc_open(struct agent_worker *w, uint32_t slot, const struct agent_wsc_req *req,
                    const char *addr, int port, const char *src_ip, uint32_t src_scope);
void agent_wsc_want_write(struct agent_worker *w, uint32_t slot);
/* Reads now what the socket holds, as a readable poll would (keepalive.c,
 * before it calls an answer missed). */
void agent_wsc_read_now(struct agent_worker *w, uint32_t slot);
int  agent_wsc_write(struct agent_worker *w, uint32_t slot, unsigned char *p, size_t len, int kind);
void agent_wsc_kill(struct agent_worker *w, uint32_t slot, uint8_t reason);

#endif

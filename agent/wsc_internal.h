/* wsc_internal.h: what wsc.c (life) and wsc_io.c (bytes) share; nobody else. */
#ifndef AGENT_WSC_INTERNAL_H
#define AGENT_WSC_INTERNAL_H

#include <stddef.h>
#include <string.h>

#define WSC_NONE UINT32_MAX

/* buf while connecting: the key the answer must hash, the subprotocols
 * offered (NUL-terminated), then the request and, once it has gone, the
 * response head. Sized for the request or WSC_HEAD_FIRST, whichever is
 * larger, and doubled while a head is longer, up to AGENT_WSC_HEAD_LIMIT: the
 * handshakes in flight (256 per agent) each hold about 1.3 KB instead of
 * 8.7 KB, which a worker's heap keeps after the ramp (its peak RSS). */
#define WSC_OFFER_MAX   512
#define WSC_HEAD_FIRST  1024

static inline char *agent_wsc_head(const struct agent_wsc *s)
{
    const char *offer = (const char *)s->buf + AGENT_WSC_KEY_LEN;
    return (char *)offer + strlen(offer) + 1;
}

enum agent_wsc_flag {
    WSC_F_PENDING   = 1 << 0,   /* on the pending list */
    WSC_F_WANT      = 1 << 1,   /* a writeable callback is owed */
    WSC_F_KILL      = 1 << 2,   /* to be abandoned when the pending list runs */
    WSC_F_CLOSING_H = 1 << 3,   /* the poll handle waits for its close callback */
    WSC_F_LIST      = 1 << 4,   /* on a deadline list */
    WSC_F_UP        = 1 << 5,   /* TCP: connected (SO_ERROR was 0); the request is going out */
    WSC_F_DRAIN     = 1 << 6,   /* CLOSING: the server's Close came; ends once the tail has gone */
};

_Static_assert(LWS_PRE >= AGENT_WSC_HEAD_MAX, "frames are built in the LWS_PRE headroom");

static inline struct agent_wsc *agent_wsc_of(const struct agent_worker *w, uint32_t slot)
{
    return &w->wsc.conns[slot];
}

static inline uint32_t agent_wsc_slot(const struct agent_worker *w, const struct agent_wsc *s)
{
    return (uint32_t)(s - w->wsc.conns);
}

static inline struct agent_wsc *agent_wsc_of_handle(uv_handle_t *h)
{
    return (struct agent_wsc *)((char *)h - offsetof(struct agent_wsc, poll));
}

/* wsc.c */
void agent_wsc_end(struct agent_worker *w, struct agent_wsc *s, uint8_t fallback, uint32_t aux);
void agent_wsc_list_add(struct agent_worker *w, struct agent_wsc *s, int64_t due_us);
void agent_wsc_list_del(struct agent_worker *w, struct agent_wsc *s);
void agent_wsc_pend(struct agent_worker *w, struct agent_wsc *s);
/* wsc_io.c */
int  agent_wsc_watch(struct agent_wsc *s, uint8_t events);
void agent_wsc_on_poll(uv_poll_t *h, int status, int events);
void agent_wsc_writeable(struct agent_worker *w, struct agent_wsc *s);

#endif

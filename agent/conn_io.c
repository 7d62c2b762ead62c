/* conn_io.c: the engine under a connection, behind the few things the layers
 * above ask of it.
 *
 * ack.c, session.c, dialect.c, keepalive.c and conn.c's own pings and
 * heartbeats never touch an engine: they ask whether one holds the
 * connection, ask for a writeable callback, and write one frame from it. The
 * callback itself, agent_conn_writeable(), is the same for every engine: the
 * client protocol's frame first, then a session step's, then our pings,
 * heartbeats, acks and Close. Under ws:// the engine is our own client
 * (wsc.c) unless the agent runs with --engine lws; wss:// is always lws's. */
#include "agent.h"

int agent_conn_live(const struct agent_worker *w, uint32_t slot)
{
    return w->conns[slot].wsi != NULL || agent_wsc_holds(w, slot);
}

void agent_conn_want_write(struct agent_worker *w, uint32_t slot)
{
    struct agent_conn *c = &w->conns[slot];
    if (c->wsi)
        lws_callback_on_writable(c->wsi);
    else if (agent_wsc_holds(w, slot))
        agent_wsc_want_write(w, slot);
}

/* What the socket already holds, read before a deadline is called missed:
 * after a stall of our own loop (timers run before the poll), an answer that
 * came in time may still sit unread. The native engine reads it; lws offers no
 * read of one connection outside its poll, so there the check stays as it was. */
void agent_conn_read_now(struct agent_worker *w, uint32_t slot)
{
    if (!w->conns[slot].wsi && agent_wsc_holds(w, slot))
        agent_wsc_read_now(w, slot);
}

int agent_conn_write(struct agent_worker *w, uint32_t slot, unsigned char *p, size_t len,
                     enum agent_conn_kind kind)
{
    static const enum lws_write_protocol lws_kind[] = {
        [AGENT_CONN_TEXT] = LWS_WRITE_TEXT,
        [AGENT_CONN_BINARY] = LWS_WRITE_BINARY,
        [AGENT_CONN_PING] = LWS_WRITE_PING,
    };
    struct agent_conn *c = &w->conns[slot];
    if (!c->wsi)
        return agent_wsc_holds(w, slot) ? agent_wsc_write(w, slot, p, len, (int)kind) : -1;
    return lws_write(c->wsi, p, len, lws_kind[kind]) < 0 ? -1 : 0;
}

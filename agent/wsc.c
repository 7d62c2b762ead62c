/* wsc.c: the native engine's connections: their life, lists and deadlines.
 *
 * Life of an attempt (agent_wsc_open, from conn_open.c):
 *   TCP      a non-blocking connect(), bound to the agent's source address
 *            with IP_BIND_ADDRESS_NO_PORT so that the port is picked per
 *            destination; the poll waits for writable, SO_ERROR decides;
 *            then the request (built in buf at open) goes out.
 *   UPGRADE  the response head is gathered in the same buffer and checked
 *            (wsc_http.c); bytes after the head are the first frames.
 *   OPEN     reads go through the frame decoder into conn.c (agent_conn_rx,
 *            agent_conn_pong, agent_conn_peer_close); a Ping is answered from
 *            the read callback itself.
 *   CLOSING  our Close went; the server's Close, its EOF or the close timeout
 *            ends it. Also when the server's Close came while a tail was
 *            unsent: the answer goes behind it, and the drain ends it.
 * The bytes of each phase are wsc_io.c's. Every end goes through
 * agent_wsc_end(): the poll handle is closed, the socket too, the buffers
 * freed, and conn.c's agent_conn_ended() decides the reason (ours first, then
 * the server's Close, then the fallback given here).
 *
 * Writeable callbacks: the layers above ask for one (agent_wsc_want_write);
 * the slot joins the pending list, and before the loop next sleeps (a prepare
 * handle) each pending slot gets agent_conn_writeable(), which writes at most
 * one frame straight to the socket. A kill is run from the same list, so it is
 * asynchronous as lws's is.
 *
 * Deadlines: a connection attempt and a close each have one fixed timeout, so
 * a list in start order is also in deadline order; one timer per worker is
 * armed for the earlier head. Nothing walks the connections. */
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ps_time.h"
#include "wsc_internal.h"

/* ---------- lists ---------- */

static struct agent_wsc_list *wsc_deadline_list(struct agent_worker *w, const struct agent_wsc *s)
{
    return s->phase == AGENT_WSC_CLOSING ? &w->wsc.closing : &w->wsc.connecting;
}

static void wsc_timer_arm(struct agent_worker *w);

void agent_wsc_list_add(struct agent_worker *w, struct agent_wsc *s, int64_t due_us)
{
    struct agent_wsc_list *l = wsc_deadline_list(w, s);
    uint32_t slot = agent_wsc_slot(w, s);
    s->due_us = due_us;
    s->prev = l->tail;
    s->next = WSC_NONE;
    if (l->tail != WSC_NONE)
        agent_wsc_of(w, l->tail)->next = slot;
    else
        l->head = slot;
    l->tail = slot;
    s->flags |= WSC_F_LIST;
    if (l->head == slot)
        wsc_timer_arm(w);
}

void agent_wsc_list_del(struct agent_worker *w, struct agent_wsc *s)
{
    if (!(s->flags & WSC_F_LIST))
        return;
    struct agent_wsc_list *l = wsc_deadline_list(w, s);
    if (s->prev != WSC_NONE)
        agent_wsc_of(w, s->prev)->next = s->next;
    else
        l->head = s->next;
    if (s->next != WSC_NONE)
        agent_wsc_of(w, s->next)->prev = s->prev;
    else
        l->tail = s->prev;
    s->flags &= (uint8_t)~WSC_F_LIST;
}

void agent_wsc_pend(struct agent_worker *w, struct agent_wsc *s)
{
    if (s->flags & WSC_F_PENDING)
        return;
    uint32_t slot = agent_wsc_slot(w, s);
    s->flags |= WSC_F_PENDING;
    s->pend = WSC_NONE;
    if (w->wsc.pending.tail != WSC_NONE)
        agent_wsc_of(w, w->wsc.pending.tail)->pend = slot;
    else
        w->wsc.pending.head = slot;
    w->wsc.pending.tail = slot;
}

/* ---------- the end of an attempt ---------- */

static void wsc_on_closed(uv_handle_t *h)
{
    struct agent_worker *w = h->data;
    struct agent_wsc *s = agent_wsc_of_handle((uv_handle_t *)h);
    s->flags &= (uint8_t)~WSC_F_CLOSING_H;
    if (!--w->wsc.n_closing && w->wsc.old) {   /* the last handle of a previous assignment */
        free(w->wsc.old);
        w->wsc.old = NULL;
    }
}

/* Closes the socket and frees the attempt's buffers; no event. */
static void wsc_release(struct agent_worker *w, struct agent_wsc *s)
{
    agent_wsc_list_del(w, s);
    uv_close((uv_handle_t *)&s->poll, wsc_on_closed);
    s->flags = (uint8_t)((s->flags & WSC_F_PENDING) | WSC_F_CLOSING_H);
    w->wsc.n_closing++;
    close(s->fd);
    s->fd = -1;
    free(s->buf);
    s->buf = NULL;
    s->buf_len = s->buf_off = 0;
    agent_wsc_rx_free(&s->rx);
    s->phase = AGENT_WSC_FREE;
}

void agent_wsc_end(struct agent_worker *w, struct agent_wsc *s, uint8_t fallback, uint32_t aux)
{
    if (s->phase == AGENT_WSC_FREE)
        return;
    wsc_release(w, s);
    agent_conn_ended(w, agent_wsc_slot(w, s), fallback, aux);
}

void agent_wsc_want_write(struct agent_worker *w, uint32_t slot)
{
    struct agent_wsc *s = agent_wsc_of(w, slot);
    if (s->phase != AGENT_WSC_OPEN)
        return;
    s->flags |= WSC_F_WANT;
    if (!s->buf_len)   /* with a tail, the callback comes once it has drained */
        agent_wsc_pend(w, s);
}

void agent_wsc_kill(struct agent_worker *w, uint32_t slot, uint8_t reason)
{
    struct agent_wsc *s = agent_wsc_of(w, slot);
    if (s->phase == AGENT_WSC_FREE)
        return;
    s->flags |= WSC_F_KILL;   /* ended from the pending list, like lws's asynchronous kill */
    s->kill_reason = reason;
    agent_wsc_pend(w, s);
}

/* Before the loop sleeps: every pending slot's writeable callback (or kill).
 * A callback may queue its slot again (one frame each); the list is run
 * until it is empty. */
static void wsc_on_prepare(uv_prepare_t *h)
{
    struct agent_worker *w = h->data;
    while (w->wsc.conns && w->wsc.pending.head != WSC_NONE) {
        uint32_t slot = w->wsc.pending.head;
        struct agent_wsc *s = agent_wsc_of(w, slot);
        w->wsc.pending.head = s->pend;
        if (w->wsc.pending.head == WSC_NONE)
            w->wsc.pending.tail = WSC_NONE;
        s->flags &= (uint8_t)~WSC_F_PENDING;
        if (s->flags & WSC_F_KILL) {
            s->flags &= (uint8_t)~WSC_F_KILL;
            agent_wsc_end(w, s, s->kill_reason, 0);
        } else if (s->phase == AGENT_WSC_OPEN && (s->flags & WSC_F_WANT) && !s->buf_len) {
            agent_wsc_writeable(w, s);
        }
    }
}

/* ---------- deadlines ---------- */

static void wsc_on_timer(uv_timer_t *t)
{
    struct agent_worker *w = t->data;
    int64_t now = ps_time_mono_us();
    w->wsc.timer_due_us = 0;
    struct agent_wsc_list *lists[] = {&w->wsc.connecting, &w->wsc.closing};
    for (size_t i = 0; i < 2; i++) {
        while (w->wsc.conns && lists[i]->head != WSC_NONE) {
            struct agent_wsc *s = agent_wsc_of(w, lists[i]->head);
            if (s->due_us > now)
                break;
            /* a connect or an upgrade never answered; a Close never answered */
            agent_wsc_end(w, s, PS_REASON_TIMEOUT, 0);
        }
    }
    wsc_timer_arm(w);
}

static void wsc_timer_arm(struct agent_worker *w)
{
    if (!w->wsc.handles || w->quitting)
        return;
    int64_t due = INT64_MAX;
    struct agent_wsc_list *lists[] = {&w->wsc.connecting, &w->wsc.closing};
    for (size_t i = 0; i < 2; i++)
        if (lists[i]->head != WSC_NONE && agent_wsc_of(w, lists[i]->head)->due_us < due)
            due = agent_wsc_of(w, lists[i]->head)->due_us;
    if (due == INT64_MAX || (w->wsc.timer_due_us && w->wsc.timer_due_us <= due))
        return;
    int64_t wait_us = due - ps_time_mono_us();
    w->wsc.timer_due_us = due;
    uv_timer_start(&w->wsc.timer, wsc_on_timer, wait_us > 0 ? (uint64_t)(wait_us + 999) / 1000 : 0, 0);
}

/* ---------- opening ---------- */

static int wsc_sockaddr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof *v6;
        return 0;
    }
    return -1;
}

/* A non-blocking socket connecting to addr:port from src_ip (NULL: the
 * kernel's choice; a link-local IPv6 one binds on interface src_scope); the
 * fd, or -errno. */
static int wsc_connect(const char *addr, int port, const char *src_ip, uint32_t src_scope)
{
    struct sockaddr_storage to, from;
    socklen_t tolen, fromlen;
    if (wsc_sockaddr(addr, port, &to, &tolen) < 0)
        return -EINVAL;
    int fd = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (src_ip) {
        /* the port is chosen at connect(), per destination: one source
         * address then serves far more than 28,000 connections */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        /* not an address: errno is whatever came before, maybe 0, and a
         * -0 would be taken for the socket of fd 0 */
        int e = wsc_sockaddr(src_ip, 0, &from, &fromlen) < 0 ? EINVAL : 0;
        if (!e && from.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&from)->sin6_scope_id = src_scope;
        if (!e && bind(fd, (struct sockaddr *)&from, fromlen) < 0)
            e = errno;
        if (e) {
            close(fd);
            return -e;
        }
    }
    if (connect(fd, (struct sockaddr *)&to, tolen) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int agent_wsc_open(struct agent_worker *w, uint32_t slot, const struct agent_wsc_req *req,
                   const char *addr, int port, const char *src_ip, uint32_t src_scope)
{
    struct agent_wsc *s = agent_wsc_of(w, slot);
    uint8_t raw[16];
    char key[AGENT_WSC_KEY_LEN + 1];
    if (agent_wsc_key(w->wsc.keys, raw) < 0 || agent_wsc_key(w->wsc.keys, raw + 4) < 0 ||
        agent_wsc_key(w->wsc.keys, raw + 8) < 0 || agent_wsc_key(w->wsc.keys, raw + 12) < 0)
        return EIO;
    agent_wsc_http_key(raw, key);
    size_t offer = req->protocol ? strlen(req->protocol) : 0;
    if (offer >= WSC_OFFER_MAX)
        return EINVAL;
    char request[AGENT_WSC_HEAD_LIMIT];
    struct agent_wsc_req r = *req;
    r.key = key;
    int n = agent_wsc_http_request(request, sizeof request, &r);
    if (n < 0)
        return EMSGSIZE;
    size_t head_off = AGENT_WSC_KEY_LEN + offer + 1;
    unsigned char *buf = malloc(head_off + (n > WSC_HEAD_FIRST ? (size_t)n : WSC_HEAD_FIRST));
    if (!buf)
        return ENOMEM;
    memcpy(buf, key, AGENT_WSC_KEY_LEN);
    memcpy(buf + AGENT_WSC_KEY_LEN, req->protocol ? req->protocol : "", offer + 1);
    memcpy(buf + head_off, request, (size_t)n);
    int fd = wsc_connect(addr, port, src_ip, src_scope);
    if (fd < 0) {
        free(buf);
        return -fd;
    }
    if (uv_poll_init(&w->loop, &s->poll, fd) < 0) {
        free(buf);
        close(fd);
        return EIO;
    }
    s->poll.data = w;
    s->fd = fd;
    s->buf = buf;
    s->buf_len = (uint32_t)n;
    s->buf_off = 0;
    s->flags &= WSC_F_PENDING;   /* a stale entry of the last attempt may still be listed */
    s->events = 0;
    s->phase = AGENT_WSC_TCP;
    agent_wsc_watch(s, UV_WRITABLE);
    agent_wsc_list_add(w, s, ps_time_mono_us() + AGENT_WSC_CONNECT_S * 1000000LL);
    return 0;
}

/* ---------- the set's life ---------- */

int agent_wsc_native(const struct agent_worker *w, uint32_t slot)
{
    if (!w->wsc.conns)
        return 0;
    return !w->agent->assign.targets[agent_conn_target(w, slot)].scheme_tls;
}

int agent_wsc_holds(const struct agent_worker *w, uint32_t slot)
{
    return w->wsc.conns && w->wsc.conns[slot].phase != AGENT_WSC_FREE;
}

int agent_wsc_busy(const struct agent_worker *w, uint32_t slot)
{
    return w->wsc.conns && (w->wsc.conns[slot].flags & WSC_F_CLOSING_H);
}

void agent_wsc_start(struct agent_worker *w)
{
    uv_prepare_init(&w->loop, &w->wsc.prepare);
    w->wsc.prepare.data = w;
    uv_prepare_start(&w->wsc.prepare, wsc_on_prepare);
    uv_unref((uv_handle_t *)&w->wsc.prepare);
    uv_timer_init(&w->loop, &w->wsc.timer);
    w->wsc.timer.data = w;
    w->wsc.handles = 1;
}

static void wsc_lists_reset(struct agent_wsc_set *set)
{
    set->pending.head = set->pending.tail = WSC_NONE;
    set->connecting.head = set->connecting.tail = WSC_NONE;
    set->closing.head = set->closing.tail = WSC_NONE;
}

int agent_wsc_assign(struct agent_worker *w)
{
    struct agent_wsc_set *set = &w->wsc;
    const struct agent *ag = w->agent;
    if (set->n_closing && !set->old) {
        set->old = set->conns;   /* its handles still close: freed by the last one */
    } else {
        free(set->conns);
    }
    set->conns = NULL;
    wsc_lists_reset(set);
    int native = 0;
    for (uint32_t i = 0; i < ag->assign.a.n_targets; i++)
        native |= !ag->assign.targets[i].scheme_tls;
    if (ag->opts.engine != AGENT_ENGINE_NATIVE || !native || !w->n_conns)
        return 0;
    if (!set->rxbuf)
        set->rxbuf = malloc(AGENT_WSC_READ);
    if (!set->keys && (set->keys = malloc(sizeof *set->keys)))
        agent_wsc_keys_init(set->keys);
    set->conns = calloc(w->n_conns, sizeof *set->conns);
    if (!set->rxbuf || !set->keys || !set->conns)
        return -1;
    for (uint32_t i = 0; i < w->n_conns; i++)
        set->conns[i].fd = -1;
    return 0;
}

/* QUIT: every socket closed without a word (lws_context_destroy does the
 * same for lws's), and the set's own handles, so that the loop runs dry. */
void agent_wsc_quit(struct agent_worker *w)
{
    struct agent_wsc_set *set = &w->wsc;
    for (uint32_t i = 0; set->conns && i < w->n_conns; i++)
        if (set->conns[i].phase != AGENT_WSC_FREE)
            wsc_release(w, &set->conns[i]);
    wsc_lists_reset(set);
    if (set->handles) {
        uv_close((uv_handle_t *)&set->prepare, NULL);
        uv_close((uv_handle_t *)&set->timer, NULL);
        set->handles = 0;
    }
}

void agent_wsc_close(struct agent_worker *w)
{
    struct agent_wsc_set *set = &w->wsc;
    free(set->conns);
    free(set->old);
    free(set->rxbuf);
    free(set->keys);
    memset(set, 0, sizeof *set);
}


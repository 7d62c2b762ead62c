/* worker_thread.c: a worker's thread, the loop and lws context it runs, and
 * the hand-over of commands from the control thread.
 *
 * Life cycle (wrk-style: the worker owns everything it touches):
 *   init   memory only (mutex, buffers).
 *   start  spawns the thread, which creates its loop and an lws context on it
 *          (foreign loop), its timer and a wake-up async, then reports
 *          ready or failed to start() through the condition variable.
 *   post   the control thread hands over one command at a time (mailbox under
 *          the mutex + uv_async_send); the worker applies it on its loop
 *          (worker.c) and bumps cmd_applied, which agent_worker_wait() waits for.
 *   join   after a QUIT command: lws_context_destroy() starts lws's teardown,
 *          the loop runs until every handle is closed, a second
 *          lws_context_destroy() frees the context (the order the lws
 *          maintainers give for foreign loops), then the thread exits.
 *   close  frees the connection table and buffers.
 * What runs on the loop in between, the timer's work and the commands
 * themselves, is worker.c's. */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_time.h"

static void agent_worker_on_wake(uv_async_t *h)
{
    struct agent_worker *w = h->data;
    pthread_mutex_lock(&w->mu);
    enum agent_wcmd cmd = w->cmd;
    struct ps_cmd *argp = &w->cmd_arg;
    w->cmd = AGENT_W_NONE;
    pthread_mutex_unlock(&w->mu);
    if (cmd == AGENT_W_NONE)
        return;
    /* The control thread does not touch cmd_arg until cmd_applied moves on. */
    char err[PS_REASON_MAX];
    agent_worker_apply(w, cmd, argp, err, sizeof err);
    agent_worker_arm(w, ps_time_mono_us());   /* what the command started, at once */
    pthread_mutex_lock(&w->mu);
    snprintf(w->cmd_error, sizeof w->cmd_error, "%s", err);
    w->cmd_applied++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

static void agent_worker_ready(struct agent_worker *w, int ready)
{
    pthread_mutex_lock(&w->mu);
    w->ready = ready;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

static void *agent_worker_main(void *arg)
{
    struct agent_worker *w = arg;
    if (uv_loop_init(&w->loop)) {
        agent_worker_ready(w, -1);
        return NULL;
    }
    w->t0_us = ps_time_mono_us();
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    w->foreign_loops[0] = &w->loop;
    info.foreign_loops = w->foreign_loops;
    /* No TLS on the default vhost: wss connections go through the vhosts of
     * tls.c, which carry LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT themselves. A
     * TLS default vhost would load the system trust store once more per
     * worker, and lws 4.1.6 does not free it when several contexts exist. */
    info.options = LWS_SERVER_OPTION_LIBUV;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = w->protocols;
    info.user = w;
    info.gid = -1;
    info.uid = -1;
    w->ctx = lws_create_context(&info);
    if (!w->ctx) {
        uv_loop_close(&w->loop);
        agent_worker_ready(w, -1);
        return NULL;
    }
    uv_timer_init(&w->loop, &w->timer);
    w->timer.data = w;
    w->timer_on = 1;
    uv_timer_init(&w->loop, &w->start_timer);
    w->start_timer.data = w;
    uv_async_init(&w->loop, &w->wake, agent_worker_on_wake);
    w->wake.data = w;
    agent_wsc_start(w);
    agent_worker_arm(w, ps_time_mono_us() + AGENT_TICK_MS * 1000);
    agent_worker_ready(w, 1);

    uv_run(&w->loop, UV_RUN_DEFAULT);
    /* the loop ran dry after QUIT: lws's handles are closed; now free it */
    lws_context_destroy(w->ctx);
    w->ctx = NULL;
    agent_tls_close(w);
    uv_run(&w->loop, UV_RUN_NOWAIT);
    uv_loop_close(&w->loop);
    return NULL;
}

int agent_worker_init(struct agent_worker *w, struct agent *ag, uint32_t index)
{
    memset(w, 0, sizeof *w);
    w->agent = ag;
    w->index = index;
    w->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)index << 32) ^ (uint64_t)ps_time_mono_us();
    if (!w->rng)
        w->rng = 1;
    msgpack_sbuffer_init(&w->sbuf);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->protocols[0].name = "pushstorm-agent";
    w->protocols[0].callback = agent_conn_callback;
    w->protocols[0].per_session_data_size = sizeof(struct agent_conn);
    /* 128 B rx buffer: lws's per-connection share drops from ~5.5 KB to ~1.6 KB
     * (LWS-NOTES); bigger messages come in pieces, which conn.c handles. tx is
     * set apart, or the small rx size would cap sends as well. */
    w->protocols[0].rx_buffer_size = 128;
    w->protocols[0].tx_packet_size = sizeof w->txbuf;
    ps_hist_init(&w->cur.rtt);
    ps_hist_init(&w->cur.hb_rtt);
    ps_hist_init(&w->cur.hs);
    ps_hist_init(&w->cur.lat);
    return 0;
}

int agent_worker_start(struct agent_worker *w)
{
    if (pthread_create(&w->thread, NULL, agent_worker_main, w))
        return -1;
    w->started = 1;
    pthread_mutex_lock(&w->mu);
    while (!w->ready)
        pthread_cond_wait(&w->cond, &w->mu);
    int ok = w->ready > 0;
    pthread_mutex_unlock(&w->mu);
    if (!ok) {
        pthread_join(w->thread, NULL);
        w->started = 0;
        return -1;
    }
    return 0;
}

void agent_worker_post(struct agent_worker *w, enum agent_wcmd cmd, const struct ps_cmd *arg)
{
    pthread_mutex_lock(&w->mu);
    w->cmd = cmd;
    if (arg)
        w->cmd_arg = *arg;
    w->cmd_posted++;
    pthread_mutex_unlock(&w->mu);
    uv_async_send(&w->wake);
}

int agent_worker_wait(struct agent_worker *w, uint32_t timeout_ms, char *err, size_t errlen)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    while (w->cmd_applied != w->cmd_posted && rc == 0)
        rc = pthread_cond_timedwait(&w->cond, &w->mu, &dl);
    if (w->cmd_applied != w->cmd_posted) {
        snprintf(err, errlen, "thread %u did not apply the command within %u ms", w->index,
                 timeout_ms);
        rc = -1;
    } else if (w->cmd_error[0]) {
        snprintf(err, errlen, "%s", w->cmd_error);
        rc = -1;
    } else {
        rc = 0;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void agent_worker_join(struct agent_worker *w)
{
    if (!w->started)
        return;
    agent_worker_post(w, AGENT_W_QUIT, NULL);
    pthread_join(w->thread, NULL);
    w->started = 0;
}

void agent_worker_close(struct agent_worker *w)
{
    free(w->conns);
    w->conns = NULL;
    agent_session_release_all(w);
    agent_dialect_release(w);
    agent_wsc_close(w);
    msgpack_sbuffer_destroy(&w->sbuf);
    for (struct agent_blob *b = w->out_head, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    w->out_head = w->out_tail = NULL;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
}

/* ctl_link: is the controller still there? (main thread, and one nng callback)
 *
 * A load generator nobody watches must not keep hammering a server, but a
 * network blip must not end a run either. Two signs, two answers:
 *  - The control connection closed (the controller process died: its kernel
 *    sent a FIN or RST). nng's pipe callback notes the time; if no answer has
 *    come (over a new connection nng dials at once) AGENT_LINK_HANGUP_US
 *    later, the controller is gone and the load stops. The control requests
 *    time out after 500 ms, so the loop looks at this at least that often:
 *    the load stops within about 1.5 s of the controller's death.
 *  - Silence without a close (the controller's host vanished, or the network
 *    between is cut): the agent keeps its load and its events (ctl_buffer.c)
 *    for the plan's agents.grace, as the controller keeps it as suspect for
 *    as long, and rejoins the run when the link returns. After
 *    AGENT_LINK_REDIAL_US of silence it closes both its connections to the
 *    controller once, so nng dials fresh ones: a TCP connection that lost
 *    packets for 20 s backs off its retransmits for as long, while a new one
 *    gets through as soon as the link is back (the dialer retries every
 *    second). A pipe closed that way, or one that closes after such a
 *    silence, is not the controller hanging up. Past the grace the load
 *    stops. */
#include "agent.h"

#include <stdio.h>

#include "ps_time.h"

#define AGENT_LINK_HANGUP_US   1000000   /* the controller's own pipe grace (run_agents.c) */
#define AGENT_LINK_GRACE_US    30000000  /* before an ASSIGN says agents.grace */
#define AGENT_LINK_REDIAL_US   3000000   /* silent this long: dial the controller afresh */

static void agent_link_pipe_closed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    struct agent *ag = arg;
    (void)p;
    (void)ev;
    __atomic_store_n(&ag->pipe_closed_us, ps_time_mono_us(), __ATOMIC_RELAXED);
    agent_ctl_wake(ag);   /* an idle control thread would not look for up to a second */
}

int agent_link_closed(const struct agent *ag)
{
    return __atomic_load_n(&ag->pipe_closed_us, __ATOMIC_RELAXED) > ag->last_reply_us;
}

/* The newest pipe of each socket, for the redial. */
static void agent_link_req_added(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    struct agent *ag = arg;
    (void)ev;
    __atomic_store_n(&ag->req_pipe, nng_pipe_id(p), __ATOMIC_RELAXED);
}

static void agent_link_push_added(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    struct agent *ag = arg;
    (void)ev;
    __atomic_store_n(&ag->push_pipe, nng_pipe_id(p), __ATOMIC_RELAXED);
}

int agent_link_start(struct agent *ag)
{
    int rc;
    ag->grace_us = AGENT_LINK_GRACE_US;
    if ((rc = nng_pipe_notify(ag->req, NNG_PIPE_EV_REM_POST, agent_link_pipe_closed, ag)) ||
        (rc = nng_pipe_notify(ag->req, NNG_PIPE_EV_ADD_POST, agent_link_req_added, ag)))
        return rc;
    return nng_pipe_notify(ag->push, NNG_PIPE_EV_ADD_POST, agent_link_push_added, ag);
}

static void agent_link_close_pipe(uint32_t *id)
{
    nng_pipe p = NNG_PIPE_INITIALIZER;
    p.id = __atomic_exchange_n(id, 0, __ATOMIC_RELAXED);
    if (p.id)
        nng_pipe_close(p);
}

int agent_link_lost(struct agent *ag, char *why, size_t len)
{
    int64_t now = ps_time_mono_us();
    int64_t closed = __atomic_load_n(&ag->pipe_closed_us, __ATOMIC_RELAXED);
    if (closed > ag->last_reply_us && closed - ag->last_reply_us < AGENT_LINK_REDIAL_US &&
        now - closed >= AGENT_LINK_HANGUP_US) {
        snprintf(why, len, "the controller closed the control connection %.1fs ago and has not "
                 "answered since", (now - closed) / 1e6);
        return 1;
    }
    if (now - ag->last_reply_us >= ag->grace_us) {
        snprintf(why, len, "no answer from the controller for %.0fs (agents.grace)",
                 ag->grace_us / 1e6);
        return 1;
    }
    if (now - ag->last_reply_us >= AGENT_LINK_REDIAL_US && ag->redial_us < ag->last_reply_us) {
        ag->redial_us = now;
        if (!ag->opts.quiet)
            printf("no answer from the controller for %.0fs: keeping the load and the events, "
                   "dialing it afresh (agents.grace %.0fs)\n", (now - ag->last_reply_us) / 1e6,
                   ag->grace_us / 1e6);
        fflush(stdout);
        agent_link_close_pipe(&ag->req_pipe);
        agent_link_close_pipe(&ag->push_pipe);
    }
    return 0;
}

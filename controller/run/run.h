/* run: carries out one campaign (`pushstorm run`).
 *
 * The controller is one thread around one poll: pusher_poll() (libcurl's
 * multi poll) waits on the push API transfers and on the two nng receive
 * descriptors (control REP and data PULL) at once, with a timeout that wakes it
 * for the next paced push or the next second. Each turn drains control requests
 * (answering each at once), drains event batches into the ledger and the store,
 * drives libcurl, and steps the phase machine. The files that do it share
 * run_internal.h. See docs/architecture.md. */
#ifndef PS_RUN_H
#define PS_RUN_H

#include <stdint.h>
#include "plan.h"
#include "ps_link.h"

struct run_opts {
    const char *db_path;         /* default pushstorm.db */
    const char *listen;          /* default tcp://0.0.0.0:7700 */
    uint32_t    local_agents;    /* agents to start on this machine */
    uint32_t    local_threads;   /* --threads for each local agent; 0 = agent default */
    const char *agent_bin;       /* path of pushstorm-agent for local agents */
    const char *agent_args;      /* --agent-args: more words for each local agent, or NULL */
    int         quiet;
    const char *metrics;         /* --metrics [HOST:]PORT, NULL = off */
    const char *auth_key;        /* --auth-key FILE, NULL = agents are not authenticated */
    struct ps_link_tls tls;      /* --tls-cert, --tls-ca: for a tls+tcp:// --listen */
};

/* Exit status: 0 every threshold passed, 1 a threshold failed, 2 the run could
 * not be carried out. */
int run_campaign(const struct plan *plan, const char *plan_text, const struct run_opts *opts);

#endif

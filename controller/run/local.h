/* local: agents started by the controller on this machine (--local-agents).
 * local.c starts and stops the processes and splits --agent-args; local_plan.c
 * says what they take from the plan (how many are expected, their source
 * addresses). */
#ifndef PS_LOCAL_H
#define PS_LOCAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plan.h"

#define LOCAL_MAX_AGENTS 64
#define LOCAL_ARGS_MAX   32      /* words of --agent-args */
#define LOCAL_ARGS_BYTES 1024
#define LOCAL_SRC_MAX    64      /* one agent's --source-ips range */

struct local_agents {
    uint32_t n;
    pid_t    pids[LOCAL_MAX_AGENTS];
};

/* --agent-args "...", split into words: blanks separate them, and single or
 * double quotes keep blanks inside one ("--name 'a b'"). */
struct local_args {
    uint32_t    n;
    const char *argv[LOCAL_ARGS_MAX];
    int         source_ips;      /* it says --source-ips: no automatic ranges */
    char        buf[LOCAL_ARGS_BYTES];
};
/* 0, or -1 with err naming what is wrong: an unclosed quote, too many words,
 * an option the controller sets itself (--controller, --name, --once) or one
 * that would end the agent at once (--help, --version). */
int local_args_split(const char *spec, struct local_args *out, char *err, size_t errlen);

/* How to start them. */
struct local_spec {
    const char *agent_bin;
    const char *controller;      /* the control address they dial */
    const char *auth_key;        /* key file, or NULL */
    uint32_t    threads;         /* --threads; 0 = the agent's default */
    const struct local_args *args;           /* --agent-args, or NULL */
    const char (*src)[LOCAL_SRC_MAX];        /* agent i's --source-ips, or NULL for none */
};

/* Starts n agents; returns 0 or -1 with err. */
int  local_agents_start(struct local_agents *la, uint32_t n, const struct local_spec *s, char *err,
                        size_t errlen);
/* A local agent that has exited, reaped: its number (1-based, local-N) and
 * *status (exit status, or 128 + signal); 0 when all still run. */
uint32_t local_agents_exited(struct local_agents *la, int *status);
/* Asks every agent still running to stop (SIGTERM), waits up to timeout_ms,
 * then kills what is left. Only the PIDs we started are touched. */
void local_agents_stop(struct local_agents *la, int timeout_ms);

/* local_plan.c */
/* --local-agents n: a plan without agents.expect expects n agents; a plan that
 * says agents.expect wins, and fewer than n start when it expects fewer (said
 * on stderr). Returns how many to start. */
uint32_t local_plan_expect(struct plan *p, uint32_t n);
/* When every target is an IPv4 loopback address (127.x.y.z), local agent i
 * gets src[i] = "127.101.I.1-127.101.I.K" (I = i + 1), K addresses enough for
 * its share of the connections; returns 1, or 0 (targets elsewhere, src
 * untouched). */
int local_plan_sources(const struct plan *p, uint32_t n, char src[][LOCAL_SRC_MAX]);

#endif

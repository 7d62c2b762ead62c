/* local: agents started by the controller on this machine (--local-agents). */
#ifndef PS_LOCAL_H
#define PS_LOCAL_H

#include <stdint.h>
#include <sys/types.h>

#define LOCAL_MAX_AGENTS 64

struct local_agents {
    uint32_t n;
    pid_t    pids[LOCAL_MAX_AGENTS];
};

/* Starts n agents dialling `controller` (with the key file auth_key unless
 * NULL); returns 0 or -1 with err. */
int  local_agents_start(struct local_agents *la, uint32_t n, const char *agent_bin,
                        const char *controller, uint32_t threads, const char *auth_key,
                        char *err, size_t errlen);
/* Asks every agent still running to stop (SIGTERM), waits up to timeout_ms,
 * then kills what is left. Only the PIDs we started are touched. */
void local_agents_stop(struct local_agents *la, int timeout_ms);

#endif

/* local: starting and stopping agent processes on this machine.
 *
 * Used by `run --local-agents N` and by make demo: one command, one machine. The
 * agents are started with --once, so they exit by themselves when the run's STOP
 * completes; local_agents_stop only cleans up after a failed run. */
#include "local.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int local_agents_start(struct local_agents *la, uint32_t n, const char *agent_bin,
                       const char *controller, uint32_t threads, const char *auth_key,
                       char *err, size_t errlen)
{
    memset(la, 0, sizeof *la);
    if (n > LOCAL_MAX_AGENTS) {
        snprintf(err, errlen, "--local-agents %u: at most %d", n, LOCAL_MAX_AGENTS);
        return -1;
    }
    if (access(agent_bin, X_OK) != 0) {
        snprintf(err, errlen, "cannot run the agent %s: %s", agent_bin, strerror(errno));
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        char name[32], thr[16];
        snprintf(name, sizeof name, "local-%u", i + 1);
        snprintf(thr, sizeof thr, "%u", threads);
        pid_t pid = fork();
        if (pid < 0) {
            snprintf(err, errlen, "fork: %s", strerror(errno));
            local_agents_stop(la, 1000);
            return -1;
        }
        if (pid == 0) {
            const char *argv[12] = {agent_bin, "--controller", controller, "--name", name,
                                    "--once", "--quiet"};
            int k = 7;
            if (threads) {
                argv[k++] = "--threads";
                argv[k++] = thr;
            }
            if (auth_key) {
                argv[k++] = "--auth-key";
                argv[k++] = auth_key;
            }
            execv(agent_bin, (char *const *)argv);
            fprintf(stderr, "pushstorm: exec %s: %s\n", agent_bin, strerror(errno));
            _exit(127);
        }
        la->pids[la->n++] = pid;
    }
    return 0;
}

static int local_reap(struct local_agents *la)
{
    int alive = 0;
    for (uint32_t i = 0; i < la->n; i++) {
        if (la->pids[i] <= 0)
            continue;
        int status;
        pid_t r = waitpid(la->pids[i], &status, WNOHANG);
        if (r == la->pids[i] || (r < 0 && errno == ECHILD))
            la->pids[i] = 0;
        else
            alive++;
    }
    return alive;
}

void local_agents_stop(struct local_agents *la, int timeout_ms)
{
    /* Give agents that are finishing on their own a moment first. */
    for (int waited = 0; local_reap(la) && waited < timeout_ms / 2; waited += 20)
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    for (uint32_t i = 0; i < la->n; i++)
        if (la->pids[i] > 0)
            kill(la->pids[i], SIGTERM);
    for (int waited = 0; local_reap(la) && waited < timeout_ms / 2; waited += 20)
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    for (uint32_t i = 0; i < la->n; i++)
        if (la->pids[i] > 0) {
            kill(la->pids[i], SIGKILL);
            waitpid(la->pids[i], NULL, 0);
            la->pids[i] = 0;
        }
}

/* local: starting and stopping agent processes on this machine.
 *
 * Used by `run --local-agents N` and by make demo: one command, one machine. The
 * agents are started with --once, so they exit by themselves when the run's STOP
 * completes; local_agents_stop only cleans up after a failed run. Each gets
 * --controller, --name local-N, --once, --quiet, --threads (--agent-threads),
 * --auth-key (the controller's), --source-ips (local_plan.c) and then the words
 * of --agent-args; the agent's parser takes the last of a repeated option, so
 * --agent-args "--threads 2" wins over --agent-threads. */
#include "local.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Options the controller sets for every local agent, or that would end it at once. */
static const char *const local_reserved[] = {"--controller", "--name", "--once", "--help", "-h",
                                             "--version"};

static int local_arg_reserved(const char *w)
{
    for (size_t k = 0; k < sizeof local_reserved / sizeof local_reserved[0]; k++) {
        size_t n = strlen(local_reserved[k]);
        if (!strncmp(w, local_reserved[k], n) && (w[n] == 0 || w[n] == '='))
            return 1;
    }
    return 0;
}

static int local_args_long(char *err, size_t errlen)
{
    snprintf(err, errlen, "--agent-args: longer than %d bytes", LOCAL_ARGS_BYTES - 1);
    return -1;
}

int local_args_split(const char *spec, struct local_args *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t o = 0;
    const char *s = spec;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        if (!*s)
            break;
        if (out->n == LOCAL_ARGS_MAX) {
            snprintf(err, errlen, "--agent-args: more than %d words", LOCAL_ARGS_MAX);
            return -1;
        }
        out->argv[out->n++] = out->buf + o;
        char quote = 0;
        for (; *s && (quote || (*s != ' ' && *s != '\t' && *s != '\n')); s++) {
            if (!quote && (*s == '\'' || *s == '"'))
                quote = *s;
            else if (quote && *s == quote)
                quote = 0;
            else if (o + 1 >= sizeof out->buf)   /* no room for it and the word's NUL */
                return local_args_long(err, errlen);
            else
                out->buf[o++] = *s;
        }
        if (quote) {
            snprintf(err, errlen, "--agent-args: the %c quote at byte %zu is not closed", quote,
                     (size_t)(strrchr(spec, quote) - spec) + 1);
            return -1;
        }
        if (o >= sizeof out->buf)   /* an empty word ('') with no room for its NUL */
            return local_args_long(err, errlen);
        out->buf[o++] = 0;
        const char *w = out->argv[out->n - 1];
        if (local_arg_reserved(w)) {
            snprintf(err, errlen, "--agent-args: %s is set by the controller for its local agents "
                     "(or would stop them at once)", w);
            return -1;
        }
        out->source_ips |= !strncmp(w, "--source-ips", 12) && (w[12] == 0 || w[12] == '=');
    }
    return 0;
}

int local_agents_start(struct local_agents *la, uint32_t n, const struct local_spec *s, char *err,
                       size_t errlen)
{
    memset(la, 0, sizeof *la);
    if (n > LOCAL_MAX_AGENTS) {
        snprintf(err, errlen, "--local-agents %u: at most %d", n, LOCAL_MAX_AGENTS);
        return -1;
    }
    if (access(s->agent_bin, X_OK) != 0) {
        snprintf(err, errlen, "cannot run the agent %s: %s", s->agent_bin, strerror(errno));
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        char name[32], thr[16];
        snprintf(name, sizeof name, "local-%u", i + 1);
        snprintf(thr, sizeof thr, "%u", s->threads);
        /* built before the fork: the child only execs */
        const char *argv[16 + LOCAL_ARGS_MAX] = {s->agent_bin, "--controller", s->controller,
                                                 "--name", name, "--once", "--quiet"};
        int k = 7;
        if (s->threads) {
            argv[k++] = "--threads";
            argv[k++] = thr;
        }
        if (s->auth_key) {
            argv[k++] = "--auth-key";
            argv[k++] = s->auth_key;
        }
        if (s->src && s->src[i][0]) {
            argv[k++] = "--source-ips";
            argv[k++] = s->src[i];
        }
        for (uint32_t w = 0; s->args && w < s->args->n; w++)
            argv[k++] = s->args->argv[w];
        pid_t pid = fork();
        if (pid < 0) {
            snprintf(err, errlen, "fork: %s", strerror(errno));
            local_agents_stop(la, 1000);
            return -1;
        }
        if (pid == 0) {
            execv(s->agent_bin, (char *const *)argv);
            fprintf(stderr, "pushstorm: exec %s: %s\n", s->agent_bin, strerror(errno));
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

uint32_t local_agents_exited(struct local_agents *la, int *status)
{
    for (uint32_t i = 0; i < la->n; i++) {
        int st;
        if (la->pids[i] <= 0 || waitpid(la->pids[i], &st, WNOHANG) != la->pids[i])
            continue;
        la->pids[i] = 0;
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return i + 1;
    }
    return 0;
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

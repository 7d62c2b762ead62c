/* progress: what a run shows while it runs.
 *
 * Not a TTY (a log, a CI job): one plain line per second with the time since
 * the start, plus the event lines (agent joined, phase started...) between
 * them. On a TTY: the same event lines scroll above one live status area that
 * is redrawn in place each second (a progress bar of connections against the
 * target, rates, failures by reason, latency, agents, lag warnings, servers).
 * Every line the run prints goes through progress_say() so the live area is
 * taken down before it and put back after it. */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "ps_proto.h"

struct progress_view {
    double   elapsed_s;
    const char *phase;           /* phase kind or run state */
    uint32_t phase_idx, n_phases; /* 1-based; 0 = not in a phase */
    uint64_t connected, target;
    uint64_t conn_rate;          /* handshakes per second */
    uint64_t failed;             /* failure events so far */
    const uint64_t *reasons;     /* PS_REASON_COUNT: failures + closes by reason */
    uint64_t push_rate, recv_rate;
    uint32_t lat_p50_us, lat_p99_us;
    uint32_t agents_live, agents_joined;
    uint32_t lag_max_us;         /* worst agent loop lag of the second */
    uint32_t saturated;          /* agents past their own --lag-threshold in their last second */
    const char *servers;         /* monitor summary, may be "" */
};

struct progress {
    FILE *out;
    int   tty;
    int   quiet;
    int   drawn;                 /* lines of the live area now on screen */
    struct progress_view last;   /* to redraw after an event line */
    int   have_last;
    char  servers[192];
    uint64_t reasons[PS_REASON_COUNT];
};

void progress_init(struct progress *p, FILE *out, int tty, int quiet);
void progress_say(struct progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void progress_status(struct progress *p, const struct progress_view *v);
void progress_done(struct progress *p);   /* leaves the last live area on screen */

#endif

/* metrics: Prometheus text exposition of a running campaign (--metrics ADDR).
 *
 * A listening TCP socket whose descriptor joins the run loop's poll set; when a
 * scraper connects, the run loop asks for one client at a time, fills a
 * struct metrics_view from its own state (the way progress gets a
 * progress_view: this module knows nothing of the run) and answers with its
 * text. No thread, no HTTP library: a scrape is one small GET, answered with
 * "Connection: close". */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ps_hist.h"

struct metrics {
    int fd;                      /* listening socket, -1 = off */
};

struct metrics_agent {
    const char *name;
    uint32_t lag_max_us;         /* worst event-loop lag of its last second */
};

struct metrics_server {          /* a monitor agent's view of a server under test */
    const char *name;
    uint32_t cpu_pct_x100;
    uint64_t proc_rss;
    uint32_t tcp_inuse;
};

/* What one scrape shows, filled by the run. */
struct metrics_view {
    uint32_t run_id;
    const char *plan;
    uint32_t connected;
    uint64_t target;
    const char *phase;           /* phase kind or run state */
    uint32_t phase_idx;          /* 1-based; 0 = not in a phase */
    uint64_t connects, connect_failures, closes, pushes, push_errors, deliveries, duplicates,
             lost, missed_offline, agent_lost;
    const uint64_t *reasons;     /* PS_REASON_COUNT: failures + closes by reason */
    const struct ps_hist *latency; /* delivery latency over the run so far, us */
    uint32_t agents_live, agents_joined;
    const struct metrics_agent *agents;
    uint32_t n_agents;
    const struct metrics_server *servers;
    uint32_t n_servers;
};

void metrics_init(struct metrics *m);   /* off until metrics_listen */
/* addr: "PORT", ":PORT" or "HOST:PORT" (IPv4). */
int  metrics_listen(struct metrics *m, const char *addr, char *err, size_t errlen);
/* The listening descriptor for the caller's poll set, -1 when off. */
int  metrics_fd(const struct metrics *m);
/* A client that has sent its request (read and discarded), or -1 if none is waiting. */
int  metrics_accept(struct metrics *m);
/* Answers a client from metrics_accept with the view's text and closes it. */
void metrics_answer(int client, const struct metrics_view *v);
/* The Prometheus text exposition (format 0.0.4) of a view. */
void metrics_text(FILE *f, const struct metrics_view *v);
void metrics_close(struct metrics *m);

#endif

/* metrics: Prometheus text exposition of a running campaign (--metrics ADDR).
 *
 * A listening TCP socket whose descriptor joins the run loop's poll set; when a
 * scraper connects, the run loop asks for one client at a time, builds the text
 * from its own state and answers. No thread, no HTTP library: a scrape is one
 * small GET, answered with "Connection: close". */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

struct metrics {
    int fd;                      /* listening socket, -1 = off */
};

/* addr: "PORT", ":PORT" or "HOST:PORT" (IPv4). */
int  metrics_listen(struct metrics *m, const char *addr, char *err, size_t errlen);
/* A client that has sent its request (read and discarded), or -1 if none is waiting. */
int  metrics_accept(struct metrics *m);
/* Sends the response to a client from metrics_accept and closes it. */
void metrics_respond(int client, const char *body, size_t len);
void metrics_close(struct metrics *m);

#endif

/* ps_ratelog: error lines about peers, at most a burst per window.
 *
 * A peer that sends garbage (or a wrong key) in a loop must not flood the log
 * nor slow the loop that reads it: each kind of complaint owns one
 * ps_ratelog, which lets PS_RATELOG_BURST lines through per
 * PS_RATELOG_WINDOW_US and counts the rest; the first line of the next window
 * says how many were left out, so nothing is hidden, only summed. */
#ifndef PS_RATELOG_H
#define PS_RATELOG_H

#include <stdint.h>
#include <stdio.h>

#define PS_RATELOG_BURST     5
#define PS_RATELOG_WINDOW_US 10000000

struct ps_ratelog {
    int64_t  window_us;          /* start of the current window (monotonic) */
    uint32_t n;                  /* lines printed in it */
    uint64_t suppressed;         /* lines counted, not printed, since the last print */
    uint64_t total;              /* every complaint ever (printed or not) */
};

/* Prints the line (printf format, to f) unless the window's burst is spent. */
void ps_ratelog(struct ps_ratelog *rl, int64_t now_us, FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

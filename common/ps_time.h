/* ps_time: the clocks pushstorm measures with.
 *
 * Wall-clock microseconds (CLOCK_REALTIME) are what crosses machines: push send
 * times, receive times, phase start times. Each agent corrects its wall clock by
 * an offset estimated against the controller (see docs/protocol.md, clock sync).
 * Monotonic microseconds are for intervals measured inside one process (RTT,
 * handshake time, loop lag) where a wall-clock step must not matter. */
#ifndef PS_TIME_H
#define PS_TIME_H

#include <stdint.h>
#include <time.h>

static inline int64_t ps_time_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t ps_time_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif

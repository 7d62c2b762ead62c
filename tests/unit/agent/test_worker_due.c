/* test_worker_due.c: when a worker wakes (worker_due.c, keepalive.c).
 *
 * An idle agent must not poll: with connections held and nothing under way
 * the worker's next wake-up is just past the next wall-clock second (the
 * statistics it publishes), whatever the number of connections. Anything the
 * timer drives by polling (a ramp past its start, reconnects waiting, a stop,
 * sessions) brings back the 10 ms tick; an event batch is flushed at its
 * deadline; the keepalive sweeps wake it for their next slot, never sooner
 * than a tick. The tests set the worker's state by hand and read the answer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "agent.h"

#define TICK_US (AGENT_TICK_MS * 1000)
#define NOW     50000000         /* mono us */
#define WALL    1700000000250000 /* wall us: 250 ms into a second */
#define SECOND  (NOW + 750000 + 2000)   /* just past the next wall second */

struct fixture {
    struct agent ag;
    struct agent_worker w;
    struct agent_conn conns[20000];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->ag.n_workers = 1;
    f->w.agent = &f->ag;
    f->w.conns = f->conns;
    f->w.n_conns = 15000;
    f->w.sweep_t0_us = NOW - 1000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void test_idle_wakes_once_a_second(void **state)
{
    struct fixture *f = *state;
    struct agent_worker *w = &f->w;
    w->n_open = w->open_to = w->next_open = 15000;   /* the ramp is done */
    assert_false(agent_worker_busy(w, NOW));
    assert_int_equal(agent_worker_next_due(w, NOW, WALL), SECOND);
    w->n_conns = 1000;   /* the same for fewer connections */
    assert_int_equal(agent_worker_next_due(w, NOW, WALL), SECOND);
    w->conns = NULL;     /* and for none (between runs) */
    assert_int_equal(agent_worker_next_due(w, NOW, WALL), SECOND);
    /* a wall clock just past a second: the next one, not this one */
    assert_int_equal(agent_worker_next_due(w, NOW, 1700000000000001), NOW + 999999 + 2000);
}

static void test_work_under_way_ticks(void **state)
{
    struct fixture *f = *state;
    struct agent_worker *w = &f->w;
    w->open_to = 15000;
    w->next_open = 100;
    w->ramp_start_us = NOW + 500000;   /* a ramp not started yet: its own one-shot timer */
    assert_false(agent_worker_busy(w, NOW));
    assert_int_equal(agent_worker_next_due(w, NOW, WALL), SECOND);
    w->ramp_start_us = NOW - 1;        /* under way */
    assert_true(agent_worker_busy(w, NOW));
    assert_int_equal(agent_worker_next_due(w, NOW, WALL), NOW + TICK_US);
    w->next_open = 15000;
    w->n_waiting = 3;                  /* reconnects waiting for their backoff */
    assert_int_equal(agent_worker_next_due(w, NOW, WALL), NOW + TICK_US);
    w->n_waiting = 0;
    w->n_sess_active = 1;              /* a session's deadline */
    assert_int_equal(agent_worker_next_due(w, NOW, WALL), NOW + TICK_US);
    w->n_sess_active = 0;
    w->disc_at_us = NOW;               /* a disconnect due */
    assert_int_equal(agent_worker_next_due(w, NOW, WALL), NOW + TICK_US);
    w->disc_at_us = 0;
    w->stopping = 1;                   /* a stop closing its batches */
    assert_int_equal(agent_worker_next_due(w, NOW, WALL), NOW + TICK_US);
    w->stopped = 1;                    /* and done: idle again */
    assert_int_equal(agent_worker_next_due(w, NOW, WALL), SECOND);
}

static void test_batch_flush_deadline(void **state)
{
    struct fixture *f = *state;
    struct agent_worker *w = &f->w;
    w->batch.n = 1;
    w->batch_first_us = NOW - 20000;
    assert_int_equal(agent_worker_next_due(w, NOW, WALL), NOW - 20000 + AGENT_BATCH_FLUSH_US);
    w->batch_first_us = NOW - 60000;   /* overdue: at once */
    assert_true(agent_worker_next_due(w, NOW, WALL) <= NOW);
}

static void test_keepalive_next_slot(void **state)
{
    struct fixture *f = *state;
    struct agent_worker *w = &f->w;
    struct ps_assign *a = &f->ag.assign.a;
    a->ws_ping_ms = 30000;
    w->n_conns = 10;                   /* one slot every 3 s */
    w->ping_pos = 0;
    assert_int_equal(agent_keepalive_next(w), w->sweep_t0_us + 3000000);
    assert_int_equal(agent_worker_next_due(w, NOW, WALL), SECOND);   /* the second comes first */
    w->ping_pos = 4;
    assert_int_equal(agent_keepalive_next(w), w->sweep_t0_us + 15000000);
    w->n_conns = 15000;                /* one every 2 ms: in batches, 100 ms apart */
    w->ping_pos = 0;
    assert_int_equal(agent_keepalive_next(w), w->sweep_t0_us + 2000);
    assert_int_equal(agent_worker_next_due(w, NOW, WALL), NOW + AGENT_KA_BATCH_MAX_MS * 1000);
    /* the pong check trails by the timeout */
    w->n_conns = 10;
    a->pong_timeout_ms = 10000;
    w->ping_pos = 5;
    w->ping_check_pos = 0;
    assert_int_equal(agent_keepalive_next(w), w->sweep_t0_us + 10000000 + 3000000);
    /* the app heartbeat's own sweep */
    a->ws_ping_ms = 0;
    a->hb_text[0] = 'p';
    a->hb_interval_ms = 1000;
    w->hb_pos = 2;
    assert_int_equal(agent_keepalive_next(w), w->sweep_t0_us + 300000);
    assert_int_equal(agent_worker_next_due(w, NOW, WALL), w->sweep_t0_us + 300000);
    /* nothing while stopping */
    w->stopping = 1;
    assert_true(agent_keepalive_next(w) == INT64_MAX);
}

/* A sixteenth of the shortest keepalive interval, within 10-100 ms. */
static void test_keepalive_batch(void **state)
{
    struct fixture *f = *state;
    struct agent_worker *w = &f->w;
    struct ps_assign *a = &f->ag.assign.a;
    assert_int_equal(agent_keepalive_batch_us(w), AGENT_KA_BATCH_MAX_MS * 1000);   /* none */
    a->ws_ping_ms = 120000;
    assert_int_equal(agent_keepalive_batch_us(w), AGENT_KA_BATCH_MAX_MS * 1000);
    a->ws_ping_ms = 800;
    assert_int_equal(agent_keepalive_batch_us(w), 50000);
    a->hb_text[0] = 'p';
    a->hb_interval_ms = 320;           /* the heartbeat is the shorter */
    assert_int_equal(agent_keepalive_batch_us(w), 20000);
    a->hb_interval_ms = 100;           /* never below the tick */
    assert_int_equal(agent_keepalive_batch_us(w), TICK_US);
    a->hb_text[0] = 0;                 /* no text: no heartbeat sweep */
    assert_int_equal(agent_keepalive_batch_us(w), 50000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_idle_wakes_once_a_second, setup, teardown),
        cmocka_unit_test_setup_teardown(test_work_under_way_ticks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_flush_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_next_slot, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

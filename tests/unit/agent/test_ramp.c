/* test_ramp.c: ramp pacing on the agent (worker.c).
 *
 * A ramp "to N at R/s" is split over the worker threads: each owns the slots
 * dealt to it round robin and opens them at R / threads per second from the
 * ramp's start. The tests drive agent_worker_ramp_due() with chosen clock
 * values: one connection at the start instant, R * t after it, nothing before
 * it or while stopping, never past the target, and a second ramp continuing
 * from where the first stopped. The split itself must cover every connection
 * exactly once whatever the thread count. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "agent.h"

struct fixture {
    struct agent ag;
    struct agent_worker w[4];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    for (uint32_t i = 0; i < 4; i++) {
        f->w[i].agent = &f->ag;
        f->w[i].index = i;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* What AGENT_W_RAMP sets up on a worker, at a start time of our choosing. */
static void ramp(struct agent_worker *w, uint32_t to, double rate, int64_t start_us)
{
    uint32_t slots = agent_worker_slots_below(w, to);
    w->open_to = slots < w->n_conns ? slots : w->n_conns;
    w->ramp_rate = rate / w->agent->n_workers;
    w->ramp_start_us = start_us;
    w->ramp_base = w->next_open;
}

static void test_split_covers_every_connection(void **state)
{
    struct fixture *f = *state;
    for (uint32_t t = 1; t <= 4; t++) {
        f->ag.n_workers = t;
        for (uint32_t n = 0; n <= 41; n++) {
            uint32_t sum = 0;
            for (uint32_t i = 0; i < t; i++) {
                uint32_t k = agent_worker_slots_below(&f->w[i], n);
                /* worker i holds ids i, i+t, ...: those below n */
                uint32_t want = 0;
                for (uint32_t id = i; id < n; id += t)
                    want++;
                assert_int_equal(k, want);
                sum += k;
            }
            assert_int_equal(sum, n);
        }
    }
}

static void test_pacing(void **state)
{
    struct fixture *f = *state;
    struct agent_worker *w = &f->w[1];
    const int64_t t0 = 5000000;
    f->ag.n_workers = 2;
    w->n_conns = agent_worker_slots_below(w, 1000);   /* 500 */
    assert_int_equal(w->n_conns, 500);
    ramp(w, 1000, 1000.0, t0);                        /* 500/s on this worker */
    assert_int_equal(w->open_to, 500);
    assert_int_equal(agent_worker_ramp_due(w, t0 - 1), 0);      /* not before its start */
    assert_int_equal(agent_worker_ramp_due(w, t0), 1);          /* one at the start instant */
    assert_int_equal(agent_worker_ramp_due(w, t0 + 1999), 1);
    assert_int_equal(agent_worker_ramp_due(w, t0 + 2000), 2);   /* 2 ms at 500/s: one more */
    assert_int_equal(agent_worker_ramp_due(w, t0 + 10000), 6);  /* one 10 ms tick */
    assert_int_equal(agent_worker_ramp_due(w, t0 + 500000), 251);
    assert_int_equal(agent_worker_ramp_due(w, t0 + 998000), 500);
    assert_int_equal(agent_worker_ramp_due(w, t0 + 60000000), 500);   /* capped at the target */

    /* the ramp goes where it is due, but no further than the opens made so far */
    w->next_open = 120;
    assert_int_equal(agent_worker_ramp_due(w, t0 + 100000), 51);   /* behind: nothing to open */
    assert_int_equal(agent_worker_ramp_due(w, t0 + 300000), 151);
    w->stopping = 1;
    assert_int_equal(agent_worker_ramp_due(w, t0 + 300000), 120);
    w->stopping = 0;
    w->next_open = 500;
    assert_int_equal(agent_worker_ramp_due(w, t0 + 60000000), 500);
}

static void test_second_ramp_continues(void **state)
{
    struct fixture *f = *state;
    struct agent_worker *w = &f->w[0];
    f->ag.n_workers = 1;
    w->n_conns = 400;
    ramp(w, 200, 100.0, 0);
    assert_int_equal(agent_worker_ramp_due(w, 3000000), 200);
    w->next_open = 200;                 /* the first ramp is done */
    assert_int_equal(agent_worker_ramp_due(w, 9000000), 200);
    ramp(w, 400, 50.0, 10000000);        /* to 400 at 50/s from t = 10 s */
    assert_int_equal(w->ramp_base, 200);
    assert_int_equal(agent_worker_ramp_due(w, 9999999), 200);
    assert_int_equal(agent_worker_ramp_due(w, 10000000), 201);
    assert_int_equal(agent_worker_ramp_due(w, 12000000), 301);
    assert_int_equal(agent_worker_ramp_due(w, 20000000), 400);
    /* a target beyond the slots this worker owns is cut to what it has */
    ramp(w, 5000, 50.0, 0);
    assert_int_equal(w->open_to, 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_split_covers_every_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pacing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_ramp_continues, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

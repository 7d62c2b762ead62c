/* test_buffer.c: the agent's event buffer (ctl_buffer.c).
 *
 * While the control link is down every batch waits here, so the tests pin
 * its bound and its books: past agents.buffer the oldest batches go first,
 * each discarded batch and its events are counted and the highest sequence
 * discarded per thread is what the TICK tells the controller (which moves
 * past the gap instead of waiting for a batch that is gone); an ack frees
 * exactly the batches up to its sequence; nothing is handed to a data socket
 * that has no pipe, so it is all still there to resend. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"

#include <nng/protocol/pipeline0/push.h>

static int setup(void **state)
{
    struct agent *ag = calloc(1, sizeof *ag);
    if (!ag)
        return -1;
    ag->n_workers = 2;
    ag->workers = calloc(2, sizeof *ag->workers);
    if (!ag->workers || nng_push0_open(&ag->push) != 0)
        return -1;
    for (int i = 0; i < 2; i++)
        pthread_mutex_init(&ag->workers[i].mu, NULL);
    *state = ag;
    return 0;
}

static int teardown(void **state)
{
    struct agent *ag = *state;
    agent_buffer_reset(ag, 0);
    nng_close(ag->push);
    for (int i = 0; i < 2; i++)
        pthread_mutex_destroy(&ag->workers[i].mu);
    free(ag->workers);
    free(ag);
    return 0;
}

/* A finished batch of `len` bytes and n events in worker w's outbox. */
static void batch(struct agent *ag, uint32_t w, uint64_t seq, size_t len, uint32_t n)
{
    struct agent_blob *b = calloc(1, sizeof *b + len);
    assert_non_null(b);
    b->seq = seq;
    b->len = len;
    b->n_events = n;
    struct agent_worker *wk = &ag->workers[w];
    if (wk->out_tail)
        wk->out_tail->next = b;
    else
        wk->out_head = b;
    wk->out_tail = b;
}

static void test_overflow_and_ack(void **state)
{
    struct agent *ag = *state;
    struct ps_tick *t = calloc(1, sizeof *t);
    assert_non_null(t);
    agent_buffer_reset(ag, 1000);
    for (uint64_t s = 1; s <= 5; s++)
        batch(ag, 0, s, 300, 10);
    batch(ag, 1, 1, 100, 3);
    agent_buffer_pump(ag);
    /* 1600 bytes in a 1000-byte buffer: thread 0's two oldest go */
    assert_int_equal(ag->retained_bytes, 1000);
    assert_int_equal(ag->dropped_batches, 2);
    assert_int_equal(ag->dropped_events, 20);
    assert_int_equal(ag->retained[0].head->seq, 3);
    assert_null(ag->workers[0].out_head);
    agent_buffer_tick(ag, t);
    assert_int_equal(t->n_dropped, 2);
    assert_int_equal(t->dropped_seq[0], 2);
    assert_int_equal(t->dropped_seq[1], 0);
    assert_int_equal(t->dropped_batches, 2);
    assert_int_equal(t->dropped_events, 20);
    /* no pipe: nothing was sent, everything kept is still there to resend */
    assert_int_equal(t->batch_seq[0], 0);
    assert_int_equal(ag->retained[0].head->sent_us, 0);

    agent_buffer_ack(ag, 0, 4);
    assert_int_equal(ag->retained[0].head->seq, 5);
    assert_int_equal(ag->retained_bytes, 400);
    assert_false(agent_buffer_empty(ag));
    agent_buffer_ack(ag, 0, 5);
    agent_buffer_ack(ag, 1, 1);
    assert_true(agent_buffer_empty(ag));
    assert_int_equal(ag->retained_bytes, 0);

    /* a new run starts with clean books */
    agent_buffer_reset(ag, 0);
    assert_int_equal(ag->buffer_max, AGENT_RETAIN_MAX);
    assert_int_equal(ag->dropped_batches, 0);
    assert_int_equal(ag->retained[0].dropped_seq, 0);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_overflow_and_ack, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

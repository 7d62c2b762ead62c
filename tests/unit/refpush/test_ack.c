/* test_ack.c: refpush's --require-ack bookkeeping (ack.c).
 *
 * The integration test counts duplicates against /stats; these tests pin the
 * rules those counts come from: ids per connection from 1, a redelivery keeps
 * its id and is counted when written, exactly --max-redeliver redeliveries
 * before a message is given up, the window bounds what is out, an ack of an
 * unknown id changes nothing, and every message reference is returned (the
 * sanitizer build would report a leak, the refcounts are checked too). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ack.h"

struct touched {
    struct refpush_acks *last;
    int n;
};

static void on_touched(struct refpush_acks *a, void *ctx)
{
    struct touched *t = ctx;
    t->last = a;
    t->n++;
}

static struct refpush_msg *msg(void)
{
    struct refpush_msg *m = refpush_msg_new_push("x", 1, REFPUSH_WRAP_JSON);
    assert_non_null(m);
    return m;
}

static void test_ack_in_time(void **state)
{
    struct refpush_acktab t;
    struct refpush_acks a = {0};
    struct refpush_msg *m = msg();
    (void)state;
    refpush_acktab_init(&t, 100, 2, 8);
    struct refpush_ack *e1 = refpush_acks_track(&t, &a, m, 1000);
    struct refpush_ack *e2 = refpush_acks_track(&t, &a, m, 1010);
    assert_int_equal(e1->id, 1);
    assert_int_equal(e2->id, 2);
    assert_int_equal(m->refs, 3);
    assert_int_equal(a.n, 2);
    assert_int_equal(refpush_acktab_next_deadline(&t), 1100);
    assert_int_equal(refpush_acks_take(&t, &a, 2), 0);   /* out of order is fine */
    assert_int_equal(refpush_acks_take(&t, &a, 2), -1);  /* twice: unknown */
    assert_int_equal(refpush_acks_take(&t, &a, 77), -1);
    assert_int_equal(refpush_acks_take(&t, &a, 1), 0);
    assert_int_equal(t.stats.acked, 2);
    assert_int_equal(t.stats.acks_unknown, 2);
    assert_int_equal(a.n, 0);
    assert_null(a.head);
    assert_null(a.tail);
    assert_int_equal(refpush_acktab_next_deadline(&t), 0);
    struct touched tc = {0};
    refpush_acktab_expire(&t, 5000, on_touched, &tc);
    assert_int_equal(tc.n, 0);
    assert_int_equal(t.stats.redelivered, 0);
    assert_int_equal(m->refs, 1);
    assert_int_equal(t.used, 0);
    refpush_msg_unref(m);
    refpush_acktab_free(&t);
}

static void test_redeliver_then_give_up(void **state)
{
    struct refpush_acktab t;
    struct refpush_acks a = {0};
    struct refpush_msg *m = msg();
    struct touched tc = {0};
    (void)state;
    refpush_acktab_init(&t, 100, 2, 8);
    struct refpush_ack *e = refpush_acks_track(&t, &a, m, 0);
    refpush_acktab_expire(&t, 99, on_touched, &tc);       /* not yet */
    assert_int_equal(tc.n, 0);
    assert_null(refpush_acks_due(&a));
    uint64_t now = 100;
    for (int r = 1; r <= 2; r++) {
        refpush_acktab_expire(&t, now, on_touched, &tc);
        assert_int_equal(tc.n, r);
        assert_ptr_equal(tc.last, &a);
        assert_ptr_equal(refpush_acks_due(&a), e);
        assert_int_equal(a.n_due, 1);
        assert_int_equal(refpush_acktab_next_deadline(&t), 0);   /* due: not waiting */
        assert_int_equal(t.stats.redelivered, r - 1);            /* counted when written */
        refpush_acks_resent(&t, e, now + 5);
        assert_int_equal(t.stats.redelivered, r);
        assert_int_equal(e->id, 1);                              /* same id */
        assert_int_equal(refpush_acktab_next_deadline(&t), now + 105);
        now += 105;
    }
    refpush_acktab_expire(&t, now, on_touched, &tc);   /* third deadline: given up */
    assert_int_equal(tc.n, 3);
    assert_int_equal(t.stats.expired, 1);
    assert_int_equal(t.stats.redelivered, 2);
    assert_int_equal(a.n, 0);
    assert_int_equal(m->refs, 1);
    assert_int_equal(refpush_acks_take(&t, &a, 1), -1);   /* too late */
    refpush_msg_unref(m);
    refpush_acktab_free(&t);
}

static void test_due_then_acked(void **state)
{
    struct refpush_acktab t;
    struct refpush_acks a = {0};
    struct refpush_msg *m = msg();
    (void)state;
    refpush_acktab_init(&t, 100, 3, 8);
    refpush_acks_track(&t, &a, m, 0);
    refpush_acktab_expire(&t, 100, NULL, NULL);
    assert_int_equal(a.n_due, 1);
    assert_int_equal(refpush_acks_take(&t, &a, 1), 0);   /* a late ack still counts */
    assert_int_equal(a.n_due, 0);
    assert_null(refpush_acks_due(&a));
    assert_int_equal(t.stats.redelivered, 0);
    assert_int_equal(m->refs, 1);
    refpush_msg_unref(m);
    refpush_acktab_free(&t);
}

static void test_window_and_clear(void **state)
{
    struct refpush_acktab t;
    struct refpush_acks a = {0}, b = {0};
    struct refpush_msg *m = msg();
    (void)state;
    refpush_acktab_init(&t, 100, 0, 3);
    for (int i = 0; i < 3; i++)
        assert_non_null(refpush_acks_track(&t, &a, m, (uint64_t)i));
    assert_false(refpush_acks_room(&t, &a));
    assert_null(refpush_acks_track(&t, &a, m, 3));
    assert_true(refpush_acks_room(&t, &b));          /* per connection */
    struct refpush_ack *eb = refpush_acks_track(&t, &b, m, 3);
    assert_int_equal(eb->id, 1);                     /* ids are per connection */
    assert_int_equal(refpush_acks_take(&t, &a, 2), 0);
    assert_true(refpush_acks_room(&t, &a));
    assert_int_equal(refpush_acks_track(&t, &a, m, 4)->id, 4);
    /* no redeliveries: the first deadline gives up a's id 1 only */
    refpush_acktab_expire(&t, 100, NULL, NULL);
    assert_int_equal(t.stats.expired, 1);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.head->id, 3);
    assert_int_equal(a.tail->id, 4);
    refpush_acks_clear(&t, &a);
    assert_int_equal(a.n, 0);
    assert_int_equal(t.used, 1);
    assert_int_equal(refpush_acktab_next_deadline(&t), 103);   /* b's entry remains */
    refpush_acks_clear(&t, &b);
    assert_int_equal(refpush_acktab_next_deadline(&t), 0);
    assert_int_equal(m->refs, 1);
    refpush_msg_unref(m);
    refpush_acktab_free(&t);
}

/* More entries than a slab holds, acked in order, leave nothing behind and
 * reuse the pool on the second round. */
static void test_pool_reuse(void **state)
{
    struct refpush_acktab t;
    struct refpush_acks a[3000];
    struct refpush_msg *m = msg();
    (void)state;
    memset(a, 0, sizeof a);
    refpush_acktab_init(&t, 10, 1, 1);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < 3000; i++)
            assert_non_null(refpush_acks_track(&t, &a[i], m, 0));
        assert_int_equal(t.used, 3000);
        for (size_t i = 0; i < 3000; i++)
            assert_int_equal(refpush_acks_take(&t, &a[i], (uint64_t)round + 1), 0);
    }
    assert_int_equal(t.used, 0);
    assert_null(t.dhead);
    assert_int_equal(m->refs, 1);
    refpush_msg_unref(m);
    refpush_acktab_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ack_in_time),
        cmocka_unit_test(test_redeliver_then_give_up),
        cmocka_unit_test(test_due_then_acked),
        cmocka_unit_test(test_window_and_clear),
        cmocka_unit_test(test_pool_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_ledger.c: loss accounting rules of the controller's ledger.
 *
 * Each case builds a small history of connection events and deliveries and
 * checks how ledger_settle classifies every expected recipient: delivered,
 * lost (stayed connected, never got it), missed offline (disconnected in
 * between), agent lost; plus duplicates, misrouted deliveries, out-of-order
 * deliveries and recipient picking. The verdicts settle hands out are recorded
 * by the fixture's sink, in memory: no database is involved. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "ledger.h"
#include "plan.h"

#define MAX_VERDICTS 32

struct miss {
    uint32_t msg, conn;
    enum ledger_miss kind;
};

struct settled {
    uint32_t msg;
    struct ledger_settled s;
};

struct fixture {
    struct ledger l;
    struct ledger_sink sink;
    struct miss misses[MAX_VERDICTS];
    uint32_t n_misses;
    struct settled settled[MAX_VERDICTS];
    uint32_t n_settled;
};

static void on_missed(void *ctx, uint32_t msg, uint32_t conn, enum ledger_miss kind)
{
    struct fixture *f = ctx;
    assert_true(f->n_misses < MAX_VERDICTS);
    f->misses[f->n_misses++] = (struct miss){msg, conn, kind};
}

static void on_settled(void *ctx, uint32_t msg, const struct ledger_settled *s)
{
    struct fixture *f = ctx;
    assert_true(f->n_settled < MAX_VERDICTS);
    f->settled[f->n_settled++] = (struct settled){msg, *s};
}

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    f.sink = (struct ledger_sink){on_missed, on_settled, &f};
    assert_int_equal(ledger_init(&f.l, 8, 42), 0);
    ledger_assign(&f.l, 0, 4, 0);
    ledger_assign(&f.l, 4, 4, 1);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ledger_close(&f->l);
    return 0;
}

/* Misses of a kind, by the name the results database records. */
static int64_t undelivered(struct fixture *f, const char *kind)
{
    int64_t n = 0;
    for (uint32_t i = 0; i < f->n_misses; i++)
        n += strcmp(ledger_miss_name(f->misses[i].kind), kind) == 0;
    return n;
}

static void test_unicast_delivered_and_lost(void **state)
{
    struct fixture *f = *state;
    struct ledger *l = &f->l;
    int64_t lat;
    int dup, ooo;
    ledger_conn_up(l, 1, 100, 500);
    ledger_conn_up(l, 2, 100, 500);
    uint32_t a = ledger_msg_new(l, PLAN_PUSH_UNICAST, 1, 1000, 5000);
    uint32_t b = ledger_msg_new(l, PLAN_PUSH_UNICAST, 2, 1000, 5000);
    ledger_msg_http(l, a, 200, 1);
    ledger_msg_http(l, b, 200, 1);
    assert_int_equal(ledger_delivery(l, a, 1, 1300, &lat, &dup, &ooo), 0);
    assert_int_equal(lat, 300);
    assert_false(dup);
    ledger_settle(l, a, b, NULL, &f->sink);
    assert_int_equal(l->t.expected, 2);
    assert_int_equal(l->t.delivered, 1);
    assert_int_equal(l->t.lost, 1); /* conn 2 stayed up and never got b */
    assert_int_equal(l->t.missed_offline, 0);
    assert_int_equal(undelivered(f, "lost"), 1);
}

static void test_unicast_missed_offline(void **state)
{
    struct fixture *f = *state;
    struct ledger *l = &f->l;
    ledger_conn_up(l, 3, 100, 500);
    uint32_t m = ledger_msg_new(l, PLAN_PUSH_UNICAST, 3, 1000, 5000);
    ledger_msg_http(l, m, 200, 1);
    ledger_conn_down(l, 3, 2000, 0); /* left before the deadline (6000) */
    ledger_settle(l, m, m, NULL, &f->sink);
    assert_int_equal(l->t.lost, 0);
    assert_int_equal(l->t.missed_offline, 1);
}

static void test_failed_call_expects_nobody(void **state)
{
    struct fixture *f = *state;
    struct ledger *l = &f->l;
    ledger_conn_up(l, 0, 100, 500);
    uint32_t m = ledger_msg_new(l, PLAN_PUSH_UNICAST, 0, 1000, 5000);
    ledger_msg_http(l, m, 503, 0);
    ledger_settle(l, m, m, NULL, &f->sink);
    assert_int_equal(l->t.push_failed, 1);
    assert_int_equal(l->t.expected, 0);
    assert_int_equal(l->t.lost, 0);
}

/* An agent lost at 2000 (conns 4..7): its connections go down without counting
 * as closes; a call that failed because its recipient was gone is agent loss,
 * not a failed call; a call failing to a live agent's connection stays failed;
 * a message it never reported is agent loss, not loss. */
static void test_agent_lost_conns_and_failed_calls(void **state)
{
    struct fixture *f = *state;
    struct ledger *l = &f->l;
    ledger_conn_up(l, 1, 100, 500);
    ledger_conn_up(l, 4, 100, 500);
    ledger_conn_up(l, 5, 100, 500);
    uint32_t before = ledger_msg_new(l, PLAN_PUSH_UNICAST, 5, 1800, 5000);
    ledger_msg_http(l, before, 200, 1);
    uint32_t gone = ledger_msg_new(l, PLAN_PUSH_UNICAST, 4, 3000, 5000);
    ledger_msg_http(l, gone, 404, 0);
    uint32_t live = ledger_msg_new(l, PLAN_PUSH_UNICAST, 1, 3000, 5000);
    ledger_msg_http(l, live, 503, 0);
    assert_int_equal(l->t.push_failed, 2);
    for (uint32_t c = 4; c < 8; c++)
        ledger_conn_agent_lost(l, c, 2000);
    assert_int_equal(l->t.conn_agent_lost, 2);
    assert_int_equal(l->t.closed, 0);
    assert_int_equal(l->n_up, 1);
    int64_t agent_lost_at[2] = {0, 2000};
    ledger_settle(l, before, live, agent_lost_at, &f->sink);
    assert_int_equal(l->t.push_failed, 1);            /* the 503 to the live agent */
    assert_int_equal(l->t.push_failed_agent_lost, 1); /* the 404 to the lost one */
    assert_int_equal(l->t.expected, 2);
    assert_int_equal(l->t.agent_lost, 2);
    assert_int_equal(l->t.lost, 0);
    assert_int_equal(undelivered(f, "agent_lost"), 2);
}

static void test_broadcast_classification(void **state)
{
    struct fixture *f = *state;
    struct ledger *l = &f->l;
    int64_t lat;
    int dup, ooo;
    for (uint32_t c = 0; c < 6; c++)
        ledger_conn_up(l, c, 100, 500);
    ledger_conn_up(l, 7, 3000, 500);  /* came up after the send: not expected */
    uint32_t m = ledger_msg_new(l, PLAN_PUSH_BROADCAST, LEDGER_NO_CONN, 1000, 5000);
    ledger_msg_http(l, m, 200, 1);
    ledger_conn_down(l, 5, 1500, 0);  /* left in between: missed offline */
    for (uint32_t c = 0; c < 3; c++)
        assert_int_equal(ledger_delivery(l, m, c, 1200, &lat, &dup, &ooo), 0);
    assert_int_equal(ledger_delivery(l, m, 2, 1250, &lat, &dup, &ooo), 0);
    assert_true(dup);
    int64_t agent_lost_at[2] = {0, 2000}; /* agent 1 (conns 4..7) died before the deadline */
    ledger_settle(l, m, m, agent_lost_at, &f->sink);
    assert_int_equal(l->t.delivered, 3);
    assert_int_equal(l->t.duplicates, 1);
    assert_int_equal(l->t.expected, 6);      /* 0..5 */
    assert_int_equal(l->t.lost, 1);          /* conn 3 */
    assert_int_equal(l->t.agent_lost, 2);    /* conns 4, 5 */
    assert_int_equal(l->t.missed_offline, 0);
}

static void test_misrouted_and_order(void **state)
{
    struct fixture *f = *state;
    struct ledger *l = &f->l;
    int64_t lat;
    int dup, ooo;
    ledger_conn_up(l, 1, 100, 500);
    uint32_t a = ledger_msg_new(l, PLAN_PUSH_UNICAST, 1, 1000, 5000);
    ledger_msg_http(l, a, 200, 1);
    uint32_t b = ledger_msg_new(l, PLAN_PUSH_UNICAST, 1, 1100, 5000);
    ledger_msg_http(l, b, 200, 1);
    assert_int_equal(ledger_delivery(l, b, 1, 1200, &lat, &dup, &ooo), 0);
    assert_false(ooo);
    assert_int_equal(ledger_delivery(l, a, 1, 1300, &lat, &dup, &ooo), 0);
    assert_true(ooo);
    assert_int_equal(ledger_delivery(l, a, 2, 1300, &lat, &dup, &ooo), 0);
    assert_int_equal(l->t.misrouted, 1);
    assert_int_equal(ledger_delivery(l, 999, 1, 1300, &lat, &dup, &ooo), -1);
    assert_int_equal(l->t.foreign, 1);
}

static void test_pick_skips_inflight(void **state)
{
    struct fixture *f = *state;
    struct ledger *l = &f->l;
    assert_int_equal(ledger_pick_up(l), LEDGER_NO_CONN);
    ledger_conn_up(l, 6, 100, 500);
    ledger_conn_up(l, 2, 100, 500);
    uint32_t m = ledger_msg_new(l, PLAN_PUSH_UNICAST, 6, 1000, 5000);
    for (int i = 0; i < 50; i++)
        assert_int_equal(ledger_pick_up(l), 2);
    ledger_msg_http(l, m, 200, 1);
    ledger_conn_down(l, 2, 200, 1);
    assert_int_equal(ledger_pick_up(l), 6);
    assert_int_equal(l->n_up, 1);
}

/* Multicast: recipients are expected exactly; one who got it, a duplicate, one
 * who stayed and never got it (lost), one who left (missed offline), and a
 * delivery to a connection that was not named (misrouted). */
static void test_multicast(void **state)
{
    struct fixture *f = *state;
    struct ledger *l = &f->l;
    for (uint32_t c = 0; c < 8; c++)
        ledger_conn_up(l, c, 100, 500);
    uint32_t m = ledger_msg_new(l, PLAN_PUSH_MULTICAST, LEDGER_NO_CONN, 1000, 5000);
    const uint32_t to[3] = {1, 3, 5};
    assert_int_equal(ledger_msg_recipients(l, m, to, 3), 0);
    /* recipients are busy until the call is answered */
    for (int i = 0; i < 40; i++) {
        uint32_t c = ledger_pick_up(l);
        assert_true(c != 1 && c != 3 && c != 5);
    }
    ledger_msg_http(l, m, 200, 1);
    int64_t lat;
    int dup, ooo;
    assert_int_equal(ledger_delivery(l, m, 1, 1200, &lat, &dup, &ooo), 0);
    assert_int_equal(dup, 0);
    assert_int_equal(ledger_delivery(l, m, 1, 1300, &lat, &dup, &ooo), 0);
    assert_int_equal(dup, 1);
    assert_int_equal(ledger_delivery(l, m, 2, 1300, &lat, &dup, &ooo), 0);  /* not named */
    ledger_conn_down(l, 5, 2000, 0);
    ledger_settle(l, m, m, NULL, &f->sink);
    assert_int_equal(l->t.expected, 3);
    assert_int_equal(l->t.delivered, 1);
    assert_int_equal(l->t.duplicates, 1);
    assert_int_equal(l->t.misrouted, 1);
    assert_int_equal(l->t.lost, 1);
    assert_int_equal(l->t.missed_offline, 1);
    assert_int_equal(undelivered(f, "lost"), 1);
}

/* Group picks: distinct, connected, all on the first pick's target. */
static void test_pick_group(void **state)
{
    struct fixture *f = *state;
    struct ledger *l = &f->l;
    uint32_t g[8];
    assert_int_equal(ledger_pick_group(l, 3, 2, g), 0);
    for (uint32_t c = 0; c < 8; c++)
        ledger_conn_up(l, c, 100, 500);
    for (int round = 0; round < 20; round++) {
        uint32_t n = ledger_pick_group(l, 3, 2, g);
        assert_int_equal(n, 3);
        assert_true(g[0] != g[1] && g[1] != g[2] && g[0] != g[2]);
        assert_int_equal(g[0] % 2, g[1] % 2);
        assert_int_equal(g[0] % 2, g[2] % 2);
    }
    /* only 4 connections per target: a group of 6 comes back smaller, not stuck */
    assert_int_equal(ledger_pick_group(l, 6, 2, g), 4);
}

/* The verdicts themselves, in order: each miss with its message, connection
 * and kind, then the message's counts; a failed call is settled with nobody
 * expected; a message is settled once; without a sink only the totals move. */
/* Acks per connection: lives add up; connections never up and without acks
 * are left out of min and max; an id out of range is ignored. */
static void test_acks_per_conn(void **state)
{
    struct fixture *f = *state;
    struct ledger_acks k;
    ledger_acks(&f->l, &k);
    assert_int_equal(k.sum, 0);
    assert_int_equal(k.min, 0);
    ledger_conn_up(&f->l, 1, 100, 10);
    ledger_conn_up(&f->l, 2, 100, 10);
    ledger_conn_up(&f->l, 3, 100, 10);
    ledger_conn_acks(&f->l, 1, 4);
    ledger_conn_acks(&f->l, 1, 3);   /* a second life */
    ledger_conn_acks(&f->l, 2, 5);
    ledger_conn_acks(&f->l, 99, 5);
    ledger_acks(&f->l, &k);
    assert_int_equal(k.sum, 12);
    assert_int_equal(k.conns, 2);
    assert_int_equal(k.min, 0);      /* connection 3 was up and sent none */
    assert_int_equal(k.max, 7);
    ledger_conn_acks(&f->l, 3, 6);
    ledger_acks(&f->l, &k);
    assert_int_equal(k.min, 5);
    assert_int_equal(k.conns, 3);
}

static void test_settle_verdicts(void **state)
{
    struct fixture *f = *state;
    struct ledger *l = &f->l;
    int64_t lat;
    int dup, ooo;
    for (uint32_t c = 0; c < 8; c++)
        ledger_conn_up(l, c, 100, 500);
    uint32_t got = ledger_msg_new(l, PLAN_PUSH_UNICAST, 1, 1000, 5000);
    uint32_t failed = ledger_msg_new(l, PLAN_PUSH_UNICAST, 2, 1000, 5000);
    uint32_t bc = ledger_msg_new(l, PLAN_PUSH_BROADCAST, LEDGER_NO_CONN, 1000, 5000);
    ledger_msg_http(l, got, 200, 1);
    ledger_msg_http(l, failed, 500, 0);
    ledger_msg_http(l, bc, 200, 1);
    assert_int_equal(ledger_delivery(l, got, 1, 1100, &lat, &dup, &ooo), 0);
    for (uint32_t c = 0; c < 8; c++)
        if (c != 3 && c != 5 && c != 6)
            assert_int_equal(ledger_delivery(l, bc, c, 1200, &lat, &dup, &ooo), 0);
    assert_int_equal(ledger_delivery(l, bc, 0, 1300, &lat, &dup, &ooo), 0);
    assert_true(dup);
    ledger_conn_down(l, 3, 2000, 0);           /* left before the deadline: offline */
    int64_t agent_lost_at[2] = {0, 2500};      /* conns 4..7: 5 and 6 are agent lost */
    ledger_settle(l, got, bc, agent_lost_at, &f->sink);

    assert_int_equal(f->n_misses, 3);
    const struct miss want[3] = {{bc, 3, LEDGER_MISS_OFFLINE},
                                 {bc, 5, LEDGER_MISS_AGENT_LOST},
                                 {bc, 6, LEDGER_MISS_AGENT_LOST}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(f->misses[i].msg, want[i].msg);
        assert_int_equal(f->misses[i].conn, want[i].conn);
        assert_int_equal(f->misses[i].kind, want[i].kind);
    }
    assert_int_equal(f->n_settled, 3);
    assert_int_equal(f->settled[0].msg, got);
    assert_int_equal(f->settled[0].s.expected, 1);
    assert_int_equal(f->settled[0].s.delivered, 1);
    assert_int_equal(f->settled[1].msg, failed);
    assert_int_equal(f->settled[1].s.expected, 0);
    assert_int_equal(f->settled[1].s.delivered, 0);
    const struct settled *b = &f->settled[2];
    assert_int_equal(b->msg, bc);
    assert_int_equal(b->s.expected, 8);
    assert_int_equal(b->s.delivered, 5);
    assert_int_equal(b->s.duplicates, 1);
    assert_int_equal(b->s.lost, 0);
    assert_int_equal(b->s.missed_offline, 1);
    assert_int_equal(b->s.agent_lost, 2);
    assert_string_equal(ledger_miss_name(LEDGER_MISS_LOST), "lost");
    assert_string_equal(ledger_miss_name(LEDGER_MISS_OFFLINE), "missed_offline");
    assert_string_equal(ledger_miss_name(LEDGER_MISS_AGENT_LOST), "agent_lost");

    /* settled once: the same range again hands out nothing */
    ledger_settle(l, got, bc, agent_lost_at, &f->sink);
    assert_int_equal(f->n_misses, 3);
    assert_int_equal(f->n_settled, 3);

    /* no sink: the totals still count (conn 7 stayed up, never got it) */
    uint32_t u = ledger_msg_new(l, PLAN_PUSH_UNICAST, 7, 3000, 5000);
    ledger_msg_http(l, u, 200, 1);
    ledger_settle(l, u, u, NULL, NULL);
    assert_int_equal(l->t.lost, 1);
    assert_int_equal(f->n_misses, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unicast_delivered_and_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unicast_missed_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_call_expects_nobody, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agent_lost_conns_and_failed_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broadcast_classification, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misrouted_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pick_skips_inflight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multicast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pick_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settle_verdicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acks_per_conn, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

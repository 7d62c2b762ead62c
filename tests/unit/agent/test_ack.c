/* test_ack.c: acks of the service's own ids (ack.c, jsonpath.c, script.c's
 * agent_script_ack_id), fed the pieces lws would hand conn.c.
 *
 * What must hold: the JSON path lookup finds members and array elements at
 * any depth, past values of every kind it skips, unescapes strings, returns
 * numbers as written, and finds nothing that is not there, in malformed text,
 * or too deep; a regex gives its group 1, or the whole match without one. On
 * the receive path: a push of the run queues the id read from its message,
 * however the message is cut and even when two connections' messages arrive
 * interleaved; a message without a token of the run is not acked; one whose
 * id is missing, or that is longer than a gather buffer, is counted as
 * dropped; a full ring drops (counted); with the pool of gather buffers
 * exhausted the ack is dropped (counted), and the buffers come back; a
 * connection that ends reports what it sent in an acks event. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"

#define RUN 7

static int find(const char *json, const char *path, char *out, size_t cap)
{
    size_t n;
    return agent_json_find(json, strlen(json), path, out, cap, &n);
}

static void test_json_find(void **state)
{
    (void)state;
    const char *j = " { \"type\" : \"push\", \"skip\": {\"a\": [1, {\"b\": \"}]\"}, null], \"t\": true},"
                    " \"e\": \"q\\\"\\\\\\u00e9\\ud83d\\ude00\", \"n\": -1.5e3, \"msg\": {\"ids\": [4, [5, 6], "
                    "{\"id\": \"m-17\"}]}, \"id\": 42 }";
    char v[64];
    assert_int_equal(find(j, "id", v, sizeof v), 0);
    assert_string_equal(v, "42");
    assert_int_equal(find(j, "type", v, sizeof v), 0);
    assert_string_equal(v, "push");
    assert_int_equal(find(j, "msg.ids.2.id", v, sizeof v), 0);
    assert_string_equal(v, "m-17");
    assert_int_equal(find(j, "msg.ids.1.1", v, sizeof v), 0);
    assert_string_equal(v, "6");
    assert_int_equal(find(j, "msg.ids.1", v, sizeof v), 0);
    assert_string_equal(v, "[5, 6]");                       /* not a string: as written */
    assert_int_equal(find(j, "skip.t", v, sizeof v), 0);
    assert_string_equal(v, "true");
    assert_int_equal(find(j, "n", v, sizeof v), 0);
    assert_string_equal(v, "-1.5e3");
    assert_int_equal(find(j, "e", v, sizeof v), 0);
    assert_string_equal(v, "q\"\\\xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(find(j, "msg.ids.3", v, sizeof v), -1);    /* past the end */
    assert_int_equal(find(j, "msg.x", v, sizeof v), -1);
    assert_int_equal(find(j, "type.x", v, sizeof v), -1);       /* a string has no members */
    assert_int_equal(find(j, "msg.ids.x", v, sizeof v), -1);    /* an array takes digits */
    assert_int_equal(find(j, "msg.id", v, 3), -1);              /* does not fit */
    assert_int_equal(find(j, "msg.ids.2.id", v, 5), 0);         /* "m-17" and its NUL */
    assert_int_equal(find("{\"a\": [1, 2", "a.1", v, sizeof v), 0);   /* reads no further */
    assert_int_equal(find("{\"a\": [1, 2", "a.2", v, sizeof v), -1);
    assert_int_equal(find("{\"a\" 1, \"id\": 2}", "id", v, sizeof v), -1);
    assert_int_equal(find("{\"a\": \"\\x\", \"id\": 2}", "id", v, sizeof v), -1);
    assert_int_equal(find("id=3", "id", v, sizeof v), -1);
    assert_int_equal(find("", "id", v, sizeof v), -1);
    char deep[100] = "", path[100] = "0";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    strcat(deep, "1");
    for (int i = 1; i < 10; i++)
        strcat(path, ".0");
    assert_int_equal(find(deep + 30, path, v, sizeof v), 0);    /* 10 deep */
    assert_string_equal(v, "1");
    for (int i = 10; i < 40; i++)
        strcat(path, ".0");
    assert_int_equal(find(deep, path, v, sizeof v), -1);        /* 40 deep: too deep */
    assert_int_equal(find(deep, "0", v, sizeof v), -1);         /* skipping it goes too deep */
}

struct fixture {
    struct agent ag;
    struct agent_worker w;
};

static int setup_with(void **state, uint32_t match, const char *from)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    struct ps_assign *a = &f->ag.assign.a;
    f->ag.n_workers = 1;
    a->run_id = RUN;
    a->conn_first = 100;
    a->n_targets = 1;
    snprintf(a->ack, sizeof a->ack, "%s", "{\"ack\":{msg_id}}");
    a->ack_id_match = match;
    snprintf(a->ack_id_from, sizeof a->ack_id_from, "%s", from);
    char err[PS_REASON_MAX];
    if (agent_script_prepare(&f->ag.assign.script, a, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    agent_worker_init(&f->w, &f->ag, 0);
    f->w.n_conns = 2;
    f->w.max_inflight = 4;
    f->w.conns = calloc(2, sizeof *f->w.conns);
    if (!f->w.conns || agent_session_alloc(&f->w))
        return -1;
    for (uint32_t i = 0; i < 2; i++) {
        f->w.conns[i].state = AGENT_CONN_OPEN;
        f->w.conns[i].wsi = (struct lws *)&f->w;   /* never used: WANT_SEND is already set */
        f->w.conns[i].flags = AGENT_CF_WANT_SEND;
    }
    *state = f;
    return 0;
}

static int setup_json(void **state)
{
    return setup_with(state, PS_MATCH_JSON, "id");
}

static int setup_regex(void **state)
{
    return setup_with(state, PS_MATCH_REGEX, "\"id\":\"([a-z0-9-]+)\"");
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    agent_worker_close(&f->w);
    agent_script_free(&f->ag.assign.script);
    free(f);
    return 0;
}

static struct agent_conn_piece piece(const char *msg, size_t at, size_t end, size_t len)
{
    return (struct agent_conn_piece){
        .in = (const unsigned char *)msg + at, .len = end - at,
        .first = (uint8_t)(at == 0), .final = (uint8_t)(end == len),
    };
}

/* Feeds msg to slot cut every `every` bytes. */
static void feed(struct fixture *f, uint32_t slot, const char *msg, size_t every)
{
    size_t len = strlen(msg);
    for (size_t at = 0; at < len; at += every) {
        struct agent_conn_piece p = piece(msg, at, at + every < len ? at + every : len, len);
        agent_conn_rx(&f->w, slot, &p);
    }
}

static const char *queued(struct fixture *f, uint32_t slot, uint32_t i)
{
    const struct agent_ack_conn *k = &f->w.ackc[slot];
    assert_true(i < k->n);
    return f->w.ack_text + (size_t)(slot * AGENT_ACK_QUEUE + (k->head + i) % AGENT_ACK_QUEUE) *
                           AGENT_ACK_ID_MAX;
}

static void test_own_ids_json(void **state)
{
    struct fixture *f = *state;
    const char *m1 = "{\"type\":\"push\",\"id\":11,\"data\":\"~ps.7.3.1764583200000000~\"}";
    feed(f, 0, m1, strlen(m1));
    feed(f, 0, m1, 1);                                  /* a byte at a time */
    feed(f, 0, "{\"id\":12,\"data\":\"~ps.8.3.1~\"}", 5);   /* another run's token: no ack */
    feed(f, 0, "{\"type\":\"pong\",\"id\":13}", 4);         /* no token: no ack */
    assert_int_equal(f->w.ackc[0].n, 2);
    assert_string_equal(queued(f, 0, 0), "11");
    assert_string_equal(queued(f, 0, 1), "11");
    assert_int_equal(f->w.c.acks_dropped, 0);
    /* two connections' messages interleaved piece by piece */
    const char *a = "{\"id\":\"a-1\",\"data\":\"~ps.7.4.1764583200000000~ padding padding\"}";
    const char *b = "{\"data\":\"~ps.7.4.1764583200000000~ and more padding\",\"id\":\"b-2\"}";
    size_t la = strlen(a), lb = strlen(b);
    for (size_t at = 0; at < la || at < lb; at += 7) {
        if (at < la) {
            struct agent_conn_piece p = piece(a, at, at + 7 < la ? at + 7 : la, la);
            agent_conn_rx(&f->w, 0, &p);
        }
        if (at < lb) {
            struct agent_conn_piece p = piece(b, at, at + 7 < lb ? at + 7 : lb, lb);
            agent_conn_rx(&f->w, 1, &p);
        }
    }
    assert_string_equal(queued(f, 0, 2), "a-1");
    assert_string_equal(queued(f, 1, 0), "b-2");
    /* a push without the id, and one longer than a gather buffer: dropped, counted */
    feed(f, 1, "{\"data\":\"~ps.7.5.1764583200000000~\"}", 9);
    char big[AGENT_SESSION_MSG_MAX + 200];
    snprintf(big, sizeof big, "{\"id\":9,\"data\":\"~ps.7.6.1764583200000000~%*s\"}",
             AGENT_SESSION_MSG_MAX, "");
    feed(f, 1, big, 128);
    assert_int_equal(f->w.ackc[1].n, 1);
    assert_int_equal(f->w.c.acks_dropped, 2);
    assert_int_equal(f->w.ack_n_gfree, AGENT_ACK_GATHER);   /* every buffer came back */
    /* a full ring drops what does not fit */
    for (int i = 0; i < AGENT_ACK_QUEUE + 2; i++)   /* b-2 is queued: 3 do not fit */
        feed(f, 1, m1, 16);
    assert_int_equal(f->w.ackc[1].n, AGENT_ACK_QUEUE);
    assert_int_equal(f->w.c.acks_dropped, 5);
}

static void test_pool_exhausted(void **state)
{
    struct fixture *f = *state;
    const char *m = "{\"id\":5,\"data\":\"~ps.7.3.1764583200000000~\"}";
    size_t len = strlen(m);
    /* connection 1 holds every buffer but one... */
    f->w.ack_n_gfree = 0;
    struct agent_conn_piece first = piece(m, 0, 4, len), rest = piece(m, 4, len, len);
    agent_conn_rx(&f->w, 0, &first);
    agent_conn_rx(&f->w, 0, &rest);
    assert_int_equal(f->w.ackc[0].n, 0);
    assert_int_equal(f->w.c.acks_dropped, 1);                /* no buffer: counted */
    f->w.ack_n_gfree = AGENT_ACK_GATHER;
    feed(f, 0, m, 4);
    assert_int_equal(f->w.ackc[0].n, 1);
    /* the connection ends: its queue is forgotten, what it sent is reported */
    f->w.ackc[0].sent = 3;
    f->w.batch.n = 0;
    agent_session_forget(&f->w, 0);
    assert_int_equal(f->w.batch.n, 1);
    assert_int_equal(f->w.batch.ev[0].type, PS_EV_ACKS);
    assert_int_equal(f->w.batch.ev[0].conn, 100);
    assert_int_equal(f->w.batch.ev[0].val, 3);
    assert_int_equal(f->w.ackc[0].n, 0);
    agent_session_forget(&f->w, 0);                          /* nothing sent since: no event */
    assert_int_equal(f->w.batch.n, 1);
}

static void test_own_ids_regex(void **state)
{
    struct fixture *f = *state;
    feed(f, 0, "{\"type\":\"push\",\"id\":\"x-9\",\"data\":\"~ps.7.3.1764583200000000~\"}", 10);
    feed(f, 0, "{\"id\":17,\"data\":\"~ps.7.3.1764583200000000~\"}", 10);   /* no match */
    assert_int_equal(f->w.ackc[0].n, 1);
    assert_string_equal(queued(f, 0, 0), "x-9");
    assert_int_equal(f->w.c.acks_dropped, 1);
    char v[16];
    const struct agent_script *s = &f->ag.assign.script;
    const char *m = "id=\"k\" \"id\":\"q-1\"";
    assert_int_equal(agent_script_ack_id(s, m, strlen(m), v, sizeof v), 0);
    assert_string_equal(v, "q-1");
    assert_int_equal(agent_script_ack_id(s, m, strlen(m), v, 3), -1);   /* does not fit */
}

static void test_whole_match(void **state)
{
    (void)state;
    struct ps_assign *a = calloc(1, sizeof *a);
    struct agent_script *s = calloc(1, sizeof *s);
    char err[PS_REASON_MAX], v[16];
    a->ack_id_match = PS_MATCH_REGEX;
    strcpy(a->ack_id_from, "m-[0-9]+");
    assert_int_equal(agent_script_prepare(s, a, err, sizeof err), 0);
    assert_int_equal(agent_script_ack_id(s, "x m-42 y", 8, v, sizeof v), 0);
    assert_string_equal(v, "m-42");
    strcpy(a->ack_id_from, "m-[0-9");
    assert_int_equal(agent_script_prepare(s, a, err, sizeof err), -1);
    assert_non_null(strstr(err, "ack_id"));
    agent_script_free(s);
    free(s);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_find),
        cmocka_unit_test_setup_teardown(test_own_ids_json, setup_json, teardown),
        cmocka_unit_test_setup_teardown(test_pool_exhausted, setup_json, teardown),
        cmocka_unit_test_setup_teardown(test_own_ids_regex, setup_regex, teardown),
        cmocka_unit_test(test_whole_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

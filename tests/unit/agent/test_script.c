/* test_script.c: session scripts in the agent (script.c's matchers and
 * captures, session.c's steps fed the pieces lws would hand over).
 *
 * What must hold: each matcher accepts exactly what it should (substring,
 * POSIX regex, JSON equality through dotted paths and array indexes, numbers
 * and booleans compared as values, a message that is not JSON matches no JSON
 * step); a step passes only with its captures; captures land in the
 * connection's arena region and are expanded into later templates; a value
 * over vars_bytes fails the step instead of spilling; an expect split into
 * 1-byte pieces still matches; after the last step the connection is ready
 * (session_ready then connected events, pool entry back); a frame that does not
 * match is ignored or ends the wait, as the step says; a missed deadline is
 * caught by the tick. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"
#include "ps_time.h"

struct fixture {
    struct agent ag;
    struct agent_worker w;
};

static void step(struct ps_assign *a, uint32_t op, uint32_t match, int others_fail, const char *text)
{
    struct ps_session_step *s = &a->steps[a->n_steps++];
    s->op = op;
    s->match = match;
    s->others_fail = (uint32_t)others_fail;
    s->timeout_ms = 1000;
    snprintf(s->text, sizeof s->text, "%s", text);
}

static void capture(struct ps_assign *a, uint32_t var, uint32_t match, const char *from)
{
    struct ps_session_capture *c = &a->captures[a->n_captures++];
    c->step = a->n_steps - 1;
    c->var = var;
    c->match = match;
    snprintf(c->from, sizeof c->from, "%s", from);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    struct ps_assign *a = &f->ag.assign.a;
    f->ag.n_workers = 1;
    a->run_id = 3;
    a->conn_first = 10;
    a->n_targets = 1;
    a->n_session_vars = 2;
    strcpy(a->session_vars[0], "sid");
    strcpy(a->session_vars[1], "n");
    a->vars_bytes = 24;
    step(a, PS_STEP_EXPECT, PS_MATCH_JSON, 0, "type=welcome\nuser.ids.1=7\nok=true");
    capture(a, 0, PS_MATCH_JSON, "session.id");
    capture(a, 1, PS_MATCH_REGEX, "\"n\":([0-9]+)");
    step(a, PS_STEP_EXPECT, PS_MATCH_REGEX, 1, "^ok [0-9]+$");
    step(a, PS_STEP_EXPECT, PS_MATCH_CONTAINS, 0, "done");
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
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    agent_worker_close(&f->w);
    agent_script_free(&f->ag.assign.script);
    free(f);
    return 0;
}

static int match(struct fixture *f, uint32_t s, const char *msg)
{
    return agent_script_match(&f->ag.assign.script, s, msg, strlen(msg), agent_conn_vars(&f->w, 0));
}

static const char *var(struct fixture *f, uint32_t v)
{
    return agent_script_var(&f->ag.assign.script, agent_conn_vars(&f->w, 0), v);
}

static void test_matchers(void **state)
{
    struct fixture *f = *state;
    const char *welcome = "{\"type\":\"welcome\",\"user\":{\"ids\":[3,7.0]},\"ok\":true,"
                          "\"session\":{\"id\":\"ab-1\"},\"n\":42}";
    assert_true(match(f, 0, welcome));
    assert_false(match(f, 0, "{\"type\":\"welcome\",\"user\":{\"ids\":[3,8]},\"ok\":true,"
                             "\"session\":{\"id\":\"x\"},\"n\":1}"));          /* ids.1 is 8 */
    /* strings compare as text, so the string "true" equals `true` as written in a plan */
    assert_true(match(f, 0, "{\"type\":\"welcome\",\"user\":{\"ids\":[3,7]},\"ok\":\"true\","
                            "\"session\":{\"id\":\"x\"},\"n\":1}"));
    assert_false(match(f, 0, "{\"type\":\"welcome\",\"user\":{\"ids\":[3,7]},\"ok\":1,"
                             "\"session\":{\"id\":\"x\"},\"n\":1}"));          /* 1 is not true */
    assert_false(match(f, 0, "type=welcome"));                                  /* not JSON */
    assert_false(match(f, 0, "{\"type\":\"welcome\",\"user\":{\"ids\":[3,7]},\"ok\":true,"
                             "\"n\":1}"));                                      /* capture missing */
    assert_true(match(f, 1, "ok 12"));
    assert_false(match(f, 1, "ok 12 "));
    assert_false(match(f, 1, "not ok 12"));
    assert_true(match(f, 2, "all done here"));
    assert_false(match(f, 2, "all don"));
    /* a substring is found in binary data with NULs too; a regex never matches it */
    assert_true(agent_script_match(&f->ag.assign.script, 2, "\0done", 5, agent_conn_vars(&f->w, 0)));
    assert_false(agent_script_match(&f->ag.assign.script, 1, "ok 1\0", 5, agent_conn_vars(&f->w, 0)));
}

static void test_captures_and_templates(void **state)
{
    struct fixture *f = *state;
    assert_true(match(f, 0, "{\"type\":\"welcome\",\"user\":{\"ids\":[0,7]},\"ok\":true,"
                            "\"session\":{\"id\":\"s-9\"},\"n\":42}"));
    assert_string_equal(var(f, 0), "s-9");
    assert_string_equal(var(f, 1), "42");
    struct agent_conn_tpl tpl;
    char out[128];
    agent_conn_tpl_init(&tpl, &f->w, 0);
    assert_int_equal(tpl.n, 5);
    assert_int_equal(ps_tpl_expand(out, sizeof out, "{\"sid\":\"{sid}\",\"n\":{n},\"c\":{conn},"
                                   "\"x\":{csv.col}}", tpl.vars, tpl.n), 41);
    assert_string_equal(out, "{\"sid\":\"s-9\",\"n\":42,\"c\":10,\"x\":{csv.col}}");
    /* the second slot's region is its own */
    agent_conn_tpl_init(&tpl, &f->w, 1);
    assert_int_equal(ps_tpl_expand(out, sizeof out, "[{sid}]", tpl.vars, tpl.n), 2);
    /* a value over vars_bytes (24 with both variables) fails the step, and the
     * region keeps what it had */
    assert_false(match(f, 0, "{\"type\":\"welcome\",\"user\":{\"ids\":[0,7]},\"ok\":true,"
                             "\"session\":{\"id\":\"0123456789012345678901\"},\"n\":1}"));
    assert_string_equal(var(f, 0), "s-9");
    assert_int_equal(agent_script_set_var(&f->ag.assign.script, agent_conn_vars(&f->w, 0), 1,
                                          "0123456789abcdefghij", 20), -1);
    assert_int_equal(agent_script_set_var(&f->ag.assign.script, agent_conn_vars(&f->w, 0), 1,
                                          "0123456789abcdefghi", 19), 0);
    assert_string_equal(var(f, 1), "0123456789abcdefghi");
    assert_string_equal(var(f, 0), "s-9");
}

/* Feeds msg to slot as pieces of `piece` bytes. */
static void feed(struct fixture *f, uint32_t slot, const char *msg, size_t piece)
{
    size_t len = strlen(msg);
    for (size_t at = 0; at < len; at += piece) {
        size_t n = len - at < piece ? len - at : piece;
        struct agent_conn_piece p = {
            .in = (const unsigned char *)msg + at, .len = n,
            .first = (uint8_t)(at == 0), .final = (uint8_t)(at + n == len),
        };
        agent_session_rx(&f->w, slot, &p);
    }
}

static void test_session_steps(void **state)
{
    struct fixture *f = *state;
    struct agent_conn *c = &f->w.conns[0];
    c->state = AGENT_CONN_CONNECTING;
    f->w.inflight = 1;
    assert_int_equal(agent_session_begin(&f->w, 0, 1234), 1);
    assert_int_equal(c->state, AGENT_CONN_SESSION);
    assert_int_equal(f->w.n_sess_active, 1);
    feed(f, 0, "{\"type\":\"noise\"}", 3);                    /* others: ignore */
    assert_int_equal(c->state, AGENT_CONN_SESSION);
    feed(f, 0, "{\"type\":\"welcome\",\"user\":{\"ids\":[1,7]},\"ok\":true,"
               "\"session\":{\"id\":\"q\"},\"n\":5}", 1);    /* a byte at a time */
    assert_string_equal(var(f, 0), "q");
    feed(f, 0, "ok 77", 128);
    assert_int_equal(c->state, AGENT_CONN_SESSION);
    assert_int_equal(f->w.batch.n, 0);
    feed(f, 0, "done", 2);
    assert_int_equal(c->state, AGENT_CONN_OPEN);
    assert_int_equal(f->w.n_sess_active, 0);
    assert_int_equal(f->w.n_sess_free, f->w.n_sess);
    assert_int_equal(f->w.inflight, 0);
    assert_int_equal(f->w.n_open, 1);
    assert_int_equal(f->w.batch.n, 2);
    assert_int_equal(f->w.batch.ev[0].type, PS_EV_READY);
    assert_true(f->w.batch.ev[0].val > 0);
    assert_int_equal(f->w.batch.ev[1].type, PS_EV_CONNECTED);
    assert_int_equal(f->w.batch.ev[1].val, 1234);
}

static void test_session_mismatch_and_timeout(void **state)
{
    struct fixture *f = *state;
    struct agent_conn *c = &f->w.conns[1];
    c->state = AGENT_CONN_CONNECTING;
    f->w.inflight = 1;
    assert_int_equal(agent_session_begin(&f->w, 1, 1), 1);
    struct agent_session *e = &f->w.sess[c->sess];
    feed(f, 1, "{\"type\":\"welcome\",\"user\":{\"ids\":[1,7]},\"ok\":true,"
               "\"session\":{\"id\":\"q\"},\"n\":5}", 50);
    assert_int_equal(e->pos, 1);
    /* step 1 has others: fail: a wrong frame ends the wait (the close itself
     * needs lws, absent here: no wsi) */
    feed(f, 1, "ok 7x", 128);
    assert_int_equal(e->waiting, 0);
    assert_int_equal(e->pos, 1);
    /* the next expect's deadline, missed: the tick ends the wait */
    e->waiting = 1;
    e->deadline = (uint32_t)(ps_time_mono_us() - f->w.t0_us) - 1;
    agent_session_tick(&f->w);
    assert_int_equal(e->waiting, 0);
    assert_int_equal(agent_session_end(&f->w, 1), 1);        /* the step it failed at */
    assert_int_equal(f->w.n_sess_active, 0);
}

static void test_prepare_rejects(void **state)
{
    (void)state;
    struct ps_assign *a = calloc(1, sizeof *a);
    struct agent_script *s = calloc(1, sizeof *s);
    char err[PS_REASON_MAX];
    a->n_targets = 1;
    step(a, PS_STEP_EXPECT, PS_MATCH_REGEX, 0, "a(");
    assert_int_equal(agent_script_prepare(s, a, err, sizeof err), -1);
    assert_non_null(strstr(err, "session step 0: regex does not compile"));
    a->n_steps = 0;
    step(a, PS_STEP_SEND_BINARY, 0, 0, "0g");
    assert_int_equal(agent_script_prepare(s, a, err, sizeof err), -1);
    assert_non_null(strstr(err, "malformed binary frame"));
    a->n_steps = 0;
    step(a, PS_STEP_SEND_TEXT, 0, 0, "x");
    a->n_session_vars = 1;
    capture(a, 0, PS_MATCH_REGEX, "x");
    assert_int_equal(agent_script_prepare(s, a, err, sizeof err), -1);
    assert_non_null(strstr(err, "refers to no expect step"));
    agent_script_free(s);
    free(s);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_matchers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_captures_and_templates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_mismatch_and_timeout, setup, teardown),
        cmocka_unit_test(test_prepare_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

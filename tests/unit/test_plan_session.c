/* test_plan_session.c: the plan's session blocks (controller/plan/plan_session.c).
 *
 * A plan with a plan-wide script and a target's own is read into the form the
 * ASSIGN command carries (sets, ops, matchers, JSON lines, hex frames,
 * captures and their variables); a table of broken session blocks checks
 * that each mistake is reported at its exact line:col and key path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plan.h"
#include "plan_bad.h"

static void test_session_parsed(void **state)
{
    (void)state;
    static const char y[] =
        "name: t\n"
        "targets:\n"
        "  - {ws: \"ws://h:1/ws\", push: \"http://h:2/push\"}\n"
        "  - ws: \"ws://h:1/other\"\n"
        "    push: \"http://h:2/push\"\n"
        "    session: {steps: [{send: {base64: \"AAH/\"}}]}\n"
        "connections: {total: 100}\n"
        "session:\n"
        "  vars_bytes: 48\n"
        "  ack: '{\"ack\":{msg_id},\"sid\":\"{sid}\"}'\n"
        "  steps:\n"
        "    - expect: {json: {type: welcome, user.id: 7, ok: true}}\n"
        "      timeout: 2s\n"
        "      capture: {sid: {json: session.id}, n: {regex: \"n=([0-9]+)\"}}\n"
        "    - send: '{\"login\":\"{sid}\",\"n\":{n},\"c\":{conn}}'\n"
        "    - expect: {regex: \"^ok [0-9]+$\"}\n"
        "      others: fail\n"
        "    - send: {hex: \"0aFF\"}\n"
        "    - expect: welcome\n"
        "heartbeat: {text: '{\"seq\":{seq},\"t\":{now_ms},\"sid\":\"{sid}\",\"c\":{conn}}',\n"
        "            expect: {json: {type: pong, seq.n: 1}}}\n"
        "phases:\n"
        "  - ramp: {to: 100, rate: 10/s}\n";
    struct plan *p = calloc(1, sizeof *p);
    char err[PLAN_ERR_MAX];
    assert_non_null(p);
    if (plan_parse("t.yaml", y, strlen(y), p, err, sizeof err)) {
        print_error("%s\n", err);
        fail();
    }
    const struct plan_session *s = &p->session;
    assert_int_equal(s->n_steps, 6);
    assert_int_equal(s->vars_bytes, 48);
    /* the target's script comes first in the document: set 2 (target 1 + 1) */
    assert_int_equal(s->steps[0].set, 2);
    assert_int_equal(s->steps[0].op, PS_STEP_SEND_BINARY);
    assert_string_equal(s->steps[0].text, "0001ff");
    assert_int_equal(s->steps[1].set, 0);
    assert_int_equal(s->steps[1].op, PS_STEP_EXPECT);
    assert_int_equal(s->steps[1].match, PS_MATCH_JSON);
    assert_int_equal(s->steps[1].timeout_ms, 2000);
    assert_int_equal(s->steps[1].others_fail, 0);
    assert_string_equal(s->steps[1].text, "type=welcome\nuser.id=7\nok=true");
    assert_int_equal(s->steps[2].op, PS_STEP_SEND_TEXT);
    assert_string_equal(s->steps[2].text, "{\"login\":\"{sid}\",\"n\":{n},\"c\":{conn}}");
    assert_int_equal(s->steps[3].match, PS_MATCH_REGEX);
    assert_int_equal(s->steps[3].others_fail, 1);
    assert_int_equal(s->steps[3].timeout_ms, 10000);
    assert_string_equal(s->steps[4].text, "0aff");
    assert_int_equal(s->steps[5].match, PS_MATCH_CONTAINS);
    assert_string_equal(s->steps[5].text, "welcome");
    assert_int_equal(s->n_vars, 2);
    assert_string_equal(s->vars[0], "sid");
    assert_string_equal(s->vars[1], "n");
    assert_int_equal(s->n_captures, 2);
    assert_int_equal(s->captures[0].step, 1);
    assert_int_equal(s->captures[0].var, 0);
    assert_int_equal(s->captures[0].match, PS_MATCH_JSON);
    assert_string_equal(s->captures[0].from, "session.id");
    assert_int_equal(p->heartbeat.expect_match, PS_MATCH_JSON);
    assert_string_equal(s->ack, "{\"ack\":{msg_id},\"sid\":\"{sid}\"}");
    assert_string_equal(p->heartbeat.expect, "type=pong\nseq.n=1");
    assert_int_equal(s->captures[1].var, 1);
    assert_int_equal(s->captures[1].match, PS_MATCH_REGEX);
    free(p);
}

static void test_session_default_off(void **state)
{
    (void)state;
    struct plan *p = calloc(1, sizeof *p);
    char err[PLAN_ERR_MAX];
    assert_int_equal(plan_parse("t.yaml", BASE, strlen(BASE), p, err, sizeof err), 0);
    assert_int_equal(p->session.n_steps, 0);
    assert_int_equal(p->session.vars_bytes, 64);
    assert_int_equal(p->heartbeat.expect_match, 0);
    assert_int_equal(p->session.ack_id_match, 0);   /* {msg_id}: the push token's id */
    free(p);
}

static void test_session_ack_id(void **state)
{
    (void)state;
    static const char *const y[] = {
        BASE "session: {ack: '{\"type\":\"ack\",\"id\":{msg_id}}', ack_id: {json: msg.id}}\n",
        BASE "session: {ack: 'ack {msg_id}', ack_id: {regex: '\"id\":([0-9]+)'}}\n",
    };
    struct plan *p = calloc(1, sizeof *p);
    char err[PLAN_ERR_MAX];
    assert_int_equal(plan_parse("t.yaml", y[0], strlen(y[0]), p, err, sizeof err), 0);
    assert_int_equal(p->session.ack_id_match, PS_MATCH_JSON);
    assert_string_equal(p->session.ack_id_from, "msg.id");
    assert_int_equal(plan_parse("t.yaml", y[1], strlen(y[1]), p, err, sizeof err), 0);
    assert_int_equal(p->session.ack_id_match, PS_MATCH_REGEX);
    assert_string_equal(p->session.ack_id_from, "\"id\":([0-9]+)");
    free(p);
}

static const struct bad_case bad_cases[] = {
    { "unknown step key", BASE "session: {steps: [{sned: hi}]}\n",
      "t.yaml:7:20: session.steps[0].sned: ", "unknown key \"sned\"; did you mean \"send\"?" },
    { "unknown session key", BASE "session: {steps: [{send: hi}], vars: 3}\n",
      "t.yaml:7:32: session.vars: ", "(allowed: steps, vars_bytes, ack, ack_id)" },
    { "regex that does not compile", BASE "session: {steps: [{expect: {regex: \"a(b\"}}]}\n",
      "t.yaml:7:36: session.steps[0].expect.regex: ", "regular expression does not compile" },
    { "regex that would compile to hundreds of MB",
      BASE "session: {steps: [{expect: {regex: \"((a{100}){100}){100}\"}}]}\n",
      "t.yaml:7:36: session.steps[0].expect.regex: ", "expand to 1000000 positions, at most 10000" },
    { "capture regex that does not compile",
      BASE "session: {steps: [{expect: x, capture: {v: {regex: \"[z\"}}}]}\n",
      "t.yaml:7:52: session.steps[0].capture.v.regex: ", "does not compile" },
    { "bad JSON path in expect", BASE "session: {steps: [{expect: {json: {a..b: 1}}}]}\n",
      "t.yaml:7:36: session.steps[0].expect.json.a..b: ", "empty segment at character 3" },
    { "bad JSON path in capture",
      BASE "session: {steps: [{expect: x, capture: {v: {json: \"a[0]\"}}}]}\n",
      "t.yaml:7:51: session.steps[0].capture.v.json: ", "character 2 ('[') is not allowed" },
    { "send and expect in one step", BASE "session: {steps: [{send: a, expect: b}]}\n",
      "t.yaml:7:19: session.steps[0]: ", "either sends or expects, not both" },
    { "neither send nor expect", BASE "session: {steps: [{timeout: 1s}]}\n",
      "t.yaml:7:19: session.steps[0]: ", "needs send or expect" },
    { "others on a send", BASE "session: {steps: [{send: a, others: fail}]}\n",
      "t.yaml:7:29: session.steps[0].others: ", "applies to expect steps only" },
    { "others neither ignore nor fail", BASE "session: {steps: [{expect: a, others: drop}]}\n",
      "t.yaml:7:39: session.steps[0].others: ", "expected ignore or fail, got \"drop\"" },
    { "variable never captured", BASE "session: {steps: [{send: \"hi {sid}\"}]}\n",
      "t.yaml:7:26: session.steps[0].send: ", "{sid} is not captured by an earlier step" },
    { "variable captured only later",
      BASE "session: {steps: [{send: \"{v}\"}, {expect: x, capture: {v: {regex: x}}}]}\n",
      "t.yaml:7:26: session.steps[0].send: ", "{v} is not captured" },
    { "built-in variable as a capture name",
      BASE "session: {steps: [{expect: x, capture: {conn: {regex: x}}}]}\n",
      "t.yaml:7:41: session.steps[0].capture.conn: ", "built-in variable" },
    { "bad variable name", BASE "session: {steps: [{expect: x, capture: {1v: {regex: x}}}]}\n",
      "t.yaml:7:41: session.steps[0].capture.1v: ", "letters, digits and _" },
    { "odd hex", BASE "session: {steps: [{send: {hex: abc}}]}\n",
      "t.yaml:7:32: session.steps[0].send.hex: ", "even number of digits" },
    { "not base64", BASE "session: {steps: [{send: {base64: \"ab$d\"}}]}\n",
      "t.yaml:7:35: session.steps[0].send.base64: ", "not base64: character 3" },
    { "unknown expect kind", BASE "session: {steps: [{expect: {glob: \"a*\"}}]}\n",
      "t.yaml:7:29: session.steps[0].expect: ", "got key \"glob\"" },
    { "JSON value that is a map", BASE "session: {steps: [{expect: {json: {a: {b: 1}}}}]}\n",
      "t.yaml:7:39: session.steps[0].expect.json.a: ", "expected a value to compare" },
    { "vars_bytes in a target's session",
      "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"http://h:2/push\", "
      "session: {steps: [{send: a}], vars_bytes: 8}}\nconnections: {total: 1}\n"
      "phases:\n  - ramp: {to: 1, rate: 1/s}\n",
      "t.yaml:3:80: targets[0].session.vars_bytes: ", "(allowed: steps)" },
    { "vars_bytes over the budget", BASE "session: {steps: [{send: a}], vars_bytes: 100000}\n",
      "t.yaml:7:43: session.vars_bytes: ", "at most 4096" },
    { "timeout below 1ms", BASE "session: {steps: [{expect: a, timeout: 100us}]}\n",
      "t.yaml:7:40: session.steps[0].timeout: ", "at least 1ms" },
    { "empty steps", BASE "session: {steps: []}\n",
      "t.yaml:7:18: session.steps: ", "needs at least one step" },
    { "heartbeat variable that is not one", BASE "heartbeat: {text: \"ping {sid}\"}\n",
      "t.yaml:7:19: heartbeat.text: ", "{sid} is not a heartbeat variable" },
    { "heartbeat regex that does not compile",
      BASE "heartbeat: {text: hi, expect: {regex: \"(\"}}\n",
      "t.yaml:7:39: heartbeat.expect.regex: ", "does not compile" },
    { "ack variable that is not one", BASE "session: {ack: \"ok {msg}\"}\n",
      "t.yaml:7:16: session.ack: ", "{msg} is not an ack variable" },
    { "ack in a target's session",
      "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"http://h:2/push\", "
      "session: {steps: [{send: a}], ack: x}}\nconnections: {total: 1}\n"
      "phases:\n  - ramp: {to: 1, rate: 1/s}\n",
      "t.yaml:3:80: targets[0].session.ack: ", "(allowed: steps)" },
    /* acks of the service's own ids */
    { "ack_id regex that does not compile",
      BASE "session: {ack: \"a {msg_id}\", ack_id: {regex: \"id=(\"}}\n",
      "t.yaml:7:46: session.ack_id.regex: ", "regular expression does not compile" },
    { "ack_id JSON path with an empty segment",
      BASE "session: {ack: \"a {msg_id}\", ack_id: {json: \"msg..id\"}}\n",
      "t.yaml:7:45: session.ack_id.json: ", "JSON path \"msg..id\" has an empty segment at character 5" },
    { "ack_id JSON path with a bracket",
      BASE "session: {ack: \"a {msg_id}\", ack_id: {json: \"ids[0]\"}}\n",
      "t.yaml:7:45: session.ack_id.json: ", "character 4 ('[') is not allowed" },
    { "ack_id neither json nor regex",
      BASE "session: {ack: \"a {msg_id}\", ack_id: {xpath: id}}\n",
      "t.yaml:7:39: session.ack_id: ", "expected {json: PATH} or {regex: RE}" },
    { "ack_id not a map", BASE "session: {ack: \"a {msg_id}\", ack_id: id}\n",
      "t.yaml:7:38: session.ack_id: ", "{json: PATH} or {regex: RE}" },
    { "ack_id without an ack", BASE "session: {ack_id: {json: id}}\n",
      "t.yaml:7:11: session.ack_id: ", "there is no ack" },
    { "ack_id in a target's session",
      "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"http://h:2/push\", "
      "session: {steps: [{send: a}], ack_id: {json: id}}}\nconnections: {total: 1}\n"
      "phases:\n  - ramp: {to: 1, rate: 1/s}\n",
      "t.yaml:3:80: targets[0].session.ack_id: ", "(allowed: steps)" },
    { "session_ready_p99 not a comparison", BASE "thresholds: {session_ready_p99: 5s}\n",
      "t.yaml:7:33: thresholds.session_ready_p99: ", "expected a comparison" },
};

static void test_session_bad(void **state)
{
    (void)state;
    plan_bad_run(bad_cases, sizeof bad_cases / sizeof bad_cases[0]);
}

static void test_session_too_many_steps(void **state)
{
    (void)state;
    char y[4096];
    int o = snprintf(y, sizeof y, BASE "session:\n  steps:\n");
    for (int i = 0; i <= PS_SESSION_STEPS_MAX; i++)
        o += snprintf(y + o, sizeof y - (size_t)o, "    - send: s%d\n", i);
    struct plan *p = calloc(1, sizeof *p);
    char err[PLAN_ERR_MAX];
    assert_int_equal(plan_parse("t.yaml", y, strlen(y), p, err, sizeof err), -1);
    assert_non_null(strstr(err, "t.yaml:25:7: session.steps[16]: too many session steps: at most 16"));
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_parsed),
        cmocka_unit_test(test_session_default_off),
        cmocka_unit_test(test_session_ack_id),
        cmocka_unit_test(test_session_bad),
        cmocka_unit_test(test_session_too_many_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

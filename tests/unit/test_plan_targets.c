/* test_plan_targets.c: what `pushstorm check` prints about the targets' client
 * protocols and push adapters (controller/plan/plan_print.c, plan_push.c).
 *
 * A plan of WebSocket clients pushed over HTTP(S) prints its phases exactly as
 * before issue 13 and no target list; a target speaking a protocol, a target
 * pushed through another adapter, or a push phase with its own URL through
 * one makes every target listed with its protocol and adapter, and that phase
 * names its adapter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plan.h"

#define HEAD "name: t\nconnections: {total: 10}\ntargets:\n"
#define WS_HTTP "  - {ws: \"ws://h:1/ws\", push: \"http://h:2/push\"}\n"
#define PHASES "phases:\n  - ramp: {to: 10, rate: 10/s}\n  - push: {count: 1, rate: 10/s}\n"

/* plan_print_targets then plan_print_phases of yaml, malloc'd. */
static char *printed(const char *yaml)
{
    struct plan *p = calloc(1, sizeof *p);
    char err[PLAN_ERR_MAX] = "", *buf = NULL;
    size_t len = 0;
    assert_non_null(p);
    if (plan_parse("t.yaml", yaml, strlen(yaml), p, err, sizeof err) != 0) {
        print_error("%s\n", err);
        fail();
    }
    FILE *o = open_memstream(&buf, &len);
    assert_non_null(o);
    plan_print_targets(p, o);
    plan_print_phases(p, o);
    fclose(o);
    free(p);
    return buf;
}

static void expect_printed(const char *yaml, const char *want)
{
    char *got = printed(yaml);
    assert_string_equal(got, want);
    free(got);
}

static void test_plain(void **state)
{
    (void)state;
    /* http and https, a phase's own http URL: nothing beyond the phases */
    expect_printed(HEAD WS_HTTP "  - {ws: \"wss://h:3/ws\", push: \"HTTPS://h:4/push\"}\n"
                   PHASES "  - push: {count: 1, rate: 10/s, url: \"http://h:5/other\"}\n",
                   "  phase 1 (line 7): ramp\n  phase 2 (line 8): push\n"
                   "  phase 3 (line 9): push\n");
}

static void test_protocol(void **state)
{
    (void)state;
    expect_printed(HEAD WS_HTTP
                   "  - {ws: \"ws://h:1/mqtt\", push: \"http://h:2/push\", protocol: mqtt}\n"
                   "protocol_options: {subscribe: [\"u/{conn}\"]}\n" PHASES,
                   "targets (client protocol, push adapter):\n"
                   "  target 1: websocket, push http: ws://h:1/ws\n"
                   "  target 2: mqtt, push http: ws://h:1/mqtt\n"
                   "  phase 1 (line 8): ramp\n  phase 2 (line 9): push\n");
}

/* A WebSocket client pushed through MQTT: the adapter is worth listing. */
static void test_push_adapter(void **state)
{
    (void)state;
    expect_printed(HEAD "  - {ws: \"ws://h:1/ws\", push: \"MQTT://h:1883/u/{conn}\"}\n" PHASES,
                   "targets (client protocol, push adapter):\n"
                   "  target 1: websocket, push mqtt: ws://h:1/ws\n"
                   "  phase 1 (line 6): ramp\n  phase 2 (line 7): push\n");
}

/* A push phase of its own through another adapter lists the targets too. */
static void test_phase_url(void **state)
{
    (void)state;
    expect_printed(HEAD WS_HTTP PHASES
                   "  - push: {count: 1, rate: 10/s, url: \"mqtts://h:8883/all\"}\n",
                   "targets (client protocol, push adapter):\n"
                   "  target 1: websocket, push http: ws://h:1/ws\n"
                   "  phase 1 (line 6): ramp\n  phase 2 (line 7): push\n"
                   "  phase 3 (line 8): push through mqtts (its own URL)\n");
}

static void test_scheme(void **state)
{
    (void)state;
    char s[8];
    assert_string_equal(plan_push_scheme("GrPcS://h:1/a.B/C", s, sizeof s), "grpcs");
    assert_string_equal(plan_push_scheme("", s, sizeof s), "");
    assert_string_equal(plan_push_scheme("no scheme", s, sizeof s), "");
    /* cut to the buffer, never past it */
    assert_string_equal(plan_push_scheme("abcdefghijk://h", s, 4), "abc");
    struct plan_target t = {.push = "", .broadcast = "mqtt://h:1883/all"};
    assert_string_equal(plan_target_push_scheme(&t, s, sizeof s), "mqtt");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_protocol),
        cmocka_unit_test(test_push_adapter),
        cmocka_unit_test(test_phase_url),
        cmocka_unit_test(test_scheme),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

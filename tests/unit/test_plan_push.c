/* test_plan_push.c: the push adapters' plan keys (controller/plan/plan_push.c).
 *
 * Good plans: the URL scheme picks the adapter, mqtt's qos, grpc's metadata
 * (names lower-cased) and message (quoted = string, plain integer = varint,
 * {int: ...}), the derived broadcast URL of each kind. Bad plans: each mistake
 * at its line:col with the key path, including an adapter's key in a phase
 * whose calls go through another adapter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plan_bad.h"

#define HEAD "name: t\nconnections: {total: 100}\nphases:\n  - ramp: {to: 100, rate: 10/s}\n"

static struct plan *parse(const char *yaml)
{
    struct plan *p = calloc(1, sizeof *p);
    char err[PLAN_ERR_MAX] = "";
    assert_non_null(p);
    if (plan_parse("t.yaml", yaml, strlen(yaml), p, err, sizeof err) != 0) {
        print_error("%s\n", err);
        fail();
    }
    return p;
}

static void test_mqtt(void **state)
{
    (void)state;
    struct plan *p = parse(HEAD "  - push: {count: 5, qos: 1}\n"
                           "targets:\n  - {ws: \"ws://h:1/ws\", push: \"mqtt://u:pw@h:1883/users/{conn}\"}\n"
                           "  - {ws: \"ws://h:1/ws\", push: \"mqtts://h/u/{conn}\", broadcast: \"mqtts://h/all\"}\n");
    assert_int_equal(p->phases[1].u.push.call.qos, 1);
    assert_string_equal(p->targets[0].broadcast, "mqtt://u:pw@h:1883/broadcast");
    assert_string_equal(p->targets[1].broadcast, "mqtts://h/all");
    free(p);
}

#define MQTT_BASE "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"mqtt://h:1883/u/{conn}\"}\n" \
                  "connections: {total: 100}\nphases:\n  - ramp: {to: 100, rate: 10/s}\n"

static const struct bad_case bad_cases[] = {
    { "unknown scheme", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"amqp://h/q\"}\n",
      "t.yaml:3:31: targets[0].push: ", "expected a push URL starting with http://, https://, mqtt://" },
    { "mqtt without a topic", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"mqtt://h:1883\"}\n",
      "t.yaml:3:31: targets[0].push: ", "needs a topic after the broker" },
    { "mqtt topic with a wildcard", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"mqtt://h/u/+\"}\n",
      "t.yaml:3:31: targets[0].push: ", "wildcards + or #" },
    { "qos 2", MQTT_BASE "  - push: {count: 1, qos: 2}\n",
      "t.yaml:7:27: phases[1].push.qos: ", "QoS 2 is not supported" },
    { "qos for http", BASE "  - push: {count: 1, qos: 1}\n",
      "t.yaml:7:22: phases[1].push.qos: ", "applies to mqtt:// and mqtts:// push URLs only, and "
      "this phase's calls go to http://h:2/push" },
    { "headers for mqtt", MQTT_BASE "  - push: {count: 1, headers: {X-A: b}}\n",
      "t.yaml:7:22: phases[1].push.headers: ", "applies to http:// and https://" },
};

static void test_bad(void **state)
{
    (void)state;
    plan_bad_run(bad_cases, sizeof(bad_cases) / sizeof(bad_cases[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mqtt),
        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

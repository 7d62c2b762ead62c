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

static void test_grpc(void **state)
{
    (void)state;
    struct plan *p = parse(HEAD "  - push: {count: 5, metadata: {X-Tenant: \"t-{conn}\"},\n"
                           "            message: {1: \"{conn}\", 2: \"{msg}\", 3: 42, 4: {int: \"{id}\"}}}\n"
                           "targets:\n  - {ws: \"ws://h:1/ws\", push: \"grpc://h:50051/push.v1.Push/Send\"}\n");
    const struct plan_push_call *c = &p->phases[1].u.push.call;
    assert_int_equal(c->n_metadata, 1);
    assert_string_equal(c->metadata[0].name, "x-tenant");
    assert_string_equal(c->metadata[0].value, "t-{conn}");
    assert_int_equal(c->n_fields, 4);
    assert_int_equal(c->fields[0].number, 1);
    assert_int_equal(c->fields[0].varint, 0);
    assert_string_equal(c->fields[1].tpl, "{msg}");
    assert_int_equal(c->fields[2].varint, 1);
    assert_string_equal(c->fields[2].tpl, "42");
    assert_int_equal(c->fields[3].varint, 1);
    assert_string_equal(c->fields[3].tpl, "{id}");
    assert_string_equal(p->targets[0].broadcast, "grpc://h:50051/push.v1.Push/Broadcast");
    free(p);
}

#define MQTT_BASE "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"mqtt://h:1883/u/{conn}\"}\n" \
                  "connections: {total: 100}\nphases:\n  - ramp: {to: 100, rate: 10/s}\n"
#define GRPC_BASE "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"grpc://h:1/p.S/M\"}\n" \
                  "connections: {total: 100}\nphases:\n  - ramp: {to: 100, rate: 10/s}\n"

static const struct bad_case bad_cases[] = {
    { "unknown scheme", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"amqp://h/q\"}\n",
      "t.yaml:3:31: targets[0].push: ", "expected a push URL starting with http://, https://, mqtt://" },
    { "mqtt without a topic", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"mqtt://h:1883\"}\n",
      "t.yaml:3:31: targets[0].push: ", "needs a topic after the broker" },
    { "mqtt topic with a wildcard", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"mqtt://h/u/+\"}\n",
      "t.yaml:3:31: targets[0].push: ", "wildcards + or #" },
    { "grpc without a method", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"grpc://h:1/p.S\"}\n",
      "t.yaml:3:31: targets[0].push: ", "needs the method's path" },
    { "grpc broadcast with a query", "name: t\ntargets:\n  - {ws: \"ws://h:1/ws\", push: \"grpc://h:1/p.S/M\","
      " broadcast: \"grpcs://h:1/p.S/B?x=1\"}\n",
      "t.yaml:3:62: targets[0].broadcast: ", "needs the method's path" },
    { "qos 2", MQTT_BASE "  - push: {count: 1, qos: 2}\n",
      "t.yaml:7:27: phases[1].push.qos: ", "QoS 2 is not supported" },
    { "qos for http", BASE "  - push: {count: 1, qos: 1}\n",
      "t.yaml:7:22: phases[1].push.qos: ", "applies to mqtt:// and mqtts:// push URLs only, and "
      "this phase's calls go to http://h:2/push" },
    { "headers for mqtt", MQTT_BASE "  - push: {count: 1, headers: {X-A: b}}\n",
      "t.yaml:7:22: phases[1].push.headers: ", "applies to http:// and https://" },
    { "message for a phase url over http", GRPC_BASE
      "  - push: {count: 1, url: \"http://h/x\", message: {1: \"{msg}\"}}\n",
      "t.yaml:7:41: phases[1].push.message: ", "applies to grpc:// and grpcs://" },
    { "metadata reserved", GRPC_BASE "  - push: {count: 1, metadata: {grpc-timeout: 1S}}\n",
      "t.yaml:7:33: phases[1].push.metadata.grpc-timeout: ", "grpc-* names belong" },
    { "metadata binary", GRPC_BASE "  - push: {count: 1, metadata: {k-bin: x}}\n",
      "t.yaml:7:33: phases[1].push.metadata.k-bin: ", "binary (-bin) metadata" },
    { "metadata duplicate", GRPC_BASE "  - push: {count: 1, metadata: {a: x, A: y}}\n",
      "t.yaml:7:39: phases[1].push.metadata.A: ", "duplicate metadata name" },
    { "message field 0", GRPC_BASE "  - push: {count: 1, message: {0: \"{msg}\"}}\n",
      "t.yaml:7:32: phases[1].push.message.0: ", "not a protobuf field number" },
    { "message reserved range", GRPC_BASE "  - push: {count: 1, message: {19500: \"{msg}\"}}\n",
      "t.yaml:7:32: phases[1].push.message.19500: ", "not 19000-19999" },
    { "message field with a leading zero", GRPC_BASE "  - push: {count: 1, message: {1: \"{msg}\", 01: x}}\n",
      "t.yaml:7:44: phases[1].push.message.01: ", "not a protobuf field number" },
    { "message duplicate field", GRPC_BASE "  - push: {count: 1, message: {2: \"{msg}\", 2: x}}\n",
      "t.yaml:7:44: phases[1].push.message.2: ", "duplicate field number (first given at 7:32)" },
    { "message without the token", GRPC_BASE "  - push: {count: 1, message: {1: \"{conn}\", 2: 7}}\n",
      "t.yaml:7:31: phases[1].push.message: ", "no string field contains {msg}" },
    { "message value a list", GRPC_BASE "  - push: {count: 1, message: {1: [a]}}\n",
      "t.yaml:7:35: phases[1].push.message.1: ", "expected a template or an integer" },
    { "message bad form", GRPC_BASE "  - push: {count: 1, message: {1: {float: x}}}\n",
      "t.yaml:7:35: phases[1].push.message.1: ", "{int: TEMPLATE} and {string: TEMPLATE}" },
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
        cmocka_unit_test(test_grpc),
        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

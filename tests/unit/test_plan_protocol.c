/* test_plan_protocol.c: the plan's client protocols (controller/plan/plan_protocol.c).
 *
 * A plan with targets of three protocols and every protocol_options key is
 * read into struct plan as the ASSIGN carries it (enum values, durations in
 * us, the subscribe list); the defaults hold when the map is absent; and a
 * table of broken plans checks each mistake at its line:col and key path:
 * an unknown protocol (with a typo hint), QoS 2, an unknown ack mode or MQTT
 * version, bad durations, a subscribe list too long or empty, an option no
 * target's protocol reads, a template naming what the handshake cannot know,
 * a {csv.COL} the data file lacks, and the app heartbeat with no websocket
 * target. */
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

/* BASE's one target, speaking a protocol (line 3 of the plan). */
#define HEAD(proto) \
    "name: t\n" \
    "targets:\n" \
    "  - {ws: \"ws://h:1/ws\", push: \"http://h:2/push\", protocol: " proto "}\n" \
    "connections: {total: 100}\n" \
    "phases:\n" \
    "  - ramp: {to: 100, rate: 10/s}\n"

/* Parses y (with data as connections.data's text, or none); a failure prints why. */
static void must_parse(struct plan *p, const char *y, const char *data)
{
    char err[PLAN_ERR_MAX] = "";
    if (plan_parse_with_data("t.yaml", y, strlen(y), data, data ? strlen(data) : 0, p, err,
                             sizeof err)) {
        print_error("%s\n", err);
        fail();
    }
}

static void test_protocol_parsed(void **state)
{
    (void)state;
    static const char y[] =
        "name: t\n"
        "targets:\n"
        "  - {ws: \"ws://h:1/ws\", push: \"http://h:2/push\", protocol: mqtt}\n"
        "  - {ws: \"ws://h:1/sio\", push: \"http://h:2/push\", protocol: socketio}\n"
        "  - {ws: \"ws://h:1/st\", push: \"http://h:2/push\", protocol: stomp}\n"
        "  - {ws: \"ws://h:1/plain\", push: \"http://h:2/push\"}\n"
        "connections: {total: 100}\n"
        "protocol_options:\n"
        "  timeout: 3s\n"
        "  client_id: \"c-{conn}-{agent}\"\n"
        "  user: u{target}\n"
        "  password: secret\n"
        "  auth: '{\"token\":\"t{conn}\"}'\n"
        "  namespace: /chat\n"
        "  vhost: broker\n"
        "  subscribe: [\"user/{conn}\", all]\n"
        "  qos: 1\n"
        "  ack: client-individual\n"
        "  keepalive: 20s\n"
        "  server_heartbeat: 5s\n"
        "  clean_session: false\n"
        "  mqtt_version: 5\n"
        "phases:\n"
        "  - ramp: {to: 100, rate: 10/s}\n";
    struct plan *p = calloc(1, sizeof *p);
    assert_non_null(p);
    must_parse(p, y, NULL);
    assert_int_equal(p->targets[0].protocol, PS_PROTOCOL_MQTT);
    assert_int_equal(p->targets[1].protocol, PS_PROTOCOL_SOCKETIO);
    assert_int_equal(p->targets[2].protocol, PS_PROTOCOL_STOMP);
    assert_int_equal(p->targets[3].protocol, PS_PROTOCOL_WEBSOCKET);
    const struct plan_protocol *o = &p->protocol;
    assert_int_equal(o->timeout_us, 3000000);
    assert_string_equal(o->client_id, "c-{conn}-{agent}");
    assert_string_equal(o->user, "u{target}");
    assert_string_equal(o->password, "secret");
    assert_string_equal(o->auth, "{\"token\":\"t{conn}\"}");
    assert_string_equal(o->ns, "/chat");
    assert_string_equal(o->vhost, "broker");
    assert_int_equal(o->n_subscribe, 2);
    assert_string_equal(o->subscribe[0], "user/{conn}");
    assert_string_equal(o->subscribe[1], "all");
    assert_int_equal(o->qos, 1);
    assert_int_equal(o->ack_mode, 2);
    assert_int_equal(o->keepalive_us, 20000000);
    assert_int_equal(o->server_hb_us, 5000000);
    assert_int_equal(o->clean, 0);
    assert_int_equal(o->mqtt_version, 5);

    /* the defaults (docs/plan.md), and off */
    static const char d[] = HEAD("mqtt") "protocol_options: {keepalive: off, mqtt_version: \"3.1.1\"}\n";
    must_parse(p, d, NULL);
    assert_int_equal(o->timeout_us, 10000000);
    assert_string_equal(o->ns, "/");
    assert_int_equal(o->n_subscribe, 0);
    assert_int_equal(o->qos, 0);
    assert_int_equal(o->ack_mode, 0);
    assert_int_equal(o->keepalive_us, 0);
    assert_int_equal(o->server_hb_us, 0);
    assert_int_equal(o->clean, 1);
    assert_int_equal(o->mqtt_version, 4);
    free(p);
}

static const struct bad_case bad_cases[] = {
    { "unknown protocol", HEAD("mqqt"), "t.yaml:3:60: targets[0].protocol: ",
      "unknown protocol \"mqqt\"; did you mean \"mqtt\"? (allowed: websocket, socketio, mqtt, stomp)" },
    { "protocol not a word", HEAD("[mqtt]"), "t.yaml:3:60: targets[0].protocol: ",
      "expected a protocol (websocket, socketio, mqtt, stomp)" },
    { "unknown option", HEAD("mqtt") "protocol_options: {qso: 1}\n",
      "t.yaml:7:20: protocol_options.qso: ", "unknown key \"qso\"; did you mean \"qos\"?" },
    { "options not a map", HEAD("mqtt") "protocol_options: [qos]\n",
      "t.yaml:7:19: protocol_options: ", "a map of protocol options" },
    { "qos 2", HEAD("mqtt") "protocol_options: {qos: 2}\n",
      "t.yaml:7:25: protocol_options.qos: ", "QoS 2 is not supported: use 0 or 1" },
    { "qos 3", HEAD("mqtt") "protocol_options: {qos: 3}\n",
      "t.yaml:7:25: protocol_options.qos: ", "too large: 3, at most 2" },
    { "ack mode", HEAD("stomp") "protocol_options: {ack: manual}\n",
      "t.yaml:7:25: protocol_options.ack: ",
      "unknown ack mode \"manual\" (allowed: auto, client, client-individual)" },
    { "mqtt version", HEAD("mqtt") "protocol_options: {mqtt_version: 3}\n",
      "t.yaml:7:34: protocol_options.mqtt_version: ", "unknown MQTT version \"3\"" },
    { "timeout zero", HEAD("mqtt") "protocol_options: {timeout: 0s}\n",
      "t.yaml:7:29: protocol_options.timeout: ", "must be more than zero" },
    { "timeout past an hour", HEAD("mqtt") "protocol_options: {timeout: 61m}\n",
      "t.yaml:7:29: protocol_options.timeout: ", "at most 1h, got \"61m\"" },
    { "timeout not a duration", HEAD("stomp") "protocol_options: {timeout: soon}\n",
      "t.yaml:7:29: protocol_options.timeout: ", "soon" },
    { "keepalive not a duration", HEAD("stomp") "protocol_options: {keepalive: 5x}\n",
      "t.yaml:7:31: protocol_options.keepalive: ", "5x" },
    { "server heartbeat not a duration", HEAD("stomp") "protocol_options: {server_heartbeat: 1h1}\n",
      "t.yaml:7:38: protocol_options.server_heartbeat: ", "1h1" },
    { "mqtt keepalive past 16 bits of seconds", HEAD("mqtt") "protocol_options: {keepalive: 19h}\n",
      "t.yaml:7:31: protocol_options.keepalive: ", "MQTT's keepalive is at most 65535s" },
    { "mqtt keepalive in parts of a second", HEAD("mqtt") "protocol_options: {keepalive: 1500ms}\n",
      "t.yaml:7:31: protocol_options.keepalive: ", "MQTT's keepalive is whole seconds" },
    { "clean_session not a bool", HEAD("mqtt") "protocol_options: {clean_session: \"yes\"}\n",
      "t.yaml:7:35: protocol_options.clean_session: ", "expected true or false" },
    { "subscribe not a list", HEAD("mqtt") "protocol_options: {subscribe: all}\n",
      "t.yaml:7:31: protocol_options.subscribe: ", "a list of topic filters or destinations" },
    { "subscribe empty", HEAD("mqtt") "protocol_options: {subscribe: []}\n",
      "t.yaml:7:31: protocol_options.subscribe: ", "needs at least one topic or destination" },
    { "subscribe too long", HEAD("mqtt") "protocol_options: {subscribe: [a, b, c, d, e, f, g, h, i]}\n",
      "t.yaml:7:56: protocol_options.subscribe[8]: ", "too many subscriptions: at most 8" },
    { "subscribe entry empty", HEAD("stomp") "protocol_options: {subscribe: [a, \"\"]}\n",
      "t.yaml:7:35: protocol_options.subscribe[1]: ", "" },
    { "namespace without a slash", HEAD("socketio") "protocol_options: {namespace: chat}\n",
      "t.yaml:7:31: protocol_options.namespace: ", "starts with /, like /chat" },
    { "options with only websocket targets", BASE "protocol_options: {timeout: 5s}\n",
      "t.yaml:7:20: protocol_options.timeout: ", "is read by the client protocols, and no target speaks it" },
    { "an mqtt option with a stomp target", HEAD("stomp") "protocol_options: {qos: 1}\n",
      "t.yaml:7:20: protocol_options.qos: ", "is read by mqtt, and no target speaks it" },
    { "a stomp option with a socketio target", HEAD("socketio") "protocol_options: {vhost: v}\n",
      "t.yaml:7:20: protocol_options.vhost: ", "is read by stomp, and no target speaks it" },
    { "an option of two protocols, neither used", HEAD("socketio") "protocol_options: {user: u}\n",
      "t.yaml:7:20: protocol_options.user: ", "is read by mqtt or stomp, and no target speaks it" },
    { "a capture in a protocol template", HEAD("mqtt") "protocol_options: {client_id: \"c{sid}\"}\n",
      "t.yaml:7:31: protocol_options.client_id: ", "{sid} is not a protocol variable" },
    { "a capture in a subscription", HEAD("mqtt") "protocol_options: {subscribe: [a, \"u/{user}\"]}\n",
      "t.yaml:7:35: protocol_options.subscribe[1]: ", "{user} is not a protocol variable" },
    { "{csv.COL} with no data file", HEAD("mqtt") "protocol_options: {user: \"{csv.name}\"}\n",
      "t.yaml:7:26: protocol_options.user: ", "uses {csv.name} but connections has no data file" },
    { "app heartbeat with no websocket target", HEAD("stomp") "heartbeat: {text: ping}\n",
      "t.yaml:7:19: heartbeat.text: ", "the app heartbeat is for protocol: websocket targets" },
};

static void test_protocol_bad(void **state)
{
    (void)state;
    plan_bad_run(bad_cases, sizeof bad_cases / sizeof bad_cases[0]);
}

/* {csv.COL} in the protocol's templates is checked against the data file. */
static void test_protocol_csv(void **state)
{
    (void)state;
    static const char y[] =
        "name: t\n"
        "targets:\n"
        "  - {ws: \"ws://h:1/ws\", push: \"http://h:2/push\", protocol: mqtt}\n"
        "connections: {total: 2, data: users.csv}\n"
        "protocol_options: {user: \"{csv.name}\", subscribe: [\"u/{csv.topic}\"]}\n"
        "phases:\n"
        "  - ramp: {to: 2, rate: 10/s}\n";
    static const char data[] = "name,id\nann,1\nbob,2\n";
    struct plan *p = calloc(1, sizeof *p);
    char err[PLAN_ERR_MAX] = "";
    assert_non_null(p);
    assert_int_equal(plan_parse_with_data("t.yaml", y, strlen(y), data, strlen(data), p, err,
                                          sizeof err), -1);
    if (!strstr(err, "t.yaml:5:52: protocol_options.subscribe[0]: {csv.topic}: ") ||
        !strstr(err, "has no such column (it has name, id)")) {
        print_error("%s\n", err);
        fail();
    }
    must_parse(p, y, "name,topic\nann,1\nbob,2\n");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protocol_parsed),
        cmocka_unit_test(test_protocol_bad),
        cmocka_unit_test(test_protocol_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

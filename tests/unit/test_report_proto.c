/* test_report_proto.c: the client protocols in the HTML and JSON reports
 * (controller/report/report_proto.c, report_html_tables.c, report_json.c).
 *
 * Each case writes a run into an in-memory results database through store.c's
 * own functions, as a run does: its plan, one agent's samples, a phase, pushes
 * and deliveries, and the figures run_verdict.c stores, among them the
 * dialects' counters (proto_duplicates, proto_acks_sent, proto_server_pings)
 * and the proto_* reasons (reason_proto_*) for a run whose target spoke MQTT.
 * A websocket run's JSON is compared with a golden copy of what the reports
 * wrote before client protocols existed, and its HTML with the protocol run's
 * page minus the protocol section: the section is the one difference. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "report.h"
#include "report_data.h"
#include "store.h"

#define T0 1767225600000000LL /* 2026-01-01 00:00:00 UTC */

#define PLAN_HEAD "name: unit\ntargets:\n"
#define PLAN_TAIL                                                                              \
    "connections: {total: 10}\n"                                                              \
    "phases:\n"                                                                               \
    "  - ramp: {to: 10, rate: 10/s}\n"                                                        \
    "  - push: {count: 4, rate: 10/s}\n"

static const char PLAN_WS[] = PLAN_HEAD
    "  - {ws: \"ws://127.0.0.1:9/ws?uid={conn}\", push: \"http://127.0.0.1:9/push?uid={conn}\"}\n"
    PLAN_TAIL;
static const char PLAN_MQTT[] = PLAN_HEAD
    "  - {ws: \"ws://127.0.0.1:9/ws?uid={conn}\", push: \"mqtt://127.0.0.1:9/u/{conn}\","
    " protocol: mqtt}\n"
    "protocol_options: {subscribe: [\"u/{conn}\"]}\n" PLAN_TAIL;
static const char PLAN_MIXED[] = PLAN_HEAD
    "  - {ws: \"ws://127.0.0.1:9/ws?uid={conn}\", push: \"http://127.0.0.1:9/push?uid={conn}\"}\n"
    "  - {ws: \"ws://127.0.0.1:9/stomp\", push: \"https://127.0.0.1:9/push?uid={conn}\","
    " protocol: stomp}\n"
    "protocol_options: {subscribe: [\"/queue/u{conn}\"]}\n" PLAN_TAIL;

/* One finished run of plan in a new database; proto: store the figures a
 * protocol run has (the counters and three of the five reasons). */
static void add_run(struct store *st, const char *plan, int proto)
{
    char err[256];
    uint32_t run;
    assert_int_equal(store_open(st, ":memory:", 0, err, sizeof err), 0);
    assert_int_equal(store_run_begin(st, "unit", "unit.yaml", plan, T0, 10, &run), 0);
    assert_int_equal(run, 1);
    struct ps_hello h;
    memset(&h, 0, sizeof h);
    snprintf(h.name, sizeof h.name, "agent-1");
    snprintf(h.host, sizeof h.host, "load1");
    assert_int_equal(store_agent(st, run, 1, &h, T0), 0);
    assert_int_equal(store_agent_update(st, run, 1, 0, 10, 700, 30, 0, 0, NULL), 0);
    for (int s = 0; s < 5; s++) {
        struct ps_stats x = {.second = T0 / 1000000 + s, .connected = 10, .opened = 10};
        assert_int_equal(store_sample(st, run, 1, &x), 0);
    }
    assert_int_equal(store_phase(st, run, 1, "ramp", 6, T0, T0 + 1000000, "10 connected of 10"), 0);
    assert_int_equal(store_phase(st, run, 2, "push", 7, T0 + 1000000, T0 + 4000000, "4 messages"), 0);
    for (uint32_t m = 1; m <= 4; m++) {
        int64_t sent = T0 + 1000000 + m * 100000;
        struct store_push_row row = {run, m, 1, m, sent, "http://127.0.0.1:9/push"};
        assert_int_equal(store_push(st, &row), 0);
        assert_int_equal(store_delivery(st, run, m, m, sent + 2000 + m, 2000 + m, 40, 0, 0), 0);
    }
    const struct { const char *n; double v; } figs[] = {
        {"conn_target", 10}, {"conn_opened", 10}, {"connect_success", 1.0}, {"pushes_sent", 4},
        {"push_expected", 4}, {"push_delivered", 4}, {"push_lost", 0},
        {"push_latency_p50_us", 2002}, {"push_latency_p99_us", 2004},
    };
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++)
        assert_int_equal(store_figure(st, run, figs[i].n, figs[i].v), 0);
    if (proto) {
        const struct { const char *n; double v; } pf[] = {
            {"proto_duplicates", 3}, {"proto_acks_sent", 5}, {"proto_server_pings", 7},
            {"reason_proto_refused", 2}, {"reason_proto_timeout", 11}, {"reason_proto_close", 13},
        };
        for (size_t i = 0; i < sizeof pf / sizeof pf[0]; i++)
            assert_int_equal(store_figure(st, run, pf[i].n, pf[i].v), 0);
    }
    assert_int_equal(store_run_end(st, run, T0 + 5000000, "pass", 0, NULL), 0);
}

/* The run's report in format fmt ('h' HTML, 'j' JSON), malloc'd. */
static char *render(struct store *st, char fmt)
{
    struct report_run r;
    char err[256], *buf = NULL;
    size_t len = 0;
    assert_int_equal(report_data_load(st, 1, &r, err, sizeof err), 0);
    FILE *o = open_memstream(&buf, &len);
    assert_non_null(o);
    int rc = fmt == 'h' ? report_html_write(st, &r, o, err, sizeof err)
                        : report_json_write(st, &r, o, err, sizeof err);
    assert_int_equal(rc, 0);
    fclose(o);
    report_data_free(&r);
    return buf;
}

static char *render_run(const char *plan, int proto, char fmt)
{
    struct store st;
    add_run(&st, plan, proto);
    char *out = render(&st, fmt);
    store_close(&st);
    return out;
}

/* What `pushstorm report --json` wrote for this websocket run before client
 * protocols were added (checked against the tree before them): not one byte
 * may change. */
static const char WS_JSON[] =
    "{\n  \"format\": \"pushstorm-report/1\",\n  \"run\": {\n    \"id\": 1,\n"
    "    \"name\": \"unit\",\n    \"plan_path\": \"unit.yaml\",\n"
    "    \"started_us\": 1767225600000000,\n    \"ended_us\": 1767225605000000,\n"
    "    \"duration_s\": 5,\n    \"status\": \"pass\",\n    \"exit_code\": 0,\n"
    "    \"reason\": null,\n    \"target_connections\": 10\n  },\n  \"figures\": {\n"
    "    \"conn_opened\": 10,\n    \"conn_target\": 10,\n    \"connect_success\": 1,\n"
    "    \"push_delivered\": 4,\n    \"push_expected\": 4,\n"
    "    \"push_latency_p50_us\": 2002,\n    \"push_latency_p99_us\": 2004,\n"
    "    \"push_lost\": 0,\n    \"pushes_sent\": 4\n  },\n  \"thresholds\": [],\n"
    "  \"agents\": [\n    {\"id\": 1, \"name\": \"agent-1\", \"host\": \"load1\", \"monitor\": false,"
    " \"conn_first\": 0, \"conn_count\": 10, \"offset_us\": 700, \"offset_err_us\": 30,"
    " \"start_skew_us\": 0, \"lag_max_us\": 0, \"lost\": 0, \"missed_offline\": 0,"
    " \"agent_lost\": 0, \"left_at_us\": null, \"refused\": null}\n  ],\n"
    "  \"phases\": [\n    {\"index\": 1, \"kind\": \"ramp\", \"line\": 6,"
    " \"started_us\": 1767225600000000, \"ended_us\": 1767225601000000,"
    " \"note\": \"10 connected of 10\"},\n    {\"index\": 2, \"kind\": \"push\", \"line\": 7,"
    " \"started_us\": 1767225601000000, \"ended_us\": 1767225604000000,"
    " \"note\": \"4 messages\"}\n  ],\n  \"failures\": []\n}\n";

static void test_ws_json_unchanged(void **state)
{
    (void)state;
    char *json = render_run(PLAN_WS, 0, 'j');
    assert_string_equal(json, WS_JSON);
    free(json);
}

/* The protocol run's page is the websocket run's page plus its section. */
static void test_html_protocols(void **state)
{
    (void)state;
    char *ws = render_run(PLAN_WS, 0, 'h'), *mq = render_run(PLAN_MQTT, 1, 'h');
    assert_null(strstr(ws, "protocol"));
    char *sec = strstr(mq, "<section id=\"protocols\"><h2>Client protocols</h2>");
    assert_non_null(sec);
    char *end = strstr(sec, "</section>\n");
    assert_non_null(end);
    end += strlen("</section>\n");
    /* the rest of the page, byte for byte */
    size_t head = (size_t)(sec - mq);
    assert_int_equal(strncmp(ws, mq, head), 0);
    assert_string_equal(ws + head, end);
    *end = '\0';
    assert_non_null(strstr(sec, "<tr><td class=\"n\">1</td><td><code>ws://127.0.0.1:9/ws?uid={conn}"
                                "</code></td><td>mqtt</td><td>mqtt</td></tr>"));
    assert_non_null(strstr(sec, "<b>3</b><span>duplicates flagged</span>"));
    assert_non_null(strstr(sec, "<b>5</b><span>protocol acks sent</span>"));
    assert_non_null(strstr(sec, "<b>7</b><span>server pings answered</span>"));
    static const char *const rows[] = {
        "<tr><td>proto_refused</td><td class=\"n\">2</td></tr>",
        "<tr><td>proto_error</td><td class=\"n\">0</td></tr>",
        "<tr><td>proto_timeout</td><td class=\"n\">11</td></tr>",
        "<tr><td>proto_keepalive</td><td class=\"n\">0</td></tr>",
        "<tr><td>proto_close</td><td class=\"n\">13</td></tr>",
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        assert_non_null(strstr(sec, rows[i]));
    free(ws);
    free(mq);
}

static void test_json_protocols(void **state)
{
    (void)state;
    char *json = render_run(PLAN_MQTT, 1, 'j');
    static const char want[] =
        "  \"failures\": [],\n  \"protocols\": {\n    \"targets\": [\n"
        "      {\"index\": 1, \"ws\": \"ws://127.0.0.1:9/ws?uid={conn}\", \"protocol\": \"mqtt\","
        " \"push\": \"mqtt\"}\n    ],\n    \"duplicates\": 3,\n    \"acks_sent\": 5,\n"
        "    \"server_pings\": 7,\n    \"failures\": {\"proto_refused\": 2, \"proto_error\": 0,"
        " \"proto_timeout\": 11, \"proto_keepalive\": 0, \"proto_close\": 13}\n  }\n}\n";
    char *at = strstr(json, "  \"failures\": [],\n");
    assert_non_null(at);
    assert_string_equal(at, want);
    /* the figures are listed by name as every figure is */
    assert_non_null(strstr(json, "\"proto_acks_sent\": 5,"));
    free(json);
}

/* Two targets, one plain: each is listed with what it spoke and pushed through. */
static void test_mixed_targets(void **state)
{
    (void)state;
    char *html = render_run(PLAN_MIXED, 1, 'h'), *json = render_run(PLAN_MIXED, 1, 'j');
    assert_non_null(strstr(html, "<code>ws://127.0.0.1:9/ws?uid={conn}</code></td><td>websocket"
                                 "</td><td>http</td></tr>\n<tr><td class=\"n\">2</td><td><code>"
                                 "ws://127.0.0.1:9/stomp</code></td><td>stomp</td><td>https</td>"));
    assert_non_null(strstr(json, "\"targets\": [\n      {\"index\": 1, \"ws\": "
                                 "\"ws://127.0.0.1:9/ws?uid={conn}\", \"protocol\": \"websocket\", "
                                 "\"push\": \"http\"},\n      {\"index\": 2, \"ws\": "
                                 "\"ws://127.0.0.1:9/stomp\", \"protocol\": \"stomp\", "
                                 "\"push\": \"https\"}\n    ],"));
    free(html);
    free(json);
}

/* A stored plan that no longer parses: the counters still make it a protocol
 * run, whose targets the reports call unknown; without them, no section. */
static void test_plan_unreadable(void **state)
{
    (void)state;
    static const char broken[] = PLAN_HEAD "  - {ws: [\n";
    char *html = render_run(broken, 1, 'h'), *json = render_run(broken, 1, 'j');
    assert_non_null(strstr(html, "<section id=\"protocols\">"));
    assert_non_null(strstr(html, "which target spoke which protocol is unknown"));
    assert_non_null(strstr(json, "\"protocols\": {\n    \"targets\": null,\n    \"duplicates\": 3,"));
    free(html);
    free(json);
    html = render_run(broken, 0, 'h');
    json = render_run(broken, 0, 'j');
    assert_null(strstr(html, "protocol"));
    assert_null(strstr(json, "\"protocols\""));
    free(html);
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ws_json_unchanged),
        cmocka_unit_test(test_html_protocols),
        cmocka_unit_test(test_json_protocols),
        cmocka_unit_test(test_mixed_targets),
        cmocka_unit_test(test_plan_unreadable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

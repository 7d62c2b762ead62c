/* report_json: `pushstorm report RUN --json [FILE]`, the run as one JSON object.
 *
 * For scripts and dashboards: the runs row, every stored figure by name, the
 * thresholds with their verdicts, the agents, the phases, the connection
 * failures and closes by reason, and for a run whose targets spoke a client
 * protocol (issue 13) its "protocols" member (left out of every other run). Numbers are JSON numbers in the database's
 * units (microseconds for *_us, fractions for connect_success); a value that
 * was not measured is null. The top-level "format" names this layout and
 * changes only when a field changes meaning or goes away, never when one is
 * added. Written with fprintf and an escaping helper, no JSON library. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_proto.h"

#define REPORT_JSON_FORMAT "pushstorm-report/1"

static void report_json_str(FILE *o, const char *t)
{
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)(t ? t : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", o);
        else if (*p == '\t')
            fputs("\\t", o);
        else if (*p < 0x20)
            fprintf(o, "\\u%04x", *p);
        else
            fputc(*p, o);
    }
    fputc('"', o);
}

static void report_json_num(FILE *o, double v)
{
    if (!isfinite(v))
        fputs("null", o);
    else if (v == floor(v) && fabs(v) < 9e15)
        fprintf(o, "%.0f", v);
    else
        fprintf(o, "%.15g", v);
}

/* "key": as the start of an object member, with the comma the previous one needs. */
static void report_json_key(FILE *o, int *first, const char *key)
{
    fputs(*first ? "\n    " : ",\n    ", o);
    *first = 0;
    report_json_str(o, key);
    fputs(": ", o);
}

static int report_json_failures(FILE *o, struct store *s, const struct report_run *r, char *err,
                                size_t errlen)
{
    struct report_end *ends;
    size_t n;
    if (report_data_ends(s, r->id, &ends, &n, err, errlen))
        return -1;
    fputs("[", o);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",\n    {\"event\": " : "\n    {\"event\": ", o);
        report_json_str(o, ends[i].event);
        fputs(", \"reason\": ", o);
        report_json_str(o, ends[i].reason);
        fprintf(o, ", \"count\": %llu}", (unsigned long long)ends[i].n);
    }
    fputs(n ? "\n  ]" : "]", o);
    free(ends);
    return 0;
}

/* ",\n  "protocols": {...}" for a protocol run, nothing for any other: each
 * target's protocol and push adapter (null when the stored plan no longer
 * parses), the protocol layer's counters and the five proto_* reasons. */
static int report_json_protocols(FILE *o, const struct report_run *r, char *err, size_t errlen)
{
    struct report_proto p;
    int used = report_proto_load(r, &p, err, errlen);
    if (used <= 0)
        return used;
    fputs(",\n  \"protocols\": {\n    \"targets\": ", o);
    if (!p.targets_known)
        fputs("null", o);
    else
        fputs(p.n_targets ? "[" : "[]", o);
    for (uint32_t k = 0; p.targets_known && k < p.n_targets; k++) {
        fprintf(o, "%s      {\"index\": %u, \"ws\": ", k ? ",\n" : "\n", k + 1);
        report_json_str(o, p.targets[k].ws);
        fputs(", \"protocol\": ", o);
        report_json_str(o, p.targets[k].protocol);
        fputs(", \"push\": ", o);
        report_json_str(o, p.targets[k].push);
        fputc('}', o);
        if (k + 1 == p.n_targets)
            fputs("\n    ]", o);
    }
    fputs(",\n    \"duplicates\": ", o);
    report_json_num(o, p.duplicates);
    fputs(",\n    \"acks_sent\": ", o);
    report_json_num(o, p.acks_sent);
    fputs(",\n    \"server_pings\": ", o);
    report_json_num(o, p.server_pings);
    fputs(",\n    \"failures\": {", o);
    for (size_t i = 0; i < REPORT_PROTO_REASONS; i++) {
        fprintf(o, "%s\"%s\": ", i ? ", " : "", report_proto_reason(i));
        report_json_num(o, p.reasons[i]);
    }
    fputs("}\n  }", o);
    report_proto_free(&p);
    return 0;
}

int report_json_write(struct store *s, const struct report_run *r, FILE *o, char *err,
                      size_t errlen)
{
    int first = 1;
    fprintf(o, "{\n  \"format\": \"%s\",\n  \"run\": {", REPORT_JSON_FORMAT);
    report_json_key(o, &first, "id");
    fprintf(o, "%u", r->id);
    report_json_key(o, &first, "name");
    report_json_str(o, r->name);
    report_json_key(o, &first, "plan_path");
    report_json_str(o, r->plan_path);
    report_json_key(o, &first, "started_us");
    report_json_num(o, r->started_us ? (double)r->started_us : NAN);
    report_json_key(o, &first, "ended_us");
    report_json_num(o, r->ended_us ? (double)r->ended_us : NAN);
    report_json_key(o, &first, "duration_s");
    report_json_num(o, r->ended_us > r->started_us ? (r->ended_us - r->started_us) / 1e6 : NAN);
    report_json_key(o, &first, "status");
    report_json_str(o, r->status);
    report_json_key(o, &first, "exit_code");
    report_json_num(o, r->exit_code >= 0 ? r->exit_code : NAN);
    report_json_key(o, &first, "reason");
    if (r->reason[0])
        report_json_str(o, r->reason);
    else
        fputs("null", o);
    report_json_key(o, &first, "target_connections");
    report_json_num(o, (double)r->target_conns);
    fputs("\n  },\n  \"figures\": {", o);
    first = 1;
    for (size_t i = 0; i < r->n_figs; i++) {
        report_json_key(o, &first, r->figs[i].name);
        report_json_num(o, r->figs[i].value);
    }
    fputs(first ? "},\n  \"thresholds\": [" : "\n  },\n  \"thresholds\": [", o);
    for (size_t i = 0; i < r->n_thr; i++) {
        fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", o);
        report_json_str(o, r->thr[i].name);
        fputs(", \"required\": ", o);
        report_json_str(o, r->thr[i].expr);
        fputs(", \"measured\": ", o);
        report_json_num(o, r->thr[i].measured);
        fprintf(o, ", \"pass\": %s}", r->thr[i].pass ? "true" : "false");
    }
    fputs(r->n_thr ? "\n  ],\n  \"agents\": [" : "],\n  \"agents\": [", o);
    for (size_t i = 0; i < r->n_agents; i++) {
        const struct report_agent *a = &r->agents[i];
        fprintf(o, "%s    {\"id\": %u, \"name\": ", i ? ",\n" : "\n", a->id);
        report_json_str(o, a->name);
        fputs(", \"host\": ", o);
        report_json_str(o, a->host);
        fprintf(o, ", \"monitor\": %s, \"conn_first\": %lld, \"conn_count\": %lld,"
                   " \"offset_us\": %lld, \"offset_err_us\": %lld, \"start_skew_us\": %lld,"
                   " \"lag_max_us\": %lld, \"lost\": %lld, \"missed_offline\": %lld,"
                   " \"agent_lost\": %lld, \"left_at_us\": ",
                a->monitor ? "true" : "false", (long long)a->conn_first, (long long)a->conn_count,
                (long long)a->offset_us, (long long)a->offset_err_us, (long long)a->start_skew_us,
                (long long)a->lag_max_us, (long long)a->lost, (long long)a->missed_offline,
                (long long)a->agent_lost);
        report_json_num(o, a->lost_us ? (double)a->lost_us : NAN);
        fputs(", \"refused\": ", o);
        if (a->refused[0])
            report_json_str(o, a->refused);
        else
            fputs("null", o);
        fputc('}', o);
    }
    fputs(r->n_agents ? "\n  ],\n  \"phases\": [" : "],\n  \"phases\": [", o);
    for (size_t i = 0; i < r->n_phases; i++) {
        const struct report_phase *p = &r->phases[i];
        fprintf(o, "%s    {\"index\": %u, \"kind\": ", i ? ",\n" : "\n", p->idx);
        report_json_str(o, p->kind);
        fprintf(o, ", \"line\": %d, \"started_us\": ", p->line);
        report_json_num(o, p->started_us ? (double)p->started_us : NAN);
        fputs(", \"ended_us\": ", o);
        report_json_num(o, p->ended_us ? (double)p->ended_us : NAN);
        fputs(", \"note\": ", o);
        report_json_str(o, p->note);
        fputc('}', o);
    }
    fputs(r->n_phases ? "\n  ],\n  \"failures\": " : "],\n  \"failures\": ", o);
    if (report_json_failures(o, s, r, err, errlen) || report_json_protocols(o, r, err, errlen))
        return -1;
    fputs("\n}\n", o);
    if (ferror(o)) {
        snprintf(err, errlen, "write failed");
        return -1;
    }
    return 0;
}

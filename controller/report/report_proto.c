/* report_proto: what the client protocols of a run were (report_proto.h).
 *
 * The targets are no table of the results database: what each spoke is read
 * from the plan the run stored (runs.plan_text), parsed again as `check` would.
 * The counts are the run's figures: the dialects' counters (proto_duplicates,
 * proto_acks_sent, proto_server_pings, stored only when a target spoke a
 * protocol, run_verdict.c) and the five proto_* failure reasons (stored as
 * reason_proto_* when any connection ended by one). When the stored plan no
 * longer parses (its CSV file moved, a key an older pushstorm had), the
 * counters alone say it was a protocol run, and the reports say that the
 * targets are unknown rather than leave the section out. */
#include "report_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

const char *report_proto_reason(size_t i)
{
    return ps_reason_name(PS_REASON_PROTO_REFUSED + (uint32_t)i);
}

static double report_proto_fig(const struct report_run *r, const char *name, int *found)
{
    double v;
    if (!report_data_fig(r, name, &v))
        return 0;
    *found = 1;
    return v;
}

/* From the stored plan: each target's protocol, push adapter and URL. */
static int report_proto_targets(const struct report_run *r, struct report_proto *p)
{
    struct plan *pl = calloc(1, sizeof *pl);
    char perr[PLAN_ERR_MAX];
    if (!pl)
        return -1;
    int rc = 0;
    if (r->plan_text[0] &&
        plan_parse(r->plan_path, r->plan_text, strlen(r->plan_text), pl, perr, sizeof perr) == 0) {
        p->targets = calloc(pl->n_targets ? pl->n_targets : 1, sizeof *p->targets);
        if (!p->targets) {
            rc = -1;
        } else {
            p->targets_known = 1;
            p->n_targets = pl->n_targets;
            for (uint32_t k = 0; k < pl->n_targets; k++) {
                struct report_proto_target *t = &p->targets[k];
                snprintf(t->protocol, sizeof t->protocol, "%s", ps_protocol_name(pl->targets[k].protocol));
                plan_target_push_scheme(&pl->targets[k], t->push, sizeof t->push);
                snprintf(t->ws, sizeof t->ws, "%s", pl->targets[k].ws);
                p->used |= pl->targets[k].protocol != PS_PROTOCOL_WEBSOCKET;
            }
        }
    }
    free(pl);
    return rc;
}

int report_proto_load(const struct report_run *r, struct report_proto *p, char *err,
                      size_t errlen)
{
    memset(p, 0, sizeof *p);
    int counted = 0;
    p->duplicates = report_proto_fig(r, "proto_duplicates", &counted);
    p->acks_sent = report_proto_fig(r, "proto_acks_sent", &counted);
    p->server_pings = report_proto_fig(r, "proto_server_pings", &counted);
    for (size_t i = 0; i < REPORT_PROTO_REASONS; i++) {
        char name[64];
        int any = 0;
        snprintf(name, sizeof name, "reason_%s", report_proto_reason(i));
        p->reasons[i] = report_proto_fig(r, name, &any);
    }
    if (report_proto_targets(r, p)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!p->targets_known)
        p->used = counted;
    if (!p->used)
        report_proto_free(p);
    return p->used;
}

void report_proto_free(struct report_proto *p)
{
    free(p->targets);
    p->targets = NULL;
}

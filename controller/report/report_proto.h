/* report_proto: the client protocols a run's targets spoke (issue 13), for the
 * report formats' protocol sections (report_proto.c).
 *
 * A run is a protocol run when a target spoke something other than plain
 * WebSocket; every other run's reports carry no protocol section at all, so
 * they read exactly as before issue 13. */
#ifndef PS_REPORT_PROTO_H
#define PS_REPORT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "ps_proto.h"
#include "report_data.h"

#define REPORT_PROTO_REASONS 5   /* proto_refused ... proto_close */

struct report_proto_target {
    char protocol[16];           /* the plan's word: "mqtt" */
    char push[16];               /* its push URL's scheme, the adapter: "http", "mqtt" */
    char ws[PS_URL_MAX];         /* its ws URL template, as the plan wrote it */
};

struct report_proto {
    int      used;               /* 1: a protocol run (the sections are written) */
    int      targets_known;      /* the stored plan parsed again: targets[] filled */
    uint32_t n_targets;
    struct report_proto_target *targets;   /* owned, n_targets */
    double   duplicates, acks_sent, server_pings;   /* the dialects' counters; 0 when not stored */
    double   reasons[REPORT_PROTO_REASONS];         /* failed and closed events of each */
};

/* Fills p from the run's stored plan and figures: 1 for a protocol run (free
 * it with report_proto_free), 0 for any other (nothing to free), -1 with err
 * when out of memory. */
int  report_proto_load(const struct report_run *r, struct report_proto *p, char *err,
                       size_t errlen);
void report_proto_free(struct report_proto *p);
/* The name of reasons[i]: "proto_refused", ... (ps_reason_name's). */
const char *report_proto_reason(size_t i);

#endif

/* plan_bad.h: the table runner of the unit tests for broken plans. Each case
 * must fail with one line starting "file:line:col: key.path: " (where) and
 * containing msg; every case that does not is printed, then the test fails. */
#ifndef TEST_PLAN_BAD_H
#define TEST_PLAN_BAD_H

#include <stdlib.h>
#include <string.h>

#include "plan.h"

/* The smallest valid plan; cases append their keys to it (line 7 on). */
#define BASE \
    "name: t\n" \
    "targets:\n" \
    "  - {ws: \"ws://h:1/ws\", push: \"http://h:2/push\"}\n" \
    "connections: {total: 100}\n" \
    "phases:\n" \
    "  - ramp: {to: 100, rate: 10/s}\n"

struct bad_case {
    const char *what;
    const char *yaml;
    const char *where;           /* exact prefix: file:line:col: key.path: */
    const char *msg;             /* substring of the message */
};

static inline void plan_bad_run(const struct bad_case *cases, size_t n)
{
    struct plan *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        const struct bad_case *bc = &cases[i];
        char err[PLAN_ERR_MAX] = "";
        int rc = plan_parse("t.yaml", bc->yaml, strlen(bc->yaml), p, err, sizeof(err));
        int ok = rc == -1 && !strncmp(err, bc->where, strlen(bc->where)) &&
                 strstr(err, bc->msg) && !strchr(err, '\n');
        if (!ok) {
            print_error("case \"%s\":\n  want %s...%s\n  got  %s (rc %d)\n", bc->what, bc->where,
                        bc->msg, err, rc);
            failed++;
        }
    }
    free(p);
    assert_int_equal(failed, 0);
}

#endif

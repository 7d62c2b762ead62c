/* plan: the public entry points of the plan parser (plan.h).
 *
 * plan_parse() runs the whole: defaults, then yaml_doc turns the text into a
 * node tree that remembers where every node starts, then one walk of that
 * tree through the section tables (plan_sections.c, on the engine of
 * plan_schema.c), then the rules across sections (plan_cross.c). The first
 * error wins and stops everything; the message is always one line naming
 * file:line:col and the key path (docs/plan.md, "Errors").
 *
 * plan_read_file() is the one way a plan file is read, by plan_load() and by
 * the CLI (which keeps the text to store it with the run): one size limit,
 * PLAN_FILE_MAX, and errors that name the file. It reads in growing chunks
 * rather than trusting a size from stat, so a pipe or /dev/stdin works as
 * well as a regular file. */
#include "plan.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan_schema.h"

int plan_parse(const char *path, const char *text, size_t len, struct plan *p, char *err, size_t errlen)
{
    return plan_parse_with_data(path, text, len, NULL, 0, p, err, errlen);
}

int plan_parse_with_data(const char *path, const char *text, size_t len, const char *data,
                         size_t data_len, struct plan *p, char *err, size_t errlen)
{
    struct plan_ctx c = { .file = path, .err = err, .errlen = errlen, .p = p, .last_ramp_index = -1,
                          .data_text = data, .data_len = data_len };
    struct yaml_doc doc;
    struct yaml_doc_error ye;

    memset(p, 0, sizeof(*p));
    snprintf(p->path, sizeof(p->path), "%s", path);
    plan_sections_defaults(p);
    if (err && errlen)
        err[0] = '\0';

    if (yaml_doc_parse(&doc, text, len, &ye) < 0) {
        /* An unquoted ">= 99%" reads as a folded block scalar: say so. */
        const char *hint = strstr(ye.msg, "block scalar") ?
            " (values starting with > or | must be quoted, e.g. \">= 99.9%\")" : "";
        if (err && errlen)
            snprintf(err, errlen, "%s:%d:%d: %s: %s%s", path, ye.line, ye.col,
                     ye.syntax ? "syntax error" : "unsupported YAML", ye.msg, hint);
        return -1;
    }
    int rc;
    if (!doc.root) {
        struct yaml_doc_node top = { .kind = YAML_DOC_SCALAR, .line = 1, .col = 1 };
        rc = plan_fail(&c, &top, PLAN_TOP, "the plan is empty");
    } else {
        rc = plan_sections_walk(&c, doc.root);
        if (rc == 0)
            rc = plan_cross_check(&c);
        if (rc == 0)
            rc = plan_data_check(&c, doc.root);
    }
    yaml_doc_free(&doc);
    return rc;
}

char *plan_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    /* Room for one byte past the limit: reading it is how a longer file shows. */
    size_t cap = 0, n = 0;
    char *buf = NULL;
    while (!feof(f)) {
        if (n == cap) {
            if (cap > PLAN_FILE_MAX) {
                snprintf(err, errlen, "%s: too large for a plan: more than %d bytes", path,
                         PLAN_FILE_MAX);
                goto fail;
            }
            size_t ncap = cap ? cap * 2 : 4096;
            if (ncap > (size_t)PLAN_FILE_MAX + 1)
                ncap = (size_t)PLAN_FILE_MAX + 1;
            char *nb = realloc(buf, ncap + 1);  /* + the NUL */
            if (!nb) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (ferror(f)) {
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
            goto fail;
        }
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

int plan_load(const char *path, struct plan *p, char *err, size_t errlen)
{
    size_t len;
    char *text = plan_read_file(path, &len, err, errlen);
    if (!text)
        return -1;
    int rc = plan_parse(path, text, len, p, err, errlen);
    free(text);
    return rc;
}

int plan_threshold_check(const struct plan_threshold *t, double measured)
{
    if (!t->set)
        return 1;
    if (isnan(measured))
        return 0;                /* nothing measured cannot prove a goal was met */
    /* Inclusive comparisons tolerate rounding: 999/1000 computed two ways may differ in the last bit. */
    double eps = 1e-9 * fmax(1.0, fabs(t->value));
    switch (t->cmp) {
    case PLAN_CMP_GE: return measured >= t->value - eps;
    case PLAN_CMP_GT: return measured > t->value;
    case PLAN_CMP_LE: return measured <= t->value + eps;
    case PLAN_CMP_LT: return measured < t->value;
    case PLAN_CMP_EQ: return fabs(measured - t->value) <= eps;
    }
    return 0;
}

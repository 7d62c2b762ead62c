/* plan_csv: an RFC 4180 reader for the per-connection data file (see plan_csv.h).
 *
 * One pass over the text: fields separated by commas, records by LF or CRLF;
 * a field that starts with a double quote runs to the matching quote, with ""
 * for a quote inside, and may contain commas and line breaks. Values are
 * copied NUL-terminated into one buffer (at most one byte more per value than
 * the text), and a growing offset table points at them, so a file of any row
 * count is three allocations. Every problem names the file and the line:
 * a ragged row, an unterminated quote, junk after a closing quote, a bad
 * column name; blank lines are skipped. Values may not hold NUL or the ASCII
 * unit separator (0x1f), which the wire uses between values. */
#include "plan_csv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_CSV_US 0x1f

struct plan_csv_reader {
    struct plan_csv *c;
    const char *name;
    char *err;
    size_t errlen;
    size_t n_off, cap_off;       /* offsets used / allocated */
    size_t n_rec, cap_rec;       /* records (header included) / line slots allocated */
};

__attribute__((format(printf, 3, 4)))
static int plan_csv_fail(struct plan_csv_reader *r, unsigned line, const char *fmt, ...)
{
    int n = snprintf(r->err, r->errlen, "%s:%u: ", r->name, line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < r->errlen)
        vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    plan_csv_free(r->c);
    return -1;
}

static int plan_csv_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 256;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int plan_csv_name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(*s == '_' || *s == '-' || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
              (*s >= 'A' && *s <= 'Z')))
            return 0;
    return 1;
}

/* The header row just ended: its values become the column names. */
static int plan_csv_header_done(struct plan_csv_reader *r, unsigned line)
{
    struct plan_csv *c = r->c;
    c->n_cols = (uint32_t)r->n_off;
    if (c->n_cols > PLAN_CSV_COLS_MAX)
        return plan_csv_fail(r, line, "%u columns, at most %d", c->n_cols, PLAN_CSV_COLS_MAX);
    for (uint32_t i = 0; i < c->n_cols; i++) {
        const char *h = c->cells + c->off[i];
        if (!plan_csv_name_ok(h) || strlen(h) >= PLAN_CSV_NAME_MAX)
            return plan_csv_fail(r, line, "column %u: name \"%.40s\" is not usable in {csv.NAME} "
                                 "(1-%d letters, digits, '_' or '-')", i + 1, h,
                                 PLAN_CSV_NAME_MAX - 1);
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(h, c->cells + c->off[j]))
                return plan_csv_fail(r, line, "column \"%s\" appears twice in the header", h);
    }
    return 0;
}

/* A record ended at line `line` (it started at `start`) with `fields` values. */
static int plan_csv_record(struct plan_csv_reader *r, unsigned start, size_t fields)
{
    struct plan_csv *c = r->c;
    if (r->n_rec == 0)
        return r->n_rec++, plan_csv_header_done(r, start);
    if (fields != c->n_cols)
        return plan_csv_fail(r, start, "row %zu has %zu field%s, the header has %u", r->n_rec,
                             fields, fields == 1 ? "" : "s", c->n_cols);
    if (plan_csv_grow((void **)&c->line, &r->cap_rec, r->n_rec, sizeof *c->line))
        return plan_csv_fail(r, start, "out of memory");
    c->line[r->n_rec - 1] = start;
    c->n_rows = (uint32_t)r->n_rec++;
    return 0;
}

int plan_csv_parse(struct plan_csv *c, const char *name, const char *text, size_t len, char *err,
                   size_t errlen)
{
    memset(c, 0, sizeof *c);
    struct plan_csv_reader r = {.c = c, .name = name, .err = err, .errlen = errlen};
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) {    /* a UTF-8 byte order mark */
        text += 3;
        len -= 3;
    }
    if (len > PLAN_CSV_FILE_MAX)
        return plan_csv_fail(&r, 1, "%zu bytes, at most %u", len, PLAN_CSV_FILE_MAX);
    c->cells = malloc(2 * len + 1);
    if (!c->cells)
        return plan_csv_fail(&r, 1, "out of memory");
    unsigned line = 1, rec_line = 1;
    size_t i = 0, fields = 0, o = 0;
    while (i < len) {
        if (fields == 0 && (text[i] == '\n' || (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n'))) {
            i += text[i] == '\r' ? 2 : 1;          /* blank line */
            rec_line = ++line;
            continue;
        }
        /* one field */
        size_t start = o;
        unsigned field_line = line;
        if (text[i] == '"') {
            i++;
            for (;;) {
                if (i >= len)
                    return plan_csv_fail(&r, field_line, "quoted field never ends (missing \")");
                if (text[i] == '"') {
                    if (i + 1 < len && text[i + 1] == '"') {
                        c->cells[o++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (text[i] == '\n')
                    line++;
                c->cells[o++] = text[i++];
            }
            if (i < len && text[i] != ',' && text[i] != '\n' &&
                !(text[i] == '\r' && i + 1 < len && text[i + 1] == '\n'))
                return plan_csv_fail(&r, line, "unexpected '%c' after a closing quote (a quote "
                                     "inside a field is written \"\")", text[i]);
        } else {
            while (i < len && text[i] != ',' && text[i] != '\n' &&
                   !(text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')) {
                if (text[i] == '"')
                    return plan_csv_fail(&r, line, "a quote inside an unquoted field (quote the "
                                         "whole field and write \"\")");
                c->cells[o++] = text[i++];
            }
        }
        if (memchr(c->cells + start, 0, o - start) || memchr(c->cells + start, PLAN_CSV_US, o - start))
            return plan_csv_fail(&r, field_line, "a value holds a NUL or 0x1f byte");
        if (o - start >= PLAN_CSV_CELL_MAX)
            return plan_csv_fail(&r, field_line, "a value of %zu bytes, at most %d", o - start,
                                 PLAN_CSV_CELL_MAX - 1);
        c->cells[o++] = 0;
        if (plan_csv_grow((void **)&c->off, &r.cap_off, r.n_off + 1, sizeof *c->off))
            return plan_csv_fail(&r, field_line, "out of memory");
        c->off[r.n_off++] = (uint32_t)start;
        fields++;
        if (i < len && text[i] == ',') {
            i++;
            if (i < len)
                continue;   /* after "a,\n" the next round reads the empty last field */
            if (plan_csv_grow((void **)&c->off, &r.cap_off, r.n_off + 1, sizeof *c->off))
                return plan_csv_fail(&r, field_line, "out of memory");
            c->cells[o] = 0;
            c->off[r.n_off++] = (uint32_t)o++;   /* the text ends in a comma: one more, empty */
            fields++;
        }
        /* end of record: newline or end of text */
        if (i < len)
            i += text[i] == '\r' ? 2 : 1;
        if (plan_csv_record(&r, rec_line, fields))
            return -1;
        fields = 0;
        rec_line = ++line;
    }
    if (r.n_rec == 0)
        return plan_csv_fail(&r, 1, "empty: no header row");
    c->cells_len = o;
    return 0;
}

int plan_csv_load(struct plan_csv *c, const char *path, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            snprintf(err, errlen, "%s: out of memory", path);
            fclose(f);
            return -1;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || n > PLAN_CSV_FILE_MAX + 3)
            break;
        char *more = realloc(buf, cap * 2);
        if (!more)
            free(buf);
        buf = more;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "%s: read error", path);
        free(buf);
        return -1;
    }
    int rc = plan_csv_parse(c, path, buf, n, err, errlen);
    free(buf);
    return rc;
}

void plan_csv_free(struct plan_csv *c)
{
    free(c->cells);
    free(c->off);
    free(c->line);
    memset(c, 0, sizeof *c);
}

int plan_csv_col(const struct plan_csv *c, const char *name, size_t nlen)
{
    for (uint32_t i = 0; i < c->n_cols; i++) {
        const char *h = c->cells + c->off[i];
        if (strlen(h) == nlen && !memcmp(h, name, nlen))
            return (int)i;
    }
    return -1;
}

const char *plan_csv_header(const struct plan_csv *c, uint32_t col)
{
    return c->cells + c->off[col];
}

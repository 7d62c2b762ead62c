/* plan_schema: the table-driven engine under the plan parser.
 *
 * Why a table per map: a plan is a handful of nested YAML maps, and each needs
 * the same strictness (unknown keys listed with a "did you mean", duplicates,
 * required keys) and the same error form. Writing those rules once, here, lets
 * plan_sections.c describe each map as data: struct plan_field names a key, the
 * value parser for it (plan_values.c) and where the result goes.
 *
 * How: plan_map() walks a map in document order, so the first mistake in the
 * file is the one reported; it looks each key up in the table, remembers the
 * key and value nodes in the table entry (for later rules that need to point
 * back at them), and calls the value parser, which writes straight into the
 * struct plan. A value parser may itself call plan_map() on a nested map.
 *
 * Every error goes through plan_fail(): one line "file:line:col: key.path:
 * message", keys and values echoed printable and bounded, so a hostile plan
 * cannot smuggle line breaks or megabytes into a terminal or a log. */
#include "plan_schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ messages */

/* Printable, single-line, bounded copy of s (for keys in paths and values in messages). */
static void plan_echo(char *out, size_t outlen, const char *s, size_t max)
{
    size_t o = 0, n = strlen(s);
    int cut = n > max;
    if (cut)
        n = max;
    size_t room = outlen - 1 - (cut ? 3 : 0);     /* callers pass outlen >= max + 4 */
    for (size_t i = 0; i < n && o < room; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    if (cut) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Describes a node for "got ..." : a map, a list, nothing, or the quoted string. */
const char *plan_got(const struct yaml_doc_node *v, char *buf, size_t len)
{
    if (v->kind != YAML_DOC_SCALAR || yaml_doc_is_null(v))
        return yaml_doc_kind_name(v);
    char e[PLAN_VAL_ECHO_MAX + 4];
    plan_echo(e, sizeof(e), v->value, PLAN_VAL_ECHO_MAX);
    snprintf(buf, len, "\"%s\"", e);
    return buf;
}

__attribute__((format(printf, 4, 5)))
int plan_fail(struct plan_ctx *c, const struct yaml_doc_node *at, const char *path,
              const char *fmt, ...)
{
    char msg[PLAN_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* A message may quote the plan's own text: it stays one line, whatever that text holds. */
    for (char *q = msg; *q; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f)
            *q = '?';
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s:%d:%d: %s: %s", c->file, at->line, at->col, path, msg);
    return -1;
}

void plan_path_key(char *out, const char *parent, const char *key)
{
    char k[PLAN_KEY_ECHO_MAX + 4];
    plan_echo(k, sizeof(k), key, PLAN_KEY_ECHO_MAX);
    if (!strcmp(parent, PLAN_TOP))
        snprintf(out, PLAN_PATH_MAX, "%s", k);
    else
        snprintf(out, PLAN_PATH_MAX, "%s.%s", parent, k);
}

void plan_path_index(char *out, const char *parent, size_t i)
{
    snprintf(out, PLAN_PATH_MAX, "%s[%zu]", parent, i);
}

/* ------------------------------------------------------------ node kinds */

int plan_want_map(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                  const char *what)
{
    if (v->kind == YAML_DOC_MAP)
        return 0;
    char g[PLAN_GOT_MAX];
    return plan_fail(c, v, path, "expected %s, got %s", what, plan_got(v, g, sizeof(g)));
}

int plan_want_list(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                   const char *what)
{
    if (v->kind == YAML_DOC_SEQ)
        return 0;
    char g[PLAN_GOT_MAX];
    return plan_fail(c, v, path, "expected %s, got %s", what, plan_got(v, g, sizeof(g)));
}

/* The text of a non-empty scalar, or NULL after an error saying `what` was expected. */
const char *plan_scalar(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                        const char *what)
{
    if (v->kind == YAML_DOC_SCALAR && !yaml_doc_is_null(v))
        return v->value;
    char g[PLAN_GOT_MAX];
    plan_fail(c, v, path, "expected %s, got %s", what, plan_got(v, g, sizeof(g)));
    return NULL;
}

/* ------------------------------------------------------------ maps */

/* Edit distance with adjacent transpositions, to suggest a key for a typo (long keys never match). */
int plan_typo_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int d[PLAN_KEY_ECHO_MAX + 1][PLAN_KEY_ECHO_MAX + 1];
    if (la > PLAN_KEY_ECHO_MAX || lb > PLAN_KEY_ECHO_MAX)
        return 99;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/* Applies a field table to map m: doc-order parsing, unknown/duplicate/missing keys. */
int plan_map(struct plan_ctx *c, const struct yaml_doc_node *m, const char *path,
             struct plan_field *f, size_t nf, const char *what)
{
    if (plan_want_map(c, m, path, what) < 0)
        return -1;
    for (size_t i = 0; i < m->n; i++) {
        const struct yaml_doc_node *k = yaml_doc_key(m, i), *v = yaml_doc_val(m, i);
        char kpath[PLAN_PATH_MAX];
        if (k->kind != YAML_DOC_SCALAR || yaml_doc_is_null(k)) {
            char g[PLAN_GOT_MAX];
            return plan_fail(c, k, path, "keys must be names, got %s", plan_got(k, g, sizeof(g)));
        }
        plan_path_key(kpath, path, k->value);
        struct plan_field *hit = NULL;
        for (size_t j = 0; j < nf; j++)
            if (!strcmp(f[j].key, k->value))
                hit = &f[j];
        if (!hit) {
            char allowed[PLAN_ERR_MAX / 2], kq[PLAN_KEY_ECHO_MAX + 4], hint[PLAN_KEY_ECHO_MAX + 24] = "";
            size_t o = 0;
            int best = 3;        /* suggest only near misses */
            allowed[0] = '\0';
            for (size_t j = 0; j < nf && o < sizeof(allowed); j++) {
                o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s%s", j ? ", " : "", f[j].key);
                int dist = plan_typo_distance(k->value, f[j].key);
                if (dist < best) {
                    best = dist;
                    snprintf(hint, sizeof(hint), "; did you mean \"%s\"?", f[j].key);
                }
            }
            plan_echo(kq, sizeof(kq), k->value, PLAN_KEY_ECHO_MAX);
            return plan_fail(c, k, kpath, "unknown key \"%s\"%s (allowed: %s)", kq, hint, allowed);
        }
        if (hit->key_node)
            return plan_fail(c, k, kpath, "duplicate key (first given at %d:%d)",
                             hit->key_node->line, hit->key_node->col);
        hit->key_node = k;
        hit->node = v;
        if (hit->fn(c, v, kpath, hit) < 0)
            return -1;
    }
    for (size_t j = 0; j < nf; j++)
        if ((f[j].flags & PLAN_F_REQUIRED) && !f[j].node)
            return plan_fail(c, m, path, "missing required key \"%s\"", f[j].key);
    return 0;
}

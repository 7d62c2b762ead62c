/* yaml_doc: build a positioned node tree from libyaml's event stream.
 *
 * How it works: yaml_doc_parse() pulls events from a libyaml parser and builds
 * the tree by recursive descent, one C call level per YAML nesting level (bounded
 * by YAML_DOC_MAX_DEPTH so hostile input cannot exhaust the stack). Each node
 * takes its position from its start event's start_mark, converted to 1-based.
 * Every event is deleted by the function that pulled it; on error, the node under
 * construction frees its finished children before returning, so nothing leaks
 * and the caller sees an empty document.
 *
 * libyaml reports errors as a problem string, a mark, and sometimes a context
 * ("while parsing a block mapping") with its own mark; both are folded into one
 * message. Reader errors (bad UTF-8) carry only a byte offset, which is turned
 * into a line and column by counting newlines in the input. */
#include "yaml_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static void yaml_doc_seterr(struct yaml_doc_error *e, int line, int col, const char *fmt, const char *a)
{
    e->line = line;
    e->col = col;
    e->syntax = 0;
    snprintf(e->msg, sizeof(e->msg), fmt, a ? a : "");
}

/* Line/column of a byte offset, for reader errors that carry no mark. */
static void yaml_doc_offset_pos(const char *text, size_t len, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            c++;                 /* count characters, not UTF-8 continuation bytes */
        }
    }
    *line = l;
    *col = c;
}

struct yaml_doc_parser {
    yaml_parser_t yp;
    const char *text;
    size_t len;
    struct yaml_doc_error *e;
};

static int yaml_doc_next(struct yaml_doc_parser *ps, yaml_event_t *ev)
{
    if (yaml_parser_parse(&ps->yp, ev))
        return 0;
    const yaml_parser_t *yp = &ps->yp;
    struct yaml_doc_error *e = ps->e;
    const char *problem = yp->problem ? yp->problem : "unknown error";
    e->syntax = 1;
    switch (yp->error) {
    case YAML_MEMORY_ERROR:
        yaml_doc_seterr(e, 1, 1, "out of memory%s", NULL);
        e->syntax = 1;
        break;
    case YAML_READER_ERROR: {
        int line, col;
        yaml_doc_offset_pos(ps->text, ps->len, yp->problem_offset, &line, &col);
        e->line = line;
        e->col = col;
        snprintf(e->msg, sizeof(e->msg), "%s (byte 0x%02x at offset %zu)", problem,
                 (unsigned)(yp->problem_value & 0xff), yp->problem_offset);
        break;
    }
    default:
        e->line = (int)yp->problem_mark.line + 1;
        e->col = (int)yp->problem_mark.column + 1;
        if (yp->context)
            snprintf(e->msg, sizeof(e->msg), "%s (%s at %d:%d)", problem, yp->context,
                     (int)yp->context_mark.line + 1, (int)yp->context_mark.column + 1);
        else
            snprintf(e->msg, sizeof(e->msg), "%s", problem);
        break;
    }
    return -1;
}

static void yaml_doc_node_free(struct yaml_doc_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nslots; i++)
        yaml_doc_node_free(n->items[i]);
    free(n->items);
    free(n->value);
    free(n);
}

static int yaml_doc_append(struct yaml_doc_node *n, struct yaml_doc_node *child)
{
    if (n->nslots == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 8;
        struct yaml_doc_node **items = realloc(n->items, cap * sizeof(*items));
        if (!items)
            return -1;
        n->items = items;
        n->cap = cap;
    }
    n->items[n->nslots++] = child;
    n->n = n->kind == YAML_DOC_MAP ? n->nslots / 2 : n->nslots;
    return 0;
}

static int yaml_doc_build(struct yaml_doc_parser *ps, yaml_event_t *ev, int depth,
                          struct yaml_doc_node **out);

/* Children of a map or list until its end event; keys and values alternate for maps. */
static int yaml_doc_build_children(struct yaml_doc_parser *ps, struct yaml_doc_node *n,
                                   yaml_event_type_t end, int depth)
{
    for (;;) {
        yaml_event_t ev;
        if (yaml_doc_next(ps, &ev) < 0)
            return -1;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            break;
        }
        struct yaml_doc_node *child;
        if (yaml_doc_build(ps, &ev, depth + 1, &child) < 0)
            return -1;
        if (yaml_doc_append(n, child) < 0) {
            yaml_doc_seterr(ps->e, child->line, child->col, "out of memory%s", NULL);
            yaml_doc_node_free(child);
            return -1;
        }
    }
    return 0;
}

/* Builds the node that starts with *ev, consuming (and deleting) ev. */
static int yaml_doc_build(struct yaml_doc_parser *ps, yaml_event_t *ev, int depth,
                          struct yaml_doc_node **out)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    const yaml_char_t *anchor = NULL;
    *out = NULL;

    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        yaml_doc_seterr(ps->e, line, col,
                        "aliases (*%s) are not supported; write the value out in full",
                        (const char *)ev->data.alias.anchor);
        yaml_event_delete(ev);
        return -1;
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        break;
    default:
        yaml_doc_seterr(ps->e, line, col, "unexpected YAML event%s", NULL);
        yaml_event_delete(ev);
        return -1;
    }
    if (anchor) {
        yaml_doc_seterr(ps->e, line, col,
                        "anchors (&%s) are not supported; write each value out in full",
                        (const char *)anchor);
        yaml_event_delete(ev);
        return -1;
    }
    if (depth > YAML_DOC_MAX_DEPTH) {
        yaml_doc_seterr(ps->e, line, col, "nested too deeply (more than 64 levels)%s", NULL);
        yaml_event_delete(ev);
        return -1;
    }

    struct yaml_doc_node *n = calloc(1, sizeof(*n));
    if (!n) {
        yaml_doc_seterr(ps->e, line, col, "out of memory%s", NULL);
        yaml_event_delete(ev);
        return -1;
    }
    n->line = line;
    n->col = col;

    int rc = 0;
    if (ev->type == YAML_SCALAR_EVENT) {
        n->kind = YAML_DOC_SCALAR;
        n->len = ev->data.scalar.length;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (memchr(ev->data.scalar.value, '\0', n->len)) {
            yaml_doc_seterr(ps->e, line, col, "strings may not contain NUL characters%s", NULL);
            rc = -1;
        } else if (!(n->value = malloc(n->len + 1))) {
            yaml_doc_seterr(ps->e, line, col, "out of memory%s", NULL);
            rc = -1;
        } else {
            memcpy(n->value, ev->data.scalar.value, n->len);
            n->value[n->len] = '\0';
        }
        yaml_event_delete(ev);
    } else {
        yaml_event_type_t end;
        if (ev->type == YAML_MAPPING_START_EVENT) {
            n->kind = YAML_DOC_MAP;
            end = YAML_MAPPING_END_EVENT;
        } else {
            n->kind = YAML_DOC_SEQ;
            end = YAML_SEQUENCE_END_EVENT;
        }
        yaml_event_delete(ev);
        rc = yaml_doc_build_children(ps, n, end, depth);
    }
    if (rc < 0) {
        yaml_doc_node_free(n);
        return -1;
    }
    *out = n;
    return 0;
}

/* Pulls one event and checks it is of the expected type (stream framing). */
static int yaml_doc_expect(struct yaml_doc_parser *ps, yaml_event_t *ev, yaml_event_type_t type)
{
    if (yaml_doc_next(ps, ev) < 0)
        return -1;
    if (ev->type == type)
        return 0;
    yaml_doc_seterr(ps->e, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                    "unexpected YAML event%s", NULL);
    yaml_event_delete(ev);
    return -1;
}

static int yaml_doc_stream(struct yaml_doc_parser *ps, struct yaml_doc *d)
{
    yaml_event_t ev;
    if (yaml_doc_expect(ps, &ev, YAML_STREAM_START_EVENT) < 0)
        return -1;
    yaml_event_delete(&ev);

    if (yaml_doc_next(ps, &ev) < 0)
        return -1;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return 0;                /* empty stream: root stays NULL */
    }
    if (ev.type != YAML_DOCUMENT_START_EVENT) {
        yaml_doc_seterr(ps->e, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                        "unexpected YAML event%s", NULL);
        yaml_event_delete(&ev);
        return -1;
    }
    yaml_event_delete(&ev);

    if (yaml_doc_next(ps, &ev) < 0)
        return -1;
    if (yaml_doc_build(ps, &ev, 1, &d->root) < 0)
        return -1;
    if (yaml_doc_expect(ps, &ev, YAML_DOCUMENT_END_EVENT) < 0)
        return -1;
    yaml_event_delete(&ev);

    if (yaml_doc_next(ps, &ev) < 0)
        return -1;
    int rc = 0;
    if (ev.type != YAML_STREAM_END_EVENT) {
        yaml_doc_seterr(ps->e, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                        "only one YAML document is allowed per file (found a second one)%s", NULL);
        rc = -1;
    }
    yaml_event_delete(&ev);
    return rc;
}

int yaml_doc_parse(struct yaml_doc *d, const char *text, size_t len, struct yaml_doc_error *e)
{
    struct yaml_doc_parser ps = { .text = text, .len = len, .e = e };
    d->root = NULL;
    e->line = e->col = 0;
    e->msg[0] = '\0';
    if (!yaml_parser_initialize(&ps.yp)) {
        yaml_doc_seterr(e, 1, 1, "out of memory%s", NULL);
        return -1;
    }
    yaml_parser_set_input_string(&ps.yp, (const unsigned char *)text, len);
    int rc = yaml_doc_stream(&ps, d);
    yaml_parser_delete(&ps.yp);
    if (rc < 0)
        yaml_doc_free(d);
    return rc;
}

void yaml_doc_free(struct yaml_doc *d)
{
    yaml_doc_node_free(d->root);
    d->root = NULL;
}

int yaml_doc_is_null(const struct yaml_doc_node *n)
{
    if (n->kind != YAML_DOC_SCALAR || !n->plain)
        return 0;
    return n->len == 0 || !strcmp(n->value, "~") || !strcmp(n->value, "null") ||
           !strcmp(n->value, "Null") || !strcmp(n->value, "NULL");
}

const char *yaml_doc_kind_name(const struct yaml_doc_node *n)
{
    if (n->kind == YAML_DOC_MAP)
        return "a map";
    if (n->kind == YAML_DOC_SEQ)
        return "a list";
    return yaml_doc_is_null(n) ? "nothing" : "a string";
}

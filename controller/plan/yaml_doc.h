/* yaml_doc: a small YAML node tree with source positions.
 *
 * libyaml's own document loader drops marks from the nodes it builds, and the
 * plan validator needs the line and column of every key and value to point at
 * mistakes. So this builds a minimal tree (scalars, maps, lists) from libyaml's
 * event parser, keeping the 1-based line/column of each node's first character.
 *
 * Deliberately narrow: one document per stream, no anchors or aliases (rejected
 * with a message saying so), tags ignored, scalars kept as text (the caller
 * decides what a scalar means). Scalars containing NUL bytes are rejected so
 * every value is a plain C string. */
#ifndef PS_YAML_DOC_H
#define PS_YAML_DOC_H

#include <stddef.h>

#define YAML_DOC_MAX_DEPTH 64     /* nesting limit; a plan needs about 5 */
#define YAML_DOC_ERR_MAX   256

enum yaml_doc_kind { YAML_DOC_SCALAR = 1, YAML_DOC_MAP, YAML_DOC_SEQ };

struct yaml_doc_node {
    enum yaml_doc_kind kind;
    int line, col;               /* 1-based, of the node's first character */
    /* scalar */
    char *value;                 /* NUL-terminated, owned by the node */
    size_t len;
    int plain;                   /* written without quotes or block style */
    /* map: keys at items[2i], values at items[2i+1]; list: items[i] */
    struct yaml_doc_node **items;
    size_t n;                    /* entries: pairs for a map, items for a list */
    size_t nslots, cap;          /* used and allocated slots in items (internal) */
};

struct yaml_doc_error {
    int line, col;               /* 1-based; where libyaml (or we) stopped */
    int syntax;                  /* 1: libyaml rejected the text; 0: valid YAML we do not support */
    char msg[YAML_DOC_ERR_MAX];
};

struct yaml_doc {
    struct yaml_doc_node *root;  /* NULL for an empty stream */
};

/* Parses text into d. Returns 0, or -1 with e filled; d is empty on error. */
int yaml_doc_parse(struct yaml_doc *d, const char *text, size_t len, struct yaml_doc_error *e);
void yaml_doc_free(struct yaml_doc *d);

/* A plain empty scalar, "~" or "null": the YAML ways of writing nothing. */
int yaml_doc_is_null(const struct yaml_doc_node *n);
/* Map accessors; i < n. */
static inline const struct yaml_doc_node *yaml_doc_key(const struct yaml_doc_node *m, size_t i)
{ return m->items[2 * i]; }
static inline const struct yaml_doc_node *yaml_doc_val(const struct yaml_doc_node *m, size_t i)
{ return m->items[2 * i + 1]; }
/* "a map", "a list", "nothing" or "a string": for "expected X, got Y" messages. */
const char *yaml_doc_kind_name(const struct yaml_doc_node *n);

#endif

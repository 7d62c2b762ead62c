/* ps_tpl: expansion of {name} placeholders in URL, header and body templates.
 *
 * Templates are expanded per connection and per message, so expansion writes
 * into a caller-owned buffer and allocates nothing. Unknown placeholders are
 * left as written (a body may legitimately contain braces: JSON). */
#ifndef PS_TPL_H
#define PS_TPL_H

#include <stddef.h>

struct ps_tpl_var {
    const char *name;            /* without braces, e.g. "conn" */
    const char *value;
};

/* Placeholders looked up by a function rather than listed: per-connection data
 * ({csv.COL}), captured session variables. get() is asked about a placeholder
 * none of the listed vars matched, name[0..len) without the braces; it returns
 * 1 with the value in *val (*vlen bytes), 0 when the name is not its own (the
 * placeholder stays as written), or -1 when it is but has no value to give
 * (the expansion fails). */
struct ps_tpl_source {
    int (*get)(void *ctx, const char *name, size_t len, const char **val, size_t *vlen);
    void *ctx;
};

/* Returns the expanded length, or -1 if it does not fit in len (incl. NUL). */
int ps_tpl_expand(char *dst, size_t len, const char *tpl, const struct ps_tpl_var *vars,
                  size_t n_vars);
/* The same with a source for the placeholders the vars do not name (src may be NULL). */
int ps_tpl_expand_src(char *dst, size_t len, const char *tpl, const struct ps_tpl_var *vars,
                      size_t n_vars, const struct ps_tpl_source *src);

#endif

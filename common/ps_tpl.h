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

/* Returns the expanded length, or -1 if it does not fit in len (incl. NUL). */
int ps_tpl_expand(char *dst, size_t len, const char *tpl, const struct ps_tpl_var *vars,
                  size_t n_vars);

#endif

/* ps_tpl: placeholder expansion (see ps_tpl.h). One pass over the template;
 * each '{' is checked against the (few) variable names, then offered to the
 * source, if any. */
#include "ps_tpl.h"

#include <string.h>

#define PS_TPL_NAME_MAX 64   /* a source is not asked about longer "{...}" runs (JSON bodies) */

int ps_tpl_expand(char *dst, size_t len, const char *tpl, const struct ps_tpl_var *vars,
                  size_t n_vars)
{
    return ps_tpl_expand_src(dst, len, tpl, vars, n_vars, NULL);
}

int ps_tpl_expand_src(char *dst, size_t len, const char *tpl, const struct ps_tpl_var *vars,
                      size_t n_vars, const struct ps_tpl_source *src)
{
    size_t o = 0;
    for (const char *p = tpl; *p;) {
        const char *piece = p;
        size_t piece_len = 1;
        if (*p == '{') {
            for (size_t i = 0; i < n_vars; i++) {
                size_t nl = strlen(vars[i].name);
                if (strncmp(p + 1, vars[i].name, nl) == 0 && p[1 + nl] == '}') {
                    piece = vars[i].value;
                    piece_len = strlen(vars[i].value);
                    p += nl + 2;
                    goto copy;
                }
            }
            size_t nl = 0;
            while (src && nl < PS_TPL_NAME_MAX && p[1 + nl] && p[1 + nl] != '{' &&
                   p[1 + nl] != '}' && p[1 + nl] != '"')
                nl++;
            if (src && nl && p[1 + nl] == '}') {
                int got = src->get(src->ctx, p + 1, nl, &piece, &piece_len);
                if (got < 0)
                    return -1;
                if (got > 0) {
                    p += nl + 2;
                    goto copy;
                }
                piece = p;
                piece_len = 1;
            }
        }
        p++;
    copy:
        if (o + piece_len >= len)
            return -1;
        memcpy(dst + o, piece, piece_len);
        o += piece_len;
    }
    if (o >= len)
        return -1;
    dst[o] = 0;
    return (int)o;
}

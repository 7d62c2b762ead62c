/* ps_ratelog: see ps_ratelog.h. */
#include "ps_ratelog.h"

#include <inttypes.h>
#include <stdarg.h>

void ps_ratelog(struct ps_ratelog *rl, int64_t now_us, FILE *f, const char *fmt, ...)
{
    rl->total++;
    if (!rl->window_us || now_us - rl->window_us >= PS_RATELOG_WINDOW_US) {
        rl->window_us = now_us;
        rl->n = 0;
    }
    if (rl->n >= PS_RATELOG_BURST) {
        rl->suppressed++;
        return;
    }
    rl->n++;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    if (rl->suppressed)
        fprintf(f, "  (%" PRIu64 " more like it were not printed)\n", rl->suppressed);
    rl->suppressed = 0;
    fflush(f);
}

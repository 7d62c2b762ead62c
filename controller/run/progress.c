/* progress.c: plain per-second lines, or one live status area on a TTY.
 *
 * The live area is redrawn with two escape sequences only (cursor up N lines,
 * erase to the end of the screen), which every terminal emulator in use
 * understands, so no terminal library is needed. An event line first erases
 * the area, prints itself, and redraws the area below it: events scroll, the
 * status stays at the bottom. */
#include "progress.h"

#include <stdarg.h>
#include <string.h>

#include "ps_units.h"

#define PROGRESS_BAR 30

void progress_init(struct progress *p, FILE *out, int tty, int quiet)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = tty;
    p->quiet = quiet;
}

static void progress_erase(struct progress *p)
{
    if (p->tty && p->drawn) {
        fprintf(p->out, "\033[%dA\033[J", p->drawn);
        p->drawn = 0;
    }
}

static int progress_failures(const struct progress_view *v, char *buf, size_t len)
{
    /* the reasons worth showing while running: everything but our own closes */
    size_t used = 0;
    int n = 0;
    buf[0] = 0;
    for (uint32_t r = 1; r < PS_REASON_COUNT && v->reasons; r++) {
        if (!v->reasons[r] || r == PS_REASON_CLIENT_CLOSE)
            continue;
        int k = snprintf(buf + used, len - used, "%s%s %llu", n++ ? ", " : "", ps_reason_name(r),
                         (unsigned long long)v->reasons[r]);
        if (k < 0 || (size_t)k >= len - used)
            break;
        used += (size_t)k;
    }
    return n;
}

static void progress_draw(struct progress *p, const struct progress_view *v)
{
    char p50[16], p99[16], a[32], b[32], fails[256];
    double frac = v->target ? (double)v->connected / (double)v->target : 0;
    if (frac > 1)
        frac = 1;
    int fill = (int)(frac * PROGRESS_BAR + 0.5);
    char bar[PROGRESS_BAR + 1];
    for (int i = 0; i < PROGRESS_BAR; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[PROGRESS_BAR] = 0;
    int lines = 0;
    if (v->phase_idx)
        fprintf(p->out, "phase %u/%u %-14s %8.1fs\n", v->phase_idx, v->n_phases, v->phase,
                v->elapsed_s);
    else
        fprintf(p->out, "%-24s %8.1fs\n", v->phase, v->elapsed_s);
    lines++;
    fprintf(p->out, "connected  [%s] %s / %s  %5.1f%%  +%llu/s\n", bar,
            ps_units_fmt_count((double)v->connected, a, sizeof a),
            ps_units_fmt_count((double)v->target, b, sizeof b), frac * 100,
            (unsigned long long)v->conn_rate);
    lines++;
    int nf = progress_failures(v, fails, sizeof fails);
    fprintf(p->out, "failures   %llu%s%s%s\n", (unsigned long long)v->failed, nf ? "  (" : "",
            fails, nf ? ")" : "");
    lines++;
    fprintf(p->out, "messages   push %llu/s  recv %llu/s  latency p50 %s  p99 %s\n",
            (unsigned long long)v->push_rate, (unsigned long long)v->recv_rate,
            v->lat_p50_us ? ps_units_fmt_duration(v->lat_p50_us, p50, sizeof p50) : "-",
            v->lat_p99_us ? ps_units_fmt_duration(v->lat_p99_us, p99, sizeof p99) : "-");
    lines++;
    /* each agent judges its own lag against its --lag-threshold (the saturated flag) */
    if (v->saturated)
        fprintf(p->out, "agents     %u/%u  WARNING: %u agent%s saturated (event loop lag %s past "
                "--lag-threshold)\n", v->agents_live, v->agents_joined, v->saturated,
                v->saturated > 1 ? "s" : "", ps_units_fmt_duration(v->lag_max_us, p50, sizeof p50));
    else
        fprintf(p->out, "agents     %u/%u\n", v->agents_live, v->agents_joined);
    lines++;
    if (v->servers && v->servers[0]) {
        fprintf(p->out, "servers   %s\n", v->servers);
        lines++;
    }
    p->drawn = lines;
}

void progress_say(struct progress *p, const char *fmt, ...)
{
    if (p->quiet)
        return;
    progress_erase(p);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    if (p->tty && p->have_last)
        progress_draw(p, &p->last);
    fflush(p->out);
}

void progress_status(struct progress *p, const struct progress_view *v)
{
    if (p->quiet)
        return;
    if (p->tty) {
        /* keep copies: the view's strings and counters belong to the caller */
        p->last = *v;
        snprintf(p->servers, sizeof p->servers, "%s", v->servers ? v->servers : "");
        p->last.servers = p->servers;
        if (v->reasons)
            memcpy(p->reasons, v->reasons, sizeof p->reasons);
        p->last.reasons = p->reasons;
        p->have_last = 1;
        progress_erase(p);
        progress_draw(p, &p->last);
        fflush(p->out);
        return;
    }
    char p50[16], p99[16];
    fprintf(p->out, "[%6.1fs] %-10s conn %llu/%llu (+%llu/s) fail %llu  push %llu/s recv %llu/s"
            "  lat p50 %s p99 %s  agents %u/%u%s%s\n",
            v->elapsed_s, v->phase, (unsigned long long)v->connected,
            (unsigned long long)v->target, (unsigned long long)v->conn_rate,
            (unsigned long long)v->failed, (unsigned long long)v->push_rate,
            (unsigned long long)v->recv_rate,
            v->lat_p50_us ? ps_units_fmt_duration(v->lat_p50_us, p50, sizeof p50) : "-",
            v->lat_p99_us ? ps_units_fmt_duration(v->lat_p99_us, p99, sizeof p99) : "-",
            v->agents_live, v->agents_joined, v->saturated ? "  AGENT SATURATED" : "",
            v->servers ? v->servers : "");
    fflush(p->out);
}

void progress_done(struct progress *p)
{
    /* the last live area stays as the run's final picture; output continues below */
    p->drawn = 0;
    p->have_last = 0;
    fflush(p->out);
}

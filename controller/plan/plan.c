/* plan: parse and validate a campaign plan (YAML) into struct plan.
 *
 * How it works: yaml_doc turns the text into a node tree that remembers where
 * every node starts. The validator walks that tree once, in document order, with
 * one small table per YAML map (struct plan_field): the keys allowed there, a
 * value parser for each, and where the result goes. plan_map() applies a table:
 * it rejects unknown keys (listing the allowed ones), duplicate keys and missing
 * required keys, and calls each value parser, which writes straight into the
 * struct plan. Sections (targets, phases, ...) are themselves value parsers, so
 * nesting is just tables calling plan_map() again.
 *
 * Every error names file:line:col and the key path of the node at that
 * position ("phases[2].push.rate"; list indexes are 0-based) and stops the
 * walk: the first error wins. Checks that span sections (a ramp's "to" against
 * connections.total, which may be written after the phases) run in a final pass
 * over nodes remembered during the walk, so they still point at the right spot.
 *
 * Defaults are set before the walk and overwritten by whatever is written; the
 * only derived defaults (broadcast URL, ramp timeout, app heartbeat interval)
 * are computed once their inputs are known. */
#include "plan.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "ps_units.h"
#include "yaml_doc.h"

#define PLAN_PATH_MAX      256
#define PLAN_KEY_ECHO_MAX  48      /* bytes of a key kept in a path or message */
#define PLAN_VAL_ECHO_MAX  40      /* bytes of a value quoted back in a message */
#define PLAN_GOT_MAX       (PLAN_VAL_ECHO_MAX + 16)
#define PLAN_FILE_MAX      (1 << 20)
#define PLAN_CONCURRENCY_MAX 1024  /* the pusher's in-flight limit */
#define PLAN_TOP           "(top level)"
/* Agents get heartbeat and backoff times as 32-bit milliseconds (49 days): stay well below. */
#define PLAN_DURATION_MAX_US (720LL * 3600 * 1000000)

#define PLAN_F_REQUIRED  1u            /* missing key is an error */
#define PLAN_F_ZERO_OK   2u            /* counts/durations: 0 is allowed */
#define PLAN_F_NONEMPTY  4u            /* strings: "" is an error */
#define PLAN_F_ONELINE   8u            /* strings: no control characters */

struct plan_ctx;
struct plan_field;

/* Parses the value node v (at key path `path`) into f->dst. 0 or -1 after plan_fail(). */
typedef int (*plan_value_fn)(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                             const struct plan_field *f);

struct plan_field {
    const char   *key;
    plan_value_fn fn;
    void         *dst;
    size_t        size;        /* string buffers: sizeof the destination */
    unsigned      flags;
    void         *aux;         /* headers: uint32_t *count */
    uint64_t      max;         /* counts: upper bound; 0 = the destination type's */
    const struct yaml_doc_node *key_node, *node;   /* set by plan_map when seen */
};

#define PLAN_FIELD(k, f, d, sz, fl, ax) \
    { .key = (k), .fn = (f), .dst = (d), .size = (sz), .flags = (fl), .aux = (ax) }
#define PLAN_FIELD_MAX(k, f, d, fl, mx) { .key = (k), .fn = (f), .dst = (d), .flags = (fl), .max = (mx) }
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

struct plan_ctx {
    const char  *file;
    char        *err;
    size_t       errlen;
    struct plan *p;
    uint64_t     last_ramp_to;     /* ramps must go up */
    int          last_ramp_index;
    int          reconnect_set;
    const struct yaml_doc_node *phases_node;
    /* remembered per phase for the final cross-section pass */
    const struct yaml_doc_node *ramp_to[PLAN_MAX_PHASES];
    const struct yaml_doc_node *recipients[PLAN_MAX_PHASES];
    const struct yaml_doc_node *needs_reconnect[PLAN_MAX_PHASES];
};

static const char *const plan_phase_names[] = {
    [PLAN_PHASE_RAMP] = "ramp",
    [PLAN_PHASE_HOLD] = "hold",
    [PLAN_PHASE_PUSH] = "push",
    [PLAN_PHASE_DISCONNECT] = "disconnect",
    [PLAN_PHASE_EXEC] = "exec",
    [PLAN_PHASE_WAIT_RECONNECT] = "wait_reconnect",
};
#define PLAN_PHASE_LIST "ramp, hold, push, disconnect, exec, wait_reconnect"

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
static const char *plan_got(const struct yaml_doc_node *v, char *buf, size_t len)
{
    if (v->kind != YAML_DOC_SCALAR || yaml_doc_is_null(v))
        return yaml_doc_kind_name(v);
    char e[PLAN_VAL_ECHO_MAX + 4];
    plan_echo(e, sizeof(e), v->value, PLAN_VAL_ECHO_MAX);
    snprintf(buf, len, "\"%s\"", e);
    return buf;
}

__attribute__((format(printf, 4, 5)))
static int plan_fail(struct plan_ctx *c, const struct yaml_doc_node *at, const char *path,
                     const char *fmt, ...)
{
    char msg[PLAN_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s:%d:%d: %s: %s", c->file, at->line, at->col, path, msg);
    return -1;
}

static void plan_path_key(char *out, const char *parent, const char *key)
{
    char k[PLAN_KEY_ECHO_MAX + 4];
    plan_echo(k, sizeof(k), key, PLAN_KEY_ECHO_MAX);
    if (!strcmp(parent, PLAN_TOP))
        snprintf(out, PLAN_PATH_MAX, "%s", k);
    else
        snprintf(out, PLAN_PATH_MAX, "%s.%s", parent, k);
}

static void plan_path_index(char *out, const char *parent, size_t i)
{
    snprintf(out, PLAN_PATH_MAX, "%s[%zu]", parent, i);
}

/* ------------------------------------------------------------ node kinds */

static int plan_want_map(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                         const char *what)
{
    if (v->kind == YAML_DOC_MAP)
        return 0;
    char g[PLAN_GOT_MAX];
    return plan_fail(c, v, path, "expected %s, got %s", what, plan_got(v, g, sizeof(g)));
}

static int plan_want_list(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                          const char *what)
{
    if (v->kind == YAML_DOC_SEQ)
        return 0;
    char g[PLAN_GOT_MAX];
    return plan_fail(c, v, path, "expected %s, got %s", what, plan_got(v, g, sizeof(g)));
}

/* The text of a non-empty scalar, or NULL after an error saying `what` was expected. */
static const char *plan_scalar(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
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
static int plan_typo_distance(const char *a, const char *b)
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
static int plan_map(struct plan_ctx *c, const struct yaml_doc_node *m, const char *path,
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

/* ------------------------------------------------------------ scalar values */

static int plan_check_len(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                          const char *s, size_t size)
{
    if (strlen(s) < size)
        return 0;
    return plan_fail(c, v, path, "too long: %zu bytes, at most %zu", strlen(s), size - 1);
}

static int plan_check_oneline(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                              const char *s)
{
    for (const char *q = s; *q; q++) {
        unsigned char ch = (unsigned char)*q;
        if (ch < 0x20 || ch == 0x7f)
            return plan_fail(c, v, path, "may not contain control characters such as line "
                             "breaks (character %zu)", (size_t)(q - s) + 1);
    }
    return 0;
}

/* Any scalar as text; nothing means "". */
static int plan_v_string(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                         const struct plan_field *f)
{
    char g[PLAN_GOT_MAX];
    if (v->kind != YAML_DOC_SCALAR)
        return plan_fail(c, v, path, "expected a string, got %s", plan_got(v, g, sizeof(g)));
    const char *s = yaml_doc_is_null(v) ? "" : v->value;
    if ((f->flags & PLAN_F_NONEMPTY) && !*s)
        return plan_fail(c, v, path, "must not be empty");
    if (plan_check_len(c, v, path, s, f->size) < 0)
        return -1;
    if ((f->flags & PLAN_F_ONELINE) && plan_check_oneline(c, v, path, s) < 0)
        return -1;
    memcpy(f->dst, s, strlen(s) + 1);
    return 0;
}

/* scheme://host..., no blanks: enough to catch typos before dialing anything. */
static int plan_check_url(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                          const char *s, int ws)
{
    const char *a = ws ? "ws://" : "http://", *b = ws ? "wss://" : "https://";
    const char *rest = NULL;
    char g[PLAN_GOT_MAX];
    if (!strncmp(s, a, strlen(a)))
        rest = s + strlen(a);
    else if (!strncmp(s, b, strlen(b)))
        rest = s + strlen(b);
    if (!rest)
        return plan_fail(c, v, path, "expected a URL starting with %s or %s, got %s", a, b,
                         plan_got(v, g, sizeof(g)));
    if (!*rest || strchr("/?#:", *rest))
        return plan_fail(c, v, path, "URL has no host: %s", plan_got(v, g, sizeof(g)));
    for (const char *q = s; *q; q++) {
        unsigned char ch = (unsigned char)*q;
        if (ch <= 0x20 || ch == 0x7f)
            return plan_fail(c, v, path, "URLs may not contain spaces or control characters "
                             "(character %zu)", (size_t)(q - s) + 1);
    }
    return plan_check_len(c, v, path, s, PS_URL_MAX);
}

static int plan_v_url(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                      const struct plan_field *f, int ws)
{
    const char *s = plan_scalar(c, v, path, ws ? "a ws:// or wss:// URL" : "an http:// or https:// URL");
    if (!s || plan_check_url(c, v, path, s, ws) < 0)
        return -1;
    memcpy(f->dst, s, strlen(s) + 1);
    return 0;
}

static int plan_v_ws_url(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                         const struct plan_field *f)
{
    return plan_v_url(c, v, path, f, 1);
}

static int plan_v_http_url(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                           const struct plan_field *f)
{
    return plan_v_url(c, v, path, f, 0);
}

/* ps_units' messages already say what was expected and what was found. */
static int plan_v_duration(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                           const struct plan_field *f)
{
    char uerr[PLAN_ERR_MAX / 2];
    int64_t us;
    const char *s = plan_scalar(c, v, path, "a duration like 250ms, 10s or 5m");
    if (!s)
        return -1;
    if (ps_units_parse_duration_us(s, &us, uerr, sizeof(uerr)) < 0)
        return plan_fail(c, v, path, "%s", uerr);
    if (us == 0 && !(f->flags & PLAN_F_ZERO_OK))
        return plan_fail(c, v, path, "must be more than zero, got \"%s\"", s);
    if (us > PLAN_DURATION_MAX_US)
        return plan_fail(c, v, path, "too long: \"%s\", at most 720h (30 days)", s);
    *(int64_t *)f->dst = us;
    return 0;
}

/* A duration, or "off" (also 0) to disable. */
static int plan_v_duration_off(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                               const struct plan_field *f)
{
    if (v->kind == YAML_DOC_SCALAR && !strcmp(v->value, "off")) {
        *(int64_t *)f->dst = 0;
        return 0;
    }
    struct plan_field z = *f;
    z.flags |= PLAN_F_ZERO_OK;
    return plan_v_duration(c, v, path, &z);
}

static int plan_v_rate(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                       const struct plan_field *f)
{
    char uerr[PLAN_ERR_MAX / 2];
    const char *s = plan_scalar(c, v, path, "a rate like 2000/s, 500/m or 20k/s");
    if (!s)
        return -1;
    if (ps_units_parse_rate(s, (double *)f->dst, uerr, sizeof(uerr)) < 0)
        return plan_fail(c, v, path, "%s", uerr);
    return 0;
}

static int plan_count(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                      const struct plan_field *f, uint64_t max, uint64_t *out)
{
    char uerr[PLAN_ERR_MAX / 2];
    const char *s = plan_scalar(c, v, path, "a count like 1000, 10k or 1M");
    if (!s)
        return -1;
    if (ps_units_parse_count(s, out, uerr, sizeof(uerr)) < 0)
        return plan_fail(c, v, path, "%s", uerr);
    if (*out == 0 && !(f->flags & PLAN_F_ZERO_OK))
        return plan_fail(c, v, path, "must be more than zero, got \"%s\"", s);
    if (*out > max)
        return plan_fail(c, v, path, "too large: %llu, at most %llu", (unsigned long long)*out,
                         (unsigned long long)max);
    return 0;
}

static int plan_v_count64(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                          const struct plan_field *f)
{
    return plan_count(c, v, path, f, UINT64_MAX, (uint64_t *)f->dst);
}

static int plan_v_count32(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                          const struct plan_field *f)
{
    uint64_t n;
    if (plan_count(c, v, path, f, f->max ? f->max : UINT32_MAX, &n) < 0)
        return -1;
    *(uint32_t *)f->dst = (uint32_t)n;
    return 0;
}

/* A fraction in (0, 1]: "0.1" or "10%". */
static int plan_v_fraction(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                           const struct plan_field *f)
{
    char uerr[PLAN_ERR_MAX / 2];
    double x;
    const char *s = plan_scalar(c, v, path, "a fraction like 99.9% or 0.5");
    if (!s)
        return -1;
    if (ps_units_parse_fraction(s, &x, uerr, sizeof(uerr)) < 0)
        return plan_fail(c, v, path, "%s", uerr);
    if (!(x > 0))
        return plan_fail(c, v, path, "must be more than zero, got \"%s\"", s);
    *(double *)f->dst = x;
    return 0;
}

static int plan_v_push_mode(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                            const struct plan_field *f)
{
    const char *s = plan_scalar(c, v, path, "unicast, broadcast or multicast");
    if (!s)
        return -1;
    enum plan_push_mode m;
    if (!strcmp(s, "unicast"))
        m = PLAN_PUSH_UNICAST;
    else if (!strcmp(s, "broadcast"))
        m = PLAN_PUSH_BROADCAST;
    else if (!strcmp(s, "multicast"))
        m = PLAN_PUSH_MULTICAST;
    else {
        char g[PLAN_GOT_MAX];
        return plan_fail(c, v, path, "expected unicast, broadcast or multicast, got %s",
                         plan_got(v, g, sizeof(g)));
    }
    *(enum plan_push_mode *)f->dst = m;
    return 0;
}

static int plan_v_method(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                         const struct plan_field *f)
{
    const char *s = plan_scalar(c, v, path, "an HTTP method like POST or PUT");
    if (!s)
        return -1;
    size_t n = strlen(s);
    int ok = n > 0 && n < f->size;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] >= 'A' && s[i] <= 'Z';
    if (!ok) {
        char g[PLAN_GOT_MAX];
        return plan_fail(c, v, path, "expected an HTTP method like POST or PUT (upper case, at "
                         "most %zu letters), got %s", f->size - 1, plan_got(v, g, sizeof(g)));
    }
    memcpy(f->dst, s, n + 1);
    return 0;
}

/* Codes a client may send in a close frame (RFC 6455 7.4, IANA registry, 3000-4999). */
static int plan_v_close_code(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                             const struct plan_field *f)
{
    uint64_t code;
    struct plan_field any = *f;
    any.flags |= PLAN_F_ZERO_OK;
    if (plan_count(c, v, path, &any, UINT32_MAX, &code) < 0)
        return -1;
    int ok = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
             (code >= 3000 && code <= 4999);
    if (!ok)
        return plan_fail(c, v, path, "expected a WebSocket close code a client may send "
                         "(1000-1003, 1007-1014 or 3000-4999), got %llu", (unsigned long long)code);
    *(uint32_t *)f->dst = (uint32_t)code;
    return 0;
}

/* RFC 7230 token characters: what a header name may be made of. */
static int plan_is_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              strchr("!#$%&'*+-.^_`|~", ch)))
            return 0;
    }
    return 1;
}

/* Headers the transport writes itself; setting them would corrupt the request. */
static const char *plan_header_reserved(const char *name, int ws)
{
    static const char *const ws_names[] = {
        "Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
        "Sec-WebSocket-Extensions", "Sec-WebSocket-Accept", "Content-Length",
    };
    static const char *const http_names[] = { "Content-Length", "Transfer-Encoding" };
    if (ws && !strcasecmp(name, "Sec-WebSocket-Protocol"))
        return "set connections.subprotocol instead";
    const char *const *t = ws ? ws_names : http_names;
    size_t n = ws ? NFIELDS(ws_names) : NFIELDS(http_names);
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(name, t[i]))
            return ws ? "the WebSocket handshake sets it" : "the HTTP client sets it";
    return NULL;
}

/* A map of header name -> value template; dst is the array, aux the count. */
static int plan_headers(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                        const struct plan_field *f, int ws)
{
    struct ps_header_tpl *h = f->dst;
    uint32_t *count = f->aux;
    char g[PLAN_GOT_MAX];
    if (plan_want_map(c, v, path, "a map of header names to values") < 0)
        return -1;
    for (size_t i = 0; i < v->n; i++) {
        const struct yaml_doc_node *k = yaml_doc_key(v, i), *val = yaml_doc_val(v, i);
        char kpath[PLAN_PATH_MAX];
        if (k->kind != YAML_DOC_SCALAR || yaml_doc_is_null(k))
            return plan_fail(c, k, path, "expected a header name, got %s", plan_got(k, g, sizeof(g)));
        plan_path_key(kpath, path, k->value);
        if (i >= PS_MAX_HEADERS)
            return plan_fail(c, k, kpath, "too many headers: at most %d", PS_MAX_HEADERS);
        if (!plan_is_token(k->value))
            return plan_fail(c, k, kpath, "not a valid header name (letters, digits and "
                             "!#$%%&'*+-.^_`|~ only)");
        if (plan_check_len(c, k, kpath, k->value, PS_HDR_MAX) < 0)
            return -1;
        const char *why = plan_header_reserved(k->value, ws);
        if (why)
            return plan_fail(c, k, kpath, "this header cannot be set here: %s", why);
        for (size_t j = 0; j < i; j++)
            if (!strcasecmp(yaml_doc_key(v, j)->value, k->value))
                return plan_fail(c, k, kpath, "duplicate header (names are case-insensitive; "
                                 "first given at %d:%d)", yaml_doc_key(v, j)->line,
                                 yaml_doc_key(v, j)->col);
        if (val->kind != YAML_DOC_SCALAR)
            return plan_fail(c, val, kpath, "expected a header value, got %s",
                             plan_got(val, g, sizeof(g)));
        const char *s = yaml_doc_is_null(val) ? "" : val->value;
        if (plan_check_len(c, val, kpath, s, PS_HDR_MAX) < 0 ||
            plan_check_oneline(c, val, kpath, s) < 0)
            return -1;
        memcpy(h[i].name, k->value, strlen(k->value) + 1);
        memcpy(h[i].value, s, strlen(s) + 1);
        *count = (uint32_t)(i + 1);
    }
    return 0;
}

static int plan_v_ws_headers(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                             const struct plan_field *f)
{
    return plan_headers(c, v, path, f, 1);
}

static int plan_v_http_headers(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                               const struct plan_field *f)
{
    return plan_headers(c, v, path, f, 0);
}

/* ------------------------------------------------------------ thresholds */

enum plan_thr_unit { PLAN_THR_FRACTION, PLAN_THR_COUNT, PLAN_THR_DURATION };

static int plan_threshold(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                          struct plan_threshold *t, enum plan_thr_unit unit)
{
    static const char *const examples[] = {
        [PLAN_THR_FRACTION] = "\">= 99.9%\"",
        [PLAN_THR_COUNT] = "\"== 0\"",
        [PLAN_THR_DURATION] = "\"< 500ms\"",
    };
    char what[96], g[PLAN_GOT_MAX], uerr[PLAN_ERR_MAX / 2];
    snprintf(what, sizeof(what), "a comparison like %s", examples[unit]);
    const char *s = plan_scalar(c, v, path, what);
    if (!s)
        return -1;
    const char *q = s;
    while (*q == ' ')
        q++;
    enum plan_cmp cmp;
    size_t oplen = 2;
    if (!strncmp(q, ">=", 2))
        cmp = PLAN_CMP_GE;
    else if (!strncmp(q, "<=", 2))
        cmp = PLAN_CMP_LE;
    else if (!strncmp(q, "==", 2))
        cmp = PLAN_CMP_EQ;
    else if (*q == '>' && q[1] != '=')
        cmp = PLAN_CMP_GT, oplen = 1;
    else if (*q == '<' && q[1] != '=')
        cmp = PLAN_CMP_LT, oplen = 1;
    else
        return plan_fail(c, v, path, "expected a comparison like %s (operators: >= > <= < ==), "
                         "got %s", examples[unit], plan_got(v, g, sizeof(g)));
    q += oplen;
    while (*q == ' ')
        q++;
    char num[64];
    size_t n = strlen(q);
    while (n > 0 && q[n - 1] == ' ')
        n--;
    if (n >= sizeof(num) || strlen(s) >= sizeof(t->text))
        return plan_fail(c, v, path, "too long: at most %zu bytes", sizeof(t->text) - 1);
    memcpy(num, q, n);
    num[n] = '\0';

    double value;
    int rc;
    if (unit == PLAN_THR_FRACTION) {
        rc = ps_units_parse_fraction(num, &value, uerr, sizeof(uerr));
    } else if (unit == PLAN_THR_COUNT) {
        uint64_t x;
        rc = ps_units_parse_count(num, &x, uerr, sizeof(uerr));
        value = (double)x;
    } else {
        int64_t us;
        rc = ps_units_parse_duration_us(num, &us, uerr, sizeof(uerr));
        value = (double)us;
    }
    if (rc < 0)
        return plan_fail(c, v, path, "%s", uerr);
    /* Comparisons no measurement can satisfy are mistakes, not strict goals. */
    if ((cmp == PLAN_CMP_LT && value == 0) ||
        (unit == PLAN_THR_FRACTION && cmp == PLAN_CMP_GT && value >= 1))
        return plan_fail(c, v, path, "\"%s\" can never pass", s);
    t->set = 1;
    t->cmp = cmp;
    t->value = value;
    memcpy(t->text, s, strlen(s) + 1);
    return 0;
}

static int plan_v_thr_fraction(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                               const struct plan_field *f)
{
    return plan_threshold(c, v, path, f->dst, PLAN_THR_FRACTION);
}

static int plan_v_thr_count(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                            const struct plan_field *f)
{
    return plan_threshold(c, v, path, f->dst, PLAN_THR_COUNT);
}

static int plan_v_thr_duration(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                               const struct plan_field *f)
{
    return plan_threshold(c, v, path, f->dst, PLAN_THR_DURATION);
}

static int plan_v_thresholds(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                             const struct plan_field *f)
{
    (void)f;
    struct plan *p = c->p;
    struct plan_field t[] = {
        PLAN_FIELD("connect_success", plan_v_thr_fraction, &p->thresholds.connect_success, 0, 0, NULL),
        PLAN_FIELD("push_lost", plan_v_thr_count, &p->thresholds.push_lost, 0, 0, NULL),
        PLAN_FIELD("push_latency_p99", plan_v_thr_duration, &p->thresholds.push_latency_p99, 0, 0, NULL),
        PLAN_FIELD("push_latency_p50", plan_v_thr_duration, &p->thresholds.push_latency_p50, 0, 0, NULL),
        PLAN_FIELD("handshake_p99", plan_v_thr_duration, &p->thresholds.handshake_p99, 0, 0, NULL),
    };
    return plan_map(c, v, path, t, NFIELDS(t), "a map of thresholds");
}

/* ------------------------------------------------------------ sections */

/* scheme://host[:port] of url, plus "/broadcast". */
static int plan_derive_broadcast(struct plan_ctx *c, const struct yaml_doc_node *at,
                                 const char *path, struct plan_target *t)
{
    const char *host = strstr(t->push, "://") + 3;
    size_t origin = strcspn(host, "/?#") + (size_t)(host - t->push);
    if (origin + sizeof("/broadcast") > sizeof(t->broadcast))
        return plan_fail(c, at, path, "too long to derive the broadcast URL from; set broadcast");
    memcpy(t->broadcast, t->push, origin);
    memcpy(t->broadcast + origin, "/broadcast", sizeof("/broadcast"));
    return 0;
}

static int plan_v_targets(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                          const struct plan_field *f)
{
    (void)f;
    struct plan *p = c->p;
    if (plan_want_list(c, v, path, "a list of targets like - {ws: \"ws://...\", push: \"http://...\"}") < 0)
        return -1;
    if (v->n == 0)
        return plan_fail(c, v, path, "needs at least one target");
    for (size_t i = 0; i < v->n; i++) {
        char ipath[PLAN_PATH_MAX];
        plan_path_index(ipath, path, i);
        if (i >= PS_MAX_TARGETS)
            return plan_fail(c, v->items[i], ipath, "too many targets: at most %d", PS_MAX_TARGETS);
        struct plan_target *t = &p->targets[i];
        struct plan_field tf[] = {
            PLAN_FIELD("ws", plan_v_ws_url, t->ws, sizeof(t->ws), PLAN_F_REQUIRED, NULL),
            PLAN_FIELD("push", plan_v_http_url, t->push, sizeof(t->push), PLAN_F_REQUIRED, NULL),
            PLAN_FIELD("broadcast", plan_v_http_url, t->broadcast, sizeof(t->broadcast), 0, NULL),
        };
        if (plan_map(c, v->items[i], ipath, tf, NFIELDS(tf), "a map with ws, push and broadcast") < 0)
            return -1;
        if (!tf[2].node) {
            char ppath[PLAN_PATH_MAX];
            plan_path_key(ppath, ipath, "push");
            if (plan_derive_broadcast(c, tf[1].node, ppath, t) < 0)
                return -1;
        }
        p->n_targets = (uint32_t)(i + 1);
    }
    return 0;
}

static int plan_v_split(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                        const struct plan_field *f)
{
    const char *s = plan_scalar(c, v, path, "even or capacity");
    if (!s)
        return -1;
    if (strcmp(s, "even") && strcmp(s, "capacity")) {
        char g[PLAN_GOT_MAX];
        return plan_fail(c, v, path, "expected even or capacity, got %s", plan_got(v, g, sizeof(g)));
    }
    *(int *)f->dst = !strcmp(s, "capacity");
    return 0;
}

static int plan_v_agents(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                         const struct plan_field *f)
{
    (void)f;
    struct plan *p = c->p;
    struct plan_field af[] = {
        PLAN_FIELD("expect", plan_v_count32, &p->agents.expect, 0, 0, NULL),
        PLAN_FIELD("wait", plan_v_duration, &p->agents.wait_us, 0, 0, NULL),
        PLAN_FIELD("split", plan_v_split, &p->agents.by_capacity, 0, 0, NULL),
    };
    return plan_map(c, v, path, af, NFIELDS(af), "a map like {expect: 2, wait: 30s}");
}

static int plan_v_connections(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                              const struct plan_field *f)
{
    (void)f;
    struct plan *p = c->p;
    struct plan_field cf[] = {
        PLAN_FIELD("total", plan_v_count64, &p->connections.total, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("subprotocol", plan_v_string, p->connections.subprotocol,
           sizeof(p->connections.subprotocol), PLAN_F_ONELINE, NULL),
        PLAN_FIELD("headers", plan_v_ws_headers, p->connections.headers, 0, 0, &p->connections.n_headers),
        PLAN_FIELD("max_message", plan_v_count32, &p->connections.max_message, 0, 0, NULL),
    };
    return plan_map(c, v, path, cf, NFIELDS(cf), "a map like {total: 10000}");
}

static int plan_v_heartbeat(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                            const struct plan_field *f)
{
    (void)f;
    struct plan *p = c->p;
    struct plan_field hf[] = {
        PLAN_FIELD("ws_ping", plan_v_duration_off, &p->heartbeat.ws_ping_us, 0, 0, NULL),
        PLAN_FIELD("pong_timeout", plan_v_duration, &p->heartbeat.pong_timeout_us, 0, 0, NULL),
        PLAN_FIELD("text", plan_v_string, p->heartbeat.text, sizeof(p->heartbeat.text), 0, NULL),
        PLAN_FIELD("expect", plan_v_string, p->heartbeat.expect, sizeof(p->heartbeat.expect), 0, NULL),
        PLAN_FIELD("interval", plan_v_duration, &p->heartbeat.interval_us, 0, 0, NULL),
        PLAN_FIELD("timeout", plan_v_duration, &p->heartbeat.timeout_us, 0, 0, NULL),
    };
    if (plan_map(c, v, path, hf, NFIELDS(hf), "a map like {ws_ping: 30s}") < 0)
        return -1;
    if (!p->heartbeat.text[0]) {
        /* Without text there is no app heartbeat; these keys would silently do nothing. */
        const struct plan_field *orphan = NULL;
        if (p->heartbeat.expect[0])
            orphan = &hf[3];
        else if (hf[4].node)
            orphan = &hf[4];
        else if (hf[5].node)
            orphan = &hf[5];
        if (orphan) {
            char kpath[PLAN_PATH_MAX];
            plan_path_key(kpath, path, orphan->key);
            return plan_fail(c, orphan->key_node, kpath, "applies to the app heartbeat only, "
                             "which needs heartbeat.text (the message to send)");
        }
    }
    if (!hf[4].node)
        p->heartbeat.interval_us = p->heartbeat.ws_ping_us ? p->heartbeat.ws_ping_us : 30000000;
    return 0;
}

static int plan_v_reconnect(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                            const struct plan_field *f)
{
    (void)f;
    struct plan *p = c->p;
    p->reconnect.min_us = 1000000;
    p->reconnect.max_us = 30000000;
    p->reconnect.attempts = 0;
    struct plan_field rf[] = {
        PLAN_FIELD("min", plan_v_duration, &p->reconnect.min_us, 0, 0, NULL),
        PLAN_FIELD("max", plan_v_duration, &p->reconnect.max_us, 0, 0, NULL),
        PLAN_FIELD("attempts", plan_v_count32, &p->reconnect.attempts, 0, PLAN_F_ZERO_OK, NULL),
    };
    if (plan_map(c, v, path, rf, NFIELDS(rf), "a map like {min: 1s, max: 30s}") < 0)
        return -1;
    if (p->reconnect.max_us < p->reconnect.min_us) {
        char b1[32], b2[32], kpath[PLAN_PATH_MAX];
        const struct plan_field *at = rf[1].node ? &rf[1] : &rf[0];
        plan_path_key(kpath, path, at->key);
        return plan_fail(c, at->node, kpath, "max (%s%s) is below min (%s)",
                         ps_units_fmt_duration(p->reconnect.max_us, b1, sizeof(b1)),
                         rf[1].node ? "" : ", the default",
                         ps_units_fmt_duration(p->reconnect.min_us, b2, sizeof(b2)));
    }
    c->reconnect_set = 1;
    return 0;
}

/* ------------------------------------------------------------ phases */

static int plan_phase_ramp(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                           struct plan_phase *ph, size_t idx)
{
    struct plan_field rf[] = {
        PLAN_FIELD("to", plan_v_count64, &ph->u.ramp.to, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("rate", plan_v_rate, &ph->u.ramp.rate, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("timeout", plan_v_duration, &ph->u.ramp.timeout_us, 0, 0, NULL),
    };
    if (plan_map(c, v, path, rf, NFIELDS(rf), "a map like {to: 10000, rate: 2000/s}") < 0)
        return -1;
    if (ph->u.ramp.to <= c->last_ramp_to) {
        char kpath[PLAN_PATH_MAX];
        plan_path_key(kpath, path, "to");
        return plan_fail(c, rf[0].node, kpath, "%llu is not above the previous ramp's %llu "
                         "(phases[%d]); ramps only go up, use disconnect to go down",
                         (unsigned long long)ph->u.ramp.to, (unsigned long long)c->last_ramp_to,
                         c->last_ramp_index);
    }
    c->last_ramp_to = ph->u.ramp.to;
    c->last_ramp_index = (int)idx;
    c->ramp_to[idx] = rf[0].node;
    if (!rf[2].node) {
        /* twice the nominal ramp time plus slack for the last handshakes */
        double us = 2.0 * (double)ph->u.ramp.to / ph->u.ramp.rate * 1e6 + 10e6;
        ph->u.ramp.timeout_us = us < (double)(INT64_MAX / 4) ? (int64_t)us : INT64_MAX / 4;
    }
    return 0;
}

static int plan_phase_hold(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                           struct plan_phase *ph)
{
    struct plan_field hf[] = {
        PLAN_FIELD("duration", plan_v_duration, &ph->u.hold.duration_us, 0, PLAN_F_REQUIRED, NULL),
    };
    if (v->kind == YAML_DOC_SCALAR && !yaml_doc_is_null(v))
        return plan_v_duration(c, v, path, &hf[0]);
    return plan_map(c, v, path, hf, NFIELDS(hf), "a duration like 10s or a map like {duration: 10s}");
}

static int plan_phase_push(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                           struct plan_phase *ph, size_t idx)
{
    typeof(ph->u.push) *u = &ph->u.push;
    u->mode = PLAN_PUSH_UNICAST;
    u->rate = 100;
    u->recipients = 10;
    strcpy(u->body, "{msg}");
    strcpy(u->method, "POST");
    u->concurrency = 64;
    u->grace_us = 5000000;
    struct plan_field pf[] = {
        PLAN_FIELD("mode", plan_v_push_mode, &u->mode, 0, 0, NULL),
        PLAN_FIELD("rate", plan_v_rate, &u->rate, 0, 0, NULL),
        PLAN_FIELD("count", plan_v_count64, &u->count, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD_MAX("recipients", plan_v_count32, &u->recipients, 0, PLAN_RECIPIENTS_MAX),
        PLAN_FIELD("body", plan_v_string, u->body, sizeof(u->body), PLAN_F_NONEMPTY, NULL),
        PLAN_FIELD("url", plan_v_http_url, u->url, sizeof(u->url), 0, NULL),
        PLAN_FIELD("method", plan_v_method, u->method, sizeof(u->method), 0, NULL),
        PLAN_FIELD("headers", plan_v_http_headers, u->headers, 0, 0, &u->n_headers),
        PLAN_FIELD_MAX("concurrency", plan_v_count32, &u->concurrency, 0, PLAN_CONCURRENCY_MAX),
        PLAN_FIELD("grace", plan_v_duration, &u->grace_us, 0, 0, NULL),
    };
    if (plan_map(c, v, path, pf, NFIELDS(pf), "a map like {count: 1000, rate: 500/s}") < 0)
        return -1;
    char kpath[PLAN_PATH_MAX];
    if (pf[3].node && u->mode != PLAN_PUSH_MULTICAST) {
        plan_path_key(kpath, path, "recipients");
        return plan_fail(c, pf[3].key_node, kpath, "only applies to mode: multicast");
    }
    if (!strstr(u->body, "{msg}")) {
        plan_path_key(kpath, path, "body");
        return plan_fail(c, pf[4].node, kpath, "must contain {msg}: the token that lets the "
                         "agents recognise each message");
    }
    if (u->mode == PLAN_PUSH_MULTICAST)
        c->recipients[idx] = pf[3].node ? pf[3].node : v;
    return 0;
}

static int plan_phase_disconnect(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                                 struct plan_phase *ph)
{
    ph->u.disconnect.code = 1000;
    struct plan_field df[] = {
        PLAN_FIELD("fraction", plan_v_fraction, &ph->u.disconnect.fraction, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("code", plan_v_close_code, &ph->u.disconnect.code, 0, 0, NULL),
    };
    return plan_map(c, v, path, df, NFIELDS(df), "a map like {fraction: 0.1}");
}

static int plan_phase_exec(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                           struct plan_phase *ph, size_t idx)
{
    ph->u.exec.within_us = 60000000;
    struct plan_field ef[] = {
        PLAN_FIELD("command", plan_v_string, ph->u.exec.command, sizeof(ph->u.exec.command),
                   PLAN_F_REQUIRED | PLAN_F_NONEMPTY, NULL),
        PLAN_FIELD("expect_reconnect", plan_v_fraction, &ph->u.exec.expect_reconnect, 0, 0, NULL),
        PLAN_FIELD("within", plan_v_duration, &ph->u.exec.within_us, 0, 0, NULL),
    };
    if (plan_map(c, v, path, ef, NFIELDS(ef), "a map like {command: \"...\"}") < 0)
        return -1;
    if (ef[2].node && !ef[1].node) {
        char kpath[PLAN_PATH_MAX];
        plan_path_key(kpath, path, "within");
        return plan_fail(c, ef[2].key_node, kpath, "only applies with expect_reconnect");
    }
    c->needs_reconnect[idx] = ef[1].node;
    return 0;
}

static int plan_phase_wait_reconnect(struct plan_ctx *c, const struct yaml_doc_node *v,
                                     const char *path, struct plan_phase *ph, size_t idx)
{
    ph->u.wait_reconnect.within_us = 60000000;
    struct plan_field wf[] = {
        PLAN_FIELD("fraction", plan_v_fraction, &ph->u.wait_reconnect.fraction, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("within", plan_v_duration, &ph->u.wait_reconnect.within_us, 0, 0, NULL),
    };
    if (plan_map(c, v, path, wf, NFIELDS(wf), "a map like {fraction: 99%, within: 60s}") < 0)
        return -1;
    c->needs_reconnect[idx] = wf[0].node;
    return 0;
}

/* One list item: a map with exactly one key, the phase kind. */
static int plan_phase(struct plan_ctx *c, const struct yaml_doc_node *item, const char *ipath, size_t idx)
{
    char g[PLAN_GOT_MAX];
    if (item->kind != YAML_DOC_MAP)
        return plan_fail(c, item, ipath, "expected a phase like {hold: 10s} (one of " PLAN_PHASE_LIST
                         "), got %s", plan_got(item, g, sizeof(g)));
    if (item->n != 1) {
        if (item->n == 0)
            return plan_fail(c, item, ipath, "a phase is a map with one key (" PLAN_PHASE_LIST
                             "), got an empty map");
        return plan_fail(c, item, ipath, "a phase is a map with one key, got %zu keys; start "
                         "each phase with its own \"- \"", item->n);
    }
    const struct yaml_doc_node *k = yaml_doc_key(item, 0), *v = yaml_doc_val(item, 0);
    if (k->kind != YAML_DOC_SCALAR || yaml_doc_is_null(k))
        return plan_fail(c, k, ipath, "expected a phase kind (" PLAN_PHASE_LIST "), got %s",
                         plan_got(k, g, sizeof(g)));
    char kpath[PLAN_PATH_MAX];
    plan_path_key(kpath, ipath, k->value);
    enum plan_phase_kind kind = 0;
    for (size_t i = 1; i < NFIELDS(plan_phase_names); i++)
        if (!strcmp(k->value, plan_phase_names[i]))
            kind = (enum plan_phase_kind)i;
    if (!kind) {
        char hint[48] = "";
        for (size_t i = 1; i < NFIELDS(plan_phase_names); i++)
            if (plan_typo_distance(k->value, plan_phase_names[i]) <= 2)
                snprintf(hint, sizeof(hint), "; did you mean \"%s\"?", plan_phase_names[i]);
        return plan_fail(c, k, kpath, "unknown phase kind %s%s (allowed: " PLAN_PHASE_LIST ")",
                         plan_got(k, g, sizeof(g)), hint);
    }
    struct plan_phase *ph = &c->p->phases[idx];
    ph->kind = kind;
    ph->line = k->line;
    switch (kind) {
    case PLAN_PHASE_RAMP:           return plan_phase_ramp(c, v, kpath, ph, idx);
    case PLAN_PHASE_HOLD:           return plan_phase_hold(c, v, kpath, ph);
    case PLAN_PHASE_PUSH:           return plan_phase_push(c, v, kpath, ph, idx);
    case PLAN_PHASE_DISCONNECT:     return plan_phase_disconnect(c, v, kpath, ph);
    case PLAN_PHASE_EXEC:           return plan_phase_exec(c, v, kpath, ph, idx);
    case PLAN_PHASE_WAIT_RECONNECT: return plan_phase_wait_reconnect(c, v, kpath, ph, idx);
    }
    return -1;
}

static int plan_v_phases(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                         const struct plan_field *f)
{
    (void)f;
    if (plan_want_list(c, v, path, "a list of phases") < 0)
        return -1;
    if (v->n == 0)
        return plan_fail(c, v, path, "needs at least one phase");
    c->phases_node = v;
    for (size_t i = 0; i < v->n; i++) {
        char ipath[PLAN_PATH_MAX];
        plan_path_index(ipath, path, i);
        if (i >= PLAN_MAX_PHASES)
            return plan_fail(c, v->items[i], ipath, "too many phases: at most %d", PLAN_MAX_PHASES);
        if (plan_phase(c, v->items[i], ipath, i) < 0)
            return -1;
        c->p->n_phases = (uint32_t)(i + 1);
    }
    return 0;
}

/* ------------------------------------------------------------ whole plan */

static void plan_defaults(struct plan *p)
{
    p->agents.expect = 1;
    p->agents.wait_us = 30000000;
    p->connections.max_message = 1u << 20;
    p->heartbeat.ws_ping_us = 30000000;
    p->heartbeat.pong_timeout_us = 10000000;
    p->heartbeat.interval_us = 30000000;
    p->heartbeat.timeout_us = 10000000;
}

/* Rules that tie sections together; the walk has filled everything they read. */
static int plan_cross_check(struct plan_ctx *c)
{
    struct plan *p = c->p;
    int ramps = 0;
    for (uint32_t i = 0; i < p->n_phases; i++) {
        const struct plan_phase *ph = &p->phases[i];
        char path[PLAN_PATH_MAX], kpath[PLAN_PATH_MAX];
        snprintf(path, sizeof(path), "phases[%u].%s", i, plan_phase_name(ph->kind));
        if (ph->kind == PLAN_PHASE_RAMP) {
            ramps++;
            if (ph->u.ramp.to > p->connections.total) {
                plan_path_key(kpath, path, "to");
                return plan_fail(c, c->ramp_to[i], kpath, "%llu is above connections.total (%llu)",
                                 (unsigned long long)ph->u.ramp.to,
                                 (unsigned long long)p->connections.total);
            }
        }
        if (c->recipients[i] && ph->u.push.recipients > p->connections.total) {
            plan_path_key(kpath, path, "recipients");
            return plan_fail(c, c->recipients[i], kpath, "%u is above connections.total (%llu)",
                             ph->u.push.recipients, (unsigned long long)p->connections.total);
        }
        if (c->needs_reconnect[i] && !c->reconnect_set) {
            plan_path_key(kpath, path, ph->kind == PLAN_PHASE_EXEC ? "expect_reconnect" : "fraction");
            return plan_fail(c, c->needs_reconnect[i], kpath, "waits for reconnections, but the "
                             "plan has no reconnect section, so closed connections stay closed");
        }
    }
    if (!ramps)
        return plan_fail(c, c->phases_node, "phases", "no ramp phase, so no connection would "
                         "open; add one like - ramp: {to: 1000, rate: 500/s}");
    return 0;
}

static int plan_walk(struct plan_ctx *c, const struct yaml_doc_node *root)
{
    struct plan *p = c->p;
    struct plan_field top[] = {
        PLAN_FIELD("name", plan_v_string, p->name, sizeof(p->name),
                   PLAN_F_REQUIRED | PLAN_F_NONEMPTY | PLAN_F_ONELINE, NULL),
        PLAN_FIELD("targets", plan_v_targets, NULL, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("agents", plan_v_agents, NULL, 0, 0, NULL),
        PLAN_FIELD("connections", plan_v_connections, NULL, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("heartbeat", plan_v_heartbeat, NULL, 0, 0, NULL),
        PLAN_FIELD("reconnect", plan_v_reconnect, NULL, 0, 0, NULL),
        PLAN_FIELD("phases", plan_v_phases, NULL, 0, PLAN_F_REQUIRED, NULL),
        PLAN_FIELD("thresholds", plan_v_thresholds, NULL, 0, 0, NULL),
    };
    if (plan_map(c, root, PLAN_TOP, top, NFIELDS(top), "a map of plan keys (name, targets, "
                 "connections, phases, ...)") < 0)
        return -1;
    return plan_cross_check(c);
}

int plan_parse(const char *path, const char *text, size_t len, struct plan *p, char *err, size_t errlen)
{
    struct plan_ctx c = { .file = path, .err = err, .errlen = errlen, .p = p, .last_ramp_index = -1 };
    struct yaml_doc doc;
    struct yaml_doc_error ye;

    memset(p, 0, sizeof(*p));
    snprintf(p->path, sizeof(p->path), "%s", path);
    plan_defaults(p);
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
        rc = plan_walk(&c, doc.root);
    }
    yaml_doc_free(&doc);
    return rc;
}

int plan_load(const char *path, struct plan *p, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PLAN_FILE_MAX) {
        snprintf(err, errlen, "%s: not a regular file of at most %d bytes", path, PLAN_FILE_MAX);
        fclose(f);
        return -1;
    }
    char *text = malloc((size_t)st.st_size + 1);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        fclose(f);
        return -1;
    }
    size_t n = fread(text, 1, (size_t)st.st_size, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        snprintf(err, errlen, "%s: read error", path);
        free(text);
        return -1;
    }
    text[n] = '\0';
    int rc = plan_parse(path, text, n, p, err, errlen);
    free(text);
    return rc;
}

uint64_t plan_max_connections(const struct plan *p)
{
    uint64_t max = 0;
    for (uint32_t i = 0; i < p->n_phases; i++)
        if (p->phases[i].kind == PLAN_PHASE_RAMP && p->phases[i].u.ramp.to > max)
            max = p->phases[i].u.ramp.to;
    return max;
}

void plan_split(uint64_t total, const uint64_t *weight, uint32_t n, uint64_t *share)
{
    /* Proportional shares rounded down, then the remainder one by one to the
     * first agents that still have room, so the shares add up exactly. */
    uint64_t given = 0, sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += weight[i];
    for (uint32_t i = 0; i < n; i++) {
        /* long double: total * weight overflows 64 bits only past ~4e9 each */
        share[i] = sum ? (uint64_t)((long double)total * weight[i] / sum) : 0;
        given += share[i];
    }
    for (uint32_t i = 0; given < total && i < n; i++)
        if (share[i] < weight[i]) {
            share[i]++;
            given++;
        }
}

void plan_agent_range(uint64_t total, uint32_t n_agents, uint32_t i, uint64_t *first,
                      uint64_t *count)
{
    uint64_t base = n_agents ? total / n_agents : 0, extra = n_agents ? total % n_agents : 0;
    *count = base + (i < extra);
    *first = base * i + (i < extra ? i : extra);
}

void plan_print_split(const struct plan *p, FILE *out)
{
    uint32_t n = p->agents.expect;
    uint64_t total = plan_max_connections(p);
    uint64_t *weight = calloc(n ? n : 1, sizeof *weight);
    uint64_t *share = calloc(n ? n : 1, sizeof *share);
    if (!weight || !share) {
        fprintf(out, "  (out of memory for the split)\n");
        free(weight);
        free(share);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t first;
        plan_agent_range(total, n, i, &first, &weight[i]);
    }
    if (p->agents.by_capacity) {
        fprintf(out, "split over %u agents by capacity: decided when they join, in proportion to "
                     "what each can hold (fd limit, memory) as its hello reports; ramps follow "
                     "the connections\n", n);
        free(weight);
        free(share);
        return;
    }
    fprintf(out, "split over %u agents (ramps are shared in proportion to the connections):\n", n);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t first, count;
        plan_agent_range(total, n, i, &first, &count);
        if (count)
            fprintf(out, "  agent %u: connections %llu-%llu (%llu)", i + 1,
                    (unsigned long long)first, (unsigned long long)(first + count - 1),
                    (unsigned long long)count);
        else
            fprintf(out, "  agent %u: no connections", i + 1);
        /* connection c goes to target c mod n_targets: a few targets are worth a count each */
        if (count && p->n_targets > 1 && p->n_targets <= 4) {
            for (uint32_t t = 0; t < p->n_targets; t++) {
                uint64_t lo = first, hi = first + count, nt = p->n_targets;
                uint64_t k = (hi + nt - 1 - t) / nt - (lo + nt - 1 - t) / nt;
                fprintf(out, "%s target %u: %llu", t ? "," : ";", t + 1, (unsigned long long)k);
            }
        }
        uint32_t r = 0;
        for (uint32_t ph = 0; ph < p->n_phases; ph++) {
            if (p->phases[ph].kind != PLAN_PHASE_RAMP)
                continue;
            uint64_t to = p->phases[ph].u.ramp.to;
            plan_split(to, weight, n, share);
            fprintf(out, "%s phase %u ramp: %llu at %.4g/s", r++ ? "," : ";", ph + 1,
                    (unsigned long long)share[i],
                    p->phases[ph].u.ramp.rate * (double)share[i] / (double)to);
        }
        fputc('\n', out);
    }
    free(weight);
    free(share);
}

const char *plan_phase_name(enum plan_phase_kind k)
{
    if ((size_t)k < NFIELDS(plan_phase_names) && plan_phase_names[k])
        return plan_phase_names[k];
    return "unknown";
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

/* plan_values: one parser per kind of value a plan holds.
 *
 * Each is a plan_value_fn for the tables in plan_sections.c: it checks the YAML
 * node at hand (shape, syntax, range), writes the result to the table entry's
 * destination, or fails with a message that says what was expected and echoes
 * what was found. Numbers with units (durations, rates, counts, fractions) are
 * read by common/ps_units, whose messages are passed on as they are, so the
 * plan and the command line speak the same language.
 *
 * Checks that need only the value itself live here (a close code a client may
 * send, a header the transport owns, a threshold no measurement can meet);
 * checks that compare a value with another key live with the section
 * (plan_sections.c) or, across sections, in plan_cross.c. */
#include "plan_schema.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ps_units.h"

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
int plan_v_string(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
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
    return plan_check_url_rest(c, v, path, s, rest);
}

int plan_check_url_rest(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                        const char *s, const char *rest)
{
    char g[PLAN_GOT_MAX];
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

int plan_v_ws_url(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                  const struct plan_field *f)
{
    return plan_v_url(c, v, path, f, 1);
}

int plan_v_http_url(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                    const struct plan_field *f)
{
    return plan_v_url(c, v, path, f, 0);
}

/* ps_units' messages already say what was expected and what was found. */
int plan_v_duration(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
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
int plan_v_duration_off(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
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

int plan_v_rate(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
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

int plan_v_count64(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                   const struct plan_field *f)
{
    return plan_count(c, v, path, f, UINT64_MAX, (uint64_t *)f->dst);
}

int plan_v_count32(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                   const struct plan_field *f)
{
    uint64_t n;
    if (plan_count(c, v, path, f, f->max ? f->max : UINT32_MAX, &n) < 0)
        return -1;
    *(uint32_t *)f->dst = (uint32_t)n;
    return 0;
}

/* A fraction in (0, 1]: "0.1" or "10%". */
int plan_v_fraction(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
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

int plan_v_push_mode(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
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

int plan_v_split(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
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

int plan_v_method(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
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

/* The plan's one boolean rule: the plain (unquoted) words true and false, as
 * YAML 1.2 has them. YAML 1.1's yes/no/on/off are refused rather than read,
 * because elsewhere in a plan `off` is a value of its own (ws_ping: off) and a
 * quoted "true" is a string: either would make a flag mean what the writer
 * did not check (docs/plan.md "Booleans"). */
static int plan_v_bool_yaml11(const char *s)
{
    static const char *const words[] = {"yes", "no", "on", "off", "y", "n"};
    for (size_t i = 0; i < NFIELDS(words); i++)
        if (!strcasecmp(s, words[i]))
            return 1;
    return 0;
}

int plan_v_bool(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                const struct plan_field *f)
{
    char g[PLAN_GOT_MAX];
    uint32_t *dst = f->dst;
    int plain = v->kind == YAML_DOC_SCALAR && v->plain && v->value;
    if (plain && !strcmp(v->value, "true"))
        *dst = 1;
    else if (plain && !strcmp(v->value, "false"))
        *dst = 0;
    else if (v->kind == YAML_DOC_SCALAR && v->value &&
             (!strcmp(v->value, "true") || !strcmp(v->value, "false")))
        return plan_fail(c, v, path, "expected true or false, got %s in quotes, which is a "
                         "string: write it without quotes", plan_got(v, g, sizeof g));
    else if (v->kind == YAML_DOC_SCALAR && v->plain && v->value && plan_v_bool_yaml11(v->value))
        return plan_fail(c, v, path, "expected true or false, got %s (YAML 1.1's yes/no/on/off "
                         "are not booleans in a plan)", plan_got(v, g, sizeof g));
    else
        return plan_fail(c, v, path, "expected true or false, got %s", plan_got(v, g, sizeof g));
    return 0;
}

/* Codes a client may send in a close frame (RFC 6455 7.4, IANA registry, 3000-4999). */
int plan_v_close_code(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
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

/* ------------------------------------------------------------ header maps */

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

int plan_v_ws_headers(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                      const struct plan_field *f)
{
    return plan_headers(c, v, path, f, 1);
}

int plan_v_http_headers(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
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

int plan_v_thr_fraction(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                        const struct plan_field *f)
{
    return plan_threshold(c, v, path, f->dst, PLAN_THR_FRACTION);
}

int plan_v_thr_count(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                     const struct plan_field *f)
{
    return plan_threshold(c, v, path, f->dst, PLAN_THR_COUNT);
}

int plan_v_thr_duration(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                        const struct plan_field *f)
{
    return plan_threshold(c, v, path, f->dst, PLAN_THR_DURATION);
}

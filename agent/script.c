/* script.c: a session script made ready to run, and its matchers.
 *
 * The ASSIGN command carries the steps as text (ps_proto.h); once per
 * assignment agent_script_prepare() turns them into what the receive path can
 * use without parsing again: compiled regular expressions, the "path=value"
 * lines of JSON expectations split apart, binary frames decoded, and for each
 * target the order of the steps it runs (its own script, or the plan-wide
 * one). The result is read-only and shared by every worker (regexec() on a
 * compiled expression is safe from several threads).
 *
 * Matching a message: substring (memmem), POSIX extended regex, or JSON field
 * equality with dotted paths (cJSON). A step passes only when its captures are
 * found too; captured values go into the connection's fixed-size region of the
 * worker's arena as NUL-separated strings in variable order, so a connection's
 * variables cost vars_bytes and nothing is allocated for them. cJSON allocates
 * while it parses, which happens only for session messages (a few per
 * connection setup), never for pushed messages: the id an ack of the
 * service's own ids takes from every push is read by jsonpath.c instead. */
#include "agent.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ps_regex.h"

static int agent_script_unhex(const char *hex, unsigned char *out, size_t cap, uint32_t *n)
{
    size_t len = strlen(hex);
    if (len % 2 || len / 2 > cap)
        return -1;
    for (size_t i = 0; i < len / 2; i++) {
        unsigned x;
        if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
            sscanf(hex + 2 * i, "%2x", &x) != 1)
            return -1;
        out[i] = (unsigned char)x;
    }
    *n = (uint32_t)(len / 2);
    return 0;
}

/* "a.b=1\nc=x" -> eq[] pointing into the step's own copy (NULs replace the separators). */
static int agent_script_split_eq(struct agent_script_step *st)
{
    char *p = st->text;
    st->n_eq = 0;
    while (*p) {
        if (st->n_eq == AGENT_SCRIPT_EQ_MAX)
            return -1;
        char *nl = strchr(p, '\n'), *eq = strchr(p, '=');
        if (nl)
            *nl = 0;
        if (!eq || (nl && eq > nl))
            return -1;
        *eq = 0;
        st->eq[st->n_eq].path = p;
        st->eq[st->n_eq].value = eq + 1;
        st->n_eq++;
        p = nl ? nl + 1 : eq + 1 + strlen(eq + 1);
    }
    return st->n_eq ? 0 : -1;
}

static int agent_script_compile(regex_t *re, const char *src, char *err, size_t errlen,
                                const char *what, uint32_t i)
{
    if (ps_regex_positions(src) > PS_REGEX_POSITIONS_MAX) {
        snprintf(err, errlen, "session %s %u: regex too big once compiled (over %d positions)",
                 what, i, PS_REGEX_POSITIONS_MAX);
        return -1;
    }
    int rc = regcomp(re, src, REG_EXTENDED);
    if (rc) {
        char why[128];
        regerror(rc, re, why, sizeof why);
        snprintf(err, errlen, "session %s %u: regex does not compile: %s", what, i, why);
        return -1;
    }
    return 0;
}

void agent_script_free(struct agent_script *s)
{
    for (uint32_t i = 0; i < PS_SESSION_STEPS_MAX; i++)
        if (s->steps[i].has_re)
            regfree(&s->steps[i].re);
    for (uint32_t i = 0; i < PS_SESSION_CAPTURES_MAX; i++)
        if (s->caps[i].has_re)
            regfree(&s->caps[i].re);
    if (s->hb.has_re)
        regfree(&s->hb.re);
    if (s->ack_id.has_re)
        regfree(&s->ack_id.re);
    memset(s, 0, sizeof *s);
}

int agent_script_prepare(struct agent_script *s, const struct ps_assign *a, char *err, size_t errlen)
{
    agent_script_free(s);
    s->n_vars = a->n_session_vars;
    s->vars_bytes = a->n_captures ? a->vars_bytes : 0;
    if (s->vars_bytes && s->vars_bytes < s->n_vars) {
        snprintf(err, errlen, "session: vars_bytes %u cannot hold %u variables", s->vars_bytes,
                 s->n_vars);
        return -1;
    }
    for (uint32_t i = 0; i < a->n_steps; i++) {
        struct agent_script_step *st = &s->steps[i];
        const struct ps_session_step *src = &a->steps[i];
        st->op = (uint8_t)src->op;
        st->match = (uint8_t)src->match;
        st->others_fail = (uint8_t)src->others_fail;
        st->timeout_ms = src->timeout_ms ? src->timeout_ms : 1;
        memcpy(st->text, src->text, sizeof st->text);
        int bad = 0;
        if (st->op == PS_STEP_SEND_BINARY)
            bad = agent_script_unhex(src->text, st->bin, sizeof st->bin, &st->bin_len);
        else if (st->op == PS_STEP_EXPECT && st->match == PS_MATCH_JSON)
            bad = agent_script_split_eq(st);
        else if (st->op == PS_STEP_EXPECT && st->match == PS_MATCH_REGEX) {
            if (agent_script_compile(&st->re, st->text, err, errlen, "step", i) < 0)
                goto fail;
            st->has_re = 1;
        }
        if (bad) {
            snprintf(err, errlen, "session step %u: malformed %s", i,
                     st->op == PS_STEP_SEND_BINARY ? "binary frame" : "JSON expectation");
            goto fail;
        }
    }
    for (uint32_t i = 0; i < a->n_captures; i++) {
        const struct ps_session_capture *src = &a->captures[i];
        struct agent_script_cap *cp = &s->caps[i];
        if (src->step >= a->n_steps || src->var >= a->n_session_vars ||
            a->steps[src->step].op != PS_STEP_EXPECT) {
            snprintf(err, errlen, "session capture %u: refers to no expect step or variable", i);
            goto fail;
        }
        cp->var = src->var;
        cp->json = src->match == PS_MATCH_JSON;
        memcpy(cp->from, src->from, sizeof cp->from);
        if (!cp->json) {
            if (agent_script_compile(&cp->re, cp->from, err, errlen, "capture", i) < 0)
                goto fail;
            cp->has_re = 1;
        }
        struct agent_script_step *st = &s->steps[src->step];
        if (!st->n_caps)
            st->first_cap = (uint8_t)i;
        else if (st->first_cap + st->n_caps != i) {
            snprintf(err, errlen, "session capture %u: a step's captures must be listed together", i);
            goto fail;
        }
        st->n_caps++;
    }
    s->n_captures = a->n_captures;
    if (a->hb_match && a->hb_expect[0]) {
        struct agent_script_step *hb = &s->hb;
        hb->op = PS_STEP_EXPECT;
        hb->match = (uint8_t)a->hb_match;
        memcpy(hb->text, a->hb_expect, sizeof hb->text);
        if (hb->match == PS_MATCH_JSON && agent_script_split_eq(hb)) {
            snprintf(err, errlen, "heartbeat: malformed JSON expectation");
            goto fail;
        }
        if (hb->match == PS_MATCH_REGEX) {
            if (agent_script_compile(&hb->re, hb->text, err, errlen, "heartbeat", 0) < 0)
                goto fail;
            hb->has_re = 1;
        }
    }
    if (a->ack_id_match) {   /* acks of the service's own ids: a capture run on every push */
        struct agent_script_cap *cp = &s->ack_id;
        cp->json = a->ack_id_match == PS_MATCH_JSON;
        memcpy(cp->from, a->ack_id_from, sizeof cp->from);
        if (!cp->json) {
            if (agent_script_compile(&cp->re, cp->from, err, errlen, "ack_id", 0) < 0)
                goto fail;
            cp->has_re = 1;
        }
        s->has_ack_id = 1;
    }
    /* per target: its own script if it has one, else the plan-wide one */
    for (uint32_t t = 0; t < a->n_targets; t++) {
        uint32_t own = 0;
        for (uint32_t i = 0; i < a->n_steps; i++)
            own += a->steps[i].set == t + 1;
        uint32_t set = own ? t + 1 : 0, n = 0;
        for (uint32_t i = 0; i < a->n_steps; i++)
            if (a->steps[i].set == set)
                s->order[t][n++] = (uint8_t)i;
        s->n_order[t] = (uint8_t)n;
    }
    return 0;
fail:
    agent_script_free(s);
    return -1;
}

/* ------------------------------------------------------------ JSON */

static const cJSON *agent_script_json_at(const cJSON *root, const char *path)
{
    const cJSON *node = root;
    char seg[PS_TEXT_MAX];
    while (node && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof seg)
            return NULL;
        memcpy(seg, path, n);
        seg[n] = 0;
        path += n + (path[n] == '.');
        if (cJSON_IsArray(node)) {
            char *end;
            long idx = strtol(seg, &end, 10);
            node = *end || idx < 0 ? NULL : cJSON_GetArrayItem(node, (int)idx);
        } else {
            node = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, seg) : NULL;
        }
    }
    return node;
}

/* The value of a JSON node as text: strings as they are, the rest as JSON. */
static int agent_script_json_text(const cJSON *v, char *buf, size_t len)
{
    if (cJSON_IsString(v))
        return snprintf(buf, len, "%s", v->valuestring) < (int)len ? 0 : -1;
    return cJSON_PrintPreallocated((cJSON *)v, buf, (int)len, 0) ? 0 : -1;
}

static int agent_script_json_eq(const cJSON *v, const char *want)
{
    if (!v)
        return 0;
    if (cJSON_IsString(v))
        return !strcmp(v->valuestring, want);
    if (cJSON_IsNumber(v)) {
        char *end;
        double d = strtod(want, &end);
        return *want && !*end && d == v->valuedouble;
    }
    if (cJSON_IsBool(v))
        return !strcmp(want, cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsNull(v))
        return !strcmp(want, "null");
    return 0;
}

/* ------------------------------------------------------------ captures */

const char *agent_script_var(const struct agent_script *s, const char *region, uint32_t var)
{
    const char *p = region;
    for (uint32_t i = 0; i < var && i < s->n_vars; i++)
        p += strlen(p) + 1;
    return p;
}

int agent_script_set_var(const struct agent_script *s, char *region, uint32_t var,
                         const char *val, size_t vlen)
{
    char tmp[PS_SESSION_VARS_BYTES_MAX];
    size_t o = 0;
    for (uint32_t i = 0; i < s->n_vars; i++) {
        const char *cur = i == var ? val : agent_script_var(s, region, i);
        size_t n = i == var ? vlen : strlen(cur);
        if (o + n + 1 > s->vars_bytes || memchr(cur, 0, n))
            return -1;
        memcpy(tmp + o, cur, n);
        tmp[o + n] = 0;
        o += n + 1;
    }
    memcpy(region, tmp, o);
    return 0;
}

static int agent_script_capture(const struct agent_script *s, const struct agent_script_cap *cp,
                                const char *msg, const cJSON *json, char *region)
{
    if (cp->json) {
        char buf[PS_SESSION_VARS_BYTES_MAX];
        const cJSON *v = json ? agent_script_json_at(json, cp->from) : NULL;
        if (!v || agent_script_json_text(v, buf, sizeof buf) < 0)
            return -1;
        return agent_script_set_var(s, region, cp->var, buf, strlen(buf));
    }
    regmatch_t m[2];
    if (regexec(&cp->re, msg, 2, m, 0))
        return -1;
    int g = cp->re.re_nsub >= 1 && m[1].rm_so >= 0;
    return agent_script_set_var(s, region, cp->var, msg + m[g].rm_so,
                                (size_t)(m[g].rm_eo - m[g].rm_so));
}

/* The id an ack names, from a pushed message (NUL-terminated, len bytes):
 * the JSON path's value (jsonpath.c, no allocation), or the regex's group 1 or
 * whole match. glibc's regexec allocates scratch when asked for a group, and
 * not for the whole match alone, so a pattern without a group asks for one
 * match only. */
int agent_script_ack_id(const struct agent_script *s, const char *msg, size_t len, char *out,
                        size_t cap)
{
    const struct agent_script_cap *cp = &s->ack_id;
    size_t n;
    if (cp->json)
        return agent_json_find(msg, len, cp->from, out, cap, &n);
    regmatch_t m[2];
    size_t groups = cp->re.re_nsub >= 1 ? 2 : 1;
    if (strlen(msg) != len || regexec(&cp->re, msg, groups, m, 0))
        return -1;
    int g = groups == 2 && m[1].rm_so >= 0;
    n = (size_t)(m[g].rm_eo - m[g].rm_so);
    if (n >= cap)
        return -1;
    memcpy(out, msg + m[g].rm_so, n);
    out[n] = 0;
    return 0;
}

/* ------------------------------------------------------------ matching */

int agent_script_match(const struct agent_script *s, uint32_t step, const char *msg, size_t len,
                       char *region)
{
    return agent_script_match_step(s, &s->steps[step], msg, len, region);
}

int agent_script_match_step(const struct agent_script *s, const struct agent_script_step *st,
                            const char *msg, size_t len, char *region)
{
    cJSON *json = NULL;
    int ok;
    switch (st->match) {
    case PS_MATCH_CONTAINS:
        ok = memmem(msg, len, st->text, strlen(st->text)) != NULL;
        break;
    case PS_MATCH_REGEX:
        ok = strlen(msg) == len && !regexec(&st->re, msg, 0, NULL, 0);
        break;
    case PS_MATCH_JSON:
        json = cJSON_ParseWithLength(msg, len);
        ok = json != NULL;
        for (uint32_t i = 0; ok && i < st->n_eq; i++)
            ok = agent_script_json_eq(agent_script_json_at(json, st->eq[i].path), st->eq[i].value);
        break;
    default:
        ok = 0;
    }
    for (uint32_t i = 0; ok && i < st->n_caps; i++) {
        const struct agent_script_cap *cp = &s->caps[st->first_cap + i];
        if (!cp->json && !json && strlen(msg) != len)
            ok = 0;
        else if (!json && cp->json && !(json = cJSON_ParseWithLength(msg, len)))
            ok = 0;
        else
            ok = agent_script_capture(s, cp, msg, json, region) == 0;
    }
    cJSON_Delete(json);
    return ok;
}

/* plan_session: the `session:` block, the script each connection runs after
 * the upgrade and before it counts as connected (docs/plan.md "session").
 *
 * The block is parsed straight into the form the ASSIGN command carries
 * (struct plan_session mirrors ps_assign's session fields), so the agent gets
 * steps it can run without another parse: sends as templates (binary frames as
 * hex), expects as a matcher kind and its text, JSON equalities as lines
 * "path=value", captures as (step, variable, regex or JSON path). A target may
 * bring its own block, which replaces the plan-wide one for its connections:
 * its steps carry set = target + 1, the plan-wide ones set 0.
 *
 * Everything the agent would trip on is refused here with file:line:col: a
 * regex regcomp() rejects, a JSON path that is not dotted names, a template
 * variable that no earlier step of the same script captures, a step with both
 * or neither of send and expect, keys that apply to expects only. */
#include "plan_schema.h"
#include "ps_regex.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>


#define PLAN_SESSION_TIMEOUT_MS 10000   /* an expect's default wait */

static const char *const plan_session_builtins[] = {"conn", "agent", "target"};

static struct ps_session_step *plan_session_cur(struct plan_ctx *c)
{
    return &c->p->session.steps[c->p->session.n_steps];
}

/* ------------------------------------------------------------ small checks */

static int plan_session_regex(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                              const char *re)
{
    regex_t rx;
    uint64_t positions = ps_regex_positions(re);
    if (positions > PS_REGEX_POSITIONS_MAX)
        return plan_fail(c, v, path, "regular expression too big once compiled: its repetitions "
                         "expand to %llu positions, at most %d (nested {m,n} multiply)",
                         (unsigned long long)positions, PS_REGEX_POSITIONS_MAX);
    int rc = regcomp(&rx, re, REG_EXTENDED);
    if (rc) {
        char why[128];
        regerror(rc, &rx, why, sizeof why);
        return plan_fail(c, v, path, "regular expression does not compile: %s", why);
    }
    regfree(&rx);
    return 0;
}

/* Dotted names; a segment of digits indexes an array: "user.id", "items.0.id". */
static int plan_session_json_path(struct plan_ctx *c, const struct yaml_doc_node *v,
                                  const char *path, const char *jp)
{
    size_t seg = 0;
    for (const char *q = jp;; q++) {
        if (*q == '.' || !*q) {
            if (!seg)
                return plan_fail(c, v, path, "JSON path \"%s\" has an empty segment at character "
                                 "%zu; write dotted names like session.id", jp, (size_t)(q - jp) + 1);
            if (!*q)
                return 0;
            seg = 0;
        } else if (isalnum((unsigned char)*q) || *q == '_' || *q == '-') {
            seg++;
        } else {
            return plan_fail(c, v, path, "JSON path \"%s\": character %zu ('%c') is not allowed; "
                             "write dotted names like session.id", jp, (size_t)(q - jp) + 1, *q);
        }
    }
}

static int plan_session_var(const struct plan_session *s, const char *name)
{
    for (uint32_t i = 0; i < s->n_vars; i++)
        if (!strcmp(s->vars[i], name))
            return (int)i;
    return -1;
}

/* Is var captured by a step before `before` of the same script? */
static int plan_session_captured(const struct plan_session *s, int var, uint32_t set, uint32_t before)
{
    for (uint32_t i = 0; i < s->n_captures; i++)
        if ((int)s->captures[i].var == var && s->captures[i].step < before &&
            s->steps[s->captures[i].step].set == set)
            return 1;
    return 0;
}

/* Every {name} (letters, digits, _) must be a builtin or captured earlier
 * (heartbeat: captured by any step, or {seq} / {now_ms}); other braces (JSON)
 * and dotted names (left to other template sources) pass. */
enum { PLAN_TPL_STEP, PLAN_TPL_HEARTBEAT, PLAN_TPL_ACK };

static int plan_session_tpl(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                            const char *tpl, int kind)
{
    const struct plan_session *s = &c->p->session;
    for (const char *q = strchr(tpl, '{'); q; q = strchr(q + 1, '{')) {
        size_t n = 0;
        while (isalnum((unsigned char)q[1 + n]) || q[1 + n] == '_')
            n++;
        if (!n || q[1 + n] != '}' || n >= PS_VAR_NAME_MAX)
            continue;
        char name[PS_VAR_NAME_MAX];
        memcpy(name, q + 1, n);
        name[n] = 0;
        int known = 0;
        for (size_t i = 0; i < NFIELDS(plan_session_builtins); i++)
            known |= !strcmp(name, plan_session_builtins[i]);
        int var = plan_session_var(s, name);
        if (kind == PLAN_TPL_HEARTBEAT) {
            if (!known && var < 0 && strcmp(name, "seq") && strcmp(name, "now_ms"))
                return plan_fail(c, v, path, "{%s} is not a heartbeat variable (conn, agent, "
                                 "target, seq, now_ms and the session's captures)", name);
            continue;
        }
        if (kind == PLAN_TPL_ACK) {
            if (!known && var < 0 && strcmp(name, "msg_id"))
                return plan_fail(c, v, path, "{%s} is not an ack variable (conn, agent, target, "
                                 "msg_id and the session's captures)", name);
            continue;
        }
        if (!known && (var < 0 || !plan_session_captured(s, var, c->session_set, s->n_steps)))
            return plan_fail(c, v, path, "{%s} is not captured by an earlier step of this session "
                             "(variables: conn, agent, target and the captures before this step)",
                             name);
    }
    return 0;
}

static int plan_session_scalar(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                               char *dst, size_t size)
{
    struct plan_field f = PLAN_FIELD("", plan_v_string, dst, size, PLAN_F_NONEMPTY, NULL);
    return plan_v_string(c, v, path, &f);
}

/* A map with exactly one of the keys in `keys`; its index, or -1 after an error. */
static int plan_session_one_of(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                               const char *const *keys, size_t nk, const char *what)
{
    if (plan_want_map(c, v, path, what) < 0)
        return -1;
    if (v->n != 1)
        return plan_fail(c, v, path, "expected %s (one key), got %zu keys", what, v->n);
    const struct yaml_doc_node *k = yaml_doc_key(v, 0);
    for (size_t i = 0; k->kind == YAML_DOC_SCALAR && k->value && i < nk; i++)
        if (!strcmp(k->value, keys[i]))
            return (int)i;
    char g[PLAN_GOT_MAX];
    return plan_fail(c, k, path, "expected %s, got key %s", what, plan_got(k, g, sizeof g));
}

/* ------------------------------------------------------------ send */

static int plan_session_hex(char *out, size_t size, const unsigned char *b, size_t n)
{
    static const char dig[] = "0123456789abcdef";
    if (2 * n + 1 > size)
        return -1;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = dig[b[i] >> 4];
        out[2 * i + 1] = dig[b[i] & 15];
    }
    out[2 * n] = 0;
    return 0;
}

static int plan_session_b64(const char *s, unsigned char *out, size_t cap, size_t *n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0, i = 0;
    for (; s[i] && s[i] != '='; i++) {
        const char *p = strchr(al, s[i]);
        if (!p || !s[i])
            return (int)i + 1;
        acc = acc << 6 | (uint32_t)(p - al);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    for (; s[i] == '='; i++)
        ;
    if (s[i])
        return (int)i + 1;
    *n = o;
    return 0;
}

static int plan_session_send(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                             const struct plan_field *f)
{
    (void)f;
    struct ps_session_step *st = plan_session_cur(c);
    if (v->kind == YAML_DOC_SCALAR) {
        st->op = PS_STEP_SEND_TEXT;
        if (plan_session_scalar(c, v, path, st->text, sizeof st->text) < 0)
            return -1;
        return plan_session_tpl(c, v, path, st->text, PLAN_TPL_STEP);
    }
    static const char *const kinds[] = {"hex", "base64"};
    int k = plan_session_one_of(c, v, path, kinds, 2, "a text, or a binary frame like {hex: \"0a0b\"} "
                                "or {base64: \"CgsM\"}");
    if (k < 0)
        return -1;
    char kpath[PLAN_PATH_MAX], raw[PS_TEXT_MAX * 2];
    const struct yaml_doc_node *val = yaml_doc_val(v, 0);
    plan_path_key(kpath, path, kinds[k]);
    if (plan_session_scalar(c, val, kpath, raw, sizeof raw) < 0)
        return -1;
    unsigned char bin[PS_TEXT_MAX / 2];
    size_t n = 0;
    if (k == 0) {
        size_t len = strlen(raw);
        for (size_t i = 0; i < len; i++)
            if (!isxdigit((unsigned char)raw[i]))
                return plan_fail(c, val, kpath, "not hex: character %zu ('%c')", i + 1, raw[i]);
        if (len % 2)
            return plan_fail(c, val, kpath, "hex needs an even number of digits, got %zu", len);
        if (len / 2 > sizeof bin)
            return plan_fail(c, val, kpath, "binary frame too long: at most %zu bytes", sizeof bin);
        for (size_t i = 0; i < len / 2; i++) {
            unsigned x;
            sscanf(raw + 2 * i, "%2x", &x);
            bin[n++] = (unsigned char)x;
        }
    } else {
        int bad = plan_session_b64(raw, bin, sizeof bin, &n);
        if (bad < 0)
            return plan_fail(c, val, kpath, "binary frame too long: at most %zu bytes", sizeof bin);
        if (bad)
            return plan_fail(c, val, kpath, "not base64: character %d", bad);
    }
    if (!n)
        return plan_fail(c, val, kpath, "empty binary frame");
    st->op = PS_STEP_SEND_BINARY;
    plan_session_hex(st->text, sizeof st->text, bin, n);
    return 0;
}

/* ------------------------------------------------------------ expect */

static int plan_session_json_eq(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                                char *text, size_t size)
{
    if (plan_want_map(c, v, path, "a map of JSON paths and values like {type: welcome}") < 0)
        return -1;
    if (!v->n)
        return plan_fail(c, v, path, "needs at least one JSON path and value");
    size_t o = 0;
    for (size_t i = 0; i < v->n; i++) {
        const struct yaml_doc_node *k = yaml_doc_key(v, i), *val = yaml_doc_val(v, i);
        char kpath[PLAN_PATH_MAX], g[PLAN_GOT_MAX];
        if (k->kind != YAML_DOC_SCALAR || yaml_doc_is_null(k))
            return plan_fail(c, k, path, "keys must be JSON paths, got %s", plan_got(k, g, sizeof g));
        plan_path_key(kpath, path, k->value);
        if (plan_session_json_path(c, k, kpath, k->value) < 0)
            return -1;
        if (val->kind != YAML_DOC_SCALAR)
            return plan_fail(c, val, kpath, "expected a value to compare (string, number, "
                             "true/false or null), got %s", plan_got(val, g, sizeof g));
        const char *s = yaml_doc_is_null(val) ? "null" : val->value;
        if (strchr(s, '\n'))
            return plan_fail(c, val, kpath, "may not contain line breaks");
        int n = snprintf(text + o, size - o, "%s%s=%s", o ? "\n" : "", k->value, s);
        if (n < 0 || (size_t)n >= size - o)
            return plan_fail(c, val, kpath, "these JSON fields are too long together: at most %zu "
                             "bytes", size - 1);
        o += (size_t)n;
    }
    return 0;
}

/* An expectation into text/match; a plain text means scalar_match. */
static int plan_session_matcher(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                                char *text, size_t size, uint32_t *match, uint32_t scalar_match)
{
    if (v->kind == YAML_DOC_SCALAR) {
        *match = scalar_match;
        return plan_session_scalar(c, v, path, text, size);
    }
    static const char *const kinds[] = {"contains", "regex", "json"};
    int k = plan_session_one_of(c, v, path, kinds, 3, "a text to find, or one of {contains: TEXT}, "
                                "{regex: RE}, {json: {PATH: VALUE}}");
    if (k < 0)
        return -1;
    char kpath[PLAN_PATH_MAX];
    const struct yaml_doc_node *val = yaml_doc_val(v, 0);
    plan_path_key(kpath, path, kinds[k]);
    *match = (uint32_t)(PS_MATCH_CONTAINS + k);
    if (*match == PS_MATCH_JSON)
        return plan_session_json_eq(c, val, kpath, text, size);
    if (plan_session_scalar(c, val, kpath, text, size) < 0)
        return -1;
    return *match == PS_MATCH_REGEX ? plan_session_regex(c, val, kpath, text) : 0;
}

static int plan_session_expect(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                               const struct plan_field *f)
{
    (void)f;
    struct ps_session_step *st = plan_session_cur(c);
    st->op = PS_STEP_EXPECT;
    return plan_session_matcher(c, v, path, st->text, sizeof st->text, &st->match,
                                PS_MATCH_CONTAINS);
}

/* heartbeat.expect: a plain text is the whole reply (as before sessions); the
 * maps are the session matchers. */
int plan_v_hb_expect(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                     const struct plan_field *f)
{
    (void)f;
    if (v->kind == YAML_DOC_SCALAR) {
        struct plan_field sf = PLAN_FIELD("", plan_v_string, c->p->heartbeat.expect,
                                          sizeof c->p->heartbeat.expect, 0, NULL);
        c->p->heartbeat.expect_match = 0;
        return plan_v_string(c, v, path, &sf);
    }
    return plan_session_matcher(c, v, path, c->p->heartbeat.expect, sizeof c->p->heartbeat.expect,
                                &c->p->heartbeat.expect_match, 0);
}

static int plan_session_others(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                               const struct plan_field *f)
{
    (void)f;
    const char *s = plan_scalar(c, v, path, "ignore or fail");
    if (!s)
        return -1;
    if (strcmp(s, "ignore") && strcmp(s, "fail"))
        return plan_fail(c, v, path, "expected ignore or fail, got \"%s\"", s);
    plan_session_cur(c)->others_fail = !strcmp(s, "fail");
    return 0;
}

static int plan_session_timeout(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                                const struct plan_field *f)
{
    int64_t us;
    struct plan_field d = PLAN_FIELD("", plan_v_duration, &us, 0, 0, NULL);
    (void)f;
    if (plan_v_duration(c, v, path, &d) < 0)
        return -1;
    if (us < 1000)
        return plan_fail(c, v, path, "at least 1ms");
    plan_session_cur(c)->timeout_ms = (uint32_t)(us / 1000);
    return 0;
}

/* Where a value is in a message: {json: PATH} or {regex: RE}, checked as the
 * agent will use it (a dotted path; a regex regcomp() takes). */
static int plan_session_source(struct plan_ctx *c, const struct yaml_doc_node *src, const char *path,
                               char *from, size_t size, uint32_t *match)
{
    static const char *const kinds[] = {"regex", "json"};
    int kind = plan_session_one_of(c, src, path, kinds, 2, "{json: PATH} or {regex: RE} "
                                   "(group 1, or the whole match)");
    if (kind < 0)
        return -1;
    char spath[PLAN_PATH_MAX];
    const struct yaml_doc_node *sv = yaml_doc_val(src, 0);
    plan_path_key(spath, path, kinds[kind]);
    if (plan_session_scalar(c, sv, spath, from, size) < 0)
        return -1;
    *match = kind ? PS_MATCH_JSON : PS_MATCH_REGEX;
    return kind ? plan_session_json_path(c, sv, spath, from) : plan_session_regex(c, sv, spath, from);
}

/* ack_id: where a push's own id is, for services that ack their ids, not ours */
static int plan_session_ack_id(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                               const struct plan_field *f)
{
    (void)f;
    struct plan_session *s = &c->p->session;
    return plan_session_source(c, v, path, s->ack_id_from, sizeof s->ack_id_from, &s->ack_id_match);
}

/* capture: {NAME: {json: PATH} | {regex: RE}} */
static int plan_session_capture(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                                const struct plan_field *f)
{
    (void)f;
    struct plan_session *s = &c->p->session;
    if (plan_want_map(c, v, path, "a map like {sid: {json: session.id}} or {sid: {regex: "
                      "\"sid=([0-9a-f]+)\"}}") < 0)
        return -1;
    for (size_t i = 0; i < v->n; i++) {
        const struct yaml_doc_node *k = yaml_doc_key(v, i), *src = yaml_doc_val(v, i);
        char kpath[PLAN_PATH_MAX], g[PLAN_GOT_MAX];
        if (k->kind != YAML_DOC_SCALAR || yaml_doc_is_null(k))
            return plan_fail(c, k, path, "keys must be variable names, got %s", plan_got(k, g, sizeof g));
        plan_path_key(kpath, path, k->value);
        const char *name = k->value;
        size_t nl = strlen(name);
        int ok = nl < PS_VAR_NAME_MAX && (isalpha((unsigned char)name[0]) || name[0] == '_');
        for (size_t j = 0; ok && j < nl; j++)
            ok = isalnum((unsigned char)name[j]) || name[j] == '_';
        if (!ok)
            return plan_fail(c, k, kpath, "a variable name is letters, digits and _ (not first), "
                             "at most %d bytes", PS_VAR_NAME_MAX - 1);
        for (size_t j = 0; j < NFIELDS(plan_session_builtins); j++)
            if (!strcmp(name, plan_session_builtins[j]))
                return plan_fail(c, k, kpath, "{%s} is a built-in variable; pick another name", name);
        if (s->n_captures >= PS_SESSION_CAPTURES_MAX)
            return plan_fail(c, k, kpath, "too many captures: at most %d", PS_SESSION_CAPTURES_MAX);
        int var = plan_session_var(s, name);
        if (var < 0) {
            if (s->n_vars >= PS_SESSION_VARS_MAX)
                return plan_fail(c, k, kpath, "too many variables: at most %d", PS_SESSION_VARS_MAX);
            var = (int)s->n_vars++;
            snprintf(s->vars[var], PS_VAR_NAME_MAX, "%s", name);
        }
        struct ps_session_capture *cap = &s->captures[s->n_captures];
        if (plan_session_source(c, src, kpath, cap->from, sizeof cap->from, &cap->match) < 0)
            return -1;
        cap->step = s->n_steps;
        cap->var = (uint32_t)var;
        s->n_captures++;
    }
    return 0;
}

/* ------------------------------------------------------------ steps */

static int plan_session_step(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path)
{
    struct plan_session *s = &c->p->session;
    struct ps_session_step *st = plan_session_cur(c);
    memset(st, 0, sizeof *st);
    st->set = c->session_set;
    st->timeout_ms = PLAN_SESSION_TIMEOUT_MS;
    struct plan_field sf[] = {
        PLAN_FIELD("send", plan_session_send, NULL, 0, 0, NULL),
        PLAN_FIELD("expect", plan_session_expect, NULL, 0, 0, NULL),
        PLAN_FIELD("timeout", plan_session_timeout, NULL, 0, 0, NULL),
        PLAN_FIELD("others", plan_session_others, NULL, 0, 0, NULL),
        PLAN_FIELD("capture", plan_session_capture, NULL, 0, 0, NULL),
    };
    if (plan_map(c, v, path, sf, NFIELDS(sf), "a step like {send: TEXT} or {expect: TEXT}") < 0)
        return -1;
    char kpath[PLAN_PATH_MAX];
    if (!!sf[0].node == !!sf[1].node)
        return plan_fail(c, v, path, sf[0].node ? "a step either sends or expects, not both; "
                         "make two steps" : "a step needs send or expect");
    for (size_t i = 2; sf[0].node && i < NFIELDS(sf); i++)
        if (sf[i].node) {
            plan_path_key(kpath, path, sf[i].key);
            return plan_fail(c, sf[i].key_node, kpath, "applies to expect steps only");
        }
    s->n_steps++;
    return 0;
}

static int plan_session_steps(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                              const struct plan_field *f)
{
    (void)f;
    struct plan_session *s = &c->p->session;
    if (plan_want_list(c, v, path, "a list of steps like - {send: TEXT} or - {expect: TEXT}") < 0)
        return -1;
    if (!v->n)
        return plan_fail(c, v, path, "needs at least one step");
    for (size_t i = 0; i < v->n; i++) {
        char ipath[PLAN_PATH_MAX];
        plan_path_index(ipath, path, i);
        if (s->n_steps >= PS_SESSION_STEPS_MAX)
            return plan_fail(c, v->items[i], ipath, "too many session steps: at most %d in the "
                             "whole plan", PS_SESSION_STEPS_MAX);
        if (plan_session_step(c, v->items[i], ipath) < 0)
            return -1;
    }
    return 0;
}

int plan_v_session(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                   const struct plan_field *f)
{
    struct plan_session *s = &c->p->session;
    int top = f->aux == NULL;   /* the plan-wide block; a target's gives aux */
    c->session_set = top ? 0 : *(const uint32_t *)f->aux;
    struct plan_field sf[] = {
        PLAN_FIELD("steps", plan_session_steps, NULL, 0, top ? 0 : PLAN_F_REQUIRED, NULL),
        PLAN_FIELD_MAX("vars_bytes", plan_v_count32, &s->vars_bytes, 0, PS_SESSION_VARS_BYTES_MAX),
        PLAN_FIELD("ack", plan_v_string, s->ack, sizeof s->ack, PLAN_F_NONEMPTY | PLAN_F_ONELINE, NULL),
        PLAN_FIELD("ack_id", plan_session_ack_id, NULL, 0, 0, NULL),
    };
    if (plan_map(c, v, path, sf, top ? NFIELDS(sf) : 1,
                 top ? "a map like {steps: [...], vars_bytes: 64, ack: TEXT, ack_id: {json: id}}"
                 : "a map like {steps: [...]} (vars_bytes, ack and ack_id are plan-wide)") < 0)
        return -1;
    if (!top)
        return 0;
    c->ack_node = sf[2].node;
    if (sf[3].node && !sf[2].node) {
        char kpath[PLAN_PATH_MAX];
        plan_path_key(kpath, path, "ack_id");
        return plan_fail(c, sf[3].key_node, kpath, "says where the id of an ack is, but there is "
                         "no ack: add session.ack (a template with {msg_id})");
    }
    return 0;
}

int plan_session_check_heartbeat(struct plan_ctx *c)
{
    if (c->ack_node && plan_session_tpl(c, c->ack_node, "session.ack", c->p->session.ack,
                                        PLAN_TPL_ACK) < 0)
        return -1;
    if (!c->hb_text_node)
        return 0;
    return plan_session_tpl(c, c->hb_text_node, "heartbeat.text", c->p->heartbeat.text,
                            PLAN_TPL_HEARTBEAT);
}

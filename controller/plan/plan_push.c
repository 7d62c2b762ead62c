/* plan_push: the plan keys of the push adapters (issue 13, docs/protocols.md).
 *
 * A push URL's scheme picks the adapter (pusher.c's table says which schemes
 * exist, so the plan and the pusher never disagree): http(s):// as always,
 * mqtt(s)://broker/topic-template, grpc(s)://host/package.Service/Method. Each
 * adapter's own keys in a push phase (method and headers for http, qos for
 * mqtt, metadata and message for grpc) are checked here as values, and once
 * every target is read (plan_push_check) against the adapters the phase's
 * calls actually go through, so a key that would be ignored is an error that
 * names where it was written. */
#include "plan_schema.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pusher.h"

int plan_v_push_url(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                    const struct plan_field *f)
{
    char g[PLAN_GOT_MAX];
    const char *s = plan_scalar(c, v, path, "a push URL");
    if (!s)
        return -1;
    int kind = pusher_kind_of(s, NULL);
    if (kind < 0)
        return plan_fail(c, v, path, "expected a push URL starting with %s, got %s",
                         pusher_schemes_list(), plan_got(v, g, sizeof(g)));
    const char *rest = strstr(s, "://") + 3;
    if (plan_check_url_rest(c, v, path, s, rest) < 0)
        return -1;
    const char *at = rest + strcspn(rest, "/");
    if (kind == PUSHER_MQTT) {
        if (*at != '/' || !at[1])
            return plan_fail(c, v, path, "needs a topic after the broker, like "
                             "mqtt://host:1883/users/{conn}");
        if (strpbrk(at + 1, "+#"))
            return plan_fail(c, v, path, "the topic may not contain the wildcards + or #: "
                             "a PUBLISH names one topic");
    } else if (kind == PUSHER_GRPC) {
        const char *m = *at == '/' ? strchr(at + 1, '/') : NULL;
        if (!m || m == at + 1 || !m[1] || strchr(m + 1, '/') || strpbrk(at, "?#"))
            return plan_fail(c, v, path, "needs the method's path after the host, like "
                             "grpc://host:50051/package.Service/Method");
    }
    memcpy(f->dst, s, strlen(s) + 1);
    return 0;
}

int plan_v_qos(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
               const struct plan_field *f)
{
    const char *s = plan_scalar(c, v, path, "0 or 1");
    if (!s)
        return -1;
    if (strcmp(s, "0") && strcmp(s, "1"))
        return plan_fail(c, v, path, "must be 0 (at most once) or 1 (at least once, "
                         "acknowledged), got \"%s\"%s", s, !strcmp(s, "2") ? ": QoS 2 is not "
                         "supported" : "");
    *(uint32_t *)f->dst = (uint32_t)(s[0] - '0');
    return 0;
}

/* Names gRPC, HTTP/2 or the adapter own. */
static const char *plan_metadata_reserved(const char *name)
{
    static const char *const t[] = {"content-type", "te", "content-length", "host",
                                    "user-agent", "connection", "transfer-encoding"};
    if (name[0] == ':')
        return "a pseudo-header of HTTP/2";
    if (!strncasecmp(name, "grpc-", 5))
        return "grpc-* names belong to the gRPC protocol";
    size_t n = strlen(name);
    if (n > 4 && !strcasecmp(name + n - 4, "-bin"))
        return "binary (-bin) metadata is not supported";
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcasecmp(name, t[i]))
            return "the gRPC adapter sets it";
    return NULL;
}

int plan_v_grpc_metadata(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                         const struct plan_field *f)
{
    struct ps_header_tpl *h = f->dst;
    uint32_t *count = f->aux;
    char g[PLAN_GOT_MAX];
    if (plan_want_map(c, v, path, "a map of metadata names to value templates") < 0)
        return -1;
    for (size_t i = 0; i < v->n; i++) {
        const struct yaml_doc_node *k = yaml_doc_key(v, i), *val = yaml_doc_val(v, i);
        char kpath[PLAN_PATH_MAX];
        if (k->kind != YAML_DOC_SCALAR || yaml_doc_is_null(k))
            return plan_fail(c, k, path, "expected a metadata name, got %s",
                             plan_got(k, g, sizeof(g)));
        plan_path_key(kpath, path, k->value);
        if (i >= PS_MAX_HEADERS)
            return plan_fail(c, k, kpath, "too many metadata entries: at most %d", PS_MAX_HEADERS);
        if (strlen(k->value) >= PS_HDR_MAX ||
            strspn(k->value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
                != strlen(k->value))
            return plan_fail(c, k, kpath, "not a valid metadata name (letters, digits and "
                             "- _ . only, shorter than %d)", PS_HDR_MAX);
        const char *why = plan_metadata_reserved(k->value);
        if (why)
            return plan_fail(c, k, kpath, "this name cannot be set here: %s", why);
        for (size_t j = 0; j < i; j++)
            if (!strcasecmp(yaml_doc_key(v, j)->value, k->value))
                return plan_fail(c, k, kpath, "duplicate metadata name (names are "
                                 "case-insensitive; first given at %d:%d)",
                                 yaml_doc_key(v, j)->line, yaml_doc_key(v, j)->col);
        struct plan_field vf = PLAN_FIELD(k->value, plan_v_string, h[i].value, PS_HDR_MAX,
                                          PLAN_F_ONELINE, NULL);
        if (plan_v_string(c, val, kpath, &vf) < 0)
            return -1;
        for (char *q = memcpy(h[i].name, k->value, strlen(k->value) + 1); *q; q++)
            *q = (char)(*q >= 'A' && *q <= 'Z' ? *q - 'A' + 'a' : *q);   /* HTTP/2: lower case */
        *count = (uint32_t)(i + 1);
    }
    return 0;
}

/* A plain integer literal: the varint form of a field. */
static int plan_is_int(const char *s)
{
    if (*s == '-')
        s++;
    return *s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 19;
}

/* One field's value: "text" (string), 42 (integer), {int: tpl} or {string: tpl}. */
static int plan_grpc_field(struct plan_ctx *c, const struct yaml_doc_node *val, const char *kpath,
                           struct plan_grpc_field *fl)
{
    char g[PLAN_GOT_MAX];
    const struct yaml_doc_node *tv = val;
    if (val->kind == YAML_DOC_MAP) {
        const struct yaml_doc_node *k = val->n == 1 ? yaml_doc_key(val, 0) : NULL;
        if (!k || k->kind != YAML_DOC_SCALAR || (strcmp(k->value, "int") && strcmp(k->value, "string")))
            return plan_fail(c, val, kpath, "expected a template, an integer, or one of "
                             "{int: TEMPLATE} and {string: TEMPLATE}");
        fl->varint = k->value[0] == 'i';
        tv = yaml_doc_val(val, 0);
    } else if (val->kind == YAML_DOC_SCALAR) {
        fl->varint = val->plain && plan_is_int(val->value);
    } else {
        return plan_fail(c, val, kpath, "expected a template or an integer, got %s",
                         plan_got(val, g, sizeof(g)));
    }
    struct plan_field vf = PLAN_FIELD("", plan_v_string, fl->tpl, PS_HDR_MAX, PLAN_F_ONELINE, NULL);
    return plan_v_string(c, tv, kpath, &vf);
}

int plan_v_grpc_message(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                        const struct plan_field *f)
{
    struct plan_push_call *call = f->dst;
    char g[PLAN_GOT_MAX];
    if (plan_want_map(c, v, path, "a map of protobuf field numbers to templates, like "
                      "{1: \"{conn}\", 2: \"{msg}\"}") < 0)
        return -1;
    if (v->n == 0)
        return plan_fail(c, v, path, "needs at least one field");
    int has_msg = 0;
    for (size_t i = 0; i < v->n; i++) {
        const struct yaml_doc_node *k = yaml_doc_key(v, i);
        char kpath[PLAN_PATH_MAX];
        if (k->kind != YAML_DOC_SCALAR || yaml_doc_is_null(k))
            return plan_fail(c, k, path, "expected a field number, got %s", plan_got(k, g, sizeof(g)));
        plan_path_key(kpath, path, k->value);
        char *end;
        unsigned long n = strtoul(k->value, &end, 10);
        if (*end || k->value[0] < '1' || k->value[0] > '9' || n > 536870911ul ||
            (n >= 19000 && n <= 19999))
            return plan_fail(c, k, kpath, "not a protobuf field number (1 to 536870911, not "
                             "19000-19999), got %s", plan_got(k, g, sizeof(g)));
        if (i >= PLAN_GRPC_FIELDS_MAX)
            return plan_fail(c, k, kpath, "too many fields: at most %d", PLAN_GRPC_FIELDS_MAX);
        for (size_t j = 0; j < i; j++)
            if (call->fields[j].number == n)
                return plan_fail(c, k, kpath, "duplicate field number (first given at %d:%d)",
                                 yaml_doc_key(v, j)->line, yaml_doc_key(v, j)->col);
        struct plan_grpc_field *fl = &call->fields[i];
        fl->number = (uint32_t)n;
        if (plan_grpc_field(c, yaml_doc_val(v, i), kpath, fl) < 0)
            return -1;
        has_msg |= !fl->varint && strstr(fl->tpl, "{msg}") != NULL;
        call->n_fields = (uint32_t)(i + 1);
    }
    if (!has_msg)
        return plan_fail(c, v, path, "no string field contains {msg}: the token that lets "
                         "the agents recognise each message");
    return 0;
}

int plan_push_derive_broadcast(struct plan_ctx *c, const struct yaml_doc_node *at,
                               const char *path, struct plan_target *t)
{
    const char *host = strstr(t->push, "://") + 3;
    size_t origin = strcspn(host, "/?#") + (size_t)(host - t->push);
    const char *tail = "/broadcast";
    if (pusher_kind_of(t->push, NULL) == PUSHER_GRPC) {
        origin = (size_t)(strrchr(t->push, '/') - t->push);   /* /package.Service */
        tail = "/Broadcast";
    }
    if (origin + strlen(tail) + 1 > sizeof(t->broadcast))
        return plan_fail(c, at, path, "too long to derive the broadcast URL from; set broadcast");
    memcpy(t->broadcast, t->push, origin);
    memcpy(t->broadcast + origin, tail, strlen(tail) + 1);
    return 0;
}

/* The adapters (bits of 1 << kind) the calls of push phase ph go through. */
static unsigned plan_push_kinds(const struct plan *p, const struct plan_phase *ph)
{
    if (ph->u.push.url[0])
        return 1u << pusher_kind_of(ph->u.push.url, NULL);
    unsigned kinds = 0;
    for (uint32_t t = 0; t < p->n_targets; t++)
        kinds |= 1u << pusher_kind_of(ph->u.push.mode == PLAN_PUSH_BROADCAST ? p->targets[t].broadcast
                                                                            : p->targets[t].push, NULL);
    return kinds;
}

int plan_push_check(struct plan_ctx *c)
{
    static const struct { int kind; const char *key, *schemes; } owner[PLAN_PUSH_KEYS] = {
        [PLAN_PUSH_KEY_METHOD] = {PUSHER_HTTP, "method", "http:// and https://"},
        [PLAN_PUSH_KEY_HEADERS] = {PUSHER_HTTP, "headers", "http:// and https://"},
        [PLAN_PUSH_KEY_QOS] = {PUSHER_MQTT, "qos", "mqtt:// and mqtts://"},
        [PLAN_PUSH_KEY_METADATA] = {PUSHER_GRPC, "metadata", "grpc:// and grpcs://"},
        [PLAN_PUSH_KEY_MESSAGE] = {PUSHER_GRPC, "message", "grpc:// and grpcs://"},
    };
    const struct plan *p = c->p;
    for (uint32_t i = 0; i < p->n_phases; i++) {
        const struct plan_phase *ph = &p->phases[i];
        if (ph->kind != PLAN_PHASE_PUSH)
            continue;
        unsigned kinds = plan_push_kinds(p, ph);
        for (int k = 0; k < PLAN_PUSH_KEYS; k++) {
            if (!c->push_key[i][k] || (kinds & (1u << owner[k].kind)))
                continue;
            char kpath[PLAN_PATH_MAX];
            snprintf(kpath, sizeof kpath, "phases[%u].push.%s", i, owner[k].key);
            return plan_fail(c, c->push_key[i][k], kpath, "applies to %s push URLs only, and "
                             "this phase's calls go to %s", owner[k].schemes,
                             ph->u.push.url[0] ? ph->u.push.url
                             : ph->u.push.mode == PLAN_PUSH_BROADCAST ? p->targets[0].broadcast
                                                                      : p->targets[0].push);
        }
    }
    return 0;
}

const char *plan_push_scheme(const char *url, char *buf, size_t len)
{
    size_t n = 0;
    const char *end = strstr(url, "://");
    for (; end && url + n < end && n + 1 < len; n++)
        buf[n] = (char)tolower((unsigned char)url[n]);
    if (len)
        buf[n] = '\0';
    return buf;
}

const char *plan_target_push_scheme(const struct plan_target *t, char *buf, size_t len)
{
    return plan_push_scheme(t->push[0] ? t->push : t->broadcast, buf, len);
}

/* http and https are the one adapter every plan had before issue 13 */
static int plan_push_plain(const char *scheme)
{
    return !scheme[0] || !strcmp(scheme, "http") || !strcmp(scheme, "https");
}

int plan_targets_plain(const struct plan *p)
{
    char s[16];
    for (uint32_t k = 0; k < p->n_targets; k++)
        if (p->targets[k].protocol != PS_PROTOCOL_WEBSOCKET ||
            !plan_push_plain(plan_target_push_scheme(&p->targets[k], s, sizeof s)))
            return 0;
    for (uint32_t i = 0; i < p->n_phases; i++)
        if (p->phases[i].kind == PLAN_PHASE_PUSH &&
            !plan_push_plain(plan_push_scheme(p->phases[i].u.push.url, s, sizeof s)))
            return 0;
    return 1;
}

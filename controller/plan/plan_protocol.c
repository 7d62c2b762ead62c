/* plan_protocol: the client protocols of a plan (issue 13).
 *
 * A target says what it speaks over its WebSocket with `protocol:`
 * (websocket, the default, socketio, mqtt, stomp); the plan-wide map
 * `protocol_options:` holds the settings the protocols read. One table below
 * says, for each option, its parser and which protocols read it: an option
 * that no target's protocol reads would silently do nothing, so it is an
 * error naming the key and the protocols that read it (the same rule as the
 * heartbeat keys without heartbeat.text). That rule, the app heartbeat's
 * (websocket targets only) and the templates' names need the whole plan, so
 * they run from plan_cross.c (plan_protocol_check) after the walk.
 *
 * The protocols' handshakes run before a session's steps, so their templates
 * know {conn}, {agent}, {target} and {csv.COL} (plan_data.c checks those
 * columns), never a session's captures. */
#include "plan_schema.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ps_units.h"

#define PLAN_PROTO_LIST "websocket, socketio, mqtt, stomp"
#define PLAN_P(x) (1u << (x))
#define PLAN_P_ANY (PLAN_P(PS_PROTOCOL_SOCKETIO) | PLAN_P(PS_PROTOCOL_MQTT) | PLAN_P(PS_PROTOCOL_STOMP))
#define PLAN_MQTT_KEEPALIVE_MAX_US (65535LL * 1000000)   /* MQTT's is 16 bits of seconds */
#define PLAN_PROTO_TIMEOUT_MAX_US  (3600LL * 1000000)

int plan_v_protocol(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                    const struct plan_field *f)
{
    char g[PLAN_GOT_MAX], hint[48] = "";
    const char *s = plan_scalar(c, v, path, "a protocol (" PLAN_PROTO_LIST ")");
    if (!s)
        return -1;
    for (uint32_t k = 0; k < PS_PROTOCOL_COUNT; k++) {
        if (!strcmp(s, ps_protocol_name(k))) {
            *(uint32_t *)f->dst = k;
            return 0;
        }
        if (plan_typo_distance(s, ps_protocol_name(k)) <= 2)
            snprintf(hint, sizeof hint, "; did you mean \"%s\"?", ps_protocol_name(k));
    }
    return plan_fail(c, v, path, "unknown protocol %s%s (allowed: " PLAN_PROTO_LIST ")",
                     plan_got(v, g, sizeof g), hint);
}

/* qos: 0 or 1. QoS 2's exactly-once handshake is the broker's business;
 * pushstorm counts every delivery itself and names duplicates. */
static int plan_v_qos(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                      const struct plan_field *f)
{
    struct plan_field z = *f;
    z.flags |= PLAN_F_ZERO_OK;
    z.max = 2;
    if (plan_v_count32(c, v, path, &z) < 0)
        return -1;
    if (*(uint32_t *)f->dst == 2)
        return plan_fail(c, v, path, "QoS 2 is not supported: use 0 or 1 (pushstorm counts every "
                         "delivery itself and reports duplicates)");
    return 0;
}

static int plan_v_ack_mode(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                           const struct plan_field *f)
{
    static const char *const modes[] = {"auto", "client", "client-individual"};
    char g[PLAN_GOT_MAX];
    const char *s = plan_scalar(c, v, path, "an ack mode (auto, client, client-individual)");
    if (!s)
        return -1;
    for (uint32_t k = 0; k < NFIELDS(modes); k++)
        if (!strcmp(s, modes[k])) {
            *(uint32_t *)f->dst = k;
            return 0;
        }
    return plan_fail(c, v, path, "unknown ack mode %s (allowed: auto, client, client-individual)",
                     plan_got(v, g, sizeof g));
}

static int plan_v_mqtt_version(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                               const struct plan_field *f)
{
    char g[PLAN_GOT_MAX];
    const char *s = plan_scalar(c, v, path, "an MQTT version (3.1.1 or 5)");
    if (!s)
        return -1;
    if (!strcmp(s, "3.1.1") || !strcmp(s, "4"))
        *(uint32_t *)f->dst = 4;
    else if (!strcmp(s, "5") || !strcmp(s, "5.0"))
        *(uint32_t *)f->dst = 5;
    else
        return plan_fail(c, v, path, "unknown MQTT version %s (allowed: 3.1.1 or 4, 5 or 5.0)",
                         plan_got(v, g, sizeof g));
    return 0;
}

static int plan_v_subscribe(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                            const struct plan_field *f)
{
    (void)f;
    struct plan_protocol *pr = &c->p->protocol;
    if (plan_want_list(c, v, path, "a list of topic filters or destinations like "
                       "[\"user/{conn}\", \"all\"]") < 0)
        return -1;
    if (v->n == 0)
        return plan_fail(c, v, path, "needs at least one topic or destination");
    for (size_t i = 0; i < v->n; i++) {
        char ipath[PLAN_PATH_MAX];
        plan_path_index(ipath, path, i);
        if (i >= PS_PROTO_SUBSCRIBE_MAX)
            return plan_fail(c, v->items[i], ipath, "too many subscriptions: at most %d",
                             PS_PROTO_SUBSCRIBE_MAX);
        struct plan_field sf = PLAN_FIELD("", plan_v_string, pr->subscribe[i],
                                          sizeof pr->subscribe[i], PLAN_F_NONEMPTY | PLAN_F_ONELINE,
                                          NULL);
        if (plan_v_string(c, v->items[i], ipath, &sf) < 0)
            return -1;
        pr->n_subscribe = (uint32_t)i + 1;
    }
    return 0;
}

/* protocol_options' keys, in the order of the table in plan_v_protocol_options,
 * with the protocols that read each and whether it is a template. */
static const struct { const char *key; unsigned protocols; int tpl; } plan_popt[] = {
    {"timeout", PLAN_P_ANY, 0},
    {"client_id", PLAN_P(PS_PROTOCOL_MQTT), 1},
    {"user", PLAN_P(PS_PROTOCOL_MQTT) | PLAN_P(PS_PROTOCOL_STOMP), 1},
    {"password", PLAN_P(PS_PROTOCOL_MQTT) | PLAN_P(PS_PROTOCOL_STOMP), 1},
    {"auth", PLAN_P(PS_PROTOCOL_SOCKETIO), 1},
    {"namespace", PLAN_P(PS_PROTOCOL_SOCKETIO), 0},
    {"vhost", PLAN_P(PS_PROTOCOL_STOMP), 0},
    {"subscribe", PLAN_P(PS_PROTOCOL_MQTT) | PLAN_P(PS_PROTOCOL_STOMP), 1},
    {"qos", PLAN_P(PS_PROTOCOL_MQTT), 0},
    {"ack", PLAN_P(PS_PROTOCOL_STOMP), 0},
    {"keepalive", PLAN_P(PS_PROTOCOL_MQTT) | PLAN_P(PS_PROTOCOL_STOMP), 0},
    {"server_heartbeat", PLAN_P(PS_PROTOCOL_STOMP), 0},
    {"clean_session", PLAN_P(PS_PROTOCOL_MQTT), 0},
    {"mqtt_version", PLAN_P(PS_PROTOCOL_MQTT), 0},
};
_Static_assert(NFIELDS(plan_popt) <= NFIELDS(((struct plan_ctx *)0)->popt_key),
               "plan_ctx remembers every protocol option");

int plan_v_protocol_options(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                            const struct plan_field *f)
{
    (void)f;
    struct plan_protocol *pr = &c->p->protocol;
    struct plan_field of[] = {
        PLAN_FIELD("timeout", plan_v_duration, &pr->timeout_us, 0, 0, NULL),
        PLAN_FIELD("client_id", plan_v_string, pr->client_id, sizeof pr->client_id,
                   PLAN_F_NONEMPTY | PLAN_F_ONELINE, NULL),
        PLAN_FIELD("user", plan_v_string, pr->user, sizeof pr->user, PLAN_F_ONELINE, NULL),
        PLAN_FIELD("password", plan_v_string, pr->password, sizeof pr->password, PLAN_F_ONELINE, NULL),
        PLAN_FIELD("auth", plan_v_string, pr->auth, sizeof pr->auth, PLAN_F_ONELINE, NULL),
        PLAN_FIELD("namespace", plan_v_string, pr->ns, sizeof pr->ns,
                   PLAN_F_NONEMPTY | PLAN_F_ONELINE, NULL),
        PLAN_FIELD("vhost", plan_v_string, pr->vhost, sizeof pr->vhost, PLAN_F_ONELINE, NULL),
        PLAN_FIELD("subscribe", plan_v_subscribe, NULL, 0, 0, NULL),
        PLAN_FIELD("qos", plan_v_qos, &pr->qos, 0, 0, NULL),
        PLAN_FIELD("ack", plan_v_ack_mode, &pr->ack_mode, 0, 0, NULL),
        PLAN_FIELD("keepalive", plan_v_duration_off, &pr->keepalive_us, 0, 0, NULL),
        PLAN_FIELD("server_heartbeat", plan_v_duration_off, &pr->server_hb_us, 0, 0, NULL),
        PLAN_FIELD("clean_session", plan_v_bool, &pr->clean, 0, 0, NULL),
        PLAN_FIELD("mqtt_version", plan_v_mqtt_version, &pr->mqtt_version, 0, 0, NULL),
    };
    _Static_assert(NFIELDS(of) == NFIELDS(plan_popt), "one protocol_options table");
    if (plan_map(c, v, path, of, NFIELDS(of), "a map of protocol options like "
                 "{subscribe: [\"user/{conn}\"], qos: 1}") < 0)
        return -1;
    for (size_t i = 0; i < NFIELDS(of); i++) {
        c->popt_key[i] = of[i].key_node;
        c->popt_val[i] = of[i].node;
    }
    /* the agent keeps the deadline in 32-bit microseconds of its clock (71 minutes) */
    if (pr->timeout_us > PLAN_PROTO_TIMEOUT_MAX_US)
        return plan_fail(c, of[0].node, "protocol_options.timeout", "at most 1h, got \"%s\"",
                         of[0].node->value);
    if (pr->ns[0] != '/')
        return plan_fail(c, of[5].node, "protocol_options.namespace", "a Socket.IO namespace "
                         "starts with /, like /chat; got \"%s\"", pr->ns);
    return 0;
}

/* A protocol template's {names}: the connection's builtins only (the
 * handshake runs before a session captures anything); {csv.COL} is
 * plan_data.c's, other braces (JSON) pass. */
static int plan_protocol_tpl(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                             const char *tpl)
{
    for (const char *q = strchr(tpl, '{'); q; q = strchr(q + 1, '{')) {
        size_t n = 0;
        while (isalnum((unsigned char)q[1 + n]) || q[1 + n] == '_')
            n++;
        if (!n || q[1 + n] != '}')
            continue;
        if ((n == 4 && !strncmp(q + 1, "conn", 4)) || (n == 5 && !strncmp(q + 1, "agent", 5)) ||
            (n == 6 && !strncmp(q + 1, "target", 6)))
            continue;
        return plan_fail(c, v, path, "{%.*s} is not a protocol variable (conn, agent, target and "
                         "{csv.COL}: the protocol's handshake runs before a session captures "
                         "anything)", (int)(n > 40 ? 40 : n), q + 1);
    }
    return 0;
}

/* Which protocols, as "mqtt or stomp", for a message. */
static void plan_protocol_names(unsigned protocols, char *out, size_t len)
{
    size_t o = 0;
    out[0] = 0;
    for (uint32_t k = 1; k < PS_PROTOCOL_COUNT && o < len; k++)
        if (protocols & PLAN_P(k))
            o += (size_t)snprintf(out + o, len - o, "%s%s", o ? " or " : "", ps_protocol_name(k));
}

int plan_protocol_check(struct plan_ctx *c)
{
    const struct plan *p = c->p;
    unsigned used = 0;
    for (uint32_t t = 0; t < p->n_targets; t++)
        used |= PLAN_P(p->targets[t].protocol);
    char kpath[PLAN_PATH_MAX], names[64];
    for (size_t i = 0; i < NFIELDS(plan_popt); i++) {
        if (!c->popt_key[i])
            continue;
        plan_path_key(kpath, "protocol_options", plan_popt[i].key);
        if (!(used & plan_popt[i].protocols)) {
            plan_protocol_names(plan_popt[i].protocols, names, sizeof names);
            return plan_fail(c, c->popt_key[i], kpath, "is read by %s, and no target speaks it "
                             "(targets' protocol: ...); remove it or set the target's protocol",
                             plan_popt[i].protocols == PLAN_P_ANY ? "the client protocols" : names);
        }
    }
    const struct plan_protocol *pr = &p->protocol;
    const struct yaml_doc_node *const *val = c->popt_val;
    if (val[1] && plan_protocol_tpl(c, val[1], "protocol_options.client_id", pr->client_id) < 0)
        return -1;
    if (val[2] && plan_protocol_tpl(c, val[2], "protocol_options.user", pr->user) < 0)
        return -1;
    if (val[3] && plan_protocol_tpl(c, val[3], "protocol_options.password", pr->password) < 0)
        return -1;
    if (val[4] && plan_protocol_tpl(c, val[4], "protocol_options.auth", pr->auth) < 0)
        return -1;
    for (uint32_t i = 0; val[7] && i < pr->n_subscribe; i++) {
        plan_path_index(kpath, "protocol_options.subscribe", i);
        if (plan_protocol_tpl(c, val[7]->items[i], kpath, pr->subscribe[i]) < 0)
            return -1;
    }
    if (val[10] && (used & PLAN_P(PS_PROTOCOL_MQTT)) && pr->keepalive_us > PLAN_MQTT_KEEPALIVE_MAX_US)
        return plan_fail(c, val[10], "protocol_options.keepalive", "MQTT's keepalive is at most "
                         "65535s (18h12m15s)");
    if (val[10] && (used & PLAN_P(PS_PROTOCOL_MQTT)) && pr->keepalive_us % 1000000)
        return plan_fail(c, val[10], "protocol_options.keepalive", "MQTT's keepalive is whole "
                         "seconds, got \"%s\"", val[10]->value);
    /* the app heartbeat is WebSocket text: a protocol has its own keepalive */
    if (c->hb_text_node && !(used & PLAN_P(PS_PROTOCOL_WEBSOCKET)))
        return plan_fail(c, c->hb_text_node, "heartbeat.text", "the app heartbeat is for "
                         "protocol: websocket targets, and every target speaks a client protocol, "
                         "which has its own (protocol_options.keepalive)");
    return 0;
}

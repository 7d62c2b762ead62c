/* ps_proto.c: the agent <-> controller messages, expanded from the field tables of ps_proto.h.
 *
 * Wire form (docs/protocol.md): a message is one msgpack array
 *   [PS_PROTO_VERSION, type, field, field, ...]
 * with the fields in the order of their table. A count plus fixed array pair
 * (n_ips + ips[], n_acks + acked_seq[], n + ev[] ...) is a single msgpack array
 * holding only the used elements, at the position of the array; nested structs
 * are nested arrays; a command is [id, kind, kind-specific fields...]; an event
 * is [conn, type, ts, val, aux].
 *
 * Each table expands (PROTO_CODEC) into straight-line code, one call per field,
 * as if written by hand: a pack function, a read function, and the arity. No
 * descriptor is interpreted at run time, so a batch of 1,024 events costs what
 * the hand-written codec cost, and nothing is allocated per message.
 *
 * Encoding packs straight into the caller's msgpack_sbuffer, which is cleared
 * first (a message is always a whole buffer: decoders refuse trailing bytes).
 * Encoders only refuse what would make them read out of bounds (a count larger
 * than its array, a string without its NUL); the meaning of values is checked
 * on the decoding side, which is the side that must not trust its input.
 *
 * Decoding: the head (array length, version, type) is read from the raw bytes,
 * so a peer of another version gets that error and not a field's; then
 * ps_mpack_rd_begin() checks the whole buffer (see ps_mpack.c) and the read
 * functions walk it field by field, in place, naming the field in any error
 * ("tick.stats.rss_bytes: expected an unsigned integer, got -1"). */
#include "ps_proto.h"
#include "ps_mpack.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *proto_msg_name(uint32_t type)
{
    switch (type) {
    case PS_MSG_HELLO:   return "hello";
    case PS_MSG_WELCOME: return "welcome";
    case PS_MSG_TICK:    return "tick";
    case PS_MSG_REPLY:   return "reply";
    case PS_MSG_EVENTS:  return "events";
    case PS_MSG_CHALLENGE: return "challenge";
    default:             return "unknown";
    }
}

static const char *const proto_reason_names[PS_REASON_COUNT] = {
    [PS_REASON_NONE]         = "none",
    [PS_REASON_REFUSED]      = "refused",
    [PS_REASON_TIMEOUT]      = "timeout",
    [PS_REASON_HTTP_STATUS]  = "http_status",
    [PS_REASON_BAD_ACCEPT]   = "bad_accept",
    [PS_REASON_HANDSHAKE]    = "handshake",
    [PS_REASON_PROTOCOL]     = "protocol",
    [PS_REASON_TOO_BIG]      = "too_big",
    [PS_REASON_BAD_UTF8]     = "bad_utf8",
    [PS_REASON_RESET]        = "reset",
    [PS_REASON_SERVER_CLOSE] = "server_close",
    [PS_REASON_CLIENT_CLOSE] = "client_close",
    [PS_REASON_PONG_TIMEOUT] = "pong_timeout",
    [PS_REASON_HB_TIMEOUT]   = "hb_timeout",
    [PS_REASON_NO_STATUS]    = "no_status",
    [PS_REASON_OTHER]        = "other",
    [PS_REASON_TLS_VERIFY]   = "tls_verify",
    [PS_REASON_TLS_HANDSHAKE] = "tls_handshake",
    [PS_REASON_TLS_ALERT]    = "tls_alert",
    [PS_REASON_SESSION_TIMEOUT]  = "session_timeout",
    [PS_REASON_SESSION_MISMATCH] = "session_mismatch",
    [PS_REASON_UNREACHABLE]  = "unreachable",
    /* client protocols (issue 13) */
    [PS_REASON_PROTO_REFUSED]   = "proto_refused",
    [PS_REASON_PROTO_ERROR]     = "proto_error",
    [PS_REASON_PROTO_TIMEOUT]   = "proto_timeout",
    [PS_REASON_PROTO_KEEPALIVE] = "proto_keepalive",
    [PS_REASON_PROTO_CLOSE]     = "proto_close",
};

const char *ps_reason_name(uint32_t reason)
{
    return reason < PS_REASON_COUNT ? proto_reason_names[reason] : "unknown";
}

/* client protocols (issue 13): the plan's `protocol:` words */
static const char *const proto_protocol_names[PS_PROTOCOL_COUNT] = {
    [PS_PROTOCOL_WEBSOCKET] = "websocket",
    [PS_PROTOCOL_SOCKETIO]  = "socketio",
    [PS_PROTOCOL_MQTT]      = "mqtt",
    [PS_PROTOCOL_STOMP]     = "stomp",
};

const char *ps_protocol_name(uint32_t protocol)
{
    return protocol < PS_PROTOCOL_COUNT ? proto_protocol_names[protocol] : "unknown";
}

/* OpenSSL's X509_V_ERR_* numbers are part of its stable API; the controller
 * names them without linking OpenSSL. */
enum ps_tls_cause ps_tls_verify_cause(uint32_t x509_err)
{
    switch (x509_err) {
    case 2:  /* UNABLE_TO_GET_ISSUER_CERT */
    case 20: /* UNABLE_TO_GET_ISSUER_CERT_LOCALLY */
    case 21: /* UNABLE_TO_VERIFY_LEAF_SIGNATURE */
        return PS_TLS_CAUSE_UNKNOWN_CA;
    case 18: /* DEPTH_ZERO_SELF_SIGNED_CERT */
    case 19: /* SELF_SIGNED_CERT_IN_CHAIN */
        return PS_TLS_CAUSE_SELF_SIGNED;
    case 62: /* HOSTNAME_MISMATCH */
    case 64: /* IP_ADDRESS_MISMATCH */
        return PS_TLS_CAUSE_HOSTNAME;
    case 10: /* CERT_HAS_EXPIRED */
        return PS_TLS_CAUSE_EXPIRED;
    case 9:  /* CERT_NOT_YET_VALID */
        return PS_TLS_CAUSE_NOT_YET_VALID;
    default:
        return PS_TLS_CAUSE_OTHER;
    }
}

static const char *const proto_tls_cause_names[PS_TLS_CAUSE_COUNT] = {
    [PS_TLS_CAUSE_OTHER]         = "other",
    [PS_TLS_CAUSE_UNKNOWN_CA]    = "unknown_ca",
    [PS_TLS_CAUSE_SELF_SIGNED]   = "self_signed",
    [PS_TLS_CAUSE_HOSTNAME]      = "hostname",
    [PS_TLS_CAUSE_EXPIRED]       = "expired",
    [PS_TLS_CAUSE_NOT_YET_VALID] = "not_yet_valid",
};

const char *ps_tls_cause_name(uint32_t cause)
{
    return cause < PS_TLS_CAUSE_COUNT ? proto_tls_cause_names[cause] : "other";
}

static const char *const proto_ev_names[] = {
    [PS_EV_CONNECTED]   = "connected",
    [PS_EV_FAILED]      = "failed",
    [PS_EV_CLOSED]      = "closed",
    [PS_EV_MESSAGE]     = "message",
    [PS_EV_PONG_MISSED] = "pong_missed",
    [PS_EV_HB_MISSED]   = "hb_missed",
    [PS_EV_RECONNECT]   = "reconnect",
    [PS_EV_FOREIGN]     = "foreign",
    [PS_EV_READY]       = "session_ready",
    [PS_EV_ACKS]        = "acks",
};

const char *ps_ev_type_name(uint32_t type)
{
    if (type == 0 || type >= sizeof proto_ev_names / sizeof proto_ev_names[0]) return "unknown";
    return proto_ev_names[type];
}

/* ================================================================ the codec */

/* Per kind: pack one field of *m, read one field into *m (see the kinds in ps_proto.h). */
#define PROTO_PACK(kind, name, ...) rc |= PROTO_PACK_##kind(pk, m, name, __VA_ARGS__);
#define PROTO_PACK_U32(pk, m, name, ...)   msgpack_pack_uint32(pk, (m)->name)
#define PROTO_PACK_U64(pk, m, name, ...)   msgpack_pack_uint64(pk, (m)->name)
#define PROTO_PACK_I64(pk, m, name, ...)   msgpack_pack_int64(pk, (m)->name)
#define PROTO_PACK_FLAG                    PROTO_PACK_U32
#define PROTO_PACK_UMAX                    PROTO_PACK_U32
#define PROTO_PACK_X100                    PROTO_PACK_U32
#define PROTO_PACK_SEQ                     PROTO_PACK_U64
#define PROTO_PACK_F64(pk, m, name, ...)   msgpack_pack_double(pk, (m)->name)
#define PROTO_PACK_STR(pk, m, name, ...)   ps_mpack_pack_str(pk, (m)->name, sizeof (m)->name)
#define PROTO_PACK_STRS(pk, m, name, count, ...) \
    proto_pack_strs(pk, (m)->name[0], (m)->count, PROTO_LEN((m)->name), sizeof (m)->name[0])
#define PROTO_PACK_U64S(pk, m, name, count, ...) \
    proto_pack_u64s(pk, (m)->name, (m)->count, PROTO_LEN((m)->name))
#define PROTO_PACK_SUB(pk, m, name, type)  proto_pack_##type(pk, &(m)->name)
#define PROTO_PACK_SUBS(pk, m, name, count, max, type) \
    proto_pack_##type##_list(pk, (m)->name, (m)->count, PROTO_LEN((m)->name))
#define PROTO_PACK_CMD(pk, m, name, ...)   proto_pack_cmd(pk, &(m)->name)

#define PROTO_READ(kind, name, ...) || PROTO_READ_##kind(r, m, name, __VA_ARGS__)
#define PROTO_READ_U32(r, m, name, ...)    ps_mpack_rd_u32(r, #name, &(m)->name)
#define PROTO_READ_U64(r, m, name, ...)    ps_mpack_rd_u64(r, #name, &(m)->name)
#define PROTO_READ_I64(r, m, name, ...)    ps_mpack_rd_i64(r, #name, &(m)->name)
#define PROTO_READ_FLAG(r, m, name, ...)   ps_mpack_rd_flag(r, #name, &(m)->name)
#define PROTO_READ_UMAX(r, m, name, max)   ps_mpack_rd_u32max(r, #name, max, &(m)->name)
#define PROTO_READ_X100                    PROTO_READ_U32
#define PROTO_READ_SEQ(r, m, name, ...)    proto_read_seq(r, #name, &(m)->name)
#define PROTO_READ_F64(r, m, name, lo, hi) ps_mpack_rd_f64(r, #name, lo, hi, &(m)->name)
#define PROTO_READ_STR(r, m, name, ...)    ps_mpack_rd_str(r, #name, (m)->name, sizeof (m)->name)
#define PROTO_READ_STRS(r, m, name, count, ...) \
    proto_read_strs(r, #name, (m)->name[0], PROTO_LEN((m)->name), sizeof (m)->name[0], &(m)->count)
#define PROTO_READ_U64S(r, m, name, count, ...) \
    proto_read_u64s(r, #name, (m)->name, PROTO_LEN((m)->name), &(m)->count)
#define PROTO_READ_SUB(r, m, name, type)   proto_read_##type(r, #name, &(m)->name)
#define PROTO_READ_SUBS(r, m, name, count, max, type) \
    proto_read_##type##_list(r, #name, (m)->name, PROTO_LEN((m)->name), &(m)->count)
#define PROTO_READ_CMD(r, m, name, ...)    proto_read_cmd(r, &(m)->name)

#define PROTO_LEN(a) ((uint32_t)(sizeof (a) / sizeof (a)[0]))
#define PROTO_ONE(kind, name, ...) + 1

/* From the table FIELDS of struct ps_<s>: PROTO_N_<s> (its element count) and
 * the pack and read functions of its fields, without an array header (a
 * message or a command puts its head first); `check` sees the struct read. */
#define PROTO_CODEC(s, FIELDS, check)                                              \
    enum { PROTO_N_##s = 0 FIELDS(PROTO_ONE) };                                    \
    static int proto_pack_##s##_fields(msgpack_packer *pk, const struct ps_##s *m) \
    {                                                                              \
        int rc = 0;                                                                \
        FIELDS(PROTO_PACK)                                                         \
        return rc;                                                                 \
    }                                                                              \
    static int proto_read_##s##_fields(struct ps_mpack_rd *r, struct ps_##s *m)    \
    {                                                                              \
        return (0 FIELDS(PROTO_READ)) ? -1 : check(r, m);                          \
    }

/* A struct nested in another: one array of exactly its fields. */
#define PROTO_NESTED(s)                                                            \
    static int proto_pack_##s(msgpack_packer *pk, const struct ps_##s *m)          \
    {                                                                              \
        return msgpack_pack_array(pk, PROTO_N_##s) | proto_pack_##s##_fields(pk, m); \
    }                                                                              \
    static int proto_read_##s(struct ps_mpack_rd *r, const char *field, struct ps_##s *m) \
    {                                                                              \
        struct ps_mpack_rd sub;                                                    \
        return ps_mpack_rd_sub(r, field, PROTO_N_##s, 0, &sub) ||                  \
               proto_read_##s##_fields(&sub, m) ? -1 : 0;                          \
    }

/* An array of up to max nested structs (the count goes with it). */
#define PROTO_LIST(s)                                                              \
    static int proto_pack_##s##_list(msgpack_packer *pk, const struct ps_##s *v,   \
                                     uint32_t n, uint32_t max)                     \
    {                                                                              \
        int rc;                                                                    \
        uint32_t i;                                                                \
        if (n > max) return -1;                                                    \
        rc = msgpack_pack_array(pk, n);                                            \
        for (i = 0; i < n; i++) rc |= proto_pack_##s(pk, &v[i]);                   \
        return rc;                                                                 \
    }                                                                              \
    static int proto_read_##s##_list(struct ps_mpack_rd *r, const char *field,     \
                                     struct ps_##s *v, uint32_t max, uint32_t *n)  \
    {                                                                              \
        struct ps_mpack_rd a;                                                      \
        uint32_t i;                                                                \
        if (ps_mpack_rd_sub(r, field, 0, max, &a)) return -1;                      \
        *n = a.n;                                                                  \
        for (i = 0; i < a.n; i++)                                                  \
            if (proto_read_##s(&a, NULL, &v[i])) return -1;                        \
        return 0;                                                                  \
    }

/* The messages: the public encoder and decoder; `clear` is how much of the
 * struct the decoder zeroes before reading (the used part of a large array is
 * always written, so zeroing it all would buy nothing). */
#define PROTO_MESSAGE(s, TYPE, clear)                                              \
    int ps_proto_encode_##s(msgpack_sbuffer *out, const struct ps_##s *m)          \
    {                                                                              \
        msgpack_packer pk;                                                         \
        int rc = proto_pack_head(out, &pk, TYPE, 2 + PROTO_N_##s);                 \
        rc |= proto_pack_##s##_fields(&pk, m);                                     \
        return rc ? -1 : 0;                                                        \
    }                                                                              \
    int ps_proto_decode_##s(const void *buf, size_t len, struct ps_##s *m,         \
                            char *err, size_t errlen)                              \
    {                                                                              \
        struct ps_mpack_in in;                                                     \
        struct ps_mpack_rd r;                                                      \
        if (proto_open(buf, len, TYPE, 2 + PROTO_N_##s, &in, &r, err, errlen))     \
            return -1;                                                             \
        memset(m, 0, clear);                                                       \
        return proto_read_##s##_fields(&r, m);                                     \
    }

/* ------------------------------------------------- helpers of the kinds */

static int proto_pack_strs(msgpack_packer *pk, const char *v, uint32_t n, uint32_t max, size_t cap)
{
    int rc;
    uint32_t i;

    if (n > max) return -1;
    rc = msgpack_pack_array(pk, n);
    for (i = 0; i < n; i++) rc |= ps_mpack_pack_str(pk, v + i * cap, cap);
    return rc;
}

static int proto_read_strs(struct ps_mpack_rd *r, const char *field, char *v, uint32_t max,
                           size_t cap, uint32_t *n)
{
    struct ps_mpack_rd a;
    uint32_t i;

    if (ps_mpack_rd_sub(r, field, 0, max, &a)) return -1;
    *n = a.n;
    for (i = 0; i < a.n; i++)
        if (ps_mpack_rd_str(&a, NULL, v + i * cap, cap)) return -1;
    return 0;
}

static int proto_pack_u64s(msgpack_packer *pk, const uint64_t *v, uint32_t n, uint32_t max)
{
    int rc;
    uint32_t i;

    if (n > max) return -1;
    rc = msgpack_pack_array(pk, n);
    for (i = 0; i < n; i++) rc |= msgpack_pack_uint64(pk, v[i]);
    return rc;
}

static int proto_read_u64s(struct ps_mpack_rd *r, const char *field, uint64_t *v, uint32_t max,
                           uint32_t *n)
{
    struct ps_mpack_rd a;
    uint32_t i;

    if (ps_mpack_rd_sub(r, field, 0, max, &a)) return -1;
    for (i = 0; i < a.n; i++)
        if (ps_mpack_rd_u64(&a, NULL, &v[i])) return -1;
    *n = a.n;
    return 0;
}

static int proto_read_seq(struct ps_mpack_rd *r, const char *field, uint64_t *out)
{
    if (ps_mpack_rd_u64(r, field, out)) return -1;
    if (*out == 0)
        return ps_mpack_rd_err(r, field, 1, "0 out of range (sequences start at 1)");
    return 0;
}

/* What the table of a struct cannot say: checks over the struct read. */
static inline int proto_check_none(struct ps_mpack_rd *r, const void *m)
{
    (void)r;
    (void)m;
    return 0;
}

static inline int proto_check_event(struct ps_mpack_rd *r, const struct ps_event *ev)
{
    if (ev->type < PS_EV_CONNECTED || ev->type > PS_EV_LAST)
        return ps_mpack_rd_err(r, "type", 1, "unknown event type %" PRIu32, ev->type);
    return 0;
}

/* Each target names one of the TLS settings sent (or none are sent). */
static inline int proto_check_assign(struct ps_mpack_rd *r, const struct ps_assign *a)
{
    if (a->n_target_tls && a->n_target_tls != a->n_targets)
        return ps_mpack_rd_err(r, "target_tls", 1, "%" PRIu32 " entries for %" PRIu32 " targets",
                               a->n_target_tls, a->n_targets);
    for (uint32_t i = 0; i < a->n_target_tls; i++)
        if (a->target_tls[i] >= a->n_tls)
            return ps_mpack_rd_err(r, "target_tls", 1, "index %" PRIu64 " past the %" PRIu32
                                   " TLS settings", a->target_tls[i], a->n_tls);
    return 0;
}

static int proto_pack_cmd(msgpack_packer *pk, const struct ps_cmd *c);
static int proto_read_cmd(struct ps_mpack_rd *r, struct ps_cmd *c);

/* ------------------------------------------------- the structs, nested first */

PROTO_CODEC(stats, PS_STATS_FIELDS, proto_check_none)
PROTO_NESTED(stats)
PROTO_CODEC(hostmon, PS_HOSTMON_FIELDS, proto_check_none)
PROTO_NESTED(hostmon)
PROTO_CODEC(header_tpl, PS_HEADER_TPL_FIELDS, proto_check_none)
PROTO_NESTED(header_tpl)
PROTO_LIST(header_tpl)
PROTO_CODEC(session_step, PS_SESSION_STEP_FIELDS, proto_check_none)
PROTO_NESTED(session_step)
PROTO_LIST(session_step)
PROTO_CODEC(session_capture, PS_SESSION_CAPTURE_FIELDS, proto_check_none)
PROTO_NESTED(session_capture)
PROTO_LIST(session_capture)
PROTO_CODEC(event, PS_EVENT_FIELDS, proto_check_event)
PROTO_NESTED(event)
PROTO_LIST(event)
PROTO_CODEC(tls, PS_TLS_FIELDS, proto_check_none)
PROTO_NESTED(tls)
PROTO_LIST(tls)
PROTO_CODEC(assign, PS_ASSIGN_FIELDS, proto_check_assign)
PROTO_CODEC(ramp, PS_RAMP_FIELDS, proto_check_none)
PROTO_CODEC(disconnect, PS_DISCONNECT_FIELDS, proto_check_none)
PROTO_CODEC(data, PS_DATA_FIELDS, proto_check_none)
PROTO_CODEC(hello, PS_HELLO_FIELDS, proto_check_none)
PROTO_CODEC(welcome, PS_WELCOME_FIELDS, proto_check_none)
PROTO_CODEC(tick, PS_TICK_FIELDS, proto_check_none)
PROTO_CODEC(reply, PS_REPLY_FIELDS, proto_check_none)
PROTO_CODEC(events, PS_EVENTS_FIELDS, proto_check_none)
PROTO_CODEC(challenge, PS_CHALLENGE_FIELDS, proto_check_none)

/* ------------------------------------------------- commands */

/* [id, kind] then the kind's fields in the same array; -1 for an unknown kind. */
static int proto_cmd_arity(uint32_t kind, uint32_t *arity)
{
    switch (kind) {
    case PS_CMD_NONE:
    case PS_CMD_STOP:       *arity = 2; return 0;
    case PS_CMD_ASSIGN:     *arity = 2 + PROTO_N_assign; return 0;
    case PS_CMD_RAMP:       *arity = 2 + PROTO_N_ramp; return 0;
    case PS_CMD_DISCONNECT: *arity = 2 + PROTO_N_disconnect; return 0;
    case PS_CMD_DATA:       *arity = 2 + PROTO_N_data; return 0;
    default:                return -1;
    }
}

static int proto_pack_cmd(msgpack_packer *pk, const struct ps_cmd *c)
{
    uint32_t arity;
    int rc;

    if (proto_cmd_arity(c->kind, &arity)) return -1;
    rc = msgpack_pack_array(pk, arity) | msgpack_pack_uint32(pk, c->id)
       | msgpack_pack_uint32(pk, c->kind);
    switch (c->kind) {
    case PS_CMD_ASSIGN:     return rc | proto_pack_assign_fields(pk, &c->u.assign);
    case PS_CMD_RAMP:       return rc | proto_pack_ramp_fields(pk, &c->u.ramp);
    case PS_CMD_DISCONNECT: return rc | proto_pack_disconnect_fields(pk, &c->u.disconnect);
    case PS_CMD_DATA:       return rc | proto_pack_data_fields(pk, &c->u.data);
    default:                return rc;
    }
}

static int proto_read_cmd(struct ps_mpack_rd *r, struct ps_cmd *c)
{
    struct ps_mpack_rd cr;
    uint32_t arity;

    if (ps_mpack_rd_sub(r, "cmd", 0, UINT32_MAX, &cr)) return -1;
    if (cr.n < 2)
        return ps_mpack_rd_err(&cr, NULL, 0, "expected at least 2 elements, got %" PRIu32, cr.n);
    if (ps_mpack_rd_u32(&cr, "id", &c->id) || ps_mpack_rd_u32(&cr, "kind", &c->kind)) return -1;
    if (proto_cmd_arity(c->kind, &arity))
        return ps_mpack_rd_err(&cr, "kind", 1, "unknown command kind %" PRIu32, c->kind);
    if (cr.n != arity)
        return ps_mpack_rd_err(&cr, NULL, 0, "expected %" PRIu32 " elements for this kind, got %" PRIu32,
                               arity, cr.n);
    switch (c->kind) {
    case PS_CMD_ASSIGN:     return proto_read_assign_fields(&cr, &c->u.assign);
    case PS_CMD_RAMP:       return proto_read_ramp_fields(&cr, &c->u.ramp);
    case PS_CMD_DISCONNECT: return proto_read_disconnect_fields(&cr, &c->u.disconnect);
    case PS_CMD_DATA:       return proto_read_data_fields(&cr, &c->u.data);
    default:                return 0;
    }
}

/* ------------------------------------------------- message heads */

static int proto_pack_head(msgpack_sbuffer *out, msgpack_packer *pk, uint32_t type, size_t arity)
{
    msgpack_sbuffer_clear(out);
    msgpack_packer_init(pk, out, msgpack_sbuffer_write);
    return msgpack_pack_array(pk, arity) | msgpack_pack_uint32(pk, PS_PROTO_VERSION)
         | msgpack_pack_uint32(pk, type);
}

/* Reads the header of a message of the raw bytes without unpacking: array
 * length, version, type. */
static int proto_read_head(const unsigned char *p, size_t len, uint32_t *arity,
                           uint32_t *type, char *err, size_t errlen)
{
    size_t pos = 0;
    uint64_t v[2] = { 0, 0 };
    int i;

    if (len == 0) return ps_mpack_err(err, errlen, "empty message");
    if (p[0] >= 0x90 && p[0] <= 0x9f) {
        *arity = p[0] & 0x0f;
        pos = 1;
    } else if (p[0] == 0xdc && len >= 3) {
        *arity = (uint32_t)ps_mpack_be(p + 1, 2);
        pos = 3;
    } else if (p[0] == 0xdd && len >= 5) {
        *arity = (uint32_t)ps_mpack_be(p + 1, 4);
        pos = 5;
    } else if (p[0] == 0xdc || p[0] == 0xdd) {
        return ps_mpack_err(err, errlen, "truncated message (%zu bytes)", len);
    } else {
        return ps_mpack_err(err, errlen, "not a pushstorm message: expected a msgpack array, "
                            "got byte 0x%02x", p[0]);
    }
    if (*arity < 2)
        return ps_mpack_err(err, errlen, "not a pushstorm message: array of %" PRIu32
                            " elements has no version and type", *arity);
    for (i = 0; i < 2; i++) {
        int n;
        if (pos >= len) return ps_mpack_err(err, errlen, "truncated message (%zu bytes)", len);
        if (p[pos] <= 0x7f) { v[i] = p[pos]; n = 0; }
        else if (p[pos] == 0xcc) n = 1;
        else if (p[pos] == 0xcd) n = 2;
        else if (p[pos] == 0xce) n = 4;
        else if (p[pos] == 0xcf) n = 8;
        else
            return ps_mpack_err(err, errlen, "not a pushstorm message: %s is not an unsigned integer",
                                i == 0 ? "the version" : "the message type");
        if (len - pos - 1 < (size_t)n)
            return ps_mpack_err(err, errlen, "truncated message (%zu bytes)", len);
        if (n) v[i] = ps_mpack_be(p + pos + 1, n);
        pos += 1 + (size_t)n;
        if (i == 0 && v[0] != PS_PROTO_VERSION)
            return ps_mpack_err(err, errlen, "protocol version %" PRIu64 ", expected %d",
                                v[0], PS_PROTO_VERSION);
    }
    if (v[1] < PS_MSG_HELLO || v[1] > PS_MSG_CHALLENGE)
        return ps_mpack_err(err, errlen, "unknown message type %" PRIu64, v[1]);
    *type = (uint32_t)v[1];
    return 0;
}

int ps_proto_peek_type(const void *buf, size_t len, uint32_t *type, char *err, size_t errlen)
{
    uint32_t arity;

    if (!buf) return ps_mpack_err(err, errlen, "empty message");
    return proto_read_head(buf, len, &arity, type, err, errlen);
}

/* Checks a whole message of the given type; on success the caller reads its
 * fields from *r, positioned after version and type. */
static int proto_open(const void *buf, size_t len, uint32_t want, uint32_t arity,
                      struct ps_mpack_in *in, struct ps_mpack_rd *r, char *err, size_t errlen)
{
    uint32_t got_arity = 0, type = 0;
    uint64_t head;

    if (!buf) return ps_mpack_err(err, errlen, "empty message");
    if (proto_read_head(buf, len, &got_arity, &type, err, errlen)) return -1;
    if (type != want)
        return ps_mpack_err(err, errlen, "expected a %s message (type %" PRIu32 "), got %s (type %"
                            PRIu32 ")", proto_msg_name(want), want, proto_msg_name(type), type);
    if (got_arity != arity)
        return ps_mpack_err(err, errlen, "%s: expected %" PRIu32 " elements, got %" PRIu32,
                            proto_msg_name(want), arity, got_arity);
    /* version and type were checked above, from the same bytes */
    return ps_mpack_rd_begin(r, in, buf, len, arity, proto_msg_name(want), err, errlen) ||
           ps_mpack_rd_u64(r, "version", &head) || ps_mpack_rd_u64(r, "type", &head) ? -1 : 0;
}

/* ------------------------------------------------- the messages */

PROTO_MESSAGE(hello, PS_MSG_HELLO, sizeof *m)
PROTO_MESSAGE(welcome, PS_MSG_WELCOME, sizeof *m)
PROTO_MESSAGE(tick, PS_MSG_TICK, sizeof *m)
PROTO_MESSAGE(reply, PS_MSG_REPLY, sizeof *m)
PROTO_MESSAGE(events, PS_MSG_EVENTS, offsetof(struct ps_events, ev))
PROTO_MESSAGE(challenge, PS_MSG_CHALLENGE, sizeof *m)

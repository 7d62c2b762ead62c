/* ps_proto.c: msgpack encoding and decoding of every agent <-> controller message.
 *
 * Wire form (docs/protocol.md): a message is one msgpack array
 *   [PS_PROTO_VERSION, type, field, field, ...]
 * with the fields in the order of the C struct. A count plus fixed array pair
 * (n_ips + ips[], n_acks + acked_seq[], n + ev[] ...) is a single msgpack array
 * holding only the used elements, at the position of the array; nested structs
 * are nested arrays; a command is [id, kind, kind-specific fields...]; an event
 * is [conn, type, ts, val, aux].
 *
 * Encoding packs straight into the caller's msgpack_sbuffer, which is cleared
 * first (a message is always a whole buffer: decoders refuse trailing bytes).
 * Encoders only refuse what would make them read out of bounds (a count larger
 * than its array, a string without its NUL); the meaning of values is checked
 * on the decoding side, which is the side that must not trust its input.
 *
 * Decoding runs in three steps:
 *  1. proto_precheck() walks the raw bytes once without allocating and checks
 *     that the buffer holds exactly one complete msgpack object. It also makes
 *     sure no array or map claims more elements than there are bytes left,
 *     because msgpack-c allocates an array's element table as soon as it reads
 *     the header: five hostile bytes (array32 of 2^32-1) would otherwise ask for
 *     64 GiB. After this check msgpack-c allocates at most ~16 bytes per input byte.
 *  2. msgpack_unpack_next() builds the object tree in a zone owned by a local
 *     msgpack_unpacked, destroyed before the decoder returns; strings point into
 *     the caller's buffer and are copied out, so nothing outlives the call.
 *  3. A small reader (struct proto_rd) walks one array at a time, checking the
 *     msgpack type, the range and the arity of every field, and names the field
 *     in its error ("tick.stats.rss_bytes: expected an unsigned integer, got -1"). */
#include "ps_proto.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Element counts of each message, version and type included. */
#define HELLO_ARITY    16
#define WELCOME_ARITY  6
#define TICK_ARITY     12
#define REPLY_ARITY    7
#define EVENTS_ARITY   7
#define STATS_ARITY    22
#define HOSTMON_ARITY  14
#define EVENT_ARITY    5
#define CMD_HEAD_ARITY 2
#define ASSIGN_ARITY   (CMD_HEAD_ARITY + 17)
#define RAMP_ARITY     (CMD_HEAD_ARITY + 3)
#define DISC_ARITY     (CMD_HEAD_ARITY + 3)

static const char *proto_msg_name(uint32_t type)
{
    switch (type) {
    case PS_MSG_HELLO:   return "hello";
    case PS_MSG_WELCOME: return "welcome";
    case PS_MSG_TICK:    return "tick";
    case PS_MSG_REPLY:   return "reply";
    case PS_MSG_EVENTS:  return "events";
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
};

const char *ps_reason_name(uint32_t reason)
{
    return reason < PS_REASON_COUNT ? proto_reason_names[reason] : "unknown";
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
};

const char *ps_ev_type_name(uint32_t type)
{
    if (type == 0 || type >= sizeof proto_ev_names / sizeof proto_ev_names[0]) return "unknown";
    return proto_ev_names[type];
}

/* ================================================================= encoding */

/* Length of a NUL-terminated string stored in a char[cap], or -1 if unterminated. */
static int proto_pack_str(msgpack_packer *pk, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);

    if (n == cap) return -1;
    return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, s, n);
}

static int proto_pack_head(msgpack_sbuffer *out, msgpack_packer *pk, uint32_t type, size_t arity)
{
    msgpack_sbuffer_clear(out);
    msgpack_packer_init(pk, out, msgpack_sbuffer_write);
    return msgpack_pack_array(pk, arity) | msgpack_pack_uint32(pk, PS_PROTO_VERSION)
         | msgpack_pack_uint32(pk, type);
}

static int proto_pack_u64_array(msgpack_packer *pk, const uint64_t *v, uint32_t n, uint32_t cap)
{
    int rc;
    uint32_t i;

    if (n > cap) return -1;
    rc = msgpack_pack_array(pk, n);
    for (i = 0; i < n; i++) rc |= msgpack_pack_uint64(pk, v[i]);
    return rc;
}

int ps_proto_encode_hello(msgpack_sbuffer *out, const struct ps_hello *m)
{
    msgpack_packer pk;
    int rc;
    uint32_t i;

    if (m->n_ips > PS_MAX_IPS) return -1;
    rc = proto_pack_head(out, &pk, PS_MSG_HELLO, HELLO_ARITY);
    rc |= proto_pack_str(&pk, m->name, sizeof m->name);
    rc |= proto_pack_str(&pk, m->host, sizeof m->host);
    rc |= proto_pack_str(&pk, m->version, sizeof m->version);
    rc |= msgpack_pack_uint32(&pk, m->cores);
    rc |= msgpack_pack_uint32(&pk, m->threads);
    rc |= msgpack_pack_uint64(&pk, m->fd_soft);
    rc |= msgpack_pack_uint64(&pk, m->fd_hard);
    rc |= msgpack_pack_uint64(&pk, m->mem_total);
    rc |= msgpack_pack_uint64(&pk, m->mem_available);
    rc |= msgpack_pack_uint32(&pk, m->port_lo);
    rc |= msgpack_pack_uint32(&pk, m->port_hi);
    rc |= msgpack_pack_uint32(&pk, m->monitor);
    rc |= msgpack_pack_array(&pk, m->n_ips);
    for (i = 0; i < m->n_ips; i++) rc |= proto_pack_str(&pk, m->ips[i], sizeof m->ips[i]);
    rc |= msgpack_pack_int64(&pk, m->t_send);
    return rc ? -1 : 0;
}

int ps_proto_encode_welcome(msgpack_sbuffer *out, const struct ps_welcome *m)
{
    msgpack_packer pk;
    int rc;

    rc = proto_pack_head(out, &pk, PS_MSG_WELCOME, WELCOME_ARITY);
    rc |= msgpack_pack_uint32(&pk, m->agent_id);
    rc |= msgpack_pack_int64(&pk, m->t_recv);
    rc |= msgpack_pack_int64(&pk, m->t_send);
    rc |= proto_pack_str(&pk, m->reason, sizeof m->reason);
    return rc ? -1 : 0;
}

static int proto_pack_stats(msgpack_packer *pk, const struct ps_stats *s)
{
    int rc = msgpack_pack_array(pk, STATS_ARITY);

    rc |= msgpack_pack_int64(pk, s->second);
    rc |= msgpack_pack_uint32(pk, s->connected);
    rc |= msgpack_pack_uint32(pk, s->connecting);
    rc |= msgpack_pack_uint64(pk, s->opened);
    rc |= msgpack_pack_uint64(pk, s->failed);
    rc |= msgpack_pack_uint64(pk, s->closed);
    rc |= msgpack_pack_uint64(pk, s->messages);
    rc |= msgpack_pack_uint64(pk, s->pings);
    rc |= msgpack_pack_uint64(pk, s->pongs);
    rc |= msgpack_pack_uint64(pk, s->pong_missed);
    rc |= msgpack_pack_uint64(pk, s->hb_sent);
    rc |= msgpack_pack_uint64(pk, s->hb_missed);
    rc |= msgpack_pack_uint32(pk, s->rtt_p50_us);
    rc |= msgpack_pack_uint32(pk, s->rtt_p99_us);
    rc |= msgpack_pack_uint32(pk, s->hs_p50_us);
    rc |= msgpack_pack_uint32(pk, s->hs_p99_us);
    rc |= msgpack_pack_uint32(pk, s->lat_p50_us);
    rc |= msgpack_pack_uint32(pk, s->lat_p99_us);
    rc |= msgpack_pack_uint32(pk, s->lag_max_us);
    rc |= msgpack_pack_uint32(pk, s->cpu_pct_x100);
    rc |= msgpack_pack_uint64(pk, s->rss_bytes);
    rc |= msgpack_pack_uint32(pk, s->saturated);
    return rc;
}

static int proto_pack_hostmon(msgpack_packer *pk, const struct ps_hostmon *h)
{
    int rc = msgpack_pack_array(pk, HOSTMON_ARITY);

    rc |= msgpack_pack_uint32(pk, h->cpu_pct_x100);
    rc |= msgpack_pack_uint32(pk, h->load1_x100);
    rc |= msgpack_pack_uint64(pk, h->mem_total);
    rc |= msgpack_pack_uint64(pk, h->mem_available);
    rc |= msgpack_pack_uint32(pk, h->tcp_inuse);
    rc |= msgpack_pack_uint32(pk, h->tcp_orphan);
    rc |= msgpack_pack_uint32(pk, h->tcp_tw);
    rc |= msgpack_pack_uint32(pk, h->tcp_alloc);
    rc |= msgpack_pack_uint64(pk, h->tcp_mem_bytes);
    rc |= msgpack_pack_uint32(pk, h->pid);
    rc |= msgpack_pack_uint32(pk, h->proc_cpu_pct_x100);
    rc |= msgpack_pack_uint64(pk, h->proc_rss);
    rc |= msgpack_pack_uint32(pk, h->proc_fds);
    rc |= msgpack_pack_uint32(pk, h->proc_threads);
    return rc;
}

int ps_proto_encode_tick(msgpack_sbuffer *out, const struct ps_tick *m)
{
    msgpack_packer pk;
    int rc;

    rc = proto_pack_head(out, &pk, PS_MSG_TICK, TICK_ARITY);
    rc |= msgpack_pack_uint32(&pk, m->agent_id);
    rc |= msgpack_pack_int64(&pk, m->t_send);
    rc |= msgpack_pack_int64(&pk, m->offset_us);
    rc |= msgpack_pack_int64(&pk, m->offset_err_us);
    rc |= msgpack_pack_uint32(&pk, m->cmd_done);
    rc |= proto_pack_str(&pk, m->cmd_error, sizeof m->cmd_error);
    rc |= proto_pack_u64_array(&pk, m->batch_seq, m->n_threads, PS_MAX_THREADS);
    rc |= msgpack_pack_uint32(&pk, m->stopped);
    rc |= proto_pack_stats(&pk, &m->stats);
    rc |= proto_pack_hostmon(&pk, &m->host);
    return rc ? -1 : 0;
}

static int proto_pack_assign(msgpack_packer *pk, const struct ps_assign *a)
{
    int rc = 0;
    uint32_t i;

    if (a->n_targets > PS_MAX_TARGETS || a->n_headers > PS_MAX_HEADERS) return -1;
    rc |= msgpack_pack_uint32(pk, a->run_id);
    rc |= msgpack_pack_uint32(pk, a->conn_first);
    rc |= msgpack_pack_uint32(pk, a->conn_count);
    rc |= msgpack_pack_array(pk, a->n_targets);
    for (i = 0; i < a->n_targets; i++)
        rc |= proto_pack_str(pk, a->targets[i], sizeof a->targets[i]);
    rc |= proto_pack_str(pk, a->subprotocol, sizeof a->subprotocol);
    rc |= msgpack_pack_array(pk, a->n_headers);
    for (i = 0; i < a->n_headers; i++) {
        rc |= msgpack_pack_array(pk, 2);
        rc |= proto_pack_str(pk, a->headers[i].name, sizeof a->headers[i].name);
        rc |= proto_pack_str(pk, a->headers[i].value, sizeof a->headers[i].value);
    }
    rc |= msgpack_pack_uint32(pk, a->ws_ping_ms);
    rc |= msgpack_pack_uint32(pk, a->pong_timeout_ms);
    rc |= proto_pack_str(pk, a->hb_text, sizeof a->hb_text);
    rc |= proto_pack_str(pk, a->hb_expect, sizeof a->hb_expect);
    rc |= msgpack_pack_uint32(pk, a->hb_interval_ms);
    rc |= msgpack_pack_uint32(pk, a->hb_timeout_ms);
    rc |= msgpack_pack_uint32(pk, a->reconnect_min_ms);
    rc |= msgpack_pack_uint32(pk, a->reconnect_max_ms);
    rc |= msgpack_pack_uint32(pk, a->reconnect_attempts);
    rc |= msgpack_pack_uint32(pk, a->max_inflight);
    rc |= msgpack_pack_uint32(pk, a->max_message);
    return rc;
}

static int proto_pack_cmd(msgpack_packer *pk, const struct ps_cmd *c)
{
    int rc;

    switch (c->kind) {
    case PS_CMD_NONE:
    case PS_CMD_STOP:
        rc = msgpack_pack_array(pk, CMD_HEAD_ARITY);
        break;
    case PS_CMD_ASSIGN:
        rc = msgpack_pack_array(pk, ASSIGN_ARITY);
        break;
    case PS_CMD_RAMP:
        rc = msgpack_pack_array(pk, RAMP_ARITY);
        break;
    case PS_CMD_DISCONNECT:
        rc = msgpack_pack_array(pk, DISC_ARITY);
        break;
    default:
        return -1;
    }
    rc |= msgpack_pack_uint32(pk, c->id);
    rc |= msgpack_pack_uint32(pk, c->kind);
    switch (c->kind) {
    case PS_CMD_ASSIGN:
        rc |= proto_pack_assign(pk, &c->u.assign);
        break;
    case PS_CMD_RAMP:
        rc |= msgpack_pack_uint32(pk, c->u.ramp.to);
        rc |= msgpack_pack_double(pk, c->u.ramp.rate);
        rc |= msgpack_pack_int64(pk, c->u.ramp.start_at);
        break;
    case PS_CMD_DISCONNECT:
        rc |= msgpack_pack_double(pk, c->u.disconnect.fraction);
        rc |= msgpack_pack_uint32(pk, c->u.disconnect.close_code);
        rc |= msgpack_pack_int64(pk, c->u.disconnect.start_at);
        break;
    default:
        break;
    }
    return rc;
}

int ps_proto_encode_reply(msgpack_sbuffer *out, const struct ps_reply *m)
{
    msgpack_packer pk;
    int rc;

    rc = proto_pack_head(out, &pk, PS_MSG_REPLY, REPLY_ARITY);
    rc |= msgpack_pack_int64(&pk, m->t_recv);
    rc |= msgpack_pack_int64(&pk, m->t_send);
    rc |= proto_pack_u64_array(&pk, m->acked_seq, m->n_acks, PS_MAX_THREADS);
    rc |= msgpack_pack_uint32(&pk, m->unknown_agent);
    rc |= proto_pack_cmd(&pk, &m->cmd);
    return rc ? -1 : 0;
}

int ps_proto_encode_events(msgpack_sbuffer *out, const struct ps_events *m)
{
    msgpack_packer pk;
    int rc;
    uint32_t i;

    if (m->n > PS_EVENTS_MAX) return -1;
    rc = proto_pack_head(out, &pk, PS_MSG_EVENTS, EVENTS_ARITY);
    rc |= msgpack_pack_uint32(&pk, m->agent_id);
    rc |= msgpack_pack_uint32(&pk, m->thread);
    rc |= msgpack_pack_uint64(&pk, m->seq);
    rc |= msgpack_pack_uint32(&pk, m->run_id);
    rc |= msgpack_pack_array(&pk, m->n);
    for (i = 0; i < m->n; i++) {
        const struct ps_event *e = &m->ev[i];
        rc |= msgpack_pack_array(&pk, EVENT_ARITY);
        rc |= msgpack_pack_uint32(&pk, e->conn);
        rc |= msgpack_pack_uint32(&pk, e->type);
        rc |= msgpack_pack_int64(&pk, e->ts);
        rc |= msgpack_pack_uint64(&pk, e->val);
        rc |= msgpack_pack_uint32(&pk, e->aux);
    }
    return rc ? -1 : 0;
}

/* ================================================================= decoding */

static int proto_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int proto_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static uint64_t proto_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    while (n-- > 0) v = (v << 8) | *p++;
    return v;
}

/* Step 1: one complete object, no trailing bytes, no container larger than the
 * bytes left to fill it. Needs no stack: every element, container or not, is a
 * header followed by its payload, so counting the elements still owed is enough. */
static int proto_precheck(const unsigned char *p, size_t len, char *err, size_t errlen)
{
    size_t pos = 0;
    uint64_t owed = 1;          /* elements still to read */

    while (owed > 0) {
        uint64_t body = 0, children = 0;
        size_t head = 1;
        unsigned char c;

        if (pos >= len)
            return proto_err(err, errlen, "truncated message (%zu bytes)", len);
        c = p[pos];
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            /* fixint, nil, bool: header only */
        } else if (c <= 0x8f) {
            children = 2u * (c & 0x0f);
        } else if (c <= 0x9f) {
            children = c & 0x0f;
        } else if (c <= 0xbf) {
            body = c & 0x1f;
        } else {
            switch (c) {
            case 0xc4: case 0xd9: head = 2; break;              /* bin8, str8 */
            case 0xc5: case 0xda: head = 3; break;              /* bin16, str16 */
            case 0xc6: case 0xdb: head = 5; break;              /* bin32, str32 */
            case 0xc7: head = 3; break;                         /* ext8 */
            case 0xc8: head = 4; break;                         /* ext16 */
            case 0xc9: head = 6; break;                         /* ext32 */
            case 0xca: body = 4; break;
            case 0xcb: body = 8; break;
            case 0xcc: case 0xd0: body = 1; break;
            case 0xcd: case 0xd1: body = 2; break;
            case 0xce: case 0xd2: body = 4; break;
            case 0xcf: case 0xd3: body = 8; break;
            case 0xd4: body = 2; break;                         /* fixext 1..16 */
            case 0xd5: body = 3; break;
            case 0xd6: body = 5; break;
            case 0xd7: body = 9; break;
            case 0xd8: body = 17; break;
            case 0xdc: case 0xde: head = 3; break;              /* array16, map16 */
            case 0xdd: case 0xdf: head = 5; break;              /* array32, map32 */
            default:
                return proto_err(err, errlen, "not msgpack: byte 0x%02x at offset %zu", c, pos);
            }
            if (head > 1) {
                uint64_t n;
                int nlen = (int)head - 1;
                if (c >= 0xc7 && c <= 0xc9) nlen = (int)head - 2;   /* ext: size then type byte */
                if (len - pos < head)
                    return proto_err(err, errlen, "truncated message (%zu bytes)", len);
                n = proto_be(p + pos + 1, nlen);
                if (c == 0xdc || c == 0xdd)      children = n;
                else if (c == 0xde || c == 0xdf) children = 2 * n;
                else                             body = n;
            }
        }
        if (len - pos < head || len - pos - head < body)
            return proto_err(err, errlen, "truncated message (%zu bytes)", len);
        pos += head + (size_t)body;
        owed = owed - 1 + children;
        if (owed > len - pos)
            return proto_err(err, errlen, "truncated message (%zu bytes): an array at offset %zu "
                             "claims more elements than there are bytes", len, pos - head);
    }
    if (pos != len)
        return proto_err(err, errlen, "%zu trailing byte(s) after the message", len - pos);
    return 0;
}

/* A cursor over the elements of one msgpack array. Its path in the message
 * ("reply.cmd.headers.3") is only spelled out when an error is reported, so the
 * per-event cost of naming things is one pointer and one index. */
struct proto_rd {
    const msgpack_object *el;
    uint32_t n, i;
    const struct proto_rd *parent;   /* NULL for the message itself */
    const char *name;                /* field name in the parent, or NULL: use index */
    uint32_t index;                  /* position in the parent */
    char *err;
    size_t errlen;
};

/* Describes an object for "expected X, got Y" messages. */
static void proto_describe(const msgpack_object *o, char *buf, size_t len)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:              snprintf(buf, len, "nil"); break;
    case MSGPACK_OBJECT_BOOLEAN:          snprintf(buf, len, "a boolean"); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: snprintf(buf, len, "%" PRIu64, o->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: snprintf(buf, len, "%" PRId64, o->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:          snprintf(buf, len, "%g", o->via.f64); break;
    case MSGPACK_OBJECT_STR:              snprintf(buf, len, "a string"); break;
    case MSGPACK_OBJECT_ARRAY:
        snprintf(buf, len, "an array of %" PRIu32, o->via.array.size); break;
    case MSGPACK_OBJECT_MAP:              snprintf(buf, len, "a map"); break;
    case MSGPACK_OBJECT_BIN:              snprintf(buf, len, "binary data"); break;
    case MSGPACK_OBJECT_EXT:              snprintf(buf, len, "an extension type"); break;
    default:                              snprintf(buf, len, "type %d", (int)o->type); break;
    }
}

static void proto_rd_path(const struct proto_rd *r, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = 0;
    if (r->parent) {
        proto_rd_path(r->parent, buf, len);
        used = strlen(buf);
    }
    if (used + 1 >= len) return;
    if (r->name)
        snprintf(buf + used, len - used, "%s%s", r->parent ? "." : "", r->name);
    else
        snprintf(buf + used, len - used, ".%" PRIu32, r->index);
}

/* "<path of r>[.<field>]: <message>"; field NULL with elem = 1 names the
 * element just read by its index, with elem = 0 the array itself. */
static int proto_rd_err(const struct proto_rd *r, const char *field, int elem, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int proto_rd_err(const struct proto_rd *r, const char *field, int elem, const char *fmt, ...)
{
    char path[192];
    va_list ap;
    int n;

    if (!r->err || !r->errlen) return -1;
    proto_rd_path(r, path, sizeof path);
    if (field)
        n = snprintf(r->err, r->errlen, "%s.%s: ", path, field);
    else if (elem)
        n = snprintf(r->err, r->errlen, "%s.%" PRIu32 ": ", path, r->i - 1);
    else
        n = snprintf(r->err, r->errlen, "%s: ", path);
    if (n < 0 || (size_t)n >= r->errlen) return -1;
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int proto_rd_expected(const struct proto_rd *r, const char *field, const char *expected,
                             const msgpack_object *o)
{
    char got[64];

    proto_describe(o, got, sizeof got);
    return proto_rd_err(r, field, 1, "expected %s, got %s", expected, got);
}

/* Opens `o` as an array of exactly `arity` elements, or of at most `max` when
 * arity is 0. */
static int proto_rd_open(struct proto_rd *r, const msgpack_object *o, uint32_t arity, uint32_t max,
                         const struct proto_rd *parent, const char *name, char *err, size_t errlen)
{
    r->parent = parent;
    r->name = name;
    r->index = parent ? parent->i - 1 : 0;
    r->err = err;
    r->errlen = errlen;
    r->el = NULL;
    r->n = r->i = 0;
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        char got[64];
        proto_describe(o, got, sizeof got);
        return proto_rd_err(r, NULL, 0, "expected an array, got %s", got);
    }
    r->el = o->via.array.ptr;
    r->n = o->via.array.size;
    if (arity && r->n != arity)
        return proto_rd_err(r, NULL, 0, "expected %" PRIu32 " elements, got %" PRIu32, arity, r->n);
    if (!arity && r->n > max)
        return proto_rd_err(r, NULL, 0, "%" PRIu32 " elements, at most %" PRIu32 " allowed", r->n, max);
    return 0;
}

/* Arity is checked when an array is opened, so running off the end means a bug
 * here; it is still refused rather than read out of bounds. */
static const msgpack_object *proto_rd_next(struct proto_rd *r)
{
    if (r->i >= r->n) {
        proto_rd_err(r, NULL, 0, "missing element %" PRIu32, r->i);
        return NULL;
    }
    return &r->el[r->i++];
}

static int proto_rd_uint(struct proto_rd *r, const char *field, uint64_t max, uint64_t *out)
{
    const msgpack_object *o = proto_rd_next(r);

    if (!o) return -1;
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return proto_rd_expected(r, field, "an unsigned integer", o);
    if (o->via.u64 > max)
        return proto_rd_err(r, field, 1, "%" PRIu64 " out of range (max %" PRIu64 ")", o->via.u64, max);
    *out = o->via.u64;
    return 0;
}

static int proto_rd_u32(struct proto_rd *r, const char *field, uint32_t *out)
{
    uint64_t v = 0;

    if (proto_rd_uint(r, field, UINT32_MAX, &v)) return -1;
    *out = (uint32_t)v;
    return 0;
}

static int proto_rd_u64(struct proto_rd *r, const char *field, uint64_t *out)
{
    return proto_rd_uint(r, field, UINT64_MAX, out);
}

/* A 0/1 flag. */
static int proto_rd_flag(struct proto_rd *r, const char *field, uint32_t *out)
{
    uint64_t v = 0;

    if (proto_rd_uint(r, field, 1, &v)) return -1;
    *out = (uint32_t)v;
    return 0;
}

static int proto_rd_i64(struct proto_rd *r, const char *field, int64_t *out)
{
    const msgpack_object *o = proto_rd_next(r);

    if (!o) return -1;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return proto_rd_expected(r, field, "an integer", o);
    if (o->via.u64 > INT64_MAX)
        return proto_rd_err(r, field, 1, "%" PRIu64 " out of range (max %" PRId64 ")",
                            o->via.u64, INT64_MAX);
    *out = (int64_t)o->via.u64;
    return 0;
}

/* A finite double in [lo, hi]; integers are accepted too. */
static int proto_rd_f64(struct proto_rd *r, const char *field, double lo, double hi, double *out)
{
    const msgpack_object *o = proto_rd_next(r);
    double v;

    if (!o) return -1;
    switch (o->type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:          v = o->via.f64; break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: v = (double)o->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: v = (double)o->via.i64; break;
    default: return proto_rd_expected(r, field, "a number", o);
    }
    if (!isfinite(v) || v < lo || v > hi)
        return proto_rd_err(r, field, 1, "%g out of range [%g, %g]", v, lo, hi);
    *out = v;
    return 0;
}

/* Copies a msgpack str into char[cap], NUL-terminated; refuses embedded NULs,
 * which would silently cut the string short on the C side. */
static int proto_rd_str(struct proto_rd *r, const char *field, char *dst, size_t cap)
{
    const msgpack_object *o = proto_rd_next(r);
    uint32_t n;

    if (!o) return -1;
    if (o->type != MSGPACK_OBJECT_STR)
        return proto_rd_expected(r, field, "a string", o);
    n = o->via.str.size;
    if (n >= cap)
        return proto_rd_err(r, field, 1, "string of %" PRIu32 " bytes is too long (max %zu)", n, cap - 1);
    if (n && memchr(o->via.str.ptr, 0, n))
        return proto_rd_err(r, field, 1, "string contains a NUL byte");
    if (n) memcpy(dst, o->via.str.ptr, n);
    dst[n] = 0;
    return 0;
}

/* Opens the next element (field, or by index when field is NULL) as a
 * sub-array: exactly `arity` elements, or at most `max` when arity is 0. */
static int proto_rd_sub(struct proto_rd *r, const char *field, uint32_t arity, uint32_t max,
                        struct proto_rd *sub)
{
    const msgpack_object *o = proto_rd_next(r);

    if (!o) return -1;
    return proto_rd_open(sub, o, arity, max, r, field, r->err, r->errlen);
}

/* Reads the header of a message of the raw bytes without unpacking: array
 * length, version, type. */
static int proto_read_head(const unsigned char *p, size_t len, uint32_t *arity,
                           uint32_t *type, char *err, size_t errlen)
{
    size_t pos = 0;
    uint64_t v[2] = { 0, 0 };
    int i;

    if (len == 0) return proto_err(err, errlen, "empty message");
    if (p[0] >= 0x90 && p[0] <= 0x9f) {
        *arity = p[0] & 0x0f;
        pos = 1;
    } else if (p[0] == 0xdc && len >= 3) {
        *arity = (uint32_t)proto_be(p + 1, 2);
        pos = 3;
    } else if (p[0] == 0xdd && len >= 5) {
        *arity = (uint32_t)proto_be(p + 1, 4);
        pos = 5;
    } else if (p[0] == 0xdc || p[0] == 0xdd) {
        return proto_err(err, errlen, "truncated message (%zu bytes)", len);
    } else {
        return proto_err(err, errlen, "not a pushstorm message: expected a msgpack array, "
                         "got byte 0x%02x", p[0]);
    }
    if (*arity < 2)
        return proto_err(err, errlen, "not a pushstorm message: array of %" PRIu32
                         " elements has no version and type", *arity);
    for (i = 0; i < 2; i++) {
        int n;
        if (pos >= len) return proto_err(err, errlen, "truncated message (%zu bytes)", len);
        if (p[pos] <= 0x7f) { v[i] = p[pos]; n = 0; }
        else if (p[pos] == 0xcc) n = 1;
        else if (p[pos] == 0xcd) n = 2;
        else if (p[pos] == 0xce) n = 4;
        else if (p[pos] == 0xcf) n = 8;
        else
            return proto_err(err, errlen, "not a pushstorm message: %s is not an unsigned integer",
                             i == 0 ? "the version" : "the message type");
        if (len - pos - 1 < (size_t)n)
            return proto_err(err, errlen, "truncated message (%zu bytes)", len);
        if (n) v[i] = proto_be(p + pos + 1, n);
        pos += 1 + (size_t)n;
        if (i == 0 && v[0] != PS_PROTO_VERSION)
            return proto_err(err, errlen, "protocol version %" PRIu64 ", expected %d",
                             v[0], PS_PROTO_VERSION);
    }
    if (v[1] < PS_MSG_HELLO || v[1] > PS_MSG_EVENTS)
        return proto_err(err, errlen, "unknown message type %" PRIu64, v[1]);
    *type = (uint32_t)v[1];
    return 0;
}

int ps_proto_peek_type(const void *buf, size_t len, uint32_t *type, char *err, size_t errlen)
{
    uint32_t arity;

    if (!buf) return proto_err(err, errlen, "empty message");
    return proto_read_head(buf, len, &arity, type, err, errlen);
}

/* Checks and unpacks a whole message of the given type; on success the caller
 * reads from *r (positioned after version and type) and destroys *u. */
static int proto_open(const void *buf, size_t len, uint32_t want, uint32_t arity,
                      msgpack_unpacked *u, struct proto_rd *r, char *err, size_t errlen)
{
    uint32_t got_arity = 0, type = 0;
    size_t off = 0;
    msgpack_unpack_return ret;

    if (!buf) return proto_err(err, errlen, "empty message");
    if (proto_read_head(buf, len, &got_arity, &type, err, errlen)) return -1;
    if (type != want)
        return proto_err(err, errlen, "expected a %s message (type %" PRIu32 "), got %s (type %"
                         PRIu32 ")", proto_msg_name(want), want, proto_msg_name(type), type);
    if (got_arity != arity)
        return proto_err(err, errlen, "%s: expected %" PRIu32 " elements, got %" PRIu32,
                         proto_msg_name(want), arity, got_arity);
    if (proto_precheck(buf, len, err, errlen)) return -1;

    msgpack_unpacked_init(u);
    ret = msgpack_unpack_next(u, buf, len, &off);
    if (ret != MSGPACK_UNPACK_SUCCESS || off != len) {
        msgpack_unpacked_destroy(u);
        return proto_err(err, errlen, "%s: msgpack could not decode the message (%d)",
                         proto_msg_name(want), (int)ret);
    }
    if (proto_rd_open(r, &u->data, arity, 0, NULL, proto_msg_name(want), err, errlen)) {
        msgpack_unpacked_destroy(u);
        return -1;
    }
    r->i = 2;                    /* version and type were checked above */
    return 0;
}

static int proto_read_hello(struct proto_rd *r, struct ps_hello *m)
{
    struct proto_rd ips;
    uint64_t threads;
    uint32_t i;

    if (proto_rd_str(r, "name", m->name, sizeof m->name) ||
        proto_rd_str(r, "host", m->host, sizeof m->host) ||
        proto_rd_str(r, "version", m->version, sizeof m->version) ||
        proto_rd_u32(r, "cores", &m->cores) ||
        proto_rd_uint(r, "threads", PS_MAX_THREADS, &threads) ||
        proto_rd_u64(r, "fd_soft", &m->fd_soft) ||
        proto_rd_u64(r, "fd_hard", &m->fd_hard) ||
        proto_rd_u64(r, "mem_total", &m->mem_total) ||
        proto_rd_u64(r, "mem_available", &m->mem_available) ||
        proto_rd_u32(r, "port_lo", &m->port_lo) ||
        proto_rd_u32(r, "port_hi", &m->port_hi) ||
        proto_rd_flag(r, "monitor", &m->monitor) ||
        proto_rd_sub(r, "ips", 0, PS_MAX_IPS, &ips))
        return -1;
    m->threads = (uint32_t)threads;
    m->n_ips = ips.n;
    for (i = 0; i < ips.n; i++)
        if (proto_rd_str(&ips, NULL, m->ips[i], sizeof m->ips[i])) return -1;
    return proto_rd_i64(r, "t_send", &m->t_send);
}

int ps_proto_decode_hello(const void *buf, size_t len, struct ps_hello *m, char *err, size_t errlen)
{
    msgpack_unpacked u;
    struct proto_rd r;
    int rc;

    if (proto_open(buf, len, PS_MSG_HELLO, HELLO_ARITY, &u, &r, err, errlen)) return -1;
    memset(m, 0, sizeof *m);
    rc = proto_read_hello(&r, m);
    msgpack_unpacked_destroy(&u);
    return rc;
}

int ps_proto_decode_welcome(const void *buf, size_t len, struct ps_welcome *m, char *err, size_t errlen)
{
    msgpack_unpacked u;
    struct proto_rd r;
    int rc;

    if (proto_open(buf, len, PS_MSG_WELCOME, WELCOME_ARITY, &u, &r, err, errlen)) return -1;
    memset(m, 0, sizeof *m);
    rc = proto_rd_u32(&r, "agent_id", &m->agent_id) ||
         proto_rd_i64(&r, "t_recv", &m->t_recv) ||
         proto_rd_i64(&r, "t_send", &m->t_send) ||
         proto_rd_str(&r, "reason", m->reason, sizeof m->reason) ? -1 : 0;
    msgpack_unpacked_destroy(&u);
    return rc;
}

static int proto_read_stats(struct proto_rd *r, struct ps_stats *s)
{
    return proto_rd_i64(r, "second", &s->second) ||
           proto_rd_u32(r, "connected", &s->connected) ||
           proto_rd_u32(r, "connecting", &s->connecting) ||
           proto_rd_u64(r, "opened", &s->opened) ||
           proto_rd_u64(r, "failed", &s->failed) ||
           proto_rd_u64(r, "closed", &s->closed) ||
           proto_rd_u64(r, "messages", &s->messages) ||
           proto_rd_u64(r, "pings", &s->pings) ||
           proto_rd_u64(r, "pongs", &s->pongs) ||
           proto_rd_u64(r, "pong_missed", &s->pong_missed) ||
           proto_rd_u64(r, "hb_sent", &s->hb_sent) ||
           proto_rd_u64(r, "hb_missed", &s->hb_missed) ||
           proto_rd_u32(r, "rtt_p50_us", &s->rtt_p50_us) ||
           proto_rd_u32(r, "rtt_p99_us", &s->rtt_p99_us) ||
           proto_rd_u32(r, "hs_p50_us", &s->hs_p50_us) ||
           proto_rd_u32(r, "hs_p99_us", &s->hs_p99_us) ||
           proto_rd_u32(r, "lat_p50_us", &s->lat_p50_us) ||
           proto_rd_u32(r, "lat_p99_us", &s->lat_p99_us) ||
           proto_rd_u32(r, "lag_max_us", &s->lag_max_us) ||
           proto_rd_u32(r, "cpu_pct_x100", &s->cpu_pct_x100) ||
           proto_rd_u64(r, "rss_bytes", &s->rss_bytes) ||
           proto_rd_flag(r, "saturated", &s->saturated) ? -1 : 0;
}

/* Reads a per-thread u64 array into v[PS_MAX_THREADS]. */
static int proto_read_thread_seqs(struct proto_rd *r, const char *field, uint64_t *v, uint32_t *n)
{
    struct proto_rd a;
    uint32_t i;

    if (proto_rd_sub(r, field, 0, PS_MAX_THREADS, &a)) return -1;
    for (i = 0; i < a.n; i++)
        if (proto_rd_u64(&a, NULL, &v[i])) return -1;
    *n = a.n;
    return 0;
}

static int proto_read_hostmon(struct proto_rd *r, struct ps_hostmon *h)
{
    return proto_rd_u32(r, "cpu_pct_x100", &h->cpu_pct_x100) ||
           proto_rd_u32(r, "load1_x100", &h->load1_x100) ||
           proto_rd_u64(r, "mem_total", &h->mem_total) ||
           proto_rd_u64(r, "mem_available", &h->mem_available) ||
           proto_rd_u32(r, "tcp_inuse", &h->tcp_inuse) ||
           proto_rd_u32(r, "tcp_orphan", &h->tcp_orphan) ||
           proto_rd_u32(r, "tcp_tw", &h->tcp_tw) ||
           proto_rd_u32(r, "tcp_alloc", &h->tcp_alloc) ||
           proto_rd_u64(r, "tcp_mem_bytes", &h->tcp_mem_bytes) ||
           proto_rd_u32(r, "pid", &h->pid) ||
           proto_rd_u32(r, "proc_cpu_pct_x100", &h->proc_cpu_pct_x100) ||
           proto_rd_u64(r, "proc_rss", &h->proc_rss) ||
           proto_rd_u32(r, "proc_fds", &h->proc_fds) ||
           proto_rd_u32(r, "proc_threads", &h->proc_threads) ? -1 : 0;
}

static int proto_read_tick(struct proto_rd *r, struct ps_tick *m)
{
    struct proto_rd st, hm;

    return proto_rd_u32(r, "agent_id", &m->agent_id) ||
           proto_rd_i64(r, "t_send", &m->t_send) ||
           proto_rd_i64(r, "offset_us", &m->offset_us) ||
           proto_rd_i64(r, "offset_err_us", &m->offset_err_us) ||
           proto_rd_u32(r, "cmd_done", &m->cmd_done) ||
           proto_rd_str(r, "cmd_error", m->cmd_error, sizeof m->cmd_error) ||
           proto_read_thread_seqs(r, "batch_seq", m->batch_seq, &m->n_threads) ||
           proto_rd_flag(r, "stopped", &m->stopped) ||
           proto_rd_sub(r, "stats", STATS_ARITY, 0, &st) ||
           proto_read_stats(&st, &m->stats) ||
           proto_rd_sub(r, "host", HOSTMON_ARITY, 0, &hm) ||
           proto_read_hostmon(&hm, &m->host) ? -1 : 0;
}

int ps_proto_decode_tick(const void *buf, size_t len, struct ps_tick *m, char *err, size_t errlen)
{
    msgpack_unpacked u;
    struct proto_rd r;
    int rc;

    if (proto_open(buf, len, PS_MSG_TICK, TICK_ARITY, &u, &r, err, errlen)) return -1;
    memset(m, 0, sizeof *m);
    rc = proto_read_tick(&r, m);
    msgpack_unpacked_destroy(&u);
    return rc;
}

static int proto_read_assign(struct proto_rd *r, struct ps_assign *a)
{
    struct proto_rd t, h, kv;
    uint32_t i;

    if (proto_rd_u32(r, "run_id", &a->run_id) ||
        proto_rd_u32(r, "conn_first", &a->conn_first) ||
        proto_rd_u32(r, "conn_count", &a->conn_count) ||
        proto_rd_sub(r, "targets", 0, PS_MAX_TARGETS, &t))
        return -1;
    a->n_targets = t.n;
    for (i = 0; i < t.n; i++)
        if (proto_rd_str(&t, NULL, a->targets[i], sizeof a->targets[i])) return -1;
    if (proto_rd_str(r, "subprotocol", a->subprotocol, sizeof a->subprotocol) ||
        proto_rd_sub(r, "headers", 0, PS_MAX_HEADERS, &h))
        return -1;
    a->n_headers = h.n;
    for (i = 0; i < h.n; i++) {
        if (proto_rd_sub(&h, NULL, 2, 0, &kv) ||
            proto_rd_str(&kv, "name", a->headers[i].name, sizeof a->headers[i].name) ||
            proto_rd_str(&kv, "value", a->headers[i].value, sizeof a->headers[i].value))
            return -1;
    }
    return proto_rd_u32(r, "ws_ping_ms", &a->ws_ping_ms) ||
           proto_rd_u32(r, "pong_timeout_ms", &a->pong_timeout_ms) ||
           proto_rd_str(r, "hb_text", a->hb_text, sizeof a->hb_text) ||
           proto_rd_str(r, "hb_expect", a->hb_expect, sizeof a->hb_expect) ||
           proto_rd_u32(r, "hb_interval_ms", &a->hb_interval_ms) ||
           proto_rd_u32(r, "hb_timeout_ms", &a->hb_timeout_ms) ||
           proto_rd_u32(r, "reconnect_min_ms", &a->reconnect_min_ms) ||
           proto_rd_u32(r, "reconnect_max_ms", &a->reconnect_max_ms) ||
           proto_rd_u32(r, "reconnect_attempts", &a->reconnect_attempts) ||
           proto_rd_u32(r, "max_inflight", &a->max_inflight) ||
           proto_rd_u32(r, "max_message", &a->max_message) ? -1 : 0;
}

static int proto_read_cmd(struct proto_rd *r, struct ps_cmd *c)
{
    struct proto_rd cr;
    uint32_t arity;

    if (proto_rd_sub(r, "cmd", 0, UINT32_MAX, &cr)) return -1;
    if (cr.n < CMD_HEAD_ARITY)
        return proto_rd_err(&cr, NULL, 0, "expected at least %d elements, got %" PRIu32,
                            CMD_HEAD_ARITY, cr.n);
    if (proto_rd_u32(&cr, "id", &c->id) || proto_rd_u32(&cr, "kind", &c->kind)) return -1;
    switch (c->kind) {
    case PS_CMD_NONE:
    case PS_CMD_STOP:       arity = CMD_HEAD_ARITY; break;
    case PS_CMD_ASSIGN:     arity = ASSIGN_ARITY; break;
    case PS_CMD_RAMP:       arity = RAMP_ARITY; break;
    case PS_CMD_DISCONNECT: arity = DISC_ARITY; break;
    default:
        return proto_rd_err(&cr, "kind", 1, "unknown command kind %" PRIu32, c->kind);
    }
    if (cr.n != arity)
        return proto_rd_err(&cr, NULL, 0, "expected %" PRIu32 " elements for this kind, got %" PRIu32,
                            arity, cr.n);
    switch (c->kind) {
    case PS_CMD_ASSIGN:
        return proto_read_assign(&cr, &c->u.assign);
    case PS_CMD_RAMP:
        return proto_rd_u32(&cr, "to", &c->u.ramp.to) ||
               proto_rd_f64(&cr, "rate", 0, INFINITY, &c->u.ramp.rate) ||
               proto_rd_i64(&cr, "start_at", &c->u.ramp.start_at) ? -1 : 0;
    case PS_CMD_DISCONNECT:
        return proto_rd_f64(&cr, "fraction", 0, 1, &c->u.disconnect.fraction) ||
               proto_rd_u32(&cr, "close_code", &c->u.disconnect.close_code) ||
               proto_rd_i64(&cr, "start_at", &c->u.disconnect.start_at) ? -1 : 0;
    default:
        return 0;
    }
}

static int proto_read_reply(struct proto_rd *r, struct ps_reply *m)
{
    return proto_rd_i64(r, "t_recv", &m->t_recv) ||
           proto_rd_i64(r, "t_send", &m->t_send) ||
           proto_read_thread_seqs(r, "acked_seq", m->acked_seq, &m->n_acks) ||
           proto_rd_flag(r, "unknown_agent", &m->unknown_agent) ||
           proto_read_cmd(r, &m->cmd) ? -1 : 0;
}

int ps_proto_decode_reply(const void *buf, size_t len, struct ps_reply *m, char *err, size_t errlen)
{
    msgpack_unpacked u;
    struct proto_rd r;
    int rc;

    if (proto_open(buf, len, PS_MSG_REPLY, REPLY_ARITY, &u, &r, err, errlen)) return -1;
    memset(m, 0, sizeof *m);
    rc = proto_read_reply(&r, m);
    msgpack_unpacked_destroy(&u);
    return rc;
}

static int proto_read_events(struct proto_rd *r, struct ps_events *m)
{
    struct proto_rd evs, e;
    uint64_t thread, seq;
    uint32_t i;

    if (proto_rd_u32(r, "agent_id", &m->agent_id) ||
        proto_rd_uint(r, "thread", PS_MAX_THREADS - 1, &thread) ||
        proto_rd_u64(r, "seq", &seq))
        return -1;
    if (seq == 0)
        return proto_rd_err(r, "seq", 1, "0 out of range (sequences start at 1)");
    if (proto_rd_u32(r, "run_id", &m->run_id) ||
        proto_rd_sub(r, "ev", 0, PS_EVENTS_MAX, &evs))
        return -1;
    m->thread = (uint32_t)thread;
    m->seq = seq;
    m->n = evs.n;
    for (i = 0; i < evs.n; i++) {
        struct ps_event *ev = &m->ev[i];
        if (proto_rd_sub(&evs, NULL, EVENT_ARITY, 0, &e) ||
            proto_rd_u32(&e, "conn", &ev->conn) ||
            proto_rd_u32(&e, "type", &ev->type) ||
            proto_rd_i64(&e, "ts", &ev->ts) ||
            proto_rd_u64(&e, "val", &ev->val) ||
            proto_rd_u32(&e, "aux", &ev->aux))
            return -1;
        if (ev->type < PS_EV_CONNECTED || ev->type > PS_EV_FOREIGN)
            return proto_rd_err(&e, "type", 1, "unknown event type %" PRIu32, ev->type);
    }
    return 0;
}

int ps_proto_decode_events(const void *buf, size_t len, struct ps_events *m, char *err, size_t errlen)
{
    msgpack_unpacked u;
    struct proto_rd r;
    int rc;

    if (proto_open(buf, len, PS_MSG_EVENTS, EVENTS_ARITY, &u, &r, err, errlen)) return -1;
    /* Only the used events are written: zeroing 32 KiB per batch buys nothing. */
    memset(m, 0, offsetof(struct ps_events, ev));
    rc = proto_read_events(&r, m);
    msgpack_unpacked_destroy(&u);
    return rc;
}

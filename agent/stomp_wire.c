/* stomp_wire.c: STOMP 1.2 frames, encoded and read as a stream (no I/O, no lws).
 *
 * Over WebSocket a STOMP frame may span messages and one message may carry
 * several frames, with EOL heart-beats between them (the first EOL after a
 * frame's NUL is its padding, not a beat), so the reader is a state
 * machine fed byte runs of any size. It keeps the state of one line at a time
 * (the command, then each header), never the frame: a known header's value is
 * decoded into a small buffer and handed on at its line's end, and the body
 * goes on in pieces pointing into the caller's bytes, ended by the NUL or by
 * content-length. Every limit (line, header count, body) is checked before
 * the byte that would pass it is kept, and a refusal names its cause; after
 * one the reader stays refused.
 *
 * 1.2 escaping: in every frame but CONNECT and CONNECTED, header bytes \r \n
 * \c \\ stand for CR, LF, ':' and '\'; any other escape is an error. The
 * encoder escapes SUBSCRIBE, ACK and DISCONNECT values the same way; CONNECT
 * has no escaping, so a CR, LF or NUL there is refused instead.
 *
 * The pending-ack store is stomp_acks.c. */
#include "stomp_wire.h"

#include <stdio.h>
#include <string.h>

enum {
    RD_IDLE,        /* between frames: EOLs are heart-beats */
    RD_IDLE_CR,
    RD_CMD,
    RD_CMD_CR,
    RD_NAME,        /* a header name; line == 0 at a line's start */
    RD_NAME_CR,
    RD_VAL,
    RD_VAL_CR,
    RD_BODY,
    RD_BODY_NUL,    /* a content-length body is complete: the NUL must follow */
    RD_FRAME_END,   /* the NUL is read: the FRAME event is next */
};

/* Index = enum stomp_cmd / enum stomp_hdr; each list sorted, so the entries
 * sharing a prefix are contiguous and a name is matched byte by byte. */
static const char *const rd_cmds[] = {"", "CONNECTED", "ERROR", "MESSAGE", "RECEIPT"};
static const char *const rd_hdrs[] = {"", "ack", "content-length", "heart-beat", "message",
                                      "message-id", "receipt-id", "subscription", "version"};
#define RD_N_CMDS (sizeof rd_cmds / sizeof rd_cmds[0])
#define RD_N_HDRS (sizeof rd_hdrs / sizeof rd_hdrs[0])

static const char *const err_names[] = {
    [STOMP_ERR_NONE] = "none",
    [STOMP_ERR_COMMAND] = "unknown server command",
    [STOMP_ERR_LINE] = "line too long",
    [STOMP_ERR_HEADERS] = "too many headers",
    [STOMP_ERR_HEADER] = "header line without ':' or name",
    [STOMP_ERR_ESCAPE] = "undefined escape",
    [STOMP_ERR_CR] = "CR without LF",
    [STOMP_ERR_LENGTH] = "bad content-length",
    [STOMP_ERR_BODY] = "body too long",
    [STOMP_ERR_NUL] = "no NUL after content-length body",
    [STOMP_ERR_HEART_BEAT] = "bad heart-beat header",
    [STOMP_ERR_ACK_ID] = "ack id too long",
    [STOMP_ERR_ACK_FULL] = "pending acks full",
    [STOMP_ERR_ENCODE] = "value not encodable",
    [STOMP_ERR_RECEIPT] = "unexpected RECEIPT",
    [STOMP_ERR_VERSION] = "version not 1.2",
    [STOMP_ERR_SUBSCRIPTION] = "MESSAGE for an unknown subscription",
    [STOMP_ERR_ORDER] = "frame out of order",
};

const char *stomp_err_name(int err)
{
    if (err < 0 || (size_t)err >= sizeof err_names / sizeof err_names[0] || !err_names[err])
        return "unknown";
    return err_names[err];
}

/* Advances candidate *c of list t (n entries) past byte ch at position k;
 * 0 (no entry) when no name in the list goes on that way. */
static uint8_t rd_match(const char *const *t, size_t n, uint8_t c, size_t k, char ch)
{
    if (!c || ch == '\0')
        return 0;
    for (size_t j = c; j < n; j++) {
        if (strncmp(t[j], t[c], k) != 0)
            return 0;
        if (t[j][k] == ch)
            return (uint8_t)j;
    }
    return 0;
}

static void rd_frame_reset(struct stomp_rd *rd)
{
    rd->cmd = STOMP_CMD_NONE;
    rd->hdr = STOMP_HDR_NONE;
    rd->esc = 0;
    rd->n_hdrs = 0;
    rd->vlen = 0;
    rd->trunc = 0;
    rd->line = 0;
    rd->seen = 0;
    rd->body = 0;
    rd->clen = UINT32_MAX;
}

void stomp_rd_init(struct stomp_rd *rd, uint32_t body_max)
{
    memset(rd, 0, sizeof *rd);
    rd->body_max = body_max;
    rd->st = RD_IDLE;
    rd_frame_reset(rd);
}

static size_t rd_fail(struct stomp_rd *rd, struct stomp_ev *ev, int err, size_t used)
{
    rd->err = (uint8_t)err;
    ev->type = STOMP_EV_ERROR;
    ev->err = (uint8_t)err;
    return used;
}

/* One more byte on the current line; 0 past STOMP_LINE_MAX. */
static int rd_line(struct stomp_rd *rd)
{
    return ++rd->line <= STOMP_LINE_MAX;
}

/* A decoded value byte: kept while there is room. */
static void rd_keep(struct stomp_rd *rd, char c)
{
    if (!rd->hdr)
        return;
    if (rd->vlen + 1 < STOMP_VAL_MAX)
        rd->val[rd->vlen++] = c;
    else
        rd->trunc = 1;
}

/* Decodes an escape's second byte; -1 for one 1.2 does not define. */
static int rd_unescape(char c)
{
    switch (c) {
    case 'r': return '\r';
    case 'n': return '\n';
    case 'c': return ':';
    case '\\': return '\\';
    default: return -1;
    }
}

/* content-length: digits only, within the body limit. */
static int rd_content_length(struct stomp_rd *rd)
{
    uint64_t v = 0;
    if (!rd->vlen || rd->trunc)
        return -1;
    for (size_t i = 0; i < rd->vlen; i++) {
        if (rd->val[i] < '0' || rd->val[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(rd->val[i] - '0');
        if (v > rd->body_max)
            return -1;
    }
    rd->clen = (uint32_t)v;
    return 0;
}

/* The header line ended (its LF is used): hands on a known header's first
 * value; 1 when that made an event (or a refusal). */
static int rd_header_end(struct stomp_rd *rd, struct stomp_ev *ev)
{
    uint8_t h = rd->hdr;
    rd->st = RD_NAME;
    rd->line = 0;
    rd->hdr = STOMP_HDR_NONE;
    if (!h)
        return 0;
    rd->val[rd->vlen] = '\0';
    if (h == STOMP_HDR_CONTENT_LENGTH && rd_content_length(rd) < 0) {
        rd_fail(rd, ev, STOMP_ERR_LENGTH, 0);
        return 1;
    }
    ev->type = STOMP_EV_HEADER;
    ev->cmd = rd->cmd;
    ev->hdr = h;
    ev->trunc = rd->trunc;
    ev->data = rd->val;
    ev->len = rd->vlen;
    return 1;
}

/* A byte of a header name or value (not CR/LF). */
static int rd_header_byte(struct stomp_rd *rd, char c)
{
    int escaping = rd->cmd != STOMP_CMD_CONNECTED;
    if (rd->esc) {
        int d = rd_unescape(c);
        rd->esc = 0;
        if (d < 0)
            return STOMP_ERR_ESCAPE;
        if (rd->st == RD_NAME)
            rd->hdr = 0;               /* no known name holds an escaped byte */
        else
            rd_keep(rd, (char)d);
        return 0;
    }
    if (c == '\\' && escaping) {
        rd->esc = 1;
        return 0;
    }
    if (rd->st == RD_NAME) {
        if (c == ':') {
            if (rd->line == 1)
                return STOMP_ERR_HEADER;
            if (rd->hdr && rd_hdrs[rd->hdr][rd->line - 1] != '\0')
                rd->hdr = 0;           /* a longer name's prefix */
            if (rd->hdr && (rd->seen & (1u << rd->hdr)))
                rd->hdr = 0;           /* repeated: the first one counts */
            if (rd->hdr)
                rd->seen |= (uint16_t)(1u << rd->hdr);
            rd->vlen = 0;
            rd->trunc = 0;
            rd->st = RD_VAL;
            return 0;
        }
        rd->hdr = rd_match(rd_hdrs, RD_N_HDRS, rd->hdr, rd->line - 1u, c);
        return 0;
    }
    rd_keep(rd, c);
    return 0;
}

/* The body state: pieces up to the NUL or to content-length. */
static size_t rd_body(struct stomp_rd *rd, const char *p, size_t len, struct stomp_ev *ev)
{
    size_t take;
    int final;
    if (rd->clen != UINT32_MAX) {
        size_t left = rd->clen - rd->body;
        if (left && !len)
            return 0;
        take = len < left ? len : left;
        final = take == left;
        if (final)
            rd->st = RD_BODY_NUL;
    } else {
        const char *nul = memchr(p, '\0', len);
        if (!nul && !len)
            return 0;
        take = nul ? (size_t)(nul - p) : len;
        final = nul != NULL;
        if ((uint64_t)rd->body + take > rd->body_max)
            return rd_fail(rd, ev, STOMP_ERR_BODY, 0);
        if (final)
            rd->st = RD_FRAME_END;
    }
    ev->type = STOMP_EV_BODY;
    ev->cmd = rd->cmd;
    ev->first = !(rd->hdr & 0x80);
    ev->final = (uint8_t)final;
    ev->data = p;
    ev->len = take;
    rd->hdr = 0x80;                    /* the first piece is out (hdr is free in a body) */
    rd->body += (uint32_t)take;
    return take + (rd->clen == UINT32_MAX && final);
}

size_t stomp_rd_feed(struct stomp_rd *rd, const char *p, size_t len, struct stomp_ev *ev)
{
    memset(ev, 0, sizeof *ev);
    if (rd->err)
        return rd_fail(rd, ev, rd->err, 0);
    size_t i = 0;
    while (i < len || rd->st == RD_FRAME_END || rd->st == RD_BODY) {
        if (rd->st == RD_BODY) {
            size_t n = rd_body(rd, p + i, len - i, ev);
            if (ev->type == STOMP_EV_MORE)
                break;                 /* the body wants bytes this run does not have */
            return i + n;
        }
        if (rd->st == RD_FRAME_END) {
            ev->type = STOMP_EV_FRAME;
            ev->cmd = rd->cmd;
            rd_frame_reset(rd);
            rd->st = RD_IDLE;
            rd->pad = 1;
            return i;
        }
        char c = p[i++];
        switch (rd->st) {
        case RD_IDLE:
            if (c == '\n') {
                if (rd->pad) {         /* brokers end frames with NUL EOL (RabbitMQ does) */
                    rd->pad = 0;
                    break;
                }
                ev->type = STOMP_EV_HEARTBEAT;
                return i;
            }
            if (c == '\r') {
                rd->st = RD_IDLE_CR;
                break;
            }
            rd->pad = 0;
            rd->st = RD_CMD;
            rd->cmd = rd_match(rd_cmds, RD_N_CMDS, 1, 0, c);
            rd->line = 1;
            if (!rd->cmd)
                return rd_fail(rd, ev, STOMP_ERR_COMMAND, i);
            break;
        case RD_IDLE_CR:
            if (c != '\n')
                return rd_fail(rd, ev, STOMP_ERR_CR, i);
            rd->st = RD_IDLE;
            if (rd->pad) {
                rd->pad = 0;
                break;
            }
            ev->type = STOMP_EV_HEARTBEAT;
            return i;
        case RD_CMD:
        case RD_CMD_CR:
            if (rd->st == RD_CMD_CR && c != '\n')
                return rd_fail(rd, ev, STOMP_ERR_CR, i);
            if (c == '\r') {
                rd->st = RD_CMD_CR;
                break;
            }
            if (c == '\n') {
                if (rd_cmds[rd->cmd][rd->line] != '\0')
                    return rd_fail(rd, ev, STOMP_ERR_COMMAND, i);
                rd->st = RD_NAME;
                rd->line = 0;
                rd->hdr = 0;
                break;
            }
            if (!rd_line(rd))
                return rd_fail(rd, ev, STOMP_ERR_LINE, i);
            rd->cmd = rd_match(rd_cmds, RD_N_CMDS, rd->cmd, rd->line - 1u, c);
            if (!rd->cmd)
                return rd_fail(rd, ev, STOMP_ERR_COMMAND, i);
            break;
        case RD_NAME_CR:
        case RD_VAL_CR:
            if (c != '\n')
                return rd_fail(rd, ev, STOMP_ERR_CR, i);
            if (rd->st == RD_VAL_CR) {
                if (rd_header_end(rd, ev))
                    return i;
                break;
            }
            if (rd->line)
                return rd_fail(rd, ev, STOMP_ERR_HEADER, i);
            rd->st = RD_BODY;
            rd->hdr = 0;
            break;
        case RD_NAME:
        case RD_VAL:
            if (c == '\0')
                return rd_fail(rd, ev, STOMP_ERR_HEADER, i);
            if (c == '\r' || c == '\n') {
                if (rd->esc)
                    return rd_fail(rd, ev, STOMP_ERR_ESCAPE, i);
                if (rd->st == RD_NAME && rd->line)
                    return rd_fail(rd, ev, STOMP_ERR_HEADER, i);
                if (c == '\r') {
                    rd->st = rd->st == RD_NAME ? RD_NAME_CR : RD_VAL_CR;
                    break;
                }
                if (rd->st == RD_VAL) {
                    if (rd_header_end(rd, ev))
                        return i;
                    break;
                }
                rd->st = RD_BODY;      /* the blank line: headers are over */
                rd->hdr = 0;
                break;
            }
            if (rd->st == RD_NAME && rd->line == 0) {
                if (++rd->n_hdrs > STOMP_HDRS_MAX)
                    return rd_fail(rd, ev, STOMP_ERR_HEADERS, i);
                rd->hdr = rd_match(rd_hdrs, RD_N_HDRS, 1, 0, c);
                rd->line = 1;
                if (c == ':')
                    return rd_fail(rd, ev, STOMP_ERR_HEADER, i);
                if (c == '\\' && rd->cmd != STOMP_CMD_CONNECTED) {
                    rd->esc = 1;
                    rd->hdr = 0;
                }
                break;
            }
            if (!rd_line(rd))
                return rd_fail(rd, ev, STOMP_ERR_LINE, i);
            int e = rd_header_byte(rd, c);
            if (e)
                return rd_fail(rd, ev, e, i);
            break;
        case RD_BODY_NUL:
            if (c != '\0')
                return rd_fail(rd, ev, STOMP_ERR_NUL, i);
            rd->st = RD_FRAME_END;
            break;
        }
    }
    ev->type = STOMP_EV_MORE;
    return i;
}

int stomp_parse_heart_beat(const char *v, uint32_t *sx, uint32_t *sy)
{
    uint64_t n[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        const char *start = v;
        while (*v >= '0' && *v <= '9') {
            n[k] = n[k] * 10 + (uint64_t)(*v++ - '0');
            if (n[k] > UINT32_MAX)
                return -1;
        }
        if (v == start || *v != (k ? '\0' : ','))
            return -1;
        v++;
    }
    *sx = (uint32_t)n[0];
    *sy = (uint32_t)n[1];
    return 0;
}

/* 1.2: each direction beats at the larger of the two wishes, or not at all
 * when either side says 0. */
void stomp_hb_negotiate(uint32_t cx, uint32_t cy, uint32_t sx, uint32_t sy,
                        uint32_t *send_ms, uint32_t *expect_ms)
{
    *send_ms = cx && sy ? (cx > sy ? cx : sy) : 0;
    *expect_ms = cy && sx ? (cy > sx ? cy : sx) : 0;
}

/* Output cursor: appends, and remembers when something did not fit. */
struct enc {
    char *out;
    size_t cap, n;
    int bad;
};

static void enc_raw(struct enc *e, const char *s, size_t len)
{
    if (e->bad || len > e->cap - e->n) {
        e->bad = 1;
        return;
    }
    memcpy(e->out + e->n, s, len);
    e->n += len;
}

/* A header value: escaped (1.2) unless raw, where CR, LF and NUL cannot be said. */
static void enc_val(struct enc *e, const char *s, size_t len, int raw)
{
    for (size_t i = 0; i < len; i++) {
        const char *esc = NULL;
        switch (s[i]) {
        case '\0': e->bad = 1; return;
        case '\r': esc = "\\r"; break;
        case '\n': esc = "\\n"; break;
        case ':': esc = raw ? NULL : "\\c"; break;
        case '\\': esc = raw ? NULL : "\\\\"; break;
        }
        if (esc && raw) {
            e->bad = 1;
            return;
        }
        if (esc)
            enc_raw(e, esc, 2);
        else
            enc_raw(e, s + i, 1);
    }
}

static void enc_hdr(struct enc *e, const char *name, const char *v, size_t len, int raw)
{
    enc_raw(e, name, strlen(name));
    enc_raw(e, ":", 1);
    enc_val(e, v, len, raw);
    enc_raw(e, "\n", 1);
}

static void enc_opt(struct enc *e, const char *name, const char *v, int raw)
{
    if (v && *v)
        enc_hdr(e, name, v, strlen(v), raw);
}

static int enc_end(struct enc *e)
{
    enc_raw(e, "\n", 2);               /* the blank line and the NUL */
    return e->bad || e->n > INT32_MAX ? -1 : (int)e->n;
}

int stomp_enc_connect(char *out, size_t cap, const char *host, const char *login,
                      const char *passcode, uint32_t cx, uint32_t cy)
{
    struct enc e = {out, cap, 0, 0};
    char hb[32];
    int n = snprintf(hb, sizeof hb, "%u,%u", (unsigned)cx, (unsigned)cy);
    enc_raw(&e, "CONNECT\naccept-version:1.2\n", 27);
    enc_opt(&e, "host", host, 1);
    enc_opt(&e, "login", login, 1);
    enc_opt(&e, "passcode", passcode, 1);
    enc_hdr(&e, "heart-beat", hb, (size_t)n, 1);
    return enc_end(&e);
}

int stomp_enc_subscribe(char *out, size_t cap, unsigned id, const char *destination,
                        const char *ack, const char *receipt)
{
    struct enc e = {out, cap, 0, 0};
    char sid[16];
    int n = snprintf(sid, sizeof sid, "%u", id);
    enc_raw(&e, "SUBSCRIBE\n", 10);
    enc_hdr(&e, "id", sid, (size_t)n, 0);
    enc_hdr(&e, "destination", destination, strlen(destination), 0);
    enc_opt(&e, "ack", ack, 0);
    enc_opt(&e, "receipt", receipt, 0);
    return enc_end(&e);
}

int stomp_enc_ack(char *out, size_t cap, const char *id, size_t id_len)
{
    struct enc e = {out, cap, 0, 0};
    enc_raw(&e, "ACK\n", 4);
    enc_hdr(&e, "id", id, id_len, 0);
    return enc_end(&e);
}

int stomp_enc_disconnect(char *out, size_t cap, const char *receipt)
{
    struct enc e = {out, cap, 0, 0};
    enc_raw(&e, "DISCONNECT\n", 11);
    enc_opt(&e, "receipt", receipt, 0);
    return enc_end(&e);
}

/* eio_wire.c: Engine.IO v4 and Socket.IO v4 packets, read in pieces.
 *
 * On the WebSocket transport every Engine.IO packet is one WebSocket message:
 * a type digit ('0' open, '1' close, '2' ping, '3' pong, '4' message, '6'
 * noop), then its data; a message packet carries one Socket.IO packet, a type
 * digit again, an optional "/namespace," and, for events and acks, the ack id
 * in decimal, then JSON. lws hands a message over in 128-byte pieces and a
 * worker interleaves thousands of connections, so nothing is gathered: the
 * header is read byte by byte into struct eio_rx (a few dozen bytes per
 * connection), the namespace is compared with the one connected as it goes
 * by, and an event's data (its JSON array, event name included) is handed
 * back as one span per piece, untouched, for the push-token scan.
 *
 * The open packet is the only JSON read here, and only four of its keys
 * (sid, pingInterval, pingTimeout, maxPayload): a small scanner walks the
 * flat object, skips every other value (nested ones by depth) and keeps the
 * numbers, so an open packet split anywhere reads the same. Whatever a server
 * may not send is refused with a reason (enum eio_err), never skipped:
 * binary events and acks (45, 46) included, because the pushes measured are
 * text and their attachments would arrive as further messages that this
 * reader would have to pair with their placeholders (docs/protocols.md). */
#include "eio_wire.h"

#include <stdio.h>
#include <string.h>

enum {                       /* eio_rx.st */
    EIO_S_TYPE = 0,          /* the Engine.IO type digit */
    EIO_S_SIO_TYPE,          /* the Socket.IO type digit */
    EIO_S_AFTER_TYPE,        /* a namespace, an ack id, or data */
    EIO_S_NSP,               /* inside "/namespace" up to its ',' */
    EIO_S_ACK,               /* ack id digits */
    EIO_S_DATA,              /* an event's data */
    EIO_S_OPEN,              /* the open packet's JSON */
    EIO_S_SKIP,              /* the rest of the message does not matter */
    EIO_S_DEAD,              /* refused: nothing until the next message */
};

#define EIO_F_ACK    1       /* flags: an ack id was read */
#define EIO_F_DATA   2       /* an event's data began */
#define EIO_F_NSPBAD 4       /* the namespace differs from the one connected */

#define EIO_H_SID      1     /* open_have */
#define EIO_H_INTERVAL 2
#define EIO_H_TIMEOUT  4
#define EIO_H_MAXLOAD  8

enum {                       /* eio_rx.js: the open packet scanner */
    EIO_J_BEGIN = 0, EIO_J_KEY_FIRST, EIO_J_KEY_NEXT, EIO_J_KEY, EIO_J_COLON, EIO_J_VALUE,
    EIO_J_STR, EIO_J_NUM, EIO_J_LIT, EIO_J_NEST, EIO_J_AFTER, EIO_J_END,
};
#define EIO_JF_STR 1         /* jflags: inside a string of a nested value */
#define EIO_JF_ESC 2         /* after a backslash */

/* The open packet keys read, by index + 1 in eio_rx.jkey once a key is closed. */
static const char *const eio_open_keys[] = { "sid", "pingInterval", "pingTimeout", "maxPayload" };
#define EIO_N_KEYS 4
#define EIO_KEY_SID 1

static const char *const eio_err_names[EIO_ERR_N_] = {
    [EIO_OK] = "ok",
    [EIO_ERR_EMPTY] = "empty message",
    [EIO_ERR_TYPE] = "bad Engine.IO packet type",
    [EIO_ERR_SIO_TYPE] = "bad Socket.IO packet type",
    [EIO_ERR_BINARY] = "binary packet (not supported)",
    [EIO_ERR_NSP] = "packet for another namespace",
    [EIO_ERR_NSP_COMMA] = "namespace without ','",
    [EIO_ERR_ACK_ID] = "ack id missing or over 4294967295",
    [EIO_ERR_EVENT] = "event data is not a JSON array",
    [EIO_ERR_OPEN_JSON] = "open packet is not a complete JSON object",
    [EIO_ERR_OPEN_FIELD] = "open packet lacks sid, pingInterval or pingTimeout",
    [EIO_ERR_OPEN_RANGE] = "open packet pingInterval/pingTimeout outside 1..3600000 ms or maxPayload 0",
    [EIO_ERR_SIO_EMPTY] = "message packet without a Socket.IO packet",
};

const char *eio_err_name(int err)
{
    return err >= 0 && err < EIO_ERR_N_ ? eio_err_names[err] : "unknown";
}

static int eio_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int eio_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Appends one decimal digit to *v; -1 past 2^32-1. */
static int eio_num_add(uint32_t *v, unsigned char c)
{
    uint32_t d = (uint32_t)(c - '0');
    if (*v > (UINT32_MAX - d) / 10)
        return -1;
    *v = *v * 10 + d;
    return 0;
}

/* A number of the open packet is complete: keep it where its key says. */
static void eio_open_number(struct eio_rx *r)
{
    switch (r->jkey) {
    case 2: r->ping_interval_ms = r->num; r->open_have |= EIO_H_INTERVAL; break;
    case 3: r->ping_timeout_ms = r->num; r->open_have |= EIO_H_TIMEOUT; break;
    case 4: r->max_payload = r->num; r->open_have |= EIO_H_MAXLOAD; break;
    default: break;
    }
}

/* One byte of the open packet's JSON. */
static int eio_open_byte(struct eio_rx *r, unsigned char c)
{
    switch (r->js) {
    case EIO_J_BEGIN:
        if (eio_ws(c)) return EIO_OK;
        if (c != '{') return EIO_ERR_OPEN_JSON;
        r->js = EIO_J_KEY_FIRST;
        return EIO_OK;
    case EIO_J_KEY_FIRST:
    case EIO_J_KEY_NEXT:
        if (eio_ws(c)) return EIO_OK;
        if (c == '}' && r->js == EIO_J_KEY_FIRST) { r->js = EIO_J_END; return EIO_OK; }
        if (c != '"') return EIO_ERR_OPEN_JSON;
        r->js = EIO_J_KEY;
        r->jkey = (1u << EIO_N_KEYS) - 1;
        r->jpos = 0;
        r->jflags = 0;
        return EIO_OK;
    case EIO_J_KEY:
        if (r->jflags & EIO_JF_ESC) { r->jflags = 0; return EIO_OK; }
        if (c == '\\') { r->jflags = EIO_JF_ESC; r->jkey = 0; return EIO_OK; }   /* no key of ours */
        if (c == '"') {
            uint8_t id = 0;
            for (unsigned k = 0; k < EIO_N_KEYS; k++)
                if ((r->jkey & (1u << k)) && strlen(eio_open_keys[k]) == r->jpos)
                    id = (uint8_t)(k + 1);
            r->jkey = id;
            r->js = EIO_J_COLON;
            return EIO_OK;
        }
        for (unsigned k = 0; k < EIO_N_KEYS; k++)
            if ((r->jkey & (1u << k)) &&
                (r->jpos >= strlen(eio_open_keys[k]) || eio_open_keys[k][r->jpos] != c))
                r->jkey &= (uint8_t)~(1u << k);
        if (r->jpos < UINT8_MAX)
            r->jpos++;
        return EIO_OK;
    case EIO_J_COLON:
        if (eio_ws(c)) return EIO_OK;
        if (c != ':') return EIO_ERR_OPEN_JSON;
        r->js = EIO_J_VALUE;
        return EIO_OK;
    case EIO_J_VALUE:
        if (eio_ws(c)) return EIO_OK;
        if (r->jkey == EIO_KEY_SID) {
            if (c != '"') return EIO_ERR_OPEN_FIELD;
            r->open_have |= EIO_H_SID;
        } else if (r->jkey) {
            if (!eio_digit(c)) return EIO_ERR_OPEN_FIELD;
            r->num = (uint32_t)(c - '0');
            r->js = EIO_J_NUM;
            return EIO_OK;
        }
        r->jflags = 0;
        if (c == '"') r->js = EIO_J_STR;
        else if (c == '{' || c == '[') { r->js = EIO_J_NEST; r->jdepth = 1; }
        else if (eio_digit(c) || c == '-' || c == 't' || c == 'f' || c == 'n') r->js = EIO_J_LIT;
        else return EIO_ERR_OPEN_JSON;
        return EIO_OK;
    case EIO_J_STR:
        if (r->jflags & EIO_JF_ESC) r->jflags = 0;
        else if (c == '\\') r->jflags = EIO_JF_ESC;
        else if (c == '"') r->js = EIO_J_AFTER;
        return EIO_OK;
    case EIO_J_NUM:
        if (eio_digit(c)) {
            if (eio_num_add(&r->num, c) < 0)
                r->num = UINT32_MAX;          /* absurd: refused by the range check */
            return EIO_OK;
        }
        eio_open_number(r);
        r->js = EIO_J_AFTER;
        return eio_open_byte(r, c);
    case EIO_J_LIT:
        if (eio_digit(c) || (c >= 'a' && c <= 'z') || c == '.' || c == '+' || c == '-' ||
            c == 'E')
            return EIO_OK;
        r->js = EIO_J_AFTER;
        return eio_open_byte(r, c);
    case EIO_J_NEST:
        if (r->jflags & EIO_JF_ESC) { r->jflags &= (uint8_t)~EIO_JF_ESC; return EIO_OK; }
        if (r->jflags & EIO_JF_STR) {
            if (c == '\\') r->jflags |= EIO_JF_ESC;
            else if (c == '"') r->jflags = 0;
            return EIO_OK;
        }
        if (c == '"') r->jflags = EIO_JF_STR;
        else if (c == '{' || c == '[') {
            if (r->jdepth == UINT8_MAX) return EIO_ERR_OPEN_JSON;
            r->jdepth++;
        } else if ((c == '}' || c == ']') && --r->jdepth == 0)
            r->js = EIO_J_AFTER;
        return EIO_OK;
    case EIO_J_AFTER:
        if (eio_ws(c)) return EIO_OK;
        if (c == ',') r->js = EIO_J_KEY_NEXT;
        else if (c == '}') r->js = EIO_J_END;
        else return EIO_ERR_OPEN_JSON;
        return EIO_OK;
    default:                                   /* EIO_J_END: only whitespace may follow */
        return eio_ws(c) ? EIO_OK : EIO_ERR_OPEN_JSON;
    }
}

/* The open packet ended: is it one a server may send? */
static int eio_open_end(struct eio_rx *r)
{
    if (r->js != EIO_J_END)
        return EIO_ERR_OPEN_JSON;
    const uint8_t need = EIO_H_SID | EIO_H_INTERVAL | EIO_H_TIMEOUT;
    if ((r->open_have & need) != need)
        return EIO_ERR_OPEN_FIELD;
    if (r->ping_interval_ms < 1 || r->ping_interval_ms > EIO_PING_MAX_MS ||
        r->ping_timeout_ms < 1 || r->ping_timeout_ms > EIO_PING_MAX_MS)
        return EIO_ERR_OPEN_RANGE;
    if (!(r->open_have & EIO_H_MAXLOAD))
        r->max_payload = 0;                    /* not said: no limit known */
    else if (r->max_payload == 0)
        return EIO_ERR_OPEN_RANGE;
    return EIO_OK;
}

/* The Engine.IO type digit. */
static int eio_type(struct eio_rx *r, unsigned char c)
{
    static const uint8_t kinds[7] = {
        EIO_K_OPEN, EIO_K_CLOSE, EIO_K_PING, EIO_K_PONG, EIO_K_NONE, EIO_K_NONE, EIO_K_NOOP,
    };
    if (c < '0' || c > '6' || c == '5')
        return EIO_ERR_TYPE;
    if (c == '4') {
        r->st = EIO_S_SIO_TYPE;
        return EIO_OK;
    }
    r->kind = kinds[c - '0'];
    if (r->kind == EIO_K_OPEN) {
        r->st = EIO_S_OPEN;
        r->js = EIO_J_BEGIN;
        r->open_have = 0;
    } else
        r->st = EIO_S_SKIP;                    /* "2probe" and the like: the type is what counts */
    return EIO_OK;
}

static int eio_sio_type(struct eio_rx *r, unsigned char c)
{
    static const uint8_t kinds[5] = {
        EIO_K_CONNECT, EIO_K_DISCONNECT, EIO_K_EVENT, EIO_K_ACK, EIO_K_CONNECT_ERROR,
    };
    if (c == '5' || c == '6')
        return EIO_ERR_BINARY;
    if (c < '0' || c > '4')
        return EIO_ERR_SIO_TYPE;
    r->kind = kinds[c - '0'];
    r->st = EIO_S_AFTER_TYPE;
    return EIO_OK;
}

/* Past the namespace: events and acks read an ack id next, the rest is skipped. */
static void eio_after_nsp(struct eio_rx *r)
{
    r->st = (r->kind == EIO_K_EVENT || r->kind == EIO_K_ACK) ? EIO_S_ACK : EIO_S_SKIP;
}

/* The message ended: complete its checks. */
static int eio_end(struct eio_rx *r, const char *nsp)
{
    switch (r->st) {
    case EIO_S_TYPE: return EIO_ERR_EMPTY;
    case EIO_S_SIO_TYPE: return EIO_ERR_SIO_EMPTY;
    case EIO_S_NSP: return EIO_ERR_NSP_COMMA;
    case EIO_S_OPEN: return eio_open_end(r);
    case EIO_S_AFTER_TYPE:
        if (strcmp(nsp, "/") != 0)
            return EIO_ERR_NSP;
        /* no ack id, no data: */
        __attribute__((fallthrough));
    case EIO_S_ACK:
        if (r->kind == EIO_K_EVENT)
            return EIO_ERR_EVENT;
        if (r->kind == EIO_K_ACK && !(r->flags & EIO_F_ACK))
            return EIO_ERR_ACK_ID;
        return EIO_OK;
    case EIO_S_DATA:
        return r->kind != EIO_K_EVENT || r->last == ']' ? EIO_OK : EIO_ERR_EVENT;
    default:
        return EIO_OK;
    }
}

/* The header bytes of in[*i..len); stops at the first data byte of an event. */
static int eio_header(struct eio_rx *r, const char *nsp, const unsigned char *in, size_t len,
                      size_t *i)
{
    while (*i < len) {
        unsigned char c = in[*i];
        int err = EIO_OK, again = 0;
        switch (r->st) {
        case EIO_S_TYPE: err = eio_type(r, c); break;
        case EIO_S_SIO_TYPE: err = eio_sio_type(r, c); break;
        case EIO_S_AFTER_TYPE:
            if (c == '/') {
                r->st = EIO_S_NSP;
                r->nsp_at = 1;
                break;
            }
            if (strcmp(nsp, "/") != 0)
                return EIO_ERR_NSP;
            eio_after_nsp(r);
            again = 1;                         /* this byte again, in its state */
            break;
        case EIO_S_NSP:
            if (c == ',') {
                if ((r->flags & EIO_F_NSPBAD) || nsp[r->nsp_at] != '\0')
                    return EIO_ERR_NSP;
                eio_after_nsp(r);
            } else if (!(r->flags & EIO_F_NSPBAD)) {
                if (nsp[r->nsp_at] != '\0' && nsp[r->nsp_at] == c)
                    r->nsp_at++;
                else
                    r->flags |= EIO_F_NSPBAD;  /* read on to the ',' to say which it is */
            }
            break;
        case EIO_S_ACK:
            if (eio_digit(c)) {
                if (eio_num_add(&r->num, c) < 0)
                    return EIO_ERR_ACK_ID;
                r->flags |= EIO_F_ACK;
                break;
            }
            if (r->kind == EIO_K_ACK) {
                if (!(r->flags & EIO_F_ACK))
                    return EIO_ERR_ACK_ID;
                r->st = EIO_S_SKIP;            /* an ack's data is not a push */
                return EIO_OK;
            }
            if (c != '[')
                return EIO_ERR_EVENT;
            r->st = EIO_S_DATA;
            return EIO_OK;
        case EIO_S_OPEN:
            err = eio_open_byte(r, c);
            break;
        default:
            return EIO_OK;                     /* DATA or SKIP: the rest of the piece */
        }
        if (err != EIO_OK)
            return err;
        if (!again)
            (*i)++;
    }
    return EIO_OK;
}

int eio_rx_piece(struct eio_rx *r, const char *nsp, const unsigned char *in, size_t len,
                 int first, int final, int binary, struct eio_rx_out *out)
{
    memset(out, 0, sizeof *out);
    if (first) {
        r->st = EIO_S_TYPE;
        r->kind = EIO_K_NONE;
        r->flags = 0;
        r->nsp_at = 0;
        r->num = 0;
        r->last = 0;
    }
    if (r->st == EIO_S_DEAD)
        return EIO_ERR_EMPTY;                  /* a caller that went on after a refusal */
    int err = EIO_OK;
    if (binary)
        err = EIO_ERR_BINARY;
    size_t i = 0;
    if (err == EIO_OK)
        err = eio_header(r, nsp, in, len, &i);
    if (err == EIO_OK && r->st == EIO_S_DATA && i < len) {
        out->data = in + i;
        out->len = len - i;
        out->data_first = !(r->flags & EIO_F_DATA);
        r->flags |= EIO_F_DATA;
        for (size_t j = len; j > i; j--)
            if (!eio_ws(in[j - 1])) {
                r->last = in[j - 1];
                break;
            }
    } else if (err == EIO_OK && r->st == EIO_S_SKIP)
        i = len;
    if (err == EIO_OK && final)
        err = eio_end(r, nsp);
    out->kind = r->kind;
    out->has_ack = (r->flags & EIO_F_ACK) != 0;
    out->ack_id = r->num;
    if (err != EIO_OK) {
        r->st = EIO_S_DEAD;
        out->data = NULL;
        out->len = 0;
        return err;
    }
    out->done = final ? 1 : 0;
    return EIO_OK;
}

/* "/" is the default namespace, written as nothing. */
static int eio_put(char *out, size_t cap, const char *type, const char *nsp, const char *rest)
{
    int dflt = nsp == NULL || nsp[0] == '\0' || strcmp(nsp, "/") == 0;
    int n = snprintf(out, cap, "%s%s%s%s", type, dflt ? "" : nsp, dflt ? "" : ",", rest);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int eio_put_connect(char *out, size_t cap, const char *nsp, const char *auth)
{
    return eio_put(out, cap, "40", nsp, auth ? auth : "");
}

int eio_put_ack(char *out, size_t cap, const char *nsp, uint32_t id)
{
    char rest[16];
    snprintf(rest, sizeof rest, "%u[]", (unsigned)id);
    return eio_put(out, cap, "43", nsp, rest);
}

int eio_put_disconnect(char *out, size_t cap, const char *nsp)
{
    return eio_put(out, cap, "41", nsp, "");
}

int eio_put_pong(char *out, size_t cap)
{
    return eio_put(out, cap, "3", "/", "");
}

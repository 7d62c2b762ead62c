/* wsc_frame.c: RFC 6455 frames for the native WebSocket client engine.
 *
 * A worker reads thousands of sockets and each read ends wherever the kernel
 * cut the stream, so the decoder never gathers a message: a data frame's
 * payload is handed on in place, one piece per read, and only the header
 * (at most 10 bytes from a server, which never masks) is kept between reads,
 * in struct agent_wsc_rx (32 bytes). Control frames are the exception: the
 * engine answers a Ping with its whole payload, so a Ping, Pong or Close is
 * handed on whole, straight from the read when it fits there; only a control
 * frame cut by a read is copied into a 125-byte buffer, allocated then and
 * freed when that frame is done, so an idle connection holds no buffer.
 *
 * Each header byte is checked as it arrives (reserved bits, opcode, the
 * fragment sequence, FIN on control frames, the mask bit, the control
 * length), the length once the header is complete, so the first violation
 * and every callback before it are the same however the stream is cut. What
 * is not checked here: text payloads' UTF-8 and Close codes (the engine sees
 * the whole Close) and non-minimal length encodings (RFC 6455 5.2 asks for
 * the minimal one but names no failure for it; the length still reads).
 *
 * The encoder writes a client frame's header into the headroom in front of
 * the payload and masks in place, eight bytes at a time; its masking keys
 * come from a per-worker pool filled by getrandom(2), 1,024 keys a call. */
#include "wsc_frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

_Static_assert(sizeof(struct agent_wsc_rx) <= 32, "agent_wsc_rx is counted per connection");

#define WSC_FIN      0x80
#define WSC_RSV      0x70
#define WSC_MASK_BIT 0x80
#define WSC_LEN7     0x7f

enum { WSC_DONE = 0, WSC_STOP = 1, WSC_MORE = 2 };   /* what a frame's body step did */

static const char *const wsc_err_names[] = {
    [-AGENT_WSC_E_RSV] = "reserved bit set (no extension negotiated)",
    [-AGENT_WSC_E_OPCODE] = "reserved opcode",
    [-AGENT_WSC_E_MASKED] = "masked frame from the server",
    [-AGENT_WSC_E_CONTROL] = "control frame fragmented or over 125 bytes",
    [-AGENT_WSC_E_SEQUENCE] = "continuation without a message, or a new message inside one",
    [-AGENT_WSC_E_LENGTH] = "64-bit length with its most significant bit set",
    [-AGENT_WSC_E_CLOSE] = "Close with a 1-byte payload",
    [-AGENT_WSC_E_NOMEM] = "no memory for a cut control frame",
};

const char *agent_wsc_err_name(int err)
{
    if (err < 0 && -err < (int)(sizeof wsc_err_names / sizeof wsc_err_names[0]))
        return wsc_err_names[-err];
    return "unknown";
}

void agent_wsc_rx_init(struct agent_wsc_rx *rx)
{
    memset(rx, 0, sizeof *rx);
}

void agent_wsc_rx_free(struct agent_wsc_rx *rx)
{
    free(rx->ctl);
    rx->ctl = NULL;
    rx->ctl_len = 0;
}

int agent_wsc_rx_mid_frame(const struct agent_wsc_rx *rx)
{
    return rx->head_len != 0;
}

/* The header's length, as far as the bytes in tell (2 until the second is). */
static unsigned wsc_head_need(const struct agent_wsc_rx *rx)
{
    if (rx->head_len < 2)
        return 2;
    unsigned l = rx->head[1] & WSC_LEN7;
    return l == 126 ? 4 : l == 127 ? 10 : 2;
}

static int wsc_byte0(struct agent_wsc_rx *rx, uint8_t b)
{
    if (b & WSC_RSV)
        return AGENT_WSC_E_RSV;
    unsigned op = b & 0x0f;
    switch (op) {
    case AGENT_WSC_CONT:
        if (!rx->msg)
            return AGENT_WSC_E_SEQUENCE;
        break;
    case AGENT_WSC_TEXT:
    case AGENT_WSC_BINARY:
        if (rx->msg)
            return AGENT_WSC_E_SEQUENCE;
        break;
    case AGENT_WSC_CLOSE:
    case AGENT_WSC_PING:
    case AGENT_WSC_PONG:
        if (!(b & WSC_FIN))
            return AGENT_WSC_E_CONTROL;
        break;
    default:
        return AGENT_WSC_E_OPCODE;
    }
    rx->op = (uint8_t)op;
    rx->fin = (b & WSC_FIN) != 0;
    return 0;
}

static int wsc_byte1(const struct agent_wsc_rx *rx, uint8_t b)
{
    if (b & WSC_MASK_BIT)
        return AGENT_WSC_E_MASKED;
    if (rx->op >= AGENT_WSC_CLOSE && (b & WSC_LEN7) > AGENT_WSC_CTL_MAX)
        return AGENT_WSC_E_CONTROL;
    return 0;
}

/* The header is complete: the payload's length, and a data message begins. */
static int wsc_head_done(struct agent_wsc_rx *rx)
{
    unsigned l = rx->head[1] & WSC_LEN7;
    uint64_t len = l;
    if (l == 126) {
        len = (uint64_t)rx->head[2] << 8 | rx->head[3];
    } else if (l == 127) {
        if (rx->head[2] & 0x80)
            return AGENT_WSC_E_LENGTH;
        len = 0;
        for (int i = 2; i < 10; i++)
            len = len << 8 | rx->head[i];
    }
    if (rx->op == AGENT_WSC_CLOSE && len == 1)
        return AGENT_WSC_E_CLOSE;
    rx->remaining = len;
    if (rx->op == AGENT_WSC_TEXT || rx->op == AGENT_WSC_BINARY) {
        rx->msg = rx->op;
        rx->first = 1;
    }
    return 0;
}

/* Gathers header bytes from *p: 0 with the header complete (now or before),
 * WSC_MORE when the read ended first, or a violation. */
static int wsc_head(struct agent_wsc_rx *rx, const unsigned char **p, const unsigned char *end)
{
    unsigned need = wsc_head_need(rx);
    if (rx->head_len == need)
        return 0;                                 /* read before: the payload is under way */
    while (rx->head_len < need) {
        if (*p == end)
            return WSC_MORE;
        uint8_t b = *(*p)++;
        int r = rx->head_len == 0 ? wsc_byte0(rx, b) : rx->head_len == 1 ? wsc_byte1(rx, b) : 0;
        if (r)
            return r;
        rx->head[rx->head_len++] = b;
        need = wsc_head_need(rx);
    }
    return wsc_head_done(rx);
}

static int wsc_data(struct agent_wsc_rx *rx, const unsigned char **p, const unsigned char *end,
                    const struct agent_wsc_rx_cb *cb, void *ctx)
{
    size_t avail = (size_t)(end - *p);
    if (rx->remaining && !avail)
        return WSC_MORE;
    size_t k = rx->remaining < avail ? (size_t)rx->remaining : avail;
    rx->remaining -= k;
    struct agent_wsc_piece piece = {
        .in = *p, .len = k, .remaining = rx->remaining, .first = rx->first,
        .final = rx->fin && !rx->remaining, .binary = rx->msg == AGENT_WSC_BINARY,
    };
    *p += k;
    rx->first = 0;
    if (!rx->remaining) {
        rx->head_len = 0;
        if (rx->fin)
            rx->msg = 0;
    }
    return cb->data(ctx, &piece) ? WSC_STOP : rx->remaining ? WSC_MORE : WSC_DONE;
}

static int wsc_control(struct agent_wsc_rx *rx, const unsigned char **p, const unsigned char *end,
                       const struct agent_wsc_rx_cb *cb, void *ctx)
{
    size_t avail = (size_t)(end - *p), len = (size_t)rx->remaining;
    const unsigned char *payload = *p;
    if (!rx->ctl && avail >= len) {
        *p += len;                                /* whole in this read: no copy */
    } else {
        if (!avail)
            return WSC_MORE;
        if (!rx->ctl && !(rx->ctl = malloc(AGENT_WSC_CTL_MAX)))
            return AGENT_WSC_E_NOMEM;
        size_t k = len < avail ? len : avail;
        memcpy(rx->ctl + rx->ctl_len, *p, k);
        rx->ctl_len = (uint8_t)(rx->ctl_len + k);
        rx->remaining -= k;
        *p += k;
        if (rx->remaining)
            return WSC_MORE;
        payload = rx->ctl;
        len = rx->ctl_len;
    }
    rx->remaining = 0;
    rx->head_len = 0;
    int stop = cb->control(ctx, (enum agent_wsc_op)rx->op, payload, len);
    if (rx->ctl)
        agent_wsc_rx_free(rx);
    return stop ? WSC_STOP : WSC_DONE;
}

int agent_wsc_rx_feed(struct agent_wsc_rx *rx, const unsigned char *in, size_t n,
                      const struct agent_wsc_rx_cb *cb, void *ctx)
{
    const unsigned char *p = in, *end = in + n;
    for (;;) {
        int r = wsc_head(rx, &p, end);
        if (r == 0)
            r = rx->op >= AGENT_WSC_CLOSE ? wsc_control(rx, &p, end, cb, ctx)
                                          : wsc_data(rx, &p, end, cb, ctx);
        if (r == WSC_MORE)
            return 0;
        if (r)
            return r;
    }
}

size_t agent_wsc_frame(unsigned char *payload, size_t len, enum agent_wsc_op op,
                       const uint8_t mask[4])
{
    size_t h = len < 126 ? 6 : len <= 0xffff ? 8 : 14;
    unsigned char *head = payload - h;
    head[0] = (unsigned char)(WSC_FIN | op);
    if (len < 126) {
        head[1] = (unsigned char)(WSC_MASK_BIT | len);
    } else if (len <= 0xffff) {
        head[1] = WSC_MASK_BIT | 126;
        head[2] = (unsigned char)(len >> 8);
        head[3] = (unsigned char)len;
    } else {
        head[1] = WSC_MASK_BIT | 127;
        for (int i = 0; i < 8; i++)
            head[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    }
    memcpy(head + h - 4, mask, 4);
    /* the key repeated in a word keeps its byte order in memory on any host */
    uint32_t m32;
    memcpy(&m32, mask, 4);
    uint64_t m64 = (uint64_t)m32 << 32 | m32, w;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, payload + i, 8);
        w ^= m64;
        memcpy(payload + i, &w, 8);
    }
    for (; i < len; i++)
        payload[i] ^= mask[i & 3];
    return h;
}

void agent_wsc_keys_init(struct agent_wsc_keys *k)
{
    k->pos = sizeof k->buf;
}

int agent_wsc_key(struct agent_wsc_keys *k, uint8_t out[4])
{
    if (k->pos > sizeof k->buf - 4) {
        size_t got = 0;
        while (got < sizeof k->buf) {
            ssize_t r = getrandom(k->buf + got, sizeof k->buf - got, 0);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            got += (size_t)r;
        }
        k->pos = 0;
    }
    memcpy(out, k->buf + k->pos, 4);
    k->pos += 4;
    return 0;
}

/* fuzz_wsc: libFuzzer target for the native WebSocket client's codec
 * (agent/wsc_frame.c, agent/wsc_http.c).
 *
 * The decoder is fed whatever a read returns, so what must hold is that the
 * cuts do not matter: the stream fed whole, in two pieces, and in many small
 * ones gives the same callbacks' content (a running hash of data bytes with
 * each message's first/final marks, each frame's end, and the control frames
 * whole) and the same result, and the pieces keep their own books (a frame's
 * `remaining` counts down, continuations keep the message's kind). The
 * handshake reader gets the same bytes as a response: wherever
 * agent_wsc_http_head_end says the head ends must be the first blank line,
 * and agent_wsc_http_check must give a result in range with a status only
 * for an HTTP/1.x status line. Input: byte 0 picks the cut, whether a Close
 * stops the feed, the offered protocols, and whether the decoder starts
 * after the response head (the engine's order); the rest is the stream. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/wsc_frame.h"
#include "../../agent/wsc_http.h"

struct fuzz_wsc_log {
    uint64_t hash;
    int stop_on_close;
    int in_frame, in_msg, binary;
    uint64_t left;
};

static void fuzz_wsc_mix(struct fuzz_wsc_log *l, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        l->hash = (l->hash ^ b[i]) * 0x100000001b3ull;
}

static void fuzz_wsc_tag(struct fuzz_wsc_log *l, char tag)
{
    fuzz_wsc_mix(l, &tag, 1);
}

static int fuzz_wsc_data(void *ctx, const struct agent_wsc_piece *p)
{
    struct fuzz_wsc_log *l = ctx;
    if (l->in_frame && (p->first || !p->len || p->remaining + p->len != l->left))
        abort();                                  /* a frame's pieces count down */
    if (p->first ? l->in_msg : !l->in_msg || p->binary != l->binary)
        abort();                                  /* one message at a time, one kind */
    if (p->final && p->remaining)
        abort();
    if (p->first) {
        l->binary = p->binary;
        fuzz_wsc_tag(l, p->binary ? 'B' : 'T');
    }
    l->in_msg = !p->final;
    fuzz_wsc_mix(l, p->in, p->len);
    l->in_frame = p->remaining != 0;
    l->left = p->remaining;
    if (!p->remaining)
        fuzz_wsc_tag(l, '|');
    if (p->final)
        fuzz_wsc_tag(l, ']');
    return 0;
}

static int fuzz_wsc_control(void *ctx, enum agent_wsc_op op, const unsigned char *payload,
                            size_t len)
{
    struct fuzz_wsc_log *l = ctx;
    if (len > AGENT_WSC_CTL_MAX ||
        (op != AGENT_WSC_PING && op != AGENT_WSC_PONG && op != AGENT_WSC_CLOSE))
        abort();
    fuzz_wsc_tag(l, (char)op);
    fuzz_wsc_mix(l, &len, sizeof len);
    fuzz_wsc_mix(l, payload, len);
    return l->stop_on_close && op == AGENT_WSC_CLOSE;
}

static const struct agent_wsc_rx_cb fuzz_wsc_cb = { fuzz_wsc_data, fuzz_wsc_control };

/* Feeds s in pieces: one cut at `cut` when step is 0, else pieces of seeded sizes. */
static int fuzz_wsc_feed(const uint8_t *s, size_t len, size_t cut, uint32_t step,
                         int stop_on_close, struct fuzz_wsc_log *l)
{
    struct agent_wsc_rx rx;
    agent_wsc_rx_init(&rx);
    memset(l, 0, sizeof *l);
    l->hash = 0xcbf29ce484222325ull;
    l->stop_on_close = stop_on_close;
    size_t off = 0;
    int ret = 0;
    while (!ret && off < len) {
        size_t n = len - off;
        if (step) {
            step = step * 1103515245u + 12345u;
            size_t c = 1 + (step >> 16) % 23;
            if (c < n)
                n = c;
        } else if (off < cut) {
            n = cut - off;
        }
        ret = agent_wsc_rx_feed(&rx, s + off, n, &fuzz_wsc_cb, l);
        off += n;
    }
    if (ret < 0 && !strcmp(agent_wsc_err_name(ret), "unknown"))
        abort();                                  /* every violation has a name */
    fuzz_wsc_mix(l, &ret, sizeof ret);
    agent_wsc_rx_free(&rx);
    return ret;
}

static void fuzz_wsc_http(const uint8_t *s, size_t len, const char *offered)
{
    const char *b = (const char *)s;
    size_t he = agent_wsc_http_head_end(b, len);
    if (he) {
        if (he < 4 || he > len || memcmp(b + he - 4, "\r\n\r\n", 4) ||
            agent_wsc_http_head_end(b, he - 1) || agent_wsc_http_head_end(b, he) != he)
            abort();                              /* the first blank line, wherever the read ends */
    } else if (len >= 4 && memmem(b, len, "\r\n\r\n", 4)) {
        abort();
    }
    size_t lens[2] = { he, len };
    for (int i = 0; i < 2; i++) {
        int status = -1;
        enum agent_wsc_hs hs =
            agent_wsc_http_check(b, lens[i], "dGhlIHNhbXBsZSBub25jZQ==", offered, &status);
        if (!strcmp(agent_wsc_hs_name((int)hs), "unknown") || status < 0 ||
            (status && (status < 100 || status > 599)))
            abort();
        if (status && (lens[i] < 12 || memcmp(b, "HTTP/1.", 7)))
            abort();                              /* a status only from an HTTP/1.x line */
        if (hs == AGENT_WSC_HS_OK && (status != 101 || lens[i] != he || he > AGENT_WSC_HEAD_LIMIT))
            abort();
        if (hs == AGENT_WSC_HS_STATUS && (status == 101 || !status))
            abort();
    }
}

/* The encoder's frame read back: the header's form and the payload unmasked. */
static void fuzz_wsc_encode(const uint8_t *s, size_t len, const uint8_t mask[4])
{
    unsigned char *buf = malloc(AGENT_WSC_HEAD_MAX + len + 1);
    unsigned char *p = buf + AGENT_WSC_HEAD_MAX;
    memcpy(p, s, len);
    size_t h = agent_wsc_frame(p, len, AGENT_WSC_BINARY, mask);
    const unsigned char *f = p - h;
    size_t want_h = len < 126 ? 6 : len <= 0xffff ? 8 : 14;
    if (h != want_h || f[0] != 0x82 || !(f[1] & 0x80) || memcmp(f + h - 4, mask, 4))
        abort();
    for (size_t i = 0; i < len; i++)
        if ((p[i] ^ mask[i % 4]) != s[i])
            abort();
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    const uint8_t *s = data + 1;
    size_t len = size - 1;
    static const char *const offers[] = { NULL, "chat", "a, b", "superchat,chat" };
    fuzz_wsc_http(s, len, offers[(ctl >> 2) & 3]);
    if (ctl & 2) {                                /* the frames after a response head */
        size_t he = agent_wsc_http_head_end((const char *)s, len);
        s += he;
        len -= he;
    }
    int stop = ctl & 1;
    size_t cut = len ? (size_t)(ctl >> 4) * 2654435761u % (len + 1) : 0;
    struct fuzz_wsc_log whole, two, many;
    int r1 = fuzz_wsc_feed(s, len, 0, 0, stop, &whole);
    int r2 = fuzz_wsc_feed(s, len, cut, 0, stop, &two);
    int r3 = fuzz_wsc_feed(s, len, 0, ctl * 2654435761u + 1, stop, &many);
    if (r1 != r2 || r1 != r3 || whole.hash != two.hash || whole.hash != many.hash) {
        fprintf(stderr,
                "fuzz_wsc: whole %d (%s), cut at %zu %d, in pieces %d; hashes %llx %llx %llx\n",
                r1, agent_wsc_err_name(r1), cut, r2, r3, (unsigned long long)whole.hash,
                (unsigned long long)two.hash, (unsigned long long)many.hash);
        abort();
    }
    uint8_t mask[4] = { ctl, (uint8_t)(ctl * 7), (uint8_t)(ctl ^ 0x5a), (uint8_t)(len) };
    fuzz_wsc_encode(s, len, mask);
    return 0;
}

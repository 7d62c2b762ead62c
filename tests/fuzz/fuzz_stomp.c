/* fuzz_stomp: libFuzzer target for the agent's STOMP 1.2 reader and its
 * pending-ack store (agent/stomp_wire.c, agent/stomp_acks.c).
 *
 * The reader is fed whatever WebSocket pieces a broker sends, so what must
 * hold is that the pieces do not matter: the events of one run over the input
 * and of the same input cut into pieces (byte 0 seeds the sizes) are the same,
 * every event stays inside the bytes it was given, a body never passes its
 * limit, and a refusal is final. Every MESSAGE ack header goes into an ack
 * store the way the dialect does it, and what the store writes back is the
 * same ids in the same order.
 *
 * The two agent modules are compiled into this file: they are pure C with no
 * other dependency, and the fuzz targets otherwise link common/ and proto/ only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/stomp_wire.c"
#include "../../agent/stomp_acks.c"

#define FUZZ_BODY_MAX 300
#define FUZZ_SIG_MAX  (1 << 16)

/* A pass's events, summed into a signature: the kinds, header values, body
 * bytes and frame ends, in order. */
struct fuzz_sig {
    uint64_t h;
    size_t n_events, body;
    int err;
    char acks[FUZZ_SIG_MAX];  /* the ack ids read, each NUL-ended */
    size_t n_acks;
};

static void sig_mix(struct fuzz_sig *s, const void *p, size_t len)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++)
        s->h = (s->h ^ b[i]) * 1099511628211ull;
}

static void fuzz_pass(const uint8_t *data, size_t len, unsigned seed, struct fuzz_sig *s)
{
    struct stomp_rd rd;
    struct stomp_ev ev;
    stomp_rd_init(&rd, FUZZ_BODY_MAX);
    memset(s, 0, sizeof *s);
    s->h = 14695981039346656037ull;
    uint64_t body_h = 0;
    size_t at = 0;
    while (at < len && !s->err) {
        size_t piece = seed ? 1 + (seed = seed * 1103515245u + 12345u) % 97 : len;
        if (piece > len - at)
            piece = len - at;
        const char *p = (const char *)data + at;
        size_t left = piece;
        for (;;) {
            size_t n = stomp_rd_feed(&rd, p, left, &ev);
            if (n > left)
                abort();
            p += n;
            left -= n;
            if (ev.type == STOMP_EV_MORE) {
                if (left)
                    abort();   /* MORE only once the run is used up */
                break;
            }
            uint8_t k[2] = {ev.type, ev.type == STOMP_EV_HEADER ? ev.hdr : ev.cmd};
            if (ev.type != STOMP_EV_BODY) {  /* how a body is cut into pieces may differ */
                s->n_events++;
                sig_mix(s, k, 2);
            }
            if (ev.type == STOMP_EV_HEADER) {
                if (ev.len >= STOMP_VAL_MAX || ev.data[ev.len] != '\0')
                    abort();
                sig_mix(s, ev.data, ev.len);
                if (ev.hdr == STOMP_HDR_ACK && ev.cmd == STOMP_CMD_MESSAGE &&
                    ev.len <= STOMP_ACK_ID_MAX && s->n_acks + ev.len + 1 < FUZZ_SIG_MAX) {
                    memcpy(s->acks + s->n_acks, ev.data, ev.len);
                    s->n_acks += ev.len;
                    s->acks[s->n_acks++] = '\0';
                }
            } else if (ev.type == STOMP_EV_BODY) {
                if (ev.data < (const char *)data || ev.data + ev.len > (const char *)data + len)
                    abort();
                s->body += ev.len;
                if (s->body > FUZZ_BODY_MAX)
                    abort();
                /* a body counts once whole: before a refusal, how much of it
                 * went on depends on the cut */
                if (ev.first)
                    body_h = 14695981039346656037ull;
                for (size_t i = 0; i < ev.len; i++)
                    body_h = (body_h ^ (uint8_t)ev.data[i]) * 1099511628211ull;
                if (ev.final)
                    sig_mix(s, &body_h, sizeof body_h);
            } else if (ev.type == STOMP_EV_FRAME) {
                s->body = 0;
            } else if (ev.type == STOMP_EV_ERROR) {
                s->err = ev.err;
                if (stomp_rd_feed(&rd, "\n", 1, &ev) != 0 || ev.type != STOMP_EV_ERROR)
                    abort();   /* refused stays refused */
                break;
            }
        }
        at += piece;
    }
}

/* Writes out what the store holds (in frames that fit cap), decoding the ids into back. */
static void fuzz_drain(struct stomp_acks *q, size_t cap, char *back, size_t *nb)
{
    char out[1024];
    while (q->n) {
        int w = stomp_acks_write(q, out, cap);
        if (w <= 0)
            abort();           /* a frame of any id the store takes fits 200 bytes */
        for (int i = 0; i < w;) {
            if (memcmp(out + i, "ACK\nid:", 7) != 0)
                abort();
            i += 7;
            while (out[i] != '\n') {
                char c = out[i++];
                if (c == '\\') {
                    c = out[i++];
                    c = c == 'c' ? ':' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
                }
                back[(*nb)++] = c;
            }
            back[(*nb)++] = '\0';
            if (memcmp(out + i, "\n\n\0", 3) != 0)
                abort();
            i += 3;
        }
    }
}

/* The ids through an ack store, pushed and written out in batches of any
 * size: what comes back is every id, in order. */
static void fuzz_acks(const struct fuzz_sig *s, unsigned seed)
{
    static char back[FUZZ_SIG_MAX];
    struct stomp_acks q;
    size_t nb = 0, cap = 200 + seed % 800;
    memset(&q, 0, sizeof q);
    const char *id = s->acks, *end = s->acks + s->n_acks;
    while (id < end) {
        const char *semi = memchr(id, '\0', (size_t)(end - id));
        size_t len = (size_t)(semi - id);
        if (stomp_acks_push(&q, 0, id, len, 0) < 0) {
            fuzz_drain(&q, cap, back, &nb);
            if (stomp_acks_push(&q, 0, id, len, 0) < 0)
                abort();       /* an empty store takes any id the reader hands on whole */
        }
        id = semi + 1;
        if ((seed = seed * 1103515245u + 12345u) % 4 == 0)
            fuzz_drain(&q, cap, back, &nb);
    }
    fuzz_drain(&q, cap, back, &nb);
    if (nb != s->n_acks || memcmp(back, s->acks, nb) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_sig whole, cut;
    if (size < 1)
        return 0;
    unsigned seed = data[0] | 1u;
    fuzz_pass(data + 1, size - 1, 0, &whole);
    fuzz_pass(data + 1, size - 1, seed, &cut);
    if (whole.h != cut.h || whole.n_events != cut.n_events || whole.err != cut.err ||
        whole.n_acks != cut.n_acks || memcmp(whole.acks, cut.acks, whole.n_acks) != 0) {
        fprintf(stderr, "fuzz_stomp: events differ with the cut (%zu vs %zu events, err %d vs %d)\n",
                whole.n_events, cut.n_events, whole.err, cut.err);
        abort();
    }
    fuzz_acks(&whole, seed);
    return 0;
}

/* test_wsc_frame.c: the WebSocket frame codec of the native client engine
 * (agent/wsc_frame.c).
 *
 * What must hold: the decoder finds the same things in a server's stream
 * however the reads cut it. Every stream here is fed whole, cut once at every
 * position, and one byte at a time, and the three must log the same content
 * (data bytes joined, with the message's first/final marks, each frame's end
 * and its kind; control frames whole) and end in the same result. The pieces'
 * own bookkeeping is checked on the way: `remaining` counts down within a
 * frame, continuations keep the message's kind. Each violation in enum
 * agent_wsc_err has streams that end in exactly it, after the callbacks of
 * what came before; a callback that returns nonzero stops the feed at once.
 * The encoder and the masking keys are tested in test_wsc_encode.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wsc_frame.h"

/* ---- the log of what the callbacks saw */

struct rec {
    char *log;
    size_t n, cap;
    int stop_at;            /* stop at this event (1-based; control frames and final pieces) */
    int events;
    int stop_any;           /* stop at the first callback of any kind */
    int calls;
    int in_frame;           /* a data frame's payload is under way */
    uint64_t left;          /* ... with this much to come */
    int in_msg, binary;
};

static void rec_add(struct rec *r, const char *fmt, ...)
{
    char b[64];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    if (r->n + (size_t)k + 1 > r->cap) {
        r->cap = (r->n + (size_t)k + 1) * 2;
        r->log = realloc(r->log, r->cap);
    }
    memcpy(r->log + r->n, b, (size_t)k + 1);
    r->n += (size_t)k;
}

static void rec_bytes(struct rec *r, const unsigned char *p, size_t len)
{
    if (r->n + 4 * len + 1 > r->cap) {
        r->cap = (r->n + 4 * len + 1) * 2;
        r->log = realloc(r->log, r->cap);
    }
    for (size_t i = 0; i < len; i++)
        if (p[i] >= 32 && p[i] < 127 && p[i] != '\\')
            r->log[r->n++] = (char)p[i];
        else
            r->n += (size_t)snprintf(r->log + r->n, 5, "\\x%02x", p[i]);
    r->log[r->n] = 0;
}

static int rec_data(void *ctx, const struct agent_wsc_piece *p)
{
    struct rec *r = ctx;
    r->calls++;
    if (r->in_frame) {                            /* the frame's bookkeeping runs down */
        assert_false(p->first);
        assert_true(p->len > 0);
        assert_true(p->remaining + p->len == r->left);
    }
    if (p->first) {
        assert_false(r->in_msg);
        r->binary = p->binary;
        rec_add(r, p->binary ? "B[" : "T[");
    } else {
        assert_true(r->in_msg);
        assert_int_equal(p->binary, r->binary);
    }
    r->in_msg = !p->final;
    rec_bytes(r, p->in, p->len);
    r->in_frame = p->remaining != 0;
    r->left = p->remaining;
    if (!p->remaining)
        rec_add(r, "|");
    if (p->final) {
        assert_int_equal(p->remaining, 0);
        rec_add(r, "]");
    }
    if (r->stop_any)
        return 1;
    return p->final && ++r->events == r->stop_at;
}

static int rec_control(void *ctx, enum agent_wsc_op op, const unsigned char *payload, size_t len)
{
    struct rec *r = ctx;
    r->calls++;
    assert_true(len <= AGENT_WSC_CTL_MAX);
    rec_add(r, "%s(", op == AGENT_WSC_PING ? "ping" : op == AGENT_WSC_PONG ? "pong"
                      : op == AGENT_WSC_CLOSE ? "close" : "?");
    rec_bytes(r, payload, len);
    rec_add(r, ");");
    return r->stop_any || ++r->events == r->stop_at;
}

static const struct agent_wsc_rx_cb rec_cb = { rec_data, rec_control };

/* Feeds s in pieces ending at cut[] (ascending), then the rest: the result. */
static int feed_cut(const unsigned char *s, size_t len, const size_t *cut, size_t ncut,
                    struct rec *r, int stop_at, int *mid)
{
    struct agent_wsc_rx rx;
    agent_wsc_rx_init(&rx);
    free(r->log);
    memset(r, 0, sizeof *r);
    r->stop_at = stop_at;
    rec_add(r, "%s", "");
    size_t off = 0;
    int ret = 0;
    for (size_t k = 0; k <= ncut && !ret; k++) {
        size_t end = k < ncut ? cut[k] : len;
        ret = agent_wsc_rx_feed(&rx, s + off, end - off, &rec_cb, r);
        off = end;
    }
    if (mid)
        *mid = agent_wsc_rx_mid_frame(&rx);
    agent_wsc_rx_free(&rx);
    return ret;
}

/* Whole, at each single cut, byte by byte: the same log and result. Long streams are cut
 * at every position near their ends and every 97th (997th past 10,000) in between. */
static void check_stream_what(const char *what, const void *sv, size_t len, int stop_at,
                              const char *want_log, int want_ret, int want_mid)
{
    const unsigned char *s = sv;
    struct rec whole = { 0 }, part = { 0 };
    int mid;
    int ret = feed_cut(s, len, NULL, 0, &whole, stop_at, &mid);
    if (ret != want_ret || strcmp(whole.log, want_log))
        fail_msg("%s: whole: ret %d (%s) want %d, log \"%.300s\" want \"%.300s\"", what, ret,
                 agent_wsc_err_name(ret), want_ret, whole.log, want_log);
    if (!want_ret)
        assert_int_equal(mid, want_mid);
    for (size_t c = 1; c < len; c++) {
        if (len > 600 && c > 200 && c + 200 < len && c % (len > 10000 ? 997 : 97))
            continue;
        ret = feed_cut(s, len, &c, 1, &part, stop_at, &mid);
        if (ret != want_ret || strcmp(part.log, want_log))
            fail_msg("%s: cut at %zu: ret %d want %d, log \"%.300s\" want \"%.300s\"", what, c,
                     ret, want_ret, part.log, want_log);
        if (!want_ret)
            assert_int_equal(mid, want_mid);
    }
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    for (size_t c = 1; c < len; c++)
        cuts[c - 1] = c;
    ret = feed_cut(s, len, cuts, len ? len - 1 : 0, &part, stop_at, &mid);
    free(cuts);
    if (ret != want_ret || strcmp(part.log, want_log))
        fail_msg("%s: bytewise: ret %d want %d, log \"%.300s\" want \"%.300s\"", what, ret,
                 want_ret, part.log, want_log);
    if (!want_ret)
        assert_int_equal(mid, want_mid);
    free(whole.log);
    free(part.log);
}

#define check_stream(...) check_stream_what(__func__, __VA_ARGS__)

struct stream_case {
    const char *what;
    const char *bytes;
    size_t len;
    const char *log;
    int ret;
    int mid;                /* the stream ends inside a frame */
};
#define S(what, lit, log, ret) { what, lit, sizeof lit - 1, log, ret, 0 }
#define S_MID(what, lit, log) { what, lit, sizeof lit - 1, log, 0, 1 }

static void run_cases(const struct stream_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        check_stream_what(c[i].what, c[i].bytes, c[i].len, 0, c[i].log, c[i].ret, c[i].mid);
    }
}

/* ---- decoding what a server may send */

static void test_read_valid(void **state)
{
    (void)state;
    static const struct stream_case cases[] = {
        S("text, 7-bit length", "\x81\x05hello", "T[hello|]", 0),
        S("binary", "\x82\x03\x00\x01\x02", "B[\\x00\\x01\\x02|]", 0),
        S("empty text", "\x81\x00", "T[|]", 0),
        S("empty binary", "\x82\x00", "B[|]", 0),
        S("empty ping, pong, close", "\x89\x00\x8a\x00\x88\x00", "ping();pong();close();", 0),
        S("close with a code and reason", "\x88\x04\x03\xe8ok", "close(\\x03\\xe8ok);", 0),
        S("fragmented text, a ping between fragments",
          "\x01\x03hel\x89\x02hi\x00\x01l\x80\x01o", "T[hel|ping(hi);l|o|]", 0),
        S("fragmented binary: continuations inherit it, empty fragments give pieces",
          "\x02\x00\x00\x02\x01\x02\x8a\x00\x80\x00", "B[|\\x01\\x02|pong();|]", 0),
        S("messages back to back", "\x81\x01" "a\x82\x01" "b\x81\x00\x81\x02" "cd",
          "T[a|]B[b|]T[|]T[cd|]", 0),
        S("16-bit length form with a small length (not minimal, still read)",
          "\x81\x7e\x00\x02hi", "T[hi|]", 0),
        S("64-bit length form with a small length",
          "\x81\x7f\x00\x00\x00\x00\x00\x00\x00\x02hi", "T[hi|]", 0),
        S("64-bit length of 0", "\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x00", "B[|]", 0),
        S("a message after a Close (the engine decides what to do with it)",
          "\x88\x02\x03\xe8\x81\x01x", "close(\\x03\\xe8);T[x|]", 0),
        S_MID("the stream ends inside a header", "\x81\x05hello\x81", "T[hello|]"),
        S_MID("... inside a 64-bit length", "\x81\x7f\x00\x00\x00", ""),
        S_MID("... inside a payload", "\x81\x05hel", "T[hel"),
        S_MID("... inside a control payload", "\x01\x01" "a\x89\x03pi", "T[a|"),
        S_MID("... between fragments (a frame is done, the message is not)", "\x01\x01" "a\x00\x01",
              "T[a|"),
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
    /* ... between fragments: no frame under way, the message goes on */
    check_stream("\x01\x01" "a", 3, 0, "T[a|", 0, 0);
}

/* Control frames of every size up to 125, in a fragmented message, cut everywhere. */
static void test_read_control_sizes(void **state)
{
    (void)state;
    unsigned char s[2 + 2 + 125 + 2 + 1];
    char want[600];
    for (size_t len = 0; len <= AGENT_WSC_CTL_MAX; len += len < 4 ? 1 : 11) {
        for (int op = AGENT_WSC_CLOSE; op <= AGENT_WSC_PONG; op++) {
            if (op == AGENT_WSC_CLOSE && len == 1)
                continue;
            size_t n = 0;
            s[n++] = 0x01;                          /* text "a", not final */
            s[n++] = 1;
            s[n++] = 'a';
            s[n++] = (unsigned char)(0x80 | op);
            s[n++] = (unsigned char)len;
            for (size_t i = 0; i < len; i++)
                s[n++] = (unsigned char)('A' + i % 26);
            s[n++] = 0x80;                          /* the final fragment, empty */
            s[n++] = 0;
            int k = snprintf(want, sizeof want, "T[a|%s(%.*s);|]",
                             op == AGENT_WSC_PING   ? "ping"
                             : op == AGENT_WSC_PONG ? "pong"
                                                    : "close",
                             (int)len, (const char *)s + 5);
            assert_true(k > 0 && (size_t)k < sizeof want);
            check_stream(s, n, 0, want, 0, 0);
        }
    }
    check_stream("\x89\x7d", 2, 0, "", 0, 1);       /* 125 is the largest */
}

/* The cut-control-frame buffer: allocated only when a read cuts a control payload, freed when
 * that frame is done; a control frame whole in its read is handed on in place. */
static void test_read_control_buffer(void **state)
{
    (void)state;
    struct rec r = { 0 };
    rec_add(&r, "%s", "");
    struct agent_wsc_rx rx;
    agent_wsc_rx_init(&rx);
    const unsigned char *s = (const unsigned char *)"\x89\x05hello";
    assert_int_equal(agent_wsc_rx_feed(&rx, s, 2, &rec_cb, &r), 0);
    assert_null(rx.ctl);                            /* the read ended at the header: nothing yet */
    assert_int_equal(agent_wsc_rx_feed(&rx, s + 2, 3, &rec_cb, &r), 0);
    assert_non_null(rx.ctl);
    assert_int_equal(rx.ctl_len, 3);
    assert_int_equal(agent_wsc_rx_feed(&rx, s + 5, 2, &rec_cb, &r), 0);
    assert_null(rx.ctl);
    assert_int_equal(rx.ctl_len, 0);
    assert_string_equal(r.log, "ping(hello);");
    assert_int_equal(agent_wsc_rx_feed(&rx, s, 7, &rec_cb, &r), 0);
    assert_null(rx.ctl);
    /* a cut frame left half read is freed by agent_wsc_rx_free (ASan counts the leak) */
    assert_int_equal(agent_wsc_rx_feed(&rx, s, 4, &rec_cb, &r), 0);
    assert_non_null(rx.ctl);
    agent_wsc_rx_free(&rx);
    assert_null(rx.ctl);
    assert_int_equal(sizeof(struct agent_wsc_rx), 32);
    free(r.log);
}

/* The control callback is handed the read's own bytes when the frame is whole there. */
static int ctl_where(void *ctx, enum agent_wsc_op op, const unsigned char *payload, size_t len)
{
    (void)op;
    (void)len;
    *(const unsigned char **)ctx = payload;
    return 0;
}

static void test_read_control_in_place(void **state)
{
    (void)state;
    const unsigned char *s = (const unsigned char *)"\x89\x02hi", *got = NULL;
    struct agent_wsc_rx_cb cb = { NULL, ctl_where };
    struct agent_wsc_rx rx;
    agent_wsc_rx_init(&rx);
    assert_int_equal(agent_wsc_rx_feed(&rx, s, 4, &cb, &got), 0);
    assert_ptr_equal(got, s + 2);
    agent_wsc_rx_free(&rx);
}

/* Lengths at the forms' boundaries: 125 (7-bit), 126 and 65535 (16-bit), 65536 (64-bit). */
static void check_big(size_t len, int op)
{
    size_t h = len < 126 ? 2 : len <= 0xffff ? 4 : 10;
    unsigned char *s = malloc(h + len);
    s[0] = (unsigned char)(0x80 | op);
    if (h == 2) {
        s[1] = (unsigned char)len;
    } else if (h == 4) {
        s[1] = 126;
        s[2] = (unsigned char)(len >> 8);
        s[3] = (unsigned char)len;
    } else {
        s[1] = 127;
        for (int i = 0; i < 8; i++)
            s[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    }
    for (size_t i = 0; i < len; i++)
        s[h + i] = (unsigned char)('a' + i % 26);
    char *want = malloc(len + 8);
    snprintf(want, len + 8, "%s%.*s|]", op == AGENT_WSC_BINARY ? "B[" : "T[", (int)len,
             (const char *)s + h);
    check_stream(s, h + len, 0, want, 0, 0);
    free(want);
    free(s);
}

static void test_read_lengths(void **state)
{
    (void)state;
    static const size_t lens[] = { 125, 126, 127, 300, 65535, 65536, 70000 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        check_big(lens[i], i & 1 ? AGENT_WSC_BINARY : AGENT_WSC_TEXT);
}

static void test_read_violations(void **state)
{
    (void)state;
    static const struct stream_case cases[] = {
        S("RSV1", "\xc1\x00", "", AGENT_WSC_E_RSV),
        S("RSV2", "\xa1\x00", "", AGENT_WSC_E_RSV),
        S("RSV3 on a ping", "\x99\x00", "", AGENT_WSC_E_RSV),
        S("RSV after a message: what came before is seen", "\x81\x01" "a\x91\x00", "T[a|]",
          AGENT_WSC_E_RSV),
        S("reserved data opcode 3", "\x83\x00", "", AGENT_WSC_E_OPCODE),
        S("reserved data opcode 7", "\x87\x00", "", AGENT_WSC_E_OPCODE),
        S("reserved control opcode 11", "\x8b\x00", "", AGENT_WSC_E_OPCODE),
        S("reserved control opcode 15", "\x8f\x00", "", AGENT_WSC_E_OPCODE),
        S("masked text", "\x81\x81\x01\x02\x03\x04\x60", "", AGENT_WSC_E_MASKED),
        S("masked empty pong", "\x8a\x80\x00\x00\x00\x00", "", AGENT_WSC_E_MASKED),
        S("a ping without FIN", "\x09\x00", "", AGENT_WSC_E_CONTROL),
        S("a close without FIN inside a message", "\x01\x01" "a\x08\x00", "T[a|",
          AGENT_WSC_E_CONTROL),
        S("a ping of 126 bytes (16-bit form)", "\x89\x7e\x00\x7e", "", AGENT_WSC_E_CONTROL),
        S("a pong in the 64-bit form", "\x8a\x7f\x00\x00\x00\x00\x00\x00\x00\x01", "",
          AGENT_WSC_E_CONTROL),
        S("a continuation with no message", "\x80\x01x", "", AGENT_WSC_E_SEQUENCE),
        S("a non-final continuation with no message", "\x00\x00", "", AGENT_WSC_E_SEQUENCE),
        S("a continuation after a whole message", "\x81\x01" "a\x80\x00", "T[a|]",
          AGENT_WSC_E_SEQUENCE),
        S("a new text inside a fragmented message", "\x01\x01" "a\x81\x01" "b", "T[a|",
          AGENT_WSC_E_SEQUENCE),
        S("a new binary inside one, after a ping", "\x01\x01" "a\x89\x00\x02\x00", "T[a|ping();",
          AGENT_WSC_E_SEQUENCE),
        S("a 64-bit length with its top bit", "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", "",
          AGENT_WSC_E_LENGTH),
        S("... all bits", "\x81\x7f\xff\xff\xff\xff\xff\xff\xff\xff", "", AGENT_WSC_E_LENGTH),
        S("a close of 1 byte", "\x88\x01\x03", "", AGENT_WSC_E_CLOSE),
        S("... refused once its header is in", "\x88\x01", "", AGENT_WSC_E_CLOSE),
        S("first violation wins: RSV and a reserved opcode", "\xf3\x00", "", AGENT_WSC_E_RSV),
        S("... a reserved opcode with the mask bit", "\x84\x80", "", AGENT_WSC_E_OPCODE),
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
    assert_string_equal(agent_wsc_err_name(AGENT_WSC_E_MASKED), "masked frame from the server");
    assert_string_equal(agent_wsc_err_name(AGENT_WSC_E_NOMEM), "no memory for a cut control frame");
    assert_string_equal(agent_wsc_err_name(-9), "unknown");
    assert_string_equal(agent_wsc_err_name(0), "unknown");
}

/* A callback's nonzero stops the feed at once, wherever the reads cut. */
static void test_read_stop(void **state)
{
    (void)state;
    static const char s[] = "\x89\x01" "a\x81\x02hi\x89\x01" "b\x01\x01x\x8a\x00\x80\x01y\x81\x01z";
    check_stream(s, sizeof s - 1, 1, "ping(a);", 1, 0);
    check_stream(s, sizeof s - 1, 2, "ping(a);T[hi|]", 1, 0);
    check_stream(s, sizeof s - 1, 3, "ping(a);T[hi|]ping(b);", 1, 0);
    check_stream(s, sizeof s - 1, 4, "ping(a);T[hi|]ping(b);T[x|pong();", 1, 0);
    check_stream(s, sizeof s - 1, 5, "ping(a);T[hi|]ping(b);T[x|pong();y|]", 1, 0);
    check_stream(s, sizeof s - 1, 7, "ping(a);T[hi|]ping(b);T[x|pong();y|]T[z|]", 0, 0);

    /* a stop from a piece that is not the message's last: nothing after it */
    struct rec r = { 0 };
    rec_add(&r, "%s", "");
    r.stop_any = 1;
    struct agent_wsc_rx rx;
    agent_wsc_rx_init(&rx);
    const unsigned char *two = (const unsigned char *)"\x01\x02hi\x89\x00";
    assert_int_equal(agent_wsc_rx_feed(&rx, two, 6, &rec_cb, &r), 1);
    assert_int_equal(r.calls, 1);
    assert_string_equal(r.log, "T[hi|");
    agent_wsc_rx_init(&rx);
    free(r.log);
    memset(&r, 0, sizeof r);
    rec_add(&r, "%s", "");
    r.stop_any = 1;
    /* from a cut control frame, whose buffer is then freed by rx_free */
    assert_int_equal(agent_wsc_rx_feed(&rx, (const unsigned char *)"\x89\x02h", 3, &rec_cb, &r), 0);
    assert_int_equal(agent_wsc_rx_feed(&rx, (const unsigned char *)"i\x81\x00", 3, &rec_cb, &r), 1);
    assert_int_equal(r.calls, 1);
    assert_string_equal(r.log, "ping(hi);");
    agent_wsc_rx_free(&rx);
    free(r.log);
}

/* Random streams of frame-like bytes cut at random: the same as whole. */
static void test_read_random(void **state)
{
    (void)state;
    uint32_t seed = 4242;
    static const unsigned char heads[] = { 0x81, 0x82, 0x01, 0x02, 0x00,
                                           0x80, 0x89, 0x8a, 0x88, 0xc1 };
    for (int round = 0; round < 4000; round++) {
        unsigned char s[96];
        size_t len = 1 + (size_t)round % sizeof s;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned v = seed >> 16;
            s[i] = v % 3 == 0 ? heads[(v >> 2) % sizeof heads]
                              : v % 3 == 1 ? (unsigned char)(v % 8) : (unsigned char)(v >> 4);
        }
        struct rec whole = { 0 }, part = { 0 };
        int r1 = feed_cut(s, len, NULL, 0, &whole, 0, NULL);
        size_t cuts[12], nc = 0, at = 0;
        while (nc < 12) {
            seed = seed * 1103515245u + 12345u;
            at += 1 + (seed >> 16) % 7;
            if (at >= len)
                break;
            cuts[nc++] = at;
        }
        int r2 = feed_cut(s, len, cuts, nc, &part, 0, NULL);
        assert_int_equal(r1, r2);
        assert_string_equal(whole.log, part.log);
        free(whole.log);
        free(part.log);
    }
}

/* ---- the buffer's allocation failing: the decoder compiled once more, here, under other
 * names and with a malloc that always fails */

static void *nomem_malloc(size_t n)
{
    (void)n;
    return NULL;
}
#define malloc nomem_malloc
#define agent_wsc_err_name nomem_err_name
#define agent_wsc_rx_init nomem_rx_init
#define agent_wsc_rx_free nomem_rx_free
#define agent_wsc_rx_mid_frame nomem_rx_mid_frame
#define agent_wsc_rx_feed nomem_rx_feed
#define agent_wsc_frame nomem_frame
#define agent_wsc_keys_init nomem_keys_init
#define agent_wsc_key nomem_key
#include "wsc_frame.c"
#undef malloc

static void test_read_nomem(void **state)
{
    (void)state;
    check_stream("\x89\x01x", 3, 0, "ping(x);", 0, 0);   /* (the real decoder) */
    struct rec r = { 0 };
    rec_add(&r, "%s", "");
    struct agent_wsc_rx rx;
    nomem_rx_init(&rx);
    assert_int_equal(nomem_rx_feed(&rx, (const unsigned char *)"\x89\x01x", 3, &rec_cb, &r), 0);
    assert_int_equal(nomem_rx_feed(&rx, (const unsigned char *)"\x89\x02x", 3, &rec_cb, &r),
                     AGENT_WSC_E_NOMEM);
    assert_string_equal(r.log, "ping(x);");
    assert_null(rx.ctl);
    nomem_rx_free(&rx);
    free(r.log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_valid),
        cmocka_unit_test(test_read_control_sizes),
        cmocka_unit_test(test_read_control_buffer),
        cmocka_unit_test(test_read_control_in_place),
        cmocka_unit_test(test_read_lengths),
        cmocka_unit_test(test_read_violations),
        cmocka_unit_test(test_read_stop),
        cmocka_unit_test(test_read_random),
        cmocka_unit_test(test_read_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fuzz_token: libFuzzer target for the push-token scanner (proto/ps_token.c).
 *
 * The scanner is a streaming state machine fed whatever pieces libwebsockets
 * hands over, so the property that matters is that the pieces do not matter:
 * the tokens found in one call over a message, in any split of it into chunks,
 * and by a plain non-streaming reading of the grammar written here are the
 * same list. Input: byte 0 seeds the chunk sizes, the rest is the message.
 * Every token found also survives ps_token_format and a scan of that text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_proto.h"

#define FUZZ_TOKEN_MAX 4096   /* tokens remembered per pass (a token is >= 10 bytes) */

struct fuzz_token_list {
    size_t n;
    struct ps_token t[FUZZ_TOKEN_MAX];
};

static void fuzz_token_cb(void *ctx, const struct ps_token *tok)
{
    struct fuzz_token_list *l = ctx;
    if (l->n < FUZZ_TOKEN_MAX)
        l->t[l->n] = *tok;
    l->n++;
}

/* Digits from s[*i] up to max; -1 at the first non-digit-run position or overflow. */
static int fuzz_token_field(const uint8_t *s, size_t len, size_t *i, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t start = *i;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        unsigned d = s[*i] - '0';
        if (v > (max - d) / 10)
            return -1;           /* overflow: the candidate dies at this digit */
        v = v * 10 + d;
        (*i)++;
    }
    *out = v;
    return *i > start ? 0 : -1;
}

/* The grammar read directly: "~ps.RUN.MSG.TS~" at each '~' not used by an
 * earlier token; a candidate that breaks at position k lets the search go on
 * from k (a '~' there may open the next). */
static void fuzz_token_reference(const uint8_t *s, size_t len, struct fuzz_token_list *l)
{
    size_t i = 0;
    l->n = 0;
    while (i < len) {
        if (s[i] != '~') {
            i++;
            continue;
        }
        size_t k = i + 1;
        uint64_t run, msg, ts;
        if (k + 3 > len || memcmp(s + k, "ps.", 3) != 0) {
            /* breaks inside the prefix: at the first byte that differs */
            while (k < len && k < i + 4 && s[k] == (const uint8_t)"ps."[k - i - 1])
                k++;
            i = k;
            continue;
        }
        k += 3;
        if (fuzz_token_field(s, len, &k, UINT32_MAX, &run) || k >= len || s[k] != '.') {
            i = k;
            continue;
        }
        k++;
        if (fuzz_token_field(s, len, &k, UINT32_MAX, &msg) || k >= len || s[k] != '.') {
            i = k;
            continue;
        }
        k++;
        if (fuzz_token_field(s, len, &k, INT64_MAX, &ts) || k >= len || s[k] != '~') {
            i = k;
            continue;
        }
        fuzz_token_cb(l, &(struct ps_token){ (uint32_t)run, (uint32_t)msg, (int64_t)ts });
        i = k + 1;
    }
}

static void fuzz_token_same(const char *what, const struct fuzz_token_list *a,
                            const struct fuzz_token_list *b)
{
    size_t n = a->n < FUZZ_TOKEN_MAX ? a->n : FUZZ_TOKEN_MAX;
    if (a->n != b->n) {
        fprintf(stderr, "fuzz_token: %s: %zu tokens, expected %zu\n", what, b->n, a->n);
        abort();
    }
    for (size_t i = 0; i < n; i++)
        if (a->t[i].run != b->t[i].run || a->t[i].msg != b->t[i].msg ||
            a->t[i].t_send_us != b->t[i].t_send_us) {
            fprintf(stderr, "fuzz_token: %s: token %zu differs\n", what, i);
            abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_token_list ref, whole, parts;
    struct ps_token_state st;
    if (size < 1)
        return 0;
    uint32_t seed = data[0] * 2654435761u + 1;
    const char *msg = (const char *)data + 1;
    size_t len = size - 1;

    fuzz_token_reference(data + 1, len, &ref);

    whole.n = 0;
    ps_token_reset(&st);
    int found = ps_token_scan(&st, msg, len, fuzz_token_cb, &whole);
    if ((size_t)found != whole.n)
        abort();
    fuzz_token_same("one call", &ref, &whole);

    parts.n = 0;
    ps_token_reset(&st);
    for (size_t off = 0; off < len;) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 17;      /* 1..17 bytes: splits land everywhere */
        if (n > len - off)
            n = len - off;
        ps_token_scan(&st, msg + off, n, fuzz_token_cb, &parts);
        off += n;
    }
    fuzz_token_same("in chunks", &ref, &parts);

    size_t n = whole.n < FUZZ_TOKEN_MAX ? whole.n : FUZZ_TOKEN_MAX;
    for (size_t i = 0; i < n; i++) {
        char buf[PS_TOKEN_MAX];
        static struct fuzz_token_list one;
        one.n = 0;
        int blen = ps_token_format(buf, sizeof buf, whole.t[i].run, whole.t[i].msg,
                                   whole.t[i].t_send_us);
        if (blen < 0)
            abort();
        ps_token_reset(&st);
        ps_token_scan(&st, buf, (size_t)blen, fuzz_token_cb, &one);
        if (one.n != 1 || one.t[0].run != whole.t[i].run || one.t[0].msg != whole.t[i].msg ||
            one.t[0].t_send_us != whole.t[i].t_send_us)
            abort();
    }
    return 0;
}

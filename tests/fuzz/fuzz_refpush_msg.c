/* fuzz_refpush_msg: libFuzzer target for refpush's own readers and writers of
 * text: the strict-mode client messages (refpush/cmsg.c), the query-value
 * parsers (query.c: uid, fraction, nth lists, ports) and the JSON escaping of
 * pushed bodies (json.c). fuzz_refpush_http reaches the same code through a
 * socket; this one calls it directly, thousands of times faster, and checks
 * what each promises:
 *   cmsg     an accepted message's token lies inside the text, and a known
 *            type has its field; a refusal says why
 *   query    an accepted number prints back to the same value (digits only,
 *            in range); nth lists come back sorted, unique and >= 1
 *   json     the escaped length is the length written, the output has no raw
 *            control character or bare quote, and unescaping it gives the
 *            input back, byte for byte (tokens survive wrapping)
 * Input: the bytes go to cmsg and json as they are, and, up to the first NUL,
 * as a query value to each number parser. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmsg.h"
#include "json.h"
#include "query.h"
#include "../unit/refpush/json_unescape.h"

static void fuzz_msg_fail(const char *what)
{
    fprintf(stderr, "fuzz_refpush_msg: %s\n", what);
    abort();
}

static void fuzz_msg_cmsg(const char *s, size_t len)
{
    struct refpush_cmsg m;
    char err[160] = "";
    if (refpush_cmsg_parse(s, len, &m, err, sizeof err) != 0) {
        if (!err[0])
            fuzz_msg_fail("cmsg refused without a message");
        return;
    }
    if (m.has_token && (m.token < s || m.token + m.token_len > s + len))
        fuzz_msg_fail("cmsg token outside the message");
    if ((m.type == REFPUSH_CMSG_LOGIN && !m.has_token) ||
        (m.type == REFPUSH_CMSG_PING && !m.has_seq) || (m.type == REFPUSH_CMSG_ACK && !m.has_id))
        fuzz_msg_fail("cmsg accepted a known type without its field");
    if ((m.has_seq && m.seq > INT64_MAX) || (m.has_id && m.id > INT64_MAX))
        fuzz_msg_fail("cmsg number above 2^63");
    if (m.has_token)
        (void)refpush_login_token_ok("k", m.seq, m.token, m.token_len);
}

static void fuzz_msg_query(const char *v)
{
    char err[160], back[32];
    uint64_t u, again;
    double f;
    int port;
    if (refpush_parse_uid(v, &u, err, sizeof err) == 0) {
        snprintf(back, sizeof back, "%" PRIu64, u);
        if (u > INT64_MAX || refpush_parse_uid(back, &again, err, sizeof err) || again != u)
            fuzz_msg_fail("uid does not print back");
        const char *d = v;
        while (d[0] == '0' && d[1])
            d++;
        if (strcmp(d, back) != 0)
            fuzz_msg_fail("uid accepted with more than digits");
    }
    if (refpush_parse_fraction(v, &f, err, sizeof err) == 0 && !(f >= 0.0 && f <= 1.0))
        fuzz_msg_fail("fraction outside [0, 1]");
    if (refpush_parse_port(v, &port, err, sizeof err) == 0 && (port < 0 || port > 65535))
        fuzz_msg_fail("port outside 0..65535");
    uint64_t *nth;
    size_t n;
    if (refpush_parse_nth_list(v, &nth, &n, err, sizeof err) == 0) {
        if (n > REFPUSH_NTH_MAX || (n == 0) != (v[0] == '\0'))
            fuzz_msg_fail("nth: wrong count");
        for (size_t i = 0; i < n; i++)
            if (nth[i] == 0 || (i && nth[i - 1] >= nth[i]))
                fuzz_msg_fail("nth: not sorted, unique and >= 1");
        free(nth);
    }
}

static void fuzz_msg_json(const char *s, size_t len)
{
    size_t want = refpush_json_escaped_len(s, len);
    char *esc = malloc(want ? want : 1), *back = malloc(len ? len : 1);
    if (!esc || !back)
        abort();
    if (refpush_json_escape(esc, s, len) != want)
        fuzz_msg_fail("json: escaped length differs from the bytes written");
    if (json_unescape(esc, want, back) != (long)len || memcmp(back, s, len))
        fuzz_msg_fail("json: the escape does not read back to the input");

    struct refpush_jbuf b;
    refpush_jbuf_init(&b, 16);
    refpush_jbuf_appendf(&b, "{\"n\":%zu,\"body\":", len);
    refpush_jbuf_append_string(&b, s, len);
    refpush_jbuf_append(&b, "}", 1);
    const char *d = refpush_jbuf_data(&b);
    if (b.failed || b.len < want + 3 || strncmp(d, "{\"n\":", 5) != 0 || d[b.len] != '\0' ||
        d[b.len - 1] != '}' ||
        memcmp(d + b.len - 2 - want, esc, want) != 0)
        fuzz_msg_fail("json: the response buffer does not hold the escaped body");
    refpush_jbuf_free(&b);
    free(esc);
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* exact-size copies, so ASan sees a read one past the end */
    char *s = malloc(size ? size : 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    fuzz_msg_cmsg(s, size);
    fuzz_msg_json(s, size);
    free(s);

    size_t vlen = strnlen((const char *)data, size);
    if (vlen <= REFPUSH_QUERY_MAX) {
        char *v = malloc(vlen + 1);
        if (!v)
            abort();
        memcpy(v, data, vlen);
        v[vlen] = '\0';
        fuzz_msg_query(v);
        free(v);
    }
    return 0;
}

/* test_json.c: the JSON refpush writes (json.c) and the frames it wraps
 * pushed bodies in (msg.c).
 *
 * Every delivered frame in --wrap json is {"type":"push","uid":N,"data":"..."}
 * with the body escaped inside, and a client that cannot parse it, or parses a
 * different body out of it, sees a message the test never sent. So the
 * escaping is checked by decoding it again here (a small decoder of JSON
 * string escapes, written for the tests: json_unescape.h) for every byte value, the frames for
 * their exact text, and the response buffer for growth, reuse and the spare
 * bytes it keeps in front for lws. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"
#include "msg.h"
#include "json_unescape.h"

static void test_escape_every_byte(void **state)
{
    char src[256], esc[256 * 6], back[256];
    (void)state;
    for (int i = 0; i < 256; i++)
        src[i] = (char)i;
    size_t n = refpush_json_escaped_len(src, sizeof src);
    /* 32 control bytes: 5 with two-byte forms, 27 as \u00XX; quote and backslash */
    assert_int_equal(n, 256 + 5 * 1 + 27 * 5 + 2);
    assert_int_equal(refpush_json_escape(esc, src, sizeof src), n);
    assert_int_equal(json_unescape(esc, n, back), 256);
    assert_memory_equal(back, src, 256);
    /* bytes from 0x80 pass as they are: UTF-8 stays UTF-8 */
    assert_memory_equal(esc + n - 128, src + 128, 128);
}

static void test_escape_forms(void **state)
{
    char out[64];
    (void)state;
    const struct { const char *in; const char *out; } cases[] = {
        {"", ""},
        {"plain ~ps.12.345.1732450000000000~", "plain ~ps.12.345.1732450000000000~"},
        {"say \"hi\"", "say \\\"hi\\\""},
        {"a\\b", "a\\\\b"},
        {"\b\f\n\r\t", "\\b\\f\\n\\r\\t"},
        {"\x01\x1f", "\\u0001\\u001f"},
        {"caf\xc3\xa9 /", "caf\xc3\xa9 /"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i].in);
        size_t n = refpush_json_escape(out, cases[i].in, len);
        assert_int_equal(n, refpush_json_escaped_len(cases[i].in, len));
        out[n] = 0;
        assert_string_equal(out, cases[i].out);
    }
}

static void test_jbuf(void **state)
{
    struct refpush_jbuf b;
    (void)state;
    refpush_jbuf_init(&b, 16);
    assert_string_equal(refpush_jbuf_data(&b), "");   /* valid memory before any append */
    refpush_jbuf_appendf(&b, "{\"delivered\":%d,", 3);
    refpush_jbuf_append(&b, "\"body\":", 7);
    refpush_jbuf_append_string(&b, "a \"q\"\n", 6);
    refpush_jbuf_append(&b, "}", 1);
    assert_string_equal(refpush_jbuf_data(&b), "{\"delivered\":3,\"body\":\"a \\\"q\\\"\\n\"}");
    assert_int_equal(b.len, strlen(refpush_jbuf_data(&b)));
    assert_ptr_equal(refpush_jbuf_data(&b), b.mem + 16);   /* room kept in front */
    /* longer than appendf's stack buffer, and past the first allocation */
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    refpush_jbuf_reset(&b);
    refpush_jbuf_appendf(&b, "[%s]", big);
    assert_int_equal(b.len, 1001);
    assert_int_equal(refpush_jbuf_data(&b)[0], '[');
    assert_int_equal(refpush_jbuf_data(&b)[1000], ']');
    assert_int_equal(refpush_jbuf_data(&b)[1001], 0);
    assert_false(b.failed);
    /* reset keeps the memory: the next response reuses it */
    char *mem = b.mem;
    size_t cap = b.cap;
    refpush_jbuf_reset(&b);
    assert_int_equal(b.len, 0);
    refpush_jbuf_append(&b, "ok", 2);
    assert_ptr_equal(b.mem, mem);
    assert_int_equal(b.cap, cap);
    assert_string_equal(refpush_jbuf_data(&b), "ok");
    refpush_jbuf_free(&b);
    assert_null(b.mem);
    assert_int_equal(b.pre, 16);
}

static void frame_id_text(struct refpush_msg *m, uint64_t uid, uint32_t id, char *out, size_t len)
{
    unsigned char *start;
    size_t n = refpush_msg_frame(m, uid, id, &start);
    assert_true(n < len);
    assert_true(start >= m->buf + LWS_PRE);   /* lws's header room is left free */
    memcpy(out, start, n);
    out[n] = 0;
}

static void frame_text(struct refpush_msg *m, uint64_t uid, char *out, size_t len)
{
    frame_id_text(m, uid, 0, out, len);
}

static void test_wrapped_frames(void **state)
{
    char f[512], body[256];
    (void)state;
    const char *text = "{\"id\":\"~ps.3.9.1700000000000000~\",\"t\":\"tab\there\"}";
    struct refpush_msg *m = refpush_msg_new_push(text, strlen(text), REFPUSH_WRAP_JSON);
    assert_non_null(m);
    assert_int_equal(m->refs, 1);
    assert_true(m->is_push);
    /* one message, each recipient its own uid, none disturbing another */
    frame_text(m, 5, f, sizeof f);
    assert_string_equal(f, "{\"type\":\"push\",\"uid\":5,\"data\":\"{\\\"id\\\":\\\"~ps.3.9.1700000000000000~"
                           "\\\",\\\"t\\\":\\\"tab\\there\\\"}\"}");
    frame_text(m, UINT64_MAX, f, sizeof f);
    assert_memory_equal(f, "{\"type\":\"push\",\"uid\":18446744073709551615,\"data\":\"", 50);
    frame_text(m, 0, f, sizeof f);
    const char *data = f + strlen("{\"type\":\"push\",\"uid\":0,\"data\":\"");
    size_t dlen = strlen(data) - 2;   /* without the closing "} */
    assert_string_equal(data + dlen, "\"}");
    assert_int_equal(json_unescape(data, dlen, body), (long)strlen(text));
    assert_memory_equal(body, text, strlen(text));
    refpush_msg_ref(m);
    refpush_msg_unref(m);
    assert_int_equal(m->refs, 1);
    refpush_msg_unref(m);

    /* raw: the body is the frame, for every recipient */
    m = refpush_msg_new_push("a\"b", 3, REFPUSH_WRAP_RAW);
    assert_non_null(m);
    frame_text(m, 77, f, sizeof f);
    assert_string_equal(f, "a\"b");
    refpush_msg_unref(m);
    m = refpush_msg_new_push("", 0, REFPUSH_WRAP_JSON);
    frame_text(m, 1, f, sizeof f);
    assert_string_equal(f, "{\"type\":\"push\",\"uid\":1,\"data\":\"\"}");
    refpush_msg_unref(m);
    /* --require-ack: the id goes into the per-recipient prefix, the longest
     * uid and id still fit the headroom */
    m = refpush_msg_new_push("b", 1, REFPUSH_WRAP_JSON);
    frame_id_text(m, 3, 12, f, sizeof f);
    assert_string_equal(f, "{\"type\":\"push\",\"uid\":3,\"id\":12,\"data\":\"b\"}");
    frame_id_text(m, UINT64_MAX, UINT32_MAX, f, sizeof f);
    assert_string_equal(f, "{\"type\":\"push\",\"uid\":18446744073709551615,\"id\":4294967295,"
                           "\"data\":\"b\"}");
    frame_text(m, 3, f, sizeof f);
    assert_string_equal(f, "{\"type\":\"push\",\"uid\":3,\"data\":\"b\"}");
    refpush_msg_unref(m);
    /* a template keeps its text NUL-terminated for the expansion */
    m = refpush_msg_new_template("{uid}", 5);
    assert_true(m->is_template);
    assert_false(m->is_push);
    assert_int_equal(m->len, 5);
    assert_string_equal((const char *)m->buf + REFPUSH_MSG_HEADROOM, "{uid}");
    refpush_msg_unref(m);
    /* the heartbeat reply is sent as given and is not a push */
    m = refpush_msg_new_text("pong", 4);
    assert_false(m->is_push);
    frame_text(m, 9, f, sizeof f);
    assert_string_equal(f, "pong");
    refpush_msg_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_every_byte),
        cmocka_unit_test(test_escape_forms),
        cmocka_unit_test(test_jbuf),
        cmocka_unit_test(test_wrapped_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

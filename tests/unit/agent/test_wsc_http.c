/* test_wsc_http.c: the opening handshake of the native client engine
 * (agent/wsc_http.c).
 *
 * What must hold: the request is exactly the bytes RFC 6455 4.1 asks for,
 * with what the target adds, and is refused rather than cut when it does not
 * fit; the key and accept values are the RFC's own example; the head's end
 * is found however the bytes arrived; and each response a server may give is
 * read to the one result that names what is wrong with it, with its status
 * code whenever the status line is HTTP/1.x. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wsc_http.h"

/* RFC 6455 1.3 and 4.2.2: the key of the nonce "the sample nonce" and its accept value. */
#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static void test_key_and_accept(void **state)
{
    (void)state;
    char key[AGENT_WSC_KEY_LEN + 1], acc[AGENT_WSC_ACCEPT_LEN + 1];
    memset(key, 'x', sizeof key);
    agent_wsc_http_key((const uint8_t *)"the sample nonce", key);
    assert_string_equal(key, RFC_KEY);
    agent_wsc_http_accept(RFC_KEY, acc);
    assert_string_equal(acc, RFC_ACCEPT);
    const uint8_t raw[16] = { 0xff, 0xfe, 0xfd, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x80 };
    agent_wsc_http_key(raw, key);
    assert_string_equal(key, "//79AAECAwQFBgcICQoLgA==");
    agent_wsc_http_accept(key, acc);
    assert_int_equal(strlen(acc), AGENT_WSC_ACCEPT_LEN);
    assert_string_not_equal(acc, RFC_ACCEPT);
}

static void test_request(void **state)
{
    (void)state;
    static const char full[] =
        "GET /chat?room=7 HTTP/1.1\r\n"
        "Host: server.example.com:8080\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Key: " RFC_KEY "\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Origin: http://example.com\r\n"
        "Sec-WebSocket-Protocol: chat, superchat\r\n"
        "Authorization: Bearer t0k\r\n"
        "X-Seq: 1\r\n"
        "\r\n";
    struct agent_wsc_req r = { "server.example.com:8080", "/chat?room=7", "example.com",
                               "chat, superchat", RFC_KEY,
                               "Authorization: Bearer t0k\r\nX-Seq: 1\r\n" };
    char out[512];
    memset(out, '#', sizeof out);
    int n = agent_wsc_http_request(out, sizeof out, &r);
    assert_int_equal(n, sizeof full - 1);
    assert_memory_equal(out, full, sizeof full - 1);
    assert_int_equal(out[n], '#');                       /* no NUL, nothing past it */
    assert_int_equal(agent_wsc_http_request(out, sizeof full - 1, &r), n);     /* exactly fits */
    memset(out, '#', sizeof out);
    assert_int_equal(agent_wsc_http_request(out, sizeof full - 2, &r), -1);    /* a byte short */
    assert_int_equal(out[sizeof full - 2], '#');
    assert_int_equal(agent_wsc_http_request(out, 0, &r), -1);

    static const char bare[] =
        "GET / HTTP/1.1\r\n"
        "Host: h\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Key: " RFC_KEY "\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "\r\n";
    struct agent_wsc_req b = { "h", "/", NULL, NULL, RFC_KEY, NULL };
    n = agent_wsc_http_request(out, sizeof out, &b);
    assert_int_equal(n, sizeof bare - 1);
    assert_memory_equal(out, bare, sizeof bare - 1);
    assert_int_equal(agent_wsc_http_request(out, sizeof bare - 2, &b), -1);

    /* what would end a line early (a template filled from CSV may hold anything) */
    static const struct agent_wsc_req bad[] = {
        { "h\r\nX-Injected: 1", "/", NULL, NULL, RFC_KEY, NULL },
        { "h", "/a b", NULL, NULL, RFC_KEY, NULL },
        { "h", "/a\n", NULL, NULL, RFC_KEY, NULL },
        { "h", "/", "o\r", NULL, RFC_KEY, NULL },
        { "h", "/", NULL, "chat\x01", RFC_KEY, NULL },
        { "h", "/", NULL, NULL, "dGhlIHNhbXBsZSBub25jZQ=\r", NULL },
        { NULL, "/", NULL, NULL, RFC_KEY, NULL },
        { "h", NULL, NULL, NULL, RFC_KEY, NULL },
        { "h", "/", NULL, NULL, NULL, NULL },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (agent_wsc_http_request(out, sizeof out, &bad[i]) != -1)
            fail_msg("bad request %zu was written", i);
    struct agent_wsc_req sp = { "h", "/", "a b.example", "chat,\tsuper", RFC_KEY, NULL };
    assert_true(agent_wsc_http_request(out, sizeof out, &sp) > 0);   /* spaces within a value */
}

/* ---- the response */

#define ST101 "HTTP/1.1 101 Switching Protocols\r\n"
#define UPG "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define ACC "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
#define OK_HEAD(extra) ST101 UPG ACC extra "\r\n"

static void test_head_end(void **state)
{
    (void)state;
    static const char head[] = OK_HEAD("");
    const size_t h = sizeof head - 1;
    char buf[sizeof head + 8];
    memcpy(buf, head, h);
    memcpy(buf + h, "\x81\x02hi\x89\x00", 6);       /* the first frames right behind it */
    for (size_t k = 0; k <= h + 6; k++) {          /* the head as it gathers, read by read */
        size_t got = agent_wsc_http_head_end(buf, k);
        if (got != (k < h ? 0 : h))
            fail_msg("head_end over %zu bytes: %zu (head %zu)", k, got, h);
    }
    assert_int_equal(agent_wsc_http_head_end("\r\n\r\n", 4), 4);
    assert_int_equal(agent_wsc_http_head_end("HTTP/1.1 101 x\n\n", 16), 0);
    assert_int_equal(agent_wsc_http_head_end("HTTP/1.1 101 x\r\n\r", 17), 0);
    assert_int_equal(agent_wsc_http_head_end("a\r\n\r\nb\r\n\r\n", 10), 5);   /* the first */
    assert_int_equal(agent_wsc_http_head_end("", 0), 0);
    int status;
    assert_int_equal(agent_wsc_http_check(buf, agent_wsc_http_head_end(buf, h + 6), RFC_KEY, NULL,
                                          &status), AGENT_WSC_HS_OK);
    assert_int_equal(status, 101);
}

struct hs_case {
    const char *what;
    const char *head;
    size_t len;
    const char *offered;
    enum agent_wsc_hs want;
    int status;
};
#define H(what, lit, offered, want, status) { what, lit, sizeof lit - 1, offered, want, status }

static const struct hs_case hs_cases[] = {
    H("the RFC's example", OK_HEAD(""), NULL, AGENT_WSC_HS_OK, 101),
    H("other headers, whitespace around values",
      ST101 "Server: nginx\r\nDate: Tue, 01 Dec 2026 21:00:00 GMT\r\nUpgrade:websocket \r\n"
      "Connection: \t Upgrade\r\nSec-WebSocket-Accept:  " RFC_ACCEPT "\t\r\n\r\n",
      NULL, AGENT_WSC_HS_OK, 101),
    H("header names and token values in mixed case",
      ST101 "uPGRADE: WebSocket\r\nCONNECTION: UPGRADE\r\nsec-websocket-accept: " RFC_ACCEPT "\r\n"
      "\r\n", NULL, AGENT_WSC_HS_OK, 101),
    H("Connection: keep-alive, Upgrade",
      ST101 "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" ACC "\r\n", NULL,
      AGENT_WSC_HS_OK, 101),
    H("Upgrade and Connection split over lines",
      ST101 "Upgrade: h2c\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
      "Connection: upgrade\r\n" ACC "\r\n", NULL, AGENT_WSC_HS_OK, 101),
    H("no reason phrase; HTTP/1.0", "HTTP/1.0 101\r\n" UPG ACC "\r\n", NULL, AGENT_WSC_HS_OK, 101),

    H("200", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", NULL, AGENT_WSC_HS_STATUS, 200),
    H("400", "HTTP/1.1 400 Bad Request\r\n\r\n", NULL, AGENT_WSC_HS_STATUS, 400),
    H("401, whatever its headers", "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate Bearer\r\n\r\n",
      NULL, AGENT_WSC_HS_STATUS, 401),
    H("503", "HTTP/1.0 503 Service Unavailable\r\nRetry-After: 5\r\n\r\n", NULL,
      AGENT_WSC_HS_STATUS, 503),
    H("a 200 with the handshake's headers", "HTTP/1.1 200 OK\r\n" UPG ACC "\r\n", NULL,
      AGENT_WSC_HS_STATUS, 200),

    H("no Upgrade", ST101 "Connection: Upgrade\r\n" ACC "\r\n", NULL, AGENT_WSC_HS_UPGRADE, 101),
    H("Upgrade to something else", ST101 "Upgrade: h2c\r\nConnection: Upgrade\r\n" ACC "\r\n", NULL,
      AGENT_WSC_HS_UPGRADE, 101),
    H("Upgrade: websockets (a token, not a prefix)",
      ST101 "Upgrade: websockets\r\nConnection: Upgrade\r\n" ACC "\r\n", NULL,
      AGENT_WSC_HS_UPGRADE, 101),
    H("no Connection", ST101 "Upgrade: websocket\r\n" ACC "\r\n", NULL, AGENT_WSC_HS_UPGRADE, 101),
    H("Connection: keep-alive only",
      ST101 "Upgrade: websocket\r\nConnection: keep-alive\r\n" ACC "\r\n", NULL,
      AGENT_WSC_HS_UPGRADE, 101),

    H("no accept", ST101 UPG "\r\n", NULL, AGENT_WSC_HS_ACCEPT, 101),
    H("wrong accept", ST101 UPG "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOp=\r\n\r\n", NULL,
      AGENT_WSC_HS_ACCEPT, 101),
    H("accept with a byte more", ST101 UPG "Sec-WebSocket-Accept: " RFC_ACCEPT "=\r\n\r\n", NULL,
      AGENT_WSC_HS_ACCEPT, 101),
    H("the key echoed", ST101 UPG "Sec-WebSocket-Accept: " RFC_KEY "\r\n\r\n", NULL,
      AGENT_WSC_HS_ACCEPT, 101),
    H("two accepts", ST101 UPG ACC ACC "\r\n", NULL, AGENT_WSC_HS_ACCEPT, 101),

    H("offered \"a, b\", answered \"b\"", OK_HEAD("Sec-WebSocket-Protocol: b\r\n"), "a, b",
      AGENT_WSC_HS_OK, 101),
    H("offered \"a,b\", answered \"a\"", OK_HEAD("Sec-WebSocket-Protocol:  a \r\n"), "a,b",
      AGENT_WSC_HS_OK, 101),
    H("offered \"a, b\", none answered", OK_HEAD(""), "a, b", AGENT_WSC_HS_OK, 101),
    H("offered \"a, b\", answered \"c\"", OK_HEAD("Sec-WebSocket-Protocol: c\r\n"), "a, b",
      AGENT_WSC_HS_PROTOCOL, 101),
    H("answered with none offered", OK_HEAD("Sec-WebSocket-Protocol: b\r\n"), NULL,
      AGENT_WSC_HS_PROTOCOL, 101),
    H("answered with the whole list", OK_HEAD("Sec-WebSocket-Protocol: a, b\r\n"), "a, b",
      AGENT_WSC_HS_PROTOCOL, 101),
    H("answered in another case", OK_HEAD("Sec-WebSocket-Protocol: B\r\n"), "a, b",
      AGENT_WSC_HS_PROTOCOL, 101),
    H("answered a prefix", OK_HEAD("Sec-WebSocket-Protocol: ch\r\n"), "chat",
      AGENT_WSC_HS_PROTOCOL, 101),
    H("answered empty", OK_HEAD("Sec-WebSocket-Protocol: \r\n"), "a, b",
      AGENT_WSC_HS_PROTOCOL, 101),
    H("answered twice", OK_HEAD("Sec-WebSocket-Protocol: a\r\nsec-websocket-protocol: a\r\n"),
      "a, b", AGENT_WSC_HS_PROTOCOL, 101),

    H("an extension", OK_HEAD("Sec-WebSocket-Extensions: permessage-deflate\r\n"), NULL,
      AGENT_WSC_HS_EXTENSION, 101),
    H("an extension, empty", OK_HEAD("sec-websocket-extensions:\r\n"), NULL,
      AGENT_WSC_HS_EXTENSION, 101),

    H("not HTTP", "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\r\n", NULL, AGENT_WSC_HS_NOT_HTTP, 0),
    H("HTTP/2", "HTTP/2 101 Switching Protocols\r\n\r\n", NULL, AGENT_WSC_HS_NOT_HTTP, 0),
    H("HTTP/1.x without a minor digit", "HTTP/1. 101 x\r\n\r\n", NULL, AGENT_WSC_HS_NOT_HTTP, 0),
    H("a status of letters", "HTTP/1.1 1O1 Switching Protocols\r\n\r\n", NULL,
      AGENT_WSC_HS_NOT_HTTP, 0),
    H("status 000", "HTTP/1.1 000 x\r\n\r\n", NULL, AGENT_WSC_HS_NOT_HTTP, 0),
    H("status 600", "HTTP/1.1 600 x\r\n\r\n", NULL, AGENT_WSC_HS_NOT_HTTP, 0),
    H("a 4-digit status", "HTTP/1.1 1010 x\r\n\r\n", NULL, AGENT_WSC_HS_NOT_HTTP, 101),
    H("a lowercase http", "http/1.1 101 Switching Protocols\r\n\r\n", NULL,
      AGENT_WSC_HS_NOT_HTTP, 0),
    H("empty", "", NULL, AGENT_WSC_HS_NOT_HTTP, 0),
    H("a status line without CRLF", "HTTP/1.1 101 Switching Protocols", NULL,
      AGENT_WSC_HS_NOT_HTTP, 101),
    H("a header without a colon", ST101 "Upgrade websocket\r\n\r\n", NULL,
      AGENT_WSC_HS_NOT_HTTP, 101),
    H("whitespace before the colon", OK_HEAD("X-A : b\r\n"), NULL, AGENT_WSC_HS_NOT_HTTP, 101),
    H("an empty name", OK_HEAD(": b\r\n"), NULL, AGENT_WSC_HS_NOT_HTTP, 101),
    H("a folded line", OK_HEAD("X-A: b\r\n c\r\n"), NULL, AGENT_WSC_HS_NOT_HTTP, 101),
    H("bare LF line ends", "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\r\n\r\n", NULL,
      AGENT_WSC_HS_NOT_HTTP, 101),
    H("a bare CR in a value", OK_HEAD("X-A: b\rc\r\n"), NULL, AGENT_WSC_HS_NOT_HTTP, 101),
    H("a NUL in a value", OK_HEAD("X-A: b\0c\r\n"), NULL, AGENT_WSC_HS_NOT_HTTP, 101),
    H("a control byte in the reason", "HTTP/1.1 101 Switch\x01ing\r\n\r\n", NULL,
      AGENT_WSC_HS_NOT_HTTP, 101),
    H("bytes after the blank line", OK_HEAD("") "\x81\x00", NULL, AGENT_WSC_HS_NOT_HTTP, 101),
    H("no blank line", ST101 "Upgrade: websocket\r\n", NULL, AGENT_WSC_HS_NOT_HTTP, 101),
};

static void test_check(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof hs_cases / sizeof hs_cases[0]; i++) {
        const struct hs_case *c = &hs_cases[i];
        int status = -1;
        enum agent_wsc_hs got = agent_wsc_http_check(c->head, c->len, RFC_KEY, c->offered, &status);
        if (got != c->want || status != c->status)
            fail_msg("%s: %d (%s) status %d, want %d (%s) status %d", c->what, got,
                     agent_wsc_hs_name(got), status, c->want, agent_wsc_hs_name(c->want),
                     c->status);
    }
    int status;
    assert_int_equal(agent_wsc_http_check(OK_HEAD(""), sizeof OK_HEAD("") - 1,
                                          "x3JJHMbDL1EzLkh9GBhXDw==", NULL, &status),
                     AGENT_WSC_HS_ACCEPT);          /* the accept of another key */
    assert_string_equal(agent_wsc_hs_name(AGENT_WSC_HS_EXTENSION),
                        "Sec-WebSocket-Extensions answered (none offered)");
    assert_string_equal(agent_wsc_hs_name(7), "unknown");
    assert_string_equal(agent_wsc_hs_name(-1), "unknown");
}

/* A head of exactly AGENT_WSC_HEAD_LIMIT bytes is read; one byte more is refused. */
static void test_check_limit(void **state)
{
    (void)state;
    static const char top[] = OK_HEAD("X-Pad: ");
    const size_t tl = sizeof top - 1 - 2;           /* without the blank line's CRLF */
    char *b = malloc(AGENT_WSC_HEAD_LIMIT + 2);
    for (size_t len = AGENT_WSC_HEAD_LIMIT - 1; len <= AGENT_WSC_HEAD_LIMIT + 1; len++) {
        memcpy(b, top, tl);
        memset(b + tl, 'p', len - tl - 4);
        memcpy(b + len - 4, "\r\n\r\n", 4);
        assert_int_equal(agent_wsc_http_head_end(b, len), len);
        int status = 0;
        enum agent_wsc_hs want =
            len <= AGENT_WSC_HEAD_LIMIT ? AGENT_WSC_HS_OK : AGENT_WSC_HS_NOT_HTTP;
        assert_int_equal(agent_wsc_http_check(b, len, RFC_KEY, NULL, &status), want);
        assert_int_equal(status, 101);
    }
    memcpy(b, "HTTP/1.1 503 Busy\r\nX-Pad: ", 26);   /* a long 503 is refused as too long */
    memset(b + 26, 'p', AGENT_WSC_HEAD_LIMIT - 26);
    memcpy(b + AGENT_WSC_HEAD_LIMIT - 3, "\r\n\r\n", 4);
    int status = 0;
    assert_int_equal(agent_wsc_http_check(b, AGENT_WSC_HEAD_LIMIT + 1, RFC_KEY, NULL, &status),
                     AGENT_WSC_HS_NOT_HTTP);
    assert_int_equal(status, 503);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_and_accept),
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_head_end),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_check_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

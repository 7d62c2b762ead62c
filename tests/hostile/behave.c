/* behave.c: the misbehaviours. The request path of the upgrade GET chooses
 * one (the query string is ignored):
 *
 *   /ok             correct upgrade, one text frame "~ps.1.1.1~", then a correct
 *                   minimal server: pings answered, Close echoed (control group)
 *   /reject401      HTTP 401 with a small body instead of 101
 *   /reject503      HTTP 503 likewise
 *   /badaccept      101 with a wrong Sec-WebSocket-Accept
 *   /oversize       binary frame header announcing 1 GiB, 4 KB of it, silence
 *   /badutf8        text frame containing 0xC3 0x28
 *   /masked         a server frame with the MASK bit set
 *   /rstmidframe    half a frame, then a TCP reset (SO_LINGER {1, 0})
 *   /nohandshake    the request is read and never answered
 *   /closenostatus  Close frame with no payload; socket closed on the client's Close
 *   /close1011      Close 1011 with a reason; socket closed on the client's Close
 *   /badopcode      a frame with the reserved opcode 0x3
 *   /garbage        bytes that are not HTTP instead of the response, then a
 *                   half-close (a port that speaks another protocol)
 *   /close1005      Close with the code 1005, which no endpoint may send
 *   /close999       Close with the code 999, below the defined range
 *   /welcome        a session's server: a noise frame {"type":"noise"}, then the
 *                   welcome {"type":"welcome","session":{"id":"s-SERIAL"}};
 *                   every text frame the client sends is answered "ack:" + it
 *                   (logged with --verbose as "echo ack:..."), every binary frame
 *                   with the push token "~ps.1.1.1~"
 *
 * and, for session scripts, servers that send garbage where a welcome belongs
 * (each then behaves like /welcome, so a script that ignores the garbage gets
 * through and one that refuses it fails on it):
 *
 *   /silent         the upgrade, then nothing: the welcome never comes (pings
 *                   and Close still answered)
 *   /junk           a binary frame of 64 pseudo-random bytes, then the welcome
 *   /huge           one whole 64 KiB text frame of 'x' (valid, far past what a
 *                   session matches), then the welcome
 *   /deepjson       a text frame of 3000 '[' (nesting past any sane JSON
 *                   parser's limit), then the welcome
 *   /welcomeclose   the welcome; the client's first text frame (its login) is
 *                   answered with Close 1001 instead of an ack
 *
 * The misbehaviour is sent 50 ms after the 101, in its own write, so it never
 * depends on how the client treats bytes that arrive with the response headers.
 * Except for /oversize (stuck inside its 1 GiB frame), connections that are
 * still open afterwards keep answering pings and Close, so only the one named
 * fault is under test. */
#include "hostile.h"

#include <stdio.h>
#include <string.h>

static const char *const hostile_paths[] = {
    [HOSTILE_OK] = "/ok", [HOSTILE_REJECT401] = "/reject401", [HOSTILE_REJECT503] = "/reject503",
    [HOSTILE_BADACCEPT] = "/badaccept", [HOSTILE_OVERSIZE] = "/oversize",
    [HOSTILE_BADUTF8] = "/badutf8", [HOSTILE_MASKED] = "/masked",
    [HOSTILE_RSTMIDFRAME] = "/rstmidframe", [HOSTILE_NOHANDSHAKE] = "/nohandshake",
    [HOSTILE_CLOSENOSTATUS] = "/closenostatus", [HOSTILE_CLOSE1011] = "/close1011",
    [HOSTILE_BADOPCODE] = "/badopcode", [HOSTILE_WELCOME] = "/welcome",
    [HOSTILE_SILENT] = "/silent", [HOSTILE_JUNK] = "/junk", [HOSTILE_HUGE] = "/huge",
    [HOSTILE_DEEPJSON] = "/deepjson", [HOSTILE_WELCOMECLOSE] = "/welcomeclose",
    [HOSTILE_GARBAGE] = "/garbage", [HOSTILE_CLOSE1005] = "/close1005",
    [HOSTILE_CLOSE999] = "/close999",
    [HOSTILE_UNKNOWN] = "(unknown)",
};

const char *hostile_kind_path(enum hostile_kind k)
{
    return hostile_paths[k];
}

/* Behaviours that answer like /welcome once their garbage is out. */
static int hostile_is_session(enum hostile_kind k)
{
    return k == HOSTILE_WELCOME || k == HOSTILE_JUNK || k == HOSTILE_HUGE ||
           k == HOSTILE_DEEPJSON || k == HOSTILE_WELCOMECLOSE;
}

static void hostile_send_welcome(struct hostile_conn *c)
{
    char text[96];
    int n = snprintf(text, sizeof text, "{\"type\":\"welcome\",\"session\":{\"id\":\"s-%u\"}}",
                     c->serial);
    hostile_send_frame(c, 0x81, text, (size_t)n);
}

/* The /huge frame's last payload byte is queued: the welcome follows it. */
void hostile_fill_done(struct hostile_conn *c)
{
    if (c->kind == HOSTILE_HUGE && !c->sent_close)
        hostile_send_welcome(c);
}

void hostile_request(struct hostile_server *s, struct hostile_conn *c, int64_t now)
{
    const char *req = (const char *)c->in;
    c->kind = HOSTILE_UNKNOWN;
    if (strncmp(req, "GET ", 4) != 0) {
        hostile_log(s, c, "not a GET: 405");
        hostile_http_response(c, "405 Method Not Allowed", "hostile: only GET upgrades\n");
        return;
    }
    const char *path = req + 4;
    size_t plen = strcspn(path, "? \r");
    for (int k = 0; k < HOSTILE_UNKNOWN; k++)
        if (strlen(hostile_paths[k]) == plen && memcmp(path, hostile_paths[k], plen) == 0)
            c->kind = (enum hostile_kind)k;
    hostile_log(s, c, "request");

    switch (c->kind) {
    case HOSTILE_UNKNOWN:
        hostile_http_response(c, "404 Not Found", "hostile: unknown behaviour path\n");
        return;
    case HOSTILE_REJECT401:
        hostile_http_response(c, "401 Unauthorized", "hostile: go away (401)\n");
        return;
    case HOSTILE_REJECT503:
        hostile_http_response(c, "503 Service Unavailable", "hostile: try later (503)\n");
        return;
    case HOSTILE_NOHANDSHAKE:
        c->state = HOSTILE_ST_DRAIN;
        return;
    case HOSTILE_GARBAGE: {
        static const char junk[] = "SSH-2.0-hostile\r\n\x00\xff\xfe\x01 not http \x7f\r\n\r\n";
        hostile_queue(c, junk, sizeof junk - 1);
        c->shut_after_flush = 1;
        c->state = HOSTILE_ST_DRAIN;
        return;
    }
    default:
        break;
    }

    size_t klen = 0, plen2 = 0;
    const char *key = hostile_header(req, "Sec-WebSocket-Key", &klen);
    if (!key || klen == 0 || klen > 64) {
        hostile_http_response(c, "400 Bad Request", "hostile: missing Sec-WebSocket-Key\n");
        return;
    }
    char accept[29];
    if (c->kind == HOSTILE_BADACCEPT) {
        /* A well-formed accept value, for the wrong key. */
        char wrong[72];
        memcpy(wrong, key, klen);
        wrong[klen] = 'x';
        hostile_accept_key(wrong, klen + 1, accept);
    } else {
        hostile_accept_key(key, klen, accept);
    }
    /* Echo the first offered subprotocol: some clients refuse a 101 without one. */
    char proto_hdr[300] = "";
    const char *proto = hostile_header(req, "Sec-WebSocket-Protocol", &plen2);
    if (proto && plen2) {
        size_t first = strcspn(proto, ", \r");
        if (first > 256)
            first = 256;
        snprintf(proto_hdr, sizeof proto_hdr, "Sec-WebSocket-Protocol: %.*s\r\n", (int)first,
                 proto);
    }
    char buf[512];
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
                     accept, proto_hdr);
    hostile_queue(c, buf, (size_t)n);
    if (c->kind == HOSTILE_BADACCEPT) {
        c->state = HOSTILE_ST_DRAIN;
        return;
    }
    c->state = HOSTILE_ST_UPGRADED;
    c->act_at = now + HOSTILE_ACT_DELAY_US;
}

int hostile_act(struct hostile_server *s, struct hostile_conn *c, int64_t now)
{
    static const char token[] = "~ps.1.1.1~";
    static const uint8_t bad_utf8[] = {'b', 'a', 'd', ' ', 0xC3, 0x28, ' ', 'u', 't', 'f', '8'};
    uint8_t frame[64];
    size_t h;
    c->act_at = 0;
    if (c->state == HOSTILE_ST_RST) {
        c->rst = 1;
        return -1;
    }
    c->state = HOSTILE_ST_OPEN;
    if (c->sent_close)  /* the client closed first: no frame may follow our Close */
        return 0;
    switch (c->kind) {
    case HOSTILE_OK:
        hostile_send_frame(c, 0x81, token, sizeof token - 1);
        break;
    case HOSTILE_BADUTF8:
        hostile_send_frame(c, 0x81, bad_utf8, sizeof bad_utf8);
        break;
    case HOSTILE_MASKED: {
        static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
        static const char text[] = "masked by the server";
        h = hostile_frame_header(frame, 0x81, sizeof text - 1, 1);
        memcpy(frame + h, key, 4);
        h += 4;
        for (size_t i = 0; i < sizeof text - 1; i++)
            frame[h++] = (uint8_t)text[i] ^ key[i % 4];
        hostile_queue(c, frame, h);
        break;
    }
    case HOSTILE_BADOPCODE:
        hostile_send_frame(c, 0x83, "reserved", 8);
        break;
    case HOSTILE_WELCOME:
        hostile_send_frame(c, 0x81, "{\"type\":\"noise\"}", 16);
        hostile_send_welcome(c);
        break;
    case HOSTILE_WELCOMECLOSE:
        hostile_send_welcome(c);
        break;
    case HOSTILE_JUNK: {
        uint8_t junk[64];
        uint32_t x = c->serial * 2654435761u | 1;   /* xorshift32: not all zero */
        for (size_t i = 0; i < sizeof junk; i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            junk[i] = (uint8_t)x;
        }
        hostile_send_frame(c, 0x82, junk, sizeof junk);
        hostile_send_welcome(c);
        break;
    }
    case HOSTILE_HUGE:
        h = hostile_frame_header(frame, 0x81, HOSTILE_HUGE_LEN, 0);
        hostile_queue(c, frame, h);
        c->fill = HOSTILE_HUGE_LEN;   /* streamed by hostile_flush, then the welcome */
        break;
    case HOSTILE_DEEPJSON: {
        static uint8_t deep[HOSTILE_DEEP_LEVELS];
        memset(deep, '[', sizeof deep);
        h = hostile_frame_header(frame, 0x81, sizeof deep, 0);
        hostile_queue(c, frame, h);
        hostile_queue(c, deep, sizeof deep);
        hostile_send_welcome(c);
        break;
    }
    case HOSTILE_OVERSIZE: {
        static const uint8_t filler[HOSTILE_OVERSIZE_SENT];  /* zeros: valid in any frame */
        h = hostile_frame_header(frame, 0x82, HOSTILE_OVERSIZE_LEN, 0);
        hostile_queue(c, frame, h);
        hostile_queue(c, filler, sizeof filler);
        c->state = HOSTILE_ST_DRAIN;  /* inside a 1 GiB frame: cannot even pong */
        break;
    }
    case HOSTILE_RSTMIDFRAME: {
        static const char half[] = "half of a frame.";
        h = hostile_frame_header(frame, 0x81, 100, 0);
        memcpy(frame + h, half, sizeof half - 1);
        hostile_queue(c, frame, h + sizeof half - 1);
        c->state = HOSTILE_ST_RST;
        c->act_at = now + HOSTILE_RST_DELAY_US;
        break;
    }
    case HOSTILE_CLOSENOSTATUS:
        hostile_send_frame(c, 0x88, "", 0);
        c->sent_close = 1;
        break;
    case HOSTILE_CLOSE1011: {
        static const char close[] = "\x03\xF3" "hostile: internal error";
        hostile_send_frame(c, 0x88, close, sizeof close - 1);
        c->sent_close = 1;
        break;
    }
    case HOSTILE_CLOSE1005:
    case HOSTILE_CLOSE999: {
        uint16_t code = c->kind == HOSTILE_CLOSE1005 ? 1005 : 999;
        uint8_t close[2] = {(uint8_t)(code >> 8), (uint8_t)code};
        hostile_send_frame(c, 0x88, close, sizeof close);
        c->sent_close = 1;
        break;
    }
    default:
        break;
    }
    hostile_log(s, c, "misbehaved");
    return 0;
}

/* A whole data frame from the client, unmasked, while no Close of ours is out. */
void hostile_on_data(struct hostile_server *s, struct hostile_conn *c, uint8_t op,
                     const uint8_t *payload, size_t len)
{
    if (!hostile_is_session(c->kind))
        return;
    if (op == 0x2) {
        hostile_send_frame(c, 0x81, "~ps.1.1.1~", 10);
        return;
    }
    if (c->kind == HOSTILE_WELCOMECLOSE) {
        static const char close[] = "\x03\xE9" "hostile: going away mid-session";
        hostile_send_frame(c, 0x88, close, sizeof close - 1);
        c->sent_close = 1;
        hostile_log(s, c, "login answered with Close 1001");
        return;
    }
    uint8_t reply[4 + HOSTILE_IN_MAX];
    char what[128];
    memcpy(reply, "ack:", 4);
    memcpy(reply + 4, payload, len);
    hostile_send_frame(c, 0x81, reply, len + 4);
    snprintf(what, sizeof what, "echo %.*s", (int)(len + 4 < 100 ? len + 4 : 100), reply);
    hostile_log(s, c, what);
}

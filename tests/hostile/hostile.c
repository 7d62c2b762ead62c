/* hostile: a deliberately misbehaving WebSocket server for the agent's tests.
 *
 * The agent must classify every way a server can go wrong (enum ps_reason).
 * A real server library would refuse to break the protocol, so this one writes
 * the HTTP upgrade and the frame bytes by hand. The request path of the upgrade
 * GET chooses the misbehaviour (the query string is ignored):
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
 * The misbehaviour is sent 50 ms after the 101, in its own write, so it never
 * depends on how the client treats bytes that arrive with the response headers.
 * Except for /oversize (stuck inside its 1 GiB frame), connections that are
 * still open afterwards keep answering pings and Close, so only the one named
 * fault is under test.
 *
 * One thread, non-blocking sockets and poll(); a signalfd brings SIGTERM and
 * SIGINT into the same loop. Each connection is one heap slot with fixed in/out
 * buffers, freed when the client closes, on any socket error, or 30 s after
 * accept, whichever comes first: nothing outlives its socket. The server only
 * ever answers; it never initiates a connection.
 *
 * Sec-WebSocket-Accept needs SHA-1 and base64; both are implemented here (a
 * test tool should not pull in a crypto library for 20 bytes of hash). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HOSTILE_IN_MAX        4096
#define HOSTILE_OUT_MAX       8192
#define HOSTILE_DEFAULT_CONNS 4096
#define HOSTILE_LIFETIME_US   30000000LL  /* no socket is held longer than this */
#define HOSTILE_ACT_DELAY_US  50000LL     /* 101 first, misbehaviour in a later write */
#define HOSTILE_RST_DELAY_US  200000LL    /* let the half frame reach the peer before the RST */
#define HOSTILE_OVERSIZE_LEN  (1ULL << 30)
#define HOSTILE_OVERSIZE_SENT 4096
#define HOSTILE_WS_GUID       "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ---------------------------------------------------------------- SHA-1 --- */

struct hostile_sha1 {
    uint32_t h[5];
    uint64_t total;              /* bytes hashed so far */
    uint8_t  block[64];
    size_t   used;               /* bytes waiting in block */
};

static uint32_t hostile_rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void hostile_sha1_block(struct hostile_sha1 *s, const uint8_t *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = hostile_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20)      { f = (b & c) | (~b & d);          k = 0x5A827999; }
        else if (i < 40) { f = b ^ c ^ d;                   k = 0x6ED9EBA1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
        else             { f = b ^ c ^ d;                   k = 0xCA62C1D6; }
        uint32_t t = hostile_rol(a, 5) + f + e + k + w[i];
        e = d; d = c; c = hostile_rol(b, 30); b = a; a = t;
    }
    s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e;
}

static void hostile_sha1_init(struct hostile_sha1 *s)
{
    static const uint32_t iv[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    memcpy(s->h, iv, sizeof iv);
    s->total = 0;
    s->used = 0;
}

static void hostile_sha1_update(struct hostile_sha1 *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->total += len;
    while (len) {
        size_t n = 64 - s->used < len ? 64 - s->used : len;
        memcpy(s->block + s->used, p, n);
        s->used += n; p += n; len -= n;
        if (s->used == 64) {
            hostile_sha1_block(s, s->block);
            s->used = 0;
        }
    }
}

static void hostile_sha1_final(struct hostile_sha1 *s, uint8_t out[20])
{
    uint64_t bits = s->total * 8;
    uint8_t pad = 0x80, zero = 0, len[8];
    hostile_sha1_update(s, &pad, 1);
    while (s->used != 56)
        hostile_sha1_update(s, &zero, 1);
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(bits >> (56 - 8 * i));
    hostile_sha1_update(s, len, 8);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (uint8_t)(s->h[i] >> (24 - 8 * j));
}

static void hostile_base64(const uint8_t *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = tab[v >> 18]; *out++ = tab[(v >> 12) & 63];
        *out++ = tab[(v >> 6) & 63]; *out++ = tab[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        *out++ = tab[v >> 18]; *out++ = tab[(v >> 12) & 63];
        *out++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    *out = '\0';
}

/* out: 29 bytes (28 base64 characters + NUL). */
static void hostile_accept_key(const char *key, size_t keylen, char *out)
{
    struct hostile_sha1 s;
    uint8_t digest[20];
    hostile_sha1_init(&s);
    hostile_sha1_update(&s, key, keylen);
    hostile_sha1_update(&s, HOSTILE_WS_GUID, sizeof HOSTILE_WS_GUID - 1);
    hostile_sha1_final(&s, digest);
    hostile_base64(digest, sizeof digest, out);
}

/* ---------------------------------------------------------- connections --- */

enum hostile_kind {
    HOSTILE_OK, HOSTILE_REJECT401, HOSTILE_REJECT503, HOSTILE_BADACCEPT, HOSTILE_OVERSIZE,
    HOSTILE_BADUTF8, HOSTILE_MASKED, HOSTILE_RSTMIDFRAME, HOSTILE_NOHANDSHAKE,
    HOSTILE_CLOSENOSTATUS, HOSTILE_CLOSE1011, HOSTILE_BADOPCODE, HOSTILE_WELCOME,
    HOSTILE_GARBAGE, HOSTILE_CLOSE1005, HOSTILE_CLOSE999, HOSTILE_UNKNOWN
};

static const char *const hostile_paths[] = {
    [HOSTILE_OK] = "/ok", [HOSTILE_REJECT401] = "/reject401", [HOSTILE_REJECT503] = "/reject503",
    [HOSTILE_BADACCEPT] = "/badaccept", [HOSTILE_OVERSIZE] = "/oversize",
    [HOSTILE_BADUTF8] = "/badutf8", [HOSTILE_MASKED] = "/masked",
    [HOSTILE_RSTMIDFRAME] = "/rstmidframe", [HOSTILE_NOHANDSHAKE] = "/nohandshake",
    [HOSTILE_CLOSENOSTATUS] = "/closenostatus", [HOSTILE_CLOSE1011] = "/close1011",
    [HOSTILE_BADOPCODE] = "/badopcode", [HOSTILE_WELCOME] = "/welcome",
    [HOSTILE_GARBAGE] = "/garbage", [HOSTILE_CLOSE1005] = "/close1005",
    [HOSTILE_CLOSE999] = "/close999",
    [HOSTILE_UNKNOWN] = "(unknown)",
};

enum hostile_state {
    HOSTILE_ST_REQUEST,   /* reading the upgrade request */
    HOSTILE_ST_DRAIN,     /* nothing more to say: discard input until EOF or lifetime */
    HOSTILE_ST_UPGRADED,  /* 101 sent; the misbehaviour fires at act_at */
    HOSTILE_ST_OPEN,      /* acting as a minimal server: pings, Close */
    HOSTILE_ST_RST,       /* half a frame sent: reset the connection at act_at */
};

struct hostile_conn {
    int      fd;
    uint32_t serial;             /* for --verbose lines */
    enum hostile_kind  kind;
    enum hostile_state state;
    int64_t  accepted_at;        /* monotonic us */
    int64_t  act_at;             /* 0 = no timed action */
    int      sent_close;         /* our Close is queued: send no more frames */
    int      shut_after_flush;   /* half-close once the out buffer is empty */
    int      rst;                /* close with SO_LINGER {1,0} */
    uint64_t skip;               /* payload bytes of an oversized client frame to discard */
    size_t   in_len, out_off, out_len;
    uint8_t  in[HOSTILE_IN_MAX];
    uint8_t  out[HOSTILE_OUT_MAX];
};

struct hostile_server {
    int      listen_fd;
    int      signal_fd;
    int      verbose;
    uint32_t max_conns;
    uint32_t n_conns;
    uint32_t next_serial;
    struct hostile_conn **conns; /* max_conns slots; NULL = free */
    struct pollfd *pfds;         /* listener, signalfd, then one per live connection */
    uint32_t *pfd_slot;          /* pfds[i + 2] belongs to conns[pfd_slot[i]] */
};

static int64_t hostile_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void hostile_log(const struct hostile_server *s, const struct hostile_conn *c,
                        const char *what)
{
    if (s->verbose)
        fprintf(stderr, "hostile: conn %u %s: %s\n", c->serial, hostile_paths[c->kind], what);
}

static void hostile_conn_close(struct hostile_server *s, uint32_t slot, const char *why)
{
    struct hostile_conn *c = s->conns[slot];
    if (c->rst) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    hostile_log(s, c, why);
    close(c->fd);
    free(c);
    s->conns[slot] = NULL;
    s->n_conns--;
}

/* Returns -1 when the connection is dead (the caller closes it). */
static int hostile_flush(struct hostile_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    if (c->shut_after_flush) {
        shutdown(c->fd, SHUT_WR);
        c->shut_after_flush = 0;
    }
    return 0;
}

/* Appends bytes to the out buffer; a client that does not read loses what does
 * not fit (pongs, mostly), which is acceptable for a test server. */
static int hostile_queue(struct hostile_conn *c, const void *data, size_t len)
{
    if (c->out_off) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (len > sizeof c->out - c->out_len)
        return -1;
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    return 0;
}

/* A frame header: FIN + opcode, then the length in the shortest form unless
 * `announce` is larger than the bytes that follow (the oversize and half frames). */
static size_t hostile_frame_header(uint8_t *h, uint8_t fin_op, uint64_t announce, int masked)
{
    size_t n = 0;
    uint8_t mask_bit = masked ? 0x80 : 0;
    h[n++] = fin_op;
    if (announce < 126) {
        h[n++] = mask_bit | (uint8_t)announce;
    } else if (announce <= 0xFFFF) {
        h[n++] = mask_bit | 126;
        h[n++] = (uint8_t)(announce >> 8);
        h[n++] = (uint8_t)announce;
    } else {
        h[n++] = mask_bit | 127;
        for (int i = 7; i >= 0; i--)
            h[n++] = (uint8_t)(announce >> (8 * i));
    }
    return n;
}

static int hostile_send_frame(struct hostile_conn *c, uint8_t fin_op, const void *payload,
                              size_t len)
{
    uint8_t frame[14 + 125];
    if (len > 125)
        return -1;
    size_t h = hostile_frame_header(frame, fin_op, len, 0);
    memcpy(frame + h, payload, len);
    return hostile_queue(c, frame, h + len);
}

static void hostile_http_response(struct hostile_conn *c, const char *status, const char *body)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     status, strlen(body), body);
    hostile_queue(c, buf, (size_t)n);
    /* Half-close after the response, then wait for the client's EOF: closing with
     * unread input would turn our FIN into a RST and muddle the client's view. */
    c->shut_after_flush = 1;
    c->state = HOSTILE_ST_DRAIN;
}

/* Finds header `name` in the request; returns its trimmed value and length. */
static const char *hostile_header(const char *req, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *line = strstr(req, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *e = v;
            while (*e && *e != '\r')
                e++;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            *len = (size_t)(e - v);
            return v;
        }
    }
    return NULL;
}

/* The whole request is in c->in (NUL-terminated at the blank line). */
static void hostile_request(struct hostile_server *s, struct hostile_conn *c, int64_t now)
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

/* The timed misbehaviour after the 101. Returns -1 to close the connection. */
static int hostile_act(struct hostile_server *s, struct hostile_conn *c, int64_t now)
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
    case HOSTILE_WELCOME: {
        char text[96];
        int n = snprintf(text, sizeof text, "{\"type\":\"welcome\",\"session\":{\"id\":\"s-%u\"}}",
                         c->serial);
        hostile_send_frame(c, 0x81, "{\"type\":\"noise\"}", 16);
        hostile_send_frame(c, 0x81, text, (size_t)n);
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

/* Parses the client's frames in c->in. Returns -1 to close the connection. */
static int hostile_frames(struct hostile_server *s, struct hostile_conn *c)
{
    size_t pos = 0;
    for (;;) {
        if (c->skip) {
            size_t n = c->in_len - pos < c->skip ? c->in_len - pos : (size_t)c->skip;
            pos += n;
            c->skip -= n;
            if (c->skip)
                break;
        }
        const uint8_t *p = c->in + pos;
        size_t avail = c->in_len - pos;
        if (avail < 2)
            break;
        uint8_t op = p[0] & 0x0F;
        int masked = p[1] & 0x80;
        uint64_t len = p[1] & 0x7F;
        size_t hl = 2;
        if (len == 126) {
            if (avail < 4)
                break;
            len = (uint64_t)p[2] << 8 | p[3];
            hl = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | p[2 + i];
            hl = 10;
        }
        if (masked)
            hl += 4;
        if (avail < hl)
            break;
        if (op >= 0x8 && len > 125) {
            hostile_log(s, c, "client sent a control frame over 125 bytes");
            return -1;
        }
        if (len > sizeof c->in - 1 - hl) {  /* a data frame we do not need to see */
            pos += hl;
            c->skip = len;
            continue;
        }
        if (avail < hl + len)
            break;
        uint8_t payload[HOSTILE_IN_MAX];
        int echo = op == 0x1 && c->kind == HOSTILE_WELCOME && !c->sent_close;
        int push = op == 0x2 && c->kind == HOSTILE_WELCOME && !c->sent_close;
        if (op >= 0x8 || echo) {
            memcpy(payload, "ack:", 4);
            for (size_t i = 0; i < len; i++)
                payload[(echo ? 4 : 0) + i] = p[hl + i] ^ (masked ? p[hl - 4 + i % 4] : 0);
        }
        pos += hl + (size_t)len;
        if (echo) {
            char what[128];
            hostile_send_frame(c, 0x81, payload, (size_t)len + 4);
            snprintf(what, sizeof what, "echo %.*s", (int)(len + 4 < 100 ? len + 4 : 100), payload);
            hostile_log(s, c, what);
        } else if (push) {
            hostile_send_frame(c, 0x81, "~ps.1.1.1~", 10);
        } else if (op == 0x9 && !c->sent_close) {
            hostile_send_frame(c, 0x8A, payload, (size_t)len);
        } else if (op == 0x8) {
            if (c->sent_close) {
                /* Close handshake complete; the server closes TCP first (RFC 6455 7.1.1). */
                hostile_log(s, c, "client answered our Close");
                return -1;
            }
            hostile_send_frame(c, 0x88, payload, len >= 2 ? 2 : 0);
            c->sent_close = 1;
            c->shut_after_flush = 1;
            char what[48];
            snprintf(what, sizeof what, "client sent Close %d; echoed",
                     len >= 2 ? payload[0] << 8 | payload[1] : 0);
            hostile_log(s, c, what);
        }
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    return 0;
}

/* Reads what the socket has. Returns -1 to close the connection. */
static int hostile_read(struct hostile_server *s, struct hostile_conn *c, int64_t now)
{
    for (;;) {
        if (c->state == HOSTILE_ST_DRAIN || c->state == HOSTILE_ST_RST)
            c->in_len = 0;
        size_t room = sizeof c->in - 1 - c->in_len;  /* 1: NUL for the request parser */
        if (room == 0) {
            if (c->state == HOSTILE_ST_REQUEST) {
                hostile_log(s, c, "request headers too large: 431");
                c->in_len = 0;
                hostile_http_response(c, "431 Request Header Fields Too Large",
                                      "hostile: request too large\n");
                continue;
            }
            return -1;  /* cannot happen: frames() always consumes or skips */
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        c->in_len += (size_t)n;
        if (c->state == HOSTILE_ST_REQUEST) {
            c->in[c->in_len] = '\0';
            char *end = strstr((char *)c->in, "\r\n\r\n");
            if (!end)
                continue;
            end[2] = '\0';  /* keep the last header's CRLF for hostile_header */
            hostile_request(s, c, now);
            c->in_len = 0;  /* a client does not send frames before the 101 */
        } else if (c->state == HOSTILE_ST_UPGRADED || c->state == HOSTILE_ST_OPEN) {
            if (hostile_frames(s, c) != 0)
                return -1;
        }
    }
}

static void hostile_accept(struct hostile_server *s, int64_t now)
{
    while (s->n_conns < s->max_conns) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                fprintf(stderr, "hostile: accept: %s\n", strerror(errno));
            return;
        }
        struct hostile_conn *c = calloc(1, sizeof *c);
        if (!c) {
            fprintf(stderr, "hostile: out of memory; dropping a connection\n");
            close(fd);
            return;
        }
        /* Small frames must leave at once, not wait behind Nagle for the 101's ACK. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->serial = ++s->next_serial;
        c->kind = HOSTILE_UNKNOWN;
        c->state = HOSTILE_ST_REQUEST;
        c->accepted_at = now;
        uint32_t slot = 0;
        while (s->conns[slot])
            slot++;
        s->conns[slot] = c;
        s->n_conns++;
    }
}

static int hostile_listen(struct hostile_server *s, const char *bind_ip, int port, int *bound)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, bind_ip, &sa.sin_addr) != 1) {
        fprintf(stderr, "hostile: --bind: \"%s\" is not an IPv4 address\n", bind_ip);
        return -1;
    }
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0) {
        fprintf(stderr, "hostile: socket: %s\n", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(s->listen_fd, 4096) != 0) {
        fprintf(stderr, "hostile: cannot listen on %s:%d: %s\n", bind_ip, port, strerror(errno));
        return -1;
    }
    socklen_t sl = sizeof sa;
    getsockname(s->listen_fd, (struct sockaddr *)&sa, &sl);
    *bound = ntohs(sa.sin_port);
    return 0;
}

/* One pass of the loop: poll, then serve every ready connection and due timer.
 * Returns 1 when a stop signal arrived. */
static int hostile_step(struct hostile_server *s)
{
    int64_t now = hostile_now_us();
    int64_t next = now + 1000000;
    nfds_t n = 2;
    s->pfds[0] = (struct pollfd){.fd = s->listen_fd,
                                 .events = s->n_conns < s->max_conns ? POLLIN : 0};
    s->pfds[1] = (struct pollfd){.fd = s->signal_fd, .events = POLLIN};
    for (uint32_t i = 0; i < s->max_conns; i++) {
        struct hostile_conn *c = s->conns[i];
        if (!c)
            continue;
        short ev = POLLIN;
        if (c->out_len > c->out_off)
            ev |= POLLOUT;
        s->pfd_slot[n - 2] = i;
        s->pfds[n++] = (struct pollfd){.fd = c->fd, .events = ev};
        int64_t due = c->accepted_at + HOSTILE_LIFETIME_US;
        if (c->act_at && c->act_at < due)
            due = c->act_at;
        if (due < next)
            next = due;
    }
    int timeout = next > now ? (int)((next - now + 999) / 1000) : 0;
    if (poll(s->pfds, n, timeout) < 0) {
        if (errno == EINTR)
            return 0;
        fprintf(stderr, "hostile: poll: %s\n", strerror(errno));
        return 1;
    }
    if (s->pfds[1].revents)
        return 1;
    now = hostile_now_us();
    for (nfds_t i = 2; i < n; i++) {
        uint32_t slot = s->pfd_slot[i - 2];
        struct hostile_conn *c = s->conns[slot];
        short re = s->pfds[i].revents;
        int dead = 0;
        if (re & (POLLIN | POLLHUP | POLLERR))
            dead = hostile_read(s, c, now) != 0;
        if (!dead && c->act_at && now >= c->act_at)
            dead = hostile_act(s, c, now) != 0;
        if (!dead && c->out_len > c->out_off)
            dead = hostile_flush(c) != 0;
        if (dead) {
            hostile_conn_close(s, slot, c->rst ? "reset by us" : "closed");
        } else if (now - c->accepted_at >= HOSTILE_LIFETIME_US) {
            hostile_conn_close(s, slot, "lifetime over: closed by us");
        }
    }
    if (s->pfds[0].revents & POLLIN)
        hostile_accept(s, now);
    return 0;
}

static void hostile_usage(FILE *f)
{
    fprintf(f, "usage: hostile --port P [--bind 127.0.0.1] [--max-conns N] [--verbose]\n"
               "A deliberately misbehaving WebSocket server for tests; the upgrade path\n"
               "chooses the misbehaviour: /ok /reject401 /reject503 /badaccept /oversize\n"
               "/badutf8 /masked /rstmidframe /nohandshake /closenostatus /close1011 /badopcode\n"
               "/garbage /close1005 /close999\n");
}

static int hostile_parse_uint(const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || end == v || x < lo || x > hi) {
        fprintf(stderr, "hostile: %s: expected a number from %ld to %ld, got \"%s\"\n", opt, lo,
                hi, v ? v : "(nothing)");
        return -1;
    }
    *out = x;
    return 0;
}

int main(int argc, char **argv)
{
    struct hostile_server s = {.listen_fd = -1, .signal_fd = -1,
                               .max_conns = HOSTILE_DEFAULT_CONNS};
    const char *bind_ip = "127.0.0.1";
    long port = -1, max_conns = HOSTILE_DEFAULT_CONNS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--port") == 0) {
            if (hostile_parse_uint(a, v, 0, 65535, &port) != 0)
                return 2;
            i++;
        } else if (strcmp(a, "--bind") == 0) {
            if (!v) {
                fprintf(stderr, "hostile: --bind: missing address\n");
                return 2;
            }
            bind_ip = v;
            i++;
        } else if (strcmp(a, "--max-conns") == 0) {
            if (hostile_parse_uint(a, v, 1, 100000, &max_conns) != 0)
                return 2;
            i++;
        } else if (strcmp(a, "--verbose") == 0) {
            s.verbose = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            hostile_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "hostile: unknown argument \"%s\"\n", a);
            hostile_usage(stderr);
            return 2;
        }
    }
    if (port < 0) {
        fprintf(stderr, "hostile: --port is required\n");
        hostile_usage(stderr);
        return 2;
    }
    s.max_conns = (uint32_t)max_conns;

    /* A few thousand sockets need more than the usual soft limit of 1024. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    s.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    s.conns = calloc(s.max_conns, sizeof *s.conns);
    s.pfds = calloc(s.max_conns + 2, sizeof *s.pfds);
    s.pfd_slot = calloc(s.max_conns, sizeof *s.pfd_slot);
    int bound = 0, rc = 1;
    if (s.signal_fd < 0 || !s.conns || !s.pfds || !s.pfd_slot) {
        fprintf(stderr, "hostile: cannot set up: %s\n", strerror(errno));
        goto out;
    }
    if (hostile_listen(&s, bind_ip, (int)port, &bound) != 0)
        goto out;
    printf("hostile listening on %d\n", bound);
    fflush(stdout);
    while (!hostile_step(&s))
        ;
    rc = 0;
out:
    for (uint32_t i = 0; s.conns && i < s.max_conns; i++)
        if (s.conns[i])
            hostile_conn_close(&s, i, "server stopping");
    if (s.listen_fd >= 0)
        close(s.listen_fd);
    if (s.signal_fd >= 0)
        close(s.signal_fd);
    free(s.conns);
    free(s.pfds);
    free(s.pfd_slot);
    return rc;
}

/* wire.c: hostile's bytes in and out.
 *
 * Out: one fixed buffer per connection; frames are built whole into it (the
 * long /huge payload is streamed from hostile_flush instead, a buffer at a
 * time, and nothing else may be queued until it is out). Frame headers take
 * an announced length apart from the bytes that follow, so a frame can lie
 * about its size (/oversize, /rstmidframe).
 * In: the upgrade request is gathered up to the blank line and handed to
 * behave.c; after the 101 the client's frames are parsed here (unmasked,
 * control frames answered: Ping with Pong, Close with Close) and data frames
 * handed to behave.c. A client frame too big for the buffer is skipped, not
 * stored: hostile never needs to see one. */
#include "hostile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

int hostile_flush(struct hostile_conn *c)
{
    for (;;) {
        if (c->out_off == c->out_len && c->fill) {
            /* the rest of a long frame's payload, a buffer at a time; room
             * is left for the frame that follows it (hostile_fill_done) */
            size_t n = c->fill < sizeof c->out - 256 ? c->fill : sizeof c->out - 256;
            memset(c->out, 'x', n);
            c->out_off = 0;
            c->out_len = n;
            c->fill -= (uint32_t)n;
            if (!c->fill)
                hostile_fill_done(c);
        }
        if (c->out_off == c->out_len)
            break;
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
int hostile_queue(struct hostile_conn *c, const void *data, size_t len)
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
size_t hostile_frame_header(uint8_t *h, uint8_t fin_op, uint64_t announce, int masked)
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

int hostile_send_frame(struct hostile_conn *c, uint8_t fin_op, const void *payload,
                              size_t len)
{
    uint8_t frame[14 + 125];
    if (len > 125 || c->fill)   /* nothing may cut into a long frame's payload */
        return -1;
    size_t h = hostile_frame_header(frame, fin_op, len, 0);
    memcpy(frame + h, payload, len);
    return hostile_queue(c, frame, h + len);
}

void hostile_http_response(struct hostile_conn *c, const char *status, const char *body)
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
const char *hostile_header(const char *req, const char *name, size_t *len)
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
        for (size_t i = 0; i < len; i++)
            payload[i] = p[hl + i] ^ (masked ? p[hl - 4 + i % 4] : 0);
        pos += hl + (size_t)len;
        if ((op == 0x1 || op == 0x2) && !c->sent_close) {
            hostile_on_data(s, c, op, payload, (size_t)len);
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
int hostile_read(struct hostile_server *s, struct hostile_conn *c, int64_t now)
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

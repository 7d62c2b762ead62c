/* refpush cmsg: the JSON messages strict-mode clients send (login, ping, ack)
 * and the login token check. See cmsg.c. */
#ifndef REFPUSH_CMSG_H
#define REFPUSH_CMSG_H

#include <stddef.h>
#include <stdint.h>

enum refpush_cmsg_type {
    REFPUSH_CMSG_OTHER = 0,    /* an object with another (or no) "type" */
    REFPUSH_CMSG_LOGIN,        /* {"type":"login","token":"T"} */
    REFPUSH_CMSG_PING,         /* {"type":"ping","seq":N} */
    REFPUSH_CMSG_ACK,          /* {"type":"ack","id":K} */
};

/* What was read; token points into the parsed text (escapes are not
 * decoded: a token with a backslash never matches). */
struct refpush_cmsg {
    enum refpush_cmsg_type type;
    const char *token;
    size_t   token_len;
    uint64_t seq;
    uint64_t id;
    uint8_t  has_token, has_seq, has_id;
};

/* Reads one client text frame. 0, or -1 when it is not a JSON object or a
 * known type lacks its field (login without a string "token", ping without a
 * numeric "seq", ack without a numeric "id"); err then says what. */
int refpush_cmsg_parse(const char *s, size_t len, struct refpush_cmsg *m, char *err, size_t errlen);

/* Is token the one of uid under secret? The scheme is "<secret>-<uid>". */
int refpush_login_token_ok(const char *secret, uint64_t uid, const char *token, size_t len);

#endif

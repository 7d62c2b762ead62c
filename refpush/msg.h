/* refpush msg: refcounted outgoing frames shared by all their recipients.
 * See msg.c. */
#ifndef REFPUSH_MSG_H
#define REFPUSH_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

/* Room kept in front of a wrapped payload for {"type":"push","uid":N,"data":"
 * (48 bytes with the longest N), or {"type":"push","uid":N,"id":K,"data":"
 * (64 with the longest K, --require-ack). */
#define REFPUSH_MSG_PREFIX_MAX 80
#define REFPUSH_MSG_HEADROOM   (LWS_PRE + REFPUSH_MSG_PREFIX_MAX)

enum refpush_wrap {
    REFPUSH_WRAP_JSON = 0,   /* {"type":"push","uid":N,"data":"<escaped body>"} */
    REFPUSH_WRAP_RAW,        /* the body as is */
};

struct refpush_msg {
    uint32_t refs;
    uint32_t len;        /* payload bytes after the headroom */
    uint8_t  wrapped;    /* payload is an escaped body + "}; prefix written per send */
    uint8_t  is_push;    /* a pushed message (counted in frames_delivered), not a reply */
    uint8_t  is_template;/* payload is a NUL-terminated template, expanded per recipient
                          * by session.c (welcome, login reply, JSON pong) */
    unsigned char buf[]; /* REFPUSH_MSG_HEADROOM bytes, then the payload */
};

/* A pushed body, wrapped as configured: one allocation. NULL when out of memory. */
struct refpush_msg *refpush_msg_new_push(const char *body, size_t len, enum refpush_wrap wrap);
/* A frame sent exactly as given (the heartbeat reply). */
struct refpush_msg *refpush_msg_new_text(const char *text, size_t len);
/* A template frame: the text plus a NUL, is_template set. */
struct refpush_msg *refpush_msg_new_template(const char *tpl, size_t len);

static inline void refpush_msg_ref(struct refpush_msg *m)
{
    m->refs++;
}

void refpush_msg_unref(struct refpush_msg *m);

/* The frame for recipient `uid`, with message id `id` when not 0 (acks):
 * sets *start to its first byte (with LWS_PRE writable bytes before it) and
 * returns its length. For wrapped messages this writes the uid prefix into the
 * headroom, so it is only valid until the next call on the same message;
 * lws_write copies what it cannot send at once. */
size_t refpush_msg_frame(struct refpush_msg *m, uint64_t uid, uint32_t id, unsigned char **start);

#endif

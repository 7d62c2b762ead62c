/* refpush msg: one allocation per pushed message, shared by every recipient.
 *
 * A broadcast to 15,000 connections must not copy its body 15,000 times, yet a
 * json-wrapped frame names its recipient's uid. So a message stores the part
 * that is the same for everybody - the escaped body followed by `"}` - after a
 * headroom of LWS_PRE + REFPUSH_MSG_PREFIX_MAX bytes. When a connection is
 * writeable, refpush_msg_frame() prints that connection's prefix
 * `{"type":"push","uid":N,"data":"` right-aligned against the payload, and the
 * frame is handed to lws_write() from there; lws puts its frame header in the
 * LWS_PRE bytes before it. Writes happen one at a time on the loop thread and
 * lws copies any unsent remainder into its own buffer, so rewriting the prefix
 * for the next recipient is safe.
 *
 * Raw messages (--wrap raw, heartbeat replies) have no prefix: the payload is
 * the frame.
 *
 * Ownership: the creator holds one reference; every queue entry holds one; the
 * last refpush_msg_unref() frees it. Everything runs on one thread, so the count
 * is a plain integer. */
#include "msg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static const char refpush_msg_suffix[] = "\"}";

static struct refpush_msg *refpush_msg_alloc(size_t payload)
{
    if (payload > UINT32_MAX)
        return NULL;
    struct refpush_msg *m = malloc(sizeof *m + REFPUSH_MSG_HEADROOM + payload);
    if (!m)
        return NULL;
    m->refs = 1;
    m->len = (uint32_t)payload;
    m->wrapped = 0;
    m->is_push = 0;
    m->is_template = 0;
    return m;
}

struct refpush_msg *refpush_msg_new_push(const char *body, size_t len, enum refpush_wrap wrap)
{
    struct refpush_msg *m;
    if (wrap == REFPUSH_WRAP_RAW) {
        m = refpush_msg_alloc(len);
        if (!m)
            return NULL;
        if (len)
            memcpy(m->buf + REFPUSH_MSG_HEADROOM, body, len);
    } else {
        size_t esc = refpush_json_escaped_len(body, len);
        m = refpush_msg_alloc(esc + sizeof refpush_msg_suffix - 1);
        if (!m)
            return NULL;
        char *p = (char *)m->buf + REFPUSH_MSG_HEADROOM;
        p += refpush_json_escape(p, body, len);
        memcpy(p, refpush_msg_suffix, sizeof refpush_msg_suffix - 1);
        m->wrapped = 1;
    }
    m->is_push = 1;
    return m;
}

struct refpush_msg *refpush_msg_new_text(const char *text, size_t len)
{
    struct refpush_msg *m = refpush_msg_alloc(len);
    if (m && len)
        memcpy(m->buf + REFPUSH_MSG_HEADROOM, text, len);
    return m;
}

struct refpush_msg *refpush_msg_new_template(const char *tpl, size_t len)
{
    struct refpush_msg *m = refpush_msg_new_text(tpl, len + 1);
    if (m) {
        m->buf[REFPUSH_MSG_HEADROOM + len] = 0;
        m->len = (uint32_t)len;
        m->is_template = 1;
    }
    return m;
}

void refpush_msg_unref(struct refpush_msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

size_t refpush_msg_frame(struct refpush_msg *m, uint64_t uid, uint32_t id, unsigned char **start)
{
    unsigned char *payload = m->buf + REFPUSH_MSG_HEADROOM;
    if (!m->wrapped) {
        *start = payload;
        return m->len;
    }
    char prefix[REFPUSH_MSG_PREFIX_MAX];
    int n = id ? snprintf(prefix, sizeof prefix, "{\"type\":\"push\",\"uid\":%" PRIu64
                          ",\"id\":%" PRIu32 ",\"data\":\"", uid, id)
               : snprintf(prefix, sizeof prefix, "{\"type\":\"push\",\"uid\":%" PRIu64
                          ",\"data\":\"", uid);
    /* n < sizeof prefix always: 20 uid and 10 id digits at most make 64 bytes */
    *start = payload - n;
    memcpy(*start, prefix, (size_t)n);
    return (size_t)n + m->len;
}

/* refpush json: escaping bodies into JSON strings, and the buffer that JSON
 * responses are built in.
 *
 * Escaping is two-pass on purpose: the length pass lets a pushed message be
 * allocated once at its exact size and escaped straight into place (json wrap),
 * instead of growing a temporary. Only what JSON requires is escaped: the quote,
 * the backslash and the control characters below 0x20 (the short forms \b \f \n
 * \r \t where they exist, \u00XX otherwise). Bytes >= 0x80 pass through, so
 * UTF-8 bodies stay UTF-8 and a token like ~ps.12.345.1732450000000000~ is
 * never altered.
 *
 * The jbuf keeps spare bytes in front of its data (LWS_PRE for lws) and is
 * reused from one response to the next, so answering a request allocates only
 * when a response is bigger than every one before it. */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char refpush_json_hex[] = "0123456789abcdef";

/* 0: byte passes as is; a letter: two-byte form \<letter>; 'u': \u00XX. */
static char refpush_json_class(unsigned char c)
{
    switch (c) {
    case '"':  return '"';
    case '\\': return '\\';
    case '\b': return 'b';
    case '\f': return 'f';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    default:   return c < 0x20 ? 'u' : 0;
    }
}

size_t refpush_json_escaped_len(const char *src, size_t len)
{
    size_t n = len;
    for (size_t i = 0; i < len; i++) {
        char k = refpush_json_class((unsigned char)src[i]);
        if (k == 'u')
            n += 5;
        else if (k)
            n += 1;
    }
    return n;
}

size_t refpush_json_escape(char *dst, const char *src, size_t len)
{
    char *p = dst;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        char k = refpush_json_class(c);
        if (!k) {
            *p++ = (char)c;
        } else if (k == 'u') {
            memcpy(p, "\\u00", 4);
            p[4] = refpush_json_hex[c >> 4];
            p[5] = refpush_json_hex[c & 15];
            p += 6;
        } else {
            p[0] = '\\';
            p[1] = k;
            p += 2;
        }
    }
    return (size_t)(p - dst);
}

void refpush_jbuf_init(struct refpush_jbuf *b, size_t pre)
{
    memset(b, 0, sizeof *b);
    b->pre = pre;
}

void refpush_jbuf_reset(struct refpush_jbuf *b)
{
    b->len = 0;
    b->failed = 0;
}

void refpush_jbuf_free(struct refpush_jbuf *b)
{
    free(b->mem);
    refpush_jbuf_init(b, b->pre);
}

char *refpush_jbuf_data(struct refpush_jbuf *b)
{
    if (!b->mem)
        refpush_jbuf_append(b, "", 0);   /* so callers always get valid memory */
    return b->mem ? b->mem + b->pre : NULL;
}

/* Makes room for `more` data bytes plus a NUL; 0 on success. */
static int refpush_jbuf_reserve(struct refpush_jbuf *b, size_t more)
{
    if (b->failed)
        return -1;
    if (b->mem && b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *mem = realloc(b->mem, b->pre + cap);
    if (!mem) {
        b->failed = 1;
        return -1;
    }
    b->mem = mem;
    b->cap = cap;
    return 0;
}

void refpush_jbuf_append(struct refpush_jbuf *b, const char *s, size_t len)
{
    if (refpush_jbuf_reserve(b, len))
        return;
    memcpy(b->mem + b->pre + b->len, s, len);
    b->len += len;
    b->mem[b->pre + b->len] = '\0';
}

void refpush_jbuf_appendf(struct refpush_jbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        refpush_jbuf_append(b, tmp, (size_t)n);
        return;
    }
    if (refpush_jbuf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->mem + b->pre + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void refpush_jbuf_append_string(struct refpush_jbuf *b, const char *src, size_t len)
{
    size_t esc = refpush_json_escaped_len(src, len);
    if (refpush_jbuf_reserve(b, esc + 2))
        return;
    char *p = b->mem + b->pre + b->len;
    *p++ = '"';
    p += refpush_json_escape(p, src, len);
    *p++ = '"';
    *p = '\0';
    b->len += esc + 2;
}

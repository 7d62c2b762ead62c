/* refpush json: JSON string escaping and a growable output buffer for the
 * HTTP API's small JSON responses. See json.c. */
#ifndef REFPUSH_JSON_H
#define REFPUSH_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Bytes the escaped form of src takes (without quotes). */
size_t refpush_json_escaped_len(const char *src, size_t len);
/* Writes the escaped form of src to dst, which must hold
 * refpush_json_escaped_len(src, len) bytes; returns the bytes written. */
size_t refpush_json_escape(char *dst, const char *src, size_t len);

/* A growable byte buffer that keeps `pre` spare bytes in front of its data,
 * so lws can write protocol headers there without a copy. */
struct refpush_jbuf {
    char  *mem;     /* allocation: pre bytes, then data */
    size_t pre;
    size_t len;     /* bytes of data */
    size_t cap;     /* bytes of data the allocation can hold */
    int    failed;  /* an append ran out of memory; the contents are cut short */
};

void  refpush_jbuf_init(struct refpush_jbuf *b, size_t pre);
void  refpush_jbuf_reset(struct refpush_jbuf *b);     /* empties it, keeps memory */
void  refpush_jbuf_free(struct refpush_jbuf *b);
char *refpush_jbuf_data(struct refpush_jbuf *b);
void  refpush_jbuf_append(struct refpush_jbuf *b, const char *s, size_t len);
void  refpush_jbuf_appendf(struct refpush_jbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends src as a quoted, escaped JSON string. */
void  refpush_jbuf_append_string(struct refpush_jbuf *b, const char *src, size_t len);

#endif

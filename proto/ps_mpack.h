/* ps_mpack: a bounded reader of untrusted msgpack, knowing nothing of pushstorm.
 *
 * ps_proto builds its messages on it; it is apart so that the part that must be
 * right against hostile bytes (the pre-pass that refuses a container claiming
 * more elements than there are bytes, the typed and range-checked reads, the
 * error path naming the field) can be read and tested without the messages.
 *
 * Reading a buffer: ps_mpack_rd_begin() checks the raw bytes (ps_mpack_precheck)
 * and opens the one object they hold as an array; a struct ps_mpack_rd then
 * reads that array's elements in order, straight from the bytes: no object
 * tree is built and nothing is allocated, whatever the message. A sub-array
 * shares its parent's position (struct ps_mpack_in), so elements are read in
 * wire order, each sub-array wholly before its parent's next element. An
 * element just read is described by a msgpack-c msgpack_object on the stack
 * (a string points into the buffer). The typed reads are inline: a batch of
 * events makes millions a second; their error paths are not. */
#ifndef PS_MPACK_H
#define PS_MPACK_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

/* Formats into err (if any) and returns -1. */
int ps_mpack_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Big-endian unsigned integer of n bytes (n <= 8). */
uint64_t ps_mpack_be(const unsigned char *p, int n);

/* 0 if p[0..len) is exactly one complete msgpack object in which no array or
 * map claims more elements than there are bytes left; allocates nothing. */
int ps_mpack_precheck(const unsigned char *p, size_t len, char *err, size_t errlen);

/* The bytes being read and the position in them, shared by the cursors of one buffer. */
struct ps_mpack_in {
    const unsigned char *p;
    size_t len, pos;
};

/* A cursor over the elements of one msgpack array. Its path in the message
 * ("reply.cmd.headers.3") is only spelled out when an error is reported, so the
 * per-element cost of naming things is one pointer and one index. */
struct ps_mpack_rd {
    struct ps_mpack_in *in;
    uint32_t n, i;
    const struct ps_mpack_rd *parent;   /* NULL for the message itself */
    const char *name;                   /* field name in the parent, or NULL: use index */
    uint32_t index;                     /* position in the parent */
    char *err;
    size_t errlen;
};

/* Checks buf[0..len) (ps_mpack_precheck) and opens its object as an array of
 * exactly `arity` elements, named `name` in errors. */
int ps_mpack_rd_begin(struct ps_mpack_rd *r, struct ps_mpack_in *in, const void *buf, size_t len,
                      uint32_t arity, const char *name, char *err, size_t errlen);

/* "<path of r>[.<field>]: <message>"; field NULL with elem = 1 names the
 * element just read by its index, with elem = 0 the array itself. Returns -1. */
int ps_mpack_rd_err(const struct ps_mpack_rd *r, const char *field, int elem, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "expected <expected>, got <what o is>" for the element just read. */
int ps_mpack_rd_expected(const struct ps_mpack_rd *r, const char *field, const char *expected,
                         const msgpack_object *o);
/* The error paths of ps_mpack_rd_open and ps_mpack_rd_next. */
int ps_mpack_rd_bad_array(struct ps_mpack_rd *r, const msgpack_object *o, uint32_t arity, uint32_t max);
int ps_mpack_rd_missing(struct ps_mpack_rd *r);

/* Reads the next element of r into *o: a scalar, string, bin or ext whole; of
 * an array or map only its header (its elements follow). */
int ps_mpack_rd_next(struct ps_mpack_rd *r, msgpack_object *o);

/* Opens `o`, just read from `parent` (NULL: the root), as an array of exactly
 * `arity` elements, or of at most `max` when arity is 0. */
static inline int ps_mpack_rd_open(struct ps_mpack_rd *r, struct ps_mpack_in *in,
                                   const msgpack_object *o, uint32_t arity, uint32_t max,
                                   const struct ps_mpack_rd *parent, const char *name,
                                   char *err, size_t errlen)
{
    r->in = in;
    r->parent = parent;
    r->name = name;
    r->index = parent ? parent->i - 1 : 0;
    r->err = err;
    r->errlen = errlen;
    r->n = r->i = 0;
    if (o->type != MSGPACK_OBJECT_ARRAY || (arity && o->via.array.size != arity) ||
        (!arity && o->via.array.size > max))
        return ps_mpack_rd_bad_array(r, o, arity, max);
    r->n = o->via.array.size;
    return 0;
}

/* An unsigned integer <= max. */
static inline int ps_mpack_rd_uint(struct ps_mpack_rd *r, const char *field, uint64_t max, uint64_t *out)
{
    msgpack_object o;

    if (ps_mpack_rd_next(r, &o)) return -1;
    if (o.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return ps_mpack_rd_expected(r, field, "an unsigned integer", &o);
    if (o.via.u64 > max)
        return ps_mpack_rd_err(r, field, 1, "%" PRIu64 " out of range (max %" PRIu64 ")",
                               o.via.u64, max);
    *out = o.via.u64;
    return 0;
}

/* An unsigned integer <= max, into a uint32_t (max <= UINT32_MAX). */
static inline int ps_mpack_rd_u32max(struct ps_mpack_rd *r, const char *field, uint32_t max,
                                     uint32_t *out)
{
    uint64_t v = 0;

    if (ps_mpack_rd_uint(r, field, max, &v)) return -1;
    *out = (uint32_t)v;
    return 0;
}

static inline int ps_mpack_rd_u32(struct ps_mpack_rd *r, const char *field, uint32_t *out)
{
    return ps_mpack_rd_u32max(r, field, UINT32_MAX, out);
}

static inline int ps_mpack_rd_u64(struct ps_mpack_rd *r, const char *field, uint64_t *out)
{
    return ps_mpack_rd_uint(r, field, UINT64_MAX, out);
}

/* A 0/1 flag. */
static inline int ps_mpack_rd_flag(struct ps_mpack_rd *r, const char *field, uint32_t *out)
{
    return ps_mpack_rd_u32max(r, field, 1, out);
}

int ps_mpack_rd_i64_bad(struct ps_mpack_rd *r, const char *field, const msgpack_object *o);

static inline int ps_mpack_rd_i64(struct ps_mpack_rd *r, const char *field, int64_t *out)
{
    msgpack_object o;

    if (ps_mpack_rd_next(r, &o)) return -1;
    if (o.type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
        (o.type == MSGPACK_OBJECT_POSITIVE_INTEGER && o.via.u64 <= INT64_MAX)) {
        *out = o.type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? o.via.i64 : (int64_t)o.via.u64;
        return 0;
    }
    return ps_mpack_rd_i64_bad(r, field, &o);
}

/* A finite double in [lo, hi]; integers are accepted too. */
int ps_mpack_rd_f64(struct ps_mpack_rd *r, const char *field, double lo, double hi, double *out);

/* Copies a msgpack str into char[cap], NUL-terminated; refuses embedded NULs,
 * which would silently cut the string short on the C side. */
int ps_mpack_rd_str(struct ps_mpack_rd *r, const char *field, char *dst, size_t cap);

/* Opens the next element (field, or by index when field is NULL) as a
 * sub-array: exactly `arity` elements, or at most `max` when arity is 0. */
static inline int ps_mpack_rd_sub(struct ps_mpack_rd *r, const char *field, uint32_t arity, uint32_t max,
                                  struct ps_mpack_rd *sub)
{
    msgpack_object o;

    if (ps_mpack_rd_next(r, &o)) return -1;
    return ps_mpack_rd_open(sub, r->in, &o, arity, max, r, field, r->err, r->errlen);
}

/* ---- packing ---- */

/* A NUL-terminated string stored in a char[cap]; -1 if it is unterminated. */
int ps_mpack_pack_str(msgpack_packer *pk, const char *s, size_t cap);

#endif

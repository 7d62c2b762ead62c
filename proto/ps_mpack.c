/* ps_mpack.c: the bounded msgpack reader (see ps_mpack.h).
 *
 * Reading untrusted bytes element by element is safe only once the bytes are
 * known to hold what their headers claim: ps_mpack_precheck() walks them once
 * first, without allocating, and refuses a truncated object, trailing bytes, and
 * any container claiming more elements than there are bytes left (five hostile
 * bytes, array32 of 2^32-1, would otherwise have a generic unpacker ask for
 * 64 GiB). After it, ps_mpack_rd_next() can read each element in place; it
 * still checks its bounds, so a bug in the pre-pass cannot become a read out of
 * the buffer. Integers are classified as msgpack-c does (a signed form holding
 * a value >= 0 is a positive integer), so errors describe input as before.
 *
 * The typed reads check the msgpack type and the range of every element and
 * name it in their error ("tick.stats.rss_bytes: expected an unsigned integer,
 * got -1"); the path is assembled from the cursors' parents only then. */
#include "ps_mpack.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ps_mpack_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

uint64_t ps_mpack_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    while (n-- > 0) v = (v << 8) | *p++;
    return v;
}

/* Step 1: one complete object, no trailing bytes, no container larger than the
 * bytes left to fill it. Needs no stack: every element, container or not, is a
 * header followed by its payload, so counting the elements still owed is enough. */
int ps_mpack_precheck(const unsigned char *p, size_t len, char *err, size_t errlen)
{
    size_t pos = 0;
    uint64_t owed = 1;          /* elements still to read */

    while (owed > 0) {
        uint64_t body = 0, children = 0;
        size_t head = 1;
        unsigned char c;

        if (pos >= len)
            return ps_mpack_err(err, errlen, "truncated message (%zu bytes)", len);
        c = p[pos];
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            /* fixint, nil, bool: header only */
        } else if (c <= 0x8f) {
            children = 2u * (c & 0x0f);
        } else if (c <= 0x9f) {
            children = c & 0x0f;
        } else if (c <= 0xbf) {
            body = c & 0x1f;
        } else {
            switch (c) {
            case 0xc4: case 0xd9: head = 2; break;              /* bin8, str8 */
            case 0xc5: case 0xda: head = 3; break;              /* bin16, str16 */
            case 0xc6: case 0xdb: head = 5; break;              /* bin32, str32 */
            case 0xc7: head = 3; break;                         /* ext8 */
            case 0xc8: head = 4; break;                         /* ext16 */
            case 0xc9: head = 6; break;                         /* ext32 */
            case 0xca: body = 4; break;
            case 0xcb: body = 8; break;
            case 0xcc: case 0xd0: body = 1; break;
            case 0xcd: case 0xd1: body = 2; break;
            case 0xce: case 0xd2: body = 4; break;
            case 0xcf: case 0xd3: body = 8; break;
            case 0xd4: body = 2; break;                         /* fixext 1..16 */
            case 0xd5: body = 3; break;
            case 0xd6: body = 5; break;
            case 0xd7: body = 9; break;
            case 0xd8: body = 17; break;
            case 0xdc: case 0xde: head = 3; break;              /* array16, map16 */
            case 0xdd: case 0xdf: head = 5; break;              /* array32, map32 */
            default:
                return ps_mpack_err(err, errlen, "not msgpack: byte 0x%02x at offset %zu", c, pos);
            }
            if (head > 1) {
                uint64_t n;
                int nlen = (int)head - 1;
                if (c >= 0xc7 && c <= 0xc9) nlen = (int)head - 2;   /* ext: size then type byte */
                if (len - pos < head)
                    return ps_mpack_err(err, errlen, "truncated message (%zu bytes)", len);
                n = ps_mpack_be(p + pos + 1, nlen);
                if (c == 0xdc || c == 0xdd)      children = n;
                else if (c == 0xde || c == 0xdf) children = 2 * n;
                else                             body = n;
            }
        }
        if (len - pos < head || len - pos - head < body)
            return ps_mpack_err(err, errlen, "truncated message (%zu bytes)", len);
        pos += head + (size_t)body;
        owed = owed - 1 + children;
        if (owed > len - pos)
            return ps_mpack_err(err, errlen, "truncated message (%zu bytes): an array at offset %zu "
                             "claims more elements than there are bytes", len, pos - head);
    }
    if (pos != len)
        return ps_mpack_err(err, errlen, "%zu trailing byte(s) after the message", len - pos);
    return 0;
}

/* Describes an object for "expected X, got Y" messages. */
static void mpack_describe(const msgpack_object *o, char *buf, size_t len)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:              snprintf(buf, len, "nil"); break;
    case MSGPACK_OBJECT_BOOLEAN:          snprintf(buf, len, "a boolean"); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: snprintf(buf, len, "%" PRIu64, o->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: snprintf(buf, len, "%" PRId64, o->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:          snprintf(buf, len, "%g", o->via.f64); break;
    case MSGPACK_OBJECT_STR:              snprintf(buf, len, "a string"); break;
    case MSGPACK_OBJECT_ARRAY:
        snprintf(buf, len, "an array of %" PRIu32, o->via.array.size); break;
    case MSGPACK_OBJECT_MAP:              snprintf(buf, len, "a map"); break;
    case MSGPACK_OBJECT_BIN:              snprintf(buf, len, "binary data"); break;
    case MSGPACK_OBJECT_EXT:              snprintf(buf, len, "an extension type"); break;
    default:                              snprintf(buf, len, "type %d", (int)o->type); break;
    }
}

static void mpack_rd_path(const struct ps_mpack_rd *r, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = 0;
    if (r->parent) {
        mpack_rd_path(r->parent, buf, len);
        used = strlen(buf);
    }
    if (used + 1 >= len) return;
    if (r->name)
        snprintf(buf + used, len - used, "%s%s", r->parent ? "." : "", r->name);
    else
        snprintf(buf + used, len - used, ".%" PRIu32, r->index);
}

int ps_mpack_rd_err(const struct ps_mpack_rd *r, const char *field, int elem, const char *fmt, ...)
{
    char path[192];
    va_list ap;
    int n;

    if (!r->err || !r->errlen) return -1;
    mpack_rd_path(r, path, sizeof path);
    if (field)
        n = snprintf(r->err, r->errlen, "%s.%s: ", path, field);
    else if (elem)
        n = snprintf(r->err, r->errlen, "%s.%" PRIu32 ": ", path, r->i - 1);
    else
        n = snprintf(r->err, r->errlen, "%s: ", path);
    if (n < 0 || (size_t)n >= r->errlen) return -1;
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

int ps_mpack_rd_expected(const struct ps_mpack_rd *r, const char *field, const char *expected,
                         const msgpack_object *o)
{
    char got[64];

    mpack_describe(o, got, sizeof got);
    return ps_mpack_rd_err(r, field, 1, "expected %s, got %s", expected, got);
}

/* Decodes the element at p (left bytes remain): its header always, its payload
 * unless it is a container; -1 if it is not msgpack or does not fit. `head` is
 * the type byte plus any length, `body` the payload after it. */
static int mpack_decode(const unsigned char *p, size_t left, msgpack_object *o, size_t *used)
{
    unsigned char c = p[0];
    size_t head = 1, body = 0;
    uint64_t n = 0;

    if (c <= 0x7f) {
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = c;
    } else if (c >= 0xe0) {
        o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        o->via.i64 = (int8_t)c;
    } else if (c <= 0x8f) {
        o->type = MSGPACK_OBJECT_MAP;
        o->via.map.size = c & 0x0f;
    } else if (c <= 0x9f) {
        o->type = MSGPACK_OBJECT_ARRAY;
        o->via.array.size = c & 0x0f;
    } else if (c <= 0xbf) {
        o->type = MSGPACK_OBJECT_STR;
        body = c & 0x1f;
    } else {
        static const unsigned char lens[] = { 1, 2, 4, 8 };
        int w = 0;
        switch (c) {
        case 0xc0: o->type = MSGPACK_OBJECT_NIL; break;
        case 0xc2: case 0xc3: o->type = MSGPACK_OBJECT_BOOLEAN; o->via.boolean = c == 0xc3; break;
        case 0xc4: case 0xc5: case 0xc6: o->type = MSGPACK_OBJECT_BIN; w = lens[c - 0xc4]; break;
        case 0xc7: case 0xc8: case 0xc9: o->type = MSGPACK_OBJECT_EXT; w = lens[c - 0xc7]; break;
        case 0xca: o->type = MSGPACK_OBJECT_FLOAT32; body = 4; break;
        case 0xcb: o->type = MSGPACK_OBJECT_FLOAT64; body = 8; break;
        case 0xcc: case 0xcd: case 0xce: case 0xcf:
            o->type = MSGPACK_OBJECT_POSITIVE_INTEGER; body = lens[c - 0xcc]; break;
        case 0xd0: case 0xd1: case 0xd2: case 0xd3:
            o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER; body = lens[c - 0xd0]; break;
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
            o->type = MSGPACK_OBJECT_EXT; body = 1 + ((size_t)1 << (c - 0xd4)); break;
        case 0xd9: case 0xda: case 0xdb: o->type = MSGPACK_OBJECT_STR; w = lens[c - 0xd9]; break;
        case 0xdc: case 0xdd: o->type = MSGPACK_OBJECT_ARRAY; w = 2 << (c - 0xdc); break;
        case 0xde: case 0xdf: o->type = MSGPACK_OBJECT_MAP; w = 2 << (c - 0xde); break;
        default: return -1;
        }
        if (w) {
            if (left < 1 + (size_t)w) return -1;
            n = ps_mpack_be(p + 1, w);
            head += (size_t)w;
            if (o->type == MSGPACK_OBJECT_ARRAY) o->via.array.size = (uint32_t)n;
            else if (o->type == MSGPACK_OBJECT_MAP) o->via.map.size = (uint32_t)n;
            else body = (size_t)n + (o->type == MSGPACK_OBJECT_EXT);   /* ext: type byte, data */
        }
    }
    if (left < head || left - head < body) return -1;
    if (o->type == MSGPACK_OBJECT_STR) {
        o->via.str.ptr = (const char *)p + head;
        o->via.str.size = (uint32_t)body;
    } else if (o->type == MSGPACK_OBJECT_FLOAT32) {
        uint32_t bits = (uint32_t)ps_mpack_be(p + 1, 4);
        float f;
        memcpy(&f, &bits, sizeof f);
        o->via.f64 = f;
    } else if (o->type == MSGPACK_OBJECT_FLOAT64) {
        uint64_t bits = ps_mpack_be(p + 1, 8);
        memcpy(&o->via.f64, &bits, sizeof o->via.f64);
    } else if (body && c >= 0xcc && c <= 0xcf) {
        o->via.u64 = ps_mpack_be(p + 1, (int)body);
    } else if (body && c >= 0xd0 && c <= 0xd3) {
        uint64_t u = ps_mpack_be(p + 1, (int)body);
        int64_t v = body == 1 ? (int8_t)u : body == 2 ? (int16_t)u : body == 4 ? (int32_t)u : (int64_t)u;
        /* classified by value, as msgpack-c does */
        if (v >= 0) {
            o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            o->via.u64 = (uint64_t)v;
        } else {
            o->via.i64 = v;
        }
    }
    *used = head + body;
    return 0;
}

int ps_mpack_rd_next(struct ps_mpack_rd *r, msgpack_object *o)
{
    struct ps_mpack_in *in = r->in;
    size_t used;

    /* Arity is checked when an array is opened, so running off its end means
     * a bug in the caller; it is still refused. */
    if (r->i >= r->n) return ps_mpack_rd_missing(r);
    if (in->pos >= in->len || mpack_decode(in->p + in->pos, in->len - in->pos, o, &used))
        return ps_mpack_rd_err(r, NULL, 0, "malformed element %" PRIu32 " at offset %zu", r->i, in->pos);
    in->pos += used;
    r->i++;
    return 0;
}

int ps_mpack_rd_begin(struct ps_mpack_rd *r, struct ps_mpack_in *in, const void *buf, size_t len,
                      uint32_t arity, const char *name, char *err, size_t errlen)
{
    struct ps_mpack_rd root = { .in = in, .n = 1, .name = name, .err = err, .errlen = errlen };
    msgpack_object o;

    if (ps_mpack_precheck(buf, len, err, errlen)) return -1;
    in->p = buf;
    in->len = len;
    in->pos = 0;
    if (ps_mpack_rd_next(&root, &o)) return -1;
    return ps_mpack_rd_open(r, in, &o, arity, 0, NULL, name, err, errlen);
}

int ps_mpack_rd_bad_array(struct ps_mpack_rd *r, const msgpack_object *o, uint32_t arity, uint32_t max)
{
    char got[64];

    if (o->type != MSGPACK_OBJECT_ARRAY) {
        mpack_describe(o, got, sizeof got);
        return ps_mpack_rd_err(r, NULL, 0, "expected an array, got %s", got);
    }
    if (arity)
        return ps_mpack_rd_err(r, NULL, 0, "expected %" PRIu32 " elements, got %" PRIu32, arity,
                               o->via.array.size);
    return ps_mpack_rd_err(r, NULL, 0, "%" PRIu32 " elements, at most %" PRIu32 " allowed",
                           o->via.array.size, max);
}

int ps_mpack_rd_missing(struct ps_mpack_rd *r)
{
    return ps_mpack_rd_err(r, NULL, 0, "missing element %" PRIu32, r->i);
}

int ps_mpack_rd_i64_bad(struct ps_mpack_rd *r, const char *field, const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return ps_mpack_rd_expected(r, field, "an integer", o);
    return ps_mpack_rd_err(r, field, 1, "%" PRIu64 " out of range (max %" PRId64 ")", o->via.u64,
                           INT64_MAX);
}

int ps_mpack_rd_f64(struct ps_mpack_rd *r, const char *field, double lo, double hi, double *out)
{
    msgpack_object o;
    double v;

    if (ps_mpack_rd_next(r, &o)) return -1;
    switch (o.type) {
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:          v = o.via.f64; break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: v = (double)o.via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: v = (double)o.via.i64; break;
    default: return ps_mpack_rd_expected(r, field, "a number", &o);
    }
    if (!isfinite(v) || v < lo || v > hi)
        return ps_mpack_rd_err(r, field, 1, "%g out of range [%g, %g]", v, lo, hi);
    *out = v;
    return 0;
}

int ps_mpack_rd_str(struct ps_mpack_rd *r, const char *field, char *dst, size_t cap)
{
    msgpack_object o;
    uint32_t n;

    if (ps_mpack_rd_next(r, &o)) return -1;
    if (o.type != MSGPACK_OBJECT_STR)
        return ps_mpack_rd_expected(r, field, "a string", &o);
    n = o.via.str.size;
    if (n >= cap)
        return ps_mpack_rd_err(r, field, 1, "string of %" PRIu32 " bytes is too long (max %zu)", n, cap - 1);
    if (n && memchr(o.via.str.ptr, 0, n))
        return ps_mpack_rd_err(r, field, 1, "string contains a NUL byte");
    if (n) memcpy(dst, o.via.str.ptr, n);
    dst[n] = 0;
    return 0;
}

int ps_mpack_pack_str(msgpack_packer *pk, const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);

    if (n == cap) return -1;
    return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, s, n);
}

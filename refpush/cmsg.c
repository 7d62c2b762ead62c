/* refpush cmsg: reading strict-mode client messages.
 *
 * A strict-mode client talks in flat JSON objects whose "type" says what they
 * are: login (with "token"), ping (with "seq"), ack (with "id"). This reader
 * walks the object once, in place, allocating nothing, and picks out those
 * fields; any other member is skipped whatever its value (nested objects and
 * arrays included, up to REFPUSH_CMSG_DEPTH levels), so a client that sends
 * more than refpush needs is not refused. Numbers must be non-negative
 * integers below 2^63 (what the agent's seq and refpush's ids are). Members
 * may come in any order; a repeated member keeps its last value.
 *
 * Why not cJSON (the agent's parser; weighed when this was reviewed): a
 * cJSON reader would hold numbers as doubles, so an id of 2^63-1 and one of
 * 2^63 read the same (an ack for the wrong message, and no refusal), it would
 * take "01" as 1 and keep the first of a repeated member, and its errors say
 * only where, not what was expected: each a behaviour test_cmsg.c asserts.
 * It would also allocate 7 times per message on the ack path, where refpush
 * reads one message per delivered push. In time it would not matter much:
 * bench/cmsg.sh measured 19-36 ns per message here against 132-154 ns with
 * cJSON, and refpush spends ~11 us of CPU per JSON ping it reads and answers
 * (2,000 connections, 20,000 pings/s), so about 1%. To keep the two readers
 * from disagreeing, tests/unit/refpush/test_cmsg_oracle.c checks this one
 * against cJSON on thousands of generated messages and their one-byte changes.
 *
 * The login token scheme is deliberately simple and deterministic, so that a
 * test can write the credentials CSV for any number of users without asking
 * refpush: the token of uid N is "<secret>-N". It is a reference service, not
 * an authentication scheme. */
#include "cmsg.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define REFPUSH_CMSG_DEPTH 16

struct refpush_cmsg_rd {
    const char *start, *p, *end;
    char  *err;
    size_t errlen;
};

static int refpush_cmsg_fail(struct refpush_cmsg_rd *r, const char *what)
{
    snprintf(r->err, r->errlen, "%s at byte %zu", what, (size_t)(r->p - r->start));
    return -1;
}

static void refpush_cmsg_ws(struct refpush_cmsg_rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

/* A string at r->p: its contents (escapes kept) in *s and *n. */
static int refpush_cmsg_string(struct refpush_cmsg_rd *r, const char **s, size_t *n)
{
    if (r->p >= r->end || *r->p != '"')
        return -1;
    const char *start = ++r->p;
    while (r->p < r->end && *r->p != '"') {
        if (*r->p == '\\')
            r->p++;
        r->p++;
    }
    if (r->p >= r->end)
        return -1;
    *s = start;
    *n = (size_t)(r->p - start);
    r->p++;
    return 0;
}

/* On failure r->p is left at the number, for the message. */
static int refpush_cmsg_uint(struct refpush_cmsg_rd *r, uint64_t *v)
{
    uint64_t x = 0;
    const char *start = r->p, *p = r->p;
    for (; p < r->end && *p >= '0' && *p <= '9'; p++) {
        if (x > (INT64_MAX - (uint64_t)(*p - '0')) / 10)
            return -1;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    if (p == start || (p - start > 1 && *start == '0'))
        return -1;
    if (p < r->end && (*p == '.' || *p == 'e' || *p == 'E'))
        return -1;
    r->p = p;
    *v = x;
    return 0;
}

/* Skips any value: a string, or everything up to the next ',' '}' ']' at
 * this level (numbers, literals, nested containers). */
static int refpush_cmsg_skip(struct refpush_cmsg_rd *r)
{
    const char *s;
    size_t n;
    int depth = 0;
    while (r->p < r->end) {
        char c = *r->p;
        if (c == '"') {
            if (refpush_cmsg_string(r, &s, &n))
                return -1;
            if (depth == 0)
                return 0;
            continue;
        }
        if (c == '{' || c == '[') {
            if (++depth > REFPUSH_CMSG_DEPTH)
                return -1;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return 0;
            if (--depth == 0) {
                r->p++;
                return 0;
            }
        } else if (c == ',' && depth == 0) {
            return 0;
        }
        r->p++;
    }
    return depth ? -1 : 0;
}

static int refpush_cmsg_is(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static int refpush_cmsg_member(struct refpush_cmsg_rd *r, struct refpush_cmsg *m)
{
    const char *key, *s;
    size_t kn, n;
    if (refpush_cmsg_string(r, &key, &kn))
        return refpush_cmsg_fail(r, "expected a member name");
    refpush_cmsg_ws(r);
    if (r->p >= r->end || *r->p != ':')
        return refpush_cmsg_fail(r, "expected ':'");
    r->p++;
    refpush_cmsg_ws(r);
    int is_str = r->p < r->end && *r->p == '"';
    /* an unterminated string leaves s and n unset: stop there (a "type" cut
     * short compared stale memory; tests/fuzz/corpus/refpush_http/crash-e75f...) */
    if (refpush_cmsg_is(key, kn, "type") && is_str) {
        if (refpush_cmsg_string(r, &s, &n))
            return refpush_cmsg_fail(r, "unterminated string");
        m->type = refpush_cmsg_is(s, n, "login") ? REFPUSH_CMSG_LOGIN
                : refpush_cmsg_is(s, n, "ping")  ? REFPUSH_CMSG_PING
                : refpush_cmsg_is(s, n, "ack")   ? REFPUSH_CMSG_ACK : REFPUSH_CMSG_OTHER;
    } else if (refpush_cmsg_is(key, kn, "token") && is_str) {
        if (refpush_cmsg_string(r, &m->token, &m->token_len))
            return refpush_cmsg_fail(r, "unterminated string");
        m->has_token = 1;
    } else if ((refpush_cmsg_is(key, kn, "seq") || refpush_cmsg_is(key, kn, "id")) &&
               r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        int is_seq = kn == 3;
        if (refpush_cmsg_uint(r, is_seq ? &m->seq : &m->id))
            return refpush_cmsg_fail(r, is_seq ? "\"seq\": expected an integer below 2^63"
                                               : "\"id\": expected an integer below 2^63");
        if (is_seq)
            m->has_seq = 1;
        else
            m->has_id = 1;
    } else if (refpush_cmsg_skip(r)) {
        return refpush_cmsg_fail(r, "bad value");
    }
    refpush_cmsg_ws(r);
    return 0;
}

int refpush_cmsg_parse(const char *s, size_t len, struct refpush_cmsg *m, char *err, size_t errlen)
{
    struct refpush_cmsg_rd r = { .start = s, .p = s, .end = s + len, .err = err, .errlen = errlen };
    memset(m, 0, sizeof *m);
    refpush_cmsg_ws(&r);
    if (r.p >= r.end || *r.p != '{')
        return refpush_cmsg_fail(&r, "not a JSON object");
    r.p++;
    refpush_cmsg_ws(&r);
    if (r.p < r.end && *r.p == '}') {
        r.p++;
    } else {
        for (;;) {
            if (refpush_cmsg_member(&r, m))
                return -1;
            if (r.p < r.end && *r.p == ',') {
                r.p++;
                refpush_cmsg_ws(&r);
                continue;
            }
            if (r.p < r.end && *r.p == '}') {
                r.p++;
                break;
            }
            return refpush_cmsg_fail(&r, "expected ',' or '}'");
        }
    }
    refpush_cmsg_ws(&r);
    if (r.p != r.end)
        return refpush_cmsg_fail(&r, "text after the object");
    const char *missing = m->type == REFPUSH_CMSG_LOGIN && !m->has_token ? "login without \"token\""
                        : m->type == REFPUSH_CMSG_PING && !m->has_seq    ? "ping without \"seq\""
                        : m->type == REFPUSH_CMSG_ACK && !m->has_id      ? "ack without \"id\""
                        : NULL;
    if (missing) {
        snprintf(err, errlen, "%s", missing);
        return -1;
    }
    return 0;
}

int refpush_login_token_ok(const char *secret, uint64_t uid, const char *token, size_t len)
{
    char want[256];
    int n = snprintf(want, sizeof want, "%s-%" PRIu64, secret, uid);
    return n > 0 && (size_t)n < sizeof want && (size_t)n == len && memcmp(want, token, len) == 0;
}

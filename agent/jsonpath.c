/* jsonpath.c: the value at a dotted path of a JSON text, found without a tree.
 *
 * Acks of a service's own ids read the id out of every pushed message, which
 * is the receive hot path: cJSON (the session matchers' parser) allocates a
 * node per value, so this walks the text instead. It descends along the path
 * (object members by name, array elements by a segment of digits, as
 * agent_script_json_at does for session expects), skips every other value
 * without looking inside more than its brackets and strings need, and stops
 * at the value found: the rest of the message is not read, so text after it
 * is not validated. Nesting deeper than AGENT_JSON_DEPTH matches nothing; that
 * bound keeps the recursion's stack small. A string comes back unescaped
 * (\uXXXX as UTF-8), anything else as its text as written. Nothing is
 * allocated. */
#include "agent.h"

#include <ctype.h>
#include <string.h>

#define AGENT_JSON_DEPTH 32

struct agent_json_cur {
    const char *p, *end;
};

static void agent_json_ws(struct agent_json_cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int agent_json_hex4(const char *p, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        if (!isxdigit((unsigned char)p[i]))
            return -1;
        *v = *v * 16 + (uint32_t)(isdigit((unsigned char)p[i]) ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10);
    }
    return 0;
}

static size_t agent_json_utf8(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string at c->p (its opening quote): unescaped into out (NULL: only
 * skipped), NUL-terminated; -1 when malformed or longer than cap - 1. */
static int agent_json_string(struct agent_json_cur *c, char *out, size_t cap, size_t *n)
{
    size_t o = 0;
    c->p++;
    while (c->p < c->end && *c->p != '"') {
        char tmp[4];
        const char *src = c->p;
        size_t k = 1;
        if (*c->p == '\\') {
            if (c->end - c->p < 2)
                return -1;
            static const char esc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
            const char *e = NULL;
            for (size_t i = 0; i + 1 < sizeof esc; i += 2)
                if (esc[i] == c->p[1])
                    e = &esc[i + 1];
            if (e) {
                src = e;
                c->p += 2;
            } else if (c->p[1] == 'u' && c->end - c->p >= 6) {
                uint32_t cp, lo;
                if (agent_json_hex4(c->p + 2, &cp))
                    return -1;
                c->p += 6;
                if (cp >= 0xd800 && cp < 0xdc00 && c->end - c->p >= 6 && c->p[0] == '\\' &&
                    c->p[1] == 'u' && !agent_json_hex4(c->p + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    c->p += 6;
                }
                k = agent_json_utf8(cp, tmp);
                src = tmp;
            } else {
                return -1;
            }
        } else {
            c->p++;
        }
        if (out) {
            if (o + k >= cap)
                return -1;
            memcpy(out + o, src, k);
        }
        o += k;
    }
    if (c->p >= c->end)
        return -1;
    c->p++;
    if (out)
        out[o] = 0;
    if (n)
        *n = o;
    return 0;
}

static int agent_json_skip(struct agent_json_cur *c, int depth)
{
    agent_json_ws(c);
    if (c->p >= c->end || depth > AGENT_JSON_DEPTH)
        return -1;
    if (*c->p == '"')
        return agent_json_string(c, NULL, 0, NULL);
    if (*c->p == '{' || *c->p == '[') {
        char close = *c->p == '{' ? '}' : ']';
        c->p++;
        agent_json_ws(c);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return 0;
        }
        for (;;) {
            if (close == '}') {
                agent_json_ws(c);
                if (c->p >= c->end || *c->p != '"' || agent_json_string(c, NULL, 0, NULL))
                    return -1;
                agent_json_ws(c);
                if (c->p >= c->end || *c->p++ != ':')
                    return -1;
            }
            if (agent_json_skip(c, depth + 1))
                return -1;
            agent_json_ws(c);
            if (c->p >= c->end)
                return -1;
            if (*c->p == close) {
                c->p++;
                return 0;
            }
            if (*c->p++ != ',')
                return -1;
        }
    }
    /* a number or a literal: the characters they are made of */
    const char *start = c->p;
    while (c->p < c->end && (isalnum((unsigned char)*c->p) || strchr("+-.", *c->p)))
        c->p++;
    return c->p > start ? 0 : -1;
}

static int agent_json_at(struct agent_json_cur *c, const char *path, char *out, size_t cap,
                         size_t *n, int depth)
{
    agent_json_ws(c);
    if (c->p >= c->end || depth > AGENT_JSON_DEPTH)
        return -1;
    if (!*path) {
        if (*c->p == '"')
            return agent_json_string(c, out, cap, n);
        const char *start = c->p;
        if (agent_json_skip(c, depth))
            return -1;
        size_t len = (size_t)(c->p - start);
        if (len >= cap)
            return -1;
        memcpy(out, start, len);
        out[len] = 0;
        *n = len;
        return 0;
    }
    size_t seg = strcspn(path, ".");
    const char *rest = path + seg + (path[seg] == '.');
    if (*c->p == '{') {
        c->p++;
        for (;;) {
            char key[PS_TEXT_MAX];
            size_t klen;
            agent_json_ws(c);
            if (c->p >= c->end || *c->p != '"' || agent_json_string(c, key, sizeof key, &klen))
                return -1;
            agent_json_ws(c);
            if (c->p >= c->end || *c->p++ != ':')
                return -1;
            if (klen == seg && !memcmp(key, path, seg))
                return agent_json_at(c, rest, out, cap, n, depth + 1);
            if (agent_json_skip(c, depth + 1))
                return -1;
            agent_json_ws(c);
            if (c->p >= c->end || *c->p++ != ',')
                return -1;   /* '}' too: the member is not there */
        }
    }
    if (*c->p == '[') {
        uint32_t idx = 0;
        for (size_t i = 0; i < seg; i++) {
            if (!isdigit((unsigned char)path[i]) || idx > 100000000)
                return -1;
            idx = idx * 10 + (uint32_t)(path[i] - '0');
        }
        if (!seg)
            return -1;
        c->p++;
        for (uint32_t i = 0;; i++) {
            if (i == idx)
                return agent_json_at(c, rest, out, cap, n, depth + 1);
            if (agent_json_skip(c, depth + 1))
                return -1;
            agent_json_ws(c);
            if (c->p >= c->end || *c->p++ != ',')
                return -1;
        }
    }
    return -1;
}

int agent_json_find(const char *msg, size_t len, const char *path, char *out, size_t cap,
                    size_t *n)
{
    struct agent_json_cur c = {msg, msg + len};
    if (!cap)
        return -1;
    return agent_json_at(&c, path, out, cap, n, 0);
}

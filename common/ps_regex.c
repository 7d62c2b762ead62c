/* ps_regex: an upper bound of a regex's compiled size, from its text alone.
 *
 * One pass over the pattern with a stack of open groups. Each group keeps the
 * positions summed so far and the size of its last atom; a repetition
 * multiplies that last atom, a closing parenthesis turns the group's sum into
 * the last atom of its parent. Alternatives are summed (a bound, not exact).
 * Counting '+' twice and "{m,}" as m + 1 copies follows how regcomp expands
 * them. Groups nested deeper than the stack count as too big. */
#include "ps_regex.h"

#include <ctype.h>
#include <stddef.h>

#define PS_REGEX_DEPTH 64
#define PS_REGEX_SAT   (UINT64_MAX / 2)

struct ps_regex_group {
    uint64_t sum;
    uint64_t last;
};

static uint64_t ps_regex_mul(uint64_t a, uint64_t b)
{
    if (a && b > PS_REGEX_SAT / a)
        return PS_REGEX_SAT;
    return a * b;
}

static uint64_t ps_regex_add(uint64_t a, uint64_t b)
{
    return a > PS_REGEX_SAT - b ? PS_REGEX_SAT : a + b;
}

/* "{m}", "{m,}", "{m,n}" at s: the copies it makes (0 if not an interval), *end after '}'. */
static uint64_t ps_regex_interval(const char *s, const char **end)
{
    uint64_t m = 0, n = 0;
    const char *q = s + 1;
    if (!isdigit((unsigned char)*q))
        return 0;
    while (isdigit((unsigned char)*q))
        m = ps_regex_add(ps_regex_mul(m, 10), (uint64_t)(*q++ - '0'));
    if (*q == ',') {
        q++;
        if (*q == '}') {
            n = ps_regex_add(m, 1);
        } else {
            while (isdigit((unsigned char)*q))
                n = ps_regex_add(ps_regex_mul(n, 10), (uint64_t)(*q++ - '0'));
        }
    }
    if (*q != '}')
        return 0;
    *end = q + 1;
    return (n > m ? n : m) ? (n > m ? n : m) : 1;
}

/* After the '[' at s: the end of the bracket expression ("[]a]", "[^]a]", "[[:alpha:]]"). */
static const char *ps_regex_bracket(const char *s)
{
    const char *q = s + 1;
    if (*q == '^')
        q++;
    if (*q == ']')
        q++;
    while (*q && *q != ']') {
        if (q[0] == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
            char kind = q[1];
            q += 2;
            while (*q && !(q[0] == kind && q[1] == ']'))
                q++;
            if (*q)
                q += 2;
            continue;
        }
        q++;
    }
    return *q ? q + 1 : q;
}

uint64_t ps_regex_positions(const char *src)
{
    struct ps_regex_group st[PS_REGEX_DEPTH] = {{0, 0}};
    int depth = 0;
    for (const char *s = src; *s;) {
        struct ps_regex_group *g = &st[depth];
        const char *end = s + 1;
        uint64_t copies = 0;
        switch (*s) {
        case '(':
            if (depth + 1 == PS_REGEX_DEPTH)
                return PS_REGEX_SAT;      /* past any real pattern: too big, whatever follows */
            st[++depth] = (struct ps_regex_group){0, 0};
            break;
        case ')':
            if (depth > 0) {
                uint64_t inner = st[depth].sum ? st[depth].sum : 1;
                g = &st[--depth];
                g->last = inner;
                g->sum = ps_regex_add(g->sum, inner);
            }
            break;
        case '*':
        case '?':
            break;
        case '+':
            copies = 2;
            break;
        case '{':
            copies = ps_regex_interval(s, &end);
            if (!copies) {
                g->last = 1;
                g->sum = ps_regex_add(g->sum, 1);
            }
            break;
        case '[':
            end = ps_regex_bracket(s);
            g->last = 1;
            g->sum = ps_regex_add(g->sum, 1);
            break;
        case '\\':
            if (s[1])
                end = s + 2;
            g->last = 1;
            g->sum = ps_regex_add(g->sum, 1);
            break;
        default:
            g->last = 1;
            g->sum = ps_regex_add(g->sum, 1);
            break;
        }
        if (copies > 1) {
            g->sum = ps_regex_add(g->sum, ps_regex_mul(g->last, copies - 1));
            g->last = ps_regex_mul(g->last, copies);
        }
        s = end;
    }
    uint64_t total = 0;
    for (int d = 0; d <= depth; d++)
        total = ps_regex_add(total, st[d].sum);
    return total;
}

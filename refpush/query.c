/* refpush query: the few values refpush reads from URLs and the command line.
 *
 * lws splits the query string into '&'-separated fragments of the
 * WSI_TOKEN_HTTP_URI_ARGS header, already URL-decoded; refpush_query_get finds
 * "name=value" among them. lws_hdr_copy_fragment() fails the same way for "no
 * such fragment" and "fragment does not fit", so the whole query string is
 * bounded first (REFPUSH_QUERY_MAX) and the copy buffer is that big: then every
 * fragment fits and a failure can only mean the end.
 *
 * The number parsers are strict (digits only: no sign, blanks, exponent, hex or
 * trailing junk) because a load test that silently pushes to uid 0 after a typo
 * measures nothing. Their error messages quote the bad input, cut to
 * REFPUSH_QUERY_ECHO bytes. */
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#define REFPUSH_QUERY_ECHO 40

enum refpush_query_rc refpush_query_get(struct lws *wsi, const char *name, char *buf, size_t len)
{
    char frag[REFPUSH_QUERY_MAX + 1];
    int total = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    if (total <= 0)
        return REFPUSH_QUERY_ABSENT;
    if (total >= REFPUSH_QUERY_MAX)
        return REFPUSH_QUERY_TOO_LONG;
    size_t nlen = strlen(name);
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) >= 0;
         i++) {
        if (strncmp(frag, name, nlen) != 0 || (frag[nlen] != '=' && frag[nlen] != '\0'))
            continue;
        const char *v = frag[nlen] == '=' ? frag + nlen + 1 : frag + nlen;
        size_t vlen = strlen(v);
        if (vlen >= len)
            return REFPUSH_QUERY_TOO_LONG;
        memcpy(buf, v, vlen + 1);
        return REFPUSH_QUERY_FOUND;
    }
    return REFPUSH_QUERY_ABSENT;
}

/* Digits only, value <= max. */
static int refpush_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int refpush_parse_uid(const char *s, uint64_t *out, char *err, size_t errlen)
{
    if (refpush_parse_u64(s, strlen(s), (uint64_t)INT64_MAX, out) == 0)
        return 0;
    snprintf(err, errlen, "uid: expected a non-negative integer below 2^63, got \"%.*s\"",
             REFPUSH_QUERY_ECHO, s);
    return -1;
}

int refpush_parse_fraction(const char *s, double *out, char *err, size_t errlen)
{
    /* digits, optionally one '.' and more digits; strtod only after that check,
     * so "1e-1", "inf", " 0.5" and "0x1p-1" are refused */
    size_t digits = 0, dots = 0, i;
    for (i = 0; s[i]; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (s[i] == '.' && dots == 0)
            dots++;
        else
            break;
    }
    if (s[i] == '\0' && digits > 0 && i <= 32) {
        double v = strtod(s, NULL);
        if (v >= 0.0 && v <= 1.0) {
            *out = v;
            return 0;
        }
    }
    snprintf(err, errlen, "fraction: expected a number from 0 to 1 like 0.25, got \"%.*s\"",
             REFPUSH_QUERY_ECHO, s);
    return -1;
}

static int refpush_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int refpush_parse_nth_list(const char *s, uint64_t **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (*s == '\0')
        return 0;
    size_t count = 1;
    for (const char *p = s; *p; p++)
        count += *p == ',';
    if (count > REFPUSH_NTH_MAX) {
        snprintf(err, errlen, "nth: at most %d ordinals, got %zu", REFPUSH_NTH_MAX, count);
        return -1;
    }
    uint64_t *v = malloc(count * sizeof *v);
    if (!v) {
        snprintf(err, errlen, "nth: out of memory");
        return -1;
    }
    size_t k = 0;
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (refpush_parse_u64(p, len, UINT64_MAX, &v[k]) || v[k] == 0) {
            snprintf(err, errlen,
                     "nth: expected a comma-separated list of positive integers like 3,17,40; "
                     "item %zu is \"%.*s\"", k + 1, (int)(len < REFPUSH_QUERY_ECHO ? len : REFPUSH_QUERY_ECHO), p);
            free(v);
            return -1;
        }
        k++;
        if (!comma)
            break;
        p = comma + 1;
    }
    qsort(v, k, sizeof *v, refpush_cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || v[u - 1] != v[i])
            v[u++] = v[i];
    *out = v;
    *n = u;
    return 0;
}

int refpush_parse_port(const char *s, int *out, char *err, size_t errlen)
{
    uint64_t v;
    if (refpush_parse_u64(s, strlen(s), 65535, &v) == 0) {
        *out = (int)v;
        return 0;
    }
    snprintf(err, errlen, "expected a TCP port number from 0 to 65535, got \"%.*s\"",
             REFPUSH_QUERY_ECHO, s);
    return -1;
}

/* ps_units.c: parsing and printing of durations, rates, counts and fractions.
 *
 * All four parsers share one decimal reader that turns "12.340" into an integer
 * mantissa (1234) and a count of fractional digits (2), without strtod: strtod
 * would accept "inf", "nan", hex floats, exponents, leading blanks and a locale
 * dependent decimal point, none of which belong in a plan. Trailing zeros of the
 * fraction are dropped so they never cost precision or cause overflow.
 *
 * Durations and counts are then computed exactly in 128-bit integer arithmetic
 * (mantissa * unit / 10^digits must divide evenly), so "1.5s" is exactly
 * 1500000us and "0.5us" or "1.2345k" are rejected instead of being rounded.
 * Rates and fractions are doubles: the mantissa is divided once by an exact
 * power of ten, so "99.9%" is the same double as 0.999.
 *
 * Every error message starts with what was expected ("expected a duration like
 * 250ms, 10s or 5m, got \"10 parsecs\"") and may add why, in parentheses. */
#include "ps_units.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define UNITS_SIG_DIGITS_MAX  20  /* enough for UINT64_MAX; the mantissa is 128-bit */
#define UNITS_FRAC_DIGITS_MAX 19  /* keeps 10^(frac+2) an exact double (<= 1e22) */
#define UNITS_ECHO_MAX       40   /* bytes of bad input quoted back in errors */

enum units_num_status {
    UNITS_NUM_OK = 0,
    UNITS_NUM_NONE,       /* no digits where a number should start */
    UNITS_NUM_NEGATIVE,   /* starts with '-' */
    UNITS_NUM_BAD_DOT,    /* "1." with no digit after the point */
    UNITS_NUM_TOO_LONG,   /* more significant digits than a u64 holds */
};

struct units_num {
    unsigned __int128 mant;  /* all significant digits as one integer */
    int      frac;        /* digits after the decimal point, at most 19 */
};

static const double units_pow10_dbl[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static unsigned __int128 units_pow10_u128(int n)
{
    unsigned __int128 p = 1;
    while (n-- > 0) p *= 10;
    return p;
}

/* Reads [0-9]+(\.[0-9]+)? at *sp and advances *sp past it. */
static enum units_num_status units_read_num(const char **sp, struct units_num *n)
{
    const char *s = *sp;
    int sig = 0, pending_zeros = 0;

    n->mant = 0;
    n->frac = 0;
    if (*s == '-') return UNITS_NUM_NEGATIVE;
    if (*s < '0' || *s > '9') return UNITS_NUM_NONE;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (n->mant == 0 && *s == '0') continue;          /* leading zeros are free */
        if (++sig > UNITS_SIG_DIGITS_MAX) return UNITS_NUM_TOO_LONG;
        n->mant = n->mant * 10 + (unsigned)(*s - '0');
    }
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9') return UNITS_NUM_BAD_DOT;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (*s == '0') { pending_zeros++; continue; }  /* only kept if a digit follows */
            for (; pending_zeros > 0; pending_zeros--) {
                if (n->mant != 0 && ++sig > UNITS_SIG_DIGITS_MAX) return UNITS_NUM_TOO_LONG;
                n->mant *= 10;
                if (++n->frac > UNITS_FRAC_DIGITS_MAX) return UNITS_NUM_TOO_LONG;
            }
            if (++sig > UNITS_SIG_DIGITS_MAX) return UNITS_NUM_TOO_LONG;
            n->mant = n->mant * 10 + (unsigned)(*s - '0');
            if (++n->frac > UNITS_FRAC_DIGITS_MAX) return UNITS_NUM_TOO_LONG;
        }
    }
    *sp = s;
    return UNITS_NUM_OK;
}

/* Copies s into out as a quoted string for messages, cut and made printable. */
static void units_quote(const char *s, char *out, size_t outlen)
{
    size_t n = strlen(s), i, o = 0;
    int cut = n > UNITS_ECHO_MAX;

    if (cut) n = UNITS_ECHO_MAX;
    if (outlen < 8) { if (outlen) out[0] = 0; return; }
    out[o++] = '"';
    for (i = 0; i < n && o + 5 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (cut) { out[o++] = '.'; out[o++] = '.'; out[o++] = '.'; }
    out[o++] = '"';
    out[o] = 0;
}

/* "expected <what>, got "<s>"[ (<why>)]", or "got an empty string". */
static int units_fail(char *err, size_t errlen, const char *what, const char *s, const char *why)
{
    char q[UNITS_ECHO_MAX + 8];

    if (!err || !errlen) return -1;
    if (*s == 0) {
        snprintf(err, errlen, "expected %s, got an empty string", what);
        return -1;
    }
    units_quote(s, q, sizeof q);
    if (why)
        snprintf(err, errlen, "expected %s, got %s (%s)", what, q, why);
    else
        snprintf(err, errlen, "expected %s, got %s", what, q);
    return -1;
}

static const char *units_num_why(enum units_num_status st, const char *noun)
{
    switch (st) {
    case UNITS_NUM_NEGATIVE:
        if (!strcmp(noun, "duration")) return "durations cannot be negative";
        if (!strcmp(noun, "rate"))     return "rates cannot be negative";
        if (!strcmp(noun, "count"))    return "counts cannot be negative";
        return "fractions cannot be negative";
    case UNITS_NUM_BAD_DOT:  return "a digit must follow the decimal point";
    case UNITS_NUM_TOO_LONG: return "too many digits";
    default:                 return NULL;
    }
}

/* ---------------------------------------------------------------- durations */

#define UNITS_DURATION_WHAT "a duration like 250ms, 10s or 5m"

int ps_units_parse_duration_us(const char *s, int64_t *out_us, char *err, size_t errlen)
{
    const char *p = s;
    struct units_num n;
    enum units_num_status st;
    uint64_t mult;
    unsigned __int128 num, den;

    if (!s) s = p = "";
    st = units_read_num(&p, &n);
    if (st != UNITS_NUM_OK)
        return units_fail(err, errlen, UNITS_DURATION_WHAT, s, units_num_why(st, "duration"));

    if (*p == 0 || !strcmp(p, "s"))           mult = 1000000;
    else if (!strcmp(p, "ms"))                mult = 1000;
    else if (!strcmp(p, "us") || !strcmp(p, "\xc2\xb5s")) mult = 1;
    else if (!strcmp(p, "m"))                 mult = 60ull * 1000000;
    else if (!strcmp(p, "h"))                 mult = 3600ull * 1000000;
    else
        return units_fail(err, errlen, UNITS_DURATION_WHAT, s, "units: us, ms, s, m, h");

    num = (unsigned __int128)n.mant * mult;
    den = units_pow10_u128(n.frac);
    if (num % den != 0)
        return units_fail(err, errlen, UNITS_DURATION_WHAT, s, "finer than 1us");
    num /= den;
    if (num > INT64_MAX)
        return units_fail(err, errlen, UNITS_DURATION_WHAT, s, "too large");
    *out_us = (int64_t)num;
    return 0;
}

/* -------------------------------------------------------------------- rates */

#define UNITS_RATE_WHAT "a rate like 2000/s, 500/m or 20k/s"

int ps_units_parse_rate(const char *s, double *out_per_s, char *err, size_t errlen)
{
    const char *p = s;
    struct units_num n;
    enum units_num_status st;
    double v, per = 1;

    if (!s) s = p = "";
    st = units_read_num(&p, &n);
    if (st != UNITS_NUM_OK)
        return units_fail(err, errlen, UNITS_RATE_WHAT, s, units_num_why(st, "rate"));

    v = (double)n.mant / units_pow10_dbl[n.frac];
    if (*p == 'k')      { v *= 1e3; p++; }
    else if (*p == 'M') { v *= 1e6; p++; }

    if (*p == 0 || !strcmp(p, "/s")) per = 1;
    else if (!strcmp(p, "/m"))       per = 60;
    else if (!strcmp(p, "/h"))       per = 3600;
    else
        return units_fail(err, errlen, UNITS_RATE_WHAT, s,
                          "a number with optional k or M, then /s, /m or /h");
    v /= per;
    if (!(v > 0))
        return units_fail(err, errlen, UNITS_RATE_WHAT, s, "must be more than zero");
    *out_per_s = v;
    return 0;
}

/* ------------------------------------------------------------------- counts */

#define UNITS_COUNT_WHAT "a count like 1000, 10k or 1M"

int ps_units_parse_count(const char *s, uint64_t *out, char *err, size_t errlen)
{
    const char *p = s;
    struct units_num n;
    enum units_num_status st;
    uint64_t mult = 1;
    unsigned __int128 num, den;

    if (!s) s = p = "";
    st = units_read_num(&p, &n);
    if (st != UNITS_NUM_OK)
        return units_fail(err, errlen, UNITS_COUNT_WHAT, s, units_num_why(st, "count"));

    if (*p == 'k')      { mult = 1000; p++; }
    else if (*p == 'M') { mult = 1000000; p++; }
    if (*p != 0) {
        const char *why = (p[0] == 'm' && p[1] == 0)
            ? "m would be ambiguous with minutes: use M for millions"
            : "digits with an optional k (thousand) or M (million) suffix";
        return units_fail(err, errlen, UNITS_COUNT_WHAT, s, why);
    }

    num = (unsigned __int128)n.mant * mult;
    den = units_pow10_u128(n.frac);
    if (num % den != 0)
        return units_fail(err, errlen, UNITS_COUNT_WHAT, s, "not a whole number");
    num /= den;
    if (num > UINT64_MAX)
        return units_fail(err, errlen, UNITS_COUNT_WHAT, s, "too large");
    *out = (uint64_t)num;
    return 0;
}

/* ---------------------------------------------------------------- fractions */

#define UNITS_FRACTION_WHAT "a fraction like 99.9% or 0.5"

int ps_units_parse_fraction(const char *s, double *out, char *err, size_t errlen)
{
    const char *p = s;
    struct units_num n;
    enum units_num_status st;
    int frac;
    double v;

    if (!s) s = p = "";
    st = units_read_num(&p, &n);
    if (st != UNITS_NUM_OK)
        return units_fail(err, errlen, UNITS_FRACTION_WHAT, s, units_num_why(st, "fraction"));

    frac = n.frac;
    if (*p == '%') { frac += 2; p++; }
    if (*p != 0)
        return units_fail(err, errlen, UNITS_FRACTION_WHAT, s,
                          "a number from 0 to 1, or a percentage from 0% to 100%");
    /* frac <= 19 + 2, and powers of ten up to 1e22 are exact doubles. */
    v = (double)n.mant / units_pow10_dbl[frac];
    if (v > 1)
        return units_fail(err, errlen, UNITS_FRACTION_WHAT, s,
                          "must be between 0 and 1, or 0% and 100%");
    *out = v;
    return 0;
}

/* --------------------------------------------------------------- formatting */

/* Three significant digits, trailing zeros dropped: 1.50 -> "1.5", 850 -> "850". */
static void units_fmt3(double v, const char *unit, const char *sign, char *buf, size_t len)
{
    char num[48];
    int dec = v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
    char *dot;

    snprintf(num, sizeof num, "%.*f", dec, v);
    dot = strchr(num, '.');
    if (dot) {
        char *end = num + strlen(num) - 1;
        while (end > dot && *end == '0') *end-- = 0;
        if (end == dot) *end = 0;
    }
    snprintf(buf, len, "%s%s%s", sign, num, unit);
}

char *ps_units_fmt_duration(int64_t us, char *buf, size_t len)
{
    const char *sign = us < 0 ? "-" : "";
    /* Negating in unsigned arithmetic keeps INT64_MIN defined. */
    uint64_t a = us < 0 ? 0 - (uint64_t)us : (uint64_t)us;

    if (!buf || !len) return buf;
    if (a < 1000) {
        snprintf(buf, len, "%s%" PRIu64 "us", sign, a);
    } else if (a < 999500) {
        units_fmt3((double)a / 1e3, "ms", sign, buf, len);
    } else if (a < 59500000) {
        units_fmt3((double)a / 1e6, "s", sign, buf, len);
    } else if (a < 3570000000ull) {                     /* below 59.5 minutes */
        uint64_t sec = (a + 500000) / 1000000;
        snprintf(buf, len, "%s%" PRIu64 "m%02" PRIu64 "s", sign, sec / 60, sec % 60);
    } else {
        uint64_t min = (a + 30000000) / 60000000;
        snprintf(buf, len, "%s%" PRIu64 "h%02" PRIu64 "m", sign, min / 60, min % 60);
    }
    return buf;
}

char *ps_units_fmt_count(double v, char *buf, size_t len)
{
    const char *sign = v < 0 ? "-" : "";
    double a = fabs(v);

    if (!buf || !len) return buf;
    if (isnan(v)) {
        snprintf(buf, len, "nan");
    } else if (isinf(v)) {
        snprintf(buf, len, "%sinf", sign);
    } else if (a < 10000) {
        if (a == floor(a))
            snprintf(buf, len, "%s%.0f", sign, a);
        else
            units_fmt3(a, "", sign, buf, len);
    } else if (a < 999500) {
        units_fmt3(a / 1e3, "k", sign, buf, len);
    } else if (a < 999500000) {
        units_fmt3(a / 1e6, "M", sign, buf, len);
    } else if (a < 999500000000) {
        units_fmt3(a / 1e9, "G", sign, buf, len);
    } else {
        snprintf(buf, len, "%s%.3g", sign, a);
    }
    return buf;
}

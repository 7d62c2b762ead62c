/* ps_hist.c: log-linear latency histogram (see ps_hist.h).
 *
 * Layout: values below 64 get one bucket each (bucket = value). Above that, a
 * value whose highest set bit is e (e >= 6) falls in "row" e - 5, and the 6 bits
 * just below the highest bit pick one of 64 linear sub-buckets in the row, so a
 * bucket is 1/64 of its power of two wide: at most 1.6% of the value. Row 1
 * (64..127) has width-1 buckets too, so everything below 128 is exact. Values of
 * 2^40 us and more land in the last bucket; min/max still hold them exactly.
 *
 * Bucket counters are 32 bits to keep the struct small enough to merge and ship
 * often (2240 buckets, ~9 KiB); they saturate instead of wrapping, which can only
 * happen after 4 billion samples in one bucket of one histogram.
 *
 * Quantiles use the nearest-rank definition (the smallest value v such that at
 * least q of the samples are <= v), answered with the midpoint of the bucket
 * holding that rank, clamped to [min, max] so a histogram of one repeated value
 * returns that value exactly. */
#include "ps_hist.h"

#include <math.h>
#include <string.h>

#define HIST_EXACT_BELOW   (2u * PS_HIST_SUB)        /* rows 0 and 1 are exact */
#define HIST_VALUE_LIMIT   (1ull << PS_HIST_MAX_EXP)

void ps_hist_init(struct ps_hist *h)
{
    memset(h, 0, sizeof *h);
}

uint32_t ps_hist_bucket_of(uint64_t v)
{
    unsigned e;

    if (v < PS_HIST_SUB) return (uint32_t)v;
    if (v >= HIST_VALUE_LIMIT) return PS_HIST_BUCKETS - 1;
    e = 63u - (unsigned)__builtin_clzll(v);
    return ((e - PS_HIST_SUB_BITS + 1) << PS_HIST_SUB_BITS)
         + (uint32_t)((v >> (e - PS_HIST_SUB_BITS)) & (PS_HIST_SUB - 1));
}

uint64_t ps_hist_bucket_low(uint32_t b)
{
    uint32_t row, sub;

    if (b >= PS_HIST_BUCKETS) b = PS_HIST_BUCKETS - 1;
    if (b < PS_HIST_SUB) return b;
    row = b >> PS_HIST_SUB_BITS;
    sub = b & (PS_HIST_SUB - 1);
    return (uint64_t)(PS_HIST_SUB + sub) << (row - 1);
}

/* Inclusive upper bound of the bucket. */
uint64_t ps_hist_bucket_high(uint32_t b)
{
    if (b >= PS_HIST_BUCKETS) b = PS_HIST_BUCKETS - 1;
    if (b < PS_HIST_SUB) return b;
    return ps_hist_bucket_low(b) + (1ull << ((b >> PS_HIST_SUB_BITS) - 1)) - 1;
}

void ps_hist_record(struct ps_hist *h, uint64_t v)
{
    uint32_t *c = &h->buckets[ps_hist_bucket_of(v)];

    /* count == 0 rather than a UINT64_MAX sentinel, so a zeroed struct is valid. */
    if (v < h->min || h->count == 0) h->min = v;
    if (v > h->max) h->max = v;
    h->count++;
    h->sum += v;
    *c += *c != UINT32_MAX;
}

void ps_hist_merge(struct ps_hist *into, const struct ps_hist *from)
{
    uint32_t i;

    if (from->count == 0) return;
    if (into->count == 0 || from->min < into->min) into->min = from->min;
    if (from->max > into->max) into->max = from->max;
    into->count += from->count;
    into->sum += from->sum;
    for (i = 0; i < PS_HIST_BUCKETS; i++) {
        uint32_t a = into->buckets[i], b = from->buckets[i];
        into->buckets[i] = a + b < a ? UINT32_MAX : a + b;
    }
}

uint64_t ps_hist_quantile(const struct ps_hist *h, double q)
{
    uint64_t rank, seen = 0, v;
    uint32_t b;

    if (h->count == 0) return 0;
    if (!(q > 0)) return h->min;            /* also catches NaN */
    if (q >= 1) return h->max;

    rank = (uint64_t)ceil(q * (double)h->count);
    if (rank < 1) rank = 1;
    if (rank > h->count) rank = h->count;

    for (b = 0; b < PS_HIST_BUCKETS; b++) {
        seen += h->buckets[b];
        if (seen >= rank) break;
    }
    if (b == PS_HIST_BUCKETS) return h->max;   /* saturated counters fell short */

    if (b < HIST_EXACT_BELOW)
        v = b;
    else
        v = ps_hist_bucket_low(b) + (ps_hist_bucket_high(b) - ps_hist_bucket_low(b)) / 2;
    if (v < h->min) v = h->min;
    if (v > h->max) v = h->max;
    return v;
}

double ps_hist_mean(const struct ps_hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}

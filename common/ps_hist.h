/* ps_hist: a fixed-size, mergeable log-linear histogram of microsecond values.
 *
 * Values are bucketed with ~1.6% relative precision (64 linear sub-buckets per
 * power of two) from 0 to 2^40 us (~12.7 days). The struct is plain memory: no
 * allocation on record, merge is element-wise addition, and it serialises as its
 * non-zero buckets. Recording is O(1) and branch-light so it sits on hot paths
 * (per message, per pong). */
#ifndef PS_HIST_H
#define PS_HIST_H

#include <stdint.h>
#include <stddef.h>

#define PS_HIST_SUB_BITS 6
#define PS_HIST_SUB      (1u << PS_HIST_SUB_BITS)
#define PS_HIST_MAX_EXP  40
#define PS_HIST_BUCKETS  ((PS_HIST_MAX_EXP - PS_HIST_SUB_BITS + 1) * PS_HIST_SUB)

struct ps_hist {
    uint64_t count;
    uint64_t sum;
    uint64_t min;
    uint64_t max;
    uint32_t buckets[PS_HIST_BUCKETS];
};

void     ps_hist_init(struct ps_hist *h);
void     ps_hist_record(struct ps_hist *h, uint64_t value_us);
void     ps_hist_merge(struct ps_hist *into, const struct ps_hist *from);
/* q in [0,1]; returns a value within the bucket precision; 0 when empty. */
uint64_t ps_hist_quantile(const struct ps_hist *h, double q);
double   ps_hist_mean(const struct ps_hist *h);

/* Bucket index <-> representative value, exposed for serialisation and tests. */
uint32_t ps_hist_bucket_of(uint64_t value_us);
uint64_t ps_hist_bucket_low(uint32_t bucket);
uint64_t ps_hist_bucket_high(uint32_t bucket);

#endif

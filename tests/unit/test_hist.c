/* test_hist.c: the log-linear histogram against exact answers.
 *
 * Percentiles are checked against the nearest-rank value of the sorted samples
 * for several random distributions (uniform, log-uniform over 7 decades, a
 * narrow cluster); bucket arithmetic is checked exhaustively near every power
 * of two. The generator is a local xorshift with fixed seeds, so a failure is
 * reproducible. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "ps_hist.h"

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t exact_quantile(const uint64_t *sorted, size_t n, double q)
{
    size_t rank = (size_t)ceil(q * (double)n);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

static void test_buckets_exact_below_128(void **state)
{
    uint64_t v;

    (void)state;
    for (v = 0; v < 128; v++) {
        uint32_t b = ps_hist_bucket_of(v);
        assert_int_equal(b, v);
        assert_int_equal(ps_hist_bucket_low(b), v);
        assert_int_equal(ps_hist_bucket_high(b), v);
    }
}

static void test_buckets_contiguous(void **state)
{
    uint32_t b;

    (void)state;
    assert_int_equal(ps_hist_bucket_low(0), 0);
    for (b = 0; b + 1 < PS_HIST_BUCKETS; b++) {
        uint64_t lo = ps_hist_bucket_low(b), hi = ps_hist_bucket_high(b);
        assert_true(lo <= hi);
        assert_int_equal(ps_hist_bucket_low(b + 1), hi + 1);
        assert_int_equal(ps_hist_bucket_of(lo), b);
        assert_int_equal(ps_hist_bucket_of(hi), b);
        /* relative width at most 1/64 */
        assert_true((hi - lo + 1) * 64 <= lo || lo < 128);
    }
    assert_int_equal(ps_hist_bucket_high(PS_HIST_BUCKETS - 1), (1ull << PS_HIST_MAX_EXP) - 1);
    assert_int_equal(ps_hist_bucket_of(1ull << PS_HIST_MAX_EXP), PS_HIST_BUCKETS - 1);
    assert_int_equal(ps_hist_bucket_of(UINT64_MAX), PS_HIST_BUCKETS - 1);
}

static void test_powers_of_two(void **state)
{
    unsigned e;

    (void)state;
    for (e = 6; e < PS_HIST_MAX_EXP; e++) {
        uint64_t p = 1ull << e;
        uint32_t b = ps_hist_bucket_of(p);
        assert_int_equal(ps_hist_bucket_low(b), p);
        assert_int_equal(ps_hist_bucket_of(p - 1), b - 1);
        assert_int_equal(ps_hist_bucket_high(b - 1), p - 1);
    }
}

static void test_empty_and_single(void **state)
{
    struct ps_hist h;

    (void)state;
    ps_hist_init(&h);
    assert_int_equal(ps_hist_quantile(&h, 0.5), 0);
    assert_true(ps_hist_mean(&h) == 0.0);

    ps_hist_record(&h, 123456);
    assert_int_equal(h.count, 1);
    assert_int_equal(h.min, 123456);
    assert_int_equal(h.max, 123456);
    /* clamped to [min, max]: one value comes back exactly */
    assert_int_equal(ps_hist_quantile(&h, 0.5), 123456);
    assert_int_equal(ps_hist_quantile(&h, 0.99), 123456);
    assert_true(ps_hist_mean(&h) == 123456.0);
}

static void test_zeroed_struct_is_valid(void **state)
{
    struct ps_hist *h = calloc(1, sizeof *h);

    (void)state;
    assert_non_null(h);
    ps_hist_record(h, 500);
    ps_hist_record(h, 300);
    assert_int_equal(h->min, 300);
    assert_int_equal(h->max, 500);
    assert_int_equal(h->sum, 800);
    free(h);
}

static void test_small_values_exact(void **state)
{
    struct ps_hist h;
    uint64_t v;

    (void)state;
    ps_hist_init(&h);
    for (v = 1; v <= 100; v++) ps_hist_record(&h, v);
    assert_int_equal(ps_hist_quantile(&h, 0.5), 50);
    assert_int_equal(ps_hist_quantile(&h, 0.9), 90);
    assert_int_equal(ps_hist_quantile(&h, 0.99), 99);
    assert_int_equal(ps_hist_quantile(&h, 0.01), 1);
    assert_int_equal(ps_hist_quantile(&h, 0), 1);
    assert_int_equal(ps_hist_quantile(&h, 1), 100);
    assert_int_equal(ps_hist_quantile(&h, NAN), 1);
    assert_true(ps_hist_mean(&h) == 50.5);
}

enum dist { DIST_UNIFORM, DIST_LOG, DIST_CLUSTER };

static uint64_t draw(uint64_t *s, enum dist d)
{
    double u = (double)(rng_next(s) >> 11) / 9007199254740992.0;
    switch (d) {
    case DIST_UNIFORM: return (uint64_t)(u * 5e6);
    case DIST_LOG:     return (uint64_t)pow(10, u * 7);        /* 1us .. 10s */
    default:           return 20000 + (uint64_t)(u * 300);     /* 20.0..20.3ms */
    }
}

static void check_dist(enum dist d, uint64_t seed)
{
    enum { N = 100000 };
    static const double qs[] = { 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999 };
    uint64_t *vals = malloc(N * sizeof *vals);
    struct ps_hist *h = malloc(sizeof *h);
    uint64_t s = seed, sum = 0;
    size_t i;

    assert_non_null(vals);
    assert_non_null(h);
    ps_hist_init(h);
    for (i = 0; i < N; i++) {
        vals[i] = draw(&s, d);
        sum += vals[i];
        ps_hist_record(h, vals[i]);
    }
    qsort(vals, N, sizeof *vals, cmp_u64);
    assert_int_equal(h->count, N);
    assert_int_equal(h->sum, sum);
    assert_int_equal(h->min, vals[0]);
    assert_int_equal(h->max, vals[N - 1]);
    for (i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        uint64_t want = exact_quantile(vals, N, qs[i]);
        uint64_t got = ps_hist_quantile(h, qs[i]);
        double rel = want ? fabs((double)got - (double)want) / (double)want : (double)got;
        if (rel > 0.02)
            fail_msg("dist %d q=%g: histogram %llu, exact %llu (%.2f%%)", (int)d, qs[i],
                     (unsigned long long)got, (unsigned long long)want, rel * 100);
    }
    free(vals);
    free(h);
}

static void test_quantiles_uniform(void **state) { (void)state; check_dist(DIST_UNIFORM, 0x9e3779b97f4a7c15ull); }
static void test_quantiles_log(void **state)     { (void)state; check_dist(DIST_LOG, 12345); }
static void test_quantiles_cluster(void **state) { (void)state; check_dist(DIST_CLUSTER, 777); }

static void test_merge(void **state)
{
    struct ps_hist *a = malloc(sizeof *a), *b = malloc(sizeof *b), *all = malloc(sizeof *all);
    struct ps_hist *empty = malloc(sizeof *empty);
    uint64_t s = 99;
    int i;

    (void)state;
    assert_true(a && b && all && empty);
    ps_hist_init(a);
    ps_hist_init(b);
    ps_hist_init(all);
    ps_hist_init(empty);
    for (i = 0; i < 50000; i++) {
        uint64_t v = draw(&s, DIST_LOG);
        ps_hist_record(i % 3 ? a : b, v);
        ps_hist_record(all, v);
    }
    ps_hist_merge(a, b);
    assert_memory_equal(a, all, sizeof *a);

    /* merging an empty histogram changes nothing; merging into one copies */
    ps_hist_merge(a, empty);
    assert_memory_equal(a, all, sizeof *a);
    ps_hist_merge(empty, all);
    assert_memory_equal(empty, all, sizeof *a);
    free(a);
    free(b);
    free(all);
    free(empty);
}

static void test_huge_values(void **state)
{
    struct ps_hist h;

    (void)state;
    ps_hist_init(&h);
    ps_hist_record(&h, UINT64_MAX / 4);
    ps_hist_record(&h, 1ull << 45);
    assert_int_equal(h.buckets[PS_HIST_BUCKETS - 1], 2);
    assert_int_equal(h.max, UINT64_MAX / 4);
    assert_int_equal(ps_hist_quantile(&h, 1), UINT64_MAX / 4);
    /* the bucket cannot tell them apart, so the answer is clamped to min */
    assert_int_equal(ps_hist_quantile(&h, 0.5), 1ull << 45);
}

static void test_bucket_saturates(void **state)
{
    struct ps_hist h;

    (void)state;
    ps_hist_init(&h);
    h.buckets[10] = UINT32_MAX - 1;
    h.count = UINT32_MAX - 1;
    h.min = h.max = 10;
    ps_hist_record(&h, 10);
    ps_hist_record(&h, 10);
    assert_int_equal(h.buckets[10], UINT32_MAX);
    ps_hist_merge(&h, &h);
    assert_int_equal(h.buckets[10], UINT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets_exact_below_128),
        cmocka_unit_test(test_buckets_contiguous),
        cmocka_unit_test(test_powers_of_two),
        cmocka_unit_test(test_empty_and_single),
        cmocka_unit_test(test_zeroed_struct_is_valid),
        cmocka_unit_test(test_small_values_exact),
        cmocka_unit_test(test_quantiles_uniform),
        cmocka_unit_test(test_quantiles_log),
        cmocka_unit_test(test_quantiles_cluster),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_huge_values),
        cmocka_unit_test(test_bucket_saturates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

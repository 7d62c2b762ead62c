/* bench/cmsg/cmsg_vs_cjson.c: refpush's reader of strict-mode client messages
 * (refpush/cmsg.c) against cJSON on the same messages, per message: time and
 * allocations. refpush reads one such message per heartbeat and, with
 * --require-ack, one ack per delivered push, so this is its per-message cost
 * of reading JSON. The cJSON side does what a cJSON-based cmsg would do: parse
 * with the length, look up type and the type's field, delete the tree. Not a
 * timed test: figures only (docs/performance.md). */
#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmsg.h"

#define BENCH_N 2000000

struct bench_count { long allocs; };
static struct bench_count *bench_counter;   /* cJSON's hooks take no context */

static void *bench_malloc(size_t n)
{
    bench_counter->allocs++;
    return malloc(n);
}

static double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t bench_cjson(const char *s, size_t len)
{
    static const char *const field[] = {"id", "seq", "token"};
    uint64_t v = 0;
    cJSON *o = cJSON_ParseWithLength(s, len);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    if (cJSON_IsString(t)) {
        int k = !strcmp(t->valuestring, "ack") ? 0 : !strcmp(t->valuestring, "ping") ? 1 : 2;
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, field[k]);
        v = cJSON_IsNumber(f) ? (uint64_t)f->valuedouble : cJSON_IsString(f) ? strlen(f->valuestring) : 0;
    }
    cJSON_Delete(o);
    return v;
}

int main(void)
{
    static const char *const msgs[] = {
        "{\"type\":\"ack\",\"id\":123456}",
        "{\"type\":\"ping\",\"seq\":42}",
        "{\"type\":\"login\",\"token\":\"s3cret-123456\"}",
    };
    struct bench_count count = {0};
    bench_counter = &count;
    cJSON_Hooks hooks = {bench_malloc, free};
    cJSON_InitHooks(&hooks);
    for (size_t k = 0; k < sizeof msgs / sizeof msgs[0]; k++) {
        size_t len = strlen(msgs[k]);
        struct refpush_cmsg m;
        char err[96];
        volatile uint64_t sink = 0;
        double t0 = bench_now();
        for (int i = 0; i < BENCH_N; i++) {
            refpush_cmsg_parse(msgs[k], len, &m, err, sizeof err);
            sink += m.id + m.seq + m.token_len;
        }
        double t1 = bench_now();
        count.allocs = 0;
        for (int i = 0; i < BENCH_N; i++)
            sink += bench_cjson(msgs[k], len);
        double t2 = bench_now();
        printf("%-42s cmsg %5.1f ns, 0 allocations   cJSON %5.1f ns, %.0f allocations\n", msgs[k],
               (t1 - t0) / BENCH_N * 1e9, (t2 - t1) / BENCH_N * 1e9,
               (double)count.allocs / BENCH_N);
    }
    return 0;
}

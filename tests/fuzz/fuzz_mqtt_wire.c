/* fuzz_mqtt_wire: libFuzzer target for the agent's MQTT reader (agent/mqtt_wire.c).
 *
 * The reader is fed whatever WebSocket frames carry, cut anywhere, so the
 * property is that the cuts do not matter: one call over the stream and calls
 * over random pieces of it report the same events (payload bytes joined, with
 * their first/final marks) and end in the same verdict, and the reader never
 * reads outside what it is given (ASan). Input: byte 0 picks the version and
 * seeds the cuts, byte 1 the max_message, the rest is the stream.
 *
 * The codec is one agent file with no dependency, compiled in here rather
 * than linking the agent's modules (their lws and libuv). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/mqtt_wire.c"

struct fuzz_mqtt_log {
    unsigned char b[1 << 16];
    size_t n;
    size_t payload;       /* payload bytes in the current PUBLISH, to check against its length */
    uint32_t want;
};

static int fuzz_mqtt_add(struct fuzz_mqtt_log *l, const void *p, size_t n)
{
    if (l->n + n <= sizeof l->b) {
        memcpy(l->b + l->n, p, n);
        l->n += n;
    }
    return 0;
}

static int fuzz_mqtt_connack(void *ctx, uint8_t sp, uint8_t code)
{
    unsigned char e[3] = {'c', sp, code};
    return fuzz_mqtt_add(ctx, e, sizeof e);
}
static int fuzz_mqtt_suback(void *ctx, uint16_t pid, uint32_t i, uint8_t code, int last)
{
    unsigned char e[9] = {'s', (uint8_t)(pid >> 8), (uint8_t)pid, (uint8_t)(i >> 24), (uint8_t)(i >> 16),
                          (uint8_t)(i >> 8), (uint8_t)i, code, (uint8_t)last};
    return fuzz_mqtt_add(ctx, e, sizeof e);
}
static int fuzz_mqtt_publish(void *ctx, uint8_t flags, uint16_t pid, uint32_t len)
{
    struct fuzz_mqtt_log *l = ctx;
    if (MQTT_PUB_QOS(flags) == 3 || (MQTT_PUB_QOS(flags) != 0) != (pid != 0))
        abort();
    l->payload = 0;
    l->want = len;
    unsigned char e[8] = {'p', flags, (uint8_t)(pid >> 8), (uint8_t)pid, (uint8_t)(len >> 24),
                          (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    return fuzz_mqtt_add(ctx, e, sizeof e);
}
static int fuzz_mqtt_payload(void *ctx, const unsigned char *p, size_t len, int first, int final)
{
    struct fuzz_mqtt_log *l = ctx;
    l->payload += len;
    if (l->payload > l->want || (final && l->payload != l->want) || (first && l->payload != len)) {
        fprintf(stderr, "fuzz_mqtt_wire: payload %zu of %u (first %d final %d)\n", l->payload,
                l->want, first, final);
        abort();
    }
    if (first)
        fuzz_mqtt_add(l, "[", 1);
    fuzz_mqtt_add(l, p, len);
    if (final)
        fuzz_mqtt_add(l, "]", 1);
    return 0;
}
static int fuzz_mqtt_pingresp(void *ctx)
{
    return fuzz_mqtt_add(ctx, "r", 1);
}
static int fuzz_mqtt_disconnect(void *ctx, uint8_t reason)
{
    unsigned char e[2] = {'d', reason};
    return fuzz_mqtt_add(ctx, e, sizeof e);
}

static const struct mqtt_rd_ops fuzz_mqtt_ops = {
    fuzz_mqtt_connack, fuzz_mqtt_suback, fuzz_mqtt_publish, fuzz_mqtt_payload,
    fuzz_mqtt_pingresp, fuzz_mqtt_disconnect
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_mqtt_log whole, parts;
    if (size < 2)
        return 0;
    uint8_t version = data[0] & 1 ? MQTT_V5 : MQTT_V311;
    uint32_t seed = data[0] * 2654435761u + 1;
    uint32_t max = data[1] == 0 ? 0 : (uint32_t)data[1] * 64;
    const unsigned char *s = data + 2;
    size_t len = size - 2;

    struct mqtt_rd rd;
    whole.n = 0;
    mqtt_rd_init(&rd, version);
    int e1 = mqtt_rd_feed(&rd, s, len, max, &fuzz_mqtt_ops, &whole);

    parts.n = 0;
    mqtt_rd_init(&rd, version);
    int e2 = 0;
    for (size_t off = 0; off < len && !e2;) {
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 16) % 13;          /* 0..12 bytes: empty runs too */
        if (n > len - off)
            n = len - off;
        e2 = mqtt_rd_feed(&rd, s + off, n, max, &fuzz_mqtt_ops, &parts);
        off += n;
    }
    if (e1 != e2 || whole.n != parts.n || memcmp(whole.b, parts.b, whole.n)) {
        fprintf(stderr, "fuzz_mqtt_wire: whole %d (%zu bytes of events), in pieces %d (%zu)\n", e1,
                whole.n, e2, parts.n);
        abort();
    }
    if (e1 < 0 || e1 >= MQTT_E_COUNT || e1 == MQTT_E_STOPPED)
        abort();
    return 0;
}

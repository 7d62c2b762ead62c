/* sha1.c: the Sec-WebSocket-Accept value of an upgrade (RFC 6455 4.2.2):
 * base64(SHA-1(key + GUID)). SHA-1 (FIPS 180-4) and base64 are written out
 * here: hostile is a test tool and should not pull in a crypto library for 20
 * bytes of hash, and /badaccept needs the same code to make a wrong value. */
#include "hostile.h"

#include <string.h>

#define HOSTILE_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct hostile_sha1 {
    uint32_t h[5];
    uint64_t total;              /* bytes hashed so far */
    uint8_t  block[64];
    size_t   used;               /* bytes waiting in block */
};

static uint32_t hostile_rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void hostile_sha1_block(struct hostile_sha1 *s, const uint8_t *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = hostile_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20)      { f = (b & c) | (~b & d);          k = 0x5A827999; }
        else if (i < 40) { f = b ^ c ^ d;                   k = 0x6ED9EBA1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
        else             { f = b ^ c ^ d;                   k = 0xCA62C1D6; }
        uint32_t t = hostile_rol(a, 5) + f + e + k + w[i];
        e = d; d = c; c = hostile_rol(b, 30); b = a; a = t;
    }
    s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e;
}

static void hostile_sha1_init(struct hostile_sha1 *s)
{
    static const uint32_t iv[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    memcpy(s->h, iv, sizeof iv);
    s->total = 0;
    s->used = 0;
}

static void hostile_sha1_update(struct hostile_sha1 *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->total += len;
    while (len) {
        size_t n = 64 - s->used < len ? 64 - s->used : len;
        memcpy(s->block + s->used, p, n);
        s->used += n; p += n; len -= n;
        if (s->used == 64) {
            hostile_sha1_block(s, s->block);
            s->used = 0;
        }
    }
}

static void hostile_sha1_final(struct hostile_sha1 *s, uint8_t out[20])
{
    uint64_t bits = s->total * 8;
    uint8_t pad = 0x80, zero = 0, len[8];
    hostile_sha1_update(s, &pad, 1);
    while (s->used != 56)
        hostile_sha1_update(s, &zero, 1);
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(bits >> (56 - 8 * i));
    hostile_sha1_update(s, len, 8);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (uint8_t)(s->h[i] >> (24 - 8 * j));
}

static void hostile_base64(const uint8_t *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = tab[v >> 18]; *out++ = tab[(v >> 12) & 63];
        *out++ = tab[(v >> 6) & 63]; *out++ = tab[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        *out++ = tab[v >> 18]; *out++ = tab[(v >> 12) & 63];
        *out++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    *out = '\0';
}

void hostile_accept_key(const char *key, size_t keylen, char *out)
{
    struct hostile_sha1 s;
    uint8_t digest[20];
    hostile_sha1_init(&s);
    hostile_sha1_update(&s, key, keylen);
    hostile_sha1_update(&s, HOSTILE_WS_GUID, sizeof HOSTILE_WS_GUID - 1);
    hostile_sha1_final(&s, digest);
    hostile_base64(digest, sizeof digest, out);
}

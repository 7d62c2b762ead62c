/* json_unescape.h: a decoder of JSON string escapes for the tests, written
 * apart from refpush's encoder (refpush/json.c) so that each checks the other:
 * tests/unit/refpush/test_json.c and tests/fuzz/fuzz_refpush_msg.c read
 * refpush's escaped bodies back with it. */
#ifndef PS_TEST_JSON_UNESCAPE_H
#define PS_TEST_JSON_UNESCAPE_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Decodes the JSON string escapes of s[0..len) into out; -1 on anything a
 * JSON parser would refuse inside a string (a raw control byte or quote, an
 * unknown escape). */
static inline long json_unescape(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"')
            return -1;
        if (c != '\\') {
            out[o++] = (char)c;
            continue;
        }
        if (++i >= len)
            return -1;
        switch (s[i]) {
        case '"': out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case '/': out[o++] = '/'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u': {
            unsigned v;
            char hex[5] = {0};
            if (i + 4 >= len)
                return -1;
            memcpy(hex, s + i + 1, 4);
            if (sscanf(hex, "%4x", &v) != 1 || v > 0xff)
                return -1;
            out[o++] = (char)v;
            i += 4;
            break;
        }
        default:
            return -1;
        }
    }
    return (long)o;
}

#endif

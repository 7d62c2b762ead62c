/* ps_utf8.c: a byte-at-a-time UTF-8 checker.
 *
 * States: ACCEPT, "n continuation bytes still due" (1..3), and four states for
 * the lead bytes whose first continuation byte has a narrower range than
 * 80..BF (E0: no overlong, ED: no surrogates, F0: no overlong, F4: not above
 * U+10FFFF). ASCII runs, the common case in pushed JSON, take the fast path. */
#include "ps_utf8.h"

enum {
    U_ACCEPT = PS_UTF8_ACCEPT,
    U_NEED1 = 1, U_NEED2 = 2, U_NEED3 = 3,
    U_E0 = 4, U_ED = 5, U_F0 = 6, U_F4 = 7,
    U_REJECT = PS_UTF8_REJECT,
};

static uint8_t ps_utf8_lead(unsigned char c)
{
    if (c < 0x80) return U_ACCEPT;
    if (c < 0xC2) return U_REJECT;          /* continuation byte or overlong 2-byte lead */
    if (c < 0xE0) return U_NEED1;
    if (c == 0xE0) return U_E0;
    if (c == 0xED) return U_ED;
    if (c < 0xF0) return U_NEED2;
    if (c == 0xF0) return U_F0;
    if (c < 0xF4) return U_NEED3;
    if (c == 0xF4) return U_F4;
    return U_REJECT;
}

uint8_t ps_utf8_step(uint8_t state, const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    while (p < end) {
        if (state == U_REJECT)
            return U_REJECT;
        unsigned char c = *p++;
        switch (state) {
        case U_ACCEPT:
            if (c < 0x80) {
                while (p < end && *p < 0x80)
                    p++;
                continue;
            }
            state = ps_utf8_lead(c);
            continue;
        case U_NEED1: case U_NEED2: case U_NEED3:
            state = (c & 0xC0) == 0x80 ? (uint8_t)(state - 1) : U_REJECT;
            continue;
        case U_E0: state = (c >= 0xA0 && c <= 0xBF) ? U_NEED1 : U_REJECT; continue;
        case U_ED: state = (c >= 0x80 && c <= 0x9F) ? U_NEED1 : U_REJECT; continue;
        case U_F0: state = (c >= 0x90 && c <= 0xBF) ? U_NEED2 : U_REJECT; continue;
        case U_F4: state = (c >= 0x80 && c <= 0x8F) ? U_NEED2 : U_REJECT; continue;
        default: return U_REJECT;
        }
    }
    return state;
}

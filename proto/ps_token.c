/* ps_token.c: the "~ps.<run>.<msg>.<t_send_us>~" token in pushed messages.
 *
 * The agent runs ps_token_scan over every received byte of every message, in
 * whatever pieces libwebsockets hands over, so the matcher is a byte-at-a-time
 * state machine whose whole state is struct ps_token_state (kept in the
 * connection): the grammar position, the digits of the field being read and the
 * fields already read. Nothing is buffered, so a token split anywhere, even in
 * the "~ps." prefix, is recognised when the rest arrives.
 *
 * Between tokens the matcher is idle and skips to the next '~' with memchr,
 * which is where almost all the bytes of a message go. A character that breaks
 * the grammar abandons the candidate; if that character is itself a '~' it is
 * taken as the start of a new candidate, so "~p~ps.1.2.3~" and
 * "~ps.1.x~ps.1.2.3~" still yield their token. A field that overflows its type
 * (run and msg are 32-bit, t_send 63-bit) abandons the candidate too. Tokens do
 * not share tildes: the closing '~' of one token never opens the next. */
#include "ps_proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

enum token_phase {
    TOKEN_IDLE = 0,   /* looking for '~' */
    TOKEN_TILDE,      /* "~" */
    TOKEN_P,          /* "~p" */
    TOKEN_PS,         /* "~ps" */
    TOKEN_RUN0,       /* "~ps." : first digit of run */
    TOKEN_RUN,        /* more run digits or '.' */
    TOKEN_MSG0,
    TOKEN_MSG,
    TOKEN_TS0,
    TOKEN_TS,         /* more t_send digits or the closing '~' */
};

int ps_token_format(char *buf, size_t len, uint32_t run, uint32_t msg, int64_t t_send_us)
{
    int n;

    if (!buf || t_send_us < 0) return -1;
    n = snprintf(buf, len, "~ps.%" PRIu32 ".%" PRIu32 ".%" PRId64 "~", run, msg, t_send_us);
    return n >= 0 && (size_t)n < len ? n : -1;
}

void ps_token_reset(struct ps_token_state *st)
{
    memset(st, 0, sizeof *st);
}

/* Appends a digit to acc unless the field would exceed max. */
static inline int token_digit(uint64_t *acc, unsigned d, uint64_t max)
{
    if (*acc > max / 10 || (*acc == max / 10 && d > max % 10)) return -1;
    *acc = *acc * 10 + d;
    return 0;
}

int ps_token_scan(struct ps_token_state *st, const char *data, size_t len,
                  void (*cb)(void *ctx, const struct ps_token *tok), void *ctx)
{
    const char *p = data, *end = data + len;
    uint8_t phase = st->phase;
    uint64_t acc = st->acc;
    int found = 0;

    while (p < end) {
        unsigned char c;
        unsigned d;

        if (phase == TOKEN_IDLE) {
            p = memchr(p, '~', (size_t)(end - p));
            if (!p) break;
            p++;
            phase = TOKEN_TILDE;
            continue;
        }
        c = (unsigned char)*p++;
        d = (unsigned)c - '0';
        switch (phase) {
        case TOKEN_TILDE:
            if (c == 'p') { phase = TOKEN_P; continue; }
            break;
        case TOKEN_P:
            if (c == 's') { phase = TOKEN_PS; continue; }
            break;
        case TOKEN_PS:
            if (c == '.') { phase = TOKEN_RUN0; acc = 0; continue; }
            break;
        case TOKEN_RUN0:
        case TOKEN_RUN:
            if (d <= 9) {
                if (token_digit(&acc, d, UINT32_MAX)) { phase = TOKEN_IDLE; continue; }
                phase = TOKEN_RUN;
                continue;
            }
            if (c == '.' && phase == TOKEN_RUN) {
                st->run = (uint32_t)acc;
                acc = 0;
                phase = TOKEN_MSG0;
                continue;
            }
            break;
        case TOKEN_MSG0:
        case TOKEN_MSG:
            if (d <= 9) {
                if (token_digit(&acc, d, UINT32_MAX)) { phase = TOKEN_IDLE; continue; }
                phase = TOKEN_MSG;
                continue;
            }
            if (c == '.' && phase == TOKEN_MSG) {
                st->msg = (uint32_t)acc;
                acc = 0;
                phase = TOKEN_TS0;
                continue;
            }
            break;
        case TOKEN_TS0:
        case TOKEN_TS:
            if (d <= 9) {
                if (token_digit(&acc, d, INT64_MAX)) { phase = TOKEN_IDLE; continue; }
                phase = TOKEN_TS;
                continue;
            }
            if (c == '~' && phase == TOKEN_TS) {
                struct ps_token tok = { st->run, st->msg, (int64_t)acc };
                found++;
                phase = TOKEN_IDLE;
                if (cb) cb(ctx, &tok);
                continue;
            }
            break;
        default:                 /* corrupted state: start over */
            break;
        }
        /* The candidate is broken; the breaking '~' may open the next one. */
        phase = c == '~' ? TOKEN_TILDE : TOKEN_IDLE;
    }
    st->phase = phase;
    st->acc = acc;
    return found;
}

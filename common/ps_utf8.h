/* ps_utf8: incremental UTF-8 validation for text frames that arrive in pieces.
 *
 * RFC 6455 requires a text message to be valid UTF-8 as a whole, and lws hands
 * a message over in rx-buffer-sized pieces that may split a character, so the
 * validator carries one byte of state between calls (kept in the connection).
 * Overlong forms, surrogates and code points above U+10FFFF are rejected, as
 * the RFC's reference to RFC 3629 requires. */
#ifndef PS_UTF8_H
#define PS_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define PS_UTF8_ACCEPT 0      /* between characters: a message may end here */
#define PS_UTF8_REJECT 8      /* sticky: the message is invalid */

/* Feeds len bytes; returns the new state. */
uint8_t ps_utf8_step(uint8_t state, const unsigned char *p, size_t len);

#endif

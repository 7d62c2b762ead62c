/* ps_regex: how big a POSIX extended regex grows once compiled.
 *
 * glibc's regcomp() expands every bounded repetition into copies of what it
 * repeats, so nesting multiplies: "((a{100}){100}){100}" is a million
 * positions, 216 MB compiled (4 GB and more one level deeper), from a
 * 20-byte pattern. Session patterns come from plans and are compiled by the
 * controller's check and by every agent worker, so both refuse a pattern
 * whose expansion is past PS_REGEX_POSITIONS_MAX before calling regcomp(). */
#ifndef PS_REGEX_H
#define PS_REGEX_H

#include <stdint.h>

/* Far above any pattern a session needs (a UUID with its groups is ~40). */
#define PS_REGEX_POSITIONS_MAX 10000

/* An upper bound of the positions regcomp(src, REG_EXTENDED) builds; saturates
 * at UINT64_MAX / 2. Malformed patterns get a bound too (regcomp refuses them). */
uint64_t ps_regex_positions(const char *src);

#endif

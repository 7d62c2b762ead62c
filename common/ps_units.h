/* ps_units: parsing and printing of the quantities a plan is written in.
 *
 * Durations: "250ms", "10s", "5m", "1h", "1.5s", "30us"; a bare number is seconds.
 * Rates: "2000/s", "500/m", "20k/s"; a bare number is per second.
 * Counts: "1000000", "1m" is NOT a count (ambiguous with minutes): counts accept
 * "10k" and "1M" suffixes (k = 1e3, M = 1e6).
 * Percent / fractions: "99.9%" -> 0.999, "0.1" -> 0.1.
 * Every parser takes the whole string (no trailing garbage) and returns 0 on
 * success, -1 with a message in err (what was expected) on failure. */
#ifndef PS_UNITS_H
#define PS_UNITS_H

#include <stddef.h>
#include <stdint.h>

int ps_units_parse_duration_us(const char *s, int64_t *out_us, char *err, size_t errlen);
int ps_units_parse_rate(const char *s, double *out_per_s, char *err, size_t errlen);
int ps_units_parse_count(const char *s, uint64_t *out, char *err, size_t errlen);
int ps_units_parse_fraction(const char *s, double *out, char *err, size_t errlen);

/* Human formatting into buf (returns buf): "1.23s", "850ms", "12.4µs" -> ASCII "us". */
char *ps_units_fmt_duration(int64_t us, char *buf, size_t len);
/* "1.2k", "3.4M", plain below 10,000. */
char *ps_units_fmt_count(double v, char *buf, size_t len);

#endif

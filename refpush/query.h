/* refpush query: reading and validating URL query arguments. See query.c. */
#ifndef REFPUSH_QUERY_H
#define REFPUSH_QUERY_H

#include <stddef.h>
#include <stdint.h>

struct lws;

/* Longest query string accepted (lws's default header space is 4096). */
#define REFPUSH_QUERY_MAX 4096
/* Most ordinals one /admin/drop may arm. */
#define REFPUSH_NTH_MAX   1024

enum refpush_query_rc {
    REFPUSH_QUERY_FOUND = 0,
    REFPUSH_QUERY_ABSENT,
    REFPUSH_QUERY_TOO_LONG,
};

/* Copies the value of query argument `name` into buf (NUL-terminated). */
enum refpush_query_rc refpush_query_get(struct lws *wsi, const char *name, char *buf, size_t len);

/* Parsers: 0 on success; otherwise -1 and a message in err naming the problem. */
int refpush_parse_uid(const char *s, uint64_t *out, char *err, size_t errlen);
int refpush_parse_fraction(const char *s, double *out, char *err, size_t errlen);
/* "3,17,40" -> sorted, de-duplicated ordinals >= 1; *out is malloc'ed (caller
 * frees), NULL with *n = 0 for "". */
int refpush_parse_nth_list(const char *s, uint64_t **out, size_t *n, char *err, size_t errlen);
/* TCP port 0..65535. */
int refpush_parse_port(const char *s, int *out, char *err, size_t errlen);

#endif

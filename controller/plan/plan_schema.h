/* plan_schema: the private vocabulary of the plan parser (not for use outside plan/).
 *
 * The parser is split by concern, and every file speaks through this header:
 *   plan_schema.c    the engine: field tables applied to YAML maps, error
 *                    messages with file:line:col and key paths, typo hints;
 *   plan_values.c    one value parser per kind of value (durations, URLs, ...);
 *   plan_sections.c  the tables themselves, one per section and phase kind;
 *   plan_cross.c     the rules that tie sections together, run after the walk;
 *   plan.c           the public entry points that run the whole.
 * A section is just a value parser whose value is a map, so a table entry may
 * lead to another table; struct plan_ctx carries what one walk needs. */
#ifndef PS_PLAN_SCHEMA_H
#define PS_PLAN_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "plan.h"
#include "yaml_doc.h"

#define PLAN_PATH_MAX      256
#define PLAN_KEY_ECHO_MAX  48      /* bytes of a key kept in a path or message */
#define PLAN_VAL_ECHO_MAX  40      /* bytes of a value quoted back in a message */
#define PLAN_GOT_MAX       (PLAN_VAL_ECHO_MAX + 16)
#define PLAN_CONCURRENCY_MAX 1024  /* the pusher's in-flight limit */
#define PLAN_TOP           "(top level)"
/* Agents get heartbeat and backoff times as 32-bit milliseconds (49 days): stay well below. */
#define PLAN_DURATION_MAX_US (720LL * 3600 * 1000000)
#define PLAN_GRACE_MIN_US    1000000LL            /* agents.grace */
#define PLAN_GRACE_MAX_US    (3600LL * 1000000)
#define PLAN_FINAL_WAIT_BASE_US     30000000LL  /* agents.final_wait default: this */
#define PLAN_FINAL_WAIT_CONNS_PER_S 10000       /* + 1 s per this many connections */
#define PLAN_BUFFER_MIN      1000000ull           /* agents.buffer, bytes */
#define PLAN_BUFFER_MAX      4000000000ull

#define PLAN_F_REQUIRED  1u            /* missing key is an error */
#define PLAN_F_ZERO_OK   2u            /* counts/durations: 0 is allowed */
#define PLAN_F_NONEMPTY  4u            /* strings: "" is an error */
#define PLAN_F_ONELINE   8u            /* strings: no control characters */

struct plan_ctx;
struct plan_field;

/* Parses the value node v (at key path `path`) into f->dst. 0 or -1 after plan_fail(). */
typedef int (*plan_value_fn)(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                             const struct plan_field *f);

struct plan_field {
    const char   *key;
    plan_value_fn fn;
    void         *dst;
    size_t        size;        /* string buffers: sizeof the destination */
    unsigned      flags;
    void         *aux;         /* headers: uint32_t *count */
    uint64_t      max;         /* counts: upper bound; 0 = the destination type's */
    const struct yaml_doc_node *key_node, *node;   /* set by plan_map when seen */
};

#define PLAN_FIELD(k, f, d, sz, fl, ax) \
    { .key = (k), .fn = (f), .dst = (d), .size = (sz), .flags = (fl), .aux = (ax) }
#define PLAN_FIELD_MAX(k, f, d, fl, mx) { .key = (k), .fn = (f), .dst = (d), .flags = (fl), .max = (mx) }
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* One walk over one document; lives on plan_parse()'s stack. */
struct plan_ctx {
    const char  *file;
    char        *err;
    size_t       errlen;
    struct plan *p;
    const char  *data_text;        /* connections.data's text when given, else NULL: read it */
    size_t       data_len;
    uint64_t     last_ramp_to;     /* ramps must go up */
    int          last_ramp_index;
    int          reconnect_set;
    uint32_t     session_set;      /* script being read: 0 plan-wide, t + 1 target t */
    const struct yaml_doc_node *hb_text_node;   /* heartbeat.text, a template */
    const struct yaml_doc_node *ack_node;       /* session.ack, a template */
    const struct yaml_doc_node *phases_node;
    /* client protocols: each target's protocol value, and protocol_options' keys as seen */
    const struct yaml_doc_node *protocol_node[PS_MAX_TARGETS];
    const struct yaml_doc_node *popt_key[16], *popt_val[16];
    /* remembered per phase for the final cross-section pass */
    const struct yaml_doc_node *ramp_to[PLAN_MAX_PHASES];
    const struct yaml_doc_node *recipients[PLAN_MAX_PHASES];
    const struct yaml_doc_node *needs_reconnect[PLAN_MAX_PHASES];
};

/* ------------------------------------------------------------ engine (plan_schema.c) */

/* Writes "file:line:col: path: message" into c->err; always returns -1. */
__attribute__((format(printf, 4, 5)))
int plan_fail(struct plan_ctx *c, const struct yaml_doc_node *at, const char *path,
              const char *fmt, ...);
/* Describes a node for "got ...": a map, a list, nothing, or the quoted string. */
const char *plan_got(const struct yaml_doc_node *v, char *buf, size_t len);
/* Key paths: out has room for PLAN_PATH_MAX bytes. */
void plan_path_key(char *out, const char *parent, const char *key);
void plan_path_index(char *out, const char *parent, size_t i);
int plan_want_map(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                  const char *what);
int plan_want_list(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                   const char *what);
/* The text of a non-empty scalar, or NULL after an error saying `what` was expected. */
const char *plan_scalar(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                        const char *what);
/* Edit distance with adjacent transpositions, for "did you mean" hints. */
int plan_typo_distance(const char *a, const char *b);
/* Applies the table f[0..nf) to map m (what: the expected shape, for messages). */
int plan_map(struct plan_ctx *c, const struct yaml_doc_node *m, const char *path,
             struct plan_field *f, size_t nf, const char *what);

/* ------------------------------------------------------------ value parsers (plan_values.c) */

/* Each is a plan_value_fn; what it writes to f->dst is named after the arrow. */
int plan_v_string(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                  const struct plan_field *f);          /* -> char[f->size] */
int plan_v_ws_url(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                  const struct plan_field *f);          /* -> char[PS_URL_MAX] */
int plan_v_http_url(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                    const struct plan_field *f);        /* -> char[PS_URL_MAX] */
int plan_v_duration(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                    const struct plan_field *f);        /* -> int64_t us */
int plan_v_duration_off(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                        const struct plan_field *f);    /* -> int64_t us, 0 = off */
int plan_v_rate(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                const struct plan_field *f);            /* -> double per second */
int plan_v_count64(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                   const struct plan_field *f);         /* -> uint64_t */
int plan_v_count32(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                   const struct plan_field *f);         /* -> uint32_t, at most f->max */
int plan_v_fraction(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                    const struct plan_field *f);        /* -> double in (0, 1] */
int plan_v_push_mode(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                     const struct plan_field *f);       /* -> enum plan_push_mode */
int plan_v_split(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                 const struct plan_field *f);           /* -> int, 1 = by capacity */
int plan_v_method(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                  const struct plan_field *f);          /* -> char[f->size] */
int plan_v_close_code(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                      const struct plan_field *f);      /* -> uint32_t */
int plan_v_bool(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                const struct plan_field *f);            /* -> uint32_t, 0 or 1 */
int plan_v_ws_headers(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                      const struct plan_field *f);      /* -> ps_header_tpl[], count in aux */
int plan_v_http_headers(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                        const struct plan_field *f);    /* -> ps_header_tpl[], count in aux */
int plan_v_thr_fraction(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                        const struct plan_field *f);    /* -> struct plan_threshold */
int plan_v_thr_count(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                     const struct plan_field *f);       /* -> struct plan_threshold */
int plan_v_thr_duration(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                        const struct plan_field *f);    /* -> struct plan_threshold */

/* plan_tls.c: the tls block, plan-wide (-> plan.tls[0]) and per target
 * (-> uint32_t index into plan.tls). */
int plan_v_tls_default(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                       const struct plan_field *f);
int plan_v_tls_target(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                      const struct plan_field *f);

/* ------------------------------------------------------------ sections and rules */

/* plan_sections.c: the documented defaults, then the walk of the top-level map. */
void plan_sections_defaults(struct plan *p);
int plan_sections_walk(struct plan_ctx *c, const struct yaml_doc_node *root);
/* plan_session.c: a session block; f->aux NULL for the plan-wide one, else
 * the uint32_t set (target + 1) of a target's. */
int plan_v_session(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                   const struct plan_field *f);
/* heartbeat.expect: a text (the whole reply) or a session matcher. */
int plan_v_hb_expect(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                     const struct plan_field *f);
/* The heartbeat text's {names}, once every session is read (from plan_cross.c). */
int plan_session_check_heartbeat(struct plan_ctx *c);
/* plan_protocol.c: client protocols (issue 13): a target's `protocol:` (-> uint32_t enum
 * ps_protocol), the plan-wide `protocol_options:` map, and, once the whole plan is read
 * (from plan_cross.c), every option read by some target's protocol and its templates' names. */
int plan_v_protocol(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                    const struct plan_field *f);
int plan_v_protocol_options(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                            const struct plan_field *f);
int plan_protocol_check(struct plan_ctx *c);
/* plan_cross.c: rules spanning sections, on what the walk filled and remembered. */
int plan_cross_check(struct plan_ctx *c);
/* plan_data.c: connections.data and every {csv.COL} in the document */
int plan_data_check(struct plan_ctx *c, const struct yaml_doc_node *root);

#endif

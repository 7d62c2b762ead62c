/* agent_session.h: what a connection's scripted session needs (issue 10):
 * the script compiled once per assignment (script.c), a session's pool entry
 * (session.c) and the acks of received pushes (ack.c). Apart from agent.h,
 * which includes it, by concern: the structs here are read by those three
 * files and by the dialect framework (dialect.c), which runs a protocol's
 * handshake as a session (agent/dialect.h). */
#ifndef AGENT_SESSION_H
#define AGENT_SESSION_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "ps_proto.h"

struct agent_worker;
struct agent_conn_piece;
struct lws;

/* script.c: the session script, compiled once per assignment (read-only after). */
#define AGENT_SCRIPT_EQ_MAX 16
struct agent_script_step {
    uint8_t  op, match, others_fail;     /* enum ps_step_op, enum ps_match */
    uint8_t  first_cap, n_caps;          /* its captures: caps[first_cap ..] */
    uint8_t  has_re;
    uint32_t timeout_ms;
    char     text[PS_TEXT_MAX];          /* own copy: JSON lines are cut in place */
    regex_t  re;
    uint32_t n_eq;
    struct { const char *path, *value; } eq[AGENT_SCRIPT_EQ_MAX];
    uint32_t bin_len;
    unsigned char bin[PS_TEXT_MAX / 2];
};
struct agent_script_cap {
    uint32_t var;
    int json, has_re;
    char from[PS_TEXT_MAX];
    regex_t re;
};
struct agent_script {
    struct agent_script_step steps[PS_SESSION_STEPS_MAX];
    struct agent_script_cap caps[PS_SESSION_CAPTURES_MAX];
    uint32_t n_captures, n_vars;
    uint32_t vars_bytes;                 /* per connection; 0 = nothing captured */
    struct agent_script_step hb;         /* the heartbeat reply, when not an exact text */
    struct agent_script_cap ack_id;      /* acks of the service's own ids: where the id is */
    uint32_t has_ack_id;
    uint8_t order[PS_MAX_TARGETS][PS_SESSION_STEPS_MAX];   /* steps target t runs */
    uint8_t n_order[PS_MAX_TARGETS];
};

/* ---------- a connection running its session (session.c) ---------- */

#define AGENT_SESSION_MSG_MAX 4096   /* a session message beyond this matches nothing */
#define AGENT_ACK_QUEUE       8      /* acks waiting for a writeable callback, per connection */
#define AGENT_ACK_ID_MAX      40     /* a service's own id (ack_id), with its NUL: a UUID fits */
#define AGENT_ACK_GATHER      16     /* ack_id: messages gathered at once, per worker */
struct agent_ack_conn {              /* one per slot while acks are on (ack.c) */
    uint32_t sent;                   /* acks written in this life of the connection */
    uint16_t glen;                   /* ack_id: bytes gathered of the current message */
    uint8_t  n, head;                /* the ring: queued acks, oldest */
    uint8_t  gather;                 /* ack_id: 1 + its gather buffer, 0 = none */
    uint8_t  flags;
};
struct agent_session {
    uint32_t slot;
    uint32_t deadline;            /* worker-relative mono us (wraps), while waiting */
    uint32_t active_pos;          /* index in the worker's sess_active */
    uint32_t len;                 /* bytes of the message being received */
    int64_t  hs_us;               /* handshake time, reported with the connected event */
    uint8_t  pos;                 /* step of the target's order being run */
    uint8_t  waiting;             /* an expect step is waiting for its message */
    uint8_t  overflow;            /* the current message went past msg[] */
    uint8_t  proto_wait;          /* a client protocol's handshake runs first (dialect.c) */
    char     msg[AGENT_SESSION_MSG_MAX + 1];
};

/* script.c */
int  agent_script_prepare(struct agent_script *s, const struct ps_assign *a, char *err, size_t errlen);
void agent_script_free(struct agent_script *s);
/* 1 if msg[0..len) (NUL-terminated) passes expect step `step`, its captures written to region. */
int  agent_script_match(const struct agent_script *s, uint32_t step, const char *msg, size_t len,
                        char *region);
int  agent_script_match_step(const struct agent_script *s, const struct agent_script_step *st,
                             const char *msg, size_t len, char *region);
/* The id a push's ack names, read from the message as the plan's ack_id says; -1: not found. */
int  agent_script_ack_id(const struct agent_script *s, const char *msg, size_t len, char *out,
                         size_t cap);
const char *agent_script_var(const struct agent_script *s, const char *region, uint32_t var);
int  agent_script_set_var(const struct agent_script *s, char *region, uint32_t var,
                          const char *val, size_t vlen);

/* jsonpath.c: the value at a dotted path (strings unescaped, the rest as
 * written) into out, NUL-terminated; -1 when absent, malformed or too long. */
int  agent_json_find(const char *msg, size_t len, const char *path, char *out, size_t cap,
                     size_t *n);

/* session.c */
int  agent_session_alloc(struct agent_worker *w);          /* at assign; -1 out of memory */
void agent_session_release_all(struct agent_worker *w);
int  agent_session_begin(struct agent_worker *w, uint32_t slot, int64_t hs_us); /* 0 = no script */
void agent_session_rx(struct agent_worker *w, uint32_t slot, const struct agent_conn_piece *p);
int  agent_session_writeable(struct agent_worker *w, uint32_t slot);
uint32_t agent_session_end(struct agent_worker *w, uint32_t slot);   /* -> the step it was on */
void agent_session_tick(struct agent_worker *w);
/* The client protocol's handshake is done (agent_dialect_ready): the steps run next. */
void agent_session_proto_ready(struct agent_worker *w, uint32_t slot);
/* A piece of a message on an OPEN connection awaiting a matched heartbeat reply;
 * 1 when it completed the reply. agent_session_forget: the connection ended, so
 * its half-gathered reply and its queued acks are dropped. */
int  agent_session_hb_piece(struct agent_worker *w, uint32_t slot, const struct agent_conn_piece *p);
void agent_session_forget(struct agent_worker *w, uint32_t slot);

/* ack.c: the acks of one worker's connections. agent_ack_push: a token of the
 * run was found; agent_ack_piece / agent_ack_end: every piece of a message on
 * an open connection, and its end (ack_id reads the id there);
 * agent_ack_forget: the connection's life ended (its acks event). */
int  agent_ack_alloc(struct agent_worker *w);              /* at assign; -1 out of memory */
void agent_ack_release(struct agent_worker *w);
void agent_ack_push(struct agent_worker *w, uint32_t slot, uint32_t msg_id);
void agent_ack_piece(struct agent_worker *w, uint32_t slot, const struct agent_conn_piece *p);
void agent_ack_end(struct agent_worker *w, uint32_t slot);
void agent_ack_forget(struct agent_worker *w, uint32_t slot);
int  agent_ack_write(struct agent_worker *w, uint32_t slot);

#endif

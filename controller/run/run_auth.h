/* run_auth: who may talk to the controller (issue 11), the controller's half
 * of the hello handshake of common/ps_auth.h.
 *
 * A first HELLO gets a CHALLENGE: a fresh nonce, remembered with the pipe it
 * was sent on and the agent's nonce for RUN_AUTH_TTL_US, and the controller's
 * proof of the key. The second HELLO must come on the same pipe with that
 * nonce (used once) and the agent's proof; only then is it registered, and
 * the agent's session token is what its ticks and event batches must carry
 * from then on (any other pipe's messages without it are dropped and
 * counted). Without --auth-key the exchange is the same with an empty key: no
 * one is authenticated and the run's summary says so.
 *
 * Complaints about peers (refused hellos, spoofed or malformed messages) name
 * the peer's address and go through a ps_ratelog each. */
#ifndef RUN_AUTH_H
#define RUN_AUTH_H

#include <stdint.h>

#include <nng/nng.h>

#include "ps_auth.h"
#include "ps_proto.h"
#include "ps_ratelog.h"

#define RUN_AUTH_PENDING  64          /* challenges awaiting their second hello */
#define RUN_AUTH_TTL_US   10000000
#define RUN_CTL_RECV_MAX  (64 << 10)  /* a control request is under 4 KiB; nng reads no more */
/* A reply waits at most this long for its pipe's previous send to complete:
 * microseconds for a peer that reads, and a peer that stops reading costs the
 * controller at most this per request it sends once its socket buffer is full. */
#define RUN_CTL_SEND_WAIT_MS 50
#define RUN_PEER_MAX      64

struct run_auth_pending {
    char     nc[PS_AUTH_HEX], na[PS_AUTH_HEX];
    uint32_t pipe;
    int64_t  at_mono;                 /* 0 = free */
};

struct run_auth {
    struct ps_auth_key key;           /* len 0 = no --auth-key */
    struct run_auth_pending pending[RUN_AUTH_PENDING];
    uint32_t next;                    /* the slot the next challenge takes when none is free */
    uint64_t refused;                 /* hellos refused for their proof */
    uint64_t spoofed;                 /* ticks and batches without their agent's token */
    struct ps_ratelog log_refused, log_spoofed, log_bad;
};

enum run_auth_verdict { RUN_AUTH_REGISTER, RUN_AUTH_CHALLENGE, RUN_AUTH_REFUSE };

/* key_file NULL = no key. */
int  run_auth_init(struct run_auth *a, const char *key_file, char *err, size_t errlen);
/* The peer of a pipe as ADDR:PORT (or "pipe N" when nng cannot say). */
void run_peer_name(uint32_t pipe, char *out, size_t len);
/* What to do with a decoded HELLO from pipe: register it (token filled),
 * answer it with *ch, or refuse it (reason filled, logged). */
enum run_auth_verdict run_auth_hello(struct run_auth *a, uint32_t pipe, const struct ps_hello *h,
                                     struct ps_challenge *ch, char *reason, size_t rlen,
                                     char token[PS_AUTH_HEX]);
/* 1 if got is the agent's token; otherwise counts and logs the message (what with its article,
 * claimed agent id, the pipe it came on) and returns 0. */
int  run_auth_token_ok(struct run_auth *a, const char *want, const char *got, const char *what,
                       uint32_t agent_id, uint32_t pipe);
/* A malformed message from pipe: one rate-limited line. */
void run_auth_bad(struct run_auth *a, uint32_t pipe, const char *what, const char *err);

#endif

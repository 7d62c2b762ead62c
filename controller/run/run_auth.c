/* run_auth: the controller's half of the agent handshake; see run_auth.h. */
#include "run_auth.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ps_time.h"

int run_auth_init(struct run_auth *a, const char *key_file, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    if (key_file && ps_auth_key_load(&a->key, key_file, err, errlen))
        return -1;
    return 0;
}

void run_peer_name(uint32_t pipe, char *out, size_t len)
{
    nng_pipe p = {.id = pipe};
    nng_sockaddr sa;
    char ip[INET6_ADDRSTRLEN] = "";
    if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) == 0) {
        if (sa.s_family == NNG_AF_INET && inet_ntop(AF_INET, &sa.s_in.sa_addr, ip, sizeof ip)) {
            snprintf(out, len, "%s:%u", ip, ntohs(sa.s_in.sa_port));
            return;
        }
        if (sa.s_family == NNG_AF_INET6 && inet_ntop(AF_INET6, sa.s_in6.sa_addr, ip, sizeof ip)) {
            snprintf(out, len, "[%s]:%u", ip, ntohs(sa.s_in6.sa_port));
            return;
        }
    }
    snprintf(out, len, "pipe %" PRIu32, pipe);
}

static enum run_auth_verdict run_auth_challenge(struct run_auth *a, uint32_t pipe,
                                                const struct ps_hello *h, struct ps_challenge *ch)
{
    int64_t now = ps_time_mono_us();
    struct run_auth_pending *slot = NULL;
    for (uint32_t i = 0; i < RUN_AUTH_PENDING && !slot; i++)
        if (!a->pending[i].at_mono || now - a->pending[i].at_mono > RUN_AUTH_TTL_US)
            slot = &a->pending[i];
    if (!slot)   /* a flood of first hellos: the oldest challenge goes */
        slot = &a->pending[a->next++ % RUN_AUTH_PENDING];
    memset(ch, 0, sizeof *ch);
    if (ps_auth_nonce(ch->nonce) != 0)
        return RUN_AUTH_REFUSE;
    ch->keyed = a->key.len != 0;
    if (ch->keyed)
        ps_auth_mac(&a->key, PS_AUTH_CONTROLLER, h->auth_nonce, ch->nonce, ch->mac);
    snprintf(slot->nc, sizeof slot->nc, "%s", ch->nonce);
    snprintf(slot->na, sizeof slot->na, "%s", h->auth_nonce);
    slot->pipe = pipe;
    slot->at_mono = now;
    return RUN_AUTH_CHALLENGE;
}

/* The pending challenge the second hello answers, taken (used once), or NULL. */
static struct run_auth_pending *run_auth_take(struct run_auth *a, uint32_t pipe,
                                              const struct ps_hello *h)
{
    int64_t now = ps_time_mono_us();
    for (uint32_t i = 0; i < RUN_AUTH_PENDING; i++) {
        struct run_auth_pending *p = &a->pending[i];
        if (p->at_mono && now - p->at_mono <= RUN_AUTH_TTL_US && p->pipe == pipe &&
            ps_auth_equal(p->nc, h->auth_challenge) && ps_auth_equal(p->na, h->auth_nonce)) {
            p->at_mono = 0;
            return p;
        }
    }
    return NULL;
}

enum run_auth_verdict run_auth_hello(struct run_auth *a, uint32_t pipe, const struct ps_hello *h,
                                     struct ps_challenge *ch, char *reason, size_t rlen,
                                     char token[PS_AUTH_HEX])
{
    reason[0] = 0;
    if (!ps_auth_nonce_ok(h->auth_nonce)) {
        snprintf(reason, rlen, "bad hello: no valid auth nonce");
    } else if (!h->auth_challenge[0]) {
        if (run_auth_challenge(a, pipe, h, ch) == RUN_AUTH_CHALLENGE)
            return RUN_AUTH_CHALLENGE;
        snprintf(reason, rlen, "no random numbers for a challenge; try again");
    } else if (!run_auth_take(a, pipe, h)) {
        snprintf(reason, rlen, "authentication failed: the challenge is unknown, used or expired");
    } else if (a->key.len) {
        char want[PS_AUTH_HEX];
        ps_auth_mac(&a->key, PS_AUTH_AGENT, h->auth_nonce, h->auth_challenge, want);
        if (!h->auth_mac[0])
            snprintf(reason, rlen, "authentication failed: this controller requires the shared "
                                   "key and the agent has none (--auth-key)");
        else if (!ps_auth_equal(want, h->auth_mac))
            snprintf(reason, rlen, "authentication failed: wrong key");
    } else if (h->auth_mac[0]) {
        snprintf(reason, rlen, "the agent has a key (--auth-key) but this controller has none");
    }
    if (reason[0]) {
        char peer[RUN_PEER_MAX];
        run_peer_name(pipe, peer, sizeof peer);
        a->refused++;
        ps_ratelog(&a->log_refused, ps_time_mono_us(), stderr,
                   "pushstorm: refused agent \"%s\" from %s: %s\n", h->name, peer, reason);
        return RUN_AUTH_REFUSE;
    }
    ps_auth_mac(&a->key, PS_AUTH_SESSION, h->auth_nonce, h->auth_challenge, token);
    return RUN_AUTH_REGISTER;
}

int run_auth_token_ok(struct run_auth *a, const char *want, const char *got, const char *what,
                      uint32_t agent_id, uint32_t pipe)
{
    if (ps_auth_equal(want, got))
        return 1;
    char peer[RUN_PEER_MAX];
    run_peer_name(pipe, peer, sizeof peer);
    a->spoofed++;
    ps_ratelog(&a->log_spoofed, ps_time_mono_us(), stderr,
               "pushstorm: dropped %s for agent %" PRIu32 " from %s: not that agent's session "
               "token\n", what, agent_id, peer);
    return 0;
}

void run_auth_bad(struct run_auth *a, uint32_t pipe, const char *what, const char *err)
{
    char peer[RUN_PEER_MAX];
    run_peer_name(pipe, peer, sizeof peer);
    ps_ratelog(&a->log_bad, ps_time_mono_us(), stderr, "pushstorm: bad %s from %s: %s\n", what,
               peer, err);
}


/* auth.c: the agent's half of the hello handshake (common/ps_auth.h).
 *
 * The control loop (ctl.c) sends the first HELLO with a fresh nonce; the
 * controller answers with a CHALLENGE, which is checked here: with a key the
 * controller must have proved it, without one the controller must not expect
 * one. Either way the agent answers with a second HELLO carrying its own
 * proof (a controller with another key then refuses it and logs this agent's
 * address, so both sides see the mismatch), but it joins only a controller
 * that passed: the WELCOME of an unproven one is ignored. */
#include "agent.h"

#include <stdio.h>
#include <string.h>

void agent_auth_begin(struct agent *ag)
{
    struct ps_hello *h = &ag->hello;
    if (ps_auth_nonce(h->auth_nonce) != 0)
        h->auth_nonce[0] = 0;   /* the controller refuses the hello, saying why */
    h->auth_challenge[0] = h->auth_mac[0] = 0;
    ag->ctl_refusal[0] = 0;
}

int agent_auth_challenge(struct agent *ag, const void *buf, size_t len)
{
    struct ps_challenge c;
    char err[160];
    struct ps_hello *h = &ag->hello;
    if (ps_proto_decode_challenge(buf, len, &c, err, sizeof err) != 0 || !ps_auth_nonce_ok(c.nonce)) {
        snprintf(ag->ctl_refusal, sizeof ag->ctl_refusal, "bad challenge from the controller: %.100s",
                 err);
        return -1;
    }
    char want[PS_AUTH_HEX];
    ps_auth_mac(&ag->auth_key, PS_AUTH_CONTROLLER, h->auth_nonce, c.nonce, want);
    if (ag->auth_key.len && !c.keyed)
        snprintf(ag->ctl_refusal, sizeof ag->ctl_refusal, "the controller at %.60s has no key "
                 "(--auth-key) but this agent has one: not joining", ag->opts.controller);
    else if (ag->auth_key.len && !ps_auth_equal(want, c.mac))
        snprintf(ag->ctl_refusal, sizeof ag->ctl_refusal, "the controller at %.60s did not prove "
                 "the shared key (its key file differs): not joining", ag->opts.controller);
    snprintf(h->auth_challenge, sizeof h->auth_challenge, "%s", c.nonce);
    if (ag->auth_key.len)
        ps_auth_mac(&ag->auth_key, PS_AUTH_AGENT, h->auth_nonce, c.nonce, h->auth_mac);
    ps_auth_mac(&ag->auth_key, PS_AUTH_SESSION, h->auth_nonce, c.nonce, ag->token);
    return 0;
}

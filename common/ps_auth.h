/* ps_auth: the shared-key handshake between agents and controller (issue 11).
 *
 * Both sides hold the same key, read from a file (never from the command
 * line, where `ps` shows it). The hello is a challenge-response in two round
 * trips, each side proving the key over nonces the other side chose fresh:
 *
 *   agent      HELLO     nonce na (random)
 *   controller CHALLENGE nonce nc (random), mac_c = HMAC(K, "controller" na nc)
 *   agent      checks mac_c, then HELLO again with nc and mac_a = HMAC(K, "agent" na nc)
 *   controller checks mac_a (nc issued by it on this pipe, used once) -> WELCOME
 *
 * The labels keep a proof of one side from being replayed as the other's.
 * Both then hold the session token HMAC(K, "session" na nc), which never goes
 * over the wire in the handshake; every TICK and EVENTS batch carries it, so a
 * message from anyone who did not take part in that hello is dropped. Without
 * a key the same exchange runs with an empty key: it authenticates nobody,
 * but the token still holds off blind spoofing from a third pipe.
 *
 * Values on the wire are lowercase hex (PS_AUTH_HEX bytes with the NUL); the
 * MACs are HMAC-SHA256 (OpenSSL). Comparison is constant-time. */
#ifndef PS_AUTH_H
#define PS_AUTH_H

#include <stddef.h>

#define PS_AUTH_KEY_MIN   16     /* bytes: shorter keys are refused */
#define PS_AUTH_KEY_MAX   1024
#define PS_AUTH_HEX       65     /* 32 bytes as hex + NUL: a MAC, a token */
#define PS_AUTH_NONCE_LEN 16     /* random bytes in a nonce (32 hex digits) */

struct ps_auth_key {
    size_t        len;           /* 0 = no key configured */
    unsigned char k[PS_AUTH_KEY_MAX];
};

enum ps_auth_role { PS_AUTH_CONTROLLER, PS_AUTH_AGENT, PS_AUTH_SESSION };

/* Reads the key file: a regular file no one but its owner may read (like
 * ssh's private keys), PS_AUTH_KEY_MIN..PS_AUTH_KEY_MAX bytes once trailing
 * whitespace is cut. Errors name the file and what is wrong with it. */
int  ps_auth_key_load(struct ps_auth_key *key, const char *path, char *err, size_t errlen);
/* A fresh random nonce as hex. */
int  ps_auth_nonce(char out[PS_AUTH_HEX]);
/* HMAC-SHA256(key, label(role) 0 na 0 nc) as hex; key may be NULL or empty. */
void ps_auth_mac(const struct ps_auth_key *key, enum ps_auth_role role, const char *na,
                 const char *nc, char out[PS_AUTH_HEX]);
/* 1 if a and b are the same non-empty string, in time independent of where
 * they differ. */
int  ps_auth_equal(const char *a, const char *b);
/* 1 if s is a nonce as ps_auth_nonce writes them. */
int  ps_auth_nonce_ok(const char *s);

#endif

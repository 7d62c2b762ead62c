/* refpush ticket key: --tls-ticket-key FILE, read once at start (ticket.c). */
#ifndef REFPUSH_TICKET_H
#define REFPUSH_TICKET_H

#include <openssl/ssl.h>

/* OpenSSL's (and nginx's 80-byte) layout: key name 16, HMAC-SHA256 key 32,
 * AES-256-CBC key 32. */
#define REFPUSH_TICKET_KEY_LEN 80

struct refpush_ticket_key {
    int set;                                  /* 0: OpenSSL's random per-process key */
    unsigned char bytes[REFPUSH_TICKET_KEY_LEN];
};

int refpush_ticket_read(const char *path, struct refpush_ticket_key *k);
int refpush_ticket_apply(SSL_CTX *ctx, const struct refpush_ticket_key *k);
void refpush_ticket_wipe(struct refpush_ticket_key *k);

#endif

/* ps_link: the agent/controller sockets' listeners and dialers, plain or TLS.
 *
 * nng as Debian builds it (1.5.2, libnng1) has the tls+tcp:// transport, on
 * mbedTLS. With a tls+tcp:// address both ends present a certificate and
 * check the other's against a CA (mutual TLS): the controller requires an
 * agent certificate signed by its --tls-ca, the agent checks the controller's
 * certificate and name (the address's host, or --tls-server-name) against its
 * own --tls-ca. A tcp:// address takes no TLS option. The TLS configuration
 * is released once the listener or dialer holds it. */
#ifndef PS_LINK_H
#define PS_LINK_H

#include <stddef.h>

#include <nng/nng.h>

struct ps_link_tls {
    const char *cert;            /* PEM: certificate and private key in one file */
    const char *ca;              /* PEM: the CA(s) the peer's certificate must chain to */
    const char *server_name;     /* dialer only; NULL = the address's host */
};

/* 1 if url is tls+tcp:// (or tls+tcp4/6). */
int ps_link_is_tls(const char *url);
/* Checks the options against the address (both files for TLS, none without). */
int ps_link_check(const char *url, const struct ps_link_tls *tls, char *err, size_t errlen);
/* Starts a listener on url (blocking) or a dialer to it (non-blocking: nng
 * keeps redialling). */
int ps_link_listen(nng_socket s, const char *url, const struct ps_link_tls *tls, char *err,
                   size_t errlen);
int ps_link_dial(nng_socket s, const char *url, const struct ps_link_tls *tls, char *err,
                 size_t errlen);

#endif

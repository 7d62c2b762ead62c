/* ps_link: see ps_link.h. */
#include "ps_link.h"

#include <stdio.h>
#include <string.h>

#include <nng/supplemental/tls/tls.h>

int ps_link_is_tls(const char *url)
{
    return !strncmp(url, "tls+tcp", 7);
}

int ps_link_check(const char *url, const struct ps_link_tls *tls, char *err, size_t errlen)
{
    int any = tls->cert || tls->ca || tls->server_name;
    if (ps_link_is_tls(url) && (!tls->cert || !tls->ca)) {
        snprintf(err, errlen, "%.300s: a tls+tcp:// address needs --tls-cert and --tls-ca", url);
        return -1;
    }
    if (!ps_link_is_tls(url) && any) {
        snprintf(err, errlen, "%.300s: --tls-* options need a tls+tcp:// address", url);
        return -1;
    }
    return 0;
}

/* The TLS configuration for one end; NULL without TLS. */
static int ps_link_config(const char *url, const struct ps_link_tls *tls, nng_tls_mode mode,
                          nng_tls_config **out, char *err, size_t errlen)
{
    *out = NULL;
    if (ps_link_check(url, tls, err, errlen))
        return -1;
    if (!ps_link_is_tls(url))
        return 0;
    nng_tls_config *cfg;
    int rv;
    const char *what = "TLS";
    if ((rv = nng_tls_config_alloc(&cfg, mode)))
        goto fail;
    what = tls->cert;
    if ((rv = nng_tls_config_cert_key_file(cfg, tls->cert, NULL)))
        goto fail_cfg;
    what = tls->ca;
    if ((rv = nng_tls_config_ca_file(cfg, tls->ca)))
        goto fail_cfg;
    what = "TLS";
    if ((rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)))
        goto fail_cfg;
    if (mode == NNG_TLS_MODE_CLIENT && tls->server_name &&
        (rv = nng_tls_config_server_name(cfg, tls->server_name)))
        goto fail_cfg;
    *out = cfg;
    return 0;
fail_cfg:
    nng_tls_config_free(cfg);
fail:
    snprintf(err, errlen, "%.300s: %s", what, nng_strerror(rv));
    return -1;
}

/* The one difference between the ends: who creates, configures and starts what. */
static int ps_link_start(nng_socket s, const char *url, const struct ps_link_tls *tls, int listen,
                         char *err, size_t errlen)
{
    nng_tls_config *cfg;
    int rv;
    if (ps_link_config(url, tls, listen ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT, &cfg, err,
                       errlen))
        return -1;
    if (listen) {
        nng_listener l;
        if (!(rv = nng_listener_create(&l, s, url)) &&
            !(rv = cfg ? nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg) : 0))
            rv = nng_listener_start(l, 0);
    } else {
        nng_dialer d;
        if (!(rv = nng_dialer_create(&d, s, url)) &&
            !(rv = cfg ? nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg) : 0))
            rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK);
    }
    if (cfg)
        nng_tls_config_free(cfg);   /* the listener or dialer holds its own reference */
    if (rv)
        snprintf(err, errlen, "cannot %s %.300s: %s", listen ? "listen on" : "dial", url,
                 nng_strerror(rv));
    return rv ? -1 : 0;
}

int ps_link_listen(nng_socket s, const char *url, const struct ps_link_tls *tls, char *err,
                   size_t errlen)
{
    return ps_link_start(s, url, tls, 1, err, errlen);
}

int ps_link_dial(nng_socket s, const char *url, const struct ps_link_tls *tls, char *err,
                 size_t errlen)
{
    return ps_link_start(s, url, tls, 0, err, errlen);
}

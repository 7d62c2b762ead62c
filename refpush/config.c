/* refpush config: command-line parsing into struct refpush_config.
 *
 * Options are long options only, given as "--name value" or "--name=value"
 * (common/ps_cli, the convention of all three programs). Each value is checked here, so a typo stops refpush at start with a message
 * naming the option and the bad value (exit status 2 in main) instead of
 * producing a server that quietly behaves differently from what the test
 * expected. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ps_cli.h"
#include "ps_proto.h"
#include "query.h"

/* The heartbeat must arrive in one piece to be recognised: lws hands refpush
 * client data in chunks of at most the WebSocket rx buffer. */
#define REFPUSH_HB_TEXT_MAX  REFPUSH_WS_RX_BUF
#define REFPUSH_HB_REPLY_MAX 4096

enum refpush_opt_key {
    REFPUSH_BIND, REFPUSH_PORT, REFPUSH_HTTP_PORT, REFPUSH_HB_TEXT, REFPUSH_HB_REPLY,
    REFPUSH_WRAP, REFPUSH_QUIET,
    REFPUSH_TLS_CERT, REFPUSH_TLS_KEY,
};

static const struct ps_cli_opt refpush_opts[] = {
    {"--bind", PS_CLI_VALUE, "ADDR", "IPv4 address to listen on (default 127.0.0.1)", REFPUSH_BIND},
    {"--port", PS_CLI_VALUE, "P", "port for the WebSocket endpoint /ws?uid=N and the\n"
     "HTTP push API (default 8080; 0 picks a free port)", REFPUSH_PORT},
    {"--http-port", PS_CLI_VALUE, "P", "also serve the push API (only) on this port",
     REFPUSH_HTTP_PORT},
    {"--heartbeat-text", PS_CLI_VALUE, "T", "client text message answered as a heartbeat\n"
     "(default ping)", REFPUSH_HB_TEXT},
    {"--heartbeat-reply", PS_CLI_VALUE, "R", "the answer (default pong)", REFPUSH_HB_REPLY},
    {"--wrap", PS_CLI_VALUE, "json|raw", "json: deliver {\"type\":\"push\",\"uid\":N,\"data\":\"<body>\"}\n"
     "raw: deliver the body as is (default json)", REFPUSH_WRAP},
    {"--quiet", PS_CLI_FLAG, NULL, "errors only on stderr", REFPUSH_QUIET},
    {"--tls-cert", PS_CLI_VALUE, "FILE", "PEM certificate (chain): --port serves wss:// and\n"
     "https:// (--http-port stays plain HTTP)", REFPUSH_TLS_CERT},
    {"--tls-key", PS_CLI_VALUE, "FILE", "PEM private key of --tls-cert", REFPUSH_TLS_KEY},
};

static int refpush_config_apply(void *ctx, const struct ps_cli_opt *opt, const char *value)
{
    struct refpush_config *cfg = ctx;
    const char *name = opt->name;
    char msg[160];
    if (opt->key == REFPUSH_BIND) {
        struct in_addr a;
        if (inet_pton(AF_INET, value, &a) != 1) {
            fprintf(stderr, "refpush: --bind: expected an IPv4 address like 127.0.0.1, got \"%.40s\"\n",
                    value);
            return -1;
        }
        cfg->bind = value;
    } else if (opt->key == REFPUSH_PORT || opt->key == REFPUSH_HTTP_PORT) {
        int port;
        if (refpush_parse_port(value, &port, msg, sizeof msg)) {
            fprintf(stderr, "refpush: %s: %s\n", name, msg);
            return -1;
        }
        if (opt->key == REFPUSH_PORT)
            cfg->port = port;
        else
            cfg->http_port = port;
    } else if (opt->key == REFPUSH_HB_TEXT) {
        size_t n = strlen(value);
        if (n == 0 || n > REFPUSH_HB_TEXT_MAX) {
            fprintf(stderr, "refpush: --heartbeat-text: must be 1 to %d bytes, got %zu\n",
                    REFPUSH_HB_TEXT_MAX, n);
            return -1;
        }
        cfg->hb_text = value;
        cfg->hb_text_len = n;
    } else if (opt->key == REFPUSH_HB_REPLY) {
        size_t n = strlen(value);
        if (n == 0 || n > REFPUSH_HB_REPLY_MAX) {
            fprintf(stderr, "refpush: --heartbeat-reply: must be 1 to %d bytes, got %zu\n",
                    REFPUSH_HB_REPLY_MAX, n);
            return -1;
        }
        cfg->hb_reply = value;
        cfg->hb_reply_len = n;
    } else if (opt->key == REFPUSH_WRAP) {
        if (!strcmp(value, "json")) {
            cfg->wrap = REFPUSH_WRAP_JSON;
        } else if (!strcmp(value, "raw")) {
            cfg->wrap = REFPUSH_WRAP_RAW;
        } else {
            fprintf(stderr, "refpush: --wrap: expected json or raw, got \"%.40s\"\n", value);
            return -1;
        }
    } else if (opt->key == REFPUSH_QUIET) {
        cfg->quiet = 1;
    } else if (opt->key == REFPUSH_TLS_CERT || opt->key == REFPUSH_TLS_KEY) {
        if (access(value, R_OK)) {
            fprintf(stderr, "refpush: %s %.200s: %s\n", name, value, strerror(errno));
            return -1;
        }
        if (opt->key == REFPUSH_TLS_CERT)
            cfg->tls_cert = value;
        else
            cfg->tls_key = value;
    }
    return 0;
}

static const struct ps_cli refpush_cli = {
    .prog = "refpush", .name = "refpush", .version = PS_VERSION_STRING,
    .synopsis = "[options]",
    .about = "A small WebSocket push service: the pushstorm demo target and test server.",
    .notes = "API: POST /push?uid=N, POST /broadcast, GET /stats,\n"
             "     POST /admin/kick?fraction=F, POST /admin/drop?nth=3,17,40\n"
             "Prints \"refpush listening on ws://ADDR:PORT/ws\" (wss:// with --tls-cert) when ready; stops on SIGTERM/SIGINT.\n",
    .opts = refpush_opts, .n_opts = sizeof refpush_opts / sizeof refpush_opts[0],
    .on_opt = refpush_config_apply,
};

enum refpush_config_rc refpush_config_parse(struct refpush_config *cfg, int argc, char **argv)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->bind = "127.0.0.1";
    cfg->port = 8080;
    cfg->http_port = -1;
    cfg->hb_text = "ping";
    cfg->hb_text_len = 4;
    cfg->hb_reply = "pong";
    cfg->hb_reply_len = 4;
    cfg->wrap = REFPUSH_WRAP_JSON;

    enum ps_cli_rc rc = ps_cli_parse(&refpush_cli, cfg, argc - 1, argv + 1);
    if (rc != PS_CLI_OK)
        return rc == PS_CLI_DONE ? REFPUSH_CONFIG_HELP : REFPUSH_CONFIG_ERROR;

    if (!cfg->tls_cert != !cfg->tls_key) {
        fprintf(stderr, "refpush: %s given without %s: TLS needs both\n",
                cfg->tls_cert ? "--tls-cert" : "--tls-key", cfg->tls_cert ? "--tls-key" : "--tls-cert");
        return REFPUSH_CONFIG_ERROR;
    }
    if (cfg->http_port >= 0 && cfg->http_port == cfg->port && cfg->port != 0) {
        fprintf(stderr, "refpush: --http-port %d: same as --port; the API is served on --port "
                     "already, give --http-port only for a second, API-only listener\n",
                cfg->http_port);
        return REFPUSH_CONFIG_ERROR;
    }
    return REFPUSH_CONFIG_OK;
}

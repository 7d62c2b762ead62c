/* refpush config: command-line parsing into struct refpush_config.
 *
 * Options are long options only, given as "--name value" or "--name=value".
 * Each value is checked here, so a typo stops refpush at start with a message
 * naming the option and the bad value (exit status 2 in main) instead of
 * producing a server that quietly behaves differently from what the test
 * expected. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "query.h"

/* The heartbeat must arrive in one piece to be recognised: lws hands refpush
 * client data in chunks of at most the WebSocket rx buffer. */
#define REFPUSH_HB_TEXT_MAX  REFPUSH_WS_RX_BUF
#define REFPUSH_HB_REPLY_MAX 4096

void refpush_config_usage(FILE *f)
{
    fputs("usage: refpush [options]\n"
          "  a small WebSocket push service: the pushstorm demo target and test server\n"
          "\n"
          "  --bind ADDR              IPv4 address to listen on (default 127.0.0.1)\n"
          "  --port P                 port for the WebSocket endpoint /ws?uid=N and the\n"
          "                           HTTP push API (default 8080; 0 picks a free port)\n"
          "  --http-port P            also serve the push API (only) on this port\n"
          "  --heartbeat-text T       client text message answered as a heartbeat (default ping)\n"
          "  --heartbeat-reply R      the answer (default pong)\n"
          "  --wrap json|raw          json: deliver {\"type\":\"push\",\"uid\":N,\"data\":\"<body>\"}\n"
          "                           raw: deliver the body as is (default json)\n"
          "  --quiet                  errors only on stderr\n"
          "  --help                   this text\n"
          "\n"
          "  API: POST /push?uid=N, POST /broadcast, GET /stats,\n"
          "       POST /admin/kick?fraction=F, POST /admin/drop?nth=3,17,40\n"
          "  Prints \"refpush listening on ws://ADDR:PORT/ws\" when ready; stops on SIGTERM/SIGINT.\n",
          f);
}

struct refpush_opt {
    const char *name;
    int takes_value;
};

static const struct refpush_opt refpush_opts[] = {
    { "--bind", 1 },           { "--port", 1 },            { "--http-port", 1 },
    { "--heartbeat-text", 1 }, { "--heartbeat-reply", 1 }, { "--wrap", 1 },
    { "--quiet", 0 },          { "--help", 0 },            { "-h", 0 },
};

static int refpush_config_apply(struct refpush_config *cfg, const char *name, const char *value,
                                FILE *err)
{
    char msg[160];
    if (!strcmp(name, "--bind")) {
        struct in_addr a;
        if (inet_pton(AF_INET, value, &a) != 1) {
            fprintf(err, "refpush: --bind: expected an IPv4 address like 127.0.0.1, got \"%.40s\"\n",
                    value);
            return -1;
        }
        cfg->bind = value;
    } else if (!strcmp(name, "--port") || !strcmp(name, "--http-port")) {
        int port;
        if (refpush_parse_port(value, &port, msg, sizeof msg)) {
            fprintf(err, "refpush: %s: %s\n", name, msg);
            return -1;
        }
        if (!strcmp(name, "--port"))
            cfg->port = port;
        else
            cfg->http_port = port;
    } else if (!strcmp(name, "--heartbeat-text")) {
        size_t n = strlen(value);
        if (n == 0 || n > REFPUSH_HB_TEXT_MAX) {
            fprintf(err, "refpush: --heartbeat-text: must be 1 to %d bytes, got %zu\n",
                    REFPUSH_HB_TEXT_MAX, n);
            return -1;
        }
        cfg->hb_text = value;
        cfg->hb_text_len = n;
    } else if (!strcmp(name, "--heartbeat-reply")) {
        size_t n = strlen(value);
        if (n == 0 || n > REFPUSH_HB_REPLY_MAX) {
            fprintf(err, "refpush: --heartbeat-reply: must be 1 to %d bytes, got %zu\n",
                    REFPUSH_HB_REPLY_MAX, n);
            return -1;
        }
        cfg->hb_reply = value;
        cfg->hb_reply_len = n;
    } else if (!strcmp(name, "--wrap")) {
        if (!strcmp(value, "json")) {
            cfg->wrap = REFPUSH_WRAP_JSON;
        } else if (!strcmp(value, "raw")) {
            cfg->wrap = REFPUSH_WRAP_RAW;
        } else {
            fprintf(err, "refpush: --wrap: expected json or raw, got \"%.40s\"\n", value);
            return -1;
        }
    } else if (!strcmp(name, "--quiet")) {
        cfg->quiet = 1;
    }
    return 0;
}

enum refpush_config_rc refpush_config_parse(struct refpush_config *cfg, int argc, char **argv,
                                            FILE *err)
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

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        size_t nlen = eq && !strncmp(arg, "--", 2) ? (size_t)(eq - arg) : strlen(arg);
        const struct refpush_opt *opt = NULL;
        for (size_t k = 0; k < sizeof refpush_opts / sizeof refpush_opts[0]; k++)
            if (strlen(refpush_opts[k].name) == nlen && !strncmp(refpush_opts[k].name, arg, nlen))
                opt = &refpush_opts[k];
        if (!opt) {
            if (arg[0] == '-')
                fprintf(err, "refpush: unknown option \"%.*s\" (see refpush --help)\n", (int)nlen,
                        arg);
            else
                fprintf(err, "refpush: unexpected argument \"%.40s\": refpush takes options only "
                             "(see refpush --help)\n", arg);
            return REFPUSH_CONFIG_ERROR;
        }
        if (!strcmp(opt->name, "--help") || !strcmp(opt->name, "-h")) {
            refpush_config_usage(stdout);
            return REFPUSH_CONFIG_HELP;
        }
        const char *value = NULL;
        if (opt->takes_value) {
            if (arg[nlen] == '=') {
                value = arg + nlen + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                fprintf(err, "refpush: %s needs a value (see refpush --help)\n", opt->name);
                return REFPUSH_CONFIG_ERROR;
            }
        } else if (arg[nlen] == '=') {
            fprintf(err, "refpush: %s takes no value\n", opt->name);
            return REFPUSH_CONFIG_ERROR;
        }
        if (refpush_config_apply(cfg, opt->name, value, err))
            return REFPUSH_CONFIG_ERROR;
    }

    if (cfg->http_port >= 0 && cfg->http_port == cfg->port && cfg->port != 0) {
        fprintf(err, "refpush: --http-port %d: same as --port; the API is served on --port "
                     "already, give --http-port only for a second, API-only listener\n",
                cfg->http_port);
        return REFPUSH_CONFIG_ERROR;
    }
    return REFPUSH_CONFIG_OK;
}

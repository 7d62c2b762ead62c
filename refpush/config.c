/* refpush config: command-line parsing into struct refpush_config.
 *
 * Options are long options only, given as "--name value" or "--name=value"
 * (common/ps_cli, the convention of all three programs). Each value is checked here, so a typo stops refpush at start with a message
 * naming the option and the bad value (exit status 2 in main) instead of
 * producing a server that quietly behaves differently from what the test
 * expected. */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ack.h"
#include "ps_cli.h"
#include "ps_units.h"
#include "ps_proto.h"
#include "query.h"

/* The heartbeat must arrive in one piece to be recognised: lws hands refpush
 * client data in chunks of at most the WebSocket rx buffer. */
#define REFPUSH_HB_TEXT_MAX  REFPUSH_WS_RX_BUF
#define REFPUSH_HB_REPLY_MAX 4096
#define REFPUSH_SECRET_MAX   200

enum refpush_opt_key {
    REFPUSH_BIND, REFPUSH_PORT, REFPUSH_HTTP_PORT, REFPUSH_HB_TEXT, REFPUSH_HB_REPLY,
    REFPUSH_WRAP, REFPUSH_QUIET,
    REFPUSH_STRICT, REFPUSH_WELCOME, REFPUSH_HB_JSON, REFPUSH_REQUIRE_LOGIN, REFPUSH_LOGIN_SECRET,
    REFPUSH_LOGIN_REPLY, REFPUSH_LOGIN_TIMEOUT, REFPUSH_REQUIRE_ACK, REFPUSH_ACK_TIMEOUT,
    REFPUSH_MAX_REDELIVER, REFPUSH_ACK_WINDOW,
    REFPUSH_TLS_CERT, REFPUSH_TLS_KEY, REFPUSH_TLS_TICKET_KEY,
    REFPUSH_WS_PING,
};

static const struct ps_cli_opt refpush_opts[] = {
    {"--bind", PS_CLI_VALUE, "ADDR", "IPv4 or IPv6 address to listen on (default 127.0.0.1)", REFPUSH_BIND},
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
    /* strict mode: the session of a real service */
    {"--strict", PS_CLI_FLAG, NULL, "send the default welcome and answer JSON pings\n"
     "(--welcome with its default, --heartbeat-json)", REFPUSH_STRICT},
    {"--welcome", PS_CLI_VALUE, "TEMPLATE", "sent right after the upgrade; {uid}, {session}\n"
     "(default " REFPUSH_WELCOME_DEFAULT ")", REFPUSH_WELCOME},
    {"--heartbeat-json", PS_CLI_FLAG, NULL, "answer {\"type\":\"ping\",\"seq\":N} with\n"
     "{\"type\":\"pong\",\"seq\":N,\"ts\":<server ms>}", REFPUSH_HB_JSON},
    {"--require-login", PS_CLI_FLAG, NULL, "pushes only after {\"type\":\"login\",\n"
     "\"token\":\"<secret>-<uid>\"}; else closed with 1008", REFPUSH_REQUIRE_LOGIN},
    {"--login-secret", PS_CLI_VALUE, "S", "the secret of the tokens (with --require-login)",
     REFPUSH_LOGIN_SECRET},
    {"--login-reply", PS_CLI_VALUE, "TEMPLATE", "sent after a good login, \"\" for none; default\n"
     REFPUSH_LOGIN_REPLY_DEFAULT, REFPUSH_LOGIN_REPLY},
    {"--login-timeout", PS_CLI_VALUE, "DUR", "time a connection has to log in (default 5s)",
     REFPUSH_LOGIN_TIMEOUT},
    {"--require-ack", PS_CLI_FLAG, NULL, "pushes carry \"id\":K; redeliver those not acked with\n"
     "{\"type\":\"ack\",\"id\":K} in time (needs --wrap json)", REFPUSH_REQUIRE_ACK},
    {"--ack-timeout", PS_CLI_VALUE, "DUR", "time to ack before a redelivery (default 1s)",
     REFPUSH_ACK_TIMEOUT},
    {"--max-redeliver", PS_CLI_VALUE, "N", "redeliveries of one message before it is given up\n"
     "(default 3)", REFPUSH_MAX_REDELIVER},
    {"--ack-window", PS_CLI_VALUE, "N", "unacked pushes one connection may have out; more\n"
     "wait (default 64, at most " PS_CLI_STR(REFPUSH_ACK_WINDOW_MAX) ")", REFPUSH_ACK_WINDOW},
    {"--tls-cert", PS_CLI_VALUE, "FILE", "PEM certificate (chain): --port serves wss:// and\n"
     "https:// (--http-port stays plain HTTP)", REFPUSH_TLS_CERT},
    {"--tls-key", PS_CLI_VALUE, "FILE", "PEM private key of --tls-cert", REFPUSH_TLS_KEY},
    {"--tls-ticket-key", PS_CLI_VALUE, "FILE", "80 bytes (mode 600) sealing session tickets, so\n"
     "clients resume across restarts (default: random per process)", REFPUSH_TLS_TICKET_KEY},
    {"--ws-ping", PS_CLI_VALUE, "DUR", "RFC 6455 ping every connection silent this long\n"
     "(100ms to 20m); no pong within 3 times it: hung up (default off)", REFPUSH_WS_PING},
};

/* A template may use only the placeholders its frame fills in: a misspelt
 * {sesion} would otherwise go out literally. Other braces (JSON) are text. */
static int refpush_config_template(const char *opt, const char *v, size_t *len)
{
    static const char *const known[] = { "{uid}", "{session}" };
    size_t n = strlen(v);
    if (n > REFPUSH_TPL_MAX) {
        fprintf(stderr, "refpush: %s: at most %d bytes, got %zu\n", opt, REFPUSH_TPL_MAX, n);
        return -1;
    }
    for (const char *p = strchr(v, '{'); p; p = strchr(p + 1, '{')) {
        size_t k = 1;
        while ((p[k] >= 'a' && p[k] <= 'z') || p[k] == '_')
            k++;
        if (k == 1 || p[k] != '}')
            continue;
        int ok = 0;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok |= strlen(known[i]) == k + 1 && !strncmp(p, known[i], k + 1);
        if (!ok) {
            fprintf(stderr, "refpush: %s: unknown placeholder %.*s at byte %zu (known: {uid}, "
                            "{session})\n", opt, (int)(k + 1), p, (size_t)(p - v) + 1);
            return -1;
        }
    }
    *len = n;
    return 0;
}

static int refpush_config_ms(const char *opt, const char *v, uint32_t *out)
{
    int64_t us;
    char msg[160];
    if (ps_units_parse_duration_us(v, &us, msg, sizeof msg)) {
        fprintf(stderr, "refpush: %s: %s\n", opt, msg);
        return -1;
    }
    if (us < 1000 || us > 3600 * INT64_C(1000000)) {
        fprintf(stderr, "refpush: %s: must be 1ms to 1h, got \"%.40s\"\n", opt, v);
        return -1;
    }
    *out = (uint32_t)(us / 1000);
    return 0;
}

static int refpush_config_count(const char *opt, const char *v, uint32_t lo, uint32_t hi,
                                uint32_t *out)
{
    uint64_t n;
    char msg[160];
    if (ps_units_parse_count(v, &n, msg, sizeof msg)) {
        fprintf(stderr, "refpush: %s: %s\n", opt, msg);
        return -1;
    }
    if (n < lo || n > hi) {
        fprintf(stderr, "refpush: %s: must be %u to %u, got %" PRIu64 "\n", opt, lo, hi, n);
        return -1;
    }
    *out = (uint32_t)n;
    return 0;
}

/* The secret is written into JSON by clients as is: no quotes, backslashes or
 * control characters, so that no client has to escape it. */
static int refpush_config_secret(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > REFPUSH_SECRET_MAX) {
        fprintf(stderr, "refpush: --login-secret: must be 1 to %d bytes, got %zu\n",
                REFPUSH_SECRET_MAX, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x21 || c == '"' || c == '\\' || c == 0x7f) {
            fprintf(stderr, "refpush: --login-secret: byte %zu is a space, quote, backslash or "
                            "control character; tokens must need no JSON escaping\n", i + 1);
            return -1;
        }
    }
    return 0;
}

/* What is being parsed, and which options were given (bit = key). */
struct refpush_config_ctx {
    struct refpush_config *cfg;
    uint32_t given;
};

/* The strict-mode options. */
static int refpush_config_strict(struct refpush_config *cfg, int key, const char *name,
                                 const char *value)
{
    size_t n;
    switch (key) {
    case REFPUSH_STRICT:
        cfg->hb_json = 1;
        if (!cfg->welcome)
            cfg->welcome = REFPUSH_WELCOME_DEFAULT;
        return 0;
    case REFPUSH_WELCOME:
        if (refpush_config_template(name, value, &n))
            return -1;
        if (n == 0) {
            fprintf(stderr, "refpush: --welcome: empty; leave the option out for no welcome\n");
            return -1;
        }
        cfg->welcome = value;
        return 0;
    case REFPUSH_HB_JSON:
        cfg->hb_json = 1;
        return 0;
    case REFPUSH_REQUIRE_LOGIN:
        cfg->require_login = 1;
        return 0;
    case REFPUSH_LOGIN_SECRET:
        if (refpush_config_secret(value))
            return -1;
        cfg->login_secret = value;
        return 0;
    case REFPUSH_LOGIN_REPLY:
        if (refpush_config_template(name, value, &n))
            return -1;
        cfg->login_reply = n ? value : NULL;
        return 0;
    case REFPUSH_LOGIN_TIMEOUT:
        return refpush_config_ms(name, value, &cfg->login_timeout_ms);
    case REFPUSH_REQUIRE_ACK:
        cfg->require_ack = 1;
        return 0;
    case REFPUSH_ACK_TIMEOUT:
        return refpush_config_ms(name, value, &cfg->ack_timeout_ms);
    case REFPUSH_MAX_REDELIVER:
        return refpush_config_count(name, value, 0, 100, &cfg->max_redeliver);
    case REFPUSH_ACK_WINDOW:
        return refpush_config_count(name, value, 1, REFPUSH_ACK_WINDOW_MAX, &cfg->ack_window);
    case REFPUSH_WS_PING:
        /* 3 times it must stay far inside ping.c's wrapping 32-bit ms */
        if (refpush_config_ms(name, value, &cfg->ws_ping_ms))
            return -1;
        if (cfg->ws_ping_ms < 100 || cfg->ws_ping_ms > 3600 * 1000 / 3) {
            fprintf(stderr, "refpush: %s: 100ms to 20m, got \"%.40s\"\n", name, value);
            return -1;
        }
        return 0;
    }
    return 0;
}

static int refpush_config_apply(void *vctx, const struct ps_cli_opt *opt, const char *value)
{
    struct refpush_config_ctx *ctx = vctx;
    struct refpush_config *cfg = ctx->cfg;
    ctx->given |= 1u << opt->key;
    const char *name = opt->name;
    char msg[160];
    if (opt->key == REFPUSH_BIND) {
        struct in6_addr a6;
        struct in_addr a;
        cfg->bind_v6 = inet_pton(AF_INET6, value, &a6) == 1;
        if (!cfg->bind_v6 && inet_pton(AF_INET, value, &a) != 1) {
            fprintf(stderr, "refpush: --bind: expected an IP address like 127.0.0.1 or ::1, "
                            "got \"%.40s\"\n", value);
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
    } else if (opt->key == REFPUSH_TLS_TICKET_KEY) {
        return refpush_ticket_read(value, &cfg->tls_ticket_key);
    } else if (opt->key == REFPUSH_TLS_CERT || opt->key == REFPUSH_TLS_KEY) {
        if (access(value, R_OK)) {
            fprintf(stderr, "refpush: %s %.200s: %s\n", name, value, strerror(errno));
            return -1;
        }
        if (opt->key == REFPUSH_TLS_CERT)
            cfg->tls_cert = value;
        else
            cfg->tls_key = value;
    } else {
        return refpush_config_strict(cfg, opt->key, name, value);
    }
    return 0;
}

/* An option of a mode that is off would be silently ignored: refused instead. */
static int refpush_config_check_strict(const struct refpush_config *cfg, uint32_t given)
{
    static const struct { int key; const char *name; int mode; const char *mode_name; } needs[] = {
        { REFPUSH_LOGIN_SECRET,  "--login-secret",  REFPUSH_REQUIRE_LOGIN, "--require-login" },
        { REFPUSH_LOGIN_REPLY,   "--login-reply",   REFPUSH_REQUIRE_LOGIN, "--require-login" },
        { REFPUSH_LOGIN_TIMEOUT, "--login-timeout", REFPUSH_REQUIRE_LOGIN, "--require-login" },
        { REFPUSH_ACK_TIMEOUT,   "--ack-timeout",   REFPUSH_REQUIRE_ACK,   "--require-ack" },
        { REFPUSH_MAX_REDELIVER, "--max-redeliver", REFPUSH_REQUIRE_ACK,   "--require-ack" },
        { REFPUSH_ACK_WINDOW,    "--ack-window",    REFPUSH_REQUIRE_ACK,   "--require-ack" },
    };
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++) {
        if ((given & (1u << needs[i].key)) && !(given & (1u << needs[i].mode))) {
            fprintf(stderr, "refpush: %s: has no effect without %s\n", needs[i].name,
                    needs[i].mode_name);
            return -1;
        }
    }
    if (cfg->require_login && !cfg->login_secret) {
        fprintf(stderr, "refpush: --require-login: needs --login-secret S (tokens are "
                        "\"S-<uid>\")\n");
        return -1;
    }
    if (cfg->require_ack && cfg->wrap != REFPUSH_WRAP_JSON) {
        fprintf(stderr, "refpush: --require-ack: needs --wrap json (the message id travels in "
                        "the JSON wrapper)\n");
        return -1;
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
    cfg->login_reply = REFPUSH_LOGIN_REPLY_DEFAULT;
    cfg->login_timeout_ms = 5000;
    cfg->ack_timeout_ms = 1000;
    cfg->max_redeliver = 3;
    cfg->ack_window = 64;
    struct refpush_config_ctx ctx = { .cfg = cfg };
    enum ps_cli_rc rc = ps_cli_parse(&refpush_cli, &ctx, argc - 1, argv + 1);
    if (rc != PS_CLI_OK)
        return rc == PS_CLI_DONE ? REFPUSH_CONFIG_HELP : REFPUSH_CONFIG_ERROR;

    if (!cfg->tls_cert != !cfg->tls_key) {
        fprintf(stderr, "refpush: %s given without %s: TLS needs both\n",
                cfg->tls_cert ? "--tls-cert" : "--tls-key", cfg->tls_cert ? "--tls-key" : "--tls-cert");
        return REFPUSH_CONFIG_ERROR;
    }
    if (cfg->tls_ticket_key.set && !cfg->tls_cert) {
        fprintf(stderr, "refpush: --tls-ticket-key: has no effect without --tls-cert/--tls-key\n");
        return REFPUSH_CONFIG_ERROR;
    }
    if (cfg->http_port >= 0 && cfg->http_port == cfg->port && cfg->port != 0) {
        fprintf(stderr, "refpush: --http-port %d: same as --port; the API is served on --port "
                     "already, give --http-port only for a second, API-only listener\n",
                cfg->http_port);
        return REFPUSH_CONFIG_ERROR;
    }
    return refpush_config_check_strict(cfg, ctx.given) ? REFPUSH_CONFIG_ERROR : REFPUSH_CONFIG_OK;
}

/* refpush: the reference WebSocket push service (docs/refpush.md).
 *
 * main() only wires things together: parse the command line (exit 2 on a bad
 * one), raise the open-file limit so the process can hold as many connections
 * as the hard limit allows, then init -> start -> run the uv loop -> close the
 * server. The loop returns once a SIGTERM/SIGINT has stopped the server and
 * lws has closed all its handles; everything is freed before exit so sanitizer
 * builds report real leaks only. Exit status: 0 after a clean stop, 1 if the
 * server could not start (e.g. the port is taken), 2 for bad arguments. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <libwebsockets.h>
#include <uv.h>

#include "config.h"
#include "server.h"

/* Each connection is a file descriptor; the soft limit is often 1024. */
static void refpush_raise_nofile(int quiet)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            fprintf(stderr, "refpush: cannot raise the open-file limit from %llu to %llu: %s\n",
                    (unsigned long long)was, (unsigned long long)rl.rlim_max, strerror(errno));
            return;
        }
    }
    if (!quiet)
        fprintf(stderr, "refpush: open-file limit %llu\n", (unsigned long long)rl.rlim_cur);
}

int main(int argc, char **argv)
{
    struct refpush_config cfg;
    switch (refpush_config_parse(&cfg, argc, argv)) {
    case REFPUSH_CONFIG_OK:
        break;
    case REFPUSH_CONFIG_HELP:
        return 0;
    case REFPUSH_CONFIG_ERROR:
        return 2;
    }

    /* lws sends with MSG_NOSIGNAL; this also covers anything that does not */
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(cfg.quiet ? LLL_ERR : LLL_ERR | LLL_WARN, NULL);
    refpush_raise_nofile(cfg.quiet);

    uv_loop_t loop;
    int rc = uv_loop_init(&loop);
    if (rc) {
        fprintf(stderr, "refpush: cannot create the event loop: %s\n", uv_strerror(rc));
        return 1;
    }

    int status = 0;
    struct refpush_server server;
    if (refpush_server_init(&server, &cfg, &loop)) {
        fprintf(stderr, "refpush: out of memory at start\n");
        status = 1;
    } else if (refpush_server_start(&server)) {
        status = 1;
    }
    if (status)
        refpush_server_stop(&server);   /* undoes a partial start; the loop finishes it */

    uv_run(&loop, UV_RUN_DEFAULT);
    refpush_server_close(&server);
    refpush_ticket_wipe(&cfg.tls_ticket_key);   /* the server wiped its own copy */

    rc = uv_loop_close(&loop);
    if (rc) {
        fprintf(stderr, "refpush: event loop still had open handles at exit: %s\n",
                uv_strerror(rc));
        if (!status)
            status = 1;
    }
    return status;
}

/* fuzz_refpush_http: libFuzzer target for refpush's request handling as a
 * client sees it: routing, methods, query arguments (refpush/http.c,
 * query.c), bodies, the WebSocket upgrade decision, and over an upgraded
 * connection the strict-mode session (cmsg.c's reader, logins, acks, JSON
 * pings) and the app heartbeat.
 *
 * HTTP parsing proper is libwebsockets'; what is ours is everything it hands
 * up. So the target runs refpush itself, in this process: two servers, each on
 * its own libuv loop in its own thread, on free loopback ports - a plain one
 * (WebSocket port + the API-only --http-port) and a strict one (--strict
 * --require-login --require-ack). Each input is the bytes of one TCP
 * connection: byte 0 picks the listener (mod 3: plain ws port, plain API port,
 * strict port), the rest is sent, the write side shut, and the answer read
 * until refpush closes. ASan/UBSan in the server threads end the process with
 * the input saved, as any crash does.
 *
 * Seeds (tests/fuzz/corpus/refpush_http/) are real requests: curl's pushes,
 * broadcasts, stats, kicks, drops, bad methods and paths, a chunked body,
 * Expect: 100-continue, and WebSocket upgrades followed by frames with a zero
 * mask key (so the payload is plain text the fuzzer can mutate): logins,
 * pings, acks, heartbeats, close frames. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <uv.h>

#include "config.h"
#include "server.h"

#define FUZZ_HTTP_WAIT_MS 1000   /* for refpush to close after our FIN */

struct fuzz_http_server {
    uv_loop_t loop;
    struct refpush_server server;
    pthread_t thread;
    int port, api_port;
};

static void *fuzz_http_loop(void *arg)
{
    struct fuzz_http_server *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* Starts refpush with argv on its own loop and thread; the process keeps it
 * until exit (libFuzzer ends with exit(), the leak check sees it reachable). */
static struct fuzz_http_server *fuzz_http_start(int argc, char **argv)
{
    struct fuzz_http_server *f = calloc(1, sizeof *f);
    struct refpush_config cfg;
    if (!f || refpush_config_parse(&cfg, argc, argv) != REFPUSH_CONFIG_OK ||
        uv_loop_init(&f->loop) || refpush_server_init(&f->server, &cfg, &f->loop) ||
        refpush_server_start(&f->server)) {
        fprintf(stderr, "fuzz_refpush_http: cannot start refpush\n");
        exit(1);
    }
    f->port = lws_get_vhost_listen_port(f->server.ws_vhost);
    f->api_port = f->server.api_vhost ? lws_get_vhost_listen_port(f->server.api_vhost) : -1;
    if (pthread_create(&f->thread, NULL, fuzz_http_loop, f)) {
        fprintf(stderr, "fuzz_refpush_http: cannot start a thread\n");
        exit(1);
    }
    return f;
}

static int fuzz_http_ports[3];

int LLVMFuzzerInitialize(int *argc, char ***argv);
/* connect() that a signal (libFuzzer's timers) may interrupt: the connection
 * then goes on in the kernel, so wait for it instead of calling connect again. */
static int fuzz_http_connect(int fd, const struct sockaddr_in *sa)
{
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0)
        return 0;
    if (errno != EINTR)
        return -1;
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };
    int rc, err = 0;
    socklen_t len = sizeof err;
    do
        rc = poll(&pfd, 1, 5000);
    while (rc < 0 && errno == EINTR);
    if (rc <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return -1;
    errno = err;
    return err ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static char *plain[] = { "refpush", "--port", "0", "--http-port", "0", "--quiet", NULL };
    static char *strict[] = { "refpush", "--port", "0", "--quiet", "--strict", "--require-login",
                              "--login-secret", "k", "--require-ack", "--login-timeout", "1s",
                              "--ack-timeout", "200ms", NULL };
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(0, NULL);
    struct fuzz_http_server *p = fuzz_http_start(6, plain);
    struct fuzz_http_server *s = fuzz_http_start(13, strict);
    fuzz_http_ports[0] = p->port;
    fuzz_http_ports[1] = p->api_port;
    fuzz_http_ports[2] = s->port;
    return 0;
}

/* Waits up to ms for fd to be readable; 0 on timeout. */
static int fuzz_http_wait(int fd, int ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int rc;
    do
        rc = poll(&pfd, 1, ms);
    while (rc < 0 && errno == EINTR);
    return rc > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int port = fuzz_http_ports[data[0] % 3];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || fuzz_http_connect(fd, &sa) != 0) {
        /* refpush stopped listening: that is a failure of the server, not of the input's bytes */
        fprintf(stderr, "fuzz_refpush_http: cannot connect to refpush on %d: %s\n", port,
                strerror(errno));
        abort();
    }
    /* refpush may answer and close before all is written (a refused upgrade):
     * a failed send ends the writing, not the input */
    for (size_t off = 1; off < size;) {
        ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    char buf[65536];
    while (fuzz_http_wait(fd, FUZZ_HTTP_WAIT_MS) && read(fd, buf, sizeof buf) > 0)
        ;
    close(fd);
    return 0;
}

/* fakeagent: an impostor for tests/integration/test_security.sh.
 *
 * It speaks the controller's wire (proto/, common/ps_auth) the way an attacker
 * who reached the port would, and prints what the controller answered:
 *   fakeagent hello URL KEYFILE|-     the two-round hello, proving KEYFILE's
 *                                     key (or none); prints "joined ID" or
 *                                     "refused: REASON"; exit 0 either way
 *   fakeagent spoof URL AGENT RUN FIRST N SECONDS
 *                                     event batches on the data port (URL's
 *                                     port + 1) claiming to be agent AGENT of
 *                                     run RUN: connections FIRST..FIRST+N-1
 *                                     failed, every sequence number from 1,
 *                                     with a made-up session token
 *   fakeagent big URL MB              one control request of MB megabytes;
 *                                     prints "answered" or "no answer"
 * Exit 2 on a usage or local error. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "ps_auth.h"
#include "ps_proto.h"

static int fake_dial_req(nng_socket *s, const char *url)
{
    int rc;
    if ((rc = nng_req0_open(s)) || (rc = nng_dial(*s, url, NULL, 0))) {
        fprintf(stderr, "fakeagent: %s: %s\n", url, nng_strerror(rc));
        return -1;
    }
    nng_socket_set_ms(*s, NNG_OPT_RECVTIMEO, 5000);
    nng_socket_set_ms(*s, NNG_OPT_SENDTIMEO, 5000);
    return 0;
}

static nng_msg *fake_rpc(nng_socket s, msgpack_sbuffer *sb)
{
    nng_msg *m = NULL;
    if (nng_send(s, sb->data, sb->size, 0) || nng_recvmsg(s, &m, 0))
        return NULL;
    return m;
}

static int fake_hello(const char *url, const char *keyfile)
{
    struct ps_auth_key key = {0};
    char err[300];
    if (strcmp(keyfile, "-") && ps_auth_key_load(&key, keyfile, err, sizeof err)) {
        fprintf(stderr, "fakeagent: %s\n", err);
        return 2;
    }
    nng_socket s;
    if (fake_dial_req(&s, url))
        return 2;
    struct ps_hello h = {.cores = 1, .threads = 1, .fd_soft = 1 << 20, .fd_hard = 1 << 20};
    snprintf(h.name, sizeof h.name, "impostor");
    snprintf(h.host, sizeof h.host, "nowhere");
    snprintf(h.version, sizeof h.version, "%s", PS_VERSION_STRING);
    ps_auth_nonce(h.auth_nonce);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    ps_proto_encode_hello(&sb, &h);
    nng_msg *m = fake_rpc(s, &sb);
    struct ps_challenge ch;
    if (!m || ps_proto_decode_challenge(nng_msg_body(m), nng_msg_len(m), &ch, err, sizeof err)) {
        printf("no challenge: %s\n", m ? err : "no answer");
        return 2;
    }
    nng_msg_free(m);
    snprintf(h.auth_challenge, sizeof h.auth_challenge, "%s", ch.nonce);
    if (key.len)
        ps_auth_mac(&key, PS_AUTH_AGENT, h.auth_nonce, ch.nonce, h.auth_mac);
    msgpack_sbuffer_clear(&sb);
    ps_proto_encode_hello(&sb, &h);
    struct ps_welcome w;
    if (!(m = fake_rpc(s, &sb)) ||
        ps_proto_decode_welcome(nng_msg_body(m), nng_msg_len(m), &w, err, sizeof err)) {
        printf("no welcome: %s\n", m ? err : "no answer");
        return 2;
    }
    nng_msg_free(m);
    if (w.agent_id)
        printf("joined %u\n", w.agent_id);
    else
        printf("refused: %s\n", w.reason);
    msgpack_sbuffer_destroy(&sb);
    nng_close(s);
    return 0;
}

static int fake_spoof(const char *url, char **argv)
{
    char data[600];
    const char *colon = strrchr(url, ':');
    if (!colon)
        return 2;
    snprintf(data, sizeof data, "%.*s:%d", (int)(colon - url), url, atoi(colon + 1) + 1);
    uint32_t agent = (uint32_t)atoi(argv[0]), run = (uint32_t)atoi(argv[1]),
             first = (uint32_t)atoi(argv[2]), n = (uint32_t)atoi(argv[3]);
    int seconds = atoi(argv[4]);
    nng_socket s;
    int rc;
    if ((rc = nng_push0_open(&s)) || (rc = nng_dial(s, data, NULL, 0))) {
        fprintf(stderr, "fakeagent: %s: %s\n", data, nng_strerror(rc));
        return 2;
    }
    struct ps_events *e = calloc(1, sizeof *e);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    e->agent_id = agent;
    e->run_id = run;
    ps_auth_nonce(e->token);   /* a guess: what an impostor can do */
    uint32_t sent = 0;
    for (int round = 0; round < seconds * 10; round++) {
        for (uint64_t seq = 1; seq <= 64; seq++) {
            e->seq = seq;
            e->n = 0;
            for (uint32_t c = 0; c < n && e->n < PS_EVENTS_MAX; c++)
                e->ev[e->n++] = (struct ps_event){.conn = first + c, .type = PS_EV_FAILED,
                                                  .ts = 1, .val = PS_REASON_REFUSED};
            msgpack_sbuffer_clear(&sb);
            ps_proto_encode_events(&sb, e);
            if (nng_send(s, sb.data, sb.size, 0) == 0)
                sent++;
        }
        nng_msleep(100);
    }
    printf("sent %u batches\n", sent);
    msgpack_sbuffer_destroy(&sb);
    free(e);
    nng_close(s);
    return 0;
}

/* Raw TCP, so nothing of nng's own (a REQ socket resends a request on every
 * reconnect) stands between the test and what the controller does: the SP
 * header of a REQ peer, then one message of MB megabytes, written until the
 * controller hangs up or takes it all; then up to 5 s for an answer. */
static int fake_big(const char *url, const char *mb)
{
    char host[256];
    int port;
    if (sscanf(url, "tcp://%255[^:]:%d", host, &port) != 2)
        return 2;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("fakeagent: connect");
        return 2;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    static const unsigned char sp_req[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0};
    unsigned char peer[8], head[12];
    uint64_t len = ((uint64_t)atoi(mb) << 20) + 4;   /* + the request id */
    for (int i = 0; i < 8; i++)
        head[i] = (unsigned char)(len >> (56 - 8 * i));
    memcpy(head + 8, "\x80\0\0\x01", 4);
    if (write(fd, sp_req, 8) != 8 || read(fd, peer, 8) != 8 || write(fd, head, 12) != 12) {
        printf("no answer\n");
        return 0;
    }
    static char chunk[1 << 16];
    uint64_t sent = 4;
    while (sent < len) {
        ssize_t n = write(fd, chunk, len - sent < sizeof chunk ? (size_t)(len - sent) : sizeof chunk);
        if (n <= 0)
            break;   /* the controller hung up (or stopped reading) */
        sent += (uint64_t)n;
    }
    fprintf(stderr, "fakeagent: %llu of %llu bytes written\n", (unsigned long long)sent,
            (unsigned long long)len);
    unsigned char rhead[8];
    ssize_t n = sent == len ? read(fd, rhead, sizeof rhead) : -1;
    if (n == (ssize_t)sizeof rhead) {
        uint64_t rlen = 0;
        for (int i = 0; i < 8; i++)
            rlen = rlen << 8 | rhead[i];
        printf("answered (%llu bytes)\n", (unsigned long long)rlen);
    } else {
        printf("no answer\n");
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    alarm(60);   /* whatever happens, a test never waits on the impostor for ever */
    if (argc == 4 && !strcmp(argv[1], "hello"))
        return fake_hello(argv[2], argv[3]);
    if (argc == 8 && !strcmp(argv[1], "spoof"))
        return fake_spoof(argv[2], argv + 3);
    if (argc == 4 && !strcmp(argv[1], "big"))
        return fake_big(argv[2], argv[3]);
    fprintf(stderr, "usage: fakeagent hello URL KEYFILE|- | spoof URL AGENT RUN FIRST N SECONDS | "
                    "big URL MB\n");
    return 2;
}

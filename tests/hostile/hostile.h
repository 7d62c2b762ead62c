/* hostile: a deliberately misbehaving WebSocket server for the agent's tests.
 *
 * The agent must classify every way a server can go wrong (enum ps_reason).
 * A real server library would refuse to break the protocol, so this one writes
 * the HTTP upgrade and the frame bytes by hand. The request path of the upgrade
 * GET chooses the misbehaviour (the table and what each does: behave.c).
 *
 * One concern per file:
 *   main.c    the poll loop, accept, the connection slots, options
 *   wire.c    bytes in and out: buffers, frame headers, the client's frames,
 *             the HTTP request and plain HTTP answers
 *   behave.c  the misbehaviours: what the upgrade answers, what is sent after
 *             it, how a data frame from the client is answered
 *   sha1.c    Sec-WebSocket-Accept (SHA-1 and base64, here because a test tool
 *             should not pull in a crypto library for 20 bytes of hash)
 *
 * One thread, non-blocking sockets and poll(); a signalfd brings SIGTERM and
 * SIGINT into the same loop. Each connection is one heap slot with fixed in/out
 * buffers, freed when the client closes, on any socket error, or 30 s after
 * accept, whichever comes first: nothing outlives its socket. The server only
 * ever answers; it never initiates a connection. */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define HOSTILE_IN_MAX        4096
#define HOSTILE_OUT_MAX       8192
#define HOSTILE_DEFAULT_CONNS 4096
#define HOSTILE_LIFETIME_US   30000000LL  /* no socket is held longer than this */
#define HOSTILE_ACT_DELAY_US  50000LL     /* 101 first, misbehaviour in a later write */
#define HOSTILE_RST_DELAY_US  200000LL    /* let the half frame reach the peer before the RST */
#define HOSTILE_OVERSIZE_LEN  (1ULL << 30)
#define HOSTILE_OVERSIZE_SENT 4096
#define HOSTILE_HUGE_LEN      (64u << 10) /* /huge: a whole text frame past the agent's 4 KiB */
#define HOSTILE_DEEP_LEVELS   3000        /* /deepjson: '[' nesting, past cJSON's 1000 */

enum hostile_kind {
    HOSTILE_OK, HOSTILE_REJECT401, HOSTILE_REJECT503, HOSTILE_BADACCEPT, HOSTILE_OVERSIZE,
    HOSTILE_BADUTF8, HOSTILE_MASKED, HOSTILE_RSTMIDFRAME, HOSTILE_NOHANDSHAKE,
    HOSTILE_CLOSENOSTATUS, HOSTILE_CLOSE1011, HOSTILE_BADOPCODE, HOSTILE_WELCOME,
    /* garbage during a session: what a session script must survive or name */
    HOSTILE_SILENT, HOSTILE_JUNK, HOSTILE_HUGE, HOSTILE_DEEPJSON, HOSTILE_WELCOMECLOSE,
    /* connect-failure classification: not HTTP, Close codes no endpoint may send */
    HOSTILE_GARBAGE, HOSTILE_CLOSE1005, HOSTILE_CLOSE999,
    HOSTILE_UNKNOWN
};

enum hostile_state {
    HOSTILE_ST_REQUEST,   /* reading the upgrade request */
    HOSTILE_ST_DRAIN,     /* nothing more to say: discard input until EOF or lifetime */
    HOSTILE_ST_UPGRADED,  /* 101 sent; the misbehaviour fires at act_at */
    HOSTILE_ST_OPEN,      /* acting as a minimal server: pings, Close */
    HOSTILE_ST_RST,       /* half a frame sent: reset the connection at act_at */
};

struct hostile_conn {
    int      fd;
    uint32_t serial;             /* for --verbose lines */
    enum hostile_kind  kind;
    enum hostile_state state;
    int64_t  accepted_at;        /* monotonic us */
    int64_t  act_at;             /* 0 = no timed action */
    int      sent_close;         /* our Close is queued: send no more frames */
    int      shut_after_flush;   /* half-close once the out buffer is empty */
    int      rst;                /* close with SO_LINGER {1,0} */
    uint64_t skip;               /* payload bytes of an oversized client frame to discard */
    uint32_t fill;               /* payload bytes of a long frame still to write (/huge) */
    size_t   in_len, out_off, out_len;
    uint8_t  in[HOSTILE_IN_MAX];
    uint8_t  out[HOSTILE_OUT_MAX];
};

struct hostile_server {
    int      listen_fd;
    int      signal_fd;
    int      verbose;
    uint32_t max_conns;
    uint32_t n_conns;
    uint32_t next_serial;
    struct hostile_conn **conns; /* max_conns slots; NULL = free */
    struct pollfd *pfds;         /* listener, signalfd, then one per live connection */
    uint32_t *pfd_slot;          /* pfds[i + 2] belongs to conns[pfd_slot[i]] */
};

/* main.c */
void hostile_log(const struct hostile_server *s, const struct hostile_conn *c, const char *what);

/* sha1.c: out gets 28 base64 characters and a NUL. */
void hostile_accept_key(const char *key, size_t keylen, char *out);

/* wire.c. Functions returning int return -1 when the connection is to be closed. */
int hostile_flush(struct hostile_conn *c);
int hostile_queue(struct hostile_conn *c, const void *data, size_t len);
size_t hostile_frame_header(uint8_t *h, uint8_t fin_op, uint64_t announce, int masked);
int hostile_send_frame(struct hostile_conn *c, uint8_t fin_op, const void *payload, size_t len);
void hostile_http_response(struct hostile_conn *c, const char *status, const char *body);
const char *hostile_header(const char *req, const char *name, size_t *len);
int hostile_read(struct hostile_server *s, struct hostile_conn *c, int64_t now);

/* behave.c */
const char *hostile_kind_path(enum hostile_kind k);
void hostile_request(struct hostile_server *s, struct hostile_conn *c, int64_t now);
int hostile_act(struct hostile_server *s, struct hostile_conn *c, int64_t now);
void hostile_on_data(struct hostile_server *s, struct hostile_conn *c, uint8_t op,
                     const uint8_t *payload, size_t len);
void hostile_fill_done(struct hostile_conn *c);

#endif

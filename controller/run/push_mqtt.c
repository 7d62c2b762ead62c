/* push_mqtt: the mqtt adapter, a PUBLISH per call on a broker connection the
 * controller keeps (libmosquitto, MQTT 5).
 *
 * mqtt://[user:password@]host[:port]/topic-template (mqtts:// with the plan's
 * tls block): one connection per distinct broker, opened on the first call to
 * it, driven by hand from the controller's one loop (its socket joins the
 * pusher's wait; no libmosquitto thread), so every callback runs on the
 * controller's thread. QoS 0 completes when the PUBLISH is written, QoS 1 on
 * its PUBACK, whose MQTT 5 reason code is the call's status (>= 0x80 failed).
 * A slot stays taken until then, so the core's `concurrency` is the QoS 1
 * messages in flight.
 *
 * Nothing fails silently: calls made before the CONNACK wait for it (and fail
 * with its reason code if refused); a lost connection fails every call still
 * waiting on it; a broker that cannot be reached fails each call with why,
 * and is tried again at most once a second; a PUBACK that does not come
 * within the call timeout fails its call. Overdue calls are found through a
 * FIFO of calls in start order, so the check costs nothing per idle call. */
#include "pusher.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "ps_time.h"

#define PUSH_MQTT_BROKERS   8
#define PUSH_MQTT_RETRY_US  1000000    /* a broker that failed is dialled again after this */
#define PUSH_MQTT_KEEPALIVE 30
#define PUSH_MQTT_FREE      0xffff

enum push_mqtt_state { PM_DOWN, PM_CONNECTING, PM_UP };
enum push_mqtt_call_state { PMC_FREE, PMC_WAITING, PMC_PUBLISHED };

struct push_mqtt_broker {
    struct push_mqtt *m;
    struct mosquitto *mosq;
    char     host[PS_NAME_MAX * 4];
    char     user[PS_HDR_MAX], password[PS_HDR_MAX];
    int      port, tls;
    int      dialled;            /* connect_async done once: later dials reconnect */
    enum push_mqtt_state state;
    int64_t  failed_at;          /* mono us of the last failure, 0 = none */
    int      why_status;         /* its CONNACK reason code, or -1 */
    char     why[PUSHER_ERR_MAX];
    uint16_t *mid_slot;          /* [65536]: slot of a published message id */
    uint16_t pending[PUSHER_MAX_CONCURRENCY];  /* slots waiting for the CONNACK */
    uint32_t n_pending;
};

struct push_mqtt_call {
    uint8_t  state;              /* enum push_mqtt_call_state */
    uint8_t  broker, qos;
    uint16_t gen;                /* tells this call from the slot's earlier ones in the FIFO */
    int      mid;
    uint32_t payload_len;
    char     topic[PS_URL_MAX];
    char     payload[PUSHER_BODY_MAX];
};

struct push_mqtt {
    struct pusher *p;
    struct push_mqtt_broker brokers[PUSH_MQTT_BROKERS];
    unsigned n_brokers;
    int      publishing;         /* slot inside mosquitto_publish (QoS 0 may finish there), or -1 */
    struct push_mqtt_call calls[PUSHER_MAX_CONCURRENCY];
    struct { uint16_t slot, gen; } fifo[PUSHER_MAX_CONCURRENCY];   /* started calls, oldest first */
    uint32_t fifo_head, fifo_n;
};

static void push_mqtt_fail(struct push_mqtt *m, uint32_t slot, int status, const char *why)
{
    struct push_mqtt_call *c = &m->calls[slot];
    if (c->state == PMC_FREE)
        return;
    if (c->state == PMC_PUBLISHED && m->brokers[c->broker].mid_slot[c->mid & 0xffff] == slot)
        m->brokers[c->broker].mid_slot[c->mid & 0xffff] = PUSH_MQTT_FREE;
    c->state = PMC_FREE;
    pusher_finish(m->p, slot, 0, status, 0, why);
}

/* The broker is gone: every call waiting on it fails with why. */
static void push_mqtt_down(struct push_mqtt_broker *b, const char *fmt, const char *detail)
{
    struct push_mqtt *m = b->m;
    snprintf(b->why, sizeof b->why, fmt, b->host, b->port, detail);
    b->why_status = -1;
    b->state = PM_DOWN;
    b->failed_at = ps_time_mono_us();
    unsigned idx = (unsigned)(b - m->brokers);
    for (uint32_t i = 0; i < b->n_pending; i++)
        push_mqtt_fail(m, b->pending[i], -1, b->why);
    b->n_pending = 0;
    for (uint32_t s = 0; s < PUSHER_MAX_CONCURRENCY; s++)
        if (m->calls[s].state != PMC_FREE && m->calls[s].broker == idx)
            push_mqtt_fail(m, s, -1, b->why);
}

static void push_mqtt_publish(struct push_mqtt_broker *b, uint32_t slot)
{
    struct push_mqtt *m = b->m;
    struct push_mqtt_call *c = &m->calls[slot];
    int mid = 0;
    c->state = PMC_PUBLISHED;
    c->mid = -1;
    m->publishing = (int)slot;
    int rc = mosquitto_publish_v5(b->mosq, &mid, c->topic, (int)c->payload_len, c->payload, c->qos,
                                  false, NULL);
    m->publishing = -1;
    if (rc != MOSQ_ERR_SUCCESS) {
        char why[PUSHER_ERR_MAX];
        snprintf(why, sizeof why, "mqtt publish to %s:%d: %s", b->host, b->port,
                 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        push_mqtt_fail(m, slot, -1, why);
        return;
    }
    if (c->state == PMC_PUBLISHED) {   /* not already written (QoS 0) inside the call */
        c->mid = mid;
        b->mid_slot[mid & 0xffff] = (uint16_t)slot;
    }
}

static void push_mqtt_on_connect(struct mosquitto *mosq, void *ud, int rc, int flags,
                                 const mosquitto_property *props)
{
    (void)mosq;
    (void)flags;
    (void)props;
    struct push_mqtt_broker *b = ud;
    if (rc != 0) {
        char code[96];
        snprintf(code, sizeof code, "%s (CONNACK reason code %d)", mosquitto_reason_string(rc), rc);
        /* the calls fail with the broker's code as their status */
        for (uint32_t i = 0; i < b->n_pending; i++) {
            char why[PUSHER_ERR_MAX];
            snprintf(why, sizeof why, "mqtt broker %s:%d refused the connection: %s", b->host,
                     b->port, code);
            push_mqtt_fail(b->m, b->pending[i], rc, why);
        }
        b->n_pending = 0;
        /* libmosquitto closes the socket itself after this callback */
        push_mqtt_down(b, "mqtt broker %s:%d refused the connection: %s", code);
        b->why_status = rc;
        return;
    }
    b->state = PM_UP;
    b->why[0] = 0;
    for (uint32_t i = 0; i < b->n_pending; i++)
        push_mqtt_publish(b, b->pending[i]);
    b->n_pending = 0;
}

static void push_mqtt_on_disconnect(struct mosquitto *mosq, void *ud, int rc,
                                    const mosquitto_property *props)
{
    (void)mosq;
    (void)props;
    struct push_mqtt_broker *b = ud;
    if (b->state == PM_DOWN)
        return;
    push_mqtt_down(b, "mqtt connection to %s:%d lost: %s",
                   rc == MOSQ_ERR_ERRNO && errno ? strerror(errno) : mosquitto_strerror(rc));
}

static void push_mqtt_on_publish(struct mosquitto *mosq, void *ud, int mid, int reason,
                                 const mosquitto_property *props)
{
    (void)mosq;
    (void)props;
    struct push_mqtt_broker *b = ud;
    struct push_mqtt *m = b->m;
    int slot = b->mid_slot[mid & 0xffff] != PUSH_MQTT_FREE ? b->mid_slot[mid & 0xffff] : m->publishing;
    if (slot < 0 || m->calls[slot].state != PMC_PUBLISHED)
        return;
    struct push_mqtt_call *c = &m->calls[slot];
    if (c->mid >= 0)
        b->mid_slot[c->mid & 0xffff] = PUSH_MQTT_FREE;
    c->state = PMC_FREE;
    char why[PUSHER_ERR_MAX];
    snprintf(why, sizeof why, "PUBACK reason code %d: %s", reason, mosquitto_reason_string(reason));
    /* QoS 0 has no answer: status is the MQTT 5 "success" it was written with */
    pusher_finish(m->p, (uint32_t)slot, reason < 0x80, reason, -1, why);
}

/* Dials b (again); 0, or -1 with b->why. */
static int push_mqtt_dial(struct push_mqtt *m, struct push_mqtt_broker *b, const struct ps_tls *t,
                          int64_t now)
{
    b->why_status = -1;   /* a failure here has no code of the broker's */
    if (!b->mosq) {
        char id[64];
        snprintf(id, sizeof id, "pushstorm-%d-%u", (int)getpid(), (unsigned)(b - m->brokers));
        b->mosq = mosquitto_new(id, true, b);
        if (!b->mosq) {
            snprintf(b->why, sizeof b->why, "mqtt: out of memory for a broker connection");
            return -1;
        }
        mosquitto_int_option(b->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
        mosquitto_int_option(b->mosq, MOSQ_OPT_TCP_NODELAY, 1);
        /* the core's concurrency is the limit, not libmosquitto's default of 20 */
        mosquitto_int_option(b->mosq, MOSQ_OPT_SEND_MAXIMUM, 65535);
        mosquitto_connect_v5_callback_set(b->mosq, push_mqtt_on_connect);
        mosquitto_disconnect_v5_callback_set(b->mosq, push_mqtt_on_disconnect);
        mosquitto_publish_v5_callback_set(b->mosq, push_mqtt_on_publish);
        if (b->user[0])
            mosquitto_username_pw_set(b->mosq, b->user, b->password[0] ? b->password : NULL);
        if (b->tls) {
            int rc = mosquitto_tls_set(b->mosq, t && t->ca_file[0] ? t->ca_file : NULL,
                                       t && t->ca_dir[0] ? t->ca_dir : NULL,
                                       t && t->cert[0] ? t->cert : NULL,
                                       t && t->cert[0] ? t->key : NULL, NULL);
            if (!t || (!t->ca_file[0] && !t->ca_dir[0]))
                mosquitto_int_option(b->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
            if (rc == MOSQ_ERR_SUCCESS && t)
                rc = mosquitto_tls_opts_set(b->mosq, t->insecure ? 0 : 1,
                                            t->min_version >= 13 ? "tlsv1.3" : "tlsv1.2", NULL);
            if (rc == MOSQ_ERR_SUCCESS && t && t->insecure)
                rc = mosquitto_tls_insecure_set(b->mosq, true);
            if (rc != MOSQ_ERR_SUCCESS) {
                snprintf(b->why, sizeof b->why, "mqtts %s:%d: tls settings refused: %s", b->host,
                         b->port, mosquitto_strerror(rc));
                return -1;
            }
        }
    }
    int rc = b->dialled ? mosquitto_reconnect_async(b->mosq)
                        : mosquitto_connect_async(b->mosq, b->host, b->port, PUSH_MQTT_KEEPALIVE);
    b->dialled = 1;
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(b->why, sizeof b->why, "mqtt broker %s:%d unreachable: %s", b->host, b->port,
                 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        b->failed_at = now;
        return -1;
    }
    b->state = PM_CONNECTING;
    return 0;
}

/* mqtt[s]://[user[:password]@]host[:port]/topic: the broker (found or added)
 * and the topic; -1 with err. */
static int push_mqtt_route(struct push_mqtt *m, const char *url, int tls, char *topic,
                           struct push_mqtt_broker **out, char *err, size_t errlen)
{
    const char *auth = strstr(url, "://") + 3, *slash = auth + strcspn(auth, "/");
    const char *at = memchr(auth, '@', (size_t)(slash - auth)), *host = at ? at + 1 : auth;
    char user[PS_HDR_MAX] = "", password[PS_HDR_MAX] = "", hostname[PS_NAME_MAX * 4];
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        snprintf(user, sizeof user, "%.*s", (int)((colon ? colon : at) - auth), auth);
        if (colon)
            snprintf(password, sizeof password, "%.*s", (int)(at - colon - 1), colon + 1);
    }
    const char *port_s = memchr(host, ':', (size_t)(slash - host));
    int port = tls ? 8883 : 1883;
    if (port_s)
        port = atoi(port_s + 1);
    size_t hlen = (size_t)((port_s ? port_s : slash) - host);
    if (!hlen || hlen >= sizeof hostname || port <= 0 || port > 65535 || *slash != '/' || !slash[1]) {
        snprintf(err, errlen, "not an mqtt URL with a broker and a topic: %s", url);
        return -1;
    }
    memcpy(hostname, host, hlen);
    hostname[hlen] = 0;
    snprintf(topic, PS_URL_MAX, "%s", slash + 1);
    for (unsigned i = 0; i < m->n_brokers; i++) {
        struct push_mqtt_broker *b = &m->brokers[i];
        if (b->port == port && b->tls == tls && !strcmp(b->host, hostname) && !strcmp(b->user, user)) {
            *out = b;
            return 0;
        }
    }
    if (m->n_brokers == PUSH_MQTT_BROKERS) {
        snprintf(err, errlen, "more than %d distinct mqtt brokers", PUSH_MQTT_BROKERS);
        return -1;
    }
    struct push_mqtt_broker *b = &m->brokers[m->n_brokers];
    if (!(b->mid_slot = malloc(65536 * sizeof *b->mid_slot))) {
        snprintf(err, errlen, "out of memory for an mqtt broker");
        return -1;
    }
    memset(b->mid_slot, 0xff, 65536 * sizeof *b->mid_slot);
    m->n_brokers++;
    b->m = m;
    b->port = port;
    b->tls = tls;
    memcpy(b->host, hostname, hlen + 1);
    memcpy(b->user, user, sizeof user);
    memcpy(b->password, password, sizeof password);
    *out = b;
    return 0;
}

/* Entries of finished calls stay in the FIFO until they reach its head; when
 * they fill it (a live call at the head, many finished behind it), drop them:
 * at most PUSHER_MAX_CONCURRENCY calls are live, so this always makes room. */
static void push_mqtt_fifo_compact(struct push_mqtt *m)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < m->fifo_n; i++) {
        uint32_t at = (m->fifo_head + i) % PUSHER_MAX_CONCURRENCY;
        const struct push_mqtt_call *c = &m->calls[m->fifo[at].slot];
        if (c->state != PMC_FREE && c->gen == m->fifo[at].gen)
            m->fifo[(m->fifo_head + kept++) % PUSHER_MAX_CONCURRENCY] = m->fifo[at];
    }
    m->fifo_n = kept;
}

static int push_mqtt_start(void *st, uint32_t slot, const struct pusher_req *rq, char *err,
                           size_t errlen)
{
    struct push_mqtt *m = st;
    struct push_mqtt_call *c = &m->calls[slot];
    struct push_mqtt_broker *b;
    int tls = 0;
    pusher_kind_of(rq->url, &tls);
    if (push_mqtt_route(m, rq->url, tls, c->topic, &b, err, errlen) != 0)
        return -1;
    if (rq->body_len > PUSHER_BODY_MAX) {
        snprintf(err, errlen, "body too long");
        return -1;
    }
    int64_t now = pusher_started_us(m->p, slot);
    if (b->state == PM_DOWN && b->failed_at && now - b->failed_at < PUSH_MQTT_RETRY_US) {
        /* fails like the calls that saw it happen, with the broker's code */
        pusher_finish(m->p, slot, 0, b->why_status, -1, b->why);
        return 0;
    }
    if (b->state == PM_DOWN && push_mqtt_dial(m, b, rq->tls, now) != 0) {
        snprintf(err, errlen, "%s", b->why);
        return -1;
    }
    c->broker = (uint8_t)(b - m->brokers);
    c->qos = (uint8_t)rq->call->qos;
    c->gen++;
    memcpy(c->payload, rq->body, rq->body_len);
    c->payload_len = (uint32_t)rq->body_len;
    if (m->fifo_n == PUSHER_MAX_CONCURRENCY)
        push_mqtt_fifo_compact(m);
    uint32_t tail = (m->fifo_head + m->fifo_n++) % PUSHER_MAX_CONCURRENCY;
    m->fifo[tail].slot = (uint16_t)slot;
    m->fifo[tail].gen = c->gen;
    if (b->state == PM_UP) {
        push_mqtt_publish(b, slot);
    } else {
        c->state = PMC_WAITING;
        b->pending[b->n_pending++] = (uint16_t)slot;
    }
    return 0;
}

static unsigned push_mqtt_fds(void *st, struct curl_waitfd *fds, unsigned cap)
{
    struct push_mqtt *m = st;
    unsigned n = 0;
    for (unsigned i = 0; i < m->n_brokers && n < cap; i++) {
        struct push_mqtt_broker *b = &m->brokers[i];
        int fd = b->mosq && b->state != PM_DOWN ? mosquitto_socket(b->mosq) : -1;
        if (fd < 0)
            continue;
        short ev = CURL_WAIT_POLLIN;
        if (b->state == PM_CONNECTING || mosquitto_want_write(b->mosq))
            ev |= CURL_WAIT_POLLOUT;
        fds[n++] = (struct curl_waitfd){fd, ev, 0};
    }
    return n;
}

static void push_mqtt_drive(void *st, int64_t now)
{
    struct push_mqtt *m = st;
    for (unsigned i = 0; i < m->n_brokers; i++) {
        struct push_mqtt_broker *b = &m->brokers[i];
        if (!b->mosq || b->state == PM_DOWN)
            continue;
        /* a read that would block costs one syscall; the wait does not say which fd woke */
        int rc = mosquitto_loop_read(b->mosq, 64);
        if (rc == MOSQ_ERR_SUCCESS && b->state != PM_DOWN &&
            (b->state == PM_CONNECTING || mosquitto_want_write(b->mosq)))
            rc = mosquitto_loop_write(b->mosq, 64);
        if (rc == MOSQ_ERR_SUCCESS && b->state != PM_DOWN)
            rc = mosquitto_loop_misc(b->mosq);
        if (rc != MOSQ_ERR_SUCCESS && b->state != PM_DOWN)
            push_mqtt_down(b, "mqtt connection to %s:%d failed: %s",
                           rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    }
    /* calls whose PUBACK (or CONNACK) is overdue, oldest first */
    int64_t limit = (int64_t)m->p->timeout_ms * 1000;
    while (m->fifo_n) {
        uint16_t slot = m->fifo[m->fifo_head].slot;
        struct push_mqtt_call *c = &m->calls[slot];
        int live = c->state != PMC_FREE && c->gen == m->fifo[m->fifo_head].gen;
        if (live && now - pusher_started_us(m->p, slot) < limit)
            break;
        m->fifo_head = (m->fifo_head + 1) % PUSHER_MAX_CONCURRENCY;
        m->fifo_n--;
        if (live) {
            struct push_mqtt_broker *b = &m->brokers[c->broker];
            char why[PUSHER_ERR_MAX];
            snprintf(why, sizeof why, "mqtt %s:%d: no %s within %ldms", b->host, b->port,
                     c->state == PMC_WAITING ? "CONNACK" : "PUBACK", m->p->timeout_ms);
            if (c->state == PMC_WAITING) {   /* leaves the broker's queue too */
                for (uint32_t k = 0; k < b->n_pending; k++)
                    if (b->pending[k] == slot)
                        b->pending[k] = b->pending[--b->n_pending];
            }
            push_mqtt_fail(m, slot, -1, why);
        }
    }
}

static void *push_mqtt_init(struct pusher *p)
{
    struct push_mqtt *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->p = p;
    m->publishing = -1;
    mosquitto_lib_init();
    return m;
}

static void push_mqtt_close(void *st)
{
    struct push_mqtt *m = st;
    for (unsigned i = 0; i < m->n_brokers; i++) {
        struct push_mqtt_broker *b = &m->brokers[i];
        if (b->mosq) {
            b->state = PM_DOWN;   /* no callbacks into calls that are being torn down */
            mosquitto_disconnect(b->mosq);
            mosquitto_destroy(b->mosq);
        }
        free(b->mid_slot);
    }
    mosquitto_lib_cleanup();
    free(m);
}

const struct pusher_ops push_mqtt_ops = {
    .name = "mqtt",
    .schemes = {"mqtt", "mqtts"},
    .init = push_mqtt_init,
    .close = push_mqtt_close,
    .start = push_mqtt_start,
    .fds = push_mqtt_fds,
    .drive = push_mqtt_drive,
};

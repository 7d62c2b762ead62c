/* bigdb: writes runs of the size of a million-connection campaign into a
 * results database, for bench/reports.sh and the report and prune tests.
 *
 * A real run that large takes this machine minutes and 13 GB; the reports
 * and `pushstorm prune` only read and delete what the store wrote, so this
 * writes it through the store's own functions (controller/store*.c) with the
 * real schema, in the shapes a campaign leaves: one agent row per agent, one
 * samples row per agent and second, a ctl_samples row per second, a
 * connected and a closed event per connection plus a reconnecting share,
 * the unicast pushes and the broadcasts, one delivery per recipient, a few
 * undelivered. The numbers are spread by a fixed hash so that histograms
 * and charts get realistic shapes; the same arguments give the same file.
 *
 *   bigdb DB [--conns N] [--agents N] [--unicast N] [--broadcasts N]
 *            [--churn F] [--lost N] [--seconds S] [--days-ago D] [--runs K]
 *            [--plan FILE] [--status pass|fail] [--hold]
 *
 * --hold leaves the (last) run `running`, owned by this process, prints
 * "holding run ID" and sleeps until killed: a live controller's run. Prints
 * one line per run written: "run ID: N connections, M deliveries, E events".
 * Exit 2 on a usage or store error. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan.h"
#include "ps_time.h"
#include "store.h"

struct bigdb {
    uint32_t conns, agents, unicast, broadcasts, lost, runs;
    uint32_t seconds;            /* run length; 0 = from the sizes */
    double   churn;              /* share of connections closed and reconnected */
    double   days_ago;
    const char *plan_path, *status;
    char    *plan_text;
    int      hold;
};

static uint64_t bigdb_hash(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* A latency-like value: mostly near base, a long tail up to 20 * base. */
static int64_t bigdb_spread(uint64_t key, int64_t base)
{
    uint64_t h = bigdb_hash(key);
    int64_t v = base + (int64_t)(h % (uint64_t)base);
    if ((h >> 32) % 100 == 0)
        v += (int64_t)((h >> 40) % (uint64_t)(base * 20));
    return v;
}

static int bigdb_fail(struct store *s, const char *what)
{
    fprintf(stderr, "bigdb: %s: %s\n", what, store_failed(s) ? store_error_text(s) : "failed");
    return -1;
}

static int bigdb_agents(struct store *s, const struct bigdb *b, uint32_t run, int64_t t0)
{
    uint32_t per = (b->conns + b->agents - 1) / b->agents;
    for (uint32_t a = 1; a <= b->agents; a++) {
        struct ps_hello h = {.cores = 2, .threads = 2, .fd_soft = 20000, .fd_hard = 20000,
                             .mem_total = 24ull << 30, .mem_available = 20ull << 30,
                             .port_lo = 1024, .port_hi = 65535, .n_ips = 1};
        snprintf(h.name, sizeof h.name, "load-%u", a);
        snprintf(h.host, sizeof h.host, "vm%u", a);
        snprintf(h.version, sizeof h.version, "bigdb");
        snprintf(h.ips[0], sizeof h.ips[0], "10.1.%u.%u", a / 250, a % 250 + 1);
        uint32_t first = (a - 1) * per, n = first >= b->conns ? 0 : b->conns - first;
        if (store_agent(s, run, a, &h, t0) ||
            store_agent_update(s, run, a, first, n < per ? n : per, (int64_t)(a % 7) - 3, 90,
                               0, 0, NULL))
            return bigdb_fail(s, "agents");
    }
    return 0;
}

/* One samples row per agent and second, counters rising through the ramp. */
static int bigdb_samples(struct store *s, const struct bigdb *b, uint32_t run, int64_t t0_s,
                         uint32_t secs, uint32_t ramp_s)
{
    uint32_t per = (b->conns + b->agents - 1) / b->agents;
    for (uint32_t t = 0; t < secs; t++) {
        uint64_t up = t >= ramp_s ? per : (uint64_t)per * t / ramp_s;
        for (uint32_t a = 1; a <= b->agents; a++) {
            struct ps_stats st = {.second = t0_s + t, .connected = (uint32_t)up, .opened = up,
                                  .closed = t + 1 == secs ? up : 0, .pings = up / 30,
                                  .pongs = up / 30, .rtt_p50_us = 400, .rtt_p99_us = 3000,
                                  .hs_p50_us = 2000, .hs_p99_us = 9000,
                                  .lag_max_us = (uint32_t)bigdb_spread(t * 131 + a, 500),
                                  .cpu_pct_x100 = 4000, .rss_bytes = 60ull << 20};
            if (store_sample(s, run, a, &st))
                return bigdb_fail(s, "samples");
        }
        struct store_ctl_sample cs = {.run_id = run, .second = t0_s + t,
                                      .connected = (uint32_t)(up * b->agents), .agents = b->agents,
                                      .opened = up * b->agents, .lat_p50_us = 3000,
                                      .lat_p99_us = 40000};
        if (store_ctl_sample(s, &cs))
            return bigdb_fail(s, "ctl_samples");
        struct ps_hostmon m = {.cpu_pct_x100 = 6000, .mem_total = 24ull << 30,
                               .mem_available = 12ull << 30, .tcp_inuse = (uint32_t)up,
                               .pid = 4242, .proc_cpu_pct_x100 = 9000, .proc_rss = 400ull << 20,
                               .proc_fds = (uint32_t)up, .proc_threads = 2};
        if (store_monitor_sample(s, run, b->agents + 1, t0_s + t, &m))
            return bigdb_fail(s, "monitor_samples");
        store_maybe_commit(s, ps_time_mono_us());
    }
    return 0;
}

static int bigdb_event(struct store *s, const struct bigdb *b, uint32_t run, uint32_t conn,
                       uint32_t type, uint64_t val, int64_t ts)
{
    uint32_t per = (b->conns + b->agents - 1) / b->agents;
    struct ps_event ev = {.conn = conn, .ts = ts, .type = type, .val = val};
    return store_event(s, run, conn / per + 1, &ev, ts);
}

/* Connected during the ramp, the churn share closed and back, all closed at the end. */
static int bigdb_events(struct store *s, const struct bigdb *b, uint32_t run, int64_t t0,
                        uint32_t secs, uint32_t ramp_s, uint64_t *n)
{
    int64_t ramp_us = (int64_t)ramp_s * 1000000, end = t0 + (int64_t)secs * 1000000 - 500000;
    int64_t churn_at = t0 + ramp_us + (end - t0 - ramp_us) / 2;
    uint32_t churned = (uint32_t)(b->conns * b->churn);
    for (uint32_t c = 0; c < b->conns; c++) {
        int64_t at = t0 + ramp_us * c / (b->conns ? b->conns : 1);
        if (bigdb_event(s, b, run, c, PS_EV_CONNECTED, (uint64_t)bigdb_spread(c, 2000), at))
            return bigdb_fail(s, "conn_events");
        if ((c & 0xffff) == 0)
            store_maybe_commit(s, ps_time_mono_us());
    }
    for (uint32_t i = 0; i < churned; i++) {
        uint32_t c = (uint32_t)(((uint64_t)i * 10007) % b->conns);
        int64_t at = churn_at + (int64_t)(bigdb_hash(c) % 2000000);
        if (bigdb_event(s, b, run, c, PS_EV_CLOSED, PS_REASON_CLIENT_CLOSE, at) ||
            bigdb_event(s, b, run, c, PS_EV_RECONNECT, 1, at + 1000) ||
            bigdb_event(s, b, run, c, PS_EV_CONNECTED, (uint64_t)bigdb_spread(c, 2500),
                        at + 1000000))
            return bigdb_fail(s, "conn_events");
        if ((i & 0xffff) == 0)
            store_maybe_commit(s, ps_time_mono_us());
    }
    for (uint32_t c = 0; c < b->conns; c++) {
        if (bigdb_event(s, b, run, c, PS_EV_CLOSED, PS_REASON_CLIENT_CLOSE, end))
            return bigdb_fail(s, "conn_events");
        if ((c & 0xffff) == 0)
            store_maybe_commit(s, ps_time_mono_us());
    }
    *n = (uint64_t)b->conns * 2 + (uint64_t)churned * 3;
    return 0;
}

/* Unicast pushes to spread connections, then the broadcasts, each delivered
 * to every connection but the lost ones. */
static int bigdb_pushes(struct store *s, const struct bigdb *b, uint32_t run, int64_t t_push,
                        uint64_t *n)
{
    uint32_t msg = 0, lost = 0;
    uint64_t expected = b->unicast + (uint64_t)b->broadcasts * b->conns;
    /* lost deliveries spread evenly (by hash) over all messages */
    uint64_t one_in = b->lost ? (expected + b->lost - 1) / b->lost : 0;
    *n = 0;
    for (uint32_t i = 0; i < b->unicast + b->broadcasts; i++) {
        int bcast = i >= b->unicast;
        int64_t sent = t_push + (bcast ? 60000000ll * (i - b->unicast + 1) : (int64_t)i * 200);
        uint32_t to = (uint32_t)(((uint64_t)i * 7919) % b->conns);
        struct store_push_row p = {.run_id = run, .msg_id = ++msg, .mode = bcast ? 2 : 1,
                                   .conn = bcast ? -1 : (int64_t)to, .t_send_us = sent,
                                   .url = bcast ? "http://10.0.1.11:8081/broadcast"
                                                : "http://10.0.1.11:8081/push?uid=x"};
        struct store_push_call call = {run, msg, "http", 200, 200, 800, NULL};
        if (store_push(s, &p) || store_push_call(s, &call))
            return bigdb_fail(s, "pushes");
        uint32_t first = bcast ? 0 : to, count = bcast ? b->conns : 1, missed = 0;
        for (uint32_t c = first; c < first + count; c++) {
            int64_t lat = bigdb_spread((uint64_t)msg << 32 | c, bcast ? 400000 : 3000);
            if (lost < b->lost && bigdb_hash((uint64_t)c << 32 | msg) % one_in == 0) {
                lost++;
                missed++;
                if (store_undelivered(s, run, msg, c, "lost"))
                    return bigdb_fail(s, "undelivered");
                continue;
            }
            if (store_delivery(s, run, msg, c, sent + lat, lat, 90, 0, 0))
                return bigdb_fail(s, "deliveries");
            if ((++*n & 0xffff) == 0)
                store_maybe_commit(s, ps_time_mono_us());
        }
        if (store_push_result(s, run, msg, count, count - missed, 0, missed, 0, 0))
            return bigdb_fail(s, "pushes");
    }
    return 0;
}

static int bigdb_verdict(struct store *s, const struct bigdb *b, uint32_t run, uint64_t deliveries,
                         uint64_t events)
{
    uint64_t expected = b->unicast + (uint64_t)b->broadcasts * b->conns;
    const struct { const char *name; double v; } figs[] = {
        {"conn_target", b->conns}, {"conn_opened", b->conns}, {"connect_success", 1},
        {"conn_closed_events", (double)(events / 2)}, {"conn_failed_events", 0},
        {"handshakes", b->conns * (1 + b->churn)}, {"handshake_p50_us", 2900},
        {"handshake_p99_us", 3900}, {"pushes_sent", b->unicast + b->broadcasts},
        {"push_failed", 0}, {"push_expected", (double)expected},
        {"push_delivered", (double)deliveries},
        {"delivered_fraction", expected ? (double)deliveries / (double)expected : 1},
        {"push_lost", (double)(expected - deliveries)}, {"push_duplicates", 0},
        {"push_latency_p50_us", 5500}, {"push_latency_p99_us", 790000},
        {"push_latency_max_us", 8400000}, {"rtt_p50_us", 400}, {"rtt_p99_us", 3000},
        {"agents", b->agents + 1}, {"agents_lost", 0}, {"auth_keyless", 0},
        {"reason_client_close", (double)(events / 2)},
    };
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++)
        if (store_figure(s, run, figs[i].name, figs[i].v))
            return bigdb_fail(s, "figures");
    if (store_threshold(s, run, "connect_success", ">= 99.9%", 1, 1) ||
        store_threshold(s, run, "push_lost", "== 0", (double)(expected - deliveries),
                        expected == deliveries))
        return bigdb_fail(s, "thresholds");
    return 0;
}

/* The phases of the stored plan (or a ramp and a hold), laid over the run. */
static int bigdb_phases(struct store *s, const struct bigdb *b, uint32_t run, int64_t t0,
                        uint32_t secs, uint32_t ramp_s)
{
    struct plan *p = calloc(1, sizeof *p);
    char err[PLAN_ERR_MAX];
    int n = 2;
    if (p && b->plan_text &&
        plan_parse(b->plan_path, b->plan_text, strlen(b->plan_text), p, err, sizeof err) == 0)
        n = (int)p->n_phases;
    int64_t at = t0, rest = ((int64_t)secs - ramp_s) * 1000000 / (n > 1 ? n - 1 : 1);
    for (int i = 0; i < n; i++) {
        int ramp = i == 0;
        int64_t len = ramp ? (int64_t)ramp_s * 1000000 : rest;
        const char *kind = n > 2 || b->plan_text ? plan_phase_name(p->phases[i].kind)
                                                 : ramp ? "ramp" : "hold";
        if (store_phase(s, run, (uint32_t)i + 1, kind, 10 + i, at, at + len, ""))
            return free(p), bigdb_fail(s, "phases");
        at += len;
    }
    free(p);
    return 0;
}

static int bigdb_run(struct store *s, const struct bigdb *b, int64_t t0, int last)
{
    uint32_t ramp_s = b->conns / 20000 + 2;
    uint32_t secs = b->seconds ? b->seconds : ramp_s + 120 + 60 * (b->broadcasts + 1);
    uint32_t run;
    uint64_t events = 0, deliveries = 0;
    if (store_run_begin(s, "bigdb", b->plan_path, b->plan_text ? b->plan_text : "", t0, b->conns,
                        &run))
        return bigdb_fail(s, "run begin");
    if (bigdb_agents(s, b, run, t0) || bigdb_phases(s, b, run, t0, secs, ramp_s) ||
        bigdb_samples(s, b, run, t0 / 1000000, secs, ramp_s) ||
        bigdb_events(s, b, run, t0, secs, ramp_s, &events) ||
        bigdb_pushes(s, b, run, t0 + (int64_t)(ramp_s + 60) * 1000000, &deliveries) ||
        bigdb_verdict(s, b, run, deliveries, events))
        return -1;
    if (last && b->hold) {
        store_commit(s);
        printf("holding run %u\n", run);
        fflush(stdout);
        for (;;)
            pause();
    }
    if (store_run_end(s, run, t0 + (int64_t)secs * 1000000, b->status,
                      strcmp(b->status, "pass") ? 1 : 0, NULL))
        return bigdb_fail(s, "run end");
    printf("run %u: %u connections, %llu deliveries, %llu events\n", run, b->conns,
           (unsigned long long)deliveries, (unsigned long long)events);
    return 0;
}

static int bigdb_u32(const char *opt, const char *v, uint32_t min, uint32_t *out)
{
    char *end;
    unsigned long n = v ? strtoul(v, &end, 10) : 0;
    if (!v || *end || end == v || n < min || n > UINT32_MAX / 2) {
        fprintf(stderr, "bigdb: %s: expected a whole number >= %u, got \"%s\"\n", opt, min,
                v ? v : "");
        return -1;
    }
    *out = (uint32_t)n;
    return 0;
}

static int bigdb_args(struct bigdb *b, int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!strcmp(o, "--hold")) {
            b->hold = 1;
            continue;
        }
        if (!strcmp(o, "--conns")) rc = bigdb_u32(o, v, 1, &b->conns);
        else if (!strcmp(o, "--agents")) rc = bigdb_u32(o, v, 1, &b->agents);
        else if (!strcmp(o, "--unicast")) rc = bigdb_u32(o, v, 0, &b->unicast);
        else if (!strcmp(o, "--broadcasts")) rc = bigdb_u32(o, v, 0, &b->broadcasts);
        else if (!strcmp(o, "--lost")) rc = bigdb_u32(o, v, 0, &b->lost);
        else if (!strcmp(o, "--seconds")) rc = bigdb_u32(o, v, 1, &b->seconds);
        else if (!strcmp(o, "--runs")) rc = bigdb_u32(o, v, 1, &b->runs);
        else if (!strcmp(o, "--churn")) b->churn = v ? atof(v) : -1;
        else if (!strcmp(o, "--days-ago")) b->days_ago = v ? atof(v) : -1;
        else if (!strcmp(o, "--plan")) b->plan_path = v;
        else if (!strcmp(o, "--status")) b->status = v;
        else {
            fprintf(stderr, "bigdb: unknown option \"%s\"\n", o);
            return -1;
        }
        if (rc || !v || b->churn < 0 || b->churn > 1 || b->days_ago < 0)
            return rc ? -1 : (fprintf(stderr, "bigdb: %s: bad value\n", o), -1);
        i++;
    }
    if (b->plan_path) {
        size_t len;
        char err[PLAN_ERR_MAX];
        if (!(b->plan_text = plan_read_file(b->plan_path, &len, err, sizeof err))) {
            fprintf(stderr, "bigdb: %s\n", err);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct bigdb b = {.conns = 100000, .agents = 55, .unicast = 100000, .broadcasts = 1,
                      .churn = 0.1, .lost = 100, .runs = 1, .status = "pass"};
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: bigdb DB [--conns N] [--agents N] [--unicast N] [--broadcasts N]"
                        " [--churn F] [--lost N] [--seconds S] [--days-ago D] [--runs K]"
                        " [--plan FILE] [--status pass|fail] [--hold]\n");
        return 2;
    }
    if (bigdb_args(&b, argc, argv))
        return 2;
    if (b.unicast > b.conns)
        b.unicast = b.conns;
    struct store s;
    char err[512];
    if (store_open(&s, argv[1], 0, err, sizeof err)) {
        fprintf(stderr, "bigdb: %s\n", err);
        return 2;
    }
    signal(SIGTERM, SIG_DFL);
    int rc = 0;
    int64_t now = ps_time_wall_us() - (int64_t)(b.days_ago * 86400e6);
    for (uint32_t i = 0; i < b.runs && !rc; i++)
        rc = bigdb_run(&s, &b, now - (int64_t)(b.runs - i) * 3600000000ll, i + 1 == b.runs);
    store_close(&s);
    free(b.plan_text);
    return rc ? 2 : 0;
}

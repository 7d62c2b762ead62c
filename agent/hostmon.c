/* hostmon.c: what a server under test is doing, read from /proc once a second.
 *
 * Every agent reports its host's figures (CPU, load, memory, TCP sockets and
 * their kernel memory); an agent started with --monitor on the server under
 * test also follows one process (--pid, or --process NAME looked up by its
 * command name, and looked up again when it goes away, so a server restarted
 * by an exec phase is followed to its new PID). Rates (CPU) are differences
 * between consecutive samples, so the first sample after start or after the
 * process changed reports 0 rather than a since-boot average. */
#include "agent.h"

#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ps_time.h"

static int hostmon_read(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = 0;
    return 0;
}

static uint64_t hostmon_field(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

static void hostmon_cpu(struct agent_hostmon *m, struct ps_hostmon *out)
{
    char buf[512];
    if (hostmon_read("/proc/stat", buf, sizeof buf))
        return;
    unsigned long long v[8] = {0};
    if (sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) < 4)
        return;
    uint64_t idle = v[3] + v[4], total = 0;
    for (int i = 0; i < 8; i++)
        total += v[i];
    if (m->cpu_total && total > m->cpu_total)
        out->cpu_pct_x100 = (uint32_t)(10000 * ((total - m->cpu_total) - (idle - m->cpu_idle)) /
                                       (total - m->cpu_total));
    m->cpu_total = total;
    m->cpu_idle = idle;
}

void agent_meminfo(uint64_t *total, uint64_t *available)
{
    char buf[2048];
    *total = *available = 0;
    if (hostmon_read("/proc/meminfo", buf, sizeof buf))
        return;
    *total = hostmon_field(buf, "MemTotal:") * 1024;
    *available = hostmon_field(buf, "MemAvailable:") * 1024;
}

int agent_proc_read(uint32_t pid, struct agent_proc *p)
{
    char dir[24], path[64], buf[1024];
    if (pid)
        snprintf(dir, sizeof dir, "/proc/%u", pid);
    else
        snprintf(dir, sizeof dir, "/proc/self");
    snprintf(path, sizeof path, "%s/stat", dir);
    if (hostmon_read(path, buf, sizeof buf))
        return -1;
    /* the command name may hold spaces and parentheses: fields start after the last ')' */
    const char *paren = strrchr(buf, ')');
    unsigned long ut, st;
    long threads;
    if (!paren || sscanf(paren + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d "
                                    "%*d %*d %ld", &ut, &st, &threads) != 3)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    p->cpu_us = (uint64_t)(ut + st) * 1000000 / (uint64_t)(hz > 0 ? hz : 100);
    p->threads = threads > 0 ? (uint32_t)threads : 0;
    p->rss = 0;
    snprintf(path, sizeof path, "%s/statm", dir);
    unsigned long size, rss;
    if (!hostmon_read(path, buf, sizeof buf) && sscanf(buf, "%lu %lu", &size, &rss) == 2)
        p->rss = (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
    return 0;
}

uint32_t agent_cpu_meter_pct(struct agent_cpu_meter *m, uint64_t cpu_us)
{
    int64_t now = ps_time_mono_us();
    uint32_t pct = 0;
    if (m->cpu_us && now > m->at_us && cpu_us >= m->cpu_us)
        pct = (uint32_t)((cpu_us - m->cpu_us) * 10000 / (uint64_t)(now - m->at_us));
    m->cpu_us = cpu_us;
    m->at_us = now;
    return pct;
}

static void hostmon_system(struct ps_hostmon *out)
{
    char buf[2048];
    if (!hostmon_read("/proc/loadavg", buf, sizeof buf))
        out->load1_x100 = (uint32_t)(strtod(buf, NULL) * 100);
    agent_meminfo(&out->mem_total, &out->mem_available);
    if (!hostmon_read("/proc/net/sockstat", buf, sizeof buf)) {
        const char *tcp = strstr(buf, "TCP:");
        if (tcp) {
            out->tcp_inuse = (uint32_t)hostmon_field(tcp, "inuse ");
            out->tcp_orphan = (uint32_t)hostmon_field(tcp, "orphan ");
            out->tcp_tw = (uint32_t)hostmon_field(tcp, "tw ");
            out->tcp_alloc = (uint32_t)hostmon_field(tcp, "alloc ");
            out->tcp_mem_bytes = hostmon_field(tcp, "mem ") * (uint64_t)sysconf(_SC_PAGESIZE);
        }
    }
}

/* The newest process whose command name is `name` (the oldest wins a tie-free
 * race only by accident; the highest PID is the most recently started). */
static uint32_t hostmon_find(const char *name)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    uint32_t best = 0;
    struct dirent *e;
    char path[300], comm[64];
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
        if (hostmon_read(path, comm, sizeof comm))
            continue;
        comm[strcspn(comm, "\n")] = 0;
        uint32_t pid = (uint32_t)strtoul(e->d_name, NULL, 10);
        if (!strcmp(comm, name) && pid > best && pid != (uint32_t)getpid())
            best = pid;
    }
    closedir(d);
    return best;
}

static void hostmon_process(struct agent_hostmon *m, struct ps_hostmon *out)
{
    char path[64];
    if (m->process[0] && (!m->pid || kill((pid_t)m->pid, 0))) {
        uint32_t pid = hostmon_find(m->process);
        if (pid != m->pid) {
            m->pid = pid;
            memset(&m->proc_cpu, 0, sizeof m->proc_cpu);   /* a new process: no rate yet */
        }
    }
    if (!m->pid)
        return;
    struct agent_proc p;
    if (agent_proc_read(m->pid, &p) != 0) {
        memset(&m->proc_cpu, 0, sizeof m->proc_cpu);
        if (!m->process[0])
            m->pid = 0;   /* --pid: gone for good */
        return;
    }
    out->pid = m->pid;
    out->proc_threads = p.threads;
    out->proc_rss = p.rss;
    out->proc_cpu_pct_x100 = agent_cpu_meter_pct(&m->proc_cpu, p.cpu_us);
    snprintf(path, sizeof path, "/proc/%u/fd", m->pid);
    DIR *d = opendir(path);
    if (d) {
        uint32_t n = 0;
        struct dirent *e;
        while ((e = readdir(d)))
            n += e->d_name[0] != '.';
        closedir(d);
        out->proc_fds = n;
    }
}

void agent_hostmon_sample(struct agent_hostmon *m, struct ps_hostmon *out)
{
    memset(out, 0, sizeof *out);
    hostmon_cpu(m, out);
    hostmon_system(out);
    hostmon_process(m, out);
}

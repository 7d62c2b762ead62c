/* plan_tls: the `tls:` block, plan-wide (top level) or per target.
 *
 * A plan holds at most PS_MAX_TLS distinct TLS settings: index 0 is the
 * plan-wide block (all defaults when absent), and each target with its own
 * block gets one more, identical blocks sharing an index. A target's block
 * replaces the plan-wide one as a whole (no key-by-key merge: what a target
 * says is all there is to read). Each agent worker makes one lws client vhost
 * per index, so the limit keeps their number small.
 *
 * Files are checked here, on the controller, and shipped as absolute paths
 * (relative ones are taken from the plan file's directory): a typo fails the
 * plan at its line instead of every connection at run time. Remote agents read
 * the same paths on their own machines. */
#include "plan_schema.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A readable file (or directory, want_dir) -> its absolute path in f->dst. */
static int plan_v_tls_path(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                           int want_dir, char *dst, size_t size)
{
    char g[PLAN_GOT_MAX], joined[PATH_MAX], abs[PATH_MAX];
    if (v->kind != YAML_DOC_SCALAR || yaml_doc_is_null(v) || !v->value[0])
        return plan_fail(c, v, path, "expected a %s path, got %s", want_dir ? "directory" : "file",
                         plan_got(v, g, sizeof g));
    const char *name = v->value;
    if (name[0] != '/') {
        const char *slash = strrchr(c->file, '/');
        int dir_len = slash ? (int)(slash - c->file) : 1;
        snprintf(joined, sizeof joined, "%.*s/%s", dir_len, slash ? c->file : ".", name);
        name = joined;
    }
    struct stat st;
    if (!realpath(name, abs) || stat(abs, &st) != 0)
        return plan_fail(c, v, path, "%s: %s", plan_got(v, g, sizeof g), strerror(errno));
    if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
        return plan_fail(c, v, path, "%s is not a %s", plan_got(v, g, sizeof g),
                         want_dir ? "directory" : "regular file");
    if (access(abs, want_dir ? R_OK | X_OK : R_OK) != 0)
        return plan_fail(c, v, path, "%s: cannot be read: %s", plan_got(v, g, sizeof g),
                         strerror(errno));
    if (strlen(abs) >= size)
        return plan_fail(c, v, path, "path too long: %zu bytes, at most %zu", strlen(abs), size - 1);
    memcpy(dst, abs, strlen(abs) + 1);
    return 0;
}

static int plan_v_tls_file(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                           const struct plan_field *f)
{
    return plan_v_tls_path(c, v, path, 0, f->dst, f->size);
}

static int plan_v_tls_dir(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                          const struct plan_field *f)
{
    return plan_v_tls_path(c, v, path, 1, f->dst, f->size);
}

static int plan_v_tls_version(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                              const struct plan_field *f)
{
    char g[PLAN_GOT_MAX];
    uint32_t *dst = f->dst;
    if (v->kind == YAML_DOC_SCALAR && !strcmp(v->value, "1.2"))
        *dst = 12;
    else if (v->kind == YAML_DOC_SCALAR && !strcmp(v->value, "1.3"))
        *dst = 13;
    else
        return plan_fail(c, v, path, "expected 1.2 or 1.3, got %s", plan_got(v, g, sizeof g));
    return 0;
}

/* Parses one block into *t (zeroed first). */
static int plan_tls_block(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                          struct ps_tls *t)
{
    memset(t, 0, sizeof *t);
    struct plan_field tf[] = {
        PLAN_FIELD("ca_file", plan_v_tls_file, t->ca_file, sizeof t->ca_file, 0, NULL),
        PLAN_FIELD("ca_dir", plan_v_tls_dir, t->ca_dir, sizeof t->ca_dir, 0, NULL),
        PLAN_FIELD("insecure", plan_v_bool, &t->insecure, 0, 0, NULL),
        PLAN_FIELD("server_name", plan_v_string, t->server_name, sizeof t->server_name,
                   PLAN_F_NONEMPTY | PLAN_F_ONELINE, NULL),
        PLAN_FIELD("cert", plan_v_tls_file, t->cert, sizeof t->cert, 0, NULL),
        PLAN_FIELD("key", plan_v_tls_file, t->key, sizeof t->key, 0, NULL),
        PLAN_FIELD("min_version", plan_v_tls_version, &t->min_version, 0, 0, NULL),
    };
    if (plan_map(c, v, path, tf, NFIELDS(tf), "a map like {ca_file: ca.pem, server_name: "
                 "push.example.com}") < 0)
        return -1;
    /* a certificate without its key (or the reverse) cannot be presented */
    const struct plan_field *cert = &tf[4], *key = &tf[5];
    if (!cert->node != !key->node) {
        const struct plan_field *have = cert->node ? cert : key;
        char kpath[PLAN_PATH_MAX];
        plan_path_key(kpath, path, have->key);
        return plan_fail(c, have->node, kpath, "%s needs %s as well (mTLS client certificate)",
                         have->key, have == cert ? "key" : "cert");
    }
    for (const char *q = t->server_name; *q; q++)
        if (*q == ' ' || *q == '/' || *q == ':') {
            char spath[PLAN_PATH_MAX];
            plan_path_key(spath, path, "server_name");
            return plan_fail(c, tf[3].node, spath, "expected a host name, got \"%.40s\"",
                             t->server_name);
        }
    return 0;
}

/* Top level: the plan-wide block, index 0. */
int plan_v_tls_default(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                       const struct plan_field *f)
{
    (void)f;
    return plan_tls_block(c, v, path, &c->p->tls[0]);
}

/* A target's block: its own index (f->dst, uint32_t), shared with an identical one. */
int plan_v_tls_target(struct plan_ctx *c, const struct yaml_doc_node *v, const char *path,
                      const struct plan_field *f)
{
    struct plan *p = c->p;
    struct ps_tls t;
    if (plan_tls_block(c, v, path, &t) < 0)
        return -1;
    uint32_t *index = f->dst;
    for (uint32_t i = 1; i < p->n_tls; i++)
        if (!memcmp(&p->tls[i], &t, sizeof t)) {
            *index = i;
            return 0;
        }
    if (p->n_tls >= PS_MAX_TLS)
        return plan_fail(c, v, path, "too many different tls blocks: at most %d targets may "
                         "have their own (give the common one at the top level)", PS_MAX_TLS - 1);
    p->tls[p->n_tls] = t;
    *index = p->n_tls++;
    return 0;
}

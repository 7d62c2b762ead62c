/* plan_data: connections.data, the per-connection CSV file, and the {csv.COL}
 * placeholders that read it.
 *
 * Runs after the walk and the cross-section rules, over the whole YAML
 * document rather than the parsed plan, so that a placeholder anywhere is
 * found with its line and column: one in a place nothing expands per
 * connection (a name, a broadcast URL, a header of the push API) is an error
 * rather than text sent as written, and so is a column the file lacks. The
 * file itself is read here (path relative to the plan's directory) and
 * checked whole: its own problems come back as "plan:line:col: connections.data:
 * file.csv:line: ...", and a file with fewer rows than connections is an
 * error unless data_wrap says the rows repeat. The run reads it again and
 * keeps it (run.c); nothing of it stays in struct plan but the path. */
#include "plan_schema.h"

#include <stdio.h>
#include <string.h>

#include "plan_csv.h"

#define PLAN_CSV_PREFIX "{csv."

struct plan_data_walk {
    struct plan_ctx *c;
    const struct plan_csv *csv;          /* NULL: the plan has no data file */
    const struct yaml_doc_node *data_node;
};

/* Where a placeholder is expanded for one connection (agent side: URL,
 * subprotocol, headers; controller side: the recipient's push URL and body). */
static int plan_data_place_ok(const struct plan *p, const char *path)
{
    unsigned i;
    int n = -1;
    char rest[PLAN_PATH_MAX];
    if ((sscanf(path, "targets[%u].%255s%n", &i, rest, &n) == 2 && n == (int)strlen(path)) &&
        (!strcmp(rest, "ws") || !strcmp(rest, "push")))
        return 1;
    if (!strcmp(path, "connections.subprotocol") || !strncmp(path, "connections.headers.", 20))
        return 1;
    /* the agent expands these per connection too: session sends (plan-wide or
     * a target's own), the app heartbeat text and the ack */
    if (!strcmp(path, "heartbeat.text") || !strcmp(path, "session.ack"))
        return 1;
    /* client protocols (issue 13): the templates a dialect expands per connection */
    static const char *const proto[] = {"client_id", "user", "password", "auth"};
    for (size_t k = 0; k < sizeof proto / sizeof proto[0]; k++)
        if (!strncmp(path, "protocol_options.", 17) && !strcmp(path + 17, proto[k]))
            return 1;
    n = -1;
    if (sscanf(path, "protocol_options.subscribe[%u]%n", &i, &n) == 1 && n == (int)strlen(path))
        return 1;
    const char *sess = !strncmp(path, "targets[", 8) ? strstr(path, "].session.") : NULL;
    sess = sess ? sess + 2 : path;
    n = -1;
    if (sscanf(sess, "session.steps[%u].send%n", &i, &n) == 1 && n == (int)strlen(sess))
        return 1;
    n = -1;
    if (sscanf(path, "phases[%u].push.%255s%n", &i, rest, &n) == 2 && n == (int)strlen(path) &&
        i < p->n_phases && p->phases[i].u.push.mode != PLAN_PUSH_BROADCAST &&
        (!strcmp(rest, "url") || !strcmp(rest, "body")))
        return 1;
    return 0;
}

static int plan_data_scalar(struct plan_data_walk *w, const struct yaml_doc_node *v, const char *path)
{
    if (!strcmp(path, "connections.data"))
        w->data_node = v;
    const char *s = v->value ? strstr(v->value, PLAN_CSV_PREFIX) : NULL;
    if (!s)
        return 0;
    if (!plan_data_place_ok(w->c->p, path))
        return plan_fail(w->c, v, path, "{csv.*} is not expanded here; per-connection data goes "
                         "in targets' ws and push URLs, connections.subprotocol and headers, "
                         "session sends, heartbeat.text, session.ack, protocol_options' client_id, "
                         "user, password, auth and subscribe, and the url and body of "
                         "unicast and multicast push phases");
    if (!w->csv)
        return plan_fail(w->c, v, path, "uses %.40s but connections has no data file "
                         "(connections: {data: users.csv})", s);
    for (; s; s = strstr(s + 1, PLAN_CSV_PREFIX)) {
        const char *name = s + strlen(PLAN_CSV_PREFIX), *end = strchr(name, '}');
        if (!end)
            return plan_fail(w->c, v, path, "\"%.40s\": no closing }", s);
        if (plan_csv_col(w->csv, name, (size_t)(end - name)) < 0) {
            char cols[PLAN_CSV_COLS_MAX * PLAN_CSV_NAME_MAX];
            size_t o = 0;
            for (uint32_t j = 0; j < w->csv->n_cols && o < sizeof cols; j++)
                o += (size_t)snprintf(cols + o, sizeof cols - o, "%s%s", j ? ", " : "",
                                      plan_csv_header(w->csv, j));
            return plan_fail(w->c, v, path, "{csv.%.*s}: %s has no such column (it has %s)",
                             (int)(end - name > 40 ? 40 : end - name), name,
                             w->c->p->connections.data, cols);
        }
    }
    return 0;
}

static int plan_data_node(struct plan_data_walk *w, const struct yaml_doc_node *v, const char *path)
{
    char sub[PLAN_PATH_MAX];
    switch (v->kind) {
    case YAML_DOC_SCALAR:
        return plan_data_scalar(w, v, path);
    case YAML_DOC_SEQ:
        for (size_t i = 0; i < v->n; i++) {
            plan_path_index(sub, path, i);
            if (plan_data_node(w, v->items[i], sub) < 0)
                return -1;
        }
        return 0;
    case YAML_DOC_MAP:
        for (size_t i = 0; i < v->n; i++) {
            const struct yaml_doc_node *k = yaml_doc_key(v, i);
            plan_path_key(sub, path, k->kind == YAML_DOC_SCALAR && k->value ? k->value : "?");
            if (plan_data_node(w, yaml_doc_val(v, i), sub) < 0)
                return -1;
        }
        return 0;
    }
    return 0;
}

/* connections.data as written, made relative to the plan's directory. */
static int plan_data_resolve(struct plan_ctx *c, const struct yaml_doc_node *at)
{
    struct plan *p = c->p;
    const char *slash = strrchr(c->file, '/');
    if (p->connections.data[0] == '/' || !slash)
        return 0;
    char full[PS_URL_MAX];
    int n = snprintf(full, sizeof full, "%.*s/%s", (int)(slash - c->file), c->file,
                     p->connections.data);
    if (n < 0 || (size_t)n >= sizeof full)
        return plan_fail(c, at, "connections.data", "path too long with the plan's directory");
    memcpy(p->connections.data, full, (size_t)n + 1);
    return 0;
}

/* The value node of key in map m, or NULL. */
static const struct yaml_doc_node *plan_data_get(const struct yaml_doc_node *m, const char *key)
{
    if (!m || m->kind != YAML_DOC_MAP)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (yaml_doc_key(m, i)->value && !strcmp(yaml_doc_key(m, i)->value, key))
            return yaml_doc_val(m, i);
    return NULL;
}

int plan_data_check(struct plan_ctx *c, const struct yaml_doc_node *root)
{
    struct plan *p = c->p;
    if (!p->connections.data[0])
        return plan_data_node(&(struct plan_data_walk){.c = c}, root, PLAN_TOP);
    const struct yaml_doc_node *at = plan_data_get(plan_data_get(root, "connections"), "data");
    if (!at || plan_data_resolve(c, at) < 0)
        return -1;
    struct plan_csv csv;
    char err[PLAN_PATH_MAX + 160];
    if ((c->data_text ? plan_csv_parse(&csv, p->connections.data, c->data_text, c->data_len, err,
                                       sizeof err)
                      : plan_csv_load(&csv, p->connections.data, err, sizeof err)) < 0)
        return plan_fail(c, at, "connections.data", "%s", err);
    int rc = plan_data_node(&(struct plan_data_walk){.c = c, .csv = &csv}, root, PLAN_TOP);
    uint64_t conns = plan_max_connections(p);
    if (rc == 0 && csv.n_rows == 0)
        rc = plan_fail(c, at, "connections.data", "%s has a header but no rows", p->connections.data);
    else if (rc == 0 && csv.n_rows < conns && !p->connections.data_wrap)
        rc = plan_fail(c, at, "connections.data", "%s has %u rows for %llu connections; add rows, "
                       "or set data_wrap: true to give connection i row i %% %u",
                       p->connections.data, csv.n_rows, (unsigned long long)conns, csv.n_rows);
    plan_csv_free(&csv);
    return rc;
}

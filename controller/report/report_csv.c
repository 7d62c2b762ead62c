/* report_csv: `pushstorm report RUN --csv DIR`, one CSV file per table of a run.
 *
 * For spreadsheets and notebooks: DIR gets samples.csv, ctl_samples.csv,
 * pushes.csv, deliveries.csv, undelivered.csv, conn_events_summary.csv (counts
 * per event type and reason, not the raw events, which can number hundreds of
 * millions), figures.csv, thresholds.csv, agents.csv, phases.csv, and
 * monitor_samples.csv when that table exists. Each file has a header row of
 * column names and RFC 4180 quoting; NULL is an empty field. Every file is
 * written under a temporary name first and all are renamed into place only
 * when every one was written, so a failure part way leaves DIR as it was. */
#include "report.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static void report_csv_field(FILE *o, const char *t)
{
    if (!t)
        return;
    if (!strpbrk(t, ",\"\r\n")) {
        fputs(t, o);
        return;
    }
    fputc('"', o);
    for (; *t; t++) {
        if (*t == '"')
            fputc('"', o);
        fputc(*t, o);
    }
    fputc('"', o);
}

/* One line per call: the header, then each row (report_dump_fn). */
static void report_csv_line(void *ctx, int ncols, const char *const *vals)
{
    FILE *o = ctx;
    for (int c = 0; c < ncols; c++) {
        if (c)
            fputc(',', o);
        report_csv_field(o, vals[c]);
    }
    fputs("\r\n", o);
}

int report_csv_write(struct store *s, const struct report_run *r, const char *dir, FILE *list,
                     char *err, size_t errlen)
{
    struct stat sb;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create directory: %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s: not a directory", dir);
        return -1;
    }
    struct report_data_out out[REPORT_DATA_DUMPS];
    size_t opened = 0;
    int rc = 0;
    for (size_t i = 0; i < REPORT_DATA_DUMPS && !rc; i++) {
        const char *table = report_data_dump_name(i);
        if (!strcmp(table, "monitor_samples") && !report_data_has_monitor(s, r->id))
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s.csv", dir, table) >= (int)sizeof path) {
            snprintf(err, errlen, "%s: path too long", dir);
            rc = -1;
            break;
        }
        if (report_data_out_open(&out[opened], path, err, errlen)) {
            rc = -1;
            break;
        }
        opened++;
        rc = report_data_dump(s, i, r->id, report_csv_line, out[opened - 1].f, err, errlen);
        if (rc) {
            char why[256];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "%s.csv: %s", table, why);
        }
    }
    /* A failure while writing discards every temporary file, so DIR keeps its
     * old files; only a failing rename (rare: same directory) can leave a mix. */
    for (size_t i = 0; i < opened; i++) {
        char e[512];
        if (report_data_out_close(&out[i], !rc, e, sizeof e) && !rc) {
            snprintf(err, errlen, "%s", e);
            rc = -1;
        } else if (!rc && list)
            fprintf(list, "%s\n", out[i].path);
    }
    return rc;
}

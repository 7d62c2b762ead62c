/* report_junit: `pushstorm report RUN --junit FILE`, the verdicts as JUnit XML.
 *
 * CI servers (Jenkins, GitLab, GitHub test reporters) read JUnit XML: one
 * <testsuite> for the run, one <testcase> per threshold of the plan, with a
 * <failure> element carrying "measured X, required EXPR" when it failed. A run
 * that could not be carried out (status "failed", exit 2) or never finished
 * ("running") adds a testcase "run completed" with an <error>, so such a night
 * can never show green by having no thresholds to fail. Text goes through an
 * XML escaper that also drops the control characters XML 1.0 forbids. */
#include "report.h"

#include <string.h>
#include <time.h>

static void report_junit_esc(FILE *o, const char *t)
{
    for (const unsigned char *p = (const unsigned char *)(t ? t : ""); *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", o); break;
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '"': fputs("&quot;", o); break;
        case '\'': fputs("&apos;", o); break;
        default:
            if (*p >= 0x20 || *p == '\n' || *p == '\t')
                fputc(*p, o);
        }
    }
}

int report_junit_write(const struct report_run *r, FILE *o, char *err, size_t errlen)
{
    size_t failures = 0;
    for (size_t i = 0; i < r->n_thr; i++)
        failures += !r->thr[i].pass;
    int incomplete = strcmp(r->status, "pass") != 0 && strcmp(r->status, "fail") != 0;
    size_t tests = r->n_thr + (size_t)incomplete;
    double secs = r->ended_us > r->started_us ? (r->ended_us - r->started_us) / 1e6 : 0;
    char when[32] = "";
    time_t t = (time_t)(r->started_us / 1000000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);

    fprintf(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites name=\"pushstorm\" tests=\"%zu\" failures=\"%zu\" errors=\"%d\" time=\"%.3f\">\n"
               "  <testsuite name=\"pushstorm.",
            tests, failures, incomplete, secs);
    report_junit_esc(o, r->name);
    fprintf(o, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%d\" skipped=\"0\" time=\"%.3f\" "
               "timestamp=\"%s\">\n    <properties>\n"
               "      <property name=\"run_id\" value=\"%u\"/>\n"
               "      <property name=\"status\" value=\"",
            tests, failures, incomplete, secs, when, r->id);
    report_junit_esc(o, r->status);
    fputs("\"/>\n      <property name=\"plan\" value=\"", o);
    report_junit_esc(o, r->plan_path);
    fputs("\"/>\n    </properties>\n", o);
    for (size_t i = 0; i < r->n_thr; i++) {
        const struct report_thr *th = &r->thr[i];
        char v[48];
        fputs("    <testcase classname=\"pushstorm.thresholds\" name=\"", o);
        report_junit_esc(o, th->name);
        fputs("\" time=\"0\"", o);
        if (th->pass) {
            fputs("/>\n", o);
            continue;
        }
        fputs(">\n      <failure type=\"threshold\" message=\"", o);
        report_junit_esc(o, th->name);
        fprintf(o, " measured %s, required ",
                report_data_fmt_measured(th->name, th->measured, v, sizeof v));
        report_junit_esc(o, th->expr);
        fputs("\">run ", o);
        fprintf(o, "%u: threshold ", r->id);
        report_junit_esc(o, th->name);
        fprintf(o, " measured %s, required ", v);
        report_junit_esc(o, th->expr);
        fputs("</failure>\n    </testcase>\n", o);
    }
    if (incomplete) {
        fputs("    <testcase classname=\"pushstorm.run\" name=\"run completed\" time=\"0\">\n"
              "      <error type=\"run\" message=\"", o);
        if (!strcmp(r->status, "running"))
            report_junit_esc(o, "the run never finished (interrupted or still running)");
        else
            report_junit_esc(o, r->reason[0] ? r->reason : "the run could not be carried out");
        fputs("\"/>\n    </testcase>\n", o);
    }
    fputs("  </testsuite>\n</testsuites>\n", o);
    if (ferror(o)) {
        snprintf(err, errlen, "write failed");
        return -1;
    }
    return 0;
}

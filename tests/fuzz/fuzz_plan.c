/* fuzz_plan: libFuzzer target for the plan parser (controller/plan/), the
 * whole of it from memory: YAML (yaml_doc.c), the section tables and value
 * parsers, session patterns, the cross-section rules and the connections.data
 * CSV with the {csv.COL} placeholders that read it.
 *
 * Input: the plan's YAML, optionally followed by a NUL byte and the text of
 * its data file (given to plan_parse_with_data, so nothing is read from disk
 * whatever connections.data names; TLS file settings are still checked with
 * stat/access, read-only). The same CSV bytes also go to plan_csv_parse alone,
 * so the CSV reader is exercised even when the YAML is broken.
 *
 * Properties checked besides ASan/UBSan: a refused plan always says why, in
 * one line starting "plan.yaml:LINE:COL: " (docs/plan.md, "Errors"); a refused
 * CSV names its line; an accepted CSV's cells are all inside its buffer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "plan_csv.h"

#define FUZZ_PLAN_NAME "plan.yaml"

static void fuzz_plan_fail(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_plan: %s: \"%s\"\n", what, err);
    abort();
}

/* "plan.yaml:<digits>:<digits>: " and nothing across a line break. */
static int fuzz_plan_err_ok(const char *err)
{
    const char *s = err + strlen(FUZZ_PLAN_NAME);
    if (strncmp(err, FUZZ_PLAN_NAME ":", strlen(FUZZ_PLAN_NAME) + 1) != 0 || strchr(err, '\n'))
        return 0;
    for (int field = 0; field < 2; field++) {
        if (*s++ != ':' || *s < '0' || *s > '9')
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return s[0] == ':' && s[1] == ' ' && s[2];
}

static void fuzz_plan_csv(const char *text, size_t len)
{
    struct plan_csv c;
    char err[512] = "";
    if (plan_csv_parse(&c, "data.csv", text, len, err, sizeof err) != 0) {
        if (strncmp(err, "data.csv:", 9) != 0)
            fuzz_plan_fail("csv refused without \"data.csv:LINE:\"", err);
        return;
    }
    for (uint32_t row = 0; row < c.n_rows; row++)
        for (uint32_t col = 0; col < c.n_cols; col++) {
            const char *cell = plan_csv_cell(&c, row, col);
            if (cell < c.cells || cell + strlen(cell) >= c.cells + c.cells_len + 1)
                fuzz_plan_fail("csv cell outside its buffer", cell);
        }
    for (uint32_t col = 0; col < c.n_cols; col++) {
        const char *h = plan_csv_header(&c, col);
        if (plan_csv_col(&c, h, strlen(h)) < 0)
            fuzz_plan_fail("csv header not found by name", h);
    }
    plan_csv_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct plan *p;    /* ~450 KB, once for the process */
    if (!p && !(p = malloc(sizeof *p)))
        abort();
    /* Copies with exact sizes: ASan then sees any read past the end. */
    const uint8_t *nul = memchr(data, 0, size);
    size_t ylen = nul ? (size_t)(nul - data) : size;
    char *yaml = malloc(ylen ? ylen : 1);
    char *csv = nul ? malloc(size - ylen - 1 ? size - ylen - 1 : 1) : NULL;
    if (!yaml || (nul && !csv))
        abort();
    memcpy(yaml, data, ylen);
    if (csv)
        memcpy(csv, nul + 1, size - ylen - 1);

    char err[1024] = "";
    if (plan_parse_with_data(FUZZ_PLAN_NAME, yaml, ylen, csv ? csv : "", csv ? size - ylen - 1 : 0,
                             p, err, sizeof err) != 0 && !fuzz_plan_err_ok(err))
        fuzz_plan_fail("plan refused without \"plan.yaml:LINE:COL: message\"", err);
    if (csv)
        fuzz_plan_csv(csv, size - ylen - 1);
    free(yaml);
    free(csv);
    return 0;
}

/* compare: two runs side by side, and the regression gate of nightly runs.
 *
 * `pushstorm compare BASE RUN` prints the key figures of both runs with their
 * relative change and says which got worse by more than the allowed
 * regression; `pushstorm run ... --baseline last-pass|RUN_ID` does the same
 * against a baseline once the run has ended. Exit-code contribution: 0 nothing
 * regressed past the limit, 1 something did, 2 a run is unknown or the
 * database cannot be read. */
#ifndef PS_COMPARE_H
#define PS_COMPARE_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"

#define COMPARE_DEFAULT_MAX_REGRESSION 0.10
/* The noise floor: a change no larger than the absolute floor (durations)
 * or than the relative floor of the base (durations, counts, rates) is noise
 * between identical runs, never gated; for fractions (connect success, share
 * delivered) the floor is 0.1 percentage point. */
#define COMPARE_DEFAULT_NOISE_US   500.0
#define COMPARE_DEFAULT_NOISE_REL  0.05
#define COMPARE_NOISE_FRACTION     0.001

struct compare_limits {
    double max_regression;       /* fraction of the base */
    double noise_us;             /* absolute floor for durations */
    double noise_rel;            /* relative floor, fraction of the base */
};
#define COMPARE_LIMITS_DEFAULT                                                   \
    {COMPARE_DEFAULT_MAX_REGRESSION, COMPARE_DEFAULT_NOISE_US, COMPARE_DEFAULT_NOISE_REL}

/* Compares run against base in an open database; prints the table to out.
 * Returns 0, 1 (a regression past lim->max_regression and the noise floor)
 * or 2 with err set. */
int compare_runs(struct store *s, uint32_t base, uint32_t run, const struct compare_limits *lim,
                 FILE *out, char *err, size_t errlen);
/* Is the move from bv to rv within the noise floor for a figure of this unit
 * (a duration, a fraction, or else a count or rate)? */
int compare_within_noise(const struct compare_limits *lim, int is_us, int is_fraction, double bv,
                         double rv);

/* "10%", "0.1" -> 0.1. Returns 0, or -1 with a message in err. */
int compare_parse_limit(const char *text, double *out, char *err, size_t errlen);
/* One of the limits' options: --max-regression PCT, --noise-floor DUR,
 * --noise-floor-rel PCT (in this order, which = 0, 1, 2). Returns 0 or -1. */
enum compare_opt { COMPARE_OPT_MAX_REGRESSION, COMPARE_OPT_NOISE_FLOOR, COMPARE_OPT_NOISE_REL };
int compare_parse_opt(int which, const char *text, struct compare_limits *lim, char *err,
                      size_t errlen);

/* --baseline: "last-pass" sets *run_id to 0, a run id sets it. Returns 0 or -1. */
int compare_parse_baseline(const char *spec, uint32_t *run_id, char *err, size_t errlen);

/* Highest run id in the database at db_path; 0 when the file does not exist yet.
 * Returns 0, or -1 with err set when the file exists but cannot be read. */
int compare_last_run_id(const char *db_path, uint32_t *id, char *err, size_t errlen);

/* The run a `pushstorm run` just recorded: the highest id above after with
 * that plan name. Returns 0, or -1 with err set. */
int compare_find_run(const char *db_path, uint32_t after, const char *name, uint32_t *id,
                     char *err, size_t errlen);

/* Checks before a run that a numeric baseline exists, so a typo fails at once
 * rather than after an hour of load. Returns 0, or 2 after printing why. */
int compare_check_baseline(const char *db_path, const char *spec);

/* After a run has ended: resolves baseline_spec ("last-pass": the latest
 * earlier run of the same plan name that passed; or a run id), compares and
 * prints. Returns the exit-code contribution: 0, 1 or 2. When last-pass finds
 * no earlier passing run it says so and returns 0: the first night has no
 * baseline. */
int compare_after_run(const char *db_path, uint32_t run_id, const char *baseline_spec,
                      const struct compare_limits *lim);

#endif

/* test_store.c: the results database's version handling.
 *
 * A new database gets the current schema version; a database of an older
 * version is migrated forward on open with its runs kept; one of a newer
 * version is refused untouched. A write the database refuses leaves a sticky
 * error naming the file and SQLite's message, which the first failure keeps.
 * Files live in a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

static int64_t scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Each test gets a database path in a directory of its own. */
static char tmp_dir[64], tmp_path[96];

static int setup(void **state)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_store.XXXXXX");
    if (!mkdtemp(tmp_dir))
        return -1;
    snprintf(tmp_path, sizeof tmp_path, "%s/r.db", tmp_dir);
    *state = tmp_path;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_versions(void **state)
{
    const char *path = *state;
    char err[256];
    struct store s;
    uint32_t run;
    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    assert_int_equal(scalar(s.db, "SELECT value FROM meta WHERE key='schema_version'"),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(store_run_begin(&s, "old", "old.yaml", "", 1, 10, &run), 0);
    /* make it look like a version 1 database: no monitor_samples yet */
    assert_int_equal(store_exec(&s, "COMMIT; DROP TABLE monitor_samples;"
                                    "UPDATE meta SET value='1' WHERE key='schema_version'",
                                err, sizeof err), 0);
    store_close(&s);

    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    assert_int_equal(scalar(s.db, "SELECT value FROM meta WHERE key='schema_version'"), 2);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM monitor_samples"), 0);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM runs WHERE name='old'"), 1);
    assert_int_equal(store_exec(&s, "UPDATE meta SET value='99' WHERE key='schema_version'", err,
                                sizeof err), 0);
    store_close(&s);

    assert_int_equal(store_open(&s, path, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "written by a newer pushstorm (schema 99"));
    assert_int_equal(store_open(&s, path, 1, err, sizeof err), -1);
}

/* A database opened read-only refuses every write: the first one sets the
 * sticky error; a later failure of another kind does not replace it. */
static void test_sticky_write_error(void **state)
{
    const char *path = *state;
    char err[256];
    struct store s;
    uint32_t run;
    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    assert_int_equal(store_run_begin(&s, "t", "t.yaml", "", 1, 10, &run), 0);
    assert_int_equal(store_figure(&s, run, "kept", 1.0), 0);
    assert_false(store_failed(&s));
    assert_string_equal(store_error_text(&s), "");
    store_close(&s);

    assert_int_equal(store_open(&s, path, 1, err, sizeof err), 0);
    assert_false(store_failed(&s));
    assert_int_equal(store_figure(&s, run, "refused", 2.0), -1);
    assert_true(store_failed(&s));
    assert_non_null(strstr(store_error_text(&s), path));
    assert_non_null(strstr(store_error_text(&s), "readonly"));
    char first[sizeof s.error];
    snprintf(first, sizeof first, "%s", store_error_text(&s));
    assert_int_equal(store_exec(&s, "DROP TABLE figures", NULL, 0), -1);
    assert_int_equal(store_threshold(&s, run, "x", "< 1", 0.5, 1), -1);
    assert_int_equal(store_commit(&s), 0);
    assert_string_equal(store_error_text(&s), first);
    store_close(&s);

    /* what was committed before stays */
    assert_int_equal(store_open(&s, path, 1, err, sizeof err), 0);
    assert_int_equal(scalar(s.db, "SELECT count(*) FROM figures WHERE name='kept'"), 1);
    store_close(&s);

    /* a table that is gone: the write's prepare fails */
    assert_int_equal(store_open(&s, path, 0, err, sizeof err), 0);
    assert_int_equal(store_exec(&s, "DROP TABLE undelivered", err, sizeof err), 0);
    assert_false(store_failed(&s));
    assert_int_equal(store_undelivered(&s, run, 1, 2, "lost"), -1);
    assert_true(store_failed(&s));
    assert_non_null(strstr(store_error_text(&s), "no such table: undelivered"));
    store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sticky_write_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_store.c: the results database's version handling.
 *
 * A new database gets the current schema version; a database of an older
 * version is migrated forward on open with its runs kept; one of a newer
 * version is refused untouched. Files live in a temporary directory. */
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

static void test_versions(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_store.XXXXXX", path[64], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/r.db", dir);
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

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_plan_file.c: the one plan file reader, plan_read_file, and its limit.
 *
 * A file of exactly PLAN_FILE_MAX bytes is read whole; one byte more is
 * refused with a message naming the file, both by the reader and through
 * plan_load. Pipes are read without a size to trust (a writer process feeds
 * one past the limit), so `pushstorm check /dev/stdin` works and cannot be
 * made to allocate without bound. Missing files and directories are errors
 * that name the file. Files live in a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "plan.h"

struct tmp {
    char dir[32];
    char path[64];
};

static int tmp_setup(void **state)
{
    struct tmp *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    snprintf(t->dir, sizeof t->dir, "/tmp/test_plan_file.XXXXXX");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    snprintf(t->path, sizeof t->path, "%s/p.yaml", t->dir);
    *state = t;
    return 0;
}

static int tmp_teardown(void **state)
{
    struct tmp *t = *state;
    unlink(t->path);
    rmdir(t->dir);
    free(t);
    return 0;
}

/* n bytes of YAML comment: a valid (if empty) document of any length. */
static void fill(char *buf, size_t n)
{
    memset(buf, ' ', n);
    if (n)
        buf[0] = '#';
    if (n > 1)
        buf[n - 1] = '\n';
}

static void write_file(const char *path, size_t n)
{
    char *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    fill(buf, n);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(buf);
}

static void test_limit(void **state)
{
    struct tmp *t = *state;
    char err[PLAN_ERR_MAX], want[PLAN_ERR_MAX];
    size_t len = 7;

    write_file(t->path, PLAN_FILE_MAX);
    char *text = plan_read_file(t->path, &len, err, sizeof err);
    assert_non_null(text);
    assert_int_equal(len, PLAN_FILE_MAX);
    assert_int_equal(text[0], '#');
    assert_int_equal(text[len - 1], '\n');
    assert_int_equal(text[len], '\0');
    free(text);

    write_file(t->path, PLAN_FILE_MAX + 1);
    assert_null(plan_read_file(t->path, &len, err, sizeof err));
    snprintf(want, sizeof want, "%s: too large for a plan: more than %d bytes", t->path,
             PLAN_FILE_MAX);
    assert_string_equal(err, want);

    /* plan_load goes through the same reader: same limit, same message */
    struct plan *p = calloc(1, sizeof *p);
    assert_non_null(p);
    assert_int_equal(plan_load(t->path, p, err, sizeof err), -1);
    assert_string_equal(err, want);
    free(p);
}

static void test_small_files(void **state)
{
    struct tmp *t = *state;
    char err[PLAN_ERR_MAX];
    size_t len = 7;

    write_file(t->path, 0);
    char *text = plan_read_file(t->path, &len, err, sizeof err);
    assert_non_null(text);
    assert_int_equal(len, 0);
    assert_string_equal(text, "");
    free(text);

    /* one byte either side of the first buffer's size */
    for (size_t n = 4095; n <= 4097; n++) {
        write_file(t->path, n);
        text = plan_read_file(t->path, &len, err, sizeof err);
        assert_non_null(text);
        assert_int_equal(len, n);
        assert_int_equal(strlen(text), n);
        free(text);
    }
}

static void test_unreadable(void **state)
{
    struct tmp *t = *state;
    char err[PLAN_ERR_MAX], want[PLAN_ERR_MAX];
    size_t len;

    assert_null(plan_read_file(t->path, &len, err, sizeof err));   /* not written yet */
    snprintf(want, sizeof want, "%s: cannot open: No such file", t->path);
    assert_non_null(strstr(err, want));

    assert_null(plan_read_file(t->dir, &len, err, sizeof err));
    snprintf(want, sizeof want, "%s: cannot read: Is a directory", t->dir);
    assert_string_equal(err, want);
}

/* A child writes n bytes into a pipe; the parent reads it as /dev/fd/N. */
static char *read_pipe(size_t n, size_t *len, char *err, size_t errlen)
{
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fd[0]);
        char chunk[4096];
        fill(chunk, sizeof chunk);
        for (size_t done = 0; done < n;) {
            size_t k = n - done < sizeof chunk ? n - done : sizeof chunk;
            ssize_t w = write(fd[1], chunk, k);
            if (w <= 0)
                _exit(0);       /* the reader gave up: that is its right */
            done += (size_t)w;
        }
        _exit(0);
    }
    close(fd[1]);
    char path[32];
    snprintf(path, sizeof path, "/dev/fd/%d", fd[0]);
    char *text = plan_read_file(path, len, err, errlen);
    close(fd[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return text;
}

static void test_pipe(void **state)
{
    (void)state;
    char err[PLAN_ERR_MAX];
    size_t len;
    char *text = read_pipe(100000, &len, err, sizeof err);
    assert_non_null(text);
    assert_int_equal(len, 100000);
    free(text);

    assert_null(read_pipe(PLAN_FILE_MAX + 1, &len, err, sizeof err));
    assert_non_null(strstr(err, ": too large for a plan: more than "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_limit, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_small_files, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_unreadable, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

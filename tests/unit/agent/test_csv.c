/* test_csv.c: the agent's per-connection data arena (agent/csv.c).
 *
 * The values arrive in pieces; a piece out of order, one too many, or values
 * that do not make whole rows must be refused with a reason, never shift a
 * connection onto another user's row. Lookups go through the ps_tpl source
 * the connection templates use, so {csv.COL} is checked end to end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent.h"
#include "ps_tpl.h"

/* 3 rows of (user_id, token), values ended by 0x1f as on the wire */
static const char wire[] = "u-1\x1f" "a\x1f" "u-2\x1f" "\x1f" "u-3\x1f" "c,\"q\"\x1f";

static void assign(struct ps_assign *a, uint32_t rows, uint32_t bytes)
{
    memset(a, 0, sizeof *a);
    a->n_csv_cols = 2;
    snprintf(a->csv_cols[0], sizeof a->csv_cols[0], "user_id");
    snprintf(a->csv_cols[1], sizeof a->csv_cols[1], "token");
    a->csv_rows = rows;
    a->csv_bytes = bytes;
}

static int piece(struct agent_csv *d, uint32_t off, const char *s, size_t n, char *err, size_t len)
{
    struct ps_data *c = calloc(1, sizeof *c);
    memcpy(c->chunk, s, n);
    c->offset = off;
    int rc = agent_csv_chunk(d, c, err, len);
    free(c);
    return rc;
}

static const char *expand(const struct agent_csv *d, uint32_t local, const char *tpl, char *out,
                          size_t len)
{
    struct agent_csv_ref ref = {d, local};
    struct ps_tpl_source src = {agent_csv_get, &ref};
    return ps_tpl_expand_src(out, len, tpl, NULL, 0, &src) < 0 ? NULL : out;
}

static void test_pieces_and_lookup(void **state)
{
    struct agent_csv d = {0};
    struct ps_assign *a = malloc(sizeof *a);
    char err[256], out[64];
    (void)state;
    assign(a, 3, sizeof wire - 1);
    assert_int_equal(agent_csv_assign(&d, a, err, sizeof err), 0);
    assert_null(expand(&d, 0, "{csv.user_id}", out, sizeof out));     /* not complete yet */
    assert_int_equal(piece(&d, 0, wire, 7, err, sizeof err), 0);     /* splits a value */
    assert_int_equal(piece(&d, 7, wire + 7, sizeof wire - 8, err, sizeof err), 0);
    assert_int_equal(d.ready, 1);
    assert_string_equal(expand(&d, 0, "/ws?u={csv.user_id}&t={csv.token}", out, sizeof out),
                        "/ws?u=u-1&t=a");
    assert_string_equal(expand(&d, 1, "{csv.user_id}:{csv.token}", out, sizeof out), "u-2:");
    assert_string_equal(expand(&d, 2, "{csv.token}", out, sizeof out), "c,\"q\"");
    assert_string_equal(expand(&d, 4, "{csv.user_id}", out, sizeof out), "u-2");  /* 4 % 3 */
    assert_null(expand(&d, 0, "{csv.nope}", out, sizeof out));
    assert_string_equal(expand(&d, 0, "{conn}", out, sizeof out), "{conn}");
    agent_csv_free(&d);
    free(a);
}

static void test_refusals(void **state)
{
    struct agent_csv d = {0};
    struct ps_assign *a = malloc(sizeof *a);
    char err[256];
    (void)state;
    assign(a, 3, sizeof wire - 1);
    assert_int_equal(agent_csv_assign(&d, a, err, sizeof err), 0);
    assert_int_equal(piece(&d, 5, wire, 4, err, sizeof err), -1);
    assert_string_equal(err, "per-connection data: piece at byte 5 (4 bytes) does not follow the "
                        "0 of 21 bytes received");
    assert_int_equal(piece(&d, 0, wire, sizeof wire - 1, err, sizeof err), 0);
    assert_int_equal(piece(&d, 21, "x\x1f", 2, err, sizeof err), -1);       /* one too many */
    agent_csv_free(&d);

    /* 5 values for 3 rows of 2 */
    assign(a, 3, 10);
    assert_int_equal(agent_csv_assign(&d, a, err, sizeof err), 0);
    assert_int_equal(piece(&d, 0, "a\x1f" "b\x1f" "c\x1f" "d\x1f" "e\x1f", 10, err, sizeof err), -1);
    assert_string_equal(err, "per-connection data: 5 values for 3 rows of 2 columns");
    assert_int_equal(d.ready, 0);

    assign(a, 3, 4);   /* fewer bytes than values */
    assert_int_equal(agent_csv_assign(&d, a, err, sizeof err), -1);
    assign(a, 0, 0);   /* no data at all is fine */
    a->n_csv_cols = 0;
    assert_int_equal(agent_csv_assign(&d, a, err, sizeof err), 0);
    assert_int_equal(piece(&d, 0, "a\x1f", 2, err, sizeof err), -1);        /* DATA without rows */
    agent_csv_free(&d);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pieces_and_lookup),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

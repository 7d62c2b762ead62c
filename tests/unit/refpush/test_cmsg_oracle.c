/* test_cmsg_oracle.c: refpush's reader of client messages (cmsg.c) checked
 * against a JSON parser we did not write (cJSON, the agent's).
 *
 * cmsg.c stays a reader of its own (why: its top comment; measured there),
 * so it must not disagree with a real parser on what it reads. For thousands
 * of generated objects - login, ping and ack with their field in any
 * position, among members refpush does not read (strings with escapes and
 * UTF-8, numbers in every JSON form, literals, nested arrays and objects),
 * with random whitespace - and for every one-byte change of them that is
 * still JSON, whatever cJSON accepts as an object the reader must accept, and
 * read the same type, token, seq and id. The exceptions are the reader's
 * documented refusals, which this test computes from cJSON's tree too: a
 * known type whose field is missing or not a non-negative integer, nesting
 * beyond REFPUSH_CMSG_DEPTH. Generated cases carry no repeated member
 * (cJSON keeps the first, the reader the last) and no number that a double
 * cannot hold exactly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cJSON.h>

#include "cmsg.h"

#define ORACLE_CASES 3000
#define ORACLE_DEPTH 16   /* REFPUSH_CMSG_DEPTH */

static uint32_t oracle_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Members refpush does not read, in every JSON shape. */
static const char *const extras[] = {
    "\"user\":{\"name\":\"a}\",\"tags\":[1,[2,{\"k\":\"]\"}]]}", "\"v\":-2.5e+3", "\"ok\":true",
    "\"no\":false", "\"n\":null", "\"s\":\"quote \\\" and \\\\ and \\u00e9 \\n\"",
    "\"utf8\":\"caf\xc3\xa9 \xe2\x82\xac\"", "\"arr\":[]", "\"obj\":{}", "\"big\":1E400",
    "\"neg\":-0", "\"frac\":0.000001", "\"typ\":\"login\"", "\"ids\":[1,2,3]",
    "\"\\u0074yp\":\"x\"", "\"nested\":[[[[[[[[1]]]]]]]]",
};

/* One object: the known members of its kind (in a random position), a few extras. */
static size_t oracle_make(uint32_t *rng, char *out, size_t cap)
{
    const char *known[3][2] = {
        {"\"type\":\"login\"", "\"token\":\"s3cret-%u\""},
        {"\"type\":\"ping\"", "\"seq\":%u"},
        {"\"type\":\"ack\"", "\"id\":%u"},
    };
    const char *ws[] = {"", " ", "\n", "\t ", "\r\n  "};
    uint32_t kind = oracle_rand(rng) % 4;   /* 3: a type refpush does not know */
    const char *members[8];
    char field[48];
    size_t n = 0;
    if (kind < 3) {
        members[n++] = known[kind][0];
        snprintf(field, sizeof field, known[kind][1], oracle_rand(rng) % 100000);
        if (oracle_rand(rng) % 8)   /* now and then the field is missing */
            members[n++] = field;
    } else {
        members[n++] = "\"type\":\"subscribe\"";
    }
    uint32_t n_extra = oracle_rand(rng) % 4;
    uint32_t used = 0;
    for (uint32_t i = 0; i < n_extra; i++) {
        uint32_t e = oracle_rand(rng) % (sizeof extras / sizeof extras[0]);
        if (used & (1u << e))
            continue;   /* no repeated member */
        used |= 1u << e;
        members[n++] = extras[e];
    }
    for (size_t i = n; i > 1; i--) {   /* shuffle */
        size_t j = oracle_rand(rng) % i;
        const char *t = members[i - 1];
        members[i - 1] = members[j];
        members[j] = t;
    }
    size_t len = (size_t)snprintf(out, cap, "%s{", ws[oracle_rand(rng) % 5]);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s%s%s", i ? "," : "",
                                ws[oracle_rand(rng) % 5], members[i], ws[oracle_rand(rng) % 5]);
    len += (size_t)snprintf(out + len, cap - len, "}%s", ws[oracle_rand(rng) % 5]);
    return len;
}

static int oracle_depth(const cJSON *j)
{
    int d = 0;
    for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
        int cd = oracle_depth(c);
        if (cd > d)
            d = cd;
    }
    return j && (cJSON_IsArray(j) || cJSON_IsObject(j)) ? d + 1 : 0;
}

/* A non-negative integer a double holds exactly, as the reader's fields must be. */
static int oracle_uint(const cJSON *j, uint64_t *v)
{
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > 9007199254740992.0 ||
        j->valuedouble != (double)(uint64_t)j->valuedouble)
        return 0;
    *v = (uint64_t)j->valuedouble;
    return 1;
}

/* Does s hold the text `"lit"`? The reader compares names and the type
 * undecoded, so a field cJSON found only by decoding an escape is no field of
 * the reader's. */
static int oracle_has(const char *s, size_t len, const char *lit)
{
    char q[16];
    int n = snprintf(q, sizeof q, "\"%s\"", lit);
    return memmem(s, len, q, (size_t)n) != NULL;
}

/* The reader reads seq and id only as plain digits: no sign, fraction,
 * exponent or leading zero, although cJSON may hold such a number exactly. */
static int oracle_plain_numbers(const char *s, size_t len)
{
    static const char *const keys[] = {"\"seq\"", "\"id\""};
    for (size_t k = 0; k < 2; k++) {
        for (const char *p = s; (p = memmem(p, len - (size_t)(p - s), keys[k], strlen(keys[k])));) {
            p += strlen(keys[k]);
            const char *v = p;
            while (v < s + len && strchr(" \t\n\r:", *v))
                v++;
            const char *d = v;
            while (d < s + len && *d >= '0' && *d <= '9')
                d++;
            if (d < s + len && strchr("-+.eE", *d))
                return 0;
            if (v < s + len && *v == '-')
                return 0;
            if (d - v > 1 && *v == '0')
                return 0;
        }
    }
    return 1;
}

static int oracle_repeated(const cJSON *j)
{
    for (const cJSON *a = j->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (!strcmp(a->string, b->string))
                return 1;
    return 0;
}

/* What the reader must say about s, from cJSON's tree: -1 = nothing to
 * require (cJSON refuses it, or it has what the reader may refuse for its own
 * documented reasons), 0 = accepted with *want. */
static int oracle_expect(const char *s, size_t len, struct refpush_cmsg *want, char *keep,
                         size_t keepcap)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    int rc = -1;
    memset(want, 0, sizeof *want);
    if (!j)
        return -1;
    while (end && end < s + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (!cJSON_IsObject(j) || end != s + len || oracle_depth(j) > ORACLE_DEPTH + 1 ||
        oracle_repeated(j) || !oracle_plain_numbers(s, len))
        goto out;
    static const char *const names[] = {"type", "token", "seq", "id"};
    for (size_t i = 0; i < 4; i++)
        if (cJSON_GetObjectItemCaseSensitive(j, names[i]) && !oracle_has(s, len, names[i]))
            goto out;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
    const char *type = cJSON_IsString(t) ? t->valuestring : "";
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "token");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(j, "seq");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    /* members the reader reads must be well-formed whatever the type */
    if ((seq && !oracle_uint(seq, &want->seq)) || (id && !oracle_uint(id, &want->id)))
        goto out;
    want->has_seq = seq != NULL;
    want->has_id = id != NULL;
    if (cJSON_IsString(tok) && strlen(tok->valuestring) < keepcap &&
        oracle_has(s, len, tok->valuestring)) {
        want->has_token = 1;
        want->token = tok->valuestring;
        want->token_len = strlen(tok->valuestring);
    } else if (tok) {
        goto out;   /* not a string, or with escapes, which the reader keeps raw */
    }
    if (*type && !oracle_has(s, len, type))
        type = "";   /* an escaped type name is another type to the reader */
    want->type = !strcmp(type, "login") ? REFPUSH_CMSG_LOGIN : !strcmp(type, "ping") ?
                 REFPUSH_CMSG_PING : !strcmp(type, "ack") ? REFPUSH_CMSG_ACK : REFPUSH_CMSG_OTHER;
    if ((want->type == REFPUSH_CMSG_LOGIN && !want->has_token) ||
        (want->type == REFPUSH_CMSG_PING && !want->has_seq) ||
        (want->type == REFPUSH_CMSG_ACK && !want->has_id))
        goto out;   /* the reader refuses these, saying what is missing */
    rc = 0;
    if (want->has_token) {   /* keep the token past cJSON_Delete */
        memcpy(keep, want->token, want->token_len + 1);
        want->token = keep;
    }
out:
    cJSON_Delete(j);
    return rc;
}

/* 1 when the reader agrees with cJSON on s (or nothing is required). */
static int oracle_check(const char *s, size_t len, char *why, size_t whylen)
{
    struct refpush_cmsg want, got;
    char err[96] = "", keep[64];
    if (oracle_expect(s, len, &want, keep, sizeof keep) != 0)
        return 1;
    if (refpush_cmsg_parse(s, len, &got, err, sizeof err) != 0) {
        snprintf(why, whylen, "refused (%s)", err);
        return 0;
    }
    if (got.type != want.type || got.has_token != want.has_token ||
        (want.has_token && (got.token_len != want.token_len ||
                            memcmp(got.token, want.token, got.token_len))) ||
        got.has_seq != want.has_seq || got.seq != want.seq ||
        got.has_id != want.has_id || got.id != want.id) {
        snprintf(why, whylen, "read type %d token %.*s seq %llu id %llu, cJSON: type %d "
                 "token %s seq %llu id %llu", got.type, (int)got.token_len,
                 got.token ? got.token : "", (unsigned long long)got.seq,
                 (unsigned long long)got.id, want.type, want.token ? want.token : "",
                 (unsigned long long)want.seq, (unsigned long long)want.id);
        return 0;
    }
    return 1;
}

static void test_agrees_with_cjson(void **state)
{
    (void)state;
    uint32_t rng = 0x9e3779b9u;
    int failed = 0, required = 0;
    for (int i = 0; i < ORACLE_CASES && failed < 5; i++) {
        char msg[1024], why[256];
        size_t len = oracle_make(&rng, msg, sizeof msg);
        struct refpush_cmsg want;
        char keep[64];
        required += oracle_expect(msg, len, &want, keep, sizeof keep) == 0;
        if (!oracle_check(msg, len, why, sizeof why)) {
            print_error("case %d: %.*s\n  %s\n", i, (int)len, msg, why);
            failed++;
        }
        /* one-byte changes of it: those that are still JSON must be read alike */
        for (int k = 0; k < 4 && failed < 5; k++) {
            char mut[1024];
            size_t at = oracle_rand(&rng) % len, mlen = len;
            memcpy(mut, msg, len);
            static const char bytes[] = "0123456789\"\\{}[],: -.eEtrufalsn";
            if (oracle_rand(&rng) % 2) {
                memmove(mut + at, mut + at + 1, len - at - 1);   /* delete */
                mlen--;
            } else {
                mut[at] = bytes[oracle_rand(&rng) % (sizeof bytes - 1)];   /* replace */
            }
            if (!oracle_check(mut, mlen, why, sizeof why)) {
                print_error("case %d, changed at byte %zu: %.*s\n  %s\n", i, at, (int)mlen, mut, why);
                failed++;
            }
        }
    }
    assert_int_equal(failed, 0);
    /* the generator is worth something only if most cases require agreement */
    assert_true(required > ORACLE_CASES / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agrees_with_cjson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_tsquery.c - PostgreSQL's tsquery and tsvector text read, matched
 * and ranked in memory (tsquery.h): each case's expected `@@` and
 * ts_rank(v, q, 32) were computed by PostgreSQL 15 (SET
 * extra_float_digits = 3; the query text is to_tsquery's output), so
 * the ranking must reproduce them to float4 precision; and the forms
 * the reader refuses (prefix, weights, operators inside a phrase,
 * malformed text).
 */
#include <math.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/error.h"
#include "synthia/tsquery.h"

#define MAX_ENTRIES 16

typedef struct pg_case {
    const char *vector, *query;
    bool match;
    double rank;
} pg_case;

static const pg_case cases[] = {
    {"'blue':1A,5C 'shirt':2A,9C 'cotton':3B", "'blue' & 'shirt'", true,
     0.49926963},
    {"'blue':1A,5C 'shirt':2A,9C 'cotton':3B",
     "'blue' | 'shirt' | 'linen'", true, 0.29851586},
    {"'shirt':3A 't':2A 't-shirt':1A 'wool':7C",
     "'t-shirt' <-> 't' <-> 'shirt' <-> 't' <-> 'shirt' & !'wool'", false,
     0.49999994},
    {"'shirt':3A 't':2A 't-shirt':1A",
     "'t-shirt' <-> 't' <-> 'shirt' <-> 't' <-> 'shirt'", false,
     0.4999997},
    {"'cat':2A 'hat':4A", "'cat' <-> 'hat'", false, 0.49622384},
    {"'cat':2A 'hat':5A", "'cat' <3> 'hat'", true, 0.4933078},
    {"'cat':2A,40C 'hat':4A,130C 'dog':60", "'cat' & 'hat' & 'dog'", true,
     0.49623224},
    {"'silk':4C,8C,12B", "'linen' | 'silk' | 'wool'", true, 0.116387285},
    {"'cotton':1A", "!'wool'", true, 0},
    {"'a':1 'b':3 'c':2", "'a' <-> 'b'", false, 0.08966844},
    {"'a':1 'b':2 'c':3", "'a' <-> 'b' <-> 'c'", true, 0.21156152},
    {"'a':1 'b':2 'c':3", "'a' <-> ( 'b' <-> 'c' )", true, 0.21156152},
    {"'a':1 'b':2 'c':4", "'a' <-> 'b' <2> 'c'", true, 0.21067968},
    {"'a':1,7 'b':2,8 'c':9", "!( 'a' <-> 'b' ) | 'c'", true, 0.06622764},
    {"'a':1,7 'b':2,8 'c':9", "!( 'a' <-> 'b' ) & 'c'", false, 0.34289417},
};

/* Read v and evaluate q against it: match and rank. */
static void
run(sy_arena *a, const pg_case *c, bool *match, float *rank)
{
    static uint16_t pos[MAX_ENTRIES][256];
    const uint16_t *dp[MAX_ENTRIES];
    int dn[MAX_ENTRIES] = {0}, e = 0, np, rc;
    char lex[256];
    size_t ll;
    sy_tsquery q;
    ck_assert_int_eq(sy_tsquery_parse(a, sy_str_c(c->query), &q), 0);
    ck_assert_int_le(q.nlex, MAX_ENTRIES);
    const char *p = c->vector, *end = p + strlen(p);
    while ((rc = sy_tsvector_next(&p, end, lex, &ll, pos[e], 256, &np)) >
           0) {
        for (int i = 0; i < q.nlex; i++)
            if (strcmp(q.lex[i], lex) == 0) {
                dp[i] = pos[e];
                dn[i] = np;
            }
        e++;
    }
    ck_assert_int_eq(rc, 0);
    sy_tsdoc d = {dp, dn};
    *match = sy_tsquery_match(&q, &d);
    *rank = sy_tsquery_rank(&q, &d, e == 0);
}

START_TEST(test_postgresql_matches_and_ranks)
{
    sy_arena a;
    sy_arena_init(&a, 4096, 1 << 20);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool m;
        float r;
        run(&a, &cases[i], &m, &r);
        ck_assert_msg(m == cases[i].match, "case %zu: @@ %d", i, m);
        ck_assert_msg(fabs((double)r - cases[i].rank) <=
                          1e-7 * (cases[i].rank > 1 ? cases[i].rank : 1),
                      "case %zu (%s): rank %.9g, PostgreSQL %.9g", i,
                      cases[i].query, (double)r, cases[i].rank);
    }
    sy_arena_cleanup(&a);
}
END_TEST

START_TEST(test_lexemes_are_distinct_in_byte_order)
{
    sy_arena a;
    sy_tsquery q;
    sy_arena_init(&a, 4096, 1 << 20);
    ck_assert_int_eq(sy_tsquery_parse(&a, sy_str_c("'wool' & 'it''s' | "
                                                   "'b\\\\c' & 'wool'"),
                                      &q),
                     0);
    ck_assert_int_eq(q.nlex, 3);
    ck_assert_str_eq(q.lex[0], "b\\c");
    ck_assert_str_eq(q.lex[1], "it's");
    ck_assert_str_eq(q.lex[2], "wool");
    ck_assert_int_eq(q.nodes[q.root].type, SY_TSQ_OR);
    ck_assert_int_eq(sy_tsquery_parse(&a, sy_str_c(""), &q), 0);
    ck_assert_int_eq(q.root, -1);
    ck_assert(!sy_tsquery_match(&q, &(sy_tsdoc){NULL, NULL}));
    ck_assert(!sy_tsquery_matches_empty(&q));
    ck_assert_int_eq(sy_tsquery_parse(&a, sy_str_c("!'a' & !'b'"), &q), 0);
    ck_assert(sy_tsquery_matches_empty(&q));
    ck_assert_int_eq(sy_tsquery_parse(&a, sy_str_c("!'a' & 'b'"), &q), 0);
    ck_assert(!sy_tsquery_matches_empty(&q));
    sy_arena_cleanup(&a);
}
END_TEST

START_TEST(test_what_it_does_not_reproduce_is_refused)
{
    static const char *const refused[] = {
        "'pre':*", "'a':AB", "'a' <-> ( 'b' | 'c' )", "'a' <-> !'b'",
        "'a' &", "( 'a'", "'a' )", "'a' 'b'", "''", "'a", "a", "'a' <x> 'b'",
        "'a' <99999> 'b'", "&", NULL};
    sy_arena a;
    sy_arena_init(&a, 4096, 1 << 20);
    for (int i = 0; refused[i]; i++) {
        sy_tsquery q = {.root = -7};
        ck_assert_msg(sy_tsquery_parse(&a, sy_str_c(refused[i]), &q) ==
                          SY_EINVAL,
                      "accepted %s", refused[i]);
        ck_assert_int_eq(q.root, -7);
    }
    /* malformed vectors */
    static const char *const bad[] = {"'a':0", "'a':1X", "'a':16384",
                                      "'a'x", "'a", NULL};
    for (int i = 0; bad[i]; i++) {
        const char *p = bad[i];
        uint16_t pos[4];
        char lex[16];
        size_t ll;
        int np;
        ck_assert_int_eq(sy_tsvector_next(&p, p + strlen(p), lex, &ll, pos,
                                          4, &np),
                         SY_EINVAL);
    }
    sy_arena_cleanup(&a);
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {test_postgresql_matches_and_ranks,
                                  test_lexemes_are_distinct_in_byte_order,
                                  test_what_it_does_not_reproduce_is_refused,
                                  NULL};
    return sy_check_suite("tsquery", NULL, NULL, tests);
}

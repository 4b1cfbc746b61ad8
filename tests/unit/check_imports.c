/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_imports.c - import sessions without Redis or PostgreSQL: the CSV
 * parser (csv.h: RFC 4180 quoting, BOM, delimiter detection, line ends,
 * strict UTF-8 with the row, limits), column typing and the cell readers
 * (impops.h), the edit operations (all or nothing) and the stored form
 * (impcodec.h).
 */
#include "sycheck.h"
#include "synthia/csv.h"
#include "synthia/error.h"
#include "synthia/impcodec.h"
#include "synthia/impops.h"

SY_CHECK_FIXTURE(1 << 16)

#define S(lit) ((sy_str){(lit), sizeof(lit) - 1})

static const sy_csv_opts LIM = {.max_rows = 100, .max_cols = 10,
                                .max_cells = 1000, .max_cell = 64};

static sy_table
parse_ok(sy_str in, sy_csv_info *info)
{
    sy_table t;
    sy_csv_info i;
    sy_csv_error err = {0};
    int rc = sy_csv_parse(&A, in, &LIM, &t, info ? info : &i, &err);
    ck_assert_msg(rc == 0, "refused: %s (row %lld)", err.message,
                  (long long)err.row);
    return t;
}

static sy_csv_error
parse_bad(sy_str in, const sy_csv_opts *o)
{
    sy_table t;
    sy_csv_info i;
    sy_csv_error err = {0};
    ck_assert_int_eq(sy_csv_parse(&A, in, o ? o : &LIM, &t, &i, &err),
                     SY_EVALIDATION);
    ck_assert_ptr_nonnull(err.message);
    return err;
}

static void
cell_is(const sy_table *t, uint32_t r, uint32_t c, const char *want)
{
    sy_str v = *sy_table_at(t, r, c);
    if (!want) {
        ck_assert_msg(v.p == NULL, "(%u,%u) should be missing", r, c);
        return;
    }
    ck_assert_msg(v.p && sy_str_eqc(v, want), "(%u,%u) is '%.*s', not '%s'",
                  r, c, (int)v.len, v.p ? v.p : "", want);
}

START_TEST(test_csv_quotes_and_line_ends)
{
    sy_csv_info info;
    sy_table t = parse_ok(S("sku,name,price\r\nA1,\"Dress, red\",12.50\r\n"
                            "A2,\"say \"\"hi\"\"\nagain\",\r\n"
                            "\r\nA3, plain ,7\n"),
                          &info);
    ck_assert_int_eq(info.delimiter, ',');
    ck_assert(!info.bom);
    ck_assert_uint_eq(t.cols, 3);
    ck_assert_uint_eq(t.rows, 3);
    ck_assert(sy_str_eqc(t.col[1].name, "name"));
    cell_is(&t, 0, 1, "Dress, red");
    cell_is(&t, 1, 1, "say \"hi\"\nagain");
    cell_is(&t, 1, 2, NULL);
    cell_is(&t, 2, 1, "plain");
    cell_is(&t, 2, 2, "7");
}
END_TEST

START_TEST(test_csv_bom_and_delimiters)
{
    sy_csv_info info;
    sy_table t = parse_ok(S("\xef\xbb\xbf" "a;b;c\n1;2,5;x\n"), &info);
    ck_assert(info.bom);
    ck_assert_int_eq(info.delimiter, ';');
    ck_assert(sy_str_eqc(t.col[0].name, "a"));
    cell_is(&t, 0, 1, "2,5");
    t = parse_ok(S("a\tb\n1\t2\n"), &info);
    ck_assert_int_eq(info.delimiter, '\t');
    cell_is(&t, 0, 1, "2");
    /* a ';' inside quotes does not count */
    t = parse_ok(S("\"x;y;z\",b\n1,2\n"), &info);
    ck_assert_int_eq(info.delimiter, ',');
    ck_assert(sy_str_eqc(t.col[0].name, "x;y;z"));
}
END_TEST

START_TEST(test_csv_header_names_and_short_rows)
{
    sy_table t = parse_ok(S("a,,a\n1\n1,2,3,,\n"), NULL);
    ck_assert(sy_str_eqc(t.col[1].name, "column_2"));
    ck_assert(sy_str_eqc(t.col[2].name, "a (2)"));
    ck_assert_uint_eq(t.rows, 2);
    cell_is(&t, 0, 1, NULL);
    cell_is(&t, 1, 2, "3");
}
END_TEST

START_TEST(test_csv_refusals_carry_the_row)
{
    sy_csv_error e = parse_bad(S("a,b\n1,2\nx,\xc3\x28\n"), NULL);
    ck_assert_int_eq(e.row, 1);
    ck_assert_int_eq(e.line, 3);
    ck_assert_int_eq(e.column, 1);
    ck_assert(strstr(e.message, "UTF-8"));
    e = parse_bad(S("a,b\n\"open,1\n"), NULL);
    ck_assert_int_eq(e.row, 0);
    e = parse_bad(S("a,b\n\"q\"x,1\n"), NULL);
    ck_assert_int_eq(e.row, 0);
    e = parse_bad(S("a,b\n1,2,3\n"), NULL);
    ck_assert(strstr(e.message, "more fields"));
    e = parse_bad(S("a,b\n1,\x01\n"), NULL);
    ck_assert(strstr(e.message, "control"));
    e = parse_bad(S(""), NULL);
    ck_assert_int_eq(e.row, -1);
}
END_TEST

START_TEST(test_csv_limits)
{
    sy_csv_opts o = LIM;
    o.max_rows = 2;
    sy_csv_error e = parse_bad(S("a\n1\n2\n3\n"), &o);
    ck_assert(strstr(e.message, "rows"));
    ck_assert_int_eq(e.row, 2);
    o = LIM;
    o.max_cols = 2;
    e = parse_bad(S("a,b,c\n"), &o);
    ck_assert(strstr(e.message, "columns"));
    o = LIM;
    o.max_cell = 4;
    e = parse_bad(S("a\n12345\n"), &o);
    ck_assert(strstr(e.message, "cell limit"));
    o = LIM;
    o.max_cells = 3;
    e = parse_bad(S("a,b\n1,2\n3,4\n"), &o);
    ck_assert(strstr(e.message, "cells"));
}
END_TEST

START_TEST(test_types_and_readers)
{
    sy_table t = parse_ok(S("i,d,m,b,c,t,e\n"
                            "1,1.5,EUR 12.50,yes,#fff,x,\n"
                            "-2,\"2,25\",\"$1,234.50\",No,\"#000000 #AaBbCc\",1,\n"),
                          NULL);
    sy_impops_type_all(&t);
    const char *want[] = {"integer", "decimal", "money", "boolean",
                          "colour", "text", "text"};
    for (int c = 0; c < 7; c++)
        ck_assert_str_eq(sy_impops_type_name(t.col[c].type), want[c]);
    int64_t cents;
    char cur[4];
    ck_assert_int_eq(sy_impops_money(S("\xe2\x82\xac 1.234,50"), &cents, cur),
                     0);
    ck_assert_int_eq(cents, 123450);
    ck_assert_str_eq(cur, "EUR");
    ck_assert_int_eq(sy_impops_money(S("12,50 GBP"), &cents, cur), 0);
    ck_assert_int_eq(cents, 1250);
    ck_assert_str_eq(cur, "GBP");
    ck_assert_int_eq(sy_impops_money(S("12.505"), &cents, cur), -1);
    ck_assert_int_eq(sy_impops_money(S("EURO12"), &cents, cur), -1);
    ck_assert_int_eq(sy_impops_money(S("IMP-1"), &cents, cur), -1);
    ck_assert_int_eq(sy_impops_money(S("$-5"), &cents, cur), 0);
    ck_assert_int_eq(cents, -500);
    char col[SY_IMPOPS_MAX_COLOURS][8];
    int n;
    ck_assert_int_eq(sy_impops_colours(S("#AbC | #001122"), col, &n), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(col[0], "#aabbcc");
    ck_assert_int_eq(sy_impops_colours(S("#12"), col, &n), -1);
    uint32_t miss, intent;
    sy_table_missing_counts(&t, 6, &miss, &intent);
    ck_assert_uint_eq(miss, 2);
    ck_assert_uint_eq(intent, 0);
}
END_TEST

static const sy_imp_limits OPLIM = {.max_cols = 10, .max_cell = 64};

START_TEST(test_ops_apply_in_order)
{
    sy_table t = parse_ok(S("sku,price,note\nA,1,\nB,2,\nC,3,\n"), NULL);
    sy_impops_type_all(&t);
    sy_imp_applied ap;
    json_object *ops = sy_check_json(&A,
        "[{\"op\":\"drop_rows\",\"rows\":[0]},"
        " {\"op\":\"set\",\"row\":0,\"column\":\"price\",\"value\":\"9.99\"},"
        " {\"op\":\"mark_missing_intentional\",\"row\":1,\"column\":2},"
        " {\"op\":\"fill_missing\",\"column\":\"note\",\"value\":\"n/a\"},"
        " {\"op\":\"rename\",\"from\":\"note\",\"to\":\"remark\"},"
        " {\"op\":\"map\",\"column\":\"price\",\"field\":\"price\"}]");
    ck_assert_int_eq(sy_impops_apply(&A, &t, ops, &OPLIM, &E, &ap), 0);
    ck_assert_int_eq(ap.nops, 6);
    ck_assert_str_eq(ap.names[0], "drop_rows");
    ck_assert_uint_eq(t.rows, 2);
    cell_is(&t, 0, 0, "B");
    cell_is(&t, 0, 1, "9.99");
    cell_is(&t, 0, 2, "n/a");
    cell_is(&t, 1, 2, NULL); /* marked: fill_missing leaves it */
    ck_assert(sy_table_marked(&t, 1, 2));
    ck_assert(sy_str_eqc(t.col[2].name, "remark"));
    ck_assert(sy_str_eqc(t.col[1].field, "price"));
    ck_assert_str_eq(sy_impops_type_name(t.col[1].type), "decimal");
}
END_TEST

START_TEST(test_ops_refused_with_the_index)
{
    sy_table t = parse_ok(S("a,b\n1,2\n"), NULL);
    sy_imp_applied ap;
    json_object *ops = sy_check_json(&A,
        "[{\"op\":\"set\",\"row\":0,\"column\":\"a\",\"value\":\"x\"},"
        " {\"op\":\"set\",\"row\":5,\"column\":\"zz\",\"value\":{}}]");
    ck_assert_int_eq(sy_impops_apply(&A, &t, ops, &OPLIM, &E, &ap),
                     SY_EVALIDATION);
    ck_assert_str_eq(sy_check_error_fields(&E),
                     "ops[1].row ops[1].column ops[1].value");
    sy_errs_init(&E, &A);
    ops = sy_check_json(&A, "[{\"op\":\"map\",\"column\":0,"
                            "\"field\":\"attributes.Bad\"}]");
    ck_assert_int_eq(sy_impops_apply(&A, &t, ops, &OPLIM, &E, &ap),
                     SY_EVALIDATION);
    ck_assert_str_eq(sy_check_error_fields(&E), "ops[0].field");
    sy_errs_init(&E, &A);
    ops = sy_check_json(&A, "[{\"op\":\"mark_missing_intentional\","
                            "\"row\":0,\"column\":0}]");
    ck_assert_int_eq(sy_impops_apply(&A, &t, ops, &OPLIM, &E, &ap),
                     SY_EVALIDATION);
    sy_errs_init(&E, &A);
    ops = sy_check_json(&A, "[{\"op\":\"explode\"}]");
    ck_assert_int_eq(sy_impops_apply(&A, &t, ops, &OPLIM, &E, &ap),
                     SY_EVALIDATION);
    ck_assert_str_eq(sy_check_error_fields(&E), "ops[0].op");
}
END_TEST

START_TEST(test_codec_round_trip)
{
    sy_table t = parse_ok(S("sku,colour,n\nA,#fff,\nB,,2\n"), NULL);
    sy_impops_type_all(&t);
    t.col[0].field = S("sku");
    sy_table_set_mark(&t, 1, 1, true);
    sy_str z;
    ck_assert_int_eq(sy_impcodec_encode(&A, &t, &z), 0);
    sy_table b;
    ck_assert_int_eq(sy_impcodec_decode(&A, z, &b), 0);
    ck_assert_uint_eq(b.rows, 2);
    ck_assert_uint_eq(b.cols, 3);
    ck_assert(sy_str_eqc(b.col[0].field, "sku"));
    ck_assert_int_eq(b.col[1].type, SY_IMP_COLOUR);
    cell_is(&b, 0, 1, "#fff");
    cell_is(&b, 1, 1, NULL);
    cell_is(&b, 1, 2, "2");
    ck_assert(sy_table_marked(&b, 1, 1));
    ck_assert(!sy_table_marked(&b, 0, 2));
    /* anything else is refused, never guessed */
    char *bad = sy_arena_alloc(&A, z.len);
    memcpy(bad, z.p, z.len);
    bad[z.len - 1] ^= 0x55;
    sy_table c;
    int rc = sy_impcodec_decode(&A, (sy_str){bad, z.len}, &c);
    ck_assert(rc == SY_EINVAL || rc == 0);
    ck_assert_int_eq(sy_impcodec_decode(&A, (sy_str){z.p, z.len - 1}, &c),
                     SY_EINVAL);
    ck_assert_int_eq(sy_impcodec_decode(&A, S("SYZ1\xff\xff\xff\x7f"), &c),
                     SY_EINVAL);
}
END_TEST

/* Marks anywhere in the bitmap (byte edges, first and last cell, a row
 * count that is not a multiple of 8) come back exactly. */
START_TEST(test_codec_marks_round_trip)
{
    static const uint32_t at[][2] = {{0, 0}, {7, 0}, {8, 0}, {20, 0},
                                     {0, 1}, {13, 2}, {20, 2}};
    sy_table t;
    ck_assert_int_eq(sy_table_init(&A, &t, 21, 3), 0);
    for (uint32_t c = 0; c < 3; c++)
        t.col[c].name = S("c");
    t.cell[5] = S("x");
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
        sy_table_set_mark(&t, at[i][0], at[i][1], true);
    sy_str z;
    ck_assert_int_eq(sy_impcodec_encode(&A, &t, &z), 0);
    sy_table b;
    ck_assert_int_eq(sy_impcodec_decode(&A, z, &b), 0);
    int marks = 0;
    for (uint32_t c = 0; c < 3; c++)
        for (uint32_t r = 0; r < 21; r++) {
            ck_assert(sy_table_marked(&b, r, c) == sy_table_marked(&t, r, c));
            marks += sy_table_marked(&b, r, c);
        }
    ck_assert_int_eq(marks, 7);
    cell_is(&b, 5, 0, "x");
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_csv_quotes_and_line_ends, test_csv_bom_and_delimiters,
        test_csv_header_names_and_short_rows, test_csv_refusals_carry_the_row,
        test_csv_limits, test_types_and_readers, test_ops_apply_in_order,
        test_ops_refused_with_the_index, test_codec_round_trip,
        test_codec_marks_round_trip, NULL};
    return sy_check_suite("imports", setup, teardown, tests);
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_router.c - unit tests of the route matcher: literal segments,
 * {param} captures, 404 versus 405 with its Allow list (HEAD for GET
 * routes), on a small table of its own and on the application's table.
 */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/error.h"
#include "synthia/router.h"

static int
h_dummy(sy_req *req, sy_res *res)
{
    (void)req;
    (void)res;
    return 0;
}

enum {
    R_ROOT,
    R_ITEMS_LIST,
    R_ITEMS_CREATE,
    R_ITEM_GET,
    R_ITEM_PUT,
    R_ITEM_DELETE,
    R_ITEM_SPECIAL,
    R_PART_GET,
    R_JOB_CANCEL,
    R_FIVE_PARAMS,
};

static const sy_route table[] = {
    [R_ROOT] = {"GET", "/", h_dummy, 0, 0, 0, 0},
    [R_ITEMS_LIST] = {"GET", "/items", h_dummy, 0, 0, 0, 0},
    [R_ITEMS_CREATE] = {"POST", "/items", h_dummy, 0, 0, 0, 0},
    [R_ITEM_GET] = {"GET", "/items/{id}", h_dummy, 0, 0, 0, 0},
    [R_ITEM_PUT] = {"PUT", "/items/{id}", h_dummy, 0, 0, 0, 0},
    [R_ITEM_DELETE] = {"DELETE", "/items/{id}", h_dummy, 0, 0, 0, 0},
    [R_ITEM_SPECIAL] = {"GET", "/items/special", h_dummy, 0, 0, 0, 0},
    [R_PART_GET] = {"GET", "/items/{id}/parts/{part}", h_dummy, 0, 0, 0, 0},
    [R_JOB_CANCEL] = {"POST", "/jobs/{id}/cancel", h_dummy, 0, 0, 0, 0},
    [R_FIVE_PARAMS] = {"GET", "/x/{a}/{b}/{c}/{d}/{e}", h_dummy, 0, 0, 0, 0},
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

static sy_route_match M;

/* Match method and path against the test table. */
static int
route(const char *method, const char *path)
{
    memset(&M, 0x5a, sizeof(M)); /* no stale values may survive */
    return sy_router_match(table, NTABLE, sy_str_c(method), sy_str_c(path), &M);
}

static void
assert_param(int i, const char *want)
{
    ck_assert_int_gt(M.nparams, i);
    ck_assert_msg(sy_str_eqc(M.params[i], want), "param %d is '%.*s'", i,
                  (int)M.params[i].len, M.params[i].p);
}

static void
assert_not_found(const char *method, const char *path)
{
    ck_assert_msg(route(method, path) == SY_ENOTFOUND, "%s %s matched", method,
                  path);
    ck_assert_int_eq(M.index, -1);
    ck_assert_str_eq(M.allow, "");
}

/* ------------------------------------------------------------ matching */

START_TEST(test_literal_path_matches_its_route)
{
    ck_assert_int_eq(route("GET", "/items"), 0);
    ck_assert_int_eq(M.index, R_ITEMS_LIST);
    ck_assert_int_eq(M.nparams, 0);
    ck_assert_int_eq(route("POST", "/items"), 0);
    ck_assert_int_eq(M.index, R_ITEMS_CREATE);
}
END_TEST

START_TEST(test_root_path_matches_root_route)
{
    ck_assert_int_eq(route("GET", "/"), 0);
    ck_assert_int_eq(M.index, R_ROOT);
}
END_TEST

START_TEST(test_capture_returns_the_segment)
{
    ck_assert_int_eq(route("GET", "/items/42"), 0);
    ck_assert_int_eq(M.index, R_ITEM_GET);
    ck_assert_int_eq(M.nparams, 1);
    assert_param(0, "42");
}
END_TEST

START_TEST(test_captures_come_in_pattern_order)
{
    ck_assert_int_eq(route("GET", "/items/abc/parts/p-1"), 0);
    ck_assert_int_eq(M.index, R_PART_GET);
    ck_assert_int_eq(M.nparams, 2);
    assert_param(0, "abc");
    assert_param(1, "p-1");
}
END_TEST

START_TEST(test_capture_in_the_middle_of_a_pattern)
{
    ck_assert_int_eq(route("POST", "/jobs/j7/cancel"), 0);
    ck_assert_int_eq(M.index, R_JOB_CANCEL);
    assert_param(0, "j7");
}
END_TEST

START_TEST(test_captures_stay_percent_encoded)
{
    ck_assert_int_eq(route("GET", "/items/a%2Fb%20c"), 0);
    assert_param(0, "a%2Fb%20c");
}
END_TEST

START_TEST(test_first_matching_route_in_table_order_wins)
{
    /* /items/{id} comes before /items/special */
    ck_assert_int_eq(route("GET", "/items/special"), 0);
    ck_assert_int_eq(M.index, R_ITEM_GET);
    assert_param(0, "special");
}
END_TEST

START_TEST(test_capture_does_not_match_an_empty_segment)
{
    assert_not_found("GET", "/items/");
    assert_not_found("GET", "/items//parts/x");
}
END_TEST

START_TEST(test_capture_does_not_span_a_slash)
{
    assert_not_found("GET", "/items/a/b");
    assert_not_found("POST", "/jobs/a/b/cancel");
}
END_TEST

START_TEST(test_trailing_slash_is_a_different_path)
{
    assert_not_found("GET", "/items/42/");
    assert_not_found("GET", "/jobs/1/cancel/");
}
END_TEST

START_TEST(test_prefix_or_extension_of_a_literal_does_not_match)
{
    assert_not_found("GET", "/item");
    assert_not_found("GET", "/itemsx");
    assert_not_found("GET", "/items/1/parts");
    assert_not_found("GET", "");
}
END_TEST

START_TEST(test_unknown_path_is_not_found)
{
    assert_not_found("GET", "/nothing/here");
    assert_not_found("DELETE", "/nothing");
}
END_TEST

START_TEST(test_pattern_with_more_captures_than_room_never_matches)
{
    assert_not_found("GET", "/x/1/2/3/4/5");
}
END_TEST

START_TEST(test_literal_route_clears_stale_params)
{
    ck_assert_int_eq(route("GET", "/items/9"), 0);
    ck_assert_int_eq(route("GET", "/items"), 0);
    ck_assert_int_eq(M.nparams, 0);
}
END_TEST

/* ------------------------------------------------------------ methods */

START_TEST(test_head_is_answered_by_get_route)
{
    ck_assert_int_eq(route("HEAD", "/items/42"), 0);
    ck_assert_int_eq(M.index, R_ITEM_GET);
    assert_param(0, "42");
}
END_TEST

START_TEST(test_wrong_method_is_405_with_allow_list)
{
    ck_assert_int_eq(route("PATCH", "/items"), SY_EMETHOD);
    ck_assert_int_eq(M.index, -1);
    ck_assert_str_eq(M.allow, "GET, HEAD, POST");
}
END_TEST

START_TEST(test_allow_lists_every_method_of_a_capture_route)
{
    ck_assert_int_eq(route("POST", "/items/42"), SY_EMETHOD);
    ck_assert_str_eq(M.allow, "GET, HEAD, PUT, DELETE");
}
END_TEST

START_TEST(test_allow_has_no_duplicates_when_patterns_overlap)
{
    /* /items/special matches both /items/{id} and /items/special */
    ck_assert_int_eq(route("POST", "/items/special"), SY_EMETHOD);
    ck_assert_str_eq(M.allow, "GET, HEAD, PUT, DELETE");
}
END_TEST

START_TEST(test_head_on_post_only_route_is_405)
{
    ck_assert_int_eq(route("HEAD", "/jobs/1/cancel"), SY_EMETHOD);
    ck_assert_str_eq(M.allow, "POST");
    ck_assert_int_eq(route("GET", "/jobs/1/cancel"), SY_EMETHOD);
    ck_assert_str_eq(M.allow, "POST");
}
END_TEST

START_TEST(test_method_comparison_is_case_sensitive)
{
    ck_assert_int_eq(route("get", "/items"), SY_EMETHOD);
    ck_assert_int_eq(route("GETX", "/items"), SY_EMETHOD);
}
END_TEST

START_TEST(test_allow_list_stays_within_its_buffer)
{
    static const char *methods[] = {
        "GET",       "POST",  "PUT",  "PATCH", "DELETE", "OPTIONS", "PROPFIND",
        "PROPPATCH", "MKCOL", "COPY", "MOVE",  "LOCK",   "UNLOCK",  "SEARCH"};
    sy_route many[14];
    for (int i = 0; i < 14; i++)
        many[i] = (sy_route){methods[i], "/dav", h_dummy, 0, 0, 0, 0, 0};
    int rc = sy_router_match(many, 14, SY_STR("TRACE"), SY_STR("/dav"), &M);
    ck_assert_int_eq(rc, SY_EMETHOD);
    ck_assert_uint_lt(strlen(M.allow), sizeof(M.allow));
    ck_assert(sy_str_starts(sy_str_c(M.allow), "GET, HEAD, POST, PUT"));
}
END_TEST

START_TEST(test_empty_table_finds_nothing)
{
    ck_assert_int_eq(sy_router_match(table, 0, SY_STR("GET"), SY_STR("/"), &M),
                     SY_ENOTFOUND);
    ck_assert_int_eq(M.index, -1);
}
END_TEST

/* ------------------------------------------------------------ app table */

static int
app_route(const char *method, const char *path)
{
    return sy_router_match(sy_routes, sy_nroutes, sy_str_c(method),
                           sy_str_c(path), &M);
}

START_TEST(test_app_table_routes_health)
{
    ck_assert_int_eq(app_route("GET", "/health"), 0);
    ck_assert_str_eq(sy_routes[M.index].path, "/health");
    ck_assert_ptr_nonnull(sy_routes[M.index].handler);
    ck_assert_int_eq(app_route("HEAD", "/health/live"), 0);
    ck_assert_str_eq(sy_routes[M.index].path, "/health/live");
}
END_TEST

START_TEST(test_app_table_answers_405_and_404)
{
    ck_assert_int_eq(app_route("POST", "/health"), SY_EMETHOD);
    ck_assert_str_eq(M.allow, "GET, HEAD");
    ck_assert_int_eq(app_route("GET", "/no/such/route"), SY_ENOTFOUND);
}
END_TEST

/* Replace each {name} of a pattern by "v" to get a path it must match. */
static void
sample_path(const char *pattern, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = pattern; *p && n + 2 < cap; p++) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            ck_assert_ptr_nonnull(close);
            out[n++] = 'v';
            p = close;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = 0;
}

static bool
method_well_formed(const char *m)
{
    static const char *known[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(m, known[i]) == 0)
            return true;
    return false;
}

START_TEST(test_every_app_route_is_reachable_by_its_own_pattern)
{
    ck_assert_uint_gt(sy_nroutes, 0);
    for (size_t i = 0; i < sy_nroutes; i++) {
        const sy_route *r = &sy_routes[i];
        char path[256];
        ck_assert_msg(r->path[0] == '/', "route %zu: %s", i, r->path);
        ck_assert_msg(method_well_formed(r->method), "route %zu: %s", i,
                      r->method);
        ck_assert_msg(r->handler != NULL, "route %zu has no handler", i);
        sample_path(r->path, path, sizeof(path));
        ck_assert_int_eq(app_route(r->method, path), 0);
        ck_assert_msg((size_t)M.index == i,
                      "%s %s is shadowed by route %d (%s)", r->method,
                      r->path, M.index, sy_routes[M.index].path);
    }
}
END_TEST

START_TEST(test_no_app_route_is_listed_twice)
{
    for (size_t i = 0; i < sy_nroutes; i++)
        for (size_t j = i + 1; j < sy_nroutes; j++)
            ck_assert_msg(
                strcmp(sy_routes[i].method, sy_routes[j].method) ||
                    strcmp(sy_routes[i].path, sy_routes[j].path),
                "%s %s listed twice", sy_routes[i].method,
                sy_routes[i].path);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("router");
    const TTest *const match_tests[] = {
        test_literal_path_matches_its_route,
        test_root_path_matches_root_route, test_capture_returns_the_segment,
        test_captures_come_in_pattern_order,
        test_capture_in_the_middle_of_a_pattern,
        test_captures_stay_percent_encoded,
        test_first_matching_route_in_table_order_wins,
        test_capture_does_not_match_an_empty_segment,
        test_capture_does_not_span_a_slash,
        test_trailing_slash_is_a_different_path,
        test_prefix_or_extension_of_a_literal_does_not_match,
        test_unknown_path_is_not_found,
        test_pattern_with_more_captures_than_room_never_matches,
        test_literal_route_clears_stale_params, NULL};
    sy_check_tcase(s, "match", NULL, NULL, match_tests);
    const TTest *const methods_tests[] = {
        test_head_is_answered_by_get_route,
        test_wrong_method_is_405_with_allow_list,
        test_allow_lists_every_method_of_a_capture_route,
        test_allow_has_no_duplicates_when_patterns_overlap,
        test_head_on_post_only_route_is_405,
        test_method_comparison_is_case_sensitive,
        test_allow_list_stays_within_its_buffer,
        test_empty_table_finds_nothing, NULL};
    sy_check_tcase(s, "methods", NULL, NULL, methods_tests);
    const TTest *const app_table_tests[] = {
        test_app_table_routes_health, test_app_table_answers_405_and_404,
        test_every_app_route_is_reachable_by_its_own_pattern,
        test_no_app_route_is_listed_twice, NULL};
    sy_check_tcase(s, "app_table", NULL, NULL, app_table_tests);
    return sy_check_run(s);
}

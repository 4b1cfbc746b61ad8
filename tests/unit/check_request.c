/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_request.c - unit tests of the request object built from a fake
 * CGI environment (method, URI, query, content length, headers, query
 * parameters, cookies, request ids, the body) and of JSON request bodies
 * (content type, depth-limited parsing; the typed getters, which record
 * problems, are in check_problem.c).
 */
#include <check.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/arena.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/request.h"

#define MAX_ENV 128

static sy_arena A;
static sy_req R;
/* Each entry is its own heap block, as in a real environment, so that
 * ASan sees any read past the end of one. */
static char *env[MAX_ENV + 1];
static int nenv;

static void
free_env(void)
{
    for (int i = 0; i < nenv; i++)
        free(env[i]);
    nenv = 0;
    env[0] = NULL;
}

static void
add_env(const char *entry)
{
    ck_assert_int_lt(nenv, MAX_ENV);
    env[nenv] = strdup(entry);
    ck_assert_ptr_nonnull(env[nenv]);
    env[++nenv] = NULL;
}

static void
setup(void)
{
    sy_arena_init(&A, 4096, 1 << 20);
    nenv = 0;
    env[0] = NULL;
}

static void
teardown(void)
{
    sy_arena_cleanup(&A);
    free_env();
}

/* Parse an environment of the given entries (NULL-terminated list). */
static int
parse_env(const char *first, ...)
{
    va_list ap;
    free_env();
    va_start(ap, first);
    for (const char *e = first; e; e = va_arg(ap, const char *))
        add_env(e);
    va_end(ap);
    return sy_req_parse_env(&R, &A, env);
}

/* A GET of uri with extra entries; the parse must succeed. */
#define GET(...)                                                               \
    ck_assert_int_eq(parse_env("REQUEST_METHOD=GET", __VA_ARGS__, NULL), 0)

static void
assert_view(sy_str v, const char *want)
{
    ck_assert_ptr_nonnull(v.p);
    ck_assert_msg(sy_str_eqc(v, want), "got '%.*s', want '%s'", (int)v.len, v.p,
                  want);
}

/* Decoded query parameter name; the lookup must succeed. */
static void
assert_query(const char *name, const char *want)
{
    sy_str v = SY_STR_NULL;
    int rc = sy_req_query(&R, name, &v);
    ck_assert_msg(rc == 0, "query %s: rc %d", name, rc);
    assert_view(v, want);
}

/* ------------------------------------------------------------ parse */

START_TEST(test_parse_splits_uri_into_path_and_query)
{
    GET("REQUEST_URI=/api/v1/items?limit=5&cursor=x");
    assert_view(R.method, "GET");
    assert_view(R.uri, "/api/v1/items?limit=5&cursor=x");
    assert_view(R.path, "/api/v1/items");
    assert_view(R.query, "limit=5&cursor=x");
}
END_TEST

START_TEST(test_uri_without_query_uses_query_string)
{
    GET("REQUEST_URI=/items", "QUERY_STRING=a=1");
    assert_view(R.path, "/items");
    assert_view(R.query, "a=1");
}
END_TEST

START_TEST(test_query_in_uri_wins_over_query_string)
{
    GET("QUERY_STRING=stale=1", "REQUEST_URI=/items?fresh=2");
    assert_view(R.query, "fresh=2");
}
END_TEST

START_TEST(test_question_mark_alone_gives_empty_query)
{
    GET("REQUEST_URI=/items?");
    assert_view(R.path, "/items");
    ck_assert_uint_eq(R.query.len, 0);
}
END_TEST

START_TEST(test_path_stays_percent_encoded)
{
    GET("REQUEST_URI=/items/a%20b?q=%41");
    assert_view(R.path, "/items/a%20b");
    assert_view(R.query, "q=%41");
}
END_TEST

START_TEST(test_parse_fills_addr_type_and_https)
{
    GET("REQUEST_URI=/", "REMOTE_ADDR=::1", "CONTENT_TYPE=application/json",
        "HTTPS=on");
    assert_view(R.client_addr, "::1");
    assert_view(R.content_type, "application/json");
    ck_assert(R.https);
    GET("REQUEST_URI=/", "HTTPS=off");
    ck_assert(!R.https);
}
END_TEST

START_TEST(test_missing_method_is_bad_request)
{
    ck_assert_int_eq(parse_env("REQUEST_URI=/", NULL), SY_EBADREQ);
}
END_TEST

START_TEST(test_malformed_method_is_bad_request)
{
    ck_assert_int_eq(parse_env("REQUEST_METHOD=get", "REQUEST_URI=/", NULL),
                     SY_EBADREQ);
    ck_assert_int_eq(parse_env("REQUEST_METHOD=", "REQUEST_URI=/", NULL),
                     SY_EBADREQ);
    ck_assert_int_eq(
        parse_env("REQUEST_METHOD=ABCDEFGHIJKLMNOPQ", "REQUEST_URI=/", NULL),
        SY_EBADREQ);
    ck_assert_int_eq(parse_env("REQUEST_METHOD=G T", "REQUEST_URI=/", NULL),
                     SY_EBADREQ);
}
END_TEST

START_TEST(test_missing_uri_is_bad_request)
{
    ck_assert_int_eq(parse_env("REQUEST_METHOD=GET", NULL), SY_EBADREQ);
}
END_TEST

START_TEST(test_empty_uri_is_bad_request)
{
    ck_assert_int_eq(parse_env("REQUEST_METHOD=GET", "REQUEST_URI=", NULL),
                     SY_EBADREQ);
}
END_TEST

START_TEST(test_uri_not_starting_with_slash_is_bad_request)
{
    ck_assert_int_eq(
        parse_env("REQUEST_METHOD=GET", "REQUEST_URI=http://x/y", NULL),
        SY_EBADREQ);
    ck_assert_int_eq(parse_env("REQUEST_METHOD=OPTIONS", "REQUEST_URI=*", NULL),
                     SY_EBADREQ);
}
END_TEST

START_TEST(test_short_and_unrelated_entries_are_ignored)
{
    /* entries shorter than the names they are compared with */
    GET("R=1", "C=", "Q", "H", "HTTP", "REQUEST_URI=/ok", "CONTENT=1",
        "REMOTE=x", "QUERY=y");
    assert_view(R.path, "/ok");
    ck_assert_int_eq(R.nheaders, 0);
}
END_TEST

/* ------------------------------------------------------------ length */

START_TEST(test_content_length_absent_is_minus_one)
{
    GET("REQUEST_URI=/");
    ck_assert_int_eq(R.content_length, -1);
}
END_TEST

START_TEST(test_content_length_empty_is_minus_one)
{
    GET("REQUEST_URI=/", "CONTENT_LENGTH=");
    ck_assert_int_eq(R.content_length, -1);
}
END_TEST

START_TEST(test_content_length_is_parsed)
{
    GET("REQUEST_URI=/", "CONTENT_LENGTH=1234");
    ck_assert_int_eq(R.content_length, 1234);
    GET("REQUEST_URI=/", "CONTENT_LENGTH=0");
    ck_assert_int_eq(R.content_length, 0);
}
END_TEST

START_TEST(test_invalid_content_length_is_bad_request)
{
    static const char *bad[] = {"CONTENT_LENGTH=abc", "CONTENT_LENGTH=-1",
                                "CONTENT_LENGTH=12 ", "CONTENT_LENGTH=1e3",
                                "CONTENT_LENGTH=99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(parse_env("REQUEST_METHOD=POST", "REQUEST_URI=/", bad[i],
                                NULL) == SY_EBADREQ,
                      "%s accepted", bad[i]);
}
END_TEST

START_TEST(test_reparse_resets_previous_request)
{
    GET("REQUEST_URI=/a?x=1", "CONTENT_LENGTH=5", "HTTP_ACCEPT=*/*",
        "HTTPS=on");
    GET("REQUEST_URI=/b");
    ck_assert_int_eq(R.content_length, -1);
    ck_assert_int_eq(R.nheaders, 0);
    ck_assert(!R.https);
    ck_assert_uint_eq(R.query.len, 0);
    ck_assert_int_eq(R.route_index, -1);
    ck_assert(!R.body_read);
}
END_TEST

/* The catalog version of an earlier request (or stack garbage) never
 * reaches the next one: only admission may set it. */
START_TEST(test_reparse_forgets_catalog_version)
{
    memset(&R.catver, 0xa5, sizeof(R.catver));
    R.catver.set = true;
    snprintf(R.catver.tenant, sizeof(R.catver.tenant), "%s",
             "0b5f2a4e-8d7c-4e1a-9f3b-2c6d7e8f9a0b");
    R.catver.version = 42;
    GET("REQUEST_URI=/api/v1/products");
    ck_assert(!R.catver.set);
    ck_assert_str_eq(R.catver.tenant, "");
    ck_assert_int_eq(R.catver.version, 0);
}
END_TEST

/* ------------------------------------------------------------ headers */

START_TEST(test_header_lookup_by_http_name_ignores_case)
{
    GET("REQUEST_URI=/", "HTTP_X_REQUEST_ID=abc", "HTTP_ACCEPT=*/*");
    assert_view(sy_req_header(&R, "X-Request-Id"), "abc");
    assert_view(sy_req_header(&R, "x-request-id"), "abc");
    assert_view(sy_req_header(&R, "X-REQUEST-ID"), "abc");
    assert_view(sy_req_header(&R, "Accept"), "*/*");
}
END_TEST

START_TEST(test_absent_header_is_null_view)
{
    GET("REQUEST_URI=/", "HTTP_ACCEPT_LANGUAGE=en");
    sy_str v = sy_req_header(&R, "Accept");
    ck_assert_ptr_null(v.p);
    ck_assert_uint_eq(v.len, 0);
    ck_assert_ptr_null(sy_req_header(&R, "Accept-Language-X").p);
}
END_TEST

START_TEST(test_header_with_empty_value_is_present)
{
    GET("REQUEST_URI=/", "HTTP_X_EMPTY=");
    sy_str v = sy_req_header(&R, "X-Empty");
    ck_assert_ptr_nonnull(v.p);
    ck_assert_uint_eq(v.len, 0);
}
END_TEST

START_TEST(test_non_http_variables_are_not_headers)
{
    GET("REQUEST_URI=/", "HTTPS=on", "CONTENT_TYPE=text/plain");
    ck_assert_int_eq(R.nheaders, 0);
    ck_assert_ptr_null(sy_req_header(&R, "Content-Type").p);
}
END_TEST

START_TEST(test_headers_beyond_the_limit_are_dropped)
{
    free_env();
    add_env("REQUEST_METHOD=GET");
    add_env("REQUEST_URI=/");
    for (int i = 0; i < SY_REQ_MAX_HEADERS + 6; i++) {
        char h[32];
        snprintf(h, sizeof(h), "HTTP_X_H%d=%d", i, i);
        add_env(h);
    }
    ck_assert_int_eq(sy_req_parse_env(&R, &A, env), 0);
    ck_assert_int_eq(R.nheaders, SY_REQ_MAX_HEADERS);
    assert_view(sy_req_header(&R, "X-H0"), "0");
    ck_assert_ptr_null(sy_req_header(&R, "X-H64").p);
}
END_TEST

/* ------------------------------------------------------------ query */

START_TEST(test_query_returns_plain_value)
{
    GET("REQUEST_URI=/?limit=20&cursor=abc");
    assert_query("limit", "20");
    assert_query("cursor", "abc");
}
END_TEST

START_TEST(test_query_plus_decodes_to_space)
{
    GET("REQUEST_URI=/?q=red+silk+dress");
    assert_query("q", "red silk dress");
}
END_TEST

START_TEST(test_query_percent_escapes_decode)
{
    GET("REQUEST_URI=/?q=a%2Bb%20c%26d%3De");
    assert_query("q", "a+b c&d=e");
}
END_TEST

START_TEST(test_query_encoded_name_matches_decoded)
{
    GET("REQUEST_URI=/?sort%5Fby=price&a+b=1");
    assert_query("sort_by", "price");
    assert_query("a b", "1");
}
END_TEST

START_TEST(test_query_missing_parameter_is_not_found)
{
    sy_str v = SY_STR("untouched");
    GET("REQUEST_URI=/?limitx=1&xlimit=2");
    ck_assert_int_eq(sy_req_query(&R, "limit", &v), SY_ENOTFOUND);
    assert_view(v, "untouched");
    GET("REQUEST_URI=/");
    ck_assert_int_eq(sy_req_query(&R, "limit", &v), SY_ENOTFOUND);
}
END_TEST

START_TEST(test_query_bad_escape_is_bad_request)
{
    sy_str v;
    GET("REQUEST_URI=/?q=%zz");
    ck_assert_int_eq(sy_req_query(&R, "q", &v), SY_EBADREQ);
    GET("REQUEST_URI=/?q=abc%2");
    ck_assert_int_eq(sy_req_query(&R, "q", &v), SY_EBADREQ);
    GET("REQUEST_URI=/?q=%00");
    ck_assert_int_eq(sy_req_query(&R, "q", &v), SY_EBADREQ);
}
END_TEST

START_TEST(test_query_first_occurrence_wins)
{
    GET("REQUEST_URI=/?tag=a&tag=b");
    assert_query("tag", "a");
}
END_TEST

START_TEST(test_query_name_without_value_is_empty)
{
    GET("REQUEST_URI=/?flag&x=");
    assert_query("flag", "");
    assert_query("x", "");
}
END_TEST

START_TEST(test_query_value_may_contain_equals)
{
    GET("REQUEST_URI=/?token=a=b==");
    assert_query("token", "a=b==");
}
END_TEST

START_TEST(test_query_skips_empty_pairs)
{
    GET("REQUEST_URI=/?&&a=1&&b=2&");
    assert_query("a", "1");
    assert_query("b", "2");
}
END_TEST

START_TEST(test_query_from_query_string_decodes_too)
{
    GET("REQUEST_URI=/search", "QUERY_STRING=q=caf%C3%A9+au+lait");
    assert_query("q", "caf\xc3\xa9 au lait");
}
END_TEST

/* ------------------------------------------------------------ cookies */

static void
assert_cookie(const char *name, const char *want)
{
    assert_view(sy_req_cookie(&R, name), want);
}

START_TEST(test_cookie_single_value)
{
    GET("REQUEST_URI=/", "HTTP_COOKIE=sid=abc123");
    assert_cookie("sid", "abc123");
}
END_TEST

START_TEST(test_cookie_among_several)
{
    GET("REQUEST_URI=/", "HTTP_COOKIE=a=1; sid=abc; b=2");
    assert_cookie("a", "1");
    assert_cookie("sid", "abc");
    assert_cookie("b", "2");
}
END_TEST

START_TEST(test_cookie_quoted_value_loses_quotes)
{
    GET("REQUEST_URI=/", "HTTP_COOKIE=a=1; sid=\"abc def\"");
    assert_cookie("sid", "abc def");
}
END_TEST

START_TEST(test_cookie_tolerates_extra_spaces)
{
    GET("REQUEST_URI=/", "HTTP_COOKIE=  a=1 ;   sid=abc  ;b=2");
    assert_cookie("a", "1");
    assert_cookie("sid", "abc");
    assert_cookie("b", "2");
}
END_TEST

START_TEST(test_cookie_tolerates_spaces_around_equals)
{
    GET("REQUEST_URI=/", "HTTP_COOKIE=sid = abc; b=2");
    assert_cookie("sid", "abc");
}
END_TEST

START_TEST(test_cookie_spaces_around_equals_in_last_pair)
{
    /* the value must end where the header ends (ASan: no read past it) */
    GET("REQUEST_URI=/", "HTTP_COOKIE=b=2; sid  =abc");
    assert_cookie("sid", "abc");
}
END_TEST

START_TEST(test_cookie_value_may_contain_equals)
{
    GET("REQUEST_URI=/", "HTTP_COOKIE=t=a=b=");
    assert_cookie("t", "a=b=");
}
END_TEST

START_TEST(test_cookie_name_must_match_exactly)
{
    GET("REQUEST_URI=/", "HTTP_COOKIE=session=1; SID=2; xsid=3");
    ck_assert_ptr_null(sy_req_cookie(&R, "sid").p);
    ck_assert_ptr_null(sy_req_cookie(&R, "sess").p);
}
END_TEST

START_TEST(test_cookie_without_header_is_null_view)
{
    GET("REQUEST_URI=/");
    ck_assert_ptr_null(sy_req_cookie(&R, "sid").p);
}
END_TEST

START_TEST(test_cookie_pair_without_equals_is_skipped)
{
    GET("REQUEST_URI=/", "HTTP_COOKIE=junk; sid=ok");
    assert_cookie("sid", "ok");
    ck_assert_ptr_null(sy_req_cookie(&R, "junk").p);
}
END_TEST

/* ------------------------------------------------------------ ids */

static bool
id_is_sane(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > SY_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789._-",
                    id[i]))
            return false;
    return true;
}

START_TEST(test_sane_request_id_is_echoed)
{
    GET("REQUEST_URI=/", "HTTP_X_REQUEST_ID=abc.DEF_12-3");
    sy_req_assign_id(&R);
    ck_assert_str_eq(R.request_id, "abc.DEF_12-3");
}
END_TEST

START_TEST(test_request_id_of_64_characters_is_echoed)
{
    char h[100], id[65];
    memset(id, 'a', 64);
    id[64] = 0;
    snprintf(h, sizeof(h), "HTTP_X_REQUEST_ID=%s", id);
    GET("REQUEST_URI=/", h);
    sy_req_assign_id(&R);
    ck_assert_str_eq(R.request_id, id);
}
END_TEST

START_TEST(test_insane_request_ids_are_replaced)
{
    static const char *bad[] = {
        "HTTP_X_REQUEST_ID=",          "HTTP_X_REQUEST_ID=has space",
        "HTTP_X_REQUEST_ID=a/b",       "HTTP_X_REQUEST_ID=quote\"",
        "HTTP_X_REQUEST_ID=new\nline", "HTTP_X_REQUEST_ID=caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        GET("REQUEST_URI=/", bad[i]);
        sy_req_assign_id(&R);
        const char *sent = strchr(bad[i], '=') + 1;
        ck_assert_str_ne(R.request_id, sent);
        ck_assert_msg(id_is_sane(R.request_id), "generated '%s'", R.request_id);
    }
}
END_TEST

START_TEST(test_request_id_of_65_characters_is_replaced)
{
    char h[100], id[66];
    memset(id, 'a', 65);
    id[65] = 0;
    snprintf(h, sizeof(h), "HTTP_X_REQUEST_ID=%s", id);
    GET("REQUEST_URI=/", h);
    sy_req_assign_id(&R);
    ck_assert_str_ne(R.request_id, id);
    ck_assert(id_is_sane(R.request_id));
}
END_TEST

START_TEST(test_missing_request_id_is_generated)
{
    GET("REQUEST_URI=/");
    sy_req_assign_id(&R);
    ck_assert_msg(id_is_sane(R.request_id), "generated '%s'", R.request_id);
    ck_assert_uint_ge(strlen(R.request_id), 16);
}
END_TEST

static int
cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

START_TEST(test_generated_request_ids_are_unique)
{
    enum { N = 2000 };
    static char ids[N][SY_REQUEST_ID_MAX + 1];
    GET("REQUEST_URI=/");
    for (int i = 0; i < N; i++) {
        sy_req_assign_id(&R);
        ck_assert(id_is_sane(R.request_id));
        memcpy(ids[i], R.request_id, sizeof(ids[i]));
    }
    qsort(ids, N, sizeof(ids[0]), cmp_ids);
    for (int i = 1; i < N; i++)
        ck_assert_str_ne(ids[i - 1], ids[i]);
}
END_TEST

/* ------------------------------------------------------------ body */

static int reads;

static int
fake_reader(void *ctx, sy_arena *a, size_t max, sy_str *out)
{
    reads++;
    const char *body = ctx;
    if (strlen(body) > max)
        return SY_ETOOBIG;
    *out = sy_str_c(body);
    return 0;
}

static int
broken_reader(void *ctx, sy_arena *a, size_t max, sy_str *out)
{
    return SY_EIO;
}

START_TEST(test_body_is_read_once)
{
    sy_str b1, b2;
    ck_assert_int_eq(parse_env("REQUEST_METHOD=POST", "REQUEST_URI=/",
                               "CONTENT_LENGTH=7", NULL),
                     0);
    reads = 0;
    R.read_body = fake_reader;
    R.read_ctx = (void *)(uintptr_t) "{\"a\":1}";
    ck_assert_int_eq(sy_req_body(&R, 100, &b1), 0);
    ck_assert_int_eq(sy_req_body(&R, 100, &b2), 0);
    ck_assert_int_eq(reads, 1);
    assert_view(b2, "{\"a\":1}");
}
END_TEST

START_TEST(test_body_over_declared_limit_is_too_big_without_reading)
{
    sy_str b;
    ck_assert_int_eq(parse_env("REQUEST_METHOD=POST", "REQUEST_URI=/",
                               "CONTENT_LENGTH=101", NULL),
                     0);
    reads = 0;
    R.read_body = fake_reader;
    R.read_ctx = (void *)(uintptr_t) "x";
    ck_assert_int_eq(sy_req_body(&R, 100, &b), SY_ETOOBIG);
    ck_assert_int_eq(reads, 0);
}
END_TEST

START_TEST(test_body_reader_error_is_returned)
{
    sy_str b;
    GET("REQUEST_URI=/");
    R.read_body = broken_reader;
    ck_assert_int_eq(sy_req_body(&R, 100, &b), SY_EIO);
}
END_TEST

START_TEST(test_body_without_reader_is_empty)
{
    sy_str b = SY_STR_NULL;
    GET("REQUEST_URI=/");
    ck_assert_int_eq(sy_req_body(&R, 100, &b), 0);
    ck_assert_ptr_nonnull(b.p);
    ck_assert_uint_eq(b.len, 0);
}
END_TEST

/* ------------------------------------------------------------ json */

static json_object *J;

static int
json_parse(const char *text)
{
    J = NULL;
    return sy_json_parse(&A, sy_str_c(text), &J);
}

/* Nest depth objects: {"a":{"a":...{}...}}. */
static char *
nested_objects(int depth)
{
    char *s = sy_arena_alloc(&A, (size_t)depth * 6 + 1);
    size_t n = 0;
    for (int i = 0; i < depth - 1; i++) {
        memcpy(s + n, "{\"a\":", 5);
        n += 5;
    }
    s[n++] = '{';
    for (int i = 0; i < depth; i++)
        s[n++] = '}';
    s[n] = 0;
    return s;
}

START_TEST(test_json_content_types_are_recognised)
{
    static const char *yes[] = {"application/json",
                                "application/json; charset=utf-8",
                                "application/json;charset=UTF-8",
                                "Application/JSON",
                                "application/merge-patch+json",
                                "application/problem+json; x=y"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ck_assert_msg(sy_json_content_type(sy_str_c(yes[i])), "%s", yes[i]);
}
END_TEST

START_TEST(test_json_suffix_types_ignore_case)
{
    ck_assert(sy_json_content_type(SY_STR("Application/merge-patch+JSON")));
}
END_TEST

START_TEST(test_non_json_content_types_are_refused)
{
    static const char *no[] = {"",
                               "text/json",
                               "text/plain",
                               "application/jsonx",
                               "application/+json",
                               "application/x-www-form-urlencoded",
                               "multipart/form-data; boundary=x",
                               "json",
                               "application/json-seq"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(!sy_json_content_type(sy_str_c(no[i])), "%s", no[i]);
    ck_assert(!sy_json_content_type(SY_STR_NULL));
}
END_TEST

START_TEST(test_json_object_parses)
{
    ck_assert_int_eq(json_parse(" {\"a\": [1, 2], \"b\": \"x\"}\r\n"), 0);
    ck_assert_ptr_nonnull(J);
    ck_assert(json_object_is_type(J, json_type_object));
}
END_TEST

START_TEST(test_malformed_json_is_ejson)
{
    static const char *bad[] = {
        "",           "   ",  "{",          "{\"a\":}", "{\"a\" 1}",
        "{\"a\":1,}", "[1,]", "{\"a\":01}", "nul",      "{\"a\":\"\xff\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(json_parse(bad[i]) == SY_EJSON, "'%s' accepted", bad[i]);
        ck_assert_ptr_null(J);
    }
}
END_TEST

START_TEST(test_trailing_garbage_is_ejson)
{
    ck_assert_int_eq(json_parse("{} x"), SY_EJSON);
    ck_assert_int_eq(json_parse("{}{}"), SY_EJSON);
    ck_assert_int_eq(json_parse("{\"a\":1}\n,"), SY_EJSON);
    ck_assert_ptr_null(J);
}
END_TEST

START_TEST(test_json_body_is_bounded_by_its_view)
{
    /* the bytes past the view's length are not part of the body */
    sy_str body = {"{\"a\":1} trailing", 7};
    J = NULL;
    ck_assert_int_eq(sy_json_parse(&A, body, &J), 0);
    ck_assert_ptr_nonnull(J);
}
END_TEST

START_TEST(test_json_array_or_string_is_validation_error)
{
    ck_assert_int_eq(json_parse("[1, 2]"), SY_EVALIDATION);
    ck_assert_int_eq(json_parse("\"text\""), SY_EVALIDATION);
    ck_assert_ptr_null(J);
}
END_TEST

START_TEST(test_json_bare_scalars_are_validation_errors)
{
    /* well-formed JSON that is not an object: 422, not 400 */
    ck_assert_int_eq(json_parse("42"), SY_EVALIDATION);
    ck_assert_int_eq(json_parse("true"), SY_EVALIDATION);
    ck_assert_int_eq(json_parse("null"), SY_EVALIDATION);
}
END_TEST

START_TEST(test_json_nesting_up_to_max_depth_parses)
{
    ck_assert_int_eq(json_parse(nested_objects(SY_JSON_MAX_DEPTH)), 0);
}
END_TEST

START_TEST(test_json_nesting_beyond_max_depth_is_ejson)
{
    ck_assert_int_eq(json_parse(nested_objects(SY_JSON_MAX_DEPTH + 1)),
                     SY_EJSON);
    ck_assert_int_eq(json_parse(nested_objects(10000)), SY_EJSON);
}
END_TEST

START_TEST(test_json_parse_out_of_budget_is_enomem)
{
    sy_arena small;
    json_object *o = NULL;
    sy_arena_init(&small, 1024, 16);
    ck_assert_ptr_nonnull(sy_arena_alloc(&small, 16));
    ck_assert_int_eq(sy_json_parse(&small, SY_STR("{}"), &o), SY_ENOMEM);
    ck_assert_ptr_null(o);
    sy_arena_cleanup(&small); /* valgrind: the object was put */
}
END_TEST

static Suite *
request_suite(void)
{
    Suite *s = suite_create("request");
    const TTest *const parse_tests[] = {
        test_parse_splits_uri_into_path_and_query,
        test_uri_without_query_uses_query_string,
        test_query_in_uri_wins_over_query_string,
        test_question_mark_alone_gives_empty_query,
        test_path_stays_percent_encoded, test_parse_fills_addr_type_and_https,
        test_missing_method_is_bad_request,
        test_malformed_method_is_bad_request, test_missing_uri_is_bad_request,
        test_empty_uri_is_bad_request,
        test_uri_not_starting_with_slash_is_bad_request,
        test_short_and_unrelated_entries_are_ignored,
        test_content_length_absent_is_minus_one,
        test_content_length_empty_is_minus_one, test_content_length_is_parsed,
        test_invalid_content_length_is_bad_request,
        test_reparse_resets_previous_request,
        test_reparse_forgets_catalog_version, NULL};
    sy_check_tcase(s, "parse", setup, teardown, parse_tests);
    const TTest *const headers_tests[] = {
        test_header_lookup_by_http_name_ignores_case,
        test_absent_header_is_null_view,
        test_header_with_empty_value_is_present,
        test_non_http_variables_are_not_headers,
        test_headers_beyond_the_limit_are_dropped, NULL};
    sy_check_tcase(s, "headers", setup, teardown, headers_tests);
    const TTest *const query_tests[] = {
        test_query_returns_plain_value, test_query_plus_decodes_to_space,
        test_query_percent_escapes_decode,
        test_query_encoded_name_matches_decoded,
        test_query_missing_parameter_is_not_found,
        test_query_bad_escape_is_bad_request,
        test_query_first_occurrence_wins,
        test_query_name_without_value_is_empty,
        test_query_value_may_contain_equals, test_query_skips_empty_pairs,
        test_query_from_query_string_decodes_too, NULL};
    sy_check_tcase(s, "query", setup, teardown, query_tests);
    const TTest *const cookies_tests[] = {
        test_cookie_single_value, test_cookie_among_several,
        test_cookie_quoted_value_loses_quotes,
        test_cookie_tolerates_extra_spaces,
        test_cookie_tolerates_spaces_around_equals,
        test_cookie_spaces_around_equals_in_last_pair,
        test_cookie_value_may_contain_equals,
        test_cookie_name_must_match_exactly,
        test_cookie_without_header_is_null_view,
        test_cookie_pair_without_equals_is_skipped, NULL};
    sy_check_tcase(s, "cookies", setup, teardown, cookies_tests);
    const TTest *const request_id_tests[] = {
        test_sane_request_id_is_echoed,
        test_request_id_of_64_characters_is_echoed,
        test_insane_request_ids_are_replaced,
        test_request_id_of_65_characters_is_replaced,
        test_missing_request_id_is_generated,
        test_generated_request_ids_are_unique, NULL};
    sy_check_tcase(s, "request_id", setup, teardown, request_id_tests);
    const TTest *const body_tests[] = {
        test_body_is_read_once,
        test_body_over_declared_limit_is_too_big_without_reading,
        test_body_reader_error_is_returned, test_body_without_reader_is_empty,
        NULL};
    sy_check_tcase(s, "body", setup, teardown, body_tests);
    const TTest *const json_tests[] = {
        test_json_content_types_are_recognised,
        test_json_suffix_types_ignore_case,
        test_non_json_content_types_are_refused, test_json_object_parses,
        test_malformed_json_is_ejson, test_trailing_garbage_is_ejson,
        test_json_body_is_bounded_by_its_view,
        test_json_array_or_string_is_validation_error,
        test_json_bare_scalars_are_validation_errors,
        test_json_nesting_up_to_max_depth_parses,
        test_json_nesting_beyond_max_depth_is_ejson,
        test_json_parse_out_of_budget_is_enomem, NULL};
    sy_check_tcase(s, "json", setup, teardown, json_tests);
    return s;
}

int
main(void)
{
    return sy_check_run(request_suite());
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_cors.c - unit tests of CORS: origin list matching, preflight
 * detection, preflight answers for configured origins and unknown ones
 * (no database here, so no tenant allows anything), and the headers of
 * actual responses for API keys, tokens and anonymous callers.
 */
#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/arena.h"
#include "synthia/config.h"
#include "synthia/cors.h"
#include "synthia/request.h"
#include "synthia/response.h"

#define MAX_ENV 16

static sy_arena A;
static sy_req R;
static sy_res S;
static sy_config C;
static char origins[] = "https://app.example.com, http://localhost:3000";
static char *env[MAX_ENV + 1];

static void
setup(void)
{
    sy_arena_init(&A, 4096, 1 << 20);
    memset(&C, 0, sizeof(C));
    C.cors_origins = origins;
    C.cors_max_age_ms = 600000;
    sy_conf = &C; /* no database.url: tenant look-ups fail, as when down */
}

static void
free_env(void)
{
    for (int i = 0; env[i]; i++) {
        free(env[i]);
        env[i] = NULL;
    }
}

static void
teardown(void)
{
    free_env();
    sy_arena_cleanup(&A);
    sy_conf = NULL;
}

/* A request from "K=V" entries (NULL-terminated). */
static void
request(const char *first, ...)
{
    va_list ap;
    int n = 0;
    free_env();
    va_start(ap, first);
    for (const char *e = first; e && n < MAX_ENV; e = va_arg(ap, const char *))
        env[n++] = strdup(e);
    va_end(ap);
    env[n] = NULL;
    ck_assert_int_eq(sy_req_parse_env(&R, &A, env), 0);
    sy_res_init(&S, &A, &R, 1 << 16);
}

static bool
has(const char *name)
{
    return sy_res_get_header(&S, name).p != NULL;
}

static bool
header_is(const char *name, const char *want)
{
    return sy_str_eqc(sy_res_get_header(&S, name), want);
}

static bool
listed(const char *list, const char *origin)
{
    return sy_cors_origin_listed(list, sy_str_c(origin));
}

START_TEST(test_listed_matches_whole_origins_only)
{
    const char *l = "https://a.example https://b.example:8443";
    ck_assert(listed(l, "https://a.example"));
    ck_assert(listed(l, "https://b.example:8443"));
    ck_assert(!listed(l, "https://b.example"));
    ck_assert(!listed(l, "https://a.example.evil"));
    ck_assert(!listed(l, "https://a.exampl"));
    ck_assert(!listed(l, "http://a.example"));
    ck_assert(!listed(l, ""));
}
END_TEST

START_TEST(test_listed_ignores_case_and_accepts_commas)
{
    const char *l = "HTTPS://Shop.Example,  http://localhost:3000";
    ck_assert(listed(l, "https://shop.example"));
    ck_assert(listed(l, "http://LOCALHOST:3000"));
}
END_TEST

START_TEST(test_listed_never_matches_null_or_nothing)
{
    ck_assert(!listed("null https://a.example", "null"));
    ck_assert(!listed(NULL, "https://a.example"));
    ck_assert(!listed("", "https://a.example"));
}
END_TEST

START_TEST(test_preflight_needs_options_origin_and_method)
{
    request("REQUEST_METHOD=OPTIONS", "REQUEST_URI=/api/v1/plans",
            "HTTP_ORIGIN=https://x.example",
            "HTTP_ACCESS_CONTROL_REQUEST_METHOD=GET", NULL);
    ck_assert(sy_cors_is_preflight(&R));
    request("REQUEST_METHOD=OPTIONS", "REQUEST_URI=/api/v1/plans",
            "HTTP_ORIGIN=https://x.example", NULL);
    ck_assert(!sy_cors_is_preflight(&R));
    request("REQUEST_METHOD=GET", "REQUEST_URI=/api/v1/plans",
            "HTTP_ORIGIN=https://x.example",
            "HTTP_ACCESS_CONTROL_REQUEST_METHOD=GET", NULL);
    ck_assert(!sy_cors_is_preflight(&R));
}
END_TEST

START_TEST(test_preflight_for_configured_origin_allows_credentials)
{
    request("REQUEST_METHOD=OPTIONS", "REQUEST_URI=/api/v1/auth/login",
            "HTTP_ORIGIN=https://app.example.com",
            "HTTP_ACCESS_CONTROL_REQUEST_METHOD=POST", NULL);
    ck_assert_int_eq(sy_cors_preflight(&R, &S, "POST"), 0);
    ck_assert_int_eq(S.status, 204);
    ck_assert(
        header_is("Access-Control-Allow-Origin", "https://app.example.com"));
    ck_assert(header_is("Access-Control-Allow-Credentials", "true"));
    ck_assert(header_is("Access-Control-Allow-Methods", "POST"));
    ck_assert(header_is("Access-Control-Max-Age", "600"));
    ck_assert(header_is("Vary", "Origin"));
    sy_str h = sy_res_get_header(&S, "Access-Control-Allow-Headers");
    ck_assert(h.p && strstr(h.p, "X-API-Key") && strstr(h.p, "X-CSRF-Token"));
}
END_TEST

START_TEST(test_preflight_for_unknown_origin_has_no_cors_headers)
{
    request("REQUEST_METHOD=OPTIONS", "REQUEST_URI=/api/v1/auth/login",
            "HTTP_ORIGIN=https://evil.example",
            "HTTP_ACCESS_CONTROL_REQUEST_METHOD=POST", NULL);
    ck_assert_int_eq(sy_cors_preflight(&R, &S, "POST"), 0);
    ck_assert_int_eq(S.status, 204);
    for (int i = 0; i < S.nheaders; i++)
        ck_assert_msg(!sy_str_starts(S.headers[i].name, "Access-Control-"),
                      "unexpected %.*s", (int)S.headers[i].name.len,
                      S.headers[i].name.p);
}
END_TEST

START_TEST(test_key_response_echoes_tenant_origin_without_credentials)
{
    request("REQUEST_METHOD=GET", "REQUEST_URI=/api/v1/tenant",
            "HTTP_ORIGIN=https://shop.example", NULL);
    R.who.kind = SY_WHO_KEY;
    R.who.origins = "https://shop.example";
    sy_cors_headers(&R, &S);
    ck_assert(header_is("Access-Control-Allow-Origin", "https://shop.example"));
    ck_assert(!has("Access-Control-Allow-Credentials"));
    ck_assert(has("Access-Control-Expose-Headers"));
    ck_assert(header_is("Vary", "Origin"));
}
END_TEST

START_TEST(test_key_response_ignores_configured_origins)
{
    request("REQUEST_METHOD=GET", "REQUEST_URI=/api/v1/tenant",
            "HTTP_ORIGIN=https://app.example.com", NULL);
    R.who.kind = SY_WHO_KEY;
    R.who.origins = "https://shop.example";
    sy_cors_headers(&R, &S);
    ck_assert(!has("Access-Control-Allow-Origin"));
}
END_TEST

START_TEST(test_token_response_allows_configured_origin_with_credentials)
{
    request("REQUEST_METHOD=GET", "REQUEST_URI=/api/v1/auth/me",
            "HTTP_ORIGIN=http://localhost:3000", NULL);
    R.who.kind = SY_WHO_USER;
    sy_cors_headers(&R, &S);
    ck_assert(
        header_is("Access-Control-Allow-Origin", "http://localhost:3000"));
    ck_assert(header_is("Access-Control-Allow-Credentials", "true"));
    sy_str e = sy_res_get_header(&S, "Access-Control-Expose-Headers");
    ck_assert(e.p && strstr(e.p, "Retry-After") && strstr(e.p, "RateLimit"));
}
END_TEST

START_TEST(test_response_to_unlisted_origin_has_only_vary)
{
    request("REQUEST_METHOD=GET", "REQUEST_URI=/api/v1/plans",
            "HTTP_ORIGIN=https://shop.example", NULL);
    sy_cors_headers(&R, &S);
    ck_assert(!has("Access-Control-Allow-Origin"));
    ck_assert(!has("Access-Control-Allow-Credentials"));
    ck_assert(header_is("Vary", "Origin"));
}
END_TEST

static Suite *
cors_suite(void)
{
    Suite *s = suite_create("cors");
    const TTest *const origins_tests[] = {
        test_listed_matches_whole_origins_only,
        test_listed_ignores_case_and_accepts_commas,
        test_listed_never_matches_null_or_nothing, NULL};
    sy_check_tcase(s, "origins", NULL, NULL, origins_tests);
    const TTest *const responses_tests[] = {
        test_preflight_needs_options_origin_and_method,
        test_preflight_for_configured_origin_allows_credentials,
        test_preflight_for_unknown_origin_has_no_cors_headers,
        test_key_response_echoes_tenant_origin_without_credentials,
        test_key_response_ignores_configured_origins,
        test_token_response_allows_configured_origin_with_credentials,
        test_response_to_unlisted_origin_has_only_vary, NULL};
    sy_check_tcase(s, "responses", setup, teardown, responses_tests);
    return s;
}

int
main(void)
{
    return sy_check_run(cors_suite());
}

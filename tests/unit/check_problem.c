/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_problem.c - unit tests of RFC 9457 problem bodies, the one
 * mapping from SY_E* codes to HTTP statuses, validation error lists and
 * the JSON getters that fill them, and the response builder and
 * serialiser (status line, headers, bodies).
 */
#include <check.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sycheck.h"
#include "synthia/arena.h"
#include "synthia/error.h"
#include "synthia/json.h"
#include "synthia/problem.h"
#include "synthia/request.h"
#include "synthia/response.h"

static sy_arena A;
static sy_req R;
static sy_res RES;
static char *env[8];

static void
setup(void)
{
    /* a request whose id the problem body and headers must carry */
    static const char *const entries[] = {
        "REQUEST_METHOD=GET", "REQUEST_URI=/items/1",
        "HTTP_X_REQUEST_ID=req-42", "HTTP_IF_NONE_MATCH=W/\"v1\", \"v2\"",
        NULL};
    sy_arena_init(&A, 4096, 1 << 20);
    int n = 0;
    for (; entries[n]; n++)
        env[n] = sy_str_dup(&A, sy_str_c(entries[n]));
    env[n] = NULL;
    ck_assert_int_eq(sy_req_parse_env(&R, &A, env), 0);
    sy_req_assign_id(&R);
    sy_res_init(&RES, &A, &R, 65536);
}

static void
teardown(void)
{
    sy_arena_cleanup(&A);
}

/* The response body parsed as JSON (owned by the arena). */
static json_object *
body_json(void)
{
    json_object *o = json_tokener_parse(sy_buf_cstr(&RES.body));
    ck_assert_msg(o != NULL, "body is not JSON: %s", sy_buf_cstr(&RES.body));
    sy_arena_defer(&A, sy_json_put, o);
    return o;
}

static const char *
member_str(json_object *o, const char *key)
{
    json_object *v;
    ck_assert_msg(json_object_object_get_ex(o, key, &v), "no '%s'", key);
    ck_assert_msg(json_object_is_type(v, json_type_string), "'%s' type", key);
    return json_object_get_string(v);
}

static int
member_int(json_object *o, const char *key)
{
    json_object *v;
    ck_assert_msg(json_object_object_get_ex(o, key, &v), "no '%s'", key);
    ck_assert_msg(json_object_is_type(v, json_type_int), "'%s' type", key);
    return json_object_get_int(v);
}

/* The serialised response as a C string. */
static const char *
serialize(void)
{
    static sy_buf out;
    sy_buf_init(&out, &A, 1 << 16);
    ck_assert_int_eq(sy_res_serialize(&RES, &out), 0);
    return sy_buf_cstr(&out);
}

/* Value of header name in a serialised response, or NULL; the header
 * block ends at the first empty line. */
static const char *
header_in(const char *text, const char *name)
{
    static char value[256];
    const char *end = strstr(text, "\r\n\r\n");
    size_t n = strlen(name);
    ck_assert_ptr_nonnull(end);
    for (const char *p = text; p && p < end; p = strstr(p, "\r\n")) {
        if (p != text)
            p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':' && p[n + 1] == ' ') {
            const char *v = p + n + 2, *eol = strstr(v, "\r\n");
            snprintf(value, sizeof(value), "%.*s", (int)(eol - v), v);
            return value;
        }
    }
    return NULL;
}

static int
count_headers(const char *text, const char *name)
{
    int count = 0;
    char needle[64];
    snprintf(needle, sizeof(needle), "\r\n%s: ", name);
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        count++;
    return count;
}

static const char *
body_of(const char *text)
{
    const char *end = strstr(text, "\r\n\r\n");
    ck_assert_ptr_nonnull(end);
    return end + 4;
}

/* ------------------------------------------------------------ shape */

START_TEST(test_problem_body_has_every_member)
{
    int rc = sy_problem(&RES, 404, "not_found", "No such item");
    ck_assert_int_eq(rc, SY_ENOTFOUND);
    json_object *o = body_json();
    ck_assert_str_eq(member_str(o, "type"), "urn:synthia:problem:not_found");
    ck_assert_str_eq(member_str(o, "title"), "Not found");
    ck_assert_int_eq(member_int(o, "status"), 404);
    ck_assert_str_eq(member_str(o, "detail"), "No such item");
    ck_assert_str_eq(member_str(o, "code"), "not_found");
    ck_assert_str_eq(member_str(o, "request_id"), "req-42");
    ck_assert(!json_object_object_get_ex(o, "errors", NULL));
}
END_TEST

START_TEST(test_problem_sets_status_and_content_type)
{
    sy_problem(&RES, 409, "conflict", "Already exists");
    ck_assert_int_eq(RES.status, 409);
    ck_assert(sy_str_eqc(RES.content_type, "application/problem+json"));
    ck_assert_str_eq(RES.problem_code, "conflict");
}
END_TEST

START_TEST(test_problem_without_detail_uses_title)
{
    sy_problem(&RES, 403, "forbidden", NULL);
    json_object *o = body_json();
    ck_assert_str_eq(member_str(o, "detail"), member_str(o, "title"));
}
END_TEST

START_TEST(test_problem_without_request_has_empty_request_id)
{
    sy_res res;
    sy_res_init(&res, &A, NULL, 4096);
    sy_problem(&res, 400, "bad_request", "x");
    RES = res;
    ck_assert_str_eq(member_str(body_json(), "request_id"), "");
}
END_TEST

START_TEST(test_problem_detail_is_escaped_json)
{
    sy_problem(&RES, 400, "bad_request", "a \"quoted\"\n\\ caf\xc3\xa9");
    ck_assert_str_eq(member_str(body_json(), "detail"),
                     "a \"quoted\"\n\\ caf\xc3\xa9");
}
END_TEST

START_TEST(test_problem_replaces_an_earlier_body)
{
    sy_res_bytes(&RES, 200, "text/plain", "hello", 5);
    sy_problem(&RES, 503, "storage_unavailable", NULL);
    ck_assert_int_eq(RES.status, 503);
    ck_assert_str_eq(member_str(body_json(), "code"), "storage_unavailable");
}
END_TEST

START_TEST(test_problem_returns_code_matching_status)
{
    ck_assert_int_eq(sy_problem(&RES, 400, "bad_request", NULL), SY_EBADREQ);
    ck_assert_int_eq(sy_problem(&RES, 401, "unauthorized", NULL), SY_EUNAUTH);
    ck_assert_int_eq(sy_problem(&RES, 413, "payload_too_large", NULL),
                     SY_ETOOBIG);
    ck_assert_int_eq(sy_problem(&RES, 422, "validation_failed", NULL),
                     SY_EVALIDATION);
    ck_assert_int_eq(sy_problem(&RES, 429, "rate_limited", NULL), SY_ERATE);
}
END_TEST

START_TEST(test_problem_500_returns_internal_not_out_of_memory)
{
    /* the dispatcher logs this code: a handler's 500 is not an OOM */
    ck_assert_int_eq(sy_problem(&RES, 500, "internal_error", NULL),
                     SY_EINTERNAL);
}
END_TEST

/* ------------------------------------------------------------ mapping */

typedef struct mapping {
    int rc;
    int status;
    const char *code;
    const char *title;
} mapping;

/* Every SY_E* code of error.h (SY_ENOTMODIFIED is a 304 that the
 * dispatcher passes through, never a problem). */
static const mapping map[] = {
    {SY_ENOMEM, 500, "internal_error", "Internal server error"},
    {SY_EINVAL, 500, "internal_error", "Internal server error"},
    {SY_EBADREQ, 400, "bad_request", "Bad request"},
    {SY_EJSON, 400, "invalid_json", "The body is not valid JSON"},
    {SY_EVALIDATION, 422, "validation_failed", "Validation failed"},
    {SY_EUNAUTH, 401, "unauthorized", "Authentication required"},
    {SY_EFORBIDDEN, 403, "forbidden", "Forbidden"},
    {SY_ENOTFOUND, 404, "not_found", "Not found"},
    {SY_EMETHOD, 405, "method_not_allowed", "Method not allowed"},
    {SY_ECONFLICT, 409, "conflict", "Conflict"},
    {SY_ETOOBIG, 413, "payload_too_large", "Payload too large"},
    {SY_EMEDIA, 415, "unsupported_media_type", "Unsupported media type"},
    {SY_ERATE, 429, "rate_limited", "Too many requests"},
    {SY_EDB, 503, "storage_unavailable", "Storage unavailable"},
    {SY_EREDIS, 503, "storage_unavailable", "Storage unavailable"},
    {SY_ETIMEOUT, 503, "timeout", "Request timed out"},
    {SY_EIO, 500, "internal_error", "Internal server error"},
    {SY_ECONFIG, 500, "internal_error", "Internal server error"},
    {SY_EINTERNAL, 500, "internal_error", "Internal server error"},
    {SY_EPROVIDER, 503, "provider_unavailable", "Provider unavailable"},
    {-999, 500, "internal_error", "Internal server error"}, /* unknown */
};
#define NMAP ((int)(sizeof(map) / sizeof(map[0])))

START_TEST(test_from_rc_maps_code_to_status_and_problem_code)
{
    const mapping *m = &map[_i];
    ck_assert_int_eq(sy_problem_from_rc(&RES, m->rc), m->rc);
    ck_assert_msg(RES.status == m->status, "rc %d gave %d", m->rc, RES.status);
    ck_assert_int_eq(sy_problem_status(m->rc), m->status);
    ck_assert_str_eq(sy_problem_code(m->rc), m->code);
    json_object *o = body_json();
    char type[96];
    snprintf(type, sizeof(type), "urn:synthia:problem:%s", m->code);
    ck_assert_str_eq(member_str(o, "type"), type);
    ck_assert_str_eq(member_str(o, "code"), m->code);
    ck_assert_int_eq(member_int(o, "status"), m->status);
    ck_assert_str_eq(member_str(o, "request_id"), "req-42");
}
END_TEST

START_TEST(test_from_rc_title_belongs_to_the_problem_code)
{
    /* 503 and 400 each carry several codes; the title must be the
     * code's own, not whichever code comes first with that status */
    const mapping *m = &map[_i];
    sy_problem_from_rc(&RES, m->rc);
    ck_assert_str_eq(member_str(body_json(), "title"), m->title);
}
END_TEST

START_TEST(test_every_error_code_has_a_mapping)
{
    for (int rc = SY_ENOMEM; rc > SY_ENOTMODIFIED; rc--) {
        bool found = false;
        for (int i = 0; i < NMAP; i++)
            found |= map[i].rc == rc;
        ck_assert_msg(found, "rc %d (%s) missing from this test", rc,
                      sy_strerror(rc));
        ck_assert_int_ge(sy_problem_status(rc), 400);
        ck_assert_int_le(sy_problem_status(rc), 599);
    }
}
END_TEST

START_TEST(test_from_rc_keeps_an_existing_problem)
{
    sy_problem(&RES, 404, "not_found", "gone");
    ck_assert_int_eq(sy_problem_from_rc(&RES, SY_EINTERNAL), SY_EINTERNAL);
    ck_assert_int_eq(RES.status, 404);
    ck_assert_str_eq(member_str(body_json(), "detail"), "gone");
}
END_TEST

START_TEST(test_problem_never_leaks_internal_text)
{
    sy_problem_from_rc(&RES, SY_EDB);
    const char *body = sy_buf_cstr(&RES.body);
    ck_assert_ptr_null(strstr(body, "database unavailable"));
    ck_assert_ptr_null(strstr(body, "PostgreSQL"));
}
END_TEST

/* ------------------------------------------------------------ fields */

START_TEST(test_field_errors_become_errors_array)
{
    ck_assert_int_eq(sy_problem_field(&RES, "price_cents", "must be >= 0"),
                     SY_EVALIDATION);
    ck_assert_int_eq(sy_problem_field(&RES, "currency", "is required"),
                     SY_EVALIDATION);
    sy_problem_from_rc(&RES, SY_EVALIDATION);
    json_object *o = body_json(), *errs;
    ck_assert_int_eq(RES.status, 422);
    ck_assert_str_eq(member_str(o, "code"), "validation_failed");
    ck_assert(json_object_object_get_ex(o, "errors", &errs));
    ck_assert_uint_eq(json_object_array_length(errs), 2);
    json_object *e0 = json_object_array_get_idx(errs, 0);
    json_object *e1 = json_object_array_get_idx(errs, 1);
    ck_assert_str_eq(member_str(e0, "field"), "price_cents");
    ck_assert_str_eq(member_str(e0, "message"), "must be >= 0");
    ck_assert_str_eq(member_str(e1, "field"), "currency");
    ck_assert_str_eq(member_str(e1, "message"), "is required");
    ck_assert_str_ne(member_str(o, "detail"), member_str(o, "title"));
}
END_TEST

START_TEST(test_field_errors_survive_arena_reset_without_leaking)
{
    /* the errors array is put at reset (valgrind/ASan check the leak) */
    sy_problem_field(&RES, "a", "bad");
    sy_problem_from_rc(&RES, SY_EVALIDATION);
    sy_arena_reset(&A);
    sy_res_init(&RES, &A, &R, 4096);
    ck_assert_ptr_null(RES.errs.fields);
}
END_TEST

START_TEST(test_field_error_out_of_budget_is_enomem)
{
    sy_arena small;
    sy_res res;
    sy_arena_init(&small, 1024, 16);
    ck_assert_ptr_nonnull(sy_arena_alloc(&small, 16));
    sy_res_init(&res, &small, NULL, 4096);
    ck_assert_int_eq(sy_problem_field(&res, "f", "m"), SY_ENOMEM);
    ck_assert_ptr_null(res.errs.fields);
    sy_arena_cleanup(&small);
}
END_TEST

/* ------------------------------------------------------------ response */

START_TEST(test_serialize_writes_status_line_and_length)
{
    sy_res_bytes(&RES, 200, "text/plain", "hello", 5);
    const char *t = serialize();
    ck_assert(strncmp(t, "Status: 200 OK\r\n", 16) == 0);
    ck_assert_str_eq(header_in(t, "Content-Type"), "text/plain");
    ck_assert_str_eq(header_in(t, "Content-Length"), "5");
    ck_assert_str_eq(body_of(t), "hello");
}
END_TEST

START_TEST(test_serialize_problem_has_matching_content_length)
{
    sy_problem(&RES, 404, "not_found", "No such item");
    const char *t = serialize();
    ck_assert(strncmp(t, "Status: 404 Not Found\r\n", 23) == 0);
    ck_assert_str_eq(header_in(t, "Content-Type"), "application/problem+json");
    char len[32];
    snprintf(len, sizeof(len), "%zu", strlen(body_of(t)));
    ck_assert_str_eq(header_in(t, "Content-Length"), len);
    ck_assert_str_eq(body_of(t), sy_buf_cstr(&RES.body));
}
END_TEST

START_TEST(test_serialize_carries_request_id)
{
    sy_res_bytes(&RES, 200, "text/plain", "x", 1);
    ck_assert_str_eq(header_in(serialize(), "X-Request-Id"), "req-42");
}
END_TEST

START_TEST(test_serialize_without_request_has_no_request_id)
{
    sy_res_init(&RES, &A, NULL, 4096);
    sy_res_bytes(&RES, 200, "text/plain", "x", 1);
    ck_assert_ptr_null(header_in(serialize(), "X-Request-Id"));
}
END_TEST

START_TEST(test_serialize_defaults_to_no_store)
{
    sy_res_bytes(&RES, 200, "text/plain", "x", 1);
    const char *t = serialize();
    ck_assert_str_eq(header_in(t, "Cache-Control"), "no-store");
    ck_assert_int_eq(count_headers(t, "Cache-Control"), 1);
}
END_TEST

START_TEST(test_handler_cache_control_replaces_default)
{
    sy_res_bytes(&RES, 200, "text/plain", "x", 1);
    sy_res_headerc(&RES, "Cache-Control", "public, max-age=60");
    const char *t = serialize();
    ck_assert_str_eq(header_in(t, "Cache-Control"), "public, max-age=60");
    ck_assert_int_eq(count_headers(t, "Cache-Control"), 1);
}
END_TEST

START_TEST(test_no_body_or_length_for_204)
{
    sy_res_bytes(&RES, 204, "application/json", "{}", 2);
    const char *t = serialize();
    ck_assert(strncmp(t, "Status: 204 No Content\r\n", 24) == 0);
    ck_assert_ptr_null(header_in(t, "Content-Length"));
    ck_assert_ptr_null(header_in(t, "Content-Type"));
    ck_assert_str_eq(body_of(t), "");
}
END_TEST

START_TEST(test_no_body_or_length_for_304)
{
    sy_res_bytes(&RES, 200, "application/json", "{}", 2);
    ck_assert_int_eq(sy_res_etag(&RES, SY_STR("\"v2\"")), SY_ENOTMODIFIED);
    const char *t = serialize();
    ck_assert(strncmp(t, "Status: 304 Not Modified\r\n", 26) == 0);
    ck_assert_ptr_null(header_in(t, "Content-Length"));
    ck_assert_str_eq(header_in(t, "ETag"), "\"v2\"");
    ck_assert_str_eq(body_of(t), "");
}
END_TEST

START_TEST(test_head_keeps_length_but_sends_no_body)
{
    sy_res_bytes(&RES, 200, "application/json", "{\"a\":1}", 7);
    RES.head_only = true;
    const char *t = serialize();
    ck_assert_str_eq(header_in(t, "Content-Length"), "7");
    ck_assert_str_eq(body_of(t), "");
}
END_TEST

START_TEST(test_unset_status_serializes_as_500)
{
    const char *t = serialize();
    ck_assert(strncmp(t, "Status: 500 Internal Server Error\r\n", 35) == 0);
}
END_TEST

START_TEST(test_serialize_into_small_buffer_is_enomem)
{
    sy_buf out;
    sy_res_bytes(&RES, 200, "text/plain", "hello", 5);
    sy_buf_init(&out, &A, 20);
    ck_assert_int_eq(sy_res_serialize(&RES, &out), SY_ENOMEM);
}
END_TEST

START_TEST(test_header_copies_value_and_set_replaces_it)
{
    char value[] = "first";
    sy_res_header(&RES, "X-Thing", sy_str_c(value));
    value[0] = 'F'; /* the response kept its own copy */
    ck_assert(sy_str_eqc(sy_res_get_header(&RES, "x-thing"), "first"));
    sy_res_header_set(&RES, "X-Thing", SY_STR("second"));
    ck_assert(sy_str_eqc(sy_res_get_header(&RES, "X-Thing"), "second"));
    sy_res_bytes(&RES, 200, "text/plain", "", 0);
    ck_assert_int_eq(count_headers(serialize(), "X-Thing"), 1);
}
END_TEST

START_TEST(test_too_many_headers_is_enomem)
{
    int rc = 0;
    for (int i = 0; i <= SY_RES_MAX_HEADERS && rc == 0; i++)
        rc = sy_res_headerc(&RES, "X-Many", "1");
    ck_assert_int_eq(rc, SY_ENOMEM);
    ck_assert_int_eq(RES.nheaders, SY_RES_MAX_HEADERS);
}
END_TEST

START_TEST(test_res_json_sets_type_and_body)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "url", json_object_new_string("a/b"));
    ck_assert_int_eq(sy_res_json(&RES, 201, o), 0);
    ck_assert_int_eq(RES.status, 201);
    ck_assert(sy_str_eqc(RES.content_type, "application/json"));
    ck_assert_str_eq(sy_buf_cstr(&RES.body), "{\"url\":\"a/b\"}");
}
END_TEST

START_TEST(test_etag_mismatch_keeps_the_response)
{
    sy_res_bytes(&RES, 200, "application/json", "{}", 2);
    ck_assert_int_eq(sy_res_etag(&RES, SY_STR("\"v3\"")), 0);
    ck_assert_int_eq(RES.status, 200);
    ck_assert_str_eq(header_in(serialize(), "ETag"), "\"v3\"");
}
END_TEST

START_TEST(test_etag_weak_match_in_list_is_not_modified)
{
    ck_assert_int_eq(sy_res_etag(&RES, SY_STR("\"v1\"")), SY_ENOTMODIFIED);
    ck_assert_int_eq(RES.status, 304);
}
END_TEST

/* sy_res_etag(etag) for a GET with If-None-Match: field. */
static int
etag_with(const char *method, const char *field, const char *etag)
{
    char *e[4], m[32], h[512], u[] = "REQUEST_URI=/items/1";
    snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
    snprintf(h, sizeof(h), "HTTP_IF_NONE_MATCH=%s", field);
    e[0] = m, e[1] = u, e[2] = h, e[3] = NULL;
    ck_assert_int_eq(sy_req_parse_env(&R, &A, e), 0);
    sy_res_init(&RES, &A, &R, 65536);
    sy_res_bytes(&RES, 200, "application/json", "{}", 2);
    return sy_res_etag(&RES, sy_str_c(etag));
}

#define MATCHES(field, etag)                                                   \
    ck_assert_msg(etag_with("GET", (field), (etag)) == SY_ENOTMODIFIED,       \
                  "If-None-Match: %s should match %s", (field), (etag))
#define DIFFERS(field, etag)                                                   \
    ck_assert_msg(etag_with("GET", (field), (etag)) == 0,                     \
                  "If-None-Match: %s should not match %s", (field), (etag))

START_TEST(test_if_none_match_follows_rfc_9110)
{
    /* "*" alone matches any current representation */
    MATCHES("*", "\"v1\"");
    MATCHES(" * ", "W/\"v1\"");
    /* a weak star is no star; nor is a star inside a list */
    DIFFERS("W/*", "\"v1\"");
    DIFFERS("W/ *", "\"v1\"");
    DIFFERS("\"x\", *", "\"v1\"");
    /* weak comparison, either side weak */
    MATCHES("\"v1\"", "\"v1\"");
    MATCHES("W/\"v1\"", "\"v1\"");
    MATCHES("\"v1\"", "W/\"v1\"");
    MATCHES("\"x\", W/\"v1\"", "\"v1\"");
    MATCHES("\"x\",\"v1\"", "\"v1\"");
    MATCHES("\t\"x\" ,\t\"v1\"\t", "\"v1\"");
    DIFFERS("\"v10\"", "\"v1\"");
    DIFFERS("\"V1\"", "\"v1\"");
    /* an opaque tag may hold a comma */
    MATCHES("\"a,b\"", "\"a,b\"");
    DIFFERS("\"a,b\"", "\"a\"");
    DIFFERS("\"a,b\"", "\"b\"");
    /* malformed: no match from the bad element on */
    DIFFERS("v1", "\"v1\"");
    DIFFERS("\"v1", "\"v1\"");
    DIFFERS("", "\"v1\"");
    DIFFERS("w/\"v1\"", "\"v1\"");
    /* writes report their ETag and ignore If-None-Match */
    ck_assert_int_eq(etag_with("PATCH", "*", "\"v1\""), 0);
    ck_assert_int_eq(etag_with("HEAD", "\"v1\"", "\"v1\""),
                     SY_ENOTMODIFIED);
}
END_TEST

START_TEST(test_status_text_names_common_codes)
{
    ck_assert_str_eq(sy_status_text(431), "Request Header Fields Too Large");
    ck_assert_str_eq(sy_status_text(201), "Created");
    ck_assert_str_eq(sy_status_text(413), "Content Too Large");
    ck_assert_str_eq(sy_status_text(422), "Unprocessable Content");
    ck_assert_str_eq(sy_status_text(429), "Too Many Requests");
    ck_assert_str_eq(sy_status_text(503), "Service Unavailable");
}
END_TEST

/* ------------------------------------------------------------ getters */

static json_object *J;

/* Parse a JSON body into J (owned by the arena). */
static int
json_parse(const char *text)
{
    J = NULL;
    return sy_json_parse(&A, sy_str_c(text), NULL, &J);
}

static void
assert_view(sy_str v, const char *want)
{
    ck_assert_ptr_nonnull(v.p);
    ck_assert_msg(sy_str_eqc(v, want), "got '%.*s', want '%s'", (int)v.len, v.p,
                  want);
}

/* Number of validation errors recorded in the response. */
static size_t
nerrors(void)
{
    return RES.errs.fields ? json_object_array_length(RES.errs.fields) : 0;
}

static const char *
error_field(size_t i)
{
    json_object *e = json_object_array_get_idx(RES.errs.fields, i), *f;
    ck_assert(json_object_object_get_ex(e, "field", &f));
    return json_object_get_string(f);
}

START_TEST(test_json_str_getter_reads_string)
{
    sy_str v = SY_STR_NULL;
    ck_assert_int_eq(json_parse("{\"name\": \"Silk dress\"}"), 0);
    ck_assert_int_eq(sy_json_str(&RES.errs, J, "name", true, 1, 100, &v), 0);
    assert_view(v, "Silk dress");
    ck_assert_uint_eq(nerrors(), 0);
}
END_TEST

START_TEST(test_json_absent_optional_field_is_not_found)
{
    sy_str v = SY_STR("untouched");
    int64_t n = 7;
    bool b = true;
    ck_assert_int_eq(json_parse("{\"other\": 1, \"nul\": null}"), 0);
    ck_assert_int_eq(sy_json_str(&RES.errs, J, "name", false, 0, 9, &v),
                     SY_ENOTFOUND);
    ck_assert_int_eq(sy_json_int(&RES.errs, J, "nul", false, 0, 9, &n),
                     SY_ENOTFOUND);
    ck_assert_int_eq(sy_json_bool(&RES.errs, J, "flag", false, &b), SY_ENOTFOUND);
    assert_view(v, "untouched");
    ck_assert_int_eq(n, 7);
    ck_assert_uint_eq(nerrors(), 0);
}
END_TEST

START_TEST(test_json_absent_required_field_is_recorded)
{
    sy_str v;
    ck_assert_int_eq(json_parse("{\"name\": null}"), 0);
    ck_assert_int_eq(sy_json_str(&RES.errs, J, "name", true, 0, 9, &v),
                     SY_EVALIDATION);
    ck_assert_int_eq(sy_json_str(&RES.errs, J, "sku", true, 0, 9, &v),
                     SY_EVALIDATION);
    ck_assert_uint_eq(nerrors(), 2);
    ck_assert_str_eq(error_field(0), "name");
    ck_assert_str_eq(error_field(1), "sku");
}
END_TEST

/* Found by the allocation-failure sweep (tests/fuzz): a missing field
 * whose error could not be recorded used to pass as a recorded 422. */
START_TEST(test_json_required_field_unrecorded_is_enomem)
{
    sy_str v = SY_STR("untouched");
    ck_assert_int_eq(json_parse("{}"), 0);
    sy_arena_fail_after(1); /* the errors array's destructor */
    int rc = sy_json_str(&RES.errs, J, "name", true, 0, 9, &v);
    sy_arena_fail_after(0);
    ck_assert_int_eq(rc, SY_ENOMEM);
    ck_assert_ptr_null(RES.errs.fields);
    assert_view(v, "untouched");
}
END_TEST

START_TEST(test_json_wrong_types_are_recorded)
{
    sy_str s;
    int64_t n = 7;
    bool b = false;
    ck_assert_int_eq(json_parse("{\"s\": 1, \"n\": \"5\", \"f\": 1.5,"
                                " \"b\": 1}"),
                     0);
    ck_assert_int_eq(sy_json_str(&RES.errs, J, "s", true, 0, 9, &s), SY_EVALIDATION);
    ck_assert_int_eq(sy_json_int(&RES.errs, J, "n", true, 0, 9, &n), SY_EVALIDATION);
    ck_assert_int_eq(sy_json_int(&RES.errs, J, "f", true, 0, 9, &n), SY_EVALIDATION);
    ck_assert_int_eq(sy_json_bool(&RES.errs, J, "b", true, &b), SY_EVALIDATION);
    ck_assert_int_eq(n, 7);
    ck_assert(!b);
    ck_assert_uint_eq(nerrors(), 4);
}
END_TEST

START_TEST(test_json_string_length_bounds_are_enforced)
{
    sy_str v;
    ck_assert_int_eq(json_parse("{\"a\": \"\", \"b\": \"abcd\","
                                " \"c\": \"abc\"}"),
                     0);
    ck_assert_int_eq(sy_json_str(&RES.errs, J, "a", true, 1, 3, &v), SY_EVALIDATION);
    ck_assert_int_eq(sy_json_str(&RES.errs, J, "b", true, 1, 3, &v), SY_EVALIDATION);
    ck_assert_int_eq(sy_json_str(&RES.errs, J, "c", true, 1, 3, &v), 0);
    assert_view(v, "abc");
    ck_assert_uint_eq(nerrors(), 2);
}
END_TEST

START_TEST(test_json_int_range_is_enforced)
{
    int64_t n = 0;
    ck_assert_int_eq(json_parse("{\"lo\": 0, \"hi\": 101, \"ok\": 100,"
                                " \"neg\": -5}"),
                     0);
    ck_assert_int_eq(sy_json_int(&RES.errs, J, "lo", true, 1, 100, &n),
                     SY_EVALIDATION);
    ck_assert_int_eq(sy_json_int(&RES.errs, J, "hi", true, 1, 100, &n),
                     SY_EVALIDATION);
    ck_assert_int_eq(sy_json_int(&RES.errs, J, "ok", true, 1, 100, &n), 0);
    ck_assert_int_eq(n, 100);
    ck_assert_int_eq(sy_json_int(&RES.errs, J, "neg", true, -10, 0, &n), 0);
    ck_assert_int_eq(n, -5);
}
END_TEST

START_TEST(test_json_int_beyond_int64_is_not_clamped)
{
    int64_t n = 7;
    ck_assert_int_eq(json_parse("{\"n\": 9223372036854775808}"), 0);
    ck_assert_int_eq(sy_json_int(&RES.errs, J, "n", true, 0, INT64_MAX, &n),
                     SY_EVALIDATION);
    ck_assert_int_eq(n, 7);
}
END_TEST

START_TEST(test_json_bool_getter_reads_bool)
{
    bool b = false;
    ck_assert_int_eq(json_parse("{\"on\": true, \"off\": false}"), 0);
    ck_assert_int_eq(sy_json_bool(&RES.errs, J, "on", true, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(sy_json_bool(&RES.errs, J, "off", true, &b), 0);
    ck_assert(!b);
}
END_TEST

static Suite *
problem_suite(void)
{
    Suite *s = suite_create("problem");
    TCase *tc;
    const TTest *const shape_tests[] = {
        test_problem_body_has_every_member,
        test_problem_sets_status_and_content_type,
        test_problem_without_detail_uses_title,
        test_problem_without_request_has_empty_request_id,
        test_problem_detail_is_escaped_json,
        test_problem_replaces_an_earlier_body,
        test_problem_returns_code_matching_status,
        test_problem_500_returns_internal_not_out_of_memory, NULL};
    sy_check_tcase(s, "shape", setup, teardown, shape_tests);
    const TTest *const mapping_tests[] = {
        test_every_error_code_has_a_mapping,
        test_from_rc_keeps_an_existing_problem,
        test_problem_never_leaks_internal_text, NULL};
    tc = sy_check_tcase(s, "mapping", setup, teardown, mapping_tests);
    tcase_add_loop_test(tc, test_from_rc_maps_code_to_status_and_problem_code,
        0, NMAP);
    tcase_add_loop_test(tc, test_from_rc_title_belongs_to_the_problem_code, 0,
        NMAP);
    const TTest *const fields_tests[] = {
        test_field_errors_become_errors_array,
        test_field_errors_survive_arena_reset_without_leaking,
        test_field_error_out_of_budget_is_enomem, NULL};
    sy_check_tcase(s, "fields", setup, teardown, fields_tests);
    const TTest *const getters_tests[] = {
        test_json_str_getter_reads_string,
        test_json_absent_optional_field_is_not_found,
        test_json_absent_required_field_is_recorded,
        test_json_required_field_unrecorded_is_enomem,
        test_json_wrong_types_are_recorded,
        test_json_string_length_bounds_are_enforced,
        test_json_int_range_is_enforced,
        test_json_int_beyond_int64_is_not_clamped,
        test_json_bool_getter_reads_bool, NULL};
    sy_check_tcase(s, "getters", setup, teardown, getters_tests);
    const TTest *const response_tests[] = {
        test_serialize_writes_status_line_and_length,
        test_serialize_problem_has_matching_content_length,
        test_serialize_carries_request_id,
        test_serialize_without_request_has_no_request_id,
        test_serialize_defaults_to_no_store,
        test_handler_cache_control_replaces_default,
        test_no_body_or_length_for_204, test_no_body_or_length_for_304,
        test_head_keeps_length_but_sends_no_body,
        test_unset_status_serializes_as_500,
        test_serialize_into_small_buffer_is_enomem,
        test_header_copies_value_and_set_replaces_it,
        test_too_many_headers_is_enomem, test_res_json_sets_type_and_body,
        test_etag_mismatch_keeps_the_response,
        test_etag_weak_match_in_list_is_not_modified,
        test_if_none_match_follows_rfc_9110,
        test_status_text_names_common_codes, NULL};
    sy_check_tcase(s, "response", setup, teardown, response_tests);
    return s;
}

int
main(void)
{
    return sy_check_run(problem_suite());
}

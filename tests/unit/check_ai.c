/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_ai.c - unit tests of the AI provider layer's pure parts: the
 * JSON Schema subset, Retry-After, base64, error classes, the drivers'
 * requests and their strict reading of canned answers, and the circuit
 * breaker's arithmetic (the in-memory one; the Redis one runs the same
 * rules and is tested end to end in test_providers.py).
 */
#include <check.h>
#include <json-c/json.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/ai_curl.h"
#include "synthia/ai_driver.h"
#include "synthia/breaker.h"
#include "synthia/error.h"
#include "synthia/jsonschema.h"

static sy_arena A;
static char why[160];

static void
setup(void)
{
    sy_arena_init(&A, 4096, 16u << 20);
    why[0] = '\0';
}

static void
teardown(void)
{
    sy_arena_cleanup(&A);
}

static json_object *
J(const char *s)
{
    json_object *o = json_tokener_parse(s);
    ck_assert_msg(o != NULL, "bad JSON in test: %s", s);
    return o;
}

/* ------------------------------------------------------------ schema */

static const char *const SCHEMA =
    "{\"type\":\"object\",\"additionalProperties\":false,"
    "\"required\":[\"season\",\"colors\",\"score\"],\"properties\":{"
    "\"season\":{\"type\":\"string\",\"enum\":[\"spring\",\"autumn\"]},"
    "\"colors\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":3,"
    "\"items\":{\"type\":\"string\",\"maxLength\":7}},"
    "\"score\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}}}";

START_TEST(test_schema_subset_is_checked)
{
    json_object *s = J(SCHEMA);
    ck_assert(sy_jsonschema_valid(s, why, sizeof(why)));
    json_object_put(s);
    const char *bad[] = {
        "{\"type\":\"object\",\"pattern\":\"x\"}", /* unknown keyword */
        "{\"type\":\"string\",\"minItems\":1}",    /* wrong place */
        "{\"type\":\"array\"}",                    /* items needed */
        "{\"type\":\"thing\"}", "[]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = J(bad[i]);
        ck_assert_msg(!sy_jsonschema_valid(s, why, sizeof(why)), "%s",
                      bad[i]);
        ck_assert(why[0] != '\0');
        json_object_put(s);
    }
}
END_TEST

START_TEST(test_values_are_checked_against_every_rule)
{
    json_object *s = J(SCHEMA);
    struct {
        const char *v;
        bool ok;
    } cases[] = {
        {"{\"season\":\"spring\",\"colors\":[\"#aabbcc\"],\"score\":0.5}", 1},
        {"{\"season\":\"winter\",\"colors\":[\"#aabbcc\"],\"score\":0.5}", 0},
        {"{\"season\":\"spring\",\"colors\":[],\"score\":0.5}", 0},
        {"{\"season\":\"spring\",\"colors\":[\"a\",\"b\",\"c\",\"d\"],"
         "\"score\":0.5}", 0},
        {"{\"season\":\"spring\",\"colors\":[\"#aabbccdd\"],\"score\":0}", 0},
        {"{\"season\":\"spring\",\"colors\":[\"#a\"],\"score\":1.5}", 0},
        {"{\"season\":\"spring\",\"colors\":[\"#a\"]}", 0},
        {"{\"season\":\"spring\",\"colors\":[\"#a\"],\"score\":1,\"x\":1}",
         0},
        {"{\"season\":\"spring\",\"colors\":[3],\"score\":1}", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_object *v = J(cases[i].v);
        ck_assert_msg(sy_jsonschema_check(s, v, why, sizeof(why)) ==
                          cases[i].ok,
                      "%s: %s", cases[i].v, why);
        json_object_put(v);
    }
    json_object_put(s);
}
END_TEST

START_TEST(test_wire_forms_of_a_schema)
{
    json_object *s = J(SCHEMA), *o = sy_jsonschema_for_openai(s),
                *g = sy_jsonschema_for_gemini(s), *x;
    ck_assert_ptr_nonnull(o);
    ck_assert_ptr_nonnull(g);
    /* OpenAI strict mode: no ranges; Synthia enforces them itself */
    x = sy_ai_dig(o, "properties.score");
    ck_assert(!json_object_object_get_ex(x, "minimum", NULL));
    ck_assert(json_object_object_get_ex(o, "additionalProperties", NULL));
    /* Gemini: upper-case types, no additionalProperties */
    ck_assert_str_eq(json_object_get_string(sy_ai_dig(g, "type")), "OBJECT");
    ck_assert(!json_object_object_get_ex(g, "additionalProperties", NULL));
    json_object_put(o);
    json_object_put(g);
    json_object_put(s);
}
END_TEST

/* --------------------------------------------------- wire primitives */

START_TEST(test_retry_after_seconds_and_dates)
{
    const int64_t now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */
    ck_assert_int_eq(sy_ai_retry_after_ms(SY_STR("2"), now), 2000);
    ck_assert_int_eq(sy_ai_retry_after_ms(SY_STR(" 0 "), now), 0);
    ck_assert_int_eq(sy_ai_retry_after_ms(SY_STR("99999999999"), now),
                     86400000);
    ck_assert_int_eq(sy_ai_retry_after_ms(
                         SY_STR("Tue, 14 Nov 2023 22:13:25 GMT"), now),
                     5000);
    ck_assert_int_eq(sy_ai_retry_after_ms(
                         SY_STR("Tuesday, 14-Nov-23 22:13:30 GMT"), now),
                     10000);
    ck_assert_int_eq(sy_ai_retry_after_ms(
                         SY_STR("Tue, 14 Nov 2023 22:00:00 GMT"), now),
                     0);
    ck_assert_int_eq(sy_ai_retry_after_ms(SY_STR("1.5"), now), -1);
    ck_assert_int_eq(sy_ai_retry_after_ms(SY_STR("-1"), now), -1);
    ck_assert_int_eq(sy_ai_retry_after_ms(SY_STR(""), now), -1);
    ck_assert_int_eq(sy_ai_retry_after_ms(SY_STR("soon"), now), -1);
}
END_TEST

START_TEST(test_base64_round_trip_and_refusals)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
                         "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char *e = sy_ai_base64(&A, "p:", in[i], strlen(in[i]));
        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(e + 2, out[i]);
        sy_str d;
        ck_assert_int_eq(sy_ai_unbase64(&A, sy_str_c(out[i]), &d), 0);
        ck_assert_uint_eq(d.len, strlen(in[i]));
        ck_assert(memcmp(d.p, in[i], d.len) == 0);
    }
    sy_str d;
    ck_assert_int_eq(sy_ai_unbase64(&A, SY_STR("Zm9"), &d), SY_EINVAL);
    ck_assert_int_eq(sy_ai_unbase64(&A, SY_STR("Zm=v"), &d), SY_EINVAL);
    ck_assert_int_eq(sy_ai_unbase64(&A, SY_STR("Zm9v\n"), &d), SY_EINVAL);
}
END_TEST

START_TEST(test_error_classes_of_answers)
{
    sy_ai_http_res r = {.err = SY_AI_OK};
    long st[] = {200, 204, 408, 429, 400, 401, 422, 500, 503, 302};
    int want[] = {SY_AI_OK,      SY_AI_OK,      SY_AI_ETIMEOUT,
                  SY_AI_ERATE,   SY_AI_ECLIENT, SY_AI_ECLIENT,
                  SY_AI_ECLIENT, SY_AI_ESERVER, SY_AI_ESERVER,
                  SY_AI_ESERVER};
    for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
        r.status = st[i];
        ck_assert_int_eq(sy_ai_http_class(&r), want[i]);
    }
    r.err = SY_AI_ECONNECT;
    ck_assert_int_eq(sy_ai_http_class(&r), SY_AI_ECONNECT);
}
END_TEST

/* ----------------------------------------------------------- drivers */

static char base_url[] = "http://h:1/p", key[] = "KEY", human[] = "human",
            garm[] = "garm";
static sy_ai_endpoint_conf EP = {.base_url = base_url,
                                 .key = key,
                                 .person_field = human,
                                 .garment_field = garm};

START_TEST(test_openai_requests_and_answers)
{
    const sy_ai_driver *d = sy_ai_driver_of(SY_AI_OPENAI);
    sy_ai_target t = {SY_AI_OPENAI, "openai", "gpt-x", &EP};
    sy_ai_msg m[] = {{SY_AI_SYSTEM, SY_STR("be brief")},
                     {SY_AI_USER, SY_STR("hi")}};
    sy_ai_http_req req;
    ck_assert_int_eq(d->chat(&A, &t, m, 2, 0, &req), 0);
    ck_assert_str_eq(req.url, "http://h:1/p/v1/chat/completions");
    ck_assert_str_eq(req.auth_header, "Authorization: Bearer KEY");
    json_object *b = J(req.body.p);
    ck_assert_str_eq(json_object_get_string(sy_ai_dig(b, "messages.0.role")),
                     "system");
    ck_assert_str_eq(json_object_get_string(sy_ai_dig(b, "model")), "gpt-x");
    json_object_put(b);

    sy_str text;
    ck_assert_int_eq(
        d->text(&A, SY_STR("{\"choices\":[{\"message\":{\"content\":\"ok\"}}]}"),
                &text, why, sizeof(why)), 0);
    ck_assert(sy_str_eqc(text, "ok"));
    const char *bad[] = {
        "not json", "{\"choices\":[]}",
        "{\"choices\":[{\"message\":{\"content\":\"\"}}]}",
        "{\"choices\":[{\"message\":{\"content\":null,\"refusal\":\"no\"}}]}"};
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(d->text(&A, sy_str_c(bad[i]), &text, why,
                                 sizeof(why)),
                         SY_EPROVIDER);

    float v[4];
    ck_assert_int_eq(
        d->vectors(&A,
                   SY_STR("{\"data\":[{\"index\":1,\"embedding\":[0,3]},"
                          "{\"index\":0,\"embedding\":[4,0]}]}"),
                   2, 2, v, why, sizeof(why)), 0);
    ck_assert_float_eq(v[0], 1.0f); /* index 0 first, normalised */
    ck_assert_float_eq(v[3], 1.0f);
    const char *badv[] = {
        "{\"data\":[{\"index\":0,\"embedding\":[1,0]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[1,0]},"
        "{\"index\":0,\"embedding\":[1,0]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[1]},"
        "{\"index\":1,\"embedding\":[1,0]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[0,0]},"
        "{\"index\":1,\"embedding\":[1,0]}]}",
        "{\"data\":[{\"index\":0,\"embedding\":[\"1\",0]},"
        "{\"index\":1,\"embedding\":[1,0]}]}"};
    for (size_t i = 0; i < 5; i++)
        ck_assert_msg(d->vectors(&A, sy_str_c(badv[i]), 2, 2, v, why,
                                 sizeof(why)) == SY_EPROVIDER,
                      "%s", badv[i]);
}
END_TEST

START_TEST(test_gemini_requests_and_answers)
{
    const sy_ai_driver *d = sy_ai_driver_of(SY_AI_GEMINI);
    sy_ai_target t = {SY_AI_GEMINI, "gemini", "models/emb", &EP};
    sy_str texts[] = {SY_STR("a"), SY_STR("b")};
    sy_ai_http_req req;
    ck_assert_int_eq(d->embed(&A, &t, texts, 2, 3, &req), 0);
    ck_assert_str_eq(req.url, "http://h:1/p/v1beta/models/emb:"
                              "batchEmbedContents");
    ck_assert_str_eq(req.auth_header, "x-goog-api-key: KEY");
    ck_assert_ptr_null(strstr(req.url, "KEY")); /* never in the URL */
    ck_assert_int_eq(d->embed(&A, &t, texts, 1, 3, &req), 0);
    ck_assert_str_eq(req.url, "http://h:1/p/v1beta/models/emb:embedContent");

    sy_str text;
    ck_assert_int_eq(
        d->text(&A, SY_STR("{\"candidates\":[{\"content\":{\"parts\":["
                           "{\"text\":\"a\"},{\"text\":\"b\"}]}}]}"),
                &text, why, sizeof(why)), 0);
    ck_assert(sy_str_eqc(text, "ab"));
    ck_assert_int_eq(d->text(&A, SY_STR("{\"candidates\":[{\"finishReason\":"
                                        "\"SAFETY\"}]}"),
                             &text, why, sizeof(why)),
                     SY_EPROVIDER);
    float v[3];
    ck_assert_int_eq(d->vectors(&A, SY_STR("{\"embedding\":{\"values\":"
                                           "[0,0,2]}}"),
                                1, 3, v, why, sizeof(why)), 0);
    ck_assert_float_eq(v[2], 1.0f);
}
END_TEST

START_TEST(test_tryon_drivers_read_jobs_strictly)
{
    const sy_ai_driver *f = sy_ai_driver_of(SY_AI_FAL),
                       *r = sy_ai_driver_of(SY_AI_REPLICATE);
    sy_ai_target t = {SY_AI_FAL, "fal", "fal-ai/idm-vton/v2", &EP};
    sy_ai_http_req req;
    char id[128];
    int st;
    sy_str err, url;
    ck_assert_int_eq(f->status(&A, &t, "abc", &req), 0);
    ck_assert_str_eq(req.url, "http://h:1/p/fal-ai/idm-vton/requests/abc/"
                              "status");
    ck_assert_str_eq(req.auth_header, "Authorization: Key KEY");
    ck_assert_int_eq(f->submitted(&A, SY_STR("{\"request_id\":\"r-1\"}"), id,
                                  sizeof(id), why, sizeof(why)), 0);
    ck_assert_str_eq(id, "r-1");
    /* an id that would change the URL is refused */
    ck_assert_int_eq(f->submitted(&A, SY_STR("{\"request_id\":\"../x\"}"),
                                  id, sizeof(id), why, sizeof(why)),
                     SY_EPROVIDER);
    ck_assert_int_eq(f->status_of(&A, SY_STR("{\"status\":\"IN_PROGRESS\"}"),
                                  &st, &err, why, sizeof(why)), 0);
    ck_assert_int_eq(st, SY_AI_JOB_RUNNING);
    ck_assert_int_eq(f->status_of(&A, SY_STR("{\"status\":\"EXPLODED\"}"),
                                  &st, &err, why, sizeof(why)),
                     SY_EPROVIDER);
    ck_assert_int_eq(f->result_url(&A, SY_STR("{\"images\":[{\"url\":"
                                              "\"https://x/y.png\"}]}"),
                                   &url, why, sizeof(why)), 0);
    ck_assert(sy_str_eqc(url, "https://x/y.png"));

    ck_assert_int_eq(r->status_of(&A, SY_STR("{\"status\":\"failed\","
                                             "\"error\":\"OOM\"}"),
                                  &st, &err, why, sizeof(why)), 0);
    ck_assert_int_eq(st, SY_AI_JOB_ERROR);
    ck_assert(sy_str_eqc(err, "OOM"));
    ck_assert_int_eq(r->result_url(&A, SY_STR("{\"output\":[\"https://o/1"
                                              "\"]}"),
                                   &url, why, sizeof(why)), 0);
    ck_assert(sy_str_eqc(url, "https://o/1"));
    ck_assert_int_eq(r->result_url(&A, SY_STR("{\"output\":null}"), &url,
                                   why, sizeof(why)),
                     SY_EPROVIDER);

    /* submit: data URLs under the configured fields */
    sy_ai_image p = {"\xff\xd8\xff", 3, "image/jpeg"};
    sy_ai_image g[2] = {{"\x89PNG", 4, "image/png"},
                        {"\x89PNG", 4, "image/png"}};
    t = (sy_ai_target){SY_AI_REPLICATE, "replicate", "o/m:v", &EP};
    ck_assert_int_eq(r->submit(&A, &t, &p, g, 2, &req), 0);
    json_object *b = J(req.body.p);
    ck_assert_str_eq(json_object_get_string(sy_ai_dig(b, "input.human")),
                     "data:image/jpeg;base64,/9j/");
    ck_assert_int_eq((int)json_object_array_length(
                         sy_ai_dig(b, "input.garm")), 2);
    ck_assert_str_eq(json_object_get_string(sy_ai_dig(b, "version")), "o/m:v");
    json_object_put(b);
}
END_TEST

START_TEST(test_replicate_lookup_reads_the_list_strictly)
{
    const sy_ai_driver *r = sy_ai_driver_of(SY_AI_REPLICATE);
    const sy_ai_driver *f = sy_ai_driver_of(SY_AI_FAL);
    sy_ai_target t = {SY_AI_REPLICATE, "replicate", "o/m:v", &EP};
    sy_ai_http_req req;
    char id[128];
    const char *next;
    /* FAL's queue cannot be listed */
    ck_assert(f->find == NULL && f->found == NULL);
    ck_assert_int_eq(r->find(&A, &t, NULL, &req), 0);
    ck_assert_str_eq(req.url, "http://h:1/p/v1/predictions");
    ck_assert_str_eq(req.method, "GET");
    ck_assert_int_eq(r->find(&A, &t, "cursor=abc", &req), 0);
    ck_assert_str_eq(req.url, "http://h:1/p/v1/predictions?cursor=abc");

    json_object *in = J("{\"human\":\"data:a\",\"garm\":\"data:b\"}");
#define PAGE \
        "{\"next\":\"http://h:1/p/v1/predictions?cursor=c2\",\"results\":[" \
        /* another model, a failed one, another input: not it */ \
        "{\"id\":\"p1\",\"version\":\"o/x:v\",\"status\":\"succeeded\"," \
        "\"created_at\":\"2024-05-01T10:00:03.1Z\"," \
        "\"input\":{\"human\":\"data:a\",\"garm\":\"data:b\"}}," \
        "{\"id\":\"p2\",\"version\":\"o/m:v\",\"status\":\"failed\"," \
        "\"created_at\":\"2024-05-01T10:00:02.1Z\"," \
        "\"input\":{\"human\":\"data:a\",\"garm\":\"data:b\"}}," \
        "{\"id\":\"p3\",\"version\":\"o/m:v\",\"status\":\"starting\"," \
        "\"created_at\":\"2024-05-01T10:00:01.1Z\"," \
        "\"input\":{\"human\":\"data:a\",\"garm\":\"data:c\"}}%s]}"
    char body[2048];
    /* nothing on this page: the next one */
    snprintf(body, sizeof(body), PAGE, "");
    ck_assert_int_eq(r->found(&A, sy_str_c(body), &t, in,
                              "2024-05-01T09:00:00", id, sizeof(id), &next,
                              why, sizeof(why)), 0);
    ck_assert_str_eq(id, "");
    ck_assert_str_eq(next, "cursor=c2");
    /* the one: same model, same input, not failed */
    snprintf(body, sizeof(body), PAGE,
             ",{\"id\":\"p4\",\"version\":\"o/m:v\",\"status\":"
             "\"processing\",\"created_at\":\"2024-05-01T10:00:00.5Z\","
             "\"input\":{\"garm\":\"data:b\",\"human\":\"data:a\"}}");
    ck_assert_int_eq(r->found(&A, sy_str_c(body), &t, in,
                              "2024-05-01T09:00:00", id, sizeof(id), &next,
                              why, sizeof(why)), 0);
    ck_assert_str_eq(id, "p4");
    /* older than since: not looked at, and no further page */
    ck_assert_int_eq(r->found(&A, sy_str_c(body), &t, in,
                              "2024-05-01T10:00:01", id, sizeof(id), &next,
                              why, sizeof(why)), 0);
    ck_assert_str_eq(id, "");
    ck_assert_ptr_null(next);
    /* a next page elsewhere, or with characters that would change the
     * URL, is not followed */
    const char *bad[] = {"http://evil/v1/predictions?cursor=1",
                         "http://h:1/p/v1/predictions?c=1/../x",
                         "http://h:1/p/v1/predictions?c=1\\r\\nX: y"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body), "{\"next\":\"%s\",\"results\":[]}",
                 bad[i]);
        ck_assert_int_eq(r->found(&A, sy_str_c(body), &t, in,
                                  "2024-05-01T09:00:00", id, sizeof(id),
                                  &next, why, sizeof(why)), 0);
        ck_assert_ptr_null(next);
    }
    /* not the list's shape */
    ck_assert_int_eq(r->found(&A, SY_STR("{\"results\":7}"), &t, in,
                              "2024-05-01T09:00:00", id, sizeof(id), &next,
                              why, sizeof(why)), SY_EPROVIDER);
    ck_assert_int_eq(r->found(&A, SY_STR("{\"results\":[{\"id\":\"x\"}]}"),
                              &t, in, "2024-05-01T09:00:00", id, sizeof(id),
                              &next, why, sizeof(why)), SY_EPROVIDER);
    /* a matching job whose id would change a URL */
    ck_assert_int_eq(r->found(&A, SY_STR("{\"results\":[{\"id\":\"../x\","
                                         "\"version\":\"o/m:v\",\"status\":"
                                         "\"starting\",\"created_at\":"
                                         "\"2024-05-01T10:00:00Z\",\"input\":"
                                         "{\"human\":\"data:a\",\"garm\":"
                                         "\"data:b\"}}]}"),
                              &t, in, "2024-05-01T09:00:00", id, sizeof(id),
                              &next, why, sizeof(why)), SY_EPROVIDER);
    json_object_put(in);
#undef PAGE
}
END_TEST

/* ----------------------------------------------------------- breaker */

static const sy_breaker_conf BC = {.window_ms = 10000, .min_requests = 4,
                                   .failure_pct = 50, .cooldown_ms = 1000,
                                   .probe_ttl_ms = 500};

static int
acquire(int64_t now)
{
    sy_breaker_ticket t;
    sy_breaker_mem_acquire("p:m", &BC, now, &t);
    return t.verdict;
}

static void
record(int64_t now, int result)
{
    sy_breaker_ticket t;
    sy_breaker_mem_acquire("p:m", &BC, now, &t);
    sy_breaker_mem_record("p:m", &BC, &t, result, 1000,
                          result == SY_BREAKER_FAILURE ? "server_error"
                                                       : NULL,
                          500, -1, now);
}

START_TEST(test_breaker_opens_on_rate_over_minimum)
{
    sy_breaker_mem_reset();
    record(0, SY_BREAKER_FAILURE);
    record(1, SY_BREAKER_FAILURE);
    record(2, SY_BREAKER_FAILURE); /* 3 of 3, under the minimum */
    ck_assert_int_eq(acquire(3), SY_BREAKER_ALLOW);
    record(4, SY_BREAKER_SUCCESS); /* 3 of 4: 75 % */
    ck_assert_int_eq(acquire(5), SY_BREAKER_REJECT);
    sy_breaker_info i;
    sy_breaker_mem_info("p:m", 5, &i);
    ck_assert_int_eq(i.state, SY_BREAKER_OPEN);
    ck_assert_str_eq(i.last_error, "server_error");
    ck_assert_int_eq(i.p50_us, 1000);

    /* neutral results (client errors) count for nothing */
    sy_breaker_mem_reset();
    for (int k = 0; k < 10; k++)
        record(k, SY_BREAKER_NEUTRAL);
    record(11, SY_BREAKER_FAILURE);
    record(12, SY_BREAKER_SUCCESS);
    record(13, SY_BREAKER_SUCCESS);
    record(14, SY_BREAKER_SUCCESS); /* 1 of 4 */
    ck_assert_int_eq(acquire(15), SY_BREAKER_ALLOW);

    /* failures older than the window are forgotten */
    sy_breaker_mem_reset();
    for (int k = 0; k < 3; k++)
        record(k, SY_BREAKER_FAILURE);
    record(20000, SY_BREAKER_FAILURE);
    ck_assert_int_eq(acquire(20001), SY_BREAKER_ALLOW);
}
END_TEST

START_TEST(test_breaker_half_open_single_probe)
{
    sy_breaker_ticket probe, other;
    sy_breaker_mem_reset();
    for (int k = 0; k < 4; k++)
        record(k, SY_BREAKER_FAILURE);
    ck_assert_int_eq(acquire(999), SY_BREAKER_REJECT);
    sy_breaker_mem_acquire("p:m", &BC, 1010, &probe);
    ck_assert_int_eq(probe.verdict, SY_BREAKER_PROBE);
    sy_breaker_mem_acquire("p:m", &BC, 1020, &other);
    ck_assert_int_eq(other.verdict, SY_BREAKER_REJECT);
    /* the probe fails: open for another cooldown */
    sy_breaker_mem_record("p:m", &BC, &probe, SY_BREAKER_FAILURE, 0,
                          "timeout", 0, -1, 1100);
    ck_assert_int_eq(acquire(2000), SY_BREAKER_REJECT);
    sy_breaker_mem_acquire("p:m", &BC, 2101, &probe);
    ck_assert_int_eq(probe.verdict, SY_BREAKER_PROBE);
    /* a prober that died: its probe expires after probe_ttl */
    sy_breaker_mem_acquire("p:m", &BC, 2700, &other);
    ck_assert_int_eq(other.verdict, SY_BREAKER_PROBE);
    sy_breaker_mem_record("p:m", &BC, &other, SY_BREAKER_SUCCESS, 10, NULL,
                          200, -1, 2710);
    ck_assert_int_eq(acquire(2711), SY_BREAKER_ALLOW);
    /* closed with a clean window: three failures do not reopen it */
    for (int k = 0; k < 3; k++)
        record(2720 + k, SY_BREAKER_FAILURE);
    ck_assert_int_eq(acquire(2730), SY_BREAKER_ALLOW);
}
END_TEST

START_TEST(test_breaker_retry_after_holds_callers_off)
{
    sy_breaker_ticket t;
    sy_breaker_mem_reset();
    sy_breaker_mem_acquire("p:m", &BC, 0, &t);
    sy_breaker_mem_record("p:m", &BC, &t, SY_BREAKER_FAILURE, 0,
                          "rate_limited", 429, 700, 10);
    sy_breaker_mem_acquire("p:m", &BC, 500, &t);
    ck_assert_int_eq(t.verdict, SY_BREAKER_REJECT);
    ck_assert(t.held);
    ck_assert_int_eq(t.wait_ms, 210);
    ck_assert_int_eq(acquire(711), SY_BREAKER_ALLOW);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ai");
    const TTest *const schema_tests[] = {
        test_schema_subset_is_checked,
        test_values_are_checked_against_every_rule,
        test_wire_forms_of_a_schema, NULL};
    sy_check_tcase(s, "schema", setup, teardown, schema_tests);
    const TTest *const wire_tests[] = {
        test_retry_after_seconds_and_dates,
        test_base64_round_trip_and_refusals, test_error_classes_of_answers,
        NULL};
    sy_check_tcase(s, "wire", setup, teardown, wire_tests);
    const TTest *const driver_tests[] = {
        test_openai_requests_and_answers, test_gemini_requests_and_answers,
        test_tryon_drivers_read_jobs_strictly,
        test_replicate_lookup_reads_the_list_strictly, NULL};
    sy_check_tcase(s, "drivers", setup, teardown, driver_tests);
    const TTest *const breaker_tests[] = {
        test_breaker_opens_on_rate_over_minimum,
        test_breaker_half_open_single_probe,
        test_breaker_retry_after_holds_callers_off, NULL};
    sy_check_tcase(s, "breaker", setup, teardown, breaker_tests);
    return sy_check_run(s);
}

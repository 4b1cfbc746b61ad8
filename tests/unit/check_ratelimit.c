/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_ratelimit.c - unit tests of the rate limiter and the admission
 * pipeline's answers without Redis (the
 * redis.url here cannot be parsed, so Redis is "down" at once): the
 * on_redis_down policies local (each responder's share, per key and
 * class), open and closed, the headers they set, a plan limit of 0, the
 * ai charge (the caller's share and the tenant's, counted in both or in
 * neither), and login throttling staying out of the way.  The Redis path is covered
 * by tests/integration/test_ratelimit.py.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sycheck.h"
#include "synthia/admission.h"
#include "synthia/arena.h"
#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/ratelimit.h"
#include "synthia/request.h"
#include "synthia/response.h"
#include "synthia/router.h"

static sy_arena A;
static sy_config C;
static char bad_url[] = "not-a-url";
static const sy_route read_route = {.method = "GET",
                                    .path = "/x",
                                    .auth = SY_AUTH_KEY,
                                    .rate = SY_RATE_READ};
static const sy_route write_route = {
    .method = "POST", .path = "/y", .auth = SY_AUTH_KEY, .rate = SY_RATE_WRITE};

static void
setup(void)
{
    sy_arena_init(&A, 4096, 1 << 20);
    memset(&C, 0, sizeof(C));
    C.workers = 2;
    C.redis_url = bad_url;
    C.redis_retry_ms = 60000;
    C.on_redis_down = SY_RL_DOWN_LOCAL;
    C.login_pair_limit = 1;
    C.login_account_limit = 1;
    C.login_address_limit = 1;
    C.login_window_ms = 60000;
    C.login_max_delay_ms = 60000;
    sy_conf = &C;
}

static void
teardown(void)
{
    sy_arena_cleanup(&A);
    sy_conf = NULL;
}

/* One request of key_id on route; returns the admission pipeline's
 * code. */
static int
charge(const char *key_id, const sy_route *route, int64_t limit, sy_res *res)
{
    static sy_req req;
    memset(&req, 0, sizeof(req));
    req.arena = &A;
    req.route = route;
    req.who.kind = SY_WHO_KEY;
    snprintf(req.who.key_id, sizeof(req.who.key_id), "%s", key_id);
    req.who.limits[route->rate] = limit;
    sy_res_init(res, &A, &req, 1 << 16);
    return sy_admission_pipeline(&req, res);
}

static bool
header_is(const sy_res *res, const char *name, const char *want)
{
    return sy_str_eqc(sy_res_get_header(res, name), want);
}

START_TEST(test_local_allows_each_responder_its_share)
{
    sy_res res;
    const char *k = "00000000-0000-4000-8000-000000000001";
    /* limit 5 over 2 workers: ceil(5 / 2) = 3 here */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(charge(k, &read_route, 5, &res), 0);
        ck_assert(header_is(&res, "RateLimit-Degraded", "1"));
        ck_assert(header_is(&res, "RateLimit-Limit", "3"));
    }
    ck_assert(header_is(&res, "RateLimit-Remaining", "0"));
    ck_assert(header_is(&res, "RateLimit-Policy", "\"read\";q=3;w=60"));
    ck_assert_int_eq(charge(k, &read_route, 5, &res), SY_ERATE);
    ck_assert_int_eq(res.status, 429);
    ck_assert(sy_res_get_header(&res, "Retry-After").p != NULL);
    ck_assert(header_is(&res, "RateLimit-Degraded", "1"));
    ck_assert(sy_ratelimit_degraded());
}
END_TEST

START_TEST(test_local_counts_keys_and_classes_apart)
{
    sy_res res;
    const char *k1 = "00000000-0000-4000-8000-000000000002";
    const char *k2 = "00000000-0000-4000-8000-000000000003";
    ck_assert_int_eq(charge(k1, &read_route, 1, &res), 0);
    ck_assert_int_eq(charge(k1, &read_route, 1, &res), SY_ERATE);
    ck_assert_int_eq(charge(k2, &read_route, 1, &res), 0);
    ck_assert_int_eq(charge(k1, &write_route, 1, &res), 0);
}
END_TEST

START_TEST(test_limit_zero_refuses_the_class)
{
    sy_res res;
    const char *k = "00000000-0000-4000-8000-000000000004";
    ck_assert_int_eq(charge(k, &write_route, 0, &res), SY_ERATE);
    ck_assert(header_is(&res, "RateLimit-Limit", "0"));
}
END_TEST

START_TEST(test_open_allows_and_says_degraded)
{
    sy_res res;
    const char *k = "00000000-0000-4000-8000-000000000005";
    C.on_redis_down = SY_RL_DOWN_OPEN;
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(charge(k, &read_route, 1, &res), 0);
    ck_assert(header_is(&res, "RateLimit-Degraded", "1"));
}
END_TEST

START_TEST(test_closed_refuses_with_503)
{
    sy_res res;
    const char *k = "00000000-0000-4000-8000-000000000006";
    C.on_redis_down = SY_RL_DOWN_CLOSED;
    ck_assert_int_lt(charge(k, &read_route, 100, &res), 0);
    ck_assert_int_eq(res.status, 503);
    ck_assert_str_eq(res.problem_code, "storage_unavailable");
}
END_TEST

/* Without Redis, policy local: each responder allows its share of the
 * caller's window and of the tenant's budget, and a refusal by either
 * counts in neither. */
START_TEST(test_ai_charge_local_shares_both_or_neither)
{
    const char *t = "00000000-0000-4000-8000-0000000000a1";
    sy_rl_ai d;
    /* caller 3 / 2 workers = 2, tenant 5 / 2 = 3 */
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(sy_ratelimit_ai(&A, t, "k:one", 3, 5, &d), 0);
        ck_assert(d.allowed && d.degraded && d.per_caller);
    }
    ck_assert_int_eq(d.caller.remaining, 0);
    ck_assert_int_eq(d.tenant.remaining, 1);
    ck_assert_int_eq(sy_ratelimit_ai(&A, t, "k:one", 3, 5, &d), 0);
    ck_assert(!d.allowed && !d.caller.allowed && d.tenant.allowed);
    ck_assert_int_eq(d.tenant.remaining, 1); /* not counted */
    ck_assert_int_eq(sy_ratelimit_ai(&A, t, "u:two", 3, 5, &d), 0);
    ck_assert(d.allowed);
    ck_assert_int_eq(d.tenant.remaining, 0);
    ck_assert_int_eq(sy_ratelimit_ai(&A, t, "u:two", 3, 5, &d), 0);
    ck_assert(!d.allowed && d.caller.allowed && !d.tenant.allowed);
    ck_assert_int_eq(d.caller.remaining, 1); /* not counted either */
    /* a caller without a window of its own: the tenant's alone */
    ck_assert_int_eq(sy_ratelimit_ai(&A, t, "u:three", -1, 5, &d), 0);
    ck_assert(!d.allowed && !d.per_caller && !d.tenant.allowed);
}
END_TEST

START_TEST(test_ai_charge_open_and_closed)
{
    const char *t = "00000000-0000-4000-8000-0000000000a2";
    sy_rl_ai d;
    C.on_redis_down = SY_RL_DOWN_OPEN;
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(sy_ratelimit_ai(&A, t, "k:x", 1, 1, &d), 0);
        ck_assert(d.allowed && d.degraded);
    }
    C.on_redis_down = SY_RL_DOWN_CLOSED;
    ck_assert_int_eq(sy_ratelimit_ai(&A, t, "k:x", 100, 100, &d), SY_EREDIS);
}
END_TEST

START_TEST(test_unkeyed_requests_are_not_limited)
{
    sy_req req;
    sy_res res;
    memset(&req, 0, sizeof(req));
    req.arena = &A;
    req.route = &read_route;
    req.who.kind = SY_WHO_USER;
    sy_res_init(&res, &A, &req, 1 << 16);
    ck_assert_int_eq(sy_admission_pipeline(&req, &res), 0);
    ck_assert_int_eq(res.nheaders, 0);
}
END_TEST

START_TEST(test_login_guard_without_redis_lets_logins_through)
{
    int64_t retry = -1;
    for (int i = 0; i < 5; i++) {
        sy_login_guard_record(&A, SY_STR("a@example.com"), "",
                              SY_STR("192.0.2.1"), false);
        ck_assert_int_eq(sy_login_guard_check(&A, SY_STR("a@example.com"), "",
                                              SY_STR("192.0.2.1"), &retry),
                         0);
    }
    ck_assert_int_eq(retry, -1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ratelimit");
    const TTest *const without_redis_tests[] = {
        test_local_allows_each_responder_its_share,
        test_local_counts_keys_and_classes_apart,
        test_limit_zero_refuses_the_class, test_open_allows_and_says_degraded,
        test_closed_refuses_with_503, test_unkeyed_requests_are_not_limited,
        test_ai_charge_local_shares_both_or_neither,
        test_ai_charge_open_and_closed,
        test_login_guard_without_redis_lets_logins_through, NULL};
    sy_check_tcase(s, "without_redis", setup, teardown, without_redis_tests);
    return sy_check_run(s);
}

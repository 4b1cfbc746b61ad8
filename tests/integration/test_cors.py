#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""CORS through nginx (API.md "Rate limits and CORS"): preflights on
/api/v1/ paths, allowed for cors.origins (with credentials) and for any
active tenant's origins (without); actual responses echo an allowed
Origin with Vary: Origin -- a key's tenant origins for API-key calls,
cors.origins for everyone else -- and a disallowed Origin gets no CORS
headers at all, errors included.  Never "*"."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only

import sylib
from keylib import cors_headers, keyed, make_key, make_tenant, tag

APP = "https://app.example.com"      # cors.origins: the first-party SPA
SHOP = "https://shop-%s.example" % tag()  # a tenant's storefront
EVIL = "https://evil.example"

SHARED_STACK = dict(workers=2, extra_config="[cors]\norigins = %s "
                    "http://localhost:3000\nmax_age = 10m\n" % APP)


def preflight(stack, path, origin, method="POST"):
    return stack.request("OPTIONS", path, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type, x-api-key"})


def assert_no_cors(r):
    assert cors_headers(r) == [], "CORS headers for a disallowed origin: %r" % r


def assert_echoed(r, origin, credentials):
    h = r.headers
    assert h.get_all("Access-Control-Allow-Origin") == [origin], r
    assert "Origin" in [v.strip() for v in ",".join(h.get_all("Vary")).split(",")], r
    if credentials:
        assert h.get("Access-Control-Allow-Credentials") == "true", r
    else:
        assert "Access-Control-Allow-Credentials" not in h, r


# ------------------------------------------------------------ preflight


def test_preflight_for_configured_origin(stack):
    r = preflight(stack, "/api/v1/auth/login", APP)
    assert r.status == 204 and r.body == b"", r
    assert_echoed(r, APP, credentials=True)
    methods = [m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")]
    assert "POST" in methods, r
    allowed = r.headers["Access-Control-Allow-Headers"].lower()
    for name in ("authorization", "content-type", "x-api-key",
                 "x-csrf-token", "idempotency-key"):
        assert name in allowed, r
    assert r.headers["Access-Control-Max-Age"] == "600", r


def test_preflight_for_a_tenant_origin(stack):
    make_tenant(stack, origins=[SHOP])
    r = preflight(stack, "/api/v1/auth/register", SHOP)
    assert r.status == 204, r
    assert_echoed(r, SHOP, credentials=False)


def test_preflight_lists_the_path_methods(stack):
    r = preflight(stack, "/api/v1/tenant", APP, method="PATCH")
    assert r.status == 204, r
    methods = {m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "PATCH"} <= methods, r


def test_preflight_for_disallowed_origin_has_no_cors_headers(stack):
    r = preflight(stack, "/api/v1/auth/login", EVIL)
    assert r.status == 204, r
    assert_no_cors(r)


def test_preflight_for_inactive_tenants_origin_is_refused(stack):
    gone = "https://gone-%s.example" % tag()
    make_tenant(stack, origins=[gone], active=False)
    assert_no_cors(preflight(stack, "/api/v1/auth/register", gone))


def test_preflight_on_unknown_path_is_404(stack):
    r = preflight(stack, "/api/v1/nothing-here", APP)
    sylib.assert_problem(r, 404, "not_found")


# ------------------------------------------------------ actual requests


def test_anonymous_request_from_configured_origin(stack):
    r = stack.get("/api/v1/plans", headers={"Origin": APP})
    assert r.status == 200, r
    assert_echoed(r, APP, credentials=True)
    exposed = r.headers["Access-Control-Expose-Headers"]
    for name in ("X-Request-Id", "RateLimit", "Retry-After", "ETag"):
        assert name in exposed, r


def test_disallowed_origin_gets_no_cors_headers(stack):
    r = stack.get("/api/v1/plans", headers={"Origin": EVIL})
    assert r.status == 200, r
    assert_no_cors(r)
    assert "Origin" in r.headers.get("Vary", ""), r


def test_errors_carry_cors_headers_too(stack):
    r = stack.get("/api/v1/auth/me", headers={"Origin": APP})
    sylib.assert_problem(r, 401, "unauthorized")
    assert_echoed(r, APP, credentials=True)


def test_key_request_uses_the_tenants_origins(stack):
    tid, _ = make_tenant(stack, origins=[SHOP])
    sk, _ = make_key(stack, tid)
    r = keyed(stack, sk, headers={"Origin": SHOP})
    assert r.status == 200, r
    assert_echoed(r, SHOP, credentials=False)
    # the config's origins are for token and cookie clients, not keys
    r = keyed(stack, sk, headers={"Origin": APP})
    sylib.assert_problem(r, 403, "forbidden")
    assert_no_cors(r)


def test_publishable_key_from_disallowed_origin_is_refused(stack):
    tid, _ = make_tenant(stack, origins=[SHOP])
    pk, _ = make_key(stack, tid, kind="pk")
    body = {"email": "u-%s@example.com" % tag(),
            "password": "correct horse battery staple", "name": "U"}
    r = keyed(stack, pk, "/api/v1/auth/register", "POST", body,
              headers={"Origin": EVIL})
    sylib.assert_problem(r, 403, "forbidden")
    assert_no_cors(r)
    r = keyed(stack, pk, "/api/v1/auth/register", "POST", body,
              headers={"Origin": SHOP})
    assert r.status == 201, r
    assert_echoed(r, SHOP, credentials=False)


def test_never_a_wildcard(stack):
    for origin in (APP, SHOP, EVIL, "null"):
        for r in (stack.get("/api/v1/plans", headers={"Origin": origin}),
                  preflight(stack, "/api/v1/auth/login", origin)):
            assert "*" not in r.headers.get_all(
                "Access-Control-Allow-Origin"), r


def db_errors(stack, since):
    log = stack.read_log("synthia.log")[since:]
    return [line for line in log.splitlines() if '"db_' in line
            or "storage" in line]


def test_preflight_with_a_hostile_origin_never_reaches_postgresql(stack):
    # issue 10, item 7: an Origin of invalid UTF-8 became a database
    # error, and one over the length of any origin was never remembered,
    # so each such preflight asked PostgreSQL.  Neither can be any
    # tenant's origin: both are refused without a query, as PostgreSQL
    # being down shows (the control below proves a query would be seen).
    hostile = [b"https://\xc0\xafevil.example",       # overlong
               b"https://\xed\xa0\x80.example",        # surrogate
               b"https://\xf4\x90\x80\x80.example",    # above U+10FFFF
               b"https://evil.example\xe2\x82",       # truncated
               b"https://caf\xc3\xa9.example",         # valid, not ASCII
               b"https://evil.example\x01",            # a control
               b"https://evil .example",               # a space
               ("https://%s.example" % ("a" * 300)).encode()]  # too long
    stack.stop_pg()
    try:
        mark = len(stack.read_log("synthia.log"))
        for origin in hostile:
            for _ in range(2):  # the second would be a cache miss again
                r = preflight(stack, "/api/v1/products", origin)
                assert r.status == 204, r
                assert_no_cors(r)
        assert db_errors(stack, mark) == [], db_errors(stack, mark)
        # control: a plain unknown origin is asked of PostgreSQL, fails
        # (and so is refused, and logged)
        r = preflight(stack, "/api/v1/products",
                      "https://unknown-%s.example" % tag())
        assert r.status == 204, r
        assert_no_cors(r)
        sylib.wait_until(lambda: db_errors(stack, mark), timeout=5,
                         what="a database error for the control")
    finally:
        stack.start_pg()
    sylib.wait_until(lambda: stack.get("/health/ready").status == 200,
                     timeout=30, what="ready again")


sylib.main(globals())

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""AI limits through nginx (issue 11, API.md "Rate limits and CORS"): the
ai class is charged only when the analyser actually runs (a refused,
invalid or not-found request costs a read, not an ai); a tenant's
signed-in users (bearer and cookie) are limited per user on every class;
the tenant's ai budget (plans.ai_tenant_per_min) caps the sum over its
keys and users, exactly, even under concurrency; the RateLimit headers
show the ai windows; /metrics counts the decisions.  Erasure (DELETE
/users/me) takes the user's uploads, analyses, feedback and cached AI
results, and nobody else's.

Plans, tenants and keys are made with psql (keylib.py); users with
`synthia admin`; photos with tests/tools/syimg."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import itertools
import os
import re
import subprocess
import time
import uuid

import sylib
import syid
from keylib import (PASSWORD, bearer, burst, keyed, make_key, make_plan,
                    make_tenant, redis, tag, user_token)

SHARED_STACK = dict(workers=2)
TEST_TIMEOUT = 180

CHROMATIC = "/api/v1/analysis/chromatic"
SYIMG = os.path.join(sylib.BUILDDIR, "tests", "tools", "syimg")
_seq = itertools.count(1)


def photo():
    """A small portrait the analyser finds skin in (JPEG), a different
    one each call (its noise seed moves: JPEG would merge colours a unit
    apart), so that every upload is a miss of the AI result cache."""
    return subprocess.run(
        [SYIMG, "jpeg", "160", "160", "portrait", "e0ac90", "3a2a20",
         "c8d0d8", str(next(_seq))],
        check=True, capture_output=True, timeout=30).stdout


def away_from_minute_end(margin=10):
    """Start well inside a minute, so that no count of these tests moves
    to the previous minute's weight half-way (same clock as Redis)."""
    if time.time() % 60 > 60 - margin:
        time.sleep(60.5 - time.time() % 60)


def upload(stack, headers):
    h = dict(headers)
    h["Content-Type"] = "image/jpeg"
    r = stack.request("POST", "/api/v1/uploads", body=photo(), headers=h)
    assert r.status == 201, r
    return r.json()["id"]


def analyse(stack, headers, upload_id):
    return stack.request("POST", CHROMATIC, body={"upload_id": upload_id},
                         headers=headers)


def items(value):
    """{name: {param: int}} of a RateLimit-Policy or RateLimit field."""
    out = {}
    for item in value.split(","):
        m = re.match(r'^\s*"([a-z_]+)"((?:;[a-z]=\d+)+)\s*$', item)
        assert m, "malformed item %r in %r" % (item, value)
        out[m.group(1)] = {k: int(v) for k, v in
                           re.findall(r";([a-z])=(\d+)", m.group(2))}
    return out


def ai_headers(r):
    """The RateLimit fields of an answer whose ai class was charged."""
    h = r.headers
    policy, field = items(h["RateLimit-Policy"]), items(h["RateLimit"])
    assert set(policy) == set(field), r
    assert "read" in policy and "ai_tenant" in policy, r
    for name in policy:
        assert policy[name]["w"] == 60, r
    return dict(policy=policy, field=field,
                limit=int(h["RateLimit-Limit"]),
                remaining=int(h["RateLimit-Remaining"]),
                reset=int(h["RateLimit-Reset"]))


def ai_count(stack, tid):
    """This minute's count of the tenant's ai budget in Redis."""
    c = redis(stack, "HGET", "sy:{t:%s}:rl:ai" % tid, "c")
    return int(c) if c else 0


def shop(stack, ai=2, ai_tenant=100, read=1000):
    tid, slug = make_tenant(stack, make_plan(stack, read=read, write=1000,
                                             ai=ai, ai_tenant=ai_tenant))
    return tid, slug


def test_only_a_running_analyser_costs_ai(stack):
    away_from_minute_end()
    tid, _ = shop(stack, ai=2)
    other, _ = shop(stack)
    key, _ = make_key(stack, tid)
    okey, _ = make_key(stack, other)
    hk = {"X-API-Key": key}
    mine = upload(stack, hk)
    theirs = upload(stack, {"X-API-Key": okey})
    # refused and invalid requests: a read each, never an ai
    for _ in range(3):
        for body in ({}, {"upload_id": "nope"}):
            r = stack.request("POST", CHROMATIC, body=body, headers=hk)
            sylib.assert_problem(r, 422, "validation_failed")
            assert items(r.headers["RateLimit-Policy"]).keys() == {"read"}, r
        sylib.assert_problem(analyse(stack, hk, str(uuid.uuid4())),
                             404, "upload_not_found")
        sylib.assert_problem(analyse(stack, hk, theirs), 404,
                             "upload_not_found")
    assert ai_count(stack, tid) == 0
    # the analyser runs: ai charged, the headers show it
    for left, up in ((1, mine), (0, upload(stack, hk))):
        r = analyse(stack, hk, up)
        assert r.status == 201, r
        h = ai_headers(r)
        assert h["policy"]["ai"]["q"] == 2, h
        assert h["field"]["ai"]["r"] == left, h
        assert h["policy"]["ai_tenant"]["q"] == 100, h
        assert h["field"]["ai_tenant"]["r"] == 99 - (1 - left), h
        assert (h["limit"], h["remaining"]) == (2, left), h
    assert ai_count(stack, tid) == 2
    # a repeat is answered by the AI result cache: a read, no ai
    r = analyse(stack, hk, mine)
    assert r.status == 201 and r.headers["X-Cache"] == "HIT", r
    assert items(r.headers["RateLimit-Policy"]).keys() == {"read"}, r
    assert ai_count(stack, tid) == 2
    r = analyse(stack, hk, upload(stack, hk))
    sylib.assert_problem(r, 429, "rate_limited")
    h = ai_headers(r)
    assert (h["limit"], h["remaining"]) == (2, 0), h
    assert 1 <= int(r.headers["Retry-After"]) <= 120, r
    assert int(r.headers["Retry-After"]) == h["field"]["ai"]["t"], r
    assert ai_count(stack, tid) == 2  # a refusal is not counted
    # with the ai window used up, what never reaches the analyser is not
    # refused for it
    sylib.assert_problem(stack.request("POST", CHROMATIC, body={},
                                       headers=hk), 422, "validation_failed")
    sylib.assert_problem(analyse(stack, hk, theirs), 404, "upload_not_found")
    assert stack.get("/api/v1/products", headers=hk).status == 200
    # the other tenant's budget is its own
    assert analyse(stack, {"X-API-Key": okey}, theirs).status == 201


def test_shoppers_are_limited_per_user_on_every_class(stack):
    away_from_minute_end()
    tid, slug = shop(stack, ai=1, read=3)
    alice = bearer(user_token(stack, slug, "shopper"))
    bob = bearer(user_token(stack, slug, "shopper"))
    for left in (2, 1, 0):
        r = stack.get("/api/v1/products", headers=alice)
        assert r.status == 200, r
        assert r.headers["RateLimit-Policy"] == '"read";q=3;w=60', r
        assert r.headers["RateLimit-Remaining"] == str(left), r
    r = stack.get("/api/v1/products", headers=alice)
    sylib.assert_problem(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1, r
    # Bob has a window of his own
    r = stack.get("/api/v1/products", headers=bob)
    assert r.status == 200 and r.headers["RateLimit-Remaining"] == "2", r
    # and so does a cookie client
    email = "cookie-%s@example.com" % tag()
    syid.synthia(stack, "admin", "create-user", "--tenant", slug, "--email",
                 email, "--role", "shopper", "--password-stdin",
                 stdin=PASSWORD + "\n")
    r = stack.request("POST", "/api/v1/auth/login", body={
        "email": email, "password": PASSWORD, "tenant": slug, "cookie": True})
    assert r.status == 200, r
    jar = syid.set_cookies(r)
    cookie = {"Cookie": syid.cookie_header(sy_access=jar["sy_access"][0])}
    for _ in range(3):
        assert stack.get("/api/v1/products", headers=cookie).status == 200
    sylib.assert_problem(stack.get("/api/v1/products", headers=cookie), 429,
                         "rate_limited")


def test_shoppers_ai_window_is_their_own(stack):
    away_from_minute_end()
    tid, slug = shop(stack, ai=1, ai_tenant=100)
    alice = bearer(user_token(stack, slug, "shopper"))
    bob = bearer(user_token(stack, slug, "shopper"))
    up_a, up_b = upload(stack, alice), upload(stack, bob)
    r = analyse(stack, alice, up_a)
    assert r.status == 201, r
    h = ai_headers(r)
    assert h["policy"]["ai"]["q"] == 1 and h["field"]["ai"]["r"] == 0, h
    sylib.assert_problem(analyse(stack, alice, upload(stack, alice)), 429,
                         "rate_limited")
    r = analyse(stack, bob, up_b)
    assert r.status == 201, r
    assert ai_count(stack, tid) == 2


def test_tenant_budget_caps_two_keys_exactly(stack):
    away_from_minute_end()
    tid, slug = shop(stack, ai=5, ai_tenant=3)
    k1, _ = make_key(stack, tid)
    k2, _ = make_key(stack, tid)
    ups = [upload(stack, {"X-API-Key": k1}) for _ in range(4)]
    assert analyse(stack, {"X-API-Key": k1}, ups[0]).status == 201
    assert analyse(stack, {"X-API-Key": k2}, ups[1]).status == 201
    r = analyse(stack, {"X-API-Key": k2}, ups[2])
    assert r.status == 201, r
    h = ai_headers(r)
    # the budget is the window closest to refusing now
    assert (h["limit"], h["remaining"]) == (3, 0), h
    assert h["field"]["ai"]["r"] == 3, h  # k2's own window: 5 - 2
    r = analyse(stack, {"X-API-Key": k1}, ups[3])
    sylib.assert_problem(r, 429, "rate_limited")
    assert "budget" in r.json()["detail"], r.json()
    h = ai_headers(r)
    assert (h["limit"], h["remaining"]) == (3, 0), h
    assert int(r.headers["Retry-After"]) == h["field"]["ai_tenant"]["t"], r
    # the key's own window was not charged by the refusal
    assert h["field"]["ai"]["r"] == 4, h
    assert ai_count(stack, tid) == 3


def test_tenant_budget_is_exact_under_concurrency(stack):
    away_from_minute_end(margin=15)
    tid, slug = shop(stack, ai=100, ai_tenant=4)
    keys = [make_key(stack, tid)[0] for _ in range(2)]
    shopper = bearer(user_token(stack, slug, "shopper"))
    # distinct photos: identical ones would make one analysis (single
    # flight) and answer the rest from the cache, costing no ai
    callers = [({"X-API-Key": keys[i % 2]},
                upload(stack, {"X-API-Key": keys[i % 2]})) for i in range(8)]
    callers += [(shopper, upload(stack, shopper)) for _ in range(4)]
    away_from_minute_end()  # the uploads took a while: the burst in one minute
    n = itertools.count()

    def one():
        hdr, u = callers[next(n)]
        r = analyse(stack, hdr, u)
        return r.status, r.headers.get("X-Cache")
    answers = burst(len(callers), one)
    assert all(x != "HIT" for _, x in answers), answers
    statuses = [st for st, _ in answers]
    assert sorted(statuses).count(201) == 4, statuses
    assert set(statuses) == {201, 429}, statuses
    assert ai_count(stack, tid) == 4


def test_decisions_are_in_metrics(stack):
    away_from_minute_end()
    tid, _ = shop(stack, ai=1, ai_tenant=1)
    key, _ = make_key(stack, tid)
    hk = {"X-API-Key": key}
    assert analyse(stack, hk, upload(stack, hk)).status == 201
    assert analyse(stack, hk, upload(stack, hk)).status == 429
    text = stack.get("/metrics").text()
    for cls, result in (("ai", "allowed"), ("ai_tenant", "allowed"),
                        ("ai", "refused"), ("ai_tenant", "refused"),
                        ("read", "allowed")):
        m = re.search(r'^synthia_ratelimit_decisions_total\{class="%s",'
                      r'result="%s"\} (\d+)$' % (cls, result), text, re.M)
        assert m and int(m.group(1)) >= 1, (cls, result)
    assert re.search(r'^synthia_memcache_\w+_total\{cache="tenant_plans"\}',
                     text, re.M), "tenant_plans cache not in /metrics"


def test_erasure_takes_uploads_analyses_feedback_and_cached_results(stack):
    tid, slug = shop(stack)
    key, _ = make_key(stack, tid)
    carol = bearer(user_token(stack, slug, "shopper"))
    dave = bearer(user_token(stack, slug, "shopper"))
    carol_id = stack.get("/api/v1/auth/me", headers=carol).json()["id"]
    dave_id = stack.get("/api/v1/auth/me", headers=dave).json()["id"]
    gone = [upload(stack, carol), upload(stack, carol)]
    kept = [upload(stack, dave), upload(stack, {"X-API-Key": key})]
    r = analyse(stack, carol, gone[0])
    assert r.status == 201, r
    aid = r.json()["id"]
    r = stack.request("POST", "/api/v1/feedback", headers=carol, body={
        "target_type": "analysis", "target_id": aid, "rating": 4})
    assert r.status == 201, r
    kept_aid = analyse(stack, dave, kept[0]).json()["id"]
    # cached AI results are tagged with their user in the key name
    # (cachekey.c): sy:{t:<tenant>}:c:analysis:u:<user>:<hash>
    cached = {u: "sy:{t:%s}:c:analysis:u:%s:%s" % (tid, u, "ab" * 8)
              for u in (carol_id, dave_id)}
    for k in cached.values():
        redis(stack, "SET", k, "x", "EX", "600")
    r = stack.request("DELETE", "/api/v1/users/me", headers=carol)
    assert r.status == 204, r
    live = redis(stack, "ZRANGE", "sy:{t:%s}:uploads" % tid, "0", "-1")
    assert set(live.split()) == set(kept), live
    for u in gone:
        assert redis(stack, "EXISTS", "sy:{t:%s}:up:%s" % (tid, u)) == "0"
    for u in kept:
        assert redis(stack, "EXISTS", "sy:{t:%s}:up:%s" % (tid, u)) == "1"
    assert redis(stack, "EXISTS", cached[carol_id]) == "0"
    assert redis(stack, "EXISTS", cached[dave_id]) == "1"
    left = syid.psql(stack, """
        SELECT (SELECT count(*) FROM analyses WHERE user_id = :'u'),
               (SELECT count(*) FROM feedback WHERE user_id = :'u'),
               (SELECT count(*) FROM analyses WHERE id = :'k')""",
                     u=carol_id, k=kept_aid)
    assert left == [["0", "0", "1"]], left
    # what was erased is gone for the tenant's key too
    sylib.assert_problem(analyse(stack, {"X-API-Key": key}, gone[1]), 404,
                         "upload_not_found")
    assert analyse(stack, {"X-API-Key": key}, kept[1]).status == 201


sylib.main(globals())

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Rate limits through nginx (API.md "Rate limits and CORS"): per key and
cost class by the tenant's plan, exact under concurrency, the RateLimit
headers and 429 with Retry-After, plan changes taking effect at once,
token leasing (exact over every responder for limits 1, 2, 7 and 100,
never over across a minute boundary, unspent tokens given back by
responders that exit so a restarted pool is not starved),
ratelimit.on_redis_down = local | open | closed with RateLimit-Degraded,
and failed-login throttling (per account and address pair with a
doubling delay, per address, reset by a success).

Plans, tenants and keys are made with psql (keylib.py); users with
`synthia admin`."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import os
import re
import signal
import threading
import time

import sylib
from keylib import (PASSWORD, admin, bearer, burst, keyed, login, make_key,
                    make_plan, make_tenant, redis, sysadmin_token, tag)

SHARED_STACK = dict(workers=2)
TEST_TIMEOUT = 150


POLICY = re.compile(r'^"(read|write|ai)";q=(\d+);w=60$')
FIELD = re.compile(r'^"(read|write|ai)";r=(\d+);t=(\d+)$')


def limit_headers(r):
    """The RateLimit fields of r, checked for consistency, as a dict."""
    h = r.headers
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
                 "RateLimit-Policy", "RateLimit"):
        assert name in h, "%s missing: %r" % (name, r)
    lim, rem, reset = (int(h["RateLimit-Limit"]),
                       int(h["RateLimit-Remaining"]),
                       int(h["RateLimit-Reset"]))
    p = POLICY.match(h["RateLimit-Policy"])
    f = FIELD.match(h["RateLimit"])
    assert p and f, "draft fields malformed: %r" % (r,)
    assert p.group(1) == f.group(1), r
    assert int(p.group(2)) == lim, r
    assert (int(f.group(2)), int(f.group(3))) == (rem, reset), r
    assert 0 <= rem <= lim and 0 <= reset <= 120, r
    return dict(cls=p.group(1), limit=lim, remaining=rem, reset=reset)


def assert_refused(r, limit):
    sylib.assert_problem(r, 429, "rate_limited")
    info = limit_headers(r)
    assert info["limit"] == limit and info["remaining"] == 0, r
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 120, r
    assert retry == info["reset"], "Retry-After and reset differ: %r" % (r,)


def within_one_minute(fn):
    """A test of exact counts in one minute window: when it failed and its
    run did cross a minute's end (a slow step on a loaded machine: the
    previous minute's count weighs in, or the local count restarts), its
    counts say nothing; it runs again, up to three times.  A failure
    inside one minute is reported at once."""
    def run(stack):
        for attempt in range(3):
            start = int(time.time() // 60)
            try:
                return fn(stack)
            except AssertionError:
                if int(time.time() // 60) == start or attempt == 2:
                    raise
                print("# %s crossed a minute's end: run again"
                      % fn.__name__)
    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


def away_from_minute_end(margin=8):
    """Start well inside a minute: across a boundary the previous minute's
    count weighs in (Redis) or the count restarts (local fallback), so
    exact counts would differ.  Redis runs on this host: same clock."""
    if time.time() % 60 > 60 - margin:
        time.sleep(60.5 - time.time() % 60)


# ------------------------------------------------------------ Redis path


@within_one_minute
def test_limit_is_exact_under_concurrency(stack):
    n = 10
    tid, _ = make_tenant(stack, make_plan(stack, read=n))
    key, _ = make_key(stack, tid)
    away_from_minute_end()
    rs = burst(3 * n, lambda: keyed(stack, key))
    errors = [r for r in rs if not isinstance(r, sylib.Response)]
    assert not errors, errors[:3]
    ok = [r for r in rs if 200 <= r.status < 300]
    refused = [r for r in rs if r.status == 429]
    assert len(ok) == n and len(refused) == 2 * n, \
        "statuses: %r" % sorted(r.status for r in rs)
    # each allowed request saw its own place in the window
    assert sorted(limit_headers(r)["remaining"] for r in ok) == \
        list(range(n)), [r.headers.items() for r in ok]
    for r in ok:
        assert limit_headers(r)["limit"] == n, r
    for r in refused:
        assert_refused(r, n)


@within_one_minute
def test_headers_count_down_one_by_one(stack):
    tid, _ = make_tenant(stack, make_plan(stack, read=5))
    key, _ = make_key(stack, tid)
    away_from_minute_end()
    seen = []
    for _ in range(5):
        r = keyed(stack, key)
        assert r.status == 200, r
        info = limit_headers(r)
        assert info["cls"] == "read" and info["limit"] == 5, r
        assert 1 <= info["reset"] <= 60, r
        seen.append(info["remaining"])
    assert seen == [4, 3, 2, 1, 0], seen
    assert_refused(keyed(stack, key), 5)


@within_one_minute
def test_keys_and_classes_have_their_own_budgets(stack):
    tid, _ = make_tenant(stack, make_plan(stack, read=2, write=50))
    key_a, _ = make_key(stack, tid)
    key_b, _ = make_key(stack, tid)
    away_from_minute_end()
    for _ in range(2):
        assert keyed(stack, key_a).status == 200
    assert keyed(stack, key_a).status == 429
    r = keyed(stack, key_b)
    assert r.status == 200 and limit_headers(r)["remaining"] == 1, r
    # a write (sign-up) is counted in its own class
    r = keyed(stack, key_a, "/api/v1/auth/register", "POST",
              {"email": "u%s@example.com" % tag(), "password": PASSWORD,
               "name": "U"})
    assert r.status != 429, r
    info = limit_headers(r)
    assert info["cls"] == "write" and info["limit"] == 50, r


def test_limit_zero_refuses_the_class(stack):
    tid, _ = make_tenant(stack, make_plan(stack, read=0))
    key, _ = make_key(stack, tid)
    r = keyed(stack, key)
    assert_refused(r, 0)


@within_one_minute
def test_plan_change_takes_effect_at_once(stack):
    small, big = make_plan(stack, read=3), make_plan(stack, read=50)
    tid, _ = make_tenant(stack, small)
    key, _ = make_key(stack, tid)
    away_from_minute_end()
    for _ in range(3):
        assert keyed(stack, key).status == 200
    assert_refused(keyed(stack, key), 3)
    token = sysadmin_token(stack)
    r = stack.request("PATCH", "/api/v1/tenants/" + tid, body={"plan": big},
                      headers=bearer(token))
    assert r.status == 200, r
    # the cached key lookup was dropped: the next request has the new plan
    r = keyed(stack, key)
    assert r.status == 200, r
    assert limit_headers(r)["limit"] == 50, r
    r = stack.request("PATCH", "/api/v1/tenants/" + tid,
                      body={"plan": small}, headers=bearer(token))
    assert r.status == 200, r
    assert_refused(keyed(stack, key), 3)


def test_counters_live_in_redis_under_the_key_tag(stack):
    tid, _ = make_tenant(stack, make_plan(stack, read=7))
    key, kid = make_key(stack, tid)
    assert keyed(stack, key).status == 200
    assert redis(stack, "HGET", "sy:{k:%s}:rl:read" % kid, "c") == "1"


# ----------------------------------------------------------- token leases


def metric(stack, series):
    """The pool's total of one series of a counter."""
    r = stack.get("/metrics")
    assert r.status == 200, r
    m = re.search(r"^%s (\d+)$" % re.escape(series), r.text(), re.M)
    assert m, "%s missing" % series
    return int(m.group(1))


LEASED = 'synthia_ratelimit_leases_total{result="allowed"}'



def window(stack, kid):
    """The key's read window in Redis: (minute, count, previous)."""
    v = redis(stack, "HMGET", "sy:{k:%s}:rl:read" % kid, "w", "c",
              "p").split("\n")
    return tuple(int(x) if x else 0 for x in v)


@sylib.own_stack(workers=4)
@within_one_minute
def test_leases_exact_over_every_responder(stack):
    """Limit N, 3N requests at once spread over all four responders:
    exactly N succeed, for small limits (tokens one at a time) and a
    larger one (batches); remaining never above what is left."""
    for n in (1, 2, 7, 100):
        tid, _ = make_tenant(stack, make_plan(stack, read=n))
        key, kid = make_key(stack, tid)
        away_from_minute_end(margin=10)
        before = metric(stack, LEASED)
        rs = burst(3 * n, lambda: keyed(stack, key))
        errors = [r for r in rs if not isinstance(r, sylib.Response)]
        assert not errors, errors[:3]
        ok = [r for r in rs if r.status == 200]
        refused = [r for r in rs if r.status == 429]
        assert len(ok) == n and len(refused) == 2 * n, \
            "limit %d: statuses %r" % (n, sorted(r.status for r in rs))
        for r in ok:
            info = limit_headers(r)
            assert info["limit"] == n and info["remaining"] < n, r
        for r in refused:
            assert_refused(r, n)
        assert window(stack, kid)[1] == n  # nothing left on lease
        leases = metric(stack, LEASED) - before
        if n == 100:  # batches: fewer Redis decisions than successes
            assert leases < n, "%d leases for %d successes" % (leases, n)
        else:  # small limits: one token at a time
            assert leases == n, (n, leases)


def test_never_over_across_a_minute_boundary(stack):
    """Load across a minute boundary on two keys, one whose window fills
    (the old minute weighs in after the boundary) and one whose window
    does not (tokens are on lease at the boundary): every success counts
    in the minute it was served (a token leased in one minute is never
    spent in the next), Redis's counts equal the successes once the
    unspent are given back, and every success fits the sliding
    window."""
    tid, _ = make_tenant(stack, make_plan(stack, read=300))
    small = (300,) + make_key(stack, tid)
    tid, _ = make_tenant(stack, make_plan(stack, read=20000))
    large = (20000,) + make_key(stack, tid)
    now = time.time()
    start = now - now % 60 + 56
    if start < now + 1:
        start += 60
    boundary = start + 4
    time.sleep(start - time.time())
    seen = {small: [], large: []}
    lock = threading.Lock()

    def load(k):
        while time.time() < boundary + 4:
            t0 = time.time()
            r = keyed(stack, k[1])
            t1 = time.time()
            assert r.status in (200, 429), r
            with lock:
                seen[k].append((t0, t1, r.status))
    threads = [threading.Thread(target=load, args=(k,))
               for k in (small, large) * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(2.5)  # idle: unspent tokens given back
    for (n, _, kid), got in seen.items():
        ok = [(t0, t1) for t0, t1, s in got if s == 200]
        before = [x for x in ok if x[1] < boundary]   # served before it
        after = [x for x in ok if x[0] >= boundary]   # served after it
        w, c, p = window(stack, kid)
        print("# limit %d: %d requests, %d successes: %d before the "
              "boundary, %d after; Redis: c=%d p=%d"
              % (n, len(got), len(ok), len(before), len(after), c, p))
        assert len(ok) > 40 and len(after) > 0, (n, len(ok), len(after))
        assert w == int(boundary) // 60, (w, boundary)
        # exact accounting: nothing of the old minute spent in the new one
        assert len(before) <= p and len(after) <= c, \
            (n, len(before), p, len(after), c)
        assert c + p == len(ok), (n, c, p, len(ok))
        assert c <= n and p <= n
        # the sliding window: the new minute's successes up to each one,
        # plus the old minute's weighted by what of it is still inside
        for i, (t0, t1) in enumerate(sorted(after, key=lambda x: x[1])):
            e = t1 - boundary
            assert i + 1 + len(before) * (60 - e) / 60 <= n + 1e-9, \
                (n, i, e, len(before))
    assert len(seen[small]) > 300 + 40  # its window did fill


# leases live 3 s here: long enough to see them held between requests
LONG_LEASES = "[ratelimit]\nlease_ttl = 3s\n"


@sylib.own_stack(workers=2, extra_config=LONG_LEASES)
@within_one_minute
def test_leases_given_back_by_exiting_responders(stack):
    """Responders hold unspent tokens after a few requests; SIGTERM to
    every responder gives them back (the count in Redis falls to the
    successes), and the new responders get the rest of the window."""
    n = 100
    tid, _ = make_tenant(stack, make_plan(stack, read=n))
    key, kid = make_key(stack, tid)
    away_from_minute_end(margin=20)
    for _ in range(20):
        assert keyed(stack, key).status == 200
    held = window(stack, kid)[1]
    assert held > 20, "no tokens on lease: %d counted" % held
    old = stack.responder_pids()
    for pid in old:
        os.kill(pid, signal.SIGTERM)
    stack.wait_responders(exclude=old)
    assert window(stack, kid)[1] == 20
    rest = n - 20
    rs = burst(3 * rest, lambda: keyed(stack, key))
    got = sorted(getattr(r, "status", r) for r in rs)
    assert got == [200] * rest + [429] * (2 * rest), got


# ------------------------------------------------------------- Redis down


def redis_down_setup(stack, limit):
    tid, _ = make_tenant(stack, make_plan(stack, read=limit))
    key, _ = make_key(stack, tid)
    assert keyed(stack, key).status == 200  # Redis still up
    stack.stop_redis()
    return key


def degraded_metric(stack):
    r = stack.get("/metrics")
    assert r.status == 200, r
    m = re.search(r"^synthia_ratelimit_degraded_total(?:\{[^}]*\})? (\d+)",
                  r.text(), re.M)
    assert m, "synthia_ratelimit_degraded_total missing"
    return int(m.group(1))


def back_to_redis(stack, key):
    stack.start_redis()

    # every responder reconnects on its own (after redis.retry).  Requests
    # one after another ride one kept upstream connection, so one
    # responder: bursts of concurrent requests reach every responder, and
    # two bursts in a row must be decided by Redis
    def burst_decided():
        for r in burst(12, lambda: keyed(stack, key)):
            if getattr(r, "status", None) not in (200, 429) or \
                    "RateLimit-Degraded" in r.headers:
                return False
        return True
    sylib.wait_until(lambda: burst_decided() and burst_decided(), timeout=20,
                     what="limits decided by Redis again on every responder")


@sylib.own_stack(workers=2,
                 extra_config="[ratelimit]\non_redis_down = local\n")
@within_one_minute
def test_redis_down_local_enforces_each_responders_share(stack):
    key = redis_down_setup(stack, 6)
    away_from_minute_end(margin=12)  # after the (slow) setup
    try:
        rs = [keyed(stack, key) for _ in range(30)]
        ok = [r for r in rs if r.status == 200]
        # two responders, each allowing ceil(6 / 2) = 3 per minute (one,
        # allowing 6, under tests/valgrind.sh's --workers 0)
        share = -(-6 // stack.workers)
        assert share <= len(ok) <= 6, sorted(r.status for r in rs)
        assert all(r.status in (200, 429) for r in rs), rs
        for r in rs:
            assert r.headers.get("RateLimit-Degraded") == "1", r
            assert limit_headers(r)["limit"] == share, r
            if r.status == 429:
                sylib.assert_problem(r, 429, "rate_limited")
                assert int(r.headers["Retry-After"]) >= 1, r
        assert degraded_metric(stack) >= 30
    finally:
        back_to_redis(stack, key)


@sylib.own_stack(workers=2, extra_config="[ratelimit]\nlease_ttl = 60s\n")
@within_one_minute
def test_redis_down_with_tokens_on_lease_is_degraded(stack):
    """Responders holding leased tokens when Redis stops still answer as
    documented (on_redis_down = local, the default): every response
    degraded, limited to each responder's share."""
    tid, _ = make_tenant(stack, make_plan(stack, read=1000))
    key, kid = make_key(stack, tid)
    # after the setup (slow on a loaded machine): the 30 requests and the
    # look at the minute's count must fall in one minute
    away_from_minute_end(margin=12)
    # tokens on lease: the minute's count in Redis above the requests
    # sent.  Batches double per responder (1, 2, 4, 8, ...), so 30
    # requests split 15/15 over the two responders spend every token
    # leased (1+2+4+8 each): one more request leases a fresh batch
    sent = 0
    for _ in range(60):
        assert keyed(stack, key).status == 200
        sent += 1
        if sent >= 30 and window(stack, kid)[1] > sent:
            break
    assert window(stack, kid)[1] > sent, (window(stack, kid), sent)
    stack.stop_redis()
    try:
        share = -(-1000 // stack.workers)
        for _ in range(10):
            r = keyed(stack, key)
            assert r.status == 200, r
            assert r.headers.get("RateLimit-Degraded") == "1", r
            assert limit_headers(r)["limit"] == share, r
    finally:
        back_to_redis(stack, key)


@sylib.own_stack(workers=2,
                 extra_config="[ratelimit]\non_redis_down = open\n")
def test_redis_down_open_allows_everything(stack):
    key = redis_down_setup(stack, 2)
    try:
        rs = [keyed(stack, key) for _ in range(10)]
        assert all(r.status == 200 for r in rs), rs
        assert all(r.headers.get("RateLimit-Degraded") == "1" for r in rs), rs
    finally:
        back_to_redis(stack, key)


@sylib.own_stack(workers=2,
                 extra_config="[ratelimit]\non_redis_down = closed\n")
def test_redis_down_closed_refuses_with_503(stack):
    key = redis_down_setup(stack, 1000)  # back_to_redis spends some
    try:
        for _ in range(4):
            sylib.assert_problem(keyed(stack, key), 503,
                                 "storage_unavailable")
        # requests without a key are not rate limited at all
        assert stack.get("/api/v1/plans").status == 200
    finally:
        back_to_redis(stack, key)
    r = keyed(stack, key)
    assert r.status == 200, r


# ------------------------------------------------------- login throttling


@sylib.own_stack(workers=2, extra_config="[auth]\nlogin_pair_limit = 3\n"
                 "login_address_limit = 8\nlogin_max_delay = 3s\n")
def test_failed_logins_back_off_per_pair_then_per_address(stack):
    tid, slug = make_tenant(stack)
    email = "shopper-%s@example.com" % tag()
    admin(stack, "create-user", "--tenant", slug, "--email", email,
          "--role", "shopper", "--password-stdin", stdin=PASSWORD + "\n")
    for _ in range(3):
        sylib.assert_problem(login(stack, email.upper(), "wrong", slug), 401,
                             "unauthorized")
    # the pair is blocked for 1 s, whatever the case of the email
    r = login(stack, email, PASSWORD, slug)
    sylib.assert_problem(r, 429, "rate_limited")
    assert r.headers["Retry-After"] == "1", r
    time.sleep(1.2)
    sylib.assert_problem(login(stack, email, "wrong", slug), 401,
                         "unauthorized")
    r = login(stack, email, "wrong", slug)
    sylib.assert_problem(r, 429, "rate_limited")
    assert r.headers["Retry-After"] == "2", r  # doubled
    time.sleep(2.2)
    # a success resets the pair: the next failure is a plain 401
    assert login(stack, email, PASSWORD, slug).status == 200
    sylib.assert_problem(login(stack, email, "wrong", slug), 401,
                         "unauthorized")
    # Redis keys name accounts only by hash
    names = redis(stack, "--scan", "--pattern", "sy:{login}:*").split()
    assert names and not any("@" in n or "example" in n for n in names), names
    # 5 failures so far from this address; 3 more for other accounts
    for i in range(3):
        sylib.assert_problem(login(stack, "nobody%d@example.com" % i, "x",
                                   slug), 401, "unauthorized")
    r = login(stack, "someone-else@example.com", "x", slug)
    sylib.assert_problem(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) > 60, r  # until the window ends


@sylib.own_stack(workers=2)
def test_login_works_with_redis_down(stack):
    _, slug = make_tenant(stack)
    email = "shopper-%s@example.com" % tag()
    admin(stack, "create-user", "--tenant", slug, "--email", email,
          "--role", "shopper", "--password-stdin", stdin=PASSWORD + "\n")
    stack.stop_redis()
    try:
        for _ in range(7):  # no throttling without Redis
            sylib.assert_problem(login(stack, email, "wrong", slug), 401,
                                 "unauthorized")
        assert login(stack, email, PASSWORD, slug).status == 200
    finally:
        stack.start_redis()


sylib.main(globals())

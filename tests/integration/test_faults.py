#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Faults through nginx: Redis or PostgreSQL down and back, a responder
killed, SIGHUP under load (DESIGN.md, "Processes" and "Reliability")."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import os
import signal
import threading
import time

import sylib

SHARED_STACK = dict(workers=2)
TEST_TIMEOUT = 150


def health_is(stack, status):
    r = stack.get("/health")
    return r.status == 200 and r.json().get("status") == status


def test_redis_down_degrades(stack):
    stack.stop_redis()
    try:
        # /health answers from a short per-responder cache (1 s)
        sylib.wait_until(lambda: health_is(stack, "degraded"), timeout=5,
                         what="/health degraded with Redis down")

        r = stack.get("/health/storage")
        assert r.status in (200, 503), r
        assert r.json().get("backend_type") == "unavailable", r

        # redis.required is false by default: still ready
        r = stack.get("/health/ready")
        assert r.status == 200, r

        assert stack.get("/health/live").status == 200
    finally:
        stack.start_redis()
    sylib.wait_until(lambda: health_is(stack, "ok"), timeout=15,
                     what="/health back to ok after Redis restart")
    sylib.wait_until(lambda: stack.get("/health/storage").json().get("backend_type") == "redis",
                     timeout=15, what="/health/storage back to redis")


def test_pg_down_and_back_without_restarting_responders(stack):
    before = stack.wait_responders()
    stack.stop_pg()
    try:
        r = stack.get("/health/ready")
        assert r.status == 503, r
        body = r.json()
        assert body.get("status") == "not_ready", body
        assert body["checks"]["database"]["ok"] is False, body

        def health_down():
            r = stack.get("/health")
            return r.status == 503 and r.json().get("status") == "down"
        # /health answers from a short per-responder cache (1 s)
        sylib.wait_until(health_down, timeout=5,
                         what="/health 503 down with PostgreSQL stopped")

        # no I/O on the liveness probe
        assert stack.get("/health/live").status == 200
    finally:
        stack.start_pg()
    # every responder reconnects by itself (each after its own back-off):
    # wait until several requests in a row, spread over the pool, are fine
    def all_ready():
        return all(stack.get("/health/ready").status == 200 and
                   health_is(stack, "ok") for _ in range(2 * stack.workers))
    sylib.wait_until(all_ready, timeout=20,
                     what="/health/ready 200 and /health ok after PostgreSQL restart")
    assert stack.responder_pids() == before, \
        "responders were restarted: %s -> %s" % (before, stack.responder_pids())


def test_killed_responder_is_replaced(stack):
    before = stack.wait_responders()
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    after = stack.wait_responders(exclude=[victim], timeout=15)
    assert len(set(after) - set(before)) == 1, (before, after)
    for i in range(50):
        r = stack.get("/health/live")
        assert r.status == 200, "request %d after the kill: %r" % (i, r)


def test_sighup_under_load_loses_no_request(stack):
    master = stack.master_pid()
    before = stack.wait_responders()
    lock = threading.Lock()
    results = []  # (status or exception text)
    stop = threading.Event()
    deadline = time.monotonic() + 60

    def worker():
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                r = stack.get("/health/live", timeout=15)
                res = 200 if r.status == 200 else "%d %r" % (r.status, r.body[:200])
            except Exception as e:  # a refused or reset connection
                res = "%s: %s" % (type(e).__name__, e)
            with lock:
                results.append(res)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        sylib.wait_until(lambda: len(results) >= 50, timeout=20, interval=0.01,
                         what="50 requests before SIGHUP")
        at_hup = len(results)
        stack.reload()
        # the load goes on while the master rolls every responder
        after = stack.wait_responders(exclude=before, timeout=30)
        n = len(results)
        print("# %d requests before SIGHUP, %d while rolling %s -> %s"
              % (at_hup, n - at_hup, before, after))
        sylib.wait_until(lambda: len(results) >= max(400, n + 100), timeout=30,
                         what="400 requests in total")
    finally:
        stop.set()
        for t in threads:
            t.join(20)
    bad = [r for r in results if r != 200]
    assert not bad, "%d of %d requests failed around SIGHUP: %s" % (
        len(bad), len(results), bad[:10])
    assert len(results) >= 400, len(results)
    assert stack.master_pid() == master
    assert not set(after) & set(before), (before, after)


def test_pool_down_is_503_problem_and_comes_back(stack):
    # The whole pool gone (master stopped): nginx's own error, shaped as a
    # problem by conf/nginx/synthia.conf.  Then a restart brings it back.
    master = stack.master_pid()
    responders = stack.responder_pids()
    os.kill(master, signal.SIGTERM)
    sylib.wait_until(lambda: not any(sylib.proc_alive(p)
                                     for p in [master] + responders),
                     timeout=40, what="master and responders to exit on SIGTERM")
    r = stack.get("/health/live")
    sylib.assert_problem(r, 503, "service_unavailable")
    assert r.headers.get("Retry-After"), r
    stack.restart()
    assert stack.master_pid() != master
    stack.wait_responders()
    sylib.wait_until(lambda: stack.get("/health/live").status == 200, timeout=10,
                     what="/health/live 200 after the restart")


sylib.main(globals())

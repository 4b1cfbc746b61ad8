#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Requests that hang: server.request_timeout and server.slow_request.

The hang is real: every PostgreSQL process of the stack is stopped with
SIGSTOP, so a request that needs the database blocks inside libpq exactly
as it would on a wedged server.  The master's watchdog must end it with a
503 problem (code "timeout"), log it, and replace the responder; without a
master (--workers 0) the responder's own timer does the same."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import json
import os
import re
import signal
import time

import sylib

SHARED_STACK = dict(workers=2, extra_config="[server]\nrequest_timeout = 1s\n"
                    "slow_request = 200ms\n")
TEST_TIMEOUT = 120


def pg_pids(stack):
    master = int(stack.env["SY_PG_PID"])
    return [master] + sylib.children(master)


class Frozen:
    """SIGSTOP every PostgreSQL process of the stack; SIGCONT on exit."""

    def __init__(self, stack):
        self.pids = pg_pids(stack)

    def __enter__(self):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass  # a backend that ended since it was listed
        return self

    def __exit__(self, *exc):
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def log_events(stack, event):
    out = []
    for line in stack.read_log("synthia.log").splitlines():
        if ('"event":"%s"' % event) in line:
            out.append(json.loads(line))
    return out


def metric(stack, name):
    text = stack.get("/metrics").text()
    m = re.search(r"^%s (\d+)" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def warm(stack):
    # every responder holds a database connection before the freeze
    for _ in range(8):
        assert stack.get("/health/ready").status == 200


def test_hung_database_request_ends_with_503_and_a_new_responder(stack):
    warm(stack)
    before = set(stack.wait_responders())
    with Frozen(stack):
        t0 = time.monotonic()
        r = stack.request("GET", "/health/ready",
                          headers={"X-Request-Id": "hang-1"}, timeout=20)
        took = time.monotonic() - t0
    sylib.assert_problem(r, 503, "timeout")
    assert r.headers.get("X-Request-Id") == "hang-1", r
    assert r.json()["request_id"] == "hang-1", r.json()
    assert r.headers.get("Retry-After") == "1", r
    assert took < 5, "took %.1f s with request_timeout = 1s" % took

    # the responder that served it was replaced, the pool is whole again
    # (it may take a moment to go: it closes its kept connections first)
    sylib.wait_until(lambda: before - set(stack.wait_responders()),
                     timeout=10, what="a responder replaced")
    for _ in range(20):
        assert stack.get("/health/ready").status == 200

    sylib.wait_until(
        lambda: any(l.get("request_id") == "hang-1" and
                    l.get("path") == "/health/ready"
                    for l in log_events(stack, "request_timeout")),
        timeout=5, what="the request_timeout line of hang-1")
    sylib.wait_until(lambda: log_events(stack, "responder_timeout"),
                     timeout=5, what="the master's responder_timeout line")
    assert metric(stack, "synthia_request_timeouts_total") >= 1


def test_slow_request_is_logged_with_where_the_time_went(stack):
    warm(stack)
    with Frozen(stack):
        # the request waits on PostgreSQL for ~0.5 s, under the timeout
        import threading
        result = {}
        t = threading.Thread(target=lambda: result.update(
            r=stack.request("GET", "/health/ready",
                            headers={"X-Request-Id": "slow-1"})))
        t.start()
        time.sleep(0.5)
    t.join(10)
    assert result["r"].status == 200, result["r"]

    # log lines are written after the response has gone to the client
    def slow_line():
        return [l for l in log_events(stack, "slow_request")
                if l.get("request_id") == "slow-1"]
    lines = sylib.wait_until(slow_line, timeout=5,
                             what="a slow_request line for slow-1")
    l = lines[0]
    assert l["route"] == "/health/ready", l
    assert l["duration_us"] >= 300000, l
    assert l["db_us"] >= 300000, l
    assert l["handler_us"] == l["duration_us"] - l["db_us"] - l["redis_us"], l


@sylib.own_stack(workers=0, extra_config="[server]\nrequest_timeout = 1s\n")
def test_timeout_without_master_answers_503(stack):
    warm(stack)
    with Frozen(stack):
        r = stack.request("GET", "/health/ready",
                          headers={"X-Request-Id": "solo-1"}, timeout=20)
    sylib.assert_problem(r, 503, "timeout")
    assert r.json()["request_id"] == "solo-1"
    sylib.wait_until(
        lambda: any(l.get("request_id") == "solo-1"
                    for l in log_events(stack, "request_timeout")),
        timeout=5, what="the request_timeout line of solo-1")


sylib.main(globals())

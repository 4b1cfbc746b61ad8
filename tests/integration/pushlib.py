# SPDX-License-Identifier: BSD-2-Clause
"""Helpers of the push-channel tests (test_push.py, test_aimemory.py):
reach every responder with bursts of requests, kill the subscriber
connections, watch Redis with MONITOR."""

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # never write into srcdir

import keylib  # noqa: E402
import sylib  # noqa: E402

_ids = itertools.count()


def access_pids(stack, ids):
    """{request id: pid} of the access lines of ids (waits until every
    one has been written: responders batch their access lines)."""
    want = set(ids)
    found = {}

    def scan():
        for line in stack.read_log("synthia.log").splitlines():
            if '"event":"access"' not in line:
                continue
            try:
                o = json.loads(line)
            except ValueError:
                continue
            rid = o.get("request_id")
            if rid in want:
                found[rid] = o["pid"]
        return len(found) == len(want)
    sylib.wait_until(scan, timeout=15, what="access lines of a burst")
    return found


def everywhere(stack, send, check, n=24, rounds=20):
    """Bursts of n concurrent requests (send(headers) -> response) until
    every responder has answered some; check(r) holds for every answer.
    Returns the number of answers."""
    pids = set(stack.responder_pids())
    assert len(pids) == stack.workers, pids
    seen = set()
    answers = 0
    for r in range(rounds):
        rids = ["push-%d-%d" % (time.monotonic_ns(), next(_ids))
                for _ in range(n)]
        it = iter(rids)
        lock = threading.Lock()

        def one():
            with lock:
                rid = next(it)
            return rid, send({"X-Request-Id": rid})
        results = keylib.burst(n, one)
        for res in results:
            assert not isinstance(res, Exception), res
            check(res[1])
        answers += n
        by = access_pids(stack, [res[0] for res in results])
        seen |= set(by.values())
        if pids <= seen:
            print("# everywhere: %d responders in %d bursts (%d nginx "
                  "reloads)" % (len(pids), r + 1, (r + 1) // 2), flush=True)
            return answers
        # answers that come fast ride the upstream connections nginx
        # keeps, to some responders only: a graceful nginx reload drops
        # them, and the next burst opens new ones, which every idle
        # responder races to accept
        if r % 2 == 1:
            os.kill(int(stack.env["SY_NGINX_PID"]), signal.SIGHUP)
            time.sleep(0.5)
    raise AssertionError("responders %s never answered (saw %s)"
                         % (pids - seen, seen))


def status_is(want):
    def check(r):
        assert r.status == want, r
    return check


class Killer:
    """Kill every subscriber connection every 20 ms until stopped, so that
    the responders' subscriptions are down or unconfirmed throughout."""

    def __init__(self, stack):
        self.stack = stack
        self.stop = threading.Event()
        self.kills = 0
        self.t = threading.Thread(target=self.run)

    def run(self):
        port = self.stack.env["SY_REDIS_PORT"]
        while not self.stop.is_set():
            p = subprocess.run(["redis-cli", "-p", port, "CLIENT", "KILL",
                                "TYPE", "pubsub"], capture_output=True,
                               text=True, timeout=10)
            if p.stdout.strip().isdigit():
                self.kills += int(p.stdout.strip())
            time.sleep(0.02)

    def __enter__(self):
        self.t.start()
        # every responder has lost its subscription at least once
        sylib.wait_until(lambda: self.kills >= self.stack.workers,
                         timeout=20, what="subscriber connections killed")
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.join(20)


def subscribed(stack):
    """Every responder holds a confirmed subscription to sy:inval."""
    def ready():
        out = keylib.redis(stack, "PUBSUB", "NUMSUB", "sy:inval")
        n = int(out.split()[-1])
        return n >= stack.workers
    sylib.wait_until(ready, timeout=20, what="responders subscribed")


def monitor(stack, action):
    """The commands Redis received while action() ran (MONITOR)."""
    p = subprocess.Popen(["redis-cli", "-p", stack.env["SY_REDIS_PORT"],
                          "MONITOR"], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "OK"
        keylib.redis(stack, "ECHO", "push-start")
        action()
        keylib.redis(stack, "ECHO", "push-end")
        lines = []
        for line in p.stdout:
            lines.append(line)
            if '"push-end"' in line:
                break
    finally:
        p.kill()
        p.wait()
    start = next(i for i, l in enumerate(lines) if '"push-start"' in l)
    return [l.strip() for l in lines[start + 1:-1]]


# What a steady-state keyed read may still cause: the rate limiter's
# lease calls (a batch of tokens now and then, growing while the window
# has room; none while tokens are on lease), with the commands their
# scripts run.  The cache's hit counts are added up by each responder
# and sent a second after the first (SY_CACHE_COUNTS_FLUSH_MS): a round
# shorter than that, begun after the last one's were sent, sees none.
ALLOWED = re.compile(r'"EVALSHA" "[0-9a-f]{40}" "1" "sy:\{[a-z]:[0-9a-f-]{36}\}:rl:'
                     r'|\[0 lua\]')
FLUSH_S = 1.0

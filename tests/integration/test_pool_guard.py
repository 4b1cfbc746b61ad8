#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The crash-loop guard never empties the pool (issue 17, item 2).

Responders killed with SIGKILL (the OOM killer, an operator) are
replaced at once and never counted toward the guard; responders that
crash (SIGABRT, SIGILL here: ASan builds catch SIGSEGV themselves) trip
it, and then the master keeps server.min_responders running (default:
half the pool, rounded up) while it holds the others back.  Each test
samples the master's live children every 20 ms, reads the pool figures
of /health/detailed and /metrics, and the log.

Before this change all three fault tests failed against the old code:
the kill test (after 10 kills the guard respawned "every 10 s", the pool
fell to 0 responders and the slowest order took 10.3 s; now 0.25 s), the
crash test (a crash at the minimum was not replaced for 10 s) and the
access-log test (18 to 58 lines lost over 8 kills, 4 runs)."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import json
import os
import resource
import signal
import subprocess
import threading
import time

import sylib
import syid

TEST_TIMEOUT = 120
ORDERS = "/api/v1/orders"

# no core files from the responders this test crashes on purpose
resource.setrlimit(resource.RLIMIT_CORE,
                   (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))


class Sampler:
    """Counts the master's live responders every 20 ms."""

    def __init__(self, stack):
        self.stack = stack
        self.samples = []  # (monotonic time, live responders)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            self.samples.append((time.monotonic(),
                                 len(self.stack.responder_pids())))
            time.sleep(0.02)

    def between(self, t0, t1):
        return [n for t, n in self.samples if t0 <= t <= t1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)
        return False


class Client:
    """Threads sending requests made by make(i); every answer's status
    (or error) and duration are kept."""

    def __init__(self, make, n=4):
        self.make = make
        self.results = []  # (status or error text, seconds, start)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,),
                                         daemon=True) for i in range(n)]

    def run(self, i):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                res = self.make(i).status
            except Exception as e:  # reset with the responder it was on
                res = "%s: %s" % (type(e).__name__, e)
            with self.lock:
                self.results.append((res, time.monotonic() - t0, t0))

    def failed(self, ok=(200, 201)):
        return [r for r in self.results if r[0] not in ok]

    def p99(self):
        d = sorted(r[1] for r in self.results)
        return d[int(len(d) * 0.99)] if d else 0.0

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)
        return False


def failures_by_death(failed, deaths, grace=0.5):
    """Only requests on a responder when it died fail: the one in hand,
    and those the web server had sent on its other kept connections (a
    responder holds several, and nginx does not send a POST again), plus
    any sent there while the dying process still held its sockets (the
    kernel tears its memory down before it closes its descriptors:
    milliseconds, more under ASan).  Each failed request is matched to a
    death it was in flight at (began before the death plus that grace,
    ended after it).  Returns (failures per death, failures at none)."""
    per = [0] * len(deaths)
    stray = []
    for r in failed:
        hit = [i for i, k in enumerate(deaths)
               if r[2] <= k + grace and r[2] + r[1] >= k]
        if hit:
            per[hit[-1]] += 1
        else:
            stray.append(r)
    return per, stray


def detailed_pool(stack):
    r = stack.get("/health/detailed")
    assert r.status == 200, r
    return r.json()["pool"]


def metric(stack, line_start):
    r = stack.get("/metrics")
    assert r.status == 200, r
    for line in r.text().splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    raise AssertionError("%s not in /metrics" % line_start)


def log_events(stack, event):
    out = []
    for line in stack.read_log("synthia.log").splitlines():
        if ('"event":"%s"' % event) in line:
            out.append(json.loads(line))
    return out


@sylib.own_stack(workers=4)
def test_sigkill_every_second_never_empties_the_pool(stack):
    """A scaled-down "a responder killed every 5 s for 75 s": one every
    second for 15 s (more than crash_loop_deaths = 10 within its 60 s
    window) while four clients place orders."""
    t = syid.new_tenant(stack)
    u = syid.new_user(stack, t, "shopper")
    u["token"] = syid.login_ok(stack, u)["access_token"]
    pid = syid.psql(stack, """
        INSERT INTO products (tenant_id, sku, name, price_cents, currency,
                              stock)
        VALUES (:'t', 'guard-1', 'Wool scarf', 2500, 'EUR', 100000000)
        RETURNING id""", t=t["id"])[0][0]
    body = {"items": [{"product_id": pid, "quantity": 1}]}
    stack.wait_responders()
    kills = 15

    def place(i):
        return stack.request("POST", ORDERS, body=body, timeout=30,
                             headers=syid.bearer(u["token"]))

    reported = []  # pool.responders of /health/detailed after each kill
    kill_times = []
    with Sampler(stack) as sampler, Client(place) as client:
        time.sleep(1)
        for _ in range(kills):
            victim = stack.oldest_responder()
            if victim:
                kill_times.append(time.monotonic())
                os.kill(victim, signal.SIGKILL)
            time.sleep(1)
            try:
                reported.append(detailed_pool(stack)["responders"])
            except Exception as e:  # no responder to answer
                reported.append(repr(e))
        time.sleep(1)
    live = [n for _, n in sampler.samples]
    served = len(client.results)
    failed = client.failed()
    print("# %d orders, %d failed, p99 %.3f s, slowest %.3f s; live "
          "responders min %d max %d over %d samples; /health/detailed said "
          "%s" % (served, len(failed), client.p99(),
                  max(r[1] for r in client.results), min(live), max(live),
                  len(live), reported))
    assert min(live) >= 2, "pool fell to %d responders" % min(live)
    assert all(isinstance(n, int) and n >= 2 for n in reported), reported
    per_kill, stray = failures_by_death(failed, kill_times)
    print("# failures per kill: %s" % per_kill)
    assert not stray, "failed with no kill in flight: %s" % stray[:10]
    assert max(per_kill, default=0) <= len(client.threads), per_kill
    assert served >= 300, served
    assert client.p99() < 1.0, client.p99()
    # before: requests queued for 10 s behind an empty pool
    slowest = max(r[1] for r in client.results)
    assert slowest < 3.0, slowest

    pool = detailed_pool(stack)
    assert pool["kills"] == kills and pool["crashes"] == 0, pool
    assert pool["deaths"] == kills and not pool["crash_loop"], pool
    assert pool["last_death"]["cause"] == "kill", pool
    assert pool["last_death"]["signal"] == "SIGKILL", pool
    assert metric(stack, 'synthia_responder_deaths_by_cause_total'
                  '{cause="kill"}') == kills
    assert metric(stack, 'synthia_responder_deaths_by_cause_total'
                  '{cause="crash"}') == 0
    assert metric(stack, "synthia_crash_loop") == 0
    killed = log_events(stack, "responder_killed")
    assert len(killed) == kills, killed
    assert all(k["cause"] == "kill" and k["signal_name"] == "SIGKILL"
               for k in killed), killed
    assert not log_events(stack, "crash_loop")
    assert stack.get("/health").json()["status"] == "ok"


@sylib.own_stack(workers=4, extra_config="[server]\ncrash_loop_deaths = 4\n")
def test_crashes_trip_the_guard_but_keep_the_minimum(stack):
    stack.wait_responders()
    crash_sigs = [signal.SIGABRT, signal.SIGILL]

    def live(i):
        return stack.get("/health/live", timeout=30)

    with Sampler(stack) as sampler, Client(live, n=2) as client:
        # one crash every 1.2 s: the victim has always run for more than
        # a second, so the floor is respawned at once
        deaths = []
        for n in range(4):
            time.sleep(1.2)
            deaths.append(time.monotonic())
            os.kill(stack.oldest_responder(), crash_sigs[n % 2])
        sylib.wait_until(lambda: detailed_pool(stack)["crash_loop"],
                         timeout=5, what="the crash-loop guard to trip")
        # held back: 3 responders left, and a fifth crash leaves 2, the
        # minimum, which the guard keeps
        time.sleep(1.2)
        deaths.append(time.monotonic())
        os.kill(stack.oldest_responder(), signal.SIGABRT)
        t5 = time.monotonic()
        time.sleep(2)
        held = sampler.between(t5 + 0.2, time.monotonic())
        # a crash at the minimum is replaced at once
        floor = stack.responder_pids()
        deaths.append(time.monotonic())
        os.kill(floor[0], signal.SIGABRT)
        stack.wait_responders(n=2, exclude=[floor[0]], timeout=1)
        time.sleep(0.5)
        pool = detailed_pool(stack)
        health = stack.get("/health").json()
    every = [n for _, n in sampler.samples]
    dips = [i for i in range(1, len(every))
            if every[i] < 2 and every[i - 1] < 2]
    print("# live responders min %d max %d; held at %s; %d requests, "
          "%d failed, p99 %.3f s" % (min(every), max(every), sorted(set(held)),
                                     len(client.results),
                                     len(client.failed()), client.p99()))
    # below 2 only between a death and its respawn (under 20 ms)
    assert not dips, "pool below its minimum for 2+ samples: %s" % every
    assert held and set(held) == {2}, sorted(set(held))
    per_crash, stray = failures_by_death(client.failed(), deaths)
    print("# failures per crash: %s" % per_crash)
    assert not stray, "failed with no crash in flight: %s" % stray[:10]
    assert max(per_crash) <= len(client.threads), per_crash
    assert client.p99() < 1.0, client.p99()

    assert pool["crash_loop"] and pool["crashes"] == 6, pool
    assert pool["kills"] == 0 and pool["min_responders"] == 2, pool
    assert pool["last_death"]["cause"] == "crash", pool
    assert pool["last_death"]["signal"] == "SIGABRT", pool
    assert health["status"] == "degraded", health
    assert health["checks"]["pool"] == "crash_loop", health
    assert metric(stack, "synthia_crash_loop") == 1
    assert metric(stack, 'synthia_responder_deaths_by_cause_total'
                  '{cause="crash"}') == 6
    assert metric(stack, "synthia_responders_min") == 2
    crashed = log_events(stack, "responder_crashed")
    assert [c["signal_name"] for c in crashed] == \
        ["SIGABRT", "SIGILL", "SIGABRT", "SIGILL", "SIGABRT", "SIGABRT"], \
        crashed
    assert all(c["cause"] == "crash" for c in crashed), crashed
    loops = log_events(stack, "crash_loop")
    assert len(loops) == 1 and "keeping 2 of 4" in loops[0]["msg"], loops
    # after the guard's 10 s the others come back
    stack.wait_responders(n=4, timeout=15)


@sylib.own_stack(workers=2)
def test_sigkilled_responder_loses_no_access_line(stack):
    """Access lines are batched (server.access_log_buffer) in the
    responder's slot of the shared pool segment, and the master writes
    what a killed responder left.  Before, each SIGKILL under load lost
    its batch (83 lines over 12 kills in the issue's baseline).  wrk on
    /health/ready (a database round trip) keeps connections waiting, so
    batches fill instead of going out when a responder is idle; nginx's
    access log says what was answered.  A kill can still cost the line
    of the one request that was between its response and its log line
    (a few microseconds)."""
    stack.wait_responders()
    kills = 8
    wrk = subprocess.Popen(
        ["wrk", "-t2", "-c32", "-d%ds" % (kills // 2 + 2),
         stack.base_url + "/health/ready"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(1)
        for _ in range(kills):
            victim = stack.oldest_responder()
            if victim:  # (the old guard could leave none)
                os.kill(victim, signal.SIGKILL)
            time.sleep(0.5)
        out = wrk.communicate(timeout=60)[0].decode()
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    time.sleep(2)  # nginx flushes its access log every second
    nginx = [line for line in stack.read_log("nginx-access.log").splitlines()
             if '"GET /health/ready ' in line]
    answered = sum(1 for line in nginx if '" 200 ' in line)
    # wrk closes its connections at the end: nginx logs 499 for a request
    # that synthia answered (and logged) 200
    closed = sum(1 for line in nginx if '" 499 ' in line)
    logged = [e for e in log_events(stack, "access")
              if e.get("path") == "/health/ready" and e.get("status") == 200]
    ids = [e["request_id"] for e in logged]
    print("# %d answered 200 by nginx (%d closed by wrk), %d access lines, "
          "%d killed, %d written twice; wrk: %s"
          % (answered, closed, len(logged), kills, len(ids) - len(set(ids)),
             " ".join(out.split()[-12:])))
    assert answered >= 1000, out  # ~3000 in the ASan build
    assert len(ids) == len(set(ids)), "lines written twice"
    # before: 18-58 lines lost over the 8 kills (4 runs); now at most the
    # one request per kill that was between its response and its line
    # (with kept FastCGI connections a killed responder is busier, so
    # that window is hit more often in the slow ASan build: 3 seen)
    assert answered - kills <= len(logged) <= answered + closed, (
        answered, closed, len(logged))


@sylib.own_stack(workers=4, extra_config="[server]\nmin_responders = 3\n")
def test_min_responders_key(stack):
    stack.wait_responders()
    assert detailed_pool(stack)["min_responders"] == 3
    assert metric(stack, "synthia_responders_min") == 3


def live_children_fast(master):
    """The master's live children from /proc/PID/task/PID/children (one
    read, fast enough to sample every millisecond), minus zombies."""
    try:
        with open("/proc/%d/task/%d/children" % (master, master)) as f:
            pids = [int(p) for p in f.read().split()]
    except FileNotFoundError:  # kernel without CONFIG_PROC_CHILDREN
        return frozenset(sylib.children(master))
    return frozenset(p for p in pids if sylib.proc_alive(p))


@sylib.own_stack(workers=1, extra_config="[server]\nmax_requests = 40\n")
def test_recycled_responder_leaves_after_its_successor_is_up(stack):
    """server.max_requests: the master forks the successor when the
    responder announces it is retiring, and stops the old one only once
    the successor is ready, so even a pool of one never has no responder
    (before, the old one exited first and the master forked after
    reaping it: samples went from {old} straight to {new})."""
    master = stack.master_pid()
    first = stack.wait_responders(1)
    samples = []  # frozensets of live responder pids, in order
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(live_children_fast(master))
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        with Client(lambda i: stack.get("/health/live"), n=2) as c:
            deadline = time.monotonic() + 30
            seen = set(first)
            while len(seen) < 4 and time.monotonic() < deadline:
                for s in samples[-50:]:
                    seen |= s
                time.sleep(0.05)
    finally:
        stop.set()
        sampler.join(5)
    assert not c.failed(ok=(200,)), c.failed(ok=(200,))[:5]
    # successions: every pid that left was replaced while it was alive
    order = []
    for s in samples:
        for p in sorted(s):
            if p not in order:
                order.append(p)
    assert len(order) >= 3, "no recycling seen: %r" % order
    assert all(len(s) >= 1 for s in samples), "the pool was empty"
    overlaps = 0
    for old, new in zip(order, order[1:]):
        both = [s for s in samples if old in s and new in s]
        last_old = max(i for i, s in enumerate(samples) if old in s)
        first_new = min(i for i, s in enumerate(samples) if new in s)
        if last_old == len(samples) - 1:
            continue  # still alive at the end
        assert first_new <= last_old and both, (
            "responder %d left before its successor %d was up" % (old, new))
        overlaps += 1
    assert overlaps >= 2, order
    assert metric(stack, "synthia_responder_recycled_total") >= overlaps


sylib.main(globals())

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""kill -9 under load (issue 10, DESIGN.md "Reliability targets"): a
responder, the master, Redis and PostgreSQL, each its own scenario, each
the stack's own throwaway process killed by pid, while wrk sends keyed
catalog reads and searches (publishable key) through nginx and Python
clients place orders with Idempotency-Keys and read products
(tests/integration/syload.py).  An order client retries an answer that
is not definite (5xx, broken connection) with the same key and body
until it gets a 2xx or 4xx.

Each scenario asserts, after the load has stopped:
- no order lost: every key answered 201 has its order in the database,
  with its idempotency record and its stock taken (each product's stock
  is its start minus what the tenant's orders hold);
- none duplicated: one order per key, the same id on every 201 of a key,
  no order no client was told about, every key ended in a 201;
- every answer, wrk's and the clients', is a success or a problem+json
  (nginx's own 502/503 included); nginx never drops a connection;
- the pool recovered: requests succeed again without a restart, the
  same master and (for Redis and PostgreSQL) the same responders; a
  killed responder is replaced by the master;
- the recovery time is printed: from the kill until every kind of
  request (orders, reads) succeeds again for good (syload.recovery:
  the first success of each kind that began after the last failure).

The master: killed with SIGKILL, its responders get SIGTERM from the
kernel (PR_SET_PDEATHSIG), finish the request they have and exit, and
nothing restarts the pool by itself -- that is systemd's job
(Restart=on-failure in synthia.service).  A systemd-less stack has no
supervisor, so the test plays it: as soon as the master has gone it
starts `synthia serve` again (tests/stack.sh restart-synthia).  There,
"recovers" means: no responder of the old pool is left running, the new
pool serves, and no acknowledged order is lost or doubled across the
restart.  Under systemd the socket unit keeps the socket open, so
requests wait in its backlog instead of getting nginx's 502/503, and
RestartSec (2 s in the shipped unit) adds to the recovery time reported
here.

Redis: while it is down requests go on (rate limits locally, caches
bypassed); after it restarts (empty) the responders reconnect within
redis.retry, and /health is "ok" again.  PostgreSQL: restarted at once
after its processes have gone, like a supervisor would; orders fail
with 503 until it accepts connections again.
"""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import os
import signal
import time

import sylib
import syload

# Responders are not recycled (server.max_requests), so "the same
# responders" after a Redis or PostgreSQL fault means none was replaced.
SHARED_STACK = dict(workers=2, extra_config="[server]\nmax_requests = 0\n")
TEST_TIMEOUT = 150
LOAD_S = 3.0          # load before the kill, and again after recovery
RECOVERY_MAX_S = 20   # a scenario that has not recovered by then fails
WRK_MIX = "read:70,list:15,search:15"


def health_ok(stack):
    r = stack.get("/health")
    return r.status == 200 and r.json().get("status") == "ok"


def scenario(stack, name, kill, restore=None):
    """Load; kill(times) (appends the time of each kill it makes, returns
    a note for the report or None); restore() (the same); load again;
    then check everything this file promises.  Returns the recovery time
    after each kill."""
    shop = syload.Shop(stack)
    times = []
    with syload.Wrk(stack, shop, WRK_MIX, threads=1, connections=4) as wrk:
        with syload.Mix(stack, shop) as mix:
            mix.wait_ok(20, since=0, what="before the kill")
            time.sleep(LOAD_S)
            note = kill(times) or ""
            t_restore = time.monotonic()
            if restore:
                note += restore() or ""
            mix.wait_ok(20, since=t_restore, timeout=RECOVERY_MAX_S,
                        what="after the %s came back" % name)
            time.sleep(LOAD_S)
        w = wrk.stop()
    recs = [syload.recovery(mix.records, t, until)
            for t, until in zip(times, times[1:] + [None])]
    retried, replayed = mix.retried()
    print("# %s: recovery %s (requests failed after the kill: %s%s); "
          "%d orders over %d keys, %d retried, %d of them replays; "
          "%d reads; wrk: %d answers %s, %d problems, %d bad, p99 %.1f ms"
          % (name, ", ".join("never" if r is None else "%.2f s" % r
                             for r, _ in recs),
             ", ".join(str(n) for _, n in recs), note,
             mix.count("order"), len(mix.keys), retried, replayed,
             mix.count("read"), w["total"], w["status"], w["problem"],
             w["bad"], w["p99_ms"]), flush=True)
    bad = mix.bad()
    assert not bad, "%d answers neither a success nor a problem: %s" % (
        len(bad), bad[:10])
    assert w["bad"] == 0, "wrk: %d answers neither a success nor a " \
        "problem: %s" % (w["bad"], w["samples"])
    assert w["socket_errors"] is None, w["socket_errors"]
    assert w["ok"] > 0, w
    assert not mix.undecided, "keys never answered: %s" % mix.undecided
    wrong = syload.audit_orders(stack, shop, mix.outcomes())
    assert not wrong, "\n".join(wrong[:20])
    assert times and all(r is not None and r < RECOVERY_MAX_S
                         for r, _ in recs), recs
    return [r for r, _ in recs]


def test_responder_sigkill(stack):
    """Three kills a second apart: a responder has one request at a
    time, so a single kill may find the victim between two."""
    master = stack.master_pid()
    before = stack.wait_responders()
    victims = []

    def kill(times):
        waits = []
        for _ in range(3):
            victims.append(stack.oldest_responder())
            times.append(time.monotonic())
            os.kill(victims[-1], signal.SIGKILL)
            stack.wait_responders(exclude=victims, timeout=10)
            waits.append(time.monotonic() - times[-1])
            time.sleep(1)
        return "; replaced in %s s" % ", ".join("%.2f" % w for w in waits)
    scenario(stack, "responder", kill)
    assert stack.master_pid() == master
    after = stack.wait_responders()
    assert not set(after) & set(victims), (before, victims, after)


def test_master_sigkill_and_restart(stack):
    master = stack.master_pid()
    old = stack.wait_responders()

    def kill(times):
        times.append(time.monotonic())
        os.kill(master, signal.SIGKILL)
        sylib.wait_until(lambda: not sylib.proc_alive(master), timeout=10,
                         interval=0.02, what="the master to die")

    def restart():
        # systemd would restart the service now (after RestartSec)
        t0 = time.monotonic()
        stack.restart()
        t1 = time.monotonic()
        stack.wait_responders()
        return "; restarted in %.2f s" % (t1 - t0)
    scenario(stack, "master", kill, restart)
    assert stack.master_pid() != master
    # the old responders finished their requests and exited
    sylib.wait_until(lambda: not any(sylib.proc_alive(p) for p in old),
                     timeout=5, what="the old responders to exit")


def test_redis_sigkill(stack):
    master = stack.master_pid()
    before = stack.wait_responders()

    def kill(times):
        times.append(time.monotonic())
        stack.kill_redis()
        # the responders notice (/health answers from a 1 s cache), and
        # the load goes on without Redis
        sylib.wait_until(lambda: stack.get("/health").json().get("status")
                         == "degraded", timeout=5,
                         what="/health degraded with Redis gone")
        time.sleep(LOAD_S)

    def restart():
        t0 = time.monotonic()
        stack.start_redis()
        sylib.wait_until(lambda: health_ok(stack), timeout=15,
                         what="/health ok with Redis back")
        return "; /health ok %.2f s after Redis restarted" % (
            time.monotonic() - t0)
    scenario(stack, "Redis", kill, restart)
    assert stack.master_pid() == master
    assert stack.responder_pids() == before, "responders restarted"


def test_postgresql_sigkill(stack):
    master = stack.master_pid()
    before = stack.wait_responders()

    def kill(times):
        times.append(time.monotonic())
        stack.kill_pg()

    def restart():
        t0 = time.monotonic()
        stack.start_pg()
        return "; PostgreSQL accepting %.2f s after its restart began" % (
            time.monotonic() - t0)
    scenario(stack, "PostgreSQL", kill, restart)
    assert stack.master_pid() == master
    assert stack.responder_pids() == before, "responders restarted"


sylib.main(globals())

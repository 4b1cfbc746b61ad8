#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""tests/soak.py - a million mixed requests through nginx; resources
before and after (`make soak`; not part of `make check` or CI).

A throwaway stack (tests/stack.sh: PostgreSQL, Redis, synthia with
--workers responders, nginx), a shop with 200 products
(tests/integration/syload.py), then wrk with tests/integration/mixed.lua:

  read 55 %    GET /api/v1/products/{id}, publishable key
  list 10 %    GET /api/v1/products?limit=20
  search 20 %  GET /api/v1/products/search, 7 queries (hits and misses
               of the result cache, text and typo paths)
  order 14.5 % POST /api/v1/orders, a fresh Idempotency-Key each
  login 0.5 %  POST /api/v1/auth/login (argon2id at the default cost)

First a warm-up (--warmup requests: caches fill, connections open, the
arenas reach their working size), then the measured run.  Before and
after it, for every responder (and the master): resident memory (VmRSS)
and open descriptors (/proc/PID/fd); PostgreSQL client connections to
the synthia database (pg_stat_activity) and Redis clients (INFO
clients), not counting the probe's own.  The responders are never
recycled during the soak (server.max_requests = 0): the same processes
serve every request, so a leak per request cannot hide behind a
respawn.

It fails (exit 1) when
  - a responder's RSS grew by more than RSS_GROWTH_MAX_KIB, or the
    master's at all beyond the same bound;
  - any process has more open descriptors after than before;
  - PostgreSQL or Redis connections grew, or exceed one per responder;
  - a responder was replaced (pids differ), wrk had socket errors, or
    any answer was a 5xx or neither a success nor a problem+json.
The bounds: a leak of 10 bytes per request shows up as ~5 MiB per
responder over a million requests on 2 responders; RSS_GROWTH_MAX_KIB
(4 MiB) allows for allocator fragmentation settling after the warm-up.

  make soak [SOAK_REQUESTS=N]     (from the build directory)
  tests/soak.py [--requests N] [--workers N] [--connections N]
                [--threads N] [--warmup N]

Environment: SOAK_REQUESTS (the default of --requests), SY_BUILDDIR (where synthia is built; default: the current
directory if it holds synthia, else the source tree), TMPDIR,
SY_KEEP_STACK=1 (keep the stack's directory and logs).  Takes about 10
minutes on 2 cores.
"""

import argparse
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "integration"))
if not os.environ.get("SY_BUILDDIR") and os.path.exists("synthia"):
    os.environ["SY_BUILDDIR"] = os.getcwd()
os.environ.setdefault("SY_SRCDIR", os.path.dirname(HERE))

import sylib  # noqa: E402
import syid  # noqa: E402
import syload  # noqa: E402

MIX = "read:110,list:20,search:40,order:29,login:1"
RSS_GROWTH_MAX_KIB = 4096
CONFIG = """[server]
# the same responders for the whole soak (see tests/soak.py)
max_requests = 0
[auth]
# the wrk script signs its orders with one token for the whole run
access_ttl = 6h
"""


def proc_status(pid):
    """(VmRSS in KiB, open descriptors) of pid."""
    rss = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def pg_connections(stack):
    rows = syid.psql(stack, """
        SELECT count(*) FROM pg_stat_activity
        WHERE datname = 'synthia' AND backend_type = 'client backend'
          AND pid <> pg_backend_pid()""")
    return int(rows[0][0])


def redis_connections(stack):
    p = subprocess.run(["redis-cli", "-p", stack.env["SY_REDIS_PORT"],
                        "INFO", "clients"], capture_output=True, text=True,
                       timeout=10, check=True)
    for line in p.stdout.splitlines():
        if line.startswith("connected_clients:"):
            return int(line.split(":")[1]) - 1  # not redis-cli itself
    raise RuntimeError("no connected_clients in INFO: %r" % p.stdout)


def snapshot(stack):
    master = stack.master_pid()
    procs = {"master": master}
    for pid in stack.responder_pids():
        procs["responder %d" % pid] = pid
    return {"procs": {name: proc_status(pid) for name, pid in procs.items()},
            "pg": pg_connections(stack), "redis": redis_connections(stack)}


def run_wrk(stack, shop, n, args, what):
    t0 = time.monotonic()
    with syload.Wrk(stack, shop, MIX, requests=n, threads=args.threads,
                    connections=args.connections) as w:
        res = w.result()
    secs = time.monotonic() - t0
    print("soak: %s: %d answers in %.0f s (%.0f/s), p50 %.1f ms, p99 "
          "%.1f ms; status %s; %d problems, %d bad%s"
          % (what, res["total"], secs, res["total"] / secs, res["p50_ms"],
             res["p99_ms"], dict(sorted(res["status"].items())),
             res["problem"], res["bad"],
             "; " + res["socket_errors"] if res["socket_errors"] else ""),
          flush=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int,
                    default=int(os.environ.get("SOAK_REQUESTS", 1000000)))
    ap.add_argument("--warmup", type=int, default=None,
                    help="default: a tenth of --requests, at most 50000")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    if args.warmup is None:
        args.warmup = max(1000, min(50000, args.requests // 10))

    failures = []
    with sylib.Stack("soak", workers=args.workers,
                     extra_config=CONFIG) as stack:
        shop = syload.Shop(stack, products=200)
        stack.wait_responders()
        warm = run_wrk(stack, shop, args.warmup, args, "warm-up")
        pids = stack.responder_pids()
        before = snapshot(stack)
        main_run = run_wrk(stack, shop, args.requests, args, "soak")
        after = snapshot(stack)

        print("soak: %-22s %12s %12s %10s" % ("", "before", "after",
                                               "growth"))
        for name, (rss0, fd0) in before["procs"].items():
            rss1, fd1 = after["procs"].get(name, (None, None))
            if rss1 is None:
                failures.append("%s is gone" % name)
                continue
            print("soak: %-22s %9d KiB %9d KiB %+7d KiB"
                  % (name + " RSS", rss0, rss1, rss1 - rss0))
            print("soak: %-22s %12d %12d %+10d"
                  % (name + " fds", fd0, fd1, fd1 - fd0))
            if rss1 - rss0 > RSS_GROWTH_MAX_KIB:
                failures.append("%s: RSS grew by %d KiB (bound %d KiB)"
                                % (name, rss1 - rss0, RSS_GROWTH_MAX_KIB))
            if fd1 > fd0:
                failures.append("%s: %d open descriptors, %d before"
                                % (name, fd1, fd0))
        for k, what in (("pg", "PostgreSQL connections"),
                        ("redis", "Redis connections")):
            print("soak: %-22s %12d %12d %+10d"
                  % (what, before[k], after[k], after[k] - before[k]))
            if after[k] > before[k] or after[k] > args.workers:
                failures.append("%s: %d before, %d after (bound: %d, one "
                                "per responder)" % (what, before[k],
                                                    after[k], args.workers))
        if stack.responder_pids() != pids:
            failures.append("responders replaced: %s -> %s"
                            % (pids, stack.responder_pids()))
        for what, res in (("warm-up", warm), ("soak", main_run)):
            fives = {k: v for k, v in res["status"].items()
                     if k.startswith("5")}
            if res["bad"] or fives or res["socket_errors"]:
                failures.append("%s: %d bad answers %s, 5xx %s, %s"
                                % (what, res["bad"], res["samples"], fives,
                                   res["socket_errors"]))
        if main_run["total"] < args.requests:
            failures.append("only %d answers" % main_run["total"])
        if failures:
            stack.dump_logs(lines=20)
    for f in failures:
        print("soak: FAIL: " + f)
    print("soak: %s" % ("FAILED" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""tests/bench/imports.py - catalog import sessions at the size issue 15
names: a 10,000-row x 12-column CSV file through nginx on a throwaway
stack (tests/stack.sh, loopback only, stopped at the end).

Prints, as measured by the client (one request at a time, so the
numbers are latencies, not throughput):
  create  p50 and max of POST /api/v1/imports   (target < 50 ms)
  set     p50 and max of one set operation       (target < 10 ms)
  read    p50 of GET of a 100-row page
  commit  time of the first commit (10,000 inserts) and of a second
          (the same 10,000 skus, unchanged)      (target < 2 s)
          with the server's split of each (PostgreSQL, Redis, handler)
          and the CPU seconds it cost the stack (PostgreSQL backends,
          responders, Redis: comparable across runs on a loaded shared
          machine, where the wall times are not)
("server p50": the responders' own duration_us from the access log,
without nginx and the client)

    tests/bench/imports.py            (SY_BUILDDIR: where synthia is
                                       built; default: ./ if it holds
                                       synthia, else the source tree)
Environment: BENCH_ROWS (default 10000), BENCH_REPEAT (default 11).
"""

import sys
sys.dont_write_bytecode = True
import json
import os
import statistics
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
if not os.environ.get("SY_BUILDDIR"):
    os.environ["SY_BUILDDIR"] = os.getcwd() if os.access(
        "synthia", os.X_OK) else SRC
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

import sylib  # noqa: E402
import syid  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "10000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "11"))
IMPORTS = "/api/v1/imports"

COLUMNS = ["sku", "name", "description", "category", "price", "stock",
           "colors", "fabric", "season", "size", "weight_g", "on_sale"]


def csv_text(prefix):
    cats = ["Shirts", "Dresses", "Scarves", "Trousers", "Jackets"]
    lines = [",".join(COLUMNS)]
    for i in range(ROWS):
        lines.append(",".join([
            "%s-%05d" % (prefix, i),
            "\"Linen shirt, model %d\"" % i,
            "\"Breathable summer linen in a relaxed cut, number %d\"" % i,
            cats[i % 5],
            "EUR %d.%02d" % (10 + i % 90, i % 100),
            str(i % 50) if i % 7 else "",
            "#%06x" % (i * 2654435761 % 0xffffff),
            ["linen", "cotton", "wool"][i % 3],
            ["SS25", "AW25"][i % 2],
            ["S", "M", "L", "XL"][i % 4],
            str(150 + i % 300),
            ["yes", "no"][i % 2]]))
    return "\n".join(lines) + "\n"


def timed(fn):
    t0 = time.perf_counter()
    r = fn()
    return r, (time.perf_counter() - t0) * 1000


def p50(xs):
    return statistics.median(xs)


def stack_cpu(stack):
    """CPU seconds used so far by the stack's PostgreSQL processes, its
    responders and Redis (from /proc, by the pids tests/stack.sh
    recorded)."""
    pids = [stack.env.get("SY_REDIS_PID", "")]
    for parent in (stack.env.get("SY_PG_PID"), stack.env.get("SY_SYNTHIA_PID")):
        try:
            for task in os.listdir("/proc/%s/task" % parent):
                with open("/proc/%s/task/%s/children" % (parent, task)) as f:
                    pids += f.read().split()
        except (OSError, TypeError):
            pass
    ticks = 0
    for pid in filter(None, pids):
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


def timed_cpu(stack, fn):
    c0 = stack_cpu(stack)
    r, ms = timed(fn)
    return r, ms, stack_cpu(stack) - c0


def main():
    with sylib.Stack("bench-imports", workers=2) as stack:
        t = syid.new_tenant(stack)
        staff = syid.new_user(stack, t, "staff")
        tok = syid.login_ok(stack, staff)["access_token"]
        h = syid.bearer(tok)
        csv_h = syid.bearer(tok, {"Content-Type": "text/csv"})
        text = csv_text("BENCH").encode()

        def req(method, path, body=None, headers=h):
            r = stack.request(method, path, body=body, headers=headers,
                              timeout=120)
            assert r.status < 300, r
            return r

        creates = []
        sid = None
        for _ in range(REPEAT):
            r, ms = timed(lambda: req("POST", IMPORTS, text, csv_h))
            creates.append(ms)
            if sid:
                req("DELETE", "%s/%s" % (IMPORTS, sid))
            sid = r.json()["id"]
        sets = []
        for i in range(REPEAT * 2):
            op = {"ops": [{"op": "set", "row": (i * 997) % ROWS,
                           "column": "stock", "value": str(i)}]}
            _, ms = timed(lambda: req("POST", "%s/%s/ops" % (IMPORTS, sid),
                                      op))
            sets.append(ms)
        reads = []
        for i in range(REPEAT):
            _, ms = timed(lambda: req("GET", "%s/%s?offset=%d&limit=100" % (
                IMPORTS, sid, (i * 1000) % ROWS)))
            reads.append(ms)
        mapping = [{"op": "map", "column": c,
                    "field": c if c in ("sku", "name", "description",
                                        "category", "price", "stock",
                                        "colors")
                    else "attributes." + c} for c in COLUMNS]
        req("POST", "%s/%s/ops" % (IMPORTS, sid), {"ops": mapping})
        r, first, cpu1 = timed_cpu(stack, lambda: req(
            "POST", "%s/%s/commit" % (IMPORTS, sid)))
        c1 = r.json()
        r, second, cpu2 = timed_cpu(stack, lambda: req(
            "POST", "%s/%s/commit" % (IMPORTS, sid)))
        c2 = r.json()
        # the server's own view of the commits: slow_request lines split
        # the time into PostgreSQL, Redis and the handler
        split = []
        served = {"create": [], "set": []}
        for line in stack.read_log("synthia.log").splitlines():
            if '"access"' in line and '"status":20' in line:
                e = json.loads(line)
                key = {"/api/v1/imports": "create",
                       "/api/v1/imports/{id}/ops": "set"}.get(e["route"])
                if key:
                    served[key].append(e["duration_us"] / 1000)
            if '"slow_request"' in line and "/commit" in line:
                e = json.loads(line)
                split.append("%.0f ms (db %.0f, redis %.0f, handler %.0f)"
                             % (e["duration_us"] / 1000, e["db_us"] / 1000,
                                e["redis_us"] / 1000,
                                e["handler_us"] / 1000))
        print("imports bench: %d rows x %d columns, CSV %d bytes, %d runs"
              % (ROWS, len(COLUMNS), len(text), REPEAT))
        print("  create  p50 %7.1f ms  max %7.1f ms   (target < 50 ms); "
              "server p50 %.1f ms" % (p50(creates), max(creates),
                                      p50(served["create"])))
        print("  set     p50 %7.1f ms  max %7.1f ms   (target < 10 ms); "
              "server p50 %.1f ms" % (p50(sets), max(sets),
                                      p50(served["set"][:-1])))
        print("  read    p50 %7.1f ms  (a 100-row page)" % p50(reads))
        print("  commit  %7.0f ms inserting %d, %7.0f ms again (%d unchanged), "
              "rejected %d   (target < 2000 ms)"
              % (first, c1["inserted"], second, c2["unchanged"],
                 len(c1["rejected"])))
        for x in split:
            print("          server: " + x)
        print("          CPU: %.2f s and %.2f s (PostgreSQL, responders, "
              "Redis)" % (cpu1, cpu2))


if __name__ == "__main__":
    main()

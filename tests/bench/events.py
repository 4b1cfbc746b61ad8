#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""tests/bench/events.py - analytics events at the sizes issue 14 names,
on a throwaway stack (tests/stack.sh: loopback only, stopped at the end;
its PostgreSQL runs with fsync off, so commits cost no disk flush).

1. Ingest: wrk POSTs /api/v1/events through nginx, 100 events a call,
   with a secret key of a plan whose limits do not bite, for
   BENCH_DURATION seconds.  Events/s = 100 x the 202 answers in nginx's
   access log / the duration; then every accepted event must be in
   PostgreSQL (raw rows and the hourly counts, counted exactly).
   Target: >= 20,000 events/s.
2. Summary: 10 million events of one tenant generated with SQL
   (generate_series over the last 30 days, 10 types; the hourly counts
   built from them as the insert path keeps them), then
   GET /api/v1/metrics/summary (30d) BENCH_REPEAT times, one at a time.
   Target: p50 < 200 ms.  Also the 30-day hourly timeseries and a
   sysadmin's tenant_id=all summary.

    make bench-events      (or tests/bench/events.py from the build dir)
Environment: BENCH_DURATION (default 20), BENCH_CONNECTIONS (default 16),
BENCH_WORKERS (responders, default 4), BENCH_ROWS (default 10000000),
BENCH_REPEAT (default 21).
"""

import sys
sys.dont_write_bytecode = True
import json
import os
import re
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
if not os.environ.get("SY_BUILDDIR"):
    os.environ["SY_BUILDDIR"] = os.getcwd() if os.access(
        "synthia", os.X_OK) else SRC
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

import sylib  # noqa: E402
import syid  # noqa: E402
import keylib  # noqa: E402

DURATION = int(os.environ.get("BENCH_DURATION", "20"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
ROWS = int(os.environ.get("BENCH_ROWS", "10000000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "21"))
TYPES = ["page_view", "product_view", "add_to_cart", "checkout",
         "purchase", "tryon.open", "tryon.shared", "widget.open",
         "search", "recommendation.click"]


def psql(stack, sql, timeout=3600):
    """sql on the stack's database, without the helpers' 30 s limit."""
    p = subprocess.run([os.path.join(syid.PGBIN, "psql"), "-X", "-q", "-A",
                        "-t", "-v", "ON_ERROR_STOP=1", "-d",
                        stack.env["SY_DATABASE_URL"]], input=sql.encode(),
                       capture_output=True, timeout=timeout)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode().strip()


def batch(i):
    return {"events": [{"type": TYPES[(i + k) % len(TYPES)],
                        "data": {"product_id": "p-%d" % k, "n": k}}
                       for k in range(100)]}


def ingest(stack, key):
    body = json.dumps(batch(0))
    lua = ("wrk.method = \"POST\"\n"
           "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
           "wrk.headers[\"X-API-Key\"] = \"%s\"\n"
           "wrk.body = [==[%s]==]\n" % (key, body))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
        script = f.name
    url = stack.base_url + "/api/v1/events"
    try:
        subprocess.run(["wrk", "-t2", "-c%d" % CONNS, "-d2s", "-s", script,
                        url], capture_output=True, check=True)  # warm-up
        before = accepted_in_log(stack)
        out = subprocess.run(["wrk", "-t2", "-c%d" % CONNS,
                              "-d%ds" % DURATION, "--latency", "-s", script,
                              url], capture_output=True, text=True,
                             check=True).stdout
    finally:
        os.unlink(script)
    time.sleep(2)  # nginx flushes its access log every second
    return out, accepted_in_log(stack) - before


def accepted_in_log(stack):
    n = 0
    for line in stack.read_log("nginx-access.log").splitlines():
        if '"POST /api/v1/events ' in line and '" 202 ' in line:
            n += 1
    return n


def timed_get(stack, path, headers):
    t0 = time.perf_counter()
    r = stack.request("GET", path, headers=headers, timeout=60)
    ms = (time.perf_counter() - t0) * 1000
    assert r.status == 200, r
    return r, ms


def latencies(stack, path, headers):
    timed_get(stack, path, headers)  # warm: statement prepared, cache
    ms = [timed_get(stack, path, headers)[1] for _ in range(REPEAT)]
    return statistics.median(ms), max(ms)


def main():
    with sylib.Stack("bench-events", workers=WORKERS) as stack:
        plan = keylib.make_plan(stack, read=10 ** 8, write=10 ** 8, ai=10)
        tid, _ = keylib.make_tenant(stack, plan=plan)
        key, _ = keylib.make_key(stack, tid)

        # 1. ingest
        out, calls = ingest(stack, key)
        raw, counted = psql(stack, """
            SELECT (SELECT count(*) FROM events WHERE tenant_id = '%s'),
                   (SELECT sum(n) FROM event_counts WHERE tenant_id = '%s')
            """ % (tid, tid)).split("|")
        warm = 0  # the warm-up's events are in the table too
        rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
        lat = re.search(r"50%\s+(\S+)", out), re.search(r"99%\s+(\S+)", out)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        accepted = calls * 100
        warm = int(raw) - accepted
        print("events bench: %d responders, wrk -c%d -d%ds, 100 events a "
              "call, secret key" % (WORKERS, CONNS, DURATION))
        print("  ingest  %.0f events/s (%d calls answered 202 in %d s; wrk "
              "%s req/s, p50 %s, p99 %s, non-2xx %s)   (target >= 20,000)"
              % (accepted / DURATION, calls, DURATION,
                 rps.group(1) if rps else "?",
                 lat[0].group(1) if lat[0] else "?",
                 lat[1].group(1) if lat[1] else "?",
                 non2xx.group(1) if non2xx else "0"))
        print("  stored  %s raw rows, %s counted (202 answers x 100 = %d, "
              "plus the warm-up's %d)" % (raw, counted, accepted, warm))
        assert raw == counted, "raw events and counts disagree"
        assert warm >= 0 and warm % 100 == 0, \
            "stored events are not whole accepted batches"

        # 2. summary over ROWS generated events of one tenant
        big, slug = keylib.make_tenant(stack, plan=plan)
        staff = syid.new_user(stack, {"slug": slug}, "staff")
        tok = syid.login_ok(stack, staff)["access_token"]
        t0 = time.perf_counter()
        psql(stack, """
            INSERT INTO events (tenant_id, type, occurred_at, data)
            SELECT '%s', (ARRAY%s)[1 + i %% %d],
                   now() - (i %% (30 * 86400 - 7200)) * interval '1 second',
                   jsonb_build_object('n', i)
            FROM generate_series(1, %d) AS i;
            INSERT INTO event_counts (tenant_id, hour, type, n)
            SELECT tenant_id, date_trunc('hour', occurred_at, 'UTC'), type,
                   count(*) FROM events WHERE tenant_id = '%s'
            GROUP BY 1, 2, 3
            ON CONFLICT (tenant_id, hour, type)
            DO UPDATE SET n = event_counts.n + excluded.n;
            ANALYZE events; ANALYZE event_counts;
            """ % (big, json.dumps(TYPES).replace('"', "'"), len(TYPES),
                   ROWS, big))
        gen = time.perf_counter() - t0
        h = syid.bearer(tok)
        r, _ = timed_get(stack, "/api/v1/metrics/summary", h)
        total = r.json()["events"]["total"]
        assert total == ROWS, (total, ROWS)
        s50, smax = latencies(stack, "/api/v1/metrics/summary", h)
        t50, tmax = latencies(stack, "/api/v1/metrics/timeseries?period=30d"
                              "&bucket=hour", h)
        d50, dmax = latencies(stack, "/api/v1/metrics/timeseries?period=30d",
                              h)
        root = syid.new_sysadmin(stack)
        rh = syid.bearer(syid.login_ok(stack, root)["access_token"])
        a50, amax = latencies(stack, "/api/v1/metrics/summary?tenant_id=all",
                              rh)
        print("  summary over %d events (generated in %.0f s): p50 %.1f ms, "
              "max %.1f ms   (target p50 < 200 ms)" % (total, gen, s50, smax))
        print("  timeseries 30d by hour: p50 %.1f ms, max %.1f ms; by day: "
              "p50 %.1f ms, max %.1f ms" % (t50, tmax, d50, dmax))
        print("  summary tenant_id=all (sysadmin): p50 %.1f ms, max %.1f ms"
              % (a50, amax))


if __name__ == "__main__":
    main()

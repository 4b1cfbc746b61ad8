#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""tests/bench/aicache.py - the AI result cache at issue 11's targets,
through nginx on a throwaway stack (tests/stack.sh, 4 responders,
loopback only, stopped at the end), with an API key of a tenant on a
plan whose limits never bite (read, write and ai: 100,000,000 a minute).

Prints:
  hit     p50 and p99 of POST /api/v1/analysis/chromatic answered from
          the AI result cache, one request at a time on one kept-alive
          connection                                   (target p50 < 1 ms)
  hit32   req/s of the same at 32 connections (wrk), and the ratio to
          GET /health/live of the same run          (target >= 0.5)
  cold    p50 of a first (uncached) chromatic analysis of a 1024x1024
          JPEG, each a different photo                 (target < 30 ms)

    tests/bench/aicache.py            (SY_BUILDDIR: where synthia is
                                       built; default: ./ if it holds
                                       synthia, else the source tree)
Environment: BENCH_DURATION (seconds per wrk run, default 10),
BENCH_REPEAT (sequential requests, default 500), BENCH_COLD (cold
analyses, default 15).
"""

import sys
sys.dont_write_bytecode = True
import http.client
import json
import os
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

import keylib  # noqa: E402
import sylib  # noqa: E402
import syid  # noqa: E402

DURATION = int(os.environ.get("BENCH_DURATION", "10"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "500"))
COLD = int(os.environ.get("BENCH_COLD", "15"))
SYIMG = os.path.join(os.environ["SY_BUILDDIR"], "tests", "tools", "syimg")
ANALYSE = "/api/v1/analysis/chromatic"


def portrait(i, size):
    return subprocess.run(
        [SYIMG, "jpeg", str(size), str(size), "portrait", "e0ac90",
         "%02x%02x20" % (16 + i % 200, 20 + i // 200), "c8d0d8",
         str(i + 1)],  # the noise seed: distinct bytes (JPEG merges colours)
        check=True, capture_output=True, timeout=60).stdout


def wrk(url, headers=(), script=None):
    args = ["wrk", "-t2", "-c32", "-d%ds" % DURATION, "--latency"]
    for h in headers:
        args += ["-H", h]
    if script:
        args += ["-s", script]
    out = subprocess.run(args + [url], check=True, capture_output=True,
                         text=True, timeout=DURATION + 60).stdout
    rps = float([x for x in out.splitlines()
                 if x.startswith("Requests/sec:")][0].split()[1])
    bad = [x for x in out.splitlines() if "Non-2xx" in x or
           "Socket errors" in x]
    return rps, bad


def main():
    with sylib.Stack("bench-aicache", workers=4) as stack:
        plan = keylib.make_plan(stack, 100000000, 100000000, 100000000)
        t = syid.new_tenant(stack, plan=plan)
        key = t["sk"]
        host, port = "127.0.0.1", stack.http_port
        conn = http.client.HTTPConnection(host, port, timeout=30)

        def post(path, body, ctype="application/json"):
            conn.request("POST", path, body=body, headers={
                "X-API-Key": key, "Content-Type": ctype})
            r = conn.getresponse()
            data = r.read()
            return r.status, r.getheader("X-Cache"), data

        # cold: distinct 1024x1024 photos, each analysed once (MISS)
        cold = []
        for i in range(COLD):
            st, _, data = post("/api/v1/uploads", portrait(i, 1024),
                               "image/jpeg")
            assert st == 201, (st, data)
            uid = json.loads(data)["id"]
            body = json.dumps({"upload_id": uid})
            t0 = time.perf_counter()
            st, xc, data = post(ANALYSE, body)
            cold.append(time.perf_counter() - t0)
            assert st == 201 and xc == "MISS", (st, xc, data)

        # hits: one more request of the last photo, REPEAT times
        st, xc, data = post(ANALYSE, body)
        assert st == 201 and xc == "HIT", (st, xc, data)
        hits = []
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            st, xc, data = post(ANALYSE, body)
            hits.append(time.perf_counter() - t0)
            assert st == 201 and xc == "HIT", (st, xc, data)
        conn.close()
        hits.sort()

        with tempfile.NamedTemporaryFile("w", suffix=".lua",
                                         delete=False) as f:
            f.write('wrk.method = "POST"\nwrk.body = %s\n'
                    'wrk.headers["Content-Type"] = "application/json"\n'
                    % json.dumps(body))
            script = f.name
        try:
            base = "http://%s:%d" % (host, port)
            live, bad_live = wrk(base + "/health/live")
            hit32, bad_hit = wrk(base + ANALYSE, ["X-API-Key: " + key],
                                 script)
            live2, _ = wrk(base + "/health/live")
            hit32b, bad_hit2 = wrk(base + ANALYSE, ["X-API-Key: " + key],
                                   script)
        finally:
            os.unlink(script)
        ms = 1000.0
        print("bench: %d cores, 4 responders, plan %s (limits 1e8/min)"
              % (os.cpu_count(), plan))
        print("bench: cold    p50 %7.2f ms  max %7.2f ms  (%d JPEGs "
              "1024x1024, target p50 < 30 ms)"
              % (statistics.median(cold) * ms, max(cold) * ms, COLD))
        print("bench: hit     p50 %7.3f ms  p99 %7.3f ms  (%d sequential, "
              "1 connection, target p50 < 1 ms)"
              % (statistics.median(hits) * ms,
                 hits[int(len(hits) * 0.99) - 1] * ms, REPEAT))
        ratio = (hit32 + hit32b) / (live + live2)
        print("bench: hit32   %8.0f req/s, /health/live %8.0f req/s, "
              "ratio %.2f (32 connections, %ds x2, target >= 0.5)"
              % ((hit32 + hit32b) / 2, (live + live2) / 2, ratio, DURATION))
        for b in bad_live + bad_hit + bad_hit2:
            print("bench: WARNING %s" % b)


if __name__ == "__main__":
    main()

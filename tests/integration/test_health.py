#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Health and operations routes through nginx (API.md, "Health and
operations"): /health, /health/live, /health/ready, /health/detailed,
/health/storage and /metrics, including who may read the last two."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import os
import re

import sylib

SHARED_STACK = dict(workers=2)


def package_version():
    """The version in configure.ac's AC_INIT, the one place it is written."""
    with open(os.path.join(sylib.SRCDIR, "configure.ac")) as f:
        m = re.search(r"AC_INIT\(\[synthia\],\s*\[([^\]]+)\]", f.read())
    assert m, "AC_INIT version not found in configure.ac"
    return m.group(1)


def assert_json(r):
    assert r.content_type == "application/json", "content type: %r" % (r,)
    return r.json()


def assert_request_id(r):
    rid = r.headers.get("X-Request-Id")
    assert rid and sylib.SANE_ID.match(rid), "X-Request-Id: %r in %r" % (rid, r)
    return rid


def test_live(stack):
    r = stack.get("/health/live")
    assert r.status == 200, r
    assert assert_json(r) == {"status": "alive"}, r
    assert_request_id(r)


def test_health_ok(stack):
    r = stack.get("/health")
    assert r.status == 200, r
    body = assert_json(r)
    assert body.get("status") == "ok", body
    assert body.get("version") == package_version(), body
    assert_request_id(r)


def test_ready(stack):
    r = stack.get("/health/ready")
    assert r.status == 200, r
    body = assert_json(r)
    assert body.get("status") == "ready", body
    assert isinstance(body.get("checks"), dict), body


def test_detailed_from_trusted_network(stack):
    # nginx connects from 127.0.0.1, inside the default trusted networks
    r = stack.get("/health/detailed")
    assert r.status == 200, r
    body = assert_json(r)
    for part in ("database", "redis", "pool"):
        assert isinstance(body.get(part), dict), "%s missing: %r" % (part, body)
    pool = body["pool"]
    for k in ("responders", "busy", "idle", "served", "all_busy"):
        assert k in pool, "pool.%s missing: %r" % (k, pool)
    assert pool["responders"] == stack.workers, pool
    for k in ("busy", "idle", "served"):
        assert isinstance(pool[k], int) and pool[k] >= 0, pool
    assert isinstance(pool["all_busy"], (int, bool)), pool


# A Prometheus text-format sample line: name{labels} value [timestamp]
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+'
                    r'(-?[0-9.]+(?:[eE][+-]?[0-9]+)?|NaN|[+-]Inf)(\s+-?[0-9]+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """[(name, {label: value}, float)] for every sample; asserts that every
    line is a comment, blank, or a well-formed sample."""
    samples = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a Prometheus sample line: %r" % line
        labels = dict(LABEL.findall(m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples


def find(samples, name, **labels):
    return [s for s in samples
            if s[0] == name and all(s[1].get(k) == v for k, v in labels.items())]


def test_metrics_from_trusted_network(stack):
    for _ in range(20):
        assert stack.get("/health/live").status == 200
    r = stack.get("/metrics")
    assert r.status == 200, r
    ctype = r.headers.get("Content-Type", "")
    assert ctype.startswith("text/plain"), ctype
    assert "version=0.0.4" in ctype, ctype
    samples = parse_metrics(r.text())

    live = find(samples, "synthia_http_requests_total",
                route="/health/live", method="GET", status="200")
    assert live, "no synthia_http_requests_total for GET /health/live 200"
    assert sum(s[2] for s in live) >= 1, live

    buckets = find(samples, "synthia_http_request_duration_seconds_bucket")
    assert buckets, "no synthia_http_request_duration_seconds histogram"
    assert any(s[1].get("le") == "+Inf" for s in buckets), buckets[:5]
    assert find(samples, "synthia_http_request_duration_seconds_count")
    assert find(samples, "synthia_http_request_duration_seconds_sum")

    busy = find(samples, "synthia_responders", state="busy")
    idle = find(samples, "synthia_responders", state="idle")
    assert busy and idle, "synthia_responders{state=busy|idle} missing"
    assert busy[0][2] + idle[0][2] == stack.workers, (busy, idle)

    # the stack ran `synthia migrate` before serving: processes outside
    # the pool count too (server.metrics_dir), and show here
    runs = find(samples, "synthia_cli_runs_total", command="migrate")
    assert runs and runs[0][2] >= 1, runs
    assert find(samples, "synthia_store_connects_total", store="postgresql")
    assert_families_grouped(r.text())


def assert_families_grouped(text):
    """One TYPE per metric name, and a family's samples all together
    (what the exposition format asks, and what promtool checks)."""
    types, done, current = set(), set(), None
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in types, "two TYPE lines for %s" % name
            types.add(name)
            continue
        if not line or line.startswith("#"):
            continue
        name = SAMPLE.match(line).group(1)
        family = next((t for t in types if name == t or (
            name.startswith(t + "_") and name[len(t) + 1:] in
            ("bucket", "sum", "count"))), name)
        if family != current:
            assert family not in done, "%s is split in two" % family
            if current:
                done.add(current)
            current = family


def test_storage(stack):
    r = stack.get("/health/storage")
    assert r.status == 200, r
    body = assert_json(r)
    assert body.get("backend_type") == "redis", body
    assert isinstance(body.get("redis_info"), dict), body
    assert body.get("active_sessions") == 0, body


def test_health_head(stack):
    r = stack.request("HEAD", "/health/live")
    assert r.status == 200, r
    assert r.body == b"", r


@sylib.own_stack(workers=1,
                 extra_config="[server]\ntrusted_networks = 10.9.9.0/24\n")
def test_untrusted_network_is_forbidden(stack):
    # 127.0.0.1 is outside 10.9.9.0/24 now
    for path in ("/health/detailed", "/metrics"):
        r = stack.get(path)
        sylib.assert_problem(r, 403, "forbidden")
    # the public probes stay public
    assert stack.get("/health/live").status == 200
    assert stack.get("/health").status == 200


sylib.main(globals())

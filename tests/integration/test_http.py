#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""HTTP conventions through nginx (API.md, "Conventions"): problem+json
errors, 404/405/413, HEAD, and X-Request-Id."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import json

import sylib

SHARED_STACK = dict(workers=2)


def test_unknown_path_is_404_problem(stack):
    r = stack.get("/api/v1/nope")
    sylib.assert_problem(r, 404, "not_found")


def test_wrong_method_is_405_with_allow(stack):
    r = stack.request("POST", "/health/live", body=b"{}",
                      headers={"Content-Type": "application/json"})
    sylib.assert_problem(r, 405, "method_not_allowed")
    allow = r.headers.get("Allow")
    assert allow, "405 without Allow: %r" % (r,)
    methods = {m.strip().upper() for m in allow.split(",")}
    assert methods == {"GET", "HEAD"}, allow


def test_body_over_max_body_is_413(stack):
    body = b"[" + b"0," * (1024 * 1024) + b"0]"  # a 2 MiB JSON array
    assert len(body) > 2 * 1024 * 1024
    r = stack.request("POST", "/api/v1/anything", body=body,
                      headers={"Content-Type": "application/json"}, timeout=30)
    sylib.assert_problem(r, 413, "payload_too_large")
    # the responder that refused it is still fine
    for _ in range(4):
        assert stack.get("/health/live").status == 200


def test_body_over_web_server_limit_is_413_problem(stack):
    # over nginx's client_max_body_size (conf/nginx/synthia.conf): nginx
    # refuses it itself, with the problem body from the shipped config
    body = b"x" * (13 * 1024 * 1024)
    r = stack.request("POST", "/api/v1/anything", body=body,
                      headers={"Content-Type": "application/json"}, timeout=30)
    sylib.assert_problem(r, 413, "payload_too_large")


def many_headers(n):
    """X-Request-Id first, then n - 1 more fields (http.client adds Host
    and Accept-Encoding)."""
    h = {"X-Request-Id": "many-headers"}
    for i in range(n - 1):
        h["X-Filler-%d" % i] = "v"
    return h


def test_more_header_fields_than_kept_is_431(stack):
    # issue 10: past the 64 fields a request kept, the rest were dropped
    # silently, a credential or precondition among them; a request keeps
    # 100 (Apache's LimitRequestFields) and more is refused whole
    r = stack.get("/api/v1/plans", headers=many_headers(90))
    assert r.status == 200, r
    for path in ("/api/v1/plans", "/api/v1/auth/me", "/api/v1/nope"):
        r = stack.get(path, headers=many_headers(120))
        p = sylib.assert_problem(r, 431, "headers_too_large")
        assert p["request_id"] == "many-headers", p
    # an absurd count is over nginx's header buffers: nginx refuses it,
    # with the same problem
    r = stack.get("/api/v1/plans", headers=many_headers(5000))
    p = sylib.assert_problem(r, 431, "headers_too_large")
    # the responders are fine
    for _ in range(4):
        assert stack.get("/health/live").status == 200


def test_head_has_no_body(stack):
    r = stack.request("HEAD", "/health/live")
    assert r.status == 200, r
    assert r.body == b"", r
    assert r.headers.get("X-Request-Id"), r


def test_sane_request_id_is_echoed(stack):
    for rid in ("abc-123_x.y", "A" * 64, "0"):
        r = stack.get("/health/live", headers={"X-Request-Id": rid})
        assert r.status == 200, r
        assert r.headers.get("X-Request-Id") == rid, (rid, r)
    # also on errors, in the header and in the problem body
    r = stack.get("/api/v1/nope", headers={"X-Request-Id": "abc-123_x.y"})
    p = sylib.assert_problem(r, 404, "not_found")
    assert p["request_id"] == "abc-123_x.y", p


def test_insane_request_id_is_replaced(stack):
    for rid in ("a" * 65, "b" * 100, "has space", 'quo"te', "semi;colon",
                "slash/x", "ünï"):
        r = stack.get("/health/live", headers={"X-Request-Id": rid})
        assert r.status == 200, r
        got = r.headers.get("X-Request-Id")
        assert got and sylib.SANE_ID.match(got), (rid, got)
        assert got != rid, (rid, got)


def test_generated_request_ids_differ(stack):
    ids = set()
    for _ in range(10):
        r = stack.get("/health/live")
        rid = r.headers.get("X-Request-Id")
        assert rid and sylib.SANE_ID.match(rid), r
        ids.add(rid)
    assert len(ids) == 10, ids


def log_records(stack):
    """synthia's stderr: one JSON object per line, each with time and level."""
    records = []
    for line in stack.read_log("synthia.log").splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            raise AssertionError("synthia.log line is not JSON: %r" % line)
        assert isinstance(rec, dict) and "time" in rec and "level" in rec, line
        records.append(rec)
    return records


def test_access_log_carries_request_id(stack):
    rid = "access-log-probe-1"
    assert stack.get("/health/live", headers={"X-Request-Id": rid}).status == 200

    def line():
        return [r for r in log_records(stack) if r.get("request_id") == rid]
    recs = sylib.wait_until(line, timeout=5, what="access log line for " + rid)
    rec = recs[0]
    assert rec.get("method") == "GET", rec
    assert rec.get("route") == "/health/live", rec
    assert rec.get("status") == 200, rec
    assert isinstance(rec.get("duration_us"), int), rec


def test_logs_are_json_lines(stack):
    assert log_records(stack), "synthia.log is empty"


sylib.main(globals())

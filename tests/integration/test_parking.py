#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Parked requests and GET /api/v1/jobs/{id} (issue 12, issue 14 ?wait=).

Job rows are written with psql and their changes published with
redis-cli, as the queue will (UPDATE ... version + 1, then PUBLISH
sy:job:<id> after the commit), so these tests depend on no other route.
A waiting client is a raw HTTP/1.1 socket to the stack's nginx, so many
can wait at once and the moment each answer arrives is measured.

What is checked: the job's view, ETag/304, who sees which job, hostile
ids; ?wait= answered when the version moves, at its timeout, at once for
a final state; the bound on parked requests (Retry-After); a client that
goes away frees its slot; SIGHUP and SIGTERM answer parked requests at
once; a request timeout of another request does not lose them; and the
acceptance test: 200 parked on a 4-responder pool while wrk -c32 hits
/health/live and a keyed read, p99 within 2x of the same run without
them, each parked request answered within 50 ms of its event (p99)."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import tempfile
import threading
import time

import keylib
import sylib

SHARED_STACK = dict(workers=2)
TEST_TIMEOUT = 180


# ------------------------------------------------------------- fixtures


def tenant_with_key(stack, read=100000):
    plan = keylib.make_plan(stack, read=read, write=100000)
    tid, slug = keylib.make_tenant(stack, plan=plan)
    key, _ = keylib.make_key(stack, tid)
    return tid, slug, key


def user_id(stack, tok):
    r = stack.get("/api/v1/auth/me", headers=keylib.bearer(tok))
    assert r.status == 200, r
    return r.json()["id"]


def make_job(stack, tid, uid=None, status="queued", **cols):
    names = ["tenant_id", "user_id", "status", "max_attempts", "input_hash"]
    vals = ["'%s'" % tid, "'%s'" % uid if uid else "NULL", "'%s'" % status,
            "3", "'%s'" % ("ab" * 32)]
    for k, v in cols.items():
        names.append(k)
        vals.append(v)
    return keylib.psql(stack, "INSERT INTO jobs (%s) VALUES (%s) RETURNING id"
                       % (", ".join(names), ", ".join(vals)))


def make_jobs(stack, tid, n):
    """n queued jobs of tenant tid in one statement: their ids."""
    return keylib.psql(stack, "INSERT INTO jobs (tenant_id, max_attempts, "
                       "input_hash) SELECT '%s', 3, '%s' FROM "
                       "generate_series(1, %d) RETURNING id"
                       % (tid, "cd" * 32, n)).split()


def change_job(stack, jid, status="running", publish=True):
    keylib.psql(stack, "UPDATE jobs SET status = '%s', version = version + 1 "
                "WHERE id = '%s'" % (status, jid))
    if publish:
        keylib.redis(stack, "PUBLISH", "sy:job:%s" % jid, status)


def get_job(stack, jid, key=None, tok=None, query="", headers=None):
    h = dict(headers or {})
    if key:
        h["X-API-Key"] = key
    if tok:
        h.update(keylib.bearer(tok))
    return stack.get("/api/v1/jobs/%s%s" % (jid, query), headers=h)


class Waiter:
    """One HTTP/1.1 request on its own connection (Connection: close);
    the answer is complete when nginx closes it."""

    def __init__(self, stack, path, headers):
        self.sock = socket.create_connection(("127.0.0.1", stack.http_port),
                                             timeout=10)
        lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1",
                 "Connection: close"]
        lines += ["%s: %s" % kv for kv in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.sock.setblocking(False)
        self.data = b""
        self.done_at = None
        self.sent_at = time.monotonic()

    def fileno(self):
        return self.sock.fileno()

    def on_readable(self):
        try:
            b = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            b = b""
        if b:
            self.data += b
        else:
            self.done_at = time.monotonic()
            self.sock.close()

    @property
    def status(self):
        m = re.match(rb"HTTP/1\.1 (\d+)", self.data)
        return int(m.group(1)) if m else None

    def header(self, name):
        head = self.data.partition(b"\r\n\r\n")[0].decode("latin-1")
        m = re.search(r"^%s: *(.*?)\r?$" % re.escape(name), head,
                      re.M | re.I)
        return m.group(1) if m else None

    def json(self):
        body = self.data.partition(b"\r\n\r\n")[2]
        if self.header("Transfer-Encoding") == "chunked":
            out, rest = b"", body
            while rest:
                size, _, rest = rest.partition(b"\r\n")
                n = int(size, 16)
                if n == 0:
                    break
                out += rest[:n]
                rest = rest[n + 2:]
            body = out
        return json.loads(body)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def pump(waiters, until, deadline):
    """Read the waiters until until(waiters) or the deadline."""
    sel = selectors.DefaultSelector()
    for w in waiters:
        if w.done_at is None:
            sel.register(w, selectors.EVENT_READ)
    try:
        while not until(waiters) and time.monotonic() < deadline:
            for k, _ in sel.select(timeout=0.05):
                w = k.fileobj
                w.on_readable()
                if w.done_at is not None:
                    sel.unregister(w)
    finally:
        sel.close()


def all_done(ws):
    return all(w.done_at is not None for w in ws)


def none_done(ws, settle=0.3):
    """No waiter has its answer after `settle` seconds."""
    pump(ws, lambda x: any(w.done_at for w in x), time.monotonic() + settle)
    return not any(w.done_at for w in ws)


def metric(stack, name):
    r = stack.get("/metrics")
    assert r.status == 200, r
    total = 0.0
    for line in r.text().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def parked_now(stack):
    return metric(stack, "synthia_parked_requests")


def wait_parked(stack, n, timeout=10):
    sylib.wait_until(lambda: parked_now(stack) >= n, timeout=timeout,
                     interval=0.05, what="%d parked requests" % n)


# ------------------------------------------------------- the job's view


def test_job_view_etag_and_304(stack):
    tid, _, key = tenant_with_key(stack)
    jid = make_job(stack, tid)
    r = get_job(stack, jid, key=key)
    assert r.status == 200, r
    j = r.json()
    assert set(j) == {"id", "status", "attempts", "provider", "result_url",
                      "error", "duration_ms", "provider_duration_ms",
                      "cold_start", "created_at", "completed_at"}, j
    assert j["id"] == jid and j["status"] == "queued" and j["attempts"] == 0
    assert j["result_url"] is None and j["completed_at"] is None, j
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$",
                    j["created_at"]), j
    etag = r.headers.get("ETag")
    assert etag == '"%s.1"' % jid, etag
    r = get_job(stack, jid, key=key, headers={"If-None-Match": etag})
    assert r.status == 304, r
    # a finished job with a result, its durations and provider
    done = make_job(stack, tid, status="done", attempts="2",
                    provider="'local'", result="'\\x00'::bytea",
                    result_type="'image/png'", duration_ms="1234",
                    provider_duration_ms="1000", cold_start="true",
                    completed_at="now()")
    j = get_job(stack, done, key=key).json()
    assert j["result_url"] == "/api/v1/jobs/%s/result" % done, j
    assert (j["status"], j["attempts"], j["provider"], j["duration_ms"],
            j["provider_duration_ms"], j["cold_start"]) == \
        ("done", 2, "local", 1234, 1000, True), j
    assert j["completed_at"], j
    # an expired result is gone
    gone = make_job(stack, tid, status="done", result="'\\x00'::bytea",
                    result_type="'image/png'",
                    result_expires_at="now() - interval '1 minute'")
    assert get_job(stack, gone, key=key).json()["result_url"] is None
    # the version moves: so does the ETag
    change_job(stack, jid, publish=False)
    r = get_job(stack, jid, key=key, headers={"If-None-Match": etag})
    assert r.status == 200 and r.headers.get("ETag") == '"%s.2"' % jid, r


def test_who_sees_which_job(stack):
    tid, slug, key = tenant_with_key(stack)
    alice = keylib.user_token(stack, slug, "shopper")
    bob = keylib.user_token(stack, slug, "shopper")
    staff = keylib.user_token(stack, slug, "staff")
    mine = make_job(stack, tid, user_id(stack, alice))
    assert get_job(stack, mine, tok=alice).status == 200
    # another shopper of the same tenant: as if it did not exist; staff
    # sees it (the rule of the other try-on routes, sy_tryon_owner)
    sylib.assert_problem(get_job(stack, mine, tok=bob), 404, "not_found")
    assert get_job(stack, mine, tok=staff).status == 200
    # the tenant's key sees the jobs made with keys, not a shopper's
    sylib.assert_problem(get_job(stack, mine, key=key), 404, "not_found")
    keyjob = make_job(stack, tid)
    assert get_job(stack, keyjob, key=key).status == 200
    assert get_job(stack, keyjob, tok=alice).status == 404
    assert get_job(stack, keyjob, tok=staff).status == 200
    # another tenant's key and users: 404, never 403
    tid2, slug2, key2 = tenant_with_key(stack)
    sylib.assert_problem(get_job(stack, mine, key=key2), 404, "not_found")
    other = keylib.user_token(stack, slug2, "owner")
    sylib.assert_problem(get_job(stack, mine, tok=other), 404, "not_found")
    # ... and a wait on another tenant's job is refused at once
    t0 = time.monotonic()
    sylib.assert_problem(get_job(stack, mine, key=key2, query="?wait=5"),
                         404, "not_found")
    assert time.monotonic() - t0 < 2
    # a key without tryon:write: 403; no credentials: 401
    narrow, _ = keylib.make_key(stack, tid, scopes=["catalog:read"])
    sylib.assert_problem(get_job(stack, mine, key=narrow), 403, "forbidden")
    assert get_job(stack, mine).status == 401


def test_hostile_ids_and_waits(stack):
    tid, _, key = tenant_with_key(stack)
    jid = make_job(stack, tid)
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000",
                jid + "0", jid[:-1], "%27%3B%20DROP%20TABLE%20jobs%3B--",
                "%E2%80%AE" + jid, "x" * 300, jid.replace("-", ""),
                "..%2F..%2Fetc%2Fpasswd", "%00"):
        r = get_job(stack, bad, key=key)
        assert r.status in (400, 404), (bad, r)
        assert r.content_type == "application/problem+json", (bad, r)
    for q in ("?wait=31", "?wait=-1", "?wait=abc", "?wait=", "?wait=1.5",
              "?wait=99999999999999999999", "?wait=%00"):
        r = get_job(stack, jid, key=key, query=q)
        assert r.status in (400, 422), (q, r)
        if r.status == 422:
            assert r.json()["errors"][0]["field"] == "wait", (q, r.json())
    assert keylib.psql(stack, "SELECT count(*) FROM jobs WHERE id = '%s'"
                       % jid) == "1"


# ----------------------------------------------------------- ?wait=


def test_wait_answers_when_the_job_changes(stack):
    tid, _, key = tenant_with_key(stack)
    jid = make_job(stack, tid)
    w = Waiter(stack, "/api/v1/jobs/%s?wait=20" % jid, {"X-API-Key": key})
    try:
        assert none_done([w], settle=0.5), w.data
        # a message that moved nothing (no new version) keeps it waiting
        keylib.redis(stack, "PUBLISH", "sy:job:%s" % jid, "queued")
        assert none_done([w], settle=0.3), w.data
        change_job(stack, jid, "running")
        t0 = time.monotonic()  # PUBLISHed (psql and redis-cli are slow)
        pump([w], all_done, time.monotonic() + 5)
        assert w.done_at is not None, "no answer after the change"
        assert w.done_at - t0 < 1.0, w.done_at - t0
        assert w.status == 200, w.data
        assert w.json()["status"] == "running", w.data
        assert w.header("ETag") == '"%s.2"' % jid, w.data
    finally:
        w.close()


def test_wait_times_out_with_the_current_state(stack):
    tid, _, key = tenant_with_key(stack)
    jid = make_job(stack, tid)
    t0 = time.monotonic()
    r = get_job(stack, jid, key=key, query="?wait=1")
    took = time.monotonic() - t0
    assert r.status == 200 and r.json()["status"] == "queued", r
    assert 0.9 <= took < 3, took
    # with If-None-Match of the current version: 304 at the timeout
    etag = r.headers["ETag"]
    t0 = time.monotonic()
    r = get_job(stack, jid, key=key, query="?wait=1",
                headers={"If-None-Match": etag})
    assert r.status == 304 and 0.9 <= time.monotonic() - t0 < 3, r
    # with an older version: answered at once (the client is behind)
    change_job(stack, jid, publish=False)
    t0 = time.monotonic()
    r = get_job(stack, jid, key=key, query="?wait=10",
                headers={"If-None-Match": etag})
    assert r.status == 200 and time.monotonic() - t0 < 1, r
    # a final state is answered at once; so is wait=0
    for status in ("done", "error", "canceled"):
        fin = make_job(stack, tid, status=status)
        t0 = time.monotonic()
        r = get_job(stack, fin, key=key, query="?wait=10")
        assert r.status == 200 and r.json()["status"] == status, r
        assert time.monotonic() - t0 < 1
    t0 = time.monotonic()
    assert get_job(stack, jid, key=key, query="?wait=0").status == 200
    assert time.monotonic() - t0 < 1


def test_a_change_published_before_the_subscription_is_not_missed(stack):
    """The row changes without a message: the wait still sees it when its
    subscription is confirmed (it looks again then), or at its end."""
    tid, _, key = tenant_with_key(stack)
    jid = make_job(stack, tid)
    w = Waiter(stack, "/api/v1/jobs/%s?wait=3" % jid, {"X-API-Key": key})
    try:
        pump([w], all_done, time.monotonic() + 6)
        assert w.status == 200, w.data
    finally:
        w.close()
    # HEAD waits too, and answers without a body
    r = stack.request("HEAD", "/api/v1/jobs/%s?wait=0" % jid,
                      headers={"X-API-Key": key})
    assert r.status == 200 and r.headers.get("ETag"), r


@sylib.own_stack(workers=1)
def test_wait_survives_a_redis_restart(stack):
    """The subscriber connection comes back (back-off) and subscribes
    again; a change made while Redis was away (its message lost) is seen
    when the subscription is confirmed."""
    tid, _, key = tenant_with_key(stack)
    jid = make_job(stack, tid)
    w = Waiter(stack, "/api/v1/jobs/%s?wait=25" % jid, {"X-API-Key": key})
    try:
        wait_parked(stack, 1)
        stack.kill_redis()
        change_job(stack, jid, "running", publish=False)
        assert none_done([w], settle=0.5), w.data
        t0 = time.monotonic()
        stack.start_redis()
        pump([w], all_done, time.monotonic() + 15)
        assert w.status == 200, w.data
        assert w.json()["status"] == "running", w.data
        assert w.done_at - t0 < 10, w.done_at - t0
        # and it is subscribed again: a later wait gets its message
        w2 = Waiter(stack, "/api/v1/jobs/%s?wait=25" % jid,
                    {"X-API-Key": key})
        try:
            wait_parked(stack, 1)
            sylib.wait_until(
                lambda: keylib.redis(stack, "PUBSUB", "NUMSUB",
                                     "sy:job:%s" % jid).split()[-1] == "1",
                timeout=10, interval=0.05, what="the subscription")
            change_job(stack, jid, "done")
            pump([w2], all_done, time.monotonic() + 5)
            assert w2.status == 200 and w2.json()["status"] == "done", w2.data
        finally:
            w2.close()
        assert metric(stack, "synthia_pubsub_connects_total") >= 2
    finally:
        w.close()


@sylib.own_stack(workers=1, extra_config="[server]\nparked_requests = 3\n")
def test_bound_on_parked_requests_answers_with_retry_after(stack):
    tid, _, key = tenant_with_key(stack)
    jid = make_job(stack, tid)
    ws = [Waiter(stack, "/api/v1/jobs/%s?wait=20" % jid, {"X-API-Key": key})
          for _ in range(3)]
    try:
        wait_parked(stack, 3)
        assert none_done(ws), [w.data for w in ws]
        # the fourth: at once, the current state and Retry-After
        t0 = time.monotonic()
        r = get_job(stack, jid, key=key, query="?wait=20")
        assert time.monotonic() - t0 < 1.5
        assert r.status == 200 and r.json()["status"] == "queued", r
        assert r.headers.get("Retry-After") == "1", r
        assert metric(stack, "synthia_park_refused_total") >= 1
        # other requests are served meanwhile
        assert stack.get("/health/live").status == 200
        assert get_job(stack, jid, key=key).status == 200
        # clients that go away free their slots
        for w in ws[:2]:
            w.close()
        sylib.wait_until(lambda: parked_now(stack) == 1, timeout=5,
                         interval=0.05, what="two slots freed")
        more = [Waiter(stack, "/api/v1/jobs/%s?wait=20" % jid,
                       {"X-API-Key": key}) for _ in range(2)]
        ws += more
        wait_parked(stack, 3)
        assert none_done(more)
        assert metric(stack, "synthia_parked_gone_total") >= 2
        change_job(stack, jid)
        pump(ws[2:], all_done, time.monotonic() + 5)
        for w in ws[2:]:
            assert w.status == 200 and w.json()["status"] == "running", w.data
        assert parked_now(stack) == 0
    finally:
        for w in ws:
            w.close()


@sylib.own_stack(workers=2)
def test_sighup_and_sigterm_answer_parked_requests_at_once(stack):
    tid, _, key = tenant_with_key(stack)
    jid = make_job(stack, tid)
    for how in ("SIGHUP to the master", "SIGTERM to each responder"):
        ws = [Waiter(stack, "/api/v1/jobs/%s?wait=30" % jid,
                     {"X-API-Key": key}) for _ in range(10)]
        try:
            wait_parked(stack, 10)
            before = stack.wait_responders()
            t0 = time.monotonic()
            if how.startswith("SIGHUP"):
                os.kill(stack.master_pid(), signal.SIGHUP)
            else:
                for pid in before:
                    os.kill(pid, signal.SIGTERM)
            pump(ws, all_done, time.monotonic() + 10)
            took = time.monotonic() - t0
            for w in ws:
                assert w.status == 200, (how, w.data)
                assert w.json()["status"] == "queued", (how, w.data)
            assert took < 3, (how, took)
            stack.wait_responders(exclude=before, timeout=30)
        finally:
            for w in ws:
                w.close()
    assert stack.get("/health/live").status == 200


@sylib.own_stack(workers=1, extra_config="[server]\nrequest_timeout = 1s\n")
def test_a_request_timeout_does_not_lose_parked_requests(stack):
    tid, _, key = tenant_with_key(stack)
    jid = make_job(stack, tid)
    ws = [Waiter(stack, "/api/v1/jobs/%s?wait=30" % jid, {"X-API-Key": key})
          for _ in range(5)]
    try:
        wait_parked(stack, 5)
        # parked time is not handler time: nothing timed out meanwhile
        time.sleep(1.5)
        assert none_done(ws, settle=0.1)
        before = stack.wait_responders()
        # a request that hangs in PostgreSQL runs past request_timeout
        pg = stack.pg_pids()
        for pid in pg:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass  # a backend that ended since it was listed
        try:
            r = get_job(stack, jid, key=key, headers={"Cache-Control": "x"})
            sylib.assert_problem(r, 503, "timeout")
            pump(ws, all_done, time.monotonic() + 5)
        finally:
            for pid in pg:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
        # the parked ones had their answer of park time, not an error
        for w in ws:
            assert w.status == 200, w.data
            assert w.json()["id"] == jid, w.data
        stack.wait_responders(exclude=before, timeout=30)
        assert get_job(stack, jid, key=key).status == 200
    finally:
        for w in ws:
            w.close()


# -------------------------------------------------- under load (issue 12)


WRK_LUA = """
-- SPDX-License-Identifier: BSD-2-Clause
-- alternate /health/live and a keyed read of a job
local n = 0
request = function()
    n = n + 1
    if n %% 2 == 0 then
        return wrk.format("GET", "/health/live")
    end
    return wrk.format("GET", "/api/v1/jobs/%s", {["X-API-Key"] = "%s"})
end
"""


def wrk(stack, script, seconds=5):
    # a reply slower than wrk's default 2 s counts as a socket error:
    # on a loaded machine that is its scheduler, not a failed request
    p = subprocess.run(["wrk", "-t2", "-c32", "-d%ds" % seconds, "--latency",
                        "--timeout", "10s", "-s", script, stack.base_url],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=seconds + 60)
    out = p.stdout.decode()
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", out, re.M)
    assert m, out
    p99 = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    n = int(re.search(r"(\d+) requests in", out).group(1))
    errs = re.search(r"Socket errors: .*", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert not errs and not bad, out
    return p99, n


class Publisher:
    """PUBLISH over a raw RESP connection to the stack's Redis: the
    moment each message leaves is known, and Redis says how many
    subscribers got it."""

    def __init__(self, stack):
        self.sock = socket.create_connection(
            ("127.0.0.1", int(stack.env["SY_REDIS_PORT"])), timeout=10)
        self.buf = b""

    def publish(self, channel, msg):
        args = [b"PUBLISH", channel.encode(), msg.encode()]
        out = b"*%d\r\n" % len(args)
        for a in args:
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        line, _, self.buf = self.buf.partition(b"\r\n")
        assert line.startswith(b":"), line
        return int(line[1:])

    def close(self):
        self.sock.close()


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p))]


def publish_round(stack, jobs, ws):
    """Mark the parked requests' jobs done, PUBLISH each, read the
    answers: each one's time from its PUBLISH to its answer (ms)."""
    keylib.psql(stack, "UPDATE jobs SET status = 'done', version = "
                "version + 1, completed_at = now() WHERE id IN (%s)"
                % ",".join("'%s'" % j for j in jobs))
    by_job = dict(zip(jobs, ws))
    published, receivers = {}, {}
    pub = Publisher(stack)
    try:
        # publish one at a time while reading the answers, so that
        # each PUBLISH's moment is known to the millisecond
        deadline = time.monotonic() + 30
        for j in jobs:
            published[j] = time.monotonic()
            receivers[j] = pub.publish("sy:job:%s" % j, "done")
            pump(ws, all_done, time.monotonic() + 0.005)
        pump(ws, all_done, deadline)
    finally:
        pub.close()
    missed = [j for j in jobs if receivers[j] != 1]
    assert not missed, "PUBLISH reached %s subscribers" % [
        receivers[j] for j in missed[:5]]
    lat = []
    for j, w in by_job.items():
        assert w.status == 200, w.data
        assert w.json()["status"] == "done", w.data
        lat.append((w.done_at - published[j]) * 1000)
    return lat


@sylib.own_stack(workers=4)
def test_200_parked_requests_under_load(stack):
    tid, _, key = tenant_with_key(stack, read=10 ** 7)
    probe = make_job(stack, tid)
    jobs = make_jobs(stack, tid, 200)
    fd, script = tempfile.mkstemp(prefix="sy-park-", suffix=".lua")
    with os.fdopen(fd, "w") as f:
        f.write(WRK_LUA % (probe, key))
    ws = []
    rounds = []
    try:
        # p99 with 200 parked within 2x the p99 without, in the same
        # round.  A p99 over 5 s on a shared two-core machine moves with
        # whatever else runs (make -j2 check runs two test files at once;
        # seen 75 ms and 1480 ms for the same base load a minute apart),
        # so a round that misses is measured again, up to three rounds:
        # parked requests that slow the others miss every round.
        for attempt in range(3):
            if ws:
                for w in ws:
                    w.close()
                sylib.wait_until(lambda: parked_now(stack) == 0, timeout=20,
                                 interval=0.05, what="no parked requests")
            base_p99, base_n = wrk(stack, script)
            ws = [Waiter(stack, "/api/v1/jobs/%s?wait=30" % j,
                         {"X-API-Key": key}) for j in jobs]
            wait_parked(stack, 200, timeout=20)
            load_p99, load_n = wrk(stack, script)
            print("# p99 %.2f ms without parked requests, %.2f ms with 200 "
                  "(%d and %d requests)" % (base_p99, load_p99, base_n,
                                            load_n))
            early = [w.data[:300] for w in ws if w.done_at]
            assert not early, "parked requests answered: %d, %s" % (
                len(early), early[:3])
            rounds.append((base_p99, load_p99))
            if load_p99 <= 2 * base_p99:
                break
        else:
            raise AssertionError("p99 with 200 parked requests over 2x "
                                 "without, in every round: %r" % rounds)
        # each job changes (UPDATE, then PUBLISH after the commit): the
        # time from its PUBLISH to its answer.  p99 <= 50 ms (issue 12;
        # 150 ms in the sanitizer build); a round that misses is measured
        # again with 200 new parked requests, up to three rounds (a burst
        # of the neighbours' load misses some, slow wakes every one)
        bound = 150 if sylib.sanitized_build() else 50
        tails = []
        for attempt in range(3):
            if attempt:
                jobs = make_jobs(stack, tid, 200)
                ws = [Waiter(stack, "/api/v1/jobs/%s?wait=30" % j,
                             {"X-API-Key": key}) for j in jobs]
                wait_parked(stack, 200, timeout=20)
            lat = publish_round(stack, jobs, ws)
            print("# event -> answer: p50 %.1f ms, p99 %.1f ms, max %.1f ms"
                  % (pct(lat, 0.5), pct(lat, 0.99), max(lat)))
            tails.append(sorted(lat)[-5:])
            if pct(lat, 0.99) <= bound:
                break
        else:
            raise AssertionError("event -> answer p99 over %d ms in every "
                                 "round: %r" % (bound, tails))
        assert parked_now(stack) == 0
    finally:
        for w in ws:
            w.close()
        os.unlink(script)


if __name__ == "__main__":
    sys.exit(sylib.main(globals()))

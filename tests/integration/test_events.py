#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Events and analytics (issue 14; API.md "Try-on jobs, events, metrics"):
POST /api/v1/events, GET /api/v1/metrics/timeseries and /metrics/summary,
and `synthia events prune`, against the stack's real PostgreSQL and Redis.

Covers: a batch is stored whole (raw rows in the month's partition and
the hourly counts, checked in the database); validation names the field
(events[3].type, events[1].ts, ...) and stores nothing of a refused
batch; keys only, with events:write; a call costs one write unit however
many events it carries; the timeseries is zero-filled, bucketed by hour
or day, filtered by type; roles (staff+, keys with metrics:read);
tenant isolation; the sysadmin's tenant_id=<id>|all; the summary's
totals, generations and cache figures; prune drops expired partitions and
counts and creates the months ahead; a month without a partition gets
one on the next batch."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import datetime
import json

import sylib
import syid
import keylib

SHARED_STACK = dict(workers=2)
TEST_TIMEOUT = 180

EVENTS = "/api/v1/events"
SERIES = "/api/v1/metrics/timeseries"
SUMMARY = "/api/v1/metrics/summary"


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def post(stack, key, body, headers=None):
    h = {"X-API-Key": key}
    h.update(headers or {})
    return stack.request("POST", EVENTS, body=body, headers=h)


def stored(stack, tid, where="true"):
    """(raw events, summed counts) of tenant tid in the database."""
    rows = syid.psql(stack, """
        SELECT (SELECT count(*) FROM events WHERE tenant_id = :'tid'
                AND %s),
               (SELECT coalesce(sum(n), 0) FROM event_counts
                WHERE tenant_id = :'tid' AND %s)""" % (where, where),
                     tid=tid)
    return int(rows[0][0]), int(rows[0][1])


class Shop:
    def __init__(self, stack):
        self.t = syid.new_tenant(stack)
        self.id = self.t["id"]
        self.sk, self.pk = self.t["sk"], self.t["pk"]
        self.staff = syid.new_user(stack, self.t, "staff")
        self.shopper = syid.new_user(stack, self.t, "shopper")
        for u in (self.t["owner"], self.staff, self.shopper):
            u["token"] = syid.login_ok(stack, u)["access_token"]

    def get(self, stack, path, user=None):
        u = user or self.staff
        return stack.request("GET", path,
                             headers=syid.bearer(u["token"]))


_shops = {}


def shop(stack, name):
    if name not in _shops:
        _shops[name] = Shop(stack)
    return _shops[name]


# ------------------------------------------------------------- ingest


def metric(stack, name):
    """The value of an unlabelled series of /metrics (0 when absent)."""
    r = stack.get("/metrics")
    assert r.status == 200, r
    for line in r.text().splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    return 0


def test_a_batch_is_stored_with_its_counts(stack):
    s = Shop(stack)
    counted = metric(stack, "synthia_events_accepted_total")
    refused = metric(stack, "synthia_events_refused_batches_total")
    t0 = now() - datetime.timedelta(hours=2)
    batch = [{"type": "page_view", "data": {"path": "/p/1"}},
             {"type": "page_view", "ts": iso(t0)},
             {"type": "tryon.shared", "ts": iso(t0), "data": {}}]
    r = post(stack, s.sk, {"events": batch})
    assert r.status == 202, r
    assert r.json() == {"accepted": 3}, r.json()
    assert stored(stack, s.id) == (3, 3)
    rows = syid.psql(stack, """
        SELECT type, data::text, tableoid::regclass::text,
               to_char(occurred_at AT TIME ZONE 'UTC',
                       'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        FROM events WHERE tenant_id = :'tid' ORDER BY occurred_at, type""",
                     tid=s.id)
    assert [(r[0], r[3]) for r in rows[:2]] == [
        ("page_view", iso(t0)), ("tryon.shared", iso(t0))], rows
    assert rows[2][1] == '{"path": "/p/1"}', rows
    assert all(r[2].startswith("events_") for r in rows), rows
    counts = syid.psql(stack, """
        SELECT type, n FROM event_counts WHERE tenant_id = :'tid'
        AND hour = date_trunc('hour', :'t'::timestamptz, 'UTC')
        ORDER BY type""", tid=s.id, t=iso(t0))
    assert counts == [["page_view", "1"], ["tryon.shared", "1"]], counts
    # a publishable key (browsers) may send events too
    r = post(stack, s.pk, {"events": [{"type": "widget.open"}]})
    assert r.status == 202 and r.json() == {"accepted": 1}, r
    assert stored(stack, s.id) == (4, 4)
    r = post(stack, s.sk, {"events": [{"type": "NO"}]})
    sylib.assert_problem(r, 422, "validation_failed")
    # /metrics counts them (the shared segment: other tests may add)
    assert metric(stack, "synthia_events_accepted_total") >= counted + 4
    assert metric(stack, "synthia_events_refused_batches_total") >= \
        refused + 1


def test_validation_names_each_field_and_stores_nothing(stack):
    s = shop(stack, "v")
    before = stored(stack, s.id)
    old = iso(now() - datetime.timedelta(days=8))
    ahead = iso(now() + datetime.timedelta(minutes=10))
    batch = [{"type": "ok"},
             {"type": "ok", "ts": "yesterday"},
             {"type": "ok", "ts": old},
             {"type": "Bad-Type"},
             {"type": "ok", "ts": ahead},
             {"type": "ok", "data": [1, 2]},
             {"type": "ok", "data": {"x": "y" * 5000}},
             "not an object",
             {"type": "x" * 65},
             {"data": {}},
             {"type": "ok", "data": {"k%d" % i: i for i in range(65)}}]
    r = post(stack, s.sk, {"events": batch})
    sylib.assert_problem(r, 422, "validation_failed")
    fields = sorted(e["field"] for e in r.json()["errors"])
    assert fields == sorted([
        "events[1].ts", "events[2].ts", "events[3].type", "events[4].ts",
        "events[5].data", "events[6].data", "events[7]", "events[8].type",
        "events[9].type", "events[10].data"]), fields
    for body in ({}, {"events": []}, {"events": {"type": "x"}},
                 {"events": [{"type": "a"}] * 101}):
        r = post(stack, s.sk, body)
        sylib.assert_problem(r, 422, "validation_failed")
        assert [e["field"] for e in r.json()["errors"]] == ["events"], r
    assert stored(stack, s.id) == before
    # the boundaries themselves are accepted
    r = post(stack, s.sk, {"events": [
        {"type": "x" * 64, "ts": iso(now() - datetime.timedelta(days=6)),
         "data": {"k%d" % i: i for i in range(64)}},
        {"type": "a.b_9", "ts": None, "data": None}] + [{"type": "n"}] * 98})
    assert r.status == 202 and r.json() == {"accepted": 100}, r
    r = stack.request("POST", EVENTS, body="{", headers={
        "X-API-Key": s.sk, "Content-Type": "application/json"})
    sylib.assert_problem(r, 400, "invalid_json")


def test_only_keys_with_events_write_send_events(stack):
    s = shop(stack, "k")
    r = stack.request("POST", EVENTS, body={"events": [{"type": "a"}]},
                      headers=syid.bearer(s.t["owner"]["token"]))
    assert r.status in (401, 403), r
    r = stack.request("POST", EVENTS, body={"events": [{"type": "a"}]})
    sylib.assert_problem(r, 401, "unauthorized")
    key, _ = keylib.make_key(stack, s.id, scopes=["catalog:read"])
    r = post(stack, key, {"events": [{"type": "a"}]})
    sylib.assert_problem(r, 403, "forbidden")


def test_a_call_costs_one_write_unit_whatever_its_size(stack):
    plan = keylib.make_plan(stack, read=100, write=3)
    tid, _ = keylib.make_tenant(stack, plan=plan)
    key, _ = keylib.make_key(stack, tid)
    batch = {"events": [{"type": "bulk"}] * 100}
    for _ in range(3):
        r = post(stack, key, batch)
        assert r.status == 202, r
        assert r.headers.get("RateLimit-Limit") == "3", r.headers
    r = post(stack, key, batch)
    sylib.assert_problem(r, 429, "rate_limited")
    assert stored(stack, tid) == (300, 300)


# ------------------------------------------------------------ analytics


def test_timeseries_is_zero_filled_by_hour_and_day(stack):
    s = Shop(stack)
    t3 = now() - datetime.timedelta(hours=3)
    r = post(stack, s.sk, {"events": [{"type": "click", "ts": iso(t3)}] * 4 +
                           [{"type": "view"}] * 2})
    assert r.status == 202, r
    r = s.get(stack, SERIES)
    assert r.status == 200, r
    ts = r.json()
    assert ts["bucket"] == "hour" and ts["types"] == ["click", "view"], ts
    b = ts["buckets"]
    assert len(b) == 24, len(b)
    hour = now().replace(minute=0, second=0, microsecond=0)
    assert b[-1]["t"] == hour.strftime("%Y-%m-%dT%H:00:00.000000Z"), b[-1]
    assert ts["to"] == (hour + datetime.timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:00:00.000000Z"), ts
    assert ts["from"] == b[0]["t"], ts
    at = {x["t"][:13]: x["counts"] for x in b}
    assert at[t3.strftime("%Y-%m-%dT%H")] == {"click": 4, "view": 0}, at
    assert at[hour.strftime("%Y-%m-%dT%H")]["view"] == 2, at
    zeros = [x for x in b if x["t"][:13] not in (t3.strftime("%Y-%m-%dT%H"),
                                                 hour.strftime("%Y-%m-%dT%H"))]
    assert len(zeros) == 22 and all(
        x["counts"] == {"click": 0, "view": 0} for x in zeros), zeros
    # days
    r = s.get(stack, SERIES + "?period=7d")
    d = r.json()
    assert r.status == 200 and d["bucket"] == "day" and \
        len(d["buckets"]) == 7, d
    assert sum(x["counts"]["click"] for x in d["buckets"]) == 4, d
    assert d["buckets"][-1]["t"][:10] == now().strftime("%Y-%m-%d"), d
    r = s.get(stack, SERIES + "?period=30d&bucket=hour")
    assert r.status == 200 and len(r.json()["buckets"]) == 720, r
    # one type
    r = s.get(stack, SERIES + "?type=view")
    v = r.json()
    assert v["types"] == ["view"] and \
        sum(x["counts"]["view"] for x in v["buckets"]) == 2, v
    assert all(list(x["counts"]) == ["view"] for x in v["buckets"]), v
    r = s.get(stack, SERIES + "?type=never.sent")
    n = r.json()
    assert n["types"] == ["never.sent"] and all(
        x["counts"] == {"never.sent": 0} for x in n["buckets"]), n
    # a tenant without events still gets every bucket
    empty = Shop(stack)
    r = empty.get(stack, SERIES)
    e = r.json()
    assert r.status == 200 and e["types"] == [] and len(e["buckets"]) == 24 \
        and all(x["counts"] == {} for x in e["buckets"]), e


def test_metrics_validation(stack):
    s = shop(stack, "m")
    for q, field in (("period=1y", "period"), ("bucket=week", "bucket"),
                     ("type=Nope", "type"), ("period=", "period")):
        r = s.get(stack, SERIES + "?" + q)
        sylib.assert_problem(r, 422, "validation_failed")
        assert [e["field"] for e in r.json()["errors"]] == [field], (q, r)
    r = s.get(stack, SUMMARY + "?period=90d")
    sylib.assert_problem(r, 422, "validation_failed")


def test_metrics_roles(stack):
    s = shop(stack, "r")
    for path in (SERIES, SUMMARY):
        assert s.get(stack, path, s.staff).status == 200
        assert s.get(stack, path, s.t["owner"]).status == 200
        sylib.assert_problem(s.get(stack, path, s.shopper), 403, "forbidden")
        sylib.assert_problem(stack.request("GET", path), 401, "unauthorized")
        r = stack.request("GET", path, headers={"X-API-Key": s.sk})
        assert r.status == 200, r  # secret keys hold metrics:read
        r = stack.request("GET", path, headers={"X-API-Key": s.pk})
        sylib.assert_problem(r, 403, "forbidden")


def test_tenants_see_only_their_events_sysadmin_sees_any_or_all(stack):
    a, b = Shop(stack), Shop(stack)
    assert post(stack, a.sk, {"events": [{"type": "iso.a"}] * 5}).status == 202
    assert post(stack, b.sk, {"events": [{"type": "iso.b"}] * 2}).status == 202
    ra = a.get(stack, SUMMARY).json()
    rb = b.get(stack, SUMMARY + "?tenant_id=" + a.id).json()  # ignored
    assert ra["events"] == {"total": 5, "by_type": {"iso.a": 5}}, ra
    assert rb["events"] == {"total": 2, "by_type": {"iso.b": 2}}, rb
    assert rb["tenant_id"] == b.id, rb
    sb = b.get(stack, SERIES + "?tenant_id=" + a.id).json()
    assert sb["types"] == ["iso.b"], sb
    root = syid.new_sysadmin(stack)
    tok = syid.login_ok(stack, root)["access_token"]

    def admin(path):
        return stack.request("GET", path, headers=syid.bearer(tok))

    r = admin(SUMMARY + "?tenant_id=" + a.id)
    assert r.status == 200 and r.json()["events"]["total"] == 5, r
    r = admin(SERIES + "?tenant_id=" + b.id)
    assert r.json()["types"] == ["iso.b"], r
    for q in ("?tenant_id=all", ""):
        r = admin(SUMMARY + q)
        assert r.status == 200, r
        every = r.json()
        assert every["tenant_id"] is None, every
        assert every["events"]["by_type"]["iso.a"] == 5 and \
            every["events"]["by_type"]["iso.b"] == 2, every
        total = int(syid.psql(stack, "SELECT sum(n) FROM event_counts "
                              "WHERE hour > now() - interval '30 days'")[0][0])
        assert every["events"]["total"] == total, (every, total)
    r = admin(SERIES + "?tenant_id=all&type=iso.a")
    assert sum(x["counts"]["iso.a"] for x in r.json()["buckets"]) == 5, r
    r = admin(SUMMARY + "?tenant_id=nope")
    sylib.assert_problem(r, 422, "validation_failed")


def test_summary_figures(stack):
    s = Shop(stack)
    post(stack, s.sk, {"events": [{"type": "b"}] * 2 + [{"type": "a"}]})
    old = iso(now() - datetime.timedelta(days=3))
    post(stack, s.sk, {"events": [{"type": "a", "ts": old}]})
    r = s.get(stack, SUMMARY)
    assert r.status == 200, r
    m = r.json()
    assert m["period"] == "30d" and m["tenant_id"] == s.id, m
    assert m["events"] == {"total": 4, "by_type": {"a": 2, "b": 2}}, m
    assert m["generations"] == {"queued": 0, "running": 0, "done": 0,
                                "error": 0, "canceled": 0}, m
    assert m["generation_time_ms"] == {"p50": None, "p95": None}, m
    c = m["cache"]
    assert set(c) == {"hits", "misses", "hit_ratio", "ai_calls_saved"}, c
    # the cache figures are the result cache's own
    r = stack.request("GET", "/api/v1/cache/stats",
                      headers=syid.bearer(s.staff["token"]))
    st = r.json()
    assert (c["hits"], c["misses"]) == (st["hits"], st["misses"]), (c, st)
    assert c["ai_calls_saved"] == st["by_type"]["analysis"]["hits"] + \
        st["by_type"]["tryon"]["hits"], (c, st)
    r = s.get(stack, SUMMARY + "?period=24h")
    assert r.json()["events"] == {"total": 3, "by_type": {"a": 1, "b": 2}}


# ------------------------------------------------------------ maintenance


def test_prune_drops_expired_months_and_makes_the_next(stack):
    s = shop(stack, "p")
    syid.psql(stack, """
        SELECT events_partitions_ensure('2020-02-15', 0);
        INSERT INTO events (tenant_id, type, occurred_at)
        VALUES (:'tid', 'ancient', '2020-02-10');
        INSERT INTO event_counts (tenant_id, hour, type, n)
        VALUES (:'tid', '2020-02-10', 'ancient', 1)""", tid=s.id)
    out = syid.synthia(stack, "events", "prune")
    # ensure(t, 0) made January (the month before) and February 2020
    assert {"events_202001", "events_202002"} <= set(out["dropped"]), out
    assert out["counts_deleted"] >= 1, out
    assert stored(stack, s.id, "type = 'ancient'") == (0, 0)
    nxt = (now().replace(day=1) + datetime.timedelta(days=62)).strftime("%Y%m")
    parts = [r[0] for r in syid.psql(stack, """
        SELECT c.relname FROM pg_inherits i JOIN pg_class c
        ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass""")]
    assert "events_" + nxt in parts and \
        "events_" + now().strftime("%Y%m") in parts, parts
    again = syid.synthia(stack, "events", "prune")
    assert again["created"] == [] and again["dropped"] == [], again
    # a shorter retention drops the current month's counts too, not its
    # partition (it still holds newer events)
    post(stack, s.sk, {"events": [{"type": "kept"}]})
    out = syid.synthia(stack, "events", "prune",
                       env={"SYNTHIA_EVENTS_RETENTION": "1d"})
    assert "events_" + now().strftime("%Y%m") not in out["dropped"], out


@sylib.own_stack(workers=1)
def test_a_month_without_partition_gets_one(stack):
    s = Shop(stack)
    part = "events_" + now().strftime("%Y%m")
    syid.psql(stack, "DROP TABLE %s" % part)
    r = post(stack, s.sk, {"events": [{"type": "healed"}] * 3})
    assert r.status == 202 and r.json() == {"accepted": 3}, r
    assert stored(stack, s.id) == (3, 3)
    assert syid.psql(stack, "SELECT to_regclass(:'p') IS NOT NULL",
                     p=part) == [["t"]]


sylib.main(globals())

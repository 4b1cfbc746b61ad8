#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Try-on jobs through nginx (API.md "Try-on jobs, events, metrics"):
POST /api/v1/tryon, DELETE /api/v1/jobs/{id}, GET /api/v1/jobs/{id}/result.

Covers: 202 {job_id, status: queued} with Location; the job row, its
inputs copied into job_inputs (the exact bytes and their sha256) and its
id on the tenant's Redis stream; Idempotency-Key replay and mismatch;
identical inputs of a job done within 24 h -> 200 with that job, never
across tenants; the result image with its Content-Type and ETag (304),
404 before done and after retention; cancel of a queued job (204, the
version bumped, the change published on sy:job:<id>), 409 for a running
or finished one; tenant and owner isolation of every route; hostile and
invalid bodies; scopes, sysadmins, and product garments without a
stored image (422 product_image_missing).

Jobs are moved to running/done with psql here (the worker is tested in
test_worker.py), and their status is read with psql (job_status) until
GET /jobs/{id} lands."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import hashlib
import json
import os
import re
import select
import subprocess
import threading
import time
import uuid

import keylib
import sylib
import syid

SHARED_STACK = dict(workers=2)
TEST_TIMEOUT = 180

TRYON = "/api/v1/tryon"
SYIMG = os.path.join(sylib.BUILDDIR, "tests", "tools", "syimg")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                  r"[0-9a-f]{12}$")


# ------------------------------------------------------------- helpers


def image(w, h, colour="808080", fmt="png"):
    return subprocess.run([SYIMG, fmt, str(w), str(h), "solid", colour],
                          check=True, capture_output=True,
                          timeout=30).stdout


_shops = {}


def shop(stack, name="A"):
    """A tenant (keys sk, pk; owner, staff and two shoppers signed in),
    shared by the tests of one stack."""
    k = (stack.statedir, name)
    if k not in _shops:
        t = syid.new_tenant(stack)
        t["staff"] = syid.new_user(stack, t, "staff")
        t["alice"] = syid.new_user(stack, t, "shopper")
        t["bob"] = syid.new_user(stack, t, "shopper")
        for u in ("owner", "staff", "alice", "bob"):
            t[u]["token"] = syid.login_ok(stack, t[u])["access_token"]
        _shops[k] = t
    return _shops[k]


def auth(who):
    """Headers for a key (a string) or a signed-in user (a dict)."""
    if isinstance(who, str):
        return {"X-API-Key": who}
    return syid.bearer(who["token"])


def upload(stack, who, data):
    r = stack.request("POST", "/api/v1/uploads", body=data,
                      headers=dict(auth(who), **{"Content-Type": "image/png"}))
    assert r.status == 201, r
    return r.json()


_colour = [0x101010]


def fresh_image():
    """A new image each call (so no two jobs share inputs by accident)."""
    _colour[0] += 0x010203
    return image(64, 48, "%06x" % (_colour[0] & 0xffffff))


def tryon(stack, who, body, key=None, raw=None):
    h = dict(auth(who), **{"Content-Type": "application/json"})
    if key:
        h["Idempotency-Key"] = key
    return stack.request("POST", TRYON,
                         body=raw if raw is not None else json.dumps(body),
                         headers=h)


def new_job(stack, who, ngarments=1):
    """Upload a person and garments, submit: (job id, uploads)."""
    person = upload(stack, who, fresh_image())
    garments = [upload(stack, who, fresh_image()) for _ in range(ngarments)]
    r = tryon(stack, who, {"person_upload_id": person["id"],
                           "garment_upload_ids": [g["id"] for g in garments]})
    assert r.status == 202, r
    return r.json()["job_id"], [person] + garments


def job_status(stack, job_id):
    """The job's (status, version, attempts), read from PostgreSQL (the
    one place to change when GET /jobs/{id} lands)."""
    rows = syid.psql(stack, "SELECT status, version, attempts FROM jobs "
                     "WHERE id = :'id'", id=job_id)
    return (rows[0][0], int(rows[0][1]), int(rows[0][2])) if rows else None


def finish(stack, job_id, data, ctype="image/png", expires="1 day"):
    """Mark a job done with data as its result, as the worker would."""
    syid.psql(stack, """
        UPDATE jobs SET status = 'done', version = version + 1,
               result = decode(:'hex', 'hex'), result_type = :'ct',
               completed_at = clock_timestamp(),
               result_expires_at = clock_timestamp() + :'exp'::interval
         WHERE id = :'id'""", id=job_id, hex=data.hex(), ct=ctype,
              exp=expires)


def fields(r):
    return {e["field"] for e in r.json()["errors"]}


def cancel(stack, who, job_id):
    return stack.request("DELETE", "/api/v1/jobs/%s" % job_id,
                         headers=auth(who))


def result(stack, who, job_id, headers=None):
    return stack.request("GET", "/api/v1/jobs/%s/result" % job_id,
                         headers=dict(auth(who), **(headers or {})))


# ------------------------------------------------------------------ tests


def test_accepted_job_copies_its_inputs_and_is_enqueued(stack):
    t = shop(stack)
    person = upload(stack, t["sk"], fresh_image())
    g1 = upload(stack, t["sk"], fresh_image())
    g2 = upload(stack, t["sk"], fresh_image())
    r = tryon(stack, t["sk"], {"person_upload_id": person["id"],
                               "garment_upload_ids": [g1["id"], g2["id"]]})
    assert r.status == 202, r
    j = r.json()
    assert set(j) == {"job_id", "status"} and j["status"] == "queued", j
    assert UUID.match(j["job_id"]), j
    assert r.headers["Location"] == "/api/v1/jobs/" + j["job_id"], r
    assert job_status(stack, j["job_id"]) == ("queued", 1, 0)
    rows = syid.psql(stack, """
        SELECT j.tenant_id, j.user_id IS NULL, j.key_id IS NOT NULL,
               j.max_attempts, length(j.input_hash)
          FROM jobs j WHERE j.id = :'id'""", id=j["job_id"])
    assert rows == [[t["id"], "t", "t", "5", "64"]], rows
    # inputs: person then garments, the uploads' exact bytes
    rows = syid.psql(stack, """
        SELECT ord, role, content_type, sha256,
               encode(sha256(data), 'hex')
          FROM job_inputs WHERE job_id = :'id' ORDER BY ord""",
                     id=j["job_id"])
    want = [(0, "person", person), (1, "garment", g1), (2, "garment", g2)]
    assert len(rows) == 3, rows
    for row, (ord_, role, up) in zip(rows, want):
        assert row == [str(ord_), role, "image/png", up["sha256"],
                       up["sha256"]], (row, up)
    # the id is on the tenant's stream, the tenant in the workers' set
    stream = keylib.redis(stack, "XRANGE", "sy:{t:%s}:jobs" % t["id"],
                          "-", "+")
    assert j["job_id"] in stream, stream
    assert keylib.redis(stack, "SISMEMBER", "sy:jobs:tenants",
                        t["id"]) == "1"


def test_a_shopper_submits_with_a_token(stack):
    t = shop(stack)
    job, _ = new_job(stack, t["alice"])
    rows = syid.psql(stack, "SELECT user_id, key_id IS NULL FROM jobs "
                     "WHERE id = :'id'", id=job)
    assert rows == [[t["alice"]["id"], "t"]], rows


def test_idempotency_key_replays_and_refuses_another_body(stack):
    t = shop(stack)
    person = upload(stack, t["sk"], fresh_image())
    g = upload(stack, t["sk"], fresh_image())
    body = {"person_upload_id": person["id"], "garment_upload_ids": [g["id"]]}
    key = "tryon-" + uuid.uuid4().hex
    r1 = tryon(stack, t["sk"], body, key=key)
    assert r1.status == 202, r1
    r2 = tryon(stack, t["sk"], body, key=key)
    assert r2.status == 202, r2
    assert r2.json() == r1.json(), (r1, r2)
    assert r2.headers.get("Idempotent-Replayed") == "true", r2
    assert r2.headers["Location"] == r1.headers["Location"]
    n = syid.psql(stack, "SELECT count(*) FROM jobs WHERE input_hash = "
                  "(SELECT input_hash FROM jobs WHERE id = :'id')",
                  id=r1.json()["job_id"])
    assert n == [["1"]], n
    # the same key with another body
    other = dict(body, garment_upload_ids=[person["id"]])
    sylib.assert_problem(tryon(stack, t["sk"], other, key=key), 422,
                         "idempotency_mismatch")
    # without a key, the same body is a second job (not yet done)
    r3 = tryon(stack, t["sk"], body)
    assert r3.status == 202 and r3.json()["job_id"] != r1.json()["job_id"]


def test_concurrent_duplicates_with_one_key_make_one_job(stack):
    t = shop(stack)
    person = upload(stack, t["sk"], fresh_image())
    g = upload(stack, t["sk"], fresh_image())
    body = {"person_upload_id": person["id"], "garment_upload_ids": [g["id"]]}
    key = "dup-" + uuid.uuid4().hex
    out = []

    def go():
        out.append(tryon(stack, t["sk"], body, key=key))
    ths = [threading.Thread(target=go) for _ in range(6)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    ok = [r for r in out if r.status == 202]
    assert ok, out
    assert len({r.json()["job_id"] for r in ok}) == 1, out
    for r in out:
        assert r.status in (202, 409), r
    rows = syid.psql(stack, "SELECT count(*) FROM jobs WHERE id = :'id'",
                     id=ok[0].json()["job_id"])
    assert rows == [["1"]]


def test_identical_done_inputs_answer_the_finished_job(stack):
    t = shop(stack)
    u = shop(stack, "B")
    data = [fresh_image(), fresh_image()]
    person = upload(stack, t["sk"], data[0])
    g = upload(stack, t["sk"], data[1])
    body = {"person_upload_id": person["id"], "garment_upload_ids": [g["id"]]}
    r = tryon(stack, t["sk"], body)
    assert r.status == 202, r
    job = r.json()["job_id"]
    # not done yet: a second identical request is a new job
    r = tryon(stack, t["sk"], body)
    assert r.status == 202 and r.json()["job_id"] != job, r
    syid.psql(stack, "UPDATE jobs SET status = 'canceled' WHERE id = :'id'",
              id=r.json()["job_id"])
    out = image(32, 32, "336699")
    finish(stack, job, out)
    # the same images uploaded again (other upload ids): the done job
    p2 = upload(stack, t["sk"], data[0])
    g2 = upload(stack, t["sk"], data[1])
    r = tryon(stack, t["sk"], {"person_upload_id": p2["id"],
                               "garment_upload_ids": [g2["id"]]})
    assert r.status == 200, r
    assert r.json() == {"job_id": job, "status": "done",
                        "result_url": "/api/v1/jobs/%s/result" % job}, r
    assert r.headers["Location"] == "/api/v1/jobs/" + job
    # garments in another order are other inputs
    r = tryon(stack, t["sk"], {"person_upload_id": g2["id"],
                               "garment_upload_ids": [p2["id"]]})
    assert r.status == 202, r
    # never across tenants: B's identical images make B's own job
    pb = upload(stack, u["sk"], data[0])
    gb = upload(stack, u["sk"], data[1])
    r = tryon(stack, u["sk"], {"person_upload_id": pb["id"],
                               "garment_upload_ids": [gb["id"]]})
    assert r.status == 202 and r.json()["job_id"] != job, r
    # a finished job older than 24 h is not answered any more
    syid.psql(stack, "UPDATE jobs SET completed_at = clock_timestamp() - "
              "interval '25 hours' WHERE id = :'id'", id=job)
    r = tryon(stack, t["sk"], body)
    assert r.status == 202 and r.json()["job_id"] != job, r


def test_result_image_etag_and_retention(stack):
    t = shop(stack)
    job, _ = new_job(stack, t["sk"])
    sylib.assert_problem(result(stack, t["sk"], job), 404, "not_found")
    out = image(40, 30, "aa3344", fmt="jpeg")
    finish(stack, job, out, ctype="image/jpeg")
    r = result(stack, t["sk"], job)
    assert r.status == 200, r
    assert r.content_type == "image/jpeg", r
    assert r.body == out
    etag = r.headers["ETag"]
    assert etag == '"%s"' % hashlib.sha256(out).hexdigest(), etag
    r = result(stack, t["sk"], job, {"If-None-Match": etag})
    assert r.status == 304 and r.body == b"", r
    # past retention: gone
    syid.psql(stack, "UPDATE jobs SET result_expires_at = "
              "clock_timestamp() - interval '1 second' WHERE id = :'id'",
              id=job)
    sylib.assert_problem(result(stack, t["sk"], job), 404, "not_found")


def test_cancel_a_queued_job_only(stack):
    t = shop(stack)
    job, _ = new_job(stack, t["sk"])
    # a subscriber sees the change on sy:job:<id>
    sub = subprocess.Popen(
        ["redis-cli", "-p", stack.env["SY_REDIS_PORT"], "SUBSCRIBE",
         "sy:job:" + job], bufsize=0,  # unbuffered: select sees each line
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    got = []

    def read_until(word):
        # redis-cli prints a reply's parts a line each: the subscription's
        # confirmation ends in its count, a message in its payload
        deadline = time.monotonic() + 30
        while not any(word in line for line in got):
            left = deadline - time.monotonic()
            assert left > 0, "no %r from the subscriber: %r" % (word, got)
            if select.select([sub.stdout], [], [], left)[0]:
                line = sub.stdout.readline().decode(errors="replace")
                assert line, "the subscriber ended: %r" % got
                got.append(line)
    try:
        read_until("sy:job:" + job)  # subscribed
        r = cancel(stack, t["sk"], job)
        assert r.status == 204 and r.body == b"", r
        assert job_status(stack, job) == ("canceled", 2, 0)
        read_until("canceled")
    finally:
        sub.terminate()
        sub.communicate(timeout=5)
    r = cancel(stack, t["sk"], job)
    sylib.assert_problem(r, 409, "conflict")
    assert "canceled" in r.json()["detail"], r
    for status in ("running", "done", "error"):
        job, _ = new_job(stack, t["sk"])
        syid.psql(stack, "UPDATE jobs SET status = :'s' WHERE id = :'id'",
                  s=status, id=job)
        r = cancel(stack, t["sk"], job)
        sylib.assert_problem(r, 409, "conflict")
        assert status in r.json()["detail"], r
        assert job_status(stack, job)[0] == status


def test_jobs_do_not_cross_tenants_or_owners(stack):
    a, b = shop(stack), shop(stack, "B")
    job, ups = new_job(stack, a["alice"])
    finish(stack, job, image(8, 8, "010203"))
    # another tenant: 404 on every route, its uploads unknown
    for who in (b["sk"], b["owner"], b["alice"]):
        sylib.assert_problem(result(stack, who, job), 404, "not_found")
        sylib.assert_problem(cancel(stack, who, job), 404, "not_found")
    r = tryon(stack, b["sk"], {"person_upload_id": ups[0]["id"],
                               "garment_upload_ids": [ups[1]["id"]]})
    sylib.assert_problem(r, 422, "validation_failed")
    assert "person_upload_id" in fields(r), r
    # the same tenant: another shopper does not see alice's job; a key
    # sees the jobs of keys only; staff and owners see all
    sylib.assert_problem(result(stack, a["bob"], job), 404, "not_found")
    sylib.assert_problem(result(stack, a["sk"], job), 404, "not_found")
    for who in (a["alice"], a["staff"], a["owner"]):
        assert result(stack, who, job).status == 200
    job2, _ = new_job(stack, a["alice"])
    sylib.assert_problem(cancel(stack, a["bob"], job2), 404, "not_found")
    sylib.assert_problem(cancel(stack, a["pk"], job2), 404, "not_found")
    assert job_status(stack, job2)[0] == "queued"
    assert cancel(stack, a["staff"], job2).status == 204
    kjob, _ = new_job(stack, a["sk"])
    sylib.assert_problem(cancel(stack, a["alice"], kjob), 404, "not_found")
    assert cancel(stack, a["pk"], kjob).status == 204


def test_hostile_and_invalid_bodies(stack):
    t = shop(stack)
    p = upload(stack, t["sk"], fresh_image())
    g = upload(stack, t["sk"], fresh_image())
    cases = [
        ({}, "person_upload_id"),
        ({"person_upload_id": "not-a-uuid",
          "garment_upload_ids": [g["id"]]}, "person_upload_id"),
        ({"person_upload_id": 7, "garment_upload_ids": [g["id"]]},
         "person_upload_id"),
        ({"person_upload_id": p["id"]}, "garment_product_ids"),
        ({"person_upload_id": p["id"], "garment_upload_ids": []},
         "garment_product_ids"),
        ({"person_upload_id": p["id"], "garment_upload_ids": [g["id"]] * 5},
         "garment_upload_ids"),
        ({"person_upload_id": p["id"], "garment_upload_ids": [g["id"]] * 3,
          "garment_product_ids": [str(uuid.uuid4())] * 2},
         "garment_product_ids"),
        ({"person_upload_id": p["id"], "garment_upload_ids": g["id"]},
         "garment_upload_ids"),
        ({"person_upload_id": p["id"], "garment_upload_ids": [None]},
         "garment_upload_ids[0]"),
        ({"person_upload_id": p["id"],
          "garment_upload_ids": ["../../etc/passwd"]},
         "garment_upload_ids[0]"),
        ({"person_upload_id": p["id"],
          "garment_upload_ids": [str(uuid.uuid4())]},
         "garment_upload_ids[0]"),
        ({"person_upload_id": str(uuid.uuid4()),
          "garment_upload_ids": [g["id"]]}, "person_upload_id"),
    ]
    before = syid.psql(stack, "SELECT count(*) FROM jobs")
    for body, field in cases:
        r = tryon(stack, t["sk"], body)
        sylib.assert_problem(r, 422, "validation_failed")
        assert field in fields(r), (body, r.json())
    for raw, status in (("[]", 422), ('"x"', 422), ("{", 400),
                        ("null", 422),
                        (r'{"person_upload_id":"\u0000"}', 422),
                        ('{"person_upload_id":"\x00"}', 400)):
        r = tryon(stack, t["sk"], None, raw=raw)
        assert r.status == status, (raw, r)
    # a product garment: no stored image yet -> product_image_missing
    r = tryon(stack, t["sk"], {"person_upload_id": p["id"],
                               "garment_product_ids": [str(uuid.uuid4())]})
    sylib.assert_problem(r, 422, "product_image_missing")
    assert syid.psql(stack, "SELECT count(*) FROM jobs") == before
    # hostile ids in paths
    for path in ("/api/v1/jobs/not-a-uuid/result", "/api/v1/jobs/%00/result",
                 "/api/v1/jobs/'%20OR%201=1--/result"):
        r = stack.request("GET", path, headers=auth(t["sk"]))
        assert r.status in (404, 400), (path, r)
    r = stack.request("DELETE", "/api/v1/jobs/" + "a" * 300,
                      headers=auth(t["sk"]))
    assert r.status in (404, 400, 414), r


def test_erasure_takes_the_users_jobs(stack):
    t = shop(stack)
    carol = syid.new_user(stack, t, "shopper")
    carol["token"] = syid.login_ok(stack, carol)["access_token"]
    job, _ = new_job(stack, carol)
    finish(stack, job, image(8, 8, "0a0b0c"))
    other, _ = new_job(stack, t["alice"])
    r = stack.request("DELETE", "/api/v1/users/me", headers=auth(carol))
    assert r.status == 204, r
    left = syid.psql(stack, """
        SELECT (SELECT count(*) FROM jobs WHERE id = :'j'),
               (SELECT count(*) FROM job_inputs WHERE job_id = :'j'),
               (SELECT count(*) FROM jobs WHERE id = :'o')""",
                     j=job, o=other)
    assert left == [["0", "0", "1"]], left
    sylib.assert_problem(result(stack, t["owner"], job), 404, "not_found")


def test_who_may_submit(stack):
    t = shop(stack)
    p = upload(stack, t["sk"], fresh_image())
    g = upload(stack, t["sk"], fresh_image())
    body = json.dumps({"person_upload_id": p["id"],
                       "garment_upload_ids": [g["id"]]})
    r = stack.request("POST", TRYON, body=body,
                      headers={"Content-Type": "application/json"})
    assert r.status == 401, r
    k, _ = keylib.make_key(stack, t["id"], scopes=["catalog:read"])
    r = stack.request("POST", TRYON, body=body, headers={
        "X-API-Key": k, "Content-Type": "application/json"})
    sylib.assert_problem(r, 403, "forbidden")
    sylib.assert_problem(result(stack, k, str(uuid.uuid4())), 403,
                         "forbidden")
    # a publishable key (tryon:write is one of its scopes) may submit
    r = stack.request("POST", TRYON, body=body, headers={
        "X-API-Key": t["pk"], "Content-Type": "application/json"})
    assert r.status == 202, r
    # sysadmins belong to no tenant: they cannot submit
    root = syid.new_sysadmin(stack)
    tok = syid.login_ok(stack, root)["access_token"]
    r = stack.request("POST", TRYON + "?tenant_id=" + t["id"], body=body,
                      headers=syid.bearer(tok, {
                          "Content-Type": "application/json"}))
    sylib.assert_problem(r, 403, "forbidden")


sylib.main(globals())

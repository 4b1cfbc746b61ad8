#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The AI result cache and facial analysis (issue 11; API.md "Uploads,
analysis, recommendations, feedback, cache"), through nginx, against the
stand-in provider server (tests/providers/standin.py) with a real Redis
and PostgreSQL.

Covers: X-Cache MISS then HIT (the same upload, or another upload of the
same bytes), cached true, a hit answers the analysis the miss stored (same
id, no row written: rows counted with psql), no analyser or provider call
on a hit; another caller's hit on a shopper's upload is recorded for that
caller; other tenants never hit; DELETE
/cache?type=analysis&user_id= reaches the entries; single flight (10
identical concurrent facial requests on 4 responders -> one provider
call); the negative cache of a provider's 400; STALE when every vision
provider fails and their circuits open (/providers shows it); a facial
answer that breaks the schema falls back to the next provider; shoppers
use only their own uploads; /cache/stats by_type.analysis and /metrics
count hits, misses, stale answers and AI calls saved."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import os
import random
import re
import struct
import subprocess
import threading
import zlib

import keylib
import standinlib
import sylib
import syid

TEST_TIMEOUT = 240
SI = standinlib.start()
SHARED_STACK = dict(workers=4, extra_config=(
    "[ai]\n"
    "vision = openai:gpt-v gemini:gemini-v\n"
    "retries = 0\n"
    "breaker_window = 60s\n"
    "breaker_min_requests = 2\n"
    "breaker_failure_rate = 50\n"
    "breaker_cooldown = 60s\n"
    "cache_ttl = 1h\n"
    "cache_stale_ttl = 1d\n"
    "cache_negative_ttl = 1m\n" +
    SI.section("openai", "3s") + SI.section("gemini", "3s")))

SYIMG = os.path.join(sylib.BUILDDIR, "tests", "tools", "syimg")
FACE_SHAPES = {"oval", "round", "square", "heart", "oblong", "diamond",
               "triangle"}
FEATURES = {"jawline", "cheekbones", "forehead", "eye_shape", "face_length",
            "symmetry"}


# ------------------------------------------------------------ helpers


def png(w=16, h=16):
    """A PNG of random pixels: bytes no other test uploads."""
    rnd = random.Random(os.urandom(8))
    raw = b"".join(b"\x00" + bytes(rnd.getrandbits(8) for _ in range(3 * w))
                   for _ in range(h))

    def chunk(k, d):
        return (struct.pack(">I", len(d)) + k + d +
                struct.pack(">I", zlib.crc32(k + d)))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def portrait():
    skin = random.choice(("f1c27d", "e0ac90", "c68642", "8d5524"))
    hair = "%02x1410" % random.randrange(16, 64)
    # bytes no other call makes: the noise seed (JPEG merges colours a few
    # units apart, so the colours alone could repeat a photo)
    seed = str(random.randrange(1, 1 << 31))
    return subprocess.run([SYIMG, "jpeg", "256", "256", "portrait", skin,
                           hair, "c8d0d8", seed], check=True,
                          capture_output=True, timeout=30).stdout


class Shop:
    """A tenant with staff and two shoppers (signed in)."""

    def __init__(self, stack):
        self.stack = stack
        self.t = syid.new_tenant(stack)
        self.id = self.t["id"]
        self.sk = self.t["sk"]
        for role in ("staff", "alice", "bob"):
            u = syid.new_user(stack, self.t,
                              "staff" if role == "staff" else "shopper")
            u["token"] = syid.login_ok(stack, u)["access_token"]
            setattr(self, role, u)

    def auth(self, who):
        return syid.key(self.sk) if who is None else \
            syid.bearer(who["token"])

    def upload(self, data, who=None):
        r = self.stack.request("POST", "/api/v1/uploads", body=data,
                               headers=dict(self.auth(who), **{
                                   "Content-Type": "image/png"
                                   if data[:4] == b"\x89PNG"
                                   else "image/jpeg"}))
        assert r.status == 201, r
        return r.json()

    def analyse(self, kind, upload_id, who=None):
        return self.stack.request("POST", "/api/v1/analysis/" + kind,
                                  body={"upload_id": upload_id},
                                  headers=self.auth(who), timeout=30)

    def stats(self):
        r = self.stack.get("/api/v1/cache/stats",
                           headers=syid.bearer(self.staff["token"]))
        assert r.status == 200, r
        return r.json()["by_type"]["analysis"]

    def entries(self):
        return keylib.redis(self.stack, "KEYS",
                            "sy:{t:%s}:c:analysis:*" % self.id).split()


_shops = {}


def shop(stack, name):
    k = (id(stack), name)
    if k not in _shops:
        _shops[k] = Shop(stack)
    return _shops[k]


def reset(stack):
    SI.reset()
    keylib.redis(stack, "EVAL",
                 "for _, k in ipairs(redis.call('KEYS', 'sy:{ai}:cb:*')) do "
                 "redis.call('DEL', k) end return 0", "0")


def analysis_rows(stack, tenant):
    return int(keylib.psql(stack, "SELECT count(*) FROM analyses WHERE "
                           "tenant_id = '%s'" % tenant))


def created(r, kind, xcache):
    assert r.status == 201, r
    assert r.headers.get("X-Cache") == xcache, (xcache, r.headers, r)
    j = r.json()
    assert j["type"] == kind, j
    assert j["cached"] is (xcache != "MISS"), j
    assert r.headers["Location"] == "/api/v1/analysis/" + j["id"], r
    return j


def facial_ok(j, provider="openai"):
    assert j["face_shape"] in FACE_SHAPES, j
    assert set(j["features"]) == FEATURES, j
    assert j["features"]["symmetry"] in ("symmetric", "slightly_asymmetric",
                                         "asymmetric"), j
    assert j["confidence"] in ("low", "medium", "high"), j
    assert j["provider"] == provider, j
    assert isinstance(j["duration_ms"], int), j


# ------------------------------------------------------------ tests


def test_chromatic_hit_after_miss_and_same_bytes(stack):
    s = shop(stack, "chroma")
    before = s.stats()
    img = portrait()
    up = s.upload(img)
    first = created(s.analyse("chromatic", up["id"]), "chromatic", "MISS")
    rows = analysis_rows(stack, s.id)
    second = created(s.analyse("chromatic", up["id"]), "chromatic", "HIT")
    # the hit answers the stored analysis and writes no row
    assert second["id"] == first["id"], (first, second)
    assert analysis_rows(stack, s.id) == rows
    for k in ("season", "undertone", "palette", "avoid", "provider",
              "model", "upload_id", "upload_sha256", "created_at"):
        assert second[k] == first[k], (k, first, second)
    assert first["cached"] is False and second["cached"] is True
    assert isinstance(second["duration_ms"], int), second
    # another upload of the same bytes is the same request: the same
    # analysis (of the upload it was made from)
    up2 = s.upload(img)
    assert up2["id"] != up["id"]
    third = created(s.analyse("chromatic", up2["id"]), "chromatic", "HIT")
    assert third["id"] == first["id"] and \
        third["upload_id"] == up["id"] and \
        third["season"] == first["season"], third
    assert analysis_rows(stack, s.id) == rows
    # other bytes are not
    created(s.analyse("chromatic", s.upload(portrait())["id"]), "chromatic",
            "MISS")
    after = s.stats()
    assert after["hits"] - before["hits"] == 2, (before, after)
    assert after["misses"] - before["misses"] == 2, (before, after)
    assert after["ai_calls_saved"] - before["ai_calls_saved"] == 2, after
    assert after["keys"] - before["keys"] == 2, after
    # entries are stored in the cache's value format (LZ4 when it helps)
    fresh = [k for k in s.entries() if re.search(r":[0-9a-f]{32}$", k)]
    assert len(fresh) >= 2, s.entries()
    raw = subprocess.run(["redis-cli", "-p", stack.env["SY_REDIS_PORT"],
                          "--no-raw", "GET", fresh[0]], capture_output=True,
                         text=True, timeout=10).stdout
    assert raw.startswith('"\\xc5\\x02'), raw


def test_facial_miss_hit_history_and_no_provider_call(stack):
    reset(stack)
    s = shop(stack, "facial")
    up = s.upload(png(), s.alice)
    r = s.analyse("facial", up["id"], s.alice)
    j = created(r, "facial", "MISS")
    facial_ok(j)
    assert SI.count("openai.chat") == 1
    h = created(s.analyse("facial", up["id"], s.alice), "facial", "HIT")
    facial_ok(h)
    assert SI.count("openai.chat") == 1, "a hit called the provider"
    assert (h["face_shape"], h["features"]) == (j["face_shape"],
                                                j["features"])
    # the hit is the stored analysis: one row in the caller's history
    assert h["id"] == j["id"], (j, h)
    g = stack.get("/api/v1/analysis/" + h["id"], headers=s.auth(s.alice))
    assert g.status == 200 and g.json()["type"] == "facial", g
    assert g.json()["cached"] is False, g.json()
    mine = stack.get("/api/v1/analysis", headers=s.auth(s.alice)).json()
    ids = [x["id"] for x in mine["items"]]
    assert ids.count(j["id"]) == 1, mine
    # the tenant's API key asking about alice's upload hits her entry,
    # but gets an analysis of its own (alice's is hers)
    rows = analysis_rows(stack, s.id)
    st = created(s.analyse("facial", up["id"]), "facial", "HIT")
    assert st["id"] != j["id"] and st["user_id"] != j["user_id"], (j, st)
    assert st["face_shape"] == j["face_shape"], (j, st)
    assert analysis_rows(stack, s.id) == rows + 1
    assert SI.count("openai.chat") == 1
    # a shopper may not analyse another shopper's upload
    r = s.analyse("facial", up["id"], s.bob)
    sylib.assert_problem(r, 404, "upload_not_found")
    r = s.analyse("facial", "not-a-uuid", s.alice)
    assert r.status == 422, r


def test_other_tenants_never_hit(stack):
    reset(stack)
    a, b = shop(stack, "iso-a"), shop(stack, "iso-b")
    img = png()
    created(a.analyse("facial", a.upload(img)["id"]), "facial", "MISS")
    created(a.analyse("facial", a.upload(img)["id"]), "facial", "HIT")
    # the same bytes at B: a miss and a provider call of its own
    up_b = b.upload(img)
    created(b.analyse("facial", up_b["id"]), "facial", "MISS")
    assert SI.count("openai.chat") == 2
    # A's upload id does not exist at B
    r = b.analyse("facial", a.upload(img)["id"])
    sylib.assert_problem(r, 404, "upload_not_found")
    assert all(a.id in k for k in a.entries())
    assert not any(b.id in k for k in a.entries())


def test_delete_by_user_reaches_the_entries(stack):
    reset(stack)
    s = shop(stack, "delete")
    up = s.upload(png(), s.alice)
    created(s.analyse("facial", up["id"], s.alice), "facial", "MISS")
    created(s.analyse("facial", up["id"], s.alice), "facial", "HIT")
    mine = [k for k in s.entries() if (":u:%s:" % s.alice["id"]) in k]
    assert mine, s.entries()
    # another user's slice leaves them
    r = stack.request("DELETE", "/api/v1/cache?type=analysis&user_id=" +
                      s.bob["id"], headers=syid.bearer(s.staff["token"]))
    assert r.status == 200 and r.json()["deleted"] == 0, r
    r = stack.request("DELETE", "/api/v1/cache?type=analysis&user_id=" +
                      s.alice["id"], headers=syid.bearer(s.staff["token"]))
    assert r.status == 200 and r.json()["deleted"] >= 2, r  # fresh + stale
    assert not [k for k in s.entries()
                if (":u:%s:" % s.alice["id"]) in k], s.entries()
    created(s.analyse("facial", up["id"], s.alice), "facial", "MISS")
    assert SI.count("openai.chat") == 2


def test_single_flight_across_responders(stack):
    reset(stack)
    s = shop(stack, "flight")
    up = s.upload(png())
    SI.fault("openai.chat", "slow", count=-1, delay_ms=800)
    results = [None] * 10
    go = threading.Barrier(10)

    def one(i):
        go.wait()
        results[i] = s.analyse("facial", up["id"])
    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None and r.status == 201 for r in results), results
    caches = sorted(r.headers["X-Cache"] for r in results)
    assert caches == ["HIT"] * 9 + ["MISS"], caches
    assert SI.count("openai.chat") == 1, SI.count("openai.chat")
    assert SI.count("gemini.generate") == 0
    shapes = {r.json()["face_shape"] for r in results}
    assert len(shapes) == 1, shapes


def test_leader_gone_a_waiter_takes_over(stack):
    """A lock whose holder died (left in Redis, as a crashed responder
    would) holds the others off only until it expires."""
    reset(stack)
    s = shop(stack, "takeover")
    up = s.upload(png())
    r = s.analyse("facial", up["id"])
    created(r, "facial", "MISS")
    entry = [k for k in s.entries() if re.search(r":[0-9a-f]{32}$", k)][0]
    keylib.redis(stack, "DEL", entry)
    keylib.redis(stack, "SET", entry + ":lock", "dead-responder", "PX",
                 "1500")
    r = s.analyse("facial", up["id"])
    j = created(r, "facial", "MISS")
    assert 1000 <= j["duration_ms"] < 4000, j  # waited for the lock
    assert SI.count("openai.chat") == 2


def test_negative_cache_of_a_providers_400(stack):
    reset(stack)
    s = shop(stack, "negative")
    up = s.upload(png())
    SI.fault("openai.chat", "status", count=1, status=400)
    r = s.analyse("facial", up["id"])
    sylib.assert_problem(r, 422, "image_rejected")
    assert SI.count("openai.chat") == 1 and SI.count("gemini.generate") == 0
    before = s.stats()
    r = s.analyse("facial", up["id"])
    sylib.assert_problem(r, 422, "image_rejected")
    assert SI.count("openai.chat") == 1, "the refusal was asked again"
    assert s.stats()["ai_calls_saved"] == before["ai_calls_saved"] + 1
    neg = [k for k in s.entries() if k.endswith(":neg")]
    assert len(neg) == 1, s.entries()
    ttl = int(keylib.redis(stack, "PTTL", neg[0]))
    assert 0 < ttl <= 60000, ttl


def test_schema_violation_falls_back(stack):
    reset(stack)
    s = shop(stack, "schema")
    up = s.upload(png())
    SI.fault("openai.chat", "malformed", count=1)
    j = created(s.analyse("facial", up["id"]), "facial", "MISS")
    facial_ok(j, provider="gemini")
    assert j["model"] == "gemini-v", j
    assert SI.count("openai.chat") == 1 and SI.count("gemini.generate") == 1


def providers(stack, s):
    r = stack.get("/api/v1/providers", headers=syid.bearer(s.staff["token"]))
    assert r.status == 200, r
    return {p["name"]: p for p in r.json()["providers"]["vision"]}


def test_stale_when_every_circuit_is_open(stack):
    reset(stack)
    s = shop(stack, "stale")
    up = s.upload(png())
    good = created(s.analyse("facial", up["id"]), "facial", "MISS")
    entry = [k for k in s.entries() if re.search(r":[0-9a-f]{32}$", k)][0]
    assert keylib.redis(stack, "EXISTS", entry + ":stale") == "1"
    keylib.redis(stack, "DEL", entry)  # as if ai.cache_ttl had passed
    SI.fault("openai.chat", "status", count=-1, status=503)
    SI.fault("gemini.generate", "status", count=-1, status=503)
    before = s.stats()
    for _ in range(3):
        j = created(s.analyse("facial", up["id"]), "facial", "STALE")
        assert (j["face_shape"], j["features"]) == (good["face_shape"],
                                                    good["features"]), j
    p = providers(stack, s)
    assert p["openai:gpt-v"]["circuit"] == "open", p
    assert p["gemini:gemini-v"]["circuit"] == "open", p
    calls = SI.count("openai.chat") + SI.count("gemini.generate")
    j = created(s.analyse("facial", up["id"]), "facial", "STALE")
    assert SI.count("openai.chat") + SI.count("gemini.generate") == calls
    after = s.stats()
    assert after["stale"] - before["stale"] == 4, (before, after)
    # without a last good result, the caller gets the 503
    r = s.analyse("facial", s.upload(png())["id"])
    sylib.assert_problem(r, 503, "provider_unavailable")
    m = stack.get("/metrics").text()
    for res in ("hit", "miss", "stale"):
        assert ('synthia_ai_cache_requests_total{type="analysis",'
                'result="%s"}' % res) in m, res
    assert 'synthia_ai_cache_calls_saved_total{type="analysis"}' in m
    reset(stack)


sylib.main(globals())

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Fresh text search ranked in memory (issue 13, textidx.h): for a few
hundred generated queries over the demo catalog (words, phrases,
hyphenated words, OR, exclusions, absent words, stop words, accents,
and a tenant whose search_config is 'simple'), the API's full-text hits
are PostgreSQL's own ranking, sql_search_text run directly through psql:
the same ids in the same order, scores within 1e-6; every one was ranked
from memory (metrics) once every responder has loaded the index (at
its first free moment after a search found it missing; SQL until then).
A product write shows in the next search (catalog version), and another
tenant's words never match."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import json
import os
import random
import re
import signal
import subprocess
import time
import urllib.parse

import sylib
import syid
from pushlib import everywhere, status_is

SHARED_STACK = dict(workers=2)
V1 = "/api/v1"
N = 240
LIMIT = 50
SHOPS = {}

# sql_search_text (app/store/products.c) with its candidate bound
REFERENCE = (
    "SELECT c.id, 0.5 + 0.5 * ts_rank(c.search, c.tq, 32) AS s "
    "FROM (SELECT p.id, p.search, q.tq "
    "FROM products p, (SELECT websearch_to_tsquery(t.search_config, "
    "sy_unaccent(:'q')) AS tq FROM tenants t WHERE t.id = :'t'::uuid "
    "OFFSET 0) q "
    "WHERE p.tenant_id = :'t'::uuid AND p.active AND p.search @@ q.tq "
    "LIMIT 1000) c "
    "ORDER BY s DESC, c.id LIMIT %d" % LIMIT)


def seed(stack, config=None, n=N):
    """A demo shop of n products (English search), or with config."""
    key = (stack.statedir, config or "english", n)
    if key not in SHOPS:
        exe = os.path.join(stack.env.get("SY_BUILDDIR") or sylib.BUILDDIR,
                           "synthia")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("SYNTHIA_")}
        p = subprocess.run(
            [exe, "--config", stack.env["SY_CONFIG"], "seed-demo",
             "--tenant", syid.unique("tidx"), "--products", str(n),
             "--images", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300,
            env=env)
        assert p.returncode == 0, p.stderr.decode()
        d = json.loads(p.stdout.decode().splitlines()[0])
        if config:  # before any search: the trigger re-indexes
            syid.psql(stack, "UPDATE tenants SET search_config = :'c' "
                      "WHERE id = :'t'", c=config, t=d["tenant"]["id"])
        SHOPS[key] = d
    return SHOPS[key]


def search(stack, shop, q, limit=LIMIT):
    r = stack.request("GET", V1 + "/products/search?limit=%d&q=%s" % (
        limit, urllib.parse.quote(q)),
        headers=syid.key(shop["keys"]["secret"],
                         {"Cache-Control": "no-cache"}))
    assert r.status == 200, (q, r)
    return r.json()["items"]


def fulltext(items):
    """(id, score) of the full-text hits (typo matches score < 0.5)."""
    return [(i["product"]["id"], i["score"]) for i in items
            if i["score"] >= 0.5]


def reference(stack, shop, q):
    rows = syid.psql(stack, REFERENCE, q=q, t=shop["tenant"]["id"])
    return [(r[0], float(r[1])) for r in rows]


def metric(stack, name):
    text = stack.get("/metrics").text()
    return sum(int(v) for v in re.findall(r"^%s (\d+)$" % name, text, re.M))


def same(stack, shop, q):
    got, want = fulltext(search(stack, shop, q)), reference(stack, shop, q)
    assert [g[0] for g in got] == [w[0] for w in want], (q, got, want)
    for (gid, gs), (_, ws) in zip(got, want):
        assert abs(gs - ws) <= 1e-6, (q, gid, gs, ws)
    return len(want)


def vocabulary(stack, shop):
    """The words of the shop's names, categories and descriptions."""
    rows = syid.psql(stack, "SELECT name || ' ' || category || ' ' || "
                     "description FROM products WHERE tenant_id = :'t'",
                     t=shop["tenant"]["id"])
    words = set()
    for (text,) in rows:
        for w in re.findall(r"[^\W_]+(?:-[^\W_]+)*", text.lower()):
            words.add(w)
    return sorted(words)


def queries(words, n, rnd):
    """n distinct queries in the normaliser's normal form (search.h), so
    that the reference gets what the API sends PostgreSQL."""
    plain = [w for w in words if "-" not in w and len(w) > 1]
    hyph = [w for w in words if "-" in w and w.count("-") <= 2]
    accented = [w for w in plain if re.search(r"[^a-z0-9]", w)]
    stop = ["the", "with", "and", "a", "of", "in", "for"]
    absent = ["zeppelinx", "quorkle", "blarfish"]
    forms = [
        lambda: rnd.choice(plain),
        lambda: " ".join(rnd.sample(plain, 2)),
        lambda: " ".join(rnd.sample(plain, 3)),
        lambda: '"%s"' % " ".join(rnd.sample(plain, 2)),
        lambda: rnd.choice(hyph) if hyph else rnd.choice(plain),
        lambda: "%s or %s" % tuple(rnd.sample(plain, 2)),
        lambda: "%s -%s" % tuple(rnd.sample(plain, 2)),
        lambda: "%s %s" % (rnd.choice(stop), rnd.choice(plain)),
        lambda: "%s %s" % (rnd.choice(plain), rnd.choice(absent)),
        lambda: rnd.choice(absent),
        lambda: rnd.choice(accented) if accented else rnd.choice(plain),
        lambda: '"%s %s %s"' % (rnd.choice(plain), rnd.choice(stop),
                                rnd.choice(plain)),
        lambda: "%s -%s" % (rnd.choice(stop), rnd.choice(plain)),
        lambda: "%s or %s -%s" % tuple(rnd.sample(plain, 3)),
    ]
    out = []
    while len(out) < n:
        q = rnd.choice(forms)()
        parts = q.replace('"', "").split()
        if len(parts) != len(set(parts)) or q in out:
            continue  # the normaliser would drop a repeated word
        out.append(q)
    return out


# Phrases a few products share (the demo's own wording), so that phrase
# and proximity rankings are exercised with matches.
FIXED = ['"organic cotton"', '"classic collar"', "button-down",
         '"straight hem"', "shirt cotton", "cotton or linen",
         "dress -linen", "algodón", "algodon", '"de algodón"',
         "camisa azul", '"azul marino"', "navy shirt -organic",
         "the", "with the", "the -cotton"]


def warm(stack, shop):
    """A responder loads a tenant's index at its first free moment after
    a search found it missing (SQL until then, textidx.h): searches on
    every responder until a round of them is all ranked in memory."""
    def send(h):
        h = dict(h, **{"Cache-Control": "no-cache"})
        return stack.request("GET", V1 + "/products/search?limit=5&q=shirt",
                             headers=syid.key(shop["keys"]["secret"], h))

    def ranked_in_memory():
        fb = metric(stack, "synthia_textidx_fallbacks_total")
        everywhere(stack, send, status_is(200), n=8)
        return metric(stack, "synthia_textidx_fallbacks_total") == fb
    sylib.wait_until(ranked_in_memory, timeout=60, interval=0.1,
                     what="every responder's index loaded")


def check_many(stack, shop, qs):
    warm(stack, shop)
    before = (metric(stack, "synthia_textidx_searches_total"),
              metric(stack, "synthia_textidx_fallbacks_total"))
    found = sum(1 for q in qs if same(stack, shop, q))
    after = (metric(stack, "synthia_textidx_searches_total"),
             metric(stack, "synthia_textidx_fallbacks_total"))
    # every one ranked from memory, none left to PostgreSQL
    assert after[0] - before[0] == len(qs), (before, after)
    assert after[1] == before[1], (before, after)
    return found


def test_generated_queries_rank_as_postgresql(stack):
    shop = seed(stack)
    words = vocabulary(stack, shop)
    qs = FIXED + queries(words, 250, random.Random(13))
    found = check_many(stack, shop, qs)
    assert found >= len(qs) // 2, found  # most queries have matches


def test_another_search_config(stack):
    shop = seed(stack, "simple")
    words = vocabulary(stack, shop)
    qs = ["cotton", "shirts", "the shirt", '"organic cotton"',
          "algodón"] + queries(words, 60, random.Random(7))
    assert check_many(stack, shop, qs) >= len(qs) // 2


def test_past_the_candidate_bound(stack):
    # more than 1,000 matches: which 1,000 PostgreSQL ranks depends on its
    # plan, so such a query goes to SQL (counted as a fallback) and the
    # answer is PostgreSQL's own.  No word twice: the normaliser would
    # drop the second "or".
    shop = seed(stack, n=1100)
    qs = ["the -zeppelinx", "made", "made -linen", "the -linen",
          "wool or made", "made -wool -silk", "the -wool -linen"]
    counts = [len(syid.psql(stack, "SELECT 1 FROM products p, tenants t "
                            "WHERE t.id = :'t' AND p.tenant_id = t.id AND "
                            "p.active AND p.search @@ websearch_to_tsquery("
                            "t.search_config, :'q')",
                            t=shop["tenant"]["id"], q=q)) for q in qs]
    assert max(counts) > 1000, counts  # the bound is exercised
    over = sum(1 for c in counts if c > 1000)
    warm(stack, shop)
    fb = metric(stack, "synthia_textidx_fallbacks_total")
    for q, c in zip(qs, counts):
        if c <= 1000:
            same(stack, shop, q)
        else:
            ranked_by_postgresql(stack, shop, q)
    assert metric(stack, "synthia_textidx_fallbacks_total") - fb == over


def ranked_by_postgresql(stack, shop, q):
    """Past the bound the candidates are the first 1,000 matches of
    PostgreSQL's plan, which psql's plan need not share (the responder's
    prepared statement may run a generic plan: seen in a distcheck run,
    after the warm-up's searches had run it more than five times).  What
    holds whatever the plan: LIMIT hits, each a match scored 0.5 + 0.5 x
    ts_rank as PostgreSQL scores it, in score order then id."""
    got = fulltext(search(stack, shop, q))
    assert len(got) == LIMIT, (q, len(got))
    ids = [g[0] for g in got]
    rows = syid.psql(stack, "SELECT p.id, 0.5 + 0.5 * ts_rank(p.search, "
                     "websearch_to_tsquery(t.search_config, sy_unaccent("
                     ":'q')), 32) FROM products p, tenants t WHERE t.id = "
                     ":'t'::uuid AND p.tenant_id = t.id AND p.active AND "
                     "p.search @@ websearch_to_tsquery(t.search_config, "
                     "sy_unaccent(:'q')) AND p.id::text = ANY (string_to_"
                     "array(:'ids', ','))", q=q, t=shop["tenant"]["id"],
                     ids=",".join(ids))
    want = {r[0]: float(r[1]) for r in rows}
    assert set(want) == set(ids), (q, set(ids) - set(want))
    for gid, gs in got:
        assert abs(gs - want[gid]) <= 1e-6, (q, gid, gs, want[gid])
    # in order by PostgreSQL's own scores (the JSON's are rounded)
    assert ids == sorted(ids, key=lambda i: (-want[i], i)), (q, got)


def test_a_write_shows_in_the_next_search(stack):
    shop = seed(stack)
    h = syid.key(shop["keys"]["secret"])
    r = stack.request("GET", V1 + "/products?limit=3", headers=h)
    first, second = r.json()["items"][:2]
    assert same(stack, shop, "xylophonic") == 0
    r = stack.request("PATCH", V1 + "/products/" + first["id"],
                      body={"name": "Xylophonic " + first["name"]},
                      headers=h)
    assert r.status == 200, r
    assert same(stack, shop, "xylophonic") == 1
    got = fulltext(search(stack, shop, "xylophonic"))
    assert [g[0] for g in got] == [first["id"]], got
    r = stack.request("PATCH", V1 + "/products/" + second["id"],
                      body={"description": "xylophonic " +
                            second["description"]}, headers=h)
    assert r.status == 200, r
    assert same(stack, shop, "xylophonic") == 2
    r = stack.request("DELETE", V1 + "/products/" + first["id"], headers=h)
    assert r.status in (200, 204), r
    assert same(stack, shop, "xylophonic") == 1
    got = fulltext(search(stack, shop, "xylophonic"))
    assert [g[0] for g in got] == [second["id"]], got

    # a catalog that keeps changing is not reloaded at each search (its
    # searches go to SQL for 20 times the last load's time, textidx.c):
    # once that has passed, a search is ranked in memory again, with
    # the writes in it
    def from_memory():
        fb = metric(stack, "synthia_textidx_fallbacks_total")
        assert same(stack, shop, "xylophonic") == 1
        return metric(stack, "synthia_textidx_fallbacks_total") == fb
    sylib.wait_until(from_memory, timeout=30, interval=0.2,
                     what="a search ranked in memory after the writes")
    # every load of this shop's index (0.15-0.7 s for 10,000 products)
    # ran while its responder had nothing to serve, none inside a
    # search: the searches that found it due went to SQL meanwhile
    loads = [json.loads(x) for x in stack.read_log("synthia.log").splitlines()
             if '"event":"textidx_load"' in x and shop["tenant"]["id"] in x]
    assert loads, "no textidx_load line"
    assert all(o.get("in") == "idle" for o in loads), loads


def test_another_tenants_words_never_match(stack):
    shop = seed(stack)
    other = syid.new_tenant(stack)
    u = syid.new_user(stack, other, "staff")
    tok = syid.login_ok(stack, u)["access_token"]
    r = stack.request("POST", V1 + "/products", body={
        "sku": "ISO-1", "name": "Quixotical Gazebo", "category": "garden",
        "description": "A quixotical gazebo.", "price_cents": 100,
        "currency": "EUR", "stock": 1}, headers=syid.bearer(tok))
    assert r.status == 201, r
    r = stack.request("GET", V1 + "/products/search?q=quixotical",
                      headers=syid.key(other["sk"]))
    assert [i["product"]["name"] for i in r.json()["items"]] == [
        "Quixotical Gazebo"], r
    assert search(stack, shop, "quixotical") == []
    assert search(stack, shop, "gazebo or quixotical") == []
    assert same(stack, shop, "cotton -quixotical") > 0


# ------------------------------------------ shared per host (shfile.h)

def txt_files(stack, tid):
    """{name: inode} of the tenant's index files in the runtime dir."""
    pat = re.compile(r"txt-%s-v\d+\.bin" % tid)
    return {n: os.stat(os.path.join(stack.statedir, n)).st_ino
            for n in os.listdir(stack.statedir) if pat.fullmatch(n)}


def txt_maps(tid, pid):
    """Inodes of the tenant's index files that pid maps."""
    out = set()
    try:
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and ("/txt-%s-" % tid) in parts[5]:
                    out.add(int(parts[4]))
    except FileNotFoundError:
        pass
    return out


def log_events(stack, event, tid=None, pids=None):
    out = []
    for line in stack.read_log("synthia.log").splitlines():
        if '"event":"%s"' % event not in line or (tid and tid not in line):
            continue
        o = json.loads(line)
        if pids is None or o.get("pid") in pids:
            out.append(o)
    return out


def settled_logs():
    # a responder writes its log lines once it has nothing else to do
    time.sleep(0.3)


def all_map_one_file(stack, tid):
    """Every responder maps the tenant's one index file: its inode."""
    files = txt_files(stack, tid)
    assert len(files) == 1, files
    (ino,) = files.values()
    maps = {pid: txt_maps(tid, pid) for pid in stack.responder_pids()}
    assert all(m == {ino} for m in maps.values()), (ino, maps)
    return ino


@sylib.own_stack(workers=4)
def test_one_load_per_host_and_version(stack):
    """Four responders search a tenant: one loads its index from
    PostgreSQL into a file under runtime_dir, the others map that file
    (no load, no copy in their heaps).  A write moves the version: again
    one load of the version the responders are on (a write that moves the
    version twice may have one load of each), the new file replaces the
    old one, every responder moves to it, and the searches rank as
    PostgreSQL does."""
    shop = seed(stack)
    tid = shop["tenant"]["id"]
    warm(stack, shop)
    settled_logs()
    assert len(log_events(stack, "textidx_load", tid)) == 1, \
        log_events(stack, "textidx_load", tid)
    first = all_map_one_file(stack, tid)
    (v1,) = [o["version"] for o in log_events(stack, "textidx_load", tid)]
    assert check_many(stack, shop, FIXED[:6]) >= 1

    h = syid.key(shop["keys"]["secret"])
    r = stack.request("GET", V1 + "/products?limit=1", headers=h)
    p = r.json()["items"][0]
    r = stack.request("PATCH", V1 + "/products/" + p["id"],
                      body={"name": "Quixotic " + p["name"]}, headers=h)
    assert r.status == 200, r
    sylib.wait_until(lambda: same(stack, shop, "quixotic") == 1 and
                     txt_files(stack, tid) and
                     first not in txt_files(stack, tid).values(),
                     timeout=30, interval=0.2, what="the new version's file")
    warm(stack, shop)
    settled_logs()
    versions = [o["version"] for o in log_events(stack, "textidx_load", tid)]
    # one load per host and version: none loaded twice
    assert len(versions) >= 2 and len(set(versions)) == len(versions) and \
        versions[0] == v1 and min(versions[1:]) > v1, versions
    second = all_map_one_file(stack, tid)
    assert second != first
    assert [g[0] for g in fulltext(search(stack, shop, "quixotic"))] == \
        [p["id"]]


@sylib.own_stack(workers=2)
def test_broken_file_is_rejected_and_rebuilt(stack):
    """A file whose bytes changed (one bit) or that lost its end is
    rejected by its checksum and layout check (logged), loaded again and
    replaced, the same bytes as before; the responders that map the
    good file keep it."""
    shop = seed(stack)
    tid = shop["tenant"]["id"]
    warm(stack, shop)
    ino = all_map_one_file(stack, tid)
    (name,) = txt_files(stack, tid)
    path = os.path.join(stack.statedir, name)
    with open(path, "rb") as f:
        good = f.read()
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x10
    for broken in (good[:len(good) - 100], bytes(flipped)):
        mark = len(stack.read_log("synthia.log"))
        tmp = os.path.join(stack.statedir, "broken.tmp")
        with open(tmp, "wb") as f:
            f.write(broken)
        os.rename(tmp, path)  # as a builder would: never in place
        bad = os.stat(path).st_ino
        victim = stack.oldest_responder()
        os.kill(victim, signal.SIGKILL)
        fresh = [q for q in stack.wait_responders(2, exclude=(victim,))
                 if not txt_maps(tid, q)]
        assert len(fresh) == 1, fresh
        warm(stack, shop)
        settled_logs()
        log = stack.read_log("synthia.log")[mark:]
        assert '"textidx_file_rejected"' in log, log[-2000:]
        rebuilt = os.stat(path).st_ino
        assert rebuilt not in (ino, bad)
        with open(path, "rb") as f:
            assert f.read() == good
        assert txt_maps(tid, fresh[0]) == {rebuilt}
        assert check_many(stack, shop, FIXED[:4]) >= 1
        ino = rebuilt


@sylib.own_stack(workers=2,
                 extra_config="[server]\nruntime_dir = /nonexistent/synthia\n")
def test_unwritable_runtime_dir_keeps_a_copy_each(stack):
    shop = seed(stack, n=60)
    tid = shop["tenant"]["id"]
    assert check_many(stack, shop, FIXED[:6]) >= 1
    settled_logs()
    for pid in stack.responder_pids():
        assert not txt_maps(tid, pid), pid
    # each responder loaded its own copy; said once per responder
    assert len(log_events(stack, "textidx_load", tid)) == 2
    assert 1 <= len(log_events(stack, "textidx_unshared")) <= 2


sylib.main(globals())

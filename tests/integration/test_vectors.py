#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Product vectors through nginx (vectors.h): what a product write
stores in product_embeddings, and that semantic search on every
responder follows product writes at once (each responder holds its own
copy of the tenant's vectors and reloads it when the catalog moves),
also with Redis down (then a PostgreSQL fingerprint tells a responder
that the vectors changed), and that the responders share one read-only
mapping of each version's file under server.runtime_dir (the stack's
state directory).  test_search.py covers the search modes and their
scores; this file covers the store behind them."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import json
import os
import re
import signal
import struct
import time

import sylib
import syid
from pushlib import everywhere, status_is

SHARED_STACK = dict(workers=2)
TEST_TIMEOUT = 120
# enough requests in a row that each of the two responders serves some
SPREAD = 8
DIMS = 256

NAMES = ["Crimson leather biker jacket", "Indigo denim trucker jacket",
         "Linen summer shirt dress", "Merino wool rollneck sweater",
         "Suede chelsea ankle boots", "Silk floral midi skirt"]

_shop = {}


def shop(stack):
    """A tenant with a staff token and six products (one per stack)."""
    if stack.statedir not in _shop:
        t = syid.new_tenant(stack)
        staff = syid.new_user(stack, t, "staff")
        t["staff"] = syid.bearer(syid.login_ok(stack, staff)["access_token"])
        t["products"] = [create(stack, t, n) for n in NAMES]
        _shop[stack.statedir] = t
    return _shop[stack.statedir]


def create(stack, t, name, **extra):
    body = {"sku": syid.unique("sku"), "name": name,
            "description": "", "category": "test", "price_cents": 1000,
            "currency": "EUR", "stock": 3}
    body.update(extra)
    r = stack.request("POST", "/api/v1/products", body=body,
                      headers=t["staff"])
    assert r.status == 201, r
    return r.json()


def patch(stack, t, pid, body):
    r = stack.request("PATCH", "/api/v1/products/" + pid, body=body,
                      headers=t["staff"])
    assert r.status == 200, r
    return r.json()


def semantic(stack, t, q, limit=5):
    """[(product id, score)] of a semantic search with the secret key."""
    from urllib.parse import quote
    r = stack.request("GET", "/api/v1/products/search?mode=semantic"
                      "&limit=%d&q=%s" % (limit, quote(q)),
                      headers=syid.key(t["sk"]))
    assert r.status == 200, r
    body = r.json()
    assert body["mode"] == "semantic", body
    return [(i["product"]["id"], i["score"]) for i in body["items"]]


def top_everywhere(stack, t, q):
    """The first hit of q if it is a close match (score over 0.8: q is
    most of its text), the same on every responder; else None."""
    firsts = set()
    for _ in range(SPREAD):
        hits = semantic(stack, t, q)
        firsts.add(hits[0][0] if hits and hits[0][1] > 0.8 else None)
    assert len(firsts) == 1, "responders disagree on %r: %s" % (q, firsts)
    return firsts.pop()


def stored(stack, pid):
    """(model, dims, vector, updated_at) of a product's embedding row."""
    rows = syid.psql(stack, "SELECT model, dims, encode(vec, 'hex'),"
                     " updated_at FROM product_embeddings"
                     " WHERE product_id = :'p'", p=pid)
    if not rows:
        return None
    model, dims, hexvec, at = rows[0]
    vec = struct.unpack("<%df" % int(dims), bytes.fromhex(hexvec))
    return model, int(dims), vec, at


def test_write_stores_a_normalised_local_vector(stack):
    t = shop(stack)
    p = t["products"][0]
    model, dims, vec, _ = stored(stack, p["id"])
    assert (model, dims) == ("local-ngram-v1", DIMS)
    assert abs(sum(x * x for x in vec) - 1.0) < 1e-5
    rows = syid.psql(stack, "SELECT tenant_id FROM product_embeddings"
                     " WHERE product_id = :'p'", p=p["id"])
    assert rows == [[t["id"]]], rows


def test_same_text_stores_the_same_vector_in_any_case_and_accents(stack):
    t = shop(stack)
    a = create(stack, t, "Camisa de algodón pequeña")
    b = create(stack, t, "CAMISA DE ALGODON PEQUENA")
    assert stored(stack, a["id"])[2] == stored(stack, b["id"])[2]


def test_own_text_finds_the_product_first_with_score_one(stack):
    t = shop(stack)
    for p in t["products"]:
        # the embedded text is name, category and description
        hits = semantic(stack, t, p["name"] + " test")
        assert hits[0][0] == p["id"], (p["name"], hits)
        assert abs(hits[0][1] - 1.0) < 1e-4, hits
        hits = semantic(stack, t, p["name"])
        assert hits[0][0] == p["id"], (p["name"], hits)
        assert hits[0][1] > 0.8, hits
        assert all(0 < s <= 1 for _, s in hits), hits
        assert [s for _, s in hits] == sorted((s for _, s in hits),
                                              reverse=True), hits


def test_unrelated_query_scores_low(stack):
    t = shop(stack)
    # hashed features collide now and then: low scores, not none
    hits = semantic(stack, t, "qqqq zzzz")
    assert all(s < 0.3 for _, s in hits), hits
    assert semantic(stack, t, "!!! ...") == []


def test_rename_reaches_every_responder_at_once(stack):
    t = shop(stack)
    p = t["products"][1]
    new = "Ultramarine velvet tuxedo"
    # every responder loads the tenant's vectors before the write
    assert top_everywhere(stack, t, new) is None
    patch(stack, t, p["id"], {"name": new})
    assert top_everywhere(stack, t, new) == p["id"]
    assert top_everywhere(stack, t, NAMES[1]) != p["id"]


def test_deactivated_product_leaves_and_new_one_joins(stack):
    t = shop(stack)
    gone = t["products"][2]
    assert top_everywhere(stack, t, gone["name"]) == gone["id"]
    r = stack.request("DELETE", "/api/v1/products/" + gone["id"],
                      headers=t["staff"])
    assert r.status in (200, 204), r
    for _ in range(SPREAD):
        assert gone["id"] not in [i for i, _ in semantic(stack, t,
                                                         gone["name"])]
    fresh = create(stack, t, "Tangerine raffia beach tote")
    assert top_everywhere(stack, t, fresh["name"]) == fresh["id"]


def test_stock_only_write_keeps_the_stored_vector(stack):
    t = shop(stack)
    p = t["products"][3]
    before = stored(stack, p["id"])
    patch(stack, t, p["id"], {"stock": 9})
    assert stored(stack, p["id"]) == before


def test_other_tenant_never_sees_these_vectors(stack):
    t = shop(stack)
    other = syid.new_tenant(stack)
    other["staff"] = syid.bearer(
        syid.login_ok(stack, other["owner"])["access_token"])
    create(stack, other, NAMES[3])
    for p in t["products"][3:]:
        ids = [i for i, _ in semantic(stack, other, p["name"], limit=50)]
        assert p["id"] not in ids, ids


def test_redis_down_writes_still_reach_every_responder(stack):
    t = shop(stack)
    p = t["products"][4]
    new = "Periwinkle corduroy dungarees"
    # load the vectors everywhere, with a query that is not searched
    # again (so no cached answer can stand in for the vectors)
    assert top_everywhere(stack, t, p["name"]) == p["id"]
    stack.stop_redis()
    try:
        patch(stack, t, p["id"], {"name": new})
        assert top_everywhere(stack, t, new) == p["id"]
    finally:
        stack.start_redis()


# ------------------------------------------------ the shared mapping

MODEL = b"local-ngram-v1"  # SY_EMBED_LOCAL_MODEL


def key(t):
    """vectors.c's key_of: FNV-1a of tenant, embedder, model and dims."""
    h = 0xcbf29ce484222325
    for b in (t["id"].encode() + b"\0" + b"local\0" + MODEL + b"\0" +
              str(DIMS).encode()):
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def file_re(t):
    return re.compile(r"vec-%s-[vf][0-9a-f]+\.bin" % key(t))


def vec_maps(t, pid):
    """{inode: (perms, path)} of the tenant's vector files pid maps."""
    out = {}
    pat = file_re(t)
    try:
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and \
                        pat.search(os.path.basename(parts[5].strip())):
                    out[int(parts[4])] = (parts[1], parts[5].strip())
    except FileNotFoundError:
        pass
    return out


def vec_files(stack, t):
    """{name: inode} of the tenant's vector files in the runtime dir."""
    pat = file_re(t)
    return {n: os.stat(os.path.join(stack.statedir, n)).st_ino
            for n in os.listdir(stack.statedir) if pat.fullmatch(n)}


def search_everywhere(stack, t, q):
    """Semantic searches for q in bursts until every responder has
    answered some (pushlib): one client's requests in a row ride the
    upstream connections nginx keeps, which may all be one responder's.
    Each request has a query of its own: the result cache must not
    answer."""
    from urllib.parse import quote

    def send(h):
        return stack.request(
            "GET", "/api/v1/products/search?mode=semantic&limit=5&q=%s"
            % quote("%s %s" % (q, syid.unique("q"))),
            headers=syid.key(t["sk"], h))
    everywhere(stack, send, status_is(200), n=8)


def all_map(stack, t, q, want=None):
    """Search until every responder maps exactly one of the tenant's
    vector files, the same, and (want) that one; its inode."""
    def same():
        search_everywhere(stack, t, q)
        pids = stack.responder_pids()
        inodes = [set(vec_maps(t, p)) for p in pids]
        if len(pids) == 2 and all(len(i) == 1 for i in inodes) and \
                len(set.union(*inodes)) == 1:
            ino = inodes[0].pop()
            if want is None or want(ino):
                return ino
        raise AssertionError({p: vec_maps(t, p) for p in pids})
    return sylib.wait_until(same, timeout=20, interval=0.02,
                            what="every responder mapping one file")


def loads(stack):
    return stack.read_log("synthia.log").count('"vectors_load"')


def test_responders_share_one_read_only_mapping(stack):
    t = shop(stack)
    ino = all_map(stack, t, NAMES[0])
    for pid in stack.responder_pids():
        perms, path = vec_maps(t, pid)[ino]
        assert perms == "r--s", (pid, perms, path)  # read-only, shared
        assert path.startswith(stack.statedir + "/"), path
    assert ino in vec_files(stack, t).values(), vec_files(stack, t)


def mapped_name(t, pid):
    """The file name (its version) of the one vector file pid maps (an
    inode number alone may be reused by the next file once the old one
    is unlinked)."""
    (_, path), = vec_maps(t, pid).values()
    return os.path.basename(path.replace(" (deleted)", ""))


def test_catalog_change_makes_a_new_version_used_by_all(stack):
    t = shop(stack)
    p = t["products"][5]  # 2 was deactivated, 4 renamed above
    all_map(stack, t, NAMES[5])
    old = mapped_name(t, stack.responder_pids()[0])
    before = vec_files(stack, t)
    assert old in before, (old, before)
    new_name = "Saffron corduroy overshirt"
    patch(stack, t, p["id"], {"name": new_name})

    def moved(_ino):
        try:
            return all(mapped_name(t, q) != old
                       for q in stack.responder_pids())
        except ValueError:  # a responder mapping none or two just now
            return False
    # every responder maps the current version's file, the old one is
    # unlinked, one file per tenant+embedder+model.  (The version may move
    # more than once: a first read that found no version in Redis named
    # its file by fingerprint, and a bump owed from an earlier test can
    # follow the patch's: the file to map is whichever is current.)
    seen = []

    def settled():
        all_map(stack, t, new_name, want=moved)
        after = vec_files(stack, t)
        try:
            new = mapped_name(t, stack.responder_pids()[0])
        except ValueError:
            return False
        seen[:] = [new, after]
        return new in after and old not in after and \
            len(after) == len(before)
    sylib.wait_until(settled, timeout=40, interval=0.2,
                     what="every responder on the current version's file "
                     "(old %s, before %r, last %r)" % (old, before, seen))
    hits = [semantic(stack, t, new_name)[:2] for _ in range(SPREAD)]
    assert top_everywhere(stack, t, new_name) == p["id"], hits


def replace_with(stack, path, data):
    """Put data at path by rename, as a builder would (never in place: a
    file truncated under a mapping would fault its readers)."""
    tmp = os.path.join(stack.statedir, "broken.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)
    return os.stat(path).st_ino


def fresh_responder(stack, t):
    """Kill one responder; the pids that map none of t's files yet."""
    victim = stack.oldest_responder()
    os.kill(victim, signal.SIGKILL)
    pids = stack.wait_responders(2, exclude=(victim,))
    return [p for p in pids if not vec_maps(t, p)]


def loads_by(stack, pids):
    """vectors_load lines logged by those processes (log lines are
    written in batches: a count of every line could take in one that an
    older responder logged before, flushed late)."""
    n = 0
    for line in stack.read_log("synthia.log").splitlines():
        if '"vectors_load"' not in line:
            continue
        try:
            if json.loads(line).get("pid") in pids:
                n += 1
        except ValueError:
            pass
    return n


def test_fresh_responder_maps_the_file_without_a_reload(stack):
    """Up to three fresh responders: one that maps the version's file
    without a reload passes.  On a loaded machine (make -j2 check) a
    fresh responder's first Redis answer can come too late, and without
    the catalog version it cannot name the version's file; a responder
    that never maps it fails every round."""
    t = shop(stack)
    rounds = []
    for _ in range(3):
        ino = all_map(stack, t, NAMES[3])
        fresh = fresh_responder(stack, t)
        assert len(fresh) >= 1, fresh
        again = all_map(stack, t, NAMES[3])
        assert top_everywhere(stack, t, NAMES[3]) == t["products"][3]["id"]
        # every responder has answered; it writes its log lines once it
        # has nothing else to do
        time.sleep(0.3)
        reloads = loads_by(stack, set(fresh))
        rounds.append((ino, again, reloads))
        if again == ino and reloads == 0:
            return
    raise AssertionError("a fresh responder reloaded the vectors or built "
                         "a new file in every round (inode before, after, "
                         "its loads): %r" % rounds)


def test_broken_or_truncated_file_is_rejected_and_rebuilt(stack):
    t = shop(stack)
    ino = all_map(stack, t, NAMES[0])
    (name,) = [n for n, i in vec_files(stack, t).items() if i == ino]
    path = os.path.join(stack.statedir, name)
    with open(path, "rb") as f:
        good = f.read()
    flipped = bytearray(good)
    flipped[-5] ^= 0x40  # one bit of the last vector column
    for broken in (good[:len(good) - 1000], bytes(flipped)):
        mark = len(stack.read_log("synthia.log"))
        bad = replace_with(stack, path, broken)
        (fresh,) = fresh_responder(stack, t)
        # the fresh responder rejects the file and builds it again (the
        # other one keeps its valid mapping of the unlinked good file)
        def remapped():
            search_everywhere(stack, t, NAMES[0])
            got = set(vec_maps(t, fresh))
            assert len(got) == 1 and not got & {ino, bad}, got
            return got.pop()
        rebuilt = sylib.wait_until(remapped, timeout=20, interval=0.02,
                                   what="the fresh responder's own file")
        log = stack.read_log("synthia.log")[mark:]
        assert '"vectors_file_rejected"' in log, log[-2000:]
        with open(path, "rb") as f:
            assert f.read() == good
        assert os.stat(path).st_ino == rebuilt
        assert top_everywhere(stack, t, NAMES[0]) == t["products"][0]["id"]
        ino = rebuilt


@sylib.own_stack(workers=2,
                 extra_config="[server]\nruntime_dir = /nonexistent/synthia\n")
def test_unwritable_runtime_dir_falls_back_to_a_copy_each(stack):
    t = shop(stack)
    for i, name in enumerate(NAMES):
        assert top_everywhere(stack, t, name) == t["products"][i]["id"]
    for pid in stack.responder_pids():
        assert not vec_maps(t, pid), pid
    log = stack.read_log("synthia.log")
    # once per responder that searched, not once per search
    assert 1 <= log.count('"vectors_unshared"') <= 2, log[-3000:]
    assert '"store":"heap"' in log


sylib.main(globals())

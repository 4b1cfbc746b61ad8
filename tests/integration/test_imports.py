#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Catalog import sessions through nginx (API.md "Import sessions"):
CSV upload (delimiters, BOM, quoting, invalid UTF-8 refused with its
row, media types), pages of rows, operations all or nothing with
base_version, at most five versions, undo with intentional-missing marks,
the audit log, commit into the catalog (insert and update by sku,
rejected rows, Idempotency-Key, embeddings), two writers racing on one
session, tenant isolation, Redis down and /health/storage."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import threading
import time

import keylib
import sylib
import syid

SHARED_STACK = dict(workers=4)
TEST_TIMEOUT = 180

IMPORTS = "/api/v1/imports"


class Shop:
    def __init__(self, stack):
        self.stack = stack
        self.t = syid.new_tenant(stack)
        self.id = self.t["id"]
        self.owner = self.t["owner"]
        self.staff = syid.new_user(stack, self.t, "staff")
        self.shopper = syid.new_user(stack, self.t, "shopper")
        for u in (self.owner, self.staff, self.shopper):
            u["token"] = syid.login_ok(stack, u)["access_token"]


_shops = {}


def shop(stack, name="A"):
    k = (stack.statedir, name)
    if k not in _shops:
        _shops[k] = Shop(stack)
    return _shops[k]


def call(stack, method, path, user, body=None, headers=None):
    return stack.request(method, path, body=body,
                         headers=syid.bearer(user["token"], headers),
                         timeout=60)


def upload(stack, user, text, ctype="text/csv"):
    data = text if isinstance(text, bytes) else text.encode()
    return call(stack, "POST", IMPORTS, user, data, {"Content-Type": ctype})


def upload_ok(stack, user, text):
    r = upload(stack, user, text)
    assert r.status == 201, r
    return r.json()


def ops(stack, user, sid, ops_, base=None):
    body = {"ops": ops_}
    if base is not None:
        body["base_version"] = base
    return call(stack, "POST", "%s/%s/ops" % (IMPORTS, sid), user, body)


def ops_ok(stack, user, sid, ops_, base=None):
    r = ops(stack, user, sid, ops_, base)
    assert r.status == 200, r
    return r.json()


def rows(stack, user, sid, offset=0, limit=1000):
    r = call(stack, "GET", "%s/%s?offset=%d&limit=%d" % (IMPORTS, sid,
                                                        offset, limit), user)
    assert r.status == 200, r
    return r.json()


def col(meta, name):
    return next(c for c in meta["columns"] if c["name"] == name)


CSV = ("sku;name;price;stock;colour;note\r\n"
       "S1;\"Linen shirt; white\";EUR 12,50;3;#fff;\r\n"
       "S2;\"Dress \"\"Ada\"\"\nlong\";30;;#000000 #aabbcc;x\r\n"
       "S3;Scarf;7.5;1;#123;\r\n")


# ------------------------------------------------------------- upload


def test_upload_parses_and_types(stack):
    s = shop(stack)
    r = upload(stack, s.staff, "\ufeff" + CSV)
    assert r.status == 201, r
    m = r.json()
    assert r.headers["Location"] == "%s/%s" % (IMPORTS, m["id"])
    assert m["version"] == 1 and m["rows"] == 3, m
    assert [c["name"] for c in m["columns"]] == [
        "sku", "name", "price", "stock", "colour", "note"]
    assert col(m, "stock")["type"] == "integer"
    assert col(m, "price")["type"] == "money"
    assert col(m, "colour")["type"] == "colour"
    assert col(m, "sku")["type"] == "text"
    assert col(m, "stock")["missing"] == 1
    assert col(m, "note")["missing"] == 2
    assert m["expires_at"] > m["created_at"], m
    page = rows(stack, s.staff, m["id"])
    assert page["items"][0][1] == "Linen shirt; white"
    assert page["items"][1][1] == 'Dress "Ada"\nlong'
    assert page["items"][1][3] is None
    page = rows(stack, s.staff, m["id"], offset=2, limit=5)
    assert [x[0] for x in page["items"]] == ["S3"], page


def test_upload_as_a_multipart_form(stack):
    s = shop(stack)
    csv = "sku,name,price\r\nM-1,\"Shirt, linen\",EUR 12.50\r\n"
    body = ("--b0undary\r\n"
            "Content-Disposition: form-data; name=\"note\"\r\n\r\n"
            "ignored\r\n--b0undary\r\n"
            "Content-Disposition: form-data; name=\"file\"; "
            "filename=\"supplier.csv\"\r\n"
            "Content-Type: application/vnd.ms-excel\r\n\r\n" + csv +
            "\r\n--b0undary--\r\n")
    r = upload(stack, s.staff, body,
               "multipart/form-data; boundary=b0undary")
    assert r.status == 201, r
    j = r.json()
    assert j["rows"] == 1, j
    assert [c["name"] for c in j["columns"]] == ["sku", "name", "price"], j
    page = rows(stack, s.staff, j["id"])
    assert page["items"][0][1] == "Shirt, linen", page


def test_upload_refusals(stack):
    s = shop(stack)
    r = upload(stack, s.staff, b"a,b\n1,2\n3,\xc3\x28\n")
    sylib.assert_problem(r, 422, "validation_failed")
    err = r.json()["errors"]
    assert err[0]["field"] == "csv" and "row 1" in err[0]["message"], err
    assert "UTF-8" in err[0]["message"], err
    r = upload(stack, s.staff, "", "text/csv")
    sylib.assert_problem(r, 422, "validation_failed")
    # a form without a file part, and one that is malformed
    r = upload(stack, s.staff, "--x\r\nContent-Disposition: form-data; "
               "name=\"other\"\r\n\r\na,b\r\n--x--\r\n",
               "multipart/form-data; boundary=x")
    sylib.assert_problem(r, 422, "validation_failed")
    assert r.json()["errors"][0]["field"] == "file", r.json()
    r = upload(stack, s.staff, "a,b\n1,2\n",
               "multipart/form-data; boundary=x")
    sylib.assert_problem(r, 400, "bad_request")
    r = upload(stack, s.staff, "a,b\n1,2\n", "application/json")
    sylib.assert_problem(r, 415, "unsupported_media_type")
    r = upload(stack, s.staff, "a,b\n1,2\n", "text/csv; charset=latin1")
    sylib.assert_problem(r, 415, "unsupported_media_type")
    r = upload(stack, s.shopper, "a,b\n1,2\n")
    assert r.status == 403, r


def test_sessions_belong_to_their_tenant(stack):
    a, b = shop(stack), shop(stack, "B")
    sid = upload_ok(stack, a.staff, "a\n1\n")["id"]
    for method, path in (("GET", ""), ("GET", "/versions"),
                         ("GET", "/audit"), ("POST", "/undo"),
                         ("POST", "/commit"), ("DELETE", "")):
        r = call(stack, method, "%s/%s%s" % (IMPORTS, sid, path), b.staff)
        sylib.assert_problem(r, 404, "not_found")
    r = ops(stack, b.staff, sid, [{"op": "set", "row": 0, "column": 0,
                                   "value": "x"}])
    sylib.assert_problem(r, 404, "not_found")
    assert rows(stack, a.staff, sid)["items"] == [["1"]]
    r = call(stack, "GET", "%s/not-a-uuid" % IMPORTS, a.staff)
    sylib.assert_problem(r, 404, "not_found")


# ------------------------------------------------------------- ops


def test_ops_all_or_nothing_and_base_version(stack):
    s = shop(stack)
    sid = upload_ok(stack, s.staff, CSV)["id"]
    m = ops_ok(stack, s.staff, sid, [
        {"op": "set", "row": 1, "column": "stock", "value": 4},
        {"op": "rename", "from": "colour", "to": "colors"},
        {"op": "map", "column": "colors", "field": "colors"}], base=1)
    assert m["version"] == 2, m
    assert col(m, "stock")["missing"] == 0
    assert col(m, "colors")["field"] == "colors"
    # a failing op leaves everything as it was
    r = ops(stack, s.staff, sid, [
        {"op": "set", "row": 0, "column": "name", "value": "changed"},
        {"op": "set", "row": 99, "column": "name", "value": "x"}])
    sylib.assert_problem(r, 422, "validation_failed")
    assert [e["field"] for e in r.json()["errors"]] == ["ops[1].row"]
    page = rows(stack, s.staff, sid)
    assert page["version"] == 2 and page["items"][0][1] != "changed"
    # a stale base version: 409, nothing applied
    r = ops(stack, s.staff, sid, [{"op": "drop_rows", "rows": [0]}], base=1)
    sylib.assert_problem(r, 409, "version_conflict")
    assert rows(stack, s.staff, sid)["rows"] == 3
    m = ops_ok(stack, s.staff, sid, [{"op": "drop_rows", "rows": [0]}],
               base=2)
    assert m["version"] == 3 and m["rows"] == 2


def test_five_versions_undo_and_marks(stack):
    s = shop(stack)
    sid = upload_ok(stack, s.staff, "a,b\n1,\n2,\n")["id"]
    ops_ok(stack, s.staff, sid, [{"op": "mark_missing_intentional",
                                  "row": 0, "column": "b"}])
    m = ops_ok(stack, s.staff, sid, [{"op": "fill_missing", "column": "b",
                                      "value": "z"}])
    assert col(m, "b")["missing"] == 1
    assert col(m, "b")["intentionally_missing"] == 1
    page = rows(stack, s.staff, sid)
    assert page["items"] == [["1", None], ["2", "z"]], page
    assert page["marks"] == [[0, 1]], page
    for i in range(4):
        ops_ok(stack, s.staff, sid, [{"op": "set", "row": 1, "column": 0,
                                      "value": "v%d" % i}])
    v = call(stack, "GET", "%s/%s/versions" % (IMPORTS, sid), s.staff)
    assert v.status == 200, v
    v = v.json()
    assert v["current"] == 7
    assert [x["version"] for x in v["items"]] == [3, 4, 5, 6, 7], v
    assert v["items"][0]["ops"] == ["fill_missing"]
    assert v["items"][0]["by"] == s.staff.get("id", v["items"][0]["by"])
    # undo down to the oldest kept version; the mark comes back with it
    for want in (6, 5, 4, 3):
        r = call(stack, "POST", "%s/%s/undo" % (IMPORTS, sid), s.staff)
        assert r.status == 200 and r.json()["version"] == want, r
    assert rows(stack, s.staff, sid)["marks"] == [[0, 1]]
    r = call(stack, "POST", "%s/%s/undo" % (IMPORTS, sid), s.staff)
    sylib.assert_problem(r, 409, "no_previous_version")
    # a new version after undo gets a fresh number: an old base is stale
    r = ops(stack, s.staff, sid, [{"op": "set", "row": 0, "column": 0,
                                   "value": "q"}], base=7)
    sylib.assert_problem(r, 409, "version_conflict")
    assert ops_ok(stack, s.staff, sid, [{"op": "set", "row": 0, "column": 0,
                                         "value": "q"}], base=3)[
        "version"] == 8
    a = call(stack, "GET", "%s/%s/audit" % (IMPORTS, sid), s.staff).json()
    actions = [e["action"] for e in a["items"]]
    assert actions == ["create"] + ["ops"] * 6 + ["undo"] * 4 + ["ops"], a
    assert all(e["by"] and e["at"] for e in a["items"])
    assert a["items"][2]["ops"] == ["fill_missing"]
    assert a["items"][2]["cells"] == 1


def test_two_writers_race(stack):
    s = shop(stack)
    n = 12
    sid = upload_ok(stack, s.staff,
                    "w,n\n" + "".join("r%d,\n" % i for i in range(n)))["id"]
    results = {}
    gate = threading.Barrier(2)

    def writer(who, user):
        gate.wait(timeout=30)
        out = []
        for i in range(n):
            r = ops(stack, user, sid, [{"op": "set", "row": i,
                                        "column": who, "value": "v%d" % i}])
            out.append(r)
        results[who] = out

    th = [threading.Thread(target=writer, args=("w", s.staff)),
          threading.Thread(target=writer, args=("n", s.owner))]
    for t in th:
        t.start()
    for t in th:
        t.join(timeout=120)
    ok = 0
    expect = {}
    for who, out in results.items():
        assert len(out) == n
        for i, r in enumerate(out):
            if r.status == 200:
                ok += 1
                expect[(i, who)] = "v%d" % i
            else:
                sylib.assert_problem(r, 409, "locked")
    page = rows(stack, s.staff, sid)
    assert page["version"] == 1 + ok, (page["version"], ok)
    for i, row in enumerate(page["items"]):
        for c, who in enumerate(("w", "n")):
            want = expect.get((i, who), "r%d" % i if who == "w" else None)
            assert row[c] == want, (i, who, row)
    a = call(stack, "GET", "%s/%s/audit" % (IMPORTS, sid), s.staff).json()
    assert len([e for e in a["items"] if e["action"] == "ops"]) == ok
    versions = [e["version"] for e in a["items"]]
    assert versions == sorted(versions) == list(range(1, ok + 2)), versions


def test_lock_held_by_another_writer(stack):
    s = shop(stack)
    sid = upload_ok(stack, s.staff, "a\n1\n")["id"]
    lock = "sy:{t:%s}:imp:%s:lock" % (s.id, sid)
    # another writer's lock (its token is not ours): we wait
    # imports.lock_wait (2 s), then 409 locked, and nothing is applied
    assert keylib.redis(stack, "SET", lock, "f" * 32, "PX", "60000") == "OK"
    t0 = time.monotonic()
    r = ops(stack, s.staff, sid, [{"op": "set", "row": 0, "column": 0,
                                   "value": "2"}])
    waited = time.monotonic() - t0
    sylib.assert_problem(r, 409, "locked")
    assert 1.9 <= waited < 10, waited
    for path in ("/undo", "/commit"):
        r = call(stack, "POST", "%s/%s%s" % (IMPORTS, sid, path), s.staff)
        sylib.assert_problem(r, 409, "locked")
    sylib.assert_problem(call(stack, "DELETE", "%s/%s" % (IMPORTS, sid),
                              s.staff), 409, "locked")
    # our failed attempts never released the other writer's lock
    assert keylib.redis(stack, "GET", lock) == "f" * 32
    page = rows(stack, s.staff, sid)
    assert page["version"] == 1 and page["items"] == [["1"]], page
    # released: the next writer gets it at once, and frees it after
    keylib.redis(stack, "DEL", lock)
    assert ops_ok(stack, s.staff, sid, [{"op": "set", "row": 0, "column": 0,
                                         "value": "2"}])["version"] == 2
    assert keylib.redis(stack, "EXISTS", lock) == "0"


# ------------------------------------------------------------- commit


def test_commit_inserts_updates_and_rejects(stack):
    s = shop(stack)
    sku_old = syid.unique("OLD")
    syid.psql(stack, """INSERT INTO products (tenant_id, sku, name,
                 price_cents, currency, stock, description)
              VALUES (:'tid', :'sku', 'Old name', 100, 'EUR', 5, 'keep')""",
              tid=s.id, sku=sku_old)
    new1, new2 = syid.unique("N1"), syid.unique("N2")
    text = ("sku,name,price,stock,colors,fabric\n"
            "%s,Linen shirt,EUR 12.50,3,#fff,linen\n"
            "%s,Renamed,,7,,\n"
            "%s,,EUR 5,1,,\n"
            "%s,Dup,EUR 1,1,,\n"
            "%s,Bad price,twelve,1,,\n"
            ",No sku,EUR 1,1,,\n") % (new1, sku_old, new2, new1,
                                      syid.unique("N3"))
    sid = upload_ok(stack, s.staff, text)["id"]
    r = call(stack, "POST", "%s/%s/commit" % (IMPORTS, sid), s.staff)
    sylib.assert_problem(r, 422, "validation_failed")
    ops_ok(stack, s.staff, sid, [
        {"op": "map", "column": c, "field": f} for c, f in (
            ("sku", "sku"), ("name", "name"), ("price", "price"),
            ("stock", "stock"), ("colors", "colors"),
            ("fabric", "attributes.fabric"))])
    key = syid.unique("idem")
    r = call(stack, "POST", "%s/%s/commit" % (IMPORTS, sid), s.staff,
             headers={"Idempotency-Key": key})
    assert r.status == 200, r
    c = r.json()
    assert c["inserted"] == 1 and c["updated"] == 1, c
    assert c["unchanged"] == 0, c
    rej = {x["row"]: {e["field"] for e in x["errors"]} for x in c["rejected"]}
    assert rej == {2: {"name"}, 3: {"sku"}, 4: {"price_cents"},
                   5: {"sku"}}, c
    got = syid.psql(stack, """SELECT sku, name, price_cents, currency, stock,
                 colors::text, attributes->>'fabric', description
               FROM products WHERE tenant_id = :'tid' ORDER BY sku""",
                    tid=s.id)
    assert [new1, "Linen shirt", "1250", "EUR", "3", "{#ffffff}", "linen",
            ""] in got, got
    assert [sku_old, "Renamed", "100", "EUR", "7", "{}", "",
            "keep"] in got, got
    emb = syid.psql(stack, """SELECT count(*) FROM product_embeddings e
                 JOIN products p ON p.id = e.product_id
               WHERE p.tenant_id = :'tid' AND p.sku = :'sku'""",
                    tid=s.id, sku=new1)
    assert emb == [["1"]], emb
    # the same key replays the answer and writes nothing again
    r2 = call(stack, "POST", "%s/%s/commit" % (IMPORTS, sid), s.staff,
              headers={"Idempotency-Key": key})
    assert r2.status == 200 and r2.json() == c, r2
    assert r2.headers.get("Idempotent-Replayed") == "true", r2
    # committing again without a key: the same rows change nothing now
    r3 = call(stack, "POST", "%s/%s/commit" % (IMPORTS, sid), s.staff)
    assert (r3.json()["inserted"], r3.json()["updated"],
            r3.json()["unchanged"]) == (0, 0, 2), r3
    # one changed cell: that product is updated, the other left alone
    ops_ok(stack, s.staff, sid, [{"op": "set", "row": 1, "column": "stock",
                                  "value": 8}])
    r4 = call(stack, "POST", "%s/%s/commit" % (IMPORTS, sid), s.staff)
    assert (r4.json()["inserted"], r4.json()["updated"],
            r4.json()["unchanged"]) == (0, 1, 1), r4
    assert syid.psql(stack, "SELECT stock FROM products WHERE tenant_id = "
                     ":'tid' AND sku = :'sku'", tid=s.id,
                     sku=sku_old) == [["8"]]
    a = call(stack, "GET", "%s/%s/audit" % (IMPORTS, sid), s.staff).json()
    commits = [e for e in a["items"] if e["action"] == "commit"]
    assert [(e["inserted"], e["updated"]) for e in commits] == [
        (1, 1), (0, 0), (0, 1)], commits



def test_commit_embeds_every_batch_as_a_single_write_would(stack):
    # 1,201 new products: three vector statements (500, 500, 201), each
    # sent while the next batch is embedded, the vectors as one binary
    # bytea; every product gets the very vector POST /products stores
    s = shop(stack, "embed")
    pre = syid.unique("E")
    n = 1201
    text = "sku,name,category,description,price\n" + "".join(
        "%s-%04d,Item %d,shirts,cotton weave %d,EUR 1\n" % (pre, i, i, i)
        for i in range(n))
    sid = upload_ok(stack, s.staff, text)["id"]
    ops_ok(stack, s.staff, sid, [
        {"op": "map", "column": c, "field": c}
        for c in ("sku", "name", "category", "description", "price")])
    r = call(stack, "POST", "%s/%s/commit" % (IMPORTS, sid), s.staff)
    assert r.status == 200 and r.json()["inserted"] == n, r
    got = syid.psql(stack, """SELECT count(*), count(DISTINCT e.vec),
                 min(octet_length(e.vec)), max(octet_length(e.vec))
               FROM products p JOIN product_embeddings e
                 ON e.product_id = p.id AND e.embedder = 'local'
               WHERE p.tenant_id = :'tid' AND p.sku LIKE :'pre' || '-%'""",
                    tid=s.id, pre=pre)
    assert got == [[str(n), str(n), "1024", "1024"]], got
    for i in (0, 499, 500, 1000, n - 1):
        body = {"sku": syid.unique("single"), "name": "Item %d" % i,
                "category": "shirts", "description": "cotton weave %d" % i,
                "price_cents": 100, "currency": "EUR", "stock": 1}
        r = call(stack, "POST", "/api/v1/products", s.staff, body)
        assert r.status == 201, r
        same = syid.psql(stack, """SELECT a.vec = b.vec
                   FROM products pa JOIN product_embeddings a
                     ON a.product_id = pa.id AND a.embedder = 'local',
                   products pb JOIN product_embeddings b
                     ON b.product_id = pb.id AND b.embedder = 'local'
                   WHERE pa.tenant_id = :'tid' AND pa.sku = :'sa'
                     AND pb.tenant_id = :'tid' AND pb.sku = :'sb'""",
                         tid=s.id, sa="%s-%04d" % (pre, i), sb=body["sku"])
        assert same == [["t"]], (i, same)


def test_commit_feeds_full_text_and_vocabulary(stack):
    # the commit's INSERT computes the search vector itself, with the
    # tenant's configuration (010_bulk_insert), and its statement trigger
    # adds the words: both as 003's row trigger and 004's would have
    s = shop(stack, "fts")
    syid.psql(stack, "UPDATE tenants SET search_config = 'english' "
              "WHERE id = :'tid'", tid=s.id)
    a, b = syid.unique("FA"), syid.unique("FB")
    text = ("sku,name,price,category,description\n"
            "%s,Zephyrine dresses,EUR 30,Dresses,Flowing summer dresses\n"
            "%s,Quillon scarves,EUR 9,,\n") % (a, b)
    sid = upload_ok(stack, s.staff, text)["id"]
    ops_ok(stack, s.staff, sid, [
        {"op": "map", "column": c, "field": c}
        for c in ("sku", "name", "price", "category", "description")])
    r = call(stack, "POST", "%s/%s/commit" % (IMPORTS, sid), s.staff)
    assert r.status == 200 and r.json()["inserted"] == 2, r
    expected = """SELECT p.sku, p.search::text,
            p.search = setweight(to_tsvector(t.search_config,
                    sy_unaccent(p.name)), 'A') ||
                setweight(to_tsvector(t.search_config,
                    sy_unaccent(p.category)), 'B') ||
                setweight(to_tsvector(t.search_config,
                    sy_unaccent(p.description)), 'C')
          FROM products p JOIN tenants t ON t.id = p.tenant_id
         WHERE p.tenant_id = :'tid' ORDER BY p.sku"""
    got = syid.psql(stack, expected, tid=s.id)
    assert [g[2] for g in got] == ["t", "t"], got
    assert "'dress':" in got[0][1], got  # english stems, simple would not
    words = syid.psql(stack, """SELECT word FROM product_words
        WHERE tenant_id = :'tid' AND word IN ('zephyrine', 'dresses',
            'flowing', 'summer', 'quillon', 'scarves') ORDER BY word""",
                      tid=s.id)
    assert [w[0] for w in words] == ["dresses", "flowing", "quillon",
                                     "scarves", "summer", "zephyrine"], words
    # an update by import recomputes both, as any update does
    ops_ok(stack, s.staff, sid, [{"op": "set", "row": 1, "column": "name",
                                  "value": "Vardeline scarves"}])
    r = call(stack, "POST", "%s/%s/commit" % (IMPORTS, sid), s.staff)
    assert r.status == 200 and r.json()["updated"] == 1, r
    got = syid.psql(stack, expected, tid=s.id)
    assert [g[2] for g in got] == ["t", "t"], got
    assert "'vardelin" in got[1][1], got  # the new name's stem
    assert syid.psql(stack, "SELECT count(*) FROM product_words WHERE "
                     "tenant_id = :'tid' AND word = 'vardeline'",
                     tid=s.id) == [["1"]]


def test_commit_vocabulary_of_simple_tenant(stack):
    # 014: a 'simple' tenant's words come from the search vector; they
    # must be exactly sy_product_words' (accents, case, hyphens, short,
    # long and numeric words, a text with no word at all)
    s = shop(stack, "voc")
    assert syid.psql(stack, "SELECT search_config FROM tenants "
                     "WHERE id = :'tid'", tid=s.id) == [["simple"]]
    skus = [syid.unique("VA"), syid.unique("VB"), syid.unique("VC")]
    text = ("sku,name,price,category,description\n"
            "%s,Crème Brûlée-Tüch 2025,EUR 3,Écharpes,"
            "\"well-known x1 ab abc ÅNGSTRÖM co-op, 12345\"\n"
            "%s,%s,EUR 4,Jackets,e-mail me at shop@example.com!\n"
            "%s,---,EUR 5,,\n") % (skus[0], skus[1], "Z" * 40, skus[2])
    sid = upload_ok(stack, s.staff, text)["id"]
    ops_ok(stack, s.staff, sid, [
        {"op": "map", "column": c, "field": c}
        for c in ("sku", "name", "price", "category", "description")])
    r = call(stack, "POST", "%s/%s/commit" % (IMPORTS, sid), s.staff)
    assert r.status == 200 and r.json()["inserted"] == 3, r
    got = syid.psql(stack, "SELECT word FROM product_words "
                    "WHERE tenant_id = :'tid' ORDER BY word", tid=s.id)
    want = syid.psql(stack, """SELECT DISTINCT w FROM products p,
        sy_product_words(p.name, p.category, p.description) w
        WHERE p.tenant_id = :'tid' ORDER BY w""", tid=s.id)
    assert got == want, (got, want)
    words = [w[0] for w in got]
    for w in ("creme", "brulee", "tuch", "2025", "echarpes", "angstrom",
              "12345", "abc", "known", "shop@example.com"):
        assert w in words, (w, words)
    assert not [w for w in words if "-" in w or len(w) < 3], words


def test_delete(stack):
    s = shop(stack)
    sid = upload_ok(stack, s.staff, "a\n1\n")["id"]
    r = call(stack, "DELETE", "%s/%s" % (IMPORTS, sid), s.staff)
    assert r.status == 204, r
    r = call(stack, "GET", "%s/%s" % (IMPORTS, sid), s.staff)
    sylib.assert_problem(r, 404, "not_found")
    r = call(stack, "DELETE", "%s/%s" % (IMPORTS, sid), s.staff)
    sylib.assert_problem(r, 404, "not_found")


# ------------------------------------------------------------- storage


def test_health_counts_sessions_and_redis_down(stack):
    s = shop(stack)
    before = stack.get("/health/storage").json()["active_sessions"]
    sid = upload_ok(stack, s.staff, "a\n1\n")["id"]
    h = stack.get("/health/storage").json()
    assert h["backend_type"] == "redis"
    assert h["active_sessions"] == before + 1, (before, h)
    call(stack, "DELETE", "%s/%s" % (IMPORTS, sid), s.staff)
    assert stack.get("/health/storage").json()["active_sessions"] == before
    sid = upload_ok(stack, s.staff, "a\n1\n")["id"]
    stack.stop_redis()
    try:
        r = upload(stack, s.staff, "a\n1\n")
        sylib.assert_problem(r, 503, "storage_unavailable")
        r = call(stack, "GET", "%s/%s" % (IMPORTS, sid), s.staff)
        sylib.assert_problem(r, 503, "storage_unavailable")
        r = ops(stack, s.staff, sid, [{"op": "set", "row": 0, "column": 0,
                                       "value": "2"}])
        sylib.assert_problem(r, 503, "storage_unavailable")
    finally:
        stack.start_redis()
    # the test stack's Redis keeps nothing across a restart: new sessions
    # work again once it is back (and the responder's reconnect back-off,
    # 1 s after a refused connection, has passed)
    deadline = time.monotonic() + 5
    while True:
        r = upload(stack, s.staff, "a\n1\n")
        if r.status == 201 or time.monotonic() > deadline:
            break
        sylib.assert_problem(r, 503, "storage_unavailable")
        time.sleep(0.2)
    assert r.status == 201, r


sylib.main(globals())

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Products and categories through nginx (API.md "Catalog, search,
orders"): CRUD, validation, duplicate sku, ETag, soft delete, list
filters, keyset pagination under concurrent inserts, the result cache
(X-Cache) with Redis up and down, roles, and tenant isolation."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import threading
import urllib.parse
import uuid

import sylib
import syid

SHARED_STACK = dict(workers=2)
V1 = "/api/v1"
TENANTS = {}


def tenant(stack, name="a"):
    """A tenant with staff and shopper tokens and both keys (made once per
    name)."""
    if name not in TENANTS:
        t = syid.new_tenant(stack)
        for role in ("staff", "shopper"):
            u = syid.new_user(stack, t, role)
            t[role] = syid.login_ok(stack, u)["access_token"]
        TENANTS[name] = t
    return TENANTS[name]


def product_body(**kw):
    body = {"sku": syid.unique("SKU"), "name": "Linen Shirt",
            "description": "A breezy shirt for summer days.",
            "category": "shirts", "price_cents": 4900, "currency": "EUR",
            "stock": 5, "colors": ["#ffffff"], "attributes": {"fit": "slim"}}
    body.update(kw)
    return body


def create(stack, t, **kw):
    r = stack.request("POST", V1 + "/products", body=product_body(**kw),
                      headers=syid.bearer(t["staff"]))
    assert r.status == 201, r
    return r.json()


def get(stack, path, cred):
    h = syid.key(cred) if cred.startswith(("sk_", "pk_")) else \
        syid.bearer(cred)
    return stack.request("GET", V1 + path, headers=h)


def walk(stack, t, query="", limit=20, during=None):
    """Every page of GET /products?query; during(page_no) runs after each
    page.  Returns the ids in order."""
    ids, cursor, page = [], None, 0
    while True:
        q = "limit=%d%s" % (limit, "&" + query if query else "")
        if cursor:
            q += "&cursor=" + urllib.parse.quote(cursor)
        r = get(stack, "/products?" + q, t["sk"])
        assert r.status == 200, r
        body = r.json()
        ids += [p["id"] for p in body["items"]]
        page += 1
        if during:
            during(page)
        cursor = body["next_cursor"]
        if not cursor:
            return ids
        assert page < 100, "pagination does not end"


# ------------------------------------------------------------------ CRUD


def test_create_and_get_with_etag(stack):
    t = tenant(stack)
    body = product_body(colors=["#AABBCC", "#00ff00"],
                        image_url="https://img.example/a.jpg")
    r = stack.request("POST", V1 + "/products", body=body,
                      headers=syid.bearer(t["staff"]))
    assert r.status == 201, r
    p = r.json()
    assert r.headers["Location"] == V1 + "/products/" + p["id"], r
    assert p["colors"] == ["#aabbcc", "#00ff00"], p
    for k in ("sku", "name", "description", "category", "price_cents",
              "currency", "stock", "attributes", "image_url"):
        assert p[k] == body[k], (k, p)
    assert p["active"] is True and p["created_at"].endswith("Z"), p
    assert p["created_at"] <= p["updated_at"], p

    r = get(stack, "/products/" + p["id"], t["sk"])
    assert r.status == 200 and r.json() == p, r
    etag = r.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"'), etag
    r = stack.request("GET", V1 + "/products/" + p["id"],
                      headers=syid.key(t["sk"], {"If-None-Match": etag}))
    assert r.status == 304 and r.body == b"", r
    r = stack.request("GET", V1 + "/products/" + p["id"],
                      headers=syid.key(t["pk"], {"If-None-Match": '"x"'}))
    assert r.status == 200, r

    # a change makes a new ETag; the old one no longer matches
    r = stack.request("PATCH", V1 + "/products/" + p["id"],
                      body={"price_cents": 5900, "image_url": None},
                      headers=syid.bearer(t["staff"]))
    assert r.status == 200, r
    q = r.json()
    assert q["price_cents"] == 5900 and q["image_url"] is None, q
    assert q["name"] == p["name"] and q["colors"] == p["colors"], q
    r = stack.request("GET", V1 + "/products/" + p["id"],
                      headers=syid.key(t["sk"], {"If-None-Match": etag}))
    assert r.status == 200 and r.headers["ETag"] != etag, r


def test_validation(stack):
    t = tenant(stack)
    bad = {"sku": "bad sku!", "name": "", "description": 5,
           "category": "x" * 101, "price_cents": -1, "currency": "eur",
           "stock": -3, "colors": ["red"], "attributes": [1],
           "image_url": "ftp://files.example/a.jpg"}
    r = stack.request("POST", V1 + "/products", body=bad,
                      headers=syid.bearer(t["staff"]))
    p = sylib.assert_problem(r, 422, "validation_failed")
    fields = {e["field"] for e in p["errors"]}
    assert fields == set(bad), fields
    # required fields on create; a 1.5 price is not an integer
    r = stack.request("POST", V1 + "/products", body={"price_cents": 1.5},
                      headers=syid.bearer(t["staff"]))
    p = sylib.assert_problem(r, 422, "validation_failed")
    fields = {e["field"] for e in p["errors"]}
    assert {"sku", "name", "price_cents", "currency"} <= fields, fields
    for extra in ({"colors": ["#abcdef"] * 33},
                  {"attributes": {"k": "v" * 17000}},
                  {"name": "n" * 201}, {"description": "d" * 10001}):
        r = stack.request("POST", V1 + "/products",
                          body=product_body(**extra),
                          headers=syid.bearer(t["staff"]))
        sylib.assert_problem(r, 422, "validation_failed")
    pid = create(stack, t)["id"]
    r = stack.request("PATCH", V1 + "/products/" + pid,
                      body={"currency": "EURO"},
                      headers=syid.bearer(t["staff"]))
    sylib.assert_problem(r, 422, "validation_failed")


def test_duplicate_sku(stack):
    t = tenant(stack)
    p = create(stack, t)
    r = stack.request("POST", V1 + "/products", body=product_body(sku=p["sku"]),
                      headers=syid.bearer(t["staff"]))
    sylib.assert_problem(r, 409, "conflict")
    other = create(stack, t)
    r = stack.request("PATCH", V1 + "/products/" + other["id"],
                      body={"sku": p["sku"]}, headers=syid.bearer(t["staff"]))
    sylib.assert_problem(r, 409, "conflict")
    # another tenant may use the same sku
    b = tenant(stack, "b")
    create(stack, b, sku=p["sku"])


def test_soft_delete(stack):
    t = tenant(stack)
    p = create(stack, t, category="soft-delete")
    path = "/products/" + p["id"]
    r = stack.request("DELETE", V1 + path, headers=syid.key(t["sk"]))
    assert r.status == 204, r
    for cred in (t["sk"], t["pk"], t["shopper"]):
        sylib.assert_problem(get(stack, path, cred), 404, "not_found")
    r = get(stack, path, t["staff"])
    assert r.status == 200 and r.json()["active"] is False, r
    assert p["id"] not in walk(stack, t, "category=soft-delete")
    rows = syid.psql(stack, "SELECT active, (SELECT count(*) FROM "
                     "product_embeddings WHERE product_id = p.id) "
                     "FROM products p WHERE id = '%s'" % p["id"])
    assert rows == [["f", "0"]], rows
    r = stack.request("DELETE", V1 + path, headers=syid.bearer(t["staff"]))
    assert r.status == 204, r
    # staff bring it back
    r = stack.request("PATCH", V1 + path, body={"active": True},
                      headers=syid.bearer(t["staff"]))
    assert r.status == 200 and r.json()["active"] is True, r
    assert get(stack, path, t["pk"]).status == 200
    assert walk(stack, t, "category=soft-delete") == [p["id"]]


def test_roles(stack):
    t = tenant(stack)
    p = create(stack, t)
    for h in (syid.bearer(t["shopper"]), syid.key(t["pk"])):
        r = stack.request("POST", V1 + "/products", body=product_body(),
                          headers=h)
        sylib.assert_problem(r, 403, "forbidden")
        r = stack.request("PATCH", V1 + "/products/" + p["id"],
                          body={"stock": 1}, headers=h)
        sylib.assert_problem(r, 403, "forbidden")
        r = stack.request("DELETE", V1 + "/products/" + p["id"], headers=h)
        sylib.assert_problem(r, 403, "forbidden")
    sylib.assert_problem(stack.get(V1 + "/products"), 401, "unauthorized")
    # a secret key writes (catalog:write)
    r = stack.request("POST", V1 + "/products", body=product_body(),
                      headers=syid.key(t["sk"]))
    assert r.status == 201, r


def test_currency_is_an_iso_4217_code(stack):
    # issue 10, item 7: any three capitals were taken
    t = tenant(stack)
    for code in ("XYZ", "AAA", "XAU", "XTS", "EUr"):
        r = stack.request("POST", V1 + "/products",
                          body=product_body(currency=code),
                          headers=syid.bearer(t["staff"]))
        p = sylib.assert_problem(r, 422, "validation_failed")
        assert [e["field"] for e in p["errors"]] == ["currency"], (code, p)
    for code in ("EUR", "JPY", "CHF", "USD"):
        assert create(stack, t, currency=code)["currency"] == code


def test_sysadmin_product_for_a_missing_tenant_is_404(stack):
    # issue 10, item 7: the insert for an unknown ?tenant_id= was a
    # not-null violation, 503 storage_unavailable
    root = syid.new_sysadmin(stack)
    token = syid.login_ok(stack, root)["access_token"]
    missing = str(uuid.uuid4())
    r = stack.request("POST", V1 + "/products?tenant_id=" + missing,
                      body=product_body(), headers=syid.bearer(token))
    sylib.assert_problem(r, 404, "not_found")
    rows = syid.psql(stack, "SELECT count(*) FROM products "
                     "WHERE tenant_id = :'tid'", tid=missing)
    assert rows[0][0] == "0", rows
    # and for a tenant that exists, the sysadmin creates it there
    t = tenant(stack)
    r = stack.request("POST", V1 + "/products?tenant_id=" + t["id"],
                      body=product_body(), headers=syid.bearer(token))
    assert r.status == 201, r
    rows = syid.psql(stack, "SELECT tenant_id FROM products "
                     "WHERE id = :'id'", id=r.json()["id"])
    assert rows == [[t["id"]]], rows


# ------------------------------------------------------------------ lists


def test_filters_and_categories(stack):
    t = tenant(stack, "filters")
    made = {
        "red": create(stack, t, category="dresses", price_cents=1000,
                      stock=0, colors=["#ff0000"]),
        "blue": create(stack, t, category="dresses", price_cents=5000,
                       stock=3, colors=["#0000ff", "#ffffff"]),
        "shoe": create(stack, t, category="shoes", price_cents=9000,
                       stock=1, colors=["#0000ff"]),
    }
    ids = {v["id"]: k for k, v in made.items()}

    def names(query):
        return sorted(ids[i] for i in walk(stack, t, query))

    assert names("") == ["blue", "red", "shoe"]
    assert names("category=dresses") == ["blue", "red"]
    assert names("min_price=5000") == ["blue", "shoe"]
    assert names("max_price=5000") == ["blue", "red"]
    assert names("min_price=2000&max_price=8000") == ["blue"]
    assert names("in_stock=true") == ["blue", "shoe"]
    assert names("in_stock=false") == ["red"]
    assert names("color=%230000FF") == ["blue", "shoe"]
    assert names("color=ffffff") == ["blue"]
    assert names("color=%230000ff&category=shoes") == ["shoe"]
    for q in ("min_price=-1", "max_price=abc", "in_stock=maybe",
              "color=red", "limit=0", "limit=101"):
        r = get(stack, "/products?" + q, t["sk"])
        sylib.assert_problem(r, 422, "validation_failed")
    sylib.assert_problem(get(stack, "/products?cursor=nope", t["sk"]), 400,
                         "bad_request")

    r = get(stack, "/categories", t["pk"])
    assert r.status == 200, r
    assert r.json() == [{"name": "dresses", "count": 2},
                        {"name": "shoes", "count": 1}], r
    stack.request("DELETE", V1 + "/products/" + made["shoe"]["id"],
                  headers=syid.bearer(t["staff"]))
    r = get(stack, "/categories", t["shopper"])
    assert r.json() == [{"name": "dresses", "count": 2}], r


def test_pagination_under_concurrent_inserts(stack):
    t = tenant(stack, "pages")
    original = [create(stack, t, category="walk")["id"] for _ in range(40)]
    added = []
    errors = []

    def insert_some():
        try:
            for _ in range(15):
                added.append(create(stack, t, category="walk")["id"])
        except Exception as e:  # reported below
            errors.append(e)

    threads = []

    def during(page):
        # a writer runs while the walk is under way, from page 2 on
        if page == 2:
            th = threading.Thread(target=insert_some)
            th.start()
            threads.append(th)

    seen = walk(stack, t, "category=walk", limit=6, during=during)
    for th in threads:
        th.join(60)
    assert not errors, errors
    assert len(added) == 15, added
    assert len(seen) == len(set(seen)), "a row came twice"
    for pid in original:
        assert seen.count(pid) == 1, "original row %s seen %d times" % (
            pid, seen.count(pid))
    # the originals come first, in creation order
    assert seen[:40] == original, seen[:40]
    assert set(seen) <= set(original) | set(added)


# ------------------------------------------------------------------ cache


def test_list_cache_hit_and_miss(stack):
    t = tenant(stack, "cache")
    p = create(stack, t, category="cached")
    path = "/products?category=cached&limit=5"
    r1 = get(stack, path, t["sk"])
    r2 = get(stack, path, t["sk"])
    assert r1.headers["X-Cache"] == "MISS", r1
    assert r2.headers["X-Cache"] == "HIT", r2
    assert r1.body == r2.body, (r1, r2)
    # the same query from another caller of the tenant is the same entry
    r = get(stack, "/products?limit=5&category=cached", t["shopper"])
    assert r.headers["X-Cache"] == "HIT", r
    # another query is another entry
    assert get(stack, "/products?category=cached&limit=6",
               t["sk"]).headers["X-Cache"] == "MISS"
    r = stack.request("PATCH", V1 + "/products/" + p["id"],
                      body={"name": "Renamed Shirt"},
                      headers=syid.bearer(t["staff"]))
    assert r.status == 200, r
    r3 = get(stack, path, t["sk"])
    assert r3.headers["X-Cache"] == "MISS", r3
    assert r3.json()["items"][0]["name"] == "Renamed Shirt", r3
    assert get(stack, path, t["sk"]).headers["X-Cache"] == "HIT"
    c1 = get(stack, "/categories", t["sk"])
    c2 = get(stack, "/categories", t["sk"])
    assert (c1.headers["X-Cache"], c2.headers["X-Cache"]) == ("MISS", "HIT")
    create(stack, t, category="new-category")
    c3 = get(stack, "/categories", t["sk"])
    assert c3.headers["X-Cache"] == "MISS", c3
    assert {"name": "new-category", "count": 1} in c3.json(), c3


# ------------------------------------------------------------------ isolation


def test_tenant_isolation(stack):
    a = tenant(stack, "iso-a")
    b = tenant(stack, "iso-b")
    p = create(stack, a, category="isolated")
    path = V1 + "/products/" + p["id"]
    for cred in (b["sk"], b["pk"], b["shopper"], b["staff"]):
        sylib.assert_problem(get(stack, "/products/" + p["id"], cred), 404,
                             "not_found")
    for h in (syid.key(b["sk"]), syid.bearer(b["staff"])):
        r = stack.request("PATCH", path, body={"stock": 0}, headers=h)
        sylib.assert_problem(r, 404, "not_found")
        r = stack.request("DELETE", path, headers=h)
        sylib.assert_problem(r, 404, "not_found")
    assert walk(stack, b, "category=isolated") == []
    r = get(stack, "/categories", b["sk"])
    assert all(c["name"] != "isolated" for c in r.json()), r
    r = get(stack, "/products/" + p["id"], a["sk"])
    assert r.status == 200 and r.json()["stock"] == p["stock"], r
    # not a uuid: 404 too
    sylib.assert_problem(get(stack, "/products/12", a["sk"]), 404,
                         "not_found")


def test_redis_down_lists_still_served(stack):
    t = tenant(stack, "redis")
    create(stack, t, category="no-redis")
    path = "/products?category=no-redis"
    assert get(stack, path, t["staff"]).status == 200
    stack.stop_redis()
    try:
        for cred in (t["staff"], t["shopper"]):
            for _ in range(2):
                r = get(stack, path, cred)
                assert r.status == 200, r
                assert len(r.json()["items"]) == 1, r
        r = get(stack, "/categories", t["staff"])
        assert r.status == 200 and r.json()[0]["name"] == "no-redis", r
    finally:
        stack.start_redis()


sylib.main(globals())

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Orders through nginx (API.md "Catalog, search, orders" and the
Idempotency-Key convention): placing orders with stock reserved in one
transaction (no oversell under concurrency, no partial reservation),
Idempotency-Key replay, mismatch and concurrent duplicates, transitions
with stock returned on cancel, shoppers limited to their own orders,
tenant isolation of every route, validation, and user erasure keeping
orders anonymised.

Products are written straight into the stack's database with psql, so
these tests do not depend on the product routes."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import os
import subprocess
import threading
import uuid

import sylib
import syid

SHARED_STACK = dict(workers=4)
TEST_TIMEOUT = 180

ORDERS = "/api/v1/orders"


# ------------------------------------------------------------- helpers


class Shop:
    """A tenant with an owner, a staff member and two shoppers, all
    signed in (tokens in ["token"])."""

    def __init__(self, stack):
        self.stack = stack
        self.t = syid.new_tenant(stack)
        self.id = self.t["id"]
        self.owner = self.t["owner"]
        self.staff = syid.new_user(stack, self.t, "staff")
        self.alice = syid.new_user(stack, self.t, "shopper")
        self.bob = syid.new_user(stack, self.t, "shopper")
        for u in (self.owner, self.staff, self.alice, self.bob):
            u["token"] = syid.login_ok(stack, u)["access_token"]

    def product(self, stock=10, price=1500, currency="EUR", active=True):
        """A product of this shop; its id."""
        sku = syid.unique("sku")
        rows = syid.psql(self.stack, """
            INSERT INTO products (tenant_id, sku, name, price_cents,
                                  currency, stock, active)
            VALUES (:'tid', :'sku', 'Linen shirt ' || :'sku', :'price',
                    :'cur', :'stock', :'active')
            RETURNING id""", tid=self.id, sku=sku, price=price,
                             cur=currency, stock=stock,
                             active="true" if active else "false")
        return rows[0][0]

    def stock(self, pid):
        return int(syid.psql(self.stack,
                             "SELECT stock FROM products WHERE id = :'id'",
                             id=pid)[0][0])


_shops = {}


def shop(stack, name="A"):
    """Shops A and B, shared by the tests of one stack."""
    k = (stack.statedir, name)
    if k not in _shops:
        _shops[k] = Shop(stack)
    return _shops[k]


def call(stack, method, path, user, body=None, headers=None):
    return stack.request(method, path, body=body,
                         headers=syid.bearer(user["token"], headers),
                         timeout=30)


def order(stack, user, lines, key=None, note=None):
    body = {"items": [{"product_id": p, "quantity": q} for p, q in lines]}
    if note is not None:
        body["note"] = note
    return call(stack, "POST", ORDERS, user, body,
                {"Idempotency-Key": key} if key else None)


def order_ok(stack, user, lines, **kw):
    r = order(stack, user, lines, **kw)
    assert r.status == 201, r
    return r.json()


def transition(stack, user, oid, to):
    return call(stack, "POST", "%s/%s/transition" % (ORDERS, oid), user,
                {"to": to})


def db_orders(stack, where, **v):
    return syid.psql(stack, "SELECT id, user_id, status FROM orders "
                     "WHERE " + where, **v)


def fields(r):
    return {e["field"] for e in r.json().get("errors", [])}


def parallel(n, fn):
    """Run fn(i) for i < n in n threads released together; the results."""
    results = [None] * n
    gate = threading.Barrier(n)

    def run(i):
        gate.wait(timeout=30)
        try:
            results[i] = fn(i)
        except Exception as e:  # reported by the caller's asserts
            results[i] = e
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


# ------------------------------------------------------------- placing


def test_place_order_reserves_stock(stack):
    s = shop(stack)
    shirt, scarf = s.product(stock=10, price=1500), s.product(stock=3,
                                                              price=250)
    r = order(stack, s.alice, [(shirt, 2), (scarf, 3)], note="gift wrap")
    assert r.status == 201, r
    o = r.json()
    assert r.headers["Location"] == "%s/%s" % (ORDERS, o["id"]), r
    assert "Idempotent-Replayed" not in r.headers, r
    assert o["status"] == "pending" and o["currency"] == "EUR", o
    assert o["total_cents"] == 2 * 1500 + 3 * 250, o
    assert o["note"] == "gift wrap" and o["user_id"] == s.alice["id"], o
    assert o["created_at"].endswith("Z"), o
    assert [(i["product_id"], i["quantity"], i["unit_price_cents"])
            for i in o["items"]] == [(shirt, 2, 1500), (scarf, 3, 250)], o
    assert all(i["sku"] and i["name"].startswith("Linen shirt")
               for i in o["items"]), o
    assert (s.stock(shirt), s.stock(scarf)) == (8, 0)
    # the same representation from GET, with an ETag honoured
    g = call(stack, "GET", r.headers["Location"], s.alice)
    assert g.status == 200 and g.json() == o, g
    etag = g.headers["ETag"]
    g2 = call(stack, "GET", r.headers["Location"], s.alice,
              headers={"If-None-Match": etag})
    assert g2.status == 304 and g2.body == b"", g2


def test_out_of_stock_is_409_and_nothing_reserved(stack):
    s = shop(stack)
    plenty, scarce = s.product(stock=10), s.product(stock=1)
    r = order(stack, s.alice, [(plenty, 4), (scarce, 2)], note="partial?")
    p = sylib.assert_problem(r, 409, "insufficient_stock")
    assert scarce in p["detail"] and plenty not in p["detail"], p
    assert fields(r) == {"items[1].quantity"}, p
    assert (s.stock(plenty), s.stock(scarce)) == (10, 1)
    assert db_orders(stack, "tenant_id = :'t' AND note = 'partial?'",
                     t=s.id) == []


def test_twenty_orders_race_for_five(stack):
    s = shop(stack)
    pid = s.product(stock=5)
    results = parallel(20, lambda i: order(stack, s.alice, [(pid, 1)]))
    codes = sorted(r.status if isinstance(r, sylib.Response) else repr(r)
                   for r in results)
    assert codes == [201] * 5 + [409] * 15, codes
    for r in results:
        if r.status == 409:
            sylib.assert_problem(r, 409, "insufficient_stock")
    assert s.stock(pid) == 0
    n = syid.psql(stack, "SELECT count(*), sum(quantity) FROM order_items "
                  "WHERE product_id = :'p'", p=pid)
    assert n == [["5", "5"]], n


# ------------------------------------------------------------- Idempotency-Key


def test_expired_records_are_deleted(stack):
    """The first recorded key of each responder deletes records expired
    over an hour ago (so this test must be the file's first to send an
    Idempotency-Key); recently expired ones stay for renewal."""
    s = shop(stack)
    pid = s.product(stock=10)
    for key, age in (("stale", "2 hours"), ("recent", "1 minute")):
        syid.psql(stack, "INSERT INTO idempotency_keys (tenant_id, scope, "
                  "route, key, request_hash, expires_at) VALUES (:'t', "
                  "'u:x', 'POST /api/v1/orders', :'k', sha256('x'), "
                  "now() - :'age'::interval)", t=s.id, k=key, age=age)
    order_ok(stack, s.alice, [(pid, 1)], key="sweep-" + uuid.uuid4().hex)
    rows = syid.psql(stack, "SELECT key FROM idempotency_keys "
                     "WHERE tenant_id = :'t' AND scope = 'u:x'", t=s.id)
    assert rows == [["recent"]], rows


def test_idempotent_replay(stack):
    s = shop(stack)
    pid = s.product(stock=10)
    key = "replay-" + uuid.uuid4().hex
    first = order(stack, s.alice, [(pid, 2)], key=key, note="once")
    assert first.status == 201, first
    assert "Idempotent-Replayed" not in first.headers, first
    again = order(stack, s.alice, [(pid, 2)], key=key, note="once")
    assert again.status == 201, again
    assert again.headers.get("Idempotent-Replayed") == "true", again
    assert again.body == first.body, (again, first)
    assert again.headers["Location"] == first.headers["Location"], again
    assert again.content_type == "application/json", again
    rows = db_orders(stack, "tenant_id = :'t' AND note = 'once'", t=s.id)
    assert [r[0] for r in rows] == [first.json()["id"]], rows
    assert s.stock(pid) == 8
    # the key belongs to its user: Bob's request with it is his own
    bob = order(stack, s.bob, [(pid, 2)], key=key, note="once")
    assert bob.status == 201 and "Idempotent-Replayed" not in bob.headers, bob
    assert bob.json()["id"] != first.json()["id"], bob
    assert s.stock(pid) == 6


def test_idempotency_mismatch(stack):
    s = shop(stack)
    pid = s.product(stock=10)
    key = "mismatch-" + uuid.uuid4().hex
    assert order(stack, s.alice, [(pid, 1)], key=key).status == 201
    r = order(stack, s.alice, [(pid, 3)], key=key)
    sylib.assert_problem(r, 422, "idempotency_mismatch")
    assert s.stock(pid) == 9
    for bad in ("x" * 256, "tab\there", "caf\u00e9"):
        r = call(stack, "POST", ORDERS, s.alice,
                 {"items": [{"product_id": pid, "quantity": 1}]},
                 {"Idempotency-Key": bad.encode("utf-8").decode("latin-1")})
        sylib.assert_problem(r, 400, "bad_request")
    assert s.stock(pid) == 9
    r = order(stack, s.alice, [(pid, 1)], key="k" * 255)
    assert r.status == 201, r


def test_concurrent_requests_with_one_key_make_one_order(stack):
    s = shop(stack)
    pid = s.product(stock=100)
    for round_ in range(3):
        key = "twin-%d-%s" % (round_, uuid.uuid4().hex)
        note = "twin-" + key
        rs = parallel(2, lambda i: order(stack, s.alice, [(pid, 1)],
                                         key=key, note=note))
        assert all(isinstance(r, sylib.Response) and r.status == 201
                   for r in rs), rs
        assert rs[0].json()["id"] == rs[1].json()["id"], rs
        assert rs[0].body == rs[1].body, rs
        replayed = [r.headers.get("Idempotent-Replayed") for r in rs]
        assert sorted(replayed, key=str) == sorted([None, "true"],
                                                   key=str), replayed
        rows = db_orders(stack, "tenant_id = :'t' AND note = :'n'", t=s.id,
                         n=note)
        assert len(rows) == 1, rows
    assert s.stock(pid) == 97


def test_key_waits_for_the_first_request(stack):
    """A request whose key another transaction is still inserting waits
    for it; when that one rolls back, the waiting request runs."""
    s = shop(stack)
    pid = s.product(stock=10)
    key = "held-" + uuid.uuid4().hex
    held = subprocess.Popen(
        [os.path.join(syid.PGBIN, "psql"), "-X", "-q", "-A", "-t",
         "-v", "ON_ERROR_STOP=1", "-d", stack.env["SY_DATABASE_URL"]],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        held.stdin.write(
            "BEGIN; INSERT INTO idempotency_keys (tenant_id, scope, route, "
            "key, request_hash) VALUES ('%s', 'u:%s', 'POST /api/v1/orders', "
            "'%s', sha256('x')); SELECT 'ready';\n"
            % (s.id, s.alice["id"], key))
        held.stdin.flush()
        assert held.stdout.readline().strip() == "ready"
        out = []
        t = threading.Thread(target=lambda: out.append(
            order(stack, s.alice, [(pid, 1)], key=key)))
        t.start()
        t.join(timeout=1.0)
        assert t.is_alive() and not out, out  # waiting on the insert
        held.stdin.write("ROLLBACK;\n")
        held.stdin.flush()
        t.join(timeout=20)
        assert out and out[0].status == 201, out
        assert "Idempotent-Replayed" not in out[0].headers, out
    finally:
        held.stdin.close()
        held.wait(timeout=20)
    assert s.stock(pid) == 9


def test_failed_request_is_not_recorded(stack):
    """A 409 for stock leaves no record: the same key works once the
    stock is back."""
    s = shop(stack)
    pid = s.product(stock=1)
    key = "retry-" + uuid.uuid4().hex
    r = order(stack, s.alice, [(pid, 2)], key=key)
    sylib.assert_problem(r, 409, "insufficient_stock")
    syid.psql(stack, "UPDATE products SET stock = 5 WHERE id = :'p'", p=pid)
    r = order(stack, s.alice, [(pid, 2)], key=key)
    assert r.status == 201 and "Idempotent-Replayed" not in r.headers, r
    assert s.stock(pid) == 3


def test_expired_key_starts_afresh(stack):
    """After its 24 hours a key's record is replaced: the same key with
    another body is a new order, not a mismatch."""
    s = shop(stack)
    pid = s.product(stock=10)
    key = "old-" + uuid.uuid4().hex
    first = order_ok(stack, s.alice, [(pid, 1)], key=key)
    syid.psql(stack, "UPDATE idempotency_keys SET expires_at = now() - "
              "interval '1 minute' WHERE tenant_id = :'t' AND key = :'k'",
              t=s.id, k=key)
    r = order(stack, s.alice, [(pid, 2)], key=key)
    assert r.status == 201 and "Idempotent-Replayed" not in r.headers, r
    assert r.json()["id"] != first["id"], r
    again = order(stack, s.alice, [(pid, 2)], key=key)
    assert again.headers.get("Idempotent-Replayed") == "true", again
    assert again.body == r.body, again
    assert s.stock(pid) == 7
    rows = syid.psql(stack, "SELECT count(*), bool_and(expires_at > now()) "
                     "FROM idempotency_keys WHERE key = :'k'", k=key)
    assert rows == [["1", "t"]], rows


# ------------------------------------------------------------- transitions


def test_transitions(stack):
    s = shop(stack)
    pid = s.product(stock=10)
    o = order_ok(stack, s.alice, [(pid, 2)])
    r = transition(stack, s.staff, o["id"], "paid")
    assert r.status == 200 and r.json()["status"] == "paid", r
    r = transition(stack, s.staff, o["id"], "paid")
    p = sylib.assert_problem(r, 409, "conflict")
    assert "paid" in p["detail"], p
    r = transition(stack, s.owner, o["id"], "fulfilled")
    assert r.status == 200 and r.json()["status"] == "fulfilled", r
    for to in ("canceled", "paid"):
        p = sylib.assert_problem(transition(stack, s.staff, o["id"], to),
                                 409, "conflict")
        assert "fulfilled" in p["detail"], p
    assert s.stock(pid) == 8  # fulfilled keeps its stock
    r = transition(stack, s.staff, o["id"], "pending")
    sylib.assert_problem(r, 422, "validation_failed")
    assert fields(r) == {"to"}, r.json()
    r = call(stack, "POST", "%s/%s/transition" % (ORDERS, o["id"]), s.staff,
             {})
    assert fields(r) == {"to"}, r.json()


def test_cancel_returns_stock(stack):
    s = shop(stack)
    a, b = s.product(stock=10), s.product(stock=10)
    paid = order_ok(stack, s.alice, [(a, 3), (b, 1)])
    assert transition(stack, s.staff, paid["id"], "paid").status == 200
    r = transition(stack, s.staff, paid["id"], "canceled")
    assert r.status == 200 and r.json()["status"] == "canceled", r
    assert (s.stock(a), s.stock(b)) == (10, 10)
    p = sylib.assert_problem(transition(stack, s.staff, paid["id"],
                                        "canceled"), 409, "conflict")
    assert "canceled" in p["detail"], p
    assert (s.stock(a), s.stock(b)) == (10, 10)  # not returned twice
    # a shopper cancels their own pending order
    mine = order_ok(stack, s.alice, [(a, 4)])
    assert s.stock(a) == 6
    r = transition(stack, s.alice, mine["id"], "canceled")
    assert r.status == 200 and r.json()["status"] == "canceled", r
    assert s.stock(a) == 10


def test_shopper_may_only_cancel_own_pending(stack):
    s = shop(stack)
    pid = s.product(stock=10)
    o = order_ok(stack, s.alice, [(pid, 1)])
    sylib.assert_problem(transition(stack, s.alice, o["id"], "paid"), 403,
                         "forbidden")
    sylib.assert_problem(transition(stack, s.bob, o["id"], "canceled"), 404,
                         "not_found")
    assert transition(stack, s.staff, o["id"], "paid").status == 200
    sylib.assert_problem(transition(stack, s.alice, o["id"], "canceled"),
                         403, "forbidden")
    r = call(stack, "GET", "%s/%s" % (ORDERS, o["id"]), s.alice)
    assert r.json()["status"] == "paid", r
    assert s.stock(pid) == 9


# ------------------------------------------------------------- reading


def list_all(stack, user, query=""):
    items, cursor = [], None
    for _ in range(200):
        q = "?limit=2" + query + ("&cursor=" + cursor if cursor else "")
        r = call(stack, "GET", ORDERS + q, user)
        assert r.status == 200, r
        body = r.json()
        assert len(body["items"]) <= 2, body
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("too many pages")


def test_shoppers_see_only_their_orders(stack):
    s = shop(stack)
    pid = s.product(stock=100)
    mine = [order_ok(stack, s.alice, [(pid, 1)])["id"] for _ in range(3)]
    theirs = order_ok(stack, s.bob, [(pid, 1)])["id"]
    ids = [o["id"] for o in list_all(stack, s.alice)]
    assert set(mine) <= set(ids) and theirs not in ids, ids
    assert len(ids) == len(set(ids)), ids
    assert all(o["user_id"] == s.alice["id"]
               for o in list_all(stack, s.alice)), ids
    r = call(stack, "GET", "%s/%s" % (ORDERS, theirs), s.alice)
    sylib.assert_problem(r, 404, "not_found")
    staff_ids = [o["id"] for o in list_all(stack, s.staff)]
    assert set(mine + [theirs]) <= set(staff_ids), staff_ids
    assert call(stack, "GET", "%s/%s" % (ORDERS, theirs),
                s.staff).status == 200
    # ?status= filters
    assert transition(stack, s.staff, mine[0], "paid").status == 200
    paid = list_all(stack, s.alice, "&status=paid")
    assert all(o["status"] == "paid" for o in paid), paid
    ids = [o["id"] for o in paid]
    assert mine[0] in ids and mine[1] not in ids, ids
    pending = list_all(stack, s.alice, "&status=pending")
    assert all(o["status"] == "pending" for o in pending), pending
    ids = [o["id"] for o in pending]
    assert mine[0] not in ids and mine[1] in ids, ids


def test_tenant_isolation(stack):
    a, b = shop(stack, "A"), shop(stack, "B")
    pid = a.product(stock=10)
    o = order_ok(stack, a.alice, [(pid, 1)])
    path = "%s/%s" % (ORDERS, o["id"])
    for u in (b.alice, b.staff, b.owner):
        sylib.assert_problem(call(stack, "GET", path, u), 404, "not_found")
        for to in ("paid", "canceled"):
            sylib.assert_problem(transition(stack, u, o["id"], to), 404,
                                 "not_found")
        ids = [x["id"] for x in list_all(stack, u)]
        assert o["id"] not in ids, ids
        # A's product does not exist for B
        r = order(stack, u, [(pid, 1)])
        sylib.assert_problem(r, 422, "validation_failed")
        assert fields(r) == {"items[0].product_id"}, r.json()
    assert a.stock(pid) == 9
    assert call(stack, "GET", path, a.alice).json()["status"] == "pending"
    # keys are refused by the route table, whoever's they are
    for k in (a.t["sk"], a.t["pk"], b.t["sk"]):
        for method, p, body in (("GET", ORDERS, None), ("GET", path, None),
                                ("POST", ORDERS, {"items": []}),
                                ("POST", path + "/transition",
                                 {"to": "canceled"})):
            r = stack.request(method, p, body=body, headers=syid.key(k))
            sylib.assert_problem(r, 403, "forbidden")
    # a sysadmin acts on the tenant it names
    root = syid.new_sysadmin(stack)
    root["token"] = syid.login_ok(stack, root)["access_token"]
    r = call(stack, "GET", "%s?tenant_id=%s" % (path, b.id), root)
    sylib.assert_problem(r, 404, "not_found")
    r = call(stack, "GET", "%s?tenant_id=%s" % (path, a.id), root)
    assert r.status == 200 and r.json()["id"] == o["id"], r
    r = call(stack, "GET", ORDERS + "?tenant_id=" + b.id, root)
    assert o["id"] not in [x["id"] for x in r.json()["items"]], r
    r = order(stack, root, [(pid, 1)])
    sylib.assert_problem(r, 403, "forbidden")
    assert a.stock(pid) == 9


# ------------------------------------------------------------- bad requests


def test_validation(stack):
    s = shop(stack)
    eur, usd = s.product(stock=10), s.product(stock=10, currency="USD")
    gone = s.product(stock=10, active=False)
    cases = [
        ({}, {"items"}),
        ({"items": []}, {"items"}),
        ({"items": {"product_id": eur}}, {"items"}),
        ({"items": [{"product_id": eur, "quantity": 1}] * 101}, {"items"}),
        ({"items": [5]}, {"items[0]"}),
        ({"items": [{"product_id": "nope", "quantity": 1}]},
         {"items[0].product_id"}),
        ({"items": [{"product_id": eur}]}, {"items[0].quantity"}),
        ({"items": [{"product_id": eur, "quantity": 0}]},
         {"items[0].quantity"}),
        ({"items": [{"product_id": eur, "quantity": 1001}]},
         {"items[0].quantity"}),
        ({"items": [{"product_id": eur, "quantity": "1"}]},
         {"items[0].quantity"}),
        ({"items": [{"product_id": eur, "quantity": 1.5}]},
         {"items[0].quantity"}),
        ({"items": [{"product_id": eur, "quantity": 1},
                    {"product_id": eur.upper(), "quantity": 2}]},
         {"items[1].product_id"}),
        ({"items": [{"product_id": str(uuid.uuid4()), "quantity": 1}]},
         {"items[0].product_id"}),
        ({"items": [{"product_id": gone, "quantity": 1}]},
         {"items[0].product_id"}),
        ({"items": [{"product_id": eur, "quantity": 1},
                    {"product_id": usd, "quantity": 1}]},
         {"items[1].product_id"}),
        ({"items": [{"product_id": eur, "quantity": 1}], "note": "x" * 1001},
         {"note"}),
        ({"items": [{"product_id": eur, "quantity": 1}], "note": 7},
         {"note"}),
    ]
    for body, want in cases:
        r = call(stack, "POST", ORDERS, s.alice, body)
        sylib.assert_problem(r, 422, "validation_failed")
        assert fields(r) == want, (body, r.json())
    assert (s.stock(eur), s.stock(usd), s.stock(gone)) == (10, 10, 10)
    # a 1000-character note of multibyte characters is fine
    r = order(stack, s.alice, [(eur, 1)], note="\u00e9" * 1000)
    assert r.status == 201 and r.json()["note"] == "\u00e9" * 1000, r
    # bodies that are not JSON objects
    h = syid.bearer(s.alice["token"])
    r = stack.request("POST", ORDERS, body=b'{"items": [',
                      headers=dict(h, **{"Content-Type": "application/json"}))
    sylib.assert_problem(r, 400, "invalid_json")
    r = stack.request("POST", ORDERS, body=b"items=1",
                      headers=dict(h, **{"Content-Type": "text/plain"}))
    sylib.assert_problem(r, 415, "unsupported_media_type")
    r = stack.request("POST", ORDERS, body=b"[]",
                      headers=dict(h, **{"Content-Type": "application/json"}))
    sylib.assert_problem(r, 422, "validation_failed")
    # lists and ids
    r = call(stack, "GET", ORDERS + "?status=lost", s.alice)
    sylib.assert_problem(r, 422, "validation_failed")
    r = call(stack, "GET", ORDERS + "?cursor=forged", s.alice)
    sylib.assert_problem(r, 400, "bad_request")
    for bad in ("not-a-uuid", str(uuid.uuid4())):
        sylib.assert_problem(call(stack, "GET", "%s/%s" % (ORDERS, bad),
                                  s.staff), 404, "not_found")
        sylib.assert_problem(transition(stack, s.staff, bad, "paid"), 404,
                             "not_found")
    r = stack.request("POST", ORDERS, body={"items": []})
    sylib.assert_problem(r, 401, "unauthorized")


# ------------------------------------------------------------- erasure


def test_erasure_keeps_orders_anonymised(stack):
    s = shop(stack)
    pid = s.product(stock=10)
    carol = syid.new_user(stack, s.t, "shopper")
    carol["token"] = syid.login_ok(stack, carol)["access_token"]
    o = order_ok(stack, carol, [(pid, 2)])
    r = call(stack, "DELETE", "/api/v1/users/me", carol)
    assert r.status == 204, r
    rows = db_orders(stack, "id = :'id'", id=o["id"])
    assert rows == [[o["id"], "", "pending"]], rows
    r = call(stack, "GET", "%s/%s" % (ORDERS, o["id"]), s.staff)
    assert r.status == 200 and r.json()["user_id"] is None, r
    assert r.json()["items"] == o["items"], r
    # staff can still cancel it, returning the stock
    assert transition(stack, s.staff, o["id"], "canceled").status == 200
    assert s.stock(pid) == 10


sylib.main(globals())

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Plans, tenants and API keys through nginx (API.md "Tenants, plans,
keys"): the plan list, the sysadmin's tenant routes with their
validation, pagination and filters, a tenant's own GET/PATCH /tenant,
and key creation, listing, rotation with a grace period and revocation,
including that plan, origin, activation and key changes reach every
responder at once."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import hashlib
import re
import threading
import time
import uuid

import sylib
import syid

SHARED_STACK = dict(workers=2)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                  r"[0-9a-f]{12}$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
PUBLISHABLE = {"catalog:read", "uploads:write", "analysis:write",
               "tryon:write", "events:write", "auth:register", "auth:login"}
# enough requests in a row that each of the two responders serves some
SPREAD = 8

_root = {}


def root(stack):
    """A sysadmin's access token (one per stack)."""
    if stack.statedir not in _root:
        u = syid.new_sysadmin(stack)
        _root[stack.statedir] = syid.login_ok(stack, u)["access_token"]
    return syid.bearer(_root[stack.statedir])


def api(stack, method, path, body=None, headers=None):
    return stack.request(method, "/api/v1" + path, body=body,
                         headers=headers)


def fields(r):
    """{field: message} of a 422 problem."""
    p = sylib.assert_problem(r, 422, "validation_failed")
    return {e["field"]: e["message"] for e in p["errors"]}


def new_tenant_api(stack, plan="free", origins=()):
    slug = syid.unique("api")
    r = api(stack, "POST", "/tenants", {"name": "Shop " + slug, "slug": slug,
                                        "plan": plan,
                                        "allowed_origins": list(origins)},
            root(stack))
    assert r.status == 201, r
    return r.json()


def owner_of(stack, plan="free", origins=()):
    """(tenant, owner's bearer headers) for a fresh tenant."""
    t = syid.new_tenant(stack, plan=plan, origins=origins)
    tok = syid.login_ok(stack, t["owner"])["access_token"]
    return t, syid.bearer(tok)


def with_key(key):
    return {"X-API-Key": key}


def statuses(stack, method, path, headers, body=None, n=SPREAD):
    return [api(stack, method, path, body, headers).status for _ in range(n)]


# ------------------------------------------------------------ plans


def test_plans_are_public_and_ordered_by_read_limit(stack):
    r = api(stack, "GET", "/plans")
    assert r.status == 200, r
    body = r.json()
    assert body["next_cursor"] is None, body
    plans = {p["id"]: p for p in body["items"]}
    assert [p["id"] for p in body["items"]][:4] == [
        "free", "basic", "pro", "enterprise"], body
    assert plans["free"] == {"id": "free", "name": "Free",
                             "limits": {"read": 600, "write": 120, "ai": 5,
                                        "ai_tenant": 20}}
    assert plans["enterprise"]["limits"] == {"read": 60000, "write": 12000,
                                             "ai": 200, "ai_tenant": 3000}, \
        plans
    reads = [p["limits"]["read"] for p in body["items"]]
    assert reads == sorted(reads), reads


# ------------------------------------------------------------ tenants


def test_sysadmin_creates_and_reads_a_tenant(stack):
    slug = syid.unique("new")
    r = api(stack, "POST", "/tenants",
            {"name": " New Shop ", "slug": slug, "plan": "basic",
             "website": "https://new.example", "allowed_origins":
             ["https://New.Example:443", "http://localhost:5173",
              "https://new.example"]}, root(stack))
    assert r.status == 201, r
    t = r.json()
    assert UUID.match(t["id"]), t
    assert r.headers.get("Location") == "/api/v1/tenants/" + t["id"], r
    assert t["name"] == "New Shop" and t["slug"] == slug, t
    assert t["plan"] == "basic" and t["active"] is True, t
    assert t["website"] == "https://new.example", t
    assert t["allowed_origins"] == ["https://new.example",
                                    "http://localhost:5173"], t
    assert TIME.match(t["created_at"]) and TIME.match(t["updated_at"]), t

    g = api(stack, "GET", "/tenants/" + t["id"], headers=root(stack))
    assert g.status == 200, g
    assert g.json() == t, (g.json(), t)
    etag = g.headers.get("ETag")
    assert etag and etag.startswith('"'), g
    h = dict(root(stack), **{"If-None-Match": etag})
    assert api(stack, "GET", "/tenants/" + t["id"], headers=h).status == 304


def test_create_tenant_validation(stack):
    slug = syid.unique("val")
    good = {"name": "V", "slug": slug, "plan": "free", "allowed_origins": []}

    def post(**changes):
        body = dict(good)
        body.update(changes)
        body = {k: v for k, v in body.items() if v is not Ellipsis}
        return api(stack, "POST", "/tenants", body, root(stack))

    f = fields(post(slug="Bad_Slug"))
    assert set(f) == {"slug"}, f
    assert "slug" in fields(post(slug="-x"))
    assert "slug" in fields(post(slug="a" * 64))
    f = fields(post(plan="platinum"))
    assert set(f) == {"plan"}, f
    f = fields(post(allowed_origins=["https://ok.example",
                                     "http://localhost:3000",
                                     "https://bad.example/path",
                                     "ftp://x", 7]))
    assert set(f) == {"allowed_origins[2]", "allowed_origins[3]",
                      "allowed_origins[4]"}, f
    assert "allowed_origins" in fields(post(allowed_origins="https://a.b"))
    assert "name" in fields(post(name=Ellipsis))
    assert "name" in fields(post(name="   "))
    assert "name" in fields(post(name=42))
    assert "website" in fields(post(website="javascript:alert(1)"))
    # every bad field at once
    f = fields(post(slug="BAD", plan="Nope", name=""))
    assert {"slug", "plan", "name"} <= set(f), f
    r = api(stack, "POST", "/tenants", "{not json",
            dict(root(stack), **{"Content-Type": "application/json"}))
    sylib.assert_problem(r, 400, "invalid_json")
    assert syid.psql(stack, "SELECT count(*) FROM tenants WHERE slug = "
                     ":'s'", s=slug) == [["0"]]
    # a taken slug is a conflict
    assert post().status == 201
    sylib.assert_problem(post(name="Other"), 409, "conflict")


def test_get_unknown_tenant_is_404(stack):
    for tid in (str(uuid.uuid4()), "not-a-uuid", "1", "%27"):
        r = api(stack, "GET", "/tenants/" + tid, headers=root(stack))
        sylib.assert_problem(r, 404, "not_found")
        r = api(stack, "PATCH", "/tenants/" + tid, {"name": "x"},
                root(stack))
        sylib.assert_problem(r, 404, "not_found")


def test_tenant_list_walks_every_tenant_once(stack):
    for _ in range(5):
        new_tenant_api(stack)
    seen, cursor, pages = [], None, 0
    while True:
        q = "/tenants?limit=2" + ("&cursor=" + cursor if cursor else "")
        r = api(stack, "GET", q, headers=root(stack))
        assert r.status == 200, r
        body = r.json()
        assert len(body["items"]) <= 2, body
        seen += [t["id"] for t in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert len(body["items"]) == 2, body
        assert pages < 100, "pagination does not end"
    want = [row[0] for row in syid.psql(
        stack, "SELECT id FROM tenants ORDER BY created_at, id")]
    assert seen == want, (seen, want)
    # the default page is 20
    r = api(stack, "GET", "/tenants", headers=root(stack))
    assert len(r.json()["items"]) == min(20, len(want)), r


def test_tenant_list_refuses_bad_limits_and_cursors(stack):
    for q in ("limit=0", "limit=101", "limit=x", "limit=-5", "active=maybe"):
        r = api(stack, "GET", "/tenants?" + q, headers=root(stack))
        assert r.status == 422, (q, r)
    for c in ("abc", "AAAAAAAA", "%00", "MjAyNC0wMS0wMVQwMDowMDowMC4wWnx4"):
        r = api(stack, "GET", "/tenants?cursor=" + c, headers=root(stack))
        sylib.assert_problem(r, 400, "bad_request")


def test_tenant_list_filters_by_active(stack):
    on, off = new_tenant_api(stack), new_tenant_api(stack)
    r = api(stack, "PATCH", "/tenants/" + off["id"], {"active": False},
            root(stack))
    assert r.status == 200 and r.json()["active"] is False, r

    def ids(q):
        out, cursor = [], None
        while True:
            path = "/tenants?limit=100&" + q + (
                "&cursor=" + cursor if cursor else "")
            body = api(stack, "GET", path, headers=root(stack)).json()
            out += [(t["id"], t["active"]) for t in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                return out
    inactive = ids("active=false")
    active = ids("active=true")
    assert (off["id"], False) in inactive and on["id"] not in dict(inactive)
    assert (on["id"], True) in active and off["id"] not in dict(active)
    assert all(not a for _, a in inactive) and all(a for _, a in active)


def test_plan_change_reaches_key_limits_at_once(stack):
    t = syid.new_tenant(stack, plan="free")
    h = with_key(t["sk"])
    for _ in range(SPREAD):  # every responder has the key cached now
        r = api(stack, "GET", "/tenant", headers=h)
        assert r.status == 200, r
        assert r.headers.get("RateLimit-Limit") == "600", r
    r = api(stack, "PATCH", "/tenants/" + t["id"], {"plan": "pro"},
            root(stack))
    assert r.status == 200 and r.json()["plan"] == "pro", r
    for _ in range(SPREAD):
        r = api(stack, "GET", "/tenant", headers=h)
        assert r.headers.get("RateLimit-Limit") == "12000", r
        assert r.json()["plan"] == "pro", r
    f = fields(api(stack, "PATCH", "/tenants/" + t["id"],
                   {"plan": "platinum"}, root(stack)))
    assert set(f) == {"plan"}, f


def test_origin_change_reaches_publishable_keys_at_once(stack):
    t = syid.new_tenant(stack, origins=["https://old.example"])
    # register with an empty body: past authorisation it is a 422
    def register(origin):
        return api(stack, "POST", "/auth/register", {},
                   {"X-API-Key": t["pk"], "Origin": origin}).status
    assert {register("https://old.example") for _ in range(SPREAD)} == {422}
    assert {register("https://new.example") for _ in range(SPREAD)} == {403}
    r = api(stack, "PATCH", "/tenants/" + t["id"],
            {"allowed_origins": ["https://new.example"]}, root(stack))
    assert r.status == 200, r
    assert r.json()["allowed_origins"] == ["https://new.example"], r
    assert {register("https://new.example") for _ in range(SPREAD)} == {422}
    assert {register("https://old.example") for _ in range(SPREAD)} == {403}


def test_deactivation_stops_keys_tokens_and_logins(stack):
    t, owner = owner_of(stack)
    assert set(statuses(stack, "GET", "/tenant", with_key(t["sk"]))) == {200}
    assert set(statuses(stack, "GET", "/tenant", owner)) == {200}
    r = api(stack, "PATCH", "/tenants/" + t["id"], {"active": False},
            root(stack))
    assert r.status == 200 and r.json()["active"] is False, r
    assert set(statuses(stack, "GET", "/tenant", with_key(t["sk"]))) == {401}
    assert set(statuses(stack, "GET", "/tenant", owner)) == {401}
    assert syid.login(stack, t["owner"]).status == 401
    # and back
    r = api(stack, "PATCH", "/tenants/" + t["id"], {"active": True},
            root(stack))
    assert r.status == 200 and r.json()["active"] is True, r
    assert set(statuses(stack, "GET", "/tenant", with_key(t["sk"]))) == {200}
    syid.login_ok(stack, t["owner"])


def test_caller_reads_own_tenant(stack):
    t, owner = owner_of(stack)
    staff = syid.new_user(stack, t, "staff")
    staff_h = syid.bearer(syid.login_ok(stack, staff)["access_token"])
    for h in (owner, staff_h, with_key(t["sk"])):
        r = api(stack, "GET", "/tenant", headers=h)
        assert r.status == 200, r
        assert r.json()["id"] == t["id"] and r.json()["slug"] == t["slug"]
        etag = r.headers.get("ETag")
        r2 = api(stack, "GET", "/tenant",
                 headers=dict(h, **{"If-None-Match": etag}))
        assert r2.status == 304, r2
    # a sysadmin names the tenant
    r = api(stack, "GET", "/tenant?tenant_id=" + t["id"],
            headers=root(stack))
    assert r.status == 200 and r.json()["id"] == t["id"], r
    sylib.assert_problem(api(stack, "GET", "/tenant", headers=root(stack)),
                         422, "validation_failed")
    r = api(stack, "GET", "/tenant?tenant_id=" + str(uuid.uuid4()),
            headers=root(stack))
    sylib.assert_problem(r, 404, "not_found")


def test_key_reads_of_the_tenant_are_cached_briefly(stack):
    """GET /tenant by key is served from each responder's cache for up to
    a second: a change made behind the API's back (so nothing tells the
    cache) shows up late, but within that second."""
    t = syid.new_tenant(stack)
    h = with_key(t["sk"])
    assert set(statuses(stack, "GET", "/tenant", h)) == {200}
    syid.psql(stack, "UPDATE tenants SET name = 'Behind' WHERE id = :'id'",
              id=t["id"])
    names = [api(stack, "GET", "/tenant", headers=h).json()["name"]
             for _ in range(4)]
    assert names.count(t["name"]) >= 1, ("not cached", names)
    time.sleep(1.1)
    names = {api(stack, "GET", "/tenant", headers=h).json()["name"]
             for _ in range(SPREAD)}
    assert names == {"Behind"}, names
    # the API's own changes: plan and origins at once (they come with the
    # key), the rest within the second as well
    r = api(stack, "PATCH", "/tenants/" + t["id"],
            {"name": "Renamed", "plan": "basic"}, root(stack))
    assert r.status == 200, r
    plans = {api(stack, "GET", "/tenant", headers=h).json()["plan"]
             for _ in range(SPREAD)}
    assert plans == {"basic"}, plans
    time.sleep(1.1)
    names = {api(stack, "GET", "/tenant", headers=h).json()["name"]
             for _ in range(SPREAD)}
    assert names == {"Renamed"}, names


def test_owner_patches_own_tenant(stack):
    t, owner = owner_of(stack)
    r = api(stack, "PATCH", "/tenant",
            {"name": "Renamed", "website": "https://renamed.example",
             "allowed_origins": ["https://renamed.example"]}, owner)
    assert r.status == 200, r
    body = r.json()
    assert body["name"] == "Renamed", body
    assert body["website"] == "https://renamed.example", body
    assert body["allowed_origins"] == ["https://renamed.example"], body
    assert body["updated_at"] >= body["created_at"], body
    # null clears the website; absent fields stay
    r = api(stack, "PATCH", "/tenant", {"website": None}, owner)
    assert r.status == 200 and r.json()["website"] is None, r
    assert r.json()["name"] == "Renamed", r
    # plan and active are the platform's
    f = fields(api(stack, "PATCH", "/tenant", {"plan": "enterprise"}, owner))
    assert set(f) == {"plan"} and "sysadmin" in f["plan"], f
    f = fields(api(stack, "PATCH", "/tenant", {"active": False,
                                               "name": "x"}, owner))
    assert set(f) == {"active"}, f
    row = syid.psql(stack, "SELECT plan_id, active, name FROM tenants "
                    "WHERE id = :'id'", id=t["id"])
    assert row == [[t["plan"], "t", "Renamed"]], row
    f = fields(api(stack, "PATCH", "/tenant",
                   {"allowed_origins": ["https://x.example/"]}, owner))
    assert set(f) == {"allowed_origins[0]"}, f


# ------------------------------------------------------------ keys


def create_key(stack, owner, **body):
    body.setdefault("name", "k")
    body.setdefault("kind", "secret")
    r = api(stack, "POST", "/tenant/keys", body, owner)
    assert r.status == 201, r
    return r.json()


def test_key_create_shows_the_key_once(stack):
    t, owner = owner_of(stack)
    r = api(stack, "POST", "/tenant/keys", {"name": "server",
                                            "kind": "secret"}, owner)
    assert r.status == 201, r
    assert r.headers.get("Cache-Control") == "no-store", r
    k = r.json()
    assert re.match(r"^sk_[0-9A-Za-z]{32}$", k["key"]), k
    assert k["prefix"] == k["key"][:11] and k["kind"] == "secret", k
    assert k["name"] == "server" and len(k["scopes"]) == 13, k
    assert TIME.match(k["created_at"]), k
    for f in ("last_used_at", "expires_at", "revoked_at"):
        assert k[f] is None, k
    stored = syid.psql(stack, "SELECT encode(key_hash, 'hex'), created_by "
                       "FROM api_keys WHERE id = :'id'", id=k["id"])
    assert stored == [[hashlib.sha256(k["key"].encode()).hexdigest(),
                       t["owner"]["id"]]], stored
    assert api(stack, "GET", "/tenant",
               headers=with_key(k["key"])).status == 200

    pk = create_key(stack, owner, kind="publishable")
    assert pk["key"].startswith("pk_"), pk
    assert set(pk["scopes"]) == PUBLISHABLE, pk
    narrow = create_key(stack, owner, scopes=["tenant:read",
                                              "catalog:read"])
    assert sorted(narrow["scopes"]) == ["catalog:read", "tenant:read"]

    listed = api(stack, "GET", "/tenant/keys", headers=owner)
    assert listed.status == 200, listed
    items = listed.json()["items"]
    byid = {i["id"]: i for i in items}
    assert {k["id"], pk["id"], narrow["id"]} <= set(byid), items
    for i in items:
        assert "key" not in i and "key_hash" not in i and "hash" not in i, i
        assert set(i) >= {"id", "name", "kind", "prefix", "scopes",
                          "created_at", "last_used_at", "expires_at"}, i
    assert k["key"] not in listed.text()
    assert byid[k["id"]]["prefix"] == k["prefix"]


def test_key_create_validation(stack):
    t, owner = owner_of(stack)
    post = lambda body: api(stack, "POST", "/tenant/keys", body, owner)
    f = fields(post({"name": "x", "kind": "publishable",
                     "scopes": ["catalog:read", "orders:read"]}))
    assert set(f) == {"scopes[1]"} and "publishable" in f["scopes[1]"], f
    f = fields(post({"name": "x", "kind": "secret",
                     "scopes": ["catalog:read", "nope:nope", 3]}))
    assert set(f) == {"scopes[1]", "scopes[2]"}, f
    assert set(fields(post({"name": "x", "kind": "public"}))) == {"kind"}
    assert set(fields(post({"name": "x"}))) == {"kind"}
    assert set(fields(post({"kind": "secret", "scopes": []}))) == {"scopes"}
    assert set(fields(post({"kind": "secret", "name": "n" * 101}))) == {
        "name"}
    before = syid.psql(stack, "SELECT count(*) FROM api_keys WHERE "
                       "tenant_id = :'t'", t=t["id"])
    assert before == [["2"]], before  # the two new_tenant made


def test_key_list_pages(stack):
    t, owner = owner_of(stack)
    made = [create_key(stack, owner, name="p%d" % i)["id"] for i in range(3)]
    seen, cursor = [], None
    while True:
        r = api(stack, "GET", "/tenant/keys?limit=2" +
                ("&cursor=" + cursor if cursor else ""), headers=owner)
        assert r.status == 200, r
        seen += [i["id"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 5 and seen[2:] == made, seen


def test_key_rotation_keeps_the_old_key_for_the_grace(stack):
    t, owner = owner_of(stack)
    old = create_key(stack, owner, name="rotating",
                     scopes=["tenant:read", "catalog:read"])
    assert set(statuses(stack, "GET", "/tenant",
                        with_key(old["key"]))) == {200}
    r = api(stack, "POST", "/tenant/keys/%s/rotate" % old["id"],
            {"grace_seconds": 2}, owner)
    assert r.status == 201, r
    new = r.json()
    assert new["id"] != old["id"] and new["key"] != old["key"], new
    assert new["name"] == "rotating" and new["kind"] == "secret", new
    assert sorted(new["scopes"]) == ["catalog:read", "tenant:read"], new
    assert new["replaces"]["id"] == old["id"], new
    assert TIME.match(new["replaces"]["expires_at"]), new
    # during the grace both work, on every responder
    assert set(statuses(stack, "GET", "/tenant",
                        with_key(old["key"]))) == {200}
    assert set(statuses(stack, "GET", "/tenant",
                        with_key(new["key"]))) == {200}
    time.sleep(3)
    assert set(statuses(stack, "GET", "/tenant",
                        with_key(old["key"]))) == {401}
    assert set(statuses(stack, "GET", "/tenant",
                        with_key(new["key"]))) == {200}
    items = {i["id"]: i for i in
             api(stack, "GET", "/tenant/keys?limit=100",
                 headers=owner).json()["items"]}
    assert items[old["id"]]["replaced_by"] == new["id"], items
    assert items[old["id"]]["expires_at"] is not None, items
    # a rotated key cannot be rotated again; its successor can
    r = api(stack, "POST", "/tenant/keys/%s/rotate" % old["id"],
            {"grace_seconds": 0}, owner)
    sylib.assert_problem(r, 409, "conflict")
    r = api(stack, "POST", "/tenant/keys/%s/rotate" % new["id"], {}, owner)
    assert r.status == 201, r
    # the default grace is an hour
    exp = syid.psql(stack, "SELECT round(extract(epoch FROM expires_at - "
                    "now())) FROM api_keys WHERE id = :'id'", id=new["id"])
    assert 3500 <= float(exp[0][0]) <= 3600, exp


def test_key_rotation_with_no_grace_ends_the_old_key_now(stack):
    t, owner = owner_of(stack)
    old = create_key(stack, owner)
    assert set(statuses(stack, "GET", "/tenant",
                        with_key(old["key"]))) == {200}
    r = api(stack, "POST", "/tenant/keys/%s/rotate" % old["id"],
            {"grace_seconds": 0}, owner)
    assert r.status == 201, r
    assert set(statuses(stack, "GET", "/tenant",
                        with_key(old["key"]))) == {401}
    assert set(statuses(stack, "GET", "/tenant",
                        with_key(r.json()["key"]))) == {200}


def test_concurrent_rotations_make_one_successor(stack):
    t, owner = owner_of(stack)
    k = create_key(stack, owner)
    path = "/tenant/keys/%s/rotate" % k["id"]
    codes = []

    def rotate():
        codes.append(api(stack, "POST", path, {"grace_seconds": 60},
                         owner).status)
    threads = [threading.Thread(target=rotate) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(codes) == [201] + [409] * 5, codes
    rows = syid.psql(stack, "SELECT count(*) FROM api_keys WHERE "
                     "tenant_id = :'t'", t=t["id"])
    assert rows == [["4"]], rows  # the CLI's two, k, one successor


def test_key_rotation_validation(stack):
    t, owner = owner_of(stack)
    k = create_key(stack, owner)
    path = "/tenant/keys/%s/rotate" % k["id"]
    for g in (-1, 7 * 86400 + 1, "60", 1.5):
        assert set(fields(api(stack, "POST", path, {"grace_seconds": g},
                              owner))) == {"grace_seconds"}, g
    for kid in (str(uuid.uuid4()), "nope"):
        r = api(stack, "POST", "/tenant/keys/%s/rotate" % kid, {}, owner)
        sylib.assert_problem(r, 404, "not_found")
    assert api(stack, "DELETE", "/tenant/keys/" + k["id"],
               headers=owner).status == 204
    sylib.assert_problem(api(stack, "POST", path, {}, owner), 409,
                         "conflict")


def test_key_revocation_is_immediate_everywhere(stack):
    t, owner = owner_of(stack)
    k = create_key(stack, owner)
    other = create_key(stack, owner)
    # cached on every responder first
    assert set(statuses(stack, "GET", "/tenant", with_key(k["key"]),
                        n=2 * SPREAD)) == {200}
    r = api(stack, "DELETE", "/tenant/keys/" + k["id"], headers=owner)
    assert r.status == 204 and r.body == b"", r
    codes = statuses(stack, "GET", "/tenant", with_key(k["key"]),
                     n=2 * SPREAD)
    assert set(codes) == {401}, codes
    # only that key
    assert set(statuses(stack, "GET", "/tenant",
                        with_key(other["key"]))) == {200}
    # idempotent; unknown ids are 404
    assert api(stack, "DELETE", "/tenant/keys/" + k["id"],
               headers=owner).status == 204
    for kid in (str(uuid.uuid4()), "x"):
        r = api(stack, "DELETE", "/tenant/keys/" + kid, headers=owner)
        sylib.assert_problem(r, 404, "not_found")
    items = {i["id"]: i for i in api(stack, "GET", "/tenant/keys",
                                     headers=owner).json()["items"]}
    assert TIME.match(items[k["id"]]["revoked_at"] or ""), items
    assert items[other["id"]]["revoked_at"] is None, items


sylib.main(globals())

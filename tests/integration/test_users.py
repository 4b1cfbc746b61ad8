#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""User routes through nginx (API.md "Identity"): PATCH and DELETE
/users/me, GET and POST /users, PATCH /users/{id}; roles from the route
table, the last-owner rule, and tenant isolation of every one of them."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import threading

import sylib
import syid

SHARED_STACK = dict(workers=2,
                    extra_config="[auth]\nlogin_address_limit = 100000\n")
TEST_TIMEOUT = 180

USERS = "/api/v1/users"
ME = "/api/v1/users/me"


def token(stack, user):
    return syid.login_ok(stack, user)["access_token"]


def call(stack, method, path, tok, body=None, headers=None):
    return stack.request(method, path, body=body,
                         headers=syid.bearer(tok, headers))


def list_all(stack, tok, query=""):
    """Every item of GET /users, walking the cursors one by one."""
    items, cursor, pages = [], None, 0
    while True:
        q = "?limit=1" + query + ("&cursor=" + cursor if cursor else "")
        r = call(stack, "GET", USERS + q, tok)
        assert r.status == 200, r
        body = r.json()
        assert len(body["items"]) <= 1, body
        items += body["items"]
        cursor = body["next_cursor"]
        pages += 1
        assert pages < 100
        if cursor is None:
            return items


# ------------------------------------------------------------- /users


def test_owner_lists_and_creates_users(stack):
    t = syid.new_tenant(stack)
    owner = token(stack, t["owner"])
    created = []
    for role in ("staff", "owner", "shopper"):
        email = "%s@example.com" % syid.unique(role)
        r = call(stack, "POST", USERS, owner,
                 {"email": email, "password": syid.PASSWORD,
                  "name": role.title(), "role": role})
        assert r.status == 201, r
        u = r.json()
        assert u["role"] == role and u["tenant_id"] == t["id"], u
        assert u["email"] == email and u["active"] is True, u
        created.append(u)
    # the new accounts can sign in
    staff = dict(created[0], password=syid.PASSWORD, slug=t["slug"])
    assert syid.login(stack, staff).status == 200

    r = call(stack, "GET", USERS, owner)
    assert r.status == 200, r
    body = r.json()
    assert body["next_cursor"] is None, body
    ids = [u["id"] for u in body["items"]]
    assert ids == [t["owner"]["id"]] + [u["id"] for u in created], body
    for u in body["items"]:
        assert "password_hash" not in u and u["tenant_id"] == t["id"], u

    # cursor pagination visits every user once, in the same order
    assert [u["id"] for u in list_all(stack, owner)] == ids
    # ?role= filters
    owners = list_all(stack, owner, "&role=owner")
    assert {u["id"] for u in owners} == {t["owner"]["id"], created[1]["id"]}
    r = call(stack, "GET", USERS + "?role=staff", owner)
    assert [u["id"] for u in r.json()["items"]] == [created[0]["id"]], r
    for bad in ("?role=king", "?role=sysadmin", "?limit=0", "?limit=101"):
        r = call(stack, "GET", USERS + bad, owner)
        sylib.assert_problem(r, 422, "validation_failed")
    r = call(stack, "GET", USERS + "?cursor=bm9wZQ", owner)
    sylib.assert_problem(r, 400, "bad_request")


def test_create_user_validation(stack):
    t = syid.new_tenant(stack)
    owner = token(stack, t["owner"])
    ok = {"email": "%s@example.com" % syid.unique("v"),
          "password": syid.PASSWORD, "name": "V", "role": "staff"}
    for field, value in (("role", "sysadmin"), ("role", "boss"),
                         ("role", None), ("email", "nope"),
                         ("password", "short"), ("name", "")):
        body = dict(ok)
        if value is None:
            del body[field]
        else:
            body[field] = value
        r = call(stack, "POST", USERS, owner, body)
        p = sylib.assert_problem(r, 422, "validation_failed")
        assert field in [e["field"] for e in p["errors"]], (field, p)
    assert call(stack, "POST", USERS, owner, ok).status == 201
    r = call(stack, "POST", USERS, owner, dict(ok, email=ok["email"].upper()))
    sylib.assert_problem(r, 409, "conflict")


def test_roles_come_from_the_route_table(stack):
    t = syid.new_tenant(stack)
    shopper = syid.new_user(stack, t, "shopper")
    staff = syid.new_user(stack, t, "staff")
    sh, st = token(stack, shopper), token(stack, staff)
    body = {"email": "%s@example.com" % syid.unique("x"),
            "password": syid.PASSWORD, "name": "X", "role": "staff"}

    sylib.assert_problem(call(stack, "GET", USERS, sh), 403, "forbidden")
    assert call(stack, "GET", USERS, st).status == 200
    sylib.assert_problem(call(stack, "POST", USERS, st, body), 403, "forbidden")
    sylib.assert_problem(call(stack, "POST", USERS, sh, body), 403, "forbidden")
    for tok in (sh, st):
        r = call(stack, "PATCH", USERS + "/" + shopper["id"], tok,
                 {"role": "owner"})
        sylib.assert_problem(r, 403, "forbidden")
    # a shopper cannot promote itself through /users/me either
    r = call(stack, "PATCH", ME, sh, {"role": "owner", "name": "Still Me"})
    assert r.status == 200 and r.json()["role"] == "shopper", r
    # API keys may not manage users
    for k in (t["sk"], t["pk"]):
        r = stack.request("GET", USERS, headers=syid.key(k))
        sylib.assert_problem(r, 403, "forbidden")
    # nor anyone without credentials
    sylib.assert_problem(stack.request("GET", USERS), 401, "unauthorized")
    sylib.assert_problem(stack.request("PATCH", ME, body={"name": "x"}),
                         401, "unauthorized")


def test_patch_user_role_and_active(stack):
    t = syid.new_tenant(stack)
    owner = token(stack, t["owner"])
    u = syid.new_user(stack, t, "staff")
    utok = syid.login_ok(stack, u)

    # promotion: the old token keeps its (lower) role until the next login
    r = call(stack, "PATCH", USERS + "/" + u["id"], owner, {"role": "owner"})
    assert r.status == 200 and r.json()["role"] == "owner", r
    assert syid.me(stack, utok["access_token"]).status == 200
    utok = syid.login_ok(stack, u)
    _, claims, _ = syid.jwt_parts(utok["access_token"])
    assert claims["role"] == "owner", claims

    # demotion ends the sessions at once: the token said "owner"
    r = call(stack, "PATCH", USERS + "/" + u["id"], owner, {"role": "shopper"})
    assert r.status == 200 and r.json()["role"] == "shopper", r
    sylib.assert_problem(syid.me(stack, utok["access_token"]), 401,
                         "unauthorized")
    utok = syid.login_ok(stack, u)
    assert syid.jwt_parts(utok["access_token"])[1]["role"] == "shopper"

    # deactivation ends them too, and refuses logins
    r = call(stack, "PATCH", USERS + "/" + u["id"], owner, {"active": False})
    assert r.status == 200 and r.json()["active"] is False, r
    sylib.assert_problem(syid.me(stack, utok["access_token"]), 401,
                         "unauthorized")
    sylib.assert_problem(syid.login(stack, u), 401, "unauthorized")
    # still listed, as inactive
    listed = {x["id"]: x for x in list_all(stack, owner)}
    assert listed[u["id"]]["active"] is False, listed
    # reactivation
    r = call(stack, "PATCH", USERS + "/" + u["id"], owner, {"active": True})
    assert r.status == 200 and r.json()["active"] is True, r
    assert syid.login(stack, u).status == 200

    # validation; nothing to change is a plain read
    for bad in ({"role": "sysadmin"}, {"role": 3}, {"active": "no"}):
        r = call(stack, "PATCH", USERS + "/" + u["id"], owner, bad)
        sylib.assert_problem(r, 422, "validation_failed")
    r = call(stack, "PATCH", USERS + "/" + u["id"], owner, {})
    assert r.status == 200 and r.json()["id"] == u["id"], r
    for bad_id in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        r = call(stack, "PATCH", USERS + "/" + bad_id, owner, {"active": True})
        sylib.assert_problem(r, 404, "not_found")


def test_last_owner_rule(stack):
    t = syid.new_tenant(stack)
    first = t["owner"]
    ftok = token(stack, first)
    path = USERS + "/" + first["id"]
    for change in ({"role": "staff"}, {"active": False},
                   {"role": "shopper", "active": False}):
        r = call(stack, "PATCH", path, ftok, change)
        sylib.assert_problem(r, 409, "conflict")
    sylib.assert_problem(call(stack, "DELETE", ME, ftok), 409, "conflict")
    # keeping the role is fine
    assert call(stack, "PATCH", path, ftok, {"role": "owner"}).status == 200
    # an inactive owner does not count
    second = syid.new_user(stack, t, "owner")
    syid.psql(stack, "UPDATE users SET active = false WHERE id = :'id'",
              id=second["id"])
    r = call(stack, "PATCH", path, ftok, {"role": "staff"})
    sylib.assert_problem(r, 409, "conflict")
    syid.psql(stack, "UPDATE users SET active = true WHERE id = :'id'",
              id=second["id"])
    # with another active owner, the first may step down
    r = call(stack, "PATCH", path, ftok, {"role": "staff"})
    assert r.status == 200 and r.json()["role"] == "staff", r
    # ... which ended its sessions; the second owner is now the last one
    stok = token(stack, second)
    r = call(stack, "PATCH", USERS + "/" + second["id"], stok, {"active": False})
    sylib.assert_problem(r, 409, "conflict")
    rows = syid.psql(stack, "SELECT count(*) FROM users WHERE tenant_id = :'t' "
                     "AND role = 'owner' AND active", t=t["id"])
    assert rows == [["1"]], rows


def test_two_owners_demoting_each_other_at_once(stack):
    for _ in range(3):
        t = syid.new_tenant(stack)
        a = t["owner"]
        b = syid.new_user(stack, t, "owner")
        atok, btok = token(stack, a), token(stack, b)
        results = [None, None]
        barrier = threading.Barrier(2)

        def demote(i, tok, target):
            barrier.wait()
            results[i] = call(stack, "PATCH", USERS + "/" + target, tok,
                              {"role": "staff"})
        threads = [threading.Thread(target=demote, args=(0, atok, b["id"])),
                   threading.Thread(target=demote, args=(1, btok, a["id"]))]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        # the loser is refused as the last owner (409), or, when the
        # winner's demotion of it committed first, with its session ended
        # (a demotion revokes the demoted user's sessions): 401
        statuses = sorted(r.status for r in results)
        assert statuses in ([200, 401], [200, 409]), results
        rows = syid.psql(stack, "SELECT count(*) FROM users WHERE tenant_id "
                         "= :'t' AND role = 'owner' AND active", t=t["id"])
        assert rows == [["1"]], rows


# ------------------------------------------------------------- /users/me


def test_patch_me_name(stack):
    t = syid.new_tenant(stack)
    u = syid.new_user(stack, t)
    tok = token(stack, u)
    r = call(stack, "PATCH", ME, tok, {"name": "  Ada Lovelace  "})
    assert r.status == 200, r
    assert r.json()["name"] == "Ada Lovelace" and r.json()["id"] == u["id"], r
    assert syid.me(stack, tok).json()["name"] == "Ada Lovelace"
    for bad in ({"name": ""}, {"name": "x" * 201}, {"name": "a\nb"},
                {"name": 5}):
        sylib.assert_problem(call(stack, "PATCH", ME, tok, bad), 422,
                             "validation_failed")
    r = call(stack, "PATCH", ME, tok, {"name": "é" * 200})  # characters
    assert r.status == 200, r


def test_patch_me_password(stack):
    t = syid.new_tenant(stack)
    u = syid.new_user(stack, t)
    mine = syid.login_ok(stack, u)
    other = syid.login_ok(stack, u)
    tok = mine["access_token"]
    new = "a brand new passphrase"

    r = call(stack, "PATCH", ME, tok, {"password": new})
    p = sylib.assert_problem(r, 422, "validation_failed")
    assert "current_password" in [e["field"] for e in p["errors"]], p
    r = call(stack, "PATCH", ME, tok, {"password": "short",
                                       "current_password": syid.PASSWORD})
    p = sylib.assert_problem(r, 422, "validation_failed")
    assert "password" in [e["field"] for e in p["errors"]], p
    r = call(stack, "PATCH", ME, tok, {"password": new,
                                       "current_password": "wrong one"})
    sylib.assert_problem(r, 403, "forbidden")
    # nothing changed so far
    assert syid.login(stack, u).status == 200
    assert syid.me(stack, other["access_token"]).status == 200

    r = call(stack, "PATCH", ME, tok, {"password": new,
                                       "current_password": syid.PASSWORD})
    assert r.status == 200 and r.json()["id"] == u["id"], r
    assert "password" not in r.text(), r
    # this session lives on; every other one ended
    assert syid.me(stack, tok).status == 200
    assert syid.refresh(stack, mine["refresh_token"]).status == 200
    sylib.assert_problem(syid.me(stack, other["access_token"]), 401,
                         "unauthorized")
    sylib.assert_problem(syid.refresh(stack, other["refresh_token"]), 401,
                         "unauthorized")
    sylib.assert_problem(syid.login(stack, u), 401, "unauthorized")
    assert syid.login(stack, u, password=new).status == 200
    rows = syid.psql(stack, "SELECT revoked_reason FROM sessions WHERE "
                     "id = :'sid'", sid=syid.jwt_parts(other["access_token"])[1]["sid"])
    assert rows == [["password_changed"]], rows


def test_wrong_current_password_is_throttled(stack):
    t = syid.new_tenant(stack)
    u = syid.new_user(stack, t)
    tok = token(stack, u)
    for i in range(5):
        r = call(stack, "PATCH", ME, tok, {"password": "a new passphrase",
                                           "current_password": "guess %d" % i})
        sylib.assert_problem(r, 403, "forbidden")
    r = call(stack, "PATCH", ME, tok, {"password": "a new passphrase",
                                       "current_password": syid.PASSWORD})
    sylib.assert_problem(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1, r


def test_delete_me_erases_the_account(stack):
    t = syid.new_tenant(stack)
    u = syid.new_user(stack, t)
    mine = syid.login_ok(stack, u)
    other = syid.login_ok(stack, u)
    r = call(stack, "DELETE", ME, mine["access_token"])
    assert r.status == 204 and r.body == b"", r
    for tok in (mine, other):
        sylib.assert_problem(syid.me(stack, tok["access_token"]), 401,
                             "unauthorized")
        sylib.assert_problem(syid.refresh(stack, tok["refresh_token"]), 401,
                             "unauthorized")
    sylib.assert_problem(syid.login(stack, u), 401, "unauthorized")
    rows = syid.psql(stack, "SELECT (SELECT count(*) FROM users WHERE id = "
                     ":'id'), (SELECT count(*) FROM sessions WHERE user_id = "
                     ":'id')", id=u["id"])
    assert rows == [["0", "0"]], rows
    # the email is free again
    r = stack.request("POST", "/api/v1/auth/register",
                      body={"email": u["email"], "password": syid.PASSWORD,
                            "name": "Back"}, headers=syid.key(t["pk"]))
    assert r.status == 201, r
    # a second owner may leave; the last one may not
    second = syid.new_user(stack, t, "owner")
    assert call(stack, "DELETE", ME, token(stack, second)).status == 204
    sylib.assert_problem(call(stack, "DELETE", ME, token(stack, t["owner"])),
                         409, "conflict")


def test_delete_me_with_cookies_clears_them(stack):
    t = syid.new_tenant(stack)
    u = syid.new_user(stack, t)
    r = syid.login(stack, u, cookie=True)
    jar = {k: v[0] for k, v in syid.set_cookies(r).items()}
    cookies = syid.cookie_header(sy_access=jar["sy_access"],
                                 sy_csrf=jar["sy_csrf"])
    r = stack.request("DELETE", ME, headers={"Cookie": cookies})
    sylib.assert_problem(r, 403, "forbidden")  # no X-CSRF-Token
    r = stack.request("DELETE", ME, headers={"Cookie": cookies,
                                             "X-CSRF-Token": jar["sy_csrf"]})
    assert r.status == 204, r
    cleared = syid.set_cookies(r)
    assert {k: v[1].get("max-age") for k, v in cleared.items()} == {
        "sy_access": "0", "sy_refresh": "0", "sy_csrf": "0"}, r


# ------------------------------------------------------------- isolation


def test_tenant_isolation(stack):
    a, b = syid.new_tenant(stack), syid.new_tenant(stack)
    a_staff = syid.new_user(stack, a, "staff")
    b_owner = token(stack, b["owner"])

    # B's owner with A's ids: 404, and A's user is unchanged
    for body in ({"role": "owner"}, {"active": False}, {}):
        r = call(stack, "PATCH", USERS + "/" + a_staff["id"], b_owner, body)
        sylib.assert_problem(r, 404, "not_found")
        r = call(stack, "PATCH", USERS + "/" + a["owner"]["id"], b_owner, body)
        sylib.assert_problem(r, 404, "not_found")
    rows = syid.psql(stack, "SELECT role, active FROM users WHERE id = :'id'",
                     id=a_staff["id"])
    assert rows == [["staff", "t"]], rows

    # B's list never shows A's users, whatever the query says
    a_ids = {a["owner"]["id"], a_staff["id"]}
    for q in ("", "?tenant_id=" + a["id"], "?role=staff",
              "?role=owner&tenant_id=" + a["id"]):
        r = call(stack, "GET", USERS + q, b_owner)
        assert r.status == 200, r
        ids = {u["id"] for u in r.json()["items"]}
        assert not ids & a_ids, (q, r)
        assert ids <= {b["owner"]["id"]}, (q, r)
    # a cursor made from A's list does not open A's rows to B
    a_owner = token(stack, a["owner"])
    r = call(stack, "GET", USERS + "?limit=1", a_owner)
    cursor = r.json()["next_cursor"]
    assert cursor, r
    r = call(stack, "GET", USERS + "?cursor=" + cursor, b_owner)
    assert r.status == 200 and not {u["id"] for u in r.json()["items"]} & a_ids

    # users B creates live in B, even when the body or query names A
    email = "%s@example.com" % syid.unique("iso")
    r = call(stack, "POST", USERS + "?tenant_id=" + a["id"], b_owner,
             {"email": email, "password": syid.PASSWORD, "name": "I",
              "role": "staff", "tenant_id": a["id"]})
    assert r.status == 201 and r.json()["tenant_id"] == b["id"], r

    # /users/me only ever touches the caller
    b_user = syid.new_user(stack, b)
    r = call(stack, "PATCH", ME, token(stack, b_user),
             {"name": "Mine", "id": a_staff["id"]})
    assert r.status == 200 and r.json()["id"] == b_user["id"], r
    assert syid.psql(stack, "SELECT name FROM users WHERE id = :'id'",
                     id=a_staff["id"]) == [["Staff User"]]

    # B's keys and tokens cannot register or sign in to A
    r = syid.login(stack, a_staff, tenant=None, headers=syid.key(b["pk"]))
    sylib.assert_problem(r, 401, "unauthorized")


def test_sysadmin_names_the_tenant(stack):
    a, b = syid.new_tenant(stack), syid.new_tenant(stack)
    root = token(stack, syid.new_sysadmin(stack))
    r = call(stack, "GET", USERS, root)
    p = sylib.assert_problem(r, 422, "validation_failed")
    assert "tenant_id" in [e["field"] for e in p["errors"]], p
    r = call(stack, "GET", USERS + "?tenant_id=" + a["id"], root)
    assert [u["id"] for u in r.json()["items"]] == [a["owner"]["id"]], r
    r = call(stack, "POST", USERS + "?tenant_id=" + b["id"], root,
             {"email": "%s@example.com" % syid.unique("by-root"),
              "password": syid.PASSWORD, "name": "R", "role": "owner"})
    assert r.status == 201 and r.json()["tenant_id"] == b["id"], r
    # an id of tenant A under tenant B: 404
    r = call(stack, "PATCH", USERS + "/" + a["owner"]["id"] + "?tenant_id="
             + b["id"], root, {"role": "staff"})
    sylib.assert_problem(r, 404, "not_found")
    r = call(stack, "PATCH", USERS + "/" + a["owner"]["id"] + "?tenant_id="
             + a["id"], root, {"role": "owner"})
    assert r.status == 200, r
    # unknown tenant
    r = call(stack, "POST", USERS + "?tenant_id=00000000-0000-4000-8000-"
             "000000000000", root, {"email": "z@example.com",
                                    "password": syid.PASSWORD, "name": "Z",
                                    "role": "staff"})
    sylib.assert_problem(r, 404, "not_found")


sylib.main(globals())

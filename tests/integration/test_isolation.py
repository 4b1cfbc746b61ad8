#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The tenant-isolation matrix (issue 3 acceptance; DESIGN.md "Reliability
targets"): every route of the identity issue, from POST /auth/register to
DELETE /tenant/keys/{id}, called by every kind of caller of two tenants A
and B (shopper, staff and owner tokens, secret and publishable keys), by
a sysadmin, and with no credential at all, always with tenant A's ids.

One table drives it: a row is (method, path template, body template,
expected status per caller, checks).  Tenant B's callers must get 404
for A's object ids where their role would otherwise let them through,
must never see A's rows in a list, and must act on their own tenant when
a route has no id; a wrong role is 403 and no credential is 401.  Every
row also runs A's own callers, so a 404 for B means "not yours", not
"broken".  Checks after a refused call assert that A's data did not
change."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import re

import sylib
import syid

SHARED_STACK = dict(workers=2)
TEST_TIMEOUT = 300

CALLERS = ("anon A.shopper A.staff A.owner A.sk A.pk "
           "B.shopper B.staff B.owner B.sk B.pk sys").split()
USER_CALLERS = [c for c in CALLERS
                if c.split(".")[-1] in ("shopper", "staff", "owner", "sys")]


# ------------------------------------------------------------ the world


class World:
    """Tenants A and B (each with an owner, a staff member, a shopper, a
    secret and a publishable key, all signed in), and a sysadmin."""

    def __init__(self, stack):
        self.stack = stack
        self.sys = syid.new_sysadmin(stack)
        self.sys["token"] = syid.login_ok(stack, self.sys)["access_token"]
        self.t = {}
        for name in "AB":
            t = syid.new_tenant(stack)  # owner, sk and pk
            t["staff"] = syid.new_user(stack, t, "staff")
            t["shopper"] = syid.new_user(stack, t, "shopper")
            for role in ("owner", "staff", "shopper"):
                t[role]["token"] = syid.login_ok(stack,
                                                 t[role])["access_token"]
            self.t[name] = t

    def tenant_of(self, caller):
        return None if caller in ("anon", "sys") else self.t[caller[0]]

    def account(self, caller):
        if caller == "sys":
            return self.sys
        t, role = self.t[caller[0]], caller.split(".")[1]
        return t[role]

    def headers(self, caller, fresh=None):
        """The caller's credential; with fresh="login" a new session of
        the same account, with fresh="user" a new account of the same
        role (for routes that end sessions or erase the caller)."""
        if caller == "anon":
            return {}, None
        kind = caller.split(".")[-1]
        if kind in ("sk", "pk"):
            return {"X-API-Key": self.t[caller[0]][kind]}, None
        acct = self.account(caller)
        if fresh == "user":
            acct = (syid.new_sysadmin(self.stack) if caller == "sys" else
                    syid.new_user(self.stack, self.tenant_of(caller), kind))
        if fresh:
            tok = syid.login_ok(self.stack, acct)["access_token"]
        else:
            tok = acct["token"]
        return syid.bearer(tok), acct


_worlds = {}


def world(stack):
    if stack.statedir not in _worlds:
        _worlds[stack.statedir] = World(stack)
    return _worlds[stack.statedir]


# ------------------------------------------------------------ templates


class Values(dict):
    """Template values of one call: tenant A's ids, and fresh ones made on
    demand (a new key or shopper of A's, a new email, slug, refresh
    token), so that no call depends on what an earlier one did."""

    def __init__(self, w):
        a = w.t["A"]
        super().__init__({
            "A.id": a["id"], "A.slug": a["slug"], "A.name": a["name"],
            "A.shopper.id": a["shopper"]["id"],
            "A.shopper.email": a["shopper"]["email"],
            "password": syid.PASSWORD,
        })
        self.w = w
        self.made = {}

    def __missing__(self, name):
        if name not in self.made:
            self.made[name] = self.make(name)
        return self.made[name]

    def make(self, name):
        s, a = self.w.stack, self.w.t["A"]
        if name == "fresh_key":
            r = s.request("POST", "/api/v1/tenant/keys",
                          body={"name": "victim", "kind": "secret"},
                          headers=syid.bearer(a["owner"]["token"]))
            assert r.status == 201, r
            return r.json()["id"]
        if name == "fresh_victim":
            return syid.new_user(s, a, "shopper")["id"]
        if name == "fresh_email":
            return "%s@example.com" % syid.unique("new")
        if name == "fresh_slug":
            return syid.unique("iso")
        if name == "fresh_refresh":
            return syid.login_ok(s, a["shopper"])["refresh_token"]
        raise KeyError(name)


PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.]+)\}")


def fill(template, values):
    if isinstance(template, str):
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


# ------------------------------------------------------------ checks
# check(world, caller, values, response): runs after every call whose
# status matched; asserts what the caller saw or changed.


def own_tenant_body(w, caller, v, r):
    """The tenant answered is the caller's own (A for a sysadmin)."""
    if r.status != 200:
        return
    want = w.tenant_of(caller) or w.t["A"]
    assert r.json()["id"] == want["id"], (caller, r.json())


def own_items(idcol):
    """A list holds only rows of the caller's tenant (A for a sysadmin):
    none of the other tenant's ids."""
    def check(w, caller, v, r):
        if r.status != 200:
            return
        items = r.json()["items"]
        t = w.tenant_of(caller) or w.t["A"]
        other = w.t["B" if t is w.t["A"] else "A"]
        ids = {i["id"] for i in items}
        theirs = set(idcol(w.stack, other))
        assert not ids & theirs, (caller, "sees", ids & theirs)
        assert ids <= set(idcol(w.stack, t)), (caller, ids)
    return check


def user_ids(stack, t):
    return [r[0] for r in syid.psql(stack, "SELECT id FROM users WHERE "
                                    "tenant_id = :'t'", t=t["id"])]


def key_ids(stack, t):
    return [r[0] for r in syid.psql(stack, "SELECT id FROM api_keys WHERE "
                                    "tenant_id = :'t'", t=t["id"])]


def me_is_caller(w, caller, v, r):
    if r.status == 200:
        assert r.json()["id"] == w.last_account["id"], (caller, r.json())


def created_in_own_tenant(table):
    """A 201 made its row in the caller's tenant (A for a sysadmin)."""
    def check(w, caller, v, r):
        if r.status != 201:
            return
        t = w.tenant_of(caller) or w.t["A"]
        rows = syid.psql(w.stack, "SELECT tenant_id FROM %s WHERE id = :'id'"
                         % table, id=r.json()["id"])
        assert rows == [[t["id"]]], (caller, rows, t["id"])
    return check


def victim_active_unless_ok(w, caller, v, r):
    """Only a caller that was allowed to deactivate A's user did."""
    rows = syid.psql(w.stack, "SELECT active FROM users WHERE id = :'id'",
                     id=v["fresh_victim"])
    assert rows == [["f" if r.status == 200 else "t"]], (caller, rows)


def key_untouched_unless_ok(w, caller, v, r):
    """A refused caller left A's key as it was."""
    if r.status in (200, 201, 204):
        return
    rows = syid.psql(w.stack, "SELECT revoked_at IS NULL, replaced_by IS "
                     "NULL FROM api_keys WHERE id = :'id'",
                     id=v["fresh_key"])
    assert rows == [["t", "t"]], (caller, rows)


def tenant_untouched_unless_ok(w, caller, v, r):
    if r.status == 200:
        return
    rows = syid.psql(w.stack, "SELECT name, coalesce(website, '') FROM "
                     "tenants WHERE id = :'id'", id=v["A.id"])
    assert rows[0][1] != "https://%s.example" % caller.lower().replace(
        ".", "-"), (caller, rows)


# ------------------------------------------------------------ the table
# Expected statuses per caller, in CALLERS order:
#     anon  A.shopper A.staff A.owner A.sk A.pk
#           B.shopper B.staff B.owner B.sk B.pk  sys
# "-" skips a caller; "same" means: whatever anon gets, everyone gets.

V1 = "/api/v1"
REG = {"email": "{fresh_email}", "password": "{password}", "name": "New"}
ROWS = [
    # Identity
    ("POST", V1 + "/auth/register", REG,
     "401 401 401 401 201 201  401 401 401 201 201  401",
     dict(check=created_in_own_tenant("users"))),
    ("POST", V1 + "/auth/login",
     {"email": "{A.shopper.email}", "password": "{password}",
      "tenant": "{A.slug}"},
     "200 200 200 200 200 200  200 200 200 401 401  200", {}),
    # without a slug a key's tenant decides: B's keys do not find A's user
    ("POST", V1 + "/auth/login",
     {"email": "{A.shopper.email}", "password": "{password}"},
     "- - - - 200 200  - - - 401 401  -", {}),
    ("POST", V1 + "/auth/refresh", {"refresh_token": "{fresh_refresh}"},
     "200 200 200 200 200 200  200 200 200 200 200  200", {}),
    ("POST", V1 + "/auth/logout", None,
     "401 204 204 204 403 403  204 204 204 403 403  204",
     dict(fresh="login")),
    ("POST", V1 + "/auth/logout-all", None,
     "401 204 204 204 403 403  204 204 204 403 403  204",
     dict(fresh="user")),
    ("GET", V1 + "/auth/me", None,
     "401 200 200 200 403 403  200 200 200 403 403  200",
     dict(check=me_is_caller)),
    ("GET", "/.well-known/jwks.json", None, "same", {}),
    ("PATCH", V1 + "/users/me", {"name": "Renamed"},
     "401 200 200 200 403 403  200 200 200 403 403  200",
     dict(check=me_is_caller)),
    ("DELETE", V1 + "/users/me", None,
     "401 204 204 204 403 403  204 204 204 403 403  204",
     dict(fresh="user")),
    ("GET", V1 + "/users?tenant_id={A.id}&limit=100", None,
     "401 403 200 200 403 403  403 200 200 403 403  200",
     dict(check=own_items(user_ids))),
    ("POST", V1 + "/users?tenant_id={A.id}",
     {"email": "{fresh_email}", "password": "{password}", "name": "Hire",
      "role": "staff"},
     "401 403 403 201 403 403  403 403 201 403 403  201",
     dict(check=created_in_own_tenant("users"))),
    ("PATCH", V1 + "/users/{fresh_victim}?tenant_id={A.id}",
     {"active": False},
     "401 403 403 200 403 403  403 403 404 403 403  200",
     dict(check=victim_active_unless_ok)),

    # Tenants, plans, keys
    ("GET", V1 + "/plans", None,
     "200 200 200 200 200 200  200 200 200 200 200  200", {}),
    ("POST", V1 + "/tenants",
     {"name": "New", "slug": "{fresh_slug}", "plan": "free"},
     "401 403 403 403 403 403  403 403 403 403 403  201", {}),
    ("GET", V1 + "/tenants", None,
     "401 403 403 403 403 403  403 403 403 403 403  200", {}),
    ("GET", V1 + "/tenants/{A.id}", None,
     "401 403 403 403 403 403  403 403 403 403 403  200", {}),
    ("PATCH", V1 + "/tenants/{A.id}", {"name": "{A.name}"},
     "401 403 403 403 403 403  403 403 403 403 403  200", {}),
    ("GET", V1 + "/tenant?tenant_id={A.id}", None,
     "401 403 200 200 200 403  403 200 200 200 403  200",
     dict(check=own_tenant_body)),
    ("PATCH", V1 + "/tenant?tenant_id={A.id}",
     {"website": "https://{caller}.example"},
     "401 403 403 200 403 403  403 403 200 403 403  200",
     dict(check=lambda w, c, v, r: (own_tenant_body(w, c, v, r),
                                    tenant_untouched_unless_ok(w, c, v, r)))),
    ("GET", V1 + "/tenant/keys?tenant_id={A.id}&limit=100", None,
     "401 403 403 200 403 403  403 403 200 403 403  200",
     dict(check=own_items(key_ids))),
    ("POST", V1 + "/tenant/keys?tenant_id={A.id}",
     {"name": "made by {caller}", "kind": "secret"},
     "401 403 403 201 403 403  403 403 201 403 403  201",
     dict(check=created_in_own_tenant("api_keys"))),
    ("POST", V1 + "/tenant/keys/{fresh_key}/rotate?tenant_id={A.id}",
     {"grace_seconds": 0},
     "401 403 403 201 403 403  403 403 404 403 403  201",
     dict(check=key_untouched_unless_ok)),
    ("DELETE", V1 + "/tenant/keys/{fresh_key}?tenant_id={A.id}", None,
     "401 403 403 204 403 403  403 403 404 403 403  204",
     dict(check=key_untouched_unless_ok)),
]


def call(w, row, caller, values):
    method, path, body, _, opts = row
    headers, acct = w.headers(caller, opts.get("fresh"))
    w.last_account = acct
    values["caller"] = caller.lower().replace(".", "-")
    return w.stack.request(method, fill(path, values),
                           body=fill(body, values), headers=headers)


def run_row(stack, row):
    w = world(stack)
    method, path, body, expect, opts = row
    codes = expect.split()
    assert codes == ["same"] or len(codes) == len(CALLERS), row
    wrong, baseline = [], None
    for i, caller in enumerate(CALLERS):
        want = codes[0] if codes == ["same"] else codes[i]
        if want == "-":
            continue
        values = Values(w)
        r = call(w, row, caller, values)
        if want == "same":
            baseline = r.status if baseline is None else baseline
            want = str(baseline)
        if str(r.status) != want:
            wrong.append("%-9s got %d, want %s: %s" % (
                caller, r.status, want, r.text()[:200]))
            continue
        if r.status >= 400:
            assert r.content_type == "application/problem+json", r
        if opts.get("check"):
            opts["check"](w, caller, values, r)
    assert not wrong, "%s %s:\n  %s" % (method, path, "\n  ".join(wrong))


def _name(i, row):
    method, path = row[0], row[1].split("?")[0]
    slug = "".join(c if c.isalnum() else "_" for c in path.lower())
    return "test_%02d_%s%s" % (i, method.lower(), slug.rstrip("_"))


def _make(row):
    def test(stack):
        run_row(stack, row)
    return test


for _i, _row in enumerate(ROWS):
    globals()[_name(_i, _row)] = _make(_row)


def test_every_identity_route_is_in_the_matrix():
    """The table covers each route of routes.c from /auth/register to
    /tenant/keys/{id} (so a new route cannot slip past isolation)."""
    import os
    with open(os.path.join(sylib.SRCDIR, "app", "routes", "routes.c")) as f:
        text = f.read()
    table = re.findall(r'\{\s*(?:\.method\s*=\s*)?"([A-Z]+)",\s*'
                       r'(?:\.path\s*=\s*)?"([^"]+)"', text)
    start = table.index(("POST", "/api/v1/auth/register"))
    end = table.index(("DELETE", "/api/v1/tenant/keys/{id}"))
    want = {(m, p) for m, p in table[start:end + 1]}
    have = set()
    for method, path, *_ in ROWS:
        p = path.split("?")[0]
        p = re.sub(r"\{fresh_victim\}|\{fresh_key\}", "{id}", p)
        p = p.replace("{A.id}", "{id}")
        have.add((method, p))
    assert want <= have, "routes missing from the matrix: %s" % sorted(
        want - have)


sylib.main(globals())

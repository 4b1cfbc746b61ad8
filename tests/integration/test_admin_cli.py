#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""`synthia admin create-sysadmin | create-tenant | create-user |
create-key` (API.md "Command line"): what each prints (one JSON line, in
the API's shapes, the key once), what it stores, and its exit status: 0
created, 1 refused (invalid value, duplicate, unknown tenant), 2 usage."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import hashlib
import json
import os
import re
import subprocess

import sylib
import syid

SHARED_STACK = dict(workers=2)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                  r"[0-9a-f]{12}$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
PUBLISHABLE = ["catalog:read", "uploads:write", "analysis:write",
               "tryon:write", "events:write", "auth:register", "auth:login"]


def admin(stack, *args, stdin=""):
    """Run `synthia admin ARGS`; (exit status, stdout, stderr)."""
    exe = os.path.join(stack.env.get("SY_BUILDDIR") or sylib.BUILDDIR,
                       "synthia")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTHIA_")}
    p = subprocess.run([exe, "--config", stack.env["SY_CONFIG"], "admin"] +
                       list(args), input=stdin.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, env=env)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def created(stack, *args, stdin=""):
    """The one JSON line of a successful command."""
    rc, out, err = admin(stack, *args, stdin=stdin)
    assert rc == 0, "admin %s -> %d: %s %s" % (args, rc, out, err)
    lines = out.splitlines()
    assert len(lines) == 1, "expected one line: %r" % out
    return json.loads(lines[0])


def refused(stack, *args, stdin="", status=1, says=None):
    """A failing command: its exit status, nothing on stdout, one clear
    message on stderr; returns stderr."""
    rc, out, err = admin(stack, *args, stdin=stdin)
    assert rc == status, "admin %s -> %d (want %d): %s %s" % (
        args, rc, status, out, err)
    assert out == "", "stdout of a failure: %r" % out
    assert err.strip(), "no message on stderr"
    if says:
        assert says in err, "%r not in stderr %r" % (says, err)
    return err


def count(stack, sql, **v):
    return int(syid.psql(stack, sql, **v)[0][0])


def new_tenant(stack, **kw):
    slug = syid.unique("cli")
    args = ["create-tenant", "--name", "Shop " + slug, "--slug", slug,
            "--plan", kw.get("plan", "free")]
    for o in kw.get("origins", ()):
        args += ["--origin", o]
    return created(stack, *args)


# ------------------------------------------------------------ tenants


def test_create_tenant_prints_the_tenant(stack):
    slug = syid.unique("shop")
    t = created(stack, "create-tenant", "--name", "  The Shop  ", "--slug",
                slug, "--plan", "pro", "--origin", "https://Shop.Example",
                "--origin=http://localhost:3000", "--website",
                "https://shop.example/about")
    assert UUID.match(t["id"]), t
    assert t["name"] == "The Shop", t
    assert t["slug"] == slug and t["plan"] == "pro", t
    assert t["active"] is True, t
    assert t["website"] == "https://shop.example/about", t
    # stored as browsers send Origin: lower case, default port dropped
    assert t["allowed_origins"] == ["https://shop.example",
                                    "http://localhost:3000"], t
    assert TIME.match(t["created_at"]) and TIME.match(t["updated_at"]), t
    rows = syid.psql(stack, "SELECT slug, plan_id, "
                     "array_to_string(allowed_origins, ' ') FROM tenants "
                     "WHERE id = :'id'", id=t["id"])
    assert rows == [[slug, "pro", "https://shop.example "
                     "http://localhost:3000"]], rows


def test_create_tenant_duplicate_slug_is_refused(stack):
    t = new_tenant(stack)
    err = refused(stack, "create-tenant", "--name", "Other", "--slug",
                  t["slug"], "--plan", "basic", says="already exists")
    assert t["slug"] in err, err
    assert count(stack, "SELECT count(*) FROM tenants WHERE slug = :'s'",
                 s=t["slug"]) == 1


def test_create_tenant_bad_values_are_refused(stack):
    slug = syid.unique("bad")
    base = ["--name", "N", "--slug", slug, "--plan", "free"]
    refused(stack, "create-tenant", "--name", "N", "--slug", "Not_A_Slug",
            "--plan", "free", says="--slug")
    refused(stack, "create-tenant", "--name", "N", "--slug", slug,
            "--plan", "platinum", says="no plan")
    refused(stack, "create-tenant", *base, "--origin",
            "https://shop.example/path", says="--origin")
    refused(stack, "create-tenant", *base, "--website", "ftp://x",
            says="--website")
    refused(stack, "create-tenant", "--name", "   ", "--slug", slug,
            "--plan", "free", says="--name")
    assert count(stack, "SELECT count(*) FROM tenants WHERE slug = :'s'",
                 s=slug) == 0


# ------------------------------------------------------------ users


def test_create_sysadmin(stack):
    email = "%s@Example.com" % syid.unique("root")
    u = created(stack, "create-sysadmin", "--email", email, "--name",
                "Root", "--password-stdin", stdin=syid.PASSWORD + "\n")
    assert UUID.match(u["id"]), u
    assert u["email"] == email and u["role"] == "sysadmin", u
    assert u.get("tenant_id") is None, u
    assert u["name"] == "Root", u
    assert "password" not in json.dumps(u), u
    rows = syid.psql(stack, "SELECT password_hash, tenant_id IS NULL FROM "
                     "users WHERE id = :'id'", id=u["id"])
    assert rows[0][0].startswith("$argon2id$"), rows
    assert rows[0][1] == "t", rows
    # the same address again, in another case: one namespace for sysadmins
    refused(stack, "create-sysadmin", "--email", email.upper(),
            "--password-stdin", stdin=syid.PASSWORD + "\n",
            says="already exists")
    # and the account can sign in with that password
    r = syid.login(stack, {"email": email, "password": syid.PASSWORD,
                           "slug": None})
    assert r.status == 200, r
    assert r.json()["user"]["role"] == "sysadmin", r


def test_password_is_the_first_line_of_stdin(stack):
    t = new_tenant(stack)
    email = "%s@example.com" % syid.unique("two")
    created(stack, "create-user", "--tenant", t["slug"], "--email", email,
            "--role", "shopper", "--password-stdin",
            stdin=syid.PASSWORD + "\nsecond line\n")
    ok = syid.login(stack, {"email": email, "password": syid.PASSWORD,
                            "slug": t["slug"]})
    assert ok.status == 200, ok
    # without a final newline too
    email2 = "%s@example.com" % syid.unique("three")
    created(stack, "create-user", "--tenant", t["slug"], "--email", email2,
            "--role", "shopper", "--password-stdin", stdin=syid.PASSWORD)
    ok = syid.login(stack, {"email": email2, "password": syid.PASSWORD,
                            "slug": t["slug"]})
    assert ok.status == 200, ok


def test_password_policy_is_enforced(stack):
    t = new_tenant(stack)
    email = "%s@example.com" % syid.unique("weak")
    refused(stack, "create-user", "--tenant", t["slug"], "--email", email,
            "--role", "owner", "--password-stdin", stdin="short\n",
            says="password")
    refused(stack, "create-user", "--tenant", t["slug"], "--email", email,
            "--role", "owner", "--password-stdin", stdin="",
            says="no password")
    refused(stack, "create-user", "--tenant", t["slug"], "--email", email,
            "--role", "owner", "--password-stdin", stdin="x" * 5000 + "\n",
            says="password")
    assert count(stack, "SELECT count(*) FROM users WHERE lower(email) = "
                 "lower(:'e')", e=email) == 0


def test_create_user_in_a_tenant(stack):
    t = new_tenant(stack)
    for role in ("shopper", "staff", "owner"):
        email = "%s@example.com" % syid.unique(role)
        u = created(stack, "create-user", "--tenant", t["slug"], "--email",
                    email, "--role", role, "--name", role.title(),
                    "--password-stdin", stdin=syid.PASSWORD + "\n")
        assert u["tenant_id"] == t["id"] and u["role"] == role, u
        assert u["email"] == email and u["active"] is True, u
        tok = syid.login_ok(stack, {"email": email,
                                    "password": syid.PASSWORD,
                                    "slug": t["slug"]})
        assert tok["user"]["id"] == u["id"], tok
    # the same email in the same tenant is taken; in another it is free
    refused(stack, "create-user", "--tenant", t["slug"], "--email",
            email.upper(), "--role", "staff", "--password-stdin",
            stdin=syid.PASSWORD + "\n", says="already exists")
    other = new_tenant(stack)
    created(stack, "create-user", "--tenant", other["slug"], "--email",
            email, "--role", "staff", "--password-stdin",
            stdin=syid.PASSWORD + "\n")


def test_create_user_refusals(stack):
    t = new_tenant(stack)
    email = "%s@example.com" % syid.unique("u")
    refused(stack, "create-user", "--tenant", syid.unique("nosuch"),
            "--email", email, "--role", "staff", "--password-stdin",
            stdin=syid.PASSWORD + "\n", says="no tenant")
    refused(stack, "create-user", "--tenant", t["slug"], "--email", email,
            "--role", "sysadmin", "--password-stdin",
            stdin=syid.PASSWORD + "\n", says="--role")
    refused(stack, "create-user", "--tenant", t["slug"], "--email",
            "not-an-email", "--role", "staff", "--password-stdin",
            stdin=syid.PASSWORD + "\n", says="--email")


# ------------------------------------------------------------ keys


def test_create_key_prints_the_key_once(stack):
    t = new_tenant(stack)
    k = created(stack, "create-key", "--tenant", t["slug"], "--kind",
                "secret", "--name", "server")
    key = k["key"]
    assert re.match(r"^sk_[0-9A-Za-z]{32}$", key), k
    assert k["prefix"] == key[:11], k
    assert k["tenant_id"] == t["id"] and k["kind"] == "secret", k
    assert k["name"] == "server", k
    assert len(k["scopes"]) == 13 and "tenant:read" in k["scopes"], k
    assert k["revoked_at"] is None and k["expires_at"] is None, k
    # stored as its SHA-256 only
    rows = syid.psql(stack, "SELECT encode(key_hash, 'hex'), prefix FROM "
                     "api_keys WHERE id = :'id'", id=k["id"])
    assert rows == [[hashlib.sha256(key.encode()).hexdigest(),
                     key[:11]]], rows
    assert count(stack, "SELECT count(*) FROM api_keys WHERE "
                 "position(:'k' in prefix || name) > 0", k=key) == 0
    # and it works
    r = stack.request("GET", "/api/v1/tenant", headers={"X-API-Key": key})
    assert r.status == 200, r
    assert r.json()["id"] == t["id"], r


def test_create_key_scopes(stack):
    t = new_tenant(stack)
    pk = created(stack, "create-key", "--tenant", t["slug"], "--kind",
                 "publishable")
    assert pk["key"].startswith("pk_"), pk
    assert sorted(pk["scopes"]) == sorted(PUBLISHABLE), pk
    sk = created(stack, "create-key", "--tenant", t["slug"], "--kind",
                 "secret", "--scope", "tenant:read", "--scope",
                 "catalog:read", "--scope", "tenant:read")
    assert sorted(sk["scopes"]) == ["catalog:read", "tenant:read"], sk
    refused(stack, "create-key", "--tenant", t["slug"], "--kind",
            "publishable", "--scope", "orders:read", says="orders:read")
    refused(stack, "create-key", "--tenant", t["slug"], "--kind", "secret",
            "--scope", "everything", says="everything")
    refused(stack, "create-key", "--tenant", t["slug"], "--kind", "public",
            says="--kind")
    refused(stack, "create-key", "--tenant", syid.unique("nosuch"),
            "--kind", "secret", says="no tenant")
    assert count(stack, "SELECT count(*) FROM api_keys WHERE tenant_id = "
                 ":'t'", t=t["id"]) == 2


# ------------------------------------------------------------ usage


def test_usage_errors_exit_2(stack):
    refused(stack, status=2)
    refused(stack, "create-everything", status=2)
    refused(stack, "create-tenant", "--name", "N", "--slug", "s", status=2,
            says="--plan")
    refused(stack, "create-tenant", "--name", "N", "--slug", "s", "--plan",
            "free", "--colour", "red", status=2, says="--colour")
    refused(stack, "create-tenant", "--name", "N", "--slug", "s", "--plan",
            status=2)
    refused(stack, "create-tenant", "--name", "N", "--name", "M", "--slug",
            "s", "--plan", "free", status=2)
    refused(stack, "create-sysadmin", "--email", "a@example.com", status=2,
            says="--password-stdin")
    refused(stack, "create-key", "--tenant", "x", "--kind", "secret",
            "--password-stdin", status=2)


sylib.main(globals())

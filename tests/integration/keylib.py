# SPDX-License-Identifier: BSD-2-Clause
"""keylib - fixtures for the API-key, rate-limit and CORS tests.

Plans, tenants and API keys are written with psql into the stack's
database, exactly as the application stores them (a key row holds the
key's SHA-256 and its first 11 characters), so these tests depend on no
other route; users and tokens come from `synthia admin` and
POST /api/v1/auth/login.  Stdlib only, like sylib.
"""

import hashlib
import json
import os
import secrets
import string
import subprocess
import threading

import sylib

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
ALL_SCOPES = ("catalog:read catalog:write orders:read orders:write "
              "uploads:write analysis:write tryon:write events:write "
              "auth:register auth:login tenant:read metrics:read "
              "imports:write").split()
PASSWORD = "correct horse battery staple"


def tag():
    return secrets.token_hex(4)


def psql(stack, sql):
    """Run one SQL command; return its unaligned output."""
    p = subprocess.run(["psql", stack.env["SY_DATABASE_URL"], "-v",
                        "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, "psql failed: %s\n%s" % (sql, p.stderr)
    return p.stdout.strip()


def redis(stack, *args):
    p = subprocess.run(["redis-cli", "-p", stack.env["SY_REDIS_PORT"]] +
                       list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p
    return p.stdout.strip()


def admin(stack, *args, stdin=None):
    """`synthia admin ...`; returns the JSON line it printed."""
    p = subprocess.run([os.path.join(sylib.BUILDDIR, "synthia"), "admin"] +
                       list(args) + ["--config", stack.env["SY_CONFIG"]],
                       input=stdin, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, "synthia admin %s: %s%s" % (args, p.stdout,
                                                          p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def sql_array(items):
    return "ARRAY[%s]::text[]" % ",".join("'%s'" % i for i in items)


def make_plan(stack, read, write=100, ai=5, ai_tenant=1000):
    pid = "t" + tag()
    psql(stack, "INSERT INTO plans (id, name, read_per_min, write_per_min, "
         "ai_per_min, ai_tenant_per_min) VALUES ('%s', 'Test %s', %d, %d, "
         "%d, %d)" % (pid, pid, read, write, ai, ai_tenant))
    return pid


def make_tenant(stack, plan="free", origins=(), active=True):
    """A new tenant: (id, slug)."""
    slug = "t-" + tag()
    tid = psql(stack, "INSERT INTO tenants (name, slug, plan_id, "
               "allowed_origins, active) VALUES ('Shop %s', '%s', '%s', %s, "
               "%s) RETURNING id"
               % (slug, slug, plan, sql_array(origins), active))
    return tid, slug


def new_key(kind="secret"):
    return ("sk_" if kind == "secret" else "pk_") + \
        "".join(secrets.choice(BASE62) for _ in range(32))


def insert_key(stack, tenant_id, key, scopes=ALL_SCOPES, expires=None):
    """Store key for tenant_id; returns its id.  expires: SQL expression."""
    kind = "secret" if key.startswith("sk_") else "publishable"
    digest = hashlib.sha256(key.encode()).hexdigest()
    return psql(stack, "INSERT INTO api_keys (tenant_id, name, kind, prefix, "
                "key_hash, scopes, expires_at) VALUES ('%s', 'test', '%s', "
                "'%s', '\\x%s'::bytea, %s, %s) RETURNING id"
                % (tenant_id, kind, key[:11], digest, sql_array(scopes),
                   expires or "NULL"))


def make_key(stack, tenant_id, kind="secret", scopes=ALL_SCOPES,
             expires=None):
    """A new stored key: (key, id)."""
    key = new_key(kind)
    return key, insert_key(stack, tenant_id, key, scopes, expires)


def info_key(key):
    """The Redis name of a key's cached lookup."""
    return "sy:{k:%s}:info" % hashlib.sha256(key.encode()).hexdigest()[:16]


def keyed(stack, key, path="/api/v1/tenant", method="GET", body=None,
          headers=None):
    h = dict(headers or {})
    h["X-API-Key"] = key
    return stack.request(method, path, body=body, headers=h)


def login(stack, email, password=PASSWORD, slug=None):
    body = {"email": email, "password": password}
    if slug:
        body["tenant"] = slug
    return stack.request("POST", "/api/v1/auth/login", body=body)


def token(stack, email, password=PASSWORD, slug=None):
    r = login(stack, email, password, slug)
    assert r.status == 200, r
    return r.json()["access_token"]


def sysadmin_token(stack):
    email = "root-%s@example.com" % tag()
    admin(stack, "create-sysadmin", "--email", email, "--password-stdin",
          stdin=PASSWORD + "\n")
    return token(stack, email)


def user_token(stack, slug, role):
    email = "%s-%s@example.com" % (role, tag())
    admin(stack, "create-user", "--tenant", slug, "--email", email, "--role",
          role, "--password-stdin", stdin=PASSWORD + "\n")
    return token(stack, email, slug=slug)


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def burst(n, fn):
    """Run fn() n times at once (one thread each); results in order,
    exceptions included."""
    results = [None] * n
    gate = threading.Barrier(n)

    def run(i):
        gate.wait()
        try:
            results[i] = fn()
        except Exception as e:  # reported by the caller's assertions
            results[i] = e
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def cors_headers(r):
    """The Access-Control-* headers of a response."""
    return [(k, v) for k, v in r.headers.items()
            if k.lower().startswith("access-control-")]

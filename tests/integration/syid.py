# SPDX-License-Identifier: BSD-2-Clause
"""syid - identity helpers for synthia's integration tests (stdlib only).

Bootstraps tenants, users and API keys with `synthia admin` against a
sylib.Stack, signs in through the web server, reads and writes the
stack's database with psql, and crafts JWTs with the stack's HS256
secret for token-attack tests::

    t = syid.new_tenant(stack)            # tenant + owner + keys
    u = syid.new_user(stack, t, "staff")  # another account in it
    tok = syid.login_ok(stack, u)         # {"access_token", ...}
    r = stack.request("GET", "/api/v1/auth/me",
                      headers=syid.bearer(tok["access_token"]))
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import uuid

import sylib

PGBIN = os.environ.get("SY_PGBIN", "/usr/lib/postgresql/15/bin")
PASSWORD = "correct horse battery staple"


# ------------------------------------------------------------- processes


def _environ(extra):
    """The caller's environment without SYNTHIA_* overrides (the stack's
    config is the whole truth), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTHIA_")}
    env.update(extra or {})
    return env


def synthia(stack, *args, stdin=None, env=None):
    """Run `synthia --config <stack's> ARGS` (env: extra environment,
    e.g. SYNTHIA_* overrides); the JSON line it prints."""
    exe = os.path.join(stack.env.get("SY_BUILDDIR") or sylib.BUILDDIR,
                       "synthia")
    p = subprocess.run([exe, "--config", stack.env["SY_CONFIG"]] + list(args),
                       input=(stdin or "").encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60,
                       env=_environ(env))
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, "synthia %s failed (%d): %s %s" % (
        " ".join(args), p.returncode, out, p.stderr.decode("utf-8", "replace"))
    return json.loads(out.strip().splitlines()[-1])


def psql(stack, sql, **variables):
    """Run sql (psql variables as :'name') on the stack's database; the
    rows as lists of strings."""
    args = [os.path.join(PGBIN, "psql"), "-X", "-q", "-A", "-t",
            "-F", "\t", "-v", "ON_ERROR_STOP=1",
            "-d", stack.env["SY_DATABASE_URL"]]
    for k, v in variables.items():
        args += ["-v", "%s=%s" % (k, v)]
    p = subprocess.run(args, input=sql.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, "psql failed: %s" % p.stderr.decode()
    text = p.stdout.decode()
    return [line.split("\t") for line in text.splitlines() if line]


# ------------------------------------------------------------- accounts


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


class Account(dict):
    """A user as the API returns it, plus the password and tenant slug."""

    @property
    def email(self):
        return self["email"]


def new_tenant(stack, plan="enterprise", origins=()):
    """A tenant with an owner and a secret and a publishable key."""
    slug = unique("t")
    args = ["admin", "create-tenant", "--name", "Shop " + slug,
            "--slug", slug, "--plan", plan]
    for o in origins:
        args += ["--origin", o]
    t = synthia(stack, *args)
    t["sk"] = synthia(stack, "admin", "create-key", "--tenant", slug,
                      "--kind", "secret")["key"]
    t["pk"] = synthia(stack, "admin", "create-key", "--tenant", slug,
                      "--kind", "publishable")["key"]
    t["owner"] = new_user(stack, t, "owner")
    return t


def new_user(stack, tenant, role="shopper", password=PASSWORD, email=None,
             env=None):
    email = email or "%s@example.com" % unique(role)
    u = Account(synthia(stack, "admin", "create-user", "--tenant",
                        tenant["slug"], "--email", email, "--role", role,
                        "--name", role.title() + " User",
                        "--password-stdin", stdin=password + "\n", env=env))
    u["password"] = password
    u["slug"] = tenant["slug"]
    return u


def new_sysadmin(stack, password=PASSWORD):
    email = "%s@example.com" % unique("root")
    u = Account(synthia(stack, "admin", "create-sysadmin", "--email", email,
                        "--password-stdin", stdin=password + "\n"))
    u["password"] = password
    u["slug"] = None
    return u


# ------------------------------------------------------------- requests


def bearer(token, extra=None):
    h = {"Authorization": "Bearer " + token}
    h.update(extra or {})
    return h


def key(k, extra=None):
    h = {"X-API-Key": k}
    h.update(extra or {})
    return h


def login(stack, user, password=None, cookie=None, headers=None,
          tenant="__user__"):
    """POST /auth/login for user (by its tenant slug unless tenant=...)."""
    body = {"email": user["email"],
            "password": user["password"] if password is None else password}
    slug = user.get("slug") if tenant == "__user__" else tenant
    if slug:
        body["tenant"] = slug
    if cookie is not None:
        body["cookie"] = cookie
    return stack.request("POST", "/api/v1/auth/login", body=body,
                         headers=headers)


def login_ok(stack, user, **kw):
    r = login(stack, user, **kw)
    assert r.status == 200, r
    return r.json()


def me(stack, token):
    return stack.request("GET", "/api/v1/auth/me", headers=bearer(token))


def refresh(stack, token):
    return stack.request("POST", "/api/v1/auth/refresh",
                         body={"refresh_token": token})


def set_cookies(r):
    """{name: (value, {attribute lower-cased: value or True})} of r's
    Set-Cookie headers."""
    out = {}
    for line in r.headers.get_all("Set-Cookie"):
        parts = [p.strip() for p in line.split(";")]
        name, _, value = parts[0].partition("=")
        attrs = {}
        for a in parts[1:]:
            k, eq, v = a.partition("=")
            attrs[k.lower()] = v if eq else True
        out[name] = (value, attrs)
    return out


def cookie_header(**cookies):
    return "; ".join("%s=%s" % kv for kv in cookies.items())


# ------------------------------------------------------------- JWTs


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(token):
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), s


def jwt_secret(stack):
    """The HS256 secret as synthia reads auth.jwt_secret_file: the file's
    bytes without the trailing newline."""
    with open(os.path.join(stack.env["SY_STATEDIR"], "jwt.key"), "rb") as f:
        return f.read().rstrip(b"\r\n")


def jwt_sign(header, payload, secret):
    signing = (b64url(json.dumps(header).encode()) + "." +
               b64url(json.dumps(payload).encode()))
    sig = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64url(sig)


def jwt_unsigned(header, payload, signature=""):
    return (b64url(json.dumps(header).encode()) + "." +
            b64url(json.dumps(payload).encode()) + "." + signature)

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The OpenAPI document against the route table and the server (API.md,
"Documentation"): GET /api/v1/openapi.json serves www/openapi.json
byte for byte, with an ETag and 304; every row of app/routes/routes.c is
documented with the same path, method, auth level, scope, rate class and
body, and nothing else is; every $ref resolves; and the server answers
every documented operation, anonymous and signed in, only with statuses,
headers and JSON bodies the document describes."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import json
import os
import re
import uuid
import warnings

import sylib
import syid

SHARED_STACK = dict(workers=2)
TEST_TIMEOUT = 240

DOC_URL = "/api/v1/openapi.json"
V1 = "/api/v1"
SRC_DOC = os.path.join(sylib.SRCDIR, "www", "openapi.json")
ROUTES_C = os.path.join(sylib.SRCDIR, "app", "routes", "routes.c")
ROUTER_C = os.path.join(sylib.SRCDIR, "app", "core", "principal.c")
TAGS = {"health", "identity", "users", "tenants", "keys", "catalog",
        "orders", "uploads", "analysis", "imports", "cache", "providers",
        "events", "jobs",
        "docs"}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

_doc = None


def doc(stack):
    """The served document, fetched once."""
    global _doc
    if _doc is None:
        r = stack.get(DOC_URL)
        assert r.status == 200, r
        _doc = r.json()
    return _doc


# ----------------------------------------------------------- route table

AUTH = {"SY_AUTH_PUBLIC": "public", "SY_AUTH_TRUSTED": "trusted",
        "SY_AUTH_KEY": "key", "SY_AUTH_KEY_OR_USER": "key_or_user",
        "SY_AUTH_USER": "user", "SY_AUTH_STAFF": "staff",
        "SY_AUTH_OWNER": "owner", "SY_AUTH_SYSADMIN": "sysadmin"}
RATE = {"0": "none", "SY_RATE_NONE": "none", "SY_RATE_READ": "read",
        "SY_RATE_WRITE": "write", "SY_RATE_AI": "ai"}
# A row names its fields (.method = "GET", .path = ..., .auth = ...);
# absent fields are zero.
ROW = re.compile(r'\{\s*(\.method\s*=(?:"[^"]*"|[^{}"])*?)\s*\}', re.S)
FIELD = re.compile(r'\.(\w+)\s*=\s*("[^"]*"|[^,]+?)\s*(?:,|$)', re.S)
ROW_FIELDS = ("method", "path", "handler", "auth", "rate", "max_body",
              "flags", "scope")


def row_fields(text):
    """The fields of a row's text, in ROW_FIELDS order, "0" when absent
    and strings without their quotes."""
    f = {k: v.strip('"') for k, v in FIELD.findall(text)}
    return tuple(f.get(k, "0") for k in ROW_FIELDS)


def route_table():
    """[(method, pattern, auth, rate, flags set, scope name or None)] of
    the rows of sy_routes[] in routes.c, macros of that file expanded."""
    with open(ROUTES_C) as f:
        src = f.read()
    with open(ROUTER_C) as f:
        scopes = dict(re.findall(r'\{(SY_SCOPE_\w+),\s*"([a-z]+:[a-z]+)"\}', f.read()))
    assert scopes, "no scope names found in principal.c"
    macros = dict(re.findall(r"^#define\s+(\w+)\s+(\w+)\s*$", src, re.M))
    m = re.search(r"sy_routes\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert m, "sy_routes[] not found in routes.c"
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    rows = [row_fields(r) for r in ROW.findall(body)]
    assert rows and len(rows) == body.count('.method'), \
        "routes.c: %d rows parsed of %d" % (len(rows), body.count('.method'))

    def x(tok):
        return macros.get(tok, tok)
    out = []
    for method, pattern, _handler, auth, rate, limit, flags, scope in rows:
        flagset = {x(t.strip()) for t in flags.split("|")}
        if limit != "0":  # a body limit of its own: the handler reads it
            flagset.add("OWN_BODY")
        sc = None if x(scope) == "0" else scopes[x(scope)]
        out.append((method.lower(), pattern, AUTH[x(auth)], RATE[x(rate)],
                    flagset, sc))
    return out


# ------------------------------------------------------- $ref, schemas


def pointer(d, ref):
    assert ref.startswith("#/"), "non-local $ref %r" % ref
    node = d
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def deref(d, o):
    seen = 0
    while isinstance(o, dict) and "$ref" in o:
        o = pointer(d, o["$ref"])
        seen += 1
        assert seen < 20, "reference loop"
    return o


def type_ok(v, t):
    if t == "null":
        return v is None
    if t == "boolean":
        return isinstance(v, bool)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "array":
        return isinstance(v, list)
    if t == "object":
        return isinstance(v, dict)
    raise AssertionError("unknown type %r" % t)


def validate(d, schema, v, where="$"):
    """The JSON Schema keywords this document uses; a list of errors."""
    errs = []
    if schema is True or schema == {}:
        return errs
    if "$ref" in schema:
        errs += validate(d, pointer(d, schema["$ref"]), v, where)
    for sub in schema.get("allOf", []):
        errs += validate(d, sub, v, where)
    if "anyOf" in schema and not any(
            not validate(d, s, v, where) for s in schema["anyOf"]):
        errs.append("%s: matches none of anyOf" % where)
    if "oneOf" in schema:
        n = sum(1 for s in schema["oneOf"] if not validate(d, s, v, where))
        if n != 1:
            errs.append("%s: matches %d of oneOf, not 1: %r" % (where, n, v))
    if "not" in schema and not validate(d, schema["not"], v, where):
        errs.append("%s: matches not" % where)
    if "const" in schema and v != schema["const"]:
        errs.append("%s: %r is not %r" % (where, v, schema["const"]))
    if "enum" in schema and v not in schema["enum"]:
        errs.append("%s: %r not in %r" % (where, v, schema["enum"]))
    if "type" in schema:
        ts = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(type_ok(v, t) for t in ts):
            errs.append("%s: %r is not %s" % (where, v, "/".join(ts)))
            return errs
    if isinstance(v, str):
        if len(v) < schema.get("minLength", 0):
            errs.append("%s: %r shorter than %d" % (where, v, schema["minLength"]))
        if "maxLength" in schema and len(v) > schema["maxLength"]:
            errs.append("%s: %r longer than %d" % (where, v, schema["maxLength"]))
        if "pattern" in schema:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "[[]" is fine in ECMA-262
                if not re.search(schema["pattern"], v):
                    errs.append("%s: %r does not match %s" % (where, v, schema["pattern"]))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in schema and v < schema["minimum"]:
            errs.append("%s: %r < %r" % (where, v, schema["minimum"]))
        if "maximum" in schema and v > schema["maximum"]:
            errs.append("%s: %r > %r" % (where, v, schema["maximum"]))
    if isinstance(v, list):
        if len(v) < schema.get("minItems", 0):
            errs.append("%s: fewer than %d items" % (where, schema["minItems"]))
        if "maxItems" in schema and len(v) > schema["maxItems"]:
            errs.append("%s: more than %d items" % (where, schema["maxItems"]))
        if "items" in schema:
            for i, item in enumerate(v):
                errs += validate(d, schema["items"], item, "%s[%d]" % (where, i))
    if isinstance(v, dict):
        for k in schema.get("required", []):
            if k not in v:
                errs.append("%s: %s missing" % (where, k))
        props = schema.get("properties", {})
        for k, item in v.items():
            if k in props:
                errs += validate(d, props[k], item, "%s.%s" % (where, k))
            elif schema.get("additionalProperties") is False:
                errs.append("%s: unexpected %s" % (where, k))
            elif isinstance(schema.get("additionalProperties"), dict):
                errs += validate(d, schema["additionalProperties"], item,
                                 "%s.%s" % (where, k))
        for k, needs in schema.get("dependentRequired", {}).items():
            if k in v:
                errs += ["%s: %s needs %s" % (where, k, n) for n in needs if n not in v]
    return errs


# ------------------------------------------------ matching responses


def template_regex(path):
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


def find_op(d, method, url):
    path = url.split("?")[0]
    for p, item in d["paths"].items():
        if template_regex(p).match(path) and method.lower() in item:
            return p, item[method.lower()]
    raise AssertionError("%s %s is not documented" % (method, path))


def media(ct):
    return (ct or "").split(";")[0].strip().lower()


def check(stack, r, expect=None):
    """Assert that response r is documented for its operation: its status,
    its required headers, its content type and its JSON body."""
    d = doc(stack)
    path, op = find_op(d, r.method, r.path)
    where = "%s %s -> %d" % (r.method, path, r.status)
    if expect is not None:
        assert r.status == expect, "expected %d: %r" % (expect, r)
    assert str(r.status) in op["responses"], \
        "%s: status not documented (%s); %r" % (where, sorted(op["responses"]), r)
    resp = deref(d, op["responses"][str(r.status)])
    for name, h in resp.get("headers", {}).items():
        if deref(d, h).get("required"):
            assert r.headers.get(name) is not None, "%s: no %s header: %r" % (where, name, r)
    content = resp.get("content", {})
    if not content:
        assert r.body == b"", "%s: undocumented body %r" % (where, r)
        return r
    if r.method == "HEAD":
        return r
    by_media = {media(k): v for k, v in content.items()}
    assert r.content_type in by_media, \
        "%s: content type %r, documented %s" % (where, r.content_type, sorted(by_media))
    if r.content_type.endswith("json"):
        errs = validate(d, by_media[r.content_type].get("schema", {}), r.json())
        assert not errs, "%s: body does not match the document:\n  %s\n%r" % (
            where, "\n  ".join(errs[:10]), r)
    if r.content_type == "application/problem+json":
        p = r.json()
        assert p["request_id"] == r.headers.get("X-Request-Id"), r
        assert p["type"] == "urn:synthia:problem:" + p["code"], p
        codes = {(c["status"], c["code"]) for c in d["info"]["x-synthia-error-codes"]}
        assert (r.status, p["code"]) in codes, "%s: code %s undocumented" % (where, p["code"])
    return r


def concrete(path):
    """A documented path with a made-up id for each {param}."""
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


# ------------------------------------------------------------- the file


def test_document_is_the_source_file(stack):
    r = stack.get(DOC_URL)
    assert r.status == 200, r
    assert r.content_type == "application/json", r
    with open(SRC_DOC, "rb") as f:
        src = f.read()
    # compiled in by build-aux/embed-file.sh: byte for byte, escapes and all
    assert r.body == src, "the served document differs from www/openapi.json " \
                          "(stale build, or embed-file.sh mangles it)"
    d = json.loads(src)
    assert d["openapi"].startswith("3.1."), d["openapi"]
    assert r.headers.get("Cache-Control") == "public, max-age=300", r
    assert re.match(r'^"[0-9a-f]{16}"$', r.headers.get("ETag") or ""), r


def test_etag_and_304(stack):
    r = stack.get(DOC_URL)
    etag = r.headers["ETag"]
    for inm in (etag, "W/" + etag, '"nope", ' + etag, "*"):
        r2 = stack.get(DOC_URL, headers={"If-None-Match": inm})
        assert r2.status == 304, (inm, r2)
        assert r2.body == b"", r2
        assert r2.headers.get("ETag") == etag, r2
        check(stack, r2)
    r3 = stack.get(DOC_URL, headers={"If-None-Match": '"0000000000000000"'})
    assert r3.status == 200 and r3.headers.get("ETag") == etag, r3
    h = stack.request("HEAD", DOC_URL)
    assert h.status == 200 and h.body == b"" and h.headers.get("ETag") == etag, h


def test_every_ref_resolves(stack):
    d = doc(stack)
    bad = []

    def walk(node, where):
        if isinstance(node, dict):
            if "$ref" in node:
                target = pointer(d, node["$ref"])
                if not isinstance(target, dict):
                    bad.append("%s -> %s" % (where, node["$ref"]))
                # this document gives a $ref only a summary or description
                extra = set(node) - {"$ref", "summary", "description"}
                if extra:
                    bad.append("%s: $ref with %s" % (where, sorted(extra)))
            for k, v in node.items():
                walk(v, where + "/" + k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, "%s/%d" % (where, i))
    walk(d, "#")
    assert not bad, "unresolved or malformed references:\n" + "\n".join(bad)


def test_paths_match_route_table(stack):
    d = doc(stack)
    table = route_table()
    rows = {(m, p) for m, p, *_ in table}
    documented = {(m, p) for p, item in d["paths"].items()
                  for m in item if m in METHODS}
    assert not rows - documented, "routes missing from the document: %s" % sorted(rows - documented)
    assert not documented - rows, "documented but not in routes.c: %s" % sorted(documented - rows)
    assert len(table) == len(rows), "routes.c has a duplicate row"
    for method, pattern, auth, rate, flags, scope in table:
        op = d["paths"][pattern][method]
        where = "%s %s" % (method.upper(), pattern)
        assert op.get("x-synthia-auth") == auth, "%s: x-synthia-auth %r, routes.c %r" % (
            where, op.get("x-synthia-auth"), auth)
        assert op.get("x-synthia-scope", "absent") == scope, "%s: x-synthia-scope %r, routes.c %r" % (
            where, op.get("x-synthia-scope"), scope)
        assert op.get("x-synthia-rate-class") == rate, "%s: x-synthia-rate-class %r, routes.c %r" % (
            where, op.get("x-synthia-rate-class"), rate)
        # path parameters: the pattern's names, declared as such
        names = re.findall(r"\{([^}]+)\}", pattern)
        declared = [p["name"] for p in (deref(d, q) for q in op.get("parameters", []))
                    if p["in"] == "path"]
        assert sorted(declared) == sorted(names), "%s: path parameters %s" % (where, declared)
        for q in op.get("parameters", []):
            q = deref(d, q)
            if q["in"] == "path":
                assert q.get("required") is True, where
        # a JSON body exactly where the dispatcher reads one
        body = op.get("requestBody")
        if "SY_ROUTE_JSON_OPTIONAL" in flags:
            assert body and body.get("required") is False and \
                "application/json" in body["content"], "%s: needs an optional JSON body" % where
        elif "SY_ROUTE_JSON" in flags:
            assert body and body.get("required") is True and \
                "application/json" in body["content"], "%s: needs a required JSON body" % where
        elif "OWN_BODY" in flags:
            assert body and body.get("required") is True and \
                "application/json" not in body["content"], \
                "%s: needs a required body of its own (not JSON)" % where
        else:
            assert not body or body.get("required") is not True, \
                "%s: the dispatcher reads no body here" % where
        # security requirements as the auth level and scope admit
        sec = op.get("security")
        assert isinstance(sec, list) and sec, "%s: no security" % where
        keyed = [req["apiKey"] for req in sec if "apiKey" in req]
        anonymous = {} in sec
        key_optional = "SY_ROUTE_KEY_OPTIONAL" in flags
        if auth == "key":
            assert keyed == [[scope]] and len(sec) == 1, where
        elif auth == "public":
            assert anonymous, where
            assert keyed == ([[scope]] if key_optional else []), where
        elif auth == "trusted":
            assert anonymous and keyed == ([[scope]] if scope else []), where
        else:
            assert not anonymous, where
            assert keyed == ([[scope]] if scope else []), where
            assert any("bearerAuth" in req for req in sec), where


def test_operations_are_complete(stack):
    d = doc(stack)
    assert {t["name"] for t in d["tags"]} == TAGS, d["tags"]
    schemes = d["components"]["securitySchemes"]
    for name in ("bearerAuth", "cookieAuth", "apiKey"):
        assert name in schemes, name
    assert schemes["apiKey"]["in"] == "header" and schemes["apiKey"]["name"] == "X-API-Key"
    assert schemes["cookieAuth"]["in"] == "cookie" and schemes["cookieAuth"]["name"] == "sy_access"
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    for name in ("Problem", "User", "Tenant", "Plan", "ApiKey", "ApiKeyCreated",
                 "TokenPair", "JWKS"):
        assert name in d["components"]["schemas"], name
    assert "Retry-After" in deref(d, d["components"]["responses"]["RateLimited"])["headers"]
    ids = set()
    for path, item in d["paths"].items():
        for method, op in item.items():
            where = "%s %s" % (method.upper(), path)
            assert op.get("operationId") and op["operationId"] not in ids, where
            ids.add(op["operationId"])
            assert op.get("tags") and set(op["tags"]) <= TAGS, where
            assert op.get("summary") and op.get("description"), where
            for req in op["security"]:
                assert set(req) <= set(schemes), where
            codes = set(op["responses"])
            assert any(c.startswith("2") for c in codes), where
            if op["x-synthia-auth"] not in ("public", "trusted"):
                assert {"401", "403"} <= codes, where
            if "requestBody" in op:
                assert {"400", "413", "415", "422"} <= codes, where
                for mt, content in op["requestBody"]["content"].items():
                    schema = deref(d, content["schema"])
                    if mt == "application/json" or mt.startswith("multipart/"):
                        assert schema.get("type") == "object", (where, mt)
                    elif mt.startswith("text/"):  # a raw text body (CSV)
                        assert schema.get("type") == "string", (where, mt)
                    else:  # a raw body (an image)
                        assert schema.get("type") == "string" and \
                            schema.get("format") == "binary", (where, mt)
            for code, resp in op["responses"].items():
                assert deref(d, resp).get("description"), (where, code)


def test_error_codes_are_documented():
    """Every (status, code) the server can answer: problem.c's table and
    each literal sy_problem(res, status, "code", ...) under app/."""
    with open(SRC_DOC) as f:
        d = json.load(f)
    documented = {(c["status"], c["code"]) for c in d["info"]["x-synthia-error-codes"]}
    used = set()
    with open(os.path.join(sylib.SRCDIR, "app", "http", "problem.c")) as f:
        used |= {(int(s), c) for s, c in
                 re.findall(r'\{SY_E\w+,\s*(\d+),\s*"([a-z_]+)"', f.read())}
    for top, _dirs, files in os.walk(os.path.join(sylib.SRCDIR, "app")):
        for name in files:
            if name.endswith(".c"):
                with open(os.path.join(top, name)) as f:
                    used |= {(int(s), c) for s, c in re.findall(
                        r'sy_problem\(\s*\w+,\s*(\d+),\s*"([a-z_]+)"', f.read())}
    assert used, "no problem codes found"
    missing = sorted(used - documented)
    assert not missing, "problem codes missing from x-synthia-error-codes: %s" % missing


# ------------------------------------------------------ live behaviour


def test_anonymous_calls_are_documented(stack):
    """Every documented operation, called without credentials: routed (no
    router 404/405) and answered as the document says."""
    d = doc(stack)
    for path, item in d["paths"].items():
        for method, op in item.items():
            url = concrete(path)
            body = {} if "requestBody" in op else None
            r = stack.request(method.upper(), url, body=body)
            assert r.status != 405, r
            if r.status == 404:
                assert r.json()["detail"] != "No resource matches this path.", r
            check(stack, r)


def test_other_methods_get_405_with_allow(stack):
    d = doc(stack)
    for path, item in d["paths"].items():
        url = concrete(path)
        r = stack.request("PUT", url, body={})
        sylib.assert_problem(r, 405, "method_not_allowed")
        allow = {m.strip() for m in r.headers["Allow"].split(",")}
        # the methods of every path the URL matches: a literal segment
        # (/products/search) also matches a {param} (/products/{id})
        want = {m.upper() for p, it in d["paths"].items()
                if template_regex(p).match(url) for m in it if m in METHODS}
        if "GET" in want:
            want.add("HEAD")
        assert allow == want, (path, allow, want)


def test_signed_in_calls_are_documented(stack):
    """A tour of every operation with real credentials: each status,
    required header and JSON body is the documented one."""
    t = syid.new_tenant(stack)
    owner = t["owner"]
    root = syid.new_sysadmin(stack)
    req = stack.request

    def c(method, url, expect, body=None, headers=None):
        return check(stack, req(method, url, body=body, headers=headers), expect)

    otok = syid.login_ok(stack, owner)["access_token"]
    rtok = syid.login_ok(stack, root)["access_token"]
    ob, rb = syid.bearer(otok), syid.bearer(rtok)

    # health and operations (from loopback: trusted)
    for url in ("/health", "/health/live", "/health/ready",
                "/health/detailed", "/health/storage", "/metrics"):
        c("GET", url, 200)
    c("GET", "/metrics", 200, headers=syid.key(t["sk"]))

    # identity
    c("GET", V1 + "/plans", 200)
    email = "%s@example.com" % syid.unique("reg")
    new = {"email": email, "password": syid.PASSWORD, "name": "  Reg User "}
    r = c("POST", V1 + "/auth/register", 201, new, syid.key(t["pk"]))
    assert r.json()["name"] == "Reg User" and r.headers.get("RateLimit-Limit"), r
    c("POST", V1 + "/auth/register", 409, new, syid.key(t["pk"]))
    c("POST", V1 + "/auth/register", 422, {"email": "x"}, syid.key(t["pk"]))
    c("POST", V1 + "/auth/register", 401, new)
    c("POST", V1 + "/auth/register", 415, "x", dict(syid.key(t["pk"]), **{"Content-Type": "text/plain"}))
    c("POST", V1 + "/auth/register", 400, "{", dict(syid.key(t["pk"]), **{"Content-Type": "application/json"}))

    login = {"email": email, "password": syid.PASSWORD}
    r = c("POST", V1 + "/auth/login", 200, login, syid.key(t["pk"]))
    assert r.headers.get("RateLimit-Policy"), r
    pair = r.json()
    stok = pair["access_token"]
    c("POST", V1 + "/auth/login", 401, dict(login, password="wrong password"), syid.key(t["pk"]))
    c("POST", V1 + "/auth/login", 401, login, syid.key("pk_" + "0" * 32))
    c("POST", V1 + "/auth/login", 401, dict(login, tenant=t["slug"] + "-other"))
    r = c("POST", V1 + "/auth/login", 200, dict(login, tenant=t["slug"], cookie=True))
    jar = syid.set_cookies(r)
    assert set(jar) == {"sy_access", "sy_refresh", "sy_csrf"}, r
    cookie = syid.cookie_header(**{k: v[0] for k, v in jar.items()})
    csrf = r.json()["csrf_token"]
    assert csrf == jar["sy_csrf"][0], r

    r = c("POST", V1 + "/auth/refresh", 200, {"refresh_token": pair["refresh_token"]})
    pair = r.json()
    stok = pair["access_token"]
    c("POST", V1 + "/auth/refresh", 401, {"refresh_token": "not-a-token"})
    c("POST", V1 + "/auth/refresh", 401)
    c("POST", V1 + "/auth/refresh", 415, "x", {"Content-Type": "text/plain"})
    c("POST", V1 + "/auth/refresh", 422, {"refresh_token": 5})
    c("POST", V1 + "/auth/refresh", 403, None, {"Cookie": cookie})
    r = c("POST", V1 + "/auth/refresh", 200, None, {"Cookie": cookie, "X-CSRF-Token": csrf})
    jar = syid.set_cookies(r)
    cookie = syid.cookie_header(**{k: v[0] for k, v in jar.items()})

    r = c("GET", V1 + "/auth/me", 200, None, syid.bearer(stok))
    c("GET", V1 + "/auth/me", 304, None, syid.bearer(stok, {"If-None-Match": r.headers["ETag"]}))
    c("GET", V1 + "/auth/me", 200, None, {"Cookie": cookie})
    c("GET", V1 + "/auth/me", 403, None, syid.key(t["sk"]))
    c("GET", V1 + "/auth/me", 401, None, syid.bearer("x.y.z"))
    r = c("GET", "/.well-known/jwks.json", 200)
    c("GET", "/.well-known/jwks.json", 304, None, {"If-None-Match": r.headers["ETag"]})

    # your own account
    c("PATCH", V1 + "/users/me", 200, {"name": "Renamed"}, syid.bearer(stok))
    c("PATCH", V1 + "/users/me", 200, {}, syid.bearer(stok))
    c("PATCH", V1 + "/users/me", 422, {"password": "another password"}, syid.bearer(stok))
    c("PATCH", V1 + "/users/me", 403, {"password": "another password", "current_password": "wrong"},
      syid.bearer(stok))
    c("PATCH", V1 + "/users/me", 403, {"name": "X"}, {"Cookie": cookie})
    c("PATCH", V1 + "/users/me", 200, {"name": "X"}, {"Cookie": cookie, "X-CSRF-Token": csrf})
    c("PATCH", V1 + "/users/me", 403, {"name": "X"}, syid.key(t["sk"]))

    # a tenant's users
    r = c("POST", V1 + "/users", 201, {"email": "%s@example.com" % syid.unique("s"),
                                         "password": syid.PASSWORD, "name": "Staff", "role": "staff"}, ob)
    staff_id = r.json()["id"]
    c("POST", V1 + "/users", 422, {"email": "bad", "password": "x", "name": "", "role": "king"}, ob)
    c("POST", V1 + "/users", 409, {"email": email, "password": syid.PASSWORD, "name": "Dup",
                                     "role": "shopper"}, ob)
    c("POST", V1 + "/users?tenant_id=%s" % uuid.uuid4(), 404,
      {"email": "a@example.com", "password": syid.PASSWORD, "name": "A", "role": "staff"}, rb)
    r = c("GET", V1 + "/users?limit=1", 200, None, ob)
    assert r.json()["next_cursor"], r
    c("GET", V1 + "/users?limit=1&cursor=" + r.json()["next_cursor"], 200, None, ob)
    c("GET", V1 + "/users?role=staff", 200, None, ob)
    c("GET", V1 + "/users?limit=0", 422, None, ob)
    c("GET", V1 + "/users?cursor=nonsense", 400, None, ob)
    c("GET", V1 + "/users", 422, None, rb)
    c("GET", V1 + "/users?tenant_id=" + t["id"], 200, None, rb)
    c("GET", V1 + "/users", 403, None, syid.bearer(stok))
    c("GET", V1 + "/users", 401)
    c("PATCH", V1 + "/users/" + staff_id, 200, {"role": "shopper"}, ob)
    c("PATCH", V1 + "/users/" + staff_id, 200, {"role": "staff", "active": True}, ob)
    c("PATCH", V1 + "/users/" + str(uuid.uuid4()), 404, {"active": False}, ob)
    c("PATCH", V1 + "/users/not-a-uuid", 404, {"active": False}, ob)
    c("PATCH", V1 + "/users/" + owner["id"], 409, {"active": False}, ob)
    c("PATCH", V1 + "/users/" + staff_id, 422, {"role": "sysadmin"}, ob)

    # plans and tenants
    slug = syid.unique("oa")
    r = c("POST", V1 + "/tenants", 201, {"name": "OpenAPI Shop", "slug": slug, "plan": "free",
                                         "website": "https://shop.example",
                                         "allowed_origins": ["HTTPS://Shop.Example:443"]}, rb)
    tid = r.json()["id"]
    assert r.headers["Location"] == V1 + "/tenants/" + tid, r
    assert r.json()["allowed_origins"] == ["https://shop.example"], r
    c("POST", V1 + "/tenants", 409, {"name": "Again", "slug": slug, "plan": "free"}, rb)
    c("POST", V1 + "/tenants", 422, {"name": " ", "slug": "-x", "plan": "nope",
                                     "allowed_origins": ["ftp://x"]}, rb)
    c("POST", V1 + "/tenants", 403, {"name": "N", "slug": slug + "x", "plan": "free"}, ob)
    r = c("GET", V1 + "/tenants?limit=1", 200, None, rb)
    c("GET", V1 + "/tenants?active=false", 200, None, rb)
    c("GET", V1 + "/tenants?active=maybe", 422, None, rb)
    r = c("GET", V1 + "/tenants/" + tid, 200, None, rb)
    c("GET", V1 + "/tenants/" + tid, 304, None, dict(rb, **{"If-None-Match": r.headers["ETag"]}))
    c("GET", V1 + "/tenants/" + str(uuid.uuid4()), 404, None, rb)
    c("PATCH", V1 + "/tenants/" + tid, 200, {"website": None, "plan": "basic", "active": True}, rb)
    c("PATCH", V1 + "/tenants/" + tid, 422, {"plan": "no_such_plan"}, rb)
    c("PATCH", V1 + "/tenants/" + str(uuid.uuid4()), 404, {"name": "Ghost"}, rb)

    # your own tenant
    r = c("GET", V1 + "/tenant", 200, None, ob)
    c("GET", V1 + "/tenant", 304, None, dict(ob, **{"If-None-Match": r.headers["ETag"]}))
    r = c("GET", V1 + "/tenant", 200, None, syid.key(t["sk"]))
    assert r.headers.get("RateLimit"), r
    c("GET", V1 + "/tenant", 403, None, syid.key(t["pk"]))
    c("GET", V1 + "/tenant", 403, None, syid.key(t["sk"], {"Origin": "https://evil.example"}))
    c("GET", V1 + "/tenant", 422, None, rb)
    c("GET", V1 + "/tenant?tenant_id=" + t["id"], 200, None, rb)
    c("GET", V1 + "/tenant?tenant_id=%s" % uuid.uuid4(), 404, None, rb)
    c("PATCH", V1 + "/tenant", 200, {"name": "Renamed Shop", "allowed_origins": []}, ob)
    c("PATCH", V1 + "/tenant", 422, {"plan": "free", "active": False}, ob)

    # keys
    c("GET", V1 + "/tenant/keys?limit=1", 200, None, ob)
    r = c("POST", V1 + "/tenant/keys", 201, {"kind": "secret", "name": " ci "}, ob)
    kid = r.json()["id"]
    c("POST", V1 + "/tenant/keys", 201, {"kind": "publishable", "scopes": ["catalog:read"]}, ob)
    c("POST", V1 + "/tenant/keys", 422, {"kind": "publishable", "scopes": ["metrics:read"]}, ob)
    c("POST", V1 + "/tenant/keys", 422, {"kind": "other", "scopes": []}, ob)
    c("POST", V1 + "/tenant/keys?tenant_id=%s" % uuid.uuid4(), 404, {"kind": "secret"}, rb)
    r = c("POST", V1 + "/tenant/keys/%s/rotate" % kid, 201, {"grace_seconds": 60}, ob)
    c("POST", V1 + "/tenant/keys/%s/rotate" % kid, 409, {}, ob)
    c("POST", V1 + "/tenant/keys/%s/rotate" % r.json()["id"], 415, "x",
      dict(ob, **{"Content-Type": "text/plain"}))
    c("POST", V1 + "/tenant/keys/%s/rotate" % r.json()["id"], 422, {"grace_seconds": -1}, ob)
    c("POST", V1 + "/tenant/keys/%s/rotate" % uuid.uuid4(), 404, {}, ob)
    c("DELETE", V1 + "/tenant/keys/" + kid, 204, None, ob)
    c("DELETE", V1 + "/tenant/keys/" + kid, 204, None, ob)
    c("DELETE", V1 + "/tenant/keys/" + str(uuid.uuid4()), 404, None, ob)
    c("DELETE", V1 + "/tenant/keys/" + kid, 422, None, rb)
    c("GET", V1 + "/tenant/keys", 403, None, syid.bearer(stok))

    # catalog
    sk, pk, sb = syid.key(t["sk"]), syid.key(t["pk"]), syid.bearer(stok)
    prod = {"sku": syid.unique("OA"), "name": " Linen Shirt ", "category": "shirts",
            "description": "A breezy shirt.\nLinen.", "price_cents": 4900,
            "currency": "EUR", "stock": 3, "colors": ["#AABBCC"],
            "attributes": {"fit": "slim"}, "image_url": "https://img.example/a.jpg"}
    r = c("POST", V1 + "/products", 201, prod, ob)
    pid = r.json()["id"]
    assert r.headers["Location"] == V1 + "/products/" + pid, r
    c("POST", V1 + "/products", 201, dict(prod, sku=syid.unique("OA"), category="scarves",
                                          colors=None, attributes=None, image_url=None), sk)
    c("POST", V1 + "/products", 409, prod, ob)
    c("POST", V1 + "/products", 422, {"sku": "bad sku", "name": " ", "price_cents": -1,
                                      "currency": "eur", "colors": ["red"]}, ob)
    c("POST", V1 + "/products", 403, prod, sb)
    c("POST", V1 + "/products", 403, prod, pk)
    r = c("GET", V1 + "/products/" + pid, 200, None, pk)
    c("GET", V1 + "/products/" + pid, 304, None, syid.key(t["pk"], {"If-None-Match": r.headers["ETag"]}))
    c("GET", V1 + "/products/" + str(uuid.uuid4()), 404, None, sb)
    c("PATCH", V1 + "/products/" + pid, 200, {"price_cents": 5900, "image_url": None}, ob)
    c("PATCH", V1 + "/products/" + pid, 200, {}, sk)
    c("PATCH", V1 + "/products/" + pid, 422, {"currency": "euro", "active": "yes"}, ob)
    c("PATCH", V1 + "/products/" + str(uuid.uuid4()), 404, {"stock": 1}, ob)
    r = c("GET", V1 + "/products?limit=1", 200, None, sk)
    assert r.headers["X-Cache"] == "MISS" and r.json()["next_cursor"], r
    r = c("GET", V1 + "/products?limit=1", 200, None, pk)
    assert r.headers["X-Cache"] == "HIT", r
    c("GET", V1 + "/products?limit=1&cursor=" + r.json()["next_cursor"], 200, None, sb)
    c("GET", V1 + "/products?category=shirts&min_price=0&max_price=9999&in_stock=true"
      "&color=AABBCC", 200, None, syid.bearer(otok, {"Cache-Control": "no-cache"}))
    c("GET", V1 + "/products?in_stock=maybe&color=red&min_price=-1", 422, None, ob)
    c("GET", V1 + "/products?cursor=nonsense", 400, None, ob)
    c("GET", V1 + "/products", 422, None, rb)
    c("GET", V1 + "/products?tenant_id=" + t["id"], 200, None, rb)
    r = c("GET", V1 + "/categories", 200, None, sb)
    assert {x["name"] for x in r.json()} == {"shirts", "scarves"}, r
    for mode in ("text", "semantic", "hybrid"):
        r = c("GET", V1 + "/products/search?q=linen&mode=" + mode, 200, None, pk)
        assert r.json()["items"] and r.json()["mode"] == mode, r
    c("GET", V1 + "/products/search?q=%20&mode=fuzzy&limit=51", 422, None, sk)

    # orders
    line = {"items": [{"product_id": pid, "quantity": 1}], "note": "gift"}
    idem = syid.bearer(stok, {"Idempotency-Key": syid.unique("idem")})
    r = c("POST", V1 + "/orders", 201, line, idem)
    oid = r.json()["id"]
    assert r.headers["Location"] == V1 + "/orders/" + oid, r
    r = c("POST", V1 + "/orders", 201, line, idem)
    assert r.headers.get("Idempotent-Replayed") == "true" and r.json()["id"] == oid, r
    c("POST", V1 + "/orders", 422, dict(line, note="other"), idem)
    c("POST", V1 + "/orders", 400, line, syid.bearer(stok, {"Idempotency-Key": "k" * 256}))
    c("POST", V1 + "/orders", 409, {"items": [{"product_id": pid, "quantity": 1000}]}, sb)
    c("POST", V1 + "/orders", 422, {"items": [{"product_id": "x", "quantity": 0}]}, sb)
    c("POST", V1 + "/orders", 403, line, rb)
    c("POST", V1 + "/orders", 403, line, sk)
    r = c("GET", V1 + "/orders/" + oid, 200, None, sb)
    c("GET", V1 + "/orders/" + oid, 304, None, syid.bearer(stok, {"If-None-Match": r.headers["ETag"]}))
    c("GET", V1 + "/orders/" + str(uuid.uuid4()), 404, None, ob)
    c("GET", V1 + "/orders?status=pending&limit=1", 200, None, ob)
    c("GET", V1 + "/orders?tenant_id=" + t["id"], 200, None, rb)
    c("GET", V1 + "/orders", 200, None, sb)
    c("GET", V1 + "/orders?status=lost", 422, None, ob)
    c("POST", V1 + "/orders/%s/transition" % oid, 403, {"to": "paid"}, sb)
    c("POST", V1 + "/orders/%s/transition" % oid, 200, {"to": "paid"}, ob)
    c("POST", V1 + "/orders/%s/transition" % oid, 409, {"to": "paid"}, ob)
    c("POST", V1 + "/orders/%s/transition" % oid, 422, {"to": "pending"}, ob)
    c("POST", V1 + "/orders/%s/transition" % oid, 200, {"to": "canceled"}, ob)
    c("POST", V1 + "/orders/%s/transition" % uuid.uuid4(), 404, {"to": "paid"}, ob)
    c("DELETE", V1 + "/products/" + pid, 204, None, ob)
    c("DELETE", V1 + "/products/" + pid, 204, None, sk)
    c("GET", V1 + "/products/" + pid, 404, None, pk)
    c("GET", V1 + "/products/" + pid, 200, None, ob)
    c("DELETE", V1 + "/products/" + str(uuid.uuid4()), 404, None, ob)

    # result cache
    c("GET", V1 + "/cache/stats", 200, None, ob)
    c("GET", V1 + "/cache/stats", 200, None, rb)
    c("GET", V1 + "/cache/stats?tenant_id=" + t["id"], 200, None, rb)
    c("GET", V1 + "/cache/stats?tenant_id=nope", 422, None, rb)
    c("GET", V1 + "/cache/stats", 403, None, sb)
    c("DELETE", V1 + "/cache?type=search", 200, None, ob)
    c("DELETE", V1 + "/cache?type=analysis&user_id=" + str(uuid.uuid4()), 200, None, ob)
    c("DELETE", V1 + "/cache?type=list&user_id=x", 422, None, ob)
    c("DELETE", V1 + "/cache", 422, None, rb)
    c("DELETE", V1 + "/cache", 403, None, sk)

    # import sessions
    csv = dict(ob, **{"Content-Type": "text/csv"})
    r = c("POST", V1 + "/imports", 201, "sku,name,price\nIMP-1,Shirt,EUR 9.50\n", csv)
    imp = V1 + "/imports/" + r.json()["id"]
    c("POST", V1 + "/imports", 422, b"a\n\xff\n", csv)
    c("POST", V1 + "/imports", 415, "a\n1\n", dict(ob, **{"Content-Type": "text/plain"}))
    c("POST", V1 + "/imports", 403, "a\n1\n", dict(syid.key(t["sk"]), **{"Content-Type": "text/csv"}))
    c("GET", imp + "?limit=10", 200, None, ob)
    c("GET", imp + "?limit=5000", 422, None, ob)
    c("GET", V1 + "/imports/" + str(uuid.uuid4()), 404, None, ob)
    c("POST", imp + "/ops", 200, {"ops": [{"op": "map", "column": c_, "field": c_}
                                         for c_ in ("sku", "name", "price")]}, ob)
    c("POST", imp + "/ops", 409, {"ops": [{"op": "drop_rows", "rows": [0]}], "base_version": 1}, ob)
    c("POST", imp + "/ops", 422, {"ops": [{"op": "nope"}]}, ob)
    c("POST", imp + "/ops", 400, "{", dict(ob, **{"Content-Type": "application/json"}))
    c("GET", imp + "/versions", 200, None, ob)
    c("GET", imp + "/audit", 200, None, ob)
    c("POST", imp + "/commit", 200, None, dict(ob, **{"Idempotency-Key": syid.unique("k")}))
    c("POST", imp + "/undo", 200, None, ob)
    c("POST", imp + "/undo", 409, None, ob)
    c("DELETE", imp, 204, None, ob)
    c("DELETE", imp, 404, None, ob)

    # signing out and erasure
    c("POST", V1 + "/auth/logout", 403, None, {"Cookie": cookie})
    r = c("POST", V1 + "/auth/logout", 204, None, {"Cookie": cookie, "X-CSRF-Token": csrf})
    assert set(syid.set_cookies(r)) == {"sy_access", "sy_refresh", "sy_csrf"}, r
    c("GET", V1 + "/auth/me", 401, None, {"Cookie": cookie})
    c("POST", V1 + "/auth/logout-all", 204, None, syid.bearer(stok))
    c("GET", V1 + "/auth/me", 401, None, syid.bearer(stok))
    c("DELETE", V1 + "/users/me", 409, None, ob)
    stok = syid.login_ok(stack, syid.Account(email=email, password=syid.PASSWORD,
                                             slug=t["slug"]))["access_token"]
    c("DELETE", V1 + "/users/me", 204, None, syid.bearer(stok))
    c("POST", V1 + "/auth/logout", 401, None, syid.bearer(stok))


sylib.main(globals())

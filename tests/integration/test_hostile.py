#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Hostile input through nginx against real PostgreSQL and Redis (issue 10):
generated from the OpenAPI document (www/openapi.json, which
test_openapi.py holds equal to the route table), so a new route is covered
without touching this file.

For every operation that takes a JSON body, every string field (nested
ones and object keys included) gets invalid UTF-8 (an overlong form,
surrogate bytes, a code point above U+10FFFF, a truncated sequence, a
lone surrogate escape), a NUL and C0 control characters (escaped and
raw); every number field huge numbers (1e400, 2^64); the whole body deep
nesting (10,000 levels) and more bytes than the route takes.  Every query
parameter and every path capture gets the same classes percent-encoded,
and long values, many short terms and odd separators (the hostile
searches); every header parameter and every credential of the
operation's security schemes (bearer token, API key, cookies) invalid
UTF-8, a control character and an over-long value.  Each request is
made as a caller who reaches the handler: a tenant owner and a sysadmin
(with ?tenant_id=) where the operation admits them, else its API key or
no credential.

The expectations: never a 5xx, every 4xx an application/problem+json of
synthia's shape, and the right one: invalid UTF-8 in a body is 400
invalid_json, a NUL 422 validation_failed naming the field (400 when
unescaped, which is not JSON), a control character 422 naming the field
whenever the field's documented pattern refuses it, a huge number 400 or
422 naming the field, deep nesting 400, an oversized body 413; in a query
parameter or path capture, invalid UTF-8 and NUL are 400 or 422 (404 for
a capture), and so is any value the parameter's schema refuses; a
spoilt credential is 401 where the operation needs one."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import json
import os
import re
import urllib.parse
import uuid

import sylib
import syid

# Every request of this file comes from 127.0.0.1 and many are logins with
# bad emails: lift the per-address failed-login limit.
SHARED_STACK = dict(workers=2,
                    extra_config="[auth]\nlogin_address_limit = 100000\n")
TEST_TIMEOUT = 110

DOC = os.path.join(sylib.SRCDIR, "www", "openapi.json")
WRITES = ("post", "put", "patch", "delete")
METHODS = ("get",) + WRITES
MARK = "@@hostile@@"

# What replaces MARK inside a JSON string (raw bytes of the body).
BAD_UTF8 = {
    "overlong": b"\xc0\xaf",
    "surrogate bytes": b"\xed\xa0\x80",
    "above U+10FFFF": b"\xf4\x90\x80\x80",
    "truncated": b"a\xe2\x82",
    "lone surrogate escape": b"\\ud800x",
}
NUL = b"a\\u0000b"
RAW_NUL = b"a\x00b"
CONTROLS = {"\x01": b"a\\u0001b", "\x1b": b"a\\u001bb", "\x08": b"a\\bb",
            "raw \x01": b"a\x01b", "raw \x1f": b"a\x1fb"}
HUGE = (b"1e400", b"-1e400", b"18446744073709551616",
        b"-18446744073709551617", b"1e-400")
DEPTH = 10000

# The same classes in a query string or path (percent-encoded).
Q_BAD = ("%C0%AF", "%ED%A0%80", "%F4%90%80%80", "a%E2%82", "%FF", "a%00b")
Q_OTHER = ("a%01b", "a%1Bb", "1e400", "18446744073709551616",
           "-18446744073709551617", "x" * 2000,
           # many short terms, odd separators, operators (33 or more
           # hyphens are issue 10, item 4, not fixed yet: not sent)
           "a+" * 300, "a%E2%80%8B" * 200, "a%C2%A0" * 200, "%22" * 99,
           "!(" * 100)


# ------------------------------------------------------- the document

_doc = None


def doc():
    global _doc
    if _doc is None:
        with open(DOC, encoding="utf-8") as f:
            _doc = json.load(f)
    return _doc


def deref(s):
    while isinstance(s, dict) and "$ref" in s:
        node = doc()
        for part in s["$ref"].lstrip("#/").split("/"):
            node = node[part]
        s = node
    return s


def flatten(s):
    """A schema with $ref, allOf and a nullable oneOf/anyOf resolved."""
    s = deref(s)
    if "allOf" in s:
        merged = {k: v for k, v in s.items() if k != "allOf"}
        for part in s["allOf"]:
            for k, v in flatten(part).items():
                merged.setdefault(k, v)
        s = merged
    for alt in ("oneOf", "anyOf"):
        if alt in s:
            options = [flatten(o) for o in s[alt]]
            options = [o for o in options if o.get("type") != "null"]
            merged = {k: v for k, v in s.items() if k != alt}
            if options:
                for k, v in options[0].items():
                    merged.setdefault(k, v)
            s = merged
    return s


def kind(s):
    t = s.get("type")
    if isinstance(t, list):
        t = [x for x in t if x != "null"][0]
    if t is None and "enum" in s:
        t = "string"
    if t is None and "properties" in s:
        t = "object"
    return t


class KeyAt(tuple):
    """The path of an object whose keys are tested."""


def leaves(s, path=()):
    """(path, schema) of every string and number in the body schema s.
    A path is a tuple of keys and list indices; a free-form object gets
    one key of its own, "k", and KeyAt(path) stands for an object key
    there."""
    s = flatten(s)
    t = kind(s)
    if t == "object":
        for name, sub in s.get("properties", {}).items():
            yield from leaves(sub, path + (name,))
        extra = s.get("additionalProperties",
                      None if "properties" in s else {"type": "string"})
        if extra:  # free-form (attributes): a key and a value of its own
            yield KeyAt(path), {"type": "string"}
            yield from leaves(extra if isinstance(extra, dict) else
                              {"type": "string"}, path + ("k",))
    elif t == "array":
        yield from leaves(s.get("items", {}), path + (0,))
    elif t in ("string", "integer", "number"):
        yield path, s


def field_name(path):
    """How synthia names a field: items[0].note, attributes.fit."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += "[%d]" % p
        else:
            out += ("." if out else "") + p
    return out


def sample(s):
    """A valid value of schema s when the document gives one."""
    s = flatten(s)
    for k in ("examples", "enum"):
        if s.get(k):
            return s[k][0]
    return s.get("default")


def base_of(schema):
    """The body's required top-level fields with documented values, so
    that a field whose check depends on another (a key's scopes on its
    kind) is reached."""
    out = {}
    for name in schema.get("required", []):
        v = sample(schema.get("properties", {}).get(name, {}))
        if v is not None:
            out[name] = v
    return out


def body_with(base, path, raw, key=False, bare=False):
    """JSON text: base with raw bytes at path, as a string's content, as
    the text of a number when bare is set, or as an object key there
    (with the value "v") when key is set."""
    obj = json.loads(json.dumps(base))
    node, parent, last = obj, None, None
    for i, p in enumerate(path):
        nxt = [] if i + 1 < len(path) and isinstance(path[i + 1], int) \
            else {}
        if isinstance(p, int):
            if not isinstance(node, list):
                node = parent[last] = []
            while len(node) <= p:
                node.append(nxt)
        else:
            if not isinstance(node, dict):
                node = parent[last] = {}
            node.setdefault(p, nxt)
            if not isinstance(node[p], (dict, list)):
                node[p] = nxt
        parent, last, node = node, p, node[p]
    if key:
        target = node if path else obj
        if not isinstance(target, dict):
            target = parent[last] = {}
        target[MARK] = "v"
    elif path:
        parent[last] = MARK
    text = json.dumps(obj)
    if bare:
        text = text.replace(json.dumps(MARK), MARK)
    return text.encode().replace(MARK.encode(), raw)


def operations():
    """(method, path template, operation) of every documented operation,
    writes last and deletes after them, so that what a write changes does
    not hide a handler from the reads."""
    ops = []
    for path, item in doc()["paths"].items():
        for m in METHODS:
            if m in item:
                ops.append((METHODS.index(m) if m != "delete" else 9,
                            m.upper(), path, item[m], item))
    ops.sort(key=lambda o: o[0])
    return [(m, p, op, item) for _, m, p, op, item in ops]


def parameters(op, item, where):
    out = []
    for p in item.get("parameters", []) + op.get("parameters", []):
        p = deref(p)
        if p["in"] == where:
            out.append((p["name"], flatten(p.get("schema", {}))))
    return out


def json_body(op):
    c = op.get("requestBody", {}).get("content", {})
    return flatten(c["application/json"]["schema"]) \
        if "application/json" in c else None


# ------------------------------------------------------------- callers


class World:
    """A tenant with an owner, a product, an order, a spare API key; a
    sysadmin; their tokens."""

    def __init__(self, stack):
        self.stack = stack
        self.t = syid.new_tenant(stack)
        self.owner = syid.login_ok(stack, self.t["owner"])["access_token"]
        self.staff_user = syid.new_user(stack, self.t, "staff")
        self.sysadmin = syid.new_sysadmin(stack)
        self.root = syid.login_ok(stack, self.sysadmin)["access_token"]
        r = stack.request("POST", "/api/v1/products",
                          body={"sku": syid.unique("sku"), "name": "Shirt",
                                "price_cents": 1500, "currency": "EUR",
                                "stock": 1000},
                          headers=syid.bearer(self.owner))
        assert r.status == 201, r
        self.product = r.json()["id"]
        r = stack.request("POST", "/api/v1/orders",
                          body={"items": [{"product_id": self.product,
                                           "quantity": 1}]},
                          headers=syid.bearer(self.owner, {
                              "Idempotency-Key": str(uuid.uuid4())}))
        assert r.status == 201, r
        self.order = r.json()["id"]
        r = stack.request("POST", "/api/v1/tenant/keys",
                          body={"kind": "secret", "name": "spare"},
                          headers=syid.bearer(self.owner))
        assert r.status == 201, r
        self.key = r.json()["id"]
        r = stack.request("POST", "/api/v1/imports",
                          body=b"sku,name,price\nH-1,Shirt,EUR 12.50\n",
                          headers=syid.bearer(self.owner, {
                              "Content-Type": "text/csv"}))
        assert r.status == 201, r
        self.import_id = r.json()["id"]
        self.analysis = syid.psql(stack, """
            INSERT INTO analyses (tenant_id, type, upload_sha256, provider,
                                  result)
            VALUES (:'tid', 'chromatic', :'sha', 'local',
                    '{"season": "true autumn", "palette": ["#c8a165"],
                      "avoid": ["#1e3799"]}')
            RETURNING id""", tid=self.t["id"], sha="ab" * 32)[0][0]
        self.job = syid.psql(stack, """
            INSERT INTO jobs (tenant_id, max_attempts, input_hash)
            VALUES (:'tid', 3, :'sha') RETURNING id""",
                             tid=self.t["id"], sha="ab" * 32)[0][0]

    def sign_in_again(self):
        """New tokens for those a logout has ended."""
        if syid.me(self.stack, self.owner).status == 401:
            self.owner = syid.login_ok(self.stack,
                                       self.t["owner"])["access_token"]
        if syid.me(self.stack, self.root).status == 401:
            self.root = syid.login_ok(self.stack,
                                      self.sysadmin)["access_token"]

    def capture(self, path):
        """The id that fills path's {id}: an object that exists."""
        for prefix, value in (("/api/v1/users/", self.staff_user["id"]),
                              ("/api/v1/tenants/", self.t["id"]),
                              ("/api/v1/tenant/keys/", self.key),
                              ("/api/v1/products/", self.product),
                              ("/api/v1/orders/", self.order),
                              ("/api/v1/imports/", self.import_id),
                              ("/api/v1/analysis/", self.analysis),
                              ("/api/v1/jobs/", self.job)):
            if path.startswith(prefix):
                return value
        if path.startswith("/api/v1/jobs/"):  # a queued try-on job
            return syid.psql(self.stack, "INSERT INTO jobs (tenant_id, "
                             "max_attempts, input_hash) VALUES (:'t', 1, "
                             "repeat('0', 64)) RETURNING id",
                             t=self.t["id"])[0][0]
        raise AssertionError("no id for " + path)

    def callers(self, op, item):
        """(name, headers, query) for each caller that reaches op."""
        out = []
        bearer = None
        key = None
        anonymous = False
        for req in op.get("security", [{}]):
            if not req:
                anonymous = True
            if "bearerAuth" in req:
                bearer = req["bearerAuth"]
            if "apiKey" in req:
                key = req["apiKey"]
        if bearer is not None and (not bearer or "owner" in bearer):
            out.append(("owner", syid.bearer(self.owner), {}))
        # a sysadmin, who has no tenant, acts on one named by ?tenant_id=
        takes_tenant = any(n == "tenant_id" for n, _ in
                           parameters(op, item, "query"))
        if bearer is not None and ("sysadmin" in bearer or
                                   (not bearer and takes_tenant)):
            out.append(("sysadmin", syid.bearer(self.root),
                        {"tenant_id": self.t["id"]}))
        if not out and key is not None:
            k = self.t["pk"] if "auth:register" in key else self.t["sk"]
            out.append(("key", syid.key(k), {}))
        if not out and anonymous:
            out.append(("anonymous", {}, {}))
        assert out, "no caller for %r" % (op.get("operationId"),)
        return out


# ----------------------------------------------------------- requests


class Probe:
    def __init__(self, stack):
        self.stack = stack
        self.count = 0
        self.failures = []

    def send(self, method, url, headers, body=None, what=""):
        h = dict(headers)
        if body is not None:
            h["Content-Type"] = "application/json"
        if method == "POST":
            h.setdefault("Idempotency-Key", str(uuid.uuid4()))
        self.count += 1
        r = self.stack.request(method, url, body=body, headers=h, timeout=30)
        r.what = "%s %s [%s]" % (method, url[:120], what)
        return r

    def check(self, r, statuses, field=None):
        """r is a problem with one of statuses (a set of (status, code));
        when field is given, a 422 names it.  Failures are collected."""
        try:
            assert r.status < 500, "5xx: %r" % (r,)
            if statuses is None:  # anything but a 5xx
                if r.status >= 400:
                    sylib.assert_problem(r, r.status, r.json()["code"])
                return
            codes = {s for s, _ in statuses}
            assert r.status in codes, "want %s, got %r" % (
                sorted(statuses), r)
            code = dict(statuses)[r.status]
            p = sylib.assert_problem(r, r.status, code)
            if field is not None and r.status == 422:
                # the field, or the list or object that holds it
                # (or, in an array of operations of several shapes
                # (oneOf), another field of the same item: the probe's
                # item has no shape, and the item is refused first)
                named = [e.get("field") for e in p.get("errors", [])]
                item = re.match(r"^(.*\[\d+\])\.", field)
                assert any(field == n or field.startswith(n + "[") or
                           field.startswith(n + ".") or
                           (item and n.startswith(item.group(1) + "."))
                           for n in named), \
                    "%s not among %s" % (field, named)
        except AssertionError as e:
            self.failures.append("%s: %s" % (r.what, e))

    def done(self):
        assert not self.failures, "%d of %d requests:\n%s" % (
            len(self.failures), self.count, "\n".join(self.failures[:40]))


def url_of(path, world, query, capture=None):
    if "{" in path:
        path = re.sub(r"\{[^}]+\}",
                      capture if capture is not None
                      else world.capture(path), path)
    if query:
        path += "?" + "&".join("%s=%s" % (k, v) for k, v in query.items())
    return path


def quoted(query):
    return {k: urllib.parse.quote(v, safe="") for k, v in query.items()}


INVALID_JSON = {(400, "invalid_json")}
NUL_REFUSED = {(422, "validation_failed")}
FIELD_REFUSED = {(422, "validation_failed")}
NUMBER_REFUSED = {(400, "invalid_json"), (422, "validation_failed")}
PARAM_REFUSED = {(400, "bad_request"), (422, "validation_failed")}
CAPTURE_REFUSED = {(400, "bad_request"), (404, "not_found")}


def refuses(schema, text):
    """Does the documented schema refuse this string?"""
    if "enum" in schema:
        return text not in schema["enum"]
    if schema.get("format") == "uuid":
        return True
    pattern = schema.get("pattern")
    return bool(pattern) and not re.search(pattern, text)


# --------------------------------------------------------------- tests


def test_the_document_has_json_routes_and_parameters():
    """The generator finds what it should (so the tests below cannot pass
    by sending nothing)."""
    with_body = [(m, p) for m, p, op, _ in operations() if json_body(op)]
    assert ("POST", "/api/v1/products") in with_body, with_body
    assert ("POST", "/api/v1/orders") in with_body, with_body
    assert len(with_body) >= 15, with_body
    fields = {field_name(p) for p, _ in
              leaves(json_body(doc()["paths"]["/api/v1/orders"]["post"]))
              if not isinstance(p, KeyAt)}
    assert {"items[0].product_id", "items[0].quantity", "note"} <= fields, \
        fields
    query = {n for m, p, op, item in operations()
             for n, _ in parameters(op, item, "query")}
    assert {"tenant_id", "limit", "cursor", "q", "min_price"} <= query, query


def test_every_string_and_number_of_every_json_body(stack):
    world = World(stack)
    probe = Probe(stack)
    for method, path, op, item in operations():
        schema = json_body(op)
        if schema is None:
            continue
        base = base_of(schema)
        for who, headers, query in world.callers(op, item):
            url = url_of(path, world, query)
            for lpath, s in leaves(schema):
                what = "%s %s" % (who, lpath)
                if isinstance(lpath, KeyAt):
                    where = tuple(lpath)
                    for name, raw in BAD_UTF8.items():
                        probe.check(probe.send(
                            method, url, headers,
                            body_with(base, where, raw, key=True),
                            what + " " + name), INVALID_JSON)
                    probe.check(probe.send(
                        method, url, headers, body_with(base, where, NUL,
                                         key=True),
                        what + " NUL"), NUL_REFUSED)
                    continue
                name = field_name(lpath)
                if kind(s) in ("integer", "number"):
                    for raw in HUGE:
                        probe.check(probe.send(
                            method, url, headers,
                            body_with(base, lpath, raw, bare=True),
                            what + " " + raw.decode()), NUMBER_REFUSED, name)
                    continue
                for cls, raw in BAD_UTF8.items():
                    probe.check(probe.send(method, url, headers,
                                           body_with(base, lpath, raw),
                                           what + " " + cls), INVALID_JSON)
                probe.check(probe.send(method, url, headers,
                                       body_with(base, lpath, NUL),
                                       what + " NUL"), NUL_REFUSED, name)
                # unescaped, it is not JSON (RFC 8259)
                probe.check(probe.send(method, url, headers,
                                       body_with(base, lpath, RAW_NUL),
                                       what + " raw NUL"), INVALID_JSON)
                for ch, raw in CONTROLS.items():
                    r = probe.send(method, url, headers,
                                   body_with(base, lpath, raw),
                                   what + " %r" % ch)
                    if refuses(s, "a%sb" % ch[-1]):
                        probe.check(r, FIELD_REFUSED, name)
                    else:
                        probe.check(r, None)
    assert probe.count > 500, probe.count
    probe.done()


def test_deep_nesting_and_oversized_bodies(stack):
    world = World(stack)
    probe = Probe(stack)
    deep_arrays = b"[" * DEPTH + b"]" * DEPTH
    deep_objects = b'{"a":' * DEPTH + b"1" + b"}" * DEPTH
    deep_inside = b'{"name":' + deep_arrays + b"}"
    for method, path, op, item in operations():
        if json_body(op) is None:
            continue
        # the body limit of the route (server.max_body, 1 MiB, unless the
        # document says otherwise for this route)
        big = b'{"name": "' + b"x" * (1024 * 1024 + 1) + b'"}'
        for who, headers, query in world.callers(op, item):
            url = url_of(path, world, query)
            for name, body in (("deep arrays", deep_arrays),
                               ("deep objects", deep_objects),
                               ("deep inside", deep_inside)):
                probe.check(probe.send(method, url, headers, body,
                                       who + " " + name), INVALID_JSON)
            probe.check(probe.send(method, url, headers, big, who + " big"),
                        {(413, "payload_too_large")})
    assert probe.count > 60, probe.count
    probe.done()


def test_every_query_parameter_and_path_capture(stack):
    world = World(stack)
    probe = Probe(stack)
    for method, path, op, item in operations():
        params = parameters(op, item, "query")
        for who, headers, base in world.callers(op, item):
            body = b"{}" if json_body(op) is not None else None
            for pname, s in params:
                for value in Q_BAD + Q_OTHER:
                    query = dict(quoted(base))
                    query[pname] = value
                    r = probe.send(method, url_of(path, world, query),
                                   headers, body, "%s %s=%s" % (
                                       who, pname, value[:20]))
                    ignored = pname == "tenant_id" and who != "sysadmin"
                    if value in Q_BAD and not ignored:
                        probe.check(r, PARAM_REFUSED)
                    elif kind(s) in ("integer", "number", "boolean") or \
                            (refuses(s, urllib.parse.unquote(value))
                             and not ignored):
                        probe.check(r, PARAM_REFUSED)
                    else:
                        probe.check(r, None)
            if "{" in path and method != "DELETE":
                for value in Q_BAD + ("a%01b", "1e400"):
                    r = probe.send(method, url_of(path, world, quoted(base),
                                                  capture=value),
                                   headers, body, "%s capture %s" % (who,
                                                                     value))
                    probe.check(r, CAPTURE_REFUSED)
    assert probe.count > 300, probe.count
    probe.done()



# Header values: invalid UTF-8, a control, an over-long value (nginx
# refuses NUL, CR and LF in a header itself).
H_BAD = (b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xff\xfe",
         b"a\x01b", b"a\x7fb", b"x" * 4000)


def credentials(op):
    """Header fields that carry op's credentials, from its security
    schemes: (name, value prefix)."""
    schemes = doc()["components"]["securitySchemes"]
    out = []
    for req in op.get("security", []):
        for name in req:
            sc = schemes[name]
            if sc["type"] == "http":
                out.append(("Authorization", b"Bearer "))
            elif sc["in"] == "header":
                out.append((sc["name"], b""))
            elif sc["in"] == "cookie":
                out.append(("Cookie", sc["name"].encode() + b"="))
    return sorted(set(out))


def test_every_header_parameter_and_credential(stack):
    world = World(stack)
    probe = Probe(stack)
    # a header parameter shared by many operations (X-Request-Id is on
    # all) is read alike on each: it is tried on its first eight
    tried = {}
    for method, path, op, item in operations():
        body = b"{}" if json_body(op) is not None else None
        # a credential of every scheme the operation takes, spoilt
        for field, prefix in credentials(op):
            for value in H_BAD:
                r = probe.send(method, url_of(path, world, {}),
                               {field: prefix + value}, body,
                               "%s: %r" % (field, value[:12]))
                probe.check(r, {(401, "unauthorized")} if op.get(
                    "security") and {} not in op["security"] else None)
        if method == "DELETE":  # a spoilt parameter may still delete
            continue
        params = [(n, sch) for n, sch in parameters(op, item, "header")
                  if tried.setdefault(n, 0) < 8]
        for n, _ in params:
            tried[n] += 1
        for who, headers, query in world.callers(op, item):
            url = url_of(path, world, quoted(query))
            for pname, _ in params:
                for value in H_BAD:
                    h = dict(headers)
                    h[pname] = value
                    r = probe.send(method, url, h, body, "%s %s: %r" % (
                        who, pname, value[:12]))
                    probe.check(r, None)
        world.sign_in_again()  # a logout may have ended the session
    assert probe.count > 300, probe.count
    probe.done()


sylib.main(globals())

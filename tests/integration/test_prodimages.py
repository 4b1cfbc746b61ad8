#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Product images stored in Synthia (issue 14): PUT / GET / DELETE
/api/v1/products/{id}/image through nginx, with PostgreSQL inspected
directly.

Covers: raw JPEG, PNG and WebP bodies and multipart `file` -> 200 with
the full size (at most 1024 a side) and its paths; the stored sizes
(full and a 256-pixel thumbnail), both JPEG, re-encoded (an EXIF segment
of the original is gone); the product's JSON showing the versioned path
in `image` (null without one, image_url untouched) and its ETag moving;
GET with ETag / If-None-Match -> 304, Cache-Control no-cache, or
immutable when ?v= names the current image; ?size=thumb, a bad size ->
422; hostile bodies: not an image (415 whatever the declared type), a
declared type that is not an image type (415), a decompression bomb
(413 from its header), too long a side (413), too many bytes (413 before
reading), cut short (422), empty (422), a form without `file` (422);
roles and scopes (shopper 403, publishable key 403 on writes, no
credentials 401); tenant isolation (404 for another tenant's product,
read or write); an inactive product's image for staff only; DELETE ->
204 and 404 after; the rows going with their tenant; and Synthia never
fetching an image_url."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import hashlib
import os
import socket
import struct
import subprocess
import threading
import zlib

import sylib
import syid

MAX_BYTES = 300 * 1024
SHARED_STACK = dict(workers=2, extra_config=(
    "[uploads]\nmax_bytes = 300k\nmax_pixels = 6000000\nmax_side = 4000\n"))
TEST_TIMEOUT = 240
V1 = "/api/v1"
SYIMG = os.path.join(sylib.BUILDDIR, "tests", "tools", "syimg")
TENANTS = {}


def tenant(stack, name="a"):
    if name not in TENANTS:
        t = syid.new_tenant(stack)
        for role in ("staff", "shopper"):
            u = syid.new_user(stack, t, role)
            t[role] = syid.login_ok(stack, u)["access_token"]
        TENANTS[name] = t
    return TENANTS[name]


def product(stack, t, **kw):
    body = {"sku": syid.unique("IMG"), "name": "Linen Shirt",
            "price_cents": 4900, "currency": "EUR", "colors": ["#aa3344"]}
    body.update(kw)
    r = stack.request("POST", V1 + "/products", body=body,
                      headers=syid.bearer(t["staff"]))
    assert r.status == 201, r
    return r.json()


def image(fmt, w, h, kind="solid"):
    args = [SYIMG, fmt, str(w), str(h)]
    args += ["solid", "aa3344"] if kind == "solid" else \
        ["portrait", "e0ac90", "3a2a20", "c8d0d8"]
    return subprocess.run(args, check=True, capture_output=True,
                          timeout=30).stdout


def jpeg_size(data):
    """(width, height) from a JPEG's frame header."""
    assert data[:3] == b"\xff\xd8\xff", data[:8]
    i = 2
    while i + 4 <= len(data):
        assert data[i] == 0xFF, i
        marker = data[i + 1]
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + n
    raise AssertionError("no frame header")


def png_header(w, h):
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk +
            struct.pack(">I", zlib.crc32(chunk)))


def form(name, data, boundary="sy-img-b0undary"):
    body = (b"--" + boundary.encode() + b"\r\n" +
            b'Content-Disposition: form-data; name="%s"; filename="x.bin"'
            % name.encode() + b"\r\nContent-Type: application/octet-stream"
            b"\r\n\r\n" + data + b"\r\n--" + boundary.encode() + b"--\r\n")
    return body, "multipart/form-data; boundary=" + boundary


def put(stack, cred, pid, body, ctype):
    h = syid.key(cred) if cred.startswith(("sk_", "pk_")) else \
        syid.bearer(cred)
    h["Content-Type"] = ctype
    return stack.request("PUT", V1 + "/products/%s/image" % pid, body=body,
                         headers=h)


def get(stack, cred, path, extra=None):
    h = {}
    if cred:
        h = syid.key(cred) if cred.startswith(("sk_", "pk_")) else \
            syid.bearer(cred)
    h.update(extra or {})
    return stack.request("GET", path, headers=h)


def image_path(pid):
    return V1 + "/products/%s/image" % pid


# ------------------------------------------------------------------ tests


def test_put_stores_both_sizes_and_the_product_shows_it(stack):
    t = tenant(stack)
    p = product(stack, t, image_url="https://img.example/own.jpg")
    assert p["image"] is None and p["image_url"] == \
        "https://img.example/own.jpg", p
    r0 = get(stack, t["sk"], V1 + "/products/" + p["id"])
    etag0 = r0.headers["ETag"]
    # an original with an EXIF segment that must not survive
    src = image("jpeg", 2000, 1500)
    exif = b"Exif\x00\x00GPS-SECRET-48.8584N-2.2945E"
    src = src[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + \
        src[2:]
    r = put(stack, t["staff"], p["id"], src, "image/jpeg")
    assert r.status == 200, r
    j = r.json()
    assert set(j) == {"image", "thumb", "content_type", "width", "height",
                      "sha256"}, j
    assert (j["width"], j["height"], j["content_type"]) == \
        (1024, 768, "image/jpeg"), j
    v = j["sha256"][:16]
    assert j["image"] == image_path(p["id"]) + "?v=" + v, j
    assert j["thumb"] == image_path(p["id"]) + "?size=thumb&v=" + v, j
    # the product's JSON and ETag moved
    r1 = get(stack, t["sk"], V1 + "/products/" + p["id"])
    assert r1.status == 200 and r1.json()["image"] == j["image"], r1
    assert r1.json()["image_url"] == "https://img.example/own.jpg", r1
    assert r1.headers["ETag"] != etag0, (etag0, r1.headers["ETag"])
    # ... in lists too (the catalog version moved)
    r = get(stack, t["pk"], V1 + "/products?limit=100")
    items = {x["id"]: x for x in r.json()["items"]}
    assert items[p["id"]]["image"] == j["image"], items[p["id"]]
    # the full size, re-encoded
    r = get(stack, t["pk"], j["image"])
    assert r.status == 200 and r.content_type == "image/jpeg", r
    assert jpeg_size(r.body) == (1024, 768)
    assert b"GPS-SECRET" not in r.body and b"Exif" not in r.body
    assert hashlib.sha256(r.body).hexdigest() == j["sha256"]
    assert r.headers["Cache-Control"] == \
        "private, max-age=31536000, immutable", r
    etag = r.headers["ETag"]
    assert etag == '"%s"' % j["sha256"][:32], etag
    # without the version (or an old one): revalidate
    r = get(stack, t["pk"], image_path(p["id"]))
    assert r.status == 200 and r.headers["Cache-Control"] == \
        "private, no-cache", r
    r = get(stack, t["pk"], image_path(p["id"]) + "?v=0123456789abcdef")
    assert r.headers["Cache-Control"] == "private, no-cache", r
    r = get(stack, t["pk"], image_path(p["id"]),
            {"If-None-Match": etag})
    assert r.status == 304 and r.body == b"", r
    # the thumbnail
    r = get(stack, t["sk"], j["thumb"])
    assert r.status == 200 and jpeg_size(r.body) == (256, 192), r
    assert r.headers["ETag"] != etag
    for q in ("?size=huge", "?v=XYZ", "?v=0123456789ABCDEF", "?v=%FF"):
        sylib.assert_problem(get(stack, t["sk"], image_path(p["id"]) + q),
                             422, "validation_failed")
    # both sizes in PostgreSQL with the product
    rows = syid.psql(stack, "SELECT size, content_type, width, height, "
                     "length(data) FROM product_images WHERE product_id = "
                     "'%s' ORDER BY size" % p["id"])
    assert [r[:4] for r in rows] == [["full", "image/jpeg", "1024", "768"],
                                     ["thumb", "image/jpeg", "256", "192"]], \
        rows


def test_formats_and_multipart(stack):
    t = tenant(stack)
    p = product(stack, t)
    for fmt, ctype in (("png", "image/png"), ("webp", "image/webp"),
                       ("png-alpha", "application/octet-stream")):
        r = put(stack, t["staff"], p["id"], image(fmt, 300, 500), ctype)
        assert r.status == 200, (fmt, r)
        assert (r.json()["width"], r.json()["height"]) == (300, 500), r
    body, ctype = form("file", image("jpeg", 640, 480, "portrait"))
    r = put(stack, t["staff"], p["id"], body, ctype)
    assert r.status == 200 and r.json()["width"] == 640, r
    # a second PUT replaced the first: one row per size
    rows = syid.psql(stack, "SELECT count(*) FROM product_images "
                     "WHERE product_id = '%s'" % p["id"])
    assert rows == [["2"]], rows


def test_hostile_bodies(stack):
    t = tenant(stack)
    p = product(stack, t)
    s = t["staff"]
    pid = p["id"]
    # not an image, whatever it claims
    sylib.assert_problem(put(stack, s, pid, b"GIF89a not really", "image/png"),
                         415, "unsupported_media_type")
    # a declared type that is no image type
    sylib.assert_problem(put(stack, s, pid, image("jpeg", 40, 40),
                             "text/plain"), 415, "unsupported_media_type")
    # a decompression bomb: refused from its header
    sylib.assert_problem(put(stack, s, pid, png_header(60000, 60000),
                             "image/png"), 413, "image_too_large")
    sylib.assert_problem(put(stack, s, pid, png_header(5000, 10),
                             "image/png"), 413, "image_too_large")
    # cut short
    jpeg = image("jpeg", 400, 300, "portrait")
    sylib.assert_problem(put(stack, s, pid, jpeg[:len(jpeg) // 2],
                             "image/jpeg"), 422, "invalid_image")
    sylib.assert_problem(put(stack, s, pid, b"", "image/jpeg"), 422,
                         "empty_file")
    # too many bytes: refused before reading
    big = image("jpeg", 20, 20) + b"\0" * (MAX_BYTES + 70 * 1024)
    r = put(stack, s, pid, big, "image/jpeg")
    sylib.assert_problem(r, 413, "payload_too_large")
    # over max_bytes but within the form slack: refused by the rule
    r = put(stack, s, pid, image("jpeg", 20, 20) + b"\0" * MAX_BYTES,
            "image/jpeg")
    sylib.assert_problem(r, 413, "payload_too_large")
    body, ctype = form("photo", jpeg)
    sylib.assert_problem(put(stack, s, pid, body, ctype), 422,
                         "validation_failed")
    # nothing was stored by any of them
    assert get(stack, s, image_path(pid)).status == 404
    assert syid.psql(stack, "SELECT count(*) FROM product_images WHERE "
                     "product_id = '%s'" % pid) == [["0"]]


def test_roles_scopes_and_tenant_isolation(stack):
    a, b = tenant(stack, "a"), tenant(stack, "b")
    p = product(stack, a)
    jpeg = image("jpeg", 120, 160, "portrait")
    sylib.assert_problem(put(stack, a["shopper"], p["id"], jpeg,
                             "image/jpeg"), 403, "forbidden")
    sylib.assert_problem(put(stack, a["pk"], p["id"], jpeg, "image/jpeg"),
                         403, "forbidden")
    assert put(stack, a["staff"], p["id"], jpeg, "image/jpeg").status == 200
    # reads as product reads: keys and users, not anonymous
    assert get(stack, a["shopper"], image_path(p["id"])).status == 200
    assert get(stack, a["pk"], image_path(p["id"])).status == 200
    sylib.assert_problem(get(stack, None, image_path(p["id"])), 401,
                         "unauthorized")
    # another tenant: 404 for reads and writes, and nothing changed
    for cred in (b["sk"], b["pk"], b["staff"]):
        sylib.assert_problem(get(stack, cred, image_path(p["id"])), 404,
                             "not_found")
    sylib.assert_problem(put(stack, b["staff"], p["id"], jpeg, "image/jpeg"),
                         404, "not_found")
    r = stack.request("DELETE", image_path(p["id"]),
                      headers=syid.bearer(b["staff"]))
    sylib.assert_problem(r, 404, "not_found")
    assert get(stack, a["pk"], image_path(p["id"])).status == 200
    # unknown and malformed ids
    for pid in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        sylib.assert_problem(get(stack, a["sk"], image_path(pid)), 404,
                             "not_found")
        sylib.assert_problem(put(stack, a["staff"], pid, jpeg, "image/jpeg"),
                             404, "not_found")
    # a malformed id is 404 before the body is looked at
    sylib.assert_problem(put(stack, a["staff"], "not-a-uuid", b"", "text/plain"),
                         404, "not_found")


def test_inactive_product_and_delete(stack):
    t = tenant(stack)
    p = product(stack, t)
    assert put(stack, t["staff"], p["id"], image("jpeg", 200, 200),
               "image/jpeg").status == 200
    r = stack.request("DELETE", V1 + "/products/" + p["id"],
                      headers=syid.bearer(t["staff"]))
    assert r.status == 204, r
    # deactivated: staff still see its image, keys and shoppers do not
    assert get(stack, t["staff"], image_path(p["id"])).status == 200
    for cred in (t["sk"], t["pk"], t["shopper"]):
        assert get(stack, cred, image_path(p["id"])).status == 404, cred
    # DELETE the image
    r = stack.request("DELETE", image_path(p["id"]),
                      headers=syid.bearer(t["staff"]))
    assert r.status == 204, r
    assert get(stack, t["staff"], image_path(p["id"])).status == 404
    r = get(stack, t["staff"], V1 + "/products/" + p["id"])
    assert r.json()["image"] is None, r
    # again: still 204 (nothing to remove)
    r = stack.request("DELETE", image_path(p["id"]),
                      headers=syid.bearer(t["staff"]))
    assert r.status == 204, r
    assert syid.psql(stack, "SELECT count(*) FROM product_images WHERE "
                     "product_id = '%s'" % p["id"]) == [["0"]]


def test_rows_go_with_their_tenant(stack):
    t = syid.new_tenant(stack)
    staff = syid.login_ok(stack, syid.new_user(stack, t, "staff"))
    t["staff"] = staff["access_token"]
    p = product(stack, t)
    assert put(stack, t["staff"], p["id"], image("jpeg", 64, 64),
               "image/jpeg").status == 200
    q = "SELECT count(*) FROM product_images WHERE tenant_id = '%s'" % t["id"]
    assert syid.psql(stack, q) == [["2"]]
    syid.psql(stack, "DELETE FROM tenants WHERE id = '%s'" % t["id"])
    assert syid.psql(stack, q) == [["0"]]


def test_image_url_is_never_fetched(stack):
    """A tenant's image_url pointing at a socket of ours: creating,
    reading and imaging the product make no connection to it."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    hits = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                hits.append(1)
                c.close()
            except socket.timeout:
                pass

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    try:
        t = tenant(stack)
        url = "http://127.0.0.1:%d/shirt.jpg" % srv.getsockname()[1]
        p = product(stack, t, image_url=url)
        assert get(stack, t["sk"], V1 + "/products/" + p["id"]).status == 200
        assert get(stack, t["sk"], image_path(p["id"])).status == 404
        assert put(stack, t["staff"], p["id"], image("jpeg", 80, 80),
                   "image/jpeg").status == 200
        assert get(stack, t["sk"], image_path(p["id"])).status == 200
    finally:
        stop.set()
        th.join()
        srv.close()
    assert hits == [], "Synthia connected to a tenant's image_url"


sylib.main(globals())

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""POST /api/v1/uploads (issue 11; API.md "Uploads, analysis,
recommendations, feedback, cache"), through nginx, with the stack's Redis
inspected directly.

Covers: raw JPEG, PNG and WebP bodies and multipart/form-data (part
`file`, other parts ignored) -> 201 with the type told by the bytes, the
header's dimensions and the sha256 of the bytes; the upload kept in Redis
only, under the tenant's hash tag, with the configured TTL; 413 for too
many bytes, too many pixels or too long a side (a decompression bomb is
refused from its header); 415 for what is not JPEG/PNG/WebP whatever its
name or declared type; 422 for a corrupt image, an empty file or a form
without `file`; 400 for a malformed form; 401/403 without a key or with a
key lacking uploads:write; a shopper's token; the per-tenant quota of
live uploads (429 with Retry-After, other tenants unaffected); tenant
isolation of the upload id.

POST /api/v1/analysis/chromatic on those uploads: the local analyser's
verdict for portraits of known skin (warm light -> spring, cool deep ->
winter), X-Cache: MISS, 404 upload_not_found for another tenant's or an
expired upload, 422 for a photo without skin and for a bad body."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import calendar
import hashlib
import os
import re
import struct
import subprocess
import time
import zlib

import keylib
import sylib
import syid

MAX_BYTES = 200 * 1024
MAX_LIVE = 4
SHARED_STACK = dict(workers=2, extra_config=(
    "[uploads]\nmax_bytes = 200k\nmax_pixels = 1000000\nmax_side = 1500\n"
    "ttl = 10m\nmax_live = %d\n" % MAX_LIVE))
TEST_TIMEOUT = 180

SYIMG = os.path.join(sylib.BUILDDIR, "tests", "tools", "syimg")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                  r"[0-9a-f]{12}$")
SKIN, HAIR, BG = "e0ac90", "3a2a20", "c8d0d8"


def image(fmt, w, h, kind="portrait"):
    args = [SYIMG, fmt, str(w), str(h)]
    args += ["portrait", SKIN, HAIR, BG] if kind == "portrait" else \
        ["solid", "808080"]
    return subprocess.run(args, check=True, capture_output=True,
                          timeout=30).stdout


def png_header(w, h):
    """A PNG signature and IHDR claiming w x h: no pixel data at all."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk +
            struct.pack(">I", zlib.crc32(chunk)))


def form(parts, boundary="sy-b0undary"):
    """multipart/form-data body: parts is a list of (name, filename,
    content_type, data)."""
    out = b"preamble\r\n"
    for name, filename, ctype, data in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        cd = 'form-data; name="%s"' % name
        if filename is not None:
            cd += '; filename="%s"' % filename
        out += b"Content-Disposition: " + cd.encode() + b"\r\n"
        if ctype:
            out += b"Content-Type: " + ctype.encode() + b"\r\n"
        out += b"\r\n" + data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return out, "multipart/form-data; boundary=%s" % boundary


class Shop:
    """A tenant with a secret key, made once per stack."""
    cache = {}

    @classmethod
    def get(cls, stack, name="a"):
        k = (id(stack), name)
        if k not in cls.cache:
            t = syid.new_tenant(stack)
            cls.cache[k] = t
        return cls.cache[k]


def upload(stack, key, body, ctype):
    return stack.request("POST", "/api/v1/uploads", body=body,
                         headers={"X-API-Key": key, "Content-Type": ctype})


def redis_hash(stack, tid, uid):
    return "sy:{t:%s}:up:%s" % (tid, uid)


def check_created(r, data, ctype, w, h):
    assert r.status == 201, r
    j = r.json()
    assert set(j) == {"id", "content_type", "bytes", "width", "height",
                      "sha256", "expires_at"}, j
    assert UUID.match(j["id"]), j
    assert j["content_type"] == ctype, j
    assert j["bytes"] == len(data), (j, len(data))
    assert (j["width"], j["height"]) == (w, h), j
    assert j["sha256"] == hashlib.sha256(data).hexdigest(), j
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$",
                    j["expires_at"]), j
    exp = calendar.timegm(time.strptime(j["expires_at"][:19],
                                        "%Y-%m-%dT%H:%M:%S"))
    assert 540 <= exp - time.time() <= 660, j  # ttl = 10m
    return j


# ------------------------------------------------------------------ tests


def test_raw_bodies_typed_by_their_bytes(stack):
    t = Shop.get(stack, "raw")
    jpeg = image("jpeg", 320, 240)
    j = check_created(upload(stack, t["sk"], jpeg, "image/jpeg"), jpeg,
                      "image/jpeg", 320, 240)
    # stored in Redis only, under the tenant's hash tag, with the TTL
    key = redis_hash(stack, t["id"], j["id"])
    assert keylib.redis(stack, "EXISTS", key) == "1"
    ttl = int(keylib.redis(stack, "PTTL", key))
    assert 540000 <= ttl <= 600000, ttl
    assert keylib.redis(stack, "HGET", key, "sha256") == j["sha256"]
    assert keylib.redis(stack, "HGET", key, "user") == ""
    # a declared type that lies is ignored: the bytes say what it is
    webp = image("webp", 100, 50)
    check_created(upload(stack, t["sk"], webp, "image/png"), webp,
                  "image/webp", 100, 50)
    png = image("png-interlaced", 64, 64)
    check_created(upload(stack, t["sk"], png, "application/octet-stream"),
                  png, "image/png", 64, 64)


def test_multipart_file_part(stack):
    t = Shop.get(stack, "form")
    png = image("png", 200, 150)
    body, ctype = form([("note", None, None, b"ignored"),
                        ("file", "photo.jpg", "image/jpeg", png),
                        ("other", "x.bin", "application/octet-stream",
                         b"\x00--sy-b0undar\x00")])
    check_created(upload(stack, t["sk"], body, ctype), png, "image/png",
                  200, 150)
    # quoted boundary with a space; the file part first, no filename
    jpeg = image("jpeg-progressive", 90, 120)
    body, _ = form([("file", None, None, jpeg)], boundary="a b'c")
    check_created(upload(stack, t["sk"], body,
                         'multipart/form-data; boundary="a b\'c"'),
                  jpeg, "image/jpeg", 90, 120)


def test_refused_types_are_415(stack):
    t = Shop.get(stack, "types")
    gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 20
    for body, ctype in ((gif, "image/jpeg"), (b"<svg/>", "image/png"),
                        (b"hello", "application/octet-stream")):
        sylib.assert_problem(upload(stack, t["sk"], body, ctype), 415,
                             "unsupported_media_type")
    # a real image declared as something an upload is not
    sylib.assert_problem(upload(stack, t["sk"], image("png", 8, 8),
                                "text/plain"),
                         415, "unsupported_media_type")
    body, ctype = form([("file", "cat.png", "image/png", gif)])
    sylib.assert_problem(upload(stack, t["sk"], body, ctype), 415,
                         "unsupported_media_type")


def test_bad_images_and_forms(stack):
    t = Shop.get(stack, "bad")
    jpeg = image("jpeg", 300, 200)
    r = upload(stack, t["sk"], jpeg[:len(jpeg) * 2 // 3], "image/jpeg")
    sylib.assert_problem(r, 422, "invalid_image")
    png = image("png", 300, 200)
    sylib.assert_problem(upload(stack, t["sk"], png[:40], "image/png"), 422,
                         "invalid_image")
    body, ctype = form([("file", "a.png", "image/png", b"")])
    sylib.assert_problem(upload(stack, t["sk"], body, ctype), 422,
                         "empty_file")
    body, ctype = form([("photo", "a.png", "image/png", png)])
    r = upload(stack, t["sk"], body, ctype)
    sylib.assert_problem(r, 422, "validation_failed")
    assert r.json()["errors"][0]["field"] == "file", r.json()
    # malformed forms: no close delimiter, a boundary inside the part
    body, ctype = form([("file", "a.png", "image/png", png)])
    for bad in (body[:-10], body.replace(b"\r\n--sy-b0undary--",
                                         b"\r\n--sy-b0undaryX--")):
        sylib.assert_problem(upload(stack, t["sk"], bad, ctype), 400,
                             "bad_request")
    sylib.assert_problem(upload(stack, t["sk"], body,
                                "multipart/form-data"), 400, "bad_request")


def test_size_and_pixel_limits_are_413(stack):
    t = Shop.get(stack, "limits")
    # bytes: a JPEG-looking body just over max_bytes (within the framing
    # slack, so the handler reads it), then one far over (refused from
    # its Content-Length)
    big = b"\xff\xd8\xff\xe0" + os.urandom(MAX_BYTES)
    r = upload(stack, t["sk"], big, "image/jpeg")
    sylib.assert_problem(r, 413, "payload_too_large")
    r = upload(stack, t["sk"], big + os.urandom(100 * 1024), "image/jpeg")
    sylib.assert_problem(r, 413, "payload_too_large")
    # a bomb: 33 bytes that claim 100000 x 100000 pixels
    r = upload(stack, t["sk"], png_header(100000, 100000), "image/png")
    sylib.assert_problem(r, 413, "image_too_large")
    assert "100000 x 100000" in r.json()["detail"], r.json()
    # a side over max_side (1500) with few pixels; pixels over max_pixels
    r = upload(stack, t["sk"], image("png", 1600, 8, "solid"), "image/png")
    sylib.assert_problem(r, 413, "image_too_large")
    r = upload(stack, t["sk"], image("jpeg", 1200, 1000, "solid"),
               "image/jpeg")
    sylib.assert_problem(r, 413, "image_too_large")
    assert "1000000 pixels" in r.json()["detail"], r.json()
    # at the limits exactly: accepted
    img = image("jpeg", 1000, 1000, "solid")
    check_created(upload(stack, t["sk"], img, "image/jpeg"), img,
                  "image/jpeg", 1000, 1000)


def test_auth_scopes_and_users(stack):
    t = Shop.get(stack, "auth")
    png = image("png", 16, 16)
    r = stack.request("POST", "/api/v1/uploads", body=png,
                      headers={"Content-Type": "image/png"})
    assert r.status == 401, r
    key, _ = keylib.make_key(stack, t["id"], scopes=["catalog:read"])
    sylib.assert_problem(upload(stack, key, png, "image/png"), 403,
                         "forbidden")
    key, _ = keylib.make_key(stack, t["id"], scopes=["uploads:write"])
    check_created(upload(stack, key, png, "image/png"), png, "image/png",
                  16, 16)
    shopper = syid.new_user(stack, t, "shopper")
    tok = syid.login_ok(stack, shopper)["access_token"]
    r = stack.request("POST", "/api/v1/uploads", body=png,
                      headers=syid.bearer(tok, {"Content-Type":
                                                "image/png"}))
    j = check_created(r, png, "image/png", 16, 16)
    assert keylib.redis(stack, "HGET", redis_hash(stack, t["id"], j["id"]),
                        "user") == shopper["id"]


def test_quota_of_live_uploads(stack):
    a = syid.new_tenant(stack)
    b = syid.new_tenant(stack)
    png = image("png", 8, 8, "solid")
    for _ in range(MAX_LIVE):
        assert upload(stack, a["sk"], png, "image/png").status == 201
    r = upload(stack, a["sk"], png, "image/png")
    sylib.assert_problem(r, 429, "upload_quota_exceeded")
    retry = int(r.headers["Retry-After"])
    assert 500 <= retry <= 600, retry
    # the quota is per tenant
    assert upload(stack, b["sk"], png, "image/png").status == 201
    # once the oldest has expired, there is room again
    live = "sy:{t:%s}:uploads" % a["id"]
    oldest = keylib.redis(stack, "ZRANGE", live, "0", "0").strip()
    keylib.redis(stack, "ZADD", live, "XX", "1", oldest)
    keylib.redis(stack, "DEL", redis_hash(stack, a["id"], oldest))
    assert upload(stack, a["sk"], png, "image/png").status == 201


def test_upload_id_is_the_tenant_own(stack):
    a = Shop.get(stack, "iso-a")
    b = Shop.get(stack, "iso-b")
    png = image("png", 24, 24)
    j = check_created(upload(stack, a["sk"], png, "image/png"), png,
                      "image/png", 24, 24)
    # the bytes live only under A's hash tag: under B's the id is unknown
    assert keylib.redis(stack, "EXISTS",
                        redis_hash(stack, a["id"], j["id"])) == "1"
    assert keylib.redis(stack, "EXISTS",
                        redis_hash(stack, b["id"], j["id"])) == "0"
    keys = keylib.redis(stack, "KEYS", "*%s*" % j["id"]).split()
    assert keys == [redis_hash(stack, a["id"], j["id"])], keys



def analyse(stack, key, upload_id):
    return stack.request("POST", "/api/v1/analysis/chromatic",
                         body={"upload_id": upload_id},
                         headers={"X-API-Key": key})


def portrait(skin, hair, fmt="jpeg", size=512):
    return subprocess.run([SYIMG, fmt, str(size), str(size), "portrait",
                           skin, hair, BG], check=True, capture_output=True,
                          timeout=30).stdout


def test_chromatic_analysis_of_uploads(stack):
    t = Shop.get(stack, "analysis")
    cases = (("f1c27d", "1a1410", "warm", "spring"),
             ("5c3836", "0c0a0c", "cool", "winter"))
    for skin, hair, undertone, family in cases:
        img = portrait(skin, hair)
        up = upload(stack, t["sk"], img, "image/jpeg").json()
        r = analyse(stack, t["sk"], up["id"])
        assert r.status == 201, r
        assert r.headers["X-Cache"] == "MISS", r.headers
        j = r.json()
        assert r.headers["Location"] == "/api/v1/analysis/" + j["id"], r
        assert j["upload_sha256"] == up["sha256"], (j, up)
        assert j["user_id"] is None and j["model"] == j["method"], j
        assert j["type"] == "chromatic" and j["upload_id"] == up["id"], j
        assert UUID.match(j["id"]), j
        assert j["undertone"] == undertone, (skin, j)
        assert j["season"].endswith(family), (skin, j)
        assert j["provider"] == "local" and j["cached"] is False, j
        assert len(j["palette"]) == 8 and len(j["avoid"]) == 4, j
        for c in j["palette"] + j["avoid"] + [j["skin"]]:
            assert re.match(r"^#[0-9a-f]{6}$", c), j
        assert 0 <= j["duration_ms"] < 5000, j
        # deterministic: the same upload gives the same verdict
        again = analyse(stack, t["sk"], up["id"]).json()
        for k in ("season", "undertone", "value", "contrast", "chroma",
                  "skin", "palette", "avoid"):
            assert again[k] == j[k], (k, again, j)


def test_an_analysis_feeds_recommendations(stack):
    """End to end: photo -> upload -> analysis -> the product whose colour
    is the analysis's first palette colour comes first."""
    t = Shop.get(stack, "reco")
    up = upload(stack, t["sk"], portrait("f1c27d", "1a1410"),
                "image/jpeg").json()
    j = analyse(stack, t["sk"], up["id"]).json()
    hdr = {"X-API-Key": t["sk"]}
    made = []
    for name, colour in (("On palette", j["palette"][0]),
                         ("On the avoid list", j["avoid"][0])):
        r = stack.request("POST", "/api/v1/products", headers=hdr, body={
            "sku": "reco-" + colour[1:], "name": name, "price_cents": 100,
            "currency": "EUR", "colors": [colour]})
        assert r.status == 201, r
        made.append(r.json()["id"])
    r = stack.get("/api/v1/recommendations?analysis_id=" + j["id"],
                  headers=hdr)
    assert r.status == 200, r
    items = r.json()["items"]
    assert items and items[0]["product"]["id"] == made[0], items
    assert items[0]["score"] == 1.0, items[0]
    assert made[1] not in [i["product"]["id"] for i in items], items
    assert r.json()["season"] == j["season"], r.json()


def test_chromatic_analysis_refusals(stack):
    a = Shop.get(stack, "analysis-a")
    b = Shop.get(stack, "analysis-b")
    up = upload(stack, a["sk"], portrait("e0ac69", "1a1410", "png", 200),
                "image/png").json()
    # another tenant cannot use the upload id
    sylib.assert_problem(analyse(stack, b["sk"], up["id"]), 404,
                         "upload_not_found")
    assert analyse(stack, a["sk"], up["id"]).status == 201
    # gone once expired
    keylib.redis(stack, "DEL", redis_hash(stack, a["id"], up["id"]))
    sylib.assert_problem(analyse(stack, a["sk"], up["id"]), 404,
                         "upload_not_found")
    # a photo without skin
    blue = subprocess.run([SYIMG, "png", "64", "64", "solid", "1e3cc8"],
                          check=True, capture_output=True).stdout
    up = upload(stack, a["sk"], blue, "image/png").json()
    sylib.assert_problem(analyse(stack, a["sk"], up["id"]), 422,
                         "no_skin_found")
    # bad bodies
    for body in ({}, {"upload_id": "nope"}, {"upload_id": 7}):
        r = stack.request("POST", "/api/v1/analysis/chromatic", body=body,
                          headers={"X-API-Key": a["sk"]})
        sylib.assert_problem(r, 422, "validation_failed")
        assert r.json()["errors"][0]["field"] == "upload_id", r.json()
    # a key without analysis:write
    key, _ = keylib.make_key(stack, a["id"], scopes=["uploads:write"])
    sylib.assert_problem(analyse(stack, key, up["id"]), 403, "forbidden")


def test_facial_analysis_needs_a_vision_provider(stack):
    """This stack has no ai.vision: 503 provider_unavailable naming the
    key, before the upload is looked up (an unknown id is 503 too); a
    malformed body is still 422."""
    t = Shop.get(stack, "facial")
    up = upload(stack, t["sk"], portrait("f1c27d", "1a1410"),
                "image/jpeg").json()
    for uid in (up["id"], "00000000-0000-4000-8000-000000000000"):
        r = stack.request("POST", "/api/v1/analysis/facial",
                          body={"upload_id": uid},
                          headers={"X-API-Key": t["sk"]})
        sylib.assert_problem(r, 503, "provider_unavailable")
        assert "ai.vision" in r.json()["detail"], r.json()
    r = stack.request("POST", "/api/v1/analysis/facial",
                      body={"upload_id": "\x01"},
                      headers={"X-API-Key": t["sk"]})
    sylib.assert_problem(r, 422, "validation_failed")


sylib.main(globals())

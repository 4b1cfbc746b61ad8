#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""`synthia seed-demo` (API.md "Command line"): the demo shop it makes in
one run (tenant, three accounts, two keys, the generated catalog with
its embeddings and garment pictures, English search), the same products
every time, a second run that changes nothing and says what the tenant
holds, the catalog reachable through the API with the printed key, and
usage errors."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import json
import os
import subprocess

import sylib
import syid

SHARED_STACK = dict(workers=2)
V1 = "/api/v1"
N = 30
SEEDED = {}


def seed_demo(stack, *args):
    """Run `synthia seed-demo ARGS`: (exit status, stdout, stderr)."""
    exe = os.path.join(stack.env.get("SY_BUILDDIR") or sylib.BUILDDIR,
                       "synthia")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTHIA_")}
    p = subprocess.run([exe, "--config", stack.env["SY_CONFIG"], "seed-demo"]
                       + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120, env=env)
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


def seeded(stack):
    """One demo shop of N products for the tests that read it."""
    if not SEEDED:
        slug = syid.unique("demo")
        rc, out, err = seed_demo(stack, "--tenant", slug, "--products", str(N))
        assert rc == 0, "seed-demo -> %d: %s %s" % (rc, out, err)
        lines = out.splitlines()
        assert len(lines) == 1, "expected one line: %r" % out
        SEEDED.update(json.loads(lines[0]), slug=slug)
    return SEEDED


def one(stack, sql, **v):
    return syid.psql(stack, sql, **v)[0][0]


def test_first_run_makes_the_whole_shop(stack):
    d = seeded(stack)
    assert d["created"] is True
    assert d["tenant"]["slug"] == d["slug"] and d["tenant"]["plan"] == "pro"
    assert d["products"] == N
    roles = sorted(u["role"] for u in d["users"])
    assert roles == ["owner", "shopper", "staff"], d["users"]
    assert all(len(u["password"]) >= 20 for u in d["users"])
    assert d["keys"]["publishable"].startswith("pk_")
    assert d["keys"]["secret"].startswith("sk_")
    tid = d["tenant"]["id"]
    assert one(stack, "SELECT count(*) FROM products WHERE tenant_id = "
               ":'t'", t=tid) == str(N)
    assert one(stack, "SELECT count(*) FROM product_embeddings WHERE "
               "tenant_id = :'t'", t=tid) == str(N)
    assert one(stack, "SELECT search_config::text FROM tenants WHERE id = "
               ":'t'", t=tid) == "english"


def test_products_are_the_same_every_time(stack):
    d = seeded(stack)
    r = stack.request("GET", V1 + "/products?limit=5",
                      headers=syid.key(d["keys"]["secret"]))
    assert r.status == 200, r
    first, fifth = r.json()["items"][0], r.json()["items"][4]
    want = {
        "sku": "SY-00001", "name": "Navy Organic Cotton Shirt",
        "category": "shirts", "price_cents": 5995, "currency": "EUR",
        "stock": 12, "colors": ["#1f2a44", "#708238"], "active": True,
        "description": "A crisp button-down with a classic collar and a "
                       "straight hem. Made of organic cotton in navy. / "
                       "Camisa de algodón orgánico en color azul marino. "
                       "Camisa abotonada de cuello clásico y bajo recto.",
        "attributes": {"material": "Organic Cotton",
                       "material_es": "algodón orgánico",
                       "color_name": "Navy", "color_name_es": "azul marino"},
        "image_url": "https://demo.synthia.example/img/SY-00001.jpg"}
    assert {k: first[k] for k in want} == want, first
    assert fifth["sku"] == "SY-00005" and fifth["stock"] == 0, fifth
    assert fifth["category"] == "dresses", fifth


def test_the_catalog_is_searchable_with_the_printed_key(stack):
    d = seeded(stack)
    h = syid.key(d["keys"]["secret"])
    for mode in ("text", "semantic", "hybrid"):
        r = stack.request("GET", V1 + "/products/search?q=linen&mode=" + mode,
                          headers=h)
        assert r.status == 200, r
        items = r.json()["items"]
        assert items, "no %s hit for linen" % mode
        assert "Linen" in items[0]["product"]["name"], items[0]
    r = stack.request("GET", V1 + "/products/search?q=lino", headers=h)
    assert r.status == 200 and r.json()["items"], r  # the Spanish half


def test_products_have_garment_pictures(stack):
    """Each seeded product has a stored image (both sizes), its JSON
    shows the path, and the printed publishable key reads it; --images
    limits how many products get one."""
    d = seeded(stack)
    tid = d["tenant"]["id"]
    assert one(stack, "SELECT count(*) FROM product_images WHERE "
               "tenant_id = :'t' AND size = 'full'", t=tid) == str(N)
    assert one(stack, "SELECT count(*) FROM product_images WHERE "
               "tenant_id = :'t' AND size = 'thumb'", t=tid) == str(N)
    h = syid.key(d["keys"]["publishable"])
    r = stack.request("GET", V1 + "/products?limit=5", headers=h)
    p = r.json()["items"][0]
    assert p["image"] and p["image"].startswith(
        V1 + "/products/%s/image?v=" % p["id"]), p
    r = stack.request("GET", p["image"], headers=h)
    assert r.status == 200 and r.content_type == "image/jpeg", r
    assert r.body[:3] == b"\xff\xd8\xff" and len(r.body) > 1000, r
    # the same pictures every time: the stored bytes of a second shop
    slug = syid.unique("demo")
    rc, out, err = seed_demo(stack, "--tenant", slug, "--products", "3",
                             "--images", "2")
    assert rc == 0, (out, err)
    t2 = json.loads(out)["tenant"]["id"]
    rows = syid.psql(stack, "SELECT p.sku, i.sha256 FROM product_images i "
                     "JOIN products p ON p.id = i.product_id WHERE "
                     "i.tenant_id IN (:'a', :'b') AND i.size = 'full' AND "
                     "p.sku IN ('SY-00001', 'SY-00002', 'SY-00003') "
                     "ORDER BY p.sku, p.tenant_id = :'b'", a=tid, b=t2)
    assert [r[0] for r in rows] == ["SY-00001", "SY-00001", "SY-00002",
                                    "SY-00002", "SY-00003"], rows
    assert rows[0][1] == rows[1][1] and rows[2][1] == rows[3][1], rows


def test_second_run_changes_nothing(stack):
    d = seeded(stack)
    rc, out, err = seed_demo(stack, "--tenant", d["slug"], "--products", "50")
    assert rc == 0, "%s %s" % (out, err)
    again = json.loads(out)
    assert again["created"] is False and again["keys"] is None
    assert again["tenant"]["id"] == d["tenant"]["id"]
    assert again["products"] == N
    assert sorted((u["email"], u["role"]) for u in again["users"]) == \
        sorted((u["email"], u["role"]) for u in d["users"])
    assert all("password" not in u for u in again["users"])


def test_usage_errors_exit_2(stack):
    for args in (["--products", "100001"], ["--products", "-1"],
                 ["--tenant", "Not A Slug"], ["--bogus", "1"],
                 ["--images", "-1"],
                 ["--products"]):
        rc, out, err = seed_demo(stack, *args)
        assert rc == 2 and out == "" and "usage" in err, (args, rc, out, err)


sylib.main(globals())

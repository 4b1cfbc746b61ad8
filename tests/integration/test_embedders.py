#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""External embedding providers for semantic search (issue 11) against
the stand-in (tests/providers/standin.py; its embeddings are a hashed bag
of words): vectors filed per embedder+model (sql/007_embedders.sql),
`synthia reembed` (idempotent, batched, resumable, per tenant, pruning
embedders no longer configured), a query embedded by the external
embedder only when its vectors cover the catalog (else, and when the
provider fails, by the local embedder against the local vectors), and
a product write retiring its external vector when its text changes.
Vectors of two embedders are never compared: the stand-in's call counts
show which embedder embedded each query."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import json
import os
import subprocess
from urllib.parse import quote

import standinlib
import sylib
import syid

TEST_TIMEOUT = 120
STANDIN = standinlib.start()
CHAIN = "openai:emb-o local"

SHARED_STACK = dict(workers=2, extra_config=(
    "[ai]\n"
    "embeddings = " + CHAIN + "\n"
    "retries = 0\n"
    "breaker_min_requests = 1000\n" +
    STANDIN.section("openai") + STANDIN.section("gemini")))


class Shop:
    def __init__(self, stack):
        self.stack = stack
        self.t = syid.new_tenant(stack)
        self.id = self.t["id"]
        self.staff = syid.new_user(stack, self.t, "staff")
        self.staff["token"] = syid.login_ok(stack, self.staff)["access_token"]
        self.products = {}

    def product(self, name, description):
        r = self.stack.request(
            "POST", "/api/v1/products",
            headers=syid.bearer(self.staff["token"]),
            body={"sku": syid.unique("sku"), "name": name,
                  "price_cents": 1000, "currency": "EUR", "stock": 3,
                  "category": "tops", "description": description})
        assert r.status == 201, r
        self.products[name] = r.json()["id"]
        return r.json()["id"]

    def patch(self, pid, body):
        r = self.stack.request("PATCH", "/api/v1/products/" + pid,
                               headers=syid.bearer(self.staff["token"]),
                               body=body)
        assert r.status == 200, r

    def vectors(self):
        """{embedder:model: count} of this tenant's stored vectors."""
        rows = syid.psql(self.stack, """
            SELECT embedder || ':' || model, count(*), min(dims), max(dims)
            FROM product_embeddings WHERE tenant_id = :'tid'
            GROUP BY 1""", tid=self.id)
        for r in rows:
            assert r[2] == r[3] == "256", rows
        return {r[0]: int(r[1]) for r in rows}

    def semantic(self, q, mode="semantic"):
        r = self.stack.request(
            "GET", "/api/v1/products/search?mode=%s&limit=5&q=%s"
            % (mode, quote(q)),
            headers=syid.key(self.t["sk"], {"Cache-Control": "no-cache"}))
        assert r.status == 200, r
        return [i["product"]["id"] for i in r.json()["items"]]


def reembed(stack, *args, env=None):
    """`synthia reembed ARGS`: (exit status, [JSON lines])."""
    exe = os.path.join(stack.env.get("SY_BUILDDIR") or sylib.BUILDDIR,
                       "synthia")
    e = {k: v for k, v in os.environ.items() if not k.startswith("SYNTHIA_")}
    e.update(env or {})
    p = subprocess.run([exe, "--config", stack.env["SY_CONFIG"], "reembed"] +
                       list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60, env=e)
    lines = [json.loads(x) for x in p.stdout.decode().splitlines() if x]
    return p.returncode, lines


def reembed_ok(stack, *args, env=None):
    rc, lines = reembed(stack, *args, env=env)
    assert rc == 0 and len(lines) >= 1, (rc, lines)
    return lines


_shops = {}


def shop(stack, name):
    k = (stack.statedir, name)
    if k not in _shops:
        s = _shops[k] = Shop(stack)
        s.product("Linen shirt", "a linen shirt for summer")
        s.product("Wool jumper", "a warm wool jumper")
        s.product("Denim jacket", "a blue denim jacket")
    return _shops[k]


def calls(route="openai.embeddings"):
    return STANDIN.count(route)


# ------------------------------------------------------------------ tests


def test_reembed_then_queries_use_the_external_embedder(stack):
    STANDIN.reset()
    s = shop(stack, "A")
    linen = s.products["Linen shirt"]
    assert s.vectors() == {"local:local-ngram-v1": 3}
    # no complete openai vectors yet: the local embedder ranks, and the
    # provider is not asked to embed the query
    before = calls()
    assert s.semantic("linen")[0] == linen
    assert calls() == before
    # reembed one tenant: one batch, one provider call
    lines = reembed_ok(stack, "--tenant", s.t["slug"])
    assert len(lines) == 1, lines
    assert lines[0]["tenant"] == s.id, lines
    assert lines[0]["links"] == [{"embedder": "openai", "model": "emb-o",
                                  "embedded": 3, "skipped": 0,
                                  "calls": 1}], lines
    assert lines[0]["pruned"] == 0, lines
    assert calls() == before + 1
    assert s.vectors() == {"local:local-ngram-v1": 3, "openai:emb-o": 3}
    # idempotent: nothing missing, no provider call
    lines = reembed_ok(stack, "--tenant", s.id)
    assert lines[0]["links"][0]["embedded"] == 0, lines
    assert lines[0]["links"][0]["calls"] == 0, lines
    assert calls() == before + 1
    # now every semantic query is embedded by openai:emb-o (on every
    # responder), and ranks by the stand-in's bag of words
    for _ in range(4):
        n = calls()
        assert s.semantic("linen")[0] == linen
        assert calls() == n + 1
    # words the stand-in knows nothing of find nothing, where the local
    # embedder's n-grams would have found a partial match
    n = calls()
    assert s.semantic("linnen") == []
    assert calls() == n + 1
    # hybrid search fuses the same semantic ranking
    assert s.semantic("wool jumper", mode="hybrid")[0] == \
        s.products["Wool jumper"]


def test_a_changed_text_retires_the_external_vector(stack):
    STANDIN.reset()
    s = shop(stack, "B")
    reembed_ok(stack, "--tenant", s.id)
    assert s.vectors()["openai:emb-o"] == 3
    denim = s.products["Denim jacket"]
    # a stock change leaves the text, and the vector, as they were
    s.patch(denim, {"stock": 9})
    assert s.vectors()["openai:emb-o"] == 3
    # a new name: the openai vector described the old text
    s.patch(denim, {"name": "Corduroy jacket"})
    assert s.vectors() == {"local:local-ngram-v1": 3, "openai:emb-o": 2}
    # incomplete: the local embedder ranks (the new name is found)
    n = calls()
    assert s.semantic("corduroy")[0] == denim
    assert calls() == n
    # a new product is missing too until the next run
    s.product("Silk blouse", "a silk blouse")
    lines = reembed_ok(stack, "--tenant", s.id)
    assert lines[0]["links"][0]["embedded"] == 2, lines
    n = calls()
    assert s.semantic("corduroy")[0] == denim
    assert calls() == n + 1
    # a deactivated product leaves every embedder's vectors
    r = stack.request("DELETE", "/api/v1/products/" + denim,
                      headers=syid.bearer(s.staff["token"]))
    assert r.status in (200, 204), r
    assert s.vectors() == {"local:local-ngram-v1": 3, "openai:emb-o": 3}


def test_a_failing_embedder_falls_back_to_the_local_one(stack):
    STANDIN.reset()
    s = shop(stack, "C")
    reembed_ok(stack, "--tenant", s.id)
    STANDIN.fault("openai.embeddings", "status", count=-1, status=503)
    try:
        n = calls()
        # the local vectors answer, compared with a local query vector
        assert s.semantic("linen")[0] == s.products["Linen shirt"]
        assert calls() == n + 1  # asked once (retries = 0), then local
        r = stack.get("/metrics")
        assert r.status == 200, r
        line = [x for x in r.body.decode().splitlines()
                if x.startswith("synthia_search_embed_fallbacks_total")]
        assert line and int(float(line[0].split()[-1])) >= 1, line
    finally:
        STANDIN.reset()


def test_switching_embedders_prunes_and_never_mixes(stack):
    STANDIN.reset()
    s = shop(stack, "D")
    other = shop(stack, "E")
    reembed_ok(stack, "--tenant", s.id)
    assert s.vectors()["openai:emb-o"] == 3
    # the configuration moves to gemini (here only for the command, so
    # the responders still ask for openai vectors)
    gemini = {"SYNTHIA_AI_EMBEDDINGS": "gemini:emb-g local"}
    g = calls("gemini.batch_embed") + calls("gemini.embed")
    lines = reembed_ok(stack, "--tenant", s.id, env=gemini)
    assert lines[0]["links"][0]["embedder"] == "gemini", lines
    assert lines[0]["links"][0]["embedded"] == 3, lines
    assert lines[0]["pruned"] == 3, lines
    assert calls("gemini.batch_embed") + calls("gemini.embed") > g
    assert s.vectors() == {"local:local-ngram-v1": 3, "gemini:emb-g": 3}
    # the responders' openai vectors are gone: queries are embedded
    # locally and compared with local vectors, never with gemini's
    n, g = calls(), calls("gemini.batch_embed") + calls("gemini.embed")
    assert s.semantic("wool")[0] == s.products["Wool jumper"]
    assert calls() == n
    assert calls("gemini.batch_embed") + calls("gemini.embed") == g
    # back to the configured chain
    lines = reembed_ok(stack, "--tenant", s.id)
    assert lines[0]["links"][0]["embedded"] == 3, lines
    assert lines[0]["pruned"] == 3, lines
    assert s.vectors() == {"local:local-ngram-v1": 3, "openai:emb-o": 3}
    # another tenant was not touched
    assert "openai:emb-o" not in other.vectors(), other.vectors()


def test_reembed_resumes_after_a_provider_failure(stack):
    STANDIN.reset()
    s = Shop(stack)
    for i in range(5):
        s.product("Shirt %d" % i, "cotton shirt number %d" % i)
    # the first call answers, the second is refused
    STANDIN.fault("openai.embeddings", "slow", count=1, delay_ms=0)
    STANDIN.fault("openai.embeddings", "status", count=-1, status=400)
    rc, lines = reembed(stack, "--tenant", s.id, "--batch", "2")
    assert rc == 1, (rc, lines)
    assert lines[-1] == {"tenant": s.id, "error": "client_error",
                         "provider": "openai", "model": "emb-o"}, lines
    assert s.vectors().get("openai:emb-o") == 2
    STANDIN.reset()
    lines = reembed_ok(stack, "--tenant", s.id, "--batch", "2")
    assert lines[0]["links"][0]["embedded"] == 3, lines
    assert lines[0]["links"][0]["calls"] == 2, lines
    assert s.vectors()["openai:emb-o"] == 5


def test_reembed_every_tenant_and_usage(stack):
    STANDIN.reset()
    a, b = shop(stack, "F"), shop(stack, "G")
    lines = reembed_ok(stack)
    seen = {x["tenant"] for x in lines}
    assert {a.id, b.id} <= seen, lines
    assert a.vectors()["openai:emb-o"] == 3
    assert b.vectors()["openai:emb-o"] == 3
    for args in (["--batch", "0"], ["--batch", "129"], ["--bogus"]):
        rc, _ = reembed(stack, *args)
        assert rc == 2, args
    rc, _ = reembed(stack, "--tenant", "no-such-shop")
    assert rc == 1


if __name__ == "__main__":
    sylib.main(globals())

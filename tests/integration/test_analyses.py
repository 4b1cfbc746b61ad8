#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Analyses history, recommendations and feedback through nginx (API.md
"Uploads, analysis, recommendations, feedback, cache"): reading one's
analyses, shoppers limited to their own, staff seeing the tenant's;
products recommended for an analysed palette (CIEDE2000 scores, reasons,
the avoid list, following catalog writes); feedback on
analyses and recommendations (by users and by API keys), validated, with
the list and average rating per target type for staff; tenant isolation
of every id; erasure of a user taking their analyses and feedback.

Analyses are written straight into the stack's database with psql (as
test_orders.py does with products), so these tests do not depend on an
analysis provider."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import json
import uuid

import sylib
import syid

SHARED_STACK = dict(workers=2)
TEST_TIMEOUT = 120

FEEDBACK = "/api/v1/feedback"
ANALYSIS = "/api/v1/analysis"
SHA = "ab" * 32


class Shop:
    def __init__(self, stack):
        self.stack = stack
        self.t = syid.new_tenant(stack)
        self.id = self.t["id"]
        self.owner = self.t["owner"]
        self.staff = syid.new_user(stack, self.t, "staff")
        self.alice = syid.new_user(stack, self.t, "shopper")
        self.bob = syid.new_user(stack, self.t, "shopper")
        for u in (self.owner, self.staff, self.alice, self.bob):
            u["token"] = syid.login_ok(stack, u)["access_token"]

    def analysis(self, user=None, season="true autumn", palette=("#aa5500",),
                 avoid=("#0000ff",), kind="chromatic"):
        """An analysis of this shop (of user, or of no user); its id."""
        result = {"season": season, "undertone": "warm",
                  "contrast": "medium", "palette": list(palette),
                  "avoid": list(avoid)}
        if kind == "facial":
            result = {"face_shape": "oval", "features": {}}
        rows = syid.psql(self.stack, """
            INSERT INTO analyses (tenant_id, user_id, type, upload_sha256,
                                  provider, model, result, duration_ms)
            VALUES (:'tid', nullif(:'uid', '')::uuid, :'kind', :'sha',
                    'local', 'local-lab-kmeans-v1', :'res', 12)
            RETURNING id""", tid=self.id, uid=user["id"] if user else "",
                             sha=SHA, res=json.dumps(result), kind=kind)
        return rows[0][0]

    def product(self, name, colors):
        """A product made through the API (so the catalog version moves)."""
        r = call(self.stack, "POST", "/api/v1/products", self.staff, {
            "sku": syid.unique("sku"), "name": name, "price_cents": 1000,
            "currency": "EUR", "stock": 5, "colors": list(colors)})
        assert r.status == 201, r
        return r.json()["id"]


_shops = {}


def shop(stack, name="A"):
    k = (stack.statedir, name)
    if k not in _shops:
        _shops[k] = Shop(stack)
    return _shops[k]


def call(stack, method, path, user, body=None):
    return stack.request(method, path, body=body,
                         headers=syid.bearer(user["token"]))


def give(stack, user, body):
    return call(stack, "POST", FEEDBACK, user, body)


# ------------------------------------------------------------- analyses


def test_shoppers_read_their_own_analyses(stack):
    s = shop(stack)
    mine = s.analysis(s.alice)
    theirs = s.analysis(s.bob)
    r = call(stack, "GET", "%s/%s" % (ANALYSIS, mine), s.alice)
    assert r.status == 200, r
    a = r.json()
    assert a["id"] == mine and a["type"] == "chromatic", a
    assert a["season"] == "true autumn" and a["provider"] == "local", a
    assert a["cached"] is False and a["duration_ms"] == 12, a
    assert a["user_id"] == s.alice["id"], a
    r = call(stack, "GET", "%s/%s" % (ANALYSIS, theirs), s.alice)
    sylib.assert_problem(r, 404, "not_found")
    ids = [x["id"] for x in call(stack, "GET", ANALYSIS, s.alice).json()["items"]]
    assert mine in ids and theirs not in ids, ids
    # staff see the tenant's
    r = call(stack, "GET", "%s/%s" % (ANALYSIS, theirs), s.staff)
    assert r.status == 200 and r.json()["id"] == theirs, r
    ids = [x["id"] for x in call(stack, "GET", ANALYSIS + "?limit=100",
                                 s.staff).json()["items"]]
    assert mine in ids and theirs in ids, ids


def test_analysis_history_pages(stack):
    s = shop(stack, "P")
    made = [s.analysis(s.alice) for _ in range(5)]
    seen, cursor = [], None
    while True:
        path = ANALYSIS + "?limit=2" + ("&cursor=" + cursor if cursor else "")
        r = call(stack, "GET", path, s.alice)
        assert r.status == 200, r
        page = r.json()
        assert len(page["items"]) <= 2, page
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == made, (seen, made)


def test_analyses_do_not_cross_tenants(stack):
    a, b = shop(stack, "A"), shop(stack, "B")
    aid = a.analysis(a.alice)
    for u in (b.owner, b.staff, b.alice):
        r = call(stack, "GET", "%s/%s" % (ANALYSIS, aid), u)
        sylib.assert_problem(r, 404, "not_found")
        ids = [x["id"] for x in call(stack, "GET", ANALYSIS + "?limit=100",
                                     u).json()["items"]]
        assert aid not in ids
    for bad in ("nope", "0" * 36, str(uuid.uuid4())):
        r = call(stack, "GET", "%s/%s" % (ANALYSIS, bad), a.staff)
        sylib.assert_problem(r, 404, "not_found")


def test_analysis_reads_need_a_user(stack):
    s = shop(stack)
    aid = s.analysis(s.alice)
    r = stack.get("%s/%s" % (ANALYSIS, aid), headers=syid.key(s.t["sk"]))
    assert r.status in (401, 403), r
    r = stack.get(ANALYSIS)
    sylib.assert_problem(r, 401, "unauthorized")


# ------------------------------------------------------- recommendations

RECO = "/api/v1/recommendations"


def reco(stack, user, aid, limit=None):
    path = RECO + "?analysis_id=" + aid + ("&limit=%d" % limit if limit else "")
    return call(stack, "GET", path, user)


def test_recommendations_follow_the_palette(stack):
    s = shop(stack, "R")
    on = s.product("Camel coat", ["#c8a165"])
    near = s.product("Tan scarf", ["#b89060", "#ffffff"])
    far = s.product("Lime top", ["#00ff00"])
    bad = s.product("Navy dress", ["#c8a165", "#1e3799"])
    s.product("No colour", [])
    aid = s.analysis(s.alice, palette=["#c8a165", "#8b4513"],
                     avoid=["#1e3799"])
    r = reco(stack, s.alice, aid, limit=50)
    assert r.status == 200, r
    body = r.json()
    assert body["analysis_id"] == aid and body["season"] == "true autumn"
    items = body["items"]
    ids = [it["product"]["id"] for it in items]
    score = {it["product"]["id"]: it["score"] for it in items}
    assert ids[0] == on and score[on] == 1.0, items[:2]
    assert near in ids and score[near] < score[on], items
    # a colour to avoid sinks a product that is otherwise on the palette
    assert bad not in ids or score[bad] < 0.05, items
    assert far not in ids or score[far] < score[near], items
    assert all(0 < it["score"] <= 1 for it in items), items
    assert ids == sorted(ids, key=lambda i: -score[i]), items
    top = items[0]
    assert "#c8a165" in top["reason"] and "palette" in top["reason"], top
    assert top["product"]["name"] == "Camel coat", top
    # the limit
    assert len(reco(stack, s.alice, aid, limit=1).json()["items"]) == 1


def test_recommendations_follow_catalog_writes(stack):
    s = shop(stack, "W")
    aid = s.analysis(s.alice, palette=["#336699"], avoid=[])
    s.product("Blue-ish", ["#3b6ea5"])
    first = reco(stack, s.alice, aid).json()["items"]
    assert first and first[0]["product"]["name"] == "Blue-ish", first
    exact = s.product("Exact blue", ["#336699"])
    items = reco(stack, s.alice, aid).json()["items"]
    assert items[0]["product"]["id"] == exact, items
    r = call(stack, "DELETE", "/api/v1/products/" + exact, s.staff)
    assert r.status in (200, 204), r
    items = reco(stack, s.alice, aid).json()["items"]
    assert exact not in [it["product"]["id"] for it in items], items


def test_recommendations_isolation_and_validation(stack):
    a, b = shop(stack, "A"), shop(stack, "B")
    aid = a.analysis(a.alice)
    theirs = a.analysis(a.bob)
    for u in (b.owner, b.alice):
        sylib.assert_problem(reco(stack, u, aid), 404, "not_found")
    sylib.assert_problem(reco(stack, a.alice, theirs), 404, "not_found")
    assert reco(stack, a.staff, theirs).status == 200
    r = stack.get(RECO + "?analysis_id=" + aid, headers=syid.key(a.t["pk"]))
    assert r.status == 200, r
    r = stack.get(RECO + "?analysis_id=" + aid, headers=syid.key(b.t["pk"]))
    sylib.assert_problem(r, 404, "not_found")
    facial = a.analysis(a.alice, kind="facial")
    r = reco(stack, a.alice, facial)
    sylib.assert_problem(r, 422, "validation_failed")
    for q in ("", "?analysis_id=", "?analysis_id=%s&limit=0" % aid,
              "?analysis_id=%s&limit=51" % aid,
              "?analysis_id=%s&limit=x" % aid,
              "?analysis_id=%s&limit=99999999999999999999" % aid):
        r = call(stack, "GET", RECO + q, a.alice)
        sylib.assert_problem(r, 422, "validation_failed")
    for bad in ("nope", "0" * 36, "%C0%AF", "%00"):
        r = call(stack, "GET", RECO + "?analysis_id=" + bad, a.alice)
        sylib.assert_problem(r, 422, "validation_failed")
        assert r.json()["errors"][0]["field"] == "analysis_id", r.json()
    r = call(stack, "GET", RECO + "?analysis_id=" + str(uuid.uuid4()),
             a.alice)
    sylib.assert_problem(r, 404, "not_found")


# ------------------------------------------------------------- feedback


def test_feedback_on_an_analysis(stack):
    s = shop(stack)
    aid = s.analysis(s.alice)
    r = give(stack, s.alice, {"target_type": "analysis", "target_id": aid,
                              "rating": 4, "comment": "Spot on.\nThanks"})
    assert r.status == 201, r
    f = r.json()
    assert f["target_type"] == "analysis" and f["target_id"] == aid, f
    assert f["rating"] == 4 and f["comment"] == "Spot on.\nThanks", f
    assert f["user_id"] == s.alice["id"] and uuid.UUID(f["id"]), f
    # a recommendation's target is the analysis it was computed from
    r = give(stack, s.alice, {"target_type": "recommendation",
                              "target_id": aid, "rating": 2})
    assert r.status == 201 and r.json()["comment"] is None, r


def test_shoppers_give_feedback_only_on_their_own(stack):
    s = shop(stack)
    theirs = s.analysis(s.bob)
    r = give(stack, s.alice, {"target_type": "analysis",
                              "target_id": theirs, "rating": 1})
    sylib.assert_problem(r, 404, "not_found")
    r = give(stack, s.alice, {"target_type": "analysis",
                              "target_id": str(uuid.uuid4()), "rating": 1})
    sylib.assert_problem(r, 404, "not_found")
    # staff may rate any analysis of the tenant
    r = give(stack, s.staff, {"target_type": "analysis",
                              "target_id": theirs, "rating": 5})
    assert r.status == 201, r


def test_feedback_with_an_api_key(stack):
    s = shop(stack)
    anon = s.analysis(None)
    for k in (s.t["pk"], s.t["sk"]):
        r = stack.request("POST", FEEDBACK, body={
            "target_type": "analysis", "target_id": anon, "rating": 3},
            headers=syid.key(k))
        assert r.status == 201, r
        assert r.json()["user_id"] is None and r.json()["key_id"], r
    # a key without analysis:write
    k = syid.synthia(stack, "admin", "create-key", "--tenant", s.t["slug"],
                     "--kind", "secret", "--scope", "catalog:read")["key"]
    r = stack.request("POST", FEEDBACK, body={
        "target_type": "analysis", "target_id": anon, "rating": 3},
        headers=syid.key(k))
    sylib.assert_problem(r, 403, "forbidden")


def test_feedback_validation(stack):
    s = shop(stack)
    aid = s.analysis(s.alice)
    good = {"target_type": "analysis", "target_id": aid, "rating": 5}
    cases = [
        ({"rating": 0}, "rating"), ({"rating": 6}, "rating"),
        ({"rating": "5"}, "rating"), ({"rating": 4.5}, "rating"),
        ({"rating": 10 ** 30}, "rating"), ({"rating": None}, "rating"),
        ({"target_type": "order"}, "target_type"),
        ({"target_type": 1}, "target_type"),
        ({"target_id": "nope"}, "target_id"),
        ({"target_id": aid.upper() + "x"}, "target_id"),
        ({"comment": "x" * 2001}, "comment"),
        ({"comment": "bad\x00nul"}, "comment"),
        ({"comment": "bell\x07"}, "comment"),
        ({"comment": 5}, "comment"),
        ({"target_type": "generation"}, "target_type"),
    ]
    for change, field in cases:
        body = dict(good, **change)
        r = give(stack, s.alice, body)
        assert r.status in (400, 422), (change, r)
        p = r.json()
        if r.status == 422:
            assert field in [e["field"] for e in p.get("errors", [])] or \
                p["code"] != "validation_failed", (change, p)
    for missing in ("target_type", "target_id", "rating"):
        body = dict(good)
        del body[missing]
        r = give(stack, s.alice, body)
        sylib.assert_problem(r, 422, "validation_failed")
        assert missing in [e["field"] for e in r.json()["errors"]], r
    # 2000 characters (not bytes) are fine
    r = give(stack, s.alice, dict(good, comment="é" * 2000))
    assert r.status == 201, r


def test_staff_list_feedback_with_averages(stack):
    s = shop(stack, "L")
    aid = s.analysis(s.alice)
    for rating in (1, 4, 5):
        assert give(stack, s.alice, {"target_type": "analysis",
                                     "target_id": aid,
                                     "rating": rating}).status == 201
    assert give(stack, s.alice, {"target_type": "recommendation",
                                 "target_id": aid,
                                 "rating": 2}).status == 201
    r = call(stack, "GET", FEEDBACK, s.staff)
    assert r.status == 200, r
    body = r.json()
    assert len(body["items"]) == 4 and body["next_cursor"] is None, body
    sm = body["summary"]
    assert sm["analysis"] == {"count": 3, "average_rating": 3.33}, sm
    assert sm["recommendation"] == {"count": 1, "average_rating": 2}, sm
    assert sm["generation"] == {"count": 0, "average_rating": None}, sm
    r = call(stack, "GET", FEEDBACK + "?target_type=recommendation", s.owner)
    assert [f["rating"] for f in r.json()["items"]] == [2], r
    for bad in ("nope", "%FF", "a%00b", ""):
        r = call(stack, "GET", FEEDBACK + "?target_type=" + bad, s.staff)
        sylib.assert_problem(r, 422, "validation_failed")
    r = call(stack, "GET", FEEDBACK, s.alice)
    sylib.assert_problem(r, 403, "forbidden")
    # another tenant sees none of it
    b = shop(stack, "B2")
    r = call(stack, "GET", FEEDBACK, b.staff)
    assert r.status == 200 and r.json()["items"] == [], r
    assert r.json()["summary"]["analysis"]["count"] == 0, r
    r = give(stack, b.staff, {"target_type": "analysis", "target_id": aid,
                              "rating": 5})
    sylib.assert_problem(r, 404, "not_found")


def test_erasure_takes_analyses_and_feedback(stack):
    s = shop(stack, "E")
    carol = syid.new_user(stack, s.t, "shopper")
    carol["token"] = syid.login_ok(stack, carol)["access_token"]
    aid = s.analysis(carol)
    assert give(stack, carol, {"target_type": "analysis", "target_id": aid,
                               "rating": 5}).status == 201
    r = call(stack, "DELETE", "/api/v1/users/me", carol)
    assert r.status == 204, r
    left = syid.psql(stack, """
        SELECT (SELECT count(*) FROM analyses WHERE id = :'aid'),
               (SELECT count(*) FROM feedback WHERE target_id = :'aid')""",
                     aid=aid)
    assert left == [["0", "0"]], left
    r = call(stack, "GET", "%s/%s" % (ANALYSIS, aid), s.staff)
    sylib.assert_problem(r, 404, "not_found")


sylib.main(globals())

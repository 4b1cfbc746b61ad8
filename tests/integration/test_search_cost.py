#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The cost bound of catalog search (issue 10 items 1 and 4), through
nginx on a catalog of 10,000 products: hostile queries (many one-letter
words, other separators, runs of hyphens, long words) answer without a
5xx, errors as problem+json, each well under the 670 ms the unbounded
query took (median of 3, result cache skipped; the bound here is 200 ms,
so that a loaded CI machine or a sanitizer build cannot fail it by being
slow, while a query that scans the catalog still does; the figures are
printed, and a quiet machine gives under 12 ms); spellings of one query share a cache entry; a tenant holds at
most search.max_concurrent searches (Redis leases, given back); a search
that runs out of search.statement_timeout answers 503 timeout, counted
in /metrics; and another tenant's product reads stay fast while hostile
searches run."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import statistics
import threading
import time
import urllib.parse

import keylib
import sylib
import syid

SHARED_STACK = dict(workers=4)
TEST_TIMEOUT = 300
V1 = "/api/v1"
PRODUCTS = 10000
BOUND_MS = 200.0  # a regression bound, not the speed target (docstring)
TENANTS = {}

NOUNS = ["shirt", "dress", "sweater", "jacket", "coat", "skirt", "boots",
         "sandals", "scarf", "trousers", "jeans", "blouse", "cardigan",
         "hoodie", "anorak", "parka", "loafers", "sneakers", "beanie", "tote"]
ADJECTIVES = ["linen", "wool", "cotton", "silk", "denim", "leather",
              "cashmere", "merino", "suede", "velvet", "corduroy", "tweed",
              "satin", "jersey", "canvas"]
WORDS = ["a", "an", "the", "and", "with", "for", "of", "in", "on", "soft",
         "warm", "light", "classic", "relaxed", "fit", "stitched", "pocket",
         "collar", "hem", "cuffs", "lined", "breathable", "durable",
         "everyday", "tailored", "ribbed", "cropped", "oversized"]


def seed(stack, tenant_id, n):
    """n active products of the tenant, inserted in one statement (the
    triggers fill the full-text column and the vocabulary)."""
    def arr(words):
        return "{" + ",".join(words) + "}"
    syid.psql(stack, """
        INSERT INTO products (tenant_id, sku, name, category, description,
                              price_cents, currency, stock)
        SELECT :'tid', 'P-' || i,
               initcap((:'adj'::text[])[1 + i % 15] || ' '
                       || (:'noun'::text[])[1 + (i / 15) % 20]) || ' ' || i,
               (:'noun'::text[])[1 + (i / 15) % 20],
               (SELECT string_agg((:'words'::text[])[1 + (i * 7 + k * 13)
                                                      % 28], ' ')
                FROM generate_series(1, 12 + i % 9) k),
               1000 + i, 'EUR', 5
        FROM generate_series(1, NPRODUCTS) i""".replace("NPRODUCTS", str(n)),
              tid=tenant_id, adj=arr(ADJECTIVES), noun=arr(NOUNS),
              words=arr(WORDS))
    # what autovacuum's analyze does within a minute of a bulk import: the
    # planner needs the tables' statistics to choose the indexes
    syid.psql(stack, "ANALYZE products; ANALYZE product_words")


def tenant(stack, name, products):
    if name not in TENANTS:
        t = syid.new_tenant(stack)
        seed(stack, t["id"], products)
        TENANTS[name] = t
    return TENANTS[name]


def search(stack, t, q, cache=False):
    headers = syid.key(t["pk"])
    if not cache:
        headers["Cache-Control"] = "no-cache"
    return stack.request("GET", V1 + "/products/search?q=" +
                         urllib.parse.quote(q), headers=headers)


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, (time.monotonic() - t0) * 1000.0


# (label, q, expected status, expected problem code or None)
HOSTILE = [
    ("a x100", "a " * 100, 200, None),
    ("a x200", "a " * 200, 422, "validation_failed"),  # over 200 chars
    ("a/U+200B x66", "a\u200b" * 66, 200, None),
    ("a/U+00A0 x66", "a\u00a0" * 66, 200, None),
    ("a/U+3000 x66", "a\u3000" * 66, 200, None),
    ("distinct letters", " ".join("abcdefghijklmnopqrstuvwxyz"), 200, None),
    ("distinct pairs", " ".join(a + b for a in "abcde" for b in "xyz"),
     422, "query_too_complex"),
    ("40 hyphens", "-" * 40, 200, None),
    ("33 hyphens", "-" * 33, 200, None),
    ("33 inner hyphens", "a" + "-" * 33 + "b", 200, None),
    ("hyphen chain", "-".join("shirt" for _ in range(33)), 200, None),
    ("hyphen letters", "-".join("abcdefghijklmnopqrstuvwxyz"), 200, None),
    ("hyphen pairs", "-".join(a + b for a in "abcd" for b in "xyz"), 422,
     "query_too_complex"),
    ("exclusions", "-a -b -c -d -e -f", 200, None),
    ("long word", "x" * 200, 422, "query_too_complex"),
    ("32-letter word", "shirtdresssweaterjacketcoatskirt", 200, None),
    ("common trigrams", "the and for with soft warm fit hem lined pocket",
     200, None),
    ("typos", "shrit drss swaeter jakcet caot skirtt boost sandls scraf "
     "jeens", 200, None),
    ("or chain", " or ".join(["shirt"] * 30)[:200], 200, None),
    ("quotes", '"' * 100, 200, None),
]


def test_hostile_queries_are_bounded(stack):
    t = tenant(stack, "hostile", PRODUCTS)
    # warm up: every responder connects and plans each statement once (a
    # stack in service is warm; a first plan costs 10-30 ms)
    for _, q, _, _ in HOSTILE * 2:
        search(stack, t, q)
    report = []
    for label, q, status, code in HOSTILE:
        # the machine is shared: a median over the bound is measured
        # again (three rounds at most); a query that really costs more
        # than the bound fails every round
        medians = []
        while len(medians) < 3 and (not medians or medians[-1] >= BOUND_MS):
            runs = []
            for _ in range(3):
                r, ms = timed(lambda: search(stack, t, q))
                assert r.status < 500, (label, r)
                assert r.status == status, (label, r)
                if code:
                    sylib.assert_problem(r, status, code)
                else:
                    assert isinstance(r.json()["items"], list), (label, r)
                runs.append(ms)
            medians.append(statistics.median(runs))
        report.append("%s %s ms" % (label, "/".join("%.1f" % m
                                                    for m in medians)))
        assert medians[-1] < BOUND_MS, (label, medians)
    print("# median of 3, no-cache, %d products: %s"
          % (PRODUCTS, "; ".join(report)))


def test_plain_search_still_finds(stack):
    t = tenant(stack, "hostile", PRODUCTS)
    r = search(stack, t, "Linen  SHIRT")
    assert r.status == 200, r
    items = r.json()["items"]
    assert len(items) == 10, r
    assert all("linen" in i["product"]["name"].lower() for i in items), items
    # a typo finds the word it misses
    r = search(stack, t, "cashmeer")
    assert r.status == 200, r
    items = r.json()["items"]
    assert items and all("cashmere" in i["product"]["name"].lower()
                         for i in items), items
    # an excluded word stays out
    r = search(stack, t, "shirt -linen")
    names = [i["product"]["name"].lower() for i in r.json()["items"]]
    assert names and all("linen" not in n and "shirt" in n
                         for n in names), names


def test_equivalent_queries_share_the_cache(stack):
    t = tenant(stack, "small", 50)
    first = search(stack, t, "wool coat", cache=True)
    assert first.status == 200 and first.headers.get("X-Cache") == "MISS", \
        first
    for q in ("WOOL\u200bcoat", "wool\u00a0\u00a0coat!!", "wool -- coat",
              "Wool, Coat, coat, wool", "wool\u3000coat"):
        r = search(stack, t, q, cache=True)
        assert r.status == 200, (q, r)
        assert r.headers.get("X-Cache") == "HIT", (q, r)
        assert r.body == first.body, q


def lease_key(t):
    return "sy:{t:%s}:lease:search" % t["id"]


def test_tenant_share_is_bounded_and_given_back(stack):
    t = tenant(stack, "small", 50)
    key = lease_key(t)
    # every search gives its lease back
    for _ in range(5):
        assert search(stack, t, "wool").status == 200
    assert keylib.redis(stack, "ZCARD", key) == "0"
    # two searches running elsewhere (search.max_concurrent = 2)
    far = int(time.time() * 1000) + 60000
    keylib.redis(stack, "ZADD", key, str(far), "elsewhere-1", str(far),
                 "elsewhere-2")
    r = search(stack, t, "wool")
    p = sylib.assert_problem(r, 429, "too_many_searches")
    assert r.headers.get("Retry-After") == "1", r
    assert "search" in p["detail"], p
    # a cached answer needs no lease
    assert search(stack, t, "wool", cache=True).status == 200
    # another tenant is not affected
    other = tenant(stack, "other", 20)
    assert search(stack, other, "wool").status == 200
    # a lease whose holder died expires
    keylib.redis(stack, "ZADD", key, "1", "elsewhere-2")
    assert search(stack, t, "wool").status == 200
    assert keylib.redis(stack, "ZRANGE", key, "0", "-1") == "elsewhere-1"
    keylib.redis(stack, "DEL", key)
    # the refusals are counted
    m = stack.get("/metrics").text()
    assert "synthia_search_busy_total" in m, m[:2000]


def test_other_tenant_stays_fast_under_hostile_searches(stack):
    hostile = tenant(stack, "hostile", PRODUCTS)
    victim = tenant(stack, "other", 20)
    pid = syid.psql(stack, "SELECT id FROM products WHERE tenant_id = "
                    ":'tid' LIMIT 1", tid=victim["id"])[0][0]
    path = V1 + "/products/" + pid

    def read():
        return stack.request("GET", path, headers=syid.key(victim["sk"]))

    for _ in range(5):
        assert read().status == 200
    base = statistics.median(timed(read)[1] for _ in range(20))
    stop = threading.Event()
    statuses = []
    queries = [q for _, q, _, _ in HOSTILE]

    def attack(k):
        i = k
        while not stop.is_set():
            q = queries[i % len(queries)] + " " * (i % 3)
            r = search(stack, hostile, q)
            statuses.append(r.status)
            i += 1

    threads = [threading.Thread(target=attack, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    try:
        time.sleep(0.5)
        during = []
        t_end = time.monotonic() + 5
        while time.monotonic() < t_end:
            r, ms = timed(read)
            assert r.status == 200, r
            during.append(ms)
    finally:
        stop.set()
        for th in threads:
            th.join(30)
    assert statuses and all(s < 500 for s in statuses), sorted(set(statuses))
    med = statistics.median(during)
    p90 = sorted(during)[int(len(during) * 0.9)]
    print("# GET /products/{id} of another tenant: median %.1f ms alone, "
          "%.1f ms (p90 %.1f ms, %d reads) during %d hostile searches "
          "(%d refused 429)" % (base, med, p90, len(during), len(statuses),
                                statuses.count(429)))
    assert med < BOUND_MS, (base, med, p90)


@sylib.own_stack(extra_config="[search]\nstatement_timeout = 1ms\n")
def test_statement_timeout_answers_503_timeout(stack):
    t = syid.new_tenant(stack)
    seed(stack, t["id"], 5000)
    # full text ranks in memory (textidx.h), under no statement; the
    # typo arm's correction of "lnen" through the vocabulary of 5000
    # products and its GIN bitmap take milliseconds in PostgreSQL
    r = search(stack, t, "lnen")
    p = sylib.assert_problem(r, 503, "timeout")
    assert p["detail"], p
    m = stack.get("/metrics").text()
    line = [x for x in m.splitlines()
            if x.startswith("synthia_search_timeouts_total")]
    assert line and int(line[0].split()[-1]) >= 1, line
    # the connection is fine afterwards (the transaction was closed)
    r = stack.request("GET", V1 + "/products?limit=1",
                      headers=syid.key(t["pk"]))
    assert r.status == 200, r


@sylib.own_stack(workers=1, extra_config="[database]\nprepared = off\n")
def test_rankings_without_prepared_statements(stack):
    # database.prepared off (PgBouncer in transaction mode): the SET LOCAL
    # and the ranking go as unnamed statements of one pipeline
    t = syid.new_tenant(stack)
    seed(stack, t["id"], 300)
    r = search(stack, t, "linen shirt")
    assert r.status == 200, r
    items = r.json()["items"]
    assert items and all(i["score"] >= 0.5 for i in items), items
    assert items[0]["product"]["name"] == "Linen Shirt 300", items[0]
    r = search(stack, t, "lnen")  # the typo arm
    assert r.status == 200, r
    items = r.json()["items"]
    assert items and all(i["score"] < 0.5 for i in items), items


def redis_round_trips(stack):
    """synthia_store_round_trips_total{store="redis"}: the times the pool
    waited on Redis for replies."""
    r = stack.get("/metrics")
    assert r.status == 200, r
    for line in r.text().splitlines():
        if line.startswith('synthia_store_round_trips_total{store="redis"} '):
            return int(line.split()[1])
    raise AssertionError("no Redis round-trip counter in /metrics")


# One responder, one Redis decision per request (no rate-limit tokens on
# lease that a timer gives back): every round trip is a request's.
@sylib.own_stack(workers=1, extra_config="[ratelimit]\nlease_max = 1\n")
def test_fresh_search_waits_on_redis_once_beyond_admission(stack):
    # Issue 13: what a fresh search tells Redis without needing an answer
    # (the lease given back, the product-cache counters, the result-cache
    # store) is pipelined, never waited for; its one wait of its own is
    # the search lease.  Measured against a cached list read by the same
    # key (admission only) so that admission's own round trips, whatever
    # they are, cancel out.
    t = syid.new_tenant(stack)
    seed(stack, t["id"], 300)
    key = syid.key(t["pk"])
    lst = V1 + "/products?limit=5"
    for _ in range(3):  # products, list and scripts in the responder's cache
        assert search(stack, t, "linen shirt").status == 200
        assert stack.request("GET", lst, headers=key).status == 200
    n = 10
    r0 = redis_round_trips(stack)
    bodies = {search(stack, t, "linen shirt").body for _ in range(n)}
    r1 = redis_round_trips(stack)
    for _ in range(n):
        r = stack.request("GET", lst, headers=key)
        assert r.status == 200 and r.headers.get("X-Cache") == "HIT", r
    r2 = redis_round_trips(stack)
    search_rt, list_rt = r1 - r0, r2 - r1
    print("Redis round trips: %d fresh searches %d, %d cached lists %d"
          % (n, search_rt, n, list_rt))
    assert search_rt - list_rt == n, (search_rt, list_rt)
    # ... and the answers are what they were: one body, scores of full-text
    # matches, the best first
    assert len(bodies) == 1, bodies
    r = search(stack, t, "linen shirt")
    items = r.json()["items"]
    assert items and all(i["score"] >= 0.5 for i in items), items
    assert items[0]["product"]["name"] == "Linen Shirt 300", items[0]
    # the stores that were not waited for happened: the lease is back,
    # the answer is in the result cache (counted as a put), and a client
    # that accepts a cached answer gets the same one
    assert keylib.redis(stack, "ZCARD", lease_key(t)) == "0"
    stats = "sy:{t:%s}:c:stats" % t["id"]
    assert int(keylib.redis(stack, "HGET", stats, "search:keys")) >= n + 4
    r = search(stack, t, "linen shirt", cache=True)
    assert r.status == 200 and r.headers.get("X-Cache") == "HIT", r
    assert r.body in bodies
    assert "redis_unawaited" not in stack.read_log("synthia.log"), \
        "a command sent without awaiting its reply failed"


def test_a_failed_unawaited_command_is_logged_not_fatal(stack):
    # The product-cache counter of a search is sent without awaiting its
    # reply; when Redis refuses it (here: its hash is a string), the reply
    # is still read, dropped and logged, and nothing else is disturbed.
    t = tenant(stack, "unawaited", 30)
    stats = "sy:{t:%s}:c:stats" % t["id"]
    keylib.redis(stack, "DEL", stats)
    keylib.redis(stack, "SET", stats, "not a hash")
    try:
        def logged():
            r = search(stack, t, "wool")
            assert r.status == 200, r
            assert r.json()["items"], r.json()
            return "WRONGTYPE" in "".join(
                line for line in stack.read_log("synthia.log").splitlines()
                if '"redis_unawaited"' in line)
        sylib.wait_until(logged, timeout=20, what="redis_unawaited logged")
    finally:
        keylib.redis(stack, "DEL", stats)
    assert keylib.redis(stack, "ZCARD", lease_key(t)) == "0"


if __name__ == "__main__":
    sylib.main(globals())

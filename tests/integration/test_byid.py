#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A product by id from the responders' memory (issue 13).

GET /api/v1/products/{id} keeps the product's JSON in each responder's
memory, stamped with the tenant's catalog version (prodcache.h).  After
a warm-up, a keyed read makes no PostgreSQL statement (log_statement =
all on this file's own PostgreSQL, with a control round that proves
every responder's session logs) and no Redis command but the rate
limiter's leases (MONITOR).  A write through the API moves the version
and pushes it before it answers, so every responder's next answer shows
it (pushlib.everywhere); with the subscriber connections killed over and
over the responders read the version in their one round trip and still
do.  Another tenant's id is 404, cached or not.
"""

import os
import re
import subprocess
import sys
import time
import uuid

sys.dont_write_bytecode = True  # never write into srcdir

import pushlib  # noqa: E402
import sylib  # noqa: E402
import syid  # noqa: E402

SHARED_STACK = dict(workers=4)
TEST_TIMEOUT = 240
V1 = "/api/v1"
STATEMENT = re.compile(r"LOG:  (?:statement|execute [^:]*): (.*)")


def superuser_sql(stack, sql):
    """Run sql as PostgreSQL's superuser on the stack's server."""
    p = subprocess.run(
        [os.path.join(syid.PGBIN, "psql"), "-X", "-q", "-A", "-t",
         "-v", "ON_ERROR_STOP=1", "-h", stack.env["SY_PG_SOCKDIR"],
         "-p", stack.env["SY_PG_PORT"], "-U", "postgres", "-d", "synthia"],
        input=sql.encode(), capture_output=True, timeout=30)
    assert p.returncode == 0, "psql failed: %s" % p.stderr.decode()


class StatementLog:
    """log_statement = all on the stack's PostgreSQL while in the block.
    A session applies a reload before its next command only, so enter()
    sends every responder a read that reaches PostgreSQL (an id of no
    product: misses are not kept) twice, and checks that the second
    round's reads were all logged."""

    def __init__(self, stack, key):
        self.stack = stack
        self.key = key

    def offset(self):
        return len(self.stack.read_log("postgres.log"))

    def since(self, offset):
        """The statements logged since offset."""
        text = self.stack.read_log("postgres.log")[offset:]
        return [m.group(1) for m in STATEMENT.finditer(text)]

    def __enter__(self):
        superuser_sql(self.stack, "ALTER SYSTEM SET log_statement = 'all';"
                      " SELECT pg_reload_conf();")
        missing = by_id(self.stack, self.key, str(uuid.uuid4()))
        pushlib.everywhere(self.stack, missing, pushlib.status_is(404))
        off = self.offset()
        n = pushlib.everywhere(self.stack, missing, pushlib.status_is(404))
        reads = [s for s in self.since(off) if "product_get" in s or
                 "FROM products p WHERE p.tenant_id" in s]
        assert len(reads) >= n, \
            "%d of %d reads logged: log_statement not in force" % (
                len(reads), n)
        return self

    def __exit__(self, *exc):
        superuser_sql(self.stack, "ALTER SYSTEM RESET log_statement;"
                      " SELECT pg_reload_conf();")


def by_id(stack, key, pid, extra=None):
    def send(h):
        h = dict(h)
        h.update(extra or {})
        return stack.request("GET", V1 + "/products/" + pid,
                             headers=syid.key(key, h))
    return send


def named(name):
    def check(r):
        assert r.status == 200, r
        assert r.json()["name"] == name, r
    return check


def hits(stack):
    text = stack.get("/metrics").text()
    return sum(int(v) for v in re.findall(
        r'^synthia_memcache_hits_total\{cache="products"\} (\d+)$', text,
        re.M))


def shop(stack):
    """A tenant with a staff token and one product."""
    t = syid.new_tenant(stack)
    staff = syid.new_user(stack, t, "staff")
    t["staff"] = syid.bearer(syid.login_ok(stack, staff)["access_token"])
    r = stack.request("POST", V1 + "/products", body={
        "sku": syid.unique("SKU"), "name": "Linen shirt",
        "description": "Breezy linen shirt", "category": "shirts",
        "price_cents": 4900, "currency": "EUR", "stock": 10,
        "colors": ["#aabbcc"], "attributes": {}}, headers=t["staff"])
    assert r.status == 201, r
    t["pid"] = r.json()["id"]
    return t


def warm(stack, t, name="Linen shirt"):
    """Every responder reads the product, then serves it from memory."""
    before = hits(stack)
    pushlib.everywhere(stack, by_id(stack, t["sk"], t["pid"]), named(name))
    pushlib.everywhere(stack, by_id(stack, t["sk"], t["pid"]), named(name))
    assert hits(stack) > before, "no answer came from memory"


# ------------------------------------------------------- steady state


def test_steady_state_read_makes_no_postgresql_or_redis_command(stack):
    pushlib.subscribed(stack)
    t = shop(stack)
    with StatementLog(stack, t["sk"]) as log:
        warm(stack, t)
        etag = by_id(stack, t["sk"], t["pid"])({}).headers["ETag"]
        # A round: 8 plain reads and 8 conditional ones (304 from
        # memory too).  Between rounds, owed cache hit counts of other
        # routes (none here) would go out after a second: wait them out.
        rounds = []
        for _ in range(3):
            time.sleep(pushlib.FLUSH_S + 0.3)
            off = log.offset()

            def reads():
                for i in range(16):
                    if i % 2:
                        r = by_id(stack, t["sk"], t["pid"],
                                  {"If-None-Match": etag})({})
                        assert r.status == 304 and r.body == b"", r
                    else:
                        r = by_id(stack, t["sk"], t["pid"])({})
                        assert r.status == 200 and \
                            r.json()["id"] == t["pid"], r
                        assert r.headers["ETag"] == etag, r
            seen = pushlib.monitor(stack, reads)
            statements = log.since(off)
            assert statements == [], \
                "PostgreSQL statements of 16 warm reads: %r" % statements
            rounds.append([c for c in seen if not pushlib.ALLOWED.search(c)])
            if rounds[-1] == []:
                break
        assert rounds[-1] == [], \
            "Redis commands of 16 warm reads, per round: %r" % (rounds,)


# ------------------------------------------------------------ writes


def changed(stack, killer=False):
    pushlib.subscribed(stack)
    t = shop(stack)
    warm(stack, t)
    one = V1 + "/products/" + t["pid"]
    old = by_id(stack, t["sk"], t["pid"])({}).headers["ETag"]

    def change_and_check():
        new = syid.unique("Wool shirt")
        r = stack.request("PATCH", one, body={"name": new},
                          headers=t["staff"])
        assert r.status == 200, r

        def renamed(r):
            named(new)(r)
            assert r.headers["ETag"] != old, r
        pushlib.everywhere(stack, by_id(stack, t["sk"], t["pid"]), renamed)
        # a conditional read with the old ETag gets the new product
        pushlib.everywhere(stack, by_id(stack, t["sk"], t["pid"],
                                        {"If-None-Match": old}), renamed)
        r = stack.request("DELETE", one, headers=t["staff"])
        assert r.status == 204, r
        pushlib.everywhere(stack, by_id(stack, t["sk"], t["pid"]),
                           pushlib.status_is(404))
        r = stack.request("PATCH", one, body={"active": True},
                          headers=t["staff"])
        assert r.status == 200, r
        pushlib.everywhere(stack, by_id(stack, t["sk"], t["pid"]),
                           named(new))
    if killer:
        with pushlib.Killer(stack):
            change_and_check()
    else:
        change_and_check()


def test_update_and_delete_show_on_every_responder(stack):
    changed(stack)


def test_update_and_delete_without_the_subscription(stack):
    changed(stack, killer=True)


# --------------------------------------------------------- isolation


def test_another_tenants_id_is_404(stack):
    pushlib.subscribed(stack)
    a, b = shop(stack), shop(stack)
    warm(stack, a)
    warm(stack, b)
    for key, pid in ((b["sk"], a["pid"]), (a["sk"], b["pid"]),
                     (b["pk"], a["pid"])):
        pushlib.everywhere(stack, by_id(stack, key, pid),
                           pushlib.status_is(404))
    # and each still reads its own
    pushlib.everywhere(stack, by_id(stack, a["pk"], a["pid"]),
                       named("Linen shirt"))


sylib.main(globals())

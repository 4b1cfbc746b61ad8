# SPDX-License-Identifier: BSD-2-Clause
"""syload - a shop under load, for the fault tests and the soak (stdlib
only, like sylib).

    shop = syload.Shop(stack)                 # plan, tenant, users, products
    with syload.Mix(stack, shop) as mix:      # order and read clients
        t_kill = time.monotonic(); ...        # inject a fault
    print(syload.recovery(mix.records, t_kill))
    assert not syload.audit_orders(stack, shop, mix.outcomes())

Order clients behave as a careful client should: each order has its own
Idempotency-Key, and an answer that is not definite (a 5xx, a broken
connection) is retried with the same key and body until one is (2xx or
4xx).  Read clients fetch products by id and the first page of the list
with the tenant's publishable key.  Every attempt is recorded, so a test
can say which answers were neither a success nor a problem+json, when
requests succeeded again after a fault, and whether every acknowledged
order is in the database exactly once with its stock taken.

`Wrk` runs wrk with tests/integration/mixed.lua over the same shop:
a mix of keyed reads, searches, orders with fresh keys and logins, each
answer classified by the script (see its header).
"""

import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid

import keylib
import sylib
import syid

ORDERS = "/api/v1/orders"
PRODUCTS = "/api/v1/products"
PROBLEM = "application/problem+json"
MIXED_LUA = os.path.join(sylib.HERE, "mixed.lua")
STOCK = 100000000  # never runs out: every order must succeed


class Shop:
    """A tenant on a plan whose limits never bite, with shoppers (signed
    in), a publishable key and products with plenty of stock."""

    def __init__(self, stack, products=8, shoppers=3, stock=STOCK):
        plan = keylib.make_plan(stack, read=100000000, write=100000000,
                                ai=100000000)
        self.tenant = syid.new_tenant(stack, plan=plan)
        self.shoppers = []
        for _ in range(shoppers):
            u = syid.new_user(stack, self.tenant, "shopper")
            u["token"] = syid.login_ok(stack, u)["access_token"]
            self.shoppers.append(u)
        self.stock = stock
        self.products = [r[0] for r in syid.psql(stack, """
            INSERT INTO products (tenant_id, sku, name, description,
                                  category, price_cents, currency, stock)
            SELECT :'t', 'load-' || :'tag' || '-' || i,
                   'Linen shirt ' || i, 'A light linen shirt',
                   'shirts', 1000 + i, 'EUR', :stock
            FROM generate_series(1, :n) AS i
            RETURNING id""", t=self.tenant["id"], tag=syid.unique("p"),
            stock=stock, n=products)]
        self.pk = self.tenant["pk"]

    @property
    def id(self):
        return self.tenant["id"]


class Attempt:
    """One request: kind, start and end (monotonic), status (None: no
    HTTP answer), content type, and what went wrong if anything."""

    __slots__ = ("kind", "t0", "t1", "status", "ctype", "error")

    def __init__(self, kind, t0, t1, status, ctype, error=None):
        self.kind, self.t0, self.t1 = kind, t0, t1
        self.status, self.ctype, self.error = status, ctype, error

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    @property
    def problem(self):
        return self.status is not None and self.ctype == PROBLEM

    @property
    def bad(self):
        """Neither a success nor a problem+json (a broken connection,
        an HTML or empty error page, a success that is not JSON)."""
        return not self.problem and (not self.ok or self.error is not None)

    def __repr__(self):
        return "<%s %s %s %s>" % (self.kind, self.status, self.ctype,
                                  self.error or "")


def _attempt(stack, kind, method, path, body=None, headers=None,
             timeout=30):
    """Send one request; (Attempt, parsed JSON body or None, response
    or None)."""
    t0 = time.monotonic()
    try:
        r = stack.request(method, path, body=body, headers=headers,
                          timeout=timeout)
    except Exception as e:  # no HTTP answer at all
        return Attempt(kind, t0, time.monotonic(), None, None,
                       "%s: %s" % (type(e).__name__, e)), None, None
    t1 = time.monotonic()
    doc, err = None, None
    if 200 <= r.status < 300 or r.content_type == PROBLEM:
        try:
            doc = r.json()
        except ValueError:
            err = "not JSON: %r" % (r.body[:200],)
        if r.content_type not in ("application/json", PROBLEM):
            err = "content type %r" % (r.content_type,)
    else:
        err = "%d %s: %r" % (r.status, r.content_type, r.body[:200])
    return Attempt(kind, t0, t1, r.status, r.content_type, err), doc, r


class Mix:
    """Order and read clients in threads, as a context manager (started
    on enter; on exit no new order is begun and each client finishes the
    one it has, retrying until the answer is definite)."""

    def __init__(self, stack, shop, orders=4, reads=2, retry_pause=0.05,
                 finish_within=60):
        self.stack, self.shop = stack, shop
        self.retry_pause = retry_pause
        self.finish_within = finish_within
        self.lock = threading.Lock()
        self.records = []      # Attempt, every request
        self.keys = {}         # Idempotency-Key -> [(status, order id,
        #                        replayed)], one per attempt
        self.bodies = {}       # Idempotency-Key -> (shopper, body)
        self.undecided = []    # keys given up on at the finish deadline
        self.stop = threading.Event()
        self.threads = (
            [threading.Thread(target=self._orders, args=(i,), daemon=True)
             for i in range(orders)] +
            [threading.Thread(target=self._reads, args=(i,), daemon=True)
             for i in range(reads)])

    def _record(self, att):
        with self.lock:
            self.records.append(att)

    def _orders(self, i):
        rnd = random.Random(i)
        user = self.shop.shoppers[i % len(self.shop.shoppers)]
        while not self.stop.is_set():
            key = "load-" + uuid.uuid4().hex
            lines = rnd.sample(self.shop.products, rnd.randint(1, 2))
            body = {"items": [{"product_id": p, "quantity": rnd.randint(1, 3)}
                              for p in lines]}
            with self.lock:
                self.keys[key] = []
                self.bodies[key] = (user, body)
            deadline = None
            while True:
                att, doc, r = _attempt(
                    self.stack, "order", "POST", ORDERS, body=body,
                    headers=syid.bearer(user["token"],
                                        {"Idempotency-Key": key}))
                self._record(att)
                oid = doc.get("id") if att.ok and doc else None
                replayed = r is not None and \
                    r.headers.get("Idempotent-Replayed") == "true"
                with self.lock:
                    self.keys[key].append((att.status, oid, replayed))
                if att.status is not None and att.status < 500:
                    break  # definite: 2xx, or a 4xx refusal
                if self.stop.is_set():
                    deadline = deadline or time.monotonic() + self.finish_within
                    if time.monotonic() > deadline:
                        with self.lock:
                            self.undecided.append(key)
                        break
                time.sleep(self.retry_pause)

    def _reads(self, i):
        rnd = random.Random(1000 + i)
        hdr = syid.key(self.shop.pk)
        n = 0
        while not self.stop.is_set():
            n += 1
            if n % 4 == 0:
                path = PRODUCTS + "?limit=20"
            else:
                path = "%s/%s" % (PRODUCTS, rnd.choice(self.shop.products))
            att, _, _ = _attempt(self.stack, "read", "GET", path,
                                 headers=hdr)
            self._record(att)
            if not att.ok:
                time.sleep(self.retry_pause)

    # -- what happened

    def count(self, kind=None, ok=True, since=0.0):
        with self.lock:
            return sum(1 for a in self.records
                       if (kind is None or a.kind == kind) and
                       a.ok == ok and a.t1 >= since)

    def wait_ok(self, n, since, timeout=30, what="requests"):
        """Wait until n orders and n reads ended in success after since."""
        sylib.wait_until(lambda: (self.count("order", since=since) >= n and
                                  self.count("read", since=since) >= n),
                         timeout=timeout, interval=0.02,
                         what="%d orders and %d reads to succeed (%s)"
                         % (n, n, what))

    def outcomes(self):
        """{key: [(status, order id, replayed), ...]} for every order
        begun."""
        with self.lock:
            return {k: list(v) for k, v in self.keys.items()}

    def retried(self):
        """(keys sent more than once, keys whose answer was a replay of
        an order committed by an earlier attempt)."""
        with self.lock:
            multi = [v for v in self.keys.values() if len(v) > 1]
        return len(multi), sum(1 for v in multi if v[-1][2])

    def bad(self):
        with self.lock:
            return [a for a in self.records if a.bad]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(self.finish_within + 40)
        return False


def recovery(records, t_fault, until=None, kinds=("order", "read")):
    """(seconds, failed requests): from t_fault until every kind of
    request succeeds again for good, i.e. until the first success of each
    kind that began after the last failure that ended after t_fault (0
    when none failed).  None as seconds when a kind never came back.
    Only requests that ended before `until` (the next fault) count."""
    after = [a for a in records if a.t1 >= t_fault and
             (until is None or a.t1 < until)]
    failed = [a for a in after if not a.ok]
    if not failed:
        return 0.0, 0
    last = max(a.t0 for a in failed)
    back = []
    for k in kinds:
        ok = [a.t1 for a in after if a.kind == k and a.ok and a.t0 > last]
        if not ok:
            return None, len(failed)
        back.append(min(ok))
    return max(back) - t_fault, len(failed)


def audit_orders(stack, shop, outcomes):
    """Every way the database can disagree with what the clients were
    told, as a list of sentences (empty: none).  Run after the load has
    stopped: each acknowledged (201) key must have exactly one order in
    the tenant, the same one on every 201 it got, with its idempotency
    record; no order may exist that no key was told about; every key must
    have ended in a 201; and each product's stock must be its start
    minus the quantities of the tenant's orders."""
    out = []
    acked = {}  # key -> order id
    for key, answers in outcomes.items():
        ids = {a[1] for a in answers if a[0] == 201}
        final = answers[-1][0] if answers else None
        if final != 201:
            out.append("key %s ended with %s (answers %s)"
                       % (key, final, answers))
        if len(ids) > 1:
            out.append("key %s got two orders: %s" % (key, sorted(ids)))
        if ids:
            acked[key] = ids.pop()
    rows = syid.psql(stack, "SELECT id FROM orders WHERE tenant_id = :'t'",
                     t=shop.id)
    have = [r[0] for r in rows]
    lost = sorted(set(acked.values()) - set(have))
    if lost:
        out.append("%d acknowledged orders lost: %s" % (len(lost), lost[:10]))
    extra = sorted(set(have) - set(acked.values()))
    if extra:
        out.append("%d orders in the database that no client was told "
                   "about (duplicates of a retried key?): %s"
                   % (len(extra), extra[:10]))
    if len(have) != len(set(have)):
        out.append("order ids repeated in the database")
    recs = {r[0]: r[1] for r in syid.psql(stack, """
        SELECT key, convert_from(body, 'UTF8')::json ->> 'id'
        FROM idempotency_keys WHERE tenant_id = :'t' AND status = 201""",
        t=shop.id)}
    gone = [k for k in acked if recs.get(k) != acked[k]]
    if gone:
        out.append("%d acknowledged keys without their idempotency record: "
                   "%s" % (len(gone), gone[:10]))
    stock = syid.psql(stack, """
        SELECT p.id, p.stock, coalesce(sum(i.quantity), 0)
        FROM products p LEFT JOIN order_items i
             ON i.product_id = p.id AND i.tenant_id = p.tenant_id
        WHERE p.tenant_id = :'t'
        GROUP BY p.id, p.stock""", t=shop.id)
    for pid, left, taken in stock:
        if int(left) != shop.stock - int(taken):
            out.append("product %s: stock %s, but %d - %s were ordered"
                       % (pid, left, shop.stock, taken))
    return out


# ------------------------------------------------------------------ wrk


class Wrk:
    """wrk with mixed.lua against the stack, as a context manager (on
    exit a wrk still running is killed).  `mix` weights as
    "read:60,list:10,search:10,order:15,login:5"; it runs for `seconds`,
    or until `requests` answers in all, or until stop().  (A wrk thread
    stopped by the script leaves wrk waiting out its duration: each one
    that reaches its share of `requests` makes a file, and result() ends
    wrk with SIGINT once every thread has.)"""

    def __init__(self, stack, shop, mix, seconds=None, requests=None,
                 threads=2, connections=8, timeout="10s"):
        user = shop.shoppers[0]
        args = ["key=" + shop.pk, "token=" + user["token"],
                "products=" + ",".join(shop.products), "mix=" + mix,
                "run=" + uuid.uuid4().hex[:12],
                "login=%s\t%s\t%s" % (user["email"], user["password"],
                                       user["slug"])]
        self.threads = threads
        self.donedir = None
        if requests:
            self.donedir = tempfile.mkdtemp(prefix="sy-wrk-")
            args += ["limit=%d" % -(-requests // threads),
                     "done=" + os.path.join(self.donedir, "thread")]
        cmd = ["wrk", "-t%d" % threads, "-c%d" % connections,
               "-d%ds" % (seconds or 24 * 3600), "--timeout", timeout,
               "-s", MIXED_LUA, stack.base_url, "--"] + args
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)

    def result(self, timeout=None):
        """Wait for wrk to end; its report as a dict: the script's counts
        (total, ok, problem, bad, status, samples, p50_ms, p99_ms), "text"
        (wrk's output) and "socket_errors" (wrk's error line, None when
        there was none)."""
        if self.donedir:
            deadline = None if timeout is None else \
                time.monotonic() + timeout
            while (self.p.poll() is None and
                   len(os.listdir(self.donedir)) < self.threads):
                if deadline is not None and time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(self.p.args, timeout)
                time.sleep(0.2)
            if self.p.poll() is None:
                self.p.send_signal(signal.SIGINT)
        out = self.p.communicate(timeout=timeout)[0].decode("utf-8",
                                                            "replace")
        res = {"text": out, "socket_errors": None}
        for line in out.splitlines():
            if line.startswith("MIXED "):
                res.update(json.loads(line[6:]))
            elif "Socket errors:" in line:
                res["socket_errors"] = line.strip()
        if self.p.returncode != 0 or "total" not in res:
            raise AssertionError("wrk failed (exit %s):\n%s"
                                 % (self.p.returncode, out))
        return res

    def stop(self, timeout=30):
        """Stop wrk now (SIGINT: it prints its report) and return it."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
        return self.result(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.p.poll() is None:
            self.p.kill()
        if self.p.stdout and not self.p.stdout.closed:
            self.p.communicate()
        self.p.wait()
        if self.donedir:
            shutil.rmtree(self.donedir, ignore_errors=True)
        return False

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""API keys through nginx (API.md "Authentication and roles", "Tenants,
plans, keys"): which keys authenticate (malformed, unknown, expired,
revoked keys and inactive tenants -> 401), scopes (-> 403, publishable
keys never beyond their scopes), origins (a key from an origin its
tenant does not allow -> 403), the Redis lookup cache (filled, negative
entries short-lived, revocation and tenant changes effective at once on
every responder), rotation with a grace period, and last_used_at
written without a write per request.

Keys are stored with psql (keylib.py) unless a test is about the key
routes themselves."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import time

import sylib
from keylib import (ALL_SCOPES, bearer, info_key, insert_key, keyed,
                    make_key, make_tenant, new_key, psql, redis,
                    sysadmin_token, tag, user_token)

SHARED_STACK = dict(workers=4)
TEST_TIMEOUT = 150

SHOP = "https://shop.example"
EVIL = "https://evil.example"


def unauthorized(r):
    sylib.assert_problem(r, 401, "unauthorized")


def forbidden(r):
    sylib.assert_problem(r, 403, "forbidden")


def every_responder(stack, key, want, n=24):
    """n requests (more than the responders, each on a new connection,
    so every responder answers some) all have status `want`."""
    statuses = [keyed(stack, key).status for _ in range(n)]
    assert statuses == [want] * n, statuses


def sign_up(stack, key, origin=None):
    h = {"Origin": origin} if origin else {}
    return keyed(stack, key, "/api/v1/auth/register", "POST",
                 {"email": "u-%s@example.com" % tag(),
                  "password": "correct horse battery staple", "name": "U"},
                 headers=h)


# ---------------------------------------------------------- who gets in


def test_secret_key_reads_its_tenant(stack):
    tid, slug = make_tenant(stack)
    key, _ = make_key(stack, tid)
    r = keyed(stack, key)
    assert r.status == 200, r
    assert r.json()["id"] == tid and r.json()["slug"] == slug, r


def test_malformed_and_unknown_keys_are_401(stack):
    for bad in ("", "sk_short", "xx_" + "a" * 32, "sk_" + "-" * 32,
                new_key()[:-1], new_key() + "a", new_key(), new_key("pk")):
        unauthorized(keyed(stack, bad))


def test_expired_key_and_inactive_tenant_are_401(stack):
    tid, _ = make_tenant(stack)
    key, _ = make_key(stack, tid, expires="now() - interval '1 second'")
    unauthorized(keyed(stack, key))
    tid2, _ = make_tenant(stack, active=False)
    key2, _ = make_key(stack, tid2)
    unauthorized(keyed(stack, key2))


def test_key_stops_at_its_expiry_even_when_cached(stack):
    tid, _ = make_tenant(stack)
    key, _ = make_key(stack, tid, expires="now() + interval '2 seconds'")
    assert keyed(stack, key).status == 200
    time.sleep(2.2)
    every_responder(stack, key, 401, n=8)


def test_scopes_limit_what_a_key_may_call(stack):
    tid, _ = make_tenant(stack)
    narrow, _ = make_key(stack, tid, scopes=["catalog:read"])
    forbidden(keyed(stack, narrow))
    # a publishable key never gets tenant:read, whatever its row says
    pk, _ = make_key(stack, tid, kind="pk", scopes=ALL_SCOPES)
    forbidden(keyed(stack, pk))
    # ... but may sign shoppers up
    assert sign_up(stack, pk).status == 201
    # keys never reach user-only routes
    forbidden(keyed(stack, make_key(stack, tid)[0], "/api/v1/users"))


def test_publishable_key_origins(stack):
    tid, _ = make_tenant(stack, origins=[SHOP])
    pk, _ = make_key(stack, tid, kind="pk")
    forbidden(sign_up(stack, pk, origin=EVIL))
    assert sign_up(stack, pk, origin=SHOP).status == 201
    assert sign_up(stack, pk).status == 201  # no Origin: not a browser
    sk, _ = make_key(stack, tid)
    forbidden(keyed(stack, sk, headers={"Origin": EVIL}))
    assert keyed(stack, sk, headers={"Origin": SHOP}).status == 200


# ---------------------------------------------------------------- cache


def test_lookup_is_cached_in_redis(stack):
    tid, _ = make_tenant(stack)
    key, _ = make_key(stack, tid)
    assert keyed(stack, key).status == 200
    name = info_key(key)
    ttl = int(redis(stack, "PTTL", name))
    assert 0 < ttl <= 60000, ttl  # auth.api_key_cache_ttl
    record = redis(stack, "GET", name)
    assert tid in record and key not in record, "cached record: %r" % record
    assert info_key(key) in redis(stack, "SMEMBERS",
                                  "sy:{t:%s}:keyhashes" % tid).split()


def test_unknown_key_is_remembered_briefly(stack):
    tid, _ = make_tenant(stack)
    key = new_key()
    unauthorized(keyed(stack, key))
    assert redis(stack, "GET", info_key(key)) == "-"
    assert 0 < int(redis(stack, "PTTL", info_key(key))) <= 5000
    # created afterwards (only possible for a key guessed beforehand):
    # usable once the negative entry has run out
    insert_key(stack, tid, key)
    sylib.wait_until(lambda: keyed(stack, key).status == 200, timeout=7,
                     what="a key created after a failed lookup to work")


def owner_of_new_tenant(stack, origins=()):
    tid, slug = make_tenant(stack, origins=origins)
    return tid, bearer(user_token(stack, slug, "owner"))


def test_revoked_key_is_refused_at_once_everywhere(stack):
    tid, owner = owner_of_new_tenant(stack)
    key, kid = make_key(stack, tid)
    every_responder(stack, key, 200)
    r = stack.request("DELETE", "/api/v1/tenant/keys/" + kid, headers=owner)
    assert r.status == 204, r
    every_responder(stack, key, 401)


def test_created_key_works_at_once(stack):
    tid, owner = owner_of_new_tenant(stack)
    r = stack.request("POST", "/api/v1/tenant/keys", headers=owner,
                      body={"name": "server", "kind": "secret"})
    assert r.status == 201, r
    key = r.json()["key"]
    assert key.startswith("sk_") and len(key) == 35, r
    assert r.json()["prefix"] == key[:11], r
    assert keyed(stack, key).status == 200
    # stored as a hash only
    assert psql(stack, "SELECT count(*) FROM api_keys WHERE prefix = '%s' "
                "AND key_hash = sha256('%s'::bytea)" % (key[:11], key)) == "1"


def test_rotation_keeps_the_old_key_for_the_grace_period(stack):
    tid, owner = owner_of_new_tenant(stack)
    old, kid = make_key(stack, tid)
    assert keyed(stack, old).status == 200  # cached before the rotation
    r = stack.request("POST", "/api/v1/tenant/keys/%s/rotate" % kid,
                      headers=owner, body={"grace_seconds": 3})
    assert r.status in (200, 201), r
    new = r.json()["key"]
    assert new != old
    every_responder(stack, new, 200, n=8)
    every_responder(stack, old, 200, n=8)
    time.sleep(3.3)
    every_responder(stack, old, 401, n=8)
    every_responder(stack, new, 200, n=8)


def test_tenant_deactivation_refuses_its_keys_at_once(stack):
    tid, _ = make_tenant(stack)
    key, _ = make_key(stack, tid)
    every_responder(stack, key, 200)
    root = bearer(sysadmin_token(stack))
    r = stack.request("PATCH", "/api/v1/tenants/" + tid, headers=root,
                      body={"active": False})
    assert r.status == 200, r
    every_responder(stack, key, 401)
    r = stack.request("PATCH", "/api/v1/tenants/" + tid, headers=root,
                      body={"active": True})
    assert r.status == 200, r
    every_responder(stack, key, 200, n=8)


def test_origin_change_applies_at_once(stack):
    tid, owner = owner_of_new_tenant(stack, origins=[SHOP])
    pk, _ = make_key(stack, tid, kind="pk")
    assert sign_up(stack, pk, origin=SHOP).status == 201
    r = stack.request("PATCH", "/api/v1/tenant", headers=owner,
                      body={"allowed_origins": ["https://new.example"]})
    assert r.status == 200, r
    forbidden(sign_up(stack, pk, origin=SHOP))
    assert sign_up(stack, pk, origin="https://new.example").status == 201


# --------------------------------------------------------- last_used_at

COUNT_UPDATES = """
CREATE TABLE test_key_updates (at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION test_count_key_update() RETURNS trigger LANGUAGE plpgsql
AS $$ BEGIN INSERT INTO test_key_updates DEFAULT VALUES; RETURN NULL; END $$;
CREATE TRIGGER test_key_updates AFTER UPDATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION test_count_key_update();
"""


@sylib.own_stack(workers=2)
def test_last_used_at_is_written_without_a_write_per_request(stack):
    tid, _ = make_tenant(stack)
    key_a, id_a = make_key(stack, tid)
    key_b, id_b = make_key(stack, tid)
    idle, id_idle = make_key(stack, tid)
    psql(stack, COUNT_UPDATES)
    for _ in range(40):
        assert keyed(stack, key_a).status == 200
        assert keyed(stack, key_b).status == 200
    # each responder writes once when it first serves a key, then at
    # most once a minute for all the keys it served: 2 here, not 80
    updates = int(psql(stack, "SELECT count(*) FROM test_key_updates"))
    assert 1 <= updates <= 2, "%d UPDATEs of api_keys for 80 requests" % updates
    used = psql(stack, "SELECT id, now() - last_used_at < interval '1 minute' "
                "FROM api_keys WHERE id IN ('%s', '%s', '%s') ORDER BY id"
                % (id_a, id_b, id_idle)).splitlines()
    seen = dict(line.split("|") for line in used)
    assert seen[id_idle] == "", seen  # never used: still NULL
    # the first key served by a responder is written at once
    assert seen[id_a] == "t", seen


sylib.main(globals())

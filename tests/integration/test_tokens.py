#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Tokens through nginx, beyond test_auth.py: RS256 and ES256 servers and
their /.well-known/jwks.json (checked against the key files with the
openssl command), HS/RS confusion against an RS256 server, signing-key
rotation by SIGHUP without logouts, revocation that holds through Redis
outages and restarts (the deny-list resync of app/auth/session.c),
refresh tokens stored hashed, reuse within the grace after the successor
was used, the security log line of a reuse, and the housekeeping of
expired refresh tokens."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import atexit
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import sylib
import syid

TEST_TIMEOUT = 180
ME = "/api/v1/auth/me"
JWKS = "/.well-known/jwks.json"

# Keys for the RS256/ES256 stacks, made once per run.
KEYDIR = tempfile.mkdtemp(prefix="sy-tokens-keys-")
atexit.register(shutil.rmtree, KEYDIR, True)


def openssl(*args, stdin=None):
    p = subprocess.run(["openssl"] + list(args), input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert p.returncode == 0, "openssl %s: %s" % (args[0], p.stderr.decode())
    return p.stdout


def make_key(name, *genpkey_opts):
    pem = os.path.join(KEYDIR, name + ".pem")
    pub = os.path.join(KEYDIR, name + ".pub")
    openssl("genpkey", *genpkey_opts, "-out", pem)
    openssl("pkey", "-in", pem, "-pubout", "-out", pub)
    os.chmod(pem, 0o644)  # the stack's synthia may run as another user
    return pem, pub


RSA_PEM, RSA_PUB = make_key("rsa", "-algorithm", "RSA", "-pkeyopt",
                            "rsa_keygen_bits:2048")
EC_PEM, EC_PUB = make_key("ec", "-algorithm", "EC", "-pkeyopt",
                          "ec_paramgen_curve:P-256")


def unauthorized(r):
    return sylib.assert_problem(r, 401, "unauthorized")


def auth_config(alg, pem, kid, verify_keys=""):
    return ("[auth]\njwt_algorithm = %s\njwt_private_key_file = %s\n"
            "jwt_kid = %s\njwt_verify_keys = %s\n" % (alg, pem, kid,
                                                      verify_keys))


def reconfigure(stack, text):
    """Append text to the stack's synthia.conf (later keys win), SIGHUP,
    and wait until only responders with the new config are left."""
    old = set(stack.responder_pids())
    with open(stack.env["SY_CONFIG"], "a") as f:
        f.write("\n" + text)
    stack.reload()
    stack.wait_responders(exclude=old)


def b64d(s):
    return syid.b64url_decode(s)


def der_len(n):
    if n < 128:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der_int(b):
    b = b.lstrip(b"\0") or b"\0"
    if b[0] & 0x80:
        b = b"\0" + b
    return b"\x02" + der_len(len(b)) + b


def jwk_to_der(jwk):
    """SubjectPublicKeyInfo (DER) of a JWK, built by hand (stdlib only)."""
    if jwk["kty"] == "EC":
        prefix = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d03"
                               "0107034200")
        return prefix + b"\x04" + b64d(jwk["x"]) + b64d(jwk["y"])
    rsa = der_int(b64d(jwk["n"])) + der_int(b64d(jwk["e"]))
    rsa = b"\x30" + der_len(len(rsa)) + rsa
    bits = b"\x03" + der_len(len(rsa) + 1) + b"\0" + rsa
    alg = bytes.fromhex("300d06092a864886f70d0101010500")
    body = alg + bits
    return b"\x30" + der_len(len(body)) + body


def pub_der(pub_pem_path):
    return openssl("pkey", "-pubin", "-in", pub_pem_path, "-outform", "DER")


def verify_with_jwk(token, jwk):
    """Check token's signature with the openssl command and the JWK."""
    h, p, s = token.split(".")
    sig = b64d(s)
    if jwk["kty"] == "EC":  # JOSE r||s -> DER ECDSA-Sig-Value
        body = der_int(sig[:32]) + der_int(sig[32:])
        sig = b"\x30" + der_len(len(body)) + body
    d = tempfile.mkdtemp(prefix="sy-verify-")
    try:
        paths = {n: os.path.join(d, n) for n in ("key.der", "sig", "data")}
        for n, data in (("key.der", jwk_to_der(jwk)), ("sig", sig),
                        ("data", (h + "." + p).encode())):
            with open(paths[n], "wb") as f:
                f.write(data)
        r = subprocess.run(["openssl", "dgst", "-sha256", "-keyform", "DER",
                            "-verify", paths["key.der"], "-signature",
                            paths["sig"], paths["data"]],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return r.returncode == 0
    finally:
        shutil.rmtree(d, True)


def jwks(stack):
    r = stack.get(JWKS)
    assert r.status == 200, r
    return {k["kid"]: k for k in r.json()["keys"]}


def signed_in(stack, role="shopper"):
    t = syid.new_tenant(stack)
    u = syid.new_user(stack, t, role)
    return t, u, syid.login_ok(stack, u)


# ---------------------------------------------------------------- JWKS


def test_jwks_of_an_hs256_server_is_empty_and_cacheable(stack):
    r = stack.get(JWKS)
    assert r.status == 200, r
    assert r.content_type == "application/json", r
    assert r.json() == {"keys": []}, r
    assert r.headers.get("Cache-Control") == "public, max-age=300", r
    etag = r.headers.get("ETag")
    assert etag and etag.startswith('"'), r
    r = stack.get(JWKS, headers={"If-None-Match": etag})
    assert r.status == 304 and r.body == b"", r
    assert r.headers.get("ETag") == etag, r
    assert r.headers.get("Cache-Control") == "public, max-age=300", r


@sylib.own_stack(extra_config=auth_config("ES256", EC_PEM, "ec-1"))
def test_es256_tokens_verify_against_the_published_key(stack):
    _, u, tok = signed_in(stack)
    header, claims, _ = syid.jwt_parts(tok["access_token"])
    assert header["alg"] == "ES256" and header["kid"] == "ec-1", header
    assert header.get("typ") == "JWT", header
    assert claims["iss"] == "synthia" and claims["sub"] == u["id"], claims
    keys = jwks(stack)
    assert list(keys) == ["ec-1"], keys
    k = keys["ec-1"]
    assert (k["kty"], k["crv"], k["alg"], k["use"]) == \
        ("EC", "P-256", "ES256", "sig"), k
    assert "d" not in k, "private part published: %r" % k
    assert jwk_to_der(k) == pub_der(EC_PUB), "JWKS is not the key file's"
    assert verify_with_jwk(tok["access_token"], k)
    assert syid.me(stack, tok["access_token"]).status == 200


@sylib.own_stack(extra_config=auth_config("RS256", RSA_PEM, "rsa-1"))
def test_rs256_server_refuses_hs_rs_confusion(stack):
    _, u, tok = signed_in(stack)
    header, claims, sig = syid.jwt_parts(tok["access_token"])
    assert header["alg"] == "RS256" and header["kid"] == "rsa-1", header
    k = jwks(stack)["rsa-1"]
    assert (k["kty"], k["alg"], k["use"], k["e"]) == \
        ("RSA", "RS256", "sig", "AQAB"), k
    assert jwk_to_der(k) == pub_der(RSA_PUB)
    assert verify_with_jwk(tok["access_token"], k)
    assert syid.me(stack, tok["access_token"]).status == 200

    with open(RSA_PUB, "rb") as f:
        pub = f.read()
    hs = dict(header, alg="HS256")
    attacks = {
        # the classic: HMAC keyed with the public key the server publishes
        "HS256 with the public key PEM": syid.jwt_sign(hs, claims, pub),
        "HS256 with the PEM, no newline": syid.jwt_sign(
            hs, claims, pub.rstrip(b"\n")),
        "HS256 with the DER key": syid.jwt_sign(hs, claims,
                                                pub_der(RSA_PUB)),
        "HS256 with the HS secret file": syid.jwt_sign(
            hs, claims, syid.jwt_secret(stack)),
        "alg none": syid.jwt_unsigned(dict(header, alg="none"), claims),
        "alg none, RS signature kept": syid.jwt_unsigned(
            dict(header, alg="none"), claims, sig),
        "ES256 header, RS signature": syid.jwt_unsigned(
            dict(header, alg="ES256"), claims, sig),
        "tampered claims": syid.jwt_unsigned(
            header, dict(claims, role="owner"), sig),
    }
    for what, bad in attacks.items():
        r = syid.me(stack, bad)
        assert r.status == 401, (what, r)
        unauthorized(r)


# ------------------------------------------------------------ rotation


@sylib.own_stack(extra_config=auth_config("RS256", RSA_PEM, "rsa-1"),
                 workers=2)
def test_signing_key_rotation_keeps_everyone_signed_in(stack):
    _, u, old = signed_in(stack)
    assert syid.jwt_parts(old["access_token"])[0]["kid"] == "rsa-1"

    # new signing key; the old one only verifies
    reconfigure(stack, auth_config("ES256", EC_PEM, "ec-2",
                                   "rsa-1=" + RSA_PUB))
    for _ in range(4):  # each responder
        assert syid.me(stack, old["access_token"]).status == 200
    new = syid.login_ok(stack, u)
    h, _, _ = syid.jwt_parts(new["access_token"])
    assert (h["alg"], h["kid"]) == ("ES256", "ec-2"), h
    assert sorted(jwks(stack)) == ["ec-2", "rsa-1"]
    r = syid.refresh(stack, old["refresh_token"])
    assert r.status == 200, r
    assert syid.jwt_parts(r.json()["access_token"])[0]["kid"] == "ec-2"

    # the old key retired: its access tokens stop, the new ones go on
    reconfigure(stack, auth_config("ES256", EC_PEM, "ec-2", ""))
    for _ in range(4):
        unauthorized(syid.me(stack, old["access_token"]))
        assert syid.me(stack, new["access_token"]).status == 200
    assert sorted(jwks(stack)) == ["ec-2"]


# ---------------------------------------------------------- revocation


@sylib.own_stack(workers=2)
def test_logout_during_a_redis_outage_holds_when_redis_returns(stack):
    _, u, tok = signed_in(stack)
    other = syid.login_ok(stack, u)
    stack.stop_redis()
    try:
        # checked in PostgreSQL while Redis is down
        assert syid.me(stack, tok["access_token"]).status == 200
        r = stack.request("POST", "/api/v1/auth/logout",
                          headers=syid.bearer(tok["access_token"]))
        assert r.status == 204, r
        for _ in range(4):
            unauthorized(syid.me(stack, tok["access_token"]))
            assert syid.me(stack, other["access_token"]).status == 200
    finally:
        stack.start_redis()
    # Redis is back without the mark: the responders resync before they
    # believe it (wait past redis.retry so both reconnect)
    time.sleep(1.2)
    for _ in range(6):
        unauthorized(syid.me(stack, tok["access_token"]))
        assert syid.me(stack, other["access_token"]).status == 200
    log = stack.read_log("synthia.log")
    assert '"event":"session_revoke_unpropagated"' in log


@sylib.own_stack(workers=2)
def test_revocations_survive_a_redis_restart(stack):
    _, u, tok = signed_in(stack)
    other = syid.login_ok(stack, u)
    r = stack.request("POST", "/api/v1/auth/logout",
                      headers=syid.bearer(tok["access_token"]))
    assert r.status == 204, r
    unauthorized(syid.me(stack, tok["access_token"]))
    # the stack's Redis keeps nothing on disk: a restart loses the mark
    stack.stop_redis()
    stack.start_redis()
    time.sleep(1.2)
    for _ in range(6):
        unauthorized(syid.me(stack, tok["access_token"]))
        assert syid.me(stack, other["access_token"]).status == 200


@sylib.own_stack(workers=1)
def test_token_checks_fail_closed_when_both_stores_are_down(stack):
    _, u, tok = signed_in(stack)
    stack.stop_redis()
    stack.stop_pg()
    try:
        r = syid.me(stack, tok["access_token"])
        sylib.assert_problem(r, 503, "storage_unavailable")
    finally:
        stack.start_pg()
        stack.start_redis()


# ------------------------------------------------------- refresh tokens


def test_refresh_tokens_are_stored_only_as_sha256(stack):
    _, u, tok = signed_in(stack)
    rt = tok["refresh_token"]
    assert len(rt) == 43 and len(syid.b64url_decode(rt)) == 32, rt
    nxt = syid.refresh(stack, rt).json()["refresh_token"]
    rows = syid.psql(stack, """
        SELECT encode(rt.token_hash, 'hex'), length(rt.nonce),
               rt.used_at IS NOT NULL, rt.successor_id IS NOT NULL,
               rt.parent_id IS NOT NULL
        FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
        WHERE s.user_id = :'id' ORDER BY rt.created_at""", id=u["id"])
    assert rows == [
        [hashlib.sha256(rt.encode()).hexdigest(), "16", "t", "t", "f"],
        [hashlib.sha256(nxt.encode()).hexdigest(), "16", "f", "f", "t"],
    ], rows
    dump = syid.psql(stack, "SELECT r::text FROM refresh_tokens r "
                     "UNION ALL SELECT s::text FROM sessions s")
    assert not any(rt in c or nxt in c for row in dump for c in row)


def test_reuse_within_the_grace_after_the_successor_was_used(stack):
    _, u, tok = signed_in(stack)
    rt0 = tok["refresh_token"]
    rt1 = syid.refresh(stack, rt0).json()["refresh_token"]
    rt2 = syid.refresh(stack, rt1).json()["refresh_token"]
    # a slow tab presents rt0 again: it gets rt1, already used itself ...
    r = syid.refresh(stack, rt0)
    assert r.status == 200 and r.json()["refresh_token"] == rt1, r
    # ... and rt1 (used within the grace) gives the same rt2
    r = syid.refresh(stack, rt1)
    assert r.status == 200 and r.json()["refresh_token"] == rt2, r
    assert syid.me(stack, r.json()["access_token"]).status == 200
    rows = syid.psql(stack, "SELECT count(*), count(*) FILTER (WHERE "
                     "revoked_at IS NULL) FROM sessions WHERE "
                     "user_id = :'id'", id=u["id"])
    assert rows == [["1", "1"]], rows


@sylib.own_stack(workers=4)
def test_parallel_refreshes_of_one_token_get_one_successor(stack):
    _, u, tok = signed_in(stack)
    for _ in range(3):
        rt = tok["refresh_token"]
        results = [None] * 8
        barrier = threading.Barrier(len(results))

        def go(i):
            barrier.wait()
            results[i] = syid.refresh(stack, rt)
        threads = [threading.Thread(target=go, args=(i,))
                   for i in range(len(results))]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        assert all(r is not None and r.status == 200 for r in results), \
            results
        assert len({r.json()["refresh_token"] for r in results}) == 1
        tok = results[0].json()
    rows = syid.psql(stack, "SELECT count(*) FROM refresh_tokens rt JOIN "
                     "sessions s ON s.id = rt.session_id WHERE "
                     "s.user_id = :'id' AND s.revoked_at IS NULL",
                     id=u["id"])
    assert rows == [["4"]], rows  # the first token and three successors


@sylib.own_stack(extra_config="[auth]\nrefresh_reuse_grace = 500ms\n")
def test_reuse_is_a_security_log_line_without_the_token(stack):
    t, u, tok = signed_in(stack)
    rt0 = tok["refresh_token"]
    assert syid.refresh(stack, rt0).status == 200
    time.sleep(0.8)
    unauthorized(syid.refresh(stack, rt0))
    sid = syid.jwt_parts(tok["access_token"])[1]["sid"]
    lines = [json.loads(line) for line in
             stack.read_log("synthia.log").splitlines()
             if '"refresh_token_reuse"' in line]
    assert len(lines) == 1, lines
    e = lines[0]
    assert e["level"] == "warn" and e["session_id"] == sid, e
    assert e["user_id"] == u["id"] and e["tenant_id"] == t["id"], e
    log = stack.read_log("synthia.log")
    assert rt0 not in log and tok["access_token"] not in log


@sylib.own_stack(workers=1)
def test_login_sweeps_expired_refresh_tokens(stack):
    _, u, tok = signed_in(stack)  # the responder's first login: swept
    sid = syid.jwt_parts(tok["access_token"])[1]["sid"]
    syid.psql(stack, """
        INSERT INTO refresh_tokens (session_id, token_hash, nonce, expires_at)
        SELECT :'sid', sha256(convert_to(g::text, 'UTF8')),
               substr(sha256(convert_to(g::text, 'UTF8')), 1, 16),
               now() - interval '2 days'
        FROM generate_series(1, 5) g""", sid=sid)
    # not before an hour has passed in this responder ...
    syid.login_ok(stack, u)
    n = syid.psql(stack, "SELECT count(*) FROM refresh_tokens "
                  "WHERE expires_at < now()")
    assert n == [["5"]], n
    # ... but a fresh responder sweeps at its first login
    stack.restart()
    stack.wait_responders()
    syid.login_ok(stack, u)
    n = syid.psql(stack, "SELECT count(*) FROM refresh_tokens "
                  "WHERE expires_at < now()")
    assert n == [["0"]], n
    assert syid.refresh(stack, tok["refresh_token"]).status == 200


sylib.main(globals())

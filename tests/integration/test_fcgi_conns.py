#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Responders that keep several FastCGI connections (issue 12).

Raw FastCGI on the stack's socket: FCGI_GET_VALUES answered with the real
limits, FCGI_ABORT_REQUEST of a request not yet served, an idle kept
connection never holding up a request on another one, the idle one used
least recently closed at server.responder_connections.  Through nginx
with connection reuse on (the shipped site): a second nginx holding 64
idle kept connections does not starve the first one's requests, and
SIGHUP every 0.25 s under keep-alive load fails no request."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import sylib

SHARED_STACK = dict(workers=2)
TEST_TIMEOUT = 180

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT = 1, 2, 3, 4, 5, 6
GET_VALUES, GET_VALUES_RESULT = 9, 10


def record(rtype, rid, content=b""):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), pad, 0) + \
        content + b"\0" * pad


def pairs(d):
    out = b""
    for k, v in d.items():
        k, v = k.encode(), v.encode()
        for n in (len(k), len(v)):
            out += bytes([n]) if n < 128 else struct.pack(">I", n | 1 << 31)
        out += k + v
    return out


def parse_pairs(b):
    out, i = {}, 0
    while i < len(b):
        lens = []
        for _ in range(2):
            if b[i] & 0x80:
                lens.append(struct.unpack(">I", b[i:i + 4])[0] & 0x7fffffff)
                i += 4
            else:
                lens.append(b[i])
                i += 1
        out[b[i:i + lens[0]].decode()] = b[i + lens[0]:i + lens[0] + lens[1]].decode()
        i += lens[0] + lens[1]
    return out


def begin(rid, keep=True):
    return record(BEGIN, rid, struct.pack(">HB5x", 1, 1 if keep else 0))


def request(rid, path="/health/live", keep=True):
    env = {"REQUEST_METHOD": "GET", "REQUEST_URI": path, "SCRIPT_NAME": path,
           "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1",
           "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_PORT": "80"}
    return (begin(rid, keep) + record(PARAMS, rid, pairs(env)) +
            record(PARAMS, rid) + record(STDIN, rid))


def read_record(s):
    def exact(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                raise EOFError("connection closed after %r" % b)
            b += c
        return b
    _, rtype, rid, clen, pad, _ = struct.unpack(">BBHHBB", exact(8))
    content = exact(clen)
    exact(pad)
    return rtype, rid, content


def read_response(s, rid):
    """STDOUT up to END_REQUEST of rid: (status line value, body)."""
    out = b""
    while True:
        rtype, r, content = read_record(s)
        assert r == rid, (r, rid, rtype)
        if rtype == STDOUT:
            out += content
        elif rtype == END:
            break
    head, _, body = out.partition(b"\r\n\r\n")
    m = re.search(rb"^Status: (\d+)", head, re.M)
    return int(m.group(1)) if m else 200, body


def connect(stack, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(stack.env["SY_FCGI_SOCKET"])
    return s


def test_get_values_tells_the_real_limits(stack):
    s = connect(stack)
    try:
        s.sendall(record(GET_VALUES, 0, pairs(
            {"FCGI_MAX_CONNS": "", "FCGI_MAX_REQS": "", "FCGI_MPXS_CONNS": "",
             "SOMETHING_ELSE": ""})))
        rtype, rid, content = read_record(s)
        assert (rtype, rid) == (GET_VALUES_RESULT, 0), (rtype, rid)
        vals = parse_pairs(content)
        # 2 responders of 32 kept connections each plus the connections
        # of up to 256 parked requests each (the defaults)
        assert vals == {"FCGI_MAX_CONNS": "576", "FCGI_MAX_REQS": "576",
                        "FCGI_MPXS_CONNS": "0"}, vals
        # the same connection goes on to serve requests
        for rid in (1, 2):
            s.sendall(request(rid))
            status, body = read_response(s, rid)
            assert status == 200 and b"alive" in body, (status, body)
        # an unknown management record: FCGI_UNKNOWN_TYPE naming it
        s.sendall(record(42, 0, b"x"))
        rtype, rid, content = read_record(s)
        assert (rtype, rid, content[0]) == (11, 0, 42), (rtype, rid, content)
    finally:
        s.close()


def test_abort_of_a_request_not_yet_served(stack):
    s = connect(stack)
    try:
        # the head is incomplete (no empty PARAMS): nothing is served yet
        s.sendall(begin(7) + record(PARAMS, 7, pairs({"REQUEST_METHOD": "GET"})))
        time.sleep(0.2)
        s.sendall(record(ABORT, 7))
        rtype, rid, content = read_record(s)
        assert (rtype, rid) == (END, 7), (rtype, rid, content)
        assert content[4] == 0, content  # FCGI_REQUEST_COMPLETE
        # the kept connection serves the next request
        s.sendall(request(8))
        status, _ = read_response(s, 8)
        assert status == 200, status
    finally:
        s.close()


def writes(pids):
    """write-family system calls the processes have made (/proc/PID/io)."""
    n = 0
    for pid in pids:
        with open("/proc/%d/io" % pid) as f:
            n += int(re.search(r"^syscw: (\d+)", f.read(), re.M).group(1))
    return n


def test_a_response_leaves_in_one_write(stack):
    """A response of 12+ KiB reaches the web server in one write():
    STDOUT, its end and END_REQUEST together.  Through libfcgi's stream
    it took three or more (8 KiB records, the rest, then END_REQUEST after
    reading the empty STDIN on a kept connection), and a responder killed
    between two of them left nginx with a response begun and no end: it
    could only drop its client's connection (wrk's "read" error in a CI
    run of test_faults_load).  Counted: the responders' write calls
    around one /metrics request on a kept connection, the fewest of five
    tries (an idle responder may write to Redis meanwhile); one more is
    the access log line."""
    s = connect(stack)
    try:
        fewest = None
        for rid in range(1, 6):
            pids = stack.responder_pids()
            before = writes(pids)
            s.sendall(request(rid, "/metrics"))
            status, body = read_response(s, rid)
            time.sleep(0.05)  # the log line follows the response
            n = writes(pids) - before
            assert status == 200 and len(body) > 12288, (status, len(body))
            fewest = n if fewest is None else min(fewest, n)
        assert fewest <= 2, "%d write calls for one response" % fewest
    finally:
        s.close()


@sylib.own_stack(workers=1)
def test_idle_connections_never_hold_up_another(stack):
    # one responder; connections that are open but idle (or whose request
    # is half sent) do not keep it from serving a request on another
    idle = [connect(stack) for _ in range(5)]
    half = connect(stack)
    busy = connect(stack)
    try:
        whole = request(1)
        cut = len(begin(1)) + 20  # in the middle of the PARAMS record
        half.sendall(whole[:cut])
        for i in range(20):
            t0 = time.monotonic()
            busy.sendall(request(i + 1))
            status, _ = read_response(busy, i + 1)
            assert status == 200, status
            assert time.monotonic() - t0 < 1.0, "request %d took %.2fs" % (
                i, time.monotonic() - t0)
        # requests sent on several connections at once are all answered
        conns = idle[:3]
        for i, c in enumerate(conns):
            c.sendall(request(100 + i))
        for i, c in reversed(list(enumerate(conns))):
            assert read_response(c, 100 + i)[0] == 200
        # the half-sent request is served once the rest arrives
        half.sendall(whole[cut:])
        assert read_response(half, 1)[0] == 200
    finally:
        for c in idle + [half, busy]:
            c.close()


@sylib.own_stack(workers=1, extra_config="[server]\nresponder_connections = 4\n")
def test_least_recently_used_idle_connection_makes_room(stack):
    conns = []
    try:
        for i in range(4):
            c = connect(stack)
            c.sendall(request(1))
            assert read_response(c, 1)[0] == 200
            conns.append(c)
        # the limit is reached; a fifth connection is still served ...
        fifth = connect(stack)
        conns.append(fifth)
        fifth.sendall(request(1))
        assert read_response(fifth, 1)[0] == 200
        # ... and the idle one used least recently was closed for it
        conns[0].settimeout(2)
        assert conns[0].recv(1) == b"", "the oldest idle connection is open"
        for c in conns[1:]:
            c.sendall(request(2))
            assert read_response(c, 2)[0] == 200
    finally:
        for c in conns:
            c.close()


# ------------------------------------------------------ through nginx


def wrk(url, seconds, connections=32, threads=2):
    p = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % connections,
                        "-d%ds" % seconds, "--latency", url],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=seconds + 60)
    out = p.stdout.decode()
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", out, re.M)
    assert m, out
    p99 = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    n = int(re.search(r"(\d+) requests in", out).group(1))
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                     r"timeout (\d+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = (sum(int(x) for x in errs.groups()) if errs else 0) + \
        (int(bad.group(1)) if bad else 0)
    return {"p99_ms": p99, "requests": n, "failed": failed, "out": out}


class SecondNginx:
    """Another nginx on the same FastCGI socket whose upstream keeps up to
    `keep` idle connections (one worker)."""

    def __init__(self, stack, keep):
        self.dir = tempfile.mkdtemp(prefix="sy-ngx2-")
        shutil.copy("/etc/nginx/fastcgi_params", self.dir)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        d = self.dir
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write("""daemon off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %(d)s/body;
    fastcgi_temp_path %(d)s/fastcgi;
    proxy_temp_path %(d)s/proxy;
    scgi_temp_path %(d)s/scgi;
    uwsgi_temp_path %(d)s/uwsgi;
    upstream sy { server unix:%(sock)s; keepalive %(keep)d; }
    server {
        listen 127.0.0.1:%(port)d;
        location / {
            include fastcgi_params;
            fastcgi_pass sy;
            fastcgi_keep_conn on;
        }
    }
}
""" % {"d": d, "sock": stack.env["SY_FCGI_SOCKET"], "keep": keep,
       "port": self.port})
        self.proc = subprocess.Popen(
            ["nginx", "-p", d + "/", "-c", d + "/nginx.conf", "-e",
             d + "/error.log"], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = "http://127.0.0.1:%d/health/live" % self.port

        def up():
            try:
                return sylib.http_request("127.0.0.1", self.port, "GET",
                                          "/health/live").status == 200
            except OSError:
                return False
        sylib.wait_until(up, timeout=15, what="the second nginx")
        self.url = url

    def connections(self):
        """Its open connections to the FastCGI socket (unix sockets of
        its worker)."""
        n = 0
        for pid in [self.proc.pid] + sylib.children(self.proc.pid):
            try:
                for fd in os.listdir("/proc/%d/fd" % pid):
                    try:
                        if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                            n += 1
                    except OSError:
                        pass
            except OSError:
                pass
        return n

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@sylib.own_stack(workers=4, extra_config="[server]\nresponder_connections = 16\n")
def test_idle_kept_connections_of_another_nginx_do_not_starve(stack):
    """p99 with the idle connections within 2x the p99 without, in the
    same round.  A p99 over 5 s on a shared machine moves with whatever
    else runs (make -j2 check runs two test files at once), so a round
    that misses is measured again, up to three rounds: starvation
    misses every round (requests wait for a connection that never comes
    free), a neighbour's burst only some."""
    url = stack.base_url + "/health/live"
    rounds = []
    for _ in range(3):
        base = wrk(url, 5)
        assert base["failed"] == 0, base["out"]
        other = SecondNginx(stack, keep=64)
        try:
            # 64 requests at once: the second nginx opens 64 connections
            # and keeps them, idle, once its load stops; with 16 per
            # responder they are every connection the pool keeps
            # (how many it opens depends on how many of its requests
            # overlap: 39 of 64 seen in one burst on a slow sanitizer
            # build, so bursts of 64 then 128 until it holds 48)
            sockets0 = other.connections()
            for conns in (64, 128, 128):
                load = wrk(other.url, 2, connections=conns, threads=2)
                assert load["failed"] == 0, load["out"]
                held = other.connections() - sockets0
                print("# the second nginx holds %d more sockets after %d "
                      "at once" % (held, conns))
                if held >= 48:
                    break
            assert held >= 48, held
            res = wrk(url, 5)
        finally:
            other.close()
        print("# p99 %.2f ms without the idle connections, %.2f ms with "
              "(%d and %d requests)" % (base["p99_ms"], res["p99_ms"],
                                        base["requests"], res["requests"]))
        assert res["failed"] == 0, res["out"]
        rounds.append((base["p99_ms"], res["p99_ms"]))
        if res["p99_ms"] <= 2 * base["p99_ms"]:
            return
    raise AssertionError("p99 with idle connections over 2x without, in "
                         "every round: %r" % rounds)


def test_sighup_every_quarter_second_under_keepalive_load(stack):
    before = stack.wait_responders()
    master = stack.master_pid()
    url = stack.base_url + "/health/live"
    p = subprocess.Popen(["wrk", "-t2", "-c32", "-d8s", "--latency", url],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    hups = 0
    try:
        time.sleep(1)
        t_end = time.monotonic() + 6
        while time.monotonic() < t_end:
            os.kill(master, signal.SIGHUP)
            hups += 1
            time.sleep(0.25)
        out = p.communicate(timeout=60)[0].decode()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    after = stack.wait_responders(exclude=before, timeout=30)
    n = int(re.search(r"(\d+) requests in", out).group(1))
    errs = re.search(r"Socket errors: .*", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print("# %d SIGHUPs, %d requests; responders %s -> %s"
          % (hups, n, before, after))
    assert not errs and not bad, out
    assert n >= 1000, out
    assert stack.master_pid() == master


if __name__ == "__main__":
    sys.exit(sylib.main(globals()))

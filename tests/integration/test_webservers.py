#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_webservers.py - the web-server and launcher matrix.

For each of nginx, Apache httpd, lighttpd and Caddy (the Debian packages),
start that server on a free loopback port with the configuration shipped in
conf/ (templated only for paths and ports: @SOCKET@, @WWWROOT@, @PORT@, plus
the server-wide boilerplate a sysadmin already has: pid file, logs, modules)
and check through it:

  - what the web server hands the application (REQUEST_URI with its query,
    QUERY_STRING, method, CONTENT_TYPE/CONTENT_LENGTH and the body,
    REMOTE_ADDR, SERVER_PORT, HTTPS, Authorization, no httpoxy Proxy
    header), against a FastCGI echo responder in this file;
  - /health/live, /health/ready, a 404 problem, a 413 problem from the
    application (2 MiB body: under the web server's 12 MiB fence), a static
    file from www/, an X-Request-Id round trip, and the client address
    that the application sees: /health/detailed is 200 from 127.0.0.1 and
    403 when server.trusted_networks excludes it, and the access log line
    has "client":"127.0.0.1";
  - the errors the web server makes itself (SERVER_ERRORS: "%00" in an API
    path, a malformed header, a long URI, oversized headers, a body over
    its 12 MiB fence, the pool down, a responder dying mid-request) as
    application/problem+json in API.md's shape, with the client's sane
    X-Request-Id where the server still has it and a sane id of its own
    otherwise, Retry-After on 502/503; and the cases the docs name as
    limits (Caddy: what Go's HTTP server answers itself).  The 504 of a
    responder slower than the server's 35 s timeout uses the same
    mechanism in each configuration and is not waited for here.

Then the same application checks with the pool started by spawn-fcgi (the
shipped conf/spawn-fcgi/synthia-spawn-fcgi.sh, both styles: -F 2 with
--workers 0, and one master with --workers 2), and with systemd-style
socket passing (LISTEN_FDS/LISTEN_PID, with a NOTIFY_SOCKET that must see
READY=1, RELOADING=1 on SIGHUP and STOPPING=1 on SIGTERM).

PostgreSQL, Redis, migrations and the first synthia master come from
tests/stack.sh (--web none).  The web servers reach the pool through a
symlink that this test re-points (pool, echo responder, restricted pool):
unix sockets are connected per request, so a switch takes effect at once.

Prints `N passed, N failed`; exit 1 on failure, 77 (automake SKIP) when a
web server binary is missing and CI is not set (in CI that is a failure).
"""

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import re
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("SY_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("SY_BUILDDIR") or SRC
CI = bool(os.environ.get("CI"))
# SY_WEBSERVERS="lighttpd caddy" runs a subset (by hand, while debugging).
SERVERS = os.environ.get("SY_WEBSERVERS", "nginx apache lighttpd caddy").split()
SERVER_BIN = {"nginx": "nginx", "apache": "apache2", "lighttpd": "lighttpd",
              "caddy": "caddy"}
START_TIMEOUT = 20
SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")  # API.md's sane request id

results = []  # (name, ok, detail)
missing = []  # web servers whose binary is not installed
keep = []     # cleanups, run in reverse


def record(name, ok, detail=""):
    results.append((name, ok, detail))
    print("%s - %s%s" % ("ok" if ok else "FAIL", name,
                         (": " + detail) if detail and not ok else ""),
          flush=True)


class CheckFailed(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def check(name, fn, *args):
    try:
        fn(*args)
        record(name, True)
    except CheckFailed as e:
        record(name, False, str(e))
    except Exception as e:  # a crash of the check is a failure too
        record(name, False, "%s: %s" % (type(e).__name__, e))


# --------------------------------------------------------------- processes

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def children(pid):
    kids = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                kids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return kids


def descendants(pid):
    out = []
    for k in children(pid):
        out.append(k)
        out += descendants(k)
    return out


def stop_pid(pid, sig=signal.SIGTERM, timeout=15):
    """Signal one process we started; SIGKILL it and what it forked if it
    does not go away.  Returns True when it stopped on `sig`."""
    if not pid or not alive(pid):
        return True
    kids = descendants(pid)
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    deadline = time.time() + timeout
    while time.time() < deadline:
        reap(pid)
        if not alive(pid):
            break
        time.sleep(0.05)
    clean = not alive(pid)
    for p in [pid] + kids:
        if alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    reap(pid)
    return clean


def reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def spawn(argv, log, env=None, cwd=None):
    """Start a foreground program in the background; its pid is ours."""
    out = open(log, "ab")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                         stderr=subprocess.STDOUT, env=env, cwd=cwd,
                         start_new_session=True)
    out.close()
    return p


def tail(path, n=25):
    try:
        with open(path, errors="replace") as f:
            lines = f.readlines()[-n:]
        return "".join("    | " + l for l in lines)
    except OSError:
        return "    (no %s)\n" % path


def wait_socket(path, pid=None, timeout=START_TIMEOUT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pid and not alive(pid):
            return False
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return True
        except OSError:
            time.sleep(0.05)
        finally:
            s.close()
    return False


# ------------------------------------------------------------- HTTP client

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise CheckFailed("body is not JSON: %r" % self.body[:200])

    def __repr__(self):
        return "%d %s %r" % (self.status, self.header("content-type"),
                             self.body[:160])


def fetch(port, method, path, headers=None, body=None, timeout=15):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    except (ConnectionError, http.client.HTTPException, OSError) as e:
        raise CheckFailed("%s %s: %s: %s" % (method, path, type(e).__name__, e))
    finally:
        c.close()


def expect_problem(r, status, code):
    expect(r.status == status, "expected %d, got %r" % (status, r))
    ctype = r.header("content-type") or ""
    expect(ctype.startswith("application/problem+json"),
           "expected application/problem+json, got %r (the web server "
           "replaced the application's error body?)" % ctype)
    p = r.json()
    expect(p.get("status") == status and p.get("code") == code,
           "problem has status %r code %r, expected %d %s"
           % (p.get("status"), p.get("code"), status, code))
    expect(p.get("request_id"), "problem has no request_id")


# ---------------------------------------------- FastCGI echo responder

FCGI_BEGIN, FCGI_END, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6
FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT, FCGI_KEEP_CONN = 9, 10, 1


def _pairs(data):
    out, i = {}, 0
    while i < len(data):
        lens = []
        for _ in range(2):
            b = data[i]
            if b >> 7:
                lens.append(struct.unpack(">I", data[i:i + 4])[0] & 0x7FFFFFFF)
                i += 4
            else:
                lens.append(b)
                i += 1
        name = data[i:i + lens[0]].decode("latin-1")
        i += lens[0]
        out[name] = data[i:i + lens[1]].decode("latin-1")
        i += lens[1]
    return out


def _record(typ, rid, content=b""):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", 1, typ, rid, len(content), pad, 0) + \
        content + b"\0" * pad


class _EchoHandler(socketserver.BaseRequestHandler):
    """Answers every FastCGI request with its params and a digest of its
    body, as JSON."""

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def handle(self):
        try:
            while self._one():
                pass
        except (EOFError, ConnectionError):
            pass

    def _one(self):
        # bytearrays: appending 13 MiB record by record to bytes is
        # quadratic, and slow enough under load to trip a proxy timeout
        params, stdin, keep, rid = bytearray(), bytearray(), False, 0
        while True:
            _, typ, rid, clen, plen, _ = struct.unpack(">BBHHBB",
                                                       self._read(8))
            content = self._read(clen)
            self._read(plen)
            if typ == FCGI_BEGIN:
                keep = bool(content[2] & FCGI_KEEP_CONN)
            elif typ == FCGI_PARAMS:
                params += content
            elif typ == FCGI_STDIN:
                if not clen:
                    break
                stdin += content
            elif typ == FCGI_GET_VALUES:
                self.request.sendall(_record(FCGI_GET_VALUES_RESULT, 0))
        body = json.dumps({
            "params": _pairs(params),
            "stdin_len": len(stdin),
            "stdin_sha256": hashlib.sha256(stdin).hexdigest(),
        }).encode()
        head = (b"Status: 200 OK\r\nContent-Type: application/json\r\n"
                b"X-Echo: 1\r\nContent-Length: %d\r\n\r\n" % len(body))
        out, data = b"", head + body
        for i in range(0, len(data), 32768):
            out += _record(FCGI_STDOUT, rid, data[i:i + 32768])
        out += _record(FCGI_STDOUT, rid)
        out += _record(FCGI_END, rid, struct.pack(">IB3x", 0, 0))
        self.request.sendall(out)
        return keep


class EchoServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


# -------------------------------------------------------------- backends

class Backend:
    """The socket the web servers are configured with: a symlink that is
    re-pointed atomically at one pool or another."""

    def __init__(self, path):
        self.path = path
        self.target = None
        self.log = None

    def point(self, target, log=None):
        tmp = self.path + ".new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(target, tmp)
        os.replace(tmp, self.path)
        self.target, self.log = target, log


# ----------------------------------------------------------- web servers

# Where the web servers' helper scripts (conf/*/synthia-problem.lua) are,
# as @pkgdatadir@/<server>/ after `make install`: a copy made by main().
PKGDATA = None


def pkgdata(tmp):
    """A stand-in for $(pkgdatadir) holding what `make install` puts
    there for the web servers."""
    d = os.path.join(tmp, "pkgdata")
    for server in ("apache", "lighttpd"):
        os.makedirs(os.path.join(d, server), exist_ok=True)
        shutil.copy(os.path.join(SRC, "conf", server, "synthia-problem.lua"),
                    os.path.join(d, server))
    os.chmod(d, 0o755)
    return d


# The shipped nginx and Apache sites keep their FastCGI connections
# (issue 12).  This matrix re-points the socket (a symlink: Backend) from
# one pool to another between checks, which a kept connection would not
# follow, so here they open one connection per request.  Reuse itself is
# exercised by the stack's nginx (every integration test runs through the
# shipped site) and by test_fcgi_conns.py.
NO_REUSE = [("fastcgi_keep_conn on;", "fastcgi_keep_conn off;"),
            ("ProxySet enablereuse=on", "ProxySet enablereuse=off")]


def template(src, dst, port, socket_path, wwwroot):
    with open(src) as f:
        text = f.read()
    for on, off in NO_REUSE:
        if src.endswith(("nginx/synthia.conf", "apache/synthia.conf")) and \
                on.split()[0] in text:
            assert on in text, "%s: %r not found" % (src, on)
            text = text.replace(on, off)
    text = (text.replace("@SOCKET@", socket_path)
            .replace("@WWWROOT@", wwwroot).replace("@PORT@", str(port))
            .replace("@pkgdatadir@", PKGDATA))
    with open(dst, "w") as f:
        f.write(text)


def apache_modules(conf, base):
    """LoadModule lines for Debian's default modules (`base`) plus what the
    shipped file's install comment enables with `a2enmod`, following the
    "# Depends:" lines of /etc/apache2/mods-available/*.load as a2enmod
    does."""
    with open(conf) as f:
        text = f.read()
    wanted = list(base)
    for line in text.splitlines():
        words = line.lstrip("# ").split()
        if words[:1] == ["a2enmod"]:
            wanted += [w for w in words[1:] if not w.startswith("#")]
    out, seen = [], set()

    def add(mod):
        if mod in seen:
            return
        seen.add(mod)
        path = "/etc/apache2/mods-available/%s.load" % mod
        with open(path) as f:
            lines = f.read().splitlines()
        for l in lines:
            if l.startswith("# Depends:"):
                for dep in l.split(":", 1)[1].replace(",", " ").split():
                    add(dep)
        out.extend(l for l in lines if l.startswith("LoadModule"))
    for m in wanted:
        add(m)
    return "\n".join(out)


def start_nginx(d, port, sock, www):
    template(os.path.join(SRC, "conf/nginx/synthia.conf"),
             os.path.join(d, "site.conf"), "127.0.0.1:%d" % port, sock, www)
    for f in ("fastcgi_params", "mime.types"):
        shutil.copy(os.path.join("/etc/nginx", f), d)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write("""# generated by test_webservers.py
daemon off;
worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 512; }}
http {{
    include mime.types;
    default_type application/octet-stream;
    access_log {d}/access.log;
    client_body_temp_path {d}/tmp/body;
    fastcgi_temp_path {d}/tmp/fastcgi;
    proxy_temp_path {d}/tmp/proxy;
    scgi_temp_path {d}/tmp/scgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    include {d}/site.conf;
}}
""".format(d=d))
    args = ["nginx", "-p", d + "/", "-c", os.path.join(d, "nginx.conf"),
            "-e", os.path.join(d, "error.log")]
    return args, [args + ["-t", "-q"]], os.path.join(d, "error.log")


def start_apache(d, port, sock, www):
    template(os.path.join(SRC, "conf/apache/synthia.conf"),
             os.path.join(d, "site.conf"), port, sock, www)
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    os.makedirs(os.path.join(d, "run"), exist_ok=True)
    user = ""
    if os.geteuid() == 0:  # Apache will not serve as root
        grp = "www-data" if _exists_group("www-data") else "nogroup"
        usr = "www-data" if _exists_user("www-data") else "nobody"
        user = "User %s\nGroup %s\n" % (usr, grp)
    # Debian's default modules that the site relies on, and those its
    # install comment enables.
    modules = apache_modules(os.path.join(SRC, "conf/apache/synthia.conf"),
                             ["mpm_event", "authz_core", "mime", "dir",
                              "setenvif", "alias"])
    with open(os.path.join(d, "apache2.conf"), "w") as f:
        f.write("""# generated by test_webservers.py
ServerRoot {d}
DefaultRuntimeDir {d}/run
PidFile {d}/run/apache2.pid
ErrorLog {d}/logs/error.log
LogLevel warn
{user}ServerName localhost
Listen 127.0.0.1:{port}
{modules}
TypesConfig /etc/mime.types
LogFormat "%h %l %u %t \\"%r\\" %>s %O" combined
Define APACHE_LOG_DIR {d}/logs
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
Include {d}/site.conf
""".format(d=d, port=port, modules=modules, user=user))
    conf = os.path.join(d, "apache2.conf")
    args = ["apache2", "-f", conf, "-DFOREGROUND"]
    return args, [["apache2", "-f", conf, "-t"]], \
        os.path.join(d, "logs", "error.log")


def start_lighttpd(d, port, sock, www):
    template(os.path.join(SRC, "conf/lighttpd/synthia.conf"),
             os.path.join(d, "site.conf"), port, sock, www)
    mime = "/usr/share/lighttpd/create-mime.conf.pl"
    mime_line = ('include_shell "%s"' % mime if os.path.exists(mime) else
                 'mimetype.assign = (".html" => "text/html", '
                 '".css" => "text/css", ".js" => "text/javascript")')
    with open(os.path.join(d, "lighttpd.conf"), "w") as f:
        f.write("""# generated by test_webservers.py
server.modules = ( "mod_indexfile", "mod_access", "mod_accesslog" )
# As in Debian's lighttpd.conf, which the shipped file is a drop-in for.
server.document-root = "{d}"
index-file.names = ( "index.php", "index.html" )
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{d}/error.log"
accesslog.filename = "{d}/access.log"
server.upload-dirs = ( "{d}" )
{mime}
include "{d}/site.conf"
""".format(d=d, port=port, mime=mime_line))
    conf = os.path.join(d, "lighttpd.conf")
    return ["lighttpd", "-D", "-f", conf], [["lighttpd", "-tt", "-f", conf]], \
        os.path.join(d, "error.log")


def start_caddy(d, port, sock, www):
    # Adapt the shipped Caddyfile with Caddy's own adapter, then only
    # narrow the listener to loopback and move the admin endpoint off the
    # shared localhost:2019 (both are addresses, not behaviour).
    cf = os.path.join(d, "Caddyfile")
    template(os.path.join(SRC, "conf/caddy/Caddyfile"), cf, port, sock, www)
    env = caddy_env(d)
    out = subprocess.run(["caddy", "adapt", "--config", cf, "--adapter",
                          "caddyfile", "--validate"], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise CheckFailed("caddy adapt: " + out.stderr.strip()[-800:])
    cfg = json.loads(out.stdout)
    for srv in cfg["apps"]["http"]["servers"].values():
        srv["listen"] = ["127.0.0.1:%d" % port]
    cfg["admin"] = {"listen": "unix/" + os.path.join(d, "admin.sock")}
    cfg["logging"] = {"logs": {"default": {"writer": {
        "output": "file", "filename": os.path.join(d, "error.log")}}}}
    js = os.path.join(d, "caddy.json")
    with open(js, "w") as f:
        json.dump(cfg, f, indent=1)
    return ["caddy", "run", "--config", js], [], os.path.join(d, "error.log")


def caddy_env(d):
    env = dict(os.environ)
    env.update(HOME=d, XDG_DATA_HOME=os.path.join(d, "data"),
               XDG_CONFIG_HOME=os.path.join(d, "config"))
    return env


def _exists_user(name):
    import pwd
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _exists_group(name):
    import grp
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


STARTERS = {"nginx": start_nginx, "apache": start_apache,
            "lighttpd": start_lighttpd, "caddy": start_caddy}


class WebServer:
    def __init__(self, name, tmp, backend, www):
        self.name = name
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.backend = backend
        self.www = www
        self.proc = None
        self.log = os.path.join(self.dir, "stdout.log")

    def start(self):
        args, tests, self.errlog = STARTERS[self.name](
            self.dir, self.port, self.backend.path, self.www)
        env = caddy_env(self.dir) if self.name == "caddy" else None
        for t in tests:
            out = subprocess.run(t, capture_output=True, text=True, env=env)
            if out.returncode != 0:
                raise CheckFailed("%s rejects the configuration:\n%s"
                                  % (" ".join(t), (out.stdout + out.stderr)[-1500:]))
        self.proc = spawn(args, self.log, env=env, cwd=self.dir)
        keep.append(self.stop)
        deadline = time.time() + START_TIMEOUT
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise CheckFailed("%s exited with %s while starting:\n%s%s"
                                  % (self.name, self.proc.returncode,
                                     tail(self.log), tail(self.errlog)))
            try:
                last = fetch(self.port, "GET", "/health/live", timeout=3)
                if last.status == 200:
                    return
            except CheckFailed as e:
                last = e
            time.sleep(0.1)
        raise CheckFailed("%s not answering /health/live after %ds (last: %r)"
                          "\n%s" % (self.name, START_TIMEOUT, last,
                                    tail(self.errlog)))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            stop_pid(self.proc.pid, signal.SIGTERM, 15)
            self.proc.wait()
        self.proc = None


# ------------------------------------------------------------ the checks

WWW_INDEX = None


def c_live(port, be):
    r = fetch(port, "GET", "/health/live")
    expect(r.status == 200, "expected 200, got %r" % r)
    expect(r.json().get("status") == "alive", "body %r" % r.body[:120])


def c_ready(port, be):
    r = fetch(port, "GET", "/health/ready")
    expect(r.status == 200, "expected 200, got %r" % r)


VERSION = None


def c_health_version(port, be):
    r = fetch(port, "GET", "/health")
    expect(r.status == 200, "expected 200, got %r" % r)
    expect(r.json().get("version") == VERSION,
           "/health says version %r, `synthia version` %r"
           % (r.json().get("version"), VERSION))


def c_not_found(port, be):
    expect_problem(fetch(port, "GET", "/api/v1/nope"), 404, "not_found")


def c_too_large(port, be):
    body = b'{"pad":"' + b"x" * (2 * 1024 * 1024) + b'"}'
    r = fetch(port, "POST", "/api/v1/anything", body=body,
             headers={"Content-Type": "application/json"}, timeout=30)
    expect_problem(r, 413, "payload_too_large")


def c_static(port, be):
    for path in ("/", "/index.html"):
        r = fetch(port, "GET", path)
        expect(r.status == 200, "GET %s: %r" % (path, r))
        expect(r.body == WWW_INDEX, "GET %s is not www/index.html" % path)
        expect(not r.header("x-echo"), "GET %s went to the application" % path)
        expect((r.header("content-type") or "").startswith("text/html"),
               "GET %s content type %r" % (path, r.header("content-type")))


def c_request_id(port, be):
    r = fetch(port, "GET", "/health/live", headers={"X-Request-Id": "matrix-123"})
    expect(r.header("x-request-id") == "matrix-123",
           "sent matrix-123, got back %r" % r.header("x-request-id"))
    r = fetch(port, "GET", "/api/v1/nope", headers={"X-Request-Id": "matrix-124"})
    expect(r.header("x-request-id") == "matrix-124",
           "404: sent matrix-124, got back %r" % r.header("x-request-id"))
    expect(r.json().get("request_id") == "matrix-124",
           "404 problem request_id %r" % r.json().get("request_id"))


def c_client_address(port, be, label, restricted):
    """REMOTE_ADDR reaches the application: /health/detailed is for trusted
    networks only; 127.0.0.1 is trusted by default and not when
    server.trusted_networks = 10.9.9.0/24; the access log names it."""
    rid = "matrix-client-%s" % label
    r = fetch(port, "GET", "/health/detailed", headers={"X-Request-Id": rid})
    expect(r.status == 200, "from 127.0.0.1 (trusted): expected 200, got %r" % r)
    saved = (be.target, be.log)
    be.point(restricted.socket, restricted.log)
    try:
        r = fetch(port, "GET", "/health/detailed")
        expect_problem(r, 403, "forbidden")
    finally:
        be.point(*saved)
    if be.log:
        line = find_access(be.log, rid)
        expect(line is not None, "no access log line with request_id %s in %s"
               % (rid, be.log))
        expect(line.get("client") == "127.0.0.1",
               "access log client is %r, expected 127.0.0.1" % line.get("client"))


def find_access(log, rid, timeout=3):
    deadline = time.time() + timeout
    while True:
        try:
            with open(log, errors="replace") as f:
                for l in f:
                    if rid not in l:
                        continue
                    try:
                        j = json.loads(l)
                    except ValueError:
                        continue
                    if j.get("request_id") == rid and j.get("event") == "access":
                        return j
        except OSError:
            pass
        if time.time() > deadline:
            return None
        time.sleep(0.1)


def c_fence(port, be):
    """A body over the web server's own 12 MiB fence is refused by the web
    server (413), not streamed to the application."""
    size = 13 * 1024 * 1024
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(b"POST /api/v1/anything HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: application/json\r\n"
                  b"Content-Length: %d\r\nConnection: close\r\n\r\n" % size)
        chunk = b"x" * 65536
        try:
            for _ in range(size // len(chunk)):
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early and closed: read the answer
        data = b""
        try:
            while True:
                got = s.recv(65536)
                if not got:
                    break
                data += got
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        s.close()
    status = data.split(b"\r\n", 1)[0]
    expect(status.startswith(b"HTTP/1.1 413") or status.startswith(b"HTTP/1.0 413"),
           "13 MiB body: expected 413 from the web server, got %r" % status[:80])
    expect(b"X-Echo" not in data.split(b"\r\n\r\n", 1)[0],
           "the 13 MiB body reached the application")
    expect_server_problem(parse_raw(data), 413, "payload_too_large", None)


def c_json_post(port, be):
    """A JSON POST with a body reaching a real route.  Not in the run list
    yet: enable it (add to APP_CHECKS) when POST /api/v1/auth/login exists.
    A wrong password must be a 401 problem: proof that the body was read
    and parsed, whatever the web server."""
    body = json.dumps({"email": "nobody@example.com",
                       "password": "wrong-password"}).encode()
    r = fetch(port, "POST", "/api/v1/auth/login", body=body,
             headers={"Content-Type": "application/json"})
    expect_problem(r, 401, "unauthorized")


# ------------------------------------- errors the web server makes itself
#
# API.md's problem shape for the errors the web server answers itself
# (issue 10 item 6): what each server answers, and whether it still has
# the client's X-Request-Id then.  "own" means the server answers before
# it has read the request's headers (or after it discarded them), so the
# request id must be the server's own (sane) id; "echo" means the client's
# sane id comes back.  The limits are documented in README ("Running") and
# in each conf/ file.

RID = "matrix-err-1"

SERVER_ERRORS = {
    # case: {server: (status, code, "echo" | "own") | "plain"}
    "%00 in an API path": {
        "nginx": (400, "bad_request", "own"),
        "apache": (404, "not_found", "echo"),
        "lighttpd": (400, "bad_request", "echo"),
        "caddy": (400, "bad_request", "echo"),
    },
    "a header line without a colon": {
        "nginx": None,  # nginx skips the line: the request reaches synthia
        "apache": (400, "bad_request", "echo"),
        "lighttpd": (400, "bad_request", "echo"),
        "caddy": "plain",  # Go's net/http answers before Caddy runs
    },
    "a 200 KB URI": {
        "nginx": (414, "uri_too_long", "own"),
        "apache": (414, "uri_too_long", "own"),
        "lighttpd": (431, "headers_too_large", "own"),
        "caddy": None,  # under Go's 1 MiB header limit: reaches synthia
    },
    "a 100 KB header": {
        "nginx": (431, "headers_too_large", "echo"),
        "apache": (400, "bad_request", "own"),
        "lighttpd": (431, "headers_too_large", "own"),
        "caddy": None,
    },
    "a 2 MB header": {
        "nginx": (431, "headers_too_large", "echo"),
        "apache": (400, "bad_request", "own"),
        "lighttpd": (431, "headers_too_large", "own"),
        "caddy": "plain",  # Go's net/http: 431 text/plain
    },
    "a responder dies mid-request": {
        "nginx": (503, "service_unavailable", "echo"),
        "apache": (503, "service_unavailable", "echo"),
        "lighttpd": (502, "bad_gateway", "echo"),
        "caddy": (502, "bad_gateway", "echo"),
    },
    # last: lighttpd then keeps the backend disabled for a second (503)
    "the pool is down": {
        "nginx": (503, "service_unavailable", "echo"),
        "apache": (503, "service_unavailable", "echo"),
        "lighttpd": (503, "service_unavailable", "echo"),
        "caddy": (502, "bad_gateway", "echo"),
    },
}


class Raw:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "%s %r %r" % (self.status, self.headers, self.body[:200])


def parse_raw(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise CheckFailed("no HTTP status line in %r" % data[:200])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        out = b""
        while True:
            size, _, body = body.partition(b"\r\n")
            n = int(size.split(b";")[0] or b"0", 16)
            if n == 0:
                break
            out, body = out + body[:n], body[n + 2:]
        body = out
    return Raw(status, headers, body)


def raw_request(port, data, timeout=15):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered early: read the answer
        out = b""
        try:
            while True:
                got = s.recv(65536)
                if not got:
                    break
                out += got
        except (ConnectionResetError, socket.timeout):
            pass
        return parse_raw(out)
    finally:
        s.close()


def expect_server_problem(r, status, code, client_id):
    """r is a problem of synthia's shape with this status and code; its
    request id is client_id when given, else a sane id of its own."""
    expect(r.status == status, "expected %d, got %r" % (status, r))
    ctype = r.header("content-type") or ""
    expect(ctype.startswith("application/problem+json"),
           "Content-Type %r, expected application/problem+json: %r"
           % (ctype, r))
    try:
        p = json.loads(r.body)
    except ValueError:
        raise CheckFailed("body is not JSON: %r" % r.body[:200])
    want = {"type": "urn:synthia:problem:" + code, "status": status,
            "code": code}
    bad = ["%s=%r (want %r)" % (k, p.get(k), v) for k, v in want.items()
           if p.get(k) != v]
    for k in ("title", "detail"):
        if not isinstance(p.get(k), str) or not p[k]:
            bad.append("%s missing" % k)
    expect(not bad, "; ".join(bad) + ": %r" % p)
    rid = r.header("x-request-id")
    expect(rid and SANE_ID.match(rid), "X-Request-Id %r is not sane" % rid)
    expect(p.get("request_id") == rid,
           "request_id %r differs from X-Request-Id %r" % (p.get("request_id"), rid))
    if client_id is not None:
        expect(rid == client_id, "sent X-Request-Id %s, got %r" % (client_id, rid))
    if status in (502, 503):
        expect(r.header("retry-after") == "5",
               "Retry-After %r, expected 5" % r.header("retry-after"))
    return rid


def error_request(case, rid):
    h = (b"Host: localhost\r\nConnection: close\r\nX-Request-Id: %s\r\n"
         % rid.encode())
    if case == "%00 in an API path":
        return b"GET /api/v1/a%00b HTTP/1.1\r\n" + h + b"\r\n"
    if case == "a header line without a colon":
        return (b"GET /api/v1/x HTTP/1.1\r\n" + h +
                b"X-No-Colon-Here\r\n\r\n")
    if case == "a 200 KB URI":
        return (b"GET /api/v1/" + b"a" * 200000 + b" HTTP/1.1\r\n" + h +
                b"\r\n")
    if case == "a 100 KB header":
        return (b"GET /api/v1/x HTTP/1.1\r\n" + h + b"X-Big: " +
                b"b" * 100000 + b"\r\n\r\n")
    if case == "a 2 MB header":
        return (b"GET /api/v1/x HTTP/1.1\r\n" + h + b"X-Big: " +
                b"b" * 2000000 + b"\r\n\r\n")
    return b"GET /api/v1/x HTTP/1.1\r\n" + h + b"\r\n"


class DyingBackend:
    """A FastCGI 'responder' that reads the request and closes the
    connection without an answer, as a responder killed mid-request."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.listen(16)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                c.settimeout(5)
                c.recv(65536)
            except OSError:
                pass
            c.close()

    def close(self):
        self.sock.close()


def c_server_error(port, be, name, case, tmp):
    want = SERVER_ERRORS[case][name]
    saved = (be.target, be.log)
    dying = None
    try:
        if case == "the pool is down":
            be.point(os.path.join(tmp, "no-such-pool.sock"))
        elif case == "a responder dies mid-request":
            path = os.path.join(tmp, "dying-%s.sock" % name)
            if os.path.exists(path):
                os.unlink(path)
            dying = DyingBackend(path)
            be.point(path)
        r = raw_request(port, error_request(case, RID))
        if want is None:
            # Within the server's limits: synthia answers (a 404 problem).
            expect(r.status == 404 and r.header("x-request-id") == RID,
                   "expected synthia's 404 with the client's id, got %r" % r)
            return
        if want == "plain":
            # Documented limit: Go's HTTP server answers before Caddy.
            expect(r.status in (400, 431) and (r.header("content-type") or "")
                   .startswith("text/plain"),
                   "documented as Go's own text/plain answer, got %r (update "
                   "the docs if Caddy shapes it now)" % r)
            return
        status, code, rid = want
        expect_server_problem(r, status, code, RID if rid == "echo" else None)
        if rid == "own":
            expect(r.header("x-request-id") != RID,
                   "the client's id came back where the server cannot have "
                   "read it: update SERVER_ERRORS and the docs")
        if case in ("the pool is down", "a responder dies mid-request"):
            # An insane client id is replaced by the server's own.
            r = raw_request(port, error_request(case, "not sane!"))
            expect_server_problem(r, status, code, None)
    finally:
        be.point(*saved)
        if dying:
            dying.close()


# The echo responder: what each web server hands a FastCGI application.

def c_fence_echo(port, be, echo_sock):
    saved = (be.target, be.log)
    be.point(echo_sock)
    try:
        c_fence(port, be)
    finally:
        be.point(*saved)


def c_params_get(port, be, echo_sock):
    saved = (be.target, be.log)
    be.point(echo_sock)
    try:
        path = "/api/v1/echo/caf%C3%A9?a=1&b=x%20y"
        r = fetch(port, "GET", path, headers={
            "X-Request-Id": "matrix-params",
            "Authorization": "Bearer matrix-token",
            "Proxy": "http://evil.example:3128",
            "Cookie": "sy_csrf=abc",
        })
        expect(r.status == 200 and r.header("x-echo"), "echo: %r" % r)
        p = r.json()["params"]
        want = {
            "REQUEST_METHOD": "GET",
            "REQUEST_URI": path,
            "QUERY_STRING": "a=1&b=x%20y",
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PORT": str(port),
            "HTTP_AUTHORIZATION": "Bearer matrix-token",
            "HTTP_X_REQUEST_ID": "matrix-params",
            "HTTP_COOKIE": "sy_csrf=abc",
        }
        bad = ["%s=%r (want %r)" % (k, p.get(k), v)
               for k, v in want.items() if p.get(k) != v]
        if p.get("HTTPS", "off").lower() not in ("", "off"):
            bad.append("HTTPS=%r over plain HTTP" % p.get("HTTPS"))
        if p.get("HTTP_PROXY"):
            bad.append("HTTP_PROXY=%r passed (httpoxy)" % p["HTTP_PROXY"])
        expect(not bad, "; ".join(bad))
        for path in ("/health", "/health/ready", "/metrics"):
            r = fetch(port, "GET", path)
            expect(r.header("x-echo") and
                   r.json()["params"].get("REQUEST_URI") == path,
                   "%s does not reach the application as itself: %r" % (path, r))
    finally:
        be.point(*saved)


def c_params_post(port, be, echo_sock):
    saved = (be.target, be.log)
    be.point(echo_sock)
    try:
        body = json.dumps({"items": ["x" * 50] * 60}).encode()
        r = fetch(port, "POST", "/api/v1/echo?x=1", body=body, headers={
            "Content-Type": "application/json; charset=utf-8"})
        expect(r.status == 200 and r.header("x-echo"), "echo: %r" % r)
        j = r.json()
        p = j["params"]
        want = {
            "REQUEST_METHOD": "POST",
            "REQUEST_URI": "/api/v1/echo?x=1",
            "CONTENT_TYPE": "application/json; charset=utf-8",
            "CONTENT_LENGTH": str(len(body)),
        }
        bad = ["%s=%r (want %r)" % (k, p.get(k), v)
               for k, v in want.items() if p.get(k) != v]
        if j["stdin_len"] != len(body) or \
                j["stdin_sha256"] != hashlib.sha256(body).hexdigest():
            bad.append("body arrived as %d bytes, not the %d sent"
                       % (j["stdin_len"], len(body)))
        expect(not bad, "; ".join(bad))
    finally:
        be.point(*saved)


APP_CHECKS = [
    ("/health/live", c_live),
    ("/health/ready", c_ready),
    ("/health version = synthia version", c_health_version),
    ("404 problem", c_not_found),
    ("413 problem from the application (2 MiB body)", c_too_large),
    ("static www/index.html", c_static),
    ("X-Request-Id round trip", c_request_id),
    # ("JSON POST /api/v1/auth/login", c_json_post),  # when the route exists
]


def run_app_checks(label, port, be, restricted):
    for name, fn in APP_CHECKS:
        check("%s: %s" % (label, name), fn, port, be)
    check("%s: client address (trusted 200, untrusted 403, access log)"
          % label, c_client_address, port, be, label.split()[0], restricted)


# ------------------------------------------------------------ the pools

class Pool:
    """A synthia pool we started ourselves (besides the stack's)."""

    def __init__(self, socket_path, log):
        self.socket = socket_path
        self.log = log
        self.proc = None
        self.pids = []

    def stop(self):
        for pid in self.pids:
            stop_pid(pid, signal.SIGTERM, 40)
        if self.proc:
            self.proc.wait()
        self.pids = []


def synthia_env(extra=None):
    env = dict(os.environ)
    # The production shape: the socket comes from the launcher.
    env["SYNTHIA_SERVER_LISTEN"] = ""
    env.update(extra or {})
    return env


def start_restricted(tmp, stack):
    pool = Pool(os.path.join(tmp, "restricted.sock"),
                os.path.join(tmp, "log", "restricted.log"))
    env = synthia_env({"SYNTHIA_SERVER_TRUSTED_NETWORKS": "10.9.9.0/24"})
    pool.proc = spawn([os.path.join(BUILD, "synthia"), "serve", "--config",
                       stack["SY_CONFIG"], "--listen", "unix:" + pool.socket,
                       "--workers", "1"], pool.log, env=env)
    pool.pids = [pool.proc.pid]
    keep.append(pool.stop)
    if not wait_socket(pool.socket, pool.proc.pid):
        raise CheckFailed("restricted pool did not start:\n" + tail(pool.log))
    return pool


def spawn_fcgi_pool(tmp, stack, style, n):
    """conf/spawn-fcgi/synthia-spawn-fcgi.sh start STYLE N"""
    tag = "spawn-%s" % style
    pool = Pool(os.path.join(tmp, tag + ".sock"),
                os.path.join(tmp, "log", tag + ".log"))
    pidfile = os.path.join(tmp, tag + ".pid")
    env = synthia_env({
        "SYNTHIA_BIN": os.path.join(BUILD, "synthia"),
        "SYNTHIA_CONFIG": stack["SY_CONFIG"],
        "SOCKET": pool.socket, "SOCKET_MODE": "0666",
        "SOCKET_OWNER": "", "RUN_AS": "",
        "PIDFILE": pidfile, "LOG": pool.log,
    })
    script = os.path.join(SRC, "conf/spawn-fcgi/synthia-spawn-fcgi.sh")
    with open(pool.log, "ab") as out:
        rc = subprocess.call(["sh", script, "start", style, str(n)],
                             env=env, stdout=out, stderr=subprocess.STDOUT)
    if os.path.exists(pidfile):
        with open(pidfile) as f:
            pool.pids = [int(x) for x in f.read().split()]
    keep.append(pool.stop)
    if rc != 0:
        raise CheckFailed("synthia-spawn-fcgi.sh start %s %d exited %d:\n%s"
                          % (style, n, rc, tail(pool.log)))
    expect(len(pool.pids) == (n if style == "fork" else 1),
           "pid file %s holds %r" % (pidfile, pool.pids))
    if not wait_socket(pool.socket, pool.pids[0]):
        raise CheckFailed("spawn-fcgi pool not answering:\n" + tail(pool.log))
    # The pool answers once a responder accepts: wait for READY in the log.
    pool.script, pool.env = script, env
    return pool


def spawn_fcgi_stop(pool):
    """Stop with the shipped script, as an admin would."""
    with open(pool.log, "ab") as out:
        rc = subprocess.call(["sh", pool.script, "stop"], env=pool.env,
                             stdout=out, stderr=subprocess.STDOUT)
    left = [p for p in pool.pids if alive(p)]
    for p in pool.pids:
        reap(p)
    pool.pids = left
    expect(rc == 0, "synthia-spawn-fcgi.sh stop exited %d" % rc)
    expect(not left, "still running after stop: %r" % left)


class Notify:
    """A NOTIFY_SOCKET that records what the master tells systemd."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.done = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.done:
            try:
                self.messages.append(self.sock.recv(4096).decode(errors="replace"))
            except socket.timeout:
                continue
            except OSError:
                return

    def wait_for(self, word, after=0, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, m in enumerate(self.messages[after:], after):
                if word in m.split("\n"):
                    return i
            time.sleep(0.05)
        return None

    def close(self):
        self.done = True
        self.sock.close()


def systemd_pool(tmp, stack, notify):
    """Socket activation as systemd does it: the listening socket on fd 3,
    LISTEN_FDS=1, LISTEN_PID = the pid that execs synthia."""
    pool = Pool(os.path.join(tmp, "systemd.sock"),
                os.path.join(tmp, "log", "systemd.log"))
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(pool.socket)
    os.chmod(pool.socket, 0o666)
    ls.listen(128)
    env = synthia_env({"LISTEN_FDS": "1", "LISTEN_FDNAMES": "synthia.socket",
                       "NOTIFY_SOCKET": notify.path})
    argv = [os.path.join(BUILD, "synthia"), "serve", "--config",
            stack["SY_CONFIG"], "--workers", "2"]
    logfd = os.open(pool.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    pid = os.fork()
    if pid == 0:  # child: only async-signal-safe-ish work, then exec
        try:
            os.dup2(ls.fileno(), 3)
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(logfd, 1)
            os.dup2(logfd, 2)
            os.closerange(4, 1024)
            env["LISTEN_PID"] = str(os.getpid())
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    os.close(logfd)
    ls.close()  # systemd keeps its copy; for the test, synthia's is enough
    pool.pids = [pid]
    keep.append(pool.stop)
    return pool


# ------------------------------------------------------------------ main

def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
                v = v[1:-1]
            env[k] = v
    return env


def main():
    global WWW_INDEX, VERSION, PKGDATA
    for name in SERVERS:
        if not shutil.which(SERVER_BIN[name]):
            missing.append(name)
    for tool in ("spawn-fcgi",):
        if not shutil.which(tool):
            missing.append(tool)
    if not os.access(os.path.join(BUILD, "synthia"), os.X_OK):
        print("FAIL: %s/synthia is not built" % BUILD)
        return 1

    VERSION = json.loads(subprocess.check_output(
        [os.path.join(BUILD, "synthia"), "version"]))["version"]
    tmp = tempfile.mkdtemp(prefix="sy-web.")
    os.chmod(tmp, 0o755)  # web server workers (www-data, nobody) traverse it
    os.makedirs(os.path.join(tmp, "log"))
    PKGDATA = pkgdata(tmp)
    statedir = os.path.join(tmp, "stack")
    www = os.path.join(SRC, "www")
    with open(os.path.join(www, "index.html"), "rb") as f:
        WWW_INDEX = f.read()
    ok = False
    try:
        stack_log = os.path.join(tmp, "log", "stack.log")
        env = dict(os.environ, SY_BUILDDIR=BUILD)
        keep.append(lambda: subprocess.call(
            ["bash", os.path.join(SRC, "tests/stack.sh"), "down", statedir],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with open(stack_log, "ab") as out:
            rc = subprocess.call(["bash", os.path.join(SRC, "tests/stack.sh"),
                                  "up", statedir, "--web", "none",
                                  "--workers", "2"],
                                 env=env, stdout=out, stderr=subprocess.STDOUT)
        if rc != 0:
            record("stack up (PostgreSQL, Redis, synthia)", False,
                   "tests/stack.sh up exited %d\n%s" % (rc, tail(stack_log, 40)))
            return 1
        stack = read_env(os.path.join(statedir, "env"))
        stack_pool_log = os.path.join(statedir, "log", "synthia.log")

        be = Backend(os.path.join(tmp, "backend.sock"))
        be.point(stack["SY_FCGI_SOCKET"], stack_pool_log)

        echo_sock = os.path.join(tmp, "echo.sock")
        echo = EchoServer(echo_sock, _EchoHandler)
        os.chmod(echo_sock, 0o666)
        threading.Thread(target=echo.serve_forever, daemon=True).start()
        keep.append(echo.shutdown)

        try:
            restricted = start_restricted(tmp, stack)
        except CheckFailed as e:
            record("restricted pool (trusted_networks = 10.9.9.0/24)", False, str(e))
            return 1

        # ---- the four web servers, in front of the stack's master
        front = None
        for name in SERVERS:
            if name in missing:
                if CI:
                    record("%s: installed" % name, False,
                           "%s not found (apt-get install %s)"
                           % (SERVER_BIN[name], SERVER_BIN[name]))
                else:
                    print("SKIP - %s: %s not installed" % (name, SERVER_BIN[name]))
                continue
            ws = WebServer(name, tmp, be, www)
            try:
                ws.start()
            except CheckFailed as e:
                record("%s: starts with conf/%s" % (name, name), False, str(e))
                continue
            record("%s: starts with the shipped configuration" % name, True)
            check("%s: FastCGI params of a GET (echo responder)" % name,
                  c_params_get, ws.port, be, echo_sock)
            check("%s: FastCGI params and body of a JSON POST (echo responder)"
                  % name, c_params_post, ws.port, be, echo_sock)
            check("%s: 413 at the web server's 12 MiB fence" % name,
                  c_fence_echo, ws.port, be, echo_sock)
            run_app_checks(name, ws.port, be, restricted)
            for case in SERVER_ERRORS:
                check("%s: its own error for %s is a problem" % (name, case),
                      c_server_error, ws.port, be, name, case, tmp)
            if front is None:
                front = ws  # keep the first one for the launch styles
            else:
                ws.stop()

        if front is None:
            print("no web server available for the launch-style checks")
        else:
            launch_styles(tmp, stack, be, front, restricted)
        ok = True
    finally:
        for fn in reversed(keep):
            try:
                fn()
            except Exception as e:
                print("cleanup: %s: %s" % (type(e).__name__, e))
        failed = [r for r in results if not r[1]]
        if failed or not ok:
            print("logs kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    passed = sum(1 for r in results if r[1])
    failed = len(results) - passed
    print("%d passed, %d failed" % (passed, failed))
    if failed:
        return 1
    if missing and not CI:
        return 77
    return 0


def launch_styles(tmp, stack, be, front, restricted):
    label = "via " + front.name
    # spawn-fcgi, both styles, with the shipped script
    if "spawn-fcgi" in missing:
        if CI:
            record("spawn-fcgi: installed", False, "apt-get install spawn-fcgi")
        else:
            print("SKIP - spawn-fcgi not installed")
    else:
        for style, n, what in (("fork", 2, "spawn-fcgi -F 2, --workers 0"),
                               ("pool", 2, "spawn-fcgi, one master --workers 2")):
            tag = "spawn-fcgi-" + style
            try:
                pool = spawn_fcgi_pool(tmp, stack, style, n)
            except CheckFailed as e:
                record("%s (%s): starts" % (tag, what), False, str(e))
                continue
            record("%s (%s): starts" % (tag, what), True)
            be.point(pool.socket, pool.log)
            run_app_checks("%s %s" % (tag, label), front.port, be, restricted)
            check("%s: stops on SIGTERM (synthia-spawn-fcgi.sh stop)" % tag,
                  spawn_fcgi_stop, pool)

    # systemd-style socket activation
    notify = Notify(os.path.join(tmp, "notify.sock"))
    keep.append(notify.close)
    pool = systemd_pool(tmp, stack, notify)
    pid = pool.pids[0]
    i = notify.wait_for("READY=1")
    if i is None:
        record("systemd (LISTEN_FDS): READY=1 on NOTIFY_SOCKET", False,
               "nothing after 15 s; got %r\n%s" % (notify.messages, tail(pool.log)))
        return
    mainpid = [m for m in notify.messages if "MAINPID=%d" % pid in m.split("\n")]
    record("systemd (LISTEN_FDS): READY=1 with MAINPID on NOTIFY_SOCKET",
           bool(mainpid), "messages: %r" % notify.messages)
    be.point(pool.socket, pool.log)
    run_app_checks("systemd %s" % label, front.port, be, restricted)

    def reload_check():
        n = len(notify.messages)
        os.kill(pid, signal.SIGHUP)
        r = notify.wait_for("RELOADING=1", after=n)
        expect(r is not None, "no RELOADING=1 after SIGHUP: %r" % notify.messages[n:])
        expect(notify.wait_for("READY=1", after=r + 1) is not None,
               "no READY=1 after RELOADING=1: %r" % notify.messages[n:])
        c_live(front.port, be)
    check("systemd: SIGHUP reload (RELOADING=1, READY=1, still serving)",
          reload_check)

    def stop_check():
        n = len(notify.messages)
        os.kill(pid, signal.SIGTERM)
        expect(notify.wait_for("STOPPING=1", after=n) is not None,
               "no STOPPING=1 after SIGTERM")
        deadline = time.time() + 40
        status = None
        while time.time() < deadline:
            got, status = os.waitpid(pid, os.WNOHANG)
            if got == pid:
                break
            time.sleep(0.05)
        else:
            raise CheckFailed("master still running 40 s after SIGTERM")
        pool.pids = []
        expect(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
               "master exit status %r after SIGTERM" % status)
    check("systemd: SIGTERM drains and exits 0 (STOPPING=1)", stop_check)


if __name__ == "__main__":
    sys.exit(main())

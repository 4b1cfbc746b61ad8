# SPDX-License-Identifier: BSD-2-Clause
"""sylib - a small, stdlib-only library for synthia's integration tests.

A test file starts a throwaway stack (tests/stack.sh: PostgreSQL, Redis,
`synthia serve` and nginx on random loopback ports), talks HTTP to it,
injects faults, and ends with ``sylib.main(globals())``::

    import sys; sys.dont_write_bytecode = True   # never write into srcdir
    import sylib

    SHARED_STACK = dict(workers=2)         # one stack for the plain tests

    def test_live(stack):                  # gets the shared stack
        r = stack.request("GET", "/health/live")
        assert r.status == 200, r

    @sylib.own_stack(extra_config="[server]\\ntrusted_networks = 10.9.9.0/24\\n")
    def test_untrusted(stack):             # gets a fresh stack of its own
        ...

    sylib.main(globals())

``main`` runs every ``test_*`` function in file order and prints
``ok - name`` / ``not ok - name`` (with the traceback and the tails of the
stack's logs), then ``N passed, N failed``; it exits 1 if any failed.
Every wait has a deadline, and each test has a time limit (TEST_TIMEOUT in
the test file, 120 s by default).

Environment: SY_BUILDDIR (where `synthia` is; set by `make check`),
SY_SRCDIR, TMPDIR (where stack directories go), SY_KEEP_STACK=1 (keep
stack directories after the run, for reading logs), SY_SYNTHIA_WRAP and
SY_SYNTHIA_ARGS (tests/stack.sh; with `--workers 0` there, as
tests/valgrind.sh sets it, every stack is one responder without a
master, and Stack.workers is 1).
"""

import http.client
import inspect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

# Modules imported after this one never write __pycache__ into the source
# tree (read-only under distcheck, and carried whole by EXTRA_DIST).
sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("SY_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
BUILDDIR = os.environ.get("SY_BUILDDIR") or SRCDIR
STACK_SH = os.path.join(SRCDIR, "tests", "stack.sh")

SANE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class StackError(Exception):
    """tests/stack.sh failed; the message holds its output."""


class TestTimeout(Exception):
    """A test ran past its time limit."""


# ------------------------------------------------------------------ HTTP


class Headers:
    """Response headers with case-insensitive lookup."""

    def __init__(self, pairs):
        self._pairs = list(pairs)

    def get(self, name, default=None):
        n = name.lower()
        for k, v in self._pairs:
            if k.lower() == n:
                return v
        return default

    def get_all(self, name):
        n = name.lower()
        return [v for k, v in self._pairs if k.lower() == n]

    def __getitem__(self, name):
        v = self.get(name)
        if v is None:
            raise KeyError(name)
        return v

    def __contains__(self, name):
        return self.get(name) is not None

    def items(self):
        return list(self._pairs)

    def __repr__(self):
        return "Headers(%r)" % (self._pairs,)


class Response:
    def __init__(self, method, path, status, reason, headers, body):
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def __repr__(self):
        body = self.body[:400]
        return "<%s %s -> %s %s %r %r>" % (
            self.method, self.path, self.status, self.reason,
            self.headers.items(), body)


def http_request(host, port, method, path, body=None, headers=None, timeout=10):
    """One request on a fresh connection; returns a Response."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Response(method, path, r.status, r.reason,
                        Headers(r.getheaders()), data)
    finally:
        conn.close()


def assert_problem(r, status, code):
    """Check that r is an RFC 9457 problem of synthia's shape."""
    assert r.status == status, "expected %d, got %r" % (status, r)
    assert r.content_type == "application/problem+json", \
        "problem content type: %r" % (r,)
    p = r.json()
    assert p.get("type") == "urn:synthia:problem:" + code, p
    assert p.get("code") == code, p
    assert p.get("status") == status, p
    assert isinstance(p.get("title"), str) and p["title"], p
    assert isinstance(p.get("detail"), str), p
    rid = r.headers.get("X-Request-Id")
    assert rid and SANE_ID.match(rid), "X-Request-Id: %r" % (rid,)
    assert p.get("request_id") == rid, (p, rid)
    return p


def wait_until(fn, timeout=10.0, interval=0.1, what="condition"):
    """Call fn until it returns a true value; return that value.  Raise
    AssertionError naming `what` (and the last value or error) after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
            last = v
        except Exception as e:  # keep polling; report the last error
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s (last: %r)"
                                 % (timeout, what, last))
        time.sleep(interval)


# ------------------------------------------------------------------ processes


def proc_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children(pid):
    """Live child processes of pid (from /proc/*/stat), sorted."""
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        # fields[0] = state, fields[1] = ppid
        if fields[1] == str(pid) and fields[0] != "Z":
            kids.append(int(d))
    return sorted(kids)


# ------------------------------------------------------------------ stack


SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|"
                       r"runtime error: |WARNING: AddressSanitizer")


def sanitized_build():
    """The programs under test are built with ASan/UBSan
    (--enable-sanitizers: several times slower).  A latency bound that an
    issue sets for the release build is checked by the release build's
    run; the sanitizer run checks the same behaviour with a wider bound."""
    try:
        with open(os.path.join(os.environ.get("SY_BUILDDIR", "."),
                               "Makefile")) as f:
            return re.search(r"^SY_SAN_CFLAGS = .*-fsanitize=", f.read(),
                             re.M) is not None
    except OSError:
        return False


def sanitizer_reports(text):
    """Sanitizer reports in a log: each as its first 40 lines."""
    lines = text.splitlines()
    return [lines[i:i + 40] for i, line in enumerate(lines)
            if SANITIZER.search(line)]


def _short(name):
    return re.sub(r"[^A-Za-z0-9]", "", name)[:12] or "t"


class Stack:
    """A throwaway stack, as a context manager: `up` on enter, `down` (and
    the log tails when the block raised) on exit."""

    def __init__(self, name, web="nginx", workers=2, extra_config=""):
        self.name = name
        self.web = web
        # tests/stack.sh appends SY_SYNTHIA_ARGS to `synthia serve`: the
        # last --workers there wins over the stack's
        extra = os.environ.get("SY_SYNTHIA_ARGS", "").split()
        forced = [extra[i + 1] for i, a in enumerate(extra[:-1])
                  if a == "--workers"]
        if forced:
            workers = max(1, int(forced[-1]))  # 0: one, without a master
        self.workers = workers
        self.extra_config = extra_config
        self.statedir = None
        self.env = {}
        self.failed = False

    # -- lifecycle

    def __enter__(self):
        self.up()
        return self

    def __exit__(self, et, ev, tb):
        if et is not None:
            self.failed = True
            self.dump_logs()
        reports = self.down()
        if reports and et is None:
            raise AssertionError("sanitizer reports in synthia.log:\n" +
                                 "\n".join(reports[0]))
        return False

    def _mkstatedir(self):
        base = os.environ.get("TMPDIR") or "/tmp"
        # unix socket paths (fcgi.sock, pg/.s.PGSQL.NNNNN) must stay short
        if len(base) > 40 or not os.path.isdir(base):
            base = "/tmp"
        return tempfile.mkdtemp(prefix="sy-%s-" % _short(self.name), dir=base)

    def up(self):
        extra_path = None
        try:
            if self.extra_config:
                fd, extra_path = tempfile.mkstemp(prefix="sy-extra-", suffix=".conf")
                with os.fdopen(fd, "w") as f:
                    f.write(self.extra_config)
                    if not self.extra_config.endswith("\n"):
                        f.write("\n")
            for attempt in (1, 2):
                self.statedir = self._mkstatedir()
                args = [STACK_SH, "up", self.statedir, "--web", self.web,
                        "--workers", str(self.workers)]
                if extra_path:
                    args += ["--config-extra", extra_path]
                env = dict(os.environ, SY_BUILDDIR=BUILDDIR)
                try:
                    p = subprocess.run(args, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, env=env,
                                       timeout=240)
                    out, rc = p.stdout.decode("utf-8", "replace"), p.returncode
                except subprocess.TimeoutExpired as e:
                    out = (e.stdout or b"").decode("utf-8", "replace")
                    rc = -1
                except BaseException:
                    # interrupted (time limit, ^C): stop what got started
                    self._stack("down", check=False)
                    self._rmtree()
                    self.statedir = None
                    raise
                if rc == 0:
                    self._load_env()
                    return
                self._stack("down", check=False)
                self._rmtree()
                self.statedir = None
                # a free port taken by someone else in between: try once more
                if attempt == 1 and "already in use" in out:
                    print("# stack up: port clash, retrying", flush=True)
                    continue
                raise StackError("tests/stack.sh up failed (exit %d):\n%s" % (rc, out))
        finally:
            if extra_path:
                os.unlink(extra_path)

    def down(self):
        """Stop the stack and remove its directory.  Returns the sanitizer
        reports (ASan, LSan, UBSan) that synthia's processes wrote to their
        log, up to and including their exit, each as a list of lines."""
        if not self.statedir:
            return []
        self._stack("down", check=False)
        reports = sanitizer_reports(self.read_log("synthia.log"))
        if os.environ.get("SY_KEEP_STACK") == "1" or reports:
            print("# stack kept in %s" % self.statedir, flush=True)
        else:
            self._rmtree()
        self.statedir = None
        return reports

    def _rmtree(self):
        if self.statedir and os.path.isdir(self.statedir):
            shutil.rmtree(self.statedir, ignore_errors=True)

    def _stack(self, cmd, check=True, timeout=120):
        env = dict(os.environ, SY_BUILDDIR=BUILDDIR)
        p = subprocess.run([STACK_SH, cmd, self.statedir], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=env, timeout=timeout)
        out = p.stdout.decode("utf-8", "replace")
        if check and p.returncode != 0:
            raise StackError("tests/stack.sh %s failed (exit %d):\n%s"
                             % (cmd, p.returncode, out))
        if os.path.exists(os.path.join(self.statedir, "env")):
            self._load_env()
        return out

    def _load_env(self):
        env = {}
        with open(os.path.join(self.statedir, "env")) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#") or "=" not in line:
                    continue
                k, v = line.split("=", 1)
                if len(v) >= 2 and v[0] == v[-1] == "'":
                    v = v[1:-1]
                env[k] = v
        self.env = env

    # -- logs

    def log_path(self, name):
        return os.path.join(self.statedir, "log", name)

    def read_log(self, name):
        try:
            with open(self.log_path(name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_marks(self):
        """{log name: size}, to dump only what a test added."""
        marks = {}
        if self.statedir:
            d = os.path.join(self.statedir, "log")
            for n in os.listdir(d) if os.path.isdir(d) else ():
                marks[n] = os.path.getsize(os.path.join(d, n))
        return marks

    def dump_logs(self, lines=40, since=None):
        """Print the tails of the stack's logs (initdb's only when asked),
        or of what they gained after `since` (from log_marks)."""
        if not self.statedir:
            return
        d = os.path.join(self.statedir, "log")
        try:
            names = sorted(os.listdir(d))
        except OSError:
            return
        for n in names:
            if n == "initdb.log" and since is None:
                continue
            text = self.read_log(n)
            if since is not None:
                text = text[since.get(n, 0):]
            if not text:
                continue
            # an access log says little about a failure: its last few
            # lines; every line cut at 400 characters (CI shows a
            # bounded part of its output)
            keep = min(lines, 8) if "access" in n else lines
            tail = text.splitlines()[-keep:]
            print("# ----- %s: %s (last %d lines)" % (self.name, n, len(tail)))
            for line in tail:
                print("# " + (line if len(line) <= 400 else
                              line[:400] + " [...]"))
        sys.stdout.flush()

    # -- HTTP

    @property
    def base_url(self):
        return self.env.get("SY_BASE_URL", "")

    @property
    def http_port(self):
        return int(self.env["SY_HTTP_PORT"])

    def request(self, method, path, body=None, headers=None, timeout=10):
        if self.web != "nginx":
            raise RuntimeError("this stack has no web server (web=%r)" % self.web)
        return http_request("127.0.0.1", self.http_port, method, path,
                            body=body, headers=headers, timeout=timeout)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    # -- faults and processes

    def stop_pg(self):
        self._stack("stop-pg")

    def start_pg(self):
        self._stack("start-pg")

    def stop_redis(self):
        self._stack("stop-redis")

    def start_redis(self):
        self._stack("start-redis")

    def pg_pids(self):
        """The postmaster and every process it started."""
        pm = int(self.env["SY_PG_PID"])
        return [pm] + children(pm)

    def kill_pg(self):
        """SIGKILL the stack's postmaster; wait until its orphans have
        gone (a new postmaster refuses to start while they hold the old
        shared memory).  start_pg() brings it back."""
        procs = self.pg_pids()
        os.kill(procs[0], signal.SIGKILL)
        # gone, not only dead: postgres takes a zombie for a running
        # postmaster
        wait_until(lambda: not any(os.path.exists("/proc/%d" % p)
                                   for p in procs),
                   timeout=30, interval=0.05,
                   what="PostgreSQL's processes to exit after SIGKILL")

    def kill_redis(self):
        """SIGKILL the stack's Redis and wait until it has gone;
        start_redis() brings it back (empty: it keeps nothing on disk)."""
        pid = int(self.env["SY_REDIS_PID"])
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not os.path.exists("/proc/%d" % pid),
                   timeout=30, interval=0.05,
                   what="Redis to exit after SIGKILL")

    def reload(self):
        """SIGHUP to the master: reload config, roll the responders."""
        self._stack("reload-synthia")

    def restart(self):
        self._stack("restart-synthia")

    def master_pid(self):
        return int(self.env["SY_SYNTHIA_PID"])

    def responder_pids(self):
        return children(self.master_pid())

    def oldest_responder(self):
        """The responder that has run longest (start time from /proc)."""
        def started(pid):
            with open("/proc/%d/stat" % pid) as f:
                return int(f.read().rsplit(")", 1)[1].split()[19])
        pids = self.responder_pids()
        return min(pids, key=started) if pids else None

    def wait_responders(self, n=None, exclude=(), timeout=15.0):
        """Wait until the master has n responders (default: workers), none
        of them in `exclude`; return their pids."""
        n = self.workers if n is None else n
        ex = set(exclude)

        def ready():
            pids = self.responder_pids()
            if len(pids) == n and not ex.intersection(pids):
                return pids
            return None
        return wait_until(ready, timeout=timeout,
                          what="%d responders not in %s" % (n, sorted(ex)))


def own_stack(**kwargs):
    """Decorator: the test gets a fresh Stack(**kwargs) of its own."""
    def mark(fn):
        fn._sy_stack = kwargs
        return fn
    return mark


# ------------------------------------------------------------------ runner


def _on_alarm(signum, frame):
    raise TestTimeout("test ran past its time limit")


def _print_reports(where, reports):
    print("not ok - sanitizer reports in synthia.log of %s" % where)
    for rep in reports[:5]:
        for line in rep:
            print("# " + line)
        print("#")
    sys.stdout.flush()


def main(ns):
    """Run the test_* functions of a test module's globals() in order."""
    tests = [(n, f) for n, f in ns.items()
             if n.startswith("test_") and callable(f)]
    only = sys.argv[1:]
    if only:
        tests = [(n, f) for n, f in tests if n in only]
    limit = int(ns.get("TEST_TIMEOUT", 120))
    shared_kwargs = ns.get("SHARED_STACK", {})
    file = os.path.basename(ns.get("__file__", "test"))
    shared = None
    shared_error = None
    passed = failed = 0
    signal.signal(signal.SIGALRM, _on_alarm)
    try:
        for name, fn in tests:
            stack = own = None
            marks = {}
            t0 = time.monotonic()
            try:
                nparams = len(inspect.signature(fn).parameters)
                if nparams == 0:
                    signal.alarm(limit)
                    fn()
                elif hasattr(fn, "_sy_stack"):
                    kw = dict(fn._sy_stack)
                    kw.setdefault("name", name[5:])
                    signal.alarm(limit + 120)  # + starting the stack
                    own = Stack(**kw)
                    own.up()
                    stack = own
                    fn(own)
                else:
                    if shared is None and shared_error is None:
                        kw = dict(shared_kwargs)
                        kw.setdefault("name", file.replace(".py", ""))
                        signal.alarm(240)
                        try:
                            shared = Stack(**kw)
                            shared.up()
                        except Exception as e:
                            shared = None
                            shared_error = e
                    if shared_error is not None:
                        raise StackError("shared stack did not start: %s" % shared_error)
                    stack = shared
                    marks = shared.log_marks()
                    signal.alarm(limit)
                    fn(shared)
                signal.alarm(0)
                passed += 1
                print("ok - %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
            except BaseException as e:
                signal.alarm(0)
                if isinstance(e, KeyboardInterrupt):
                    raise
                failed += 1
                print("not ok - %s (%.1fs)" % (name, time.monotonic() - t0))
                for line in traceback.format_exc().splitlines():
                    print("# " + line)
                if stack is not None:
                    stack.failed = True
                    stack.dump_logs(since=marks if stack is shared else None)
                sys.stdout.flush()
            finally:
                signal.alarm(0)
                if own is not None and own.statedir:
                    reports = own.down()
                    if reports:
                        failed += 1
                        _print_reports("%s (its own stack)" % name, reports)
    finally:
        signal.alarm(0)
        if shared is not None:
            reports = shared.down()
            if reports:
                failed += 1
                _print_reports("the shared stack of %s" % file, reports)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(1 if failed else 0)

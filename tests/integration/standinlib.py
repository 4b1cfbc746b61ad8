# SPDX-License-Identifier: BSD-2-Clause
"""standinlib.py - the stand-in provider server (tests/providers/
standin.py) for an integration test file: started once per file on a
loopback port (stopped at exit), key files for each API shape, the
[ai.<kind>] config sections that point at it, and its admin endpoint
(faults, call counts, reset)."""

import sys
sys.dont_write_bytecode = True  # the source tree may be read-only
import atexit
import json
import os
import subprocess
import tempfile
import time
import urllib.request

import sylib

STANDIN = os.path.join(sylib.SRCDIR, "tests", "providers", "standin.py")
KEYS = {"openai": "sk-test-openai", "gemini": "gm-test-gemini",
        "fal": "fal-test-key", "replicate": "r8-test-key"}


class Standin:
    def __init__(self, port, keydir):
        self.port = port
        self.keydir = keydir
        self.base = "http://127.0.0.1:%d" % port

    def section(self, kind, timeout="1500ms"):
        """The [ai.<kind>] section of synthia.conf for this server."""
        return ("[ai.%s]\nbase_url = %s\nkey_file = %s/%s.key\n"
                "timeout = %s\nconnect_timeout = 500ms\n"
                % (kind, self.base, self.keydir, kind, timeout))

    def admin(self, path, body=None):
        req = urllib.request.Request(
            self.base + path, method="POST" if body is not None else "GET",
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def fault(self, route, mode, count=1, **kw):
        self.admin("/_admin/fault", dict(route=route, mode=mode, count=count,
                                         **kw))

    def count(self, route):
        return self.admin("/_admin/calls")["counts"].get(route, 0)

    def reset(self):
        """No faults, no counts, the keys of KEYS expected."""
        self.admin("/_admin/reset", {})
        self.admin("/_admin/keys", KEYS)


def start():
    """Start a stand-in for this process: a Standin."""
    tmp = tempfile.mkdtemp(prefix="sy-standin-")
    port_file = os.path.join(tmp, "port")
    p = subprocess.Popen([sys.executable, STANDIN, "--port-file", port_file],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)

    def stop():
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    atexit.register(stop)
    deadline = time.monotonic() + 10
    while not (os.path.exists(port_file) and open(port_file).read().strip()):
        if time.monotonic() > deadline or p.poll() is not None:
            raise sylib.StackError("the stand-in provider did not start")
        time.sleep(0.05)
    for kind, k in KEYS.items():
        with open(os.path.join(tmp, kind + ".key"), "w") as f:
            f.write(k + "\n")
    s = Standin(int(open(port_file).read().strip()), tmp)
    s.reset()
    return s


def forget_breakers(stack):
    """Every provider circuit of the stack closed again (Redis)."""
    p = subprocess.run(
        ["redis-cli", "-p", stack.env["SY_REDIS_PORT"], "EVAL",
         "for _, k in ipairs(redis.call('KEYS', 'sy:{ai}:cb:*')) do "
         "redis.call('DEL', k) end return 0", "0"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p

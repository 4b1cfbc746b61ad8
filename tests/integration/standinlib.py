# SPDX-License-Identifier: BSD-2-Clause
"""The stand-in provider server (tests/providers/standin.py) for an
integration test file: started once per file on a loopback port, with
key files for every provider kind, its admin endpoint (faults, call
counts, reset) and the [ai.<kind>] sections that point synthia at it."""

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
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sy-standin-")
        port_file = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen(
            [sys.executable, STANDIN, "--port-file", port_file],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        atexit.register(self.stop)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.05)
        self.port = int(open(port_file).read().strip())
        self.base = "http://127.0.0.1:%d" % self.port
        for kind, k in KEYS.items():
            with open(os.path.join(self.dir, kind + ".key"), "w") as f:
                f.write(k + "\n")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))
        os.rmdir(self.dir)

    def section(self, kind, timeout="1500ms"):
        """The [ai.<kind>] section of synthia.conf for this server."""
        return ("[ai.%s]\nbase_url = %s\nkey_file = %s/%s.key\n"
                "timeout = %s\nconnect_timeout = 500ms\n"
                % (kind, self.base, self.dir, kind, timeout))

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
        """Faults, counts and expected keys back to normal."""
        self.admin("/_admin/reset", {})
        self.admin("/_admin/keys", KEYS)

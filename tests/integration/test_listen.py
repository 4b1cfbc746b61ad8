#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_listen.py - a unix socket that synthia creates itself.

server.listen_mode, listen_owner and listen_group (php-fpm's listen.mode,
listen.owner, listen.group) are on the socket file before it accepts; an
unknown user or group is a configuration error that names the key; a
chown the process may not do stops start-up; the socket file is removed
when the master exits, and a master that could not start leaves none.
The master logs its JWT keys once, also across a reload with the same
keys.

No stack: the master needs no database to bind, fork and drain (the
responders connect lazily), so each test starts `synthia serve` itself.
"""

import grp
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile

import sylib

SYNTHIA = os.path.join(sylib.BUILDDIR, "synthia")
ROOT = os.geteuid() == 0


class Master:
    """`synthia serve --workers 1` on a socket in a fresh directory."""

    def __init__(self, extra="", as_user=None):
        # as_user: (user, group) to run as, with setpriv (root only)
        self.dir = tempfile.mkdtemp(prefix="sy-listen.")
        os.chmod(self.dir, 0o777 if as_user else 0o755)
        self.sock = os.path.join(self.dir, "fcgi.sock")
        self.log = os.path.join(self.dir, "synthia.log")
        key = os.path.join(self.dir, "jwt.key")
        with open(key, "w") as f:
            f.write("k" * 48 + "\n")
        os.chmod(key, 0o644)
        self.conf = os.path.join(self.dir, "synthia.conf")
        with open(self.conf, "w") as f:
            f.write("[server]\nlisten = unix:%s\nworkers = 1\n%s\n"
                    "[database]\nurl = postgresql://synthia@/synthia"
                    "?host=%s\n[auth]\njwt_secret_file = %s\n"
                    % (self.sock, extra, self.dir, key))
        os.chmod(self.conf, 0o644)
        self.as_user = as_user
        self.proc = None

    def argv(self, *args):
        argv = [SYNTHIA, "--config", self.conf] + list(args)
        if self.as_user:
            argv = ["setpriv", "--reuid=" + self.as_user[0],
                    "--regid=" + self.as_user[1], "--clear-groups",
                    "--"] + argv
        return argv

    def start(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("SYNTHIA_")}
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(self.argv("serve"), stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=out, env=env)
        out.close()
        return self

    def wait_socket(self):
        sylib.wait_until(lambda: os.path.exists(self.sock) or
                         self.proc.poll() is not None, timeout=15,
                         what="the socket or the master's exit")
        assert self.proc.poll() is None, \
            "master exited %s:\n%s" % (self.proc.returncode, self.text())

    def wait_started(self):
        """The master handles signals once it says it started (before,
        SIGTERM has its default action, as for any process)."""
        self.wait_socket()
        sylib.wait_until(lambda: self.events("started") or
                         self.proc.poll() is not None, timeout=30,
                         what="the master's started line")
        assert self.proc.poll() is None, \
            "master exited %s:\n%s" % (self.proc.returncode, self.text())

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                return self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("master still running 40 s after %s"
                                     % sig)
        return self.proc.returncode if self.proc else None

    def text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def events(self, name):
        out = []
        for line in self.text().splitlines():
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if j.get("event") == name:
                out.append(j)
        return out

    def cleanup(self):
        try:
            self.stop(signal.SIGKILL)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def other_ids():
    """An owner and a group to give the socket: as root, nobody/nogroup;
    otherwise only what we may: ourselves and our primary group."""
    if ROOT:
        return "nobody", "nogroup"
    return (pwd.getpwuid(os.getuid()).pw_name,
            grp.getgrgid(os.getgid()).gr_name)


def test_mode_owner_group_then_removed_on_exit():
    owner, group = other_ids()
    m = Master("listen_mode = 0640\nlisten_owner = %s\nlisten_group = %s\n"
               % (owner, group)).start()
    try:
        m.wait_started()
        st = os.stat(m.sock)
        assert stat.S_ISSOCK(st.st_mode), st
        assert stat.S_IMODE(st.st_mode) == 0o640, oct(st.st_mode)
        assert st.st_uid == pwd.getpwnam(owner).pw_uid, (st.st_uid, owner)
        assert st.st_gid == grp.getgrnam(group).gr_gid, (st.st_gid, group)
        rc = m.stop()
        assert rc == 0, "master exit %r after SIGTERM:\n%s" % (rc, m.text())
        assert not os.path.lexists(m.sock), \
            "%s is still there after the master exited" % m.sock
    finally:
        m.cleanup()


def test_numeric_ids_are_accepted():
    uid, gid = (65534, 65534) if ROOT else (os.getuid(), os.getgid())
    m = Master("listen_owner = %d\nlisten_group = %d\n" % (uid, gid)).start()
    try:
        m.wait_started()  # the socket exists from bind(), its owner from chown()
        st = os.stat(m.sock)
        assert (st.st_uid, st.st_gid) == (uid, gid), (st.st_uid, st.st_gid)
    finally:
        m.cleanup()


def test_unknown_group_or_owner_names_the_key():
    for key, value in (("listen_group", "no-such-group-sy"),
                       ("listen_owner", "no-such-user-sy")):
        m = Master("%s = %s\n" % (key, value))
        try:
            r = subprocess.run(m.argv("check-config"), capture_output=True,
                               text=True, timeout=30)
            assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
            assert "server.%s" % key in r.stderr + r.stdout, r.stderr
        finally:
            m.cleanup()


def test_refused_chown_stops_startup_and_leaves_no_socket():
    # A group the process is not a member of: only root may give it.
    if ROOT:
        m = Master("listen_group = root\n", as_user=("nobody", "nogroup"))
    else:
        m = Master("listen_group = root\n")
    try:
        m.start()
        try:
            rc = m.proc.wait(20)
        except subprocess.TimeoutExpired:
            raise AssertionError("master kept running with a socket it "
                                 "could not give away:\n" + m.text())
        assert rc == 1, "exit %r:\n%s" % (rc, m.text())
        errs = [e for e in m.events("listen") if e.get("level") == "error"]
        assert errs and "listen_group" in errs[0].get("msg", ""), m.text()
        assert not os.path.lexists(m.sock), "a socket file was left behind"
    finally:
        m.cleanup()


def test_jwt_keys_logged_once_across_reload():
    m = Master().start()
    try:
        m.wait_started()
        m.proc.send_signal(signal.SIGHUP)
        sylib.wait_until(lambda: m.events("reloaded") or
                         m.events("reload_failed"),
                         timeout=20, what="the master's reload line")
        assert m.events("reloaded"), m.text()
        keys = m.events("jwt_keys")
        assert len(keys) == 1, "%d jwt_keys lines:\n%s" % (len(keys), m.text())
    finally:
        m.cleanup()


sylib.main(globals())

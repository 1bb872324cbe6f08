"""Binary upgrade (docs/ARCHITECTURE.md: The life of an upgrade, issue 15): USR2 or `preforkctl upgrade` execs
the binary at the path preforkd was started from; the new supervisor inherits
the sockets, takes over once its workers are ready and continues the old
one's counters; a new binary that cannot get there is killed and the old one
keeps serving.

The server runs from a copy of build/preforkd in the test's directory, so a
test can replace "the installed binary" as a package upgrade would (write a
new file, rename it over the old path) or put a stand-in there that fails in
a chosen way. Counts and states are asserted, never durations.
"""
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import (MQUEUE_DIR, PREFORKCTL, PREFORKD, alive, children, cmdline, exe, fd_links,
                      http_request, mqueues, wait_for)
from test_chaos_short import Load, make_files, settle_requests


def install(path, src=PREFORKD, text=None, mode=0o755):
    """Replaces path as a package manager does: a new file renamed over it
    (the running binary's inode is left alone)."""
    tmp = path + ".new"
    if text is None:
        shutil.copy(src, tmp)
    else:
        with open(tmp, "w") as f:
            f.write(text)
    os.chmod(tmp, mode)
    os.rename(tmp, path)


class Upgradable:
    """A Server started from its own copy of the binary; remembers every
    supervisor pid it saw so cleanup can find them all."""

    def __init__(self, srv):
        self.srv = srv
        self.exe = os.path.join(srv.dir, "bin", "preforkd")
        os.makedirs(os.path.dirname(self.exe))
        install(self.exe)
        self.pids = set()

    def start(self, env=None, activate=None):
        """activate: a listening socket handed over as systemd does (fd 3)."""
        s = self.srv
        e = dict(os.environ)
        e.update(env or {})
        cmd, extra = [self.exe, "-c", s.conf_path], {}
        if activate is not None:
            cmd = ["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh", *cmd]
            extra = dict(pass_fds=(3,), preexec_fn=lambda: os.dup2(activate.fileno(), 3))
        s.stdout = open(os.path.join(s.dir, "stdout"), "wb")
        s.stderr = open(os.path.join(s.dir, "stderr"), "wb")
        s.proc = subprocess.Popen(cmd, stdout=s.stdout, stderr=s.stderr,
                                  stdin=subprocess.DEVNULL, env=e, start_new_session=True,
                                  **extra)
        s.pid = s.proc.pid
        self.pids.add(s.pid)
        s.wait_serving()
        wait_for(lambda: self.pidfile_pid() == s.pid, 10, what="the pidfile")
        return self

    def pidfile_pid(self, path=None):
        try:
            with open(path or self.srv.pidfile) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def upgraded(self, old, timeout=30):
        """Waits until a new supervisor holds the pidfile and the old one is
        gone with its PIDFILE.oldbin; returns the new pid."""
        oldbin = self.srv.pidfile + ".oldbin"
        wait_for(lambda: self.pidfile_pid() not in (0, old) and not alive(old) and
                 not os.path.exists(oldbin), timeout, what="the upgrade to finish")
        new = self.pidfile_pid()
        self.pids.add(new)
        self.srv.pid = new     # Server.signal, workers() and snapshot follow it
        return new

    def ctl_upgrade(self):
        return subprocess.run([PREFORKCTL, "-p", self.srv.pidfile, "upgrade"],
                              capture_output=True, text=True, timeout=120)

    def cleanup(self):
        # A test that failed half-way may not have seen the latest pid.
        for path in (self.srv.pidfile, self.srv.pidfile + ".oldbin"):
            pid = self.pidfile_pid(path)
            if pid > 0 and exe(pid).startswith(self.srv.dir):
                self.pids.add(pid)
        for pid in list(self.pids):
            for p in [pid] + children(pid):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        for pid in list(self.pids):
            wait_for(lambda p=pid: not alive(p), 5, what=f"pid {pid} to die")
            for q in mqueues(pid):
                try:
                    os.unlink(os.path.join(MQUEUE_DIR, q))
                except OSError:
                    pass


@pytest.fixture
def upgradable(make_server):
    made = []

    def factory(**keys):
        srv = make_server(**keys)
        make_files(srv.root)
        u = Upgradable(srv)
        made.append(u)
        return u

    yield factory
    for u in made:
        u.cleanup()


def failed_lines(srv):
    return [l for l in srv.error_log().splitlines() if "upgrade failed:" in l]


# --- upgrades that work ------------------------------------------------------

def test_upgrades_under_load_fail_nothing_and_count_exactly(upgradable):
    u = upgradable(workers=2).start()
    s = u.srv
    settle_requests(s, 1)                        # the start-up probe
    first = s.snapshot()
    load = Load(s.port, keepalive=4, close=1).start()
    load.wait_ok(50)
    olds = []
    for i in range(1, 4):
        install(u.exe)                           # a "package upgrade" each time
        old = u.pidfile_pid()
        olds.append(old)
        os.kill(old, signal.SIGUSR2)
        new = u.upgraded(old)
        if i == 1:
            assert s.proc.wait(10) == 0          # the first old one is our child
        load.wait_ok(load.ok + 50)
        snap = s.snapshot(pred=lambda x, n=new: x["pid"] == n)
        assert snap["upgrades"] == i
        assert snap["upgrades_failed"] == 0
        assert snap["generation"] == first["generation"] + i
        assert all(w["generation"] == snap["generation"] for w in snap["workers"])
        assert mqueues(old) == []
    load.stop()
    assert load.failed == []
    settle_requests(s, 1 + load.ok)
    assert not os.path.exists(s.pidfile + ".oldbin")
    assert os.path.exists(s.status_path)
    assert sorted(mqueues(u.pidfile_pid())) == sorted(
        [f"preforkd.{u.pidfile_pid()}.ctl", f"preforkd.{u.pidfile_pid()}.stats"])
    assert [l for l in s.error_log().splitlines() if "preforkd stopped: upgraded" in l] \
        and len(olds) == 3


def test_preforkctl_upgrade_waits_and_says_so(upgradable):
    u = upgradable(workers=1).start()
    old = u.pidfile_pid()
    r = u.ctl_upgrade()
    assert r.returncode == 0, r.stderr
    new = u.upgraded(old)
    assert r.stdout.strip() == f"upgraded: pid {old} -> {new}"
    # Only the sockets and the channel cross the exec: not the old pidfile.
    assert [l for l in fd_links(new) if "oldbin" in l] == []
    # The new supervisor serves and is the one preforkctl finds now.
    r = subprocess.run([PREFORKCTL, "-p", u.srv.pidfile, "status"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0


def test_status_pipe_reader_that_reopens_follows_the_new_supervisor(upgradable):
    u = upgradable(workers=1).start()
    s = u.srv
    before = s.snapshot()
    old = u.pidfile_pid()
    time.sleep(1.1)                              # so the start times differ
    os.kill(old, signal.SIGUSR2)
    new = u.upgraded(old)
    after = s.snapshot(pred=lambda x: x["pid"] == new)
    assert before["pid"] == old and after["pid"] == new
    assert after["started"] > before["started"]
    assert after["totals"]["requests"] >= before["totals"]["requests"]
    r = subprocess.run([PREFORKCTL, "-p", s.pidfile, "-s", s.status_path, "status"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    assert f"pid:          {new}" in r.stdout.splitlines()
    assert f"started:      {after['started']}" in r.stdout.splitlines()
    assert "upgrades:     1, 0 failed" in r.stdout.splitlines()
    s.signal(signal.SIGTERM)
    wait_for(lambda: not alive(new), 20, what="the new supervisor to stop")
    assert not os.path.exists(s.status_path)
    assert not os.path.exists(s.pidfile)
    assert mqueues(new) == [] and mqueues(old) == []


def test_notify_socket_sees_mainpid_change(upgradable, tmp_path):
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)
    try:
        u = upgradable(workers=1).start(env={"NOTIFY_SOCKET": path})
        msgs = []

        def until(text):
            while text not in msgs:
                msgs.append(sock.recv(4096).decode())
        until("READY=1")
        old = u.pidfile_pid()
        msgs.clear()
        os.kill(old, signal.SIGUSR2)
        new = u.upgraded(old)
        until(f"MAINPID={new}")
        until("READY=1")
        assert msgs.index(f"MAINPID={new}") < msgs.index("READY=1")
        assert "STOPPING=1" not in msgs       # systemd must not think we stop
    finally:
        sock.close()


def test_socket_from_systemd_activation_survives_upgrades(upgradable):
    """The activated socket is the one served before and after; the listen
    line of the configuration (another port) is never bound."""
    act = socket.socket()
    act.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    act.bind(("127.0.0.1", 0))
    act.listen(64)
    try:
        u = upgradable(workers=1)
        s = u.srv
        configured = s.port
        s.port = act.getsockname()[1]        # wait_serving and Load use it
        u.start(activate=act)
        act.close()                          # only preforkd holds it now
        load = Load(s.port, keepalive=2, close=1).start()
        load.wait_ok(20)
        for i in range(2):
            old = u.pidfile_pid()
            os.kill(old, signal.SIGUSR2)
            u.upgraded(old)
            load.wait_ok(load.ok + 20)
        load.stop()
        assert load.failed == []
        snap = s.snapshot(pred=lambda x: x["upgrades"] == 2)
        assert snap["listen"] == [f"127.0.0.1:{s.port}"]
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", configured), timeout=5).close()
    finally:
        act.close()


# --- rollback -----------------------------------------------------------------

CRASH_AFTER_BIND = """#!/usr/bin/python3
import os, signal, socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
os.kill(os.getpid(), signal.SIGSEGV)
"""

STANDINS = {
    # name: (file text or None for the real binary, mode, reason in the log line)
    "not_executable": (None, 0o644, "Permission denied"),
    "exits_1": ("#!/bin/sh\nexit 1\n", 0o755, "exited with status 1"),
    "crashes_after_binding": (CRASH_AFTER_BIND, 0o755, "killed by signal 11"),
    "never_ready": ("#!/bin/sh\nexec sleep 300\n", 0o755, "not ready within upgrade_timeout"),
}


@pytest.mark.parametrize("kind", sorted(STANDINS))
def test_failed_upgrade_rolls_back_and_keeps_serving(upgradable, kind):
    text, mode, reason = STANDINS[kind]
    u = upgradable(workers=2, upgrade_timeout="2s").start()
    s = u.srv
    settle_requests(s, 1)
    load = Load(s.port, keepalive=3, close=1).start()
    load.wait_ok(30)
    old = u.pidfile_pid()
    install(u.exe, text=text, mode=mode)
    r = u.ctl_upgrade()
    assert r.returncode == 1
    assert "upgrade failed" in r.stderr
    lines = failed_lines(s)
    assert len(lines) == 1 and reason in lines[0] and "keeping the running binary" in lines[0]
    assert u.pidfile_pid() == old and alive(old)
    assert not os.path.exists(s.pidfile + ".oldbin")
    load.wait_ok(load.ok + 30)
    snap = s.snapshot(pred=lambda x: x["upgrades_failed"] == 1)
    assert snap["pid"] == old and snap["upgrades"] == 0
    assert len([w for w in snap["workers"] if w["state"] == "ready"]) == 2
    # And the real binary still upgrades afterwards, counters carried.
    install(u.exe)
    os.kill(old, signal.SIGUSR2)
    new = u.upgraded(old)
    load.stop()
    assert load.failed == []
    snap = settle_requests(s, 1 + load.ok)
    assert snap["pid"] == new and snap["upgrades"] == 1 and snap["upgrades_failed"] == 1
    assert [q for q in os.listdir(MQUEUE_DIR)
            if q.startswith("preforkd.") and int(q.split(".")[1]) not in (new,)
            and int(q.split(".")[1]) in u.pids] == []


def test_new_supervisor_dying_after_taking_over_hands_the_service_back(upgradable):
    """A download in flight keeps an old worker retiring, so the old
    supervisor is still there when the new one is killed: it must serve
    again, not exit and leave nobody."""
    u = upgradable(workers=1)
    s = u.srv
    s.write_config(graceful_timeout="60s")
    u.start()
    old = u.pidfile_pid()
    dl = socket.create_connection(("127.0.0.1", s.port), timeout=30)
    dl.sendall(b"GET /large.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = dl.recv(1024)
    assert got.startswith(b"HTTP/1.1 200")
    os.kill(old, signal.SIGUSR2)
    new = wait_for(lambda: u.pidfile_pid() not in (0, old) and u.pidfile_pid(), 20,
                   what="the new supervisor to take the pidfile")
    u.pids.add(new)
    wait_for(lambda: "retiring the old workers" in s.error_log(), 10, what="READY")
    assert alive(old)                            # still retiring: the download holds it
    os.kill(new, signal.SIGKILL)
    wait_for(lambda: failed_lines(s), 20, what="the rollback line")
    lines = failed_lines(s)
    assert len(lines) == 1 and "killed by signal 9 after taking over" in lines[0]
    assert u.pidfile_pid() == old and not os.path.exists(s.pidfile + ".oldbin")
    for _ in range(5):
        assert http_request(s.port, "/small.html", timeout=10).status == 200
    snap = s.snapshot(pred=lambda x: x["upgrades_failed"] == 1)
    assert snap["pid"] == old and snap["upgrades"] == 0
    wait_for(lambda: not mqueues(new), 10, what="the dead supervisor's queues removed")
    # The download that kept the old worker busy completes whole.
    total = len(got)
    while True:
        chunk = dl.recv(1 << 20)
        if not chunk:
            break
        total += len(chunk)
    dl.close()
    head_len = got.index(b"\r\n\r\n") + 4
    assert total - head_len == os.path.getsize(os.path.join(s.root, "large.bin"))


def test_failed_config_check_rolls_back(upgradable):
    u = upgradable(workers=1, upgrade_timeout="10s").start()
    s = u.srv
    old = u.pidfile_pid()
    s.write_config(no_such_key="1")
    r = u.ctl_upgrade()
    assert r.returncode == 1
    lines = failed_lines(s)
    assert len(lines) == 1 and "no_such_key" in lines[0] and lines[0].endswith(
        "; keeping the running binary")
    assert u.pidfile_pid() == old
    assert s.snapshot(pred=lambda x: x["upgrades_failed"] == 1)["pid"] == old


def test_second_usr2_is_ignored_and_term_stops_both(upgradable):
    u = upgradable(workers=1, upgrade_timeout="60s").start()
    s = u.srv
    old = u.pidfile_pid()
    install(u.exe, text="#!/bin/sh\nexec sleep 300\n")
    os.kill(old, signal.SIGUSR2)
    wait_for(lambda: os.path.exists(s.pidfile + ".oldbin"), 10, what="PIDFILE.oldbin")
    standin = wait_for(lambda: [p for p in children(old) if "sleep" in cmdline(p)], 10,
                       what="the new binary")
    os.kill(old, signal.SIGUSR2)
    wait_for(lambda: "upgrade already in progress" in s.error_log(), 10,
             what="the second USR2 to be refused")
    # preforkctl finds the serving supervisor through PIDFILE.oldbin meanwhile.
    r = subprocess.run([PREFORKCTL, "-p", s.pidfile, "status"], capture_output=True,
                       text=True, timeout=30)
    assert (r.returncode, r.stdout) == (0, f"preforkd is running (pid {old})\n")
    r = u.ctl_upgrade()                          # refused too, and told so at once
    assert r.returncode == 1 and "upgrade failed" in r.stderr
    assert s.error_log().count("upgrade already in progress") == 2
    assert alive(standin[0]) and u.pidfile_pid(s.pidfile + ".oldbin") == old
    os.kill(old, signal.SIGTERM)
    assert s.wait_exit(30) == 0
    for p in standin:
        wait_for(lambda p=p: not alive(p), 10, what="the new binary to stop")
    assert not os.path.exists(s.pidfile) and not os.path.exists(s.pidfile + ".oldbin")
    assert not os.path.exists(s.status_path)
    assert mqueues(old) == []
    assert failed_lines(s) == []


# --- init script ------------------------------------------------------------------

def test_init_script_upgrade(make_server, tmp_path):
    from test_init_script import base_env, init
    s = make_server()
    env = base_env(tmp_path, DAEMON=PREFORKD, CTL=PREFORKCTL, CONFIG=s.conf_path,
                   PIDFILE=s.pidfile, START_TIMEOUT="20", START_STOP_DAEMON="none")
    assert init(env, "upgrade") == (7, "", "preforkd: not running\n")
    try:
        assert init(env, "start")[0] == 0
        with open(s.pidfile) as f:
            old = int(f.read())
        rc, out, err = init(env, "upgrade")
        assert (rc, err) == (0, "")
        wait_for(lambda: not alive(old), 20, what="the old supervisor to exit")
        with open(s.pidfile) as f:
            new = int(f.read())
        assert new != old and alive(new)
        assert out == f"upgraded: pid {old} -> {new}\n"
        assert init(env, "status") == (0, f"preforkd: running (pid {new})\n", "")
    finally:
        assert init(env, "stop")[0] == 0
    assert mqueues(old) == [] and not os.path.exists(s.pidfile)

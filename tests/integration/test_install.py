"""Installing and running in production (docs/ARCHITECTURE.md: Operations, issue 6 items 2-4):
`make install` with DESTDIR and PREFIX, the systemd unit (its keys,
`systemd-analyze verify` when present, and the notify protocol the unit
relies on), and the logrotate snippet (rename, USR1 / preforkctl reopen, new
lines in new files)."""
import configparser
import filecmp
import os
import re
import shutil
import signal
import socket
import stat
import subprocess

import pytest

from conftest import BUILD, PREFORKCTL, PREFORKD, holding, http_request, wait_for, which

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SCRIPTS = os.path.join(ROOT, "scripts")
UNIT = os.path.join(SCRIPTS, "preforkd.service")
SOCKET_UNIT = os.path.join(SCRIPTS, "preforkd.socket")
LOGROTATE = os.path.join(SCRIPTS, "preforkd.logrotate")


# --- make install ----------------------------------------------------------------

# System calls that change the file system (open only with a write flag),
# and those that move the working directory relative paths depend on.
WRITES = ("open,openat,openat2,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,"
          "symlink,symlinkat,unlink,unlinkat,rmdir,chmod,fchmodat,chown,lchown,fchownat,"
          "truncate,mknod,mknodat,chdir,fchdir")
_CALL = re.compile(r'^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)')
_AT_PATH = re.compile(r'(?:AT_FDCWD|\d+)<([^>]*)>, "([^"]*)"')
_PATH = re.compile(r'"([^"]*)"')


def written_paths(trace, cwd):
    """Absolute paths an `strace -f -y` log shows being changed by
    successful calls: *at calls name their directory (-y), plain ones are
    resolved against the process's directory (make -C starts in cwd;
    install -d walks down with chdir/fchdir)."""
    out, cwds = set(), {}
    for line in trace.splitlines():
        m = _CALL.match(line)
        if not m or int(m.group(4)) < 0:
            continue
        pid, call, args = m.group(1), m.group(2), m.group(3)
        here = cwds.get(pid, cwd)
        if call == "chdir":
            cwds[pid] = os.path.normpath(os.path.join(here, _PATH.search(args).group(1)))
            continue
        if call == "fchdir":
            cwds[pid] = re.match(r"\d+<([^>]*)>", args).group(1)
            continue
        if call.startswith("open") and not re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", args):
            continue
        pairs = _AT_PATH.findall(args) if call.endswith("at") or call.endswith("at2") \
            else [(here, p) for p in _PATH.findall(args)]
        for base, path in pairs:
            full = os.path.normpath(os.path.join(base, path))
            if full != "/dev/null":
                out.add(full)
    return sorted(out)


def test_make_install_with_destdir_and_prefix(tmp_path):
    dest = tmp_path / "root"
    # -o all: install what this run tests, never rebuild it (the sanitizer
    # pass uses another BUILD with other flags).
    trace = tmp_path / "trace"
    # strace records every path the install writes, wherever it is.
    p = subprocess.run([which("strace"), "-f", "-y", "-qq", "-o", str(trace), "-e", "trace=" + WRITES,
                        "make", "-C", ROOT, "--no-print-directory", "-o", "all", "install",
                        f"DESTDIR={dest}", "PREFIX=/usr", f"BUILD={BUILD}"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    expect = {
        "usr/sbin/preforkd": (PREFORKD, 0o755),
        "usr/bin/preforkctl": (PREFORKCTL, 0o755),
        "etc/init.d/preforkd": (os.path.join(SCRIPTS, "preforkd.init"), 0o755),
        "lib/systemd/system/preforkd.service": (UNIT, 0o644),
        "lib/systemd/system/preforkd.socket": (SOCKET_UNIT, 0o644),
        "etc/logrotate.d/preforkd": (LOGROTATE, 0o644),
        "usr/share/doc/preforkd/preforkd.conf.example":
            (os.path.join(SCRIPTS, "preforkd.conf.example"), 0o644),
    }
    for rel, (src, mode) in expect.items():
        path = dest / rel
        assert path.is_file(), rel
        assert stat.S_IMODE(path.stat().st_mode) == mode, rel
        if rel.startswith("usr/"):
            assert filecmp.cmp(src, path, shallow=False), rel
    installed = {str(f.relative_to(dest)) for f in dest.rglob("*") if f.is_file()}
    assert set(expect) <= installed
    # Nothing escaped DESTDIR: every path the install created, wrote,
    # renamed, linked, removed or chmod/chowned is under it.
    written = written_paths(trace.read_text(), ROOT)
    assert written, "strace saw no writes at all"
    assert [w for w in written if w != str(dest) and not w.startswith(str(dest) + "/")] == []
    r = subprocess.run([str(dest / "usr/bin/preforkctl"), "-h"], capture_output=True, text=True)
    assert r.returncode == 0 and "exit codes" in r.stdout
    # The installed init script finds the installed preforkctl (../bin)
    # from DAEMON alone.
    env = {"PATH": "/usr/bin:/bin", "PREFORKD_DEFAULTS": str(tmp_path / "none"),
           "DAEMON": str(dest / "usr/sbin/preforkd"), "PIDFILE": str(tmp_path / "p.pid")}
    r = subprocess.run(["sh", str(dest / "etc/init.d/preforkd"), "scale", "3"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stderr) == (
        3, f"preforkctl: preforkd is not running (no pidfile {tmp_path}/p.pid)\n")


def test_example_config_passes_the_check(tmp_path):
    """Every key of the example is accepted by the parser (root and paths
    are pointed at the temp dir, since /var/www may not exist here)."""
    example = os.path.join(SCRIPTS, "preforkd.conf.example")
    lines = []
    for line in open(example):
        m = re.match(r"^\s*#?\s*([a-z_]+)\s*=\s*(.*)$", line)
        if m and not line.lstrip().startswith("#"):
            lines.append(line)
    conf = tmp_path / "example.conf"
    conf.write_text("".join(lines) + f"\nroot = {tmp_path}\nlisten = 127.0.0.1:0\n"
                    "user =\ngroup =\npidfile =\nstatus_pipe =\n"
                    f"error_log = {tmp_path}/e.log\naccess_log = {tmp_path}/a.log\n")
    r = subprocess.run([PREFORKD, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# --- the systemd unit --------------------------------------------------------------

def unit_sections():
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    cp.optionxform = str
    cp.read(UNIT)
    return cp


def test_unit_has_the_keys_operators_expect():
    u = unit_sections()
    svc = u["Service"]
    assert svc["Type"] == "notify"
    assert svc["ExecStart"].split()[:3] == ["/usr/local/sbin/preforkd", "-c",
                                            "/etc/preforkd/preforkd.conf"]
    assert "--daemon=off" in svc["ExecStart"].split()
    # Two ExecReload lines (preforkd -t, then HUP): configparser keeps the last.
    assert svc["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert svc["KillMode"] == "mixed" and svc["KillSignal"] == "SIGTERM"
    assert int(svc["TimeoutStopSec"]) > 30  # graceful_timeout defaults to 30s
    assert svc["Restart"] == "on-failure"
    caps = set(svc["CapabilityBoundingSet"].split())
    assert {"CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_KILL"} <= caps
    for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                       ("ProtectHome", "yes"), ("PrivateTmp", "yes")):
        assert svc[key] == value, key
    assert "PrivateIPC" not in svc  # preforkctl needs the host's message queues
    # RuntimeDirectory for pidfile and FIFO; the rest of /run stays read-only.
    assert svc["RuntimeDirectory"] == "preforkd" and "ReadWritePaths" not in svc
    assert u["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in u["Unit"]["After"].split()


def test_socket_unit_hands_tcp_sockets_to_the_service():
    """Same name as the service (so systemd passes its sockets there), TCP
    listeners only (preforkd refuses anything else), enabled via sockets.target."""
    lines = [l.strip() for l in open(SOCKET_UNIT) if l.strip() and not l.startswith("#")]
    assert "[Socket]" in lines and "[Install]" in lines
    streams = [l.split("=", 1)[1] for l in lines if l.startswith("ListenStream=")]
    assert streams == ["0.0.0.0:80", "[::]:80"]
    assert not [l for l in lines if l.startswith(("ListenDatagram", "Service=", "Accept=yes"))]
    assert "WantedBy=sockets.target" in lines


@pytest.mark.skipif(which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify(tmp_path):
    conf = tmp_path / "preforkd.conf"
    conf.write_text(f"root = {tmp_path}\n")
    text = open(UNIT).read().replace("/usr/local/sbin/preforkd", PREFORKD) \
        .replace("/etc/preforkd/preforkd.conf", str(conf))
    unit = tmp_path / "preforkd.service"
    unit.write_text(text)
    shutil.copy(SOCKET_UNIT, tmp_path / "preforkd.socket")
    r = subprocess.run(["systemd-analyze", "verify", str(unit), str(tmp_path / "preforkd.socket")],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    # Only complaints about this unit count: in a container, systemd may
    # also grumble about the host's own units.
    mine = [l for l in (r.stdout + r.stderr).splitlines() if "preforkd" in l]
    assert mine == [], "\n".join(mine)


# What preforkd calls (supervisor and workers); the unit's filter must allow all.
SYSCALLS = ("openat2 sendfile epoll_create1 epoll_ctl epoll_wait epoll_pwait signalfd4 "
            "mq_open mq_timedsend mq_timedreceive mq_unlink socketpair accept4 setsockopt "
            "writev prctl setgroups setresuid setuid setgid clone clone3 wait4 mknodat "
            "fchown flock getrandom kill setsid pipe2 sendmsg recvmsg newfstatat statx").split()


@pytest.mark.skipif(which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_syscall_filter_allows_what_preforkd_uses():
    listing = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True,
                             text=True, timeout=60).stdout
    groups, cur = {}, None
    for line in listing.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not line.startswith(" ") and s.startswith("@"):
            cur = groups.setdefault(s, [])
        elif cur is not None:
            cur.append(s)

    def expand(name, seen):
        out = set()
        for x in groups.get(name, []):
            if x.startswith("@") and x not in seen:
                seen.add(x)
                out |= expand(x, seen)
            elif not x.startswith("@"):
                out.add(x)
        return out
    allowed = set()
    for entry in unit_sections()["Service"]["SystemCallFilter"].split():
        allowed |= expand(entry, set()) if entry.startswith("@") else {entry}
    assert [s for s in SYSCALLS if s not in allowed] == []


class Notify:
    """The NOTIFY_SOCKET end: a unix datagram socket bound in a temp dir."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.seen = []

    def expect(self, state, timeout=15.0):
        """Waits for a datagram carrying state ("READY=1"); returns it."""
        import time
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {state} within {timeout}s; got {self.seen}")
            self.sock.settimeout(left)
            try:
                msg = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            self.seen.append(msg)
            if state in msg.split("\n"):
                return msg

    def close(self):
        self.sock.close()


def test_notify_ready_reloading_stopping(make_server, short_dir):
    n = Notify(os.path.join(short_dir, "notify"))
    try:
        s = make_server()
        s.start(env={"NOTIFY_SOCKET": n.path}, wait=False)
        n.expect("READY=1")
        # Ready means ready: it serves at once.
        assert http_request(s.port, "/").status in (200, 403, 404)
        s.signal(signal.SIGHUP)
        n.expect("RELOADING=1")
        n.expect("READY=1")
        s.signal(signal.SIGTERM)
        n.expect("STOPPING=1")
        assert s.wait_exit(20) == 0
    finally:
        n.close()


def test_notify_abstract_socket(make_server, tmp_path):
    name = f"preforkd-test-{os.getpid()}-{tmp_path.name}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind("\0" + name)
        sock.settimeout(15)
        s = make_server()
        s.start(env={"NOTIFY_SOCKET": "@" + name}, wait=False)
        msgs = []
        while "READY=1" not in msgs:
            msgs.extend(sock.recv(4096).decode().split("\n"))
        s.stop()
    finally:
        sock.close()


# --- logrotate -------------------------------------------------------------------

def logrotate_stanza():
    text = open(LOGROTATE).read()
    m = re.search(r"^(\S+)\s*\{\n(.*?)^\}", text, re.S | re.M)
    assert m, "no stanza"
    pattern, body = m.group(1), m.group(2)
    post = re.search(r"postrotate\n(.*?)\n\s*endscript", body, re.S)
    assert post, "no postrotate"
    directives = {l.split()[0] for l in body.splitlines()
                  if l.strip() and not l.strip().startswith("#")}
    return pattern, directives, post.group(1)


def test_logrotate_snippet_directives():
    pattern, directives, post = logrotate_stanza()
    assert pattern == "/var/log/preforkd/*.log"
    assert {"daily", "rotate", "compress", "delaycompress", "missingok", "notifempty",
            "sharedscripts", "postrotate", "endscript"} <= directives
    assert "rotate 14" in open(LOGROTATE).read()
    assert "preforkctl -p /run/preforkd/preforkd.pid reopen" in post and "kill" not in post
    assert subprocess.run(["sh", "-n", "-c", post]).returncode == 0


def for_test(text, pidfile):
    """The snippet with this build's preforkctl and a test's pidfile."""
    return text.replace("/usr/local/bin/preforkctl", PREFORKCTL) \
        .replace("/run/preforkd/preforkd.pid", pidfile)


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def rotate_and_check(s, reopen):
    """Requests, rename both logs, reopen(), more requests: the new lines
    land in new files and the old files keep the old lines."""
    assert http_request(s.port, "/before-rotation").status == 404
    wait_for(lambda: "/before-rotation" in read(s.access_log_path), 15,
             what="the first access line")
    os.rename(s.access_log_path, s.access_log_path + ".1")
    os.rename(s.error_log_path, s.error_log_path + ".1")
    reopen()
    wait_for(lambda: "log files reopened" in read(s.error_log_path) or
             os.path.exists(s.error_log_path), 15, what="a new error log")
    # Each worker reopens when its channel delivers the command; until the
    # last one has, a request may still land in the old file, as with nginx.
    wait_for(lambda: not holding(s.workers(), s.access_log_path + ".1"), 15,
             what="every worker to let go of the renamed access log")

    def after():
        http_request(s.port, "/after-rotation")
        return "/after-rotation" in read(s.access_log_path)
    wait_for(after, 15, interval=0.2, what="access lines in the new file")
    assert "/before-rotation" not in read(s.access_log_path)
    assert "/after-rotation" not in read(s.access_log_path + ".1")
    assert "/before-rotation" in read(s.access_log_path + ".1")


def test_logrotate_postrotate_reopens_logs(server):
    _, _, post = logrotate_stanza()
    script = for_test(post, server.pidfile)

    def run_postrotate():
        r = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
    rotate_and_check(server, run_postrotate)


def test_preforkctl_reopen_reopens_logs(server):
    def ctl_reopen():
        r = subprocess.run([PREFORKCTL, "-c", server.conf_path, "reopen"], capture_output=True,
                           text=True, timeout=30)
        assert (r.returncode, r.stderr) == (0, "")
    rotate_and_check(server, ctl_reopen)


def test_postrotate_without_a_server_succeeds(tmp_path):
    _, _, post = logrotate_stanza()
    script = for_test(post, str(tmp_path / "none.pid"))
    assert subprocess.run(["sh", "-c", script]).returncode == 0


@pytest.mark.skipif(which("logrotate") is None, reason="logrotate is not installed")
def test_logrotate_itself(server, tmp_path):
    text = for_test(open(LOGROTATE).read().replace(
        "/var/log/preforkd", os.path.dirname(server.access_log_path)), server.pidfile)
    conf = tmp_path / "logrotate.conf"
    conf.write_text(text)
    state = tmp_path / "state"

    def run_logrotate():
        r = subprocess.run([which("logrotate"), "-f", "-s", str(state), str(conf)], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    rotate_and_check_logrotate(server, run_logrotate)


def rotate_and_check_logrotate(s, rotate):
    assert http_request(s.port, "/before-rotation").status == 404
    wait_for(lambda: "/before-rotation" in read(s.access_log_path), 15, what="the first line")
    rotate()
    wait_for(lambda: os.path.exists(s.access_log_path + ".1"), 5, what="the rotated file")

    def after():
        http_request(s.port, "/after-rotation")
        return "/after-rotation" in read(s.access_log_path)
    wait_for(after, 15, interval=0.2, what="access lines in the new file")
    assert "/before-rotation" in read(s.access_log_path + ".1")

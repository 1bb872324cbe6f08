"""Integration test support: start the real build/preforkd, talk to it over
real sockets, signals and its status pipe, and clean up every process, FIFO
and message queue even when a test fails.

Everything here is stdlib-only; Debian's python3-pytest runs it.
"""
import errno
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from unittest import mock

import pytest

BUILD = os.environ.get("PREFORKD_BUILD") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
BUILD = os.path.abspath(BUILD)
PREFORKD = os.path.join(BUILD, "preforkd")
PREFORKCTL = os.path.join(BUILD, "preforkctl")
MQUEUE_DIR = "/dev/mqueue"
SANITIZED = os.path.basename(BUILD) == "asan"
SANITIZER_REPORT = re.compile(r"ERROR: \w*Sanitizer|runtime error: |SUMMARY: \w*Sanitizer")
# Server.signal (a method) hides the module inside the class body.
_SIGTERM = signal.SIGTERM
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def which(name):
    """shutil.which that also looks in the sbin directories, which a
    non-root user's PATH often lacks (start-stop-daemon, logrotate)."""
    path = os.environ.get("PATH", "") + os.pathsep + os.pathsep.join(SBIN_DIRS)
    return shutil.which(name, path=path)


def public_dir(prefix="pf-"):
    """A fresh 0755 directory under /tmp, so that another user (nobody)
    can reach what a test puts there whatever the mode of the checkout's
    or TMPDIR's parents; its path is short enough for AF_UNIX sockets
    (108 bytes) whatever TMPDIR is. The caller removes it."""
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o755)
    return d


def stage_binaries(directory):
    """Copies preforkd and preforkctl of this build into directory (mode
    0755) and returns their paths, for tests that run them as another user:
    the build directory may sit in a 0700 folder (root's home, mktemp -d)."""
    out = []
    for src in (PREFORKD, PREFORKCTL):
        dst = os.path.join(directory, os.path.basename(src))
        shutil.copy(src, dst)
        os.chmod(dst, 0o755)
        out.append(dst)
    return tuple(out)


# --- waiting -----------------------------------------------------------------

def wait_for(predicate, timeout=10.0, interval=0.02, what=None):
    """Polls predicate until it returns something truthy; returns that value.
    Raises AssertionError (naming `what`) at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


# --- processes ---------------------------------------------------------------

def _proc_stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return rest  # rest[0] = state, rest[1] = ppid
    except (OSError, IndexError):
        return None


def alive(pid):
    """True for a live process (zombies count as gone)."""
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def children(pid):
    """Live child pids of pid."""
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = _proc_stat(d)
            if st and int(st[1]) == pid and st[0] not in ("Z", "X"):
                kids.append(int(d))
    return sorted(kids)


def ctx_switches(pid):
    """(voluntary, involuntary) context switches of pid: each time it
    blocked (in epoll_wait, say), and each time it was preempted. A loop
    that spins never blocks, so its voluntary count stands still."""
    with open(f"/proc/{pid}/status") as f:
        out = dict(line.split(":", 1) for line in f if "ctxt_switches" in line)
    return int(out["voluntary_ctxt_switches"]), int(out["nonvoluntary_ctxt_switches"])


def cpu_seconds(pid):
    """User plus system CPU time pid has used, in seconds."""
    st = _proc_stat(pid)
    return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")


def start_with_rlimits(server, limits):
    """Starts server under limits ({resource.RLIMIT_X: (soft, hard)}), as
    `ulimit` would."""
    real = subprocess.Popen

    def preexec():
        for which, pair in limits.items():
            resource.setrlimit(which, pair)

    def popen(*a, **k):
        k["preexec_fn"] = preexec
        return real(*a, **k)
    with mock.patch.object(subprocess, "Popen", popen):
        server.start()


def start_with_nofile(server, soft, hard):
    """Starts server with RLIMIT_NOFILE (soft, hard), as `ulimit -n` would."""
    start_with_rlimits(server, {resource.RLIMIT_NOFILE: (soft, hard)})


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def fd_links(pid):
    """What pid's open descriptors point at ("socket:[123]", paths...);
    empty when pid is gone."""
    out = []
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return out
    for fd in fds:
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return out


def socket_inodes(pid):
    return {l[8:-1] for l in fd_links(pid) if l.startswith("socket:[")}


def tcp_sockets():
    """(local port, remote port, state, inode) of every IPv4 and IPv6 TCP
    socket, from /proc/net; state "0A" is LISTEN."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                col = line.split()
                out.append((int(col[1].rsplit(":", 1)[1], 16),
                            int(col[2].rsplit(":", 1)[1], 16), col[3], col[9]))
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_mqueue_mounted():
    if os.path.ismount(MQUEUE_DIR) or os.geteuid() != 0:
        return
    os.makedirs(MQUEUE_DIR, exist_ok=True)
    subprocess.run(["mount", "-t", "mqueue", "none", MQUEUE_DIR], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


QUEUE_SUFFIXES = ("stats", "ctl")
_SEEN_PIDS = set()  # supervisors this run started, for the check by name


def _queue_exists(name):
    """Asks the kernel by name (mq_open without O_CREAT), which works
    without /dev/mqueue mounted: ENOENT means gone, anything else exists."""
    import ctypes
    rt = ctypes.CDLL("librt.so.1", use_errno=True)
    q = rt.mq_open(f"/{name}".encode(), os.O_RDONLY | os.O_NONBLOCK)
    if q >= 0:
        rt.mq_close(q)
        return True
    return ctypes.get_errno() != errno.ENOENT


def mqueues(pid=None):
    """Names of preforkd queues (all, or one supervisor's). Listed from
    /dev/mqueue when it is mounted; otherwise probed by name, for one pid
    or for every supervisor this run has seen, so that the leftover check
    never silently checks nothing."""
    if os.path.ismount(MQUEUE_DIR):
        prefix = "preforkd." if pid is None else f"preforkd.{pid}."
        return sorted(n for n in os.listdir(MQUEUE_DIR) if n.startswith(prefix))
    pids = [pid] if pid is not None else sorted(_SEEN_PIDS)
    return sorted(f"preforkd.{p}.{x}" for p in pids for x in QUEUE_SUFFIXES
                  if _queue_exists(f"preforkd.{p}.{x}"))


# --- HTTP client --------------------------------------------------------------

class Response:
    def __init__(self, status, reason, headers, body, raw_headers):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body
        self.raw_headers = raw_headers  # list of (name, value) in order

    def __iter__(self):  # allows: status, headers, body = http_request(...)
        return iter((self.status, self.headers, self.body))


class _Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by server")
        self.buf += chunk

    def line(self):
        while b"\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def rest(self):
        while True:
            try:
                self._fill()
            except ConnectionError:
                data, self.buf = self.buf, b""
                return data


def read_response(reader, method="GET"):
    """Reads one HTTP response from a _Reader."""
    status_line = reader.line()
    parts = status_line.decode("latin-1").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"bad status line {status_line!r}")
    status, reason = int(parts[1]), parts[2] if len(parts) > 2 else ""
    headers, raw = {}, []
    while True:
        line = reader.line()
        if not line:
            break
        name, _, value = line.decode("latin-1").partition(":")
        raw.append((name, value.strip()))
        headers[name.strip().lower()] = value.strip()
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        body = b""
    elif "content-length" in headers:
        body = reader.exact(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int(reader.line().split(b";")[0], 16)
            if size == 0:
                while reader.line():
                    pass
                break
            body += reader.exact(size)
            reader.line()
    else:
        body = reader.rest()
    return Response(status, reason, headers, body, raw)


def _request_bytes(path, method, headers, version, body):
    hdrs = {"Host": "127.0.0.1"}
    hdrs.update(headers or {})
    if body is not None and "Content-Length" not in hdrs:
        hdrs["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/{version}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in hdrs.items() if v is not None) + "\r\n"
    return head.encode("latin-1") + (body or b"")


class HttpClient:
    """One keep-alive connection: client.request(...) -> Response."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.reader = _Reader(self.sock)

    def request(self, path, method="GET", headers=None, version="1.1", body=None):
        self.sock.sendall(_request_bytes(path, method, headers, version, body))
        return read_response(self.reader, method)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def http_request(port, path, method="GET", headers=None, version="1.1", body=None,
                 host="127.0.0.1", timeout=10.0):
    """One request on a new connection (Connection: close unless headers say
    otherwise). Returns a Response, which also unpacks as (status, headers, body)."""
    h = {"Connection": "close"}
    h.update(headers or {})
    with HttpClient(port, host, timeout) as c:
        return c.request(path, method, h, version, body)


def bytes_until_eof(sock):
    """How many more bytes sock delivers before the peer closes (within the
    socket's own timeout for each read)."""
    total = 0
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            return total
        total += len(chunk)


class StalledDownload:
    """A GET of a large sparse file whose client reads only the head and
    then stops reading (4 KiB receive buffer): a request in flight that a
    graceful stop waits for and a fast stop cuts short."""
    SIZE = 32 * 1024 * 1024

    def __init__(self, server, name="stalled.bin"):
        path = os.path.join(server.root, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.truncate(self.SIZE)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", server.port))
        self.sock.sendall(f"GET /{name} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            assert chunk, "closed before the head"
            head += chunk
        assert head.startswith(b"HTTP/1.1 200 "), head[:80]
        self.got = len(head.split(b"\r\n\r\n", 1)[1])

    def rest(self):
        """Reads to the end; returns the body bytes received in all. A
        reset counts as an end (a cut-short transfer may be reset)."""
        try:
            self.got += bytes_until_eof(self.sock)
        except ConnectionResetError:
            pass
        return self.got

    def close(self):
        self.sock.close()


def raw_exchange(port, data, timeout=5.0, host="127.0.0.1"):
    """Sends raw bytes, returns everything received until the server closes
    or timeout seconds pass without data. A reset is an error, not an end:
    the README promises that a client sees a closing response in full."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        if data:
            s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out


# --- the server under test ----------------------------------------------------

class Server:
    """A preforkd started from a generated config in a temp directory."""

    def __init__(self, tmp, **keys):
        self.dir = str(tmp)
        self.root = os.path.join(self.dir, "www")
        os.makedirs(self.root, exist_ok=True)
        self.port = free_port()
        self.conf_path = os.path.join(self.dir, "preforkd.conf")
        self.pidfile = os.path.join(self.dir, "preforkd.pid")
        self.status_path = os.path.join(self.dir, "status")
        self.error_log_path = os.path.join(self.dir, "error.log")
        self.access_log_path = os.path.join(self.dir, "access.log")
        self.keys = {
            "listen": f"127.0.0.1:{self.port}",
            "root": self.root,
            "workers": "2",
            "pidfile": self.pidfile,
            "status_pipe": self.status_path,
            "status_interval": "100ms",
            "error_log": self.error_log_path,
            "access_log": self.access_log_path,
            "graceful_timeout": "10s",
        }
        self.keys.update({k: str(v) if v is not None else None for k, v in keys.items()})
        self.proc = None
        self.pid = None
        self.write_config()

    def write_config(self, **changes):
        """(Re)writes the config file; a value of None drops the key. A list
        value writes the key once per element (e.g. several listen lines)."""
        self.keys.update(changes)
        with open(self.conf_path, "w") as f:
            for k, v in self.keys.items():
                if v is None:
                    continue
                for one in (v if isinstance(v, list) else [v]):
                    f.write(f"{k} = {one}\n")

    def start(self, args=(), wait=True, env=None, activate=None):
        """activate: an object with fileno() handed over as systemd does
        (fd 3, LISTEN_FDS=1, LISTEN_PID naming preforkd; env may override
        both)."""
        e = dict(os.environ)
        e.update(env or {})
        cmd = [PREFORKD, "-c", self.conf_path, *args]
        extra = {}
        if activate is not None:
            fd = activate.fileno()
            cmd = ["sh", "-c", 'LISTEN_PID=${LISTEN_PID:-$$} LISTEN_FDS=${LISTEN_FDS:-1} '
                   'exec "$@"', "sh", *cmd]
            extra = dict(pass_fds=(3,), preexec_fn=lambda: os.dup2(fd, 3))
        self.stdout = open(os.path.join(self.dir, "stdout"), "wb")
        self.stderr = open(os.path.join(self.dir, "stderr"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.stdout, stderr=self.stderr,
                                     stdin=subprocess.DEVNULL, env=e, start_new_session=True,
                                     **extra)
        self.pid = self.proc.pid
        _SEEN_PIDS.add(self.pid)
        if wait:
            self.wait_serving()
        return self

    def wait_serving(self, timeout=15):
        def up():
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"preforkd exited with {self.proc.returncode}: "
                                     f"{self.error_log()}{self.stderr_text()}")
            try:
                return http_request(self.port, "/", timeout=2).status > 0
            except (OSError, ValueError):
                return False
        wait_for(up, timeout, what="preforkd to serve")
        return self

    def workers(self):
        return children(self.pid)

    def wait_workers(self, n, timeout=15):
        return wait_for(lambda: len(self.workers()) == n and self.workers(), timeout,
                        what=f"{n} workers")

    def signal(self, sig):
        os.kill(self.pid, sig)

    def snapshot(self, timeout=5.0, pred=None):
        """Reads one JSON snapshot from the status pipe (or, with pred, the
        first that satisfies it, within timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            snap = read_status_line(self.status_path, max(0.1, deadline - time.monotonic()))
            if pred is None or pred(snap):
                return snap
            if time.monotonic() >= deadline:
                raise AssertionError(f"no snapshot satisfied the predicate; last: {snap}")
            time.sleep(0.05)

    def error_log(self):
        try:
            with open(self.error_log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stderr_text(self):
        try:
            with open(os.path.join(self.dir, "stderr"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_exit(self, timeout=20):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("preforkd did not exit in time")

    def stop(self, sig=_SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.signal(sig)
            return self.wait_exit(timeout)
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        """Kills everything this server started and removes its queues. The
        sanitizer build first asks for a graceful stop, so that workers run
        LeakSanitizer on the way out (a SIGKILLed one cannot)."""
        if SANITIZED and self.proc is not None and self.proc.poll() is None:
            try:
                self.signal(_SIGTERM)
                self.proc.wait(3)
            except (OSError, subprocess.TimeoutExpired):
                pass
        pids = set()
        if self.pid:
            pids.add(self.pid)
            pids.update(children(self.pid))
        try:
            with open(self.pidfile) as f:
                dpid = int(f.read().strip() or 0)
            if dpid > 0 and exe(dpid) == PREFORKD:
                _SEEN_PIDS.add(dpid)
                pids.add(dpid)
                pids.update(children(dpid))
        except (OSError, ValueError):
            pass
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        if self.proc:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for p in pids:
            wait_for(lambda: not alive(p), 5, what=f"pid {p} to die")
            for q in mqueues(p):
                _unlink_queue(q)
        for f in ("stdout", "stderr"):
            if getattr(self, f, None):
                getattr(self, f).close()
        self.assert_no_sanitizer_report()

    def assert_no_sanitizer_report(self):
        """A worker that trips ASan/UBSan/LSan after answering dies quietly
        and is respawned; its report on stderr is the only trace left."""
        text = self.stderr_text() + self.error_log()
        found = [l for l in text.splitlines() if SANITIZER_REPORT.search(l)]
        assert found == [], "sanitizer report:\n" + text[-4000:]


def _unlink_queue(name):
    import ctypes
    ctypes.CDLL("librt.so.1", use_errno=True).mq_unlink(f"/{name}".encode())


def read_status_line(path, timeout=5.0):
    """Opens the status FIFO as a reader and returns the first JSON snapshot."""
    text = read_status_bytes(path, lambda b: b"\n" in b, timeout)
    return json.loads(text.split(b"\n", 1)[0])


def read_status_bytes(path, done, timeout=5.0):
    """Reads from the FIFO until done(bytes) is true or the deadline."""
    deadline = time.monotonic() + timeout
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    buf = b""
    try:
        while not done(buf):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no complete status from {path} in {timeout}s; got {buf[:200]!r}")
            r, _, _ = select.select([fd], [], [], min(left, 0.05))
            if r:
                try:
                    chunk = os.read(fd, 1 << 20)
                except OSError as e:
                    if e.errno == errno.EAGAIN:
                        continue
                    raise
                if chunk:
                    buf += chunk
                else:
                    time.sleep(0.01)  # no writer attached yet
        return buf
    finally:
        os.close(fd)


@pytest.fixture
def make_server(tmp_path):
    """Factory: make_server(**config_keys) -> Server (not started)."""
    servers = []
    count = [0]

    def factory(**keys):
        count[0] += 1
        d = tmp_path / f"srv{count[0]}"
        d.mkdir()
        s = Server(d, **keys)
        servers.append(s)
        return s

    yield factory
    for s in servers:
        s.cleanup()


@pytest.fixture
def short_dir():
    """A fresh 0755 directory with a short path (/tmp/pf-XXXXXXXX), for
    AF_UNIX socket paths (at most 107 bytes, which a long TMPDIR under
    tmp_path can exceed) and for files another user must reach."""
    d = public_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def server(make_server):
    """A started server with the default test config."""
    return make_server().start()


SAN_LOG_DIR = None


def _sanitizer_logs_to_files():
    """A daemonized preforkd has stderr on /dev/null, and the init script
    and preforkctl run outside the Server harness: send every sanitizer
    report of this run to files (log_path=DIR/asan.PID) that the check
    after each test reads. The directory is world-writable (sticky) because
    workers that dropped to nobody report too."""
    global SAN_LOG_DIR
    SAN_LOG_DIR = public_dir("pf-san-")
    os.chmod(SAN_LOG_DIR, 0o1777)
    for var, name in (("ASAN_OPTIONS", "asan"), ("UBSAN_OPTIONS", "ubsan")):
        old = os.environ.get(var, "")
        path = os.path.join(SAN_LOG_DIR, name)
        os.environ[var] = (old + ":" if old else "") + f"log_path={path}"


def sanitizer_reports():
    """{file name: text} of the report files that name a sanitizer error."""
    out = {}
    if SAN_LOG_DIR is None:
        return out
    for name in sorted(os.listdir(SAN_LOG_DIR)):
        with open(os.path.join(SAN_LOG_DIR, name), errors="replace") as f:
            text = f.read()
        if SANITIZER_REPORT.search(text):
            out[name] = text
    return out


@pytest.fixture(autouse=True)
def _no_sanitizer_reports():
    """Fails the test after which a new sanitizer report file appeared
    (torn down after the servers, so reports made while stopping count)."""
    before = set(sanitizer_reports())
    yield
    new = {k: v for k, v in sanitizer_reports().items() if k not in before}
    assert new == {}, "sanitizer report:\n" + "\n".join(v[-4000:] for v in new.values())


def pytest_sessionstart(session):
    _ensure_mqueue_mounted()
    if SANITIZED:
        _sanitizer_logs_to_files()
    if not os.access(PREFORKD, os.X_OK):
        raise pytest.UsageError(f"{PREFORKD} is not built: run make")


def pytest_sessionfinish(session):
    if SAN_LOG_DIR is not None and not sanitizer_reports():
        shutil.rmtree(SAN_LOG_DIR, ignore_errors=True)


def holding(pids, path):
    """The pids among these that have path open."""
    return [pid for pid in pids if path in fd_links(pid)]


def default_signals(*ignored):
    """A preexec_fn: the signals preforkctl and the init script send get
    their default action in the child, whatever this run inherited (nohup
    ignores HUP, and an ignored signal stays ignored across exec); those
    named in ignored are ignored instead."""
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM,
                signal.SIGUSR1, signal.SIGUSR2, signal.SIGTTIN, signal.SIGTTOU):
        signal.signal(sig, signal.SIG_IGN if sig in ignored else signal.SIG_DFL)


def fake_preforkd(directory, pidfile="p.pid", ignore=()):
    """A live stand-in for preforkd where a real one is not needed: a copy
    of sleep named preforkd (the name preforkctl and the init script look
    for in /proc/PID/exe, so a shell cannot do), with default signal actions
    except those in ignore, and a pidfile (mode 0644) naming it. Returns
    (Popen, pidfile path); the caller kills it."""
    exe_path = os.path.join(directory, "preforkd")
    if not os.path.exists(exe_path):
        shutil.copy("/bin/sleep", exe_path)
    p = subprocess.Popen([exe_path, "300"], preexec_fn=lambda: default_signals(*ignore))
    path = os.path.join(directory, pidfile)
    with open(path, "w") as f:
        f.write(f"{p.pid}\n")
    os.chmod(path, 0o644)
    return p, path


def exe(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def _our_processes():
    """Live processes running a binary of this build (setproctitle rewrites
    cmdline, so the executable is what identifies them)."""
    return [int(d) for d in os.listdir("/proc")
            if d.isdigit() and alive(d) and exe(d).startswith(BUILD + "/")]


def _leaked_queues(before):
    """Queues that appeared during the run and whose supervisor is gone: a
    live preforkd elsewhere on the machine (another checkout) is not ours."""
    leaked = []
    for q in mqueues():
        pid = q.split(".")[1]
        if q not in before and not (pid.isdigit() and alive(int(pid))):
            leaked.append(q)
    return leaked


@pytest.fixture(autouse=True, scope="session")
def _no_leftovers():
    """After the whole run: no preforkd process of this build and no queue left."""
    before = set(mqueues())
    yield
    if _our_processes():
        wait_for(lambda: not _our_processes(), 10, what="no leftover preforkd processes")
    assert _leaked_queues(before) == [], f"leftover message queues: {_leaked_queues(before)}"

"""Shared helpers for scripts/bench and scripts/chaos: the process tree and its
cost in /proc, servers started in their own process group and always killed,
free ports, the docroot and a minimal HTTP/1.1 client.

Python 3 standard library only (run with /usr/bin/python3). Traffic goes to
127.0.0.1 only.
"""
import atexit
import os
import resource
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BUILD = os.environ.get("PREFORKD_BUILD") or os.path.join(REPO, "build")
PREFORKD = os.path.join(BUILD, "preforkd")
PREFORKCTL = os.path.join(BUILD, "preforkctl")
SHARED_BENCH = os.path.join(os.path.dirname(REPO), "shared", "bench")
MQUEUE_DIR = "/dev/mqueue"
TICK = os.sysconf("SC_CLK_TCK")


# --- /proc ---------------------------------------------------------------------

def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (index 0 = state)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid):
    st = _stat_fields(pid)
    return st is not None and st[0] not in ("Z", "X")


def _children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = _stat_fields(d)
            if st and st[0] not in ("Z", "X"):
                kids.setdefault(int(st[1]), []).append(int(d))
    return kids


def children(pid):
    """Live child pids of pid, sorted."""
    return sorted(_children_map().get(pid, []))


def tree(pid):
    """pid and all its live descendants."""
    kids, out, todo = _children_map(), [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def tree_cpu_ticks(pid):
    """utime+stime of pid's tree, plus cutime+cstime (children already reaped)."""
    total = 0
    for p in tree(pid):
        st = _stat_fields(p)
        if st:
            total += sum(int(x) for x in st[11:15])
    return total


def tree_pss_kib(pid):
    """Proportional set size of pid's tree, KiB (shared pages counted once)."""
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def socket_inodes(pid):
    """Inodes of the sockets pid holds open."""
    out = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                out.add(int(link[8:-1]))
    except OSError:
        pass
    return out


def peer_ports(pid, server_port):
    """Client-side ports of the TCP connections to server_port that pid holds:
    which of our client connections a given worker is serving."""
    inodes = socket_inodes(pid)
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    col = line.split()
                    local, remote, inode = col[1], col[2], int(col[9])
                    if inode in inodes and int(local.rsplit(":", 1)[1], 16) == server_port:
                        ports.add(int(remote.rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def listen_queue(port):
    """Connections waiting in the accept queue of the listener on port."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    col = line.split()
                    if col[3] == "0A" and int(col[1].rsplit(":", 1)[1], 16) == port:
                        return int(col[4].split(":")[1], 16)
        except OSError:
            pass
    return -1


def read_snapshot(path, timeout=5.0):
    """The first JSON snapshot from a status FIFO, or None by the deadline."""
    import json
    import select
    deadline = time.monotonic() + timeout
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    buf = b""
    try:
        while b"\n" not in buf and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    chunk = os.read(fd, 1 << 20)
                except BlockingIOError:
                    continue
                if chunk:
                    buf += chunk
                else:
                    time.sleep(0.02)  # no writer attached yet
    finally:
        os.close(fd)
    try:
        return json.loads(buf.split(b"\n", 1)[0]) if b"\n" in buf else None
    except ValueError:
        return None


# --- environment ----------------------------------------------------------------

def raise_nofile(want):
    """Raises RLIMIT_NOFILE to want (the hard limit too when root and needed);
    servers started afterwards inherit it. Returns the soft limit reached."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want and os.geteuid() == 0:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            pass
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def ensure_mqueue_mounted():
    """preforkd's queues live in /dev/mqueue; containers do not always mount it."""
    if os.path.ismount(MQUEUE_DIR) or os.geteuid() != 0:
        return
    os.makedirs(MQUEUE_DIR, exist_ok=True)
    subprocess.run(["mount", "-t", "mqueue", "none", MQUEUE_DIR], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


TCP_CC = "/proc/sys/net/ipv4/tcp_congestion_control"


def tcp_congestion():
    """The kernel's default TCP congestion control, '' when unreadable."""
    try:
        with open(TCP_CC) as f:
            return f.read().strip()
    except OSError:
        return ""


def set_tcp_congestion(name):
    """Makes name the default for new connections until we exit (root only);
    the old one is put back by kill_all, on exit or signal. Exits with a
    message when the kernel refuses it."""
    old = tcp_congestion()
    if name == old:
        return
    try:
        with open(TCP_CC, "w") as f:
            f.write(name)
    except OSError as e:
        sys.exit(f"bench: cannot set {TCP_CC} to {name!r}: {e.strerror}")

    def restore():
        with open(TCP_CC, "w") as f:
            f.write(old)
    _cleanups.append(restore)


def unlink_queues(pid):
    """Removes the queues of a supervisor we had to SIGKILL."""
    try:
        names = os.listdir(MQUEUE_DIR)
    except OSError:
        return
    for n in names:
        if n.startswith(f"preforkd.{pid}."):
            try:
                os.unlink(os.path.join(MQUEUE_DIR, n))
            except OSError:
                pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, proc=None):
    """True once 127.0.0.1:port accepts a connection."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_for(pred, timeout, interval=0.02):
    """Polls pred until truthy or timeout; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(interval)


def make_docroot(root, files):
    """files: {name: size}. Rewrites a file only when its size is wrong."""
    os.makedirs(root, exist_ok=True)
    for name, size in files.items():
        p = os.path.join(root, name)
        if not os.path.exists(p) or os.path.getsize(p) != size:
            with open(p, "wb") as f:
                chunk = b"0123456789abcdef" * 4096
                left = size
                while left > 0:
                    f.write(chunk[:min(left, len(chunk))])
                    left -= len(chunk)


# --- servers we start -------------------------------------------------------------

_running = []


class Proc:
    """A server in its own session/process group; stop() kills the whole group."""

    def __init__(self, argv, log_path=None, cpu=None):
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + list(argv)
        self.argv = argv
        self.log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                      stderr=self.log, start_new_session=True)
        self.pid = self.popen.pid
        _running.append(self)

    def poll(self):
        return self.popen.poll()

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """sig to the leader, wait, then SIGKILL whatever is left of the group."""
        pids = tree(self.pid)
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, sig)
                self.popen.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        for p in pids:
            wait_for(lambda: not alive(p), 2)
        return self.popen.returncode

    def kill(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        unlink_queues(self.pid)
        if self in _running:
            _running.remove(self)
        if self.log is not subprocess.DEVNULL:
            self.log.close()
            self.log = subprocess.DEVNULL


_cleanups = []


def at_cleanup(fn):
    """fn() runs after every server is killed, on exit or on a signal."""
    _cleanups.append(fn)


def kill_all():
    for p in list(_running):
        p.kill()
    while _cleanups:
        _cleanups.pop()()


def _on_signal(signum, frame):
    kill_all()
    print(f"\ninterrupted by signal {signum}; every server started was killed", file=sys.stderr)
    os._exit(130)


def install_cleanup():
    """Kill every server we started on exit, Ctrl-C, TERM or HUP."""
    atexit.register(kill_all)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)


def preforkd_argv(port, root, tmp, workers=1, extra=()):
    """preforkd in the foreground with its files under tmp."""
    return [PREFORKD, f"--listen=127.0.0.1:{port}", f"--root={root}", f"--workers={workers}",
            "--access-log=off", f"--error-log={tmp}/error.log",
            f"--status-pipe={tmp}/status", f"--pidfile={tmp}/preforkd.pid", *extra]


def template_argv(template, **values):
    """--server-cmd 'CMD {port} {root} ...' -> argv."""
    return [w.format(**values) for w in template.split()]


# --- a minimal HTTP/1.1 client -------------------------------------------------

class HttpError(Exception):
    """kind: connect (refused or timed out), reset (RST before any response
    byte, or the request could not be sent), closed (EOF before any response
    byte), short (closed mid-response), timeout, status (non-2xx), bad."""

    def __init__(self, kind, detail=""):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


def request_bytes(path, close=False):
    conn = "Connection: close\r\n" if close else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{conn}\r\n".encode()


class Conn:
    """One keep-alive connection. get() returns (status, keep_open, body_len)
    or raises HttpError; the caller must then drop the connection."""

    def __init__(self, port, timeout=5.0):
        try:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except socket.timeout as e:
            raise HttpError("connect", "timeout") from e
        except OSError as e:
            raise HttpError("connect", e.strerror or str(e)) from e
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = self.sock.getsockname()[1]
        self.buf = b""

    def close(self):
        self.sock.close()

    def _recv(self, started):
        try:
            chunk = self.sock.recv(262144)
        except socket.timeout as e:
            raise HttpError("timeout", "no response data") from e
        except ConnectionResetError as e:
            raise HttpError("short" if started else "reset", "reset by server") from e
        except OSError as e:
            raise HttpError("short" if started else "reset", e.strerror or str(e)) from e
        if not chunk:
            raise HttpError("short" if started else "closed", "closed by server")
        return chunk

    def get(self, path, close=False, pace=None):
        """pace(nbytes) is called while reading a body (slow readers)."""
        try:
            self.sock.sendall(request_bytes(path, close))
        except OSError as e:
            raise HttpError("reset", "send: " + (e.strerror or str(e))) from e
        while b"\r\n\r\n" not in self.buf:
            self.buf += self._recv(bool(self.buf))
        head, body = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise HttpError("bad", lines[0][:60])
        status = int(parts[1])
        hdr = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdr[k.strip().lower()] = v.strip()
        if "content-length" not in hdr:
            raise HttpError("bad", "no Content-Length")
        length = int(hdr["content-length"])
        need = length - len(body)
        self.buf = body[length:] if need < 0 else b""
        while need > 0:
            if pace:
                pace(length - need)
            chunk = self._recv(True)
            if len(chunk) > need:
                self.buf = chunk[need:]
            need -= len(chunk)
        keep = hdr.get("connection", "").lower() != "close" and parts[0] != "HTTP/1.0"
        if not 200 <= status < 300:
            raise HttpError("status", str(status))
        return status, keep, length

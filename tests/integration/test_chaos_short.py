"""The correctness part of scripts/chaos, shortened (issue 8 item 2): a
background load of GET requests runs while the supervisor is reloaded,
scaled, stopped, has a worker killed, or is flooded with idle connections.

Every request is counted once and never retried. A failed request is a reset,
an EOF before or in the middle of a response, a timeout or a non-2xx status.
A client that races a server-side close of an idle keep-alive connection is a
real failure too: the server must not close a connection a client may be
reusing while it stays up (docs/ARCHITECTURE.md: Signals: reload and scale retire gracefully).

Counts are asserted, never durations; every loop is bounded.
"""
import os
import signal
import socket
import subprocess
import threading
import time

from conftest import (PREFORKCTL, SANITIZED, HttpClient, http_request, socket_inodes, tcp_sockets,
                      wait_for)

SMALL_SIZE = 1024
LARGE_SIZE = (8 << 20) if SANITIZED else (32 << 20)
MAX_REQUESTS_PER_THREAD = 200000   # a bound only; the stop event ends the load


def make_files(root):
    with open(os.path.join(root, "small.html"), "wb") as f:
        f.write(b"s" * SMALL_SIZE)
    with open(os.path.join(root, "large.bin"), "wb") as f:
        chunk = b"0123456789abcdef" * 65536
        for _ in range(LARGE_SIZE // len(chunk)):
            f.write(chunk)


def server_side(server_port, client_port):
    """Who holds the server end of a connection that timed out, and in what
    state ('R', 'S', 'T' stopped...): the one clue a timeout leaves."""
    inodes = [i for lp, rp, _, i in tcp_sockets() if (lp, rp) == (server_port, client_port)]
    if not inodes:
        return "no server socket"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if inodes[0] in socket_inodes(pid):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    return f"pid {pid} state {f.read().rsplit(')', 1)[1].split()[0]}"
            except OSError:
                continue
    return f"socket {inodes[0]} held by no process"


class Load:
    """`keepalive` threads each on one keep-alive connection, plus `close`
    threads opening a connection per request. Each failure is recorded as
    (time, client port, kind, connection was reused)."""

    def __init__(self, port, keepalive=3, close=1, path="/small.html", size=SMALL_SIZE):
        self.port, self.path, self.size = port, path, size
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.failed = []
        self.threads = [threading.Thread(target=self._run, args=(c,), daemon=True)
                        for c in [False] * keepalive + [True] * close]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(20)
        assert not any(t.is_alive() for t in self.threads), "load threads did not stop"
        return self

    def wait_ok(self, n, timeout=10):
        """Waits until at least n requests succeeded (the load is running)."""
        wait_for(lambda: self.ok >= n, timeout, what=f"{n} good requests")

    def _one(self, conn, close):
        """One request; returns whether the connection may be reused."""
        hdrs = {"Connection": "close"} if close else None
        r = conn.request(self.path, headers=hdrs)
        if not 200 <= r.status < 300:
            raise ValueError(f"status {r.status}")
        if len(r.body) != self.size:
            raise ValueError(f"short body {len(r.body)}")
        return not close and r.headers.get("connection", "").lower() != "close"

    def _run(self, close):
        conn, sent = None, 0
        while not self.stop_ev.is_set() and sent < MAX_REQUESTS_PER_THREAD:
            sent += 1
            reused, port = conn is not None, 0
            try:
                if conn is None:
                    conn = HttpClient(self.port, timeout=10)
                port = conn.sock.getsockname()[1]
                keep = self._one(conn, close)
                with self.lock:
                    self.ok += 1
            except (OSError, ValueError) as e:  # ConnectionError is an OSError
                who = server_side(self.port, port) if isinstance(e, TimeoutError) else ""
                with self.lock:
                    self.failed.append((time.monotonic(), port, repr(e), reused, who))
                keep = False
            if not keep and conn is not None:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()


def settle_requests(srv, expected, timeout=20):
    """totals.requests reaches exactly `expected` and stays there two
    intervals later."""
    snap = srv.snapshot(timeout=timeout, pred=lambda x: x["totals"]["requests"] >= expected)
    assert snap["totals"]["requests"] == expected
    for _ in range(2):
        snap = srv.snapshot(pred=lambda x, t=snap["uptime_s"]: x["uptime_s"] > t)
        assert snap["totals"]["requests"] == expected
    return snap


def started(make_server, **keys):
    s = make_server(**keys)
    make_files(s.root)
    return s.start()


def test_reload_storm_fails_nothing_and_counts_exactly(make_server):
    s = started(make_server, workers=2)
    settle_requests(s, 1)                      # the start-up probe
    load = Load(s.port).start()
    load.wait_ok(20)
    for _ in range(8):
        s.signal(signal.SIGHUP)
        time.sleep(0.3)                        # the storm's pace, not a wait for state
    load.wait_ok(load.ok + 20)                 # still serving after the last reload
    load.stop()
    assert load.failed == [], f"{len(load.failed)} failed of {load.ok + len(load.failed)}: {load.failed[:5]}"
    snap = s.snapshot(timeout=30, pred=lambda x: x["generation"] >= 2 and x["workers_running"] == 2
                      and all(w["generation"] == x["generation"] for w in x["workers"]))
    assert snap["reloads"] >= 1
    settle_requests(s, 1 + load.ok)


def ctl(srv, *args):
    return subprocess.run([PREFORKCTL, "-p", srv.pidfile, *args], timeout=10,
                          capture_output=True, text=True)


def test_ttin_ttou_and_scale_storm_fails_nothing(make_server):
    s = started(make_server, workers=2)
    load = Load(s.port).start()
    load.wait_ok(20)
    for i in range(6):
        s.signal(signal.SIGTTIN if i % 2 == 0 else signal.SIGTTOU)
        time.sleep(0.3)
    s.wait_workers(2)
    for n in (4, 1, 4, 1):
        r = ctl(s, "scale", str(n))
        assert r.returncode == 0, r.stderr
        s.wait_workers(n)
        load.wait_ok(load.ok + 10)
    load.stop()
    assert load.failed == [], f"{len(load.failed)} failed of {load.ok + len(load.failed)}: {load.failed[:5]}"
    settle_requests(s, 1 + load.ok)


def read_all(sock, deadline):
    """Everything until EOF (or the deadline)."""
    buf = bytearray()
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            continue
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def full_response(buf, size):
    head, _, body = buf.partition(b"\r\n\r\n")
    return head.startswith(b"HTTP/1.1 200") and len(body) == size


def test_graceful_stop_finishes_downloads_and_queued_connections(make_server):
    s = started(make_server, workers=2, graceful_timeout="60s")
    downloads = []
    for _ in range(3):                         # large downloads, read slowly
        d = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        d.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        d.sendall(b"GET /large.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        first = d.recv(4096)
        assert first.startswith(b"HTTP/1.1 200")   # in flight
        downloads.append((d, first))
    workers = s.workers()
    for w in workers:                          # so the next ones stay queued
        os.kill(w, signal.SIGSTOP)
    queued = []
    try:
        for _ in range(20):
            q = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            q.sendall(b"GET /small.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            queued.append(q)
        s.signal(signal.SIGTERM)
        time.sleep(0.2)                        # TERM is handled before the workers resume
    finally:
        for w in workers:
            os.kill(w, signal.SIGCONT)
    deadline = time.monotonic() + 60
    got_q = [full_response(read_all(q, deadline), SMALL_SIZE) for q in queued]
    got_d = [full_response(first + read_all(d, deadline), LARGE_SIZE) for d, first in downloads]
    for x in queued + [d for d, _ in downloads]:
        x.close()
    assert got_q.count(True) == len(queued)
    assert got_d.count(True) == len(downloads)
    assert s.wait_exit(30) == 0


def test_killed_worker_is_respawned_other_connections_unharmed(make_server):
    s = started(make_server, workers=2)
    load = Load(s.port, keepalive=4, close=1).start()
    load.wait_ok(20)
    victims = []
    for i in range(3):
        ws = s.wait_workers(2)
        victim = ws[i % 2]
        os.kill(victim, signal.SIGSTOP)        # freeze its connection set
        ports = peer_ports(victim, s.port)
        t0 = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        victims.append((t0, ports))
        wait_for(lambda v=victim: v not in s.workers() and len(s.workers()) == 2, 15,
                 what="a new worker in the killed one's place")
        load.wait_ok(load.ok + 20)
    load.stop()
    mine = [f for f in load.failed if any(f[1] in p and f[0] >= t0 - 0.05 for t0, p in victims)]
    other = [f for f in load.failed if f not in mine]
    assert other == [], (f"failed on live workers' connections: {other[:5]}; "
                         f"victims {victims}; workers now {s.workers()}")
    assert len(mine) <= sum(len(p) for _, p in victims)
    snap = s.snapshot(timeout=10, pred=lambda x: x["worker_exits_unexpected"] >= 3)
    assert snap["worker_exits_unexpected"] == 3


def peer_ports(pid, server_port):
    """Client ports of the connections to server_port that pid holds."""
    inodes = socket_inodes(pid)
    return {rp for lp, rp, _, inode in tcp_sockets() if inode in inodes and lp == server_port}


def test_connection_exhaustion_then_service_restored(make_server):
    s = started(make_server, workers=1, max_connections=50)
    socks = []
    try:
        for _ in range(300):
            socks.append(socket.create_connection(("127.0.0.1", s.port), timeout=10))
        # the worker has taken as many as it may; the rest wait or are refused
        s.snapshot(timeout=10, pred=lambda x: x["totals"]["connections_active"] >= 50)
    finally:
        for x in socks:
            x.close()
    wait_for(lambda: s.snapshot()["totals"]["connections_active"] == 0, 20,
             what="idle connections to be closed")
    r = http_request(s.port, "/small.html")
    assert r.status == 200 and len(r.body) == SMALL_SIZE
    load = Load(s.port, keepalive=2, close=1).start()
    load.wait_ok(100)
    load.stop()
    assert load.failed == []
    assert s.proc.poll() is None and len(s.workers()) == 1

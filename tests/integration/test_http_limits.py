"""Limits and slow clients (docs/ARCHITECTURE.md: HTTP, The life of a request; issue 5 items 1, 4, 8): head
size limits, timeouts, slowloris, slow readers, max_connections,
keep-alive limits, graceful draining and exact request accounting."""
import os
import select
import signal
import socket
import time

from conftest import (HttpClient, _Reader, bytes_until_eof, ctx_switches, fd_links, http_request, raw_exchange, read_response,
                      socket_inodes, wait_for)

SMALL = b"small file\n"
LARGE_SIZE = 32 * 1024 * 1024


def start(make_server, **keys):
    s = make_server(**keys)
    with open(os.path.join(s.root, "small.txt"), "wb") as f:
        f.write(SMALL)
    with open(os.path.join(s.root, "large.bin"), "wb") as f:
        f.truncate(LARGE_SIZE)
    return s.start()


def closed_by_peer(sock, timeout):
    """True once the server closes sock (EOF or reset) within timeout,
    False if it does not. Every caller expects a silent close (no 408, no
    second response): bytes received first fail the test."""
    deadline = time.monotonic() + timeout
    got = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], 0.05)
        if r:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if chunk == b"":
                assert got == b"", f"received {got[:120]!r} before the close"
                return True
            got += chunk
    return False


def still_open(sock):
    r, _, _ = select.select([sock], [], [], 0)
    if not r:
        return True
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except ConnectionResetError:
        return False


def test_request_line_too_long_is_414(make_server):
    s = start(make_server)
    out = raw_exchange(s.port, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 414 ")
    assert b"Connection: close\r\n" in out


def test_head_too_large_is_431(make_server):
    s = start(make_server)
    out = raw_exchange(s.port, b"GET /small.txt HTTP/1.1\r\nHost: x\r\n" +
                       b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(100)) + b"\r\n")
    assert out.startswith(b"HTTP/1.1 431 ")
    assert b"Connection: close\r\n" in out
    # A head just under the limit is fine.
    ok = raw_exchange(s.port, b"GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      b"X-Pad: " + b"p" * 7000 + b"\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200 ")


def test_slowloris_does_not_delay_others_and_is_cut_off(make_server):
    # header_timeout is a generous deadline: twenty connects and one request
    # end long before it, so the stalled clients must all still be held.
    s = start(make_server, workers=1, header_timeout="6s")
    stalled = []
    try:
        for _ in range(20):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            c.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            stalled.append(c)
        r = http_request(s.port, "/small.txt", timeout=5)
        assert (r.status, r.body) == (200, SMALL)
        # The good client was served while the stalled ones were still held.
        assert all(still_open(c) for c in stalled)
        for c in stalled:
            assert closed_by_peer(c, 20), "a stalled client was never cut off"
    finally:
        for c in stalled:
            c.close()
    assert http_request(s.port, "/small.txt").status == 200


def test_idle_new_connection_cut_off_after_header_timeout(make_server):
    s = start(make_server, header_timeout="1s")
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
        assert closed_by_peer(c, 15)


def test_slow_reader_does_not_delay_others(make_server):
    s = start(make_server, workers=1, send_timeout="60s")
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", s.port))
    try:
        slow.sendall(b"GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        slow.settimeout(5)
        got = len(slow.recv(1024))
        assert got > 0
        for _ in range(20):
            r = http_request(s.port, "/small.txt", timeout=5)
            assert (r.status, r.body) == (200, SMALL)
        got += len(slow.recv(1024))  # still being served, slowly
        assert got < LARGE_SIZE
    finally:
        slow.close()


def test_send_timeout_cuts_off_a_reader_that_stops(make_server):
    s = start(make_server, workers=1, send_timeout="1s")
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.connect(("127.0.0.1", s.port))
    try:
        c.sendall(b"GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        # Never reading: the server gives up on us and closes.
        wait_for(lambda: s.snapshot()["totals"]["connections_active"] == 0 and
                 s.snapshot()["totals"]["requests"] >= 2, 20,
                 what="the send timeout to close the connection")
        total = 0
        c.settimeout(5)
        try:
            while True:
                chunk = c.recv(1 << 20)
                if not chunk:
                    break
                total += len(chunk)
        except ConnectionResetError:
            pass
        assert total < LARGE_SIZE
    finally:
        c.close()


def test_keepalive_timeout_closes_idle(make_server):
    s = start(make_server, keepalive_timeout="1s")
    with HttpClient(s.port) as c:
        assert c.request("/small.txt").status == 200
        assert closed_by_peer(c.sock, 15)


def test_keepalive_requests_limit(make_server):
    s = start(make_server, keepalive_requests=3)
    with HttpClient(s.port) as c:
        assert "connection" not in c.request("/small.txt").headers
        assert "connection" not in c.request("/small.txt").headers
        r = c.request("/small.txt")
        assert (r.body, r.headers["connection"]) == (SMALL, "close")
        assert closed_by_peer(c.sock, 10)


def test_max_connections_respected(make_server):
    s = start(make_server, workers=1, max_connections=4)
    held = [HttpClient(s.port) for _ in range(4)]
    try:
        for c in held:
            assert c.request("/small.txt").status == 200
        extra = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(10)]
        try:
            for e in extra:
                e.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            # Over the limit: queued in the backlog, not served, nothing crashes.
            r, _, _ = select.select(extra, [], [], 1.0)
            assert r == []
            for c in held:
                c.close()
            held = []
            for e in extra:
                rd = _Reader(e)
                assert read_response(rd).body == SMALL
        finally:
            for e in extra:
                e.close()
    finally:
        for c in held:
            c.close()
    assert len(s.workers()) == 1


def test_graceful_stop_finishes_in_flight_and_closes_idle(make_server):
    s = start(make_server, workers=1)
    idle = HttpClient(s.port)
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    busy.connect(("127.0.0.1", s.port))
    try:
        assert idle.request("/small.txt").status == 200
        busy.sendall(b"GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        busy.settimeout(10)
        head = busy.recv(4096)
        assert head.startswith(b"HTTP/1.1 200 ")
        s.signal(signal.SIGTERM)
        assert closed_by_peer(idle.sock, 10)
        # The transfer in flight completes in full.
        assert len(head.split(b"\r\n\r\n", 1)[1]) + bytes_until_eof(busy) == LARGE_SIZE
        assert s.wait_exit(20) == 0
    finally:
        idle.close()
        busy.close()


def test_requests_counted_exactly(make_server):
    s = start(make_server, workers=2)
    # The start-up probe is the one request served so far.
    base = s.snapshot(timeout=15, pred=lambda x: x["workers_running"] == 2 and
                      x["totals"]["requests"] >= 1)
    n0 = base["totals"]["requests"]
    with HttpClient(s.port) as c:
        for _ in range(7):
            c.request("/small.txt")
        c.request("/missing")
    raw_exchange(s.port, b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n" * 3, timeout=1)
    raw_exchange(s.port, b"BAD\r\n\r\n")
    n = 7 + 1 + 3 + 1
    s.snapshot(timeout=15, pred=lambda x: x["totals"]["requests"] >= n0 + n)
    for _ in range(3):  # later snapshots: nothing extra appears
        snap = s.snapshot(timeout=15)
        assert snap["totals"]["requests"] == n0 + n
    assert snap["totals"]["responses"]["4xx"] - base["totals"]["responses"]["4xx"] == 2


def test_max_requests_recycles_the_worker_with_exact_counts(make_server):
    s = start(make_server, workers=1, max_requests=5)
    first = s.wait_workers(1)
    with HttpClient(s.port) as c:  # the probe was request 1
        for i in range(3):
            assert c.request("/small.txt").status == 200
        r = c.request("/small.txt")  # the 5th: the worker retires after it
        assert r.status == 200
    wait_for(lambda: s.workers() and s.workers() != first, 15, what="a new worker")
    for _ in range(4):
        assert http_request(s.port, "/small.txt").status == 200
    s.snapshot(timeout=15, pred=lambda x: x["totals"]["requests"] >= 9)
    for _ in range(3):
        assert s.snapshot(timeout=15)["totals"]["requests"] == 9


def test_out_of_descriptors_pauses_without_spinning(make_server):
    import resource
    s = make_server(workers=1)
    with open(os.path.join(s.root, "small.txt"), "wb") as f:
        f.write(SMALL)
    s.start()
    worker = s.wait_workers(1)[0]
    # Lowered under the running worker: its connection limit was derived
    # from the limit at start (issue 11), so only EMFILE can stop it now.
    hard = resource.prlimit(worker, resource.RLIMIT_NOFILE)[1]
    resource.prlimit(worker, resource.RLIMIT_NOFILE, (48, hard))
    conns = []
    try:
        for _ in range(80):
            conns.append(socket.create_connection(("127.0.0.1", s.port), timeout=5))
        wait_for(lambda: "accept4" in s.error_log(), 10, what="the EMFILE warning")

        # Pausing, the worker blocks in epoll_wait again and again with the
        # backlog still full; spinning on accept4, it would never block.
        v0 = ctx_switches(worker)[0]
        wait_for(lambda: ctx_switches(worker)[0] - v0 >= 5, 15,
                 what="the worker to block while accepts are paused (it spins on EMFILE)")
    finally:
        for c in conns:
            c.close()
    wait_for(lambda: http_request(s.port, "/small.txt", timeout=2).status == 200, 15,
             what="serving again")
    assert len([l for l in s.error_log().splitlines() if "accept4" in l]) == 1


MIXED = [b"GET /small.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1,3-4\r\n\r\n",
         b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
         b"GET /dir HTTP/1.1\r\nHost: x\r\n\r\n",
         b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
         b"HEAD /large.bin HTTP/1.1\r\nHost: x\r\n\r\n",
         b"GET /large.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=-10\r\n\r\n",
         b"GET /small.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=99-\r\n\r\n",
         b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
         b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n"]


def test_no_descriptor_leak(make_server):
    s = start(make_server, workers=1)
    os.mkdir(os.path.join(s.root, "dir"))
    worker = s.wait_workers(1)[0]

    def round_trip():
        for data in MIXED:
            raw_exchange(s.port, data + b"GET /small.txt HTTP/1.1\r\nHost: x\r\n"
                         b"Connection: close\r\n\r\n", timeout=5)
    def fds():
        return sorted(fd_links(worker))

    def quiet():
        # Lingering closes done: the worker holds its listener and its channel
        # and no connection. Counted in /proc, since a status snapshot may
        # predate the last close, and a socket whose peer has closed is gone
        # from /proc/net/tcp while its fd is still open.
        wait_for(lambda: len(socket_inodes(worker)) == 2, 15,
                 what="the worker to close every connection")
    round_trip()
    quiet()
    base = fds()
    for _ in range(5):
        round_trip()
    quiet()
    assert fds() == base


def test_garbage_never_crashes_a_worker(make_server):
    import random
    rnd = random.Random(1234)
    # Each client half-closes after its bytes: the server must answer or
    # close at once, long before the header timeout would.
    s = start(make_server, workers=1, header_timeout="60s")
    worker = s.wait_workers(1)[0]
    seeds = [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\r\n\r\n", b"GET /%00 HTTP/1.1\r\n\r\n",
             b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nHost: x\r\n\r\nZZ\r\n",
             b"GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=" + b"1-2," * 200 + b"\r\n\r\n"]
    for i in range(150):
        data = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randint(0, 6)):
            pos = rnd.randrange(len(data) + 1)
            data[pos:pos] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 8)))
        with socket.create_connection(("127.0.0.1", s.port), timeout=20) as c:
            c.sendall(bytes(data))
            c.shutdown(socket.SHUT_WR)
            try:
                while c.recv(65536):
                    pass
            except ConnectionResetError:
                pass
            except socket.timeout:
                raise AssertionError(f"no close after a half-close: {bytes(data)!r}")
    assert s.workers() == [worker]
    assert http_request(s.port, "/small.txt").body == SMALL


def test_no_request_lost_across_reloads(make_server):
    import threading
    s = start(make_server, workers=2)
    errors, done = [], []

    def client():
        try:
            for i in range(400):
                if i % 2:
                    r = http_request(s.port, "/small.txt", timeout=10)
                    assert (r.status, r.body) == (200, SMALL)
                else:
                    c = HttpClient(s.port, timeout=10)
                    for k in range(3):
                        try:
                            r = c.request("/small.txt")
                        except OSError as e:
                            raise OSError(f"keep-alive request {k}: {e!r}")
                        assert r.body == SMALL
                        if r.headers.get("connection") == "close":  # a retiring worker
                            c.close()
                            c = HttpClient(s.port, timeout=10)
                    c.close()
        except Exception as e:  # reported below, in the test's thread
            errors.append(f"request {i}: {e!r}")
        done.append(1)
    t = threading.Thread(target=client)
    t.start()
    for gen in range(2, 6):
        s.signal(signal.SIGHUP)
        s.snapshot(timeout=30, pred=lambda x, g=gen: x["generation"] == g and
                   all(w["generation"] == g for w in x["workers"]))
    t.join(120)
    assert done and errors == []

"""The fast paths of issue 7: a new connection is read and answered before
it is registered with epoll (a one-request connection never is), listeners
defer accepting until the request arrives, and a short write ends a send
turn until the next EPOLLOUT edge. Each must still deliver every byte."""
import hashlib
import os
import socket

from conftest import HttpClient, _Reader, read_response

SMALL = b"fast path\n" * 100
LARGE = bytes(range(256)) * (16 * 1024)  # 4 MiB, every offset distinct mod 256


def start(make_server, **keys):
    s = make_server(**keys)
    with open(os.path.join(s.root, "small.txt"), "wb") as f:
        f.write(SMALL)
    with open(os.path.join(s.root, "large.bin"), "wb") as f:
        f.write(LARGE)
    return s.start()


def get(path, close=True):
    extra = "Connection: close\r\n" if close else ""
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()



def test_one_shot_connections_get_full_replies_and_eof(make_server):
    s = start(make_server, workers=1)
    # The start-up probe is counted first.
    before = s.snapshot(timeout=15, pred=lambda x: x["totals"]["requests"] >= 1 and
                        x["totals"]["connections_active"] == 0)["totals"]["requests"]
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
            c.sendall(get("/small.txt"))
            rd = _Reader(c)
            r = read_response(rd)
            assert (r.status, r.body, r.headers["connection"]) == (200, SMALL, "close")
            assert rd.rest() == b""  # then EOF, nothing more
    t = s.snapshot(timeout=15, pred=lambda x: x["totals"]["requests"] >= before + 20 and
                   x["totals"]["connections_active"] == 0)["totals"]
    assert (t["requests"] - before, t["connections_active"]) == (20, 0)


def test_pipelined_requests_in_the_first_segment(make_server):
    s = start(make_server, workers=1)
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(get("/small.txt", close=False) + get("/nope", close=False) +
                  get("/small.txt"))
        rd = _Reader(c)
        got = [read_response(rd) for _ in range(3)]
        assert [r.status for r in got] == [200, 404, 200]
        assert got[0].body == SMALL and got[2].body == SMALL
        assert rd.rest() == b""


def test_kept_alive_after_the_first_turn(make_server):
    """Answered before registration, then registered: later requests and the
    keep-alive timeout must still reach it."""
    s = start(make_server, workers=1, keepalive_timeout="1s")
    with HttpClient(s.port) as c:
        for _ in range(3):
            r = c.request("/small.txt")
            assert (r.status, r.body) == (200, SMALL)
            assert "connection" not in r.headers
        c.sock.settimeout(15)
        assert c.sock.recv(1) == b""  # closed by the keep-alive timeout


def test_request_completed_after_accept(make_server):
    """The first read finds half a head: the connection is registered and the
    rest arrives through epoll."""
    s = start(make_server, workers=1)
    req = get("/small.txt")
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(req[:10])
        s.snapshot(timeout=15, pred=lambda x: x["totals"]["connections_active"] == 1)
        c.sendall(req[10:])
        rd = _Reader(c)
        r = read_response(rd)
        assert (r.status, r.body) == (200, SMALL)
        assert rd.rest() == b""


def read_exact(sock, n):
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = sock.recv_into(view[got:])
        assert k > 0, f"EOF after {got} of {n} bytes"
        got += k
    return bytes(buf)


def test_large_file_through_a_small_receive_buffer(make_server):
    """Every send turn ends in a short write; the EPOLLOUT edges must carry
    the transfer to the last byte, twice on one connection. (The keep-alive
    timeout runs from the last byte handed to the kernel, not the last one
    read, hence a long one for this slow reader.)"""
    s = start(make_server, workers=1, keepalive_timeout="60s")
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.settimeout(20)
    c.connect(("127.0.0.1", s.port))
    with c:
        for _ in range(2):
            c.sendall(get("/large.bin", close=False))
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                head += read_exact(c, 1)
            assert head.startswith(b"HTTP/1.1 200 ")
            assert f"Content-Length: {len(LARGE)}\r\n".encode() in head
            body = read_exact(c, len(LARGE))
            assert hashlib.sha256(body).digest() == hashlib.sha256(LARGE).digest()

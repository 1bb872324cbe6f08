"""The large-body path (issue 18): a file goes out one chunk per sendfile
call, and after each chunk the connection waits its turn behind the other
ready connections of the worker. Every connection must still get every byte,
in order, with nothing lost between turns, alone, side by side, pipelined and
in multipart ranges. Progress is observed in bytes received, never in time."""
import hashlib
import os
import select
import socket

from conftest import HttpClient, _Reader, read_response

MIB = 1 << 20
BIG = 10 * MIB
CONNS = 4
SLICE = 64 * 1024  # what the client takes from one connection per round


def body_of(size, seed):
    """Bytes where a chunk put at the wrong offset cannot go unnoticed."""
    out, block = bytearray(), hashlib.sha256(seed).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:size])


def start(make_server, files, **keys):
    s = make_server(workers=1, keepalive_timeout="60s", **keys)
    for name, data in files.items():
        with open(os.path.join(s.root, name), "wb") as f:
            f.write(data)
    return s.start()


def get(path, extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()


class Download:
    """One connection receiving one response, head then body, a slice at a time."""

    def __init__(self, port, path):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.sock.sendall(get(path))
        self.buf = bytearray()
        self.length = None
        self.body_start = None

    def take(self):
        chunk = self.sock.recv(SLICE)
        assert chunk, f"EOF after {len(self.buf)} bytes"
        self.buf += chunk
        if self.length is None and b"\r\n\r\n" in self.buf:
            head = bytes(self.buf[:self.buf.index(b"\r\n\r\n")]).decode("latin-1")
            assert head.startswith("HTTP/1.1 200 "), head.split("\r\n")[0]
            self.length = int([v for k, _, v in (h.partition(":") for h in head.split("\r\n"))
                               if k.lower() == "content-length"][0])
            self.body_start = len(head) + 4
        return len(chunk)

    def body(self):
        return bytes(self.buf[self.body_start:]) if self.body_start is not None else b""

    def done(self):
        return self.length is not None and len(self.body()) >= self.length


def test_concurrent_large_downloads_all_progress_and_arrive_whole(make_server):
    """Four 10 MiB downloads from one worker, read a slice from each in turn:
    every round, every unfinished one has new bytes for us (none waits for
    another to finish), and each body is exact."""
    data = body_of(BIG, b"large")
    s = start(make_server, {"large.bin": data})
    before = s.snapshot(timeout=15, pred=lambda x: x["totals"]["requests"] >= 1)
    downloads = [Download(s.port, "/large.bin") for _ in range(CONNS)]
    try:
        rounds = 0
        while not all(d.done() for d in downloads):
            rounds += 1
            assert rounds <= BIG // 1024, "no end in sight"
            for i, d in enumerate(downloads):
                if d.done():
                    continue
                r, _, _ = select.select([d.sock], [], [], 20)
                assert r, f"connection {i} got nothing more after {len(d.buf)} bytes"
                assert d.take() > 0
        # Each got its whole body, no byte more (keep-alive: nothing follows).
        for d in downloads:
            assert len(d.body()) == BIG
            assert d.body() == data
        snap = s.snapshot(timeout=15, pred=lambda x: x["totals"]["requests"] >=
                          before["totals"]["requests"] + CONNS)
        assert snap["totals"]["requests"] - before["totals"]["requests"] == CONNS
    finally:
        for d in downloads:
            d.sock.close()


def test_pipelined_large_replies_come_whole_and_in_order(make_server):
    """Two large replies and a small one asked for at once on one connection:
    a reply that yielded between chunks must finish before the next starts."""
    big, mid, small = body_of(3 * MIB + 5, b"a"), body_of(MIB, b"b"), b"small\n"
    s = start(make_server, {"a.bin": big, "b.bin": mid, "s.txt": small})
    with socket.create_connection(("127.0.0.1", s.port), timeout=20) as c:
        c.sendall(get("/a.bin") + get("/b.bin") + get("/s.txt"))
        rd = _Reader(c)
        got = [read_response(rd) for _ in range(3)]
    assert [r.status for r in got] == [200, 200, 200]
    assert [len(r.body) for r in got] == [len(big), len(mid), len(small)]
    assert got[0].body == big and got[1].body == mid and got[2].body == small


def test_multipart_ranges_spanning_chunks(make_server):
    """Ranges larger than a chunk, with memory parts (boundaries) between file
    parts: the cursor must cross chunk and part edges without a slip."""
    data = body_of(4 * MIB, b"ranges")
    s = start(make_server, {"r.bin": data})
    spans = [(100, 700_000), (800_000, 2_000_000), (3 * MIB, 4 * MIB - 1)]
    rng = "bytes=" + ",".join(f"{a}-{b}" for a, b in spans)
    with HttpClient(s.port, timeout=20) as c:
        r = c.request("/r.bin", headers={"Range": rng})
        single = c.request("/r.bin", headers={"Range": "bytes=1-3145728"})
    assert r.status == 206
    ctype = r.headers["content-type"]
    assert ctype.startswith("multipart/byteranges; boundary=")
    boundary = ctype.split("boundary=", 1)[1].encode()
    parts = [p for p in r.body.split(b"--" + boundary) if p not in (b"", b"--\r\n", b"\r\n")]
    assert len(parts) == len(spans)
    for (a, b), part in zip(spans, parts):
        head, body = part.split(b"\r\n\r\n", 1)
        assert f"Content-Range: bytes {a}-{b}/{len(data)}".encode() in head
        assert body[:-2] == data[a:b + 1] and body[-2:] == b"\r\n"
    assert single.status == 206
    assert single.body == data[1:3145729]


def test_small_request_answered_while_large_ones_wait_on_their_readers(make_server):
    """Large downloads whose clients have stopped reading (their sockets full)
    leave the worker free: a small request on another connection is answered,
    and the stalled downloads still finish whole afterwards."""
    data = body_of(BIG, b"stall")
    s = start(make_server, {"large.bin": data, "s.txt": b"hello\n"})
    downloads = [Download(s.port, "/large.bin") for _ in range(2)]
    try:
        for d in downloads:  # the head and a first slice: they are being served
            while d.length is None:
                d.take()
        with HttpClient(s.port, timeout=20) as c:
            r = c.request("/s.txt")
        assert (r.status, r.body) == (200, b"hello\n")
        for d in downloads:
            rounds = 0
            while not d.done():
                rounds += 1
                assert rounds <= BIG // 1024
                d.take()
            assert d.body() == data
    finally:
        for d in downloads:
            d.sock.close()

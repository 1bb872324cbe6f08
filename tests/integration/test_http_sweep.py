"""Issue 11, "HTTP you can trust": the open redirect, listings that reveal
what the root hides, FIFOs opened before their type is checked, RFC 9110
preconditions, bad chunked framing on GET, the descriptor reserve and the
first generation forked before the supervisor's first wait. (The reply
without a head is proved by fault injection in tests/unit/test_http_sweep.c.)"""
import os
import platform
import re
import socket
import subprocess
import sys
import time

from conftest import (HttpClient, children, http_request, raw_exchange, read_response,
                      _Reader, socket_inodes, start_with_nofile, tcp_sockets, wait_for)


def raw_response(port, data):
    """Sends data, returns (status, headers, everything received until EOF)."""
    out = raw_exchange(port, data)
    head = out.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(head[0].split()[1]), headers, out


def get_raw(port, path, extra=""):
    return raw_response(port, f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}"
                              "Connection: close\r\n\r\n".encode("latin-1"))


# --- 1. the directory redirect ---------------------------------------------

REDIRECTS = [
    ("//evil.com/..", "/"),
    ("/\\evil.com/..", "/"),
    ("//evil.com/../sub?x=1", "/sub/?x=1"),
    ("/%2fevil.com/..", "/"),
    ("/%2F%2Fevil.com/%2e%2e", "/"),
    ("/%5cevil.com/..", "/"),
    ("/%5C%5Cevil.com/../sub?a=b&c", "/sub/?a=b&c"),
    ("///evil.com/../sub", "/sub/"),
    ("//sub", "/sub/"),
    ("/./sub?q", "/sub/?q"),
]


def test_redirect_location_is_the_normalised_path(make_server):
    s = make_server(workers=1)
    os.mkdir(os.path.join(s.root, "sub"))
    s.start()
    for path, want in REDIRECTS:
        status, headers, _ = get_raw(s.port, path)
        loc = headers.get("location", "")
        assert (status, loc) == (301, want), path
        assert not loc.startswith("//") and not loc.startswith("/\\"), path


# --- 2. listings ---------------------------------------------------------------

def test_listing_shows_only_what_a_request_would_serve(make_server):
    s = make_server(workers=1, autoindex="on")
    d = os.path.join(s.root, "d")
    os.mkdir(d)
    with open(os.path.join(s.root, "x.txt"), "wb") as f:
        f.write(b"1234567")
    with open(os.path.join(d, "ok.txt"), "wb") as f:
        f.write(b"ok")
    os.symlink("/etc/shadow", os.path.join(d, "shadowlink"))
    os.symlink("/etc", os.path.join(d, "etclink"))
    os.symlink("../x.txt", os.path.join(d, "inlink"))
    os.symlink("nowhere", os.path.join(d, "dangling"))
    os.mkfifo(os.path.join(d, "pipe"))
    s.start()
    status, _, body = http_request(s.port, "/d/")
    assert status == 200
    text = body.decode()
    names = re.findall(r'<a href="([^"]*)">', text)
    assert names == ["../", "inlink", "ok.txt"]
    assert '<a href="inlink">inlink</a></td><td>7</td>' in text
    for hidden in ("shadowlink", "etclink", "dangling", "pipe"):
        assert hidden not in text
        assert http_request(s.port, "/d/" + hidden).status in (403, 404)
    assert http_request(s.port, "/d/inlink").body == b"1234567"


# --- 3. FIFOs ----------------------------------------------------------------------

def wchan(pid):
    with open(f"/proc/{pid}/wchan") as f:
        return f.read().strip()


# x86_64 syscall numbers, for kernels whose wchan says only "0".
X86_64 = platform.machine() == "x86_64"
NR_OPENAT, NR_EPOLL_WAITS = 257, (232, 281, 441)


def blocked_in(pid, wchans, nrs):
    """True while pid sleeps in one of these kernel functions (wchan) or,
    where wchan is not shown, in one of these syscalls."""
    where = wchan(pid)
    if where in wchans:
        return True
    if where != "0" or not X86_64:
        return False
    with open(f"/proc/{pid}/syscall") as f:
        first = f.read().split()
    return bool(first) and first[0].isdigit() and int(first[0]) in nrs


def writer_blocked(pid):
    return blocked_in(pid, ("wait_for_partner", "fifo_open"), (NR_OPENAT,))


def test_fifo_with_blocked_writer_is_not_opened(make_server):
    s = make_server(workers=1)
    fifo = os.path.join(s.root, "fifo")
    os.mkfifo(fifo)
    s.start()
    writer = subprocess.Popen(
        [sys.executable, "-c", "import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); "
         "os.write(fd, b'secret')", fifo])
    try:
        wait_for(lambda: writer_blocked(writer.pid), 10,
                 what="the writer blocked in open")
        assert http_request(s.port, "/fifo").status == 403
        assert http_request(s.port, "/fifo", method="HEAD").status == 403
        # Still waiting for a reader: nobody opened the FIFO.
        assert writer.poll() is None
        assert writer_blocked(writer.pid)
        fd = os.open(fifo, os.O_RDONLY)
        try:
            got = b""
            deadline = time.monotonic() + 10
            while len(got) < 6 and time.monotonic() < deadline:
                chunk = os.read(fd, 64)
                if not chunk:
                    break
                got += chunk
        finally:
            os.close(fd)
        assert got == b"secret"
        assert writer.wait(10) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()


# --- 4. preconditions ---------------------------------------------------------------

def test_preconditions_in_rfc_order(make_server):
    s = make_server(workers=1, autoindex="on")
    with open(os.path.join(s.root, "f.txt"), "wb") as f:
        f.write(b"0123456789")
    os.utime(os.path.join(s.root, "f.txt"), (784111777, 784111777))
    os.mkdir(os.path.join(s.root, "dir"))
    s.start()
    etag = http_request(s.port, "/f.txt").headers["etag"]
    before, at = "Sun, 06 Nov 1994 08:49:36 GMT", "Sun, 06 Nov 1994 08:49:37 GMT"

    def st(path="/f.txt", **h):
        return http_request(s.port, path, headers={k.replace("_", "-"): v
                                                   for k, v in h.items()}).status
    assert st(If_Match='"nope"') == 412
    assert st(If_Match="W/" + etag) == 412          # strong comparison
    assert st(If_Match=etag) == 200
    assert st(If_Match='"a", ' + etag) == 200
    assert st(If_Match="*") == 200
    assert st(If_Unmodified_Since=before) == 412
    assert st(If_Unmodified_Since=at) == 200
    # If-Match present: If-Unmodified-Since is not evaluated.
    assert st(If_Match=etag, If_Unmodified_Since=before) == 200
    # 412 comes before 304.
    assert st(If_Match='"nope"', If_None_Match=etag) == 412
    assert st(If_Unmodified_Since=before, If_Modified_Since=at) == 412
    assert st(If_Match=etag, If_None_Match=etag) == 304
    # Ranges: preconditions first, then If-Range.
    assert st(If_Match='"nope"', Range="bytes=0-1") == 412
    assert st(If_Match=etag, Range="bytes=0-1") == 206
    assert st(If_Unmodified_Since=before, Range="bytes=0-1") == 412
    assert st(If_Match=etag, Range="bytes=0-1", If_Range='"other"') == 200
    # Listings have no validators: only "*" matches.
    assert st("/dir/", If_Match='"x"') == 412
    assert st("/dir/", If_Match="*") == 200
    assert st("/dir/", If_None_Match="*") == 304


def test_list_fields_over_several_lines(make_server):
    s = make_server(workers=1)
    with open(os.path.join(s.root, "f.txt"), "wb") as f:
        f.write(b"data")
    s.start()
    etag = http_request(s.port, "/f.txt").headers["etag"]
    two = "{0}: \"a\"\r\n{0}: {1}\r\n"
    assert get_raw(s.port, "/f.txt", two.format("If-None-Match", etag))[0] == 304
    assert get_raw(s.port, "/f.txt", f'If-None-Match: "a", {etag}\r\n')[0] == 304
    assert get_raw(s.port, "/f.txt", two.format("If-Match", etag))[0] == 200
    assert get_raw(s.port, "/f.txt", 'If-Match: "a"\r\nIf-Match: "b"\r\n')[0] == 412


# --- 5. chunked framing on GET ----------------------------------------------------

def test_bad_chunk_size_on_get_is_400_and_close(make_server):
    s = make_server(workers=1)
    with open(os.path.join(s.root, "f.txt"), "wb") as f:
        f.write(b"data")
    s.start()
    for method in ("GET", "HEAD"):
        req = (f"{method} /f.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "zz\r\nabc\r\n0\r\n\r\n"
               f"GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n").encode()
        out = raw_exchange(s.port, req)
        assert out.startswith(b"HTTP/1.1 400 "), out[:80]
        assert out.count(b"HTTP/1.1 ") == 1           # closed: the second is not read
        assert b"Connection: close\r\n" in out
    # Good framing still works, and the connection lives on.
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(b"GET /f.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"3\r\nabc\r\n0\r\n\r\nGET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        rd = _Reader(c)
        assert [read_response(rd).status, read_response(rd).status] == [200, 200]


# --- 7. the descriptor reserve ---------------------------------------------------

HARD = 400
RESERVE = 32 + 256 + 64 + 1   # fixed, file cache, spare, one listener
LIMIT = HARD - RESERVE


def open_files_limit(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return [int(x) for x in line.split()[3:5]]
    return None


def worker_conns(worker, port):
    mine = socket_inodes(worker)
    return sum(1 for lport, _, state, inode in tcp_sockets()
               if lport == port and state == "01" and inode in mine)


def test_descriptor_reserve_keeps_files_openable(make_server):
    # Silent connections must stay open for the count to stay exact.
    s = make_server(workers=1, header_timeout="300s", keepalive_timeout="300s")
    with open(os.path.join(s.root, "small.txt"), "wb") as f:
        f.write(b"small\n")
    with open(os.path.join(s.root, "large.bin"), "wb") as f:
        f.truncate(8 * 1024 * 1024)
    start_with_nofile(s, 200, HARD)
    worker = s.wait_workers(1)[0]
    # The soft limit was raised to the hard one, in both processes.
    assert open_files_limit(s.pid) == [HARD, HARD]
    assert open_files_limit(worker) == [HARD, HARD]
    assert (f"descriptors: limit {HARD}; per-worker connection limit {LIMIT} "
            f"(max_connections 1024, {RESERVE} kept in reserve); "
            f"open-file cache 256 (open_file_cache 16384)") in s.error_log()
    first = HttpClient(s.port)
    idle = []
    try:
        assert first.request("/small.txt").status == 200
        for _ in range(450):     # more than the fd limit allows
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", s.port))
            idle.append(c)
        wait_for(lambda: worker_conns(worker, s.port) == LIMIT, 15,
                 what=f"the worker to hold {LIMIT} connections")
        r = first.request("/large.bin")
        assert r.status == 200 and len(r.body) == 8 * 1024 * 1024
        assert worker_conns(worker, s.port) == LIMIT
    finally:
        first.close()
        for c in idle:
            c.close()
    def serving():
        try:
            return http_request(s.port, "/small.txt", timeout=5).status == 200
        except (OSError, ValueError):
            return False
    wait_for(serving, 15, what="serving after the idle connections closed")


# --- 8. the first generation before the first wait ----------------------------------

def test_workers_are_forked_before_the_first_wait(make_server):
    s = make_server(workers=2, status_pipe=None)
    s.start(wait=False)
    seen = None
    for _ in range(20000):   # bounded: about 10 s of 0.5 ms polls
        try:
            waiting = blocked_in(s.pid, ("do_epoll_wait", "ep_poll"), NR_EPOLL_WAITS)
        except OSError:
            break
        if waiting:
            seen = children(s.pid)
            break
        time.sleep(0.0005)
    assert seen is not None, "the supervisor never waited: " + s.error_log() + s.stderr_text()
    assert len(seen) >= 1, "the supervisor waited before forking a worker"
    s.wait_serving()
    assert len(s.wait_workers(2)) == 2

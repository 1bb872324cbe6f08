"""HTTP behaviour of a worker over real sockets (docs/ARCHITECTURE.md: HTTP; issue 5 items
3-7): files, HEAD, directories, listings, dotfiles, traversal, symlinks,
ranges, conditionals, keep-alive, pipelining, methods, access log, and a
side-by-side check against python3 -m http.server."""
import email.utils
import html.parser
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse

import pytest

from conftest import HttpClient, free_port, http_request, raw_exchange, read_response, _Reader, wait_for

SMALL = b"hello, preforkd\n"
BIG = bytes((i * 7 + 3) % 251 for i in range(300_000))  # beyond the in-memory body limit
LISTED = ["a<b>.txt", "x&y.txt", 'q"uote.txt', "sp ace.txt", "pct%41.txt", "hash#.txt",
          "plain.txt", "sub"]


def populate(root):
    def put(rel, data):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    put("small.txt", SMALL)
    put("big.bin", BIG)
    put("page.html", b"<p>page</p>\n")
    put("withindex/index.html", b"<h1>index</h1>\n")
    put("withindex/other.txt", b"other\n")
    put(".secret", b"secret\n")
    put("dir/.hidden/file.txt", b"hidden\n")
    put(".well-known/security.txt", b"Contact: x\n")
    for name in LISTED:
        if name == "sub":
            put("listing/sub/inner.txt", b"inner\n")
        else:
            put("listing/" + name, name.encode() + b"\n")
    put("listing/.dotfile", b"dot\n")
    os.mkdir(os.path.join(root, "empty"))


@pytest.fixture
def srv(make_server):
    s = make_server()
    populate(s.root)
    return s.start()


def get(s, path, **kw):
    return http_request(s.port, path, **kw)


# --- files and HEAD -------------------------------------------------------

@pytest.mark.parametrize("path,body,ctype", [
    ("/small.txt", SMALL, "text/plain; charset=utf-8"),
    ("/big.bin", BIG, "application/octet-stream"),
    ("/page.html", b"<p>page</p>\n", "text/html; charset=utf-8"),
], ids=["small", "big", "html"])
def test_get_and_head_agree(srv, path, body, ctype):
    g = get(srv, path)
    assert g.status == 200
    assert g.body == body
    assert g.headers["content-length"] == str(len(body))
    assert g.headers["content-type"] == ctype
    assert g.headers["server"] == "preforkd"
    assert g.headers["accept-ranges"] == "bytes"
    assert g.headers["etag"].startswith('"')
    st = os.stat(os.path.join(srv.root, path[1:]))
    assert email.utils.parsedate_to_datetime(g.headers["last-modified"]).timestamp() == int(st.st_mtime)
    h = get(srv, path, method="HEAD")
    assert h.status == 200
    assert h.body == b""
    same = ("content-length", "content-type", "etag", "last-modified", "accept-ranges")
    assert {k: h.headers[k] for k in same} == {k: g.headers[k] for k in same}


def test_head_sends_no_body_on_keepalive(srv):
    with HttpClient(srv.port) as c:
        assert c.request("/small.txt", "HEAD").body == b""
        # The next response must start right away: no stray body bytes.
        r = c.request("/small.txt")
        assert (r.status, r.body) == (200, SMALL)


def test_404(srv):
    r = get(srv, "/nope.txt")
    assert r.status == 404
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert b"404" in r.body
    assert get(srv, "/small.txt/").status == 404
    assert get(srv, "/nodir/").status == 404


def test_date_header_is_now(srv):
    r = get(srv, "/small.txt")
    t = email.utils.parsedate_to_datetime(r.headers["date"]).timestamp()
    assert abs(t - time.time()) < 60


def test_file_change_seen(srv):
    path = os.path.join(srv.root, "change.txt")
    with open(path, "wb") as f:
        f.write(b"one\n")
    assert get(srv, "/change.txt").body == b"one\n"
    with open(path, "wb") as f:
        f.write(b"second version\n")
    wait_for(lambda: get(srv, "/change.txt").body == b"second version\n", 10,
             what="the cache to see the new file")
    os.unlink(path)
    wait_for(lambda: get(srv, "/change.txt").status == 404, 10, what="404 after unlink")


def test_fifo_is_403_and_does_not_hang(srv):
    os.mkfifo(os.path.join(srv.root, "fifo"))
    assert get(srv, "/fifo", timeout=5).status == 403
    assert get(srv, "/small.txt").status == 200


# --- directories -----------------------------------------------------------

def test_directory_redirect_keeps_query(srv):
    r = get(srv, "/withindex?a=1&b=%20")
    assert r.status == 301
    assert r.headers["location"] == "/withindex/?a=1&b=%20"
    r = get(srv, "/listing/sub")
    assert (r.status, r.headers["location"]) == (301, "/listing/sub/")


def test_dot_segments_naming_a_directory_redirect_to_slash_form(srv):
    # The Location is the normalised path (issue 11): "/listing/.." is "/".
    r = get(srv, "/listing/..")
    assert (r.status, r.headers["location"]) == (301, "/")
    assert get(srv, "/listing/../").status == 200


def test_index_file(srv):
    r = get(srv, "/withindex/")
    assert (r.status, r.body) == (200, b"<h1>index</h1>\n")
    assert r.headers["content-type"] == "text/html; charset=utf-8"


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(v for k, v in attrs if k == "href")


def hrefs(body):
    p = Links()
    p.feed(body.decode())
    return [h for h in p.hrefs if h not in ("../", "..")]


def test_listing_escapes_names_and_links_work(srv):
    r = get(srv, "/listing/")
    assert r.status == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert b"a<b>" not in r.body
    assert b"a&lt;b&gt;.txt" in r.body
    assert b"x&amp;y.txt" in r.body
    names = sorted(urllib.parse.unquote(h) for h in hrefs(r.body))
    assert names == sorted(n + "/" if n == "sub" else n for n in LISTED)
    assert ".dotfile" not in r.body.decode()
    for h in hrefs(r.body):
        if h.endswith("/"):
            continue
        f = get(srv, "/listing/" + h)
        assert (f.status, f.body) == (200, urllib.parse.unquote(h).encode() + b"\n"), h


def test_empty_directory_lists(srv):
    r = get(srv, "/empty/")
    assert r.status == 200
    assert hrefs(r.body) == []


def test_autoindex_off_is_403(make_server):
    s = make_server(autoindex="off")
    populate(s.root)
    s.start()
    assert get(s, "/listing/").status == 403
    assert get(s, "/withindex/").status == 200
    assert get(s, "/nodir/").status == 404


# --- dotfiles, traversal, symlinks ------------------------------------------

def test_dotfiles_denied_except_well_known(srv):
    assert get(srv, "/.secret").status == 404
    assert get(srv, "/dir/.hidden/file.txt").status == 404
    assert get(srv, "/%2esecret").status == 404
    r = get(srv, "/.well-known/security.txt")
    assert (r.status, r.body) == (200, b"Contact: x\n")


def test_dotfiles_allowed(make_server):
    s = make_server(dotfiles="allow")
    populate(s.root)
    s.start()
    assert get(s, "/.secret").body == b"secret\n"


UP = "../" * 24   # more levels than any temp dir has: climbs to / and beyond
CLIMBS = ["/../etc/passwd", "/%2e%2e/etc/passwd", "/%2E%2E/%2E%2E/etc/passwd",
          "/..%2fetc/passwd", "/%2e%2e%2fetc%2fpasswd", "/listing/../../etc/passwd",
          "/./../etc/passwd", "/.%2e/etc/passwd", "/" + UP + "etc/passwd",
          "/listing/" + UP + "etc/passwd", "/" + UP.replace("..", "%2e%2e") + "etc/passwd",
          "/../outside.txt", "/listing/../../outside.txt"]
# Not climbs: a backslash and a double-encoded dot are name bytes, and an
# empty segment is dropped; none of these names exists under the root.
NOT_CLIMBS = ["/..%5c..%5cetc/passwd", "/%252e%252e/etc/passwd", "//etc/passwd"]


@pytest.fixture
def outside(srv):
    """A file just above the root, which a clamped or ignored ".." would
    not reach but an unchecked one would."""
    path = os.path.join(os.path.dirname(srv.root), "outside.txt")
    with open(path, "w") as f:
        f.write("outside\n")
    return srv


@pytest.mark.parametrize("path", CLIMBS)
def test_climbing_above_the_root_is_400(outside, path):
    """README: dot segments climbing above the root -> 400 (not a 404 for
    a name looked up somewhere under the root)."""
    r = get(outside, path)
    assert r.status == 400, (path, r.status)
    assert b"root:" not in r.body and b"outside" not in r.body


@pytest.mark.parametrize("path", NOT_CLIMBS)
def test_traversal_lookalikes_are_404(outside, path):
    r = get(outside, path)
    assert r.status == 404, (path, r.status)


@pytest.mark.parametrize("path", ["/small.txt%00", "/%00"])
def test_nul_in_path_is_400(srv, path):
    assert get(srv, path).status == 400


def test_symlink_out_of_root_is_404(srv):
    os.symlink("/etc/passwd", os.path.join(srv.root, "passwd"))
    os.symlink("/etc", os.path.join(srv.root, "etc"))
    os.symlink("../" * 10 + "etc/hostname", os.path.join(srv.root, "up"))
    for path in ("/passwd", "/etc/passwd", "/etc/", "/up"):
        r = get(srv, path)
        assert r.status == 404, path
        assert b"root:" not in r.body


def test_symlink_inside_root_is_served(srv):
    os.symlink("small.txt", os.path.join(srv.root, "alias.txt"))
    assert get(srv, "/alias.txt").body == SMALL


# --- ranges and conditionals -------------------------------------------------

def test_single_range(srv):
    r = get(srv, "/big.bin", headers={"Range": "bytes=100-199"})
    assert r.status == 206
    assert r.headers["content-range"] == f"bytes 100-199/{len(BIG)}"
    assert r.body == BIG[100:200]
    r = get(srv, "/small.txt", headers={"Range": "bytes=-4"})
    assert (r.status, r.body) == (206, SMALL[-4:])
    r = get(srv, "/small.txt", headers={"Range": "bytes=5-"})
    assert (r.status, r.body) == (206, SMALL[5:])


def parse_multipart(r):
    m = re.match(r"multipart/byteranges; boundary=(\S+)$", r.headers["content-type"])
    assert m, r.headers["content-type"]
    delim = b"--" + m.group(1).encode()
    assert r.body.endswith(b"\r\n" + delim + b"--\r\n")
    parts = []
    for chunk in r.body.split(delim)[1:-1]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        fields = dict(line.split(": ", 1) for line in head.decode().strip().split("\r\n"))
        parts.append((fields["Content-Range"], fields["Content-Type"], data))
    return parts


def test_multiple_ranges(srv):
    n = len(BIG)
    r = get(srv, "/big.bin", headers={"Range": "bytes=0-9,1000-1009,-5"})
    assert r.status == 206
    assert int(r.headers["content-length"]) == len(r.body)
    assert parse_multipart(r) == [
        (f"bytes 0-9/{n}", "application/octet-stream", BIG[0:10]),
        (f"bytes 1000-1009/{n}", "application/octet-stream", BIG[1000:1010]),
        (f"bytes {n - 5}-{n - 1}/{n}", "application/octet-stream", BIG[-5:]),
    ]
    r = get(srv, "/small.txt", headers={"Range": "bytes=0-1,4-5"})
    assert parse_multipart(r) == [
        (f"bytes 0-1/{len(SMALL)}", "text/plain; charset=utf-8", SMALL[0:2]),
        (f"bytes 4-5/{len(SMALL)}", "text/plain; charset=utf-8", SMALL[4:6])]
    h = get(srv, "/small.txt", method="HEAD", headers={"Range": "bytes=0-1,4-5"})
    assert h.headers["content-length"] == r.headers["content-length"]


def test_unsatisfiable_range(srv):
    r = get(srv, "/small.txt", headers={"Range": f"bytes={len(SMALL)}-"})
    assert r.status == 416
    assert r.headers["content-range"] == f"bytes */{len(SMALL)}"
    # The connection stays usable after a 416.
    with HttpClient(srv.port) as c:
        assert c.request("/small.txt", headers={"Range": "bytes=999-"}).status == 416
        assert c.request("/small.txt").body == SMALL


def test_if_range(srv):
    etag = get(srv, "/small.txt").headers["etag"]
    lm = get(srv, "/small.txt").headers["last-modified"]
    r = get(srv, "/small.txt", headers={"Range": "bytes=0-1", "If-Range": etag})
    assert (r.status, r.body) == (206, SMALL[:2])
    r = get(srv, "/small.txt", headers={"Range": "bytes=0-1", "If-Range": '"other"'})
    assert (r.status, r.body) == (200, SMALL)
    r = get(srv, "/small.txt", headers={"Range": "bytes=0-1", "If-Range": lm})
    assert r.status == 206
    r = get(srv, "/small.txt", headers={"Range": "bytes=0-1",
                                        "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert r.status == 200


def test_not_modified(srv):
    g = get(srv, "/small.txt")
    etag, lm = g.headers["etag"], g.headers["last-modified"]
    r = get(srv, "/small.txt", headers={"If-None-Match": etag})
    assert (r.status, r.body) == (304, b"")
    assert r.headers["etag"] == etag
    assert r.headers["last-modified"] == lm
    assert get(srv, "/small.txt", headers={"If-None-Match": '"x", ' + etag}).status == 304
    assert get(srv, "/small.txt", headers={"If-None-Match": "*"}).status == 304
    assert get(srv, "/small.txt", headers={"If-None-Match": '"x"'}).status == 200
    assert get(srv, "/small.txt", headers={"If-Modified-Since": lm}).status == 304
    assert get(srv, "/small.txt", headers={
        "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    assert get(srv, "/small.txt", headers={"If-None-Match": '"x"',
                                           "If-Modified-Since": lm}).status == 200
    with HttpClient(srv.port) as c:  # a 304 has no body: the next response follows
        assert c.request("/small.txt", headers={"If-None-Match": etag}).status == 304
        assert c.request("/small.txt").body == SMALL


# --- connections -----------------------------------------------------------

def test_keepalive_reuses_the_connection(srv):
    with HttpClient(srv.port) as c:
        for _ in range(5):
            r = c.request("/small.txt")
            assert (r.status, r.body) == (200, SMALL)
            assert "connection" not in r.headers
        assert c.request("/big.bin").body == BIG


def test_pipelining_in_order(srv):
    reqs = b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % p
                    for p in (b"/small.txt", b"/big.bin", b"/page.html"))
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(reqs)
        rd = _Reader(s)
        bodies = [read_response(rd).body for _ in range(3)]
    assert bodies == [SMALL, BIG, b"<p>page</p>\n"]


def test_pipelining_many_small(srv):
    n = 100
    reqs = b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n" * n
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(reqs)
        rd = _Reader(s)
        assert [read_response(rd).body for _ in range(n)] == [SMALL] * n


def test_connection_close(srv):
    out = raw_exchange(srv.port, b"GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                       b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.count(b"HTTP/1.1 200") == 1
    assert b"Connection: close\r\n" in out
    assert out.endswith(SMALL)


def test_http10_closes_unless_keepalive(srv):
    out = raw_exchange(srv.port, b"GET /small.txt HTTP/1.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert out.endswith(b"\r\n\r\n" + SMALL)
    with HttpClient(srv.port) as c:
        r = c.request("/small.txt", version="1.0", headers={"Connection": "keep-alive"})
        assert r.headers["connection"] == "keep-alive"
        assert c.request("/small.txt", version="1.0", headers={"Connection": "keep-alive"}).body == SMALL


def test_half_closed_client_still_answered(srv):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        rd = _Reader(s)
        assert read_response(rd).body == SMALL


def test_body_on_get_is_skipped(srv):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                  b"GET /page.html HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"3\r\nabc\r\n0\r\n\r\n"
                  b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        rd = _Reader(s)
        assert [read_response(rd).body for _ in range(3)] == [SMALL, b"<p>page</p>\n", SMALL]


def test_methods(srv):
    r = get(srv, "/small.txt", method="OPTIONS")
    assert (r.status, r.headers["allow"]) == (204, "GET, HEAD, OPTIONS")
    r = raw_exchange(srv.port, b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert r.startswith(b"HTTP/1.1 204 ")
    for m in ("POST", "PUT", "DELETE", "PATCH", "TRACE"):
        r = get(srv, "/small.txt", method=m)
        assert (r.status, r.headers["allow"]) == (405, "GET, HEAD, OPTIONS"), m
    r = get(srv, "/small.txt", method="BREW")
    assert (r.status, r.headers["connection"]) == (501, "close")


def test_post_with_body_is_answered_then_closed(srv):
    out = raw_exchange(srv.port, b"POST /small.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
                       b"helloGET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 405 ")
    assert b"Connection: close\r\n" in out
    assert out.count(b"HTTP/1.1 ") == 1


@pytest.mark.parametrize("data,status", [
    (b"GET /small.txt HTTP/1.1\r\n\r\n", 400),                      # no Host
    (b"GET /small.txt HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET /small.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
    (b"GET /small.txt HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
    (b"GET /small.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"GET small.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"\x00\x01\x02\r\n\r\n", 400),
])
def test_malformed_gets_error_and_close(srv, data, status):
    out = raw_exchange(srv.port, data)
    assert out.startswith(b"HTTP/1.1 %d " % status), out[:60]
    assert b"Connection: close\r\n" in out


# --- access log -------------------------------------------------------------

CLF = re.compile(r'^(\S+) - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
                 r'"([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$')


def test_access_log_combined_format(srv):
    get(srv, "/small.txt", headers={"Referer": "http://ref/", "User-Agent": 'ua "quoted"'})
    get(srv, "/nope")
    raw_exchange(srv.port, b"GET /bad\x01 HTTP/1.1\r\nHost: x\r\n\r\n")

    def lines():
        try:
            with open(srv.access_log_path) as f:
                return [l.rstrip("\n") for l in f]
        except OSError:
            return []
    # Each worker flushes its own buffer: wait for every line, not just one.
    wait_for(lambda: any('"GET /small.txt HTTP/1.1"' in l for l in lines()), 10,
             what="the /small.txt line")
    wait_for(lambda: any('"GET /nope HTTP/1.1"' in l for l in lines()), 10, what="log lines")
    wait_for(lambda: any(" 400 " in l for l in lines()), 10, what="the 400 line")
    for line in lines():
        assert CLF.match(line), line
    small = [CLF.match(l).groups() for l in lines() if '"GET /small.txt HTTP/1.1"' in l]
    assert small[-1][0] == "127.0.0.1"
    assert small[-1][3:] == ("200", str(len(SMALL)), "http://ref/", r"ua \x22quoted\x22")
    nope = [CLF.match(l).groups() for l in lines() if '"GET /nope HTTP/1.1"' in l][-1]
    assert nope[3] == "404"


def test_access_log_off(make_server):
    s = make_server(access_log="off")
    populate(s.root)
    s.start()
    assert get(s, "/small.txt").body == SMALL
    assert not os.path.exists(s.access_log_path)


# --- side by side with python3 -m http.server --------------------------------

@pytest.fixture
def pyserver(srv):
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                          "--directory", srv.root], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)

    def up():
        try:
            return http_request(port, "/small.txt", timeout=2).status == 200
        except OSError:
            return False
    try:
        wait_for(up, 15, what="python http.server")
        yield port
    finally:
        p.kill()
        p.wait(10)


def test_side_by_side_with_python(srv, pyserver):
    for path in ("/withindex", "/listing/sub", "/withindex?x=1"):
        ours, theirs = get(srv, path), http_request(pyserver, path)
        assert ours.status == theirs.status == 301, path
        assert urllib.parse.urlsplit(ours.headers["location"])[2:] == \
            urllib.parse.urlsplit(theirs.headers["location"])[2:], path
    for path in ("/nope", "/listing/nope.txt", "/nodir/"):
        assert get(srv, path).status == http_request(pyserver, path).status == 404, path
    for path in ("/small.txt", "/big.bin", "/withindex/"):
        ours, theirs = get(srv, path), http_request(pyserver, path)
        assert (ours.status, ours.body) == (theirs.status, theirs.body), path
    for path in ("/listing/", "/empty/", "/"):
        ours, theirs = get(srv, path), http_request(pyserver, path)
        assert ours.status == theirs.status == 200
        theirs_names = sorted(urllib.parse.unquote(h) for h in hrefs(theirs.body)
                              if not h.startswith("."))
        assert sorted(urllib.parse.unquote(h) for h in hrefs(ours.body)) == theirs_names, path


def test_access_log_reopened_on_usr1(srv):
    import signal as sig
    get(srv, "/small.txt")
    wait_for(lambda: os.path.exists(srv.access_log_path) and
             os.path.getsize(srv.access_log_path) > 0, 10, what="the first line")
    os.rename(srv.access_log_path, srv.access_log_path + ".1")
    srv.signal(sig.SIGUSR1)

    def reopened():
        get(srv, "/page.html")
        return os.path.exists(srv.access_log_path) and \
            '"GET /page.html HTTP/1.1" 200' in open(srv.access_log_path).read()
    wait_for(reopened, 15, interval=0.3, what="lines in the reopened access log")


def test_access_log_write_failure_logged_once(make_server):
    """Three kinds of failed write, each more than once, one warning: the
    timed flush, flushes of a full 64 KiB buffer (long request lines fill it
    every twenty-odd requests, so no clock decides how many there are), and
    the flush at exit."""
    s = make_server(access_log="/dev/full", workers=1)
    populate(s.root)
    s.start()
    for _ in range(3):
        assert get(s, "/small.txt").body == SMALL
    wait_for(lambda: "access log" in s.error_log(), 10, what="the write failure in the error log")
    # Request, Referer and User-Agent are each logged up to 1 KiB: ~3 KiB lines.
    long_path = "/" + "/".join(["d" * 200] * 6)
    long = {"User-Agent": "a" * 1100, "Referer": "r" * 1100}
    with HttpClient(s.port) as c:
        for _ in range(120):              # at least five full buffers
            assert c.request(long_path, headers=long).status == 404
    assert get(s, "/small.txt").body == SMALL   # left in the buffer for the exit flush
    assert s.stop() == 0
    warnings = [l for l in s.error_log().splitlines() if "access log" in l]
    assert len(warnings) == 1, warnings


def test_expect_continue_with_body_closes(srv):
    out = raw_exchange(srv.port, b"GET /small.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                       b"Expect: 100-continue\r\n\r\n", timeout=5)
    assert out.startswith(b"HTTP/1.1 200 ")
    assert b"Connection: close\r\n" in out
    assert out.endswith(SMALL)

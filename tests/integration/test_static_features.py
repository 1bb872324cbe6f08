"""Static-site features of issue 19 (docs/ARCHITECTURE.md: Static-site features): precompressed siblings
chosen by Accept-Encoding, cache_control rules, add_header, mime_types and
JSON listings. Decoded bodies are compared with the original byte for byte
(Python's gzip, the brotli and zstd tools, and curl --compressed)."""
import gzip
import json
import os
import subprocess
import zlib

import pytest

from conftest import PREFORKD, HttpClient, http_request, raw_exchange, wait_for

# 100 KiB of JavaScript-like text: the siblings are larger than the
# in-memory body limit (16 KiB), so they go out by sendfile.
BIG = b"".join(b"function f%05d(a, b) { return a * %d + b; }\n" % (i, i * 7919 % 100003)
               for i in range(2300))
SMALL = b"body { color: #333; }\n" * 20


def write(path, data, mtime=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def compress_tool(path, tool):
    """FILE -> FILE.br / FILE.zst with the command-line tools (as a site's
    build step would), FILE.gz with Python's gzip; keeps FILE's mtime."""
    if tool == "gz":
        with open(path, "rb") as f, gzip.open(path + ".gz", "wb", compresslevel=9) as g:
            g.write(f.read())
    elif tool == "br":
        subprocess.run(["brotli", "-f", "-k", "-o", path + ".br", path], check=True)
    else:
        subprocess.run(["zstd", "-q", "-f", "-k", "-o", path + ".zst", path], check=True)
    st = os.stat(path)
    os.utime(path + "." + tool, ns=(st.st_atime_ns, st.st_mtime_ns))


def decode(enc, body):
    if enc == "gzip":
        return gzip.decompress(body)
    if enc == "br":
        return subprocess.run(["brotli", "-d", "-c"], input=body, capture_output=True,
                              check=True).stdout
    if enc == "zstd":
        return subprocess.run(["zstd", "-d", "-c", "-q"], input=body, capture_output=True,
                              check=True).stdout
    assert enc is None
    return body


def site(make_server, **keys):
    s = make_server(workers=1, **keys)
    write(os.path.join(s.root, "app.js"), BIG)
    write(os.path.join(s.root, "css", "small.css"), SMALL)
    for tool in ("br", "zst", "gz"):
        compress_tool(os.path.join(s.root, "app.js"), tool)
    compress_tool(os.path.join(s.root, "css", "small.css"), "gz")
    write(os.path.join(s.root, "plain.js"), SMALL)
    return s


def sibling(s, name):
    with open(os.path.join(s.root, name), "rb") as f:
        return f.read()


def get(s, path, method="GET", **headers):
    return http_request(s.port, path, method=method, headers=headers)


@pytest.mark.parametrize("ae, enc, suffix", [
    ("gzip, deflate, br, zstd", "br", ".br"),
    ("gzip, deflate, br", "br", ".br"),
    ("gzip, zstd", "zstd", ".zst"),
    ("gzip", "gzip", ".gz"),
    ("br;q=0.5, gzip;q=0.8", "gzip", ".gz"),
    ("x-gzip", "gzip", ".gz"),
    ("*", "br", ".br"),
    ("identity;q=0, gzip;q=0.1", "gzip", ".gz"),
])
def test_accept_encoding_picks_sibling(make_server, ae, enc, suffix):
    s = site(make_server).start()
    r = get(s, "/app.js", **{"Accept-Encoding": ae})
    raw = sibling(s, "app.js" + suffix)
    assert r.status == 200
    assert r.headers["content-encoding"] == enc
    assert r.headers["vary"] == "Accept-Encoding"
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert int(r.headers["content-length"]) == len(raw)
    assert r.body == raw
    assert decode(enc, r.body) == BIG
    assert r.headers["etag"].endswith('-%s"' % enc)


@pytest.mark.parametrize("ae", [None, "", "identity", "deflate", "gzip;q=0, br;q=0, zstd;q=0",
                                "gzip;q=0.4, identity;q=0.5", "*;q=0"])
def test_identity_when_no_sibling_is_wanted(make_server, ae):
    s = site(make_server).start()
    headers = {} if ae is None else {"Accept-Encoding": ae}
    r = get(s, "/app.js", **headers)
    assert r.status == 200
    assert "content-encoding" not in r.headers
    # Vary on the identity response too: a cache must not hand it to a
    # client that asked for br.
    assert r.headers["vary"] == "Accept-Encoding"
    assert r.body == BIG
    assert int(r.headers["content-length"]) == len(BIG)
    plain = get(s, "/app.js", **{"Accept-Encoding": "gzip"})
    assert plain.headers["etag"] != r.headers["etag"]


def test_no_vary_without_siblings(make_server):
    s = site(make_server).start()
    r = get(s, "/plain.js", **{"Accept-Encoding": "gzip, br"})
    assert (r.status, r.body) == (200, SMALL)
    assert "vary" not in r.headers and "content-encoding" not in r.headers


def test_small_sibling_from_memory(make_server):
    s = site(make_server).start()
    with HttpClient(s.port) as c:
        for _ in range(3):   # the second and third come from the file cache
            r = c.request("/css/small.css", headers={"Accept-Encoding": "gzip"})
            assert r.headers["content-encoding"] == "gzip"
            assert r.headers["content-type"] == "text/css; charset=utf-8"
            assert zlib.decompress(r.body, 16 + zlib.MAX_WBITS) == SMALL


def test_sibling_by_its_own_name_is_served_as_itself(make_server):
    s = site(make_server).start()
    r = get(s, "/app.js.gz", **{"Accept-Encoding": "gzip"})
    assert r.status == 200
    assert r.headers["content-type"] == "application/gzip"
    assert "content-encoding" not in r.headers and "vary" not in r.headers
    assert r.body == sibling(s, "app.js.gz")
    coded = get(s, "/app.js", **{"Accept-Encoding": "gzip"})
    assert coded.body == r.body and coded.headers["etag"] != r.headers["etag"]


def test_older_or_irregular_sibling_is_not_used(make_server):
    s = site(make_server)
    write(os.path.join(s.root, "old.js"), BIG)
    write(os.path.join(s.root, "old.js.gz"), gzip.compress(b"stale"),
          mtime=os.stat(os.path.join(s.root, "old.js")).st_mtime - 60)
    write(os.path.join(s.root, "dir.js"), BIG)
    os.makedirs(os.path.join(s.root, "dir.js.gz"))
    write(os.path.join(s.root, "fifo.js"), BIG)
    os.mkfifo(os.path.join(s.root, "fifo.js.br"))
    s.start()
    for path, ae in (("/old.js", "gzip"), ("/dir.js", "gzip"), ("/fifo.js", "br")):
        r = get(s, path, **{"Accept-Encoding": ae})
        assert (r.status, r.body) == (200, BIG), path
        assert "content-encoding" not in r.headers and "vary" not in r.headers, path


def test_sibling_symlink_out_of_root_is_not_followed(make_server, tmp_path):
    s = site(make_server)
    outside = tmp_path / "secret.gz"
    outside.write_bytes(gzip.compress(b"secret"))
    write(os.path.join(s.root, "link.js"), BIG)
    os.symlink(str(outside), os.path.join(s.root, "link.js.gz"))
    s.start()
    r = get(s, "/link.js", **{"Accept-Encoding": "gzip"})
    assert (r.status, r.body) == (200, BIG)
    assert "content-encoding" not in r.headers


def test_range_head_and_conditionals_apply_to_the_representation(make_server):
    s = site(make_server).start()
    gz = sibling(s, "app.js.gz")
    ae = {"Accept-Encoding": "gzip"}
    full = get(s, "/app.js", **ae)
    etag = full.headers["etag"]
    r = get(s, "/app.js", Range="bytes=10-19", **ae)
    assert r.status == 206 and r.body == gz[10:20]
    assert r.headers["content-range"] == "bytes 10-19/%d" % len(gz)
    assert r.headers["content-encoding"] == "gzip" and r.headers["vary"] == "Accept-Encoding"
    h = get(s, "/app.js", method="HEAD", **ae)
    assert h.status == 200 and h.body == b"" and int(h.headers["content-length"]) == len(gz)
    assert h.headers["content-encoding"] == "gzip"
    nm = get(s, "/app.js", **{"If-None-Match": etag}, **ae)
    assert nm.status == 304 and nm.headers["etag"] == etag
    assert nm.headers["vary"] == "Accept-Encoding"
    # The gzip ETag does not validate the identity representation.
    assert get(s, "/app.js", **{"If-None-Match": etag}).status == 200
    ident = get(s, "/app.js").headers["etag"]
    assert get(s, "/app.js", **{"If-None-Match": ident}, **ae).status == 200
    ok = get(s, "/app.js", Range="bytes=0-3", **{"If-Range": etag}, **ae)
    assert ok.status == 206 and ok.body == gz[:4]
    stale = get(s, "/app.js", Range="bytes=0-3", **{"If-Range": ident}, **ae)
    assert stale.status == 200 and stale.body == gz
    multi = get(s, "/app.js", Range="bytes=0-1,5-6", **ae)
    assert multi.status == 206 and multi.headers["content-encoding"] == "gzip"
    assert gz[0:2] in multi.body and gz[5:7] in multi.body


def test_curl_compressed_decodes_to_the_original(make_server, tmp_path):
    s = site(make_server).start()
    for path, want in (("/app.js", BIG), ("/css/small.css", SMALL)):
        out = tmp_path / "out"
        hdr = tmp_path / "hdr"
        subprocess.run(["curl", "-sS", "--compressed", "-o", str(out), "-D", str(hdr),
                        "http://127.0.0.1:%d%s" % (s.port, path)], check=True, timeout=30)
        assert out.read_bytes() == want
        assert b"content-encoding: " in hdr.read_bytes().lower()


def test_precompressed_off(make_server):
    s = site(make_server, precompressed="off").start()
    r = get(s, "/app.js", **{"Accept-Encoding": "gzip, br"})
    assert (r.status, r.body) == (200, BIG)
    assert "content-encoding" not in r.headers and "vary" not in r.headers


def test_new_sibling_is_picked_up(make_server):
    s = site(make_server).start()
    r = get(s, "/plain.js", **{"Accept-Encoding": "gzip"})
    assert "vary" not in r.headers
    compress_tool(os.path.join(s.root, "plain.js"), "gz")
    # The file cache revalidates an entry (and its siblings) once a second.
    r = wait_for(lambda: (lambda x: x if "content-encoding" in x.headers else None)(
        get(s, "/plain.js", **{"Accept-Encoding": "gzip"})), 10, what="the new .gz")
    assert gzip.decompress(r.body) == SMALL
    os.unlink(os.path.join(s.root, "plain.js.gz"))
    r = wait_for(lambda: (lambda x: x if "vary" not in x.headers else None)(
        get(s, "/plain.js", **{"Accept-Encoding": "gzip"})), 10, what="the .gz to go")
    assert r.body == SMALL


def test_index_file_gets_its_sibling(make_server):
    s = make_server(workers=1)
    write(os.path.join(s.root, "docs", "index.html"), SMALL)
    compress_tool(os.path.join(s.root, "docs", "index.html"), "gz")
    s.start()
    r = get(s, "/docs/", **{"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert gzip.decompress(r.body) == SMALL


# --- cache_control and add_header ---------------------------------------

RULES = ["/assets/* public, max-age=31536000, immutable", "*.html no-cache",
         "/ no-store"]


def rules_site(make_server, **keys):
    s = make_server(workers=1, **keys)
    s.write_config(cache_control=RULES,
                   add_header=["X-Frame-Options: DENY",
                               "Strict-Transport-Security: max-age=63072000"])
    write(os.path.join(s.root, "assets", "a.html"), SMALL)
    write(os.path.join(s.root, "assets", "app.js"), SMALL)
    write(os.path.join(s.root, "docs", "page.html"), SMALL)
    write(os.path.join(s.root, "style.css"), SMALL)
    return s.start()


def test_cache_control_first_match_on_the_path(make_server):
    s = rules_site(make_server)
    want = {
        "/assets/a.html": "public, max-age=31536000, immutable",
        "/assets/%61pp.js": "public, max-age=31536000, immutable",   # decoded first
        "/docs/page.html": "no-cache",
        "/": "no-store",
    }
    for path, cc in want.items():
        r = get(s, path)
        assert r.status == 200, path
        assert r.headers["cache-control"] == cc, path
    r = get(s, "/style.css")
    assert r.status == 200 and "cache-control" not in r.headers


def test_cache_control_on_304_not_on_errors(make_server):
    s = rules_site(make_server)
    etag = get(s, "/docs/page.html").headers["etag"]
    r = get(s, "/docs/page.html", **{"If-None-Match": etag})
    assert r.status == 304 and r.headers["cache-control"] == "no-cache"
    r = get(s, "/docs/missing.html")
    assert r.status == 404 and "cache-control" not in r.headers
    r = get(s, "/assets")   # the redirect to the slash form matches no rule
    assert r.status == 301 and "cache-control" not in r.headers


def test_add_header_on_every_response(make_server):
    s = rules_site(make_server)
    etag = get(s, "/style.css").headers["etag"]
    responses = [get(s, "/style.css"), get(s, "/nope"), get(s, "/assets"),
                 get(s, "/style.css", **{"If-None-Match": etag}),
                 get(s, "/style.css", method="OPTIONS"), get(s, "/style.css", method="DELETE"),
                 get(s, "/style.css", Range="bytes=999999-")]
    assert [r.status for r in responses] == [200, 404, 301, 304, 204, 405, 416]
    for r in responses:
        assert r.headers["x-frame-options"] == "DENY", r.status
        assert r.headers["strict-transport-security"] == "max-age=63072000"
        assert [n.lower() for n, _ in r.raw_headers].count("x-frame-options") == 1
    # A request the parser refuses gets them too.
    raw = raw_exchange(s.port, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 ")
    assert b"\r\nX-Frame-Options: DENY\r\n" in raw


def check_config(tmp_path, lines):
    conf = tmp_path / "bad.conf"
    conf.write_text("root = %s\n" % tmp_path + "".join(l + "\n" for l in lines))
    p = subprocess.run([PREFORKD, "-c", str(conf), "-t"], capture_output=True, text=True,
                       timeout=30)
    return p.returncode, (p.stdout + p.stderr).strip(), str(conf)


@pytest.mark.parametrize("line, msg", [
    ("add_header = Content-Length: 5", "Content-Length is set by the server"),
    ("add_header = Transfer-Encoding: chunked", "Transfer-Encoding is set by the server"),
    ("add_header = connection: close", "Connection is set by the server"),
    ("add_header = Date: now", "Date is set by the server"),
    ("add_header = Cache-Control: no-cache", "use cache_control"),
    ("add_header = X Bad: 1", "with a token for a name"),
    ("add_header = X-Empty:", "without CR, LF, NUL"),
    ("add_header = X-Ctl: a\x01b", "without CR, LF, NUL"),
    ("cache_control = *.html", "expected GLOB VALUE"),
    ("cache_control = /[abc no-cache", "bad pattern"),
    ("autoindex_format = xml", 'expected "html" or "json"'),
    ("precompressed = maybe", "expected on/off"),
])
def test_bad_values_refused_at_check(tmp_path, line, msg):
    rc, out, conf = check_config(tmp_path, ["add_header = X-Ok: fine", line])
    assert rc == 1
    assert out.startswith("preforkd: " + conf + ":3: "), out
    assert msg in out, out


def test_good_values_pass_check(tmp_path):
    rc, out, _ = check_config(tmp_path, [
        "precompressed = off", "cache_control = /assets/* public, max-age=60",
        "cache_control = *.html no-cache", "add_header = X-Frame-Options: DENY",
        "add_header = Vary: Origin", "autoindex_format = json",
        "mime_types = /etc/mime.types"])
    assert (rc, out) == (0, "configuration ok")


# --- mime_types -----------------------------------------------------------

def test_mime_types_file_extends_builtin(make_server, tmp_path):
    types = tmp_path / "mime.types"
    types.write_text("# local types\n\ntext/x-custom\tcst\n"
                     "application/x-thing  thg THX\nimage/x-only\n"
                     "application/vnd.test+json vtj\n")
    s = make_server(workers=1, mime_types=str(types))
    for name in ("a.cst", "b.THX", "c.vtj", "d.css", "e.unknownext"):
        write(os.path.join(s.root, name), b"x")
    s.start()
    want = {"/a.cst": "text/x-custom; charset=utf-8", "/b.THX": "application/x-thing",
            "/c.vtj": "application/vnd.test+json; charset=utf-8",
            "/d.css": "text/css; charset=utf-8",
            "/e.unknownext": "application/octet-stream"}
    for path, ctype in want.items():
        assert get(s, path).headers["content-type"] == ctype, path


def test_debian_mime_types(make_server):
    s = make_server(workers=1, mime_types="/etc/mime.types")
    for name in ("a.js", "b.odt", "c.html"):
        write(os.path.join(s.root, name), b"x")
    s.start()
    assert get(s, "/a.js").headers["content-type"] == "text/javascript; charset=utf-8"
    assert get(s, "/b.odt").headers["content-type"] == \
        "application/vnd.oasis.opendocument.text"
    assert get(s, "/c.html").headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("content, line, msg", [
    ("text/plain txt\nnotatype foo\n", 2, 'expected TYPE/SUBTYPE then extensions, got "notatype"'),
    ("# c\n\n\ntext/x a/b\n", 4, 'expected an extension, got "a/b"'),
    ("te(xt/plain txt\n", 1, "expected TYPE/SUBTYPE"),
    ("text/plain " + "x" * 5000 + "\n", 1, "line too long"),
])
def test_bad_mime_types_line_at_check(tmp_path, content, line, msg):
    types = tmp_path / "bad.types"
    types.write_text(content)
    rc, out, _ = check_config(tmp_path, ["mime_types = %s" % types])
    assert rc == 1
    assert out.startswith("preforkd: %s:%d: " % (types, line)), out
    assert msg in out, out


def test_missing_mime_types_file_at_check(tmp_path):
    rc, out, _ = check_config(tmp_path, ["mime_types = %s/none.types" % tmp_path])
    assert rc == 1 and "none.types: No such file or directory" in out, out


# --- autoindex_format = json ----------------------------------------------

def test_json_listing(make_server):
    s = make_server(workers=1, autoindex_format="json")
    d = os.path.join(s.root, "d")
    write(os.path.join(d, "b.txt"), b"12345", mtime=1700000000)
    write(os.path.join(d, 'q"uote\\back.txt'), b"")
    write(os.path.join(d, "caf\xe9 \u2603.txt"), b"xy")
    write(os.path.join(d, ".hidden"), b"x")
    os.makedirs(os.path.join(d, "sub"))
    os.utime(os.path.join(d, "sub"), (1600000000, 1600000000))
    with open(os.path.join(d.encode(), b"bad\xffname"), "wb") as f:
        f.write(b"z")
    s.start()
    r = get(s, "/d/")
    assert r.status == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert int(r.headers["content-length"]) == len(r.body)
    items = json.loads(r.body.decode("utf-8"))
    names = [i["name"] for i in items]
    # byte order of the names, like the HTML listing; no dotfiles
    assert names == ["b.txt", "bad\ufffdname", "caf\xe9 \u2603.txt", 'q"uote\\back.txt', "sub"]
    b = items[0]
    assert b == {"name": "b.txt", "type": "file", "size": 5,
                 "mtime": "Tue, 14 Nov 2023 22:13:20 GMT"}
    assert items[4] == {"name": "sub", "type": "directory",
                        "mtime": "Sun, 13 Sep 2020 12:26:40 GMT"}
    assert get(s, "/d/", method="HEAD").body == b""


def test_json_listing_shows_dotfiles_when_allowed(make_server):
    s = make_server(workers=1, autoindex_format="json", dotfiles="allow")
    write(os.path.join(s.root, ".env"), b"x")
    s.start()
    assert [i["name"] for i in json.loads(get(s, "/").body)] == [".env"]


def test_json_listing_shows_only_what_a_request_would_serve(make_server):
    """The rule of the HTML listing (issue 11): links out of the root,
    dangling links and FIFOs are left out; a link inside shows its target."""
    s = make_server(workers=1, autoindex_format="json")
    d = os.path.join(s.root, "d")
    write(os.path.join(s.root, "x.txt"), b"1234567")
    write(os.path.join(d, "ok.txt"), b"ok")
    os.symlink("/etc/shadow", os.path.join(d, "shadowlink"))
    os.symlink("/etc", os.path.join(d, "etclink"))
    os.symlink("../x.txt", os.path.join(d, "inlink"))
    os.symlink("nowhere", os.path.join(d, "dangling"))
    os.mkfifo(os.path.join(d, "pipe"))
    s.start()
    items = json.loads(get(s, "/d/").body)
    assert [(i["name"], i["type"], i.get("size")) for i in items] == [
        ("inlink", "file", 7), ("ok.txt", "file", 2)]

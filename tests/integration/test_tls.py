"""HTTPS (docs/ARCHITECTURE.md: TLS, issue 16): TLS listeners beside plain ones, bodies
byte-identical to the files for Python's ssl, curl and openssl s_client,
old protocols refused, session resumption across workers, reloads,
ticket-key rotations (the keys the supervisor owns and pushes down the
channels) and binary upgrades (the keys handed to the new supervisor), certificate reload on HUP and refusal of a bad pair, the
handshake bounded by header_timeout, and the tls object of the status.

A throwaway CA and ECDSA P-256 certificates are made with the openssl CLI
(scripts/install-deps test installs it, with curl)."""
import calendar
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import PREFORKCTL, PREFORKD, free_port, read_response, tcp_sockets, \
    socket_inodes, wait_for, _Reader

OPENSSL = shutil.which("openssl")
CURL = shutil.which("curl")


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def make_cert(d, name, ca, ca_key, cn="localhost", days=30):
    """An ECDSA P-256 key and a certificate for localhost and 127.0.0.1
    signed by ca; returns (cert, key)."""
    key, csr, crt = (os.path.join(d, f"{name}.{x}") for x in ("key", "csr", "pem"))
    ext = os.path.join(d, f"{name}.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run(OPENSSL, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    run(OPENSSL, "req", "-new", "-key", key, "-subj", f"/CN={cn}", "-out", csr)
    run(OPENSSL, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-days", str(days), "-sha256", "-extfile", ext, "-out", crt)
    return crt, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pki"))
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    run(OPENSSL, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ca_key)
    run(OPENSSL, "req", "-x509", "-new", "-key", ca_key, "-sha256", "-days", "30",
        "-subj", "/CN=preforkd test CA", "-out", ca)
    one = make_cert(d, "one", ca, ca_key, cn="one.localhost")
    two = make_cert(d, "two", ca, ca_key, cn="two.localhost")
    return {"dir": d, "ca": ca, "one": one, "two": two}


def tls_server(make_server, pki, start=True, **keys):
    """A server with a plain listener (the harness waits on it) and a TLS
    one on s.tls_port, serving pki's "one" certificate."""
    tls_port = free_port()
    s = make_server(**keys)
    s.tls_port = tls_port
    s.write_config(listen=[f"127.0.0.1:{s.port}", f"127.0.0.1:{tls_port} tls"],
                   tls_certificate=pki["one"][0], tls_certificate_key=pki["one"][1])
    return s.start() if start else s


def client_ctx(pki, version=None):
    ctx = ssl.create_default_context(cafile=pki["ca"])
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def tls_connect(s, pki, ctx=None, session=None):
    ctx = ctx or client_ctx(pki)
    raw = socket.create_connection(("127.0.0.1", s.tls_port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="localhost", session=session)


def request(sock, reader, path, method="GET", headers=None):
    h = {"Host": "localhost"}
    h.update(headers or {})
    sock.sendall((f"{method} {path} HTTP/1.1\r\n" +
                  "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n").encode())
    return read_response(reader, method)


def fetch(s, pki, path="/small.txt", ctx=None, session=None):
    """One request over a fresh TLS connection; returns (response, session,
    reused, the pid of the worker that served it)."""
    with tls_connect(s, pki, ctx, session) as t:
        pid = serving_worker(s, t)
        r = request(t, _Reader(t), path)
        return r, t.session, t.session_reused, pid


def serving_worker(s, sock):
    """The worker holding the server side of sock (found by socket inode)."""
    port = sock.getsockname()[1]
    inodes = {ino for lp, rp, st, ino in tcp_sockets() if lp == s.tls_port and rp == port}
    owners = [w for w in s.workers() if socket_inodes(w) & inodes]
    assert len(owners) == 1, (owners, inodes)
    return owners[0]


def put(s, name, data):
    with open(os.path.join(s.root, name), "wb") as f:
        f.write(data)
    return data


def tls_snapshot(s, pred=lambda t: True, timeout=10):
    return s.snapshot(timeout=timeout, pred=lambda x: "tls" in x and pred(x["tls"]))


# --- serving -------------------------------------------------------------------

def test_get_head_ranges_keepalive_pipelining_identical_to_plain(make_server, pki):
    # The keep-alive clock starts once the 3 MiB reply is in the socket
    # buffer; a loaded test machine may take longer than 5s to decrypt it.
    s = tls_server(make_server, pki, keepalive_timeout="60s")
    small = put(s, "small.txt", b"hello over TLS\n" * 60)
    big = put(s, "big.bin", os.urandom(3 * 1024 * 1024 + 12345))   # many records, yields
    mid = put(s, "mid.bin", os.urandom(40000))
    os.mkdir(os.path.join(s.root, "dir"))
    put(s, "dir/a&b.txt", b"x")
    with tls_connect(s, pki) as t:
        assert t.selected_alpn_protocol() is None   # none offered, none forced
        rd = _Reader(t)
        for name, data in (("small.txt", small), ("big.bin", big), ("mid.bin", mid)):
            r = request(t, rd, f"/{name}")
            assert (r.status, r.body) == (200, data), name
            h = request(t, rd, f"/{name}", "HEAD")
            assert h.status == 200 and h.body == b""
            assert h.headers["content-length"] == str(len(data))
        r = request(t, rd, "/big.bin", headers={"Range": "bytes=100000-100099,-7"})
        assert r.status == 206 and r.headers["content-type"].startswith("multipart/byteranges")
        assert big[100000:100100] in r.body and big[-7:] in r.body
        r = request(t, rd, "/mid.bin", headers={"Range": "bytes=39990-"})
        assert (r.status, r.body) == (206, mid[39990:])
        etag = request(t, rd, "/small.txt", "HEAD").headers["etag"]
        assert request(t, rd, "/small.txt", headers={"If-None-Match": etag}).status == 304
        listing = request(t, rd, "/dir/")
        assert listing.status == 200 and b"a&amp;b.txt" in listing.body
        # Pipelined: three requests in one write, three answers in order.
        t.sendall(b"".join(f"GET /{n} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                           for n in ("mid.bin", "small.txt", "missing")))
        got = [read_response(rd) for _ in range(3)]
        assert [(g.status, g.body if g.status == 200 else b"") for g in got] == \
            [(200, mid), (200, small), (404, b"")]
    # The plain listener beside it serves the same bytes.
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as p:
        assert request(p, _Reader(p), "/big.bin").body == big


def test_slow_interleaved_tls_downloads_on_one_worker_stay_identical(make_server, pki):
    """Two clients with small receive buffers read two large files in turns
    from one worker: their sockets fill (WANT_WRITE, the sealed record
    offered again later) while the other connection takes the worker's
    record buffer. Both bodies arrive intact."""
    s = tls_server(make_server, pki, workers=1)
    # Same size, read in lockstep: each cursor often falls inside the range
    # the other connection's bytes occupy in the buffer.
    files = [put(s, f"f{i}.bin", os.urandom(6 * 1024 * 1024)) for i in range(2)]
    conns = []
    for i in range(2):
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(20)
        raw.connect(("127.0.0.1", s.tls_port))
        t = client_ctx(pki).wrap_socket(raw, server_hostname="localhost")
        t.sendall(f"GET /f{i}.bin HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        conns.append(t)
    got = [b"", b""]
    for _ in range(100000):
        busy = False
        for i, t in enumerate(conns):
            head, _, body = got[i].partition(b"\r\n\r\n")
            if len(body) < len(files[i]):
                got[i] += t.recv(min(8192, len(files[i]) - len(body) + 4096))
                busy = True
        if not busy:
            break
    for i, t in enumerate(conns):
        head, _, body = got[i].partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK") and body == files[i], i
        t.close()


def test_closing_reply_over_tls_ends_with_close_notify_and_loses_nothing(make_server, pki):
    """Connection: close: the whole body, then a clean TLS close (recv gives
    b"" rather than an error); with a second request already sent behind
    the closing one, the first answer still arrives whole."""
    s = tls_server(make_server, pki)
    data = put(s, "f.bin", os.urandom(200000))
    with tls_connect(s, pki) as t:
        t.sendall(b"GET /f.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        r = read_response(_Reader(t))
        assert (r.status, r.body) == (200, data)
        assert t.recv(10) == b""
    with tls_connect(s, pki) as t:
        t.sendall(b"GET /f.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                  b"GET /f.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        r = read_response(_Reader(t))
        assert (r.status, r.body) == (200, data)


def syscw(pid):
    """Write-class syscalls (write, writev, sendfile...) the process made."""
    with open(f"/proc/{pid}/io") as f:
        return int(re.search(r"^syscw: (\d+)", f.read(), re.M).group(1))


def one_segment_exchange(s, pki, req, replies=1):
    """A TLS client whose Finished and first request leave in one segment
    (as wrk's often do), so the server reads them together; returns the
    plaintext it got until the server closed or `replies` answers came."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = client_ctx(pki).wrap_bio(incoming, outgoing, server_hostname="localhost")
    with socket.create_connection(("127.0.0.1", s.tls_port), timeout=10) as raw:
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                raw.sendall(outgoing.read())
                data = raw.recv(65536)
                assert data, "closed during the handshake"
                incoming.write(data)
        obj.write(req)
        raw.sendall(outgoing.read())
        got = b""
        while got.count(b"HTTP/1.1 200") < replies or not got.endswith(b"x" * 64):
            try:
                chunk = obj.read(65536)
            except ssl.SSLWantReadError:
                data = raw.recv(65536)
                if not data:
                    break
                incoming.write(data)
                continue
            except ssl.SSLZeroReturnError:
                break
            if not chunk:
                break
            got += chunk
        return got


def test_one_request_connection_costs_two_writes(make_server, pki):
    """Issue 16: a Connection: close request over TLS is the handshake
    flight, then the session ticket, the reply and the close_notify in one
    write (not three), counted by the worker's write syscalls; a kept-alive
    first reply carries the ticket the same way."""
    s = tls_server(make_server, pki, workers=1, access_log="off")
    put(s, "x.txt", b"x" * 1024)
    pid = s.workers()[0]
    closing = b"GET /x.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    one_segment_exchange(s, pki, closing)       # the file cache warmed
    n = 5
    before = syscw(pid)
    for _ in range(n):
        got = one_segment_exchange(s, pki, closing)
        assert got.startswith(b"HTTP/1.1 200") and got.endswith(b"x" * 1024)
    assert syscw(pid) - before == 2 * n
    before = syscw(pid)
    got = one_segment_exchange(s, pki, b"GET /x.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    assert got.endswith(b"x" * 1024)
    # the flight, the ticket with the reply, then (the client gone) the
    # close_notify: without the ticket held back it would be 4
    wait_for(lambda: syscw(pid) - before >= 3, timeout=5)
    time.sleep(0.2)
    assert syscw(pid) - before == 3


def test_alpn_and_default_protocols(make_server, pki):
    s = tls_server(make_server, pki)
    put(s, "small.txt", b"a")
    ctx = client_ctx(pki)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with tls_connect(s, pki, ctx) as t:
        assert t.selected_alpn_protocol() == "http/1.1"
        assert t.version() == "TLSv1.3"
        cipher = t.cipher()[0]
        assert cipher in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                          "TLS_CHACHA20_POLY1305_SHA256")
    with tls_connect(s, pki, client_ctx(pki, ssl.TLSVersion.TLSv1_2)) as t:
        assert t.version() == "TLSv1.2"
        assert "GCM" in t.cipher()[0] or "CHACHA20" in t.cipher()[0]
        assert t.cipher()[0].startswith("ECDHE-")       # forward secrecy


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_tls_1_0_and_1_1_refused_by_the_server(make_server, pki, version):
    """The client offers only the old version (security level 0, so the
    client side allows it): the server answers with a protocol_version
    alert and counts a handshake error."""
    s = tls_server(make_server, pki)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki["ca"])
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    v = getattr(ssl.TLSVersion, version)
    ctx.minimum_version = ctx.maximum_version = v
    with pytest.raises(ssl.SSLError) as e:
        tls_connect(s, pki, ctx).close()
    assert "PROTOCOL_VERSION" in str(e.value).upper(), e.value
    snap = tls_snapshot(s, lambda t: t["handshake_errors"] >= 1)
    assert snap["tls"]["handshake_errors"] == 1 and snap["tls"]["handshakes"] == 0


def test_curl_and_openssl_s_client_get_identical_bytes(make_server, pki, tmp_path):
    s = tls_server(make_server, pki)
    data = put(s, "file.bin", os.urandom(700000))
    out = tmp_path / "curl.out"
    run(CURL, "-sS", "--fail", "--cacert", pki["ca"], "-o", str(out),
        f"https://localhost:{s.tls_port}/file.bin",
        "--resolve", f"localhost:{s.tls_port}:127.0.0.1")
    assert out.read_bytes() == data
    p = subprocess.run([OPENSSL, "s_client", "-connect", f"127.0.0.1:{s.tls_port}",
                        "-servername", "localhost", "-CAfile", pki["ca"], "-verify_return_error",
                        "-quiet", "-ign_eof"],
                       input=b"GET /file.bin HTTP/1.0\r\nHost: localhost\r\n\r\n",
                       capture_output=True, timeout=30)
    head, _, body = p.stdout.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), p.stderr[-500:]
    assert body == data


# --- resumption ----------------------------------------------------------------

def other_worker_resume(s, pki, ctx):
    """A full handshake on one worker (kept open, so that with
    max_connections = 1 that worker stops accepting), then a resumption
    that can only land on the other worker. Returns (first pid, second
    pid, reused)."""
    with tls_connect(s, pki, ctx) as first:
        assert request(first, _Reader(first), "/small.txt").status == 200
        sess, pid1 = first.session, serving_worker(s, first)
        assert not first.session_reused
        r, _, reused, pid2 = fetch(s, pki, ctx=ctx, session=sess)
        assert r.status == 200
    return pid1, pid2, reused


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_ticket_from_one_worker_resumes_on_the_other(make_server, pki, version):
    s = tls_server(make_server, pki, workers=2, max_connections=1)
    s.wait_workers(2)
    put(s, "small.txt", b"resume me")
    ctx = client_ctx(pki, version)
    pid1, pid2, reused = other_worker_resume(s, pki, ctx)
    assert pid1 != pid2 and reused
    snap = tls_snapshot(s, lambda t: t["handshakes"] >= 2)
    assert (snap["tls"]["handshakes"], snap["tls"]["resumed"]) == (2, 1)


def test_ticket_resumes_after_a_reload(make_server, pki):
    s = tls_server(make_server, pki, workers=2)
    put(s, "small.txt", b"x")
    ctx = client_ctx(pki)
    _, sess, reused, _ = fetch(s, pki, ctx=ctx)
    assert not reused
    old = set(s.workers())
    s.signal(signal.SIGHUP)
    s.snapshot(timeout=20, pred=lambda x: x["generation"] == 2 and
               all(w["generation"] == 2 and w["state"] == "ready" for w in x["workers"]) and
               len(x["workers"]) == 2)
    assert not old & set(s.workers())
    r, _, reused, _ = fetch(s, pki, ctx=ctx, session=sess)
    assert r.status == 200 and reused


def test_rotated_keys_reach_every_worker_and_old_tickets_resume_for_two_rotations(
        make_server, pki):
    s = tls_server(make_server, pki, workers=2, max_connections=1,
                   tls_ticket_key_rotation="2s")
    s.wait_workers(2)
    put(s, "small.txt", b"x")
    start = tls_snapshot(s)["tls"]["ticket_key_rotations"]
    ctx = client_ctx(pki)
    _, old_sess, _, _ = fetch(s, pki, ctx=ctx)
    snap = tls_snapshot(s, lambda t: t["ticket_key_rotations"] >= start + 1, timeout=15)
    seen = snap["tls"]["ticket_key_rotations"]
    # Sealed under a key now one rotation old: still accepted.
    _, _, reused, _ = fetch(s, pki, ctx=ctx, session=old_sess)
    after = tls_snapshot(s)["tls"]["ticket_key_rotations"]
    if after - start < 3:         # still inside the window when it was tried
        assert reused
    # A ticket sealed with the rotated-in key by one worker opens on the
    # other: the new key came down the channel to both.
    pid1, pid2, reused = other_worker_resume(s, pki, ctx)
    assert pid1 != pid2 and reused
    assert f"session-ticket keys rotated ({seen})" in s.error_log()
    # Three rotations later the old key is gone: a full handshake.
    tls_snapshot(s, lambda t: t["ticket_key_rotations"] >= start + 3, timeout=20)
    _, _, reused, _ = fetch(s, pki, ctx=ctx, session=old_sess)
    assert not reused


@pytest.fixture
def tls_upgradable(make_server, pki):
    """Factory: a started TLS server that can be upgraded (test_upgrade's
    Upgradable: its own copy of the binary, every supervisor cleaned up)."""
    from test_upgrade import Upgradable
    made = []

    def factory(**keys):
        u = Upgradable(tls_server(make_server, pki, start=False, **keys))
        made.append(u)
        return u.start()

    yield factory
    for u in made:
        u.cleanup()


def binary_upgrade(u):
    """USR2 after a "package upgrade" of the binary; returns the new
    supervisor's pid once the old one is gone."""
    from test_upgrade import install
    install(u.exe)
    old = u.pidfile_pid()
    os.kill(old, signal.SIGUSR2)
    return u.upgraded(old)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_ticket_resumes_after_a_binary_upgrade(tls_upgradable, pki, version):
    u = tls_upgradable(workers=2)
    s = u.srv
    put(s, "small.txt", b"upgrade me")
    ctx = client_ctx(pki, version)
    _, sess, reused, before = fetch(s, pki, ctx=ctx)
    assert not reused
    old = s.pid
    new = binary_upgrade(u)
    # fetch finds the serving worker among the new supervisor's children.
    r, _, reused, after = fetch(s, pki, ctx=ctx, session=sess)
    assert (r.status, r.body) == (200, b"upgrade me")
    assert new != old and after != before
    assert reused
    assert f"[{new}] info: upgrade: took over the session-ticket keys (1;" in s.error_log()


def rotations_logged_by(s, pid):
    return [int(n) for n in re.findall(
        rf"\[{pid}\] info: tls: session-ticket keys rotated \((\d+)\)", s.error_log())]


def test_key_rotation_goes_on_after_a_binary_upgrade(tls_upgradable, pki):
    u = tls_upgradable(workers=2, tls_ticket_key_rotation="2s")
    s = u.srv
    put(s, "small.txt", b"x")
    ctx = client_ctx(pki)
    tls_snapshot(s, lambda t: t["ticket_key_rotations"] >= 1, timeout=15)
    _, sess, _, _ = fetch(s, pki, ctx=ctx)
    sealed = tls_snapshot(s)["tls"]["ticket_key_rotations"]
    new = binary_upgrade(u)
    # The new supervisor rotates the ring it was handed and counts on from
    # the old one's count (at least `sealed` when it forked); one that drew
    # its own keys would log "rotated (1)".
    wait_for(lambda: rotations_logged_by(s, new), 15, what="a rotation by the new supervisor")
    assert rotations_logged_by(s, new)[0] >= sealed + 1 >= 2
    # Sealed before the upgrade, three rotations later its key is gone.
    tls_snapshot(s, lambda t: t["ticket_key_rotations"] >= sealed + 3, timeout=20)
    _, _, reused, _ = fetch(s, pki, ctx=ctx, session=sess)
    assert not reused


# --- certificates ----------------------------------------------------------------

def peer_cn(s, pki):
    with tls_connect(s, pki) as t:
        return dict(x[0] for x in t.getpeercert()["subject"])["commonName"]


def test_hup_rereads_the_certificate_and_refuses_a_bad_pair(make_server, pki):
    s = tls_server(make_server, pki, workers=1)
    assert peer_cn(s, pki) == "one.localhost"
    s.write_config(tls_certificate=pki["two"][0], tls_certificate_key=pki["two"][1])
    s.signal(signal.SIGHUP)
    wait_for(lambda: peer_cn(s, pki) == "two.localhost", 20, what="the new certificate")
    snap = tls_snapshot(s)
    assert snap["tls"]["certificates"][0]["file"] == pki["two"][0]
    # Certificate two with key one: refused, two keeps serving.
    s.write_config(tls_certificate_key=pki["one"][1])
    s.signal(signal.SIGHUP)
    msg = (f"reload failed: {pki['one'][1]}: the key does not match the certificate in "
           f"{pki['two'][0]}; keeping the old configuration")
    wait_for(lambda: msg in s.error_log(), 10, what="the refusal")
    assert tls_snapshot(s)["generation"] == 2
    assert peer_cn(s, pki) == "two.localhost"


def check(s):
    return subprocess.run([PREFORKD, "-c", s.conf_path, "-t"], capture_output=True, text=True)


def test_config_check_names_the_bad_file(make_server, pki, tmp_path):
    s = tls_server(make_server, pki, start=False)
    assert check(s).returncode == 0
    missing = str(tmp_path / "missing.pem")
    s.write_config(tls_certificate=missing)
    p = check(s)
    assert (p.returncode, p.stderr) == (1, f"preforkd: {missing}: No such file or directory\n")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    s.write_config(tls_certificate=str(junk))
    p = check(s)
    assert p.returncode == 1 and p.stderr.startswith(f"preforkd: {junk}: no PEM certificate")
    s.write_config(tls_certificate=pki["one"][0], tls_certificate_key=pki["two"][1])
    p = check(s)
    assert p.stderr == (f"preforkd: {pki['two'][1]}: the key does not match the "
                        f"certificate in {pki['one'][0]}\n")
    s.write_config(tls_certificate=None, tls_certificate_key=None)
    p = check(s)
    assert p.stderr == f"preforkd: listen 127.0.0.1:{s.tls_port} tls: tls_certificate is not set\n"
    s.write_config(tls_certificate=pki["one"][0], tls_certificate_key=pki["one"][1],
                   tls_protocols="TLSv1.1")
    assert check(s).stderr.startswith("preforkd: tls_protocols: expected TLSv1.2")


def test_expired_certificate_refused(make_server, pki, tmp_path):
    d = str(tmp_path)
    crt, key = make_cert(d, "old", pki["ca"], os.path.join(pki["dir"], "ca.key"), days=-1)
    end = ssl._ssl._test_decode_cert(crt)["notAfter"]
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.strptime(end, "%b %d %H:%M:%S %Y GMT"))
    s = tls_server(make_server, pki, start=False)
    s.write_config(tls_certificate=crt, tls_certificate_key=key)
    assert check(s).stderr == f"preforkd: {crt}: the certificate expired at {when}\n"


# --- limits and status -------------------------------------------------------------

def test_silent_tls_client_is_cut_at_header_timeout(make_server, pki):
    s = tls_server(make_server, pki, header_timeout="1s")
    with socket.create_connection(("127.0.0.1", s.tls_port), timeout=15) as c:
        c.sendall(b"\x16\x03\x01\x02\x00")       # a ClientHello's record header, then nothing
        assert c.recv(100) == b""                 # closed by the server, not by our timeout
    snap = tls_snapshot(s, lambda t: t["handshake_errors"] >= 1)
    assert snap["tls"]["handshake_errors"] == 1
    assert snap["totals"]["connections_active"] == 0


def test_status_tls_object(make_server, pki):
    s = tls_server(make_server, pki)
    put(s, "small.txt", b"x")
    fetch(s, pki)
    snap = tls_snapshot(s, lambda t: t["handshakes"] == 1)
    t = snap["tls"]
    assert set(t) >= {"handshakes", "resumed", "handshake_errors", "certificates"}
    cert = t["certificates"][0]
    assert cert["file"] == pki["one"][0]
    end = ssl._ssl._test_decode_cert(pki["one"][0])["notAfter"]
    expect = calendar.timegm(time.strptime(end, "%b %d %H:%M:%S %Y GMT"))
    assert cert["not_after"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expect))
    snap_t = calendar.timegm(time.strptime(snap["time"], "%Y-%m-%dT%H:%M:%SZ"))
    assert cert["expires_in_s"] == expect - snap_t
    p = subprocess.run([PREFORKCTL, "-c", s.conf_path, "status"], capture_output=True,
                       text=True, timeout=20)
    assert "\ntls:          1 handshakes, 0 resumed, 0 failed\n" in p.stdout, p.stdout
    assert re.search(f"\ncertificate:  {re.escape(pki['one'][0])} expires "
                     f"{cert['not_after']} \\(in (29d23h\\d\\dm|30d00h00m)\\)\n", p.stdout), p.stdout


def test_proxy_header_comes_before_the_tls_handshake(make_server, pki):
    """A listener with both flags (docs/ARCHITECTURE.md: Behind a balancer): the PROXY header is read
    from the raw socket, the handshake starts on the next byte, and the
    access log names the address from the header. A connection refused in
    the PROXY phase is not a TLS handshake error."""
    port = free_port()
    s = make_server(workers=1, header_timeout="2s")
    s.write_config(listen=[f"127.0.0.1:{s.port}", f"127.0.0.1:{port} tls proxy_protocol"],
                   tls_certificate=pki["one"][0], tls_certificate_key=pki["one"][1])
    put(s, "small.txt", b"proxied and encrypted\n")
    s.start()
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw.sendall(b"PROXY TCP4 192.0.2.9 198.51.100.1 40000 443\r\n")
    with client_ctx(pki).wrap_socket(raw, server_hostname="localhost") as t:
        r = request(t, _Reader(t), "/small.txt")
    assert (r.status, r.body) == (200, b"proxied and encrypted\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as bad:
        bad.sendall(b"GET / HTTP/1.1\r\n\r\n")    # no PROXY header: refused
        try:
            assert bad.recv(100) == b""
        except ConnectionResetError:
            pass                                    # closed with our bytes unread

    def logged():
        with open(s.access_log_path) as f:
            return [l for l in f if "/small.txt" in l]
    assert wait_for(logged, 10, what="the access-log line")[0].startswith("192.0.2.9 ")
    snap = s.snapshot(pred=lambda x: x["totals"]["proxy_rejected"] == 1)
    assert snap["tls"]["handshakes"] == 1
    assert snap["tls"]["handshake_errors"] == 0

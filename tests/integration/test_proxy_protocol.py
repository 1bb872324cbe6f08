"""PROXY protocol v1/v2 on listeners marked proxy_protocol (docs/ARCHITECTURE.md: Behind a balancer):
the client address from the header is what the access log shows; a
missing, malformed, incomplete or untrusted header closes the connection
without a byte of HTTP and is counted in totals.proxy_rejected."""
import os
import socket
import struct
import subprocess
import time

import pytest

from conftest import PREFORKD, free_port, wait_for

SIG2 = b"\r\n\r\n\x00\r\nQUIT\n"
GET = b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
BODY = b"hello\n"


def v2_inet(src, sport, dst="127.0.0.1", dport=80, tlvs=b""):
    body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport) + tlvs
    return SIG2 + b"\x21\x11" + struct.pack("!H", len(body)) + body


def v2_inet6(src, sport, dst="::1", dport=80):
    body = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
            struct.pack("!HH", sport, dport))
    return SIG2 + b"\x21\x21" + struct.pack("!H", len(body)) + body


V2_LOCAL = SIG2 + b"\x20\x00\x00\x00"


def raw_exchange(port, data, timeout=5.0, source=None):
    """Sends data, returns what came back until the server closed. A refused
    header may end in a reset (we close with its bytes unread): that is a
    close too, with nothing received."""
    with socket.socket() as s:
        if source:
            s.bind((source, 0))
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
        out = b""
        try:
            if data:
                s.sendall(data)
            while (chunk := s.recv(65536)):
                out += chunk
        except ConnectionResetError:
            pass
        return out


@pytest.fixture
def pp(make_server):
    """A server with a plain listener (for readiness) and a PROXY one."""
    def start(**keys):
        pport = free_port()
        srv = make_server(header_timeout="1s", **keys)
        srv.write_config(listen=[f"127.0.0.1:{srv.port}", f"127.0.0.1:{pport}  proxy_protocol"])
        with open(os.path.join(srv.root, "hello.txt"), "wb") as f:
            f.write(BODY)
        srv.start()
        srv.pport = pport
        return srv
    return start


def log_lines(srv, n):
    """The access-log lines of /hello.txt requests (not readiness probes)."""
    def lines():
        try:
            with open(srv.access_log_path) as f:
                out = [l.rstrip("\n") for l in f if "/hello.txt" in l]
        except OSError:
            return None
        return out if len(out) >= n else None
    return wait_for(lines, 10, what=f"{n} access-log lines")


def rejected(srv, n):
    return srv.snapshot(pred=lambda s: s["totals"]["proxy_rejected"] >= n)["totals"]["proxy_rejected"]


def test_v1_and_v2_addresses_reach_the_access_log(pp):
    srv = pp()
    reqs = [b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n" + GET,
            b"PROXY TCP6 2001:db8::7 2001:db8::1 1 443\r\n" + GET,
            v2_inet("203.0.113.9", 4000) + GET,
            v2_inet6("2001:db8::9", 4001) + GET,
            v2_inet("198.51.100.77", 4002, tlvs=b"\x04\x00\x03pad\x01\x00\x08http/1.1") + GET,
            b"PROXY UNKNOWN\r\n" + GET,
            V2_LOCAL + GET]
    for r in reqs:
        out = raw_exchange(srv.pport, r)
        assert out.startswith(b"HTTP/1.1 200 ") and out.endswith(BODY), (r, out)
    lines = log_lines(srv, len(reqs))
    # Two workers write their own lines: compare as a multiset.
    assert sorted(l.split(" ", 1)[0] for l in lines) == sorted([
        "192.0.2.7", "2001:db8::7", "203.0.113.9", "2001:db8::9", "198.51.100.77",
        "127.0.0.1", "127.0.0.1"])
    assert all('"GET /hello.txt HTTP/1.1" 200 6 ' in l for l in lines)
    assert srv.snapshot()["totals"]["proxy_rejected"] == 0


def test_header_split_byte_by_byte_and_keepalive(pp):
    srv = pp()
    hdr = v2_inet("192.0.2.44", 5555)
    with socket.create_connection(("127.0.0.1", srv.pport), timeout=5) as s:
        for i in range(len(hdr)):
            s.sendall(hdr[i:i + 1])
            time.sleep(0.002)
        ka = b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
        s.sendall(ka)
        first = s.recv(4096)
        assert first.startswith(b"HTTP/1.1 200 ") and first.endswith(BODY)
        s.sendall(GET)
        rest = b""
        for _ in range(100):
            chunk = s.recv(4096)
            if not chunk:
                break
            rest += chunk
        assert rest.startswith(b"HTTP/1.1 200 ") and rest.endswith(BODY)
    lines = log_lines(srv, 2)
    assert [l.split(" ", 1)[0] for l in lines] == ["192.0.2.44", "192.0.2.44"]


def test_bad_missing_and_incomplete_headers_close_and_count(pp):
    srv = pp()
    before = srv.snapshot(pred=lambda s: s["totals"]["requests"] >= 1)["totals"]["requests"]
    bad = [GET,                                              # no header at all
           b"PROXY TCP4 192.0.2.7 198.51.100.1 99999 443\r\n" + GET,
           b"PROXY TCP4 not-an-address 198.51.100.1 1 2\r\n" + GET,
           SIG2 + b"\x21\x11\x00\x0c" + b"\x00" * 4,          # v2 then FIN mid-body
           SIG2 + b"\x21\x11\x00\x10" + b"\x00" * 12 + b"\x04\x00\x09x",  # TLV overruns
           SIG2 + b"\x21\x11\xff\xff",                        # longer than we accept
           b"\x16\x03\x01\x00\x05hello",                      # TLS without a header
           b"PROXY " + b"A" * 200 + b"\r\n" + GET]            # v1 over 107 bytes
    for r in bad:
        assert raw_exchange(srv.pport, r) == b"", r
    # Incomplete and then silent: the header timeout (1s) ends it.
    assert raw_exchange(srv.pport, b"PROXY TCP4 192.0.2.7", timeout=15) == b""
    # Connect and say nothing at all.
    assert raw_exchange(srv.pport, b"", timeout=15) == b""
    assert rejected(srv, len(bad) + 2) == len(bad) + 2
    # The plain listener is untouched, and nothing was logged as a request.
    assert raw_exchange(srv.port, GET).endswith(BODY)
    lines = log_lines(srv, 1)
    assert len(lines) == 1 and lines[0].startswith("127.0.0.1 ")
    assert srv.snapshot()["totals"]["requests"] == before + 1


def test_untrusted_source_is_refused_even_with_a_valid_header(pp):
    srv = pp(proxy_protocol_from="10.0.0.0/8, 2001:db8::/32")
    before = srv.snapshot(pred=lambda s: s["totals"]["requests"] >= 1)["totals"]["requests"]
    for r in (b"PROXY TCP4 192.0.2.7 198.51.100.1 1 2\r\n" + GET, V2_LOCAL + GET):
        assert raw_exchange(srv.pport, r) == b""
    assert rejected(srv, 2) == 2
    assert srv.snapshot()["totals"]["requests"] == before


def test_trusted_list_covers_the_source(pp):
    srv = pp(proxy_protocol_from="192.0.2.0/24 127.0.0.2/32")
    out = raw_exchange(srv.pport, b"PROXY TCP4 192.0.2.7 198.51.100.1 1 2\r\n" + GET)
    assert out == b""
    out = raw_exchange(srv.pport, b"PROXY TCP4 192.0.2.8 198.51.100.1 1 2\r\n" + GET,
                       source="127.0.0.2")
    assert out.endswith(BODY)
    assert log_lines(srv, 1)[0].startswith("192.0.2.8 ")


@pytest.mark.parametrize("line,msg", [
    ("listen = 127.0.0.1:0 proxy",
     'unknown flag "proxy" after the address (expected "tls", "proxy_protocol" or "cc=NAME")'),
    ("agent_listen = 127.0.0.1:0 tls", "takes an address only, no flags"),
    ("agent_listen = 127.0.0.1:0 cc=cubic", "takes an address only, no flags"),
    ("proxy_protocol_from = 10.0.0.0/33", 'expected an address or ADDR/BITS, got "10.0.0.0/33"'),
    ("proxy_protocol_from = ,", "expected at least one address or ADDR/BITS"),
    ("agent_listen = nowhere:99999", "expected a port 0..65535"),
])
def test_config_errors(tmp_path, line, msg):
    conf = tmp_path / "c.conf"
    conf.write_text(f"root = {tmp_path}\n{line}\n")
    r = subprocess.run([PREFORKD, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert r.returncode == 1
    assert f"{conf}:2: " in r.stderr and msg in r.stderr, r.stderr

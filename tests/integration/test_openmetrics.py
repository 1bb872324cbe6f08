"""OpenMetrics (issue 20 item 3): status_format = openmetrics on the status
pipe, and preforkctl status --openmetrics from a json or openmetrics pipe.
promtool (Debian's prometheus package) must accept every output, and the
values must be the server's exact counts. Every number of the JSON snapshot
has a family, tls and agent ones included (issue 14 item 4)."""
import calendar
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time

from conftest import PREFORKCTL, fake_preforkd, free_port, http_request, read_status_bytes, \
    wait_for

SAMPLE = re.compile(r'^([a-z_]+)(?:\{([^}]*)\})? (-?[0-9.]+)$')


def promtool_ok(text):
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/install-deps test installs prometheus"
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, f"promtool: {p.stdout}{p.stderr}\n{text}"


def parse(text):
    """{(name, labels): value} of an OpenMetrics text that ends in one # EOF."""
    assert text.endswith("\n# EOF\n") and text.count("# EOF") == 1, text[-200:]
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE|UNIT) preforkd_[a-z_]+ |^# EOF$", line), line
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def first_snapshot(path):
    raw = read_status_bytes(path, lambda b: b"# EOF\n" in b)
    return raw[:raw.index(b"# EOF\n") + 6].decode()


def serve(server, n):
    for _ in range(n):
        assert http_request(server.port, "/").status == 200


def ctl(server, *args):
    p = subprocess.run([PREFORKCTL, "-c", server.conf_path, "status", *args],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def test_pipe_writes_openmetrics_with_exact_counts(make_server):
    s = make_server(status_format="openmetrics").start()
    s.wait_workers(2)
    serve(s, 7)  # and the start-up probe: 8

    def counted():
        m = parse(first_snapshot(s.status_path))
        return m if m[("preforkd_requests_total", "")] >= 8 else None
    m = wait_for(counted, 10, what="8 requests counted")
    assert m[("preforkd_requests_total", "")] == 8
    assert m[("preforkd_responses_total", 'class="2xx"')] == 8
    assert m[("preforkd_workers_running", "")] == 2
    assert m[("preforkd_generation", "")] == 1
    workers = {k[1]: v for k, v in m.items() if k[0] == "preforkd_worker_requests_total"}
    assert len(workers) == 2, workers
    for labels in workers:
        assert re.fullmatch(r'slot="[01]",generation="1",state="(starting|ready)"', labels)
    assert sum(workers.values()) == 8
    promtool_ok(first_snapshot(s.status_path))


def test_ctl_openmetrics_from_json_pipe(make_server):
    s = make_server().start()
    serve(s, 5)  # and the start-up probe: 6
    snap = s.snapshot(timeout=10, pred=lambda j: j["totals"]["requests"] >= 6)
    assert snap["totals"]["requests"] == 6
    rc, out, err = ctl(s, "--openmetrics")
    assert rc == 0, err
    promtool_ok(out)
    m = parse(out)
    assert m[("preforkd_requests_total", "")] == 6
    assert m[("preforkd_sent_bytes_total", "")] == snap["totals"]["bytes_out"]
    want = sorted(calendar.timegm(time.strptime(w["started"], "%Y-%m-%dT%H:%M:%SZ"))
                  for w in snap["workers"])
    starts = sorted(v for k, v in m.items() if k[0] == "preforkd_worker_start_time_seconds")
    assert starts == want and len(want) == 2


KNOWN = {
    "version": 1, "time": "2026-11-23T15:04:05Z", "pid": 4242, "uptime_s": 3725.5,
    "generation": 3, "listen": ["127.0.0.1:8080"], "workers_target": 4, "workers_running": 1,
    "totals": {"connections_accepted": 17, "connections_active": 2, "requests": 1234,
               "responses": {"1xx": 0, "2xx": 1200, "3xx": 4, "4xx": 29, "5xx": 1},
               "bytes_in": 98765, "bytes_out": 18446744073709551615},
    "reloads": 2, "worker_exits_unexpected": 5, "workers_hung_killed": 6,
    "messages_dropped": 7, "upgrades": 8, "upgrades_failed": 9,
    "started": "2026-11-23T14:00:00Z",
    "agent": {"state": "drain", "answer": "drain"},
    "tls": {"handshakes": 10, "resumed": 11, "handshake_errors": 12, "ticket_key_rotations": 13,
            "certificates": [{"file": "/etc/ssl/a.pem", "not_after": "2026-12-23T15:04:05Z",
                              "expires_in_s": 2592000}]},
    "workers": [{"slot": 3, "pid": 4243, "generation": 3, "state": "backoff \"x\"",
                 "started": "2026-11-23T15:04:00Z", "requests": 9007199254740993,
                 "connections_active": 1, "heartbeat_age_ms": 120}],
}


def feed(path, data, hold=5.0):
    """Writes data into the FIFO once a reader opens it; holds it open a while."""
    def run():
        deadline = time.monotonic() + hold
        while time.monotonic() < deadline:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                time.sleep(0.01)
        else:
            return
        try:
            os.set_blocking(fd, True)
            os.write(fd, data)
            time.sleep(max(0.0, min(1.0, deadline - time.monotonic())))
        except BrokenPipeError:
            pass
        finally:
            os.close(fd)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def ctl_openmetrics(tmp_path, snap):
    """preforkctl status --openmetrics of one JSON snapshot fed through a
    real FIFO, beside a stand-in preforkd; returns its stdout after checking
    it succeeded and promtool accepts it."""
    fifo = str(tmp_path / "status")
    os.mkfifo(fifo)
    p, pidfile = fake_preforkd(str(tmp_path))
    try:
        t = feed(fifo, (json.dumps(snap) + "\n").encode())
        r = subprocess.run([PREFORKCTL, "-p", pidfile, "-s", fifo, "status", "--openmetrics"],
                           capture_output=True, text=True, timeout=30)
        t.join(10)
    finally:
        p.kill()
        p.wait()
    assert (r.returncode, r.stderr) == (0, "")
    promtool_ok(r.stdout)
    return r.stdout


def test_ctl_openmetrics_converts_every_json_field_exactly(tmp_path):
    out = ctl_openmetrics(tmp_path, KNOWN)
    samples = [line for line in out.splitlines() if not line.startswith("#")]
    labels = 'slot="3",generation="3",state="backoff \\"x\\""'
    assert samples == [
        "preforkd_uptime_seconds 3725.5",
        "preforkd_generation 3",
        "preforkd_workers_target 4",
        "preforkd_workers_running 1",
        "preforkd_connections_accepted_total 17",
        "preforkd_connections_active 2",
        "preforkd_requests_total 1234",
        'preforkd_responses_total{class="1xx"} 0',
        'preforkd_responses_total{class="2xx"} 1200',
        'preforkd_responses_total{class="3xx"} 4',
        'preforkd_responses_total{class="4xx"} 29',
        'preforkd_responses_total{class="5xx"} 1',
        "preforkd_received_bytes_total 98765",
        "preforkd_sent_bytes_total 18446744073709551615",
        "preforkd_proxy_rejected_total 0",
        "preforkd_reloads_total 2",
        "preforkd_worker_exits_unexpected_total 5",
        "preforkd_workers_hung_killed_total 6",
        "preforkd_messages_dropped_total 7",
        "preforkd_upgrades_total 8",
        "preforkd_upgrades_failed_total 9",
        "preforkd_start_time_seconds 1795442400",
        'preforkd_agent_state{state="drain"} 1',
        "preforkd_tls_handshakes_total 10",
        "preforkd_tls_resumed_total 11",
        "preforkd_tls_handshake_errors_total 12",
        "preforkd_tls_ticket_key_rotations_total 13",
        'preforkd_tls_certificate_info{file="/etc/ssl/a.pem"} 1',
        "preforkd_tls_certificate_expiry_time_seconds 1798038245",
        "preforkd_tls_certificate_expires_in_seconds 2592000",
        "preforkd_worker_start_time_seconds{%s} 1795446240" % labels,
        "preforkd_worker_requests_total{%s} 9007199254740993" % labels,
        "preforkd_worker_connections_active{%s} 1" % labels,
        "preforkd_worker_heartbeat_age_seconds{%s} 0.120" % labels,
    ]
    assert out.endswith("\n# EOF\n")


def test_ctl_openmetrics_passes_openmetrics_pipe_through(make_server):
    s = make_server(status_format="openmetrics").start()
    rc, out, err = ctl(s, "--openmetrics")
    assert rc == 0, err
    promtool_ok(out)
    assert parse(out)[("preforkd_workers_target", "")] == 2
    rc, out, err = ctl(s, "--openmetrics", "--watch", "--count", "2")
    assert rc == 0, err
    assert out.count("# EOF\n") == 2 and out.endswith("# EOF\n")


def test_ctl_openmetrics_refuses_text_pipe(make_server):
    s = make_server(status_format="text").start()
    rc, out, err = ctl(s, "--openmetrics")
    assert rc == 1 and out == ""
    assert "status_format = text cannot be shown as OpenMetrics" in err
    rc, out, err = ctl(s, "--openmetrics", "--json")
    assert rc == 2 and "not both" in err


def test_ctl_openmetrics_leaves_out_groups_the_json_lacks(tmp_path):
    """No tls or agent object in the JSON: no tls or agent family, so a
    monitor tells "not configured" from "none yet"."""
    snap = {k: v for k, v in KNOWN.items() if k not in ("tls", "agent")}
    names = {k[0] for k in parse(ctl_openmetrics(tmp_path, snap))}
    assert not [n for n in names if n.startswith(("preforkd_tls_", "preforkd_agent_"))], names
    assert "preforkd_upgrades_total" in names and "preforkd_proxy_rejected_total" in names


def self_signed(d):
    """A 30-day self-signed certificate for 127.0.0.1; returns (cert, key, notAfter)."""
    crt, key = os.path.join(d, "om.pem"), os.path.join(d, "om.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30", "-subj",
                    "/CN=localhost", "-keyout", key, "-out", crt],
                   check=True, capture_output=True)
    end = ssl._ssl._test_decode_cert(crt)["notAfter"]
    return crt, key, calendar.timegm(time.strptime(end, "%b %d %H:%M:%S %Y GMT"))


def test_pipe_writes_tls_families(make_server, tmp_path):
    """docs/ARCHITECTURE.md: TLS's tls object as OpenMetrics, from the server itself."""
    crt, key, not_after = self_signed(str(tmp_path))
    tls_port = free_port()
    s = make_server(status_format="openmetrics")
    s.write_config(listen=[f"127.0.0.1:{s.port}", f"127.0.0.1:{tls_port} tls"],
                   tls_certificate=crt, tls_certificate_key=key)
    s.start()
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as t:
            t.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            t.recv(100)

    def handshaken():
        text = first_snapshot(s.status_path)
        return text if parse(text).get(("preforkd_tls_handshakes_total", "")) == 1 else None
    text = wait_for(handshaken, 10, what="one handshake counted")
    promtool_ok(text)
    m = parse(text)
    assert m[("preforkd_tls_resumed_total", "")] == 0
    assert m[("preforkd_tls_handshake_errors_total", "")] == 0
    assert m[("preforkd_tls_certificate_info", 'file="%s"' % crt)] == 1
    assert m[("preforkd_tls_certificate_expiry_time_seconds", "")] == not_after
    snap_time = not_after - m[("preforkd_tls_certificate_expires_in_seconds", "")]
    assert time.time() - 60 < snap_time <= time.time() + 1
    assert "# UNIT preforkd_tls_certificate_expiry_time_seconds seconds\n" in text
    assert not [k for k in m if k[0].startswith("preforkd_agent_")]

"""Three preforkd instances behind a real haproxy on loopback, for the
scale-out tests (docs/ARCHITECTURE.md: Behind a balancer): send-proxy-v2 to a proxy_protocol listener,
agent-check on agent_listen, a stats socket to read haproxy's view."""
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import SBIN_DIRS, free_port, wait_for

HAPROXY = shutil.which("haproxy", path=os.pathsep.join(SBIN_DIRS + ("/usr/bin",)))
CLIENT_ADDR = "127.0.0.2"   # the load generator: not haproxy's address
BODY = b"x" * 2000


def haproxy_config(sock, fport, servers):
    lines = [
        "global",
        f"  stats socket {sock} mode 600 level admin",
        "  maxconn 2000",
        "defaults",
        "  mode http",
        "  timeout connect 2s",
        "  timeout client 20s",
        "  timeout server 20s",
        # No retries and no redispatch: a request sent to an instance that
        # is going away fails visibly instead of being hidden by haproxy.
        "  retries 0",
        "frontend fe",
        f"  bind 127.0.0.1:{fport}",
        "  default_backend be",
        "backend be",
        "  balance roundrobin",
        "  option httpchk GET /index.html",
    ]
    for name, pport, aport in servers:
        lines.append(f"  server {name} 127.0.0.1:{pport} send-proxy-v2 check check-send-proxy "
                     f"inter 200ms fall 2 rise 1 agent-check agent-port {aport} "
                     f"agent-inter 200ms weight 100")
    return "\n".join(lines) + "\n"


class Farm:
    """make_server instances s1..s3 plus haproxy; names are haproxy's."""

    def __init__(self, make_server, tmpdir, n=3, **keys):
        self.servers = {}
        specs = []
        for i in range(1, n + 1):
            pport, aport = free_port(), free_port()
            srv = make_server(workers="2", agent_listen=f"127.0.0.1:{aport}",
                              keepalive_timeout="30s", **keys)
            srv.write_config(listen=[f"127.0.0.1:{srv.port}",
                                     f"127.0.0.1:{pport} proxy_protocol"])
            with open(os.path.join(srv.root, "index.html"), "wb") as f:
                f.write(BODY)
            srv.start()
            srv.pport, srv.aport, srv.name = pport, aport, f"s{i}"
            self.servers[srv.name] = srv
            specs.append((srv.name, pport, aport))
        self.dir = str(tmpdir)
        self.sock = os.path.join(self.dir, "haproxy.sock")
        self.fport = free_port()
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(self.cfg, "w") as f:
            f.write(haproxy_config(self.sock, self.fport, specs))
        self.log = open(os.path.join(self.dir, "haproxy.out"), "wb")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", self.cfg], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        wait_for(self.all_up, 20, what="haproxy to see every server UP")

    def all_up(self):
        rows = self.stat()
        return len(rows) == len(self.servers) and all(r["status"] == "UP" for r in rows.values())

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()

    def command(self, cmd):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.sock)
            s.sendall(cmd.encode() + b"\n")
            out = b""
            while (chunk := s.recv(65536)):
                out += chunk
        return out.decode()

    def stat(self):
        """haproxy's 'show stat' rows of the backend's servers, by name."""
        try:
            text = self.command("show stat")
        except OSError:
            return {}
        lines = [l for l in text.splitlines() if l]
        if not lines or not lines[0].startswith("# "):
            return {}
        head = lines[0][2:].split(",")
        rows = {}
        for l in lines[1:]:
            r = dict(zip(head, l.split(",")))
            if r.get("pxname") == "be" and r.get("svname") in self.servers:
                rows[r["svname"]] = r
        return rows


def get(port, source=CLIENT_ADDR, timeout=10):
    """One GET through haproxy from the load generator's address. Returns
    the status code, or an exception's name."""
    try:
        with socket.socket() as s:
            s.bind((source, 0))
            s.settimeout(timeout)
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            out = b""
            while (chunk := s.recv(65536)):
                out += chunk
    except OSError as e:
        return type(e).__name__
    if not out.startswith(b"HTTP/1.1 ") or not out.endswith(BODY):
        return f"bad reply {out[:40]!r}"
    return int(out[9:12])


class Load:
    """Client threads sending GETs through haproxy until stopped; every
    outcome is kept, so a test can assert that none failed."""

    def __init__(self, port, threads=4):
        self.port = port
        self.results = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def run(self):
        while not self.stopping.is_set():
            r = get(self.port)
            with self.lock:
                self.results.append(r)

    def count(self):
        with self.lock:
            return len(self.results)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(30)
        return list(self.results)


def kill_instance(srv):
    """SIGKILL the supervisor and every worker (its process group)."""
    os.killpg(srv.pid, signal.SIGKILL)
    srv.proc.wait(10)


# Shared by the haproxy test files: their skip mark and a three-instance farm.
needs_haproxy = pytest.mark.skipif(HAPROXY is None, reason="haproxy not installed "
                                   "(scripts/install-deps test installs it)")


@pytest.fixture
def farm(make_server, tmp_path):
    f = Farm(make_server, tmp_path)
    yield f
    f.close()

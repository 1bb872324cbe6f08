"""preforkd behind a real haproxy (Debian's) on loopback, docs/ARCHITECTURE.md: Behind a balancer:
send-proxy-v2 carries the client address into every instance's access log,
agent-check drains an instance on preforkctl drain, and a SIGKILLed
instance is routed around. Assertions are on haproxy's own stats socket."""
import socket
import subprocess

from conftest import PREFORKCTL, wait_for
from haproxy_lib import CLIENT_ADDR, Farm, farm, get, kill_instance, needs_haproxy  # noqa: F401 (farm)

pytestmark = needs_haproxy


def served(srv):
    try:
        with open(srv.access_log_path) as f:
            return [l for l in f if '"GET /index.html HTTP/1.1" 200 ' in l and
                    not l.startswith("127.0.0.1 ")]
    except OSError:
        return []


def test_client_address_reaches_every_access_log(farm):
    results = [get(farm.fport) for _ in range(30)]
    assert results == [200] * 30
    for srv in farm.servers.values():
        lines = wait_for(lambda: served(srv), 10, what=f"{srv.name}'s access log")
        assert all(l.startswith(CLIENT_ADDR + " ") for l in lines), lines
    total = wait_for(lambda: sum(len(served(s)) for s in farm.servers.values()) == 30 and 30,
                     10, what="30 proxied requests logged")
    assert total == 30
    for srv in farm.servers.values():
        assert srv.snapshot()["totals"]["proxy_rejected"] == 0


def test_drain_moves_traffic_off_and_undrain_brings_it_back(farm):
    s2 = farm.servers["s2"]
    r = subprocess.run([PREFORKCTL, "-p", s2.pidfile, "drain"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: farm.stat()["s2"]["status"].startswith("DRAIN"), 15, what="haproxy to drain s2")
    before = int(farm.stat()["s2"]["stot"])
    results = [get(farm.fport) for _ in range(30)]
    assert results == [200] * 30
    rows = farm.stat()
    assert int(rows["s2"]["stot"]) == before
    assert rows["s2"]["status"].startswith("DRAIN")
    r = subprocess.run([PREFORKCTL, "-p", s2.pidfile, "undrain"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: farm.stat()["s2"]["status"] == "UP", 15, what="haproxy to take s2 back")
    results = [get(farm.fport) for _ in range(30)]
    assert results == [200] * 30
    assert int(farm.stat()["s2"]["stot"]) > before


def test_agent_weight_follows_load_in_haproxy(make_server, tmp_path):
    """Two workers of 10 slots: 5 connections held on s1 leave 75% of it,
    and haproxy gives s1 75% of its configured weight."""
    farm = Farm(make_server, tmp_path, max_connections="10")
    held = []
    try:
        wait_for(lambda: [r["weight"] for r in farm.stat().values()] == ["100"] * 3, 15,
                 what="every weight at 100")
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", farm.servers["s1"].port), timeout=5)
            s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 200 ")
            held.append(s)
        wait_for(lambda: [farm.stat()[n]["weight"] for n in ("s1", "s2", "s3")] ==
                 ["75", "100", "100"], 15, what="s1's weight at 75")
        for s in held:
            s.close()
        held = []
        wait_for(lambda: farm.stat()["s1"]["weight"] == "100", 15, what="s1 back at 100")
    finally:
        for s in held:
            s.close()
        farm.close()


def test_killed_instance_is_routed_around(farm):
    kill_instance(farm.servers["s3"])
    wait_for(lambda: farm.stat()["s3"]["status"].startswith("DOWN"), 15,
             what="haproxy to mark s3 down")
    before = int(farm.stat()["s3"]["stot"])
    results = [get(farm.fport) for _ in range(30)]
    assert results == [200] * 30
    assert int(farm.stat()["s3"]["stot"]) == before

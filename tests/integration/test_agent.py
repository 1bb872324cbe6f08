"""The HAProxy agent-check answerer (agent_listen, docs/ARCHITECTURE.md: Behind a balancer): answered by
the supervisor from the workers' live load, "drain" after preforkctl drain
and during a graceful stop, back up after undrain; its state in the status
snapshot."""
import os
import signal
import socket
import subprocess

import pytest

from conftest import PREFORKCTL, StalledDownload, free_port, wait_for


def agent(port):
    """One agent-check exchange: the line the agent sends, then its close."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        out = b""
        while (chunk := s.recv(256)):
            out += chunk
    return out.decode()


def answer_is(port, want, timeout=15):
    return wait_for(lambda: agent(port) == want + "\n", timeout,
                    what=f"the agent to answer {want!r} (last {agent(port)!r})")


def ctl(srv, *args):
    return subprocess.run([PREFORKCTL, "-p", srv.pidfile, *args], capture_output=True,
                          text=True, timeout=30)


@pytest.fixture
def asrv(make_server):
    def start(**keys):
        aport = free_port()
        keys.setdefault("max_connections", "10")
        srv = make_server(agent_listen=f"127.0.0.1:{aport}", keepalive_timeout="60s", **keys)
        srv.aport = aport
        return srv.start()
    return start


def test_weight_follows_live_connections(asrv):
    srv = asrv()
    answer_is(srv.aport, "up ready 100%")
    held = []
    try:
        # Two workers of 10 slots: 5 idle keep-alive connections use a quarter.
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 ")
            held.append(s)
        answer_is(srv.aport, "up ready 75%")
        snap = srv.snapshot(pred=lambda s: s["agent"]["answer"] == "up ready 75%")
        assert snap["agent"] == {"state": "ready", "answer": "up ready 75%"}
    finally:
        for s in held:
            s.close()
    answer_is(srv.aport, "up ready 100%")


def test_drain_and_undrain(asrv):
    srv = asrv()
    answer_is(srv.aport, "up ready 100%")
    r = ctl(srv, "drain")
    assert (r.returncode, r.stderr) == (0, "")
    answer_is(srv.aport, "drain")
    assert srv.snapshot(pred=lambda s: s["agent"]["state"] == "drain")["agent"] == \
        {"state": "drain", "answer": "drain"}
    # Draining only changes the answer: the server still serves.
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert s.recv(65536).startswith(b"HTTP/1.1 200 ")
    s.close()
    r = ctl(srv, "undrain")
    assert (r.returncode, r.stderr) == (0, "")
    answer_is(srv.aport, "up ready 100%")


def test_late_heartbeats_lower_the_weight_and_the_supervisor_still_answers(asrv):
    srv = asrv(worker_timeout="10s")
    answer_is(srv.aport, "up ready 100%")
    workers = srv.wait_workers(2)
    # Each phase ends well before the worker timeout would replace them.
    for stopped, want in (([workers[0]], "up ready 50%"), (workers, "up ready 1%")):
        for w in stopped:
            os.kill(w, signal.SIGSTOP)
        try:
            # Silent for half the worker timeout: a worker offers nothing; with
            # every worker stopped the supervisor still answers.
            answer_is(srv.aport, want)
        finally:
            for w in stopped:
                os.kill(w, signal.SIGCONT)
        answer_is(srv.aport, "up ready 100%")
    assert sorted(srv.workers()) == sorted(workers)


def test_graceful_stop_answers_drain_until_the_end(asrv):
    srv = asrv(graceful_timeout="20s")
    answer_is(srv.aport, "up ready 100%")
    dl = StalledDownload(srv)
    try:
        srv.signal(signal.SIGTERM)
        # The stalled download keeps the stop going; the agent says drain.
        answer_is(srv.aport, "drain")
    finally:
        dl.rest()
        dl.close()
    assert srv.wait_exit() == 0
    with pytest.raises(ConnectionRefusedError):
        agent(srv.aport)


def test_agent_port_in_use_fails_the_start(make_server):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        srv = make_server(agent_listen=f"127.0.0.1:{port}")
        srv.start(wait=False)
        assert srv.wait_exit() != 0
        assert f"agent_listen 127.0.0.1:{port}: Address already in use" in \
            srv.error_log() + srv.stderr_text()


def test_agent_follows_a_binary_upgrade(asrv):
    """The new supervisor takes the agent over once it serves; it starts
    undrained, as a restarted instance would."""
    srv = asrv()
    answer_is(srv.aport, "up ready 100%")
    assert ctl(srv, "drain").returncode == 0
    answer_is(srv.aport, "drain")
    old = srv.pid
    r = ctl(srv, "upgrade")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: not os.path.exists(srv.pidfile + ".oldbin"), 30, what="the old one to go")
    with open(srv.pidfile) as f:
        new = int(f.read())
    assert new != old
    answer_is(srv.aport, "up ready 100%")
    srv.wait_exit()
    for _ in range(20):
        assert agent(srv.aport) == "up ready 100%\n"

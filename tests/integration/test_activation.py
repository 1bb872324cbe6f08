"""systemd socket activation (issue 6 item 2): sockets handed over as fd 3
onwards with LISTEN_PID and LISTEN_FDS are the listeners, for the life of
the process; anything unusable is refused with a clear message."""
import os
import signal
import socket

import pytest

from conftest import free_port, http_request, wait_for


def listening_socket():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s


def bound(port):
    """True when something listens on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def activated(make_server):
    """A server started with a socket of ours and a listen line for a port
    nobody binds."""
    sock = listening_socket()
    s = make_server(workers=2)
    s.configured_port = s.port
    s.port = sock.getsockname()[1]
    s.start(activate=sock)
    sock.close()
    yield s


def test_serves_the_handed_over_socket_and_not_the_listen_line(activated):
    s = activated
    assert http_request(s.port, "/").status == 200
    assert not bound(s.configured_port)
    assert s.snapshot()["listen"] == [f"127.0.0.1:{s.port}"]
    assert "socket activation: serving the sockets systemd handed over" in s.error_log()
    # Handed to preforkd alone, not to whatever it might run.
    with open(f"/proc/{s.pid}/environ", "rb") as f:
        assert b"LISTEN_" not in f.read()


def test_reload_keeps_the_handed_over_socket(activated):
    s = activated
    other = free_port()
    s.write_config(listen=f"127.0.0.1:{other}")
    s.signal(signal.SIGHUP)
    s.snapshot(timeout=20, pred=lambda x: x["generation"] == 2 and
               all(w["generation"] == 2 and w["state"] == "ready" for w in x["workers"]))
    assert http_request(s.port, "/").status == 200
    assert not bound(other)
    assert s.snapshot()["listen"] == [f"127.0.0.1:{s.port}"]


def test_connection_queued_before_start_is_served(make_server):
    """The point of socket activation: a client that connects before the
    server runs waits in the socket's queue and is answered."""
    sock = listening_socket()
    s = make_server(workers=1)
    s.port = sock.getsockname()[1]
    early = socket.create_connection(("127.0.0.1", s.port), timeout=15)
    try:
        early.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        s.start(activate=sock, wait=False)
        sock.close()
        data = b""
        while True:
            chunk = early.recv(65536)
            if not chunk:
                break
            data += chunk
        assert data.startswith(b"HTTP/1.1 200 ")
    finally:
        early.close()
    s.wait_serving()


def test_listen_pid_of_another_process_is_ignored(make_server):
    sock = listening_socket()
    s = make_server(workers=1)
    s.start(activate=sock, env={"LISTEN_PID": "1"})
    sock.close()
    assert http_request(s.port, "/").status == 200          # the listen line
    assert "socket activation" not in s.error_log()


@pytest.mark.parametrize("what,env,message", [
    ("file", {}, "fd 3: not a socket"),
    ("udp", {}, "fd 3 is not a listening TCP socket"),
    ("unlistened", {}, "fd 3 is not a listening TCP socket"),
    ("unix", {}, "fd 3 is not a listening TCP socket"),
    ("tcp", {"LISTEN_FDS": "0"}, "LISTEN_FDS=0 is not a count"),
    ("tcp", {"LISTEN_FDS": "two"}, "LISTEN_FDS=two is not a count"),
    ("tcp", {"LISTEN_FDS": "17"}, "LISTEN_FDS=17 is not a count from 1 to 16"),
])
def test_unusable_hand_over_is_refused_clearly(make_server, tmp_path, short_dir, what, env, message):
    if what == "file":
        handed = open(tmp_path / "not-a-socket", "w")
    elif what == "udp":
        handed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        handed.bind(("127.0.0.1", 0))
    elif what == "unlistened":
        handed = socket.socket()
        handed.bind(("127.0.0.1", 0))
    elif what == "unix":
        handed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        handed.bind(os.path.join(short_dir, "sock"))
        handed.listen(4)
    else:
        handed = listening_socket()
    s = make_server(workers=1)
    try:
        s.start(activate=handed, env=env, wait=False)
        assert s.wait_exit() == 1
    finally:
        handed.close()
    assert f"socket activation: {message}" in s.stderr_text() + s.error_log()
    assert not os.path.exists(s.pidfile)
    wait_for(lambda: not bound(s.port), 5, what="nothing bound")

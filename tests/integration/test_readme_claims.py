"""README claims that no other test proved (issue 13 item 5): a GET body
over 1 MiB closes the connection; status_pipe, pidfile and daemon change
only on restart; USR1 drops the file cache; devices and unreadable files
give 403; a client sees a closing response in full, not a reset."""
import os
import pwd
import shutil
import signal
import socket
import stat
import threading

import pytest

from conftest import HttpClient, _Reader, http_request, public_dir, raw_exchange, read_response, wait_for

MIB = 1024 * 1024


def send_in_background(sock, data):
    """sendall in a thread, so the test can read while the server may stop
    reading; a reset or broken pipe on the sending side is the server's
    right once it has answered."""
    def run():
        try:
            sock.sendall(data)
        except OSError:
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def get_with_body(port, size):
    """A keep-alive GET carrying a body of size bytes; returns (response,
    socket, reader) with the body sent in the background."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /f.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
    t = send_in_background(s, b"b" * size)
    rd = _Reader(s)
    r = read_response(rd)
    t.join(15)
    return r, s, rd


def test_get_body_up_to_1_mib_is_discarded_and_the_connection_kept(make_server):
    s = make_server(workers=1)
    with open(os.path.join(s.root, "f.txt"), "w") as f:
        f.write("file\n")
    s.start()
    r, sock, rd = get_with_body(s.port, MIB)
    try:
        assert (r.status, r.body, r.headers.get("connection")) == (200, b"file\n", None)
        sock.sendall(b"GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(rd).body == b"file\n"
    finally:
        sock.close()


def test_get_body_over_1_mib_is_answered_and_the_connection_closed(make_server):
    s = make_server(workers=1)
    with open(os.path.join(s.root, "f.txt"), "w") as f:
        f.write("file\n")
    s.start()
    r, sock, rd = get_with_body(s.port, MIB + 1)
    try:
        assert (r.status, r.body, r.headers.get("connection")) == (200, b"file\n", "close")
        assert rd.rest() == b"", "closed, with nothing after the response"
    finally:
        sock.close()


def test_status_pipe_pidfile_and_daemon_change_only_on_restart(make_server):
    s = make_server(workers=1).start()
    old_status, old_pid = s.status_path, s.pidfile
    new_status, new_pid = old_status + ".new", old_pid + ".new"
    s.write_config(status_pipe=new_status, pidfile=new_pid, daemon="on")
    s.signal(signal.SIGHUP)
    # The new generation reports on the old FIFO: the path did not change.
    snap = s.snapshot(timeout=20, pred=lambda x: x["generation"] == 2 and
                      all(w["generation"] == 2 and w["state"] == "ready" for w in x["workers"]))
    assert snap["pid"] == s.pid
    assert s.proc.poll() is None, "not daemonized: the same process goes on"
    with open(old_pid) as f:
        assert f.read().strip() == str(s.pid)
    assert not os.path.exists(new_pid)
    assert not os.path.exists(new_status)
    assert http_request(s.port, "/").status in (200, 403, 404)
    assert s.stop() == 0
    assert not os.path.exists(old_pid) and not os.path.exists(old_status)


def test_usr1_drops_the_file_cache(make_server):
    """The file is rewritten in place with the same size and mtime: the
    once-a-second check cannot see it, only dropping the cache can."""
    s = make_server(workers=1)
    path = os.path.join(s.root, "f.txt")
    with open(path, "w") as f:
        f.write("old body\n")
    s.start()
    st = os.stat(path)
    with HttpClient(s.port) as c:
        assert c.request("/f.txt").body == b"old body\n"
        with open(path, "r+") as f:
            f.write("new body\n")
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert os.stat(path).st_mtime_ns == st.st_mtime_ns
        # Still cached: the stat it checks is unchanged.
        for _ in range(3):
            assert c.request("/f.txt").body == b"old body\n"
    s.signal(signal.SIGUSR1)
    wait_for(lambda: http_request(s.port, "/f.txt").body == b"new body\n", 15,
             what="the new body once the cache is dropped")


@pytest.fixture
def forbidden_root(make_server):
    """A root with a character device (like /dev/null), a FIFO and a file
    the workers cannot read. As root the workers run as nobody (root reads
    anything) and the root sits in a 0755 dir nobody can reach."""
    www = public_dir("pf-www-")
    keys = {"root": www, "workers": 1}
    if os.geteuid() == 0:
        keys["user"] = "nobody"
        os.mknod(os.path.join(www, "null"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    secret = os.path.join(www, "secret.txt")
    with open(secret, "w") as f:
        f.write("secret\n")
    os.chmod(secret, 0o600 if os.geteuid() == 0 else 0o000)
    os.mkfifo(os.path.join(www, "fifo"), 0o666)
    with open(os.path.join(www, "ok.txt"), "w") as f:
        f.write("ok\n")
    os.chmod(os.path.join(www, "ok.txt"), 0o644)
    s = make_server(**keys)
    if os.geteuid() == 0:
        assert pwd.getpwnam("nobody").pw_uid != os.stat(secret).st_uid
    yield s.start()
    shutil.rmtree(www, ignore_errors=True)


@pytest.mark.parametrize("name", ["null", "secret.txt", "fifo"])
def test_devices_fifos_and_unreadable_files_are_403(forbidden_root, name):
    if name == "null" and os.geteuid() != 0:
        pytest.skip("mknod of a device node needs root")
    assert http_request(forbidden_root.port, "/ok.txt").body == b"ok\n"
    r = http_request(forbidden_root.port, "/" + name)
    assert r.status == 403, (name, r.status)
    assert b"secret" not in r.body


def test_closing_response_is_seen_not_reset(server):
    """A bad request followed by more than the socket buffers hold: the
    server answers 400, closes, and reads what is still coming, so the
    client reads the whole response instead of a reset. raw_exchange
    raises on a reset."""
    junk = b"X" * (4 * MIB)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n")
        t = send_in_background(s, junk)
        out = b""
        while True:
            chunk = s.recv(65536)   # ConnectionResetError fails the test
            if not chunk:
                break
            out += chunk
        t.join(15)
    assert out.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close\r\n" in out
    # And the short form every other test uses.
    out = raw_exchange(server.port, b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n" + b"Y" * 65536)
    assert out.startswith(b"HTTP/1.1 400 ")

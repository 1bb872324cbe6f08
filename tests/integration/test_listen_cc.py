"""`listen = ADDR cc=NAME`: the TCP congestion control the connections of a
listener use (README, "Large files": pacing), read back from the kernel
with `ss` on the server's side of a real connection. A reload or a binary
upgrade keeps the socket and changes what the next connections get; a
name the kernel does not have is refused whole, the old one kept."""
import os
import signal
import socket
import subprocess

from conftest import wait_for
from test_upgrade import upgradable  # noqa: F401 (the fixture)

ALGOS = ("reno", "cubic", "bbr", "htcp", "vegas", "westwood", "dctcp", "bic")


def kernel_default():
    with open("/proc/sys/net/ipv4/tcp_congestion_control") as f:
        return f.read().strip()


def served_with(port):
    """The congestion control of the server's side of a fresh connection
    that has had one reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(b"GET /cc.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        got = b""
        while not got.endswith(b"hi\n"):
            chunk = c.recv(4096)
            assert chunk, got
            got += chunk
        cport = c.getsockname()[1]
        out = subprocess.run(["ss", "-tinH", "state", "established",
                              f"( sport = :{port} and dport = :{cport} )"],
                             capture_output=True, text=True, timeout=10).stdout
    names = [w for w in out.split() if w in ALGOS]
    assert len(names) == 1, out
    return names[0]


def serve_cc_file(s, cc):
    """The file served_with asks for, and a listen line with cc=."""
    with open(os.path.join(s.root, "cc.txt"), "w") as f:
        f.write("hi\n")
    s.write_config(listen=f"127.0.0.1:{s.port} cc={cc}")


def reloaded(s, generation_before):
    s.signal(signal.SIGHUP)
    wait_for(lambda: f"generation {generation_before + 1} ready" in s.error_log(), 15,
             what="the reload")


def test_cc_flag_sets_what_connections_use_and_a_reload_changes_it(make_server):
    s = make_server(workers=1)
    serve_cc_file(s, "reno")
    s.start()
    assert served_with(s.port) == "reno"

    s.write_config(listen=f"127.0.0.1:{s.port} cc=cubic")
    reloaded(s, 1)
    assert served_with(s.port) == "cubic"

    s.write_config(listen=f"127.0.0.1:{s.port} cc=nosuch")
    s.signal(signal.SIGHUP)
    wait_for(lambda: "reload failed: listen 127.0.0.1:%d cc=nosuch: this kernel has no such "
             "congestion control" % s.port in s.error_log(), 15, what="the refusal")
    assert served_with(s.port) == "cubic"

    s.write_config(listen=f"127.0.0.1:{s.port}")
    reloaded(s, 2)
    assert served_with(s.port) == kernel_default()


def test_an_unknown_cc_fails_the_check_and_the_start(make_server):
    s = make_server(workers=1)
    s.write_config(listen=f"127.0.0.1:{s.port} cc=nosuch")
    from conftest import PREFORKD
    r = subprocess.run([PREFORKD, "-t", "-c", s.conf_path], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1
    assert f"listen 127.0.0.1:{s.port} cc=nosuch: this kernel has no such congestion " \
        "control" in r.stderr


def test_a_binary_upgrade_applies_the_new_cc_to_the_inherited_socket(upgradable):  # noqa: F811
    u = upgradable(workers=1)
    s = u.srv
    serve_cc_file(s, "reno")
    u.start()
    assert served_with(s.port) == "reno"
    s.write_config(listen=f"127.0.0.1:{s.port} cc=cubic")
    old = u.pidfile_pid()
    os.kill(old, signal.SIGUSR2)
    u.upgraded(old)
    assert served_with(s.port) == "cubic"
    # Dropped from the line: the kernel's default again, not the old binary's.
    s.write_config(listen=f"127.0.0.1:{s.port}")
    old = u.pidfile_pid()
    os.kill(old, signal.SIGUSR2)
    u.upgraded(old)
    assert served_with(s.port) == kernel_default()

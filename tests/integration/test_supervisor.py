"""The supervisor's lifecycle: start, -t, pidfile, respawn, backoff, hang
detection, orphans (docs/ARCHITECTURE.md: Processes, Operations, Signals, Inter-process communication; issue 3)."""
import os
import signal
import socket
import subprocess
import time

from conftest import (PREFORKD, alive, bytes_until_eof, cpu_seconds, ctx_switches, fd_links, holding, http_request, mqueues,
                      public_dir, wait_for)


def run_check(conf_path):
    return subprocess.run([PREFORKD, "-c", conf_path, "-t"], capture_output=True,
                          text=True, timeout=30)


def line_of(path, text):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if text in line:
                return n
    raise AssertionError(f"{text!r} not in {path}")


def title(pid):
    """The process title: setproctitle leaves NUL padding after it, and when
    the title is exactly as long as the original argv[0] libbsd puts a space
    where argv[0]'s NUL was (so the kernel shows the whole title)."""
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().split(b"\0", 1)[0].decode().rstrip(" ")


def snap_where(srv, pred, timeout=15):
    return srv.snapshot(timeout=timeout, pred=pred)


def test_start_serves_and_names_processes(make_server):
    s = make_server(workers=3).start()
    s.wait_workers(3)
    snap_where(s, lambda x: x["workers_running"] == 3 and
               all(w["state"] == "ready" for w in x["workers"]))
    pids = s.workers()
    assert http_request(s.port, "/").status == 200
    wait_for(lambda: "preforkd started: pid %d, 3 workers, listening on 127.0.0.1:%d"
             % (s.pid, s.port) in s.error_log(), what="the start line")
    assert title(s.pid) == "preforkd: supervisor"
    titles = sorted(title(p) for p in pids)
    assert titles == [f"preforkd: worker {i} (generation 1)" for i in range(3)]
    snap = snap_where(s, lambda x: x["workers_running"] == 3 and
                      all(w["state"] == "ready" for w in x["workers"]))
    assert snap["pid"] == s.pid
    assert snap["generation"] == 1
    assert snap["listen"] == [f"127.0.0.1:{s.port}"]
    assert snap["workers_target"] == 3
    assert sorted(w["pid"] for w in snap["workers"]) == pids
    assert sorted(w["slot"] for w in snap["workers"]) == [0, 1, 2]
    assert os.path.exists(s.pidfile)
    with open(s.pidfile) as f:
        assert int(f.read()) == s.pid
    assert mqueues(s.pid) == [f"preforkd.{s.pid}.ctl", f"preforkd.{s.pid}.stats"]
    assert oct(os.stat(f"/dev/mqueue/preforkd.{s.pid}.ctl").st_mode & 0o777) == "0o600"


def test_port_zero_reports_actual_port(make_server):
    s = make_server(listen="127.0.0.1:0").start(wait=False)
    wait_for(lambda: os.path.exists(s.status_path), what="the status FIFO")
    snap = snap_where(s, lambda x: x["listen"] and x["workers_running"] == 2)
    host, port = snap["listen"][0].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    assert http_request(int(port), "/").status == 200


def test_check_config_ok(make_server):
    s = make_server()
    r = run_check(s.conf_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "configuration ok"


def test_check_config_bad_value_names_file_and_line(make_server):
    s = make_server()
    s.write_config(keepalive_timeout="forever")
    r = run_check(s.conf_path)
    assert r.returncode == 1
    n = line_of(s.conf_path, "keepalive_timeout")
    assert f"{s.conf_path}:{n}:" in r.stderr
    assert "configuration ok" not in r.stdout


def test_check_config_unbindable_address(make_server):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        s = make_server(listen=f"127.0.0.1:{port}")
        r = run_check(s.conf_path)
        assert r.returncode == 1
        assert f"127.0.0.1:{port}" in r.stderr
        assert "Address already in use" in r.stderr
        s.start(wait=False)
        assert s.wait_exit() == 1
        assert "Address already in use" in s.stderr_text()
    assert not os.path.exists(s.pidfile), "a failed start leaves no pidfile"


def test_pidfile_refuses_second_instance(make_server):
    s = make_server().start()
    other = make_server()
    other.write_config(pidfile=s.pidfile)
    other.start(wait=False)
    assert other.wait_exit() == 1
    assert f"pidfile {s.pidfile}: already running as pid {s.pid}" in other.stderr_text()
    assert alive(s.pid)
    with open(s.pidfile) as f:
        assert int(f.read()) == s.pid


def test_respawn_after_sigkill(make_server):
    s = make_server(workers=2).start()
    before = s.wait_workers(2)
    victim = before[1]
    os.kill(victim, signal.SIGKILL)
    after = wait_for(lambda: (w := s.workers()) and len(w) == 2 and victim not in w and w,
                     what="a replacement worker")
    assert before[0] in after
    snap = snap_where(s, lambda x: x["worker_exits_unexpected"] == 1 and
                      x["workers_running"] == 2)
    assert victim not in [w["pid"] for w in snap["workers"]]
    wait_for(lambda: f"(pid {victim}) killed by signal 9" in s.error_log(),
             what="the exit logged")
    assert http_request(s.port, "/").status == 200


def test_crash_loop_backs_off_only_that_slot(make_server):
    """A worker that cannot initialise (its root is gone) exits with status 2;
    its slot backs off while the other keeps serving, and recovers."""
    s = make_server(workers=2).start()
    snap = snap_where(s, lambda x: x["workers_running"] == 2)
    by_slot = {w["slot"]: w["pid"] for w in snap["workers"]}
    hidden = s.root + ".away"
    os.rename(s.root, hidden)
    try:
        os.kill(by_slot[1], signal.SIGKILL)
        snap = snap_where(s, lambda x: any(w["state"] == "backoff" for w in x["workers"]))
        assert by_slot[0] in [w["pid"] for w in snap["workers"]]
        for ms in (100, 200, 400):   # exit status 2 always backs off, doubling
            wait_for(lambda: f"worker 1 keeps dying right after start; backing off {ms} ms"
                     in s.error_log(), what=f"a {ms} ms backoff logged")
        assert "worker 1 (pid" in s.error_log() and "exited with status 2" in s.error_log()
        assert alive(by_slot[0]) and alive(s.pid)
        assert http_request(s.port, "/").status == 200, "the other slot keeps serving"
    finally:
        os.rename(hidden, s.root)
    snap_where(s, lambda x: x["workers_running"] == 2 and
               all(w["state"] == "ready" for w in x["workers"]), timeout=30)
    assert http_request(s.port, "/").status == 200


def test_hung_worker_is_killed_and_replaced(make_server):
    s = make_server(workers=2, worker_timeout="1s").start()
    pids = s.wait_workers(2)
    os.kill(pids[0], signal.SIGSTOP)
    wait_for(lambda: not alive(pids[0]), 15, what="the stopped worker killed")
    snap = snap_where(s, lambda x: x["workers_hung_killed"] == 1 and
                      x["workers_running"] == 2)
    assert snap["worker_exits_unexpected"] == 0
    assert pids[0] not in [w["pid"] for w in snap["workers"]]
    assert "sent no heartbeat" in s.error_log()
    assert http_request(s.port, "/").status == 200


def test_idle_keepalive_worker_is_not_killed(make_server):
    s = make_server(workers=1, worker_timeout="1s", keepalive_timeout="30s").start()
    pids = s.wait_workers(1)
    socks = []
    for _ in range(4):
        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.recv(4096).startswith(b"HTTP/1.1 200")
        socks.append(c)
    deadline = time.monotonic() + 3.0   # three worker_timeouts of idleness
    while time.monotonic() < deadline:
        snap = s.snapshot()
        assert snap["workers_hung_killed"] == 0
        time.sleep(0.2)
    assert s.workers() == pids
    for c in socks:
        c.close()


def test_workers_exit_when_supervisor_is_killed(make_server):
    s = make_server(workers=2, send_timeout="30s").start()
    pids = s.wait_workers(2)
    size = 64 << 20
    with open(os.path.join(s.root, "big.bin"), "wb") as f:
        f.truncate(size)
    c = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    c.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = c.recv(4096)   # then stop reading: the rest cannot fit the buffers
    assert got.startswith(b"HTTP/1.1 200")
    os.kill(s.pid, signal.SIGKILL)
    s.wait_exit()
    received = len(got.partition(b"\r\n\r\n")[2]) + bytes_until_eof(c)
    c.close()
    assert received == size, "the in-flight download completed"
    for p in pids:
        wait_for(lambda: not alive(p), 15, what=f"orphan worker {p} to exit")
    for q in mqueues(s.pid):
        os.unlink(os.path.join("/dev/mqueue", q))


def test_no_worker_holds_another_workers_channel(make_server):
    """Each worker has exactly its own descriptors: the listener, one channel
    end, the stats queue; never the supervisor's queue ends or a sibling's
    channel (which would keep orphans alive)."""
    s = make_server(workers=3).start()
    snap = snap_where(s, lambda x: x["workers_running"] == 3 and
                      all(w["state"] == "ready" for w in x["workers"]))
    for p in [w["pid"] for w in snap["workers"]]:
        mq = [l for l in fd_links(p) if "preforkd." in l]
        assert mq == [f"/preforkd.{s.pid}.stats"], mq
        # A connection from the start-up probe may linger for a moment.
        wait_for(lambda: len([l for l in fd_links(p) if l.startswith("socket:")]) == 2,
                 what=f"worker {p} to hold one listener and one channel: {fd_links(p)}")
    assert f"/preforkd.{s.pid}.ctl" in fd_links(s.pid)


def test_daemon_mode_detaches_and_writes_its_own_pid(make_server):
    s = make_server(daemon="on")
    s.start(wait=False)
    assert s.wait_exit() == 0, "the foreground process returns once detached"
    dpid = wait_for(lambda: os.path.exists(s.pidfile) and open(s.pidfile).read().strip(),
                    what="the pidfile")
    dpid = int(dpid)
    assert dpid != s.pid and alive(dpid)

    def serving():
        try:
            return http_request(s.port, "/", timeout=2).status == 200
        except OSError:
            return False
    wait_for(serving, what="the daemon to serve")
    snap = s.snapshot(pred=lambda x: x["workers_running"] == 2)
    assert snap["pid"] == dpid
    assert mqueues(dpid) == [f"preforkd.{dpid}.ctl", f"preforkd.{dpid}.stats"]
    for fd in (0, 1, 2):
        assert os.readlink(f"/proc/{dpid}/fd/{fd}") == "/dev/null"
    assert os.getsid(dpid) == dpid, "a session of its own"
    wait_for(lambda: f"preforkd started: pid {dpid}," in s.error_log(), what="start line")
    os.kill(dpid, signal.SIGTERM)
    wait_for(lambda: not alive(dpid), 20, what="the daemon to stop")
    assert not os.path.exists(s.pidfile)
    assert mqueues(dpid) == []


def test_workers_drop_privileges_when_root(make_server, tmp_path):
    if os.geteuid() != 0:
        import pytest
        pytest.skip("needs root")
    import pwd
    nobody = pwd.getpwnam("nobody")
    www = public_dir("pf-www-")   # nobody must reach it, whatever TMPDIR is
    with open(os.path.join(www, "hello.txt"), "w") as f:
        f.write("hello\n")
    os.chmod(os.path.join(www, "hello.txt"), 0o644)
    try:
        s = make_server(user="nobody", root=www, access_log="off").start()
        snap = snap_where(s, lambda x: x["workers_running"] == 2 and
                          all(w["state"] == "ready" for w in x["workers"]))
        for p in [w["pid"] for w in snap["workers"]]:   # ready: past the drop
            with open(f"/proc/{p}/status") as f:
                ids = {l.split(":")[0]: l.split()[1:] for l in f if l[:4] in ("Uid:", "Gid:")}
            assert ids["Uid"] == [str(nobody.pw_uid)] * 4
            assert ids["Gid"] == [str(nobody.pw_gid)] * 4
        assert os.stat(f"/proc/{s.pid}").st_uid == 0, "the supervisor keeps root"
        r = http_request(s.port, "/hello.txt")
        assert (r.status, r.body) == (200, b"hello\n")
        assert s.stop() == 0
    finally:
        import shutil
        shutil.rmtree(www)


def test_access_log_in_root_owned_dir_is_written_by_dropped_workers(make_server):
    """The log directory belongs to root; workers run as nobody. The
    supervisor creates the file and hands it to them, as nginx does."""
    if os.geteuid() != 0:
        import pytest
        pytest.skip("needs root")
    import pwd
    import shutil
    nobody = pwd.getpwnam("nobody")
    www = public_dir("pf-www-")
    logs = public_dir("pf-logs-")
    with open(os.path.join(www, "hello.txt"), "w") as f:
        f.write("hello\n")
    os.chmod(os.path.join(www, "hello.txt"), 0o644)
    alog = os.path.join(logs, "access.log")
    elog = os.path.join(logs, "error.log")
    try:
        s = make_server(user="nobody", root=www, access_log=alog, error_log=elog).start()
        assert os.stat(alog).st_uid == nobody.pw_uid
        for _ in range(3):
            assert http_request(s.port, "/hello.txt").status == 200

        def lines():
            with open(alog) as f:
                return [l for l in f if '"GET /hello.txt HTTP/1.1" 200' in l]
        assert len(wait_for(lambda: len(lines()) >= 3 and lines(), 10)) == 3
        workers = s.wait_workers(2)
        os.rename(alog, alog + ".1")
        os.rename(elog, elog + ".1")
        s.signal(signal.SIGUSR1)
        # The supervisor opens the file, then hands it over with fchown: a
        # reader between the two sees it owned by root for a moment.
        wait_for(lambda: os.path.exists(alog) and os.stat(alog).st_uid == nobody.pw_uid, 10,
                 what="access log recreated and owned by nobody")
        # Every worker (not only the supervisor) writes to the new files:
        # it holds them open, not the rotated ones, and its lines land there.
        for path in (alog, elog):
            wait_for(lambda: sorted(holding(workers, path)) == workers, 10,
                     what=f"the workers to hold the new {path}")
            assert holding(workers, path + ".1") == []

        def new_lines():
            assert http_request(s.port, "/hello.txt").status == 200
            return os.path.exists(alog) and '"GET /hello.txt HTTP/1.1" 200' in open(alog).read()
        wait_for(new_lines, 10, interval=0.2, what="lines in the new access log")
        assert "log files reopened" in open(elog).read()
        assert s.stop() == 0
    finally:
        shutil.rmtree(www)
        shutil.rmtree(logs)


def test_systemd_notify_protocol(make_server, short_dir):
    path = os.path.join(short_dir, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(15)
    try:
        s = make_server(workers=2).start(env={"NOTIFY_SOCKET": path})
        assert sock.recv(256) == b"READY=1"
        s.signal(signal.SIGHUP)
        assert sock.recv(256) == b"RELOADING=1"
        assert sock.recv(256) == b"READY=1"
        s.signal(signal.SIGTERM)
        assert sock.recv(256) == b"STOPPING=1"
        assert s.wait_exit() == 0
    finally:
        sock.close()


def test_reload_forgets_an_old_slot_in_backoff(make_server):
    """A slot of the old generation waiting out a backoff is not respawned
    after a reload, not left in the table, and does not make the loop spin."""
    s = make_server(workers=2).start()
    pids = s.wait_workers(2)
    hidden = s.root + ".away"
    os.rename(s.root, hidden)
    try:
        os.kill(pids[1], signal.SIGKILL)
        s.snapshot(pred=lambda x: any(w["state"] == "backoff" for w in x["workers"]))
    finally:
        os.rename(hidden, s.root)
    s.signal(signal.SIGHUP)
    snap = s.snapshot(timeout=20, pred=lambda x: x["generation"] == 2 and
                      len(x["workers"]) == 2 and
                      all(w["generation"] == 2 and w["state"] == "ready"
                          for w in x["workers"]))
    assert snap["workers_running"] == 2
    # Not spinning: an idle supervisor blocks in epoll_wait again and again
    # (timers, heartbeats), so its voluntary switches grow; a loop woken by
    # a past deadline never blocks, and burns a whole CPU meanwhile. Counting
    # switches per snapshot read instead was flaky: a slow (ASan) supervisor
    # serves two readers in one wake-up.
    before, cpu0, t0 = ctx_switches(s.pid)[0], cpu_seconds(s.pid), time.monotonic()
    wait_for(lambda: ctx_switches(s.pid)[0] - before >= 10, 15,
             what="the supervisor to block in epoll_wait (it spins)")
    time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))   # CPU over 1 s at least
    assert cpu_seconds(s.pid) - cpu0 < 0.5 * (time.monotonic() - t0), "the supervisor spins"


def test_ipv4_and_ipv6_on_one_port(make_server):
    """IPV6_V6ONLY lets [::1]:P and 127.0.0.1:P be bound side by side."""
    if not socket.has_ipv6:
        import pytest
        pytest.skip("no IPv6")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        import pytest
        pytest.skip("no ::1")
    s = make_server(workers=2)
    s.write_config(listen=[f"127.0.0.1:{s.port}", f"[::1]:{s.port}"], backlog=64)
    s.start()
    snap = s.snapshot(pred=lambda x: x["workers_running"] == 2)
    assert snap["listen"] == [f"127.0.0.1:{s.port}", f"[::1]:{s.port}"]
    assert http_request(s.port, "/", host="::1").status == 200
    assert http_request(s.port, "/").status == 200


def test_check_config_while_running(make_server):
    """"-t && reload": the running server's own sockets do not fail the check,
    and -t touches neither its pidfile nor its FIFO."""
    s = make_server().start()
    r = run_check(s.conf_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "configuration ok"
    with open(s.pidfile) as f:
        assert int(f.read()) == s.pid
    assert s.snapshot()["pid"] == s.pid

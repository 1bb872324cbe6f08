"""Every row of the signal table (docs/ARCHITECTURE.md: Signals) and the control queue that
mirrors it (§5): reload, bad reload, listeners added and removed, scaling,
graceful and fast stop, log reopening."""
import ctypes
import os
import signal
import socket
import struct

from conftest import StalledDownload, alive, bytes_until_eof, free_port, holding, http_request, mqueues, wait_for

CTL_SCALE_ABS, CTL_SCALE_REL, CTL_RELOAD, CTL_STOP, CTL_QUIT, CTL_REOPEN = range(1, 7)
MSG_CONTROL = 30


def mq_send_raw(name, payload):
    """Sends raw bytes to a POSIX message queue (via libc)."""
    rt = ctypes.CDLL("librt.so.1", use_errno=True)
    rt.mq_open.restype = ctypes.c_int
    q = rt.mq_open(name.encode(), os.O_WRONLY | os.O_NONBLOCK)
    assert q >= 0, os.strerror(ctypes.get_errno())
    try:
        assert rt.mq_send(q, payload, len(payload), 0) == 0, os.strerror(ctypes.get_errno())
    finally:
        rt.mq_close(q)


def ctl_send(pid, payload):
    mq_send_raw(f"/preforkd.{pid}.ctl", payload)


def control(pid, cmd, arg=0):
    ctl_send(pid, struct.pack("=HHIiI", 1, MSG_CONTROL, 8, os.getpid(), 0) +
             struct.pack("=Ii", cmd, arg))


def ready_gen(srv, gen, n, timeout=20):
    """Waits for exactly n workers, all of generation gen and ready."""
    return srv.snapshot(timeout=timeout, pred=lambda x: x["generation"] == gen and
                        x["workers_running"] == n and len(x["workers"]) == n and
                        all(w["generation"] == gen and w["state"] == "ready"
                            for w in x["workers"]))


def test_hup_starts_a_new_generation(make_server):
    s = make_server(workers=2).start()
    old = s.wait_workers(2)
    s.signal(signal.SIGHUP)
    snap = ready_gen(s, 2, 2)
    assert snap["reloads"] == 1
    new = [w["pid"] for w in snap["workers"]]
    assert not set(new) & set(old)
    for p in old:
        wait_for(lambda: not alive(p), 15, what=f"old worker {p} retired")
    assert sorted(s.workers()) == sorted(new)
    assert snap["worker_exits_unexpected"] == 0
    assert http_request(s.port, "/").status == 200


def test_bad_reload_keeps_serving_the_old_config(make_server):
    s = make_server(workers=2).start()
    old = s.wait_workers(2)
    s.write_config(workers="many")
    s.signal(signal.SIGHUP)
    with open(s.conf_path) as f:
        line = [n for n, l in enumerate(f, 1) if l.startswith("workers")][0]
    wait_for(lambda: f"reload failed: {s.conf_path}:{line}:" in s.error_log(),
             what="the failed reload logged")
    assert "keeping the old configuration" in s.error_log()
    snap = s.snapshot()
    assert snap["generation"] == 1 and snap["reloads"] == 0
    assert s.workers() == old
    assert http_request(s.port, "/").status == 200


def test_reload_adds_and_removes_listeners(make_server):
    s = make_server(workers=2).start()
    second = free_port()
    s.write_config(listen=[f"127.0.0.1:{s.port}", f"127.0.0.1:{second}"])
    s.signal(signal.SIGHUP)
    snap = ready_gen(s, 2, 2)
    assert snap["listen"] == [f"127.0.0.1:{s.port}", f"127.0.0.1:{second}"]
    assert http_request(second, "/").status == 200
    assert http_request(s.port, "/").status == 200
    s.write_config(listen=f"127.0.0.1:{second}")
    s.signal(signal.SIGHUP)
    snap = ready_gen(s, 3, 2)
    assert snap["listen"] == [f"127.0.0.1:{second}"]

    def refused():
        try:
            socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
            return False
        except ConnectionRefusedError:
            return True
    wait_for(refused, 15, what="the removed listener closed")
    assert http_request(second, "/").status == 200


def test_ttin_ttou_scale_within_limits(make_server):
    """One signal at a time: the kernel merges a signal sent while the same
    one is still pending."""
    s = make_server(workers=2, max_workers=3).start()
    s.signal(signal.SIGTTIN)
    ready_gen(s, 1, 3)
    s.signal(signal.SIGTTIN)
    wait_for(lambda: "scaling to 4 workers is outside 1..3" in s.error_log(),
             what="the refusal logged")
    s.signal(signal.SIGTTOU)
    ready_gen(s, 1, 2)
    s.signal(signal.SIGTTOU)
    pids = s.wait_workers(1)
    snap = ready_gen(s, 1, 1)
    assert [w["slot"] for w in snap["workers"]] == [0], "the highest slots retire first"
    s.signal(signal.SIGTTOU)
    wait_for(lambda: "scaling to 0 workers is outside 1..3" in s.error_log(),
             what="the refusal logged")
    snap = ready_gen(s, 1, 1)
    assert snap["workers_target"] == 1
    assert snap["worker_exits_unexpected"] == 0
    assert s.workers() == pids


def test_runtime_count_survives_reload_unless_file_changes(make_server):
    s = make_server(workers=2).start()
    s.signal(signal.SIGTTIN)
    ready_gen(s, 1, 3)
    s.signal(signal.SIGHUP)
    snap = ready_gen(s, 2, 3)
    assert snap["workers_target"] == 3
    s.write_config(workers="1")
    s.signal(signal.SIGHUP)
    snap = ready_gen(s, 3, 1)
    assert snap["workers_target"] == 1


def assert_cleaned_up(s):
    assert not os.path.exists(s.pidfile)
    assert not os.path.exists(s.status_path)
    assert mqueues(s.pid) == []


def test_term_stops_gracefully_and_cleans_up(make_server):
    s = make_server(workers=2).start()
    pids = s.wait_workers(2)
    assert s.stop(signal.SIGTERM) == 0
    for p in pids:
        assert not alive(p)
    assert_cleaned_up(s)
    assert "graceful stop" in s.error_log()


def test_quit_stops_gracefully(make_server):
    s = make_server(workers=2).start()
    s.wait_workers(2)
    assert s.stop(signal.SIGQUIT) == 0
    assert_cleaned_up(s)


def test_int_stops_fast_and_cleans_up(make_server):
    """Fast: a transfer in flight is cut short, where a graceful stop would
    wait up to graceful_timeout (60 s) for it."""
    s = make_server(workers=2, graceful_timeout="60s").start()
    pids = s.wait_workers(2)
    dl = StalledDownload(s)
    try:
        assert s.stop(signal.SIGINT) == 0
        assert dl.rest() < dl.SIZE
    finally:
        dl.close()
    for p in pids:
        assert not alive(p)
    assert_cleaned_up(s)
    assert "fast stop" in s.error_log()


def test_usr1_reopens_the_error_log(make_server):
    s = make_server(workers=1).start()
    rotated = s.error_log_path + ".1"
    os.rename(s.error_log_path, rotated)
    s.signal(signal.SIGUSR1)
    wait_for(lambda: "log files reopened" in s.error_log(), what="a line in the new log")
    with open(rotated) as f:
        assert "log files reopened" not in f.read()


def test_control_queue_commands(make_server):
    s = make_server(workers=1, max_workers=4).start()
    control(s.pid, CTL_SCALE_ABS, 3)
    ready_gen(s, 1, 3)
    control(s.pid, CTL_SCALE_REL, -1)
    ready_gen(s, 1, 2)
    control(s.pid, CTL_RELOAD)
    snap = ready_gen(s, 2, 2)
    assert snap["reloads"] == 1
    control(s.pid, CTL_STOP)
    assert s.wait_exit() == 0
    assert_cleaned_up(s)


def test_control_queue_drops_malformed_messages(make_server):
    s = make_server(workers=1).start()
    pids = s.wait_workers(1)
    ctl_send(s.pid, b"\x01\x00")                                   # short
    ctl_send(s.pid, struct.pack("=HHIiI", 9, MSG_CONTROL, 8, 1, 0) + bytes(8))  # version
    control(s.pid, 77)                                             # command
    snap = s.snapshot(pred=lambda x: x["messages_dropped"] == 3)
    assert snap["workers_running"] == 1
    assert "control queue: dropped malformed message" in s.error_log()
    assert s.workers() == pids
    assert http_request(s.port, "/").status == 200


def test_reload_switches_the_error_log(make_server):
    s = make_server(workers=1).start()
    new_log = os.path.join(s.dir, "error2.log")
    s.write_config(error_log=new_log)
    s.signal(signal.SIGHUP)

    def logged():
        try:
            with open(new_log) as f:
                return "generation 2 ready" in f.read()
        except OSError:
            return False
    wait_for(logged, 20, what="the new error log in use")


def test_usr1_reopens_worker_access_logs(make_server):
    s = make_server(workers=1).start()
    assert http_request(s.port, "/?before").status == 200
    wait_for(lambda: os.path.exists(s.access_log_path) and
             "before" in open(s.access_log_path).read(), what="the first access line")
    os.rename(s.access_log_path, s.access_log_path + ".1")
    s.signal(signal.SIGUSR1)
    wait_for(lambda: "log files reopened" in s.error_log(), what="reopen")
    # The worker takes the command from its channel in its own time.
    wait_for(lambda: not holding(s.workers(), s.access_log_path + ".1"), 15,
             what="the worker to let go of the renamed access log")

    def reopened():
        assert http_request(s.port, "/?after").status == 200
        return os.path.exists(s.access_log_path) and "after" in open(s.access_log_path).read()
    wait_for(reopened, 10, interval=0.2, what="a line in the new access log")
    with open(s.access_log_path + ".1") as f:
        assert "after" not in f.read()


def stats_send(pid, payload):
    mq_send_raw(f"/preforkd.{pid}.stats", payload)


def test_stats_queue_drops_malformed_messages(make_server):
    s = make_server(workers=1).start()
    pids = s.wait_workers(1)
    stats_send(s.pid, b"garbage")
    # A well-formed control message is the wrong type for the stats queue.
    stats_send(s.pid, struct.pack("=HHIiI", 1, MSG_CONTROL, 8, os.getpid(), 0) + bytes(8))
    snap = s.snapshot(pred=lambda x: x["messages_dropped"] == 2)
    assert snap["workers_running"] == 1
    assert "stats queue: dropped malformed message" in s.error_log()
    assert s.workers() == pids


def test_reload_with_an_unbindable_address_keeps_the_old_config(make_server):
    s = make_server(workers=1).start()
    old = s.wait_workers(1)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        s.write_config(listen=[f"127.0.0.1:{s.port}", f"127.0.0.1:{port}"])
        s.signal(signal.SIGHUP)
        wait_for(lambda: f"reload failed: listen 127.0.0.1:{port}: bind: Address already "
                 "in use; keeping the old configuration" in s.error_log(), what="the log")
    snap = s.snapshot()
    assert snap["generation"] == 1 and snap["listen"] == [f"127.0.0.1:{s.port}"]
    assert s.workers() == old
    assert http_request(s.port, "/").status == 200


def test_term_lets_a_download_in_flight_finish(make_server):
    s = make_server(workers=1).start()
    size = 32 << 20
    with open(os.path.join(s.root, "big.bin"), "wb") as f:
        f.truncate(size)
    c = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    c.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = c.recv(4096)          # then stop reading while the worker is told to stop
    assert got.startswith(b"HTTP/1.1 200")
    s.signal(signal.SIGTERM)
    wait_for(lambda: "graceful stop" in s.error_log(), what="the stop to begin")
    received = len(got.partition(b"\r\n\r\n")[2]) + bytes_until_eof(c)
    c.close()
    assert received == size
    assert s.wait_exit() == 0
    assert_cleaned_up(s)


def test_term_kills_a_worker_that_does_not_stop_in_time(make_server):
    s = make_server(workers=2, graceful_timeout="1s", worker_timeout="60s").start()
    pids = s.wait_workers(2)
    os.kill(pids[0], signal.SIGSTOP)    # cannot answer STOP_GRACEFUL
    s.signal(signal.SIGTERM)
    assert s.wait_exit() == 0
    assert not alive(pids[0])
    assert f"(pid {pids[0]}) still running after 3000 ms; killing it" in s.error_log()
    assert_cleaned_up(s)


def test_control_quit_is_a_fast_stop(make_server):
    s = make_server(workers=2, graceful_timeout="60s").start()
    pids = s.wait_workers(2)
    dl = StalledDownload(s)
    try:
        control(s.pid, CTL_QUIT)
        assert s.wait_exit() == 0
        assert dl.rest() < dl.SIZE, "cut short, not waited for"
    finally:
        dl.close()
    for p in pids:
        assert not alive(p)
    assert_cleaned_up(s)

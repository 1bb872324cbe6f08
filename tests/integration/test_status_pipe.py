"""The status pipe (docs/ARCHITECTURE.md: Status pipe): a reader gets a snapshot at once, then one per
interval; JSON lines or text; slow and vanished readers harm nothing; a
path that is not a FIFO is refused."""
import fcntl
import json
import os
import select
import signal
import stat
import subprocess
import time

from conftest import http_request, read_status_bytes, wait_for


def read_json_lines(path, n, timeout=10):
    buf = read_status_bytes(path, lambda b: b.count(b"\n") >= n, timeout)
    return [json.loads(l) for l in buf.split(b"\n")[:n]]


def test_first_snapshot_comes_at_once_for_every_reader(make_server):
    """With a 60 s interval, only the immediate first snapshot can arrive."""
    s = make_server(status_interval="60s").start()
    first = s.snapshot(timeout=5)
    assert first["version"] == 1
    second = s.snapshot(timeout=5)   # a new reader after the first went away
    assert second["pid"] == s.pid
    assert second["time"] >= first["time"]


def test_snapshot_fields(make_server):
    s = make_server(workers=2).start()
    snap = s.snapshot(pred=lambda x: x["workers_running"] == 2)
    for key in ("version", "time", "pid", "uptime_s", "generation", "listen",
                "workers_target", "workers_running", "totals", "reloads",
                "worker_exits_unexpected", "workers_hung_killed", "workers"):
        assert key in snap, key
    assert set(snap["totals"]) >= {"connections_accepted", "connections_active",
                                   "requests", "responses", "bytes_in", "bytes_out"}
    assert set(snap["totals"]["responses"]) == {"1xx", "2xx", "3xx", "4xx", "5xx"}
    w = snap["workers"][0]
    assert set(w) >= {"slot", "pid", "generation", "state", "started", "requests",
                      "connections_active", "heartbeat_age_ms"}
    assert snap["time"].endswith("Z") and w["started"].endswith("Z")


def test_interval_gives_a_stream_of_snapshots(make_server):
    s = make_server(status_interval="50ms").start()
    snaps = read_json_lines(s.status_path, 4)
    uptimes = [x["uptime_s"] for x in snaps]
    assert uptimes == sorted(uptimes)


def test_head_and_jq(make_server):
    s = make_server().start()
    for _ in range(5):
        assert http_request(s.port, "/").status == 200
    s.snapshot(pred=lambda x: x["totals"]["requests"] == 6)   # 5 + the start probe
    out = subprocess.run(f"head -n1 {s.status_path} | jq .totals.requests", shell=True,
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "6"


def test_text_format(make_server):
    s = make_server(status_format="text").start()
    buf = read_status_bytes(s.status_path, lambda b: b"\n\n" in b)
    block = buf.split(b"\n\n", 1)[0].decode()
    fields = dict(line.split(": ", 1) for line in block.splitlines())
    assert fields["version"] == "1"
    assert fields["pid"] == str(s.pid)


def test_slow_reader_does_not_block_and_gets_whole_snapshots(make_server):
    """The reader shrinks the pipe to one page and stops reading: snapshots
    (larger than the pipe) are skipped, never torn, and the server goes on."""
    s = make_server(workers=30, max_workers=32, status_interval="20ms").start()
    s.wait_workers(30)
    fd = os.open(s.status_path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        buf = b""
        while b"\n" not in buf:
            select.select([fd], [], [], 1)
            try:
                buf += os.read(fd, 1 << 20)
            except BlockingIOError:
                pass
        snap = json.loads(buf.split(b"\n", 1)[0])
        assert len(json.dumps(snap)) > 4096, "a snapshot larger than the pipe"
        wait_for(lambda: _shrink(fd), what="pipe shrunk")
        for _ in range(20):
            assert http_request(s.port, "/").status == 200
        s.signal(signal.SIGTTIN)
        s.wait_workers(31)
        wait_for(lambda: _queued(fd) == 4096, what="the pipe full")
        data = b""
        deadline = time.monotonic() + 5
        while data.count(b"\n") < 3 and time.monotonic() < deadline:
            select.select([fd], [], [], 0.2)
            try:
                data += os.read(fd, 1 << 20)
            except BlockingIOError:
                pass
        lines = data.split(b"\n")
        whole = [json.loads(l) for l in lines[1:-1]]   # the first may be a tail
        assert len(whole) >= 1
        assert any(x["workers_target"] == 31 for x in whole)
    finally:
        os.close(fd)


def _queued(fd):
    import array
    import termios
    n = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, n)
    return n[0]


def _shrink(fd):
    """Empties the pipe and sets it to one page (fails while data is in it)."""
    try:
        while os.read(fd, 1 << 20):
            pass
    except BlockingIOError:
        pass
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 4096)
        return True
    except OSError:
        return False


def test_vanished_reader_harms_nothing(make_server):
    s = make_server(status_interval="20ms").start()
    for _ in range(5):
        fd = os.open(s.status_path, os.O_RDONLY | os.O_NONBLOCK)
        select.select([fd], [], [], 2)
        os.close(fd)   # maybe mid-snapshot
    snap = s.snapshot()
    assert snap["pid"] == s.pid
    assert http_request(s.port, "/").status == 200


def test_existing_fifo_is_reused_and_mode_0640(make_server):
    s = make_server()
    os.mkfifo(s.status_path, 0o600)
    ino = os.stat(s.status_path).st_ino
    s.start()
    st = os.stat(s.status_path)
    assert stat.S_ISFIFO(st.st_mode)
    assert st.st_ino == ino, "reused, not replaced"
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert s.snapshot()["pid"] == s.pid


def test_created_fifo_mode(make_server):
    s = make_server().start()
    st = os.stat(s.status_path)
    assert stat.S_ISFIFO(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o640


def test_non_fifo_path_is_refused(make_server):
    s = make_server()
    with open(s.status_path, "w") as f:
        f.write("not a fifo\n")
    s.start(wait=False)
    assert s.wait_exit() == 1
    assert f"status_pipe {s.status_path}: exists and is not a FIFO" in s.stderr_text()
    with open(s.status_path) as f:
        assert f.read() == "not a fifo\n", "left untouched"

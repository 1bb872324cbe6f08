"""preforkctl (docs/ARCHITECTURE.md: Operations, issue 4 item 7): finding the supervisor through the
pidfile, LSB exit codes, commands over the control queue (and the signal
fallback), the status table, --json and --watch.

The first half needs no preforkd: a copy of /bin/sleep named "preforkd"
stands in for a supervisor without a control queue, and a FIFO written by the
test stands in for the status pipe.
"""
import json
import os
import select
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import PREFORKCTL, StalledDownload, alive, fake_preforkd, mqueues, public_dir, stage_binaries, wait_for

SNAPSHOT = {
    "version": 1, "time": "2026-11-23T15:04:05Z", "pid": 4242, "uptime_s": 3725.5,
    "generation": 2, "listen": ["127.0.0.1:8080", "[::1]:8080"],
    "workers_target": 4, "workers_running": 3,
    "totals": {"connections_accepted": 17, "connections_active": 2, "requests": 1234,
               "responses": {"1xx": 0, "2xx": 1200, "3xx": 4, "4xx": 29, "5xx": 1},
               "bytes_in": 98765, "bytes_out": 123456789},
    "reloads": 1, "worker_exits_unexpected": 5, "workers_hung_killed": 6,
    "workers": [
        {"slot": 0, "pid": 4243, "generation": 2, "state": "ready",
         "started": "2026-11-23T15:04:00Z", "requests": 600,
         "connections_active": 1, "heartbeat_age_ms": 120},
        {"slot": 1, "pid": 4244, "generation": 2, "state": "backoff \"x\"",
         "started": "2026-11-23T15:04:00Z", "requests": 634,
         "connections_active": 0, "heartbeat_age_ms": 9},
    ],
}


def ctl(*args, timeout=30, user=None, exe=PREFORKCTL):
    """Runs preforkctl (or the copy at exe); returns (exit code, stdout, stderr)."""
    kw = {}
    if user is not None:
        kw = {"user": user, "group": user if user != "nobody" else "nogroup",
              "extra_groups": []}
    p = subprocess.run([exe, *args], capture_output=True, text=True, errors="replace",
                       timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    return p.returncode, p.stdout, p.stderr


def one_line(text):
    lines = text.strip("\n").split("\n")
    assert len(lines) == 1, f"expected one line, got {text!r}"
    return lines[0]


@pytest.fixture
def fake(tmp_path):
    """A live process whose executable is called preforkd (a copy of
    sleep), with a pidfile naming it; it has no control queue."""
    made = []

    def start():
        p, pidfile = fake_preforkd(str(tmp_path), f"fake{len(made) + 1}.pid")
        made.append(p)
        return p, pidfile

    yield start
    for p in made:
        if p.poll() is None:
            p.kill()
        p.wait()


# --- usage ---------------------------------------------------------------------

def test_help_documents_commands_and_exit_codes():
    rc, out, err = ctl("-h")
    assert rc == 0 and err == ""
    for word in ("status", "reload", "stop", "quit", "reopen", "scale", "check",
                 "--json", "--watch", "--count", "--timeout", "--no-wait", "-p PIDFILE",
                 "-c CONFIG", "exit codes", "3  not running", "4  permission denied"):
        assert word in out
    rc, out, err = ctl("--version")
    assert rc == 0 and out.startswith("preforkctl ") and err == ""


@pytest.mark.parametrize("args,message", [
    ((), "no command given"),
    (("frobnicate",), 'unknown command "frobnicate"'),
    (("--bogus", "status"), "unknown option --bogus"),
    (("scale",), "scale needs one argument"),
    (("scale", "0"), 'expected a number 1..1024, got "0"'),
    (("scale", "2000"), 'expected a number 1..1024, got "2000"'),
    (("scale", "+0"), "scale: +0 changes nothing"),
    (("scale", "abc"), 'scale: expected N, +N or -N, got "abc"'),
    (("scale", "1", "2"), "scale needs one argument"),
    (("stop", "--json"), "options of status"),
    (("reload", "--no-wait"), "options of stop and quit"),
    (("stop", "--timeout", "x"), 'expected a number 0..86400, got "x"'),
    (("-p", "a", "-c", "b", "status"), "not both"),
    (("-p",), "option -p needs a value"),
    (("check",), "check needs -c CONFIG"),
    (("reload", "now"), "reload takes no arguments"),
])
def test_usage_errors_are_one_line_and_exit_2(args, message):
    rc, out, err = ctl(*args)
    assert rc == 2, (rc, out, err)
    assert out == ""
    line = one_line(err)
    assert line.startswith("preforkctl: ") and message in line, line


# --- finding the supervisor ----------------------------------------------------------

def test_status_without_pidfile_is_3(tmp_path):
    path = tmp_path / "none.pid"
    rc, out, err = ctl("-p", str(path), "status")
    assert (rc, out, err) == (3, f"preforkd is not running (no pidfile {path})\n", "")


@pytest.mark.parametrize("command", ["reload", "stop", "quit", "reopen"])
def test_commands_without_pidfile_are_3(tmp_path, command):
    rc, out, err = ctl("-p", str(tmp_path / "none.pid"), command)
    assert rc == 3 and out == ""
    assert "preforkd is not running (no pidfile" in one_line(err)


def test_dead_pid_is_a_stale_pidfile(tmp_path):
    p = subprocess.Popen(["true"])
    p.wait()
    pidfile = tmp_path / "p.pid"
    pidfile.write_text(f"{p.pid}\n")
    rc, out, err = ctl("-p", str(pidfile), "status")
    assert rc == 1
    assert out == f"preforkd is not running: stale pidfile {pidfile} (pid {p.pid})\n"
    rc, out, err = ctl("-p", str(pidfile), "reload")
    assert rc == 1 and f"stale pidfile {pidfile} (pid {p.pid})" in one_line(err)


def test_zombie_is_a_stale_pidfile(tmp_path, fake):
    p, pidfile = fake()
    p.kill()
    wait_for(lambda: not alive(p.pid), what="the fake to become a zombie")
    assert os.path.exists(f"/proc/{p.pid}")  # not reaped yet
    rc, out, _ = ctl("-p", pidfile, "status")
    assert rc == 1 and "stale pidfile" in out


def test_a_recycled_pid_of_another_program_gets_no_signal(tmp_path):
    other = subprocess.Popen(["sleep", "300"])
    try:
        pidfile = tmp_path / "p.pid"
        pidfile.write_text(f"{other.pid}\n")
        rc, out, _ = ctl("-p", str(pidfile), "status")
        assert rc == 1 and "stale pidfile" in out
        rc, _, err = ctl("-p", str(pidfile), "stop", "--no-wait")
        assert rc == 1 and "stale pidfile" in err
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


@pytest.mark.parametrize("content", ["", "abc\n", "0\n", "-5\n", "12x\n", "99999999999\n"])
def test_a_pidfile_without_a_pid_is_an_error(tmp_path, content):
    pidfile = tmp_path / "p.pid"
    pidfile.write_text(content)
    rc, out, err = ctl("-p", str(pidfile), "reload")
    assert rc == 1 and out == ""
    assert f"pidfile {pidfile} holds no pid" in one_line(err)


def test_running_without_status_pipe(fake):
    p, pidfile = fake()
    rc, out, err = ctl("-p", pidfile, "status")
    assert (rc, out, err) == (0, f"preforkd is running (pid {p.pid})\n", "")
    rc, out, err = ctl("-p", pidfile, "status", "--json")
    assert rc == 1 and "no status pipe known" in one_line(err)


# --- signals when there is no control queue -------------------------------------------

@pytest.mark.parametrize("command,sig", [
    ("reload", signal.SIGHUP), ("reopen", signal.SIGUSR1),
    (("stop", "--no-wait"), signal.SIGTERM), (("quit", "--no-wait"), signal.SIGINT),
])
def test_without_control_queue_the_signal_is_sent(fake, command, sig):
    p, pidfile = fake()
    args = command if isinstance(command, tuple) else (command,)
    rc, out, err = ctl("-p", pidfile, *args)
    assert (rc, out, err) == (0, "", "")
    assert p.wait(10) == -sig


def test_stop_waits_for_the_exit(fake):
    p, pidfile = fake()
    rc, out, err = ctl("-p", pidfile, "stop", "--timeout", "20")
    assert (rc, out, err) == (0, "", "")
    assert not alive(p.pid)  # gone before preforkctl returned (a zombie counts as gone)
    assert p.wait(5) == -signal.SIGTERM


def test_stop_timeout_is_reported(tmp_path):
    p, pidfile = fake_preforkd(str(tmp_path), ignore=(signal.SIGTERM,))
    try:
        rc, out, err = ctl("-p", pidfile, "stop", "--timeout", "1")
        assert rc == 1
        assert one_line(err) == f"preforkctl: preforkd (pid {p.pid}) still running after 1s"
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()


def test_scale_needs_the_control_queue(fake):
    p, pidfile = fake()
    rc, out, err = ctl("-p", pidfile, "scale", "3")
    assert rc == 1
    assert one_line(err) == f"preforkctl: no control queue /preforkd.{p.pid}.ctl for pid {p.pid}"
    assert p.poll() is None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as another user")
def test_permission_denied_is_4():
    # nobody runs a copy staged in a 0755 dir under /tmp: neither pytest's
    # tmp_path nor the checkout (root's home, a mktemp -d) need be reachable.
    d = public_dir()
    try:
        os.mkdir(os.path.join(d, "bin"), 0o755)
        _, ctl_copy = stage_binaries(os.path.join(d, "bin"))
        p, pidfile = fake_preforkd(d)
        for args in (("reload",), ("stop",), ("scale", "2")):
            rc, out, err = ctl("-p", pidfile, *args, user="nobody", exe=ctl_copy)
            assert rc == 4, (args, rc, err)
            assert one_line(err) == (f"preforkctl: permission denied: cannot control pid {p.pid} "
                                     "(run as its user or root)")
        rc, out, _ = ctl("-p", pidfile, "status", user="nobody", exe=ctl_copy)
        assert (rc, out) == (0, f"preforkd is running (pid {p.pid})\n")
        assert p.poll() is None
        os.chmod(pidfile, 0o600)
        rc, out, err = ctl("-p", pidfile, "reload", user="nobody", exe=ctl_copy)
        assert rc == 4 and one_line(err) == f"preforkctl: permission denied: cannot read {pidfile}"
        p.kill()
        p.wait()
    finally:
        shutil.rmtree(d)


# --- the status table from a FIFO the test writes -------------------------------

def feed_fifo(path, data, hold=10.0):
    """Opens the FIFO for writing once a reader is there, writes data and
    keeps it open up to `hold` seconds or until the reader leaves."""
    def run():
        deadline = time.monotonic() + hold
        fd = None
        while fd is None and time.monotonic() < deadline:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.01)
        if fd is None:
            return
        try:
            os.set_blocking(fd, True)
            os.write(fd, data)
            while time.monotonic() < deadline:
                time.sleep(0.05)
                try:
                    os.write(fd, b"")
                except BrokenPipeError:
                    break
        except BrokenPipeError:
            pass
        finally:
            os.close(fd)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "status"
    os.mkfifo(path)
    return str(path)


def test_status_table_shows_every_field(fake, fifo):
    p, pidfile = fake()
    feed_fifo(fifo, (json.dumps(SNAPSHOT) + "\n").encode(), hold=2)
    rc, out, err = ctl("-p", pidfile, "-s", fifo, "status")
    assert (rc, err) == (0, "")
    lines = out.split("\n")
    assert lines[:11] == [
        "pid:          4242",
        "uptime:       1h02m05s",
        "generation:   2",
        "listen:       127.0.0.1:8080 [::1]:8080",
        "workers:      3 running / 4 target",
        "requests:     1234",
        "connections:  17 accepted, 2 active",
        "responses:    1xx 0 2xx 1200 3xx 4 4xx 29 5xx 1",
        "bytes:        in 98765, out 123456789",
        "reloads:      1",
        "exits:        5 unexpected, 6 hung and killed",
    ]
    assert lines[12].split() == ["SLOT", "PID", "GEN", "STATE", "REQUESTS", "ACTIVE", "HEARTBEAT"]
    assert lines[13].split() == ["0", "4243", "2", "ready", "600", "1", "120ms"]
    assert lines[14].split() == ["1", "4244", "2", 'backoff', '"x"', "634", "0", "9ms"]
    assert lines[15:] == [""]


def test_status_json_is_the_raw_line(fake, fifo):
    p, pidfile = fake()
    line = json.dumps(SNAPSHOT, separators=(",", ":"))
    feed_fifo(fifo, (line + "\n" + line + "\n").encode(), hold=2)
    rc, out, err = ctl("-p", pidfile, "-s", fifo, "status", "--json")
    assert (rc, out, err) == (0, line + "\n", "")


def test_status_reassembles_a_snapshot_larger_than_the_pipe(fake, fifo):
    p, pidfile = fake()
    snap = dict(SNAPSHOT)
    snap["workers"] = [dict(SNAPSHOT["workers"][0], slot=i, pid=10000 + i) for i in range(1024)]
    line = json.dumps(snap)
    assert len(line) > 65536
    feed_fifo(fifo, (line + "\n").encode(), hold=5)
    rc, out, err = ctl("-p", pidfile, "-s", fifo, "status")
    assert (rc, err) == (0, "")
    rows = [l.split() for l in out.split("\n")[13:] if l]
    assert len(rows) == 1024
    assert rows[1023][:2] == ["1023", "11023"]


def test_status_text_format_is_printed_as_it_comes(fake, fifo):
    p, pidfile = fake()
    record = "version: 1\npid: 4242\nworkers_running: 2\n\n"
    feed_fifo(fifo, (record + record).encode(), hold=2)
    rc, out, err = ctl("-p", pidfile, "-s", fifo, "status")
    assert (rc, out, err) == (0, record, "")


@pytest.mark.parametrize("garbage", [
    b"not json at all\n\n", b"{\"pid\": \n", b"{\"pid\": 1, \"workers\": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}\n",
    b"{\"pid\": \"x\", \"listen\": [1, 2], \"workers\": [{\"slot\": \"\\u0041\\ud800\"}]}\n",
])
def test_status_survives_malformed_snapshots(fake, fifo, garbage):
    p, pidfile = fake()
    feed_fifo(fifo, garbage, hold=2)
    rc, out, err = ctl("-p", pidfile, "-s", fifo, "status")
    assert rc == 0, (rc, out, err)
    assert out  # printed something: the table or the record as it came


def test_status_when_the_pipe_says_nothing(fake, fifo, tmp_path):
    p, pidfile = fake()
    rc, out, err = ctl("-p", pidfile, "-s", fifo, "status")
    assert (rc, out) == (0, f"preforkd is running (pid {p.pid})\n")
    assert one_line(err) == f"preforkctl: {fifo}: no snapshot within 3s"
    rc, out, err = ctl("-p", pidfile, "-s", fifo, "status", "--json")
    assert (rc, out) == (1, "")
    regular = tmp_path / "plain"
    regular.write_text("x")
    rc, out, err = ctl("-p", pidfile, "-s", str(regular), "status")
    assert (rc, out) == (0, f"preforkd is running (pid {p.pid})\n")
    assert one_line(err) == f"preforkctl: {regular}: not a FIFO"


def test_watch_count_bounds_the_snapshots(fake, fifo):
    p, pidfile = fake()
    lines = [json.dumps(dict(SNAPSHOT, generation=g)) for g in range(1, 6)]
    feed_fifo(fifo, ("\n".join(lines) + "\n").encode(), hold=5)
    rc, out, err = ctl("-p", pidfile, "-s", fifo, "status", "--watch", "--json", "--count", "3")
    assert (rc, err) == (0, "")
    assert out == "\n".join(lines[:3]) + "\n"


def test_watch_ends_when_the_server_goes_away(fake, fifo):
    p, pidfile = fake()
    feed_fifo(fifo, (json.dumps(SNAPSHOT) + "\n").encode(), hold=1)
    proc = subprocess.Popen([PREFORKCTL, "-p", pidfile, "-s", fifo, "status", "--watch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Once it has shown the snapshot, take the server away.
        shown = [b""]

        def has_shown():
            if select.select([proc.stdout], [], [], 0.05)[0]:
                shown[0] += os.read(proc.stdout.fileno(), 65536)
            return b"pid:          4242\n" in shown[0]
        wait_for(has_shown, 15, what="the snapshot shown")
        p.kill()
        rest, err = proc.communicate(timeout=20)
        out = shown[0].decode() + rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 3
    assert "pid:          4242" in out
    assert out.endswith(f"preforkd is not running (pid {p.pid} exited)\n")


# --- against the real server --------------------------------------------------------

def test_status_of_a_running_server(server):
    rc, out, err = ctl("-c", server.conf_path, "status")
    assert (rc, err) == (0, "")
    assert out.startswith(f"pid:          {server.pid}\n")
    assert "workers:      2 running / 2 target\n" in out
    assert f"listen:       127.0.0.1:{server.port}\n" in out
    lines = out.split("\n")
    rows = lines[[l.split()[:1] for l in lines].index(["SLOT"]) + 1:-1]
    assert sorted(int(r.split()[1]) for r in rows) == server.workers()

    rc, out, err = ctl("-c", server.conf_path, "status", "--json")
    assert (rc, err) == (0, "")
    snap = json.loads(out)
    assert snap["pid"] == server.pid and snap["listen"] == [f"127.0.0.1:{server.port}"]
    rc, out, err = ctl("-p", server.pidfile, "status")
    assert (rc, out, err) == (0, f"preforkd is running (pid {server.pid})\n", "")


def test_watch_of_a_running_server(server):
    rc, out, err = ctl("-c", server.conf_path, "status", "--watch", "--json", "--count", "3")
    assert (rc, err) == (0, "")
    snaps = [json.loads(l) for l in out.strip().split("\n")]
    assert len(snaps) == 3 and {s["pid"] for s in snaps} == {server.pid}
    rc, out, err = ctl("-c", server.conf_path, "status", "--watch", "--count", "2")
    assert rc == 0 and out.count(f"pid:          {server.pid}\n") == 2


def test_scale_absolute_and_relative(server):
    def target(n):
        return server.snapshot(timeout=10, pred=lambda s: s["workers_target"] == n
                               and s["workers_running"] == n)
    for arg, n in (("4", 4), ("+2", 6), ("-3", 3), ("1", 1)):
        rc, out, err = ctl("-c", server.conf_path, "scale", arg)
        assert (rc, out, err) == (0, "", ""), arg
        target(n)
        server.wait_workers(n)


def test_reload_starts_a_new_generation(server):
    gen = server.snapshot()["generation"]
    rc, out, err = ctl("-c", server.conf_path, "reload")
    assert (rc, out, err) == (0, "", "")
    server.snapshot(timeout=10, pred=lambda s: s["generation"] == gen + 1
                    and all(w["generation"] == gen + 1 for w in s["workers"]))
    assert server.proc.poll() is None


def test_reopen_makes_new_log_files(server):
    from conftest import http_request
    assert http_request(server.port, "/").status in (200, 403, 404)
    wait_for(lambda: os.path.getsize(server.access_log_path) > 0, what="access log lines")
    os.rename(server.access_log_path, server.access_log_path + ".1")
    os.rename(server.error_log_path, server.error_log_path + ".1")
    rc, out, err = ctl("-c", server.conf_path, "reopen")
    assert (rc, out, err) == (0, "", "")

    def new_lines():
        http_request(server.port, "/reopened")
        return os.path.exists(server.access_log_path) and \
            "/reopened" in open(server.access_log_path).read()
    wait_for(new_lines, timeout=15, interval=0.2, what="access lines in the new file")


@pytest.mark.parametrize("command,code", [("stop", 0), ("quit", 0)])
def test_stop_and_quit_wait_and_clean_up(server, command, code):
    pid = server.pid
    rc, out, err = ctl("-c", server.conf_path, command)
    assert (rc, out, err) == (0, "", "")
    assert not alive(pid)
    assert server.proc.wait(10) == code
    assert not os.path.exists(server.pidfile)
    assert mqueues(pid) == []
    rc, out, _ = ctl("-c", server.conf_path, "status")
    assert rc == 3 and "not running" in out


def test_quit_cuts_a_transfer_in_flight_short(make_server):
    """quit is the fast stop: it does not wait graceful_timeout (60 s, more
    than ctl's 30 s limit here) for a client that stopped reading."""
    s = make_server(graceful_timeout="60s").start()
    dl = StalledDownload(s)
    try:
        rc, out, err = ctl("-c", s.conf_path, "quit")
        assert (rc, out, err) == (0, "", "")
        assert s.proc.wait(10) == 0
        assert dl.rest() < dl.SIZE
    finally:
        dl.close()


def test_stop_no_wait_returns_and_the_server_still_exits(server):
    rc, out, err = ctl("-c", server.conf_path, "stop", "--no-wait")
    assert (rc, out, err) == (0, "", "")
    assert server.wait_exit(20) == 0


def test_check(make_server):
    s = make_server()
    rc, out, err = ctl("-c", s.conf_path, "check")
    assert (rc, out, err) == (0, "configuration ok\n", "")
    s.start()
    # Its own addresses are in use by it: check still passes, so "check,
    # then reload" works.
    rc, out, err = ctl("-c", s.conf_path, "check")
    assert (rc, out, err) == (0, "configuration ok\n", "")
    with open(s.conf_path, "a") as f:
        f.write("workers = many\n")
    rc, out, err = ctl("-c", s.conf_path, "check")
    lineno = len(open(s.conf_path).read().splitlines())
    assert rc == 1 and out == ""
    assert one_line(err).startswith(f"preforkctl: {s.conf_path}:{lineno}: ")


def test_check_reports_an_address_in_use(make_server):
    import socket
    s = make_server()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", s.port))
        blocker.listen()
        rc, out, err = ctl("-c", s.conf_path, "check")
    assert rc == 1 and out == ""
    assert f"127.0.0.1:{s.port}" in one_line(err)


def test_config_without_pidfile_means_the_default_pidfile(make_server):
    # The init script and the systemd unit pass --pidfile=/run/preforkd/preforkd.pid.
    s = make_server(pidfile=None)
    assert ctl("-c", s.conf_path, "status") == (
        3, "preforkd is not running (no pidfile /run/preforkd/preforkd.pid)\n", "")


def test_a_broken_config_still_lets_the_operator_stop(server):
    with open(server.conf_path, "a") as f:
        f.write("wokers = 4\n")
    lineno = len(open(server.conf_path).read().splitlines())
    # reload would be refused by the server too: say why, send nothing.
    rc, out, err = ctl("-c", server.conf_path, "reload")
    assert rc == 1 and out == ""
    assert one_line(err).startswith(f"preforkctl: {server.conf_path}:{lineno}: ")
    gen = server.snapshot()["generation"]
    # status and stop warn, then find the server anyway.
    rc, out, err = ctl("-c", server.conf_path, "status", "--json")
    assert rc == 0 and json.loads(out)["generation"] == gen
    assert one_line(err).startswith(f"preforkctl: warning: {server.conf_path}:{lineno}: ")
    rc, out, err = ctl("-c", server.conf_path, "stop")
    assert rc == 0 and "warning" in err
    assert server.wait_exit(10) == 0


def test_status_survives_mutated_snapshots(fake, tmp_path):
    """A deterministic mini-fuzz of the snapshot parser: truncations, byte
    flips and splices of a real snapshot never crash preforkctl (under the
    sanitizer build any memory error would fail here)."""
    import random
    p, pidfile = fake()
    rnd = random.Random(4242)
    base = json.dumps(SNAPSHOT).encode()
    cases = [b"{" * 40 + b"\n", b"[" * 5000 + b"\n", b'{"pid": 1e999999}\n',
             b'{"pid": 1, "workers": [{"state": "\\u00"}]}\n', b'{"\x01": 1}\n',
             b'{"pid": 1, "listen": ["' + b"a" * 70000 + b'"]}\n']
    for _ in range(40):
        b = bytearray(base)
        for _ in range(rnd.randint(1, 8)):
            i = rnd.randrange(len(b))
            b[i] = rnd.choice(b'{}[]",:\\0123456789-.eEtruefalsn \x00\xff')
        cases.append(bytes(b[:rnd.randint(1, len(b))]).replace(b"\n", b" ") + b"\n")
    for n, data in enumerate(cases):
        fifo = str(tmp_path / f"status{n}")
        os.mkfifo(fifo)
        feed_fifo(fifo, data, hold=2)
        rc, out, err = ctl("-p", pidfile, "-s", fifo, "status")
        assert rc == 0, (data[:200], rc, err)
        assert "running" in out or "pid:" in out or out.strip(), data[:200]


# --- preforkctl is a client: it links IPC and helpers, asks preforkd the rest ------------------

def defined_symbols(path):
    out = subprocess.run(["nm", "--defined-only", path], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[-1] for line in out.splitlines()
            if len(line.split()) == 3 and line.split()[1] in "TDBR"}


def test_preforkctl_links_no_server_or_supervisor_object():
    libs = [os.path.join(os.path.dirname(PREFORKCTL), f"lib{n}.a") for n in ("server", "supervisor")]
    daemon = set().union(*(defined_symbols(lib) for lib in libs))
    ctl_syms = defined_symbols(PREFORKCTL)
    assert {"config_load_file", "worker_main", "http_parse_request"} <= daemon
    assert ctl_syms & daemon == set()
    assert not any(s.startswith("SSL_") for s in ctl_syms)


def test_preforkd_print_paths_reads_what_preforkctl_needs(tmp_path):
    from conftest import PREFORKD
    conf = tmp_path / "p.conf"
    conf.write_text(f'pidfile = "{tmp_path}/a b.pid"\nstatus_pipe = {tmp_path}/st\n'
                    "graceful_timeout = 45s\n")
    p = subprocess.run([PREFORKD, "--print-paths", "-c", str(conf)], capture_output=True,
                       text=True)
    assert (p.returncode, p.stderr) == (0, "")
    assert p.stdout == (f"pidfile={tmp_path}/a b.pid\nstatus_pipe={tmp_path}/st\n"
                        "graceful_timeout_ms=45000\n")
    conf.write_text("wokers = 2\n" + conf.read_text())
    p = subprocess.run([PREFORKD, "--print-paths", "-c", str(conf)], capture_output=True,
                       text=True)
    assert p.returncode == 2 and p.stderr == f'{conf}:1: unknown key "wokers"\n'
    assert p.stdout.startswith(f"pidfile={tmp_path}/a b.pid\n")
    p = subprocess.run([PREFORKD, "--print-paths", "-c", str(tmp_path / "none")],
                       capture_output=True, text=True)
    assert p.returncode == 1 and p.stdout == "" and "none" in p.stderr


def test_preforkctl_says_when_it_cannot_run_preforkd(tmp_path):
    conf = tmp_path / "p.conf"
    conf.write_text(f"pidfile = {tmp_path}/p.pid\n")
    env = dict(os.environ, PREFORKD=str(tmp_path / "no-such-preforkd"))
    p = subprocess.run([PREFORKCTL, "-c", str(conf), "status"], capture_output=True,
                       text=True, env=env)
    assert p.returncode == 1 and p.stdout == ""
    assert one_line(p.stderr) == "preforkctl: cannot run preforkd: No such file or directory"
    # The preforkd named by $PREFORKD is the one asked.
    env["PREFORKD"] = os.path.join(os.path.dirname(PREFORKCTL), "preforkd")
    p = subprocess.run([PREFORKCTL, "-c", str(conf), "status"], capture_output=True,
                       text=True, env=env)
    assert (p.returncode, p.stdout) == (3, f"preforkd is not running (no pidfile {tmp_path}/p.pid)\n")

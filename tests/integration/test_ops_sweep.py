"""Issue 12, the operations items, through the real scripts and binaries:
preforkctl and the init script signal only a process shown to be preforkd
(item 2), the logrotate snippet goes through `preforkctl reopen` (item 3),
preforkctl reads a broken config with the server's own parser (item 8), the
init script checks before it restarts, escalates a stop and reads
graceful_timeout as preforkd does (item 9), the systemd unit checks before
it reloads (item 10), and scripts/install-deps asks dpkg and names an
unreachable mirror (item 11).

PID 1 is never signalled, even when the code under test is broken: every
test that names it asks `status` first and sends nothing when that answer is
wrong."""
import atexit
import gzip
import os
import shlex
import shutil
import signal
import subprocess
import tempfile

import pytest

from conftest import (PREFORKCTL, PREFORKD, alive, default_signals, fake_preforkd,
                      http_request, public_dir, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SCRIPTS = os.path.join(ROOT, "scripts")
INIT = os.path.join(SCRIPTS, "preforkd.init")
UNIT = os.path.join(SCRIPTS, "preforkd.service")
LOGROTATE = os.path.join(SCRIPTS, "preforkd.logrotate")
INSTALL_DEPS = os.path.join(SCRIPTS, "install-deps")
SHELL = shutil.which("dash") or "/bin/sh"
PYTHON = "/usr/bin/python3"
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as another user")

AS_NOBODY = {"user": "nobody", "group": "nogroup", "extra_groups": []}

# A process that is not preforkd and whose /proc/PID/exe its own user cannot
# read (PR_SET_DUMPABLE 0, like ssh-agent or gpg-agent); default HUP, USR1,
# TERM, so a stray signal kills it. With an argument it also creates the
# control queue /preforkd.<its pid>.ctl.
NON_DUMPABLE = """
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(4, 0, 0, 0, 0)
if len(sys.argv) > 1:
    rt = ctypes.CDLL("librt.so.1", use_errno=True)
    rt.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
    name = ("/preforkd.%d.ctl" % os.getpid()).encode()
    assert rt.mq_open(name, os.O_CREAT | os.O_RDWR, 0o600, None) != -1
print("ready", flush=True)
time.sleep(300)
"""


_staged = {}


def reachable(path):
    """What nobody runs from the checkout (scripts, binaries) is run from a
    0755 copy under /tmp: the checkout may sit in a 0700 folder."""
    if not isinstance(path, str) or not os.path.isfile(path) or \
            not (path.startswith(ROOT + os.sep) or path in (PREFORKD, PREFORKCTL)):
        return path
    if path not in _staged:
        if "dir" not in _staged:
            _staged["dir"] = public_dir("pf-ops-")
            atexit.register(shutil.rmtree, _staged["dir"], True)
        sub = os.path.join(_staged["dir"], str(len(_staged)))
        os.mkdir(sub)
        os.chmod(sub, 0o755)
        _staged[path] = shutil.copy(path, os.path.join(sub, os.path.basename(path)))
        os.chmod(_staged[path], 0o755)
    return _staged[path]


def as_nobody(cmd, env):
    cmd = [reachable(c) for c in cmd]
    if env is not None:
        env = {k: reachable(v) for k, v in env.items()}
    return cmd, env


def run(cmd, env=None, user=False, timeout=60):
    kw = AS_NOBODY if user else {}
    if user:
        cmd, env = as_nobody(cmd, env)
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    return p.returncode, p.stdout, p.stderr


def ctl(*args, user=False):
    return run([PREFORKCTL, *args], user=user)


def init_env(tmp, **extra):
    e = {"PATH": "/usr/bin:/bin", "PREFORKD_DEFAULTS": os.path.join(str(tmp), "no-defaults"),
         "DAEMON": PREFORKD, "CTL": PREFORKCTL, "START_STOP_DAEMON": "none",
         "SYSTEMCTL_SKIP_REDIRECT": "1"}
    e.update({k: str(v) for k, v in extra.items()})
    return e


def init(env, *args, user=False, timeout=60):
    return run([SHELL, INIT, *args], env=env, user=user, timeout=timeout)


@pytest.fixture
def shared_dir():
    """A directory nobody can enter (pytest's tmp_path may sit under 0700)."""
    d = tempfile.mkdtemp(prefix="preforkd-ops-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def procs():
    """Starts helper processes and kills them afterwards."""
    started = []

    def start(cmd, user=False, ready=False, ignore=()):
        kw = dict(AS_NOBODY) if user else {}
        if user:
            cmd, _ = as_nobody(cmd, None)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE if ready else subprocess.DEVNULL,
                             text=True, preexec_fn=lambda: default_signals(*ignore), **kw)
        started.append(p)
        if ready:
            assert p.stdout.readline() == "ready\n"
        return p

    yield start
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait()


def write_pidfile(directory, pid, name="p.pid"):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(f"{pid}\n")
    os.chmod(path, 0o644)
    return path


# --- item 2: unknown is not ours ---------------------------------------------------------

def test_preforkctl_never_signals_pid_1(tmp_path):
    pidfile = write_pidfile(str(tmp_path), 1)
    rc, out, err = ctl("-p", pidfile, "status")
    # As root on a normal host /proc/1/exe names init; in a container it
    # may be unreadable even to root. Either way: not preforkd.
    assert (rc, err) == (1, ""), out
    assert out.startswith(f"preforkd is not running: stale pidfile {pidfile} (pid 1 is not ")
    assert out.endswith("; not signalled)\n")
    for args in (("reload",), ("reopen",), ("stop", "--no-wait"), ("quit", "--no-wait"),
                 ("scale", "2")):
        rc, out, err = ctl("-p", pidfile, *args)
        assert (rc, out) == (1, ""), args
        assert err.startswith("preforkctl: preforkd is not running: stale pidfile") and \
            err.endswith("; not signalled)\n"), (args, err)


def test_init_script_never_signals_pid_1(tmp_path):
    pidfile = write_pidfile(str(tmp_path), 1)
    env = init_env(tmp_path, PIDFILE=pidfile, STOP_TIMEOUT=1)
    assert init(env, "status") == (
        1, f"preforkd: not running, but pidfile {pidfile} remains (pid 1)\n", "")
    assert init(env, "reload") == (7, "", "preforkd: not running\n")
    # rotate goes through preforkctl: ask it first, harmlessly.
    assert ctl("-p", pidfile, "status")[0] == 1
    assert init(env, "rotate")[0] == 1
    rc, out, err = init(env, "stop")
    assert (rc, err) == (0, "")
    assert out == f"preforkd: not running (removing stale pidfile {pidfile} naming pid 1)\n"
    assert not os.path.exists(pidfile)


@ROOT_ONLY
def test_a_non_dumpable_process_of_the_same_user_gets_no_signal(shared_dir, procs):
    p = procs([PYTHON, "-c", NON_DUMPABLE], user=True, ready=True)
    pidfile = write_pidfile(shared_dir, p.pid)
    rc, out, err = ctl("-p", pidfile, "status", user=True)
    assert (rc, err) == (1, "")
    assert out == (f"preforkd is not running: stale pidfile {pidfile} (pid {p.pid} is not "
                   f'known to be preforkd: "{PYTHON}", executable unreadable; not signalled)\n')
    for args in (("reload",), ("reopen",), ("stop", "--no-wait")):
        rc, out, err = ctl("-p", pidfile, *args, user=True)
        assert rc == 1 and "not signalled" in err, (args, err)
        assert p.poll() is None, args
    env = init_env(shared_dir, PIDFILE=pidfile, STOP_TIMEOUT=1)
    assert init(env, "status", user=True)[0] == 1
    assert init(env, "reload", user=True)[0] == 7
    assert init(env, "stop", user=True)[0] == 0
    assert p.poll() is None


@ROOT_ONLY
def test_another_users_unrelated_process_is_not_running_preforkd(shared_dir, procs):
    p = procs(["sleep", "300"])
    pidfile = write_pidfile(shared_dir, p.pid)
    rc, out, err = ctl("-p", pidfile, "status", user=True)
    assert (rc, err) == (1, "") and out.startswith(
        f"preforkd is not running: stale pidfile {pidfile} (pid {p.pid} is not known to be "
        'preforkd: "sleep"')
    rc, out, err = ctl("-p", pidfile, "reload", user=True)
    assert rc == 1 and "not signalled" in err
    env = init_env(shared_dir, PIDFILE=pidfile)
    assert init(env, "status", user=True) == (
        1, f"preforkd: not running, but pidfile {pidfile} remains (pid {p.pid})\n", "")
    assert p.poll() is None


@ROOT_ONLY
def test_another_users_preforkd_is_running_but_not_ours_to_signal(shared_dir):
    p, pidfile = fake_preforkd(shared_dir)  # comm "preforkd", exe unreadable to nobody
    try:
        assert ctl("-p", pidfile, "status", user=True) == (
            0, f"preforkd is running (pid {p.pid})\n", "")
        rc, _, err = ctl("-p", pidfile, "reload", user=True)
        assert rc == 4 and "permission denied" in err
        env = init_env(shared_dir, PIDFILE=pidfile)
        assert init(env, "status", user=True) == (0, f"preforkd: running (pid {p.pid})\n", "")
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()


@ROOT_ONLY
def test_the_control_queue_counts_only_when_its_owner_runs_the_pid(shared_dir, procs):
    """No name to go by (comm "python3"), exe unreadable: a control queue
    /preforkd.<pid>.ctl made by the process's own user is evidence; one
    made by someone else (root here) is not."""
    p = procs([PYTHON, "-c", NON_DUMPABLE, "queue"], user=True, ready=True)
    queue = f"/dev/mqueue/preforkd.{p.pid}.ctl"
    try:
        pidfile = write_pidfile(shared_dir, p.pid)
        assert os.stat(queue).st_uid != 0
        assert ctl("-p", pidfile, "status", user=True) == (
            0, f"preforkd is running (pid {p.pid})\n", "")
        env = init_env(shared_dir, PIDFILE=pidfile)
        assert init(env, "status", user=True)[0] == 0
        os.chown(queue, 0, 0)
        assert ctl("-p", pidfile, "status", user=True)[0] == 1
        assert init(env, "status", user=True)[0] == 1
    finally:
        os.unlink(queue)


# --- item 3: logrotate through preforkctl reopen ---------------------------------------------

def postrotate(text):
    return text.split("postrotate\n", 1)[1].split("endscript", 1)[0]


def logrotate_conf(tmp_path, logdir, pidfile):
    text = open(LOGROTATE).read().replace("/var/log/preforkd", logdir) \
        .replace("/usr/local/bin/preforkctl", PREFORKCTL) \
        .replace("/run/preforkd/preforkd.pid", pidfile)
    conf = tmp_path / "logrotate.conf"
    conf.write_text(text)
    return str(conf)


def logrotate(conf, tmp_path):
    return run(["/usr/sbin/logrotate", "-f", "-s", str(tmp_path / "state"), conf])


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def test_the_snippet_reopens_through_preforkctl_and_sends_no_signal_itself():
    post = postrotate(open(LOGROTATE).read())
    words = post.split()
    assert "kill" not in words and "USR1" not in post
    assert "/usr/local/bin/preforkctl -p /run/preforkd/preforkd.pid reopen" in post
    assert subprocess.run(["sh", "-n", "-c", post]).returncode == 0


def test_two_rotations_with_the_real_logrotate(make_server, tmp_path):
    s = make_server()
    s.start()
    conf = logrotate_conf(tmp_path, s.dir, s.pidfile)
    log = s.access_log_path

    def request_lands(path, where):
        def landed():
            http_request(s.port, path)
            return path in read(where)
        wait_for(landed, 15, interval=0.2, what=f"{path} in {where}")

    request_lands("/first", log)
    for n in (1, 2):
        assert logrotate(conf, tmp_path) == (0, "", "")
        request_lands(f"/after-{n}", log)
        assert "/first" not in read(log)
    assert "/after-1" in read(log + ".1") and "/after-2" not in read(log + ".1")
    with gzip.open(log + ".2.gz", "rt") as f:
        assert "/first" in f.read()


def test_logrotate_does_not_signal_an_unrelated_process(tmp_path, procs):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "access.log").write_text("a line\n")
    other = procs(["sleep", "300"])  # USR1 would kill it
    pidfile = write_pidfile(str(tmp_path), other.pid)
    rc, out, err = logrotate(logrotate_conf(tmp_path, str(tmp_path / "logs"), pidfile), tmp_path)
    assert rc == 1
    assert f"stale pidfile {pidfile} (pid {other.pid} is not preforkd but " in err
    assert other.poll() is None


def test_logrotate_without_a_running_server_is_quiet(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "access.log").write_text("a line\n")
    conf = logrotate_conf(tmp_path, str(tmp_path / "logs"), str(tmp_path / "none.pid"))
    assert logrotate(conf, tmp_path) == (0, "", "")
    assert (tmp_path / "logs" / "access.log.1").exists()


def test_make_install_points_the_snippet_at_the_installed_preforkctl(tmp_path):
    dest = tmp_path / "root"
    p = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "-o", "all", "install",
                        f"DESTDIR={dest}", "PREFIX=/usr",
                        f"BUILD={os.path.dirname(PREFORKD)}"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    post = postrotate((dest / "etc/logrotate.d/preforkd").read_text())
    assert "/usr/bin/preforkctl -p /run/preforkd/preforkd.pid reopen" in post


# --- item 8: preforkctl reads a broken config with the real parser ------------------------------

def test_a_broken_config_is_read_like_the_server_reads_it(tmp_path):
    p, pidfile = fake_preforkd(str(tmp_path))
    try:
        conf = tmp_path / "broken.conf"
        conf.write_text(f'wokers = 4\npidfile = "{pidfile}"   # where it is\n'
                        "listen = 127.0.0.1:http-ish\n")
        rc, out, err = ctl("-c", str(conf), "status")
        assert (rc, out) == (0, f"preforkd is running (pid {p.pid})\n"), err
        assert err == f'preforkctl: warning: {conf}:1: unknown key "wokers"\n'
    finally:
        p.kill()
        p.wait()


# --- item 9: the init script ---------------------------------------------------------------

def serving(s):
    try:
        return http_request(s.port, "/", timeout=2).status > 0
    except OSError:
        return False


def daemon_pid(s):
    with open(s.pidfile) as f:
        return int(f.read())


@pytest.mark.parametrize("action", ["restart", "try-restart"])
def test_restart_checks_the_config_before_it_stops(make_server, tmp_path, action):
    s = make_server()
    env = init_env(tmp_path, CONFIG=s.conf_path, PIDFILE=s.pidfile, START_TIMEOUT=20)
    try:
        assert init(env, "start")[0] == 0
        pid = daemon_pid(s)
        with open(s.conf_path, "a") as f:
            f.write("workers = lots\n")
        rc, out, err = init(env, action)
        assert (rc, out) == (6, "")
        lines = err.splitlines()
        assert lines[0] == "preforkd: not restarting: the configuration does not pass the check:"
        assert lines[1].startswith(f"preforkd: {s.conf_path}:") and "workers" in lines[1]
        assert daemon_pid(s) == pid and alive(pid) and serving(s)
        assert init(env, "configtest")[0] == 1
        s.write_config()  # the good file again
        assert init(env, "configtest") == (0, "configuration ok\n", "")
        rc, out, err = init(env, action)
        assert rc == 0, err
        assert daemon_pid(s) != pid and not alive(pid)
    finally:
        init(env, "stop")


@ROOT_ONLY
def test_stop_without_permission_is_4(shared_dir):
    p, pidfile = fake_preforkd(shared_dir)
    try:
        env = init_env(shared_dir, PIDFILE=pidfile, STOP_TIMEOUT=1)
        assert init(env, "stop", user=True) == (
            4, "", f"preforkd: cannot signal pid {p.pid}: permission denied "
                   "(run as root or the server's user)\n")
        assert init(env, "reload", user=True)[0] == 4
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()


@pytest.mark.parametrize("ignore,last", [((signal.SIGTERM,), signal.SIGINT),
                                         ((signal.SIGTERM, signal.SIGINT), signal.SIGKILL)])
def test_stop_escalates_term_int_kill(tmp_path, ignore, last):
    p, pidfile = fake_preforkd(str(tmp_path), ignore=ignore)
    try:
        env = init_env(tmp_path, PIDFILE=pidfile, STOP_TIMEOUT=1)
        rc, out, err = init(env, "stop")
        expect = [f"preforkd: pid {p.pid} did not stop within 1s; fast stop (INT)"]
        if last == signal.SIGKILL:
            expect.append(f"preforkd: pid {p.pid} did not stop within 5s of INT; killing it (KILL)")
        assert (rc, err.splitlines()) == (0, expect)
        assert out == (f"preforkd: stopped (pid {p.pid}, killed)\n" if last == signal.SIGKILL
                       else f"preforkd: stopped (pid {p.pid})\n")
        assert p.wait(10) == -last
        assert not os.path.exists(pidfile) or last != signal.SIGKILL
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()


def test_kill_takes_the_whole_process_group_and_what_the_server_leaves(tmp_path):
    """A daemonized supervisor leads its process group and its workers are
    in it: after KILL nothing would retire them, so the script kills the
    group, and removes the pidfile and queues the server could not."""
    import ctypes
    exe_path = os.path.join(str(tmp_path), "preforkd")  # a python named preforkd
    shutil.copy(PYTHON, exe_path)
    code = ("import os, signal, time\n"
            "for s in (signal.SIGTERM, signal.SIGINT): signal.signal(s, signal.SIG_IGN)\n"
            "pid = os.fork()\n"
            "if pid: print(pid, flush=True)\n"
            "time.sleep(300)\n")
    rt = ctypes.CDLL("librt.so.1", use_errno=True)
    rt.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
    leader = subprocess.Popen([exe_path, "-c", code], start_new_session=True,
                              stdout=subprocess.PIPE, text=True)
    queue = f"/preforkd.{leader.pid}.ctl"
    try:
        worker = int(leader.stdout.readline())
        assert rt.mq_open(queue.encode(), os.O_CREAT | os.O_RDWR, 0o600, None) != -1
        pidfile = write_pidfile(str(tmp_path), leader.pid)
        env = init_env(tmp_path, PIDFILE=pidfile, STOP_TIMEOUT=1)
        rc, out, err = init(env, "stop")
        assert (rc, out) == (0, f"preforkd: stopped (pid {leader.pid}, killed)\n"), err
        assert leader.wait(10) == -signal.SIGKILL
        wait_for(lambda: not alive(worker), 10, what="the worker to die with its group")
        assert not os.path.exists(pidfile) and not os.path.exists("/dev/mqueue" + queue)
    finally:
        if leader.poll() is None:
            os.killpg(leader.pid, signal.SIGKILL)
        leader.wait()
        rt.mq_unlink(queue.encode())


@pytest.mark.parametrize("line,args,secs", [
    ('graceful_timeout = "1s"   # quoted, with a comment', "", 6),
    ("graceful_timeout = 0d", "", 5),
    ("graceful_timeout = 1h", "--workers=2 --graceful-timeout 1", 6),
    ("graceful_timeout = 1h", "--graceful_timeout=2000ms", 7),
])
def test_stop_waits_graceful_timeout_as_preforkd_reads_it(tmp_path, line, args, secs):
    p, pidfile = fake_preforkd(str(tmp_path), ignore=(signal.SIGTERM,))
    try:
        conf = tmp_path / "p.conf"
        conf.write_text(f"graceful_timeout = 9h\n{line}\n")
        env = init_env(tmp_path, PIDFILE=pidfile, CONFIG=str(conf), DAEMON_ARGS=args)
        rc, out, err = init(env, "stop", timeout=90)
        assert rc == 0
        assert err.splitlines()[0] == (f"preforkd: pid {p.pid} did not stop within {secs}s; "
                                       "fast stop (INT)")
        assert p.wait(10) == -signal.SIGINT
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()


def test_rotate_goes_through_preforkctl(tmp_path, procs):
    env = init_env(tmp_path, PIDFILE=str(tmp_path / "none.pid"))
    assert init(env, "rotate") == (7, "", "preforkctl: preforkd is not running "
                                          f"(no pidfile {tmp_path}/none.pid)\n")
    other = procs(["sleep", "300"])
    env["PIDFILE"] = write_pidfile(str(tmp_path), other.pid, "other.pid")
    rc, out, err = init(env, "rotate")
    assert rc == 1 and "not signalled" in err
    assert other.poll() is None
    p, pidfile = fake_preforkd(str(tmp_path))  # no control queue: preforkctl sends USR1
    try:
        env["PIDFILE"] = pidfile
        assert init(env, "rotate") == (0, "preforkd: reopening logs\n", "")
        assert p.wait(10) == -signal.SIGUSR1
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None
                    or not os.path.exists("/lib/lsb/init-functions"),
                    reason="needs root, unshare and /lib/lsb/init-functions")
def test_on_a_systemd_host_the_lsb_functions_hand_actions_to_systemctl(tmp_path):
    """In a private mount namespace: /run/systemd/system exists, the script
    is /etc/init.d/preforkd and systemctl is a recorder. Nothing of this is
    visible outside the namespace."""
    calls = tmp_path / "calls"
    fake = tmp_path / "systemctl"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexit 0\n')
    fake.chmod(0o755)
    inner = ("set -e; mount -t tmpfs tmpfs /run; mkdir -p /run/systemd/system; "
             "mount -t tmpfs tmpfs /etc/init.d; cp \"$1\" /etc/init.d/preforkd; "
             "mount --bind \"$2\" /usr/bin/systemctl; shift 2; set +e; "
             "/etc/init.d/preforkd \"$@\"")

    def in_namespace(action, **extra):
        env = init_env(tmp_path, PIDFILE=str(tmp_path / "p.pid"), **extra)
        del env["SYSTEMCTL_SKIP_REDIRECT"]
        env.update(extra)
        return run(["unshare", "-m", "--propagation", "private", "sh", "-c", inner, "sh",
                    INIT, str(fake), action], env=env)

    rc, out, err = in_namespace("stop")
    assert rc == 0, err
    assert "--no-pager stop preforkd.service" in read(calls).splitlines()
    calls.write_text("")
    assert in_namespace("stop", SYSTEMCTL_SKIP_REDIRECT="1") == (
        0, "preforkd: not running\n", "")
    assert "stop preforkd.service" not in read(calls)
    rc, out, err = in_namespace("rotate")  # not a systemctl action: the script does it
    assert rc == 7 and "no pidfile" in err


# --- item 10: the systemd unit ---------------------------------------------------------------

def unit_service_lines():
    """Key, value pairs of [Service] in order (ExecReload may repeat)."""
    pairs, section = [], None
    for line in open(UNIT):
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line and not line.startswith("#"):
            k, _, v = line.partition("=")
            pairs.append((k, v))
    return pairs


def unit_command(value, s, mainpid=None):
    value = value.replace("/usr/local/sbin/preforkd", PREFORKD) \
        .replace("/etc/preforkd/preforkd.conf", s.conf_path) \
        .replace("/run/preforkd/preforkd.pid", s.pidfile)
    if mainpid is not None:
        value = value.replace("$MAINPID", str(mainpid))
    return shlex.split(value)


def test_unit_keeps_its_files_in_runtime_directory():
    pairs = unit_service_lines()
    keys = dict(pairs)
    assert "ReadWritePaths" not in keys
    assert keys["RuntimeDirectory"] == "preforkd"
    assert "--pidfile=/run/preforkd/preforkd.pid" in keys["ExecStart"].split()
    reload_lines = [v for k, v in pairs if k == "ExecReload"]
    assert len(reload_lines) == 2
    assert reload_lines[0].split()[:2] == ["/usr/local/sbin/preforkd", "-t"]
    assert reload_lines[1] == "/bin/kill -HUP $MAINPID"


def test_exec_reload_fails_for_a_config_the_server_would_refuse(make_server):
    """The unit's own command lines against a real server: ExecStart
    starts it, the ExecReload lines run in order and stop at the first
    failure, as systemd runs them."""
    s = make_server()
    pairs = unit_service_lines()
    start = unit_command(dict(pairs)["ExecStart"], s)
    s.stderr = open(os.path.join(s.dir, "stderr"), "wb")
    s.proc = subprocess.Popen(start, stdout=subprocess.DEVNULL, stderr=s.stderr,
                              stdin=subprocess.DEVNULL, start_new_session=True)
    s.pid = s.proc.pid
    s.wait_serving()

    def reload():
        for k, v in pairs:
            if k == "ExecReload":
                r = subprocess.run(unit_command(v, s, s.pid), capture_output=True, text=True,
                                   timeout=60)
                if r.returncode != 0:
                    return r.returncode, r.stderr
        return 0, ""

    gen = s.snapshot(timeout=10)["generation"]
    assert reload() == (0, "")
    s.snapshot(timeout=10, pred=lambda x: x["generation"] == gen + 1)
    with open(s.conf_path, "a") as f:
        f.write("workers = lots\n")
    rc, err = reload()
    assert rc == 1 and err.startswith(f"preforkd: {s.conf_path}:") and "workers" in err
    snap = s.snapshot(timeout=10)
    assert (snap["generation"], snap["reloads"]) == (gen + 1, 1)
    s.write_config()
    assert reload() == (0, "")
    s.snapshot(timeout=10, pred=lambda x: x["generation"] == gen + 2 and x["reloads"] == 2)


# --- item 11: scripts/install-deps -------------------------------------------------------------

def test_install_deps_is_shellcheck_clean():
    p = subprocess.run(["shellcheck", "-s", "sh", INSTALL_DEPS], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout


def test_install_deps_as_a_normal_user_finds_what_is_installed():
    """A normal user's PATH has no /usr/sbin (logrotate lives there)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    assert run([INSTALL_DEPS, "test"], env=env, user=os.geteuid() == 0) == (0, "", "")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs apt-get")
def test_install_deps_says_when_the_mirror_is_unreachable(tmp_path):
    """dpkg-query says jq is missing and apt-get cannot reach the mirror
    (both stand-ins: the machine's packages and network stay untouched)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dpkg-query").write_text(
        '#!/bin/sh\nfor a; do p=$a; done\n'
        '[ "$p" = jq ] && { echo "dpkg-query: no packages found matching jq" >&2; exit 1; }\n'
        'printf "install ok installed"\n')
    (bin_dir / "apt-get").write_text(
        '#!/bin/sh\ncase " $* " in\n'
        '*" update "*) echo "Err:1 http://deb.debian.org/debian bookworm InRelease"\n'
        '  echo "  Temporary failure resolving \'deb.debian.org\'"\n'
        '  echo "W: Some index files failed to download." >&2; exit 0 ;;\n'
        '*) echo "E: Unable to locate package jq" >&2; exit 100 ;;\nesac\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    rc, out, err = run([INSTALL_DEPS, "test"], env=env)
    assert (rc, out) == (1, "")
    lines = err.splitlines()
    assert lines[0] == "install-deps: installing jq"
    assert "E: Unable to locate package jq" in lines
    assert lines[-3:] == [
        "install-deps: the Debian package mirror cannot be reached (see apt's messages above).",
        "install-deps: check the network, the proxy or /etc/apt/sources.list, then run again,",
        "install-deps: or install by hand:  apt-get install -y jq"]

"""scripts/preforkd.init (docs/ARCHITECTURE.md: Operations, issue 6 item 1), driven from the
checkout with temporary DAEMON / CONFIG / PIDFILE and defaults file, with and
without start-stop-daemon, under dash when it is installed."""
import os
import shutil
import signal
import subprocess

import pytest

from conftest import PREFORKCTL, PREFORKD, alive, fake_preforkd, http_request, mqueues, wait_for, which

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.abspath(os.path.join(HERE, "..", "..", "scripts", "preforkd.init"))
SHELL = shutil.which("dash") or "/bin/sh"
SSD = which("start-stop-daemon")


def init(env, *args, timeout=60):
    """Runs the init script; returns (exit code, stdout, stderr)."""
    p = subprocess.run([SHELL, SCRIPT, *args], env=env, capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def base_env(tmp, **extra):
    # SYSTEMCTL_SKIP_REDIRECT: on a systemd host /lib/lsb/init-functions
    # would hand /etc/init.d scripts to systemctl; this one is the test.
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SYSTEMCTL_SKIP_REDIRECT": "1",
         "PREFORKD_DEFAULTS": os.path.join(str(tmp), "no-such-defaults")}
    # Sanitizer reports of what the script starts go where conftest reads them.
    e.update({k: os.environ[k] for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS") if k in os.environ})
    e.update(extra)
    return e


@pytest.fixture(params=["start-stop-daemon", "direct"])
def svc(request, make_server, tmp_path):
    """A config from the harness (not started) and the environment that
    points the init script at it."""
    if request.param == "start-stop-daemon" and SSD is None:
        pytest.skip("start-stop-daemon is not installed")
    s = make_server()
    env = base_env(tmp_path, DAEMON=PREFORKD, CTL=PREFORKCTL, CONFIG=s.conf_path,
                   PIDFILE=s.pidfile, START_TIMEOUT="20",
                   START_STOP_DAEMON=SSD if request.param == "start-stop-daemon" else "none")
    s.env = env
    yield s
    init(env, "stop")


def daemon_pid(s):
    with open(s.pidfile) as f:
        return int(f.read().strip())


def serving(s):
    try:
        return http_request(s.port, "/", timeout=2).status > 0
    except OSError:
        return False


def test_syntax_and_lsb_header():
    for sh in {SHELL, "/bin/sh"}:
        assert subprocess.run([sh, "-n", SCRIPT]).returncode == 0
    text = open(SCRIPT).read()
    assert text.startswith("#!/bin/sh\n")
    header = text.split("### BEGIN INIT INFO\n", 1)[1].split("### END INIT INFO", 1)[0]
    fields = {}
    for line in header.splitlines():
        key, _, value = line.lstrip("# ").partition(":")
        if value:
            fields[key] = value.split()
    assert fields["Provides"] == ["preforkd"]
    assert {"$network", "$remote_fs"} <= set(fields["Required-Start"])
    assert fields["Default-Start"] == ["2", "3", "4", "5"]
    assert fields["Default-Stop"] == ["0", "1", "6"]
    assert fields["Short-Description"]
    assert os.access(SCRIPT, os.X_OK)


@pytest.mark.skipif(which("shellcheck") is None, reason="shellcheck is not installed")
def test_shellcheck_is_clean():
    p = subprocess.run(["shellcheck", "-s", "sh", SCRIPT], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout


@pytest.mark.parametrize("args", [(), ("bogus",), ("scale",)])
def test_bad_arguments_exit_2(tmp_path, args):
    rc, out, err = init(base_env(tmp_path, PIDFILE=str(tmp_path / "p.pid")), *args)
    assert rc == 2
    if args != ("scale",):
        assert err.startswith(f"Usage: {SCRIPT} {{start|stop|restart|")


def test_a_stopped_service(tmp_path):
    env = base_env(tmp_path, PIDFILE=str(tmp_path / "p.pid"), DAEMON=PREFORKD)
    assert init(env, "status") == (3, "preforkd: not running\n", "")
    assert init(env, "stop") == (0, "preforkd: not running\n", "")
    assert init(env, "reload") == (7, "", "preforkd: not running\n")
    assert init(env, "try-restart") == (0, "preforkd: not running\n", "")


def test_a_stale_pidfile(tmp_path):
    p = subprocess.Popen(["true"])
    p.wait()
    pidfile = tmp_path / "p.pid"
    pidfile.write_text(f"{p.pid}\n")
    env = base_env(tmp_path, PIDFILE=str(pidfile))
    assert init(env, "status") == (
        1, f"preforkd: not running, but pidfile {pidfile} remains (pid {p.pid})\n", "")
    rc, out, _ = init(env, "stop")
    assert rc == 0 and "removing stale pidfile" in out
    assert not pidfile.exists()
    assert init(env, "status")[0] == 3


def test_a_recycled_pid_is_not_the_service(tmp_path):
    other = subprocess.Popen(["sleep", "300"])
    try:
        pidfile = tmp_path / "p.pid"
        pidfile.write_text(f"{other.pid}\n")
        env = base_env(tmp_path, PIDFILE=str(pidfile))
        assert init(env, "status")[0] == 1
        assert init(env, "stop")[0] == 0
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_start_status_reload_scale_restart_stop(svc):
    env = svc.env
    rc, out, err = init(env, "start")
    assert rc == 0, (out, err)
    pid = daemon_pid(svc)
    assert out == f"preforkd: started (pid {pid})\n"
    assert alive(pid)
    wait_for(lambda: serving(svc), 15, what="the daemon to serve")

    assert init(env, "status") == (0, f"preforkd: running (pid {pid})\n", "")
    assert init(env, "start") == (0, f"preforkd: already running (pid {pid})\n", "")
    assert daemon_pid(svc) == pid

    gen = svc.snapshot(timeout=10)["generation"]
    assert init(env, "reload") == (0, f"preforkd: reloading (pid {pid})\n", "")
    svc.snapshot(timeout=10, pred=lambda s: s["generation"] == gen + 1)
    assert init(env, "force-reload")[0] == 0
    svc.snapshot(timeout=10, pred=lambda s: s["generation"] == gen + 2)

    rc, out, err = init(env, "scale", "3")
    assert (rc, err) == (0, "")
    svc.snapshot(timeout=10, pred=lambda s: s["workers_running"] == 3
                 and s["workers_target"] == 3)

    rc, out, err = init(env, "restart")
    assert rc == 0, (out, err)
    new = daemon_pid(svc)
    assert new != pid and not alive(pid) and alive(new)
    assert out == f"preforkd: stopped (pid {pid})\npreforkd: started (pid {new})\n"
    wait_for(lambda: serving(svc), 15, what="the restarted daemon to serve")

    assert init(env, "stop") == (0, f"preforkd: stopped (pid {new})\n", "")
    assert not alive(new)
    assert not os.path.exists(svc.pidfile)
    assert mqueues(new) == []
    assert init(env, "status")[0] == 3


def test_force_reload_and_try_restart_leave_a_stopped_service_stopped(svc):
    assert init(svc.env, "force-reload") == (7, "", "preforkd: not running\n")
    assert init(svc.env, "try-restart") == (0, "preforkd: not running\n", "")
    assert init(svc.env, "status")[0] == 3
    assert not os.path.exists(svc.pidfile)


def test_try_restart_restarts_a_running_service(svc):
    assert init(svc.env, "start")[0] == 0
    pid = daemon_pid(svc)
    rc, out, err = init(svc.env, "try-restart")
    assert rc == 0, (out, err)
    new = daemon_pid(svc)
    assert new != pid and alive(new) and not alive(pid)
    wait_for(lambda: serving(svc), 15, what="the restarted daemon to serve")


def test_start_fails_with_a_message(make_server, tmp_path):
    s = make_server()
    with open(s.conf_path, "a") as f:
        f.write("workers = lots\n")
    env = base_env(tmp_path, DAEMON=PREFORKD, CONFIG=s.conf_path, PIDFILE=s.pidfile,
                   START_STOP_DAEMON="none")
    rc, out, err = init(env, "start")
    assert rc == 1
    assert "preforkd: failed to start" in err
    assert 'workers' in err  # preforkd's own one-line reason came through
    assert init(env, "status")[0] == 3


def test_start_without_binary_or_config(tmp_path):
    env = base_env(tmp_path, DAEMON=str(tmp_path / "nope"), PIDFILE=str(tmp_path / "p.pid"),
                   CONFIG=str(tmp_path / "none.conf"))
    assert init(env, "start") == (5, "", f"preforkd: {tmp_path}/nope is not installed or not executable\n")
    env["DAEMON"] = PREFORKD
    assert init(env, "start") == (6, "", f"preforkd: configuration {tmp_path}/none.conf is missing or unreadable\n")


def test_defaults_file_and_environment(make_server, tmp_path):
    s = make_server()
    defaults = tmp_path / "defaults"
    defaults.write_text(f"DAEMON={PREFORKD}\nCONFIG={s.conf_path}\nPIDFILE={s.pidfile}\n"
                        "START_STOP_DAEMON=none\nSTART_TIMEOUT=20\n")
    env = {"PATH": os.environ["PATH"], "PREFORKD_DEFAULTS": str(defaults)}
    try:
        rc, out, err = init(env, "start")
        assert rc == 0, (out, err)
        assert out == f"preforkd: started (pid {daemon_pid(s)})\n"
        wait_for(lambda: serving(s), 15, what="serving")
        # The environment wins over the defaults file.
        other = dict(env, PIDFILE=str(tmp_path / "other.pid"))
        assert init(other, "status") == (3, "preforkd: not running\n", "")
        assert init(env, "status")[0] == 0
    finally:
        init(env, "stop")
    assert init(env, "status")[0] == 3


def test_stop_is_bounded_and_reports(tmp_path):
    # A "preforkd" that ignores TERM; graceful_timeout in the config sets
    # how long stop waits before the fast stop (INT, which kills the fake):
    # 500ms -> 1s + 5s margin. (More in test_ops_sweep.py.)
    p, pidfile = fake_preforkd(str(tmp_path), ignore=(signal.SIGTERM,))
    try:
        conf = tmp_path / "p.conf"
        conf.write_text("graceful_timeout = 500ms\n")
        env = base_env(tmp_path, PIDFILE=pidfile, CONFIG=str(conf))
        rc, out, err = init(env, "stop")
        assert (rc, err) == (0, f"preforkd: pid {p.pid} did not stop within 6s; fast stop (INT)\n")
        assert out == f"preforkd: stopped (pid {p.pid})\n"
        assert p.wait(10) == -signal.SIGINT
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as another user")
def test_status_as_an_unprivileged_user(tmp_path):
    # /proc/PID/exe of root's process is unreadable to nobody: the script
    # goes by its comm and argv[0] ("preforkd"), never by the lack of an
    # answer (test_ops_sweep.py has the processes that are not preforkd).
    import tempfile
    d = tempfile.mkdtemp(prefix="preforkd-init-")
    try:
        os.chmod(d, 0o755)
        p, pidfile = fake_preforkd(d)
        env = base_env(tmp_path, PIDFILE=pidfile)
        # nobody runs a copy: the checkout may sit in a 0700 folder.
        script = shutil.copy(SCRIPT, os.path.join(d, "preforkd.init"))
        os.chmod(script, 0o755)
        r = subprocess.run([SHELL, script, "status"], env=env, capture_output=True, text=True,
                           user="nobody", group="nogroup", extra_groups=[], timeout=30)
        assert (r.returncode, r.stdout) == (0, f"preforkd: running (pid {p.pid})\n")
        p.kill()
        p.wait()
    finally:
        shutil.rmtree(d)

"""scripts/rolling-restart through real haproxy under load (docs/ARCHITECTURE.md: Behind a balancer):
a rolling upgrade and a rolling restart of three instances fail no request,
and a failure names the instance and leaves the others serving."""
import os
import subprocess

from conftest import PREFORKCTL, PREFORKD, wait_for
from haproxy_lib import Load, farm, get, needs_haproxy  # noqa: F401 (farm)

ROLLING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                       "rolling-restart")

pytestmark = needs_haproxy


def pid_of(srv):
    with open(srv.pidfile) as f:
        return int(f.read().strip())


def rolling(farm, *mode, timeout=240):
    cmd = [ROLLING, *mode, "--stats-socket", farm.sock, "--backend", "be", "--timeout", "60",
           "--preforkctl", PREFORKCTL]
    cmd += [f"{n}={s.conf_path}" for n, s in farm.servers.items()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def under_load(farm, *mode):
    before = {n: pid_of(s) for n, s in farm.servers.items()}
    load = Load(farm.fport)
    try:
        wait_for(lambda: load.count() >= 20, 20, what="load to run")
        r = rolling(farm, *mode)
        n = load.count()
        wait_for(lambda: load.count() >= n + 20, 20, what="load to go on after")
    finally:
        results = load.stop()
    assert r.returncode == 0, r.stderr
    for name in farm.servers:
        assert f"rolling-restart: {name}: done" in r.stderr
    failed = [x for x in results if x != 200]
    assert failed == [] and len(results) > 40, (failed[:10], len(results))
    after = {n: pid_of(s) for n, s in farm.servers.items()}
    assert all(after[n] != before[n] for n in before), (before, after)
    wait_for(farm.all_up, 20, what="every server UP at the end")
    return results


def test_rolling_upgrade_fails_no_request(farm):
    under_load(farm, "--upgrade")


def test_rolling_restart_fails_no_request(farm):
    under_load(farm, "--start-cmd", f"{PREFORKD} -c {{config}} --daemon=on")


def test_failure_names_the_instance_and_leaves_the_rest(farm):
    s2 = farm.servers["s2"]
    s2.stop()
    # With retries off, a request haproxy still sends to s2 would fail.
    wait_for(lambda: farm.stat()["s2"]["status"].startswith("DOWN"), 20, what="s2 DOWN")
    r = rolling(farm, "--upgrade")
    assert r.returncode == 1
    assert "rolling-restart: s1: done" in r.stderr
    assert "rolling-restart: s2: drain failed: preforkctl drain: exit 3" in r.stderr, r.stderr
    assert "s3: starting" not in r.stderr
    # s1 came back undrained, s3 was never touched: both serve.
    wait_for(lambda: [farm.stat()[n]["status"] for n in ("s1", "s3")] == ["UP", "UP"], 20,
             what="s1 and s3 UP")
    assert [get(farm.fport) for _ in range(10)] == [200] * 10

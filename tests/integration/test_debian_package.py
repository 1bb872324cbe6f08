"""The Debian package (issue 20 item 2): `dpkg-buildpackage -us -uc -b` builds
preforkd_*.deb from a copy of the tree, lintian finds no error, and on this
machine the package installs, serves through its init script, and purges
cleanly (prerm stops the server; config and logs are gone).

The install must not take port 80 or start anything by itself: a policy-rc.d
that denies starts (Debian's documented switch, honoured by invoke-rc.d and
deb-systemd-invoke) is in place while the package is installed, and the
conffile is rewritten to a free loopback port and a scratch document root
before the test starts the server through /etc/init.d/preforkd. Whatever
happens, the package is purged and the machine's policy-rc.d restored."""
import glob
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile

import pytest

from conftest import alive, children, free_port, http_request, wait_for

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
POLICY = "/usr/sbin/policy-rc.d"
CONF = "/etc/preforkd/preforkd.conf"
PIDFILE = "/run/preforkd/preforkd.pid"
INIT = "/etc/init.d/preforkd"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}

pytestmark = [
    pytest.mark.skipif(shutil.which("dpkg-buildpackage") is None,
                       reason="dpkg-buildpackage unavailable (not a Debian system, or "
                              "dpkg-dev not installed: scripts/install-deps test)"),
]

# Denies every start, allows stops: nothing starts behind the test's back,
# and prerm may still stop what the test started.
OUR_POLICY = """#!/bin/sh
# Written by preforkd's tests/integration/test_debian_package.py for the
# duration of one test; the previous file is put back afterwards.
for a in "$@"; do [ "$a" = stop ] && exit 0; done
exit 101
"""


def run(cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=ENV, **kw)


def installed():
    return run(["dpkg-query", "-W", "-f=${Status}", "preforkd"]).stdout.endswith(" installed")


def pid_from_file():
    try:
        return int(open(PIDFILE).read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def build(tmp):
    """Copies the tree (no build outputs, no .git) and builds the binary
    package there; dpkg-buildpackage writes its results next to the copy."""
    src = os.path.join(tmp, "preforkd")
    shutil.copytree(ROOT, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "__pycache__", "*.pyc", ".pytest_cache"))
    env = dict(ENV, DEB_BUILD_OPTIONS="noddebs nocheck parallel=2", HOME=tmp)
    p = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env,
                       capture_output=True, text=True, timeout=1200)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    debs = glob.glob(os.path.join(tmp, "preforkd_*.deb"))
    changes = glob.glob(os.path.join(tmp, "preforkd_*.changes"))
    assert len(debs) == 1 and len(changes) == 1, os.listdir(tmp)
    return debs[0], changes[0]


def check_contents(deb):
    listing = run(["dpkg-deb", "-c", deb]).stdout
    paths = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
    for path in ("/usr/sbin/preforkd", "/usr/bin/preforkctl", CONF, "/etc/default/preforkd",
                 INIT, "/lib/systemd/system/preforkd.service",
                 "/lib/systemd/system/preforkd.socket", "/etc/logrotate.d/preforkd",
                 "/usr/share/man/man8/preforkd.8.gz", "/usr/share/man/man8/preforkctl.8.gz",
                 "/usr/share/man/man5/preforkd.conf.5.gz", "/var/log/preforkd/",
                 # named by the unit's Documentation=, so not compressed
                 "/usr/share/doc/preforkd/preforkd.conf.example"):
        assert path in paths, f"{path} not in the package"
    meta = run(["dpkg-deb", "-e", deb, os.path.join(os.path.dirname(deb), "DEBIAN")])
    assert meta.returncode == 0, meta.stderr
    conffiles = open(os.path.join(os.path.dirname(deb), "DEBIAN", "conffiles")).read().split()
    assert CONF in conffiles and "/etc/default/preforkd" in conffiles


def packaged_conf_is_the_default_site():
    keys = dict(re.findall(r"^(\w+) = (.*)$", open(CONF).read(), re.M))
    assert (keys["listen"], keys["root"], keys["user"], keys["group"]) == (
        "80", "/var/www/html", "www-data", "www-data")
    assert keys["pidfile"] == PIDFILE


def rewrite_conf(port, www):
    """The conffile, pointed at a free loopback port and a scratch root."""
    text = open(CONF).read()
    text = re.sub(r"^listen = 80$", f"listen = 127.0.0.1:{port}", text, flags=re.M)
    text = re.sub(r"^root = .*$", f"root = {www}", text, flags=re.M)
    assert f"listen = 127.0.0.1:{port}" in text and f"root = {www}" in text
    with open(CONF, "w") as f:
        f.write(text)


def start_and_serve(port, token):
    r = run([INIT, "start"], timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    pid = pid_from_file()
    assert pid and alive(pid) and os.readlink(f"/proc/{pid}/exe") == "/usr/sbin/preforkd"
    resp = wait_for(lambda: _get(port), 15, what="the packaged preforkd to serve")
    assert (resp.status, resp.body) == (200, token)
    # Workers serve as www-data (uid 33 on Debian), the supervisor stays root.
    uids = {int(open(f"/proc/{c}/status").read().split("Uid:")[1].split()[0])
            for c in children(pid)}
    assert uids == {33}, uids
    return pid


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _get(port):
    try:
        r = http_request(port, "/hello.txt", timeout=2)
        return r if r.status == 200 else None
    except OSError:
        return None


class Policy:
    """Makes sure policy-rc.d denies starts; puts the old file back."""
    def __init__(self):
        self.saved = None

    def __enter__(self):
        if os.path.exists(POLICY):
            with open(POLICY, "rb") as f:
                self.saved = (f.read(), stat.S_IMODE(os.stat(POLICY).st_mode))
        with open(POLICY, "w") as f:
            f.write(OUR_POLICY)
        os.chmod(POLICY, 0o755)
        return self

    def __exit__(self, *exc):
        if self.saved is None:
            os.unlink(POLICY)
        else:
            with open(POLICY, "wb") as f:
                f.write(self.saved[0])
            os.chmod(POLICY, self.saved[1])


def _gone(pid, timeout):
    try:
        wait_for(lambda: not alive(pid), timeout)
        return True
    except AssertionError:
        return False


def cleanup(started):
    """Stops what the test started (by its pid only) and purges."""
    if installed() and os.path.exists(INIT):
        run([INIT, "stop"], timeout=60)
    for pid in started:
        if alive(pid):
            os.kill(pid, signal.SIGTERM)
            if not _gone(pid, 40):
                os.kill(pid, signal.SIGKILL)
                _gone(pid, 10)
                # What a graceful exit would have removed.
                for path in (PIDFILE, "/run/preforkd/status",
                             f"/dev/mqueue/preforkd.{pid}.stats",
                             f"/dev/mqueue/preforkd.{pid}.ctl"):
                    if os.path.lexists(path):
                        os.unlink(path)
    if run(["dpkg-query", "-W", "preforkd"]).returncode == 0:
        r = run(["dpkg", "--purge", "preforkd"], timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="installing a package needs root")
def test_package_builds_lints_installs_serves_and_purges():
    assert not installed(), "a preforkd package is already installed here; not touching it"
    # In /tmp itself, whatever TMPDIR says: www-data must reach the scratch
    # root, and CI may run with a TMPDIR inside a 0700 directory.
    with tempfile.TemporaryDirectory(prefix="preforkd-deb-", dir="/tmp") as tmp:
        deb, changes = build(tmp)
        lint = run(["lintian", "--fail-on", "error", changes], timeout=600)
        assert lint.returncode == 0 and not re.search(r"^E: ", lint.stdout, re.M), lint.stdout
        check_contents(deb)

        www = os.path.join(tmp, "www")
        os.mkdir(www)
        os.chmod(tmp, 0o755)  # www-data must reach the scratch root
        token = f"served by the package {os.getpid()}\n".encode()
        with open(os.path.join(www, "hello.txt"), "wb") as f:
            f.write(token)
        os.chmod(os.path.join(www, "hello.txt"), 0o644)
        port = free_port()
        started = []
        with Policy():
            try:
                r = run(["dpkg", "-i", deb], timeout=300)
                assert r.returncode == 0, r.stdout + r.stderr
                assert installed()
                assert pid_from_file() is None, "postinst started it despite policy-rc.d"
                packaged_conf_is_the_default_site()
                rewrite_conf(port, www)

                started.append(start_and_serve(port, token))
                st = run(["preforkctl", "-c", CONF, "status", "--openmetrics"], timeout=30)
                assert st.returncode == 0 and st.stdout.endswith("# EOF\n"), st.stderr
                wait_for(lambda: "GET /hello.txt" in _read("/var/log/preforkd/access.log"), 15,
                         what="the request in /var/log/preforkd/access.log")
                r = run([INIT, "stop"], timeout=60)
                assert r.returncode == 0, r.stdout + r.stderr
                wait_for(lambda: not alive(started[0]), 30, what="init script stop")
                assert run([INIT, "status"]).returncode == 3

                # Running again, then purged: prerm stops it (invoke-rc.d on a
                # machine without systemd as PID 1; under systemd the unit is
                # what prerm stops, so stop the init script's server first).
                started.append(start_and_serve(port, token))
                if os.path.isdir("/run/systemd/system"):
                    run([INIT, "stop"], timeout=60)
                r = run(["dpkg", "--purge", "preforkd"], timeout=300)
                assert r.returncode == 0, r.stdout + r.stderr
                wait_for(lambda: not alive(started[1]), 30, what="prerm to stop preforkd")
                for gone in ("/etc/preforkd", "/etc/default/preforkd", INIT,
                             "/var/log/preforkd", "/usr/sbin/preforkd", PIDFILE,
                             "/run/preforkd/status"):
                    assert not os.path.exists(gone), f"{gone} left after purge"
                assert run(["dpkg-query", "-W", "preforkd"]).returncode != 0
            finally:
                cleanup(started)

"""Manual pages (issue 20 item 1): preforkd(8), preforkctl(8) and
preforkd.conf(5) lint clean with mandoc, are installed by `make install`, and
cannot drift from the code: every key the config parser knows is described
in preforkd.conf(5) and every preforkctl command in preforkctl(8). The keys
and commands come from the binaries' own --help, which print the parser's
and the command table's entries."""
import filecmp
import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, PREFORKCTL, PREFORKD

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MAN = os.path.join(ROOT, "docs", "man")
PAGES = {"preforkd.8": "man8", "preforkctl.8": "man8", "preforkd.conf.5": "man5"}


def mandoc():
    path = shutil.which("mandoc")
    assert path, "mandoc missing: scripts/install-deps test installs it"
    return path


def help_text(binary):
    p = subprocess.run([binary, "-h"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def config_keys():
    """The keys preforkd -h lists (one --key=VALUE line per parser entry),
    checked against the parser's table in supervisor/config.c."""
    keys = re.findall(r"^  --([a-z_]+)=", help_text(PREFORKD), re.M)
    table = re.findall(r'^\s*\{ "([a-z_]+)", config_set_',
                       open(os.path.join(ROOT, "supervisor", "config.c")).read(), re.M)
    assert len(keys) >= 25 and (not table or set(table) == set(keys)), (keys, table)
    return keys


def ctl_commands():
    """The commands preforkctl -h lists under "commands:"."""
    text = help_text(PREFORKCTL)
    block = text.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    cmds = re.findall(r"^  ([a-z]+)\b", block, re.M)
    assert {"status", "reload", "stop", "scale"} <= set(cmds), cmds
    return cmds


def page_text(name):
    """The rendered page, without formatting, as a reader sees it."""
    p = subprocess.run([mandoc(), "-Tascii", os.path.join(MAN, name)], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return re.sub(r".\x08", "", p.stdout)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_lints_clean(name):
    p = subprocess.run([mandoc(), "-Tlint", "-W", "warning", os.path.join(MAN, name)],
                       capture_output=True, text=True, timeout=30)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    # Style too: the only message allowed is that a page it refers to (ours,
    # not installed yet, or initgroups(3) where the man database is stale) is
    # not in the system's manual database.
    p = subprocess.run([mandoc(), "-Tlint", os.path.join(MAN, name)],
                       capture_output=True, text=True, timeout=30)
    other = [line for line in (p.stdout + p.stderr).splitlines()
             if "referenced manual not found" not in line and "mandoc.db" not in line]
    assert other == []


def test_every_config_key_is_in_preforkd_conf_5():
    source = open(os.path.join(MAN, "preforkd.conf.5")).read()
    # Each key has its own entry in the KEYS section, with default and reload.
    entries = dict(re.findall(r"^\.It Cm ([a-z_]+)\b(.*?)(?=^\.It |^\.El)", source,
                              re.M | re.S))
    missing = [k for k in config_keys() if k not in entries]
    assert not missing, f"keys the parser knows but preforkd.conf(5) does not: {missing}"
    for key in config_keys():
        assert "Default:" in entries[key] and "Reload:" in entries[key], key


def test_every_preforkctl_command_is_in_preforkctl_8():
    source = open(os.path.join(MAN, "preforkctl.8")).read()
    documented = set(re.findall(r"^\.It Cm ([a-z]+)\b", source, re.M))
    missing = [c for c in ctl_commands() if c not in documented]
    assert not missing, f"commands preforkctl has but preforkctl(8) does not: {missing}"
    text = page_text("preforkctl.8")
    for opt in re.findall(r"--[a-z][a-z-]+", help_text(PREFORKCTL)):
        assert opt in text, opt


def test_preforkd_8_names_every_option_and_signal():
    text = page_text("preforkd.8")
    for word in ("-c", "-t", "--test", "--help", "--version", "HUP", "TERM", "QUIT", "INT",
                 "TTIN", "TTOU", "USR1", "EXIT STATUS", "FILES", "EXAMPLES"):
        assert word in text, word


def test_make_install_puts_the_pages_under_share_man(tmp_path):
    dest = tmp_path / "root"
    p = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "-o", "all", "install",
                        f"DESTDIR={dest}", "PREFIX=/usr", f"BUILD={BUILD}"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    for name, section in PAGES.items():
        installed = dest / "usr/share/man" / section / name
        assert installed.is_file(), installed
        assert oct(installed.stat().st_mode & 0o777) == oct(0o644)
        assert filecmp.cmp(os.path.join(MAN, name), installed, shallow=False)

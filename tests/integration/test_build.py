"""The Makefile's promises (issue 14 item 7): a caller's CFLAGS, CPPFLAGS,
LDFLAGS and LDLIBS add to the required flags and never drop them; BUILD
moves everything, fuzz targets included; the fuzz targets rebuild when a
header they use changes; the tree keeps its size limits (scripts/fnlen)."""
import os
import shlex
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def dry_run(*args, env=None):
    """The commands make would run, from nothing built (-B), without running them."""
    p = subprocess.run(["make", "-C", ROOT, "--no-print-directory", "-n", "-B", *args],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def compile_lines(lines, source):
    return [shlex.split(l) for l in lines if l.split()[:1] in (["cc"], ["clang"]) and source in l]


def test_cflags_from_the_command_line_keep_the_required_flags(tmp_path):
    lines = dry_run(f"BUILD={tmp_path}/b", "CFLAGS=-O0", f"{tmp_path}/b/preforkd")
    cc = compile_lines(lines, "server/conn.c")
    assert cc, lines
    for flag in ("-O0", "-std=c11", "-Wall", "-Wextra", "-Werror", "-MMD", "-D_GNU_SOURCE"):
        assert flag in cc[0], (flag, cc[0])
    assert "-O2" not in cc[0]


def test_flags_from_the_environment_are_added(tmp_path):
    env = dict(os.environ, CPPFLAGS="-DFROM_ENV=1", LDFLAGS="-Wl,-z,now", LDLIBS="-lm",
               CFLAGS="-O1 -fstack-protector-strong")
    lines = dry_run(f"BUILD={tmp_path}/b", f"{tmp_path}/b/preforkd", env=env)
    cc = compile_lines(lines, "server/conn.c")[0]
    assert {"-DFROM_ENV=1", "-O1", "-fstack-protector-strong", "-Werror", "-std=c11"} <= set(cc)
    link = [shlex.split(l) for l in lines if f"{tmp_path}/b/preforkd " in l + " " and " -o " in l]
    assert link and "-Wl,-z,now" in link[-1] and "-lm" in link[-1], lines


def test_build_moves_the_fuzz_targets_too(tmp_path):
    lines = dry_run(f"BUILD={tmp_path}/b", "fuzz", "FUZZ_SECS=1")
    built = [l for l in lines if l.startswith("clang") and " -o " in l]
    assert built and all(f"{tmp_path}/b/fuzz/" in l for l in built), built
    assert not any(" build/fuzz" in l for l in lines)


def test_a_fuzz_target_rebuilds_when_a_header_changes(tmp_path):
    build = tmp_path / "b"
    target = f"{build}/fuzz/fuzz_range"
    subprocess.run(["make", "-C", ROOT, "-s", f"BUILD={build}", target], check=True,
                   capture_output=True, timeout=600)
    deps = (build / "fuzz/obj/tests/fuzz/fuzz_range.d").read_text()
    assert "server/http_util.h" in deps
    p = subprocess.run(["make", "-C", ROOT, "-q", f"BUILD={build}", target], timeout=60)
    assert p.returncode == 0     # up to date
    # A header newer than the object: make -q says it must rebuild.
    hdr = os.path.join(ROOT, "server/http_util.h")
    st = os.stat(hdr)
    obj = build / "fuzz/obj/tests/fuzz/fuzz_range.o"
    os.utime(obj, (st.st_atime - 100, st.st_mtime - 100))
    p = subprocess.run(["make", "-C", ROOT, "-q", f"BUILD={build}", target], timeout=60)
    assert p.returncode == 1


def test_no_file_over_800_lines_and_no_function_over_60():
    p = subprocess.run([os.path.join(ROOT, "scripts/fnlen")], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert (p.returncode, p.stdout) == (0, "")

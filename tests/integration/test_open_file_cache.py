"""The open-file cache takes what the descriptor budget leaves beside
max_connections, up to open_file_cache entries: a worker keeps that many
files open (and small ones in memory) instead of the fixed 256 it had, so
a site of a few thousand files is served without opening any of them again
(issue 18, the many-files row)."""
import os
import resource
import signal
import time

import pytest

from conftest import (SANITIZED, HttpClient, fd_links, start_with_nofile, start_with_rlimits,
                      wait_for)

FILES = 300            # more than the old fixed cache of 256
NOFILE = 4096          # room: 4096 - 32 fixed - 64 spare - 1 listener - 1024 conns


def site(make_server, **keys):
    s = make_server(workers=1, **keys)
    os.makedirs(os.path.join(s.root, "many"))
    for i in range(FILES):
        with open(os.path.join(s.root, "many", f"f{i:03d}.txt"), "wb") as f:
            f.write(f"file {i}\n".encode() * (i + 1))
    return s


def walk(s, passes=1):
    """GETs every file over one connection, checking each body."""
    with HttpClient(s.port) as c:
        for _ in range(passes):
            for i in range(FILES):
                r = c.request(f"/many/f{i:03d}.txt")
                assert (r.status, r.body) == (200, f"file {i}\n".encode() * (i + 1))


def files_held(s, worker):
    many = os.path.join(s.root, "many") + "/"
    return sum(1 for link in fd_links(worker) if link.startswith(many))


def test_a_worker_keeps_every_file_of_a_site_open(make_server):
    s = site(make_server)
    start_with_nofile(s, NOFILE, NOFILE)
    worker = s.wait_workers(1)[0]
    assert ("per-worker connection limit 1024 (max_connections 1024, "
            f"{NOFILE - 1024} kept in reserve); open-file cache {NOFILE - 1024 - 97} "
            "(open_file_cache 16384)") in s.error_log()
    walk(s, passes=2)
    assert files_held(s, worker) == FILES


def test_open_file_cache_bounds_what_a_worker_holds(make_server):
    s = site(make_server, open_file_cache=20)
    start_with_nofile(s, NOFILE, NOFILE)
    worker = s.wait_workers(1)[0]
    assert ("(max_connections 1024, 117 kept in reserve); "
            "open-file cache 20 (open_file_cache 20)") in s.error_log()
    walk(s, passes=2)    # the second pass reopens what the first evicted
    assert files_held(s, worker) == 20


def test_a_reload_resizes_the_cache(make_server):
    s = site(make_server, open_file_cache=20)
    start_with_nofile(s, NOFILE, NOFILE)
    old = s.wait_workers(1)[0]
    s.write_config(open_file_cache=50)
    s.signal(signal.SIGHUP)
    wait_for(lambda: s.workers() and s.workers()[0] != old, 15,
             what="a worker of the new generation")
    worker = s.wait_workers(1)[0]
    walk(s)
    assert files_held(s, worker) == 50


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_a_cached_page_sized_file_costs_one_page_and_its_entry(make_server):
    # 1,000 files of exactly 4 KiB: each body is one page of the cache's
    # mapping (page-aligned slots; a malloc'd block would straddle two),
    # and each entry under 1 KiB.
    s = make_server(workers=1)
    os.makedirs(os.path.join(s.root, "pages"))
    for i in range(1000):
        with open(os.path.join(s.root, "pages", f"p{i:04d}.bin"), "wb") as f:
            f.write(bytes([i % 256]) * 4096)
    start_with_nofile(s, NOFILE, NOFILE)
    worker = s.wait_workers(1)[0]
    with HttpClient(s.port) as c:
        assert c.request("/pages/p0000.bin").status == 200
        before = rss_kib(worker)
        for i in range(1, 1000):
            r = c.request(f"/pages/p{i:04d}.bin")
            assert (r.status, r.body) == (200, bytes([i % 256]) * 4096)
        grown = rss_kib(worker) - before
    # ASan adds its shadow of every byte written and its own bookkeeping.
    per_file = 7.5 if SANITIZED else 4 + 1
    assert 999 * 4 <= grown <= 999 * per_file + 256, grown


def test_a_file_not_asked_for_is_closed_so_its_space_comes_back(make_server):
    s = make_server(workers=1, open_file_cache_inactive="300ms")
    gone = os.path.join(s.root, "gone.bin")
    kept = os.path.join(s.root, "kept.txt")
    with open(gone, "wb") as f:
        f.write(b"x" * (1 << 20))
    with open(kept, "wb") as f:
        f.write(b"kept\n")
    s.start()
    worker = s.wait_workers(1)[0]
    with HttpClient(s.port) as c:
        assert c.request("/gone.bin").status == 200
        assert c.request("/kept.txt").status == 200
        assert f"{gone}" in fd_links(worker)
        os.unlink(gone)
        # Deleted but still open: its blocks stay allocated until closed.
        assert f"{gone} (deleted)" in fd_links(worker)
        # kept.txt stays in use all along, gone.bin is never asked for again.
        for _ in range(40):
            assert c.request("/kept.txt").body == b"kept\n"
            if f"{gone} (deleted)" not in fd_links(worker):
                break
            time.sleep(0.05)
        assert f"{gone} (deleted)" not in fd_links(worker)
        assert f"{kept}" in fd_links(worker)


@pytest.mark.skipif(SANITIZED, reason="ASan reserves terabytes of address space")
def test_too_little_address_space_falls_back_to_the_floor(make_server):
    # The cache asks for 16,384 bodies of 16 KiB in one mapping (256 MiB of
    # address space); under a 200 MiB RLIMIT_AS that fails, and the worker
    # says so and serves with the 256 entries the budget always had.
    s = site(make_server)
    limit = 200 << 20
    start_with_rlimits(s, {resource.RLIMIT_NOFILE: (20000, 20000),
                           resource.RLIMIT_AS: (limit, limit)})
    worker = s.wait_workers(1)[0]
    walk(s)
    assert files_held(s, worker) == 256
    assert ("open-file cache of 16384 entries: out of memory; 256 instead"
            in s.error_log())

"""The worker's directory cache (server/dircache.h) end to end: once a
directory has settled (its ctime is over DIR_SETTLE_MS old) a miss no
longer type-checks each name nor probes every sibling, so these tests wait
that long and then change the directory under a running worker. A FIFO made
since must still not be opened, and a sibling made since must be served at
once. (Freshly made directories, as in every other test, skip the cache.)"""
import os
import subprocess
import sys
import time

from conftest import http_request, wait_for
from test_http_sweep import writer_blocked

SETTLE_S = 2.2  # DIR_SETTLE_MS is 2000


def settled_server(make_server):
    s = make_server(workers=1)
    d = os.path.join(s.root, "d")
    os.mkdir(d)
    for name in ("a.txt", "b.txt"):
        with open(os.path.join(d, name), "wb") as f:
            f.write(b"plain " + name.encode())
    s.start()
    time.sleep(SETTLE_S)
    # The worker scans d now and remembers it as plain, with no siblings.
    r = http_request(s.port, "/d/a.txt", headers={"Accept-Encoding": "gzip"})
    assert r.status == 200 and "content-encoding" not in r.headers
    return s, d


def test_fifo_made_in_a_known_directory_is_not_opened(make_server):
    s, d = settled_server(make_server)
    fifo = os.path.join(d, "pipe")
    os.mkfifo(fifo)
    writer = subprocess.Popen(
        [sys.executable, "-c", "import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY)", fifo])
    try:
        wait_for(lambda: writer_blocked(writer.pid), 10, what="the writer blocked in open")
        assert http_request(s.port, "/d/pipe").status == 403
        assert writer.poll() is None and writer_blocked(writer.pid), "the FIFO was opened"
    finally:
        writer.kill()
        writer.wait()


def test_sibling_made_in_a_known_directory_is_served_at_once(make_server):
    s, d = settled_server(make_server)
    with open(os.path.join(d, "b.txt.gz"), "wb") as f:
        f.write(b"not really gzip")
    r = http_request(s.port, "/d/b.txt", headers={"Accept-Encoding": "gzip"})
    assert r.status == 200
    assert r.headers.get("content-encoding") == "gzip"
    assert r.body == b"not really gzip"

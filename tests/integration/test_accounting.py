"""Exact accounting (docs/ARCHITECTURE.md: Status pipe, issue 4 items 3 and 6): after N requests and
two status intervals, totals.requests has grown by exactly N, whatever
happened to the workers that served them."""
import signal

from conftest import HttpClient, http_request


def settle(srv, expected, timeout=20):
    """Waits for totals.requests == expected, then checks two more snapshots
    (two intervals later) still say exactly that."""
    snap = srv.snapshot(timeout=timeout, pred=lambda x: x["totals"]["requests"] >= expected)
    assert snap["totals"]["requests"] == expected
    for _ in range(2):
        later = srv.snapshot(pred=lambda x, t=snap["uptime_s"]: x["uptime_s"] > t)
        assert later["totals"]["requests"] == expected
        snap = later
    return snap


def load(port, n):
    for _ in range(n):
        assert http_request(port, "/").status == 200


def test_sixty_four_workers_retiring_lose_nothing(make_server):
    s = make_server(workers=64, max_workers=64, status_interval="200ms").start()
    s.wait_workers(64, timeout=30)
    settle(s, 1)                     # the start-up probe
    load(s.port, 640)
    settle(s, 641)
    s.signal(signal.SIGHUP)          # all 64 report their last counters at once
    snap = s.snapshot(timeout=60, pred=lambda x: x["generation"] == 2 and
                      x["workers_running"] == 64 and
                      all(w["generation"] == 2 for w in x["workers"]))
    assert snap["worker_exits_unexpected"] == 0
    settle(s, 641)


def test_exact_across_reload(make_server):
    s = make_server(workers=3).start()
    settle(s, 1)
    with HttpClient(s.port) as c:
        for _ in range(50):
            assert c.request("/").status == 200
    load(s.port, 20)
    s.signal(signal.SIGHUP)
    load(s.port, 30)
    s.snapshot(timeout=30, pred=lambda x: x["generation"] == 2 and
               all(w["generation"] == 2 for w in x["workers"]))
    settle(s, 101)


def test_exact_across_scale_down(make_server):
    s = make_server(workers=4).start()
    s.wait_workers(4)
    settle(s, 1)
    load(s.port, 80)
    for n in (3, 2, 1):
        s.signal(signal.SIGTTOU)
        s.wait_workers(n)
    settle(s, 81)


def test_exact_across_max_requests_recycle(make_server):
    s = make_server(workers=2, max_requests=5, max_requests_jitter=3).start()
    settle(s, 1)
    load(s.port, 60)
    snap = settle(s, 61)
    assert snap["worker_exits_unexpected"] == 0
    assert http_request(s.port, "/").status == 200

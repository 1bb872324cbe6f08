"""scripts/bench's bookkeeping, without running a benchmark (tests assert
behaviour, never speed): the order it runs cases in, the per-round
comparison its target lines print, and its options."""
import importlib.machinery
import importlib.util
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "scripts", "bench")


def load_bench():
    loader = importlib.machinery.SourceFileLoader("bench_under_test", BENCH)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


class Args:
    rounds, secs, no_extras = 2, 1, True


def test_every_case_runs_on_every_server_before_the_next_case(monkeypatch):
    bench = load_bench()
    calls = []
    monkeypatch.setattr(bench, "run_server_round",
                        lambda name, fn, cases, secs, results: calls.append((name, cases[0].name)))
    cases = [c for c in bench.CASES if c.name in ("small-keepalive", "large-listing")]
    servers = {"preforkd": None, "nginx": None, "lighttpd": None}
    bench.run_rounds(Args(), servers, cases, None)
    # lighttpd has no listing row (SKIP); the order turns by one each round
    assert calls == [
        ("preforkd", "small-keepalive"), ("nginx", "small-keepalive"), ("lighttpd", "small-keepalive"),
        ("preforkd", "large-listing"), ("nginx", "large-listing"),
        ("nginx", "small-keepalive"), ("lighttpd", "small-keepalive"), ("preforkd", "small-keepalive"),
        ("nginx", "large-listing"), ("preforkd", "large-listing"),
    ]


def test_target_lines_count_the_rounds_won_pairwise():
    bench = load_bench()
    results = {
        ("preforkd", "large-keepalive"): [{"rps": 100, "cpu_us": 900, "p99_us": 0, "errors": 0},
                                          {"rps": 120, "cpu_us": 1100, "p99_us": 0, "errors": 0},
                                          {"rps": 110, "cpu_us": 950, "p99_us": 0, "errors": 0}],
        ("h2o", "large-keepalive"): [{"rps": 90, "cpu_us": 1000, "p99_us": 0, "errors": 0},
                                     {"rps": 130, "cpu_us": 1000, "p99_us": 0, "errors": 0},
                                     {"rps": 140, "cpu_us": 1000, "p99_us": 0, "errors": 0}],
    }
    med = bench.medians(results)
    cpu = bench.lead_lines(med, "preforkd", "large-keepalive", ["h2o"], "cpu_us", "cpu/req",
                           lambda a, b: a < b)
    rps = bench.lead_lines(med, "preforkd", "large-keepalive", ["h2o"], "rps", "req/s",
                           lambda a, b: a > b)
    assert cpu[0][1] is True and cpu[0][0].endswith("ahead in rounds: h2o 2/3)")
    assert rps[0][1] is False and rps[0][0].endswith("ahead in rounds: h2o 1/3)")


def test_help_names_the_congestion_control_option():
    p = subprocess.run([sys.executable, BENCH, "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "--cc NAME" in p.stdout

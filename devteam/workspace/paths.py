"""The path rule of every workspace write: relative, inside the root, outside ``.git``."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from devteam.errors import PathEscapeError


def resolve_inside(root: Path, rel: str) -> Path:
    """The absolute path of ``rel`` inside ``root`` (already resolved), or PathEscapeError:
    absolute paths, ``..``, the ``.git`` folder and symlinks that lead outside are refused."""
    if not rel or "\x00" in rel:
        raise PathEscapeError(f"Refused file path {rel!r}: it is empty or has a NUL byte.")
    pure = PurePosixPath(rel.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and pure.parts[0] == ".git"):
        raise PathEscapeError(
            f"Refused file path {rel!r}: it must be relative, inside the workspace and "
            "outside .git."
        )
    target = (root / pure).resolve()
    if target != root and root not in target.parents:
        raise PathEscapeError(f"Refused file path {rel!r}: it resolves outside the workspace.")
    return target

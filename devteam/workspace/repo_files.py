"""An existing repository's files as a model should see them: which, and in what order.

``list_files`` gives the tracked files (every file outside git) less vendored, lock, binary
and huge ones; ``tier`` ranks a path (project metadata, package code, other code, tests,
scripts/examples, docs and the rest); ``is_test_file`` and ``in_test_dir`` say what counts as
a test. Everything is read from disk and git, never imported or executed.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from devteam.errors import WorkspaceError
from devteam.workspace.git import run_git

MAX_SOURCE_BYTES = 512_000  # larger files are left out of the map
_VENDORED_DIRS = {
    "node_modules", "vendor", "vendored", "third_party", "third-party", "site-packages",
    ".venv", "venv", "env", ".tox", ".nox", ".eggs", "__pycache__", ".git", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", "dist", "build",
}  # fmt: skip
_LOCK_FILES = {
    "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "uv.lock", "Pipfile.lock",
    "Cargo.lock", "go.sum", "composer.lock", "Gemfile.lock",
}  # fmt: skip
_BINARY_SUFFIXES = {
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".svgz", ".pdf", ".zip", ".gz",
    ".tgz", ".bz2", ".xz", ".zst", ".7z", ".tar", ".whl", ".egg", ".jar", ".so", ".dylib",
    ".dll", ".exe", ".bin", ".o", ".a", ".pyc", ".pyo", ".class", ".woff", ".woff2", ".ttf",
    ".otf", ".eot", ".mp3", ".mp4", ".wav", ".ogg", ".avi", ".mov", ".sqlite", ".db", ".gguf",
    ".npy", ".npz", ".pkl", ".pickle", ".parquet", ".onnx", ".pt", ".safetensors", ".h5",
}  # fmt: skip
_CODE_SUFFIXES = {
    ".js", ".jsx", ".ts", ".tsx", ".mjs", ".go", ".rs", ".c", ".h", ".cc", ".cpp", ".hpp",
    ".java", ".kt", ".rb", ".php", ".cs", ".swift", ".scala", ".sh", ".bash", ".pyx", ".pyi",
    ".sql", ".lua", ".r", ".jl", ".ex", ".exs", ".hs", ".ml", ".zig", ".vue", ".svelte",
}  # fmt: skip
_PROJECT_FILES = {
    "pyproject.toml", "setup.py", "setup.cfg", "package.json", "cargo.toml", "go.mod",
    "makefile", "requirements.txt", "requirements-dev.txt", "tox.ini", "pytest.ini",
    "dockerfile", "manifest.in",
}  # fmt: skip
_TEST_DIRS = {"tests", "test", "testing"}
_AUX_DIRS = {
    "examples", "example", "scripts", "bench", "benchmarks", "tools", "ci", ".ci", ".github",
    "contrib", "misc",
}  # fmt: skip
_DOC_DIRS = {"docs", "doc", "documentation"}


def list_files(root: Path) -> list[str]:
    """Tracked files (git ls-files), or every file when ``root`` is not a git work tree;
    vendored, lock, binary, huge files and symlinks left out."""
    try:
        listed = run_git(root, "ls-files", "-z")
        candidates = sorted({p for p in listed.split("\0") if p})
    except (OSError, WorkspaceError):
        candidates = sorted(
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if not _VENDORED_DIRS & set(p.relative_to(root).parts)
        )
    return [rel for rel in candidates if _keep(root, rel)]


def _keep(root: Path, rel: str) -> bool:
    pure = PurePosixPath(rel)
    if _VENDORED_DIRS & set(pure.parts[:-1]) or pure.name in _LOCK_FILES:
        return False
    if pure.suffix.lower() in _BINARY_SUFFIXES or pure.name.endswith((".min.js", ".min.css")):
        return False
    path = root / rel
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_SOURCE_BYTES:
            return False
        with path.open("rb") as fh:
            return b"\0" not in fh.read(4096)
    except OSError:
        return False


def tier(rel: str) -> int:
    pure = PurePosixPath(rel)
    parts = [p.lower() for p in pure.parts]
    name = parts[-1]
    if len(parts) == 1 and (name in _PROJECT_FILES or name.startswith("readme")):
        return 0
    if is_test_file(rel) or in_test_dir(rel):
        return 3
    if parts[0] in _DOC_DIRS:
        return 5
    if parts[0] in _AUX_DIRS:
        return 4
    suffix = pure.suffix.lower()
    if suffix == ".py":
        return 1
    if suffix in _CODE_SUFFIXES:
        return 2
    return 5


def is_test_file(rel: str) -> bool:
    name = PurePosixPath(rel).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def in_test_dir(rel: str) -> bool:
    return bool(_TEST_DIRS & {p.lower() for p in PurePosixPath(rel).parts[:-1]})

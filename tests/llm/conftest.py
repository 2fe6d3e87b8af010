"""Fixtures for the embedded model: the real 0.5B file, fetched once into the user cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devteam.config import load_settings
from devteam.errors import ModelUnavailableError
from devteam.llm.embedded import ensure_model
from devteam.llm.server import EmbeddedServer, llama_cpp_available
from tests.guards import missing, unreachable

SMALL_MODEL = "qwen2.5-coder-0.5b"


@pytest.fixture(scope="session")
def embedded_model_path() -> Path:
    """The verified 0.5B GGUF in the default cache (downloaded on first use, ~15 s).

    Only an unreachable source is a skip (a failure under CI); a file that does not verify
    (sha256, size, a broken part) or any other model error fails the tests that need it.
    """
    try:
        return ensure_model(SMALL_MODEL, load_settings().cache_dir)
    except ModelUnavailableError as exc:
        unreachable("the embedded model", exc)


@pytest.fixture(scope="session")
def embedded_server(
    embedded_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmbeddedServer]:
    """One running server on the 0.5B for all the model tests of a session."""
    if not llama_cpp_available():
        missing("llama-cpp-python is not installed (pip install 'devteam[local]')")
    log = tmp_path_factory.mktemp("server") / "server.log"
    with EmbeddedServer(
        embedded_model_path, log_path=log, model_name=SMALL_MODEL, n_ctx=4096
    ) as server:
        yield server

"""The one model endpoint a bench run uses: a server at ``base_url`` (checked first), the
embedded model on a loopback port, or none (a model injected by tests, a strategy without one)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from devteam.bench.provenance import model_sha256
from devteam.config import Settings, load_settings
from devteam.errors import ModelUnavailableError
from devteam.progress import Progress

EMBEDDED_PREFIX = "qwen2.5-coder-"


class BenchConfig(BaseModel):
    """One bench run, as the CLI takes it."""

    model_config = ConfigDict(extra="forbid")

    suite: str = "humaneval"
    strategy: str = "single"
    tasks: list[str] | None = Field(None, description="task ids; default: the suite's set")
    limit: int | None = Field(None, description="run only the first N of the selected tasks")
    full: bool = Field(False, description="HumanEval: all 164 problems, not the CPU subset")
    concurrency: int = Field(1, ge=1, le=64)
    max_rounds: int = Field(3, ge=0, le=20, description="reflect: fix rounds after the first try")
    out: Path | None = None
    seed: int | None = 0
    model: str | None = Field(None, description="embedded model name, or the endpoint's model")
    base_url: str | None = None
    max_run_tokens: int | None = Field(
        None, gt=0, description="each task's run total of tokens (budget.max_run_tokens)"
    )
    command: list[str] = Field(default_factory=list, description="the command line, for the record")
    resume: bool = Field(False, description="continue the interrupted run in --out")


@dataclass
class Endpoint:
    server: str
    model: str
    base_url: str | None = None
    model_file: Path | None = None
    sha256: str | None = None
    startup_s: float | None = None
    structured_output: str = "auto"


def bench_settings(cfg: BenchConfig, out: Path) -> Settings:
    overrides: dict[str, object] = {
        "temperature": 0.0,
        "seed": cfg.seed,
        "workspace_root": out / "workspaces",
        "state_dir": out / "state",
    }
    if cfg.base_url:
        overrides["base_url"] = cfg.base_url
    if cfg.model:
        endpoint_set = cfg.base_url or os.environ.get("DEVTEAM_BASE_URL")
        if cfg.model.startswith(EMBEDDED_PREFIX) and not endpoint_set:
            overrides["embedded_model"] = cfg.model
        else:
            overrides["model"] = cfg.model
    settings = load_settings(**overrides)
    if cfg.max_run_tokens is not None:
        settings.budget = settings.budget.model_copy(update={"max_run_tokens": cfg.max_run_tokens})
    return settings


def check_endpoint(settings: Settings) -> None:
    """Fail fast, in one sentence, when nothing answers at ``base_url``."""
    import openai

    client = openai.OpenAI(
        base_url=settings.base_url, api_key=settings.api_key, timeout=15, max_retries=0
    )
    try:
        client.models.list()
    except openai.APIConnectionError as exc:
        raise ModelUnavailableError(
            f"The model server at {settings.base_url} is not reachable "
            f"({exc.__cause__ or exc}); start it, or leave out --base-url to use the "
            "embedded model."
        ) from exc
    except openai.APIStatusError:
        pass  # it answers; not every server lists its models


@contextmanager
def open_endpoint(
    settings: Settings, out: Path, *, injected: bool, needs_model: bool, progress: Progress
) -> Iterator[Endpoint]:
    if injected:
        yield Endpoint(server="injected", model="injected")
        return
    if not needs_model:
        yield Endpoint(server="none", model="none")
        return
    if settings.base_url:
        check_endpoint(settings)
        yield Endpoint(
            server="openai-compatible",
            model=settings.model or "default",
            base_url=settings.base_url,
            structured_output=settings.structured_output,
        )
        return
    from devteam.llm.server import EmbeddedServer

    server = EmbeddedServer.from_settings(
        settings,
        log_path=out / "model-server.log",
        progress=lambda stage, frac: progress(
            f"model: {stage}" + (f" {frac:.0%}" if frac is not None else "")
        ),
    )
    progress(f"Starting the embedded model server ({server.model_name}, {server.model_path.name})")
    with server:
        yield Endpoint(
            server="embedded-llama-cpp",
            model=server.model_name,
            base_url=server.base_url,
            model_file=server.model_path,
            sha256=model_sha256(server.model_path),
            startup_s=round(server.startup_s or 0.0, 2),
            # llama.cpp's server takes a schema through json_object; skip the json_schema probe.
            structured_output="json_object"
            if settings.structured_output == "auto"
            else settings.structured_output,
        )

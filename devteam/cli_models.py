"""``devteam models``: list, fetch, verify and locate the embedded models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from devteam.cli_input import fail
from devteam.config import Settings, load_settings
from devteam.errors import DevteamError, ModelError, ModelIntegrityError
from devteam.llm.embedded import (
    CATALOGUE,
    EmbeddedModel,
    ensure_model,
    get_model,
    model_path,
    verify_model,
)

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

NameArg = Annotated[
    str | None,
    typer.Argument(
        help="catalogue name (default: the configured embedded_model)", show_default=False
    ),
]

_STAGES = {"wait": "waiting for another fetch", "download": "download", "join": "join + sha256",
           "verify": "verify sha256"}  # fmt: skip


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except DevteamError as exc:
        fail(exc)


def _settings_and_model(name: str | None) -> tuple[Settings, EmbeddedModel]:
    settings = load_settings()
    return settings, get_model(name or settings.embedded_model)


@contextmanager
def _progress_bar() -> Iterator[Callable[[str, float | None], None]]:
    tasks: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:

        def update(stage: str, fraction: float | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=None)
            if fraction is None:
                bar.update(tasks[stage], total=None)
            else:
                bar.update(tasks[stage], total=100, completed=round(fraction * 100, 1))

        yield update


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


@app.command("list", epilog="Example: devteam models list")
def list_models() -> None:
    """The catalogue: size, sources, and whether each model is in the cache."""
    with _errors():
        settings = load_settings()
        table = Table(title=f"Embedded models (cache: {settings.cache_dir / 'models'})")
        for col in ("name", "size", "cached", "PyPI parts", "default"):
            table.add_column(col)
        for m in CATALOGUE.values():
            cached = model_path(m, settings.cache_dir)
            table.add_row(
                m.name,
                _mib(m.size),
                "[green]yes[/]" if cached else "no",
                f"{m.pypi.distribution(1)} .. {m.pypi.count} (=={m.pypi.version})",
                "*" if m.name == settings.embedded_model and not settings.model_file else "",
            )
        out.print(table)
        if settings.model_file:
            out.print(f"model_file is set: devteam serves {settings.model_file} instead.")


@app.command(epilog="Example: devteam models fetch qwen2.5-coder-1.5b")
def fetch(
    name: NameArg = None,
    verify: Annotated[bool, typer.Option("--verify", help="re-hash a cached file")] = False,
) -> None:
    """Download, join and verify a model into the cache (nothing to do if it is there)."""
    with _errors():
        settings, m = _settings_and_model(name)
        path = None if verify else model_path(m, settings.cache_dir)
        if path is None:
            with _progress_bar() as progress:
                path = ensure_model(m, settings.cache_dir, progress=progress, verify=verify)
        console.print(f"[green]ok[/] {m.name}: {path} ({_mib(m.size)}, sha256 verified)")


@app.command(epilog="Example: devteam models verify qwen2.5-coder-0.5b")
def verify(name: NameArg = None) -> None:
    """Re-hash a cached model against the catalogue's sha256; exit 5 if it does not match."""
    with _errors():
        settings, m = _settings_and_model(name)
        path = settings.cache_dir / "models" / m.filename
        if not path.is_file():
            raise ModelError(
                f"{m.name} is not in the cache ({path}); run `devteam models fetch {m.name}`."
            )
        with _progress_bar() as progress:
            ok = verify_model(path, m, progress)
        if not ok:
            raise ModelIntegrityError(
                f"{path} does not match the expected size and sha256 {m.sha256}; run "
                f"`devteam models fetch --verify {m.name}` to replace it."
            )
        console.print(f"[green]ok[/] {m.name}: {path} matches sha256 {m.sha256}")


@app.command(epilog="Example: devteam models path")
def path(name: NameArg = None) -> None:
    """Print the path of the GGUF file devteam would serve (exit 5 if it is not fetched)."""
    with _errors():
        settings = load_settings()
        if name is None and settings.model_file is not None:
            out.print(str(settings.model_file))
            return
        m = get_model(name or settings.embedded_model)
        found = model_path(m, settings.cache_dir)
        if found is None:
            raise ModelError(f"{m.name} is not fetched yet; run `devteam models fetch {m.name}`.")
        out.print(str(found))

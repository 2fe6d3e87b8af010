"""``devteam sandbox ...``: run one command sandboxed, build the image, prune leftovers, status.

Exit codes of ``devteam sandbox exec``: the command's own, or 124 (timed out), 137 (killed:
out of memory), 125 (the sandbox itself failed: no engine, no image, bad settings), 143
(stopped by SIGTERM or Ctrl-C; the container is removed first). The other sandbox commands
exit with devteam.exit_codes' statuses (5: no engine or no image).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console

from devteam.cli_input import fail
from devteam.config import (
    DockerSandboxSettings,
    LocalSandboxSettings,
    SandboxSettings,
    describe_validation_error,
    load_settings,
)
from devteam.errors import ConfigError, DevteamError
from devteam.exit_codes import ExitCode
from devteam.sandbox.base import EXIT_OOM, EXIT_SANDBOX_ERROR, EXIT_TIMEOUT

app = typer.Typer(
    name="sandbox",
    help="Run commands in the isolated sandbox; build, inspect and clean it up.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_TABLE: TypeAdapter[SandboxSettings] = TypeAdapter(SandboxSettings)


def _settings(**overrides: object) -> SandboxSettings:
    """The configured ``[sandbox]`` table with the flags given; a flag naming another backend
    keeps only the keys both backends read."""
    base = load_settings().sandbox
    given = {k: v for k, v in overrides.items() if v is not None}
    backend = given.get("backend", base.backend)
    own = LocalSandboxSettings if backend == "local" else DockerSandboxSettings
    data = base.model_dump(include=set(own.model_fields)) | given
    try:
        return _TABLE.validate_python(data)
    except ValidationError as exc:
        flags = ", ".join(f"--{k}" for k, v in overrides.items() if v is not None)
        raise ConfigError(describe_validation_error(exc, flags or "the sandbox settings")) from None


#: The exit code of a ``sandbox exec`` stopped by SIGTERM or Ctrl-C (128 + SIGTERM).
EXIT_INTERRUPTED = 143


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@app.command(
    "exec", epilog="Example: devteam sandbox exec --dir . --timeout 60 -- python3 -m pytest -q"
)
def exec_cmd(
    command: Annotated[list[str], typer.Argument(help="the command and its arguments, after --")],
    dir: Annotated[
        Path | None,
        typer.Option("--dir", "-d", help="copy this directory into /workspace first"),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", "-t", help="wall-clock seconds (default: config)")
    ] = None,
    memory: Annotated[str | None, typer.Option(help="memory cap, e.g. 512m")] = None,
    backend: Annotated[
        str | None, typer.Option(help="docker (default) or local (weaker isolation)")
    ] = None,
) -> None:
    """Run one command in a fresh sandbox, print its output, exit with its exit code.

    Exit codes: the command's own; 124 timed out; 137 out of memory; 125 sandbox failure.
    """
    from devteam.sandbox import open_sandbox

    if dir is not None and not dir.is_dir():
        fail(
            ValueError(f"--dir {dir} is not a directory; pass an existing directory."),
            code=EXIT_SANDBOX_ERROR,
        )
    # SIGTERM unwinds like Ctrl-C, so the sandbox's container is removed on the way out.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        settings = _settings(memory=memory, backend=backend)
        with open_sandbox(settings, workspace=dir) as sb:
            res = sb.exec(command, timeout_s=timeout)
    except (DevteamError, ValueError) as exc:
        fail(exc, code=EXIT_SANDBOX_ERROR)
    except KeyboardInterrupt:
        err.print("[yellow]devteam: interrupted; the sandbox was removed[/yellow]")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    sys.stdout.write(res.stdout)
    sys.stdout.flush()
    sys.stderr.write(res.stderr)
    if res.output_truncated:
        err.print("[yellow]devteam: output was cut (head and tail kept)[/yellow]")
    if res.timed_out:
        limit = timeout if timeout is not None else settings.timeout_s
        err.print(f"[red]devteam: timed out after {limit:g} s; every process was killed[/red]")
        raise typer.Exit(EXIT_TIMEOUT)
    if res.oom_killed:
        err.print(f"[red]devteam: killed: out of memory (cap {settings.memory})[/red]")
        raise typer.Exit(EXIT_OOM)
    if res.pids_limit_hit:
        cap = f" (pids {settings.pids})" if isinstance(settings, DockerSandboxSettings) else ""
        err.print(f"[yellow]devteam: process limit reached{cap}[/yellow]")
    raise typer.Exit(res.exit_code)


@app.command(epilog="Example: devteam sandbox build --package sqlite3")
def build(
    offline: Annotated[
        bool | None,
        typer.Option(
            "--offline/--dockerfile",
            help="debootstrap Debian (no registry) or a Dockerfile; default: detect",
            show_default=False,
        ),
    ] = None,
    image: Annotated[str | None, typer.Option(help="image name:tag to build")] = None,
    package: Annotated[
        list[str] | None,
        typer.Option("--package", "-p", help="extra Debian package (repeatable)"),
    ] = None,
) -> None:
    """Build the sandbox image (Dockerfile when a registry answers, debootstrap when not)."""
    from devteam.sandbox.image import BuildMode, build_image

    try:
        settings = DockerSandboxSettings.of(_settings(backend="docker", image=image))
        if package:
            settings = settings.model_copy(
                update={"extra_packages": [*settings.extra_packages, *package]}
            )
        mode: BuildMode | None = None
        if offline is not None:
            mode = "offline" if offline else "dockerfile"
        image_id = build_image(settings, mode=mode, progress=lambda m: err.print(f"  {m}"))
    except DevteamError as exc:
        fail(exc)
    err.print(f"[green]built {settings.image}[/green] ({image_id[:19]})")


@app.command(epilog="Example: devteam sandbox prune")
def prune(
    all_: Annotated[
        bool, typer.Option("--all", help="also remove sandboxes whose owner still runs")
    ] = False,
) -> None:
    """Remove sandbox containers left behind by crashed or killed runs."""
    from devteam.sandbox import engine

    try:
        client = engine.connect()
    except DevteamError as exc:
        fail(exc)
    removed = engine.prune(client, everything=all_)
    err.print(f"removed {len(removed)} sandbox container(s)" + (f": {removed}" if removed else ""))


@app.command(epilog="Example: devteam sandbox status")
def status() -> None:
    """Is the Docker engine reachable, is the image there, are sandboxes running?"""
    from devteam.sandbox import engine
    from devteam.sandbox.image import image_info

    try:
        settings = _settings()
    except DevteamError as exc:
        fail(exc)
    docker = DockerSandboxSettings.of(settings)
    out = Console(highlight=False)
    out.print(f"backend: {settings.backend}")
    try:
        client = engine.connect(timeout_s=10)
    except DevteamError as exc:
        out.print(f"engine: [red]not reachable[/red] - {exc}")
        raise typer.Exit(ExitCode.INFRASTRUCTURE) from None
    version = client.version()
    out.print(f"engine: reachable ({engine.docker_host_description()}, {version.get('Version')})")
    info = image_info(client, docker.image)
    if info is None:
        out.print(f"image: [red]{docker.image} missing[/red] - run `devteam sandbox build`")
    else:
        out.print(f"image: {docker.image} present ({info['id']}, {info['size_mb']} MB)")
    boxes = engine.list_sandbox_containers(client)
    orphans = [c for c in boxes if not engine.owner_alive(c.labels or {})]
    out.print(f"sandboxes: {len(boxes)} ({len(orphans)} orphaned; `devteam sandbox prune`)")
    if isinstance(settings, DockerSandboxSettings):
        out.print(
            f"limits: memory {settings.memory}, cpus {settings.cpus:g}, pids {settings.pids}, "
            f"timeout {settings.timeout_s:g} s, network {'on' if settings.network else 'off'}"
        )
    else:
        out.print(f"limits: memory {settings.memory}, timeout {settings.timeout_s:g} s")
    if info is None:
        raise typer.Exit(ExitCode.INFRASTRUCTURE)

"""``devteam doctor``: every check a run depends on, each a small function with a typed result.

A failed check carries the one command that fixes it. ``run_checks`` runs them in order and
skips the ones that cannot mean anything after an earlier failure (no image check without
an engine).
"""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from devteam.config import DockerSandboxSettings, Settings
from devteam.errors import DevteamError

#: Below this much free space in the state folder, a run may die writing its logs.
MIN_FREE_BYTES = 1 << 30


class CheckResult(BaseModel):
    """One check: ``ok``, ``fail`` (with ``fix``, the command that fixes it), or ``note``."""

    name: str
    status: Literal["ok", "fail", "note"]
    detail: str
    fix: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == "fail"


def ok(name: str, detail: str) -> CheckResult:
    return CheckResult(name=name, status="ok", detail=detail)


def fail(name: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name=name, status="fail", detail=detail, fix=fix)


def note(name: str, detail: str) -> CheckResult:
    return CheckResult(name=name, status="note", detail=detail)


def check_team(settings: Settings) -> CheckResult:
    """The team file loads, and its roles' prompts render (the check a run makes first)."""
    from devteam.teams import load_team

    try:
        team = load_team(settings.team)
    except DevteamError as exc:
        where = f"the team file {settings.team}" if settings.team not in _BUILT_IN else "the team"
        return fail("team", f"{exc}", f"export DEVTEAM_TEAM=default  # then correct {where}")
    return ok("team", f"{team.name}: {', '.join(team.roles)}")


_BUILT_IN = ("default", "classic", "solo")


def check_checkpoints(settings: Settings) -> CheckResult:
    """The checkpoint store opens and (SQLite) passes its quick check."""
    from devteam.checkpoint import checkpointer_kind, verify_checkpointer

    try:
        return ok("checkpoints", f"in {verify_checkpointer(settings)}")
    except DevteamError as exc:
        try:
            kind = checkpointer_kind(settings.checkpointer)
        except DevteamError:
            kind = "unknown"
        if kind != "sqlite":
            fix = "export DEVTEAM_CHECKPOINTER=sqlite  # or start that PostgreSQL server"
            return fail("checkpoints", str(exc), fix)
        db = settings.checkpoint_db
        return fail("checkpoints", str(exc), f"mv {db} {db}.damaged")


def check_disk(settings: Settings) -> CheckResult:
    """At least 1 GiB free where runs write their logs and checkpoints."""
    where = _existing(settings.state_dir)
    free = shutil.disk_usage(where).free
    gib = free / (1 << 30)
    if free < MIN_FREE_BYTES:
        return fail(
            "disk",
            f"only {gib:.2f} GiB free in {where} (state folder {settings.state_dir}); "
            "a run needs about 1 GiB",
            "export DEVTEAM_STATE_DIR=/a/folder/with/space",
        )
    return ok("disk", f"{gib:.1f} GiB free for the state folder {settings.state_dir}")


def _existing(path: Path) -> Path:
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def start_docker_command() -> str:
    """How to start the engine here: systemd where it runs, else dockerd itself."""
    if not shutil.which("dockerd") and not shutil.which("docker"):
        return "sudo apt-get install -y docker.io"
    if Path("/run/systemd/system").is_dir():
        return "sudo systemctl start docker"
    prefix = "" if os.geteuid() == 0 else "sudo "
    return f"{prefix}nohup dockerd >/var/log/dockerd.log 2>&1 &"


def check_docker(settings: Settings) -> CheckResult:
    """The Docker engine answers a ping (the docker backend only)."""
    from devteam.sandbox import engine

    if settings.sandbox.backend != "docker":
        return note("docker", "not needed: the sandbox backend is local (no isolation)")
    try:
        client = engine.connect(timeout_s=5)
    except DevteamError:
        return fail(
            "docker",
            f"the Docker engine does not answer at {engine.docker_host_description()}",
            start_docker_command(),
        )
    version = client.version().get("Version", "?")
    client.close()
    return ok("docker", f"engine {version} at {engine.docker_host_description()}")


def check_image(settings: Settings) -> CheckResult:
    """The sandbox image is built."""
    from devteam.sandbox import engine
    from devteam.sandbox.image import image_info

    image = DockerSandboxSettings.of(settings.sandbox).image
    client = engine.connect(timeout_s=5)
    try:
        info = image_info(client, image)
    finally:
        client.close()
    if info is None:
        return fail("image", f"the sandbox image {image} is missing", "devteam sandbox build")
    return ok("image", f"{image} ({info['id']}, {info['size_mb']} MB)")


def check_sandbox(settings: Settings) -> CheckResult:
    """A sandbox starts and runs python3 (a real container, removed afterwards)."""
    from devteam.sandbox import open_sandbox

    try:
        with open_sandbox(settings.sandbox) as sandbox:
            res = sandbox.exec(["python3", "-c", "print('ok')"])
    except DevteamError as exc:
        return fail("sandbox", str(exc), "devteam sandbox build")
    if res.exit_code != 0:
        return fail(
            "sandbox",
            f"python3 failed in the sandbox (exit {res.exit_code})",
            "devteam sandbox build",
        )
    return ok("sandbox", f"a {settings.sandbox.backend} sandbox runs python3")


def check_model(settings: Settings, *, rehash: bool = False) -> CheckResult:
    """The embedded model's file is there with the catalogue's size and sha256 (recorded when
    it was fetched; ``rehash`` reads the whole file again)."""
    from devteam.llm.embedded import get_model, model_path, verify_model

    if not settings.uses_embedded_model:
        return note("model", f"not needed: the endpoint {settings.base_url} serves the model")
    if settings.model_file is not None:
        if not settings.model_file.is_file():
            return fail(
                "model",
                f"model_file {settings.model_file} does not exist",
                "unset DEVTEAM_MODEL_FILE  # to serve the embedded model instead",
            )
        return ok("model", f"{settings.model_file} (your own file: no sha256 to check)")
    m = get_model(settings.embedded_model)
    path = settings.cache_dir / "models" / m.filename
    fetch = f"devteam models fetch {m.name}"
    if not path.is_file():
        return fail("model", f"{m.name} is not in the cache ({path})", fetch)
    if model_path(m, settings.cache_dir) is None or (rehash and not verify_model(path, m)):
        return fail(
            "model",
            f"{path} does not have the size and sha256 {m.sha256[:12]}... of {m.name}",
            f"devteam models fetch --verify {m.name}",
        )
    how = "re-hashed just now" if rehash else "verified when fetched"
    return ok("model", f"{m.name}: {path} (sha256 {m.sha256[:12]}..., {how})")


def check_llama_cpp(settings: Settings) -> CheckResult:
    """llama-cpp-python, which serves the embedded model, is installed."""
    from devteam.llm.server import llama_cpp_available

    if not settings.uses_embedded_model:
        return note("llama-cpp", "not needed with an endpoint")
    if llama_cpp_available():
        return ok("llama-cpp", "llama-cpp-python is installed")
    return fail("llama-cpp", "llama-cpp-python is not installed", "pip install 'devteam[local]'")


def check_endpoint(settings: Settings, timeout_s: float = 5.0) -> CheckResult:
    """A configured endpoint answers ``GET /models`` (and accepts the API key)."""
    if settings.uses_embedded_model:
        return note("endpoint", "none configured: devteam starts its embedded model per run")
    url = str(settings.base_url).rstrip("/") + "/models"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {settings.api_key}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return fail(
            "endpoint",
            f"nothing answers at {settings.base_url} ({reason}); start the model server there",
            "unset DEVTEAM_BASE_URL  # to use the embedded model instead",
        )
    if status in (401, 403):
        return fail(
            "endpoint",
            f"{settings.base_url} refuses the API key (HTTP {status})",
            "export DEVTEAM_API_KEY=<the server's key>",
        )
    return ok("endpoint", f"{settings.base_url} answers (HTTP {status})")


def run_checks(settings: Settings, *, rehash: bool = False) -> list[CheckResult]:
    """Every check, in the order a run needs them; the image check only with an engine."""
    results = [check_team(settings), check_checkpoints(settings), check_disk(settings)]
    docker = check_docker(settings)
    results.append(docker)
    if docker.status == "ok":
        image = check_image(settings)
        results.append(image)
        if image.status == "ok":
            results.append(check_sandbox(settings))
    results += [
        check_llama_cpp(settings),
        check_model(settings, rehash=rehash),
        check_endpoint(settings),
    ]
    return results

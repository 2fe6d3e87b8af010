"""Building the sandbox image: a Dockerfile with a registry, debootstrap without one."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from devteam.config import DockerFields
from devteam.errors import SandboxBuildError, SandboxImageMissingError
from devteam.sandbox import engine

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
BuildMode = Literal["auto", "dockerfile", "offline"]

DOCKERFILE_NAME = "python.Dockerfile"
#: Image config set on an imported (debootstrapped) rootfs: docker import --change lines.
IMPORT_CHANGES = [
    'ENV PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"',
    "ENV LANG=C.UTF-8",
    "WORKDIR /workspace",
    'CMD ["sleep", "infinity"]',
    "LABEL devteam.image=1",
]
REGISTRY_URL = "https://registry-1.docker.io/v2/"


def _noop(_msg: str) -> None:
    return None


def image_present(client: Any, name: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(name)
    except ImageNotFound:
        return False
    return True


def registry_reachable(url: str = REGISTRY_URL, timeout_s: float = 3.0) -> bool:
    """Whether a container registry answers at all (any HTTP status counts)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s):
            return True
    except urllib.error.HTTPError:
        return True  # 401 from the registry: it is there
    except (TimeoutError, urllib.error.URLError, OSError, ValueError):
        return False


def dockerfile_text(settings: DockerFields) -> str:
    text = resources.files("devteam.sandbox").joinpath(DOCKERFILE_NAME).read_text()
    text = text.replace("python:3.12-slim", settings.base_image, 1)
    if settings.extra_packages:
        pkgs = " ".join(settings.extra_packages)
        text += (
            "USER root\nRUN apt-get update && apt-get install -y --no-install-recommends "
            f"{pkgs} && rm -rf /var/lib/apt/lists/*\nUSER 1000:1000\n"
        )
    return text


def build_with_dockerfile(client: Any, settings: DockerFields, progress: Progress) -> str:
    from docker.errors import APIError, BuildError

    progress(f"building {settings.image} from a Dockerfile (FROM {settings.base_image})")
    with tempfile.TemporaryDirectory(prefix="devteam-build-") as tmp:
        Path(tmp, "Dockerfile").write_text(dockerfile_text(settings))
        try:
            image, logs = client.images.build(
                path=tmp, tag=settings.image, rm=True, forcerm=True, pull=True
            )
        except (BuildError, APIError) as exc:
            raise SandboxBuildError(
                f"Building {settings.image} from a Dockerfile failed ({exc}); check registry "
                "access, or run `devteam sandbox build --offline`."
            ) from exc
        for chunk in logs:
            line = chunk.get("stream", "").strip() if isinstance(chunk, dict) else ""
            if line:
                progress(line)
    return str(image.id)


def debootstrap_command(settings: DockerFields, target: Path) -> list[str]:
    include = ["python3", "python3-pytest", *settings.extra_packages]
    cmd = [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(dict.fromkeys(include))}",
        settings.debian_suite,
        str(target),
    ]
    if settings.debian_mirror:
        cmd.append(settings.debian_mirror)
    return cmd


def build_offline(client: Any, settings: DockerFields, progress: Progress) -> str:
    """debootstrap a minimal Debian with python3 + pytest, then ``docker import`` it."""
    if shutil.which("debootstrap") is None:
        raise SandboxBuildError(
            "debootstrap is not installed, and the offline build needs it; run "
            "`apt-get install debootstrap` (as root), or build with a registry: "
            "`devteam sandbox build --dockerfile`."
        )
    with tempfile.TemporaryDirectory(prefix="devteam-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        cmd = debootstrap_command(settings, root)
        progress("running " + " ".join(cmd) + " (about a minute)")
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            raise SandboxBuildError(
                f"debootstrap failed (exit {proc.returncode}): {' | '.join(tail)}; it needs root "
                "and a reachable Debian mirror (set sandbox.debian_mirror)."
            )
        # slim it: caches and docs are not needed to run python
        for rel in (
            "var/cache/apt/archives",
            "var/lib/apt/lists",
            "usr/share/doc",
            "usr/share/man",
        ):
            shutil.rmtree(root / rel, ignore_errors=True)
            (root / rel).mkdir(parents=True, exist_ok=True)
        (root / "workspace").mkdir(exist_ok=True)
        progress(f"importing the root filesystem as {settings.image}")
        return import_rootfs(settings.image, root)


def import_rootfs(image: str, root: Path) -> str:
    """``tar -C root -c . | docker import --change ... - image`` (streams, no temp tarball)."""
    changes: list[str] = []
    for change in IMPORT_CHANGES:
        changes += ["--change", change]
    if shutil.which("docker") is None:
        raise SandboxBuildError(
            "The docker command-line client is needed to import the image; install docker.io."
        )
    tar = subprocess.Popen(
        ["tar", "-C", str(root), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE
    )
    assert tar.stdout is not None
    imp = subprocess.run(
        ["docker", "import", *changes, "-", image],
        stdin=tar.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    tar.stdout.close()
    if tar.wait() != 0 or imp.returncode != 0:
        raise SandboxBuildError(f"docker import of {root} failed: {imp.stderr.strip()}")
    return imp.stdout.strip()


def build_image(
    settings: DockerFields,
    *,
    mode: BuildMode | None = None,
    progress: Progress | None = None,
    client: Any = None,
) -> str:
    """Build ``settings.image``. ``auto``: Dockerfile if a registry answers, else offline."""
    say = progress or _noop
    client = client or engine.connect()
    chosen = mode or settings.build_mode
    if chosen == "auto":
        say("checking whether a container registry is reachable")
        chosen = "dockerfile" if registry_reachable() else "offline"
        say(f"build mode: {chosen}")
    if chosen == "dockerfile":
        return build_with_dockerfile(client, settings, say)
    return build_offline(client, settings, say)


def ensure_image(
    settings: DockerFields,
    progress: Progress | None = None,
    *,
    build: bool = True,
    client: Any = None,
) -> bool:
    """Make sure the sandbox image exists; build it if missing. True if it had to be built."""
    client = client or engine.connect()
    if image_present(client, settings.image):
        return False
    if not build:
        raise SandboxImageMissingError(
            f"Sandbox image {settings.image} is missing; run `devteam sandbox build`."
        )
    (progress or _noop)(f"sandbox image {settings.image} not found; building it")
    build_image(settings, progress=progress, client=client)
    return True


def image_info(client: Any, name: str) -> dict[str, Any] | None:
    from docker.errors import ImageNotFound

    try:
        img = client.images.get(name)
    except ImageNotFound:
        return None
    attrs = img.attrs
    return {
        "id": img.short_id,
        "size_mb": round(attrs.get("Size", 0) / 1e6, 1),
        "created": attrs.get("Created", ""),
        "cmd": json.dumps(attrs.get("Config", {}).get("Cmd")),
    }

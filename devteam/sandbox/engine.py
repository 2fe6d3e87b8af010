"""Talking to the Docker engine: connecting with a clear error, labels, and pruning leftovers."""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from devteam.errors import SandboxUnavailableError

log = logging.getLogger(__name__)

LABEL = "devteam.sandbox"
LABEL_OWNER_PID = "devteam.owner_pid"
LABEL_OWNER_START = "devteam.owner_start"
LABEL_OWNER_HOST = "devteam.owner_host"
LABEL_CREATED = "devteam.created"


def docker_host_description() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def connect(timeout_s: float = 30.0) -> Any:
    """A docker SDK client that has answered a ping, or SandboxUnavailableError."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as exc:  # pragma: no cover - docker is a hard dependency
        raise SandboxUnavailableError(
            "The docker Python package is not installed; run `pip install docker`, or set "
            "DEVTEAM_SANDBOX__BACKEND=local to run without isolation."
        ) from exc
    where = docker_host_description()
    try:
        client = docker.from_env(timeout=int(timeout_s))
        client.ping()
    except (DockerException, OSError) as exc:
        raise SandboxUnavailableError(
            f"Docker engine not reachable at {where}; install docker.io and start dockerd "
            "(or Docker Desktop), or set DEVTEAM_SANDBOX__BACKEND=local to run without "
            "isolation."
        ) from exc
    return client


def process_start_time(pid: int) -> str:
    """The kernel's start time of ``pid`` (clock ticks since boot), '' if unknown.

    Together with the pid it identifies a process even after its pid is reused.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
        # the command name (field 2) may hold spaces and parentheses: split after the last ')'
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def owner_labels() -> dict[str, str]:
    pid = os.getpid()
    return {
        LABEL: "1",
        LABEL_OWNER_PID: str(pid),
        LABEL_OWNER_START: process_start_time(pid),
        LABEL_OWNER_HOST: socket.gethostname(),
        LABEL_CREATED: f"{time.time():.3f}",
    }


def owner_alive(labels: dict[str, str]) -> bool:
    """Whether the process that created a container (per its labels) still runs here.

    Containers made on another host are treated as alive: we cannot tell, so we leave them.
    """
    if labels.get(LABEL_OWNER_HOST, "") != socket.gethostname():
        return True
    try:
        pid = int(labels.get(LABEL_OWNER_PID, ""))
    except ValueError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    want = labels.get(LABEL_OWNER_START, "")
    return not want or process_start_time(pid) in ("", want)


def list_sandbox_containers(client: Any) -> list[Any]:
    return list(client.containers.list(all=True, filters={"label": f"{LABEL}=1"}))


def prune(client: Any, *, everything: bool = False) -> list[str]:
    """Remove devteam sandbox containers whose owner is dead (or all of them). Returns ids."""
    from docker.errors import APIError, NotFound

    removed: list[str] = []
    for container in list_sandbox_containers(client):
        labels = container.labels or {}
        if not everything and owner_alive(labels):
            continue
        try:
            container.remove(force=True, v=True)
            removed.append(container.short_id)
        except NotFound:
            pass
        except APIError as exc:  # e.g. removal already in progress
            log.debug("could not remove sandbox container %s: %s", container.short_id, exc)
    if removed:
        log.info("removed %d leftover sandbox container(s): %s", len(removed), removed)
    return removed

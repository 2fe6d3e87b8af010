"""Deployment of the docker backend: create, check, restart and remove its one container.

The container's PID 1 is a tiny reaper (``INIT_SCRIPT``) running as another user
(``INIT_USER``) than the commands (``settings.user``), so a command can never signal it.
Every isolation default (``container_kwargs``) lives here.
"""

from __future__ import annotations

import logging
from typing import Any

from devteam.config import DockerSandboxSettings
from devteam.errors import SandboxError, SandboxImageMissingError
from devteam.sandbox import engine
from devteam.sandbox.base import WORKDIR

log = logging.getLogger(__name__)

#: User of the container's init process; commands run as ``settings.user`` and cannot signal it.
INIT_USER = "65534:65534"

#: PID 1 of the container: reaps every orphan and does nothing else. Being PID 1, it is the one
#: process ``kill -9 -1`` never reaches, so "kill until none is left" terminates.
INIT_SCRIPT = (
    "import os, signal\n"
    "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})\n"
    "while True:\n"
    "    signal.sigwait({signal.SIGCHLD})\n"
    "    try:\n"
    "        while os.waitpid(-1, os.WNOHANG)[0] > 0:\n"
    "            pass\n"
    "    except ChildProcessError:\n"
    "        pass\n"
)

#: Variables every command gets. Nothing from the host environment is ever passed.
BASE_ENV: dict[str, str] = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}


def _uid_of(user: str) -> str:
    return user.split(":", 1)[0]


def check_user(settings: DockerSandboxSettings) -> None:
    """SandboxError when the command user could signal the container's init process."""
    if _uid_of(settings.user) == _uid_of(INIT_USER):
        raise SandboxError(
            f"sandbox.user {settings.user!r} collides with the init user {INIT_USER}; "
            "choose another uid, e.g. 1000:1000."
        )


def container_kwargs(settings: DockerSandboxSettings) -> dict[str, Any]:
    """The docker SDK ``containers.run`` arguments: every isolation default lives here."""
    s = settings
    uid, _, gid = s.user.partition(":")
    gid = gid or uid
    return {
        "image": s.image,
        "entrypoint": ["python3", "-S", "-c", INIT_SCRIPT],
        "command": [],
        "init": False,
        "detach": True,
        "user": INIT_USER,
        "working_dir": WORKDIR,
        "environment": {**BASE_ENV, **s.env},
        "hostname": "sandbox",
        "labels": engine.owner_labels(),
        "network_mode": "bridge" if s.network else "none",
        "read_only": s.read_only_root,
        "tmpfs": {
            WORKDIR: f"rw,nosuid,nodev,size={s.workspace_size},uid={uid},gid={gid},mode=0755",
            "/tmp": f"rw,nosuid,nodev,size={s.tmpfs_size},mode=1777",
        },
        "shm_size": s.tmpfs_size,
        "mem_limit": s.memory,
        "memswap_limit": s.memory,
        "mem_swappiness": 0,
        "nano_cpus": int(s.cpus * 1e9),
        "pids_limit": s.pids,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 1024}],
        "stop_signal": "SIGKILL",
        "volumes": {},
        "privileged": False,
    }


def create(client: Any, settings: DockerSandboxSettings) -> Any:
    """Start a new locked-down container (pruning dead owners' leftovers first)."""
    from docker.errors import APIError, ImageNotFound

    if settings.prune_on_start:
        try:
            engine.prune(client)
        except Exception as exc:  # pruning is housekeeping; never block a start on it
            log.debug("prune at start failed: %s", exc)
    try:
        client.images.get(settings.image)
    except ImageNotFound:
        raise SandboxImageMissingError(
            f"Sandbox image {settings.image} is missing; run `devteam sandbox build`."
        ) from None
    kwargs = container_kwargs(settings)
    try:
        return client.containers.run(**kwargs)
    except APIError as exc:
        if "swappiness" in str(exc).lower():  # cgroup v2 engines reject swappiness
            kwargs.pop("mem_swappiness")
            return client.containers.run(**kwargs)
        raise SandboxError(f"Could not start the sandbox container: {exc}") from exc


def remove(container: Any) -> None:
    """Remove the container and its anonymous volumes; already gone is fine."""
    from docker.errors import APIError, NotFound

    try:
        container.remove(force=True, v=True)
    except NotFound:
        pass
    except APIError as exc:
        if "already in progress" not in str(exc):
            log.warning("could not remove sandbox container %s: %s", container.id, exc)


def restart(container: Any) -> None:
    """Restart the container (every process in it dies; the tmpfs workspace is emptied)."""
    from docker.errors import APIError

    try:
        container.restart(timeout=0)
    except APIError as exc:
        raise SandboxError(f"The sandbox container could not be restarted: {exc}") from exc


def is_running(container: Any) -> bool:
    try:
        container.reload()
    except Exception:
        return False
    return bool(container.status == "running")


def processes(client: Any, container_id: str) -> list[tuple[int, int, str]]:
    """(host pid, uid, command line) of every process in the container, seen from outside."""
    top = client.api.top(container_id, ps_args="-o pid,uid,args")
    return [(int(p[0]), int(p[1]), p[2]) for p in top.get("Processes") or []]

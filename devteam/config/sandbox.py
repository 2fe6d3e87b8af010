"""The ``[sandbox]`` table: one settings class per backend, told apart by ``backend``.

``SandboxSettings`` is the discriminated union ``Settings.sandbox`` holds: a table without
``backend`` (or with ``backend = "docker"``) is ``DockerSandboxSettings``, ``backend =
"local"`` is ``LocalSandboxSettings``. Each class has only the keys its backend reads; a docker
key in a local table is still read, checked and then dropped with a FutureWarning (older files
wrote one flat table for both backends).
"""

from __future__ import annotations

import re
import warnings
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

Backend = Literal["docker", "local"]
_SIZE = re.compile(r"^[1-9][0-9]*(\.[0-9]+)?([bkmg]b?)?$", re.IGNORECASE)


class Strict(BaseModel):
    """A settings table: unknown keys are an error, assignments are checked."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def checked_size(value: str) -> str:
    if not _SIZE.match(value.strip()):
        raise ValueError(f"{value!r} is not a size; write a number with k, m or g, e.g. 512m")
    return value.strip()


class _SandboxCommon(Strict):
    """The keys every sandbox backend reads."""

    memory: str = Field(default="512m", description="memory cap (docker syntax: 512m, 1g)")
    workspace_size: str = "256m"
    timeout_s: float = Field(default=120.0, gt=0, description="wall-clock limit per command")
    output_limit: int = Field(
        default=16_000, gt=0, description="bytes kept per output stream (head + tail)"
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="extra variables for every command (host env never is)"
    )

    @classmethod
    def of(cls, settings: DockerSandboxSettings | LocalSandboxSettings | None) -> Self:
        """This backend's settings: given as they are, the keys it shares with the other
        backend's settings (the rest left out), or the defaults."""
        if settings is None:
            return cls()
        if isinstance(settings, cls):
            return settings
        return cls.model_validate(settings.model_dump(include=set(cls.model_fields) - {"backend"}))

    @field_validator("memory", "workspace_size")
    @classmethod
    def _common_size(cls, value: str) -> str:
        return checked_size(value)


class DockerFields(Strict):
    """The keys only the docker backend reads: its container and its image."""

    image: str = "devteam-sandbox:bookworm"
    network: bool = False
    read_only_root: bool = True
    cpus: float = Field(default=1.0, gt=0)
    pids: int = Field(default=128, gt=0)
    tmpfs_size: str = "64m"
    user: str = "1000:1000"
    extra_packages: list[str] = Field(
        default_factory=list, description="extra Debian packages baked into the image"
    )
    build_mode: Literal["auto", "dockerfile", "offline"] = Field(
        default="auto",
        description="image build: Dockerfile (needs a registry), debootstrap, or detect",
    )
    base_image: str = Field(
        default="python:3.12-slim", description="FROM image of the Dockerfile build"
    )
    debian_suite: str = "bookworm"
    debian_mirror: str | None = Field(
        default=None, description="debootstrap mirror (None: its default)"
    )
    prune_on_start: bool = Field(default=True, description="remove containers left by dead owners")

    @field_validator("tmpfs_size")
    @classmethod
    def _docker_size(cls, value: str) -> str:
        return checked_size(value)


class DockerSandboxSettings(DockerFields, _SandboxCommon):
    """What the docker backend reads: a locked-down container. Restrictive by default."""

    backend: Literal["docker"] = "docker"


class LocalSandboxSettings(_SandboxCommon):
    """What the local backend reads: host subprocesses under rlimits (no container)."""

    backend: Literal["local"] = "local"

    @model_validator(mode="before")
    @classmethod
    def _docker_keys(cls, data: Any) -> Any:
        """Docker keys in a local table (a flat table of older files): checked, then dropped
        with a FutureWarning, since the local backend never reads them."""
        if not isinstance(data, dict):
            return data
        docker_only = sorted(set(data) & (set(DockerFields.model_fields)))
        if not docker_only:
            return data
        try:
            DockerFields.model_validate({k: data[k] for k in docker_only})
        except ValidationError as exc:  # named as the table's own key, not DockerFields'
            first = exc.errors()[0]
            key = str(first["loc"][0]) if first["loc"] else docker_only[0]
            raise PydanticCustomError(
                "docker_key", "{reason}", {"field": key, "reason": str(first["msg"])}
            ) from None
        many = len(docker_only) > 1
        warnings.warn(
            f"{', '.join(f'sandbox.{k}' for k in docker_only)} "
            f"{'are' if many else 'is'} read only by the docker backend, and the backend is "
            f"'local': {'they are' if many else 'it is'} ignored. Remove "
            f"{'them' if many else 'it'} from the [sandbox] table (or the DEVTEAM_SANDBOX__* "
            "variable); a table with both backends' keys is deprecated.",
            FutureWarning,
            stacklevel=2,
        )
        return {k: v for k, v in data.items() if k not in docker_only}


def backend_of(value: Any) -> str:
    """The ``backend`` of a sandbox table or settings object; docker when it names none."""
    if isinstance(value, dict):
        return str(value.get("backend", "docker"))
    return str(getattr(value, "backend", "docker"))


#: ``Settings.sandbox``: the chosen backend's own settings, told apart by ``backend``.
SandboxSettings = Annotated[
    Annotated[DockerSandboxSettings, Tag("docker")] | Annotated[LocalSandboxSettings, Tag("local")],
    Discriminator(
        backend_of,
        custom_error_type="sandbox_backend",
        custom_error_message=(
            'backend must be "docker" or "local" (set sandbox.backend, or '
            "DEVTEAM_SANDBOX__BACKEND, to one of them)"
        ),
    ),
]
#: Every key a ``[sandbox]`` table may hold, whatever its backend.
SANDBOX_KEYS = tuple(DockerSandboxSettings.model_fields)

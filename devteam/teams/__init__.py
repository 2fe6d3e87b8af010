"""Team configurations, as data: which roles take part, their prompts, the loop bounds, the gates.

A team file (YAML or TOML) names its roles; each role has a ``kind`` that decides which
phases it takes (``ceo`` plans, checks acceptance and writes the manual; ``coder``
implements; ``tester`` writes tests from the spec and triages failures; ``reviewer``
reviews the diff). Several reviewers may be listed; they review in order. A role's
``prompt`` points at a role YAML file (relative to the team file) to re-prompt it.
Built in: ``default`` (CEO, tester, coder, reviewer) and ``solo`` (one coder that plans
nothing, writes its own tests and fixes them).
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from devteam.errors import ConfigError
from devteam.roles import check_role, load_role, load_role_file

RoleKind = Literal["ceo", "coder", "tester", "reviewer"]
BUILTIN_TEAMS = ("default", "classic", "solo")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleConfig(_Strict):
    """One member of the team."""

    kind: RoleKind
    prompt: Path | None = Field(None, description="role YAML file; default: the built-in one")
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=64, le=32768)


class Bounds(_Strict):
    """How many times each loop may go round. ``None`` takes the run's budget settings."""

    fix_attempts: int | None = Field(None, ge=0, le=50)
    same_failure: int = Field(2, ge=1, le=10, description="repeats of one failure tolerated")
    review_rounds: int = Field(1, ge=0, le=10, description="revisions a reviewer may ask for")
    replans: int = Field(1, ge=0, le=5, description="fresh starts from a new spec when stuck")


class Loop(_Strict):
    """How the team gets to working code.

    ``evidence`` (the default team): candidate 0 is one call on the request as it stands;
    every candidate is run before any model judges it (imports, the request's own
    examples, the tester's property tests, shared inputs); more candidates are sampled and
    chosen by agreement when the evidence is missing or against, and repairs happen only on
    hard evidence. ``repair``: the classic write -> test -> triage -> fix loop (always used
    on an existing repository, where the repository's own tests are the evidence).
    """

    kind: Literal["evidence", "repair"] = "repair"
    samples: int = Field(4, ge=0, le=16, description="candidates drawn per resample round")
    samples_anchored: int = Field(
        2,
        ge=0,
        le=16,
        description="candidates drawn when the request's examples pass and only the "
        "tester's tests disagree (enough for a majority of three)",
    )
    vary_inputs: bool = Field(
        False,
        description="also compare candidates on the request's example calls with one argument "
        "changed (a list reversed, a number plus one): inputs only, never expected values",
    )
    sample_rounds: int = Field(2, ge=0, le=5, description="resample rounds at most")
    sample_temperature: float = Field(0.8, ge=0, le=2)
    parallel: int = Field(4, ge=1, le=16, description="sampling requests in flight at once")
    repairs: int = Field(2, ge=0, le=5, description="repairs on hard evidence at most")
    repair_from: Literal["code", "request"] = Field(
        "code",
        description="a repair shows the coder the failing code and the evidence (code), or "
        "the request and the evidence only, for an answer written afresh (request)",
    )
    plan: Literal["auto", "always", "never"] = Field(
        "auto", description="the CEO's spec: auto = only for requests naming 2+ source files"
    )
    review: Literal["auto", "always", "never"] = Field(
        "auto", description="the reviewers: auto = only for requests naming 2+ source files"
    )


class Gates(_Strict):
    """Human gates (LangGraph interrupts). All off by default, for unattended runs."""

    clarify: bool = False
    approve_spec: bool = False
    approve_delivery: bool = False


class TeamConfig(_Strict):
    name: str = "custom"
    description: str = ""
    roles: dict[str, RoleConfig]
    bounds: Bounds = Bounds()
    loop: Loop = Loop()
    gates: Gates = Gates()
    source: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _one_coder(self) -> TeamConfig:
        kinds = [r.kind for r in self.roles.values()]
        if kinds.count("coder") != 1:
            raise ValueError("a team needs exactly one role of kind 'coder'")
        for kind in ("ceo", "tester"):
            if kinds.count(kind) > 1:
                raise ValueError(f"a team may have at most one role of kind {kind!r}")
        for name in self.roles:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"role name {name!r} must be letters, digits, '_' or '-'")
        return self

    def role(self, kind: RoleKind) -> str | None:
        """The name of the (first) role of ``kind``, or None when the team has none."""
        return next((n for n, r in self.roles.items() if r.kind == kind), None)

    @property
    def reviewers(self) -> list[str]:
        return [n for n, r in self.roles.items() if r.kind == "reviewer"]

    def prompt_path(self, name: str) -> Path | None:
        prompt = self.roles[name].prompt
        if prompt is None:
            return None
        base = self.source.parent if self.source else Path.cwd()
        return prompt if prompt.is_absolute() else base / prompt

    def with_gates(self, **gates: bool) -> TeamConfig:
        return self.model_copy(update={"gates": self.gates.model_copy(update=gates)})


def load_team(spec: str | Path | TeamConfig | None = None) -> TeamConfig:
    """A built-in team by name, a YAML/TOML team file, or an already loaded config."""
    if isinstance(spec, TeamConfig):
        return spec
    if spec is None:
        spec = "default"
    text_spec = str(spec)
    if text_spec in BUILTIN_TEAMS:
        res = resources.files("devteam.teams").joinpath(f"{text_spec}.yaml")
        return _parse(
            res.read_text(encoding="utf-8"), f"built-in team {text_spec!r}", None, ".yaml"
        )
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(
            f"Team {text_spec!r} is neither a built-in team ({', '.join(BUILTIN_TEAMS)}) nor a "
            "team file; give a name or the path of a .yaml/.toml file."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Team file {path} is not a text file (byte {exc.start} is not UTF-8); it must be "
            "YAML or TOML."
        ) from exc
    except OSError as exc:
        raise ConfigError(f"Cannot read team file {path}: {exc.strerror or exc}.") from exc
    return _parse(text, str(path), path.resolve(), path.suffix)


def _parse(text: str, origin: str, source: Path | None, suffix: str) -> TeamConfig:
    try:
        data = tomllib.loads(text) if suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        kind = "TOML" if suffix == ".toml" else "YAML"
        detail = " ".join(str(exc).split())[:300]
        raise ConfigError(f"Team file {origin} is not valid {kind}: {detail}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"Team file {origin} must hold a mapping with a 'roles' table.")
    try:
        team = TeamConfig(**data, source=source)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "team"
        raise ConfigError(f"Team file {origin} is invalid at {where}: {first['msg']}.") from exc
    roles = {}
    for name, role in team.roles.items():
        path = team.prompt_path(name)
        if path is not None and not path.is_file():
            raise ConfigError(
                f"Team file {origin}: role {name!r} names prompt {path}, which does not exist."
            )
        # absolute, so a saved copy of the config (resume) finds the same file
        roles[name] = role.model_copy(update={"prompt": path.resolve() if path else None})
    team = team.model_copy(update={"roles": roles})
    check_prompts(team)
    return team


def check_prompts(team: TeamConfig) -> None:
    """Every role's prompt file parses, is valid Jinja and has the templates its kind needs.

    Run when a team loads (and by ``devteam doctor``), so a broken prompt is found before
    any model call is paid for. A team without a CEO still uses the built-in one for its README.
    """
    for name, role in team.roles.items():
        path = team.prompt_path(name)
        if path is not None:
            check_role(load_role_file(name, path), role.kind, str(path))
        else:
            check_role(load_role(role.kind), role.kind, f"devteam/roles/prompts/{role.kind}.yaml")

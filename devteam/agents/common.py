"""What every node shares: its dependencies, the step wrapper, and the ways a role writes.

Side effects go through the objects in ``Deps`` (model, sandbox, workspace, events), so
tests hand in fakes. Each node is wrapped so that it counts a step, checks the budget,
and records the tokens and time it spent in the state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from devteam.agents.edits import apply_edit, extract_edits, strip_edits
from devteam.agents.hygiene import ensure_test_imports
from devteam.agents.replies import assign_paths, is_test_path, strip_dot
from devteam.agents.state import RunState, Spec
from devteam.config import Settings
from devteam.errors import BudgetExceededError, ModelOutputError, PathEscapeError
from devteam.events import EventBus, FilesWritten, Note, PhaseStarted
from devteam.llm.budget import Budget
from devteam.llm.metered import ChatReply, MeteredModel
from devteam.llm.parsing import extract_files
from devteam.llm.structured import ask_structured
from devteam.roles import Role, load_role, load_role_file, texts
from devteam.sandbox.base import Sandbox
from devteam.teams import RoleKind, TeamConfig
from devteam.workspace import Workspace, provenance

T = TypeVar("T", bound=BaseModel)


@dataclass
class Deps:
    """What the nodes act through. Built by the Team; fakes in tests.

    The model, the sandbox and the workspace are opened by their factories when first used
    (a run answered at a gate may need none of them), once, from any thread.
    """

    events: EventBus
    budget: Budget
    settings: Settings
    team: TeamConfig
    open_model: Callable[[], MeteredModel]
    open_sandbox: Callable[[], Sandbox]
    open_workspace: Callable[[], Workspace]
    prompts_dir: Path | None = None
    _opened: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def _open(self, what: str, factory: Callable[[], Any]) -> Any:
        with self._lock:
            if what not in self._opened:
                self._opened[what] = factory()
            return self._opened[what]

    @property
    def model(self) -> MeteredModel:
        return cast(MeteredModel, self._open("model", self.open_model))

    @property
    def sandbox(self) -> Sandbox:
        return cast(Sandbox, self._open("sandbox", self.open_sandbox))

    @property
    def workspace(self) -> Workspace:
        return cast(Workspace, self._open("workspace", self.open_workspace))

    def name_of(self, kind: RoleKind) -> str:
        """The team's role of ``kind`` (the coder stands in for any that is missing)."""
        return self.team.role(kind) or self.team.role("coder") or "coder"

    def prompt(self, name: str) -> Role:
        """The prompts of role ``name``: its own file if the team names one, else the kind's."""
        path = self.team.prompt_path(name) if name in self.team.roles else None
        if path is not None:
            return load_role_file(name, path)
        kind = self.team.roles[name].kind if name in self.team.roles else name
        return load_role(kind, self.prompts_dir)

    def ask(
        self,
        name: str,
        template: str,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
        reminder: str | None = None,
        seed: int | None = None,
        **variables: Any,
    ) -> ChatReply:
        """One model call as role ``name`` with the role's own sampling settings."""
        conf = self.team.roles.get(name)
        return self.model.complete(
            self.prompt(name).messages(template, reminder=reminder, **variables),
            role=name,
            template=template,
            max_tokens=(conf.max_tokens if conf and conf.max_tokens else max_tokens),
            stop=stop,
            temperature=temperature
            if temperature is not None
            else (conf.temperature if conf else None),
            seed=seed,
        )

    def ask_for(
        self, name: str, template: str, schema: type[T], *, max_tokens: int, **variables: Any
    ) -> T:
        """A structured reply (constrained where the server can, repaired once)."""
        conf = self.team.roles.get(name)
        value, _ = ask_structured(
            self.model,
            self.prompt(name).messages(template, **variables),
            schema,
            role=name,
            template=template,
            max_tokens=(conf.max_tokens if conf and conf.max_tokens else max_tokens),
            repair=lambda error: texts.text("json_repair", error=error),
        )
        return value


#: A node: state and dependencies in, a partial state update out.
NodeFn = Callable[[RunState, Deps], dict[str, Any]]


def node(name: str, kind: RoleKind | str, *, spends: bool = True) -> Callable[[NodeFn], NodeFn]:
    """Wrap a node: emit its phase, count a step, check the budget, record tokens and time."""

    def wrap(fn: NodeFn) -> NodeFn:
        def run(state: RunState, deps: Deps) -> dict[str, Any]:
            role = deps.name_of(kind) if kind in ("ceo", "coder", "tester", "reviewer") else kind
            deps.events.emit(
                PhaseStarted(phase=name, role=role, attempt=state.get("fix_attempts", 0))
            )
            before_p, before_c = deps.budget.prompt_tokens, deps.budget.completion_tokens
            started = time.monotonic()
            try:
                if spends:
                    deps.budget.step()
                    deps.budget.check()
                update = fn(state, deps)
            except BudgetExceededError as exc:
                deps.events.emit(Note(level="warning", text=str(exc)))
                update = {"status": "budget_exhausted", "reason": f"{exc} (during {name})"}
            except ModelOutputError as exc:
                deps.events.emit(Note(level="error", text=str(exc)))
                update = {"status": "error", "reason": str(exc)}
            update.setdefault("phase", name)
            update["prompt_tokens"] = deps.budget.prompt_tokens - before_p
            update["completion_tokens"] = deps.budget.completion_tokens - before_c
            update["elapsed_s"] = time.monotonic() - started
            update["steps"] = 1 if spends else 0
            return update

        run.__name__ = name
        return run

    return wrap


def spec_of(state: RunState) -> Spec:
    return Spec.model_validate(state["spec"])


def modules_of(spec: Spec) -> list[str]:
    return [PurePosixPath(f).with_suffix("").as_posix().replace("/", ".") for f in spec.files]


def holds_files(text: str) -> bool:
    """Whether a reply holds any file or edit block at all (before paths are checked)."""
    return bool(extract_edits(text) or extract_files(strip_edits(text)))


def files_from_reply(
    text: str,
    deps: Deps,
    *,
    sources: list[str],
    test_file: str,
    allowed: Callable[[str], bool],
    modules: list[str] | None = None,
) -> dict[str, str]:
    """The files a reply asks to write: whole files and applied edits, paths checked.

    Paths outside the workspace and paths the role may not write are refused with a note;
    an edit whose search text is not in the file is reported, not guessed.
    """
    out: dict[str, str] = {}
    for edit in extract_edits(text):
        path = strip_dot(edit.path)
        if not _permitted(path, deps, allowed):
            continue
        current = out.get(path) or (
            deps.workspace.read(path) if deps.workspace.exists(path) else ""
        )
        changed = apply_edit(current, edit)
        if changed is None:
            deps.events.emit(
                Note(
                    level="warning",
                    text=f"An edit to {path} was not applied: its SEARCH text is not in the file.",
                )
            )
            continue
        out[path] = changed
    for path, content in assign_paths(
        extract_files(strip_edits(text)), sources, test_file, keep_unsafe=True
    ).items():
        if _permitted(path, deps, allowed):
            out[path] = content
    for path in [p for p in out if is_test_path(p) and p.endswith(".py")]:
        out[path], added = ensure_test_imports(out[path], modules or [])
        if added:
            deps.events.emit(
                Note(text=f"Added the missing import of {', '.join(added)} to {path}.")
            )
    return out


def _permitted(path: str, deps: Deps, allowed: Callable[[str], bool]) -> bool:
    try:
        deps.workspace.resolve(path)
    except PathEscapeError as exc:
        deps.events.emit(Note(level="warning", text=str(exc)))
        return False
    if not allowed(path):
        deps.events.emit(Note(level="warning", text=f"Ignored {path}: not this role's file."))
        return False
    return True


def write_and_commit(
    files: dict[str, str],
    state: RunState,
    deps: Deps,
    *,
    role: str,
    template: str,
    message: str,
) -> str | None:
    """Write ``files``, record their provenance and commit them as ``role``.

    Returns the commit, or None when the files equal what is already there.
    """
    deps.workspace.write_files(files)
    if state.get("mode", "new") == "new":
        provenance.record(
            deps.workspace,
            sorted(files),
            run_id=state["run_id"],
            role=role,
            model=deps.model.name,
            template=f"{deps.prompt(role).name}.{template}",
            template_hash=deps.prompt(role).template_hash,
            step=deps.budget.steps,
        )
    sha = deps.workspace.commit(message, role=role, trailers=trailers(state, deps))
    if sha is None:
        deps.events.emit(
            Note(level="warning", text=f"The {role}'s files are identical to the last version.")
        )
    else:
        deps.events.emit(FilesWritten(role=role, paths=sorted(files), commit=sha))
    return sha


def trailers(state: RunState, deps: Deps, **extra: str) -> dict[str, str]:
    return {
        "Devteam-Run": state["run_id"],
        "Devteam-Model": deps.model.name,
        "Devteam-Step": str(deps.budget.steps),
        **extra,
    }


def merged(known: list[str], new: list[str] | dict[str, str]) -> list[str]:
    return list(dict.fromkeys([*known, *new]))

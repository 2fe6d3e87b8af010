"""PROVENANCE.json in the produced project: for each file, who made it, with what, in which run."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel

from devteam.workspace import Workspace

MANIFEST = "PROVENANCE.json"


class FileOrigin(BaseModel):
    run_id: str
    role: str
    model: str
    template: str
    template_hash: str
    step: int
    sha256: str


def record(
    workspace: Workspace,
    paths: list[str],
    *,
    run_id: str,
    role: str,
    model: str,
    template: str,
    template_hash: str,
    step: int,
) -> None:
    """Update the manifest for ``paths`` (call after writing them, before committing)."""
    manifest = load(workspace)
    for path in paths:
        digest = hashlib.sha256(workspace.resolve(path).read_bytes()).hexdigest()
        manifest[path] = FileOrigin(
            run_id=run_id,
            role=role,
            model=model,
            template=template,
            template_hash=template_hash,
            step=step,
            sha256=digest,
        )
    data = {p: o.model_dump() for p, o in sorted(manifest.items())}
    workspace.write(MANIFEST, json.dumps(data, indent=2) + "\n")


def load(workspace: Workspace) -> dict[str, FileOrigin]:
    if not workspace.exists(MANIFEST):
        return {}
    raw = json.loads(workspace.read(MANIFEST))
    return {path: FileOrigin.model_validate(origin) for path, origin in raw.items()}

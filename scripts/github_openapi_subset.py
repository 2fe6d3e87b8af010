"""Cut the operations the GitHub bot uses out of GitHub's official REST API description.

    npm pack @octokit/openapi@23.0.2 @octokit/openapi-webhooks@12.1.0
    python scripts/github_openapi_subset.py octokit-openapi-23.0.2.tgz \
        tests/github/data/openapi-ops.json.gz
    python scripts/github_openapi_subset.py --webhooks octokit-openapi-webhooks-12.1.0.tgz \
        tests/github/data/openapi-webhooks.json.gz

The input is the npm package ``@octokit/openapi`` as downloaded (``npm pack @octokit/openapi``);
its ``generated/api.github.com.deref.json`` (every ``$ref`` already resolved) is read from the
tarball and, for each operation below, the parameters, request body schema and response
schemas are written unchanged, with the package's version and integrity recorded beside them.
The fake GitHub in ``tests/github`` validates every request and response against this file.

With ``--webhooks``, the input is ``@octokit/openapi-webhooks`` and the output the payload
schemas (``$ref``s resolved) of the webhook events the bot acts on, which the tests' own
payloads are checked against.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

OPERATIONS = [
    "apps/create-installation-access-token",
    "apps/get-repo-installation",
    "issues/create-comment",
    "issues/get",
    "issues/list-comments",
    "issues/list-comments-for-repo",
    "issues/list-events",
    "issues/list-for-repo",
    "issues/update-comment",
    "pulls/create",
    "pulls/list",
    "pulls/update",
    "reactions/create-for-issue",
    "reactions/create-for-issue-comment",
    "repos/get",
    "repos/get-collaborator-permission-level",
]
MEMBER = "package/generated/api.github.com.deref.json"
WEBHOOKS = ["issues-labeled", "issues-opened", "issue-comment-created", "ping"]
WEBHOOKS_MEMBER = "package/generated/api.github.com.json"


def _write(out: Path, text: str) -> None:
    """Write ``text`` to ``out``, gzipped (reproducibly: no name, no time) for a ``.gz`` name."""
    data = text.encode()
    out.write_bytes(gzip.compress(data, mtime=0) if out.suffix == ".gz" else data)


def _deref(node: Any, spec: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, list):
        return [_deref(n, spec, seen) for n in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        if ref in seen:  # a recursive schema: stop here, anything goes
            return {}
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part]
        return _deref(target, spec, (*seen, ref))
    return {k: _deref(v, spec, seen) for k, v in node.items()}


def webhooks(tgz: Path, out: Path) -> None:
    raw = tgz.read_bytes()
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(raw).digest()).decode()
    with tarfile.open(tgz) as tar:
        package = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
        spec = json.load(tar.extractfile(WEBHOOKS_MEMBER))  # type: ignore[arg-type]
    schemas = {}
    for name in WEBHOOKS:
        body = spec["webhooks"][name]["post"]["requestBody"]["content"]["application/json"]
        schemas[name] = _deref(body["schema"], spec)
    _write(
        out,
        json.dumps(
            {
                "source": f"npm {package['name']}@{package['version']} "
                f"({WEBHOOKS_MEMBER.split('/', 1)[1]})",
                "integrity": integrity,
                "webhooks": schemas,
            },
            separators=(",", ":"),
        )
        + "\n",
    )
    print(f"{len(schemas)} webhook schemas, {out.stat().st_size:,} bytes -> {out}")


def main(tgz: Path, out: Path) -> None:
    raw = tgz.read_bytes()
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(raw).digest()).decode()
    with tarfile.open(tgz) as tar:
        package = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
        spec = json.load(tar.extractfile(MEMBER))  # type: ignore[arg-type]
    ops: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") in OPERATIONS:
                ops[op["operationId"]] = {
                    "method": method.upper(),
                    "path": path,
                    "parameters": op.get("parameters", []) + item.get("parameters", []),
                    "requestBody": op.get("requestBody"),
                    "responses": op.get("responses", {}),
                }
    missing = sorted(set(OPERATIONS) - set(ops))
    if missing:
        sys.exit(f"not in the description: {', '.join(missing)}")
    _write(
        out,
        json.dumps(
            {
                "source": f"npm {package['name']}@{package['version']} ({MEMBER.split('/', 1)[1]})",
                "integrity": integrity,
                "openapi": spec["openapi"],
                "operations": dict(sorted(ops.items())),
            },
            separators=(",", ":"),
        )
        + "\n",
    )
    print(f"{len(ops)} operations, {out.stat().st_size:,} bytes -> {out}")


if __name__ == "__main__":
    if sys.argv[1] == "--webhooks":
        webhooks(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main(Path(sys.argv[1]), Path(sys.argv[2]))

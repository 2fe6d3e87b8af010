"""A stateful in-process fake of the GitHub REST API, strict about what it accepts.

Each request must match one of the operations in ``data/openapi-ops.json.gz`` (cut unchanged
from GitHub's official description, npm @octokit/openapi, by scripts/github_openapi_subset.py):
method and path, declared query parameters, and a JSON body valid against the operation's
schema. Each response is built from, and checked against, the operation's response schema.
Anything that does not conform is recorded in ``violations`` (tests assert it stays empty)
and answered 400/500. Every call is recorded in ``calls``; ``fail()`` makes an operation answer
403/404/422/429 next time, and ``delay_s`` makes every answer slow.

Use ``transport`` (httpx.MockTransport) in-process, or ``serve()`` for a real HTTP server on a
loopback port (other processes, e.g. a worker being killed, talk to it over real HTTP).
"""

from __future__ import annotations

import copy
import gzip
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jwt
from jsonschema import Draft4Validator
from pydantic import BaseModel

SPEC_PATH = Path(__file__).parent / "data" / "openapi-ops.json.gz"
NOW = "2026-01-01T00:00:00Z"


def _nullable(schema: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` as JSON Schema (``anyOf`` with null)."""
    if isinstance(schema, list):
        return [_nullable(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _nullable(v) for k, v in schema.items() if k not in ("nullable", "example")}
    if schema.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def instance(schema: dict[str, Any]) -> Any:
    """A minimal value valid against ``schema`` (required properties only)."""
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return instance(schema[key][0])
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(instance(part))
        return merged
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: instance(props.get(k, {"type": "string"})) for k in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "string":
        fmt = schema.get("format")
        return {"date-time": NOW, "uri": "https://example.com/x", "email": "a@example.com"}.get(
            fmt or "", "x"
        )
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    return None


def merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base.get(k), v) if k in base else v
        return out
    return copy.deepcopy(over)


class Op:
    def __init__(self, op_id: str, raw: dict[str, Any]) -> None:
        self.id = op_id
        self.method = raw["method"]
        self.path = raw["path"]
        self.regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", raw["path"]) + "$")
        self.params = {p["name"]: p for p in raw["parameters"]}
        body = (raw.get("requestBody") or {}).get("content", {}).get("application/json")
        self.body = Draft4Validator(_nullable(body["schema"])) if body else None
        self.body_required = bool((raw.get("requestBody") or {}).get("required"))
        self.responses: dict[int, dict[str, Any] | None] = {}
        for code, resp in raw["responses"].items():
            content = (resp.get("content") or {}).get("application/json")
            self.responses[int(code)] = _nullable(content["schema"]) if content else None

    @cache  # noqa: B019 (one Op per operation for the life of the process)
    def skeleton(self, code: int) -> Any:
        schema = self.responses.get(code)
        if schema is None:
            return None
        if schema.get("type") == "array":
            return [instance(schema.get("items", {}))]
        return instance(schema)


@cache
def operations() -> list[Op]:
    spec = json.loads(gzip.decompress(SPEC_PATH.read_bytes()))
    return [Op(k, v) for k, v in spec["operations"].items()]


class Call(BaseModel):
    op: str
    method: str
    path: str
    status: int
    body: Any = None


class Reply(Exception):
    def __init__(self, status: int, data: Any = None) -> None:
        self.status, self.data = status, data


class FakeGitHub:
    def __init__(
        self,
        token: str,
        *,
        login: str = "devteam-bot",
        remotes: Path | None = None,
        app: tuple[int, str] | None = None,
    ) -> None:
        self.token = token
        self.app = app  # (app id, public key PEM): JWTs for the apps/ operations
        self.installation_tokens: dict[str, int] = {}
        self.login = login
        self.remotes = remotes  # bare repos: remotes/owner/name.git (pulls/create checks heads)
        self.repos: dict[str, dict[str, Any]] = {}
        self.permissions: dict[tuple[str, str], str] = {}
        self.issues: dict[tuple[str, int], dict[str, Any]] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.pulls: dict[tuple[str, int], dict[str, Any]] = {}
        self.reactions: list[tuple[str, int, str]] = []
        self.events: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.faults: dict[str, list[int]] = {}
        self.delay_s = 0.0
        self._ids = 1000
        self._lock = threading.RLock()

    # -- set-up --------------------------------------------------------------------------
    def add_repo(self, repo: str, default_branch: str = "main") -> None:
        owner, name = repo.split("/")
        self.repos[repo.lower()] = {
            "full_name": repo,
            "name": name,
            "owner": {"login": owner},
            "default_branch": default_branch,
        }

    def add_issue(
        self, repo: str, number: int, title: str, body: str, user: str = "octocat", **extra: Any
    ) -> dict[str, Any]:
        issue = {
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "user": {"login": user},
            "labels": [],
            **extra,
        }
        self.issues[(repo.lower(), number)] = issue
        return issue

    def add_comment(self, repo: str, issue: int, body: str, user: str) -> int:
        return self._new_comment(repo.lower(), issue, body, user)

    def label(self, repo: str, number: int, name: str, actor: str) -> None:
        """``actor`` puts label ``name`` on the issue (an issue event records who)."""
        issue = self.issues[(repo.lower(), number)]
        issue["labels"].append({"name": name})
        self.events.setdefault((repo.lower(), number), []).append(
            {
                "id": self._next_id(),
                "event": "labeled",
                "actor": {"login": actor},
                "label": {"name": name, "color": "ffffff"},
            }
        )

    def fail(self, op: str, *statuses: int) -> None:
        """The next calls of ``op`` answer these statuses, in order."""
        self.faults.setdefault(op, []).extend(statuses)

    def calls_of(self, op: str) -> list[Call]:
        return [c for c in self.calls if c.op == op]

    def bot_comments(self, repo: str, issue: int) -> list[dict[str, Any]]:
        return [
            c
            for c in self.comments.values()
            if c["repo"] == repo.lower() and c["issue"] == issue and c["user"] == self.login
        ]

    def open_pulls(self, repo: str) -> list[dict[str, Any]]:
        return [p for (r, _), p in self.pulls.items() if r == repo.lower() and p["state"] == "open"]

    # -- the HTTP side -------------------------------------------------------------------
    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.delay_s:
            time.sleep(self.delay_s)
        path = request.url.path
        op, params = self._route(request.method, path)
        with self._lock:
            status, data = self._dispatch(request, op, params)
            if op is not None:
                data = self._checked_response(op, status, data)
            self.calls.append(
                Call(
                    op=op.id if op else "?",
                    method=request.method,
                    path=path,
                    status=status,
                    body=json.loads(request.content) if request.content else None,
                )
            )
        headers = {"retry-after": "1"} if status == 429 else {}
        return httpx.Response(status, json=data, headers=headers)

    def _route(self, method: str, path: str) -> tuple[Op | None, dict[str, str]]:
        found = [
            (op, m.groupdict())
            for op in operations()
            if op.method == method and (m := op.regex.match(path))
        ]
        # a literal segment beats a parameter (issues/comments is not issue "comments")
        return min(found, key=lambda f: len(f[1]), default=(None, {}))

    def _dispatch(
        self, request: httpx.Request, op: Op | None, params: dict[str, str]
    ) -> tuple[int, Any]:
        if op is None:
            self.violations.append(f"{request.method} {request.url.path}: not an operation in use")
            return 404, {"message": "Not Found"}
        if not self._authorized(op, request.headers.get("authorization", "")):
            return 401, {"message": "Bad credentials"}
        for name, value in params.items():
            if op.params[name].get("schema", {}).get("type") == "integer" and not value.isdigit():
                self.violations.append(
                    f"{op.id}: path parameter {name}={value!r} is not an integer"
                )
                return 404, {"message": "Not Found"}
        for name, value in parse_qsl(request.url.query.decode()):
            if name not in op.params or op.params[name].get("in") != "query":
                self.violations.append(f"{op.id}: query parameter {name!r} is not declared")
                return 422, {"message": f"bad parameter {name}"}
            schema = op.params[name].get("schema", {})
            typed: Any = (
                int(value) if schema.get("type") == "integer" and value.isdigit() else value
            )
            if Draft4Validator(_nullable(schema)).is_valid(typed) is False:
                self.violations.append(f"{op.id}: query parameter {name}={value!r} is invalid")
                return 422, {"message": f"bad parameter {name}"}
        body: Any = None
        if request.content:
            try:
                body = json.loads(request.content)
            except ValueError:
                self.violations.append(f"{op.id}: body is not JSON")
                return 400, {"message": "Problems parsing JSON"}
        if op.body is not None and (body is not None or op.body_required):
            errors = sorted(op.body.iter_errors(body), key=str)
            if errors:
                self.violations.append(f"{op.id}: request body: {errors[0].message}")
                return 422, {"message": "Validation Failed"}
        if self.faults.get(op.id):
            status = self.faults[op.id].pop(0)
            return status, {"message": f"injected {status}"}
        try:
            handler = getattr(self, "op_" + op.id.replace("/", "_").replace("-", "_"))
            return handler(params, body or {}, dict(parse_qsl(request.url.query.decode())))
        except Reply as r:
            return r.status, r.data

    def _authorized(self, op: Op, auth: str) -> bool:
        scheme, _, credential = auth.partition(" ")
        if op.id.startswith("apps/"):  # only the App itself, by a JWT signed with its key
            if self.app is None or scheme != "Bearer":
                return False
            try:
                claims = jwt.decode(credential, self.app[1], algorithms=["RS256"])
            except jwt.PyJWTError:
                return False
            return str(claims.get("iss")) == str(self.app[0])
        return scheme in ("token", "Bearer") and (
            credential == self.token or credential in self.installation_tokens
        )

    def _checked_response(self, op: Op, status: int, data: Any) -> Any:
        if status not in op.responses:
            if status not in (401, 403, 429, 500):
                self.violations.append(f"{op.id}: status {status} is not declared")
            return data
        schema = op.responses[status]
        if schema is None:
            return data
        skeleton = op.skeleton(status)
        if isinstance(data, list):
            out: Any = [merge(skeleton[0], item) for item in data]
        elif isinstance(data, dict) and isinstance(skeleton, dict):
            out = merge(skeleton, data)
        else:
            out = data
        errors = sorted(Draft4Validator(schema).iter_errors(out), key=str)
        if errors:
            self.violations.append(f"{op.id}: response {status}: {errors[0].message}")
        return out

    # -- state helpers -------------------------------------------------------------------
    def _repo(self, p: dict[str, str]) -> str:
        repo = f"{p['owner']}/{p['repo']}".lower()
        if repo not in self.repos:
            raise Reply(404, {"message": "Not Found"})
        return repo

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _new_comment(self, repo: str, issue: int, body: str, user: str) -> int:
        cid = self._next_id()
        self.comments[cid] = {
            "id": cid,
            "repo": repo,
            "issue": issue,
            "body": body,
            "user": user,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        return cid

    @staticmethod
    def _comment_json(c: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": c["id"],
            "body": c["body"],
            "user": {"login": c["user"], "type": "Bot" if c["user"].endswith("[bot]") else "User"},
            "issue_url": f"https://api.github.com/repos/{c['repo']}/issues/{c['issue']}",
            "created_at": c["created_at"],
            "updated_at": c["created_at"],
        }

    def _issue(self, repo: str, number: str | int) -> dict[str, Any]:
        issue = self.issues.get((repo, int(number)))
        if issue is None:
            raise Reply(404, {"message": "Not Found"})
        return issue

    # -- operations ----------------------------------------------------------------------
    def op_repos_get(self, p: dict[str, str], body: Any, q: dict[str, str]) -> tuple[int, Any]:
        return 200, self.repos[self._repo(p)]

    def op_repos_get_collaborator_permission_level(
        self, p: dict[str, str], body: Any, q: dict[str, str]
    ) -> tuple[int, Any]:
        repo = self._repo(p)
        perm = self.permissions.get((repo, p["username"].lower()), "read")
        legacy = {"maintain": "write", "triage": "read"}.get(perm, perm)
        return 200, {"permission": legacy, "role_name": perm, "user": {"login": p["username"]}}

    def op_issues_get(self, p: dict[str, str], body: Any, q: dict[str, str]) -> tuple[int, Any]:
        return 200, self._issue(self._repo(p), p["issue_number"])

    def op_issues_list_for_repo(
        self, p: dict[str, str], body: Any, q: dict[str, str]
    ) -> tuple[int, Any]:
        repo = self._repo(p)
        want = set(filter(None, q.get("labels", "").split(",")))
        return 200, [
            i
            for (r, _), i in sorted(self.issues.items())
            if r == repo
            and i["state"] == q.get("state", "open")
            and want <= {lb["name"] for lb in i["labels"]}
        ]

    def op_issues_list_comments(
        self, p: dict[str, str], body: Any, q: dict[str, str]
    ) -> tuple[int, Any]:
        repo = self._repo(p)
        issue = self._issue(repo, p["issue_number"])["number"]
        found = [
            self._comment_json(c)
            for c in self.comments.values()
            if c["repo"] == repo and c["issue"] == issue
        ]
        per, page = int(q.get("per_page", 30)), int(q.get("page", 1))
        return 200, found[(page - 1) * per : page * per]

    def op_issues_list_comments_for_repo(
        self, p: dict[str, str], body: Any, q: dict[str, str]
    ) -> tuple[int, Any]:
        repo = self._repo(p)
        since = q.get("since", "")
        found = [
            self._comment_json(c)
            for c in self.comments.values()
            if c["repo"] == repo and c["created_at"] >= since
        ]
        return 200, found[: int(q.get("per_page", 30))]

    def op_issues_list_events(
        self, p: dict[str, str], body: Any, q: dict[str, str]
    ) -> tuple[int, Any]:
        repo = self._repo(p)
        number = self._issue(repo, p["issue_number"])["number"]
        return 200, self.events.get((repo, number), [])

    def op_issues_create_comment(
        self, p: dict[str, str], body: Any, q: dict[str, str]
    ) -> tuple[int, Any]:
        repo = self._repo(p)
        issue = self._issue(repo, p["issue_number"])["number"]
        cid = self._new_comment(repo, issue, body["body"], self.login)
        return 201, self._comment_json(self.comments[cid])

    def op_issues_update_comment(
        self, p: dict[str, str], body: Any, q: dict[str, str]
    ) -> tuple[int, Any]:
        repo = self._repo(p)
        c = self.comments.get(int(p["comment_id"]))
        if c is None or c["repo"] != repo:
            raise Reply(404, {"message": "Not Found"})
        if c["user"] != self.login:
            raise Reply(403, {"message": "not yours"})
        c["body"] = body["body"]
        return 200, self._comment_json(c)

    def op_reactions_create_for_issue_comment(
        self, p: dict[str, str], body: Any, q: dict[str, str]
    ) -> tuple[int, Any]:
        self._repo(p)
        self.reactions.append((p["repo"], int(p["comment_id"]), body["content"]))
        return 201, {"id": self._next_id(), "content": body["content"], "user": {"login": "x"}}

    def op_reactions_create_for_issue(
        self, p: dict[str, str], body: Any, q: dict[str, str]
    ) -> tuple[int, Any]:
        self._repo(p)
        return 201, {"id": self._next_id(), "content": body["content"]}

    def _pull_json(self, pr: dict[str, Any]) -> dict[str, Any]:
        return {
            "number": pr["number"],
            "title": pr["title"],
            "body": pr["body"],
            "state": pr["state"],
            "draft": pr["draft"],
            "head": {"ref": pr["head"], "label": pr["head_label"]},
            "base": {"ref": pr["base"]},
        }

    def op_pulls_list(self, p: dict[str, str], body: Any, q: dict[str, str]) -> tuple[int, Any]:
        repo = self._repo(p)
        return 200, [
            self._pull_json(pr)
            for (r, _), pr in sorted(self.pulls.items())
            if r == repo
            and pr["state"] == q.get("state", "open")
            and ("head" not in q or pr["head_label"] == q["head"])
        ]

    def _branch_exists(self, repo: str, branch: str) -> bool:
        if self.remotes is None:
            return True
        git_dir = self.remotes / f"{repo}.git"
        return (
            subprocess.run(
                ["git", "--git-dir", str(git_dir), "rev-parse", "--verify", f"refs/heads/{branch}"],
                capture_output=True,
            ).returncode
            == 0
        )

    def op_pulls_create(self, p: dict[str, str], body: Any, q: dict[str, str]) -> tuple[int, Any]:
        repo = self._repo(p)
        owner = self.repos[repo]["owner"]["login"]
        head = body["head"].split(":")[-1]
        label = f"{owner}:{head}"
        if any(pr["head_label"] == label and pr["state"] == "open" for pr in self.open_pulls(repo)):
            raise Reply(422, {"message": "A pull request already exists"})
        if not self._branch_exists(repo, head):
            raise Reply(422, {"message": f"head {head} does not exist"})
        number = max([n for (_, n) in self.issues] + [n for (_, n) in self.pulls] + [0]) + 1
        pr = {
            "number": number,
            "title": body["title"],
            "body": body.get("body"),
            "state": "open",
            "draft": bool(body.get("draft")),
            "head": head,
            "head_label": label,
            "base": body["base"],
        }
        self.pulls[(repo, number)] = pr
        return 201, self._pull_json(pr)

    def op_pulls_update(self, p: dict[str, str], body: Any, q: dict[str, str]) -> tuple[int, Any]:
        repo = self._repo(p)
        pr = self.pulls.get((repo, int(p["pull_number"])))
        if pr is None:
            raise Reply(404, {"message": "Not Found"})
        pr.update({k: v for k, v in body.items() if k in ("title", "body", "state")})
        return 200, self._pull_json(pr)

    def op_apps_create_installation_access_token(
        self, p: dict[str, str], body: Any, q: dict[str, str]
    ) -> tuple[int, Any]:
        token = f"ghs_installation_{self._next_id()}"
        self.installation_tokens[token] = int(p["installation_id"])
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        return 201, {"token": token, "expires_at": expires}

    def op_apps_get_repo_installation(
        self, p: dict[str, str], body: Any, q: dict[str, str]
    ) -> tuple[int, Any]:
        self._repo(p)
        return 200, {"id": 1}

    # -- a real HTTP server ----------------------------------------------------------------
    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve this fake on a free loopback port; yields its base URL."""
        import socket

        import uvicorn

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return
            body = b""
            while True:
                msg = await receive()
                body += msg.get("body", b"")
                if not msg.get("more_body"):
                    break
            url = httpx.URL(
                scheme="http",
                host="127.0.0.1",
                path=scope["path"],
                query=scope.get("query_string", b""),
            )
            headers = [(k.decode(), v.decode()) for k, v in scope["headers"]]
            resp = self.handle(httpx.Request(scope["method"], url, headers=headers, content=body))
            await send(
                {
                    "type": "http.response.start",
                    "status": resp.status_code,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": resp.content})

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(10)
            sock.close()

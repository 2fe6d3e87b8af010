"""``devteam doctor`` when something is missing: the one command that fixes it, exit 5.

Docker is pointed at a socket that does not exist, so no engine is needed here; the test
with everything present is tests/integration/test_doctor_all_well.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devteam import cli, doctor
from devteam.config import Settings
from devteam.exit_codes import ExitCode
from devteam.llm.embedded import get_model

MODEL = "qwen2.5-coder-1.5b"  # the default embedded model


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder as the current one and as the model cache; no Docker engine."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEVTEAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    for var in ("DEVTEAM_BASE_URL", "DEVTEAM_TEAM", "DEVTEAM_CONFIG", "DEVTEAM_MODEL_FILE"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def lines_of(output: str, name: str) -> tuple[str, str]:
    """The check's line and the fix line under it."""
    lines = output.splitlines()
    (i,) = [n for n, line in enumerate(lines) if line.split(":")[0].split()[-1:] == [name]]
    return lines[i], lines[i + 1] if i + 1 < len(lines) else ""


def doctor_output() -> tuple[int, str]:
    res = CliRunner().invoke(cli.app, ["doctor"])
    assert "Traceback" not in res.output
    return res.exit_code, res.output


def test_an_empty_model_folder_says_fetch(home: Path) -> None:
    (home / "cache").mkdir()
    code, out = doctor_output()
    assert code == ExitCode.INFRASTRUCTURE == 5
    line, fix = lines_of(out, "model")
    assert line.startswith("fail model") and "not in the cache" in line
    assert fix.strip() == f"fix: devteam models fetch {MODEL}"
    line, fix = lines_of(out, "docker")
    assert line.startswith("fail docker") and "nonexistent.sock" in line
    assert fix.strip() == f"fix: {doctor.start_docker_command()}"
    assert not any(ln.split(":")[0].endswith(" image") for ln in out.splitlines())  # not asked
    assert "2 problem(s)" in out


def test_a_model_file_with_the_wrong_hash_says_fetch_verify(home: Path) -> None:
    m = get_model(MODEL)
    models = home / "cache" / "models"
    models.mkdir(parents=True)
    with (models / m.filename).open("wb") as fh:  # the right size, a sparse file of zeros
        fh.truncate(m.size)
    (models / f"{m.filename}.sha256").write_text(f"{'0' * 64}  {m.filename}\n")
    result = doctor.check_model(Settings())
    assert result.failed and m.sha256[:12] in result.detail
    assert result.fix == f"devteam models fetch --verify {MODEL}"
    # with the catalogue's hash in its record the file passes, until it is re-hashed
    (models / f"{m.filename}.sha256").write_text(f"{m.sha256}  {m.filename}\n")
    assert doctor.check_model(Settings()).status == "ok"


def test_a_bad_team_file_says_how_to_get_a_working_team(home: Path) -> None:
    (home / "team.yaml").write_text("name: mine\nroles: [this is not a mapping\n")
    (home / "devteam.toml").write_text('team = "team.yaml"\n')
    code, out = doctor_output()
    assert code == 5
    line, fix = lines_of(out, "team")
    assert line.startswith("fail team") and "team.yaml" in line
    assert fix.strip().startswith("fix: export DEVTEAM_TEAM=default")


class _Models(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        allowed = self.headers.get("Authorization") == "Bearer right"
        body = b'{"data": [{"id": "m"}]}' if allowed else b'{"error": "bad key"}'
        self.send_response(200 if allowed else 401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_an_unreachable_endpoint_and_a_refused_key(
    home: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVTEAM_BASE_URL", "http://127.0.0.1:9/v1")
    code, out = doctor_output()
    assert code == 5
    line, fix = lines_of(out, "endpoint")
    assert line.startswith("fail endpoint") and "127.0.0.1:9" in line
    assert fix.strip().startswith("fix: unset DEVTEAM_BASE_URL")
    assert "note model: not needed" in out  # an endpoint serves the model

    monkeypatch.setenv("DEVTEAM_BASE_URL", endpoint)
    monkeypatch.setenv("DEVTEAM_API_KEY", "wrong")
    refused = doctor.check_endpoint(Settings())
    assert refused.failed and "HTTP 401" in refused.detail
    assert refused.fix is not None and refused.fix.startswith("export DEVTEAM_API_KEY=")
    monkeypatch.setenv("DEVTEAM_API_KEY", "right")
    assert doctor.check_endpoint(Settings()).status == "ok"


def test_too_little_disk_space(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "MIN_FREE_BYTES", 1 << 62)
    result = doctor.check_disk(Settings(state_dir=home / "not" / "made" / "yet"))
    assert result.failed and "GiB free" in result.detail
    assert result.fix == "export DEVTEAM_STATE_DIR=/a/folder/with/space"
    monkeypatch.setattr(doctor, "MIN_FREE_BYTES", 1)
    assert doctor.check_disk(Settings(state_dir=home)).status == "ok"


def test_bad_settings_are_bad_input_not_missing_infrastructure(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVTEAM_BUDGET__MAX_RUN_TOKENS", "many")
    code, out = doctor_output()
    assert code == ExitCode.BAD_INPUT
    assert "fail settings" in out and "max_run_tokens" in out


def test_a_checkpoint_store_that_does_not_open(home: Path) -> None:
    down = doctor.check_checkpoints(Settings(checkpointer="postgresql://me:pw@127.0.0.1:9/runs"))
    assert down.failed and "pw" not in down.detail
    assert down.fix is not None and down.fix.startswith("export DEVTEAM_CHECKPOINTER=sqlite")
    unknown = doctor.check_checkpoints(Settings(checkpointer="mysql"))
    assert unknown.failed and unknown.fix is not None and "DEVTEAM_CHECKPOINTER" in unknown.fix

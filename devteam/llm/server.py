"""Run llama-cpp-python's OpenAI-compatible server on a loopback port for one run.

``with EmbeddedServer(path, log_path=...) as server:`` starts the server in its own process
group, waits until ``GET /v1/models`` answers, and always stops it on exit. Clients talk to
``server.base_url`` exactly as they would to any OpenAI-compatible endpoint.

Structured output: this server honours ``response_format={"type": "json_object"}`` (any JSON)
and ``{"type": "json_object", "schema": {...}}`` (JSON constrained by a grammar built from
the schema). It rejects OpenAI's ``{"type": "json_schema", ...}`` with HTTP 500.

Prompt reuse: the server always reuses the KV cache for the longest prefix shared with the
previous request. With ``prompt_cache`` (on by default) it also keeps the states of earlier
prompts in RAM, so roles that alternate between different system prompts still hit: about
0.6 s per call to save the state, against 13-17 s to re-read a 650-token prompt (0.5B, 2 cores).
The server runs through ``devteam.llm.llama_server``, which makes ``prompt_cache_bytes`` bound
what the cache really holds (llama-cpp-python's own count leaves out a 311 MB logits copy per
entry; see that module).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from typing import IO

from devteam.config import Settings
from devteam.errors import ModelError, ModelUnavailableError
from devteam.lifecycle import Lifecycle
from devteam.llm.embedded import Progress, resolve_model_file

__all__ = ["EmbeddedServer", "free_port", "llama_cpp_available"]

#: What each server process runs: llama-cpp-python's server with a bounded prompt cache.
SERVER_MODULE = "devteam.llm.llama_server"

MISSING_LLAMA_CPP = (
    "The embedded model needs llama-cpp-python: pip install 'devteam[local]' "
    "(or set DEVTEAM_BASE_URL to use a model server you run)."
)


def llama_cpp_available() -> bool:
    return (
        importlib.util.find_spec("llama_cpp") is not None
        and importlib.util.find_spec("uvicorn") is not None
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the server start retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGKILL it when devteam dies, however devteam dies.

    SIGKILL, not SIGTERM: on SIGTERM the server shuts down gracefully, which means it first
    finishes the generation in progress (tens of seconds) for a client that is gone.
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


class EmbeddedServer(Lifecycle):
    """A llama-cpp-python server process serving one GGUF model on 127.0.0.1."""

    host = "127.0.0.1"

    def __init__(
        self,
        model_path: Path,
        *,
        log_path: Path,
        model_name: str | None = None,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        startup_timeout_s: float = 120.0,
        prompt_cache: bool = True,
        prompt_cache_bytes: int = 1 << 30,
        seed: int | None = 0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.model_path = Path(model_path)
        self.log_path = Path(log_path)
        self.model_name = model_name or self.model_path.stem
        self.n_ctx = n_ctx
        self.n_threads = n_threads or _default_threads()
        self.startup_timeout_s = startup_timeout_s
        self.prompt_cache = prompt_cache
        self.prompt_cache_bytes = prompt_cache_bytes
        self.seed = seed
        self.extra_args = extra_args
        self.port: int | None = None
        self.startup_s: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, log_path: Path, progress: Progress | None = None
    ) -> EmbeddedServer:
        """The server for ``settings``: the user's ``model_file`` or the fetched embedded model."""
        path = resolve_model_file(settings, progress)
        name = settings.model or (
            path.stem if settings.model_file is not None else settings.embedded_model
        )
        return cls(
            path,
            log_path=log_path,
            model_name=name,
            n_ctx=settings.context_tokens,
            seed=settings.seed,
        )

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise ModelError("The embedded model server is not running; start it first.")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def command(self, port: int) -> list[str]:
        cmd = [
            sys.executable, "-m", SERVER_MODULE,
            "--model", str(self.model_path),
            "--model_alias", self.model_name,
            "--host", self.host,
            "--port", str(port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads),
            "--n_threads_batch", str(self.n_threads),
            # The default (True) allocates n_ctx x n_vocab floats: ~5 GB at 8k for Qwen.
            "--logits_all", "False",
            "--use_mlock", "False",
            "--cache", str(self.prompt_cache),
        ]  # fmt: skip
        if self.prompt_cache:
            cmd += ["--cache_size", str(self.prompt_cache_bytes)]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        return cmd + list(self.extra_args)

    def start(self) -> None:
        if self.is_running():
            return
        if not llama_cpp_available():
            raise ModelError(MISSING_LLAMA_CPP)
        if not self.model_path.is_file():
            raise ModelError(
                f"The model file {self.model_path} does not exist; run `devteam models fetch` "
                "or fix DEVTEAM_MODEL_FILE."
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        for attempt in range(3):
            try:
                self._launch(free_port(self.host))
                self._wait_ready()
            except _PortTaken:
                self.stop()
                if attempt == 2:
                    raise ModelUnavailableError(
                        "The embedded model server found no free loopback port in 3 tries; "
                        f"see {self.log_path}."
                    ) from None
                continue
            except BaseException:
                self.stop()
                raise
            self.startup_s = time.monotonic() - t0
            return

    def _launch(self, port: int) -> None:
        self._log = self.log_path.open("ab")
        self._log.write(f"$ {' '.join(self.command(port))}\n".encode())
        self._log.flush()
        self.port = port
        self._proc = subprocess.Popen(
            self.command(port),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole
            preexec_fn=_die_with_parent,
        )

    def _wait_ready(self) -> None:
        assert self._proc is not None
        url = f"http://{self.host}:{self.port}/v1/models"
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            code = self._proc.poll()
            if code is not None:
                tail = self._log_tail()
                if "address already in use" in tail.lower():
                    raise _PortTaken
                raise ModelError(
                    f"The embedded model server exited with code {code} while starting "
                    f"(log {self.log_path}): {tail}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise ModelUnavailableError(
                    f"The embedded model server did not answer within {self.startup_timeout_s:.0f}"
                    f" s (log {self.log_path}); raise the start timeout or use a smaller model."
                )
            time.sleep(0.2)

    def _log_tail(self, lines: int = 8) -> str:
        try:
            with self.log_path.open("rb") as fh:
                tail = deque(fh, maxlen=lines)
        except OSError:
            return "(no log)"
        return " | ".join(b.decode("utf-8", "replace").strip() for b in tail if b.strip())

    def stop(self, timeout_s: float = 10.0) -> None:
        """Terminate the server's process group; kill it if it lingers. Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                self._signal(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    self._signal(proc, signal.SIGKILL)
                    proc.wait(timeout=timeout_s)
            # Children left in the group (none expected) go too.
            self._signal(proc, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
        self.port = None

    @staticmethod
    def _signal(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)


class _PortTaken(Exception):
    pass

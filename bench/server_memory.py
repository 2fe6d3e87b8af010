"""Resident memory of the embedded model server as its prompt cache fills.

    python -m bench.server_memory --model qwen2.5-coder-0.5b --requests 12

Sends ``--requests`` different prompts of about 700 tokens (16 tokens generated each) to one
server and prints the server's resident memory (RSS, from /proc) after each. ``--entry stock``
runs ``llama_cpp.server`` as shipped; ``--entry measured`` (the default, what devteam runs)
counts each cache entry's logits copy against ``--cache-bytes``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devteam.config import load_settings
from devteam.llm.embedded import ensure_model
from devteam.llm.server import STOCK_MODULE, EmbeddedServer

WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def prompt(i: int) -> str:
    body = " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] + str(j) for j in range(300))
    return f"Request {i}. Summarise in one line: {body}"


def ask(base_url: str, model: str, text: str) -> int:
    payload = {
        "model": model,
        "messages": [{"role": "user", "content": text}],
        "max_tokens": 16,
        "temperature": 0,
    }
    req = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=600) as resp:
        return int(json.load(resp)["usage"]["prompt_tokens"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--requests", type=int, default=12)
    ap.add_argument("--entry", choices=["measured", "stock"], default="measured")
    ap.add_argument("--cache-bytes", type=int, default=1 << 30)
    args = ap.parse_args(argv)
    settings = load_settings()
    path = ensure_model(args.model, settings.cache_dir)
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedServer(
            path,
            log_path=Path(tmp) / "server.log",
            model_name=args.model,
            prompt_cache_bytes=args.cache_bytes,
            module=STOCK_MODULE if args.entry == "stock" else None,
        )
        with server:
            assert server.pid is not None and server.base_url
            print(f"entry {args.entry}, cache cap {args.cache_bytes / 2**20:.0f} MiB, {args.model}")
            print(f"after start: RSS {rss_mb(server.pid):,.0f} MB")
            print("| request | prompt tokens | seconds | server RSS MB |")
            print("| ---: | ---: | ---: | ---: |")
            peak = 0.0
            for i in range(args.requests):
                t0 = time.monotonic()
                tokens = ask(server.base_url, args.model, prompt(i))
                rss = rss_mb(server.pid)
                peak = max(peak, rss)
                print(f"| {i + 1} | {tokens} | {time.monotonic() - t0:.1f} | {rss:,.0f} |")
            print(f"peak RSS {peak:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

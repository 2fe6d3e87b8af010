"""Several runs from an asyncio program with ``Team.arun``.

Each run gets its own sandbox. With DEVTEAM_BASE_URL pointing at a server that batches
(vLLM, SGLang) they run at once against it; with the embedded model (one server per run,
CPU-bound) they run one after another.

python examples/async_runs.py
"""

import asyncio
import sys

from devteam import RunResult, Team, load_settings

TASKS = [
    "Write a Python module temps.py with c_to_f(c) and f_to_c(f) (floats, 2 decimals)",
    "Write a Python module vowels.py with count_vowels(text) counting a, e, i, o, u in any case",
]


async def main() -> int:
    settings = load_settings()
    team = Team(settings)
    at_once = asyncio.Semaphore(1 if settings.uses_embedded_model else len(TASKS))

    async def one(task: str) -> RunResult:
        async with at_once:
            return await team.arun(task)

    results = await asyncio.gather(*(one(task) for task in TASKS))
    for result in results:
        print(f"{result.status:>8}  {result.tokens:>6} tokens  {result.workspace}")
    return 0 if all(r.ok for r in results) else 2


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

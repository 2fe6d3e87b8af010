"""One job: a trigger from a user with write access becomes one draft PR and one comment.

``handle_trigger`` checks the sender's permission (nothing visible happens before), the daily
budget and whether a run of the issue is already active, then opens a run in the ledger.
``execute`` claims the run under a lease, posts (or finds) the status comment, checks out the
repository fresh, runs the team in incremental mode (``Team.run(task, repo=...)``, or
``Team.resume`` when the run was started by a worker that died), pushes ``devteam/issue-N``,
opens or updates one draft PR, and edits the status comment into the final report.
Every side effect can be repeated safely: the comment is found again by its run tag, the PR by
its head branch, and the push is of the bot's own branch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devteam.config import Settings
from devteam.errors import DevteamError
from devteam.github import gitops, texts
from devteam.github.api import GitHubAPI
from devteam.github.ledger import Ledger, Run
from devteam.github.settings import BotSettings, team_settings
from devteam.github.triggers import Trigger
from devteam.team import RunResult, Team

log = logging.getLogger("devteam.bot")

TeamFactory = Callable[[Settings, list[Any]], Team]
ApiFactory = Callable[[int | None], GitHubAPI]
DAY_S = 86_400.0
MAX_ATTEMPTS = 3  # claims of one run (each after its worker died) before it is given up


class Cancelled(BaseException):
    """A maintainer commented ``/devteam stop``.

    Raised from an event sink, so it derives from BaseException (like asyncio's
    CancelledError): the team's event bus keeps a run going when a sink fails with an
    Exception, and this must stop it.
    """


class LeaseLost(BaseException):
    """Another worker took the run over (this one was too slow to renew its lease)."""


def default_team(settings: Settings, sinks: list[Any]) -> Team:
    return Team(settings, sinks=sinks)


@dataclass
class BotContext:
    settings: Settings
    bot: BotSettings
    ledger: Ledger
    api: ApiFactory
    team: TeamFactory = default_team
    worker: str = "worker"


def run_tag(pk: int) -> str:
    return f"<!-- devteam:run={pk} -->"


def handle_trigger(ctx: BotContext, trigger: Trigger) -> Run | None:
    """Check, then open (and run) the job; None when nothing was started."""
    api = ctx.api(trigger.installation_id)
    if not api.can_write(trigger.repo, trigger.sender):
        log.info(
            "%s#%d: %s has no write access; ignored", trigger.repo, trigger.issue, trigger.sender
        )
        return None
    if trigger.comment_id is not None:
        api.react(trigger.repo, trigger.comment_id, "eyes")
    if trigger.kind == "stop":
        active = ctx.ledger.request_cancel(trigger.repo, trigger.issue)
        api.comment(
            trigger.repo,
            trigger.issue,
            texts.render("stopping", run=active.id if active else None, sender=trigger.sender),
        )
        return None
    runs, tokens = ctx.ledger.usage_since(trigger.repo, time.time() - DAY_S)
    if runs >= ctx.bot.jobs_per_repo_per_day or tokens >= ctx.bot.tokens_per_repo_per_day:
        api.comment(
            trigger.repo, trigger.issue, texts.render("over_budget", jobs=runs, tokens=tokens)
        )
        return None
    run, new = ctx.ledger.open_run(
        trigger.repo, trigger.issue, trigger.kind, trigger.sender, trigger.installation_id
    )
    if not new:
        api.comment(
            trigger.repo, trigger.issue, texts.render("busy", run=run.id, command=ctx.bot.command)
        )
        return None
    return run


class _Watch:
    """A sink on the team's events: renews the lease and stops the run when asked to."""

    def __init__(self, ctx: BotContext, pk: int) -> None:
        self.ctx, self.pk = ctx, pk
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{pk}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(max(0.2, self.ctx.bot.lease_s / 3)):
            if not self.ctx.ledger.heartbeat(self.pk, self.ctx.worker):
                self.lost = True
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def __call__(self, _event: Any) -> None:
        if self.lost:
            raise LeaseLost
        run = self.ctx.ledger.get(self.pk)
        if run is not None and run.cancel:
            raise Cancelled


def execute(ctx: BotContext, pk: int) -> Run | None:
    """Run the job of run ``pk`` if this worker can claim it; the run's final row."""
    run = ctx.ledger.claim(pk, ctx.worker, ctx.bot.lease_s)
    if run is None:
        return ctx.ledger.get(pk)
    watch = _Watch(ctx, pk)
    api: GitHubAPI | None = None
    try:
        api = ctx.api(run.installation)
        comment_id = _status_comment(ctx, api, run)
        if run.cancel:  # stopped while it waited in the queue
            raise Cancelled
        if run.attempts > MAX_ATTEMPTS:
            raise DevteamError(
                f"The job was started {MAX_ATTEMPTS} times and its worker died each time; "
                "see the workers' logs, then label the issue again."
            )
        state, outcome, pr = _work(ctx, api, run, comment_id, watch)
    except LeaseLost:
        log.warning("run %d: lease lost; another worker has it", pk)
        return ctx.ledger.get(pk)
    except Cancelled:
        state, outcome, pr = "cancelled", "stopped by a maintainer", None
        _final(api, run, ctx, headline="stopped", details="Stopped on request; nothing pushed.")
    except DevteamError as exc:
        log.error("run %d failed: %s", pk, exc)
        state, outcome, pr = "failed", str(exc), None
        _final(api, run, ctx, headline="could not finish", details=str(exc))
    except Exception as exc:  # a bug must end the job honestly, not retry it forever
        log.exception("run %d failed", pk)
        state, outcome, pr = "failed", f"internal error ({type(exc).__name__})", None
        _final(
            api,
            run,
            ctx,
            headline="could not finish",
            details=f"An internal error ({type(exc).__name__}) stopped the job; "
            "the bot's log has the details.",
        )
    finally:
        watch.close()
    ctx.ledger.update(pk, ctx.worker, state=state, outcome=outcome, pr_number=pr)
    return ctx.ledger.get(pk)


def _status_comment(ctx: BotContext, api: GitHubAPI, run: Run) -> int:
    """The run's one status comment: recorded, found again by its tag, or posted now."""
    if run.comment_id is not None:
        return run.comment_id
    tag = run_tag(run.id)
    for c in api.comments(run.repo, run.issue):
        if tag in (c.get("body") or ""):
            cid = int(c["id"])
            break
    else:
        body = texts.render("working", run=run.id, sender=run.sender, command=ctx.bot.command)
        cid = api.comment(run.repo, run.issue, f"{body}\n{tag}")
    ctx.ledger.update(run.id, ctx.worker, comment_id=cid)
    return cid


def _final(api: GitHubAPI | None, run: Run, ctx: BotContext, **values: Any) -> None:
    fresh = ctx.ledger.get(run.id)
    if api is None or fresh is None or fresh.comment_id is None:
        return
    day_runs, day_tokens = ctx.ledger.usage_since(run.repo, time.time() - DAY_S)
    defaults: dict[str, Any] = {
        "run": run.id,
        "verdict": "not run",
        "files": "none",
        "tokens": fresh.tokens,
        "seconds": 0,
        "tried": "",
        "day_runs": day_runs,
        "day_tokens": day_tokens,
    }
    body = texts.render("final", **{**defaults, **values})
    try:
        api.edit_comment(run.repo, fresh.comment_id, f"{body}\n{run_tag(run.id)}")
    except DevteamError as exc:
        log.error("run %d: the final comment could not be written: %s", run.id, exc)


def _verdict(result: RunResult) -> str:
    if result.tests_passed:
        return "the repository's tests pass in the sandbox"
    if result.tests_passed is None:
        return "the tests did not run"
    failing = ", ".join(f"`{t}`" for t in result.failing_tests[:5]) or "see the run's log"
    return f"tests FAIL in the sandbox ({failing})"


def _work(
    ctx: BotContext, api: GitHubAPI, run: Run, comment_id: int, watch: _Watch
) -> tuple[str, str, int | None]:
    settings = team_settings(ctx.settings, ctx.bot)
    info = api.repository(run.repo)
    base = str(info.get("default_branch") or "main")
    issue = api.issue(run.repo, run.issue)
    clone = ctx.bot.state_dir / "work" / run.repo / f"issue-{run.issue}"
    team = ctx.team(settings, [watch])
    resumable = run.run_id is not None and (settings.run_dir(run.run_id) / "run.json").is_file()
    if run.run_id is not None and resumable:
        log.info("run %d: resuming team run %s from its checkpoint", run.id, run.run_id)
        result = team.resume(run.run_id)
    else:
        # A run started on another machine, whose state folder is not shared with this one,
        # cannot resume here: it starts over under a new id (its checkpoints stay apart).
        run_id = f"{run.repo.split('/')[1]}-issue-{run.issue}-r{run.id}"
        if run.run_id is not None:
            run_id = f"{run_id}-a{run.attempts}"
            log.warning("run %d: %s is not on this machine; starting over", run.id, run.run_id)
        ctx.ledger.update(run.id, ctx.worker, run_id=run_id)
        gitops.fresh_checkout(ctx.bot.clone_url(run.repo), clone, base, api.push_token())
        task = texts.task_for(run.repo, issue, api.comments(run.repo, run.issue), ctx.bot.login)
        result = team.run(task, run_id=run_id, repo=clone)
    ctx.ledger.update(run.id, ctx.worker, tokens=result.tokens)
    if watch.lost:
        raise LeaseLost
    return _deliver(ctx, api, run, issue, base, clone, result)


def _deliver(
    ctx: BotContext,
    api: GitHubAPI,
    run: Run,
    issue: dict[str, Any],
    base: str,
    clone: Path,
    result: RunResult,
) -> tuple[str, str, int | None]:
    assert result.branch is not None
    files = gitops.changed_paths(clone, f"origin/{base}", result.branch)
    common: dict[str, Any] = {
        "verdict": _verdict(result),
        "files": ", ".join(f"`{f}`" for f in files[:20]) or "none",
        "tokens": result.tokens,
        "seconds": round(result.duration_s),
        "tried": f"{result.fix_attempts} fix round(s); the run ended {result.status}: "
        f"{result.reason}",
    }
    workflows = gitops.touches_workflows(files)
    if workflows and not ctx.bot.allow_workflow_changes:
        _final(
            api,
            run,
            ctx,
            headline="refused to push",
            details="The change touches CI workflows ("
            + ", ".join(workflows)
            + "), which the bot may not change (bot.allow_workflow_changes is off).",
            **common,
        )
        return "refused", "workflow changes refused", None
    if not files:
        _final(api, run, ctx, headline="no change", details="The team changed no file.", **common)
        return "failed", "no change", None
    if not result.tests_passed and not ctx.bot.pr_on_failure:
        _final(
            api,
            run,
            ctx,
            headline="no pull request: the tests fail",
            details="Nothing was pushed (set bot.pr_on_failure to get a draft anyway).",
            **common,
        )
        return "failed", "tests fail", None
    remote_branch = f"devteam/issue-{run.issue}"
    gitops.push(clone, result.branch, remote_branch, api.push_token())
    spec = result.spec or {}
    body = texts.render(
        "pr_body",
        number=run.issue,
        run=run.id,
        goal=texts.clean(str(spec.get("goal", "")), 2000),
        requirements=[texts.clean(str(r), 500) for r in spec.get("requirements", [])][:10],
        files=files[:50],
        verdict=common["verdict"],
        tokens=result.tokens,
        seconds=round(result.duration_s),
        model=result.model or "?",
    )
    title = texts.pr_title(str(issue.get("title", "")))
    existing = api.find_pull(run.repo, remote_branch)
    if existing is not None:
        number = int(existing["number"])
        api.update_pull(run.repo, number, title=title, body=body)
    else:
        number = api.open_pull(run.repo, head=remote_branch, base=base, title=title, body=body)
    _final(
        api,
        run,
        ctx,
        headline=f"draft pull request #{number}",
        details=f"Branch `{remote_branch}`, draft PR #{number}; a maintainer reviews it.",
        **common,
    )
    return ("done" if result.tests_passed else "failed"), f"PR #{number}", number

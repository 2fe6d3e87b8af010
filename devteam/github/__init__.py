"""The GitHub issue bot: a maintainer labels an issue (or comments ``/devteam``), devteam
answers with a draft pull request and one status comment.

Modules: ``settings`` (the ``[bot]`` section), ``signature`` (X-Hub-Signature-256),
``payloads`` (the few webhook fields we read), ``ledger`` (deliveries and runs), ``receiver``
(the Starlette webhook app), ``triggers`` (which events start a job), ``api`` (REST calls
through githubkit), ``request`` (issue text -> task), ``gitops`` (clone, fetch, push),
``job`` (one issue -> one PR), ``worker`` (the durable queue), ``poll`` (no webhook).
The bot drives the team only through the public API (``devteam.Team``).
"""

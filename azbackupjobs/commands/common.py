"""Wiring shared by the vault commands: options -> context, output, token provider, client.

Validation happens in an order that refuses bad input before any request: output format and
query first, then the job reference and context (names, endpoint security), then credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from azbackupjobs.arm import auth, settings
from azbackupjobs.model import ids
from azbackupjobs.view.output import Environment, Output, Query, resolve_format

if TYPE_CHECKING:  # requests stays off the paths that only need CommonOptions (config show)
    from azbackupjobs.arm.client import BackupJobsClient, RetryNotice, RetryPolicy


@dataclass(frozen=True)
class CommonOptions:
    subscription: str | None = None
    resource_group: str | None = None
    vault: str | None = None
    cloud: str | None = None
    endpoint: str | None = None
    api_version: str | None = None
    output: str | None = None
    query: str | None = None
    debug: bool = False
    profile: str | None = None
    auth: str | None = None  # --auth: default, cli, managed-identity, env, token (AZJOBS_AUTH)

    @property
    def flags(self) -> settings.ContextFlags:
        return settings.ContextFlags(
            subscription=self.subscription,
            resource_group=self.resource_group,
            vault=self.vault,
            cloud=self.cloud,
            endpoint=self.endpoint,
            api_version=self.api_version,
            profile=self.profile,
        )


@dataclass
class Session:
    """What one command run talks through."""

    env: Environment
    out: Output
    ctx: settings.Context
    client: BackupJobsClient


def make_output(opts: CommonOptions, env: Environment) -> Output:
    fmt = resolve_format(opts.output, env, opts.profile)
    query = Query(opts.query) if opts.query else None
    return Output(env, fmt, query)


def open_session(
    opts: CommonOptions,
    env: Environment,
    job: ids.JobRef | None = None,
    *,
    out: Output | None = None,
    retry: RetryPolicy | None = None,
    announce_retries: bool = True,
    context: settings.Context | None = None,
) -> Session:
    """``context``: an already resolved one (``--fleet`` resolves no vault), else the vault's."""
    from azbackupjobs.arm.client import BackupJobsClient, Hooks, RetryPolicy

    out = out or make_output(opts, env)
    ctx = context if context is not None else settings.resolve_context(opts.flags, env.env, job)
    tokens = auth.provider_for(env.env, ctx.scope, ctx.cloud.authority, mode=opts.auth)
    hooks = Hooks()
    if opts.debug:
        hooks.debug = lambda line: out.note(f"debug: {line}")
    if announce_retries:

        def announce(notice: RetryNotice) -> None:
            out.note(f"azjobs: {notice.reason}; retrying in {notice.delay:.1f} s")

        hooks.on_retry = announce
    client = BackupJobsClient(
        ctx, tokens, hooks=hooks, retry=retry or RetryPolicy(), sleep=env.sleep
    )
    return Session(env=env, out=out, ctx=ctx, client=client)

"""Wiring shared by the vault commands: options -> context, output, token provider, client.

Validation happens in an order that refuses bad input before any request: output format and
query first, then the job reference and context (names, endpoint security), then credentials.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from azbackupjobs.arm import auth, settings
from azbackupjobs.model import ids
from azbackupjobs.model.errors import UsageError
from azbackupjobs.model.kinds import VaultKind
from azbackupjobs.view.output import Environment, Output, Query, resolve_format

if TYPE_CHECKING:  # requests stays off the paths that only need CommonOptions (config show)
    from azbackupjobs.arm.client import BackupJobsClient, RetryNotice, RetryPolicy
    from azbackupjobs.sources.backup_vault import BackupVaultSource
    from azbackupjobs.sources.recovery_services import RecoveryServicesSource
    from azbackupjobs.sources.secondary_region import SecondaryRegionSource

    VaultSource = RecoveryServicesSource | BackupVaultSource
    JobsSource = VaultSource | SecondaryRegionSource


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
    vault_type: str | None = None  # --vault-type: recovery-services or backup (AZJOBS_VAULT_TYPE)

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
            vault_type=self.vault_type,
        )


@dataclass(frozen=True)
class SecondaryRegion:
    """The jobs to read are the vault's cross-region restore jobs, in its paired region:
    ``paired`` as named (``--paired-region``, a job's id), or None to look it up."""

    paired: str | None = None


def secondary_region(
    flag: bool, paired: str | None, refs: tuple[ids.JobRef, ...] = ()
) -> SecondaryRegion | None:
    """What ``--secondary-region``, ``--paired-region`` and the JOB arguments ask for (a
    cross-region restore job's id names its region, and implies the secondary region)."""
    named = ids.validate_region(paired.strip()) if paired is not None else None
    regions = {ref.region for ref in refs if ref.secondary and ref.region}
    if regions and any(not ref.secondary for ref in refs):
        raise UsageError(
            "the jobs name both regions: a cross-region restore job's id (secondary region) "
            "and a job of the vault's own region; watch them in two runs"
        )
    if len(regions) > 1:
        raise UsageError(
            f"the jobs name several secondary regions ({', '.join(sorted(regions))}); "
            "name jobs of one region"
        )
    if regions:
        (region,) = regions
        if named is not None and named != region:
            raise UsageError(
                f"--paired-region {named} does not match the job's region {region} "
                "(the region in a cross-region restore job's id)"
            )
        return SecondaryRegion(region)
    if flag or named is not None:
        return SecondaryRegion(named)
    return None


@dataclass(frozen=True, kw_only=True)
class RegionOptions(CommonOptions):
    """The vault flags and the secondary region's (``registry.SECONDARY_REGION``), which
    get, list-tasks, list and watch take alike."""

    secondary_region: bool = False
    paired_region: str | None = None

    @property
    def secondary_given(self) -> bool:
        return self.secondary_region or self.paired_region is not None

    def secondary(self, *refs: ids.JobRef) -> SecondaryRegion | None:
        return secondary_region(self.secondary_region, self.paired_region, refs)


def refuse_secondary(opts: CommonOptions, what: str) -> None:
    """``what`` has no secondary-region form: exit 2 before any request."""
    if isinstance(opts, RegionOptions) and opts.secondary_given:
        flag = "--secondary-region" if opts.secondary_region else "--paired-region"
        raise UsageError(
            f"{flag} does not apply to {what} (cross-region restore jobs are read "
            "one vault at a time, with get, list-tasks, list and watch)"
        )


@dataclass
class Session:
    """What one command run talks through."""

    env: Environment
    out: Output
    ctx: settings.Context
    client: BackupJobsClient
    timeout: float | None = None  # --timeout: the run's overall deadline in seconds, if any
    secondary: SecondaryRegion | None = None  # the cross-region restore jobs instead

    @functools.cached_property
    def kind(self) -> VaultKind:
        """The kind of the vault of ``ctx``: named by the job id or the settings, else
        remembered, else looked up once (a request; only when a source is first asked for)."""
        from azbackupjobs.arm import vault_kind

        return vault_kind.resolve_kind(self.client, self.ctx, self.env.env)

    @functools.cached_property
    def source(self) -> JobsSource:
        """The jobs of the vault of ``ctx``, of its kind, through ``client``: those of its own
        region, or with ``secondary`` the cross-region restore jobs of its paired region."""
        if self.secondary is None:
            return self.vault_source
        from azbackupjobs.arm import regions
        from azbackupjobs.sources.secondary_region import SecondaryRegionSource

        paired, kind = self.secondary.paired, self.kind
        return SecondaryRegionSource(
            self.client,
            kind,
            lambda: regions.resolve(self.client, self.ctx, kind, paired=paired, env=self.env.env),
        )

    @functools.cached_property
    def vault_source(self) -> VaultSource:
        """The jobs of the vault's own region (what cancel and operations work on)."""
        return vault_source(self.client, self.kind)


def vault_source(client: BackupJobsClient, kind: VaultKind) -> VaultSource:
    """The source of a vault of ``kind`` at ``client.ctx``."""
    if kind is VaultKind.BACKUP:
        from azbackupjobs.sources.backup_vault import BackupVaultSource

        return BackupVaultSource(client)
    from azbackupjobs.sources.recovery_services import RecoveryServicesSource

    return RecoveryServicesSource(client)


def job_ref(text: str, *, secondary: bool = False) -> ids.JobRef:
    """A JOB argument these commands can reach: a job of either kind of vault, in its primary
    region, and with ``secondary`` (get, list-tasks, watch) a cross-region restore job's id
    too. Elsewhere such an id is refused, exit 2 before any request."""
    ref = ids.parse_job_ref(text)
    if ref.secondary and not secondary:
        raise UsageError(
            f"job {ref.job_id} is a cross-region restore job (secondary region "
            f"{ref.region}): this command reads jobs of the vault's own region only"
        )
    return ref


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
    timeout: float | None = None,
    secondary: SecondaryRegion | None = None,
) -> Session:
    """``context``: an already resolved one (``--fleet`` resolves no vault), else the vault's.
    ``timeout``: seconds the whole command may spend on the service, requests and retries
    included (``--timeout``); running out is ``CommandTimeout`` (exit 1)."""
    from azbackupjobs.arm.client import BackupJobsClient, Hooks, RetryPolicy
    from azbackupjobs.arm.transport import Deadline

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
        ctx,
        tokens,
        hooks=hooks,
        retry=retry or RetryPolicy(),
        sleep=env.sleep,
        deadline=None if timeout is None else Deadline.after(timeout),
    )
    return Session(env=env, out=out, ctx=ctx, client=client, timeout=timeout, secondary=secondary)


def refuse_vault_flags(opts: CommonOptions) -> None:
    """``--fleet`` spans vaults: a group or vault flag would be silently meaningless."""
    given = [
        flag
        for flag, value in (("--resource-group", opts.resource_group), ("--vault-name", opts.vault))
        if value
    ]
    if given:
        verb = "does" if len(given) == 1 else "do"
        raise UsageError(
            f"--fleet covers every vault in scope; {' and '.join(given)} {verb} "
            "not apply (narrow with --subscriptions or --management-group)"
        )

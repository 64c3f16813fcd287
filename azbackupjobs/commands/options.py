"""The options of the commands that two run functions serve.

``azjobs list`` and ``azjobs watch`` run against one vault, or, given a fleet flag, against every
vault through Resource Graph: the same command line, two implementations. Its options class
belongs to the command line, so it lives here, below both (a command module never imports
another), and says which implementation a run asks for (``fleet_requested``).
"""

from __future__ import annotations

from dataclasses import dataclass

from azbackupjobs.commands.common import RegionOptions


@dataclass(frozen=True, kw_only=True)
class FleetScopeOptions(RegionOptions):
    """The vault flags (the secondary region's included) and ``--fleet`` with the flags that
    narrow its scope, which list and watch take alike (``registry.FLEET_SCOPE``) and which ask
    for the fleet form alike."""

    fleet: bool = False
    subscriptions: tuple[str, ...] = ()
    management_group: str | None = None

    @property
    def fleet_scope_given(self) -> bool:
        """``--fleet`` or a scope flag: each means the fleet (and asks for --fleet itself)."""
        return self.fleet or bool(self.subscriptions) or self.management_group is not None


@dataclass(frozen=True, kw_only=True)
class ListCommandOptions(FleetScopeOptions):
    """``azjobs list``: the filters, the fleet flags, the vault flags, and the run's overall
    deadline in seconds (``--timeout``)."""

    status: tuple[str, ...] = ()
    operation: str | None = None
    backup_type: str | None = None
    job_id: str | None = None
    since: str | None = None
    until: str | None = None
    entity: str | None = None
    limit: int | None = None
    by: str | None = None
    timeout: float | None = None

    @property
    def fleet_requested(self) -> bool:
        """Any fleet flag: the Resource Graph form runs (and asks for --fleet itself)."""
        return self.fleet_scope_given or self.by is not None


@dataclass(frozen=True, kw_only=True)
class WatchCommandOptions(FleetScopeOptions):
    """``azjobs watch``: what to watch, how, the fleet flags and the vault flags.

    ``interval`` None: the config file's interval or the default (``poll_interval``).
    """

    jobs: tuple[str, ...] = ()
    operation: str | None = None
    all_jobs: bool = False
    interval: float | None = None
    timeout: float | None = None
    grace: float = 60.0  # --grace's default (follow.poll.DEFAULT_GRACE)
    strict: bool = False
    fail_fast: bool = False
    compact: bool = False
    bell: bool = False
    fleet_status: tuple[str, ...] = ()
    since: str | None = None
    details: bool = False

    @property
    def fleet_requested(self) -> bool:
        """Any fleet flag: the Resource Graph form runs (and asks for --fleet itself)."""
        return (
            self.fleet_scope_given
            or bool(self.fleet_status)
            or self.details
            or self.since is not None
        )

    @property
    def poll_interval(self) -> float:
        """``--interval``, else the configured or default one; in the secondary region at
        least ``SECONDARY_REGION_INTERVAL`` (its reads count against the write quota)."""
        if self.interval is not None:
            return self.interval
        from azbackupjobs.follow.pacing import SECONDARY_REGION_INTERVAL
        from azbackupjobs.follow.poll import startup_interval

        interval = startup_interval(self.profile)
        if self.secondary_given or self._names_secondary_jobs:
            return max(interval, SECONDARY_REGION_INTERVAL)
        return interval

    @property
    def _names_secondary_jobs(self) -> bool:
        from azbackupjobs.model import ids
        from azbackupjobs.model.errors import UsageError

        for text in self.jobs:
            try:
                if ids.parse_job_ref(text).secondary:
                    return True
            except UsageError:
                continue  # reported with the jobs themselves
        return False

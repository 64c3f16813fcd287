"""``azjobs backup-now ITEM``: trigger an on-demand backup, print its job or follow it.

ITEM is a Recovery Services vault's protected item or a Backup vault's backup instance: each
kind of vault resolves it and builds its request (``Target``), and everything after that is
one path. Every local check (flags, retention, the item's id) passes before anything is sent,
and what depends on the item (the backup types it takes, its policy's rules) before the
trigger. The trigger is a long-running operation followed by the one operation loop
(``follow.operation``) to the job it starts; then the job is printed as ``get`` prints it, or
followed as ``watch`` follows it.

The trigger POST is sent once, never retried: a second POST could start a second backup. When
its answer is lost (a timeout, a dropped connection), the item's running backup jobs are looked
up before anything else is said.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from azbackupjobs.arm.client import Response
from azbackupjobs.commands.common import CommonOptions, Session, make_output, open_session
from azbackupjobs.commands.shared.watching import WatchOptions, utc_now, watch_jobs
from azbackupjobs.follow.operation import OPERATION_WAIT_LIMIT, follow_operation, operation_of
from azbackupjobs.follow.poll import DEFAULT_GRACE, DEFAULT_INTERVAL
from azbackupjobs.model import ids
from azbackupjobs.model.errors import (
    ApiError,
    ExitCode,
    NetworkError,
    NotFoundError,
    OperationFailedError,
    UnexpectedResponseError,
    UsageError,
    WatchTimeout,
)
from azbackupjobs.model.kinds import VaultKind
from azbackupjobs.model.text import sanitize
from azbackupjobs.sources import backup_instances, filters, protected_items
from azbackupjobs.sources.backup_vault import BackupVaultSource
from azbackupjobs.sources.protected_items import Kind, normalize_backup_type, normalize_kind
from azbackupjobs.sources.recovery_services import RecoveryServicesSource
from azbackupjobs.view.jobs import show_job
from azbackupjobs.view.output import Environment

DEFAULT_RETAIN_DAYS = 30
# The longest an on-demand recovery point is kept (the portal offers up to 99 years).
MAX_RETAIN_DAYS = 99 * 365
# How long before the lost trigger a running job may have started and still be its job.
LOST_ANSWER_LOOKBACK = timedelta(minutes=15)
# Pace of the operation polls when the service names no Retry-After.
OPERATION_POLL = 10.0

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Wall = Callable[[], datetime]


class BackupRefused(ApiError):
    """The service refused to start the backup (one already running, bad input): exit 1."""


@dataclass(frozen=True, kw_only=True)
class BackupNowOptions(CommonOptions):
    """``azjobs backup-now``: the ITEM, how to back it up, whether to watch, the vault flags.

    ``interval`` and ``timeout`` are seconds (converted by the registry); ``interval`` None:
    watch's default. ``item_type``, ``backup_type`` and the retention are a Recovery Services
    item's; ``rule`` and ``retention_tag`` a Backup vault instance's.
    """

    item: str
    item_type: str | None = None
    backup_type: str | None = None
    retain_until: str | None = None
    retain_days: int | None = None
    rule: str | None = None
    retention_tag: str | None = None
    watch: bool = False
    interval: float | None = None
    timeout: float | None = None
    strict: bool = False


@dataclass(frozen=True)
class Plan:
    """What the flags ask for, checked before any request."""

    kind: Kind | None
    backup_type: str | None
    expiry: datetime
    retention_given: bool


@dataclass(frozen=True)
class Target:
    """A resolved item of either kind of vault, with the one request that backs it up.

    ``send`` POSTs it (once); ``running`` finds the item's running backup jobs in a window
    (what a trigger whose answer was lost may have started).
    """

    name: str
    send: Callable[[], Response]
    running: Callable[[filters.Window], list[dict[str, Any]]]

    @property
    def check(self) -> str:
        """The command a user runs to look for the item's running backup."""
        return f"azjobs list --operation Backup --status InProgress --entity {self.name} --since 1h"


def parse_retain_until(value: str, now: datetime) -> datetime:
    """``--retain-until``: a date (kept to the end of that day) or a date and time; without a
    zone, local time, as ``--since`` reads it."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--retain-until: cannot read {sanitize(value, 40)!r} as a date; use 2030-05-01 "
            "or 2030-05-01T18:00Z"
        ) from None
    if len(text) == 10:  # a bare date: the whole day
        moment += timedelta(days=1)
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.astimezone(UTC)


def retention(
    retain_until: str | None, retain_days: int | None, now: datetime
) -> tuple[datetime, bool]:
    """When the recovery point may expire, and whether the user said so: in the future, at
    most ``MAX_RETAIN_DAYS`` away."""
    if retain_until is not None and retain_days is not None:
        raise UsageError("--retain-until and --retain-days: give one of them")
    if retain_days is not None:
        if not 1 <= retain_days <= MAX_RETAIN_DAYS:
            raise UsageError(f"--retain-days: must be between 1 and {MAX_RETAIN_DAYS}")
        return now + timedelta(days=retain_days), True
    if retain_until is None:
        return now + timedelta(days=DEFAULT_RETAIN_DAYS), False
    try:
        moment = parse_retain_until(retain_until, now)
    except (OverflowError, ValueError):
        raise UsageError("--retain-until: the date is outside the calendar") from None
    if moment <= now:
        raise UsageError(f"--retain-until: {moment:%Y-%m-%d %H:%M} UTC is not in the future")
    if moment - now > timedelta(days=MAX_RETAIN_DAYS):
        raise UsageError(f"--retain-until: at most {MAX_RETAIN_DAYS // 365} years from now")
    return moment, True


def plan(opts: BackupNowOptions, now: datetime) -> Plan:
    if not opts.item.strip():
        raise UsageError("ITEM: empty; give a protected item's or backup instance's name or id")
    kind = normalize_kind(opts.item_type) if opts.item_type else None
    backup_type = normalize_backup_type(opts.backup_type) if opts.backup_type else None
    expiry, given = retention(opts.retain_until, opts.retain_days, now)
    for flag, value in (("--rule", opts.rule), ("--retention-tag", opts.retention_tag)):
        if value is not None and not value.strip():
            raise UsageError(f"{flag}: empty")
    return Plan(kind=kind, backup_type=backup_type, expiry=expiry, retention_given=given)


def refuse_other_kinds_flags(opts: BackupNowOptions, kind: VaultKind, vault: str) -> None:
    """Flags of the other kind of vault would be silently ignored: refuse them, nothing sent."""
    if kind is VaultKind.BACKUP:
        given = [
            flag
            for flag, value in (
                ("--item-type", opts.item_type),
                ("--backup-type", opts.backup_type),
                ("--retain-until", opts.retain_until),
                ("--retain-days", opts.retain_days),
            )
            if value is not None
        ]
        rest = "Recovery Services protected items; a backup instance is kept as its rule's "
        rest += "retention tag says (--retention-tag)"
    else:
        given = [
            flag
            for flag, value in (("--rule", opts.rule), ("--retention-tag", opts.retention_tag))
            if value is not None
        ]
        rest = "Backup vault instances"
    if given:
        what = "a Backup vault" if kind is VaultKind.BACKUP else "a Recovery Services vault"
        raise UsageError(
            f"{' and '.join(given)}: {vault} is {what}; "
            f"{'these apply' if len(given) > 1 else 'this applies'} to {rest}; nothing sent"
        )


def run(opts: BackupNowOptions, env: Environment) -> int:
    return run_backup_now(opts, env)


def run_backup_now(
    opts: BackupNowOptions,
    env: Environment,
    *,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
    wall: Wall = utc_now,
) -> int:
    out = make_output(opts, env)
    planned = plan(opts, wall())
    named = backup_instances.parse_instance_id(opts.item) or protected_items.parse_item_id(
        opts.item
    )
    session = open_session(opts, env, named.vault_ref() if named is not None else None, out=out)
    try:
        started = clock()
        source = session.vault_source
        refuse_other_kinds_flags(opts, session.kind, session.ctx.vault)
        if isinstance(source, BackupVaultSource):
            target = _instance_target(source, opts)
        else:
            target = _item_target(source, opts, planned)
        job_id = _trigger(session, target, opts.timeout, sleep, clock, wall)
        remaining = None if opts.timeout is None else max(opts.timeout - (clock() - started), 0.001)
        if opts.watch:
            wopts = WatchOptions(
                interval=opts.interval if opts.interval is not None else DEFAULT_INTERVAL,
                timeout=remaining,
                strict=opts.strict,
            )
            return int(watch_jobs(session, [job_id], wopts, sleep=sleep, clock=clock))
        raw = _visible_job(session, job_id, sleep=sleep, clock=clock)
    finally:
        session.client.close()
    show_job(out, raw, session.vault_source.parse)
    return ExitCode.OK


def _item_target(source: RecoveryServicesSource, opts: BackupNowOptions, planned: Plan) -> Target:
    """A Recovery Services protected item and the body its kind takes."""
    items = protected_items.ProtectedItems(source)
    item = items.resolve(opts.item, planned.kind)
    body = protected_items.backup_body(item, expiry=planned.expiry, backup_type=planned.backup_type)
    if planned.retention_given and "recoveryPointExpiryTimeInUTC" not in body["properties"]:
        raise UsageError(
            f"--retain-until/--retain-days: a {body['properties'].get('backupType')} backup "
            "is kept as the item's policy says; nothing sent"
        )
    name = sanitize(item.friendly_name, 80)
    return Target(
        name=name,
        send=lambda: items.trigger(item, body),
        running=lambda window: items.running_backups(item, window),
    )


def _instance_target(source: BackupVaultSource, opts: BackupNowOptions) -> Target:
    """A Backup vault instance, and its policy's backup rule and retention tag."""
    instances = backup_instances.BackupInstances(source)
    instance = instances.resolve(opts.item)
    name = sanitize(instance.friendly_name, 80)
    choice = backup_instances.choose_rule(
        instances.policy(instance), opts.rule, opts.retention_tag, name
    )
    body = backup_instances.backup_body(choice)
    return Target(
        name=name,
        send=lambda: instances.trigger(instance, body),
        running=lambda window: instances.running_backups(instance, window),
    )


def _trigger(
    session: Session,
    target: Target,
    timeout: float | None,
    sleep: Sleep,
    clock: Clock,
    wall: Wall,
) -> str:
    """POST the backup once and follow its operation: the GUID of the job it started."""
    out = session.out
    name = target.name
    sent_at = wall()
    try:
        resp = target.send()
    except NetworkError as exc:
        return _after_lost_answer(target, exc, sent_at, wall, out.note)
    except (NotFoundError, BackupRefused):
        raise
    except ApiError as exc:
        if exc.status is not None and 400 <= exc.status < 500 and exc.status not in {401, 403}:
            raise BackupRefused(
                f"the service refused to back up {name}: "
                + exc.message.removeprefix(f"HTTP {exc.status} "),
                status=exc.status,
                code=exc.code,
                request_id=exc.request_id,
            ) from None
        if exc.status is not None and (exc.status >= 500 or 200 <= exc.status < 300):
            exc.hint = (
                f"the service may have started the backup anyway: check with `{target.check}` "
                "before trying again"
            )
        raise
    started = _started_job(resp)
    if started is not None:  # the service named the job at once (200)
        return started
    out.note(f"azjobs: backup of {name} requested; waiting for the service to start its job")
    operation = operation_of(resp, prefer="status")
    if operation is None:
        raise UnexpectedResponseError(
            f"the service accepted the backup of {name} (HTTP {resp.status}) without an "
            "operation to follow",
            hint=f"find its job with `{target.check}`",
        )
    limit = OPERATION_WAIT_LIMIT if timeout is None else min(OPERATION_WAIT_LIMIT, timeout)
    status = follow_operation(
        session.vault_source,
        operation,
        accepted=resp,
        interval=OPERATION_POLL,
        limit=limit,
        sleep=sleep,
        clock=clock,
        notify=out.note,
    )
    if status is None:
        if timeout is not None and timeout <= OPERATION_WAIT_LIMIT:
            raise WatchTimeout(
                f"--timeout elapsed while the service was starting the backup of {name}"
            )
        raise ApiError(
            f"the service accepted the backup of {name} but started no job within "
            f"{OPERATION_WAIT_LIMIT / 60:g} minutes",
            hint=f"check with `{target.check}`",
        )
    if not status.succeeded:
        detail = ": ".join(sanitize(x, 300) for x in (status.error_code, status.error_message) if x)
        raise OperationFailedError(
            f"the backup of {name} did not start: its operation ended "
            f"{sanitize(status.status, 20)}" + (f" ({detail})" if detail else "")
        )
    if not status.job_ids:
        raise UnexpectedResponseError(f"the backup operation of {name} succeeded but names no job")
    return _job_guid(status.job_ids[0])


def _started_job(resp: Response) -> str | None:
    """The job a 200 answer names (``{"jobId": ...}``); None for a 202 to follow."""
    if resp.status != 200 or not isinstance(resp.body, dict):
        return None
    job = resp.body.get("jobId")
    if job is None:
        props = resp.body.get("properties")
        job = props.get("jobId") if isinstance(props, dict) else None
    return _job_guid(job) if isinstance(job, str) and job else None


def _job_guid(text: str) -> str:
    try:
        ref = ids.parse_job_ref(text)
    except UsageError:
        raise UnexpectedResponseError(
            f"the backup operation names a job the vault cannot read: {sanitize(text, 200)!r}"
        ) from None
    if ref.secondary:
        raise UnexpectedResponseError(
            f"the backup operation names a job of another region: {sanitize(text, 200)!r}"
        )
    return ref.job_id


def _after_lost_answer(
    target: Target,
    exc: NetworkError,
    sent_at: datetime,
    wall: Wall,
    note: Callable[[str], None],
) -> str:
    """The trigger's answer was lost: the backup may or may not have started. Look for the
    item's running backup job rather than send again."""
    name = target.name
    note(
        f"azjobs: no answer to the backup request of {name} ({sanitize(exc.message, 200)}); "
        "it is not sent again: looking for the job it may have started"
    )
    window = filters.Window(
        (sent_at - LOST_ANSWER_LOOKBACK).replace(microsecond=0),
        (wall() + timedelta(minutes=1)).replace(microsecond=0),
    )
    try:
        found = target.running(window)
    except ApiError as again:
        raise ApiError(
            f"no answer to the backup request of {name}, and its jobs could not be read "
            f"({sanitize(again.message, 200)})",
            hint=f"the backup may have started: check with `{target.check}` before trying again",
        ) from None
    if not found:
        raise ApiError(
            f"no answer to the backup request of {name} ({sanitize(exc.message, 200)}), "
            "and no running backup of it was found",
            hint=f"it may still appear: check with `{target.check}` before trying again",
        )
    job = found[0].get("name")
    if not isinstance(job, str) or not ids.GUID_RE.match(job):
        raise UnexpectedResponseError("the running backup job found has no job GUID as its name")
    note(f"azjobs: found the running backup job {job.lower()} of {name}; following it")
    return job.lower()


def _visible_job(session: Session, job_id: str, *, sleep: Sleep, clock: Clock) -> dict[str, Any]:
    """The new job's resource; a 404 right after the trigger is the service catching up, for
    ``DEFAULT_GRACE`` seconds."""
    started = clock()
    while True:
        try:
            return session.vault_source.get_job(job_id)
        except NotFoundError:
            waited = clock() - started
            if waited >= DEFAULT_GRACE:
                raise
            sleep(min(5.0, DEFAULT_GRACE - waited))

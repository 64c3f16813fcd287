"""Job timelines, and the state of a job at any emulated instant.

A job is a scenario (its tasks with their lengths, its outcome, its property bag as it grows);
its state is computed from the scenario and the emulated "now" by :func:`job_state`, a pure
function. Nothing runs in the background, so a test that advances the clock by an hour sees the
same job a real client would see after an hour, and a restarted emulator continues where it was.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
FAILED = "Failed"
COMPLETED_WITH_WARNINGS = "CompletedWithWarnings"
CANCELLING = "Cancelling"
CANCELLED = "Cancelled"
NOT_STARTED = "NotStarted"
TERMINAL = frozenset({COMPLETED, FAILED, COMPLETED_WITH_WARNINGS, CANCELLED})
OUTCOMES = frozenset({COMPLETED, FAILED, COMPLETED_WITH_WARNINGS})
# The collection of jobs a scenario belongs to (see ``state.COLLECTIONS``).
RECOVERY_SERVICES = "rs"

# The service takes a moment between two tasks; the gap keeps task times strictly ordered.
TASK_GAP_SECONDS = 0.17

Bag = dict[str, str | None]


@dataclass
class TaskPlan:
    """One task of a job: its display name and how long it runs, in emulated seconds."""

    name: str
    seconds: float
    # A running task that may not be interrupted (an IaaS restore's data transfer) makes the
    # whole job non-cancellable while it runs.
    cancellable: bool = True
    # Data the task moves; shown as "x GBs / y GBs Transferred" in taskExecutionDetails.
    total_gb: float | None = None
    # Some jobs list a task only once it has started (Azure Files backups, IaaS restores).
    hidden_until_started: bool = False


@dataclass
class ErrorInfo:
    """A job error; how it is spelled (key order, which keys) depends on the job type."""

    code: int | None
    title: str | None
    message: str
    recommendations: list[str] = field(default_factory=list)
    additional_details: str | None = None


@dataclass
class JobScenario:
    """Everything that decides how a job looks over its life."""

    job_id: str
    subscription: str
    resource_group: str
    vault: str
    job_type: str
    operation: str
    entity: str
    start: float
    activity_id: str
    backup_management_type: str | None = None
    tasks: list[TaskPlan] = field(default_factory=list)
    outcome: str = COMPLETED
    # Index of the task that fails when the outcome is Failed (default: the last one). Its
    # ``seconds`` is then the time until it fails.
    failed_task: int | None = None
    errors: list[ErrorInfo] = field(default_factory=list)
    dynamic_error_message: str | None = None
    # propertyBag: present from the start; added once N tasks completed; added at the end.
    bag: Bag = field(default_factory=dict)
    bag_steps: list[tuple[int, Bag]] = field(default_factory=list)
    bag_success: Bag = field(default_factory=dict)
    bag_failure: Bag = field(default_factory=dict)
    internal_bag: Bag | None = None
    # Type-specific top-level properties (containerName, workloadType, isUserTriggered...).
    props: dict[str, Any] = field(default_factory=dict)
    cancellable: bool = True
    # A cancelled job whose tasks had partly completed ends like this (IaaS VM backups end
    # CompletedWithWarnings with error 400158), with these errors.
    cancel_partial_outcome: str = CANCELLED
    cancel_errors: list[ErrorInfo] = field(default_factory=list)
    lead_seconds: float = 1.3
    tail_seconds: float = 0.8
    # IaaS tasks carry startTime/endTime (sentinel-filled) and real durations; restores do not.
    task_times: bool = False
    # IaaS restores report progressPercentage and estimatedRemainingDuration.
    progress: bool = False
    # Older jobs come back with "/Subscriptions/" in their id.
    legacy_id_casing: bool = False
    cancel_at: float | None = None
    cancel_seconds: float = 30.0
    cancel_operation: str | None = None
    # Which collection holds the job: a Recovery Services vault's jobs (the default), a Backup
    # vault's, or the cross-region-restore jobs of either kind (see ``state.COLLECTIONS``).
    collection: str = RECOVERY_SERVICES

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobScenario:
        values = dict(data)
        values["tasks"] = [TaskPlan(**t) for t in values.get("tasks", [])]
        values["errors"] = [ErrorInfo(**e) for e in values.get("errors", [])]
        values["cancel_errors"] = [ErrorInfo(**e) for e in values.get("cancel_errors", [])]
        values["bag_steps"] = [(int(n), dict(b)) for n, b in values.get("bag_steps", [])]
        return cls(**values)


@dataclass(frozen=True)
class TaskState:
    plan: TaskPlan
    status: str
    start: float | None
    end: float | None
    # How far the task got, 0..1 (drives taskExecutionDetails and progressPercentage).
    fraction: float


@dataclass(frozen=True)
class JobState:
    status: str
    end: float | None
    duration: float
    tasks: tuple[TaskState, ...]
    completed_tasks: int
    cancellable: bool
    # Why the job ended, when it did: it ran to its outcome, or it was cancelled.
    ended_by: Literal["outcome", "cancel"] | None
    # The running task when the job was (or is being) cancelled, or now.
    running_task: TaskState | None


def task_windows(s: JobScenario) -> list[tuple[float, float]]:
    """(start, end) of every task if the job runs undisturbed."""
    windows: list[tuple[float, float]] = []
    t = s.start + s.lead_seconds
    for task in s.tasks:
        windows.append((t, t + task.seconds))
        t += task.seconds + TASK_GAP_SECONDS
    return windows


def _failing_index(s: JobScenario) -> int | None:
    if s.outcome != FAILED or not s.tasks:
        return None
    index = len(s.tasks) - 1 if s.failed_task is None else s.failed_task
    return max(0, min(index, len(s.tasks) - 1))


def natural_end(s: JobScenario) -> float:
    """When the job reaches its outcome if nobody cancels it."""
    windows = task_windows(s)
    if not windows:
        return s.start + s.lead_seconds + s.tail_seconds
    failing = _failing_index(s)
    last = windows[failing] if failing is not None else windows[-1]
    return last[1] + s.tail_seconds


def _running_tasks(s: JobScenario, at: float) -> list[TaskState]:
    """Task states while the job runs normally, at ``at``."""
    states: list[TaskState] = []
    for plan, (start, end) in zip(s.tasks, task_windows(s), strict=True):
        if at < start:
            states.append(TaskState(plan, NOT_STARTED, None, None, 0.0))
        elif at < end:
            fraction = (at - start) / plan.seconds if plan.seconds > 0 else 1.0
            states.append(TaskState(plan, IN_PROGRESS, start, None, fraction))
        else:
            states.append(TaskState(plan, COMPLETED, start, end, 1.0))
    return states


def _finished_tasks(s: JobScenario) -> list[TaskState]:
    """Task states once the job reached its own outcome."""
    failing = _failing_index(s)
    states: list[TaskState] = []
    for index, (plan, (start, end)) in enumerate(zip(s.tasks, task_windows(s), strict=True)):
        if failing is None or index < failing:
            states.append(TaskState(plan, COMPLETED, start, end, 1.0))
        elif index == failing:
            # A transfer fails part of the way through, not at 100 %.
            states.append(TaskState(plan, FAILED, start, end, 0.94))
        else:
            states.append(TaskState(plan, NOT_STARTED, None, None, 0.0))
    return states


def _running(states: list[TaskState]) -> TaskState | None:
    return next((t for t in states if t.status == IN_PROGRESS), None)


def job_state(s: JobScenario, now: float) -> JobState:
    """The job as the service would report it at emulated time ``now``."""
    if s.cancel_at is not None and now >= s.cancel_at:
        return _cancel_state(s, now, s.cancel_at)
    end = natural_end(s)
    if now >= end:
        tasks = _finished_tasks(s)
        completed = sum(t.status == COMPLETED for t in tasks)
        return JobState(
            s.outcome, end, end - s.start, tuple(tasks), completed, False, "outcome", None
        )
    tasks = _running_tasks(s, now)
    running = _running(tasks)
    cancellable = s.cancellable and (running is None or running.plan.cancellable)
    completed = sum(t.status == COMPLETED for t in tasks)
    return JobState(
        IN_PROGRESS, None, now - s.start, tuple(tasks), completed, cancellable, None, running
    )


def _cancel_state(s: JobScenario, now: float, cancel_at: float) -> JobState:
    """Cancelling for ``cancel_seconds``, then Cancelled (or the scenario's partial outcome)."""
    frozen = _running_tasks(s, cancel_at)
    running = _running(frozen)
    completed = sum(t.status == COMPLETED for t in frozen)
    finish = cancel_at + s.cancel_seconds
    if now < finish:
        tasks = tuple(
            t if t.status == COMPLETED else TaskState(t.plan, CANCELLING, t.start, None, t.fraction)
            for t in frozen
        )
        return JobState(CANCELLING, None, now - s.start, tasks, completed, False, None, running)
    tasks = tuple(
        t
        if t.status == COMPLETED
        else TaskState(
            t.plan, CANCELLED, t.start, finish if t.start is not None else None, t.fraction
        )
        for t in frozen
    )
    status = s.cancel_partial_outcome if completed else CANCELLED
    return JobState(status, finish, finish - s.start, tasks, completed, False, "cancel", running)


def property_bag(s: JobScenario, state: JobState) -> Bag:
    """The bag grows as tasks complete; the last entries depend on how the job ended."""
    bag: Bag = dict(s.bag)
    for after, entries in s.bag_steps:
        if state.completed_tasks >= after:
            bag.update(entries)
    if state.status in TERMINAL:
        succeeded = state.ended_by == "outcome" and state.status != FAILED
        bag.update(s.bag_success if succeeded else s.bag_failure)
    return bag


def errors_of(s: JobScenario, state: JobState) -> list[ErrorInfo]:
    if state.ended_by == "outcome" and state.status in (FAILED, COMPLETED_WITH_WARNINGS):
        return s.errors
    if state.ended_by == "cancel" and state.status == COMPLETED_WITH_WARNINGS:
        return s.cancel_errors
    return []


def transfer_task(state: JobState) -> TaskState | None:
    """The task that moves data (the one progressPercentage follows)."""
    return next((t for t in state.tasks if t.plan.total_gb is not None), None)


def progress_percentage(state: JobState) -> float | None:
    """Whole percents, as floats (``94.0``), once the transfer started; 100.0 when Completed."""
    task = transfer_task(state)
    if task is None or task.start is None:
        return None
    if state.status == COMPLETED:
        return 100.0
    if state.status in (FAILED, CANCELLED, COMPLETED_WITH_WARNINGS):
        return None
    return float(math.floor(task.fraction * 100))


def remaining_seconds(state: JobState) -> float | None:
    """What estimatedRemainingDuration says: the rest of the transfer, 0 once the job ended."""
    task = transfer_task(state)
    if task is None or task.start is None:
        return None
    if state.status in TERMINAL:
        return 0.0
    if state.status != IN_PROGRESS:
        return None
    return max(0.0, (1.0 - task.fraction) * task.plan.seconds)

"""Flat rows of jobs and tasks for ``-o tsv``: the documented, stable column orders.

Kept apart from ``render`` so that the tsv and json paths never import rich.
"""

from __future__ import annotations

from typing import Any


def job_tsv_row(raw: dict[str, Any]) -> list[Any]:
    """The documented tsv columns of a job: name, status, operation, entity, jobType,
    backupManagementType, startTime, endTime, duration."""
    props = raw.get("properties") if isinstance(raw.get("properties"), dict) else {}
    assert isinstance(props, dict)
    return [
        raw.get("name"),
        props.get("status"),
        props.get("operation"),
        props.get("entityFriendlyName"),
        props.get("jobType"),
        props.get("backupManagementType"),
        props.get("startTime"),
        props.get("endTime"),
        props.get("duration"),
    ]


def task_tsv_row(raw: dict[str, Any]) -> list[Any]:
    """tsv columns of a task: taskId, status, progressPercentage, startTime, endTime, duration,
    taskExecutionDetails."""
    return [
        raw.get("taskId"),
        raw.get("status"),
        raw.get("progressPercentage"),
        raw.get("startTime"),
        raw.get("endTime"),
        raw.get("duration"),
        raw.get("taskExecutionDetails"),
    ]

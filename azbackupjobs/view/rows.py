"""Flat rows of jobs and tasks for ``-o tsv``: the documented, stable column orders.

Kept apart from ``render`` so that the tsv and json paths never import rich (nor the job model:
rows are read from the raw resource). Jobs of both kinds of vault give the same columns; a
Backup vault job puts its datasource name and type where a Recovery Services job has its entity
and backup management type, and has no job type.
"""

from __future__ import annotations

from typing import Any

from azbackupjobs.model.kinds import is_backup_vault_job


def job_tsv_row(raw: dict[str, Any]) -> list[Any]:
    """The documented tsv columns of a job: name, status, operation, entity, jobType,
    backupManagementType, startTime, endTime, duration.

    A Backup vault job: name, status, operationCategory (else operation), dataSourceName, (empty),
    dataSourceType, startTime, endTime, duration."""
    props = raw.get("properties") if isinstance(raw.get("properties"), dict) else {}
    assert isinstance(props, dict)
    if is_backup_vault_job(raw):
        return [
            raw.get("name"),
            props.get("status"),
            props.get("operationCategory") or props.get("operation"),
            props.get("dataSourceName"),
            None,
            props.get("dataSourceType"),
            props.get("startTime"),
            props.get("endTime"),
            props.get("duration"),
        ]
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


def _is_subtask(raw: dict[str, Any]) -> bool:
    """A Backup vault subtask (``taskName``/``taskStatus``), not a tasksList entry."""
    return "taskStatus" in raw or "taskName" in raw


def task_tsv_row(raw: dict[str, Any]) -> list[Any]:
    """tsv columns of a task: taskId, status, progressPercentage, startTime, endTime, duration,
    taskExecutionDetails.

    A Backup vault subtask: taskName, taskStatus, taskProgress, then four empty columns (its
    number and additionalDetails are in ``-o json``)."""
    if _is_subtask(raw):
        return [raw.get("taskName"), raw.get("taskStatus"), raw.get("taskProgress")] + [None] * 4
    return [
        raw.get("taskId"),
        raw.get("status"),
        raw.get("progressPercentage"),
        raw.get("startTime"),
        raw.get("endTime"),
        raw.get("duration"),
        raw.get("taskExecutionDetails"),
    ]


def raw_tasks(raw: dict[str, Any]) -> list[Any]:
    """A job's tasks exactly as returned: ``extendedInfo.tasksList``, or a Backup vault job's
    ``extendedInfo.subTasks``; ``[]`` when the job has none."""
    props = raw.get("properties")
    ext = props.get("extendedInfo") if isinstance(props, dict) else None
    if not isinstance(ext, dict):
        return []
    key = "subTasks" if is_backup_vault_job(raw) else "tasksList"
    tasks = ext.get(key)
    return tasks if isinstance(tasks, list) else []

"""Every kind of job body the emulator produces parses with azjobs' own model."""

from __future__ import annotations

from typing import Any

from azbackupjobs.emulator import EmulatorHandle, ServiceError
from azbackupjobs.model import job as models

API_VERSIONS = ("2026-10-01", "2019-06-15", "2016-12-01")


def bodies(emu: EmulatorHandle) -> list[dict[str, Any]]:
    """GET and list shapes of every seed job, in old and new api-versions, at several times."""
    found: list[dict[str, Any]] = []
    extra = [
        emu.add_job(entity="m1", tasks=[("Take Snapshot", 50), ("Transfer data to vault", 100)]),
        emu.add_job(entity="m2", operation="Restore"),
        emu.add_job(job_type="AzureStorageJob", entity="share", outcome="Failed"),
        emu.add_job(
            job_type="AzureWorkloadJob",
            operation="Restore (Full)",
            entity="db [h]",
            outcome="Failed",
            workload_type="SAPHanaDatabase",
        ),
        emu.add_job(job_type="MabJob", entity="laptop", outcome="CompletedWithWarnings"),
        emu.add_job(job_type="DpmJob", entity="sql02", outcome="Failed"),
        emu.add_job(
            job_type="VaultJob", operation="UpdateCustomerManagedKey", entity="v", outcome="Failed"
        ),
        emu.add_job(job_type="AzureIaaSVMJobV2", operation="Restore", entity="m3"),
    ]
    cancel_me = emu.add_job(entity="m4", tasks=[("Take Snapshot", 400)])
    for step in range(4):
        if step == 1:
            emu.cancel_job(cancel_me)
        for job_id in emu.job_ids():
            for version in API_VERSIONS:
                try:
                    found.append(emu.job_body(job_id, api_version=version))
                    found.append(emu.job_body(job_id, api_version=version, detail=False))
                except ServiceError as err:  # a job that has not started yet is not there
                    assert err.status == 404
        emu.advance(60 * (step + 1) ** 3)
    assert extra
    return found


def test_every_body_parses(emu: EmulatorHandle) -> None:
    all_bodies = bodies(emu)
    assert len(all_bodies) > 300
    statuses = set()
    for body in all_bodies:
        job = models.Job.from_dict(body)
        p = body["properties"]
        assert job.job_id == body["name"]
        assert job.status.value == p["status"]
        statuses.add(p["status"])
        assert job.start_time is not None
        assert job.duration is not None, p["duration"]
        assert (job.end_time is None) == ("endTime" not in p)
        assert job.is_cancellable == ("actionsInfo" in p)
        assert job.has_extended_info == ("extendedInfo" in p)
        tasks = p.get("extendedInfo", {}).get("tasksList", [])
        assert len(job.tasks) == len(tasks)
        for task, raw in zip(job.tasks, tasks, strict=True):
            assert task.task_id == raw["taskId"]
            if raw.get("startTime") == "0001-01-01T00:00:00":
                assert task.start_time is None
        assert len(job.errors) == len(p.get("errorDetails", []))
        if p["status"] == "CompletedWithWarnings" and any(
            e.get("errorCode") == 400158 for e in p.get("errorDetails", [])
        ):
            assert job.was_cancelled
    assert statuses == {
        "InProgress",
        "Completed",
        "Failed",
        "CompletedWithWarnings",
        "Cancelling",
        "Cancelled",
    }


def test_operation_status_bodies_parse(emu: EmulatorHandle) -> None:
    op_id, job_id = emu.trigger_backup()
    running = models.OperationStatus.from_dict(emu.operation_body(op_id))
    assert not running.is_done
    emu.advance(5)
    done = models.OperationStatus.from_dict(emu.operation_body(op_id))
    assert done.is_done and done.job_ids == (job_id,)

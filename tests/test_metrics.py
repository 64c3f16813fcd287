"""``azjobs metrics``: the snapshot of a window's jobs and its exposition, over hand-built jobs.

The expositions are read back with prometheus-client's own parsers (the Prometheus text format and
OpenMetrics), so names, types, HELP lines, labels and values are checked as a scraper sees them.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from azbackupjobs.model.errors import UsageError
from azbackupjobs.model.job import Job
from azbackupjobs.view import metrics

SUB = "11111111-1111-4111-8111-111111111111"
SUB2 = "22222222-2222-4222-8222-222222222222"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TAKEN_AT = NOW.timestamp()
_counter = iter(range(1, 1_000_000))


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rs_job(
    *,
    vault: str = "vault-a",
    rg: str = "rg-a",
    sub: str = SUB,
    status: str = "Completed",
    operation: str = "Backup",
    entity: str = "vm1",
    mtype: str = "AzureIaasVM",
    start: datetime | None = None,
    minutes: float = 30.0,
    progress: float | None = None,
    errors: list[dict[str, Any]] | None = None,
    guid: str | None = None,
) -> dict[str, Any]:
    """A Recovery Services job resource as the vault's list returns it."""
    guid = guid or f"00000000-0000-4000-8000-{next(_counter):012d}"
    begin = start or NOW - timedelta(hours=2)
    props: dict[str, Any] = {
        "jobType": "AzureIaaSVMJob",
        "entityFriendlyName": entity,
        "backupManagementType": mtype,
        "operation": operation,
        "status": status,
        "startTime": iso(begin),
        "duration": f"PT{minutes * 60:.0f}S",
        "activityId": "act",
    }
    if status not in {"InProgress", "Cancelling"}:
        props["endTime"] = iso(begin + timedelta(minutes=minutes))
    if errors is not None:
        props["errorDetails"] = errors
    if progress is not None:
        props["extendedInfo"] = {"progressPercentage": progress, "tasksList": []}
    return {
        "id": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices"
        f"/vaults/{vault}/backupJobs/{guid}",
        "name": guid,
        "type": "Microsoft.RecoveryServices/vaults/backupJobs",
        "properties": props,
    }


def dp_job(*, status: str = "Completed", start: datetime | None = None) -> dict[str, Any]:
    """A Backup vault (Microsoft.DataProtection) job, shaped as the recorded ones."""
    guid = f"00000000-0000-4000-9000-{next(_counter):012d}"
    begin = start or NOW - timedelta(hours=3)
    return {
        "id": f"/subscriptions/{SUB}/resourceGroups/rg-b/providers/Microsoft.DataProtection"
        f"/backupVaults/bvault/backupJobs/{guid}",
        "name": guid,
        "type": "Microsoft.DataProtection/backupVaults/backupJobs",
        "properties": {
            "dataSourceName": "disk-1",
            "dataSourceType": "Microsoft.Compute/disks",
            "backupInstanceFriendlyName": "disk-1-instance",
            "operationCategory": "Backup",
            "operation": "Backup",
            "status": status,
            "startTime": iso(begin),
            "endTime": iso(begin + timedelta(minutes=4)),
            "duration": "00:04:00",
        },
    }


def snapshot(jobs: list[Any], window: float = 86400.0) -> metrics.JobsSnapshot:
    return metrics.summarize(jobs, taken_at=TAKEN_AT, window_seconds=window)


HEALTH = metrics.ExporterHealth(
    source="vault",
    refreshed_at=TAKEN_AT + 2,
    ok=True,
    duration=2.0,
    data_at=TAKEN_AT,
    successes=1,
    requests={"2xx": 3},
    throttles={"429": 1},
)


def exposition(jobs: list[Any], fmt: str = "prometheus", now: float = TAKEN_AT + 5) -> str:
    encoder, content_type = metrics.encoder_for(fmt)
    return metrics.Exposition(snapshot(jobs)).render(encoder, content_type, HEALTH, now).decode()


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    found = [
        (dict(s.labels), s.value)
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == name
    ]
    return found


def value(text: str, name: str, **labels: str) -> float:
    matches = [v for lab, v in samples(text, name) if labels.items() <= lab.items()]
    assert len(matches) == 1, (name, labels, matches)
    return matches[0]


# ----- families, types, help ----------------------------------------------------------------------
FAMILIES = {
    "azjobs_jobs": "gauge",
    "azjobs_jobs_running": "gauge",
    "azjobs_last_job_end_timestamp_seconds": "gauge",
    "azjobs_item_last_success_timestamp_seconds": "gauge",
    "azjobs_item_last_backup_status": "gauge",
    "azjobs_item_last_backup_duration_seconds": "gauge",
    "azjobs_item_backup_progress_ratio": "gauge",
    "azjobs_exporter_last_refresh_timestamp_seconds": "gauge",
    "azjobs_exporter_last_refresh_success": "gauge",
    "azjobs_exporter_refresh_duration_seconds": "gauge",
    "azjobs_exporter_data_age_seconds": "gauge",
    "azjobs_exporter_window_seconds": "gauge",
    "azjobs_exporter_unreadable_jobs": "gauge",
    "azjobs_exporter_info": "gauge",
    "azjobs_exporter_refreshes": "counter",
    "azjobs_exporter_azure_requests": "counter",
    "azjobs_exporter_throttles": "counter",
}


def test_every_family_has_its_type_and_help() -> None:
    text = exposition([rs_job(), rs_job(status="InProgress", progress=40.0)])
    found = families(text)
    assert {name: f.type for name, f in found.items()} == FAMILIES
    for name, family in found.items():
        assert family.documentation.strip(), name
        assert f"# HELP {name if family.type != 'counter' else name + '_total'} " in text
    # Counters, and only counters, end in _total.
    for family in found.values():
        for sample in family.samples:
            assert sample.name.endswith("_total") == (family.type == "counter"), sample.name


def test_openmetrics_has_the_same_families_and_one_eof_at_the_end() -> None:
    text = exposition([rs_job(), dp_job()], fmt="openmetrics")
    assert text.endswith("# EOF\n") and text.count("# EOF") == 1
    found = {f.name: f.type for f in openmetrics_families(text)}
    expected = {**FAMILIES, "azjobs_exporter": "info"}
    del expected["azjobs_exporter_info"]
    assert found == expected


def test_no_label_carries_a_job_id() -> None:
    jobs = [rs_job(), rs_job(status="Failed"), dp_job(), rs_job(status="InProgress")]
    text = exposition(jobs)
    guids = {j["name"] for j in jobs}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            assert not {"job", "job_id", "id", "name"} & set(sample.labels)
            assert not guids & set(sample.labels.values()), sample
    assert not any(g in text for g in guids)


# ----- counts -------------------------------------------------------------------------------------
def test_jobs_are_counted_by_vault_operation_and_status() -> None:
    jobs = [
        rs_job(status="Completed"),
        rs_job(status="Completed", entity="vm2"),
        rs_job(status="Failed", entity="vm3"),
        rs_job(status="Completed", operation="Restore"),
        rs_job(status="Completed", operation="Backup (Full)", entity="db [vm1]"),
        rs_job(status="InProgress", vault="vault-b", entity="vm9"),
        rs_job(status="Completed", sub=SUB2, rg="rg-z", vault="vault-c"),
    ]
    text = exposition(jobs)
    vault_a = {"subscription": SUB, "resource_group": "rg-a", "vault": "vault-a"}
    assert value(text, "azjobs_jobs", **vault_a, operation="Backup", status="Completed") == 3
    assert value(text, "azjobs_jobs", **vault_a, operation="Backup", status="Failed") == 1
    assert value(text, "azjobs_jobs", **vault_a, operation="Restore", status="Completed") == 1
    assert value(text, "azjobs_jobs", vault="vault-b", status="InProgress") == 1
    assert value(text, "azjobs_jobs", subscription=SUB2, vault="vault-c") == 1
    assert sum(v for _, v in samples(text, "azjobs_jobs")) == len(jobs)
    assert {lab["vault_type"] for lab, _ in samples(text, "azjobs_jobs")} == {"recovery-services"}


def test_running_jobs_are_counted_with_zeros_for_idle_vaults() -> None:
    jobs = [
        rs_job(status="InProgress"),
        rs_job(status="Cancelling", entity="vm2"),
        rs_job(status="Completed", entity="vm3"),
        rs_job(status="Completed", vault="vault-idle"),
    ]
    text = exposition(jobs)
    assert value(text, "azjobs_jobs_running", vault="vault-a", operation="Backup") == 2
    assert value(text, "azjobs_jobs_running", vault="vault-idle", operation="Backup") == 0


def test_a_job_on_two_pages_counts_once_and_an_unreadable_one_is_counted_apart() -> None:
    job = rs_job()
    shouted = {**job, "id": job["id"].upper().replace("BACKUPJOBS", "backupJobs")}
    text = exposition([job, shouted, "not a job", {"id": "x", "properties": {}}])
    assert sum(v for _, v in samples(text, "azjobs_jobs")) == 1
    assert value(text, "azjobs_exporter_unreadable_jobs") == 2


def test_vault_ids_in_any_casing_are_one_vault() -> None:
    """Resource Graph may lower-case ids; the vault keeps the spelling first seen."""
    first = rs_job(vault="Vault-A", rg="RG-A")
    lowered = rs_job(vault="vault-a", rg="rg-a", status="Failed")
    lowered["id"] = lowered["id"].lower()
    text = exposition([first, lowered])
    vaults = {(lab["resource_group"], lab["vault"]) for lab, _ in samples(text, "azjobs_jobs")}
    assert vaults == {("RG-A", "Vault-A")}


def test_last_job_end_per_status_answers_any_failure_in_the_last_hour() -> None:
    older = rs_job(status="Failed", start=NOW - timedelta(hours=5), minutes=10)
    newer = rs_job(status="Failed", start=NOW - timedelta(minutes=50), minutes=10, entity="vm2")
    running = rs_job(status="InProgress", entity="vm3")
    text = exposition([older, newer, running])
    end = value(text, "azjobs_last_job_end_timestamp_seconds", status="Failed")
    assert end == (NOW - timedelta(minutes=40)).timestamp()
    assert not samples(text, "azjobs_last_job_end_timestamp_seconds")[1:]


# ----- items --------------------------------------------------------------------------------------
def test_an_items_last_success_is_the_end_of_its_newest_successful_backup() -> None:
    jobs = [
        rs_job(status="Completed", start=NOW - timedelta(hours=20), minutes=30),
        rs_job(status="CompletedWithWarnings", start=NOW - timedelta(hours=10), minutes=15),
        rs_job(status="Failed", start=NOW - timedelta(hours=2), minutes=5),
        # Only backups count: a later restore of the same item is no backup.
        rs_job(status="Completed", operation="Restore", start=NOW - timedelta(hours=1)),
    ]
    text = exposition(jobs)
    item = {"item": "vm1", "item_type": "AzureIaasVM", "vault": "vault-a"}
    success = value(text, "azjobs_item_last_success_timestamp_seconds", **item)
    assert success == (NOW - timedelta(hours=10) + timedelta(minutes=15)).timestamp()
    assert value(text, "azjobs_item_last_backup_status", **item) == 1
    assert samples(text, "azjobs_item_last_backup_status")[0][0]["status"] == "Failed"
    assert value(text, "azjobs_item_last_backup_duration_seconds", **item) == 300


def test_an_item_without_success_in_the_window_shows_zero() -> None:
    text = exposition([rs_job(status="Failed"), rs_job(status="Cancelled")])
    assert value(text, "azjobs_item_last_success_timestamp_seconds", item="vm1") == 0


def test_a_vm_backup_cancelled_into_completed_with_warnings_is_no_success() -> None:
    cancelled = rs_job(
        status="CompletedWithWarnings",
        errors=[{"errorCode": 400158, "errorTitle": "UserErrorJobSuccessfullyCancelled"}],
    )
    text = exposition([cancelled])
    assert value(text, "azjobs_item_last_success_timestamp_seconds", item="vm1") == 0


def test_workload_backups_count_as_backups_and_items_are_told_apart_by_type() -> None:
    jobs = [
        rs_job(operation="Backup (Full)", entity="db [vm1]", mtype="AzureWorkload"),
        rs_job(operation="Backup", entity="vm1", mtype="AzureIaasVM", status="Failed"),
        rs_job(operation="Backup", entity="vm1", mtype="MAB"),
    ]
    text = exposition(jobs)
    items = {
        (lab["item"], lab["item_type"])
        for lab, _ in samples(text, "azjobs_item_last_backup_status")
    }
    assert items == {("db [vm1]", "AzureWorkload"), ("vm1", "AzureIaasVM"), ("vm1", "MAB")}


def test_a_running_backup_reports_its_progress_and_time_so_far() -> None:
    running = rs_job(status="InProgress", start=NOW - timedelta(minutes=12), progress=40.0)
    text = exposition([rs_job(start=NOW - timedelta(hours=20)), running])
    assert value(text, "azjobs_item_backup_progress_ratio", item="vm1") == 0.4
    assert value(text, "azjobs_item_last_backup_duration_seconds", item="vm1") == 12 * 60
    status = samples(text, "azjobs_item_last_backup_status")[0][0]["status"]
    assert status == "InProgress"
    # The earlier success is still the last success.
    assert value(text, "azjobs_item_last_success_timestamp_seconds", item="vm1") > 0


def test_backup_vault_jobs_name_their_datasource_and_vault_kind() -> None:
    text = exposition([dp_job(), rs_job()])
    labels = [lab for lab, _ in samples(text, "azjobs_item_last_backup_status")]
    backup = [lab for lab in labels if lab["vault_type"] == "backup"]
    assert backup == [
        {
            "subscription": SUB,
            "resource_group": "rg-b",
            "vault": "bvault",
            "vault_type": "backup",
            "item": "disk-1",
            "item_type": "Microsoft.Compute/disks",
            "status": "Completed",
        }
    ]


def test_item_of_is_the_one_place_that_names_an_item() -> None:
    ref = metrics.item_of(Job.from_dict(rs_job(entity="SYSTEMDB [hana1]", mtype="AzureWorkload")))
    assert ref is not None
    assert (ref.item, ref.item_type, ref.vault.vault_type) == (
        "SYSTEMDB [hana1]",
        "AzureWorkload",
        "recovery-services",
    )
    assert metrics.item_of(Job.from_dict({"id": "/nowhere", "properties": {}})) is None


def test_label_values_that_need_escaping_survive_the_round_trip() -> None:
    odd = 'vm "quoted" \\ back\nslash'
    text = exposition([rs_job(entity=odd)])
    item = samples(text, "azjobs_item_last_backup_status")[0][0]["item"]
    assert item == 'vm "quoted" \\ back slash'  # the newline, a control character, is a space


def test_an_unknown_status_word_is_shown_as_it_came_but_nonsense_is_not() -> None:
    jobs = [
        rs_job(status="Paused"),
        rs_job(status="<script>", entity="vm2"),
        rs_job(status="Succeeded", entity="vm3"),  # Backup vaults' word for Completed
    ]
    statuses = {lab["status"] for lab, _ in samples(exposition(jobs), "azjobs_jobs")}
    assert statuses == {"Paused", "Unknown", "Completed"}


# ----- the exporter's own health ------------------------------------------------------------------
def test_health_families_say_how_the_refreshes_went() -> None:
    text = exposition([rs_job()], now=TAKEN_AT + 42)
    assert value(text, "azjobs_exporter_last_refresh_success") == 1
    assert value(text, "azjobs_exporter_last_refresh_timestamp_seconds") == TAKEN_AT + 2
    assert value(text, "azjobs_exporter_refresh_duration_seconds") == 2.0
    assert value(text, "azjobs_exporter_data_age_seconds") == 42
    assert value(text, "azjobs_exporter_window_seconds") == 86400
    assert value(text, "azjobs_exporter_azure_requests_total", **{"class": "2xx"}) == 3
    assert value(text, "azjobs_exporter_azure_requests_total", **{"class": "5xx"}) == 0
    assert value(text, "azjobs_exporter_throttles_total", kind="429") == 1
    assert value(text, "azjobs_exporter_throttles_total", kind="resource_graph_quota") == 0
    assert value(text, "azjobs_exporter_refreshes_total", result="success") == 1
    assert value(text, "azjobs_exporter_info", source="vault") == 1


def test_request_classes_count_answers_and_requests_that_got_none() -> None:
    classes = metrics.request_classes(10, {200: 5, 429: 2, 503: 1, 302: 1})
    assert classes == {"2xx": 5, "3xx": 1, "4xx": 2, "5xx": 1, "error": 1}


# ----- exposition ---------------------------------------------------------------------------------
def counting(fmt: str) -> tuple[Callable[[Any], bytes], str, list[str]]:
    encoder, content_type = metrics.encoder_for(fmt)
    calls: list[str] = []

    def wrapped(collector: Any) -> bytes:
        calls.append(type(collector).__name__)
        return encoder(collector)

    return wrapped, content_type, calls


def test_the_jobs_part_is_rendered_once_per_format_and_the_age_at_every_scrape() -> None:
    expo = metrics.Exposition(snapshot([rs_job(), dp_job()]))
    encoder, content_type, calls = counting("openmetrics")
    first = expo.render(encoder, content_type, HEALTH, TAKEN_AT + 1).decode()
    second = expo.render(encoder, content_type, HEALTH, TAKEN_AT + 61).decode()
    # The jobs families once each (one at a time), the health at each render.
    assert calls == ["_Family"] * 7 + ["HealthCollector", "HealthCollector"]
    assert value_om(first, "azjobs_exporter_data_age_seconds") == 1
    assert value_om(second, "azjobs_exporter_data_age_seconds") == 61
    assert first.count("# EOF") == second.count("# EOF") == 1


def value_om(text: str, name: str) -> float:
    return float(
        next(s.value for f in openmetrics_families(text) for s in f.samples if s.name == name)
    )


def test_gzipped_is_the_same_exposition_in_two_members() -> None:
    expo = metrics.Exposition(snapshot([rs_job()]))
    encoder, content_type = metrics.encoder_for("openmetrics")
    plain = expo.render(encoder, content_type, HEALTH, TAKEN_AT)
    packed = expo.render(encoder, content_type, HEALTH, TAKEN_AT, gzipped=True)
    assert gzip.decompress(packed) == plain


def test_warm_renders_ahead_what_the_previous_snapshot_was_asked() -> None:
    old = metrics.Exposition(snapshot([rs_job()]))
    encoder, content_type, calls = counting("openmetrics")
    old.render(encoder, content_type, HEALTH, TAKEN_AT, gzipped=True)
    new = metrics.Exposition(snapshot([rs_job(), rs_job(entity="vm2")]))
    new.warm(old.asked())
    calls.clear()
    body = new.render(encoder, content_type, HEALTH, TAKEN_AT, gzipped=True)
    assert calls == ["HealthCollector"]
    assert b"vm2" in gzip.decompress(body)


def test_before_any_snapshot_only_the_health_is_shown() -> None:
    encoder, content_type = metrics.encoder_for("prometheus")
    text = metrics.Exposition(None).render(encoder, content_type, HEALTH, TAKEN_AT).decode()
    assert "azjobs_jobs" not in text and "azjobs_exporter_last_refresh_success 1.0" in text


def test_formats_are_named_and_checked() -> None:
    assert metrics.encoder_for(None)[1].startswith("text/plain; version=0.0.4")
    assert metrics.encoder_for("OpenMetrics")[1].startswith("application/openmetrics-text")
    with pytest.raises(UsageError, match="unknown format 'json'; use one of: prometheus"):
        metrics.encoder_for("json")
    negotiated = metrics.encoder_for_accept(
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    )
    assert negotiated[1].startswith("application/openmetrics-text; version=1.0.0")
    assert metrics.encoder_for_accept(None)[1].startswith("text/plain; version=0.0.4")

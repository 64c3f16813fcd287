"""Property-based: the model and every renderer take any JSON shaped like a job.

Hypothesis builds job resources whose fields hold the right types, the wrong types, hostile
strings (escape sequences, C1 and bidirectional controls), and values at the edges (year 1,
huge durations, NaN). The model must parse every object that has a ``properties`` object, and
refuse anything else with its own error; the renderers (``render.job_view``,
``render.tasks_only``, the watch frames and lines, ``list_view.jobs_table``) and the JSON and
tsv outputs must never raise, and must never let a control sequence of the data through.
"""

from __future__ import annotations

import io
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from azbackupjobs.follow.poll import Snapshot, Tracked, Trouble, outcome
from azbackupjobs.model.errors import UnexpectedResponseError
from azbackupjobs.model.job import Job, OperationStatus, change_key
from azbackupjobs.model.text import sanitize
from azbackupjobs.view import list_view, render, watch_view
from azbackupjobs.view.output import json_text, tsv_lines
from azbackupjobs.view.rows import job_tsv_row, task_tsv_row
from tests.reliability.conftest import Figures
from tests.reliability.corpus import ANSI, BIDI, C1, CONTROLS

HOSTILE_TEXT = (ANSI, C1, BIDI, CONTROLS, "", " ", "\n\r\t", "[bold]x[/]", "é" * 200, "💾" * 50)
STATUSES = (
    "InProgress",
    "Completed",
    "CompletedWithWarnings",
    "Failed",
    "Cancelling",
    "Cancelled",
    "NotStarted",
    "Invalid",
    "canceled",
    "COMPLETED",
    " Failed ",
    "Paused",
)
TIMES = (
    "2023-12-21T05:52:05.9961118Z",
    "2023-12-21T05:52:05Z",
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59.9999999-14:00",
    "2024-02-30T00:00:00Z",
    "2001-01-01T00:00:00Z",
    "2023-12-21 05:52",
    "not a time",
    "",
)
DURATIONS = (
    "PT7M15.6038625S",
    "PT0S",
    "P1DT5H",
    "-PT4M",
    "99999999.23:59:59.999999999",
    "1.02:03:04.5",
    "PT",
    "P",
    "P99999999999W",
    "00:00:00",
    "-00:01:00",
    "nonsense",
)
# rich's own colour codes, which are fine: anything else starting with ESC came from the data.
RICH_SGR = re.compile(r"\x1b\[[0-9;]*m")
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

text = st.one_of(st.text(max_size=40), st.sampled_from(HOSTILE_TEXT))
scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), text)
json_value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


def either(*choices: Any) -> st.SearchStrategy[Any]:
    """A field: a typical value or, sometimes, any JSON at all."""
    return st.one_of(*choices, json_value)


task = st.fixed_dictionaries(
    {},
    optional={
        "taskId": either(text),
        "status": either(st.sampled_from(STATUSES)),
        "startTime": either(st.sampled_from(TIMES)),
        "endTime": either(st.sampled_from(TIMES)),
        "duration": either(st.sampled_from(DURATIONS)),
        "progressPercentage": either(st.floats(), st.integers(-10, 200)),
        "taskExecutionDetails": either(
            text, st.sampled_from(["120.58 GBs / 127 GBs Transferred", "0 B / 0 B", "5 PB / 1 KB"])
        ),
        "instanceId": either(text),
    },
)
error = st.fixed_dictionaries(
    {},
    optional={
        "errorCode": either(st.integers(), st.just(400158)),
        "errorString": either(text),
        "errorTitle": either(text, st.just("UserErrorJobSuccessfullyCancelled")),
        "recommendations": either(st.lists(either(text), max_size=4)),
        "additionalDetails": either(text),
    },
)
extended = st.fixed_dictionaries(
    {},
    optional={
        "tasksList": either(st.lists(either(task), max_size=6)),
        "propertyBag": either(st.dictionaries(text, json_value, max_size=6)),
        "internalPropertyBag": either(st.dictionaries(text, json_value, max_size=3)),
        "progressPercentage": either(st.floats()),
        "estimatedRemainingDuration": either(st.sampled_from(DURATIONS)),
        "dynamicErrorMessage": either(text),
    },
)
properties = st.fixed_dictionaries(
    {},
    optional={
        "jobType": either(
            st.sampled_from(
                [
                    "AzureIaaSVMJob",
                    "AzureIaaSVMJobV2",
                    "AzureStorageJob",
                    "AzureWorkloadJob",
                    "MabJob",
                    "DpmJob",
                    "NewJob",
                ]
            )
        ),
        "status": either(st.sampled_from(STATUSES)),
        "entityFriendlyName": either(text),
        "operation": either(text, st.sampled_from(["Backup", "Backup (Full)", "Restore"])),
        "backupManagementType": either(text),
        "workloadType": either(text),
        "startTime": either(st.sampled_from(TIMES)),
        "endTime": either(st.sampled_from(TIMES)),
        "duration": either(st.sampled_from(DURATIONS)),
        "activityId": either(text),
        "actionsInfo": either(
            st.lists(
                either(st.sampled_from([0, 1, 2, 99, "Cancellable", "retriable", ""])), max_size=4
            )
        ),
        "errorDetails": either(st.lists(either(error), max_size=3)),
        "extendedInfo": either(extended),
    },
)
job_resource = st.fixed_dictionaries(
    {"properties": properties},
    optional={"id": either(text), "name": either(text), "type": either(text)},
)
anything = st.one_of(json_value, job_resource, st.fixed_dictionaries({"properties": json_value}))

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def render_text(renderable: Any, width: int) -> str:
    console = Console(
        file=io.StringIO(),
        width=width,
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
    )
    console.print(renderable)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    return str(output)


def assert_safe(output: str) -> None:
    """Only rich's own colour codes; nothing of the data's controls."""
    plain = RICH_SGR.sub("", output)
    found = UNSAFE.search(plain.replace("\n", ""))
    assert found is None, (found, plain[:300])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=anything)
def test_the_model_parses_any_job_object_and_refuses_the_rest(figures: Figures, data: Any) -> None:
    figures.hypothesis_examples += 1
    is_job = isinstance(data, dict) and isinstance(data.get("properties"), dict)
    if not is_job:
        with pytest.raises(UnexpectedResponseError):
            Job.from_dict(data)
        return
    job = Job.from_dict(data)
    # what the loop and the exit codes rely on never raises either
    assert job.status.is_terminal in (True, False)
    outcome(job)
    outcome(job, strict=True)
    job.elapsed(NOW)
    change_key(data)
    for value in (job.progress_percentage, *(t.progress_percentage for t in job.tasks)):
        assert value is None or math.isfinite(value)
    # the JSON and tsv outputs
    for line in (
        json_text(data),
        json_text(data, indent=2),
        *tsv_lines([job_tsv_row(data)]),
        *tsv_lines(
            [
                task_tsv_row(t)
                for t in data["properties"].get("extendedInfo", {}).get("tasksList", [])
                if isinstance(t, dict)
            ]
            if isinstance(data["properties"].get("extendedInfo"), dict)
            and isinstance(data["properties"]["extendedInfo"].get("tasksList"), list)
            else []
        ),
    ):
        assert UNSAFE.search(line.replace("\n", "")) is None, line[:300]


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(first=job_resource, second=job_resource, width=st.integers(20, 200), compact=st.booleans())
def test_renderers_never_crash_or_leak_controls(
    figures: Figures, first: Any, second: Any, width: int, compact: bool
) -> None:
    figures.hypothesis_examples += 2
    one, two = Job.from_dict(first), Job.from_dict(second)
    assert_safe(render_text(render.job_view(one, NOW), width))
    assert_safe(render_text(render.tasks_only(one), width))
    assert_safe(
        render_text(
            list_view.jobs_table([one, two], width=width, title="Jobs", caption="2 jobs"), width
        )
    )
    now = watch_view.Now(100.0, NOW)
    tracked = [
        Tracked(
            "00000000-0000-4000-8000-000000000001",
            job=one,
            last_update=50.0,
            detail_at=50.0,
            duration=one.duration,
            duration_at=50.0,
        ),
        Tracked("00000000-0000-4000-8000-000000000002", job=two, last_update=90.0),
        Tracked("00000000-0000-4000-8000-000000000003", missing_since=10.0),
    ]
    # as the poll loop makes it: the service's message, sanitized
    trouble = Trouble(
        "throttled", sanitize("HTTP 429 " + ANSI, 200), since=0.0, failures=3, retry_after=5.0
    )
    for jobs in (tracked[:1], tracked):
        snapshot = Snapshot(
            jobs=jobs,
            started=0.0,
            polled_at=100.0,
            changed=[one],
            trouble=trouble,
            next_poll_at=110.0,
        )
        assert_safe(render_text(watch_view.frame(snapshot, now, compact=compact, height=40), width))
        for item in jobs:
            assert UNSAFE.search(watch_view.summary_line(item, now)) is None
    for line in (
        watch_view.plain_line(None, one, now, multi=True),
        watch_view.plain_line(two, one, now, elapsed=timedelta(seconds=5)),
        watch_view.warning_text(one),
    ):
        assert UNSAFE.search(line) is None, line


@settings(max_examples=150)
@given(data=json_value)
def test_operation_status_parses_or_refuses(figures: Figures, data: Any) -> None:
    figures.hypothesis_examples += 1
    try:
        status = OperationStatus.from_dict(data)
    except UnexpectedResponseError:
        return
    assert isinstance(status.is_done, bool) and isinstance(status.succeeded, bool)
